//! `cargo xtask ci`: what CI checks (`.ci/run` calls this), in order, stopping at the first
//! failure: formatting, clippy with `-D warnings`, each feature of the facade on its own, the
//! tests with the test broker (as `cargo xtask test`), and the docs with `-D warnings`.

use std::fs;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::{test, util};

/// The facade crate whose features must each build alone.
const FACADE: &str = "truthound";

pub(crate) fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    if let Some(arg) = args.first() {
        bail!("`cargo xtask ci` takes no arguments (got `{arg}`)");
    }
    let started = std::time::Instant::now();

    {
        let _step = util::Step::start("cargo fmt --all --check");
        let mut command = util::cargo();
        command.args(["fmt", "--all", "--check"]);
        // rustfmt colours its diff by its own flag, not by cargo's CARGO_TERM_COLOR.
        if std::env::var("CARGO_TERM_COLOR").is_ok_and(|color| color == "never") {
            command.args(["--", "--color=never"]);
        }
        util::run(&mut command)?;
    }
    {
        let _step = util::Step::start("cargo clippy --workspace --all-targets -- -D warnings");
        util::run(util::cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    {
        let _step = util::Step::start(format!("each feature of `{FACADE}` builds alone"));
        facade_features()?;
    }
    {
        let _step = util::Step::start("tests with the test broker (cargo xtask test)");
        if !test::run_tests(&[])? {
            bail!("the tests failed");
        }
    }
    {
        let _step =
            util::Step::start("RUSTDOCFLAGS=\"-D warnings\" cargo doc --workspace --no-deps");
        util::run(
            util::cargo()
                .args(["doc", "--workspace", "--no-deps"])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )?;
    }

    println!(
        "\nxtask ci: OK, every check passed ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// `cargo check -p truthound --no-default-features`, alone and with each feature of its manifest.
fn facade_features() -> anyhow::Result<()> {
    let manifest = util::workspace_root()
        .join("crates")
        .join(FACADE)
        .join("Cargo.toml");
    if !manifest.is_file() {
        println!("Skipped: {} does not exist yet.", manifest.display());
        return Ok(());
    }
    let text = fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let features = manifest_features(&text);
    println!("Features of `{FACADE}`: {}", features.join(", "));

    let mut runs = vec![None];
    runs.extend(features.iter().map(Some));
    for feature in runs {
        let mut command = util::cargo();
        command.args(["check", "--package", FACADE, "--no-default-features"]);
        if let Some(feature) = feature {
            command.args(["--features", feature]);
        }
        util::run(&mut command)?;
    }
    Ok(())
}

/// The feature names of a manifest's `[features]` table, without `default`.
fn manifest_features(manifest: &str) -> Vec<String> {
    let mut features = Vec::new();
    let mut in_features = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') && !line.starts_with("[\"") {
            // A table header (an array value spanning lines starts with `[` too, but not here:
            // its continuation lines start with a quote or `]`).
            in_features = line == "[features]";
            continue;
        }
        if !in_features {
            continue;
        }
        let Some((key, _)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().trim_matches('"');
        let is_name = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '.'));
        if is_name && key != "default" && !line.starts_with('#') {
            features.push(key.to_string());
        }
    }
    features
}

#[cfg(test)]
mod tests {
    use super::manifest_features;

    #[test]
    fn features_are_read_from_the_features_table() {
        let manifest = r#"
[package]
name = "truthound"

[features]
# All sub-crates.
default = ["json", "avro"]
json = ["dep:truthound-json"]
avro = [
    "dep:truthound-avro",
    "truthound-kafka?/avro",
]
"polars-io" = []

[dependencies]
serde = "1"
"#;
        assert_eq!(manifest_features(manifest), ["json", "avro", "polars-io"]);
    }
}
