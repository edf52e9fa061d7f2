//! The properties the checker verifies, each a sentence, each with the RFC rule it stands for.
//!
//! - Safety properties are `always`: they hold in every reachable state.
//! - Bounded liveness properties are `always` too, judged at *settled ends*: a path whose fault
//!   phase is over (no more faults, crashed servers restarted, network healed, the clock
//!   advancing only when nothing else can happen) and whose settle clock has run out. Because
//!   every path is finite and ends in such a state, "P holds at every settled end" is exactly
//!   "P eventually holds within the bound" (stateright's own `eventually` is unsound on joins,
//!   see `docs/stateright-notes.md`, so it is not used).
//! - Reachability properties are `sometimes`: a model that never reaches a state or a
//!   binding-status fails loudly instead of passing vacuously.
//! - [`EVERY_PATH_ENDS`] is a property of the graph, not of a state: the bounded-liveness
//!   verdicts above are sound only if it holds. [`crate::cycles`] checks it (`failover check
//!   --cycles`), since stateright's visited set closes a cycle without a word.

use std::sync::atomic::Ordering;

use failover_proto::{BindingStatus as B, ServerState as S};
use stateright::{Expectation, Model, Property};

use crate::model::FailoverModel;
use crate::state::{DnsOp, State};

/// (a) RFC 8156 §1, RFC 7031 §7: no two clients hold unexpired leases on one address or prefix.
pub const NO_DUPLICATE: &str = "no address or prefix is held by two clients";
/// (b) RFC 8156 §4.4: outside PARTNER-DOWN, a grant never exceeds max(now, acked PL) + MCLT.
pub const MCLT_BOUND: &str = "no lifetime granted outside PARTNER-DOWN exceeds the MCLT bound";
/// (c) RFC 8156 §4.2, §8.4.1, §8.9.1: each server allocates from its own pool only.
pub const POOL_OWNERSHIP: &str = "servers allocate only from their own pool";
/// (d) RFC 8156 §7, §8.8: at rest in NORMAL the two databases agree.
pub const AGREEMENT_AT_REST: &str = "databases agree when both are NORMAL and nothing is pending";
/// (e) RFC 8156 §3, §8.x.1: only states allowed to answer a client message answer it.
pub const RESPONSIVENESS: &str = "only responsive states answer clients";
/// (f) RFC 8156 §8: once faults stop, both servers get back to NORMAL within the bound.
pub const BACK_TO_NORMAL: &str = "after faults stop both servers reach NORMAL";
/// (g) RFC 7031 §7 item 1, RFC 8156 §4.3: a responsive server with a free lease of its own
/// grants it.
pub const FREE_LEASE_GRANTED: &str = "a responsive server with a free lease of its own grants it";
/// (h) RFC 8156 §4.2.2.1, §7.2: released and expired leases become allocatable again, by the
/// server whose pool they return to.
pub const LEASES_REUSABLE: &str =
    "after faults stop released and expired leases become allocatable";
/// (i) RFC 7031 §7 item 4: a client whose server crashed keeps its lease with the partner.
pub const LEASE_STABILITY: &str = "a client keeps its lease when its server fails";

/// (j) RFC 8156 §9.1 items 3-4, §9.3, §9.4: never do both servers owe a DNS add for the same
/// binding (lease and name), nor does one owe an add while the other owes a delete of it. An
/// owed add counts while the binding it is for is ACTIVE and unexpired in that server's
/// database (reading R26: after that it is dropped, not performed). Two deletes of one name are
/// allowed: both servers pass PENDING-FREE when both expire a lease on their own clocks
/// (reading R11), and a delete carries its name, so the second is a no-op. `--dns` only.
pub const DNS_ONE_UPDATER: &str = "one server at a time owes the DNS update of a binding";
/// (k) RFC 8156 §9.4, §9.1 item 1: at a settled end, no DNS record remains for a lease free on
/// both servers, and every binding ACTIVE on both whose records are recorded as added has them
/// in DNS. `--dns` only.
pub const DNS_CONSISTENT_AT_REST: &str = "DNS matches the bindings at rest";
/// (l) RFC 4703, RFC 8156 §9.4 last paragraph: a DNS add never finds the records of another
/// binding in place (a record left behind by a delete not done). `--dns` only.
pub const DNS_NO_CONFLICT: &str = "a DNS add meets no stale record";
/// (m) RFC 8156 §9.5: a reply that gives a client a name gives the one it holds. `--dns` only.
pub const DNS_NAME_KEPT: &str = "a client keeps its DNS name";

/// (n) Design draft §12: a lease the primary's configuration reserves for a client is held by
/// no other client (ground truth: what the clients hold). `--reservations` only.
pub const RESERVED_ONLY_ITS_CLIENT: &str = "a reserved lease is held only by its client";

/// The reservation properties, checked with `--reservations`.
pub const RESERVATIONS: &[&str] = &[RESERVED_ONLY_ITS_CLIENT];

/// The DNS properties, checked with `--dns`.
pub const DNS: &[&str] = &[
    DNS_ONE_UPDATER,
    DNS_CONSISTENT_AT_REST,
    DNS_NO_CONFLICT,
    DNS_NAME_KEPT,
];

/// The safety and bounded-liveness properties checked in a configuration.
pub fn checked(cfg: &crate::config::ModelConfig) -> Vec<&'static str> {
    let mut v = SAFETY_AND_LIVENESS.to_vec();
    if cfg.dns {
        v.extend_from_slice(DNS);
    }
    if !cfg.reservations.is_empty() {
        v.extend_from_slice(RESERVATIONS);
    }
    v
}

/// The state graph has no cycle: every path ends (at a settled end, or where no action is
/// enabled). The budgets bound time, faults and client operations; the protocol must bound the
/// messages exchanged within one tick (§7.5.4, "preventing a possible update storm").
pub const EVERY_PATH_ENDS: &str = "every path ends (the state graph has no cycle)";

/// Every safety and bounded-liveness property, with its name.
pub const SAFETY_AND_LIVENESS: &[&str] = &[
    NO_DUPLICATE,
    MCLT_BOUND,
    POOL_OWNERSHIP,
    AGREEMENT_AT_REST,
    RESPONSIVENESS,
    BACK_TO_NORMAL,
    FREE_LEASE_GRANTED,
    LEASES_REUSABLE,
    LEASE_STABILITY,
];

fn no_duplicate(_: &FailoverModel, st: &State) -> bool {
    // One bit per lease (at most 8): a lease met twice among the unexpired holdings.
    let mut held = 0u32;
    for h in st.clients.iter().flatten() {
        if h.expiry > st.now {
            let bit = 1u32 << h.lease;
            if held & bit != 0 {
                return false;
            }
            held |= bit;
        }
    }
    true
}

fn agreement_at_rest(m: &FailoverModel, st: &State) -> bool {
    let [p, s] = &st.servers;
    let no_timer_due = (0..2).all(|i| !crate::protocol::timer_due(&m.cfg, st, i));
    let at_rest = no_timer_due
        && p.up
        && s.up
        && p.state == S::Normal
        && s.state == S::Normal
        && st.chan.iter().all(|c| c.is_empty())
        && p.leases
            .iter()
            .chain(s.leases.iter())
            .all(|l| !l.pending && !l.inflight);
    if !at_rest {
        return true;
    }
    p.leases.iter().zip(s.leases.iter()).all(|(a, b)| {
        // A reserved lease at rest is FREE on the primary and FREE-BACKUP on the secondary,
        // flagged reserved for the same client (design draft §12).
        let reserved_pair =
            a.reserved.is_some() && a.status == B::Free && b.status == B::FreeBackup;
        let same = a.status == b.status && a.client == b.client || reserved_pair;
        // Where the secondary may offer the lease (FREE-BACKUP), it knows the reservation; and
        // a reserved lease FREE on the primary has been announced (design draft §12).
        let announced = a.reserved.is_none() || a.status != B::Free || reserved_pair;
        same && announced && (b.status != B::FreeBackup || a.reserved == b.reserved)
    })
}

/// The lease the primary reserves for a client (its configuration, as its records keep it) is
/// held by no other client.
fn reserved_only_its_client(_: &FailoverModel, st: &State) -> bool {
    st.servers[0]
        .leases
        .iter()
        .enumerate()
        .all(|(l, lease)| match lease.reserved {
            Some(c) => st.clients.iter().enumerate().all(|(x, h)| {
                x as u8 == c || !h.is_some_and(|h| h.lease as usize == l && h.expiry > st.now)
            }),
            None => true,
        })
}

/// The DNS update a server owes that is live: a delete, or an add for a binding still ACTIVE and
/// unexpired in its database.
fn live_ops(st: &State, i: usize, l: usize) -> impl Iterator<Item = DnsOp> + '_ {
    let lease = &st.servers[i].leases[l];
    lease.dns_ops.iter().copied().filter(move |op| match *op {
        DnsOp::Remove(_) => true,
        DnsOp::Add(n) => {
            lease.status == B::Active && lease.fqdn == Some(n) && st.now < lease.expiry
        }
    })
}

fn dns_one_updater(_: &FailoverModel, st: &State) -> bool {
    (0..st.dns.len()).all(|l| {
        let mine: Vec<DnsOp> = live_ops(st, 0, l).collect();
        live_ops(st, 1, l).all(|b| {
            mine.iter().all(|a| {
                a.name() != b.name() || matches!((a, b), (DnsOp::Remove(_), DnsOp::Remove(_)))
            })
        })
    })
}

fn dns_consistent_at_rest(m: &FailoverModel, st: &State) -> bool {
    if st.dns.is_empty() || !m.is_settled_end(st) {
        return true;
    }
    let [p, s] = &st.servers;
    st.dns.iter().enumerate().all(|(l, rec)| {
        let (a, b) = (&p.leases[l], &s.leases[l]);
        let free = |x: &crate::state::Lease| matches!(x.status, B::Free | B::FreeBackup);
        if free(a) && free(b) {
            return rec.is_none();
        }
        if a.status == B::Active && b.status == B::Active && a.client == b.client {
            for x in [a, b] {
                if x.dns_added && *rec != x.fqdn {
                    return false;
                }
            }
        }
        true
    })
}

fn back_to_normal(m: &FailoverModel, st: &State) -> bool {
    !m.is_settled_end(st) || st.servers.iter().all(|s| s.state == S::Normal)
}

fn leases_reusable(m: &FailoverModel, st: &State) -> bool {
    use crate::protocol::{address_owner, available_status, kind};
    use crate::state::LeaseKind;
    if !m.is_settled_end(st) {
        return true;
    }
    st.servers.iter().all(|s| {
        s.leases
            .iter()
            .enumerate()
            .all(|(l, lease)| match lease.status {
                B::Expired | B::Released | B::Reset | B::PendingFree => false,
                // A free address must be in its owner's pool (§4.2.1.1), or nobody can use it.
                B::Free | B::FreeBackup => {
                    kind(&m.cfg, l as u8) == LeaseKind::Prefix
                        || lease.reserved.is_some()
                        || lease.status == available_status(address_owner(l as u8))
                }
                _ => true,
            })
    })
}

/// A reachability target's verdict on a state. In a check ([`FailoverModel::for_check`]) the
/// targets found are remembered, one bit each: a target found before answers `false` at once, so
/// it is not evaluated again and stateright does not record a second path for it (its example
/// is the first state the search met, and what is reached is unchanged).
#[inline(always)]
fn reached(m: &FailoverModel, bit: usize, holds: impl FnOnce() -> bool) -> bool {
    let Some(found) = &m.found else {
        return holds();
    };
    let mask = 1u32 << bit;
    if found.load(Ordering::Relaxed) & mask != 0 {
        return false;
    }
    if holds() {
        found.fetch_or(mask, Ordering::Relaxed);
        true
    } else {
        false
    }
}

/// The index of a reachability target's name in [`REACHABILITY`] (its bit), at compile time.
const fn bit_of(name: &str) -> usize {
    let mut i = 0;
    while i < REACHABILITY.len() {
        let (a, b) = (REACHABILITY[i].as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("not a reachability target")
}

macro_rules! reach_state {
    ($name:literal, $state:expr) => {
        Property::<FailoverModel>::sometimes($name, |m, st: &State| {
            const BIT: usize = bit_of($name);
            reached(m, BIT, || {
                st.servers.iter().any(|s| s.up && s.state == $state)
            })
        })
    };
}

macro_rules! reach_status {
    ($name:literal, $status:expr) => {
        Property::<FailoverModel>::sometimes($name, |m, st: &State| {
            const BIT: usize = bit_of($name);
            reached(m, BIT, || {
                st.servers
                    .iter()
                    .any(|s| s.leases.iter().any(|l| l.status == $status))
            })
        })
    };
}

/// Names of the reachability properties: each endpoint state, each stored binding-status.
/// PENDING-FREE is transient (reading R1) and is never stored, so it has no entry; FREE reached
/// after an ack is the sign that it was passed.
pub const REACHABILITY: &[&str] = &[
    "reach STARTUP",
    "reach NORMAL",
    "reach COMMUNICATIONS-INTERRUPTED",
    "reach PARTNER-DOWN",
    "reach POTENTIAL-CONFLICT",
    "reach RECOVER",
    "reach RECOVER-WAIT",
    "reach RECOVER-DONE",
    "reach RESOLUTION-INTERRUPTED",
    "reach CONFLICT-DONE",
    "reach ACTIVE",
    "reach EXPIRED",
    "reach RELEASED",
    "reach FREE",
    "reach FREE-BACKUP",
    "reach ABANDONED",
    "reach RESET",
];

/// All properties checked in a configuration, in a stable order.
pub fn all_for(cfg: &crate::config::ModelConfig) -> Vec<Property<FailoverModel>> {
    let mut v = all();
    if cfg.dns {
        v.extend([
            Property::always(DNS_ONE_UPDATER, dns_one_updater),
            Property::always(DNS_CONSISTENT_AT_REST, dns_consistent_at_rest),
            Property::always(DNS_NO_CONFLICT, |_, st: &State| !st.monitor.dns_conflict),
            Property::always(DNS_NAME_KEPT, |_, st: &State| !st.monitor.name_changed),
        ]);
    }
    if !cfg.reservations.is_empty() {
        v.push(Property::always(
            RESERVED_ONLY_ITS_CLIENT,
            reserved_only_its_client,
        ));
    }
    v
}

/// A property's condition, as stateright stores it.
pub type Condition = fn(&FailoverModel, &State) -> bool;

/// The name of the one `always` property of the checker's first pass
/// ([`FailoverModel::for_first_pass`]): every `always` property of the configuration holds.
/// It is never reported: [`crate::check::run`] reports each property by its own name.
pub const EVERY_INVARIANT: &str = "every always property";

/// The first pass's combined condition: every `always` property holds, evaluated in the
/// model's order.
fn every_invariant(m: &FailoverModel, st: &State) -> bool {
    m.invariants
        .as_deref()
        .is_none_or(|v| v.iter().all(|holds| holds(m, st)))
}

/// The properties the model gives the checker ([`stateright::Model::properties`]): all of them,
/// less the reachability targets a running check has already found. stateright 0.31 looks
/// every listed property's name up in its map of discoveries on every state, and reads this
/// list again for every block of 1500 states, so a target found stops costing anything a block
/// later; its discovery stays recorded under its name. (Were the list read once, a found
/// target would cost a lookup and one bit test per state.) The list the checker starts with is
/// the whole list.
///
/// In the first pass the `always` properties are replaced by [`EVERY_INVARIANT`], first.
pub fn for_model(m: &FailoverModel) -> Vec<Property<FailoverModel>> {
    let mut v = all_for(&m.cfg);
    if m.explorer {
        for p in &mut v {
            p.name = labelled(p.name);
        }
        return v;
    }
    if m.invariants.is_some() {
        v.retain(|p| p.expectation != Expectation::Always);
        v.insert(0, Property::always(EVERY_INVARIANT, every_invariant));
    }
    if let Some(found) = &m.found {
        let found = found.load(Ordering::Relaxed);
        if found != 0 {
            v.retain(|p| {
                REACHABILITY
                    .iter()
                    .position(|n| *n == p.name)
                    .is_none_or(|bit| found & (1 << bit) == 0)
            });
        }
    }
    v
}

/// The properties of the default configuration, in a stable order.
pub fn all() -> Vec<Property<FailoverModel>> {
    vec![
        Property::always(NO_DUPLICATE, no_duplicate),
        Property::always(MCLT_BOUND, |_, st: &State| !st.monitor.mclt_exceeded),
        Property::always(POOL_OWNERSHIP, |_, st: &State| !st.monitor.foreign_pool),
        Property::always(AGREEMENT_AT_REST, agreement_at_rest),
        Property::always(RESPONSIVENESS, |_, st: &State| {
            !st.monitor.unresponsive_answered
        }),
        Property::always(BACK_TO_NORMAL, back_to_normal),
        Property::always(FREE_LEASE_GRANTED, |_, st: &State| {
            !st.monitor.refused_with_free_lease
        }),
        Property::always(LEASES_REUSABLE, leases_reusable),
        Property::always(LEASE_STABILITY, |_, st: &State| {
            !st.monitor.lease_lost_on_failover
        }),
        reach_state!("reach STARTUP", S::Startup),
        reach_state!("reach NORMAL", S::Normal),
        reach_state!(
            "reach COMMUNICATIONS-INTERRUPTED",
            S::CommunicationsInterrupted
        ),
        reach_state!("reach PARTNER-DOWN", S::PartnerDown),
        reach_state!("reach POTENTIAL-CONFLICT", S::PotentialConflict),
        reach_state!("reach RECOVER", S::Recover),
        reach_state!("reach RECOVER-WAIT", S::RecoverWait),
        reach_state!("reach RECOVER-DONE", S::RecoverDone),
        reach_state!("reach RESOLUTION-INTERRUPTED", S::ResolutionInterrupted),
        reach_state!("reach CONFLICT-DONE", S::ConflictDone),
        reach_status!("reach ACTIVE", B::Active),
        reach_status!("reach EXPIRED", B::Expired),
        reach_status!("reach RELEASED", B::Released),
        reach_status!("reach FREE", B::Free),
        reach_status!("reach FREE-BACKUP", B::FreeBackup),
        reach_status!("reach ABANDONED", B::Abandoned),
        reach_status!("reach RESET", B::Reset),
    ]
}

/// Whether a property name is a reachability (`sometimes`) property.
pub fn is_reachability(name: &str) -> bool {
    REACHABILITY.contains(&name)
}

/// Check one property on one state (used by tests and the trace tools).
pub fn holds(m: &FailoverModel, name: &str, st: &State) -> Option<bool> {
    m.properties()
        .into_iter()
        .find(|p| p.name == name)
        .map(|p| (p.condition)(m, st))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reachability_target_is_listed_in_order() {
        let names: Vec<&str> = all()
            .into_iter()
            .filter(|p| is_reachability(p.name))
            .map(|p| p.name)
            .collect();
        assert_eq!(names, REACHABILITY);
        assert!(REACHABILITY.len() <= 32, "one bit each in a u32");
    }

    #[test]
    fn the_first_pass_lists_one_always_property_that_fails_where_any_fails() {
        let plain = FailoverModel::new(crate::ModelConfig::default());
        let m = plain.for_first_pass();
        let props = for_model(&m);
        let always: Vec<&str> = props
            .iter()
            .filter(|p| p.expectation == Expectation::Always)
            .map(|p| p.name)
            .collect();
        assert_eq!(always, [EVERY_INVARIANT]);
        assert_eq!(props.len(), 1 + REACHABILITY.len());
        let combined = |st: &State| (props[0].condition)(&m, st);
        let init = m.initial_state();
        assert!(combined(&init));
        // Each monitor breaks its own property, and with it the combined one.
        for (name, set) in [
            (
                MCLT_BOUND,
                (|st: &mut State| st.monitor.mclt_exceeded = true) as fn(&mut State),
            ),
            (POOL_OWNERSHIP, |st| st.monitor.foreign_pool = true),
            (RESPONSIVENESS, |st| st.monitor.unresponsive_answered = true),
            (FREE_LEASE_GRANTED, |st| {
                st.monitor.refused_with_free_lease = true
            }),
            (LEASE_STABILITY, |st| {
                st.monitor.lease_lost_on_failover = true
            }),
        ] {
            let mut st = init.clone();
            set(&mut st);
            assert_eq!(holds(&plain, name, &st), Some(false), "{name}");
            assert!(
                !combined(&st),
                "{name} fails, so the combined property fails"
            );
        }
    }

    #[test]
    fn a_found_target_is_left_out_and_answers_false() {
        let m = FailoverModel::new(crate::ModelConfig::default()).for_check();
        let init = m.initial_state();
        let normal = |m: &FailoverModel| {
            let p = for_model(m).into_iter().find(|p| p.name == "reach NORMAL");
            p.map(|p| (p.condition)(m, &init))
        };
        assert_eq!(for_model(&m).len(), all().len());
        assert_eq!(normal(&m), Some(true), "found once");
        assert_eq!(
            m.found.as_ref().unwrap().load(Ordering::Relaxed),
            1 << bit_of("reach NORMAL")
        );
        assert_eq!(normal(&m), None, "then left out of the list");
        assert_eq!(for_model(&m).len(), all().len() - 1);
        // Outside a check the conditions are plain predicates.
        let plain = FailoverModel::new(crate::ModelConfig::default());
        assert_eq!(holds(&plain, "reach NORMAL", &init), Some(true));
        assert_eq!(holds(&plain, "reach NORMAL", &init), Some(true));
    }
}

/// The kind of a property, as README's table of properties names it: `safety` (in every
/// state), `bounded liveness` (at every settled end, so "eventually, within the bound"),
/// `availability` (a server that could serve does), or `reachability` (some state reaches it).
pub fn kind(name: &str) -> &'static str {
    match name {
        BACK_TO_NORMAL | LEASES_REUSABLE | DNS_CONSISTENT_AT_REST => "bounded liveness",
        FREE_LEASE_GRANTED | LEASE_STABILITY => "availability",
        EVERY_PATH_ENDS => "graph",
        n if is_reachability(n) => "reachability",
        _ => "safety",
    }
}

/// What is wrong, concretely, in a state where property `name` does not hold: the clients,
/// leases and states involved ("c0 and c1 both hold P0"), for the mark on a counterexample's
/// chart. A property whose monitor only records that something happened gets its rule.
pub fn violation_detail(m: &FailoverModel, name: &str, st: &State) -> String {
    let lease = |l: usize| crate::names::lease(Some(m.cfg.addresses), l as u8);
    let role = |i: usize| if i == 0 { "primary" } else { "secondary" };
    let held = |c: usize| st.clients[c].filter(|h| h.expiry > st.now);
    match name {
        NO_DUPLICATE => {
            for a in 0..st.clients.len() {
                for b in a + 1..st.clients.len() {
                    if let (Some(x), Some(y)) = (held(a), held(b)) {
                        if x.lease == y.lease {
                            return format!("c{a} and c{b} both hold {}", lease(x.lease as usize));
                        }
                    }
                }
            }
        }
        AGREEMENT_AT_REST => {
            let [p, s] = &st.servers;
            for (l, (a, b)) in p.leases.iter().zip(s.leases.iter()).enumerate() {
                if a.status != b.status || a.client != b.client {
                    let show = |x: &crate::state::Lease| match x.client {
                        Some(c) => format!("{} c{c}", x.status),
                        None => x.status.to_string(),
                    };
                    return format!(
                        "both NORMAL with nothing pending, but {}: primary {}, secondary {}",
                        lease(l),
                        show(a),
                        show(b)
                    );
                }
            }
            return "both NORMAL with nothing pending, but a reservation flag differs".into();
        }
        BACK_TO_NORMAL => {
            let states: Vec<String> = (0..2)
                .filter(|&i| st.servers[i].state != S::Normal)
                .map(|i| format!("{} {}", role(i), st.servers[i].state))
                .collect();
            return format!(
                "the faults are over and time is up, yet {}",
                states.join(", ")
            );
        }
        LEASES_REUSABLE => {
            let mut stuck = Vec::new();
            for (i, s) in st.servers.iter().enumerate() {
                for (l, x) in s.leases.iter().enumerate() {
                    if matches!(
                        x.status,
                        B::Expired | B::Released | B::Reset | B::PendingFree
                    ) {
                        stuck.push(format!("{} {} on the {}", lease(l), x.status, role(i)));
                    }
                }
            }
            if stuck.is_empty() {
                return "the faults are over and time is up, yet a free address is outside its owner's pool".into();
            }
            return format!(
                "the faults are over and time is up, yet {}",
                stuck.join(", ")
            );
        }
        RESERVED_ONLY_ITS_CLIENT => {
            for (l, x) in st.servers[0].leases.iter().enumerate() {
                if let Some(r) = x.reserved {
                    for c in 0..st.clients.len() {
                        if c as u8 != r && held(c).is_some_and(|h| h.lease as usize == l) {
                            return format!("c{c} holds {}, reserved for c{r}", lease(l));
                        }
                    }
                }
            }
        }
        MCLT_BOUND => {
            return "a grant outside PARTNER-DOWN went past max(now, acked PL) + MCLT".into()
        }
        POOL_OWNERSHIP => return "a server allocated a lease from its partner's pool".into(),
        RESPONSIVENESS => {
            return "a server answered a client in a state that must not answer".into()
        }
        FREE_LEASE_GRANTED => {
            return "a responsive server with a free lease of its own refused a client".into()
        }
        LEASE_STABILITY => {
            return "a client could not keep its lease with the partner of its failed server".into()
        }
        DNS_NAME_KEPT => return "a reply gave a client another name than the one it holds".into(),
        DNS_NO_CONFLICT => return "a DNS add found another binding's records in place".into(),
        _ => {}
    }
    name.to_string()
}

/// A property's name followed by its kind, as the Explorer lists it: "Always after faults
/// stop both servers reach NORMAL — bounded liveness, judged at every settled end". Each label
/// is made once and kept for the life of the program (the Explorer wants `&'static str`).
pub fn labelled(name: &'static str) -> &'static str {
    static LABELS: std::sync::Mutex<Vec<(&'static str, &'static str)>> =
        std::sync::Mutex::new(Vec::new());
    let mut labels = LABELS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, l)) = labels.iter().find(|(n, _)| *n == name) {
        return l;
    }
    let what = match kind(name) {
        "bounded liveness" => {
            "bounded liveness, judged at every settled end (faults over, settle time run out)"
        }
        "availability" => "availability (a server that can serve does)",
        k => k,
    };
    let l: &'static str = Box::leak(format!("{name} — {what}").into_boxed_str());
    labels.push((name, l));
    l
}
