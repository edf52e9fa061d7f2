//! A whole failover message: the §5.2 header followed by options (RFC 8156 §5.2, §5.3).

use super::error::{DecodeError, EncodeError};
use super::frame::{encode_frame, split_frame, Framed, MAX_FRAME_LEN};
use super::header::{Header, MsgType};
use super::options::{encode_options, find, read_options, DhcpOption, OptionCode};
use super::reader::Reader;
use crate::{MsgKind, UnknownCode};

/// One failover message (RFC 8156 §5.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Message {
    /// msg-type; open, so that an unknown type survives decode → encode.
    pub msg_type: MsgType,
    /// transaction-id, 24 bits (§5.4); encoding a larger value fails.
    pub transaction_id: u32,
    /// sent-time, absolute seconds since 2000-01-01T00:00:00Z modulo 2^32 (§5.2).
    pub sent_time: u32,
    /// The options, in wire order.
    pub options: Vec<DhcpOption>,
}

impl Message {
    /// A message of a known kind with no options yet.
    pub fn new(kind: MsgKind, transaction_id: u32, sent_time: u32) -> Self {
        Message {
            msg_type: kind.into(),
            transaction_id,
            sent_time,
            options: Vec::new(),
        }
    }

    /// This message with one more option (builder style).
    #[must_use]
    pub fn with(mut self, option: DhcpOption) -> Self {
        self.options.push(option);
        self
    }

    /// The failover message kind, if RFC 8156 defines the msg-type.
    pub fn kind(&self) -> Result<MsgKind, UnknownCode> {
        self.msg_type.kind()
    }

    /// The header fields.
    pub fn header(&self) -> Header {
        Header {
            msg_type: self.msg_type,
            transaction_id: self.transaction_id,
            sent_time: self.sent_time,
        }
    }

    /// The first top-level option with `code`.
    pub fn option(&self, code: OptionCode) -> Option<&DhcpOption> {
        find(&self.options, code)
    }

    /// The value of the first top-level 4-octet integer option with `code` (e.g.
    /// `msg.u32_option(OptionCode::OPTION_F_MCLT)`), see [`DhcpOption::as_u32`].
    pub fn u32_option(&self, code: OptionCode) -> Option<u32> {
        self.option(code).and_then(DhcpOption::as_u32)
    }

    /// Append the message (header then options, no frame). On error nothing is appended.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        let result = self
            .header()
            .encode(out)
            .and_then(|()| encode_options(&self.options, out));
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// The encoded message as a new buffer.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }

    /// Append the message with its 2-octet message-size (RFC 5460 §5.1), ready for the TCP stream.
    pub fn encode_framed(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        encode_frame(self, out)
    }

    /// Decode one unframed message occupying all of `bytes`. Error offsets count from `bytes[0]`.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let mut r = Reader::new(bytes);
        let header = Header::read(&mut r)?;
        let options = read_options(&mut r, 0)?;
        Ok(Message {
            msg_type: header.msg_type,
            transaction_id: header.transaction_id,
            sent_time: header.sent_time,
            options,
        })
    }

    /// Decode one framed message occupying all of `bytes` (a complete capture, not a stream: a
    /// message-size larger than the data is [`DecodeError::Truncated`], smaller is
    /// [`DecodeError::TrailingData`]). Error offsets inside the message count from its msg-type
    /// octet, i.e. from `bytes[2]`. For a TCP stream use [`super::FrameDecoder`].
    pub fn decode_framed(bytes: &[u8]) -> Result<Message, DecodeError> {
        match split_frame(bytes, MAX_FRAME_LEN)? {
            Framed::NeedMore { .. } => {
                let size = if bytes.len() >= 2 {
                    usize::from(u16::from_be_bytes([bytes[0], bytes[1]]))
                } else {
                    0
                };
                Err(DecodeError::Truncated {
                    what: "framed message",
                    offset: 0,
                    needed: 2 + size,
                    available: bytes.len(),
                })
            }
            Framed::Complete { message, consumed } => {
                if consumed < bytes.len() {
                    return Err(DecodeError::TrailingData {
                        what: "framed message",
                        offset: consumed,
                        len: bytes.len() - consumed,
                    });
                }
                Message::decode(message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_is_just_a_header() {
        let m = Message::new(MsgKind::Contact, 0x000102, 0x2000_0000);
        let bytes = m.to_bytes().unwrap();
        assert_eq!(bytes, [35, 0x00, 0x01, 0x02, 0x20, 0, 0, 0]);
        assert_eq!(Message::decode(&bytes), Ok(m));
    }

    #[test]
    fn unknown_msg_type_round_trips() {
        let bytes = [99, 0, 0, 7, 0, 0, 0, 1, 0xBE, 0xEF, 0, 1, 0x42];
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(m.msg_type, MsgType(99));
        assert!(m.kind().is_err());
        assert_eq!(
            m.options,
            [DhcpOption::Unknown {
                code: 0xBEEF,
                data: vec![0x42]
            }]
        );
        assert_eq!(m.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn option_error_offsets_count_from_the_message_start() {
        // CONNECT, then OPTION_F_PROTOCOL_VERSION 1.0, then OPTION_F_MCLT with option-len 3.
        let bytes = [
            31, 0, 0, 1, 0, 0, 0, 0, // header
            0, 127, 0, 4, 0, 1, 0, 0, // PROTOCOL_VERSION 1.0, offsets 8..16
            0, 122, 0, 3, 0, 14, 16, // MCLT, option-len 3, at offset 16
        ];
        assert_eq!(
            Message::decode(&bytes),
            Err(DecodeError::BadLength {
                option: "OPTION_F_MCLT",
                code: 122,
                expected: 4,
                found: 3,
                offset: 16
            })
        );
    }

    #[test]
    fn failed_encode_leaves_buffer_untouched() {
        let m = Message::new(MsgKind::State, 1 << 24, 0);
        let mut out = vec![1, 2, 3];
        assert!(m.encode(&mut out).is_err());
        assert_eq!(out, [1, 2, 3]);
    }
}
