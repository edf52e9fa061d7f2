//! The sans-IO [`Endpoint`]: inputs `handle_*`, outputs `poll_*`, the lease-update machinery of
//! RFC 8156 §7 and client service per §8 responsiveness.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use failover_proto::{BindingStatus, Role, ServerState};
use serde::{Deserialize, Serialize};

use crate::config::{Config, ConfigError};
use crate::conn::{Conn, Phase};
use crate::db::{self, Binding, Db};
use crate::message::{
    BndReply, BndUpd, Body, ClientId, ClientOp, ClientReply, ClientRequest, LeaseKey, LeaseKind,
    LeaseReply, LeaseUpdate, Message, ReplyKind, ServerFlags, StatusCode, Xid,
};
use crate::state::{responsiveness, startup_step2, Responsiveness};
use crate::time::Time;

/// What the driver must do, drained in order with [`Endpoint::poll_output`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Transmit this message to the partner, in order.
    Send(Message),
    /// Close the connection to the partner (the endpoint already considers it closed).
    Disconnect {
        /// Why.
        reason: DisconnectReason,
    },
    /// Write this record to stable storage. A `Persist` that precedes a `Send` of a BNDREPLY
    /// MUST be durable before that BNDREPLY is transmitted (RFC 8156 §7.5.2).
    Persist(PersistRecord),
    /// Answer a DHCP client.
    ClientReply(ClientReply),
    /// Something worth logging or alerting on.
    Event(Event),
    /// Perform a DNS update (RFC 8156 §9) and report it with
    /// [`Endpoint::handle_dns_result`]. The lease record that owes it was persisted before.
    Dns(crate::dns::DnsRequest),
    /// Reading R26: the request `id` (an add) is no longer wanted, its binding ended. A driver
    /// that has not sent it yet drops it and reports [`Endpoint::handle_dns_cancelled`]; one that
    /// has sent it reports the result as usual (decision D27 covers an add done after all).
    DnsCancel {
        /// The request's id.
        id: u64,
    },
}

/// Why the endpoint dropped the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// FO_KEEPALIVE_TIMER reached zero (§6.6).
    KeepaliveExpired,
    /// A message's sent-time differs from our clock by more than 5 s (§7.5.1).
    TimeSkew {
        /// Seconds of difference.
        skew: u64,
    },
    /// The secondary rejected our CONNECT with this status (§6.1.3).
    Rejected(StatusCode),
    /// The secondary's protocol version is not supported (§6.1.3).
    VersionUnsupported((u16, u16)),
    /// The CONNECTREPLY's MCLT differs from ours (§6.1.3).
    MclMismatch {
        /// Configured MCLT.
        ours: u64,
        /// MCLT in the CONNECTREPLY.
        theirs: u64,
    },
    /// The partner sent DISCONNECT (§5.3.10, reading R8).
    PeerDisconnected(Option<StatusCode>),
    /// RECOVER got neither UPDDONE nor BNDUPD for `recover_timeout` (§8.5.2).
    RecoverStalled,
    /// Operator shutdown (§5.3.10 ServerShuttingDown).
    Shutdown,
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::KeepaliveExpired => f.write_str("keepalive expired (§6.6)"),
            DisconnectReason::TimeSkew { skew } => write!(f, "time skew {skew} s > 5 s (§7.5.1)"),
            DisconnectReason::Rejected(s) => write!(f, "CONNECT rejected: {s}"),
            DisconnectReason::VersionUnsupported(v) => write!(f, "protocol version {v:?}"),
            DisconnectReason::MclMismatch { ours, theirs } => {
                write!(
                    f,
                    "MCLT mismatch: configured {ours}, CONNECTREPLY {theirs} (§6.1.3)"
                )
            }
            DisconnectReason::PeerDisconnected(s) => write!(f, "partner sent DISCONNECT {s:?}"),
            DisconnectReason::RecoverStalled => f.write_str("no UPDDONE in RECOVER (§8.5.2)"),
            DisconnectReason::Shutdown => f.write_str("shutting down"),
        }
    }
}

/// Notable happenings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The endpoint state changed (§8).
    StateChanged {
        /// Old state.
        from: ServerState,
        /// New state.
        to: ServerState,
    },
    /// Communications became OK (partner's STATE received, §6.1).
    CommunicationsOk,
    /// Communications are no longer OK.
    CommunicationsInterrupted,
    /// An alarm the RFC asks for (§8.9, §8.11).
    Alarm(String),
    /// A log line (ignored input, rejected update, ...).
    Log(String),
}

/// Operator commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// "external command informing it that its partner is down" (§8.8.2, §8.9.2, §8.11.2).
    PartnerDown,
    /// Administrative reclaim of an ABANDONED lease: Figure 2 transition (10) to RESET.
    ResetLease(LeaseKey),
    /// Planned shutdown: DISCONNECT with ServerShuttingDown (§5.3.10).
    Shutdown,
    /// Cancel the reservation of a lease (design draft §12; give it on both servers).
    CancelReservation(LeaseKey),
}

/// What §8.2 says survives a restart, plus the lease database.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StableState {
    /// The endpoint's record.
    pub endpoint: EndpointRecord,
    /// The lease database.
    pub leases: BTreeMap<LeaseKey, Binding>,
}

impl StableState {
    /// Apply one persisted record (what a driver does with `Output::Persist`).
    pub fn apply(&mut self, rec: &PersistRecord) {
        match rec {
            PersistRecord::Endpoint(e) => self.endpoint = e.clone(),
            PersistRecord::Lease { key, binding } => {
                self.leases.insert(*key, binding.clone());
            }
        }
    }
}

/// The endpoint part of stable storage (RFC 8156 §8.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRecord {
    /// Current failover state (never STARTUP: STARTUP is not recorded).
    pub state: Option<ServerState>,
    /// Previous failover state.
    pub previous_state: Option<ServerState>,
    /// Start time of the current state.
    pub start_time_of_state: Time,
    /// Partner's failover state.
    pub partner_state: Option<ServerState>,
    /// Start time of the partner's state.
    pub partner_start_time: Option<Time>,
    /// Time of the most recent message received from the partner (as of this record).
    pub last_partner_message: Option<Time>,
    /// When we last entered PARTNER-DOWN.
    pub partner_down_entry: Option<Time>,
    /// Whether we have ever had communications OK with the partner (the C flag, §5.5.15).
    pub communicated: bool,
    /// The MCLT in use (the secondary's is adopted from CONNECT, §6.1.2).
    pub mclt: u64,
    /// When this record was written: the last recorded time of operation (§8.3.2 step 5).
    pub last_operation: Time,
    /// TIME-OF-FAILURE if the driver knows better than `last_operation` (§8.3.2 step 1: "the
    /// time the server failed or a time beyond which the server could not have been operating").
    pub time_of_failure: Option<Time>,
    /// The stable storage was lost and the database has not been recovered yet: set by a server
    /// that knows it lost its storage, cleared when its UPDREQALL is answered by UPDDONE in
    /// RECOVER (RFC 8156 §8.5.2 / reading R23). A restart with this mark set is a restart after
    /// a storage loss: RECOVER, UPDREQALL, and RECOVER-WAIT of reading R22. Older records
    /// without the field read as `false`.
    #[serde(default)]
    pub storage_lost: bool,
}

/// One durable write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PersistRecord {
    /// The endpoint record changed (§8.1, §6.4).
    Endpoint(EndpointRecord),
    /// One lease changed (§7.5.2).
    Lease {
        /// Which lease.
        key: LeaseKey,
        /// Its new record.
        binding: Binding,
    },
}

/// Timers (RFC 8156 §6.5, §8). Lease timers (expiry, PARTNER-DOWN reuse, update retry) are
/// derived from the database instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// STARTUP state timer (§8.3.2 step 3); fires into PREVIOUS-STATE (step 6).
    Startup,
    /// FO_KEEPALIVE_TIMER (§6.6): no message for FO_KEEPALIVE_TIME, the connection is dead.
    FoKeepalive,
    /// FO_SEND_TIMER (§6.6): nothing sent for FO_SEND_TIME, send CONTACT.
    FoSend,
    /// auto-partner-down timer (§8.9), COMMUNICATIONS-INTERRUPTED only.
    AutoPartnerDown,
    /// RECOVER-WAIT timer at TIME-OF-FAILURE + MCLT (§8.6.2).
    RecoverWait,
    /// Implementation timer: RECOVER without UPDDONE or BNDUPD progress (§8.5.2 SHOULD drop).
    RecoverProgress,
}

const TIMERS: [Timer; 6] = [
    Timer::Startup,
    Timer::FoKeepalive,
    Timer::FoSend,
    Timer::AutoPartnerDown,
    Timer::RecoverWait,
    Timer::RecoverProgress,
];

#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable(BTreeMap<Timer, Time>);

impl TimerTable {
    pub(crate) fn set(&mut self, t: Timer, at: Time) {
        self.0.insert(t, at);
    }
    pub(crate) fn stop(&mut self, t: Timer) {
        self.0.remove(&t);
    }
    pub(crate) fn get(&self, t: Timer) -> Option<Time> {
        self.0.get(&t).copied()
    }
    fn next_timeout(&self, skip: Option<Timer>) -> Option<Time> {
        self.0
            .iter()
            .filter(|(t, _)| Some(**t) != skip)
            .map(|(_, at)| *at)
            .min()
    }
}

/// What made the state machine run (§8.1: own state, communications status, partner state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// Communications became OK (first STATE from the partner).
    CommOk,
    /// Communications failed (transport loss, keepalive, DISCONNECT).
    CommFailed,
    /// The partner announced a new state.
    PartnerState,
    /// Operator: partner is down.
    PartnerDownCommand,
    /// UPDDONE answered our UPDREQ/UPDREQALL.
    UpdDone,
    /// STARTUP timer.
    StartupTimer,
    /// auto-partner-down timer.
    AutoPartnerDownTimer,
    /// RECOVER-WAIT timer.
    RecoverWaitTimer,
}

/// What we know of the partner (§6.4).
#[derive(Clone, Debug, Default)]
pub(crate) struct PartnerView {
    pub(crate) state: Option<ServerState>,
    pub(crate) flags: ServerFlags,
    pub(crate) start_time: Option<Time>,
    pub(crate) partner_down_time: Option<Time>,
    pub(crate) last_message: Option<Time>,
    /// The C flag of the first STATE received since this endpoint started: "its partner does
    /// have a record of communicating with it" (§8.5.2, digest A8, decision D16). Later STATEs do not change it, since
    /// the partner sets C as soon as it has talked to *this* incarnation.
    pub(crate) knew_us: Option<bool>,
}

/// Our answer to the partner's UPDREQ/UPDREQALL (§5.3.5-§5.3.7).
#[derive(Clone, Debug)]
pub(crate) struct UpdResponse {
    /// The request's transaction-id, copied into UPDDONE.
    xid: Xid,
    /// Leases still to send for this request.
    to_send: BTreeSet<LeaseKey>,
    /// BNDUPDs of this request not yet answered.
    awaiting: BTreeSet<Xid>,
}

/// One server's side of one RFC 8156 failover relationship, as a deterministic state machine.
///
/// It performs no I/O and reads no clock: every input carries `now`.
///
/// Methods fall in four families (the quinn-proto layout):
/// * (A) getters: [`state`](Self::state), [`observe`](Self::observe), [`role`](Self::role);
/// * (B) inputs, named `handle_*`: [`handle_connected`](Self::handle_connected),
///   [`handle_disconnected`](Self::handle_disconnected), [`handle_message`](Self::handle_message),
///   [`handle_timeout`](Self::handle_timeout), [`handle_command`](Self::handle_command),
///   [`handle_client`](Self::handle_client);
/// * (C) internal state-machine mutators (`set_state` and the `transition_out_of_*` functions);
/// * (D) outputs, named `poll_*`: [`poll_output`](Self::poll_output),
///   [`poll_timeout`](Self::poll_timeout).
///
/// **Call contract.** After every `handle_*` call, drain [`poll_output`](Self::poll_output)
/// until it returns `None`, acting on each output in order; then read
/// [`poll_timeout`](Self::poll_timeout) and call [`handle_timeout`](Self::handle_timeout) when
/// that time is reached. `now` must never decrease.
///
/// **Durability contract (RFC 8156 §7.5.2).** An [`Output::Persist`] must be written to stable
/// storage before any later [`Output::Send`] is transmitted: in particular a BNDREPLY is always
/// preceded by the `Persist` of the leases it acknowledges, and "A server MUST NOT send the
/// BNDREPLY message before its binding database is updated". STATE messages are likewise
/// preceded by the `Persist` of the endpoint record (§6.3 SHOULD). Client replies are emitted
/// before the BNDUPD that tells the partner (lazy update, §4.3).
///
/// **Connection.** The driver opens (primary) or accepts (secondary) the TCP connection and calls
/// `handle_connected`; it calls `handle_disconnected` when the transport closes. After an
/// [`Output::Disconnect`] the endpoint already treats the connection as closed; the driver closes
/// it (and the primary retries later, §6.1).
#[derive(Debug)]
pub struct Endpoint {
    pub(crate) cfg: Config,
    /// MCLT in use: configured on the primary, adopted from CONNECT on the secondary (§6.1.2).
    pub(crate) mclt: u64,
    pub(crate) state: ServerState,
    pub(crate) previous_state: Option<ServerState>,
    pub(crate) start_time_of_state: Time,
    /// PREVIOUS-STATE of §8.3.2 (after step 2).
    pub(crate) startup_previous: ServerState,
    /// The state recorded in stable storage at start, with its start time.
    pub(crate) recorded: Option<(ServerState, Time)>,
    /// TIME-OF-FAILURE of §8.3.2 step 1 (`None`: unknown).
    pub(crate) time_of_failure: Option<Time>,
    /// When this endpoint was created (the "time the server started" of §8.6.2).
    pub(crate) started_at: Time,
    /// Stable storage was empty at start (§8.2, reading R5).
    pub(crate) no_stable_record: bool,
    /// The storage was lost and the database not yet recovered: created by
    /// [`Endpoint::try_new_after_storage_loss`], restarted from a record marked `storage_lost`,
    /// or told by the partner's C flag (decision D16). Kept in the endpoint record until the
    /// UPDREQALL is answered by UPDDONE in RECOVER (reading R23); reading R22 lengthens
    /// RECOVER-WAIT.
    pub(crate) after_storage_loss: bool,
    /// We have had communications OK with the partner at least once (C flag).
    pub(crate) communicated: bool,
    /// Entry into PARTNER-DOWN (OPTION_F_PARTNER_DOWN_TIME).
    pub(crate) pd_entry: Option<Time>,
    /// When this run entered PARTNER-DOWN (volatile): the MCLT waits of §8.4.1 count from it
    /// (decision D7 keeps `pd_entry` for the record and the STATE message only).
    pub(crate) pd_entered: Option<Time>,
    pub(crate) partner: PartnerView,
    pub(crate) conn: Conn,
    pub(crate) db: Db,
    pub(crate) timers: TimerTable,
    /// BNDUPDs sent and not yet answered: xid → (lease, version sent).
    pub(crate) outstanding: BTreeMap<Xid, Vec<(LeaseKey, u64)>>,
    /// Leases in flight (inverse of `outstanding`).
    pub(crate) in_flight: BTreeSet<LeaseKey>,
    /// Rejected updates wait for the "next periodic scan" (§7.5.4).
    pub(crate) retry_at: BTreeMap<LeaseKey, Time>,
    /// Leases whose partner update we rejected while our BNDUPD of them was in flight: the
    /// update stays owed after that BNDUPD is acknowledged (it predates the disagreement), even
    /// if the scan time has passed meanwhile (reading R21; the model's rejection sets its
    /// pending flag, which the acknowledgment of the copy in flight leaves set).
    pub(crate) owed_after_ack: BTreeSet<LeaseKey>,
    /// Last lease sent by the lazy-update scan (see `next_pending`).
    pub(crate) pump_cursor: Option<LeaseKey>,
    /// Our outstanding UPDREQ/UPDREQALL transaction-id.
    pub(crate) upd_request: Option<Xid>,
    /// Our answer in progress to the partner's UPDREQ/UPDREQALL.
    pub(crate) upd_response: Option<UpdResponse>,
    /// Secondary: POOLREQ to send once the NORMAL-entry updates are out (§8.8).
    pub(crate) poolreq_due: bool,
    /// The driver knows the partner is running: the STARTUP timer waits (reading R19).
    pub(crate) startup_held: bool,
    pub(crate) next_xid: Xid,
    pub(crate) out: VecDeque<Output>,
    /// DNS requests with the driver (`crate::dns`).
    pub(crate) dns: crate::dns::DnsBook,
}

impl Endpoint {
    /// Create an endpoint from a validated configuration and what stable storage holds
    /// (`None`: empty storage, §8.2 and reading R5). The endpoint starts in STARTUP (§8.3).
    ///
    /// # Panics
    /// If `config` does not pass [`Config::validate`]; use [`Endpoint::try_new`] to get the
    /// [`ConfigError`] instead.
    pub fn new(config: Config, stable: Option<StableState>, now: Time) -> Endpoint {
        match Endpoint::try_new(config, stable, now) {
            Ok(e) => e,
            Err(e) => panic!("invalid failover configuration: {e}"),
        }
    }

    /// As [`Endpoint::new`], returning the configuration error.
    pub fn try_new(
        config: Config,
        stable: Option<StableState>,
        now: Time,
    ) -> Result<Endpoint, ConfigError> {
        config.validate()?;
        let role = config.role;
        // Every configured lease exists in the database; a never-used lease is available to its
        // owner: addresses by bit 127 (§4.2.1.1, reading R1), prefixes to the primary (§4.2.2).
        let mut leases = BTreeMap::new();
        for a in &config.addresses {
            let k = LeaseKey::Addr(*a);
            leases.insert(k, Binding::available(db::pending_free_destination(&k)));
        }
        for (a, l) in &config.prefixes {
            leases.insert(
                LeaseKey::Prefix(*a, *l),
                Binding::available(BindingStatus::Free),
            );
        }
        let keepalive = config.keepalive_time;
        let mut e = Endpoint {
            mclt: config.mclt,
            state: ServerState::Startup,
            previous_state: None,
            start_time_of_state: now,
            startup_previous: ServerState::Recover,
            recorded: None,
            time_of_failure: None,
            started_at: now,
            no_stable_record: true,
            after_storage_loss: false,
            communicated: false,
            pd_entry: None,
            pd_entered: None,
            partner: PartnerView::default(),
            conn: Conn::new(keepalive),
            db: Db::default(),
            timers: TimerTable::default(),
            outstanding: BTreeMap::new(),
            in_flight: BTreeSet::new(),
            retry_at: BTreeMap::new(),
            owed_after_ack: BTreeSet::new(),
            pump_cursor: None,
            upd_request: None,
            upd_response: None,
            poolreq_due: false,
            startup_held: false,
            next_xid: 1,
            out: VecDeque::new(),
            dns: Default::default(),
            cfg: config,
        };
        match stable.filter(|s| s.endpoint.state.is_some()) {
            Some(s) => {
                let rec = s.endpoint;
                for (k, mut b) in s.leases {
                    // An update unacknowledged at the crash is owed again (§8.8).
                    if std::mem::take(&mut b.owed_if_lost) {
                        b.update_pending = true;
                    }
                    // A rejected update still waits for its periodic scan (reading R21).
                    if let Some(t) = b.hold_until.filter(|t| *t > now) {
                        e.retry_at.insert(k, t);
                    }
                    leases.insert(k, b);
                }
                // §8.3.2 Step 1: PREVIOUS-STATE is the last recorded state; TIME-OF-FAILURE the
                // failure time or a time beyond which the server could not have been operating.
                let recorded = rec.state.unwrap_or(ServerState::Recover);
                e.startup_previous = startup_step2(recorded);
                e.previous_state = rec.previous_state;
                e.time_of_failure = Some(rec.time_of_failure.unwrap_or(rec.last_operation));
                if rec.storage_lost {
                    // RFC 8156 §8.5.2 / reading R23: the storage was lost before the last run
                    // and its UPDREQALL was never answered; the database is still incomplete.
                    // This restart is one after a storage loss: RECOVER (reading R5), UPDREQALL,
                    // and TIME-OF-FAILURE unknown, so that RECOVER-WAIT counts from now for
                    // max(MCLT, lifetime) (reading R22).
                    e.startup_previous = ServerState::Recover;
                    e.time_of_failure = None;
                    e.after_storage_loss = true;
                }
                e.start_time_of_state = rec.start_time_of_state;
                e.recorded = Some((recorded, rec.start_time_of_state));
                e.no_stable_record = false;
                e.communicated = rec.communicated;
                e.pd_entry = rec.partner_down_entry;
                e.partner.state = rec.partner_state;
                e.partner.start_time = rec.partner_start_time;
                e.partner.last_message = rec.last_partner_message;
                if role == Role::Secondary && rec.mclt > 0 {
                    e.mclt = rec.mclt; // §6.1.2 "use it until a different MCLT is supplied"
                }
            }
            None => {
                // Reading R5 (A7): §8.2 gives the state of a server with no storage, "Primary:
                // PARTNER-DOWN, Secondary: RECOVER", used as PREVIOUS-STATE by §8.3.2.
                e.startup_previous = match role {
                    Role::Primary => ServerState::PartnerDown,
                    Role::Secondary => ServerState::Recover,
                };
            }
        }
        e.db = Db::from_leases(leases);
        e.init_reservations(now);
        e.dns_restart(now);
        // §8.3.2 Step 3: "Start the STARTUP state timer."
        e.timers.set(Timer::Startup, now.plus(e.cfg.startup_time));
        e.log(&format!(
            "STARTUP ({role}); PREVIOUS-STATE={}",
            e.startup_previous
        ));
        Ok(e)
    }

    /// Create an endpoint for a server that has run before and lost its stable storage (the
    /// driver knows: the disk was replaced, the database was wiped). Reading R5 (A7): such a
    /// server restarts as RECOVER whatever its role — its STARTUP STATE announces RECOVER —
    /// and asks for the whole database with UPDREQALL (§8.5.2). A driver that cannot tell uses
    /// [`Endpoint::try_new`] with no storage; the partner's C flag then reveals the loss
    /// (decision D16).
    pub fn try_new_after_storage_loss(config: Config, now: Time) -> Result<Endpoint, ConfigError> {
        let mut e = Endpoint::try_new(config, None, now)?;
        e.startup_previous = ServerState::Recover;
        e.after_storage_loss = true;
        e.log("stable storage lost: PREVIOUS-STATE=RECOVER (reading R5)");
        // Reading R23: the loss is recorded at once, so that a crash before the UPDREQALL is
        // answered does not make the next start look like that of a server with a database.
        e.persist_endpoint(now);
        Ok(e)
    }

    /// Tell the endpoint whether its partner is known to be running (a driver with out-of-band
    /// knowledge: a cluster manager, a test harness). Reading R19 takes §8.3.2 step 3 ("long
    /// enough for a TCP connection to a heavily loaded partner to be created across a slow
    /// network") as an assumption about the environment: while the partner runs, STARTUP lasts
    /// until its STATE arrives, and the STARTUP timer expires only while the partner is down.
    /// While held, the timer stays armed but does not fire; released, it fires if due. A driver
    /// without such knowledge never calls this and must size the STARTUP time instead.
    pub fn hold_startup(&mut self, partner_running: bool) {
        self.startup_held = partner_running;
    }

    // ---- (A) getters -------------------------------------------------------------------

    /// Current endpoint state.
    pub fn state(&self) -> ServerState {
        self.state
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.cfg.role
    }

    /// Communications OK (§6.1: the partner's STATE was received on this connection).
    pub fn comm_ok(&self) -> bool {
        self.conn.phase == Phase::Ok
    }

    /// The MCLT in use.
    pub fn mclt(&self) -> u64 {
        self.mclt
    }

    /// The lease database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The partner's state as last announced (with its STARTUP flag).
    pub fn partner_state_announced(&self) -> Option<(ServerState, bool)> {
        self.partner.state.map(|s| (s, self.partner.flags.startup))
    }

    // ---- (B) inputs --------------------------------------------------------------------

    /// The transport connection to the partner is up (§6.1).
    pub fn handle_connected(&mut self, now: Time) {
        self.on_connected(now);
        self.pump(now);
    }

    /// The transport connection closed (reading R8: communications not OK).
    pub fn handle_disconnected(&mut self, now: Time) {
        self.comm_lost(now);
    }

    /// A message from the partner.
    pub fn handle_message(&mut self, now: Time, msg: Message) {
        self.on_message(now, msg);
        self.pump(now);
    }

    /// Some timer from [`poll_timeout`](Self::poll_timeout) is due (extra calls are harmless).
    pub fn handle_timeout(&mut self, now: Time) {
        // The periodic scan first (§7.5.4): a held update whose time has come goes as the
        // record stood before the expiries of this instant, as the model's tick precedes its
        // timers.
        let due: Vec<LeaseKey> = self
            .retry_at
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(k, _)| *k)
            .collect();
        if !due.is_empty() {
            for k in due {
                self.retry_at.remove(&k);
            }
            self.pump(now);
        }
        for t in TIMERS {
            if t == Timer::Startup && self.startup_held {
                continue;
            }
            if self.timers.get(t).is_some_and(|at| at <= now) {
                self.timers.stop(t);
                self.on_timer(now, t);
            }
        }
        self.expire_leases(now);
        self.partner_down_frees(now);
        self.dns_timeouts(now);
        self.pump(now);
    }

    /// An operator command.
    pub fn handle_command(&mut self, now: Time, cmd: Command) {
        match cmd {
            Command::PartnerDown => self.run_state_machine(now, Trigger::PartnerDownCommand),
            Command::ResetLease(key) => self.reset_lease(now, key),
            Command::Shutdown => self.drop_connection(
                now,
                DisconnectReason::Shutdown,
                Some(StatusCode::ServerShuttingDown),
            ),
            Command::CancelReservation(key) => self.cancel_reservation(now, key),
        }
        self.pump(now);
    }

    /// A DHCP client message.
    pub fn handle_client(&mut self, now: Time, req: ClientRequest) {
        self.on_client(now, req);
        self.pump(now);
    }

    /// A DHCP client message with the name the client asked for in OPTION_CLIENT_FQDN
    /// (RFC 4704; a single label or a full name). Used for a new binding's DNS name (§9.2).
    pub fn handle_client_with_fqdn(&mut self, now: Time, req: ClientRequest, fqdn: Option<String>) {
        self.dns.client_fqdn = fqdn;
        self.on_client(now, req);
        self.dns.client_fqdn = None;
        self.pump(now);
    }

    // ---- (D) outputs -------------------------------------------------------------------

    /// The next output, in order.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Time> {
        let mut next = self
            .timers
            .next_timeout(self.startup_held.then_some(Timer::Startup));
        let mut consider = |t: Option<Time>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        consider(self.db.next_expiry());
        consider(self.dns.next_retry());
        if self.state == ServerState::PartnerDown {
            consider(self.next_partner_down_free());
        }
        // The periodic scan (§7.5.4) runs whether or not communications are OK: an update held
        // while the connection was down goes out as soon as it comes back after the scan.
        consider(self.retry_at.values().min().copied());
        next
    }

    // ---- internals: outputs ------------------------------------------------------------

    pub(crate) fn log(&mut self, line: &str) {
        self.out
            .push_back(Output::Event(Event::Log(line.to_string())));
    }

    pub(crate) fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    /// A fresh transaction-id: an incrementing 24-bit counter (§5.4) that never reuses the id of
    /// an outstanding UPDREQ/UPDREQALL or BNDUPD.
    fn alloc_xid(&mut self) -> Xid {
        loop {
            let x = self.next_xid;
            self.next_xid = (self.next_xid + 1) & 0x00ff_ffff;
            if self.next_xid == 0 {
                self.next_xid = 1;
            }
            if Some(x) != self.upd_request && !self.outstanding.contains_key(&x) {
                return x;
            }
        }
    }

    /// Send a message we initiate (new transaction-id, §5.4).
    pub(crate) fn send_new(&mut self, now: Time, body: Body) -> Xid {
        let xid = self.alloc_xid();
        self.send_reply(now, xid, body);
        xid
    }

    /// Send a message with a given transaction-id (responses copy it, §5.4).
    pub(crate) fn send_reply(&mut self, now: Time, xid: Xid, body: Body) {
        // §6.6: "The FO_SEND_TIMER ... is reset to FO_SEND_TIME every time any message is
        // transmitted on that connection".
        if self.conn.handshake_done() {
            self.timers
                .set(Timer::FoSend, now.plus(self.conn.fo_send_time()));
        }
        self.out.push_back(Output::Send(Message {
            xid,
            sent_time: now,
            body,
        }));
    }

    pub(crate) fn endpoint_record(&self, now: Time) -> EndpointRecord {
        EndpointRecord {
            state: if self.state == ServerState::Startup {
                Some(self.startup_previous)
            } else {
                Some(self.state)
            },
            previous_state: self.previous_state,
            start_time_of_state: self.start_time_of_state,
            partner_state: self.partner.state,
            partner_start_time: self.partner.start_time,
            last_partner_message: self.partner.last_message,
            partner_down_entry: self.pd_entry,
            communicated: self.communicated,
            mclt: self.mclt,
            last_operation: now,
            time_of_failure: None,
            storage_lost: self.after_storage_loss,
        }
    }

    pub(crate) fn persist_endpoint(&mut self, now: Time) {
        let rec = self.endpoint_record(now);
        self.out
            .push_back(Output::Persist(PersistRecord::Endpoint(rec)));
    }

    /// Write a lease and queue its `Persist`, unless the record is unchanged: the database then
    /// already holds it durably (the driver makes every `Persist` durable before acting on any
    /// later output), and rewriting it would only cost a stable-storage write. The common case
    /// is the §7.7 ack of a binding whose acked-partner-lifetime did not move.
    pub(crate) fn store(&mut self, key: LeaseKey, b: Binding) {
        if self.db.get(&key) == Some(&b) {
            return;
        }
        self.out.push_back(Output::Persist(PersistRecord::Lease {
            key,
            binding: b.clone(),
        }));
        self.db.put(key, b);
        self.dns_withdraw_stale(key);
    }

    /// Set a lease's update-pending flag (without a new version: nothing changed).
    pub(crate) fn flag_owed(&mut self, key: LeaseKey) {
        if let Some(mut b) = self.db.get(&key).cloned() {
            if !b.update_pending || b.owed_if_lost {
                b.update_pending = true;
                b.owed_if_lost = false;
                self.store(key, b);
            }
        }
    }

    /// Write a lease changed locally: the partner must be told (lazy update, §4.3).
    pub(crate) fn store_changed(&mut self, key: LeaseKey, mut b: Binding) {
        b.update_pending = true;
        b.hold_until = None;
        self.db.bump(&key);
        self.retry_at.remove(&key);
        self.owed_after_ack.remove(&key);
        self.store(key, b);
    }

    // ---- timers ------------------------------------------------------------------------

    fn on_timer(&mut self, now: Time, t: Timer) {
        match t {
            Timer::Startup => self.run_state_machine(now, Trigger::StartupTimer),
            // §6.6: "If it ever reaches zero, that connection is considered dead."
            Timer::FoKeepalive => {
                self.drop_connection(now, DisconnectReason::KeepaliveExpired, None)
            }
            Timer::FoSend => self.on_fo_send(now),
            Timer::AutoPartnerDown => self.run_state_machine(now, Trigger::AutoPartnerDownTimer),
            Timer::RecoverWait => self.run_state_machine(now, Trigger::RecoverWaitTimer),
            // §8.5.2: "If an UPDDONE message isn't received within an implementation-dependent
            // amount of time and no BNDUPD messages are being received, the connection SHOULD
            // be dropped."
            Timer::RecoverProgress => {
                if self.state == ServerState::Recover && self.upd_request.is_some() {
                    self.drop_connection(now, DisconnectReason::RecoverStalled, None);
                }
            }
        }
    }

    /// Figure 2 (8): "The lease has expired." ACTIVE → EXPIRED at state-expiration-time.
    fn expire_leases(&mut self, now: Time) {
        for key in self.db.expired_at(now) {
            let Some(mut b) = self.db.get(&key).cloned() else {
                continue;
            };
            b.status = BindingStatus::Expired;
            // Decision D15: the new state started when the old one expired, not when the timer
            // was serviced.
            b.start_time_of_state = b.state_expiration_time.unwrap_or(now);
            b.client_expiry = db::max_opt(b.client_expiry, b.state_expiration_time);
            b.state_expiration_time = None;
            // §8.8.1 "Whenever a client binding is released or expires, a BNDUPD message must
            // be sent to the partner, setting the binding state to RELEASED or EXPIRED."
            self.store_changed(key, b);
        }
    }

    /// Earliest PARTNER-DOWN reuse time among EXPIRED/RELEASED/RESET leases (reading R3).
    fn next_partner_down_free(&self) -> Option<Time> {
        let pd_entry = self.pd_entered?;
        self.db
            .freeable()
            .iter()
            .filter_map(|k| self.db.get(k))
            .map(|b| db::pd_reuse_time(b, pd_entry, self.mclt))
            .min()
    }

    /// Figure 2 (4) in PARTNER-DOWN, per reading R3 (A3): EXPIRED/RELEASED/RESET become
    /// PENDING-FREE (and at once FREE or FREE-BACKUP, reading R1) only once the reading-R2 time
    /// has passed, not merely MCLT after entering the status.
    fn partner_down_frees(&mut self, now: Time) {
        if self.state != ServerState::PartnerDown {
            return;
        }
        let Some(pd_entry) = self.pd_entered else {
            return;
        };
        let due: Vec<LeaseKey> = self
            .db
            .freeable()
            .iter()
            .filter(|k| {
                self.db
                    .get(k)
                    .is_some_and(|b| db::pd_reuse_time(b, pd_entry, self.mclt) <= now)
            })
            .copied()
            .collect();
        for key in due {
            self.log(&format!(
                "{key}: freed in PARTNER-DOWN after the R2 reuse time"
            ));
            self.free_lease(now, key, true);
        }
    }

    /// Figure 2 (4) then (5)/(6): PENDING-FREE is transient (reading R1) and resolves to FREE or
    /// FREE-BACKUP in the same step. After an ack the partner already knows the lease is free
    /// (it acknowledged the EXPIRED/RELEASED/RESET), so nothing more is sent; a local decision in
    /// PARTNER-DOWN (reading R3) is a change the partner must still learn (`tell_partner`).
    fn free_lease(&mut self, now: Time, key: LeaseKey, tell_partner: bool) {
        let Some(mut b) = self.db.get(&key).cloned() else {
            return;
        };
        b.status = db::pending_free_destination(&key);
        // The binding ends: no client holds the lease (its CLT stays, reading R11).
        b.client = None;
        b.start_time_of_state = now;
        b.state_expiration_time = None;
        b.partner_lifetime = None;
        b.hold_until_ack = false;
        // Decision D24: a reserved lease stays within its client's reach, and is announced.
        let tell_partner = self.reservation_on_free(&mut b) || tell_partner;
        // RFC 8156 §9.4, readings R25/R26: this server makes the lease PENDING-FREE, so it
        // deletes the name it knows for the binding (added or not) and drops an owed add.
        self.dns_on_pending_free(&mut b);
        if tell_partner {
            self.store_changed(key, b);
        } else {
            self.store(key, b);
        }
        self.issue_dns(now, key);
    }

    fn reset_lease(&mut self, now: Time, key: LeaseKey) {
        match self.db.get(&key).cloned() {
            // Figure 2 (10): "An administrative action is taken to restore an abandoned lease".
            Some(mut b) if b.status == BindingStatus::Abandoned => {
                b.status = BindingStatus::Reset;
                b.start_time_of_state = now;
                b.state_expiration_time = None;
                self.store_changed(key, b);
            }
            Some(b) => {
                let s = b.status;
                self.log(&format!(
                    "ignored ResetLease {key}: status {s}, not ABANDONED"
                ));
            }
            None => self.log(&format!("ignored ResetLease {key}: not configured")),
        }
    }

    // ---- binding updates (§7) ----------------------------------------------------------

    /// When lazy updates flow to a connected partner: in NORMAL (§8.8.1) and CONFLICT-DONE, and
    /// while answering the partner's UPDREQ/UPDREQALL (changes made meanwhile go with the answer,
    /// before its UPDDONE). Elsewhere — RECOVER-DONE, PARTNER-DOWN, POTENTIAL-CONFLICT, ... —
    /// they wait for NORMAL (sent on entry, §8.8, reading R15) or for an UPDREQ. Decision D18
    /// (changed to the model's rule: the first version also sent lazily in RECOVER-DONE and in
    /// PARTNER-DOWN while the partner recovered).
    fn sends_lazy_updates(&self) -> bool {
        use ServerState::*;
        self.comm_ok()
            && (matches!(self.state, Normal | ConflictDone) || self.upd_response.is_some())
    }

    /// RFC 8156 §7.5.4: a rejected update waits for "the next periodic scan", not for the
    /// driver to call [`handle_timeout`](Self::handle_timeout): once the scan time has passed
    /// the update may go, also if the time passed while communications were down (the model
    /// clears every hold at each tick, whatever the connection).
    fn end_due_retries(&mut self, now: Time) {
        self.retry_at.retain(|_, at| *at > now);
    }

    /// Send what may be sent now: UPDREQ answers, lazy updates (within the partner's
    /// MAX_UNACKED_BNDUPD), UPDDONE, and the secondary's POOLREQ.
    pub(crate) fn pump(&mut self, now: Time) {
        if !self.comm_ok() {
            return;
        }
        self.end_due_retries(now);
        let max = self.conn.partner_max_unacked as usize;
        // UPDREQ/UPDREQALL answers first.
        while self.outstanding.len() < max {
            let Some(resp) = self.upd_response.as_ref() else {
                break;
            };
            // RFC 8156 §9.4, reading R27: a lease owing a DNS delete is not announced until the
            // delete is done (it stays in `to_send`, so the UPDDONE waits too).
            let Some(key) = resp
                .to_send
                .iter()
                .find(|k| !self.db.get(k).is_some_and(crate::dns::owes_remove))
                .copied()
            else {
                break;
            };
            if let Some(r) = self.upd_response.as_mut() {
                r.to_send.remove(&key);
            }
            if self.in_flight.contains(&key) {
                // Already on its way: its reply counts for this request too.
                if let Some((x, _)) = self
                    .outstanding
                    .iter()
                    .find(|(_, v)| v.iter().any(|(k, _)| *k == key))
                {
                    let x = *x;
                    if let Some(r) = self.upd_response.as_mut() {
                        r.awaiting.insert(x);
                    }
                }
                continue;
            }
            let xid = self.send_bndupd(now, key);
            if let Some(r) = self.upd_response.as_mut() {
                r.awaiting.insert(xid);
            }
        }
        self.send_lazy_updates(now);
        self.maybe_send_upddone(now);
        // §8.8: "When the above process is complete, if the server entering NORMAL state is a
        // secondary server, then it will request delegable prefixes ... using the POOLREQ".
        // "Complete": every update owed has been sent (it may still await its BNDREPLY).
        if self.poolreq_due
            && self.state == ServerState::Normal
            && !self
                .db
                .pending()
                .iter()
                .any(|k| !self.in_flight.contains(k) && !self.retry_at.contains_key(k))
        {
            self.poolreq_due = false;
            self.send_new(now, Body::PoolReq);
        }
    }

    /// Send the updates owed (lazy updates, §4.3), within the partner's MAX_UNACKED_BNDUPD, in
    /// the states where they flow (decision D18).
    pub(crate) fn send_lazy_updates(&mut self, now: Time) {
        if !self.sends_lazy_updates() {
            return;
        }
        self.end_due_retries(now);
        let max = self.conn.partner_max_unacked as usize;
        while self.outstanding.len() < max {
            let Some(key) = self.next_pending() else {
                break;
            };
            self.pump_cursor = Some(key);
            self.send_bndupd(now, key);
        }
    }

    /// RFC 8156 §9.4, reading R27: the lease owes a DNS delete, so its update (its free status)
    /// waits until the delete is done.
    fn waits_for_dns_remove(&self, k: &LeaseKey) -> bool {
        self.db.get(k).is_some_and(crate::dns::owes_remove)
    }

    /// The next update-pending lease that is neither in flight nor waiting for a retry, in
    /// lease order: addresses first in address order, then prefixes (the order of
    /// [`LeaseKey`]). RFC 8156 §8.8 ("all binding updates that have not been acknowledged") and
    /// §7.4 leave the order open; it is deterministic and the same as the model's, which sends
    /// what is owed by lease index. The scan goes on from the last lease sent while updates are
    /// in flight (so the in-flight leases are not rescanned for every send, BENCH.md) and
    /// starts again from the lowest lease when none is: after a reconnection, say, the owed
    /// updates go in lease order, whatever was sent last (the first version always went on
    /// from the last lease sent, and the order depended on history).
    fn next_pending(&self) -> Option<LeaseKey> {
        use std::ops::Bound::{Excluded, Unbounded};
        let ok = |k: &&LeaseKey| {
            !self.in_flight.contains(k)
                && !self.retry_at.contains_key(k)
                && !self.waits_for_dns_remove(k)
        };
        let pending = self.db.pending();
        let after = match self.pump_cursor {
            Some(c) if !self.outstanding.is_empty() => {
                pending.range((Excluded(c), Unbounded)).find(ok)
            }
            _ => None,
        };
        after.or_else(|| pending.iter().find(ok)).copied()
    }

    /// Build and send the BNDUPD for one lease (§7.4).
    fn send_bndupd(&mut self, now: Time, key: LeaseKey) -> Xid {
        let mut b = self.db.get(&key).cloned().unwrap_or_else(|| {
            // Unreachable by construction (keys come from the database); send a FREE marker.
            Binding::available(db::pending_free_destination(&key))
        });
        let timeout = db::has_timeout(b.status);
        let pl = if timeout {
            b.partner_lifetime
                .or(b.partner_lifetime_sent)
                .or(b.acked_partner_lifetime)
                .or(b.state_expiration_time)
        } else {
            None
        };
        // A take-back in progress (reading R9) is announced as FREE; design draft §12: the
        // primary announces a free reserved lease as FREE-BACKUP.
        let announced = self.reservation_announced(&b, announced_status(&b));
        let u = LeaseUpdate {
            lease: key,
            valid_lifetime: b.valid_lifetime,
            binding_status: announced,
            start_time_of_state: b.start_time_of_state,
            // "*": only for statuses with a timeout (§7.4).
            state_expiration_time: if timeout {
                b.state_expiration_time
            } else {
                None
            },
            clt_time: b.clt,
            partner_lifetime: pl,
            partner_raw_clt_time: b.partner_raw_clt_time,
            expiration_time: if timeout { b.expiration_time } else { None },
            dns: self.dns_for_update(&b),
            reserved: self.reservation_flag(&key, &b),
        };
        // §7.4: a client binding goes in OPTION_CLIENT_DATA; an unallocated prefix in a bare
        // OPTION_IAPREFIX.
        // A prefix "currently not associated with any clients" (§7.4 (2)) goes bare: a FREE or
        // FREE-BACKUP one, or one without a client. EXPIRED/RELEASED keep their client (§7.2:
        // "Client identification SHOULD appear").
        let bare = key.is_prefix()
            && (b.client.is_none()
                || matches!(b.status, BindingStatus::Free | BindingStatus::FreeBackup));
        let client = if bare {
            None
        } else {
            Some(b.client.clone().unwrap_or(ClientId(Vec::new())))
        };
        if pl.is_some() && b.partner_lifetime_sent != pl {
            // Digest A15: remember the most recently transmitted partner-lifetime (reading R2).
            b.partner_lifetime_sent = pl;
            self.store(key, b);
        }
        let seq = self.db.seq(&key);
        let xid = self.send_new(
            now,
            Body::BndUpd(BndUpd {
                client,
                leases: vec![u],
                vss: None,
            }),
        );
        self.outstanding.insert(xid, vec![(key, seq)]);
        self.in_flight.insert(key);
        xid
    }

    /// RFC 8156 §7.5 Receiving Binding Updates (§7.5.3, §7.5.4, §7.5.5) and §7.6 the reply.
    pub(crate) fn on_bndupd(&mut self, now: Time, xid: Xid, u: BndUpd) {
        if self.state == ServerState::Recover {
            self.timers
                .set(Timer::RecoverProgress, now.plus(self.cfg.recover_timeout));
        }
        let me = self.cfg.role;
        // §7.5.3: "it MUST contain either a single OPTION_CLIENT_DATA option or a single
        // OPTION_IAPREFIX option ... if there is insufficient information in the BNDUPD message
        // to process it, then it is rejected with ... "MissingBindingInformation"."
        let malformed = u.leases.is_empty()
            || (u.client.is_none() && (u.leases.len() != 1 || !u.leases[0].lease.is_prefix()));
        if malformed {
            self.log("rejected BNDUPD: neither one CLIENT_DATA nor one IAPREFIX");
            let reply = BndReply {
                client: u.client.clone(),
                status: Some(StatusCode::MissingBindingInformation),
                leases: Vec::new(),
                // §7.6: "OPTION_VSS from the BNDUPD message, if any."
                vss: u.vss.clone(),
            };
            self.send_reply(now, xid, Body::BndReply(reply));
            return;
        }
        // An address that no client holds still travels in OPTION_CLIENT_DATA, whose CLIENTID is
        // then empty (decision D10): that is "no client", not a client with an empty DUID.
        let client = u.client.clone().filter(|c| !c.0.is_empty());
        // RFC 8156 §7.5.4: "If an OPTION_VSS option is specified in the OPTION_CLIENT_DATA
        // option or OPTION_IAPREFIX option and the VPN specified in the OPTION_VSS option does
        // not appear in the configuration of the receiving server, then reject the entire
        // OPTION_CLIENT_DATA option or OPTION_IAPREFIX option by including an
        // OPTION_STATUS_CODE option with a status-code of "ConfigurationConflict"." This server
        // is configured with the global, default VPN only.
        let unknown_vpn = u.vss.as_deref().is_some_and(|v| !is_global_vpn(v));
        let mut replies = Vec::with_capacity(u.leases.len());
        for received in &u.leases {
            // Design draft §12, reading R30: how the primary reads the secondary's FREE-BACKUP
            // of a lease it reserves.
            let read = self.reservation_read(received);
            let lu = read.as_ref().unwrap_or(received);
            // §9: refuse the updates of a partner doing DNS updates, if so configured.
            let verdict = if unknown_vpn {
                Err(StatusCode::ConfigurationConflict)
            } else {
                self.dns_check_partner(lu)
                    .and_then(|()| self.judge(now, client.as_ref(), lu, me))
            };
            let status = match verdict {
                Ok(()) => {
                    let local = self.db.get(&lu.lease).cloned().unwrap_or_else(|| {
                        Binding::available(db::pending_free_destination(&lu.lease))
                    });
                    let partner_clt = self.cfg.db_time_includes_partner_clt;
                    if db::agrees(&local, client.as_ref(), lu, partner_clt) {
                        // Reading R11: nothing new; our record (and what we owe) stays.
                        let b = db::apply_agreeing(&local, lu);
                        self.extensions_on_update(
                            &local,
                            b,
                            client.as_ref(),
                            lu,
                            received.binding_status,
                        );
                    } else {
                        let mut b =
                            db::apply_update(&local, &lu.lease, client.as_ref(), lu, partner_clt);
                        // Our own update of this lease, still unacknowledged, is owed again if
                        // it is lost (the partner took ours before its own? we cannot know).
                        if self.in_flight.contains(&lu.lease) && !b.update_pending {
                            b.owed_if_lost = true;
                        }
                        self.db.bump(&lu.lease);
                        self.retry_at.remove(&lu.lease);
                        self.owed_after_ack.remove(&lu.lease);
                        b.hold_until = None;
                        // §7.5.2: stored (Persist queued) before the BNDREPLY below.
                        self.extensions_on_update(
                            &local,
                            b,
                            client.as_ref(),
                            lu,
                            received.binding_status,
                        );
                    }
                    None
                }
                Err(code) => {
                    self.log(&format!(
                        "rejected BNDUPD {} {}: {code}",
                        lu.lease, lu.binding_status
                    ));
                    if matches!(
                        code,
                        StatusCode::OutdatedBindingInformation | StatusCode::AddressInUse
                    ) {
                        self.flag_for_update(now, lu.lease);
                    }
                    Some(code)
                }
            };
            replies.push(LeaseReply {
                lease: lu.lease,
                status,
                binding_status: received.binding_status,
                state_expiration_time: lu.state_expiration_time,
                // §5.5.8: "an exact duplicate (echo) of the time received"
                partner_lifetime_sent: lu.partner_lifetime,
            });
        }
        // §7.5.3: "A server receiving a BNDUPD message MUST respond ... with a BNDREPLY message
        // that contains the same transaction-id".
        let reply = BndReply {
            client: u.client,
            status: None,
            leases: replies,
            // RFC 8156 §7.6: the reply's CLIENT_DATA (or bare IAPREFIX) holds "OPTION_VSS from
            // the BNDUPD message, if any."
            vss: u.vss,
        };
        self.send_reply(now, xid, Body::BndReply(reply));
    }

    /// Accept or reject one IAADDR/IAPREFIX (§7.5.4).
    fn judge(
        &self,
        now: Time,
        client: Option<&ClientId>,
        lu: &LeaseUpdate,
        me: Role,
    ) -> Result<(), StatusCode> {
        // "If the lease specified ... is not a lease associated with the failover endpoint that
        // received [it], then reject it ... "ConfigurationConflict"."
        let Some(local) = self.db.get(&lu.lease) else {
            return Err(StatusCode::ConfigurationConflict);
        };
        // §7.2: "ACTIVE - ... Client identification data MUST appear." An ACTIVE lease also has a
        // timeout (§7.2 "ACTIVE, will have a timeout value in all implementations").
        if lu.binding_status == BindingStatus::Active
            && (client.is_none_or(|c| c.0.is_empty()) || lu.state_expiration_time.is_none())
        {
            return Err(StatusCode::MissingBindingInformation);
        }
        db::decide(
            local,
            client,
            lu,
            now,
            me,
            self.cfg.db_time_includes_partner_clt,
        )
    }

    /// §7.5.4: after rejecting with OutdatedBindingInformation "the flag in the lease that
    /// indicates that the partner should be updated ... SHOULD be set". "If this flag was
    /// previously not set, then an update MAY be transmitted immediately ... If this flag was
    /// previously set, an update SHOULD NOT be transmitted immediately" (next periodic scan).
    /// AddressInUse does the same, so the winning binding reaches the secondary (decision D6).
    fn flag_for_update(&mut self, now: Time, key: LeaseKey) {
        let Some(mut b) = self.db.get(&key).cloned() else {
            return;
        };
        if b.update_pending {
            // Already owed (perhaps on its way): the next periodic scan sends it again, even
            // if the partner accepts the copy in flight, which predates this disagreement
            // (reading R21).
            if self.in_flight.contains(&key) {
                self.owed_after_ack.insert(key);
            }
            self.hold_for_scan(now, key);
        } else {
            b.update_pending = true;
            self.db.bump(&key);
            self.store(key, b);
        }
    }

    /// §7.5.4 / reading R21: the update of `key` waits for the next periodic scan; the time is
    /// kept with the lease so that a restart before it does not send the update earlier.
    fn hold_for_scan(&mut self, now: Time, key: LeaseKey) {
        let until = now.plus(self.cfg.update_retry);
        self.retry_at.insert(key, until);
        if let Some(mut b) = self.db.get(&key).cloned() {
            b.hold_until = Some(until);
            self.store(key, b);
        }
    }

    /// RFC 8156 §7.7 Receiving Binding Acks.
    pub(crate) fn on_bndreply(&mut self, now: Time, xid: Xid, r: BndReply) {
        let Some(sent) = self.outstanding.remove(&xid) else {
            self.log(&format!(
                "ignored BNDREPLY xid={xid}: no such BNDUPD outstanding"
            ));
            return;
        };
        if let Some(resp) = self.upd_response.as_mut() {
            resp.awaiting.remove(&xid);
        }
        // "An OPTION_STATUS_CODE containing a success code has no bearing on the acceptance".
        let whole_rejected = r.status.filter(|s| s.is_error());
        for (key, seq) in sent {
            self.in_flight.remove(&key);
            let owed_after_ack = self.owed_after_ack.remove(&key);
            // Acknowledged (or rejected, which keeps it owed as R21 says): nothing more is owed
            // for the loss of this update.
            if let Some(mut b) = self.db.get(&key).filter(|b| b.owed_if_lost).cloned() {
                b.owed_if_lost = false;
                self.store(key, b);
            }
            let entry = r.leases.iter().find(|l| l.lease == key);
            let rejected = whole_rejected
                .or_else(|| entry.and_then(|l| l.status).filter(|s| s.is_error()))
                .or(if entry.is_none() {
                    Some(StatusCode::MissingBindingInformation)
                } else {
                    None
                });
            if let Some(code) = rejected {
                // "Receipt of a rejection ... requires no processing, other than remembering
                // that it has been encountered." The lease stays update-pending and is resent
                // on the next periodic scan (§7.5.4, reading R11).
                self.log(&format!("BNDUPD {key} rejected by partner: {code}"));
                // §7.5.4 / reading R21: if our record still announces the status that was
                // rejected, the partner has not taken our information: it stays owed (also a
                // copy sent in answer to UPDREQALL, or one whose other fields changed since,
                // say after we accepted the partner's own update meanwhile) and waits for the
                // next periodic scan. A change of status since (a lease that expired while its
                // ACTIVE was in flight) is new information, owed and sent at once, as any
                // change is (the model's rule).
                let still = match entry {
                    Some(e) => self
                        .db
                        .get(&key)
                        .is_some_and(|b| announced_status(b) == e.binding_status),
                    None => self.db.seq(&key) == seq,
                };
                if still {
                    if let Some(mut b) = self.db.get(&key).cloned() {
                        if !b.update_pending {
                            b.update_pending = true;
                            self.store(key, b);
                        }
                    }
                    self.hold_for_scan(now, key);
                }
                continue;
            }
            let Some(entry) = entry else { continue };
            let Some(mut b) = self.db.get(&key).cloned() else {
                continue;
            };
            // "a. OPTION_F_PARTNER_LIFETIME_SENT is stored in the acked-partner-lifetime."
            // (reading R4: never lowered)
            b.acked_partner_lifetime =
                db::max_opt(b.acked_partner_lifetime, entry.partner_lifetime_sent);
            let unchanged = self.db.seq(&key) == seq;
            if unchanged {
                // "b. The partner-lifetime is set to 0 to indicate that no more information
                // needs to be sent to the partner." Unless we rejected the partner's update of
                // this lease while ours was in flight: that update stays owed, for the next
                // periodic scan (§7.5.4, reading R21).
                b.partner_lifetime = None;
                b.update_pending = owed_after_ack || self.retry_at.contains_key(&key);
                if b.hold_until_ack {
                    // Reading R9: the take-back is acknowledged; the prefix is ours again.
                    b.hold_until_ack = false;
                    if b.status == BindingStatus::FreeBackup {
                        b.status = BindingStatus::Free;
                        b.start_time_of_state = now;
                    }
                }
            }
            let status = b.status;
            self.store(key, b);
            // Decision D25: the un-reserving BNDUPD FREE is acknowledged.
            self.reservation_on_ack(now, key);
            // §7.2 EXPIRED/RELEASED: "When the partner acks the BNDUPD message of an expired
            // [released] lease, the server sets its internal state to PENDING-FREE." Figure 2
            // (4), also for RESET; then (5)/(6) per reading R1. Reading R16 (replaces decision
            // D5): the partner must learn that the lease is free again, so a BNDUPD of the new
            // status is owed.
            if unchanged
                && matches!(
                    status,
                    BindingStatus::Expired | BindingStatus::Released | BindingStatus::Reset
                )
            {
                self.free_lease(now, key, true);
            }
        }
        self.maybe_send_upddone(now);
    }

    /// §5.3.5/§5.3.6: answer UPDREQ (unconfirmed changes) or UPDREQALL (everything).
    pub(crate) fn on_updreq(&mut self, now: Time, xid: Xid, all: bool) {
        if self.upd_response.is_some() {
            self.log("UPDREQ while answering another: restarting the answer");
        }
        let to_send: BTreeSet<LeaseKey> = if all {
            self.db.leases().keys().copied().collect()
        } else {
            self.db.pending().clone()
        };
        // Reading R21: the partner asks for everything it has not seen, so an update held for
        // the next periodic scan after a rejection is part of the answer (the hold damps
        // resending on our own initiative, not an answer the partner waits for).
        for key in std::mem::take(&mut self.retry_at).into_keys() {
            if let Some(mut b) = self.db.get(&key).cloned() {
                b.hold_until = None;
                self.store(key, b);
            }
        }
        self.log(&format!(
            "{} received: {} lease(s) to send",
            if all { "UPDREQALL" } else { "UPDREQ" },
            to_send.len()
        ));
        self.upd_response = Some(UpdResponse {
            xid,
            to_send,
            awaiting: BTreeSet::new(),
        });
        self.pump(now);
    }

    /// UPDDONE "signals that all of the BNDUPD messages have been sent and a corresponding
    /// BNDREPLY message has been received for each of them" (§5.3.5).
    fn maybe_send_upddone(&mut self, now: Time) {
        // Also nothing else owed may be left unsent or unanswered: a change made meanwhile (a
        // lease the ack just freed, reading R16) goes before the UPDDONE. What waits for the
        // next periodic scan after a rejection does not hold it up (reading R21: a rejection
        // is an answer).
        let done = self
            .upd_response
            .as_ref()
            .is_some_and(|r| r.to_send.is_empty() && r.awaiting.is_empty())
            && self.in_flight.is_empty()
            && self
                .db
                .pending()
                .iter()
                .all(|k| self.retry_at.contains_key(k));
        if done {
            if let Some(r) = self.upd_response.take() {
                self.send_reply(now, r.xid, Body::UpdDone);
            }
        }
    }

    /// Received UPDDONE.
    pub(crate) fn on_upddone(&mut self, now: Time, xid: Xid) {
        match self.upd_request {
            Some(x) if x == xid => {
                self.upd_request = None;
                self.timers.stop(Timer::RecoverProgress);
                let recovering = self.state == ServerState::Recover;
                self.run_state_machine(now, Trigger::UpdDone);
                if recovering && self.after_storage_loss {
                    // RFC 8156 §8.5.2 / reading R23: the UPDREQALL is answered, the database is
                    // whole again; the mark goes (after RECOVER-WAIT was set from it, R22).
                    self.after_storage_loss = false;
                    self.persist_endpoint(now);
                }
            }
            _ => self.log(&format!("ignored UPDDONE xid={xid}: no UPDREQ outstanding")),
        }
    }

    /// Reading R5 / §8.5.2: we have "no record of ever having talked to [our] partner even
    /// though [the] partner does have a record of communicating with [us]".
    pub(crate) fn storage_lost(&self) -> bool {
        self.no_stable_record && self.partner.knew_us == Some(true)
    }

    /// Send UPDREQ, or UPDREQALL when storage was empty: "If the server has determined that it
    /// has lost its stable storage because it has no record of ever having talked to its partner
    /// even though its partner does have a record of communicating with it, it MUST send an
    /// UPDREQALL message; otherwise, it MUST send an UPDREQ message." (§8.5.2, reading R5)
    pub(crate) fn request_updates(&mut self, now: Time) {
        if !self.comm_ok() || self.upd_request.is_some() {
            return;
        }
        // A server whose stable storage held nothing (fresh, or lost) has no database to
        // bring up to date: it asks for all of it (§8.5 "no information in its stable
        // storage", §5.3.6 "to recover from a total loss of its binding database"; reading R5).
        // Reading R23: also after a restart whose storage still carries the mark of a loss not
        // yet recovered (the database holds what the partner sent before the crash, not all).
        let all = self.state == ServerState::Recover
            && (self.no_stable_record || self.after_storage_loss);
        let body = if all { Body::UpdReqAll } else { Body::UpdReq };
        let xid = self.send_new(now, body);
        self.upd_request = Some(xid);
        if self.state == ServerState::Recover {
            self.timers
                .set(Timer::RecoverProgress, now.plus(self.cfg.recover_timeout));
        }
    }

    /// POOLREQ (§4.2.2): the primary answers POOLRESP and rebalances delegable prefixes.
    pub(crate) fn on_poolreq(&mut self, now: Time, xid: Xid) {
        if self.cfg.role != Role::Primary {
            self.log("ignored POOLREQ: only the primary balances prefixes (§5.3.3)");
            return;
        }
        self.send_reply(now, xid, Body::PoolResp);
        self.rebalance_prefixes(now);
    }

    /// §4.2.2: "The primary server SHOULD, whenever it receives the POOLREQ message, scan its
    /// database of delegable prefixes and determine if the secondary needs more delegable
    /// prefixes". The secondary's target is `secondary_prefix_percent` of the available ones
    /// (rounded down); any excess is taken back with BNDUPD FREE (reading R9), as the model
    /// does (the first version tolerated one prefix over the target).
    fn rebalance_prefixes(&mut self, now: Time) {
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        let mut taking_back = 0;
        for (k, b) in self.db.iter() {
            if !k.is_prefix() {
                continue;
            }
            match b.status {
                // Decision D24: reserved prefixes stay out of the balancing.
                _ if !crate::reservation::allocatable(b) => {}
                BindingStatus::Free => ours.push(*k),
                BindingStatus::FreeBackup if b.hold_until_ack => taking_back += 1,
                BindingStatus::FreeBackup => theirs.push(*k),
                _ => {}
            }
        }
        let total = ours.len() + theirs.len() + taking_back;
        let target = total * self.cfg.secondary_prefix_percent as usize / 100;
        // Reading R11: a prefix does not move between the pools at the time it last changed
        // (the move would tie with that change at the secondary), nor while an update of it is
        // on its way.
        let movable = |k: &LeaseKey, db: &Db, in_flight: &BTreeSet<LeaseKey>| {
            // (Reading R27: nor while it owes a DNS delete.)
            !in_flight.contains(k)
                && db
                    .get(k)
                    .is_some_and(|b| !now.same_as(last_change(b)) && !crate::dns::owes_remove(b))
        };
        let held_by_secondary = theirs.len();
        ours.retain(|k| movable(k, &self.db, &self.in_flight));
        theirs.retain(|k| movable(k, &self.db, &self.in_flight));
        if held_by_secondary < target {
            // "The delegable prefixes are sent to the secondary ... using the BNDUPD message
            // containing an OPTION_IAPREFIX option with a state of FREE-BACKUP ... Once the
            // message is sent, the primary MUST NOT use these prefixes for allocation".
            // In lease order, the lowest first; taken back the highest first (the model's
            // order: the secondary's share is the same prefixes whatever the history).
            let give = target - held_by_secondary;
            for k in ours.into_iter().take(give) {
                if let Some(mut b) = self.db.get(&k).cloned() {
                    b.status = BindingStatus::FreeBackup;
                    b.start_time_of_state = now;
                    self.store_changed(k, b);
                }
            }
        } else if held_by_secondary > target {
            // "The primary server can attempt to take an available delegable prefix away from
            // the secondary by sending a BNDUPD message with the state FREE." Reading R9: the
            // prefix stays FREE-BACKUP here (the secondary's, not allocatable by us) until the
            // secondary acks the FREE; `hold_until_ack` marks the take-back in progress.
            let take = held_by_secondary - target;
            for k in theirs.into_iter().rev().take(take) {
                if let Some(mut b) = self.db.get(&k).cloned() {
                    b.start_time_of_state = now;
                    b.hold_until_ack = true;
                    self.store_changed(k, b);
                }
            }
        }
    }

    // ---- clients -----------------------------------------------------------------------

    fn on_client(&mut self, now: Time, req: ClientRequest) {
        let resp = responsiveness(self.state, self.cfg.role);
        let (names_me, names_other) = match &req.op {
            ClientOp::Renew { to_me, .. }
            | ClientOp::Release { to_me, .. }
            | ClientOp::Decline { to_me, .. } => (*to_me, !*to_me),
            _ => (false, false),
        };
        let answer = match resp {
            Responsiveness::Unresponsive => false,
            // Reading R10: "answers RENEW, RELEASE and DECLINE that name it as the server; it
            // ignores SOLICIT, REQUEST and REBIND."
            Responsiveness::RenewResponsive => names_me,
            // RFC 3315: a message naming another server's DUID is not for us.
            Responsiveness::Responsive => !names_other,
        };
        if !answer {
            let st = self.state;
            self.log(&format!("ignored client {:?} in {st} ({resp:?})", req.op));
            return;
        }
        let client = req.client;
        let kind = match req.op {
            ClientOp::Solicit(kind) => self.offer(now, &client, kind, false),
            ClientOp::Request(kind) => self.offer(now, &client, kind, true),
            ClientOp::Renew { lease, .. } | ClientOp::Rebind(lease) => {
                self.extend(now, &client, lease)
            }
            ClientOp::Release { lease, .. } => {
                self.end_binding(now, &client, lease, BindingStatus::Released)
            }
            ClientOp::Decline { lease, .. } => {
                self.end_binding(now, &client, lease, BindingStatus::Abandoned)
            }
        };
        if let Some(kind) = kind {
            // §9.5: return the name this server knows for the lease.
            let fqdn = match &kind {
                ReplyKind::Granted { lease, .. } | ReplyKind::Advertise { lease, .. } => {
                    self.client_fqdn(lease)
                }
                _ => None,
            };
            self.out
                .push_back(Output::ClientReply(ClientReply { client, kind, fqdn }));
        }
    }

    /// SOLICIT (commit = false) or REQUEST (commit = true).
    fn offer(
        &mut self,
        now: Time,
        client: &ClientId,
        kind: LeaseKind,
        commit: bool,
    ) -> Option<ReplyKind> {
        if self.state == ServerState::RecoverDone {
            // §8.7.1: "It MUST NOT allocate any additional leases when in RECOVER-DONE state".
            return None;
        }
        // Decision D28: SOLICIT/REQUEST allocate from the pool, never the lease our record
        // binds to this client. A client that still holds its lease renews or rebinds it; one
        // that asks for a new lease no longer holds the old one, so our record is stale: the
        // client released or declined it at the partner (perhaps as a duplicate address), and
        // re-granting it would hand a declined lease back, or make a grant Figure 4 cannot
        // order against that change if made in the same tick (RFC 8156 §7.5.1 / reading R11).
        // The recorded binding ends by the partner's update or by expiry. (The first version
        // re-granted the recorded lease; the model never does.)
        // Design draft §12: a reserved client gets its reserved lease.
        let Some(key) = self
            .reserved_pick(now, client, kind)
            .or_else(|| self.pick_available(now, kind))
        else {
            return Some(ReplyKind::NoLeaseAvailable(kind));
        };
        if !commit {
            let b = self.db.get(&key)?;
            let lt = self.lifetime_for(now, b);
            return Some(ReplyKind::Advertise {
                lease: key,
                valid_lifetime: lt,
            });
        }
        let reply = self.grant(now, client, key);
        // §9.3: the server granting a new binding adds its DNS records (every REQUEST grant is
        // a new binding, decision D28).
        self.dns_new_binding(now, key);
        Some(reply)
    }

    /// The allocation pool of the current state (§4.2, §8.4.1, §8.9.1, §8.11.1).
    fn pick_available(&self, now: Time, kind: LeaseKind) -> Option<LeaseKey> {
        let me = self.cfg.role;
        let own = db::available_status(me);
        let in_pd = self.state == ServerState::PartnerDown;
        let own_pool = |k: &LeaseKey, b: &Binding| -> bool {
            match k {
                // §4.2.1.1: own half only, in every state (§4.2.1: in PARTNER-DOWN "It MUST NOT
                // use its partner's pool to allocate new leases").
                LeaseKey::Addr(_) => {
                    b.status == own
                        && db::address_owner(k) == me
                        && crate::reservation::allocatable(b)
                        && !crate::dns::owes_remove(b)
                }
                // §4.2.2: "A server delegates prefixes only from its own pool"; reading R9: a
                // held take-back is not ours yet.
                LeaseKey::Prefix(..) => {
                    b.status == own
                        && !b.hold_until_ack
                        && crate::reservation::allocatable(b)
                        && !crate::dns::owes_remove(b)
                }
            }
        };
        // (RFC 8156 §9.4, reading R27: a lease owing a DNS delete is not allocated.)
        // Reading R16 (replaces decision D5's shortcut): an EXPIRED/RELEASED/RESET lease is
        // not available; its owner announces FREE/FREE-BACKUP once the ack frees it.
        let own_candidates = self.db.available(own, kind).filter(|(k, b)| own_pool(k, b));
        let found = first_settled(now, own_candidates);
        if found.is_some() || !in_pd || kind != LeaseKind::Prefix {
            return found;
        }
        // §8.4.1: "after a fixed period of time (the MCLT interval) has elapsed from entry into
        // PARTNER-DOWN state, it may allocate delegable prefixes from the set of all available
        // pools. The server MUST fully deplete its own pool before starting allocations from its
        // downed partner's pool." A restart re-enters PARTNER-DOWN: the MCLT counts from the
        // entry of this run (decision D7, last sentence; the model's rule).
        let pd_entry = self.pd_entered?;
        if now < pd_entry.plus(self.mclt) {
            return None;
        }
        let theirs = db::available_status(me.partner());
        // (A take-back in progress is still FREE-BACKUP, so it is among these.)
        first_settled(
            now,
            self.db
                .available(theirs, LeaseKind::Prefix)
                .filter(|(_, b)| crate::reservation::allocatable(b) && !crate::dns::owes_remove(b)),
        )
    }

    /// The MCLT-limited lifetime for this lease now (§4.4 via [`db::max_lifetime`]).
    fn lifetime_for(&self, now: Time, b: &Binding) -> u64 {
        db::max_lifetime(
            now,
            b.acked_partner_lifetime,
            self.cfg.desired_lifetime,
            self.mclt,
            self.state == ServerState::PartnerDown,
        )
    }

    /// Figure 2 (1)/(2) or a renewal: make `key` ACTIVE for `client`.
    fn grant(&mut self, now: Time, client: &ClientId, key: LeaseKey) -> ReplyKind {
        let mut b = self
            .db
            .get(&key)
            .cloned()
            .unwrap_or_else(|| Binding::available(db::pending_free_destination(&key)));
        let lifetime = self.lifetime_for(now, &b);
        let expires = now.plus(lifetime);
        let same_client = b.client.as_ref() == Some(client);
        if b.status != BindingStatus::Active || !same_client {
            b.start_time_of_state = now;
        }
        if !same_client {
            b.client_expiry = None;
        }
        b.status = BindingStatus::Active;
        b.client = Some(client.clone());
        b.clt = Some(now);
        b.valid_lifetime = lifetime;
        b.state_expiration_time = Some(expires);
        b.client_expiry = db::max_opt(b.client_expiry, Some(expires));
        // §4.4.1: partner lifetime = T1 fraction of the actual lifetime + desired lifetime.
        b.partner_lifetime = Some(db::partner_lifetime_for(
            now,
            lifetime,
            self.cfg.desired_lifetime,
        ));
        b.hold_until_ack = false;
        // Lazy update (§4.3): the reply is queued first, the BNDUPD goes out after it (pump).
        self.store_changed(key, b);
        ReplyKind::Granted {
            lease: key,
            valid_lifetime: lifetime,
            expires,
        }
    }

    /// RENEW / REBIND: extend the client's current lease.
    fn extend(&mut self, now: Time, client: &ClientId, key: LeaseKey) -> Option<ReplyKind> {
        let known = self
            .db
            .get(&key)
            .is_some_and(|b| b.is_active_at(now) && b.client.as_ref() == Some(client));
        if !known {
            if self.state == ServerState::RecoverDone {
                // §8.7.1: "should only respond to RENEW requests where it already has a record
                // of the lease".
                return None;
            }
            // §8.9.1, §8.11.1: "each server will allow continued renewal of a DHCP client's
            // current lease, regardless of whether that lease was given out by the receiving
            // server or not" -- also one this server never heard of (the partner's BNDUPD was
            // lost with the connection), unless its database binds the lease to another
            // client. (The model's variant `renew-own-leases-only` shows a client losing its
            // lease when its server fails if only known leases are renewed.)
            let bound_to_other = self.db.get(&key).is_none_or(|b| {
                matches!(
                    b.status,
                    BindingStatus::Active
                        | BindingStatus::Expired
                        | BindingStatus::Released
                        | BindingStatus::Abandoned
                ) && b.client.as_ref().is_some_and(|c| c != client)
            });
            if bound_to_other {
                return Some(ReplyKind::NoBinding(key));
            }
        }
        let same_binding = self
            .db
            .get(&key)
            .is_some_and(|b| b.client.as_ref() == Some(client));
        let reply = self.grant(now, client, key);
        // RFC 8156 §9.5, reading R28: the name it knows, else the one the client presents.
        self.dns_on_renewal(key, same_binding);
        Some(reply)
    }

    /// RELEASE (Figure 2 (3)) or DECLINE (Figure 2 (9)).
    fn end_binding(
        &mut self,
        now: Time,
        client: &ClientId,
        key: LeaseKey,
        to: BindingStatus,
    ) -> Option<ReplyKind> {
        let Some(mut b) = self
            .db
            .get(&key)
            .filter(|b| b.is_active_at(now) && b.client.as_ref() == Some(client))
            .cloned()
        else {
            if self.state == ServerState::RecoverDone {
                return None;
            }
            return Some(ReplyKind::NoBinding(key));
        };
        b.client_expiry = db::max_opt(b.client_expiry, b.state_expiration_time);
        b.status = to;
        b.start_time_of_state = now;
        b.clt = Some(now);
        b.state_expiration_time = None;
        self.store_changed(key, b);
        Some(if to == BindingStatus::Released {
            ReplyKind::Released(key)
        } else {
            ReplyKind::Declined(key)
        })
    }
}

/// The first candidate whose record did not change at this time (within ±5 s). Reading R11
/// (replaces decision D11's preference, which fell back to a lease just changed): a server
/// does not allocate a lease in the tick it last changed, or the grant carries the same time as
/// the release before it and Figure 4 cannot tell which came first.
fn first_settled<'a>(
    now: Time,
    candidates: impl Iterator<Item = (&'a LeaseKey, &'a Binding)>,
) -> Option<LeaseKey> {
    candidates
        .filter(|(_, b)| !now.same_as(last_change(b)))
        .map(|(k, _)| *k)
        .next()
}

/// The binding-status a BNDUPD of this record announces: its own, except that a take-back in
/// progress (reading R9) is announced as FREE.
fn announced_status(b: &Binding) -> BindingStatus {
    if b.hold_until_ack && b.status == BindingStatus::FreeBackup {
        BindingStatus::Free
    } else {
        b.status
    }
}

/// When a record last changed: its start-time-of-state or its CLT, whichever is later.
fn last_change(b: &Binding) -> Time {
    b.clt
        .map_or(b.start_time_of_state, |c| c.max(b.start_time_of_state))
}

/// RFC 6607 §3.5: VSS type 255 (with no VPN identifier) names the global, default VPN, the only
/// one this server is configured with; any other OPTION_VSS names a VPN it does not know.
fn is_global_vpn(vss: &[u8]) -> bool {
    vss == [255]
}
