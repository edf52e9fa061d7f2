//! Issue 16: the wire conformance suite (`failover conform --wire`, conformance/src/wire)
//! against `failover serve` on loopback, in both roles: green on the real server, each
//! deliberate breakage of `FAILOVER_BREAK` (impl/daemon/src/breakage.rs) caught by a named
//! test, and the harness ending with a verdict, never a hang, against peers that never answer,
//! close mid-frame, send garbage or flood.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use failover_conformance::wire::{self, Ctx, Verdict, WireConfig, WireResult};
use failover_proto::Role;

use super::{free_port, BIN};

/// A `failover serve` under test, killed when dropped.
pub(super) struct Sut {
    pub(super) _dir: tempfile::TempDir,
    pub(super) child: Arc<Mutex<Option<Child>>>,
    pub(super) cfg: WireConfig,
    pub(super) spawn: Arc<dyn Fn() -> Child + Send + Sync>,
}

impl Drop for Sut {
    fn drop(&mut self) {
        if let Ok(mut c) = self.child.lock() {
            if let Some(mut c) = c.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// Start `failover serve` in `role` with `FAILOVER_BREAK=breakage` (if any); the wire config
/// that describes it.
pub(super) fn start(role: Role, breakage: Option<&str>) -> Sut {
    start_with(role, breakage, |_| String::new())
}

/// [`start`], with configuration lines `extra(dir)` appended (a `[tls]` table).
pub(super) fn start_with(
    role: Role,
    breakage: Option<&str>,
    extra: impl Fn(&std::path::Path) -> String,
) -> Sut {
    start_configured(role, breakage, "", extra)
}

/// [`start_with`], with top-level configuration lines `top` (before every table).
fn start_configured(
    role: Role,
    breakage: Option<&str>,
    top: &str,
    extra: impl Fn(&std::path::Path) -> String,
) -> Sut {
    let dir = tempfile::tempdir().unwrap();
    let partner_port = free_port();
    let dhcp_port = free_port();
    let (local, remote) = match role {
        Role::Secondary => (format!("[::1]:{partner_port}"), "[::1]:647".to_string()),
        Role::Primary => ("[::1]:0".to_string(), format!("[::1]:{partner_port}")),
    };
    let text = format!(
        r#"{top}role = "{role}"
mclt = 2
valid_lifetime = 30
startup_time = 1
storage = "{d}/sut.redb"
control_socket = "{d}/sut.sock"
duid_file = "{d}/sut.duid"
[partner]
local = "{local}"
remote = "{remote}"
keepalive = 6
reconnect_min = 1
reconnect_max = 1
[dhcp]
bind = "::1"
port = {dhcp_port}
[[address_pools]]
range = "2001:db8:1::100-2001:db8:1::13f"
"#,
        d = dir.path().display()
    );
    let config = dir.path().join("sut.toml");
    fs::write(&config, text + &extra(dir.path())).unwrap();
    let log: PathBuf = dir.path().join("sut.log");
    let breakage = breakage.map(str::to_string);
    let spawn: Arc<dyn Fn() -> Child + Send + Sync> = Arc::new(move || {
        let err = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--config"])
            .arg(&config)
            .env("RUST_LOG", "info")
            .env_remove("FAILOVER_BREAK")
            .stdout(Stdio::null())
            .stderr(err);
        if let Some(b) = &breakage {
            cmd.env("FAILOVER_BREAK", b);
        }
        cmd.spawn().unwrap()
    });
    let child = spawn();
    let addr: SocketAddr = format!("[::1]:{partner_port}").parse().unwrap();
    let cfg = WireConfig {
        role,
        target: (role == Role::Secondary).then_some(addr),
        listen: (role == Role::Primary).then_some(addr),
        dhcp: Some(format!("[::1]:{dhcp_port}").parse().unwrap()),
        mclt: 2,
        keepalive: 6,
        relationship_name: None,
        valid_lifetime: 30,
        address_range: "2001:db8:1::100-2001:db8:1::13f".into(),
        reconnect_max: 1,
    };
    Sut {
        _dir: dir,
        child: Arc::new(Mutex::new(Some(child))),
        cfg,
        spawn,
    }
}

/// Run the tests whose id contains one of `only` (all with an empty list) against `sut`, with a
/// restart hook (SIGKILL, then start again from the same files).
fn run(sut: &Sut, only: &[&str]) -> Vec<WireResult> {
    run_ctx(sut, only).0
}

/// [`run`], also giving back the context (its transcript).
pub(super) fn run_ctx(sut: &Sut, only: &[&str]) -> (Vec<WireResult>, Ctx) {
    run_ctx_tls(sut, only, None)
}

/// [`run_ctx`] with the harness speaking STARTTLS/TLS.
pub(super) fn run_ctx_tls(
    sut: &Sut,
    only: &[&str],
    tls: Option<failover_conformance::wire::tls::WireTls>,
) -> (Vec<WireResult>, Ctx) {
    let mut ctx = Ctx::new(sut.cfg.clone()).unwrap();
    ctx.tls = tls;
    let child = sut.child.clone();
    let spawn = sut.spawn.clone();
    ctx.restart = Some(Box::new(move || {
        let mut c = child.lock().map_err(|_| "poisoned")?;
        if let Some(mut old) = c.take() {
            old.kill().map_err(|e| e.to_string())?;
            old.wait().map_err(|e| e.to_string())?;
        }
        *c = Some(spawn());
        Ok(())
    }));
    if only.is_empty() {
        let results = wire::run(&mut ctx, None, |_| {});
        return (results, ctx);
    }
    let mut out = Vec::new();
    for o in only {
        out.extend(
            wire::run(&mut ctx, Some(o), |_| {})
                .into_iter()
                .filter(|r| !matches!(r.verdict, Verdict::NotWireTestable { .. })),
        );
    }
    (out, ctx)
}

fn show(results: &[WireResult]) -> String {
    wire::summary("failover serve", results)
}

fn green_in(role: Role) {
    let sut = start(role, None);
    // Give the server its start-up second (STARTUP, RFC 8156 §8.3).
    std::thread::sleep(Duration::from_millis(300));
    let (results, ctx) = run_ctx(&sut, &[]);
    let t = wire::totals(&results);
    assert_eq!(t.failed + t.errors, 0, "{}", show(&results));
    // Every test that applies to the role ran and passed: nothing was quietly skipped.
    let expected_pass = match role {
        Role::Secondary => 16,
        Role::Primary => 15,
    };
    assert_eq!(t.passed, expected_pass, "{}", show(&results));
    assert_eq!(wire::exit_code(&results), 0);
    // --pcap: the octets exchanged read back as failover messages by the project's own capture
    // reader (what `failover explain --pcap` and the Wireshark dissector see).
    let pcap = wire::pcap(&ctx).unwrap();
    let cap = failover_conformance::capture::read_capture(&pcap, 647).unwrap();
    assert!(
        cap.connections.len() >= 10 && cap.messages.len() >= 100,
        "{} connections, {} messages",
        cap.connections.len(),
        cap.messages.len()
    );
}

#[test]
fn the_wire_suite_passes_against_failover_serve_as_secondary() {
    green_in(Role::Secondary);
}

#[test]
fn the_wire_suite_passes_against_failover_serve_as_primary() {
    green_in(Role::Primary);
}

/// Each breakage, the role it shows in, and the test that must catch it.
const BREAKAGES: &[(&str, Role, &str)] = &[
    (
        "accept-any-bndupd",
        Role::Secondary,
        "7.5.3/bndupd-unknown-lease",
    ),
    ("wrong-contact-timing", Role::Secondary, "6.6/contact-sent"),
    ("no-mclt-cap", Role::Primary, "4.4/mclt-cap"),
    (
        "reply-before-store",
        Role::Secondary,
        "7.5.2/reply-after-storage",
    ),
];

#[test]
fn each_deliberate_breakage_of_failover_serve_is_caught_by_its_named_wire_test() {
    let handles: Vec<_> = BREAKAGES
        .iter()
        .map(|&(breakage, role, test)| {
            std::thread::spawn(move || {
                let sut = start(role, Some(breakage));
                std::thread::sleep(Duration::from_millis(300));
                let results = run(&sut, &[test]);
                (breakage, test, results)
            })
        })
        .collect();
    for h in handles {
        let (breakage, test, results) = h.join().unwrap();
        let r = results
            .iter()
            .find(|r| r.id == test)
            .unwrap_or_else(|| panic!("{test} did not run: {}", show(&results)));
        assert!(
            matches!(r.verdict, Verdict::Fail { .. }),
            "FAILOVER_BREAK={breakage} not caught by {test}: {}",
            show(&results)
        );
        assert_eq!(wire::exit_code(&results), 1);
    }
}

/// Issue 12's price of lockstep, seen on the wire: `lockstep = true` (a REPLY granting a lease
/// leaves only after the partner's BNDREPLY) is what RFC 8156 §4.3's lazy update rules out, and
/// `4.3/lazy-update` fails on it; the correct server passes it (in `green_in`).
#[test]
fn a_lockstep_server_fails_the_lazy_update_test() {
    let sut = start_configured(Role::Primary, None, "lockstep = true\n", |_| String::new());
    std::thread::sleep(Duration::from_millis(300));
    let results = run(&sut, &["4.3/lazy-update"]);
    match &results[0].verdict {
        Verdict::Fail { observed, .. } => {
            assert!(observed.contains("no REPLY"), "{}", show(&results))
        }
        _ => panic!(
            "lockstep not caught: {}\n{}",
            show(&results),
            fs::read_to_string(sut._dir.path().join("sut.log")).unwrap_or_default()
        ),
    }
    assert_eq!(wire::exit_code(&results), 1);
}

#[test]
fn accept_any_bndupd_is_also_caught_by_the_empty_bndupd_test() {
    let sut = start(Role::Secondary, Some("accept-any-bndupd"));
    let results = run(&sut, &["7.5.3/bndupd-empty"]);
    assert!(
        matches!(results[0].verdict, Verdict::Fail { .. }),
        "{}",
        show(&results)
    );
}

/// How a fake partner port misbehaves.
#[derive(Clone, Copy, Debug)]
enum Fake {
    NeverAnswers,
    ClosesMidFrame,
    Garbage,
    Floods,
}

/// A fake "secondary" on a free port; it serves one behaviour until the test ends.
fn fake_server(kind: Fake) -> SocketAddr {
    let l = TcpListener::bind("[::1]:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 512];
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                let _ = s.read(&mut buf);
                let start = Instant::now();
                match kind {
                    Fake::NeverAnswers => std::thread::sleep(Duration::from_secs(15)),
                    // A CONNECTREPLY frame announcing 40 octets, cut after 6.
                    Fake::ClosesMidFrame => {
                        let _ = s.write_all(&[0, 40, 12, 0, 0, 1, 0, 0]);
                    }
                    // message-size 0: not RFC 8156 framing.
                    Fake::Garbage => {
                        let _ = s.write_all(&[0, 0, 0xde, 0xad, 0xbe, 0xef]);
                        std::thread::sleep(Duration::from_secs(15));
                    }
                    // CONTACT after CONTACT, as fast as the socket takes them, for 15 s.
                    Fake::Floods => {
                        let contact = [0u8, 8, 35, 0, 0, 1, 0, 0, 0, 0];
                        let mut burst = Vec::new();
                        for _ in 0..1000 {
                            burst.extend_from_slice(&contact);
                        }
                        while start.elapsed() < Duration::from_secs(15) {
                            if s.write_all(&burst).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn a_peer_that_never_answers_closes_mid_frame_sends_garbage_or_floods_gets_a_verdict_not_a_hang() {
    let cases = [
        (Fake::NeverAnswers, "timeout"),
        (Fake::ClosesMidFrame, "closed"),
        (Fake::Garbage, "protocol error"),
        (Fake::Floods, "timeout"),
    ];
    let handles: Vec<_> = cases
        .into_iter()
        .map(|(kind, word)| {
            std::thread::spawn(move || {
                let addr = fake_server(kind);
                let cfg = WireConfig {
                    role: Role::Secondary,
                    target: Some(addr),
                    listen: None,
                    dhcp: None,
                    mclt: 2,
                    keepalive: 6,
                    relationship_name: None,
                    valid_lifetime: 30,
                    address_range: "2001:db8:1::100-2001:db8:1::13f".into(),
                    reconnect_max: 2,
                };
                let mut ctx = Ctx::new(cfg).unwrap();
                let t0 = Instant::now();
                let results = wire::run(&mut ctx, Some("6.1.2/connect-accepted"), |_| {});
                (kind, word, t0.elapsed(), results)
            })
        })
        .collect();
    for h in handles {
        let (kind, word, took, results) = h.join().unwrap();
        let r = &results[0];
        match &r.verdict {
            Verdict::Fail { observed, .. } => {
                assert!(observed.contains(word), "{kind:?}: {observed}")
            }
            other => panic!("{kind:?}: {other:?}"),
        }
        // The 5 s answer bound, plus a margin for a loaded machine.
        assert!(took < Duration::from_secs(10), "{kind:?} took {took:?}");
    }
}

/// The rendered reports of a fixed set of results (no server needed).
fn sample_results() -> Vec<WireResult> {
    let r = |id: &str, verdict: Verdict| WireResult {
        id: id.into(),
        title: format!("title of {id}"),
        observes: format!("what {id} judges"),
        verdict,
        seconds: 0.5,
    };
    vec![
        r("6.1.2/time-skew", Verdict::Pass),
        r(
            "6.6/contact-sent",
            Verdict::fail(
                "a message at least every 2 s (the announced keepalive; + 2 s slack)",
                "a gap of 7.4 s",
            ),
        ),
        r(
            "6.1.1/connect-sent",
            Verdict::NotApplicable {
                reason: "applies to a SUT in role primary".into(),
            },
        ),
        r(
            "8.1/state-in-stable-storage",
            Verdict::NotWireTestable {
                reason: "storage is inside the server".into(),
            },
        ),
        r(
            "5.1/cut-frame",
            Verdict::Error {
                message: "accept: <too many open files>".into(),
            },
        ),
    ]
}

#[test]
fn the_wire_summary_json_and_junit_reports_render_as_their_snapshots() {
    let results = sample_results();
    insta::assert_snapshot!("wire_summary", wire::summary("failover serve", &results));
    insta::assert_snapshot!("wire_junit", wire::junit_report("failover serve", &results));
    insta::assert_snapshot!(
        "wire_json",
        serde_json::to_string_pretty(&wire::json_report("failover serve", &results)).unwrap()
    );
    // An error outranks a failure in the exit status (2: the harness could not judge).
    assert_eq!(wire::exit_code(&results), 2);
    assert_eq!(wire::exit_code(&results[..2]), 1);
    assert_eq!(wire::exit_code(&results[..1]), 0);
}

#[test]
fn a_bad_sut_config_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("role = \"secondary\"\nmclt = 2\nkeepalive = 6\nvalid_lifetime = 30\naddress_range = \"2001:db8::1-2001:db8::9\"\n", "needs `target`"),
        ("role = \"primary\"\nmclt = 2\nkeepalive = 6\nvalid_lifetime = 30\naddress_range = \"2001:db8::1-2001:db8::9\"\n", "needs `listen`"),
        ("role = \"secondary\"\ntarget = \"[::1]:1\"\nmclt = 2\nkeepalive = 6\nvalid_lifetime = 30\naddress_range = \"2001:db8::9\"\n", "expected FIRST-LAST"),
        ("role = \"secondary\"\ntarget = \"[::1]:1\"\nmclt = 2\nkeepalive = 6\nvalid_lifetime = 30\naddress_range = \"2001:db8::9-2001:db8::1\"\n", "first > last"),
        ("role = \"tertiary\"\n", "tertiary"),
        ("role = \"secondary\"\ntarget = \"[::1]:1\"\nmclt = 2\nkeepalive = 6\nvalid_lifetime = 30\naddress_range = \"2001:db8::1-2001:db8::9\"\nmcl = 3\n", "mcl"),
    ];
    for (k, (text, needle)) in cases.iter().enumerate() {
        let p = dir.path().join(format!("c{k}.toml"));
        fs::write(&p, text).unwrap();
        let e = WireConfig::load(&p).unwrap_err();
        assert!(
            e.contains(needle) && e.contains(&format!("c{k}.toml")),
            "{k}: {e}"
        );
    }
}
