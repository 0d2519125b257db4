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
const DIRECT: [&str; 10] = [
    "bootstrap_servers",
    "topic",
    "sasl_password",
    "schema_registry_password",
    "avro_schema",
    "avro_reader_schema",
    "protobuf_schema",
    "json_schema",
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
    if let Some(json) = schema_json(fields, "avro_schema")? {
        config = config.with_avro_schema(json);
    }
    if let Some(json) = schema_json(fields, "avro_reader_schema")? {
        config = config.with_avro_reader_schema(json);
    }
    if let Some(json) = schema_json(fields, "json_schema")? {
        config = config.with_json_schema(json);
    }
    if let Some(proto) = fields.get_item("protobuf_schema")?.filter(|p| !p.is_none()) {
        config.protobuf_schema = Some(proto.extract::<String>()?);
    }
    config.validate().map_err(crate::errors::kafka)?;
    Ok(config)
}

/// A schema field's JSON text: a string as it is, a dict or list through `json.dumps`.
fn schema_json(fields: &Bound<'_, PyDict>, field: &str) -> PyResult<Option<String>> {
    let Some(schema) = fields.get_item(field)?.filter(|s| !s.is_none()) else {
        return Ok(None);
    };
    if schema.is_instance_of::<PyString>() {
        return schema.extract::<String>().map(Some);
    }
    let dumps = schema.py().import("json")?.getattr("dumps")?;
    dumps.call1((schema,))?.extract::<String>().map(Some)
}

/// Checks a configuration's fields: raises `ValueError` naming the field that is wrong.
#[pyfunction]
pub fn validate_config(fields: &Bound<'_, PyDict>) -> PyResult<()> {
    build(fields).map(|_| ())
}

#[cfg(test)]
mod tests {
    use pyo3::prelude::*;
    use pyo3::types::PyDict;
    use truthound_streaming_core::{AutoOffsetReset, OnMalformed};

    fn fields<'py>(py: Python<'py>, extra: &[(&str, Bound<'py, PyAny>)]) -> Bound<'py, PyDict> {
        let d = PyDict::new(py);
        d.set_item("bootstrap_servers", "b1:9092,b2:9092").unwrap();
        d.set_item("topic", "events").unwrap();
        for (k, v) in extra {
            d.set_item(k, v).unwrap();
        }
        d
    }

    #[test]
    fn python_values_become_the_rust_configuration() {
        Python::initialize();
        Python::attach(|py| {
            let extra = [
                ("max_messages", 250i64.into_pyobject(py).unwrap().into_any()),
                (
                    "consume_timeout",
                    2.5f64.into_pyobject(py).unwrap().into_any(),
                ),
                (
                    "auto_offset_reset",
                    "latest".into_pyobject(py).unwrap().into_any(),
                ),
                (
                    "include_metadata",
                    true.into_pyobject(py).unwrap().to_owned().into_any(),
                ),
                (
                    "on_malformed",
                    "error".into_pyobject(py).unwrap().into_any(),
                ),
                ("partition", 2i64.into_pyobject(py).unwrap().into_any()),
                ("group_id", py.None().into_bound(py)),
                ("sasl_password", "pw".into_pyobject(py).unwrap().into_any()),
            ];
            // A SASL password needs a SASL protocol and mechanism to validate.
            let extra_sasl = [
                (
                    "security_protocol",
                    "SASL_SSL".into_pyobject(py).unwrap().into_any(),
                ),
                (
                    "sasl_mechanism",
                    "PLAIN".into_pyobject(py).unwrap().into_any(),
                ),
                (
                    "sasl_username",
                    "user".into_pyobject(py).unwrap().into_any(),
                ),
            ];
            let all: Vec<_> = extra.into_iter().chain(extra_sasl).collect();
            let config = super::build(&fields(py, &all)).unwrap();
            assert_eq!(config.bootstrap_list(), ["b1:9092", "b2:9092"]);
            assert_eq!(config.streaming.max_messages, 250);
            assert_eq!(config.streaming.consume_timeout.as_secs_f64(), 2.5);
            assert_eq!(config.streaming.auto_offset_reset, AutoOffsetReset::Latest);
            assert!(config.streaming.include_metadata);
            assert_eq!(config.streaming.on_malformed, OnMalformed::Error);
            assert_eq!(config.partition, Some(2));
            assert_eq!(config.group_id, None);
            assert!(config.sasl_password.is_some());
        });
    }

    #[test]
    fn wrong_values_are_value_errors_naming_the_field() {
        Python::initialize();
        Python::attach(|py| {
            for (field, value, named) in [
                (
                    "max_messages",
                    0i64.into_pyobject(py).unwrap().into_any(),
                    "max_messages",
                ),
                (
                    "security_protocol",
                    "TLS".into_pyobject(py).unwrap().into_any(),
                    "security_protocol",
                ),
                (
                    "include_key",
                    pyo3::types::PyList::empty(py).into_any(),
                    "include_key",
                ),
            ] {
                let err = super::build(&fields(py, &[(field, value)])).unwrap_err();
                assert!(
                    err.is_instance_of::<pyo3::exceptions::PyValueError>(py),
                    "{field}"
                );
                let text = err.value(py).to_string();
                assert!(text.contains(named), "{field}: {text}");
            }
        });
    }
}
