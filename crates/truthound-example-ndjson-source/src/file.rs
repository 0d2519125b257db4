//! [`NdjsonFileSource`]: a streaming source over a newline-delimited file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream;
use truthound_streaming_core::{
    BaseStreamingDataSource, Capabilities, MessageDeserializer, MessageStream, RawMessage, Result,
    StreamingDataSourceConfig, StreamingDataSourceError,
};

/// A bounded streaming source over an NDJSON file: one record per non-blank line.
///
/// The topic is the file name, every record is in partition 0, and the offset is the line's
/// 0-based number (blank lines make no record but still count, so an offset points at the line
/// in an editor, minus one). Records have no key, timestamp or headers. Values are decoded with
/// the built-in deserializer for the configured `deserializer_type` (JSON by default).
///
/// The file is read once, on [`connect`](BaseStreamingDataSource::connect) or the first read:
/// that content is the snapshot, so a schema sample and a later full read see the same records
/// even if the file grows. Lines are zero-copy slices of that buffer.
pub struct NdjsonFileSource {
    path: PathBuf,
    name: String,
    topic: Arc<str>,
    config: StreamingDataSourceConfig,
    deserializer: Arc<dyn MessageDeserializer>,
    batch_size: usize,
    snapshot: Option<Bytes>,
}

impl NdjsonFileSource {
    /// A source over the file at `path` (not opened yet).
    ///
    /// # Errors
    /// An invalid configuration, or a `deserializer_type` without a built-in deserializer (Avro).
    pub fn new(path: impl AsRef<Path>, config: StreamingDataSourceConfig) -> Result<Self> {
        config.validate()?;
        let deserializer = truthound_json::deserializer_for(config.deserializer_type)?;
        let path = path.as_ref().to_path_buf();
        let topic: Arc<str> = path
            .file_name()
            .map_or_else(|| "ndjson".into(), |n| n.to_string_lossy().into());
        Ok(Self {
            name: format!("file://{}", path.display()),
            path,
            topic,
            config,
            deserializer,
            batch_size: 1000,
            snapshot: None,
        })
    }

    /// Sets how many records each batch holds (at least 1; default 1000).
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Replaces the value deserializer (for formats without a built-in one).
    #[must_use]
    pub fn with_deserializer(mut self, deserializer: Arc<dyn MessageDeserializer>) -> Self {
        self.deserializer = deserializer;
        self
    }
}

#[async_trait]
impl BaseStreamingDataSource for NdjsonFileSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn config(&self) -> &StreamingDataSourceConfig {
        &self.config
    }

    fn value_deserializer(&self) -> Arc<dyn MessageDeserializer> {
        Arc::clone(&self.deserializer)
    }

    async fn connect(&mut self) -> Result<()> {
        if self.snapshot.is_none() {
            let data = tokio::fs::read(&self.path).await.map_err(|e| {
                StreamingDataSourceError::Connection {
                    message: e.to_string(),
                    servers: vec![self.path.display().to_string()],
                }
            })?;
            self.snapshot = Some(Bytes::from(data));
        }
        Ok(())
    }

    async fn close(&mut self) -> Result<()> {
        self.snapshot = None;
        Ok(())
    }

    async fn read_messages(&mut self, limit: usize) -> Result<MessageStream<'_>> {
        self.connect().await?;
        let data = self.snapshot.clone().unwrap_or_default();
        let lines = Lines {
            data,
            pos: 0,
            line: 0,
            left: limit.min(self.config.max_messages),
            topic: Arc::clone(&self.topic),
            batch_size: self.batch_size,
        };
        Ok(stream::iter(lines).boxed())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::NONE.with_offsets(true)
    }
}

/// Cuts a buffer into batches of line records.
struct Lines {
    data: Bytes,
    pos: usize,
    line: i64,
    left: usize,
    topic: Arc<str>,
    batch_size: usize,
}

impl Iterator for Lines {
    type Item = Result<Vec<RawMessage>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut batch = Vec::with_capacity(self.batch_size.min(self.left));
        while batch.len() < self.batch_size && self.left > 0 && self.pos < self.data.len() {
            let rest = &self.data[self.pos..];
            let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let mut end = self.pos + len;
            if end > self.pos && self.data[end - 1] == b'\r' {
                end -= 1;
            }
            let value = self.data.slice(self.pos..end);
            self.pos += len + 1;
            let line = self.line;
            self.line += 1;
            if value.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            batch.push(RawMessage::new(
                Arc::clone(&self.topic),
                0,
                line,
                Some(value),
            ));
            self.left -= 1;
        }
        (!batch.is_empty()).then_some(Ok(batch))
    }
}
