"""Basic Usage: a bounded, exact snapshot of a topic as a polars frame, and its schema.

    python python/examples/basic_usage.py [BROKER [TOPIC]]

BROKER defaults to $TRUTHOUND_BROKER, else localhost:9092; TOPIC to demo-events, the topic of
JSON events `cargo xtask demo` fills. To fill it on a broker of your own (`cargo xtask broker
start` starts one and prints its address):

    cargo run -p truthound-cli -- demo-fill kafka://BROKER/demo-events
"""

import asyncio
import os
import sys

from truthound_streaming import KafkaDataSource, KafkaDataSourceConfig

BROKER = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TRUTHOUND_BROKER", "localhost:9092")
TOPIC = sys.argv[2] if len(sys.argv) > 2 else "demo-events"


async def main() -> None:
    config = KafkaDataSourceConfig(
        bootstrap_servers=BROKER,
        topic=TOPIC,
        max_messages=10000,
    )

    source = KafkaDataSource(config)

    async with source:  # connects and fixes each partition's end offset
        schema = await source.get_schema_async()
        lf = await source.to_polars_lazyframe_async()
        offsets = await source.get_topic_offsets_async()

    df = lf.collect()
    print(f"{source.name}: {df.height} rows, offsets {offsets['offsets']}")
    print(schema)
    print(df.head(5))

    # The same without asyncio: every `..._async` method has a blocking twin.
    #   with KafkaDataSource(config) as source:
    #       df = source.to_polars_dataframe()


if __name__ == "__main__":
    asyncio.run(main())
