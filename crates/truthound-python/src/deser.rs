//! `JSONDeserializer` and `AvroDeserializer`: one payload to Python objects, with the same
//! decoders the source uses for whole topics.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use truthound_streaming_core::{DeserializeFailure, MessageDeserializer, Value};

/// A [`Value`] as the Python object the spec shows: dicts, lists, str, int, float, bool, None,
/// and bytes for Avro `bytes`/`fixed`.
pub(crate) fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::UInt(u) => u.into_pyobject(py)?.into_any(),
        Value::Float(f) => f.into_pyobject(py)?.into_any(),
        Value::Str(s) => PyString::new(py, s).into_any(),
        Value::Bytes(b) => PyBytes::new(py, b).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(fields) => {
            let dict = PyDict::new(py);
            for (k, v) in fields {
                dict.set_item(k, to_python(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// A payload that did not decode, as the spec's `DeserializationError` (no partition or
/// offset: it came from no topic).
fn failure(e: DeserializeFailure) -> PyErr {
    crate::errors::with_attributes::<crate::errors::DeserializationError>(
        format!("failed to deserialize message: {e}"),
        |v| {
            let py = v.py();
            v.setattr("partition", py.None())?;
            v.setattr("offset", py.None())?;
            v.setattr("reason", e.reason())
        },
    )
}

fn deserialize<'py>(
    py: Python<'py>,
    deserializer: &dyn MessageDeserializer,
    data: &[u8],
) -> PyResult<Bound<'py, PyAny>> {
    let value = py
        .detach(|| deserializer.deserialize(data))
        .map_err(failure)?;
    to_python(py, &value)
}

/// JSON payloads (`encoding` other than UTF-8 is transcoded first).
#[pyclass(module = "truthound_streaming._native", frozen)]
pub struct JSONDeserializer {
    inner: truthound_json::JSONDeserializer,
    encoding: String,
}

#[pymethods]
impl JSONDeserializer {
    #[new]
    #[pyo3(signature = (encoding = "utf-8"))]
    fn new(py: Python<'_>, encoding: &str) -> PyResult<Self> {
        // An unknown codec is an error now, not at the first message.
        py.import("codecs")?
            .call_method1("lookup", (encoding,))
            .map_err(|_| PyValueError::new_err(format!("encoding: unknown codec {encoding:?}")))?;
        Ok(Self {
            inner: truthound_json::JSONDeserializer::new(),
            encoding: encoding.to_owned(),
        })
    }

    /// The payloads' text encoding.
    #[getter]
    fn encoding(&self) -> &str {
        &self.encoding
    }

    /// Decodes one JSON payload.
    fn deserialize<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let normalized = self.encoding.to_ascii_lowercase().replace('_', "-");
        if normalized == "utf-8" || normalized == "utf8" {
            return deserialize(py, &self.inner, data);
        }
        let text = PyBytes::new(py, data).call_method1("decode", (self.encoding.as_str(),))?;
        let utf8: Vec<u8> = text.call_method1("encode", ("utf-8",))?.extract()?;
        deserialize(py, &self.inner, &utf8)
    }
}

/// Avro payloads written with `schema` (a dict or its JSON text).
#[pyclass(module = "truthound_streaming._native", frozen)]
pub struct AvroDeserializer {
    inner: truthound_avro::AvroDeserializer,
}

#[pymethods]
impl AvroDeserializer {
    #[new]
    fn new(py: Python<'_>, schema: &Bound<'_, PyAny>) -> PyResult<Self> {
        let json: String = if schema.is_instance_of::<PyString>() {
            schema.extract()?
        } else {
            py.import("json")?
                .call_method1("dumps", (schema,))?
                .extract()?
        };
        let inner = truthound_avro::AvroDeserializer::from_schema_json(&json)
            .map_err(|e| PyValueError::new_err(format!("schema: {e}")))?;
        Ok(Self { inner })
    }

    /// Decodes one Avro datum.
    fn deserialize<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        deserialize(py, &self.inner, data)
    }
}

#[cfg(test)]
mod tests {
    use pyo3::prelude::*;
    use truthound_streaming_core::Value;

    #[test]
    fn values_become_the_python_objects_the_spec_shows() {
        Python::initialize();
        Python::attach(|py| {
            let value = Value::Object(vec![
                ("user".into(), Value::Str("alice".into())),
                ("n".into(), Value::Int(-3)),
                ("big".into(), Value::UInt(u64::MAX)),
                ("f".into(), Value::Float(1.5)),
                ("ok".into(), Value::Bool(true)),
                ("none".into(), Value::Null),
                ("raw".into(), Value::Bytes(vec![0, 255])),
                (
                    "list".into(),
                    Value::Array(vec![Value::Int(1), Value::Null]),
                ),
            ]);
            let object = super::to_python(py, &value).unwrap();
            let repr = object.repr().unwrap().to_string();
            assert_eq!(
                repr,
                "{'user': 'alice', 'n': -3, 'big': 18446744073709551615, 'f': 1.5, 'ok': True, \
                 'none': None, 'raw': b'\\x00\\xff', 'list': [1, None]}"
            );
        });
    }
}
