//! **Test only.** Deliberate breakages of `failover serve`, so that the wire conformance suite
//! (`failover conform --wire`, issue 16) can be shown to catch a wrong server: a suite that passes
//! every server proves nothing.
//!
//! Set by the environment variable `FAILOVER_BREAK` (a comma-separated list), read once at start
//! and logged as an error-level line, so that a broken server never goes unnoticed. Unset (the
//! only production setting), nothing here runs.
//!
//! Every breakage lives in the driver layer, wrapping what failover-node/failover-core produce;
//! the RFC logic of failover-core has no knob:
//!
//! | name | what the server then does wrong | caught by (wire test) |
//! |---|---|---|
//! | `no-mclt-cap` | tells DHCPv6 clients the configured valid lifetime instead of the MCLT-capped one the core granted (RFC 8156 §4.4) | `4.4/mclt-cap` |
//! | `reply-before-store` | answers a BNDUPD with an accepting BNDREPLY at once and hands the update to the node (storage) only [`WRITE_BEHIND`] later (RFC 8156 §7.5.2) | `7.5.2/reply-after-storage` (needs a restart of the SUT) |
//! | `accept-any-bndupd` | removes every failure status from the BNDREPLYs it sends: rejected updates look accepted (RFC 8156 §7.5.3) | `7.5.3/bndupd-empty`, `7.5.3/bndupd-unknown-lease` |
//! | `wrong-contact-timing` | sends CONTACT only every 3 × its own FO_KEEPALIVE_TIME instead of every FO_SEND_TIME (RFC 8156 §6.6) | `6.6/contact-sent` |
//! | `no-mclt-cap-when-interrupted` | while communications with its partner are interrupted (the partner cannot contradict it), tells DHCPv6 clients the configured valid lifetime instead of the MCLT-capped one (RFC 8156 §4.4); in NORMAL it behaves | interop `4.4/mclt-bound` (needs a partition: `conform --interop`) |
//! | `reuse-lease-when-interrupted` | while communications with its partner are interrupted, tells every new client the lease it granted first in that interruption, so two clients hold one address (RFC 8156 §1, §4: never the same address to two clients); in NORMAL it behaves | interop `4/no-duplicate` (needs a partition: `conform --interop`) |

use std::time::{Duration, Instant};

use failover_proto::wire::{DhcpOption, FrameDecoder, Message};
use failover_proto::MsgKind;

/// How long `reply-before-store` keeps a BNDUPD before the node sees it.
pub const WRITE_BEHIND: Duration = Duration::from_secs(3);

/// The breakages in force (all off by default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Breakage {
    /// `no-mclt-cap`.
    pub no_mclt_cap: bool,
    /// `reply-before-store`.
    pub reply_before_store: bool,
    /// `accept-any-bndupd`.
    pub accept_any_bndupd: bool,
    /// `wrong-contact-timing`.
    pub wrong_contact_timing: bool,
    /// `no-mclt-cap-when-interrupted`.
    pub no_mclt_cap_when_interrupted: bool,
    /// `reuse-lease-when-interrupted`.
    pub reuse_lease_when_interrupted: bool,
}

impl Breakage {
    /// The names `FAILOVER_BREAK` accepts.
    pub const NAMES: &'static [&'static str] = &[
        "no-mclt-cap",
        "reply-before-store",
        "accept-any-bndupd",
        "wrong-contact-timing",
        "no-mclt-cap-when-interrupted",
        "reuse-lease-when-interrupted",
    ];

    /// Parse a `FAILOVER_BREAK` value; an unknown name is an error naming the known ones.
    pub fn parse(text: &str) -> Result<Breakage, String> {
        let mut b = Breakage::default();
        for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match name {
                "no-mclt-cap" => b.no_mclt_cap = true,
                "reply-before-store" => b.reply_before_store = true,
                "accept-any-bndupd" => b.accept_any_bndupd = true,
                "wrong-contact-timing" => b.wrong_contact_timing = true,
                "no-mclt-cap-when-interrupted" => b.no_mclt_cap_when_interrupted = true,
                "reuse-lease-when-interrupted" => b.reuse_lease_when_interrupted = true,
                other => {
                    return Err(format!(
                        "FAILOVER_BREAK: unknown breakage {other:?} (known: {})",
                        Breakage::NAMES.join(", ")
                    ))
                }
            }
        }
        Ok(b)
    }

    /// From the environment (`FAILOVER_BREAK`); none when unset.
    pub fn from_env() -> Result<Breakage, String> {
        match std::env::var("FAILOVER_BREAK") {
            Ok(v) => Breakage::parse(&v),
            Err(_) => Ok(Breakage::default()),
        }
    }

    /// Any breakage in force.
    pub fn any(&self) -> bool {
        *self != Breakage::default()
    }
}

/// The frames of `bytes`, decoded; `None` if any is not a whole, decodable message (then the
/// bytes are left as they are).
fn frames(bytes: &[u8]) -> Option<Vec<Message>> {
    let mut d = FrameDecoder::new();
    d.push(bytes);
    let mut out = Vec::new();
    while let Ok(Some(m)) = d.next_message() {
        out.push(m);
    }
    (d.buffered() == 0).then_some(out)
}

fn encode(msgs: &[Message]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for m in msgs {
        m.encode_framed(&mut out).ok()?;
    }
    Some(out)
}

fn strip_failures(opts: &mut Vec<DhcpOption>) {
    opts.retain(|o| !matches!(o, DhcpOption::StatusCode(s) if !s.code.is_success()));
    for o in opts.iter_mut() {
        match o {
            DhcpOption::ClientData(inner) | DhcpOption::DnsRemovalInfo(inner) => {
                strip_failures(inner)
            }
            DhcpOption::IaNa(ia) => strip_failures(&mut ia.options),
            DhcpOption::IaPd(ia) => strip_failures(&mut ia.options),
            DhcpOption::IaTa(ia) => strip_failures(&mut ia.options),
            DhcpOption::IaAddr(a) => strip_failures(&mut a.options),
            DhcpOption::IaPrefix(p) => strip_failures(&mut p.options),
            _ => {}
        }
    }
}

/// The state of the breakages that need one, owned by the daemon.
#[derive(Debug, Default)]
pub struct Broken {
    /// What is in force.
    pub b: Breakage,
    last_contact: Option<Instant>,
    /// `reply-before-store`: transaction-ids acked early, whose node BNDREPLY is dropped.
    acked_early: Vec<u32>,
    /// `reply-before-store`: updates not yet given to the node, with when they are due.
    held: Vec<(Instant, Vec<u8>)>,
    /// `reuse-lease-when-interrupted`: the first lease of each kind granted in the current
    /// interruption (cleared when communication is back).
    pub first_in_interruption: Vec<failover_core::LeaseKey>,
}

impl Broken {
    /// The breakages `b`.
    pub fn new(b: Breakage) -> Broken {
        Broken {
            b,
            ..Broken::default()
        }
    }

    /// Octets the node wants to send to the partner, as the broken server sends them (`None`:
    /// not sent). `keepalive`: this server's FO_KEEPALIVE_TIME.
    pub fn outgoing(&mut self, bytes: Vec<u8>, keepalive: Duration) -> Option<Vec<u8>> {
        if !(self.b.accept_any_bndupd || self.b.wrong_contact_timing || self.b.reply_before_store) {
            return Some(bytes);
        }
        let Some(mut msgs) = frames(&bytes) else {
            return Some(bytes);
        };
        let now = Instant::now();
        msgs.retain(|m| match m.kind() {
            Ok(MsgKind::Contact) if self.b.wrong_contact_timing => {
                let due = self
                    .last_contact
                    .is_none_or(|t| now.duration_since(t) >= keepalive * 3);
                if due {
                    self.last_contact = Some(now);
                }
                due
            }
            Ok(MsgKind::BndReply) if self.b.reply_before_store => {
                match self.acked_early.iter().position(|x| *x == m.transaction_id) {
                    Some(i) => {
                        self.acked_early.swap_remove(i);
                        false
                    }
                    None => true,
                }
            }
            _ => true,
        });
        if self.b.accept_any_bndupd {
            for m in msgs.iter_mut() {
                if m.kind() == Ok(MsgKind::BndReply) {
                    strip_failures(&mut m.options);
                }
            }
        }
        if msgs.is_empty() {
            return None;
        }
        encode(&msgs).or(Some(bytes))
    }

    /// Octets received from the partner: what goes to the node now, and the early BNDREPLYs
    /// to send (`reply-before-store`).
    pub fn incoming(&mut self, bytes: Vec<u8>) -> (Option<Vec<u8>>, Vec<u8>) {
        if !self.b.reply_before_store {
            return (Some(bytes), Vec::new());
        }
        let Some(msgs) = frames(&bytes) else {
            return (Some(bytes), Vec::new());
        };
        let (upds, rest): (Vec<Message>, Vec<Message>) = msgs
            .into_iter()
            .partition(|m| m.kind() == Ok(MsgKind::BndUpd));
        let mut replies = Vec::new();
        for u in &upds {
            let mut r = Message::new(MsgKind::BndReply, u.transaction_id, u.sent_time);
            r.options = u
                .options
                .iter()
                .filter(|o| matches!(o, DhcpOption::ClientData(_) | DhcpOption::IaPrefix(_)))
                .cloned()
                .collect();
            let _ = r.encode_framed(&mut replies);
            self.acked_early.push(u.transaction_id);
        }
        if let Some(held) = encode(&upds).filter(|h| !h.is_empty()) {
            self.held.push((Instant::now() + WRITE_BEHIND, held));
        }
        let now = if rest.is_empty() { None } else { encode(&rest) };
        (now, replies)
    }

    /// Held updates now due for the node.
    pub fn due(&mut self) -> Vec<Vec<u8>> {
        let now = Instant::now();
        let (due, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|(t, _)| *t <= now);
        self.held = keep;
        due.into_iter().map(|(_, b)| b).collect()
    }

    /// When the next held update is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.held.iter().map(|(t, _)| *t).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use failover_proto::wire::{Status, StatusCode};

    #[test]
    fn names_parse_and_unknown_names_are_refused() {
        let b = Breakage::parse("no-mclt-cap, wrong-contact-timing").unwrap();
        assert!(b.no_mclt_cap && b.wrong_contact_timing && !b.accept_any_bndupd);
        assert!(Breakage::parse("").unwrap() == Breakage::default());
        let e = Breakage::parse("no-mclt").unwrap_err();
        assert!(
            e.contains("no-mclt") && e.contains("accept-any-bndupd"),
            "{e}"
        );
    }

    #[test]
    fn accept_any_bndupd_strips_the_rejection_of_a_bndreply() {
        let reply = Message::new(MsgKind::BndReply, 7, 1).with(DhcpOption::ClientData(vec![
            DhcpOption::ClientId(vec![1, 2]),
            DhcpOption::StatusCode(Status::new(StatusCode::CONFIGURATION_CONFLICT, "x")),
        ]));
        let mut bytes = Vec::new();
        reply.encode_framed(&mut bytes).unwrap();
        let mut broken = Broken::new(Breakage::parse("accept-any-bndupd").unwrap());
        let out = broken
            .outgoing(bytes.clone(), Duration::from_secs(1))
            .unwrap();
        assert_ne!(out, bytes);
        let m = frames(&out).unwrap().remove(0);
        assert_eq!(
            m.options,
            vec![DhcpOption::ClientData(vec![DhcpOption::ClientId(vec![
                1, 2
            ])])]
        );
        // Unbroken: untouched.
        let mut fine = Broken::new(Breakage::default());
        assert_eq!(
            fine.outgoing(bytes.clone(), Duration::from_secs(1)),
            Some(bytes)
        );
    }
}
