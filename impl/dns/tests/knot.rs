//! The RFC 2136 client against a real DNS server: Knot DNS (`knotd`, Debian package `knot`),
//! started by the test on a free loopback port with a forward zone and an `ip6.arpa` zone that
//! accept updates from 127.0.0.1, then stopped. The test adds AAAA and PTR records, queries the
//! server to see them, removes them and sees them gone; a remove of a name that now points
//! elsewhere leaves that record alone (the value-dependent prerequisite).
//!
//! Without `knotd` the test prints a "skipped" line and passes, unless FAILOVER_REQUIRE_DNS is
//! set (CI sets it, after installing knot): then it fails.

use std::fs;
use std::net::{Ipv6Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use failover_dns::{DnsUpdater, Records, Rfc2136Client};
use hickory_proto::rr::{Name, RecordType};

const FORWARD: &str = "example.com";
const REVERSE: &str = "8.b.d.0.1.0.0.2.ip6.arpa";

fn knotd() -> Option<PathBuf> {
    ["/usr/sbin/knotd", "/usr/bin/knotd", "/usr/local/sbin/knotd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// The daemon, killed (and its directory removed) on drop, also when an assertion fails.
struct Knot {
    child: Child,
    dir: PathBuf,
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

fn write_zone(dir: &Path, zone: &str) {
    let text = format!(
        "$ORIGIN {zone}.\n$TTL 300\n\
         @ IN SOA ns.{FORWARD}. hostmaster.{FORWARD}. 1 3600 600 86400 300\n\
         @ IN NS ns.{FORWARD}.\n"
    );
    let text = if zone == FORWARD {
        text + "ns IN AAAA ::1\n"
    } else {
        text
    };
    fs::write(dir.join(format!("{zone}.zone")), text).expect("zone file");
}

fn start(bin: &Path) -> (Knot, SocketAddr) {
    let dir = std::env::temp_dir().join(format!("failover-dns-knot-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("db")).expect("temp dir");
    let port = free_port();
    let d = dir.display();
    let conf = format!(
        "server:\n    rundir: \"{d}\"\n    listen: 127.0.0.1@{port}\n\
         database:\n    storage: \"{d}/db\"\n\
         control:\n    listen: \"{d}/knot.sock\"\n\
         log:\n  - target: stderr\n    any: warning\n\
         acl:\n  - id: local_update\n    address: 127.0.0.1\n    action: update\n\
         template:\n  - id: default\n    storage: \"{d}\"\n    file: \"%s.zone\"\n    zonefile-sync: -1\n\
         zone:\n  - domain: {FORWARD}\n    acl: local_update\n  - domain: {REVERSE}\n    acl: local_update\n"
    );
    fs::write(dir.join("knot.conf"), conf).expect("config");
    write_zone(&dir, FORWARD);
    write_zone(&dir, REVERSE);
    let child = Command::new(bin)
        .arg("-c")
        .arg(dir.join("knot.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("knotd starts");
    let knot = Knot { child, dir };
    let server: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // Wait until it answers for the zone.
    let mut probe = Rfc2136Client::new(server, FORWARD, REVERSE).unwrap();
    probe.timeout = Duration::from_millis(200);
    let deadline = Instant::now() + Duration::from_secs(20);
    let soa = Name::from_ascii(format!("{FORWARD}.")).unwrap();
    loop {
        if probe
            .query(&soa, RecordType::SOA)
            .is_ok_and(|r| !r.is_empty())
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "knotd did not answer within 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (knot, server)
}

#[test]
fn rfc2136_updates_against_a_real_knot_server() {
    let Some(bin) = knotd() else {
        if std::env::var_os("FAILOVER_REQUIRE_DNS").is_some() {
            panic!("knotd not found and FAILOVER_REQUIRE_DNS is set: install knot");
        }
        println!("skipped: install knot/bind9 (Debian: apt-get install knot) to run this test");
        return;
    };
    let (_knot, server) = start(&bin);
    let mut c = Rfc2136Client::new(server, FORWARD, REVERSE).unwrap();
    let a: Ipv6Addr = "2001:db8::7".parse().unwrap();
    let both = Records {
        forward: true,
        reverse: true,
    };
    let fqdn = "laptop.example.com.";

    c.add(fqdn, a, both).expect("add");
    assert_eq!(c.lookup_aaaa(fqdn).unwrap(), vec![a]);
    assert_eq!(c.lookup_ptr(a).unwrap(), vec![fqdn.to_string()]);
    // Adding again is harmless.
    c.add(fqdn, a, both).expect("idempotent add");

    c.remove(fqdn, a, both).expect("remove");
    assert!(c.lookup_aaaa(fqdn).unwrap().is_empty());
    assert!(c.lookup_ptr(a).unwrap().is_empty());
    // Removing what is gone is not an error (a remove asked again after a crash).
    c.remove(fqdn, a, both).expect("remove of absent records");

    // The name now points elsewhere (another server's client): our remove leaves it.
    let other: Ipv6Addr = "2001:db8::8".parse().unwrap();
    c.add(fqdn, other, both).expect("add other");
    c.remove(fqdn, a, both).expect("remove of records not ours");
    assert_eq!(c.lookup_aaaa(fqdn).unwrap(), vec![other]);
    c.remove(fqdn, other, both).expect("cleanup");
    assert!(c.lookup_aaaa(fqdn).unwrap().is_empty());

    // A zone the server does not serve: a clear refusal.
    let mut wrong = Rfc2136Client::new(server, "example.org", REVERSE).unwrap();
    let err = wrong
        .add(
            "x.example.org.",
            a,
            Records {
                forward: true,
                reverse: false,
            },
        )
        .unwrap_err();
    assert!(matches!(err, failover_dns::DnsError::Refused(_)), "{err}");
}
