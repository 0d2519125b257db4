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


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "version":
        print(confluent_kafka.libversion()[0])
    elif cmd == "produce":
        produce(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    elif cmd == "bench-consume":
        bench_consume(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "consume":
        consume(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(f"unknown command {cmd}")
