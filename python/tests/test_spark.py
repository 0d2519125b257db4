"""The Spark data source: a plan read by Spark, one partition per share, with local[2].

Only `cargo xtask test --spark` runs it (it installs PySpark into the test virtualenv; Spark
needs Java 17 or later on PATH); the other runs deselect it.
"""

from __future__ import annotations

import json
import shutil
import sys

import polars as pl
import pytest

from truthound_streaming import KafkaDataSource, KafkaDataSourceConfig


def test_spark_reads_a_plan_share_by_share(broker, user_events, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    try:
        from pyspark.sql import SparkSession
        from pyspark.sql.functions import spark_partition_id
    except ImportError:
        pytest.fail("PySpark is not installed: run `cargo xtask test --spark`", pytrace=False)
    if shutil.which("java") is None:
        pytest.fail("Spark needs `java` on PATH: run `cargo xtask test --spark`", pytrace=False)

    from truthound_streaming.spark import TruthoundKafkaDataSource

    topic = user_events(3, 25)
    config = KafkaDataSourceConfig(bootstrap_servers=broker, topic=topic, include_metadata=True)
    with KafkaDataSource(config) as source:
        plan = source.plan(shares=3)
        whole = source.to_polars_dataframe()
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(plan, encoding="utf-8")
    shares = json.loads(plan)["shares"]

    # Spark's Python workers (where the data source runs) use this interpreter.
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("truthound-spark-test")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    try:
        spark.dataSource.register(TruthoundKafkaDataSource)
        df = spark.read.format("truthound-kafka").option("plan", str(plan_file)).load()
        partitions = df.rdd.getNumPartitions()
        frame = pl.from_arrow(df.toArrow())
        kafka_partitions_of = {}
        for row in df.select(spark_partition_id().alias("p"), "_kafka_partition").collect():
            kafka_partitions_of.setdefault(row["p"], set()).add(row["_kafka_partition"])

        # A schema given by the user: its columns, in its order, cast to its types.
        given = (
            spark.read.format("truthound-kafka")
            .schema("_kafka_partition INT, _kafka_offset BIGINT, user_id DOUBLE")
            .option("plan", plan)
            .load()
        )
        projected = pl.from_arrow(given.toArrow())
    finally:
        spark.stop()

    assert partitions == len(shares) == 3
    # Spark partition K read share K: exactly the Kafka partitions of its ranges.
    assert kafka_partitions_of == {
        k: {r["partition"] for r in ranges if r["end"] > r["start"]}
        for k, ranges in enumerate(shares)
    }

    # The common representation: Polars' types of the snapshot, with Spark's microsecond
    # timestamps (the metadata timestamp is Datetime("ms"); Spark's TimestampNTZ is "us", a
    # lossless cast). Strings, Int32 and Int64 come back as they went (Arrow string and
    # large_string are both Polars' String).
    assert isinstance(frame, pl.DataFrame)
    expected = whole.with_columns(pl.col(pl.Datetime).dt.cast_time_unit("us"))
    assert frame.schema == expected.schema
    order = ["_kafka_partition", "_kafka_offset"]
    assert frame.sort(order).equals(expected.sort(order))
    assert frame.height == 75

    assert isinstance(projected, pl.DataFrame)
    assert projected.sort(order).equals(
        whole.select(*order, pl.col("user_id").cast(pl.Float64)).sort(order)
    )
