//! Filling a topic: create it, then produce a workload with librdkafka tuned for throughput.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};

use crate::workload::{Generator, Workload};

/// What was produced.
pub(crate) struct Produced {
    pub(crate) messages: usize,
    /// Bytes of values.
    pub(crate) bytes: usize,
}

/// Counts the messages whose delivery failed (librdkafka retries before it gives up).
#[derive(Default)]
struct Deliveries {
    failed: AtomicU64,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((err, _)) = result
            && self.failed.fetch_add(1, Ordering::Relaxed) == 0
        {
            eprintln!("first failed delivery: {err}");
        }
    }
}

/// Creates `topic` with `partitions` partitions and produces `messages` messages of `workload`
/// to it, message `i` to partition `i % partitions`; returns once every message is acknowledged.
pub(crate) fn fill(
    broker: &str,
    topic: &str,
    workload: Workload,
    messages: usize,
    partitions: i32,
) -> crate::Result<Produced> {
    if partitions < 1 {
        return Err("--partitions must be at least 1".into());
    }
    create_topic(broker, topic, partitions)?;

    let producer: BaseProducer<Deliveries> = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", "lz4")
        // Large batches: wait up to 50 ms to fill a 1 MB batch of up to 100,000 messages (1 MB
        // is `message.max.bytes`, which caps a batch), and let a million messages queue up.
        .set("linger.ms", "50")
        .set("batch.size", "1000000")
        .set("batch.num.messages", "100000")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .create_with_context(Deliveries::default())?;

    let started = Instant::now();
    let mut generator = Generator::new(workload);
    let mut bytes = 0;
    for i in 0..messages {
        generator.message(i);
        bytes += generator.value.len();
        let partition = i32::try_from(i % partitions as usize)?;
        let mut record = BaseRecord::to(topic)
            .partition(partition)
            .key(generator.key.as_str())
            .payload(generator.value.as_str());
        if let Some((key, value)) = generator.header() {
            record = record.headers(OwnedHeaders::new().insert(Header {
                key,
                value: Some(value),
            }));
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // The local queue is full: serve delivery reports until there is room.
                    record = back;
                    producer.poll(Duration::from_millis(10));
                }
                Err((err, _)) => return Err(format!("cannot produce message {i}: {err}").into()),
            }
        }
        if i % 10_000 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer.flush(Duration::from_secs(300))?;
    let failed = producer.context().failed.load(Ordering::Relaxed);
    if failed > 0 {
        return Err(format!("{failed} of {messages} messages were not delivered").into());
    }
    eprintln!(
        "filled {topic}: {messages} messages ({:.1} MB of values) on {partitions} partitions in \
         {:.1} s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(Produced { messages, bytes })
}

fn create_topic(broker: &str, topic: &str, partitions: i32) -> crate::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .create()?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = futures_executor::block_on(admin.create_topics([&new], &options))?;
    for result in results {
        if let Err((name, code)) = result {
            return Err(format!("cannot create topic {name}: {code}").into());
        }
    }
    Ok(())
}
