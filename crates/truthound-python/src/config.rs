//! `KafkaDataSourceConfig` keyword arguments to [`truthound_kafka::KafkaDataSourceConfig`].
//!
//! The Python class passes every field it holds as a dict; `None` means "not set". Values go
//! through the same by-name options as connection strings (so errors name the field), except
//! the secrets, which are set directly and never echoed.

use std::collections::BTreeMap;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use secrecy::SecretString;
use truthound_kafka::KafkaDataSourceConfig;

/// Fields set directly rather than as options.
const DIRECT: [&str; 7] = [
    "bootstrap_servers",
    "topic",
    "sasl_password",
    "schema_registry_password",
    "avro_schema",
    "client_id",
    "connect_timeout",
];

/// A field's value as the text of a connection-string option.
fn option_text(field: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    if value.is_instance_of::<PyBool>() {
        return Ok(if value.extract::<bool>()? {
            "true"
        } else {
            "false"
        }
        .to_owned());
    }
    if value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>() {
        return Ok(value.str()?.to_string());
    }
    if value.is_instance_of::<PyString>() {
        return value.extract();
    }
    Err(PyValueError::new_err(format!(
        "{field}: expected a string, a number or a boolean, got {}",
        value.get_type().name()?
    )))
}

fn text(fields: &Bound<'_, PyDict>, name: &str) -> PyResult<Option<String>> {
    match fields.get_item(name)? {
        Some(v) if !v.is_none() => v
            .extract::<String>()
            .map(Some)
            .map_err(|_| PyValueError::new_err(format!("{name}: expected a string"))),
        _ => Ok(None),
    }
}

/// Builds and validates the configuration from the Python class's fields.
pub(crate) fn build(fields: &Bound<'_, PyDict>) -> PyResult<KafkaDataSourceConfig> {
    let servers = text(fields, "bootstrap_servers")?
        .ok_or_else(|| PyValueError::new_err("bootstrap_servers is required"))?;
    let topic = text(fields, "topic")?.ok_or_else(|| PyValueError::new_err("topic is required"))?;
    let mut options = BTreeMap::new();
    for (key, value) in fields.iter() {
        let key: String = key.extract()?;
        if value.is_none() || DIRECT.contains(&key.as_str()) {
            continue;
        }
        options.insert(key.clone(), option_text(&key, &value)?);
    }
    let mut config = KafkaDataSourceConfig::new(servers, topic);
    // One at a time, so an error names its field.
    for (key, value) in options {
        let one = BTreeMap::from([(key.clone(), value)]);
        config = config.with_options(&one).map_err(|e| {
            let message = match e {
                truthound_kafka::KafkaDataSourceError::InvalidConfig(m) => m,
                other => other.to_string(),
            };
            if message.contains(&key) {
                PyValueError::new_err(message)
            } else {
                PyValueError::new_err(format!("{key}: {message}"))
            }
        })?;
    }
    if let Some(p) = text(fields, "sasl_password")? {
        config.sasl_password = Some(SecretString::from(p));
    }
    if let Some(p) = text(fields, "schema_registry_password")? {
        config.schema_registry_password = Some(SecretString::from(p));
    }
    if let Some(id) = text(fields, "client_id")? {
        config.client_id = id;
    }
    if let Some(t) = fields.get_item("connect_timeout")?
        && !t.is_none()
    {
        let secs: f64 = t
            .extract()
            .map_err(|_| PyValueError::new_err("connect_timeout: expected seconds"))?;
        config.connect_timeout = std::time::Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| PyValueError::new_err("connect_timeout: give seconds above 0"))?;
    }
    if let Some(schema) = fields.get_item("avro_schema")?
        && !schema.is_none()
    {
        let json = if schema.is_instance_of::<PyString>() {
            schema.extract::<String>()?
        } else {
            let dumps = schema.py().import("json")?.getattr("dumps")?;
            dumps.call1((schema,))?.extract::<String>()?
        };
        config = config.with_avro_schema(json);
    }
    config.validate().map_err(crate::errors::kafka)?;
    Ok(config)
}

/// Checks a configuration's fields: raises `ValueError` naming the field that is wrong.
#[pyfunction]
pub fn validate_config(fields: &Bound<'_, PyDict>) -> PyResult<()> {
    build(fields).map(|_| ())
}
