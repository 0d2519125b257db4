//! The Python binding's tests: `maturin develop` builds `truthound_streaming` (dev profile, the
//! same target directory as the Rust tests) into the test virtualenv, then pytest runs
//! `python/tests` against the test broker.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

use crate::{peer, util};

/// The maturin the module is built with.
const MATURIN_VERSION: &str = "1.16.0";
/// The pytest the tests run with.
const PYTEST_VERSION: &str = "9.2.0";

/// Installs what the Python tests need into the virtualenv of `python`, when missing.
fn ensure_tools(python: &Path) -> anyhow::Result<()> {
    peer::ensure_polars(python)?;
    let have = |module: &str, version: &str| {
        Command::new(python)
            .args([
                "-c",
                &format!(
                    "import importlib.metadata as m; assert m.version({module:?}) == {version:?}"
                ),
            ])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if have("maturin", MATURIN_VERSION) && have("pytest", PYTEST_VERSION) {
        return Ok(());
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
            .args(["--only-binary", ":all:"])
            .arg(format!("maturin=={MATURIN_VERSION}"))
            .arg(format!("pytest=={PYTEST_VERSION}")),
    )
    .context("installing maturin and pytest into the virtualenv failed")
}

/// Builds the module into the virtualenv and runs pytest; `Ok(false)` when a test failed.
pub(crate) fn run(python: &Path, broker: &str) -> anyhow::Result<bool> {
    let venv = python
        .parent()
        .and_then(Path::parent)
        .context("the virtualenv's python is not in <venv>/bin")?;
    {
        let _step = util::Step::start("Python test tools (polars, maturin, pytest) installed");
        ensure_tools(python)?;
    }
    let root = util::workspace_root();
    let path = std::env::join_paths(std::iter::once(venv.join("bin")).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))?;
    {
        let _step = util::Step::start("maturin develop (truthound_streaming, dev profile)");
        util::run(
            Command::new(venv.join("bin").join("maturin"))
                .args(["develop", "--quiet"])
                .current_dir(root.join("python"))
                .env("VIRTUAL_ENV", venv)
                .env("PATH", &path)
                .env_remove("CARGO_MANIFEST_DIR"),
        )
        .context("building the Python module with `maturin develop` failed")?;
    }
    let _step = util::Step::start("pytest python/tests");
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
        .current_dir(&root)
        .env("TRUTHOUND_TEST_BROKER", broker)
        .env("PATH", &path);
    if let Some(extra) = std::env::var_os("TRUTHOUND_PYTEST_ARGS") {
        pytest.args(extra.to_string_lossy().split_whitespace());
    }
    Ok(util::status(&mut pytest)?.success())
}
