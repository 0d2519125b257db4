"""Validation Example: read a snapshot, see what could not be decoded, and check the frame.

    python python/examples/validation_example.py [BROKER [TOPIC]]

BROKER defaults to $TRUTHOUND_BROKER, else localhost:9092; TOPIC to demo-events, the topic
`cargo xtask demo` fills with events of which a known share is bad (see docs/demo-rules.toml).
To fill it on a broker of your own (`cargo xtask broker start` starts one and prints its
address):

    cargo run -p truthound-cli -- demo-fill kafka://BROKER/demo-events
"""

import asyncio
import os
import sys

import truthound_streaming as ts
from truthound_streaming import KafkaDataSource, KafkaDataSourceConfig

BROKER = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TRUTHOUND_BROKER", "localhost:9092")
TOPIC = sys.argv[2] if len(sys.argv) > 2 else "demo-events"


async def validate_kafka_topic() -> None:
    config = KafkaDataSourceConfig(
        bootstrap_servers=BROKER,
        topic=TOPIC,
        max_messages=10000,
        include_metadata=True,  # samples then say where their message is
        include_key=False,  # the demo's messages have no keys
    )

    source = KafkaDataSource(config)

    async with source:
        # Get LazyFrame
        lf = await source.to_polars_lazyframe_async()
        df = lf.collect()

        # Validate: validators on columns...
        report = ts.check(
            df,
            validators=["null", "type"],
            columns=["user_id", "action", "timestamp"],
        )
        print(f"validators: {[(i.column, i.check, i.count) for i in report.issues]}")

        # ...or rules per column (the same mapping is a rules file for `truthound check`).
        report = ts.check(
            df,
            rules={
                "user_id": ["not_null"],
                "action": [
                    {
                        "type": "allowed_values",
                        "values": ["login", "logout", "view", "add_to_cart", "purchase"],
                    }
                ],
                "timestamp": ["not_null", {"type": "datetime"}],
                "amount": [{"type": "range", "min": 0, "max": 10000}],
            },
        )
        for issue in report.issues:
            where = ", ".join(f"p{s.partition}@{s.offset}" for s in issue.samples[:3])
            print(f"  {issue.column} {issue.check}: {issue.count} rows ({where}, ...)")

        print(f"Validated {len(df)} messages, found {len(report.issues)} issues")

    # Nothing is dropped silently: messages that did not decode are in the read's report.
    decoded = source.last_report
    assert decoded is not None
    print(f"{len(decoded.skipped)} messages skipped because they did not decode")
    for s in decoded.skipped[:5]:
        print(f"  skipped: partition {s.partition}, offset {s.offset}: {s.reason}")

    # The truthound library from PyPI (`pip install truthound`) checks the same frame too:
    #   import truthound as th
    #   result = th.check(df)


if __name__ == "__main__":
    asyncio.run(validate_kafka_topic())
