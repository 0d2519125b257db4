//! The interop peer: librdkafka, through the Python package `confluent-kafka` (whose wheels bundle
//! librdkafka), in a virtualenv at `<cache>/venv`. Tests use it to produce and read records with a
//! reference client. `cargo xtask bench peers` adds Python Polars to it ([`ensure_polars`]); the
//! tests never need it.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

use crate::util;

/// The pinned `confluent-kafka` release; its wheels bundle librdkafka of the same version.
pub(crate) const CONFLUENT_KAFKA_VERSION: &str = "2.16.1";

/// Its extras the tests use: the schema registry client and its Avro (fastavro), JSON Schema
/// (jsonschema) and Protobuf (protobuf) serializers.
const CONFLUENT_KAFKA_EXTRAS: &str = "avro,json,protobuf,schemaregistry";

/// The pinned moto release: its standalone server (`moto[server]`) is the S3 the object-store
/// tests write parts to, and boto3 comes with it.
pub(crate) const MOTO_VERSION: &str = "5.2.5";

/// The Python Polars that `cargo xtask bench peers` installs for its Python peer.
pub(crate) const POLARS_VERSION: &str = "1.44.2";

/// The oldest librdkafka the tests accept.
const MIN_LIBRDKAFKA: (u32, u32) = (2, 2);

pub(crate) fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    match args.first().map(String::as_str) {
        Some("install") if args.len() == 1 => {
            let python = ensure_installed()?;
            println!("Interop peer python: {}", python.display());
            Ok(ExitCode::SUCCESS)
        }
        _ => bail!("usage: cargo xtask peer install"),
    }
}

fn venv_dir() -> anyhow::Result<PathBuf> {
    Ok(util::cache_dir()?.join("venv"))
}

/// Returns the virtualenv's python, creating the virtualenv and installing `confluent-kafka`
/// first when they are missing.
pub(crate) fn ensure_installed() -> anyhow::Result<PathBuf> {
    let venv = venv_dir()?;
    let python = venv.join("bin").join("python");
    if python.is_file()
        && let Some(versions) = installed_versions(&python)
    {
        println!("Interop peer ready: {versions} ({})", python.display());
        return Ok(python);
    }

    if !python.is_file() {
        println!("Creating the Python virtualenv {}", venv.display());
        let created = util::status(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        if !matches!(created, Ok(status) if status.success()) {
            // A failed `venv` (no ensurepip) leaves a half-made directory behind.
            let _ = std::fs::remove_dir_all(&venv);
            bail!(
                "`python3 -m venv` failed: the interop peer needs Python 3 with the venv module \
                 (on Debian or Ubuntu: `apt-get install -y python3-venv`)"
            );
        }
    }
    util::run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
            ])
            // Only a wheel: it bundles librdkafka, where a source build would need its headers.
            .args(["--only-binary", "confluent-kafka"])
            .arg(format!(
                "confluent-kafka[{CONFLUENT_KAFKA_EXTRAS}]=={CONFLUENT_KAFKA_VERSION}"
            ))
            .arg(format!("moto[server]=={MOTO_VERSION}")),
    )
    .context("installing confluent-kafka and moto into the virtualenv failed")?;

    match installed_versions(&python) {
        Some(versions) => {
            println!("Interop peer installed: {versions}");
            Ok(python)
        }
        None => bail!(
            "confluent-kafka was installed into {} but does not import, or its librdkafka is \
             older than {}.{}",
            venv.display(),
            MIN_LIBRDKAFKA.0,
            MIN_LIBRDKAFKA.1
        ),
    }
}

/// `confluent-kafka X, librdkafka Y` when the package and its serializers import, its
/// librdkafka is recent enough, and moto's server is the pinned release.
fn installed_versions(python: &std::path::Path) -> Option<String> {
    let output = Command::new(python)
        .args([
            "-c",
            // The serializers import their extras (fastavro, jsonschema, protobuf, httpx).
            &format!("import confluent_kafka as c; import confluent_kafka.schema_registry.avro, \
             confluent_kafka.schema_registry.json_schema, confluent_kafka.schema_registry.protobuf; \
             import moto, moto.server, boto3; assert moto.__version__ == '{MOTO_VERSION}'; \
             print(c.__version__, c.libversion()[0])"),
        ])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut words = text.split_whitespace();
    let package = words.next()?.to_string();
    let librdkafka = words.next()?.to_string();
    let mut parts = librdkafka.split('.');
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next()?.parse().ok()?;
    ((major, minor) >= MIN_LIBRDKAFKA)
        .then(|| format!("confluent-kafka {package}, librdkafka {librdkafka}"))
}

/// Installs Python Polars [`POLARS_VERSION`] into the virtualenv of `python` unless it is there
/// already; returns its version. Only the benchmark's Python peer uses it.
pub(crate) fn ensure_polars(python: &std::path::Path) -> anyhow::Result<String> {
    let version = || {
        let output = Command::new(python)
            .args(["-c", "import polars; print(polars.__version__)"])
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    if let Some(found) = version()
        && found == POLARS_VERSION
    {
        return Ok(found);
    }
    util::run(
        Command::new(python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
            ])
            // Wheels only; since 1.34 the `polars` package pulls its compiled runtime in as a
            // dependency (`polars-runtime-*`).
            .args(["--only-binary", ":all:"])
            .arg(format!("polars=={POLARS_VERSION}")),
    )
    .context("installing polars into the virtualenv failed")?;
    match version() {
        Some(found) if found == POLARS_VERSION => Ok(found),
        found => bail!(
            "polars=={POLARS_VERSION} was installed into the virtualenv of {}, but it imports as \
             {found:?}",
            python.display()
        ),
    }
}
