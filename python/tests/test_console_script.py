"""The wheel's `truthound-streaming` console script runs the command line, with its exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def script() -> str:
    path = Path(sys.executable).parent / "truthound-streaming"
    assert path.is_file(), f"{path} is missing: the wheel installs it (pip install <wheel>)"
    return str(path)


def run(*args: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    return subprocess.run([script(), *args], capture_output=True, text=True, timeout=120)


def test_info_schema_snapshot_and_check(broker, make_topic, tmp_path):  # type: ignore[no-untyped-def]
    topic = make_topic(
        2,
        lambda p: [
            (None, json.dumps({"user_id": None if i % 5 == 0 else i, "n": i}).encode())
            for i in range(50)
        ],
    )
    url = f"kafka://{broker}/{topic}"
    info = run("info", url)
    assert info.returncode == 0, info.stderr
    assert topic in info.stdout
    schema = run("schema", url, "--quiet")
    assert schema.returncode == 0, schema.stderr
    assert "user_id" in schema.stdout
    out = tmp_path / "s.parquet"
    snapshot = run("snapshot", url, "--quiet", "-o", str(out))
    assert snapshot.returncode == 0, snapshot.stderr
    import polars as pl

    assert pl.read_parquet(out).height == 100
    # Issues at or above --fail-on: exit 1, the report as JSON.
    check = run("check", url, "--quiet", "--not-null", "user_id", "--json")
    assert check.returncode == 1, check.stderr
    report = json.loads(check.stdout)
    assert [(i["column"], i["count"]) for i in report["issues"]] == [("user_id", 20)]


def test_exit_codes_of_errors_and_help(broker):  # type: ignore[no-untyped-def]
    assert run("--version").returncode == 0
    assert run("info", "--help").returncode == 0
    assert run("no-such-command").returncode == 2
    missing = run("info", f"kafka://{broker}/no-such-topic-{os.getpid()}", "--timeout", "5")
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
