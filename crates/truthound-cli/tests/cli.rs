//! The `truthound` binary against the test broker: every command, every output format read
//! back, exit codes, report counts, the JSON report's shape, and errors for bad input.
//!
//! Needs `TRUTHOUND_TEST_BROKER`: run with `cargo xtask test` (it starts the broker). Without it
//! the tests fail, naming `cargo xtask test`; they never skip.

// Helpers outside #[test] functions panic on purpose, like the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use assert_cmd::assert::OutputAssertExt;
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

/// Creates a topic with `partitions` partitions; event `i` goes to partition `i % partitions`.
fn topic_with(prefix: &str, partitions: i32, events: &[Value]) -> String {
    let topic = unique_topic(prefix);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = KafkaClient::connect(ClientConfig::new([broker_address()]))
            .await
            .unwrap();
        client.create_topic(&topic, partitions, 1).await.unwrap();
        for p in 0..partitions {
            let records: Vec<ProduceRecord> = events
                .iter()
                .enumerate()
                .filter(|(i, _)| *i as i32 % partitions == p)
                .map(|(_, e)| ProduceRecord::new(Bytes::from(e.to_string())))
                .collect();
            for chunk in records.chunks(500) {
                client
                    .produce(&topic, p, chunk.to_vec(), ProduceOptions::default())
                    .await
                    .unwrap();
            }
        }
    });
    topic
}

/// `n` flat events; the bad rows are: null user_id when `i % 10 == 3`, action "jump" when
/// `i % 20 == 5`, timestamp "not a time" when `i % 25 == 7`, amount 5000 when `i % 40 == 11`.
fn events(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "user_id": if i % 10 == 3 { Value::Null } else { json!(format!("u{i}")) },
                "action": if i % 20 == 5 { "jump" } else { ["login", "logout", "purchase"][i % 3] },
                "timestamp": if i % 25 == 7 {
                    "not a time".to_owned()
                } else {
                    format!("2026-11-01T10:{:02}:{:02}Z", (i / 60) % 60, i % 60)
                },
                "amount": if i % 40 == 11 { 5000.0 } else { (i % 100) as f64 + 0.5 },
            })
        })
        .collect()
}

fn bad(n: usize, m: usize, r: usize) -> u64 {
    (0..n).filter(|i| i % m == r).count() as u64
}

const RULES: &str = r#"
[columns.user_id]
rules = ["not_null"]
[columns.action]
rules = [{ type = "allowed_values", values = ["login", "logout", "purchase"] }]
[columns.timestamp]
rules = ["not_null", { type = "datetime" }]
[columns.amount]
rules = [{ type = "range", min = 0, max = 1000, severity = "warning" }]
"#;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn stdout_json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn issue<'a>(report: &'a Value, column: &str, check: &str) -> &'a Value {
    report["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["column"] == column && i["check"] == check)
        .unwrap_or_else(|| panic!("no {check} issue for {column} in {report:#}"))
}

#[test]
fn info_lists_partitions_offsets_and_committed_offsets() {
    let topic = topic_with("cli-info", 3, &events(30));
    let output = truthound().args(["info", &url(&topic)]).output().unwrap();
    output.clone().assert().success();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with(&format!("topic {topic}: 3 partitions, 30 messages\n")),
        "{text}"
    );
    assert!(text.contains("PARTITION"), "{text}");
    for p in 0..3 {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>()
                    == [&p.to_string(), "0", "10", "10"]),
            "{text}"
        );
    }
    let output = truthound()
        .args(["info", &url(&topic), "--group", "nobody"])
        .output()
        .unwrap();
    output.clone().assert().success();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("COMMITTED (nobody)"), "{text}");
}

#[test]
fn schema_prints_the_inferred_schema() {
    let topic = topic_with("cli-schema", 1, &events(10));
    let output = truthound().args(["schema", &url(&topic)]).output().unwrap();
    output.clone().assert().success();
    let text = String::from_utf8(output.stdout).unwrap();
    for field in ["user_id", "action", "timestamp", "amount: Float64"] {
        assert!(text.contains(field), "{field} missing from:\n{text}");
    }
}

#[test]
fn columns_select_fields_and_checks_decode_only_the_fields_they_read() {
    let n = 200;
    let topic = topic_with("cli-columns", 3, &events(n));
    let dir = tempfile::tempdir().unwrap();
    let read = |name: &str, extra: &[&str]| {
        let path = dir.path().join(name);
        truthound()
            .args(["snapshot", &url(&topic), "--include-metadata"])
            .args(extra)
            .arg("-o")
            .arg(&path)
            .assert()
            .success();
        ParquetReader::new(std::fs::File::open(&path).unwrap())
            .finish()
            .unwrap()
    };
    let full = read("full.parquet", &[]);
    let some = read("some.parquet", &["--columns", "amount,user_id,nothing"]);
    let names: Vec<&str> = some.get_column_names().iter().map(|c| c.as_str()).collect();
    assert_eq!(
        names,
        [
            // First-seen order (serde_json writes the events' keys sorted).
            "amount",
            "user_id",
            "_kafka_key",
            "_kafka_topic",
            "_kafka_partition",
            "_kafka_offset",
            "_kafka_timestamp"
        ]
    );
    assert!(some.equals_missing(&full.select(names.clone()).unwrap()));

    // A check that names its columns gives the same report as over the whole frame.
    let report = |extra: &[&str]| {
        let output = truthound()
            .args(["check", &url(&topic), "--json"])
            .args(extra)
            .output()
            .unwrap();
        stdout_json(&output)
    };
    let by_rule = report(&["--not-null", "user_id"]);
    assert_eq!(
        issue(&by_rule, "user_id", "not_null")["count"],
        bad(n, 10, 3)
    );
    let with_validators = report(&[
        "--not-null",
        "user_id",
        "--validators",
        "null",
        "--columns",
        "action",
    ]);
    assert_eq!(
        issue(&with_validators, "user_id", "not_null")["count"],
        bad(n, 10, 3)
    );
}

#[test]
fn snapshot_formats_read_back() {
    let n = 120;
    let topic = topic_with("cli-snap", 2, &events(n));
    let dir = tempfile::tempdir().unwrap();
    for name in ["s.parquet", "s.csv", "s.ndjson", "s.arrow"] {
        let path = dir.path().join(name);
        truthound()
            .args(["snapshot", &url(&topic), "--include-metadata", "-o"])
            .arg(&path)
            .assert()
            .success();
        let file = std::fs::File::open(&path).unwrap();
        let frame = match name {
            "s.parquet" => ParquetReader::new(file).finish().unwrap(),
            "s.csv" => CsvReader::new(file).finish().unwrap(),
            "s.ndjson" => JsonReader::new(file)
                .with_json_format(JsonFormat::JsonLines)
                .finish()
                .unwrap(),
            _ => IpcReader::new(file).finish().unwrap(),
        };
        assert_eq!(frame.height(), n, "{name}");
        let names: Vec<&str> = frame
            .get_column_names()
            .iter()
            .map(|c| c.as_str())
            .collect();
        for column in [
            "user_id",
            "action",
            "timestamp",
            "amount",
            "_kafka_partition",
            "_kafka_offset",
        ] {
            assert!(
                names.contains(&column),
                "{name}: {column} missing from {names:?}"
            );
        }
        let nulls = frame.column("user_id").unwrap().null_count() as u64;
        assert_eq!(nulls, bad(n, 10, 3), "{name}");
    }
}

#[test]
fn snapshot_to_stdout_and_by_flag() {
    let topic = topic_with("cli-stdout", 1, &events(25));
    let output = truthound()
        .args(["snapshot", &url(&topic), "-o", "-"])
        .output()
        .unwrap();
    output.clone().assert().success();
    let frame = JsonReader::new(Cursor::new(output.stdout))
        .with_json_format(JsonFormat::JsonLines)
        .finish()
        .unwrap();
    assert_eq!(frame.height(), 25);

    let output = truthound()
        .args([
            "snapshot",
            &url(&topic),
            "-o",
            "-",
            "--output-format",
            "parquet",
        ])
        .output()
        .unwrap();
    output.clone().assert().success();
    let frame = ParquetReader::new(Cursor::new(output.stdout))
        .finish()
        .unwrap();
    assert_eq!(frame.height(), 25);

    let dir = tempfile::tempdir().unwrap();
    truthound()
        .args(["snapshot", &url(&topic), "-o"])
        .arg(dir.path().join("s.unknown"))
        .assert()
        .code(2);
}

#[test]
fn check_counts_equal_the_bad_rows_produced() {
    let n = 400;
    let topic = topic_with("cli-check", 3, &events(n));
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "rules.toml", RULES);
    let output = truthound()
        .args(["check", &url(&topic), "--rules", &rules, "--json"])
        .output()
        .unwrap();
    let report = stdout_json(&output);
    assert_eq!(output.status.code(), Some(1), "{report:#}");
    assert_eq!(report["rows"], n as u64);
    assert_eq!(
        issue(&report, "user_id", "not_null")["count"],
        bad(n, 10, 3)
    );
    assert_eq!(
        issue(&report, "action", "allowed_values")["count"],
        bad(n, 20, 5)
    );
    assert_eq!(
        issue(&report, "timestamp", "datetime")["count"],
        bad(n, 25, 7)
    );
    let amount = issue(&report, "amount", "range");
    assert_eq!(amount["count"], bad(n, 40, 11));
    assert_eq!(amount["severity"], "warning");
    assert_eq!(
        report["issues"].as_array().unwrap().len(),
        4,
        "timestamp not_null passes"
    );
    // Samples locate their message: event i is in partition i % 3 at offset i / 3.
    for sample in issue(&report, "action", "allowed_values")["samples"]
        .as_array()
        .unwrap()
    {
        assert_eq!(sample["value"], "jump");
        let (p, o) = (
            sample["partition"].as_u64().unwrap(),
            sample["offset"].as_u64().unwrap(),
        );
        assert_eq!((o * 3 + p) % 20, 5, "{sample}");
    }

    // The same rules as YAML give the same report.
    let yaml = write(
        dir.path(),
        "rules.yaml",
        "columns:\n  user_id:\n    rules: [not_null]\n",
    );
    let output = truthound()
        .args(["check", &url(&topic), "--rules", &yaml, "--json"])
        .output()
        .unwrap();
    assert_eq!(
        issue(&stdout_json(&output), "user_id", "not_null")["count"],
        bad(n, 10, 3)
    );

    // And as the mapping the Python API's `rules=` takes: columns at the top level.
    let flat = write(
        dir.path(),
        "rules.json",
        r#"{"user_id": ["not_null"], "action": [{"type": "allowed_values", "values": ["login", "logout", "purchase"]}]}"#,
    );
    let output = truthound()
        .args(["check", &url(&topic), "--rules", &flat, "--json"])
        .output()
        .unwrap();
    let report = stdout_json(&output);
    assert_eq!(
        issue(&report, "user_id", "not_null")["count"],
        bad(n, 10, 3)
    );
    assert_eq!(
        issue(&report, "action", "allowed_values")["count"],
        bad(n, 20, 5)
    );
}

#[test]
fn check_json_report_shape() {
    let topic = topic_with("cli-json", 2, &events(50));
    let output = truthound()
        .args(["check", &url(&topic), "--not-null", "user_id", "--json"])
        .output()
        .unwrap();
    let report = stdout_json(&output);
    let keys: Vec<&String> = report.as_object().unwrap().keys().collect();
    for key in [
        "rows", "columns", "checks", "issues", "topic", "skipped", "fail_on", "failed",
    ] {
        assert!(keys.iter().any(|k| *k == key), "{key} missing: {report:#}");
    }
    assert_eq!(report["topic"], topic);
    assert_eq!(report["columns"], json!(["user_id"]));
    // not_null, and the decodable check that every report has.
    assert_eq!(report["checks"], 2);
    assert_eq!(report["failed"], true);
    let issue = &report["issues"][0];
    for key in [
        "column",
        "check",
        "description",
        "severity",
        "count",
        "share",
        "samples",
    ] {
        assert!(issue.get(key).is_some(), "{key} missing: {issue:#}");
    }
    assert_eq!(issue["count"], bad(50, 10, 3));
    assert_eq!(issue["share"], bad(50, 10, 3) as f64 / 50.0);
    let sample = &issue["samples"][0];
    assert!(sample["value"].is_null());
    assert!(
        sample["partition"].is_u64() && sample["offset"].is_u64(),
        "{sample}"
    );
}

#[test]
fn check_exit_codes_follow_fail_on() {
    let clean: Vec<Value> = (0..20)
        .map(|i| json!({"user_id": format!("u{i}"), "amount": 5000}))
        .collect();
    let topic = topic_with("cli-exit", 1, &clean);
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "r.toml",
        RULES.split("[columns.action]").next().unwrap(),
    );
    truthound()
        .args(["check", &url(&topic), "--rules", &rules])
        .assert()
        .code(0);
    // A warning: passes at the default --fail-on error, fails at --fail-on warning.
    let warn = write(
        dir.path(),
        "w.toml",
        "[columns.amount]\nrules = [{ type = \"range\", max = 100, severity = \"warning\" }]\n",
    );
    truthound()
        .args(["check", &url(&topic), "--rules", &warn])
        .assert()
        .code(0);
    truthound()
        .args([
            "check",
            &url(&topic),
            "--rules",
            &warn,
            "--fail-on",
            "warning",
        ])
        .assert()
        .code(1);
    // Without rules: the null and type validators on every column.
    let output = truthound()
        .args(["check", &url(&topic), "--json"])
        .output()
        .unwrap();
    let report = stdout_json(&output);
    assert_eq!(output.status.code(), Some(0), "{report:#}");
    assert_eq!(
        report["checks"], 4,
        "null × 2 columns, type × 1 text column, decodable: {report:#}"
    );
    // Usage errors.
    truthound()
        .args(["check", &url(&topic), "--fail-on", "fatal"])
        .assert()
        .code(2);
    truthound()
        .args(["check", &url(&topic), "--from", "yesterday"])
        .assert()
        .code(2);
}

#[test]
fn check_prints_a_table_and_no_progress_bar_when_piped() {
    let topic = topic_with("cli-table", 3, &events(60));
    let output = truthound()
        .args(["check", &url(&topic), "--not-null", "user_id"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains(&format!("Topic {topic}: 60 messages")),
        "{text}"
    );
    assert!(text.contains("SEVERITY"), "{text}");
    assert!(text.contains("not_null"), "{text}");
    assert!(
        output.stderr.is_empty(),
        "stderr is a pipe: no progress bar, got {:?}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn type_validator_finds_mixed_values() {
    let mut values = events(30);
    values[4]["user_id"] = json!(12345);
    values[9]["user_id"] = json!(true);
    let topic = topic_with("cli-type", 1, &values);
    let output = truthound()
        .args([
            "check",
            &url(&topic),
            "--validators",
            "type",
            "--columns",
            "user_id",
            "--json",
        ])
        .output()
        .unwrap();
    let report = stdout_json(&output);
    let issue = issue(&report, "user_id", "type");
    assert_eq!(issue["count"], 2, "{report:#}");
    assert_eq!(output.status.code(), Some(0), "type issues are warnings");
}

#[test]
fn errors_for_bad_input_are_actionable() {
    let topic = topic_with("cli-errors", 1, &events(10));
    let dir = tempfile::tempdir().unwrap();

    let rules = write(
        dir.path(),
        "bad.toml",
        "[columns.user_id]\nrules = [\"not_null\"]\n\n[columns.action]\nrules = [\"not_nul\"]\n",
    );
    let output = truthound()
        .args(["check", &url(&topic), "--rules", &rules])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("bad.toml:5:"), "{err}");
    assert!(err.contains("unknown rule `not_nul`"), "{err}");

    let output = truthound()
        .args(["check", &url(&topic), "--not-null", "userid"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("unknown column \"userid\""), "{err}");
    assert!(err.contains("user_id"), "lists the columns: {err}");

    let output = truthound()
        .args(["check", "kafka://127.0.0.1:1/whatever", "--timeout", "5"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("127.0.0.1:1"), "names the address: {err}");

    let output = truthound()
        .args(["info", &url("no-such-topic-here")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("does not exist"), "{err}");
    assert!(err.contains("topics on the cluster include"), "{err}");

    truthound()
        .args(["check", &url(&topic), "--rules"])
        .arg(dir.path().join("missing.toml"))
        .assert()
        .code(2);
}

#[test]
fn demo_fill_plants_the_documented_bad_rows() {
    let topic = unique_topic("cli-demo");
    let n = 1000;
    truthound()
        .args(["demo-fill", &url(&topic), "--count", &n.to_string()])
        .assert()
        .success();
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/demo-rules.toml");
    let output = truthound()
        .args(["check", &url(&topic), "--rules", rules, "--json"])
        .output()
        .unwrap();
    let report = stdout_json(&output);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(report["rows"], n as u64);
    assert_eq!(
        issue(&report, "user_id", "not_null")["count"],
        bad(n, 100, 7)
    );
    assert_eq!(
        issue(&report, "action", "allowed_values")["count"],
        bad(n, 50, 13)
    );
    assert_eq!(
        issue(&report, "timestamp", "datetime")["count"],
        bad(n, 200, 42)
    );
    assert_eq!(issue(&report, "amount", "range")["count"], bad(n, 125, 99));
    assert_eq!(report["issues"].as_array().unwrap().len(), 4, "{report:#}");
    let help = truthound().arg("--help").output().unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains("demo-fill"));
}

#[test]
fn csv_refuses_nested_columns_and_leaves_no_file() {
    let topic = topic_with("cli-nested", 1, &[json!({"device": {"os": "ios"}})]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.csv");
    let output = truthound()
        .args(["snapshot", &url(&topic), "-o"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("nested column \"device\""), "{err}");
    assert!(!path.exists());
}

/// A plain-HTTP schema registry on 127.0.0.1:0 that answers `GET /schemas/ids/3` with a
/// UserEvent schema when the request carries `Authorization: Basic {authorization}`, and 401
/// otherwise. It serves until the test process ends.
fn registry_with_basic_auth(authorization: &'static str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push(line);
            }
            let authorized = head.iter().any(|line| {
                line.split_once(':').is_some_and(|(name, value)| {
                    name.eq_ignore_ascii_case("authorization")
                        && value.trim() == format!("Basic {authorization}")
                })
            });
            let (status, body) = if !authorized {
                (
                    "401 Unauthorized",
                    json!({"error_code": 401, "message": "Unauthorized"}),
                )
            } else if head[0].starts_with("GET /schemas/ids/3 ") {
                (
                    "200 OK",
                    json!({"schema": r#"{"type": "record", "name": "UserEvent", "fields": [
                        {"name": "user_id", "type": "long"}, {"name": "action", "type": "string"}]}"#}),
                )
            } else {
                (
                    "404 Not Found",
                    json!({"error_code": 40403, "message": "not found"}),
                )
            };
            let body = body.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// A topic of three UserEvents in the Confluent wire format with schema id 3.
fn framed_avro_topic() -> String {
    let topic = unique_topic("cli-registry");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = KafkaClient::connect(ClientConfig::new([broker_address()]))
            .await
            .unwrap();
        client.create_topic(&topic, 1, 1).await.unwrap();
        // user_id i (zigzag varint), then "view" (length 4, zigzag 8).
        let records = (0..3u8)
            .map(|i| {
                ProduceRecord::new(Bytes::from(vec![
                    0,
                    0,
                    0,
                    0,
                    3,
                    i * 2,
                    8,
                    b'v',
                    b'i',
                    b'e',
                    b'w',
                ]))
            })
            .collect();
        client
            .produce(&topic, 0, records, ProduceOptions::default())
            .await
            .unwrap();
    });
    topic
}

#[test]
fn schema_registry_credentials_come_from_flags_files_and_the_environment() {
    const SECRET: &str = "cli-sr-secret-41";
    // base64("SRKEY:cli-sr-secret-41")
    let registry = registry_with_basic_auth("U1JLRVk6Y2xpLXNyLXNlY3JldC00MQ==");
    let topic = framed_avro_topic();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.ndjson");
    let password_file = write(dir.path(), "sr-password", &format!("{SECRET}\n"));
    let snapshot = |connection: &str, password_env: Option<&str>, extra: &[&str]| {
        let mut command = truthound();
        command
            .args([
                "snapshot",
                connection,
                "--format",
                "avro",
                "--schema-registry",
                &registry,
            ])
            .arg("-o")
            .arg(&out)
            .args(extra)
            .env_remove("TRUTHOUND_SCHEMA_REGISTRY_USER")
            .env_remove("TRUTHOUND_SCHEMA_REGISTRY_PASSWORD")
            .env_remove("TRUTHOUND_SCHEMA_REGISTRY_PASSWORD_FILE");
        if let Some(password) = password_env {
            command.env("TRUTHOUND_SCHEMA_REGISTRY_PASSWORD", password);
        }
        command.output().unwrap()
    };
    let rows = || {
        let text = std::fs::read_to_string(&out).unwrap();
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect::<Vec<_>>()
    };

    // The user as a flag, the password from the environment.
    let output = snapshot(
        &url(&topic),
        Some(SECRET),
        &["--schema-registry-user", "SRKEY"],
    );
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("wrote 3 rows"), "{err}");
    assert!(
        err.contains("warning: the schema registry password goes in clear text to http://"),
        "{err}"
    );
    assert!(!err.contains(SECRET), "{err}");
    assert_eq!(
        rows(),
        (0..3)
            .map(|i| json!({"_kafka_key": null, "user_id": i, "action": "view"}))
            .collect::<Vec<_>>()
    );

    // The user in the connection string, the password from a file.
    let connection = format!("{}?schema_registry_username=SRKEY", url(&topic));
    std::fs::remove_file(&out).unwrap();
    let output = snapshot(
        &connection,
        None,
        &["--schema-registry-password-file", &password_file],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(rows().len(), 3);

    // A wrong password: every message is skipped, the reason names the registry and the 401.
    let output = snapshot(
        &url(&topic),
        Some("wrong-sr-pw"),
        &["--schema-registry-user", "SRKEY"],
    );
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "; 3 messages could not be decoded and were skipped (first: partition 0 offset 0: \
             could not get Avro schema id 3 from {registry}/schemas/ids/3: HTTP 401: \
             Unauthorized (the registry refused the credentials"
        )),
        "{err}"
    );
    assert!(!err.contains("wrong-sr-pw"), "{err}");

    // A password without a user, and a password on the command line with a password file.
    let output = snapshot(&url(&topic), Some(SECRET), &[]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("needs both schema_registry_username and schema_registry_password"),
        "{err}"
    );
    assert!(!err.contains(SECRET), "{err}");
    let output = snapshot(
        &url(&topic),
        None,
        &[
            "--schema-registry-user",
            "SRKEY",
            "--schema-registry-password",
            SECRET,
            "--schema-registry-password-file",
            &password_file,
        ],
    );
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn avro_reader_schema_reads_values_as_that_schema() {
    // base64("SRKEY:pw")
    let registry = registry_with_basic_auth("U1JLRVk6cHc=");
    let topic = framed_avro_topic();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.ndjson");
    let reader = write(
        dir.path(),
        "reader.avsc",
        r#"{"type": "record", "name": "UserEvent", "fields": [
            {"name": "user_id", "type": "double"},
            {"name": "country", "type": "string", "default": "xx"}]}"#,
    );
    let snapshot = |reader: &str| {
        truthound()
            .args(["snapshot", &url(&topic), "--format", "avro"])
            .args([
                "--schema-registry",
                &registry,
                "--schema-registry-user",
                "SRKEY",
            ])
            .args(["--avro-reader-schema", reader])
            .env("TRUTHOUND_SCHEMA_REGISTRY_PASSWORD", "pw")
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap()
    };
    let output = snapshot(&reader);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // `user_id` widened, `action` left out, `country` from its default.
    assert_eq!(
        rows,
        (0..3)
            .map(|i| json!({"_kafka_key": null, "user_id": f64::from(i), "country": "xx"}))
            .collect::<Vec<_>>()
    );

    let output = snapshot(&dir.path().join("missing.avsc").display().to_string());
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("cannot read the Avro reader schema") && err.contains("missing.avsc"),
        "{err}"
    );
}

/// A topic of three Readings {sensor = "s<i>" (field 1), level = i (field 2)}: the second one
/// in the Confluent wire format with `schema_id` and index path [0], as Confluent's
/// ProtobufSerializer writes it; the others raw.
fn protobuf_topic(prefix: &str, schema_id: u8) -> String {
    let topic = unique_topic(prefix);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = KafkaClient::connect(ClientConfig::new([broker_address()]))
            .await
            .unwrap();
        client.create_topic(&topic, 1, 1).await.unwrap();
        let records = (0..3u8)
            .map(|i| {
                let mut payload = if i == 1 {
                    vec![0, 0, 0, 0, schema_id, 0]
                } else {
                    Vec::new()
                };
                payload.extend([0x0a, 2, b's', b'0' + i, 0x10, i]);
                ProduceRecord::new(Bytes::from(payload))
            })
            .collect();
        client
            .produce(&topic, 0, records, ProduceOptions::default())
            .await
            .unwrap();
    });
    topic
}

#[test]
fn protobuf_values_with_a_proto_file() {
    // Message 1 framed with schema id 9, which is not looked up: the schema is given.
    let topic = protobuf_topic("cli-protobuf", 9);
    let dir = tempfile::tempdir().unwrap();
    let proto = write(
        dir.path(),
        "reading.proto",
        "syntax = \"proto3\"; message Reading { string sensor = 1; int64 level = 2; }",
    );
    let out = dir.path().join("out.ndjson");
    let output = truthound()
        .args(["snapshot", &url(&topic), "--format", "protobuf"])
        .args(["--protobuf-schema", &proto])
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows,
        (0..3)
            .map(|i| json!({"sensor": format!("s{i}"), "level": i, "_kafka_key": null}))
            .collect::<Vec<_>>()
    );
    // A message name the schema does not have: exit 2, naming the ones it has.
    let output = truthound()
        .args(["schema", &url(&topic), "--format", "protobuf"])
        .args(["--protobuf-schema", &proto, "--protobuf-message", "Nope"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("has no message \"Nope\"; it has: Reading"),
        "{err}"
    );
    // The schema from a registry instead: message 1 is framed with schema id 1 there; the
    // raw ones are reported with their offsets.
    let registry = truthound_tests::registry::ConfluentRegistry::start();
    let proto_text = std::fs::read_to_string(&proto).unwrap();
    assert_eq!(
        registry.register("readings-value", "PROTOBUF", &proto_text),
        1
    );
    let framed = protobuf_topic("cli-protobuf-registry", 1);
    let output = truthound()
        .args(["snapshot", &url(&framed), "--format", "protobuf"])
        .args(["--schema-registry", registry.url(), "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows,
        [json!({"sensor": "s1", "level": 1, "_kafka_key": null})]
    );
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("2 messages could not be decoded") && err.contains("partition 0 offset 0"),
        "{err}"
    );
    assert_eq!(registry.requests("GET /schemas/ids/1"), 1);
    // Both a schema and a registry: which one is meant?
    let output = truthound()
        .args(["schema", &url(&framed), "--format", "protobuf"])
        .args([
            "--protobuf-schema",
            &proto,
            "--schema-registry",
            registry.url(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("are both set"), "{err}");
    // --format protobuf without a schema.
    let output = truthound()
        .args(["schema", &url(&topic), "--format", "protobuf"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("--protobuf-schema FILE"), "{err}");
}

#[test]
fn key_format_registry_kinds_need_the_registry() {
    for kind in ["avro", "protobuf"] {
        let output = truthound()
            .args([
                "snapshot",
                "kafka://127.0.0.1:1/t",
                "-o",
                "-",
                "--key-format",
                kind,
            ])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(
            err.contains(&format!(
                "key_deserializer {kind} needs schema_registry_url (--schema-registry URL)"
            )),
            "{err}"
        );
    }
}

/// Appends `events` to partition 0 of `topic`.
fn append(topic: &str, events: &[Value]) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = KafkaClient::connect(ClientConfig::new([broker_address()]))
            .await
            .unwrap();
        let records = events
            .iter()
            .map(|e| ProduceRecord::new(Bytes::from(e.to_string())))
            .collect();
        client
            .produce(topic, 0, records, ProduceOptions::default())
            .await
            .unwrap();
    });
}

/// `truthound snapshot --plan PLAN -o PARTS` with `extra` flags (the share, say).
fn share_run(plan: &Path, parts: &Path, extra: &[&str]) -> Command {
    let mut c = truthound();
    c.args(["snapshot", "--plan"])
        .arg(plan)
        .arg("-o")
        .arg(parts)
        .args(extra);
    c
}

fn read_parquet(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap()
}

#[test]
fn a_plan_read_by_three_workers_is_the_snapshot_and_check_verifies_the_parts() {
    let topic = topic_with("shares", 3, &events(300));
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let parts = dir.path().join("parts");
    let output = truthound()
        .args(["plan", &url(&topic), "--shares", "3", "-o"])
        .arg(&plan)
        .arg("--spark-offsets")
        .arg(dir.path().join("spark.json"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains("planned 300 offsets of 3 partitions in 3 shares"),
        "{err}"
    );
    let spark: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("spark.json")).unwrap())
            .unwrap();
    assert_eq!(
        spark["endingOffsets"],
        json!({&topic: {"0": 100, "1": 100, "2": 100}}).to_string()
    );
    // The single-process snapshot of what the plan covers, before the topic grows.
    let single = dir.path().join("single.parquet");
    truthound()
        .args(["snapshot", &url(&topic), "--include-metadata", "-o"])
        .arg(&single)
        .assert()
        .success();
    // Messages that arrive after the plan are not read by its shares.
    append(&topic, &events(40));

    // Three workers at once, as an engine runs them; one finds its share in the environment.
    let workers: Vec<_> = (0..3)
        .map(|k| {
            let mut c = share_run(&plan, &parts, &[]);
            if k == 2 {
                c.env("JOB_COMPLETION_INDEX", "2");
            } else {
                c.args(["--share", &k.to_string()]);
            }
            c.spawn().unwrap()
        })
        .collect();
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert!(out.status.success());
    }
    let part = |k: usize| parts.join(format!("part-{k}-of-3.parquet"));
    let union = concat(
        (0..3)
            .map(|k| read_parquet(&part(k)).lazy())
            .collect::<Vec<_>>(),
        UnionArgs::default(),
    )
    .unwrap()
    .sort(["_kafka_partition", "_kafka_offset"], Default::default())
    .collect()
    .unwrap();
    let single = read_parquet(&single);
    assert_eq!(union.height(), 300);
    assert!(union.equals_missing(&single), "{union}\n{single}");
    // Each share read about a third.
    for k in 0..3 {
        assert_eq!(read_parquet(&part(k)).height(), 100, "share {k}");
    }

    // A share run again gives the same part; one killed on its way leaves the old part.
    let before = std::fs::read(part(1)).unwrap();
    let mut killed = share_run(&plan, &parts, &["--share", "1"]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(30));
    let _ = killed.kill();
    let _ = killed.wait();
    assert_eq!(std::fs::read(part(1)).unwrap(), before);
    share_run(&plan, &parts, &["--share", "1"])
        .assert()
        .success();
    assert_eq!(std::fs::read(part(1)).unwrap(), before);

    // check verifies the parts, then checks them as one snapshot, samples located.
    let check = |dir: &Path| {
        truthound()
            .arg("check")
            .arg(dir)
            .args(["--not-null", "user_id", "--json"])
            .output()
            .unwrap()
    };
    let out = check(&parts);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["rows"], 300);
    assert_eq!(report["parts"], 3);
    let issue = &report["issues"][0];
    assert_eq!(issue["count"], bad(300, 10, 3));
    // Event 3 is the first without a user: partition 0, offset 1.
    assert_eq!(
        (
            &issue["samples"][0]["partition"],
            &issue["samples"][0]["offset"]
        ),
        (&json!(0), &json!(1)),
        "{issue}"
    );

    // A part changed after it was written, a missing share, and a share of another plan.
    let copy = dir.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(&parts).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("part-") {
            std::fs::copy(&path, copy.join(&name)).unwrap();
        }
    }
    let stderr = |out: std::process::Output| {
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let mut bytes = std::fs::read(copy.join("part-0-of-3.parquet")).unwrap();
    bytes.push(0);
    std::fs::write(copy.join("part-0-of-3.parquet"), &bytes).unwrap();
    let err = stderr(check(&copy));
    assert!(
        err.contains("part-0-of-3.parquet is not the file its manifest part-0-of-3.json describes"),
        "{err}"
    );
    std::fs::remove_file(copy.join("part-0-of-3.parquet")).unwrap();
    std::fs::remove_file(copy.join("part-0-of-3.json")).unwrap();
    let err = stderr(check(&copy));
    assert!(err.contains("lacks share 0 of the plan's 3"), "{err}");
    let other = dir.path().join("other.json");
    truthound()
        .args(["plan", &url(&topic), "--shares", "2", "-o"])
        .arg(&other)
        .assert()
        .success();
    share_run(&other, &copy, &["--share", "0"])
        .assert()
        .success();
    let err = stderr(check(&copy));
    assert!(err.contains("holds parts of 2 plans"), "{err}");

    // Shares need the plan's own settings, and a share the plan has.
    let out = share_run(&plan, &parts, &["--share", "3"])
        .output()
        .unwrap();
    let err = stderr(out);
    assert!(
        err.contains("share 3 is not in the plan, which has shares 0 to 2"),
        "{err}"
    );
    let out = share_run(&plan, &parts, &["--share", "0", "--format", "avro"])
        .output()
        .unwrap();
    let err = stderr(out);
    assert!(err.contains("--format with --plan"), "{err}");
    let out = share_run(&plan, &parts, &["--share", "0", "--max-messages", "5"])
        .output()
        .unwrap();
    let err = stderr(out);
    assert!(err.contains("--max-messages with --plan"), "{err}");
    assert_eq!(spark["assign"], json!({&topic: [0, 1, 2]}).to_string());
}

/// Three shares of a one-partition topic of `events` run into a directory of parts, then
/// `check PARTS` with `flags` and `--json`: its exit code and report (the directory with it).
fn check_three_shares(
    prefix: &str,
    events: &[Value],
    flags: &[&str],
) -> (Option<i32>, Value, tempfile::TempDir) {
    let topic = topic_with(prefix, 1, events);
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let parts = dir.path().join("parts");
    truthound()
        .args(["plan", &url(&topic), "--shares", "3", "-o"])
        .arg(&plan)
        .assert()
        .success();
    for k in ["0", "1", "2"] {
        share_run(&plan, &parts, &["--share", k]).assert().success();
    }
    let out = truthound()
        .arg("check")
        .arg(&parts)
        .args(flags)
        .arg("--json")
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), report, dir)
}

#[test]
fn parts_that_disagree_on_types_and_an_empty_share_are_checked_as_one_snapshot() {
    // Two messages in three shares: one share is empty, the others see different fields and
    // types (an integer, then a float and a new field).
    let (code, report, _dir) = check_three_shares(
        "sparse",
        &[json!({"n": 1}), json!({"n": 2.5, "tag": "x"})],
        &["--not-null", "n"],
    );
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["rows"], 2);
    assert_eq!(report["parts"], 3);
    assert_eq!(report["issues"], json!([]));
}

#[test]
fn parts_that_agree_on_types_are_checked_lazily_with_the_columns_a_share_lacks_as_nulls() {
    // Two messages in three shares: one share is empty, and only the second message has `tag`.
    let (code, report, _dir) = check_three_shares(
        "lazyparts",
        &[json!({"n": 1}), json!({"n": 2, "tag": "x"})],
        &["--not-null", "tag", "--not-null", "n"],
    );
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["rows"], 2);
    let issues = report["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0]["column"], "tag");
    assert_eq!(issues[0]["count"], 1);
    assert_eq!(
        (
            &issues[0]["samples"][0]["partition"],
            &issues[0]["samples"][0]["offset"]
        ),
        (&json!(0), &json!(0))
    );
}

/// moto's standalone S3 server, from the test python (`moto[server]`), on a free port; killed
/// on drop.
struct S3Server {
    child: std::process::Child,
    endpoint: String,
    log: tempfile::NamedTempFile,
}

impl S3Server {
    fn start() -> Self {
        let python = truthound_tests::python();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto's S3 server with {}: {e}; run `cargo xtask peer install`",
                    python.display()
                )
            });
        let mut server = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "moto's S3 server exited ({status}): {}\nInstall it with `cargo xtask peer \
                     install` (moto[server] in the test python)",
                    std::fs::read_to_string(server.log.path()).unwrap_or_default()
                );
            }
            assert!(
                std::time::Instant::now() < deadline,
                "moto's S3 server did not listen within 60 s: {}",
                std::fs::read_to_string(server.log.path()).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        server
    }

    /// The environment a worker finds its S3 in: the usual AWS variables.
    fn env(&self, command: &mut Command) {
        command
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1");
    }

    /// Runs a boto3 script with `s3` (a client of this server) and `sys.argv`; its stdout.
    fn boto3(&self, script: &str, args: &[&str]) -> String {
        let out = Command::new(truthound_tests::python())
            .arg("-c")
            .arg(format!(
                "import sys, boto3\ns3 = boto3.client('s3', endpoint_url='{}', \
                 aws_access_key_id='test', aws_secret_access_key='test', \
                 region_name='us-east-1')\n{script}",
                self.endpoint
            ))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "boto3: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn shares_write_their_parts_to_s3_and_check_reads_them_there() {
    let s3 = S3Server::start();
    s3.boto3("s3.create_bucket(Bucket='lake')", &[]);
    let topic = topic_with("s3parts", 3, &events(120));
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    truthound()
        .args(["plan", &url(&topic), "--shares", "2", "-o"])
        .arg(&plan)
        .assert()
        .success();
    let local = dir.path().join("parts");
    let remote = format!("s3://lake/runs/{topic}/");
    for k in ["0", "1"] {
        share_run(&plan, &local, &["--share", k]).assert().success();
        let mut c = share_run(&plan, Path::new(&remote), &["--share", k]);
        s3.env(&mut c);
        c.assert().success();
    }
    // The objects are the files a local directory gets, byte for byte.
    let listed = s3.boto3(
        "for o in s3.list_objects_v2(Bucket='lake', Prefix=sys.argv[1])['Contents']: \
         print(o['Key'])",
        &[&format!("runs/{topic}/")],
    );
    let mut keys: Vec<&str> = listed.lines().collect();
    keys.sort_unstable();
    let names = [
        "part-0-of-2.json",
        "part-0-of-2.parquet",
        "part-1-of-2.json",
        "part-1-of-2.parquet",
    ];
    assert_eq!(
        keys,
        names
            .iter()
            .map(|n| format!("runs/{topic}/{n}"))
            .collect::<Vec<_>>()
    );
    let fetched = dir.path().join("fetched");
    std::fs::create_dir(&fetched).unwrap();
    for name in names {
        s3.boto3(
            "s3.download_file('lake', sys.argv[1], sys.argv[2])",
            &[
                &format!("runs/{topic}/{name}"),
                fetched.join(name).to_str().unwrap(),
            ],
        );
        assert_eq!(
            std::fs::read(fetched.join(name)).unwrap(),
            std::fs::read(local.join(name)).unwrap(),
            "{name}"
        );
    }

    // check verifies and checks the parts where they are.
    let check = |location: &str| {
        let mut c = truthound();
        c.args(["check", location, "--not-null", "user_id", "--json"]);
        s3.env(&mut c);
        c.output().unwrap()
    };
    let out = check(&remote);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["rows"], 120);
    assert_eq!(report["parts"], 2);
    assert_eq!(report["issues"][0]["count"], bad(120, 10, 3));

    // A missing share is named; an empty prefix says what to run.
    s3.boto3(
        "s3.delete_object(Bucket='lake', Key=sys.argv[1])",
        &[&format!("runs/{topic}/part-1-of-2.json")],
    );
    let out = check(&remote);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lacks share 1 of the plan's 2"), "{err}");
    let out = check("s3://lake/nothing-here/");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("holds no parts"), "{err}");

    // A whole snapshot goes to an object too, and a prefix alone is refused.
    let key = format!("snapshots/{topic}.parquet");
    let mut c = truthound();
    c.args(["snapshot", &url(&topic), "-o", &format!("s3://lake/{key}")]);
    s3.env(&mut c);
    c.assert().success();
    let copy = dir.path().join("snapshot.parquet");
    s3.boto3(
        "s3.download_file('lake', sys.argv[1], sys.argv[2])",
        &[&key, copy.to_str().unwrap()],
    );
    assert_eq!(read_parquet(&copy).height(), 120);
    let mut c = truthound();
    c.args(["snapshot", &url(&topic), "-o", "s3://lake/snapshots/"]);
    s3.env(&mut c);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("names no object"), "{err}");
}
