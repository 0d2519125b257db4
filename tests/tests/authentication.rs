//! Authentication refused by a real broker that requires SCRAM (nisshi on SQLite with users
//! alice and bob), as users meet it: a wrong password over TLS, an unknown user, and a client
//! that does not authenticate at all. Every error names the broker and never shows a password.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use truthound_kafka::{KafkaDataSource, KafkaDataSourceConfig};
use truthound_kafka_client::{
    ClientConfig, ConnectionError, Error, KafkaClient, SaslConfig, SaslMechanism, SecurityProtocol,
    TlsConfig,
};
use truthound_streaming_core::BaseStreamingDataSource;
use truthound_tests::security::{BOB, scram_broker};

const WRONG: &str = "wrong-pw-5d21";

fn refused(err: Error) -> (String, SaslMechanism, String, String) {
    let text = err.to_string();
    assert!(!text.contains(WRONG) && !format!("{err:?}").contains(WRONG));
    match err {
        Error::Connection(ConnectionError::SaslAuthentication {
            broker,
            mechanism,
            username,
            message,
        }) => (broker, mechanism, username, message),
        other => panic!("expected a refused authentication, got {other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_scram_sha512_password_over_tls_is_refused_by_name() {
    let (broker, ca) = scram_broker(true);
    let err = KafkaClient::connect(
        ClientConfig::new([broker.address()])
            .with_security_protocol(SecurityProtocol::SaslSsl)
            .with_tls(TlsConfig::new().with_ca_file(ca.unwrap()))
            .with_sasl(SaslConfig::new(SaslMechanism::ScramSha512, BOB.0, WRONG)),
    )
    .await
    .unwrap_err();
    let (at, mechanism, user, message) = refused(err);
    assert_eq!(at, broker.address());
    assert_eq!(mechanism, SaslMechanism::ScramSha512);
    assert_eq!(user, BOB.0);
    assert!(message.contains("wrong password"), "{message}");
}

#[tokio::test]
async fn an_unknown_user_is_refused() {
    let (broker, _) = scram_broker(false);
    let err = KafkaClient::connect(
        ClientConfig::new([broker.address()])
            .with_security_protocol(SecurityProtocol::SaslPlaintext)
            .with_sasl(SaslConfig::new(
                SaslMechanism::ScramSha256,
                "mallory",
                WRONG,
            )),
    )
    .await
    .unwrap_err();
    let (at, _, user, message) = refused(err);
    assert_eq!(at, broker.address());
    assert_eq!(user, "mallory");
    assert!(!message.is_empty());
}

#[tokio::test]
async fn a_client_without_sasl_is_refused_clearly_and_quickly() {
    let (broker, _) = scram_broker(false);
    // The users exist; this client just does not authenticate.
    let started = Instant::now();
    let mut source = KafkaDataSource::new(
        KafkaDataSourceConfig::new(broker.address(), "t")
            .with_consume_timeout(Duration::from_secs(10)),
    )
    .unwrap();
    let err = source.connect().await.unwrap_err().to_string();
    assert!(started.elapsed() < Duration::from_secs(10), "{err}");
    assert!(
        err.ends_with(&format!(
            "connection to broker {} failed: the broker closed the connection after the \
             handshake: does its listener require SASL authentication? (security protocol is \
             PLAINTEXT; set SASL_SSL or SASL_PLAINTEXT with a mechanism, user name and password)",
            broker.address()
        )),
        "{err}"
    );
}
