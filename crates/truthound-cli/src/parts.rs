//! Plans and their parts: `truthound plan`, `truthound snapshot --plan P --share K -o DIR/`, and
//! the checks of a directory of parts that `truthound check DIR/` runs first.
//!
//! Share `K` of an `N`-share plan writes `DIR/part-K-of-N.parquet` and, once that file is in
//! place, its manifest `DIR/part-K-of-N.json`: the plan's id, the share's ranges, the rows, the
//! messages that could not be decoded (partition, offset, reason), and the part's size and
//! checksum. Both are written to a temporary file and renamed, so a worker that is killed
//! leaves the previous part (or none), and a share run again replaces its part with the same
//! content.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use truthound_kafka::{KafkaDataSource, OffsetRange, SnapshotPlan};

use crate::commands::SnapshotArgs;
use crate::output::{Destination, OutputFormat};
use crate::source::{SourceArgs, write_snapshot};

/// The manifest format's version, its `truthound_part` field.
const MANIFEST_VERSION: u64 = 1;

/// The most shares a plan has.
const MAX_SHARES: usize = truthound_kafka::MAX_SHARES;

/// Flags of `truthound plan`.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    /// How many shares the snapshot is split into: one per worker (a Kubernetes Indexed Job's
    /// `completions`).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) shares: u32,
    /// The plan file; `-` for stdout.
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    pub(crate) output: PathBuf,
    /// Also write the plan's offsets as Spark's Kafka source options, to this file:
    /// `{"assign": ..., "startingOffsets": ..., "endingOffsets": ...}`.
    #[arg(long, value_name = "FILE")]
    pub(crate) spark_offsets: Option<PathBuf>,
}

/// `truthound plan`: connects once, captures each partition's end as a snapshot does, and
/// writes the plan.
pub(crate) async fn plan(args: &PlanArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    // The metadata columns go into every part: they locate check samples and order the union.
    let config = args.source.config(true)?;
    let mut source = KafkaDataSource::new(config)?;
    let plan = SnapshotPlan::capture(&mut source, args.shares as usize).await?;
    if args.output.as_os_str() == "-" {
        crate::emit(&plan.to_json())?;
    } else {
        write_atomically(&args.output, plan.to_json().as_bytes())?;
    }
    if let Some(path) = &args.spark_offsets {
        let (starting, ending) = plan.spark_offsets();
        let text = serde_json::to_string_pretty(&json!({
            "assign": plan.spark_assign(),
            "startingOffsets": starting,
            "endingOffsets": ending,
        }))? + "\n";
        write_atomically(path, text.as_bytes())?;
    }
    if !quiet {
        eprintln!(
            "planned {} offsets of {} partition{} in {} share{} (plan {}){}",
            plan.offsets(),
            plan.partitions.len(),
            if plan.partitions.len() == 1 { "" } else { "s" },
            plan.shares.len(),
            if plan.shares.len() == 1 { "" } else { "s" },
            plan.id(),
            if args.output.as_os_str() == "-" {
                String::new()
            } else {
                format!(" to {}", args.output.display())
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The file names of share `k` of `n`: the part and its manifest.
fn part_names(k: usize, n: usize) -> (String, String) {
    (
        format!("part-{k}-of-{n}.parquet"),
        format!("part-{k}-of-{n}.json"),
    )
}

/// `truthound snapshot --plan P --share K -o DIR/`: the share's part and manifest.
pub(crate) fn share_snapshot(
    runtime: &Runtime,
    args: &SnapshotArgs,
    plan_path: &Path,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    if args.source.url.is_some() {
        bail!("give --plan or the topic's URL, not both: the plan names the topic");
    }
    let given = args.source.reading_flags();
    if !given.is_empty() {
        bail!(
            "{} with --plan: what a share reads and how is the plan's; make the plan with them",
            given.join(", ")
        );
    }
    if args
        .output_format
        .is_some_and(|f| f != OutputFormat::Parquet)
    {
        bail!("a share's part is Parquet: remove --output-format");
    }
    let text = std::fs::read_to_string(plan_path)
        .with_context(|| format!("cannot read the plan {}", plan_path.display()))?;
    let plan = SnapshotPlan::from_json(&text)
        .with_context(|| format!("{} is not a usable plan", plan_path.display()))?;
    let n = plan.shares.len();
    let Some(k) = args.share else {
        bail!(
            "--plan needs the share to read: --share K (0 to {}), or JOB_COMPLETION_INDEX in \
             the environment (a Kubernetes Indexed Job sets it)",
            n - 1
        );
    };
    let mut config = plan.share_config(k)?;
    if !args.columns.is_empty() {
        config = config.with_columns(args.columns.clone());
    }
    let config = args.source.with_credentials(config)?;
    let prefix = config.streaming.metadata_prefix.clone();
    // On an object store, the part is written to a local directory first and uploaded whole.
    let output = args.output.to_string_lossy().into_owned();
    let remote = crate::store::is_remote(&output)
        .then(|| crate::store::Remote::open(&output))
        .transpose()?;
    let staging = remote
        .as_ref()
        .map(|_| crate::store::staging("the part"))
        .transpose()?;
    let dir = staging.as_ref().map_or(args.output.as_path(), |t| t.path());
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    let (part_name, manifest_name) = part_names(k, n);
    let part = dir.join(&part_name);

    let destination = Destination::open(&part)?;
    let spill = destination.spill()?;
    let mut sink = destination.sink(OutputFormat::Parquet)?;
    let written = runtime
        .block_on(write_snapshot(config, quiet, spill.clone(), &mut sink))
        .map(|report| (report, sink.rows()));
    drop(spill);
    let Some((report, rows)) = destination.complete(sink, written)? else {
        bail!("{} could not be written", part.display());
    };
    let (bytes, checksum) = file_checksum(&part)?;
    let skipped: Vec<Value> = report
        .skipped
        .iter()
        .map(|s| json!({"partition": s.partition, "offset": s.offset, "reason": s.reason}))
        .collect();
    let json_text: Vec<String> = report.notes.iter().map(|n| n.path.join(".")).collect();
    let manifest = json!({
        "truthound_part": MANIFEST_VERSION,
        "plan_id": plan.id(),
        "topic": plan.topic,
        "topic_id": plan.topic_id,
        "share": k,
        "shares": n,
        "ranges": ranges_json(&plan.shares[k]),
        "file": part_name,
        "rows": rows,
        "tombstones": report.tombstones,
        "skipped": skipped,
        "json_text_columns": json_text,
        "metadata_prefix": prefix,
        "bytes": bytes,
        "fnv1a64": format!("{checksum:016x}"),
    });
    let manifest = serde_json::to_string_pretty(&manifest)? + "\n";
    let written_to = match &remote {
        // The manifest goes last: it names a part that is complete.
        Some(remote) => {
            runtime.block_on(async {
                remote.upload(&part, &part_name).await?;
                remote.put(&manifest_name, manifest.into_bytes()).await
            })?;
            remote.url_of(&part_name)
        }
        None => {
            write_atomically(&dir.join(&manifest_name), manifest.as_bytes())?;
            part.display().to_string()
        }
    };
    if !quiet {
        eprintln!(
            "share {k} of {n}: wrote {rows} rows to {written_to}{}",
            crate::commands::skipped_note(&report)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn ranges_json(ranges: &[OffsetRange]) -> Vec<Value> {
    ranges
        .iter()
        .map(|r| json!({"partition": r.partition, "start": r.start, "end": r.end}))
        .collect()
}

/// Writes `bytes` to `path` through a temporary file beside it, renamed when complete.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".truthound.tmp-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write {}", path.display()))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    temp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The size and FNV-1a (64-bit) checksum of a file.
fn file_checksum(path: &Path) -> anyhow::Result<(u64, u64)> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut size = 0_u64;
    let mut buf = vec![0_u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            return Ok((size, hash));
        }
        size += n as u64;
        for byte in &buf[..n] {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The parts of a directory, verified: every share of one plan, each file as its manifest
/// says, the ranges without overlap.
#[derive(Debug, Clone)]
pub struct Parts {
    /// The topic.
    pub topic: String,
    /// The part files, in share order.
    pub files: Vec<PathBuf>,
    /// The rows of all parts.
    pub rows: u64,
    /// Messages that could not be decoded: partition, offset, reason.
    pub skipped: Vec<(i32, i64, String)>,
    /// Tombstones (messages without a value).
    pub tombstones: u64,
    /// Columns kept as JSON text in some part.
    pub json_text_columns: Vec<String>,
    /// The prefix of the parts' metadata columns.
    pub metadata_prefix: String,
}

/// Verifies the parts in `dir` (see [`verify_parts`]), reads them as one frame and checks it
/// with `options`, the messages the workers could not decode included as the `decodable`
/// issue.
///
/// Only the columns the checks read (with the metadata columns, which locate the samples) are
/// read from the parts, when the checks name their columns. When the parts agree on the type
/// of every column they share (the usual case), they are scanned lazily as one query, which
/// reads only those columns; otherwise (a share inferred another type for a field) they are
/// read and stacked as the engine stacks its segments.
///
/// # Errors
/// What [`verify_parts`] finds wrong, a part that cannot be read, and the checks' errors.
pub fn check_parts(
    dir: &Path,
    options: truthound_checks::CheckOptions,
) -> anyhow::Result<(truthound_checks::Report, Parts)> {
    let parts = verify_parts(dir)?;
    let needed = options.needed_columns();
    let messages = parts.rows + parts.skipped.len() as u64 + parts.tombstones;
    let mut decoding = truthound_checks::Decoding::new(messages);
    for (partition, offset, reason) in &parts.skipped {
        decoding = decoding.with_undecodable(*partition, *offset, reason);
    }
    let options = options
        .with_metadata_prefix(parts.metadata_prefix.clone())
        .with_decoding(decoding);
    let mut json_text_columns = parts.json_text_columns.clone();
    // Polars' in-memory engine for both: on 2M events in 8 parts the streaming engine took 4 to
    // 6 times as long for the checks' aggregates, and held no less.
    let frame = match scan_agreeing(&parts, needed.as_deref())? {
        Some(scan) => scan,
        None => {
            let stacked = stack_parts(&parts, needed.as_deref())?;
            json_text_columns.extend(stacked.report.notes.iter().map(|n| n.path.join(".")));
            polars::prelude::IntoLazy::lazy(stacked.frame)
        }
    };
    json_text_columns.sort();
    json_text_columns.dedup();
    let report =
        truthound_checks::check(frame, &options.with_json_text_columns(json_text_columns))?;
    Ok((report, parts))
}

/// Whether a part's column `name` is read: a metadata column, or one the checks need.
fn wanted(name: &str, prefix: &str, needed: Option<&[String]>) -> bool {
    name.starts_with(prefix) || needed.is_none_or(|n| n.iter().any(|c| c == name))
}

/// The parts as one lazy scan, when they agree on every column's type (a column of only nulls,
/// or one a part lacks, agrees with any type); `None` when they do not.
fn scan_agreeing(
    parts: &Parts,
    needed: Option<&[String]>,
) -> anyhow::Result<Option<polars::prelude::LazyFrame>> {
    use polars::prelude::{
        DataType, Expr, LazyFrame, NULL, ParquetReader, PlRefPath, PlSmallStr, ScanArgsParquet,
        Schema, SchemaExt as _, SerReader as _, UnionArgs, col, concat, lit,
    };
    let mut columns: Vec<(PlSmallStr, DataType)> = Vec::new();
    let mut schemas = Vec::with_capacity(parts.files.len());
    for file in &parts.files {
        let arrow = ParquetReader::new(
            std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?,
        )
        .schema()
        .with_context(|| format!("cannot read {}", file.display()))?;
        let schema = Schema::from_arrow_schema(&arrow);
        for (name, dtype) in schema.iter() {
            if !wanted(name, &parts.metadata_prefix, needed) {
                continue;
            }
            match columns.iter_mut().find(|(n, _)| n == name) {
                None => columns.push((name.clone(), dtype.clone())),
                Some((_, known)) if *known == DataType::Null => *known = dtype.clone(),
                Some((_, known)) if known == dtype || *dtype == DataType::Null => {}
                Some(_) => return Ok(None),
            }
        }
        schemas.push(schema);
    }
    let mut scans = Vec::with_capacity(parts.files.len());
    for (file, schema) in parts.files.iter().zip(&schemas) {
        let path = PlRefPath::try_from_path(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let scan = LazyFrame::scan_parquet(path, ScanArgsParquet::default())
            .with_context(|| format!("cannot read {}", file.display()))?;
        // Every part gets every column, in one order, of one type.
        let exprs: Vec<Expr> = columns
            .iter()
            .map(|(name, dtype)| match schema.get(name) {
                Some(t) if t == dtype => col(name.clone()),
                Some(_) => col(name.clone()).cast(dtype.clone()),
                None => lit(NULL).cast(dtype.clone()).alias(name.clone()),
            })
            .collect();
        scans.push(scan.select(exprs));
    }
    // In share order: samples come first from the first shares, as in one snapshot.
    Ok(Some(concat(scans, UnionArgs::default())?))
}

/// The parts read and stacked as the engine stacks its segments: each share inferred its own
/// types (a field may be integers in one and floats in another, and mixed types become JSON
/// text).
fn stack_parts(
    parts: &Parts,
    needed: Option<&[String]>,
) -> anyhow::Result<truthound_polars::Snapshot> {
    use polars::prelude::SerReader as _;
    let mut snapshots = Vec::with_capacity(parts.files.len());
    let mut metadata: Vec<String> = Vec::new();
    for file in &parts.files {
        let mut reader = polars::prelude::ParquetReader::new(
            std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?,
        );
        if needed.is_some() {
            let schema = reader
                .schema()
                .with_context(|| format!("cannot read {}", file.display()))?;
            // A part may lack a field (an empty share, one whose messages never had it).
            let columns = schema
                .iter_names()
                .filter(|n| wanted(n, &parts.metadata_prefix, needed))
                .map(ToString::to_string)
                .collect();
            reader = reader.with_columns(Some(columns));
        }
        let frame = reader
            .finish()
            .with_context(|| format!("cannot read {}", file.display()))?;
        for name in frame.get_column_names() {
            if name.starts_with(&parts.metadata_prefix)
                && !metadata.iter().any(|m| m == name.as_str())
            {
                metadata.push(name.to_string());
            }
        }
        snapshots.push(truthound_polars::Snapshot {
            report: truthound_polars::DecodeReport {
                rows: frame.height(),
                ..Default::default()
            },
            frame,
        });
    }
    Ok(truthound_polars::stack_snapshots(snapshots, &metadata)?)
}

/// [`check_parts`] of a directory, or of the parts under an object store URL (`s3://…`,
/// `gs://…`, `az://…`: downloaded into a temporary directory first, with the store's usual
/// environment variables for credentials). Must not be called from within a tokio runtime.
///
/// # Errors
/// What [`check_parts`] finds, a URL that names no usable store, and what the store refuses.
pub fn check_parts_at(
    location: &str,
    options: truthound_checks::CheckOptions,
) -> anyhow::Result<(truthound_checks::Report, Parts)> {
    if !crate::store::is_remote(location) {
        return check_parts(Path::new(location), options);
    }
    let remote = crate::store::Remote::open(location)?;
    let local = crate::store::staging("the parts")?;
    let found = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?
        .block_on(remote.download_parts(local.path()))?;
    if found == 0 {
        bail!(
            "{} holds no parts (part-K-of-N.parquet and .json): run the plan's shares with \
             -o {location}",
            remote.url_of("")
        );
    }
    let (report, mut parts) = check_parts(local.path(), options)
        .with_context(|| format!("the parts under {location}"))?;
    for file in &mut parts.files {
        if let Some(name) = file.file_name().and_then(|n| n.to_str()) {
            *file = PathBuf::from(remote.url_of(name));
        }
    }
    Ok((report, parts))
}

/// One manifest, as read.
struct Manifest {
    name: String,
    plan_id: String,
    topic: String,
    share: usize,
    shares: usize,
    ranges: Vec<OffsetRange>,
    file: String,
    rows: u64,
    tombstones: u64,
    skipped: Vec<(i32, i64, String)>,
    json_text_columns: Vec<String>,
    metadata_prefix: String,
    bytes: u64,
    checksum: String,
}

fn read_manifest(path: &Path) -> anyhow::Result<Manifest> {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("{name} is not a manifest (not JSON)"))?;
    if v.get("truthound_part").and_then(Value::as_u64) != Some(MANIFEST_VERSION) {
        bail!(
            "{name} is not a manifest of this version of truthound (truthound_part {MANIFEST_VERSION})"
        );
    }
    let missing = |key: &str| anyhow::anyhow!("manifest {name} has no {key}");
    let str_of = |key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| missing(key))
    };
    let u64_of = |key: &str| {
        v.get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| missing(key))
    };
    let ranges = v
        .get("ranges")
        .and_then(Value::as_array)
        .ok_or_else(|| missing("ranges"))?
        .iter()
        .map(|r| {
            let f = |k: &str| r.get(k).and_then(Value::as_i64);
            match (f("partition"), f("start"), f("end")) {
                (Some(p), Some(start), Some(end)) => Ok(OffsetRange {
                    partition: i32::try_from(p)?,
                    start,
                    end,
                }),
                _ => Err(anyhow::anyhow!(
                    "manifest {name} has a range without offsets"
                )),
            }
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let skipped = v
        .get("skipped")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| {
                    Some((
                        i32::try_from(s.get("partition")?.as_i64()?).ok()?,
                        s.get("offset")?.as_i64()?,
                        s.get("reason")?.as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let json_text_columns = v
        .get("json_text_columns")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Ok(Manifest {
        plan_id: str_of("plan_id")?,
        topic: str_of("topic")?,
        share: usize::try_from(u64_of("share")?)?,
        shares: usize::try_from(u64_of("shares")?)?,
        ranges,
        file: str_of("file")?,
        rows: u64_of("rows")?,
        tombstones: v.get("tombstones").and_then(Value::as_u64).unwrap_or(0),
        skipped,
        json_text_columns,
        metadata_prefix: v
            .get("metadata_prefix")
            .and_then(Value::as_str)
            .unwrap_or("_kafka_")
            .to_owned(),
        bytes: u64_of("bytes")?,
        checksum: str_of("fnv1a64")?,
        name,
    })
}

/// Reads and verifies the parts in `dir`: every share of one plan is there, each part file is
/// the one its manifest describes (size and checksum), and no two shares read the same
/// offsets. The error names what is missing, foreign or changed.
///
/// # Errors
/// As above, and a directory or manifest that cannot be read.
pub fn verify_parts(dir: &Path) -> anyhow::Result<Parts> {
    let mut manifests = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        if name.starts_with("part-") && name.ends_with(".json") {
            manifests.push(read_manifest(&path)?);
        }
    }
    if manifests.is_empty() {
        bail!(
            "{} holds no parts (part-K-of-N.json manifests): run `truthound snapshot --plan \
             PLAN --share K -o {}` for each share first",
            dir.display(),
            dir.display()
        );
    }
    manifests.sort_by_key(|m| (m.plan_id.clone(), m.share));
    let mut plans: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for m in &manifests {
        plans.entry(&m.plan_id).or_default().push(&m.name);
    }
    if plans.len() > 1 {
        let listed: Vec<String> = plans
            .iter()
            .map(|(id, names)| format!("plan {id}: {}", names.join(", ")))
            .collect();
        bail!(
            "{} holds parts of {} plans ({}): a directory holds the parts of one plan; move the \
             foreign parts out",
            dir.display(),
            plans.len(),
            listed.join("; ")
        );
    }
    let n = manifests[0].shares;
    if n == 0 || n > MAX_SHARES {
        bail!(
            "manifest {} says the plan has {n} shares: plans have 1 to {MAX_SHARES}",
            manifests[0].name
        );
    }
    if let Some(m) = manifests.iter().find(|m| m.shares != n || m.share >= n) {
        bail!(
            "manifest {} says share {} of {}, the others of {n}: it is not of this plan",
            m.name,
            m.share,
            m.shares
        );
    }
    if let Some(pair) = manifests.windows(2).find(|p| p[0].share == p[1].share) {
        bail!(
            "{} and {} are both manifests of share {}: keep the one named after it",
            pair[0].name,
            pair[1].name,
            pair[0].share
        );
    }
    if let Some(m) = manifests.iter().find(|m| {
        let (part, manifest) = part_names(m.share, n);
        m.file != part || m.name != manifest
    }) {
        bail!(
            "manifest {} of share {} names the file {:?}: a share's files are {} and {}",
            m.name,
            m.share,
            m.file,
            part_names(m.share, n).0,
            part_names(m.share, n).1
        );
    }
    let present: Vec<usize> = manifests.iter().map(|m| m.share).collect();
    let missing: Vec<String> = (0..n)
        .filter(|k| !present.contains(k))
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} lacks share{} {} of the plan's {n}: run `truthound snapshot --plan PLAN --share \
             K -o {}` for {}",
            dir.display(),
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            dir.display(),
            if missing.len() == 1 { "it" } else { "each" }
        );
    }
    // The ranges of different shares never overlap.
    let mut by_partition: BTreeMap<i32, Vec<(i64, i64, usize)>> = BTreeMap::new();
    for m in &manifests {
        for r in m.ranges.iter().filter(|r| r.end > r.start) {
            by_partition
                .entry(r.partition)
                .or_default()
                .push((r.start, r.end, m.share));
        }
    }
    for (partition, mut ranges) in by_partition {
        ranges.sort_unstable();
        for pair in ranges.windows(2) {
            if pair[1].0 < pair[0].1 {
                bail!(
                    "shares {} and {} both read partition {partition} at offset {}: the parts \
                     are not of one plan",
                    pair[0].2,
                    pair[1].2,
                    pair[1].0
                );
            }
        }
    }
    let mut files = Vec::with_capacity(n);
    for m in &manifests {
        let file = dir.join(&m.file);
        let (bytes, checksum) = file_checksum(&file).with_context(|| {
            format!("manifest {} names {}, which cannot be read", m.name, m.file)
        })?;
        if bytes != m.bytes || format!("{checksum:016x}") != m.checksum {
            bail!(
                "{} is not the file its manifest {} describes (changed, or written by another \
                 run): run its share again",
                m.file,
                m.name
            );
        }
        files.push(file);
    }
    let mut json_text_columns: Vec<String> = manifests
        .iter()
        .flat_map(|m| m.json_text_columns.iter().cloned())
        .collect();
    json_text_columns.sort();
    json_text_columns.dedup();
    let metadata_prefix = manifests[0].metadata_prefix.clone();
    Ok(Parts {
        metadata_prefix,
        topic: manifests[0].topic.clone(),
        files,
        rows: manifests.iter().map(|m| m.rows).sum(),
        skipped: manifests.iter().flat_map(|m| m.skipped.clone()).collect(),
        tombstones: manifests.iter().map(|m| m.tombstones).sum(),
        json_text_columns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_fnv1a_of_the_bytes() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("f");
        write_atomically(&path, b"a").unwrap_or_else(|e| panic!("{e}"));
        // FNV-1a 64 of "a".
        assert_eq!(
            file_checksum(&path).unwrap_or_else(|e| panic!("{e}")),
            (1, 0xaf63_dc4c_8601_ec8c)
        );
        assert_eq!(part_names(2, 10).0, "part-2-of-10.parquet");
    }
}
