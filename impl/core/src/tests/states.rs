//! Per-state unit tests and one table test per "Transition out of X" section. Each table is
//! `(mine, partner's, expected)` copied from the RFC bullets; the endpoint is put in `mine`,
//! a connection is made, and the partner announces its state.

use super::util::*;
use crate::*;
use ServerState::*;

type Case = (ServerState, ServerState, ServerState);

const PARTNER_STATES: [ServerState; 9] = [
    Normal,
    CommunicationsInterrupted,
    PartnerDown,
    PotentialConflict,
    Recover,
    RecoverWait,
    RecoverDone,
    ResolutionInterrupted,
    ConflictDone,
];

fn run_cases(role: Role, cases: &[Case]) {
    for &(mine, partner, expected) in cases {
        let mut ep = endpoint_in(role, mine);
        connect_with_partner_in(&mut ep, T0, partner);
        assert_eq!(
            ep.state(),
            expected,
            "{role}: in {mine}, partner {partner}: expected {expected}"
        );
    }
}

/// Every partner state is covered by exactly one row.
fn assert_complete(cases: &[Case]) {
    for p in PARTNER_STATES {
        assert_eq!(cases.iter().filter(|c| c.1 == p).count(), 1, "partner {p}");
    }
}

/// RFC 8156 §8.4.2 Transition out of PARTNER-DOWN State.
#[test]
fn transition_out_of_partner_down_table() {
    const CASES: &[Case] = &[
        // "If the partner is in NORMAL, COMMUNICATIONS-INTERRUPTED, PARTNER-DOWN,
        // POTENTIAL-CONFLICT, RESOLUTION-INTERRUPTED, or CONFLICT-DONE state, then transition to
        // POTENTIAL-CONFLICT state."
        (PartnerDown, Normal, PotentialConflict),
        (PartnerDown, CommunicationsInterrupted, PotentialConflict),
        (PartnerDown, PartnerDown, PotentialConflict),
        (PartnerDown, PotentialConflict, PotentialConflict),
        (PartnerDown, ResolutionInterrupted, PotentialConflict),
        (PartnerDown, ConflictDone, PotentialConflict),
        // "If the partner is in RECOVER or RECOVER-WAIT state, then stay in PARTNER-DOWN state."
        (PartnerDown, Recover, PartnerDown),
        (PartnerDown, RecoverWait, PartnerDown),
        // "If the partner is in RECOVER-DONE state, then transition to NORMAL state."
        (PartnerDown, RecoverDone, Normal),
    ];
    assert_complete(CASES);
    run_cases(Role::Primary, CASES);
    run_cases(Role::Secondary, CASES);
}

/// RFC 8156 §8.9.2 Transition out of COMMUNICATIONS-INTERRUPTED State.
#[test]
fn transition_out_of_communications_interrupted_table() {
    const CASES: &[Case] = &[
        // "NORMAL or COMMUNICATIONS-INTERRUPTED: Transition into NORMAL state."
        (CommunicationsInterrupted, Normal, Normal),
        (CommunicationsInterrupted, CommunicationsInterrupted, Normal),
        // "RECOVER: Stay in COMMUNICATIONS-INTERRUPTED state."
        (
            CommunicationsInterrupted,
            Recover,
            CommunicationsInterrupted,
        ),
        // Reading R7: RECOVER-WAIT: stay.
        (
            CommunicationsInterrupted,
            RecoverWait,
            CommunicationsInterrupted,
        ),
        // "RECOVER-DONE: Transition into NORMAL state."
        (CommunicationsInterrupted, RecoverDone, Normal),
        // "PARTNER-DOWN, POTENTIAL-CONFLICT, CONFLICT-DONE, or RESOLUTION-INTERRUPTED: Transition
        // into POTENTIAL-CONFLICT state."
        (CommunicationsInterrupted, PartnerDown, PotentialConflict),
        (
            CommunicationsInterrupted,
            PotentialConflict,
            PotentialConflict,
        ),
        (CommunicationsInterrupted, ConflictDone, PotentialConflict),
        (
            CommunicationsInterrupted,
            ResolutionInterrupted,
            PotentialConflict,
        ),
    ];
    assert_complete(CASES);
    run_cases(Role::Primary, CASES);
    run_cases(Role::Secondary, CASES);
}

/// RFC 8156 §8.5.2 Transition out of RECOVER State.
#[test]
fn transition_out_of_recover_table() {
    const CASES: &[Case] = &[
        // "If the other server is in POTENTIAL-CONFLICT, RESOLUTION-INTERRUPTED, or
        // CONFLICT-DONE state ... move itself to POTENTIAL-CONFLICT state."
        (Recover, PotentialConflict, PotentialConflict),
        (Recover, ResolutionInterrupted, PotentialConflict),
        (Recover, ConflictDone, PotentialConflict),
        // "If the other server is in any other state, then the server in RECOVER state will
        // request an update ... by sending an UPDREQ message." (stays until UPDDONE)
        (Recover, Normal, Recover),
        (Recover, CommunicationsInterrupted, Recover),
        (Recover, PartnerDown, Recover),
        (Recover, Recover, Recover),
        (Recover, RecoverWait, Recover),
        (Recover, RecoverDone, Recover),
    ];
    assert_complete(CASES);
    run_cases(Role::Primary, CASES);
    run_cases(Role::Secondary, CASES);
    for &(_, partner, expected) in CASES {
        let mut ep = endpoint_in(Role::Secondary, Recover);
        connect_with_partner_in(&mut ep, T0, partner);
        let msgs = sent_messages(&mut ep);
        // (UPDREQALL here: empty storage and a partner whose C flag is set, reading R5.)
        let updreq = msgs
            .iter()
            .filter(|m| matches!(m.kind(), MsgKind::UpdReq | MsgKind::UpdReqAll))
            .count();
        // RECOVER asks; a secondary moved to POTENTIAL-CONFLICT waits for the primary's UPDREQ
        // unless the primary is already CONFLICT-DONE (§8.10.2).
        let asks = expected == Recover || partner == ConflictDone;
        assert_eq!(updreq, usize::from(asks), "partner {partner}");
    }
}

/// RFC 8156 §8.6.2 Transition out of RECOVER-WAIT State: only the timer moves it.
#[test]
fn transition_out_of_recover_wait_table() {
    let cases: Vec<Case> = PARTNER_STATES
        .iter()
        .map(|p| (RecoverWait, *p, RecoverWait))
        .collect();
    run_cases(Role::Secondary, &cases);
}

/// RFC 8156 §8.7.2 Transition out of RECOVER-DONE State.
#[test]
fn transition_out_of_recover_done_table() {
    const CASES: &[Case] = &[
        // "its partner server has entered NORMAL or RECOVER-DONE state, it will transition into
        // NORMAL state."
        (RecoverDone, Normal, Normal),
        (RecoverDone, RecoverDone, Normal),
        // "If the partner server enters RECOVER or RECOVER-WAIT state, this server transitions
        // to COMMUNICATIONS-INTERRUPTED."
        (RecoverDone, Recover, CommunicationsInterrupted),
        (RecoverDone, RecoverWait, CommunicationsInterrupted),
        // "If the partner server enters POTENTIAL-CONFLICT state, this server enters
        // POTENTIAL-CONFLICT state as well."
        (RecoverDone, PotentialConflict, PotentialConflict),
        // Figure 6 "All Others: Wait for Other State".
        (RecoverDone, CommunicationsInterrupted, RecoverDone),
        (RecoverDone, PartnerDown, RecoverDone),
        (RecoverDone, ResolutionInterrupted, RecoverDone),
        (RecoverDone, ConflictDone, RecoverDone),
    ];
    assert_complete(CASES);
    run_cases(Role::Primary, CASES);
    run_cases(Role::Secondary, CASES);
}

/// RFC 8156 §8.8.2 Transition out of NORMAL State ("the partner has changed state from that
/// expected ... transition into COMMUNICATIONS-INTERRUPTED state and take the appropriate state
/// transition from there").
#[test]
fn transition_out_of_normal_table() {
    const CASES: &[Case] = &[
        // Expected partner states: stay.
        (Normal, Normal, Normal),
        (Normal, RecoverDone, Normal),
        (Normal, ConflictDone, Normal),
        // Unexpected: CI, then §8.9.2 with the same partner state.
        (Normal, CommunicationsInterrupted, Normal),
        (Normal, PartnerDown, PotentialConflict),
        (Normal, PotentialConflict, PotentialConflict),
        (Normal, ResolutionInterrupted, PotentialConflict),
        (Normal, Recover, CommunicationsInterrupted),
        (Normal, RecoverWait, CommunicationsInterrupted),
    ];
    assert_complete(CASES);
    run_cases(Role::Primary, CASES);
    run_cases(Role::Secondary, CASES);
}

/// RFC 8156 §8.10.2 Transition out of POTENTIAL-CONFLICT State: the partner's state alone does
/// not move it (UPDDONE does); the secondary asks for updates once the primary is CONFLICT-DONE.
#[test]
fn transition_out_of_potential_conflict_table() {
    let cases: Vec<Case> = PARTNER_STATES
        .iter()
        .map(|p| (PotentialConflict, *p, PotentialConflict))
        .collect();
    run_cases(Role::Primary, &cases);
    run_cases(Role::Secondary, &cases);
    for p in PARTNER_STATES {
        let mut ep = endpoint_in(Role::Secondary, PotentialConflict);
        connect_with_partner_in(&mut ep, T0, p);
        let n = sent_messages(&mut ep)
            .iter()
            .filter(|m| m.kind() == MsgKind::UpdReq)
            .count();
        // "When a secondary server receives an indication that the primary server has made a
        // transition from POTENTIAL-CONFLICT to CONFLICT-DONE state, it SHOULD send an UPDREQ"
        assert_eq!(n, usize::from(p == ConflictDone), "partner {p}");
    }
}

/// RFC 8156 §8.11.2: "If communications with the other server are restored, then the server in
/// RESOLUTION-INTERRUPTED state will transition into POTENTIAL-CONFLICT state."
#[test]
fn transition_out_of_resolution_interrupted_table() {
    let cases: Vec<Case> = PARTNER_STATES
        .iter()
        .map(|p| (ResolutionInterrupted, *p, PotentialConflict))
        .collect();
    run_cases(Role::Primary, &cases);
    run_cases(Role::Secondary, &cases);
}

/// RFC 8156 §8.12.2: "When a primary server determines that the secondary server has made a
/// transition into NORMAL state, the primary server will also transition into NORMAL state."
#[test]
fn transition_out_of_conflict_done_table() {
    let cases: Vec<Case> = PARTNER_STATES
        .iter()
        .map(|p| {
            (
                ConflictDone,
                *p,
                if *p == Normal { Normal } else { ConflictDone },
            )
        })
        .collect();
    run_cases(Role::Primary, &cases);
}

// ---- individual transitions --------------------------------------------------------------

fn fire(ep: &mut Endpoint, now: Time) {
    ep.handle_timeout(now);
    while ep.poll_output().is_some() {}
}

#[test]
fn comm_interrupted_enters_partner_down_on_command() {
    let mut ep = endpoint_in(Role::Secondary, CommunicationsInterrupted);
    ep.handle_command(T0.plus(1), Command::PartnerDown);
    assert_eq!(ep.state(), PartnerDown);
}

#[test]
fn normal_and_resolution_interrupted_enter_partner_down_on_command() {
    for s in [Normal, ResolutionInterrupted] {
        let mut ep = endpoint_in(Role::Primary, s);
        ep.handle_command(T0.plus(1), Command::PartnerDown);
        assert_eq!(ep.state(), PartnerDown, "from {s}");
    }
}

#[test]
fn command_in_states_without_such_transition_is_logged_and_ignored() {
    for s in [
        Recover,
        RecoverWait,
        RecoverDone,
        PotentialConflict,
        ConflictDone,
    ] {
        let mut ep = endpoint_in(Role::Primary, s);
        ep.handle_command(T0.plus(1), Command::PartnerDown);
        assert_eq!(ep.state(), s);
        let logged = std::iter::from_fn(|| ep.poll_output())
            .any(|o| matches!(o, Output::Event(Event::Log(l)) if l.contains("PartnerDown")));
        assert!(logged, "{s}");
    }
}

#[test]
fn comm_interrupted_auto_partner_down_timer_enters_partner_down() {
    let mut c = config(Role::Primary);
    c.auto_partner_down = Some(600);
    let mut ep = Endpoint::new(c, None, T0);
    ep.set_state(T0, CommunicationsInterrupted);
    assert_eq!(ep.poll_timeout(), Some(T0.plus(600)));
    fire(&mut ep, T0.plus(599));
    assert_eq!(ep.state(), CommunicationsInterrupted);
    fire(&mut ep, T0.plus(600));
    assert_eq!(ep.state(), PartnerDown);
}

#[test]
fn recover_wait_timer_before_mclt_does_not_fire() {
    let mut ep = endpoint_in(Role::Secondary, RecoverWait);
    // TIME-OF-FAILURE unknown (empty storage) → start time + MCLT (§8.6.2).
    fire(&mut ep, T0.plus(MCLT - 1));
    assert_eq!(ep.state(), RecoverWait);
    fire(&mut ep, T0.plus(MCLT));
    assert_eq!(ep.state(), RecoverDone);
}

#[test]
fn recover_wait_ignores_communication_failure() {
    let mut ep = endpoint_in(Role::Secondary, RecoverWait);
    connect_with_partner_in(&mut ep, T0, PartnerDown);
    ep.handle_disconnected(T0.plus(1));
    assert_eq!(ep.state(), RecoverWait);
    fire(&mut ep, T0.plus(MCLT));
    assert_eq!(ep.state(), RecoverDone);
}

fn stored(state: ServerState, last_operation: Time) -> StableState {
    StableState {
        endpoint: EndpointRecord {
            state: Some(state),
            start_time_of_state: last_operation.minus(1000),
            communicated: true,
            mclt: MCLT,
            last_operation,
            ..EndpointRecord::default()
        },
        leases: Default::default(),
    }
}

fn partner_pd_since(since: Time, now: Time) -> Message {
    Message {
        xid: 77,
        sent_time: now,
        body: Body::State(StateMsg {
            server_state: PartnerDown,
            flags: ServerFlags {
                communicated: true,
                ..ServerFlags::default()
            },
            start_time_of_state: since,
            partner_down_time: Some(since),
        }),
    }
}

#[test]
fn startup_partner_in_pd_later_than_our_last_operation_enters_recover() {
    let now = T0.plus(5000);
    let mut ep = Endpoint::new(
        config(Role::Secondary),
        Some(stored(CommunicationsInterrupted, T0)),
        now,
    );
    ep.handle_message(now, partner_pd_since(T0, now)); // no connection: ignored
    assert_eq!(ep.state(), Startup);
    ep.handle_connected(now);
    ep.handle_message(
        now,
        Message {
            xid: 1,
            sent_time: now,
            body: Body::Connect(ConnectParams {
                protocol_version: PROTOCOL_VERSION,
                mclt: MCLT,
                keepalive_time: 60,
                max_unacked_bndupd: 10,
                relationship_name: None,
                connect_flags: 0,
            }),
        },
    );
    // §8.3.2 step 5: partner in PARTNER-DOWN since T0 + 100, later than our last operation T0.
    ep.handle_message(now, partner_pd_since(T0.plus(100), now));
    assert_eq!(ep.state(), Recover);
    // ... and takes RECOVER's comm-OK transition: UPDREQ.
    assert!(sent_messages(&mut ep)
        .iter()
        .any(|m| m.kind() == MsgKind::UpdReq));
}

#[test]
fn startup_partner_in_pd_earlier_than_our_last_operation_enters_potential_conflict() {
    let now = T0.plus(5000);
    let mut ep = Endpoint::new(
        config(Role::Primary),
        Some(stored(CommunicationsInterrupted, T0.plus(200))),
        now,
    );
    ep.handle_connected(now);
    let connect = sent_messages(&mut ep);
    ep.handle_message(
        now,
        Message {
            xid: connect[0].xid,
            sent_time: now,
            body: Body::ConnectReply(ConnectReply::Accept(ConnectParams {
                protocol_version: PROTOCOL_VERSION,
                mclt: MCLT,
                keepalive_time: 60,
                max_unacked_bndupd: 10,
                relationship_name: None,
                connect_flags: 0,
            })),
        },
    );
    ep.handle_message(now, partner_pd_since(T0.plus(100), now));
    assert_eq!(ep.state(), PotentialConflict);
    // The primary entering POTENTIAL-CONFLICT sends UPDREQ (§8.10).
    assert!(sent_messages(&mut ep)
        .iter()
        .any(|m| m.kind() == MsgKind::UpdReq));
}

/// Drive a primary restarted from `stored(CI, last_operation)` to communications OK with a
/// partner that reports PARTNER-DOWN since `pd_since`; the state it leaves STARTUP into.
fn leave_startup_against_partner_down(last_operation: Time, pd_since: Time) -> ServerState {
    let now = T0.plus(5000);
    let mut ep = Endpoint::new(
        config(Role::Primary),
        Some(stored(CommunicationsInterrupted, last_operation)),
        now,
    );
    handshake(&mut ep, now);
    ep.handle_message(now, partner_pd_since(pd_since, now));
    ep.state()
}

#[test]
fn startup_tie_with_partner_down_goes_to_recover_r13() {
    // §8.3.2 step 5 with the partner's PARTNER-DOWN entry at our last operation (the crash and
    // the operator's command in one second, or within the ±5 s of §7.5.1): reading R13 says
    // RECOVER (decision D4 said POTENTIAL-CONFLICT).
    let last = T0.plus(200);
    for pd_since in [
        last,
        last.plus(3),
        last.minus(3),
        last.plus(5),
        last.minus(5),
    ] {
        assert_eq!(
            leave_startup_against_partner_down(last, pd_since),
            Recover,
            "PARTNER-DOWN since {pd_since}, last operation {last}"
        );
    }
    // Outside the window the literal rule still decides both ways.
    assert_eq!(
        leave_startup_against_partner_down(last, last.minus(6)),
        PotentialConflict
    );
    assert_eq!(
        leave_startup_against_partner_down(last, last.plus(6)),
        Recover
    );
}

#[test]
fn startup_sends_state_with_startup_flag_and_previous_state() {
    let now = T0.plus(5000);
    let mut ep = Endpoint::new(config(Role::Secondary), Some(stored(Normal, T0)), now);
    ep.handle_connected(now);
    ep.handle_message(
        now,
        Message {
            xid: 1,
            sent_time: now,
            body: Body::Connect(ConnectParams {
                protocol_version: PROTOCOL_VERSION,
                mclt: MCLT,
                keepalive_time: 60,
                max_unacked_bndupd: 10,
                relationship_name: None,
                connect_flags: 0,
            }),
        },
    );
    let msgs = sent_messages(&mut ep);
    let Body::State(s) = &msgs[1].body else {
        panic!("expected STATE after CONNECTREPLY, got {:?}", msgs)
    };
    // §8.3.1 and step 2: STARTUP flag set, previously recorded state NORMAL → CI.
    assert!(s.flags.startup);
    assert_eq!(s.server_state, CommunicationsInterrupted);
    assert_eq!(msgs[0].kind(), MsgKind::ConnectReply);
}

#[test]
fn startup_timer_enters_previous_state_after_step2_adjustment() {
    for (stored_state, expected) in [
        (Normal, CommunicationsInterrupted),
        (PotentialConflict, ResolutionInterrupted),
        (PartnerDown, PartnerDown),
        (RecoverDone, RecoverDone),
        (ConflictDone, ConflictDone),
    ] {
        let mut ep = Endpoint::new(config(Role::Primary), Some(stored(stored_state, T0)), T0);
        fire(&mut ep, T0.plus(9));
        assert_eq!(ep.state(), Startup);
        fire(&mut ep, T0.plus(10));
        assert_eq!(ep.state(), expected, "stored {stored_state}");
    }
}

#[test]
fn empty_storage_startup_timer_enters_section_8_2_states_reading_r5() {
    let mut p = Endpoint::new(config(Role::Primary), None, T0);
    let mut s = Endpoint::new(config(Role::Secondary), None, T0);
    fire(&mut p, T0.plus(10));
    fire(&mut s, T0.plus(10));
    assert_eq!((p.state(), s.state()), (PartnerDown, Recover));
}

#[test]
fn partner_down_ignores_state_with_startup_flag() {
    let mut ep = endpoint_in(Role::Primary, PartnerDown);
    ep.handle_connected(T0);
    let c = sent_messages(&mut ep);
    ep.handle_message(
        T0,
        Message {
            xid: c[0].xid,
            sent_time: T0,
            body: Body::ConnectReply(ConnectReply::Accept(ConnectParams {
                protocol_version: PROTOCOL_VERSION,
                mclt: MCLT,
                keepalive_time: 60,
                max_unacked_bndupd: 10,
                relationship_name: None,
                connect_flags: 0,
            })),
        },
    );
    let mut m = state_msg(Normal, T0);
    if let Body::State(s) = &mut m.body {
        s.flags.startup = true;
    }
    ep.handle_message(T0, m);
    assert!(ep.comm_ok());
    assert_eq!(ep.state(), PartnerDown);
    // The real state, once the partner leaves STARTUP, applies.
    ep.handle_message(T0, state_msg(Normal, T0));
    assert_eq!(ep.state(), PotentialConflict);
}

#[test]
fn normal_disconnect_message_enters_comm_interrupted_reading_r8() {
    let mut ep = endpoint_in(Role::Primary, Normal);
    connect_with_partner_in(&mut ep, T0, Normal);
    assert_eq!(ep.state(), Normal);
    ep.handle_message(
        T0.plus(1),
        Message {
            xid: 5,
            sent_time: T0.plus(1),
            body: Body::Disconnect(Disconnect {
                status: Some(StatusCode::ServerShuttingDown),
                message: "bye".into(),
            }),
        },
    );
    assert_eq!(ep.state(), CommunicationsInterrupted);
    assert!(!ep.comm_ok());
}

#[test]
fn potential_conflict_comm_failed_enters_resolution_interrupted_and_reconnect_returns() {
    let mut ep = endpoint_in(Role::Secondary, PotentialConflict);
    connect_with_partner_in(&mut ep, T0, PotentialConflict);
    ep.handle_disconnected(T0.plus(1));
    assert_eq!(ep.state(), ResolutionInterrupted);
    connect_with_partner_in(&mut ep, T0.plus(2), PotentialConflict);
    assert_eq!(ep.state(), PotentialConflict);
}

#[test]
fn potential_conflict_upddone_moves_primary_to_conflict_done_and_secondary_to_normal() {
    for (role, expected) in [(Role::Primary, ConflictDone), (Role::Secondary, Normal)] {
        let mut ep = endpoint_in(role, PotentialConflict);
        connect_with_partner_in(&mut ep, T0, ConflictDone);
        let req = sent_messages(&mut ep)
            .into_iter()
            .find(|m| m.kind() == MsgKind::UpdReq)
            .expect("UPDREQ sent");
        ep.handle_message(
            T0,
            Message {
                xid: req.xid,
                sent_time: T0,
                body: Body::UpdDone,
            },
        );
        assert_eq!(ep.state(), expected, "{role}");
    }
}

#[test]
fn upddone_when_none_requested_is_logged_and_ignored() {
    let mut ep = endpoint_in(Role::Primary, Normal);
    connect_with_partner_in(&mut ep, T0, Normal);
    while ep.poll_output().is_some() {}
    ep.handle_message(
        T0,
        Message {
            xid: 4242,
            sent_time: T0,
            body: Body::UpdDone,
        },
    );
    assert_eq!(ep.state(), Normal);
    let logged = std::iter::from_fn(|| ep.poll_output())
        .any(|o| matches!(o, Output::Event(Event::Log(l)) if l.contains("UPDDONE")));
    assert!(logged);
}

fn bndupd_for(lease: LeaseKey, client: u64, t: Time) -> Message {
    Message {
        xid: 31,
        sent_time: t,
        body: Body::BndUpd(BndUpd {
            client: Some(ClientId::from(client)),
            leases: vec![LeaseUpdate {
                lease,
                valid_lifetime: 60,
                binding_status: BindingStatus::Active,
                start_time_of_state: t,
                state_expiration_time: Some(t.plus(60)),
                clt_time: Some(t),
                partner_lifetime: Some(t.plus(330)),
                partner_raw_clt_time: None,
                expiration_time: None,
                dns: None,
                reserved: None,
            }],
            vss: None,
        }),
    }
}

#[test]
fn bndupd_before_connectreply_is_logged_and_ignored() {
    let mut ep = endpoint_in(Role::Primary, PartnerDown);
    ep.handle_connected(T0);
    while ep.poll_output().is_some() {}
    ep.handle_message(T0, bndupd_for(LeaseKey::Addr(addr(2)), 9, T0));
    let outs: Vec<Output> = std::iter::from_fn(|| ep.poll_output()).collect();
    assert!(!outs
        .iter()
        .any(|o| matches!(o, Output::Send(_) | Output::Persist(_))));
    assert!(outs
        .iter()
        .any(|o| matches!(o, Output::Event(Event::Log(l)) if l.contains("BNDUPD"))));
}

#[test]
fn repeated_bndupd_is_acknowledged_again_without_rewriting_the_unchanged_binding() {
    let mut ep = endpoint_in(Role::Secondary, PartnerDown);
    connect_with_partner_in(&mut ep, T0, Recover);
    while ep.poll_output().is_some() {}
    let lease = LeaseKey::Addr(addr(3));
    let persisted = |outs: &[Output]| {
        outs.iter()
            .filter(
                |o| matches!(o, Output::Persist(PersistRecord::Lease { key, .. }) if *key == lease),
            )
            .count()
    };
    let replies = |outs: &[Output]| {
        outs.iter()
            .filter(|o| matches!(o, Output::Send(m) if m.kind() == MsgKind::BndReply))
            .count()
    };
    ep.handle_message(T0.plus(10), bndupd_for(lease, 9, T0.plus(10)));
    let first: Vec<Output> = std::iter::from_fn(|| ep.poll_output()).collect();
    assert_eq!((persisted(&first), replies(&first)), (1, 1));
    let stored = ep.db().get(&lease).cloned();
    // The same update again (its BNDREPLY was lost): acknowledged again (decision D9), and the
    // record it would write is the one already stored, so nothing is written.
    ep.handle_message(T0.plus(10), bndupd_for(lease, 9, T0.plus(10)));
    let second: Vec<Output> = std::iter::from_fn(|| ep.poll_output()).collect();
    assert_eq!((persisted(&second), replies(&second)), (0, 1));
    assert_eq!(ep.db().get(&lease).cloned(), stored);
}

#[test]
fn bndupd_is_persisted_before_its_bndreply_section_7_5_2() {
    let mut ep = endpoint_in(Role::Secondary, PartnerDown);
    connect_with_partner_in(&mut ep, T0, Recover);
    while ep.poll_output().is_some() {}
    let lease = LeaseKey::Addr(addr(3));
    ep.handle_message(T0.plus(10), bndupd_for(lease, 9, T0.plus(10)));
    let outs: Vec<Output> = std::iter::from_fn(|| ep.poll_output()).collect();
    let persist = outs
        .iter()
        .position(
            |o| matches!(o, Output::Persist(PersistRecord::Lease { key, .. }) if *key == lease),
        )
        .expect("lease persisted");
    let reply = outs
        .iter()
        .position(|o| matches!(o, Output::Send(m) if m.kind() == MsgKind::BndReply))
        .expect("BNDREPLY sent");
    assert!(persist < reply);
    let Output::Send(Message {
        body: Body::BndReply(r),
        ..
    }) = &outs[reply]
    else {
        unreachable!()
    };
    assert_eq!(r.leases[0].status, None);
    assert_eq!(r.leases[0].partner_lifetime_sent, Some(T0.plus(10 + 330)));
}

#[test]
fn bndupd_for_unconfigured_lease_is_rejected_configuration_conflict() {
    let mut ep = endpoint_in(Role::Secondary, PartnerDown);
    connect_with_partner_in(&mut ep, T0, Recover);
    while ep.poll_output().is_some() {}
    let stranger = LeaseKey::Addr("2001:db8:ffff::1".parse().unwrap());
    ep.handle_message(T0, bndupd_for(stranger, 9, T0));
    let r = sent_messages(&mut ep)
        .into_iter()
        .find_map(|m| match m.body {
            Body::BndReply(r) => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!(r.leases[0].status, Some(StatusCode::ConfigurationConflict));
    // A bare BNDUPD with no lease at all: MissingBindingInformation at the top level.
    ep.handle_message(
        T0,
        Message {
            xid: 32,
            sent_time: T0,
            body: Body::BndUpd(BndUpd {
                client: None,
                leases: vec![],
                vss: None,
            }),
        },
    );
    let r = sent_messages(&mut ep)
        .into_iter()
        .find_map(|m| match m.body {
            Body::BndReply(r) => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!(r.status, Some(StatusCode::MissingBindingInformation));
}

/// RFC 8156 §7.5.4: "If an OPTION_VSS option is specified in the OPTION_CLIENT_DATA option or
/// OPTION_IAPREFIX option and the VPN specified in the OPTION_VSS option does not appear in the
/// configuration of the receiving server, then reject the entire OPTION_CLIENT_DATA option or
/// OPTION_IAPREFIX option by including an OPTION_STATUS_CODE option with a status-code of
/// "ConfigurationConflict"." (The first version answered MissingBindingInformation.)
#[test]
fn bndupd_naming_an_unknown_vpn_is_rejected_configuration_conflict_section_7_5_4() {
    let mut ep = endpoint_in(Role::Secondary, PartnerDown);
    connect_with_partner_in(&mut ep, T0, Recover);
    while ep.poll_output().is_some() {}
    let lease = LeaseKey::Addr(addr(3));
    let before = ep.db().get(&lease).cloned();
    let mut m = bndupd_for(lease, 9, T0);
    if let Body::BndUpd(u) = &mut m.body {
        u.vss = Some(b"\0blue".to_vec());
    }
    ep.handle_message(T0, m);
    let r = sent_messages(&mut ep)
        .into_iter()
        .find_map(|m| match m.body {
            Body::BndReply(r) => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!(r.leases.len(), 1);
    assert_eq!(r.leases[0].status, Some(StatusCode::ConfigurationConflict));
    assert_eq!(ep.db().get(&lease).cloned(), before, "nothing stored");
    // The global, default VPN named explicitly (RFC 6607 type 255) is ours: accepted.
    let mut m = bndupd_for(lease, 9, T0);
    if let Body::BndUpd(u) = &mut m.body {
        u.vss = Some(vec![255]);
    }
    ep.handle_message(T0, m);
    let r = sent_messages(&mut ep)
        .into_iter()
        .find_map(|m| match m.body {
            Body::BndReply(r) => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!(r.leases[0].status, None);
}

/// RFC 8156 §7.6: the BNDREPLY's CLIENT_DATA holds "OPTION_VSS from the BNDUPD message, if
/// any", whether the update is accepted (the global VPN named explicitly) or rejected (a VPN not
/// configured, §7.5.4), and none when the BNDUPD had none.
#[test]
fn bndreply_echoes_the_bndupds_vss_section_7_6() {
    let mut ep = endpoint_in(Role::Secondary, PartnerDown);
    connect_with_partner_in(&mut ep, T0, Recover);
    while ep.poll_output().is_some() {}
    let lease = LeaseKey::Addr(addr(3));
    for vss in [Some(vec![255]), Some(b"\0blue".to_vec()), None] {
        let mut m = bndupd_for(lease, 9, T0);
        if let Body::BndUpd(u) = &mut m.body {
            u.vss = vss.clone();
        }
        ep.handle_message(T0, m);
        let r = sent_messages(&mut ep)
            .into_iter()
            .find_map(|m| match m.body {
                Body::BndReply(r) => Some(r),
                _ => None,
            })
            .expect("a BNDREPLY");
        assert_eq!(r.vss, vss, "the reply echoes the BNDUPD's OPTION_VSS");
    }
}

#[test]
fn primary_rejects_secondary_active_for_other_client_with_address_in_use() {
    let mut pair = Pair::normal();
    pair.advance(10);
    let lease = match pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)) {
        Some(ReplyKind::Granted { lease, .. }) => lease,
        r => panic!("{r:?}"),
    };
    // The secondary claims the same lease for another client with the same time.
    let now = pair.now;
    pair.p.ep.handle_message(now, bndupd_for(lease, 2, now));
    let outs: Vec<Output> = std::iter::from_fn(|| pair.p.ep.poll_output()).collect();
    let r = outs
        .iter()
        .find_map(|o| match o {
            Output::Send(Message {
                body: Body::BndReply(r),
                ..
            }) => Some(r.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(r.leases[0].status, Some(StatusCode::AddressInUse));
}

// ---- connection management (§6) ----------------------------------------------------------

fn connect_msg(sent: Time, version: (u16, u16), name: Option<&str>) -> Message {
    Message {
        xid: 1,
        sent_time: sent,
        body: Body::Connect(ConnectParams {
            protocol_version: version,
            mclt: 1234,
            keepalive_time: 40,
            max_unacked_bndupd: 3,
            relationship_name: name.map(str::to_string),
            connect_flags: 0,
        }),
    }
}

fn connect_reply_of(ep: &mut Endpoint) -> ConnectReply {
    sent_messages(ep)
        .into_iter()
        .find_map(|m| match m.body {
            Body::ConnectReply(r) => Some(r),
            _ => None,
        })
        .expect("CONNECTREPLY")
}

#[test]
fn secondary_rejects_connect_with_excessive_skew() {
    let mut ep = endpoint_in(Role::Secondary, Recover);
    ep.handle_connected(T0);
    ep.handle_message(T0, connect_msg(T0.minus(6), PROTOCOL_VERSION, None));
    assert_eq!(
        connect_reply_of(&mut ep),
        ConnectReply::Reject(StatusCode::ExcessiveTimeSkew)
    );
    // Exactly 5 s is within tolerance.
    let mut ep = endpoint_in(Role::Secondary, Recover);
    ep.handle_connected(T0);
    ep.handle_message(T0, connect_msg(T0.minus(5), PROTOCOL_VERSION, None));
    assert!(matches!(connect_reply_of(&mut ep), ConnectReply::Accept(_)));
}

#[test]
fn secondary_rejects_unsupported_version_and_unknown_relationship() {
    let mut ep = endpoint_in(Role::Secondary, Recover);
    ep.handle_connected(T0);
    ep.handle_message(T0, connect_msg(T0, (2, 0), None));
    assert_eq!(
        connect_reply_of(&mut ep),
        ConnectReply::Reject(StatusCode::NotSupported)
    );

    let mut c = config(Role::Secondary);
    c.relationship_name = Some("east".into());
    let mut ep = Endpoint::new(c, None, T0);
    ep.handle_connected(T0);
    ep.handle_message(T0, connect_msg(T0, PROTOCOL_VERSION, Some("west")));
    assert_eq!(
        connect_reply_of(&mut ep),
        ConnectReply::Reject(StatusCode::ConfigurationConflict)
    );
}

#[test]
fn secondary_adopts_mclt_from_connect_and_echoes_it_then_sends_state() {
    let mut ep = endpoint_in(Role::Secondary, Recover);
    ep.handle_connected(T0);
    ep.handle_message(T0, connect_msg(T0, PROTOCOL_VERSION, None));
    let msgs = sent_messages(&mut ep);
    let Body::ConnectReply(ConnectReply::Accept(p)) = &msgs[0].body else {
        panic!("{msgs:?}")
    };
    assert_eq!(p.mclt, 1234);
    assert_eq!(ep.mclt(), 1234);
    assert_eq!(msgs[1].kind(), MsgKind::State);
    // FO_SEND_TIME from the partner's keepalive 40 / 4 = 10 s.
    assert_eq!(ep.poll_timeout(), Some(T0.plus(10)));
}

#[test]
fn primary_disconnects_on_mclt_mismatch_or_rejection() {
    let mut ep = endpoint_in(Role::Primary, PartnerDown);
    ep.handle_connected(T0);
    let c = sent_messages(&mut ep);
    ep.handle_message(
        T0,
        Message {
            xid: c[0].xid,
            sent_time: T0,
            body: Body::ConnectReply(ConnectReply::Accept(ConnectParams {
                protocol_version: PROTOCOL_VERSION,
                mclt: MCLT + 1,
                keepalive_time: 60,
                max_unacked_bndupd: 10,
                relationship_name: None,
                connect_flags: 0,
            })),
        },
    );
    let outs: Vec<Output> = std::iter::from_fn(|| ep.poll_output()).collect();
    assert!(outs
        .iter()
        .any(|o| matches!(o, Output::Send(m) if m.kind() == MsgKind::Disconnect)));
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Disconnect {
            reason: DisconnectReason::MclMismatch { .. }
        }
    )));
    assert!(!ep.comm_ok());

    let mut ep = endpoint_in(Role::Primary, PartnerDown);
    ep.handle_connected(T0);
    let c = sent_messages(&mut ep);
    ep.handle_message(
        T0,
        Message {
            xid: c[0].xid,
            sent_time: T0,
            body: Body::ConnectReply(ConnectReply::Reject(StatusCode::ExcessiveTimeSkew)),
        },
    );
    assert!(std::iter::from_fn(|| ep.poll_output()).any(|o| matches!(
        o,
        Output::Disconnect {
            reason: DisconnectReason::Rejected(StatusCode::ExcessiveTimeSkew)
        }
    )));
}

#[test]
fn skew_on_later_message_drops_the_connection() {
    let mut ep = endpoint_in(Role::Primary, Normal);
    connect_with_partner_in(&mut ep, T0, Normal);
    while ep.poll_output().is_some() {}
    ep.handle_message(
        T0.plus(20),
        Message {
            xid: 8,
            sent_time: T0.plus(14),
            body: Body::Contact,
        },
    );
    assert!(!ep.comm_ok());
    assert_eq!(ep.state(), CommunicationsInterrupted);
    assert!(std::iter::from_fn(|| ep.poll_output()).any(|o| matches!(
        o,
        Output::Disconnect {
            reason: DisconnectReason::TimeSkew { skew: 6 }
        }
    )));
}

#[test]
fn keepalive_expiry_without_messages_interrupts_communications() {
    let mut ep = endpoint_in(Role::Secondary, Normal);
    connect_with_partner_in(&mut ep, T0, Normal);
    fire(&mut ep, T0.plus(30)); // CONTACTs are sent, nothing received
    assert!(ep.comm_ok());
    ep.handle_message(
        T0.plus(30),
        Message {
            xid: 9,
            sent_time: T0.plus(30),
            body: Body::Contact,
        },
    );
    fire(&mut ep, T0.plus(89));
    assert!(ep.comm_ok());
    fire(&mut ep, T0.plus(90));
    assert!(!ep.comm_ok());
    assert_eq!(ep.state(), CommunicationsInterrupted);
}

// ---- responsiveness (§3, §8) -------------------------------------------------------------

#[test]
fn unresponsive_states_answer_no_client() {
    for s in [Startup, Recover, RecoverWait, PotentialConflict] {
        for role in [Role::Primary, Role::Secondary] {
            let mut ep = endpoint_in(role, s);
            ep.handle_client(
                T0,
                ClientRequest {
                    client: ClientId::from(1),
                    op: ClientOp::Request(LeaseKind::Address),
                },
            );
            ep.handle_client(
                T0,
                ClientRequest {
                    client: ClientId::from(1),
                    op: ClientOp::Renew {
                        lease: LeaseKey::Addr(addr(1)),
                        to_me: true,
                    },
                },
            );
            assert!(
                !std::iter::from_fn(|| ep.poll_output())
                    .any(|o| matches!(o, Output::ClientReply(_))),
                "{role} in {s}"
            );
        }
    }
}

#[test]
fn recover_done_renews_known_leases_only_and_allocates_nothing_reading_r6() {
    let mut pair = Pair::normal();
    let lease = match pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)) {
        Some(ReplyKind::Granted { lease, .. }) => lease,
        r => panic!("{r:?}"),
    };
    let now = pair.now;
    pair.s.ep.set_state(now, RecoverDone);
    pair.drain();
    let s = &mut pair.s;
    s.ep.handle_client(
        now,
        ClientRequest {
            client: ClientId::from(5),
            op: ClientOp::Request(LeaseKind::Address),
        },
    );
    s.ep.handle_client(
        now,
        ClientRequest {
            client: ClientId::from(5),
            op: ClientOp::Renew {
                lease: LeaseKey::Addr(addr(2)),
                to_me: true,
            },
        },
    );
    s.ep.handle_client(
        now,
        ClientRequest {
            client: ClientId::from(1),
            op: ClientOp::Renew { lease, to_me: true },
        },
    );
    let replies: Vec<ClientReply> = std::iter::from_fn(|| s.ep.poll_output())
        .filter_map(|o| match o {
            Output::ClientReply(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].client, ClientId::from(1));
}

#[test]
fn startup_back_into_recorded_partner_down_keeps_its_start_and_entry_time() {
    let mut rec = stored(PartnerDown, T0.plus(50));
    rec.endpoint.start_time_of_state = T0;
    rec.endpoint.partner_down_entry = Some(T0);
    let mut ep = Endpoint::new(config(Role::Primary), Some(rec), T0.plus(100));
    fire(&mut ep, T0.plus(110));
    assert_eq!(ep.state(), PartnerDown);
    connect_with_partner_in(&mut ep, T0.plus(120), Recover);
    let st = sent_messages(&mut ep)
        .into_iter()
        .find_map(|m| match m.body {
            Body::State(s) => Some(s),
            _ => None,
        })
        .unwrap();
    assert_eq!(st.start_time_of_state, T0);
    assert_eq!(st.partner_down_time, Some(T0));
}

#[test]
fn upddone_is_sent_only_after_every_requested_bndupd_is_acked() {
    let mut ep = endpoint_in(Role::Primary, PartnerDown);
    // Three leases changed while the partner was down.
    for c in 0..3 {
        ep.handle_client(
            T0,
            ClientRequest {
                client: ClientId::from(c),
                op: ClientOp::Request(LeaseKind::Address),
            },
        );
    }
    connect_with_partner_in(&mut ep, T0, Recover);
    // PARTNER-DOWN keeps its changes for the recovering partner's UPDREQ (decision D18).
    assert!(sent_messages(&mut ep)
        .iter()
        .all(|m| m.kind() != MsgKind::BndUpd));
    ep.handle_message(
        T0,
        Message {
            xid: 4000,
            sent_time: T0,
            body: Body::UpdReq,
        },
    );
    let answer = sent_messages(&mut ep);
    assert!(answer.iter().all(|m| m.kind() != MsgKind::UpdDone));
    let mut upds: Vec<Message> = answer
        .into_iter()
        .filter(|m| m.kind() == MsgKind::BndUpd)
        .collect();
    assert_eq!(upds.len(), 3);
    let mut upddone = 0;
    while let Some(m) = upds.pop() {
        assert_eq!(upddone, 0, "UPDDONE before every BNDUPD was acked");
        ep.handle_message(T0, ack_of(&m, T0));
        let out = sent_messages(&mut ep);
        upddone += out
            .iter()
            .filter(|m| m.kind() == MsgKind::UpdDone && m.xid == 4000)
            .count();
        upds.extend(out.into_iter().filter(|m| m.kind() == MsgKind::BndUpd));
    }
    assert_eq!(upddone, 1);
    assert!(ep.db().pending().is_empty());
}

/// A tiny deterministic generator (no randomness in the crate; this is test input only).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

fn random_lease(r: &mut Lcg) -> LeaseKey {
    if r.below(2) == 0 {
        LeaseKey::Addr(addr(r.below(10) as u16))
    } else {
        let (a, l) = prefix(r.below(10) as u16);
        LeaseKey::Prefix(a, l)
    }
}

fn random_time(r: &mut Lcg, now: Time) -> Option<Time> {
    match r.below(4) {
        0 => None,
        1 => Some(now.minus(r.below(1000))),
        _ => Some(now.plus(r.below(1000))),
    }
}

fn random_body(r: &mut Lcg, now: Time) -> Body {
    let statuses = BindingStatus::ALL;
    let states = ServerState::ALL;
    match r.below(12) {
        0 | 1 => {
            let n = r.below(3) as usize;
            let leases = (0..n)
                .map(|_| LeaseUpdate {
                    lease: random_lease(r),
                    valid_lifetime: r.below(500),
                    binding_status: r.pick(statuses),
                    start_time_of_state: random_time(r, now).unwrap_or(now),
                    state_expiration_time: random_time(r, now),
                    clt_time: random_time(r, now),
                    partner_lifetime: random_time(r, now),
                    partner_raw_clt_time: random_time(r, now),
                    expiration_time: random_time(r, now),
                    dns: None,
                    reserved: None,
                })
                .collect();
            Body::BndUpd(BndUpd {
                client: (r.below(4) != 0).then(|| ClientId::from(r.below(5))),
                leases,
                vss: None,
            })
        }
        2 => Body::BndReply(BndReply {
            client: None,
            status: None,
            leases: vec![LeaseReply {
                lease: random_lease(r),
                status: None,
                binding_status: r.pick(statuses),
                state_expiration_time: random_time(r, now),
                partner_lifetime_sent: random_time(r, now),
            }],
            vss: None,
        }),
        3 => Body::PoolReq,
        4 => Body::PoolResp,
        5 => Body::UpdReq,
        6 => Body::UpdReqAll,
        7 => Body::UpdDone,
        8 => Body::Connect(ConnectParams {
            protocol_version: (r.below(3) as u16, 0),
            mclt: r.below(100),
            keepalive_time: r.below(100),
            max_unacked_bndupd: r.below(5) as u32,
            relationship_name: None,
            connect_flags: 0,
        }),
        9 => Body::ConnectReply(ConnectReply::Accept(ConnectParams {
            protocol_version: (1, 0),
            mclt: if r.below(2) == 0 { MCLT } else { r.below(100) },
            keepalive_time: r.below(100),
            max_unacked_bndupd: r.below(5) as u32,
            relationship_name: None,
            connect_flags: 0,
        })),
        10 => Body::State(StateMsg {
            server_state: r.pick(states),
            flags: ServerFlags {
                ack_startup: false,
                startup: r.below(4) == 0,
                communicated: r.below(2) == 0,
            },
            start_time_of_state: random_time(r, now).unwrap_or(now),
            partner_down_time: random_time(r, now),
        }),
        _ => Body::Contact,
    }
}

/// Bad or out-of-order input in every state, for both roles: the endpoint never panics, never
/// leaves a lease PENDING-FREE at rest (reading R1), and never has an ACTIVE lease without a
/// client (§7.2).
#[test]
fn random_input_in_every_state_never_panics_and_keeps_invariants() {
    let mut r = Lcg(8156);
    for role in [Role::Primary, Role::Secondary] {
        for state in ServerState::ALL {
            for _round in 0..20 {
                let mut ep = endpoint_in(role, *state);
                let mut now = T0;
                for _ in 0..150 {
                    now = now.plus(r.below(20));
                    match r.below(10) {
                        0 => ep.handle_connected(now),
                        1 => ep.handle_disconnected(now),
                        2 => ep.handle_timeout(now),
                        3 => ep.handle_command(
                            now,
                            match r.below(3) {
                                0 => Command::PartnerDown,
                                1 => Command::ResetLease(random_lease(&mut r)),
                                _ => Command::Shutdown,
                            },
                        ),
                        4 => {
                            let lease = random_lease(&mut r);
                            let op = match r.below(6) {
                                0 => ClientOp::Solicit(LeaseKind::Address),
                                1 => ClientOp::Request(if r.below(2) == 0 {
                                    LeaseKind::Address
                                } else {
                                    LeaseKind::Prefix
                                }),
                                2 => ClientOp::Renew {
                                    lease,
                                    to_me: r.below(2) == 0,
                                },
                                3 => ClientOp::Rebind(lease),
                                4 => ClientOp::Release { lease, to_me: true },
                                _ => ClientOp::Decline { lease, to_me: true },
                            };
                            ep.handle_client(
                                now,
                                ClientRequest {
                                    client: ClientId::from(r.below(5)),
                                    op,
                                },
                            );
                        }
                        _ => {
                            let body = random_body(&mut r, now);
                            let skew = if r.below(10) == 0 { 7 } else { 0 };
                            ep.handle_message(
                                now,
                                Message {
                                    xid: r.below(40) as u32,
                                    sent_time: now.minus(skew),
                                    body,
                                },
                            );
                        }
                    }
                    while ep.poll_output().is_some() {}
                    if let Some(t) = ep.poll_timeout() {
                        if t <= now {
                            ep.handle_timeout(now);
                            while ep.poll_output().is_some() {}
                        }
                    }
                    for (k, b) in ep.db().iter() {
                        assert_ne!(b.status, BindingStatus::PendingFree, "{k} at rest");
                        if b.status == BindingStatus::Active {
                            assert!(b.client.is_some(), "{k} ACTIVE without client");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn recover_without_upddone_drops_the_connection_after_recover_timeout() {
    let mut ep = endpoint_in(Role::Secondary, Recover);
    connect_with_partner_in(&mut ep, T0, PartnerDown);
    let upd = sent_messages(&mut ep)
        .into_iter()
        .any(|m| matches!(m.kind(), MsgKind::UpdReq | MsgKind::UpdReqAll));
    assert!(upd);
    // Keep the connection alive with CONTACTs, but never answer: §8.5.2 "the connection SHOULD
    // be dropped".
    let mut now = T0;
    let mut dropped = false;
    while now < T0.plus(400) && !dropped {
        now = now.plus(30);
        ep.handle_message(
            now,
            Message {
                xid: 70,
                sent_time: now,
                body: Body::Contact,
            },
        );
        ep.handle_timeout(now);
        dropped = std::iter::from_fn(|| ep.poll_output()).any(|o| {
            matches!(
                o,
                Output::Disconnect {
                    reason: DisconnectReason::RecoverStalled
                }
            )
        });
    }
    assert!(dropped);
    assert!(now >= T0.plus(300), "not before recover_timeout (300 s)");
    assert_eq!(ep.state(), Recover);
}

#[test]
fn shutdown_command_sends_disconnect_server_shutting_down() {
    let mut ep = endpoint_in(Role::Primary, Normal);
    connect_with_partner_in(&mut ep, T0, Normal);
    while ep.poll_output().is_some() {}
    ep.handle_command(T0.plus(1), Command::Shutdown);
    let outs: Vec<Output> = std::iter::from_fn(|| ep.poll_output()).collect();
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Send(Message {
            body: Body::Disconnect(Disconnect {
                status: Some(StatusCode::ServerShuttingDown),
                ..
            }),
            ..
        })
    )));
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Disconnect {
            reason: DisconnectReason::Shutdown
        }
    )));
    assert_eq!(ep.state(), CommunicationsInterrupted);
}

/// A secondary in COMMUNICATIONS-INTERRUPTED that served a client, then meets a NORMAL primary:
/// the messages it sends on entering NORMAL.
fn secondary_entering_normal_with_an_update_owed(cfg: Config) -> Vec<Message> {
    let mut ep = Endpoint::new(cfg, None, T0);
    ep.set_state(T0, CommunicationsInterrupted);
    while ep.poll_output().is_some() {}
    ep.handle_client(
        T0,
        ClientRequest {
            client: ClientId::from(1),
            op: ClientOp::Request(LeaseKind::Address),
        },
    );
    while ep.poll_output().is_some() {}
    let now = T0.plus(1);
    connect_with_partner_in(&mut ep, now, Normal);
    assert_eq!(ep.state(), Normal);
    sent_messages(&mut ep)
}

fn kinds(msgs: &[Message]) -> Vec<MsgKind> {
    msgs.iter().map(|m| m.kind()).collect()
}

#[test]
fn secondary_sends_poolreq_once_its_updates_are_sent_not_acked() {
    // §8.8: "When the above process is complete [sending the unacknowledged BNDUPDs], if the
    // server entering NORMAL state is a secondary server, then it will request delegable
    // prefixes ... using the POOLREQ message." The POOLREQ follows the BNDUPD on the ordered
    // connection at once; no BNDREPLY has been received.
    let kinds = kinds(&secondary_entering_normal_with_an_update_owed(config(
        Role::Secondary,
    )));
    let upd = kinds.iter().position(|k| *k == MsgKind::BndUpd);
    let poolreq = kinds.iter().position(|k| *k == MsgKind::PoolReq);
    assert!(
        matches!((upd, poolreq), (Some(u), Some(p)) if u < p),
        "{kinds:?}"
    );
}

#[test]
fn secondary_without_delegable_prefixes_sends_no_poolreq() {
    let mut cfg = config(Role::Secondary);
    cfg.prefixes.clear();
    let kinds = kinds(&secondary_entering_normal_with_an_update_owed(cfg));
    assert!(kinds.contains(&MsgKind::BndUpd), "{kinds:?}");
    assert!(!kinds.contains(&MsgKind::PoolReq), "{kinds:?}");
}

#[test]
fn entering_normal_sends_owed_updates_before_the_state_r15() {
    // §8.8 and reading R15: the BNDUPDs owed go out before the STATE that announces NORMAL.
    let msgs = secondary_entering_normal_with_an_update_owed(config(Role::Secondary));
    let upd = msgs.iter().position(|m| m.kind() == MsgKind::BndUpd);
    let normal = msgs
        .iter()
        .position(|m| matches!(&m.body, Body::State(s) if s.server_state == Normal));
    assert!(
        matches!((upd, normal), (Some(u), Some(n)) if u < n),
        "{:?}",
        kinds(&msgs)
    );
}

#[test]
fn restart_after_storage_loss_announces_recover_and_asks_for_everything_r5() {
    // Reading R5: a server that ran before and lost its storage restarts as RECOVER in both
    // roles (a fresh primary would start as PARTNER-DOWN), says so in its STARTUP STATE, and
    // asks for the whole database.
    for role in [Role::Primary, Role::Secondary] {
        let now = T0.plus(500);
        let mut ep = Endpoint::try_new_after_storage_loss(config(role), now).expect("config");
        handshake(&mut ep, now);
        let hello = sent_messages(&mut ep);
        let announced = hello.iter().find_map(|m| match &m.body {
            Body::State(s) => Some((s.server_state, s.flags.startup)),
            _ => None,
        });
        assert_eq!(announced, Some((Recover, true)), "{role}");
        ep.handle_message(now, state_msg(PartnerDown, now));
        assert_eq!(ep.state(), Recover, "{role}");
        let asked: Vec<MsgKind> = sent_messages(&mut ep).iter().map(|m| m.kind()).collect();
        assert!(asked.contains(&MsgKind::UpdReqAll), "{role}: {asked:?}");
        assert!(!asked.contains(&MsgKind::UpdReq), "{role}: {asked:?}");
    }
}

#[test]
fn startup_timer_waits_while_the_partner_is_known_running_r19() {
    // Reading R19: with the driver saying the partner runs, STARTUP lasts until the partner's
    // STATE arrives; once the partner is known down, the (overdue) timer fires.
    let now = T0.plus(5000);
    let mut ep = Endpoint::new(
        config(Role::Primary),
        Some(stored(CommunicationsInterrupted, T0)),
        now,
    );
    ep.hold_startup(true);
    let late = now.plus(10 * config(Role::Primary).startup_time);
    assert!(ep.poll_timeout().is_none_or(|t| t > late));
    ep.handle_timeout(late);
    assert_eq!(ep.state(), Startup);
    ep.hold_startup(false);
    assert!(ep.poll_timeout().is_some_and(|t| t <= late));
    ep.handle_timeout(late);
    assert_eq!(ep.state(), CommunicationsInterrupted);
}

fn ack_of(m: &Message, now: Time) -> Message {
    let Body::BndUpd(u) = &m.body else {
        panic!("not a BNDUPD: {:?}", m.kind())
    };
    Message {
        xid: m.xid,
        sent_time: now,
        body: Body::BndReply(BndReply {
            client: u.client.clone(),
            status: None,
            leases: u
                .leases
                .iter()
                .map(|l| LeaseReply {
                    lease: l.lease,
                    status: None,
                    binding_status: l.binding_status,
                    state_expiration_time: l.state_expiration_time,
                    partner_lifetime_sent: l.partner_lifetime,
                })
                .collect(),
            vss: None,
        }),
    }
}

#[test]
fn upddone_waits_for_the_free_that_follows_an_acked_release_r16() {
    let mut ep = endpoint_in(Role::Primary, PartnerDown);
    ep.handle_client(
        T0,
        ClientRequest {
            client: ClientId::from(1),
            op: ClientOp::Request(LeaseKind::Address),
        },
    );
    let lease = std::iter::from_fn(|| ep.poll_output())
        .find_map(|o| match o {
            Output::ClientReply(ClientReply {
                kind: ReplyKind::Granted { lease, .. },
                ..
            }) => Some(lease),
            _ => None,
        })
        .expect("a grant");
    ep.handle_client(
        T0,
        ClientRequest {
            client: ClientId::from(1),
            op: ClientOp::Release { lease, to_me: true },
        },
    );
    connect_with_partner_in(&mut ep, T0, Recover);
    while ep.poll_output().is_some() {}
    ep.handle_message(
        T0,
        Message {
            xid: 4000,
            sent_time: T0,
            body: Body::UpdReq,
        },
    );
    let first = sent_messages(&mut ep);
    let released = first
        .iter()
        .find(|m| m.kind() == MsgKind::BndUpd)
        .expect("the RELEASED goes in answer to UPDREQ");
    // The ack frees the lease (reading R16); its FREE is owed and goes before the UPDDONE.
    ep.handle_message(T0, ack_of(released, T0));
    let second = sent_messages(&mut ep);
    assert_eq!(
        second.iter().map(|m| m.kind()).collect::<Vec<_>>(),
        vec![MsgKind::BndUpd],
        "the FREE, and no UPDDONE yet"
    );
    ep.handle_message(T0, ack_of(&second[0], T0));
    let third = sent_messages(&mut ep);
    assert_eq!(
        third.iter().map(|m| m.kind()).collect::<Vec<_>>(),
        vec![MsgKind::UpdDone]
    );
}

fn reply_to(ep: &mut Endpoint, now: Time, client: u64, op: ClientOp) -> Option<ReplyKind> {
    ep.handle_client(
        now,
        ClientRequest {
            client: ClientId::from(client),
            op,
        },
    );
    std::iter::from_fn(|| ep.poll_output()).find_map(|o| match o {
        Output::ClientReply(r) => Some(r.kind),
        _ => None,
    })
}

#[test]
fn a_responsive_server_renews_a_lease_its_partner_granted_that_it_never_heard_of() {
    // §8.9.1: renewal "regardless of whether that lease was given out by the receiving server
    // or not": the partner's BNDUPD was lost, the client rebinds here.
    let mut ep = endpoint_in(Role::Secondary, CommunicationsInterrupted);
    let lease = LeaseKey::Addr(addr(1));
    let r = reply_to(&mut ep, T0, 7, ClientOp::Rebind(lease));
    assert!(
        matches!(r, Some(ReplyKind::Granted { lease: l, .. }) if l == lease),
        "{r:?}"
    );
    // ... but not one its database binds to another client.
    let r = reply_to(&mut ep, T0, 8, ClientOp::Rebind(lease));
    assert_eq!(r, Some(ReplyKind::NoBinding(lease)));
}

#[test]
fn a_state_change_before_the_partners_state_arrives_is_still_announced() {
    // The secondary connected and sent STATE COMMUNICATIONS-INTERRUPTED (§6.1); before the
    // primary's STATE arrives its auto-partner-down timer fires. The primary must learn of
    // PARTNER-DOWN (§8.1), or it would go on believing COMMUNICATIONS-INTERRUPTED.
    let mut cfg = config(Role::Secondary);
    cfg.auto_partner_down = Some(60);
    let mut ep = Endpoint::new(cfg, None, T0);
    ep.set_state(T0, CommunicationsInterrupted);
    while ep.poll_output().is_some() {}
    handshake(&mut ep, T0.plus(10));
    while ep.poll_output().is_some() {}
    assert!(!ep.comm_ok());
    ep.handle_timeout(T0.plus(60));
    assert_eq!(ep.state(), PartnerDown);
    let announced: Vec<ServerState> = sent_messages(&mut ep)
        .iter()
        .filter_map(|m| match &m.body {
            Body::State(s) => Some(s.server_state),
            _ => None,
        })
        .collect();
    assert_eq!(announced, vec![PartnerDown]);
}

#[test]
fn an_update_rejected_while_ours_is_in_flight_stays_owed_until_the_next_scan_r21() {
    let mut ep = endpoint_in(Role::Primary, CommunicationsInterrupted);
    connect_with_partner_in(&mut ep, T0, Normal);
    assert_eq!(ep.state(), Normal);
    while ep.poll_output().is_some() {}
    let lease = match reply_to(&mut ep, T0, 1, ClientOp::Request(LeaseKind::Address)) {
        Some(ReplyKind::Granted { lease, .. }) => lease,
        r => panic!("{r:?}"),
    };
    let grant = sent_messages(&mut ep);
    ep.handle_message(T0, ack_of(&grant[0], T0));
    // The client declines: our ABANDONED goes out and is in flight ...
    reply_to(&mut ep, T0, 1, ClientOp::Decline { lease, to_me: true });
    let abandoned = sent_messages(&mut ep);
    assert_eq!(abandoned.len(), 1);
    // ... when the partner's EXPIRED of the same turn, at the same time, arrives: it loses the
    // tie (reading R11) and is rejected; our update was already owed.
    let expired = Message {
        xid: 300,
        sent_time: T0,
        body: Body::BndUpd(BndUpd {
            client: Some(ClientId::from(1)),
            leases: vec![LeaseUpdate {
                lease,
                valid_lifetime: 0,
                binding_status: BindingStatus::Expired,
                start_time_of_state: T0,
                state_expiration_time: None,
                clt_time: Some(T0),
                partner_lifetime: None,
                partner_raw_clt_time: None,
                expiration_time: None,
                dns: None,
                reserved: None,
            }],
            vss: None,
        }),
    };
    ep.handle_message(T0, expired);
    let reply = sent_messages(&mut ep);
    assert!(
        matches!(&reply[0].body, Body::BndReply(r) if r.leases[0].status == Some(StatusCode::OutdatedBindingInformation)),
        "{reply:?}"
    );
    // The partner accepts the copy in flight, which predates the disagreement: the update
    // stays owed, and goes again at the next periodic scan, not at once.
    ep.handle_message(T0, ack_of(&abandoned[0], T0));
    assert!(ep.db().get(&lease).unwrap().update_pending);
    assert!(sent_messages(&mut ep).is_empty());
    let scan = T0.plus(config(Role::Primary).update_retry);
    ep.handle_timeout(scan.minus(1));
    assert!(sent_messages(&mut ep)
        .iter()
        .all(|m| m.kind() != MsgKind::BndUpd));
    ep.handle_timeout(scan);
    let again: Vec<Message> = sent_messages(&mut ep)
        .into_iter()
        .filter(|m| m.kind() == MsgKind::BndUpd)
        .collect();
    assert!(
        matches!(&again[..], [m] if matches!(&m.body, Body::BndUpd(u) if u.leases[0].binding_status == BindingStatus::Abandoned)),
        "{again:?}"
    );
}

#[test]
fn a_rejected_updreqall_copy_becomes_owed_and_goes_again_at_the_next_scan_r21() {
    // Two leases, so that every copy fits in the partner's MAX_UNACKED_BNDUPD.
    let mut cfg = config(Role::Primary);
    cfg.addresses.truncate(2);
    cfg.prefixes.clear();
    let mut ep = Endpoint::new(cfg, None, T0);
    ep.set_state(T0, CommunicationsInterrupted);
    connect_with_partner_in(&mut ep, T0, Normal);
    while ep.poll_output().is_some() {}
    ep.handle_message(
        T0,
        Message {
            xid: 4100,
            sent_time: T0,
            body: Body::UpdReqAll,
        },
    );
    let copies: Vec<Message> = sent_messages(&mut ep)
        .into_iter()
        .filter(|m| m.kind() == MsgKind::BndUpd)
        .collect();
    let first = &copies[0];
    let Body::BndUpd(u) = &first.body else {
        unreachable!()
    };
    let key = u.leases[0].lease;
    assert!(!ep.db().get(&key).unwrap().update_pending);
    // The partner rejects that copy: our information is owed from now on (§7.7 2b: only an
    // acceptance says "no more information needs to be sent") ...
    let mut rejection = ack_of(first, T0);
    if let Body::BndReply(r) = &mut rejection.body {
        r.leases[0].status = Some(StatusCode::OutdatedBindingInformation);
    }
    ep.handle_message(T0, rejection);
    assert!(ep.db().get(&key).unwrap().update_pending);
    // ... and goes again at the next periodic scan, not at once.
    let resent = |ep: &mut Endpoint| {
        sent_messages(ep)
            .iter()
            .any(|m| matches!(&m.body, Body::BndUpd(u) if u.leases[0].lease == key))
    };
    assert!(!resent(&mut ep));
    let scan = T0.plus(config(Role::Primary).update_retry);
    ep.handle_timeout(scan);
    assert!(resent(&mut ep));
}

/// Drain outputs, writing every `Persist` into `store` (what a driver does), returning the
/// messages sent.
fn drain_into(ep: &mut Endpoint, store: &mut StableState) -> Vec<Message> {
    let mut v = Vec::new();
    while let Some(o) = ep.poll_output() {
        match o {
            Output::Send(m) => v.push(m),
            Output::Persist(rec) => store.apply(&rec),
            _ => {}
        }
    }
    v
}

#[test]
fn second_crash_before_upddone_still_recovers_r23() {
    // Reading R23: a server that lost its storage keeps knowing it, in its stable storage,
    // until its UPDREQALL is answered by UPDDONE in RECOVER. A crash before that (here in
    // STARTUP, then in RECOVER) restarts it as RECOVER again -- not as a fresh server, which for
    // the primary would be PARTNER-DOWN -- asking UPDREQALL again; and RECOVER-WAIT still lasts
    // max(MCLT, lifetime) from the latest start (reading R22).
    for role in [Role::Primary, Role::Secondary] {
        let mut store = StableState::default();
        let t1 = T0.plus(500);
        let mut ep = Endpoint::try_new_after_storage_loss(config(role), t1).expect("config");
        drain_into(&mut ep, &mut store);
        assert!(
            store.endpoint.storage_lost,
            "{role}: the loss is recorded at once"
        );
        // Crash in STARTUP, restart from what the storage holds.
        let t2 = t1.plus(30);
        let mut ep = Endpoint::try_new(config(role), Some(store.clone()), t2).expect("config");
        handshake(&mut ep, t2);
        let announced = drain_into(&mut ep, &mut store)
            .iter()
            .find_map(|m| match &m.body {
                Body::State(s) => Some((s.server_state, s.flags.startup)),
                _ => None,
            });
        assert_eq!(announced, Some((Recover, true)), "{role}");
        ep.handle_message(t2, state_msg(Normal, t2));
        assert_eq!(ep.state(), Recover, "{role}");
        let asked: Vec<MsgKind> = drain_into(&mut ep, &mut store)
            .iter()
            .map(|m| m.kind())
            .collect();
        assert!(asked.contains(&MsgKind::UpdReqAll), "{role}: {asked:?}");
        assert!(store.endpoint.storage_lost, "{role}");
        // Crash in RECOVER before the UPDDONE: once more RECOVER and UPDREQALL.
        let t3 = t2.plus(40);
        let mut ep = Endpoint::try_new(config(role), Some(store.clone()), t3).expect("config");
        connect_with_partner_in(&mut ep, t3, Normal);
        assert_eq!(ep.state(), Recover, "{role}");
        let sent = drain_into(&mut ep, &mut store);
        let req = sent
            .iter()
            .find(|m| m.kind() == MsgKind::UpdReqAll)
            .unwrap_or_else(|| panic!("{role}: no UPDREQALL"));
        ep.handle_message(
            t3,
            Message {
                xid: req.xid,
                sent_time: t3,
                body: Body::UpdDone,
            },
        );
        drain_into(&mut ep, &mut store);
        assert_eq!(ep.state(), RecoverWait, "{role}");
        // Reading R22, counted from the latest start.
        assert_eq!(
            ep.timers.get(crate::endpoint::Timer::RecoverWait),
            Some(t3.plus(MCLT.max(DESIRED))),
            "{role}"
        );
        // The UPDDONE cleared the mark: a restart now is one with a database.
        assert!(!store.endpoint.storage_lost, "{role}");
        let t4 = t3.plus(10);
        let mut ep = Endpoint::try_new(config(role), Some(store.clone()), t4).expect("config");
        connect_with_partner_in(&mut ep, t4, Normal);
        let sent: Vec<MsgKind> = drain_into(&mut ep, &mut store)
            .iter()
            .map(|m| m.kind())
            .collect();
        assert!(!sent.contains(&MsgKind::UpdReqAll), "{role}: {sent:?}");
    }
}

#[test]
fn owed_updates_go_out_in_lease_order_after_a_reconnection() {
    // The order of the BNDUPDs owed is the lease order (addresses in address order, then
    // prefixes), whatever was sent last before the connection was lost: the model's order.
    let mut ep = endpoint_in(Role::Primary, Normal);
    connect_with_partner_in(&mut ep, T0, Normal);
    while ep.poll_output().is_some() {}
    let grant = |ep: &mut Endpoint, client: u64, kind: LeaseKind| {
        ep.handle_client(
            T0,
            ClientRequest {
                client: ClientId::from(client),
                op: ClientOp::Request(kind),
            },
        );
    };
    grant(&mut ep, 1, LeaseKind::Address);
    let first: Vec<Message> = sent_messages(&mut ep);
    assert_eq!(
        first.iter().filter(|m| m.kind() == MsgKind::BndUpd).count(),
        1
    );
    ep.handle_disconnected(T0);
    grant(&mut ep, 2, LeaseKind::Prefix);
    while ep.poll_output().is_some() {}
    let now = T0.plus(60);
    connect_with_partner_in(&mut ep, now, CommunicationsInterrupted);
    let order: Vec<LeaseKey> = sent_messages(&mut ep)
        .iter()
        .filter_map(|m| match &m.body {
            Body::BndUpd(u) => Some(u.leases[0].lease),
            _ => None,
        })
        .collect();
    assert_eq!(order.len(), 2, "{order:?}");
    assert!(matches!(order[0], LeaseKey::Addr(_)), "{order:?}");
    assert!(matches!(order[1], LeaseKey::Prefix(..)), "{order:?}");
}

#[test]
fn a_held_update_goes_out_on_reconnection_once_the_scan_time_passed_while_down() {
    // §7.5.4: an update rejected while its own BNDUPD was in flight waits for the next periodic
    // scan. If that time passes while communications are down, the update goes with the
    // others owed when they come back (NORMAL entry, reading R15) -- the driver need not have
    // called handle_timeout in between.
    let mut ep = endpoint_in(Role::Primary, Normal);
    connect_with_partner_in(&mut ep, T0, Normal);
    while ep.poll_output().is_some() {}
    ep.handle_client(
        T0,
        ClientRequest {
            client: ClientId::from(1),
            op: ClientOp::Request(LeaseKind::Address),
        },
    );
    let lease = sent_messages(&mut ep)
        .iter()
        .find_map(|m| match &m.body {
            Body::BndUpd(u) => Some(u.leases[0].lease),
            _ => None,
        })
        .expect("the lazy update");
    // The partner claims the lease for another client: rejected, our update is held.
    ep.handle_message(T0, bndupd_for(lease, 2, T0));
    while ep.poll_output().is_some() {}
    assert!(ep.retry_at.contains_key(&lease));
    ep.handle_disconnected(T0);
    while ep.poll_output().is_some() {}
    let later = T0.plus(config(Role::Primary).update_retry + 30);
    connect_with_partner_in(&mut ep, later, CommunicationsInterrupted);
    assert_eq!(ep.state(), Normal);
    let upd: Vec<LeaseKey> = sent_messages(&mut ep)
        .iter()
        .filter_map(|m| match &m.body {
            Body::BndUpd(u) => Some(u.leases[0].lease),
            _ => None,
        })
        .collect();
    assert_eq!(upd, vec![lease]);
}

#[test]
fn a_rejected_update_of_a_lease_changed_since_goes_out_at_once_r21() {
    // §7.5.4 / reading R21: a rejected update waits for the next periodic scan only while our
    // record still says what was rejected. Here the client released the lease while its ACTIVE
    // was in flight: the RELEASED is new information and goes at once (the model's rule).
    let mut ep = endpoint_in(Role::Primary, Normal);
    connect_with_partner_in(&mut ep, T0, Normal);
    while ep.poll_output().is_some() {}
    ep.handle_client(
        T0,
        ClientRequest {
            client: ClientId::from(1),
            op: ClientOp::Request(LeaseKind::Address),
        },
    );
    let upd = sent_messages(&mut ep)
        .into_iter()
        .find(|m| m.kind() == MsgKind::BndUpd)
        .expect("the lazy update");
    let Body::BndUpd(u) = &upd.body else {
        unreachable!()
    };
    let lease = u.leases[0].lease;
    ep.handle_client(
        T0,
        ClientRequest {
            client: ClientId::from(1),
            op: ClientOp::Release { lease, to_me: true },
        },
    );
    assert!(
        sent_messages(&mut ep).is_empty(),
        "one update per lease in flight"
    );
    let mut reject = ack_of(&upd, T0);
    if let Body::BndReply(r) = &mut reject.body {
        r.leases[0].status = Some(StatusCode::OutdatedBindingInformation);
    }
    ep.handle_message(T0, reject);
    let sent: Vec<(LeaseKey, BindingStatus)> = sent_messages(&mut ep)
        .iter()
        .filter_map(|m| match &m.body {
            Body::BndUpd(u) => Some((u.leases[0].lease, u.leases[0].binding_status)),
            _ => None,
        })
        .collect();
    assert_eq!(sent, vec![(lease, BindingStatus::Released)]);
    assert!(!ep.retry_at.contains_key(&lease));
}

fn granted(ep: &mut Endpoint, now: Time, client: u64, kind: LeaseKind) -> Option<LeaseKey> {
    ep.handle_client(
        now,
        ClientRequest {
            client: ClientId::from(client),
            op: ClientOp::Request(kind),
        },
    );
    std::iter::from_fn(|| ep.poll_output()).find_map(|o| match o {
        Output::ClientReply(ClientReply {
            kind: ReplyKind::Granted { lease, .. },
            ..
        }) => Some(lease),
        _ => None,
    })
}

#[test]
fn a_request_is_never_answered_with_the_lease_a_stale_record_binds_to_the_client_d23() {
    // Decision D28 (and reading R11 for the same tick): a client asking for a new lease does
    // not hold the one our record binds to it -- it released or declined it at the partner --
    // so the request is served from the pool, in the same tick and later.
    for later in [0, 60] {
        let mut ep = endpoint_in(Role::Primary, Normal);
        connect_with_partner_in(&mut ep, T0, Normal);
        while ep.poll_output().is_some() {}
        // The secondary granted its address A2 to client 1.
        let theirs = LeaseKey::Addr(addr(2));
        ep.handle_message(T0, bndupd_for(theirs, 1, T0));
        while ep.poll_output().is_some() {}
        assert_eq!(
            ep.db().get(&theirs).map(|b| b.status),
            Some(BindingStatus::Active)
        );
        let got = granted(&mut ep, T0.plus(later), 1, LeaseKind::Address);
        assert!(got.is_some_and(|k| k != theirs), "+{later} s: {got:?}");
    }
}

#[test]
fn partner_prefixes_wait_the_mclt_from_this_runs_partner_down_entry() {
    // §8.4.1: the partner's prefixes only after the MCLT "has elapsed from entry into
    // PARTNER-DOWN state". A restart enters PARTNER-DOWN again and the MCLT counts from there,
    // though the record keeps the first entry (decision D7) for the STATE message.
    let mut st = stored(PartnerDown, T0);
    st.endpoint.partner_down_entry = Some(T0.minus(1000));
    for (a, l) in &config(Role::Primary).prefixes {
        st.leases.insert(
            LeaseKey::Prefix(*a, *l),
            Binding::available(BindingStatus::FreeBackup),
        );
    }
    let now = T0.plus(10);
    let mut ep = Endpoint::new(config(Role::Primary), Some(st), now);
    let startup_end = ep.poll_timeout().expect("the STARTUP timer");
    ep.handle_timeout(startup_end);
    assert_eq!(ep.state(), PartnerDown);
    while ep.poll_output().is_some() {}
    assert_eq!(
        granted(&mut ep, startup_end.plus(10), 1, LeaseKind::Prefix),
        None
    );
    assert!(granted(&mut ep, startup_end.plus(MCLT), 1, LeaseKind::Prefix).is_some());
}

#[test]
fn a_bndupd_lost_with_the_connection_is_owed_again_after_taking_the_partners_update() {
    // §8.8: what the partner has not acknowledged goes again on the next connection -- also a
    // lease whose record took the partner's update while ours was in flight (our current record,
    // which agrees with the partner's, goes): the model's rule.
    let mut ep = endpoint_in(Role::Primary, Normal);
    connect_with_partner_in(&mut ep, T0, Normal);
    while ep.poll_output().is_some() {}
    let lease = granted(&mut ep, T0, 1, LeaseKind::Address).expect("a grant");
    assert!(ep.in_flight.contains(&lease));
    // The client released it at the secondary, which tells us (accepted: same client, later).
    let t = T0.plus(30);
    let mut rel = bndupd_for(lease, 1, t);
    if let Body::BndUpd(u) = &mut rel.body {
        u.leases[0].binding_status = BindingStatus::Released;
        u.leases[0].state_expiration_time = None;
    }
    ep.handle_message(t, rel);
    while ep.poll_output().is_some() {}
    let b = ep.db().get(&lease).expect("the lease");
    assert_eq!(b.status, BindingStatus::Released);
    assert!(!b.update_pending, "the partner's information replaced ours");
    ep.handle_disconnected(t);
    assert!(ep.db().get(&lease).is_some_and(|b| b.update_pending));
}

#[test]
fn poolreq_gives_the_lowest_free_prefixes_to_the_secondary_in_lease_order() {
    // §4.2.2: the primary gives the secondary its share of the free delegable prefixes on
    // POOLREQ. Which ones is open; failover-core gives the lowest first and takes back the
    // highest first, as the model does, so the share does not depend on history.
    let now = T0.plus(60);
    let mut ep = endpoint_in(Role::Primary, Normal);
    connect_with_partner_in(&mut ep, now, Normal);
    while ep.poll_output().is_some() {}
    ep.handle_message(
        now,
        Message {
            xid: 41,
            sent_time: now,
            body: Body::PoolReq,
        },
    );
    let given: Vec<LeaseKey> = sent_messages(&mut ep)
        .iter()
        .filter_map(|m| match &m.body {
            Body::BndUpd(u) if u.leases[0].binding_status == BindingStatus::FreeBackup => {
                Some(u.leases[0].lease)
            }
            _ => None,
        })
        .collect();
    let lowest: Vec<LeaseKey> = (0..4)
        .map(|n| {
            let (a, l) = prefix(n);
            LeaseKey::Prefix(a, l)
        })
        .collect();
    assert_eq!(given, lowest);
}

/// A primary in NORMAL whose every `Persist` went into `store` from the start.
fn normal_primary_with_store(store: &mut StableState) -> Endpoint {
    let mut ep = Endpoint::new(config(Role::Primary), None, T0);
    drain_into(&mut ep, store);
    ep.set_state(T0, CommunicationsInterrupted);
    connect_with_partner_in(&mut ep, T0, Normal);
    assert_eq!(ep.state(), Normal);
    drain_into(&mut ep, store);
    ep
}

/// Restart from `store` at `now` (the driver records TIME-OF-FAILURE) and bring the endpoint to
/// NORMAL against a partner in COMMUNICATIONS-INTERRUPTED; the leases it sends BNDUPDs for on
/// the way.
fn restart_to_normal(
    store: &mut StableState,
    crashed: Time,
    now: Time,
) -> (Endpoint, Vec<LeaseKey>) {
    store.endpoint.time_of_failure = Some(crashed);
    let mut ep =
        Endpoint::try_new(config(Role::Primary), Some(store.clone()), now).expect("config");
    connect_with_partner_in(&mut ep, now, CommunicationsInterrupted);
    let mut sent = drain_into(&mut ep, store);
    if ep.state() == Startup {
        let end = now.plus(config(Role::Primary).startup_time);
        ep.handle_timeout(end);
        sent.extend(drain_into(&mut ep, store));
    }
    assert_eq!(ep.state(), Normal);
    let upd = sent
        .iter()
        .filter_map(|m| match &m.body {
            Body::BndUpd(u) => Some(u.leases[0].lease),
            _ => None,
        })
        .collect();
    (ep, upd)
}

/// A NORMAL primary (its storage in `store`) that has just granted an address to client 1: the
/// endpoint, the BNDUPD of that lazy update, and the lease.
fn primary_with_one_lazy_update(store: &mut StableState) -> (Endpoint, Message, LeaseKey) {
    let mut ep = normal_primary_with_store(store);
    ep.handle_client(
        T0,
        ClientRequest {
            client: ClientId::from(1),
            op: ClientOp::Request(LeaseKind::Address),
        },
    );
    let upd = drain_into(&mut ep, store)
        .into_iter()
        .find(|m| m.kind() == MsgKind::BndUpd)
        .expect("the lazy update");
    let Body::BndUpd(u) = &upd.body else {
        unreachable!()
    };
    let lease = u.leases[0].lease;
    (ep, upd, lease)
}

#[test]
fn an_update_in_flight_when_the_process_crashes_is_sent_again_after_restart() {
    // §8.8 "all binding updates that have not been acknowledged": our BNDUPD of a lease is in
    // flight when we accept the partner's update of it (which clears update-pending); the
    // process crashes before the BNDREPLY. After the restart the lease is owed again, as the
    // model's (whose in-flight update survives in its record) -- kept in stable storage
    // (`Binding::owed_if_lost`).
    let mut store = StableState::default();
    let (mut ep, _, lease) = primary_with_one_lazy_update(&mut store);
    // The client released it at the secondary, which tells us (accepted: same client, later).
    let t = T0.plus(30);
    let mut rel = bndupd_for(lease, 1, t);
    if let Body::BndUpd(u) = &mut rel.body {
        u.leases[0].binding_status = BindingStatus::Released;
        u.leases[0].state_expiration_time = None;
    }
    ep.handle_message(t, rel);
    drain_into(&mut ep, &mut store);
    let b = &store.leases[&lease];
    assert_eq!(b.status, BindingStatus::Released);
    assert!(!b.update_pending, "the partner's information replaced ours");
    // Crash (no BNDREPLY ever comes) and restart from the stable storage.
    let (ep, sent) = restart_to_normal(&mut store, t, t.plus(20));
    assert!(ep.db().get(&lease).is_some_and(|b| b.update_pending));
    assert!(
        sent.contains(&lease),
        "owed again after the restart: {sent:?}"
    );
}

#[test]
fn a_held_rejection_is_not_resent_before_its_scan_after_a_restart_r21() {
    // §7.5.4 / reading R21: an update rejected while our own BNDUPD of the lease was in flight
    // waits for the next periodic scan. A crash and restart before that time do not send it
    // earlier (the model's hold survives a crash): the time is kept with the lease
    // (`Binding::hold_until`).
    let mut store = StableState::default();
    let (mut ep, _, lease) = primary_with_one_lazy_update(&mut store);
    // The partner claims the lease for another client: rejected, our update is held.
    ep.handle_message(T0, bndupd_for(lease, 2, T0));
    drain_into(&mut ep, &mut store);
    let scan = T0.plus(config(Role::Primary).update_retry);
    assert_eq!(store.leases[&lease].hold_until, Some(scan));
    // Crash, and restart before the scan: not sent on the NORMAL entry ...
    let (mut ep, sent) = restart_to_normal(&mut store, T0.plus(5), T0.plus(10));
    assert!(ep.db().get(&lease).is_some_and(|b| b.update_pending));
    assert!(!sent.contains(&lease), "sent before its scan: {sent:?}");
    ep.handle_timeout(scan.minus(1));
    assert!(!drain_into(&mut ep, &mut store)
        .iter()
        .any(|m| matches!(&m.body, Body::BndUpd(u) if u.leases[0].lease == lease)));
    // ... but at the scan.
    ep.handle_timeout(scan);
    assert!(drain_into(&mut ep, &mut store)
        .iter()
        .any(|m| matches!(&m.body, Body::BndUpd(u) if u.leases[0].lease == lease)));
}

#[test]
fn a_rejection_keeps_the_update_owed_while_the_status_is_unchanged_r21() {
    // §7.7 / reading R21: our ACTIVE is in flight when we accept the partner's renewal of the
    // same binding (a later expiry, same status: update-pending is cleared); then the partner
    // rejects our ACTIVE. Our record still announces the status that was rejected, so the
    // partner has not taken our information: the update stays owed and waits for the next
    // periodic scan -- although the record changed since it was sent.
    let mut ep = endpoint_in(Role::Primary, CommunicationsInterrupted);
    connect_with_partner_in(&mut ep, T0, Normal);
    while ep.poll_output().is_some() {}
    ep.handle_client(
        T0,
        ClientRequest {
            client: ClientId::from(1),
            op: ClientOp::Request(LeaseKind::Address),
        },
    );
    let upd = sent_messages(&mut ep)
        .into_iter()
        .find(|m| m.kind() == MsgKind::BndUpd)
        .expect("the lazy update");
    let Body::BndUpd(u) = &upd.body else {
        unreachable!()
    };
    let lease = u.leases[0].lease;
    let t = T0.plus(20);
    ep.handle_message(t, bndupd_for(lease, 1, t));
    while ep.poll_output().is_some() {}
    let b = ep.db().get(&lease).expect("the lease");
    assert_eq!(b.status, BindingStatus::Active);
    assert!(!b.update_pending, "the partner's renewal was taken");
    let mut reject = ack_of(&upd, t);
    if let Body::BndReply(r) = &mut reject.body {
        r.leases[0].status = Some(StatusCode::OutdatedBindingInformation);
    }
    ep.handle_message(t, reject);
    assert!(ep.db().get(&lease).is_some_and(|b| b.update_pending));
    assert!(sent_messages(&mut ep).is_empty(), "not at once");
    let scan = t.plus(config(Role::Primary).update_retry);
    assert_eq!(ep.retry_at.get(&lease), Some(&scan));
    ep.handle_timeout(scan);
    assert!(sent_messages(&mut ep)
        .iter()
        .any(|m| matches!(&m.body, Body::BndUpd(u) if u.leases[0].lease == lease)));
}

#[test]
fn an_update_held_while_in_flight_is_sent_after_the_ack_once_its_scan_passed_r21() {
    // Reading R21: we reject the partner's update while ours of the lease is in flight; the
    // update stays owed after the partner acks the copy in flight (it predates the
    // disagreement). If the periodic scan comes while that copy is still unanswered, the hold
    // is over: the update goes as soon as the ack arrives (the model's pending flag, set by the
    // rejection, survives the ack; found by the differential test, busy).
    let mut ep = endpoint_in(Role::Primary, CommunicationsInterrupted);
    connect_with_partner_in(&mut ep, T0, Normal);
    while ep.poll_output().is_some() {}
    ep.handle_client(
        T0,
        ClientRequest {
            client: ClientId::from(1),
            op: ClientOp::Request(LeaseKind::Address),
        },
    );
    let upd = sent_messages(&mut ep)
        .into_iter()
        .find(|m| m.kind() == MsgKind::BndUpd)
        .expect("the lazy update");
    let Body::BndUpd(u) = &upd.body else {
        unreachable!()
    };
    let lease = u.leases[0].lease;
    // The partner claims the lease for another client: rejected while ours is in flight.
    ep.handle_message(T0, bndupd_for(lease, 2, T0));
    while ep.poll_output().is_some() {}
    let scan = T0.plus(config(Role::Primary).update_retry);
    ep.handle_timeout(scan);
    assert!(
        sent_messages(&mut ep)
            .iter()
            .all(|m| m.kind() != MsgKind::BndUpd),
        "one update per lease in flight"
    );
    let later = scan.plus(5);
    ep.handle_message(later, ack_of(&upd, later));
    let again: Vec<LeaseKey> = sent_messages(&mut ep)
        .iter()
        .filter_map(|m| match &m.body {
            Body::BndUpd(u) => Some(u.leases[0].lease),
            _ => None,
        })
        .collect();
    assert_eq!(again, vec![lease]);
}

#[test]
fn an_updreq_answer_includes_an_update_held_for_the_scan_r21() {
    // Reading R21: an update rejected while our own BNDUPD of the lease was in flight waits
    // for the next periodic scan; an UPDREQ before the scan asks for everything the partner
    // has not seen, so the answer carries it and UPDDONE waits for its BNDREPLY.
    let mut store = StableState::default();
    let (mut ep, ours, lease) = primary_with_one_lazy_update(&mut store);
    ep.handle_message(T0, bndupd_for(lease, 2, T0));
    drain_into(&mut ep, &mut store);
    ep.handle_message(T0, ack_of(&ours, T0));
    drain_into(&mut ep, &mut store);
    let scan = T0.plus(config(Role::Primary).update_retry);
    assert_eq!(
        store.leases[&lease].hold_until,
        Some(scan),
        "held for the scan"
    );
    ep.handle_message(
        T0.plus(1),
        Message {
            xid: 4001,
            sent_time: T0.plus(1),
            body: Body::UpdReq,
        },
    );
    let answer = drain_into(&mut ep, &mut store);
    let resent = answer
        .iter()
        .find(|m| matches!(&m.body, Body::BndUpd(u) if u.leases[0].lease == lease))
        .expect("the held update is part of the answer")
        .clone();
    assert!(answer.iter().all(|m| m.kind() != MsgKind::UpdDone));
    assert_eq!(store.leases[&lease].hold_until, None);
    ep.handle_message(T0.plus(1), ack_of(&resent, T0.plus(1)));
    assert!(drain_into(&mut ep, &mut store)
        .iter()
        .any(|m| m.kind() == MsgKind::UpdDone));
}
