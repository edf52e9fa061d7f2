//! `failover serve` as a process, on loopback: the partner link over real TCP, the operator
//! socket, signals, and the errors a server names when it cannot start. (Real DHCPv6 clients in
//! network namespaces are in tests/daemon_net.rs.)
//!
//! Timings: MCLT 2 s and STARTUP 1 s keep a fresh pair's way to NORMAL (PARTNER-DOWN/RECOVER,
//! RECOVER-WAIT for the MCLT, RECOVER-DONE, NORMAL; RFC 8156 §8.2-§8.7) to a few seconds; every
//! wait has a deadline of 20 s, generous for a loaded 2-core machine.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "common/serve_config.rs"]
mod serve_config;

#[path = "daemon_loopback/tls.rs"]
mod tls;

#[path = "daemon_loopback/wire.rs"]
mod wire;
#[path = "daemon_loopback/wire_scenarios.rs"]
mod wire_scenarios;

#[path = "daemon_loopback/interop.rs"]
mod interop;

#[path = "daemon_loopback/wire_tls.rs"]
mod wire_tls;

#[path = "daemon_loopback/wire_pcap.rs"]
mod wire_pcap;

const BIN: &str = env!("CARGO_BIN_EXE_failover");
const DEADLINE: Duration = Duration::from_secs(20);

/// A free TCP port on ::1 (and, by luck, the same number free for UDP).
fn free_port() -> u16 {
    let l = TcpListener::bind("[::1]:0").unwrap();
    let p = l.local_addr().unwrap().port();
    drop(l);
    p
}

struct Pair {
    dir: tempfile::TempDir,
    /// The secondary's partner port.
    partner_port: u16,
    dhcp_ports: [u16; 2],
}

impl Pair {
    fn new() -> Pair {
        Pair {
            dir: tempfile::tempdir().unwrap(),
            partner_port: free_port(),
            dhcp_ports: [free_port(), free_port()],
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Write the configuration of `role` ("primary" or "secondary") and return its path.
    fn config(&self, role: &str, secondary_listen: &str) -> PathBuf {
        let port = if role == "primary" {
            self.dhcp_ports[0]
        } else {
            self.dhcp_ports[1]
        };
        serve_config::write(
            self.dir.path(),
            role,
            secondary_listen,
            self.partner_port,
            port,
        )
    }

    fn socket(&self, role: &str) -> PathBuf {
        self.path(&format!("{role}.sock"))
    }
}

/// A running `failover serve`, killed when dropped; its log is kept in a file.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn start(config: &Path, log: PathBuf) -> Server {
        Server::start_with(config, log, &[])
    }

    fn start_with(config: &Path, log: PathBuf, extra: &[&str]) -> Server {
        let err = fs::File::create(&log).unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(config)
            .args(extra)
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap();
        Server { child, log }
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig}");
    }

    /// Wait for the process to exit; its exit code.
    fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < within {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `failover serve --config CONFIG` expected to stop by itself (a start-up error).
fn serve_once(config: &Path) -> std::process::Output {
    Command::new(BIN)
        .args(["serve", "--config"])
        .arg(config)
        .output()
        .unwrap()
}

fn ctl(socket: &Path, args: &[&str]) -> Result<Value, String> {
    let out = Command::new(BIN)
        .args(["ctl", "--json", "--socket"])
        .arg(socket)
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Err(format!("{text}{}", String::from_utf8_lossy(&out.stderr)));
    }
    serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
}

/// Poll `status` until `pred` holds; panics with the last status and the log otherwise.
fn wait_status(socket: &Path, server: &Server, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    let mut last = Err(String::from("never asked"));
    while start.elapsed() < DEADLINE {
        last = ctl(socket, &["status"]);
        if let Ok(v) = &last {
            if pred(v) {
                return v.clone();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = server.log_text();
    let tail: Vec<&str> = log.lines().rev().take(30).collect();
    panic!(
        "timed out waiting for {what}; last status {last:?}\nlast log lines (newest first):\n{}",
        tail.join("\n")
    );
}

fn state(v: &Value) -> &str {
    v["state"].as_str().unwrap_or("")
}

fn both_normal(pair: &Pair, p: &Server, s: &Server) {
    wait_status(&pair.socket("primary"), p, "primary NORMAL", |v| {
        state(v) == "NORMAL" && v["partner_state"] == "NORMAL"
    });
    wait_status(&pair.socket("secondary"), s, "secondary NORMAL", |v| {
        state(v) == "NORMAL" && v["partner_state"] == "NORMAL"
    });
}

#[test]
fn a_fresh_pair_reaches_normal_over_tcp_and_logs_each_transition_with_its_section() {
    let pair = Pair::new();
    let s = Server::start(&pair.config("secondary", "[::1]"), pair.path("s.log"));
    let p = Server::start(&pair.config("primary", ""), pair.path("p.log"));
    both_normal(&pair, &p, &s);
    let st = ctl(&pair.socket("primary"), &["status"]).unwrap();
    assert_eq!(st["role"], "primary");
    assert_eq!(st["communications_ok"], true);
    assert_eq!(st["connected"], true);
    assert_eq!(st["mclt"], 2);
    let counts = st["leases_by_status"].as_object().unwrap();
    let total: u64 = counts.values().map(|v| v.as_u64().unwrap()).sum();
    // 64 addresses and 16 /52 prefixes, the same database on both sides (RFC 8156 §4.1).
    assert_eq!(total, 64 + 16, "{st}");
    let leases = ctl(&pair.socket("secondary"), &["leases"]).unwrap();
    assert_eq!(leases.as_array().unwrap().len(), 80);
    // The secondary's way to NORMAL, each step with the section that governs it.
    let log = s.log_text();
    for step in [
        "state STARTUP -> RECOVER",
        "state RECOVER -> RECOVER-WAIT",
        "state RECOVER-WAIT -> RECOVER-DONE",
        "state RECOVER-DONE -> NORMAL",
    ] {
        assert!(log.contains(step), "missing {step:?} in\n{log}");
    }
    assert!(log.contains("RFC 8156 §8.6.2"), "{log}");
    // The two servers have different DUIDs that survive a restart (RFC 8415 §11).
    let duid_p = st["server_duid"].as_str().unwrap().to_string();
    let duid_s = ctl(&pair.socket("secondary"), &["status"]).unwrap()["server_duid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(duid_p, duid_s);
    assert!(duid_p.starts_with("0004"), "DUID-UUID: {duid_p}");
}

#[test]
fn json_logs_are_one_object_per_line_and_state_changes_carry_their_section() {
    let pair = Pair::new();
    let mut s = Server::start_with(
        &pair.config("secondary", "[::1]"),
        pair.path("s.log"),
        &["--log-format", "json"],
    );
    // A secondary alone leaves STARTUP for RECOVER after startup_time (RFC 8156 §8.3.2).
    wait_status(&pair.socket("secondary"), &s, "secondary in RECOVER", |v| {
        state(v) == "RECOVER"
    });
    s.signal("TERM");
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0));
    let log = s.log_text();
    let mut transitions = 0;
    for line in log.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        assert!(v["level"].is_string() && v["message"].is_string(), "{line}");
        if v["target"] == "failover::state" {
            assert_eq!(v["rfc"], "RFC 8156 §8.3.2", "{line}");
            assert_eq!(v["from"], "STARTUP");
            transitions += 1;
        }
    }
    assert_eq!(transitions, 1, "{log}");
}

#[test]
fn sigterm_disconnects_the_partner_and_a_restart_from_storage_returns_to_normal() {
    let pair = Pair::new();
    let mut s = Server::start(&pair.config("secondary", "[::1]"), pair.path("s.log"));
    let p = Server::start(&pair.config("primary", ""), pair.path("p.log"));
    both_normal(&pair, &p, &s);
    let duid = ctl(&pair.socket("secondary"), &["status"]).unwrap()["server_duid"].clone();
    s.signal("TERM");
    assert_eq!(
        s.wait_exit(Duration::from_secs(10)),
        Some(0),
        "{}",
        s.log_text()
    );
    assert!(s.log_text().contains("storage closed"));
    assert!(!pair.socket("secondary").exists(), "control socket removed");
    // The primary was told (DISCONNECT, RFC 8156 §5.3.10) and left NORMAL (§8.8.2).
    wait_status(
        &pair.socket("primary"),
        &p,
        "primary COMMUNICATIONS-INTERRUPTED",
        |v| state(v) == "COMMUNICATIONS-INTERRUPTED" && v["connected"] == false,
    );
    // Back from its file alone: same DUID, NORMAL again after the primary reconnects.
    let s2 = Server::start(&pair.config("secondary", "[::1]"), pair.path("s2.log"));
    both_normal(&pair, &p, &s2);
    let again = ctl(&pair.socket("secondary"), &["status"]).unwrap();
    assert_eq!(again["server_duid"], duid);
}

#[test]
fn kill_9_then_restart_from_the_file_alone_resynchronises() {
    let pair = Pair::new();
    let s = Server::start(&pair.config("secondary", "[::1]"), pair.path("s.log"));
    let mut p = Server::start(&pair.config("primary", ""), pair.path("p.log"));
    both_normal(&pair, &p, &s);
    p.signal("KILL");
    assert_eq!(
        p.wait_exit(Duration::from_secs(5)),
        None,
        "killed: no exit code"
    );
    wait_status(&pair.socket("secondary"), &s, "secondary notices", |v| {
        v["connected"] == false
    });
    drop(p);
    // The stale control socket of the killed process does not stop the restart.
    assert!(pair.socket("primary").exists());
    let p2 = Server::start(&pair.config("primary", ""), pair.path("p2.log"));
    both_normal(&pair, &p2, &s);
}

#[test]
fn the_secondary_refuses_a_connection_from_an_address_that_is_not_its_partner() {
    let pair = Pair::new();
    // Listen on every address; the configured partner is ::1, the intruder comes from 127.0.0.1.
    let s = Server::start(&pair.config("secondary", "[::]"), pair.path("s.log"));
    let before = wait_status(&pair.socket("secondary"), &s, "secondary up", |_| true);
    let mut intruder =
        TcpStream::connect(("127.0.0.1", pair.partner_port)).expect("connect over IPv4");
    intruder
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 64];
    let n = intruder.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the connection is closed without a word");
    let log = s.log_text();
    assert!(
        log.contains("refused a partner connection: not the configured partner")
            && log.contains("127.0.0.1"),
        "{log}"
    );
    let after = ctl(&pair.socket("secondary"), &["status"]).unwrap();
    assert_eq!(after["state"], before["state"]);
    assert_eq!(after["connected"], false);
}

#[test]
fn a_partner_sending_garbage_is_disconnected_and_no_stored_binding_changes() {
    let pair = Pair::new();
    let s = Server::start(&pair.config("secondary", "[::1]"), pair.path("s.log"));
    wait_status(&pair.socket("secondary"), &s, "secondary up", |_| true);
    let before = ctl(&pair.socket("secondary"), &["leases"]).unwrap();
    let mut peer = TcpStream::connect(("::1", pair.partner_port)).unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // A message-size of 0 (RFC 5460 §5.1 framing): the stream cannot be resynchronised.
    peer.write_all(&[0, 0, 0xde, 0xad, 0xbe, 0xef]).unwrap();
    let mut got = Vec::new();
    let _ = peer.read_to_end(&mut got);
    // The server said DISCONNECT (msg-type 33 after the 2-octet length) before closing.
    assert!(got.len() > 2 && got[2] == 33, "{got:?}");
    let log = s.log_text();
    assert!(log.contains("framing lost"), "{log}");
    let after = ctl(&pair.socket("secondary"), &["leases"]).unwrap();
    assert_eq!(before, after);
    assert_eq!(
        ctl(&pair.socket("secondary"), &["status"]).unwrap()["connected"],
        false
    );
}

#[test]
fn operator_commands_are_refused_with_a_reason_where_they_do_not_apply() {
    let pair = Pair::new();
    let s = Server::start(&pair.config("secondary", "[::1]"), pair.path("s.log"));
    let p = Server::start(&pair.config("primary", ""), pair.path("p.log"));
    both_normal(&pair, &p, &s);
    let e = ctl(&pair.socket("primary"), &["partner-down"]).unwrap_err();
    assert!(
        e.contains("partner is connected") && e.contains("--force"),
        "{e}"
    );
    let e = ctl(&pair.socket("primary"), &["reset", "2001:db8:1::100"]).unwrap_err();
    assert!(e.contains("not ABANDONED"), "{e}");
    let e = ctl(&pair.socket("primary"), &["reset", "2001:db8:9::1"]).unwrap_err();
    assert!(e.contains("not a lease of this server"), "{e}");
    let e = ctl(&pair.socket("primary"), &["reset", "banana"]).unwrap_err();
    assert!(e.contains("not an address"), "{e}");
    // Cut the pair: now partner-down applies (RFC 8156 §8.9.2).
    let ok = ctl(&pair.socket("secondary"), &["shutdown"]).unwrap();
    assert_eq!(ok["ok"], true);
    wait_status(
        &pair.socket("primary"),
        &p,
        "primary COMMUNICATIONS-INTERRUPTED",
        |v| state(v) == "COMMUNICATIONS-INTERRUPTED",
    );
    let ok = ctl(&pair.socket("primary"), &["partner-down"]).unwrap();
    assert!(
        ok["message"]
            .as_str()
            .unwrap()
            .contains("COMMUNICATIONS-INTERRUPTED -> PARTNER-DOWN"),
        "{ok}"
    );
}

#[test]
fn a_server_that_cannot_start_names_the_port_file_or_socket() {
    let pair = Pair::new();
    let cfg = pair.config("secondary", "[::1]");
    // The DHCPv6 port is taken.
    let taken = UdpSocket::bind(("::1", pair.dhcp_ports[1])).unwrap();
    let out = serve_once(&cfg);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "cannot bind the DHCPv6 socket to [::1]:{}",
            pair.dhcp_ports[1]
        )),
        "{err}"
    );
    drop(taken);
    // The partner port is taken.
    let taken = TcpListener::bind(SocketAddr::from((
        std::net::Ipv6Addr::LOCALHOST,
        pair.partner_port,
    )))
    .unwrap();
    let out = serve_once(&cfg);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot listen for the partner on [::1]"),
        "{err}"
    );
    drop(taken);
    // Storage in a directory that does not exist.
    let text = fs::read_to_string(&cfg).unwrap().replace(
        ".redb\"\n",
        ".redb\"\nduid_file = \"/nonexistent-dir/x.duid\"\n",
    );
    let bad = pair.path("bad-storage.toml");
    fs::write(&bad, text).unwrap();
    let out = serve_once(&bad);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent-dir/x.duid"), "{err}");
    let text = fs::read_to_string(&cfg)
        .unwrap()
        .replace("secondary.redb", "missing/dir/secondary.redb");
    fs::write(&bad, text).unwrap();
    let out = serve_once(&bad);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot open storage")
            && err.contains("missing/dir/secondary.redb")
            && err.contains("No such file or directory"),
        "{err}"
    );
    // A configuration that does not validate: exit 2, the file named.
    fs::write(&bad, "role = \"tertiary\"\n").unwrap();
    let out = serve_once(&bad);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad-storage.toml"));
}

#[test]
fn a_second_server_on_the_same_control_socket_is_refused() {
    let pair = Pair::new();
    let s = Server::start(&pair.config("secondary", "[::1]"), pair.path("s.log"));
    wait_status(&pair.socket("secondary"), &s, "secondary up", |_| true);
    // Same control socket, other ports and storage.
    let text = fs::read_to_string(pair.path("secondary.toml"))
        .unwrap()
        .replace(&pair.partner_port.to_string(), &free_port().to_string())
        .replace(&pair.dhcp_ports[1].to_string(), &free_port().to_string())
        .replace("secondary.redb", "other.redb");
    let other = pair.path("other.toml");
    fs::write(&other, text).unwrap();
    let out = serve_once(&other);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another daemon is listening there"), "{err}");
    // The first one is unharmed.
    assert!(ctl(&pair.socket("secondary"), &["status"]).is_ok());
}

// ---- a DHCPv6 client behind a relay agent, on loopback -----------------------------------
//
// On loopback a client cannot reach ff02::1:2, and a server must discard a SOLICIT sent to its
// unicast address (RFC 8415 §16). A relay agent's RELAY-FORW is unicast by design (§19.1), so
// the test plays a relay: that exercises the relay path too. Real clients on a real link are in
// tests/daemon_net.rs.

mod relay {
    use std::net::{Ipv6Addr, UdpSocket};
    use std::time::Duration;

    use dhcproto::v6::{
        DhcpOption, DhcpOptions, IAAddr, IAPrefix, Message, MessageType, IANA, IAPD,
    };
    use dhcproto::{Decodable, Decoder, Encodable, Encoder};

    pub const CLIENT: &[u8] = &[0, 3, 0, 1, 0x02, 0, 0, 0, 0, 0x42];

    /// What the client holds.
    #[derive(Debug, Clone)]
    pub struct Held {
        pub addr: Ipv6Addr,
        pub addr_valid: u32,
        pub prefix: (Ipv6Addr, u8),
        pub server: Vec<u8>,
    }

    fn ia_na(addr: Option<Ipv6Addr>) -> DhcpOption {
        DhcpOption::IANA(IANA {
            id: 1,
            t1: 0,
            t2: 0,
            opts: addr
                .into_iter()
                .map(|addr| {
                    DhcpOption::IAAddr(IAAddr {
                        addr,
                        preferred_life: 0,
                        valid_life: 0,
                        opts: DhcpOptions::new(),
                    })
                })
                .collect(),
        })
    }

    fn ia_pd(prefix: Option<(Ipv6Addr, u8)>) -> DhcpOption {
        DhcpOption::IAPD(IAPD {
            id: 2,
            t1: 0,
            t2: 0,
            opts: prefix
                .into_iter()
                .map(|(prefix_ip, prefix_len)| {
                    DhcpOption::IAPrefix(IAPrefix {
                        preferred_lifetime: 0,
                        valid_lifetime: 0,
                        prefix_len,
                        prefix_ip,
                        opts: DhcpOptions::new(),
                    })
                })
                .collect(),
        })
    }

    pub fn message(kind: MessageType, server: Option<&[u8]>, held: Option<&Held>) -> Message {
        message_for(CLIENT, kind, server, held)
    }

    /// [`message`] from the client whose DUID is `client`.
    pub fn message_for(
        client: &[u8],
        kind: MessageType,
        server: Option<&[u8]>,
        held: Option<&Held>,
    ) -> Message {
        let mut m = Message::new(kind);
        m.opts_mut().insert(DhcpOption::ClientId(client.to_vec()));
        m.opts_mut().insert(DhcpOption::ElapsedTime(0));
        if let Some(s) = server {
            m.opts_mut().insert(DhcpOption::ServerId(s.to_vec()));
        }
        m.opts_mut().insert(ia_na(held.map(|h| h.addr)));
        m.opts_mut().insert(ia_pd(held.map(|h| h.prefix)));
        m
    }

    /// RELAY-FORW (RFC 8415 §9, §19.1.1) around `inner`, with an Interface-Id.
    fn relay_forw(inner: &Message) -> Vec<u8> {
        let mut inner_bytes = Vec::new();
        inner.encode(&mut Encoder::new(&mut inner_bytes)).unwrap();
        let mut out = vec![12u8, 0];
        out.extend_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1).octets());
        out.extend_from_slice(&Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x42).octets());
        for (code, data) in [(18u16, b"eth7".to_vec()), (9u16, inner_bytes)] {
            out.extend_from_slice(&code.to_be_bytes());
            out.extend_from_slice(&(data.len() as u16).to_be_bytes());
            out.extend_from_slice(&data);
        }
        out
    }

    /// The client message inside a RELAY-REPL, and the echoed Interface-Id.
    fn open_relay_repl(bytes: &[u8]) -> (Message, Option<Vec<u8>>) {
        assert_eq!(bytes[0], 13, "RELAY-REPL");
        let mut rest = &bytes[34..];
        let (mut inner, mut iid) = (None, None);
        while rest.len() >= 4 {
            let code = u16::from_be_bytes([rest[0], rest[1]]);
            let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
            let data = &rest[4..4 + len];
            match code {
                9 => inner = Some(Message::decode(&mut Decoder::new(data)).unwrap()),
                18 => iid = Some(data.to_vec()),
                _ => {}
            }
            rest = &rest[4 + len..];
        }
        (inner.expect("a Relay Message option"), iid)
    }

    /// Send `m` relayed to the server at [::1]:port; its answer, if any within `wait`.
    pub fn exchange(port: u16, m: &Message, wait: Duration) -> Option<Message> {
        let sock = UdpSocket::bind("[::1]:0").unwrap();
        sock.set_read_timeout(Some(wait)).unwrap();
        sock.send_to(&relay_forw(m), ("::1", port)).unwrap();
        let mut buf = [0u8; 4096];
        let (n, _) = sock.recv_from(&mut buf).ok()?;
        let (inner, iid) = open_relay_repl(&buf[..n]);
        assert_eq!(
            iid.as_deref(),
            Some(&b"eth7"[..]),
            "Interface-Id echoed (RFC 8415 §19.3)"
        );
        assert_eq!(inner.xid(), m.xid(), "transaction-id echoed");
        Some(inner)
    }

    /// What a REPLY or ADVERTISE gives: the address, its valid lifetime, the prefix.
    pub fn held(m: &Message) -> Held {
        let server = match m.opts().get(dhcproto::v6::OptionCode::ServerId) {
            Some(DhcpOption::ServerId(s)) => s.clone(),
            other => panic!("no Server Identifier: {other:?}"),
        };
        let (mut addr, mut prefix) = (None, None);
        for o in m.opts().iter() {
            match o {
                DhcpOption::IANA(ia) => {
                    for i in ia.opts.iter() {
                        if let DhcpOption::IAAddr(a) = i {
                            addr = Some((a.addr, a.valid_life));
                        }
                    }
                }
                DhcpOption::IAPD(ia) => {
                    for i in ia.opts.iter() {
                        if let DhcpOption::IAPrefix(p) = i {
                            prefix = Some((p.prefix_ip, p.prefix_len));
                        }
                    }
                }
                _ => {}
            }
        }
        let (addr, addr_valid) = addr.unwrap_or_else(|| panic!("no IAADDR in {m:?}"));
        Held {
            addr,
            addr_valid,
            prefix: prefix.unwrap_or_else(|| panic!("no IAPREFIX in {m:?}")),
            server,
        }
    }
}

#[test]
fn a_relayed_client_is_served_by_the_primary_only_and_the_secondary_learns_its_binding() {
    use dhcproto::v6::MessageType;
    let pair = Pair::new();
    let s = Server::start(&pair.config("secondary", "[::1]"), pair.path("s.log"));
    let p = Server::start(&pair.config("primary", ""), pair.path("p.log"));
    both_normal(&pair, &p, &s);
    let [p_port, s_port] = pair.dhcp_ports;
    let wait = Duration::from_secs(3);

    // RFC 8156 §8.8.1: the secondary is renew-responsive in NORMAL: a SOLICIT gets nothing.
    let solicit = relay::message(MessageType::Solicit, None, None);
    assert!(relay::exchange(s_port, &solicit, Duration::from_millis(800)).is_none());
    let st = ctl(&pair.socket("secondary"), &["status"]).unwrap();
    assert_eq!(st["dhcp"]["ignored"], 1, "{st}");

    // The primary advertises, then commits on REQUEST.
    let adv = relay::exchange(p_port, &solicit, wait).expect("ADVERTISE");
    assert_eq!(adv.msg_type(), MessageType::Advertise);
    let offered = relay::held(&adv);
    let request = relay::message(MessageType::Request, Some(&offered.server), None);
    let reply = relay::exchange(p_port, &request, wait).expect("REPLY");
    assert_eq!(reply.msg_type(), MessageType::Reply);
    let got = relay::held(&reply);
    assert!(got.addr.segments()[..4] == [0x2001, 0xdb8, 1, 0], "{got:?}");
    // RFC 8156 §4.4: before the partner acknowledged anything, at most the MCLT (2 s)...
    // and never more than the configured 30 s.
    assert!(got.addr_valid <= 30, "{got:?}");

    // The secondary holds the binding by BNDUPD (RFC 8156 §7.1), for the same client.
    let client_hex: String = relay::CLIENT.iter().map(|b| format!("{b:02x}")).collect();
    let start = Instant::now();
    loop {
        let leases = ctl(&pair.socket("secondary"), &["leases"]).unwrap();
        let ours: Vec<&Value> = leases
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["status"] == "ACTIVE" && l["client"] == client_hex.as_str())
            .collect();
        let want_prefix = format!("{}/{}", got.prefix.0, got.prefix.1);
        if ours.iter().any(|l| l["lease"] == got.addr.to_string())
            && ours.iter().any(|l| l["lease"] == want_prefix.as_str())
        {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "secondary never learnt {got:?}: {leases}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // RENEW to the primary extends it; the partner's ack lets the lifetime grow past the MCLT.
    std::thread::sleep(Duration::from_secs(1));
    let renew = relay::message(MessageType::Renew, Some(&got.server), Some(&got));
    let renewed = relay::held(&relay::exchange(p_port, &renew, wait).expect("REPLY to RENEW"));
    assert_eq!(renewed.addr, got.addr);
    assert!(
        renewed.addr_valid >= got.addr_valid,
        "{renewed:?} after {got:?}"
    );

    // RELEASE: Success, and the primary no longer binds it to the client.
    let release = relay::message(MessageType::Release, Some(&got.server), Some(&got));
    let released = relay::exchange(p_port, &release, wait).expect("REPLY to RELEASE");
    assert_eq!(released.msg_type(), MessageType::Reply);
    let leases = ctl(&pair.socket("primary"), &["leases"]).unwrap();
    let still: Vec<&Value> = leases
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["lease"] == got.addr.to_string())
        .collect();
    assert_eq!(still.len(), 1);
    assert_ne!(still[0]["status"], "ACTIVE", "{leases}");
}
