//! Avro test data written by hand, independent of the code under test: the `UserEvent` schema,
//! its binary encoding, and the Confluent schema-registry wire format.

/// The writer schema of the test events: a `long` user id and a `string` action.
pub const USER_EVENT_SCHEMA: &str = r#"{"type": "record", "name": "UserEvent", "fields": [
    {"name": "user_id", "type": "long"}, {"name": "action", "type": "string"}]}"#;

/// The Avro binary encoding of a UserEvent: zigzag varint long, then a length-prefixed string.
pub fn user_event(user_id: i64, action: &str) -> Vec<u8> {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut out = Vec::new();
    varint(((user_id << 1) ^ (user_id >> 63)) as u64, &mut out);
    let len = action.len() as i64;
    varint(((len << 1) ^ (len >> 63)) as u64, &mut out);
    out.extend_from_slice(action.as_bytes());
    out
}

/// The Confluent wire format: magic byte 0, big-endian schema id, then the datum.
pub fn framed(schema_id: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8];
    out.extend_from_slice(&schema_id.to_be_bytes());
    out.extend_from_slice(payload);
    out
}
