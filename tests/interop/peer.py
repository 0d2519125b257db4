"""librdkafka (through confluent-kafka) as the interop peer of the integration tests.

    peer.py produce BROKER TOPIC CODEC COUNT PARTITIONS   # writes the reference records
    peer.py consume BROKER TOPIC COUNT                    # prints every record as a JSON line
    peer.py produce-registry BROKER TOPIC REGISTRY KIND COUNT PARTITIONS [KEYS]
        # writes COUNT records with confluent-kafka's schema-registry serializers; KIND is
        # avro-evolving, avro-logical, json, json-typed or protobuf (see `registry_values` for
        # each); KEYS is string (the default), avro, protobuf or json (see `key_serializer`)

The reference records are defined by `reference(i)` here and by `reference_record` in
tests/tests/interop.rs: the two must agree.
"""

import json
import sys

import confluent_kafka


def reference(i):
    key = None if i % 5 == 0 else f"key-{i}".encode()
    value = None if i % 7 == 3 else json.dumps({"i": i, "pad": "x" * (i % 50)}).encode()
    headers = [("h", f"v{i}".encode()), ("n", None)] if i % 3 == 0 else []
    return key, value, headers, 1_700_000_000_000 + i


def produce(broker, topic, codec, count, partitions):
    p = confluent_kafka.Producer(
        {
            "bootstrap.servers": broker,
            "compression.type": codec,
            "linger.ms": 20,
            "batch.num.messages": 500,
            "acks": "all",
        }
    )
    for i in range(count):
        key, value, headers, ts = reference(i)
        p.produce(topic, value=value, key=key, headers=headers, timestamp=ts, partition=i % partitions)
    left = p.flush(30)
    if left:
        sys.exit(f"{left} records were not delivered")


def consume(broker, topic, count):
    c = confluent_kafka.Consumer(
        {
            "bootstrap.servers": broker,
            "group.id": f"peer-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    c.subscribe([topic])
    seen = 0
    idle = 0
    while seen < count and idle < 60:
        m = c.poll(1.0)
        if m is None:
            idle += 1
            continue
        if m.error():
            sys.exit(f"consume error: {m.error()}")
        headers = [[k, None if v is None else v.hex()] for k, v in (m.headers() or [])]
        print(
            json.dumps(
                {
                    "partition": m.partition(),
                    "offset": m.offset(),
                    "key": None if m.key() is None else m.key().hex(),
                    "value": None if m.value() is None else m.value().hex(),
                    "headers": headers,
                    "timestamp": m.timestamp()[1],
                }
            ),
            flush=True,
        )
        seen += 1
    c.close()
    if seen < count:
        sys.exit(f"only {seen} of {count} records arrived")


def bench_consume(broker, topic, count):
    """Reads COUNT messages from the start of TOPIC's partitions as fast as librdkafka can
    (assigned partitions, no group join), timed from assignment to the last message; prints
    `messages seconds value_bytes`."""
    import time

    c = confluent_kafka.Consumer(
        {
            "bootstrap.servers": broker,
            "group.id": "bench",
            "enable.auto.commit": False,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 8 * 1024 * 1024,
        }
    )
    partitions = sorted(c.list_topics(topic, timeout=10).topics[topic].partitions)
    start = time.perf_counter()
    c.assign(
        [confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in partitions]
    )
    seen = 0
    size = 0
    idle = 0
    while seen < count and idle < 30:
        batch = c.consume(num_messages=10000, timeout=1.0)
        if not batch:
            idle += 1
            continue
        for m in batch:
            if m.error():
                sys.exit(f"consume error: {m.error()}")
            v = m.value()
            size += 0 if v is None else len(v)
        seen += len(batch)
    elapsed = time.perf_counter() - start
    c.close()
    print(seen, elapsed, size)


# Three versions of one subject's schema, registered in this order by the serializers: v2 adds
# `country` (default "unknown") and widens `id`; v3 drops `nick`, widens `score`, adds `tags`
# (default ["new"]) and `since` (default null). tests/tests/registry_serializers.rs reads them.
MEMBER_V1 = {
    "type": "record", "name": "Member", "namespace": "club",
    "fields": [
        {"name": "id", "type": "int"},
        {"name": "nick", "type": "string"},
        {"name": "score", "type": "float"},
    ],
}
MEMBER_V2 = {
    "type": "record", "name": "Member", "namespace": "club",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "nick", "type": "string"},
        {"name": "score", "type": "float"},
        {"name": "country", "type": "string", "default": "unknown"},
    ],
}
MEMBER_V3 = {
    "type": "record", "name": "Member", "namespace": "club",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "score", "type": "double"},
        {"name": "country", "type": "string", "default": "unknown"},
        {"name": "tags", "type": {"type": "array", "items": "string"}, "default": ["new"]},
        {"name": "since", "type": ["null", {"type": "int", "logicalType": "date"}], "default": None},
    ],
}

# Every Avro logical type at its edges: the epoch, before it, the far future, most digits.
EDGES = {
    "type": "record", "name": "Edges",
    "fields": [
        {"name": "ts_ms", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "ts_us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "local_ms", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "clock_ms", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "clock_us", "type": {"type": "long", "logicalType": "time-micros"}},
        {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 10}},
        {"name": "amount", "type": {"type": "fixed", "name": "Amount", "size": 16,
                                    "logicalType": "decimal", "precision": 38, "scale": 0}},
        {"name": "uid", "type": {"type": "string", "logicalType": "uuid"}},
    ],
}

READING = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Reading",
    "type": "object",
    "properties": {
        "sensor": {"type": "string"},
        "celsius": {"type": "number"},
        "ok": {"type": "boolean"},
    },
    "required": ["sensor", "celsius", "ok"],
}

# A JSON Schema whose types say more than its documents: formats, numbers written as integers,
# a `$ref`, an optional (pydantic-style `anyOf` with null) and an array of dates.
TYPED_READING = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "TypedReading",
    "type": "object",
    "definitions": {"Stamp": {"type": "string", "format": "date-time"}},
    "properties": {
        "sensor": {"type": "string"},
        "at": {"$ref": "#/definitions/Stamp"},
        "day": {"type": "string", "format": "date"},
        "clock": {"type": "string", "format": "time"},
        "celsius": {"type": "number"},
        "count": {"type": "integer"},
        "seen": {"anyOf": [{"$ref": "#/definitions/Stamp"}, {"type": "null"}]},
        "history": {"type": "array", "items": {"type": "string", "format": "date"}},
    },
    "required": ["sensor", "at", "day", "clock", "celsius", "count", "seen", "history"],
}


# The protobuf message that `protobuf_reading_class` builds, as the .proto text the reader is
# given (tests/tests/registry_serializers.rs holds the same text).
READING_PROTO = """syntax = "proto3";
package iot;
import "google/protobuf/timestamp.proto";
message Reading {
  enum Status { OK = 0; FAULT = 1; }
  string sensor = 1;
  double celsius = 2;
  repeated string tags = 3;
  google.protobuf.Timestamp at = 4;
  Status status = 5;
  map<string, int32> counts = 6;
}
"""


def protobuf_reading_class():
    """iot.Reading as a message class of Google's protobuf runtime, built from descriptors (no
    protoc): what generated code would give the serializer."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2

    F = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="iot/reading.proto", package="iot", syntax="proto3",
        dependency=["google/protobuf/timestamp.proto"],
    )
    m = file.message_type.add(name="Reading")
    status = m.enum_type.add(name="Status")
    status.value.add(name="OK", number=0)
    status.value.add(name="FAULT", number=1)
    entry = m.nested_type.add(name="CountsEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL, json_name="key")
    entry.field.add(name="value", number=2, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL, json_name="value")
    m.field.add(name="sensor", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    m.field.add(name="celsius", number=2, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
    m.field.add(name="tags", number=3, type=F.TYPE_STRING, label=F.LABEL_REPEATED)
    m.field.add(name="at", number=4, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                type_name=".google.protobuf.Timestamp")
    m.field.add(name="status", number=5, type=F.TYPE_ENUM, label=F.LABEL_OPTIONAL,
                type_name=".iot.Reading.Status")
    m.field.add(name="counts", number=6, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                type_name=".iot.Reading.CountsEntry")
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("iot.Reading"))


def registry_values(kind, count):
    """(schema, value) for each record of KIND."""
    import datetime
    import decimal
    import uuid

    if kind == "avro-evolving":
        for i in range(count):
            version = i % 3
            if version == 0:
                yield MEMBER_V1, {"id": i, "nick": f"n{i}", "score": i + 0.5}
            elif version == 1:
                yield MEMBER_V2, {"id": i, "nick": f"n{i}", "score": i + 0.5, "country": f"C{i % 5}"}
            else:
                yield MEMBER_V3, {
                    "id": i,
                    "score": i + 0.25,
                    "country": f"C{i % 5}",
                    "tags": [f"t{j}" for j in range(i % 4)],
                    "since": None if i % 2 else datetime.date(2024, 1, 1) + datetime.timedelta(days=i),
                }
    elif kind == "avro-logical":
        utc = datetime.timezone.utc
        epoch = datetime.datetime(1970, 1, 1, tzinfo=utc)
        rows = [
            (epoch, epoch, datetime.datetime(1970, 1, 1), datetime.date(1970, 1, 1),
             datetime.time(0, 0), datetime.time(0, 0), decimal.Decimal(0), decimal.Decimal(0),
             uuid.UUID(int=0)),
            (epoch - datetime.timedelta(milliseconds=1), epoch - datetime.timedelta(microseconds=1),
             datetime.datetime(1969, 12, 31, 23, 59, 59, 999000), datetime.date(1969, 12, 31),
             datetime.time(23, 59, 59, 999000), datetime.time(23, 59, 59, 999999),
             decimal.Decimal("-9999999999999999999999999999.9999999999"),
             decimal.Decimal("-" + "9" * 38), uuid.UUID("550e8400-e29b-41d4-a716-446655440000")),
            (datetime.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=utc),
             datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=utc),
             datetime.datetime(9999, 12, 31, 23, 59, 59, 999000), datetime.date(9999, 12, 31),
             datetime.time(12, 0), datetime.time(12, 0, 0, 1),
             decimal.Decimal("9999999999999999999999999999.9999999999"),
             decimal.Decimal("9" * 38), uuid.UUID(int=(1 << 128) - 1)),
        ]
        names = [f["name"] for f in EDGES["fields"]]
        for i in range(count):
            yield EDGES, dict(zip(names, rows[i % len(rows)]))
    elif kind == "protobuf":
        reading = protobuf_reading_class()
        for i in range(count):
            r = reading(sensor=f"s{i % 4}", celsius=i / 4, tags=[f"t{j}" for j in range(i % 3)],
                        status=i % 2)
            r.at.seconds = 1_700_000_000 + i
            r.at.nanos = i * 1000
            for j in range(i % 2):
                r.counts[f"c{j}"] = i
            yield reading, r
    elif kind == "json-typed":
        start = datetime.date(2024, 1, 1)
        for i in range(count):
            at = f"2024-02-29T12:00:{i % 60:02}.{i:06}+01:00"
            # Record 7's date does not exist: the JSONSerializer does not check formats.
            day = "2024-02-30" if i == 7 else (start + datetime.timedelta(days=i)).isoformat()
            yield TYPED_READING, {
                "sensor": f"s{i % 4}",
                "at": at,
                "day": day,
                "clock": f"12:{i % 60:02}:00Z",
                "celsius": i,
                "count": i * 10,
                "seen": None if i % 2 else at,
                "history": [(start + datetime.timedelta(days=j)).isoformat() for j in range(i % 3)],
            }
    elif kind == "json":
        for i in range(count):
            yield READING, {"sensor": f"s{i % 4}", "celsius": i / 4, "ok": i % 3 != 0}
    else:
        sys.exit(f"unknown kind {kind}")


# The keys of `produce-registry ... avro`: a record, so that the key column is compact JSON.
SITE_KEY = {
    "type": "record", "name": "SiteKey", "namespace": "club",
    "fields": [{"name": "site", "type": "string"}, {"name": "n", "type": "long"}],
}
# The keys of `produce-registry ... json`.
ID_KEY = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "IdKey",
    "type": "object",
    "properties": {"id": {"type": "integer"}},
}


def key_serializer(key_kind, client, topic):
    """A function of the record number giving its serialized key (None: no key): `string`
    keys k{i}; `avro`, `protobuf` and `json` keys written by the registry serializers, with
    every tenth record (i % 10 == 9) keyless."""
    from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer

    context = SerializationContext(topic, MessageField.KEY)
    if key_kind == "string":
        keys = StringSerializer("utf_8")
        return lambda i: keys(f"k{i}")
    if key_kind == "avro":
        from confluent_kafka.schema_registry.avro import AvroSerializer

        avro = AvroSerializer(client, json.dumps(SITE_KEY))
        value = lambda i: avro({"site": f"s{i % 4}", "n": i}, context)
    elif key_kind == "protobuf":
        from confluent_kafka.schema_registry.protobuf import ProtobufSerializer

        reading = protobuf_reading_class()
        proto = ProtobufSerializer(reading, client, {"use.deprecated.format": False})
        value = lambda i: proto(reading(sensor=f"s{i % 4}", celsius=i / 2), context)
    elif key_kind == "json":
        from confluent_kafka.schema_registry.json_schema import JSONSerializer

        js = JSONSerializer(json.dumps(ID_KEY), client)
        value = lambda i: js({"id": i}, context)
    else:
        sys.exit(f"unknown key kind {key_kind}")
    return lambda i: None if i % 10 == 9 else value(i)


def produce_registry(broker, topic, registry, kind, count, partitions, key_kind="string"):
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.serialization import MessageField, SerializationContext

    client = SchemaRegistryClient({"url": registry})
    serializers = {}

    def serializer(schema):
        key = repr(schema) if kind == "protobuf" else json.dumps(schema, sort_keys=True)
        if key not in serializers:
            if kind == "protobuf":
                from confluent_kafka.schema_registry.protobuf import ProtobufSerializer

                serializers[key] = ProtobufSerializer(schema, client, {"use.deprecated.format": False})
            elif kind.startswith("json"):
                from confluent_kafka.schema_registry.json_schema import JSONSerializer

                serializers[key] = JSONSerializer(json.dumps(schema), client)
            else:
                from confluent_kafka.schema_registry.avro import AvroSerializer

                serializers[key] = AvroSerializer(client, json.dumps(schema))
        return serializers[key]

    p = confluent_kafka.Producer({"bootstrap.servers": broker, "linger.ms": 5, "acks": "all"})
    keys = key_serializer(key_kind, client, topic)
    context = SerializationContext(topic, MessageField.VALUE)
    for i, (schema, value) in enumerate(registry_values(kind, count)):
        p.produce(
            topic,
            key=keys(i),
            value=serializer(schema)(value, context),
            partition=i % partitions,
        )
    left = p.flush(30)
    if left:
        sys.exit(f"{left} records were not delivered")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "version":
        print(confluent_kafka.libversion()[0])
    elif cmd == "produce":
        produce(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    elif cmd == "bench-consume":
        bench_consume(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "produce-registry":
        produce_registry(*sys.argv[2:6], int(sys.argv[6]), int(sys.argv[7]), *sys.argv[8:9])
    elif cmd == "consume":
        consume(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(f"unknown command {cmd}")
