//! TLS and SASL against real nisshi brokers started by the tests: a TLS-only listener with a
//! certificate made here by a CA made here, and SCRAM users created while the broker runs
//! without authentication, then required after a restart on the same SQLite storage.
//!
//! nisshi enables SCRAM-SHA-256 and SCRAM-SHA-512 only (no PLAIN), and never asks for a client
//! certificate: mutual TLS is tested in `mtls.rs`, with stunnel in front of the broker.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use truthound_kafka::{KafkaDataSource, KafkaDataSourceConfig};
use truthound_kafka_client::{
    ClientConfig, ConnectionError, Error, FetchOptions, KafkaClient, ProduceOptions, ProduceRecord,
    SaslConfig, SaslMechanism, SecurityProtocol, TlsConfig,
};
use truthound_streaming_core::{BaseStreamingDataSource, StreamingDataSourceExt};
use truthound_tests::security::{
    ALICE, BOB, make_certificates, scram_broker, tls_broker, tls_broker_named,
};
use truthound_tests::{SpawnedBroker, unique_topic};

/// Creates a topic, produces three records and reads them back.
async fn round_trip(client: &KafkaClient) {
    let topic = unique_topic("secure");
    client.create_topic(&topic, 1, 1).await.unwrap();
    let records: Vec<ProduceRecord> = (0..3)
        .map(|i| ProduceRecord::new(Bytes::from(format!("{{\"i\":{i}}}"))))
        .collect();
    let base = client
        .produce(&topic, 0, records.clone(), ProduceOptions::default())
        .await
        .unwrap();
    assert_eq!(base, 0);
    let got = client
        .read_range(&topic, 0, 0, 3, FetchOptions::default())
        .await
        .unwrap();
    let values: Vec<_> = got.iter().map(|r| r.value.clone()).collect();
    let sent: Vec<_> = records.into_iter().map(|r| r.value).collect();
    assert_eq!(values, sent);
}

fn connection_error(err: Error) -> ConnectionError {
    match err {
        Error::Connection(e) => e,
        other => panic!("expected a connection error, got {other:?}"),
    }
}

#[tokio::test]
async fn tls_produce_and_read_round_trip() {
    let (broker, ca) = tls_broker();
    let client = KafkaClient::connect(
        ClientConfig::new([broker.address()])
            .with_security_protocol(SecurityProtocol::Ssl)
            .with_tls(TlsConfig::new().with_ca_file(&ca)),
    )
    .await
    .unwrap();
    round_trip(&client).await;
}

#[tokio::test]
async fn client_certificate_files_are_loaded_and_checked() {
    // nisshi does not ask for client certificates: this checks that the files are read and
    // the connection still works when one is configured, and that a key of another
    // certificate is refused naming the key file.
    let (broker, ca) = tls_broker();
    let (_, cert, key) = make_certificates(broker.dir(), "client");
    let client = KafkaClient::connect(
        ClientConfig::new([broker.address()])
            .with_security_protocol(SecurityProtocol::Ssl)
            .with_tls(
                TlsConfig::new()
                    .with_ca_file(&ca)
                    .with_client_cert(&cert, &key),
            ),
    )
    .await
    .unwrap();
    round_trip(&client).await;

    let (_, _, other_key) = make_certificates(broker.dir(), "client-other");
    let err = KafkaClient::connect(
        ClientConfig::new([broker.address()])
            .with_security_protocol(SecurityProtocol::Ssl)
            .with_tls(
                TlsConfig::new()
                    .with_ca_file(&ca)
                    .with_client_cert(&cert, &other_key),
            ),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("client-other-server.key") && text.contains("does not fit"),
        "{text}"
    );
}

#[tokio::test]
async fn tls_with_an_unknown_ca_names_the_broker_and_the_cause() {
    let (broker, _) = tls_broker();
    let (other_ca, _, _) = make_certificates(broker.dir(), "other");
    for tls in [TlsConfig::new().with_ca_file(&other_ca), TlsConfig::new()] {
        let err = KafkaClient::connect(
            ClientConfig::new([broker.address()])
                .with_security_protocol(SecurityProtocol::Ssl)
                .with_tls(tls),
        )
        .await
        .unwrap_err();
        let err = connection_error(err);
        let text = err.to_string();
        assert!(matches!(err, ConnectionError::Tls { .. }), "{err:?}");
        assert!(text.contains(&broker.address()), "{text}");
        assert!(text.contains("UnknownIssuer"), "{text}");
        assert!(text.contains("not signed by a trusted CA"), "{text}");
    }
}

#[tokio::test]
async fn tls_to_a_plaintext_listener_fails_clearly() {
    let broker = SpawnedBroker::memory();
    let timeout = std::time::Duration::from_secs(2);
    let started = std::time::Instant::now();
    let err = KafkaClient::connect(
        ClientConfig::new([broker.address()])
            .with_security_protocol(SecurityProtocol::Ssl)
            .with_connect_timeout(timeout),
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() < timeout + std::time::Duration::from_secs(2));
    // nisshi reads a frame size off the ClientHello, finds it absurd and closes.
    let err = connection_error(err);
    assert!(matches!(err, ConnectionError::Tls { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "TLS handshake with broker {} failed: the broker closed the connection during the \
             handshake: does the broker's listener speak TLS?",
            broker.address()
        )
    );
}

#[tokio::test]
async fn plaintext_to_a_tls_listener_fails_clearly_without_a_huge_allocation() {
    // The TLS listener answers the plaintext ApiVersions with a TLS alert, whose first bytes
    // read as a frame length of about 350 MB: named as TLS, not allocated.
    let (broker, _ca) = tls_broker();
    let err = KafkaClient::connect(
        ClientConfig::new([broker.address()])
            .with_connect_timeout(std::time::Duration::from_secs(5)),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "connection to broker {} failed: the broker answered with TLS: its listener expects \
             TLS, so connect with security_protocol SSL (or SASL_SSL)",
            broker.address()
        )),
        "{text}"
    );
}

#[tokio::test]
async fn a_certificate_for_another_host_is_refused_naming_its_names() {
    let (broker, ca) = tls_broker_named(SpawnedBroker::memory(), &["otherhost"]);
    for (address, what) in [
        (broker.address(), "IP address 127.0.0.1".to_owned()),
        (
            format!("localhost:{}", broker.port()),
            "host localhost".to_owned(),
        ),
    ] {
        let err = KafkaClient::connect(
            ClientConfig::new([&address])
                .with_security_protocol(SecurityProtocol::Ssl)
                .with_tls(TlsConfig::new().with_ca_file(&ca)),
        )
        .await
        .unwrap_err();
        let err = connection_error(err);
        assert!(matches!(err, ConnectionError::Tls { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "TLS handshake with broker {address} failed: the broker's certificate is not \
                 valid for {what}; it names: otherhost"
            )
        );
    }
}

#[tokio::test]
async fn a_ca_file_with_several_certificates_trusts_the_one_that_signed() {
    let (broker, ca) = tls_broker();
    let (unrelated_ca, _, _) = make_certificates(broker.dir(), "unrelated");
    let bundle = broker.dir().join("bundle.pem");
    let pem =
        std::fs::read_to_string(&unrelated_ca).unwrap() + &std::fs::read_to_string(&ca).unwrap();
    std::fs::write(&bundle, pem).unwrap();
    let client = KafkaClient::connect(
        ClientConfig::new([broker.address()])
            .with_security_protocol(SecurityProtocol::Ssl)
            .with_tls(TlsConfig::new().with_ca_file(&bundle)),
    )
    .await
    .unwrap();
    round_trip(&client).await;
}

#[tokio::test]
async fn a_stalled_tls_handshake_is_bounded_by_the_connect_timeout() {
    // A listener that accepts and never says anything.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let started = std::time::Instant::now();
    let err = KafkaClient::connect(
        ClientConfig::new([&address])
            .with_security_protocol(SecurityProtocol::Ssl)
            .with_connect_timeout(std::time::Duration::from_secs(1)),
    )
    .await
    .unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < std::time::Duration::from_secs(3), "{elapsed:?}");
    match err {
        Error::NoBrokerReachable { tried } => assert_eq!(
            tried,
            [(
                address.clone(),
                format!(
                    "TLS handshake with broker {address} got no answer within 1s: does the \
                     broker's listener speak TLS? (a plaintext Kafka listener waits silently \
                     for a request)"
                )
            )]
        ),
        other => panic!("expected NoBrokerReachable, got {other:?}"),
    }
}

#[tokio::test]
async fn ipv6_brokers_work_over_plaintext_and_tls() {
    let broker = SpawnedBroker::memory_ipv6();
    let address = broker.address();
    assert!(address.starts_with("[::1]:"), "{address}");
    let client = KafkaClient::connect(ClientConfig::new([&address]))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", broker.log_tail(20)));
    round_trip(&client).await;

    // The Kafka source takes the bracketed address from a connection string.
    let topic = unique_topic("ipv6");
    client.create_topic(&topic, 1, 1).await.unwrap();
    client
        .produce(
            &topic,
            0,
            vec![ProduceRecord::new(Bytes::from_static(b"{\"a\":1}"))],
            ProduceOptions::default(),
        )
        .await
        .unwrap();
    let config =
        KafkaDataSourceConfig::from_connection_string(&format!("kafka://{address}/{topic}"))
            .unwrap();
    let mut source = KafkaDataSource::new(config).unwrap();
    source.connect().await.unwrap();
    assert_eq!(source.consume(10).await.unwrap().len(), 1);
    drop(client);

    // Over TLS the server name is the IP address ::1, which the certificate must name.
    let (broker, ca) = tls_broker_named(broker, &["::1"]);
    let client = KafkaClient::connect(
        ClientConfig::new([broker.address()])
            .with_security_protocol(SecurityProtocol::Ssl)
            .with_tls(TlsConfig::new().with_ca_file(&ca)),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", broker.log_tail(20)));
    round_trip(&client).await;
}

#[tokio::test]
async fn scram_sha256_and_sha512_over_plaintext() {
    let (broker, _) = scram_broker(false);
    for (mechanism, (user, password)) in [
        (SaslMechanism::ScramSha256, ALICE),
        (SaslMechanism::ScramSha512, BOB),
    ] {
        let client = KafkaClient::connect(
            ClientConfig::new([broker.address()])
                .with_security_protocol(SecurityProtocol::SaslPlaintext)
                .with_sasl(SaslConfig::new(mechanism, user, password)),
        )
        .await
        .unwrap_or_else(|e| panic!("{mechanism}: {e}\n{}", broker.log_tail(20)));
        round_trip(&client).await;
    }
}

#[tokio::test]
async fn scram_sha256_and_sha512_over_tls() {
    let (broker, ca) = scram_broker(true);
    let ca = ca.unwrap();
    for (mechanism, (user, password)) in [
        (SaslMechanism::ScramSha256, ALICE),
        (SaslMechanism::ScramSha512, BOB),
    ] {
        let client = KafkaClient::connect(
            ClientConfig::new([broker.address()])
                .with_security_protocol(SecurityProtocol::SaslSsl)
                .with_tls(TlsConfig::new().with_ca_file(&ca))
                .with_sasl(SaslConfig::new(mechanism, user, password)),
        )
        .await
        .unwrap_or_else(|e| panic!("{mechanism}: {e}\n{}", broker.log_tail(20)));
        round_trip(&client).await;
    }

    // The Kafka source takes the same settings from its configuration.
    let topic = unique_topic("secure-source");
    let admin = KafkaClient::connect(
        ClientConfig::new([broker.address()])
            .with_security_protocol(SecurityProtocol::SaslSsl)
            .with_tls(TlsConfig::new().with_ca_file(&ca))
            .with_sasl(SaslConfig::new(SaslMechanism::ScramSha512, BOB.0, BOB.1)),
    )
    .await
    .unwrap();
    admin.create_topic(&topic, 1, 1).await.unwrap();
    admin
        .produce(
            &topic,
            0,
            vec![ProduceRecord::new(Bytes::from_static(b"{\"a\":1}"))],
            ProduceOptions::default(),
        )
        .await
        .unwrap();
    let config = KafkaDataSourceConfig::new(broker.address(), &topic)
        .with_security_protocol(SecurityProtocol::SaslSsl)
        .with_sasl(
            truthound_kafka::SaslMechanism::ScramSha256,
            ALICE.0,
            ALICE.1,
        )
        .with_ssl_files(Some(ca.display().to_string()), None, None);
    let mut source = KafkaDataSource::new(config).unwrap();
    source.connect().await.unwrap();
    let messages = source.consume(10).await.unwrap();
    assert_eq!(messages.len(), 1);
}

#[tokio::test]
async fn a_wrong_password_is_a_typed_error_without_the_password() {
    let (broker, _) = scram_broker(false);
    let err = KafkaClient::connect(
        ClientConfig::new([broker.address()])
            .with_security_protocol(SecurityProtocol::SaslPlaintext)
            .with_sasl(SaslConfig::new(
                SaslMechanism::ScramSha256,
                ALICE.0,
                "not-the-password",
            )),
    )
    .await
    .unwrap_err();
    let err = connection_error(err);
    let text = err.to_string();
    match &err {
        ConnectionError::SaslAuthentication {
            broker: b,
            mechanism,
            username,
            ..
        } => {
            assert_eq!(b, &broker.address());
            assert_eq!(*mechanism, SaslMechanism::ScramSha256);
            assert_eq!(username, ALICE.0);
        }
        other => panic!("expected SaslAuthentication, got {other:?}"),
    }
    assert!(
        text.contains("SCRAM-SHA-256") && text.contains(&broker.address()),
        "{text}"
    );
    assert!(text.contains("wrong password"), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");
    assert!(!format!("{err:?}").contains("not-the-password"), "{err:?}");
}

#[tokio::test]
async fn plain_against_nisshi_lists_the_enabled_mechanisms() {
    let (broker, _) = scram_broker(false);
    let err = KafkaClient::connect(
        ClientConfig::new([broker.address()])
            .with_security_protocol(SecurityProtocol::SaslPlaintext)
            .with_sasl(SaslConfig::new(SaslMechanism::Plain, ALICE.0, ALICE.1)),
    )
    .await
    .unwrap_err();
    let err = connection_error(err);
    let text = err.to_string();
    match &err {
        ConnectionError::SaslMechanismNotEnabled { enabled, .. } => {
            assert!(enabled.iter().any(|m| m == "SCRAM-SHA-256"), "{enabled:?}");
            assert!(enabled.iter().any(|m| m == "SCRAM-SHA-512"), "{enabled:?}");
        }
        other => panic!("expected SaslMechanismNotEnabled, got {other:?}"),
    }
    assert!(
        text.contains("PLAIN") && text.contains(&broker.address()),
        "{text}"
    );
}

#[tokio::test]
async fn sasl_without_credentials_or_with_a_missing_ca_file_is_refused_before_connecting() {
    let err = KafkaClient::connect(
        ClientConfig::new(["127.0.0.1:1"]).with_security_protocol(SecurityProtocol::SaslSsl),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("needs SASL credentials"), "{err}");
    let err = KafkaClient::connect(
        ClientConfig::new(["127.0.0.1:1"])
            .with_security_protocol(SecurityProtocol::Ssl)
            .with_tls(TlsConfig::new().with_ca_file("/nonexistent/ca.pem")),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("/nonexistent/ca.pem") && text.contains("CA file"),
        "{text}"
    );
}
