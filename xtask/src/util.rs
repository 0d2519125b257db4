//! Shared helpers: where the workspace and the cache are, and running commands.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

/// The workspace root: the parent of this package's manifest directory.
///
/// `cargo run` (so `cargo xtask`) sets `CARGO_MANIFEST_DIR` when it runs the binary; that is read
/// first, because the value compiled in can name another clone: cargo does not rebuild when only
/// the workspace's location changes, and clones may share one target directory.
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.clone(), Path::to_path_buf)
}

/// The cache directory shared by every clone of the workspace: the broker build, the Python
/// virtualenv and the runtime state of a detached broker live here.
pub(crate) fn cache_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = non_empty_env("TRUTHOUND_CACHE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = non_empty_env("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("truthound"));
    }
    match non_empty_env("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".cache").join("truthound")),
        None => bail!("cannot find a cache directory: set TRUTHOUND_CACHE_DIR or HOME"),
    }
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// A `cargo` command: the cargo that runs this xtask (`$CARGO`), in the workspace root.
///
/// Without the `CARGO_MANIFEST_DIR` that `cargo run` gave this xtask: build scripts that rerun
/// when it changes (ring's does) would otherwise be rebuilt, with everything above them, each
/// time a build alternates between `cargo xtask` and plain `cargo`.
pub(crate) fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace_root())
        .env_remove("CARGO_MANIFEST_DIR");
    command
}

/// Runs the command with inherited stdio and returns its exit status.
pub(crate) fn status(command: &mut Command) -> anyhow::Result<ExitStatus> {
    println!("$ {}", display(command));
    command
        .status()
        .with_context(|| format!("cannot run `{}`", display(command)))
}

/// Runs the command with inherited stdio; fails unless it succeeds.
pub(crate) fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = status(command)?;
    if !status.success() {
        bail!("`{}` failed ({status})", display(command));
    }
    Ok(())
}

/// The command as one would type it (environment changes are not shown).
pub(crate) fn display(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Prints a step's heading with the wall-clock time, and its duration when dropped.
pub(crate) struct Step {
    name: String,
    started: Instant,
}

impl Step {
    pub(crate) fn start(name: impl Into<String>) -> Self {
        let name = name.into();
        println!("\n==> [{}] {name}", utc_time());
        Self {
            name,
            started: Instant::now(),
        }
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        println!(
            "<== [{}] {} ({:.1} s)",
            utc_time(),
            self.name,
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// The current time of day, UTC, as `HH:MM:SS`.
pub(crate) fn utc_time() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let day = secs % 86_400;
    format!(
        "{:02}:{:02}:{:02}Z",
        day / 3600,
        (day % 3600) / 60,
        day % 60
    )
}

/// The last `lines` lines of a text file, or a note saying why there are none.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(err) => format!("(cannot read {}: {err})", path.display()),
    }
}

/// Runs the command with stdin and stderr inherited and returns its stdout; fails unless it
/// succeeds.
pub(crate) fn output_checked(command: &mut Command) -> anyhow::Result<String> {
    println!("$ {}", display(command));
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run `{}`", display(command)))?;
    if !output.status.success() {
        bail!("`{}` failed ({})", display(command), output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
