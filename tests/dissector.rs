//! The Wireshark dissector `tools/wireshark/rfc8156.lua` against the project's codec (issue 18).
//!
//! Captures are made by the project itself: the octets of an in-process pair (impl/node's `sim`,
//! real nodes, real codec) from a fresh start to NORMAL, a client allocation, a partition and its
//! healing and a shutdown, which puts all twelve messages of RFC 8156 §5.3 on the wire; and a set
//! of messages built with failover-proto that carries every option of §5.5 and §7.4, every
//! binding-status, server-state and failover status code. Each capture is written twice, with
//! several frames per TCP segment and with frames split over segments (reassembly, RFC 5460
//! §5.1). Debian's `tshark` decodes them with the dissector (`-T pdml`) and every decoded message
//! is compared, field by field, with what failover-proto says the same octets are; a deliberately
//! broken copy of the dissector must fail that comparison.
//!
//! Malformed and truncated captures must give the dissector's expert warnings and never a Lua
//! error.
//!
//! tshark must be installed (`.ci/run` installs it); without it these tests fail naming it, unless
//! `FAILOVER_SKIP_TSHARK=1` is set, which makes them skip with a message.

use std::collections::BTreeSet;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use failover_conformance::capture::{
    self, read_capture, write_capture, Segmenting, WireEvent, WireRecord, WriteOptions,
    EPOCH_2000_UNIX, FAILOVER_PORT,
};
use failover_core::{ClientOp, Config, LeaseKind, Role, ServerState, Time};
use failover_node::sim::{Pair, WireOp};
use failover_proto::wire::{
    ClientFqdn, ConnectFlags, DhcpOption, DnsFlags, FrameDecoder, IaAddr, IaNa, IaPd, IaPrefix,
    IaTa, LqRelayData, Message, ProtocolVersion, ReconfigureData, ServerFlags, StatusCode, Vss,
};
use failover_proto::{BindingStatus, MsgKind};

const LUA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/wireshark/rfc8156.lua");

// ---------------------------------------------------------------------------------------------
// tshark
// ---------------------------------------------------------------------------------------------

/// The tshark binary, or `None` when `FAILOVER_SKIP_TSHARK=1` and it is missing (the caller
/// skips). Missing without the opt-out is a failure that names the package.
fn tshark() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("tshark"))
            .find(|p| p.is_file())
    });
    match found {
        Some(p) => Some(p),
        None if std::env::var("FAILOVER_SKIP_TSHARK").as_deref() == Ok("1") => {
            eprintln!("SKIPPED: tshark is not installed and FAILOVER_SKIP_TSHARK=1");
            None
        }
        None => panic!(
            "tshark is not installed: `apt-get install --no-install-recommends tshark` (Debian), \
             as .ci/run does; or set FAILOVER_SKIP_TSHARK=1 to skip the dissector tests"
        ),
    }
}

/// Run tshark with the dissector `lua` on `capture`; returns (stdout, stderr).
fn run_tshark(tshark: &Path, lua: &Path, capture: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(tshark)
        .arg("-n")
        .arg("-r")
        .arg(capture)
        .arg("-X")
        .arg(format!("lua_script:{}", lua.display()))
        .args(args)
        // A personal configuration must not change what is decoded.
        .env("WIRESHARK_CONFIG_DIR", std::env::temp_dir().join("failover-tshark-empty-config"))
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("run tshark");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// ---------------------------------------------------------------------------------------------
// Captures made by the project
// ---------------------------------------------------------------------------------------------

const T0: Time = Time(800_000_000);

fn addr(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n)
}

fn config(role: Role) -> Config {
    let mut c = Config::new(role);
    c.mclt = 60;
    c.desired_lifetime = 300;
    c.addresses = (1..=8).map(addr).collect();
    c.prefixes = (0..4)
        .map(|n| (Ipv6Addr::new(0x2001, 0xdb8, 0x100 + n, 0, 0, 0, 0, 0), 64))
        .collect();
    c.startup_time = 10;
    c.relationship_name = Some("campus-dhcp".to_string());
    c
}

/// What went over the wire between an in-process pair: a fresh start to NORMAL (CONNECT,
/// CONNECTREPLY, STATE, UPDREQALL, UPDDONE, POOLREQ, POOLRESP, BNDUPD, BNDREPLY), clients served,
/// keepalives (CONTACT), a partition during which both are told their partner is down and its
/// healing (a new connection, POTENTIAL-CONFLICT, UPDREQ), and a planned shutdown (DISCONNECT).
fn simulated_pair() -> Vec<WireRecord> {
    let dir = tempfile::tempdir().unwrap();
    let mut pair = Pair::open(dir.path(), config(Role::Primary), config(Role::Secondary), T0)
        .expect("open the pair");
    let normal = |pair: &mut Pair| {
        assert!(
            pair.run_until_states(ServerState::Normal, ServerState::Normal, 1000),
            "NORMAL not reached\n{}",
            pair.tail()
        );
    };
    normal(&mut pair);
    pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address));
    pair.client(Role::Primary, 2, ClientOp::Request(LeaseKind::Prefix));
    pair.advance(40);
    pair.set_link(false);
    pair.advance(61);
    // Both told their partner is down (§8.4): on reconnection both are in POTENTIAL-CONFLICT
    // and ask each other for updates (UPDREQ, §8.10).
    pair.command(Role::Primary, failover_core::Command::PartnerDown);
    pair.command(Role::Secondary, failover_core::Command::PartnerDown);
    pair.client(Role::Secondary, 3, ClientOp::Request(LeaseKind::Address));
    pair.set_link(true);
    normal(&mut pair);
    pair.advance(3);
    pair.command(Role::Primary, failover_core::Command::Shutdown);
    pair.drain();
    pair.wire
        .iter()
        .map(|w| WireRecord {
            time: w.time.0,
            from: w.from,
            event: match &w.op {
                WireOp::Connect => WireEvent::Connect,
                WireOp::Data(d) => WireEvent::Data(d.clone()),
                WireOp::Close => WireEvent::Close,
            },
        })
        .collect()
}

/// Seconds since 2000 (RFC 8156 §3) of a fixed instant of the test captures.
const S: u32 = 800_000_000;

fn dns(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// Messages built with failover-proto that between them carry every option a failover message
/// may carry (RFC 8156 §5.5, §7.4), every binding-status (§5.5.1), every server-state
/// (§5.5.16), every status code a failover server sends (§5.6), all flags, and an unknown option.
fn every_option() -> Vec<(Role, Message)> {
    use DhcpOption as O;
    let mut v = Vec::new();
    let duid = vec![0, 1, 0, 1, 0x2f, 0x00, 0x00, 0x01, 2, 0, 0, 0, 0xfa, 0x99];
    let iaaddr = |n: u16, opts: Vec<DhcpOption>| {
        O::IaAddr(IaAddr {
            addr: addr(n),
            preferred_lifetime: 150,
            valid_lifetime: 300,
            options: opts,
        })
    };
    let connect = Message::new(MsgKind::Connect, 1, S)
        .with(O::RelationshipName("campus-dhcp".into()))
        .with(O::MaxUnackedBndupd(100))
        .with(O::Mclt(3600))
        .with(O::KeepaliveTime(30))
        .with(O::ConnectFlags(ConnectFlags(ConnectFlags::FIXED_PD_LENGTH)))
        .with(O::ProtocolVersion(ProtocolVersion::RFC8156));
    v.push((Role::Primary, connect));
    let reply = Message::new(MsgKind::ConnectReply, 1, S + 1)
        .with(O::MaxUnackedBndupd(50))
        .with(O::KeepaliveTime(30))
        .with(O::ProtocolVersion(ProtocolVersion::RFC8156));
    v.push((Role::Secondary, reply));
    // A BNDUPD as full as §7.4 allows: CLIENT_DATA with IA_NA > IAADDR > DNS_REMOVAL_INFO.
    let client_data = O::ClientData(vec![
        O::ClientId(duid.clone()),
        O::IaNa(IaNa {
            iaid: 0x0102_0304,
            t1: 0,
            t2: 0,
            options: vec![iaaddr(
                5,
                vec![
                    O::BindingStatus(BindingStatus::Active),
                    O::DnsRemovalInfo(vec![
                        O::DnsHostName(dns("host7.example.com")),
                        O::DnsZoneName(dns("example.com")),
                        O::DnsFlags(DnsFlags(DnsFlags::SYNTHESIZED_NAME | DnsFlags::FWD_UPTODATE)),
                    ]),
                    O::StartTimeOfState(S - 20),
                    O::StateExpirationTime(S + 280),
                    O::PartnerLifetime(S + 3600),
                    O::PartnerLifetimeSent(S + 3000),
                    O::PartnerRawCltTime(S - 10),
                    O::ExpirationTime(S + 400),
                ],
            )],
        }),
        O::IaTa(IaTa {
            iaid: 7,
            options: vec![iaaddr(6, vec![O::BindingStatus(BindingStatus::Expired)])],
        }),
        O::ClientFqdn(ClientFqdn {
            flags: 0x01,
            domain_name: dns("host7.example.com"),
        }),
        O::CltTime(16),
        O::LqBaseTime(S),
        O::LqRelayData(LqRelayData {
            peer_address: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x99),
            relay_message: vec![12, 0, 0x20, 0x01],
        }),
        O::Vss(Vss {
            vss_type: 1,
            info: b"vpn-7".to_vec(),
        }),
        O::ReconfigureData(ReconfigureData {
            reconfigure_time: S - 100,
            key: vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
        }),
        O::Unknown {
            code: 999,
            data: vec![0xde, 0xad],
        },
    ]);
    v.push((
        Role::Primary,
        Message::new(MsgKind::BndUpd, 0x00AB_CDEF, S + 2).with(client_data),
    ));
    // IA_PD with IAPREFIX inside CLIENT_DATA, and a bare IAPREFIX (§7.4: a delegable prefix).
    let pd = O::ClientData(vec![
        O::ClientId(duid.clone()),
        O::IaPd(IaPd {
            iaid: 9,
            t1: 75,
            t2: 120,
            options: vec![O::IaPrefix(IaPrefix {
                preferred_lifetime: 150,
                valid_lifetime: 300,
                prefix_len: 56,
                prefix: Ipv6Addr::new(0x2001, 0xdb8, 0x100, 0x0100, 0, 0, 0, 0),
                options: vec![O::BindingStatus(BindingStatus::Active)],
            })],
        }),
    ]);
    v.push((
        Role::Secondary,
        Message::new(MsgKind::BndUpd, 2, S + 3).with(pd),
    ));
    for (i, status) in BindingStatus::ALL.iter().enumerate() {
        let bare = O::IaPrefix(IaPrefix {
            preferred_lifetime: 0,
            valid_lifetime: 0,
            prefix_len: 64,
            prefix: Ipv6Addr::new(0x2001, 0xdb8, 0x200 + i as u16, 0, 0, 0, 0, 0),
            options: vec![O::BindingStatus(*status), O::StartTimeOfState(S)],
        });
        v.push((
            Role::Primary,
            Message::new(MsgKind::BndUpd, 100 + i as u32, S + 4).with(bare),
        ));
    }
    for (i, code) in (16..=22).chain([0, 1]).enumerate() {
        v.push((
            Role::Secondary,
            Message::new(MsgKind::BndReply, 100 + i as u32, S + 5)
                .with(O::status(StatusCode(code), format!("status {code} from the test"))),
        ));
    }
    for (i, state) in ServerState::ALL.iter().enumerate() {
        let startup = *state == ServerState::Startup;
        let flags = if startup {
            ServerFlags(ServerFlags::STARTUP | ServerFlags::COMMUNICATED)
        } else {
            ServerFlags(ServerFlags::ACK_STARTUP | ServerFlags::COMMUNICATED)
        };
        let mut m = Message::new(MsgKind::State, 200 + i as u32, S + 6)
            .with(O::ServerState(*state))
            .with(O::ServerFlags(flags))
            .with(O::StartTimeOfState(S - 1000));
        if *state == ServerState::PartnerDown {
            m = m.with(O::PartnerDownTime(S - 500));
        }
        v.push((Role::Primary, m));
    }
    for kind in [
        MsgKind::PoolReq,
        MsgKind::PoolResp,
        MsgKind::UpdReq,
        MsgKind::UpdReqAll,
        MsgKind::UpdDone,
        MsgKind::Contact,
    ] {
        let from = if matches!(kind, MsgKind::PoolReq | MsgKind::UpdReq | MsgKind::UpdReqAll) {
            Role::Secondary
        } else {
            Role::Primary
        };
        v.push((from, Message::new(kind, 300 + kind.code() as u32, S + 7)));
    }
    v.push((
        Role::Primary,
        Message::new(MsgKind::Disconnect, 400, S + 8).with(O::status(
            StatusCode::SERVER_SHUTTING_DOWN,
            "operator shutdown",
        )),
    ));
    v
}

/// One connection carrying `messages`, each side's consecutive messages sent together.
fn records_of(messages: &[(Role, Message)]) -> Vec<WireRecord> {
    let mut r = vec![WireRecord {
        time: u64::from(S),
        from: Role::Primary,
        event: WireEvent::Connect,
    }];
    for (from, m) in messages {
        let mut bytes = Vec::new();
        m.encode_framed(&mut bytes).expect("encodable");
        r.push(WireRecord {
            time: u64::from(m.sent_time),
            from: *from,
            event: WireEvent::Data(bytes),
        });
    }
    r.push(WireRecord {
        time: u64::from(S + 9),
        from: Role::Primary,
        event: WireEvent::Close,
    });
    r
}

/// The messages each record's sender put on the wire, decoded by failover-proto directly from
/// the records (not from the capture).
fn sent_messages(records: &[WireRecord]) -> Vec<Message> {
    let mut out = Vec::new();
    let mut dec = [FrameDecoder::new(), FrameDecoder::new()];
    for r in records {
        match &r.event {
            WireEvent::Connect => dec = [FrameDecoder::new(), FrameDecoder::new()],
            WireEvent::Data(d) => {
                let k = &mut dec[r.from as usize];
                k.push(d);
                while let Some(m) = k.next_message().expect("our own bytes decode") {
                    out.push(m);
                }
            }
            WireEvent::Close => {}
        }
    }
    out
}

fn write(dir: &Path, name: &str, records: &[WireRecord], segmenting: Segmenting) -> PathBuf {
    let bytes = write_capture(
        records,
        &WriteOptions {
            segmenting,
            ..WriteOptions::default()
        },
    )
    .expect("write capture");
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
#[ignore = "writes sample captures to $FAILOVER_DUMP for a look by hand"]
fn dump_captures() {
    let dir = PathBuf::from(std::env::var("FAILOVER_DUMP").unwrap_or("/tmp".into()));
    write(&dir, "sim.pcap", &simulated_pair(), Segmenting::Coalesce { mss: 1440 });
    write(&dir, "options.pcap", &records_of(&every_option()), Segmenting::Coalesce { mss: 1440 });
    write(
        &dir,
        "options-split.pcap",
        &records_of(&every_option()),
        Segmenting::Pieces { seed: 7, max: 40 },
    );
}
