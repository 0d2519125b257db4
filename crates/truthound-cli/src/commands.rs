//! The commands: `info`, `schema`, `snapshot` and `check`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;
use tokio::runtime::Runtime;
use truthound_checks::{CheckOptions, Decoding, Rule, RuleSet, Severity, Validator};
use truthound_kafka::KafkaDataSource;
use truthound_polars::PolarsSourceExt;

use crate::output::{self, Destination, OutputFormat};
use crate::source::{SourceArgs, read_snapshot, write_snapshot};

/// `truthound info`: partitions, their offsets and the group's committed offsets.
pub(crate) async fn info(args: &SourceArgs) -> anyhow::Result<ExitCode> {
    let config = args.config(false)?;
    let mut source = KafkaDataSource::new(config)?;
    let info = source.topic_info().await?;
    let offsets = source.get_topic_offsets().await?;
    let committed = match &args.group {
        Some(_) => Some(source.get_committed_offsets().await?),
        None => None,
    };
    let total: i64 = offsets.values().map(|(b, e)| e - b).sum();
    let mut text = format!(
        "topic {}: {} partition{}, {total} message{}",
        info.topic,
        info.partition_count,
        if info.partition_count == 1 { "" } else { "s" },
        if total == 1 { "" } else { "s" }
    );
    let group_header = args
        .group
        .as_ref()
        .map_or(String::new(), |g| format!("  COMMITTED ({g})"));
    text += &format!(
        "\n{:>9}  {:>12}  {:>12}  {:>10}{group_header}\n",
        "PARTITION", "BEGINNING", "END", "MESSAGES"
    );
    for (partition, (begin, end)) in &offsets {
        let committed = committed.as_ref().map_or(String::new(), |c| {
            format!(
                "  {}",
                c.get(partition)
                    .filter(|o| **o >= 0)
                    .map_or("-".to_owned(), i64::to_string)
            )
        });
        text += &format!(
            "{partition:>9}  {begin:>12}  {end:>12}  {:>10}{committed}\n",
            end - begin
        );
    }
    crate::emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `truthound schema`: the schema inferred from the first messages.
pub(crate) async fn schema(args: &SourceArgs, _quiet: bool) -> anyhow::Result<ExitCode> {
    let config = args.config(false)?;
    let mut source = KafkaDataSource::new(config)?;
    let schema = source.get_schema().await?;
    crate::emit(&schema.to_string())?;
    Ok(ExitCode::SUCCESS)
}

/// Flags of `truthound snapshot`.
#[derive(Debug, Args)]
pub(crate) struct SnapshotArgs {
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    /// The output file; `-` for stdout. The format comes from the extension (.parquet,
    /// .csv, .ndjson/.jsonl, .arrow/.ipc/.feather) unless --output-format says. With --plan,
    /// the directory the share's part and manifest go to.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: PathBuf,
    /// A plan made by `truthound plan`: read one of its shares (--share) into
    /// DIR/part-K-of-N.parquet and its manifest DIR/part-K-of-N.json (-o DIR). The plan names
    /// the topic and how it is read; credentials come from the flags and the environment.
    #[arg(long, value_name = "PLAN")]
    pub(crate) plan: Option<PathBuf>,
    /// The share of --plan to read, from 0 (default: JOB_COMPLETION_INDEX, which a Kubernetes
    /// Indexed Job sets).
    #[arg(long, value_name = "K", env = "JOB_COMPLETION_INDEX")]
    pub(crate) share: Option<usize>,
    /// The output format (needed for stdout, which defaults to ndjson).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) output_format: Option<OutputFormat>,
    /// Only these data columns (top-level fields, comma-separated); the other fields' values
    /// are skipped while decoding. The key and metadata columns are kept as flags say.
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    pub(crate) columns: Vec<String>,
}

/// `truthound snapshot`: the snapshot to a file, written chunk by chunk as the segments of the
/// read are decoded (they wait beside the file until the read ends), so memory does not grow
/// with the snapshot.
pub(crate) fn snapshot(
    runtime: &Runtime,
    args: &SnapshotArgs,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    if let Some(plan) = &args.plan {
        return crate::parts::share_snapshot(runtime, args, plan, quiet);
    }
    // To an object store: the file is written locally and uploaded when complete.
    let output_text = args.output.to_string_lossy().into_owned();
    let remote = if crate::store::is_remote(&output_text) {
        let Some((parent, name)) = output_text
            .rsplit_once('/')
            .filter(|(p, n)| !n.is_empty() && crate::store::is_remote(p))
        else {
            anyhow::bail!(
                "-o {output_text} names no object: give its name, as in \
                 {}/snapshot.parquet (a directory of parts is for --plan)",
                output_text.trim_end_matches('/')
            );
        };
        let staging = crate::store::staging("the snapshot")?;
        let local = staging.path().join(name);
        Some((
            crate::store::Remote::open(parent)?,
            name.to_owned(),
            staging,
            local,
        ))
    } else {
        None
    };
    let output_path = remote.as_ref().map_or(&args.output, |(.., local)| local);
    let format = output::choose(output_path, args.output_format)?;
    let mut config = args.source.config(false)?;
    if !args.columns.is_empty() {
        config = config.with_columns(args.columns.clone());
    }
    let destination = Destination::open(output_path)?;
    let spill = destination.spill()?;
    let mut sink = destination.sink(format)?;
    let written = runtime
        .block_on(write_snapshot(config, quiet, spill.clone(), &mut sink))
        .map(|report| (report, sink.rows(), sink.columns()));
    drop(spill);
    let Some((report, rows, columns)) = destination.complete(sink, written)? else {
        // The reader of stdout has gone.
        return Ok(ExitCode::SUCCESS);
    };
    if let Some((remote, name, _staging, local)) = &remote {
        runtime.block_on(remote.upload(local, name))?;
    }
    if args.output.as_os_str() != "-" && !quiet {
        eprintln!(
            "wrote {rows} rows, {columns} columns to {} ({format:?}){}",
            args.output.display(),
            skipped_note(&report)
        );
    } else if !report.skipped.is_empty() {
        // --quiet hides progress, never lost data; on stdout the data is the output.
        eprintln!(
            "warning: {}",
            skipped_note(&report).trim_start_matches("; ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn skipped_note(report: &truthound_polars::DecodeReport) -> String {
    match report.skipped.first() {
        None => String::new(),
        Some(first) => format!(
            "; {} message{} could not be decoded and {} skipped (first: partition {} offset {}: {})",
            report.skipped.len(),
            if report.skipped.len() == 1 { "" } else { "s" },
            if report.skipped.len() == 1 {
                "was"
            } else {
                "were"
            },
            first.partition,
            first.offset,
            first.reason
        ),
    }
}

/// Flags of `truthound check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    /// A rules file: TOML, or YAML (.yaml/.yml) or JSON (.json). See docs/demo-rules.toml.
    #[arg(long, value_name = "FILE")]
    pub(crate) rules: Option<PathBuf>,
    /// A column that must not be null (repeatable).
    #[arg(long, value_name = "COLUMN")]
    pub(crate) not_null: Vec<String>,
    /// Validators to run: null, type (comma-separated). Without --rules, --not-null or
    /// --validators: null,type on every column.
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub(crate) validators: Vec<String>,
    /// The columns the validators run on (comma-separated; default: all but metadata).
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    pub(crate) columns: Vec<String>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Exit with 1 when an issue has this severity or worse: info, warning or error.
    #[arg(long, value_name = "SEVERITY", default_value = "error", value_parser = parse_severity)]
    pub(crate) fail_on: Severity,
    /// Sample values shown per issue.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub(crate) samples: usize,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
        .map_err(|e: truthound_checks::Error| e.to_string())
}

/// `truthound check`: the report, and an exit code for CI.
pub(crate) fn check(runtime: &Runtime, args: &CheckArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    // Everything about the checks is validated before the topic is read.
    let mut options = CheckOptions::new().with_sample_size(args.samples);
    if let Some(path) = &args.rules {
        options = options.with_rules(RuleSet::from_path(path)?);
    }
    for column in &args.not_null {
        options = options.with_rule(column.clone(), Rule::NotNull);
    }
    let validators = args
        .validators
        .iter()
        .map(|v| v.parse::<Validator>())
        .collect::<Result<Vec<_>, _>>()?;
    options = if validators.is_empty() && options.rules.is_empty() {
        options.with_validators([Validator::Null, Validator::Type])
    } else {
        options.with_validators(validators)
    };
    options = options.with_columns(args.columns.clone());
    if let Some(location) = args
        .source
        .url
        .as_deref()
        .filter(|u| crate::store::is_remote(u) || std::path::Path::new(u).is_dir())
    {
        return check_parts(args, options, location);
    }

    // The metadata columns locate the samples; fields no check reads are not decoded.
    let mut config = args.source.config(true)?;
    let unprojected = config.clone();
    let needed = options.needed_columns();
    let projected = needed.is_some();
    if let Some(columns) = needed {
        config = config.with_columns(columns);
    }
    let prefix = config.streaming.metadata_prefix.clone();
    let topic = config.topic.clone();
    let snapshot = runtime.block_on(read_snapshot(config, quiet))?;
    let json_text: Vec<String> = snapshot
        .report
        .notes
        .iter()
        .map(|n| n.path.join("."))
        .collect();
    let mut decoding = Decoding::new(snapshot.report.messages_seen() as u64);
    for skipped in &snapshot.report.skipped {
        decoding = decoding.with_undecodable(skipped.partition, skipped.offset, &skipped.reason);
    }
    options = options
        .with_metadata_prefix(prefix.clone())
        .with_json_text_columns(json_text)
        .with_decoding(decoding);
    let report = truthound_checks::check(&snapshot.frame, &options).or_else(|e| {
        let e = match e {
            truthound_checks::Error::UnknownColumn {
                column, context, ..
            } if projected => {
                // The frame held only the columns the checks name: list the topic's fields.
                let mut source = KafkaDataSource::new(unprojected)?;
                let schema = runtime.block_on(source.get_schema())?;
                let available = schema
                    .fields
                    .into_iter()
                    .map(|f| f.name)
                    .filter(|n| !n.starts_with(&prefix))
                    .collect();
                truthound_checks::Error::UnknownColumn {
                    column,
                    context,
                    available,
                }
            }
            other => other,
        };
        let err = anyhow::Error::from(e);
        // A column missing because its messages could not be decoded: say so.
        Err(match skipped_note(&snapshot.report).strip_prefix("; ") {
            Some(note) => err.context(format!("the checks could not run: {note}")),
            None => err,
        })
    })?;

    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("topic".to_owned(), json!(topic));
            map.insert("skipped".to_owned(), json!(snapshot.report.skipped.len()));
            map.insert("fail_on".to_owned(), json!(args.fail_on.as_str()));
            map.insert("failed".to_owned(), json!(report.fails(args.fail_on)));
        }
        crate::emit(&format!("{}\n", serde_json::to_string_pretty(&value)?))?;
    } else {
        crate::emit(&format!(
            "Topic {topic}: {} messages in the snapshot{}.\n{report}",
            report.rows,
            skipped_note(&snapshot.report)
        ))?;
    }
    Ok(if report.fails(args.fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `truthound check DIR/`: the parts of a plan, verified by their manifests, then checked as
/// one snapshot.
fn check_parts(
    args: &CheckArgs,
    options: CheckOptions,
    location: &str,
) -> anyhow::Result<ExitCode> {
    let given = args.source.reading_flags();
    if !given.is_empty() {
        anyhow::bail!(
            "{} with a directory of parts: they were read as their plan says",
            given.join(", ")
        );
    }
    let (report, parts) = crate::parts::check_parts_at(location, options)?;
    let skipped = match parts.skipped.first() {
        None => String::new(),
        Some((p, o, reason)) => format!(
            "; {} message{} could not be decoded (first: partition {p} offset {o}: {reason})",
            parts.skipped.len(),
            if parts.skipped.len() == 1 { "" } else { "s" }
        ),
    };
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("topic".to_owned(), json!(parts.topic));
            map.insert("parts".to_owned(), json!(parts.files.len()));
            map.insert("skipped".to_owned(), json!(parts.skipped.len()));
            map.insert("fail_on".to_owned(), json!(args.fail_on.as_str()));
            map.insert("failed".to_owned(), json!(report.fails(args.fail_on)));
        }
        crate::emit(&format!("{}\n", serde_json::to_string_pretty(&value)?))?;
    } else {
        crate::emit(&format!(
            "Topic {}: {} messages in {} parts{skipped}.\n{report}",
            parts.topic,
            report.rows,
            parts.files.len()
        ))?;
    }
    Ok(if report.fails(args.fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
