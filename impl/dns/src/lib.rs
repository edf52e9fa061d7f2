//! `failover-dns`: the DNS-update side of RFC 8156 §9 for drivers of `failover-core`.
//!
//! The endpoint is sans-IO: it emits [`failover_core::DnsRequest`]s (add or remove the records
//! of one lease) and takes their outcome with `Endpoint::handle_dns_result`. This crate does the
//! I/O behind one trait, [`DnsUpdater`]:
//!
//! * [`Recorder`]: an in-memory implementation for tests (records what it was asked, holds a
//!   zone map, can be told to fail);
//! * [`Rfc2136Client`]: RFC 2136 UPDATE over UDP, AAAA records in a forward zone and PTR records
//!   in an `ip6.arpa` reverse zone. A remove carries a value-dependent prerequisite (RFC 2136
//!   §2.4.2: the RRset exists and equals ours), so it deletes only the records this server
//!   placed, never a name someone else now holds.
//!
//! [`perform`] runs one `DnsRequest` against any updater. Message encoding and decoding use
//! `hickory-proto` (the protocol crate of the Hickory DNS project, the maintained successor of
//! trust-dns), without its async client: one UPDATE is one datagram and one answer, sent with
//! `std::net::UdpSocket` and a read timeout, which keeps the crate free of an async runtime.
//!
//! A prefix lease is named by its base address (the records are "for" the delegated prefix; RFC
//! 8156 §9.2 only says the PTR "can be generated automatically from the IPv6 address value").
#![warn(missing_docs, unreachable_pub)]

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::{Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use failover_core::{DnsOp, DnsRequest, LeaseKey};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode, UpdateMessage};
use hickory_proto::rr::rdata::{AAAA, PTR};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

/// Which records an operation touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Records {
    /// AAAA name → address in the forward zone.
    pub forward: bool,
    /// PTR address → name in the reverse zone.
    pub reverse: bool,
}

/// Why a DNS update did not happen.
#[derive(Debug)]
pub enum DnsError {
    /// The server answered with an error code (REFUSED, NOTAUTH, SERVFAIL, ...).
    Refused(String),
    /// No answer within the timeout.
    Timeout,
    /// The answer could not be decoded, or did not answer our request.
    Malformed(String),
    /// A name that is not a valid DNS name.
    BadName(String),
    /// A socket error.
    Io(io::Error),
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::Refused(code) => write!(f, "DNS server refused the update: {code}"),
            DnsError::Timeout => f.write_str("DNS server did not answer in time"),
            DnsError::Malformed(why) => write!(f, "malformed DNS answer: {why}"),
            DnsError::BadName(n) => write!(f, "not a DNS name: {n:?}"),
            DnsError::Io(e) => write!(f, "DNS socket error: {e}"),
        }
    }
}

impl std::error::Error for DnsError {}

impl From<io::Error> for DnsError {
    fn from(e: io::Error) -> DnsError {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => DnsError::Timeout,
            _ => DnsError::Io(e),
        }
    }
}

/// Adds and removes the records of one lease.
pub trait DnsUpdater {
    /// Place AAAA `fqdn` → `addr` and/or PTR `addr` → `fqdn`. Adding a record that exists is not
    /// an error.
    fn add(&mut self, fqdn: &str, addr: Ipv6Addr, which: Records) -> Result<(), DnsError>;
    /// Remove those records if they are still ours; records already gone (or now someone
    /// else's) are not an error: there is nothing of ours left to delete.
    fn remove(&mut self, fqdn: &str, addr: Ipv6Addr, which: Records) -> Result<(), DnsError>;
}

/// The address a lease's records name (a prefix: its base address).
pub fn lease_address(lease: &LeaseKey) -> Ipv6Addr {
    match lease {
        LeaseKey::Addr(a) | LeaseKey::Prefix(a, _) => *a,
    }
}

/// Perform one request of the endpoint; report the result with
/// `handle_dns_result(now, req.id, result.map_err(|e| e.to_string()))`.
pub fn perform(u: &mut dyn DnsUpdater, req: &DnsRequest) -> Result<(), DnsError> {
    let addr = lease_address(&req.lease);
    match &req.op {
        DnsOp::Add {
            fqdn,
            forward,
            reverse,
        } => u.add(
            &fqdn.absolute(),
            addr,
            Records {
                forward: *forward,
                reverse: *reverse,
            },
        ),
        DnsOp::Remove {
            fqdn,
            forward,
            reverse,
        } => u.remove(
            &fqdn.absolute(),
            addr,
            Records {
                forward: *forward,
                reverse: *reverse,
            },
        ),
    }
}

/// One operation as the [`Recorder`] saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// An add.
    Add(String, Ipv6Addr, Records),
    /// A remove.
    Remove(String, Ipv6Addr, Records),
}

/// An in-memory [`DnsUpdater`] for tests: the operations asked, and the resulting zones.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    /// Every operation, in order.
    pub log: Vec<Recorded>,
    /// AAAA records: name (lower case, with trailing dot) → address.
    pub forward: BTreeMap<String, Ipv6Addr>,
    /// PTR records: address → name.
    pub reverse: BTreeMap<Ipv6Addr, String>,
    /// Fail the next this many operations with REFUSED.
    pub fail_next: u32,
}

impl Recorder {
    fn fail(&mut self) -> Result<(), DnsError> {
        if self.fail_next > 0 {
            self.fail_next -= 1;
            return Err(DnsError::Refused("REFUSED (injected)".into()));
        }
        Ok(())
    }
}

fn canonical(fqdn: &str) -> String {
    format!("{}.", fqdn.trim_end_matches('.').to_ascii_lowercase())
}

impl DnsUpdater for Recorder {
    fn add(&mut self, fqdn: &str, addr: Ipv6Addr, which: Records) -> Result<(), DnsError> {
        self.log.push(Recorded::Add(fqdn.to_string(), addr, which));
        self.fail()?;
        if which.forward {
            self.forward.insert(canonical(fqdn), addr);
        }
        if which.reverse {
            self.reverse.insert(addr, canonical(fqdn));
        }
        Ok(())
    }

    fn remove(&mut self, fqdn: &str, addr: Ipv6Addr, which: Records) -> Result<(), DnsError> {
        self.log
            .push(Recorded::Remove(fqdn.to_string(), addr, which));
        self.fail()?;
        let name = canonical(fqdn);
        // Only ours: the same prerequisite as the RFC 2136 client.
        if which.forward && self.forward.get(&name) == Some(&addr) {
            self.forward.remove(&name);
        }
        if which.reverse && self.reverse.get(&addr) == Some(&name) {
            self.reverse.remove(&addr);
        }
        Ok(())
    }
}

/// RFC 2136 UPDATE over UDP to one authoritative server.
#[derive(Clone, Debug)]
pub struct Rfc2136Client {
    /// The server (primary master of both zones).
    pub server: SocketAddr,
    /// The zone AAAA records go in (e.g. `example.com.`).
    pub forward_zone: Name,
    /// The `ip6.arpa` zone PTR records go in.
    pub reverse_zone: Name,
    /// TTL of the records added.
    pub ttl: u32,
    /// How long to wait for each answer.
    pub timeout: Duration,
    next_id: u16,
}

impl Rfc2136Client {
    /// A client for `server` with the two zones (dotted names).
    pub fn new(
        server: SocketAddr,
        forward_zone: &str,
        reverse_zone: &str,
    ) -> Result<Rfc2136Client, DnsError> {
        Ok(Rfc2136Client {
            server,
            forward_zone: name(forward_zone)?,
            reverse_zone: name(reverse_zone)?,
            ttl: 300,
            timeout: Duration::from_secs(2),
            next_id: std::process::id() as u16,
        })
    }

    fn id(&mut self) -> u16 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    /// Send `msg` and wait for the answer with the same id.
    fn exchange(&mut self, msg: &Message) -> Result<Message, DnsError> {
        let bind: SocketAddr = if self.server.is_ipv4() {
            "0.0.0.0:0".parse().expect("literal")
        } else {
            "[::]:0".parse().expect("literal")
        };
        let sock = UdpSocket::bind(bind)?;
        sock.connect(self.server)?;
        sock.set_read_timeout(Some(self.timeout))?;
        let bytes = msg
            .to_vec()
            .map_err(|e| DnsError::Malformed(format!("cannot encode: {e}")))?;
        sock.send(&bytes)?;
        let mut buf = [0u8; 4096];
        loop {
            let n = sock.recv(&mut buf)?;
            let answer =
                Message::from_vec(&buf[..n]).map_err(|e| DnsError::Malformed(e.to_string()))?;
            if answer.id() != msg.id() || answer.message_type() != MessageType::Response {
                continue; // a late answer to something else
            }
            return Ok(answer);
        }
    }

    fn update(
        &mut self,
        zone: &Name,
        prereq: Option<Record>,
        update: Record,
    ) -> Result<ResponseCode, DnsError> {
        let mut msg = Message::new();
        msg.set_id(self.id())
            .set_message_type(MessageType::Query)
            .set_op_code(OpCode::Update);
        let mut z = Query::query(zone.clone(), RecordType::SOA);
        z.set_query_class(DNSClass::IN);
        msg.add_zone(z);
        if let Some(p) = prereq {
            msg.add_pre_requisite(p);
        }
        msg.add_update(update);
        let answer = self.exchange(&msg)?;
        if answer.op_code() != OpCode::Update {
            return Err(DnsError::Malformed("answer is not an UPDATE".into()));
        }
        Ok(answer.response_code())
    }

    fn records(&self, fqdn: &str, addr: Ipv6Addr) -> Result<(Record, Record), DnsError> {
        let n = name(fqdn)?;
        let aaaa = Record::from_rdata(n.clone(), self.ttl, RData::AAAA(AAAA(addr)));
        let ptr = Record::from_rdata(Name::from(addr), self.ttl, RData::PTR(PTR(n)));
        Ok((aaaa, ptr))
    }

    /// Query the server (for tests and diagnostics): the RDATA of `name`'s records of `rtype`.
    pub fn query(&mut self, qname: &Name, rtype: RecordType) -> Result<Vec<RData>, DnsError> {
        let mut msg = Message::new();
        msg.set_id(self.id())
            .set_message_type(MessageType::Query)
            .set_op_code(OpCode::Query)
            .set_recursion_desired(false);
        msg.add_query(Query::query(qname.clone(), rtype));
        let answer = self.exchange(&msg)?;
        match answer.response_code() {
            ResponseCode::NoError | ResponseCode::NXDomain => {}
            other => return Err(DnsError::Refused(other.to_string())),
        }
        Ok(answer
            .answers()
            .iter()
            .filter(|r| r.record_type() == rtype)
            .filter_map(|r| r.data().cloned())
            .collect())
    }

    /// The AAAA addresses of `fqdn`.
    pub fn lookup_aaaa(&mut self, fqdn: &str) -> Result<Vec<Ipv6Addr>, DnsError> {
        Ok(self
            .query(&name(fqdn)?, RecordType::AAAA)?
            .into_iter()
            .filter_map(|d| match d {
                RData::AAAA(a) => Some(a.0),
                _ => None,
            })
            .collect())
    }

    /// The PTR names of `addr` (dotted, with trailing dot).
    pub fn lookup_ptr(&mut self, addr: Ipv6Addr) -> Result<Vec<String>, DnsError> {
        Ok(self
            .query(&Name::from(addr), RecordType::PTR)?
            .into_iter()
            .filter_map(|d| match d {
                RData::PTR(p) => Some(p.0.to_ascii()),
                _ => None,
            })
            .collect())
    }
}

fn name(s: &str) -> Result<Name, DnsError> {
    let mut n = Name::from_ascii(s).map_err(|_| DnsError::BadName(s.to_string()))?;
    n.set_fqdn(true);
    Ok(n)
}

fn check(code: ResponseCode, remove: bool) -> Result<(), DnsError> {
    match code {
        ResponseCode::NoError => Ok(()),
        // A remove whose prerequisite failed: the records are gone or no longer ours.
        ResponseCode::NXRRSet | ResponseCode::YXRRSet | ResponseCode::NXDomain if remove => Ok(()),
        other => Err(DnsError::Refused(other.to_string())),
    }
}

impl DnsUpdater for Rfc2136Client {
    fn add(&mut self, fqdn: &str, addr: Ipv6Addr, which: Records) -> Result<(), DnsError> {
        let (aaaa, ptr) = self.records(fqdn, addr)?;
        if which.forward {
            let zone = self.forward_zone.clone();
            check(self.update(&zone, None, aaaa)?, false)?;
        }
        if which.reverse {
            let zone = self.reverse_zone.clone();
            check(self.update(&zone, None, ptr)?, false)?;
        }
        Ok(())
    }

    fn remove(&mut self, fqdn: &str, addr: Ipv6Addr, which: Records) -> Result<(), DnsError> {
        let (aaaa, ptr) = self.records(fqdn, addr)?;
        for (wanted, zone, rec) in [
            (which.forward, self.forward_zone.clone(), aaaa),
            (which.reverse, self.reverse_zone.clone(), ptr),
        ] {
            if !wanted {
                continue;
            }
            // RFC 2136 §2.4.2 "RRset exists (value dependent)": class IN, TTL 0, our RDATA.
            let mut pre = rec.clone();
            pre.set_ttl(0);
            // §2.5.4 "Delete an RR from an RRset": class NONE, TTL 0, the RDATA.
            let mut del = rec;
            del.set_dns_class(DNSClass::NONE).set_ttl(0);
            check(self.update(&zone, Some(pre), del)?, true)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use failover_core::Fqdn;

    #[test]
    fn perform_runs_an_endpoint_request_against_the_recorder() {
        let mut r = Recorder::default();
        let a: Ipv6Addr = "2001:db8::7".parse().unwrap();
        let add = DnsRequest {
            id: 1,
            lease: LeaseKey::Addr(a),
            op: DnsOp::Add {
                fqdn: Fqdn::new("laptop", "example.com"),
                forward: true,
                reverse: true,
            },
        };
        perform(&mut r, &add).unwrap();
        assert_eq!(r.forward.get("laptop.example.com."), Some(&a));
        assert_eq!(
            r.reverse.get(&a).map(String::as_str),
            Some("laptop.example.com.")
        );
        // Someone else's record at the name is not removed.
        r.forward.insert("other.example.com.".into(), a);
        let rm = DnsRequest {
            id: 2,
            lease: LeaseKey::Addr(a),
            op: DnsOp::Remove {
                fqdn: Fqdn::new("laptop", "example.com"),
                forward: true,
                reverse: true,
            },
        };
        perform(&mut r, &rm).unwrap();
        assert!(!r.forward.contains_key("laptop.example.com."));
        assert!(r.reverse.is_empty());
        assert!(r.forward.contains_key("other.example.com."));
        r.fail_next = 1;
        assert!(matches!(perform(&mut r, &add), Err(DnsError::Refused(_))));
        assert_eq!(r.log.len(), 3);
    }
}
