//! `cargo xtask bench [decode|frame|e2e ...]`: the benchmarks, in release mode, with a fresh
//! test broker for the end-to-end one.
//!
//! - `decode`: record batch decoding per codec, ours and kafka-protocol's
//!   (`truthound-kafka-client`, criterion).
//! - `frame`: messages in memory to a DataFrame, ours and Polars' NDJSON reader
//!   (`truthound-polars`, criterion).
//! - `e2e`: a snapshot of a topic on the broker, raw and as a DataFrame, next to librdkafka
//!   reading the same topic (`truthound`, bench `e2e`).

use std::process::ExitCode;

use crate::broker::{self, OwnedBroker};
use crate::{peer, util};

const ALL: [&str; 3] = ["decode", "frame", "e2e"];

pub(crate) fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let chosen: Vec<&str> = if args.is_empty() {
        ALL.to_vec()
    } else {
        args.iter().map(String::as_str).collect()
    };
    if let Some(bad) = chosen.iter().find(|c| !ALL.contains(c)) {
        anyhow::bail!("unknown benchmark {bad:?}: choose from {}", ALL.join(", "));
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
