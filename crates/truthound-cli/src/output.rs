//! Writing a snapshot: Parquet, CSV, NDJSON or Arrow IPC, to a file or stdout.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::ValueEnum;
use polars::prelude::*;
use tempfile::NamedTempFile;

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

/// Where a snapshot goes: stdout, or a file that is complete or untouched.
///
/// A regular file (new, or existing: then also through a symbolic link to it) is written to a
/// temporary file beside it (`.NAME.tmp-PID-XXXXXX`), flushed to disk and renamed over it only
/// when complete: an error or a signal leaves the old file as it was and no temporary file. A
/// file that is not a regular file (a device such as `/dev/null`, a named pipe) is written in
/// place.
pub(crate) enum Destination {
    /// Standard output.
    Stdout,
    /// A regular file, through a temporary file renamed over `target`.
    Replace {
        /// The path as given, for messages.
        shown: PathBuf,
        /// The file renamed over: the path, or where its symbolic link points.
        target: PathBuf,
        /// The temporary file beside `target`.
        temp: Pending,
    },
    /// A file that is not a regular file, written in place.
    InPlace(PathBuf),
}

/// A temporary file, removed when dropped or on a signal (see [`crate::interrupt`]).
pub(crate) struct Pending(Option<NamedTempFile>);

impl Drop for Pending {
    fn drop(&mut self) {
        let temp = self.0.take();
        crate::interrupt::settle(|| drop(temp));
    }
}

impl Destination {
    /// Prepares writing to `path` (`-`: stdout): for a file, creates the temporary file, so
    /// that a directory that cannot be written to fails before the topic is read.
    pub(crate) fn open(path: &Path) -> anyhow::Result<Self> {
        if path.as_os_str() == "-" {
            return Ok(Self::Stdout);
        }
        let cannot = || format!("cannot create {}", path.display());
        let (target, permissions) = match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => bail!("{} is a directory", path.display()),
            Ok(m) if !m.is_file() => return Ok(Self::InPlace(path.to_owned())),
            Ok(m) => (
                std::fs::canonicalize(path).with_context(cannot)?,
                Some(m.permissions()),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (path.to_owned(), None),
            Err(e) => return Err(e).with_context(cannot),
        };
        let Some(name) = target.file_name() else {
            bail!("{} does not name a file", path.display());
        };
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let prefix = format!(".{}.tmp-{}-", name.to_string_lossy(), std::process::id());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        // An existing file keeps its permissions; a new one gets what `File::create` gives.
        #[cfg(unix)]
        let permissions = permissions.or_else(|| {
            use std::os::unix::fs::PermissionsExt;
            Some(std::fs::Permissions::from_mode(0o666))
        });
        if let Some(p) = permissions {
            builder.permissions(p);
        }
        let temp = builder.tempfile_in(dir).with_context(cannot)?;
        crate::interrupt::register(temp.path().to_owned());
        Ok(Self::Replace {
            shown: path.to_owned(),
            target,
            temp: Pending(Some(temp)),
        })
    }

    /// Writes the frame. A closed stdout (`| head`) is not an error: the reader has what it
    /// wanted.
    pub(crate) fn write(self, frame: &mut DataFrame, format: OutputFormat) -> anyhow::Result<()> {
        // Checked before anything is written, so a refused write leaves no file.
        if format == OutputFormat::Csv
            && let Some(nested) = frame.columns().iter().find(|c| c.dtype().is_nested())
        {
            bail!(
                "CSV cannot hold the nested column {:?} ({}): use parquet, ndjson or ipc",
                nested.name(),
                nested.dtype()
            );
        }
        match self {
            Self::Stdout => {
                let mut out = BufWriter::new(PipeWatch {
                    inner: std::io::stdout().lock(),
                    closed: false,
                });
                let written = write_to(frame, &mut out, format)
                    .and_then(|()| out.flush().map_err(anyhow::Error::from));
                // Some writers keep only the text of an I/O error: the watch saw it anyway.
                match written {
                    Err(_) if out.get_ref().closed => Ok(()),
                    other => other,
                }
            }
            Self::InPlace(path) => {
                let file = File::create(&path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                let mut out = BufWriter::new(file);
                write_to(frame, &mut out, format)
                    .and_then(|()| out.flush().map_err(anyhow::Error::from))
                    .with_context(|| format!("cannot write {}", path.display()))
            }
            Self::Replace {
                shown,
                target,
                mut temp,
            } => {
                let cannot = || format!("cannot write {}", shown.display());
                let Some(file) = temp.0.as_mut() else {
                    bail!("{} was already written", shown.display());
                };
                let mut out = BufWriter::new(file.as_file_mut());
                write_to(frame, &mut out, format).with_context(cannot)?;
                out.flush().with_context(cannot)?;
                drop(out);
                // On disk before it takes the old file's place: a crash leaves one or the other.
                file.as_file().sync_all().with_context(cannot)?;
                let complete = temp.0.take();
                crate::interrupt::settle(|| complete.map(|t| t.persist(&target)))
                    .transpose()
                    .map_err(|e| e.error)
                    .with_context(|| format!("cannot replace {}", shown.display()))?;
                sync_dir(&target);
                Ok(())
            }
        }
    }
}

/// Flushes the directory entry of the rename to disk, where the platform can.
fn sync_dir(target: &Path) {
    #[cfg(unix)]
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = File::open(dir)
    {
        // The file is complete and in place; a directory that cannot be synced changes nothing.
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = target;
}

/// A writer that notes when the reader has gone (a closed pipe).
struct PipeWatch<W> {
    inner: W,
    closed: bool,
}

impl<W: Write> PipeWatch<W> {
    fn note<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.closed = true;
        }
        result
    }
}

impl<W: Write> Write for PipeWatch<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let result = self.inner.write(buf);
        self.note(result)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.inner.flush();
        self.note(result)
    }
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
