//! `cargo xtask bench shares [--messages N] [--runs R] [--no-build] [--out FILE]`: one snapshot
//! plan executed by 1 and by 2 workers at once, each worker a `truthound snapshot --plan P
//! --share K -o DIR/` process, on one fresh broker.
//!
//! Steps: build the CLI (release, unless `--no-build`); start a fresh in-memory broker; fill a
//! topic with the demo's events (`truthound demo-fill`: 10M by default, 6 partitions; not
//! timed);
//! then, `R` times (3 by default) and taking turns, plan the topic with `--shares W` and start
//! the `W` workers together, for `W` = 1 and 2. A round's wall time runs from the first spawn to
//! the last exit; each worker's own wall time and peak RSS (`wait4`) are recorded. The parts go
//! to tmpfs (`/dev/shm`), and every round's rows must add up to the topic's messages. The table
//! goes to stdout and, as markdown, to `<target dir>/bench-shares.md` (or `--out FILE`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, bail};

use super::peers::{json_number, load_average, median, wait4};
use crate::broker::{self, OwnedBroker};
use crate::util::{self, Step};

const USAGE: &str =
    "usage: cargo xtask bench shares [--messages N] [--runs R] [--no-build] [--out FILE]";

/// Where the parts go: tmpfs, so that the disk is not measured.
const PARTS: &str = "/dev/shm/truthound-bench-parts";

/// The worker counts compared.
const WORKERS: [usize; 2] = [1, 2];

struct Options {
    messages: usize,
    runs: usize,
    no_build: bool,
    out: Option<PathBuf>,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut options = Options {
            messages: 10_000_000,
            runs: 3,
            no_build: false,
            out: None,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |what: &str| {
                args.next()
                    .with_context(|| format!("{arg} needs {what}; {USAGE}"))
                    .cloned()
            };
            match arg.as_str() {
                "--messages" => options.messages = value("a count")?.parse()?,
                "--runs" => options.runs = value("a count")?.parse()?,
                "--no-build" => options.no_build = true,
                "--out" => options.out = Some(PathBuf::from(value("a file")?)),
                other => bail!("unexpected argument `{other}`; {USAGE}"),
            }
        }
        if options.messages == 0 || options.runs == 0 {
            bail!("--messages and --runs must be positive; {USAGE}");
        }
        Ok(options)
    }
}

/// One worker's run.
#[derive(Clone)]
struct Worker {
    wall: f64,
    rss_mb: f64,
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let options = Options::parse(args)?;
    let root = util::workspace_root();
    let target = util::target_dir(&root);
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| target.join("bench-shares.md"));
    if !options.no_build {
        let _step = Step::start("Build the truthound CLI (release)");
        util::run(util::cargo().args(["build", "--release", "-p", "truthound-cli"]))?;
    }
    let truthound = target.join("release/truthound");
    if !truthound.is_file() {
        bail!("{} is missing: run without --no-build", truthound.display());
    }
    let nisshi = broker::ensure_installed()?;
    let broker = OwnedBroker::start_memory(&nisshi)?;
    let topic = format!("bench-shares-{}", options.messages);
    let url = format!("kafka://{}/{topic}", broker.address());
    {
        let _step = Step::start(format!(
            "Fill {topic} ({} demo events, 6 partitions; not timed)",
            options.messages
        ));
        util::output_checked(
            Command::new(&truthound)
                .args(["demo-fill", &url])
                .args(["--count", &options.messages.to_string()])
                .args(["--partitions", "6"]),
        )?;
    }

    let load_before = load_average();
    // rounds[w][run]: (the round's wall time, its workers).
    let mut rounds: Vec<Vec<(f64, Vec<Worker>)>> = vec![Vec::new(); WORKERS.len()];
    for run in 1..=options.runs {
        for (i, &workers) in WORKERS.iter().enumerate() {
            let round = run_round(&truthound, &url, workers, options.messages)
                .with_context(|| format!("run {run} with {workers} worker(s)"))?;
            println!(
                "  run {run}: {workers} worker(s) {:>8.3} s  (workers: {})",
                round.0,
                round
                    .1
                    .iter()
                    .map(|w| format!("{:.3} s {:.0} MB", w.wall, w.rss_mb))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            rounds[i].push(round);
        }
    }
    let load_after = load_average();
    drop(broker);
    let _ = fs::remove_dir_all(PARTS);

    let mut table = format!(
        "`cargo xtask bench shares --messages {} --runs {}`: {} of the demo's events (`truthound \
         demo-fill`, uncompressed, 6 partitions) on one in-memory broker, {} cores shared with \
         the broker, load average \
         {load_before} before the runs and {load_after} after; medians of {} runs. Each worker \
         is `truthound snapshot --plan P --share K -o {PARTS}/` (Parquet).\n\n\
         | workers | wall time (all shares) | messages/s | per worker: wall | per worker: peak RSS |\n\
         | --- | --- | --- | --- | --- |\n",
        options.messages,
        options.runs,
        options.messages,
        std::thread::available_parallelism().map_or(0, usize::from),
        options.runs,
    );
    for (&workers, rounds) in WORKERS.iter().zip(&rounds) {
        let wall = median(rounds.iter().map(|r| r.0).collect());
        let worker_wall = median(
            rounds
                .iter()
                .flat_map(|r| r.1.iter().map(|w| w.wall))
                .collect(),
        );
        let worker_rss = median(
            rounds
                .iter()
                .flat_map(|r| r.1.iter().map(|w| w.rss_mb))
                .collect(),
        );
        table.push_str(&format!(
            "| {workers} | {wall:.2} s | {:.2} M | {worker_wall:.2} s | {worker_rss:.0} MB |\n",
            options.messages as f64 / wall / 1e6
        ));
    }
    println!("\n{table}");
    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent).ok();
    }
    fs::write(&out, &table).with_context(|| format!("cannot write {}", out.display()))?;
    println!("The table is in {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// Plans `url` in `workers` shares and runs them at once; the round's wall time (spawn of the
/// first to exit of the last, the plan not included) and each worker's figures.
fn run_round(
    truthound: &Path,
    url: &str,
    workers: usize,
    messages: usize,
) -> anyhow::Result<(f64, Vec<Worker>)> {
    let _ = fs::remove_dir_all(PARTS);
    fs::create_dir_all(PARTS).with_context(|| format!("cannot create {PARTS}"))?;
    let plan = Path::new(PARTS).join("plan.json");
    util::output_checked(
        Command::new(truthound)
            .args(["plan", url, "--max-messages", &messages.to_string()])
            .args(["--shares", &workers.to_string(), "-o"])
            .arg(&plan),
    )?;
    let started = Instant::now();
    let children = (0..workers)
        .map(|k| {
            let mut command = Command::new(truthound);
            command.args(["snapshot", "-q", "--plan"]).arg(&plan).args([
                "--share",
                &k.to_string(),
                "-o",
                PARTS,
            ]);
            command
                .spawn()
                .with_context(|| format!("cannot run `{}`", util::display(&command)))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Each worker is reaped by a thread of its own, so its wall time is its own.
    let waits: Vec<_> = children
        .into_iter()
        .map(|child| {
            std::thread::spawn(move || {
                let result = wait4(child);
                (result, started.elapsed().as_secs_f64())
            })
        })
        .collect();
    let mut figures = Vec::new();
    for wait in waits {
        let (result, wall) = wait
            .join()
            .map_err(|_| anyhow::anyhow!("a waiting thread panicked"))?;
        let (status, rss_kib) = result?;
        if !status.success() {
            bail!("a worker failed ({status})");
        }
        figures.push(Worker {
            wall,
            rss_mb: rss_kib as f64 * 1024.0 / 1e6,
        });
    }
    let wall = started.elapsed().as_secs_f64();
    // The parts hold the whole topic.
    let mut rows = 0;
    for k in 0..workers {
        let manifest = Path::new(PARTS).join(format!("part-{k}-of-{workers}.json"));
        let text = fs::read_to_string(&manifest)
            .with_context(|| format!("cannot read {}", manifest.display()))?;
        rows += json_number(&text, "rows").unwrap_or(0);
    }
    if rows != messages {
        bail!("the parts hold {rows} rows, not {messages}");
    }
    Ok((wall, figures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_have_defaults_and_refuse_the_unknown() {
        let parsed = Options::parse(&[]).unwrap();
        assert_eq!((parsed.messages, parsed.runs), (10_000_000, 3));
        let args: Vec<String> = ["--messages", "5", "--runs", "1", "--no-build"]
            .map(String::from)
            .to_vec();
        let parsed = Options::parse(&args).unwrap();
        assert_eq!(
            (parsed.messages, parsed.runs, parsed.no_build),
            (5, 1, true)
        );
        assert!(Options::parse(&["--what".to_string()]).is_err());
        assert!(Options::parse(&["--runs".to_string(), "0".to_string()]).is_err());
    }
}
