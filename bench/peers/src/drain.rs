//! The bounded read: every partition of a topic, from its low watermark to the high watermark
//! captured at the start, with librdkafka's `BaseConsumer` configured for bulk reads.

use std::io::Cursor;
use std::time::{Duration, Instant};

use polars::prelude::{JsonFormat, JsonReader, SerReader};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

/// How long metadata and watermark requests may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest a whole read may take: a bound, so that a broken broker fails the benchmark
/// instead of hanging it.
const READ_TIMEOUT: Duration = Duration::from_secs(900);

/// What a bare drain read.
pub(crate) struct Drained {
    pub(crate) messages: usize,
    /// Bytes of values.
    pub(crate) bytes: usize,
}

/// What the read into Polars gave.
pub(crate) struct Framed {
    pub(crate) messages: usize,
    pub(crate) rows: usize,
    pub(crate) columns: usize,
}

/// Reads the whole topic and touches every value (its length is summed, so nothing is optimised
/// away).
pub(crate) fn drain(broker: &str, topic: &str) -> crate::Result<Drained> {
    let mut drained = Drained {
        messages: 0,
        bytes: 0,
    };
    read(broker, topic, |value| {
        drained.messages += 1;
        drained.bytes += value.len();
    })?;
    Ok(drained)
}

/// Reads the whole topic, joins the values with newlines and reads them with Polars' NDJSON
/// reader into a DataFrame.
pub(crate) fn to_polars(broker: &str, topic: &str) -> crate::Result<Framed> {
    let mut buffer = Vec::new();
    let mut messages = 0;
    read(broker, topic, |value| {
        messages += 1;
        buffer.extend_from_slice(value);
        buffer.push(b'\n');
    })?;
    let frame = JsonReader::new(Cursor::new(buffer))
        .with_json_format(JsonFormat::JsonLines)
        .finish()?;
    Ok(Framed {
        messages,
        rows: frame.height(),
        columns: frame.width(),
    })
}

/// Assigns every partition of `topic` from its low watermark and calls `visit` with each value
/// below the high watermark captured before the read.
fn read(broker: &str, topic: &str, mut visit: impl FnMut(&[u8])) -> crate::Result<()> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker)
        // Needed by the consumer API; no group is joined (partitions are assigned) and nothing
        // is committed.
        .set("group.id", "truthound-bench-peers")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        // Bulk reads: fetch again as soon as a response is in (no backoff when the local queue
        // is full, and at most 10 ms of broker-side waiting), take up to 16 MiB per partition
        // and 64 MiB per request, and let up to 1 GiB (librdkafka's maximum) and a million
        // messages queue up ahead of the application.
        .set("fetch.queue.backoff.ms", "0")
        .set("fetch.wait.max.ms", "10")
        .set("fetch.message.max.bytes", "16777216")
        .set("fetch.max.bytes", "67108864")
        .set("queued.max.messages.kbytes", "1048576")
        .set("queued.min.messages", "1000000")
        // An event when a partition's fetch position reaches the end of its log.
        .set("enable.partition.eof", "true")
        .create()?;

    let metadata = consumer.fetch_metadata(Some(topic), REQUEST_TIMEOUT)?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Err(format!("topic {topic} does not exist").into());
    };
    if let Some(err) = found.error() {
        return Err(format!("topic {topic}: {err:?}").into());
    }
    let mut ids: Vec<i32> = found.partitions().iter().map(|p| p.id()).collect();
    ids.sort_unstable();
    if ids.is_empty() {
        return Err(format!("topic {topic} has no partitions").into());
    }

    // Per partition id: the captured end, and whether the read has reached it.
    let slots = usize::try_from(ids[ids.len() - 1])? + 1;
    let mut ends = vec![0_i64; slots];
    let mut done = vec![true; slots];
    let mut assignment = TopicPartitionList::new();
    let mut remaining = 0;
    for &id in &ids {
        let (low, high) = consumer.fetch_watermarks(topic, id, REQUEST_TIMEOUT)?;
        let slot = usize::try_from(id)?;
        ends[slot] = high;
        if high > low {
            done[slot] = false;
            remaining += 1;
            assignment.add_partition_offset(topic, id, Offset::Offset(low))?;
        }
    }
    if remaining == 0 {
        return Ok(());
    }
    consumer.assign(&assignment)?;

    let deadline = Instant::now() + READ_TIMEOUT;
    while remaining > 0 {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                let slot = usize::try_from(message.partition())?;
                let offset = message.offset();
                if done[slot] || offset >= ends[slot] {
                    // Produced after the read began: not part of it.
                    continue;
                }
                visit(message.payload().unwrap_or_default());
                if offset + 1 >= ends[slot] {
                    done[slot] = true;
                    remaining -= 1;
                }
            }
            // The fetch position reached the log's end, which is at or past the captured end:
            // every message before it has been delivered (transaction markers can end a log).
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                let slot = usize::try_from(partition)?;
                if !done[slot] {
                    done[slot] = true;
                    remaining -= 1;
                }
            }
            Some(Err(err)) => return Err(format!("reading {topic}: {err}").into()),
            None if Instant::now() >= deadline => {
                return Err(format!(
                    "reading {topic}: {remaining} partitions not at their end after {} s",
                    READ_TIMEOUT.as_secs()
                )
                .into());
            }
            None => {}
        }
    }
    Ok(())
}
