//! One partner connection of the wire tester: real TCP to (or from) the server under test, RFC
//! 5460 §5.1 framing through failover-proto's [`FrameDecoder`], every octet recorded for
//! `--pcap`, every wait bounded.
//!
//! A peer never blocks longer than the deadline it is given: reads use a short socket timeout and
//! are retried until the deadline, so a server that never answers, stops mid-frame or floods
//! gives a [`Recv`] verdict, never a hung harness.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use failover_proto::wire::{DhcpOption, FrameDecoder, Message, Status, StatusCode};
use failover_proto::{MsgKind, Role};

use super::tls::{WireStream, WireTls};
use crate::capture::{WireEvent, WireRecord};

/// 2000-01-01T00:00:00Z in Unix seconds: the epoch of sent-time (RFC 8156 §5.2).
const EPOCH_2000_UNIX: u64 = 946_684_800;

/// Most octets buffered from the server before the peer calls it a flood: a well-behaved server
/// sends at most MAX_UNACKED_BNDUPD updates ahead, each far below 64 KiB.
const FLOOD_LIMIT: usize = 4 * 1024 * 1024;

/// Now as the protocol's clock: seconds since 2000-01-01 (RFC 8156 §5.2, §3).
pub fn wire_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_sub(EPOCH_2000_UNIX)
}

/// The octets exchanged during a run, in the form [`crate::capture::write_capture`] takes.
#[derive(Default)]
pub struct Transcript {
    /// In order of time.
    pub records: Vec<WireRecord>,
}

/// A shared transcript (one per run; every connection of every test appends to it).
pub type SharedTranscript = Arc<Mutex<Transcript>>;

/// What came (or did not come) from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recv {
    /// A whole, decodable message.
    Msg(Message),
    /// The server closed the connection (FIN or reset).
    Closed,
    /// Nothing matching before the deadline.
    Timeout,
    /// The server's octets are not RFC 8156 messages (bad message-size, undecodable message).
    ProtocolError(String),
    /// More than [`FLOOD_LIMIT`] octets without a matching message.
    Flood,
}

impl Recv {
    /// How the outcome reads in a verdict.
    pub fn describe(&self) -> String {
        match self {
            Recv::Msg(m) => describe(m),
            Recv::Closed => "the connection closed".into(),
            Recv::Timeout => "nothing (timeout)".into(),
            Recv::ProtocolError(e) => format!("protocol error: {e}"),
            Recv::Flood => format!("a flood (more than {FLOOD_LIMIT} octets unanswered)"),
        }
    }
}

/// A message in a line: kind, then its status code if any.
pub fn describe(m: &Message) -> String {
    let kind = m
        .msg_type
        .name()
        .map_or_else(|| format!("msg-type {}", m.msg_type.0), str::to_string);
    match status_of(m) {
        Some(s) => format!("{kind} status {}", s.code),
        None => kind,
    }
}

/// The first OPTION_STATUS_CODE of the message (top level, then inside CLIENT_DATA / IAs).
pub fn status_of(m: &Message) -> Option<Status> {
    fn find(opts: &[DhcpOption]) -> Option<Status> {
        for o in opts {
            if let DhcpOption::StatusCode(s) = o {
                return Some(s.clone());
            }
        }
        for o in opts {
            if let Some(inner) = o.nested() {
                if let Some(s) = find(inner) {
                    return Some(s);
                }
            }
        }
        None
    }
    find(&m.options)
}

/// Every non-success status code anywhere in the message.
pub fn failure_codes(m: &Message) -> Vec<StatusCode> {
    fn walk(opts: &[DhcpOption], out: &mut Vec<StatusCode>) {
        for o in opts {
            if let DhcpOption::StatusCode(s) = o {
                if !s.code.is_success() {
                    out.push(s.code);
                }
            }
            if let Some(inner) = o.nested() {
                walk(inner, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&m.options, &mut out);
    out
}

/// The harness's side of one partner connection.
pub struct Peer {
    stream: Box<dyn WireStream>,
    decoder: FrameDecoder,
    transcript: SharedTranscript,
    /// The harness plays this role; the server under test the other one.
    harness: Role,
    next_xid: u32,
    last_sent: Instant,
    /// Send CONTACT after this much silence (None: stay silent, for the §6.6 tests).
    pub contact_every: Option<Duration>,
    /// Answer the server's own requests (UPDREQ/UPDREQALL with UPDDONE, BNDUPD with a
    /// BNDREPLY accepting it, POOLREQ with POOLRESP) while waiting for something else.
    pub answer_requests: bool,
    /// Messages seen while waiting, in order (what the server sent, whether expected or not).
    pub seen: Vec<(Instant, Message)>,
    /// Octets buffered without a whole message (flood detection).
    unparsed: usize,
    closed: bool,
}

impl Peer {
    /// Connect to the server (the harness is the primary, RFC 8156 §6.1).
    pub fn connect(
        addr: SocketAddr,
        within: Duration,
        transcript: SharedTranscript,
    ) -> Result<Peer, String> {
        Peer::connect_secured(addr, within, transcript, None)
    }

    /// [`Peer::connect`], then STARTTLS and the TLS handshake if `tls` is given.
    pub fn connect_secured(
        addr: SocketAddr,
        within: Duration,
        transcript: SharedTranscript,
        tls: Option<&WireTls>,
    ) -> Result<Peer, String> {
        let stream = TcpStream::connect_timeout(&addr, within)
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let stream: Box<dyn WireStream> = match tls {
            Some(t) => t.secure(stream, within)?,
            None => Box::new(stream),
        };
        let peer = Peer::from_stream(stream, Role::Primary, transcript);
        peer.record_event(Role::Primary, WireEvent::Connect);
        Ok(peer)
    }

    /// A connection the server opened to the harness (the harness is the secondary).
    pub fn accepted(stream: TcpStream, transcript: SharedTranscript) -> Peer {
        let _ = stream.set_nodelay(true);
        let peer = Peer::from_stream(Box::new(stream), Role::Secondary, transcript);
        peer.record_event(Role::Primary, WireEvent::Connect);
        peer
    }

    /// [`Peer::accepted`], after STARTTLS and the TLS handshake if `tls` is given.
    pub fn accepted_secured(
        stream: TcpStream,
        transcript: SharedTranscript,
        tls: Option<&WireTls>,
        within: Duration,
    ) -> Result<Peer, String> {
        let _ = stream.set_nodelay(true);
        let stream: Box<dyn WireStream> = match tls {
            Some(t) => t.secure(stream, within)?,
            None => Box::new(stream),
        };
        let peer = Peer::from_stream(stream, Role::Secondary, transcript);
        peer.record_event(Role::Primary, WireEvent::Connect);
        Ok(peer)
    }

    fn from_stream(
        stream: Box<dyn WireStream>,
        harness: Role,
        transcript: SharedTranscript,
    ) -> Peer {
        Peer {
            stream,
            decoder: FrameDecoder::new(),
            transcript,
            harness,
            next_xid: 1,
            last_sent: Instant::now(),
            contact_every: Some(Duration::from_secs(1)),
            answer_requests: true,
            seen: Vec::new(),
            unparsed: 0,
            closed: false,
        }
    }

    /// The role the server under test plays on this connection.
    pub fn sut_role(&self) -> Role {
        match self.harness {
            Role::Primary => Role::Secondary,
            Role::Secondary => Role::Primary,
        }
    }

    fn record_event(&self, from: Role, event: WireEvent) {
        if let Ok(mut t) = self.transcript.lock() {
            t.records.push(WireRecord {
                time: wire_now(),
                from,
                event,
            });
        }
    }

    /// A fresh transaction-id (24 bits, RFC 8156 §5.4).
    pub fn xid(&mut self) -> u32 {
        let x = self.next_xid;
        self.next_xid = (self.next_xid + 1) & 0x00FF_FFFF;
        x
    }

    /// Send octets as they are (framing tests).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.record_event(self.harness, WireEvent::Data(bytes.to_vec()));
        self.last_sent = Instant::now();
        self.stream
            .write_all(bytes)
            .map_err(|e| format!("sending to the server: {e}"))
    }

    /// Send one message, framed.
    pub fn send(&mut self, msg: &Message) -> Result<(), String> {
        let mut out = Vec::new();
        msg.encode_framed(&mut out)
            .map_err(|e| format!("encoding {}: {e}", describe(msg)))?;
        self.send_raw(&out)
    }

    /// A message of `kind` with a fresh xid and sent-time now.
    pub fn message(&mut self, kind: MsgKind) -> Message {
        let xid = self.xid();
        Message::new(kind, xid, wire_now() as u32)
    }

    /// Close the harness's side (FIN).
    pub fn close(mut self) {
        self.record_event(self.harness, WireEvent::Close);
        let _ = self.stream.tcp().shutdown(Shutdown::Both);
        self.closed = true;
    }

    /// Wait until `deadline` for a message for which `want` holds; messages that do not match
    /// are kept in [`Peer::seen`] and, if [`Peer::answer_requests`], the server's requests are
    /// answered as a partner would.
    pub fn recv_until(
        &mut self,
        deadline: Instant,
        mut want: impl FnMut(&Message) -> bool,
    ) -> Recv {
        loop {
            match self.decoder.next_message() {
                Ok(Some(m)) => {
                    self.unparsed = self.decoder.buffered();
                    self.seen.push((Instant::now(), m.clone()));
                    if want(&m) {
                        return Recv::Msg(m);
                    }
                    if self.answer_requests {
                        if let Err(e) = self.answer(&m) {
                            return Recv::ProtocolError(e);
                        }
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => return Recv::ProtocolError(e.to_string()),
            }
            if self.closed {
                return Recv::Closed;
            }
            if self.unparsed > FLOOD_LIMIT {
                return Recv::Flood;
            }
            let now = Instant::now();
            if now >= deadline {
                return Recv::Timeout;
            }
            if let Some(every) = self.contact_every {
                if self.last_sent.elapsed() >= every {
                    let c = self.message(MsgKind::Contact);
                    if self.send(&c).is_err() {
                        // The server closed; the read below reports it.
                    }
                }
            }
            let slice = (deadline - now).min(Duration::from_millis(100));
            let _ = self
                .stream
                .tcp()
                .set_read_timeout(Some(slice.max(Duration::from_millis(1))));
            let mut buf = [0u8; 16 * 1024];
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    self.record_event(self.sut_role(), WireEvent::Close);
                    self.closed = true;
                }
                Ok(n) => {
                    self.record_event(self.sut_role(), WireEvent::Data(buf[..n].to_vec()));
                    self.decoder.push(&buf[..n]);
                    self.unparsed += n;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    // TLS (rustls) reports a fatal alert or a bad record this way: name it.
                    self.record_event(self.sut_role(), WireEvent::Close);
                    self.closed = true;
                    return Recv::ProtocolError(format!("TLS: {e}"));
                }
                Err(_) => {
                    // Reset by the server: a close as far as the protocol goes.
                    self.record_event(self.sut_role(), WireEvent::Close);
                    self.closed = true;
                }
            }
        }
    }

    /// Wait up to `within` for a message of `kind`.
    pub fn expect(&mut self, kind: MsgKind, within: Duration) -> Recv {
        self.recv_until(Instant::now() + within, |m| m.kind() == Ok(kind))
    }

    /// Wait up to `within` for the server to close the connection; messages before the close
    /// are kept in [`Peer::seen`].
    pub fn expect_close(&mut self, within: Duration) -> Recv {
        self.recv_until(Instant::now() + within, |_| false)
    }

    /// Answer one of the server's requests as a partner that agrees with everything would.
    fn answer(&mut self, m: &Message) -> Result<(), String> {
        let reply = match m.kind() {
            Ok(MsgKind::UpdReq) | Ok(MsgKind::UpdReqAll) => Some(Message::new(
                MsgKind::UpdDone,
                m.transaction_id,
                wire_now() as u32,
            )),
            Ok(MsgKind::PoolReq) => Some(Message::new(
                MsgKind::PoolResp,
                m.transaction_id,
                wire_now() as u32,
            )),
            Ok(MsgKind::BndUpd) => Some(bndreply_accepting(m)),
            _ => None,
        };
        match reply {
            Some(r) => self.send(&r),
            None => Ok(()),
        }
    }
}

/// A BNDREPLY accepting every binding of `upd` (RFC 8156 §7.6: the BNDUPD's CLIENT_DATA or
/// IAPREFIX echoed, no status code meaning success).
pub fn bndreply_accepting(upd: &Message) -> Message {
    let mut r = Message::new(MsgKind::BndReply, upd.transaction_id, wire_now() as u32);
    r.options = upd
        .options
        .iter()
        .filter(|o| matches!(o, DhcpOption::ClientData(_) | DhcpOption::IaPrefix(_)))
        .cloned()
        .collect();
    r
}
