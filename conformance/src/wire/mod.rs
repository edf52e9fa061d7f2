//! Wire-level conformance (issue 16): test any RFC 8156 server over the network.
//!
//! The harness becomes the partner of a running, unmodified server: it connects to the
//! server's partner port as the primary when the server under test (SUT) is the secondary, and
//! listens as the secondary when the SUT is the primary (the SUT is then configured with the
//! harness's address as its partner). It speaks RFC 8156 framing and messages (failover-proto's
//! codec, nothing of failover-core) and, where a test needs it, plays a DHCPv6 client over UDP.
//! The SUT keeps its own clock; the harness knows only what [`WireConfig`] says the SUT was
//! started with.
//!
//! Every test is named by the RFC section it checks, lists what it observes ([`WireTest::observes`]),
//! and ends in a [`Verdict`]. A server that never answers, closes mid-frame, sends garbage or
//! floods gets a failing verdict naming that (timeout, protocol error, flood); every wait is
//! bounded (see [`peer`]).
//!
//! Time: the SUT's clock is the wall clock. A model tick is one second (the scale of
//! `conformance/README.md`'s mapping), and timing verdicts allow [`TIMER_SLACK`]: RFC 8156 §6.6
//! timers "count down once per second", so an implementation may act up to one second after
//! the nominal instant, and one more second covers scheduling on a loaded machine.

pub mod cases;
pub mod dhcp;
pub mod interop;
pub mod peer;
pub mod scenario;
pub mod tls;

use std::fmt::Write as _;
use std::net::{Ipv6Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use failover_proto::Role;
use serde::{Deserialize, Serialize};

use crate::capture::{write_capture, Segmenting, WriteOptions};
use peer::{SharedTranscript, Transcript};

/// Slack allowed on every timing verdict: one second of the RFC's once-per-second countdown
/// (§6.6) plus one second of scheduling.
pub const TIMER_SLACK: Duration = Duration::from_secs(2);

/// What the tester knows about the server under test: its addresses and the configuration it
/// was started with (the TOML file of `failover conform --wire --sut-config`; see
/// conformance/README.md "Test your server over the network").
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WireConfig {
    /// The SUT's role in the relationship.
    pub role: Role,
    /// Where the SUT listens for its partner (role = secondary).
    #[serde(default)]
    pub target: Option<SocketAddr>,
    /// Where the harness listens for the SUT's connection (role = primary; the SUT's
    /// configured partner address).
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    /// The SUT's DHCPv6 address (UDP), for the tests that play clients.
    #[serde(default)]
    pub dhcp: Option<SocketAddr>,
    /// The MCLT the SUT is configured with, seconds (RFC 8156 §5.5.6).
    pub mclt: u32,
    /// The SUT's FO_KEEPALIVE_TIME, seconds (§6.6).
    pub keepalive: u32,
    /// The relationship name the SUT is configured with (§5.5.14), if any.
    #[serde(default)]
    pub relationship_name: Option<String>,
    /// The SUT's valid lifetime for clients, seconds (the desired lifetime of §4.4).
    pub valid_lifetime: u32,
    /// One address pool of the SUT, `FIRST-LAST`.
    pub address_range: String,
    /// The SUT's partner reconnect interval at most, seconds (role = primary: how long the
    /// harness waits for the SUT to connect again after a test closed the connection).
    #[serde(default = "default_reconnect")]
    pub reconnect_max: u32,
}

fn default_reconnect() -> u32 {
    10
}

impl WireConfig {
    /// Read and check the TOML file.
    pub fn load(path: &Path) -> Result<WireConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let cfg: WireConfig =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        cfg.check()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(cfg)
    }

    /// The fields that must be present and consistent.
    pub fn check(&self) -> Result<(), String> {
        match self.role {
            Role::Secondary if self.target.is_none() => {
                return Err("role = \"secondary\" needs `target` (the SUT's partner port)".into())
            }
            Role::Primary if self.listen.is_none() => {
                return Err(
                    "role = \"primary\" needs `listen` (the address the SUT connects to)".into(),
                )
            }
            _ => {}
        }
        if self.mclt == 0 || self.keepalive == 0 {
            return Err("mclt and keepalive must be positive".into());
        }
        self.pool().map(|_| ())
    }

    /// The address pool as (first, last).
    pub fn pool(&self) -> Result<(Ipv6Addr, Ipv6Addr), String> {
        let (a, b) = self.address_range.split_once('-').ok_or_else(|| {
            format!(
                "address_range {:?}: expected FIRST-LAST",
                self.address_range
            )
        })?;
        let first: Ipv6Addr = a
            .trim()
            .parse()
            .map_err(|e| format!("address_range first address {a:?}: {e}"))?;
        let last: Ipv6Addr = b
            .trim()
            .parse()
            .map_err(|e| format!("address_range last address {b:?}: {e}"))?;
        if u128::from(first) > u128::from(last) {
            return Err(format!(
                "address_range {:?}: first > last",
                self.address_range
            ));
        }
        Ok((first, last))
    }
}

/// How a test ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// The server did what the section requires.
    Pass,
    /// The first divergence: what the RFC requires next to what the server did.
    Fail {
        /// Required.
        expected: String,
        /// Observed.
        observed: String,
    },
    /// The test does not apply to this SUT role or configuration (the reason says why).
    NotApplicable {
        /// Why.
        reason: String,
    },
    /// The property needs a view inside the server: never counted as passed.
    NotWireTestable {
        /// Why the wire cannot show it.
        reason: String,
    },
    /// The harness could not run the test (its own socket failed): neither pass nor fail.
    Error {
        /// What went wrong.
        message: String,
    },
}

impl Verdict {
    /// A failure.
    pub fn fail(expected: impl Into<String>, observed: impl Into<String>) -> Verdict {
        Verdict::Fail {
            expected: expected.into(),
            observed: observed.into(),
        }
    }

    fn word(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail { .. } => "FAIL",
            Verdict::NotApplicable { .. } => "n/a",
            Verdict::NotWireTestable { .. } => "not wire-testable",
            Verdict::Error { .. } => "ERROR",
        }
    }
}

/// A wire test: an RFC section, what it observes, and how it is played.
pub struct WireTest {
    /// The test id: the RFC section and a short name (`"6.1.2/time-skew"`).
    pub id: &'static str,
    /// What the test checks, in a line.
    pub title: &'static str,
    /// The observations compared: which messages, fields and client replies are judged.
    pub observes: &'static str,
    /// The SUT roles the test applies to.
    pub roles: &'static [Role],
    /// Whether the test needs `dhcp` in the configuration.
    pub needs_dhcp: bool,
    /// Play it.
    pub run: fn(&mut Ctx) -> Verdict,
}

/// One test's result.
#[derive(Clone, Debug, Serialize)]
pub struct WireResult {
    /// [`WireTest::id`].
    pub id: String,
    /// [`WireTest::title`].
    pub title: String,
    /// [`WireTest::observes`].
    pub observes: String,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// What a test has at hand: the configuration, the transcript, and for role = primary the
/// listening socket the SUT connects to (kept across tests).
pub struct Ctx {
    /// The SUT's configuration.
    pub cfg: WireConfig,
    /// Every octet exchanged.
    pub transcript: SharedTranscript,
    /// Role = primary: where the SUT connects.
    pub listener: Option<TcpListener>,
    /// Crash the SUT (SIGKILL or power-off: no orderly shutdown) and start it again, for the
    /// tests of what must survive a crash (`--sut-restart CMD`). `None`: those tests are
    /// reported as not wire-testable.
    pub restart: Option<Box<dyn FnMut() -> Result<(), String>>>,
    /// Secure every partner connection with STARTTLS and TLS (a SUT whose partner link
    /// requires it, RFC 8156 §10); `None`: plain TCP.
    pub tls: Option<tls::WireTls>,
}

impl Ctx {
    /// A context for `cfg`; for role = primary, binds `cfg.listen`.
    pub fn new(cfg: WireConfig) -> Result<Ctx, String> {
        let listener = match (cfg.role, cfg.listen) {
            (Role::Primary, Some(addr)) => {
                let l = TcpListener::bind(addr)
                    .map_err(|e| format!("cannot listen on {addr} for the SUT: {e}"))?;
                l.set_nonblocking(true)
                    .map_err(|e| format!("listener on {addr}: {e}"))?;
                Some(l)
            }
            _ => None,
        };
        Ok(Ctx {
            cfg,
            transcript: Arc::new(Mutex::new(Transcript::default())),
            listener,
            restart: None,
            tls: None,
        })
    }
}

/// Run `tests` (all of [`cases::all`] by default) against the SUT; `only` keeps the tests whose
/// id contains it; `progress` is called after each test.
pub fn run(
    ctx: &mut Ctx,
    only: Option<&str>,
    progress: impl FnMut(&WireResult),
) -> Vec<WireResult> {
    let mut out = run_tests(ctx, |id| only.is_none_or(|o| id.contains(o)), progress);
    out.extend(not_wire_testable(only));
    out
}

/// The tests whose id `pick` accepts, in catalogue order (no not-wire-testable entries).
pub fn run_tests(
    ctx: &mut Ctx,
    pick: impl Fn(&str) -> bool,
    mut progress: impl FnMut(&WireResult),
) -> Vec<WireResult> {
    let mut out = Vec::new();
    for t in cases::all() {
        if !pick(t.id) {
            continue;
        }
        let t0 = Instant::now();
        let verdict = if !t.roles.contains(&ctx.cfg.role) {
            Verdict::NotApplicable {
                reason: format!("applies to a SUT in role {}", roles_text(t.roles)),
            }
        } else if t.needs_dhcp && ctx.cfg.dhcp.is_none() {
            Verdict::NotApplicable {
                reason: "plays DHCPv6 clients: give the SUT's DHCPv6 address (--dhcp)".into(),
            }
        } else {
            (t.run)(ctx)
        };
        let r = WireResult {
            id: t.id.to_string(),
            title: t.title.to_string(),
            observes: t.observes.to_string(),
            verdict,
            seconds: t0.elapsed().as_secs_f64(),
        };
        progress(&r);
        out.push(r);
    }
    out
}

/// The [`cases::NOT_WIRE_TESTABLE`] entries whose id contains `only`, as results.
fn not_wire_testable(only: Option<&str>) -> Vec<WireResult> {
    let mut out = Vec::new();
    for (id, title, reason) in cases::NOT_WIRE_TESTABLE {
        if only.is_some_and(|o| !id.contains(o)) {
            continue;
        }
        out.push(WireResult {
            id: id.to_string(),
            title: title.to_string(),
            observes: String::new(),
            verdict: Verdict::NotWireTestable {
                reason: reason.to_string(),
            },
            seconds: 0.0,
        });
    }
    out
}

fn roles_text(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Tests run or listed.
    pub tests: usize,
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Harness errors.
    pub errors: usize,
    /// Not applicable to this SUT.
    pub not_applicable: usize,
    /// Listed as not wire-testable.
    pub not_wire_testable: usize,
}

/// Count the verdicts.
pub fn totals(results: &[WireResult]) -> Totals {
    let mut t = Totals {
        tests: results.len(),
        ..Totals::default()
    };
    for r in results {
        match r.verdict {
            Verdict::Pass => t.passed += 1,
            Verdict::Fail { .. } => t.failed += 1,
            Verdict::Error { .. } => t.errors += 1,
            Verdict::NotApplicable { .. } => t.not_applicable += 1,
            Verdict::NotWireTestable { .. } => t.not_wire_testable += 1,
        }
    }
    t
}

/// The exit code of `conform --wire`: 0 all applicable tests passed, 1 a test failed, 2 the
/// harness could not run one.
pub fn exit_code(results: &[WireResult]) -> u8 {
    let t = totals(results);
    if t.errors > 0 {
        2
    } else if t.failed > 0 {
        1
    } else {
        0
    }
}

/// The summary table: one line per test, then every failure side by side.
pub fn summary(sut: &str, results: &[WireResult]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "wire conformance of {sut}");
    for r in results {
        let _ = writeln!(s, "  {:<18} {:<30} {}", r.verdict.word(), r.id, r.title);
    }
    let t = totals(results);
    let _ = writeln!(
        s,
        "{} tests: {} passed, {} failed, {} errors, {} not applicable, {} not wire-testable",
        t.tests, t.passed, t.failed, t.errors, t.not_applicable, t.not_wire_testable
    );
    for r in results {
        match &r.verdict {
            Verdict::Fail { expected, observed } => {
                let _ = writeln!(s, "\nFAIL RFC 8156 §{} — {}", r.id, r.title);
                let _ = writeln!(s, "  judged:   {}", r.observes);
                let _ = writeln!(s, "  expected: {expected}");
                let _ = writeln!(s, "  observed: {observed}");
            }
            Verdict::Error { message } => {
                let _ = writeln!(s, "\nERROR {} — {message}", r.id);
            }
            _ => {}
        }
    }
    s
}

/// The JSON report.
pub fn json_report(sut: &str, results: &[WireResult]) -> serde_json::Value {
    serde_json::json!({
        "sut": sut,
        "totals": totals(results),
        "tolerance_seconds": TIMER_SLACK.as_secs(),
        "results": results,
    })
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A JUnit XML report (not wire-testable and not applicable tests are `skipped`).
pub fn junit_report(sut: &str, results: &[WireResult]) -> String {
    let t = totals(results);
    let total: f64 = results.iter().map(|r| r.seconds).sum();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuite name=\"rfc8156-wire ({})\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{total:.3}\">",
        xml_escape(sut),
        t.tests,
        t.failed,
        t.errors,
        t.not_applicable + t.not_wire_testable
    );
    for r in results {
        let _ = write!(
            s,
            "  <testcase classname=\"rfc8156.wire\" name=\"{}\" time=\"{:.3}\"",
            xml_escape(&r.id),
            r.seconds
        );
        match &r.verdict {
            Verdict::Pass => s.push_str("/>\n"),
            Verdict::Fail { expected, observed } => {
                let _ = writeln!(
                    s,
                    ">\n    <failure message=\"expected {}; observed {}\">{}</failure>\n  </testcase>",
                    xml_escape(expected),
                    xml_escape(observed),
                    xml_escape(&r.observes)
                );
            }
            Verdict::Error { message } => {
                let _ = writeln!(
                    s,
                    ">\n    <error message=\"{}\"/>\n  </testcase>",
                    xml_escape(message)
                );
            }
            Verdict::NotApplicable { reason } | Verdict::NotWireTestable { reason } => {
                let _ = writeln!(
                    s,
                    ">\n    <skipped message=\"{}: {}\"/>\n  </testcase>",
                    r.verdict.word(),
                    xml_escape(reason)
                );
            }
        }
    }
    s.push_str("</testsuite>\n");
    s
}

/// Every octet of the run as a pcap file, to open in Wireshark (with the project's dissector,
/// tools/wireshark) or `failover explain --pcap`. The harness and the SUT appear on
/// documentation addresses (2001:db8:fa::1 the primary, ::2 the secondary) and the secondary on
/// port 647, the failover port those tools decode, whatever port the SUT really used; the
/// octets and their order are as exchanged, the times in whole seconds.
pub fn pcap(ctx: &Ctx) -> Result<Vec<u8>, String> {
    let t = ctx
        .transcript
        .lock()
        .map_err(|_| "transcript lock poisoned")?;
    pcap_of(&t.records)
}

/// [`pcap`] of given records.
pub(crate) fn pcap_of(records: &[crate::capture::WireRecord]) -> Result<Vec<u8>, String> {
    let opts = WriteOptions {
        segmenting: Segmenting::Coalesce { mss: 1440 },
        ..WriteOptions::default()
    };
    write_capture(records, &opts).map_err(|e| e.to_string())
}

// ---- several SUT instances the harness starts itself (--sut-start) ---------------------------

/// A SUT instance started by the harness from `--sut-start CMD`, killed when dropped.
pub(crate) struct Started {
    cmd: String,
    child: Option<std::process::Child>,
}

impl Started {
    pub(crate) fn spawn(cmd: &str) -> Result<Started, String> {
        use std::os::unix::process::CommandExt;
        // A process group of its own: killing it kills the server even when the command is a
        // wrapper that does not `exec` it (a crash test against a server that survived the
        // "crash" would pass for the wrong reason).
        let child = std::process::Command::new("sh")
            .args(["-c", cmd])
            .process_group(0)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("--sut-start {cmd:?}: {e}"))?;
        Ok(Started {
            cmd: cmd.to_string(),
            child: Some(child),
        })
    }

    /// SIGKILL (no orderly shutdown: a crash), then the same command again.
    fn crash_and_restart(&mut self) -> Result<(), String> {
        self.kill();
        std::thread::sleep(Duration::from_millis(200));
        let again = Started::spawn(&self.cmd)?;
        *self = again;
        Ok(())
    }

    /// SIGKILL to the whole process group, then reap the shell.
    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", c.id())])
                .stderr(std::process::Stdio::null())
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free TCP port on `ip` (the same number is, by luck, free for UDP too).
pub(crate) fn free_port(ip: std::net::IpAddr) -> Result<u16, String> {
    let l = TcpListener::bind(SocketAddr::new(ip, 0))
        .map_err(|e| format!("a free port on {ip}: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// `--sut-start CMD --jobs N`: start `jobs` instances of the SUT, each with ports of its own,
/// and share the tests among them (each instance runs its share in catalogue order). In `cmd`,
/// `{port}` is the partner port (the SUT listens there as secondary; as primary it connects
/// there, where the harness listens), `{dhcp}` its DHCPv6 port, `{dir}` a fresh empty folder for
/// its storage, `{config}` the tester's TOML for that instance. The command must run the server
/// in the foreground; it runs in a process group of its own, which gets SIGKILL at the end and
/// for the crash tests.
pub fn run_started(
    cfg: &WireConfig,
    cmd: &str,
    jobs: usize,
    only: Option<&str>,
    progress: impl FnMut(&WireResult) + Send,
) -> Result<Vec<WireResult>, String> {
    run_started_with(cfg, cmd, jobs, only, &StartedOptions::default(), progress)
}

/// What [`run_started_with`] adds to [`run_started`].
#[derive(Clone, Default)]
pub struct StartedOptions {
    /// STARTTLS and TLS on every partner connection ([`Ctx::tls`]).
    pub tls: Option<tls::WireTls>,
    /// One capture per test in this folder (created): `<id>.pcap`, the `/` of the id written
    /// `_` ([`pcap_file_name`]), each holding that test's octets only.
    pub pcap_dir: Option<std::path::PathBuf>,
}

/// The capture file of test `id` in a `--pcap` folder: `6.1.2/time-skew` → `6.1.2_time-skew.pcap`.
pub fn pcap_file_name(id: &str) -> String {
    format!("{}.pcap", id.replace(['/', ' '], "_"))
}

/// [`run_started`] with TLS and per-test captures.
pub fn run_started_with(
    cfg: &WireConfig,
    cmd: &str,
    jobs: usize,
    only: Option<&str>,
    opts: &StartedOptions,
    progress: impl FnMut(&WireResult) + Send,
) -> Result<Vec<WireResult>, String> {
    if let Some(d) = &opts.pcap_dir {
        std::fs::create_dir_all(d)
            .map_err(|e| format!("--pcap {}: cannot create the folder: {e}", d.display()))?;
    }
    let jobs = jobs.max(1);
    let host = match cfg.role {
        Role::Secondary => cfg.target,
        Role::Primary => cfg.listen,
    }
    .map_or(std::net::IpAddr::V6(Ipv6Addr::LOCALHOST), |a| a.ip());
    let ids: Vec<&'static str> = cases::all()
        .iter()
        .map(|t| t.id)
        .filter(|id| only.is_none_or(|o| id.contains(o)))
        .collect();
    let progress = Mutex::new(progress);
    let mut results: Vec<WireResult> = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for k in 0..jobs {
            let mine: Vec<&'static str> = ids.iter().copied().skip(k).step_by(jobs).collect();
            if mine.is_empty() {
                continue;
            }
            let progress = &progress;
            handles.push(scope.spawn(move || -> Result<Vec<WireResult>, String> {
                let port = free_port(host)?;
                let dhcp = free_port(host)?;
                let dir = std::env::temp_dir()
                    .join(format!("failover-wire-{}-{k}-{port}", std::process::id()));
                std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let mut mine_cfg = cfg.clone();
                let addr = SocketAddr::new(host, port);
                match cfg.role {
                    Role::Secondary => mine_cfg.target = Some(addr),
                    Role::Primary => mine_cfg.listen = Some(addr),
                }
                mine_cfg.dhcp = Some(SocketAddr::new(host, dhcp));
                let config = dir.join("wire.toml");
                let text = toml::to_string(&mine_cfg).map_err(|e| e.to_string())?;
                std::fs::write(&config, text).map_err(|e| format!("{}: {e}", config.display()))?;
                let line = cmd
                    .replace("{port}", &port.to_string())
                    .replace("{dhcp}", &dhcp.to_string())
                    .replace("{dir}", &dir.display().to_string())
                    .replace("{config}", &config.display().to_string());
                // The harness listens (role primary) before the SUT starts connecting.
                let mut ctx = Ctx::new(mine_cfg)?;
                ctx.tls = opts.tls.clone();
                let started = Arc::new(Mutex::new(Started::spawn(&line)?));
                let s2 = started.clone();
                ctx.restart = Some(Box::new(move || {
                    s2.lock()
                        .map_err(|_| "poisoned".to_string())?
                        .crash_and_restart()
                }));
                // Its start-up (STARTUP, RFC 8156 §8.3) before the first test.
                std::thread::sleep(Duration::from_secs(1));
                let mut out = Vec::new();
                for one in &mine {
                    let before = ctx.transcript.lock().map_or(0, |t| t.records.len());
                    out.extend(run_tests(
                        &mut ctx,
                        |id| id == *one,
                        |r| {
                            if let Ok(mut p) = progress.lock() {
                                (*p)(r)
                            }
                        },
                    ));
                    if let Some(d) = &opts.pcap_dir {
                        let records = ctx
                            .transcript
                            .lock()
                            .map(|t| t.records[before.min(t.records.len())..].to_vec())
                            .map_err(|_| "transcript lock poisoned".to_string())?;
                        let file = d.join(pcap_file_name(one));
                        std::fs::write(&file, pcap_of(&records)?)
                            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
                    }
                }
                drop(ctx);
                if let Ok(mut s) = started.lock() {
                    s.kill();
                }
                let _ = std::fs::remove_dir_all(&dir);
                Ok(out)
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.join().map_err(|_| "a worker panicked".to_string())??);
        }
        Ok::<_, String>(all)
    })?;
    let order = |id: &str| ids.iter().position(|x| *x == id).unwrap_or(usize::MAX);
    results.sort_by_key(|r| order(&r.id));
    results.extend(not_wire_testable(only));
    Ok(results)
}
