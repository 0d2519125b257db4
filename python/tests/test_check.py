"""`truthound_streaming.check` with the validation example's argument shapes, on frames of the
test broker and on frames made in Python."""

from __future__ import annotations

import asyncio
import json

import polars as pl
import pytest

import truthound_streaming as ts
from truthound_streaming import KafkaDataSource, KafkaDataSourceConfig


def events(p: int, n: int):  # type: ignore[no-untyped-def]
    """Event i of partition p: user_id null every 10th, action "jump" every 7th, timestamp
    "yesterday" every 5th."""
    out = []
    for i in range(n):
        value = {
            "user_id": None if i % 10 == 0 else p * 1000 + i,
            "action": "jump" if i % 7 == 0 else ["login", "logout", "purchase"][i % 3],
            "timestamp": "yesterday" if i % 5 == 0 else f"2024-01-01T00:00:{i % 60:02}Z",
        }
        out.append((None, json.dumps(value).encode()))
    return out


def every(k: int, n: int) -> int:
    return len(range(0, n, k))


def test_validation_example(broker, make_topic):  # type: ignore[no-untyped-def]
    n = 70
    topic = make_topic(2, lambda p: events(p, n))

    async def validate_kafka_topic():  # type: ignore[no-untyped-def]
        config = KafkaDataSourceConfig(
            bootstrap_servers=broker,
            topic=topic,
            max_messages=10000,
            include_metadata=True,
        )
        source = KafkaDataSource(config)
        async with source:
            lf = await source.to_polars_lazyframe_async()
            df = lf.collect()
            by_validators = ts.check(
                df,
                validators=["null", "type"],
                columns=["user_id", "action", "timestamp"],
            )
            by_rules = ts.check(
                df,
                rules={
                    "user_id": ["not_null"],
                    "action": [{"type": "allowed_values", "values": ["login", "logout", "purchase"]}],
                    "timestamp": ["not_null", {"type": "datetime"}],
                },
            )
        return df, by_validators, by_rules

    df, by_validators, by_rules = asyncio.run(validate_kafka_topic())
    assert len(df) == 2 * n
    nulls = {(i.column, i.check): i.count for i in by_validators.issues}
    assert nulls == {("user_id", "null"): 2 * every(10, n)}
    assert by_rules.rows == 2 * n
    counts = {(i.column, i.check): i.count for i in by_rules.issues}
    assert counts == {
        ("user_id", "not_null"): 2 * every(10, n),
        ("action", "allowed_values"): 2 * every(7, n),
        ("timestamp", "datetime"): 2 * every(5, n),
    }
    # Samples say where their message is: rows are by partition, then offset.
    action = next(i for i in by_rules.issues if i.check == "allowed_values")
    assert action.samples[0] == ts.Sample(value="jump", partition=0, offset=0)
    assert all(s.offset % 7 == 0 for s in action.samples)
    # The report as plain data.
    d = by_rules.to_dict()
    assert d["rows"] == 2 * n
    assert d["issues"][1]["samples"][0] == {"value": "jump", "partition": 0, "offset": 0}
    json.dumps(d)


def test_lazy_frames_and_python_made_frames():  # type: ignore[no-untyped-def]
    frame = pl.DataFrame(
        {
            "user_id": ["u1", None, "u3"],
            "amount": [5, 20000, 7],
        }
    )
    report = ts.check(
        frame.lazy(),
        rules={"amount": [{"type": "range", "min": 0, "max": 10000, "severity": "warning"}]},
    )
    assert [(i.column, i.check, i.count, i.severity) for i in report.issues] == [
        ("amount", "range", 1, "warning")
    ]
    assert report.issues[0].samples == [ts.Sample(value="20000")]
    # Chunked frames are read whole.
    chunked = pl.concat([frame, frame], rechunk=False)
    assert ts.check(chunked, validators=["null"], columns=["user_id"]).issues[0].count == 2


def test_mistakes_are_value_errors_before_the_frame_is_read():  # type: ignore[no-untyped-def]
    frame = pl.DataFrame({"a": [1]})
    with pytest.raises(ValueError, match="nope"):
        ts.check(frame, rules={"nope": ["not_null"]})
    with pytest.raises(ValueError, match="validators"):
        ts.check(frame, validators=["bogus"], columns=["a"])
    with pytest.raises(ValueError, match="rules"):
        ts.check(frame, rules={"a": ["no_such_rule"]})


def test_an_empty_frame_keeps_its_columns():  # type: ignore[no-untyped-def]
    frame = pl.DataFrame({"user_id": pl.Series([], dtype=pl.String)})
    report = ts.check(frame, rules={"user_id": ["not_null"]})
    assert report.rows == 0 and report.issues == []


def test_a_directory_of_plan_parts_is_checked_as_one_snapshot(broker, make_topic, tmp_path):  # type: ignore[no-untyped-def]
    from truthound_streaming import _native

    topic = make_topic(2, lambda p: events(p, 30))
    plan, parts = tmp_path / "plan.json", tmp_path / "parts"
    url = f"kafka://{broker}/{topic}"
    assert _native.run_cli(["truthound", "plan", url, "--shares", "2", "-q", "-o", str(plan)]) == 0
    for k in ("0", "1"):
        argv = ["truthound", "snapshot", "--plan", str(plan), "--share", k, "-q", "-o", str(parts)]
        assert _native.run_cli(argv) == 0
    report = ts.check(str(parts), rules={"user_id": ["not_null"]})
    assert report.rows == 60
    (issue,) = [i for i in report.issues if i.column == "user_id"]
    assert issue.count == 2 * every(10, 30)
    # The samples name their message.
    assert (issue.samples[0].partition, issue.samples[0].offset) == (0, 0)
    # A missing share is an error that says which.
    (parts / "part-1-of-2.json").unlink()
    with pytest.raises(ValueError, match="lacks share 1 of the plan's 2"):
        ts.check(parts, validators=["null"])
