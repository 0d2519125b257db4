//! `truthound`: is what is on this Kafka topic any good? Topic info, inferred schemas, snapshots
//! to files, and data-quality checks that can gate a CI pipeline.
//!
//! The binary is `truthound`; the library is the same command line for other front ends (the
//! Python package's `truthound-streaming` console script), through [`main_with_args`].
//!
//! Every command takes a bounded, exact snapshot of a topic (`kafka://host:port/topic`), up to
//! `--max-messages` messages, through `truthound-kafka` and `truthound-polars`.
//!
//! Exit codes: 0 success (for `check`: nothing at or above `--fail-on`), 1 `check` found
//! issues at or above `--fail-on`, 2 usage, configuration, connection, authentication or other
//! errors, 130 (143) interrupted by SIGINT (SIGTERM).
//!
//! # Layout
//! - `source`: the flags shared by every command and the snapshot read, with its progress bar.
//! - `commands`: `info`, `schema`, `snapshot` and `check`.
//! - `parts`: `plan`, a plan's share to a part and its manifest, and the verification of a
//!   directory of parts.
//! - `store`: parts and snapshots on object stores (`s3://`, `gs://`, `az://`).
//! - `output`: writing a snapshot as Parquet, CSV, NDJSON or Arrow IPC, to stdout or to a file
//!   replaced only when complete.
//! - `interrupt`: Ctrl-C and SIGTERM remove an unfinished output file and exit 130 (143).
//! - `demo_fill`: the hidden `demo-fill` command that fills the demo topic.

mod commands;
mod demo_fill;
mod interrupt;
mod output;
mod parts;
mod source;
mod store;

pub use parts::{Parts, check_parts, check_parts_at, verify_parts};

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::{CheckArgs, SnapshotArgs};
use crate::source::SourceArgs;

const AFTER_HELP: &str = "\
Secrets and connection settings can also come from the environment:
  TRUTHOUND_SECURITY_PROTOCOL  TRUTHOUND_SASL_MECHANISM  TRUTHOUND_SASL_USERNAME
  TRUTHOUND_SASL_PASSWORD      TRUTHOUND_SASL_PASSWORD_FILE
  TRUTHOUND_SSL_CAFILE         TRUTHOUND_SSL_CERTFILE    TRUTHOUND_SSL_KEYFILE
Give passwords through TRUTHOUND_SASL_PASSWORD or --sasl-password-file: a password given as
--sasl-password shows in `ps` and in shell history.
Exit codes: 0 ok; 1 `check` found issues at or above --fail-on; 2 usage, connection,
authentication or other errors; 130 interrupted (Ctrl-C).";

/// Inspect, snapshot and check Kafka topics.
#[derive(Debug, Parser)]
#[command(name = "truthound", version, about, after_help = AFTER_HELP)]
struct Cli {
    /// No progress bar.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Partitions with their beginning and end offsets, and committed offsets for --group.
    Info(SourceArgs),
    /// The schema inferred from the first messages of the snapshot.
    Schema(SourceArgs),
    /// Write a snapshot of the topic to a file: Parquet, CSV, NDJSON or Arrow IPC; or one
    /// share of a plan (--plan, --share) to a directory.
    Snapshot(SnapshotArgs),
    /// Plan a snapshot for N workers: capture each partition's end once and write the offset
    /// ranges, split into N shares, as a JSON plan.
    Plan(parts::PlanArgs),
    /// Check the snapshot against rules and validators; print a report. URL may be a
    /// directory of a plan's parts, verified first.
    #[command(after_help = AFTER_HELP)]
    Check(CheckArgs),
    /// Fill a topic with the demo's events (used by `cargo xtask demo`).
    #[command(hide = true)]
    DemoFill(demo_fill::DemoFillArgs),
}

/// Runs the command line `args` (the program name first, as in `std::env::args_os`) and
/// returns its exit code. `--help`, `--version` and usage errors print and end the process
/// (clap's behaviour), as do Ctrl-C and SIGTERM (130, 143).
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// An exit code's number (`ExitCode` does not say it).
pub fn exit_code_number(code: ExitCode) -> u8 {
    (0..=u8::MAX)
        .find(|n| ExitCode::from(*n) == code)
        .unwrap_or(2)
}

/// Writes to stdout; a closed pipe (`truthound check ... | head`) is not an error.
pub(crate) fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    interrupt::install(&runtime)?;
    match cli.command {
        Command::Info(args) => runtime.block_on(commands::info(&args)),
        Command::Schema(args) => runtime.block_on(commands::schema(&args, cli.quiet)),
        Command::Snapshot(args) => commands::snapshot(&runtime, &args, cli.quiet),
        Command::Plan(args) => runtime.block_on(parts::plan(&args, cli.quiet)),
        Command::Check(args) => commands::check(&runtime, &args, cli.quiet),
        Command::DemoFill(args) => runtime.block_on(demo_fill::run(&args)),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;
    use truthound_streaming_core::OnMalformed;

    use super::{Cli, Command};

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(["truthound", "info", "kafka://b:9092/t"].iter().chain(args))
    }

    #[test]
    fn timeouts_are_positive_finite_and_at_most_a_year() {
        for bad in [
            "inf", "1e19", "-1", "nan", "0", "-0", "1e-10", "31536001", "soon", "",
        ] {
            let err = parse(&["--timeout", bad]).expect_err(bad);
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
            let text = err.to_string();
            assert!(
                text.contains("--timeout") && text.contains("above 0 and at most 31536000"),
                "{bad}: {text}"
            );
        }
        for (good, secs) in [("0.5", 0.5), ("60", 60.0), ("31536000", 31_536_000.0)] {
            let cli = parse(&["--timeout", good]).unwrap_or_else(|e| panic!("{good}: {e}"));
            let Command::Info(args) = cli.command else {
                panic!("not info")
            };
            assert_eq!(args.timeout.as_secs_f64(), secs);
        }
    }

    #[test]
    fn on_malformed_is_skip_or_error() {
        for (given, expected) in [("skip", OnMalformed::Skip), ("error", OnMalformed::Error)] {
            let cli = parse(&["--on-malformed", given]).unwrap_or_else(|e| panic!("{e}"));
            let Command::Info(args) = cli.command else {
                panic!("not info")
            };
            let config = args.config(false).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(config.streaming.on_malformed, expected);
        }
        // Without the flag, the URL's option holds.
        let cli = Cli::try_parse_from(["truthound", "info", "kafka://b:9092/t?on_malformed=error"])
            .unwrap_or_else(|e| panic!("{e}"));
        let Command::Info(args) = cli.command else {
            panic!("not info")
        };
        let config = args.config(false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.streaming.on_malformed, OnMalformed::Error);
        assert!(parse(&["--on-malformed", "ignore"]).is_err());
    }

    #[test]
    fn parsed_arguments_never_show_the_password() {
        let cli = Cli::try_parse_from([
            "truthound",
            "info",
            "kafka://b:9093/t",
            "--security-protocol",
            "SASL_SSL",
            "--sasl-mechanism",
            "PLAIN",
            "--sasl-username",
            "key",
            "--sasl-password",
            "pw-9c2e1d",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{cli:?}");
        assert!(
            shown.contains("key") && !shown.contains("pw-9c2e1d"),
            "{shown}"
        );
    }
}
