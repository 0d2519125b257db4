"""A Spark (4.0 or later) Python Data Source over a snapshot plan: one Spark partition per share.

```python
from pyspark.sql import SparkSession
from truthound_streaming.spark import TruthoundKafkaDataSource

spark = SparkSession.builder.getOrCreate()
spark.dataSource.register(TruthoundKafkaDataSource)
df = spark.read.format("truthound-kafka").option("plan", "plan.json").load()
```

``plan`` is the plan's JSON or the path of its file (``load("plan.json")`` works too); the file
is read where Spark plans the query, and its text travels to the executors. Each partition
reads its share with :meth:`KafkaDataSource.from_plan` (exactly the share's offset ranges) and
yields the frame as Arrow record batches.

The schema: Spark asks for it on the driver, before anything is read. Given with
``.schema(...)`` (a ``StructType`` or DDL), it is used as it is and nothing is read for it.
Otherwise the driver reads the first share whose frame has rows (a share with no offsets is
passed over) and converts its Arrow schema with ``pyspark.sql.pandas.types.from_arrow_schema``;
the executors read that share again. Each share infers its own types, so every share's frame
is fitted to the schema by column name: a column the share lacks is null, one the schema lacks
is left out, and the others are cast with Arrow's safe cast (an integer column becomes the
schema's double; a cast that would lose values, such as text to a number, raises ``ValueError``
naming the share and the column: then give the schema).

The other options give the credentials and the timeout, as ``config`` does for
``from_plan``; the plan holds no secrets. Their names are the fields of
:class:`KafkaDataSourceConfig`: ``security_protocol``, ``sasl_mechanism``, ``sasl_username``,
``sasl_password``, ``ssl_cafile``, ``ssl_certfile``, ``ssl_keyfile``,
``allow_plaintext_password`` (``true`` or ``false``), ``consume_timeout`` (seconds),
``schema_registry_username``, ``schema_registry_password`` and ``schema_registry_ssl_cafile``.
Spark hides option values whose name holds ``password`` in its plans and logs
(``spark.sql.redaction.options.regex``); they still travel to the executors with the reader.

PySpark is not a dependency of the package: this module imports it.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
from pyspark.sql.types import StructType

from . import KafkaDataSourceConfig, _plan

__all__ = ["TruthoundKafkaDataSource"]


def _boolean(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise ValueError(f"{text!r} is not `true` or `false`")
    return value == "true"


# The options that go to `KafkaDataSourceConfig`, with how their text is read.
_CONFIG_OPTIONS: Dict[str, Callable[[str], Any]] = {
    "security_protocol": str,
    "sasl_mechanism": str,
    "sasl_username": str,
    "sasl_password": str,
    "ssl_cafile": str,
    "ssl_certfile": str,
    "ssl_keyfile": str,
    "allow_plaintext_password": _boolean,
    "consume_timeout": float,
    "schema_registry_username": str,
    "schema_registry_password": str,
    "schema_registry_ssl_cafile": str,
}

# Rows per record batch handed to Spark: its own default (`spark.sql.execution.arrow.
# maxRecordsPerBatch`). The batches are slices of the share's table, not copies.
_BATCH_ROWS = 10_000


class TruthoundKafkaDataSource(DataSource):
    """The shares of a plan as a Spark data source, short name ``truthound-kafka``."""

    @classmethod
    def name(cls) -> str:
        return "truthound-kafka"

    def _settings(self) -> Tuple[str, Dict[str, Any], Optional[KafkaDataSourceConfig]]:
        """The plan's text, the parsed plan, and the configuration the options give (``None``
        without credential options: the plan's settings then hold)."""
        options = dict(self.options.items())
        plan, path = options.pop("plan", None), options.pop("path", None)
        if plan is not None and path is not None:
            raise ValueError("give the plan once: the `plan` option or load(path), not both")
        if plan is None:
            plan = path
        if plan is None:
            raise ValueError(
                "the `plan` option is required: the plan's JSON or the path of its file"
            )
        unknown = sorted(set(options) - set(_CONFIG_OPTIONS))
        if unknown:
            raise ValueError(
                f"unknown option(s) {', '.join(unknown)}; the options are plan and "
                + ", ".join(_CONFIG_OPTIONS)
            )
        text, parsed = _plan.load(plan)
        config = None
        if options:
            fields = {}
            for key, value in options.items():
                try:
                    fields[key] = _CONFIG_OPTIONS[key](value)
                except ValueError as e:
                    raise ValueError(f"option {key}: {e}") from None
            config = KafkaDataSourceConfig(
                bootstrap_servers=parsed["bootstrap_servers"], topic=parsed["topic"], **fields
            )
        return text, parsed, config

    def schema(self) -> StructType:
        """The schema of the first share whose frame has rows (read here, on the driver)."""
        from pyspark.sql.pandas.types import from_arrow_schema

        text, parsed, config = self._settings()
        table = None
        for share, ranges in enumerate(parsed["shares"]):
            if _plan.share_is_empty(ranges):
                continue
            table = _plan.read_share(text, share, config)
            if table.num_rows:
                break
        if table is None:
            table = _plan.read_share(text, 0, config)
        try:
            return from_arrow_schema(table.schema)
        except Exception as e:
            raise ValueError(
                f"the plan's frame has a type Spark does not have ({e}): give the schema "
                "with spark.read.schema(...)"
            ) from e

    def reader(self, schema: StructType) -> "DataSourceReader":
        text, parsed, config = self._settings()
        return _ShareReader(text, len(parsed["shares"]), config, schema)


class _ShareReader(DataSourceReader):
    """One input partition per share; pickled to the executors with the plan's text."""

    def __init__(
        self,
        plan: str,
        shares: int,
        config: Optional[KafkaDataSourceConfig],
        schema: StructType,
    ) -> None:
        self._plan = plan
        self._shares = shares
        self._config = config
        self._schema = schema

    def partitions(self) -> List[InputPartition]:
        """One partition per share, whatever Spark's parallelism: the plan fixed the split."""
        return [InputPartition(share) for share in range(self._shares)]

    def read(self, partition: InputPartition) -> Iterator[Any]:
        from pyspark.sql.pandas.types import to_arrow_schema

        share = partition.value
        # Spark checks the batches against exactly this Arrow schema.
        target = to_arrow_schema(self._schema, timezone="UTC")
        table = _fit(_plan.read_share(self._plan, share, self._config), target, share)
        yield from table.to_batches(max_chunksize=_BATCH_ROWS)


def _fit(table: Any, target: Any, share: int) -> Any:
    """``table`` with the columns of ``target``, by name: missing ones null, the others cast."""
    import pyarrow as pa

    columns = []
    for field in target:
        if field.name in table.column_names:
            column = table.column(field.name)
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
                raise ValueError(
                    f"share {share}: column {field.name!r} is {column.type}, which does not "
                    f"cast to the schema's {field.type} ({e}); give the schema with "
                    "spark.read.schema(...)"
                ) from e
        else:
            column = pa.nulls(table.num_rows, field.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=target)
