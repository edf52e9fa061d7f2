//! Whole scenarios on two nodes over the real codec and real stores, with a simulated clock.
//! After each, every grant has been checked against what clients hold (no duplicate), and each
//! store equals its endpoint's database.

use failover_core::{BindingStatus, ClientId, ClientOp, Command, LeaseKind, MsgKind, Role};
use failover_core::{LeaseKey, ServerState::*};
use failover_node::sim::{Chunking, Pair};
use failover_node::storage::{lease_key_text, load_stable};

use super::common::*;

fn assert_consistent(pair: &Pair) {
    assert!(pair.duplicates.is_empty(), "{:?}", pair.duplicates);
    for role in [Role::Primary, Role::Secondary] {
        if pair.side(role).node.is_some() {
            pair.durable_matches_memory(role).unwrap();
        }
    }
}

/// `lease` is ACTIVE for `client` in `role`'s store (not only in memory).
fn durable_active(pair: &Pair, role: Role, lease: LeaseKey, client: u64) -> bool {
    pair.side(role)
        .node()
        .store()
        .binding(&lease_key_text(&lease))
        .unwrap()
        .is_some_and(|b| {
            b.status == BindingStatus::Active && b.client == Some(ClientId::from(client))
        })
}

/// The index of the first transcript line containing every part, in order.
fn line(pair: &Pair, from: usize, parts: &[&str]) -> usize {
    pair.transcript[from..]
        .iter()
        .position(|l| {
            let mut rest = l.as_str();
            parts.iter().all(|p| match rest.find(p) {
                Some(i) => {
                    rest = &rest[i + p.len()..];
                    true
                }
                None => false,
            })
        })
        .map(|i| i + from)
        .unwrap_or_else(|| panic!("no line with {parts:?}\n{}", pair.tail()))
}

#[test]
fn fresh_pair_reaches_normal_over_the_wire_and_records_it_durably() {
    let (_dir, pair) = normal_pair();
    // Reading R5: a fresh primary starts as PARTNER-DOWN, a fresh secondary as RECOVER.
    assert_eq!(pair.p.states_visited(), vec![PartnerDown, Normal]);
    assert_eq!(
        pair.s.states_visited(),
        vec![Recover, RecoverWait, RecoverDone, Normal]
    );
    for role in [Role::Primary, Role::Secondary] {
        let rec = load_stable(pair.side(role).node().store())
            .unwrap()
            .unwrap()
            .endpoint;
        assert_eq!(rec.state, Some(Normal), "{role:?}");
        assert!(rec.communicated);
    }
    // §8.8: POOLREQ balanced the delegable prefixes; both stores agree.
    assert_eq!(pair.s.sent_count(MsgKind::PoolReq), 1);
    assert_consistent(&pair);
}

#[test]
fn normal_allocation_replies_first_then_the_lazy_update_reaches_the_partner_store() {
    let (_dir, mut pair) = normal_pair();
    let from = pair.transcript.len();
    let (l, lt, _) = granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    // §4.4: before the partner acknowledged anything, the lifetime is the MCLT.
    assert_eq!(lt, MCLT);
    // §4.3 lazy update: client reply, then BNDUPD, then the partner's BNDREPLY.
    let reply = line(&pair, from, &["primary client 0000000000000001 Granted"]);
    let upd = line(
        &pair,
        from,
        &["primary -> BNDUPD", &l.to_string(), "ACTIVE"],
    );
    let ack = line(&pair, from, &["secondary -> BNDREPLY", &l.to_string()]);
    assert!(reply < upd && upd < ack);
    assert!(durable_active(&pair, Role::Secondary, l, 1));
    // The ack raised acked-partner-lifetime: a renewal now gets the desired lifetime (§4.4.1).
    pair.advance(10);
    let (_, lt, _) = granted(pair.client(
        Role::Primary,
        1,
        ClientOp::Renew {
            lease: l,
            to_me: true,
        },
    ));
    assert_eq!(lt, DESIRED);
    pair.advance(1);
    let b = pair
        .s
        .node()
        .store()
        .binding(&lease_key_text(&l))
        .unwrap()
        .unwrap();
    assert_eq!(
        b.state_expiration_time,
        Some(pair.now.minus(1).plus(DESIRED))
    );
    assert_consistent(&pair);
}

#[test]
fn partition_enters_communications_interrupted_and_heal_returns_to_normal() {
    let (_dir, mut pair) = normal_pair();
    pair.set_link(false);
    pair.advance(61);
    assert_eq!(
        pair.states(),
        (CommunicationsInterrupted, CommunicationsInterrupted)
    );
    // §8.9.1: both serve, each from its own pool, MCLT-bounded.
    let (lp, _, _) = granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    let (ls, lt, _) =
        granted(pair.client(Role::Secondary, 2, ClientOp::Request(LeaseKind::Address)));
    assert_eq!(lt, MCLT);
    assert_eq!(failover_core::db::address_owner(&ls), Role::Secondary);
    pair.set_link(true);
    reach_normal(&mut pair, 100);
    pair.advance(2);
    // Each learned the other's grant, durably.
    assert!(durable_active(&pair, Role::Secondary, lp, 1));
    assert!(durable_active(&pair, Role::Primary, ls, 2));
    assert_consistent(&pair);
}

#[test]
fn partition_then_partner_down_then_heal_recovers_the_restarted_partner_to_normal() {
    let (_dir, mut pair) = normal_pair();
    let (l1, _, _) = granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    pair.advance(2);
    // Partition: both in COMMUNICATIONS-INTERRUPTED after the keepalive.
    pair.set_link(false);
    pair.advance(61);
    assert_eq!(
        pair.states(),
        (CommunicationsInterrupted, CommunicationsInterrupted)
    );
    // The secondary really goes down (§8.4: only then may the operator say so).
    pair.crash(Role::Secondary);
    pair.advance(10);
    pair.command(Role::Primary, Command::PartnerDown);
    assert_eq!(pair.p.state(), PartnerDown);
    // §8.4.1: PARTNER-DOWN is not restricted by the MCLT.
    let (l2, lt2, _) =
        granted(pair.client(Role::Primary, 2, ClientOp::Request(LeaseKind::Address)));
    assert_eq!(lt2, DESIRED);
    pair.advance(30);
    // Heal, and the secondary restarts from its store.
    pair.set_link(true);
    let from = pair.transcript.len();
    pair.restart(Role::Secondary);
    reach_normal(&mut pair, 1000);
    // §8.3.2 step 5: the partner entered PARTNER-DOWN after our last operation → RECOVER.
    assert_eq!(
        pair.s.states_visited(),
        vec![Recover, RecoverWait, RecoverDone, Normal]
    );
    assert!(pair.p.states_visited().ends_with(&[PartnerDown, Normal]));
    // Figure 7, over the wire.
    let seq = [
        line(&pair, from, &["secondary -> UPDREQ"]),
        line(&pair, from, &["primary -> BNDUPD", &l2.to_string()]),
        line(&pair, from, &["primary -> UPDDONE"]),
        line(&pair, from, &["secondary -> STATE", "RECOVER-WAIT"]),
        line(&pair, from, &["secondary -> STATE", "RECOVER-DONE"]),
        line(&pair, from, &["primary -> STATE", "NORMAL"]),
    ];
    assert!(
        seq.windows(2).all(|w| w[0] < w[1]),
        "{seq:?}\n{}",
        pair.tail()
    );
    pair.advance(2);
    assert!(durable_active(&pair, Role::Secondary, l2, 2));
    // l1 was granted for the MCLT before the partition and has expired meanwhile.
    assert_ne!(
        pair.s.node().endpoint().observe().leases[&l1].status,
        BindingStatus::Active
    );
    assert_consistent(&pair);
}

#[test]
fn a_server_that_served_after_its_partner_entered_partner_down_restarts_in_potential_conflict() {
    let (_dir, mut pair) = normal_pair();
    pair.set_link(false);
    pair.advance(61);
    // The secondary's state record (COMMUNICATIONS-INTERRUPTED) dates from here...
    assert_eq!(pair.s.state(), CommunicationsInterrupted);
    pair.advance(20);
    // ... the primary is (wrongly) told its partner is down 20 s later ...
    pair.command(Role::Primary, Command::PartnerDown);
    pair.advance(30);
    // ... and the secondary, still serving, grants a lease 30 s after that, then crashes.
    let (l, _, _) = granted(pair.client(Role::Secondary, 5, ClientOp::Request(LeaseKind::Address)));
    pair.crash(Role::Secondary);
    pair.advance(20);
    pair.set_link(true);
    pair.restart(Role::Secondary);
    reach_normal(&mut pair, 2000);
    // RFC 8156 §8.3.2 step 5: the partner entered PARTNER-DOWN *before* this server's last
    // operation (the grant), so POTENTIAL-CONFLICT, not RECOVER. The node records the time of
    // every commit as TIME-OF-FAILURE; the state record alone would date the last operation
    // before the partner's PARTNER-DOWN and choose RECOVER.
    assert_eq!(pair.s.states_visited().first(), Some(&PotentialConflict));
    pair.advance(5);
    assert!(durable_active(&pair, Role::Primary, l, 5));
    assert_consistent(&pair);
}

#[test]
fn partner_down_while_the_partner_serves_heals_through_potential_conflict() {
    let (_dir, mut pair) = normal_pair();
    pair.set_link(false);
    pair.advance(61);
    // Both serve in the partition; the operator wrongly declares the secondary down.
    granted(pair.client(Role::Secondary, 1, ClientOp::Request(LeaseKind::Address)));
    pair.command(Role::Primary, Command::PartnerDown);
    granted(pair.client(Role::Primary, 2, ClientOp::Request(LeaseKind::Address)));
    pair.advance(20);
    pair.set_link(true);
    reach_normal(&mut pair, 2000);
    // §8.9.2: the secondary in COMMUNICATIONS-INTERRUPTED meets a partner in PARTNER-DOWN →
    // POTENTIAL-CONFLICT; the databases are reconciled with UPDREQ before NORMAL (§8.10).
    assert!(
        pair.s.states_visited().contains(&PotentialConflict),
        "{:?}",
        pair.s.states_visited()
    );
    pair.advance(5);
    assert_consistent(&pair);
}

#[test]
fn crash_and_reopen_keeps_every_acknowledged_lease_and_resumes_normal() {
    let (_dir, mut pair) = normal_pair();
    let mut leases = Vec::new();
    for c in 1..=3 {
        let (l, _, _) =
            granted(pair.client(Role::Primary, c, ClientOp::Request(LeaseKind::Address)));
        leases.push((l, c));
    }
    let (p1, _, _) = granted(pair.client(Role::Primary, 4, ClientOp::Request(LeaseKind::Prefix)));
    pair.advance(5);
    for (l, c) in &leases {
        granted(pair.client(
            Role::Primary,
            *c,
            ClientOp::Renew {
                lease: *l,
                to_me: true,
            },
        ));
    }
    pair.crash(Role::Primary);
    assert_eq!(pair.s.state(), CommunicationsInterrupted);
    pair.advance(20);
    pair.restart(Role::Primary);
    // Straight after the reopen, before any message: the endpoint holds every grant.
    for (l, c) in &leases {
        let v = &pair.p.node().endpoint().observe().leases[l];
        assert_eq!(
            (v.status, v.client.clone()),
            (BindingStatus::Active, Some(ClientId::from(*c)))
        );
    }
    reach_normal(&mut pair, 1000);
    pair.advance(2);
    for (l, c) in &leases {
        assert!(durable_active(&pair, Role::Primary, *l, *c));
        assert!(durable_active(&pair, Role::Secondary, *l, *c));
    }
    assert!(durable_active(&pair, Role::Secondary, p1, 4));
    // A new client gets a different address: nothing is handed out twice.
    let (l5, _, _) = granted(pair.client(Role::Primary, 5, ClientOp::Request(LeaseKind::Address)));
    assert!(leases.iter().all(|(l, _)| *l != l5));
    assert_consistent(&pair);
}

#[test]
fn secondary_that_lost_its_storage_gets_everything_back_with_updreqall() {
    let (_dir, mut pair) = normal_pair();
    let (l, _, _) = granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    pair.advance(5);
    granted(pair.client(
        Role::Primary,
        1,
        ClientOp::Renew {
            lease: l,
            to_me: true,
        },
    ));
    // The fresh secondary already asked for everything once (its storage was empty, R5).
    let before = pair.s.sent_count(MsgKind::UpdReqAll);
    pair.crash(Role::Secondary);
    pair.lose_storage(Role::Secondary);
    pair.advance(5);
    pair.restart(Role::Secondary);
    // Everything is back (durably) once the UPDREQALL is answered, before RECOVER-WAIT ends.
    for _ in 0..100 {
        if pair.s.node.as_ref().map(|n| n.endpoint().state())
            == Some(failover_core::ServerState::RecoverWait)
        {
            break;
        }
        pair.advance(1);
    }
    // Reading R5 / §8.5.2: no record of the partner, the partner remembers us → UPDREQALL.
    assert_eq!(pair.s.sent_count(MsgKind::UpdReqAll), before + 1);
    assert!(durable_active(&pair, Role::Secondary, l, 1));
    // Reading R22: RECOVER-WAIT lasts max(MCLT, desired lifetime) after a loss of storage.
    reach_normal(&mut pair, 1000);
    assert_consistent(&pair);
}

/// The same allocation-partition-heal story with the stream cut in random pieces (1 to 7
/// octets per read, then 1 to 200) ends in the same databases as with whole reads.
#[test]
fn random_partial_reads_give_the_same_outcome_as_whole_reads() {
    fn story(chunking: Chunking) -> Vec<(LeaseKey, BindingStatus, Option<ClientId>)> {
        let (_dir, mut pair) = pair_with(config(Role::Primary), config(Role::Secondary));
        pair.set_chunking(chunking);
        reach_normal(&mut pair, 1000);
        // Three addresses and the primary's two delegable prefixes (the other two went to the
        // secondary with POOLREQ), renewed to the full lifetime once acknowledged.
        let mut held = Vec::new();
        for c in 1..=5 {
            let kind = if c <= 3 {
                LeaseKind::Address
            } else {
                LeaseKind::Prefix
            };
            let (l, _, _) = granted(pair.client(Role::Primary, c, ClientOp::Request(kind)));
            held.push((l, c));
        }
        pair.advance(2);
        for (l, c) in held {
            let renew = ClientOp::Renew {
                lease: l,
                to_me: true,
            };
            assert_eq!(granted(pair.client(Role::Primary, c, renew)).1, DESIRED);
        }
        pair.set_link(false);
        pair.advance(61);
        pair.client(Role::Secondary, 20, ClientOp::Request(LeaseKind::Address));
        pair.set_link(true);
        reach_normal(&mut pair, 200);
        pair.advance(5);
        assert_consistent(&pair);
        assert!(pair.p.closes.iter().all(|c| !matches!(
            c,
            failover_node::CloseReason::Framing(_) | failover_node::CloseReason::Malformed { .. }
        )));
        pair.s
            .node()
            .endpoint()
            .observe()
            .leases
            .into_iter()
            .map(|(k, v)| (k, v.status, v.client))
            .collect()
    }
    let whole = story(Chunking::Whole);
    assert_eq!(
        whole
            .iter()
            .filter(|(_, s, _)| *s == BindingStatus::Active)
            .count(),
        6
    );
    assert_eq!(story(Chunking::Random { seed: 1, max: 7 }), whole);
    assert_eq!(story(Chunking::Random { seed: 2, max: 200 }), whole);
}

/// The partition drill of `scripts/compare-kea.sh` (MCLT 30 s, a 45 s cut, `partner-down` on
/// both servers), in the simulator. A client granted by the primary just before the cut (an
/// MCLT-bounded lifetime, acknowledged by the secondary) renews with the primary in
/// PARTNER-DOWN; the secondary, which never talked to the client, lets its copy expire before
/// the link heals. After the heal the primary owes ACTIVE and the secondary owes EXPIRED.
/// RFC 8156 §7.5.4: "Ultimately, the server with the most recent binding information should
/// have its update accepted by its partner": the primary's renewal is the later client
/// transaction. Taken literally, the secondary's database time is the start of its EXPIRED
/// state (it has no CLT of its own) and it rejects the renewal; the primary rejects the EXPIRED
/// by time(1); both resend on each periodic scan and both owe the update until the client's
/// lease runs out an hour later (decision D8). The drill saw 6 owed updates on each side 76 s
/// after NORMAL.
#[test]
fn renewal_in_partner_down_reaches_a_partner_whose_copy_expired_during_the_partition() {
    let cfg = |role| {
        let mut c = config(role);
        c.mclt = 30;
        c.keepalive_time = 4;
        c
    };
    let (_dir, mut pair) = pair_with(cfg(Role::Primary), cfg(Role::Secondary));
    reach_normal(&mut pair, 1000);
    let (l, lt, _) = granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    assert_eq!(lt, 30);
    pair.advance(2);
    assert!(durable_active(&pair, Role::Secondary, l, 1));
    pair.set_link(false);
    pair.advance(6);
    assert_eq!(
        pair.states(),
        (CommunicationsInterrupted, CommunicationsInterrupted)
    );
    pair.command(Role::Primary, Command::PartnerDown);
    pair.command(Role::Secondary, Command::PartnerDown);
    assert_eq!(pair.states(), (PartnerDown, PartnerDown));
    pair.advance(3);
    // The client's T1 (11 s): a renewal with the primary, which PARTNER-DOWN does not bound by
    // the MCLT (§8.4.1).
    let (_, lt, _) = granted(pair.client(
        Role::Primary,
        1,
        ClientOp::Renew {
            lease: l,
            to_me: true,
        },
    ));
    assert_eq!(lt, DESIRED);
    // The secondary's copy (30 s) expires during the partition.
    pair.advance(30);
    assert_eq!(
        pair.s.node().endpoint().observe().leases[&l].status,
        BindingStatus::Expired
    );
    pair.set_link(true);
    reach_normal(&mut pair, 100);
    // Three periodic scans (update_retry 30 s) after NORMAL: the drill watched for 76 s.
    pair.advance(100);
    for role in [Role::Primary, Role::Secondary] {
        let ep = pair.side(role).node().endpoint();
        let v = &ep.observe().leases[&l];
        assert_eq!(
            (v.status, v.client.clone()),
            (BindingStatus::Active, Some(ClientId::from(1))),
            "{role:?}\n{}",
            pair.tail()
        );
        assert!(
            ep.db().pending().is_empty(),
            "{role:?} still owes {:?}\n{}",
            ep.db().pending(),
            pair.tail()
        );
    }
    assert!(durable_active(&pair, Role::Secondary, l, 1));
    assert_consistent(&pair);
}
