//! One Tokio runtime for the module, and blocking calls that release the GIL and stop at
//! Ctrl-C.

use std::future::Future;
use std::time::Duration;

use pyo3::prelude::*;

/// The runtime every operation runs on (pyo3-async-runtimes' multi-threaded one, so awaitables
/// and blocking calls share connections' background tasks).
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Runs `fut` to completion with the GIL released. Every 100 ms the calling thread looks at
/// Python's signals, so Ctrl-C in a notebook or a script raises `KeyboardInterrupt` and drops
/// the operation (its connections close) instead of waiting for it.
pub(crate) fn block_on<T: Send>(
    py: Python<'_>,
    fut: impl Future<Output = PyResult<T>> + Send,
) -> PyResult<T> {
    py.detach(|| {
        runtime().block_on(async {
            tokio::pin!(fut);
            loop {
                tokio::select! {
                    out = &mut fut => return out,
                    () = tokio::time::sleep(Duration::from_millis(100)) => {
                        Python::attach(|py| py.check_signals())?;
                    }
                }
            }
        })
    })
}

/// `fut` as a Python awaitable (on the module's runtime).
pub(crate) fn awaitable<'py, T>(
    py: Python<'py>,
    fut: impl Future<Output = PyResult<T>> + Send + 'static,
) -> PyResult<Bound<'py, PyAny>>
where
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    pyo3_async_runtimes::tokio::future_into_py(py, fut)
}
