//! `cargo xtask demo`: the end-to-end demo — start a local broker, fill a demo topic, check it
//! with `truthound check` and the rules in `docs/demo-rules.toml`.
//!
//! Steps: build the test broker if the cache lacks it and start a fresh in-memory one on a free
//! port (owned by this process: it is stopped at the end, whatever the outcome, so nothing is
//! left running); build the CLI (`cargo build -p truthound-cli`); fill the topic `demo-events`
//! (3 partitions, 30,000 events with a documented share of bad rows, see `docs/demo-rules.toml`)
//! with the CLI's hidden `demo-fill` command; run `truthound check`, which prints the report and
//! exits with 1 because it finds the bad rows (expected here); say how to run the same check on
//! another Kafka.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::bail;

use crate::broker::{self, OwnedBroker};
use crate::util::{self, Step};

const TOPIC: &str = "demo-events";
const EVENTS: &str = "30000";
const RULES: &str = "docs/demo-rules.toml";

pub(crate) fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    if let Some(arg) = args.first() {
        bail!("unexpected argument `{arg}`: `cargo xtask demo` takes none");
    }
    let root = util::workspace_root();

    let broker = {
        let _step = Step::start("Start a local Kafka-compatible broker (nisshi, in memory)");
        let bin = broker::ensure_installed()?;
        OwnedBroker::start_memory(&bin)?
    };
    let address = broker.address();
    println!("Broker at {address} (log: {})", broker.log().display());

    {
        let _step = Step::start("Build the truthound CLI");
        util::run(util::cargo().args(["build", "--quiet", "-p", "truthound-cli"]))?;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| root.join("target"), PathBuf::from);
    let truthound = target.join("debug").join("truthound");
    if !truthound.is_file() {
        bail!("the CLI was built but {} is missing", truthound.display());
    }
    let url = format!("kafka://{address}/{TOPIC}");

    {
        let _step = Step::start(format!("Fill {TOPIC} with {EVENTS} events"));
        util::run(
            Command::new(&truthound)
                .args(["demo-fill", &url, "--count", EVENTS, "--partitions", "3"])
                .current_dir(&root),
        )?;
    }

    let status = {
        let _step = Step::start(format!("Check {TOPIC} against {RULES}"));
        util::status(
            Command::new(&truthound)
                .args(["check", &url, "--rules", RULES])
                .current_dir(&root),
        )?
    };
    match status.code() {
        Some(1) => println!(
            "\n`truthound check` exited with 1: it found the bad rows the demo planted (the counts \
             above are exact: 300 null user_id, 600 unknown action, 150 unparsable timestamp, \
             240 out-of-range amount; see {RULES})."
        ),
        Some(0) => bail!("`truthound check` found nothing, but the demo planted bad rows"),
        _ => bail!("`truthound check` failed ({status})"),
    }

    println!(
        "\nPoint the same command at your own Kafka:\n\n  \
         {bin} check kafka://BROKER:9092/YOUR-TOPIC --rules {RULES}\n\n\
         (`cargo run -p truthound-cli -- check ...` works too.) Add --json for machines, \
         --fail-on warning to be stricter, --max-messages N for a larger snapshot; SASL/TLS via \
         --security-protocol, --sasl-* and TRUTHOUND_SASL_PASSWORD (see `truthound check --help`).",
        bin = truthound.display()
    );
    // The demo's broker is not left running: stopping it prints where it was.
    drop(broker);
    Ok(ExitCode::SUCCESS)
}
