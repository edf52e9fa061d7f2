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
    read_capture, write_capture, Segmenting, WireEvent, WireRecord, WriteOptions, EPOCH_2000_UNIX,
    FAILOVER_PORT,
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
        .env(
            "WIRESHARK_CONFIG_DIR",
            std::env::temp_dir().join("failover-tshark-empty-config"),
        )
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
    let mut pair = Pair::open(
        dir.path(),
        config(Role::Primary),
        config(Role::Secondary),
        T0,
    )
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
                        O::DnsFlags(DnsFlags(
                            DnsFlags::SYNTHESIZED_NAME | DnsFlags::FWD_UPTODATE,
                        )),
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
            Message::new(MsgKind::BndReply, 100 + i as u32, S + 5).with(O::status(
                StatusCode(code),
                format!("status {code} from the test"),
            )),
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
        let from = if matches!(
            kind,
            MsgKind::PoolReq | MsgKind::UpdReq | MsgKind::UpdReqAll
        ) {
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

// ---------------------------------------------------------------------------------------------
// What tshark says (PDML) and what the codec says, as comparable text
// ---------------------------------------------------------------------------------------------

/// One PDML field.
#[derive(Debug)]
struct Field {
    name: String,
    show: String,
    showname: String,
    value: String,
    children: Vec<Field>,
}

/// One message the dissector decoded: the packet it is shown in, and its fields.
#[derive(Debug)]
struct Dissected {
    packet: usize,
    fields: Vec<Field>,
}

fn field(node: roxmltree::Node<'_, '_>) -> Field {
    let a = |k: &str| node.attribute(k).unwrap_or("").to_string();
    Field {
        name: a("name"),
        show: a("show"),
        showname: a("showname"),
        value: a("value"),
        children: node
            .children()
            .filter(|c| c.has_tag_name("field"))
            .map(field)
            .collect(),
    }
}

/// Every `rfc8156` protocol item of a PDML document, with its packet number.
fn parse_pdml(xml: &str) -> Vec<Dissected> {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("tshark's PDML: {e}"));
    let mut out = Vec::new();
    for packet in doc.descendants().filter(|n| n.has_tag_name("packet")) {
        let num = packet
            .descendants()
            .find(|n| n.has_tag_name("field") && n.attribute("name") == Some("num"))
            .and_then(|n| n.attribute("show"))
            .and_then(|s| s.parse().ok())
            .expect("packet number");
        for proto in packet
            .children()
            .filter(|n| n.has_tag_name("proto") && n.attribute("name") == Some("rfc8156"))
        {
            out.push(Dissected {
                packet: num,
                fields: proto
                    .children()
                    .filter(|c| c.has_tag_name("field"))
                    .map(field)
                    .collect(),
            });
        }
    }
    out
}

/// The value name in a showname such as "Binding status: ACTIVE (1)".
fn named(showname: &str) -> String {
    let after = showname.split_once(": ").map_or(showname, |x| x.1);
    after.rsplit_once(" (").map_or(after, |x| x.0).to_string()
}

/// Fields shown by value name (value_string) and as octets.
const NAMED: &[&str] = &["binding_status", "server_state", "status_code"];
const OCTETS: &[&str] = &[
    "clientid",
    "option.data",
    "relay.message",
    "vss.info",
    "reconfigure_key",
];

fn short(name: &str) -> &str {
    name.strip_prefix("rfc8156.").unwrap_or(name)
}

/// The values of one option's fields (flag bits included), as `key=value`.
fn values_text(fields: &[Field], out: &mut Vec<String>) {
    for f in fields {
        let key = short(&f.name);
        if f.name.starts_with("_ws.") || matches!(key, "option" | "option.code" | "option.len") {
            continue;
        }
        let v = if NAMED.contains(&key) {
            named(&f.showname)
        } else if OCTETS.contains(&key) {
            f.value.clone()
        } else {
            f.show.clone()
        };
        out.push(format!("{key}={v}"));
        values_text(&f.children, out);
    }
}

fn options_text(fields: &[Field], depth: usize, out: &mut String) {
    for o in fields.iter().filter(|f| f.name == "rfc8156.option") {
        let code = o.children.iter().find(|c| c.name == "rfc8156.option.code");
        let len = o.children.iter().find(|c| c.name == "rfc8156.option.len");
        let (name, code) = code.map_or(("?".into(), "?".into()), |c| {
            (named(&c.showname), c.show.clone())
        });
        let mut values = Vec::new();
        values_text(&o.children, &mut values);
        out.push_str(&format!(
            "{:indent$}{name}({code}) len={} {}\n",
            "",
            len.map_or("?", |l| l.show.as_str()),
            values.join(" "),
            indent = 2 * depth
        ));
        options_text(&o.children, depth + 1, out);
    }
}

/// What the dissector says, one block per message.
fn dissected_text(d: &Dissected) -> String {
    let get = |n: &str| d.fields.iter().find(|f| f.name == n);
    let name = get("rfc8156.msg_type").map_or("?".into(), |f| named(&f.showname));
    let xid = get("rfc8156.transaction_id")
        .and_then(|f| u32::from_str_radix(&f.value, 16).ok())
        .map_or("?".into(), |x| x.to_string());
    let sent = get("rfc8156.sent_time").map_or("?", |f| f.show.as_str());
    let mut s = format!("#{} {name} xid={xid} sent={sent}\n", d.packet);
    options_text(&d.fields, 1, &mut s);
    s
}

/// RFC 8156 §3 time (seconds since 2000-01-01 UTC) as Wireshark prints an absolute UTC time;
/// computed here from the civil calendar, independently of the dissector.
fn wireshark_utc(t: u32) -> String {
    let secs = EPOCH_2000_UNIX as i64 + i64::from(t);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days to civil date (proleptic Gregorian), after H. Hinnant's "civil_from_days".
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {d:>2}, {y} {:02}:{:02}:{:02}.000000000 UTC",
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An RFC 1035 wire-form name as text (the codec keeps names as octets).
fn dns_text(b: &[u8]) -> String {
    let mut labels = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let n = b[i] as usize;
        if n == 0 {
            return format!("{}.", labels.join("."));
        }
        labels.push(String::from_utf8_lossy(&b[i + 1..i + 1 + n]).into_owned());
        i += 1 + n;
    }
    labels.join(".")
}

fn bit(v: u16, mask: u16) -> String {
    u8::from(v & mask != 0).to_string()
}

/// The `key=value` pairs the dissector must show for one option, from failover-proto's reading.
fn expected_values(o: &DhcpOption) -> Vec<String> {
    use DhcpOption as O;
    let kv = |k: &str, v: String| format!("{k}={v}");
    match o {
        O::ClientId(d) => vec![kv("clientid", hex(d))],
        O::IaNa(ia) => vec![
            kv("iaid", format!("0x{:08x}", ia.iaid)),
            kv("t1", ia.t1.to_string()),
            kv("t2", ia.t2.to_string()),
        ],
        O::IaPd(ia) => vec![
            kv("iaid", format!("0x{:08x}", ia.iaid)),
            kv("t1", ia.t1.to_string()),
            kv("t2", ia.t2.to_string()),
        ],
        O::IaTa(ia) => vec![kv("iaid", format!("0x{:08x}", ia.iaid))],
        O::IaAddr(a) => vec![
            kv("address", a.addr.to_string()),
            kv("preferred_lifetime", a.preferred_lifetime.to_string()),
            kv("valid_lifetime", a.valid_lifetime.to_string()),
        ],
        O::IaPrefix(p) => vec![
            kv("preferred_lifetime", p.preferred_lifetime.to_string()),
            kv("valid_lifetime", p.valid_lifetime.to_string()),
            kv("prefix_length", p.prefix_len.to_string()),
            kv("prefix", p.prefix.to_string()),
        ],
        O::StatusCode(s) => {
            let mut v = vec![kv(
                "status_code",
                s.code.name().map_or("Unknown".to_string(), str::to_string),
            )];
            if !s.message.is_empty() {
                v.push(kv("status_message", s.message.clone()));
            }
            v
        }
        O::ClientFqdn(f) => vec![
            kv("fqdn.flags", format!("0x{:02x}", f.flags)),
            kv("fqdn.name", dns_text(&f.domain_name)),
        ],
        O::ClientData(_) | O::DnsRemovalInfo(_) => vec![],
        O::CltTime(t) => vec![kv("clt_time", t.to_string())],
        O::LqRelayData(d) => vec![
            kv("relay.peer_address", d.peer_address.to_string()),
            kv("relay.message", hex(&d.relay_message)),
        ],
        O::Vss(v) => vec![
            kv("vss.type", v.vss_type.to_string()),
            kv("vss.info", hex(&v.info)),
        ],
        O::LqBaseTime(t) => vec![kv("lq_base_time", wireshark_utc(*t))],
        O::BindingStatus(b) => vec![kv("binding_status", b.token().to_string())],
        O::ConnectFlags(f) => vec![
            kv("connect_flags", format!("0x{:04x}", f.0)),
            kv(
                "connect_flags.fixed_pd_length",
                bit(f.0, ConnectFlags::FIXED_PD_LENGTH),
            ),
        ],
        O::DnsHostName(n) => vec![kv("dns.host_name", dns_text(n))],
        O::DnsZoneName(n) => vec![kv("dns.zone_name", dns_text(n))],
        O::DnsFlags(f) => vec![
            kv("dns.flags", format!("0x{:04x}", f.0)),
            kv(
                "dns.flags.using_requested_fqdn",
                bit(f.0, DnsFlags::USING_REQUESTED_FQDN),
            ),
            kv(
                "dns.flags.synthesized_name",
                bit(f.0, DnsFlags::SYNTHESIZED_NAME),
            ),
            kv("dns.flags.rev_uptodate", bit(f.0, DnsFlags::REV_UPTODATE)),
            kv("dns.flags.fwd_uptodate", bit(f.0, DnsFlags::FWD_UPTODATE)),
        ],
        O::ExpirationTime(t) => vec![kv("expiration_time", wireshark_utc(*t))],
        O::MaxUnackedBndupd(n) => vec![kv("max_unacked_bndupd", n.to_string())],
        O::Mclt(n) => vec![kv("mclt", n.to_string())],
        O::PartnerLifetime(t) => vec![kv("partner_lifetime", wireshark_utc(*t))],
        O::PartnerLifetimeSent(t) => vec![kv("partner_lifetime_sent", wireshark_utc(*t))],
        O::PartnerDownTime(t) => vec![kv("partner_down_time", wireshark_utc(*t))],
        O::PartnerRawCltTime(t) => vec![kv("partner_raw_clt_time", wireshark_utc(*t))],
        O::ProtocolVersion(v) => vec![
            kv("protocol_version.major", v.major.to_string()),
            kv("protocol_version.minor", v.minor.to_string()),
        ],
        O::KeepaliveTime(n) => vec![kv("keepalive_time", n.to_string())],
        O::ReconfigureData(d) => vec![
            kv("reconfigure_time", wireshark_utc(d.reconfigure_time)),
            kv("reconfigure_key", hex(&d.key)),
        ],
        O::RelationshipName(s) => vec![kv("relationship_name", s.clone())],
        O::ServerFlags(f) => {
            let v = u16::from(f.0);
            vec![
                kv("server_flags", format!("0x{:02x}", f.0)),
                kv(
                    "server_flags.ack_startup",
                    bit(v, ServerFlags::ACK_STARTUP.into()),
                ),
                kv("server_flags.startup", bit(v, ServerFlags::STARTUP.into())),
                kv(
                    "server_flags.communicated",
                    bit(v, ServerFlags::COMMUNICATED.into()),
                ),
            ]
        }
        O::ServerState(st) => vec![kv("server_state", st.token().to_string())],
        O::StartTimeOfState(t) => vec![kv("start_time_of_state", wireshark_utc(*t))],
        O::StateExpirationTime(t) => vec![kv("state_expiration_time", wireshark_utc(*t))],
        O::Unknown { data, .. } => vec![kv("option.data", hex(data))],
    }
}

fn expected_options(options: &[DhcpOption], depth: usize, out: &mut String) {
    for o in options {
        let mut wire = Vec::new();
        o.encode(&mut wire).expect("decoded options encode");
        // An option without data has no value to show.
        let values = if wire.len() > 4 {
            expected_values(o)
        } else {
            Vec::new()
        };
        out.push_str(&format!(
            "{:indent$}{}({}) len={} {}\n",
            "",
            o.code().name().unwrap_or("Unknown"),
            o.code().0,
            wire.len() - 4,
            values.join(" "),
            indent = 2 * depth
        ));
        if let Some(nested) = o.nested() {
            expected_options(nested, depth + 1, out);
        }
    }
}

/// What the codec says, in the same shape as [`dissected_text`].
fn expected_text(packet: usize, m: &Message) -> String {
    let mut s = format!(
        "#{packet} {} xid={} sent={}\n",
        m.msg_type.name().unwrap_or("?"),
        m.transaction_id,
        wireshark_utc(m.sent_time)
    );
    expected_options(&m.options, 1, &mut s);
    s
}

/// Lua errors anywhere in tshark's output or diagnostics.
fn lua_errors(stdout: &str, stderr: &str) -> Vec<String> {
    stdout
        .lines()
        .chain(stderr.lines())
        .filter(|l| l.contains("Lua Error") || l.contains("lua_error"))
        .map(|l| l.trim().to_string())
        .collect()
}

/// The dissector's expert infos (their field names) in a PDML document.
fn experts(xml: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let doc = roxmltree::Document::parse(xml).expect("PDML");
    for n in doc.descendants().filter(|n| n.has_tag_name("field")) {
        if let Some(name) = n
            .attribute("name")
            .filter(|n| n.starts_with("rfc8156.expert."))
        {
            out.insert(name.to_string());
        }
    }
    out
}

/// Decode `capture` with `lua` and compare every message with failover-proto's reading of the
/// capture's octets (`read_capture`: TCP reassembled, frames cut, messages decoded). `Err` says
/// what differs.
fn compare(tshark: &Path, lua: &Path, capture: &Path) -> Result<usize, String> {
    compare_on(tshark, lua, capture, FAILOVER_PORT)
}

/// [`compare`] for a capture whose failover port is `port` (the dissector's preference).
fn compare_on(tshark: &Path, lua: &Path, capture: &Path, port: u16) -> Result<usize, String> {
    let pref = format!("rfc8156.tcp_port:{port}");
    let (xml, err) = run_tshark(tshark, lua, capture, &["-T", "pdml", "-o", &pref]);
    let lua_err = lua_errors(&xml, &err);
    if !lua_err.is_empty() {
        return Err(format!("Lua errors: {lua_err:?}"));
    }
    let bytes = std::fs::read(capture).unwrap();
    let codec = read_capture(&bytes, port).map_err(|e| e.to_string())?;
    let expected: String = codec
        .messages
        .iter()
        .map(|m| expected_text(m.packet, m.message.as_ref().expect("well-formed capture")))
        .collect();
    let dissected: String = parse_pdml(&xml).iter().map(dissected_text).collect();
    if expected != dissected {
        let first = expected
            .lines()
            .zip(dissected.lines())
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("codec:     {a}\ndissector: {b}"))
            .unwrap_or_else(|| "one is a prefix of the other".into());
        return Err(format!(
            "the dissector and the codec differ ({} vs {} lines); first difference:\n{first}",
            expected.lines().count(),
            dissected.lines().count()
        ));
    }
    let unexpected = experts(&xml);
    if !unexpected.is_empty() {
        return Err(format!(
            "expert infos on a well-formed capture: {unexpected:?}"
        ));
    }
    Ok(codec.messages.len())
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// Every message of the reader equals what was sent (so the reader is a fair oracle), and the
/// capture shows the TCP situations the dissector must reassemble.
fn check_reader(records: &[WireRecord], capture: &Path, segmenting: Segmenting) {
    let c = read_capture(&std::fs::read(capture).unwrap(), FAILOVER_PORT).unwrap();
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let read: Vec<Message> = c
        .messages
        .iter()
        .map(|m| m.message.clone().unwrap())
        .collect();
    assert_eq!(
        read,
        sent_messages(records),
        "the reader gives back what was sent"
    );
    match segmenting {
        Segmenting::Coalesce { .. } => {
            let per_packet =
                c.messages
                    .iter()
                    .fold(std::collections::BTreeMap::new(), |mut m, x| {
                        *m.entry(x.packet).or_insert(0usize) += 1;
                        m
                    });
            assert!(
                per_packet.values().any(|&n| n >= 3),
                "several frames in one segment"
            );
        }
        Segmenting::Pieces { .. } => {
            assert!(
                c.packets > 2 * c.messages.len(),
                "frames split over segments"
            );
        }
    }
}

#[test]
fn all_twelve_messages_of_a_simulated_pair_decode_as_the_codec_reads_them() {
    let Some(tshark) = tshark() else { return };
    let records = simulated_pair();
    let kinds: BTreeSet<MsgKind> = sent_messages(&records)
        .iter()
        .map(|m| m.kind().unwrap())
        .collect();
    let missing: Vec<_> = MsgKind::ALL.iter().filter(|k| !kinds.contains(k)).collect();
    assert!(missing.is_empty(), "the simulation sent no {missing:?}");
    let dir = tempfile::tempdir().unwrap();
    for (name, seg) in [
        ("coalesced.pcap", Segmenting::Coalesce { mss: 1440 }),
        ("split.pcap", Segmenting::Pieces { seed: 18, max: 23 }),
    ] {
        let path = write(dir.path(), name, &records, seg);
        check_reader(&records, &path, seg);
        let n = compare(&tshark, Path::new(LUA), &path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(n, sent_messages(&records).len());
    }
}

#[test]
fn every_option_status_and_state_decodes_as_the_codec_reads_them() {
    let Some(tshark) = tshark() else { return };
    let records = records_of(&every_option());
    let dir = tempfile::tempdir().unwrap();
    for (name, seg) in [
        ("coalesced.pcap", Segmenting::Coalesce { mss: 200 }),
        ("split.pcap", Segmenting::Pieces { seed: 5, max: 9 }),
    ] {
        let path = write(dir.path(), name, &records, seg);
        check_reader(&records, &path, seg);
        let n = compare(&tshark, Path::new(LUA), &path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(n, every_option().len());
    }
}

/// The comparison is not vacuous: copies of the dissector with one mistake each are caught.
#[test]
fn a_broken_dissector_fails_the_comparison() {
    let Some(tshark) = tshark() else { return };
    let dir = tempfile::tempdir().unwrap();
    let capture = write(
        dir.path(),
        "options.pcap",
        &records_of(&every_option()),
        Segmenting::Coalesce { mss: 1440 },
    );
    let good = std::fs::read_to_string(LUA).unwrap();
    let mutations = [
        // Two binding-status names swapped (§5.5.1).
        (r#"[5] = "FREE","#, r#"[5] = "FREE-BACKUP","#),
        // The sent-time epoch off by a day (§5.2: seconds since 2000-01-01).
        (
            "local EPOCH_2000 = 946684800",
            "local EPOCH_2000 = 946771200",
        ),
        // IAPREFIX's prefix read one octet early (RFC 3633 §10).
        (
            "item:add(f.prefix, data(9, 16))",
            "item:add(f.prefix, data(8, 16))",
        ),
        // A Lua error: the IA_NA's T1 read past the option.
        ("item:add(f.t1, data(4, 4))", "item:add(f.t1, data(4, 400))"),
    ];
    for (from, to) in mutations {
        assert!(
            good.contains(from),
            "mutation target {from:?} not in the dissector"
        );
        let lua = dir.path().join("broken.lua");
        std::fs::write(&lua, good.replacen(from, to, 1)).unwrap();
        let r = compare(&tshark, &lua, &capture);
        assert!(r.is_err(), "the mutation {from:?} -> {to:?} was not caught");
    }
    compare(&tshark, Path::new(LUA), &capture).expect("the real dissector passes");
}

/// Raw octets in frames of their own connection, each wrong in one way the RFCs forbid.
fn malformed_cases() -> Vec<(&'static str, Vec<u8>)> {
    let header = |t: u8| vec![t, 0, 0, 1, 0x2f, 0xaf, 0x08, 0x00];
    let framed = |msg: Vec<u8>| {
        let mut f = (msg.len() as u16).to_be_bytes().to_vec();
        f.extend(msg);
        f
    };
    let with = |t: u8, opts: &[u8]| {
        let mut m = header(t);
        m.extend_from_slice(opts);
        framed(m)
    };
    let mut deep = vec![0, 114, 0, 1, 1];
    for _ in 0..10 {
        let mut outer = vec![0, 45];
        outer.extend((deep.len() as u16).to_be_bytes());
        outer.extend(&deep);
        deep = outer;
    }
    vec![
        ("rfc8156.expert.bad_message_size", vec![0, 0]),
        (
            "rfc8156.expert.bad_message_size",
            framed(vec![34, 0, 0, 1, 0]),
        ),
        ("rfc8156.expert.unknown_msg_type", with(99, &[])),
        (
            "rfc8156.expert.option_overrun",
            with(34, &[0, 132, 0, 100, 2]),
        ),
        ("rfc8156.expert.option_overrun", with(34, &[0, 132])),
        (
            "rfc8156.expert.bad_option_len",
            with(31, &[0, 122, 0, 3, 0, 14, 16]),
        ),
        ("rfc8156.expert.bad_value", with(24, &[0, 114, 0, 1, 0])),
        ("rfc8156.expert.bad_value", with(34, &[0, 132, 0, 1, 11])),
        ("rfc8156.expert.bad_value", with(25, &[0, 13, 0, 2, 0, 99])),
        (
            "rfc8156.expert.bad_value",
            with(
                24,
                &[&[0u8, 26, 0, 25][..], &[0; 8], &[129], &[0; 16]].concat(),
            ),
        ),
        ("rfc8156.expert.mbz", with(34, &[0, 131, 0, 1, 0xf1])),
        ("rfc8156.expert.mbz", with(31, &[0, 115, 0, 2, 0x80, 0x01])),
        (
            "rfc8156.expert.bad_dns_name",
            with(24, &[0, 117, 0, 3, 9, b'a', b'b']),
        ),
        ("rfc8156.expert.too_deep", with(24, &deep)),
    ]
}

fn one_connection_each(frames: &[Vec<u8>]) -> Vec<WireRecord> {
    let mut r = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let t = u64::from(S) + i as u64;
        r.push(WireRecord {
            time: t,
            from: Role::Primary,
            event: WireEvent::Connect,
        });
        r.push(WireRecord {
            time: t,
            from: Role::Secondary,
            event: WireEvent::Data(f.clone()),
        });
        r.push(WireRecord {
            time: t,
            from: Role::Secondary,
            event: WireEvent::Close,
        });
    }
    r
}

#[test]
fn malformed_frames_give_expert_warnings_not_lua_errors() {
    let Some(tshark) = tshark() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cases = malformed_cases();
    let frames: Vec<Vec<u8>> = cases.iter().map(|c| c.1.clone()).collect();
    let path = write(
        dir.path(),
        "bad.pcap",
        &one_connection_each(&frames),
        Segmenting::Coalesce { mss: 1440 },
    );
    let (xml, err) = run_tshark(&tshark, Path::new(LUA), &path, &["-T", "pdml"]);
    assert_eq!(lua_errors(&xml, &err), Vec::<String>::new());
    // Each case is in the data packet of its connection (SYN, SYN/ACK, ACK, data, FIN, FIN, ACK).
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let packets: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("packet"))
        .collect();
    for (i, (expert, frame)) in cases.iter().enumerate() {
        let p = packets[i * 7 + 3];
        let found: BTreeSet<&str> = p
            .descendants()
            .filter_map(|n| n.attribute("name"))
            .filter(|n| n.starts_with("rfc8156.expert."))
            .collect();
        assert!(
            found.contains(expert),
            "case {i} ({}) should raise {expert}, raised {found:?}",
            hex(frame)
        );
    }
}

/// A deterministic xorshift generator.
fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn truncated_and_corrupted_captures_never_raise_a_lua_error() {
    let Some(tshark) = tshark() else { return };
    let dir = tempfile::tempdir().unwrap();
    let records = records_of(&every_option());
    let whole = write_capture(&records, &WriteOptions::default()).unwrap();

    // 1. The file cut in the middle of a packet: what comes before still decodes.
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 3]).unwrap();
    let (xml, err) = run_tshark(&tshark, Path::new(LUA), &cut, &["-T", "pdml"]);
    assert_eq!(lua_errors(&xml, &err), Vec::<String>::new());
    assert!(err.contains("cut short"), "tshark notices the cut: {err}");
    assert!(
        parse_pdml(&xml).len() >= 3,
        "messages before the cut are decoded"
    );

    // 2. Packets captured with a small snaplen: the messages are cut short in every packet.
    let short = dir.path().join("snaplen.pcap");
    std::fs::write(
        &short,
        write_capture(
            &records,
            &WriteOptions {
                snaplen: Some(100),
                ..WriteOptions::default()
            },
        )
        .unwrap(),
    )
    .unwrap();
    let (xml, err) = run_tshark(&tshark, Path::new(LUA), &short, &["-T", "pdml"]);
    assert_eq!(lua_errors(&xml, &err), Vec::<String>::new());
    assert!(
        experts(&xml).contains("rfc8156.expert.cut_short"),
        "snaplen-cut messages are flagged: {:?}",
        experts(&xml)
    );

    // 3. Every message with a few octets overwritten at random, each on its own connection.
    let mut rng = 0x5eed_u64;
    let mut frames = Vec::new();
    for _round in 0..8 {
        for (_, m) in every_option() {
            let mut f = Vec::new();
            m.encode_framed(&mut f).unwrap();
            for _ in 0..3 {
                let i = 2 + (xorshift(&mut rng) as usize) % (f.len() - 2);
                f[i] = xorshift(&mut rng) as u8;
            }
            frames.push(f);
        }
    }
    let fuzzed = write(
        dir.path(),
        "fuzzed.pcap",
        &one_connection_each(&frames),
        Segmenting::Coalesce { mss: 1440 },
    );
    let (xml, err) = run_tshark(&tshark, Path::new(LUA), &fuzzed, &["-T", "pdml"]);
    assert_eq!(lua_errors(&xml, &err), Vec::<String>::new());
    let mut undecodable = 0;
    for f in &frames {
        if Message::decode(&f[2..]).is_err() {
            undecodable += 1;
        }
    }
    assert!(
        undecodable > 50,
        "the corruption reaches the codec's checks ({undecodable})"
    );
    assert!(!experts(&xml).is_empty(), "and the dissector's");
}

// ---------------------------------------------------------------------------------------------
// The README's sample and `failover explain --pcap`
// ---------------------------------------------------------------------------------------------

#[path = "common/serve_config.rs"]
mod serve_config;

const BIN: &str = env!("CARGO_BIN_EXE_failover");

/// A small capture for the README: a CONNECT, its CONNECTREPLY, a STATE and the full BNDUPD.
fn readme_capture(dir: &Path) -> PathBuf {
    let all = every_option();
    let mut some: Vec<(Role, Message)> = all[..3].to_vec();
    some.extend(
        all.iter()
            .filter(|(_, m)| {
                m.kind() == Ok(MsgKind::State)
                    && m.options
                        .contains(&DhcpOption::ServerState(ServerState::Normal))
            })
            .cloned(),
    );
    write(
        dir,
        "sample.pcap",
        &records_of(&some),
        Segmenting::Coalesce { mss: 1440 },
    )
}

/// tshark's text for the README sample is a snapshot, and the README quotes it verbatim.
#[test]
fn tshark_text_of_the_readme_sample_is_the_snapshot_and_the_readme_quotes_it() {
    let Some(tshark) = tshark() else { return };
    let dir = tempfile::tempdir().unwrap();
    let capture = readme_capture(dir.path());
    let (text, err) = run_tshark(
        &tshark,
        Path::new(LUA),
        &capture,
        &["-Y", "rfc8156", "-O", "rfc8156", "-V"],
    );
    assert_eq!(lua_errors(&text, &err), Vec::<String>::new());
    insta::assert_snapshot!(text);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let quoted = readme
        .split("<!-- tshark-sample -->")
        .nth(1)
        .and_then(|s| s.split("```text\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("README.md has a ```text block after <!-- tshark-sample -->");
    assert!(
        quoted.lines().count() > 10,
        "the README quotes a real part of the sample"
    );
    assert!(
        text.contains(quoted),
        "README.md's tshark sample is not in tshark's output any more; update it from the snapshot"
    );
}

fn explain(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("explain")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn explain_pcap_draws_the_exchange_of_a_simulated_pair_with_rfc_sections() {
    let dir = tempfile::tempdir().unwrap();
    let records = simulated_pair();
    let capture = write(
        dir.path(),
        "pair.pcap",
        &records,
        Segmenting::Pieces { seed: 3, max: 31 },
    );
    let path = capture.to_str().unwrap();
    let (code, chart, err) = explain(&["--pcap", path]);
    assert_eq!(code, 0, "{err}");
    let sent = sent_messages(&records);
    let arrows: Vec<&str> = chart.lines().filter(|l| l.contains("->>")).collect();
    assert_eq!(arrows.len(), sent.len(), "one arrow per message\n{chart}");
    // The primary connects (RFC 8156 §6) and the secondary asks for pools (§5.3.3).
    assert_eq!(arrows[0].trim(), "P->>S: m1 CONNECT (§5.3.8)");
    assert_eq!(arrows[1].trim(), "S->>P: m2 CONNECTREPLY (§5.3.9)");
    for (arrow, m) in arrows.iter().zip(&sent) {
        let kind = m.kind().unwrap();
        assert!(
            arrow
                .split_once(": m")
                .and_then(|(_, rest)| rest.split_once(' '))
                .is_some_and(|(_, text)| text.starts_with(&format!("{} ", kind.token())))
                && arrow.ends_with(&format!("(§{})", failover_section(kind))),
            "{arrow} for {kind}"
        );
    }
    assert!(arrow_with(&chart, "S->>P", "POOLREQ (§5.3.3)"), "{chart}");
    assert!(
        arrow_with(&chart, "P->>S", "DISCONNECT ServerShuttingDown (§5.3.10)"),
        "{chart}"
    );
    // The same chart as SVG and HTML, as for a trace.
    let svg = dir.path().join("pair.svg");
    let (code, _, err) = explain(&["--pcap", path, "--out", svg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("CONNECTREPLY (§5.3.9)"));
    insta::assert_snapshot!(chart);
}

/// RFC 8156 §5.3's subsection of each message, written out here from the RFC's table of contents.
fn failover_section(k: MsgKind) -> &'static str {
    let n = k.code() - 23; // BNDUPD (24) is §5.3.1 ... CONTACT (35) is §5.3.12
    [
        "", "5.3.1", "5.3.2", "5.3.3", "5.3.4", "5.3.5", "5.3.6", "5.3.7", "5.3.8", "5.3.9",
        "5.3.10", "5.3.11", "5.3.12",
    ][n as usize]
}

#[test]
fn explain_pcap_rejects_bad_captures_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(
        dir.path(),
        "good.pcap",
        &simulated_pair(),
        Segmenting::Coalesce { mss: 1440 },
    );
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a capture\n").unwrap();
    let absent = dir.path().join("absent.pcap");
    let cases: [(&[&str], &str); 5] = [
        (&["--pcap", text.to_str().unwrap()], "not a packet capture"),
        (&["--pcap", cut.to_str().unwrap()], "truncated or damaged"),
        (
            &["--pcap", good.to_str().unwrap(), "--port", "80"],
            "no failover traffic",
        ),
        (&["--pcap", absent.to_str().unwrap()], "cannot read"),
        (&["--port", "80"], "required"),
    ];
    for (args, want) in cases {
        let (code, out, err) = explain(args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(want), "{args:?} should say {want:?}: {err}");
    }
    // Traffic on the port but no complete message: the SYNs only.
    let handshake = write(
        dir.path(),
        "syn.pcap",
        &[WireRecord {
            time: 1,
            from: Role::Primary,
            event: WireEvent::Connect,
        }],
        Segmenting::Coalesce { mss: 1440 },
    );
    let (code, _, err) = explain(&["--pcap", handshake.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("no failover message"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// A real pair: two `failover serve` processes on loopback, captured by dumpcap
// ---------------------------------------------------------------------------------------------

/// A child process killed (and reaped) when dropped, so that a failing test leaves nothing behind.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("[::1]:0").unwrap();
    l.local_addr().unwrap().port()
}

fn serve_config(dir: &Path, role: &str, partner_port: u16, dhcp_port: u16) -> PathBuf {
    serve_config::write(dir, role, "[::1]", partner_port, dhcp_port)
}

fn ctl_status(dir: &Path, role: &str) -> Option<serde_json::Value> {
    let out = Command::new(BIN)
        .args(["ctl", "--json", "--socket"])
        .arg(dir.join(format!("{role}.sock")))
        .arg("status")
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

/// Poll until `pred` holds, for at most `secs` seconds.
fn wait_for(secs: u64, mut pred: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(secs) {
        if pred() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// Two `failover serve` processes reach NORMAL over loopback TCP while dumpcap records the
/// partner port; the primary then shuts down (DISCONNECT). The real capture decodes in the
/// dissector exactly as failover-proto reads it, and `explain --pcap` draws it.
#[test]
fn a_real_serve_pair_captured_on_loopback_decodes_as_the_codec_reads_it() {
    let Some(tshark) = tshark() else { return };
    let dumpcap = tshark.with_file_name("dumpcap");
    assert!(
        dumpcap.is_file(),
        "dumpcap (Debian's wireshark-common, installed with tshark) is missing"
    );
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let capture = dir.path().join("pair.pcapng");
    let cap_log = std::fs::File::create(dir.path().join("dumpcap.log")).unwrap();
    let _dumpcap = Reaped(
        Command::new(&dumpcap)
            .args([
                "-q",
                "-i",
                "lo",
                "-f",
                &format!("tcp port {port}"),
                "-a",
                "duration:60",
                "-w",
            ])
            .arg(&capture)
            .stderr(cap_log)
            .spawn()
            .expect("start dumpcap"),
    );
    // dumpcap writes the section header once it captures.
    assert!(
        wait_for(10, || std::fs::metadata(&capture)
            .is_ok_and(|m| m.len() > 0)),
        "dumpcap did not start capturing: {}",
        std::fs::read_to_string(dir.path().join("dumpcap.log")).unwrap_or_default()
    );
    let start = |role: &str, dhcp: u16| {
        let config = serve_config(dir.path(), role, port, dhcp);
        let log = std::fs::File::create(dir.path().join(format!("{role}.log"))).unwrap();
        Reaped(
            Command::new(BIN)
                .args(["serve", "--config"])
                .arg(config)
                .stdout(std::process::Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    };
    let _s = start("secondary", free_port());
    let mut p = start("primary", free_port());
    let normal = |role: &str| {
        ctl_status(dir.path(), role)
            .is_some_and(|v| v["state"] == "NORMAL" && v["partner_state"] == "NORMAL")
    };
    assert!(
        wait_for(30, || normal("primary") && normal("secondary")),
        "the pair did not reach NORMAL; primary log:\n{}",
        std::fs::read_to_string(dir.path().join("primary.log")).unwrap_or_default()
    );
    let shutdown = Command::new(BIN)
        .args(["ctl", "--socket"])
        .arg(dir.path().join("primary.sock"))
        .arg("shutdown")
        .output()
        .unwrap();
    assert!(shutdown.status.success(), "{shutdown:?}");
    assert!(
        wait_for(10, || p.0.try_wait().unwrap().is_some()),
        "the primary did not stop"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SIGINT: dumpcap flushes and closes the file.
    let dumpcap_pid = _dumpcap.0.id().to_string();
    Command::new("kill")
        .args(["-INT", &dumpcap_pid])
        .status()
        .unwrap();
    let mut dumpcap = _dumpcap;
    assert!(
        wait_for(10, || dumpcap.0.try_wait().unwrap().is_some()),
        "dumpcap did not stop"
    );

    let n = compare_on(&tshark, Path::new(LUA), &capture, port).unwrap_or_else(|e| panic!("{e}"));
    let c = read_capture(&std::fs::read(&capture).unwrap(), port).unwrap();
    let kinds: BTreeSet<MsgKind> = c
        .messages
        .iter()
        .filter_map(|m| m.message.as_ref().ok().and_then(|m| m.kind().ok()))
        .collect();
    for k in [
        MsgKind::Connect,
        MsgKind::ConnectReply,
        MsgKind::State,
        MsgKind::Disconnect,
    ] {
        assert!(
            kinds.contains(&k),
            "no {k} among the {n} captured messages: {kinds:?}"
        );
    }
    let (code, chart, err) = explain(&[
        "--pcap",
        capture.to_str().unwrap(),
        "--port",
        &port.to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(arrow_with(&chart, "P->>S", "CONNECT (§5.3.8)"), "{chart}");
    assert!(
        arrow_with(&chart, "P->>S", "DISCONNECT ServerShuttingDown (§5.3.10)"),
        "{chart}"
    );
}

/// Whether the Mermaid chart has a delivery arrow `dir` (e.g. `P->>S`) whose label, after the
/// message's number (`m7`), is `label`.
fn arrow_with(chart: &str, dir: &str, label: &str) -> bool {
    chart.lines().any(|l| {
        l.trim()
            .strip_prefix(dir)
            .and_then(|rest| rest.strip_prefix(": m"))
            .and_then(|rest| rest.split_once(' '))
            .is_some_and(|(n, text)| n.parse::<u32>().is_ok() && text == label)
    })
}
