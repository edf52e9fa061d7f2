//! One hand-written fixture per RFC 8156 message type (§5.3.1-§5.3.12), written octet by octet
//! from the layouts of §5.2 and §5.5 and the option RFCs, *not* produced by the encoder. Each is
//! checked both ways: decoding gives the expected typed value, and encoding that value gives the
//! fixture's octets; the framed form (RFC 5460 §5.1) is checked through `FrameDecoder`.
//!
//! Times are absolute seconds since 2000-01-01T00:00:00Z: 0x32a00000 = 849_346_560 s, i.e. late
//! November 2026. Lengths in the comments are decimal.

use std::net::Ipv6Addr;

use failover_proto::wire::{
    ext, ConnectFlags, DhcpOption as O, FrameDecoder, IaAddr, IaNa, IaPrefix, Message, MsgType,
    ProtocolVersion, ServerFlags, StatusCode,
};
use failover_proto::{BindingStatus, MsgKind, ServerState};

use super::hex;

/// Decode `wire`, compare with `expected`, re-encode, compare with `wire`; then the same through
/// the frame layer.
fn check(wire: &str, expected: &Message) {
    let bytes = hex(wire);
    let decoded =
        Message::decode(&bytes).unwrap_or_else(|e| panic!("fixture does not decode: {e}"));
    assert_eq!(&decoded, expected, "decoded value");
    assert_eq!(expected.to_bytes().unwrap(), bytes, "encoded octets");

    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    let mut dec = FrameDecoder::new();
    dec.push(&framed[..framed.len() - 1]);
    assert_eq!(dec.next_message(), Ok(None), "one octet short is need-more");
    dec.push(&framed[framed.len() - 1..]);
    assert_eq!(dec.next_message().unwrap().as_ref(), Some(expected));
    let mut out = Vec::new();
    expected.encode_framed(&mut out).unwrap();
    assert_eq!(out, framed, "framed octets");
}

/// DUID-LLT (RFC 3315 §9.2): type 1, hardware type 1 (Ethernet), time, MAC 0a:1b:2c:3d:4e:5f.
fn duid() -> Vec<u8> {
    hex("0001 0001 2c3d4e5f 0a1b2c3d4e5f")
}

fn addr() -> Ipv6Addr {
    // Bit 127 is 1: a primary-owned address under independent allocation (§4.2.1.1).
    "2001:db8::101".parse().unwrap()
}

#[test]
fn bndupd_client_data_with_ia_na() {
    // §5.3.1, §7.4: one client binding, the lease ACTIVE.
    let wire = concat!(
        "18 000010 32a00100", //     msg-type 24 BNDUPD, transaction-id 0x10, sent-time
        "002d 0073",          //     OPTION_CLIENT_DATA (45), len 115
        "0001 000e",          //       OPTION_CLIENTID (1), len 14
        "0001 0001 2c3d4e5f 0a1b2c3d4e5f", // DUID-LLT
        "0064 0004 32a00100", //       OPTION_LQ_BASE_TIME (100), len 4, absolute
        "0003 0055",          //       OPTION_IA_NA (3), len 85
        "00000001",           //         IAID 1
        "00000708",           //         T1 1800
        "00000b40",           //         T2 2880
        "0005 0045",          //         OPTION_IAADDR (5), len 69
        "20010db8000000000000000000000101", // 2001:db8::101
        "00000bb8",           //           preferred-lifetime 3000
        "00000e10",           //           valid-lifetime 3600
        "0072 0001 01",       //           OPTION_F_BINDING_STATUS (114), ACTIVE
        "0085 0004 32a000f0", //           OPTION_F_START_TIME_OF_STATE (133)
        "0086 0004 32a00f00", //           OPTION_F_STATE_EXPIRATION_TIME (134), start + 3600
        "002e 0004 00000010", //           OPTION_CLT_TIME (46), 16 s before base time
        "007b 0004 32a01d10", //           OPTION_F_PARTNER_LIFETIME (123), start + 7200
        "0078 0004 32a00e10", //           OPTION_F_EXPIRATION_TIME (120)
    );
    let expected = Message::new(MsgKind::BndUpd, 0x10, 0x32a0_0100).with(O::ClientData(vec![
        O::ClientId(duid()),
        O::LqBaseTime(0x32a0_0100),
        O::IaNa(IaNa {
            iaid: 1,
            t1: 1800,
            t2: 2880,
            options: vec![O::IaAddr(IaAddr {
                addr: addr(),
                preferred_lifetime: 3000,
                valid_lifetime: 3600,
                options: vec![
                    O::BindingStatus(BindingStatus::Active),
                    O::StartTimeOfState(0x32a0_00f0),
                    O::StateExpirationTime(0x32a0_0f00),
                    O::CltTime(16),
                    O::PartnerLifetime(0x32a0_1d10),
                    O::ExpirationTime(0x32a0_0e10),
                ],
            })],
        }),
    ]));
    check(wire, &expected);
}

#[test]
fn bndupd_bare_iaprefix_free_backup() {
    // §4.2.2, §7.4: the primary hands an unallocated delegable prefix to the secondary.
    let wire = concat!(
        "18 000011 32a00200",               //   BNDUPD, transaction-id 0x11
        "001a 002e",                        //   OPTION_IAPREFIX (26), len 46
        "00000000",                         //     preferred-lifetime 0 (not delegated)
        "00000000",                         //     valid-lifetime 0
        "38",                               //     prefix-length 56
        "20010db8000001000000000000000000", // 2001:db8:0:100::
        "0064 0004 32a00200",               //     OPTION_LQ_BASE_TIME (100)
        "0072 0001 06",                     //     OPTION_F_BINDING_STATUS (114), FREE-BACKUP
        "0085 0004 32a00200",               //     OPTION_F_START_TIME_OF_STATE (133)
    );
    let expected = Message::new(MsgKind::BndUpd, 0x11, 0x32a0_0200).with(O::IaPrefix(IaPrefix {
        preferred_lifetime: 0,
        valid_lifetime: 0,
        prefix_len: 56,
        prefix: "2001:db8:0:100::".parse().unwrap(),
        options: vec![
            O::LqBaseTime(0x32a0_0200),
            O::BindingStatus(BindingStatus::FreeBackup),
            O::StartTimeOfState(0x32a0_0200),
        ],
    }));
    check(wire, &expected);
}

#[test]
fn bndreply_rejecting_one_address() {
    // §5.3.2, §7.6 case 2: the reply echoes the binding; the IAADDR carries the rejection.
    let wire = concat!(
        "19 000010 32a00101", //     msg-type 25 BNDREPLY, transaction-id copied from the BNDUPD
        "002d 0069",          //     OPTION_CLIENT_DATA (45), len 105
        "0001 000e",          //       OPTION_CLIENTID (1), len 14
        "0001 0001 2c3d4e5f 0a1b2c3d4e5f",
        "0003 0053",                  //       OPTION_IA_NA (3), len 83
        "00000001 00000708 00000b40", // IAID 1, T1 1800, T2 2880
        "0005 0043",                  //         OPTION_IAADDR (5), len 67
        "20010db8000000000000000000000101",
        "00000bb8 00000e10",                //           lifetimes 3000, 3600
        "000d 0012",                        //           OPTION_STATUS_CODE (13), len 18
        "0013",                             //             OutdatedBindingInformation (19)
        "6e65776572206c6f63616c2064617461", // "newer local data"
        "0072 0001 01", //           OPTION_F_BINDING_STATUS, ACTIVE (as received)
        "0086 0004 32a00f00", //           OPTION_F_STATE_EXPIRATION_TIME (as received)
        "007c 0004 32a01d10", //           OPTION_F_PARTNER_LIFETIME_SENT (124), exact echo
    );
    let expected = Message::new(MsgKind::BndReply, 0x10, 0x32a0_0101).with(O::ClientData(vec![
        O::ClientId(duid()),
        O::IaNa(IaNa {
            iaid: 1,
            t1: 1800,
            t2: 2880,
            options: vec![O::IaAddr(IaAddr {
                addr: addr(),
                preferred_lifetime: 3000,
                valid_lifetime: 3600,
                options: vec![
                    O::status(StatusCode::OUTDATED_BINDING_INFORMATION, "newer local data"),
                    O::BindingStatus(BindingStatus::Active),
                    O::StateExpirationTime(0x32a0_0f00),
                    O::PartnerLifetimeSent(0x32a0_1d10),
                ],
            })],
        }),
    ]));
    check(wire, &expected);
}

#[test]
fn poolreq_and_poolresp_are_bare_headers() {
    // §5.3.3 / §5.3.4: no options; the response copies the transaction-id (§5.4).
    check(
        "1a 000005 32a00300",
        &Message::new(MsgKind::PoolReq, 5, 0x32a0_0300),
    );
    check(
        "1b 000005 32a00301",
        &Message::new(MsgKind::PoolResp, 5, 0x32a0_0301),
    );
}

#[test]
fn updreq_updreqall_upddone() {
    // §5.3.5-§5.3.7; UPDDONE answers the UPDREQ with its transaction-id.
    check(
        "1c 000006 32a00400",
        &Message::new(MsgKind::UpdReq, 6, 0x32a0_0400),
    );
    check(
        "1d 000007 32a00401",
        &Message::new(MsgKind::UpdReqAll, 7, 0x32a0_0401),
    );
    check(
        "1e 000006 32a00480",
        &Message::new(MsgKind::UpdDone, 6, 0x32a0_0480),
    );
}

#[test]
fn connect_carries_the_configuration() {
    // §5.3.8, §6.1.1: the six options a CONNECT MUST carry.
    let wire = concat!(
        "1f 000001 32a00000",             // msg-type 31 CONNECT, transaction-id 1
        "007f 0004 0001 0000",            // OPTION_F_PROTOCOL_VERSION (127), 1.0
        "007a 0004 00000e10",             // OPTION_F_MCLT (122), 3600 s
        "0080 0004 0000003c",             // OPTION_F_KEEPALIVE_TIME (128), 60 s
        "0079 0004 0000000a",             // OPTION_F_MAX_UNACKED_BNDUPD (121), 10
        "0082 000f",                      // OPTION_F_RELATIONSHIP_NAME (130), len 15
        "646863702d6661696c6f7665722d31", // "dhcp-failover-1", no NUL
        "0073 0002 0001",                 // OPTION_F_CONNECT_FLAGS (115), FIXED_PD_LENGTH
    );
    let expected = Message::new(MsgKind::Connect, 1, 0x32a0_0000)
        .with(O::ProtocolVersion(ProtocolVersion { major: 1, minor: 0 }))
        .with(O::Mclt(3600))
        .with(O::KeepaliveTime(60))
        .with(O::MaxUnackedBndupd(10))
        .with(O::RelationshipName("dhcp-failover-1".into()))
        .with(O::ConnectFlags(ConnectFlags(ConnectFlags::FIXED_PD_LENGTH)));
    check(wire, &expected);
}

#[test]
fn connectreply_accepting() {
    // §5.3.9, §6.1.2: same MCLT as the CONNECT, the secondary's own limits.
    let wire = concat!(
        "20 000001 32a00001",  // msg-type 32 CONNECTREPLY, transaction-id copied
        "007f 0004 0001 0000", // OPTION_F_PROTOCOL_VERSION 1.0
        "007a 0004 00000e10",  // OPTION_F_MCLT 3600
        "0080 0004 0000003c",  // OPTION_F_KEEPALIVE_TIME 60
        "0079 0004 00000014",  // OPTION_F_MAX_UNACKED_BNDUPD 20
        "0073 0002 0001",      // OPTION_F_CONNECT_FLAGS FIXED_PD_LENGTH
    );
    let expected = Message::new(MsgKind::ConnectReply, 1, 0x32a0_0001)
        .with(O::ProtocolVersion(ProtocolVersion::RFC8156))
        .with(O::Mclt(3600))
        .with(O::KeepaliveTime(60))
        .with(O::MaxUnackedBndupd(20))
        .with(O::ConnectFlags(ConnectFlags(1)));
    check(wire, &expected);
}

#[test]
fn disconnect_with_server_shutting_down() {
    // §5.3.10: SHOULD carry a status code and say why.
    let wire = concat!(
        "21 000004 32a00500",                 // msg-type 33 DISCONNECT
        "000d 0013",                          // OPTION_STATUS_CODE (13), len 19
        "0014",                               //   ServerShuttingDown (20)
        "6f70657261746f722073687574646f776e", // "operator shutdown"
    );
    let expected = Message::new(MsgKind::Disconnect, 4, 0x32a0_0500).with(O::status(
        StatusCode::SERVER_SHUTTING_DOWN,
        "operator shutdown",
    ));
    check(wire, &expected);
}

#[test]
fn state_normal() {
    // §5.3.11, §6.3: SERVER_STATE, SERVER_FLAGS, START_TIME_OF_STATE.
    let wire = concat!(
        "22 000002 32a00002", // msg-type 34 STATE
        "0084 0001 02",       // OPTION_F_SERVER_STATE (132), NORMAL
        "0083 0001 01",       // OPTION_F_SERVER_FLAGS (131), C (COMMUNICATED)
        "0085 0004 329ff000", // OPTION_F_START_TIME_OF_STATE (133)
    );
    let expected = Message::new(MsgKind::State, 2, 0x32a0_0002)
        .with(O::ServerState(ServerState::Normal))
        .with(O::ServerFlags(ServerFlags(ServerFlags::COMMUNICATED)))
        .with(O::StartTimeOfState(0x329f_f000));
    check(wire, &expected);
}

#[test]
fn state_startup_reporting_partner_down() {
    // §8.3.1: in STARTUP the previous state is sent with the S flag; PARTNER_DOWN_TIME since the
    // (previous) state is PARTNER-DOWN (§6.3).
    let wire = concat!(
        "22 000003 32a00003",
        "0084 0001 04",       // OPTION_F_SERVER_STATE, PARTNER-DOWN
        "0083 0001 03",       // OPTION_F_SERVER_FLAGS, S|C
        "0085 0004 329f0000", // OPTION_F_START_TIME_OF_STATE
        "007d 0004 329eff00", // OPTION_F_PARTNER_DOWN_TIME (125)
    );
    let expected = Message::new(MsgKind::State, 3, 0x32a0_0003)
        .with(O::ServerState(ServerState::PartnerDown))
        .with(O::ServerFlags(ServerFlags(
            ServerFlags::STARTUP | ServerFlags::COMMUNICATED,
        )))
        .with(O::StartTimeOfState(0x329f_0000))
        .with(O::PartnerDownTime(0x329e_ff00));
    check(wire, &expected);
}

#[test]
fn contact_is_a_bare_header() {
    // §5.3.12: keepalive.
    let expected = Message::new(MsgKind::Contact, 3, 0x32a0_000a);
    check("23 000003 32a0000a", &expected);
    assert_eq!(expected.msg_type, MsgType::CONTACT);
}

#[test]
fn all_twelve_types_are_covered() {
    // The fixtures above use each of these msg-type octets.
    let covered = [
        0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23,
    ];
    let all: Vec<u8> = MsgKind::ALL.iter().map(|k| k.code()).collect();
    assert_eq!(covered.to_vec(), all);
}

#[test]
fn bndupd_reserved_free_backup_with_the_vendor_extension_and_dns_removal_info() {
    // Design draft §12: the primary sends a free reserved lease as FREE-BACKUP flagged reserved.
    // The flag is this project's extension (failover_proto::wire::ext): OPTION_VENDOR_OPTS with
    // the documentation enterprise number 32473 (RFC 5612), sub-option 1 = 1. Alongside, the
    // §5.5.3 DNS_REMOVAL_INFO of the binding's last name, as §9.2 exchanges it.
    let wire = concat!(
        "18 000012 32a00300",                   //   BNDUPD, transaction-id 0x12
        "001a 0062",                            //   OPTION_IAPREFIX (26), len 98
        "00000000",                             //     preferred-lifetime 0
        "00000000",                             //     valid-lifetime 0
        "40",                                   //     prefix-length 64
        "20010db8000002000000000000000000",     // 2001:db8:0:200::
        "0064 0004 32a00300",                   //     OPTION_LQ_BASE_TIME (100)
        "0072 0001 06",                         //     OPTION_F_BINDING_STATUS (114), FREE-BACKUP
        "0085 0004 32a00300",                   //     OPTION_F_START_TIME_OF_STATE (133)
        "0011 0009",                            //     OPTION_VENDOR_OPTS (17), len 9
        "00007ed9",                             //       enterprise-number 32473
        "0001 0001 01",                         //       sub-option 1 RESERVED, len 1, reserved
        "0074 0023",                            //     OPTION_F_DNS_REMOVAL_INFO (116), len 35
        "0075 0008 06726f7574657200",           //       OPTION_F_DNS_HOST_NAME (117) "router."
        "0076 000d 076578616d706c6503636f6d00", //   OPTION_F_DNS_ZONE_NAME (118) "example.com."
        "0077 0002 0005", //       OPTION_F_DNS_FLAGS (119): S (0x4) and F (0x1)
    );
    let vendor = O::Unknown {
        code: 17,
        data: hex("00007ed9 0001 0001 01"),
    };
    let expected = Message::new(MsgKind::BndUpd, 0x12, 0x32a0_0300).with(O::IaPrefix(IaPrefix {
        preferred_lifetime: 0,
        valid_lifetime: 0,
        prefix_len: 64,
        prefix: "2001:db8:0:200::".parse().unwrap(),
        options: vec![
            O::LqBaseTime(0x32a0_0300),
            O::BindingStatus(BindingStatus::FreeBackup),
            O::StartTimeOfState(0x32a0_0300),
            vendor.clone(),
            O::DnsRemovalInfo(vec![
                O::DnsHostName(hex("06726f7574657200")),
                O::DnsZoneName(hex("076578616d706c6503636f6d00")),
                O::DnsFlags(failover_proto::wire::DnsFlags(0x0005)),
            ]),
        ],
    }));
    check(wire, &expected);
    assert_eq!(ext::reserved_flag(&vendor), Some(true));
    assert_eq!(ext::reserved_option(true), vendor);
    assert_eq!(
        ext::decode_dns_name(&hex("076578616d706c6503636f6d00")).as_deref(),
        Some("example.com")
    );
}
