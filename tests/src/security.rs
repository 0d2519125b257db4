//! Brokers with security switched on, and the certificates they use: a CA made here that signs
//! a server certificate for `localhost` and `127.0.0.1`, a TLS-only broker, and an SQLite broker
//! with SCRAM users that requires authentication.

// A harness fails by panicking, with the cause: that is what these unwraps do.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use crate::{BrokerSecurity, SpawnedBroker};

/// A SCRAM-SHA-256 user of [`scram_broker`]: name and password.
pub const ALICE: (&str, &str) = ("alice", "alice-secret-256");
/// A SCRAM-SHA-512 user of [`scram_broker`]: name and password.
pub const BOB: (&str, &str) = ("bob", "bob-secret-512");

/// A CA and a server certificate for `localhost` and `127.0.0.1`, written as PEM files into
/// `dir`: returns (CA file, server certificate file, server key file).
pub fn make_certificates(dir: &Path, prefix: &str) -> (PathBuf, PathBuf, PathBuf) {
    make_certificates_for(dir, prefix, &["localhost", "127.0.0.1"])
}

/// As [`make_certificates`], with a server certificate for `names` (DNS names or IP
/// addresses).
pub fn make_certificates_for(
    dir: &Path,
    prefix: &str,
    names: &[&str],
) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("truthound test CA {prefix}"));
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let mut server_params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    server_params
        .distinguished_name
        .push(DnType::CommonName, names[0]);
    let server = server_params.signed_by(&server_key, &ca).unwrap();
    let paths = (
        dir.join(format!("{prefix}-ca.pem")),
        dir.join(format!("{prefix}-server.pem")),
        dir.join(format!("{prefix}-server.key")),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, server.pem()).unwrap();
    std::fs::write(&paths.2, server_key.serialize_pem()).unwrap();
    paths
}

/// A broker whose listener is TLS-only; returns it and the CA file that signed its certificate.
pub fn tls_broker() -> (SpawnedBroker, PathBuf) {
    tls_broker_named(SpawnedBroker::memory(), &["localhost", "127.0.0.1"])
}

/// `broker` restarted with a TLS-only listener whose certificate names `names`; returns it and
/// the CA file that signed its certificate.
pub fn tls_broker_named(mut broker: SpawnedBroker, names: &[&str]) -> (SpawnedBroker, PathBuf) {
    let (ca, cert, key) = make_certificates_for(broker.dir(), "tls", names);
    broker.set_security(BrokerSecurity {
        tls: Some((cert, key)),
        authentication: false,
    });
    broker.restart();
    (broker, ca)
}

/// An SQLite broker with users alice (SCRAM-SHA-256) and bob (SCRAM-SHA-512) that requires
/// authentication, over TLS when `tls`; returns it and the CA file when TLS.
pub fn scram_broker(tls: bool) -> (SpawnedBroker, Option<PathBuf>) {
    let mut broker = SpawnedBroker::sqlite();
    // nisshi's user command connects in plaintext without logging in: users are created
    // before security is switched on, and kept in the SQLite storage across the restart.
    broker.create_scram_user(ALICE.0, ALICE.1, "scram256");
    broker.create_scram_user(BOB.0, BOB.1, "scram512");
    let mut ca_file = None;
    let mut security = BrokerSecurity {
        tls: None,
        authentication: true,
    };
    if tls {
        let (ca, cert, key) = make_certificates(broker.dir(), "scram");
        ca_file = Some(ca);
        security.tls = Some((cert, key));
    }
    broker.set_security(security);
    broker.restart();
    (broker, ca_file)
}
