//! The test broker: `nisshi`, a Kafka-compatible broker, built once with the nightly toolchain
//! into the cache and started on a free port of 127.0.0.1.
//!
//! `broker start` leaves a detached broker running (its own process group, state in
//! `<cache>/broker.json`) until `broker stop`; `cargo xtask test` instead owns a broker that lives
//! in its own process group only as long as the test run (see [`OwnedBroker`]).

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::util;

/// The broker release the tests run against.
pub(crate) const NISSHI_VERSION: &str = "0.8.1";

/// The oldest rustc that builds `nisshi` 0.8.1; only the nightly toolchain is that new for now.
const NISSHI_MIN_RUSTC: (u32, u32) = (1, 96);

/// How long a new broker has to answer a Kafka `ApiVersions` request.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Environment variables that `nisshi broker` reads and that must not leak into the test broker
/// from the caller's environment (the listener and storage flags are always given explicitly).
const NISSHI_ENV: &[&str] = &[
    "CLUSTER_ID",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "GROUP_INITIAL_REBALANCE_DELAY",
    "GROUP_POLL_INTERVAL",
    "DATA_LAKE",
];

pub(crate) fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    match args.split_first() {
        Some((cmd, rest)) if cmd == "install" => {
            no_more_args(rest)?;
            let bin = ensure_installed()?;
            println!("nisshi {NISSHI_VERSION}: {}", bin.display());
            Ok(ExitCode::SUCCESS)
        }
        Some((cmd, rest)) if cmd == "start" => start(rest),
        Some((cmd, rest)) if cmd == "stop" => {
            no_more_args(rest)?;
            stop()
        }
        Some((cmd, rest)) if cmd == "status" => {
            no_more_args(rest)?;
            status()
        }
        Some((cmd, _)) => {
            bail!("unknown broker command `{cmd}`: use install, start, stop or status")
        }
        None => bail!("usage: cargo xtask broker install|start|stop|status"),
    }
}

fn no_more_args(args: &[String]) -> anyhow::Result<()> {
    match args.first() {
        Some(arg) => bail!("unexpected argument `{arg}`"),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Installing

fn install_root() -> anyhow::Result<PathBuf> {
    Ok(util::cache_dir()?.join(format!("nisshi-{NISSHI_VERSION}")))
}

/// Where the `nisshi` binary is once installed.
pub(crate) fn nisshi_bin() -> anyhow::Result<PathBuf> {
    Ok(install_root()?.join("bin").join("nisshi"))
}

/// Returns the `nisshi` binary, building it first when the cache does not have it.
pub(crate) fn ensure_installed() -> anyhow::Result<PathBuf> {
    let bin = nisshi_bin()?;
    if bin.is_file() {
        return Ok(bin);
    }
    check_nightly()?;
    let root = install_root()?;
    println!(
        "Building nisshi {NISSHI_VERSION} (the test broker) into {}.\n\
         This happens once per cache and takes about 10 minutes on 2 cores.",
        root.display()
    );
    let mut command = Command::new("rustup");
    command
        .args(["run", "nightly", "cargo", "install", "nisshi"])
        .args(["--version", NISSHI_VERSION, "--locked", "--root"])
        .arg(&root)
        // A temporary build directory: the broker's build must not share the workspace's
        // target directory (another compiler, and nothing to reuse).
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("CARGO");
    util::run(&mut command).context("building the test broker failed")?;
    if !bin.is_file() {
        bail!(
            "`cargo install nisshi` succeeded but {} is missing",
            bin.display()
        );
    }
    Ok(bin)
}

/// Fails with instructions unless the nightly toolchain is installed and new enough.
fn check_nightly() -> anyhow::Result<()> {
    const HOW: &str = "install it with `rustup toolchain install nightly --profile minimal` \
                       (or update it with `rustup update nightly`)";
    let output = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .output();
    let output = match output {
        Ok(output) => output,
        Err(err) => bail!(
            "building the test broker needs rustup and the nightly toolchain (rustc >= {}.{}), \
             but `rustup` cannot be run ({err}); install rustup, then {HOW}",
            NISSHI_MIN_RUSTC.0,
            NISSHI_MIN_RUSTC.1
        ),
    };
    if !output.status.success() {
        bail!(
            "building the test broker (nisshi {NISSHI_VERSION}) needs the nightly toolchain \
             (rustc >= {}.{}), which is missing: {HOW}",
            NISSHI_MIN_RUSTC.0,
            NISSHI_MIN_RUSTC.1
        );
    }
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if let Some((major, minor)) = parse_rustc_version(&version)
        && (major, minor) < NISSHI_MIN_RUSTC
    {
        bail!(
            "nisshi {NISSHI_VERSION} needs rustc >= {}.{}, but the nightly toolchain is \
             `{version}`: {HOW}",
            NISSHI_MIN_RUSTC.0,
            NISSHI_MIN_RUSTC.1
        );
    }
    println!("Using {version}");
    Ok(())
}

/// `rustc 1.96.0-nightly (...)` → `(1, 96)`.
fn parse_rustc_version(text: &str) -> Option<(u32, u32)> {
    let version = text.split_whitespace().nth(1)?;
    let mut parts = version.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

// ---------------------------------------------------------------------------------------------
// Starting and probing

/// What to start: where nisshi keeps its data.
#[derive(Debug, Clone)]
pub(crate) enum Storage {
    /// In memory: gone when the broker stops.
    Memory,
    /// An SQLite database file, kept across restarts.
    Sqlite(PathBuf),
}

impl Storage {
    fn url(&self) -> anyhow::Result<String> {
        match self {
            Storage::Memory => Ok("memory://truthound/".to_string()),
            Storage::Sqlite(path) => {
                let path = std::path::absolute(path)
                    .with_context(|| format!("bad sqlite path {}", path.display()))?;
                // `sqlite://` then the absolute path: nisshi drops one leading `/` of the URL's
                // path and resolves the rest against its working directory.
                Ok(format!("sqlite:///{}", path.display()))
            }
        }
    }
}

/// A broker process that has been started and answers Kafka requests.
pub(crate) struct Started {
    pub(crate) child: Child,
    pub(crate) port: u16,
    pub(crate) storage_engine: String,
    pub(crate) run_dir: PathBuf,
    pub(crate) log: PathBuf,
}

impl Started {
    pub(crate) fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Returns a port of 127.0.0.1 that nothing listens on right now.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot bind 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Starts nisshi on `port` from a fresh working directory `<cache>/broker-run/<name>` (it reads
/// a `.env` from there), logs to `broker.log` in it, and waits until it answers `ApiVersions`.
///
/// `detached` puts the broker in its own process group, so that it outlives this process and a
/// Ctrl-C in the terminal does not reach it.
pub(crate) fn spawn(
    bin: &Path,
    port: u16,
    storage: &Storage,
    name: &str,
    detached: bool,
) -> anyhow::Result<Started> {
    let run_dir = util::cache_dir()?.join("broker-run").join(name);
    if run_dir.exists() {
        fs::remove_dir_all(&run_dir)
            .with_context(|| format!("cannot clear {}", run_dir.display()))?;
    }
    fs::create_dir_all(&run_dir).with_context(|| format!("cannot create {}", run_dir.display()))?;
    let log = run_dir.join("broker.log");
    let log_file =
        File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    let storage_engine = storage.url()?;
    let listener = format!("tcp://127.0.0.1:{port}");

    let mut command = Command::new(bin);
    command
        .arg("broker")
        .args(["--listener-url", &listener])
        .args(["--advertised-listener-url", &listener])
        .args(["--storage-engine", &storage_engine])
        .current_dir(&run_dir)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file);
    for name in NISSHI_ENV {
        command.env_remove(name);
    }
    if detached {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    println!("$ {}  (in {})", util::display(&command), run_dir.display());
    let child = command
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let mut started = Started {
        child,
        port,
        storage_engine,
        run_dir,
        log,
    };
    if let Err(err) = wait_ready(&mut started) {
        let _ = started.child.kill();
        let _ = started.child.wait();
        bail!(
            "{err:#}\n--- last lines of {} ---\n{}\n---",
            started.log.display(),
            util::tail(&started.log, 40)
        );
    }
    Ok(started)
}

fn wait_ready(started: &mut Started) -> anyhow::Result<()> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, started.port));
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = started.child.try_wait()? {
            bail!("the broker exited during start-up ({status})");
        }
        match probe(address) {
            Ok(()) => return Ok(()),
            Err(err) if Instant::now() >= deadline => bail!(
                "the broker did not answer a Kafka ApiVersions request on {address} within {} s \
                 (last error: {err:#})",
                READY_TIMEOUT.as_secs()
            ),
            Err(_) => {}
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Sends a Kafka `ApiVersions` v0 request and checks the answer: the same correlation id and no
/// error. Proves that a Kafka broker, not just any listener, is there.
pub(crate) fn probe(address: SocketAddr) -> anyhow::Result<()> {
    const API_VERSIONS: i16 = 18;
    const CORRELATION_ID: i32 = 0x7472_7468; // "trth"
    const CLIENT_ID: &[u8] = b"truthound-xtask";
    let timeout = Duration::from_secs(2);

    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .with_context(|| format!("cannot connect to {address}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;

    // Request header v1 (api key, api version, correlation id, client id); the v0 body is empty.
    let mut body = Vec::new();
    body.extend_from_slice(&API_VERSIONS.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&CORRELATION_ID.to_be_bytes());
    body.extend_from_slice(&i16::try_from(CLIENT_ID.len())?.to_be_bytes());
    body.extend_from_slice(CLIENT_ID);
    let mut frame = i32::try_from(body.len())?.to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    stream
        .write_all(&frame)
        .context("cannot send ApiVersions")?;

    let mut size = [0u8; 4];
    stream
        .read_exact(&mut size)
        .context("no answer to ApiVersions")?;
    let size = i32::from_be_bytes(size);
    if !(6..=1 << 20).contains(&size) {
        bail!("ApiVersions answer has an implausible size {size}");
    }
    let mut response = vec![0u8; usize::try_from(size)?];
    stream
        .read_exact(&mut response)
        .context("short ApiVersions answer")?;
    let correlation_id = i32::from_be_bytes([response[0], response[1], response[2], response[3]]);
    if correlation_id != CORRELATION_ID {
        bail!("ApiVersions answer has correlation id {correlation_id}, not {CORRELATION_ID}");
    }
    let error_code = i16::from_be_bytes([response[4], response[5]]);
    if error_code != 0 {
        bail!("ApiVersions answer has error code {error_code}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// A broker owned by this process

/// A broker that lives as long as this value: stopped on drop. It stays in this process's
/// process group, so a Ctrl-C in the terminal stops it together with the tests.
pub(crate) struct OwnedBroker {
    started: Started,
    keep_run_dir: bool,
}

impl OwnedBroker {
    /// Starts a fresh in-memory broker on a free port.
    pub(crate) fn start_memory(bin: &Path) -> anyhow::Result<Self> {
        let port = free_port()?;
        let started = spawn(bin, port, &Storage::Memory, &format!("test-{port}"), false)?;
        Ok(Self {
            started,
            keep_run_dir: false,
        })
    }

    /// Keeps the broker's working directory and log after it stops (they are removed otherwise).
    pub(crate) fn keep_run_dir(&mut self) {
        self.keep_run_dir = true;
    }

    pub(crate) fn address(&self) -> String {
        self.started.address()
    }

    pub(crate) fn log(&self) -> &Path {
        &self.started.log
    }
}

impl Drop for OwnedBroker {
    fn drop(&mut self) {
        let pid = self.started.child.id();
        terminate(pid, false);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.started.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = self.started.child.kill();
                    let _ = self.started.child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        println!("Stopped the test broker on {}", self.address());
        if !self.keep_run_dir {
            let _ = fs::remove_dir_all(&self.started.run_dir);
        }
    }
}

/// Sends SIGTERM to a process, or to its whole process group.
fn terminate(pid: u32, group: bool) {
    signal("TERM", pid, group);
}

fn signal(name: &str, pid: u32, group: bool) {
    let target = if group {
        format!("-{pid}")
    } else {
        pid.to_string()
    };
    let _ = Command::new("kill")
        .args([&format!("-{name}"), "--", &target])
        .stderr(Stdio::null())
        .status();
}

// ---------------------------------------------------------------------------------------------
// The detached broker of `broker start` / `stop` / `status`

/// What `broker start` records about the detached broker.
#[derive(Debug, PartialEq)]
struct State {
    pid: u32,
    port: u16,
    storage_engine: String,
    run_dir: String,
    log: String,
}

impl State {
    fn path() -> anyhow::Result<PathBuf> {
        Ok(util::cache_dir()?.join("broker.json"))
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn to_json(&self) -> String {
        format!(
            "{{\n  \"pid\": {},\n  \"port\": {},\n  \"address\": {},\n  \"storage_engine\": {},\n  \
             \"run_dir\": {},\n  \"log\": {}\n}}\n",
            self.pid,
            self.port,
            json_string(&self.address()),
            json_string(&self.storage_engine),
            json_string(&self.run_dir),
            json_string(&self.log),
        )
    }

    /// Reads the flat JSON object that [`State::to_json`] writes.
    fn from_json(text: &str) -> anyhow::Result<Self> {
        let fields = parse_flat_json(text)?;
        let get = |key: &str| {
            fields
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.clone())
                .with_context(|| format!("broker state has no `{key}`"))
        };
        Ok(Self {
            pid: get("pid")?.parse().context("bad pid")?,
            port: get("port")?.parse().context("bad port")?,
            storage_engine: get("storage_engine")?,
            run_dir: get("run_dir")?,
            log: get("log")?,
        })
    }

    fn load() -> anyhow::Result<Option<Self>> {
        let path = Self::path()?;
        match fs::read_to_string(&path) {
            Ok(text) => Self::from_json(&text)
                .map(Some)
                .with_context(|| format!("cannot read {}", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    fn remove() -> anyhow::Result<()> {
        match fs::remove_file(Self::path()?) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err.into()),
            _ => Ok(()),
        }
    }
}

fn json_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Parses `{"key": "string" | number, ...}` into (key, value) pairs.
fn parse_flat_json(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    fn string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> anyhow::Result<String> {
        let mut out = String::new();
        loop {
            match chars.next() {
                Some('"') => return Ok(out),
                Some('\\') => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('u') => {
                        let hex: String = chars.by_ref().take(4).collect();
                        let code = u32::from_str_radix(&hex, 16)?;
                        out.push(char::from_u32(code).context("bad \\u escape")?);
                    }
                    Some(c) => out.push(c),
                    None => bail!("unterminated string"),
                },
                Some(c) => out.push(c),
                None => bail!("unterminated string"),
            }
        }
    }

    let mut chars = text.trim().chars().peekable();
    if chars.next() != Some('{') {
        bail!("not a JSON object");
    }
    let mut fields = Vec::new();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        match chars.next() {
            Some('}') => return Ok(fields),
            Some('"') => {}
            _ => bail!("expected a key"),
        }
        let key = string(&mut chars)?;
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ':') {
            chars.next();
        }
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            string(&mut chars)?
        } else {
            let mut raw = String::new();
            while let Some(c) = chars.next_if(|c| !matches!(c, ',' | '}') && !c.is_whitespace()) {
                raw.push(c);
            }
            raw
        };
        fields.push((key, value));
    }
}

/// Whether `pid` is a live (not zombie) `nisshi` process.
fn is_nisshi_alive(pid: u32) -> bool {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let Ok(stat) = fs::read_to_string(proc_dir.join("stat")) else {
        return false;
    };
    // The state follows the parenthesised command name: `pid (comm) S ...`.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    if matches!(state, Some("Z" | "X")) {
        return false;
    }
    fs::read(proc_dir.join("cmdline"))
        .map(|cmdline| String::from_utf8_lossy(&cmdline).contains("nisshi"))
        .unwrap_or(false)
}

fn start(args: &[String]) -> anyhow::Result<ExitCode> {
    let mut port = None;
    let mut storage = Storage::Memory;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let value = args.next().context("--port needs a number")?;
                port = Some(value.parse::<u16>().context("--port needs a number")?);
            }
            "--sqlite" => {
                let value = args.next().context("--sqlite needs a file path")?;
                storage = Storage::Sqlite(PathBuf::from(value));
            }
            other => bail!("unexpected argument `{other}`: use --port N or --sqlite PATH"),
        }
    }

    if let Some(state) = State::load()? {
        if is_nisshi_alive(state.pid) {
            println!(
                "The test broker is already running at {} (pid {}, storage {}); \
                 `cargo xtask broker stop` stops it.",
                state.address(),
                state.pid,
                state.storage_engine
            );
            println!("TRUTHOUND_TEST_BROKER={}", state.address());
            return Ok(ExitCode::SUCCESS);
        }
        // A broker that died without `broker stop`: clear what it left.
        State::remove()?;
        remove_run_dir(&state)?;
    }

    let bin = ensure_installed()?;
    let port = match port {
        Some(port) => {
            TcpListener::bind((Ipv4Addr::LOCALHOST, port))
                .with_context(|| format!("port {port} of 127.0.0.1 is not free"))?;
            port
        }
        None => free_port()?,
    };
    if let Storage::Sqlite(path) = &storage
        && let Some(parent) = std::path::absolute(path)?.parent()
    {
        fs::create_dir_all(parent)?;
    }
    let started = spawn(&bin, port, &storage, &port.to_string(), true)?;
    let state = State {
        pid: started.child.id(),
        port,
        storage_engine: started.storage_engine.clone(),
        run_dir: started.run_dir.display().to_string(),
        log: started.log.display().to_string(),
    };
    let path = State::path()?;
    fs::write(&path, state.to_json())
        .with_context(|| format!("cannot write {}", path.display()))?;
    // The broker runs on in its own process group; dropping the handle neither waits nor kills.
    drop(started);

    println!(
        "The test broker (nisshi {NISSHI_VERSION}, pid {}, storage {}) is running at {}.\n\
         Log: {}\nState: {}\nStop it with `cargo xtask broker stop`. For tests run by hand:\n",
        state.pid,
        state.storage_engine,
        state.address(),
        state.log,
        path.display()
    );
    println!("export TRUTHOUND_TEST_BROKER={}", state.address());
    println!("export TRUTHOUND_NISSHI_BIN={}", bin.display());
    Ok(ExitCode::SUCCESS)
}

fn stop() -> anyhow::Result<ExitCode> {
    let Some(state) = State::load()? else {
        println!("No test broker was started with `cargo xtask broker start`.");
        return Ok(ExitCode::SUCCESS);
    };
    if is_nisshi_alive(state.pid) {
        // `broker start` made the broker the leader of its own process group.
        terminate(state.pid, true);
        let deadline = Instant::now() + Duration::from_secs(10);
        while is_nisshi_alive(state.pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        if is_nisshi_alive(state.pid) {
            signal("KILL", state.pid, true);
        }
        println!(
            "Stopped the test broker at {} (pid {}).",
            state.address(),
            state.pid
        );
    } else {
        println!(
            "The test broker at {} (pid {}) was not running any more; removed its state.",
            state.address(),
            state.pid
        );
    }
    State::remove()?;
    remove_run_dir(&state)?;
    Ok(ExitCode::SUCCESS)
}

/// Removes the broker's working directory (and log), if it is where `broker start` makes them.
fn remove_run_dir(state: &State) -> anyhow::Result<()> {
    let run_dir = PathBuf::from(&state.run_dir);
    if run_dir.starts_with(util::cache_dir()?.join("broker-run")) {
        let _ = fs::remove_dir_all(&run_dir);
    }
    Ok(())
}

fn status() -> anyhow::Result<ExitCode> {
    let Some(state) = State::load()? else {
        println!("not running (no broker started with `cargo xtask broker start`)");
        return Ok(ExitCode::FAILURE);
    };
    if !is_nisshi_alive(state.pid) {
        println!(
            "not running: pid {} is gone (stale state in {}; `cargo xtask broker stop` clears it)",
            state.pid,
            State::path()?.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    let answers = probe(SocketAddr::from((Ipv4Addr::LOCALHOST, state.port)));
    println!(
        "running at {} (pid {}, storage {}, log {}){}",
        state.address(),
        state.pid,
        state.storage_engine,
        state.log,
        match &answers {
            Ok(()) => String::new(),
            Err(err) => format!("\nbut it does not answer Kafka requests: {err:#}"),
        }
    );
    Ok(if answers.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_json() {
        let state = State {
            pid: 42,
            port: 9092,
            storage_engine: "sqlite:////tmp/a \"b\".db".into(),
            run_dir: "/tmp/run\\dir".into(),
            log: "/tmp/run/broker.log".into(),
        };
        assert_eq!(State::from_json(&state.to_json()).unwrap(), state);
    }

    #[test]
    fn rustc_versions_parse() {
        assert_eq!(
            parse_rustc_version("rustc 1.96.0-nightly (abc 2026-04-01)"),
            Some((1, 96))
        );
        assert_eq!(
            parse_rustc_version("rustc 1.95.0 (f2d3ce0bd 2026-03-21)"),
            Some((1, 95))
        );
    }

    #[test]
    fn sqlite_urls_are_absolute() {
        let url = Storage::Sqlite(PathBuf::from("/data/t.db")).url().unwrap();
        assert_eq!(url, "sqlite:////data/t.db");
    }
}
