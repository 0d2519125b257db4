//! Stacking frames that were built separately (chunks of one snapshot, decoded on different
//! threads) into one, reconciling the types each chunk inferred.
//!
//! The rules are the builder's own, applied across chunks: a column missing or only null in a
//! chunk takes the others' type; integers and floats give `Float64`; integers above `i64::MAX`
//! give `UInt64` unless a chunk holds negative integers (then `Float64`); structs take the
//! union of their fields, in first-seen order, and lists the reconciled element type; anything
//! else mixed is kept as JSON text, each value written as [`JsonWriter`] writes it, with a
//! [`FieldNote::MixedTypesAsJsonText`] in the report. Chunks are stacked without copying their
//! columns when their types already agree.

use polars::prelude::{
    AnyValue, ChunkAgg, DataFrame, DataType as PlDataType, IntoColumn, IntoSeries, NamedFrom,
    PlSmallStr, Series, StructChunked, TimeUnit as PlTimeUnit,
};
use truthound_streaming_core::{DataType, FieldNote, JsonWriter, TimeUnit, ValueVisitor};

use crate::error::Result;
use crate::frame::{DecodeReport, NotedField, Snapshot};

/// What a column (or a field or list element inside one) becomes in the stacked frame.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    /// This type; chunks of other types are cast to it.
    Type(PlDataType),
    /// A struct with these fields, in first-seen order.
    Struct(Vec<(String, Target)>),
    /// A list of this element target.
    List(Box<Target>),
    /// JSON text in a `String` column.
    Json,
}

impl Target {
    fn dtype(&self) -> PlDataType {
        match self {
            Target::Type(t) => t.clone(),
            Target::Struct(fields) => PlDataType::Struct(
                fields
                    .iter()
                    .map(|(n, t)| polars::prelude::Field::new(n.as_str().into(), t.dtype()))
                    .collect(),
            ),
            Target::List(inner) => PlDataType::List(Box::new(inner.dtype())),
            Target::Json => PlDataType::String,
        }
    }
}

/// What stacking needs to know of one chunk's column (or of a field or list element inside
/// it) to choose its target: its type, whether it holds a negative integer, and the same of its
/// struct fields or list elements. Small, so that a chunk's shapes can be kept while its data is
/// elsewhere (see [`Summary`]).
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    dtype: PlDataType,
    negative: bool,
    fields: Vec<Shape>,
    names: Vec<String>,
    inner: Option<Box<Shape>>,
}

impl Shape {
    /// The shape of `series`.
    fn of(series: &Series) -> Shape {
        let dtype = series.dtype().clone();
        let negative = series
            .i64()
            .ok()
            .and_then(|ca| ca.min())
            .is_some_and(|m| m < 0);
        let (names, fields) = match series.struct_() {
            Ok(ca) => ca
                .fields_as_series()
                .iter()
                .map(|f| (f.name().to_string(), Shape::of(f)))
                .unzip(),
            Err(_) => (Vec::new(), Vec::new()),
        };
        let inner = series
            .list()
            .ok()
            .map(|ca| Box::new(Shape::of(&ca.get_inner())));
        Shape {
            dtype,
            negative,
            fields,
            names,
            inner,
        }
    }
}

/// One chunk's view of the column being reconciled.
struct Part<'a> {
    shape: &'a Shape,
    notes: &'a [NotedField],
}

impl Part<'_> {
    fn noted(&self, path: &[String]) -> bool {
        noted(self.notes, path)
    }
}

fn noted(notes: &[NotedField], path: &[String]) -> bool {
    notes.iter().any(|n| n.path == path)
}

/// A chunk of a snapshot as stacking plans it: the shape of each column and its report, without
/// its data.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    columns: Vec<(String, Shape)>,
    report: DecodeReport,
}

impl Summary {
    /// The summary of `part`.
    pub(crate) fn of(part: &Snapshot) -> Summary {
        Summary {
            columns: part
                .frame
                .columns()
                .iter()
                .map(|c| (c.name().to_string(), Shape::of(c.as_materialized_series())))
                .collect(),
            report: part.report.clone(),
        }
    }

    /// The chunk's report.
    pub(crate) fn into_report(self) -> DecodeReport {
        self.report
    }

    fn shape(&self, name: &str) -> Option<&Shape> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

/// How chunks are stacked: each data column's target, then the metadata columns as they are,
/// and the report of the chunks together.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Data columns in first-seen order, with their targets; `None` when there is one chunk,
    /// which is stacked as it is.
    targets: Option<Vec<(String, Target)>>,
    metadata: Vec<String>,
    /// The stacked frame's columns and their types.
    schema: polars::prelude::Schema,
    /// The rows, tombstones, skipped records and notes of all the chunks.
    pub(crate) report: DecodeReport,
}

impl Plan {
    /// Plans stacking chunks with these summaries, in order: data columns in first-seen order,
    /// then the `metadata` columns.
    pub(crate) fn new(parts: &[Summary], metadata: &[String]) -> Plan {
        let mut report = DecodeReport::default();
        for part in parts {
            report.rows += part.report.rows;
            report.tombstones += part.report.tombstones;
            report.skipped.extend(part.report.skipped.iter().cloned());
        }
        if let [only] = parts {
            report.notes = only.report.notes.clone();
            return Plan {
                targets: None,
                metadata: metadata.to_vec(),
                schema: only
                    .columns
                    .iter()
                    .map(|(n, s)| polars::prelude::Field::new(n.as_str().into(), s.dtype.clone()))
                    .collect(),
                report,
            };
        }
        // Data columns in first-seen order across chunks (which is first-seen order overall).
        let mut names: Vec<String> = Vec::new();
        for part in parts {
            for (name, _) in &part.columns {
                if !metadata.iter().any(|m| m == name) && !names.iter().any(|n| n == name) {
                    names.push(name.clone());
                }
            }
        }
        let mut targets = Vec::with_capacity(names.len());
        for name in names {
            let mut path = vec![name.clone()];
            let present: Vec<Part<'_>> = parts
                .iter()
                .filter_map(|p| {
                    p.shape(&name).map(|shape| Part {
                        shape,
                        notes: &p.report.notes,
                    })
                })
                .collect();
            let refs: Vec<&Part<'_>> = present.iter().collect();
            let target = target_of(&refs, &mut path, &mut report.notes);
            targets.push((name, target));
        }
        let mut schema: polars::prelude::Schema = targets
            .iter()
            .map(|(n, t)| polars::prelude::Field::new(n.as_str().into(), t.dtype()))
            .collect();
        for name in metadata {
            if let Some(shape) = parts.iter().find_map(|p| p.shape(name)) {
                schema.with_column(name.as_str().into(), shape.dtype.clone());
            }
        }
        Plan {
            targets: Some(targets),
            metadata: metadata.to_vec(),
            schema,
            report,
        }
    }

    /// The stacked frame's columns and their types.
    pub(crate) fn schema(&self) -> &polars::prelude::Schema {
        &self.schema
    }

    /// One chunk (planned at the place it has in the summaries) with its columns converted to
    /// their targets, ready to be stacked or written.
    pub(crate) fn conform(&self, part: Snapshot) -> Result<DataFrame> {
        let Some(targets) = &self.targets else {
            return Ok(part.frame);
        };
        let height = part.frame.height();
        let mut cols = Vec::with_capacity(targets.len() + self.metadata.len());
        for (name, target) in targets {
            let mut path = vec![name.clone()];
            let col = match part.frame.column(name) {
                Ok(c) => convert(
                    c.as_materialized_series(),
                    target,
                    &mut path,
                    &part.report.notes,
                )?,
                Err(_) => Series::full_null(name.as_str().into(), height, &target.dtype()),
            };
            cols.push(col.into_column());
        }
        for name in &self.metadata {
            cols.push(part.frame.column(name)?.clone());
        }
        Ok(DataFrame::new(height, cols)?)
    }
}

/// Stacks `parts` in order: data columns in first-seen order, then the `metadata` columns. The
/// report's rows, tombstones, skipped records and notes are those of the parts together, plus
/// a note for each field whose chunks' types were reconciled as JSON text.
pub(crate) fn stack(parts: Vec<Snapshot>, metadata: &[String]) -> Result<Snapshot> {
    stack_snapshots(parts, metadata)
}

/// Stacks snapshots built separately (by different processes, say: the parts of a plan) into
/// one, as the parallel builder stacks its segments: data columns in first-seen order, then
/// the `metadata` columns; a column missing or only null in a part takes the others' type,
/// integers and floats give `Float64`, structs take the union of their fields, and other mixed
/// types become JSON text with a note in the report. The reports are added up.
///
/// # Errors
/// When Polars rejects a conversion.
pub fn stack_snapshots(parts: Vec<Snapshot>, metadata: &[String]) -> Result<Snapshot> {
    let summaries: Vec<Summary> = parts.iter().map(Summary::of).collect();
    let plan = Plan::new(&summaries, metadata);
    let mut frame: Option<DataFrame> = None;
    for part in parts {
        let part_frame = plan.conform(part)?;
        match &mut frame {
            None => frame = Some(part_frame),
            Some(f) => {
                f.vstack_mut(&part_frame)?;
            }
        }
    }
    Ok(Snapshot {
        frame: frame.unwrap_or_default(),
        report: plan.report,
    })
}

/// The note one builder would have made at `path` had it seen the parts in order: the type the
/// column had when a value of another kind arrived (with its fields), then each further kind
/// (structs without fields, lists without element type), each kind once. `None` when the
/// parts' types never conflict.
fn seen_note(parts: &[&Part<'_>], path: &[String]) -> Option<NotedField> {
    let mut acc: Option<DataType> = None;
    let mut seen: Vec<DataType> = Vec::new();
    for part in parts {
        let types: Vec<DataType> = match part.notes.iter().find(|n| n.path == path) {
            Some(NotedField {
                note: FieldNote::MixedTypesAsJsonText { seen },
                ..
            }) => seen.clone(),
            _ => vec![crate::schema::core_type(&part.shape.dtype)],
        };
        for t in types {
            if t == DataType::Null {
                // Nulls fit any column: they change no type and are never listed.
                continue;
            }
            if seen.is_empty() {
                match acc.as_ref().map_or(Some(t.clone()), |a| combine(a, &t)) {
                    Some(c) => acc = Some(c),
                    None => {
                        seen.push(acc.take().unwrap_or(DataType::Null));
                        seen.push(shallow(&t));
                    }
                }
            } else if !seen.iter().any(|s| crate::columns::same_kind(s, &t)) {
                seen.push(shallow(&t));
            }
        }
    }
    (!seen.is_empty()).then(|| NotedField {
        path: path.to_vec(),
        note: FieldNote::MixedTypesAsJsonText { seen },
    })
}

/// A type as a note lists the kinds that came after the first.
fn shallow(t: &DataType) -> DataType {
    match t {
        DataType::Struct(_) => DataType::Struct(Vec::new()),
        DataType::List(_) => DataType::List(Box::new(DataType::Null)),
        other => other.clone(),
    }
}

/// The type one builder gives a column that held `a` and then gets `b`, if they share one.
fn combine(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType as T;
    Some(match (a, b) {
        (T::Null, t) | (t, T::Null) => t.clone(),
        (T::Int64, T::Float64) | (T::Float64, T::Int64) => T::Float64,
        (T::UInt64, T::Float64) | (T::Float64, T::UInt64) => T::Float64,
        (T::Int64, T::UInt64) | (T::UInt64, T::Int64) => T::UInt64,
        (T::Struct(x), T::Struct(y)) => {
            let mut fields = x.clone();
            for f in y {
                match fields.iter_mut().find(|g| g.name == f.name) {
                    Some(g) => g.data_type = combine(&g.data_type, &f.data_type)?,
                    None => fields.push(f.clone()),
                }
            }
            T::Struct(fields)
        }
        (T::List(x), T::List(y)) => T::List(Box::new(combine(x, y)?)),
        _ if a == b => a.clone(),
        _ => return None,
    })
}

/// The target of the column at `path`, given each chunk's series there.
fn target_of(parts: &[&Part<'_>], path: &mut Vec<String>, notes: &mut Vec<NotedField>) -> Target {
    if parts.iter().any(|p| p.noted(path)) {
        notes.extend(seen_note(parts, path));
        return Target::Json;
    }
    let non_null: Vec<&&Part<'_>> = parts
        .iter()
        .filter(|p| p.shape.dtype != PlDataType::Null)
        .collect();
    let Some(first) = non_null.first() else {
        return Target::Type(PlDataType::Null);
    };
    let dtypes: Vec<&PlDataType> = non_null.iter().map(|p| &p.shape.dtype).collect();
    if dtypes.iter().all(|d| *d == dtypes[0]) && !matches!(dtypes[0], PlDataType::Struct(_)) {
        if let PlDataType::List(_) = dtypes[0] {
            // Equal list types may still hold structs whose fields need a look.
            return list_target(&non_null, path, notes);
        }
        return Target::Type(first.shape.dtype.clone());
    }
    let numeric = |d: &PlDataType| {
        matches!(
            d,
            PlDataType::Int64 | PlDataType::UInt64 | PlDataType::Float64
        )
    };
    if dtypes.iter().all(|d| numeric(d)) {
        let has_float = dtypes.contains(&&PlDataType::Float64);
        let has_unsigned = dtypes.contains(&&PlDataType::UInt64);
        let negative = non_null.iter().any(|p| p.shape.negative);
        return Target::Type(if has_float || (has_unsigned && negative) {
            PlDataType::Float64
        } else if has_unsigned {
            PlDataType::UInt64
        } else {
            PlDataType::Int64
        });
    }
    if dtypes.iter().all(|d| matches!(d, PlDataType::Struct(_))) {
        let mut names: Vec<&str> = Vec::new();
        for p in &non_null {
            for name in &p.shape.names {
                if !names.contains(&name.as_str()) {
                    names.push(name.as_str());
                }
            }
        }
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let children: Vec<Part<'_>> = non_null
                .iter()
                .filter_map(|p| {
                    let i = p.shape.names.iter().position(|n| n == name)?;
                    Some(Part {
                        shape: &p.shape.fields[i],
                        notes: p.notes,
                    })
                })
                .collect();
            path.push(name.to_owned());
            let child_refs: Vec<&Part<'_>> = children.iter().collect();
            let t = target_of(&child_refs, path, notes);
            path.pop();
            out.push((name.to_owned(), t));
        }
        return Target::Struct(out);
    }
    if dtypes.iter().all(|d| matches!(d, PlDataType::List(_))) {
        return list_target(&non_null, path, notes);
    }
    // Types that share no column type: JSON text, noted as the builder notes it.
    notes.extend(seen_note(parts, path));
    Target::Json
}

/// The target of list columns: the reconciled target of their elements (same path, as the
/// builder notes list elements under the list's path).
fn list_target(
    parts: &[&&Part<'_>],
    path: &mut Vec<String>,
    notes: &mut Vec<NotedField>,
) -> Target {
    let inner: Vec<Part<'_>> = parts
        .iter()
        .filter_map(|p| {
            p.shape.inner.as_deref().map(|shape| Part {
                shape,
                notes: p.notes,
            })
        })
        .collect();
    let refs: Vec<&Part<'_>> = inner.iter().collect();
    Target::List(Box::new(target_of(&refs, path, notes)))
}

/// `series` (of a chunk whose report has these `notes`) as `target`.
fn convert(
    series: &Series,
    target: &Target,
    path: &mut Vec<String>,
    part: &[NotedField],
) -> Result<Series> {
    let dtype = target.dtype();
    if series.dtype() == &PlDataType::Null {
        return Ok(Series::full_null(
            series.name().clone(),
            series.len(),
            &dtype,
        ));
    }
    Ok(match target {
        Target::Json => {
            if noted(part, path) && series.dtype() == &PlDataType::String {
                series.clone()
            } else {
                json_text(series, path, part)?
            }
        }
        _ if series.dtype() == &dtype => series.clone(),
        Target::Type(t) => series.cast(t)?,
        Target::Struct(fields) => {
            let ca = series.struct_()?;
            let have = ca.fields_as_series();
            let mut out = Vec::with_capacity(fields.len());
            for (name, t) in fields {
                path.push(name.clone());
                let child = match have.iter().find(|f| f.name().as_str() == name) {
                    Some(f) => convert(f, t, path, part)?.rechunk(),
                    None => Series::full_null(name.as_str().into(), series.len(), &t.dtype()),
                };
                path.pop();
                out.push(child);
            }
            let validity = ca.rechunk().rechunk_validity();
            StructChunked::from_series(series.name().clone(), series.len(), out.iter())?
                .with_outer_validity(validity)
                .into_series()
        }
        Target::List(inner) => {
            let ca = series.list()?;
            let inner = (**inner).clone();
            let at = path.clone();
            let out = ca.apply_to_inner(&|s: Series| {
                let mut p = at.clone();
                convert(&s, &inner, &mut p, part)
                    .map_err(|e| polars::prelude::PolarsError::ComputeError(e.to_string().into()))
            })?;
            out.into_series()
        }
    })
}

/// Each value of `series` as its JSON text (nulls stay null). Strings that the chunk already
/// holds as JSON text (under a noted path) are spliced in as they are.
fn json_text(series: &Series, path: &mut Vec<String>, part: &[NotedField]) -> Result<Series> {
    let mut out: Vec<Option<String>> = Vec::with_capacity(series.len());
    let mut w = JsonWriter::new();
    for i in 0..series.len() {
        let value = series.get(i)?;
        if matches!(value, AnyValue::Null) {
            out.push(None);
            continue;
        }
        w.clear();
        write_value(&value, path, part, &mut w);
        out.push(Some(w.as_str().to_owned()));
    }
    Ok(Series::new(series.name().clone(), out))
}

fn write_value(
    value: &AnyValue<'_>,
    path: &mut Vec<String>,
    part: &[NotedField],
    w: &mut JsonWriter,
) {
    match value {
        AnyValue::Null => w.null(),
        AnyValue::Boolean(b) => w.bool(*b),
        AnyValue::Int64(v) => w.i64(*v),
        AnyValue::Int32(v) => w.i64(i64::from(*v)),
        AnyValue::UInt64(v) => w.u64(*v),
        AnyValue::Float64(v) => w.f64(*v),
        AnyValue::String(s) if noted(part, path) => w.raw_value(s),
        AnyValue::StringOwned(s) if noted(part, path) => w.raw_value(s),
        AnyValue::String(s) => w.str(s),
        AnyValue::StringOwned(s) => w.str(s),
        AnyValue::Binary(b) => w.bytes(b),
        AnyValue::BinaryOwned(b) => w.bytes(b),
        AnyValue::Datetime(v, unit, tz) => w.timestamp(*v, core_unit(*unit), tz.is_some()),
        AnyValue::DatetimeOwned(v, unit, tz) => w.timestamp(*v, core_unit(*unit), tz.is_some()),
        AnyValue::Date(days) => w.date(*days),
        AnyValue::Time(nanos) => w.time(*nanos, TimeUnit::Nanoseconds),
        AnyValue::Decimal(v, precision, scale) => w.decimal(
            *v,
            u8::try_from(*precision).unwrap_or(u8::MAX),
            u8::try_from(*scale).unwrap_or(u8::MAX),
        ),
        AnyValue::List(s) => {
            w.begin_array(Some(s.len()));
            for i in 0..s.len() {
                match s.get(i) {
                    Ok(v) => write_value(&v, path, part, w),
                    Err(_) => w.null(),
                }
            }
            w.end_array();
        }
        AnyValue::Struct(..) | AnyValue::StructOwned(_) => {
            let fields: Vec<(PlSmallStr, AnyValue<'_>)> = match value {
                AnyValue::StructOwned(payload) => payload
                    .1
                    .iter()
                    .map(|f| f.name().clone())
                    .zip(payload.0.iter().cloned())
                    .collect(),
                other => {
                    let names: Vec<PlSmallStr> = match other.dtype() {
                        PlDataType::Struct(fs) => fs.iter().map(|f| f.name().clone()).collect(),
                        _ => Vec::new(),
                    };
                    names.into_iter().zip(other._iter_struct_av()).collect()
                }
            };
            w.begin_object(Some(fields.len()));
            for (name, v) in fields {
                w.key(name.as_str());
                path.push(name.to_string());
                write_value(&v, path, part, w);
                path.pop();
            }
            w.end_object();
        }
        other => w.str(&other.to_string()),
    }
}

/// The core unit of a Polars time unit.
pub(crate) fn core_unit(unit: PlTimeUnit) -> TimeUnit {
    match unit {
        PlTimeUnit::Milliseconds => TimeUnit::Milliseconds,
        PlTimeUnit::Microseconds => TimeUnit::Microseconds,
        PlTimeUnit::Nanoseconds => TimeUnit::Nanoseconds,
    }
}
