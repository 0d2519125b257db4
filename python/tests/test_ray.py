"""The Ray Data datasource: a plan read by Ray tasks, one per share, locally with two CPUs."""

from __future__ import annotations

import polars as pl

from truthound_streaming import KafkaDataSource, KafkaDataSourceConfig


def test_ray_reads_a_plan_share_by_share(broker, user_events):  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import ray

    from truthound_streaming.ray import TruthoundKafkaDatasource

    topic = user_events(3, 25)
    config = KafkaDataSourceConfig(bootstrap_servers=broker, topic=topic, include_metadata=True)
    with KafkaDataSource(config) as source:
        plan = source.plan(shares=3)
        whole = source.to_polars_dataframe()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        ds = ray.data.read_datasource(TruthoundKafkaDatasource(plan, config))
        tables = ray.get(ds.to_arrow_refs())
    finally:
        ray.shutdown()
    frame = pl.from_arrow(pa.concat_tables(tables))
    assert isinstance(frame, pl.DataFrame)
    order = ["_kafka_partition", "_kafka_offset"]
    assert frame.sort(order).equals(whole.sort(order))
    assert frame.height == 75
