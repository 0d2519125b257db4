//! `cargo xtask fuzz [TARGET] [--seconds N] [--keep-going]` and `cargo xtask fuzz --seed`: the
//! cargo-fuzz targets in `fuzz/`, each for a fixed time, with a summary per target.
//!
//! The committed corpus (`fuzz/corpus/TARGET`, small seeds) is copied into a working corpus in
//! the cache (`fuzz/corpus/TARGET`), which keeps what the fuzzer adds from one run to the next;
//! the clone's corpus stays as committed. Crash inputs go to `fuzz/artifacts/TARGET/` in the
//! clone (git-ignored), where `cargo fuzz run TARGET FILE` replays them.
//!
//! cargo-fuzz and a nightly toolchain are required and never installed from here. The wire
//! client's targets build with AddressSanitizer; the column targets, which link Polars, without
//! a sanitizer (Polars under ASan builds and runs too slowly to be worth it).

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};

use crate::util::{self, Step};

/// A fuzz target: its name and whether it is built with AddressSanitizer (else none).
struct Target {
    name: &'static str,
    asan: bool,
}

const TARGETS: [Target; 5] = [
    Target {
        name: "responses",
        asan: true,
    },
    Target {
        name: "frames",
        asan: true,
    },
    Target {
        name: "record_batches",
        asan: true,
    },
    Target {
        name: "json_columns",
        asan: false,
    },
    Target {
        name: "avro_columns",
        asan: false,
    },
];

const DEFAULT_SECONDS: u64 = 60;

/// Crash artifacts named in the summary per target.
const MAX_ARTIFACTS_SHOWN: usize = 5;

/// libFuzzer's limits: an input that needs more memory than this (a length from the input
/// taken as an allocation size, say) is reported as a finding instead of swamping the machine.
const MEMORY_LIMIT_MB: &str = "2048";
/// Seconds one input may take before libFuzzer reports it as a timeout.
const INPUT_TIMEOUT_SECS: &str = "60";

pub(crate) fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let options = Options::parse(args)?;
    check_tools()?;
    if options.seed {
        write_seeds()?;
        return Ok(ExitCode::SUCCESS);
    }
    let chosen: Vec<&Target> =
        match &options.target {
            Some(name) => vec![TARGETS.iter().find(|t| t.name == name).with_context(|| {
                format!("unknown fuzz target `{name}`: choose from {}", names())
            })?],
            None => TARGETS.iter().collect(),
        };
    let mut results = Vec::new();
    for target in chosen {
        results.push(fuzz(target, &options)?);
    }
    println!("\nFuzzing summary ({} s per target):", options.seconds);
    println!(
        "{:<16} {:>8} {:>14} {:>8} {:>12}  result",
        "target", "seconds", "executions", "exec/s", "new entries"
    );
    for r in &results {
        let rate = if r.seconds > 0.0 {
            format!("{:.0}", r.executions.unwrap_or(0) as f64 / r.seconds)
        } else {
            "-".to_owned()
        };
        println!(
            "{:<16} {:>8.0} {:>14} {:>8} {:>12}  {}",
            r.target,
            r.seconds,
            r.executions
                .map_or_else(|| "?".to_owned(), |n| n.to_string()),
            rate,
            r.new_entries,
            if r.crashed { "CRASH" } else { "ok" },
        );
        // Fork mode can leave hundreds of artifacts of one finding: name a few.
        for artifact in r.artifacts.iter().take(MAX_ARTIFACTS_SHOWN) {
            println!("{:<16} artifact: {}", "", artifact.display());
        }
        if r.artifacts.len() > MAX_ARTIFACTS_SHOWN {
            println!(
                "{:<16} ... {} artifacts in all, in {}",
                "",
                r.artifacts.len(),
                r.artifacts[0].parent().unwrap_or(Path::new(".")).display()
            );
        }
        if r.crashed {
            println!("{:<16} log: {}", "", r.log.display());
        }
    }
    Ok(if results.iter().any(|r| r.crashed) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn names() -> String {
    TARGETS
        .iter()
        .map(|t| t.name)
        .collect::<Vec<_>>()
        .join(", ")
}

struct Options {
    target: Option<String>,
    seconds: u64,
    keep_going: bool,
    seed: bool,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut options = Options {
            target: None,
            seconds: DEFAULT_SECONDS,
            keep_going: false,
            seed: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--seconds" => {
                    let value = args.next().context("--seconds needs a number")?;
                    options.seconds = value
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .with_context(|| format!("--seconds {value}: not a positive number"))?;
                }
                "--keep-going" => options.keep_going = true,
                "--seed" => options.seed = true,
                other if other.starts_with('-') => {
                    bail!("unknown option `{other}`; `cargo xtask help` lists the options")
                }
                name if options.target.is_none() => options.target = Some(name.to_owned()),
                extra => bail!("unexpected argument `{extra}`: one target at most"),
            }
        }
        if options.seed && (options.target.is_some() || options.keep_going) {
            bail!("run `cargo xtask fuzz --seed` on its own");
        }
        Ok(options)
    }
}

/// A `cargo +nightly` command in `fuzz/`, without the variables that would tie it to the
/// toolchain running this xtask.
fn nightly_cargo() -> Command {
    let mut command = Command::new("cargo");
    command
        .arg("+nightly")
        .current_dir(util::workspace_root().join("fuzz"))
        .env_remove("CARGO")
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC");
    command
}

fn check_tools() -> anyhow::Result<()> {
    let quiet = |command: &mut Command| {
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !quiet(nightly_cargo().arg("--version")) {
        bail!("fuzzing needs a nightly toolchain: `rustup toolchain install nightly`");
    }
    if !quiet(nightly_cargo().args(["fuzz", "--version"])) {
        bail!("cargo-fuzz is not installed: `cargo install cargo-fuzz`");
    }
    Ok(())
}

/// Regenerates the committed seed corpus with `fuzz/examples/seeds.rs`.
fn write_seeds() -> anyhow::Result<()> {
    let _step = Step::start("Write the seed corpus (fuzz/corpus)");
    util::run(nightly_cargo().args([
        "run",
        "--quiet",
        "--no-default-features",
        "--features",
        "seeds",
        "--example",
        "seeds",
    ]))
}

/// The cargo-fuzz options that choose how a target is built (the same for build and run).
fn build_args(target: &Target) -> Vec<&'static str> {
    // 16 codegen units instead of cargo-fuzz's 1: builds of Polars and kafka-protocol take a
    // fraction of the time, for slightly slower fuzzing.
    let mut args = vec!["--codegen-units", "16"];
    if !target.asan {
        args.extend([
            "--sanitizer",
            "none",
            "--no-default-features",
            "--features",
            "columns",
        ]);
    }
    args
}

struct RunResult {
    target: &'static str,
    seconds: f64,
    executions: Option<u64>,
    new_entries: usize,
    crashed: bool,
    artifacts: Vec<PathBuf>,
    log: PathBuf,
}

fn fuzz(target: &Target, options: &Options) -> anyhow::Result<RunResult> {
    let root = util::workspace_root();
    let cache = util::cache_dir()?.join("fuzz");
    let corpus = cache.join("corpus").join(target.name);
    let seeds = root.join("fuzz").join("corpus").join(target.name);
    let artifacts = root.join("fuzz").join("artifacts").join(target.name);
    let log = cache.join("logs").join(format!("{}.log", target.name));
    for dir in [&corpus, &artifacts] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::create_dir_all(cache.join("logs"))?;
    copy_seeds(&seeds, &corpus)?;
    {
        let _step = Step::start(format!("Build fuzz target {}", target.name));
        util::run(
            nightly_cargo()
                .args(["fuzz", "build"])
                .args(build_args(target))
                .arg(target.name),
        )?;
    }

    let before = files(&corpus)?;
    let artifacts_before = files(&artifacts)?;
    let seconds = options.seconds.to_string();
    let mut command = nightly_cargo();
    command
        .args(["fuzz", "run"])
        .args(build_args(target))
        .arg(target.name)
        .arg(&corpus)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-rss_limit_mb={MEMORY_LIMIT_MB}"))
        .arg(format!("-malloc_limit_mb={MEMORY_LIMIT_MB}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECS}"))
        .arg("-print_final_stats=1");
    if options.keep_going {
        // Fork mode: a crash, an out-of-memory or a timeout is recorded and fuzzing goes on.
        command.args([
            "-fork=1",
            "-ignore_crashes=1",
            "-ignore_ooms=1",
            "-ignore_timeouts=1",
        ]);
    }
    let out = File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    command.stdout(out.try_clone()?).stderr(out);
    let step = Step::start(format!(
        "Fuzz {} for {seconds} s (log: {})",
        target.name,
        log.display()
    ));
    let started = Instant::now();
    let status = util::status(&mut command)?;
    let elapsed = started.elapsed().as_secs_f64();
    drop(step);

    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let new_artifacts: Vec<PathBuf> = files(&artifacts)?
        .difference(&artifacts_before)
        .map(|name| artifacts.join(name))
        .collect();
    let crashed = !status.success() || !new_artifacts.is_empty();
    if crashed {
        println!("{}", util::tail(&log, 40));
    }
    Ok(RunResult {
        target: target.name,
        seconds: elapsed,
        executions: executions(&text),
        new_entries: files(&corpus)?.difference(&before).count(),
        crashed,
        artifacts: new_artifacts,
        log,
    })
}

/// Copies the committed seeds into the working corpus (same names: a seed that changed is
/// updated, entries the fuzzer added stay).
fn copy_seeds(seeds: &Path, corpus: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(seeds) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            let to = corpus.join(entry.file_name());
            std::fs::copy(entry.path(), &to)
                .with_context(|| format!("cannot copy a seed to {}", to.display()))?;
        }
    }
    Ok(())
}

fn files(dir: &Path) -> anyhow::Result<BTreeSet<std::ffi::OsString>> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            names.insert(entry.file_name());
        }
    }
    Ok(names)
}

/// The executions libFuzzer reports: its final statistics, else the last status line
/// (`#12345 ...`, or `#12345: ...` in fork mode), which is all a crashed run leaves.
fn executions(log: &str) -> Option<u64> {
    let stat = log.lines().rev().find_map(|line| {
        line.strip_prefix("stat::number_of_executed_units:")
            .and_then(|n| n.trim().parse().ok())
    });
    stat.or_else(|| {
        log.lines().rev().find_map(|line| {
            let rest = line.strip_prefix('#')?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::executions;

    #[test]
    fn executions_from_stats_or_status_lines() {
        let done = "#2\tINITED cov: 10\n#4096\tpulse\nstat::number_of_executed_units: 5000\n";
        assert_eq!(executions(done), Some(5000));
        let crashed =
            "#2\tINITED cov: 10\n#777\tNEW cov: 12\n==1== ERROR: libFuzzer: deadly signal\n";
        assert_eq!(executions(crashed), Some(777));
        let forked = "#1200: cov: 50 ft: 60 corp: 10 exec/s: 100 oom/timeout/crash: 0/0/1\n";
        assert_eq!(executions(forked), Some(1200));
        assert_eq!(executions("nothing"), None);
    }
}
