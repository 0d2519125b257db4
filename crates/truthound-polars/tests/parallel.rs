//! `build_parallel` gives the same snapshot as one builder.

// Test helpers unwrap like the tests themselves (clippy.toml allows it only inside #[test]).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use polars::prelude::*;
use truthound_polars::{MessageFrameBuilder, Snapshot, build_parallel};
use truthound_streaming_core::{OnMalformed, RawMessage, StreamingDataSourceConfig};

fn sequential(config: &StreamingDataSourceConfig, msgs: &[RawMessage]) -> Snapshot {
    let mut b = MessageFrameBuilder::new(config, json());
    b.push_batch(msgs).unwrap();
    b.finish_snapshot().unwrap()
}

fn assert_same(
    config: &StreamingDataSourceConfig,
    payloads: &[String],
    threads: usize,
) -> Snapshot {
    let refs: Vec<&str> = payloads.iter().map(String::as_str).collect();
    let msgs = messages(&refs);
    let one = sequential(config, &msgs);
    let many = build_parallel(config, json(), &msgs, threads).unwrap();
    assert_eq!(one.frame.schema(), many.frame.schema());
    assert!(one.frame.equals_missing(&many.frame));
    assert_eq!(one.report, many.report);
    many
}

#[test]
fn regular_records() {
    let payloads: Vec<String> = (0..40_000)
        .map(|i| format!(r#"{{"id": {i}, "s": "x{i}", "d": {{"a": [1, {i}]}}}}"#))
        .collect();
    let config = StreamingDataSourceConfig::default().with_include_metadata(true);
    let snapshot = assert_same(&config, &payloads, 2);
    assert_eq!(snapshot.frame.column("id").unwrap().n_chunks(), 2);
}

#[test]
fn late_fields_nulls_widening_and_malformed_records() {
    let payloads: Vec<String> = (0..50_000)
        .map(|i| match i {
            _ if i % 9_999 == 0 => "{oops".to_owned(),
            0..20_000 => format!(r#"{{"n": {i}, "maybe": null}}"#),
            _ => format!(r#"{{"n": {i}.5, "maybe": "v", "late": [true]}}"#),
        })
        .collect();
    let snapshot = assert_same(&bare(), &payloads, 3);
    assert_eq!(snapshot.report.skipped.len(), 6);
    assert_eq!(names(&snapshot.frame), ["n", "maybe", "late"]);
}

#[test]
fn mixed_types_fall_back_to_one_thread() {
    let payloads: Vec<String> = (0..40_000)
        .map(|i| {
            if i < 30_000 {
                format!(r#"{{"v": {i}}}"#)
            } else {
                format!(r#"{{"v": "s{i}"}}"#)
            }
        })
        .collect();
    let snapshot = assert_same(&bare(), &payloads, 2);
    assert_eq!(
        snapshot.frame.column("v").unwrap().dtype(),
        &DataType::String
    );
    assert_eq!(snapshot.frame.column("v").unwrap().n_chunks(), 1);
}

#[test]
fn error_mode_reports_the_first_malformed_record() {
    let payloads: Vec<String> = (0..40_000)
        .map(|i| {
            if i == 25_000 || i == 39_000 {
                "x".into()
            } else {
                format!("{{\"i\": {i}}}")
            }
        })
        .collect();
    let refs: Vec<&str> = payloads.iter().map(String::as_str).collect();
    let config = bare().with_on_malformed(OnMalformed::Error);
    let err = build_parallel(&config, json(), &messages(&refs), 4).unwrap_err();
    assert_eq!(err.as_deserialization().map(|d| d.offset), Some(25_000));
}

#[test]
fn small_inputs_use_one_thread() {
    let payloads: Vec<String> = (0..100).map(|i| format!("{{\"i\": {i}}}")).collect();
    let snapshot = assert_same(&bare(), &payloads, 8);
    assert_eq!(snapshot.frame.column("i").unwrap().n_chunks(), 1);
}

// ----- ParallelFrameBuilder: batches as they arrive, segments per partition -----

use truthound_polars::ParallelFrameBuilder;

/// `n` messages per partition for `partitions` partitions; `payload(partition, offset)`.
fn partitioned(partitions: i32, n: i64, payload: impl Fn(i32, i64) -> String) -> Vec<RawMessage> {
    let mut out = Vec::new();
    for o in 0..n {
        for p in 0..partitions {
            out.push(RawMessage::new(
                "t",
                p,
                o,
                Some(payload(p, o).into_bytes().into()),
            ));
        }
    }
    out
}

/// What one builder makes of the messages in (partition, offset) order.
fn reference(config: &StreamingDataSourceConfig, msgs: &[RawMessage]) -> Snapshot {
    let mut sorted = msgs.to_vec();
    sorted.sort_by_key(|m| (m.partition, m.offset));
    sequential(config, &sorted)
}

/// Pushes `msgs` (in arrival order) in batches of `batch` messages.
fn streamed(
    config: &StreamingDataSourceConfig,
    msgs: &[RawMessage],
    batch: usize,
    segment: usize,
    threads: usize,
) -> truthound_polars::Result<Snapshot> {
    futures::executor::block_on(async {
        let mut b =
            ParallelFrameBuilder::new(config, json(), threads).with_segment_messages(segment);
        for chunk in msgs.chunks(batch) {
            b.push_batch(chunk.to_vec()).await?;
        }
        b.finish()
    })
}

/// Segments kept in a map, each stored and loaded once, once `budget` bytes of them wait in
/// the builder's memory (none with a budget of 0).
#[derive(Default)]
struct MapSpill {
    frames: std::sync::Mutex<std::collections::HashMap<u64, DataFrame>>,
    stored: std::sync::atomic::AtomicUsize,
    budget: usize,
}

impl truthound_polars::SegmentSpill for MapSpill {
    fn store(&self, id: u64, frame: &mut DataFrame) -> truthound_polars::Result<()> {
        let old = self.frames.lock().unwrap().insert(id, frame.clone());
        assert!(old.is_none(), "segment {id} stored twice");
        self.stored
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    fn load(&self, id: u64) -> truthound_polars::Result<DataFrame> {
        let frame = self.frames.lock().unwrap().remove(&id);
        Ok(frame.unwrap_or_else(|| panic!("segment {id} not stored, or loaded twice")))
    }

    fn keep(&self, kept: usize, frame: &DataFrame) -> bool {
        self.budget > 0 && kept + frame.estimated_size() <= self.budget
    }
}

/// A sink that checks every chunk against the schema it was started with, and stacks them.
#[derive(Default)]
struct Collect {
    schema: Option<Schema>,
    frame: Option<DataFrame>,
    chunks: usize,
}

impl truthound_polars::FrameSink for Collect {
    fn start(&mut self, schema: &Schema) -> truthound_polars::Result<()> {
        assert!(self.schema.is_none(), "started twice");
        self.schema = Some(schema.clone());
        Ok(())
    }

    fn write(&mut self, chunk: DataFrame) -> truthound_polars::Result<()> {
        assert_eq!(Some(&**chunk.schema()), self.schema.as_ref());
        self.chunks += 1;
        match &mut self.frame {
            None => self.frame = Some(chunk),
            Some(f) => {
                f.vstack_mut(&chunk).unwrap();
            }
        }
        Ok(())
    }
}

/// As [`streamed`], with the segments spilled beyond `budget` bytes and the snapshot written
/// to a sink; returns the segments spilled and written.
fn streamed_into(
    config: &StreamingDataSourceConfig,
    msgs: &[RawMessage],
    (batch, segment, threads): (usize, usize, usize),
    budget: usize,
) -> truthound_polars::Result<(Snapshot, usize, usize)> {
    futures::executor::block_on(async {
        let spill = std::sync::Arc::new(MapSpill {
            budget,
            ..MapSpill::default()
        });
        let mut b = ParallelFrameBuilder::new(config, json(), threads)
            .with_segment_messages(segment)
            .with_spill(spill.clone());
        for chunk in msgs.chunks(batch) {
            b.push_batch(chunk.to_vec()).await?;
        }
        let mut sink = Collect::default();
        let report = b.finish_into(&mut sink)?;
        assert!(
            spill.frames.lock().unwrap().is_empty(),
            "segments left over"
        );
        let stored = spill.stored.load(std::sync::atomic::Ordering::Relaxed);
        // Each segment is one chunk; nothing pushed is one empty chunk.
        assert!(sink.chunks >= stored.max(1));
        Ok((
            Snapshot {
                frame: sink.frame.unwrap_or_default(),
                report,
            },
            stored,
            sink.chunks,
        ))
    })
}

fn assert_streamed_same(config: &StreamingDataSourceConfig, msgs: &[RawMessage]) -> Snapshot {
    let one = reference(config, msgs);
    let mut first: Option<Snapshot> = None;
    for (batch, segment, threads) in [(1, 7, 2), (5, 16, 3), (64, 1000, 1), (13, 3, 4)] {
        // Spilled and written chunk by chunk: the same frame whether every segment is
        // spilled, some are, or none.
        let shape = (batch, segment, threads);
        let half = one.frame.estimated_size() / 2;
        for budget in [0, half, usize::MAX] {
            let (written, stored, chunks) = streamed_into(config, msgs, shape, budget).unwrap();
            assert!(
                one.frame.equals_missing(&written.frame),
                "spilled over {budget} B {batch}/{segment}/{threads}:\n{}\n{}",
                one.frame,
                written.frame
            );
            assert_eq!(one.frame.schema(), written.frame.schema());
            assert_eq!(
                one.report, written.report,
                "spilled over {budget} B {batch}/{segment}/{threads}"
            );
            match budget {
                0 => {
                    assert!(msgs.is_empty() || stored >= msgs.len().div_ceil(segment));
                    assert_eq!(chunks, stored.max(1));
                }
                usize::MAX => assert_eq!(stored, 0, "nothing spilled within the budget"),
                _ if chunks >= 4 => assert!(
                    stored > 0 && stored < chunks,
                    "half the frame's size spills some segments, not all: {stored} of {chunks}"
                ),
                _ => {}
            }
        }
        let many = streamed(config, msgs, batch, segment, threads).unwrap();
        assert_eq!(
            one.frame.schema(),
            many.frame.schema(),
            "{batch}/{segment}/{threads}"
        );
        assert!(
            one.frame.equals_missing(&many.frame),
            "{batch}/{segment}/{threads}:\n{}\n{}",
            one.frame,
            many.frame
        );
        assert_eq!(one.report, many.report, "{batch}/{segment}/{threads}");
        if let Some(f) = &first {
            assert!(f.frame.equals_missing(&many.frame));
        }
        first = Some(many);
    }
    first.unwrap()
}

#[test]
fn streamed_segments_reconcile_as_one_builder_would() {
    // Types that change from segment to segment: nulls then values, integers then floats,
    // struct fields and list-element fields that appear late, integers above i64::MAX.
    let msgs = partitioned(3, 60, |p, o| match (p, o) {
        (0, 0..20) => format!(r#"{{"a": null, "n": {o}, "s": {{"x": {o}}}}}"#),
        (0, _) => format!(r#"{{"a": "t{o}", "n": {o}.5, "s": {{"x": {o}, "y": true}}}}"#),
        (1, 0..30) => format!(r#"{{"n": {o}, "l": [{{"k": {o}}}]}}"#),
        (1, _) => format!(
            r#"{{"n": {o}, "l": [{{"k": {o}.25, "extra": "e"}}], "big": 18446744073709551615}}"#
        ),
        (_, 0..10) => "{}".to_owned(),
        _ => format!(r#"{{"late": [{o}], "n": null, "s": null}}"#),
    });
    let config = StreamingDataSourceConfig::default().with_include_metadata(true);
    let snapshot = assert_streamed_same(&config, &msgs);
    assert_eq!(snapshot.frame.height(), 180);
    let n = snapshot.frame.column("n").unwrap();
    assert_eq!(n.dtype(), &DataType::Float64);
    assert_eq!(
        snapshot.frame.column("big").unwrap().dtype(),
        &DataType::UInt64
    );
}

#[test]
fn streamed_mixed_scalars_become_json_text_as_one_builder_would() {
    let msgs = partitioned(2, 40, |p, o| match (p, o) {
        (0, 0..25) => format!(r#"{{"v": {o}, "f": 1.5}}"#),
        (0, _) => format!(r#"{{"v": "s{o}", "f": true}}"#),
        (_, 0..5) => format!(r#"{{"v": {{"deep": {o}}}}}"#),
        _ => format!(r#"{{"v": [{o}, "x"], "f": null}}"#),
    });
    let snapshot = assert_streamed_same(&bare(), &msgs);
    assert_eq!(
        snapshot.frame.column("v").unwrap().dtype(),
        &DataType::String
    );
    assert!(snapshot.report.note_for(&["v"]).is_some());
    assert!(snapshot.report.note_for(&["f"]).is_some());
}

#[test]
fn streamed_malformed_records_are_reported_in_snapshot_order() {
    let msgs = partitioned(3, 50, |p, o| {
        if (p + o as i32) % 17 == 0 {
            "{broken".to_owned()
        } else {
            format!(r#"{{"i": {o}}}"#)
        }
    });
    let snapshot = assert_streamed_same(&bare(), &msgs);
    let skipped: Vec<(i32, i64)> = snapshot
        .report
        .skipped
        .iter()
        .map(|s| (s.partition, s.offset))
        .collect();
    let mut sorted = skipped.clone();
    sorted.sort_unstable();
    assert_eq!(skipped, sorted);
    assert!(!skipped.is_empty());

    let config = bare().with_on_malformed(OnMalformed::Error);
    let err = streamed(&config, &msgs, 4, 5, 2).unwrap_err();
    assert_eq!(
        err.as_deserialization().map(|d| (d.partition, d.offset)),
        Some((0, 0))
    );
}

#[test]
fn nothing_pushed_is_an_empty_frame() {
    let snapshot = streamed(&bare(), &[], 1, 1, 2).unwrap();
    assert_eq!(snapshot.frame.shape(), (0, 0));
    assert_eq!(snapshot.report.rows, 0);
}

#[test]
fn runs_of_earlier_offsets_pushed_later_are_placed_by_offset() {
    // A read of the most recent messages that goes back for earlier offsets: partition 0's
    // offsets 40..60 come first, then 20..40, then 0..20, with partition 1 in between; types
    // change between the runs.
    let msg = |p: i32, o: i64| {
        let json = if o < 20 {
            format!(r#"{{"n": {o}, "early": true}}"#)
        } else {
            format!(r#"{{"n": {o}.5}}"#)
        };
        RawMessage::new("t", p, o, Some(json.into_bytes().into()))
    };
    let arrival: Vec<RawMessage> = (40..60)
        .map(|o| msg(0, o))
        .chain((0..30).map(|o| msg(1, o)))
        .chain((20..40).map(|o| msg(0, o)))
        .chain((30..60).map(|o| msg(1, o)))
        .chain((0..20).map(|o| msg(0, o)))
        .collect();
    let config = StreamingDataSourceConfig::default().with_include_metadata(true);
    let snapshot = assert_streamed_same(&config, &arrival);
    let offsets: Vec<i64> = snapshot
        .frame
        .column("_kafka_offset")
        .unwrap()
        .as_materialized_series()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let expected: Vec<i64> = (0..60).chain(0..60).collect();
    assert_eq!(offsets, expected);
}

/// A JSON deserializer that holds every decoding until it is let go, so that a test can keep
/// the workers busy.
struct Gate {
    open: std::sync::Mutex<bool>,
    opened: std::sync::Condvar,
    /// Decodings started.
    entered: std::sync::atomic::AtomicUsize,
}

impl Gate {
    fn release(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

impl truthound_streaming_core::MessageDeserializer for Gate {
    fn name(&self) -> &str {
        "gated json"
    }

    fn deserialize_into(
        &self,
        payload: &[u8],
        visitor: &mut dyn truthound_streaming_core::ValueVisitor,
    ) -> Result<(), truthound_streaming_core::DeserializeFailure> {
        self.entered
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
        drop(open);
        truthound_json::JSONDeserializer::new().deserialize_into(payload, visitor)
    }
}

/// Opens the gate when dropped.
struct ReleaseOnDrop(Arc<Gate>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        self.0.release();
    }
}

#[test]
fn a_busy_worker_holds_few_batches_and_push_batch_waits() {
    use futures::FutureExt;
    let gate = Arc::new(Gate {
        open: std::sync::Mutex::new(false),
        opened: std::sync::Condvar::new(),
        entered: std::sync::atomic::AtomicUsize::new(0),
    });
    let config = StreamingDataSourceConfig::default();
    let mut builder = ParallelFrameBuilder::new(&config, gate.clone(), 1);
    // Dropped before the builder (which joins its worker), so a failing assertion below does not
    // leave the worker blocked and the test hanging.
    let _release = ReleaseOnDrop(gate.clone());
    // Batches of one partition, in rising offsets, all of one segment: the worker blocks on the
    // first while the queue fills.
    let batch = |i: i64| {
        vec![RawMessage::new(
            "t",
            0,
            i,
            Some(format!(r#"{{"i": {i}}}"#).into()),
        )]
    };
    futures::executor::block_on(builder.push_batch(batch(0))).unwrap();
    let started = std::time::Instant::now();
    while gate.entered.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed().as_secs() < 30,
            "the worker never took the first batch"
        );
        std::thread::yield_now();
    }
    let mut accepted = 1;
    let waiting = loop {
        let mut push = Box::pin(builder.push_batch(batch(accepted)));
        match (&mut push).now_or_never() {
            Some(result) => {
                result.unwrap();
                accepted += 1;
                assert!(
                    accepted <= 2,
                    "{accepted} pushes done while the worker is blocked"
                );
            }
            None => break push,
        }
    };
    // One batch in the worker's hands and one in the queue; the third push puts its batch in
    // the sender's own slot and waits for the worker.
    assert_eq!(accepted, 2);
    gate.release();
    futures::executor::block_on(waiting).unwrap();
    let snapshot = builder.finish().unwrap();
    let ids: Vec<i64> = snapshot
        .frame
        .column("i")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    // Nothing was lost: the batches pushed, and the one whose push waited.
    assert_eq!(ids, [0, 1, 2]);
}
