"""The engine underneath the Python API: the same frame as the Rust command line's snapshot, the
GIL released while it works, and Ctrl-C stopping a blocking call."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import polars as pl
import pytest

from truthound_streaming import KafkaDataSource, KafkaDataSourceConfig, KafkaDataSourceError


def varied(p: int, i: int):  # type: ignore[no-untyped-def]
    """Types that change along the topic: integers then floats, a field that appears late, a
    struct that gains a field, nulls, tombstones."""
    if i % 97 == 96:
        return (b"k", None)
    value = {
        "n": i if i < 1500 else i + 0.5,
        "user": {"id": i, "tier": "gold"} if i % 3 else {"id": i},
        "tag": None if i % 11 == 0 else f"t{i % 5}",
    }
    if i > 2000:
        value["late"] = [i, i + 1]
    return (f"key-{i}".encode(), json.dumps(value).encode())


def cli_path() -> str:
    path = os.environ.get("TRUTHOUND_CLI")
    if not path or not os.path.isfile(path):
        pytest.fail(
            "TRUTHOUND_CLI does not name the truthound binary: run the tests with `cargo xtask "
            "test`, which builds it",
            pytrace=False,
        )
    return path


def test_the_frame_equals_the_command_lines_snapshot(broker, make_topic, tmp_path):  # type: ignore[no-untyped-def]
    topic = make_topic(3, lambda p: [varied(p, i) for i in range(2500)])
    config = KafkaDataSourceConfig(
        bootstrap_servers=broker, topic=topic, max_messages=100000, include_metadata=True
    )
    with KafkaDataSource(config) as source:
        frame = source.to_polars_dataframe()
        report = source.last_report
    out = tmp_path / "snapshot.parquet"
    subprocess.run(
        [
            cli_path(),
            "snapshot",
            f"kafka://{broker}/{topic}",
            "--include-metadata",
            "--quiet",
            "-o",
            str(out),
        ],
        check=True,
    )
    expected = pl.read_parquet(out)
    assert frame.schema == expected.schema
    assert frame.equals(expected)
    assert frame.height == 3 * (2500 - 2500 // 97)
    assert report is not None and report.tombstones == 3 * (2500 // 97)
    # Rows by partition, then offset.
    assert frame["_kafka_partition"].is_sorted()
    assert frame.schema["n"] == pl.Float64


def silent_server() -> socket.socket:
    """A TCP listener that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return server


def test_the_gil_is_released_while_a_call_blocks():  # type: ignore[no-untyped-def]
    server = silent_server()
    port = server.getsockname()[1]
    ticks = []
    stop = threading.Event()

    def tick() -> None:
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    ticker = threading.Thread(target=tick)
    source = KafkaDataSource(
        KafkaDataSourceConfig(
            bootstrap_servers=f"127.0.0.1:{port}", topic="t", consume_timeout=1.5
        )
    )
    ticker.start()
    started = time.monotonic()
    with pytest.raises(KafkaDataSourceError) as caught:
        source.connect()
    elapsed = time.monotonic() - started
    stop.set()
    ticker.join()
    server.close()
    # The error came within the timeout (and names the broker), and the other thread ran the
    # whole time: about one tick per 10 ms.
    assert elapsed < 5, elapsed
    assert f"127.0.0.1:{port}" in str(caught.value)
    during = [t for t in ticks if started < t < started + elapsed]
    assert len(during) > 0.5 * elapsed / 0.01, (len(during), elapsed)


def test_ctrl_c_interrupts_a_blocking_call():  # type: ignore[no-untyped-def]
    server = silent_server()
    port = server.getsockname()[1]
    script = textwrap.dedent(
        f"""
        import sys
        from truthound_streaming import KafkaDataSource, KafkaDataSourceConfig
        source = KafkaDataSource(KafkaDataSourceConfig(
            bootstrap_servers="127.0.0.1:{port}", topic="t", consume_timeout=120.0))
        print("connecting", flush=True)
        source.connect()
        print("connected", flush=True)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "connecting"
    time.sleep(0.5)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    try:
        _, stderr = child.communicate(timeout=10)
    finally:
        child.kill()
        server.close()
    assert time.monotonic() - sent < 5
    assert child.returncode != 0
    assert "KeyboardInterrupt" in stderr, stderr


def test_cancelling_an_awaiting_task_stops_the_call():  # type: ignore[no-untyped-def]
    import asyncio

    server = silent_server()
    port = server.getsockname()[1]
    source = KafkaDataSource(
        KafkaDataSourceConfig(bootstrap_servers=f"127.0.0.1:{port}", topic="t", consume_timeout=60.0)
    )

    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(source.connect_async(), timeout=0.5)

    started = time.monotonic()
    # asyncio.run waits for its executor's threads: the call must have stopped, not run 60 s.
    asyncio.run(main())
    server.close()
    assert time.monotonic() - started < 5


def test_scripts_with_awaitables_exit_cleanly(broker, user_events):  # type: ignore[no-untyped-def]
    topic = user_events(2, 20)
    script = textwrap.dedent(
        f"""
        import asyncio
        from truthound_streaming import KafkaDataSource, KafkaDataSourceConfig
        async def main():
            source = KafkaDataSource(KafkaDataSourceConfig(bootstrap_servers="{broker}", topic="{topic}"))
            async with source:
                lf = await source.to_polars_lazyframe_async()
                offsets = await source.get_topic_offsets_async()
            print(lf.collect().height, len(offsets["offsets"]))
        asyncio.run(main())
        """
    )
    # Interpreter shutdown right after the last awaitable, several times over.
    for _ in range(5):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["40", "2"]


def test_other_calls_go_on_while_messages_are_iterated(broker, user_events):  # type: ignore[no-untyped-def]
    topic = user_events(2, 300)
    # In a child process with a timeout: a call that waited for the iteration would hang.
    script = textwrap.dedent(
        f"""
        import asyncio
        from truthound_streaming import KafkaDataSource, KafkaDataSourceConfig
        config = KafkaDataSourceConfig(
            bootstrap_servers="{broker}", topic="{topic}", group_id="g-{topic}")
        with KafkaDataSource(config) as source:
            seen = 0
            for batch in source.iter_messages(batch_size=50, max_messages=600):
                seen += len(batch)
                source.commit_offsets()
                source.get_topic_offsets()
            source.commit_offsets()
            print(seen, source.get_committed_offsets())

        async def main():
            # Without the group: its committed offsets are the topic's end by now.
            source = KafkaDataSource(KafkaDataSourceConfig(bootstrap_servers="{broker}", topic="{topic}"))
            async with source:
                seen = 0
                async for batch in source.iter_messages_async(batch_size=64, max_messages=200):
                    seen += len(batch)
                    await source.get_topic_offsets_async()
                print(seen)
        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines == ["600 {0: 300, 1: 300}", "200"], done.stdout


def test_a_frame_without_columns(broker, make_topic):  # type: ignore[no-untyped-def]
    topic = make_topic(1, lambda p: [(None, b"{}") for _ in range(5)])
    config = KafkaDataSourceConfig(bootstrap_servers=broker, topic=topic, include_key=False)
    with KafkaDataSource(config) as source:
        frame = source.to_polars_dataframe()
        report = source.last_report
    assert frame.width == 0
    assert report is not None and report.rows == 5
