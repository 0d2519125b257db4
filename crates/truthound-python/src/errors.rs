//! The spec's exceptions: `StreamingDataSourceError` ⊃ `KafkaDataSourceError` ⊃
//! `KafkaConnectionError` (with `.bootstrap_servers`), and `DeserializationError` (with
//! `.partition`, `.offset` and `.reason`) under `StreamingDataSourceError`. Configuration errors
//! are `ValueError`s naming the field.

use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use truthound_kafka::KafkaDataSourceError as RustKafkaError;
use truthound_streaming_core::{
    DeserializationError as RustDeserializationError,
    StreamingDataSourceError as RustStreamingError,
};

pyo3::create_exception!(
    truthound_streaming,
    StreamingDataSourceError,
    PyException,
    "Base class of every error of a streaming data source."
);
pyo3::create_exception!(
    truthound_streaming,
    KafkaDataSourceError,
    StreamingDataSourceError,
    "An error of the Kafka data source: a missing topic, a read that ran out of time, a broker error."
);
pyo3::create_exception!(
    truthound_streaming,
    KafkaConnectionError,
    KafkaDataSourceError,
    "The Kafka cluster could not be reached; `.bootstrap_servers` names the servers tried."
);
pyo3::create_exception!(
    truthound_streaming,
    DeserializationError,
    StreamingDataSourceError,
    "A message could not be decoded (with `on_malformed=\"error\"`); `.partition`, `.offset` and `.reason` say which and why."
);

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add(
        "StreamingDataSourceError",
        py.get_type::<StreamingDataSourceError>(),
    )?;
    m.add(
        "KafkaDataSourceError",
        py.get_type::<KafkaDataSourceError>(),
    )?;
    m.add(
        "KafkaConnectionError",
        py.get_type::<KafkaConnectionError>(),
    )?;
    m.add(
        "DeserializationError",
        py.get_type::<DeserializationError>(),
    )?;
    Ok(())
}

/// An exception of class `T` with `message` and the given attributes set on it.
pub(crate) fn with_attributes<T: pyo3::PyTypeInfo>(
    message: String,
    set: impl FnOnce(&Bound<'_, PyAny>) -> PyResult<()>,
) -> PyErr {
    Python::attach(|py| {
        let err = PyErr::new::<T, _>(message);
        match set(err.value(py).as_any()) {
            Ok(()) => err,
            Err(e) => e,
        }
    })
}

/// A connection failure, with the servers tried (comma-separated, as configured).
pub(crate) fn connection(message: String, servers: &[String]) -> PyErr {
    let servers = servers.join(",");
    with_attributes::<KafkaConnectionError>(message, |e| e.setattr("bootstrap_servers", servers))
}

/// A message that could not be decoded.
pub(crate) fn deserialization(e: &RustDeserializationError) -> PyErr {
    with_attributes::<DeserializationError>(e.to_string(), |v| {
        v.setattr("partition", e.partition)?;
        v.setattr("offset", e.offset)?;
        v.setattr("reason", e.reason.clone())
    })
}

/// An error of the Kafka source as the spec's exception.
pub(crate) fn kafka(e: RustKafkaError) -> PyErr {
    match e {
        RustKafkaError::InvalidConfig(message) => PyValueError::new_err(message),
        RustKafkaError::Connection(c) => connection(c.to_string(), &c.bootstrap_servers),
        RustKafkaError::Deserialization(d) => deserialization(&d),
        other => KafkaDataSourceError::new_err(other.to_string()),
    }
}

/// An error of a streaming source as the spec's exception.
pub(crate) fn streaming(e: RustStreamingError) -> PyErr {
    match e {
        RustStreamingError::Config(c) => PyValueError::new_err(c.to_string()),
        RustStreamingError::Connection { message, servers } => {
            let text = format!("could not connect to {}: {message}", servers.join(","));
            connection(text, &servers)
        }
        RustStreamingError::Deserialization(d) => deserialization(&d),
        RustStreamingError::Source(source) => match source.downcast::<RustKafkaError>() {
            Ok(k) => kafka(*k),
            Err(other) => StreamingDataSourceError::new_err(other.to_string()),
        },
        other => StreamingDataSourceError::new_err(other.to_string()),
    }
}

/// An error of the frame builder as the spec's exception.
pub(crate) fn polars(e: truthound_polars::Error) -> PyErr {
    match e {
        truthound_polars::Error::Source(s) => streaming(s),
        e @ truthound_polars::Error::ColumnNameCollision { .. } => {
            PyValueError::new_err(e.to_string())
        }
        other => StreamingDataSourceError::new_err(other.to_string()),
    }
}
