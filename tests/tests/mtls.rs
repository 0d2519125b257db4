//! Mutual TLS for real: `stunnel` in front of a plaintext nisshi broker requires a client
//! certificate signed by a CA made here (`verify = 2`), and the broker advertises stunnel's
//! address, so every connection of the client goes through it. nisshi itself never asks for a
//! client certificate. stunnel speaks TLS 1.3 unless told otherwise: its refusal then comes as
//! an alert after the client's side of the handshake, under TLS 1.2 during the handshake.
//!
//! The `stunnel` binary is `TRUTHOUND_STUNNEL_BIN`, else `stunnel` on `PATH` (Debian/Ubuntu:
//! `apt-get install -y stunnel4`; `.ci/run` installs it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, PKCS_RSA_SHA256,
};
use truthound_kafka::{KafkaDataSource, KafkaDataSourceConfig};
use truthound_kafka_client::{
    ClientConfig, ConnectionError, Error, KafkaClient, ProduceOptions, ProduceRecord,
    SecurityProtocol, TlsConfig,
};
use truthound_streaming_core::{BaseStreamingDataSource, StreamingDataSourceExt};
use truthound_tests::{SpawnedBroker, unique_topic};

/// A 2048-bit RSA key for tests only (PKCS#8 PEM), made once with `openssl genpkey`: `ring`,
/// which `rcgen` uses here, cannot generate RSA keys.
const RSA_TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----\n\
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDU1PcZ3JYmDFHW\n\
YTaCzoHk+7C+nm8mlTUWhtbMqq0wEVT+jybMow20IHbQC3NitW3PQZBQWYv+gjA/\n\
h89C+/xhvuDjYScEPkdIM0vIlUc/DzKrDDnK0N5KTnKhtKNrmQ+dKBMkovFIJfRW\n\
DnldWGPdxEIOclkE5lTcP0CzhQYULq4DNkhTpU92Nr7QOrutaM6LxDCrMxjiK0u0\n\
Pc45kirjn4vyPKPYJkB5q3b7WhjIGgou32doVS3BBQa17aEjEpSkppXNBjDMjWxC\n\
AyDnwvuTQkfb++FwhyYYySompGmW0J2Ef7sO9lyiwA/xCR80h5QmOvNTbWoCfQ5Z\n\
FW/sNbXBAgMBAAECggEACbHSuKea4kxM3QRMGJzB/3V0iVZLr1j8FFTbi3KZ1Xbw\n\
pXDNXmRt/x68csEWxjAH+rkckwBlN1hkTLyJtR4n0qcAdPMLtS6GDjSh9tbP6kAt\n\
uWti5Ylqmr1kjNee2wubkbfN2W0fqv7pmJLrtdQNJoCmVqSgR/Aa/PZXouXED160\n\
s2gg5RtFjQi8UjJHhi/BghY9iA3kC6rb1kGovRP1z/UyQk9vgYHQYqUZrap+J3UF\n\
voJ6h34TfI/ohxZodTQSXBJsjFe4WbNKSbrXa++5848fP0NYy4H4ISbefSpwHcDs\n\
pC2kMElVvLmI9/9zEddWQvooAFU9Bwr5GSFjeUQ1fQKBgQDtJnBwHwTeEoULmswc\n\
FABcczCtLG3su3XV+++q/8cxm55YjLS4SclUb4mrFPLVbv4tgvrOpvnxhw21MW40\n\
Iua651KPIjpYQVmmcYfnZJ6j23FTpsuQZ2qLQ4FYXA4zqEr44cFemnLpWq4hXBSY\n\
oKp3v1m1I+vtdt2JzCNwonRWpQKBgQDlv7Hx6XK+VAptC6ks1zEd9mGuDBneTVmC\n\
OvQH73Kc2C3yPmN39p0Tco+05RS3yULc/YM39jyZ4WPl378dy+EyCI3LC2tKaWcZ\n\
Gie6raRtY7oo5IG25003U1coVijDXjxf33SPGYEGlP2G8bTIU6QpLIJbXVe8XaiN\n\
hkdr8qJT7QKBgQC8GMoD1EabEVtfmfccqiyjJ2ZLZLsHkqRjBkHRgrBuw3yzxV6t\n\
8TBz/UfXX3VAHpoSZRojgMMsdC9GMR+00J3rTwDnsIFQcPz3jIL74I4Hb02SyPAa\n\
6DvUm8Vi3RkSlgBpKT6jl6NfPWJx6UQYzw6GjkpL52MA5U/QNQ9DDkdyVQKBgQCF\n\
dolxhXKxm/J+jDKXqN6QkEsIJ2FzoS1pGMQgQ/opoO939MQlsS5oWLmglR8m8JSV\n\
+fMbNEDaB3PX2tWUApbsUMnF9Pk7veU1UNtZd3u4TCGdlbjAvrc9d31/IiYF8B1U\n\
eGOmqWMppq1skca6RNRtUrzbRGsuMp4ysJmW3NlttQKBgG+ZvIMDqdLCah/qouwr\n\
iLVVveXyZrD16kW6zoKWe/x2WmFQDgpzcDeUhJKGRJ79pb6Ez/dVIo+IQIg4I031\n\
31V+GlmEjq1AYSP/DtQohNi/U4AnuDO7NdNpM+PBOqkp6FvBbPFjnLspy78aB2Ey\n\
FyBSvvjCJ0jS+vehs2xWtyJl\n\
-----END PRIVATE KEY-----\n\
";

/// The `stunnel` binary: `TRUTHOUND_STUNNEL_BIN`, else `stunnel` on `PATH`.
///
/// # Panics
///
/// When it cannot be run, with how to install it: the test never skips.
fn stunnel_bin() -> PathBuf {
    let bin = std::env::var_os("TRUTHOUND_STUNNEL_BIN")
        .filter(|bin| !bin.is_empty())
        .map_or_else(|| PathBuf::from("stunnel"), PathBuf::from);
    match Command::new(&bin).arg("-version").output() {
        Ok(_) => bin,
        Err(err) => panic!(
            "cannot run {} ({err}): the mutual TLS tests put stunnel in front of the test \
             broker. Install it (Debian/Ubuntu: `apt-get install -y stunnel4`) or point \
             TRUTHOUND_STUNNEL_BIN at the binary.",
            bin.display()
        ),
    }
}

/// A CA made here: its certificate file and the issuer that signs with it.
struct Ca {
    file: PathBuf,
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(dir: &Path, name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("truthound test CA {name}"));
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let file = dir.join(format!("{name}-ca.pem"));
        std::fs::write(&file, issuer.pem()).unwrap();
        Self { file, issuer }
    }

    /// A certificate for `names` with `key`, signed by this CA; returns the certificate file.
    fn sign(&self, dir: &Path, name: &str, names: &[&str], key: &KeyPair) -> PathBuf {
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(key, &self.issuer).unwrap();
        let file = dir.join(format!("{name}.pem"));
        std::fs::write(&file, cert.pem()).unwrap();
        file
    }
}

/// One DER element at the start of `der`: (tag, content, the bytes after it).
fn der_element(der: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = der[0];
    let (len, head) = match der[1] {
        short if short < 0x80 => (usize::from(short), 2),
        long => {
            let n = usize::from(long & 0x7f);
            let len = der[2..2 + n]
                .iter()
                .fold(0usize, |len, byte| (len << 8) | usize::from(*byte));
            (len, 2 + n)
        }
    };
    (tag, &der[head..head + len], &der[head + len..])
}

/// A DER element of `tag` around `content`.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|byte| *byte == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// The key inside a PKCS#8 `PrivateKeyInfo`: PKCS#1 `RSAPrivateKey` for RSA, SEC1
/// `ECPrivateKey` for EC.
fn pkcs8_inner(pkcs8: &[u8]) -> Vec<u8> {
    let (_, info, _) = der_element(pkcs8);
    let (_, _version, rest) = der_element(info);
    let (_, _algorithm, rest) = der_element(rest);
    let (tag, key, _) = der_element(rest);
    assert_eq!(tag, 0x04, "PKCS#8 privateKey is an OCTET STRING");
    key.to_vec()
}

/// SEC1 as OpenSSL writes it: `ring` leaves the optional curve parameters out of the
/// `ECPrivateKey` it wraps in PKCS#8; this puts them back (`[0]` prime256v1).
fn sec1_with_curve(pkcs8: &[u8]) -> Vec<u8> {
    const P256: &[u8] = &[
        0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ];
    let ec = pkcs8_inner(pkcs8);
    let (_, body, _) = der_element(&ec);
    let (_, _, after_version) = der_element(body);
    let (_, _, after_key) = der_element(after_version);
    let mut content = body[..body.len() - after_key.len()].to_vec();
    content.extend_from_slice(P256);
    content.extend_from_slice(after_key);
    der(0x30, &content)
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// stunnel accepting TLS on a free port of 127.0.0.1 and forwarding to a broker; it requires
/// a client certificate signed by the CA in `client_ca`. `extra` are more service options
/// (e.g. `sslVersionMax = TLSv1.2`). Killed on drop.
struct Stunnel {
    child: Child,
    address: String,
    log: PathBuf,
}

impl Stunnel {
    fn start(dir: &Path, files: [&Path; 3], port: u16, to: &str, extra: &str) -> Self {
        let [cert, key, client_ca] = files;
        let log = dir.join("stunnel.log");
        let config = dir.join("stunnel.conf");
        std::fs::write(
            &config,
            format!(
                "foreground = yes\npid =\ndebug = info\noutput = {log}\n\n[kafka]\n\
                 accept = 127.0.0.1:{port}\nconnect = {to}\ncert = {cert}\nkey = {key}\n\
                 CAfile = {ca}\nverify = 2\n{extra}",
                log = log.display(),
                cert = cert.display(),
                key = key.display(),
                ca = client_ca.display(),
            ),
        )
        .unwrap();
        let bin = stunnel_bin();
        let mut child = Command::new(&bin)
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", bin.display()));
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "stunnel exited ({status}):\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            if TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "stunnel did not listen on {address} within 15 s:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            address: address.to_string(),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Stunnel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plaintext broker behind stunnel, which requires client certificates of `client_ca`.
struct MutualTls {
    stunnel: Stunnel,
    /// The CA that signed stunnel's certificate (for `localhost` and `127.0.0.1`).
    server_ca: PathBuf,
    /// The CA whose certificates stunnel accepts from clients.
    client_ca: Ca,
    dir: tempfile::TempDir,
    _broker: SpawnedBroker,
}

impl MutualTls {
    fn start() -> Self {
        Self::start_with("")
    }

    /// As [`MutualTls::start`], with more stunnel service options.
    fn start_with(extra: &str) -> Self {
        // Before starting a broker: without stunnel there is nothing to test.
        stunnel_bin();
        let dir = tempfile::Builder::new()
            .prefix("truthound-mtls-")
            .tempdir()
            .unwrap();
        let server_ca = Ca::new(dir.path(), "server");
        let server_key = KeyPair::generate().unwrap();
        let server_cert = server_ca.sign(
            dir.path(),
            "stunnel",
            &["localhost", "127.0.0.1"],
            &server_key,
        );
        let server_key_file = dir.path().join("stunnel.key");
        std::fs::write(&server_key_file, server_key.serialize_pem()).unwrap();
        let client_ca = Ca::new(dir.path(), "client");

        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
        let mut broker = SpawnedBroker::memory();
        broker.set_advertised_address(format!("127.0.0.1:{port}"));
        broker.restart();
        let stunnel = Stunnel::start(
            dir.path(),
            [&server_cert, &server_key_file, &client_ca.file],
            port,
            &broker.address(),
            extra,
        );
        Self {
            stunnel,
            server_ca: server_ca.file,
            client_ca,
            dir,
            _broker: broker,
        }
    }

    fn address(&self) -> String {
        self.stunnel.address.clone()
    }

    /// A client certificate for `name` with `key` (written as `key_pem`), signed by `ca`;
    /// returns (certificate file, key file).
    fn client_files(
        &self,
        ca: &Ca,
        name: &str,
        key: &KeyPair,
        key_pem: &str,
    ) -> (PathBuf, PathBuf) {
        let cert = ca.sign(self.dir.path(), name, &[name], key);
        let key_file = self.dir.path().join(format!("{name}.key"));
        std::fs::write(&key_file, key_pem).unwrap();
        (cert, key_file)
    }

    fn config(&self, tls: TlsConfig) -> ClientConfig {
        ClientConfig::new([self.address()])
            .with_security_protocol(SecurityProtocol::Ssl)
            .with_connect_timeout(Duration::from_secs(5))
            .with_tls(tls)
    }
}

fn connection_error(err: Error) -> ConnectionError {
    match err {
        Error::Connection(e) => e,
        other => panic!("expected a connection error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_source_with_the_right_client_certificate_reads_records() {
    let mtls = MutualTls::start();
    let key = KeyPair::generate().unwrap();
    let (cert, key_file) = mtls.client_files(&mtls.client_ca, "reader", &key, &key.serialize_pem());
    let tls = TlsConfig::new()
        .with_ca_file(&mtls.server_ca)
        .with_client_cert(&cert, &key_file);

    let topic = unique_topic("mtls");
    let client = KafkaClient::connect(mtls.config(tls))
        .await
        .unwrap_or_else(|e| panic!("{e}\n--- stunnel log ---\n{}", mtls.stunnel.log()));
    client.create_topic(&topic, 1, 1).await.unwrap();
    let records = (0..5)
        .map(|i| ProduceRecord::new(Bytes::from(format!("{{\"i\":{i}}}"))))
        .collect();
    client
        .produce(&topic, 0, records, ProduceOptions::default())
        .await
        .unwrap();

    let config = KafkaDataSourceConfig::new(mtls.address(), &topic)
        .with_security_protocol(SecurityProtocol::Ssl)
        .with_ssl_files(
            Some(mtls.server_ca.display().to_string()),
            Some(cert.display().to_string()),
            Some(key_file.display().to_string()),
        );
    let mut source = KafkaDataSource::new(config).unwrap();
    source.connect().await.unwrap();
    let messages = source.consume(10).await.unwrap();
    assert_eq!(messages.len(), 5);
    // Every connection went through stunnel, each with a verified client certificate.
    let log = mtls.stunnel.log();
    assert!(log.contains("Certificate accepted"), "{log}");
}

#[tokio::test]
async fn client_keys_in_pkcs8_sec1_and_pkcs1_authenticate() {
    let mtls = MutualTls::start();
    let ec = KeyPair::generate().unwrap();
    let rsa = KeyPair::from_pem_and_sign_algo(RSA_TEST_KEY, &PKCS_RSA_SHA256).unwrap();
    let cases = [
        ("pkcs8-ec", &ec, ec.serialize_pem()),
        (
            "sec1-ec",
            &ec,
            pem("EC PRIVATE KEY", &sec1_with_curve(&ec.serialize_der())),
        ),
        ("pkcs8-rsa", &rsa, RSA_TEST_KEY.to_owned()),
        (
            "pkcs1-rsa",
            &rsa,
            pem("RSA PRIVATE KEY", &pkcs8_inner(&rsa.serialize_der())),
        ),
    ];
    for (name, key, key_pem) in cases {
        let (cert, key_file) = mtls.client_files(&mtls.client_ca, name, key, &key_pem);
        let tls = TlsConfig::new()
            .with_ca_file(&mtls.server_ca)
            .with_client_cert(&cert, &key_file);
        let client = KafkaClient::connect(mtls.config(tls))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}\n--- stunnel log ---\n{}", mtls.stunnel.log()));
        client.list_topics().await.unwrap();
        let log = mtls.stunnel.log();
        assert!(
            log.contains(&format!("Certificate accepted at depth=0: CN={name}")),
            "{name}: {log}"
        );
    }
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused_clearly() {
    let mtls = MutualTls::start();
    let err = KafkaClient::connect(mtls.config(TlsConfig::new().with_ca_file(&mtls.server_ca)))
        .await
        .unwrap_err();
    let err = connection_error(err);
    assert!(matches!(err, ConnectionError::Tls { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "TLS handshake with broker {} failed: the broker ended the TLS session with alert \
             CertificateRequired (the broker requires a client certificate: set a certificate \
             and key signed by a CA the broker trusts)",
            mtls.address()
        )
    );
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_clearly() {
    let mtls = MutualTls::start();
    let other_ca = Ca::new(mtls.dir.path(), "other");
    let key = KeyPair::generate().unwrap();
    let (cert, key_file) = mtls.client_files(&other_ca, "stranger", &key, &key.serialize_pem());
    let tls = TlsConfig::new()
        .with_ca_file(&mtls.server_ca)
        .with_client_cert(&cert, &key_file);
    let err = connection_error(KafkaClient::connect(mtls.config(tls)).await.unwrap_err());
    assert!(matches!(err, ConnectionError::Tls { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "TLS handshake with broker {} failed: the broker ended the TLS session with alert \
             UnknownCA (the broker refused the client certificate: is it signed by a CA the \
             broker trusts, and still valid?)",
            mtls.address()
        )
    );
}

#[tokio::test]
async fn a_tls12_broker_refusing_the_missing_certificate_is_refused_clearly() {
    // Under TLS 1.2 the broker refuses during the handshake, not after it.
    let mtls = MutualTls::start_with("sslVersionMax = TLSv1.2\n");
    let err = KafkaClient::connect(mtls.config(TlsConfig::new().with_ca_file(&mtls.server_ca)))
        .await
        .unwrap_err();
    let err = connection_error(err);
    assert!(matches!(err, ConnectionError::Tls { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "TLS handshake with broker {} failed: received fatal alert: HandshakeFailure (no \
             common TLS settings, or the broker requires a client certificate)",
            mtls.address()
        )
    );
}
