"""The frame works with the truthound library (PyPI, 3.2): its `th.check` runs on a frame from
`to_polars_lazyframe_async().collect()`. `cargo xtask test` installs truthound 3.2 into the test
virtualenv (polars 1.x, which truthound requires) and runs this file there only."""

from __future__ import annotations

import asyncio
import json

import pytest

from truthound_streaming import KafkaDataSource, KafkaDataSourceConfig


def test_the_truthound_library_checks_our_frame(broker, make_topic, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    try:
        import truthound as th
    except ImportError:
        pytest.fail(
            "the truthound library is not installed: `cargo xtask test` installs truthound==3.2.0 "
            "into the test virtualenv (or pip install truthound==3.2.0)",
            pytrace=False,
        )
    topic = make_topic(
        2,
        lambda p: [
            (None, json.dumps({"user_id": None if i % 4 == 0 else i, "action": "login"}).encode())
            for i in range(40)
        ],
    )

    async def frame():  # type: ignore[no-untyped-def]
        source = KafkaDataSource(KafkaDataSourceConfig(bootstrap_servers=broker, topic=topic))
        async with source:
            lf = await source.to_polars_lazyframe_async()
        return lf.collect()

    df = asyncio.run(frame())
    # truthound writes its run artifacts under the working directory.
    monkeypatch.chdir(tmp_path)
    report = th.check(df)
    assert report.row_count == 80
    # Every fourth user id is null, and the messages have no keys.
    nulls = {i.column: i.count for i in report.issues if i.issue_type == "null"}
    assert nulls == {"user_id": 20, "_kafka_key": 80}
