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

import polars as pl

from truthound_streaming import KafkaDataSource, KafkaDataSourceConfig

BROKER = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TRUTHOUND_BROKER", "localhost:9092")
TOPIC = sys.argv[2] if len(sys.argv) > 2 else "demo-events"

# The demo's rules (docs/demo-rules.toml) as polars expressions, each true on a bad row:
# (column, rule, expression).
RULES = [
    ("user_id", "not_null", pl.col("user_id").is_null()),
    (
        "action",
        "allowed_values",
        ~pl.col("action").is_in(["login", "logout", "view", "add_to_cart", "purchase"]),
    ),
    (
        "timestamp",
        "datetime",
        pl.col("timestamp").is_not_null()
        & pl.col("timestamp").str.to_datetime(format="%+", strict=False).is_null(),
    ),
    ("amount", "range", ~pl.col("amount").is_between(0, 10000)),
]


async def validate_kafka_topic() -> None:
    config = KafkaDataSourceConfig(
        bootstrap_servers=BROKER,
        topic=TOPIC,
        max_messages=10000,
        include_key=False,  # the demo's messages have no keys
    )

    source = KafkaDataSource(config)

    async with source:
        lf = await source.to_polars_lazyframe_async()
        df = lf.collect()

    # Nothing is dropped silently: messages that did not decode are in the report.
    report = source.last_report
    assert report is not None
    print(f"{report.rows} rows; {report.tombstones} tombstones")
    print(f"{len(report.skipped)} messages skipped because they did not decode")
    for s in report.skipped[:5]:
        print(f"  skipped: partition {s.partition}, offset {s.offset}: {s.reason}")

    nulls = {column: n for column, n in df.null_count().row(0, named=True).items() if n}
    print(f"null counts: {nulls}")

    bad = {
        f"{column} {rule}": df.select(expr.sum()).item()
        for column, rule, expr in RULES
        if column in df.columns
    }
    for check, count in bad.items():
        print(f"  {check}: {count} bad rows")

    # --- truthound.check ------------------------------------------------------------------
    # The truthound library from PyPI (`pip install truthound`) checks the same frame with its
    # validators and rules, as in its documentation:
    #   import truthound as th
    #   result = th.check(df, validators=["null", "type"], columns=["user_id", "action"])
    # --------------------------------------------------------------------------------------

    issues = sum(1 for count in bad.values() if count) + (1 if report.skipped else 0)
    print(f"Validated {len(df)} messages, found {issues} issues")


if __name__ == "__main__":
    asyncio.run(validate_kafka_topic())
