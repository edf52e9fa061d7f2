//! The sans-IO [`Endpoint`]: inputs `handle_*`, outputs `poll_*`, the lease-update machinery of
//! RFC 8156 §7 and client service per §8 responsiveness.
//!
//! Every `impl Endpoint` is in this module tree; the data it works on (`crate::db`,
//! `crate::dns`, `crate::message`, ...) imports nothing from here (`tests/modules.rs`). This file
//! holds the struct, its construction (§8.2, §8.3.2 steps 1-4) and the `handle_*`/`poll_*`
//! surface; the rest follows the RFC:
//! * `outputs`: what the driver drains (outputs, events, commands) and transaction-ids (§5.2);
//! * `stable`: stable storage (§8.2) and the persisted lease writes (§7.5.2);
//! * `timers`: timers (§6.5, §8) and what firing them does (expiry, PARTNER-DOWN frees, §8.4.1);
//! * `bndupd`: binding updates (§7), UPDREQ/UPDREQALL/UPDDONE, POOLREQ;
//! * `clients`: client service (§4, §8 responsiveness);
//! * `conn`: connection management, CONNECT/CONNECTREPLY, STATE (§6);
//! * `state`: the endpoint state machine, one function per "Transition out of X" (§8);
//! * `dns`, `reservation`: DNS update behaviour (§9) and reservations (design draft §12);
//! * `observe`: the observation the conformance suite compares.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use failover_proto::{BindingStatus, Role, ServerState};

use crate::config::{Config, ConfigError};
use crate::db::{self, Binding, Db};
use crate::endpoint::conn::{Conn, Phase};
use crate::endpoint::state::startup_step2;
use crate::lease::LeaseKey;
use crate::message::{ClientRequest, Message, ServerFlags, StatusCode, Xid};
use crate::time::Time;

mod bndupd;
mod clients;
pub(crate) mod conn;
pub(crate) mod dns;
pub(crate) mod observe;
mod outputs;
pub(crate) mod reservation;
mod stable;
pub(crate) mod state;
mod timers;

pub(crate) use bndupd::UpdResponse;
pub use outputs::{Command, DisconnectReason, Event, Output};
pub use stable::{EndpointRecord, PersistRecord, StableState};
pub(crate) use timers::{Timer, TimerTable, TIMERS};

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
    /// "Previous failover state" of §8.2's stable storage: the state this endpoint left last.
    /// Not the PREVIOUS-STATE variable of §8.3.2's STARTUP algorithm (`startup_previous`).
    pub(crate) previous_failover_state: Option<ServerState>,
    pub(crate) start_time_of_state: Time,
    /// The PREVIOUS-STATE variable of §8.3.2's STARTUP algorithm (after step 2): the state
    /// STARTUP leaves into. Not §8.2's "previous failover state" (`previous_failover_state`).
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
    /// Entry into PARTNER-DOWN as recorded and sent (OPTION_F_PARTNER_DOWN_TIME; kept across a
    /// restart into the same state, decision D7).
    pub(crate) partner_down_entry: Option<Time>,
    /// When this run entered PARTNER-DOWN (volatile): the MCLT waits of §8.4.1 count from it
    /// (decision D7 keeps `partner_down_entry` for the record and the STATE message only).
    pub(crate) pd_entered_this_run: Option<Time>,
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
            previous_failover_state: None,
            start_time_of_state: now,
            startup_previous: ServerState::Recover,
            recorded: None,
            time_of_failure: None,
            started_at: now,
            no_stable_record: true,
            after_storage_loss: false,
            communicated: false,
            partner_down_entry: None,
            pd_entered_this_run: None,
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
                e.previous_failover_state = rec.previous_state;
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
                e.partner_down_entry = rec.partner_down_entry;
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
        // §8.3.2 Step 4: "If the server is a primary server, attempt to create a TCP connection
        // to the failover partner. If the server is a secondary server, listen on the failover
        // port and wait for the primary server to connect." Sans-IO: the driver does either
        // (§6.1) and reports the connection with `handle_connected`.
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
}

/// When a record last changed: its start-time-of-state or its CLT, whichever is later.
fn last_change(b: &Binding) -> Time {
    b.clt
        .map_or(b.start_time_of_state, |c| c.max(b.start_time_of_state))
}
