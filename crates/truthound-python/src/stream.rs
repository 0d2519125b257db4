//! Frames as Arrow C streams (`__arrow_c_stream__`), and decode reports as Python objects.
//!
//! A frame is exported chunk by chunk as struct arrays of its columns, with the newest Arrow
//! layout polars writes (string and binary views), so nothing is copied: the consumer (Python
//! polars, pyarrow, duckdb) takes the buffers over and releases them when it is done.

use std::ffi::CStr;

use polars::prelude::{CompatLevel, DataFrame};
use polars_arrow::array::{Array, StructArray};
use polars_arrow::datatypes::{ArrowDataType, Field as ArrowField};
use polars_arrow::ffi::{ArrowArrayStream, export_iterator};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict, PyList};
use truthound_polars::DecodeReport;

const STREAM_NAME: &CStr = c"arrow_array_stream";

/// The frame's columns as one struct type, and its chunks as struct arrays.
pub(crate) fn export(frame: &DataFrame) -> ArrowArrayStream {
    let mut frame = frame.clone();
    if frame.should_rechunk() {
        frame.rechunk_mut_par();
    }
    let compat = CompatLevel::newest();
    let fields: Vec<ArrowField> = frame
        .columns()
        .iter()
        .map(|c| c.field().to_arrow(compat))
        .collect();
    let dtype = ArrowDataType::Struct(fields);
    let chunks: Vec<Box<dyn Array>> = if frame.width() == 0 {
        Vec::new()
    } else {
        frame
            .iter_chunks(compat, false)
            .map(|batch| {
                let len = batch.height();
                StructArray::new(dtype.clone(), len, batch.into_arrays(), None).boxed()
            })
            .collect()
    };
    export_iterator(
        Box::new(chunks.into_iter().map(Ok)),
        ArrowField::new("".into(), dtype, false),
    )
}

/// A decoded frame, readable once or many times through the Arrow PyCapsule interface:
/// `polars.DataFrame(stream)`, `pyarrow.table(stream)`.
#[pyclass(module = "truthound_streaming._native", frozen)]
pub struct ArrowStream {
    frame: DataFrame,
    report: DecodeReport,
}

impl ArrowStream {
    pub(crate) fn new(frame: DataFrame, report: DecodeReport) -> Self {
        Self { frame, report }
    }
}

#[pymethods]
impl ArrowStream {
    /// The frame as an `arrow_array_stream` PyCapsule (the Arrow PyCapsule interface). A
    /// requested schema is not applied: the frame's own types are exported.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let stream = py.detach(|| export(&self.frame));
        PyCapsule::new_with_value(py, stream, STREAM_NAME)
    }

    /// Rows in the frame.
    #[getter]
    fn height(&self) -> usize {
        self.frame.height()
    }

    /// What happened while the frame was decoded: `rows`, `tombstones`, `skipped` (a list of
    /// `(partition, offset, reason)`) and `notes` (a list of `(column path, note)`).
    fn report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        report_dict(py, &self.report)
    }
}

/// A [`DecodeReport`] as a dict.
pub(crate) fn report_dict<'py>(
    py: Python<'py>,
    report: &DecodeReport,
) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("rows", report.rows)?;
    out.set_item("tombstones", report.tombstones)?;
    let skipped = PyList::empty(py);
    for s in &report.skipped {
        skipped.append((s.partition, s.offset, s.reason.as_str()))?;
    }
    out.set_item("skipped", skipped)?;
    let notes = PyList::empty(py);
    for n in &report.notes {
        notes.append((n.path.join("."), n.note.to_string()))?;
    }
    out.set_item("notes", notes)?;
    Ok(out)
}
