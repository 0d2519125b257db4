//! The Python binding's tests: maturin builds the `truthound_streaming` wheel (dev profile, the
//! same target directory as the Rust tests), and pytest runs `python/tests` against the test
//! broker three times:
//!
//! - in the test virtualenv, with the latest polars 1.x ([`peer::POLARS_VERSION`]), the
//!   truthound library and Ray (the datasource's test), and with `--spark` PySpark
//!   ([`PYSPARK`], the Spark data source's test, which the other runs leave out);
//! - in a cached virtualenv with the oldest polars the package supports ([`OLDEST_POLARS`]);
//! - in a virtualenv made fresh for the run, where `pip install <wheel>` resolves polars itself
//!   (the newest release, 2.x today): what a user's `pip install truthound-streaming` does.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::{peer, util};

/// The maturin the module is built with.
const MATURIN_VERSION: &str = "1.16.0";
/// The pytest the tests run with.
const PYTEST_VERSION: &str = "9.2.0";
/// The oldest polars the package supports: the first that reads every chunk of an Arrow C
/// stream in its constructor (see `python/pyproject.toml`).
const OLDEST_POLARS: &str = "1.10.0";
/// The truthound library (PyPI) the frames are checked with, in the test virtualenv only (it
/// requires polars < 2).
const TRUTHOUND_LIBRARY: &str = "3.2.0";
/// Ray (with Ray Data) for the datasource's test, in the test virtualenv only (its download is
/// large; the other runs check polars versions, not engines).
const RAY: &str = "2.60.0";
/// PySpark for the Spark data source's test, in the test virtualenv and only with `--spark`
/// (Spark needs Java; PyPI has PySpark as a source archive only, so pip builds it).
const PYSPARK: &str = "4.3.0";
/// pytest's selection for the test virtualenv without `--spark`.
const WITHOUT_SPARK: [&str; 2] = ["-k", "not test_spark"];
/// pytest's selection for the runs without the truthound library, Ray and Spark.
const WITHOUT_TRUTHOUND_LIBRARY: [&str; 2] = [
    "-k",
    "not truthound_library and not test_ray and not test_spark",
];

fn pip_install(python: &Path, what: &[String]) -> anyhow::Result<()> {
    util::run(
        Command::new(python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
            ])
            .args(what),
    )
    .with_context(|| format!("`pip install {}` failed", what.join(" ")))
}

fn has_version(python: &Path, package: &str, version: &str) -> bool {
    Command::new(python)
        .args([
            "-c",
            &format!(
                "import importlib.metadata as m; assert m.version({package:?}) == {version:?}"
            ),
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The test tools: pytest, and confluent-kafka with its schema registry client and Avro
/// serializer (fastavro), which the tests fill topics with.
fn test_tools() -> Vec<String> {
    vec![
        "--only-binary".into(),
        ":all:".into(),
        format!("pytest=={PYTEST_VERSION}"),
        format!(
            "confluent-kafka[avro,schemaregistry]=={}",
            peer::CONFLUENT_KAFKA_VERSION
        ),
    ]
}

/// Whether `python` has the test tools' registry serializer (an older cached virtualenv may
/// not).
fn has_registry_serializer(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import confluent_kafka.schema_registry.avro"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A virtualenv at `dir` (made when missing); returns its python.
fn venv(dir: &Path) -> anyhow::Result<PathBuf> {
    let python = dir.join("bin").join("python");
    if !python.is_file() {
        util::run(Command::new("python3").args(["-m", "venv"]).arg(dir))
            .with_context(|| format!("`python3 -m venv {}` failed", dir.display()))?;
    }
    Ok(python)
}

/// Builds the wheel into `<cache>/wheels` and returns its path.
fn build_wheel(venv_dir: &Path) -> anyhow::Result<PathBuf> {
    let out = util::cache_dir()?.join("wheels");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out)?;
    let path = std::env::join_paths(std::iter::once(venv_dir.join("bin")).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))?;
    util::run(
        Command::new(venv_dir.join("bin").join("maturin"))
            .args(["build", "--quiet", "--profile", "dev", "--out"])
            .arg(&out)
            .current_dir(util::workspace_root().join("python"))
            .env("VIRTUAL_ENV", venv_dir)
            .env("PATH", &path)
            .env_remove("CARGO_MANIFEST_DIR"),
    )
    .context("building the wheel with `maturin build` failed")?;
    let wheel = std::fs::read_dir(&out)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"));
    match wheel {
        Some(w) => Ok(w),
        None => bail!("maturin built no wheel into {}", out.display()),
    }
}

/// The CLI binary the tests compare frames with (`truthound snapshot`). A workspace test run
/// has just built it (its tests run it); otherwise it is built here.
fn cli(built_by_tests: bool) -> anyhow::Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| util::workspace_root().join("target"), PathBuf::from);
    let binary = target.join("debug").join("truthound");
    if !built_by_tests || !binary.is_file() {
        util::run(util::cargo().args([
            "build",
            "--quiet",
            "-p",
            "truthound-cli",
            "--bin",
            "truthound",
        ]))
        .context("building the CLI failed")?;
    }
    Ok(binary)
}

/// Runs pytest with `python` (and `select`, pytest's selection options); `Ok(false)` when a
/// test failed.
fn pytest(
    python: &Path,
    broker: &str,
    cli: &Path,
    label: &str,
    select: &[&str],
) -> anyhow::Result<bool> {
    let _step = util::Step::start(format!("pytest python/tests ({label})"));
    let mut pytest = Command::new(python);
    pytest
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "python/tests",
        ])
        .args(select)
        .current_dir(util::workspace_root())
        .env("TRUTHOUND_TEST_BROKER", broker)
        .env("TRUTHOUND_CLI", cli);
    if let Some(extra) = std::env::var_os("TRUTHOUND_PYTEST_ARGS") {
        pytest.args(extra.to_string_lossy().split_whitespace());
    }
    Ok(util::status(&mut pytest)?.success())
}

/// Builds the wheel and runs the Python tests in the three virtualenvs; returns the labels of
/// the runs that failed.
/// `workspace_tested`: the whole workspace's tests ran first (so the CLI binary is fresh).
/// `spark`: PySpark goes into the test virtualenv and its run has the Spark test.
pub(crate) fn run(
    python: &Path,
    broker: &str,
    workspace_tested: bool,
    spark: bool,
) -> anyhow::Result<Vec<String>> {
    let venv_dir = python
        .parent()
        .and_then(Path::parent)
        .context("the virtualenv's python is not in <venv>/bin")?
        .to_owned();
    {
        let _step = util::Step::start("Python test tools (polars, maturin, pytest) installed");
        peer::ensure_polars(python)?;
        if !has_version(python, "maturin", MATURIN_VERSION)
            || !has_version(python, "pytest", PYTEST_VERSION)
            || !has_version(python, "truthound", TRUTHOUND_LIBRARY)
            || !has_version(python, "ray", RAY)
        {
            let mut what = test_tools();
            what.push(format!("maturin=={MATURIN_VERSION}"));
            what.push(format!("truthound=={TRUTHOUND_LIBRARY}"));
            what.push(format!("ray[data]=={RAY}"));
            what.push(format!("polars=={}", peer::POLARS_VERSION));
            pip_install(python, &what)?;
        }
    }
    if spark && !has_version(python, "pyspark", PYSPARK) {
        let _step = util::Step::start(format!("PySpark {PYSPARK} installed (built by pip)"));
        pip_install(python, &[format!("pyspark=={PYSPARK}")])?;
    }
    let wheel = {
        let _step = util::Step::start("maturin build (truthound_streaming wheel, dev profile)");
        build_wheel(&venv_dir)?
    };
    let cli = {
        let _step = util::Step::start("the CLI, to compare frames with");
        cli(workspace_tested)?
    };
    let wheel_arg = wheel.display().to_string();
    let reinstall = |python: &Path| {
        pip_install(
            python,
            &[
                "--force-reinstall".into(),
                "--no-deps".into(),
                wheel_arg.clone(),
            ],
        )
    };
    let mut failed = Vec::new();

    reinstall(python)?;
    let mut latest = format!("polars {}", peer::POLARS_VERSION);
    let select: &[&str] = if spark {
        latest.push_str(&format!(", with Spark {PYSPARK}"));
        &[]
    } else {
        &WITHOUT_SPARK
    };
    if !pytest(python, broker, &cli, &latest, select)? {
        failed.push(latest);
    }

    let cache = util::cache_dir()?;
    let oldest = format!("polars {OLDEST_POLARS}, without the truthound library, Ray and Spark");
    {
        let step = util::Step::start(format!("virtualenv with {oldest}"));
        let old = venv(&cache.join(format!("venv-polars-{OLDEST_POLARS}")))?;
        if !has_version(&old, "polars", OLDEST_POLARS)
            || !has_version(&old, "pytest", PYTEST_VERSION)
            || !has_registry_serializer(&old)
        {
            let mut what = test_tools();
            what.push(format!("polars=={OLDEST_POLARS}"));
            pip_install(&old, &what)?;
        }
        reinstall(&old)?;
        drop(step);
        if !pytest(&old, broker, &cli, &oldest, &WITHOUT_TRUTHOUND_LIBRARY)? {
            failed.push(oldest);
        }
    }

    {
        let dir = cache.join("venv-fresh");
        let _ = std::fs::remove_dir_all(&dir);
        let step = util::Step::start("a fresh virtualenv: pip install <wheel> and its polars");
        let fresh = venv(&dir)?;
        pip_install(&fresh, std::slice::from_ref(&wheel_arg))?;
        pip_install(&fresh, &test_tools())?;
        let version = Command::new(&fresh)
            .args(["-c", "import polars; print(polars.__version__)"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        drop(step);
        let label = format!(
            "fresh install, polars {version}, without the truthound library, Ray and Spark"
        );
        if !pytest(&fresh, broker, &cli, &label, &WITHOUT_TRUTHOUND_LIBRARY)? {
            failed.push(label);
        }
    }
    Ok(failed)
}
