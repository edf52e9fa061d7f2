//! Whole scenarios on a two-endpoint `Pair` with a simulated clock. Every grant is checked
//! against the ground truth of what clients hold: the harness panics on a duplicate assignment.

use super::util::*;
use crate::*;
use ServerState::*;

fn granted(r: Option<ReplyKind>) -> (LeaseKey, u64, Time) {
    match r {
        Some(ReplyKind::Granted {
            lease,
            valid_lifetime,
            expires,
        }) => (lease, valid_lifetime, expires),
        other => panic!("expected a grant, got {other:?}"),
    }
}

fn status(ep: &Endpoint, k: LeaseKey) -> BindingStatus {
    ep.observe().leases[&k].status
}

fn states_visited(n: &Node) -> Vec<ServerState> {
    n.events
        .iter()
        .filter_map(|e| match e {
            Event::StateChanged { to, .. } => Some(*to),
            _ => None,
        })
        .collect()
}

#[test]
fn fresh_pair_reaches_normal_through_recover_and_balances_prefixes() {
    let pair = Pair::normal();
    // Reading R5: a fresh primary starts as PARTNER-DOWN, a fresh secondary as RECOVER.
    assert_eq!(states_visited(&pair.p), vec![PartnerDown, Normal]);
    assert_eq!(
        states_visited(&pair.s),
        vec![Recover, RecoverWait, RecoverDone, Normal]
    );
    // Its storage held nothing: it asks for the whole database (§8.5, §5.3.6; reading R5).
    assert_eq!(pair.sent(Role::Secondary, MsgKind::UpdReqAll), 1);
    assert_eq!(pair.sent(Role::Secondary, MsgKind::UpdReq), 0);
    // §8.8: the secondary sends POOLREQ after entering NORMAL; the primary gives it half of the
    // delegable prefixes as FREE-BACKUP (bare IAPREFIX BNDUPDs).
    assert_eq!(pair.sent(Role::Secondary, MsgKind::PoolReq), 1);
    assert_eq!(pair.sent(Role::Primary, MsgKind::PoolResp), 1);
    for ep in [&pair.p.ep, &pair.s.ep] {
        let fb = ep
            .observe()
            .leases
            .iter()
            .filter(|(k, v)| k.is_prefix() && v.status == BindingStatus::FreeBackup)
            .count();
        assert_eq!(fb, 4);
    }
    pair.assert_databases_agree();
}

#[test]
fn normal_allocation_replies_first_then_lazy_bndupd_and_partner_records_it() {
    let mut pair = Pair::normal();
    let t = pair.now;
    let (lease, lt, exp) =
        granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    // §4.4: acked partner lifetime 0 → MCLT.
    assert_eq!(lt, MCLT);
    assert_eq!(exp, t.plus(MCLT));
    assert_eq!(db::address_owner(&lease), Role::Primary);
    // Lazy update (§4.3): the client reply precedes the BNDUPD.
    let reply_at = pair
        .transcript
        .iter()
        .rposition(|l| l.contains("client"))
        .unwrap();
    let upd_at = pair
        .transcript
        .iter()
        .rposition(|l| l.contains("primary -> BNDUPD"))
        .unwrap();
    assert!(reply_at < upd_at);
    let sv = &pair.s.ep.observe().leases[&lease];
    assert_eq!(sv.status, BindingStatus::Active);
    assert_eq!(sv.client, Some(ClientId::from(1)));
    assert_eq!(sv.client_expiry, Some(exp));
    // §7.7: acked partner lifetime := PARTNER_LIFETIME_SENT = now + actual/2 + desired.
    let pv = &pair.p.ep.observe().leases[&lease];
    assert_eq!(pv.acked_partner_lifetime, Some(t.plus(MCLT / 2 + DESIRED)));
    // The secondary's stored expiration-time is what it acked (§5.5.4).
    assert_eq!(
        pair.s.ep.db().get(&lease).unwrap().expiration_time,
        Some(t.plus(MCLT / 2 + DESIRED))
    );
    // Secondary in NORMAL is renew-responsive (reading R10): no REQUEST answer...
    assert_eq!(
        pair.client(Role::Secondary, 2, ClientOp::Request(LeaseKind::Address)),
        None
    );
    // ... but a RENEW naming it is answered.
    let (_, lt2, _) =
        granted(pair.client(Role::Secondary, 1, ClientOp::Renew { lease, to_me: true }));
    assert!(lt2 <= DESIRED);
    pair.advance(5);
    pair.assert_databases_agree();
}

/// RFC 8156 §4.4.1 with its numbers: MCLT 1 h, desired 3 d, T1 = 1/2.
#[test]
fn mclt_example_of_section_4_4_1() {
    const H: u64 = 3600;
    const D: u64 = 86_400;
    let mut pc = config(Role::Primary);
    pc.mclt = H;
    pc.desired_lifetime = 3 * D;
    let mut sc = config(Role::Secondary);
    sc.mclt = H;
    sc.desired_lifetime = 3 * D;
    let mut pair = Pair::with_configs(pc, sc);
    pair.run_until_states(Normal, Normal, 3 * H);
    let t = pair.now;
    // "the actual lifetime is 1 hour (the MCLT)"
    let (lease, lt, _) =
        granted(pair.client(Role::Primary, 7, ClientOp::Request(LeaseKind::Address)));
    assert_eq!(lt, H);
    // "the failover partner is updated using a BNDUPD message with a partner lifetime of
    // 1/2 hour + 3 days" and the BNDREPLY makes it the acknowledged partner lifetime.
    assert_eq!(
        pair.p.ep.observe().leases[&lease].acked_partner_lifetime,
        Some(t.plus(H / 2 + 3 * D))
    );
    // "When the DHCP client attempts to renew at T1 ... the client may have its lease renewed for
    // the desired lifetime -- 3 days."
    pair.advance(H / 2);
    let t1 = pair.now;
    let (_, lt, _) = granted(pair.client(Role::Primary, 7, ClientOp::Renew { lease, to_me: true }));
    assert_eq!(lt, 3 * D);
    // "1/2 of 3 days = 1.5 days. To this it will add the desired lifetime of 3 days, yielding a
    // total partner lifetime of 4.5 days."
    assert_eq!(
        pair.p.ep.observe().leases[&lease].acked_partner_lifetime,
        Some(t1.plus(D + D / 2 + 3 * D))
    );
    // At t + 1/2 h + 1.5 d the client renews again for 3 d.
    pair.advance(D + D / 2);
    let (_, lt, _) = granted(pair.client(Role::Primary, 7, ClientOp::Renew { lease, to_me: true }));
    assert_eq!(lt, 3 * D);
}

#[test]
fn partition_enters_comm_interrupted_then_heal_returns_to_normal() {
    let mut pair = Pair::normal();
    let (l1, _, _) = granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    pair.advance(30);
    let (_, lt, _) = granted(pair.client(
        Role::Primary,
        1,
        ClientOp::Renew {
            lease: l1,
            to_me: true,
        },
    ));
    assert_eq!(lt, DESIRED);
    pair.set_link(false);
    // §6.6: nothing before FO_KEEPALIVE_TIME...
    pair.advance(50);
    assert_eq!(pair.states(), (Normal, Normal));
    // ... then the connection is dead: COMMUNICATIONS-INTERRUPTED on both sides, with an alarm.
    pair.advance(20);
    assert_eq!(
        pair.states(),
        (CommunicationsInterrupted, CommunicationsInterrupted)
    );
    assert!(pair.p.events.iter().any(|e| matches!(e, Event::Alarm(_))));
    // Both are responsive in CI (§8.9.1), each from its own pool.
    let (l2, _, _) = granted(pair.client(Role::Primary, 2, ClientOp::Request(LeaseKind::Address)));
    let (l3, lt3, _) =
        granted(pair.client(Role::Secondary, 3, ClientOp::Request(LeaseKind::Address)));
    assert_eq!(db::address_owner(&l2), Role::Primary);
    assert_eq!(db::address_owner(&l3), Role::Secondary);
    assert_eq!(lt3, MCLT);
    // The secondary renews the primary's client (REBIND), MCLT-bounded (§8.9.1).
    let (_, lt1, e1) = granted(pair.client(Role::Secondary, 1, ClientOp::Rebind(l1)));
    assert!(e1 <= pair.now.plus(DESIRED) && lt1 <= DESIRED);
    pair.set_link(true);
    pair.advance(10);
    assert_eq!(pair.states(), (Normal, Normal));
    pair.advance(10);
    pair.assert_databases_agree();
    let pv = pair.p.ep.observe().leases[&l3].clone();
    assert_eq!(pv.status, BindingStatus::Active);
    assert_eq!(pv.client, Some(ClientId::from(3)));
}

#[test]
fn partner_down_by_command_then_partner_returns_through_recover_to_normal() {
    let mut pair = Pair::normal();
    let (l1, _, _) = granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    pair.advance(10);
    pair.crash(Role::Secondary);
    assert_eq!(pair.p.ep.state(), CommunicationsInterrupted);
    pair.advance(20);
    pair.p.ep.handle_command(pair.now, Command::PartnerDown);
    pair.drain();
    assert_eq!(pair.p.ep.state(), PartnerDown);
    // PARTNER-DOWN: no MCLT restriction (§8.4.1).
    let (l2, lt2, _) =
        granted(pair.client(Role::Primary, 2, ClientOp::Request(LeaseKind::Address)));
    assert_eq!(lt2, DESIRED);
    pair.advance(30);
    let from = pair.transcript.len();
    pair.restart(Role::Secondary, true);
    // STARTUP step 5: partner in PD since later than our last operation → RECOVER; then UPDREQ,
    // UPDDONE, RECOVER-WAIT until TIME-OF-FAILURE + MCLT, RECOVER-DONE, NORMAL.
    pair.run_until_states(Normal, Normal, 1000);
    assert_eq!(
        states_visited(&pair.s),
        vec![Recover, RecoverWait, RecoverDone, Normal]
    );
    assert!(states_visited(&pair.p).ends_with(&[CommunicationsInterrupted, PartnerDown, Normal]));
    // Figure 7 (Transition out of RECOVER State), in order.
    pair.assert_sequence(
        from,
        &[
            "primary -> CONNECT",
            "secondary -> CONNECTREPLY",
            "secondary -> UPDREQ",
            "primary -> BNDUPD",
            "secondary -> BNDREPLY",
            "primary -> UPDDONE",
            "secondary -> STATE*RECOVER-WAIT",
            "secondary -> STATE*RECOVER-DONE",
            "primary -> STATE*NORMAL",
            "secondary -> STATE*NORMAL",
        ],
    );
    let sv = &pair.s.ep.observe().leases[&l2];
    assert_eq!(
        (sv.status, sv.client.clone()),
        (BindingStatus::Active, Some(ClientId::from(2)))
    );
    // l1 (granted for MCLT before the crash) has expired meanwhile, and was freed.
    assert_eq!(settled_status(&pair.s.ep, &l1), BindingStatus::Free);
    assert_eq!(settled_status(&pair.p.ep, &l1), BindingStatus::Free);
    pair.advance(5);
    pair.assert_databases_agree();
}

#[test]
fn recover_wait_lasts_until_time_of_failure_plus_mclt() {
    let mut pair = Pair::normal();
    pair.crash(Role::Secondary);
    let tof = pair.now;
    pair.advance(10);
    pair.p.ep.handle_command(pair.now, Command::PartnerDown);
    pair.advance(10);
    pair.restart(Role::Secondary, true);
    pair.run_until_states(PartnerDown, RecoverWait, 100);
    pair.run_until(tof.plus(MCLT - 1));
    assert_eq!(pair.s.ep.state(), RecoverWait);
    pair.run_until(tof.plus(MCLT));
    assert_eq!(pair.states(), (Normal, Normal));
}

#[test]
fn both_serve_in_partition_then_partner_down_and_restart_resolve_through_potential_conflict() {
    let mut pair = Pair::normal();
    pair.set_link(false);
    pair.advance(70);
    assert_eq!(
        pair.states(),
        (CommunicationsInterrupted, CommunicationsInterrupted)
    );
    let (lp, _, _) = granted(pair.client(Role::Primary, 10, ClientOp::Request(LeaseKind::Address)));
    let (ls, _, _) =
        granted(pair.client(Role::Secondary, 11, ClientOp::Request(LeaseKind::Address)));
    let (pp, _, _) = granted(pair.client(Role::Primary, 12, ClientOp::Request(LeaseKind::Prefix)));
    let (ps, _, _) =
        granted(pair.client(Role::Secondary, 13, ClientOp::Request(LeaseKind::Prefix)));
    assert_ne!(pp, ps);
    // Operator error: the primary is told its partner is down while it is not.
    pair.p.ep.handle_command(pair.now, Command::PartnerDown);
    pair.drain();
    assert_eq!(pair.p.ep.state(), PartnerDown);
    pair.advance(20);
    // The secondary keeps serving, then restarts; the link heals.
    let (ls2, _, _) =
        granted(pair.client(Role::Secondary, 14, ClientOp::Request(LeaseKind::Address)));
    pair.advance(20);
    pair.crash(Role::Secondary);
    pair.set_link(true);
    let from = pair.transcript.len();
    pair.restart(Role::Secondary, true);
    pair.run_until_states(Normal, Normal, 1000);
    // Figure 9 (Transition out of POTENTIAL-CONFLICT State), in order.
    pair.assert_sequence(
        from,
        &[
            "primary -> UPDREQ",
            "secondary -> BNDUPD",
            "primary -> BNDREPLY",
            "secondary -> UPDDONE",
            "primary -> STATE*CONFLICT-DONE",
            // CONFLICT-DONE is responsive and sends its backlog lazily at once, so its BNDUPDs
            // may precede the secondary's UPDREQ; UPDDONE still waits for their BNDREPLYs.
            "primary -> BNDUPD",
            "secondary -> UPDREQ",
            "secondary -> BNDREPLY",
            "primary -> UPDDONE",
            "secondary -> STATE*NORMAL",
            // §8.8: the secondary asks for prefixes as soon as its own updates are out.
            "secondary -> POOLREQ",
            "primary -> STATE*NORMAL",
            "primary -> POOLRESP",
        ],
    );
    // §8.3.2 step 5: its last operation is later than the primary's PARTNER-DOWN entry → PC.
    assert_eq!(states_visited(&pair.s), vec![PotentialConflict, Normal]);
    assert!(states_visited(&pair.p).ends_with(&[
        CommunicationsInterrupted,
        PartnerDown,
        PotentialConflict,
        ConflictDone,
        Normal
    ]));
    // Figure 9: the primary asks first, the secondary asks after CONFLICT-DONE.
    assert!(pair.sent(Role::Primary, MsgKind::UpdReq) >= 1);
    assert!(pair.sent(Role::Secondary, MsgKind::UpdReq) >= 1);
    assert!(pair.sent(Role::Secondary, MsgKind::UpdDone) >= 1);
    assert!(pair.sent(Role::Primary, MsgKind::UpdDone) >= 1);
    pair.advance(5);
    pair.assert_databases_agree();
    for (k, c) in [(lp, 10), (ls, 11), (pp, 12), (ps, 13), (ls2, 14)] {
        for ep in [&pair.p.ep, &pair.s.ep] {
            let v = &ep.observe().leases[&k];
            assert_eq!(
                (v.status, v.client.clone()),
                (BindingStatus::Active, Some(ClientId::from(c))),
                "{k}"
            );
        }
    }
}

#[test]
fn prefixes_are_split_by_poolreq_and_each_side_uses_only_its_own_in_partition() {
    let mut pair = Pair::normal();
    pair.set_link(false);
    pair.advance(70);
    let mut got = Vec::new();
    for c in 0..4 {
        got.push(
            granted(pair.client(Role::Primary, 100 + c, ClientOp::Request(LeaseKind::Prefix))).0,
        );
        got.push(
            granted(pair.client(
                Role::Secondary,
                200 + c,
                ClientOp::Request(LeaseKind::Prefix),
            ))
            .0,
        );
    }
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 8);
    // Own pools exhausted: §8.9.1 "the primary MUST allocate only FREE delegable prefixes and the
    // secondary MUST allocate only FREE-BACKUP delegable prefixes".
    assert_eq!(
        pair.client(Role::Primary, 300, ClientOp::Request(LeaseKind::Prefix)),
        Some(ReplyKind::NoLeaseAvailable(LeaseKind::Prefix))
    );
    assert_eq!(
        pair.client(Role::Secondary, 301, ClientOp::Request(LeaseKind::Prefix)),
        Some(ReplyKind::NoLeaseAvailable(LeaseKind::Prefix))
    );
}

#[test]
fn release_is_freed_only_after_the_ack_then_reusable_by_another_client() {
    let mut pair = Pair::normal();
    let (l, _, _) = granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    pair.set_link(false);
    assert_eq!(
        pair.client(
            Role::Primary,
            1,
            ClientOp::Release {
                lease: l,
                to_me: true
            }
        ),
        Some(ReplyKind::Released(l))
    );
    // §4.2.2.1: no reuse for another client before the partner's BNDREPLY.
    assert_eq!(status(&pair.p.ep, l), BindingStatus::Released);
    pair.advance(70);
    pair.set_link(true);
    pair.run_until_states(Normal, Normal, 100);
    // Past the ±5 s of the last change: a lease is not allocated at the time it changed
    // (reading R11).
    pair.advance(10);
    // Ack → PENDING-FREE → FREE (primary-owned address, reading R1), and the partner learns
    // it with a BNDUPD FREE (reading R16, which replaces decision D5).
    assert_eq!(status(&pair.p.ep, l), BindingStatus::Free);
    assert_eq!(status(&pair.s.ep, l), BindingStatus::Free);
    let mut got = Vec::new();
    for c in 2..6 {
        got.push(granted(pair.client(Role::Primary, c, ClientOp::Request(LeaseKind::Address))).0);
    }
    assert!(got.contains(&l), "{got:?}");
}

#[test]
fn active_lease_expires_at_state_expiration_time_and_is_freed_after_ack() {
    let mut pair = Pair::normal();
    let (l, lt, exp) =
        granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    assert_eq!(lt, MCLT);
    pair.run_until(exp.minus(1));
    assert_eq!(status(&pair.p.ep, l), BindingStatus::Active);
    pair.run_until(exp.plus(1));
    assert_eq!(settled_status(&pair.p.ep, &l), BindingStatus::Free);
    assert_eq!(settled_status(&pair.s.ep, &l), BindingStatus::Free);
}

#[test]
fn decline_abandons_and_operator_reset_frees_after_ack() {
    let mut pair = Pair::normal();
    let (l, _, _) = granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    // A DECLINE within 5 s of the grant would tie with it and be rejected (reading R11).
    pair.advance(10);
    assert_eq!(
        pair.client(
            Role::Primary,
            1,
            ClientOp::Decline {
                lease: l,
                to_me: true
            }
        ),
        Some(ReplyKind::Declined(l))
    );
    assert_eq!(status(&pair.p.ep, l), BindingStatus::Abandoned);
    assert_eq!(status(&pair.s.ep, l), BindingStatus::Abandoned);
    pair.advance(10);
    pair.p.ep.handle_command(pair.now, Command::ResetLease(l));
    pair.drain();
    // RESET → (ack) → PENDING-FREE → FREE.
    assert_eq!(settled_status(&pair.p.ep, &l), BindingStatus::Free);
    assert_eq!(settled_status(&pair.s.ep, &l), BindingStatus::Free);
}

#[test]
fn auto_partner_down_timer_moves_comm_interrupted_to_partner_down() {
    let mut pc = config(Role::Primary);
    pc.auto_partner_down = Some(120);
    let mut pair = Pair::with_configs(pc, config(Role::Secondary));
    pair.run_until_states(Normal, Normal, 1000);
    pair.crash(Role::Secondary);
    let t = pair.now;
    pair.run_until(t.plus(119));
    assert_eq!(pair.p.ep.state(), CommunicationsInterrupted);
    pair.run_until(t.plus(120));
    assert_eq!(pair.p.ep.state(), PartnerDown);
}

#[test]
fn partner_down_frees_expired_lease_only_after_reading_r2_time() {
    let mut pair = Pair::normal();
    let t = pair.now;
    let (l, _, exp) = granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    pair.crash(Role::Secondary);
    pair.p.ep.handle_command(pair.now, Command::PartnerDown);
    pair.drain();
    pair.run_until(exp.plus(1));
    assert_eq!(status(&pair.p.ep, l), BindingStatus::Expired);
    // R2: max(client expiry, partner-lifetime sent = t + MCLT/2 + DESIRED, acked, PD entry) + MCLT.
    let reuse = t.plus(MCLT / 2 + DESIRED + MCLT);
    pair.run_until(reuse.minus(1));
    assert_eq!(status(&pair.p.ep, l), BindingStatus::Expired);
    pair.run_until(reuse);
    assert_eq!(settled_status(&pair.p.ep, &l), BindingStatus::Free);
}

#[test]
fn partner_down_uses_partner_prefixes_only_after_own_pool_and_mclt() {
    let mut pair = Pair::normal();
    pair.crash(Role::Secondary);
    pair.p.ep.handle_command(pair.now, Command::PartnerDown);
    pair.drain();
    let pd = pair.now;
    for c in 0..4 {
        let (k, _, _) =
            granted(pair.client(Role::Primary, c, ClientOp::Request(LeaseKind::Prefix)));
        assert_eq!(
            pair.s.ep.observe().leases[&k].status,
            BindingStatus::Free,
            "own pool first"
        );
    }
    assert_eq!(
        pair.client(Role::Primary, 9, ClientOp::Request(LeaseKind::Prefix)),
        Some(ReplyKind::NoLeaseAvailable(LeaseKind::Prefix))
    );
    pair.run_until(pd.plus(MCLT));
    let (k, _, _) = granted(pair.client(Role::Primary, 9, ClientOp::Request(LeaseKind::Prefix)));
    assert_eq!(
        pair.s.ep.observe().leases[&k].status,
        BindingStatus::FreeBackup
    );
    // Addresses of the partner are never used (§4.2.1).
    for c in 20..24 {
        let (k, _, _) =
            granted(pair.client(Role::Primary, c, ClientOp::Request(LeaseKind::Address)));
        assert_eq!(db::address_owner(&k), Role::Primary);
    }
    assert_eq!(
        pair.client(Role::Primary, 30, ClientOp::Request(LeaseKind::Address)),
        Some(ReplyKind::NoLeaseAvailable(LeaseKind::Address))
    );
}

#[test]
fn secondary_with_lost_storage_recovers_everything_with_updreqall() {
    let mut pair = Pair::normal();
    let (l, _, _) = granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    pair.advance(30);
    granted(pair.client(
        Role::Primary,
        1,
        ClientOp::Renew {
            lease: l,
            to_me: true,
        },
    ));
    let before = pair.sent(Role::Secondary, MsgKind::UpdReqAll);
    pair.crash(Role::Secondary);
    pair.advance(5);
    pair.restart(Role::Secondary, false);
    let started = pair.now;
    run_until_state(&mut pair, Role::Secondary, RecoverWait, 100);
    assert_eq!(pair.sent(Role::Secondary, MsgKind::UpdReqAll), before + 1);
    // Reading R11: the UPDREQALL copies of never-used leases agree with ours and are
    // acknowledged, not rejected as ties.
    let rej: Vec<&String> = pair
        .transcript
        .iter()
        .filter(|l| l.contains("rejected"))
        .collect();
    assert!(rej.is_empty(), "{rej:#?}");
    let v = &pair.s.ep.observe().leases[&l];
    assert_eq!(
        (v.status, v.client.clone()),
        (BindingStatus::Active, Some(ClientId::from(1)))
    );
    // Reading R22: after a loss of storage RECOVER-WAIT lasts max(MCLT, desired lifetime).
    for _ in 0..1000 {
        if pair.s.ep.state() != RecoverWait {
            break;
        }
        pair.advance(1);
    }
    assert_ne!(pair.s.ep.state(), RecoverWait);
    assert!(
        pair.now >= started.plus(MCLT.max(DESIRED)),
        "{:?}",
        pair.now
    );
    pair.run_until_states(Normal, Normal, 100);
    // The lease has run out meanwhile; once its expiry has been exchanged both agree.
    pair.advance(2 * MCLT);
    pair.assert_databases_agree();
}

/// Advance second by second until `role` is in `state` (or panic after `limit` seconds).
fn run_until_state(pair: &mut Pair, role: Role, state: ServerState, limit: u64) {
    for _ in 0..limit {
        let now = match role {
            Role::Primary => pair.p.ep.state(),
            Role::Secondary => pair.s.ep.state(),
        };
        if now == state {
            return;
        }
        pair.advance(1);
    }
    panic!(
        "{role:?} did not reach {state} within {limit} s\n{}",
        pair.tail()
    );
}

#[test]
fn bndupds_in_flight_never_exceed_partner_max_unacked() {
    let mut sc = config(Role::Secondary);
    sc.max_unacked_bndupd = 1;
    let mut pair = Pair::with_configs(config(Role::Primary), sc);
    pair.run_until_states(Normal, Normal, 1000);
    for c in 0..3 {
        pair.client(Role::Primary, c, ClientOp::Request(LeaseKind::Address));
    }
    let mut in_flight = 0i32;
    let mut max_seen = 0;
    for l in &pair.transcript {
        if l.contains("primary -> BNDUPD") {
            in_flight += 1;
        }
        if l.contains("secondary -> BNDREPLY") {
            in_flight -= 1;
        }
        max_seen = max_seen.max(in_flight);
    }
    assert_eq!(max_seen, 1);
    assert!(pair.sent(Role::Primary, MsgKind::BndUpd) >= 7);
}

#[test]
fn contact_keepalives_flow_when_idle() {
    let mut pair = Pair::normal();
    let before = pair.sent(Role::Primary, MsgKind::Contact);
    pair.advance(60);
    // FO_SEND_TIME = partner keepalive 60 / 4 = 15 s.
    assert_eq!(pair.sent(Role::Primary, MsgKind::Contact) - before, 4);
    assert_eq!(pair.states(), (Normal, Normal));
}

#[test]
fn update_lost_in_flight_is_resent_after_reconnect() {
    // Short keepalive so the break is noticed well within the lease's MCLT lifetime.
    let mut pc = config(Role::Primary);
    pc.keepalive_time = 8;
    let mut sc = config(Role::Secondary);
    sc.keepalive_time = 8;
    let mut pair = Pair::with_configs(pc, sc);
    pair.run_until_states(Normal, Normal, 1000);
    pair.set_link(false);
    // The BNDUPD for this grant is lost with the connection.
    let (l, _, _) = granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    assert_eq!(status(&pair.s.ep, l), BindingStatus::Free);
    pair.advance(10);
    assert_eq!(
        pair.states(),
        (CommunicationsInterrupted, CommunicationsInterrupted)
    );
    pair.set_link(true);
    pair.run_until_states(Normal, Normal, 20);
    pair.advance(1);
    let v = &pair.s.ep.observe().leases[&l];
    assert_eq!(
        (v.status, v.client.clone()),
        (BindingStatus::Active, Some(ClientId::from(1)))
    );
}

#[test]
fn primary_with_lost_storage_restarts_in_recover_and_asks_for_everything() {
    let mut pair = Pair::normal();
    let l = secondary_grant_in_ci(&mut pair);
    pair.crash(Role::Primary);
    pair.advance(5);
    pair.restart(Role::Primary, false);
    run_until_state(&mut pair, Role::Primary, RecoverWait, 100);
    // The whole database came back before RECOVER-WAIT.
    let v = &pair.p.ep.observe().leases[&l];
    assert_eq!(
        (v.status, v.client.clone()),
        (BindingStatus::Active, Some(ClientId::from(1)))
    );
    pair.run_until_states(Normal, Normal, 1000);
    // Reading R5: empty storage, partner remembers us → RECOVER, UPDREQALL.
    assert_eq!(
        states_visited(&pair.p),
        vec![Recover, RecoverWait, RecoverDone, Normal]
    );
    assert_eq!(pair.sent(Role::Primary, MsgKind::UpdReqAll), 1);
}

/// A lease held by client 1, granted by the secondary while the primary is unreachable, renewed
/// to the full lifetime so it outlives the recovery that follows.
fn secondary_grant_in_ci(pair: &mut Pair) -> LeaseKey {
    pair.set_link(false);
    pair.advance(70);
    let (l, _, _) = granted(pair.client(Role::Secondary, 1, ClientOp::Request(LeaseKind::Address)));
    pair.set_link(true);
    pair.run_until_states(Normal, Normal, 100);
    pair.advance(30);
    let (_, lt, _) = granted(pair.client(
        Role::Secondary,
        1,
        ClientOp::Renew {
            lease: l,
            to_me: true,
        },
    ));
    assert_eq!(lt, DESIRED);
    l
}

#[test]
fn primary_takes_back_prefixes_with_free_and_holds_them_until_acked_reading_r9() {
    let mut pair = Pair::normal();
    // Not within 5 s of the FREE-BACKUP hand-over, or the take-back would tie (reading R11).
    pair.advance(10);
    // The link breaks silently, so the take-back BNDUPDs are lost and stay unacknowledged.
    pair.set_link(false);
    let now = pair.now;
    // The configured share drops to 0: on the next POOLREQ the primary takes back.
    pair.p.ep.cfg.secondary_prefix_percent = 0;
    pair.p.ep.handle_message(
        now,
        Message {
            xid: 500,
            sent_time: now,
            body: Body::PoolReq,
        },
    );
    pair.drain();
    let held: Vec<LeaseKey> = pair
        .p
        .ep
        .db()
        .iter()
        .filter(|(_, b)| b.hold_until_ack)
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(held.len(), 4);
    // Until the ack the prefix stays the secondary's (FREE-BACKUP) here, as in the model; the
    // BNDUPD announces FREE.
    for k in &held {
        assert_eq!(status(&pair.p.ep, *k), BindingStatus::FreeBackup);
    }
    // The held prefixes are not offered before the secondary's ack.
    for c in 0..4 {
        let (k, _, _) =
            granted(pair.client(Role::Primary, 40 + c, ClientOp::Request(LeaseKind::Prefix)));
        assert!(!held.contains(&k));
    }
    assert_eq!(
        pair.client(Role::Primary, 49, ClientOp::Request(LeaseKind::Prefix)),
        Some(ReplyKind::NoLeaseAvailable(LeaseKind::Prefix))
    );
    // Reconnect: the take-backs are resent, accepted, and the hold ends.
    pair.advance(70);
    pair.set_link(true);
    pair.run_until_states(Normal, Normal, 100);
    // Past the ±5 s of the last change (reading R11: no allocation at the time of a change).
    pair.advance(10);
    for k in &held {
        assert!(
            !pair.p.ep.db().get(k).unwrap().hold_until_ack,
            "{k}\n{}",
            pair.tail()
        );
        assert_eq!(status(&pair.p.ep, *k), BindingStatus::Free);
        assert_eq!(status(&pair.s.ep, *k), BindingStatus::Free);
    }
    // All 8 prefixes are the primary's again (the 4 granted above expired meanwhile).
    let mut got = Vec::new();
    for c in 0..8 {
        got.push(
            granted(pair.client(Role::Primary, 60 + c, ClientOp::Request(LeaseKind::Prefix))).0,
        );
    }
    assert!(held.iter().all(|k| got.contains(k)));
}

/// The harness's duplicate check is real: two servers both in PARTNER-DOWN during a partition
/// (the §8.4 precondition "the other server MUST NOT be operating" violated by the operator)
/// can hand out the same prefix once the primary uses its partner's pool (§8.4.1 warns of it).
#[test]
#[should_panic(expected = "DUPLICATE ASSIGNMENT")]
fn two_servers_in_partner_down_can_duplicate_and_the_harness_catches_it() {
    let mut pair = Pair::normal();
    pair.set_link(false);
    pair.advance(70);
    for role in [Role::Primary, Role::Secondary] {
        let now = pair.now;
        pair.node(role).ep.handle_command(now, Command::PartnerDown);
    }
    pair.drain();
    assert_eq!(pair.states(), (PartnerDown, PartnerDown));
    pair.advance(MCLT);
    // The secondary uses its own pool (FREE-BACKUP prefixes) ...
    granted(pair.client(Role::Secondary, 1, ClientOp::Request(LeaseKind::Prefix)));
    // ... the primary exhausts its own, then takes from the partner's pool.
    for c in 0..5 {
        granted(pair.client(Role::Primary, 10 + c, ClientOp::Request(LeaseKind::Prefix)));
    }
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// `runs` random runs with `gap` seconds at least between actions; returns how many ended with
/// an R11 tie, asserting everything else (no duplicate, both NORMAL, agreement, nothing left
/// update-pending outside ties).
fn random_runs(runs: u64, gap: u64) -> u64 {
    random_runs_with(runs, gap, false).0
}

/// As `random_runs`; with `operator_errors` the operator may also declare PARTNER-DOWN during a
/// mere partition (violating §8.4), and duplicates are counted instead of failing the run.
/// Returns (runs with an R11 tie, duplicate grants seen).
fn random_runs_with(runs: u64, gap: u64, operator_errors: bool) -> (u64, usize) {
    let mut tied_runs = 0;
    let mut duplicates = 0;
    for seed in 0..runs {
        let mut r = Rng(seed);
        let mut pair = Pair::new();
        pair.allow_duplicates = operator_errors;
        pair.run_until_states(Normal, Normal, 1000);
        for _ in 0..60 {
            let roles = [Role::Primary, Role::Secondary];
            let role = roles[r.below(2) as usize];
            match r.below(12) {
                0..=4 => {
                    let client = r.below(6);
                    let kind = if r.below(2) == 0 {
                        LeaseKind::Address
                    } else {
                        LeaseKind::Prefix
                    };
                    let held: Vec<LeaseKey> = pair
                        .holdings
                        .iter()
                        .filter(|(_, h)| {
                            h.get(&ClientId::from(client))
                                .is_some_and(|e| *e > pair.now)
                        })
                        .map(|(k, _)| *k)
                        .collect();
                    let op = match (held.first(), r.below(4)) {
                        (Some(l), 0) => ClientOp::Renew {
                            lease: *l,
                            to_me: true,
                        },
                        (Some(l), 1) => ClientOp::Rebind(*l),
                        (Some(l), 2) => ClientOp::Release {
                            lease: *l,
                            to_me: true,
                        },
                        _ => ClientOp::Request(kind),
                    };
                    if pair.node(role).up {
                        pair.client(role, client, op);
                    }
                }
                5..=7 => pair.advance(1 + r.below(40)),
                8 => {
                    let up = !pair.link_up;
                    pair.set_link(up);
                }
                9 => {
                    if pair.p.up && pair.s.up {
                        pair.crash(role);
                    }
                }
                10 => {
                    // PARTNER-DOWN only for a server whose partner has crashed (§8.4).
                    let (alive, dead) = (role, role.partner());
                    let partitioned = pair.node(alive).up && !pair.node(alive).ep.comm_ok();
                    if pair.node(alive).up
                        && (!pair.node(dead).up || (operator_errors && partitioned))
                    {
                        let now = pair.now;
                        pair.node(alive)
                            .ep
                            .handle_command(now, Command::PartnerDown);
                        pair.drain();
                    }
                }
                _ => {
                    // A crashed server comes back only where it can reach its partner at once:
                    // a partner in PARTNER-DOWN relies on it not operating unseen (§8.4).
                    for role in roles {
                        if !pair.node(role).up && pair.link_up {
                            pair.restart(role, true);
                        }
                    }
                }
            }
            // Keep actions more than 5 s apart: two changes within the ±5 s window tie and are
            // rejected by both sides (reading R11), which this test does not probe.
            pair.advance(gap);
        }
        if !pair.link_up {
            pair.set_link(true);
        }
        for role in [Role::Primary, Role::Secondary] {
            if !pair.node(role).up {
                pair.advance(1);
                pair.restart(role, true);
            }
        }
        pair.run_until_states(Normal, Normal, 2_000);
        // time(1) stalemates (an ACTIVE copy against the partner's EXPIRED) last until the
        // ACTIVE copy runs out: wait a full lifetime plus a retry scan.
        pair.advance(DESIRED + 2 * MCLT);
        assert_eq!(pair.states(), (Normal, Normal), "seed {seed}");
        let ties = pair.databases_agree_except_r11_ties();
        if !ties.is_empty() {
            tied_runs += 1;
        }
        // Nothing is left to tell the partner, except in an R11 tie.
        for ep in [&pair.p.ep, &pair.s.ep] {
            for k in ep.db().pending() {
                assert!(
                    ties.contains(k),
                    "seed {seed}: {k} still update-pending\n{}",
                    pair.tail()
                );
            }
        }
        duplicates += pair.duplicates;
    }
    (tied_runs, duplicates)
}

/// Random client traffic, partitions, crashes and restarts (with storage), PARTNER-DOWN only
/// when the partner really is down (§8.4), actions more than 5 s apart: no duplicate assignment
/// ever (checked on every grant), and after healing both servers are NORMAL, agree on every
/// lease and have nothing left to send.
#[test]
fn random_runs_within_the_partner_down_assumption_never_duplicate_and_converge() {
    assert_eq!(random_runs(1000, 6), 0);
}

/// Operator errors: PARTNER-DOWN declared during a mere partition, so both servers may serve in
/// PARTNER-DOWN and hand out the same lease (§8.4.1 warns of it). After healing they meet in
/// POTENTIAL-CONFLICT, resolve it (the primary's binding wins, AddressInUse), and end NORMAL
/// with agreeing databases.
#[test]
fn random_runs_with_operator_errors_resolve_conflicts_and_converge() {
    let (ties, _duplicates) = random_runs_with(300, 6, true);
    assert_eq!(ties, 0);
}

/// A real duplicate from two PARTNER-DOWN servers (operator error during a partition) is
/// resolved in POTENTIAL-CONFLICT: the primary rejects the secondary's binding with
/// AddressInUse, the secondary accepts the primary's (accept(3) at a secondary), and both end
/// NORMAL holding the primary's client.
#[test]
fn duplicate_from_two_partner_down_servers_is_resolved_in_potential_conflict() {
    let mut pair = Pair::normal();
    pair.allow_duplicates = true;
    pair.set_link(false);
    pair.advance(70);
    for role in [Role::Primary, Role::Secondary] {
        let now = pair.now;
        pair.node(role).ep.handle_command(now, Command::PartnerDown);
    }
    pair.drain();
    pair.advance(MCLT);
    let (s_lease, _, _) =
        granted(pair.client(Role::Secondary, 1, ClientOp::Request(LeaseKind::Prefix)));
    pair.advance(10);
    let mut p_lease = None;
    for c in 0..5 {
        let (k, _, _) =
            granted(pair.client(Role::Primary, 10 + c, ClientOp::Request(LeaseKind::Prefix)));
        if k == s_lease {
            p_lease = Some((k, ClientId::from(10 + c)));
        }
    }
    let (k, winner) = p_lease.expect("the primary used the secondary's prefix");
    assert_eq!(pair.duplicates, 1);
    pair.advance(10);
    pair.set_link(true);
    pair.run_until_states(Normal, Normal, 1000);
    assert!(states_visited(&pair.p).contains(&ConflictDone));
    assert!(pair
        .transcript
        .iter()
        .any(|l| l.contains("primary -> BNDREPLY") && l.contains("AddressInUse")));
    for ep in [&pair.p.ep, &pair.s.ep] {
        let v = &ep.observe().leases[&k];
        assert_eq!(
            (v.status, v.client.clone()),
            (BindingStatus::Active, Some(winner.clone()))
        );
    }
    pair.advance(5);
    pair.assert_databases_agree();
}

/// The same with actions as close as the clock allows: still no duplicate assignment, but a few
/// runs end with an R11 tie (two different changes within 5 s on the two servers, each side
/// rejecting the other's for ever: the liveness cost reading R11 accepts). 338 of 10 000 runs
/// when this was written.
#[test]
fn random_runs_with_changes_closer_than_5s_never_duplicate_but_may_tie() {
    let ties = random_runs(300, 0);
    assert!(ties * 5 < 300, "{ties} of 300 runs ended with an R11 tie");
}

/// A renewal made during a silent link break reaches the partner only after the partner's copy
/// has expired. Under the literal §7.5.4 rule the partner, which never talked to the client,
/// compares the renewal's CLT with the start-time-of-state of its EXPIRED copy and rejects it;
/// the primary rejects the partner's EXPIRED by time(1). Both resend on every scan and disagree
/// until the client's lease really runs out (the secondary would answer the client's REBIND
/// with NoBinding meanwhile). With decision D8 the partner compares with the partner's raw CLT
/// it knows, and accepts at once.
#[test]
fn renewal_delayed_past_partner_expiry_stalemates_under_literal_figure4_unless_d8() {
    for d8 in [false, true] {
        let mut pc = config(Role::Primary);
        pc.db_time_includes_partner_clt = d8;
        let mut sc = config(Role::Secondary);
        sc.db_time_includes_partner_clt = d8;
        let mut pair = Pair::with_configs(pc, sc);
        pair.run_until_states(Normal, Normal, 1000);
        let t = pair.now;
        let (l, _, _) =
            granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
        pair.run_until(t.plus(10));
        pair.set_link(false);
        pair.run_until(t.plus(40));
        let (_, lt, _) = granted(pair.client(
            Role::Primary,
            1,
            ClientOp::Renew {
                lease: l,
                to_me: true,
            },
        ));
        assert_eq!(lt, DESIRED);
        pair.run_until(t.plus(75));
        assert_eq!(status(&pair.s.ep, l), BindingStatus::Expired);
        pair.set_link(true);
        pair.run_until(t.plus(200));
        assert_eq!(pair.states(), (Normal, Normal));
        if d8 {
            assert_eq!(status(&pair.s.ep, l), BindingStatus::Active);
            pair.assert_databases_agree();
        } else {
            assert_eq!(status(&pair.s.ep, l), BindingStatus::Expired);
            assert_eq!(status(&pair.p.ep, l), BindingStatus::Active);
            // time(1) ends it once the client's lease has really run out.
            pair.run_until(t.plus(1000));
            pair.assert_databases_agree();
        }
    }
}
