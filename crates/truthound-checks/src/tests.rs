//! Every rule and validator on small in-memory frames.

use polars::prelude::*;

use crate::{
    Bound, CheckOptions, Decoding, Error, MESSAGE_COLUMN, Report, Rule, RuleSet, RulesFormat,
    Scalar, Severity, Validator, check,
};

fn run(frame: &DataFrame, column: &str, rule: Rule) -> Report {
    check(frame, &CheckOptions::new().with_rule(column, rule)).unwrap()
}

fn count(report: &Report) -> u64 {
    report.issues.iter().map(|i| i.count).sum()
}

fn values(report: &Report) -> Vec<Option<String>> {
    report.issues[0]
        .samples
        .iter()
        .map(|s| s.value.clone())
        .collect()
}

#[test]
fn not_null_counts_nulls_with_locations() {
    let frame = df!(
        "user_id" => [Some("a"), None, Some("c"), None],
        "_kafka_partition" => [0i32, 1, 2, 0],
        "_kafka_offset" => [10i64, 11, 12, 13],
    )
    .unwrap();
    let report = run(&frame, "user_id", Rule::NotNull);
    assert_eq!(report.rows, 4);
    assert_eq!(report.checks, 1);
    let issue = &report.issues[0];
    assert_eq!((issue.count, issue.share), (2, 0.5));
    assert_eq!(issue.severity, Severity::Error);
    assert_eq!(issue.check, "not_null");
    let located: Vec<_> = issue
        .samples
        .iter()
        .map(|s| (s.value.clone(), s.partition, s.offset))
        .collect();
    assert_eq!(
        located,
        [(None, Some(1), Some(11)), (None, Some(0), Some(13))]
    );
}

#[test]
fn allowed_values_for_text_numbers_and_booleans() {
    let frame = df!(
        "action" => [Some("login"), Some("jump"), None, Some("logout"), Some("fly")],
        "code" => [1i64, 2, 3, 4, 1],
        "flag" => [true, true, false, true, true],
    )
    .unwrap();
    let allowed = |v: Vec<Scalar>| Rule::AllowedValues { values: v };
    let report = run(
        &frame,
        "action",
        allowed(vec!["login".into(), "logout".into()]),
    );
    assert_eq!(count(&report), 2, "nulls pass");
    assert_eq!(values(&report), [Some("jump".into()), Some("fly".into())]);
    let report = run(&frame, "code", allowed(vec![1.0.into(), 2.0.into()]));
    assert_eq!(count(&report), 2);
    let report = run(&frame, "flag", allowed(vec![Scalar::Bool(true)]));
    assert_eq!(count(&report), 1);
    let err = check(
        &frame,
        &CheckOptions::new().with_rule("code", allowed(vec!["x".into()])),
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidRule { .. }), "{err}");
}

#[test]
fn datetime_iso_8601_and_formats() {
    let frame = df!(
        "ts" => [
            Some("2024-05-01T12:30:00Z"),
            Some("2024-05-01 12:30:00.123+02:00"),
            Some("2024-05-01"),
            Some("2024-02-30"),
            Some("yesterday"),
            Some("2024-13-01T00:00:00Z"),
            None,
        ],
        "eu" => ["01/05/2024 12:30", "31/12/2024 00:00", "2024-05-01", "x", "01/05/2024 12:30", "01/05/2024 25:00", "01/05/2024 12:30"],
    )
    .unwrap();
    let report = run(&frame, "ts", Rule::Datetime { format: None });
    assert_eq!(count(&report), 3);
    assert_eq!(
        values(&report),
        [
            Some("2024-02-30".into()),
            Some("yesterday".into()),
            Some("2024-13-01T00:00:00Z".into())
        ]
    );
    let report = run(
        &frame,
        "eu",
        Rule::Datetime {
            format: Some("%d/%m/%Y %H:%M".into()),
        },
    );
    assert_eq!(count(&report), 3);
}

#[test]
fn datetime_with_an_offset_format() {
    let frame = df!("ts" => ["2024-05-01 12:30:00 +0200", "2024-05-01 12:30:00", "nope"]).unwrap();
    let report = run(
        &frame,
        "ts",
        Rule::Datetime {
            format: Some("%Y-%m-%d %H:%M:%S %z".into()),
        },
    );
    assert_eq!(count(&report), 2);
}

#[test]
fn unique_counts_repeats() {
    let frame = df!("id" => [Some(1i64), Some(2), Some(1), Some(1), None, None]).unwrap();
    let report = run(&frame, "id", Rule::Unique);
    assert_eq!(count(&report), 2);
    assert_eq!(report.issues[0].severity, Severity::Warning);
    assert_eq!(values(&report), [Some("1".into()), Some("1".into())]);
}

#[test]
fn range_on_numbers_and_text() {
    let frame = df!(
        "amount" => [Some(-1.0), Some(0.0), Some(50.5), Some(100.0), Some(100.5), None],
        "text" => [Some("5"), Some("abc"), Some("500"), Some("7.5"), None, Some("-3")],
    )
    .unwrap();
    let range = Rule::Range {
        min: Some(0.0.into()),
        max: Some(100.0.into()),
    };
    assert_eq!(count(&run(&frame, "amount", range.clone())), 2);
    let report = run(&frame, "text", range);
    assert_eq!(count(&report), 3, "a non-number is out of range");
    let only_max = Rule::Range {
        min: None,
        max: Some(50.0.into()),
    };
    assert_eq!(count(&run(&frame, "amount", only_max)), 3);
}

#[test]
fn range_on_dates_datetimes_times_and_decimals() {
    let days = Series::new(
        "d".into(),
        [Some(19_722_i32), Some(19_782), Some(19_800), None],
    )
    .cast(&DataType::Date)
    .unwrap();
    // 2024-02-29T12:00:00Z and the same in ms, one before and one after.
    let noon = 1_709_208_000_000_i64;
    let at = Series::new(
        "t".into(),
        [Some(noon - 1), Some(noon), Some(noon + 1), None],
    )
    .cast(&DataType::Datetime(
        TimeUnit::Milliseconds,
        Some(TimeZone::UTC),
    ))
    .unwrap();
    let hours = 3_600_000_000_000_i64;
    let clock = Series::new(
        "c".into(),
        [Some(7 * hours), Some(12 * hours), Some(20 * hours), None],
    )
    .cast(&DataType::Time)
    .unwrap();
    // Unscaled cents: -0.01, 19.99, 100.01.
    let price = Series::new("p".into(), [Some(-1_i128), Some(1_999), Some(10_001), None])
        .into_decimal(10, 2)
        .unwrap();
    let frame =
        DataFrame::new(4, vec![days.into(), at.into(), clock.into(), price.into()]).unwrap();

    let range = |min: Option<&str>, max: Option<&str>| Rule::Range {
        min: min.map(Bound::from),
        max: max.map(Bound::from),
    };
    // 2024-01-01 is day 19_723: the first date is before it, the last after 2024-03-01.
    assert_eq!(
        count(&run(
            &frame,
            "d",
            range(Some("2024-01-01"), Some("2024-03-01"))
        )),
        2
    );
    assert_eq!(count(&run(&frame, "d", range(Some("2024-02-29"), None))), 1);
    let report = run(
        &frame,
        "t",
        range(
            Some("2024-02-29T12:00:00Z"),
            Some("2024-02-29T13:00:00+01:00"),
        ),
    );
    assert_eq!(count(&report), 2, "one millisecond either side of noon");
    assert_eq!(count(&run(&frame, "t", range(Some("2024-02-29"), None))), 0);
    assert_eq!(
        count(&run(&frame, "c", range(Some("08:00"), Some("18:30:00")))),
        2
    );
    let cents = Rule::Range {
        min: Some(0.0.into()),
        max: Some(100.0.into()),
    };
    assert_eq!(count(&run(&frame, "p", cents)), 2, "-0.01 and 100.01");

    // The datetime rule passes on typed columns.
    for column in ["d", "t"] {
        let options = CheckOptions::new().with_rule(column, Rule::Datetime { format: None });
        assert_eq!(check(&frame, &options).unwrap().issues.len(), 0, "{column}");
    }
    // Bounds of the wrong kind name the fix.
    let options = CheckOptions::new().with_rule(
        "d",
        Rule::Range {
            min: Some(0.0.into()),
            max: None,
        },
    );
    let err = check(&frame, &options).unwrap_err().to_string();
    assert!(
        err.contains("ISO 8601 text such as \"2024-01-01\""),
        "{err}"
    );
    let options = CheckOptions::new().with_rule("t", range(Some("yesterday"), None));
    let err = check(&frame, &options).unwrap_err().to_string();
    assert!(
        err.contains("\"yesterday\" is not a date or date-time"),
        "{err}"
    );
    let options = CheckOptions::new().with_rule("p", range(Some("2024-01-01"), None));
    let err = check(&frame, &options).unwrap_err().to_string();
    assert!(err.contains("is not a number"), "{err}");
}

#[test]
fn range_bounds_parse_from_numbers_text_and_toml_dates() {
    let rules = RuleSet::parse(
        r#"
        [columns.day]
        rules = [{ type = "range", min = 2024-01-01, max = "2024-12-31" }]
        [columns.amount]
        rules = [{ type = "range", min = 0 }]
        "#,
        RulesFormat::Toml,
    )
    .unwrap();
    let specs: Vec<String> = rules
        .columns
        .values()
        .flat_map(|c| c.rules.iter().map(|r| r.rule.to_string()))
        .collect();
    assert_eq!(specs, ["range [2024-01-01, 2024-12-31]", "range [0, …]"]);
    let err = RuleSet::parse(
        r#"{"columns": {"a": {"rules": [{"type": "range", "min": true}]}}}"#,
        RulesFormat::Json,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("must be a number, or a date"), "{err}");
}

#[test]
fn regex_matches_whole_values() {
    let frame = df!("country" => [Some("US"), Some("DE"), Some("usa"), Some("XUS"), None]).unwrap();
    let report = run(
        &frame,
        "country",
        Rule::Regex {
            pattern: "[A-Z]{2}".into(),
        },
    );
    assert_eq!(count(&report), 2);
    let err = check(
        &frame,
        &CheckOptions::new().with_rule(
            "country",
            Rule::Regex {
                pattern: "([A-Z".into(),
            },
        ),
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidRule { .. }), "{err}");
}

#[test]
fn length_counts_characters() {
    let frame =
        df!("name" => [Some("ab"), Some("abcd"), Some("é"), Some("abcdefg"), None]).unwrap();
    let report = run(
        &frame,
        "name",
        Rule::Length {
            min: Some(2),
            max: Some(4),
        },
    );
    assert_eq!(count(&report), 2);
    assert_eq!(values(&report), [Some("é".into()), Some("abcdefg".into())]);
}

#[test]
fn null_validator_on_chosen_columns_and_skips_metadata_by_default() {
    let frame = df!(
        "a" => [Some(1i64), None, None],
        "b" => [None, Some("x"), Some("y")],
        "_kafka_key" => [None::<&str>, None, None],
    )
    .unwrap();
    let options = CheckOptions::new().with_validators([Validator::Null]);
    let report = check(&frame, &options).unwrap();
    assert_eq!(report.columns, ["a", "b"]);
    assert_eq!(
        report.issues.iter().map(|i| i.count).collect::<Vec<_>>(),
        [2, 1]
    );
    let report = check(&frame, &options.clone().with_columns(["b"])).unwrap();
    assert_eq!(report.issues.len(), 1);
    assert_eq!(report.issues[0].column, "b");
}

#[test]
fn type_validator_finds_the_minority_kinds() {
    // A field with mixed types, kept as JSON text by the adapter.
    let frame = df!(
        "id" => [Some("1"), Some("2"), Some("\"three\""), Some("4"), Some("true"), None],
        "plain" => ["x", "y", "z", "12", "w", "v"],
        "n" => [1i64, 2, 3, 4, 5, 6],
    )
    .unwrap();
    let report = check(
        &frame,
        &CheckOptions::new().with_validators([Validator::Type]),
    )
    .unwrap();
    assert_eq!(report.issues.len(), 2);
    let id = &report.issues[0];
    assert_eq!((id.column.as_str(), id.count), ("id", 2));
    assert_eq!(id.description, "type (mostly number; 1 string, 1 boolean)");
    assert_eq!(id.severity, Severity::Warning);
    let plain = &report.issues[1];
    assert_eq!((plain.column.as_str(), plain.count), ("plain", 1));
    assert_eq!(plain.samples[0].value.as_deref(), Some("12"));
}

#[test]
fn json_text_columns_compare_strings_without_quotes() {
    let frame = df!("action" => ["\"login\"", "\"jump\"", "3"]).unwrap();
    let options = CheckOptions::new()
        .with_json_text_columns(["action"])
        .with_rule(
            "action",
            Rule::AllowedValues {
                values: vec!["login".into()],
            },
        );
    let report = check(&frame, &options).unwrap();
    assert_eq!(count(&report), 2);
}

#[test]
fn struct_fields_by_path() {
    let os = Series::new("os".into(), [Some("ios"), Some("beos"), None]);
    let device = StructChunked::from_series("device".into(), 3, [os].iter())
        .unwrap()
        .into_series();
    let frame = DataFrame::new_infer_height(vec![device.into()]).unwrap();
    let report = run(
        &frame,
        "device.os",
        Rule::AllowedValues {
            values: vec!["ios".into(), "android".into()],
        },
    );
    assert_eq!(count(&report), 1);
    assert_eq!(report.issues[0].column, "device.os");
    assert!(matches!(
        check(
            &frame,
            &CheckOptions::new().with_rule("device.cpu", Rule::NotNull)
        ),
        Err(Error::UnknownColumn { .. })
    ));
}

#[test]
fn unknown_columns_and_unfit_rules_fail_before_work() {
    let frame = df!("a" => [1i64], "s" => ["x"]).unwrap();
    let err = check(
        &frame,
        &CheckOptions::new().with_rule("nope", Rule::NotNull),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown column \"nope\" (rule not_null); the frame has: a, s"
    );
    let err = check(
        &frame,
        &CheckOptions::new()
            .with_validators([Validator::Null])
            .with_columns(["zzz"]),
    )
    .unwrap_err();
    assert!(matches!(err, Error::UnknownColumn { .. }));
    let err = check(
        &frame,
        &CheckOptions::new().with_rule(
            "a",
            Rule::Length {
                min: Some(1),
                max: None,
            },
        ),
    )
    .unwrap_err();
    assert!(matches!(err, Error::UnsupportedType { .. }), "{err}");
}

#[test]
fn all_checks_run_in_one_lazy_pass() {
    let frame = df!("a" => [Some(1i64), None, Some(300)], "b" => ["x", "y", "x"]).unwrap();
    let options = CheckOptions::new()
        .with_validators([Validator::Null, Validator::Type])
        .with_rule(
            "a",
            Rule::Range {
                min: Some(0.0.into()),
                max: Some(100.0.into()),
            },
        )
        .with_rule("b", Rule::Unique);
    let report = check(frame.lazy(), &options).unwrap();
    assert_eq!(
        report.checks, 5,
        "null a, null b, type b, range a, unique b"
    );
    assert_eq!(report.issues.len(), 3);
    assert!(report.fails(Severity::Error));
    assert_eq!(report.max_severity(), Some(Severity::Error));
}

#[test]
fn empty_frames_have_no_issues() {
    let frame = df!("a" => Vec::<i64>::new()).unwrap();
    let report = run(&frame, "a", Rule::NotNull);
    assert_eq!(report.rows, 0);
    assert!(report.issues.is_empty());
    assert!(report.to_string().contains("no issues found"));
}

#[test]
fn rules_files_in_three_formats() {
    let toml = r#"
[columns.user_id]
rules = ["not_null"]
[columns.action]
rules = [{ type = "allowed_values", values = ["login", "logout", "purchase"] }]
[columns.timestamp]
rules = ["not_null", { type = "datetime", severity = "warning" }]
"#;
    let yaml = r#"
columns:
  user_id:
    rules: [not_null]
  action:
    rules:
      - { type: allowed_values, values: [login, logout, purchase] }
  timestamp:
    rules: [not_null, { type: datetime, severity: warning }]
"#;
    let json = r#"{"columns": {
  "user_id": {"rules": ["not_null"]},
  "action": {"rules": [{"type": "allowed_values", "values": ["login", "logout", "purchase"]}]},
  "timestamp": {"rules": ["not_null", {"type": "datetime", "severity": "warning"}]}
}}"#;
    let a = RuleSet::parse(toml, RulesFormat::Toml).unwrap();
    let b = RuleSet::parse(yaml, RulesFormat::Yaml).unwrap();
    let c = RuleSet::parse(json, RulesFormat::Json).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(a.len(), 4);
    assert_eq!(
        a.columns.keys().collect::<Vec<_>>(),
        ["user_id", "action", "timestamp"]
    );
    assert_eq!(
        a.columns["timestamp"].rules[1].severity(),
        Severity::Warning
    );
}

#[test]
fn rules_file_errors_point_at_the_line() {
    let toml =
        "[columns.user_id]\nrules = [\"not_null\"]\n[columns.action]\nrules = [\"not_nul\"]\n";
    let err = RuleSet::parse(toml, RulesFormat::Toml).unwrap_err();
    let Error::RulesFile { line, message, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(*line, Some(4), "{err}");
    assert!(message.contains("unknown rule `not_nul`"), "{message}");

    let toml = "[columns.amount]\nrules = [{ type = \"range\", minimum = 0 }]\n";
    let err = RuleSet::parse(toml, RulesFormat::Toml).unwrap_err();
    assert!(err.to_string().starts_with("rules:2:"), "{err}");
    assert!(err.to_string().contains("range"), "{err}");

    let yaml = "columns:\n  a:\n    rules:\n      - allowed_values\n";
    let err = RuleSet::parse(yaml, RulesFormat::Yaml).unwrap_err();
    let Error::RulesFile { line, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(*line, Some(4), "{err}");

    let json = "{\"columns\": {\n \"a\": {\"rules\": [\"nope\"]}}}";
    let err = RuleSet::parse(json, RulesFormat::Json).unwrap_err();
    assert!(err.to_string().starts_with("rules:2:"), "{err}");
}

#[test]
fn report_renders_as_table_and_json() {
    let frame = df!(
        "user_id" => [Some("a"), None],
        "_kafka_partition" => [0i32, 2],
        "_kafka_offset" => [5i64, 9],
    )
    .unwrap();
    let report = run(&frame, "user_id", Rule::NotNull);
    let table = report.to_string();
    assert!(
        table.starts_with("Checked 2 rows, 1 columns, 1 checks: 1 issue (1 error)."),
        "{table}"
    );
    assert!(table.contains("SEVERITY"), "{table}");
    assert!(table.contains("null (p2@9)"), "{table}");
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["rows"], 2);
    assert_eq!(json["issues"][0]["check"], "not_null");
    assert_eq!(json["issues"][0]["severity"], "error");
    assert_eq!(json["issues"][0]["share"], 0.5);
    assert_eq!(json["issues"][0]["samples"][0]["partition"], 2);
    assert_eq!(json["issues"][0]["samples"][0]["offset"], 9);
}

#[test]
fn undecodable_messages_are_an_error_issue_of_their_own() {
    let frame = df!(
        "user_id" => [Some("a"), None],
        "_kafka_partition" => [0i32, 0],
        "_kafka_offset" => [0i64, 3],
    )
    .unwrap();
    let decoding = Decoding::new(5)
        .with_undecodable(0, 1, "expected value at line 1 column 1")
        .with_undecodable(1, 7, "EOF while parsing")
        .with_undecodable(0, 2, "expected value at line 1 column 1");
    let options = CheckOptions::new()
        .with_rule("user_id", Rule::NotNull)
        .with_sample_size(2)
        .with_decoding(decoding);
    let report = check(&frame, &options).unwrap();
    assert_eq!(report.checks, 2);
    assert_eq!(report.issues.len(), 2);
    let issue = &report.issues[0];
    assert_eq!(issue.column, MESSAGE_COLUMN);
    assert_eq!(issue.check, "decodable");
    assert_eq!(issue.severity, Severity::Error);
    assert_eq!(issue.count, 3);
    assert_eq!(issue.share, 0.6);
    assert_eq!(
        issue.description,
        "decodable (first at p0@1: expected value at line 1 column 1)"
    );
    assert_eq!(issue.samples.len(), 2);
    assert_eq!(
        (issue.samples[1].partition, issue.samples[1].offset),
        (Some(1), Some(7))
    );
    assert_eq!(issue.samples[1].value.as_deref(), Some("EOF while parsing"));
    assert!(report.fails(Severity::Error));

    let table = report.to_string();
    assert!(table.contains("2 issues (2 error)"), "{table}");
    assert!(table.contains("<message>"), "{table}");
    assert!(table.contains("(p1@7)"), "{table}");
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["issues"][0]["column"], "<message>");
    assert_eq!(json["issues"][0]["check"], "decodable");
    assert_eq!(json["issues"][0]["count"], 3);
    assert_eq!(json["issues"][0]["samples"][0]["offset"], 1);
}

#[test]
fn decodable_passes_without_undecodable_messages_and_counts_as_a_check() {
    let frame = df!("a" => [1i64, 2]).unwrap();
    let options = CheckOptions::new()
        .with_validators([Validator::Null])
        .with_decoding(Decoding::new(2));
    let report = check(&frame, &options).unwrap();
    assert_eq!(report.checks, 2);
    assert!(report.issues.is_empty());
}

#[test]
fn a_frame_with_no_columns_still_reports_its_undecodable_messages() {
    // Every message failed to decode: the frame has no columns and no rows.
    let frame = DataFrame::empty();
    let options = CheckOptions::new()
        .with_validators([Validator::Null, Validator::Type])
        .with_decoding(
            Decoding::new(2)
                .with_undecodable(0, 0, "not JSON")
                .with_undecodable(0, 1, "not JSON"),
        );
    let report = check(&frame, &options).unwrap();
    assert_eq!(report.rows, 0);
    assert_eq!(report.issues.len(), 1);
    assert_eq!(report.issues[0].share, 1.0);
    assert!(report.fails(Severity::Error));
}

#[test]
fn the_spec_rules_mapping_is_a_rules_file_too() {
    let nested = RuleSet::parse(
        r#"
        [columns.user_id]
        rules = ["not_null"]
        [columns.action]
        rules = [{ type = "allowed_values", values = ["login", "logout", "purchase"] }]
        [columns.timestamp]
        rules = ["not_null", { type = "datetime" }]
        "#,
        RulesFormat::Toml,
    )
    .unwrap();
    let toml = r#"
        user_id = ["not_null"]
        action = [{ type = "allowed_values", values = ["login", "logout", "purchase"] }]
        timestamp = ["not_null", { type = "datetime" }]
    "#;
    let yaml = "user_id: [not_null]\naction:\n  - type: allowed_values\n    values: [login, logout, purchase]\ntimestamp: [not_null, {type: datetime}]\n";
    let json = r#"{"user_id": ["not_null"],
        "action": [{"type": "allowed_values", "values": ["login", "logout", "purchase"]}],
        "timestamp": ["not_null", {"type": "datetime"}]}"#;
    for (text, format) in [
        (toml, RulesFormat::Toml),
        (yaml, RulesFormat::Yaml),
        (json, RulesFormat::Json),
    ] {
        assert_eq!(RuleSet::parse(text, format).unwrap(), nested, "{format:?}");
    }
    // A column named `columns` holding a list is a column in the flat form.
    let odd = RuleSet::parse(r#"{"columns": ["not_null"]}"#, RulesFormat::Json).unwrap();
    assert_eq!(odd.columns.keys().collect::<Vec<_>>(), ["columns"]);
    // Errors of the flat form are located as well.
    let err = RuleSet::parse("user_id = [\"no_such_rule\"]\n", RulesFormat::Toml).unwrap_err();
    match err {
        Error::RulesFile { line, message, .. } => {
            assert_eq!(line, Some(1));
            assert!(message.contains("no_such_rule"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_streaming_engine_gives_the_same_report() {
    // Several of the streaming engine's morsels, so that order across them counts.
    let n = 120_000_i64;
    let frame = df!(
        "user_id" => (0..n).map(|i| (i % 7 != 3).then(|| format!("u{i}"))).collect::<Vec<_>>(),
        "amount" => (0..n).map(|i| (i % 50) as f64).collect::<Vec<_>>(),
        "action" => (0..n).map(|i| if i % 13 == 5 { "jump" } else { "click" }).collect::<Vec<_>>(),
        "_kafka_partition" => (0..n).map(|i| (i % 3) as i32).collect::<Vec<_>>(),
        "_kafka_offset" => (0..n).collect::<Vec<_>>(),
    )
    .unwrap();
    let options = CheckOptions::new()
        .with_rule("user_id", Rule::NotNull)
        .with_rule("user_id", Rule::Unique)
        .with_rule(
            "amount",
            Rule::Range {
                min: Some(Bound::from(0.0)),
                max: Some(Bound::from(40.0)),
            },
        )
        .with_rule(
            "action",
            Rule::AllowedValues {
                values: vec![Scalar::from("click")],
            },
        )
        .with_validators([Validator::Null, Validator::Type]);
    let in_memory = check(&frame, &options).unwrap();
    let streamed = check(frame.lazy(), &options.with_streaming(true)).unwrap();
    assert!(count(&in_memory) > 0);
    assert_eq!(streamed.to_json(), in_memory.to_json());
}
