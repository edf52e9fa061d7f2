//! Interop mode (issue 16): `failover serve` runs as the real partner of the server under test
//! (SUT) while the harness plays DHCPv6 clients against both servers and watches both ends.
//!
//! For implementers whose server cannot be driven step by step: nothing here sends a failover
//! message of its own. The two servers talk to each other through a relay owned by the harness
//! (both are configured with the relay's address as their partner), so the harness can
//!
//! - cut the partner connection (a partition) and heal it,
//! - capture every octet of it (`--pcap`),
//! - read the acknowledged partner lifetimes out of the BNDUPD/BNDREPLY exchange (RFC 8156 §4.4),
//!
//! and it crashes and restarts the SUT (`--sut-restart`) and its own server, in a bounded,
//! seeded schedule of rounds. After every round and at the end it judges the safety properties
//! of the protocol from what the clients were told and from our server's database:
//!
//! - `4.4/mclt-bound`: "the lease expiration time known to a DHCP client MUST NOT be greater by
//!   more than the MCLT beyond the later of the partner lifetime acknowledged by that server's
//!   failover partner or the current time" (RFC 8156 §4.4), the acknowledged partner lifetime
//!   being the OPTION_F_PARTNER_LIFETIME of the server's BNDUPD that its partner's BNDREPLY
//!   accepted, as seen on the relay before the client's reply arrived.
//! - `4/no-duplicate`: no address held by two clients at once (the point of the whole protocol,
//!   RFC 8156 §1, §4), from the clients' replies, and from our server's database (an address
//!   ACTIVE there for one client while another client's reply still holds it).
//! - `8/pair-normal`: the pair reaches NORMAL at the start and again after every partition and
//!   restart (RFC 8156 §8.2, §8.8), within a bound.
//!
//! Time: the clients' view is the harness's wall clock. A client's expiration time is the
//! instant its reply arrived plus the valid lifetime; servers count in whole seconds (§6.6), so
//! a server's own view may be up to a second earlier. Verdicts allow [`super::TIMER_SLACK`] on the
//! MCLT bound and [`OVERLAP_SLACK`] on overlaps.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use failover_proto::wire::{DhcpOption, FrameDecoder, Message};
use failover_proto::{MsgKind, Role, ServerState};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use super::dhcp::{self, Granted};
use super::peer::{failure_codes, SharedTranscript, Transcript};
use super::{Verdict, WireConfig, WireResult, TIMER_SLACK};
use crate::capture::{WireEvent, WireRecord, EPOCH_2000_UNIX};

/// Overlap tolerated between two clients' holdings of one address: the clients' expiration
/// times are computed from when the reply arrived, up to one whole second (§6.6 granularity)
/// later than the server's own.
pub const OVERLAP_SLACK: f64 = 1.0;

/// How long a client waits for a reply (a server that is not responsive in its state, RFC 8156
/// §8, stays silent: that is not a failure).
const CLIENT_WAIT: Duration = Duration::from_millis(600);

/// How long after its SOLICIT a client sends RENEW: time for the BNDUPD and its BNDREPLY.
const RENEW_AFTER: Duration = Duration::from_millis(800);

/// The wall clock as the protocol's: seconds since 2000-01-01, with fractions.
fn wire_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
        - EPOCH_2000_UNIX as f64
}

/// What a round does to the pair before the clients play.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// Nothing: the pair stays connected.
    Connected,
    /// The relay cuts the partner connection for the round and refuses new ones, then heals.
    Partition,
    /// The SUT is crashed and started again (`--sut-restart`).
    RestartSut,
    /// Our `failover serve` is killed (SIGKILL) and started again from its files.
    RestartPartner,
}

impl Event {
    fn name(self) -> &'static str {
        match self {
            Event::Connected => "connected",
            Event::Partition => "partition",
            Event::RestartSut => "restart-sut",
            Event::RestartPartner => "restart-partner",
        }
    }
}

/// The options of an interop run.
pub struct InteropOptions {
    /// The `failover` program: the harness runs `failover serve` (the partner) and
    /// `failover ctl` (its database) with it.
    pub serve_bin: PathBuf,
    /// Rounds in the schedule.
    pub rounds: u32,
    /// Seed of the schedule (the same seed, the same schedule).
    pub seed: u64,
    /// New clients per server per round.
    pub clients: u32,
    /// How long each round lasts (a partition lasts this long), at least.
    pub round_time: Duration,
    /// The longest wait for the pair to be in NORMAL (start, after a heal or restart).
    pub settle: Duration,
    /// Crash and restart the SUT; `None`: no `restart-sut` rounds.
    pub sut_restart: Option<Box<dyn FnMut() -> Result<(), String>>>,
    /// Where our server's files go (created; removed at the end unless `keep`).
    pub work_dir: PathBuf,
    /// Keep `work_dir` (our server's log, database) after the run.
    pub keep: bool,
}

/// One client's reply.
#[derive(Clone, Debug, Serialize)]
pub struct Grant {
    /// The round it happened in (0-based).
    pub round: u32,
    /// `sut` or `partner` (our `failover serve`).
    pub server: &'static str,
    /// That server's role.
    pub role: Role,
    /// The client's DUID, hex.
    pub client: String,
    /// The address it was given.
    pub address: Ipv6Addr,
    /// Its valid lifetime, seconds.
    pub valid: u32,
    /// When the reply arrived, seconds since 2000-01-01 (the protocol's clock).
    pub at: f64,
}

impl Grant {
    fn expires(&self) -> f64 {
        self.at + f64::from(self.valid)
    }
}

/// What one round did and saw.
#[derive(Clone, Debug, Serialize)]
pub struct Round {
    /// 0-based.
    pub round: u32,
    /// Its event.
    pub event: Event,
    /// Replies with an address.
    pub granted: usize,
    /// Clients without an address (silence or a status code), with what they got.
    pub refused: Vec<String>,
    /// Whether the pair was back in NORMAL after the round, and how long that took.
    pub normal_after: Option<f64>,
    /// Harness notes (a restart that failed, ...).
    pub notes: Vec<String>,
}

/// The outcome of an interop run.
#[derive(Serialize)]
pub struct InteropRun {
    /// The seed.
    pub seed: u64,
    /// The rounds played.
    pub rounds: Vec<Round>,
    /// Every reply with an address.
    pub grants: Vec<Grant>,
    /// The verdicts, one per property, as wire results (the property id is the RFC section).
    pub results: Vec<WireResult>,
    /// Partner messages seen on the relay.
    pub relayed_messages: usize,
    /// Partner connections the relay carried.
    pub connections: u64,
    /// Our server's log, if kept.
    pub partner_log: Option<PathBuf>,
    #[serde(skip)]
    transcript: SharedTranscript,
}

impl InteropRun {
    /// Every octet the relay carried, as a pcap file (as [`super::pcap`]: documentation
    /// addresses, the secondary on port 647).
    pub fn pcap(&self) -> Result<Vec<u8>, String> {
        let t = self
            .transcript
            .lock()
            .map_err(|_| "transcript lock poisoned")?;
        super::pcap_of(&t.records)
    }
}

// ---- the relay ---------------------------------------------------------------------------------

/// A partner message seen on the relay.
#[derive(Clone, Debug)]
struct Observed {
    at: f64,
    from: Role,
    msg: Message,
}

/// The harness's TCP relay between the primary (which connects to `listen`) and the
/// secondary's partner port (`upstream`).
struct Relay {
    cut: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    generation: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
    seen: Arc<Mutex<Vec<Observed>>>,
    transcript: SharedTranscript,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    fn start(listen: SocketAddr, upstream: SocketAddr) -> Result<Relay, String> {
        let listener = TcpListener::bind(listen)
            .map_err(|e| format!("the relay cannot listen on {listen}: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("relay on {listen}: {e}"))?;
        let mut relay = Relay {
            cut: Arc::new(AtomicBool::new(false)),
            stop: Arc::new(AtomicBool::new(false)),
            generation: Arc::new(AtomicU64::new(0)),
            connections: Arc::new(AtomicU64::new(0)),
            seen: Arc::new(Mutex::new(Vec::new())),
            transcript: Arc::new(Mutex::new(Transcript::default())),
            thread: None,
        };
        let (cut, stop, generation, connections, seen, transcript) = (
            relay.cut.clone(),
            relay.stop.clone(),
            relay.generation.clone(),
            relay.connections.clone(),
            relay.seen.clone(),
            relay.transcript.clone(),
        );
        let thread = std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let (down, _) = match listener.accept() {
                    Ok(x) => x,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                };
                if cut.load(Ordering::SeqCst) {
                    // Partitioned: the connection is closed at once, as by a broken path.
                    let _ = down.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(up) = TcpStream::connect_timeout(&upstream, Duration::from_secs(2)) else {
                    let _ = down.shutdown(Shutdown::Both);
                    continue;
                };
                connections.fetch_add(1, Ordering::SeqCst);
                record(&transcript, Role::Primary, WireEvent::Connect);
                let g = generation.load(Ordering::SeqCst);
                for (from, src, dst) in [(Role::Primary, &down, &up), (Role::Secondary, &up, &down)]
                {
                    let (Ok(src), Ok(dst)) = (src.try_clone(), dst.try_clone()) else {
                        continue;
                    };
                    let pump = Pump {
                        from,
                        src,
                        dst,
                        generation: generation.clone(),
                        mine: g,
                        stop: stop.clone(),
                        seen: seen.clone(),
                        transcript: transcript.clone(),
                    };
                    std::thread::spawn(move || pump.run());
                }
            }
        });
        relay.thread = Some(thread);
        Ok(relay)
    }

    /// Cut every open connection and refuse new ones until [`Relay::heal`].
    fn partition(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }

    fn seen(&self) -> Vec<Observed> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn record(t: &SharedTranscript, from: Role, event: WireEvent) {
    if let Ok(mut t) = t.lock() {
        t.records.push(WireRecord {
            time: wire_secs() as u64,
            from,
            event,
        });
    }
}

/// One direction of a relayed connection.
struct Pump {
    from: Role,
    src: TcpStream,
    dst: TcpStream,
    generation: Arc<AtomicU64>,
    mine: u64,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Observed>>>,
    transcript: SharedTranscript,
}

impl Pump {
    fn run(mut self) {
        let _ = self.src.set_read_timeout(Some(Duration::from_millis(100)));
        let mut decoder = FrameDecoder::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            if self.stop.load(Ordering::SeqCst)
                || self.generation.load(Ordering::SeqCst) != self.mine
            {
                break;
            }
            match self.src.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    record(
                        &self.transcript,
                        self.from,
                        WireEvent::Data(buf[..n].to_vec()),
                    );
                    decoder.push(&buf[..n]);
                    while let Ok(Some(msg)) = decoder.next_message() {
                        if let Ok(mut s) = self.seen.lock() {
                            s.push(Observed {
                                at: wire_secs(),
                                from: self.from,
                                msg,
                            });
                        }
                    }
                    if self.dst.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
        record(&self.transcript, self.from, WireEvent::Close);
        let _ = self.src.shutdown(Shutdown::Both);
        let _ = self.dst.shutdown(Shutdown::Both);
    }
}

// ---- our server ----------------------------------------------------------------------------------

/// Our `failover serve`, the SUT's partner, killed when dropped.
struct Partner {
    bin: PathBuf,
    config: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    dhcp: SocketAddr,
    child: Option<Child>,
}

impl Partner {
    fn start(&mut self) -> Result<(), String> {
        let err = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("{}: {e}", self.log.display()))?;
        let child = Command::new(&self.bin)
            .args(["serve", "--config"])
            .arg(&self.config)
            // Our server is the known-good partner: never a deliberate breakage of the SUT's.
            .env_remove("FAILOVER_BREAK")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {} serve: {e}", self.bin.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL (a crash, no orderly shutdown).
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn exited(&mut self) -> Option<String> {
        match self.child.as_mut().map(|c| c.try_wait()) {
            Some(Ok(Some(st))) => Some(format!(
                "our failover serve exited ({st}); its log: {}",
                self.log.display()
            )),
            _ => None,
        }
    }

    fn ctl(&self, what: &str) -> Result<serde_json::Value, String> {
        let out = Command::new(&self.bin)
            .args(["ctl", "--json", "--socket"])
            .arg(&self.socket)
            .arg(what)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("failover ctl: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("failover ctl {what}: {e}"))
    }

    /// Wait up to `within` for our server and its partner (the SUT) to be in NORMAL with
    /// communications OK; the seconds it took, or the last status seen.
    fn wait_normal(&mut self, within: Duration) -> Result<f64, String> {
        let t0 = Instant::now();
        let mut last = String::from("no status");
        while t0.elapsed() < within {
            if let Some(e) = self.exited() {
                return Err(e);
            }
            match self.ctl("status") {
                Ok(v) => {
                    if v["state"] == "NORMAL"
                        && v["partner_state"] == "NORMAL"
                        && v["communications_ok"] == true
                    {
                        return Ok(t0.elapsed().as_secs_f64());
                    }
                    last = format!(
                        "our server {} (partner announced {}, communications {})",
                        v["state"].as_str().unwrap_or("?"),
                        v["partner_state"].as_str().unwrap_or("none"),
                        if v["communications_ok"] == true {
                            "ok"
                        } else {
                            "interrupted"
                        }
                    );
                }
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(last)
    }
}

impl Drop for Partner {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free TCP port on `ip`.
fn free_port(ip: std::net::IpAddr) -> Result<u16, String> {
    super::free_port(ip)
}

/// Our server's configuration: the SUT's pool, MCLT, lifetime and keepalive, the other role,
/// the relay as its partner.
fn partner_config(
    cfg: &WireConfig,
    dir: &Path,
    partner_local: SocketAddr,
    partner_remote: SocketAddr,
    dhcp: SocketAddr,
) -> String {
    let role = match cfg.role {
        Role::Primary => "secondary",
        Role::Secondary => "primary",
    };
    let bind = match dhcp.ip() {
        std::net::IpAddr::V6(a) => a.to_string(),
        std::net::IpAddr::V4(a) => a.to_string(),
    };
    let relationship = cfg
        .relationship_name
        .as_ref()
        .map(|n| format!("relationship = {:?}\n", n))
        .unwrap_or_default();
    format!(
        r#"role = "{role}"
{relationship}mclt = {mclt}
valid_lifetime = {valid}
startup_time = 1
storage = "{d}/partner.redb"
control_socket = "{d}/partner.sock"
duid_file = "{d}/partner.duid"
[partner]
local = "{local}"
remote = "{remote}"
keepalive = {keepalive}
reconnect_min = 1
reconnect_max = 1
[dhcp]
bind = "{bind}"
port = {port}
[[address_pools]]
range = "{range}"
"#,
        mclt = cfg.mclt,
        valid = cfg.valid_lifetime,
        d = dir.display(),
        local = sock_text(partner_local),
        remote = sock_text(partner_remote),
        keepalive = cfg.keepalive,
        port = dhcp.port(),
        range = cfg.address_range,
    )
}

fn sock_text(a: SocketAddr) -> String {
    a.to_string()
}

// ---- the run ------------------------------------------------------------------------------------

/// The seeded schedule: `rounds` events drawn from those available, with at least one
/// partition (the property is about partitions; a schedule without one would test little).
pub fn schedule(rounds: u32, seed: u64, can_restart_sut: bool) -> Vec<Event> {
    // Xoshiro256++: a documented, portable generator (the same seed, the same schedule anywhere).
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut pool = vec![Event::Connected, Event::Partition, Event::RestartPartner];
    if can_restart_sut {
        pool.push(Event::RestartSut);
    }
    let mut out: Vec<Event> = (0..rounds)
        .map(|_| pool[rng.random_range(0..pool.len())])
        .collect();
    if !out.is_empty() && !out.contains(&Event::Partition) {
        let k = rng.random_range(0..out.len());
        out[k] = Event::Partition;
    }
    out
}

/// Run interop against the SUT described by `cfg` (its `dhcp`, and `target` when it is the
/// secondary or `listen` when it is the primary: the relay listens there).
pub fn run(cfg: &WireConfig, mut opts: InteropOptions) -> Result<InteropRun, String> {
    let sut_dhcp = cfg
        .dhcp
        .ok_or("interop plays DHCPv6 clients against the SUT: give its DHCPv6 address (dhcp)")?;
    let host = sut_dhcp.ip();
    std::fs::create_dir_all(&opts.work_dir)
        .map_err(|e| format!("{}: {e}", opts.work_dir.display()))?;
    let our_dhcp = SocketAddr::new(host, free_port(host)?);
    // The relay sits where the primary connects; it forwards to the secondary's partner port.
    let (relay_listen, upstream, our_local, our_remote) = match cfg.role {
        Role::Secondary => {
            let target = cfg.target.ok_or("role = \"secondary\" needs `target`")?;
            let relay = SocketAddr::new(target.ip(), free_port(target.ip())?);
            (relay, target, SocketAddr::new(host, 0), relay)
        }
        Role::Primary => {
            let listen = cfg.listen.ok_or("role = \"primary\" needs `listen`")?;
            let ours = SocketAddr::new(listen.ip(), free_port(listen.ip())?);
            // The secondary checks only the partner's address (the relay connects from `listen`'s
            // host); the port is a placeholder.
            (listen, ours, ours, SocketAddr::new(listen.ip(), 647))
        }
    };
    let config = opts.work_dir.join("partner.toml");
    std::fs::write(
        &config,
        partner_config(cfg, &opts.work_dir, our_local, our_remote, our_dhcp),
    )
    .map_err(|e| format!("{}: {e}", config.display()))?;
    let relay = Relay::start(relay_listen, upstream)?;
    let mut partner = Partner {
        bin: opts.serve_bin.clone(),
        config,
        socket: opts.work_dir.join("partner.sock"),
        log: opts.work_dir.join("partner.log"),
        dhcp: our_dhcp,
        child: None,
    };
    partner.start()?;

    let events = schedule(opts.rounds, opts.seed, opts.sut_restart.is_some());
    let mut rounds = Vec::new();
    let mut grants: Vec<Grant> = Vec::new();
    let mut normal_failures: Vec<String> = Vec::new();
    match partner.wait_normal(opts.settle) {
        Ok(_) => {}
        Err(last) => normal_failures.push(format!(
            "at the start: not NORMAL within {:.0} s; last: {last}",
            opts.settle.as_secs_f64()
        )),
    }
    let link = cfg.pool()?.0;
    for (k, ev) in events.iter().enumerate() {
        let k = k as u32;
        let t0 = Instant::now();
        let mut notes = Vec::new();
        match ev {
            Event::Connected => {}
            Event::Partition => {
                relay.partition();
                // Both servers see the connection close; give them a moment to change state
                // (COMMUNICATIONS-INTERRUPTED, RFC 8156 §8.5).
                std::thread::sleep(Duration::from_millis(500));
            }
            Event::RestartSut => {
                if let Some(r) = opts.sut_restart.as_mut() {
                    if let Err(e) = r() {
                        notes.push(format!("--sut-restart failed: {e}"));
                    }
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            Event::RestartPartner => {
                partner.kill();
                std::thread::sleep(Duration::from_millis(200));
                partner.start()?;
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        let mut refused = Vec::new();
        // New clients: SOLICIT with Rapid Commit to each server.
        let mut held = Vec::new();
        for (server, addr) in [("sut", sut_dhcp), ("partner", partner.dhcp)] {
            for i in 0..opts.clients {
                let duid = client_duid(opts.seed, k, server, i);
                let hex: String = duid.iter().map(|b| format!("{b:02x}")).collect();
                match dhcp::solicit_rapid_commit_from(addr, link, &duid, CLIENT_WAIT) {
                    Ok((Granted::Address { addr: a, valid }, sid)) => {
                        grants.push(Grant {
                            round: k,
                            server,
                            role: role_of(cfg.role, server),
                            client: hex,
                            address: a,
                            valid,
                            at: wire_secs(),
                        });
                        if let Some(sid) = sid {
                            held.push((server, addr, duid, sid, a));
                        }
                    }
                    Ok((other, _)) => refused.push(format!("{server} to {hex}: {other:?}")),
                    Err(e) => notes.push(format!("client {hex} to {server}: {e}")),
                }
            }
        }
        // The same clients RENEW a moment later, once the granting server's BNDUPD had time to
        // be acknowledged: in communication the lifetime may then grow to the acknowledged
        // partner lifetime plus the MCLT (RFC 8156 §4.4), partitioned it may not.
        std::thread::sleep(RENEW_AFTER);
        for (server, addr, duid, sid, a) in held {
            let hex: String = duid.iter().map(|b| format!("{b:02x}")).collect();
            match dhcp::renew(addr, link, &duid, &sid, a, CLIENT_WAIT) {
                Ok(Granted::Address { addr: got, valid }) => grants.push(Grant {
                    round: k,
                    server,
                    role: role_of(cfg.role, server),
                    client: hex,
                    address: got,
                    valid,
                    at: wire_secs(),
                }),
                Ok(other) => refused.push(format!("{server} renewing {hex}: {other:?}")),
                Err(e) => notes.push(format!("client {hex} renewing at {server}: {e}")),
            }
        }
        let left = opts.round_time.saturating_sub(t0.elapsed());
        std::thread::sleep(left);
        if *ev == Event::Partition {
            relay.heal();
        }
        let normal_after = match partner.wait_normal(opts.settle) {
            Ok(s) => Some(s),
            Err(last) => {
                normal_failures.push(format!(
                    "after round {k} ({}): not NORMAL within {:.0} s; last: {last}",
                    ev.name(),
                    opts.settle.as_secs_f64()
                ));
                if let Some(e) = partner.exited() {
                    return Err(e);
                }
                None
            }
        };
        rounds.push(Round {
            round: k,
            event: *ev,
            granted: grants.iter().filter(|g| g.round == k).count(),
            refused,
            normal_after,
            notes,
        });
    }
    // Our server's database, after the last round (the SUT's bindings reach it by BNDUPD and
    // UPDREQALL on every reconnection, RFC 8156 §7.7).
    let leases = partner.ctl("leases");
    let seen = relay.seen();
    let now = wire_secs();
    let mut results = vec![
        mclt_verdict(cfg.mclt, &grants, &seen),
        duplicate_verdict(&grants, leases.as_ref().ok(), now),
        normal_verdict(&normal_failures, rounds.len()),
    ];
    if let Err(e) = &leases {
        results.push(WireResult {
            id: "4/no-duplicate (database)".into(),
            title: "our server's database could be read".into(),
            observes: "failover ctl leases on our server".into(),
            verdict: Verdict::Error {
                message: format!("cannot read our server's leases: {e}"),
            },
            seconds: 0.0,
        });
    }
    let connections = relay.connections.load(Ordering::SeqCst);
    let transcript = relay.transcript.clone();
    drop(relay);
    partner.kill();
    let partner_log = if opts.keep {
        Some(partner.log.clone())
    } else {
        let _ = std::fs::remove_dir_all(&opts.work_dir);
        None
    };
    Ok(InteropRun {
        seed: opts.seed,
        rounds,
        grants,
        results,
        relayed_messages: seen.len(),
        connections,
        partner_log,
        transcript,
    })
}

/// A DUID-LL (RFC 8415 §11.4) of its own for every client of a run.
fn client_duid(seed: u64, round: u32, server: &str, i: u32) -> Vec<u8> {
    let s = if server == "sut" { 0x5u8 } else { 0xa };
    vec![
        0,
        3,
        0,
        1,
        0x02,
        (seed & 0xff) as u8,
        round as u8,
        s,
        (i >> 8) as u8,
        i as u8,
    ]
}

/// The acknowledged partner lifetimes seen on the relay: for the server that sent a BNDUPD,
/// per address, the OPTION_F_PARTNER_LIFETIME values of its BNDUPDs that its partner's BNDREPLY
/// (same transaction-id, RFC 8156 §5.3.2) accepted, with when the BNDREPLY was seen. A client's
/// data is rejected when the BNDREPLY's OPTION_CLIENT_DATA for the same client carries a status
/// code other than Success (§7.5.3); anything else in it is accepted.
fn acked_lifetimes(seen: &[Observed]) -> BTreeMap<(Role, Ipv6Addr), Vec<(f64, u32)>> {
    let mut out: BTreeMap<(Role, Ipv6Addr), Vec<(f64, u32)>> = BTreeMap::new();
    let mut updates: BTreeMap<(Role, u32), &Message> = BTreeMap::new();
    for o in seen {
        match o.msg.kind() {
            Ok(MsgKind::BndUpd) => {
                updates.insert((o.from, o.msg.transaction_id), &o.msg);
            }
            Ok(MsgKind::BndReply) => {
                // The BNDREPLY comes from the partner of the server whose update it answers.
                let updater = other(o.from);
                let Some(upd) = updates.remove(&(updater, o.msg.transaction_id)) else {
                    continue;
                };
                let rejected: Vec<Vec<u8>> = o
                    .msg
                    .options
                    .iter()
                    .filter_map(|opt| match opt {
                        DhcpOption::ClientData(inner) if has_failure(inner) => client_id(inner),
                        _ => None,
                    })
                    .collect();
                for opt in &upd.options {
                    let DhcpOption::ClientData(inner) = opt else {
                        continue;
                    };
                    if client_id(inner).is_some_and(|c| rejected.contains(&c)) {
                        continue;
                    }
                    let mut found = Vec::new();
                    addresses_with_lifetime(inner, &mut found);
                    for (addr, pl) in found {
                        out.entry((updater, addr)).or_default().push((o.at, pl));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn other(r: Role) -> Role {
    match r {
        Role::Primary => Role::Secondary,
        Role::Secondary => Role::Primary,
    }
}

fn client_id(opts: &[DhcpOption]) -> Option<Vec<u8>> {
    opts.iter().find_map(|o| match o {
        DhcpOption::ClientId(c) => Some(c.clone()),
        _ => None,
    })
}

fn has_failure(opts: &[DhcpOption]) -> bool {
    let probe = Message {
        options: opts.to_vec(),
        ..Message::new(MsgKind::BndReply, 0, 0)
    };
    !failure_codes(&probe).is_empty()
}

fn addresses_with_lifetime(opts: &[DhcpOption], out: &mut Vec<(Ipv6Addr, u32)>) {
    for o in opts {
        match o {
            DhcpOption::IaNa(ia) => addresses_with_lifetime(&ia.options, out),
            DhcpOption::IaAddr(a) => {
                for i in &a.options {
                    if let DhcpOption::PartnerLifetime(p) = i {
                        out.push((a.addr, *p));
                    }
                }
            }
            _ => {}
        }
    }
}

fn role_of(sut: Role, server: &str) -> Role {
    match (server, sut) {
        ("sut", r) => r,
        (_, Role::Primary) => Role::Secondary,
        (_, Role::Secondary) => Role::Primary,
    }
}

/// Each server's states as it announced them on the relay (OPTION_F_SERVER_STATE with
/// OPTION_F_START_TIME_OF_STATE in STATE, RFC 8156 §5.3.x, §8): (since, state), in order seen.
/// A state entered during a partition is announced, with its start time, on reconnection.
fn announced_states(seen: &[Observed]) -> BTreeMap<Role, Vec<(u32, ServerState)>> {
    let mut out: BTreeMap<Role, Vec<(u32, ServerState)>> = BTreeMap::new();
    for o in seen {
        let state = o.msg.options.iter().find_map(|x| match x {
            DhcpOption::ServerState(s) => Some(*s),
            _ => None,
        });
        let since = o.msg.options.iter().find_map(|x| match x {
            DhcpOption::StartTimeOfState(t) => Some(*t),
            _ => None,
        });
        if let (Some(state), Some(since)) = (state, since) {
            out.entry(o.from).or_default().push((since, state));
        }
    }
    out
}

/// Whether `role` was in PARTNER-DOWN at `at` by its announcements: the latest announced state
/// that started at or before `at`.
fn in_partner_down(states: &BTreeMap<Role, Vec<(u32, ServerState)>>, role: Role, at: f64) -> bool {
    states
        .get(&role)
        .into_iter()
        .flatten()
        .filter(|(since, _)| f64::from(*since) <= at)
        .max_by_key(|(since, _)| *since)
        .is_some_and(|(_, s)| *s == ServerState::PartnerDown)
}

/// RFC 8156 §4.4 for every grant: expiration known to the client ≤ max(acknowledged partner
/// lifetime, now) + MCLT, with [`TIMER_SLACK`]; not for a server in PARTNER-DOWN, where the
/// partner is taken to be down and no acknowledgement can come (the reading of the project's
/// digest, §1.2: "every state except PARTNER-DOWN").
fn mclt_verdict(mclt: u32, grants: &[Grant], seen: &[Observed]) -> WireResult {
    let states = announced_states(seen);
    let (exempt, judged): (Vec<Grant>, Vec<Grant>) = grants
        .iter()
        .cloned()
        .partition(|g| in_partner_down(&states, g.role, g.at));
    let mut r = mclt_check(mclt, &judged, &acked_lifetimes(seen));
    if !exempt.is_empty() {
        let _ = write!(
            r.observes,
            "; {} given by a server in PARTNER-DOWN (by its STATE announcements) not judged: the bound holds in every state except PARTNER-DOWN",
            exempt.len()
        );
    }
    r
}

/// [`mclt_verdict`] on given acknowledgements (per updating server's role and address: when
/// the acceptance was seen, and the partner lifetime accepted).
fn mclt_check(
    mclt: u32,
    grants: &[Grant],
    acked: &BTreeMap<(Role, Ipv6Addr), Vec<(f64, u32)>>,
) -> WireResult {
    let mut bad = Vec::new();
    for g in grants {
        let ack = acked
            .get(&(g.role, g.address))
            .into_iter()
            .flatten()
            .filter(|(seen_at, _)| *seen_at <= g.at)
            .map(|(_, p)| f64::from(*p))
            .fold(f64::MIN, f64::max);
        let bound = ack.max(g.at) + f64::from(mclt);
        if g.expires() > bound + TIMER_SLACK.as_secs_f64() {
            bad.push(format!(
                "round {}: {} gave {} to client {} for {} s (expires {:.0}), beyond {} (the later of the acknowledged partner lifetime {} and the time of the reply {:.0}, plus the MCLT {mclt} s)",
                g.round,
                g.server,
                g.address,
                g.client,
                g.valid,
                g.expires(),
                bound as i64,
                if ack == f64::MIN { "(none)".to_string() } else { format!("{ack:.0}") },
                g.at
            ));
        }
    }
    let verdict = if bad.is_empty() {
        Verdict::Pass
    } else {
        Verdict::fail(
            "every client's expiration time at most the MCLT beyond the later of the acknowledged partner lifetime and the current time",
            format!("{} violation(s): {}", bad.len(), bad.join("; ")),
        )
    };
    WireResult {
        id: "4.4/mclt-bound".into(),
        title: "no client lifetime beyond what the partner acknowledged plus the MCLT".into(),
        observes: format!(
            "every REPLY with an IAADDR ({} of them) against the OPTION_F_PARTNER_LIFETIME of the granting server's BNDUPDs accepted by its partner's BNDREPLY, seen on the relay",
            grants.len()
        ),
        verdict,
        seconds: 0.0,
    }
}

/// No address held by two clients at once: from the replies, and from our database.
fn duplicate_verdict(grants: &[Grant], leases: Option<&serde_json::Value>, now: f64) -> WireResult {
    let mut bad = Vec::new();
    let mut by_addr: BTreeMap<Ipv6Addr, Vec<&Grant>> = BTreeMap::new();
    for g in grants {
        by_addr.entry(g.address).or_default().push(g);
    }
    for (addr, gs) in &by_addr {
        for (i, a) in gs.iter().enumerate() {
            for b in &gs[i + 1..] {
                if a.client == b.client {
                    continue;
                }
                let overlap = a.expires().min(b.expires()) - a.at.max(b.at);
                if overlap > OVERLAP_SLACK {
                    bad.push(format!(
                        "{addr}: client {} (from {}, round {}, until {:.0}) and client {} (from {}, round {}, until {:.0}) both held it for {overlap:.1} s",
                        a.client, a.server, a.round, a.expires(), b.client, b.server, b.round, b.expires()
                    ));
                }
            }
        }
    }
    // Our database: an address ACTIVE for one client while another client's reply still
    // holds it (both beyond the slack from now).
    if let Some(list) = leases.and_then(|v| v.as_array()) {
        for l in list {
            if l["status"] != "ACTIVE" {
                continue;
            }
            let (Some(lease), Some(client)) = (l["lease"].as_str(), l["client"].as_str()) else {
                continue;
            };
            let Ok(addr) = lease.parse::<Ipv6Addr>() else {
                continue;
            };
            let db_until = l["expires"]
                .as_u64()
                .map(|u| u as f64 - EPOCH_2000_UNIX as f64);
            if db_until.is_some_and(|u| u <= now + OVERLAP_SLACK) {
                continue;
            }
            for g in by_addr.get(&addr).into_iter().flatten() {
                if g.client != client && g.expires() > now + OVERLAP_SLACK {
                    bad.push(format!(
                        "{addr}: our server's database has it ACTIVE for client {client} while client {} holds it from {} (round {}) until {:.0}",
                        g.client, g.server, g.round, g.expires()
                    ));
                }
            }
        }
    }
    let verdict = if bad.is_empty() {
        Verdict::Pass
    } else {
        Verdict::fail(
            "no address held by two clients at once",
            format!("{} conflict(s): {}", bad.len(), bad.join("; ")),
        )
    };
    WireResult {
        id: "4/no-duplicate".into(),
        title: "no address held by two clients at once".into(),
        observes: format!(
            "the {} replies with an address (client, address, lifetime, time) and our server's database (failover ctl leases) at the end",
            grants.len()
        ),
        verdict,
        seconds: 0.0,
    }
}

fn normal_verdict(failures: &[String], rounds: usize) -> WireResult {
    WireResult {
        id: "8/pair-normal".into(),
        title: "the pair reaches NORMAL at the start and after every round".into(),
        observes: format!(
            "our server's state, partner state and communications (failover ctl status), at the start and after each of the {rounds} rounds"
        ),
        verdict: if failures.is_empty() {
            Verdict::Pass
        } else {
            Verdict::fail(
                "NORMAL on both sides, communications OK (RFC 8156 §8.2, §8.8)",
                failures.join("; "),
            )
        },
        seconds: 0.0,
    }
}

/// The interop report as text: the rounds, then the verdicts (as the wire summary).
pub fn summary(sut: &str, run: &InteropRun) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "interop with {sut}: seed {}, {} rounds, {} clients served, {} partner messages over {} connection(s)",
        run.seed,
        run.rounds.len(),
        run.grants.len(),
        run.relayed_messages,
        run.connections
    );
    for r in &run.rounds {
        let _ = writeln!(
            s,
            "  round {:<3} {:<16} {} granted, {} without an address, {}",
            r.round,
            r.event.name(),
            r.granted,
            r.refused.len(),
            match r.normal_after {
                Some(t) => format!("NORMAL again after {t:.1} s"),
                None => "not NORMAL again".to_string(),
            }
        );
        for n in &r.notes {
            let _ = writeln!(s, "      note: {n}");
        }
    }
    s.push_str(&super::summary(sut, &run.results));
    s
}

/// The JSON report: the wire report's fields, plus the seed, rounds and grants.
pub fn json_report(sut: &str, run: &InteropRun) -> serde_json::Value {
    let mut v = super::json_report(sut, &run.results);
    v["mode"] = "interop".into();
    v["seed"] = run.seed.into();
    v["rounds"] = serde_json::to_value(&run.rounds).unwrap_or_default();
    v["grants"] = serde_json::to_value(&run.grants).unwrap_or_default();
    v["relayed_messages"] = run.relayed_messages.into();
    v["connections"] = run.connections.into();
    v["overlap_slack_seconds"] = OVERLAP_SLACK.into();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(server: &'static str, client: &str, addr: &str, at: f64, valid: u32) -> Grant {
        Grant {
            round: 0,
            server,
            role: role_of(Role::Secondary, server),
            client: client.into(),
            address: addr.parse().unwrap(),
            valid,
            at,
        }
    }

    #[test]
    fn two_clients_holding_one_address_at_once_fail_no_duplicate_and_are_named() {
        let a = grant("sut", "aa", "2001:db8::5", 100.0, 30);
        let b = grant("partner", "bb", "2001:db8::5", 110.0, 2);
        let r = duplicate_verdict(&[a.clone(), b], None, 0.0);
        match &r.verdict {
            Verdict::Fail { observed, .. } => {
                assert!(
                    observed.contains("2001:db8::5: client aa (from sut"),
                    "{observed}"
                );
                assert!(observed.contains("client bb (from partner"), "{observed}");
            }
            v => panic!("{v:?}"),
        }
        // After the first holding ended (beyond the slack), the address may go to another.
        let later = grant("partner", "bb", "2001:db8::5", 130.5, 2);
        assert_eq!(
            duplicate_verdict(&[a.clone(), later], None, 0.0).verdict,
            Verdict::Pass
        );
        // The same client renewing is no conflict.
        let again = grant("partner", "aa", "2001:db8::5", 110.0, 30);
        assert_eq!(
            duplicate_verdict(&[a, again], None, 0.0).verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn our_database_binding_an_address_another_client_holds_fails_no_duplicate() {
        let a = grant("sut", "aa", "2001:db8::5", 100.0, 30);
        let now = 105.0;
        let until = (EPOCH_2000_UNIX as f64 + 125.0) as u64;
        let db = serde_json::json!([
            {"lease": "2001:db8::5", "status": "ACTIVE", "client": "cc", "expires": until},
        ]);
        match duplicate_verdict(std::slice::from_ref(&a), Some(&db), now).verdict {
            Verdict::Fail { observed, .. } => {
                assert!(
                    observed.contains("database has it ACTIVE for client cc"),
                    "{observed}"
                )
            }
            v => panic!("{v:?}"),
        }
        // The same client in the database, or the address not ACTIVE there: fine.
        let db = serde_json::json!([
            {"lease": "2001:db8::5", "status": "ACTIVE", "client": "aa", "expires": until},
            {"lease": "2001:db8::6", "status": "FREE", "client": null, "expires": null},
        ]);
        assert_eq!(
            duplicate_verdict(&[a], Some(&db), now).verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn mclt_bound_counts_only_acknowledgements_seen_before_the_reply() {
        let addr: Ipv6Addr = "2001:db8::5".parse().unwrap();
        // The SUT (secondary here) gives 30 s at t=100 with MCLT 2.
        let g = grant("sut", "aa", "2001:db8::5", 100.0, 30);
        let none = BTreeMap::new();
        assert!(matches!(
            mclt_check(2, std::slice::from_ref(&g), &none).verdict,
            Verdict::Fail { .. }
        ));
        // Its partner had acknowledged a partner lifetime of 128 at t=90: 130 ≤ 128 + 2.
        let mut acked = BTreeMap::new();
        acked.insert((Role::Secondary, addr), vec![(90.0, 128u32)]);
        assert_eq!(
            mclt_check(2, std::slice::from_ref(&g), &acked).verdict,
            Verdict::Pass
        );
        // The same acknowledgement seen only after the reply does not count.
        acked.insert((Role::Secondary, addr), vec![(101.0, 128u32)]);
        assert!(matches!(
            mclt_check(2, std::slice::from_ref(&g), &acked).verdict,
            Verdict::Fail { .. }
        ));
        // Nor one for the other server's updates.
        let mut other_side = BTreeMap::new();
        other_side.insert((Role::Primary, addr), vec![(90.0, 128u32)]);
        assert!(matches!(
            mclt_check(2, &[g], &other_side).verdict,
            Verdict::Fail { .. }
        ));
    }

    #[test]
    fn acknowledged_lifetimes_come_from_accepted_bndupds_matched_by_transaction_id() {
        use failover_proto::wire::{IaAddr, IaNa, Status, StatusCode};
        let data = |client: u8, addr: &str, pl: u32, status: Option<StatusCode>| {
            let mut inner = vec![
                DhcpOption::ClientId(vec![0, 3, client]),
                DhcpOption::IaNa(IaNa {
                    iaid: 0,
                    t1: 0,
                    t2: 0,
                    options: vec![DhcpOption::IaAddr(IaAddr {
                        addr: addr.parse().unwrap(),
                        preferred_lifetime: 0,
                        valid_lifetime: 0,
                        options: vec![DhcpOption::PartnerLifetime(pl)],
                    })],
                }),
            ];
            if let Some(c) = status {
                inner.push(DhcpOption::StatusCode(Status::new(c, "no")));
            }
            DhcpOption::ClientData(inner)
        };
        let upd = Message::new(MsgKind::BndUpd, 9, 0)
            .with(data(1, "2001:db8::1", 500, None))
            .with(data(2, "2001:db8::2", 600, None));
        let reply = Message::new(MsgKind::BndReply, 9, 0)
            .with(data(1, "2001:db8::1", 500, None))
            .with(data(
                2,
                "2001:db8::2",
                600,
                Some(StatusCode::CONFIGURATION_CONFLICT),
            ));
        let stray = Message::new(MsgKind::BndReply, 10, 0).with(data(3, "2001:db8::3", 9, None));
        let seen = vec![
            Observed {
                at: 1.0,
                from: Role::Primary,
                msg: upd,
            },
            Observed {
                at: 2.0,
                from: Role::Secondary,
                msg: reply,
            },
            Observed {
                at: 3.0,
                from: Role::Secondary,
                msg: stray,
            },
        ];
        let acked = acked_lifetimes(&seen);
        let a1: Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(acked.get(&(Role::Primary, a1)), Some(&vec![(2.0, 500)]));
        // Rejected, and answered without an update: nothing.
        assert_eq!(acked.len(), 1, "{acked:?}");
    }

    #[test]
    fn grants_of_a_server_announcing_partner_down_are_not_judged_by_the_mclt_bound() {
        let g = grant("sut", "aa", "2001:db8::5", 100.0, 30);
        let state = |since: u32, st: ServerState| Observed {
            at: 120.0,
            from: Role::Secondary,
            msg: Message::new(MsgKind::State, 1, 0)
                .with(DhcpOption::ServerState(st))
                .with(DhcpOption::StartTimeOfState(since)),
        };
        // Announced (on reconnection) as in PARTNER-DOWN since 90: not judged.
        let r = mclt_verdict(
            2,
            std::slice::from_ref(&g),
            &[state(90, ServerState::PartnerDown)],
        );
        assert_eq!(r.verdict, Verdict::Pass);
        assert!(
            r.observes.contains("1 given by a server in PARTNER-DOWN"),
            "{}",
            r.observes
        );
        // In PARTNER-DOWN only from 105, after the grant; or only in COMMUNICATIONS-INTERRUPTED:
        // judged, and 30 s without an acknowledgement fails.
        for seen in [
            vec![state(105, ServerState::PartnerDown)],
            vec![state(90, ServerState::CommunicationsInterrupted)],
            vec![
                state(80, ServerState::PartnerDown),
                state(95, ServerState::Normal),
            ],
        ] {
            let r = mclt_verdict(2, std::slice::from_ref(&g), &seen);
            assert!(matches!(r.verdict, Verdict::Fail { .. }), "{seen:?}");
        }
    }

    #[test]
    fn every_schedule_holds_a_partition_and_the_seed_fixes_it() {
        for seed in 0..50 {
            let s = schedule(4, seed, false);
            assert!(s.contains(&Event::Partition), "{s:?}");
            assert!(!s.contains(&Event::RestartSut), "{s:?}");
            assert_eq!(s, schedule(4, seed, false));
        }
        assert_ne!(schedule(8, 1, true), schedule(8, 2, true));
    }
}
