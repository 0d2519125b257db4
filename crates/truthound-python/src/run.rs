//! One Tokio runtime for the module, and blocking calls that release the GIL and stop at Ctrl-C
//! or when the awaiting Python task is cancelled.
//!
//! The Python package's `..._async` methods run these blocking calls on asyncio's default
//! executor (Python threads), so no Tokio thread ever touches the interpreter: nothing can be
//! inside Python while it shuts down.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// The runtime every operation runs on; its threads do I/O and never hold the GIL.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("truthound-io")
            .build()
            .unwrap_or_else(|e| panic!("cannot start the I/O runtime: {e}"))
    })
}

/// Set by the Python side when the task awaiting a call is cancelled; the call then stops.
#[pyclass(module = "truthound_streaming._native", frozen)]
#[derive(Default)]
pub struct CancelToken {
    cancelled: AtomicBool,
}

#[pymethods]
impl CancelToken {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Stops the call this token was given to, at its next check (within 100 ms).
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    #[getter]
    fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

/// Runs `fut` to completion with the GIL released. Every 100 ms it looks at `cancel` and, on
/// the main thread, at Python's signals, so Ctrl-C raises `KeyboardInterrupt` and drops the
/// operation (its connections close) instead of waiting for it.
pub(crate) fn block_on<T: Send>(
    py: Python<'_>,
    cancel: Option<&Bound<'_, CancelToken>>,
    fut: impl Future<Output = PyResult<T>> + Send,
) -> PyResult<T> {
    let cancel = cancel.map(Bound::get);
    let main_thread = is_main_thread(py);
    py.detach(|| {
        runtime().block_on(async {
            tokio::pin!(fut);
            loop {
                tokio::select! {
                    out = &mut fut => return out,
                    () = tokio::time::sleep(Duration::from_millis(100)) => {
                        if cancel.is_some_and(|c| c.cancelled.load(Ordering::SeqCst)) {
                            return Err(PyRuntimeError::new_err("the operation was cancelled"));
                        }
                        if main_thread {
                            Python::attach(|py| py.check_signals())?;
                        }
                    }
                }
            }
        })
    })
}

/// Whether the calling thread is Python's main thread (the one signals go to).
fn is_main_thread(py: Python<'_>) -> bool {
    let threading = || -> PyResult<bool> {
        let threading = py.import("threading")?;
        let current = threading.call_method0("current_thread")?;
        let main = threading.call_method0("main_thread")?;
        current.is(&main).then_some(true).map_or(Ok(false), Ok)
    };
    threading().unwrap_or(false)
}
