//! [`check`]: plans every check of a call as Polars expressions, then evaluates them all in one
//! `select` over the frame.
//!
//! Each check becomes a boolean "bad row" mask over a column's values; the select computes, per
//! mask, its count and the first few failing values with their partition and offset (one row
//! of aggregates for the whole call). Everything that can be wrong with the options (unknown
//! columns, rules that do not fit a column's type, invalid patterns) is found while planning,
//! before the frame is read.

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::report::{Issue, Report, Sample};
use crate::rules::{Bound, Rule, RuleSet, RuleSpec, Scalar, Severity, Validator};

/// The prefix of the Kafka metadata columns made by `truthound-polars`.
pub const DEFAULT_METADATA_PREFIX: &str = "_kafka_";

/// What [`check`] checks.
///
/// ```
/// use polars::prelude::*;
/// use truthound_checks::{CheckOptions, Rule, Validator, check};
///
/// let frame = df!(
///     "user_id" => [Some(1i64), None, Some(3)],
///     "action" => ["login", "logout", "jump"],
/// )?;
/// let options = CheckOptions::new()
///     .with_validators([Validator::Null])
///     .with_rule("action", Rule::AllowedValues { values: vec!["login".into(), "logout".into()] });
/// let report = check(&frame, &options)?;
/// assert_eq!(report.issues.len(), 2);
/// assert_eq!(report.issues[1].count, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CheckOptions {
    /// Validators, run on every column of `columns`.
    pub validators: Vec<Validator>,
    /// The columns the validators run on; empty for every column except the metadata columns.
    pub columns: Vec<String>,
    /// Rules per column.
    pub rules: RuleSet,
    /// How many sample values each issue keeps (default 3).
    pub sample_size: usize,
    /// The prefix of the metadata columns (default `_kafka_`): validators skip them, and
    /// `{prefix}partition` and `{prefix}offset` locate the samples.
    pub metadata_prefix: String,
    /// Text columns that hold each value's JSON text because the field had mixed types (the
    /// adapter's `DecodeReport` notes them). In these, a quoted value (`"abc"`) is compared
    /// without its quotes by the text rules.
    pub json_text_columns: Vec<String>,
    /// The messages left out of the frame because they could not be decoded; with it, the
    /// `decodable` check runs (see [`Decoding`]).
    pub decoding: Option<Decoding>,
    /// Runs the checks' one query on Polars' streaming engine (default false); the report is
    /// the same. Measured on 2M events scanned from Parquet, it was slower than the in-memory
    /// engine for rule sets with samples and did not hold less: Polars 0.55 does not stream
    /// the first-N sample aggregates.
    pub streaming: bool,
}

/// The column name of the `decodable` issue: it is about whole messages, not a column.
pub const MESSAGE_COLUMN: &str = "<message>";

/// What decoding the messages into the frame left out: the input of the `decodable` check.
///
/// A message that could not be decoded is not in the frame, so no other check sees it. Given
/// to [`CheckOptions::with_decoding`], any such messages make one issue of their own: column
/// [`MESSAGE_COLUMN`], check `decodable`, severity [`Severity::Error`] (the data is lost to
/// every other check), its share taken of all messages read, and samples carrying each
/// message's reason, partition and offset.
///
/// ```
/// use polars::prelude::*;
/// use truthound_checks::{CheckOptions, Decoding, Severity, check};
///
/// let frame = df!("user_id" => ["u1", "u2", "u3"])?;
/// let decoding = Decoding::new(4).with_undecodable(0, 2, "expected value at line 1 column 1");
/// let report = check(&frame, &CheckOptions::new().with_decoding(decoding))?;
/// let issue = &report.issues[0];
/// assert_eq!((issue.check.as_str(), issue.count, issue.share), ("decodable", 1, 0.25));
/// assert!(report.fails(Severity::Error));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Decoding {
    /// Every message read, decoded or not.
    pub messages_read: u64,
    /// The messages that could not be decoded, in read order: the reason as the sample's
    /// value, with its partition and offset.
    pub undecodable: Vec<Sample>,
}

impl Decoding {
    /// `messages_read` messages read, none undecodable yet.
    pub fn new(messages_read: u64) -> Self {
        Self {
            messages_read,
            undecodable: Vec::new(),
        }
    }

    /// Adds a message that could not be decoded.
    #[must_use]
    pub fn with_undecodable(
        mut self,
        partition: i32,
        offset: i64,
        reason: impl Into<String>,
    ) -> Self {
        self.undecodable.push(Sample {
            value: Some(reason.into()),
            partition: Some(partition),
            offset: Some(offset),
        });
        self
    }

    /// The `decodable` issue, if any message could not be decoded.
    fn issue(&self, sample_size: usize) -> Option<Issue> {
        let first = self.undecodable.first()?;
        let count = self.undecodable.len() as u64;
        // The undecodable messages were read too, whatever `messages_read` says.
        let read = self.messages_read.max(count);
        let at = match (first.partition, first.offset) {
            (Some(p), Some(o)) => format!(" at p{p}@{o}"),
            _ => String::new(),
        };
        Some(Issue {
            column: MESSAGE_COLUMN.to_owned(),
            check: "decodable".to_owned(),
            description: format!(
                "decodable (first{at}: {})",
                first.value.as_deref().unwrap_or("cannot be decoded")
            ),
            severity: Severity::Error,
            count,
            share: count as f64 / read as f64,
            samples: self.undecodable.iter().take(sample_size).cloned().collect(),
        })
    }
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            validators: Vec::new(),
            columns: Vec::new(),
            rules: RuleSet::default(),
            sample_size: 3,
            metadata_prefix: DEFAULT_METADATA_PREFIX.to_owned(),
            json_text_columns: Vec::new(),
            decoding: None,
            streaming: false,
        }
    }
}

impl From<Scalar> for Expr {
    fn from(value: Scalar) -> Self {
        match value {
            Scalar::Bool(b) => lit(b),
            Scalar::Number(n) => lit(n),
            Scalar::Str(s) => lit(s),
        }
    }
}

impl From<&str> for Scalar {
    fn from(value: &str) -> Self {
        Scalar::Str(value.to_owned())
    }
}

impl From<f64> for Scalar {
    fn from(value: f64) -> Self {
        Scalar::Number(value)
    }
}

impl CheckOptions {
    /// No checks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the validators.
    #[must_use]
    pub fn with_validators(mut self, validators: impl IntoIterator<Item = Validator>) -> Self {
        self.validators = validators.into_iter().collect();
        self
    }

    /// Sets the columns the validators run on.
    #[must_use]
    pub fn with_columns<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.columns = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a rule for a column.
    #[must_use]
    pub fn with_rule(mut self, column: impl Into<String>, rule: impl Into<RuleSpec>) -> Self {
        self.rules.push(column, rule);
        self
    }

    /// Adds every rule of a rule set (after those already there).
    #[must_use]
    pub fn with_rules(mut self, rules: RuleSet) -> Self {
        for (column, list) in rules.columns {
            for rule in list.rules {
                self.rules.push(column.clone(), rule);
            }
        }
        self
    }

    /// Sets how many sample values each issue keeps.
    #[must_use]
    pub fn with_sample_size(mut self, n: usize) -> Self {
        self.sample_size = n;
        self
    }

    /// Sets the metadata column prefix.
    #[must_use]
    pub fn with_metadata_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.metadata_prefix = prefix.into();
        self
    }

    /// Sets the columns that hold JSON text of mixed-type values.
    #[must_use]
    pub fn with_json_text_columns<S: Into<String>>(
        mut self,
        columns: impl IntoIterator<Item = S>,
    ) -> Self {
        self.json_text_columns = columns.into_iter().map(Into::into).collect();
        self
    }

    /// The top-level fields the checks read, or `None` when they read every column (validators
    /// with no `columns`). A snapshot for these options needs only these fields decoded (see
    /// `StreamingDataSourceConfig::columns`). A `struct.field` path needs its top-level column;
    /// a name with a dot is kept whole as well, as a column may be named so.
    ///
    /// ```
    /// use truthound_checks::{CheckOptions, Rule, Validator};
    ///
    /// let options = CheckOptions::new()
    ///     .with_rule("user_id", Rule::NotNull)
    ///     .with_rule("device.os", Rule::NotNull);
    /// assert_eq!(
    ///     options.needed_columns(),
    ///     Some(vec!["user_id".to_owned(), "device.os".to_owned(), "device".to_owned()])
    /// );
    /// assert_eq!(options.with_validators([Validator::Null]).needed_columns(), None);
    /// ```
    #[must_use]
    pub fn needed_columns(&self) -> Option<Vec<String>> {
        if !self.validators.is_empty() && self.columns.is_empty() {
            return None;
        }
        let mut out: Vec<String> = Vec::new();
        let validated: &[String] = if self.validators.is_empty() {
            &[]
        } else {
            &self.columns
        };
        let names = self.rules.columns.keys().chain(validated);
        for name in names {
            let top = name.split('.').next().unwrap_or(name);
            for n in [name.as_str(), top] {
                if !out.iter().any(|o| o == n) {
                    out.push(n.to_owned());
                }
            }
        }
        Some(out)
    }

    /// Sets what decoding left out, which adds the `decodable` check (see [`Decoding`]).
    #[must_use]
    pub fn with_decoding(mut self, decoding: Decoding) -> Self {
        self.decoding = Some(decoding);
        self
    }

    /// Sets whether the checks run on Polars' streaming engine (see
    /// [`streaming`](Self::streaming)).
    #[must_use]
    pub fn with_streaming(mut self, streaming: bool) -> Self {
        self.streaming = streaming;
        self
    }
}

/// A frame [`check`] accepts: a `DataFrame` (owned or borrowed) or a `LazyFrame`.
pub trait CheckInput {
    /// The frame as a LazyFrame.
    fn into_check_frame(self) -> LazyFrame;
}

impl CheckInput for LazyFrame {
    fn into_check_frame(self) -> LazyFrame {
        self
    }
}

impl CheckInput for DataFrame {
    fn into_check_frame(self) -> LazyFrame {
        self.lazy()
    }
}

impl CheckInput for &DataFrame {
    fn into_check_frame(self) -> LazyFrame {
        // Columns are reference-counted: the clone copies no data.
        self.clone().lazy()
    }
}

/// The kinds of value the `type` validator tells apart, in tie-break order.
const KINDS: [&str; 5] = ["number", "string", "boolean", "object", "array"];

/// A number as JSON or plain text writes it.
const NUMBER_PATTERN: &str = r"^\s*-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$";

/// ISO 8601 date, or date and time with optional seconds, fraction and offset.
const ISO_8601_PATTERN: &str = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])([T ]([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)([.,]\d+)?)?([Zz]|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)?)?$";

/// One planned check.
struct Planned {
    column: String,
    check: &'static str,
    description: String,
    severity: Severity,
    kind: Kind,
}

enum Kind {
    /// Rows where `mask` is true fail; `value` gives their text for samples.
    Mask { mask: Expr, value: Option<Expr> },
    /// The `type` validator: one mask per entry of [`KINDS`].
    Type { masks: Vec<Expr>, value: Expr },
}

/// A resolved column: its expression (values normalized for JSON text) and type.
struct Target {
    name: String,
    value: Expr,
    raw: Expr,
    dtype: DataType,
}

/// Runs every check of `options` on `frame` in one pass and reports what failed.
///
/// # Errors
/// Before the frame is read: [`Error::UnknownColumn`], [`Error::UnsupportedType`] and
/// [`Error::InvalidRule`]. While it is evaluated: [`Error::Polars`].
pub fn check(frame: impl CheckInput, options: &CheckOptions) -> Result<Report> {
    let mut frame = frame.into_check_frame();
    let schema = frame.collect_schema()?;
    let available: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();

    let mut planned = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    let mut note_column = |name: &str| {
        if !columns.iter().any(|c| c == name) {
            columns.push(name.to_owned());
        }
    };

    if !options.validators.is_empty() {
        let targets: Vec<String> = if options.columns.is_empty() {
            available
                .iter()
                .filter(|n| !n.starts_with(&options.metadata_prefix))
                .cloned()
                .collect()
        } else {
            options.columns.clone()
        };
        for name in &targets {
            let target = resolve(&schema, name, options).ok_or_else(|| Error::UnknownColumn {
                column: name.clone(),
                context: "validator columns".to_owned(),
                available: available.clone(),
            })?;
            note_column(name);
            for validator in &options.validators {
                planned.extend(plan_validator(*validator, &target));
            }
        }
    }
    for (name, list) in &options.rules.columns {
        for spec in &list.rules {
            let target = resolve(&schema, name, options).ok_or_else(|| Error::UnknownColumn {
                column: name.clone(),
                context: format!("rule {}", spec.rule.name()),
                available: available.clone(),
            })?;
            note_column(name);
            planned.push(plan_rule(spec, &target)?);
        }
    }

    let partition = format!("{}partition", options.metadata_prefix);
    let offset = format!("{}offset", options.metadata_prefix);
    let locate = Locate {
        partition: schema.get(partition.as_str()).map(|_| partition.clone()),
        offset: schema.get(offset.as_str()).map(|_| offset.clone()),
        n: options.sample_size,
    };

    let mut exprs = vec![len().alias("__rows")];
    for (i, p) in planned.iter().enumerate() {
        match &p.kind {
            Kind::Mask { mask, value } => {
                exprs.extend(locate.aggregates(&format!("__{i}"), mask, value.as_ref()));
            }
            Kind::Type { masks, value } => {
                for (j, mask) in masks.iter().enumerate() {
                    exprs.extend(locate.aggregates(&format!("__{i}_{j}"), mask, Some(value)));
                }
            }
        }
    }
    let query = frame.select(exprs);
    let out = if options.streaming {
        query
            .collect_with_engine(Engine::Streaming)?
            .unwrap_single()
    } else {
        query.collect()?
    };

    let rows = scalar_u64(&out, "__rows")?;
    let share = |count: u64| {
        if rows == 0 {
            0.0
        } else {
            count as f64 / rows as f64
        }
    };
    // Decodability first: it is about messages the other checks never saw.
    let mut issues: Vec<Issue> = options
        .decoding
        .iter()
        .filter_map(|d| d.issue(options.sample_size))
        .collect();
    for (i, p) in planned.iter().enumerate() {
        let (count, samples, description) = match &p.kind {
            Kind::Mask { .. } => {
                let tag = format!("__{i}");
                (
                    scalar_u64(&out, &format!("{tag}_n"))?,
                    locate.samples(&out, &tag)?,
                    p.description.clone(),
                )
            }
            Kind::Type { .. } => {
                let counts = (0..KINDS.len())
                    .map(|j| scalar_u64(&out, &format!("__{i}_{j}_n")))
                    .collect::<Result<Vec<_>>>()?;
                // The dominant kind: the most values; ties go to the earlier kind.
                let dominant = (0..KINDS.len())
                    .rev()
                    .max_by_key(|j| counts[*j])
                    .unwrap_or(0);
                let mut samples = Vec::new();
                let mut others = Vec::new();
                for j in (0..KINDS.len()).filter(|j| *j != dominant && counts[*j] > 0) {
                    others.push(format!("{} {}", counts[j], KINDS[j]));
                    samples.extend(locate.samples(&out, &format!("__{i}_{j}"))?);
                }
                samples.truncate(options.sample_size);
                let count = counts.iter().sum::<u64>() - counts[dominant];
                let description = format!(
                    "type (mostly {}; {})",
                    KINDS[dominant],
                    if others.is_empty() {
                        "no others".to_owned()
                    } else {
                        others.join(", ")
                    }
                );
                (count, samples, description)
            }
        };
        if count > 0 {
            issues.push(Issue {
                column: p.column.clone(),
                check: p.check.to_owned(),
                description,
                severity: p.severity,
                count,
                share: share(count),
                samples,
            });
        }
    }
    Ok(Report {
        rows,
        columns,
        checks: planned.len() + usize::from(options.decoding.is_some()),
        issues,
    })
}

/// Where samples come from, and how many.
struct Locate {
    partition: Option<String>,
    offset: Option<String>,
    n: usize,
}

impl Locate {
    /// The aggregates of one mask: its count, and the first `n` failing values and locations.
    fn aggregates(&self, tag: &str, mask: &Expr, value: Option<&Expr>) -> Vec<Expr> {
        let mask = mask.clone().fill_null(lit(false));
        let first = |e: Expr, dtype: DataType, suffix: &str| {
            e.filter(mask.clone())
                .head(Some(self.n))
                .cast(dtype)
                .implode(true)
                .alias(format!("{tag}_{suffix}"))
        };
        let mut out = vec![mask.clone().sum().alias(format!("{tag}_n"))];
        // Values without a text form (structs, lists) have no `_v` list: their samples are
        // locations only.
        if let Some(v) = value {
            out.push(first(v.clone(), DataType::String, "v"));
        }
        if let Some(p) = &self.partition {
            out.push(first(col(p.as_str()), DataType::Int32, "p"));
        }
        if let Some(o) = &self.offset {
            out.push(first(col(o.as_str()), DataType::Int64, "o"));
        }
        out
    }

    /// The samples of one mask, from the select's single row.
    fn samples(&self, out: &DataFrame, tag: &str) -> Result<Vec<Sample>> {
        let name = format!("{tag}_v");
        let has_values = out.get_column_names().iter().any(|n| n.as_str() == name);
        let values: Vec<Option<String>> = match has_values.then(|| list_at(out, &name)) {
            Some(list) => match list? {
                Some(s) => s.str()?.iter().map(|v| v.map(str::to_owned)).collect(),
                None => Vec::new(),
            },
            None => Vec::new(),
        };
        let partitions: Vec<Option<i32>> = match self.partition {
            Some(_) => match list_at(out, &format!("{tag}_p"))? {
                Some(s) => s.i32()?.iter().collect(),
                None => Vec::new(),
            },
            None => Vec::new(),
        };
        let offsets: Vec<Option<i64>> = match self.offset {
            Some(_) => match list_at(out, &format!("{tag}_o"))? {
                Some(s) => s.i64()?.iter().collect(),
                None => Vec::new(),
            },
            None => Vec::new(),
        };
        let n = values.len().max(partitions.len()).max(offsets.len());
        Ok((0..n)
            .map(|k| Sample {
                value: values.get(k).cloned().flatten(),
                partition: partitions.get(k).copied().flatten(),
                offset: offsets.get(k).copied().flatten(),
            })
            .collect())
    }
}

/// A u64 from the select's single row.
fn scalar_u64(out: &DataFrame, name: &str) -> Result<u64> {
    let value = out.column(name)?.get(0)?;
    Ok(value.extract::<u64>().unwrap_or(0))
}

/// A list from the select's single row, as a Series.
fn list_at(out: &DataFrame, name: &str) -> Result<Option<Series>> {
    let column = out.column(name)?.as_materialized_series().clone();
    Ok(column.list()?.get_as_series(0))
}

/// Finds a column, or a `struct.field` path, in the schema.
fn resolve(schema: &Schema, name: &str, options: &CheckOptions) -> Option<Target> {
    let (raw, dtype) = match schema.get(name) {
        Some(dtype) => (col(name), dtype.clone()),
        None => {
            let mut parts = name.split('.');
            let first = parts.next()?;
            let mut dtype = schema.get(first)?.clone();
            let mut expr = col(first);
            for part in parts {
                let DataType::Struct(fields) = &dtype else {
                    return None;
                };
                let field = fields.iter().find(|f| f.name().as_str() == part)?;
                let next = field.dtype().clone();
                expr = expr.struct_().field_by_name(part);
                dtype = next;
            }
            (expr, dtype)
        }
    };
    let value = if dtype == DataType::String && options.json_text_columns.iter().any(|c| c == name)
    {
        // JSON text of a string value: compare without its quotes.
        let quoted = raw.clone().str().contains(lit(r#"^".*"$"#), true);
        when(quoted)
            .then(
                raw.clone()
                    .str()
                    .slice(lit(1), raw.clone().str().len_chars() - lit(2)),
            )
            .otherwise(raw.clone())
    } else {
        raw.clone()
    };
    Some(Target {
        name: name.to_owned(),
        value,
        raw,
        dtype,
    })
}

/// Whether a column's values have a text form for samples.
fn has_text_form(dtype: &DataType) -> bool {
    dtype.is_primitive_numeric()
        || matches!(
            dtype,
            DataType::String
                | DataType::Boolean
                | DataType::Date
                | DataType::Datetime(..)
                | DataType::Null
        )
}

fn plan_validator(validator: Validator, t: &Target) -> Option<Planned> {
    let value = has_text_form(&t.dtype).then(|| t.raw.clone());
    match validator {
        Validator::Null => Some(Planned {
            column: t.name.clone(),
            check: "null",
            description: "null".to_owned(),
            severity: Severity::Warning,
            kind: Kind::Mask {
                mask: t.raw.clone().is_null(),
                value,
            },
        }),
        Validator::Type if t.dtype == DataType::String => {
            let kind = kind_of(t.raw.clone());
            let masks = KINDS
                .iter()
                .map(|k| t.raw.clone().is_not_null().and(kind.clone().eq(lit(*k))))
                .collect();
            Some(Planned {
                column: t.name.clone(),
                check: "type",
                description: "type".to_owned(),
                severity: Severity::Warning,
                kind: Kind::Type {
                    masks,
                    value: t.raw.clone(),
                },
            })
        }
        // Other columns have one type by construction.
        Validator::Type => None,
    }
}

/// The kind of a text value: one of [`KINDS`].
fn kind_of(v: Expr) -> Expr {
    when(v.clone().str().contains(lit(r#"^".*"$"#), true))
        .then(lit("string"))
        .when(v.clone().str().contains(lit(NUMBER_PATTERN), true))
        .then(lit("number"))
        .when(v.clone().eq(lit("true")).or(v.clone().eq(lit("false"))))
        .then(lit("boolean"))
        .when(v.clone().str().starts_with(lit("{")))
        .then(lit("object"))
        .when(v.str().starts_with(lit("[")))
        .then(lit("array"))
        .otherwise(lit("string"))
}

fn plan_rule(spec: &RuleSpec, t: &Target) -> Result<Planned> {
    let rule = &spec.rule;
    let name = rule.name();
    let v = t.value.clone();
    let unsupported = |why: &'static str| Error::UnsupportedType {
        column: t.name.clone(),
        rule: name,
        dtype: t.dtype.to_string(),
        why,
    };
    let is_text = t.dtype == DataType::String;
    let is_number = t.dtype.is_primitive_numeric();
    let present = v.clone().is_not_null();
    let mask = match rule {
        Rule::NotNull => v.clone().is_null(),
        Rule::AllowedValues { values } => {
            let wanted: Vec<Expr> = if is_text {
                values
                    .iter()
                    .map(|s| match s {
                        Scalar::Str(s) => lit(s.clone()),
                        other => lit(other.to_string()),
                    })
                    .collect()
            } else if is_number {
                values
                    .iter()
                    .map(|s| match s {
                        Scalar::Number(n) => Ok(lit(*n)),
                        Scalar::Str(s) => {
                            s.parse::<f64>().map(lit).map_err(|_| Error::InvalidRule {
                                column: t.name.clone(),
                                rule: name,
                                message: format!(
                                    "{s:?} is not a number, and the column is numeric"
                                ),
                            })
                        }
                        Scalar::Bool(b) => Err(Error::InvalidRule {
                            column: t.name.clone(),
                            rule: name,
                            message: format!("{b} is not a number, and the column is numeric"),
                        }),
                    })
                    .collect::<Result<_>>()?
            } else if t.dtype == DataType::Boolean {
                values.iter().cloned().map(Expr::from).collect()
            } else {
                return Err(unsupported("it compares text, numbers or booleans"));
            };
            let compared = if is_number {
                v.clone().cast(DataType::Float64)
            } else {
                v.clone()
            };
            let any = wanted
                .into_iter()
                .map(|w| compared.clone().eq(w))
                .reduce(Expr::or)
                .unwrap_or(lit(false));
            present.and(any.not())
        }
        Rule::Datetime { format } => match &t.dtype {
            DataType::Date | DataType::Datetime(..) => lit(false),
            DataType::String => {
                let ok = match format {
                    None => v.clone().str().contains(lit(ISO_8601_PATTERN), true).and(
                        v.clone()
                            .str()
                            .slice(lit(0), lit(10))
                            .str()
                            .to_date(StrptimeOptions {
                                format: Some("%Y-%m-%d".into()),
                                strict: false,
                                exact: true,
                                cache: true,
                            })
                            .is_not_null(),
                    ),
                    Some(format) => {
                        let zoned = ["%z", "%:z", "%#z", "%::z", "%Z"]
                            .iter()
                            .any(|z| format.contains(z));
                        v.clone()
                            .str()
                            .to_datetime(
                                Some(TimeUnit::Microseconds),
                                zoned.then_some(TimeZone::UTC),
                                StrptimeOptions {
                                    format: Some(format.as_str().into()),
                                    strict: false,
                                    exact: true,
                                    cache: true,
                                },
                                lit("raise"),
                            )
                            .is_not_null()
                    }
                };
                present.and(ok.not())
            }
            _ => {
                return Err(unsupported(
                    "it parses text (date and datetime columns pass)",
                ));
            }
        },
        Rule::Unique => {
            if !has_text_form(&t.dtype) {
                return Err(unsupported("it compares scalar values"));
            }
            present.and(v.clone().is_first_distinct().not())
        }
        Rule::Range { min, max } => {
            let invalid = |message: String| Error::InvalidRule {
                column: t.name.clone(),
                rule: name,
                message,
            };
            let temporal = match &t.dtype {
                DataType::Date => Some(("a date", "\"2024-01-01\"")),
                DataType::Datetime(..) => Some(("a date or date-time", "\"2024-01-01T00:00:00Z\"")),
                DataType::Time => Some(("a time of day", "\"12:30:00\"")),
                _ => None,
            };
            if let Some((what, example)) = temporal {
                // Compared as the column's physical integers: days, units since the epoch,
                // nanoseconds since midnight.
                let physical = |b: &Bound| -> Result<i64> {
                    let Bound::Text(text) = b else {
                        return Err(invalid(format!(
                            "the column is {}, so its bounds are ISO 8601 text such as {example}, \
                             not {b}",
                            t.dtype
                        )));
                    };
                    let value = match &t.dtype {
                        DataType::Date => crate::iso::date(text),
                        DataType::Time => crate::iso::time(text),
                        DataType::Datetime(unit, _) => {
                            let per_nano = match unit {
                                TimeUnit::Milliseconds => 1_000_000,
                                TimeUnit::Microseconds => 1_000,
                                TimeUnit::Nanoseconds => 1,
                            };
                            crate::iso::datetime_nanos(text)
                                .and_then(|n| i64::try_from(n.div_euclid(per_nano)).ok())
                        }
                        _ => None,
                    };
                    value.ok_or_else(|| {
                        invalid(format!(
                            "{text:?} is not {what} in ISO 8601, such as {example}"
                        ))
                    })
                };
                let n = v.clone().to_physical().cast(DataType::Int64);
                let mut bad = lit(false);
                if let Some(min) = min {
                    bad = bad.or(n.clone().lt(lit(physical(min)?)));
                }
                if let Some(max) = max {
                    bad = bad.or(n.gt(lit(physical(max)?)));
                }
                present.and(bad)
            } else {
                let is_decimal = matches!(t.dtype, DataType::Decimal(..));
                if !is_text && !is_number && !is_decimal {
                    return Err(unsupported(
                        "it needs numbers, decimals, dates, times, or text holding numbers",
                    ));
                }
                let number = |b: &Bound| -> Result<f64> {
                    match b {
                        Bound::Number(n) => Ok(*n),
                        Bound::Text(s) => Err(invalid(format!(
                            "{s:?} is not a number, and the column is {}",
                            t.dtype
                        ))),
                    }
                };
                let n = v.clone().cast(DataType::Float64);
                let mut bad = n.clone().is_null();
                if let Some(min) = min {
                    bad = bad.or(n.clone().lt(lit(number(min)?)));
                }
                if let Some(max) = max {
                    bad = bad.or(n.gt(lit(number(max)?)));
                }
                present.and(bad)
            }
        }
        Rule::Regex { pattern } => {
            if !is_text {
                return Err(unsupported("it matches text"));
            }
            let anchored = format!("^(?:{pattern})$");
            regex::Regex::new(&anchored).map_err(|e| Error::InvalidRule {
                column: t.name.clone(),
                rule: name,
                message: e.to_string(),
            })?;
            present.and(v.clone().str().contains(lit(anchored), true).not())
        }
        Rule::Length { min, max } => {
            if !is_text {
                return Err(unsupported("it counts the characters of text"));
            }
            let n = v.clone().str().len_chars().cast(DataType::Int64);
            let mut bad = lit(false);
            if let Some(min) = min {
                bad = bad.or(n.clone().lt(lit(i64::try_from(*min).unwrap_or(i64::MAX))));
            }
            if let Some(max) = max {
                bad = bad.or(n.gt(lit(i64::try_from(*max).unwrap_or(i64::MAX))));
            }
            present.and(bad)
        }
    };
    Ok(Planned {
        column: t.name.clone(),
        check: name,
        description: rule.to_string(),
        severity: spec.severity(),
        kind: Kind::Mask {
            mask,
            value: has_text_form(&t.dtype).then_some(v),
        },
    })
}
