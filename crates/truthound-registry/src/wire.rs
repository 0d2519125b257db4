//! The Confluent wire-format header.

use truthound_streaming_core::DeserializeFailure;

/// The length of the wire-format header: the magic byte and the big-endian schema id.
pub const HEADER_LEN: usize = 5;

/// The schema id of a Confluent wire-format payload, whose body starts at [`HEADER_LEN`].
/// `body` names what follows the header, for the failure reason (`"Avro datum"`).
///
/// ```
/// use truthound_registry::parse_header;
///
/// assert_eq!(parse_header(&[0, 0, 0, 1, 2, 9], "Avro datum"), Ok(258));
/// let failure = parse_header(b"{}", "Avro datum").unwrap_err();
/// assert!(failure.reason().contains("too short"));
/// ```
///
/// # Errors
/// A [`DeserializeFailure`] when the payload is shorter than the header or its magic byte is
/// not 0.
pub fn parse_header(payload: &[u8], body: &str) -> Result<u32, DeserializeFailure> {
    match payload {
        [0, a, b, c, d, ..] => Ok(u32::from_be_bytes([*a, *b, *c, *d])),
        [magic, _, _, _, _, ..] => Err(DeserializeFailure::new(format!(
            "magic byte 0x{magic:02x} is not 0: expected Confluent wire format: magic byte 0, \
             4-byte schema id, {body}"
        ))),
        _ => Err(DeserializeFailure::new(format!(
            "payload of {} bytes is too short: expected Confluent wire format: magic byte 0, \
             4-byte schema id, {body}",
            payload.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_checked() {
        let format = "expected Confluent wire format: magic byte 0, 4-byte schema id, datum";
        assert_eq!(parse_header(&[0, 0, 0, 1, 2, 9], "datum"), Ok(258));
        assert_eq!(
            parse_header(&[0, 0xff, 0xff, 0xff, 0xff], "datum"),
            Ok(u32::MAX)
        );
        let err = parse_header(&[1, 0, 0, 0, 1, 9], "datum").unwrap_err();
        assert_eq!(err.reason(), format!("magic byte 0x01 is not 0: {format}"));
        let err = parse_header(&[0, 0, 0], "datum").unwrap_err();
        assert_eq!(
            err.reason(),
            format!("payload of 3 bytes is too short: {format}")
        );
    }
}
