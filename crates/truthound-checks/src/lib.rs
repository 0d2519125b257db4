//! Data-quality checks on Polars frames: is what is in this snapshot any good?
//!
//! [`check()`] takes a `DataFrame` or `LazyFrame` and [`CheckOptions`] with both forms of the
//! spec's validation example: *validators* (`null`, `type`) run on a list of columns, and
//! *rules* per column (`not_null`, `allowed_values`, `datetime`, `unique`, `range`, `regex`,
//! `length`; see [`Rule`]). All checks of one call are Polars expressions evaluated in one
//! `select` over the frame. Unknown columns, rules that do not fit a column's type and invalid
//! patterns are errors found before the frame is read.
//!
//! The [`Report`] has the rows and columns checked and, per [`Issue`], the column, check,
//! count, share of rows, [`Severity`] and a few sample values; when the frame has the Kafka
//! metadata columns (`_kafka_partition`, `_kafka_offset`), each sample carries the partition and
//! offset of its message. It prints as a table (`Display`) and serializes to JSON. Messages
//! that could not be decoded, and so are not in the frame, can be reported too ([`Decoding`]):
//! they make a `decodable` issue of severity error.
//!
//! Rules can come from a file, TOML, YAML or JSON ([`RuleSet::from_path`]); see [`rules`] for
//! the format.
//!
//! # Layout
//! - [`rules`]: [`Validator`], [`Rule`], [`Severity`], [`RuleSet`] and rules files.
//! - [`check`](mod@check): [`CheckOptions`] and [`check()`]: planning and the one-pass evaluation.
//! - [`report`]: [`Report`], [`Issue`], [`Sample`]: the table and the JSON.
//! - [`error`]: [`Error`] and the [`Result`] alias.
//! - `iso` (private): ISO 8601 range bounds as the physical values of temporal columns.
//!
//! # Example
//! ```
//! use polars::prelude::*;
//! use truthound_checks::{CheckOptions, RuleSet, RulesFormat, Validator, check};
//!
//! let frame = df!(
//!     "user_id" => [Some("u1"), None, Some("u3")],
//!     "action" => ["login", "logout", "dance"],
//!     "timestamp" => ["2024-05-01T10:00:00Z", "2024-05-01T10:00:01Z", "yesterday"],
//! )?;
//! let rules = RuleSet::parse(r#"
//!     [columns.user_id]
//!     rules = ["not_null"]
//!     [columns.action]
//!     rules = [{ type = "allowed_values", values = ["login", "logout", "purchase"] }]
//!     [columns.timestamp]
//!     rules = ["not_null", { type = "datetime" }]
//! "#, RulesFormat::Toml)?;
//! let report = check(&frame, &CheckOptions::new().with_rules(rules))?;
//! println!("Validated {} messages, found {} issues", report.rows, report.issues.len());
//! assert_eq!(report.issues.len(), 3);
//!
//! let report = check(
//!     &frame,
//!     &CheckOptions::new()
//!         .with_validators([Validator::Null, Validator::Type])
//!         .with_columns(["user_id", "action", "timestamp"]),
//! )?;
//! assert_eq!(report.issues.len(), 1); // one null user_id
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod check;
pub mod error;
mod iso;
pub mod report;
pub mod rules;

pub use check::{
    CheckInput, CheckOptions, DEFAULT_METADATA_PREFIX, Decoding, MESSAGE_COLUMN, check,
};
pub use error::{Error, Result};
pub use report::{Issue, Report, Sample};
pub use rules::{
    Bound, ColumnRules, Rule, RuleSet, RuleSpec, RulesFormat, Scalar, Severity, Validator,
};

#[cfg(test)]
mod tests;
