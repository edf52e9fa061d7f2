//! Client service (RFC 8156 §8 responsiveness, §4 allocation): offers, grants, renewals and
//! releases of addresses and prefixes, under the MCLT rule (§4.4).

use failover_proto::{BindingStatus, ServerState};

use crate::db::{self, Binding};
use crate::endpoint::state::{responsiveness, Responsiveness};
use crate::lease::{ClientId, LeaseKey, LeaseKind};
use crate::message::{ClientOp, ClientReply, ClientRequest, ReplyKind};
use crate::time::Time;

use super::{last_change, Endpoint, Output};

impl Endpoint {
    // ---- clients -----------------------------------------------------------------------

    pub(crate) fn on_client(&mut self, now: Time, req: ClientRequest) {
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
    pub(crate) fn offer(
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
    pub(crate) fn pick_available(&self, now: Time, kind: LeaseKind) -> Option<LeaseKey> {
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
                        && crate::endpoint::reservation::allocatable(b)
                        && !crate::endpoint::dns::owes_remove(b)
                }
                // §4.2.2: "A server delegates prefixes only from its own pool"; reading R9: a
                // held take-back is not ours yet.
                LeaseKey::Prefix(..) => {
                    b.status == own
                        && !b.hold_until_ack
                        && crate::endpoint::reservation::allocatable(b)
                        && !crate::endpoint::dns::owes_remove(b)
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
        let entered = self.pd_entered_this_run?;
        if now < entered.plus(self.mclt) {
            return None;
        }
        let theirs = db::available_status(me.partner());
        // (A take-back in progress is still FREE-BACKUP, so it is among these.)
        first_settled(
            now,
            self.db
                .available(theirs, LeaseKind::Prefix)
                .filter(|(_, b)| {
                    crate::endpoint::reservation::allocatable(b)
                        && !crate::endpoint::dns::owes_remove(b)
                }),
        )
    }

    /// The MCLT-limited lifetime for this lease now (§4.4 via [`db::max_lifetime`]).
    pub(crate) fn lifetime_for(&self, now: Time, b: &Binding) -> u64 {
        db::max_lifetime(
            now,
            b.acked_partner_lifetime,
            self.cfg.desired_lifetime,
            self.mclt,
            self.state == ServerState::PartnerDown,
        )
    }

    /// Figure 2 (1)/(2) or a renewal: make `key` ACTIVE for `client`.
    pub(crate) fn grant(&mut self, now: Time, client: &ClientId, key: LeaseKey) -> ReplyKind {
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
    pub(crate) fn extend(
        &mut self,
        now: Time,
        client: &ClientId,
        key: LeaseKey,
    ) -> Option<ReplyKind> {
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
    pub(crate) fn end_binding(
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
pub(crate) fn first_settled<'a>(
    now: Time,
    candidates: impl Iterator<Item = (&'a LeaseKey, &'a Binding)>,
) -> Option<LeaseKey> {
    candidates
        .filter(|(_, b)| !now.same_as(last_change(b)))
        .map(|(k, _)| *k)
        .next()
}
