"""The extension module under ``truthound_streaming``, built from ``crates/truthound-python``.

It does the work the Python classes in ``truthound_streaming`` describe: the Kafka source, frames,
schemas, single-payload deserializers and the configuration's checks. Blocking calls release the
GIL and raise ``KeyboardInterrupt`` at Ctrl-C (the operation is dropped and its connections
close) or when their :class:`CancelToken` is cancelled; the package's ``..._async`` methods run
them on asyncio's executor.

Frames leave the module as :class:`ArrowStream` objects, read through the Arrow PyCapsule
interface (``__arrow_c_stream__``): ``polars.DataFrame(stream)`` takes the buffers over without a
copy.

Most code uses ``truthound_streaming.KafkaDataSource``; this module is its engine and keeps no
promise of stability beyond what that class needs.
"""

from typing import Any, Dict, List, Optional, Tuple, TypedDict, Union, final

__version__: str
"""The version of the package (the Rust crate's version)."""

class _Report(TypedDict):
    """What happened while a frame was decoded, as a dict."""

    rows: int
    """Rows in the frame."""
    tombstones: int
    """Records without a value: they make no row."""
    skipped: List[Tuple[int, int, str]]
    """Messages left out because they did not decode: ``(partition, offset, reason)``."""
    notes: List[Tuple[str, str]]
    """Notes on column types: ``(column path with dots, note)``."""

# Exceptions

class StreamingDataSourceError(Exception):
    """Base class of every error of a streaming data source."""

class KafkaDataSourceError(StreamingDataSourceError):
    """An error of the Kafka data source: a missing topic, a read that ran out of time
    (``consume_timeout``), a broker error."""

class KafkaConnectionError(KafkaDataSourceError):
    """The Kafka cluster could not be reached."""

    bootstrap_servers: str
    """The servers tried, comma-separated as configured. Set on errors the module raises."""

class DeserializationError(StreamingDataSourceError):
    """A message could not be decoded.

    A source raises it only with ``on_malformed="error"`` (by default such messages are skipped
    and listed in the report); :class:`JSONDeserializer` and :class:`AvroDeserializer` raise it
    for a payload that is not valid.
    """

    partition: Optional[int]
    """The message's partition; ``None`` when the payload came from no topic (a deserializer's
    ``deserialize``)."""
    offset: Optional[int]
    """The message's offset; ``None`` when the payload came from no topic."""
    reason: str
    """Why the payload did not decode."""

# Frames

@final
class CancelToken:
    """Given to a blocking call; :meth:`cancel` makes it stop within 100 ms (the package's
    ``..._async`` methods cancel it when their task is cancelled)."""

    def __new__(cls) -> "CancelToken": ...
    def cancel(self) -> None:
        """Stops the call this token was given to."""
    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""

@final
class ArrowStream:
    """A decoded frame, readable once or many times through the Arrow PyCapsule interface:
    ``polars.DataFrame(stream)``, ``pyarrow.table(stream)``.

    The frame is exported chunk by chunk as struct arrays of its columns, in the newest Arrow
    layout polars writes (string and binary views); the consumer takes the buffers over and
    releases them when it is done.
    """

    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object:
        """The frame as an ``arrow_array_stream`` PyCapsule. A requested schema is not applied:
        the frame's own types are exported."""

    @property
    def height(self) -> int:
        """Rows in the frame."""

    def report(self) -> _Report:
        """What happened while the frame was decoded: ``rows``, ``tombstones``, ``skipped`` (a
        list of ``(partition, offset, reason)``) and ``notes`` (a list of ``(column path,
        note)``)."""

# The source

@final
class NativeSource:
    """The Kafka source behind ``truthound_streaming.KafkaDataSource``.

    Its operations share one connection state and run one at a time; each is a blocking call
    (the GIL released, Ctrl-C and its ``cancel`` token honoured).
    """

    def __new__(cls, fields: Dict[str, Any]) -> "NativeSource":
        """A source from the fields of a ``KafkaDataSourceConfig`` (``None`` means "not set").

        Raises ``ValueError`` naming the field that is wrong.
        """

    @staticmethod
    def from_connection_string(url: str, max_messages: Optional[int] = None) -> "NativeSource":
        """A source from ``kafka://host:port[,host:port...]/topic[?option=value&...]``.

        Options are configuration field names; passwords are refused (URLs end up in logs and
        shell history).
        """

    @staticmethod
    def from_confluent(
        bootstrap_servers: str,
        topic: str,
        api_key: str,
        api_secret: str,
        max_messages: int,
    ) -> "NativeSource":
        """A source for Confluent Cloud: SASL_SSL with PLAIN and the cluster's API key and
        secret."""

    def config_fields(self) -> Dict[str, Any]:
        """The effective configuration's fields, passwords left out."""

    def connect(self, cancel: Optional["CancelToken"] = None) -> None:
        """Connects and captures each partition's end offset: the end of the snapshot."""

    def close(self, cancel: Optional["CancelToken"] = None) -> None:
        """Closes the connections."""

    def frame(self, cancel: Optional["CancelToken"] = None) -> ArrowStream:
        """Reads the snapshot (up to ``max_messages``) into a frame; its report becomes
        :meth:`last_report`."""

    def schema(self, cancel: Optional["CancelToken"] = None) -> ArrowStream:
        """The frame of the first ``schema_sample_size`` messages without rows: its columns and
        types."""

    def offsets(self, cancel: Optional["CancelToken"] = None) -> Dict[int, Tuple[int, int]]:
        """``{partition: (beginning_offset, end_offset)}`` of the snapshot."""

    def plan(self, shares: int, cancel: Optional["CancelToken"] = None) -> str:
        """The snapshot's plan for ``shares`` workers, as JSON."""

    @staticmethod
    def from_plan(
        plan_json: str, share: int, fields: Optional[Dict[str, Any]] = None
    ) -> "NativeSource":
        """A source reading share ``share`` of ``plan_json``; ``fields`` give credentials."""

    def topic_info(self, cancel: Optional["CancelToken"] = None) -> Tuple[str, List[int], int]:
        """``(topic, partitions, partition_count)``."""

    def commit(self, cancel: Optional["CancelToken"] = None) -> Dict[int, int]:
        """Commits, for ``group_id``, the position after the last message read; returns it as
        ``{partition: offset}``."""

    def committed(self, cancel: Optional["CancelToken"] = None) -> Dict[int, int]:
        """``{partition: offset}`` committed for ``group_id``."""

    def sample(self, n: int) -> "NativeSource":
        """A source of the same snapshot with at most ``n`` messages, from its start."""

    def batches(self, batch_size: int, max_messages: int) -> "NativeBatches":
        """Batches of at most ``batch_size`` messages, up to ``max_messages``, each as a frame,
        read ahead by a background task. ``ValueError`` when ``batch_size`` is 0."""

    def last_report(self) -> Optional[_Report]:
        """The report of the last frame read (``None`` before the first): rows, tombstones,
        skipped messages with partition, offset and reason, type notes."""

@final
class NativeBatches:
    """The batches of one :meth:`NativeSource.batches` call, read ahead by a background task."""

    def next(self, cancel: Optional["CancelToken"] = None) -> Optional[ArrowStream]:
        """The next batch as a frame, ``None`` after the last."""

# Single payloads

@final
class JSONDeserializer:
    """Decodes one JSON payload into dicts, lists, str, int, float, bool and None, with the
    decoder the source uses for whole topics."""

    def __new__(cls, encoding: str = "utf-8") -> "JSONDeserializer":
        """A deserializer for payloads in ``encoding`` (other encodings than UTF-8 are transcoded
        first). ``ValueError`` for a codec Python does not know."""

    @property
    def encoding(self) -> str:
        """The payloads' text encoding."""

    def deserialize(self, data: bytes) -> Any:
        """The value of ``data``; :class:`DeserializationError` when it is not valid JSON."""

@final
class AvroDeserializer:
    """Decodes one Avro datum (no container, no registry framing) written with a given schema;
    ``bytes`` and ``fixed`` values become ``bytes``."""

    def __new__(cls, schema: Union[str, Dict[str, Any]]) -> "AvroDeserializer":
        """A deserializer for datums written with ``schema`` (a dict or its JSON text).
        ``ValueError`` when the schema is not valid."""

    def deserialize(self, data: bytes) -> Any:
        """The value of ``data``; :class:`DeserializationError` when it does not match the
        schema."""

# Functions

def validate_config(fields: Dict[str, Any]) -> None:
    """Checks a ``KafkaDataSourceConfig``'s fields: ``ValueError`` naming the field that is
    wrong."""

def check_stream(
    capsule: Any,
    validators: Optional[List[str]] = None,
    columns: Optional[List[str]] = None,
    rules_json: Optional[str] = None,
    metadata_prefix: str = "_kafka_",
) -> str:
    """Checks the frame behind ``capsule`` (an ``arrow_array_stream`` PyCapsule, which it
    consumes) and returns the report as JSON. ``rules_json`` is the column → rules mapping as
    JSON text. Raises ``ValueError`` for unknown validators, columns or rules. Called by
    :func:`truthound_streaming.check`."""


def check_parts(
    dir: str,
    validators: Optional[List[str]] = None,
    columns: Optional[List[str]] = None,
    rules_json: Optional[str] = None,
    metadata_prefix: str = "_kafka_",
) -> str:
    """Verifies the parts of a plan in ``dir`` (their manifests), checks them as one snapshot
    and returns the report as JSON. Raises ``ValueError`` naming a missing, foreign or changed
    part. Called by :func:`truthound_streaming.check` with a directory."""


def run_cli(argv: List[str]) -> int:
    """Runs the ``truthound`` command line with ``argv`` (program name first) and returns its exit
    code: 0 ok, 1 ``check`` found issues at or above ``--fail-on``, 2 errors. ``--help``, usage
    errors and Ctrl-C end the process themselves."""
