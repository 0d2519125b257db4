//! [`Report`]: what the checks found, as a table ([`Display`](std::fmt::Display)) or JSON
//! (`serde`).

use std::fmt;

use serde::Serialize;

use crate::rules::Severity;

/// One value that failed a check, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// The value as text; `None` for a null (or a value that has no text form, such as a
    /// struct).
    pub value: Option<String>,
    /// The Kafka partition of the message, when the frame has the `_kafka_partition` column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    /// The Kafka offset of the message, when the frame has the `_kafka_offset` column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
}

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            None => f.write_str("null")?,
            Some(v) if v.chars().count() > 24 => {
                let short: String = v.chars().take(23).collect();
                write!(f, "{:?}", format!("{short}…"))?;
            }
            Some(v) => write!(f, "{v:?}")?,
        }
        match (self.partition, self.offset) {
            (Some(p), Some(o)) => write!(f, " (p{p}@{o})"),
            (Some(p), None) => write!(f, " (p{p})"),
            (None, Some(o)) => write!(f, " (@{o})"),
            (None, None) => Ok(()),
        }
    }
}

/// A check that found values it rejects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    /// The column (or `struct.field` path); `<message>` for the `decodable` check.
    pub column: String,
    /// The check's name: a rule name (`not_null`, `range`, ...), a validator name (`null`,
    /// `type`), or `decodable` for messages that could not be decoded.
    pub check: String,
    /// The check with its parameters, e.g. `range [0, 10000]`.
    pub description: String,
    /// How bad it is.
    pub severity: Severity,
    /// How many rows (for `decodable`: messages) failed the check.
    pub count: u64,
    /// `count` as a share of all rows, from 0 to 1 (for `decodable`: of all messages read).
    pub share: f64,
    /// A few of the failing values, in row order.
    pub samples: Vec<Sample>,
}

/// The outcome of [`check()`](crate::check()).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Rows in the frame.
    pub rows: u64,
    /// The columns that were checked, in the order first checked.
    pub columns: Vec<String>,
    /// How many checks ran (column × rule or validator).
    pub checks: usize,
    /// The checks that failed, in the order they were asked for.
    pub issues: Vec<Issue>,
}

impl Report {
    /// The worst severity among the issues; `None` when there are none.
    pub fn max_severity(&self) -> Option<Severity> {
        self.issues.iter().map(|i| i.severity).max()
    }

    /// The issues at or above `severity`.
    pub fn issues_at_least(&self, severity: Severity) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(move |i| i.severity >= severity)
    }

    /// Whether any issue is at or above `severity` (a CI gate).
    pub fn fails(&self, severity: Severity) -> bool {
        self.issues_at_least(severity).next().is_some()
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        // A derived Serialize of strings and numbers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl fmt::Display for Report {
    /// A summary line, then a table of issues with aligned columns.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by = |s: Severity| self.issues.iter().filter(|i| i.severity == s).count();
        write!(
            f,
            "Checked {} rows, {} columns, {} checks: ",
            self.rows,
            self.columns.len(),
            self.checks
        )?;
        if self.issues.is_empty() {
            return writeln!(f, "no issues found.");
        }
        let parts: Vec<String> = [Severity::Error, Severity::Warning, Severity::Info]
            .into_iter()
            .filter(|s| by(*s) > 0)
            .map(|s| format!("{} {s}", by(s)))
            .collect();
        writeln!(
            f,
            "{} issue{} ({}).",
            self.issues.len(),
            if self.issues.len() == 1 { "" } else { "s" },
            parts.join(", ")
        )?;
        writeln!(f)?;

        let header = ["SEVERITY", "COLUMN", "CHECK", "COUNT", "SHARE", "SAMPLES"];
        let rows: Vec<[String; 6]> = self
            .issues
            .iter()
            .map(|i| {
                let samples: Vec<String> = i.samples.iter().map(Sample::to_string).collect();
                [
                    i.severity.to_string(),
                    i.column.clone(),
                    i.description.clone(),
                    i.count.to_string(),
                    format!("{:.2}%", i.share * 100.0),
                    samples.join(", "),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: [&str; 6]| -> fmt::Result {
            // Text left-aligned, numbers right-aligned; the last column is not padded.
            write!(
                f,
                "{:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {:>w4$}  {}",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                cells[4],
                cells[5],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
                w4 = widths[4],
            )?;
            writeln!(f)
        };
        line(f, header)?;
        for row in &rows {
            line(f, row.each_ref().map(String::as_str))?;
        }
        Ok(())
    }
}
