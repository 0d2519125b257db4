//! Rendering visited values as compact JSON text.

use std::fmt::Write as _;

use crate::temporal::{self, TimeUnit};
use crate::value::ValueVisitor;

/// A [`ValueVisitor`] that appends the compact JSON text of the visited values to a string.
///
/// JSON has no byte strings and no non-finite numbers, so bytes are written as an array of
/// numbers (`[104,105]`) and NaN or infinite floats as `null`. Floats always carry a fraction or
/// an exponent (`1.0`), so their text reads back as a float. Timestamps, dates, times and
/// decimals are strings: ISO-8601 text and the exact decimal text.
///
/// ```
/// use truthound_streaming_core::{JsonWriter, ValueVisitor};
///
/// let mut w = JsonWriter::new();
/// w.begin_object(None);
/// w.key("name");
/// w.str("Zoë \"Z\"");
/// w.key("score");
/// w.f64(2.0);
/// w.end_object();
/// assert!(w.is_complete());
/// assert_eq!(w.as_str(), r#"{"name":"Zoë \"Z\"","score":2.0}"#);
/// ```
#[derive(Debug, Default, Clone)]
pub struct JsonWriter {
    out: String,
    /// One entry per open container: `true` for an array, `false` for an object.
    open: Vec<bool>,
    /// Whether the next array element or object key needs a separating comma.
    need_comma: bool,
    /// Whether at least one top-level value was written.
    wrote_value: bool,
}

impl JsonWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        &self.out
    }

    /// Takes the text written so far.
    pub fn into_string(self) -> String {
        self.out
    }

    /// Forgets everything written, keeping the allocations.
    pub fn clear(&mut self) {
        self.out.clear();
        self.open.clear();
        self.need_comma = false;
        self.wrote_value = false;
    }

    /// How many arrays and objects are open.
    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// Whether a value was written and every array and object is closed.
    pub fn is_complete(&self) -> bool {
        self.wrote_value && self.open.is_empty()
    }

    /// Appends `json`, which must already be one complete JSON value, as the next value.
    ///
    /// Nothing is checked: this is for splicing text that an earlier writer produced.
    pub fn raw_value(&mut self, json: &str) {
        self.before_value();
        self.out.push_str(json);
        self.after_value();
    }

    fn before_value(&mut self) {
        if self.open.last() == Some(&true) && self.need_comma {
            self.out.push(',');
        }
    }

    fn after_value(&mut self) {
        self.need_comma = true;
        if self.open.is_empty() {
            self.wrote_value = true;
        }
    }

    fn scalar(&mut self, text: impl FnOnce(&mut String)) {
        self.before_value();
        text(&mut self.out);
        self.after_value();
    }
}

/// Appends `s` as a JSON string literal (quoted, with the required escapes) to `out`.
pub fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends `v` as a JSON number (`null` when it is NaN or infinite) to `out`.
pub fn write_json_f64(out: &mut String, v: f64) {
    if v.is_finite() {
        // `Debug` is the shortest text that reads back to the same float, and keeps `.0`.
        let _ = write!(out, "{v:?}");
    } else {
        out.push_str("null");
    }
}

impl ValueVisitor for JsonWriter {
    fn null(&mut self) {
        self.scalar(|o| o.push_str("null"));
    }
    fn bool(&mut self, v: bool) {
        self.scalar(|o| o.push_str(if v { "true" } else { "false" }));
    }
    fn i64(&mut self, v: i64) {
        self.scalar(|o| {
            let _ = write!(o, "{v}");
        });
    }
    fn u64(&mut self, v: u64) {
        self.scalar(|o| {
            let _ = write!(o, "{v}");
        });
    }
    fn f64(&mut self, v: f64) {
        self.scalar(|o| write_json_f64(o, v));
    }
    fn str(&mut self, v: &str) {
        self.scalar(|o| write_json_string(o, v));
    }
    /// An ISO-8601 string: `"2024-02-29T12:34:56.789Z"` (no `Z` for a local date-time).
    fn timestamp(&mut self, value: i64, unit: TimeUnit, utc: bool) {
        self.str(&temporal::iso_timestamp(value, unit, utc));
    }
    fn bytes(&mut self, v: &[u8]) {
        self.scalar(|o| {
            o.push('[');
            for (i, b) in v.iter().enumerate() {
                if i > 0 {
                    o.push(',');
                }
                let _ = write!(o, "{b}");
            }
            o.push(']');
        });
    }
    fn begin_object(&mut self, _len: Option<usize>) {
        self.before_value();
        self.out.push('{');
        self.open.push(false);
        self.need_comma = false;
    }
    fn key(&mut self, k: &str) {
        if self.need_comma {
            self.out.push(',');
        }
        write_json_string(&mut self.out, k);
        self.out.push(':');
        self.need_comma = false;
    }
    fn end_object(&mut self) {
        self.out.push('}');
        self.open.pop();
        self.after_value();
    }
    fn begin_array(&mut self, _len: Option<usize>) {
        self.before_value();
        self.out.push('[');
        self.open.push(true);
        self.need_comma = false;
    }
    fn end_array(&mut self) {
        self.out.push(']');
        self.open.pop();
        self.after_value();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_containers_get_commas_right() {
        let mut w = JsonWriter::new();
        w.begin_array(None);
        w.begin_object(None);
        w.end_object();
        w.begin_array(None);
        w.end_array();
        w.begin_object(None);
        w.key("a");
        w.begin_array(None);
        w.i64(1);
        w.u64(2);
        w.end_array();
        w.key("b");
        w.null();
        w.end_object();
        w.bytes(&[]);
        w.raw_value(r#"{"x":[1]}"#);
        w.end_array();
        assert!(w.is_complete());
        assert_eq!(w.as_str(), r#"[{},[],{"a":[1,2],"b":null},[],{"x":[1]}]"#);
        w.clear();
        assert_eq!(w.as_str(), "");
        assert!(!w.is_complete());
        w.f64(f64::INFINITY);
        assert_eq!(w.as_str(), "null");
    }

    #[test]
    fn floats_read_back_as_floats() {
        let mut s = String::new();
        write_json_f64(&mut s, 1e300);
        s.push(' ');
        write_json_f64(&mut s, -0.1);
        s.push(' ');
        write_json_f64(&mut s, 3.0);
        assert_eq!(s, "1e300 -0.1 3.0");
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut s = String::new();
        write_json_string(&mut s, "a\u{0}b\u{1f}\u{8}\u{c}\t\r\n\"\\/ü");
        assert_eq!(s, r#""a\u0000b\u001f\b\f\t\r\n\"\\/ü""#);
    }
}
