//! `check(frame, validators=, columns=, rules=)` on the Rust checks ([`truthound_checks`]).
//!
//! The frame comes in through the Arrow C stream interface (`frame.__arrow_c_stream__()`), so
//! whatever polars made it, no copy is made and no version has to match. The options arrive as
//! JSON (the spec's argument shapes, `rules` as its column → rules mapping); the report goes
//! back as JSON for the Python side's classes.

use std::str::FromStr;

use polars::prelude::{Column, DataFrame, PolarsResult, Series, polars_err};
use polars_arrow::array::{StructArray, new_empty_array};
use polars_arrow::datatypes::ArrowDataType;
use polars_arrow::ffi::{ArrowArrayStream, ArrowArrayStreamReader};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use truthound_checks::{CheckOptions, RuleSet, RulesFormat, Validator};

/// Takes the Arrow stream out of an `arrow_array_stream` capsule (leaving a released one
/// behind, as the interface asks) and reads it into a frame.
///
/// This module holds the crate's `unsafe`: the C stream interface is raw pointers.
#[allow(unsafe_code)]
fn import(capsule: &Bound<'_, PyCapsule>) -> PyResult<DataFrame> {
    let name = c"arrow_array_stream";
    let pointer = capsule
        .pointer_checked(Some(name))
        .map_err(|_| PyTypeError::new_err("expected an arrow_array_stream PyCapsule"))?;
    // SAFETY: the capsule holds an ArrowArrayStream (its name says so); moving it out and
    // leaving an empty one (release = NULL) is how a consumer takes ownership.
    let stream = unsafe {
        std::ptr::replace(
            pointer.as_ptr().cast::<ArrowArrayStream>(),
            ArrowArrayStream::empty(),
        )
    };
    read_stream(stream).map_err(|e| PyValueError::new_err(format!("frame: {e}")))
}

/// Reads an Arrow C stream of struct arrays (one per chunk) into a frame.
#[allow(unsafe_code)]
pub(crate) fn read_stream(stream: ArrowArrayStream) -> PolarsResult<DataFrame> {
    // SAFETY: the stream was exported by a producer of the C stream interface.
    let mut reader = unsafe { ArrowArrayStreamReader::try_new(Box::new(stream)) }?;
    let mut frame: Option<DataFrame> = None;
    // SAFETY: as above; each array is the next chunk of the stream.
    while let Some(array) = unsafe { reader.next() } {
        let array = array?;
        let chunk = array
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or_else(|| polars_err!(ComputeError: "the Arrow stream is not of struct arrays"))?
            .clone();
        let chunk = DataFrame::try_from(chunk)?;
        match &mut frame {
            None => frame = Some(chunk),
            Some(f) => {
                f.vstack_mut_owned(chunk)?;
            }
        }
    }
    match frame {
        Some(frame) => Ok(frame),
        // No chunks: the columns come from the stream's schema.
        None => {
            let ArrowDataType::Struct(fields) = reader.field().dtype() else {
                return Ok(DataFrame::empty());
            };
            let columns = fields
                .iter()
                .map(|f| {
                    Series::from_arrow(f.name.clone(), new_empty_array(f.dtype().clone()))
                        .map(Column::from)
                })
                .collect::<PolarsResult<Vec<_>>>()?;
            DataFrame::new(0, columns)
        }
    }
}

/// The options of one call, from the spec's argument shapes.
fn options(
    validators: Option<Vec<String>>,
    columns: Option<Vec<String>>,
    rules_json: Option<&str>,
    metadata_prefix: &str,
) -> PyResult<CheckOptions> {
    let mut options = CheckOptions::new().with_metadata_prefix(metadata_prefix);
    if let Some(validators) = validators {
        let parsed = validators
            .iter()
            .map(|v| {
                Validator::from_str(v)
                    .map_err(|e| PyValueError::new_err(format!("validators: {e}")))
            })
            .collect::<PyResult<Vec<_>>>()?;
        options = options.with_validators(parsed);
    }
    if let Some(columns) = columns {
        options = options.with_columns(columns);
    }
    if let Some(json) = rules_json {
        let rules = RuleSet::parse(json, RulesFormat::Json)
            .map_err(|e| PyValueError::new_err(format!("rules: {e}")))?;
        options = options.with_rules(rules);
    }
    Ok(options)
}

/// Checks the frame behind `capsule` (an `arrow_array_stream` PyCapsule); returns the report
/// as JSON. `rules_json` is the spec's `rules` mapping as JSON text.
#[pyfunction]
#[pyo3(signature = (capsule, validators = None, columns = None, rules_json = None, metadata_prefix = "_kafka_"))]
pub fn check_stream(
    py: Python<'_>,
    capsule: &Bound<'_, PyCapsule>,
    validators: Option<Vec<String>>,
    columns: Option<Vec<String>>,
    rules_json: Option<&str>,
    metadata_prefix: &str,
) -> PyResult<String> {
    let frame = import(capsule)?;
    let options = options(validators, columns, rules_json, metadata_prefix)?;
    py.detach(|| truthound_checks::check(&frame, &options))
        .map(|report| report.to_json())
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Checks the parts of a plan in the directory `dir`, or under an object store URL (`s3://…`;
/// verified first: every share of one plan,
/// each file as its manifest says); returns the report as JSON. A directory that fails the
/// verification raises `ValueError` naming what is missing, foreign or changed.
#[pyfunction]
#[pyo3(signature = (dir, validators = None, columns = None, rules_json = None, metadata_prefix = "_kafka_"))]
pub fn check_parts(
    py: Python<'_>,
    dir: String,
    validators: Option<Vec<String>>,
    columns: Option<Vec<String>>,
    rules_json: Option<&str>,
    metadata_prefix: &str,
) -> PyResult<String> {
    let options = options(validators, columns, rules_json, metadata_prefix)?;
    py.detach(|| truthound_cli::check_parts_at(&dir, options))
        .map(|(report, _)| report.to_json())
        .map_err(|e| PyValueError::new_err(format!("{e:#}")))
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;

    /// A frame of several chunks with the column types snapshots have: strings (views),
    /// nulls, nested structs, datetimes.
    fn chunked() -> DataFrame {
        let part = |from: i64| {
            let n: Vec<i64> = (from..from + 3).collect();
            let s: Vec<Option<String>> = n
                .iter()
                .map(|i| (i % 2 == 0).then(|| format!("text-{i}")))
                .collect();
            let mut frame = df!("n" => n.clone(), "s" => s).unwrap();
            let inner = df!("id" => n.clone(), "tier" => ["a", "b", "c"]).unwrap();
            let user = inner.into_struct("user".into()).into_series();
            frame.with_column(user.into()).unwrap();
            let ts = Series::new("ts".into(), n.iter().map(|i| i * 1000).collect::<Vec<_>>())
                .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
                .unwrap();
            frame.with_column(ts.into()).unwrap();
            frame
        };
        let mut frame = part(0);
        frame.vstack_mut_owned(part(3)).unwrap();
        frame.vstack_mut_owned(part(6)).unwrap();
        frame
    }

    #[test]
    fn frames_cross_the_c_stream_interface_unchanged() {
        let frame = chunked();
        assert_eq!(frame.first_col_n_chunks(), 3);
        let back = super::read_stream(crate::stream::export(&frame)).unwrap();
        assert_eq!(back.schema(), frame.schema());
        assert!(back.equals_missing(&frame), "{back}\n{frame}");
        // An empty frame (no columns) is an empty stream.
        let empty = super::read_stream(crate::stream::export(&DataFrame::empty())).unwrap();
        assert_eq!(empty.shape(), (0, 0));
    }
}
