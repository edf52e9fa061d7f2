//! The DHCPv6 clients of the wire tests: a client message relayed to the server under test as a
//! relay agent would (RELAY-FORW, RFC 8415 §19.1), because a client on loopback cannot reach
//! ff02::1:2 and a server must discard a SOLICIT sent to its unicast address (RFC 8415 §16),
//! while a relay's RELAY-FORW is unicast by design.

use std::net::{Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use dhcproto::v6::{DhcpOption, DhcpOptions, Message, MessageType, IANA};
use dhcproto::{Decodable, Decoder, Encodable, Encoder};

/// The address and valid lifetime a REPLY gave, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Granted {
    /// IA_NA / IAADDR of the REPLY.
    Address {
        /// The address.
        addr: Ipv6Addr,
        /// Its valid lifetime, seconds.
        valid: u32,
    },
    /// A reply without an address (a status code instead, e.g. NoAddrsAvail).
    NoAddress(String),
    /// No reply within the wait.
    NoReply,
    /// The datagram back was not a RELAY-REPL with a client message in it.
    Malformed(String),
}

/// SOLICIT with Rapid Commit (RFC 8415 §18.2.1) from client `duid` for one IA_NA, relayed from
/// a link whose address is `link`; the REPLY's address and lifetime.
pub fn solicit_rapid_commit(
    server: SocketAddr,
    link: Ipv6Addr,
    duid: &[u8],
    wait: Duration,
) -> Result<Granted, String> {
    solicit_rapid_commit_from(server, link, duid, wait).map(|(granted, _)| granted)
}

/// [`solicit_rapid_commit`], also giving the replying server's DUID (its Server Identifier), for
/// a later [`renew`].
pub fn solicit_rapid_commit_from(
    server: SocketAddr,
    link: Ipv6Addr,
    duid: &[u8],
    wait: Duration,
) -> Result<(Granted, Option<Vec<u8>>), String> {
    let mut m = Message::new(MessageType::Solicit);
    m.opts_mut().insert(DhcpOption::ClientId(duid.to_vec()));
    m.opts_mut().insert(DhcpOption::ElapsedTime(0));
    m.opts_mut().insert(DhcpOption::RapidCommit);
    m.opts_mut().insert(DhcpOption::IANA(IANA {
        id: 1,
        t1: 0,
        t2: 0,
        opts: DhcpOptions::new(),
    }));
    exchange(server, link, &m, wait)
}

/// RENEW (RFC 8415 §18.2.4) of `addr` by client `duid`, naming the server `server_id` that gave
/// it; the REPLY's address and lifetime.
pub fn renew(
    server: SocketAddr,
    link: Ipv6Addr,
    duid: &[u8],
    server_id: &[u8],
    addr: Ipv6Addr,
    wait: Duration,
) -> Result<Granted, String> {
    let mut m = Message::new(MessageType::Renew);
    m.opts_mut().insert(DhcpOption::ClientId(duid.to_vec()));
    m.opts_mut()
        .insert(DhcpOption::ServerId(server_id.to_vec()));
    m.opts_mut().insert(DhcpOption::ElapsedTime(0));
    let mut ia = DhcpOptions::new();
    ia.insert(DhcpOption::IAAddr(dhcproto::v6::IAAddr {
        addr,
        preferred_life: 0,
        valid_life: 0,
        opts: DhcpOptions::new(),
    }));
    m.opts_mut().insert(DhcpOption::IANA(IANA {
        id: 1,
        t1: 0,
        t2: 0,
        opts: ia,
    }));
    exchange(server, link, &m, wait).map(|(g, _)| g)
}

/// Send `m` relayed from `link`; the reply read as [`Granted`] with the server's DUID.
fn exchange(
    server: SocketAddr,
    link: Ipv6Addr,
    m: &Message,
    wait: Duration,
) -> Result<(Granted, Option<Vec<u8>>), String> {
    let bind = match server {
        SocketAddr::V6(_) => "[::]:0",
        SocketAddr::V4(_) => "0.0.0.0:0",
    };
    let sock = UdpSocket::bind(bind).map_err(|e| format!("UDP socket: {e}"))?;
    sock.set_read_timeout(Some(wait))
        .map_err(|e| format!("UDP socket: {e}"))?;
    sock.send_to(&relay_forw(m, link)?, server)
        .map_err(|e| format!("sending to {server}: {e}"))?;
    let mut buf = [0u8; 4096];
    let n = match sock.recv_from(&mut buf) {
        Ok((n, _)) => n,
        Err(_) => return Ok((Granted::NoReply, None)),
    };
    Ok((read_reply(&buf[..n]), server_id(&buf[..n])))
}

/// The Server Identifier of the client message inside a RELAY-REPL.
fn server_id(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut rest = bytes.get(34..)?;
    while rest.len() >= 4 {
        let code = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let data = rest.get(4..4 + len)?;
        if code == 9 {
            let m = Message::decode(&mut Decoder::new(data)).ok()?;
            return m.opts().iter().find_map(|o| match o {
                DhcpOption::ServerId(s) => Some(s.clone()),
                _ => None,
            });
        }
        rest = &rest[4 + len..];
    }
    None
}

fn relay_forw(inner: &Message, link: Ipv6Addr) -> Result<Vec<u8>, String> {
    let mut inner_bytes = Vec::new();
    inner
        .encode(&mut Encoder::new(&mut inner_bytes))
        .map_err(|e| format!("encoding the client message: {e}"))?;
    // msg-type 12, hop-count 0, link-address, peer-address (RFC 8415 §9).
    let mut out = vec![12u8, 0];
    out.extend_from_slice(&link.octets());
    out.extend_from_slice(&Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x42).octets());
    for (code, data) in [(18u16, b"wire".to_vec()), (9u16, inner_bytes)] {
        out.extend_from_slice(&code.to_be_bytes());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(&data);
    }
    Ok(out)
}

fn read_reply(bytes: &[u8]) -> Granted {
    if bytes.len() < 34 || bytes[0] != 13 {
        return Granted::Malformed("not a RELAY-REPL".into());
    }
    let mut rest = &bytes[34..];
    let mut inner = None;
    while rest.len() >= 4 {
        let code = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let Some(data) = rest.get(4..4 + len) else {
            return Granted::Malformed("an option runs past the datagram".into());
        };
        if code == 9 {
            inner = Some(data);
        }
        rest = &rest[4 + len..];
    }
    let Some(inner) = inner else {
        return Granted::Malformed("no Relay Message option".into());
    };
    let m = match Message::decode(&mut Decoder::new(inner)) {
        Ok(m) => m,
        Err(e) => return Granted::Malformed(format!("the client message: {e}")),
    };
    for o in m.opts().iter() {
        if let DhcpOption::IANA(ia) = o {
            for i in ia.opts.iter() {
                match i {
                    DhcpOption::IAAddr(a) => {
                        return Granted::Address {
                            addr: a.addr,
                            valid: a.valid_life,
                        }
                    }
                    DhcpOption::StatusCode(s) => {
                        return Granted::NoAddress(format!("{:?} {}", s.status, s.msg))
                    }
                    _ => {}
                }
            }
        }
    }
    Granted::NoAddress(format!("{:?} without an IAADDR", m.msg_type()))
}
