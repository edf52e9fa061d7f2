//! What can be wrong with failover bytes (decoding) or with a value to be put on the wire
//! (encoding).
//!
//! Following the house split by who is at fault (style anchors §9.8), [`DecodeError`] means "the
//! peer sent bad bytes": it names the option (RFC name and code), the length and the byte offset,
//! so that a log line points at the octet to look at in a capture. Offsets count from the first
//! octet of the message (its msg-type, RFC 8156 §5.2), or, for framing errors, from the first octet
//! of the frame's message-size (RFC 5460 §5.1). [`EncodeError`] means "the caller built a value the
//! wire cannot carry" (an API misuse, not a peer fault).
//!
//! Partial input on a TCP stream is not an error: the frame layer reports it as "need more"
//! ([`super::Framed::NeedMore`]).

use std::fmt;

/// Why a byte string is not a well-formed failover frame, message or option.
///
/// Every variant says *what* was being decoded and *where*; the text of [`fmt::Display`] is
/// documentation for humans, the variants are the contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ends inside an item: `what` starting at `offset` needs `needed` octets, only
    /// `available` are there (e.g. an option whose option-len runs past the end of its container).
    Truncated {
        /// The item being decoded: an option's RFC name, `"message header"`, `"option header"`.
        what: &'static str,
        /// Offset of the first octet of that item.
        offset: usize,
        /// Octets the item needs, counted from `offset`.
        needed: usize,
        /// Octets actually present from `offset` to the end of the enclosing container.
        available: usize,
    },
    /// An option whose layout fixes its length (RFC 8156 §5.5: `option-len 4` for
    /// OPTION_F_MCLT, ...) carries another length.
    BadLength {
        /// RFC name of the option (`"OPTION_F_MCLT"`).
        option: &'static str,
        /// Option code (122).
        code: u16,
        /// The length the RFC fixes.
        expected: usize,
        /// The option-len found.
        found: usize,
        /// Offset of the option's code field.
        offset: usize,
    },
    /// A variable-length option is shorter than its fixed part (e.g. OPTION_IA_NA shorter than
    /// IAID + T1 + T2 = 12 octets, RFC 3315 §22.4).
    TooShort {
        /// RFC name of the option.
        option: &'static str,
        /// Option code.
        code: u16,
        /// Minimum option-len.
        min: usize,
        /// The option-len found.
        found: usize,
        /// Offset of the option's code field.
        offset: usize,
    },
    /// A field holds a value its definition excludes: a prefix-length above 128 (RFC 3633 §10),
    /// a binding-status or server-state outside the RFC 8156 tables (§5.5.1, §5.5.16).
    BadValue {
        /// RFC name of the option.
        option: &'static str,
        /// Option code.
        code: u16,
        /// The field (`"prefix-length"`, `"binding-status"`, `"server-state"`).
        field: &'static str,
        /// The value found.
        value: u32,
        /// Offset of the field.
        offset: usize,
    },
    /// A field the RFC defines as UTF-8 text (OPTION_F_RELATIONSHIP_NAME, RFC 8156 §5.5.14; the
    /// status-message of OPTION_STATUS_CODE, RFC 3315 §22.13) is not valid UTF-8.
    BadUtf8 {
        /// RFC name of the option.
        option: &'static str,
        /// Option code.
        code: u16,
        /// Offset of the first octet of the text.
        offset: usize,
    },
    /// Octets are left after a complete item (e.g. a buffer handed to a one-shot frame decoder
    /// holds more than the frame's message-size announces).
    TrailingData {
        /// The item that ended early.
        what: &'static str,
        /// Offset of the first octet left over.
        offset: usize,
        /// How many octets are left over.
        len: usize,
    },
    /// Encapsulated options nest deeper than [`super::MAX_DEPTH`]. The RFC's deepest layout is
    /// CLIENT_DATA > IA_NA > IAADDR > options (RFC 8156 §7.4); the limit bounds recursion.
    TooDeep {
        /// Offset of the option that would open one level too many.
        offset: usize,
        /// The limit.
        max_depth: usize,
    },
    /// A frame's message-size exceeds the receiver's limit (RFC 5460 §5.1 framing).
    FrameTooLarge {
        /// The message-size announced.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// A frame's message-size is 0: no message can be that short (RFC 8156 §5.2 header is 8
    /// octets), and skipping it would hide a desynchronised stream.
    EmptyFrame {
        /// Offset of the message-size field.
        offset: usize,
    },
}

impl DecodeError {
    /// A short class name for logs and traces (`"truncated"`, `"bad-length"`, ...), stable across
    /// releases.
    pub const fn class(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::BadLength { .. } => "bad-length",
            DecodeError::TooShort { .. } => "too-short",
            DecodeError::BadValue { .. } => "bad-value",
            DecodeError::BadUtf8 { .. } => "bad-utf8",
            DecodeError::TrailingData { .. } => "trailing-data",
            DecodeError::TooDeep { .. } => "too-deep",
            DecodeError::FrameTooLarge { .. } => "frame-too-large",
            DecodeError::EmptyFrame { .. } => "empty-frame",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { what, offset, needed, available } => write!(
                f,
                "truncated {what} at offset {offset}: needs {needed} octets, only {available} left"
            ),
            DecodeError::BadLength { option, code, expected, found, offset } => write!(
                f,
                "{option} ({code}) at offset {offset}: option-len is {found}, the RFC fixes it at {expected}"
            ),
            DecodeError::TooShort { option, code, min, found, offset } => write!(
                f,
                "{option} ({code}) at offset {offset}: option-len is {found}, at least {min} required"
            ),
            DecodeError::BadValue { option, code, field, value, offset } => {
                write!(f, "{option} ({code}): {field} {value} at offset {offset} is not allowed")
            }
            DecodeError::BadUtf8 { option, code, offset } => {
                write!(f, "{option} ({code}): text at offset {offset} is not valid UTF-8")
            }
            DecodeError::TrailingData { what, offset, len } => {
                write!(f, "{len} unexpected octets after the {what}, at offset {offset}")
            }
            DecodeError::TooDeep { offset, max_depth } => write!(
                f,
                "option at offset {offset} nests encapsulated options deeper than {max_depth} levels"
            ),
            DecodeError::FrameTooLarge { size, max } => {
                write!(f, "frame message-size {size} exceeds the limit of {max} octets")
            }
            DecodeError::EmptyFrame { offset } => {
                write!(f, "frame at offset {offset} has message-size 0")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a value cannot be put on the wire. These are caller bugs (the anchors' `ApiMisuse`): the
/// codec refuses rather than silently truncating a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The transaction-id is 24 bits wide on the wire (RFC 8156 §5.2, §5.4).
    TransactionIdTooLarge {
        /// The value given.
        transaction_id: u32,
    },
    /// An option's data does not fit the 16-bit option-len (RFC 3315 §22.1).
    OptionTooLong {
        /// RFC name of the option.
        option: &'static str,
        /// Option code.
        code: u16,
        /// The data length that was produced.
        len: usize,
    },
    /// A message does not fit the 16-bit message-size of the TCP framing (RFC 5460 §5.1).
    MessageTooLarge {
        /// The encoded message length.
        len: usize,
    },
    /// A field holds a value the layout cannot carry (a prefix-length above 128, RFC 3633 §10).
    BadValue {
        /// RFC name of the option.
        option: &'static str,
        /// Option code.
        code: u16,
        /// The field.
        field: &'static str,
        /// The value given.
        value: u32,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TransactionIdTooLarge { transaction_id } => write!(
                f,
                "transaction-id {transaction_id:#x} does not fit the 24-bit wire field"
            ),
            EncodeError::OptionTooLong { option, code, len } => {
                write!(
                    f,
                    "{option} ({code}): {len} octets of data exceed option-len's 65535"
                )
            }
            EncodeError::MessageTooLarge { len } => {
                write!(f, "message of {len} octets exceeds the frame's 65535")
            }
            EncodeError::BadValue {
                option,
                code,
                field,
                value,
            } => {
                write!(f, "{option} ({code}): {field} {value} cannot be encoded")
            }
        }
    }
}

impl std::error::Error for EncodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_option_length_and_offset() {
        let e = DecodeError::BadLength {
            option: "OPTION_F_MCLT",
            code: 122,
            expected: 4,
            found: 3,
            offset: 18,
        };
        assert_eq!(
            e.to_string(),
            "OPTION_F_MCLT (122) at offset 18: option-len is 3, the RFC fixes it at 4"
        );
        assert_eq!(e.class(), "bad-length");
        let e = EncodeError::TransactionIdTooLarge {
            transaction_id: 0x0100_0000,
        };
        assert_eq!(
            e.to_string(),
            "transaction-id 0x1000000 does not fit the 24-bit wire field"
        );
    }
}
