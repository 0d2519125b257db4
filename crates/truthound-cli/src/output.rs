//! Writing a snapshot: Parquet, CSV, NDJSON or Arrow IPC, to a file or stdout, chunk by chunk
//! as [`PolarsSourceExt::write_snapshot`](truthound_polars::PolarsSourceExt::write_snapshot)
//! hands the chunks over, with the decoded segments waiting in a temporary directory
//! ([`IpcSpill`]) until the read ends.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::{Context, bail};
use clap::ValueEnum;
use polars::prelude::*;
use tempfile::{NamedTempFile, TempDir};
use truthound_polars::{FrameSink, SegmentSpill};

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
        if let Some(temp) = self.0.take() {
            let path = temp.path().to_owned();
            crate::interrupt::settle(&path, || drop(temp));
        }
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
        let temp = builder.tempfile_in(parent(&target)).with_context(cannot)?;
        crate::interrupt::register(temp.path().to_owned());
        Ok(Self::Replace {
            shown: path.to_owned(),
            target,
            temp: Pending(Some(temp)),
        })
    }

    /// Where the snapshot's segments wait while it is read: beside the file, so that they
    /// take space where the file will; the system's temporary directory for stdout and for
    /// files that are not regular files.
    pub(crate) fn spill(&self) -> anyhow::Result<Arc<IpcSpill>> {
        let (dir, name) = match self {
            Self::Replace { target, .. } => (
                parent(target).to_owned(),
                target
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            ),
            Self::Stdout | Self::InPlace(_) => (std::env::temp_dir(), "truthound".to_owned()),
        };
        IpcSpill::new(&dir, &name).map(Arc::new)
    }

    /// A sink writing `format` here. Nothing is written before the sink is started.
    pub(crate) fn sink(&self, format: OutputFormat) -> anyhow::Result<FileSink> {
        let out: Box<dyn Write + Send> = match self {
            Self::Stdout => Box::new(std::io::stdout()),
            Self::InPlace(path) => Box::new(
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
            ),
            Self::Replace { shown, temp, .. } => {
                let Some(file) = temp.0.as_ref() else {
                    bail!("{} was already written", shown.display());
                };
                Box::new(
                    file.as_file()
                        .try_clone()
                        .with_context(|| format!("cannot write {}", shown.display()))?,
                )
            }
        };
        let shown = match self {
            Self::Stdout => "stdout".to_owned(),
            Self::InPlace(path) => path.display().to_string(),
            Self::Replace { shown, .. } => shown.display().to_string(),
        };
        Ok(FileSink {
            shown,
            format,
            out: Out(Arc::new(Mutex::new(BufWriter::with_capacity(
                1 << 20,
                PipeWatch {
                    inner: out,
                    closed: false,
                },
            )))),
            writer: None,
            rows: 0,
            columns: 0,
        })
    }

    /// Completes what `sink` wrote after `written` (the snapshot's result): the format's
    /// footer, flushed, and for a regular file synced to disk and renamed over the old one.
    /// On stdout, a reader that has gone (`| head`) is not an error: it has what it wanted.
    pub(crate) fn complete<T>(
        self,
        mut sink: FileSink,
        written: anyhow::Result<T>,
    ) -> anyhow::Result<Option<T>> {
        let written = written.and_then(|t| sink.finish().map(|()| t));
        match self {
            Self::Stdout => match written {
                // Some writers keep only the text of an I/O error: the watch saw it anyway.
                Err(_) if sink.out.lock().get_ref().closed => Ok(None),
                other => other.map(Some),
            },
            Self::InPlace(_) => written.map(Some),
            Self::Replace {
                shown,
                target,
                mut temp,
            } => {
                let cannot = || format!("cannot write {}", shown.display());
                let done = written?;
                let Some(file) = temp.0.take() else {
                    bail!("{} was already written", shown.display());
                };
                // On disk before it takes the old file's place: a crash leaves one or the other.
                file.as_file().sync_all().with_context(cannot)?;
                let path = file.path().to_owned();
                crate::interrupt::settle(&path, || file.persist(&target))
                    .map_err(|e| e.error)
                    .with_context(|| format!("cannot replace {}", shown.display()))?;
                sync_dir(&target);
                Ok(Some(done))
            }
        }
    }
}

/// The directory `path` is in (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The buffered output and what watches it.
type Buffered = BufWriter<PipeWatch<Box<dyn Write + Send>>>;

/// The output, shared between the format's writer and the sink that flushes it at the end.
#[derive(Clone)]
struct Out(Arc<Mutex<Buffered>>);

impl Out {
    fn lock(&self) -> MutexGuard<'_, Buffered> {
        // Bytes are written whole or the write fails: a poisoned lock is still right to use.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lock().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.lock().write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.lock().flush()
    }
}

/// The writer of one format, started with the snapshot's schema.
enum Writer {
    Parquet(Box<polars::io::parquet::write::BatchedWriter<Out>>),
    Ipc(polars::io::ipc::BatchedWriter<Out>),
    Csv(polars::io::csv::write::BatchedWriter<Out>),
    Ndjson(polars::io::json::BatchedWriter<Out>),
}

/// A [`FrameSink`] writing one of the [`OutputFormat`]s: each chunk is a Parquet row group,
/// an Arrow IPC record batch, or lines of CSV or NDJSON.
pub(crate) struct FileSink {
    /// The file's path as given, for messages.
    shown: String,
    format: OutputFormat,
    out: Out,
    writer: Option<Writer>,
    rows: usize,
    columns: usize,
}

impl FileSink {
    /// The rows written.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// The columns of the snapshot.
    pub(crate) fn columns(&self) -> usize {
        self.columns
    }

    /// Writes the footer and flushes.
    fn finish(&mut self) -> anyhow::Result<()> {
        let shown = self.shown.clone();
        self.finish_writer()
            .with_context(|| format!("cannot write {shown}"))
    }

    fn finish_writer(&mut self) -> anyhow::Result<()> {
        match &mut self.writer {
            None => bail!("the snapshot was not written: its writer never started"),
            Some(Writer::Parquet(w)) => {
                w.finish()?;
            }
            Some(Writer::Ipc(w)) => w.finish()?,
            Some(Writer::Csv(w)) => w.finish()?,
            Some(Writer::Ndjson(_)) => {}
        }
        self.out.lock().flush()?;
        Ok(())
    }
}

fn sink_error(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> truthound_polars::Error {
    truthound_polars::Error::Sink(e.into())
}

impl FrameSink for FileSink {
    fn start(&mut self, schema: &Schema) -> truthound_polars::Result<()> {
        // Checked before anything is written, so a refused write leaves no file.
        if self.format == OutputFormat::Csv
            && let Some((name, dtype)) = schema.iter().find(|(_, d)| d.is_nested())
        {
            return Err(sink_error(format!(
                "CSV cannot hold the nested column {name:?} ({dtype}): use parquet, ndjson or ipc"
            )));
        }
        let out = self.out.clone();
        self.columns = schema.len();
        let writer = match self.format {
            OutputFormat::Parquet => ParquetWriter::new(out)
                .batched(schema)
                .map(|w| Writer::Parquet(Box::new(w))),
            OutputFormat::Ipc => {
                let arrow = schema.to_arrow(CompatLevel::newest());
                let fields = polars_arrow::io::ipc::write::default_ipc_fields(arrow.iter_values());
                IpcWriter::new(out).batched(schema, fields).map(Writer::Ipc)
            }
            OutputFormat::Csv => CsvWriter::new(out).batched(schema).map(Writer::Csv),
            OutputFormat::Ndjson => Ok(Writer::Ndjson(polars::io::json::BatchedWriter::new(out))),
        };
        self.writer =
            Some(writer.map_err(|e| sink_error(format!("cannot write {}: {e}", self.shown)))?);
        Ok(())
    }

    fn write(&mut self, chunk: DataFrame) -> truthound_polars::Result<()> {
        let Some(writer) = &mut self.writer else {
            return Err(sink_error("a chunk came before the snapshot's schema"));
        };
        if chunk.height() == 0 {
            return Ok(());
        }
        let mut chunk = chunk;
        chunk.align_chunks();
        let written = match writer {
            Writer::Parquet(w) => w.write_batch(&chunk),
            Writer::Ipc(w) => w.write_batch(&chunk),
            Writer::Csv(w) => w.write_batch(&chunk),
            Writer::Ndjson(w) => w.write_batch(&chunk),
        };
        written.map_err(|e| sink_error(format!("cannot write {}: {e}", self.shown)))?;
        self.rows += chunk.height();
        Ok(())
    }
}

/// The largest snapshot (by its frame's estimated size) written straight from memory; a larger
/// one spills every segment, so that its memory does not depend on its length.
/// `TRUTHOUND_SPILL_AFTER_BYTES` overrides it (0 spills every snapshot).
const SPILL_AFTER_BYTES: usize = 256 * 1024 * 1024;

/// [`SPILL_AFTER_BYTES`], or `TRUTHOUND_SPILL_AFTER_BYTES` when it is set to a number.
fn spill_after_bytes() -> anyhow::Result<usize> {
    match std::env::var("TRUTHOUND_SPILL_AFTER_BYTES") {
        Err(_) => Ok(SPILL_AFTER_BYTES),
        Ok(text) => text.trim().parse::<usize>().map_err(|e| {
            anyhow::anyhow!("TRUTHOUND_SPILL_AFTER_BYTES={text:?} is not a number of bytes: {e}")
        }),
    }
}

/// Segments kept as Arrow IPC files (uncompressed: written and read back at memory speed) in a
/// temporary directory, `.NAME.segments-PID-XXXXXX`, removed when dropped or on a signal;
/// those of a snapshot whose frame should take [`SPILL_AFTER_BYTES`] or less stay in memory.
pub(crate) struct IpcSpill {
    dir: Option<TempDir>,
    memory_budget: usize,
    /// The messages the read expects (0 until the read tells, see [`Self::expect`]).
    expected: std::sync::atomic::AtomicUsize,
}

impl IpcSpill {
    fn new(dir: &Path, name: &str) -> anyhow::Result<Self> {
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}.segments-{}-", std::process::id()))
            .tempdir_in(dir)
            .with_context(|| {
                format!(
                    "cannot create a temporary directory for the snapshot in {}",
                    dir.display()
                )
            })?;
        crate::interrupt::register(temp.path().to_owned());
        Ok(Self {
            dir: Some(temp),
            memory_budget: spill_after_bytes()?,
            expected: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// The number of messages the read will return: with it, [`SegmentSpill::keep`] tells
    /// a short snapshot from a long one by its first segments.
    pub(crate) fn expect(&self, messages: usize) {
        self.expected
            .store(messages, std::sync::atomic::Ordering::Relaxed);
    }

    fn path(&self, id: u64) -> truthound_polars::Result<PathBuf> {
        match &self.dir {
            Some(dir) => Ok(dir.path().join(format!("segment-{id}.arrow"))),
            None => Err(sink_error("the segments' directory is gone")),
        }
    }
}

impl Drop for IpcSpill {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_owned();
            crate::interrupt::settle(&path, || drop(dir));
        }
    }
}

impl SegmentSpill for IpcSpill {
    fn store(&self, id: u64, frame: &mut DataFrame) -> truthound_polars::Result<()> {
        let path = self.path(id)?;
        let file = File::create(&path)
            .map_err(|e| sink_error(format!("cannot write {}: {e}", path.display())))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        IpcWriter::new(&mut out).finish(frame)?;
        out.flush()
            .map_err(|e| sink_error(format!("cannot write {}: {e}", path.display())))?;
        Ok(())
    }

    fn load(&self, id: u64) -> truthound_polars::Result<DataFrame> {
        let path = self.path(id)?;
        let file = File::open(&path)
            .map_err(|e| sink_error(format!("cannot read {}: {e}", path.display())))?;
        let frame = IpcReader::new(file).finish()?;
        // Its space is free as soon as it is in memory.
        let _ = std::fs::remove_file(&path);
        Ok(frame)
    }

    /// Keeps the segments of a snapshot whose frame, at this segment's bytes per row, takes
    /// the budget or less, and no more than the budget in all.
    fn keep(&self, kept: usize, frame: &DataFrame) -> bool {
        let expected = self.expected.load(std::sync::atomic::Ordering::Relaxed);
        let size = frame.estimated_size();
        let projected = (size / frame.height().max(1)).saturating_mul(expected);
        expected > 0
            && projected <= self.memory_budget
            && kept.saturating_add(size) <= self.memory_budget
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
