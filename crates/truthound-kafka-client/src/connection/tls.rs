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
                let chain = read_certs(cert, "client certificate file")?;
                let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    setup(
                        key,
                        format!("cannot read a private key (PKCS#8, PKCS#1 or SEC1 PEM): {e}"),
                    )
                })?;
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
        self.connector.connect(name, tcp).await.map_err(|e| {
            let hint = match e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                Some(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::UnknownIssuer,
                )) => {
                    " (the broker's certificate is not signed by a trusted CA: set the CA \
                     file that signed it)"
                }
                Some(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. },
                )) => " (the certificate does not name this host)",
                _ if matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                ) =>
                {
                    " (the broker closed the connection: is its listener TLS?)"
                }
                _ => "",
            };
            failed(format!("{e}{hint}"))
        })
    }
}

/// The host part of `host:port`, `[v6]:port` or a bare host.
fn host_of(broker: &str) -> &str {
    if let Some(rest) = broker.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match broker.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => host,
        _ => broker,
    }
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
        assert_eq!(host_of("localhost"), "localhost");
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
