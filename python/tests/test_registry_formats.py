"""Avro through the schema registry from Python: values and keys written by confluent-kafka's
AvroSerializer, read with the spec's API; logical types as Polars types, keys as text."""

from __future__ import annotations

import datetime
import decimal
import json

import polars as pl

from truthound_streaming import KafkaDataSource, KafkaDataSourceConfig

VALUE = {
    "type": "record",
    "name": "Payment",
    "fields": [
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
        {"name": "settled", "type": ["null", {"type": "int", "logicalType": "date"}], "default": None},
    ],
}
KEY = {"type": "record", "name": "Account", "fields": [{"name": "account", "type": "string"}]}


def test_avro_values_and_keys_from_the_registry(broker, make_topic, registry):  # type: ignore[no-untyped-def]
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    client = SchemaRegistryClient({"url": registry.url})
    values = AvroSerializer(client, json.dumps(VALUE))
    keys = AvroSerializer(client, json.dumps(KEY))
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    # The serializers name their subjects after the topic: create it empty, then fill it.
    topic = make_topic(1, lambda p: [])
    key_context = SerializationContext(topic, MessageField.KEY)
    value_context = SerializationContext(topic, MessageField.VALUE)
    producer = Producer({"bootstrap.servers": broker})
    for i in range(6):
        value = {
            "at": epoch + datetime.timedelta(milliseconds=1000 * i - 1),
            "amount": decimal.Decimal(f"{i}.25"),
            "settled": None,
        }
        key = None if i == 5 else keys({"account": f"a{i}"}, key_context)
        producer.produce(topic, key=key, value=values(value, value_context), partition=0)
    assert producer.flush(30) == 0

    config = KafkaDataSourceConfig(
        bootstrap_servers=broker,
        topic=topic,
        deserializer_type="avro",
        schema_registry_url=registry.url,
        key_deserializer="avro",
    )
    with KafkaDataSource(config) as source:
        df = source.to_polars_dataframe()
        report = source.last_report
    assert report is not None and not report.skipped
    assert df.schema == {
        "at": pl.Datetime("ms", "UTC"),
        "amount": pl.Decimal(9, 2),
        # Null in every message, and still the schema's type.
        "settled": pl.Date,
        "_kafka_key": pl.String,
    }
    assert df["at"].dt.epoch("ms").to_list() == [1000 * i - 1 for i in range(6)]
    assert [str(a) for a in df["amount"].to_list()] == [f"{i}.25" for i in range(6)]
    assert df["settled"].null_count() == 6
    assert df["_kafka_key"].to_list() == [f'{{"account":"a{i}"}}' for i in range(5)] + [None]
    # Each schema was fetched once, by its id.
    ids = [r for r in registry.requests if r.startswith("GET /schemas/ids/")]
    assert sorted(ids) == ["GET /schemas/ids/1", "GET /schemas/ids/2"]
