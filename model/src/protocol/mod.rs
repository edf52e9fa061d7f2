//! The protocol rules of RFC 8156, as the model reads them: what each server does on each event.
//!
//! Every function here takes the configuration and the state being built by one step, and
//! changes the state in place. Transitions of the endpoint state machine all go through
//! [`set_state`] (which persists the new state and announces it, §8.1), and each "Transition out
//! of X" section of §8 is one `match` in [`on_partner_state`].
//!
//! This is the model's own reading of the RFC; the implementation in `impl/core` is written
//! separately, and the conformance suite compares the two. Readings of ambiguous text are named
//! `R<n>` and listed in `docs/readings.md`.

mod clients;
mod leases;

pub use clients::*;
pub use leases::*;

use failover_proto::{BindingStatus as B, Role, ServerState as S};

use crate::config::{ModelConfig, Tick, Variant};
use crate::state::{
    idx, role, ClientId, DnsOp, Fqdn, Holding, Lease, LeaseId, LeaseKind, Msg, Reject, State,
    Update,
};

// ---------------------------------------------------------------------------------------------
// The endpoint state machine (§8).
// ---------------------------------------------------------------------------------------------

/// Every transition goes through here. RFC 8156 §8.1: the new state MUST be sent to the partner
/// in a STATE message if communications are OK, and MUST be recorded in stable storage with the
/// time of entry (all of [`crate::state::Server`] but the fields marked volatile is the stable
/// record). Then the entry actions of the new state run.
pub fn set_state(cfg: &ModelConfig, st: &mut State, i: usize, to: S) {
    let now = st.now;
    let s = &mut st.servers[i];
    if s.state == to {
        return;
    }
    s.state = to;
    s.since = now;
    let comm_ok = s.comm_ok;
    if to == S::RecoverWait {
        // §8.6.2: timer at TIME-OF-FAILURE + MCLT. When TIME-OF-FAILURE is unknown the timer
        // counts from the time the server started, set when it started (`restart`, and the
        // initial state of a fresh server).
        if let Some(t) = s.last_operating {
            s.recover_wait_until = t + cfg.mclt;
        }
    }
    // §8.8: "When entering NORMAL state, a server will send to the other server all binding
    // updates that have not been acknowledged." Reading R15: they go out *before* the STATE that
    // announces NORMAL, so that a partner waiting for that STATE (RECOVER-DONE, CONFLICT-DONE)
    // has them before it may allocate. The variant `state-before-updates` sends STATE first, and
    // the checker finds a duplicate.
    let updates_first = to == S::Normal && !cfg.is(Variant::StateBeforeUpdates);
    if updates_first {
        flush(cfg, st, i);
    }
    // STATE is sent whenever a connection exists, also before the partner's STATE has arrived:
    // the STATE sent when the connection came up (§6.1) carried the old state.
    send(
        st,
        i,
        Msg::State {
            state: to,
            startup: false,
            since: now,
        },
    );
    match to {
        // Then the secondary asks for its share of the delegable prefixes with POOLREQ (§4.2.2,
        // Figure 8).
        S::Normal => {
            flush(cfg, st, i);
            if role(i) == Role::Secondary && comm_ok && cfg.prefixes > 0 {
                send(st, i, Msg::PoolReq);
            }
        }
        // §8.10: "When a primary server enters POTENTIAL-CONFLICT state, it should request that
        // the secondary send it all updates that the primary server has not yet acknowledged by
        // sending an UPDREQ message". The secondary waits for it.
        S::PotentialConflict => {
            if role(i) == Role::Primary && comm_ok {
                send(st, i, Msg::UpdReq { all: false });
                st.servers[i].awaiting_upddone = true;
            }
            // Reading R14 (A11): a secondary that enters POTENTIAL-CONFLICT when the primary is
            // already in CONFLICT-DONE (it went there before a communications flap) has seen the
            // primary's PC -> CD transition already; it sends its UPDREQ now, or nobody would.
            let partner = st.servers[i].partner.map(|(p, _)| p);
            if role(i) == Role::Secondary && comm_ok && partner == Some(S::ConflictDone) {
                transition_out_of_potential_conflict(cfg, st, i, Role::Secondary, S::ConflictDone);
            }
        }
        _ => {}
    }
}

/// Communications became not OK (connection lost, partner crashed, partition). RFC 8156 §8.1:
/// the state machine runs on every change of communications status. Reading R8: a lost
/// connection and a DISCONNECT are the same event.
pub fn on_comm_failed(cfg: &ModelConfig, st: &mut State, i: usize) {
    let s = &mut st.servers[i];
    if !s.up {
        return;
    }
    s.comm_ok = false;
    s.awaiting_upddone = false;
    s.owes_upddone = false;
    for lease in s.leases.iter_mut() {
        if lease.inflight {
            // The BNDUPD was lost with the connection: it is owed again.
            lease.inflight = false;
            lease.pending = true;
        }
    }
    match s.state {
        // §8.8.2: "If it is determined that communications are not OK ... the server should
        // transition into COMMUNICATIONS-INTERRUPTED state."
        S::Normal => set_state(cfg, st, i, S::CommunicationsInterrupted),
        // §8.10.2: "If communication with the partner fails while in POTENTIAL-CONFLICT state,
        // then the server will transition to RESOLUTION-INTERRUPTED state."
        S::PotentialConflict => set_state(cfg, st, i, S::ResolutionInterrupted),
        // RECOVER stays and reissues UPDREQ on reconnect (§8.5.2); RECOVER-WAIT keeps its timer
        // (§8.6.2); RECOVER-DONE stays (§8.7.2); CONFLICT-DONE stays (§8.12.2); PARTNER-DOWN,
        // COMMUNICATIONS-INTERRUPTED, RESOLUTION-INTERRUPTED and STARTUP have nothing to do.
        _ => {}
    }
}

/// The partner's state became known or changed while communications are OK: the "Transition out
/// of X" sections of RFC 8156 §8, one `match` each. A STATE carrying the STARTUP flag is
/// recorded but moves no one: the partner will send its real state when it leaves STARTUP
/// (§8.4.2 says so for PARTNER-DOWN; reading R12 extends it to every state).
pub fn on_partner_state(cfg: &ModelConfig, st: &mut State, i: usize) {
    let s = &st.servers[i];
    let Some((partner, _)) = s.partner else {
        return;
    };
    if !s.comm_ok || partner == S::Startup {
        return;
    }
    let me = role(i);
    match s.state {
        S::Startup => {}
        S::PartnerDown => transition_out_of_partner_down(cfg, st, i, partner),
        S::CommunicationsInterrupted => {
            transition_out_of_communications_interrupted(cfg, st, i, partner)
        }
        S::Normal => transition_out_of_normal(cfg, st, i, partner),
        S::Recover => transition_out_of_recover(cfg, st, i, partner),
        // §8.6.2: RECOVER-WAIT leaves only on its timer.
        S::RecoverWait => {}
        S::RecoverDone => transition_out_of_recover_done(cfg, st, i, partner),
        S::PotentialConflict => transition_out_of_potential_conflict(cfg, st, i, me, partner),
        // §8.11.2: "If communications with the other server are restored, then the server in
        // RESOLUTION-INTERRUPTED state will transition into POTENTIAL-CONFLICT state."
        S::ResolutionInterrupted => set_state(cfg, st, i, S::PotentialConflict),
        S::ConflictDone => transition_out_of_conflict_done(cfg, st, i, partner),
    }
}

/// RFC 8156 §8.4.2.
fn transition_out_of_partner_down(cfg: &ModelConfig, st: &mut State, i: usize, partner: S) {
    match partner {
        // "If the other server is in NORMAL, COMMUNICATIONS-INTERRUPTED, PARTNER-DOWN,
        // POTENTIAL-CONFLICT, RESOLUTION-INTERRUPTED, or CONFLICT-DONE state, transition to
        // POTENTIAL-CONFLICT."
        S::Normal
        | S::CommunicationsInterrupted
        | S::PartnerDown
        | S::PotentialConflict
        | S::ResolutionInterrupted
        | S::ConflictDone => set_state(cfg, st, i, S::PotentialConflict),
        // "If the other server is in RECOVER or RECOVER-WAIT, stay in PARTNER-DOWN."
        S::Recover | S::RecoverWait => {}
        // "If the other server is in RECOVER-DONE, transition into NORMAL."
        S::RecoverDone => set_state(cfg, st, i, S::Normal),
        S::Startup => {}
    }
}

/// RFC 8156 §8.9.2 (communications restored).
fn transition_out_of_communications_interrupted(
    cfg: &ModelConfig,
    st: &mut State,
    i: usize,
    partner: S,
) {
    match partner {
        // "NORMAL or COMMUNICATIONS-INTERRUPTED: Transition into NORMAL state."
        S::Normal | S::CommunicationsInterrupted => set_state(cfg, st, i, S::Normal),
        // "RECOVER: Stay in COMMUNICATIONS-INTERRUPTED state." RECOVER-WAIT: not in the list;
        // stay (reading R7, Figure 6).
        S::Recover | S::RecoverWait => {}
        // "RECOVER-DONE: Transition into NORMAL state."
        S::RecoverDone => set_state(cfg, st, i, S::Normal),
        // "PARTNER-DOWN, POTENTIAL-CONFLICT, CONFLICT-DONE, or RESOLUTION-INTERRUPTED:
        // Transition into POTENTIAL-CONFLICT state."
        S::PartnerDown | S::PotentialConflict | S::ConflictDone | S::ResolutionInterrupted => {
            set_state(cfg, st, i, S::PotentialConflict)
        }
        S::Startup => {}
    }
}

/// RFC 8156 §8.8.2 (partner state changes while in NORMAL).
fn transition_out_of_normal(cfg: &ModelConfig, st: &mut State, i: usize, partner: S) {
    match partner {
        // Expected: the partner is NORMAL, or about to become NORMAL (it is leaving
        // RECOVER-DONE, CONFLICT-DONE or COMMUNICATIONS-INTERRUPTED, Figures 7-9).
        S::Normal | S::RecoverDone | S::ConflictDone | S::CommunicationsInterrupted => {}
        // "If a server in NORMAL state receives any messages from its partner where the partner
        // has changed state from that expected ..., then the server should transition into
        // COMMUNICATIONS-INTERRUPTED state and take the appropriate state transition from there."
        _ => {
            set_state(cfg, st, i, S::CommunicationsInterrupted);
            transition_out_of_communications_interrupted(cfg, st, i, partner);
        }
    }
}

/// RFC 8156 §8.5.2.
fn transition_out_of_recover(cfg: &ModelConfig, st: &mut State, i: usize, partner: S) {
    match partner {
        // "If the other server is in POTENTIAL-CONFLICT, RESOLUTION-INTERRUPTED, or
        // CONFLICT-DONE state ..., then the server in RECOVER state will move itself to
        // POTENTIAL-CONFLICT state."
        S::PotentialConflict | S::ResolutionInterrupted | S::ConflictDone => {
            set_state(cfg, st, i, S::PotentialConflict)
        }
        // "If the other server is in any other state, then the server in RECOVER state will
        // request an update of missing binding information by sending an UPDREQ message", or
        // UPDREQALL if it has lost its stable storage.
        _ => {
            let s = &mut st.servers[i];
            if !s.awaiting_upddone {
                s.awaiting_upddone = true;
                let all = s.storage_lost;
                send(st, i, Msg::UpdReq { all });
            }
        }
    }
}

/// RFC 8156 §8.7.2.
fn transition_out_of_recover_done(cfg: &ModelConfig, st: &mut State, i: usize, partner: S) {
    match partner {
        // "When a server in RECOVER-DONE state determines that its partner server has entered
        // NORMAL or RECOVER-DONE state, it will transition into NORMAL state."
        S::Normal | S::RecoverDone => set_state(cfg, st, i, S::Normal),
        // "If the partner server enters RECOVER or RECOVER-WAIT state, this server transitions
        // to COMMUNICATIONS-INTERRUPTED."
        S::Recover | S::RecoverWait => set_state(cfg, st, i, S::CommunicationsInterrupted),
        // "If the partner server enters POTENTIAL-CONFLICT state, this server enters
        // POTENTIAL-CONFLICT state as well."
        S::PotentialConflict => set_state(cfg, st, i, S::PotentialConflict),
        // Figure 6: "All others: wait for other state".
        _ => {}
    }
}

/// RFC 8156 §8.10 and §8.10.2 (the UPDDONE transitions are in [`on_upddone`]).
// One `match` per "Transition out of X" section, even with a single arm, so that the code reads
// beside the RFC.
#[allow(clippy::single_match, clippy::collapsible_match)]
fn transition_out_of_potential_conflict(
    cfg: &ModelConfig,
    st: &mut State,
    i: usize,
    me: Role,
    partner: S,
) {
    match (me, partner) {
        // "When a secondary server receives an indication that the primary server has made a
        // transition from POTENTIAL-CONFLICT to CONFLICT-DONE state, it SHOULD send an UPDREQ
        // message to the primary server."
        (Role::Secondary, S::ConflictDone) => {
            if !cfg.is(Variant::NoSecondaryUpdreqInConflict) && !st.servers[i].awaiting_upddone {
                st.servers[i].awaiting_upddone = true;
                send(st, i, Msg::UpdReq { all: false });
            }
        }
        // Otherwise wait for UPDREQ/UPDDONE.
        _ => {}
    }
}

/// RFC 8156 §8.12.2.
fn transition_out_of_conflict_done(cfg: &ModelConfig, st: &mut State, i: usize, partner: S) {
    // "When a primary server determines that the secondary server has made a transition into
    // NORMAL state, the primary server will also transition into NORMAL state."
    if partner == S::Normal {
        set_state(cfg, st, i, S::Normal);
    }
}

/// RFC 8156 §8.3.2 Transition out of STARTUP State, Step 5: communications became OK. Set CURRENT-STATE to PREVIOUS-STATE, except
/// that a partner in PARTNER-DOWN since after our last recorded operation sends us to RECOVER, and
/// one in PARTNER-DOWN since before it sends us to POTENTIAL-CONFLICT; then take the
/// "communications OK" transition for the state we are in.
fn transition_out_of_startup(
    cfg: &ModelConfig,
    st: &mut State,
    i: usize,
    partner: S,
    partner_since: Tick,
) {
    let s = &st.servers[i];
    let mut current = s.prev;
    if partner == S::PartnerDown {
        // Equal times (the crash and the PARTNER-DOWN entry in one tick) count as later: the
        // operator's command can only follow the crash it reacts to (reading R13).
        let last = s.last_operating.unwrap_or(0);
        if partner_since >= last {
            current = S::Recover;
        } else {
            current = S::PotentialConflict;
        }
    }
    set_state(cfg, st, i, current);
    on_partner_state(cfg, st, i);
}

// ---------------------------------------------------------------------------------------------
// Connection and messages.
// ---------------------------------------------------------------------------------------------

/// Queue a message on the connection; without a connection it is lost, as on TCP.
pub fn send(st: &mut State, from: usize, m: Msg) {
    if st.connected {
        st.chan[from].push(m);
    }
}

/// The STATE a server sends when the connection comes up (§6.1: both send STATE after
/// CONNECT/CONNECTREPLY). In STARTUP it carries the previous state and the STARTUP flag (§8.3.1).
fn hello(st: &State, i: usize) -> Msg {
    let s = &st.servers[i];
    if s.state == S::Startup {
        Msg::State {
            state: s.prev,
            startup: true,
            since: s.since,
        }
    } else {
        Msg::State {
            state: s.state,
            startup: false,
            since: s.since,
        }
    }
}

/// The primary's TCP connection, CONNECT and CONNECTREPLY succeed (§6.1, one abstract step; the
/// MCLT is agreed by construction); each side then sends its STATE. This is §8.3.2 Step 4 for a
/// server in STARTUP ("If the server is a primary server, attempt to create a TCP connection
/// to the failover partner. If the server is a secondary server, listen on the failover port").
pub fn connect(st: &mut State) {
    st.connected = true;
    for i in 0..2 {
        let m = hello(st, i);
        send(st, i, m);
    }
}

/// The connection is lost (partition, or a crash): everything in flight is lost.
pub fn drop_connection(cfg: &ModelConfig, st: &mut State) {
    st.connected = false;
    st.chan = [Vec::new(), Vec::new()];
    for i in 0..2 {
        on_comm_failed(cfg, st, i);
    }
}

/// Deliver the oldest message sent to server `to`.
pub fn deliver(cfg: &ModelConfig, st: &mut State, to: usize) {
    let from = 1 - to;
    if st.chan[from].is_empty() {
        return;
    }
    let m = st.chan[from].remove(0);
    match m {
        Msg::State {
            state,
            startup,
            since,
        } => on_state(cfg, st, to, state, startup, since),
        Msg::BndUpd(u) => on_bndupd(cfg, st, to, u),
        Msg::BndReply {
            lease,
            status,
            pl,
            reject,
        } => on_bndreply(cfg, st, to, lease, status, pl, reject),
        Msg::PoolReq => on_poolreq(cfg, st, to),
        Msg::PoolResp => {}
        Msg::UpdReq { all } => on_updreq(cfg, st, to, all),
        Msg::UpdDone => on_upddone(cfg, st, to),
    }
}

/// STATE received (§6.4). The first one on a connection makes communications OK (§6.1).
fn on_state(cfg: &ModelConfig, st: &mut State, i: usize, state: S, startup: bool, since: Tick) {
    let s = &mut st.servers[i];
    let first = !s.comm_ok;
    let reported = if startup { S::Startup } else { state };
    let changed = s.partner.map(|(p, _)| p) != Some(reported);
    s.comm_ok = true;
    s.partner = Some((reported, since));
    if s.state == S::Startup {
        // §8.3.2 step 5, using the state the partner reported (its previous state while it is
        // itself in STARTUP).
        transition_out_of_startup(cfg, st, i, state, since);
    } else if first || changed {
        on_partner_state(cfg, st, i);
    }
}

/// The time of an update for Figure 4 (§7.5.4): for ACTIVE, EXPIRED and RELEASED the
/// client-last-transaction-time if present, else start-time-of-state; for other statuses the
/// later of the two.
fn update_time(u: &Update) -> Tick {
    match u.status {
        B::Active | B::Expired | B::Released => {
            if u.clt_time > 0 {
                u.clt_time
            } else {
                u.since
            }
        }
        _ => u.clt_time.max(u.since),
    }
}

/// The time Figure 4 compares an update against. §7.5.4 says: the client-last-transaction-time
/// if present, else the start-time-of-state. Reading R17: for statuses other than ACTIVE,
/// EXPIRED and RELEASED it is the later of the two, as it is for the update's own time; taken
/// literally, a free lease keeps the CLT of its last client, and a stale FREE from the partner
/// overrides a newer FREE-BACKUP (the variant `local-time-clt-first` shows the databases
/// disagreeing about who owns a prefix).
fn local_time(cfg: &ModelConfig, local: &Lease) -> Tick {
    match local.status {
        B::Active | B::Expired | B::Released => local.db_time(),
        _ if cfg.is(Variant::LocalTimeCltFirst) => local.db_time(),
        _ => local.clt.max(local.since),
    }
}

/// Figure 4 (§7.5.4) as the project reads it: accept or reject an update from the partner.
/// `None` accepts. Not the literal table: readings R11, R18, R20 and R31 amend it (the literal
/// rule, with decision D1, is `failover_core::db::figure4_literal`; the implementation's reading
/// is `failover_core::db::decide`).
pub fn figure4_as_read(cfg: &ModelConfig, st: &State, i: usize, u: &Update) -> Option<Reject> {
    if cfg.is(Variant::AcceptAllBndupd) {
        return None;
    }
    let local = &st.servers[i].leases[u.lease as usize];
    // An update that says what we hold already (a retransmission after a reconnect or an
    // UPDREQ, or the partner reaching the same conclusion, such as both servers expiring the
    // lease on their own clocks) is accepted: there is no newer information to prefer. Reading
    // R11; without it both servers reject each other's EXPIRED forever (the CLT they compare is
    // the same), which is what the variant `strict-ties` shows.
    if agrees(cfg, local, u) {
        return None;
    }
    // "accept": the update's time is later than the local time. Two times in one tick are
    // "equal" (§7.1, the 5 s window). Reading R11: a tie goes to the update whose status comes
    // later in the lease life cycle of Figure 2 (a FREE that follows an acked RELEASED, a
    // RELEASED that follows the grant), since it can only have been made after the other. The
    // variant `strict-ties` rejects every tie, as the text says (ambiguity A12).
    // Two ACTIVE records of one client in one tick are two grants or renewals: keeping the
    // later expiry is the safe side (the lease is held at least as long as the client has it).
    let same_client_active = u.status == B::Active
        && local.status == B::Active
        && u.client == local.client
        && u.expiry >= local.expiry;
    // The life-cycle order holds only within one turn of the lease: the update must be about
    // the binding we hold (same client; a free status carries the CLT of the binding it ends).
    // Across turns, a record that binds a client beats a free one: in one tick, a grant can
    // only have been made on a copy that had not seen the free (the primary taking a
    // FREE-BACKUP prefix back while the secondary, cut off, delegates it), and the binding is
    // what must not be lost. Without this the two servers reject each other's update for ever.
    let same_turn = match (u.client, local.client) {
        (Some(a), Some(b)) => a == b,
        _ => u.clt_time > 0 && u.clt_time == local.clt,
    };
    let binding_beats_free = !same_turn && u.client.is_some() && local.client.is_none();
    // FREE against FREE-BACKUP at one time: the two servers disagree about which pool the
    // prefix is in, and each may allocate it. FREE-BACKUP wins: the primary yields at once
    // (it may allocate a prefix only once the secondary knows it is FREE, §4.2.2 and reading
    // R9), and can take the prefix back later with a newer FREE when it rebalances. Reading
    // R20; without it a primary that lost its storage (every prefix FREE since t0) and a
    // secondary holding a prefix FREE-BACKUP since t0 reject each other's update for ever
    // (variant `free-tie-unbroken`).
    let backup_wins = !cfg.is(Variant::FreeTieUnbroken)
        && role(i) == Role::Primary
        && u.status == B::FreeBackup
        && local.status == B::Free;
    // Reservations (reading R31): at the secondary, the primary's update of a free lease that
    // changes the reservation (flags it reserved FREE-BACKUP, or says FREE "no longer
    // reserved") wins against a free record (FREE or FREE-BACKUP), whatever the times. The
    // reservation is the primary's to set (design draft §12), and the primary answers the
    // secondary's FREE of a lease it reserves with the announcement (reading R32), which is
    // older than that FREE when the secondary's operator cancelled the reservation there only.
    // The variant `reservation-change-by-time` leaves it to Figure 4's times: the secondary
    // rejects the announcement, owes its FREE again, the primary answers it again, for ever.
    let free = |b: B| matches!(b, B::Free | B::FreeBackup);
    let reservation_wins = !cfg.is(Variant::ReservationChangeByTime)
        && role(i) == Role::Secondary
        && u.flagged
        && free(u.status)
        && free(local.status)
        && (u.reserved != local.reserved || u.status != local.status);
    let tie_wins = !cfg.is(Variant::StrictTies)
        && ((same_turn && life_cycle_rank(u.status) > life_cycle_rank(local.status))
            || binding_beats_free
            || same_client_active
            || backup_wins);
    let later = |upd: Tick, loc: Tick| -> bool { upd > loc || (upd == loc && tie_wins) };
    let accept = || {
        if reservation_wins || later(update_time(u), local_time(cfg, local)) {
            None
        } else {
            Some(Reject::Outdated)
        }
    };
    // time(1): the local client's lease has run out. Reading R18: and the update is not older
    // than our record; otherwise a stale EXPIRED from an earlier turn of the lease overwrites a
    // newer grant whose expiry has just passed, and the lease stays EXPIRED with no update owed
    // by either side (the checker found this with two crashes and a re-grant).
    let time1 = || {
        if st.now >= local.expiry && update_time(u) >= local.db_time() {
            None
        } else {
            Some(Reject::Outdated)
        }
    };
    // time(2): the client talked to the partner after the local start-time-of-state.
    let time2 = || later(u.clt_time, local.since);
    match (local.status, u.status) {
        (B::Active, B::Active) => {
            if local.client == u.client {
                accept()
            } else if time2() || role(i) == Role::Secondary {
                // accept(3): different client: accept if time(2) holds or we are the secondary.
                None
            } else {
                Some(Reject::AddressInUse)
            }
        }
        (B::Active, B::Expired) | (B::Active, B::Free) | (B::Active, B::FreeBackup) => time1(),
        (B::Active, _) => accept(),
        (B::Reset, B::Active) => {
            if time2() {
                None
            } else {
                Some(Reject::Outdated)
            }
        }
        _ => accept(),
    }
}

/// The update says what we hold already and is not older than our record (reading R11).
fn agrees(cfg: &ModelConfig, local: &Lease, u: &Update) -> bool {
    // EXPIRED and RELEASED say the same thing for agreement: the client's binding ended. (A
    // release by the client and the partner's own expiry of the same lease carry the same CLT,
    // so Figure 4 alone rejects both for ever.)
    let ended = |b: B| matches!(b, B::Expired | B::Released);
    let same_status = local.status == u.status || (ended(local.status) && ended(u.status));
    !cfg.is(Variant::StrictTies)
        && same_status
        && local.client == u.client
        && (u.status != B::Active || local.expiry == u.expiry)
        && update_time(u) >= local_time(cfg, local)
}

/// Position of a binding-status in one turn of the lease life cycle (Figure 2): a grant, its
/// end, the operator's reset, and the free status that follows. Used only to order two changes
/// made within one tick (reading R11).
fn life_cycle_rank(b: B) -> u8 {
    match b {
        B::Active => 0,
        B::Expired | B::Released => 1,
        // A DECLINE says more than an expiry: the address is in use elsewhere (Figure 2 (9)).
        B::Abandoned => 2,
        B::Reset => 3,
        B::PendingFree | B::Free | B::FreeBackup => 4,
    }
}

/// Whether the record of a lease already changed in this tick. A server does not allocate a
/// lease, or move it between the pools, in the tick it last changed: the new grant would carry
/// the same time as the change before it, and Figure 4 could not tell which came first (§7.1:
/// times within 5 s are equal) -- a grant comes *before* a release in the life cycle. Other
/// changes in one tick (release, decline, reset, renewal, the free that follows an ack) are
/// ordered by reading R11. The variant `same-tick-changes` drops the limit.
pub fn changed_this_tick(cfg: &ModelConfig, lease: &Lease, now: Tick) -> bool {
    !cfg.is(Variant::SameTickChanges) && (lease.since == now || lease.clt == now)
}

/// BNDUPD received (§7.5): apply Figure 4, store what is accepted (§7.5.5), reply (§7.6). The
/// reply is sent after the update is in stable storage (§7.5.2); in the model the database is
/// the stable storage, so the order holds by construction.
fn on_bndupd(cfg: &ModelConfig, st: &mut State, i: usize, u: Update) {
    let echoed = u.status;
    let mut u = u;
    let primary = role(i) == Role::Primary;
    let local = &st.servers[i].leases[u.lease as usize];
    let reserves = primary && local.reserved.is_some();
    if (reserves || primary && local.cancelling) && u.status == B::FreeBackup {
        // Design draft §12: the primary shows a lease it reserves FREE; the secondary's
        // FREE-BACKUP of it says the same thing (it holds the lease FREE-BACKUP only because
        // the primary flagged it reserved). While a cancellation is being told (reading R29),
        // the secondary's FREE-BACKUP is the old announcement coming back, not a pool change.
        u.status = B::Free;
    }
    let reject = figure4_as_read(cfg, st, i, &u);
    let agreeing = agrees(cfg, &st.servers[i].leases[u.lease as usize], &u);
    let lease = &mut st.servers[i].leases[u.lease as usize];
    match reject {
        None if agreeing => {
            // Nothing new but the max-monotone times (R4), and the DNS status of the binding.
            lease.clt = lease.clt.max(u.clt_time);
            lease.exp_time = lease.exp_time.max(u.pl);
            if cfg.dns {
                merge_dns(cfg, lease, &u);
            }
            if !primary && u.flagged {
                lease.reserved = u.reserved;
            }
        }
        None => {
            if cfg.dns {
                merge_dns(cfg, lease, &u);
            }
            lease.status = u.status;
            lease.client = u.client;
            lease.expiry = u.expiry;
            lease.since = u.since;
            // §7.5.5: client-last-transaction-time is raised to the partner's if later.
            lease.clt = lease.clt.max(u.clt_time);
            // Figure 5: the partner-lifetime received becomes our expiration-time (R4: max).
            lease.exp_time = lease.exp_time.max(u.pl);
            // The partner's information replaces ours: nothing of ours is owed any more.
            lease.pending = false;
            lease.reclaim = false;
            if !primary && u.flagged {
                // The reserved flag is the primary's to set (design draft §12).
                lease.reserved = u.reserved;
            }
        }
        Some(_) => {
            // §7.5.4: after rejecting, set the update-pending flag so that the partner learns
            // the newer information we hold. "If the flag was clear before, an update MAY go out
            // straight after the BNDREPLY; if it was already set, wait for the next periodic
            // scan" (the next tick), which damps update storms.
            if !cfg.is(Variant::NoUpdatePendingOnReject) {
                if lease.pending || lease.inflight {
                    lease.hold = true;
                }
                lease.pending = true;
            }
        }
    }
    if reserves && echoed == B::Free && reject.is_none() {
        // Reading R32: the reservation is the primary's to set. A FREE from the secondary of a
        // lease the primary reserves (the secondary freed it, or its operator cancelled the
        // reservation there only) is answered with the reserved FREE-BACKUP announcement.
        let lease = &mut st.servers[i].leases[u.lease as usize];
        if lease.status == B::Free {
            changed(lease);
        }
    }
    send(
        st,
        i,
        Msg::BndReply {
            lease: u.lease,
            status: echoed,
            pl: u.pl,
            reject,
        },
    );
}

/// DNS information of an accepted BNDUPD (§9.2: "compare the status information and the FQDN
/// with the current DNS update information it has associated with the lease binding and update
/// its notion of the DNS update status accordingly"). Reading R24: about the binding we hold
/// (same client, same name or a name only one side knows), the name is kept or learnt and the
/// DNS status only grows (records added stay added); about another binding, or a free status,
/// the update's name and status replace ours, and an add we still owed for our binding is
/// dropped -- the partner made the lease PENDING-FREE and deletes (§9.4), or the binding is not
/// ours. The receiver never adds (§9.3) nor deletes (§9.4) itself.
fn merge_dns(cfg: &ModelConfig, lease: &mut Lease, u: &Update) {
    let names_agree = lease.fqdn.is_none() || u.fqdn.is_none() || lease.fqdn == u.fqdn;
    let same = u.client.is_some() && u.client == lease.client && names_agree;
    if same {
        lease.fqdn = lease.fqdn.or(u.fqdn);
        lease.dns_added |= u.dns_added;
    } else {
        lease.fqdn = u.fqdn;
        lease.dns_added = u.dns_added;
        lease.dns_ops.retain(|op| matches!(op, DnsOp::Remove(_)));
        if cfg.is(Variant::PartnerAddsOnBndupd) && u.status == B::Active {
            if let Some(n) = u.fqdn {
                lease.dns_ops.push(DnsOp::Add(n));
            }
        }
    }
}

/// BNDREPLY received (§7.7).
#[allow(clippy::too_many_arguments)]
fn on_bndreply(
    cfg: &ModelConfig,
    st: &mut State,
    i: usize,
    l: LeaseId,
    status: B,
    pl: Tick,
    reject: Option<Reject>,
) {
    let lease = &mut st.servers[i].leases[l as usize];
    lease.inflight = false;
    if reject.is_some() {
        // §7.7: "Receipt of a rejection requires no processing, other than remembering that
        // it has been encountered." The partner has not taken our information, so the
        // update-pending flag stays set -- only an acceptance says that "no more information
        // needs to be sent" (§7.7 2b) -- and the update goes again at the next periodic scan,
        // not at once (§7.5.4). Reading R21: with the flag cleared when the update is *sent*,
        // two servers that reject each other's update both see the flag clear and resend at
        // once, the storm §7.5.4 means to prevent, and the model's graph has a cycle.
        // Only if the record is still the one rejected: a change since is owed anyway.
        let sent = sent_status(i, lease);
        if !cfg.is(Variant::ResendRejectedAtOnce) && sent == status {
            lease.pending = true;
            lease.hold = true;
        }
    } else {
        // §7.7 (a): acked-partner-lifetime := OPTION_F_PARTNER_LIFETIME_SENT (R4: max).
        lease.acked_pl = lease.acked_pl.max(pl);
        // Reading R29: the partner has the FREE "no longer reserved": the lease is ordinary.
        if lease.cancelling && status == B::Free && lease.status == B::Free && !lease.pending {
            lease.cancelling = false;
        }
        let ending = matches!(status, B::Expired | B::Released | B::Reset);
        let still = lease.status == status
            || matches!(
                (lease.status, status),
                (B::Expired, B::Released) | (B::Released, B::Expired)
            );
        if ending && still {
            // Figure 2 (4): "The partner acknowledges the state change": PENDING-FREE, then
            // FREE or FREE-BACKUP (5)/(6).
            pass_pending_free(cfg, st, i, l);
        } else if lease.reclaim && status == B::Free {
            // §4.2.2: the secondary gave the prefix back (reading R9).
            lease.reclaim = false;
            lease.status = B::Free;
            lease.since = st.now;
        }
    }
    // A rejected update is only remembered (§7.7); the partner sends its newer information.
}

/// POOLREQ received by the primary (§4.2.2, §5.3.3): answer POOLRESP, then rebalance the free
/// delegable prefixes so that the secondary holds half of them (rounded down), giving with
/// BNDUPD FREE-BACKUP or taking back with BNDUPD FREE (transition (7)).
fn on_poolreq(cfg: &ModelConfig, st: &mut State, i: usize) {
    if role(i) != Role::Primary {
        return;
    }
    send(st, i, Msg::PoolResp);
    let now = st.now;
    let s = &mut st.servers[i];
    // Design draft §12: a prefix the primary reserves (or is un-reserving, reading R29) is in no
    // pool; its status is the reservation's (FREE here, FREE-BACKUP flagged at the secondary).
    let prefixes: Vec<usize> = (cfg.addresses as usize..cfg.leases())
        .filter(|&l| s.leases[l].reserved.is_none() && !s.leases[l].cancelling)
        .collect();
    let is_free = |lease: &Lease| matches!(lease.status, B::Free | B::FreeBackup);
    let total = prefixes.iter().filter(|&&l| is_free(&s.leases[l])).count();
    let target = total / 2;
    let mut backup = prefixes
        .iter()
        .filter(|&&l| s.leases[l].status == B::FreeBackup && !s.leases[l].reclaim)
        .count();
    for &l in &prefixes {
        let lease = &mut s.leases[l];
        if backup < target
            && lease.status == B::Free
            && !lease.inflight
            && !changed_this_tick(cfg, lease, now)
        {
            // "From the moment it sends that, the primary MUST NOT allocate the prefix."
            lease.status = B::FreeBackup;
            lease.since = now;
            changed(lease);
            backup += 1;
        }
    }
    for &l in prefixes.iter().rev() {
        let lease = &mut s.leases[l];
        if backup > target
            && lease.status == B::FreeBackup
            && !lease.reclaim
            && !lease.inflight
            && !changed_this_tick(cfg, lease, now)
        {
            lease.reclaim = true;
            lease.since = now;
            changed(lease);
            backup -= 1;
        }
    }
}

/// UPDREQ / UPDREQALL received (§5.3.5, §5.3.6): send every update the partner has not
/// confirmed (or the whole database), then UPDDONE once all of them are acked (§5.3.7).
fn on_updreq(cfg: &ModelConfig, st: &mut State, i: usize, all: bool) {
    let s = &mut st.servers[i];
    for lease in s.leases.iter_mut() {
        if all {
            lease.pending = true;
        }
        // Reading R21: the partner asks for everything it has not seen, so an update held for
        // the next periodic scan after a rejection is part of the answer. (Leaving it out,
        // as this model first did, let a POTENTIAL-CONFLICT end before the winning binding
        // reached the partner: failover-core's scenario test of a duplicate resolved there.)
        lease.hold = false;
    }
    s.owes_upddone = true;
    flush(cfg, st, i);
}

/// UPDDONE received: RFC 8156 §8.5.2 (RECOVER to RECOVER-WAIT) and §8.10.2 (POTENTIAL-CONFLICT:
/// "The primary MUST transition to CONFLICT-DONE state, and the secondary MUST transition to
/// NORMAL state").
fn on_upddone(cfg: &ModelConfig, st: &mut State, i: usize) {
    let s = &mut st.servers[i];
    if !s.awaiting_upddone {
        return;
    }
    s.awaiting_upddone = false;
    if s.state == S::Recover {
        // The UPDREQALL is answered: the database is whole again (reading R23).
        s.storage_lost = false;
    }
    match (s.state, role(i)) {
        (S::Recover, _) => {
            if cfg.is(Variant::SkipRecoverWait) {
                set_state(cfg, st, i, S::RecoverDone);
            } else {
                set_state(cfg, st, i, S::RecoverWait);
            }
        }
        (S::PotentialConflict, Role::Primary) => set_state(cfg, st, i, S::ConflictDone),
        (S::PotentialConflict, Role::Secondary) => set_state(cfg, st, i, S::Normal),
        _ => {}
    }
}

/// The binding-status a BNDUPD about this lease carries: FREE for a prefix being reclaimed
/// (reading R9), FREE-BACKUP for a lease the primary shows FREE and reserves (design draft §12:
/// the primary "MUST send it to the secondary server in a BNDUPD with a flag set showing that
/// it is reserved and with a status of BACKUP"), else the recorded status.
fn sent_status(i: usize, lease: &Lease) -> B {
    if lease.reclaim {
        B::Free
    } else if role(i) == Role::Primary && lease.reserved.is_some() && lease.status == B::Free {
        B::FreeBackup
    } else {
        lease.status
    }
}

/// Send the BNDUPDs owed, when the state allows it: in NORMAL (§8.8.1) and CONFLICT-DONE, and in
/// any state while answering an UPDREQ/UPDREQALL. Then send UPDDONE if it is owed and everything
/// it covers is acked. One BNDUPD per lease is outstanding at a time.
pub fn flush(cfg: &ModelConfig, st: &mut State, i: usize) {
    let s = &st.servers[i];
    if !s.up || !s.comm_ok || !st.connected {
        return;
    }
    if !(matches!(s.state, S::Normal | S::ConflictDone) || s.owes_upddone) {
        return;
    }
    let mut out = Vec::new();
    let s = &mut st.servers[i];
    for (l, lease) in s.leases.iter_mut().enumerate() {
        if lease.pending && !lease.inflight && !lease.hold && !dns_remove_owed(cfg, lease) {
            lease.pending = false;
            lease.inflight = true;
            let active = lease.status == B::Active;
            let status = sent_status(i, lease);
            out.push(Msg::BndUpd(Update {
                lease: l as LeaseId,
                status,
                client: lease.client,
                expiry: if active { lease.expiry } else { 0 },
                since: lease.since,
                clt_time: lease.clt,
                pl: if active { lease.pl_sent } else { 0 },
                fqdn: if cfg.is(Variant::NameNotExchanged) {
                    None
                } else {
                    lease.fqdn
                },
                dns_added: lease.dns_added,
                flagged: cfg.reserved_for(l as LeaseId).is_some(),
                reserved: lease.reserved,
            }));
        }
    }
    // §5.3.5: UPDDONE "signals that all of the BNDUPD messages have been sent and a
    // corresponding BNDREPLY message has been received for each of them" -- a rejection is a
    // BNDREPLY too. An update rejected while this answer is under way waits for the next
    // periodic scan (held) and is not part of it (what was held before the UPDREQ is: see
    // `on_updreq`).
    let done = s.owes_upddone
        && s.leases
            .iter()
            .all(|x| !x.inflight && (!x.pending || x.hold));
    if done {
        s.owes_upddone = false;
    }
    for m in out {
        send(st, i, m);
    }
    if done {
        send(st, i, Msg::UpdDone);
    }
}

// ---------------------------------------------------------------------------------------------
// Crashes.
// ---------------------------------------------------------------------------------------------

/// A server crashes. Its stable storage keeps the lease database and the failover state (§8.2);
/// what is volatile (communications status, outstanding requests) is lost, and so is the
/// connection.
pub fn crash(cfg: &ModelConfig, st: &mut State, i: usize, lose_storage: bool) {
    let now = st.now;
    st.servers[i].up = false;
    drop_connection(cfg, st);
    let s = &mut st.servers[i];
    s.comm_ok = false;
    s.awaiting_upddone = false;
    s.owes_upddone = false;
    if lose_storage {
        // The database and the failover state are gone with the storage.
        for l in 0..s.leases.len() {
            s.leases[l] = Lease::free(initial_status(cfg, l as LeaseId, role(i)));
        }
        s.partner = None;
    }
    if cfg.is(Variant::CancelMarkVolatile) {
        for lease in s.leases.iter_mut() {
            lease.cancelling = false;
        }
    }
    if cfg.is(Variant::DnsRemoveNotStored) {
        for lease in s.leases.iter_mut() {
            lease.dns_ops.retain(|op| matches!(op, DnsOp::Add(_)));
        }
    }
    // Reading R23: a server that lost its storage knows it (an empty database with no record
    // of its partner) until its UPDREQALL has been answered, across further crashes; otherwise
    // a crash before the answer makes it ask only UPDREQ, and it never learns what its
    // partner granted.
    s.storage_lost = if cfg.is(Variant::StorageLossForgottenOnCrash) {
        lose_storage
    } else {
        s.storage_lost || lose_storage
    };
    // The last time it is known to have operated: TIME-OF-FAILURE of §8.3.2 step 1; unknown
    // while the storage is lost.
    s.last_operating = if s.storage_lost { None } else { Some(now) };
}

/// A crashed server restarts into STARTUP (§8.3.2). With its stable storage, PREVIOUS-STATE is
/// the recorded state adjusted by step 2 (a "communications OK" state becomes the state its
/// "communications failed" transition leads to). Without it, the database is empty, and the
/// server starts as RECOVER with TIME-OF-FAILURE unknown (step 1; reading R5).
pub fn restart(cfg: &ModelConfig, st: &mut State, i: usize) {
    let now = st.now;
    let s = &mut st.servers[i];
    s.up = true;
    if s.storage_lost {
        s.prev = S::Recover;
        // §8.6.2: TIME-OF-FAILURE is unknown, so RECOVER-WAIT counts from now, the time the
        // server started. Reading R22 (A14): not for the MCLT but for the longest valid lifetime
        // the server may have granted, if longer: the lost grants may have been made in
        // PARTNER-DOWN, where lifetimes are not bounded by the MCLT (§8.4.1), and the partner
        // may never have heard of them. The variant `recover-wait-mclt-after-storage-loss` waits
        // the MCLT, and the checker finds a duplicate.
        s.recover_wait_until = if cfg.is(Variant::RecoverWaitMcltAfterStorageLoss) {
            now + cfg.mclt
        } else {
            now + cfg.mclt.max(cfg.lifetime)
        };
    } else {
        s.prev = match s.state {
            S::Normal => S::CommunicationsInterrupted,
            S::PotentialConflict => S::ResolutionInterrupted,
            S::Startup => s.prev,
            other => other,
        };
    }
    s.state = S::Startup;
    s.since = now;
    // §8.3.2 Step 3 (start the STARTUP state timer) is `startup_may_expire`, which counts from
    // `since`; Step 4 (connect or listen) is the `connect` action once both servers are up.
    for lease in s.leases.iter_mut() {
        if lease.inflight {
            lease.inflight = false;
            lease.pending = true;
        }
    }
}

/// The status a lease has in a new database: addresses by owner (R1), prefixes FREE (all
/// delegable prefixes start with the primary, §4.2.2).
pub fn initial_status(cfg: &ModelConfig, l: LeaseId, _me: Role) -> B {
    match kind(cfg, l) {
        LeaseKind::Address => available_status(address_owner(l)),
        LeaseKind::Prefix => B::Free,
    }
}
