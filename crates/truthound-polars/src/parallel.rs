//! [`build_parallel`]: decoding records that are already in memory on several threads.

use std::sync::Arc;

use polars::prelude::{Column, DataFrame, DataType as PlDataType};
use truthound_streaming_core::{MessageDeserializer, RawMessage, StreamingDataSourceConfig};

use crate::error::Result;
use crate::frame::{DecodeReport, MessageFrameBuilder, Snapshot};
use crate::metadata::MetadataColumns;

/// Fewer records than this per thread are decoded on one thread: starting threads and merging
/// would cost more than they save.
const MIN_RECORDS_PER_THREAD: usize = 16 * 1024;

/// Decodes `messages` on up to `threads` threads and returns the same snapshot as
/// [`MessageFrameBuilder`] would.
///
/// The records are cut into one contiguous chunk per thread; each chunk is decoded by its own
/// builder and the frames are stacked in order. When the chunks inferred different types for a
/// column beyond what stacking can reconcile exactly (a column missing in a chunk or only null
/// there, integers in one chunk and floats in another), the frames are adjusted; when not (mixed
/// types kept as JSON text, different struct fields, integers above `i64::MAX`), the records are
/// decoded again on one thread. The stacked frame has one Arrow chunk per thread.
///
/// ```
/// use std::sync::Arc;
/// use truthound_json::JSONDeserializer;
/// use truthound_streaming_core::{RawMessage, StreamingDataSourceConfig};
///
/// let messages: Vec<RawMessage> = (0..50_000)
///     .map(|i| {
///         let json = if i < 40_000 { format!(r#"{{"n": {i}}}"#) } else { format!(r#"{{"n": {i}.5, "late": true}}"#) };
///         RawMessage::new("t", 0, i, Some(json.into()))
///     })
///     .collect();
/// let config = StreamingDataSourceConfig::default().with_include_key(false);
/// let snapshot =
///     truthound_polars::build_parallel(&config, Arc::new(JSONDeserializer::new()), &messages, 2)?;
/// assert_eq!(snapshot.frame.height(), 50_000);
/// assert_eq!(snapshot.frame.column("n")?.dtype(), &polars::prelude::DataType::Float64);
/// assert_eq!(snapshot.frame.column("late")?.null_count(), 40_000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`MessageFrameBuilder::push_batch`] and [`MessageFrameBuilder::finish`]; with
/// `on_malformed = error`, the first malformed record in snapshot order.
pub fn build_parallel(
    config: &StreamingDataSourceConfig,
    deserializer: Arc<dyn MessageDeserializer>,
    messages: &[RawMessage],
    threads: usize,
) -> Result<Snapshot> {
    let threads = threads.min(messages.len() / MIN_RECORDS_PER_THREAD).max(1);
    if threads == 1 {
        return build_one(config, deserializer, messages);
    }
    let chunk = messages.len().div_ceil(threads);
    let parts: Vec<Result<Snapshot>> = std::thread::scope(|scope| {
        let handles: Vec<_> = messages
            .chunks(chunk)
            .map(|part| {
                let deserializer = Arc::clone(&deserializer);
                scope.spawn(move || build_one(config, deserializer, part))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let parts = parts.into_iter().collect::<Result<Vec<_>>>()?;
    let metadata = MetadataColumns::new(config).names();
    match stack(parts, &metadata)? {
        Some(snapshot) => Ok(snapshot),
        None => build_one(config, deserializer, messages),
    }
}

fn build_one(
    config: &StreamingDataSourceConfig,
    deserializer: Arc<dyn MessageDeserializer>,
    messages: &[RawMessage],
) -> Result<Snapshot> {
    let mut builder = MessageFrameBuilder::new(config, deserializer);
    builder.push_batch(messages)?;
    builder.finish_snapshot()
}

/// The type a column gets when chunks inferred `a` and `b`, if stacking can reconcile them
/// exactly as one sequential build would have.
fn reconcile(a: &PlDataType, b: &PlDataType) -> Option<PlDataType> {
    match (a, b) {
        _ if a == b => Some(a.clone()),
        (PlDataType::Null, t) | (t, PlDataType::Null) => Some(t.clone()),
        (PlDataType::Int64, PlDataType::Float64) | (PlDataType::Float64, PlDataType::Int64) => {
            Some(PlDataType::Float64)
        }
        _ => None,
    }
}

/// Stacks chunk snapshots in order; `None` when their columns cannot be reconciled exactly.
fn stack(parts: Vec<Snapshot>, metadata: &[String]) -> Result<Option<Snapshot>> {
    if parts.iter().any(|p| !p.report.notes.is_empty()) {
        return Ok(None);
    }
    // Data columns in first-seen order across chunks (which is first-seen order overall).
    let mut columns: Vec<(String, PlDataType)> = Vec::new();
    for part in &parts {
        for c in part.frame.columns() {
            let name = c.name().as_str();
            if metadata.iter().any(|m| m == name) {
                continue;
            }
            match columns.iter_mut().find(|(n, _)| n == name) {
                Some((_, dtype)) => match reconcile(dtype, c.dtype()) {
                    Some(t) => *dtype = t,
                    None => return Ok(None),
                },
                None => columns.push((name.to_owned(), c.dtype().clone())),
            }
        }
    }
    let mut report = DecodeReport::default();
    let mut frame: Option<DataFrame> = None;
    for part in parts {
        let height = part.frame.height();
        let mut cols: Vec<Column> = Vec::with_capacity(columns.len() + metadata.len());
        for (name, dtype) in &columns {
            let col = match part.frame.column(name) {
                Ok(c) if c.dtype() == dtype => c.clone(),
                Ok(c) => c.cast(dtype)?,
                Err(_) => Column::full_null(name.as_str().into(), height, dtype),
            };
            cols.push(col);
        }
        for name in metadata {
            cols.push(part.frame.column(name)?.clone());
        }
        let part_frame = DataFrame::new(height, cols)?;
        match &mut frame {
            None => frame = Some(part_frame),
            Some(f) => {
                f.vstack_mut(&part_frame)?;
            }
        }
        report.rows += part.report.rows;
        report.tombstones += part.report.tombstones;
        report.skipped.extend(part.report.skipped);
    }
    Ok(frame.map(|frame| Snapshot { frame, report }))
}
