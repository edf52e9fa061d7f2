//! What clients hold and what the servers' databases say, and the check that matters: no
//! address or prefix is held by two clients.
//!
//! Sources: dhclient's lease file (text, `lease6 { ia-na { iaaddr ... } ia-pd { iaprefix ... } }`),
//! dhcpcd's lease file (the raw DHCPv6 REPLY it was given, RFC 8415 §7.3 and §21), and
//! `failover ctl --json leases` of each server.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv6Addr;

/// An address (IA_NA) or a delegated prefix (IA_PD).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lease {
    Addr(Ipv6Addr),
    Prefix(Ipv6Addr, u8),
}

impl Lease {
    /// `2001:db8::5` or `2001:db8:100::/56` (the prefix's host bits cleared).
    pub fn parse(text: &str) -> Option<Lease> {
        let text = text.trim();
        match text.split_once('/') {
            None => text.parse().ok().map(Lease::Addr),
            Some((a, l)) => {
                let a: Ipv6Addr = a.parse().ok()?;
                let l: u8 = l.parse().ok().filter(|l| *l <= 128)?;
                Some(Lease::Prefix(mask(a, l), l))
            }
        }
    }

    /// The range of addresses it covers, as (first, length).
    fn span(self) -> (u128, u8) {
        match self {
            Lease::Addr(a) => (u128::from(a), 128),
            Lease::Prefix(a, l) => (u128::from(mask(a, l)), l),
        }
    }

    /// Do the two share an address (equal, or one prefix inside the other)?
    pub fn overlaps(self, other: Lease) -> bool {
        let ((a, la), (b, lb)) = (self.span(), other.span());
        let l = la.min(lb);
        u128::from(mask(Ipv6Addr::from(a), l)) == u128::from(mask(Ipv6Addr::from(b), l))
    }

    pub fn is_prefix(self) -> bool {
        matches!(self, Lease::Prefix(..))
    }
}

impl fmt::Display for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lease::Addr(a) => write!(f, "{a}"),
            Lease::Prefix(a, l) => write!(f, "{a}/{l}"),
        }
    }
}

fn mask(a: Ipv6Addr, len: u8) -> Ipv6Addr {
    let m = if len == 0 {
        0
    } else {
        !0u128 << (128 - u32::from(len))
    };
    Ipv6Addr::from(u128::from(a) & m)
}

/// A DUID as lowercase hex without separators, whatever it was written as (`0:1:0:1:a:...`,
/// `00:01:...`, `0001...`).
pub fn duid_hex(text: &str) -> String {
    let text = text.trim().trim_end_matches(';');
    if text.contains(':') {
        text.split(':')
            .map(|b| format!("{:02x}", u8::from_str_radix(b, 16).unwrap_or(0)))
            .collect()
    } else {
        text.to_ascii_lowercase()
    }
}

/// One client holding one lease, and who says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holding {
    pub lease: Lease,
    /// The client's DUID, hex.
    pub client: String,
    /// `dhclient c1 lease file`, `primary database`...
    pub source: String,
}

/// Every pair of holdings where two different clients hold the same address or overlapping
/// prefixes, one sentence each. Empty: no address or prefix is held by two clients.
pub fn conflicts(holdings: &[Holding]) -> Vec<String> {
    let mut out = Vec::new();
    // Addresses: group by address (exact); prefixes: pairwise overlap among prefixes (few).
    let mut by_addr: BTreeMap<Lease, Vec<&Holding>> = BTreeMap::new();
    let mut prefixes = Vec::new();
    for h in holdings {
        if h.lease.is_prefix() {
            prefixes.push(h);
        } else {
            by_addr.entry(h.lease).or_default().push(h);
        }
    }
    for (lease, hs) in &by_addr {
        for (i, a) in hs.iter().enumerate() {
            for b in &hs[i + 1..] {
                if a.client != b.client {
                    out.push(format!(
                        "{lease} is held by two clients: {} ({}) and {} ({})",
                        a.client, a.source, b.client, b.source
                    ));
                }
            }
        }
    }
    for (i, a) in prefixes.iter().enumerate() {
        for b in &prefixes[i + 1..] {
            if a.client != b.client && a.lease.overlaps(b.lease) {
                out.push(format!(
                    "{} and {} overlap and are held by two clients: {} ({}) and {} ({})",
                    a.lease, b.lease, a.client, a.source, b.client, b.source
                ));
            }
        }
    }
    out
}

/// One lease as a client recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientLease {
    pub lease: Lease,
    /// Unix seconds when the client got it (0 when unknown).
    pub starts: u64,
    /// Valid lifetime, seconds.
    pub valid: u64,
}

impl ClientLease {
    pub fn expires(&self) -> u64 {
        self.starts.saturating_add(self.valid)
    }
}

/// One `lease6 { ... }` block of a dhclient lease file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DhclientBlock {
    pub client: Option<String>,
    pub server: Option<String>,
    pub leases: Vec<ClientLease>,
}

/// dhclient's lease file: the DUID (`default-duid`, octal-escaped) and the `lease6` blocks in the
/// order written (the last is the current one; dhclient appends a block at each bind and renew).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DhclientFile {
    pub default_duid: Option<String>,
    pub blocks: Vec<DhclientBlock>,
}

impl DhclientFile {
    /// The client's DUID, hex: from the newest block's client-id, else `default-duid`.
    pub fn client(&self) -> Option<String> {
        self.blocks
            .iter()
            .rev()
            .find_map(|b| b.client.clone())
            .or_else(|| self.default_duid.clone())
    }

    /// The leases of the newest block.
    pub fn current(&self) -> Vec<ClientLease> {
        self.blocks
            .last()
            .map(|b| b.leases.clone())
            .unwrap_or_default()
    }
}

/// Decode dhclient's quoted string: `"\000\001\000\001\"\327..."` (octal escapes, `\"`, `\\`,
/// printable characters as themselves) to hex.
fn dhclient_string_hex(q: &str) -> Option<String> {
    let s = q.trim().trim_end_matches(';').trim();
    let s = s.strip_prefix('"')?.strip_suffix('"')?;
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            if i + 3 < b.len() && b[i + 1].is_ascii_digit() {
                let oct = std::str::from_utf8(&b[i + 1..i + 4]).ok()?;
                out.push(u8::from_str_radix(oct, 8).ok()?);
                i += 4;
            } else {
                out.push(b[i + 1]);
                i += 2;
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out.iter().map(|x| format!("{x:02x}")).collect())
}

/// Parse dhclient's lease file. Unknown statements are ignored; a block cut short (the file
/// being rewritten) is kept with what it had.
pub fn parse_dhclient(text: &str) -> DhclientFile {
    let mut file = DhclientFile::default();
    // Context stack: what each open brace belongs to.
    #[derive(PartialEq)]
    enum Ctx {
        Lease6,
        Ia,
        Item(usize),
        Other,
    }
    let mut stack: Vec<Ctx> = Vec::new();
    let mut ia_starts = 0u64;
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if line.ends_with('{') {
            let ctx = match words[0] {
                "lease6" => {
                    file.blocks.push(DhclientBlock::default());
                    Ctx::Lease6
                }
                "ia-na" | "ia-pd" | "ia-ta" => {
                    ia_starts = 0;
                    Ctx::Ia
                }
                "iaaddr" | "iaprefix" if words.len() >= 2 && !file.blocks.is_empty() => {
                    match Lease::parse(words[1]) {
                        Some(lease) => {
                            let b = file.blocks.last_mut().unwrap();
                            b.leases.push(ClientLease {
                                lease,
                                starts: ia_starts,
                                valid: 0,
                            });
                            Ctx::Item(b.leases.len() - 1)
                        }
                        None => Ctx::Other,
                    }
                }
                _ => Ctx::Other,
            };
            stack.push(ctx);
            continue;
        }
        if line.starts_with('}') {
            stack.pop();
            continue;
        }
        let value = |i: usize| {
            words
                .get(i)
                .map(|w| w.trim_end_matches(';'))
                .unwrap_or_default()
        };
        match (stack.last(), words[0]) {
            (None, "default-duid") => {
                file.default_duid = dhclient_string_hex(line.trim_start_matches("default-duid"));
            }
            (Some(Ctx::Ia), "starts") => ia_starts = value(1).parse().unwrap_or(0),
            (Some(Ctx::Item(i)), "starts") => {
                let i = *i;
                if let (Some(b), Ok(v)) = (file.blocks.last_mut(), value(1).parse()) {
                    b.leases[i].starts = v;
                }
            }
            (Some(Ctx::Item(i)), "max-life") => {
                let i = *i;
                if let (Some(b), Ok(v)) = (file.blocks.last_mut(), value(1).parse()) {
                    b.leases[i].valid = v;
                }
            }
            (Some(Ctx::Lease6), "option") if words.len() >= 3 => {
                let b = file.blocks.last_mut().unwrap();
                match words[1] {
                    "dhcp6.client-id" => b.client = Some(duid_hex(value(2))),
                    "dhcp6.server-id" => b.server = Some(duid_hex(value(2))),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    file
}

/// A DHCPv6 message as dhcpcd stores it (its `IFACE.lease6` file): the type, the client and
/// server DUIDs and the IA_NA addresses and IA_PD prefixes with their valid lifetimes
/// (`starts` left 0: dhcpcd records the time as the file's mtime).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dhcp6Message {
    pub msg_type: u8,
    pub client: Option<String>,
    pub server: Option<String>,
    pub leases: Vec<ClientLease>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Walk options `(code, body)`; `None` if a length runs past the end.
fn options(mut b: &[u8]) -> Option<Vec<(u16, &[u8])>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.len() < 4 {
            return None;
        }
        let code = u16::from_be_bytes([b[0], b[1]]);
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        if b.len() < 4 + len {
            return None;
        }
        out.push((code, &b[4..4 + len]));
        b = &b[4 + len..];
    }
    Some(out)
}

/// Parse a DHCPv6 client/server message (RFC 8415 §8). Errors say what is wrong.
pub fn parse_dhcp6(b: &[u8]) -> Result<Dhcp6Message, String> {
    if b.len() < 4 {
        return Err(format!("{} bytes: shorter than a DHCPv6 header", b.len()));
    }
    let mut m = Dhcp6Message {
        msg_type: b[0],
        ..Default::default()
    };
    let opts = options(&b[4..]).ok_or("an option runs past the end of the message")?;
    for (code, body) in opts {
        match code {
            1 => m.client = Some(hex(body)),
            2 => m.server = Some(hex(body)),
            3 | 25 => {
                // IA_NA: IAID T1 T2 (12 bytes) then options; IA_PD the same.
                if body.len() < 12 {
                    return Err(format!("option {code} shorter than 12 bytes"));
                }
                let sub = options(&body[12..]).ok_or("an IA's option runs past its end")?;
                for (c, s) in sub {
                    if c == 5 && code == 3 && s.len() >= 24 {
                        let a: [u8; 16] = s[..16].try_into().unwrap();
                        let valid = u32::from_be_bytes(s[20..24].try_into().unwrap());
                        m.leases.push(ClientLease {
                            lease: Lease::Addr(Ipv6Addr::from(a)),
                            starts: 0,
                            valid: u64::from(valid),
                        });
                    }
                    if c == 26 && code == 25 && s.len() >= 25 {
                        let valid = u32::from_be_bytes(s[4..8].try_into().unwrap());
                        let len = s[8];
                        let a: [u8; 16] = s[9..25].try_into().unwrap();
                        m.leases.push(ClientLease {
                            lease: Lease::Prefix(mask(Ipv6Addr::from(a), len), len),
                            starts: 0,
                            valid: u64::from(valid),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    Ok(m)
}

/// One lease of `failover ctl --json leases`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbLease {
    pub lease: Lease,
    pub status: String,
    pub client: Option<String>,
    pub expires: Option<u64>,
    pub update_pending: bool,
}

/// Parse `failover ctl --json leases` (a JSON array of `ctl::Lease`).
pub fn parse_db(json: &str) -> Result<Vec<DbLease>, String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("not JSON ({e}): {json:.300}"))?;
    let arr = v
        .as_array()
        .ok_or_else(|| format!("not a JSON array: {json:.300}"))?;
    arr.iter()
        .map(|l| {
            let text = l["lease"].as_str().ok_or("a lease without `lease`")?;
            Ok(DbLease {
                lease: Lease::parse(text).ok_or_else(|| format!("unreadable lease {text:?}"))?,
                status: l["status"].as_str().unwrap_or_default().to_string(),
                client: l["client"].as_str().map(duid_hex),
                expires: l["expires"].as_u64(),
                update_pending: l["update_pending"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

/// The ACTIVE leases of a database as holdings.
pub fn db_holdings(db: &[DbLease], source: &str) -> Vec<Holding> {
    db.iter()
        .filter(|l| l.status == "ACTIVE")
        .filter_map(|l| {
            Some(Holding {
                lease: l.lease,
                client: l.client.clone()?,
                source: source.to_string(),
            })
        })
        .collect()
}
