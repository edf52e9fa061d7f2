//! `db::pd_reuse_time` against reading R2 (issue 20 §4): R2 names five inputs, the function
//! takes seven. `partner_lifetime` is R2's "last partner-lifetime sent" before it is
//! transmitted (the model sets its `pl_sent` when it grants, before the BNDUPD goes out; the
//! core keeps the pending value and, digest A15, the transmitted one apart). The seventh,
//! `state_expiration_time`, never changes the result on a record the endpoints produce: it is
//! only set for an ACTIVE binding, whose expiry is also folded into `client_expiry`. The
//! property below drives a pair through random client traffic, partitions, PARTNER-DOWN
//! commands and crashes and checks that on every record of both servers after every step.

use std::sync::atomic::{AtomicUsize, Ordering};

use quickcheck::{QuickCheck, TestResult};

use super::util::{Pair, MCLT, T0};
use crate::db::{pd_reuse_time, Binding};
use crate::{ClientOp, Command, LeaseKey, LeaseKind, Role};

/// The reuse time with `state_expiration_time` left out, as R2 has it.
fn reuse_without_state_expiration(b: &Binding) -> crate::Time {
    let mut five = b.clone();
    five.state_expiration_time = None;
    pd_reuse_time(&five, T0, MCLT)
}

/// Records seen with a `state_expiration_time`, and in PARTNER-DOWN (the property's coverage).
static WITH_STATE_EXPIRATION: AtomicUsize = AtomicUsize::new(0);
static IN_PARTNER_DOWN: AtomicUsize = AtomicUsize::new(0);

/// The first record of either server whose reuse time depends on `state_expiration_time`.
fn first_disagreement(pair: &Pair) -> Option<(Role, LeaseKey, Binding)> {
    for (role, node) in [(Role::Primary, &pair.p), (Role::Secondary, &pair.s)] {
        if node.ep.state() == crate::ServerState::PartnerDown {
            IN_PARTNER_DOWN.fetch_add(1, Ordering::Relaxed);
        }
        for (k, b) in node.ep.db().iter() {
            if b.state_expiration_time.is_some() {
                WITH_STATE_EXPIRATION.fetch_add(1, Ordering::Relaxed);
            }
            if pd_reuse_time(b, T0, MCLT) != reuse_without_state_expiration(b) {
                return Some((role, *k, b.clone()));
            }
        }
    }
    None
}

fn role_of(x: u8) -> Role {
    if x & 1 == 0 {
        Role::Primary
    } else {
        Role::Secondary
    }
}

/// The `n`th lease `role` has a record of, if any.
fn some_lease(pair: &Pair, role: Role, n: u8) -> Option<LeaseKey> {
    let node = if role == Role::Primary {
        &pair.p
    } else {
        &pair.s
    };
    let keys: Vec<LeaseKey> = node.ep.db().iter().map(|(k, _)| *k).collect();
    (!keys.is_empty()).then(|| keys[n as usize % keys.len()])
}

/// Apply one random step; `(what, a, b)` choose the step and its arguments.
fn step(pair: &mut Pair, (what, a, b): (u8, u8, u8)) {
    let role = role_of(a);
    let client = u64::from(b % 4);
    let kind = if a & 2 == 0 {
        LeaseKind::Address
    } else {
        LeaseKind::Prefix
    };
    match what % 8 {
        0 | 1 => {
            pair.client(role, client, ClientOp::Request(kind));
        }
        2 => {
            if let Some(lease) = some_lease(pair, role, b) {
                pair.client(role, client, ClientOp::Renew { lease, to_me: true });
            }
        }
        3 => {
            if let Some(lease) = some_lease(pair, role, b) {
                pair.client(role, client, ClientOp::Release { lease, to_me: true });
            }
        }
        4 => pair.advance((u64::from(b) % 20 + 1) * 30),
        5 => pair.set_link(!pair.link_up),
        6 if !pair.link_up => {
            let now = pair.now;
            pair.node(role).ep.handle_command(now, Command::PartnerDown);
            pair.drain();
        }
        7 => {
            pair.crash(role);
            pair.advance(10);
            pair.restart(role, true);
        }
        _ => {}
    }
}

#[test]
fn state_expiration_time_never_changes_the_partner_down_reuse_time_of_a_reachable_record() {
    fn prop(steps: Vec<(u8, u8, u8)>) -> TestResult {
        let mut pair = Pair::normal();
        // PARTNER-DOWN while the partner still serves breaks the protocol's assumption on
        // purpose: this property is about the records, not about duplicates.
        pair.allow_duplicates = true;
        for (n, s) in steps.into_iter().take(60).enumerate() {
            step(&mut pair, s);
            if let Some((role, k, b)) = first_disagreement(&pair) {
                return TestResult::error(format!(
                    "after step {n}, {role} {k}: state_expiration_time changes the reuse time \
                     of {b:?}\n{}",
                    pair.tail()
                ));
            }
        }
        TestResult::passed()
    }
    QuickCheck::new()
        .tests(60)
        .quickcheck(prop as fn(Vec<(u8, u8, u8)>) -> TestResult);
    // The walks reached what the property is about.
    assert!(WITH_STATE_EXPIRATION.load(Ordering::Relaxed) > 0);
    assert!(IN_PARTNER_DOWN.load(Ordering::Relaxed) > 0);
    eprintln!(
        "records with a state-expiration-time: {}, steps in PARTNER-DOWN: {}",
        WITH_STATE_EXPIRATION.load(Ordering::Relaxed),
        IN_PARTNER_DOWN.load(Ordering::Relaxed)
    );
}

#[test]
fn the_reuse_check_sees_a_state_expiration_time_beyond_the_client_expiry() {
    // A record no endpoint makes: the seventh input then decides, and the check reports it.
    let mut pair = Pair::normal();
    let granted = pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address));
    assert!(granted.is_some(), "the primary grants in NORMAL");
    assert_eq!(first_disagreement(&pair), None);
    let key = some_lease(&pair, Role::Primary, 0).unwrap();
    let mut b = pair.p.ep.db().get(&key).unwrap().clone();
    let late = b.client_expiry.unwrap().plus(10 * 3600);
    b.state_expiration_time = Some(late);
    assert_eq!(pd_reuse_time(&b, T0, MCLT), late.plus(MCLT));
    assert_ne!(
        pd_reuse_time(&b, T0, MCLT),
        reuse_without_state_expiration(&b)
    );
}
