//! Endpoint states and their transitions (RFC 8156 §8). Each "Transition out of X" subsection is
//! one function with one `match`, whose arms quote the RFC; every state change goes through
//! [`Endpoint::set_state`].

use failover_proto::{Role, ServerState};

use crate::endpoint::{Endpoint, Event, Timer, Trigger};
use crate::time::Time;

use ServerState::*;

/// Client-facing behaviour of a state (RFC 8156 §3, §8.1 "Responsiveness").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Responsiveness {
    /// Answers every valid client message.
    Responsive,
    /// Answers only messages naming this server (reading R10: RENEW, RELEASE, DECLINE).
    RenewResponsive,
    /// Answers nothing.
    Unresponsive,
}

/// Responsiveness of `state` for `role`.
pub fn responsiveness(state: ServerState, role: Role) -> Responsiveness {
    use Responsiveness::*;
    match state {
        // §8.3.1 "MUST NOT be responsive", §8.10.1 "MUST NOT process any incoming DHCP
        // requests", §8.5.1, §8.6.1 "MUST NOT be responsive".
        Startup | PotentialConflict | Recover | RecoverWait => Unresponsive,
        // Reading R6 (A9): RECOVER-DONE is renew-responsive (§8.7.1 text over Figure 6).
        RecoverDone => RenewResponsive,
        // §8.8.1 "The primary server is responsive in NORMAL state. The secondary is renew
        // responsive in NORMAL state."
        Normal if role == Role::Primary => Responsive,
        Normal => RenewResponsive,
        // §8.9.1 "MUST respond to all DHCP client requests", §8.4.1 "MUST be responsive",
        // §8.11.1 "MUST respond", §8.12.1 "fully responsive".
        CommunicationsInterrupted | PartnerDown | ResolutionInterrupted | ConflictDone => {
            Responsive
        }
    }
}

/// §8.3.2 Step 2: "if the PREVIOUS-STATE is one where communications were OK, then set the
/// PREVIOUS-STATE to the state that is the result of the communication failed state transition".
pub(crate) fn startup_step2(previous: ServerState) -> ServerState {
    match previous {
        // §8.8.2: NORMAL --comm failed--> COMMUNICATIONS-INTERRUPTED
        Normal => CommunicationsInterrupted,
        // §8.10.2: POTENTIAL-CONFLICT --comm failed--> RESOLUTION-INTERRUPTED
        PotentialConflict => ResolutionInterrupted,
        // STARTUP is never recorded; treat a stray record like no record (reading R5).
        Startup => Recover,
        // The others allow both "communications OK" and "failed".
        other => other,
    }
}

impl Endpoint {
    /// The partner's state for transition purposes: `None` when unknown or when its last STATE
    /// carried the STARTUP flag (§8.4.2 for PARTNER-DOWN; decision D2 for the other states).
    pub(crate) fn partner_state(&self) -> Option<ServerState> {
        match self.partner.state {
            Some(s) if !self.partner.flags.startup => Some(s),
            _ => None,
        }
    }

    /// §8.1: "Whenever any of the above state variables change state, the state machine is
    /// invoked".
    pub(crate) fn run_state_machine(&mut self, now: Time, t: Trigger) {
        match self.state {
            Startup => self.transition_out_of_startup(now, t),
            PartnerDown => self.transition_out_of_partner_down(now, t),
            Recover => self.transition_out_of_recover(now, t),
            RecoverWait => self.transition_out_of_recover_wait(now, t),
            RecoverDone => self.transition_out_of_recover_done(now, t),
            Normal => self.transition_out_of_normal(now, t),
            CommunicationsInterrupted => self.transition_out_of_communications_interrupted(now, t),
            PotentialConflict => self.transition_out_of_potential_conflict(now, t),
            ResolutionInterrupted => self.transition_out_of_resolution_interrupted(now, t),
            ConflictDone => self.transition_out_of_conflict_done(now, t),
        }
    }

    fn ignored(&mut self, t: Trigger) {
        if matches!(t, Trigger::PartnerDownCommand) {
            // A10: no external-command transition is defined for this state.
            let s = self.state;
            self.log(&format!(
                "ignored PartnerDown command in {s}: no such transition (§8)"
            ));
        }
    }

    /// RFC 8156 §8.3.2 Transition out of STARTUP State.
    pub(crate) fn transition_out_of_startup(&mut self, now: Time, t: Trigger) {
        match t {
            // "Step 5: Wait for "communications OK". When and if communications become "OK",
            // clear the STARTUP flag, and set the CURRENT-STATE to the PREVIOUS-STATE."
            Trigger::CommOk | Trigger::PartnerState => {
                let mut current = self.startup_previous;
                if self.after_storage_loss {
                    // Reading R5 / R23: the driver said the storage was lost, or the record
                    // says a loss is not yet recovered.
                    current = Recover;
                } else if self.storage_lost() {
                    // Reading R5 / §8.5.2: no record of ever having talked to the partner, but
                    // the partner has one: storage was lost; restart as RECOVER (UPDREQALL).
                    // Reading R23: remember it until the UPDREQALL is answered.
                    current = Recover;
                    self.after_storage_loss = true;
                } else if self.partner.state == Some(PartnerDown) {
                    let tof = self.time_of_failure.unwrap_or(Time::ZERO);
                    let pd_start = self.partner.start_time.unwrap_or(Time::ZERO);
                    // "If the partner is in PARTNER-DOWN state and if the time at which it
                    // entered PARTNER-DOWN state ... is later than the last recorded time of
                    // operation of this server, then set CURRENT-STATE to RECOVER. If the time
                    // at which it entered PARTNER-DOWN state is earlier than the last recorded
                    // time of operation of this server, then set CURRENT-STATE to
                    // POTENTIAL-CONFLICT." Equal times (within ±5 s, §7.5.1) count as later:
                    // the operator's command can only follow the crash it reacts to (reading
                    // R13, which replaces decision D4).
                    current = if tof.clearly_after(pd_start) {
                        PotentialConflict
                    } else {
                        Recover
                    };
                }
                // "Then, transition to the CURRENT-STATE and take the "communications OK" state
                // transition based on the CURRENT-STATE of this server and the partner."
                self.set_state(now, current);
                if self.state != Startup {
                    self.run_state_machine(now, Trigger::CommOk);
                }
            }
            // "Step 6: If the startup time expires prior to communications becoming "OK", the
            // server SHOULD transition to PREVIOUS-STATE."
            Trigger::StartupTimer => {
                let prev = self.startup_previous;
                self.set_state(now, prev);
            }
            _ => self.ignored(t),
        }
    }

    /// RFC 8156 §8.4.2 Transition out of PARTNER-DOWN State.
    pub(crate) fn transition_out_of_partner_down(&mut self, now: Time, t: Trigger) {
        let comm_ok_event = matches!(t, Trigger::CommOk | Trigger::PartnerState);
        match (comm_ok_event, self.partner_state()) {
            // "If the STARTUP bit is set ... a server in PARTNER-DOWN state MUST NOT take any
            // state transitions based on reestablishing communications."
            (true, None) => {}
            // "If the partner is in NORMAL, COMMUNICATIONS-INTERRUPTED, PARTNER-DOWN,
            // POTENTIAL-CONFLICT, RESOLUTION-INTERRUPTED, or CONFLICT-DONE state, then
            // transition to POTENTIAL-CONFLICT state."
            (
                true,
                Some(
                    Normal
                    | CommunicationsInterrupted
                    | PartnerDown
                    | PotentialConflict
                    | ResolutionInterrupted
                    | ConflictDone,
                ),
            ) => self.set_state(now, PotentialConflict),
            // "If the partner is in RECOVER or RECOVER-WAIT state, then stay in PARTNER-DOWN
            // state."
            (true, Some(Recover | RecoverWait)) => {}
            // "If the partner is in RECOVER-DONE state, then transition to NORMAL state."
            (true, Some(RecoverDone)) => self.set_state(now, Normal),
            (true, Some(Startup)) => {}
            // Figure 6: communications failure leaves PARTNER-DOWN unchanged; a PartnerDown
            // command is a no-op here.
            (false, _) => {}
        }
    }

    /// RFC 8156 §8.5.2 Transition out of RECOVER State.
    pub(crate) fn transition_out_of_recover(&mut self, now: Time, t: Trigger) {
        match (t, self.partner_state()) {
            // "If the other server is in POTENTIAL-CONFLICT, RESOLUTION-INTERRUPTED, or
            // CONFLICT-DONE state when communications are reestablished, then the server in
            // RECOVER state will move itself to POTENTIAL-CONFLICT state."
            (
                Trigger::CommOk | Trigger::PartnerState,
                Some(PotentialConflict | ResolutionInterrupted | ConflictDone),
            ) => self.set_state(now, PotentialConflict),
            // "If the other server is in any other state, then the server in RECOVER state will
            // request an update of missing binding information by sending an UPDREQ message."
            // (UPDREQALL when storage was lost.)
            (Trigger::CommOk | Trigger::PartnerState, Some(_)) => self.request_updates(now),
            // "It will wait for an UPDDONE message, and upon receipt of that message it will
            // transition to RECOVER-WAIT state."
            (Trigger::UpdDone, _) => self.set_state(now, RecoverWait),
            // "If at any time while a server is in RECOVER state communication fails, the server
            // will stay in RECOVER state."
            (Trigger::CommFailed, _) => {}
            _ => self.ignored(t),
        }
    }

    /// RFC 8156 §8.6.2 Transition out of RECOVER-WAIT State.
    pub(crate) fn transition_out_of_recover_wait(&mut self, now: Time, t: Trigger) {
        match t {
            // "When this timer expires, the server will transition into RECOVER-DONE state."
            // "if the timer expires during the period where communications with the other
            // server have failed, then the server SHOULD transition to RECOVER-DONE state."
            Trigger::RecoverWaitTimer => self.set_state(now, RecoverDone),
            // "If communication fails while a server is in RECOVER-WAIT state, it has no effect
            // on the operation of this state."
            Trigger::CommFailed => {}
            // A10: no transition on the partner's state; the timer decides.
            _ => self.ignored(t),
        }
    }

    /// RFC 8156 §8.7.2 Transition out of RECOVER-DONE State.
    pub(crate) fn transition_out_of_recover_done(&mut self, now: Time, t: Trigger) {
        match (t, self.partner_state()) {
            // "When a server in RECOVER-DONE state determines that its partner server has
            // entered NORMAL or RECOVER-DONE state, it will transition into NORMAL state."
            (Trigger::CommOk | Trigger::PartnerState, Some(Normal | RecoverDone)) => {
                self.set_state(now, Normal)
            }
            // "If the partner server enters RECOVER or RECOVER-WAIT state, this server
            // transitions to COMMUNICATIONS-INTERRUPTED."
            (Trigger::CommOk | Trigger::PartnerState, Some(Recover | RecoverWait)) => {
                self.set_state(now, CommunicationsInterrupted)
            }
            // "If the partner server enters POTENTIAL-CONFLICT state, this server enters
            // POTENTIAL-CONFLICT state as well."
            (Trigger::CommOk | Trigger::PartnerState, Some(PotentialConflict)) => {
                self.set_state(now, PotentialConflict)
            }
            // "If communication fails while in RECOVER-DONE state, a server will stay in
            // RECOVER-DONE state." Figure 6: "All Others: Wait for Other State".
            _ => self.ignored(t),
        }
    }

    /// RFC 8156 §8.8.2 Transition out of NORMAL State.
    pub(crate) fn transition_out_of_normal(&mut self, now: Time, t: Trigger) {
        match (t, self.partner_state()) {
            // "If a server in NORMAL state receives an external command informing it that its
            // partner is down, it will transition immediately into PARTNER-DOWN state."
            (Trigger::PartnerDownCommand, _) => self.set_state(now, PartnerDown),
            // "If it is determined that communications are not "OK" (as defined in Section 6.6),
            // then the server should transition into COMMUNICATIONS-INTERRUPTED state." "If a
            // server in NORMAL state receives a DISCONNECT message from its partner, then the
            // server should transition into COMMUNICATIONS-INTERRUPTED state." (reading R8)
            (Trigger::CommFailed, _) => self.set_state(now, CommunicationsInterrupted),
            // Expected partner states while NORMAL (decision D20): NORMAL, RECOVER-DONE (it
            // follows us into NORMAL, §8.7.2) and CONFLICT-DONE (the primary follows the
            // secondary, §8.12.2).
            (
                Trigger::CommOk | Trigger::PartnerState,
                Some(Normal | RecoverDone | ConflictDone),
            ) => {}
            // "If a server in NORMAL state receives any messages from its partner where the
            // partner has changed state from that expected by the server in NORMAL state, then
            // the server should transition into COMMUNICATIONS-INTERRUPTED state and take the
            // appropriate state transition from there."
            (Trigger::CommOk | Trigger::PartnerState, Some(_)) => {
                self.set_state(now, CommunicationsInterrupted);
                self.transition_out_of_communications_interrupted(now, t);
            }
            _ => self.ignored(t),
        }
    }

    /// RFC 8156 §8.9.2 Transition out of COMMUNICATIONS-INTERRUPTED State.
    pub(crate) fn transition_out_of_communications_interrupted(&mut self, now: Time, t: Trigger) {
        match (t, self.partner_state()) {
            // "If the auto-partner-down timer expires while a server is in
            // COMMUNICATIONS-INTERRUPTED state, it will transition immediately into PARTNER-DOWN
            // state."
            (Trigger::AutoPartnerDownTimer, _) => self.set_state(now, PartnerDown),
            // "If a server in COMMUNICATIONS-INTERRUPTED state receives an external command
            // informing it that its partner is down, it will transition immediately into
            // PARTNER-DOWN state."
            (Trigger::PartnerDownCommand, _) => self.set_state(now, PartnerDown),
            // "If communications with the other server are restored, then the server in
            // COMMUNICATIONS-INTERRUPTED state will transition into another state based on the
            // state of the partner:"
            // "NORMAL or COMMUNICATIONS-INTERRUPTED: Transition into NORMAL state."
            // "RECOVER-DONE: Transition into NORMAL state."
            (
                Trigger::CommOk | Trigger::PartnerState,
                Some(Normal | CommunicationsInterrupted | RecoverDone),
            ) => self.set_state(now, Normal),
            // "RECOVER: Stay in COMMUNICATIONS-INTERRUPTED state."
            // Reading R7 (A10): RECOVER-WAIT also stays; its RECOVER-DONE then brings NORMAL.
            (Trigger::CommOk | Trigger::PartnerState, Some(Recover | RecoverWait)) => {}
            // "PARTNER-DOWN, POTENTIAL-CONFLICT, CONFLICT-DONE, or RESOLUTION-INTERRUPTED:
            // Transition into POTENTIAL-CONFLICT state."
            (
                Trigger::CommOk | Trigger::PartnerState,
                Some(PartnerDown | PotentialConflict | ConflictDone | ResolutionInterrupted),
            ) => self.set_state(now, PotentialConflict),
            _ => self.ignored(t),
        }
    }

    /// RFC 8156 §8.10.2 Transition out of POTENTIAL-CONFLICT State.
    pub(crate) fn transition_out_of_potential_conflict(&mut self, now: Time, t: Trigger) {
        match (t, self.partner_state()) {
            // "If communication with the partner fails while in POTENTIAL-CONFLICT state, then
            // the server will transition to RESOLUTION-INTERRUPTED state."
            (Trigger::CommFailed, _) => self.set_state(now, ResolutionInterrupted),
            // "Whenever either server receives an UPDDONE message from its partner while in
            // POTENTIAL-CONFLICT state, it MUST transition to a new state. The primary MUST
            // transition to CONFLICT-DONE state, and the secondary MUST transition to NORMAL
            // state."
            (Trigger::UpdDone, _) if self.cfg.role == Role::Primary => {
                self.set_state(now, ConflictDone)
            }
            (Trigger::UpdDone, _) => self.set_state(now, Normal),
            // "When a secondary server receives an indication that the primary server has made
            // a transition from POTENTIAL-CONFLICT to CONFLICT-DONE state, it SHOULD send an
            // UPDREQ message to the primary server."
            (Trigger::CommOk | Trigger::PartnerState, Some(ConflictDone))
                if self.cfg.role == Role::Secondary =>
            {
                self.request_updates(now)
            }
            // §8.10: the primary's UPDREQ "on entry" needs communications; if it entered
            // without them (never in a normal run), it asks once they are OK.
            (Trigger::CommOk, _) if self.cfg.role == Role::Primary => self.request_updates(now),
            _ => self.ignored(t),
        }
    }

    /// RFC 8156 §8.11.2 Transition out of RESOLUTION-INTERRUPTED State.
    pub(crate) fn transition_out_of_resolution_interrupted(&mut self, now: Time, t: Trigger) {
        match (t, self.partner_state()) {
            // "If a server in RESOLUTION-INTERRUPTED state receives an external command informing
            // it that its partner is down, it will transition immediately into PARTNER-DOWN
            // state."
            (Trigger::PartnerDownCommand, _) => self.set_state(now, PartnerDown),
            // "If communications with the other server are restored, then the server in
            // RESOLUTION-INTERRUPTED state will transition into POTENTIAL-CONFLICT state."
            (Trigger::CommOk | Trigger::PartnerState, Some(_)) => {
                self.set_state(now, PotentialConflict)
            }
            _ => self.ignored(t),
        }
    }

    /// RFC 8156 §8.12.2 Transition out of CONFLICT-DONE State.
    pub(crate) fn transition_out_of_conflict_done(&mut self, now: Time, t: Trigger) {
        match (t, self.partner_state()) {
            // "When a primary server determines that the secondary server has made a transition
            // into NORMAL state, the primary server will also transition into NORMAL state."
            (Trigger::CommOk | Trigger::PartnerState, Some(Normal)) => self.set_state(now, Normal),
            // "If communication with the partner fails while in CONFLICT-DONE state, then the
            // server will remain in CONFLICT-DONE state." §8.12.1 "If communication becomes
            // "OK", remain in CONFLICT-DONE state until the conditions for transition out of
            // CONFLICT-DONE state are satisfied."
            _ => self.ignored(t),
        }
    }

    /// The single entry point of every state change (§8.1): log, persist (MUST record the new
    /// state, the partner's state and the entry time), send STATE if communications are OK,
    /// then run the entry actions of the new state and update its timers.
    pub(crate) fn set_state(&mut self, now: Time, to: ServerState) {
        let from = self.state;
        if from == to {
            return;
        }
        self.previous_failover_state = Some(if from == Startup {
            self.startup_previous
        } else {
            from
        });
        self.state = to;
        self.start_time_of_state = now;
        let resumed = match self.recorded {
            // Leaving STARTUP into the very state recorded before the restart: the state did not
            // change, so its start time (and a PARTNER-DOWN entry time) is kept. A later start
            // time would make the partner's §8.3.2 step 5 choose RECOVER where POTENTIAL-CONFLICT
            // is due (decision D7).
            Some((rec, since)) if from == Startup && rec == to => {
                self.start_time_of_state = since;
                true
            }
            _ => false,
        };
        self.log(&format!("state={from}=>{to}"));
        self.event(Event::StateChanged { from, to });
        // Exit actions.
        match from {
            Startup => self.timers.stop(Timer::Startup),
            CommunicationsInterrupted => self.timers.stop(Timer::AutoPartnerDown),
            RecoverWait => self.timers.stop(Timer::RecoverWait),
            Recover => self.timers.stop(Timer::RecoverProgress),
            _ => {}
        }
        if to == PartnerDown && !(resumed && self.partner_down_entry.is_some()) {
            // OPTION_F_PARTNER_DOWN_TIME / the PARTNER-DOWN entry of §4.2.2.1 and reading R2.
            self.partner_down_entry = Some(now);
        }
        if to == PartnerDown {
            // RFC 8156 §8.4.1: "after ... the MCLT interval has elapsed from entry into
            // PARTNER-DOWN state". After a restart the server enters PARTNER-DOWN again and the
            // MCLT waits (the partner's prefixes, reading R3's reuse of EXPIRED/RELEASED/RESET)
            // count from this entry, whatever D7 keeps for the record (conservative: waiting
            // longer is always allowed; the model counts from the start of the current state).
            self.pd_entered_this_run = Some(now);
        }
        // RFC 8156 §8.1: "it MUST record the new state, its current understanding of its
        // partner's state, and the time at which it entered the new state in stable storage."
        self.persist_endpoint(now);
        // RFC 8156 §8.1: "the new state MUST be communicated to its failover partner in a STATE
        // message if the communications status is "OK"." (§6.3: persisted before enqueuing.)
        // §8.8: "When entering NORMAL state, a server will send to the other server all
        // currently unacknowledged binding updates". Reading R15: they go out *before* the
        // STATE that announces NORMAL, so that a partner leaving RECOVER-DONE or CONFLICT-DONE
        // on that STATE has them before it may allocate.
        if to == Normal {
            self.send_lazy_updates(now);
        }
        // Also once the handshake is done but before the partner's STATE arrived: the STATE
        // we sent on connecting (§6.1) carries the old state, and the partner must not go on
        // believing it (communications become OK for us without another STATE of ours).
        // send_state sends nothing without a connection.
        self.send_state(now);
        // Entry actions.
        match to {
            CommunicationsInterrupted => {
                // §8.9: "if ... auto-partner-down has been configured, then a timer is started
                // for the length of the configured auto-partner-down period."
                if let Some(d) = self.cfg.auto_partner_down {
                    self.timers.set(Timer::AutoPartnerDown, now.plus(d));
                }
                // "A server transitioning into the COMMUNICATIONS-INTERRUPTED state from the
                // NORMAL state SHOULD raise an alarm condition"
                if from == Normal {
                    self.event(Event::Alarm(
                        "NORMAL => COMMUNICATIONS-INTERRUPTED: partner unreachable".into(),
                    ));
                }
            }
            ResolutionInterrupted => {
                // §8.11: "When a server enters RESOLUTION-INTERRUPTED state, it SHOULD raise an
                // alarm condition"
                self.event(Event::Alarm(
                    "RESOLUTION-INTERRUPTED: conflict resolution interrupted".into(),
                ));
            }
            RecoverWait => {
                // §8.6.2: "a timer whose expiration is set to a time equal to the time the
                // server went down (the TIME-OF-FAILURE from Section 8.3.2), if known, or the
                // time the server started (if the TIME-OF-FAILURE is unknown), plus the MCLT."
                // Decision D17: the MAY of §8.6.2 (skip the wait if the server never ran failover)
                // is not taken.
                // Reading R22 (A14): when TIME-OF-FAILURE is unknown because the stable storage
                // was lost, the wait is the longest valid lifetime we grant, if longer than the
                // MCLT: grants made in PARTNER-DOWN before the loss are not bounded by the MCLT
                // (§8.4.1), and the partner may never have heard of them. A server that never
                // ran failover lost nothing and waits the MCLT.
                let until = match self.time_of_failure {
                    Some(t) => t.plus(self.mclt),
                    None if self.after_storage_loss || self.storage_lost() => self
                        .started_at
                        .plus(self.mclt.max(self.cfg.desired_lifetime)),
                    None => self.started_at.plus(self.mclt),
                };
                if until <= now {
                    self.set_state(now, RecoverDone);
                    return;
                }
                self.timers.set(Timer::RecoverWait, until);
            }
            Normal => {
                // §8.8: "When entering NORMAL state, a server will send to the other server all
                // currently unacknowledged binding updates as BNDUPD messages. When the above
                // process is complete, if the server entering NORMAL state is a secondary
                // server, then it will request delegable prefixes ... using the POOLREQ."
                // "Complete" is read as "sent": the POOLREQ follows the updates on the same
                // ordered connection (§6.1), so the primary has processed them when it scans
                // its pool; waiting for their BNDREPLYs buys nothing. A secondary that has no
                // delegable prefixes configured has nothing to ask for.
                // An update held after a rejection still waits for the next periodic scan
                // (reading R21): entering NORMAL is no new information about the lease.
                self.poolreq_due = self.cfg.role == Role::Secondary
                    && self.comm_ok()
                    && !self.cfg.prefixes.is_empty();
            }
            // §8.10: "When a primary server enters POTENTIAL-CONFLICT state, it should request
            // that the secondary send it all updates ... by sending an UPDREQ". "A secondary
            // server entering POTENTIAL-CONFLICT state will wait for the primary to send it an
            // UPDREQ message." A secondary that (re)enters it while the primary already is in
            // CONFLICT-DONE asks at once (§8.10.2 SHOULD; digest A11, decision D21).
            PotentialConflict
                if self.cfg.role == Role::Primary || self.partner_state() == Some(ConflictDone) =>
            {
                self.request_updates(now);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_step2_maps_comm_ok_states_to_their_comm_failed_successors() {
        assert_eq!(startup_step2(Normal), CommunicationsInterrupted);
        assert_eq!(startup_step2(PotentialConflict), ResolutionInterrupted);
        for s in [
            Recover,
            RecoverWait,
            RecoverDone,
            ConflictDone,
            PartnerDown,
            CommunicationsInterrupted,
            ResolutionInterrupted,
        ] {
            assert_eq!(startup_step2(s), s);
        }
    }

    #[test]
    fn responsiveness_table_matches_section_8() {
        use Responsiveness::*;
        for role in [Role::Primary, Role::Secondary] {
            for s in [Startup, PotentialConflict, Recover, RecoverWait] {
                assert_eq!(responsiveness(s, role), Unresponsive, "{s}");
            }
            for s in [
                CommunicationsInterrupted,
                PartnerDown,
                ResolutionInterrupted,
                ConflictDone,
            ] {
                assert_eq!(responsiveness(s, role), Responsive, "{s}");
            }
            assert_eq!(responsiveness(RecoverDone, role), RenewResponsive);
        }
        assert_eq!(responsiveness(Normal, Role::Primary), Responsive);
        assert_eq!(responsiveness(Normal, Role::Secondary), RenewResponsive);
    }
}
