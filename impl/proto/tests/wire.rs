//! Integration tests of the wire codec, in one binary (link time): hand-written fixtures for every
//! RFC 8156 message type, and malformed inputs with the exact error each must give.

#[path = "wire/errors.rs"]
mod errors;
#[path = "wire/fixtures.rs"]
mod fixtures;

/// Parse hex, ignoring whitespace, so fixtures can be laid out field by field.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert_eq!(digits.len() % 2, 0, "odd number of hex digits");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).expect("hex digit"))
        .collect()
}
