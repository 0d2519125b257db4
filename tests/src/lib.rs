//! The shared harness of the workspace's integration tests (`tests/tests/*.rs`).
//!
//! The tests run against a real Kafka-compatible broker (`nisshi`) and, for interoperability, a
//! reference client (librdkafka through Python's `confluent-kafka`). `cargo xtask test` provides
//! both and passes them through the environment:
//!
//! | variable | meaning | read by |
//! | --- | --- | --- |
//! | `TRUTHOUND_TEST_BROKER` | `host:port` of a running test broker | [`broker_address`] |
//! | `TRUTHOUND_NISSHI_BIN` | the `nisshi` binary, to start more brokers | [`nisshi_bin`], [`SpawnedBroker`] |
//! | `TRUTHOUND_TEST_PYTHON` | a python with `confluent_kafka` importable | [`python`] |
//!
//! A test that needs one of them and does not find it panics with instructions: integration tests
//! never skip silently.
//!
//! # Layout
//!
//! - [`broker_address`], [`nisshi_bin`], [`python`]: what `cargo xtask test` provides.
//! - [`unique_topic`]: a fresh topic name per call, so tests can share one broker.
//! - [`SpawnedBroker`]: a broker of the test's own (e.g. SQLite-backed), that can be restarted on
//!   the same port with the same data, and is killed on drop; [`BrokerSecurity`] switches its
//!   listener to TLS and/or required SASL authentication.
//! - [`avro`]: hand-written Avro test events and the schema-registry wire format.
//! - [`registry`]: a schema registry speaking the Confluent REST API, for `confluent-kafka`'s
//!   serializers and the code under test.
//! - [`peer`]: the framing of scripted peers (requests in, responses with their headers out).
//! - [`proxy`]: a TCP proxy between client and broker that cuts, refuses and stalls.
//! - [`security`]: certificates made in the test, a TLS broker, a SCRAM broker with users.

pub mod avro;
pub mod peer;
pub mod proxy;
pub mod registry;
pub mod security;

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a spawned broker has to answer its first Kafka request.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long [`SpawnedBroker::stop`] waits for the broker to exit after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The address (`host:port`) of the test broker, from `TRUTHOUND_TEST_BROKER`.
///
/// # Panics
///
/// When the variable is not set: integration tests need the broker and never skip.
pub fn broker_address() -> String {
    match std::env::var("TRUTHOUND_TEST_BROKER") {
        Ok(address) if !address.is_empty() => address,
        _ => panic!(
            "TRUTHOUND_TEST_BROKER is not set: integration tests need the test broker. Run them \
             with `cargo xtask test` (it builds, starts and stops the broker), or start one with \
             `cargo xtask broker start` and export the address it prints."
        ),
    }
}

/// The `nisshi` binary, from `TRUTHOUND_NISSHI_BIN`, for tests that start brokers of their own.
///
/// # Panics
///
/// When the variable is not set or names no file.
pub fn nisshi_bin() -> PathBuf {
    let path = match std::env::var_os("TRUTHOUND_NISSHI_BIN") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => panic!(
            "TRUTHOUND_NISSHI_BIN is not set: this test starts brokers of its own and needs the \
             nisshi binary. Run the tests with `cargo xtask test` (it builds nisshi and sets the \
             variable), or run `cargo xtask broker install` and export \
             TRUTHOUND_NISSHI_BIN=<cache>/nisshi-0.8.1/bin/nisshi (the cache is ~/.cache/truthound \
             by default)."
        ),
    };
    assert!(
        path.is_file(),
        "TRUTHOUND_NISSHI_BIN names {}, which is not a file: run `cargo xtask broker install`",
        path.display()
    );
    path
}

/// The python of the interop peer (it imports `confluent_kafka`), from `TRUTHOUND_TEST_PYTHON`.
///
/// # Panics
///
/// When the variable is not set or names no file.
pub fn python() -> PathBuf {
    let path = match std::env::var_os("TRUTHOUND_TEST_PYTHON") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => panic!(
            "TRUTHOUND_TEST_PYTHON is not set: interop tests need the Python interop peer \
             (confluent-kafka with librdkafka). Run the tests with `cargo xtask test` (it installs \
             the peer and sets the variable), or run `cargo xtask peer install` and export \
             TRUTHOUND_TEST_PYTHON=<cache>/venv/bin/python (the cache is ~/.cache/truthound by \
             default)."
        ),
    };
    assert!(
        path.is_file(),
        "TRUTHOUND_TEST_PYTHON names {}, which is not a file: run `cargo xtask peer install`",
        path.display()
    );
    path
}

/// The codecs of the record batches stored in `partition` of `topic` below `end`, read from
/// the batch headers on the wire (not from the decoded records), in offset order.
///
/// # Panics
/// When the read fails: this is test code.
pub async fn codecs_on_the_wire(
    client: &truthound_kafka_client::KafkaClient,
    topic: &str,
    partition: i32,
    end: i64,
) -> Vec<truthound_kafka_client::Compression> {
    use truthound_kafka_client::{BoundedReader, FetchOptions, PartitionRange};
    let mut reader = BoundedReader::new(
        client.clone(),
        topic.to_owned(),
        vec![PartitionRange {
            partition,
            start: 0,
            end,
        }],
        FetchOptions::default(),
    );
    let mut codecs = Vec::new();
    while let Some(chunk) = reader.next_chunk().await.expect("fetch the partition") {
        for header in chunk.batch_headers() {
            codecs.push(header.compression().expect("a known codec"));
        }
    }
    codecs
}

/// A topic name that no other call returns, in this process or another: `prefix`, then the
/// process id, a counter and the current time in nanoseconds, joined by `-`.
///
/// Characters of `prefix` that Kafka does not allow in topic names (anything but ASCII letters,
/// digits, `.`, `_` and `-`) become `_`, and the prefix is cut so that the name fits Kafka's 249
/// characters.
pub fn unique_topic(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let prefix: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(180)
        .collect();
    format!("{prefix}-{}-{count}-{nanos}", std::process::id())
}

/// A `nisshi` broker started by a test, on a free port of 127.0.0.1 (or of `[::1]`,
/// [`SpawnedBroker::memory_ipv6`]), killed on drop.
///
/// Its working directory (where it would read a `.env`) and its log are in a temporary directory
/// of its own. [`SpawnedBroker::restart`] starts it again on the same port with the same storage,
/// so a test can check what survives a restart of an SQLite-backed broker.
///
/// ```no_run
/// let mut broker = truthound_tests::SpawnedBroker::sqlite();
/// let address = broker.address(); // "127.0.0.1:PORT"
/// // ... produce to `address` ...
/// broker.restart();
/// // ... the records are still there, at the same address ...
/// # let _ = address;
/// ```
#[derive(Debug)]
pub struct SpawnedBroker {
    bin: PathBuf,
    ip: IpAddr,
    port: u16,
    advertised: Option<String>,
    storage_engine: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
    security: BrokerSecurity,
}

/// The listener security of a [`SpawnedBroker`], set with [`SpawnedBroker::set_security`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerSecurity {
    /// Certificate chain and private key (PEM files): the listener then accepts only TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Whether clients must authenticate (SASL SCRAM-SHA-256/512). nisshi keeps users in its
    /// storage, so this needs an SQLite broker whose users were created with
    /// [`SpawnedBroker::create_scram_user`] while it ran without security.
    pub authentication: bool,
}

impl SpawnedBroker {
    /// Starts a broker with the given storage engine URL (e.g. `memory://test/` or
    /// `sqlite:////absolute/path.db`) and waits until it answers Kafka requests.
    ///
    /// # Panics
    ///
    /// When `nisshi` is not available ([`nisshi_bin`]) or the broker does not start in time;
    /// the message includes the end of its log.
    pub fn start(storage_engine: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("truthound-broker-")
            .tempdir()
            .unwrap_or_else(|err| panic!("cannot create a temporary directory: {err}"));
        Self::start_in(dir, storage_engine.to_string())
    }

    /// Starts a broker that keeps its data in memory: nothing survives [`SpawnedBroker::restart`].
    pub fn memory() -> Self {
        Self::start("memory://truthound/")
    }

    /// Starts an in-memory broker listening on the IPv6 loopback `[::1]` (and advertising
    /// it); [`SpawnedBroker::address`] is then `[::1]:PORT`.
    ///
    /// # Panics
    ///
    /// As [`SpawnedBroker::start`], and when the machine has no IPv6 loopback.
    pub fn memory_ipv6() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("truthound-broker-")
            .tempdir()
            .unwrap_or_else(|err| panic!("cannot create a temporary directory: {err}"));
        Self::start_on(
            dir,
            "memory://truthound/".to_owned(),
            Ipv6Addr::LOCALHOST.into(),
        )
    }

    /// Starts a broker that keeps its data in an SQLite file of its temporary directory, so the
    /// data survives [`SpawnedBroker::restart`].
    pub fn sqlite() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("truthound-broker-")
            .tempdir()
            .unwrap_or_else(|err| panic!("cannot create a temporary directory: {err}"));
        // `sqlite://` then the absolute path: nisshi drops one leading `/` of the URL's path.
        let engine = format!("sqlite:///{}", dir.path().join("broker.db").display());
        Self::start_in(dir, engine)
    }

    fn start_in(dir: tempfile::TempDir, storage_engine: String) -> Self {
        Self::start_on(dir, storage_engine, Ipv4Addr::LOCALHOST.into())
    }

    fn start_on(dir: tempfile::TempDir, storage_engine: String, ip: IpAddr) -> Self {
        let port = TcpListener::bind((ip, 0))
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .unwrap_or_else(|err| panic!("cannot find a free port on {ip}: {err}"));
        let mut broker = Self {
            bin: nisshi_bin(),
            ip,
            port,
            advertised: None,
            storage_engine,
            dir,
            child: None,
            security: BrokerSecurity::default(),
        };
        broker.launch();
        broker
    }

    /// The broker's temporary directory (removed on drop), e.g. for certificate files.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Sets the listener security used from the next [`SpawnedBroker::restart`] on.
    pub fn set_security(&mut self, security: BrokerSecurity) {
        self.security = security;
    }

    /// Makes the broker advertise `address` (`host:port`) in its metadata instead of its own
    /// listener, from the next [`SpawnedBroker::restart`] on: clients then make every
    /// connection after the bootstrap to `address`, e.g. a TLS proxy in front of the broker.
    pub fn set_advertised_address(&mut self, address: impl Into<String>) {
        self.advertised = Some(address.into());
    }

    /// Creates a SCRAM user with `nisshi user create`; `mechanism` is `scram256` or
    /// `scram512`. The broker must be running without TLS and without authentication (the
    /// command connects in plaintext and does not log in).
    ///
    /// # Panics
    ///
    /// When the command fails.
    pub fn create_scram_user(&self, name: &str, password: &str, mechanism: &str) {
        let output = Command::new(&self.bin)
            .args(["user", "create", "--broker"])
            .arg(format!("tcp://{}", self.address()))
            .args(["--mechanism", mechanism, name, password])
            .current_dir(self.dir.path())
            .env_remove("SCHEMA_REGISTRY")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|err| panic!("cannot run {} user create: {err}", self.bin.display()));
        assert!(
            output.status.success(),
            "nisshi user create {name} ({mechanism}) failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The broker's address, `127.0.0.1:PORT` (`[::1]:PORT` for [`SpawnedBroker::memory_ipv6`]).
    pub fn address(&self) -> String {
        SocketAddr::from((self.ip, self.port)).to_string()
    }

    /// The broker's port; it stays the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The storage engine URL the broker was started with.
    pub fn storage_engine(&self) -> &str {
        &self.storage_engine
    }

    /// The broker's log file (output of every start, appended).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("broker.log")
    }

    /// Whether the broker process is running.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Stops the broker gracefully (SIGTERM, then SIGKILL after 10 s) and starts it again on the
    /// same port with the same storage; returns when it answers Kafka requests again.
    ///
    /// # Panics
    ///
    /// When the broker does not come back in time.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Stops the broker gracefully: SIGTERM, then SIGKILL if it has not exited after 10 s.
    /// Does nothing when it is not running. [`SpawnedBroker::restart`] starts it again.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(None)) {
            // std can only send SIGKILL; `kill` sends SIGTERM without unsafe code or libc.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .stderr(Stdio::null())
                .status();
            let deadline = Instant::now() + STOP_TIMEOUT;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Kills the broker at once (SIGKILL), as a crash would. [`SpawnedBroker::restart`] starts
    /// it again.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The last `lines` lines of the broker's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(self.log_path()) {
            let _ = file.read_to_string(&mut text);
        }
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Starts the process and waits until it answers; retries while the port is still held by
    /// the previous process (a restart).
    fn launch(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let address = SocketAddr::from((self.ip, self.port));
        let listener = format!("tcp://{address}");
        let advertised = match &self.advertised {
            Some(advertised) => format!("tcp://{advertised}"),
            None => listener.clone(),
        };
        let mut last_error;
        loop {
            let mut child = self.spawn(&listener, &advertised);
            last_error = loop {
                match child.try_wait() {
                    Ok(Some(status)) => break format!("the broker exited ({status})"),
                    Err(err) => break format!("cannot watch the broker: {err}"),
                    Ok(None) => {}
                }
                // A TLS listener cannot be probed with a plaintext ApiVersions; that it accepts
                // connections is enough there.
                let ready = if self.security.tls.is_some() {
                    TcpStream::connect_timeout(&address, Duration::from_secs(2)).map(drop)
                } else {
                    probe(address)
                };
                match ready {
                    Ok(()) => {
                        self.child = Some(child);
                        return;
                    }
                    Err(err) if Instant::now() >= deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break format!("no answer to ApiVersions: {err}");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            };
            if Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "the test broker ({} broker, storage {}) did not start on {address} within {} s: \
             {last_error}\n--- last lines of {} ---\n{}\n---",
            self.bin.display(),
            self.storage_engine,
            READY_TIMEOUT.as_secs(),
            self.log_path().display(),
            self.log_tail(40)
        );
    }

    fn spawn(&self, listener: &str, advertised: &str) -> Child {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .and_then(|log| Ok((log.try_clone()?, log)))
            .unwrap_or_else(|err| panic!("cannot open {}: {err}", self.log_path().display()));
        let mut command = Command::new(&self.bin);
        command
            .arg("broker")
            .args(["--listener-url", listener])
            .args(["--advertised-listener-url", advertised])
            .args(["--storage-engine", &self.storage_engine]);
        if let Some((cert, key)) = &self.security.tls {
            command.arg("--cert").arg(cert).arg("--key").arg(key);
        }
        if self.security.authentication {
            command.arg("--authentication");
        }
        command
            .current_dir(self.dir.path())
            .env_remove("CLUSTER_ID")
            .env_remove("SCHEMA_REGISTRY")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(log.0)
            .stderr(log.1)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", self.bin.display()))
    }
}

impl Drop for SpawnedBroker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends a Kafka `ApiVersions` v0 request and checks that the answer carries the same correlation
/// id and no error code: a Kafka broker, not just any listener, is there.
fn probe(address: SocketAddr) -> io::Result<()> {
    const CORRELATION_ID: i32 = 0x7472_7468;
    const CLIENT_ID: &[u8] = b"truthound-tests";
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;

    // Request header v1: api key 18 (ApiVersions), version 0, correlation id, client id.
    let mut frame = Vec::with_capacity(64);
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(&18i16.to_be_bytes());
    frame.extend_from_slice(&0i16.to_be_bytes());
    frame.extend_from_slice(&CORRELATION_ID.to_be_bytes());
    frame.extend_from_slice(&(CLIENT_ID.len() as i16).to_be_bytes());
    frame.extend_from_slice(CLIENT_ID);
    let size = (frame.len() - 4) as i32;
    frame[..4].copy_from_slice(&size.to_be_bytes());
    stream.write_all(&frame)?;

    let mut head = [0u8; 10];
    stream.read_exact(&mut head)?;
    let correlation_id = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    let error_code = i16::from_be_bytes([head[8], head[9]]);
    if correlation_id != CORRELATION_ID || error_code != 0 {
        return Err(io::Error::other(format!(
            "unexpected ApiVersions answer: correlation id {correlation_id}, error code \
             {error_code}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::unique_topic;

    #[test]
    fn unique_topics_differ_and_are_valid() {
        let a = unique_topic("snap shot/é");
        let b = unique_topic("snap shot/é");
        assert_ne!(a, b);
        assert!(a.starts_with("snap_shot__-"));
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        );
        assert!(unique_topic(&"x".repeat(500)).len() <= 249);
    }
}
