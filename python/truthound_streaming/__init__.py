"""Bounded, exact snapshots of Kafka topics as polars DataFrames.

The API of Truthound's streaming data sources (``truthound.datasources.streaming``), names and
signatures unchanged, on a Rust engine: fetches run ahead while records are decoded on every
core, and the frame comes over through the Arrow C stream interface, without a copy.

Every ``..._async`` method has a blocking counterpart without the suffix; those release the GIL
and stop at Ctrl-C.
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
import functools
import json
import os
from typing import (
    Any,
    AsyncIterator,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import polars as pl

from . import _native
from ._native import (
    AvroDeserializer,
    DeserializationError,
    JSONDeserializer,
    KafkaConnectionError,
    KafkaDataSourceError,
    StreamingDataSourceError,
)

__version__: str = _native.__version__

__all__ = [
    "AvroDeserializer",
    "BaseStreamingDataSource",
    "CheckReport",
    "Issue",
    "Sample",
    "check",
    "DecodeReport",
    "DeserializationError",
    "JSONDeserializer",
    "KafkaConnectionError",
    "KafkaDataSource",
    "KafkaDataSourceConfig",
    "KafkaDataSourceError",
    "MessageDeserializer",
    "SkippedMessage",
    "StreamingDataSourceConfig",
    "StreamingDataSourceError",
    "from_kafka",
]


async def _in_thread(call: Any, *args: Any) -> Any:
    """Runs a blocking call of the extension (which releases the GIL) on asyncio's default
    executor. When the awaiting task is cancelled, the call is told to stop (within 100 ms)."""
    token = _native.CancelToken()
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(None, functools.partial(call, *args, cancel=token))
    try:
        return await future
    except asyncio.CancelledError:
        token.cancel()
        raise


def _topic_info(native: Tuple[str, List[int], int]) -> Dict[str, Any]:
    topic, partitions, count = native
    return {"topic": topic, "partitions": list(partitions), "partition_count": count}


def _to_polars(stream: Any) -> pl.DataFrame:
    """A polars DataFrame from one of the module's Arrow streams, without a copy.

    polars reads Arrow C streams (``__arrow_c_stream__``) in its constructor from 1.5 on, and
    every chunk of one from 1.10 on; an older polars is refused rather than left to return part
    of the frame.
    """
    try:
        frame = pl.DataFrame(stream)
    except TypeError as e:
        raise ImportError(
            f"polars {pl.__version__} cannot read Arrow C streams: truthound-streaming needs "
            "polars >= 1.10 (pip install -U polars)"
        ) from e
    # A frame without columns has no rows to polars whatever its height.
    if frame.width > 0 and frame.height != stream.height:
        raise ImportError(
            f"polars {pl.__version__} read {frame.height} of {stream.height} rows of an Arrow C "
            "stream: truthound-streaming needs polars >= 1.10 (pip install -U polars)"
        )
    return frame


class MessageDeserializer(abc.ABC):
    """Decodes one message payload into a Python value (custom formats in Python)."""

    @abc.abstractmethod
    def deserialize(self, data: bytes) -> Any:
        """The value of ``data``; raise :class:`DeserializationError` when it is not valid."""


MessageDeserializer.register(JSONDeserializer)
MessageDeserializer.register(AvroDeserializer)


@dataclasses.dataclass
class StreamingDataSourceConfig:
    """What every streaming source shares: how many messages, how long, what to include."""

    max_messages: int = 10000
    consume_timeout: float = 30.0
    auto_offset_reset: str = "earliest"
    key_deserializer: str = "string"
    include_key: bool = True
    include_headers: bool = False
    deserializer_type: str = "json"
    include_metadata: bool = False
    metadata_prefix: str = "_kafka_"
    schema_sample_size: int = 100
    on_malformed: str = "skip"


@dataclasses.dataclass
class KafkaDataSourceConfig(StreamingDataSourceConfig):
    """The configuration of a :class:`KafkaDataSource`, with the spec's fields and defaults.

    Invalid values raise ``ValueError`` naming the field when the object is made. Beyond the
    spec: ``on_malformed`` (``"skip"`` or ``"error"``), ``isolation_level``,
    ``start_timestamp`` (ms since the epoch), ``avro_schema`` (a writer schema, dict or JSON),
    ``avro_reader_schema`` (what Avro values are read as: ``"latest"``, the default with the
    registry, the latest version of ``schema_registry_subject``, by default ``TOPIC-value``;
    ``"writer"``, each message as written; or a reader schema, dict or JSON), and the schema
    registry's ``schema_registry_*`` settings; for ``deserializer_type="protobuf"``,
    ``protobuf_schema`` (the ``.proto`` text) and ``protobuf_message`` (the message type);
    for ``deserializer_type="json"``, ``json_schema`` (a JSON Schema, dict or JSON, whose
    ``format`` and number types type the columns; with ``schema_registry_url``, framed
    documents are typed by the registry's schema instead).
    """

    # Connection
    bootstrap_servers: str = "localhost:9092"
    topic: str = ""
    group_id: Optional[str] = None

    # Security
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: Optional[str] = None
    sasl_username: Optional[str] = None
    sasl_password: Optional[str] = dataclasses.field(default=None, repr=False)
    ssl_cafile: Optional[str] = None
    ssl_certfile: Optional[str] = None
    ssl_keyfile: Optional[str] = None
    allow_plaintext_password: bool = False

    # Partition control
    partition: Optional[int] = None
    start_offset: Optional[int] = None
    end_offset: Optional[int] = None
    start_timestamp: Optional[int] = None
    isolation_level: str = "read_committed"

    # Avro
    avro_schema: Optional[Union[str, Dict[str, Any]]] = None
    avro_reader_schema: Optional[Union[str, Dict[str, Any]]] = None
    schema_registry_url: Optional[str] = None
    schema_registry_subject: Optional[str] = None

    # Protobuf
    protobuf_schema: Optional[str] = None
    protobuf_message: Optional[str] = None
    schema_registry_username: Optional[str] = None
    schema_registry_password: Optional[str] = dataclasses.field(default=None, repr=False)
    schema_registry_ssl_cafile: Optional[str] = None

    # JSON
    json_schema: Optional[Union[str, Dict[str, Any]]] = None

    def __post_init__(self) -> None:
        _native.validate_config(self._fields())

    def _fields(self) -> Dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclasses.dataclass(frozen=True)
class SkippedMessage:
    """A message left out of a frame because it could not be decoded."""

    partition: int
    offset: int
    reason: str


@dataclasses.dataclass(frozen=True)
class DecodeReport:
    """What happened while a frame was decoded: nothing is dropped without a trace."""

    rows: int
    tombstones: int
    skipped: List[SkippedMessage]
    notes: List[Tuple[str, str]]

    @classmethod
    def _from_native(cls, d: Mapping[str, Any]) -> "DecodeReport":
        return cls(
            rows=d["rows"],
            tombstones=d["tombstones"],
            skipped=[SkippedMessage(*s) for s in d["skipped"]],
            notes=list(d["notes"]),
        )


class BaseStreamingDataSource(abc.ABC):
    """A bounded streaming source: a fixed number of messages read into a polars frame."""

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """A name for messages and reports."""

    @abc.abstractmethod
    async def to_polars_lazyframe_async(self) -> pl.LazyFrame:
        """The snapshot as a LazyFrame."""

    async def __aenter__(self) -> "BaseStreamingDataSource":
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class KafkaDataSource(BaseStreamingDataSource):
    """A bounded, exact snapshot of a Kafka topic.

    Connecting captures each partition's end offset; every read stops there, so the same call on
    an unchanged topic returns the same rows. Use it as ``async with source:`` (or ``with
    source:``), which connects and closes.
    """

    def __init__(self, config: KafkaDataSourceConfig) -> None:
        self._config = config
        self._native = _native.NativeSource(config._fields())

    @classmethod
    def _wrap(cls, native: Any) -> "KafkaDataSource":
        source = cls.__new__(cls)
        fields = native.config_fields()
        config = KafkaDataSourceConfig.__new__(KafkaDataSourceConfig)
        for f in dataclasses.fields(KafkaDataSourceConfig):
            default = (
                f.default_factory()  # type: ignore[misc]
                if f.default_factory is not dataclasses.MISSING
                else f.default
            )
            setattr(config, f.name, fields.get(f.name, default))
        source._config = config
        source._native = native
        return source

    @classmethod
    def from_connection_string(
        cls, connection_string: str, max_messages: Optional[int] = None
    ) -> "KafkaDataSource":
        """A source from ``kafka://host:port[,host:port...]/topic[?option=value&...]``."""
        return cls._wrap(
            _native.NativeSource.from_connection_string(connection_string, max_messages)
        )

    @classmethod
    def from_plan(
        cls,
        plan: Union[str, "os.PathLike[str]"],
        share: int,
        config: Optional[KafkaDataSourceConfig] = None,
    ) -> "KafkaDataSource":
        """A source that reads share ``share`` of a plan (see :meth:`plan`), exactly its offset
        ranges. ``plan`` is the plan's JSON or the path of its file. The plan says what is read
        and how; ``config`` gives the credentials and the timeout (its other fields are not
        used). A share number the plan does not have raises ``ValueError``."""
        text = os.fspath(plan)
        if not text.lstrip().startswith("{"):
            with open(text, encoding="utf-8") as f:
                text = f.read()
        fields = None if config is None else config._fields()
        return cls._wrap(_native.NativeSource.from_plan(text, share, fields))

    @classmethod
    def from_confluent(
        cls,
        bootstrap_servers: str,
        topic: str,
        api_key: str,
        api_secret: str,
        max_messages: int = 10000,
    ) -> "KafkaDataSource":
        """A source for Confluent Cloud: SASL_SSL, PLAIN, the cluster's API key and secret."""
        return cls._wrap(
            _native.NativeSource.from_confluent(
                bootstrap_servers, topic, api_key, api_secret, max_messages
            )
        )

    @property
    def name(self) -> str:
        return f"kafka:{self._config.topic}"

    @property
    def config(self) -> KafkaDataSourceConfig:
        """The source's configuration."""
        return self._config

    @property
    def last_report(self) -> Optional[DecodeReport]:
        """The report of the last frame read: skipped messages with partition, offset and
        reason, tombstones, type notes. ``None`` before the first read."""
        report = self._native.last_report()
        return None if report is None else DecodeReport._from_native(report)

    # Connection

    async def connect_async(self) -> None:
        """Connects and captures the snapshot's end offsets."""
        await _in_thread(self._native.connect)

    def connect(self) -> None:
        """Blocking :meth:`connect_async`."""
        self._native.connect()

    async def close_async(self) -> None:
        """Closes the connections."""
        await _in_thread(self._native.close)

    def close(self) -> None:
        """Blocking :meth:`close_async`."""
        self._native.close()

    async def __aenter__(self) -> "KafkaDataSource":
        await self.connect_async()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close_async()

    def __enter__(self) -> "KafkaDataSource":
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Frames and schemas

    async def to_polars_dataframe_async(self) -> pl.DataFrame:
        """The snapshot (up to ``max_messages``) as a DataFrame."""
        return _to_polars(await _in_thread(self._native.frame))

    def to_polars_dataframe(self) -> pl.DataFrame:
        """Blocking :meth:`to_polars_dataframe_async`."""
        return _to_polars(self._native.frame())

    async def to_polars_lazyframe_async(self) -> pl.LazyFrame:
        """The snapshot as a LazyFrame (the messages are read and decoded now)."""
        return (await self.to_polars_dataframe_async()).lazy()

    def to_polars_lazyframe(self) -> pl.LazyFrame:
        """Blocking :meth:`to_polars_lazyframe_async`."""
        return self.to_polars_dataframe().lazy()

    async def get_schema_async(self) -> pl.Schema:
        """The columns and types of the first ``schema_sample_size`` messages."""
        return _to_polars(await _in_thread(self._native.schema)).schema

    def get_schema(self) -> pl.Schema:
        """Blocking :meth:`get_schema_async`."""
        return _to_polars(self._native.schema()).schema

    # Topic information

    async def _get_topic_info(self) -> Dict[str, Any]:
        """``{'topic': ..., 'partitions': [...], 'partition_count': n}``."""
        return _topic_info(await _in_thread(self._native.topic_info))

    def get_topic_info(self) -> Dict[str, Any]:
        """Blocking :meth:`_get_topic_info`."""
        return _topic_info(self._native.topic_info())

    async def get_topic_offsets_async(self) -> Dict[str, Dict[int, Tuple[int, int]]]:
        """``{'offsets': {partition: (beginning_offset, end_offset)}}`` of the snapshot."""
        return {"offsets": dict(await _in_thread(self._native.offsets))}

    def get_topic_offsets(self) -> Dict[str, Dict[int, Tuple[int, int]]]:
        """Blocking :meth:`get_topic_offsets_async`."""
        return {"offsets": dict(self._native.offsets())}

    def plan(self, shares: int = 1) -> str:
        """The snapshot planned for ``shares`` workers, as JSON: each partition's end captured
        once, the offset ranges split into ``shares`` shares of about equal size. Each worker
        reads its share with :meth:`from_plan`; the shares' union is the snapshot. The same
        plan as ``truthound plan`` writes (docs/scaling-out.md)."""
        return str(self._native.plan(shares))

    # Messages

    async def iter_messages_async(
        self, batch_size: int = 100, max_messages: Optional[int] = None
    ) -> AsyncIterator[List[Dict[str, Any]]]:
        """Batches of at most ``batch_size`` messages (dicts, with the frame's columns), up to
        ``max_messages`` (the configuration's by default)."""
        limit = self._config.max_messages if max_messages is None else max_messages
        batches = self._native.batches(batch_size, limit)
        while True:
            stream = await _in_thread(batches.next)
            if stream is None:
                return
            yield _to_polars(stream).to_dicts()

    def iter_messages(
        self, batch_size: int = 100, max_messages: Optional[int] = None
    ) -> Iterator[List[Dict[str, Any]]]:
        """Blocking :meth:`iter_messages_async`."""
        limit = self._config.max_messages if max_messages is None else max_messages
        batches = self._native.batches(batch_size, limit)
        while True:
            stream = batches.next()
            if stream is None:
                return
            yield _to_polars(stream).to_dicts()

    # Consumer groups

    async def commit_offsets_async(self) -> Dict[int, int]:
        """Commits, for ``group_id``, the position after the last message read; returns it."""
        return dict(await _in_thread(self._native.commit))

    def commit_offsets(self) -> Dict[int, int]:
        """Blocking :meth:`commit_offsets_async`."""
        return dict(self._native.commit())

    async def get_committed_offsets_async(self) -> Dict[int, int]:
        """``{partition: offset}`` committed for ``group_id``."""
        return dict(await _in_thread(self._native.committed))

    def get_committed_offsets(self) -> Dict[int, int]:
        """Blocking :meth:`get_committed_offsets_async`."""
        return dict(self._native.committed())

    # Sampling

    async def sample_async(self, n: int = 1000) -> "KafkaDataSource":
        """A source of the same snapshot with at most ``n`` messages, from its start."""
        return self.sample(n)

    def sample(self, n: int = 1000) -> "KafkaDataSource":
        """Blocking :meth:`sample_async`."""
        return KafkaDataSource._wrap(self._native.sample(n))

    def __repr__(self) -> str:
        return f"KafkaDataSource({self._config!r})"


async def from_kafka(
    bootstrap_servers: str,
    topic: str,
    max_messages: int = 10000,
    **kwargs: Any,
) -> KafkaDataSource:
    """A :class:`KafkaDataSource` from its configuration's fields."""
    return KafkaDataSource(
        KafkaDataSourceConfig(
            bootstrap_servers=bootstrap_servers,
            topic=topic,
            max_messages=max_messages,
            **kwargs,
        )
    )


@dataclasses.dataclass(frozen=True)
class Sample:
    """One value that failed a check, with the partition and offset of its message when the
    frame has the Kafka metadata columns."""

    value: Optional[str]
    partition: Optional[int] = None
    offset: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class Issue:
    """A check that found values it rejects."""

    column: str
    check: str
    description: str
    severity: str
    count: int
    share: float
    samples: List[Sample]


@dataclasses.dataclass(frozen=True)
class CheckReport:
    """What :func:`check` found: rows and columns checked, and the issues."""

    rows: int
    columns: List[str]
    checks: int
    issues: List[Issue]

    def to_dict(self) -> Dict[str, Any]:
        """The report as plain dicts and lists (JSON-ready)."""
        return dataclasses.asdict(self)

    @classmethod
    def _from_json(cls, text: str) -> "CheckReport":
        d = json.loads(text)
        return cls(
            rows=d["rows"],
            columns=list(d["columns"]),
            checks=d["checks"],
            issues=[
                Issue(
                    column=i["column"],
                    check=i["check"],
                    description=i["description"],
                    severity=i["severity"],
                    count=i["count"],
                    share=i["share"],
                    samples=[
                        Sample(s.get("value"), s.get("partition"), s.get("offset"))
                        for s in i["samples"]
                    ],
                )
                for i in d["issues"]
            ],
        )


Rules = Mapping[str, Sequence[Union[str, Mapping[str, Any]]]]


def check(
    df: Union[pl.DataFrame, pl.LazyFrame, str, "os.PathLike[str]"],
    validators: Optional[Sequence[str]] = None,
    columns: Optional[Sequence[str]] = None,
    rules: Optional[Rules] = None,
    *,
    metadata_prefix: str = "_kafka_",
) -> CheckReport:
    """Checks a frame, with the validation example's argument shapes.

    ``validators`` (``"null"``, ``"type"``) run on ``columns``; ``rules`` maps columns to their
    rules: ``{"user_id": ["not_null"], "action": [{"type": "allowed_values", "values": [...]}]}``
    (``not_null``, ``allowed_values``, ``datetime``, ``unique``, ``range``, ``regex``,
    ``length``; any rule may carry a ``severity``). Unknown columns and rules that do not fit a
    column's type raise ``ValueError`` before the frame is read. The frame is handed to the Rust
    checks through the Arrow C stream interface, without a copy.

    ``df`` may also be a directory of a plan's parts (``truthound snapshot --plan P --share K -o
    DIR/``), or an object store URL of one (``s3://bucket/prefix/``, ``gs://``, ``az://``;
    credentials from the store's usual environment variables): the manifests are verified first (every share of one plan, each part as its
    manifest says; ``ValueError`` names what is missing, foreign or changed), then the parts are
    checked as one snapshot, with the messages the workers could not decode as an issue.
    """
    if isinstance(df, (str, os.PathLike)):
        return CheckReport._from_json(
            _native.check_parts(
                os.fspath(df),
                validators=None if validators is None else list(validators),
                columns=None if columns is None else list(columns),
                rules_json=None if rules is None else json.dumps(rules),
                metadata_prefix=metadata_prefix,
            )
        )
    if isinstance(df, pl.LazyFrame):
        df = df.collect()
    exporter = getattr(df, "__arrow_c_stream__", None)
    capsule = exporter() if exporter is not None else df.to_arrow().__arrow_c_stream__()
    text = _native.check_stream(
        capsule,
        validators=None if validators is None else list(validators),
        columns=None if columns is None else list(columns),
        rules_json=None if rules is None else json.dumps(rules),
        metadata_prefix=metadata_prefix,
    )
    return CheckReport._from_json(text)
