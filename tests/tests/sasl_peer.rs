//! SASL exchanges no real broker here can be made to do: PLAIN (nisshi enables only SCRAM), and
//! SCRAM servers that misbehave (a wrong server signature, a nonce that is not ours, a
//! malformed server-first message, iteration counts out of bounds), and a broker whose SASL
//! sessions expire (KIP-368). A scripted peer in the test speaks just enough of the protocol:
//! ApiVersions, SaslHandshake, SaslAuthenticate and Metadata.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use kafka_protocol::messages::metadata_response::MetadataResponseBroker;
use kafka_protocol::messages::{
    ApiKey, BrokerId, MetadataResponse, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use truthound_kafka_client::{
    ClientConfig, ConnectionError, Error, KafkaClient, SaslConfig, SaslMechanism, SecurityProtocol,
};
use truthound_tests::peer::{api_versions, frame, read_request, start_response};

/// What the peer does in the SASL exchange.
#[derive(Clone, Debug)]
enum Script {
    /// PLAIN: accepts exactly this user and password; sessions last `lifetime_ms` (0: forever).
    Plain {
        user: &'static str,
        password: &'static str,
        lifetime_ms: i64,
    },
    /// SCRAM-SHA-256 with a server-first message made by this function of the client nonce,
    /// then a server-final message with a signature that cannot be right.
    Scram(fn(&str) -> String),
}

/// What the peer saw.
#[derive(Default, Debug)]
struct Seen {
    /// Every SaslAuthenticate payload received.
    auth_messages: Vec<Vec<u8>>,
    /// Successful authentications.
    sessions: usize,
    /// Requests that arrived on a connection whose SASL session had expired.
    expired_requests: usize,
    /// Requests answered after authentication (Metadata).
    requests: usize,
}

struct Peer {
    addr: String,
    seen: Arc<Mutex<Seen>>,
}

async fn start(script: Script) -> Peer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(serve(socket, addr.port(), script.clone(), shared.clone()));
        }
    });
    Peer {
        addr: addr.to_string(),
        seen,
    }
}

async fn serve(mut socket: TcpStream, port: u16, script: Script, seen: Arc<Mutex<Seen>>) {
    // When this connection's session expires, if it has a lifetime.
    let mut expires: Option<Instant> = None;
    let mut authenticated = false;
    let mut scram_round = 0;
    while let Some((header, key, mut request_body)) = read_request(&mut socket).await {
        let version = header.request_api_version;
        let mut body = start_response(&header, key);
        let mut close = false;
        match key {
            ApiKey::ApiVersions => api_versions(&[
                (ApiKey::ApiVersions, 0, 3),
                (ApiKey::Metadata, 1, 12),
                (ApiKey::SaslHandshake, 0, 1),
                (ApiKey::SaslAuthenticate, 0, 2),
            ])
            .encode(&mut body, version)
            .unwrap(),
            ApiKey::SaslHandshake => {
                let request = SaslHandshakeRequest::decode(&mut request_body, version).unwrap();
                let enabled = match script {
                    Script::Plain { .. } => "PLAIN",
                    Script::Scram(_) => "SCRAM-SHA-256",
                };
                SaslHandshakeResponse::default()
                    .with_error_code(if request.mechanism.as_str() == enabled {
                        0
                    } else {
                        33
                    })
                    .with_mechanisms(vec![StrBytes::from_static_str(enabled)])
                    .encode(&mut body, version)
                    .unwrap();
            }
            ApiKey::SaslAuthenticate => {
                let request = SaslAuthenticateRequest::decode(&mut request_body, version).unwrap();
                let message = request.auth_bytes.to_vec();
                seen.lock().unwrap().auth_messages.push(message.clone());
                let mut response = SaslAuthenticateResponse::default();
                match &script {
                    Script::Plain {
                        user,
                        password,
                        lifetime_ms,
                    } => {
                        if message == format!("\0{user}\0{password}").as_bytes() {
                            authenticated = true;
                            seen.lock().unwrap().sessions += 1;
                            response.session_lifetime_ms = *lifetime_ms;
                            if *lifetime_ms > 0 {
                                expires = Some(
                                    Instant::now() + Duration::from_millis(*lifetime_ms as u64),
                                );
                            }
                        } else {
                            response.error_code = 58; // SASL_AUTHENTICATION_FAILED
                            response.error_message = Some(StrBytes::from_static_str(
                                "Authentication failed: Invalid username or password",
                            ));
                            close = true;
                        }
                    }
                    Script::Scram(server_first) => {
                        scram_round += 1;
                        let text = String::from_utf8(message).unwrap();
                        if scram_round == 1 {
                            let nonce = text.rsplit_once(",r=").unwrap().1;
                            response.auth_bytes = Bytes::from(server_first(nonce));
                        } else {
                            // A signature of the right length that no password yields.
                            let signature = BASE64.encode([7u8; 32]);
                            response.auth_bytes = Bytes::from(format!("v={signature}"));
                        }
                    }
                }
                response.encode(&mut body, version).unwrap();
            }
            ApiKey::Metadata => {
                {
                    let mut seen = seen.lock().unwrap();
                    if !authenticated {
                        panic!("the client sent Metadata before authenticating");
                    }
                    if expires.is_some_and(|at| Instant::now() >= at) {
                        // As Kafka does: a request on an expired session closes the connection.
                        seen.expired_requests += 1;
                        return;
                    }
                    seen.requests += 1;
                }
                MetadataResponse::default()
                    .with_brokers(vec![
                        MetadataResponseBroker::default()
                            .with_node_id(BrokerId(1))
                            .with_host(StrBytes::from_static_str("127.0.0.1"))
                            .with_port(port as i32),
                    ])
                    .with_controller_id(BrokerId(1))
                    .encode(&mut body, version)
                    .unwrap();
            }
            other => panic!("the scripted SASL peer does not answer {other:?}"),
        }
        if socket.write_all(&frame(&body)).await.is_err() || close {
            return;
        }
    }
}

fn config(peer: &Peer, sasl: SaslConfig) -> ClientConfig {
    ClientConfig::new([peer.addr.as_str()])
        .with_security_protocol(SecurityProtocol::SaslPlaintext)
        .with_connect_timeout(Duration::from_secs(5))
        .with_request_timeout(Duration::from_secs(5))
        .with_sasl(sasl)
}

fn connection_error(err: Error) -> ConnectionError {
    match err {
        Error::Connection(e) => e,
        other => panic!("expected a connection error, got {other:?}"),
    }
}

/// Connects with SCRAM-SHA-256 to a peer whose server-first message is `server_first(nonce)`
/// and returns the SASL failure's reason.
async fn scram_failure(server_first: fn(&str) -> String) -> String {
    let peer = start(Script::Scram(server_first)).await;
    let err = KafkaClient::connect(config(
        &peer,
        SaslConfig::new(SaslMechanism::ScramSha256, "alice", "pencil-7781"),
    ))
    .await
    .unwrap_err();
    let err = connection_error(err);
    let text = err.to_string();
    assert!(!text.contains("pencil-7781") && !format!("{err:?}").contains("pencil-7781"));
    match err {
        ConnectionError::Sasl {
            broker,
            mechanism,
            reason,
        } => {
            assert_eq!(broker, peer.addr);
            assert_eq!(mechanism, SaslMechanism::ScramSha256);
            assert!(text.contains(&peer.addr), "{text}");
            reason
        }
        other => panic!("expected ConnectionError::Sasl, got {other:?}"),
    }
}

#[tokio::test]
async fn plain_sends_user_and_password_and_is_accepted() {
    let peer = start(Script::Plain {
        user: "api-key",
        password: "api-secret-1",
        lifetime_ms: 0,
    })
    .await;
    let client = KafkaClient::connect(config(
        &peer,
        SaslConfig::new(SaslMechanism::Plain, "api-key", "api-secret-1"),
    ))
    .await
    .unwrap();
    client.refresh_metadata(&[]).await.unwrap();
    let seen = peer.seen.lock().unwrap();
    assert_eq!(
        seen.auth_messages,
        vec![b"\0api-key\0api-secret-1".to_vec()]
    );
    assert_eq!(seen.sessions, 1);
    assert!(seen.requests >= 2, "{seen:?}");
}

#[tokio::test]
async fn plain_with_a_wrong_password_is_refused_without_showing_it() {
    let peer = start(Script::Plain {
        user: "api-key",
        password: "api-secret-1",
        lifetime_ms: 0,
    })
    .await;
    let err = KafkaClient::connect(config(
        &peer,
        SaslConfig::new(SaslMechanism::Plain, "api-key", "wrong-secret-9"),
    ))
    .await
    .unwrap_err();
    let err = connection_error(err);
    let (text, debug) = (err.to_string(), format!("{err:?}"));
    assert!(!text.contains("wrong-secret-9") && !debug.contains("wrong-secret-9"));
    match &err {
        ConnectionError::SaslAuthentication {
            broker,
            mechanism,
            username,
            message,
        } => {
            assert_eq!(broker, &peer.addr);
            assert_eq!(*mechanism, SaslMechanism::Plain);
            assert_eq!(username, "api-key");
            assert_eq!(
                message,
                "SASL_AUTHENTICATION_FAILED: Authentication failed: Invalid username or password"
            );
        }
        other => panic!("expected SaslAuthentication, got {other:?}"),
    }
    // Refused credentials are not retried: one attempt reached the peer.
    assert_eq!(peer.seen.lock().unwrap().auth_messages.len(), 1);
}

#[tokio::test]
async fn scram_with_a_wrong_server_signature_is_refused() {
    let reason =
        scram_failure(|nonce| format!("r={nonce}srv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")).await;
    assert!(
        reason.starts_with("the server's signature is wrong"),
        "{reason}"
    );
}

#[tokio::test]
async fn scram_with_a_nonce_that_does_not_extend_ours_is_refused() {
    let reason =
        scram_failure(|_| "r=someone-elses-nonce,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".into()).await;
    assert_eq!(reason, "the server's nonce does not extend the client's");
    // The nonce repeated as it is, without a server part, is no extension either.
    let reason =
        scram_failure(|nonce| format!("r={nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")).await;
    assert_eq!(reason, "the server's nonce does not extend the client's");
}

#[tokio::test]
async fn scram_with_a_malformed_server_first_message_is_refused() {
    assert_eq!(
        scram_failure(|_| "hello".into()).await,
        "the server-first message has no nonce (r=)"
    );
    assert!(
        scram_failure(|nonce| format!("r={nonce}srv,s=***,i=4096"))
            .await
            .starts_with("the server's salt is not base64"),
    );
    assert_eq!(
        scram_failure(|nonce| format!("r={nonce}srv,s=W22ZaJ0SNY7soEsUEjb6gQ==")).await,
        "the server-first message has no iteration count (i=)"
    );
}

#[tokio::test]
async fn scram_iteration_counts_out_of_bounds_are_refused_at_once() {
    for server_first in [
        (|nonce: &str| format!("r={nonce}srv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000"))
            as fn(&str) -> String,
        |nonce| format!("r={nonce}srv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=100000000"),
    ] {
        let started = Instant::now();
        let reason = scram_failure(server_first).await;
        assert!(
            reason.contains("is not between 4096 and 65536: refused"),
            "{reason}"
        );
        // Refused before any PBKDF2 work: 10^8 iterations would take minutes.
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}

#[tokio::test]
async fn connections_are_renewed_before_their_sasl_session_expires() {
    let peer = start(Script::Plain {
        user: "reader",
        password: "reader-secret",
        lifetime_ms: 700,
    })
    .await;
    let client = KafkaClient::connect(config(
        &peer,
        SaslConfig::new(SaslMechanism::Plain, "reader", "reader-secret"),
    ))
    .await
    .unwrap();
    let until = Instant::now() + Duration::from_millis(2600);
    let mut calls = 0;
    while Instant::now() < until {
        client.refresh_metadata(&[]).await.unwrap();
        calls += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = peer.seen.lock().unwrap();
    // No request ever reached the broker on an expired session: the client moved to a newly
    // authenticated connection first, at least once per lifetime.
    assert_eq!(seen.expired_requests, 0, "{seen:?}");
    assert!(seen.sessions >= 4, "{seen:?}");
    assert!(seen.requests > calls, "{seen:?} after {calls} calls");
}
