//! The RFC scenarios (`conformance/scenarios/`) over the wire (issue 15): a
//! [`ScenarioTarget`] whose endpoint is a real server, started afresh for every case, that the
//! harness drives as its partner over TCP.
//!
//! **The recipe** (the runner's, never a hand-written exchange per case; conformance/README.md
//! "Scenarios over the wire"): for each case
//!
//! 1. start a fresh SUT (`--sut-start CMD`) with a configuration derived from `given` (role,
//!    MCLT, valid lifetime, STARTUP time, auto-partner-down, the pool: every address and
//!    prefix the case names), written as [`ScenarioSutConfig`] TOML;
//! 2. bring it to the given failover state and partner state from the partner side, by the
//!    transitions of RFC 8156 §8 ([`Plan`]): an empty server starts in PARTNER-DOWN (primary)
//!    or RECOVER (secondary) (§8.2, §8.3.2); a RECOVER secondary that got its UPDDONE waits the
//!    MCLT in RECOVER-WAIT (§8.6.2), so the first connection announces an MCLT of one second
//!    (the secondary takes the CONNECT's MCLT, §6.1.2) and the second the given one; a
//!    RECOVER-DONE server goes to NORMAL when its partner is NORMAL (§8.7.2); a lost connection
//!    is COMMUNICATIONS-INTERRUPTED (§8.8.2); the operator's "partner is down" (`--sut-ctl`) is
//!    PARTNER-DOWN (§8.9.2); PARTNER-DOWN meeting a partner in PARTNER-DOWN is
//!    POTENTIAL-CONFLICT (§8.4.2), a lost connection there RESOLUTION-INTERRUPTED (§8.10.2), an
//!    UPDDONE to its UPDREQ CONFLICT-DONE (§8.10.2). Every state the SUT announces on the way
//!    is checked: a recipe that does not reach its state is an error, never a pass;
//! 3. load the given lease records by BNDUPD (§7.4), each to be accepted, with every time
//!    relative to the scenario's zero, a wall-clock second chosen [`LEAD`] seconds ahead;
//! 4. at zero + `when.at` (waiting at most [`MAX_WAIT`] s of wall clock), apply `when`: a
//!    partner message over TCP, a connection set up or dropped, the operator command through
//!    `--sut-ctl`, or simply the wall clock (a timer);
//! 5. listen [`SETTLE`], then read what the wire shows: the messages the SUT sent (and their
//!    statuses), whether it closed the connection, its state (its last STATE; when the
//!    connection is down, the STATE of a fresh connection), and its lease records as its
//!    answer to UPDREQALL (§5.3.6) shows them.
//!
//! What the wire cannot show or set is said per case ([`WireScenarios::not_testable`]): stable
//! storage contents (STARTUP after a restart), a server's own bookkeeping of what it told its
//! partner or its client (partner-lifetime sent, acked partner-lifetime, client expiry,
//! update-pending), when the server entered its state when the outcome depends on it, waits
//! beyond [`MAX_WAIT`] s, and the DHCPv6 exchanges this runner does not play yet.
//!
//! **Tolerance.** Times the SUT computes itself are compared within [`TOLERANCE`] (2 s: the
//! SUT's clock ticks once per second, RFC 8156 §6.6, and the event reaches it up to a second
//! after the second it was meant for); times the harness sent are echoed exactly.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use failover_proto::wire::{
    ConnectFlags, DhcpOption, IaAddr, IaNa, IaPd, IaPrefix, Message, ProtocolVersion, ServerFlags,
    Status as WireStatus, StatusCode, Vss,
};
use failover_proto::{BindingStatus, MsgKind, Role, ServerState};
use serde::Serialize;

use super::peer::{describe, wire_now, Peer, Recv, SharedTranscript, Transcript};
use super::{free_port, Started};
use crate::scenario::{
    client_duid, Case, LeaseRecord, LeaseRef, Observed, PartnerStateGiven, ScenarioTarget,
    SentLease, SentMsg, Status, StoredLease, Then,
};

/// Longest wall-clock wait for a `when.at` in the future (a timer case), seconds.
pub const MAX_WAIT: i64 = 20;
/// Times the SUT computes itself are compared within this many seconds.
pub const TOLERANCE: i64 = 2;
/// Seconds between choosing the scenario's zero and reaching it: loading the lease records and
/// the recipe's last steps fit in it.
pub const LEAD: i64 = 3;
/// How long the harness listens after the event before reading the outcome.
pub const SETTLE: Duration = Duration::from_millis(1500);
/// How long an answer may take (a loaded machine).
const ANSWER: Duration = Duration::from_secs(5);
/// The FO_KEEPALIVE_TIME the harness announces; it sends CONTACT every second anyway.
const HARNESS_KEEPALIVE: u32 = 10;
/// The keepalive the SUT is started with: long, so that no case is cut by it.
const SUT_KEEPALIVE: u64 = 60;
/// The STARTUP time the SUT is started with when `given` names none (§8.3.2 step 3): long
/// enough for the harness to connect, short enough to wait out.
const DEFAULT_STARTUP: u64 = 3;
/// The address the pool gets when a case names none (a server needs one pool).
const FILLER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0x100);

/// What a SUT instance is started with for one case (the `{config}` file of `--sut-start`): the
/// `given` configuration and the instance's addresses. `scripts/scenario-sut-failover.sh` turns
/// it into a `failover serve` configuration; another server's wrapper turns it into its own.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioSutConfig {
    /// The SUT's role.
    pub role: Role,
    /// Secondary: where the SUT listens for its partner; primary: where it connects (the
    /// harness listens there).
    pub partner: SocketAddr,
    /// The SUT's DHCPv6 UDP address.
    pub dhcp: SocketAddr,
    /// MCLT, seconds (§4.4).
    pub mclt: u64,
    /// The valid lifetime the SUT wants to give clients, seconds.
    pub valid_lifetime: u64,
    /// STARTUP time, seconds (§8.3.2).
    pub startup_time: u64,
    /// auto-partner-down, seconds (§8.9); absent: off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_partner_down: Option<u64>,
    /// FO_KEEPALIVE_TIME, seconds (§6.6).
    pub keepalive: u64,
    /// Every address of the pool (each its own range).
    pub addresses: Vec<Ipv6Addr>,
    /// Every delegable prefix of the pool, `addr/len` (each delegated whole).
    pub prefixes: Vec<String>,
}

impl ScenarioSutConfig {
    /// The configuration for `case`, with these ports.
    pub fn for_case(case: &Case, partner: SocketAddr, dhcp: SocketAddr) -> ScenarioSutConfig {
        let g = &case.given;
        let mut addresses: Vec<Ipv6Addr> = g.addresses.clone();
        let mut prefixes: Vec<String> = g.prefixes.iter().map(|p| p.to_string()).collect();
        let mut add = |l: LeaseRef| match l {
            LeaseRef::Addr(a) => addresses.push(a),
            LeaseRef::Prefix(a, n) => prefixes.push(format!("{a}/{n}")),
        };
        for l in &g.leases {
            add(l.lease());
        }
        if let Some(b) = &case.when.bndupd {
            add(b.record().lease());
        }
        if let Some(c) = &case.when.client {
            if let Some(a) = c.address {
                addresses.push(a);
            }
            if let Some(p) = c.prefix {
                prefixes.push(p.to_string());
            }
        }
        // An update for a lease the server does not have must stay one (§7.5.3): the
        // `bndupd` of a ConfigurationConflict case is not added to the pool.
        if let Some(b) = &case.when.bndupd {
            if expects_unknown_lease(&case.then)
                || case
                    .then_reading
                    .as_ref()
                    .is_some_and(expects_unknown_lease)
            {
                let l = b.record().lease();
                let in_given = g.leases.iter().any(|x| x.lease() == l)
                    || matches!(l, LeaseRef::Addr(a) if g.addresses.contains(&a));
                if !in_given {
                    match l {
                        LeaseRef::Addr(a) => addresses.retain(|x| *x != a),
                        LeaseRef::Prefix(a, n) => prefixes.retain(|x| *x != format!("{a}/{n}")),
                    }
                }
            }
        }
        addresses.sort();
        addresses.dedup();
        prefixes.sort();
        prefixes.dedup();
        if addresses.is_empty() && prefixes.is_empty() {
            addresses.push(FILLER);
        }
        ScenarioSutConfig {
            role: g.role,
            partner,
            dhcp,
            mclt: g.mclt,
            valid_lifetime: g.lifetime.unwrap_or(3 * 86_400),
            startup_time: g.startup_time.unwrap_or(DEFAULT_STARTUP),
            auto_partner_down: g.auto_partner_down,
            keepalive: SUT_KEEPALIVE,
            addresses,
            prefixes,
        }
    }
}

fn expects_unknown_lease(t: &Then) -> bool {
    matches!(
        t.reply,
        Some(crate::scenario::Verdict::Reject(
            Status::ConfigurationConflict
        ))
    )
}

/// The DUID prefix of every scenario client on the wire: DUID-EN (RFC 8415 §11.3) with the
/// documentation enterprise number 32473 (RFC 5612). Scenario clients are short names (`"c1"`,
/// two octets) and a DUID on the wire has at least three (RFC 8415 §11.1); a server treats the
/// DUID as opaque, so the name behind this prefix stands for the client everywhere the wire
/// carries it (CLIENTID of BNDUPDs and of client messages) and is taken off what comes back.
const DUID_EN_DOC: [u8; 6] = [0, 2, 0, 0, 0x7e, 0xd9];

/// The wire DUID of a scenario client (`""`: none).
fn wire_duid(name: &str) -> Result<Vec<u8>, String> {
    let raw = client_duid(name)?;
    if raw.is_empty() {
        return Ok(raw);
    }
    Ok(DUID_EN_DOC.iter().copied().chain(raw).collect())
}

/// The scenario client of a wire DUID (the prefix taken off).
fn scenario_duid(wire: Vec<u8>) -> Vec<u8> {
    match wire.strip_prefix(&DUID_EN_DOC[..]) {
        Some(rest) => rest.to_vec(),
        None => wire,
    }
}

/// How the recipe reaches a case's `given` state from the partner side (RFC 8156 §8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Just started on empty storage (STARTUP, §8.3).
    Fresh,
    /// Started, no partner until the STARTUP time passed: PARTNER-DOWN (primary) or RECOVER
    /// (secondary), §8.2 and §8.3.2 step 6.
    StartupExpired,
    /// Secondary: the partner in PARTNER-DOWN connects (§8.5.2); with `updates_done` its
    /// UPDREQ is answered (RECOVER-WAIT, waiting the given MCLT), else RECOVER.
    SecondaryRecover {
        /// Answer the UPDREQ/UPDREQALL with UPDDONE.
        updates_done: bool,
    },
    /// Secondary: RECOVER, UPDDONE, RECOVER-WAIT with a one-second MCLT, RECOVER-DONE (§8.6.2);
    /// reconnected with the given MCLT and the partner still in PARTNER-DOWN.
    SecondaryRecoverDone,
    /// Primary: the partner announces PARTNER-DOWN during STARTUP: RECOVER (§8.3.2 step 5);
    /// with `updates_done` the UPDDONE moves it on to RECOVER-WAIT.
    PrimaryRecover {
        /// Answer the UPDREQ/UPDREQALL with UPDDONE.
        updates_done: bool,
    },
    /// Both in NORMAL (secondary: through RECOVER-DONE; primary: PARTNER-DOWN meeting a
    /// RECOVER-DONE partner, §8.4.2).
    Normal,
    /// NORMAL, then the operator's "partner is down" after the connection is lost (§8.9.2).
    PartnerDownByOperator,
    /// PARTNER-DOWN (either way above) meeting a partner in PARTNER-DOWN: POTENTIAL-CONFLICT
    /// (§8.4.2).
    PotentialConflict,
}

/// The plan for `(role, state, partner)`, whether the lease records can be loaded on the way,
/// and whether it needs the operator command; `Err`: no recipe reaches it from the wire.
pub fn plan(case: &Case, has_ctl: bool) -> Result<Plan, String> {
    use ServerState as S;
    let g = &case.given;
    let leases = !g.leases.is_empty();
    let no = |why: &str| {
        Err(format!(
            "no recipe from the partner side reaches {} {}{}: {why}",
            g.role,
            g.state,
            g.partner
                .map_or(" without a partner".to_string(), |p| format!(
                    " with the partner in {p}"
                ))
        ))
    };
    let operator = |p: Plan| {
        if has_ctl {
            Ok(p)
        } else {
            Err(format!(
                "reaching {} needs the operator's \"partner is down\" command (§8.9.2): give --sut-ctl",
                g.state
            ))
        }
    };
    let p = match (g.role, g.state, g.partner) {
        (_, S::Startup, None) if g.recorded.is_some() => {
            return Err(format!(
                "STARTUP after a restart with {} recorded: stable storage cannot be written from the wire",
                g.recorded.map_or("nothing".into(), |s| s.to_string())
            ))
        }
        (_, S::Startup, None) if !leases => Plan::Fresh,
        (Role::Secondary, S::Recover, None) if !leases => Plan::StartupExpired,
        (Role::Primary, S::PartnerDown, None) if !leases => Plan::StartupExpired,
        (Role::Primary, S::PartnerDown, Some(S::Recover)) => Plan::StartupExpired,
        (Role::Secondary, S::Recover, Some(S::PartnerDown)) => Plan::SecondaryRecover {
            updates_done: false,
        },
        (Role::Secondary, S::RecoverWait, Some(S::PartnerDown)) => Plan::SecondaryRecover {
            updates_done: true,
        },
        (Role::Secondary, S::RecoverDone, None | Some(S::PartnerDown)) => {
            Plan::SecondaryRecoverDone
        }
        (Role::Primary, S::Recover, None) => Plan::PrimaryRecover {
            updates_done: false,
        },
        (Role::Primary, S::RecoverWait, None) => Plan::PrimaryRecover { updates_done: true },
        (_, S::Normal, Some(S::Normal)) | (_, S::CommunicationsInterrupted, None) => Plan::Normal,
        (_, S::PartnerDown, None) => operator(Plan::PartnerDownByOperator)?,
        (_, S::PotentialConflict, None) => {
            return no("a server in POTENTIAL-CONFLICT that loses its connection is in RESOLUTION-INTERRUPTED (§8.10.2); it has no connection only in the state of a test builder")
        }
        (Role::Primary, S::PotentialConflict | S::ResolutionInterrupted, _) if !leases => {
            Plan::PotentialConflict
        }
        (Role::Primary, S::ConflictDone, Some(S::PotentialConflict)) if !leases => {
            Plan::PotentialConflict
        }
        (_, S::PotentialConflict | S::ResolutionInterrupted | S::ConflictDone, _) => {
            operator(Plan::PotentialConflict)?
        }
        (_, S::Startup | S::Recover, None) => {
            return no("the server has no connection on the way to load the lease records by BNDUPD")
        }
        _ => return no("§8 gives no path the harness can drive"),
    };
    Ok(p)
}

/// The scenarios against servers the harness starts itself, one per case.
pub struct WireScenarios {
    /// `--sut-start CMD`: `{port}` the partner port, `{dhcp}` the DHCPv6 port, `{dir}` an
    /// empty folder, `{config}` the [`ScenarioSutConfig`] TOML.
    pub start: String,
    /// `--sut-ctl CMD`: runs an operator command on the SUT; `{dir}` its folder, `{command}`
    /// `partner-down` or `shutdown`. `None`: cases needing one are not wire-testable.
    pub ctl: Option<String>,
    /// The loopback (or other local) address the SUT and the harness use.
    pub host: IpAddr,
    /// Every octet exchanged (for a capture).
    pub transcript: SharedTranscript,
}

impl WireScenarios {
    /// A runner for `start` (and `ctl`) on `::1`.
    pub fn new(start: String, ctl: Option<String>) -> WireScenarios {
        WireScenarios {
            start,
            ctl,
            host: IpAddr::V6(Ipv6Addr::LOCALHOST),
            transcript: Arc::new(Mutex::new(Transcript::default())),
        }
    }
}

/// Lease-record fields the wire cannot set (in `given`) or show (in `then.stored`): the server's
/// own bookkeeping of what it told its partner or its client.
fn hidden_fields(r: &LeaseRecord, given: bool) -> Vec<&'static str> {
    let mut v = Vec::new();
    if r.client_expiry.is_some() {
        v.push("client_expiry");
    }
    if r.partner_lifetime_sent.is_some() {
        v.push("partner_lifetime_sent");
    }
    if r.acked_partner_lifetime.is_some() {
        v.push("acked_partner_lifetime");
    }
    if given {
        if r.update_pending == Some(true) {
            v.push("update_pending");
        }
    } else {
        if r.update_pending.is_some() {
            v.push("update_pending");
        }
        if r.partner_lifetime.is_some() {
            v.push("partner_lifetime");
        }
        // A CLT the server learned from its partner is not necessarily sent back in its own
        // BNDUPD (failover serve sends none), so its absence cannot be judged.
        if r.clt.is_some() {
            v.push("clt");
        }
    }
    v
}

impl ScenarioTarget for WireScenarios {
    fn name(&self) -> String {
        format!("over the wire: {}", self.start)
    }

    fn not_testable(&self, case: &Case) -> Option<String> {
        let w = &case.when;
        if let Some(c) = &w.client {
            // A request for an address is played as a relayed SOLICIT with Rapid Commit
            // (RFC 8415 §18.2.1: the two-message exchange that ends in the REPLY a REQUEST
            // gets); the other exchanges are not played yet.
            if !(c.op == "request" && c.kind.as_deref() == Some("address")) {
                return Some(format!(
                    "plays a DHCPv6 {} this runner does not send yet (it plays a request for an address, as SOLICIT with Rapid Commit)",
                    c.op
                ));
            }
        }
        if let Err(e) = plan(case, self.ctl.is_some()) {
            return Some(e);
        }
        for l in &case.given.leases {
            let h = hidden_fields(l, true);
            if !h.is_empty() {
                return Some(format!(
                    "given lease {} has {}: the server's own record of what it told its partner or client; a partner's BNDUPD cannot set it",
                    l.lease(),
                    h.join(", ")
                ));
            }
        }
        for t in std::iter::once(&case.then).chain(case.then_reading.as_ref()) {
            for l in &t.stored {
                let h = hidden_fields(l, false);
                if !h.is_empty() {
                    return Some(format!(
                        "judges {} of {}: not carried by the BNDUPDs answering UPDREQALL",
                        h.join(", "),
                        l.lease()
                    ));
                }
            }
        }
        for t in std::iter::once(&case.then).chain(case.then_reading.as_ref()) {
            if let Some(l) = t.stored.iter().find(|l| {
                matches!(
                    l.status,
                    Some(BindingStatus::Expired | BindingStatus::Released | BindingStatus::Reset)
                )
            }) {
                return Some(format!(
                    "judges {} stored {}: a server announces an EXPIRED, RELEASED or RESET its partner knows as FREE or FREE-BACKUP (Figure 2, reading R16), so its answer to UPDREQALL does not show the stored status",
                    l.lease(),
                    l.status.map_or(String::new(), |s| s.to_string())
                ));
            }
        }
        let recover = matches!(
            plan(case, self.ctl.is_some()),
            Ok(Plan::PrimaryRecover { .. } | Plan::SecondaryRecover { .. } | Plan::StartupExpired)
        ) && matches!(
            case.given.state,
            ServerState::Recover | ServerState::RecoverWait
        );
        let asks_updreq = std::iter::once(&case.then)
            .chain(case.then_reading.as_ref())
            .any(|t| t.sent.iter().any(|m| m.kind == MsgKind::UpdReq));
        if recover && asks_updreq {
            return Some(
                "expects UPDREQ from a RECOVER server that kept its stable storage; the only RECOVER the wire can produce is an empty server's, which must ask UPDREQALL (§8.5.2)".into(),
            );
        }
        if w.at > MAX_WAIT {
            return Some(format!(
                "the event is {} s after the given moment: more wall clock than the {MAX_WAIT} s a case may wait",
                w.at
            ));
        }
        let since = case.given.since != 0 || case.given.partner_down_entry.is_some_and(|t| t != 0);
        if since && (w.timer.is_some() || w.at != 0) {
            return Some(format!(
                "the outcome depends on when the server entered {} ({} s), which the recipe cannot set",
                case.given.state, case.given.since
            ));
        }
        if w.command.is_some() && self.ctl.is_none() {
            return Some("an operator command: give --sut-ctl".into());
        }
        None
    }

    fn run(&mut self, case: &Case) -> Result<Observed, String> {
        let plan = plan(case, self.ctl.is_some())?;
        let port = free_port(self.host)?;
        let dhcp = free_port(self.host)?;
        let dir =
            std::env::temp_dir().join(format!("failover-scenario-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let cfg = ScenarioSutConfig::for_case(
            case,
            SocketAddr::new(self.host, port),
            SocketAddr::new(self.host, dhcp),
        );
        let config = dir.join("scenario.toml");
        std::fs::write(
            &config,
            toml::to_string(&cfg).map_err(|e| format!("the SUT's configuration: {e}"))?,
        )
        .map_err(|e| format!("{}: {e}", config.display()))?;
        let line = self
            .start
            .replace("{port}", &port.to_string())
            .replace("{dhcp}", &dhcp.to_string())
            .replace("{dir}", &dir.display().to_string())
            .replace("{config}", &config.display().to_string());
        let mut session = Session {
            case,
            cfg,
            dir: dir.clone(),
            ctl: self.ctl.clone(),
            listener: None,
            peer: None,
            transcript: self.transcript.clone(),
            state: None,
            seen_states: 0,
            started_at: Instant::now(),
            zero: None,
            quiet_from: 0,
        };
        // The harness listens (SUT primary) before the SUT starts connecting, when the recipe
        // wants the connection during STARTUP.
        if case.given.role == Role::Primary
            && !matches!(plan, Plan::StartupExpired | Plan::PartnerDownByOperator)
            && !(plan == Plan::PotentialConflict && case.given.leases.is_empty())
            && plan != Plan::Fresh
        {
            session.listen()?;
        }
        let mut sut = Started::spawn(&line)?;
        session.started_at = Instant::now();
        let out = session.play(plan);
        if let Some(p) = session.peer.take() {
            p.close();
        }
        sut.kill();
        let _ = std::fs::remove_dir_all(&dir);
        out
    }
}

/// One case against one SUT instance.
struct Session<'a> {
    case: &'a Case,
    cfg: ScenarioSutConfig,
    dir: PathBuf,
    ctl: Option<String>,
    listener: Option<TcpListener>,
    peer: Option<Peer>,
    transcript: SharedTranscript,
    /// The state the SUT last announced (§6.3; STARTUP when it set the STARTUP flag).
    state: Option<ServerState>,
    /// How many of the current peer's `seen` messages were scanned for STATEs.
    seen_states: usize,
    started_at: Instant,
    /// The scenario's zero, wall-clock seconds since 2000 (§5.2).
    zero: Option<i64>,
    /// From this message of the current connection on, the harness answered nothing.
    quiet_from: usize,
}

/// The state a STATE message announces (STARTUP when the STARTUP flag is set, §5.5.15).
fn announced(m: &Message) -> Option<ServerState> {
    let mut st = None;
    let mut startup = false;
    for o in &m.options {
        match o {
            DhcpOption::ServerState(s) => st = Some(*s),
            DhcpOption::ServerFlags(f) => startup = f.contains(ServerFlags::STARTUP),
            _ => {}
        }
    }
    if startup {
        Some(ServerState::Startup)
    } else {
        st
    }
}

impl Session<'_> {
    fn mclt(&self) -> u32 {
        u32::try_from(self.cfg.mclt).unwrap_or(u32::MAX)
    }

    fn listen(&mut self) -> Result<(), String> {
        if self.listener.is_none() {
            let l = TcpListener::bind(self.cfg.partner)
                .map_err(|e| format!("cannot listen on {} for the SUT: {e}", self.cfg.partner))?;
            l.set_nonblocking(true).map_err(|e| e.to_string())?;
            self.listener = Some(l);
        }
        Ok(())
    }

    /// A new TCP connection: to the SUT (secondary) or from it (primary).
    fn open(&mut self) -> Result<Peer, String> {
        let until = Instant::now() + Duration::from_secs(10);
        match self.cfg.role {
            Role::Secondary => loop {
                match Peer::connect(self.cfg.partner, ANSWER, self.transcript.clone()) {
                    Ok(p) => return Ok(p),
                    Err(e) if Instant::now() >= until => {
                        return Err(format!("the SUT does not accept a connection: {e}"))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            },
            Role::Primary => {
                self.listen()?;
                let l = self.listener.as_ref().ok_or("no listener")?;
                loop {
                    match l.accept() {
                        Ok((s, _)) => {
                            let _ = s.set_nonblocking(false);
                            return Ok(Peer::accepted(s, self.transcript.clone()));
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            if Instant::now() >= until {
                                return Err(
                                    "the SUT did not connect to the harness within 10 s".into()
                                );
                            }
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        Err(e) => return Err(format!("accept: {e}")),
                    }
                }
            }
        }
    }

    fn connect_msg(&self, kind: MsgKind, xid: u32, mclt: u32) -> Message {
        Message::new(kind, xid, wire_now() as u32)
            .with(DhcpOption::ProtocolVersion(ProtocolVersion::RFC8156))
            .with(DhcpOption::Mclt(mclt))
            .with(DhcpOption::KeepaliveTime(HARNESS_KEEPALIVE))
            .with(DhcpOption::MaxUnackedBndupd(64))
            .with(DhcpOption::ConnectFlags(ConnectFlags(0)))
    }

    /// CONNECT / CONNECTREPLY (§6.1) and the SUT's STATE; the harness's STATE is not sent.
    fn handshake(&mut self, mclt: u32) -> Result<Peer, String> {
        let mut p = self.open()?;
        match self.cfg.role {
            Role::Secondary => {
                let xid = p.xid();
                let c = self.connect_msg(MsgKind::Connect, xid, mclt);
                p.send(&c)?;
                match p.expect(MsgKind::ConnectReply, ANSWER) {
                    Recv::Msg(r) => {
                        if let Some(s) = failure(&r) {
                            return Err(format!("the SUT rejected the recipe's CONNECT: {s}"));
                        }
                    }
                    other => return Err(format!("CONNECTREPLY: {}", other.describe())),
                }
            }
            Role::Primary => {
                let c = match p.expect(MsgKind::Connect, ANSWER) {
                    Recv::Msg(c) => c,
                    other => return Err(format!("CONNECT: {}", other.describe())),
                };
                let theirs = c
                    .options
                    .iter()
                    .find_map(|o| match o {
                        DhcpOption::Mclt(m) => Some(*m),
                        _ => None,
                    })
                    .unwrap_or(mclt);
                let r = self.connect_msg(MsgKind::ConnectReply, c.transaction_id, theirs);
                p.send(&r)?;
            }
        }
        self.seen_states = 0;
        match p.expect(MsgKind::State, ANSWER) {
            Recv::Msg(_) => {}
            other => return Err(format!("the SUT's STATE: {}", other.describe())),
        }
        Ok(p)
    }

    /// Scan the peer's new messages for STATEs.
    fn scan(&mut self) {
        if let Some(p) = &self.peer {
            for (_, m) in &p.seen[self.seen_states.min(p.seen.len())..] {
                if m.kind() == Ok(MsgKind::State) {
                    if let Some(s) = announced(m) {
                        self.state = Some(s);
                    }
                }
            }
            self.seen_states = p.seen.len();
        }
    }

    /// Open a connection, play the set-up, announce `me` (§6.3).
    fn up(
        &mut self,
        mclt: u32,
        me: ServerState,
        communicated: bool,
        answer: bool,
    ) -> Result<(), String> {
        let mut p = self.handshake(mclt)?;
        p.answer_requests = answer;
        let now = wire_now() as u32;
        let st = state_msg(&mut p, me, false, communicated, now, None);
        p.send(&st)?;
        self.peer = Some(p);
        self.scan();
        Ok(())
    }

    fn peer(&mut self) -> Result<&mut Peer, String> {
        self.peer
            .as_mut()
            .ok_or_else(|| "the recipe has no connection here".to_string())
    }

    /// Announce a new state on the open connection.
    fn announce(&mut self, me: ServerState) -> Result<(), String> {
        let p = self.peer()?;
        let now = wire_now() as u32;
        let st = state_msg(p, me, false, true, now, None);
        p.send(&st)
    }

    /// Wait until the SUT announces `want` (it may already have).
    fn reach(&mut self, want: ServerState, within: Duration) -> Result<(), String> {
        self.scan();
        if self.state == Some(want) {
            return Ok(());
        }
        let deadline = Instant::now() + within;
        loop {
            let p = self.peer()?;
            let r = p.recv_until(deadline, |m| m.kind() == Ok(MsgKind::State));
            self.scan();
            if self.state == Some(want) {
                return Ok(());
            }
            match r {
                Recv::Msg(_) => continue,
                other => {
                    return Err(format!(
                    "the recipe expected the SUT to announce {want}; it announced {} and then {}",
                    self.state.map_or("nothing".into(), |s| s.to_string()),
                    other.describe()
                ))
                }
            }
        }
    }

    /// Keep the connection alive (CONTACT, answers as configured) for `d`.
    fn pump(&mut self, d: Duration) {
        if let Some(p) = self.peer.as_mut() {
            let _ = p.recv_until(Instant::now() + d, |_| false);
        } else {
            std::thread::sleep(d);
        }
        self.scan();
    }

    /// Drop the connection (the harness closes it; a primary SUT cannot reconnect until the
    /// harness listens again).
    fn down(&mut self) {
        if let Some(p) = self.peer.take() {
            p.close();
        }
        self.listener = None;
        self.seen_states = 0;
        std::thread::sleep(Duration::from_millis(300));
    }

    fn ctl(&mut self, command: &str) -> Result<(), String> {
        let tpl = self.ctl.clone().ok_or("no --sut-ctl")?;
        let line = tpl
            .replace("{dir}", &self.dir.display().to_string())
            .replace("{command}", command);
        let out = std::process::Command::new("sh")
            .args(["-c", &line])
            .output()
            .map_err(|e| format!("--sut-ctl {line:?}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "the operator command {command:?} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    }

    fn startup_wait(&self) -> Duration {
        let until = self.started_at
            + Duration::from_secs(self.cfg.startup_time)
            + Duration::from_millis(1500);
        until.saturating_duration_since(Instant::now())
    }

    /// Choose zero and load the given lease records by BNDUPD, each accepted.
    fn load(&mut self) -> Result<(), String> {
        let zero = wire_now() as i64 + LEAD;
        self.zero = Some(zero);
        let leases = self.case.given.leases.clone();
        for l in &leases {
            let p = self.peer()?;
            let xid = p.xid();
            let upd = bndupd(l, zero, xid, wire_now() as u32, None, zero)?;
            p.send(&upd)?;
            let r = p.recv_until(Instant::now() + ANSWER, |m| {
                m.kind() == Ok(MsgKind::BndReply) && m.transaction_id == xid
            });
            match r {
                Recv::Msg(m) => {
                    if let Some(s) = failure(&m) {
                        return Err(format!(
                            "the SUT rejected the given lease {} loaded by BNDUPD: {s}",
                            l.lease()
                        ));
                    }
                }
                other => {
                    return Err(format!(
                        "loading the given lease {}: {}",
                        l.lease(),
                        other.describe()
                    ))
                }
            }
        }
        self.scan();
        Ok(())
    }

    /// Steps 2 and 3 of the recipe.
    fn reach_given(&mut self, plan: Plan) -> Result<(), String> {
        use ServerState as S;
        let g = &self.case.given;
        let mclt = self.mclt();
        let partner = g.partner;
        let has_leases = !g.leases.is_empty();
        match plan {
            Plan::Fresh => {}
            Plan::StartupExpired => {
                let w = self.startup_wait();
                std::thread::sleep(w);
                if partner == Some(S::Recover) {
                    self.up(mclt, S::Recover, false, true)?;
                    self.reach(S::PartnerDown, ANSWER)?;
                    self.load()?;
                }
            }
            Plan::SecondaryRecover { updates_done } => {
                self.up(mclt, S::PartnerDown, false, updates_done)?;
                let want = if updates_done {
                    S::RecoverWait
                } else {
                    S::Recover
                };
                self.reach(want, ANSWER * 2)?;
                self.load()?;
            }
            Plan::SecondaryRecoverDone => {
                self.warm_secondary()?;
                self.down();
                self.up(mclt, S::PartnerDown, true, true)?;
                self.reach(S::RecoverDone, ANSWER)?;
                self.load()?;
                if partner.is_none() {
                    self.down();
                }
            }
            Plan::PrimaryRecover { updates_done } => {
                self.up(mclt, S::PartnerDown, false, updates_done)?;
                let want = if updates_done {
                    S::RecoverWait
                } else {
                    S::Recover
                };
                self.reach(want, ANSWER * 2)?;
                self.load()?;
                self.down();
            }
            Plan::Normal => {
                self.normal()?;
                self.load()?;
                if g.state == S::CommunicationsInterrupted {
                    self.down();
                }
            }
            Plan::PartnerDownByOperator => {
                if self.cfg.role == Role::Primary {
                    self.listen()?;
                }
                self.normal()?;
                self.load()?;
                self.down();
                self.ctl("partner-down")?;
            }
            Plan::PotentialConflict => {
                if has_leases || g.role == Role::Secondary {
                    if self.cfg.role == Role::Primary {
                        self.listen()?;
                    }
                    self.normal()?;
                    self.load()?;
                    self.down();
                    self.ctl("partner-down")?;
                } else {
                    std::thread::sleep(self.startup_wait());
                }
                // Partner-side PARTNER-DOWN meets ours: POTENTIAL-CONFLICT (§8.4.2). The
                // SUT's UPDREQ (§8.10.2) stays unanswered unless CONFLICT-DONE is wanted.
                let done = g.state == S::ConflictDone;
                self.up(mclt, S::PartnerDown, true, done)?;
                if done {
                    self.reach(S::ConflictDone, ANSWER * 2)?;
                } else {
                    self.reach(S::PotentialConflict, ANSWER)?;
                }
                if let Some(p) = partner {
                    if p != S::PartnerDown {
                        self.announce(p)?;
                    }
                }
                if self.zero.is_none() {
                    self.load()?;
                }
                if g.state == S::ResolutionInterrupted || partner.is_none() {
                    self.down();
                }
            }
        }
        if self.zero.is_none() {
            self.zero = Some(wire_now() as i64);
        }
        // No answers to the SUT's requests from here on: the event is the only input.
        if let Some(p) = self.peer.as_mut() {
            p.answer_requests = false;
            self.quiet_from = p.seen.len();
        }
        Ok(())
    }

    /// Secondary SUT: the partner in PARTNER-DOWN, a one-second MCLT, UPDREQ answered:
    /// RECOVER, RECOVER-WAIT, RECOVER-DONE (§8.5.2, §8.6.2, Figure 7).
    fn warm_secondary(&mut self) -> Result<(), String> {
        self.up(1, ServerState::PartnerDown, false, true)?;
        self.reach(ServerState::RecoverDone, ANSWER * 2)
    }

    /// Both servers in NORMAL with the given MCLT, the connection open.
    fn normal(&mut self) -> Result<(), String> {
        use ServerState as S;
        let mclt = self.mclt();
        match self.cfg.role {
            Role::Secondary => {
                self.warm_secondary()?;
                // Figure 7: the partner in PARTNER-DOWN sees RECOVER-DONE and goes NORMAL.
                self.announce(S::Normal)?;
                self.reach(S::Normal, ANSWER)?;
                // Again with the given MCLT: COMMUNICATIONS-INTERRUPTED meets NORMAL (§8.9.2).
                self.down();
                self.up(mclt, S::Normal, true, true)?;
                self.reach(S::Normal, ANSWER)?;
            }
            Role::Primary => {
                // During STARTUP, a partner in RECOVER: PARTNER-DOWN stays (§8.3.2 step 5,
                // §8.4.2); then the partner's RECOVER-DONE: NORMAL (§8.4.2).
                self.up(mclt, S::Recover, false, true)?;
                self.reach(
                    S::PartnerDown,
                    ANSWER + Duration::from_secs(self.cfg.startup_time),
                )?;
                self.announce(S::RecoverDone)?;
                self.reach(S::Normal, ANSWER)?;
                self.announce(S::Normal)?;
                self.pump(Duration::from_millis(200));
            }
        }
        Ok(())
    }

    fn play(&mut self, plan: Plan) -> Result<Observed, String> {
        self.reach_given(plan)?;
        let zero = self.zero.unwrap_or(wire_now() as i64);
        let w = &self.case.when;
        let at = zero + w.at;
        let now = wire_now() as i64;
        if now > at + 1 {
            return Err(format!(
                "the recipe took {} s longer than its lead of {LEAD} s: the event would come late",
                now - at
            ));
        }
        // Wait for the event's second (keeping the connection alive).
        while (wire_now() as i64) < at {
            self.pump(Duration::from_millis(100));
        }
        let mark = self.peer.as_ref().map_or(0, |p| p.seen.len());
        let mut fresh_mark = None;
        let mut dropped = false;
        let mut client: Option<crate::scenario::ClientObs> = None;
        let mclt = self.mclt();
        let rel = |t: i64| (zero + t) as u32;
        if let Some(b) = &w.bndupd {
            let rec = b.record();
            let p = self.peer()?;
            let xid = p.xid();
            let upd = bndupd(
                &rec,
                zero,
                xid,
                rel(b.sent.unwrap_or(w.at)),
                b.vss.as_deref(),
                zero + w.at,
            )?;
            p.send(&upd)?;
            let _ = p.recv_until(Instant::now() + ANSWER, |m| {
                m.kind() == Ok(MsgKind::BndReply) && m.transaction_id == xid
            });
        } else if let Some(c) = &w.client {
            let link = self
                .cfg
                .addresses
                .first()
                .copied()
                .ok_or("a client request needs an address pool")?;
            let duid = wire_duid(&c.client)?;
            let g = super::dhcp::solicit_rapid_commit(self.cfg.dhcp, link, &duid, ANSWER)?;
            let since_zero = wire_now() as i64 - zero;
            client = Some(match g {
                super::dhcp::Granted::Address { addr, valid } => crate::scenario::ClientObs {
                    reply: "granted".into(),
                    lease: Some(LeaseRef::Addr(addr)),
                    valid_lifetime: Some(u64::from(valid)),
                    expires: Some(since_zero + i64::from(valid)),
                },
                super::dhcp::Granted::NoAddress(why) if why.contains("NoAddrsAvail") => {
                    crate::scenario::ClientObs {
                        reply: "no-lease-available".into(),
                        lease: None,
                        valid_lifetime: None,
                        expires: None,
                    }
                }
                super::dhcp::Granted::NoReply => crate::scenario::ClientObs {
                    reply: "none".into(),
                    lease: None,
                    valid_lifetime: None,
                    expires: None,
                },
                other => return Err(format!("the SUT's REPLY to the client: {other:?}")),
            });
        } else if w.timer.is_some() {
            // The wall clock reached `at` above.
        } else if let Some(conn) = &w.connection {
            if conn == "lost" {
                self.down();
            } else {
                let ps = w
                    .partner_state
                    .clone()
                    .ok_or("connection up needs partner_state")?;
                let mut p = self.handshake(mclt)?;
                p.answer_requests = false;
                fresh_mark = Some(0);
                self.quiet_from = 0;
                let st = state_from(&mut p, &ps, zero, w.at);
                p.send(&st)?;
                self.peer = Some(p);
            }
        } else if let Some(ps) = &w.partner_state {
            let p = self.peer()?;
            let st = state_from(p, ps, zero, w.at);
            p.send(&st)?;
        } else if let Some(cmd) = &w.command {
            self.ctl(cmd)?;
        } else if let Some(k) = w.message {
            let p = self.peer()?;
            let xid = match k {
                MsgKind::UpdDone => p
                    .seen
                    .iter()
                    .rev()
                    .find(|(_, m)| matches!(m.kind(), Ok(MsgKind::UpdReq | MsgKind::UpdReqAll)))
                    .map(|(_, m)| m.transaction_id)
                    .unwrap_or(0x50_02),
                _ => p.xid(),
            };
            let m = Message::new(k, xid, wire_now() as u32);
            p.send(&m)?;
        } else if let Some(c) = &w.connect {
            let mut p = self.open()?;
            p.answer_requests = false;
            fresh_mark = Some(0);
            self.quiet_from = 0;
            let xid = p.xid();
            let m = connect_given(MsgKind::Connect, xid, c, mclt, rel(c.sent.unwrap_or(w.at)));
            p.send(&m)?;
            self.peer = Some(p);
        } else if let Some(c) = &w.connectreply {
            let mut p = self.open()?;
            p.answer_requests = false;
            fresh_mark = Some(0);
            self.quiet_from = 0;
            match p.expect(MsgKind::Connect, ANSWER) {
                Recv::Msg(cm) => {
                    let reply = match c.reject {
                        Some(s) => Message::new(
                            MsgKind::ConnectReply,
                            cm.transaction_id,
                            rel(c.sent.unwrap_or(w.at)),
                        )
                        .with(DhcpOption::StatusCode(WireStatus {
                            code: StatusCode(s.code()),
                            message: String::new(),
                        })),
                        None => connect_given(
                            MsgKind::ConnectReply,
                            cm.transaction_id,
                            c,
                            mclt,
                            rel(c.sent.unwrap_or(w.at)),
                        ),
                    };
                    p.send(&reply)?;
                }
                other => return Err(format!("the SUT's CONNECT: {}", other.describe())),
            }
            self.peer = Some(p);
        }
        // Listen, then read the outcome.
        if let Some(p) = self.peer.as_mut() {
            if p.recv_until(Instant::now() + SETTLE, |_| false) == Recv::Closed {
                dropped = true;
            }
        } else {
            std::thread::sleep(SETTLE);
        }
        self.scan();
        let from = fresh_mark.unwrap_or(mark);
        let mut obs = Observed {
            dropped,
            client: client.into_iter().filter(|c| c.reply != "none").collect(),
            ..Observed::default()
        };
        if let Some(p) = &self.peer {
            obs.sent = p.seen[from.min(p.seen.len())..]
                .iter()
                .filter(|(_, m)| m.kind() != Ok(MsgKind::Contact))
                .map(|(_, m)| sent_msg(m))
                .collect();
        }
        let wants_state = self.case.then.state.is_some()
            || self
                .case
                .then_reading
                .as_ref()
                .is_some_and(|t| t.state.is_some());
        let connected = self.peer.is_some() && !dropped;
        obs.state = self.state;
        if wants_state && !connected {
            // The state of a server without a connection: the STATE it announces on a new one.
            if let Some(p) = self.peer.take() {
                p.close();
            }
            let p = self.handshake(mclt)?;
            obs.state = p.seen.iter().rev().find_map(|(_, m)| {
                (m.kind() == Ok(MsgKind::State))
                    .then(|| announced(m))
                    .flatten()
            });
            p.close();
        }
        let wants_stored = !self.case.then.stored.is_empty()
            || self
                .case
                .then_reading
                .as_ref()
                .is_some_and(|t| !t.stored.is_empty());
        if wants_stored {
            if !connected {
                return Err(
                    "the lease records are read by UPDREQALL, and the SUT dropped the connection"
                        .into(),
                );
            }
            obs.stored = self.stored(zero)?;
        }
        snap(self.case, &mut obs);
        Ok(obs)
    }

    /// The SUT's lease records as its answer to UPDREQALL shows them (§5.3.6).
    fn stored(&mut self, zero: i64) -> Result<BTreeMap<LeaseRef, StoredLease>, String> {
        let quiet_from = self.quiet_from;
        let p = self.peer()?;
        // The SUT's own BNDUPDs since the event were left unanswered (the event is the only
        // input); its UPDDONE waits for their BNDREPLYs (§5.3.6), so they are accepted now.
        let owed: Vec<Message> = p.seen[quiet_from.min(p.seen.len())..]
            .iter()
            .filter(|(_, m)| m.kind() == Ok(MsgKind::BndUpd))
            .map(|(_, m)| super::peer::bndreply_accepting(m))
            .collect();
        for r in &owed {
            p.send(r)?;
        }
        p.answer_requests = true;
        let req = p.message(MsgKind::UpdReqAll);
        let xid = req.transaction_id;
        p.send(&req)?;
        let before = p.seen.len();
        let r = p.recv_until(Instant::now() + Duration::from_secs(30), |m| {
            m.kind() == Ok(MsgKind::UpdDone) && m.transaction_id == xid
        });
        if !matches!(r, Recv::Msg(_)) {
            return Err(format!(
                "reading the lease records: UPDDONE to UPDREQALL: {}",
                r.describe()
            ));
        }
        let mut out = BTreeMap::new();
        for (_, m) in &p.seen[before..] {
            if m.kind() == Ok(MsgKind::BndUpd) {
                for (l, s) in records(m, zero) {
                    out.insert(l, s);
                }
            }
        }
        Ok(out)
    }
}

/// Within [`TOLERANCE`] of what `then` (or `then_reading`) expects, a time the SUT computed is
/// taken as the expected one; anything further is left as observed (and differs).
fn snap(case: &Case, obs: &mut Observed) {
    let near = |want: Option<i64>, got: &mut Option<i64>| {
        if let (Some(w), Some(g)) = (want, *got) {
            if (w - g).abs() <= TOLERANCE {
                *got = Some(w);
            }
        }
    };
    for t in std::iter::once(&case.then).chain(case.then_reading.as_ref()) {
        if let (Some(want), Some(got)) = (&t.client, obs.client.first_mut()) {
            near(want.expires, &mut got.expires);
        }
        for want in &t.stored {
            if let Some(got) = obs.stored.get_mut(&want.lease()) {
                near(want.start, &mut got.start);
                near(want.expires, &mut got.expires);
                near(want.clt, &mut got.clt);
                near(want.expiration_time, &mut got.expiration_time);
            }
        }
    }
}

/// The first failure status of a message (top level or per lease), as text.
fn failure(m: &Message) -> Option<String> {
    super::peer::failure_codes(m)
        .first()
        .map(|c| Status::from_code(c.0).map_or(format!("status {}", c.0), |s| s.name().to_string()))
        .map(|s| format!("{s} ({})", describe(m)))
}

/// A STATE from the harness (§6.3).
fn state_msg(
    p: &mut Peer,
    st: ServerState,
    startup: bool,
    communicated: bool,
    since: u32,
    pd_time: Option<u32>,
) -> Message {
    let mut flags = ServerFlags::default();
    if startup {
        flags = flags.with(ServerFlags::STARTUP);
    }
    if communicated {
        flags = flags.with(ServerFlags::COMMUNICATED);
    }
    let mut m = p
        .message(MsgKind::State)
        .with(DhcpOption::ServerState(st))
        .with(DhcpOption::ServerFlags(flags))
        .with(DhcpOption::StartTimeOfState(since));
    if st == ServerState::PartnerDown {
        m = m.with(DhcpOption::PartnerDownTime(pd_time.unwrap_or(since)));
    }
    m
}

/// The `when.partner_state` STATE, times relative to `zero`.
fn state_from(p: &mut Peer, ps: &PartnerStateGiven, zero: i64, at: i64) -> Message {
    let since = (zero + ps.since.unwrap_or(at)) as u32;
    let pd = ps.partner_down_time.map(|t| (zero + t) as u32);
    state_msg(
        p,
        ps.state,
        ps.startup,
        ps.communicated.unwrap_or(true),
        since,
        pd,
    )
}

/// A CONNECT or accepting CONNECTREPLY as `when.connect` / `when.connectreply` give it.
fn connect_given(
    kind: MsgKind,
    xid: u32,
    c: &crate::scenario::ConnectGiven,
    mclt: u32,
    sent: u32,
) -> Message {
    let v = c.version.unwrap_or([1, 0]);
    let mut m = Message::new(kind, xid, sent)
        .with(DhcpOption::ProtocolVersion(ProtocolVersion {
            major: v[0],
            minor: v[1],
        }))
        .with(DhcpOption::Mclt(
            c.mclt
                .map_or(mclt, |m| u32::try_from(m).unwrap_or(u32::MAX)),
        ))
        .with(DhcpOption::KeepaliveTime(HARNESS_KEEPALIVE))
        .with(DhcpOption::MaxUnackedBndupd(64));
    if let Some(n) = &c.name {
        m = m.with(DhcpOption::RelationshipName(n.clone()));
    }
    m.with(DhcpOption::ConnectFlags(ConnectFlags(0)))
}

/// A BNDUPD of one lease record (RFC 8156 §7.4: CLIENT_DATA with CLIENTID, LQ_BASE_TIME and an
/// IA_NA/IAADDR or IA_PD/IAPREFIX carrying the failover options; a prefix without a client as
/// a bare IAPREFIX). Times are relative to `zero`; `now` is the event's time, the default
/// start-time-of-state.
fn bndupd(
    r: &LeaseRecord,
    zero: i64,
    xid: u32,
    sent: u32,
    vss: Option<&str>,
    now: i64,
) -> Result<Message, String> {
    let abs = |t: i64| u32::try_from(zero + t).map_err(|_| format!("time {t} out of range"));
    let start = r.start.map(|s| zero + s).unwrap_or(now);
    let start_abs = u32::try_from(start).map_err(|_| "start out of range".to_string())?;
    let status = r.status.ok_or("a lease record needs a status")?;
    let valid = r.valid_lifetime.unwrap_or_else(|| match r.expires {
        Some(e) if zero + e > start => (zero + e - start) as u64,
        _ => 0,
    });
    let valid = u32::try_from(valid).unwrap_or(u32::MAX);
    let base = match r.clt {
        Some(c) => abs(c)?.max(sent),
        None => sent,
    };
    let mut opts = vec![
        DhcpOption::BindingStatus(status),
        DhcpOption::StartTimeOfState(start_abs),
    ];
    if let Some(e) = r.expires {
        opts.push(DhcpOption::StateExpirationTime(abs(e)?));
    }
    if let Some(c) = r.clt {
        opts.push(DhcpOption::CltTime(base - abs(c)?));
    }
    if let Some(t) = r.partner_lifetime {
        opts.push(DhcpOption::PartnerLifetime(abs(t)?));
    }
    if let Some(t) = r.expiration_time {
        opts.push(DhcpOption::ExpirationTime(abs(t)?));
    }
    let vss_opt = match vss {
        Some(h) => {
            let bytes = client_duid(&format!("0x{h}"))?;
            let (t, info) = bytes.split_first().ok_or("vss: empty")?;
            Some(DhcpOption::Vss(Vss {
                vss_type: *t,
                info: info.to_vec(),
            }))
        }
        None => None,
    };
    let client = match &r.client {
        Some(c) if !c.is_empty() => Some(wire_duid(c)?),
        _ => None,
    };
    let mut m = Message::new(MsgKind::BndUpd, xid, sent);
    match r.lease() {
        LeaseRef::Addr(addr) => {
            // An address no client holds still travels in CLIENT_DATA, with an empty CLIENTID
            // (decision D10).
            let mut cd = vec![
                DhcpOption::ClientId(client.unwrap_or_default()),
                DhcpOption::LqBaseTime(base),
            ];
            cd.extend(vss_opt);
            cd.push(DhcpOption::IaNa(IaNa {
                iaid: 0,
                t1: 0,
                t2: 0,
                options: vec![DhcpOption::IaAddr(IaAddr {
                    addr,
                    preferred_lifetime: valid,
                    valid_lifetime: valid,
                    options: opts,
                })],
            }));
            m = m.with(DhcpOption::ClientData(cd));
        }
        LeaseRef::Prefix(prefix, prefix_len) => match client {
            Some(id) => {
                let mut cd = vec![DhcpOption::ClientId(id), DhcpOption::LqBaseTime(base)];
                cd.extend(vss_opt);
                cd.push(DhcpOption::IaPd(IaPd {
                    iaid: 0,
                    t1: 0,
                    t2: 0,
                    options: vec![DhcpOption::IaPrefix(IaPrefix {
                        preferred_lifetime: valid,
                        valid_lifetime: valid,
                        prefix_len,
                        prefix,
                        options: opts,
                    })],
                }));
                m = m.with(DhcpOption::ClientData(cd));
            }
            None => {
                let mut o = vec![DhcpOption::LqBaseTime(base)];
                o.extend(vss_opt);
                o.extend(opts);
                m = m.with(DhcpOption::IaPrefix(IaPrefix {
                    preferred_lifetime: valid,
                    valid_lifetime: valid,
                    prefix_len,
                    prefix,
                    options: o,
                }));
            }
        },
    }
    Ok(m)
}

/// A message the SUT sent, in the scenario runner's terms.
fn sent_msg(m: &Message) -> SentMsg {
    let mut s = SentMsg {
        kind: m.kind().ok(),
        state: None,
        status: None,
        leases: Vec::new(),
    };
    for o in &m.options {
        match o {
            DhcpOption::ServerState(st) => s.state = Some(*st),
            DhcpOption::StatusCode(st) if !st.code.is_success() => {
                s.status = Status::from_code(st.code.0)
            }
            _ => {}
        }
    }
    if m.kind() == Ok(MsgKind::State) {
        s.state = announced(m);
    }
    for (lease, opts) in leases_in(&m.options) {
        let status = opts.iter().find_map(|o| match o {
            DhcpOption::StatusCode(st) if !st.code.is_success() => Status::from_code(st.code.0),
            _ => None,
        });
        let binding_status = opts.iter().find_map(|o| match o {
            DhcpOption::BindingStatus(b) => Some(*b),
            _ => None,
        });
        s.leases.push(SentLease {
            lease,
            status,
            binding_status,
        });
    }
    s
}

/// One lease of a BNDUPD or BNDREPLY: the lease, its options, the CLIENTID and LQ_BASE_TIME
/// around it, its valid lifetime.
type LeaseIn = (LeaseRef, Vec<DhcpOption>, Vec<u8>, Option<u32>, u32);

/// Every IAADDR / IAPREFIX of a BNDUPD or BNDREPLY with its options, and the CLIENTID and
/// LQ_BASE_TIME around it.
fn leases_with_client(opts: &[DhcpOption]) -> Vec<LeaseIn> {
    let mut out = Vec::new();
    for o in opts {
        match o {
            DhcpOption::ClientData(cd) => {
                let client = cd
                    .iter()
                    .find_map(|x| match x {
                        DhcpOption::ClientId(id) => Some(id.clone()),
                        _ => None,
                    })
                    .unwrap_or_default();
                let base = cd.iter().find_map(|x| match x {
                    DhcpOption::LqBaseTime(b) => Some(*b),
                    _ => None,
                });
                for x in cd {
                    let inner: &[DhcpOption] = match x {
                        DhcpOption::IaNa(ia) => &ia.options,
                        DhcpOption::IaPd(ia) => &ia.options,
                        _ => continue,
                    };
                    for y in inner {
                        match y {
                            DhcpOption::IaAddr(a) => out.push((
                                LeaseRef::Addr(a.addr),
                                a.options.clone(),
                                client.clone(),
                                base,
                                a.valid_lifetime,
                            )),
                            DhcpOption::IaPrefix(p) => out.push((
                                LeaseRef::Prefix(p.prefix, p.prefix_len),
                                p.options.clone(),
                                client.clone(),
                                base,
                                p.valid_lifetime,
                            )),
                            _ => {}
                        }
                    }
                }
            }
            DhcpOption::IaPrefix(p) => {
                let base = p.options.iter().find_map(|x| match x {
                    DhcpOption::LqBaseTime(b) => Some(*b),
                    _ => None,
                });
                out.push((
                    LeaseRef::Prefix(p.prefix, p.prefix_len),
                    p.options.clone(),
                    Vec::new(),
                    base,
                    p.valid_lifetime,
                ));
            }
            _ => {}
        }
    }
    out
}

fn leases_in(opts: &[DhcpOption]) -> Vec<(LeaseRef, Vec<DhcpOption>)> {
    leases_with_client(opts)
        .into_iter()
        .map(|(l, o, _, _, _)| (l, o))
        .collect()
}

/// The lease records a BNDUPD carries, times relative to `zero`.
fn records(m: &Message, zero: i64) -> Vec<(LeaseRef, StoredLease)> {
    leases_with_client(&m.options)
        .into_iter()
        .map(|(lease, opts, client, base, valid)| {
            let rel = |t: u32| i64::from(t) - zero;
            let mut s = StoredLease {
                client: scenario_duid(client),
                valid_lifetime: Some(u64::from(valid)),
                ..StoredLease::default()
            };
            for o in &opts {
                match o {
                    DhcpOption::BindingStatus(b) => s.status = Some(*b),
                    DhcpOption::StartTimeOfState(t) => s.start = Some(rel(*t)),
                    DhcpOption::StateExpirationTime(t) => s.expires = Some(rel(*t)),
                    DhcpOption::CltTime(c) => {
                        s.clt = base.map(|b| rel(b.saturating_sub(*c)));
                    }
                    DhcpOption::ExpirationTime(t) => s.expiration_time = Some(rel(*t)),
                    _ => {}
                }
            }
            (lease, s)
        })
        .collect()
}

/// Run the cases of `files` whose id starts with `only` over the wire, `jobs` at a time (each
/// case has a server of its own, so cases are independent); results in file and case order.
pub fn run_parallel(
    start: &str,
    ctl: Option<&str>,
    files: &[crate::scenario::LoadedFile],
    only: Option<&str>,
    jobs: usize,
) -> Vec<crate::scenario::CaseResult> {
    let jobs = jobs.max(1);
    let ids: Vec<String> = files
        .iter()
        .flat_map(|f| f.file.cases.iter().map(|c| c.id.clone()))
        .filter(|id| only.is_none_or(|o| id.starts_with(o)))
        .collect();
    let mut results: Vec<crate::scenario::CaseResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|k| {
                let mine: Vec<&String> = ids.iter().skip(k).step_by(jobs).collect();
                scope.spawn(move || {
                    let mut t = WireScenarios::new(start.to_string(), ctl.map(str::to_string));
                    let mut out = Vec::new();
                    for id in mine {
                        // One case at a time, so that progress can be told.
                        let one: Vec<crate::scenario::LoadedFile> = files
                            .iter()
                            .filter_map(|f| {
                                let mut f = f.clone();
                                f.file.cases.retain(|c| &c.id == id);
                                (!f.file.cases.is_empty()).then_some(f)
                            })
                            .collect();
                        let t0 = Instant::now();
                        let r = crate::scenario::run(&mut t, &one, None);
                        for x in &r {
                            let word = match &x.outcome {
                                crate::scenario::Outcome::Passed => "passed",
                                crate::scenario::Outcome::Deviates { .. } => "deviates",
                                crate::scenario::Outcome::Failed { .. } => "FAILED",
                                crate::scenario::Outcome::Error { .. } => "ERROR",
                                crate::scenario::Outcome::NotWireTestable { .. } => {
                                    "not wire-testable"
                                }
                            };
                            eprintln!("{word:<17} {} ({:.1} s)", x.id, t0.elapsed().as_secs_f64());
                        }
                        out.extend(r);
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let order = |id: &str| ids.iter().position(|x| x == id).unwrap_or(usize::MAX);
    results.sort_by_key(|r| order(&r.id));
    results
}
