"""Every Python code block of the specification (streaming-data-sources.md), the import changed to
`truthound_streaming`, run against the test broker; each test names the section it follows."""

from __future__ import annotations

import asyncio
import json

import polars as pl
import pytest

from truthound_streaming import (
    AvroDeserializer,
    BaseStreamingDataSource,
    DeserializationError,
    JSONDeserializer,
    KafkaConnectionError,
    KafkaDataSource,
    KafkaDataSourceConfig,
    KafkaDataSourceError,
    MessageDeserializer,
    StreamingDataSourceConfig,
    StreamingDataSourceError,
    from_kafka,
)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


# ## Basic Usage
def test_basic_usage(broker, user_events):  # type: ignore[no-untyped-def]
    topic = user_events(2, 50)

    async def main():  # type: ignore[no-untyped-def]
        config = KafkaDataSourceConfig(
            bootstrap_servers=broker,
            topic=topic,
            max_messages=10000,
        )
        source = KafkaDataSource(config)
        async with source:
            schema = await source.get_schema_async()
            lf = await source.to_polars_lazyframe_async()
        return schema, lf

    schema, lf = run(main())
    assert isinstance(lf, pl.LazyFrame)
    df = lf.collect()
    assert df.height == 100
    assert dict(schema) == {
        "user_id": pl.Int64,
        "action": pl.String,
        "timestamp": pl.String,
        "_kafka_key": pl.String,
    }
    # Rows by partition, then offset.
    assert df["user_id"].to_list() == list(range(50)) + list(range(1000, 1050))


# ## Connection String
def test_connection_string(broker, user_events):  # type: ignore[no-untyped-def]
    topic = user_events(1, 30)
    source = KafkaDataSource.from_connection_string(
        f"kafka://{broker}/{topic}",
        max_messages=20,
    )
    assert source.config.max_messages == 20
    assert source.config.topic == topic
    with source:
        assert source.to_polars_dataframe().height == 20
    # Multiple brokers
    source = KafkaDataSource.from_connection_string(
        "kafka://broker1:9092,broker2:9092/my-topic",
    )
    assert source.config.bootstrap_servers == "broker1:9092,broker2:9092"
    assert source.config.topic == "my-topic"
    with pytest.raises(ValueError, match="connection string"):
        KafkaDataSource.from_connection_string("kafka://localhost:9092")


# ## Configuration
def test_configuration_has_every_field_and_default(broker):  # type: ignore[no-untyped-def]
    config = KafkaDataSourceConfig(
        bootstrap_servers=broker,
        topic="user-events",
        group_id="truthound-datasource",
        max_messages=10000,
        consume_timeout=30.0,
        auto_offset_reset="earliest",
        security_protocol="PLAINTEXT",
        sasl_mechanism=None,
        sasl_username=None,
        sasl_password=None,
        ssl_cafile=None,
        ssl_certfile=None,
        ssl_keyfile=None,
        partition=None,
        start_offset=None,
        end_offset=None,
        key_deserializer="string",
        include_key=True,
        include_headers=False,
        deserializer_type="json",
        include_metadata=False,
        metadata_prefix="_kafka_",
        schema_sample_size=100,
    )
    defaults = KafkaDataSourceConfig(bootstrap_servers=broker, topic="user-events")
    for field in [
        "max_messages",
        "consume_timeout",
        "auto_offset_reset",
        "security_protocol",
        "key_deserializer",
        "include_key",
        "include_headers",
        "deserializer_type",
        "include_metadata",
        "metadata_prefix",
        "schema_sample_size",
    ]:
        assert getattr(config, field) == getattr(defaults, field), field
    assert defaults.group_id is None and defaults.partition is None


@pytest.mark.parametrize(
    "field, value, named",
    [
        ("max_messages", 0, "max_messages"),
        ("consume_timeout", -1.0, "consume_timeout"),
        ("auto_offset_reset", "newest", "auto_offset_reset"),
        ("deserializer_type", "xml", "deserializer_type"),
        ("security_protocol", "TLS", "security_protocol"),
        ("partition", -1, "partition"),
        ("topic", "", "topic"),
        ("avro_reader_schema", "latest", "needs schema_registry_url"),
        ("schema_registry_subject", "s", "schema_registry_url is not"),
        ("deserializer_type", "protobuf", "needs protobuf_schema"),
    ],
)
def test_invalid_fields_are_value_errors_naming_the_field(field, value, named):  # type: ignore[no-untyped-def]
    kwargs = {"bootstrap_servers": "localhost:9092", "topic": "t", field: value}
    with pytest.raises(ValueError, match=named):
        KafkaDataSourceConfig(**kwargs)


def test_an_avro_reader_schema_is_a_dict_or_json_and_must_fit_the_writer():  # type: ignore[no-untyped-def]
    writer = {"type": "record", "name": "U", "fields": [{"name": "id", "type": "int"}]}
    fits = {
        "type": "record",
        "name": "U",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "country", "type": "string", "default": "xx"},
        ],
    }
    base = {"bootstrap_servers": "localhost:9092", "topic": "t", "deserializer_type": "avro"}
    KafkaDataSource(KafkaDataSourceConfig(**base, avro_schema=writer, avro_reader_schema=fits))
    needs_email = {
        "type": "record",
        "name": "U",
        "fields": [{"name": "id", "type": "long"}, {"name": "email", "type": "string"}],
    }
    with pytest.raises(ValueError, match="the reader's field `email` of record `U`"):
        KafkaDataSource(
            KafkaDataSourceConfig(**base, avro_schema=writer, avro_reader_schema=needs_email)
        )


def test_a_protobuf_schema_and_message_are_checked_when_the_source_is_made():  # type: ignore[no-untyped-def]
    base = {"bootstrap_servers": "localhost:9092", "topic": "t", "deserializer_type": "protobuf"}
    proto = 'syntax = "proto3"; message Reading { string sensor = 1; }'
    KafkaDataSource(KafkaDataSourceConfig(**base, protobuf_schema=proto))
    KafkaDataSource(KafkaDataSourceConfig(**base, protobuf_schema=proto, protobuf_message="Reading"))
    with pytest.raises(ValueError, match='no message "Nope"; it has: Reading'):
        KafkaDataSource(KafkaDataSourceConfig(**base, protobuf_schema=proto, protobuf_message="Nope"))


# ## Authentication (SASL/PLAIN, SASL/SCRAM, SSL/TLS): configurations that validate
def test_authentication_configurations():  # type: ignore[no-untyped-def]
    plain = KafkaDataSourceConfig(
        bootstrap_servers="kafka.example.com:9093",
        topic="secure-topic",
        security_protocol="SASL_SSL",
        sasl_mechanism="PLAIN",
        sasl_username="user",
        sasl_password="password",
    )
    KafkaDataSource(plain)
    secret = KafkaDataSourceConfig(
        bootstrap_servers="kafka.example.com:9093",
        topic="secure-topic",
        security_protocol="SASL_SSL",
        sasl_mechanism="PLAIN",
        sasl_username="user",
        sasl_password="Sr-S3cret-Xy9",
    )
    assert "Sr-S3cret-Xy9" not in repr(secret)
    assert "Sr-S3cret-Xy9" not in repr(KafkaDataSource(secret))
    scram = KafkaDataSourceConfig(
        bootstrap_servers="kafka.example.com:9093",
        topic="secure-topic",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username="user",
        sasl_password="password",
    )
    KafkaDataSource(scram)
    ssl = KafkaDataSourceConfig(
        bootstrap_servers="kafka.example.com:9093",
        topic="secure-topic",
        security_protocol="SSL",
        ssl_cafile="/path/to/ca.pem",
        ssl_certfile="/path/to/client.pem",
        ssl_keyfile="/path/to/client.key",
    )
    KafkaDataSource(ssl)
    # A SASL protocol without a mechanism is refused, naming it.
    with pytest.raises(ValueError, match="sasl_mechanism"):
        KafkaDataSourceConfig(
            bootstrap_servers="kafka.example.com:9093",
            topic="secure-topic",
            security_protocol="SASL_SSL",
            sasl_username="user",
            sasl_password="password",
        )


# ## Confluent Cloud
def test_confluent_cloud():  # type: ignore[no-untyped-def]
    source = KafkaDataSource.from_confluent(
        bootstrap_servers="pkc-xxxxx.us-east-1.aws.confluent.cloud:9092",
        topic="my-topic",
        api_key="ABCDEFGHIJKLMNOP",
        api_secret="secret123",
        max_messages=10000,
    )
    assert source.config.security_protocol == "SASL_SSL"
    assert source.config.sasl_mechanism == "PLAIN"
    assert source.config.sasl_username == "ABCDEFGHIJKLMNOP"
    assert "secret123" not in repr(source)


# ## Message Deserialization: JSON (default) and Avro
def test_deserializer_types(broker):  # type: ignore[no-untyped-def]
    json_config = KafkaDataSourceConfig(
        bootstrap_servers=broker, topic="json-topic", deserializer_type="json"
    )
    assert json_config.deserializer_type == "json"
    # Avro needs a writer schema or a registry: saying so is the configuration's error.
    with pytest.raises(ValueError, match="avro_schema"):
        KafkaDataSource(
            KafkaDataSourceConfig(
                bootstrap_servers=broker, topic="avro-topic", deserializer_type="avro"
            )
        )


# ## Including Metadata
def test_including_metadata(broker, user_events):  # type: ignore[no-untyped-def]
    topic = user_events(1, 5)
    config = KafkaDataSourceConfig(
        bootstrap_servers=broker,
        topic=topic,
        include_metadata=True,
        include_key=True,
        include_headers=True,
        metadata_prefix="_kafka_",
    )
    source = KafkaDataSource(config)

    async def main():  # type: ignore[no-untyped-def]
        async with source:
            lf = await source.to_polars_lazyframe_async()
            return lf.collect()

    df = run(main())
    assert df.columns == [
        "user_id",
        "action",
        "timestamp",
        "_kafka_key",
        "_kafka_topic",
        "_kafka_partition",
        "_kafka_offset",
        "_kafka_timestamp",
        "_kafka_headers",
    ]
    assert df["_kafka_topic"].unique().to_list() == [topic]
    assert df["_kafka_offset"].to_list() == [0, 1, 2, 3, 4]
    assert df.schema["_kafka_timestamp"] == pl.Datetime("ms")


# ## Partition Control
def test_partition_control(broker, user_events):  # type: ignore[no-untyped-def]
    topic = user_events(3, 40)
    config = KafkaDataSourceConfig(bootstrap_servers=broker, topic=topic, partition=0, include_metadata=True)
    with KafkaDataSource(config) as source:
        df = source.to_polars_dataframe()
    assert df.height == 40
    assert df["_kafka_partition"].unique().to_list() == [0]
    # Offset range
    config = KafkaDataSourceConfig(
        bootstrap_servers=broker,
        topic=topic,
        start_offset=10,
        end_offset=20,
        include_metadata=True,
    )
    with KafkaDataSource(config) as source:
        df = source.to_polars_dataframe()
    assert df.height == 30
    assert sorted(set(df["_kafka_offset"].to_list())) == list(range(10, 20))


# ## Topic Information
def test_topic_information(broker, user_events):  # type: ignore[no-untyped-def]
    topic = user_events(3, 7)
    source = KafkaDataSource(KafkaDataSourceConfig(bootstrap_servers=broker, topic=topic))

    async def main():  # type: ignore[no-untyped-def]
        async with source:
            info = await source._get_topic_info()
            offsets = await source.get_topic_offsets_async()
        return info, offsets

    info, offsets = run(main())
    assert info == {"topic": topic, "partitions": [0, 1, 2], "partition_count": 3}
    assert offsets == {"offsets": {0: (0, 7), 1: (0, 7), 2: (0, 7)}}


# ## Consuming Messages: Batch Consumption and Iterative Consumption
def test_batch_and_iterative_consumption(broker, user_events):  # type: ignore[no-untyped-def]
    topic = user_events(2, 250)
    source = KafkaDataSource(KafkaDataSourceConfig(bootstrap_servers=broker, topic=topic, max_messages=10000))

    async def main():  # type: ignore[no-untyped-def]
        async with source:
            lf = await source.to_polars_lazyframe_async()
            df = lf.collect()
            batches = []
            async for batch in source.iter_messages_async(
                batch_size=100,
                max_messages=10000,
            ):
                batches.append(batch)
        return df, batches

    df, batches = run(main())
    assert len(df) == 500
    assert all(1 <= len(b) <= 100 for b in batches)
    messages = [m for b in batches for m in b]
    assert len(messages) == 500
    assert sorted(m["user_id"] for m in messages) == sorted(df["user_id"].to_list())
    assert set(messages[0]) == {"user_id", "action", "timestamp", "_kafka_key"}
    # max_messages bounds the iteration; the blocking iterator gives the same.
    sync_source = KafkaDataSource(KafkaDataSourceConfig(bootstrap_servers=broker, topic=topic))
    with sync_source:
        sizes = [len(b) for b in sync_source.iter_messages(batch_size=64, max_messages=130)]
    assert sum(sizes) == 130 and max(sizes) <= 64


# ## Consumer Group Operations
def test_consumer_group_operations(broker, user_events):  # type: ignore[no-untyped-def]
    topic = user_events(3, 10)
    config = KafkaDataSourceConfig(bootstrap_servers=broker, topic=topic, group_id=f"g-{topic}")
    source = KafkaDataSource(config)

    async def main():  # type: ignore[no-untyped-def]
        async with source:
            lf = await source.to_polars_lazyframe_async()
            committed_now = await source.commit_offsets_async()
            committed = await source.get_committed_offsets_async()
        return lf, committed_now, committed

    lf, committed_now, committed = run(main())
    assert lf.collect().height == 30
    assert committed == {0: 10, 1: 10, 2: 10}
    assert committed_now == committed
    # Without a group the spec's operation names the fix.
    with KafkaDataSource(KafkaDataSourceConfig(bootstrap_servers=broker, topic=topic)) as s:
        s.to_polars_dataframe()
        with pytest.raises(KafkaDataSourceError, match="group_id"):
            s.commit_offsets()


# ## Sampling
def test_sampling(broker, user_events):  # type: ignore[no-untyped-def]
    topic = user_events(2, 800)
    source = KafkaDataSource(KafkaDataSourceConfig(bootstrap_servers=broker, topic=topic))

    async def main():  # type: ignore[no-untyped-def]
        async with source:
            sampled = await source.sample_async(n=1000)
            async with sampled:
                lf = await sampled.to_polars_lazyframe_async()
        return sampled, lf

    sampled, lf = run(main())
    assert sampled.config.max_messages == 1000
    df = lf.collect()
    assert df.height == 1000
    # From the beginning: fair shares of each partition's first messages.
    assert sorted(df["user_id"].to_list()) == list(range(500)) + list(range(1000, 1500))


# ## Message Deserializers: JSONDeserializer
def test_json_deserializer():  # type: ignore[no-untyped-def]
    deserializer = JSONDeserializer(encoding="utf-8")
    message = deserializer.deserialize(b'{"user": "alice", "action": "login"}')
    assert message == {"user": "alice", "action": "login"}
    assert isinstance(deserializer, MessageDeserializer)
    latin = JSONDeserializer(encoding="latin-1")
    assert latin.deserialize('{"name": "Zoë"}'.encode("latin-1")) == {"name": "Zoë"}
    with pytest.raises(DeserializationError) as caught:
        deserializer.deserialize(b"not json")
    assert caught.value.offset is None and caught.value.reason
    with pytest.raises(ValueError, match="encoding"):
        JSONDeserializer(encoding="no-such-codec")


# ## Message Deserializers: AvroDeserializer
def test_avro_deserializer():  # type: ignore[no-untyped-def]
    schema = {
        "type": "record",
        "name": "UserEvent",
        "fields": [
            {"name": "user_id", "type": "int"},
            {"name": "action", "type": "string"},
        ],
    }
    deserializer = AvroDeserializer(schema=schema)
    # user_id 123 (zig-zag varint 246), action "login" (length 5 as zig-zag 10).
    avro_bytes = bytes([0xF6, 0x01, 0x0A]) + b"login"
    message = deserializer.deserialize(avro_bytes)
    assert message == {"user_id": 123, "action": "login"}
    assert AvroDeserializer(schema=json.dumps(schema)).deserialize(avro_bytes) == message
    with pytest.raises(DeserializationError):
        deserializer.deserialize(avro_bytes[:3])
    with pytest.raises(ValueError, match="schema"):
        AvroDeserializer(schema={"type": "record"})


# ## Error Handling
def test_error_handling_connection(broker):  # type: ignore[no-untyped-def]
    config = KafkaDataSourceConfig(
        bootstrap_servers="127.0.0.1:1",
        topic="my-topic",
        consume_timeout=5.0,
    )

    async def main():  # type: ignore[no-untyped-def]
        source = KafkaDataSource(config)
        async with source:
            await source.to_polars_lazyframe_async()

    with pytest.raises(KafkaConnectionError) as caught:
        run(main())
    e = caught.value
    assert e.bootstrap_servers == "127.0.0.1:1"
    assert "127.0.0.1:1" in str(e)
    assert isinstance(e, KafkaDataSourceError)
    assert isinstance(e, StreamingDataSourceError)


def test_error_handling_deserialization(broker, make_topic):  # type: ignore[no-untyped-def]
    topic = make_topic(
        1, lambda p: [(None, b'{"a": 1}'), (None, b"{broken"), (None, b'{"a": 3}')]
    )
    config = KafkaDataSourceConfig(bootstrap_servers=broker, topic=topic, on_malformed="error")

    async def main():  # type: ignore[no-untyped-def]
        source = KafkaDataSource(config)
        async with source:
            await source.to_polars_lazyframe_async()

    with pytest.raises(DeserializationError) as caught:
        run(main())
    assert (caught.value.partition, caught.value.offset) == (0, 1)
    assert isinstance(caught.value, StreamingDataSourceError)
    assert not isinstance(caught.value, KafkaDataSourceError)
    # Skipped by default, and never silently: the report names it.
    with KafkaDataSource(KafkaDataSourceConfig(bootstrap_servers=broker, topic=topic)) as source:
        df = source.to_polars_dataframe()
        report = source.last_report
    assert df["a"].to_list() == [1, 3]
    assert report is not None
    assert [(s.partition, s.offset) for s in report.skipped] == [(0, 1)]
    assert report.rows == 2


# Beyond the spec: a JSON Schema (dict or JSON) types JSON columns where documents say less.
def test_a_json_schema_types_the_columns(broker, make_topic):  # type: ignore[no-untyped-def]
    docs = [
        {"at": "2024-02-29T12:00:00+01:00", "day": "2024-02-29", "celsius": 21},
        {"at": "2024-02-29T12:00:01Z", "day": "2024-02-30", "celsius": 22},
        {"at": "1970-01-01T00:00:00Z", "day": "1970-01-01", "celsius": 23.5},
    ]
    topic = make_topic(1, lambda p: [(None, json.dumps(d).encode()) for d in docs])
    schema = {
        "type": "object",
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "celsius": {"type": "number"},
        },
    }
    for given in (schema, json.dumps(schema)):
        config = KafkaDataSourceConfig(
            bootstrap_servers=broker, topic=topic, json_schema=given, include_key=False
        )
        with KafkaDataSource(config) as source:
            df = source.to_polars_dataframe()
            report = source.last_report
        assert df.schema == {
            "at": pl.Datetime("us", "UTC"),
            "day": pl.Date,
            "celsius": pl.Float64,
        }
        assert df["celsius"].to_list() == [21.0, 23.5]
        assert df["at"].dt.epoch("us").to_list() == [1_709_204_400_000_000, 0]
        assert report is not None
        assert [(s.partition, s.offset) for s in report.skipped] == [(0, 1)]
        assert '"2024-02-30" is not an RFC 3339 date' in report.skipped[0].reason
    with pytest.raises(ValueError, match="json_schema"):
        KafkaDataSourceConfig(
            bootstrap_servers=broker, topic=topic, json_schema=schema, deserializer_type="string"
        )


# ## Factory Functions
def test_from_kafka(broker, user_events):  # type: ignore[no-untyped-def]
    topic = user_events(1, 12)

    async def main():  # type: ignore[no-untyped-def]
        source = await from_kafka(
            bootstrap_servers=broker,
            topic=topic,
            max_messages=10000,
        )
        async with source:
            lf = await source.to_polars_lazyframe_async()
        return lf

    assert run(main()).collect().height == 12


# ## Base Classes
def test_base_classes():  # type: ignore[no-untyped-def]
    assert issubclass(KafkaDataSource, BaseStreamingDataSource)
    assert issubclass(KafkaDataSourceConfig, StreamingDataSourceConfig)
    assert issubclass(DeserializationError, StreamingDataSourceError)
    assert issubclass(KafkaConnectionError, KafkaDataSourceError)


# ## Beyond the spec: one plan, several workers
def test_a_plan_read_share_by_share_is_the_snapshot(broker, user_events, tmp_path):  # type: ignore[no-untyped-def]
    topic = user_events(3, 20)
    config = KafkaDataSourceConfig(
        bootstrap_servers=broker, topic=topic, include_metadata=True, max_messages=60
    )
    with KafkaDataSource(config) as source:
        plan = source.plan(shares=4)
        whole = source.to_polars_dataframe()
    assert json.loads(plan)["truthound_plan"] == 1
    path = tmp_path / "plan.json"
    path.write_text(plan)
    # Each worker reads its share, given the plan's text or its file.
    frames = [
        KafkaDataSource.from_plan(plan if k % 2 else path, k, config).to_polars_dataframe()
        for k in range(4)
    ]
    assert [f.height for f in frames] == [15, 15, 15, 15]
    union = pl.concat(frames).sort("_kafka_partition", "_kafka_offset")
    assert union.equals(whole.sort("_kafka_partition", "_kafka_offset"))
    with pytest.raises(ValueError, match="share 4 is not in the plan"):
        KafkaDataSource.from_plan(plan, 4)
