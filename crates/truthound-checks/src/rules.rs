//! What can be checked: [`Validator`]s, per-column [`Rule`]s, [`Severity`], and the rules file
//! ([`RuleSet`]) in TOML, YAML or JSON.
//!
//! A rules file names columns and, for each, a list of rules. A rule is either a bare name (for
//! rules without parameters) or a table with a `type` and the rule's parameters; any rule may
//! carry a `severity` (`info`, `warning` or `error`) that overrides its default:
//!
//! ```toml
//! [columns.user_id]
//! rules = ["not_null", "unique"]
//!
//! [columns.action]
//! rules = [{ type = "allowed_values", values = ["login", "logout", "purchase"] }]
//!
//! [columns.timestamp]
//! rules = ["not_null", { type = "datetime" }]
//!
//! [columns.amount]
//! rules = [{ type = "range", min = 0, max = 10000, severity = "warning" }]
//!
//! [columns."device.os"]          # a field of a struct column
//! rules = [{ type = "regex", pattern = "ios|android|web" }]
//! ```

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use indexmap::IndexMap;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// How bad an issue is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Worth knowing; not a problem by itself.
    Info,
    /// Probably a problem.
    Warning,
    /// The data breaks a rule.
    Error,
}

impl Severity {
    /// The lowercase name, as in rules files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Self::Info),
            "warning" | "warn" => Ok(Self::Warning),
            "error" => Ok(Self::Error),
            _ => Err(Error::InvalidOption(format!(
                "unknown severity {s:?}: expected info, warning or error"
            ))),
        }
    }
}

/// A check that runs on every column it is given (all data columns by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Validator {
    /// Nulls per column (severity `warning`).
    Null,
    /// Values whose type disagrees with the column's dominant type (severity `warning`). Only
    /// text columns can hold such values: the Polars adapter keeps a field with mixed types as
    /// each value's JSON text. Each value is classified as `string` (quoted JSON text, or text
    /// that is none of the others), `number`, `boolean` (`true`/`false`), `object` (`{...}`) or
    /// `array` (`[...]`); the most frequent kind is the column's type and every other value is
    /// an issue. Columns of any other type are uniform by construction and pass.
    Type,
}

impl Validator {
    /// The name, as given to [`FromStr`] and shown in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Type => "type",
        }
    }
}

impl FromStr for Validator {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "null" => Ok(Self::Null),
            "type" => Ok(Self::Type),
            _ => Err(Error::InvalidOption(format!(
                "unknown validator {s:?}: expected null or type"
            ))),
        }
    }
}

/// A value listed in `allowed_values`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Scalar {
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string.
    Str(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(b) => write!(f, "{b}"),
            Self::Number(n) => write!(f, "{n}"),
            Self::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// A bound of a [`Rule::Range`]: a number, or for date, datetime and time columns ISO 8601
/// text (`"2024-01-01"`, `"2024-01-01T12:00:00Z"`, `"12:30:00"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Bound {
    /// A number.
    Number(f64),
    /// A date, date-time or time of day.
    Text(String),
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Text(s) => f.write_str(s),
        }
    }
}

impl From<f64> for Bound {
    fn from(n: f64) -> Self {
        Self::Number(n)
    }
}

impl From<&str> for Bound {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

/// A rule for one column. Nulls pass every rule except `not_null`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rule {
    /// No value is null (default severity `error`).
    NotNull,
    /// Every value is one of `values` (`error`). Text columns compare text, numeric columns
    /// numbers, boolean columns booleans.
    AllowedValues {
        /// The accepted values.
        values: Vec<Scalar>,
    },
    /// Every value is a date-time (`error`): ISO 8601 (`2024-05-01`, `2024-05-01T12:30:00`,
    /// with optional fraction and `Z` or `±hh:mm` offset, `T` or a space between date and
    /// time), or, with `format`, a chrono-style format such as `%d/%m/%Y %H:%M`. Date and
    /// datetime columns pass.
    Datetime {
        /// A chrono-style format; `None` for ISO 8601.
        format: Option<String>,
    },
    /// No value repeats an earlier one (`warning`). The count is the number of repeats (a
    /// value seen three times counts two); the samples are the repeats.
    Unique,
    /// Every value is within `[min, max]` (`error`). Numeric and decimal columns take numbers
    /// as bounds; in a text column, a value that does not parse as a number is out of range.
    /// Date, datetime and time columns take ISO 8601 text: `min = "2024-01-01"` (a date-time
    /// without an offset is read in the column's zone, UTC for the snapshot's timestamps).
    Range {
        /// The smallest accepted value.
        min: Option<Bound>,
        /// The largest accepted value.
        max: Option<Bound>,
    },
    /// Every value matches `pattern` as a whole (`error`): the pattern is anchored, as
    /// `^(?:pattern)$`. Rust `regex` syntax.
    Regex {
        /// The regular expression.
        pattern: String,
    },
    /// Every text value has between `min` and `max` characters (`warning`).
    Length {
        /// The fewest characters accepted.
        min: Option<u64>,
        /// The most characters accepted.
        max: Option<u64>,
    },
}

/// The rule names, as in rules files.
pub const RULE_NAMES: &[&str] = &[
    "not_null",
    "allowed_values",
    "datetime",
    "unique",
    "range",
    "regex",
    "length",
];

impl Rule {
    /// The rule's name, as in rules files and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NotNull => "not_null",
            Self::AllowedValues { .. } => "allowed_values",
            Self::Datetime { .. } => "datetime",
            Self::Unique => "unique",
            Self::Range { .. } => "range",
            Self::Regex { .. } => "regex",
            Self::Length { .. } => "length",
        }
    }

    /// The severity of the rule's issues unless the rules file says otherwise.
    pub fn default_severity(&self) -> Severity {
        match self {
            Self::Unique | Self::Length { .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// Parses the table form of a rule (`{ type = "...", ... }`) and its optional severity.
    fn from_table(mut table: serde_json::Map<String, Value>) -> Result<RuleSpec, String> {
        let name = match table.remove("type") {
            Some(Value::String(name)) => name,
            Some(other) => return Err(format!("`type` must be a rule name, not {other}")),
            None => {
                return Err(format!(
                    "a rule table needs `type`, one of: {}",
                    RULE_NAMES.join(", ")
                ));
            }
        };
        let severity = match table.remove("severity") {
            None => None,
            Some(Value::String(s)) => Some(s.parse::<Severity>().map_err(|e| e.to_string())?),
            Some(other) => return Err(format!("`severity` must be a string, not {other}")),
        };
        let mut take = |key: &str| table.remove(key);
        let bound = |key: &str, v: Option<Value>| -> Result<Option<Bound>, String> {
            match v {
                None => Ok(None),
                Some(Value::Number(n)) => Ok(n.as_f64().map(Bound::Number)),
                Some(Value::String(s)) => Ok(Some(Bound::Text(s))),
                // A TOML date or date-time (`min = 2024-01-01`), as serde_json sees it.
                Some(Value::Object(map))
                    if map.len() == 1
                        && map.get(TOML_DATETIME_KEY).is_some_and(Value::is_string) =>
                {
                    Ok(map
                        .get(TOML_DATETIME_KEY)
                        .and_then(Value::as_str)
                        .map(|s| Bound::Text(s.to_owned())))
                }
                Some(other) => Err(format!(
                    "`{key}` of rule {name} must be a number, or a date, date-time or time \
                     (ISO 8601 text), not {other}"
                )),
            }
        };
        let count = |key: &str, v: Option<Value>| -> Result<Option<u64>, String> {
            match v {
                None => Ok(None),
                Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
                Some(other) => Err(format!(
                    "`{key}` of rule {name} must be a whole number, 0 or more, not {other}"
                )),
            }
        };
        let rule = match name.as_str() {
            "not_null" => Rule::NotNull,
            "unique" => Rule::Unique,
            "allowed_values" => {
                let values = match take("values") {
                    Some(Value::Array(values)) => values
                        .into_iter()
                        .map(|v| match v {
                            Value::Bool(b) => Ok(Scalar::Bool(b)),
                            Value::Number(n) => Ok(Scalar::Number(n.as_f64().unwrap_or(f64::NAN))),
                            Value::String(s) => Ok(Scalar::Str(s)),
                            other => Err(format!(
                                "allowed_values: {other} is not a string, number or boolean"
                            )),
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                    Some(other) => return Err(format!("`values` must be a list, not {other}")),
                    None => return Err("rule allowed_values needs `values = [...]`".to_owned()),
                };
                Rule::AllowedValues { values }
            }
            "datetime" => Rule::Datetime {
                format: match take("format") {
                    None => None,
                    Some(Value::String(s)) => Some(s),
                    Some(other) => return Err(format!("`format` must be a string, not {other}")),
                },
            },
            "range" => {
                let min = bound("min", take("min"))?;
                let max = bound("max", take("max"))?;
                if min.is_none() && max.is_none() {
                    return Err("rule range needs `min`, `max` or both".to_owned());
                }
                Rule::Range { min, max }
            }
            "regex" => match take("pattern") {
                Some(Value::String(pattern)) => Rule::Regex { pattern },
                Some(other) => return Err(format!("`pattern` must be a string, not {other}")),
                None => return Err("rule regex needs `pattern = \"...\"`".to_owned()),
            },
            "length" => {
                let min = count("min", take("min"))?;
                let max = count("max", take("max"))?;
                if min.is_none() && max.is_none() {
                    return Err("rule length needs `min`, `max` or both".to_owned());
                }
                Rule::Length { min, max }
            }
            other => return Err(unknown_rule(other)),
        };
        if let Some(key) = table.keys().next() {
            return Err(format!("rule {name} has no parameter `{key}`"));
        }
        Ok(RuleSpec { rule, severity })
    }

    /// Parses the bare-name form of a rule.
    fn from_name(name: &str) -> Result<Rule, String> {
        match name {
            "not_null" => Ok(Rule::NotNull),
            "unique" => Ok(Rule::Unique),
            "datetime" => Ok(Rule::Datetime { format: None }),
            "allowed_values" => Err(
                "rule allowed_values needs parameters: { type = \"allowed_values\", values = [...] }"
                    .to_owned(),
            ),
            "range" | "regex" | "length" => Err(format!(
                "rule {name} needs parameters: {{ type = \"{name}\", ... }}"
            )),
            other => Err(unknown_rule(other)),
        }
    }
}

/// The key under which the `toml` crate hands a TOML date or date-time to a `serde_json::Value`.
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

fn unknown_rule(name: &str) -> String {
    format!(
        "unknown rule `{name}`; the rules are: {}",
        RULE_NAMES.join(", ")
    )
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bound = |v: &Option<Bound>| v.as_ref().map_or("…".to_owned(), Bound::to_string);
        let count = |v: Option<u64>| v.map_or("…".to_owned(), |v| v.to_string());
        match self {
            Self::NotNull | Self::Unique => f.write_str(self.name()),
            Self::AllowedValues { values } => {
                let shown: Vec<String> = values.iter().take(3).map(Scalar::to_string).collect();
                let more = if values.len() > 3 { ", …" } else { "" };
                write!(f, "allowed_values [{}{more}]", shown.join(", "))
            }
            Self::Datetime { format: None } => f.write_str("datetime (ISO 8601)"),
            Self::Datetime { format: Some(fmt) } => write!(f, "datetime {fmt:?}"),
            Self::Range { min, max } => write!(f, "range [{}, {}]", bound(min), bound(max)),
            Self::Regex { pattern } => write!(f, "regex {pattern:?}"),
            Self::Length { min, max } => write!(f, "length [{}, {}]", count(*min), count(*max)),
        }
    }
}

/// A rule with an optional severity that overrides [`Rule::default_severity`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSpec {
    /// The rule.
    #[serde(flatten)]
    pub rule: Rule,
    /// The severity of its issues; `None` for the rule's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

impl RuleSpec {
    /// The severity its issues get.
    pub fn severity(&self) -> Severity {
        self.severity
            .unwrap_or_else(|| self.rule.default_severity())
    }
}

impl From<Rule> for RuleSpec {
    fn from(rule: Rule) -> Self {
        Self {
            rule,
            severity: None,
        }
    }
}

impl<'de> Deserialize<'de> for RuleSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpecVisitor;

        impl<'de> Visitor<'de> for SpecVisitor {
            type Value = RuleSpec;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a rule name (\"not_null\") or a table ({ type = \"range\", min = 0 })")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<RuleSpec, E> {
                Rule::from_name(name).map(RuleSpec::from).map_err(E::custom)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RuleSpec, A::Error> {
                let table = serde_json::Map::<String, Value>::deserialize(
                    de::value::MapAccessDeserializer::new(map),
                )?;
                Rule::from_table(table).map_err(de::Error::custom)
            }
        }

        deserializer.deserialize_any(SpecVisitor)
    }
}

/// The rules of one column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnRules {
    /// The rules, in the order they are reported.
    pub rules: Vec<RuleSpec>,
}

/// Rules per column: the model of a rules file.
///
/// Column names may be a path into a struct column: `device.os` is the field `os` of the
/// column `device` (a column whose own name contains a dot is matched first).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Rules per column, in file order.
    #[serde(default)]
    pub columns: IndexMap<String, ColumnRules>,
}

/// The format of a rules file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RulesFormat {
    /// TOML (`.toml`).
    Toml,
    /// YAML (`.yaml`, `.yml`).
    Yaml,
    /// JSON (`.json`).
    Json,
}

impl RulesFormat {
    /// The format a file name's extension says; TOML when it says nothing known.
    pub fn from_path(path: &Path) -> Self {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("yaml" | "yml") => Self::Yaml,
            Some("json") => Self::Json,
            _ => Self::Toml,
        }
    }
}

impl RuleSet {
    /// An empty rule set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule for `column` (after the column's other rules).
    #[must_use]
    pub fn with_rule(mut self, column: impl Into<String>, rule: impl Into<RuleSpec>) -> Self {
        self.push(column, rule);
        self
    }

    /// Adds a rule for `column` (after the column's other rules).
    pub fn push(&mut self, column: impl Into<String>, rule: impl Into<RuleSpec>) {
        self.columns
            .entry(column.into())
            .or_default()
            .rules
            .push(rule.into());
    }

    /// How many rules there are, over all columns.
    pub fn len(&self) -> usize {
        self.columns.values().map(|c| c.rules.len()).sum()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parses a rules file's text. Errors carry the line and column where the parser stopped.
    ///
    /// Two forms are read: the `[columns.X]` tables with their `rules` lists, and the mapping
    /// the spec's `rules=` argument takes, column names at the top level with their lists of
    /// rules (`user_id = ["not_null"]`, or in JSON `{"user_id": ["not_null"]}`). A file is of
    /// the second form when its top level has no `columns` key holding a table.
    ///
    /// # Errors
    /// [`Error::RulesFile`] for text that is not a valid rules file.
    pub fn parse(text: &str, format: RulesFormat) -> Result<Self> {
        if is_flat(text, format) {
            let columns: IndexMap<String, Vec<RuleSpec>> = parse_as(text, format)?;
            return Ok(Self {
                columns: columns
                    .into_iter()
                    .map(|(column, rules)| (column, ColumnRules { rules }))
                    .collect(),
            });
        }
        parse_as(text, format)
    }

    /// Reads a rules file, in the format its extension says (TOML unless `.yaml`, `.yml` or
    /// `.json`).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::RulesFile`] (with the path, line
    /// and column) when it is not a valid rules file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, RulesFormat::from_path(path)).map_err(|e| match e {
            Error::RulesFile {
                line,
                column,
                message,
                ..
            } => Error::RulesFile {
                path: Some(path.to_owned()),
                line,
                column,
                message,
            },
            other => other,
        })
    }
}

/// Whether a rules file's top level maps columns to rule lists (the `rules=` form) rather than
/// holding a `columns` table. Text that does not parse as the format at all is left to the
/// `[columns.X]` form, whose errors say where it stopped.
fn is_flat(text: &str, format: RulesFormat) -> bool {
    fn flat_json(top: &Value) -> bool {
        top.as_object()
            .is_some_and(|map| map.get("columns").is_none_or(|c| !c.is_object()))
    }
    match format {
        RulesFormat::Json => serde_json::from_str::<Value>(text).is_ok_and(|top| flat_json(&top)),
        RulesFormat::Yaml => serde_yaml::from_str::<serde_yaml::Value>(text).is_ok_and(|top| {
            top.as_mapping()
                .is_some_and(|map| map.get("columns").is_none_or(|c| !c.is_mapping()))
        }),
        RulesFormat::Toml => toml::from_str::<toml::Table>(text)
            .is_ok_and(|top| top.get("columns").is_none_or(|c| !c.is_table())),
    }
}

/// Deserializes a rules file's text as `T`, errors located at the line and column.
fn parse_as<T: serde::de::DeserializeOwned>(text: &str, format: RulesFormat) -> Result<T> {
    let located = |line: Option<usize>, column: Option<usize>, message: String| Error::RulesFile {
        path: None,
        line,
        column,
        message,
    };
    match format {
        RulesFormat::Toml => toml::from_str(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (l, c) = line_column(text, span.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            located(line, column, e.message().trim().to_owned())
        }),
        RulesFormat::Yaml => serde_yaml::from_str(text).map_err(|e| {
            let loc = e.location();
            let message = e.to_string();
            // serde_yaml appends " at line L column C"; the location is reported apart.
            let message = match message.find(" at line ") {
                Some(i) if loc.is_some() => message[..i].to_owned(),
                _ => message,
            };
            located(
                loc.as_ref().map(|l| l.line()),
                loc.as_ref().map(|l| l.column()),
                message,
            )
        }),
        RulesFormat::Json => serde_json::from_str(text).map_err(|e| {
            let message = e.to_string();
            let message = match message.find(" at line ") {
                Some(i) => message[..i].to_owned(),
                None => message,
            };
            located(Some(e.line()), Some(e.column()), message)
        }),
    }
}

/// The 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
