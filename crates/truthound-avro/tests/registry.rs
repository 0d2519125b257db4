//! Schema-registry mode against a small HTTP registry on 127.0.0.1 that counts its requests.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use apache_avro::Schema;
use apache_avro::types::Value as Avro;
use truthound_avro::{AvroDeserializer, AvroError};
use truthound_streaming_core::{MessageDeserializer, Value};

const USER: &str = r#"{"type": "record", "name": "User", "fields": [
    {"name": "id", "type": "long"},
    {"name": "name", "type": ["null", "string"]}
]}"#;

const CLICK: &str = r#"{"type": "record", "name": "Click", "namespace": "web", "fields": [
    {"name": "url", "type": "string"},
    {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}}
]}"#;

/// How the test registry answers `GET /schemas/ids/{id}`.
#[derive(Clone)]
enum Reply {
    /// 200 with `{"schema": <this text>}`.
    Schema(&'static str),
    /// This status and body.
    Raw(u16, String),
    /// No answer until the connection is dropped.
    Hang,
    /// This status, with a message quoting the request's `Authorization` header (as a careless
    /// proxy might).
    EchoAuthorization(u16),
}

/// One request as the registry saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: Option<String>,
}

/// A registry on 127.0.0.1:0. It stops when dropped, or by itself after a minute.
struct TestRegistry {
    url: String,
    replies: Arc<Mutex<HashMap<u32, Reply>>>,
    /// Replies to other paths (`/subjects/...`), by path.
    paths: Arc<Mutex<HashMap<String, Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    server: Option<JoinHandle<()>>,
}

impl TestRegistry {
    fn start(replies: impl IntoIterator<Item = (u32, Reply)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let url = format!("http://{}", listener.local_addr().expect("a bound address"));
        let replies = Arc::new(Mutex::new(replies.into_iter().collect::<HashMap<_, _>>()));
        let paths = Arc::new(Mutex::new(HashMap::new()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let server = {
            let (replies, paths, seen, stop) =
                (replies.clone(), paths.clone(), seen.clone(), stop.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(60);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (replies, paths, seen, stop) =
                                (replies.clone(), paths.clone(), seen.clone(), stop.clone());
                            std::thread::spawn(move || {
                                serve(stream, &replies, &paths, &seen, &stop);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        Self {
            url,
            replies,
            paths,
            seen,
            stop,
            server: Some(server),
        }
    }

    fn requests_for(&self, id: u32) -> usize {
        self.requests_to(&format!("/schemas/ids/{id}"))
    }

    fn requests_to(&self, path: &str) -> usize {
        self.seen
            .lock()
            .expect("test registry state")
            .iter()
            .filter(|s| s.path == path)
            .count()
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("test registry state").clone()
    }

    /// Answers `path` (such as `/subjects/users-value/versions/latest`) with `reply`.
    fn set_path(&self, path: &str, reply: Reply) {
        self.paths
            .lock()
            .expect("test registry state")
            .insert(path.to_owned(), reply);
    }

    fn set(&self, id: u32, reply: Reply) {
        self.replies
            .lock()
            .expect("test registry state")
            .insert(id, reply);
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

fn serve(
    stream: TcpStream,
    replies: &Mutex<HashMap<u32, Reply>>,
    paths: &Mutex<HashMap<String, Reply>>,
    seen: &Mutex<Vec<Seen>>,
    stop: &AtomicBool,
) {
    let configured = stream.set_nonblocking(false).is_ok()
        && stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .is_ok();
    let Some(reader) = stream.try_clone().ok().filter(|_| configured) else {
        return;
    };
    let mut reader = BufReader::new(reader);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let mut authorization = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("authorization")
        {
            authorization = Some(value.trim().to_owned());
        }
    }
    seen.lock().expect("test registry state").push(Seen {
        path: path.clone(),
        authorization: authorization.clone(),
    });

    let id = path
        .strip_prefix("/schemas/ids/")
        .and_then(|id| id.parse::<u32>().ok());
    let by_path = paths
        .lock()
        .expect("test registry state")
        .get(&path)
        .cloned();
    let reply = by_path.or_else(|| {
        id.and_then(|id| {
            replies
                .lock()
                .expect("test registry state")
                .get(&id)
                .cloned()
        })
    });
    let (status, body) = match reply {
        Some(Reply::Schema(schema)) => (200, serde_json::json!({ "schema": schema }).to_string()),
        Some(Reply::Raw(status, body)) => (status, body),
        Some(Reply::EchoAuthorization(status)) => (
            status,
            serde_json::json!({
                "error_code": status,
                "message": format!("bad credentials in {authorization:?}"),
            })
            .to_string(),
        ),
        Some(Reply::Hang) => {
            let until = Instant::now() + Duration::from_secs(5);
            while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
            return;
        }
        None => (
            404,
            format!(
                r#"{{"error_code": 40403, "message": "Schema {} not found"}}"#,
                id.map_or("?".to_owned(), |id| id.to_string())
            ),
        ),
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/vnd.schemaregistry.v1+json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// A wire-format payload: magic byte, schema id, datum.
fn framed(id: u32, schema: &str, value: Avro) -> Vec<u8> {
    let schema = Schema::parse_str(schema).expect("test schema parses");
    let mut payload = vec![0];
    payload.extend(id.to_be_bytes());
    payload.extend(apache_avro::to_avro_datum(&schema, value).expect("test value encodes"));
    payload
}

fn user(id: i64, name: Option<&str>) -> Avro {
    Avro::Record(vec![
        ("id".into(), Avro::Long(id)),
        (
            "name".into(),
            match name {
                Some(n) => Avro::Union(1, Box::new(Avro::String(n.into()))),
                None => Avro::Union(0, Box::new(Avro::Null)),
            },
        ),
    ])
}

fn click(url: &str, at_micros: i64) -> Avro {
    Avro::Record(vec![
        ("url".into(), Avro::String(url.into())),
        ("at".into(), Avro::TimestampMicros(at_micros)),
    ])
}

fn obj(fields: Vec<(&str, Value)>) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

#[test]
fn each_schema_id_is_fetched_once() {
    let registry = TestRegistry::start([(1, Reply::Schema(USER)), (7, Reply::Schema(CLICK))]);
    let deserializer = AvroDeserializer::with_registry(format!("{}/", registry.url))
        .with_basic_auth("svc", "p@ss:w0rd")
        .finish()
        .unwrap();

    for i in 0..100_i64 {
        let payload = framed(1, USER, user(i, (i % 2 == 0).then_some("ann")));
        let expected = obj(vec![
            ("id", Value::Int(i)),
            (
                "name",
                if i % 2 == 0 {
                    Value::Str("ann".into())
                } else {
                    Value::Null
                },
            ),
        ]);
        assert_eq!(deserializer.deserialize(&payload).unwrap(), expected);

        let payload = framed(7, CLICK, click("/home", i * 1000 + 999));
        let expected = obj(vec![
            ("url", Value::Str("/home".into())),
            ("at", Value::Int(i * 1000 + 999)),
        ]);
        assert_eq!(deserializer.deserialize(&payload).unwrap(), expected);
    }

    // Clones share the cache, across threads.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let deserializer = deserializer.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let payload = framed(1, USER, user(t * 100 + i, None));
                    let value = deserializer.deserialize(&payload).unwrap();
                    assert_eq!(value.get("id"), Some(&Value::Int(t * 100 + i)));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }

    assert_eq!(registry.requests_for(1), 1);
    assert_eq!(registry.requests_for(7), 1);
    let requests = registry.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    for request in requests {
        assert_eq!(
            request.authorization.as_deref(),
            Some("Basic c3ZjOnBAc3M6dzByZA==")
        );
    }
    let debug = format!("{deserializer:?}");
    assert!(debug.contains("cached_schema_ids: [1, 7]"), "{debug}");
    assert!(!debug.contains("w0rd"), "{debug}");
}

#[test]
fn threads_missing_the_cache_together_fetch_once() {
    let registry = TestRegistry::start([(5, Reply::Schema(USER))]);
    let deserializer = AvroDeserializer::with_registry(&registry.url)
        .finish()
        .unwrap();
    let payload = framed(5, USER, user(1, None));
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| deserializer.deserialize(&payload).unwrap());
        }
    });
    assert_eq!(registry.requests_for(5), 1);
}

#[test]
fn an_unknown_id_fails_naming_the_id_and_url() {
    let registry = TestRegistry::start([(1, Reply::Schema(USER))]);
    let deserializer = AvroDeserializer::with_registry(&registry.url)
        .finish()
        .unwrap();
    let mut payload = framed(1, USER, user(1, None));
    payload[1..5].copy_from_slice(&99_u32.to_be_bytes());

    let err = deserializer.deserialize(&payload).unwrap_err();
    assert_eq!(
        err.reason(),
        format!(
            "could not get Avro schema id 99 from {}/schemas/ids/99: HTTP 404: Schema 99 not found",
            registry.url
        )
    );
    // Within the retry delay the failure is remembered: no second request.
    let again = deserializer.deserialize(&payload).unwrap_err();
    assert_eq!(again, err);
    assert_eq!(registry.requests_for(99), 1);
    // Other ids are unaffected.
    assert!(
        deserializer
            .deserialize(&framed(1, USER, user(2, None)))
            .is_ok()
    );
}

#[test]
fn failed_lookups_are_retried_after_the_delay() {
    let registry = TestRegistry::start([(3, Reply::Raw(503, "busy".into()))]);
    let deserializer = AvroDeserializer::with_registry(&registry.url)
        .with_retry_after(Duration::ZERO)
        .finish()
        .unwrap();
    let payload = framed(3, CLICK, click("/a", 5_000));

    let err = deserializer.deserialize(&payload).unwrap_err();
    assert!(err.reason().contains("schema id 3"), "{err}");
    assert!(
        err.reason().ends_with("HTTP 503: Service Unavailable"),
        "{err}"
    );

    registry.set(3, Reply::Schema(CLICK));
    let value = deserializer.deserialize(&payload).unwrap();
    assert_eq!(value.get("at"), Some(&Value::Int(5_000)));
    deserializer.deserialize(&payload).unwrap();
    assert_eq!(registry.requests_for(3), 2);
}

#[test]
fn the_wire_format_is_checked_before_any_lookup() {
    let registry = TestRegistry::start([(1, Reply::Schema(USER))]);
    let deserializer = AvroDeserializer::with_registry(&registry.url)
        .finish()
        .unwrap();
    let mut payload = framed(1, USER, user(1, None));
    payload[0] = 1;
    assert_eq!(
        deserializer.deserialize(&payload).unwrap_err().reason(),
        "magic byte 0x01 is not 0: expected Confluent wire format: magic byte 0, \
         4-byte schema id, Avro datum"
    );
    for short in [&[][..], &[0], &[0, 0, 0, 1]] {
        let err = deserializer.deserialize(short).unwrap_err();
        assert_eq!(
            err.reason(),
            format!(
                "payload of {} bytes is too short: expected Confluent wire format: magic byte 0, \
                 4-byte schema id, Avro datum",
                short.len()
            )
        );
    }
    assert!(registry.requests().is_empty());
}

#[test]
fn datum_failures_count_bytes_from_the_payload_start() {
    let registry = TestRegistry::start([(1, Reply::Schema(USER))]);
    let deserializer = AvroDeserializer::with_registry(&registry.url)
        .finish()
        .unwrap();
    let payload = framed(1, USER, user(1, Some("ann")));

    let mut trailing = payload.clone();
    trailing.push(0);
    assert_eq!(
        deserializer.deserialize(&trailing).unwrap_err().reason(),
        format!(
            "1 trailing byte after the Avro datum (it ends at byte {} of {})",
            payload.len(),
            payload.len() + 1
        )
    );
    // Header (5) + id (1) + branch (1), then a 3-byte string cut after 1 byte.
    let err = deserializer.deserialize(&payload[..9]).unwrap_err();
    assert_eq!(
        err.reason(),
        "unexpected end of data reading a string of 3 bytes (1 byte left) at byte 7 (in `name`)"
    );
    for len in 5..payload.len() {
        assert!(deserializer.deserialize(&payload[..len]).is_err(), "{len}");
    }
}

#[test]
fn registry_answers_that_are_not_avro_schemas_fail() {
    let registry = TestRegistry::start([
        (
            1,
            Reply::Raw(
                200,
                r#"{"schemaType": "PROTOBUF", "schema": "syntax = \"proto3\";"}"#.into(),
            ),
        ),
        (2, Reply::Schema(r#"{"type": "record", "name": "R"}"#)),
        (3, Reply::Raw(200, "<html>".into())),
        (
            4,
            Reply::Raw(
                200,
                serde_json::json!({"schema": USER, "references": [
                    {"name": "x", "subject": "x-value", "version": 1}
                ]})
                .to_string(),
            ),
        ),
        (5, Reply::Raw(500, "oops".into())),
    ]);
    let deserializer = AvroDeserializer::with_registry(&registry.url)
        .finish()
        .unwrap();
    let reason = |id: u32| {
        deserializer
            .deserialize(&framed(id, USER, user(1, None)))
            .unwrap_err()
            .into_reason()
    };
    let prefix = |id: u32| {
        format!(
            "could not get Avro schema id {id} from {}/schemas/ids/{id}: ",
            registry.url
        )
    };
    assert_eq!(reason(1), prefix(1) + "it is a PROTOBUF schema, not Avro");
    assert!(
        reason(2).starts_with(&(prefix(2) + "invalid Avro schema: ")),
        "{}",
        reason(2)
    );
    assert!(
        reason(3).starts_with(&(prefix(3) + "the response is not JSON")),
        "{}",
        reason(3)
    );
    assert_eq!(
        reason(4),
        prefix(4)
            + &format!(
                "its reference to version 1 of subject `x-value` ({}/subjects/x-value/versions/1): \
                 HTTP 404: Schema ? not found",
                registry.url
            )
    );
    assert_eq!(reason(5), prefix(5) + "HTTP 500: Internal Server Error");
}

#[test]
fn an_unreachable_registry_fails_naming_the_id() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let deserializer = AvroDeserializer::with_registry(&url)
        .with_timeout(Duration::from_secs(2))
        .finish()
        .unwrap();
    let err = deserializer
        .deserialize(&framed(42, USER, user(1, None)))
        .unwrap_err();
    assert!(
        err.reason().starts_with(&format!(
            "could not get Avro schema id 42 from {url}/schemas/ids/42: "
        )),
        "{err}"
    );
}

#[test]
fn a_silent_registry_times_out() {
    let registry = TestRegistry::start([(1, Reply::Hang)]);
    let deserializer = AvroDeserializer::with_registry(&registry.url)
        .with_timeout(Duration::from_millis(300))
        .finish()
        .unwrap();
    let started = Instant::now();
    let err = deserializer
        .deserialize(&framed(1, USER, user(1, None)))
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(err.reason().contains("schema id 1"), "{err}");
    assert!(
        err.reason().ends_with("no complete answer within 300ms"),
        "{err}"
    );
}

#[test]
fn bad_registry_urls_fail_at_finish() {
    for url in [
        "localhost:8081",
        "http://user:secret@localhost:8081",
        "http://",
    ] {
        let err = AvroDeserializer::with_registry(url).finish().unwrap_err();
        assert!(
            matches!(err, AvroError::RegistryUrl { .. }),
            "{url}: {err:?}"
        );
    }
    let https = AvroDeserializer::with_registry("https://registry.example:8081").finish();
    if cfg!(feature = "tls") {
        assert!(https.is_ok());
    } else {
        assert_eq!(
            https.unwrap_err().to_string(),
            r#"invalid schema registry URL "https://registry.example:8081": https registries need a build with the `tls` feature"#
        );
    }
}

/// Every message a registry deserializer can produce about its configuration or a lookup,
/// formatted with `Display` and `Debug`: none holds the password or its base64 form.
#[test]
fn no_message_shows_the_password() {
    const PASSWORD: &str = "Sr-S3cret-Xy9";
    // base64("svc:Sr-S3cret-Xy9") and base64 of the password alone.
    const TOKEN: &str = "c3ZjOlNyLVMzY3JldC1YeTk=";
    let leaks = |text: &str| {
        text.contains(PASSWORD) || text.contains(TOKEN) || text.contains("U3ItUzNjcmV0LVh5OQ")
    };
    let mut texts = Vec::new();

    // Refused URLs: credentials, query, bad scheme, each with the password in it.
    for url in [
        format!("http://svc:{PASSWORD}@localhost:8081"),
        format!("https://svc:{PASSWORD}@registry.example/path"),
        format!("http://localhost:8081/?api_secret={PASSWORD}"),
        format!("http://localhost:8081#{PASSWORD}"),
        format!("ftp://svc:{PASSWORD}@localhost"),
    ] {
        let builder = AvroDeserializer::with_registry(&url).with_basic_auth("svc", PASSWORD);
        texts.push(format!("{builder:?}"));
        let err = builder.finish().unwrap_err();
        assert!(matches!(err, AvroError::RegistryUrl { .. }), "{err:?}");
        texts.push(err.to_string());
        texts.push(format!("{err:?}"));
    }
    // Credentials basic auth cannot carry, and a CA file that is not used.
    let err = AvroDeserializer::with_registry("http://localhost:8081")
        .with_basic_auth("svc:x", PASSWORD)
        .finish()
        .unwrap_err();
    assert!(matches!(err, AvroError::RegistryAuth(_)), "{err:?}");
    texts.push(err.to_string());
    texts.push(format!("{err:?}"));
    let err = AvroDeserializer::with_registry("http://localhost:8081")
        .with_basic_auth("svc", PASSWORD)
        .with_ca_file("/nonexistent/ca.pem")
        .finish()
        .unwrap_err();
    assert!(matches!(err, AvroError::RegistryCaFile { .. }), "{err:?}");
    texts.push(err.to_string());
    texts.push(format!("{err:?}"));

    // Lookup failures: refused credentials (with the header echoed back), forbidden, missing,
    // an unreachable registry.
    let registry = TestRegistry::start([
        (1, Reply::EchoAuthorization(401)),
        (2, Reply::EchoAuthorization(403)),
        (3, Reply::Raw(500, format!("{PASSWORD} {TOKEN}"))),
    ]);
    let deserializer = AvroDeserializer::with_registry(&registry.url)
        .with_basic_auth("svc", PASSWORD)
        .finish()
        .unwrap();
    texts.push(format!("{deserializer:?}"));
    for id in [1, 2, 3, 4] {
        let err = deserializer
            .deserialize(&framed(id, USER, user(1, None)))
            .unwrap_err();
        texts.push(err.to_string());
        texts.push(format!("{err:?}"));
    }
    let unauthorized = &texts[texts.len() - 8];
    assert!(
        unauthorized.contains(&format!("from {}/schemas/ids/1: HTTP 401: ", registry.url))
            && unauthorized.contains("the registry refused the credentials"),
        "{unauthorized}"
    );
    // The request did carry the credentials.
    assert_eq!(
        registry.requests()[0].authorization.as_deref(),
        Some(format!("Basic {TOKEN}").as_str())
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = AvroDeserializer::with_registry(format!("http://127.0.0.1:{port}"))
        .with_basic_auth("svc", PASSWORD)
        .with_timeout(Duration::from_secs(2))
        .finish()
        .unwrap();
    let err = unreachable
        .deserialize(&framed(1, USER, user(1, None)))
        .unwrap_err();
    texts.push(err.to_string());

    for text in &texts {
        assert!(!leaks(text), "a secret shows in: {text}");
    }
    let userinfo = &texts[1];
    assert!(
        userinfo.contains(r#""http://***@localhost:8081""#),
        "{userinfo}"
    );
}

#[test]
fn a_401_without_credentials_says_they_are_needed() {
    let registry = TestRegistry::start([(1, Reply::EchoAuthorization(401))]);
    let deserializer = AvroDeserializer::with_registry(&registry.url)
        .finish()
        .unwrap();
    let err = deserializer
        .deserialize(&framed(1, USER, user(1, None)))
        .unwrap_err();
    assert_eq!(
        err.reason(),
        format!(
            "could not get Avro schema id 1 from {}/schemas/ids/1: HTTP 401: bad credentials in \
             None (the registry needs credentials: give a registry user and password)",
            registry.url
        )
    );
}

#[test]
fn ca_files_are_checked_at_finish_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("truthound-avro-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "no certificates here\n").unwrap();
    let missing = dir.join("missing.pem");
    let finish = |path: &std::path::Path| {
        AvroDeserializer::with_registry("https://registry.example")
            .with_ca_file(path)
            .finish()
            .unwrap_err()
            .to_string()
    };
    if cfg!(feature = "tls") {
        let err = finish(&missing);
        assert!(
            err.starts_with(&format!(
                "cannot use the schema registry CA file {}: cannot read it: ",
                missing.display()
            )),
            "{err}"
        );
        assert_eq!(
            finish(&empty),
            format!(
                "cannot use the schema registry CA file {}: it holds no PEM certificate \
                 (-----BEGIN CERTIFICATE-----)",
                empty.display()
            )
        );
    } else {
        assert!(finish(&missing).contains("the `tls` feature"));
    }
    // Over http:// the file would be ignored: refused instead.
    let err = AvroDeserializer::with_registry("http://registry.example")
        .with_ca_file(&empty)
        .finish()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot use the schema registry CA file {}: the registry URL is http://, which does \
             not use TLS: use https:// or remove the CA file",
            empty.display()
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Three versions of a subject's schema, as a producer's registrations evolve it: v2 adds
/// `country` with a default and widens `id` to long; v3 drops `nick`, widens `score` to double
/// and adds `tags` with a default.
const V1: &str = r#"{"type": "record", "name": "Member", "namespace": "club", "fields": [
    {"name": "id", "type": "int"},
    {"name": "nick", "type": "string"},
    {"name": "score", "type": "float"}
]}"#;
const V2: &str = r#"{"type": "record", "name": "Member", "namespace": "club", "fields": [
    {"name": "id", "type": "long"},
    {"name": "nick", "type": "string"},
    {"name": "score", "type": "float"},
    {"name": "country", "type": "string", "default": "unknown"}
]}"#;
const V3: &str = r#"{"type": "record", "name": "Member", "namespace": "club", "fields": [
    {"name": "id", "type": "long"},
    {"name": "score", "type": "double"},
    {"name": "country", "type": "string", "default": "unknown"},
    {"name": "tags", "type": {"type": "array", "items": "string"}, "default": ["new"]},
    {"name": "since", "type": ["null", {"type": "int", "logicalType": "date"}], "default": null}
]}"#;

fn member_v1(id: i32, nick: &str, score: f32) -> Avro {
    Avro::Record(vec![
        ("id".into(), Avro::Int(id)),
        ("nick".into(), Avro::String(nick.into())),
        ("score".into(), Avro::Float(score)),
    ])
}

fn member_v2(id: i64, nick: &str, score: f32, country: &str) -> Avro {
    Avro::Record(vec![
        ("id".into(), Avro::Long(id)),
        ("nick".into(), Avro::String(nick.into())),
        ("score".into(), Avro::Float(score)),
        ("country".into(), Avro::String(country.into())),
    ])
}

fn member_v3(id: i64, score: f64, country: &str, tags: &[&str], since: Option<i32>) -> Avro {
    Avro::Record(vec![
        ("id".into(), Avro::Long(id)),
        ("score".into(), Avro::Double(score)),
        ("country".into(), Avro::String(country.into())),
        (
            "tags".into(),
            Avro::Array(tags.iter().map(|t| Avro::String((*t).into())).collect()),
        ),
        (
            "since".into(),
            match since {
                Some(days) => Avro::Union(1, Box::new(Avro::Date(days))),
                None => Avro::Union(0, Box::new(Avro::Null)),
            },
        ),
    ])
}

fn member(id: i64, score: f64, country: &str, tags: &[&str], since: Value) -> Value {
    obj(vec![
        ("id", Value::Int(id)),
        ("score", Value::Float(score)),
        ("country", Value::Str(country.into())),
        (
            "tags",
            Value::Array(tags.iter().map(|t| Value::Str((*t).into())).collect()),
        ),
        ("since", since),
    ])
}

fn latest(version: u32, id: u32, schema: &str) -> Reply {
    Reply::Raw(
        200,
        serde_json::json!({"subject": "members-value", "version": version, "id": id,
                           "schema": schema})
        .to_string(),
    )
}

#[test]
fn messages_of_every_version_are_read_as_the_latest() {
    let registry = TestRegistry::start([
        (1, Reply::Schema(V1)),
        (2, Reply::Schema(V2)),
        (3, Reply::Schema(V3)),
    ]);
    registry.set_path("/subjects/members-value/versions/latest", latest(3, 3, V3));
    let deserializer = AvroDeserializer::with_registry(&registry.url)
        .with_reader_subject("members-value")
        .finish()
        .unwrap();

    for _ in 0..3 {
        // The values as the latest version reads them: v1's int id widened, its nick dropped,
        // its float score widened exactly, the fields it lacks from their defaults.
        assert_eq!(
            deserializer
                .deserialize(&framed(1, V1, member_v1(7, "ada", 0.5)))
                .unwrap(),
            member(7, 0.5, "unknown", &["new"], Value::Null)
        );
        assert_eq!(
            deserializer
                .deserialize(&framed(2, V2, member_v2(1 << 40, "bob", 1.25, "NZ")))
                .unwrap(),
            member(1 << 40, 1.25, "NZ", &["new"], Value::Null)
        );
        assert_eq!(
            deserializer
                .deserialize(&framed(3, V3, member_v3(9, 0.1, "FR", &[], Some(19_782))))
                .unwrap(),
            member(9, 0.1, "FR", &[], Value::Str("2024-02-29".into()))
        );
    }
    // Each id and the latest version are asked for once.
    for id in 1..=3 {
        assert_eq!(registry.requests_for(id), 1);
    }
    assert_eq!(
        registry.requests_to("/subjects/members-value/versions/latest"),
        1
    );
    let debug = format!("{deserializer:?}");
    assert!(
        debug.contains("latest of subject `members-value`"),
        "{debug}"
    );
}

#[test]
fn without_a_reader_each_message_keeps_its_writer_fields() {
    let registry = TestRegistry::start([(1, Reply::Schema(V1)), (3, Reply::Schema(V3))]);
    let deserializer = AvroDeserializer::with_registry(&registry.url)
        .finish()
        .unwrap();
    let value = deserializer
        .deserialize(&framed(1, V1, member_v1(7, "ada", 0.5)))
        .unwrap();
    assert_eq!(value.to_string(), r#"{"id":7,"nick":"ada","score":0.5}"#);
    // A subject the registry does not have (another naming strategy): read as written.
    let deserializer = AvroDeserializer::with_registry(&registry.url)
        .with_reader_subject_if_present("club.Member")
        .finish()
        .unwrap();
    let value = deserializer
        .deserialize(&framed(1, V1, member_v1(7, "ada", 0.5)))
        .unwrap();
    assert_eq!(value.to_string(), r#"{"id":7,"nick":"ada","score":0.5}"#);
    assert_eq!(
        registry.requests_to("/subjects/club.Member/versions/latest"),
        1
    );
    // A subject asked for by name must exist.
    let deserializer = AvroDeserializer::with_registry(&registry.url)
        .with_reader_subject("club.Membr")
        .finish()
        .unwrap();
    let err = deserializer
        .deserialize(&framed(1, V1, member_v1(7, "ada", 0.5)))
        .unwrap_err();
    assert_eq!(
        err.reason(),
        format!(
            "could not read schema id 1: could not get the latest version of subject \
             `club.Membr` from {}/subjects/club.Membr/versions/latest: HTTP 404: Schema ? not \
             found",
            registry.url
        )
    );
}

#[test]
fn a_given_reader_schema_is_used_and_incompatible_writers_fail_naming_the_field() {
    let registry = TestRegistry::start([(1, Reply::Schema(V1)), (2, Reply::Schema(V2))]);
    // A reader needing `email`, which v1 lacks and has no default for.
    let reader = r#"{"type": "record", "name": "Member", "namespace": "club", "fields": [
        {"name": "id", "type": "long"}, {"name": "email", "type": "string"}]}"#;
    let deserializer = AvroDeserializer::with_registry(&registry.url)
        .with_reader_schema_json(reader)
        .finish()
        .unwrap();
    let err = deserializer
        .deserialize(&framed(1, V1, member_v1(7, "ada", 0.5)))
        .unwrap_err();
    assert_eq!(
        err.reason(),
        "schema id 1 cannot be read as the given reader schema: the reader schema cannot read \
         the writer schema: the reader's field `email` of record `Member` is not in the \
         writer's schema and has no default (without a reader schema, messages are read as \
         written)"
    );
    // The failure is remembered like a failed lookup: no second request.
    assert!(
        deserializer
            .deserialize(&framed(1, V1, member_v1(8, "bob", 0.5)))
            .is_err()
    );
    assert_eq!(registry.requests_for(1), 1);
    // A bad reader schema fails at finish.
    let err = AvroDeserializer::with_registry(&registry.url)
        .with_reader_schema_json(r#"{"type": "record"}"#)
        .finish()
        .unwrap_err();
    assert!(matches!(err, AvroError::InvalidSchema(_)), "{err}");
}

#[test]
fn schema_references_are_fetched_once_and_resolved() {
    const ADDRESS: &str = r#"{"type": "record", "name": "Address", "namespace": "geo",
        "fields": [{"name": "city", "type": "string"}, {"name": "zone", "type": "geo.Zone"}]}"#;
    const ZONE: &str = r#"{"type": "enum", "name": "Zone", "namespace": "geo",
        "symbols": ["NORTH", "SOUTH"]}"#;
    const CUSTOMER: &str = r#"{"type": "record", "name": "Customer", "fields": [
        {"name": "id", "type": "long"},
        {"name": "home", "type": "geo.Address"},
        {"name": "work", "type": ["null", "geo.Address"]}]}"#;
    let registry = TestRegistry::start([(
        21,
        Reply::Raw(
            200,
            serde_json::json!({"schema": CUSTOMER, "references": [
                {"name": "geo.Address", "subject": "address", "version": 2}
            ]})
            .to_string(),
        ),
    )]);
    registry.set_path(
        "/subjects/address/versions/2",
        Reply::Raw(
            200,
            serde_json::json!({"subject": "address", "version": 2, "id": 20,
                "schema": ADDRESS,
                "references": [{"name": "geo.Zone", "subject": "zone", "version": 1}]})
            .to_string(),
        ),
    );
    registry.set_path(
        "/subjects/zone/versions/1",
        Reply::Raw(
            200,
            serde_json::json!({"subject": "zone", "version": 1, "id": 19, "schema": ZONE})
                .to_string(),
        ),
    );
    // The same schema with the references written out, for the encoder.
    let inline = CUSTOMER.replace(
        r#""type": "geo.Address"}"#,
        &format!(r#""type": {}}}"#, ADDRESS.replace(r#""geo.Zone""#, ZONE)),
    );
    let schema = Schema::parse_str(&inline).expect("test schema parses");
    let address = |city: &str, zone: u32, symbol: &str| {
        Avro::Record(vec![
            ("city".into(), Avro::String(city.into())),
            ("zone".into(), Avro::Enum(zone, symbol.into())),
        ])
    };
    let datum = apache_avro::to_avro_datum(
        &schema,
        Avro::Record(vec![
            ("id".into(), Avro::Long(5)),
            ("home".into(), address("Oslo", 0, "NORTH")),
            (
                "work".into(),
                Avro::Union(1, Box::new(address("Rome", 1, "SOUTH"))),
            ),
        ]),
    )
    .expect("test value encodes");
    let mut payload = vec![0, 0, 0, 0, 21];
    payload.extend(datum);

    let deserializer = AvroDeserializer::with_registry(&registry.url)
        .finish()
        .unwrap();
    for _ in 0..3 {
        let value = deserializer.deserialize(&payload).unwrap();
        assert_eq!(
            value.to_string(),
            r#"{"id":5,"home":{"city":"Oslo","zone":"NORTH"},"work":{"city":"Rome","zone":"SOUTH"}}"#
        );
    }
    assert_eq!(registry.requests_for(21), 1);
    assert_eq!(registry.requests_to("/subjects/address/versions/2"), 1);
    assert_eq!(registry.requests_to("/subjects/zone/versions/1"), 1);
}
