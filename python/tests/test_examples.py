"""The runnable examples (`python/examples`) on the demo's events, filled by the console script's
`demo-fill` as `cargo xtask demo` fills them."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
_counter = itertools.count()


def demo_topic(broker: str, count: int) -> str:
    topic = f"demo-events-{os.getpid()}-{next(_counter)}"
    script = Path(sys.executable).parent / "truthound-streaming"
    subprocess.run(
        [str(script), "demo-fill", f"kafka://{broker}/{topic}", "--count", str(count)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return topic


def example(name: str, broker: str, topic: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), broker, topic],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_basic_usage_example(broker):  # type: ignore[no-untyped-def]
    topic = demo_topic(broker, 3000)
    out = example("basic_usage.py", broker, topic)
    assert f"kafka:{topic}: 3000 rows" in out, out
    assert "user_id" in out


def test_validation_example(broker):  # type: ignore[no-untyped-def]
    topic = demo_topic(broker, 3000)
    out = example("validation_example.py", broker, topic)
    # The demo's bad rows over 3000 events (see truthound-cli's demo_fill.rs).
    for line in [
        "user_id not_null: 30 rows",
        "action allowed_values: 60 rows",
        "timestamp datetime: 15 rows",
        "amount range: 24 rows",
        "Validated 3000 messages, found 4 issues",
        "0 messages skipped",
    ]:
        assert line in out, out
