//! Ctrl-C (SIGINT) and SIGTERM: remove the unfinished output file, then exit 130 (143 for
//! SIGTERM), as a shell reports a process ended by that signal.
//!
//! A signal ends the process without unwinding, so the temporary file's destructor would never
//! run. The handler is a task on the runtime's worker threads, which keep running while the main
//! thread writes the file; the temporary file in progress and the directory of the snapshot's
//! segments are registered here, and the rename that completes the file holds the same lock, so
//! a signal either removes the temporary file or comes after the complete file is in place.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use tokio::runtime::Runtime;

/// The temporary files and directories to remove on a signal.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn pending() -> MutexGuard<'static, Vec<PathBuf>> {
    // A path cannot be left half-set: a poisoned lock is still right to use.
    PENDING.lock().unwrap_or_else(|p| p.into_inner())
}

/// Installs the handlers. They are registered before this returns, so a signal from then on
/// is handled.
pub(crate) fn install(runtime: &Runtime) -> std::io::Result<()> {
    let _context = runtime.enter();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        runtime.spawn(async move {
            let code = tokio::select! {
                _ = interrupt.recv() => 130,
                _ = terminate.recv() => 143,
            };
            stop(code)
        });
    }
    #[cfg(not(unix))]
    runtime.spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop(130)
        }
    });
    Ok(())
}

/// Removes the pending temporary files and directories and exits with `code`.
fn stop(code: i32) -> ! {
    // The lock is held until the process ends: no rename can complete the file after this.
    let mut pending = pending();
    for path in pending.drain(..) {
        // Nothing more can be done about a file that cannot be removed.
        if path.is_dir() {
            let _ = std::fs::remove_dir_all(path);
        } else {
            let _ = std::fs::remove_file(path);
        }
    }
    eprintln!("interrupted");
    std::process::exit(code)
}

/// Registers `path`, a temporary file or directory being written, to be removed on a signal.
pub(crate) fn register(path: PathBuf) {
    pending().push(path);
}

/// Runs `f` (the rename that completes the file, or the removal of a temporary file or
/// directory) with signals held off, and forgets the registered `path`.
pub(crate) fn settle<T>(path: &std::path::Path, f: impl FnOnce() -> T) -> T {
    let mut pending = pending();
    let out = f();
    pending.retain(|p| p != path);
    out
}
