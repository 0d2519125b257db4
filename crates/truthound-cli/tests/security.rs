//! The `truthound` binary with security settings, as users give them: flags, `TRUTHOUND_*`
//! environment variables and password files, end to end against a broker that requires SCRAM
//! over TLS; and the mistakes that must be loud (credentials that would be ignored, no
//! mechanism, PLAIN in clear text) without ever showing the password.
//!
//! Needs `TRUTHOUND_NISSHI_BIN`: run with `cargo xtask test` (it builds the broker).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use bytes::Bytes;
use truthound_kafka_client::{
    ClientConfig, KafkaClient, ProduceOptions, ProduceRecord, SaslConfig, SaslMechanism,
    SecurityProtocol, TlsConfig,
};
use truthound_tests::security::{BOB, scram_broker};
use truthound_tests::unique_topic;

/// A password that must never appear in any output.
const SECRET: &str = "cli-pw-0b7e55";

/// The binary, with no `TRUTHOUND_*` variable inherited from the caller's environment.
fn truthound() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_truthound"));
    for (name, _) in std::env::vars() {
        if name.starts_with("TRUTHOUND_") && name != "TRUTHOUND_NISSHI_BIN" {
            command.env_remove(name);
        }
    }
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts the exit code and that neither stream shows [`SECRET`]; returns (stdout, stderr).
fn expect(output: Output, code: i32) -> (String, String) {
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        !stdout.contains(SECRET) && !stderr.contains(SECRET),
        "the password was shown:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

#[test]
fn help_says_where_passwords_belong_and_never_shows_one() {
    let output = truthound()
        .args(["snapshot", "--help"])
        .env("TRUTHOUND_SASL_PASSWORD", SECRET)
        .output()
        .unwrap();
    let (help, _) = expect(output, 0);
    assert!(help.contains("--sasl-password-file <FILE>"), "{help}");
    assert!(
        help.contains("Prefer TRUTHOUND_SASL_PASSWORD or --sasl-password-file"),
        "{help}"
    );
    let output = truthound().arg("--help").output().unwrap();
    let (help, _) = expect(output, 0);
    assert!(
        help.contains("a password given as\n--sasl-password shows in `ps`"),
        "{help}"
    );
}

#[test]
fn credentials_that_would_be_ignored_are_refused() {
    // PLAINTEXT (the default) with a password: the client would talk plain TCP, unauthenticated.
    let output = truthound()
        .args(["info", "kafka://127.0.0.1:1/t", "--sasl-mechanism", "PLAIN"])
        .args(["--sasl-username", "u", "--sasl-password", SECRET])
        .output()
        .unwrap();
    let (_, stderr) = expect(output, 2);
    assert!(
        stderr.contains(
            "sasl_mechanism, sasl_username, sasl_password set, but security_protocol is \
             PLAINTEXT, which does not authenticate"
        ),
        "{stderr}"
    );
    // A CA file without TLS.
    let output = truthound()
        .args(["info", "kafka://127.0.0.1:1/t", "--ssl-cafile", "/ca.pem"])
        .output()
        .unwrap();
    let (_, stderr) = expect(output, 2);
    assert!(
        stderr.contains("ssl_cafile set, but security_protocol is PLAINTEXT"),
        "{stderr}"
    );
    // Credentials without a mechanism: no default is chosen silently.
    let output = truthound()
        .args(["info", "kafka://127.0.0.1:1/t", "--sasl-username", "u"])
        .env("TRUTHOUND_SECURITY_PROTOCOL", "SASL_SSL")
        .env("TRUTHOUND_SASL_PASSWORD", SECRET)
        .output()
        .unwrap();
    let (_, stderr) = expect(output, 2);
    assert!(
        stderr.contains(
            "security_protocol SASL_SSL needs sasl_mechanism: one of PLAIN, SCRAM-SHA-256, \
             SCRAM-SHA-512"
        ),
        "{stderr}"
    );
}

#[test]
fn plain_over_plaintext_warns_once_even_when_quiet_unless_allowed() {
    let run = |extra: &[&str]| {
        truthound()
            .args(["-q", "info", "kafka://127.0.0.1:1/t", "--timeout", "2"])
            .args([
                "--security-protocol",
                "SASL_PLAINTEXT",
                "--sasl-mechanism",
                "PLAIN",
            ])
            .args(["--sasl-username", "u"])
            .args(extra)
            .env("TRUTHOUND_SASL_PASSWORD", SECRET)
            .output()
            .unwrap()
    };
    // Nothing listens on port 1: the command fails after the warning.
    let (_, stderr) = expect(run(&[]), 2);
    let warning = "warning: SASL PLAIN over SASL_PLAINTEXT sends the password in clear text";
    assert_eq!(stderr.matches(warning).count(), 1, "{stderr}");
    let (_, stderr) = expect(run(&["--allow-plaintext-password"]), 2);
    assert!(!stderr.contains("warning:"), "{stderr}");
}

#[test]
fn scram_over_tls_from_flags_environment_and_password_file() {
    let (broker, ca) = scram_broker(true);
    let ca = ca.unwrap();
    let topic = unique_topic("cli-secure");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = KafkaClient::connect(
            ClientConfig::new([broker.address()])
                .with_security_protocol(SecurityProtocol::SaslSsl)
                .with_tls(TlsConfig::new().with_ca_file(&ca))
                .with_sasl(SaslConfig::new(SaslMechanism::ScramSha512, BOB.0, BOB.1)),
        )
        .await
        .unwrap();
        client.create_topic(&topic, 1, 1).await.unwrap();
        let records = (0..5)
            .map(|i| ProduceRecord::new(Bytes::from(format!("{{\"i\":{i}}}"))))
            .collect();
        client
            .produce(&topic, 0, records, ProduceOptions::default())
            .await
            .unwrap();
    });
    let url = format!("kafka://{}/{topic}", broker.address());
    let ca = ca.display().to_string();
    let rows = |stdout: &str| stdout.lines().filter(|l| l.starts_with("{\"i\":")).count();

    // Everything from the environment, as a CI job would set it.
    let output = truthound()
        .args([
            "-q",
            "snapshot",
            &url,
            "-o",
            "-",
            "--output-format",
            "ndjson",
        ])
        .env("TRUTHOUND_SECURITY_PROTOCOL", "SASL_SSL")
        .env("TRUTHOUND_SASL_MECHANISM", "SCRAM-SHA-512")
        .env("TRUTHOUND_SASL_USERNAME", BOB.0)
        .env("TRUTHOUND_SASL_PASSWORD", BOB.1)
        .env("TRUTHOUND_SSL_CAFILE", &ca)
        .output()
        .unwrap();
    let (stdout, _) = expect(output, 0);
    assert_eq!(rows(&stdout), 5, "{stdout}");

    // Flags, with the password from a file.
    let password_file = broker.dir().join("password.txt");
    std::fs::write(&password_file, format!("{}\n", BOB.1)).unwrap();
    let output = truthound()
        .args([
            "-q",
            "snapshot",
            &url,
            "-o",
            "-",
            "--output-format",
            "ndjson",
        ])
        .args([
            "--security-protocol",
            "SASL_SSL",
            "--sasl-mechanism",
            "SCRAM-SHA-512",
        ])
        .args(["--sasl-username", BOB.0, "--ssl-cafile", &ca])
        .arg("--sasl-password-file")
        .arg(&password_file)
        .output()
        .unwrap();
    let (stdout, _) = expect(output, 0);
    assert_eq!(rows(&stdout), 5, "{stdout}");

    // A wrong password: exit 2, the broker and user named, the password nowhere.
    let output = truthound()
        .args(["info", &url, "--security-protocol", "SASL_SSL"])
        .args([
            "--sasl-mechanism",
            "SCRAM-SHA-512",
            "--sasl-username",
            BOB.0,
        ])
        .args(["--ssl-cafile", &ca])
        .env("TRUTHOUND_SASL_PASSWORD", SECRET)
        .output()
        .unwrap();
    let (_, stderr) = expect(output, 2);
    assert!(
        stderr.contains(&format!(
            "broker {} refused SASL SCRAM-SHA-512 authentication of user \"bob\"",
            broker.address()
        )),
        "{stderr}"
    );
}
