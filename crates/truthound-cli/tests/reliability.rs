//! The `truthound` binary never loses anything silently and never leaves a broken file: flag
//! values it cannot use are usage errors (exit 2), messages that cannot be decoded are said
//! even with `--quiet` and fail `check`, `--on-malformed error` stops at the first one, an
//! output file is replaced only by a complete snapshot (an error or Ctrl-C keeps the old one
//! and leaves no temporary file), and a closed stdout pipe ends the command quietly.
//!
//! Needs `TRUTHOUND_TEST_BROKER`: run with `cargo xtask test -p truthound-cli --test
//! reliability` (it starts the broker). Without it the tests that read a topic fail, naming
//! `cargo xtask test`; they never skip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use polars::prelude::*;
use serde_json::{Value, json};
use truthound_kafka_client::{ClientConfig, KafkaClient, ProduceOptions, ProduceRecord};
use truthound_tests::{broker_address, unique_topic};

fn truthound() -> Command {
    Command::new(env!("CARGO_BIN_EXE_truthound"))
}

fn url(topic: &str) -> String {
    format!("kafka://{}/{topic}", broker_address())
}

/// A topic of one partition holding `values` in order (offset `i` is `values[i]`).
fn topic_of(prefix: &str, values: &[String]) -> String {
    partitioned_topic(prefix, 1, |_| values.to_vec())
}

/// `n` JSON events.
fn events(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| json!({"user_id": format!("u{i}"), "amount": i as f64 + 0.5}).to_string())
        .collect()
}

/// Ten JSON events with plain text at offsets 3 and 7.
fn mixed() -> Vec<String> {
    let mut values = events(10);
    values[3] = "hello, not JSON".to_owned();
    values[7] = "neither is this".to_owned();
    values
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts the exit code; returns (stdout, stderr).
fn expect(output: Output, code: i32) -> (String, String) {
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn read_parquet(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap()
}

#[test]
fn timeouts_that_cannot_be_used_are_usage_errors_naming_the_flag() {
    // No broker needed: the value is refused before anything connects.
    for bad in ["inf", "1e19", "-1", "nan", "0"] {
        let output = truthound()
            .args(["info", "kafka://127.0.0.1:1/t", "--timeout", bad])
            .output()
            .unwrap();
        let (_, stderr) = expect(output, 2);
        assert!(
            stderr.contains("--timeout")
                && stderr.contains(&format!("'{bad}'"))
                && stderr.contains("above 0 and at most 31536000"),
            "{bad}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{bad}: {stderr}");
    }
    for bad in ["1e19", "inf", "-1", "nan", "0"] {
        let output = truthound()
            .args([
                "info",
                &format!("kafka://127.0.0.1:1/t?consume_timeout={bad}"),
            ])
            .output()
            .unwrap();
        let (_, stderr) = expect(output, 2);
        assert!(stderr.contains("consume_timeout"), "{bad}: {stderr}");
        assert!(!stderr.contains("panicked"), "{bad}: {stderr}");
    }
}

#[test]
fn quiet_never_hides_that_messages_could_not_be_decoded() {
    let topic = topic_of("rel-quiet", &mixed());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.ndjson");
    for quiet in [false, true] {
        let output = command_with_quiet(quiet)
            .args(["snapshot", &url(&topic), "-o"])
            .arg(&file)
            .output()
            .unwrap();
        let (_, stderr) = expect(output, 0);
        assert!(
            stderr.contains("2 messages could not be decoded")
                && stderr.contains("partition 0 offset 3"),
            "quiet={quiet}: {stderr}"
        );
        // To stdout too, where the data is the output and the note goes to stderr.
        let output = command_with_quiet(quiet)
            .args(["snapshot", &url(&topic), "-o", "-"])
            .output()
            .unwrap();
        let (stdout, stderr) = expect(output, 0);
        assert_eq!(stdout.lines().count(), 8, "{stdout}");
        assert!(
            stderr.contains("2 messages could not be decoded"),
            "quiet={quiet}: {stderr}"
        );
    }
    // Nothing skipped: --quiet says nothing.
    let topic = topic_of("rel-quiet-clean", &events(5));
    let output = truthound()
        .args(["--quiet", "snapshot", &url(&topic), "-o"])
        .arg(&file)
        .output()
        .unwrap();
    let (_, stderr) = expect(output, 0);
    assert_eq!(stderr, "");
}

fn command_with_quiet(quiet: bool) -> Command {
    let mut command = truthound();
    if quiet {
        command.arg("--quiet");
    }
    command
}

#[test]
fn check_fails_on_a_topic_that_is_not_json() {
    let lines: Vec<String> = (0..6).map(|i| format!("plain text line {i}")).collect();
    let topic = topic_of("rel-text", &lines);
    let output = truthound().args(["check", &url(&topic)]).output().unwrap();
    let (stdout, _) = expect(output, 1);
    let row = stdout
        .lines()
        .find(|l| l.contains("<message>"))
        .unwrap_or_else(|| panic!("no <message> row:\n{stdout}"));
    assert!(
        row.starts_with("error") && row.contains("decodable (first at p0@0:"),
        "{row}"
    );
    assert!(row.contains(" 6 ") && row.contains("100.00%"), "{row}");
    assert!(row.contains("(p0@1)"), "{row}");

    let output = truthound()
        .args(["check", &url(&topic), "--json"])
        .output()
        .unwrap();
    let (stdout, _) = expect(output, 1);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["failed"], true);
    assert_eq!(report["skipped"], 6);
    let issue = &report["issues"][0];
    assert_eq!(issue["column"], "<message>");
    assert_eq!(issue["check"], "decodable");
    assert_eq!(issue["severity"], "error");
    assert_eq!(issue["count"], 6);
    assert_eq!(issue["share"], 1.0);
    assert_eq!(issue["samples"].as_array().unwrap().len(), 3);
    assert_eq!(issue["samples"][2]["partition"], 0);
    assert_eq!(issue["samples"][2]["offset"], 2);
    assert!(issue["samples"][0]["value"].is_string(), "{issue:#}");

    // The same topic read as text is fine.
    let output = truthound()
        .args(["check", &url(&topic), "--format", "string"])
        .output()
        .unwrap();
    expect(output, 0);
    // A rule on a column no message could make says why the column is missing.
    let output = truthound()
        .args(["check", &url(&topic), "--not-null", "user_id"])
        .output()
        .unwrap();
    let (_, stderr) = expect(output, 2);
    assert!(
        stderr.contains("6 messages could not be decoded") && stderr.contains("user_id"),
        "{stderr}"
    );
}

#[test]
fn check_counts_some_undecodable_messages_against_fail_on() {
    let topic = topic_of("rel-mixed", &mixed());
    let output = truthound()
        .args(["check", &url(&topic), "--json"])
        .output()
        .unwrap();
    let (stdout, _) = expect(output, 1);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["rows"], 8);
    let issue = &report["issues"][0];
    assert_eq!(
        (issue["check"].clone(), issue["count"].clone()),
        (json!("decodable"), json!(2))
    );
    assert_eq!(issue["share"], 0.2);
    let offsets: Vec<&Value> = issue["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["offset"])
        .collect();
    assert_eq!(offsets, [3, 7]);
    assert_eq!(report["issues"].as_array().unwrap().len(), 1, "{report:#}");
}

#[test]
fn on_malformed_error_stops_at_the_first_undecodable_message() {
    let topic = topic_of("rel-malformed", &mixed());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.parquet");
    let output = truthound()
        .args(["snapshot", &url(&topic), "--on-malformed", "error", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    let (_, stderr) = expect(output, 2);
    assert!(
        stderr.starts_with("error:") && stderr.contains("partition 0, offset 3"),
        "{stderr}"
    );
    assert_eq!(listing(dir.path()), Vec::<String>::new());
    let output = truthound()
        .args(["check", &url(&topic), "--on-malformed", "error"])
        .output()
        .unwrap();
    let (_, stderr) = expect(output, 2);
    assert!(stderr.contains("partition 0, offset 3"), "{stderr}");

    let output = truthound()
        .args(["snapshot", &url(&topic), "--on-malformed", "skip", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    let (_, stderr) = expect(output, 0);
    assert!(
        stderr.contains("2 messages could not be decoded"),
        "{stderr}"
    );
    assert_eq!(read_parquet(&file).height(), 8);
}

#[test]
fn a_failed_snapshot_keeps_the_old_file_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.parquet");
    std::fs::write(&file, "the previous snapshot").unwrap();
    let missing = unique_topic("rel-missing");
    for source in [url(&missing), "kafka://127.0.0.1:1/t".to_owned()] {
        let output = truthound()
            .args(["snapshot", &source, "--timeout", "5", "-o"])
            .arg(&file)
            .output()
            .unwrap();
        let (_, stderr) = expect(output, 2);
        assert!(stderr.starts_with("error:"), "{stderr}");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "the previous snapshot"
        );
        assert_eq!(listing(dir.path()), ["snap.parquet"], "{source}");
    }
    // CSV refuses nested columns after the read: still nothing changes.
    let nested = topic_of("rel-nested", &[json!({"a": {"b": 1}}).to_string()]);
    let csv = dir.path().join("snap.csv");
    std::fs::write(&csv, "old,csv\n").unwrap();
    let output = truthound()
        .args(["snapshot", &url(&nested), "-o"])
        .arg(&csv)
        .output()
        .unwrap();
    expect(output, 2);
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), "old,csv\n");
    assert_eq!(listing(dir.path()), ["snap.csv", "snap.parquet"]);

    // A complete snapshot replaces the file.
    let topic = topic_of("rel-replace", &events(25));
    let output = truthound()
        .args(["snapshot", &url(&topic), "-o"])
        .arg(&file)
        .output()
        .unwrap();
    expect(output, 0);
    assert_eq!(read_parquet(&file).height(), 25);
    assert_eq!(listing(dir.path()), ["snap.csv", "snap.parquet"]);
}

/// A topic of `partitions` partitions, `values(p)` produced to partition `p` in order.
fn partitioned_topic(prefix: &str, partitions: i32, values: impl Fn(i32) -> Vec<String>) -> String {
    let topic = unique_topic(prefix);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = KafkaClient::connect(ClientConfig::new([broker_address()]))
            .await
            .unwrap();
        client.create_topic(&topic, partitions, 1).await.unwrap();
        for p in 0..partitions {
            let records: Vec<ProduceRecord> = values(p)
                .into_iter()
                .map(|v| ProduceRecord::new(Bytes::from(v)))
                .collect();
            for chunk in records.chunks(2_000) {
                client
                    .produce(&topic, p, chunk.to_vec(), ProduceOptions::default())
                    .await
                    .unwrap();
            }
        }
    });
    topic
}

#[test]
fn long_snapshots_are_written_segment_by_segment_in_partition_then_offset_order() {
    // Two partitions of 70,000 messages: two segments each (65,536 messages a segment), read
    // at the same time and written as they finish. The last segment of partition 1 turns an
    // integer field into floats and brings a field of its own: the file's columns are those of
    // the whole snapshot all the same.
    const N: i64 = 70_000;
    let topic = partitioned_topic("rel-segments", 2, |p| {
        (0..N)
            .map(|o| {
                if p == 1 && o >= 66_000 {
                    json!({"p": p, "o": o as f64 + 0.5, "late": "yes"}).to_string()
                } else {
                    json!({"p": p, "o": o, "s": format!("v{o}")}).to_string()
                }
            })
            .collect()
    });
    let dir = tempfile::tempdir().unwrap();
    let read = |name: &str| -> DataFrame {
        let path = dir.path().join(name);
        let file = std::fs::File::open(&path).unwrap();
        match name.rsplit('.').next().unwrap() {
            "parquet" => ParquetReader::new(file).finish().unwrap(),
            "arrow" => IpcReader::new(file).finish().unwrap(),
            _ => JsonReader::new(file)
                .with_json_format(JsonFormat::JsonLines)
                .infer_schema_len(None)
                .finish()
                .unwrap(),
        }
    };
    let mut frames = Vec::new();
    for name in ["a.parquet", "b.parquet", "c.arrow", "d.ndjson"] {
        // `a` and `c` spill every segment to the segments' directory; the others keep them in
        // memory (the snapshot is far below the default budget).
        let spill_after = if matches!(name, "a.parquet" | "c.arrow") {
            "0"
        } else {
            "268435456"
        };
        let output = truthound()
            .args(["snapshot", &url(&topic), "--max-messages", "200000"])
            .args(["--include-metadata", "-o"])
            .arg(dir.path().join(name))
            .env("TRUTHOUND_SPILL_AFTER_BYTES", spill_after)
            .output()
            .unwrap();
        let (_, stderr) = expect(output, 0);
        assert!(stderr.contains("wrote 140000 rows, 9 columns"), "{stderr}");
        let frame = read(name);
        assert_eq!(frame.height(), 140_000, "{name}");
        let order: Vec<(i32, i64)> = frame
            .column("_kafka_partition")
            .unwrap()
            .as_materialized_series()
            .cast(&DataType::Int32)
            .unwrap()
            .i32()
            .unwrap()
            .into_no_null_iter()
            .zip(
                frame
                    .column("_kafka_offset")
                    .unwrap()
                    .as_materialized_series()
                    .i64()
                    .unwrap()
                    .into_no_null_iter(),
            )
            .collect();
        let expected: Vec<(i32, i64)> = (0..2).flat_map(|p| (0..N).map(move |o| (p, o))).collect();
        assert!(order == expected, "{name}: rows out of order");
        assert_eq!(
            frame.column("o").unwrap().dtype(),
            &DataType::Float64,
            "{name}"
        );
        assert_eq!(
            frame.column("late").unwrap().null_count(),
            140_000 - 4_000,
            "{name}"
        );
        frames.push(frame);
    }
    // Two runs give the same frame, spilled or not.
    assert!(frames[0].equals_missing(&frames[1]));
    // Only the files are left: no temporary file, no segments.
    assert_eq!(
        listing(dir.path()),
        ["a.parquet", "b.parquet", "c.arrow", "d.ndjson"]
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_removes_the_temporary_file_and_exits_130() {
    // A "broker" that accepts connections and never answers: the read waits until the signal.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.parquet");
    std::fs::write(&file, "the previous snapshot").unwrap();
    let child = truthound()
        .args([
            "snapshot",
            &format!("kafka://127.0.0.1:{port}/t"),
            "--timeout",
            "120",
            "-o",
        ])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The temporary file and the segments' directory beside the target show that the handler
    // has something to remove.
    let started = Instant::now();
    while !["tmp", "segments"].iter().all(|kind| {
        listing(dir.path())
            .iter()
            .any(|n| n.starts_with(&format!(".snap.parquet.{kind}-")))
    }) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no temporary file in {:?}",
            listing(dir.path())
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let (_, stderr) = expect(output, 130);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(listing(dir.path()), ["snap.parquet"]);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "the previous snapshot"
    );
}

#[test]
fn a_closed_stdout_pipe_ends_the_command_quietly() {
    // Well over a pipe's buffer in every format, so writes after the close fail.
    let topic = topic_of("rel-pipe", &events(20_000));
    for format in ["ndjson", "csv", "parquet", "ipc"] {
        let mut child = truthound()
            .args([
                "snapshot",
                &url(&topic),
                "-o",
                "-",
                "--output-format",
                format,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 1];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let output = child.wait_with_output().unwrap();
        let (_, stderr) = expect(output, 0);
        assert_eq!(stderr, "", "{format}");
    }
    // `check`'s table too.
    let mut child = truthound()
        .args(["check", &url(&topic), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let (_, stderr) = expect(output, 0);
    assert_eq!(stderr, "");
}

#[cfg(unix)]
#[test]
fn replacing_keeps_links_devices_and_permissions() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let topic = topic_of("rel-links", &events(4));
    let dir = tempfile::tempdir().unwrap();
    // A symbolic link keeps pointing at the file, which gets the new snapshot.
    let real = dir.path().join("real.parquet");
    let link = dir.path().join("link.parquet");
    std::fs::write(&real, "old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let output = truthound()
        .args(["snapshot", &url(&topic), "-o"])
        .arg(&link)
        .output()
        .unwrap();
    expect(output, 0);
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(read_parquet(&real).height(), 4);
    let mode = std::fs::metadata(&real).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o640, "{mode:o}");
    assert_eq!(listing(dir.path()), ["link.parquet", "real.parquet"]);
    // A device is written in place, never replaced.
    let output = truthound()
        .args(["snapshot", &url(&topic), "--output-format", "ndjson", "-o"])
        .arg("/dev/null")
        .output()
        .unwrap();
    expect(output, 0);
    let null = std::fs::metadata("/dev/null").unwrap();
    assert!(null.file_type().is_char_device());
}

#[test]
fn a_spill_bound_that_is_no_number_is_an_error_naming_it() {
    // Checked before any connection: no broker is needed, and no file is left.
    let dir = tempfile::tempdir().unwrap();
    let output = truthound()
        .args(["snapshot", "kafka://127.0.0.1:1/t", "--timeout", "5", "-o"])
        .arg(dir.path().join("x.arrow"))
        .env("TRUTHOUND_SPILL_AFTER_BYTES", "lots")
        .output()
        .unwrap();
    let (_, stderr) = expect(output, 2);
    assert!(
        stderr.contains("TRUTHOUND_SPILL_AFTER_BYTES=\"lots\" is not a number of bytes"),
        "{stderr}"
    );
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}
