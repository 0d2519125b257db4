//! SASL authentication on a fresh connection: SaslHandshake v1, then SaslAuthenticate frames
//! carrying PLAIN (RFC 4616) or SCRAM-SHA-256/512 (RFC 5802, RFC 7677) messages.
//!
//! The SCRAM client is a pure state machine ([`ScramClient`]) so it can be checked against the
//! RFC's test vector; ring (already there for rustls) supplies HMAC, SHA-2, PBKDF2 and the nonce.

use std::num::NonZeroU32;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;
use ring::{digest, hmac, pbkdf2};
use secrecy::{ExposeSecret, SecretString};

use super::{Connection, ConnectionError};
use crate::client::{SaslConfig, SaslMechanism};
use crate::protocol::error_code_name;

/// Kafka's UNSUPPORTED_SASL_MECHANISM.
const UNSUPPORTED_SASL_MECHANISM: i16 = 33;

/// Iteration counts below this are refused, as the Java client refuses them
/// (`ScramMechanism.minIterations`): a server asking for fewer weakens the stored key.
const MIN_SCRAM_ITERATIONS: u32 = 4096;

/// Iteration counts above this are refused: a hostile server could otherwise make the client
/// spin on PBKDF2 (about a second at 10^6). Kafka stores at most 16384; the margin leaves room
/// for Kafka-compatible servers that choose more.
const MAX_SCRAM_ITERATIONS: u32 = 65_536;

/// Authenticates `conn` (ApiVersions already done) with `sasl`. Returns the session lifetime
/// the broker gave in its last SaslAuthenticate response (KIP-368), when it gave one: the
/// broker closes the connection once it has passed.
pub(crate) async fn authenticate(
    conn: &Connection,
    sasl: &SaslConfig,
) -> Result<Option<Duration>, ConnectionError> {
    let broker = conn.broker().to_owned();
    let mechanism = sasl.mechanism;
    let failed = |reason: String| ConnectionError::Sasl {
        broker: broker.clone(),
        mechanism,
        reason,
    };

    // v0 of SaslHandshake means raw (unframed) SASL tokens, which this client does not speak.
    let version = conn.version_for(ApiKey::SaslHandshake)?;
    if version < 1 {
        return Err(failed(
            "the broker only speaks SaslHandshake v0 (unframed SASL tokens); v1 is needed".into(),
        ));
    }
    let handshake =
        SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism.name()));
    let response = conn.send(&handshake, version).await?;
    match response.error_code {
        0 => {}
        UNSUPPORTED_SASL_MECHANISM => {
            return Err(ConnectionError::SaslMechanismNotEnabled {
                broker,
                mechanism,
                enabled: response
                    .mechanisms
                    .iter()
                    .map(|m| m.as_str().to_owned())
                    .collect(),
            });
        }
        code => {
            return Err(failed(format!(
                "SaslHandshake failed with {} ({code})",
                error_code_name(code)
            )));
        }
    }

    match mechanism {
        SaslMechanism::Plain => {
            let message = plain_message(&sasl.username, sasl.password.expose_secret());
            let (_, lifetime) = exchange(conn, sasl, message).await?;
            Ok(lifetime)
        }
        SaslMechanism::ScramSha256 | SaslMechanism::ScramSha512 => {
            let hash = if mechanism == SaslMechanism::ScramSha256 {
                ScramHash::Sha256
            } else {
                ScramHash::Sha512
            };
            let scram = ScramClient::new(
                hash,
                &sasl.username,
                sasl.password.clone(),
                &new_nonce().map_err(failed)?,
            );
            let (server_first, _) = exchange(conn, sasl, scram.client_first()).await?;
            // PBKDF2 takes milliseconds at Kafka's iteration counts: it runs on a blocking
            // thread, so that it holds up no other connection's I/O on the runtime.
            let (client_final, verifier) =
                tokio::task::spawn_blocking(move || scram.client_final(&server_first))
                    .await
                    .map_err(|e| failed(format!("the SCRAM proof computation failed: {e}")))?
                    .map_err(failed)?;
            let (server_final, lifetime) = exchange(conn, sasl, client_final).await?;
            verifier.verify(&server_final).map_err(|e| match e {
                ServerFinalError::Rejected(message) => ConnectionError::SaslAuthentication {
                    broker: broker.clone(),
                    mechanism,
                    username: sasl.username.clone(),
                    message,
                },
                ServerFinalError::Invalid(reason) => failed(reason),
            })?;
            Ok(lifetime)
        }
    }
}

/// Sends one SaslAuthenticate round and returns the broker's auth bytes and the session
/// lifetime it announces (none when it sends 0, or a SaslAuthenticate version without it).
async fn exchange(
    conn: &Connection,
    sasl: &SaslConfig,
    auth_bytes: Vec<u8>,
) -> Result<(Bytes, Option<Duration>), ConnectionError> {
    let request = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(auth_bytes));
    let (response, _) = conn.request(&request).await?;
    if response.error_code != 0 {
        let code = error_code_name(response.error_code);
        let message = match response.error_message {
            Some(m) if !m.is_empty() => format!("{code}: {}", m.as_str()),
            _ => code,
        };
        return Err(ConnectionError::SaslAuthentication {
            broker: conn.broker().to_owned(),
            mechanism: sasl.mechanism,
            username: sasl.username.clone(),
            message,
        });
    }
    let lifetime = u64::try_from(response.session_lifetime_ms)
        .ok()
        .filter(|&ms| ms > 0)
        .map(Duration::from_millis);
    if let Some(lifetime) = lifetime {
        tracing::debug!(
            broker = conn.broker(),
            ?lifetime,
            "SASL session has a lifetime"
        );
    }
    Ok((response.auth_bytes, lifetime))
}

/// The PLAIN message: empty authorization id, user name, password, NUL-separated.
pub(crate) fn plain_message(username: &str, password: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(2 + username.len() + password.len());
    message.push(0);
    message.extend_from_slice(username.as_bytes());
    message.push(0);
    message.extend_from_slice(password.as_bytes());
    message
}

/// A fresh client nonce: 24 random bytes, base64 (printable, no commas).
fn new_nonce() -> Result<String, String> {
    let mut bytes = [0u8; 24];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| "the system random number generator failed".to_owned())?;
    Ok(BASE64.encode(bytes))
}

/// The hash of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScramHash {
    Sha256,
    Sha512,
}

impl ScramHash {
    fn hmac(self) -> hmac::Algorithm {
        match self {
            Self::Sha256 => hmac::HMAC_SHA256,
            Self::Sha512 => hmac::HMAC_SHA512,
        }
    }

    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha512 => &digest::SHA512,
        }
    }

    fn pbkdf2(self) -> pbkdf2::Algorithm {
        match self {
            Self::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            Self::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        }
    }

    fn len(self) -> usize {
        self.digest().output_len()
    }
}

/// The client side of a SCRAM exchange, before the server's first message.
pub(crate) struct ScramClient {
    hash: ScramHash,
    password: SecretString,
    client_nonce: String,
    client_first_bare: String,
}

/// What the client needs to check the server's final message.
#[derive(Debug)]
pub(crate) struct ScramVerifier {
    server_signature: Vec<u8>,
}

/// Why the server's final message was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ServerFinalError {
    /// The server sent `e=...`: it refused the proof (wrong password, unknown user).
    Rejected(String),
    /// The message was malformed or its signature wrong: the server is not who it claims.
    Invalid(String),
}

impl ScramClient {
    /// Starts an exchange for `username` with this client nonce (printable, no commas).
    pub(crate) fn new(
        hash: ScramHash,
        username: &str,
        password: SecretString,
        nonce: &str,
    ) -> Self {
        // RFC 5802 5.1: `=` and `,` in the user name are escaped. SASLprep of the password is
        // not applied (Kafka's Java client does not apply it either).
        let name = username.replace('=', "=3D").replace(',', "=2C");
        Self {
            hash,
            password,
            client_nonce: nonce.to_owned(),
            client_first_bare: format!("n={name},r={nonce}"),
        }
    }

    /// The client-first message: no channel binding (`n,,`), then the bare part.
    pub(crate) fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    /// Parses the server-first message and returns the client-final message with its proof.
    pub(crate) fn client_final(
        &self,
        server_first: &[u8],
    ) -> Result<(Vec<u8>, ScramVerifier), String> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| "the server-first message is not UTF-8".to_owned())?;
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for attribute in server_first.split(',') {
            match attribute.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(v),
                Some(("i", v)) => iterations = Some(v),
                Some(("m", _)) => {
                    return Err("the server asks for a mandatory SCRAM extension".into());
                }
                Some(("e", v)) => return Err(format!("the server sent an error: {v}")),
                _ => {}
            }
        }
        let missing = |what: &str| format!("the server-first message has no {what}");
        let nonce = nonce.ok_or_else(|| missing("nonce (r=)"))?;
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err("the server's nonce does not extend the client's".into());
        }
        let salt = BASE64
            .decode(salt.ok_or_else(|| missing("salt (s=)"))?)
            .map_err(|e| format!("the server's salt is not base64: {e}"))?;
        let iterations = iterations.ok_or_else(|| missing("iteration count (i=)"))?;
        let iterations = iterations
            .parse::<u32>()
            .ok()
            .and_then(NonZeroU32::new)
            .filter(|i| (MIN_SCRAM_ITERATIONS..=MAX_SCRAM_ITERATIONS).contains(&i.get()))
            .ok_or_else(|| {
                format!(
                    "the server's iteration count {iterations:?} is not between \
                     {MIN_SCRAM_ITERATIONS} and {MAX_SCRAM_ITERATIONS}: refused (a server \
                     asking for fewer weakens the password's protection, one asking for more \
                     makes the client spin)"
                )
            })?;

        let hash = self.hash;
        let mut salted = vec![0u8; hash.len()];
        pbkdf2::derive(
            hash.pbkdf2(),
            iterations,
            &salt,
            self.password.expose_secret().as_bytes(),
            &mut salted,
        );
        let salted_key = hmac::Key::new(hash.hmac(), &salted);
        let client_key = hmac::sign(&salted_key, b"Client Key");
        let stored_key = digest::digest(hash.digest(), client_key.as_ref());
        // "biws" is base64 of the GS2 header "n,,".
        let client_final_bare = format!("c=biws,r={nonce}");
        let auth_message = format!(
            "{},{server_first},{client_final_bare}",
            self.client_first_bare
        );
        let client_signature = hmac::sign(
            &hmac::Key::new(hash.hmac(), stored_key.as_ref()),
            auth_message.as_bytes(),
        );
        let proof: Vec<u8> = client_key
            .as_ref()
            .iter()
            .zip(client_signature.as_ref())
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = hmac::sign(&salted_key, b"Server Key");
        let server_signature = hmac::sign(
            &hmac::Key::new(hash.hmac(), server_key.as_ref()),
            auth_message.as_bytes(),
        );
        let client_final = format!("{client_final_bare},p={}", BASE64.encode(proof));
        Ok((
            client_final.into_bytes(),
            ScramVerifier {
                server_signature: server_signature.as_ref().to_vec(),
            },
        ))
    }
}

impl ScramVerifier {
    /// Checks the server-final message: `v=` with the expected server signature.
    pub(crate) fn verify(&self, server_final: &[u8]) -> Result<(), ServerFinalError> {
        let text = std::str::from_utf8(server_final).map_err(|_| {
            ServerFinalError::Invalid("the server-final message is not UTF-8".into())
        })?;
        let first = text.split(',').next().unwrap_or_default();
        if let Some(error) = first.strip_prefix("e=") {
            let hint = match error {
                "invalid-proof" => " (wrong password)",
                "unknown-user" => " (no such user)",
                _ => "",
            };
            return Err(ServerFinalError::Rejected(format!(
                "SCRAM error {error}{hint}"
            )));
        }
        let Some(signature) = first.strip_prefix("v=") else {
            return Err(ServerFinalError::Invalid(
                "the server-final message has no verifier (v=)".into(),
            ));
        };
        let signature = BASE64.decode(signature).map_err(|e| {
            ServerFinalError::Invalid(format!("the server's signature is not base64: {e}"))
        })?;
        // Compared without an early exit, as signatures should be.
        let same = signature.len() == self.server_signature.len()
            && signature
                .iter()
                .zip(&self.server_signature)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(ServerFinalError::Invalid(
                "the server's signature is wrong: it does not know the password (or the \
                 exchange was tampered with)"
                    .into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 section 3: user "user", password "pencil".
    #[test]
    fn scram_sha256_matches_rfc_7677() {
        let client = ScramClient::new(
            ScramHash::Sha256,
            "user",
            "pencil".into(),
            "rOprNGfwEbeRWgbNEkqO",
        );
        assert_eq!(client.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                             s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let (client_final, verifier) = client.client_final(server_first).unwrap();
        assert_eq!(
            String::from_utf8(client_final).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        verifier
            .verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(matches!(
            verifier.verify(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Err(ServerFinalError::Invalid(_))
        ));
        assert_eq!(
            verifier.verify(b"e=invalid-proof"),
            Err(ServerFinalError::Rejected(
                "SCRAM error invalid-proof (wrong password)".into()
            ))
        );
    }

    #[test]
    fn scram_sha512_proof_has_the_hash_length() {
        let client = ScramClient::new(ScramHash::Sha512, "user", "pencil".into(), "abc");
        let (client_final, _) = client
            .client_final(b"r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
            .unwrap();
        let text = String::from_utf8(client_final).unwrap();
        let proof = text.rsplit_once(",p=").unwrap().1;
        assert_eq!(BASE64.decode(proof).unwrap().len(), 64);
    }

    #[test]
    fn scram_escapes_names_and_checks_the_server() {
        let client = ScramClient::new(ScramHash::Sha256, "a=b,c", "pw".into(), "nonce");
        assert_eq!(client.client_first(), b"n,,n=a=3Db=2Cc,r=nonce");
        let bad = |server_first: &str| client.client_final(server_first.as_bytes()).unwrap_err();
        assert!(bad("r=other,s=AAAA,i=4096").contains("nonce"));
        assert!(bad("r=nonce,s=AAAA,i=4096").contains("nonce"));
        assert!(bad("r=nonceX,s=!!,i=4096").contains("salt"));
        assert!(bad("r=nonceX,s=AAAA,i=0").contains("iteration"));
        assert!(bad("r=nonceX,s=AAAA,i=4000000000").contains("iteration"));
        assert!(bad("r=nonceX,s=AAAA").contains("i="));
        assert!(bad("r=nonceX,s=AAAA,i=4095").contains("between 4096 and 65536"));
        assert!(bad("r=nonceX,s=AAAA,i=65537").contains("between 4096 and 65536"));
        assert!(bad("r=nonceX,s=AAAA,i=many").contains("iteration"));
        assert!(bad("m=ext,r=nonceX,s=AAAA,i=4096").contains("mandatory"));
        client.client_final(b"r=nonceX,s=AAAA,i=4096").unwrap();
    }

    #[test]
    fn plain_frames_authzid_user_and_password() {
        assert_eq!(plain_message("alice", "s3cret"), b"\0alice\0s3cret");
        assert_eq!(plain_message("", ""), b"\0\0");
    }

    #[test]
    fn nonces_are_fresh_and_printable() {
        let (a, b) = (new_nonce().unwrap(), new_nonce().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_graphic() && c != b','));
    }
}
