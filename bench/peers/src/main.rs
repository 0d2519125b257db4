//! `truthound-bench-peers`: the librdkafka side of `cargo xtask bench peers`.
//!
//! The benchmark compares the `truthound` command with librdkafka readers, each run as its own
//! process against the same broker. This binary fills the topics and is two of those readers:
//!
//! ```text
//! truthound-bench-peers fill   --broker ADDR --topic T --workload events|small|wide --messages N --partitions P
//! truthound-bench-peers drain  --broker ADDR --topic T
//! truthound-bench-peers polars --broker ADDR --topic T
//! ```
//!
//! - `fill` creates the topic and produces `N` deterministic messages (see [`workload`]),
//!   round-robin over the partitions, lz4-compressed, idempotent, in large batches; it prints
//!   `{"messages":N,"bytes":B}` (bytes of values).
//! - `drain` is librdkafka's bare bounded read: every partition assigned from its low watermark
//!   and polled until the high watermark captured at the start; each payload is touched. Prints
//!   `{"messages":N,"bytes":B}`.
//! - `polars` is the same read with the values joined by newlines and read by Polars' NDJSON
//!   reader into a DataFrame. Prints `{"messages":N,"rows":R,"columns":C}`.
//!
//! It is not a member of the project's workspace (librdkafka is built from source, with make and
//! gcc): `cargo build --release --manifest-path bench/peers/Cargo.toml` builds it.
//!
//! # Layout
//!
//! - `main`: the command line.
//! - [`workload`]: the messages of each workload, from a seeded generator.
//! - [`fill`]: topic creation and the bulk producer.
//! - [`drain`]: the bounded consumer, bare and into Polars.

mod drain;
mod fill;
mod workload;

use std::process::ExitCode;

use workload::Workload;

const USAGE: &str = "\
Usage: truthound-bench-peers fill --broker ADDR --topic T --workload events|small|wide --messages N --partitions P
       truthound-bench-peers drain --broker ADDR --topic T
       truthound-bench-peers polars --broker ADDR --topic T";

/// An error for the user: what went wrong, as text.
type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("truthound-bench-peers: error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        return Err(USAGE.into());
    };
    match command.as_str() {
        "fill" => {
            let flags = Flags::parse(
                rest,
                &["broker", "topic", "workload", "messages", "partitions"],
            )?;
            let workload = Workload::parse(flags.required("workload")?)?;
            let messages: usize = flags.number("messages")?;
            let partitions: i32 = flags.number("partitions")?;
            let produced = fill::fill(
                flags.required("broker")?,
                flags.required("topic")?,
                workload,
                messages,
                partitions,
            )?;
            println!(
                r#"{{"messages":{},"bytes":{}}}"#,
                produced.messages, produced.bytes
            );
        }
        "drain" => {
            let flags = Flags::parse(rest, &["broker", "topic"])?;
            let drained = drain::drain(flags.required("broker")?, flags.required("topic")?)?;
            println!(
                r#"{{"messages":{},"bytes":{}}}"#,
                drained.messages, drained.bytes
            );
        }
        "polars" => {
            let flags = Flags::parse(rest, &["broker", "topic"])?;
            let read = drain::to_polars(flags.required("broker")?, flags.required("topic")?)?;
            println!(
                r#"{{"messages":{},"rows":{},"columns":{}}}"#,
                read.messages, read.rows, read.columns
            );
        }
        "help" | "-h" | "--help" => println!("{USAGE}"),
        other => return Err(format!("unknown command `{other}`\n{USAGE}").into()),
    }
    Ok(())
}

/// `--name value` pairs.
struct Flags(Vec<(String, String)>);

impl Flags {
    /// Reads `--name value` pairs; a name not in `allowed` is an error.
    fn parse(args: &[String], allowed: &[&str]) -> Result<Self> {
        let mut pairs = Vec::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument `{arg}`\n{USAGE}").into());
            };
            if !allowed.contains(&name) {
                return Err(format!("unknown flag `{arg}`\n{USAGE}").into());
            }
            let value = args
                .next()
                .ok_or_else(|| format!("--{name} needs a value"))?;
            pairs.push((name.to_owned(), value.clone()));
        }
        Ok(Self(pairs))
    }

    fn required(&self, name: &str) -> Result<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("--{name} is required\n{USAGE}").into())
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Result<T> {
        let value = self.required(name)?;
        value
            .parse()
            .map_err(|_| format!("--{name} needs a number, not {value:?}").into())
    }
}
