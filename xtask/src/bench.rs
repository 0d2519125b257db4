//! `cargo xtask bench [decode|frame|e2e ...]` and `cargo xtask bench peers [...]`: the
//! benchmarks, in release mode, with a fresh test broker for those that read from one.
//!
//! - `decode`: record batch decoding per codec, ours and kafka-protocol's
//!   (`truthound-kafka-client`, criterion).
//! - `frame`: messages in memory to a DataFrame, ours and Polars' NDJSON reader
//!   (`truthound-polars`, criterion).
//! - `e2e`: a snapshot of a topic on the broker, raw and as a DataFrame, next to librdkafka
//!   reading the same topic (`truthound`, bench `e2e`).
//! - `peers`: the `truthound` command against librdkafka readers (Rust and Python, bare and into
//!   Polars), each a process of its own, with wall time and peak RSS (see [`peers`]).
//! - `shares`: one plan run by 1 and by 2 worker processes at once, 10M events (see
//!   [`shares`]).
//!
//! `cargo xtask bench` with no argument runs `decode`, `frame` and `e2e`. `peers` and `shares`
//! run only when asked, and on their own: they build librdkafka from source, fill millions of
//! messages and take minutes.

mod peers;
mod shares;

use std::process::ExitCode;

use crate::broker::{self, OwnedBroker};
use crate::{peer, util};

const ALL: [&str; 3] = ["decode", "frame", "e2e"];

pub(crate) fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    if let Some(("peers", rest)) = args.split_first().map(|(a, rest)| (a.as_str(), rest)) {
        return peers::run(rest);
    }
    if let Some(("shares", rest)) = args.split_first().map(|(a, rest)| (a.as_str(), rest)) {
        return shares::run(rest);
    }
    if let Some(alone) = args.iter().find(|a| *a == "peers" || *a == "shares") {
        anyhow::bail!("run `cargo xtask bench {alone}` on its own, not with other benchmarks");
    }
    let chosen: Vec<&str> = if args.is_empty() {
        ALL.to_vec()
    } else {
        args.iter().map(String::as_str).collect()
    };
    if let Some(bad) = chosen.iter().find(|c| !ALL.contains(c)) {
        anyhow::bail!(
            "unknown benchmark {bad:?}: choose from {}, or run `peers` alone",
            ALL.join(", ")
        );
    }
    let mut failed = false;
    for name in chosen {
        let ok = match name {
            "decode" => bench(&["-p", "truthound-kafka-client", "--bench", "decode"], &[])?,
            "frame" => bench(&["-p", "truthound-polars", "--bench", "frame"], &[])?,
            _ => {
                let nisshi = broker::ensure_installed()?;
                let python = peer::ensure_installed()?;
                let broker = OwnedBroker::start_memory(&nisshi)?;
                let env = [
                    ("TRUTHOUND_TEST_BROKER", broker.address()),
                    ("TRUTHOUND_TEST_PYTHON", python.display().to_string()),
                ];
                bench(&["-p", "truthound", "--bench", "e2e"], &env)?
            }
        };
        failed |= !ok;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn bench(args: &[&str], env: &[(&str, String)]) -> anyhow::Result<bool> {
    let mut command = util::cargo();
    command.arg("bench").args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    let _step = util::Step::start(format!("cargo bench {}", args.join(" ")));
    Ok(util::status(&mut command)?.success())
}
