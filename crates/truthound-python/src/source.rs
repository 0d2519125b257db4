//! `NativeSource`: the Kafka source behind the Python `KafkaDataSource`, every operation a
//! blocking call (GIL released, Ctrl-C and cancellation honoured); the Python side makes the
//! awaitables.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex as StdMutex};

use futures::TryStreamExt;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tokio::sync::{Mutex, mpsc};
use truthound_kafka::{KafkaDataSource, KafkaDataSourceConfig};
use truthound_polars::{DecodeReport, MessageFrameBuilder, PolarsSourceExt};
use truthound_streaming_core::{BaseStreamingDataSource, StreamingDataSourceExt};

use crate::errors;
use crate::run::{CancelToken, block_on};
use crate::stream::{ArrowStream, report_dict};

/// The Kafka source. Shared by the operations of one Python object; they run one at a time.
#[pyclass(module = "truthound_streaming._native", frozen)]
pub struct NativeSource {
    inner: Arc<Mutex<KafkaDataSource>>,
    config: KafkaDataSourceConfig,
    last_report: Arc<StdMutex<Option<DecodeReport>>>,
}

impl NativeSource {
    fn wrap(source: KafkaDataSource) -> Self {
        Self {
            config: source.kafka_config().clone(),
            inner: Arc::new(Mutex::new(source)),
            last_report: Arc::default(),
        }
    }

    fn connect_fut(&self) -> impl Future<Output = PyResult<()>> + Send + 'static {
        let inner = self.inner.clone();
        async move {
            inner
                .lock()
                .await
                .connect()
                .await
                .map_err(errors::streaming)
        }
    }

    fn close_fut(&self) -> impl Future<Output = PyResult<()>> + Send + 'static {
        let inner = self.inner.clone();
        async move { inner.lock().await.close().await.map_err(errors::streaming) }
    }

    fn frame_fut(&self) -> impl Future<Output = PyResult<ArrowStream>> + Send + 'static {
        let (inner, last) = (self.inner.clone(), self.last_report.clone());
        async move {
            let snapshot = inner
                .lock()
                .await
                .to_polars_dataframe()
                .await
                .map_err(errors::polars)?;
            *last.lock().unwrap_or_else(|p| p.into_inner()) = Some(snapshot.report.clone());
            Ok(ArrowStream::new(snapshot.frame, snapshot.report))
        }
    }

    fn schema_fut(&self) -> impl Future<Output = PyResult<ArrowStream>> + Send + 'static {
        let inner = self.inner.clone();
        async move {
            let sample = inner
                .lock()
                .await
                .schema_sample()
                .await
                .map_err(errors::polars)?;
            Ok(ArrowStream::new(sample.frame.head(Some(0)), sample.report))
        }
    }

    fn offsets_fut(
        &self,
    ) -> impl Future<Output = PyResult<BTreeMap<i32, (i64, i64)>>> + Send + 'static {
        let inner = self.inner.clone();
        async move {
            inner
                .lock()
                .await
                .get_topic_offsets()
                .await
                .map_err(errors::kafka)
        }
    }

    fn topic_info_fut(
        &self,
    ) -> impl Future<Output = PyResult<(String, Vec<i32>, usize)>> + Send + 'static {
        let inner = self.inner.clone();
        async move {
            let info = inner
                .lock()
                .await
                .topic_info()
                .await
                .map_err(errors::kafka)?;
            Ok((info.topic, info.partitions, info.partition_count))
        }
    }

    fn commit_fut(&self) -> impl Future<Output = PyResult<BTreeMap<i32, i64>>> + Send + 'static {
        let inner = self.inner.clone();
        async move {
            inner
                .lock()
                .await
                .commit_offsets()
                .await
                .map_err(errors::kafka)
        }
    }

    fn committed_fut(&self) -> impl Future<Output = PyResult<BTreeMap<i32, i64>>> + Send + 'static {
        let inner = self.inner.clone();
        async move {
            inner
                .lock()
                .await
                .get_committed_offsets()
                .await
                .map_err(errors::kafka)
        }
    }
}

#[pymethods]
impl NativeSource {
    /// A source from the fields of a `KafkaDataSourceConfig` (`ValueError` naming a wrong one).
    #[new]
    fn new(fields: &Bound<'_, PyDict>) -> PyResult<Self> {
        let config = crate::config::build(fields)?;
        KafkaDataSource::new(config)
            .map(Self::wrap)
            .map_err(errors::kafka)
    }

    /// A source from `kafka://host:port[,host:port]/topic[?option=value&...]`.
    #[staticmethod]
    #[pyo3(signature = (url, max_messages = None))]
    fn from_connection_string(url: &str, max_messages: Option<usize>) -> PyResult<Self> {
        KafkaDataSource::from_connection_string(url, max_messages)
            .map(Self::wrap)
            .map_err(errors::kafka)
    }

    /// A source for Confluent Cloud: SASL_SSL with PLAIN and the cluster's API key and secret.
    #[staticmethod]
    fn from_confluent(
        bootstrap_servers: &str,
        topic: &str,
        api_key: &str,
        api_secret: &str,
        max_messages: usize,
    ) -> PyResult<Self> {
        KafkaDataSource::from_confluent(
            bootstrap_servers,
            topic,
            api_key,
            secrecy::SecretString::from(api_secret.to_owned()),
            max_messages,
        )
        .map(Self::wrap)
        .map_err(errors::kafka)
    }

    /// The effective configuration's fields (passwords left out), for the Python config object.
    fn config_fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = &self.config;
        let s = &c.streaming;
        let d = PyDict::new(py);
        d.set_item("bootstrap_servers", &c.bootstrap_servers)?;
        d.set_item("topic", &c.topic)?;
        d.set_item("group_id", &c.group_id)?;
        d.set_item("max_messages", s.max_messages)?;
        d.set_item("consume_timeout", s.consume_timeout.as_secs_f64())?;
        d.set_item("auto_offset_reset", s.auto_offset_reset.as_str())?;
        d.set_item("security_protocol", c.security_protocol.to_string())?;
        d.set_item("sasl_mechanism", c.sasl_mechanism.map(|m| m.to_string()))?;
        d.set_item("sasl_username", &c.sasl_username)?;
        d.set_item("ssl_cafile", &c.ssl_cafile)?;
        d.set_item("ssl_certfile", &c.ssl_certfile)?;
        d.set_item("ssl_keyfile", &c.ssl_keyfile)?;
        d.set_item("partition", c.partition)?;
        d.set_item("start_offset", c.start_offset)?;
        d.set_item("end_offset", c.end_offset)?;
        d.set_item("key_deserializer", s.key_deserializer.as_str())?;
        d.set_item("include_key", s.include_key)?;
        d.set_item("include_headers", s.include_headers)?;
        d.set_item("deserializer_type", s.deserializer_type.as_str())?;
        d.set_item("include_metadata", s.include_metadata)?;
        d.set_item("metadata_prefix", &s.metadata_prefix)?;
        d.set_item("schema_sample_size", s.schema_sample_size)?;
        d.set_item("on_malformed", s.on_malformed.as_str())?;
        Ok(d)
    }

    /// Connects and captures the snapshot's end offsets.
    #[pyo3(signature = (cancel = None))]
    fn connect(&self, py: Python<'_>, cancel: Option<&Bound<'_, CancelToken>>) -> PyResult<()> {
        block_on(py, cancel, self.connect_fut())
    }

    /// Closes the connections.
    #[pyo3(signature = (cancel = None))]
    fn close(&self, py: Python<'_>, cancel: Option<&Bound<'_, CancelToken>>) -> PyResult<()> {
        block_on(py, cancel, self.close_fut())
    }

    /// Reads the snapshot into a frame.
    #[pyo3(signature = (cancel = None))]
    fn frame(
        &self,
        py: Python<'_>,
        cancel: Option<&Bound<'_, CancelToken>>,
    ) -> PyResult<ArrowStream> {
        block_on(py, cancel, self.frame_fut())
    }

    /// The schema sample's frame without rows: its columns and types.
    #[pyo3(signature = (cancel = None))]
    fn schema(
        &self,
        py: Python<'_>,
        cancel: Option<&Bound<'_, CancelToken>>,
    ) -> PyResult<ArrowStream> {
        block_on(py, cancel, self.schema_fut())
    }

    /// `{partition: (beginning, end)}` of the snapshot.
    #[pyo3(signature = (cancel = None))]
    fn offsets(
        &self,
        py: Python<'_>,
        cancel: Option<&Bound<'_, CancelToken>>,
    ) -> PyResult<BTreeMap<i32, (i64, i64)>> {
        block_on(py, cancel, self.offsets_fut())
    }

    /// The snapshot's plan for `shares` workers, as JSON (a `SnapshotPlan`).
    #[pyo3(signature = (shares, cancel = None))]
    fn plan(
        &self,
        py: Python<'_>,
        shares: usize,
        cancel: Option<&Bound<'_, CancelToken>>,
    ) -> PyResult<String> {
        let inner = self.inner.clone();
        block_on(py, cancel, async move {
            let mut source = inner.lock().await;
            truthound_kafka::SnapshotPlan::capture(&mut source, shares)
                .await
                .map(|plan| plan.to_json())
                .map_err(errors::kafka)
        })
    }

    /// A source reading share `share` of the plan `plan_json`; `fields` (the fields of a
    /// `KafkaDataSourceConfig`, or `None`) give the credentials and the timeout.
    #[staticmethod]
    #[pyo3(signature = (plan_json, share, fields = None))]
    fn from_plan(
        plan_json: &str,
        share: usize,
        fields: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let plan = truthound_kafka::SnapshotPlan::from_json(plan_json).map_err(errors::kafka)?;
        let mut config = plan.share_config(share).map_err(errors::kafka)?;
        if let Some(fields) = fields {
            let given = crate::config::build(fields)?;
            let default = truthound_kafka::KafkaDataSourceConfig::new("", "");
            // The plan's settings hold unless the configuration sets them.
            config.streaming.consume_timeout = given.streaming.consume_timeout;
            if given.security_protocol != default.security_protocol {
                config.security_protocol = given.security_protocol;
            }
            config.sasl_mechanism = given.sasl_mechanism.or(config.sasl_mechanism);
            config.sasl_username = given.sasl_username.or(config.sasl_username);
            config.sasl_password = given.sasl_password;
            config.allow_plaintext_password |= given.allow_plaintext_password;
            config.ssl_cafile = given.ssl_cafile.or(config.ssl_cafile);
            config.ssl_certfile = given.ssl_certfile.or(config.ssl_certfile);
            config.ssl_keyfile = given.ssl_keyfile.or(config.ssl_keyfile);
            config.schema_registry_username = given.schema_registry_username;
            config.schema_registry_password = given.schema_registry_password;
            config.schema_registry_ssl_cafile = given.schema_registry_ssl_cafile;
        }
        KafkaDataSource::new(config)
            .map(Self::wrap)
            .map_err(errors::kafka)
    }

    /// `(topic, partitions, partition_count)`.
    #[pyo3(signature = (cancel = None))]
    fn topic_info(
        &self,
        py: Python<'_>,
        cancel: Option<&Bound<'_, CancelToken>>,
    ) -> PyResult<(String, Vec<i32>, usize)> {
        block_on(py, cancel, self.topic_info_fut())
    }

    /// Commits the position after the last message read, for `group_id`; returns it.
    #[pyo3(signature = (cancel = None))]
    fn commit(
        &self,
        py: Python<'_>,
        cancel: Option<&Bound<'_, CancelToken>>,
    ) -> PyResult<BTreeMap<i32, i64>> {
        block_on(py, cancel, self.commit_fut())
    }

    /// `{partition: offset}` committed for `group_id`.
    #[pyo3(signature = (cancel = None))]
    fn committed(
        &self,
        py: Python<'_>,
        cancel: Option<&Bound<'_, CancelToken>>,
    ) -> PyResult<BTreeMap<i32, i64>> {
        block_on(py, cancel, self.committed_fut())
    }

    /// A source of the same snapshot with at most `n` messages.
    fn sample(&self, py: Python<'_>, n: usize) -> PyResult<Self> {
        let inner = self.inner.clone();
        block_on(py, None, async move {
            inner
                .lock()
                .await
                .sample(n)
                .map(Self::wrap)
                .map_err(errors::kafka)
        })
    }

    /// Batches of at most `batch_size` messages, up to `max_messages`, each as a frame.
    fn batches(
        &self,
        py: Python<'_>,
        batch_size: usize,
        max_messages: usize,
    ) -> PyResult<NativeBatches> {
        if batch_size == 0 {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "batch_size must be at least 1",
            ));
        }
        let (tx, rx) = mpsc::channel(2);
        // A reader of the same snapshot: the iteration holds no lock on this source, so other
        // calls (a commit after each batch) go on meanwhile.
        let mut source = py
            .detach(|| self.inner.blocking_lock().reader())
            .map_err(errors::kafka)?;
        let streaming = self.config.streaming.clone();
        crate::run::runtime().spawn(async move {
            let deserializer = source.value_deserializer();
            let key_deserializer = source.key_deserializer();
            let mut batches = source.iter_messages(batch_size, max_messages);
            loop {
                let item = match batches.try_next().await {
                    Ok(Some(batch)) => {
                        let mut builder =
                            MessageFrameBuilder::new(&streaming, deserializer.clone());
                        if let Some(k) = &key_deserializer {
                            builder = builder.with_key_deserializer(k.clone());
                        }
                        builder
                            .push_batch(&batch)
                            .and_then(|()| builder.finish_snapshot())
                            .map(|s| ArrowStream::new(s.frame, s.report))
                            .map_err(BatchError::Frame)
                    }
                    Ok(None) => break,
                    Err(e) => Err(BatchError::Source(e)),
                };
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(NativeBatches {
            rx: Arc::new(Mutex::new(rx)),
        })
    }

    /// The report of the last frame read (`None` before the first): rows, tombstones, skipped
    /// messages with partition, offset and reason, type notes.
    fn last_report<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let report = self
            .last_report
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        report.map(|r| report_dict(py, &r)).transpose()
    }
}

/// Why a batch could not be made.
enum BatchError {
    Source(truthound_streaming_core::StreamingDataSourceError),
    Frame(truthound_polars::Error),
}

type BatchItem = Result<ArrowStream, BatchError>;

/// The batches of one `iter_messages` call, read ahead by a background task.
#[pyclass(module = "truthound_streaming._native", frozen)]
pub struct NativeBatches {
    rx: Arc<Mutex<mpsc::Receiver<BatchItem>>>,
}

impl NativeBatches {
    fn next_fut(&self) -> impl Future<Output = PyResult<Option<ArrowStream>>> + Send + 'static {
        let rx = self.rx.clone();
        async move {
            match rx.lock().await.recv().await {
                None => Ok(None),
                Some(Ok(stream)) => Ok(Some(stream)),
                Some(Err(BatchError::Source(e))) => Err(errors::streaming(e)),
                Some(Err(BatchError::Frame(e))) => Err(errors::polars(e)),
            }
        }
    }
}

#[pymethods]
impl NativeBatches {
    /// The next batch as a frame, `None` after the last.
    #[pyo3(signature = (cancel = None))]
    fn next(
        &self,
        py: Python<'_>,
        cancel: Option<&Bound<'_, CancelToken>>,
    ) -> PyResult<Option<ArrowStream>> {
        block_on(py, cancel, self.next_fut())
    }
}
