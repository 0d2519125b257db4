//! `cargo xtask bench peers [--quick] [--with-10m] [--no-build] [--out FILE]`: the `truthound` command
//! against librdkafka readers, each run as a process of its own on one fresh broker.
//!
//! Steps: build the CLI (`cargo build --release -p truthound-cli`) and the peers
//! (`bench/peers`, built on its own with librdkafka from source), unless `--no-build` says to
//! use the programs already in the target directory; start a fresh in-memory test
//! broker; fill the workloads with the peers' librdkafka producer (not timed): 1M `events` on 6
//! partitions, 3M `small`, 200k `wide` (and 10M `events` with `--with-10m`); then, for each
//! workload, run every reader 5 times (2 with `--quick`), taking turns, and record each
//! process's wall time and peak RSS (`wait4`'s `ru_maxrss`). Every run's count of messages or
//! rows must equal the workload's, or the benchmark fails. The table goes to stdout and, as
//! markdown, to `<target dir>/bench-peers.md` (or `--out FILE`).
//!
//! Readers:
//! - `truthound → Arrow IPC` and `truthound → Parquet`: `truthound snapshot` of the whole topic
//!   to a file on tmpfs (`/dev/shm`). Run without `-q`: with stderr not a terminal there is no
//!   progress bar either way, and the closing `wrote N rows` line is what is checked.
//! - `librdkafka drain (Rust)`: librdkafka's bare bounded read (`truthound-bench-peers drain`).
//! - `librdkafka + Polars NDJSON (Rust)`: the same read into Polars' NDJSON reader.
//! - `confluent-kafka + polars.read_ndjson (Python)`: the same in Python
//!   (`bench/peers/confluent_polars.py`, with Python Polars installed into the peer's virtualenv).

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::broker::{self, OwnedBroker};
use crate::peer;
use crate::util::{self, Step};

const USAGE: &str =
    "usage: cargo xtask bench peers [--quick] [--with-10m] [--no-build] [--out FILE]";

/// Runs per reader and workload; `--quick` takes [`QUICK_RUNS`].
const RUNS: usize = 5;
const QUICK_RUNS: usize = 2;

/// The longest one `truthound snapshot` may take (`--timeout`).
const CLI_TIMEOUT_SECS: &str = "900";

/// Where the CLI's snapshots go: tmpfs, so that the disk is not measured.
const IPC_OUT: &str = "/dev/shm/truthound-bench.arrow";
const PARQUET_OUT: &str = "/dev/shm/truthound-bench.parquet";

/// One topic to fill and read.
struct Workload {
    /// `events`, `small` or `wide` (the peers' `--workload`).
    kind: &'static str,
    messages: usize,
    partitions: i32,
}

impl Workload {
    fn label(&self) -> String {
        let n = self.messages;
        let count = if n.is_multiple_of(1_000_000) {
            format!("{}M", n / 1_000_000)
        } else if n.is_multiple_of(1000) {
            format!("{}k", n / 1000)
        } else {
            n.to_string()
        };
        format!("{} {count}", self.kind)
    }

    fn topic(&self) -> String {
        format!("bench-peers-{}", self.label().replace(' ', "-"))
    }
}

/// A reader under test.
#[derive(Clone, Copy, PartialEq)]
enum Reader {
    OursIpc,
    OursParquet,
    OursCheck,
    Drain,
    RustPolars,
    PythonPolars,
}

impl Reader {
    const ALL: [Reader; 6] = [
        Reader::OursIpc,
        Reader::OursParquet,
        Reader::OursCheck,
        Reader::Drain,
        Reader::RustPolars,
        Reader::PythonPolars,
    ];

    fn name(self) -> &'static str {
        match self {
            Reader::OursIpc => "truthound → Arrow IPC",
            Reader::OursParquet => "truthound → Parquet",
            Reader::OursCheck => "truthound check --not-null user_id",
            Reader::Drain => "librdkafka drain (Rust)",
            Reader::RustPolars => "librdkafka + Polars NDJSON (Rust)",
            Reader::PythonPolars => "confluent-kafka + polars.read_ndjson (Python)",
        }
    }
}

impl Reader {
    /// Whether the reader runs on `workload`: the check needs the events' `user_id`, and the
    /// Polars peers are left out at 10M (they would hold about 15 GB each).
    fn runs_on(self, workload: &Workload) -> bool {
        match self {
            Reader::OursCheck => workload.kind == "events",
            Reader::RustPolars | Reader::PythonPolars => workload.messages < 10_000_000,
            _ => true,
        }
    }
}

/// The programs the readers run.
struct Programs {
    truthound: PathBuf,
    peers: PathBuf,
    python: PathBuf,
    script: PathBuf,
    broker: String,
}

impl Programs {
    fn command(&self, reader: Reader, workload: &Workload) -> Command {
        let topic = workload.topic();
        let mut command = match reader {
            Reader::OursIpc | Reader::OursParquet => {
                let mut command = Command::new(&self.truthound);
                command
                    .arg("snapshot")
                    .arg(format!("kafka://{}/{topic}", self.broker))
                    .args(["--max-messages", &workload.messages.to_string()])
                    .args(["--timeout", CLI_TIMEOUT_SECS])
                    .arg("-o")
                    .arg(if reader == Reader::OursIpc {
                        IPC_OUT
                    } else {
                        PARQUET_OUT
                    });
                command
            }
            Reader::OursCheck => {
                let mut command = Command::new(&self.truthound);
                command
                    .arg("check")
                    .arg(format!("kafka://{}/{topic}", self.broker))
                    .args(["--max-messages", &workload.messages.to_string()])
                    .args(["--timeout", CLI_TIMEOUT_SECS])
                    .args(["--not-null", "user_id", "--json"]);
                command
            }
            Reader::Drain | Reader::RustPolars => {
                let mut command = Command::new(&self.peers);
                command.arg(if reader == Reader::Drain {
                    "drain"
                } else {
                    "polars"
                });
                command
            }
            Reader::PythonPolars => {
                let mut command = Command::new(&self.python);
                command.arg(&self.script);
                command
            }
        };
        if !matches!(
            reader,
            Reader::OursIpc | Reader::OursParquet | Reader::OursCheck
        ) {
            command.args(["--broker", &self.broker, "--topic", &topic]);
        }
        command
    }
}

/// One measured run.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    /// Peak resident set size, in KiB (`ru_maxrss`).
    max_rss_kib: u64,
}

/// The samples of one reader on one workload.
struct Row {
    workload: String,
    messages: usize,
    reader: Reader,
    samples: Vec<Sample>,
}

impl Row {
    fn median_wall(&self) -> f64 {
        median(self.samples.iter().map(|s| s.wall.as_secs_f64()).collect())
    }

    fn min_wall(&self) -> f64 {
        self.samples
            .iter()
            .map(|s| s.wall.as_secs_f64())
            .fold(f64::INFINITY, f64::min)
    }

    fn median_rss_mb(&self) -> f64 {
        median(
            self.samples
                .iter()
                .map(|s| s.max_rss_kib as f64 * 1024.0 / 1e6)
                .collect(),
        )
    }
}

struct Options {
    runs: usize,
    with_10m: bool,
    /// Use the programs already built (`--no-build`).
    no_build: bool,
    out: Option<PathBuf>,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut options = Options {
            runs: RUNS,
            with_10m: false,
            no_build: false,
            out: None,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.runs = QUICK_RUNS,
                "--with-10m" => options.with_10m = true,
                "--no-build" => options.no_build = true,
                "--out" => {
                    let file = args
                        .next()
                        .with_context(|| format!("--out needs a file; {USAGE}"))?;
                    options.out = Some(PathBuf::from(file));
                }
                other => bail!("unexpected argument `{other}`; {USAGE}"),
            }
        }
        Ok(options)
    }
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let options = Options::parse(args)?;
    let root = util::workspace_root();
    let target = util::target_dir(&root);
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| target.join("bench-peers.md"));

    if !options.no_build {
        let _step = Step::start("Build the truthound CLI (release)");
        util::run(util::cargo().args(["build", "--release", "-p", "truthound-cli"]))?;
    }
    if !options.no_build {
        let _step = Step::start("Build the librdkafka peers (release, bench/peers)");
        util::run(
            util::cargo()
                .args(["build", "--release", "--locked", "--manifest-path"])
                .arg(root.join("bench/peers/Cargo.toml"))
                .arg("--target-dir")
                .arg(&target),
        )?;
    }
    let programs_dir = target.join("release");
    let nisshi = broker::ensure_installed()?;
    let python = peer::ensure_installed()?;
    let python_polars = peer::ensure_polars(&python)?;
    let broker = OwnedBroker::start_memory(&nisshi)?;
    let programs = Programs {
        truthound: programs_dir.join("truthound"),
        peers: programs_dir.join("truthound-bench-peers"),
        python,
        script: root.join("bench/peers/confluent_polars.py"),
        broker: broker.address(),
    };
    for program in [&programs.truthound, &programs.peers, &programs.script] {
        if !program.is_file() {
            bail!("{} is missing", program.display());
        }
    }

    let mut workloads = vec![
        Workload {
            kind: "events",
            messages: 1_000_000,
            partitions: 6,
        },
        Workload {
            kind: "small",
            messages: 3_000_000,
            partitions: 6,
        },
        Workload {
            kind: "wide",
            messages: 200_000,
            partitions: 6,
        },
    ];
    if options.with_10m {
        workloads.push(Workload {
            kind: "events",
            messages: 10_000_000,
            partitions: 6,
        });
    }

    let runs_dir = target.join("bench-peers-runs");
    fs::create_dir_all(&runs_dir)
        .with_context(|| format!("cannot create {}", runs_dir.display()))?;
    let mut value_bytes = Vec::new();
    for workload in &workloads {
        let _step = Step::start(format!(
            "Fill {} ({} messages, {} partitions; not timed)",
            workload.topic(),
            workload.messages,
            workload.partitions
        ));
        let output = util::output_checked(
            Command::new(&programs.peers)
                .arg("fill")
                .args(["--broker", &programs.broker, "--topic", &workload.topic()])
                .args(["--workload", workload.kind])
                .args(["--messages", &workload.messages.to_string()])
                .args(["--partitions", &workload.partitions.to_string()]),
        )?;
        expect_count(&output, "messages", workload.messages, "fill")?;
        value_bytes.push(json_number(&output, "bytes").unwrap_or(0));
    }

    let load_before = load_average();
    let mut rows = Vec::new();
    for workload in &workloads {
        let _step = Step::start(format!(
            "Read {} with each reader, {} runs each",
            workload.topic(),
            options.runs
        ));
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); Reader::ALL.len()];
        // The readers take turns, so that a slow moment of the machine is shared among them.
        for run in 1..=options.runs {
            for (i, reader) in Reader::ALL.into_iter().enumerate() {
                if !reader.runs_on(workload) {
                    continue;
                }
                let mut command = programs.command(reader, workload);
                let measured = measure(&mut command, &runs_dir)?;
                check_run(reader, workload, &measured)
                    .with_context(|| format!("`{}`", util::display(&command)))?;
                println!(
                    "  run {run}: {:<48} {:>8.3} s  {:>8.1} MB",
                    reader.name(),
                    measured.sample.wall.as_secs_f64(),
                    measured.sample.max_rss_kib as f64 * 1024.0 / 1e6
                );
                samples[i].push(measured.sample);
                let _ = fs::remove_file(IPC_OUT);
                let _ = fs::remove_file(PARQUET_OUT);
            }
        }
        for (reader, samples) in Reader::ALL.into_iter().zip(samples) {
            if samples.is_empty() {
                continue;
            }
            rows.push(Row {
                workload: workload.label(),
                messages: workload.messages,
                reader,
                samples,
            });
        }
    }
    let load_after = load_average();
    drop(broker);

    let header = Header {
        runs: options.runs,
        cores: std::thread::available_parallelism().map_or(0, usize::from),
        load: format!("{load_before} before the reads, {load_after} after"),
        versions: versions(&root, &python_polars),
        command: format!(
            "cargo xtask bench peers{}{}",
            if options.runs == QUICK_RUNS {
                " --quick"
            } else {
                ""
            },
            if options.with_10m { " --with-10m" } else { "" }
        ),
        sizes: workloads
            .iter()
            .zip(&value_bytes)
            .map(|(w, bytes)| {
                format!(
                    "{}: {} partitions, {:.1} MB of values ({} B each on average)",
                    w.label(),
                    w.partitions,
                    *bytes as f64 / 1e6,
                    bytes / w.messages.max(1)
                )
            })
            .collect(),
    };
    let table = markdown(&header, &rows);
    println!("\n{table}");
    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent).ok();
    }
    fs::write(&out, &table).with_context(|| format!("cannot write {}", out.display()))?;
    println!("The table is in {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// What one run gave.
struct Measured {
    sample: Sample,
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `command` with stdout and stderr into files of `dir` and measures the process: wall
/// time from spawn to exit, and its peak RSS.
fn measure(command: &mut Command, dir: &Path) -> anyhow::Result<Measured> {
    let stdout_path = dir.join("stdout");
    let stderr_path = dir.join("stderr");
    command
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path)?)
        .stderr(File::create(&stderr_path)?);
    let started = Instant::now();
    let child = command
        .spawn()
        .with_context(|| format!("cannot run `{}`", util::display(command)))?;
    let (status, max_rss_kib) = wait4(child)?;
    let wall = started.elapsed();
    Ok(Measured {
        sample: Sample { wall, max_rss_kib },
        status,
        stdout: fs::read_to_string(&stdout_path).unwrap_or_default(),
        stderr: fs::read_to_string(&stderr_path).unwrap_or_default(),
    })
}

/// Waits for `child` to exit (and reaps it); returns its exit status and peak RSS in KiB.
///
/// `std::process::Child::wait` gives no resource usage; `wait4` gives that of the one child,
/// where `getrusage(RUSAGE_CHILDREN)` would mix in every child waited for before.
#[allow(unsafe_code)]
pub(super) fn wait4(child: Child) -> anyhow::Result<(ExitStatus, u64)> {
    use std::os::unix::process::ExitStatusExt;
    let pid = libc::pid_t::try_from(child.id())?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct of integers, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals of the right types, written only during the
        // call; `pid` is our own child, which nothing else waits for.
        let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if waited == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context("wait4 failed");
        }
    }
    // Linux reports `ru_maxrss` in KiB.
    Ok((
        ExitStatus::from_raw(status),
        u64::try_from(usage.ru_maxrss).unwrap_or(0),
    ))
}

/// Fails unless the run succeeded and read the whole workload.
fn check_run(reader: Reader, workload: &Workload, measured: &Measured) -> anyhow::Result<()> {
    // `check` exits 1 when it finds issues, as it does here (user_id is null in 1% of events).
    let finished = measured.status.success()
        || (reader == Reader::OursCheck && measured.status.code() == Some(1));
    if !finished {
        bail!(
            "{} failed ({})\n--- stderr ---\n{}",
            reader.name(),
            measured.status,
            measured.stderr.trim_end()
        );
    }
    let expected = workload.messages;
    match reader {
        Reader::OursIpc | Reader::OursParquet => {
            // `wrote N rows, C columns to FILE (Format)`, and nothing about skipped messages.
            let rows = measured
                .stderr
                .lines()
                .find_map(|line| line.strip_prefix("wrote "))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<usize>().ok())
                .with_context(|| {
                    format!(
                        "{}: no `wrote N rows` line on stderr:\n{}",
                        reader.name(),
                        measured.stderr.trim_end()
                    )
                })?;
            if rows != expected {
                bail!(
                    "{} wrote {rows} rows, not {expected}:\n{}",
                    reader.name(),
                    measured.stderr.trim_end()
                );
            }
        }
        Reader::OursCheck => expect_count(&measured.stdout, "rows", expected, reader.name())?,
        Reader::Drain => expect_count(&measured.stdout, "messages", expected, reader.name())?,
        Reader::RustPolars | Reader::PythonPolars => {
            expect_count(&measured.stdout, "messages", expected, reader.name())?;
            expect_count(&measured.stdout, "rows", expected, reader.name())?;
        }
    }
    Ok(())
}

/// Fails unless the JSON line `output` has `"key":expected`.
fn expect_count(output: &str, key: &str, expected: usize, who: &str) -> anyhow::Result<()> {
    match json_number(output, key) {
        Some(n) if n == expected => Ok(()),
        Some(n) => bail!(
            "{who}: {key} {n}, not {expected} (output: {})",
            output.trim()
        ),
        None => bail!("{who}: no {key:?} in its output: {:?}", output.trim()),
    }
}

/// The number after `"key":` in a flat JSON line.
pub(super) fn json_number(output: &str, key: &str) -> Option<usize> {
    let pattern = format!("\"{key}\":");
    let start = output.find(&pattern)? + pattern.len();
    let digits: String = output[start..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The median; the mean of the two middle values for an even count.
pub(super) fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

/// The 1-minute load average, from `/proc/loadavg`.
pub(super) fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".to_string())
}

/// The versions in play, from the lock files and the virtualenv.
fn versions(root: &Path, python_polars: &str) -> String {
    let locked = |lock: &str, name: &str| {
        let text = fs::read_to_string(root.join(lock)).unwrap_or_default();
        let needle = format!("name = \"{name}\"\nversion = \"");
        text.find(&needle)
            .and_then(|at| text[at + needle.len()..].split('"').next())
            .unwrap_or("?")
            .to_string()
    };
    let rdkafka_sys = locked("bench/peers/Cargo.lock", "rdkafka-sys");
    let bundled = rdkafka_sys.split_once('+').map_or("?", |(_, v)| v);
    format!(
        "truthound with Rust Polars {}; Rust peers: rdkafka {} (librdkafka {bundled}, bundled), \
         Polars {}; Python peer: confluent-kafka {} (its wheel's librdkafka), Polars {python_polars}",
        locked("Cargo.lock", "polars"),
        locked("bench/peers/Cargo.lock", "rdkafka"),
        locked("bench/peers/Cargo.lock", "polars"),
        peer::CONFLUENT_KAFKA_VERSION,
    )
}

/// What the table's preamble says about the run.
struct Header {
    runs: usize,
    cores: usize,
    load: String,
    versions: String,
    command: String,
    sizes: Vec<String>,
}

/// The results as a markdown table with its preamble.
fn markdown(header: &Header, rows: &[Row]) -> String {
    let mut text = format!(
        "`{}`: {} runs per reader and workload, each reader a process of its own; wall time \
         from spawn to exit, peak RSS of that process (`ru_maxrss`). One in-memory nisshi \
         broker on the same machine ({} cores, shared with the broker; load average {}).\n\n\
         {}.\n\nWorkloads: {}.\n\n",
        header.command,
        header.runs,
        header.cores,
        header.load,
        header.versions,
        header.sizes.join("; ")
    );
    text.push_str(
        "| workload | reader | median s | min s | messages/s | peak RSS MB | time ÷ ours | RSS ÷ ours |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for row in rows {
        let ours = rows
            .iter()
            .find(|r| r.workload == row.workload && r.reader == Reader::OursIpc);
        let (time_ratio, rss_ratio) = match ours {
            Some(ours) if row.reader != Reader::OursIpc => (
                format!("{:.2}", row.median_wall() / ours.median_wall()),
                format!("{:.2}", row.median_rss_mb() / ours.median_rss_mb()),
            ),
            _ => ("1".to_string(), "1".to_string()),
        };
        text.push_str(&format!(
            "| {} | {} | {:.3} | {:.3} | {} | {:.0} | {time_ratio} | {rss_ratio} |\n",
            row.workload,
            row.reader.name(),
            row.median_wall(),
            row.min_wall(),
            rate(row.messages as f64 / row.median_wall()),
            row.median_rss_mb(),
        ));
    }
    text.push_str(
        "\n`time ÷ ours` and `RSS ÷ ours`: the reader's median over that of `truthound → Arrow \
         IPC` on the same workload (above 1: ours is faster, or smaller).\n",
    );
    text
}

/// `1.23 M` or `456 k`.
fn rate(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{:.2} M", per_second / 1e6)
    } else {
        format!("{:.0} k", per_second / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_out_of_json_lines() {
        let line = "{\"messages\":1000000,\"rows\":999, \"columns\":9}\n";
        assert_eq!(json_number(line, "messages"), Some(1_000_000));
        assert_eq!(json_number(line, "rows"), Some(999));
        assert_eq!(json_number(line, "columns"), Some(9));
        assert_eq!(json_number(line, "bytes"), None);
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn workloads_have_labels_and_topics() {
        let w = Workload {
            kind: "wide",
            messages: 200_000,
            partitions: 6,
        };
        assert_eq!(w.label(), "wide 200k");
        assert_eq!(w.topic(), "bench-peers-wide-200k");
    }

    #[test]
    fn wait4_reports_the_child_peak_rss() {
        let child = Command::new("true").spawn().unwrap();
        let (status, rss) = wait4(child).unwrap();
        assert!(status.success());
        assert!(rss > 0);
    }
}
