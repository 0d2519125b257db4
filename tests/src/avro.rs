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

/// A writer schema with the logical types a production topic carries.
pub const ORDER_SCHEMA: &str = r#"{"type": "record", "name": "Order", "fields": [
    {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "local", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "clock", "type": {"type": "int", "logicalType": "time-millis"}},
    {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}}]}"#;

/// The Avro binary encoding of an Order: zigzag varints for the longs and ints, then the
/// decimal's unscaled value as length-prefixed big-endian two's complement bytes (minimal).
pub fn order(at_ms: i64, local_us: i64, day: i32, clock_ms: i32, price_cents: i64) -> Vec<u8> {
    fn zigzag(v: i64, out: &mut Vec<u8>) {
        let mut n = ((v << 1) ^ (v >> 63)) as u64;
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }
    let mut out = Vec::new();
    zigzag(at_ms, &mut out);
    zigzag(local_us, &mut out);
    zigzag(i64::from(day), &mut out);
    zigzag(i64::from(clock_ms), &mut out);
    let bytes = price_cents.to_be_bytes();
    // Drop leading bytes that only repeat the sign.
    let mut start = 0;
    while start < 7
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    zigzag((8 - start) as i64, &mut out);
    out.extend_from_slice(&bytes[start..]);
    out
}
