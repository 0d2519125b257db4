//! Writing a snapshot: Parquet, CSV, NDJSON or Arrow IPC, to a file or stdout.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, bail};
use clap::ValueEnum;
use polars::prelude::*;

/// The file formats of `truthound snapshot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Apache Parquet.
    Parquet,
    /// Comma-separated values (flat columns only: no structs or lists).
    Csv,
    /// Newline-delimited JSON, one object per row.
    Ndjson,
    /// Arrow IPC (Feather v2).
    Ipc,
}

/// The format asked for, else the one the file's extension says (ndjson for stdout).
pub(crate) fn choose(path: &Path, asked: Option<OutputFormat>) -> anyhow::Result<OutputFormat> {
    if let Some(format) = asked {
        return Ok(format);
    }
    if path.as_os_str() == "-" {
        return Ok(OutputFormat::Ndjson);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    Ok(match ext.as_str() {
        "parquet" | "pq" => OutputFormat::Parquet,
        "csv" => OutputFormat::Csv,
        "ndjson" | "jsonl" | "json" => OutputFormat::Ndjson,
        "arrow" | "ipc" | "feather" => OutputFormat::Ipc,
        _ => bail!(
            "cannot tell the format of {} from its extension: use .parquet, .csv, .ndjson, \
             .arrow, or --output-format",
            path.display()
        ),
    })
}

/// Writes the frame to `path` (`-`: stdout).
pub(crate) fn write(
    frame: &mut DataFrame,
    path: &Path,
    format: OutputFormat,
) -> anyhow::Result<()> {
    // Checked before the file is created, so a refused write leaves no empty file.
    if format == OutputFormat::Csv
        && let Some(nested) = frame.columns().iter().find(|c| c.dtype().is_nested())
    {
        bail!(
            "CSV cannot hold the nested column {:?} ({}): use parquet, ndjson or ipc",
            nested.name(),
            nested.dtype()
        );
    }
    if path.as_os_str() == "-" {
        let stdout = std::io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        write_to(frame, &mut out, format)?;
        out.flush()?;
    } else {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut out = BufWriter::new(file);
        write_to(frame, &mut out, format)
            .with_context(|| format!("cannot write {}", path.display()))?;
        out.flush()?;
    }
    Ok(())
}

fn write_to<W: Write>(
    frame: &mut DataFrame,
    out: &mut W,
    format: OutputFormat,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Parquet => {
            ParquetWriter::new(out).finish(frame)?;
        }
        OutputFormat::Csv => {
            CsvWriter::new(out).finish(frame)?;
        }
        OutputFormat::Ndjson => {
            JsonWriter::new(out)
                .with_json_format(JsonFormat::JsonLines)
                .finish(frame)?;
        }
        OutputFormat::Ipc => {
            IpcWriter::new(out).finish(frame)?;
        }
    }
    Ok(())
}
