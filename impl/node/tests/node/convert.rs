//! `convert`: core ↔ wire round trips (quickcheck, plus a seeded sweep so that a fixed set of
//! cases runs on every `cargo test`), a fixture written from the RFC layout, and one test per
//! typed error.

use std::net::Ipv6Addr;

use failover_core::{
    BindingStatus, BndReply, BndUpd, Body, ClientId, ConnectParams, ConnectReply, Disconnect,
    LeaseKey, LeaseReply, LeaseUpdate, Message, MsgKind, ServerFlags, ServerState, StateMsg,
    StatusCode, Time,
};
use failover_node::convert::{from_wire, to_wire, FromWireError, ToWireError};
use failover_proto::wire::{self, DhcpOption as O, FrameDecoder, IaAddr, IaNa, IaPrefix};
use quickcheck::{Arbitrary, Gen, QuickCheck};

use super::common::Rng;

// ---- generator of core messages that have a wire form -----------------------------------

fn time(r: &mut Rng) -> Time {
    // Mostly near one another (realistic), sometimes anywhere in the 32-bit range.
    if r.chance(4) {
        Time(r.below(u64::from(u32::MAX) + 1))
    } else {
        Time(800_000_000 + r.below(100_000))
    }
}

fn opt_time(r: &mut Rng) -> Option<Time> {
    (!r.chance(3)).then(|| time(r))
}

fn lease_key(r: &mut Rng, prefix: bool) -> LeaseKey {
    let a = Ipv6Addr::from((u128::from(r.next()) << 64) | u128::from(r.next()));
    if prefix {
        LeaseKey::Prefix(a, r.below(129) as u8)
    } else {
        LeaseKey::Addr(a)
    }
}

fn status(r: &mut Rng) -> StatusCode {
    let all: Vec<StatusCode> = (0..=22).filter_map(StatusCode::from_code).collect();
    all[r.below(all.len() as u64) as usize]
}

fn error_status(r: &mut Rng) -> StatusCode {
    loop {
        let s = status(r);
        if s.is_error() {
            return s;
        }
    }
}

fn binding_status(r: &mut Rng) -> BindingStatus {
    BindingStatus::ALL[r.below(BindingStatus::ALL.len() as u64) as usize]
}

fn text(r: &mut Rng) -> String {
    let pool = ['a', 'Z', '0', ' ', '-', 'é', '→', '日'];
    (0..r.below(12))
        .map(|_| pool[r.below(pool.len() as u64) as usize])
        .collect()
}

fn lease_update(r: &mut Rng, key: LeaseKey) -> LeaseUpdate {
    LeaseUpdate {
        lease: key,
        valid_lifetime: r.below(u64::from(u32::MAX) + 1),
        binding_status: binding_status(r),
        start_time_of_state: time(r),
        state_expiration_time: opt_time(r),
        clt_time: opt_time(r),
        partner_lifetime: opt_time(r),
        partner_raw_clt_time: opt_time(r),
        expiration_time: opt_time(r),
        dns: match r.below(3) {
            0 => None,
            1 => Some(failover_core::DnsInfo {
                requested: Some(failover_core::Fqdn::new("laptop", "example.com")),
                entered: None,
                flags: failover_core::FLAG_USING_REQUESTED_FQDN,
            }),
            _ => Some(failover_core::DnsInfo {
                requested: Some(failover_core::Fqdn::new("dhcp-7", "example.com")),
                entered: Some(failover_core::Fqdn::new("dhcp-7", "example.com")),
                flags: 0x0007,
            }),
        },
        reserved: match r.below(3) {
            0 => None,
            1 => Some(true),
            _ => Some(false),
        },
    }
}

fn lease_reply(r: &mut Rng, key: LeaseKey) -> LeaseReply {
    LeaseReply {
        lease: key,
        status: (!r.chance(2)).then(|| status(r)),
        binding_status: binding_status(r),
        state_expiration_time: opt_time(r),
        partner_lifetime_sent: opt_time(r),
    }
}

fn connect_params(r: &mut Rng) -> ConnectParams {
    ConnectParams {
        protocol_version: (r.below(3) as u16, r.below(3) as u16),
        mclt: r.below(u64::from(u32::MAX) + 1),
        keepalive_time: r.below(1000),
        max_unacked_bndupd: r.next() as u32,
        relationship_name: r.chance(2).then(|| text(r)),
        connect_flags: r.next() as u16,
    }
}

/// Keys for a binding message: with a client, any mix of addresses and prefixes; without one,
/// prefixes only (the shape that has a wire form).
fn keys(r: &mut Rng, with_client: bool) -> Vec<LeaseKey> {
    let n = r.below(4) as usize + usize::from(with_client);
    (0..n)
        .map(|_| {
            let prefix = !with_client || r.chance(2);
            lease_key(r, prefix)
        })
        .collect()
}

pub(crate) fn message(r: &mut Rng) -> Message {
    let body = match r.below(12) {
        0 => {
            let with_client = !r.chance(3);
            let client = with_client.then(|| ClientId(r.bytes(20)));
            let leases = keys(r, with_client)
                .into_iter()
                .map(|k| lease_update(r, k))
                .collect();
            Body::BndUpd(BndUpd {
                client,
                leases,
                vss: None,
            })
        }
        1 => {
            let with_client = !r.chance(3);
            let client = with_client.then(|| ClientId(r.bytes(20)));
            let leases = keys(r, with_client)
                .into_iter()
                .map(|k| lease_reply(r, k))
                .collect();
            // §7.6: the BNDUPD's OPTION_VSS echoed (in CLIENT_DATA: a bare reply without a
            // prefix has nowhere to carry it).
            let vss = (client.is_some() && r.chance(4)).then(|| vec![0, 0, 0, 0, 7]);
            Body::BndReply(BndReply {
                client,
                status: r.chance(3).then(|| status(r)),
                leases,
                vss,
            })
        }
        2 => Body::PoolReq,
        3 => Body::PoolResp,
        4 => Body::UpdReq,
        5 => Body::UpdReqAll,
        6 => Body::UpdDone,
        7 => Body::Connect(connect_params(r)),
        8 => Body::ConnectReply(if r.chance(2) {
            ConnectReply::Accept(connect_params(r))
        } else {
            ConnectReply::Reject(error_status(r))
        }),
        9 => Body::Disconnect(if r.chance(4) {
            Disconnect {
                status: None,
                message: String::new(),
            }
        } else {
            Disconnect {
                status: Some(status(r)),
                message: text(r),
            }
        }),
        10 => Body::State(StateMsg {
            server_state: ServerState::ALL[r.below(10) as usize],
            flags: ServerFlags {
                ack_startup: r.chance(2),
                startup: r.chance(2),
                communicated: r.chance(2),
            },
            start_time_of_state: time(r),
            partner_down_time: opt_time(r),
        }),
        _ => Body::Contact,
    };
    Message {
        xid: r.below(1 << 24) as u32,
        sent_time: time(r),
        body,
    }
}

#[derive(Clone, Debug)]
struct Arb(Message);

impl Arbitrary for Arb {
    fn arbitrary(g: &mut Gen) -> Self {
        Arb(message(&mut Rng::new(u64::arbitrary(g))))
    }
}

fn round_trips(m: &Message) -> Result<(), String> {
    let w = to_wire(m).map_err(|e| format!("to_wire: {e}\n{m:#?}"))?;
    let back = from_wire(&w).map_err(|e| format!("from_wire: {e}\n{m:#?}\n{w:#?}"))?;
    if &back != m {
        return Err(format!("differs:\n{m:#?}\n{back:#?}\n{w:#?}"));
    }
    // And through the octets: what the codec writes, it reads back as the same message.
    let bytes = w.to_bytes().map_err(|e| format!("encode: {e}"))?;
    let decoded = wire::Message::decode(&bytes).map_err(|e| format!("decode: {e}"))?;
    if from_wire(&decoded).as_ref() != Ok(m) {
        return Err(format!("differs after bytes:\n{m:#?}"));
    }
    Ok(())
}

#[test]
fn core_to_wire_to_core_is_the_identity_quickcheck() {
    fn prop(a: Arb) -> bool {
        match round_trips(&a.0) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("{e}");
                false
            }
        }
    }
    QuickCheck::new()
        .tests(2000)
        .quickcheck(prop as fn(Arb) -> bool);
}

#[test]
fn core_to_wire_to_core_is_the_identity_for_4000_seeded_messages() {
    let mut kinds = [0usize; 12];
    for seed in 0..4000 {
        let m = message(&mut Rng::new(seed));
        kinds[(m.kind().code() - 24) as usize] += 1;
        if let Err(e) = round_trips(&m) {
            panic!("seed {seed}: {e}");
        }
    }
    assert!(
        kinds.iter().all(|&n| n > 200),
        "every message kind covered: {kinds:?}"
    );
}

#[test]
fn a_stream_of_messages_survives_framing_and_partial_reads() {
    for seed in 0..50 {
        let mut r = Rng::new(seed);
        let msgs: Vec<Message> = (0..20).map(|_| message(&mut r)).collect();
        let mut stream = Vec::new();
        for m in &msgs {
            to_wire(m).unwrap().encode_framed(&mut stream).unwrap();
        }
        let mut dec = FrameDecoder::new();
        let mut got = Vec::new();
        let mut at = 0;
        while at < stream.len() {
            let n = (r.below(40) as usize + 1).min(stream.len() - at);
            dec.push(&stream[at..at + n]);
            at += n;
            while let Some(w) = dec.next_message().unwrap() {
                got.push(from_wire(&w).unwrap());
            }
        }
        assert_eq!(got, msgs, "seed {seed}");
    }
}

// ---- the RFC layout -----------------------------------------------------------------------

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

#[test]
fn bndupd_written_from_the_rfc_layout_maps_to_absolute_core_times() {
    // The BNDUPD fixture of failover-proto (tests/wire/fixtures.rs), written by hand from RFC
    // 8156 §7.4: OPTION_CLT_TIME 16 is relative to OPTION_LQ_BASE_TIME 0x32a00100.
    let bytes = hex(concat!(
        "18 000010 32a00100",
        "002d 0073",
        "0001 000e 0001 0001 2c3d4e5f 0a1b2c3d4e5f",
        "0064 0004 32a00100",
        "0003 0055 00000001 00000708 00000b40",
        "0005 0045 20010db8000000000000000000000101 00000bb8 00000e10",
        "0072 0001 01",
        "0085 0004 32a000f0",
        "0086 0004 32a00f00",
        "002e 0004 00000010",
        "007b 0004 32a01d10",
        "0078 0004 32a00e10",
    ));
    let m = from_wire(&wire::Message::decode(&bytes).unwrap()).unwrap();
    let lease = LeaseKey::Addr("2001:db8::101".parse().unwrap());
    assert_eq!(
        m,
        Message {
            xid: 0x10,
            sent_time: Time(0x32a0_0100),
            body: Body::BndUpd(BndUpd {
                client: Some(ClientId(hex("0001 0001 2c3d4e5f 0a1b2c3d4e5f"))),
                leases: vec![LeaseUpdate {
                    lease,
                    valid_lifetime: 3600,
                    binding_status: BindingStatus::Active,
                    start_time_of_state: Time(0x32a0_00f0),
                    state_expiration_time: Some(Time(0x32a0_0f00)),
                    clt_time: Some(Time(0x32a0_0100 - 16)),
                    partner_lifetime: Some(Time(0x32a0_1d10)),
                    partner_raw_clt_time: None,
                    expiration_time: Some(Time(0x32a0_0e10)),
                    dns: None,
                    reserved: None,
                }],
                vss: None,
            }),
        }
    );
}

#[test]
fn a_clt_later_than_sent_time_raises_lq_base_time_and_stays_exact() {
    // §7.5.5 e.: a CLT adopted from a partner whose clock runs 3 s ahead of ours.
    let sent = Time(1_000);
    let u = LeaseUpdate {
        lease: LeaseKey::Addr(Ipv6Addr::LOCALHOST),
        valid_lifetime: 60,
        binding_status: BindingStatus::Active,
        start_time_of_state: Time(990),
        state_expiration_time: Some(Time(1_060)),
        clt_time: Some(Time(1_003)),
        partner_lifetime: None,
        partner_raw_clt_time: None,
        expiration_time: None,
        dns: None,
        reserved: None,
    };
    let m = Message {
        xid: 1,
        sent_time: sent,
        body: Body::BndUpd(BndUpd {
            client: Some(ClientId(vec![1])),
            leases: vec![u],
            vss: None,
        }),
    };
    let w = to_wire(&m).unwrap();
    let O::ClientData(cd) = &w.options[0] else {
        panic!("{w:?}")
    };
    assert!(cd.contains(&O::LqBaseTime(1_003)), "{cd:?}");
    assert_eq!(from_wire(&w), Ok(m));
}

// ---- one test per typed error -----------------------------------------------------------------

fn msg(body: Body) -> Message {
    Message {
        xid: 7,
        sent_time: Time(1_000),
        body,
    }
}

#[test]
fn to_wire_errors_name_the_field() {
    let big = Time(u64::from(u32::MAX) + 1);
    let mut m = msg(Body::Contact);
    m.sent_time = big;
    assert_eq!(
        to_wire(&m),
        Err(ToWireError::TooLarge {
            field: "sent-time",
            value: big.secs()
        })
    );
    m = msg(Body::Contact);
    m.xid = 1 << 24;
    assert_eq!(
        to_wire(&m),
        Err(ToWireError::TransactionIdTooLarge { xid: 1 << 24 })
    );
    let params = ConnectParams {
        protocol_version: (1, 0),
        mclt: 1 << 33,
        keepalive_time: 60,
        max_unacked_bndupd: 10,
        relationship_name: None,
        connect_flags: 0,
    };
    let e = to_wire(&msg(Body::Connect(params))).unwrap_err();
    assert_eq!(
        e,
        ToWireError::TooLarge {
            field: "OPTION_F_MCLT",
            value: 1 << 33
        }
    );
    assert!(e.to_string().starts_with("OPTION_F_MCLT"), "{e}");
    let addr = LeaseKey::Addr(Ipv6Addr::LOCALHOST);
    let reply = LeaseReply {
        lease: addr,
        status: None,
        binding_status: BindingStatus::Free,
        state_expiration_time: None,
        partner_lifetime_sent: None,
    };
    assert_eq!(
        to_wire(&msg(Body::BndReply(BndReply {
            client: None,
            status: None,
            leases: vec![reply],
            vss: None,
        }))),
        Err(ToWireError::AddressWithoutClientData {
            msg: MsgKind::BndReply,
            lease: addr
        })
    );
    let mut u = LeaseUpdate {
        lease: addr,
        valid_lifetime: 0,
        binding_status: BindingStatus::Free,
        start_time_of_state: Time(1),
        state_expiration_time: Some(big),
        clt_time: None,
        partner_lifetime: None,
        partner_raw_clt_time: None,
        expiration_time: None,
        dns: None,
        reserved: None,
    };
    assert_eq!(
        to_wire(&msg(Body::BndUpd(BndUpd {
            client: None,
            leases: vec![u.clone()],
            vss: None,
        }))),
        Err(ToWireError::AddressWithoutClientData {
            msg: MsgKind::BndUpd,
            lease: addr
        })
    );
    assert_eq!(
        to_wire(&msg(Body::BndUpd(BndUpd {
            client: Some(ClientId(vec![1])),
            leases: vec![u.clone()],
            vss: None,
        }))),
        Err(ToWireError::TooLarge {
            field: "OPTION_F_STATE_EXPIRATION_TIME",
            value: big.secs()
        })
    );
    u.state_expiration_time = None;
    u.lease = LeaseKey::Prefix(Ipv6Addr::LOCALHOST, 129);
    assert_eq!(
        to_wire(&msg(Body::BndUpd(BndUpd {
            client: None,
            leases: vec![u],
            vss: None,
        }))),
        Err(ToWireError::PrefixLengthTooLarge {
            lease: LeaseKey::Prefix(Ipv6Addr::LOCALHOST, 129)
        })
    );
    assert_eq!(
        to_wire(&msg(Body::Disconnect(Disconnect {
            status: None,
            message: "why".into()
        }))),
        Err(ToWireError::DisconnectTextWithoutStatus)
    );
    assert_eq!(
        to_wire(&msg(Body::ConnectReply(ConnectReply::Reject(
            StatusCode::Success
        )))),
        Err(ToWireError::RejectWithSuccess)
    );
}

fn iaaddr(options: Vec<O>) -> O {
    O::IaAddr(IaAddr {
        addr: Ipv6Addr::LOCALHOST,
        preferred_lifetime: 0,
        valid_lifetime: 0,
        options,
    })
}

fn client_data(options: Vec<O>) -> O {
    O::ClientData(options)
}

fn ia_na(options: Vec<O>) -> O {
    O::IaNa(IaNa {
        iaid: 1,
        t1: 0,
        t2: 0,
        options,
    })
}

fn wire_msg(kind: MsgKind, options: Vec<O>) -> wire::Message {
    let mut w = wire::Message::new(kind, 9, 1_000);
    w.options = options;
    w
}

#[test]
fn from_wire_errors_name_the_message_and_option() {
    assert_eq!(
        from_wire(&wire::Message {
            msg_type: wire::MsgType(99),
            transaction_id: 1,
            sent_time: 0,
            options: vec![]
        }),
        Err(FromWireError::UnknownMsgType { msg_type: 99 })
    );
    // §7.4: OPTION_F_BINDING_STATUS "MUST appear".
    let no_status = wire_msg(
        MsgKind::BndUpd,
        vec![client_data(vec![
            O::ClientId(vec![1]),
            ia_na(vec![iaaddr(vec![O::StartTimeOfState(5)])]),
        ])],
    );
    let e = from_wire(&no_status).unwrap_err();
    assert_eq!(
        e,
        FromWireError::MissingOption {
            msg: MsgKind::BndUpd,
            option: "OPTION_F_BINDING_STATUS",
            within: "OPTION_IAADDR"
        }
    );
    assert_eq!(
        e.to_string(),
        "BNDUPD: OPTION_F_BINDING_STATUS missing in OPTION_IAADDR"
    );
    let no_client = wire_msg(MsgKind::BndUpd, vec![client_data(vec![])]);
    assert!(matches!(
        from_wire(&no_client),
        Err(FromWireError::MissingOption {
            option: "OPTION_CLIENTID",
            ..
        })
    ));
    // §7.5.3: a single OPTION_CLIENT_DATA or a single OPTION_IAPREFIX.
    let two = wire_msg(
        MsgKind::BndUpd,
        vec![client_data(vec![]), client_data(vec![])],
    );
    assert_eq!(
        from_wire(&two),
        Err(FromWireError::Shape {
            msg: MsgKind::BndUpd,
            client_data: 2,
            bare_prefixes: 0
        })
    );
    // CLT_TIME relative to a base time it exceeds.
    let clt = wire_msg(
        MsgKind::BndUpd,
        vec![client_data(vec![
            O::ClientId(vec![1]),
            O::LqBaseTime(10),
            ia_na(vec![iaaddr(vec![
                O::BindingStatus(BindingStatus::Active),
                O::StartTimeOfState(5),
                O::CltTime(11),
            ])]),
        ])],
    );
    assert_eq!(
        from_wire(&clt),
        Err(FromWireError::CltTimeBeforeEpoch {
            msg: MsgKind::BndUpd,
            clt_time: 11,
            lq_base_time: 10
        })
    );
    // A status code the core does not know, in a reply.
    let unknown_status = wire_msg(
        MsgKind::BndReply,
        vec![client_data(vec![
            O::ClientId(vec![1]),
            ia_na(vec![iaaddr(vec![
                O::status(wire::StatusCode(99), ""),
                O::BindingStatus(BindingStatus::Active),
            ])]),
        ])],
    );
    assert_eq!(
        from_wire(&unknown_status),
        Err(FromWireError::UnknownStatusCode {
            msg: MsgKind::BndReply,
            within: "OPTION_IAADDR",
            code: 99
        })
    );
    // OPTION_VSS: a binding in a VPN we do not support reaches the endpoint with its VSS, which
    // rejects it with ConfigurationConflict (RFC 8156 §7.5.4; test
    // `bndupd_naming_an_unknown_vpn_is_rejected_configuration_conflict_section_7_5_4`).
    let vss = wire_msg(
        MsgKind::BndUpd,
        vec![O::IaPrefix(IaPrefix {
            preferred_lifetime: 0,
            valid_lifetime: 0,
            prefix_len: 64,
            prefix: Ipv6Addr::UNSPECIFIED,
            options: vec![
                O::Vss(wire::Vss {
                    vss_type: 0,
                    info: b"vpn".to_vec(),
                }),
                O::BindingStatus(BindingStatus::Free),
                O::StartTimeOfState(1),
            ],
        })],
    );
    match from_wire(&vss) {
        Ok(Message {
            body: Body::BndUpd(u),
            ..
        }) => assert_eq!(u.vss, Some(b"\0vpn".to_vec())),
        other => panic!("{other:?}"),
    }
    // §6.1.1: CONNECT MUST carry the MCLT.
    let connect = wire_msg(
        MsgKind::Connect,
        vec![O::ProtocolVersion(wire::ProtocolVersion::RFC8156)],
    );
    assert_eq!(
        from_wire(&connect),
        Err(FromWireError::MissingOption {
            msg: MsgKind::Connect,
            option: "OPTION_F_MCLT",
            within: "message"
        })
    );
    let state = wire_msg(MsgKind::State, vec![O::ServerState(ServerState::Normal)]);
    assert!(matches!(
        from_wire(&state),
        Err(FromWireError::MissingOption {
            option: "OPTION_F_SERVER_FLAGS",
            ..
        })
    ));
}

#[test]
fn status_inside_an_ia_rejects_each_of_its_leases() {
    // RFC 8156 §7.7: "An enclosed OPTION_IA_NA ... may also contain an OPTION_STATUS_CODE
    // containing an error that indicates that everything in the containing option has been
    // rejected."
    let w = wire_msg(
        MsgKind::BndReply,
        vec![client_data(vec![
            O::ClientId(vec![1]),
            ia_na(vec![
                O::status(wire::StatusCode::OUTDATED_BINDING_INFORMATION, "older"),
                iaaddr(vec![O::BindingStatus(BindingStatus::Active)]),
            ]),
        ])],
    );
    let Ok(Message {
        body: Body::BndReply(r),
        ..
    }) = from_wire(&w)
    else {
        panic!()
    };
    assert_eq!(r.status, None);
    assert_eq!(
        r.leases[0].status,
        Some(StatusCode::OutdatedBindingInformation)
    );
}

#[test]
fn unknown_options_and_mbz_flags_are_ignored() {
    let w = wire_msg(
        MsgKind::State,
        vec![
            O::Unknown {
                code: 999,
                data: vec![1, 2],
            },
            O::ServerState(ServerState::PartnerDown),
            O::ServerFlags(wire::ServerFlags(0xF8 | wire::ServerFlags::COMMUNICATED)),
            O::StartTimeOfState(77),
        ],
    );
    assert_eq!(
        from_wire(&w).unwrap().body,
        Body::State(StateMsg {
            server_state: ServerState::PartnerDown,
            flags: ServerFlags {
                ack_startup: false,
                startup: false,
                communicated: true
            },
            start_time_of_state: Time(77),
            partner_down_time: None,
        })
    );
}

/// RFC 8156 §7.6: a BNDREPLY holds "OPTION_VSS from the BNDUPD message, if any": in the
/// CLIENT_DATA's client-options, or in a bare OPTION_IAPREFIX's IAprefix-options; and a
/// partner's reply carrying one is read, not refused.
#[test]
fn bndreply_echoes_the_vss_in_client_data_and_in_a_bare_iaprefix_section_7_6() {
    let vss = b"\0vpn".to_vec();
    let wire_vss = O::Vss(wire::Vss {
        vss_type: 0,
        info: b"vpn".to_vec(),
    });
    let reply = |lease| LeaseReply {
        lease,
        status: Some(StatusCode::ConfigurationConflict),
        binding_status: BindingStatus::Free,
        state_expiration_time: None,
        partner_lifetime_sent: None,
    };
    let prefix = LeaseKey::Prefix(Ipv6Addr::UNSPECIFIED, 64);
    for (client, lease) in [
        (
            Some(ClientId(vec![0, 3, 0, 1, 2])),
            LeaseKey::Addr(Ipv6Addr::LOCALHOST),
        ),
        (None, prefix),
    ] {
        let m = msg(Body::BndReply(BndReply {
            client: client.clone(),
            status: None,
            leases: vec![reply(lease)],
            vss: Some(vss.clone()),
        }));
        let w = to_wire(&m).expect("encodes");
        let holder = match (&w.options[0], client.is_some()) {
            (O::ClientData(cd), true) => cd.clone(),
            (O::IaPrefix(p), false) => p.options.clone(),
            (o, _) => panic!("{o:?}"),
        };
        assert!(holder.contains(&wire_vss), "{holder:?}");
        match from_wire(&w) {
            Ok(Message {
                body: Body::BndReply(r),
                ..
            }) => assert_eq!(r.vss, Some(vss.clone())),
            other => panic!("{other:?}"),
        }
    }
}
