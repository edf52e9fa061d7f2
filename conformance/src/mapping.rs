//! The one place where the model's abstractions meet the concrete values an implementation
//! sees, and where it is decided which observations are compared.
//!
//! * **Time.** Tick `t` is `BASE + 60 t` seconds. 60 s is well beyond the ±5 s window within
//!   which RFC 8156 §7.1/§7.5.1 calls two times "the same", and every event of one tick happens
//!   at exactly that second, so events of one tick are equal times for Figure 4 and events of
//!   different ticks are not. MCLT, lifetimes and the STARTUP and auto-partner-down timers are
//!   their tick counts times 60.
//! * **Leases.** `A<i>` is `2001:db8::1<ii>` (the low bit of `i` is bit 127, so odd addresses
//!   belong to the primary as in the model, §4.2.1.1); `P<j>` is `2001:db8:1:<j>::/64`.
//! * **Clients.** Client `c` has the DUID `c + 1` as 8 octets (hex in the stdio protocol). The
//!   harness plays the clients: it remembers what each holds from the replies, sends RENEW,
//!   RELEASE and DECLINE to the server that granted the lease and REBIND to the other, and
//!   forgets a lease when its lifetime ends (at the tick that reaches the expiry).
//! * **DNS names** (`ddns` traces). The zone is `example.com`; the model's name `c<k>.P` (client
//!   `k`'s name as the primary made it up, reading R24) is `p-<DUID of k>.example.com`, and
//!   `c<k>.S` is `s-<DUID of k>.example.com`: the harness configures the servers to synthesize
//!   `<label>-<client DUID>` with labels `p` and `s`. On RENEW and REBIND the client presents the
//!   name it holds (RFC 4704; reading R28).
//! * **Compared.** After each step: each server's up/down, failover state and communications
//!   status; per lease the binding-status, and for ACTIVE the client and the expiry tick; what
//!   each client holds; and, unless switched off, the partner messages sent (a multiset of kind
//!   and key fields). A step followed by `timers` steps is compared after the last of them: an
//!   implementation runs the timers a clock advance makes due as part of the advance.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use failover_proto::{BindingStatus, Role};
use failover_trace::{
    ClientObs, DnsOpObs, DnsRecordObs, Event, LeaseObs, Observation, SentMsg, ServerObs,
    TraceConfig,
};

use crate::sut::{
    ClientOpKind, SutConfig, SutDns, SutEvent, SutObservation, SutReply, SutReservation,
};

/// Seconds per tick.
pub const TICK_SECS: u64 = 60;
/// The second of tick 0.
pub const BASE: u64 = 1_000_000;

/// Seconds of a tick.
pub fn secs(tick: u8) -> u64 {
    BASE + TICK_SECS * tick as u64
}

/// The tick of a time in seconds, if it falls exactly on one.
pub fn tick_of(secs: u64) -> Option<u8> {
    let d = secs.checked_sub(BASE)?;
    (d % TICK_SECS == 0)
        .then_some(d / TICK_SECS)
        .and_then(|t| u8::try_from(t).ok())
}

/// The address of `A<i>`.
pub fn address(i: u8) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100 + i as u16)
}

/// The prefix of `P<j>` as `addr/len`.
pub fn prefix(j: u8) -> String {
    format!(
        "{}/64",
        Ipv6Addr::new(0x2001, 0xdb8, 1, j as u16, 0, 0, 0, 0)
    )
}

/// The DUID of client `c`, hex.
pub fn duid(c: u8) -> String {
    format!("{:016x}", c as u64 + 1)
}

/// The zone of `ddns` traces.
pub const ZONE: &str = "example.com";
/// The synthesis labels of the primary and the secondary in `ddns` traces.
pub const LABELS: [&str; 2] = ["p", "s"];

/// The concrete name of a model name `c<k>.P` / `c<k>.S` (`None` if it is not one).
pub fn fqdn_real(name: &str) -> Option<String> {
    let (c, who) = name.strip_prefix('c')?.split_once('.')?;
    let c: u8 = c.parse().ok()?;
    let label = match who {
        "P" => LABELS[0],
        "S" => LABELS[1],
        _ => return None,
    };
    Some(format!("{label}-{}.{ZONE}", duid(c)))
}

/// The model name of a concrete name made by [`fqdn_real`] (the text itself, marked, if not).
pub fn fqdn_name(real: &str) -> String {
    let parse = || -> Option<String> {
        let host = real
            .trim_end_matches('.')
            .strip_suffix(&format!(".{ZONE}"))?;
        let (label, hex) = host.split_once('-')?;
        let who = match label {
            l if l == LABELS[0] => "P",
            l if l == LABELS[1] => "S",
            _ => return None,
        };
        Some(format!("c{}.{who}", client_of(hex)?))
    };
    parse().unwrap_or_else(|| format!("?{real}"))
}

/// Which observations are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compare {
    /// Compare the partner messages sent in each step.
    pub messages: bool,
}

impl Default for Compare {
    fn default() -> Self {
        Compare { messages: true }
    }
}

/// The translation for one trace, and the harness's clients.
#[derive(Clone, Debug)]
pub struct Mapping {
    cfg: TraceConfig,
    /// lease name <-> concrete text
    to_real: BTreeMap<String, String>,
    to_name: BTreeMap<String, String>,
    /// What each client holds (the harness is the client).
    pub clients: Vec<Option<ClientObs>>,
}

impl Mapping {
    /// The mapping for a trace configuration.
    pub fn new(cfg: &TraceConfig) -> Mapping {
        let mut to_real = BTreeMap::new();
        for i in 0..cfg.addresses {
            to_real.insert(format!("A{i}"), address(i).to_string());
        }
        for j in 0..cfg.prefixes {
            to_real.insert(format!("P{j}"), prefix(j));
        }
        let to_name = to_real
            .iter()
            .map(|(k, v)| (v.clone(), k.clone()))
            .collect();
        Mapping {
            cfg: cfg.clone(),
            to_real,
            to_name,
            clients: vec![None; cfg.clients as usize],
        }
    }

    /// The concrete configuration.
    pub fn sut_config(&self) -> SutConfig {
        let c = &self.cfg;
        SutConfig {
            mclt: c.mclt as u64 * TICK_SECS,
            lifetime: c.lifetime as u64 * TICK_SECS,
            startup_time: c.startup_ticks as u64 * TICK_SECS,
            auto_partner_down: c.auto_partner_down.map(|t| t as u64 * TICK_SECS),
            addresses: (0..c.addresses).map(address).collect(),
            prefixes: (0..c.prefixes).map(prefix).collect(),
            init: c.init.clone(),
            // As in the model: with `normal`, the secondary holds the first half of the
            // prefixes that are not reserved (rounded down), §4.2.2; a reserved prefix is the
            // reservation's (design draft §12).
            backup_prefixes: if c.init == "normal" {
                let delegable: Vec<u8> = (0..c.prefixes)
                    .filter(|&k| {
                        let name = format!("P{k}");
                        !c.reservations.iter().any(|r| r.lease == name)
                    })
                    .collect();
                let half = delegable.len() / 2;
                delegable.into_iter().take(half).map(prefix).collect()
            } else {
                Vec::new()
            },
            start_time: secs(1),
            reservations: c
                .reservations
                .iter()
                .map(|r| SutReservation {
                    lease: self.real(&r.lease),
                    client: duid(r.client),
                })
                .collect(),
            dns: c.dns.then(|| SutDns {
                zone: ZONE.into(),
                labels: LABELS.map(String::from),
            }),
        }
    }

    /// The concrete text of a lease name.
    pub fn real(&self, name: &str) -> String {
        self.to_real
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }

    /// The name of a concrete lease (the text itself if it is not one of the trace's).
    pub fn name(&self, real: &str) -> String {
        self.to_name
            .get(real)
            .cloned()
            .unwrap_or_else(|| format!("?{real}"))
    }

    /// The concrete event for a trace event. `Err` for a trace that names a client or lease
    /// it does not configure.
    pub fn event(&self, e: &Event) -> Result<SutEvent, String> {
        let holding = |c: u8| -> Result<Option<&ClientObs>, String> {
            self.clients
                .get(c as usize)
                .map(|h| h.as_ref())
                .ok_or_else(|| format!("client {c} is not configured"))
        };
        let client_ev = |c: u8, op: ClientOpKind, rebind: bool| -> Result<SutEvent, String> {
            match holding(c)? {
                // The model only lets a client that holds a lease renew, release or decline it.
                None => Err(format!("client c{c} holds no lease to {op:?}")),
                Some(h) => Ok(SutEvent::Client {
                    server: if rebind { h.server.partner() } else { h.server },
                    client: duid(c),
                    op,
                    kind: None,
                    lease: Some(self.real(&h.lease)),
                    // RFC 4704: the client presents the name it was given (reading R28).
                    fqdn: match op {
                        ClientOpKind::Renew | ClientOpKind::Rebind => {
                            h.fqdn.as_deref().and_then(fqdn_real)
                        }
                        _ => None,
                    },
                }),
            }
        };
        Ok(match e {
            Event::Tick => SutEvent::Tick,
            Event::Deliver { to } => SutEvent::Deliver { to: *to },
            Event::Timers { server } => SutEvent::Timers { server: *server },
            Event::Partition => SutEvent::Partition,
            Event::Heal => SutEvent::Heal,
            Event::Crash {
                server,
                lose_storage,
            } => SutEvent::Crash {
                server: *server,
                lose_storage: *lose_storage,
            },
            Event::Restart { server } => SutEvent::Restart { server: *server },
            Event::PartnerDownCommand { server } => SutEvent::PartnerDown { server: *server },
            Event::ResetLease { server, lease } => SutEvent::ResetLease {
                server: *server,
                lease: self.real(lease),
            },
            Event::Request {
                client,
                server,
                kind,
            } => {
                holding(*client)?;
                SutEvent::Client {
                    server: *server,
                    client: duid(*client),
                    op: ClientOpKind::Request,
                    kind: Some(kind.token().into()),
                    lease: None,
                    fqdn: None,
                }
            }
            Event::Renew { client } => client_ev(*client, ClientOpKind::Renew, false)?,
            Event::Rebind { client } => client_ev(*client, ClientOpKind::Rebind, true)?,
            Event::Release { client } => client_ev(*client, ClientOpKind::Release, false)?,
            Event::Decline { client } => client_ev(*client, ClientOpKind::Decline, false)?,
            Event::DnsAnswer { server, lease } => SutEvent::DnsAnswer {
                server: *server,
                lease: self.real(lease),
            },
            Event::CancelReservation { server, lease } => SutEvent::CancelReservation {
                server: *server,
                lease: self.real(lease),
            },
        })
    }

    /// Update the clients from the event and the SUT's reply (the harness plays the clients).
    pub fn client_side(&mut self, e: &Event, now: u8, reply: Option<&SutReply>) {
        let c = match e {
            Event::Tick => {
                for h in self.clients.iter_mut() {
                    if h.as_ref().is_some_and(|h| h.expiry <= now) {
                        *h = None;
                    }
                }
                return;
            }
            Event::Request { client, .. }
            | Event::Renew { client }
            | Event::Rebind { client }
            | Event::Release { client }
            | Event::Decline { client } => *client as usize,
            _ => return,
        };
        let Some(slot) = self.clients.get(c).cloned() else {
            return;
        };
        let server = match (e, &slot) {
            (Event::Request { server, .. }, _) => *server,
            (Event::Rebind { .. }, Some(h)) => h.server.partner(),
            (_, Some(h)) => h.server,
            (_, None) => return,
        };
        match e {
            // The client stops using the lease whatever the answer (RFC 8415 §18.2.7).
            Event::Release { .. } | Event::Decline { .. } => self.clients[c] = None,
            _ => {
                if let Some(SutReply::Granted {
                    lease,
                    expires,
                    fqdn,
                }) = reply
                {
                    // A client keeps the name a reply gives it, and its name when a renewal
                    // gives none (reading R28).
                    let kept = match e {
                        Event::Request { .. } => None,
                        _ => slot.as_ref().and_then(|h| h.fqdn.clone()),
                    };
                    self.clients[c] = Some(ClientObs {
                        lease: self.name(lease),
                        expiry: tick_of(*expires).unwrap_or(u8::MAX),
                        server,
                        fqdn: fqdn.as_deref().map(fqdn_name).or(kept),
                    });
                }
            }
        }
    }

    /// The SUT's observation in the trace's terms (`sent` sorted).
    pub fn observation(&self, o: &SutObservation) -> Observation {
        let servers = o
            .servers
            .iter()
            .map(|s| ServerObs {
                up: s.up,
                state: if s.up { s.state } else { None },
                comm_ok: s.up && s.comm_ok,
                leases: if s.up {
                    let mut v: Vec<LeaseObs> = s
                        .leases
                        .iter()
                        .map(|l| LeaseObs {
                            lease: self.name(&l.lease),
                            status: l.status,
                            client: l.client.as_deref().and_then(client_of),
                            expiry: l.expiry.map(|t| tick_of(t).unwrap_or(u8::MAX)),
                            fqdn: l.fqdn.as_deref().map(fqdn_name),
                            dns_added: l.dns_added,
                            dns_owed: l
                                .dns_owed
                                .iter()
                                .map(|d| DnsOpObs {
                                    op: d.op.clone(),
                                    fqdn: fqdn_name(&d.fqdn),
                                })
                                .collect(),
                            reserved_for: l.reserved_for.as_deref().and_then(client_of),
                            cancelling: l.cancelling,
                        })
                        .collect();
                    v.sort_by_key(|a| lease_order(&a.lease));
                    v
                } else {
                    Vec::new()
                },
            })
            .collect();
        let mut sent: Vec<SentMsg> = o
            .sent
            .iter()
            .map(|m| SentMsg {
                from: m.from,
                kind: m.kind.clone(),
                state: m.state,
                startup: m.startup,
                lease: m.lease.as_deref().map(|l| self.name(l)),
                status: m.status,
                reject: m.reject.clone(),
                fqdn: m.fqdn.as_deref().map(fqdn_name),
                dns_added: m.dns_added,
                reserved: m.reserved,
            })
            .collect();
        sent.sort();
        Observation {
            servers,
            clients: self.clients.clone(),
            sent,
            dns: o.dns.as_ref().map(|records| {
                let mut v: Vec<DnsRecordObs> = records
                    .iter()
                    .map(|r| DnsRecordObs {
                        lease: self.name(&r.lease),
                        fqdn: fqdn_name(&r.fqdn),
                    })
                    .collect();
                v.sort_by_key(|r| lease_order(&r.lease));
                v
            }),
        }
    }
}

fn lease_order(name: &str) -> (u8, u32) {
    let k = if name.starts_with('A') { 0 } else { 1 };
    (k, name[1..].parse().unwrap_or(u32::MAX))
}

/// Client number of a hex DUID made by [`duid`].
pub fn client_of(hex: &str) -> Option<u8> {
    let n = u64::from_str_radix(hex, 16).ok()?;
    u8::try_from(n.checked_sub(1)?).ok()
}

/// The differences between expected and actual, as readable lines (`[]`: they agree).
pub fn compare(expected: &Observation, actual: &Observation, cmp: Compare) -> Vec<String> {
    let mut out = Vec::new();
    for (k, (e, a)) in expected.servers.iter().zip(&actual.servers).enumerate() {
        let r = if k == 0 {
            Role::Primary
        } else {
            Role::Secondary
        };
        if e.up != a.up {
            out.push(format!(
                "{r}: expected {}, got {}",
                updown(e.up),
                updown(a.up)
            ));
            continue;
        }
        if !e.up {
            continue;
        }
        if e.state != a.state {
            out.push(format!(
                "{r} state: expected {}, got {}",
                opt(&e.state),
                opt(&a.state)
            ));
        }
        if e.comm_ok != a.comm_ok {
            out.push(format!(
                "{r} communications OK: expected {}, got {}",
                e.comm_ok, a.comm_ok
            ));
        }
        for el in &e.leases {
            match a.leases.iter().find(|l| l.lease == el.lease) {
                None => out.push(format!("{r} {}: missing", el.lease)),
                Some(al) => {
                    let show = |l: &LeaseObs| {
                        let mut s = l.status.to_string();
                        if l.status == BindingStatus::Active {
                            if let Some(c) = l.client {
                                s += &format!(" c{c}");
                            }
                            if let Some(t) = l.expiry {
                                s += &format!(" until t{}", tick_text(t));
                            }
                        }
                        // RFC 8156 §9 (`ddns` traces): the name, the F flag, the owed updates.
                        if let Some(n) = &l.fqdn {
                            s += &format!(" name {n}");
                        }
                        if l.dns_added {
                            s += " [records added]";
                        }
                        for d in &l.dns_owed {
                            s += &format!(" [owes DNS {} {}]", d.op, d.fqdn);
                        }
                        // Design draft §12 (`reservations` traces).
                        if let Some(c) = l.reserved_for {
                            s += &format!(" reserved for c{c}");
                        }
                        if l.cancelling {
                            s += " [reservation cancelling]";
                        }
                        s
                    };
                    if show(el) != show(al) {
                        out.push(format!(
                            "{r} {}: expected {}, got {}",
                            el.lease,
                            show(el),
                            show(al)
                        ));
                    }
                }
            }
        }
    }
    for (c, (e, a)) in expected.clients.iter().zip(&actual.clients).enumerate() {
        if e != a {
            out.push(format!(
                "client c{c}: expected {}, got {}",
                holding(e),
                holding(a)
            ));
        }
    }
    if let Some(e) = &expected.dns {
        let a = actual.dns.clone().unwrap_or_default();
        if *e != a {
            let text = |v: &[DnsRecordObs]| {
                if v.is_empty() {
                    "no records".to_string()
                } else {
                    v.iter()
                        .map(|r| format!("{} {}", r.lease, r.fqdn))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            out.push(format!(
                "DNS server: expected {}, got {}",
                text(e),
                text(&a)
            ));
        }
    }
    if cmp.messages {
        let mut e = expected.sent.clone();
        e.sort();
        let mut a = actual.sent.clone();
        a.sort();
        if e != a {
            let missing: Vec<String> = e.iter().filter(|m| !a.contains(m)).map(msg_text).collect();
            let extra: Vec<String> = a.iter().filter(|m| !e.contains(m)).map(msg_text).collect();
            out.push(format!(
                "messages sent: expected [{}], got [{}] (missing: {}; unexpected: {})",
                e.iter().map(msg_text).collect::<Vec<_>>().join(", "),
                a.iter().map(msg_text).collect::<Vec<_>>().join(", "),
                if missing.is_empty() {
                    "none".into()
                } else {
                    missing.join(", ")
                },
                if extra.is_empty() {
                    "none".into()
                } else {
                    extra.join(", ")
                },
            ));
        }
    }
    out
}

fn updown(up: bool) -> &'static str {
    if up {
        "running"
    } else {
        "down"
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or("none".into(), |v| v.to_string())
}

fn tick_text(t: u8) -> String {
    if t == u8::MAX {
        "(not on a tick boundary)".into()
    } else {
        t.to_string()
    }
}

fn holding(h: &Option<ClientObs>) -> String {
    match h {
        None => "nothing".into(),
        Some(h) => format!(
            "{} until t{} from {}{}",
            h.lease,
            tick_text(h.expiry),
            h.server,
            h.fqdn
                .as_ref()
                .map_or(String::new(), |n| format!(" named {n}"))
        ),
    }
}

/// One line for a message.
pub fn msg_text(m: &SentMsg) -> String {
    let mut s = format!("{} {}", m.from, m.kind);
    if let Some(st) = m.state {
        s += &format!(" {st}");
    }
    if m.startup == Some(true) {
        s += " [STARTUP]";
    }
    if let Some(l) = &m.lease {
        s += &format!(" {l}");
    }
    if let Some(b) = m.status {
        s += &format!(" {b}");
    }
    if let Some(r) = &m.reject {
        s += &format!(" rejected {r}");
    }
    if let Some(n) = &m.fqdn {
        s += &format!(" name {n}");
    }
    if m.dns_added == Some(true) {
        s += " [records added]";
    }
    match m.reserved {
        Some(true) => s += " [reserved]",
        Some(false) => s += " [no longer reserved]",
        None => {}
    }
    s
}
