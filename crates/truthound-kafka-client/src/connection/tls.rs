//! TLS over TCP with rustls (ring provider): the connector built once from [`TlsConfig`], and
//! the handshake with one broker.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::ConnectionError;
use crate::client::TlsConfig;

/// A TLS connector, built once per client from its [`TlsConfig`].
#[derive(Clone)]
pub(crate) struct Tls {
    connector: TlsConnector,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

impl Tls {
    /// Reads the CA and client certificate files and builds the connector. Errors name the
    /// file and what is wrong with it.
    pub(crate) fn new(config: &TlsConfig) -> Result<Self, ConnectionError> {
        let mut roots = RootCertStore::empty();
        match &config.ca_file {
            Some(path) => {
                for cert in read_certs(path, "CA file")? {
                    roots.add(cert).map_err(|e| {
                        setup(path, format!("CA file holds an unusable certificate: {e}"))
                    })?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ConnectionError::TlsSetup {
                path: None,
                reason: e.to_string(),
            })?
            .with_root_certificates(roots);
        let config = match (&config.client_cert_file, &config.client_key_file) {
            (None, None) => builder.with_no_client_auth(),
            (Some(cert), Some(key)) => {
                let key_der = read_key(key)?;
                let chain = read_certs(cert, "client certificate file")?;
                builder.with_client_auth_cert(chain, key_der).map_err(|e| {
                    setup(
                        key,
                        format!("the key does not fit the client certificate: {e}"),
                    )
                })?
            }
            (Some(path), None) | (None, Some(path)) => {
                return Err(setup(
                    path,
                    "a client certificate needs both a certificate file and a key file".into(),
                ));
            }
        };
        Ok(Self {
            connector: TlsConnector::from(Arc::new(config)),
        })
    }

    /// Runs the TLS handshake with `broker` (`host:port`) over `tcp`; the server name checked
    /// against its certificate is the host part.
    pub(crate) async fn connect(
        &self,
        broker: &str,
        tcp: TcpStream,
    ) -> Result<TlsStream<TcpStream>, ConnectionError> {
        let failed = |reason: String| ConnectionError::Tls {
            broker: broker.to_owned(),
            reason,
        };
        let host = host_of(broker);
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| failed(format!("{host:?} is not a valid server name: {e}")))?;
        self.connector
            .connect(name, tcp)
            .await
            .map_err(|e| failed(handshake_failure(host, &e)))
    }
}

/// What went wrong in a failed handshake, with a hint at the usual cause.
fn handshake_failure(host: &str, e: &std::io::Error) -> String {
    use rustls::CertificateError as Cert;
    let tls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match tls {
        Some(rustls::Error::InvalidCertificate(Cert::UnknownIssuer)) => format!(
            "{e} (the broker's certificate is not signed by a trusted CA: set the CA file that \
             signed it)"
        ),
        Some(rustls::Error::InvalidCertificate(Cert::NotValidForNameContext {
            expected,
            presented,
        })) => {
            let names = if presented.is_empty() {
                "no DNS or IP names".to_owned()
            } else {
                presented
                    .iter()
                    .map(|name| presented_name(name))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!(
                "the broker's certificate is not valid for {} {}; it names: {names}",
                name_kind(expected),
                expected.to_str()
            )
        }
        Some(rustls::Error::InvalidCertificate(Cert::NotValidForName)) => {
            let kind = ServerName::try_from(host).map_or("host", |name| name_kind(&name));
            format!("the broker's certificate is not valid for {kind} {host}")
        }
        Some(rustls::Error::AlertReceived(alert)) => format!("{e}{}", alert_hint(*alert)),
        Some(rustls::Error::InvalidMessage(_)) => {
            format!("{e} (the broker answered with something other than TLS: {NOT_TLS})")
        }
        _ if matches!(
            e.kind(),
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
        ) =>
        {
            // A reset or an orderly close: which one depends on how much of the ClientHello
            // the listener read before giving up, so the message does not say.
            format!("the broker closed the connection during the handshake: {NOT_TLS}")
        }
        _ => e.to_string(),
    }
}

/// A name as webpki lists it (`DnsName("broker-1")`, `IpAddress(10.0.0.1)`), without the
/// wrapping.
fn presented_name(name: &str) -> &str {
    name.strip_prefix("DnsName(\"")
        .and_then(|n| n.strip_suffix("\")"))
        .or_else(|| {
            name.strip_prefix("IpAddress(")
                .and_then(|n| n.strip_suffix(')'))
        })
        .unwrap_or(name)
}

/// The question every "this was not TLS" error ends with.
const NOT_TLS: &str = "does the broker's listener speak TLS?";

fn name_kind(name: &ServerName<'_>) -> &'static str {
    match name {
        ServerName::IpAddress(_) => "IP address",
        _ => "host",
    }
}

/// Why the broker ended a TLS session with a fatal `alert` right after the handshake (TLS 1.3
/// servers check the client certificate after the client has finished its handshake, so their
/// refusal arrives on the first read).
pub(crate) fn alert_reason(alert: rustls::AlertDescription) -> String {
    format!(
        "the broker ended the TLS session with alert {alert:?}{}",
        alert_hint(alert)
    )
}

fn alert_hint(alert: rustls::AlertDescription) -> &'static str {
    use rustls::AlertDescription as A;
    match alert {
        A::CertificateRequired => {
            " (the broker requires a client certificate: set a certificate and key signed by a \
             CA the broker trusts)"
        }
        A::UnknownCA
        | A::BadCertificate
        | A::CertificateUnknown
        | A::UnsupportedCertificate
        | A::CertificateExpired
        | A::AccessDenied
        | A::DecryptError => {
            " (the broker refused the client certificate: is it signed by a CA the broker \
             trusts, and still valid?)"
        }
        A::HandshakeFailure => {
            " (no common TLS settings, or the broker requires a client certificate)"
        }
        _ => "",
    }
}

/// The host part of `host:port`, `[v6]:port`, `v6:port` (as a broker's advertised host and
/// port joined without brackets) or a bare host.
fn host_of(broker: &str) -> &str {
    if let Some(rest) = broker.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match broker.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => {
            if !host.contains(':') || host.parse::<std::net::Ipv6Addr>().is_ok() {
                host
            } else {
                broker
            }
        }
        _ => broker,
    }
}

/// Reads a PEM private key (PKCS#8, PKCS#1 or SEC1); an encrypted one is refused with a hint.
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, ConnectionError> {
    let pem = std::fs::read(path)
        .map_err(|e| setup(path, format!("cannot read the private key file: {e}")))?;
    let text = String::from_utf8_lossy(&pem);
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || text.contains("Proc-Type: 4,ENCRYPTED")
    {
        return Err(setup(
            path,
            "encrypted private keys are not supported: decrypt it first (e.g. `openssl pkey \
             -in key.pem -out key-decrypted.pem`)"
                .into(),
        ));
    }
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        setup(
            path,
            format!("cannot read a private key (PKCS#8, PKCS#1 or SEC1 PEM): {e}"),
        )
    })
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, ConnectionError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| setup(path, format!("cannot read the {what}: {e}")))?;
    if certs.is_empty() {
        return Err(setup(
            path,
            format!("the {what} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
        ));
    }
    Ok(certs)
}

fn setup(path: &Path, reason: String) -> ConnectionError {
    ConnectionError::TlsSetup {
        path: Some(path.to_owned()),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_name_is_the_host() {
        assert_eq!(host_of("broker-1.example.com:9093"), "broker-1.example.com");
        assert_eq!(host_of("127.0.0.1:9093"), "127.0.0.1");
        assert_eq!(host_of("[::1]:9093"), "::1");
        assert_eq!(host_of("[fe80::1]"), "fe80::1");
        // A broker's advertised IPv6 host and port, joined without brackets.
        assert_eq!(host_of("::1:9093"), "::1");
        assert_eq!(host_of("2001:db8::7:9093"), "2001:db8::7");
        assert_eq!(host_of("localhost"), "localhost");
    }

    #[test]
    fn ip_hosts_become_ip_server_names() {
        for (broker, ip) in [("[::1]:9093", "::1"), ("127.0.0.1:9093", "127.0.0.1")] {
            let name = ServerName::try_from(host_of(broker)).unwrap();
            match name {
                ServerName::IpAddress(addr) => {
                    assert_eq!(
                        std::net::IpAddr::from(addr),
                        ip.parse::<std::net::IpAddr>().unwrap()
                    )
                }
                other => panic!("{broker}: expected an IP server name, got {other:?}"),
            }
        }
        assert!(matches!(
            ServerName::try_from(host_of("broker-1:9093")).unwrap(),
            ServerName::DnsName(_)
        ));
    }

    #[test]
    fn presented_names_lose_their_wrapping() {
        assert_eq!(presented_name("DnsName(\"otherhost\")"), "otherhost");
        assert_eq!(presented_name("IpAddress(10.0.0.1)"), "10.0.0.1");
        assert_eq!(presented_name("DirectoryName"), "DirectoryName");
    }

    #[test]
    fn encrypted_keys_are_refused_naming_the_file() {
        let dir = tempdir("encrypted");
        let pkcs8 = dir.join("pkcs8-encrypted.key");
        std::fs::write(
            &pkcs8,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQww\n\
             -----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .unwrap();
        let legacy = dir.join("legacy-encrypted.key");
        std::fs::write(
            &legacy,
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
             DEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\nMIIEowIBAAKCAQEA\n\
             -----END RSA PRIVATE KEY-----\n",
        )
        .unwrap();
        for key in [&pkcs8, &legacy] {
            let err = Tls::new(&TlsConfig::new().with_client_cert(dir.join("cert.pem"), key))
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "TLS setup failed for {}: encrypted private keys are not supported: decrypt \
                     it first (e.g. `openssl pkey -in key.pem -out key-decrypted.pem`)",
                    key.display()
                )
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempdir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("truthound-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("truthound-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let err = Tls::new(&TlsConfig::new().with_ca_file(&missing)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("missing.pem") && text.contains("CA file"),
            "{text}"
        );

        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let text = Tls::new(&TlsConfig::new().with_ca_file(&empty))
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("empty.pem") && text.contains("no PEM certificate"),
            "{text}"
        );

        let mut half = TlsConfig::new();
        half.client_cert_file = Some(empty.clone());
        let text = Tls::new(&half).unwrap_err().to_string();
        assert!(
            text.contains("both a certificate file and a key file"),
            "{text}"
        );

        Tls::new(&TlsConfig::new()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
