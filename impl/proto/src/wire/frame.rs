//! TCP framing (RFC 8156 §5.1, which adopts RFC 5460 §5.1): each message is preceded by a 2-octet
//! big-endian message-size, the number of octets of the message that follows.
//!
//! ```text
//! +-------------------------------+---------------+---------------
//! |   message-size (16)           |   msg-type    |  ...
//! +-------------------------------+---------------+---------------
//! ```
//!
//! TCP delivers a byte stream, so a read may end in the middle of a frame: that is "need more"
//! ([`Framed::NeedMore`], `Ok(None)` from [`FrameDecoder`]), not an error. A message-size of 0 or
//! above the receiver's limit *is* an error, and a fatal one for the connection: after it the
//! stream cannot be resynchronised, so [`FrameDecoder`] keeps returning it.

use super::error::{DecodeError, EncodeError};
use super::message::Message;
use super::reader::patch_u16;

/// Largest message a frame can carry: message-size is 16 bits.
pub const MAX_FRAME_LEN: usize = u16::MAX as usize;

/// Length of the message-size field.
pub const FRAME_HEADER_LEN: usize = 2;

/// The result of looking for one frame at the start of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framed<'a> {
    /// A whole frame is there.
    Complete {
        /// The message octets (without the message-size).
        message: &'a [u8],
        /// Octets the frame occupies, message-size included: drop these from the buffer.
        consumed: usize,
    },
    /// The buffer ends inside the frame; at least `needed` more octets must arrive.
    NeedMore {
        /// Octets missing to complete the frame (or its message-size field).
        needed: usize,
    },
}

/// Look for one frame at the start of `buf`. `max_len` caps the message-size the receiver will
/// buffer (at most [`MAX_FRAME_LEN`]).
pub fn split_frame(buf: &[u8], max_len: usize) -> Result<Framed<'_>, DecodeError> {
    if buf.len() < FRAME_HEADER_LEN {
        return Ok(Framed::NeedMore {
            needed: FRAME_HEADER_LEN - buf.len(),
        });
    }
    let size = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
    if size == 0 {
        return Err(DecodeError::EmptyFrame { offset: 0 });
    }
    if size > max_len {
        return Err(DecodeError::FrameTooLarge { size, max: max_len });
    }
    let total = FRAME_HEADER_LEN + size;
    match buf.get(FRAME_HEADER_LEN..total) {
        Some(message) => Ok(Framed::Complete {
            message,
            consumed: total,
        }),
        None => Ok(Framed::NeedMore {
            needed: total - buf.len(),
        }),
    }
}

/// Append `msg` preceded by its message-size. On error nothing is appended.
pub fn encode_frame(msg: &Message, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    out.extend_from_slice(&[0, 0]);
    if let Err(e) = msg.encode(out) {
        out.truncate(start);
        return Err(e);
    }
    let len = out.len() - start - FRAME_HEADER_LEN;
    match u16::try_from(len) {
        Ok(size) => {
            patch_u16(out, start, size);
            Ok(())
        }
        Err(_) => {
            out.truncate(start);
            Err(EncodeError::MessageTooLarge { len })
        }
    }
}

/// Reassembles frames from the pieces a TCP stream delivers.
///
/// Feed received octets with [`push`](Self::push), then call [`next_frame`](Self::next_frame) or
/// [`next_message`](Self::next_message) until it returns `Ok(None)` ("need more").
///
/// Errors have two weights:
/// - a *framing* error (message-size 0 or above the limit) is not consumed: the stream is lost and
///   every later call returns the same error; the connection should be dropped;
/// - a *message* error from `next_message` consumes the frame, so the stream stays in sync and the
///   caller may go on (what to do about a malformed message is a protocol decision).
#[derive(Clone, Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    start: usize,
    max_len: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new()
    }
}

impl FrameDecoder {
    /// A decoder accepting any message-size up to [`MAX_FRAME_LEN`].
    pub fn new() -> Self {
        FrameDecoder::with_max_len(MAX_FRAME_LEN)
    }

    /// A decoder rejecting frames whose message-size exceeds `max_len` (clamped to
    /// [`MAX_FRAME_LEN`]), to bound what one peer can make us buffer.
    pub fn with_max_len(max_len: usize) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            start: 0,
            max_len: max_len.min(MAX_FRAME_LEN),
        }
    }

    /// Append octets received from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            // Drop consumed frames before growing, so the buffer holds at most one partial frame
            // plus what was just received.
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Octets received but not yet returned in a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next complete message's octets (without the message-size), or `Ok(None)` if more input
    /// is needed.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, DecodeError> {
        let pending = &self.buf[self.start..];
        // Framing-error offsets count from the first pending octet.
        match split_frame(pending, self.max_len)? {
            Framed::NeedMore { .. } => Ok(None),
            Framed::Complete { consumed, .. } => {
                let from = self.start + FRAME_HEADER_LEN;
                self.start += consumed;
                Ok(Some(&self.buf[from..self.start]))
            }
        }
    }

    /// The next complete message, decoded, or `Ok(None)` if more input is needed. Offsets in a
    /// message error count from that message's msg-type octet.
    pub fn next_message(&mut self) -> Result<Option<Message>, DecodeError> {
        match self.next_frame()? {
            None => Ok(None),
            Some(bytes) => Message::decode(bytes).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MsgKind;

    #[test]
    fn split_reports_need_more_then_complete() {
        assert_eq!(
            split_frame(&[], MAX_FRAME_LEN),
            Ok(Framed::NeedMore { needed: 2 })
        );
        assert_eq!(
            split_frame(&[0], MAX_FRAME_LEN),
            Ok(Framed::NeedMore { needed: 1 })
        );
        assert_eq!(
            split_frame(&[0, 3, 1], MAX_FRAME_LEN),
            Ok(Framed::NeedMore { needed: 2 })
        );
        assert_eq!(
            split_frame(&[0, 3, 1, 2, 3, 9], MAX_FRAME_LEN),
            Ok(Framed::Complete {
                message: &[1, 2, 3],
                consumed: 5
            })
        );
    }

    #[test]
    fn empty_and_oversize_frames_are_errors() {
        assert_eq!(
            split_frame(&[0, 0, 1], MAX_FRAME_LEN),
            Err(DecodeError::EmptyFrame { offset: 0 })
        );
        assert_eq!(
            split_frame(&[0x01, 0x00], 200),
            Err(DecodeError::FrameTooLarge {
                size: 256,
                max: 200
            })
        );
    }

    #[test]
    fn decoder_reassembles_byte_by_byte() {
        let a = Message::new(MsgKind::Contact, 1, 100);
        let b = Message::new(MsgKind::State, 2, 101).with(crate::wire::DhcpOption::ServerState(
            crate::ServerState::Normal,
        ));
        let mut stream = Vec::new();
        a.encode_framed(&mut stream).unwrap();
        b.encode_framed(&mut stream).unwrap();
        let mut dec = FrameDecoder::new();
        let mut got = Vec::new();
        for byte in &stream {
            dec.push(std::slice::from_ref(byte));
            while let Some(m) = dec.next_message().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got, [a, b]);
        assert_eq!(dec.buffered(), 0);
    }

    #[test]
    fn framing_error_sticks_message_error_does_not() {
        let mut dec = FrameDecoder::new();
        // A frame holding 3 octets (too short for a header), then a valid CONTACT.
        dec.push(&[0, 3, 35, 0, 0]);
        dec.push(&[0, 8, 35, 0, 0, 9, 0, 0, 0, 0]);
        assert!(matches!(
            dec.next_message(),
            Err(DecodeError::Truncated { .. })
        ));
        assert_eq!(dec.next_message().unwrap().unwrap().transaction_id, 9);
        assert_eq!(dec.next_message(), Ok(None));
        dec.push(&[0, 0, 35]);
        assert_eq!(
            dec.next_message(),
            Err(DecodeError::EmptyFrame { offset: 0 })
        );
        assert_eq!(
            dec.next_message(),
            Err(DecodeError::EmptyFrame { offset: 0 })
        );
    }

    #[test]
    fn frame_size_is_patched() {
        let m = Message::new(MsgKind::Contact, 5, 6);
        let mut out = vec![0xFF];
        encode_frame(&m, &mut out).unwrap();
        assert_eq!(out, [0xFF, 0, 8, 35, 0, 0, 5, 0, 0, 0, 6]);
    }
}
