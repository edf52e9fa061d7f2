//! The RFC 8156 wire codec: TCP framing (§5.1, RFC 5460 §5.1), the message header (§5.2), the
//! options a failover message carries (§5.5, §7.4) and status codes (§5.6).
//!
//! The codec is purely structural. It checks what the RFC's layouts fix (option lengths,
//! prefix-length ≤ 128, a 24-bit transaction-id, the value tables of binding-status and
//! server-state) and nothing else: which options a message must carry, and what to do about a
//! message that lacks them, are decisions of the receiving endpoint (`failover-core`).
//!
//! Decoding never panics and allocates only in proportion to the input; encoding a value that
//! decoding produced gives back the same octets.
//!
//! Every message is read with the 8-octet failover header of §5.2. The STARTTLS exchange that may
//! precede CONNECT (§6.1 via RFC 7653 §8.2: STARTTLS, msg-type 23, answered by a REPLY, 7) uses
//! RFC 3315 messages, whose header has no sent-time; this codec does not parse those.
//!
//! ```
//! use failover_proto::wire::{DhcpOption, FrameDecoder, Message, ProtocolVersion};
//! use failover_proto::MsgKind;
//!
//! let connect = Message::new(MsgKind::Connect, 1, 0x2F00_0000)
//!     .with(DhcpOption::ProtocolVersion(ProtocolVersion::RFC8156))
//!     .with(DhcpOption::Mclt(3600));
//! let mut stream = Vec::new();
//! connect.encode_framed(&mut stream).unwrap();
//!
//! let mut decoder = FrameDecoder::new();
//! decoder.push(&stream[..5]);
//! assert_eq!(decoder.next_message(), Ok(None)); // need more
//! decoder.push(&stream[5..]);
//! assert_eq!(decoder.next_message(), Ok(Some(connect)));
//! ```

mod error;
pub mod ext;
mod frame;
mod header;
mod message;
pub mod options;
mod reader;
mod status;

#[cfg(test)]
mod arbitrary;

pub use error::{DecodeError, EncodeError};
pub use frame::{encode_frame, split_frame, FrameDecoder, Framed, FRAME_HEADER_LEN, MAX_FRAME_LEN};
pub use header::{Header, MsgType, HEADER_LEN, MAX_TRANSACTION_ID};
pub use message::Message;
pub use options::{
    decode_options, encode_options, ClientFqdn, ConnectFlags, DhcpOption, DnsFlags, IaAddr, IaNa,
    IaPd, IaPrefix, IaTa, LqRelayData, OptionCode, ProtocolVersion, ReconfigureData, ServerFlags,
    Vss, MAX_DEPTH,
};
pub use status::{Status, StatusCode};
