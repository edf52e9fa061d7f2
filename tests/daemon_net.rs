//! `failover serve` on a real network: a primary and a secondary in network namespaces, real
//! DHCPv6 clients (ISC dhclient -6, dhcpcd, Kea's perfdhcp) on a bridge, the partner link a veth
//! pair that can be cut. The harness is in `tests/net/`. `FAILOVER_BIN=PATH` runs the lab
//! against another build of `failover` than this one.
//!
//! Needs root (network namespaces) and the tools `ip`, `dhclient`, `dhcpcd`, `perfdhcp`,
//! `python3` (`.ci/run` installs them). A missing tool fails the test with what to install;
//! `FAILOVER_SKIP_NET=1` turns that into a printed skip. The tests run one at a time.

mod net;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use net::leases::{self, conflicts, duid_hex, Holding, Lease};
use net::pair::{self, Dhclient, Dhcpcd, Pair, Perfdhcp, Role, Settings};
use net::{python_in, serial, Lab, Tool};

// ---- the checkers on their own (no network): they can fail --------------------------------

fn held(lease: &str, client: &str, source: &str) -> Holding {
    Holding {
        lease: Lease::parse(lease).unwrap(),
        client: client.into(),
        source: source.into(),
    }
}

#[test]
fn duplicate_check_catches_one_address_or_overlapping_prefixes_held_by_two_clients() {
    // Two clients, one address: caught, naming both.
    let two = [
        held("2001:db8:1::1005", "000100aa", "c1 lease file"),
        held("2001:db8:1:0::1005", "000100bb", "secondary database"),
    ];
    let c = conflicts(&two);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(
        c[0].contains("000100aa") && c[0].contains("000100bb"),
        "{c:?}"
    );
    // The same client seen by two sources is no conflict.
    let same = [
        held("2001:db8:1::1005", "000100aa", "c1 lease file"),
        held("2001:db8:1::1005", "000100aa", "primary database"),
    ];
    assert!(conflicts(&same).is_empty());
    // Prefixes: equal, or one inside the other, held by two clients.
    let pd = [
        held("2001:db8:100:100::/56", "aa", "primary database"),
        held("2001:db8:100:100::/60", "bb", "dhcpcd lease"),
        held("2001:db8:100:200::/56", "cc", "secondary database"),
    ];
    let c = conflicts(&pd);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].contains("overlap"), "{c:?}");
    // Different addresses, different prefixes: nothing.
    let fine = [
        held("2001:db8:1::1005", "aa", "x"),
        held("2001:db8:1::1006", "bb", "y"),
        held("2001:db8:100:300::/56", "aa", "x"),
        held("2001:db8:100:400::/56", "bb", "y"),
    ];
    assert!(conflicts(&fine).is_empty());
}

const DHCLIENT_FILE: &str = r#"default-duid "\000\001\000\001+\"\327\017\002B\254\021\000\002";
lease6 {
  interface "eth0";
  ia-na 42:ac:11:00 {
    starts 1700000000;
    renew 11;
    rebind 18;
    iaaddr 2001:db8:1::1005 {
      starts 1700000000;
      preferred-life 22;
      max-life 30;
    }
  }
  ia-pd 43:ac:11:00 {
    starts 1700000000;
    renew 11;
    rebind 18;
    iaprefix 2001:db8:100:300::/56 {
      starts 1700000000;
      preferred-life 22;
      max-life 30;
    }
  }
  option dhcp6.client-id 0:1:0:1:2b:22:d7:f:2:42:ac:11:0:2;
  option dhcp6.server-id 0:1:0:1:aa:bb:cc:dd:0:0:0:0:0:1;
}
lease6 {
  interface "eth0";
  ia-na 42:ac:11:00 {
    starts 1700000011;
    iaaddr 2001:db8:1::1005 {
      starts 1700000011;
      preferred-life 22;
      max-life 30;
    }
  }
  option dhcp6.client-id 0:1:0:1:2b:22:d7:f:2:42:ac:11:0:2;
}
"#;

#[test]
fn dhclient_lease_file_gives_blocks_leases_lifetimes_and_the_duid() {
    let f = leases::parse_dhclient(DHCLIENT_FILE);
    assert_eq!(f.blocks.len(), 2);
    let duid = "000100012b22d70f0242ac110002";
    assert_eq!(f.default_duid.as_deref(), Some(duid));
    assert_eq!(f.client().as_deref(), Some(duid));
    assert_eq!(
        f.blocks[0].server.as_deref(),
        Some("00010001aabbccdd000000000001")
    );
    let first = &f.blocks[0].leases;
    assert_eq!(first.len(), 2);
    assert_eq!(first[0].lease, Lease::parse("2001:db8:1::1005").unwrap());
    assert_eq!((first[0].starts, first[0].valid), (1_700_000_000, 30));
    assert_eq!(
        first[1].lease,
        Lease::parse("2001:db8:100:300::/56").unwrap()
    );
    // The current lease is the newest block's.
    assert_eq!(f.current().len(), 1);
    assert_eq!(f.current()[0].expires(), 1_700_000_041);
    // A file cut in the middle of a block keeps what it had and does not panic.
    let cut = &DHCLIENT_FILE[..DHCLIENT_FILE.find("max-life").unwrap()];
    let f = leases::parse_dhclient(cut);
    assert_eq!(f.blocks.len(), 1);
    assert_eq!(f.blocks[0].leases.len(), 1);
    assert!(leases::parse_dhclient("").blocks.is_empty());
}

#[test]
fn dhclient_default_duid_with_printable_bytes_matches_its_client_id() {
    // Written by isc-dhcp-client 4.4.3-P1 on this machine kind (against Kea 2.2): printable
    // bytes of the DUID appear as themselves, the rest as octal escapes.
    let text = "default-duid \"\\000\\001\\000\\0012\\243\\376\\273~\\025m\\353\\327\\334\";\n\
                lease6 {\n  option dhcp6.client-id 0:1:0:1:32:a3:fe:bb:7e:15:6d:eb:d7:dc;\n}\n";
    let f = leases::parse_dhclient(text);
    assert_eq!(
        f.default_duid.as_deref(),
        Some("0001000132a3febb7e156debd7dc")
    );
    assert_eq!(f.blocks[0].client, f.default_duid);
}

/// A REPLY: client id, server id, IA_NA with one IAADDR, IA_PD with one IAPREFIX.
fn crafted_reply() -> Vec<u8> {
    let opt = |code: u16, body: &[u8]| {
        let mut v = code.to_be_bytes().to_vec();
        v.extend((body.len() as u16).to_be_bytes());
        v.extend(body);
        v
    };
    let mut m = vec![7, 0x12, 0x34, 0x56];
    m.extend(opt(1, &[0, 3, 0, 1, 2, 0x42, 0xac, 0x11, 0, 3]));
    m.extend(opt(2, &[0, 3, 0, 1, 2, 0x42, 0xac, 0x11, 0, 1]));
    let mut iaaddr: Vec<u8> = "2001:db8:1::1007"
        .parse::<std::net::Ipv6Addr>()
        .unwrap()
        .octets()
        .to_vec();
    iaaddr.extend(22u32.to_be_bytes());
    iaaddr.extend(30u32.to_be_bytes());
    let mut ia_na = vec![0, 0, 0, 1, 0, 0, 0, 11, 0, 0, 0, 18];
    ia_na.extend(opt(5, &iaaddr));
    m.extend(opt(3, &ia_na));
    let mut iaprefix = 22u32.to_be_bytes().to_vec();
    iaprefix.extend(30u32.to_be_bytes());
    iaprefix.push(56);
    iaprefix.extend(
        "2001:db8:100:500::"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    let mut ia_pd = vec![0, 0, 0, 2, 0, 0, 0, 11, 0, 0, 0, 18];
    ia_pd.extend(opt(26, &iaprefix));
    m.extend(opt(25, &ia_pd));
    m
}

#[test]
fn dhcpcd_lease_reply_gives_client_address_and_prefix_and_rejects_bad_lengths() {
    let m = leases::parse_dhcp6(&crafted_reply()).unwrap();
    assert_eq!(m.msg_type, 7);
    assert_eq!(m.client.as_deref(), Some("000300010242ac110003"));
    assert_eq!(m.leases.len(), 2);
    assert_eq!(m.leases[0].lease, Lease::parse("2001:db8:1::1007").unwrap());
    assert_eq!(m.leases[0].valid, 30);
    assert_eq!(
        m.leases[1].lease,
        Lease::parse("2001:db8:100:500::/56").unwrap()
    );
    let mut bad = crafted_reply();
    bad.truncate(bad.len() - 3);
    assert!(leases::parse_dhcp6(&bad).is_err());
    assert!(leases::parse_dhcp6(&[7, 0]).is_err());
}

#[test]
fn ctl_leases_json_is_read_and_only_active_leases_are_holdings() {
    let json = r#"[
      {"lease":"2001:db8:1::1005","status":"ACTIVE","client":"000100012B22","expires":1700000030,"update_pending":false},
      {"lease":"2001:db8:1::1006","status":"FREE","client":null,"expires":null,"update_pending":false},
      {"lease":"2001:db8:100:300::/56","status":"ACTIVE","client":"00:01:00:01:2b:22","expires":1700000030,"update_pending":true}
    ]"#;
    let db = leases::parse_db(json).unwrap();
    assert_eq!(db.len(), 3);
    assert!(db[2].update_pending);
    let h = leases::db_holdings(&db, "primary database");
    assert_eq!(h.len(), 2);
    assert!(h.iter().all(|h| h.client == "000100012b22"), "{h:?}");
    assert!(leases::parse_db("{}").is_err());
    assert_eq!(duid_hex("0:1:a:ff"), "00010aff");
}

#[test]
fn a_missing_tool_is_not_found() {
    assert!(net::find_tool("failover-no-such-tool-xyz").is_none());
    assert!(net::find_tool("sh").is_some());
}

// ---- the lab on its own ---------------------------------------------------------------------

const ECHO: &str = r#"
import socket, struct, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", int(sys.argv[1])))
idx = socket.if_nametoindex(sys.argv[2])
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, "ff02::1:2") + struct.pack("@I", idx))
while True:
    d, a = s.recvfrom(4096)
    s.sendto(b"echo:" + d, a)
"#;

const ASK: &str = r#"
import socket, sys
dst, port, dev = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(0.5)
addr = (dst, port, 0, socket.if_nametoindex(dev)) if dst.startswith("ff") or dst.startswith("fe80") else (dst, port)
for _ in range(int(sys.argv[4])):
    try:
        s.sendto(b"hello", addr)
        d, a = s.recvfrom(4096)
        print(d.decode(), a[0])
        sys.exit(0)
    except OSError as e:
        print("no answer:", e, file=sys.stderr)
sys.exit(1)
"#;

#[test]
fn lab_bridge_carries_multicast_partner_link_can_be_cut_and_drop_removes_everything() {
    let _g = serial();
    let Some(mut lab) = Lab::new("lab self-test", &[Tool::Python3]) else {
        return;
    };
    let a = lab.add_ns("a");
    let b = lab.add_ns("b");
    let c = lab.add_ns("c");
    lab.attach(&a, "eth0", Some("2001:db8:1::a/64"));
    lab.attach(&b, "eth0", Some("2001:db8:1::b/64"));
    lab.attach(&c, "eth0", None);
    lab.link(&a, &b, "part0", "fd00:fa11::1/64", "fd00:fa11::2/64");
    lab.spawn(&a, "echo-a", &["python3", "-c", ECHO, "5547", "eth0"]);
    lab.spawn(&b, "echo-b", &["python3", "-c", ECHO, "5547", "eth0"]);
    std::thread::sleep(Duration::from_millis(300));
    // ff02::1:2 from a client with only a link-local address reaches a server leg (mcast
    // snooping off): both echo servers answer; the first answer is printed.
    let out = python_in(&lab, &c, ASK, &["ff02::1:2", "5547", "eth0", "10"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.starts_with("echo:hello fe80:"),
        "multicast over the bridge: {text}{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        lab.logs(5)
    );
    // Unicast on the client link and on the partner link.
    for (from, dst) in [(&a, "2001:db8:1::b"), (&b, "fd00:fa11::1")] {
        let out = python_in(&lab, from, ASK, &[dst, "5547", "eth0", "10"]);
        assert!(
            out.status.success(),
            "unicast to {dst}: {out:?}\n{}",
            lab.logs(5)
        );
    }
    // Cut the partner link: no answer; heal: answers again, the address still there.
    lab.set_link(&a, "part0", false, None);
    let out = python_in(&lab, &b, ASK, &["fd00:fa11::1", "5547", "eth0", "3"]);
    assert!(
        !out.status.success(),
        "the cut partner link still carries: {out:?}"
    );
    lab.set_link(&a, "part0", true, Some("fd00:fa11::1/64"));
    let out = python_in(&lab, &b, ASK, &["fd00:fa11::1", "5547", "eth0", "20"]);
    assert!(out.status.success(), "the healed partner link: {out:?}");
    let names = lab.namespaces.clone();
    let dir = lab.dir.clone();
    assert!(names.iter().all(|n| net::namespaces_now().contains(n)));
    drop(lab);
    let left: Vec<String> = net::namespaces_now()
        .into_iter()
        .filter(|n| names.contains(n))
        .collect();
    assert!(left.is_empty(), "namespaces left after Drop: {left:?}");
    assert!(!dir.exists(), "{} left after Drop", dir.display());
}

// ---- the pair on a real network ---------------------------------------------------------------

const NORMAL_WITHIN: Duration = Duration::from_secs(30);
const BIND_WITHIN: Duration = Duration::from_secs(20);

/// Wait until `role`'s database holds every one of `holdings` as ACTIVE for that client.
fn wait_db_holds(pair: &Pair, role: Role, holdings: &[Holding], limit: Duration) {
    net::wait_for(
        &format!(
            "the {} database to hold {holdings:?} as ACTIVE",
            role.name()
        ),
        limit,
        || {
            let db = pair.leases(role)?;
            for h in holdings {
                let ok = db.iter().any(|l| {
                    l.lease == h.lease
                        && l.status == "ACTIVE"
                        && l.client.as_deref() == Some(&h.client)
                });
                if !ok {
                    let seen: Vec<_> = db.iter().filter(|l| l.lease == h.lease).collect();
                    return Err(format!(
                        "{} ({}) not ACTIVE for {}: {seen:?}",
                        h.lease, h.source, h.client
                    ));
                }
            }
            Ok(())
        },
        || pair.context(),
    );
}

/// Every binding in `holdings` is ACTIVE for its client in at least one of the two databases.
fn wait_some_db_holds(pair: &Pair, holdings: &[Holding], limit: Duration) {
    net::wait_for(
        &format!("a database to hold each of {holdings:?}"),
        limit,
        || {
            let mut db = pair.leases(Role::Primary)?;
            db.extend(pair.leases(Role::Secondary)?);
            for h in holdings {
                if !db.iter().any(|l| {
                    l.lease == h.lease
                        && l.status == "ACTIVE"
                        && l.client.as_deref() == Some(&h.client)
                }) {
                    return Err(format!(
                        "{} of {} ({}) is in neither database",
                        h.lease, h.client, h.source
                    ));
                }
            }
            Ok(())
        },
        || pair.context(),
    );
}

/// No address or prefix held by two clients, across the given client records and both databases.
fn assert_no_duplicates(pair: &Pair, mut holdings: Vec<Holding>) {
    holdings.extend(pair.db_holdings());
    let c = conflicts(&holdings);
    assert!(
        c.is_empty(),
        "duplicates:\n{}\n{}",
        c.join("\n"),
        pair.context()
    );
}

#[test]
fn dhclient_and_dhcpcd_get_address_and_prefix_renew_release_and_the_secondary_holds_them_by_bndupd()
{
    let _g = serial();
    let t0 = Instant::now();
    let Some(mut pair) = Pair::new(
        "IA_NA and IA_PD with dhclient and dhcpcd",
        &[Tool::Dhclient, Tool::Dhcpcd],
        Settings::default(),
    ) else {
        return;
    };
    pair.start_both();
    let normal = pair.wait_normal(NORMAL_WITHIN);
    let dc = Dhclient::start(&mut pair, "c1");
    let dd = Dhcpcd::start(&mut pair, "c2");
    let f = dc.wait_bound(&pair, BIND_WITHIN);
    dd.wait_bound(&pair, BIND_WITHIN);
    let bound = t0.elapsed();
    let mut held = dc.holdings();
    held.extend(dd.holdings());
    assert_eq!(held.len(), 4, "an address and a prefix each: {held:?}");
    // The secondary holds every binding by BNDUPD (and the primary, which served them).
    wait_db_holds(&pair, Role::Secondary, &held, Duration::from_secs(10));
    wait_db_holds(&pair, Role::Primary, &held, Duration::from_secs(10));
    assert_no_duplicates(&pair, held.clone());
    // Renew: dhclient writes a new lease block with the same leases; dhcpcd sends Renew and
    // rewrites its lease. (T1 is a share of a 30 s lifetime.)
    let dhcpcd_lease_time = std::fs::metadata(dd.var_dir.join("eth0.lease6"))
        .and_then(|m| m.modified())
        .unwrap();
    let renewed = dc.wait_more_blocks(&pair, f.blocks.len(), Duration::from_secs(40));
    let mut now_held: Vec<Lease> = renewed.current().iter().map(|l| l.lease).collect();
    let mut before: Vec<Lease> = f.current().iter().map(|l| l.lease).collect();
    now_held.sort();
    before.sort();
    assert_eq!(
        now_held, before,
        "dhclient's renew kept its address and prefix"
    );
    net::wait_for(
        "dhcpcd to renew (RENEW6 sent, a second REPLY6, its lease file rewritten)",
        Duration::from_secs(40),
        || {
            let t = std::fs::metadata(dd.var_dir.join("eth0.lease6"))
                .and_then(|m| m.modified())
                .map_err(|e| e.to_string())?;
            let (renews, replies) = (dd.log_count("RENEW6"), dd.log_count("REPLY6 received"));
            if t > dhcpcd_lease_time && renews > 0 && replies >= 2 {
                Ok(())
            } else {
                Err(format!(
                    "{renews} RENEW6 lines, {replies} replies, lease file rewritten: {}",
                    t > dhcpcd_lease_time
                ))
            }
        },
        || pair.context(),
    );
    let renew = t0.elapsed();
    assert_eq!(
        dd.holdings().len(),
        2,
        "dhcpcd kept an address and a prefix: {:?}",
        dd.lease()
    );
    // Release: both databases stop holding the leases for these clients.
    dc.release(&mut pair);
    dd.release(&mut pair);
    for role in [Role::Primary, Role::Secondary] {
        net::wait_for(
            &format!(
                "the {} database to no longer hold the released leases",
                role.name()
            ),
            Duration::from_secs(15),
            || {
                let db = pair.leases(role)?;
                let still: Vec<_> = db
                    .iter()
                    .filter(|l| {
                        l.status == "ACTIVE"
                            && held
                                .iter()
                                .any(|h| h.lease == l.lease && Some(&h.client) == l.client.as_ref())
                    })
                    .collect();
                if still.is_empty() {
                    Ok(())
                } else {
                    Err(format!("still ACTIVE: {still:?}"))
                }
            },
            || pair.context(),
        );
    }
    eprintln!(
        "timings: NORMAL after {:.1} s, both bound at {:.1} s, renewed at {:.1} s, released at {:.1} s",
        normal.as_secs_f64(),
        bound.as_secs_f64(),
        renew.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn partition_then_partner_down_keeps_clients_served_and_heal_returns_both_to_normal_without_duplicates(
) {
    let _g = serial();
    let t0 = Instant::now();
    let Some(mut pair) = Pair::new(
        "partition and partner-down",
        &[Tool::Dhclient],
        Settings::default(),
    ) else {
        return;
    };
    pair.start_both();
    pair.wait_normal(NORMAL_WITHIN);
    let c1 = Dhclient::start(&mut pair, "c1");
    let f1 = c1.wait_bound(&pair, BIND_WITHIN);
    wait_db_holds(
        &pair,
        Role::Secondary,
        &c1.holdings(),
        Duration::from_secs(10),
    );
    // Cut: both notice (keepalive 4 s).
    pair.cut_partner();
    let cut = Instant::now();
    for r in [Role::Primary, Role::Secondary] {
        pair.wait_state(r, "COMMUNICATIONS-INTERRUPTED", Duration::from_secs(30));
    }
    let noticed = cut.elapsed();
    // The operator tells the primary its partner is down.
    pair.ctl(Role::Primary, &["partner-down"])
        .unwrap_or_else(|e| panic!("{e}\n{}", pair.context()));
    pair.wait_state(Role::Primary, "PARTNER-DOWN", Duration::from_secs(10));
    // Clients keep being served: a new client binds, the first one renews.
    let c2 = Dhclient::start(&mut pair, "c2");
    c2.wait_bound(&pair, BIND_WITHIN);
    c1.wait_more_blocks(&pair, f1.blocks.len(), Duration::from_secs(40));
    assert_no_duplicates(&pair, [c1.holdings(), c2.holdings()].concat());
    // Heal: both back to NORMAL (through RECOVER / RECOVER-WAIT / RECOVER-DONE, MCLT 5 s).
    pair.heal_partner();
    let (back, pseq, sseq) = pair.wait_normal_traced(Duration::from_secs(60));
    let held = [c1.holdings(), c2.holdings()].concat();
    // Resynchronised: every binding a client holds, including the one made during the
    // partition, is in both databases; none is held twice.
    wait_db_holds(&pair, Role::Primary, &held, Duration::from_secs(10));
    wait_db_holds(&pair, Role::Secondary, &held, Duration::from_secs(10));
    assert_no_duplicates(&pair, held);
    eprintln!(
        "timings: COMMUNICATIONS-INTERRUPTED {:.1} s after the cut, NORMAL {:.1} s after the heal \
         (primary {}; secondary {}), {:.1} s in all",
        noticed.as_secs_f64(),
        back.as_secs_f64(),
        pseq.join(" -> "),
        sseq.join(" -> "),
        t0.elapsed().as_secs_f64()
    );
}

/// perfdhcp's "received packets" counts (one per exchange step answered); 0 when absent.
fn perfdhcp_received(out: &str) -> u64 {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("received packets:"))
        .filter_map(|v| v.trim().parse::<u64>().ok())
        .sum()
}

#[test]
fn kill_9_of_either_server_under_perfdhcp_load_restarts_from_storage_resyncs_and_loses_or_duplicates_nothing(
) {
    let _g = serial();
    let t0 = Instant::now();
    let Some(mut pair) = Pair::new(
        "kill -9 under load",
        &[Tool::Dhclient, Tool::Perfdhcp],
        Settings::default(),
    ) else {
        return;
    };
    pair.start_both();
    pair.wait_normal(NORMAL_WITHIN);
    let mut clients = Vec::new();
    let mut timings = Vec::new();
    for (round, victim) in [Role::Primary, Role::Secondary].into_iter().enumerate() {
        let load = Perfdhcp::start(&mut pair, &format!("load{round}"), 50, 6);
        let c = Dhclient::start(&mut pair, &format!("c{round}"));
        c.wait_bound(&pair, BIND_WITHIN);
        std::thread::sleep(Duration::from_secs(1));
        pair.kill9(victim);
        let killed = Instant::now();
        // The survivor notices (the kernel closed the dead server's connection).
        let survivor = match victim {
            Role::Primary => Role::Secondary,
            Role::Secondary => Role::Primary,
        };
        net::wait_for(
            &format!("the {} to see its partner gone", survivor.name()),
            Duration::from_secs(15),
            || {
                let st = pair.status(survivor)?;
                if st["connected"] == false {
                    Ok(())
                } else {
                    Err(format!("{st}"))
                }
            },
            || pair.context(),
        );
        std::thread::sleep(Duration::from_secs(1));
        pair.start(victim);
        let (_, pseq, sseq) = pair.wait_normal_traced(Duration::from_secs(60));
        timings.push(format!(
            "{} back to NORMAL {:.1} s after kill -9 (primary {}; secondary {})",
            victim.name(),
            killed.elapsed().as_secs_f64(),
            pseq.join(" -> "),
            sseq.join(" -> ")
        ));
        let out = load.finish(&mut pair);
        assert!(
            perfdhcp_received(&out) > 0,
            "perfdhcp got no answers:\n{out}"
        );
        let drops: Vec<&str> = out.lines().filter(|l| l.starts_with("drops:")).collect();
        timings.push(format!(
            "perfdhcp {} received, {}",
            perfdhcp_received(&out),
            drops.join(" ")
        ));
        clients.push(c);
    }
    // Every binding a dhclient was given is in a database; nothing held twice (perfdhcp's
    // clients included, through the databases).
    let held: Vec<Holding> = clients.iter().flat_map(|c| c.holdings()).collect();
    assert!(held.len() >= 4, "{held:?}");
    wait_some_db_holds(&pair, &held, Duration::from_secs(10));
    // After resynchronisation the two databases agree on them.
    wait_db_holds(&pair, Role::Primary, &held, Duration::from_secs(10));
    wait_db_holds(&pair, Role::Secondary, &held, Duration::from_secs(10));
    assert_no_duplicates(&pair, held);
    let active: usize = pair.db_holdings().len();
    eprintln!(
        "timings: {}; {active} ACTIVE leases in the two databases; {:.1} s in all",
        timings.join("; "),
        t0.elapsed().as_secs_f64()
    );
}

/// Send each hex datagram to ff02::1:2 port 547 on eth0.
const SEND_HEX: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
idx = socket.if_nametoindex("eth0")
for h in sys.argv[1:]:
    s.sendto(bytes.fromhex(h), ("ff02::1:2", 547, 0, idx))
print(len(sys.argv) - 1)
"#;

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn malformed_dhcpv6_packets_are_dropped_and_counted_and_the_server_keeps_serving() {
    let _g = serial();
    let Some(mut pair) = Pair::new(
        "malformed DHCPv6",
        &[Tool::Dhclient, Tool::Python3],
        Settings::default(),
    ) else {
        return;
    };
    pair.start_both();
    pair.wait_normal(NORMAL_WITHIN);
    let before = pair
        .dropped(Role::Primary)
        .unwrap_or_else(|e| panic!("{e}"));
    let cid = [0u8, 1, 0, 3, 0, 6, 0, 1, 0x02, 0x42, 0xac, 0x11, 0, 9]; // option 1, DUID-LL
    let mut packets: Vec<Vec<u8>> = Vec::new();
    packets.push(vec![1]); // truncated: less than a header
    packets.push(vec![1, 0xaa, 0xbb]); // truncated header
    let mut p = vec![1, 0, 0, 1];
    p.extend([0, 1, 0, 100, 0, 1, 0, 3]); // CLIENTID claims 100 bytes, has 4
    packets.push(p);
    let mut p = vec![1, 0, 0, 2];
    p.extend(cid);
    p.extend([0, 3, 0, 4, 0, 0, 0, 1]); // IA_NA of 4 bytes (12 at least)
    packets.push(p);
    let mut p = vec![3, 0, 0, 3];
    p.extend(cid);
    p.extend([0, 25, 0, 12, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
    p.extend([0, 26, 0, 3, 1, 2, 3]); // IAPREFIX of 3 bytes, outside the IA_PD's length too
    packets.push(p);
    let mut p = vec![200, 0, 0, 4]; // unknown message type
    p.extend(cid);
    packets.push(p);
    let mut p = vec![1, 0, 0, 5]; // oversized: a 5,000-byte option
    p.extend(cid);
    p.extend([0x12, 0x34, 0x13, 0x88]);
    p.extend(std::iter::repeat(0x5a).take(5000));
    packets.push(p);
    let c = pair.add_client_ns("bad");
    let args: Vec<String> = packets.iter().map(|p| hexs(p)).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = python_in(&pair.lab, &c, SEND_HEX, &argv);
    assert!(out.status.success(), "sending: {out:?}");
    let sent = packets.len() as u64;
    let counted = net::wait_for(
        &format!("the primary to count {sent} more dropped packets"),
        Duration::from_secs(10),
        || {
            let d = pair.dropped(Role::Primary)?;
            if d >= before + sent {
                Ok(d - before)
            } else {
                Err(format!(
                    "dropped {} more: {:?}",
                    d - before,
                    pair.status(Role::Primary).map(|s| s["dhcp"].clone())
                ))
            }
        },
        || pair.context(),
    );
    // Still serving: a real client binds, both servers still NORMAL.
    let c1 = Dhclient::start(&mut pair, "c1");
    c1.wait_bound(&pair, BIND_WITHIN);
    for r in [Role::Primary, Role::Secondary] {
        assert_eq!(pair.state(r).unwrap(), "NORMAL", "{}", pair.context());
    }
    eprintln!(
        "{sent} malformed datagrams, {counted} counted as dropped by the primary: {}",
        pair.status(Role::Primary)
            .map(|s| s["dhcp"].to_string())
            .unwrap_or_default()
    );
}

/// Connect to the secondary's partner port from `src`, send each hex payload on its own
/// connection, and report for each whether the server closed it (within 15 s).
const GARBAGE: &str = r#"
import socket, sys, time
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
closed = 0
for h in sys.argv[4:]:
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(15)
    s.connect((dst, port))
    try:
        s.sendall(bytes.fromhex(h))
        t = time.time()
        while True:
            d = s.recv(4096)
            if not d:
                break
        print("closed after %.1f s" % (time.time() - t))
        closed += 1
    except ConnectionResetError:
        print("reset")
        closed += 1
    except socket.timeout:
        print("still open after 15 s:", h[:40])
    s.close()
sys.exit(0 if closed == len(sys.argv) - 4 else 1)
"#;

#[test]
fn garbage_on_the_partner_port_from_the_right_address_is_disconnected_and_changes_no_binding() {
    let _g = serial();
    let Some(mut pair) = Pair::new(
        "garbage on the partner port",
        &[Tool::Dhclient, Tool::Python3],
        Settings::default(),
    ) else {
        return;
    };
    pair.start_both();
    pair.wait_normal(NORMAL_WITHIN);
    let c1 = Dhclient::start(&mut pair, "c1");
    c1.wait_bound(&pair, BIND_WITHIN);
    wait_db_holds(
        &pair,
        Role::Secondary,
        &c1.holdings(),
        Duration::from_secs(10),
    );
    // The primary goes (its address free for us); the secondary's bindings are the reference.
    pair.terminate(Role::Primary);
    pair.wait_state(
        Role::Secondary,
        "COMMUNICATIONS-INTERRUPTED",
        Duration::from_secs(20),
    );
    let key = |db: Vec<leases::DbLease>| -> BTreeMap<Lease, (String, Option<String>)> {
        db.into_iter()
            .map(|l| (l.lease, (l.status, l.client)))
            .collect()
    };
    let before = key(pair.leases(Role::Secondary).unwrap());
    let mut payloads: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.0\r\n\r\n".to_vec(),
        (0..200u32).map(|i| (i * 37 % 251) as u8).collect(),
    ];
    // A BNDUPD (24) frame whose option claims more bytes than the frame has.
    let mut m = vec![24, 0, 0, 7, 0, 13, 0, 200, 1, 2, 3, 4];
    let mut f = (m.len() as u16).to_be_bytes().to_vec();
    f.append(&mut m);
    payloads.push(f);
    // A frame length of 2 (shorter than a message header), then junk.
    payloads.push(vec![0, 2, 24, 0, 0xff, 0xff, 0xff]);
    let args: Vec<String> = payloads.iter().map(|p| hexs(p)).collect();
    let mut argv = vec![pair::PRIMARY_PARTNER, pair::SECONDARY_PARTNER, "647"];
    argv.extend(args.iter().map(String::as_str));
    let out = python_in(&pair.lab, &pair.p.ns.clone(), GARBAGE, &argv);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the secondary kept a garbage connection open:\n{text}\n{}",
        pair.context()
    );
    // A connection from another address is refused or closed at once.
    pair.lab.ns_ip(
        &pair.p.ns,
        &[
            "addr",
            "add",
            "fd00:fa11::99/64",
            "dev",
            pair::PARTNER_DEV,
            "nodad",
        ],
    );
    let out = python_in(
        &pair.lab,
        &pair.p.ns.clone(),
        GARBAGE,
        &["fd00:fa11::99", pair::SECONDARY_PARTNER, "647", "00"],
    );
    assert!(
        out.status.success() || String::from_utf8_lossy(&out.stderr).contains("Connection refused"),
        "a stranger's connection stayed open: {out:?}"
    );
    let after = key(pair.leases(Role::Secondary).unwrap());
    assert_eq!(before, after, "the secondary's bindings changed");
    assert!(
        pair.status(Role::Secondary).is_ok(),
        "the secondary stopped answering"
    );
    eprintln!("garbage connections: {}", text.trim().replace('\n', "; "));
}
