//! Packet captures of a failover pair (issue 18): writing one from the bytes two endpoints sent
//! each other, and reading one (pcap or pcapng, as tcpdump, dumpcap and Wireshark write them)
//! back into the messages each side sent.
//!
//! Failover partners talk over one long-lived TCP connection, always opened by the primary to the
//! secondary's dhcp-failover port 647 (RFC 8156 §6, §6.1). On it every message is framed by a
//! two-octet message-size (RFC 8156 §5.1 via RFC 5460 §5.1), so one TCP segment may carry several
//! messages and one message may be spread over several segments: reading a capture means
//! reassembling each direction's byte stream first (in sequence-number order, dropping
//! retransmitted octets), and only then cutting it into frames with [`FrameDecoder`].
//!
//! Writing is the mirror image, for tests and teaching material: the records of an in-process
//! pair (connect, the octets each side transmitted, close) become an IPv6/TCP conversation with a
//! handshake, data segments cut by a [`Segmenting`] policy (several frames in one segment, or
//! frames split over several) and a FIN exchange. Packets are built and parsed with `etherparse`,
//! files are written and read with `pcap-file`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Cursor;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TcpHeader, TransportSlice};
use failover_proto::wire::{DecodeError, FrameDecoder, Message};
use failover_proto::Role;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::DataLink;

/// The dhcp-failover port (RFC 8156 §5.1, §6.1).
pub const FAILOVER_PORT: u16 = 647;

/// Seconds from the Unix epoch to 2000-01-01T00:00:00Z, the epoch of every absolute time of the
/// protocol (RFC 8156 §3, sent-time of §5.2).
pub const EPOCH_2000_UNIX: u64 = 946_684_800;

/// How many out-of-order segments one direction may hold back waiting for a gap to fill; beyond
/// that the direction is given up (a capture with a hole that never closes).
const MAX_HELD_SEGMENTS: usize = 4096;

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// Something that happened on the partner connection, as an in-process pair records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireEvent {
    /// The primary opened a new connection to the secondary (RFC 8156 §6.1). A connection still
    /// open is abandoned without a FIN, as when the link was cut.
    Connect,
    /// Octets the sender handed to the connection.
    Data(Vec<u8>),
    /// The sender closed the connection (FIN).
    Close,
}

/// One [`WireEvent`] with its time and sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireRecord {
    /// Seconds since 2000-01-01T00:00:00Z (the protocol's own clock, RFC 8156 §3).
    pub time: u64,
    /// Who sent it (for [`WireEvent::Connect`], ignored: the primary always connects).
    pub from: Role,
    /// What happened.
    pub event: WireEvent,
}

/// How the octets of one direction are cut into TCP segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segmenting {
    /// Everything a side sends at one instant, in segments of at most `mss` octets: several
    /// frames in one segment (what a busy sender does).
    Coalesce {
        /// Largest segment payload.
        mss: usize,
    },
    /// Pieces of 1..=`max` octets, sizes from a xorshift generator seeded with `seed`: frames
    /// split over segments, the two-octet length itself split too.
    Pieces {
        /// Generator seed.
        seed: u64,
        /// Largest piece.
        max: usize,
    },
}

/// Addresses and segmenting of a written capture.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// The primary's address.
    pub primary: Ipv6Addr,
    /// The secondary's address.
    pub secondary: Ipv6Addr,
    /// The secondary's listening port ([`FAILOVER_PORT`]).
    pub port: u16,
    /// Segment sizes.
    pub segmenting: Segmenting,
    /// Record at most this many octets of each packet, as a capture with a small snapshot
    /// length does (for testing what readers make of cut packets).
    pub snaplen: Option<usize>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            primary: Ipv6Addr::new(0x2001, 0xdb8, 0xfa, 0, 0, 0, 0, 1),
            secondary: Ipv6Addr::new(0x2001, 0xdb8, 0xfa, 0, 0, 0, 0, 2),
            port: FAILOVER_PORT,
            segmenting: Segmenting::Coalesce { mss: 1440 },
            snaplen: None,
        }
    }
}

/// One direction of a connection being written.
struct TxDir {
    seq: u32,
}

struct TxConn {
    /// The primary's ephemeral port.
    port: u16,
    p: TxDir,
    s: TxDir,
}

struct Writer {
    opts: WriteOptions,
    out: PcapWriter<Vec<u8>>,
    conn: Option<TxConn>,
    conns: u16,
    /// Microseconds added within one second, so that packets keep their order.
    second: u64,
    micros: u64,
    rng: u64,
}

/// An error while writing a capture (the input records are inconsistent).
#[derive(Debug)]
pub struct WriteError(String);

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WriteError {}

impl Writer {
    fn timestamp(&mut self, time: u64) -> Duration {
        if time != self.second {
            self.second = time;
            self.micros = 0;
        } else {
            self.micros = (self.micros + 1).min(999_999);
        }
        Duration::from_secs(EPOCH_2000_UNIX + time) + Duration::from_micros(self.micros)
    }

    fn next_rand(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// One TCP segment from `from`, carrying `payload`, with the flags asked for.
    fn segment(
        &mut self,
        time: u64,
        from: Role,
        payload: &[u8],
        syn: bool,
        fin: bool,
    ) -> Result<(), WriteError> {
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| WriteError("a segment outside a connection".into()))?;
        let (src, dst, sport, dport) = match from {
            Role::Primary => (
                self.opts.primary,
                self.opts.secondary,
                conn.port,
                self.opts.port,
            ),
            Role::Secondary => (
                self.opts.secondary,
                self.opts.primary,
                self.opts.port,
                conn.port,
            ),
        };
        let (mine, theirs) = match from {
            Role::Primary => (&mut conn.p, &conn.s),
            Role::Secondary => (&mut conn.s, &conn.p),
        };
        let mut h = TcpHeader::new(sport, dport, mine.seq, 64_000);
        h.syn = syn;
        h.fin = fin;
        // Everything but the very first SYN acknowledges what the other side sent.
        if !(syn && from == Role::Primary) {
            h.ack = true;
            h.acknowledgment_number = theirs.seq;
        }
        h.psh = !payload.is_empty();
        mine.seq = mine
            .seq
            .wrapping_add(payload.len() as u32)
            .wrapping_add(u32::from(syn) + u32::from(fin));
        let builder = PacketBuilder::ethernet2(mac(from), mac(from.partner()))
            .ipv6(src.octets(), dst.octets(), 64)
            .tcp_header(h);
        let mut frame = Vec::with_capacity(builder.size(payload.len()));
        builder
            .write(&mut frame, payload)
            .map_err(|e| WriteError(format!("cannot build a packet: {e}")))?;
        let ts = self.timestamp(time);
        let kept = self
            .opts
            .snaplen
            .map_or(frame.len(), |n| n.min(frame.len()));
        self.out
            .write_packet(&PcapPacket::new(ts, frame.len() as u32, &frame[..kept]))
            .map_err(|e| WriteError(format!("cannot write a packet: {e}")))?;
        Ok(())
    }

    fn connect(&mut self, time: u64) -> Result<(), WriteError> {
        self.conns += 1;
        let n = u32::from(self.conns);
        self.conn = Some(TxConn {
            port: 49_152 + self.conns,
            p: TxDir {
                seq: 0x1000_0000u32.wrapping_mul(n),
            },
            s: TxDir {
                seq: 0x7000_0000u32.wrapping_add(0x0100_0000u32.wrapping_mul(n)),
            },
        });
        // The three-way handshake, primary first (RFC 8156 §6.1).
        self.segment(time, Role::Primary, &[], true, false)?;
        self.segment(time, Role::Secondary, &[], true, false)?;
        self.segment(time, Role::Primary, &[], false, false)
    }

    fn data(&mut self, time: u64, from: Role, bytes: &[u8]) -> Result<(), WriteError> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = match self.opts.segmenting {
                Segmenting::Coalesce { mss } => mss.max(1),
                Segmenting::Pieces { max, .. } => {
                    (self.next_rand() % max.max(1) as u64) as usize + 1
                }
            }
            .min(rest.len());
            let (piece, tail) = rest.split_at(n);
            self.segment(time, from, piece, false, false)?;
            rest = tail;
        }
        Ok(())
    }

    fn close(&mut self, time: u64, from: Role) -> Result<(), WriteError> {
        self.segment(time, from, &[], false, true)?;
        self.segment(time, from.partner(), &[], false, true)?;
        self.segment(time, from, &[], false, false)?;
        self.conn = None;
        Ok(())
    }
}

fn mac(r: Role) -> [u8; 6] {
    match r {
        Role::Primary => [0x02, 0, 0, 0, 0xfa, 0x01],
        Role::Secondary => [0x02, 0, 0, 0, 0xfa, 0x02],
    }
}

/// Write the records of a pair as a pcap file (Ethernet, IPv6, TCP).
///
/// Consecutive [`WireEvent::Data`] of one side at one time are joined before they are cut into
/// segments, so [`Segmenting::Coalesce`] puts several frames in one segment. Data sent while no
/// connection is open never reached the partner and is left out.
pub fn write_capture(records: &[WireRecord], opts: &WriteOptions) -> Result<Vec<u8>, WriteError> {
    let mut header = PcapHeader {
        datalink: DataLink::ETHERNET,
        ..PcapHeader::default()
    };
    if let Some(n) = opts.snaplen {
        header.snaplen = n as u32;
    }
    let out = PcapWriter::with_header(Vec::new(), header)
        .map_err(|e| WriteError(format!("cannot write the pcap header: {e}")))?;
    let rng = match opts.segmenting {
        Segmenting::Pieces { seed, .. } => seed | 1,
        Segmenting::Coalesce { .. } => 1,
    };
    let mut w = Writer {
        opts: opts.clone(),
        out,
        conn: None,
        conns: 0,
        second: u64::MAX,
        micros: 0,
        rng,
    };
    let mut pending: Option<(u64, Role, Vec<u8>)> = None;
    for r in records {
        match (&r.event, &mut pending) {
            (WireEvent::Data(d), Some((t, from, buf))) if *t == r.time && *from == r.from => {
                buf.extend_from_slice(d);
                continue;
            }
            _ => {}
        }
        if let Some((t, from, buf)) = pending.take() {
            w.data(t, from, &buf)?;
        }
        match &r.event {
            WireEvent::Connect => w.connect(r.time)?,
            WireEvent::Data(d) if w.conn.is_some() => pending = Some((r.time, r.from, d.clone())),
            WireEvent::Data(_) => {}
            WireEvent::Close if w.conn.is_some() => w.close(r.time, r.from)?,
            WireEvent::Close => {}
        }
    }
    if let Some((t, from, buf)) = pending.take() {
        w.data(t, from, &buf)?;
    }
    Ok(w.out.into_writer())
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// An address and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    /// IP address.
    pub addr: IpAddr,
    /// TCP port.
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
        }
    }
}

/// A capture that cannot be read, with what is wrong.
#[derive(Debug, PartialEq, Eq)]
pub enum CaptureError {
    /// Neither a pcap nor a pcapng file.
    NotACapture,
    /// The file ends (or is damaged) inside a record.
    Damaged {
        /// Packets read before the damage.
        packets: usize,
        /// What the reader said.
        reason: String,
    },
    /// A link type this reader does not unwrap.
    UnsupportedLinkType(String),
    /// No TCP segment to or from the port.
    NoFailoverTraffic {
        /// Packets in the capture.
        packets: usize,
        /// The port looked for.
        port: u16,
    },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::NotACapture => f.write_str(
                "not a packet capture: expected a pcap or pcapng file (as written by tcpdump, dumpcap or Wireshark)",
            ),
            CaptureError::Damaged { packets, reason } => write!(
                f,
                "the capture is truncated or damaged after {packets} complete packet(s): {reason}"
            ),
            CaptureError::UnsupportedLinkType(l) => write!(
                f,
                "link type {l} is not supported (Ethernet, Linux cooked (SLL), raw IP, BSD loopback are)"
            ),
            CaptureError::NoFailoverTraffic { packets, port } => write!(
                f,
                "no failover traffic: none of the {packets} packets is TCP to or from port {port} (RFC 8156 §6.1)"
            ),
        }
    }
}

impl std::error::Error for CaptureError {}

/// One message found in a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedMessage {
    /// Number (from 1) of the packet that completed the message.
    pub packet: usize,
    /// Capture time of that packet.
    pub time: Duration,
    /// Index in [`Capture::connections`].
    pub connection: usize,
    /// Sender.
    pub from: Endpoint,
    /// Receiver.
    pub to: Endpoint,
    /// The message octets (without the two-octet message-size).
    pub bytes: Vec<u8>,
    /// The codec's reading of them.
    pub message: Result<Message, DecodeError>,
}

/// Something wrong in one direction of a connection (the rest of that direction is not read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamProblem {
    /// Index in [`Capture::connections`].
    pub connection: usize,
    /// The sender of the broken direction.
    pub from: Endpoint,
    /// What is wrong.
    pub problem: String,
}

/// One TCP connection of the capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// The side that sent the SYN (if the capture has it), else the side not on the port: the
    /// primary, since "This connection is always initiated by the primary server" (RFC 8156 §6).
    pub client: Endpoint,
    /// The other side.
    pub server: Endpoint,
    /// Whether the handshake was seen.
    pub syn_seen: bool,
}

/// What a capture holds on the failover port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    /// Packets in the file.
    pub packets: usize,
    /// The connections, in the order they appear.
    pub connections: Vec<Connection>,
    /// Every message, in the order their last octet was captured.
    pub messages: Vec<CapturedMessage>,
    /// Directions that could not be read to the end.
    pub problems: Vec<StreamProblem>,
}

/// One direction being reassembled.
struct RxDir {
    connection: usize,
    from: Endpoint,
    to: Endpoint,
    /// The sequence number of the next octet wanted.
    next: Option<u32>,
    held: BTreeMap<u32, (Vec<u8>, usize, Duration)>,
    decoder: FrameDecoder,
    broken: bool,
}

struct Reassembly {
    port: u16,
    dirs: BTreeMap<(Endpoint, Endpoint), RxDir>,
    capture: Capture,
}

/// Offset of `seq` after `base`, in sequence space (RFC 9293 §3.4: comparisons modulo 2^32).
fn after(seq: u32, base: u32) -> i64 {
    i64::from(seq.wrapping_sub(base) as i32)
}

impl Reassembly {
    fn segment(
        &mut self,
        packet: usize,
        time: Duration,
        from: Endpoint,
        to: Endpoint,
        tcp: &etherparse::TcpSlice<'_>,
    ) {
        if from.port != self.port && to.port != self.port {
            return;
        }
        let key = (from, to);
        let new_connection = tcp.syn() || !self.dirs.contains_key(&key);
        // A SYN without ACK opens a connection (RFC 9293 §3.5).
        let opening = tcp.syn() && !tcp.ack();
        if new_connection {
            let reverse = self.dirs.get(&(to, from));
            // A SYN/ACK, or the first segment of the reverse direction, belongs to the
            // connection the other direction opened.
            let connection = match reverse {
                Some(r) if !opening => r.connection,
                _ => {
                    let (client, server) = if opening {
                        (from, to)
                    } else if from.port == self.port {
                        (to, from)
                    } else {
                        (from, to)
                    };
                    self.capture.connections.push(Connection {
                        client,
                        server,
                        syn_seen: tcp.syn(),
                    });
                    self.capture.connections.len() - 1
                }
            };
            self.dirs.insert(
                key,
                RxDir {
                    connection,
                    from,
                    to,
                    next: tcp.syn().then(|| tcp.sequence_number().wrapping_add(1)),
                    held: BTreeMap::new(),
                    decoder: FrameDecoder::new(),
                    broken: false,
                },
            );
            if tcp.syn() {
                return;
            }
        }
        let payload = tcp.payload();
        if payload.is_empty() {
            return;
        }
        let dir = self.dirs.get_mut(&key).expect("inserted above");
        if dir.broken {
            return;
        }
        let next = *dir.next.get_or_insert(tcp.sequence_number());
        let off = after(tcp.sequence_number(), next);
        if off > 0 {
            if dir.held.len() >= MAX_HELD_SEGMENTS {
                dir.broken = true;
                self.capture.problems.push(StreamProblem {
                    connection: dir.connection,
                    from,
                    problem: format!(
                        "a gap in the stream before packet {packet} never fills (segments lost from the capture)"
                    ),
                });
                return;
            }
            dir.held
                .insert(tcp.sequence_number(), (payload.to_vec(), packet, time));
            return;
        }
        Self::take(dir, payload, off, packet, time, &mut self.capture);
        // Held segments that now fit.
        while let Some(next) = dir.next {
            let Some((&seq, _)) = dir.held.iter().find(|(&s, _)| after(s, next) <= 0) else {
                break;
            };
            let (bytes, p, t) = dir.held.remove(&seq).expect("found");
            Self::take(dir, &bytes, after(seq, next), p, t, &mut self.capture);
            if dir.broken {
                break;
            }
        }
    }

    /// Append the new part of a segment that starts `off` (≤ 0) octets before the next wanted.
    fn take(
        dir: &mut RxDir,
        payload: &[u8],
        off: i64,
        packet: usize,
        time: Duration,
        capture: &mut Capture,
    ) {
        let skip = usize::try_from(-off).unwrap_or(usize::MAX);
        if skip >= payload.len() {
            return; // a retransmission of octets already had
        }
        let fresh = &payload[skip..];
        dir.next = dir.next.map(|n| n.wrapping_add(fresh.len() as u32));
        dir.decoder.push(fresh);
        loop {
            match dir.decoder.next_frame().map(|f| f.map(<[u8]>::to_vec)) {
                Ok(Some(bytes)) => capture.messages.push(CapturedMessage {
                    packet,
                    time,
                    connection: dir.connection,
                    from: dir.from,
                    to: dir.to,
                    message: Message::decode(&bytes),
                    bytes,
                }),
                Ok(None) => break,
                Err(e) => {
                    dir.broken = true;
                    capture.problems.push(StreamProblem {
                        connection: dir.connection,
                        from: dir.from,
                        problem: format!(
                            "the framing breaks in packet {packet}: {e} (RFC 5460 §5.1)"
                        ),
                    });
                    break;
                }
            }
        }
    }

    fn finish(mut self) -> Capture {
        for dir in self.dirs.values() {
            if !dir.broken && !dir.held.is_empty() {
                self.capture.problems.push(StreamProblem {
                    connection: dir.connection,
                    from: dir.from,
                    problem: format!(
                        "{} segments after a gap (octets missing from the capture) were not read",
                        dir.held.len()
                    ),
                });
            } else if !dir.broken && dir.decoder.buffered() > 0 {
                self.capture.problems.push(StreamProblem {
                    connection: dir.connection,
                    from: dir.from,
                    problem: format!(
                        "the capture ends inside a message ({} octets of it captured)",
                        dir.decoder.buffered()
                    ),
                });
            }
        }
        self.capture
    }
}

/// Unwrap one captured frame down to its IP packet and TCP segment.
fn slice(link: DataLink, data: &[u8]) -> Option<SlicedPacket<'_>> {
    match link {
        DataLink::ETHERNET => SlicedPacket::from_ethernet(data).ok(),
        DataLink::LINUX_SLL => SlicedPacket::from_linux_sll(data).ok(),
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => SlicedPacket::from_ip(data).ok(),
        // BSD loopback: a 4-octet address family in host order, then the IP packet.
        DataLink::NULL | DataLink::LOOP => {
            data.get(4..).and_then(|d| SlicedPacket::from_ip(d).ok())
        }
        // Linux cooked v2: 20 octets, the protocol type first.
        DataLink::LINUX_SLL2 => data.get(20..).and_then(|d| SlicedPacket::from_ip(d).ok()),
        _ => None,
    }
}

fn supported(link: DataLink) -> bool {
    matches!(
        link,
        DataLink::ETHERNET
            | DataLink::LINUX_SLL
            | DataLink::LINUX_SLL2
            | DataLink::RAW
            | DataLink::IPV4
            | DataLink::IPV6
            | DataLink::NULL
            | DataLink::LOOP
    )
}

impl Reassembly {
    fn packet(&mut self, link: DataLink, time: Duration, data: &[u8]) {
        self.capture.packets += 1;
        let packet = self.capture.packets;
        let Some(p) = slice(link, data) else {
            return;
        };
        let (Some(net), Some(TransportSlice::Tcp(tcp))) = (&p.net, &p.transport) else {
            return;
        };
        let (src, dst) = match net {
            NetSlice::Ipv4(ip) => (
                IpAddr::V4(ip.header().source_addr()),
                IpAddr::V4(ip.header().destination_addr()),
            ),
            NetSlice::Ipv6(ip) => (
                IpAddr::V6(ip.header().source_addr()),
                IpAddr::V6(ip.header().destination_addr()),
            ),
            NetSlice::Arp(_) => return,
        };
        let from = Endpoint {
            addr: src,
            port: tcp.source_port(),
        };
        let to = Endpoint {
            addr: dst,
            port: tcp.destination_port(),
        };
        self.segment(packet, time, from, to, tcp);
    }
}

/// Read a capture (pcap or pcapng) and the failover messages on `port` in it.
pub fn read_capture(bytes: &[u8], port: u16) -> Result<Capture, CaptureError> {
    let mut r = Reassembly {
        port,
        dirs: BTreeMap::new(),
        capture: Capture {
            packets: 0,
            connections: Vec::new(),
            messages: Vec::new(),
            problems: Vec::new(),
        },
    };
    let damaged = |packets: usize, e: pcap_file::PcapError| CaptureError::Damaged {
        packets,
        reason: match e {
            pcap_file::PcapError::IncompleteBuffer => "the file ends inside a packet record".into(),
            pcap_file::PcapError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                "the file ends inside a packet record".into()
            }
            other => other.to_string(),
        },
    };
    let magic = bytes.get(..4).ok_or(CaptureError::NotACapture)?;
    match magic {
        // pcapng Section Header Block.
        [0x0A, 0x0D, 0x0D, 0x0A] => {
            let mut reader = PcapNgReader::new(Cursor::new(bytes)).map_err(|e| damaged(0, e))?;
            while let Some(block) = reader.next_block() {
                let block = block.map_err(|e| damaged(r.capture.packets, e))?;
                let (iface, time, data) = match block {
                    Block::EnhancedPacket(p) => (p.interface_id, p.timestamp, p.data.into_owned()),
                    Block::SimplePacket(p) => (0, Duration::ZERO, p.data.into_owned()),
                    _ => continue,
                };
                let link = reader
                    .interfaces()
                    .get(iface as usize)
                    .map(|i| i.linktype)
                    .ok_or_else(|| {
                        damaged(
                            r.capture.packets,
                            pcap_file::PcapError::InvalidInterfaceId(iface),
                        )
                    })?;
                if !supported(link) {
                    return Err(CaptureError::UnsupportedLinkType(format!("{link:?}")));
                }
                r.packet(link, time, &data);
            }
        }
        [0xD4, 0xC3, 0xB2, 0xA1]
        | [0xA1, 0xB2, 0xC3, 0xD4]
        | [0x4D, 0x3C, 0xB2, 0xA1]
        | [0xA1, 0xB2, 0x3C, 0x4D] => {
            let mut reader = PcapReader::new(Cursor::new(bytes)).map_err(|e| damaged(0, e))?;
            let link = reader.header().datalink;
            if !supported(link) {
                return Err(CaptureError::UnsupportedLinkType(format!("{link:?}")));
            }
            while let Some(p) = reader.next_packet() {
                let p = p.map_err(|e| damaged(r.capture.packets, e))?;
                let (time, data) = (p.timestamp, p.data.into_owned());
                r.packet(link, time, &data);
            }
        }
        _ => return Err(CaptureError::NotACapture),
    }
    if r.dirs.is_empty() {
        return Err(CaptureError::NoFailoverTraffic {
            packets: r.capture.packets,
            port,
        });
    }
    Ok(r.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use failover_proto::wire::DhcpOption;
    use failover_proto::MsgKind;

    fn records() -> (Vec<WireRecord>, Vec<Message>) {
        let msgs: Vec<Message> = (0..6)
            .map(|i| Message::new(MsgKind::BndUpd, i, 1000).with(DhcpOption::Mclt(i)))
            .collect();
        let mut r = vec![WireRecord {
            time: 1000,
            from: Role::Primary,
            event: WireEvent::Connect,
        }];
        for m in &msgs {
            let mut b = Vec::new();
            m.encode_framed(&mut b).unwrap();
            r.push(WireRecord {
                time: 1000,
                from: Role::Primary,
                event: WireEvent::Data(b),
            });
        }
        (r, msgs)
    }

    fn packets(pcap: &[u8]) -> Vec<(Duration, Vec<u8>)> {
        let mut r = PcapReader::new(Cursor::new(pcap)).unwrap();
        let mut out = Vec::new();
        while let Some(p) = r.next_packet() {
            let p = p.unwrap();
            out.push((p.timestamp, p.data.into_owned()));
        }
        out
    }

    fn rewrite(packets: &[(Duration, Vec<u8>)]) -> Vec<u8> {
        let header = PcapHeader {
            datalink: DataLink::ETHERNET,
            ..PcapHeader::default()
        };
        let mut w = PcapWriter::with_header(Vec::new(), header).unwrap();
        for (t, d) in packets {
            w.write_packet(&PcapPacket::new(*t, d.len() as u32, d))
                .unwrap();
        }
        w.into_writer()
    }

    fn decoded(c: &Capture) -> Vec<Message> {
        c.messages
            .iter()
            .map(|m| m.message.clone().unwrap())
            .collect()
    }

    #[test]
    fn reassembly_survives_reordering_and_retransmission() {
        let (recs, msgs) = records();
        let opts = WriteOptions {
            segmenting: Segmenting::Pieces { seed: 9, max: 7 },
            ..WriteOptions::default()
        };
        let mut p = packets(&write_capture(&recs, &opts).unwrap());
        assert!(p.len() > 12, "data split over many segments");
        // Segments 5 and 6 swapped, segment 8 sent twice, segment 10 resent after 11.
        p.swap(5, 6);
        let again = p[8].clone();
        p.insert(9, again);
        let late = p[10].clone();
        p.insert(12, late);
        let c = read_capture(&rewrite(&p), FAILOVER_PORT).unwrap();
        assert_eq!(decoded(&c), msgs);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.connections.len(), 1);
        assert!(c.connections[0].syn_seen);
    }

    #[test]
    fn a_lost_segment_is_reported_not_papered_over() {
        let (recs, msgs) = records();
        let opts = WriteOptions {
            segmenting: Segmenting::Pieces { seed: 9, max: 7 },
            ..WriteOptions::default()
        };
        let mut p = packets(&write_capture(&recs, &opts).unwrap());
        p.remove(p.len() / 2);
        let c = read_capture(&rewrite(&p), FAILOVER_PORT).unwrap();
        let got = decoded(&c);
        assert!(got.len() < msgs.len() && msgs.starts_with(&got));
        assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
        assert!(c.problems[0].problem.contains("gap"), "{:?}", c.problems);
    }

    #[test]
    fn a_capture_starting_mid_connection_still_finds_the_primary() {
        let (recs, msgs) = records();
        let mut p = packets(&write_capture(&recs, &WriteOptions::default()).unwrap());
        p.drain(..3); // no handshake
        let c = read_capture(&rewrite(&p), FAILOVER_PORT).unwrap();
        assert_eq!(decoded(&c), msgs);
        assert!(!c.connections[0].syn_seen);
        assert_eq!(c.connections[0].server.port, FAILOVER_PORT);
        assert_eq!(
            c.connections[0].client.addr,
            IpAddr::V6(WriteOptions::default().primary)
        );
    }

    #[test]
    fn bad_files_are_named() {
        assert_eq!(read_capture(b"hello", 647), Err(CaptureError::NotACapture));
        assert_eq!(read_capture(b"", 647), Err(CaptureError::NotACapture));
        let (recs, _) = records();
        let pcap = write_capture(&recs, &WriteOptions::default()).unwrap();
        assert!(matches!(
            read_capture(&pcap[..pcap.len() - 5], 647),
            Err(CaptureError::Damaged { .. })
        ));
        assert_eq!(
            read_capture(&pcap, 80),
            Err(CaptureError::NoFailoverTraffic {
                packets: packets(&pcap).len(),
                port: 80
            })
        );
    }
}
