//! Timers (RFC 8156 §6.5, §8) and what happens when one fires: lease expiry, the
//! PARTNER-DOWN frees after the MCLT (§8.4.1) and the operator's lease commands.

use std::collections::BTreeMap;

use failover_proto::{BindingStatus, ServerState};

use crate::db::{self};
use crate::lease::LeaseKey;
use crate::time::Time;

use super::{DisconnectReason, Endpoint, Trigger};

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

pub(crate) const TIMERS: [Timer; 6] = [
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
    pub(crate) fn next_timeout(&self, skip: Option<Timer>) -> Option<Time> {
        self.0
            .iter()
            .filter(|(t, _)| Some(**t) != skip)
            .map(|(_, at)| *at)
            .min()
    }
}

impl Endpoint {
    // ---- timers ------------------------------------------------------------------------

    pub(crate) fn on_timer(&mut self, now: Time, t: Timer) {
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
    pub(crate) fn expire_leases(&mut self, now: Time) {
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
    pub(crate) fn next_partner_down_free(&self) -> Option<Time> {
        let entered = self.pd_entered_this_run?;
        self.db
            .freeable()
            .iter()
            .filter_map(|k| self.db.get(k))
            .map(|b| db::pd_reuse_time(b, entered, self.mclt))
            .min()
    }

    /// Figure 2 (4) in PARTNER-DOWN, per reading R3 (A3): EXPIRED/RELEASED/RESET become
    /// PENDING-FREE (and at once FREE or FREE-BACKUP, reading R1) only once the reading-R2 time
    /// has passed, not merely MCLT after entering the status.
    pub(crate) fn partner_down_frees(&mut self, now: Time) {
        if self.state != ServerState::PartnerDown {
            return;
        }
        let Some(entered) = self.pd_entered_this_run else {
            return;
        };
        let due: Vec<LeaseKey> = self
            .db
            .freeable()
            .iter()
            .filter(|k| {
                self.db
                    .get(k)
                    .is_some_and(|b| db::pd_reuse_time(b, entered, self.mclt) <= now)
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
    pub(crate) fn free_lease(&mut self, now: Time, key: LeaseKey, tell_partner: bool) {
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

    pub(crate) fn reset_lease(&mut self, now: Time, key: LeaseKey) {
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
}
