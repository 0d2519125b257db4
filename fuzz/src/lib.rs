//! What the column targets share: turning fuzz input into messages and building a frame from
//! them, as a source does.
//!
//! Input: a flag byte, a separator byte, then messages separated by that separator (so a seed
//! picks a separator its payloads do not contain). An empty message is a tombstone. Flags:
//! - bit 0: the first byte of each message is the length of its key, the rest its value; the
//!   key column is included;
//! - bits 1-2: the key deserializer: string, json, bytes (3: string);
//! - bit 3: the metadata columns (topic, partition, offset, timestamp);
//! - bit 4: a header per message (its key bytes, or none), and the headers column;
//! - bit 5: `on_malformed = error` instead of skip;
//! - bit 6: build through [`ParallelFrameBuilder`] in segments of 2 messages, so frames are
//!   stacked with their types reconciled, instead of one [`MessageFrameBuilder`].

#![cfg(feature = "columns")]

use std::sync::Arc;

use bytes::Bytes;
use truthound_polars::{MessageFrameBuilder, ParallelFrameBuilder, Snapshot};
use truthound_streaming_core::{
    KeyDeserializer, MessageDeserializer, OnMalformed, RawMessage, StreamingDataSourceConfig,
};

/// At most this many messages per input, so that one execution stays fast.
const MAX_MESSAGES: usize = 1024;

const KEY: u8 = 1;
const METADATA: u8 = 1 << 3;
const HEADERS: u8 = 1 << 4;
const ON_MALFORMED_ERROR: u8 = 1 << 5;
const PARALLEL: u8 = 1 << 6;

/// Builds a frame from the messages in `data` with `deserializer` and checks what the builder
/// promises of a frame it returns. A panic is a finding; an `Err` is not.
pub fn build_frame(data: &[u8], deserializer: Arc<dyn MessageDeserializer>) {
    let [flags, separator, body @ ..] = data else {
        return;
    };
    let messages = messages(*flags, *separator, body);
    let config = config(*flags);
    let built = if flags & PARALLEL != 0 {
        futures::executor::block_on(async {
            let mut builder =
                ParallelFrameBuilder::new(&config, deserializer, 1).with_segment_messages(2);
            builder.push_batch(messages.clone()).await?;
            builder.finish()
        })
    } else {
        let mut builder = MessageFrameBuilder::new(&config, deserializer);
        builder
            .push_batch(&messages)
            .and_then(|()| builder.finish_snapshot())
    };
    if let Ok(snapshot) = built {
        check(&snapshot, &messages);
    }
}

fn check(snapshot: &Snapshot, messages: &[RawMessage]) {
    let report = &snapshot.report;
    assert_eq!(
        snapshot.frame.height(),
        report.rows,
        "frame height against rows"
    );
    assert_eq!(report.messages_seen(), messages.len(), "messages seen");
    let tombstones = messages.iter().filter(|m| m.is_tombstone()).count();
    assert_eq!(report.tombstones, tombstones, "tombstones");
    // The schema walks every column's type, as a report does.
    let _ = snapshot.schema().to_string();
}

fn config(flags: u8) -> StreamingDataSourceConfig {
    let key_deserializer = match (flags >> 1) & 3 {
        1 => KeyDeserializer::Json,
        2 => KeyDeserializer::Bytes,
        _ => KeyDeserializer::String,
    };
    StreamingDataSourceConfig::default()
        .with_include_key(flags & KEY != 0)
        .with_key_deserializer(key_deserializer)
        .with_include_metadata(flags & METADATA != 0)
        .with_include_headers(flags & HEADERS != 0)
        .with_on_malformed(if flags & ON_MALFORMED_ERROR != 0 {
            OnMalformed::Error
        } else {
            OnMalformed::Skip
        })
}

fn messages(flags: u8, separator: u8, body: &[u8]) -> Vec<RawMessage> {
    let topic: Arc<str> = Arc::from("fuzz");
    body.split(|&b| b == separator)
        .take(MAX_MESSAGES)
        .enumerate()
        .map(|(offset, part)| {
            let offset = offset as i64;
            let (key, value) = match part.split_first() {
                Some((&len, rest)) if flags & KEY != 0 => {
                    let (key, value) = rest.split_at(usize::from(len).min(rest.len()));
                    (Some(Bytes::copy_from_slice(key)), value)
                }
                _ => (None, part),
            };
            let value = (!value.is_empty()).then(|| Bytes::copy_from_slice(value));
            let mut message = RawMessage::new(Arc::clone(&topic), 0, offset, value)
                .with_timestamp(1_700_000_000_000 + offset);
            if flags & HEADERS != 0 {
                message = message.with_header("trace", key.clone());
            }
            message.key = key;
            message
        })
        .collect()
}
