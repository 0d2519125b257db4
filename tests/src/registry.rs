//! A schema registry speaking the Confluent REST API, in memory, for the serializers of
//! `confluent-kafka` (through the interop peer) and for the code under test.
//!
//! It answers what the serializers and deserializers ask: `POST /subjects/{s}/versions`
//! (register: the same schema text and type get the same id), `POST /subjects/{s}` (look a
//! schema up), `GET /schemas/ids/{id}`, `GET /subjects/{s}/versions/{latest|n}` and
//! `GET /subjects`. Compatibility is not checked: every registration is accepted, as a
//! registry with compatibility `NONE` would.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// One registered schema.
#[derive(Debug, Clone)]
struct Registered {
    schema: String,
    schema_type: String,
    references: Value,
}

#[derive(Debug, Default)]
struct State {
    /// Schemas by id (ids from 1).
    schemas: Vec<Registered>,
    /// Each subject's versions: schema ids, version 1 first.
    subjects: HashMap<String, Vec<u32>>,
    /// Every request line seen, such as `GET /schemas/ids/1`.
    seen: Vec<String>,
}

/// A registry on 127.0.0.1:0, stopped on drop.
pub struct ConfluentRegistry {
    url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl ConfluentRegistry {
    /// Starts the registry on a free loopback port.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port for the registry");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let url = format!("http://{}", listener.local_addr().expect("a bound address"));
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (served, stopping) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let state = served.clone();
                        std::thread::spawn(move || serve(stream, &state));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Self { url, state, stop }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many requests had this request line (`"GET /schemas/ids/1"`), query excluded.
    pub fn requests(&self, line: &str) -> usize {
        self.lock().seen.iter().filter(|s| *s == line).count()
    }

    /// The schema ids of a subject's versions, version 1 first.
    pub fn versions(&self, subject: &str) -> Vec<u32> {
        self.lock()
            .subjects
            .get(subject)
            .cloned()
            .unwrap_or_default()
    }

    /// Registers `text` of `schema_type` (`AVRO`, `PROTOBUF`, `JSON`) as the next version of
    /// `subject`, without references, as a serializer would; returns its id.
    pub fn register(&self, subject: &str, schema_type: &str, text: &str) -> u32 {
        let body = json!({"schema": text, "schemaType": schema_type}).to_string();
        let mut state = self.lock();
        let (_, reply) = answer(
            &mut state,
            "POST",
            &format!("/subjects/{subject}/versions"),
            body.as_bytes(),
        );
        reply["id"]
            .as_u64()
            .and_then(|id| u32::try_from(id).ok())
            .expect("the registry gives an id")
    }

    /// The text and type of schema `id` as registered.
    ///
    /// # Panics
    /// When there is no such schema.
    pub fn schema(&self, id: u32) -> (String, String) {
        let state = self.lock();
        let registered = &state.schemas[id as usize - 1];
        (registered.schema.clone(), registered.schema_type.clone())
    }

    /// Serves schema `id` with this text from now on (its type and references unchanged): the
    /// same schema in another of its forms, such as `.proto` text for a descriptor.
    ///
    /// # Panics
    /// When there is no such schema.
    pub fn replace_schema(&self, id: u32, text: &str) {
        self.lock().schemas[id as usize - 1].schema = text.to_owned();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for ConfluentRegistry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Serves the requests of one connection (HTTP/1.1, keep-alive) until the client closes it.
fn serve(stream: TcpStream, state: &Mutex<State>) {
    if stream.set_nonblocking(false).is_err()
        || stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .is_err()
    {
        return;
    }
    let Ok(reader) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader);
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0_usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length.min(16 << 20)];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default();
        let path = target.split('?').next().unwrap_or_default().to_owned();
        let (status, reply) = {
            let mut state = state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state.seen.push(format!("{method} {path}"));
            answer(&mut state, &method, &path, &body)
        };
        let reply = reply.to_string();
        let written = write!(
            writer,
            "HTTP/1.1 {status} {}\r\nContent-Type: application/vnd.schemaregistry.v1+json\r\n\
             Content-Length: {}\r\n\r\n{reply}",
            if status == 200 { "OK" } else { "Error" },
            reply.len()
        );
        if written.is_err() || writer.flush().is_err() {
            return;
        }
    }
}

/// `%XX` sequences in a path segment decoded.
fn unescape(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = segment
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn not_found(code: u32, message: &str) -> (u16, Value) {
    (404, json!({"error_code": code, "message": message}))
}

/// The document of schema `id` as `GET /subjects/{s}/versions/{v}` returns it.
fn version_document(state: &State, subject: &str, version: usize, id: u32) -> Value {
    let registered = &state.schemas[id as usize - 1];
    let mut document = json!({
        "subject": subject,
        "version": version,
        "id": id,
        "schema": registered.schema,
    });
    if registered.schema_type != "AVRO" {
        document["schemaType"] = json!(registered.schema_type);
    }
    if registered
        .references
        .as_array()
        .is_some_and(|r| !r.is_empty())
    {
        document["references"] = registered.references.clone();
    }
    document
}

fn answer(state: &mut State, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let segments: Vec<String> = path.trim_matches('/').split('/').map(unescape).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (method, segments.as_slice()) {
        ("POST", ["subjects", subject, rest @ ..]) if rest.is_empty() || rest == ["versions"] => {
            let Ok(request) = serde_json::from_slice::<Value>(body) else {
                return (
                    422,
                    json!({"error_code": 42201, "message": "the body is not JSON"}),
                );
            };
            let Some(schema) = request.get("schema").and_then(Value::as_str) else {
                return (422, json!({"error_code": 42201, "message": "no schema"}));
            };
            let registered = Registered {
                schema: schema.to_owned(),
                schema_type: request
                    .get("schemaType")
                    .and_then(Value::as_str)
                    .unwrap_or("AVRO")
                    .to_owned(),
                references: request.get("references").cloned().unwrap_or(json!([])),
            };
            let existing = state.schemas.iter().position(|r| {
                r.schema == registered.schema && r.schema_type == registered.schema_type
            });
            let versions = state.subjects.get(*subject).cloned().unwrap_or_default();
            if rest.is_empty() {
                // Lookup: the version of the subject with this schema.
                return match existing.and_then(|i| {
                    let id = u32::try_from(i + 1).ok()?;
                    versions.iter().position(|v| *v == id).map(|at| (at, id))
                }) {
                    Some((at, id)) => (200, version_document(state, subject, at + 1, id)),
                    None => not_found(40403, "Schema not found"),
                };
            }
            let id = match existing {
                Some(i) => u32::try_from(i + 1).expect("few schemas"),
                None => {
                    state.schemas.push(registered);
                    u32::try_from(state.schemas.len()).expect("few schemas")
                }
            };
            let versions = state.subjects.entry((*subject).to_owned()).or_default();
            if !versions.contains(&id) {
                versions.push(id);
            }
            (200, json!({"id": id}))
        }
        ("GET", ["schemas", "ids", id]) => {
            let Some(registered) = id
                .parse::<usize>()
                .ok()
                .and_then(|id| state.schemas.get(id.checked_sub(1)?))
            else {
                return not_found(40403, "Schema not found");
            };
            let mut document = json!({"schema": registered.schema});
            if registered.schema_type != "AVRO" {
                document["schemaType"] = json!(registered.schema_type);
            }
            if registered
                .references
                .as_array()
                .is_some_and(|r| !r.is_empty())
            {
                document["references"] = registered.references.clone();
            }
            (200, document)
        }
        ("GET", ["subjects"]) => {
            let mut subjects: Vec<&String> = state.subjects.keys().collect();
            subjects.sort();
            (200, json!(subjects))
        }
        ("GET", ["subjects", subject, "versions"]) => match state.subjects.get(*subject) {
            Some(versions) => (200, json!((1..=versions.len()).collect::<Vec<_>>())),
            None => not_found(40401, "Subject not found"),
        },
        ("GET", ["subjects", subject, "versions", version]) => {
            let Some(versions) = state.subjects.get(*subject) else {
                return not_found(40401, "Subject not found");
            };
            let at = match *version {
                "latest" | "-1" => versions.len(),
                n => n.parse().unwrap_or(0),
            };
            match at.checked_sub(1).and_then(|i| versions.get(i)) {
                Some(&id) => (200, version_document(state, subject, at, id)),
                None => not_found(40402, "Version not found"),
            }
        }
        ("GET", ["config", ..]) => (200, json!({"compatibilityLevel": "NONE"})),
        _ => not_found(404, "Not found"),
    }
}
