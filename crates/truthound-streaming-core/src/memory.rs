//! [`InMemorySource`]: a source over records held in memory.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream;

use crate::config::StreamingDataSourceConfig;
use crate::deserializer::MessageDeserializer;
use crate::error::{Result, StreamingDataSourceError};
use crate::message::RawMessage;
use crate::source::{BaseStreamingDataSource, Capabilities, MessageStream};

/// A [`BaseStreamingDataSource`] over a list of records in memory, for tests, examples and
/// replaying records captured elsewhere.
///
/// It yields the records in order, in batches of [`with_batch_size`](Self::with_batch_size)
/// (default 500), at most `min(limit, max_messages)` of them. After
/// [`close`](BaseStreamingDataSource::close) reads fail with
/// [`StreamingDataSourceError::Closed`]; [`connect`](BaseStreamingDataSource::connect) reopens.
pub struct InMemorySource {
    name: String,
    config: StreamingDataSourceConfig,
    deserializer: Arc<dyn MessageDeserializer>,
    messages: Arc<[RawMessage]>,
    batch_size: usize,
    closed: bool,
    reads: usize,
}

impl InMemorySource {
    /// A source over `messages`, named `memory://{topic of the first record}`.
    pub fn new(
        config: StreamingDataSourceConfig,
        deserializer: Arc<dyn MessageDeserializer>,
        messages: impl Into<Arc<[RawMessage]>>,
    ) -> Self {
        let messages = messages.into();
        let topic = messages.first().map_or("empty", |m| &*m.topic);
        Self {
            name: format!("memory://{topic}"),
            config,
            deserializer,
            messages,
            batch_size: 500,
            closed: false,
            reads: 0,
        }
    }

    /// A source over payloads: topic `topic`, partition 0, offsets 0, 1, 2...
    pub fn from_payloads<P: Into<Bytes>>(
        topic: &str,
        config: StreamingDataSourceConfig,
        deserializer: Arc<dyn MessageDeserializer>,
        payloads: impl IntoIterator<Item = P>,
    ) -> Self {
        let topic: Arc<str> = Arc::from(topic);
        let messages: Vec<RawMessage> = payloads
            .into_iter()
            .zip(0_i64..)
            .map(|(p, offset)| RawMessage::new(Arc::clone(&topic), 0, offset, Some(p.into())))
            .collect();
        let mut source = Self::new(config, deserializer, messages);
        source.name = format!("memory://{topic}");
        source
    }

    /// Sets how many records each yielded batch holds (at least 1).
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Replaces the configuration.
    pub fn set_config(&mut self, config: StreamingDataSourceConfig) {
        self.config = config;
    }

    /// The records this source holds.
    pub fn messages(&self) -> &[RawMessage] {
        &self.messages
    }

    /// How many times [`read_messages`](BaseStreamingDataSource::read_messages) was called.
    pub fn reads(&self) -> usize {
        self.reads
    }
}

impl std::fmt::Debug for InMemorySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemorySource")
            .field("name", &self.name)
            .field("messages", &self.messages.len())
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl BaseStreamingDataSource for InMemorySource {
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
        self.closed = false;
        Ok(())
    }

    async fn close(&mut self) -> Result<()> {
        self.closed = true;
        Ok(())
    }

    async fn read_messages(&mut self, limit: usize) -> Result<MessageStream<'_>> {
        if self.closed {
            return Err(StreamingDataSourceError::Closed);
        }
        self.reads += 1;
        let n = limit.min(self.config.max_messages).min(self.messages.len());
        let messages = Arc::clone(&self.messages);
        let batch = self.batch_size;
        let batches = (0..n)
            .step_by(batch)
            .map(move |start| Ok(messages[start..(start + batch).min(n)].to_vec()));
        Ok(stream::iter(batches).boxed())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::NONE.with_offsets(true)
    }
}
