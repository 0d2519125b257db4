//! The error type of the checks: everything is found before the frame is read.

use std::path::PathBuf;

use polars::prelude::PolarsError;

/// What can go wrong when checks are set up or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A rule or validator names a column the frame does not have.
    #[error("unknown column {column:?} ({context}); the frame has: {}", .available.join(", "))]
    UnknownColumn {
        /// The column asked for.
        column: String,
        /// Who asked: the rule or validator.
        context: String,
        /// The columns the frame has.
        available: Vec<String>,
    },
    /// A rule cannot apply to the column's type.
    #[error("rule {rule} cannot check column {column:?} of type {dtype}: {why}")]
    UnsupportedType {
        /// The column.
        column: String,
        /// The rule's name.
        rule: &'static str,
        /// The column's type.
        dtype: String,
        /// What the rule needs.
        why: &'static str,
    },
    /// A rule's parameters are invalid (e.g. a regex that does not compile).
    #[error("rule {rule} for column {column:?} is invalid: {message}")]
    InvalidRule {
        /// The column.
        column: String,
        /// The rule's name.
        rule: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A validator name, severity or other option is invalid.
    #[error("{0}")]
    InvalidOption(String),
    /// A rules file is not valid; line and column are 1-based.
    #[error("{}{}{}: {message}",
        .path.as_ref().map_or("rules".to_owned(), |p| p.display().to_string()),
        .line.map_or(String::new(), |l| format!(":{l}")),
        .column.map_or(String::new(), |c| format!(":{c}")))]
    RulesFile {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// The line where the parser stopped.
        line: Option<usize>,
        /// The column where the parser stopped.
        column: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A rules file cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Polars failed while evaluating the checks.
    #[error("polars: {0}")]
    Polars(#[from] PolarsError),
}

/// The result of the checks' operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
