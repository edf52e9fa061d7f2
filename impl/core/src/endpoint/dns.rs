//! DNS update behaviour of the endpoint (RFC 8156 §9): the data it keeps is in `crate::dns`,
//! whose module documentation gives the rules and the readings R24-R28 followed here.

use failover_proto::BindingStatus;

use crate::db::Binding;
use crate::endpoint::{Endpoint, Event, Output};
use crate::lease::{ClientId, LeaseKey};
use crate::message::{LeaseUpdate, StatusCode};
use crate::time::Time;

use crate::dns::{
    binding_name, recorded_added, DnsInfo, DnsOp, DnsRequest, Fqdn, FLAG_FWD_UPTODATE,
    FLAG_REV_UPTODATE, FLAG_USING_REQUESTED_FQDN,
};

/// Reading R27: a delete is owed for this lease (it is neither allocated nor announced).
pub(crate) fn owes_remove(b: &Binding) -> bool {
    b.dns
        .owed
        .iter()
        .any(|op| matches!(op, DnsOp::Remove { .. }))
}

/// Reading R26: an add whose binding ended is dropped; the deletes stay.
fn drop_owed_adds(b: &mut Binding) {
    b.dns.owed.retain(|op| matches!(op, DnsOp::Remove { .. }));
}

/// A name as a client presents it in its Client FQDN option (RFC 4704): the first label, then
/// the zone.
fn presented_name(s: &str) -> Option<Fqdn> {
    let s = s.trim_end_matches('.');
    if s.is_empty() {
        return None;
    }
    let (host, zone) = s.split_once('.').unwrap_or((s, ""));
    Some(Fqdn::new(host, zone))
}

impl Endpoint {
    /// The outcome of a [`DnsRequest`]: `Ok` once the DNS server accepted the update (or the
    /// records were already absent for a remove), `Err` with a description otherwise. A failed
    /// operation stays owed and is asked again after `dns.retry` seconds.
    pub fn handle_dns_result(&mut self, now: Time, id: u64, result: Result<(), String>) {
        self.on_dns_result(now, id, result);
        self.pump(now);
    }

    /// The name this server returns to the client holding `lease` (§9.5): the name placed in
    /// the DNS, else the one requested or synthesized, whichever server learned it.
    pub fn client_fqdn(&self, lease: &LeaseKey) -> Option<Fqdn> {
        binding_name(&self.db.get(lease)?.dns.info).cloned()
    }

    fn on_dns_result(&mut self, now: Time, id: u64, result: Result<(), String>) {
        self.dns.withdrawn.remove(&id);
        let Some((key, op)) = self.dns.in_flight.remove(&id) else {
            self.log(&format!("ignored DNS result id={id}: no such request"));
            return;
        };
        self.dns.issued.remove(&key);
        let Some(mut b) = self.db.get(&key).cloned() else {
            return;
        };
        // Reading R26: the operation may have been dropped while it was with the driver.
        let still_owed = b.dns.owed.first() == Some(&op);
        match result {
            Err(e) if still_owed => {
                let retry = self.cfg.dns.retry.max(1);
                self.event(Event::Alarm(format!(
                    "DNS update for {key} failed: {e}; retrying in {retry} s"
                )));
                self.dns.retry_at.insert(key, now.plus(retry));
                return;
            }
            Err(_) => {}
            Ok(()) => {
                if still_owed {
                    b.dns.owed.remove(0);
                }
                match op {
                    DnsOp::Add {
                        fqdn,
                        forward,
                        reverse,
                    } => {
                        let live = b.is_active_at(now) && binding_name(&b.dns.info) == Some(&fqdn);
                        if live {
                            b.dns.info.entered = Some(fqdn);
                            b.dns.info.flags |= if forward { FLAG_FWD_UPTODATE } else { 0 }
                                | if reverse { FLAG_REV_UPTODATE } else { 0 };
                            // RFC 8156 §9.2, reading R24: the partner must learn the new status.
                            self.store_changed(key, b);
                        } else {
                            // Decision D27: the binding ended while the add was with the driver,
                            // and the DNS server performed it. If this server still knows the
                            // name, the delete of reading R25 will remove it at PENDING-FREE;
                            // otherwise (the partner's update replaced the binding) nothing
                            // would, so a delete of that name is owed now.
                            let removed =
                                b.dns.owed.iter().any(
                                    |o| matches!(o, DnsOp::Remove { fqdn: f, .. } if *f == fqdn),
                                );
                            if binding_name(&b.dns.info) != Some(&fqdn) && !removed {
                                b.dns.owed.push(DnsOp::Remove {
                                    fqdn,
                                    forward,
                                    reverse,
                                });
                            }
                            self.store(key, b);
                        }
                    }
                    DnsOp::Remove { fqdn, .. } => {
                        self.log(&format!("{key}: DNS records of {fqdn} removed (§9.4)"));
                        // Reading R27: the free status waits for this; it may go now.
                        self.store(key, b);
                    }
                }
            }
        }
        self.issue_dns(now, key);
    }

    /// Ask the driver for the first owed operation of `key`, unless one is already asked or a
    /// retry is pending. RFC 8156 §9.3, reading R26: an add is performed only while its binding
    /// is ACTIVE and unexpired in this server's database; otherwise it is dropped.
    pub(crate) fn issue_dns(&mut self, now: Time, key: LeaseKey) {
        if self.dns.issued.contains(&key) || self.dns.retry_at.contains_key(&key) {
            return;
        }
        let Some(b) = self.db.get(&key) else {
            return;
        };
        let Some(op) = b.dns.owed.first().cloned() else {
            return;
        };
        // Reading R26 is applied when the request is about to go out
        // (`dns_request_current`), as late as the driver can, and again on the result.
        let _ = now;
        self.dns.next_id += 1;
        let id = self.dns.next_id;
        self.dns.in_flight.insert(id, (key, op.clone()));
        self.dns.issued.insert(key);
        self.out
            .push_back(Output::Dns(DnsRequest { id, lease: key, op }));
    }

    /// Reading R26: a request with the driver that is no longer the lease's first owed operation
    /// (its add was dropped, the binding having ended) is withdrawn with `Output::DnsCancel`,
    /// once. Called whenever a lease record is written.
    pub(crate) fn dns_withdraw_stale(&mut self, key: LeaseKey) {
        if !self.dns.issued.contains(&key) {
            return;
        }
        let first = self.db.get(&key).and_then(|b| b.dns.owed.first());
        let stale: Vec<u64> = self
            .dns
            .in_flight
            .iter()
            .filter(|(id, (k, op))| {
                *k == key && Some(op) != first && !self.dns.withdrawn.contains(*id)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.dns.withdrawn.insert(id);
            self.out.push_back(Output::DnsCancel { id });
        }
    }

    /// Ask right before sending request `id` to the DNS server: is it still wanted? Reading
    /// R26: an add is performed only while its binding is ACTIVE and unexpired here; an add
    /// whose binding ended is dropped now (`false`: do not send it, nothing is to be reported),
    /// and the lease's next owed operation is asked for. A driver that sends at once may skip
    /// this call: the result of an add done after its binding ended is handled (decision D27).
    pub fn dns_request_current(&mut self, now: Time, id: u64) -> bool {
        let Some((key, op)) = self.dns.in_flight.get(&id).cloned() else {
            return false;
        };
        let Some(b) = self.db.get(&key) else {
            return false;
        };
        let first = b.dns.owed.first() == Some(&op);
        let live = match &op {
            DnsOp::Add { fqdn, .. } => {
                b.is_active_at(now) && binding_name(&b.dns.info) == Some(fqdn)
            }
            DnsOp::Remove { .. } => true,
        };
        if first && live {
            return true;
        }
        self.dns.in_flight.remove(&id);
        self.dns.withdrawn.remove(&id);
        self.dns.issued.remove(&key);
        if first {
            let mut b = b.clone();
            b.dns.owed.remove(0);
            self.log(&format!(
                "{key}: owed DNS {op:?} dropped before sending, the binding ended (reading R26)"
            ));
            self.store(key, b);
        }
        self.issue_dns(now, key);
        self.pump(now);
        false
    }

    /// The driver dropped the withdrawn request `id` without sending it
    /// ([`Output::DnsCancel`]): the lease's next owed operation is asked for.
    pub fn handle_dns_cancelled(&mut self, now: Time, id: u64) {
        self.dns.withdrawn.remove(&id);
        let Some((key, _)) = self.dns.in_flight.remove(&id) else {
            self.log(&format!(
                "ignored DNS cancellation id={id}: no such request"
            ));
            return;
        };
        self.dns.issued.remove(&key);
        self.issue_dns(now, key);
        self.pump(now);
    }

    /// After a restart: ask again for every operation the stable storage says is owed (§9.4).
    pub(crate) fn dns_restart(&mut self, now: Time) {
        let owed: Vec<LeaseKey> = self
            .db
            .iter()
            .filter(|(_, b)| !b.dns.owed.is_empty())
            .map(|(k, _)| *k)
            .collect();
        for k in owed {
            self.issue_dns(now, k);
        }
    }

    /// Failed operations whose retry time has come are asked again.
    pub(crate) fn dns_timeouts(&mut self, now: Time) {
        let due: Vec<LeaseKey> = self
            .dns
            .retry_at
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in due {
            self.dns.retry_at.remove(&k);
            self.issue_dns(now, k);
        }
    }

    /// RFC 8156 §9.3, reading R24: a new binding granted by this server. Records the name
    /// (requested or synthesized) and, with DNS updates on, owes the add (stable storage with the
    /// lease). `b` is the new ACTIVE record, not yet stored.
    pub(crate) fn dns_on_new_binding(&self, key: &LeaseKey, b: &mut Binding) {
        let requested = self.dns.client_fqdn.as_deref();
        let cfg = &self.cfg.dns;
        drop_owed_adds(b);
        let Some((fqdn, how)) = cfg.name_for(key, b.client.as_ref(), requested) else {
            b.dns.info = DnsInfo::default();
            return;
        };
        b.dns.info = DnsInfo {
            requested: Some(fqdn.clone()),
            entered: None,
            flags: how,
        };
        if cfg.enabled && (cfg.forward || cfg.reverse) {
            b.dns.owed.push(DnsOp::Add {
                fqdn,
                forward: cfg.forward,
                reverse: cfg.reverse,
            });
        }
    }

    /// RFC 8156 §9.5, reading R28: `key` was renewed or rebound by `client`. The binding keeps
    /// the name this server knows for it (its own or learnt from a BNDUPD); a server with none
    /// (it never heard of the binding) takes the name the client presents, i.e. the one it was
    /// given, and only without one synthesizes its own. Renewals never add (reading R24).
    /// `same_binding`: the record named this client before the renewal.
    pub(crate) fn dns_on_renewal(&mut self, key: LeaseKey, same_binding: bool) {
        let Some(mut b) = self.db.get(&key).cloned() else {
            return;
        };
        if same_binding && binding_name(&b.dns.info).is_some() {
            return;
        }
        let presented = self
            .dns
            .client_fqdn
            .as_deref()
            .and_then(presented_name)
            .map(|n| (n, FLAG_USING_REQUESTED_FQDN));
        let name = presented.or_else(|| self.cfg.dns.name_for(&key, b.client.as_ref(), None));
        b.dns.info = match name {
            Some((fqdn, how)) => DnsInfo {
                requested: Some(fqdn),
                entered: None,
                flags: how,
            },
            None => DnsInfo::default(),
        };
        drop_owed_adds(&mut b);
        self.store(key, b);
    }

    /// RFC 8156 §9.4, readings R25 and R26: this server makes `b` PENDING-FREE. An add still
    /// owed for the ended binding is dropped; the name this server knows for the binding is owed
    /// a delete whether or not its records are recorded as added (the partner's add may be done
    /// and its BNDUPD saying so not yet here); the names are forgotten. `b` is not yet stored.
    pub(crate) fn dns_on_pending_free(&self, b: &mut Binding) {
        let info = std::mem::take(&mut b.dns.info);
        drop_owed_adds(b);
        let cfg = &self.cfg.dns;
        if !cfg.enabled || !(cfg.forward || cfg.reverse) {
            return;
        }
        let Some(fqdn) = binding_name(&info).cloned() else {
            return;
        };
        // The delete names the records it removes (only that name's), so a redundant one is a
        // no-op. Which zones: those the status shows, else those this server would have updated.
        let (forward, reverse) = if recorded_added(&info) {
            (
                info.flags & FLAG_FWD_UPTODATE != 0,
                info.flags & FLAG_REV_UPTODATE != 0,
            )
        } else {
            (cfg.forward, cfg.reverse)
        };
        b.dns.owed.push(DnsOp::Remove {
            fqdn,
            forward,
            reverse,
        });
    }

    /// The DNS information to send in a BNDUPD of `b` (§9.2, reading R24: every BNDUPD carries
    /// the name and the DNS status); `None` when there is none.
    pub(crate) fn dns_for_update(&self, b: &Binding) -> Option<DnsInfo> {
        (!b.dns.info.is_empty()).then(|| b.dns.info.clone())
    }

    /// §9 introduction: a server that does not update the DNS meets a BNDUPD showing that its
    /// partner does. It warns (once) and, if so configured, refuses the update.
    pub(crate) fn dns_check_partner(&mut self, lu: &LeaseUpdate) -> Result<(), StatusCode> {
        if self.cfg.dns.enabled || !lu.dns.as_ref().is_some_and(DnsInfo::shows_dns_updates) {
            return Ok(());
        }
        if !self.dns.warned {
            self.dns.warned = true;
            self.event(Event::Alarm(format!(
                "partner performs DNS updates (BNDUPD {}) but this server is not configured \
                 to (RFC 8156 §9)",
                lu.lease
            )));
        }
        if self.cfg.dns.refuse_partner_updates {
            Err(StatusCode::DnsUpdateNotSupported)
        } else {
            Ok(())
        }
    }

    /// RFC 8156 §9.2, reading R24: an accepted BNDUPD brings the partner's DNS information;
    /// §9.3/§9.4: the receiver neither adds nor deletes. About the binding this server holds
    /// (`prior_client` is the update's client, and the names agree or only one side knows one)
    /// the name is learnt and the DNS status ORed (records added stay added). About another
    /// binding, or a free status (no client), the update's name and status replace ours, and an
    /// add still owed for our binding is dropped (reading R26). Deletes owed stay.
    pub(crate) fn dns_merge_update(
        &self,
        b: &mut Binding,
        prior_client: Option<&ClientId>,
        client: Option<&ClientId>,
        lu: &LeaseUpdate,
    ) {
        let theirs = lu.dns.clone().unwrap_or_default();
        let ours = &b.dns.info;
        let names_agree = match (binding_name(ours), binding_name(&theirs)) {
            (Some(a), Some(t)) => a == t,
            _ => true,
        };
        let free = matches!(
            lu.binding_status,
            BindingStatus::Free | BindingStatus::FreeBackup
        );
        let same = !free && client.is_some() && client == prior_client && names_agree;
        if same {
            let info = &mut b.dns.info;
            info.requested = info.requested.take().or(theirs.requested);
            info.entered = info.entered.take().or(theirs.entered);
            info.flags |= theirs.flags;
        } else {
            b.dns.info = theirs;
            drop_owed_adds(b);
        }
    }

    /// §9.3: `key` was just granted to a new client by this server: name it, owe the add.
    pub(crate) fn dns_new_binding(&mut self, now: Time, key: LeaseKey) {
        let Some(mut b) = self.db.get(&key).cloned() else {
            return;
        };
        self.dns_on_new_binding(&key, &mut b);
        self.store(key, b);
        self.issue_dns(now, key);
    }

    /// An accepted BNDUPD's extension data (DNS §9.2, reservation flag): merged into the record
    /// `b` the update produced from our record `local`, which is then stored (and owed back to
    /// the partner if the reservation rules say so).
    pub(crate) fn extensions_on_update(
        &mut self,
        local: &Binding,
        mut b: Binding,
        client: Option<&ClientId>,
        lu: &LeaseUpdate,
        echoed: BindingStatus,
    ) {
        self.dns_merge_update(&mut b, local.client.as_ref(), client, lu);
        let owed = self.reservation_merge_update(&mut b, lu, echoed);
        if owed {
            self.store_changed(lu.lease, b);
        } else {
            self.store(lu.lease, b);
        }
    }
}
