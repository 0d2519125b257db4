//! `check(frame, validators=, columns=, rules=)` on the Rust checks.

use pyo3::prelude::*;

/// Placeholder replaced below.
#[pyfunction]
pub fn check_stream() -> PyResult<()> {
    Ok(())
}
