//! `cargo xtask bench`: the benchmarks, against the test broker.
//!
//! Not yet available: it needs the `truthound` crates. Until then the task says so and fails.

use std::process::ExitCode;

pub(crate) fn run(_args: &[String]) -> anyhow::Result<ExitCode> {
    eprintln!("xtask bench: not yet available");
    Ok(ExitCode::FAILURE)
}
