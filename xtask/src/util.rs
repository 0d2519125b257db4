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

/// The target directory: `$CARGO_TARGET_DIR` (relative to the workspace root), else `target`.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| root.join("target"), |d| root.join(d))
}

/// Test and example binaries below this size are left alone: pruning is for the large ones.
const PRUNE_MIN_BYTES: u64 = 32 * 1024 * 1024;

/// Deletes the older copies of each test binary in `deps` (`<target>/debug/deps`), keeping the
/// newest file of each name: cargo writes a new copy (`name-<hash>`, about 650 MB for this
/// workspace's integration tests) whenever a dependency or feature changes and never deletes
/// the old ones, so a cache reused run after run fills its disk. Only extensionless files of
/// at least [`PRUNE_MIN_BYTES`] are considered (executables, not libraries); a copy deleted
/// that is still wanted is simply rebuilt. Returns the bytes freed.
pub(crate) fn prune_stale_binaries(deps: &Path) -> anyhow::Result<u64> {
    use std::collections::BTreeMap;
    let Ok(entries) = std::fs::read_dir(deps) else {
        return Ok(0);
    };
    let mut by_name: BTreeMap<String, Vec<(SystemTime, u64, PathBuf)>> = BTreeMap::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", deps.display()))?;
        let path = entry.path();
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        let Some((name, hash)) = file.rsplit_once('-') else {
            continue;
        };
        if file.contains('.') || hash.len() != 16 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() || meta.len() < PRUNE_MIN_BYTES {
            continue;
        }
        let modified = meta.modified().unwrap_or(UNIX_EPOCH);
        by_name
            .entry(name.to_owned())
            .or_default()
            .push((modified, meta.len(), path));
    }
    let mut freed = 0;
    for mut copies in by_name.into_values() {
        copies.sort_by_key(|(modified, _, _)| *modified);
        copies.pop();
        for (_, len, path) in copies {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot delete {}", path.display()))?;
            freed += len;
        }
    }
    Ok(freed)
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::time::{Duration, UNIX_EPOCH};

    use super::{PRUNE_MIN_BYTES, prune_stale_binaries};

    #[test]
    fn pruning_keeps_the_newest_copy_of_each_large_binary() {
        let dir = std::env::temp_dir().join(format!("xtask-prune-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Sparse files: large by length, no disk used.
        let make = |name: &str, len: u64, age_s: u64| {
            let file = File::create(dir.join(name)).unwrap();
            file.set_len(len).unwrap();
            file.set_modified(UNIX_EPOCH + Duration::from_secs(1_700_000_000 - age_s))
                .unwrap();
        };
        let big = PRUNE_MIN_BYTES + 1;
        make("cli-0123456789abcdef", big, 300);
        make("cli-1111111111111111", big, 100);
        make("cli-2222222222222222", big, 200);
        make("harness-3333333333333333", big, 500);
        make("small-4444444444444444", 1024, 900);
        make("small-5555555555555555", 1024, 800);
        make("libpolars-6666666666666666.rlib", big, 900);
        make("libpolars-7777777777777777.rlib", big, 800);
        let freed = prune_stale_binaries(&dir).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(freed, 2 * big);
        assert_eq!(
            left,
            [
                "cli-1111111111111111",
                "harness-3333333333333333",
                "libpolars-6666666666666666.rlib",
                "libpolars-7777777777777777.rlib",
                "small-4444444444444444",
                "small-5555555555555555",
            ]
        );
    }

    #[test]
    fn pruning_a_missing_directory_frees_nothing() {
        let dir = std::env::temp_dir().join("xtask-prune-missing-directory");
        assert_eq!(prune_stale_binaries(&dir).unwrap(), 0);
    }
}
