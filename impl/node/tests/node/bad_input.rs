//! Bad input from the partner (issue 3 §4): each case gets the RFC's answer and a log line,
//! nothing panics, and no durable lease is lost.

use failover_core::{
    BindingStatus, Body, ClientId, ClientOp, DisconnectReason, LeaseKey, LeaseKind, Message,
    MsgKind, Role, ServerState, StatusCode,
};
use failover_node::convert::{from_wire, to_wire};
use failover_node::sim::Pair;
use failover_node::{CloseReason, Node, NodeOptions, Output};
use failover_proto::wire::{self, DecodeError, DhcpOption as O, IaAddr, IaNa};

use super::common::*;

/// A pair in NORMAL where clients 1 and 2 hold addresses granted by the primary, renewed to
/// the full lifetime (300 s) and acknowledged by the secondary: the leases bad input must not
/// touch.
fn pair_with_leases() -> (tempfile::TempDir, Pair, Vec<LeaseKey>) {
    let (dir, mut pair) = normal_pair();
    let mut leases = Vec::new();
    for c in 1..=2 {
        let (l, _, _) =
            granted(pair.client(Role::Primary, c, ClientOp::Request(LeaseKind::Address)));
        leases.push(l);
    }
    pair.advance(1);
    renew(&mut pair, &leases);
    pair.advance(1);
    (dir, pair, leases)
}

/// Renew client i+1's lease `leases[i]` at the primary, to the full desired lifetime.
fn renew(pair: &mut Pair, leases: &[LeaseKey]) {
    for (i, l) in leases.iter().enumerate() {
        let (_, lt, _) = granted(pair.client(
            Role::Primary,
            i as u64 + 1,
            ClientOp::Renew {
                lease: *l,
                to_me: true,
            },
        ));
        assert_eq!(lt, DESIRED);
    }
}

/// Both stores equal both memories, and the leases are still ACTIVE for their clients on both
/// sides, in memory and on disk.
fn assert_leases_intact(pair: &Pair, leases: &[LeaseKey]) {
    for role in [Role::Primary, Role::Secondary] {
        pair.durable_matches_memory(role).unwrap();
        for (i, l) in leases.iter().enumerate() {
            let v = &pair.side(role).node().endpoint().observe().leases[l];
            assert_eq!(
                (v.status, v.client.clone()),
                (BindingStatus::Active, Some(ClientId::from(i as u64 + 1))),
                "{role:?} {l}"
            );
        }
    }
}

fn now32(pair: &Pair) -> u32 {
    pair.now.secs() as u32
}

fn framed(m: &wire::Message) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode_framed(&mut out).unwrap();
    out
}

/// The last message `role` transmitted, in core form.
fn last_sent(pair: &Pair, role: Role) -> Message {
    from_wire(pair.side(role).sent.last().expect("something sent")).unwrap()
}

/// After a drop: the DISCONNECT sent, its status, and the close reason.
fn assert_dropped_with_disconnect(pair: &Pair, role: Role, status: u16, text: &str) {
    let w = pair.side(role).sent.last().unwrap();
    assert_eq!(w.kind(), Ok(MsgKind::Disconnect), "{}", pair.tail());
    let Some(O::StatusCode(s)) = w.options.first() else {
        panic!("DISCONNECT without status: {w:?}")
    };
    assert_eq!(s.code.0, status);
    assert!(s.message.contains(text), "{:?} lacks {text:?}", s.message);
    assert!(!pair.side(role).connected);
    // The partner read the DISCONNECT and closed too (reading R8).
    assert!(
        pair.side(role.partner()).logged("DISCONNECT received"),
        "{}",
        pair.tail()
    );
}

#[test]
fn message_size_zero_drops_the_connection_with_a_disconnect() {
    let (_dir, mut pair, leases) = pair_with_leases();
    pair.inject(Role::Secondary, vec![0, 0, 0x22, 0, 0, 1]);
    pair.drain();
    assert_eq!(
        pair.s.closes,
        [CloseReason::Framing(DecodeError::EmptyFrame { offset: 0 })]
    );
    assert!(pair.s.logged("message-size 0"), "{:?}", pair.s.logs);
    assert_dropped_with_disconnect(&pair, Role::Secondary, 1, "message-size 0");
    // Communications are not OK on either side: COMMUNICATIONS-INTERRUPTED (§8.8.2).
    assert_eq!(
        pair.states(),
        (
            ServerState::CommunicationsInterrupted,
            ServerState::CommunicationsInterrupted
        )
    );
    assert_leases_intact(&pair, &leases);
    // The primary reconnects (§6.1) and both return to NORMAL.
    reach_normal(&mut pair, 100);
    assert_leases_intact(&pair, &leases);
}

#[test]
fn frame_above_the_size_limit_drops_the_connection_with_a_disconnect() {
    let dir = tempfile::tempdir().unwrap();
    let mut pair = Pair::open_with(
        dir.path(),
        config(Role::Primary),
        config(Role::Secondary),
        T0,
        NodeOptions::default().max_frame_len(1024),
    )
    .unwrap();
    reach_normal(&mut pair, 1000);
    let mut bytes = vec![0x10, 0x00];
    bytes.extend(std::iter::repeat_n(0xAB, 100));
    pair.inject(Role::Secondary, bytes);
    pair.drain();
    assert_eq!(
        pair.s.closes,
        [CloseReason::Framing(DecodeError::FrameTooLarge {
            size: 4096,
            max: 1024
        })]
    );
    assert_dropped_with_disconnect(&pair, Role::Secondary, 1, "exceeds the limit of 1024");
    reach_normal(&mut pair, 100);
}

#[test]
fn frame_shorter_than_a_header_drops_the_connection() {
    let (_dir, mut pair, leases) = pair_with_leases();
    pair.inject(Role::Primary, vec![0, 3, 0x22, 0, 0]);
    pair.drain();
    assert!(matches!(
        pair.p.closes.as_slice(),
        [CloseReason::Malformed { msg_type: None, .. }]
    ));
    assert_dropped_with_disconnect(&pair, Role::Primary, 1, "shorter than the message header");
    assert_leases_intact(&pair, &leases);
}

#[test]
fn state_with_an_option_running_past_the_message_drops_the_connection() {
    let (_dir, mut pair, leases) = pair_with_leases();
    // STATE, then OPTION_F_SERVER_STATE claiming 9 octets of data where 1 follows.
    let mut msg = vec![0x22, 0, 0, 9];
    msg.extend(now32(&pair).to_be_bytes());
    msg.extend([0, 132, 0, 9, 2]);
    let mut bytes = (msg.len() as u16).to_be_bytes().to_vec();
    bytes.extend(msg);
    pair.inject(Role::Secondary, bytes);
    pair.drain();
    assert!(
        matches!(pair.s.closes.as_slice(),
            [CloseReason::Malformed { msg_type: Some(34), detail }] if detail.contains("truncated")),
        "{:?}",
        pair.s.closes
    );
    assert!(pair.s.logged("malformed STATE xid=9"), "{:?}", pair.s.logs);
    assert_dropped_with_disconnect(&pair, Role::Secondary, 1, "truncated");
    assert_leases_intact(&pair, &leases);
}

fn bndupd_without_binding_status(pair: &Pair, xid: u32) -> wire::Message {
    wire::Message::new(MsgKind::BndUpd, xid, now32(pair)).with(O::ClientData(vec![
        O::ClientId(vec![9, 9]),
        O::LqBaseTime(now32(pair)),
        O::IaNa(IaNa {
            iaid: 0,
            t1: 0,
            t2: 0,
            options: vec![O::IaAddr(IaAddr {
                addr: addr(1),
                preferred_lifetime: 300,
                valid_lifetime: 300,
                options: vec![O::StartTimeOfState(now32(pair))],
            })],
        }),
    ]))
}

#[test]
fn bndupd_missing_a_must_option_is_rejected_with_missing_binding_information() {
    let (_dir, mut pair, leases) = pair_with_leases();
    let m = bndupd_without_binding_status(&pair, 77);
    pair.inject(Role::Secondary, framed(&m));
    pair.drain();
    // RFC 8156 §7.5.3: rejected with MissingBindingInformation; the reply echoes the client.
    let reply = last_sent(&pair, Role::Secondary);
    assert_eq!(reply.xid, 77);
    let Body::BndReply(r) = reply.body else {
        panic!("{reply:?}")
    };
    assert_eq!(r.client, Some(ClientId(vec![9, 9])));
    assert_eq!(r.status, Some(StatusCode::MissingBindingInformation));
    assert!(
        pair.s
            .logged("OPTION_F_BINDING_STATUS missing in OPTION_IAADDR"),
        "{:?}",
        pair.s.logs
    );
    // The connection stays up; nothing changed.
    assert!(pair.s.closes.is_empty() && pair.s.connected);
    assert_eq!(pair.states(), (ServerState::Normal, ServerState::Normal));
    assert_leases_intact(&pair, &leases);
}

#[test]
fn bndupd_with_undecodable_options_is_rejected_with_missing_binding_information() {
    let (_dir, mut pair, leases) = pair_with_leases();
    let mut msg = vec![24, 0, 0, 78];
    msg.extend(now32(&pair).to_be_bytes());
    msg.extend([0, 45, 0xFF, 0xFF, 1, 2, 3]); // CLIENT_DATA of 65535 octets, 3 present
    let mut bytes = (msg.len() as u16).to_be_bytes().to_vec();
    bytes.extend(msg);
    pair.inject(Role::Secondary, bytes);
    pair.drain();
    let reply = last_sent(&pair, Role::Secondary);
    assert_eq!(reply.xid, 78);
    let Body::BndReply(r) = reply.body else {
        panic!("{reply:?}")
    };
    assert_eq!(
        (r.client, r.status, r.leases.len()),
        (None, Some(StatusCode::MissingBindingInformation), 0)
    );
    assert!(pair
        .s
        .logged("BNDUPD xid=78 cannot be processed (truncated OPTION_CLIENT_DATA"));
    assert!(pair.s.connected);
    assert_leases_intact(&pair, &leases);
}

#[test]
fn bndupd_with_two_client_data_options_is_rejected() {
    let (_dir, mut pair, leases) = pair_with_leases();
    let one = bndupd_without_binding_status(&pair, 79);
    let mut two = one.clone();
    two.options.push(one.options[0].clone());
    pair.inject(Role::Secondary, framed(&two));
    pair.drain();
    let reply = last_sent(&pair, Role::Secondary);
    let Body::BndReply(r) = reply.body else {
        panic!()
    };
    assert_eq!(r.status, Some(StatusCode::MissingBindingInformation));
    assert!(pair.s.logged("2 OPTION_CLIENT_DATA"));
    assert_leases_intact(&pair, &leases);
}

#[test]
fn a_valid_update_that_contradicts_a_lease_is_refused_and_the_lease_kept() {
    // A well-formed BNDUPD from the "secondary" claiming lease 1 for another client, with an old
    // client transaction: the primary rejects it with AddressInUse (Figure 4 accept(3), §7.5.4:
    // the clients differ, time(2) fails and the receiver is the primary), and the durable lease
    // stays.
    let (_dir, mut pair, leases) = pair_with_leases();
    let u = failover_core::LeaseUpdate {
        lease: leases[0],
        valid_lifetime: 300,
        binding_status: BindingStatus::Active,
        start_time_of_state: pair.now.minus(1000),
        state_expiration_time: Some(pair.now.plus(300)),
        clt_time: Some(pair.now.minus(1000)),
        partner_lifetime: None,
        partner_raw_clt_time: None,
        expiration_time: None,
        dns: None,
        reserved: None,
    };
    let m = Message {
        xid: 80,
        sent_time: pair.now,
        body: Body::BndUpd(failover_core::BndUpd {
            client: Some(ClientId::from(99)),
            leases: vec![u],
            vss: None,
        }),
    };
    pair.inject(Role::Primary, framed(&to_wire(&m).unwrap()));
    pair.drain();
    let reply = pair
        .p
        .sent
        .iter()
        .map(|w| from_wire(w).unwrap())
        .find(|m| m.xid == 80 && m.kind() == MsgKind::BndReply)
        .expect("a BNDREPLY");
    let Body::BndReply(r) = reply.body else {
        panic!()
    };
    assert_eq!(r.leases[0].status, Some(StatusCode::AddressInUse));
    assert!(pair.p.logged("rejected BNDUPD"));
    assert_leases_intact(&pair, &leases);
}

#[test]
fn unknown_message_type_is_ignored_and_logged() {
    let (_dir, mut pair, leases) = pair_with_leases();
    let mut m = wire::Message::new(MsgKind::Contact, 5, now32(&pair));
    m.msg_type = wire::MsgType(99);
    pair.inject(Role::Secondary, framed(&m));
    pair.drain();
    assert!(pair.s.logged("ignored message of unknown msg-type 99"));
    assert!(pair.s.connected && pair.s.closes.is_empty());
    assert_eq!(pair.states(), (ServerState::Normal, ServerState::Normal));
    assert_leases_intact(&pair, &leases);
}

#[test]
fn messages_wrong_for_the_state_are_ignored_and_logged() {
    let (_dir, mut pair, leases) = pair_with_leases();
    // UPDDONE with no UPDREQ outstanding; CONNECT to a primary; a second CONNECT to the
    // secondary on an established connection; POOLREQ to the secondary.
    let t = now32(&pair);
    pair.inject(
        Role::Secondary,
        framed(&wire::Message::new(MsgKind::UpdDone, 40, t)),
    );
    let connect = to_wire(&Message {
        xid: 41,
        sent_time: pair.now,
        body: Body::Connect(failover_core::ConnectParams {
            protocol_version: (1, 0),
            mclt: MCLT,
            keepalive_time: 60,
            max_unacked_bndupd: 10,
            relationship_name: None,
            connect_flags: 0,
        }),
    })
    .unwrap();
    pair.inject(Role::Primary, framed(&connect));
    pair.inject(Role::Secondary, framed(&connect));
    pair.inject(
        Role::Secondary,
        framed(&wire::Message::new(MsgKind::PoolReq, 42, t)),
    );
    pair.drain();
    assert!(pair.s.logged("ignored UPDDONE xid=40"), "{:?}", pair.s.logs);
    assert!(pair.p.logged("ignored CONNECT: the primary never accepts"));
    assert!(pair
        .s
        .logged("ignored CONNECT: connection already established"));
    assert!(pair.s.logged("ignored POOLREQ"));
    assert!(pair.p.closes.is_empty() && pair.s.closes.is_empty());
    assert_eq!(pair.states(), (ServerState::Normal, ServerState::Normal));
    assert_leases_intact(&pair, &leases);
}

#[test]
fn bndupd_before_the_handshake_is_ignored_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Node::open(config(Role::Secondary), &dir.path().join("s.redb"), T0).unwrap();
    outputs(&mut s);
    s.handle_connected(T0).unwrap();
    let lease = failover_core::LeaseUpdate {
        lease: LeaseKey::Addr(addr(2)),
        valid_lifetime: 300,
        binding_status: BindingStatus::Active,
        start_time_of_state: T0,
        state_expiration_time: Some(T0.plus(300)),
        clt_time: Some(T0),
        partner_lifetime: None,
        partner_raw_clt_time: None,
        expiration_time: None,
        dns: None,
        reserved: None,
    };
    let m = Message {
        xid: 3,
        sent_time: T0,
        body: Body::BndUpd(failover_core::BndUpd {
            client: Some(ClientId::from(5)),
            leases: vec![lease],
            vss: None,
        }),
    };
    s.handle_bytes(T0, &framed(&to_wire(&m).unwrap())).unwrap();
    let outs = outputs(&mut s);
    assert!(
        transmitted(&outs).is_empty(),
        "no reply before CONNECT: {outs:?}"
    );
    assert!(
        logs(&outs)
            .iter()
            .any(|l| l.contains("ignored BNDUPD: communications not OK yet")),
        "{outs:?}"
    );
    assert!(s.store().binding("2001:db8::2").unwrap().is_none());
}

#[test]
fn connectreply_with_another_mclt_gets_disconnect_configuration_conflict() {
    // RFC 8156 §6.1.3: "If they are different, send a DISCONNECT message and drop the
    // connection" (status: decision D19).
    let dir = tempfile::tempdir().unwrap();
    let mut p = Node::open(config(Role::Primary), &dir.path().join("p.redb"), T0).unwrap();
    p.handle_connected(T0).unwrap();
    let connect = decode_all(&transmitted(&outputs(&mut p)));
    assert_eq!(connect[0].kind(), Ok(MsgKind::Connect));
    let reply = Message {
        xid: connect[0].transaction_id,
        sent_time: T0,
        body: Body::ConnectReply(failover_core::ConnectReply::Accept(
            failover_core::ConnectParams {
                protocol_version: (1, 0),
                mclt: MCLT + 1,
                keepalive_time: 60,
                max_unacked_bndupd: 10,
                relationship_name: None,
                connect_flags: 0,
            },
        )),
    };
    p.handle_bytes(T0, &framed(&to_wire(&reply).unwrap()))
        .unwrap();
    let outs = outputs(&mut p);
    let sent = decode_all(&transmitted(&outs));
    let Body::Disconnect(d) = from_wire(&sent[0]).unwrap().body else {
        panic!("{sent:?}")
    };
    assert_eq!(d.status, Some(StatusCode::ConfigurationConflict));
    assert!(outs.contains(&Output::Close(CloseReason::Endpoint(
        DisconnectReason::MclMismatch {
            ours: MCLT,
            theirs: MCLT + 1
        }
    ))));
    assert!(logs(&outs).iter().any(|l| l.contains("MCLT mismatch")));
    assert!(!p.is_connected());
    // Bytes after the close are not read.
    p.handle_bytes(T0, &[0, 0, 0]).unwrap();
    assert!(logs(&outputs(&mut p))
        .iter()
        .any(|l| l.contains("ignored 3 octets")));
}

#[test]
fn skewed_clock_is_refused_at_connect_with_excessive_time_skew() {
    let (_dir, mut pair) = pair_with(config(Role::Primary), config(Role::Secondary));
    pair.s.clock_offset = 30;
    pair.advance(60);
    // RFC 8156 §6.1.2: "If it is not [within 5 seconds], return ExcessiveTimeSkew".
    let first = pair
        .s
        .sent
        .iter()
        .map(|w| from_wire(w).unwrap().body)
        .next()
        .unwrap();
    assert_eq!(
        first,
        Body::ConnectReply(failover_core::ConnectReply::Reject(
            StatusCode::ExcessiveTimeSkew
        ))
    );
    assert!(pair.s.logged("rejecting CONNECT: ExcessiveTimeSkew"));
    assert!(pair
        .s
        .closes
        .contains(&CloseReason::RejectedConnect(StatusCode::ExcessiveTimeSkew)));
    // The primary finds the CONNECTREPLY itself 30 s off and drops the connection (§7.5.1).
    assert!(
        pair.p
            .closes
            .contains(&CloseReason::Endpoint(DisconnectReason::TimeSkew {
                skew: 30
            })),
        "{:?}",
        pair.p.closes
    );
    // The primary keeps trying (§6.1 "MUST continue to attempt to connect periodically"), and
    // communications never become OK.
    assert!(pair.p.sent_count(MsgKind::Connect) >= 2);
    assert!(!pair
        .p
        .events
        .contains(&failover_core::Event::CommunicationsOk));
    assert_ne!(pair.s.state(), ServerState::Normal);
    pair.durable_matches_memory(Role::Secondary).unwrap();
}

#[test]
fn skew_after_the_handshake_drops_with_disconnect_excessive_time_skew() {
    let (_dir, mut pair, leases) = pair_with_leases();
    // A CONTACT stamped 30 s in the future.
    pair.inject(
        Role::Secondary,
        framed(&wire::Message::new(MsgKind::Contact, 50, now32(&pair) + 30)),
    );
    pair.drain();
    // RFC 8156 §7.5.1: "the receiving server SHOULD drop the connection. A message SHOULD be
    // logged".
    assert_eq!(
        pair.s.closes,
        [CloseReason::Endpoint(DisconnectReason::TimeSkew {
            skew: 30
        })]
    );
    let Body::Disconnect(d) = last_sent(&pair, Role::Secondary).body else {
        panic!()
    };
    assert_eq!(d.status, Some(StatusCode::ExcessiveTimeSkew));
    assert!(pair.s.logged("time skew 30 s"));
    assert_leases_intact(&pair, &leases);
    reach_normal(&mut pair, 100);
}

#[test]
fn unknown_relationship_name_is_rejected_and_the_connection_dropped() {
    let mut pc = config(Role::Primary);
    pc.relationship_name = Some("east".into());
    let mut sc = config(Role::Secondary);
    sc.relationship_name = Some("west".into());
    let (_dir, mut pair) = pair_with(pc, sc);
    pair.advance(20);
    assert_eq!(
        from_wire(&pair.s.sent[0]).unwrap().body,
        Body::ConnectReply(failover_core::ConnectReply::Reject(
            StatusCode::ConfigurationConflict
        ))
    );
    assert!(pair.s.logged("unknown relationship \"east\""));
    // RFC 8156 §6.1: "it MUST drop the connection".
    assert!(pair.s.closes.contains(&CloseReason::RejectedConnect(
        StatusCode::ConfigurationConflict
    )));
    assert!(pair
        .p
        .closes
        .contains(&CloseReason::Endpoint(DisconnectReason::Rejected(
            StatusCode::ConfigurationConflict
        ))));
    assert!(pair.p.sent_count(MsgKind::State) == 0 && pair.s.sent_count(MsgKind::State) == 0);
}

#[test]
fn malformed_disconnect_still_closes_the_connection() {
    let (_dir, mut pair, leases) = pair_with_leases();
    let m = wire::Message::new(MsgKind::Disconnect, 60, now32(&pair))
        .with(O::status(wire::StatusCode(4242), "odd"));
    pair.inject(Role::Secondary, framed(&m));
    pair.drain();
    assert!(pair.s.logged("malformed DISCONNECT"));
    assert_eq!(
        pair.s.closes,
        [CloseReason::Endpoint(DisconnectReason::PeerDisconnected(
            None
        ))]
    );
    assert_leases_intact(&pair, &leases);
}

#[test]
fn a_frame_that_never_completes_is_dropped_by_the_keepalive_timer() {
    let (_dir, mut pair, leases) = pair_with_leases();
    // A message-size of 4096 followed by 3 octets: the rest never comes. Everything the primary
    // sends afterwards is read as part of that frame, so no message arrives and FO_KEEPALIVE_TIMER
    // is never reset (RFC 8156 §6.6).
    // The last message arrived a second or so before the injection.
    pair.inject(Role::Secondary, vec![0x10, 0x00, 1, 2, 3]);
    pair.advance(54);
    assert!(pair.s.closes.is_empty(), "{}", pair.tail());
    pair.advance(7);
    assert_eq!(
        pair.s.closes,
        [CloseReason::Endpoint(DisconnectReason::KeepaliveExpired)]
    );
    assert!(pair.s.logged("keepalive expired"));
    reach_normal(&mut pair, 100);
    assert_leases_intact(&pair, &leases);
}

/// Remove one option, at a random depth.
fn drop_random_option(opts: &mut Vec<O>, r: &mut Rng) {
    if opts.is_empty() {
        return;
    }
    let i = r.below(opts.len() as u64) as usize;
    let nested = match &mut opts[i] {
        O::ClientData(v) => Some(v),
        O::IaNa(ia) => Some(&mut ia.options),
        O::IaPd(ia) => Some(&mut ia.options),
        O::IaAddr(a) => Some(&mut a.options),
        O::IaPrefix(p) => Some(&mut p.options),
        _ => None,
    };
    match nested {
        Some(inner) if !inner.is_empty() && !r.chance(3) => drop_random_option(inner, r),
        _ => {
            opts.remove(i);
        }
    }
}

/// Random octets, and real messages with random bit flips and truncations, thrown at both
/// nodes: no panic, no poisoned node, the durable leases stay, and the pair always returns to
/// NORMAL (an unfinished frame swallows the stream until the keepalive drops the connection).
#[test]
fn random_and_mutated_bytes_never_panic_and_never_lose_a_durable_lease() {
    let (_dir, mut pair, leases) = pair_with_leases();
    // Genuine messages to mutate: every kind, from the conversion generator, and the pair's own.
    let mut r = Rng::new(0x8156);
    let mut samples: Vec<Vec<u8>> = (0..64)
        .map(|seed| framed(&to_wire(&super::convert::message(&mut Rng::new(seed))).unwrap()))
        .collect();
    samples.extend(pair.s.sent.iter().chain(&pair.p.sent).map(framed));
    for round in 0..100 {
        let role = if r.chance(2) {
            Role::Primary
        } else {
            Role::Secondary
        };
        let sample = samples[r.below(samples.len() as u64) as usize].clone();
        let mut bytes = match r.below(4) {
            0 => r.bytes(64),
            1 => {
                let mut m = wire::Message::decode_framed(&sample).unwrap();
                drop_random_option(&mut m.options, &mut r);
                framed(&m)
            }
            _ => sample,
        };
        // Mostly a plausible sent-time, so that mutated messages get past the skew check and
        // reach the state machine.
        if bytes.len() >= 10 && !r.chance(4) {
            bytes[6..10].copy_from_slice(&now32(&pair).to_be_bytes());
        }
        for _ in 0..r.below(3) {
            if bytes.len() > 2 {
                let i = 2 + r.below(bytes.len() as u64 - 2) as usize;
                bytes[i] ^= 1 << r.below(8);
            }
        }
        if r.chance(5) && !bytes.is_empty() {
            bytes.truncate(r.below(bytes.len() as u64) as usize);
        }
        pair.inject(role, bytes);
        pair.drain();
        for side in [&pair.p, &pair.s] {
            assert!(!side.node().is_poisoned(), "round {round}");
        }
        // Outlive any stalled frame (keepalive 60 s), get back to NORMAL, and renew the two
        // leases so that they stay ACTIVE whatever the garbage did.
        pair.advance(61);
        reach_normal(&mut pair, 200);
        renew(&mut pair, &leases);
        pair.advance(1);
        assert_leases_intact(&pair, &leases);
    }
    assert!(pair.duplicates.is_empty(), "{:?}", pair.duplicates);
    // The garbage reached every defence at least once.
    let count = |text: &str| pair.transcript.iter().filter(|l| l.contains(text)).count();
    let closes: Vec<&CloseReason> = pair.p.closes.iter().chain(&pair.s.closes).collect();
    let framing = closes
        .iter()
        .filter(|c| matches!(c, CloseReason::Framing(_)))
        .count();
    let malformed = closes
        .iter()
        .filter(|c| matches!(c, CloseReason::Malformed { .. }))
        .count();
    let keepalive = closes
        .iter()
        .filter(|c| matches!(c, CloseReason::Endpoint(DisconnectReason::KeepaliveExpired)))
        .count();
    let seen = [
        ("framing drops", framing),
        ("malformed-message drops", malformed),
        ("keepalive drops", keepalive),
        (
            "MissingBindingInformation",
            count("MissingBindingInformation (RFC 8156 §7.5.3)"),
        ),
        ("ignored by the endpoint", count("log: ignored")),
    ];
    assert!(seen.iter().all(|(_, n)| *n > 0), "{seen:?}");
}
