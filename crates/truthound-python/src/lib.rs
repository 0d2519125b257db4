//! The Python binding of Truthound Streaming: the extension module `truthound_streaming._native`.
//!
//! The Python package `truthound_streaming` (in `python/`) gives the spec's API, names and
//! signatures; this module does the work underneath: the Kafka source, frames, schemas,
//! deserializers and checks, with the GIL released during I/O and decoding. Every operation is a
//! blocking call; the package's `..._async` methods run them on asyncio's executor. Frames leave Rust
//! through the Arrow C stream interface ([`ArrowStream`](stream::ArrowStream)'s
//! `__arrow_c_stream__`), so any Python polars that reads Arrow PyCapsules builds its own
//! `DataFrame` from them without a copy and without tying its version to this crate's.
//!
//! # Layout
//! - [`errors`]: the spec's exception classes and the mapping of Rust errors onto them.
//! - [`config`]: `KafkaDataSourceConfig` keyword arguments to the Rust configuration.
//! - [`source`]: `NativeSource`, the Kafka source, every operation sync and async.
//! - [`stream`]: frames as Arrow C streams; reports as Python objects.
//! - [`deser`]: `JSONDeserializer` and `AvroDeserializer` for single payloads.
//! - [`checks`]: `check(frame, ...)` on the Rust checks.
//! - [`run`]: the one Tokio runtime, blocking calls that Ctrl-C or a cancelled task stops.
//! - `run_cli`: the command line (`truthound-cli`) for the `truthound-streaming` console script.

use pyo3::prelude::*;

pub mod checks;
pub mod config;
pub mod deser;
pub mod errors;
pub mod run;
pub mod source;
pub mod stream;

/// The module `truthound_streaming._native`.
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<source::NativeSource>()?;
    m.add_class::<source::NativeBatches>()?;
    m.add_class::<stream::ArrowStream>()?;
    m.add_class::<run::CancelToken>()?;
    m.add_class::<deser::JSONDeserializer>()?;
    m.add_class::<deser::AvroDeserializer>()?;
    m.add_function(wrap_pyfunction!(config::validate_config, m)?)?;
    m.add_function(wrap_pyfunction!(checks::check_stream, m)?)?;
    m.add_function(wrap_pyfunction!(checks::check_parts, m)?)?;
    m.add_function(wrap_pyfunction!(run_cli, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

/// Runs the `truthound` command line with `argv` (the program name first) and returns its exit
/// code: 0 ok, 1 `check` found issues at or above `--fail-on`, 2 errors. `--help`, usage
/// errors and Ctrl-C end the process themselves, as the command line does.
#[pyfunction]
fn run_cli(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(|| truthound_cli::exit_code_number(truthound_cli::main_with_args(argv)))
}
