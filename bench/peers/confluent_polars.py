"""confluent-kafka + polars.read_ndjson: the Python peer of `cargo xtask bench peers`.

    python confluent_polars.py --broker ADDR --topic T

Assigns every partition of the topic from its low watermark, consumes in batches of 10,000
until each partition reaches the high watermark captured at the start (librdkafka configured
for bulk reads, as the Rust peers in src/drain.rs), joins the values with newlines, reads them
with polars.read_ndjson and prints {"messages":N,"rows":R,"columns":C}.
"""

import argparse
import io
import json
import sys
import time

import polars
from confluent_kafka import Consumer, KafkaError, TopicPartition

REQUEST_TIMEOUT = 30.0
READ_TIMEOUT = 900.0

CONFIG = {
    # Needed by the consumer API; no group is joined (partitions are assigned), nothing is
    # committed.
    "group.id": "truthound-bench-peers",
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    # The same bulk-read settings as the Rust peers.
    "fetch.queue.backoff.ms": 0,
    "fetch.wait.max.ms": 10,
    "fetch.message.max.bytes": 16 * 1024 * 1024,
    "fetch.max.bytes": 64 * 1024 * 1024,
    "queued.max.messages.kbytes": 1024 * 1024,
    "queued.min.messages": 1_000_000,
    "enable.partition.eof": True,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", required=True)
    parser.add_argument("--topic", required=True)
    args = parser.parse_args()

    consumer = Consumer({"bootstrap.servers": args.broker, **CONFIG})
    metadata = consumer.list_topics(args.topic, timeout=REQUEST_TIMEOUT)
    topic = metadata.topics.get(args.topic)
    if topic is None or topic.error is not None or not topic.partitions:
        print(f"topic {args.topic} is missing or has no partitions", file=sys.stderr)
        return 1

    ends = {}
    assignment = []
    for partition in sorted(topic.partitions):
        low, high = consumer.get_watermark_offsets(
            TopicPartition(args.topic, partition), timeout=REQUEST_TIMEOUT
        )
        if high > low:
            ends[partition] = high
            assignment.append(TopicPartition(args.topic, partition, low))
    consumer.assign(assignment)

    values = []
    deadline = time.monotonic() + READ_TIMEOUT
    while ends:
        if time.monotonic() >= deadline:
            print(f"{len(ends)} partitions not at their end after {READ_TIMEOUT} s",
                  file=sys.stderr)
            return 1
        for message in consumer.consume(num_messages=10_000, timeout=0.1):
            partition = message.partition()
            error = message.error()
            if error is not None:
                # The fetch position reached the log's end: every message before it is here.
                if error.code() == KafkaError._PARTITION_EOF:
                    ends.pop(partition, None)
                    continue
                print(f"reading {args.topic}: {error}", file=sys.stderr)
                return 1
            end = ends.get(partition)
            offset = message.offset()
            if end is None or offset >= end:
                continue
            values.append(message.value())
            if offset + 1 >= end:
                del ends[partition]
    consumer.close()

    messages = len(values)
    frame = polars.read_ndjson(io.BytesIO(b"\n".join(values)))
    result = {"messages": messages, "rows": frame.height, "columns": frame.width}
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
