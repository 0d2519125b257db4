//! Project tasks, run as `cargo xtask <task>` (see `.cargo/config.toml`).
//!
//! The tasks build and run what the workspace needs around its crates: the Kafka-compatible test
//! broker (`nisshi`), the librdkafka interop peer (Python `confluent-kafka` in a virtualenv), the
//! test run with both, and the CI pipeline.
//!
//! # Layout
//!
//! - `broker`: install, start, stop and probe the test broker.
//! - `peer`: the Python virtualenv with `confluent-kafka` (librdkafka).
//! - `test`: start a fresh broker, run every test with it, stop it.
//! - `ci`: formatting, lints, tests, docs and the facade's feature matrix.
//! - `demo`: the end-to-end demo: a broker, a demo topic with bad rows, `truthound check`.
//! - `bench`: the benchmarks: decode, frame, e2e (against a fresh broker, next to librdkafka), and
//!   peers (the CLI against librdkafka readers, as processes; only when asked).
//! - `fuzz`: the cargo-fuzz targets in `fuzz/`, each for a fixed time, and their seed corpus.
//! - `util`: workspace root, cache directory, running commands.

mod bench;
mod broker;
mod ci;
mod demo;
mod fuzz;
mod peer;
mod test;
mod util;

use std::process::ExitCode;

const HELP: &str = "\
Usage: cargo xtask <task> [options]

Tasks:
  test [--spark] [CARGO TEST ARGS] [-- TEST BINARY ARGS]
                         Start a fresh test broker, run the tests with it, stop it.
                         Without package or target options: `cargo test --workspace
                         --all-targets`, then `cargo test --workspace --doc`.
                         With package options (-p NAME, --exclude NAME): the same two
                         runs for those packages. With target options (--lib, --test
                         NAME, --doc, ...): one run of exactly what was asked.
                         The Python tests (python/tests) run with the whole workspace
                         or -p truthound-python. --spark: also the Spark data source's
                         test (installs PySpark 4.3.0 into the test virtualenv; needs
                         Java 17+ on PATH), and the Python tests whatever the packages.
  broker install         Build the test broker (nisshi) into the cache, if missing.
  broker start [--port N] [--sqlite PATH]
                         Start a detached test broker (memory storage unless --sqlite)
                         and print its address.
  broker stop            Stop the broker that `broker start` started.
  broker status          Tell whether that broker is running.
  peer install           Create the Python virtualenv with confluent-kafka (librdkafka).
  ci                     fmt check, clippy -D warnings, tests, docs, facade features.
  demo                   The end-to-end demo: start a broker, fill `demo-events`, run
                         `truthound check` on it with docs/demo-rules.toml.
  bench [decode|frame|e2e]  The benchmarks, in release mode (all three by default).
  bench peers [--quick] [--with-10m] [--out FILE]
                         The CLI against librdkafka readers (Rust, Python; bare and into
                         Polars), each a process, on one fresh broker: wall time and peak
                         RSS, as a table (markdown in <target>/bench-peers.md). Heavy:
                         builds librdkafka, fills 4.2M messages (14.2M with --with-10m);
                         --quick: 2 runs per reader instead of 5.
  bench shares [--messages N] [--runs R] [--no-build] [--out FILE]
                         One plan run by 1 and by 2 `truthound snapshot --plan` workers at
                         once on N events (10M by default): wall time, and each worker's
                         wall time and peak RSS (markdown in <target>/bench-shares.md).
  fuzz [TARGET] [--seconds N] [--keep-going]
                         Run each cargo-fuzz target in fuzz/ (or one) for N seconds
                         (default 60), from a working corpus in the cache seeded with
                         fuzz/corpus/TARGET, under 2 GB memory limits; print executions,
                         new corpus entries and crash artifacts (fuzz/artifacts/TARGET)
                         per target; fail if one crashed. --keep-going: libFuzzer's fork
                         mode, which records a crash and goes on. Targets: responses,
                         frames, record_batches (AddressSanitizer), json_columns,
                         avro_columns (no sanitizer: Polars under ASan is too slow).
                         Needs nightly and cargo-fuzz (`cargo install cargo-fuzz`).
  fuzz --seed            Rewrite the committed seed corpus (fuzz/corpus) with the
                         crates' own encoders.
  help                   This text.

Cache directory: $TRUTHOUND_CACHE_DIR, else $XDG_CACHE_HOME/truthound, else ~/.cache/truthound.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let Some((task, rest)) = args.split_first() else {
        print!("{HELP}");
        return Ok(ExitCode::FAILURE);
    };
    match task.as_str() {
        "test" => test::run(rest),
        "broker" => broker::run(rest),
        "peer" => peer::run(rest),
        "ci" => ci::run(rest),
        "demo" => demo::run(rest),
        "bench" => bench::run(rest),
        "fuzz" => fuzz::run(rest),
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(ExitCode::SUCCESS)
        }
        other => anyhow::bail!("unknown task `{other}`; `cargo xtask help` lists the tasks"),
    }
}
