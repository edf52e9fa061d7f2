//! The fixed 8-octet failover message header (RFC 8156 §5.2):
//!
//! ```text
//!  0               1               2               3
//! +---------------+-----------------------------------------------+
//! |   msg-type    |               transaction-id (24)             |
//! +---------------+-----------------------------------------------+
//! |                       sent-time (32)                          |
//! +---------------------------------------------------------------+
//! ```
//!
//! It is the RFC 3315 §6 header plus `sent-time`, so the message type stays an *open* code here
//! ([`MsgType`]): an unknown type decodes and re-encodes unchanged, and is rejected only at the
//! semantic boundary (`MsgKind::try_from`), as the house style asks (anchors §9.2).

use std::fmt;

use super::error::{DecodeError, EncodeError};
use super::reader::Reader;
use crate::{MsgKind, UnknownCode};

/// Largest transaction-id: the field is 24 bits (RFC 8156 §5.2, §5.4).
pub const MAX_TRANSACTION_ID: u32 = 0x00FF_FFFF;

/// Length of the header in octets (RFC 8156 §5.2).
pub const HEADER_LEN: usize = 8;

/// A DHCPv6 message type as carried on the wire: any octet, known or not.
///
/// Convert with `MsgKind::try_from(t)` (fails for codes RFC 8156 does not define) and
/// `MsgType::from(kind)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MsgType(pub u8);

impl MsgType {
    /// 24 — BNDUPD, RFC 8156 §5.3.1
    pub const BNDUPD: MsgType = MsgType(24);
    /// 25 — BNDREPLY, RFC 8156 §5.3.2
    pub const BNDREPLY: MsgType = MsgType(25);
    /// 26 — POOLREQ, RFC 8156 §5.3.3
    pub const POOLREQ: MsgType = MsgType(26);
    /// 27 — POOLRESP, RFC 8156 §5.3.4
    pub const POOLRESP: MsgType = MsgType(27);
    /// 28 — UPDREQ, RFC 8156 §5.3.5
    pub const UPDREQ: MsgType = MsgType(28);
    /// 29 — UPDREQALL, RFC 8156 §5.3.6
    pub const UPDREQALL: MsgType = MsgType(29);
    /// 30 — UPDDONE, RFC 8156 §5.3.7
    pub const UPDDONE: MsgType = MsgType(30);
    /// 31 — CONNECT, RFC 8156 §5.3.8
    pub const CONNECT: MsgType = MsgType(31);
    /// 32 — CONNECTREPLY, RFC 8156 §5.3.9
    pub const CONNECTREPLY: MsgType = MsgType(32);
    /// 33 — DISCONNECT, RFC 8156 §5.3.10
    pub const DISCONNECT: MsgType = MsgType(33);
    /// 34 — STATE, RFC 8156 §5.3.11
    pub const STATE: MsgType = MsgType(34);
    /// 35 — CONTACT, RFC 8156 §5.3.12
    pub const CONTACT: MsgType = MsgType(35);

    /// The failover message kind, if RFC 8156 defines this code.
    pub fn kind(self) -> Result<MsgKind, UnknownCode> {
        MsgKind::from_code(self.0)
    }

    /// The RFC token (`"BNDUPD"`), if RFC 8156 defines this code.
    pub fn name(self) -> Option<&'static str> {
        self.kind().ok().map(MsgKind::token)
    }
}

impl From<MsgKind> for MsgType {
    fn from(kind: MsgKind) -> Self {
        MsgType(kind.code())
    }
}

impl TryFrom<MsgType> for MsgKind {
    type Error = UnknownCode;

    fn try_from(t: MsgType) -> Result<Self, UnknownCode> {
        t.kind()
    }
}

impl fmt::Display for MsgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "msg-type {}", self.0),
        }
    }
}

/// The decoded header fields (RFC 8156 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// msg-type.
    pub msg_type: MsgType,
    /// transaction-id, 24 bits (§5.4: set by the initiator, copied by the responder).
    pub transaction_id: u32,
    /// sent-time: absolute seconds since 2000-01-01T00:00:00Z, modulo 2^32 (§5.2), used for the
    /// time-skew check (§7.1).
    pub sent_time: u32,
}

impl Header {
    /// Append the 8 header octets. Fails if the transaction-id does not fit 24 bits.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.transaction_id > MAX_TRANSACTION_ID {
            return Err(EncodeError::TransactionIdTooLarge {
                transaction_id: self.transaction_id,
            });
        }
        out.push(self.msg_type.0);
        out.extend_from_slice(&self.transaction_id.to_be_bytes()[1..]);
        out.extend_from_slice(&self.sent_time.to_be_bytes());
        Ok(())
    }

    /// Decode the first 8 octets of `bytes` (the options that follow are not looked at).
    pub fn decode(bytes: &[u8]) -> Result<Header, DecodeError> {
        Header::read(&mut Reader::new(bytes))
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Header, DecodeError> {
        let mut h = r.sub(HEADER_LEN, "message header")?;
        Ok(Header {
            msg_type: MsgType(h.u8("msg-type")?),
            transaction_id: h.u24("transaction-id")?,
            sent_time: h.u32("sent-time")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_matches_section_5_2() {
        let h = Header {
            msg_type: MsgType::STATE,
            transaction_id: 0x0A0B0C,
            sent_time: 0x01020304,
        };
        let mut out = Vec::new();
        h.encode(&mut out).unwrap();
        assert_eq!(out, [34, 0x0A, 0x0B, 0x0C, 1, 2, 3, 4]);
        assert_eq!(Header::decode(&out), Ok(h));
    }

    #[test]
    fn transaction_id_must_fit_24_bits() {
        let h = Header {
            msg_type: MsgType::CONTACT,
            transaction_id: 1 << 24,
            sent_time: 0,
        };
        let mut out = vec![0xEE];
        assert_eq!(
            h.encode(&mut out),
            Err(EncodeError::TransactionIdTooLarge {
                transaction_id: 1 << 24
            })
        );
        assert_eq!(out, [0xEE], "nothing written on error");
    }

    #[test]
    fn short_header_is_truncated() {
        assert_eq!(
            Header::decode(&[24, 0, 0]),
            Err(DecodeError::Truncated {
                what: "message header",
                offset: 0,
                needed: 8,
                available: 3
            })
        );
    }

    #[test]
    fn msg_type_is_open() {
        for kind in MsgKind::ALL {
            assert_eq!(MsgKind::try_from(MsgType::from(*kind)), Ok(*kind));
        }
        assert_eq!(MsgType::CONNECT.to_string(), "CONNECT");
        assert_eq!(MsgType(23).to_string(), "msg-type 23");
        assert!(MsgKind::try_from(MsgType(23)).is_err());
    }
}
