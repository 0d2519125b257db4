"""librdkafka (through confluent-kafka) as the interop peer of the integration tests.

    peer.py produce BROKER TOPIC CODEC COUNT PARTITIONS   # writes the reference records
    peer.py consume BROKER TOPIC COUNT                    # prints every record as a JSON line

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


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "version":
        print(confluent_kafka.libversion()[0])
    elif cmd == "produce":
        produce(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    elif cmd == "consume":
        consume(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(f"unknown command {cmd}")
