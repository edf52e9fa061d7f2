//! Binding updates (RFC 8156 §7): sending BNDUPDs lazily (§7.4), accepting or rejecting the
//! partner's (§7.5), BNDREPLY handling (§7.6), UPDREQ/UPDREQALL/UPDDONE (§5.3.5-§5.3.7) and
//! POOLREQ (§5.3.3).

use std::collections::BTreeSet;

use failover_proto::{BindingStatus, Role, ServerState};

use crate::db::{self, Binding, Db};
use crate::lease::{ClientId, LeaseKey};
use crate::message::{BndReply, BndUpd, Body, LeaseReply, LeaseUpdate, StatusCode, Xid};
use crate::time::Time;

use super::{last_change, Endpoint, Timer, Trigger};

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

impl Endpoint {
    // ---- binding updates (§7) ----------------------------------------------------------

    /// When lazy updates flow to a connected partner: in NORMAL (§8.8.1) and CONFLICT-DONE, and
    /// while answering the partner's UPDREQ/UPDREQALL (changes made meanwhile go with the answer,
    /// before its UPDDONE). Elsewhere — RECOVER-DONE, PARTNER-DOWN, POTENTIAL-CONFLICT, ... —
    /// they wait for NORMAL (sent on entry, §8.8, reading R15) or for an UPDREQ. Decision D18
    /// (changed to the model's rule: the first version also sent lazily in RECOVER-DONE and in
    /// PARTNER-DOWN while the partner recovered).
    pub(crate) fn sends_lazy_updates(&self) -> bool {
        use ServerState::*;
        self.comm_ok()
            && (matches!(self.state, Normal | ConflictDone) || self.upd_response.is_some())
    }

    /// RFC 8156 §7.5.4: a rejected update waits for "the next periodic scan", not for the
    /// driver to call [`handle_timeout`](Self::handle_timeout): once the scan time has passed
    /// the update may go, also if the time passed while communications were down (the model
    /// clears every hold at each tick, whatever the connection).
    pub(crate) fn end_due_retries(&mut self, now: Time) {
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
                .find(|k| {
                    !self
                        .db
                        .get(k)
                        .is_some_and(crate::endpoint::dns::owes_remove)
                })
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
    pub(crate) fn waits_for_dns_remove(&self, k: &LeaseKey) -> bool {
        self.db
            .get(k)
            .is_some_and(crate::endpoint::dns::owes_remove)
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
    pub(crate) fn next_pending(&self) -> Option<LeaseKey> {
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
    pub(crate) fn send_bndupd(&mut self, now: Time, key: LeaseKey) -> Xid {
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
    pub(crate) fn judge(
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
    pub(crate) fn flag_for_update(&mut self, now: Time, key: LeaseKey) {
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
    pub(crate) fn hold_for_scan(&mut self, now: Time, key: LeaseKey) {
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
    pub(crate) fn maybe_send_upddone(&mut self, now: Time) {
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
    pub(crate) fn rebalance_prefixes(&mut self, now: Time) {
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        let mut taking_back = 0;
        for (k, b) in self.db.iter() {
            if !k.is_prefix() {
                continue;
            }
            match b.status {
                // Decision D24: reserved prefixes stay out of the balancing.
                _ if !crate::endpoint::reservation::allocatable(b) => {}
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
                && db.get(k).is_some_and(|b| {
                    !now.same_as(last_change(b)) && !crate::endpoint::dns::owes_remove(b)
                })
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
}

/// The binding-status a BNDUPD of this record announces: its own, except that a take-back in
/// progress (reading R9) is announced as FREE.
pub(crate) fn announced_status(b: &Binding) -> BindingStatus {
    if b.hold_until_ack && b.status == BindingStatus::FreeBackup {
        BindingStatus::Free
    } else {
        b.status
    }
}

/// RFC 6607 §3.5: VSS type 255 (with no VPN identifier) names the global, default VPN, the only
/// one this server is configured with; any other OPTION_VSS names a VPN it does not know.
pub(crate) fn is_global_vpn(vss: &[u8]) -> bool {
    vss == [255]
}
