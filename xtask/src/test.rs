//! `cargo xtask test`: every test of the workspace against a fresh test broker.
//!
//! Builds the broker and the interop peer when the cache lacks them, starts an in-memory broker on
//! a free port, runs `cargo test` with the environment the harness (`truthound-tests`) reads, then
//! the Python binding's pytest suite (see [`python`]), and stops the broker whatever the outcome.
//! `--spark` (an option of xtask's, not given to cargo) adds the Spark data source's test.

use std::process::ExitCode;

use crate::broker::{self, OwnedBroker};
use crate::{peer, util};

mod python;

/// Cargo options that choose packages: with one of them the run is not `--workspace`.
const PACKAGE_OPTIONS: &[&str] = &["-p", "--package", "--workspace", "--all", "--exclude"];

/// Cargo options that choose targets: with one of them `cargo test` runs once, as asked, instead
/// of once for `--all-targets` and once for `--doc`.
const TARGET_OPTIONS: &[&str] = &[
    "--lib",
    "--bin",
    "--bins",
    "--example",
    "--examples",
    "--test",
    "--tests",
    "--bench",
    "--benches",
    "--all-targets",
    "--doc",
];

/// The options of `cargo xtask test` itself, taken out of the arguments before `--`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    /// `--spark`: install PySpark into the test virtualenv and run the Spark data source's
    /// test; the Python tests then run whatever the packages chosen.
    spark: bool,
}

/// Splits xtask's own options from the arguments for cargo (and, after `--`, the test
/// binaries, which keep theirs).
fn options(args: &[String]) -> (Options, Vec<String>) {
    let split = args
        .iter()
        .position(|arg| arg == "--")
        .unwrap_or(args.len());
    let mut options = Options::default();
    let mut rest = Vec::with_capacity(args.len());
    for arg in &args[..split] {
        if arg == "--spark" {
            options.spark = true;
        } else {
            rest.push(arg.clone());
        }
    }
    rest.extend(args[split..].iter().cloned());
    (options, rest)
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let passed = run_tests(args)?;
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The `cargo test` invocations for the given arguments (those after `cargo xtask test`).
///
/// `has_lib` tells whether a package has a library target: `cargo test --doc` fails when none
/// of the packages it is given has one, so the doc-test run is left out then.
fn plan(args: &[String], has_lib: impl Fn(&str) -> bool) -> Vec<Vec<String>> {
    let split = args
        .iter()
        .position(|arg| arg == "--")
        .unwrap_or(args.len());
    let (cargo_args, test_args) = args.split_at(split);
    let has = |options: &[&str]| {
        cargo_args.iter().any(|arg| {
            options.iter().any(|option| {
                arg == option
                    || arg.starts_with(&format!("{option}="))
                    // `-pNAME`
                    || (*option == "-p" && arg.starts_with("-p") && arg.len() > 2)
            })
        })
    };

    let mut base = vec!["test".to_string()];
    if !has(PACKAGE_OPTIONS) {
        base.push("--workspace".to_string());
    }
    let packages = selected_packages(cargo_args);
    let doc_tests = has(&["--workspace", "--all", "--exclude"])
        || packages.is_empty()
        || packages.iter().any(|package| has_lib(package));
    let targets: &[&str] = if has(TARGET_OPTIONS) {
        &[]
    } else if doc_tests {
        &["--all-targets", "--doc"]
    } else {
        &["--all-targets"]
    };
    let with = |target: Option<&str>| {
        let mut run = base.clone();
        run.extend(target.map(str::to_string));
        run.extend(cargo_args.iter().cloned());
        run.extend(test_args.iter().cloned());
        run
    };
    if targets.is_empty() {
        vec![with(None)]
    } else {
        targets.iter().map(|target| with(Some(target))).collect()
    }
}

/// The names given with `-p NAME`, `-pNAME`, `--package NAME` or `--package=NAME`.
fn selected_packages(cargo_args: &[String]) -> Vec<String> {
    let mut packages = Vec::new();
    let mut args = cargo_args.iter();
    while let Some(arg) = args.next() {
        if arg == "-p" || arg == "--package" {
            packages.extend(args.next().cloned());
        } else if let Some(name) = arg.strip_prefix("--package=") {
            packages.push(name.to_string());
        } else if let Some(name) = arg.strip_prefix("-p") {
            packages.push(name.to_string());
        }
    }
    packages
}

/// Whether the workspace package `name` has a library target (`src/lib.rs` or a `[lib]` table).
fn package_has_lib(name: &str) -> bool {
    let root = util::workspace_root();
    let mut dirs = vec![root.join("xtask"), root.join("tests")];
    if let Ok(entries) = std::fs::read_dir(root.join("crates")) {
        dirs.extend(entries.filter_map(Result::ok).map(|entry| entry.path()));
    }
    dirs.iter().any(|dir| {
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            return false;
        };
        let is_it = manifest
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once('=')?;
                (key.trim() == "name").then(|| value.trim().trim_matches('"').to_string())
            })
            .is_some_and(|found| found == name);
        is_it && (dir.join("src").join("lib.rs").is_file() || manifest.contains("[lib]"))
    })
}

/// Runs the tests with a fresh broker; `Ok(false)` when a test run failed.
pub(crate) fn run_tests(args: &[String]) -> anyhow::Result<bool> {
    let (options, args) = options(args);
    let args = args.as_slice();
    let runs = plan(args, package_has_lib);
    let nisshi = {
        let _step = util::Step::start("test broker (nisshi) installed");
        broker::ensure_installed()?
    };
    let python = {
        let _step = util::Step::start("interop peer (confluent-kafka) installed");
        peer::ensure_installed()?
    };
    let mut broker = {
        let _step = util::Step::start("start a fresh test broker");
        OwnedBroker::start_memory(&nisshi)?
    };
    println!(
        "Test broker: {} (log {})",
        broker.address(),
        broker.log().display()
    );

    let mut failed = Vec::new();
    for run in &runs {
        let mut command = util::cargo();
        command
            .args(run)
            .env("TRUTHOUND_TEST_BROKER", broker.address())
            .env("TRUTHOUND_NISSHI_BIN", &nisshi)
            .env("TRUTHOUND_TEST_PYTHON", &python);
        let step = util::Step::start(format!("cargo {}", run.join(" ")));
        let status = util::status(&mut command)?;
        drop(step);
        if !status.success() {
            failed.push(format!("`cargo {}` ({status})", run.join(" ")));
        }
    }
    // The Python binding's tests run with the whole workspace's tests, when its package is
    // chosen, or with `--spark`.
    let packages = selected_packages(args);
    let cargo_args = &args[..args.iter().position(|a| a == "--").unwrap_or(args.len())];
    let whole_workspace = packages.is_empty()
        && !cargo_args.iter().any(|a| {
            let option = a.split('=').next().unwrap_or(a);
            PACKAGE_OPTIONS.contains(&option) || TARGET_OPTIONS.contains(&option)
        });
    if whole_workspace || options.spark || packages.iter().any(|p| p == "truthound-python") {
        match python::run(&python, &broker.address(), whole_workspace, options.spark) {
            Ok(runs) => failed.extend(
                runs.into_iter()
                    .map(|r| format!("pytest python/tests ({r})")),
            ),
            Err(e) => failed.push(format!("the Python tests ({e:#})")),
        }
    }
    if !failed.is_empty() {
        broker.keep_run_dir();
        println!(
            "Broker log (kept): {}\n--- last lines ---\n{}\n---",
            broker.log().display(),
            util::tail(broker.log(), 20)
        );
    }
    drop(broker);

    if whole_workspace {
        // Every test binary of the workspace was just built or found fresh: older copies of
        // each are stale, and at hundreds of MB each they fill a reused cache's disk.
        let deps = util::target_dir(&util::workspace_root()).join("debug/deps");
        match util::prune_stale_binaries(&deps) {
            Ok(0) => {}
            Ok(freed) => println!(
                "Deleted stale test binaries in {}: {} MB freed",
                deps.display(),
                freed / 1_000_000
            ),
            Err(e) => println!("warning: pruning stale test binaries: {e:#}"),
        }
    }

    if failed.is_empty() {
        println!("xtask test: OK, every test run passed");
        Ok(true)
    } else {
        println!("xtask test: FAILED: {}", failed.join(", "));
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::{Options, options, plan};

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    fn plan_of(text: &str) -> Vec<String> {
        plan(&args(text), |package| package != "xtask")
            .iter()
            .map(|run| run.join(" "))
            .collect()
    }

    #[test]
    fn no_arguments_run_everything_twice() {
        assert_eq!(
            plan_of(""),
            ["test --workspace --all-targets", "test --workspace --doc"]
        );
    }

    #[test]
    fn packages_replace_the_workspace() {
        assert_eq!(
            plan_of("-p truthound-tests"),
            [
                "test --all-targets -p truthound-tests",
                "test --doc -p truthound-tests"
            ]
        );
        assert_eq!(plan_of("--package=a")[0], "test --all-targets --package=a");
    }

    #[test]
    fn packages_without_a_library_have_no_doc_tests() {
        assert_eq!(plan_of("-p xtask"), ["test --all-targets -p xtask"]);
        assert_eq!(plan_of("-p xtask -ptruthound-tests").len(), 2);
    }

    #[test]
    fn the_workspace_packages_are_found() {
        assert!(super::package_has_lib("truthound-tests"));
        assert!(!super::package_has_lib("xtask"));
    }

    #[test]
    fn targets_make_one_run() {
        assert_eq!(
            plan_of("-p truthound-tests --test harness -- --nocapture"),
            ["test -p truthound-tests --test harness -- --nocapture"]
        );
    }

    #[test]
    fn spark_is_taken_out_of_the_cargo_arguments() {
        let (found, rest) = options(&args("--spark -p truthound-python -- --spark"));
        assert_eq!(found, Options { spark: true });
        assert_eq!(rest, args("-p truthound-python -- --spark"));
        assert_eq!(options(&args("")), (Options::default(), Vec::new()));
        // After `--` it belongs to the test binaries.
        assert_eq!(options(&args("-- --spark")).0, Options::default());
        assert_eq!(
            plan(&options(&args("--spark")).1, |_| true)
                .iter()
                .map(|run| run.join(" "))
                .collect::<Vec<_>>(),
            plan_of("")
        );
    }

    #[test]
    fn test_binary_arguments_go_to_both_runs() {
        assert_eq!(
            plan_of("-- snapshot"),
            [
                "test --workspace --all-targets -- snapshot",
                "test --workspace --doc -- snapshot"
            ]
        );
    }
}
