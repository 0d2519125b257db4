//! The schema registry as Confluent Cloud serves it: HTTPS with a certificate made here by a CA
//! made here, and HTTP basic auth with the registry's own key and secret. Framed Avro records
//! are produced to the test broker and read back through KafkaDataSource, as a production
//! snapshot would read them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use truthound::datasources::streaming::{
    DeserializerType, KafkaDataSource, KafkaDataSourceConfig, PolarsSourceExt,
};
use truthound_kafka_client::{ClientConfig, KafkaClient, ProduceOptions, ProduceRecord};
use truthound_tests::avro::{USER_EVENT_SCHEMA, framed, user_event};
use truthound_tests::{broker_address, unique_topic};

/// The registry's API key and secret.
const KEY: &str = "SRKEY4TEST";
const SECRET: &str = "sr-secret-7Qm+e/Zt9w";

/// A fresh one-partition topic holding `n` UserEvents framed with schema id 7.
async fn avro_topic(n: i64) -> String {
    let client = KafkaClient::connect(ClientConfig::new([broker_address()]))
        .await
        .unwrap();
    let topic = unique_topic("registry-tls");
    client.create_topic(&topic, 1, 1).await.unwrap();
    let batch = (0..n)
        .map(|i| {
            let mut r = ProduceRecord::new(Bytes::new());
            r.value = Some(Bytes::from(framed(
                7,
                &user_event(i, ["login", "logout"][i as usize % 2]),
            )));
            r
        })
        .collect();
    client
        .produce(&topic, 0, batch, ProduceOptions::default())
        .await
        .unwrap();
    topic
}

/// A CA and a registry certificate for `names`: the CA's PEM file in `dir`, and the server's
/// TLS configuration.
fn certificates(dir: &Path, names: &[&str]) -> (PathBuf, Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "truthound test registry CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let certificate = params.signed_by(&key, &ca).unwrap();
    let ca_file = dir.join("registry-ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![certificate.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    (ca_file, Arc::new(config))
}

/// A schema registry on 127.0.0.1:0 speaking HTTPS, that answers `GET /schemas/ids/7` with
/// [`USER_EVENT_SCHEMA`] when the request carries `Authorization: Basic base64(KEY:SECRET)`, and 401
/// otherwise. It serves until the test process ends.
struct TlsRegistry {
    url: String,
    ca_file: PathBuf,
    /// Requests whose TLS handshake completed.
    requests: Arc<AtomicUsize>,
    /// The `Authorization` headers seen.
    authorizations: Arc<Mutex<Vec<Option<String>>>>,
    _dir: tempfile::TempDir,
}

impl TlsRegistry {
    /// A registry whose certificate names `localhost` and `127.0.0.1`.
    fn start() -> Self {
        Self::with_names(&["localhost", "127.0.0.1"])
    }

    fn with_names(names: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (ca_file, tls) = certificates(dir.path(), names);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let authorizations = Arc::new(Mutex::new(Vec::new()));
        let (counter, seen) = (requests.clone(), authorizations.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (tls, counter, seen) = (tls.clone(), counter.clone(), seen.clone());
                std::thread::spawn(move || serve(stream, tls, &counter, &seen));
            }
        });
        Self {
            url,
            ca_file,
            requests,
            authorizations,
            _dir: dir,
        }
    }
}

fn serve(
    tcp: TcpStream,
    tls: Arc<rustls::ServerConfig>,
    requests: &AtomicUsize,
    seen: &Mutex<Vec<Option<String>>>,
) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(connection) = rustls::ServerConnection::new(tls) else {
        return;
    };
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    // The request head, up to the blank line (a GET has no body). A client that refuses the
    // certificate ends the handshake here, with an error.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let head = String::from_utf8_lossy(&head).into_owned();
    let authorization = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("authorization")
            .then(|| value.trim().to_owned())
    });
    seen.lock().unwrap().push(authorization.clone());
    let expected = format!("Basic {}", base64(&format!("{KEY}:{SECRET}")));
    let (status, body) = if authorization.as_deref() != Some(expected.as_str()) {
        (
            "401 Unauthorized",
            r#"{"error_code": 401, "message": "Unauthorized"}"#.to_owned(),
        )
    } else if head.starts_with("GET /schemas/ids/7 ") {
        (
            "200 OK",
            serde_json::json!({ "schema": USER_EVENT_SCHEMA }).to_string(),
        )
    } else {
        (
            "404 Not Found",
            r#"{"error_code": 40403, "message": "Schema not found"}"#.to_owned(),
        )
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/vnd.schemaregistry.v1+json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
    stream.conn.send_close_notify();
    let _ = stream.flush();
}

/// Standard base64 with padding.
fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from_be_bytes([0, b[0], b[1], b[2]]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn avro_config(topic: &str) -> KafkaDataSourceConfig {
    KafkaDataSourceConfig::new(broker_address(), topic)
        .with_deserializer_type(DeserializerType::Avro)
        .with_include_key(false)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_registry_key_and_ca_file_read_a_framed_avro_topic() {
    let registry = TlsRegistry::start();
    let topic = avro_topic(10).await;
    let config = avro_config(&topic)
        .with_schema_registry(&registry.url, KEY, SECRET)
        .with_schema_registry_ssl_cafile(registry.ca_file.to_str().unwrap());
    let snapshot = KafkaDataSource::new(config)
        .unwrap()
        .to_polars_dataframe()
        .await
        .unwrap();
    assert!(
        snapshot.report.skipped.is_empty(),
        "{:?}",
        snapshot.report.skipped
    );
    let df = snapshot.frame;
    let ids: Vec<i64> = df
        .column("user_id")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(ids, (0..10).collect::<Vec<_>>());
    assert_eq!(
        df.column("action").unwrap().str().unwrap().get(1),
        Some("logout")
    );
    // One lookup for the one schema id and one for the subject's latest version (the reader
    // schema; this registry has none), each with the credentials.
    assert_eq!(registry.requests.load(Ordering::SeqCst), 2);
    let expected = Some(format!("Basic {}", base64(&format!("{KEY}:{SECRET}"))));
    assert_eq!(
        *registry.authorizations.lock().unwrap(),
        vec![expected.clone(), expected]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_is_reported_as_http_401_naming_the_registry() {
    const WRONG: &str = "not-the-secret-Xy42";
    let registry = TlsRegistry::start();
    let topic = avro_topic(3).await;
    let config = avro_config(&topic)
        .with_schema_registry(&registry.url, KEY, WRONG)
        .with_schema_registry_ssl_cafile(registry.ca_file.to_str().unwrap());
    let snapshot = KafkaDataSource::new(config)
        .unwrap()
        .to_polars_dataframe()
        .await
        .unwrap();
    assert_eq!(snapshot.frame.height(), 0);
    let skipped = &snapshot.report.skipped;
    assert_eq!(
        skipped
            .iter()
            .map(|s| (s.partition, s.offset))
            .collect::<Vec<_>>(),
        vec![(0, 0), (0, 1), (0, 2)]
    );
    let expected = format!(
        "could not get Avro schema id 7 from {}/schemas/ids/7: HTTP 401: Unauthorized (the \
         registry refused the credentials: check the registry user and password, for Confluent \
         Cloud the Schema Registry API key and secret, not the cluster's)",
        registry.url
    );
    for s in skipped {
        assert_eq!(s.reason, expected);
        let shown = format!("{s:?} {}", s.reason);
        assert!(!shown.contains(WRONG) && !shown.contains(SECRET), "{shown}");
    }
    let report = format!("{:?}", snapshot.report);
    assert!(!report.contains(WRONG), "{report}");
    // The failure is remembered: one request for the three messages.
    assert_eq!(registry.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_ca_file_the_registry_certificate_is_not_trusted() {
    let registry = TlsRegistry::start();
    let topic = avro_topic(2).await;
    let config = avro_config(&topic).with_schema_registry(&registry.url, KEY, SECRET);
    let snapshot = KafkaDataSource::new(config)
        .unwrap()
        .to_polars_dataframe()
        .await
        .unwrap();
    assert_eq!(snapshot.frame.height(), 0);
    let skipped = &snapshot.report.skipped;
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    let reason = &skipped[0].reason;
    assert_eq!(
        reason,
        &format!(
            "could not get Avro schema id 7 from {}/schemas/ids/7: the registry's TLS \
             certificate is not trusted (UnknownIssuer): give the PEM file of the certificate \
             authority that signed it as the registry CA file",
            registry.url
        )
    );
    assert!(!reason.contains(SECRET));
    // The handshake failed: no request reached the registry.
    assert_eq!(registry.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ca_file_that_is_not_pem_fails_building_the_source_naming_it() {
    let registry = TlsRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("not-a-ca.pem");
    std::fs::write(&bad, "hello").unwrap();
    let config = avro_config("any-topic")
        .with_schema_registry(&registry.url, KEY, SECRET)
        .with_schema_registry_ssl_cafile(bad.to_str().unwrap());
    let err = KafkaDataSource::new(config).unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "cannot use the schema registry CA file {}: it holds no PEM certificate",
            bad.display()
        )),
        "{err}"
    );
    assert!(!err.contains(SECRET), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registry_that_never_answers_costs_about_the_consume_timeout() {
    // A listener that never accepts: connections complete in the kernel's backlog and requests
    // are never answered.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let topic = avro_topic(4).await;
    let timeout = Duration::from_secs(2);
    let config = avro_config(&topic)
        .with_schema_registry_url(&url)
        .with_consume_timeout(timeout);
    let started = Instant::now();
    let snapshot = KafkaDataSource::new(config)
        .unwrap()
        .to_polars_dataframe()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= timeout && elapsed < timeout + Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert_eq!(snapshot.frame.height(), 0);
    let skipped = &snapshot.report.skipped;
    assert_eq!(
        skipped.iter().map(|s| s.offset).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    let expected = format!(
        "could not get Avro schema id 7 from {url}/schemas/ids/7: no complete answer within 2s"
    );
    assert!(skipped.iter().all(|s| s.reason == expected), "{skipped:?}");
    drop(silent);
}

#[test]
fn a_certificate_for_another_host_is_refused_saying_so() {
    use truthound::avro::AvroDeserializer;
    use truthound::core::MessageDeserializer;
    let registry = TlsRegistry::with_names(&["registry.example"]);
    let deserializer = AvroDeserializer::with_registry(&registry.url)
        .with_basic_auth(KEY, SECRET)
        .with_ca_file(&registry.ca_file)
        .finish()
        .unwrap();
    let err = deserializer
        .deserialize(&framed(7, &user_event(1, "view")))
        .unwrap_err();
    assert!(
        err.reason().starts_with(&format!(
            "could not get Avro schema id 7 from {}/schemas/ids/7: the registry's TLS \
             certificate is not valid for the host in the URL (NotValidForName",
            registry.url
        )),
        "{err}"
    );
    assert!(
        err.reason()
            .ends_with("): use a host name the certificate names"),
        "{err}"
    );
    assert_eq!(registry.requests.load(Ordering::SeqCst), 0);
}
