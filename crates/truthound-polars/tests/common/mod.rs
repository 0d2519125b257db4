//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use polars::prelude::*;
use truthound_json::JSONDeserializer;
use truthound_polars::{DecodeReport, MessageFrameBuilder};
use truthound_streaming_core::{
    DeserializeFailure, MessageDeserializer, RawMessage, StreamingDataSourceConfig, ValueVisitor,
};

/// Messages on topic `t`, partition 0, offsets 0.. with the given JSON payloads.
pub fn messages(payloads: &[&str]) -> Vec<RawMessage> {
    payloads
        .iter()
        .zip(0..)
        .map(|(p, o)| RawMessage::new("t", 0, o, Some(p.as_bytes().to_vec().into())))
        .collect()
}

/// A config with no metadata columns at all.
pub fn bare() -> StreamingDataSourceConfig {
    StreamingDataSourceConfig::default().with_include_key(false)
}

pub fn json() -> Arc<dyn MessageDeserializer> {
    Arc::new(JSONDeserializer::new())
}

/// Builds a frame from JSON payloads, without metadata columns.
pub fn build(payloads: &[&str]) -> (DataFrame, DecodeReport) {
    build_with(&bare(), json(), &messages(payloads))
}

pub fn build_with(
    config: &StreamingDataSourceConfig,
    deserializer: Arc<dyn MessageDeserializer>,
    msgs: &[RawMessage],
) -> (DataFrame, DecodeReport) {
    let mut b = MessageFrameBuilder::new(config, deserializer);
    b.push_batch(msgs).expect("push");
    b.finish().expect("finish")
}

pub fn column<'a>(df: &'a DataFrame, name: &str) -> &'a Series {
    df.column(name)
        .unwrap_or_else(|_| panic!("no column {name}"))
        .as_materialized_series()
}

pub fn strs(s: &Series) -> Vec<Option<String>> {
    s.str()
        .expect("a string column")
        .iter()
        .map(|v| v.map(str::to_owned))
        .collect()
}

pub fn ints(s: &Series) -> Vec<Option<i64>> {
    s.i64().expect("an i64 column").iter().collect()
}

pub fn floats(s: &Series) -> Vec<Option<f64>> {
    s.f64().expect("an f64 column").iter().collect()
}

/// Decodes JSON, except payloads `FAIL<n>:<json>`: those forward only the first `n` events of
/// `<json>` and then fail, like a custom deserializer that breaks part-way.
pub struct FailPartWay;

struct Limited<'a> {
    inner: &'a mut dyn ValueVisitor,
    left: usize,
}

impl Limited<'_> {
    fn go(&mut self) -> bool {
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        true
    }
}

impl ValueVisitor for Limited<'_> {
    fn null(&mut self) {
        if self.go() {
            self.inner.null();
        }
    }
    fn bool(&mut self, v: bool) {
        if self.go() {
            self.inner.bool(v);
        }
    }
    fn i64(&mut self, v: i64) {
        if self.go() {
            self.inner.i64(v);
        }
    }
    fn u64(&mut self, v: u64) {
        if self.go() {
            self.inner.u64(v);
        }
    }
    fn f64(&mut self, v: f64) {
        if self.go() {
            self.inner.f64(v);
        }
    }
    fn str(&mut self, v: &str) {
        if self.go() {
            self.inner.str(v);
        }
    }
    fn bytes(&mut self, v: &[u8]) {
        if self.go() {
            self.inner.bytes(v);
        }
    }
    fn begin_object(&mut self, len: Option<usize>) {
        if self.go() {
            self.inner.begin_object(len);
        }
    }
    fn key(&mut self, k: &str) {
        if self.go() {
            self.inner.key(k);
        }
    }
    fn end_object(&mut self) {
        if self.go() {
            self.inner.end_object();
        }
    }
    fn begin_array(&mut self, len: Option<usize>) {
        if self.go() {
            self.inner.begin_array(len);
        }
    }
    fn end_array(&mut self) {
        if self.go() {
            self.inner.end_array();
        }
    }
}

impl MessageDeserializer for FailPartWay {
    fn name(&self) -> &str {
        "fail-part-way"
    }

    fn deserialize_into(
        &self,
        payload: &[u8],
        visitor: &mut dyn ValueVisitor,
    ) -> Result<(), DeserializeFailure> {
        let text = std::str::from_utf8(payload).map_err(|_| DeserializeFailure::new("utf8"))?;
        let Some(rest) = text.strip_prefix("FAIL") else {
            return JSONDeserializer::new().deserialize_into(payload, visitor);
        };
        let (n, json) = rest
            .split_once(':')
            .ok_or_else(|| DeserializeFailure::new("no colon"))?;
        let n: usize = n
            .parse()
            .map_err(|_| DeserializeFailure::new("bad count"))?;
        let mut limited = Limited {
            inner: visitor,
            left: n,
        };
        JSONDeserializer::new().deserialize_into(json.as_bytes(), &mut limited)?;
        Err(DeserializeFailure::new(format!("failed after {n} events")))
    }
}

/// The column names of a frame.
pub fn names(df: &DataFrame) -> Vec<String> {
    df.get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect()
}
