//! DNS update considerations (RFC 8156 §9), sans-IO.
//!
//! Each lease record carries a [`LeaseDns`]: what both servers know of the binding's names
//! ([`DnsInfo`], §9.2: the FQDN requested or synthesized, the FQDN placed in the DNS, the
//! OPTION_F_DNS_FLAGS status) and the DNS operations *this* server owes ([`DnsOp`]). The owed
//! operations are part of the persisted [`Binding`](crate::Binding), written before the endpoint
//! asks the driver to perform them, so a crash between making a lease PENDING-FREE and the delete
//! cannot leave a record in the DNS that nothing removes (§9.4, last paragraph): a restarted
//! endpoint asks again for every owed operation.
//!
//! The endpoint never talks to a DNS server. It emits [`Output::Dns`](crate::Output::Dns) with a
//! [`DnsRequest`] and takes the outcome with
//! [`Endpoint::handle_dns_result`](crate::Endpoint::handle_dns_result). Operations of one lease
//! are issued one at a time, in order (an add, then the remove that follows it).
//!
//! Who does what (decision D23, aligned with the project's readings R24–R28 of §9):
//! * §9.3, reading R24: the server that grants a *new* binding names it and owes the add (AAAA
//!   and/or PTR); the partner receiving the BNDUPD never adds; renewals never add.
//! * §9.2, reading R24: every BNDUPD carries the name and the DNS status; the receiver learns
//!   the name and ORs the status for the binding it holds, and takes the update's name and
//!   status for another binding or a free status (dropping an add it still owed).
//! * §9.4, reading R25: the server that makes a lease PENDING-FREE deletes the name it knows
//!   for the binding, whether or not it recorded the add as done: outside PARTNER-DOWN when the
//!   BNDREPLY acks its EXPIRED/RELEASED/RESET (reading R16), in PARTNER-DOWN when it frees the
//!   lease itself. Never at a local expiry, never the acking partner.
//! * Reading R26: an owed add is performed only while its binding is ACTIVE and unexpired here.
//! * Reading R27: while a delete is owed the lease is neither allocated nor announced to the
//!   partner (its BNDUPD waits, and UPDDONE with it).
//! * §9.2: after a completed add the server owes a BNDUPD carrying the new status.
//! * §9.5, reading R28: a server answering a client returns the name it knows, learned from its
//!   partner too; renewing a binding it has no name for, it takes the name the client presents.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use failover_proto::BindingStatus;
use serde::{Deserialize, Serialize};

use crate::db::Binding;
use crate::endpoint::{Endpoint, Event, Output};
use crate::message::{ClientId, LeaseKey, LeaseUpdate, StatusCode};
use crate::time::Time;

/// OPTION_F_DNS_FLAGS bit U (§5.5.3.3): the name came from the client's FQDN.
pub const FLAG_USING_REQUESTED_FQDN: u16 = 0x0008;
/// OPTION_F_DNS_FLAGS bit S: the name was synthesized.
pub const FLAG_SYNTHESIZED_NAME: u16 = 0x0004;
/// OPTION_F_DNS_FLAGS bit R: the reverse zone (PTR) is up to date.
pub const FLAG_REV_UPTODATE: u16 = 0x0002;
/// OPTION_F_DNS_FLAGS bit F: the forward zone (AAAA) is up to date.
pub const FLAG_FWD_UPTODATE: u16 = 0x0001;

/// A DNS name split as OPTION_F_DNS_HOST_NAME and OPTION_F_DNS_ZONE_NAME carry it (§5.5.3):
/// `host` (one or more labels, no trailing dot) within `zone` (no trailing dot).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Fqdn {
    /// The host part, e.g. `"client-7"`.
    pub host: String,
    /// The zone, e.g. `"example.com"`.
    pub zone: String,
}

impl Fqdn {
    /// A name from its two parts (trailing dots removed).
    pub fn new(host: impl Into<String>, zone: impl Into<String>) -> Fqdn {
        let trim = |s: String| s.trim_end_matches('.').to_string();
        Fqdn {
            host: trim(host.into()),
            zone: trim(zone.into()),
        }
    }

    /// The absolute name, with a trailing dot (`"client-7.example.com."`).
    pub fn absolute(&self) -> String {
        if self.zone.is_empty() {
            format!("{}.", self.host)
        } else {
            format!("{}.{}.", self.host, self.zone)
        }
    }
}

impl fmt::Display for Fqdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.absolute())
    }
}

/// What the partners exchange about a binding's DNS names (§9.2 items 1–4), carried in BNDUPD
/// as OPTION_CLIENT_FQDN (`requested`) and OPTION_F_DNS_REMOVAL_INFO (`entered` and `flags`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsInfo {
    /// §9.2 (1): the FQDN the client requested, or the one this server synthesized or was
    /// configured to use instead. Also the name returned to the client (§9.5).
    pub requested: Option<Fqdn>,
    /// §9.2 (2) and (4): the FQDN actually placed in the DNS, enough to remove it.
    pub entered: Option<Fqdn>,
    /// §9.2 (3): OPTION_F_DNS_FLAGS (U, S, R, F bits).
    pub flags: u16,
}

impl DnsInfo {
    /// Nothing known.
    pub fn is_empty(&self) -> bool {
        self.requested.is_none() && self.entered.is_none() && self.flags == 0
    }

    /// Do these flags show that the sender updates the DNS (R or F set)?
    pub fn shows_dns_updates(&self) -> bool {
        self.flags & (FLAG_FWD_UPTODATE | FLAG_REV_UPTODATE) != 0
    }
}

/// One DNS operation on the records of one lease.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DnsOp {
    /// Add AAAA `fqdn` → lease (if `forward`) and PTR lease → `fqdn` (if `reverse`).
    Add {
        /// The name.
        fqdn: Fqdn,
        /// Update the forward zone (AAAA).
        forward: bool,
        /// Update the reverse zone (PTR in ip6.arpa).
        reverse: bool,
    },
    /// Remove the records an earlier add placed (only ours: the driver uses prerequisites).
    Remove {
        /// The name.
        fqdn: Fqdn,
        /// Remove the forward record (AAAA).
        forward: bool,
        /// Remove the reverse record (PTR).
        reverse: bool,
    },
}

/// The DNS part of a lease record: the shared [`DnsInfo`] and the operations this server owes,
/// in order. Persisted with the lease.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseDns {
    /// What is known of the binding's names.
    pub info: DnsInfo,
    /// Operations owed by this server, oldest first; the first is the one asked of the driver.
    pub owed: Vec<DnsOp>,
}

/// Nothing known and nothing owed: what [`DnsSlot`] reads as when it holds nothing.
static NO_DNS: LeaseDns = LeaseDns {
    info: DnsInfo {
        requested: None,
        entered: None,
        flags: 0,
    },
    owed: Vec::new(),
};

/// The [`LeaseDns`] of a lease record, allocated only once something is written to it. A lease
/// record is cloned on every change (the endpoint's hot path: a BNDUPD applied, a BNDREPLY
/// processed), and most leases, all of them on a server without DNS updates, never have a name:
/// a plain `Box` cost an allocation and a free per clone (about a fifth of the time of
/// `endpoint_bench`). Reads go through `Deref` (an empty slot reads as nothing known); the first
/// `DerefMut` allocates. Serialized as the `LeaseDns` it reads as.
#[derive(Clone, Default)]
pub struct DnsSlot(Option<Box<LeaseDns>>);

impl DnsSlot {
    /// Whether anything was ever written (the slot holds an allocation).
    pub fn is_allocated(&self) -> bool {
        self.0.is_some()
    }
}

impl std::ops::Deref for DnsSlot {
    type Target = LeaseDns;
    fn deref(&self) -> &LeaseDns {
        self.0.as_deref().unwrap_or(&NO_DNS)
    }
}

impl std::ops::DerefMut for DnsSlot {
    fn deref_mut(&mut self) -> &mut LeaseDns {
        self.0.get_or_insert_with(Box::default)
    }
}

impl PartialEq for DnsSlot {
    fn eq(&self, other: &DnsSlot) -> bool {
        **self == **other
    }
}

impl Eq for DnsSlot {}

impl fmt::Debug for DnsSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl Serialize for DnsSlot {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for DnsSlot {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<DnsSlot, D::Error> {
        let dns = LeaseDns::deserialize(d)?;
        Ok(DnsSlot((dns != NO_DNS).then(|| Box::new(dns))))
    }
}

/// [`Output::Dns`](crate::Output::Dns): perform `op` for `lease`, then report with
/// [`Endpoint::handle_dns_result`](crate::Endpoint::handle_dns_result) and the same `id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRequest {
    /// Identifies this request in the result.
    pub id: u64,
    /// The address or prefix the records are for.
    pub lease: LeaseKey,
    /// What to do.
    pub op: DnsOp,
}

/// DNS configuration of one server (§9: "MAY also support DNS updates").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsConfig {
    /// Perform DNS updates (§9.3, §9.4). Off: names are still exchanged and returned (§9.5).
    pub enabled: bool,
    /// Zone the names are placed in (e.g. `"example.com"`).
    pub zone: String,
    /// Add/remove AAAA records.
    pub forward: bool,
    /// Add/remove PTR records.
    pub reverse: bool,
    /// Use the name the client requested (its first label, placed in `zone`), RFC 4704.
    pub use_client_fqdn: bool,
    /// Synthesize `"{label}-{lease}"` when the client requests no name (`None`: no name).
    pub synthesize_label: Option<String>,
    /// Synthesize `"{label}-{client DUID in hex}"` instead of `"{label}-{lease}"`: one name per
    /// client and server, whatever lease it holds (the conformance harness configures this, as
    /// the model names a binding by its client and the server that granted it, reading R24).
    pub synthesize_from_client: bool,
    /// With `enabled` off, reject (DNSUpdateNotSupported, §9) a BNDUPD showing that the partner
    /// updates the DNS, instead of only warning.
    pub refuse_partner_updates: bool,
    /// Seconds before a failed DNS operation is asked again.
    pub retry: u64,
}

impl Default for DnsConfig {
    fn default() -> DnsConfig {
        DnsConfig {
            enabled: false,
            zone: String::new(),
            forward: true,
            reverse: true,
            use_client_fqdn: true,
            synthesize_label: None,
            synthesize_from_client: false,
            refuse_partner_updates: false,
            retry: 30,
        }
    }
}

impl DnsConfig {
    /// The name for a new binding of `lease` to `client`: the client's (if used) or a
    /// synthesized one, with the U or S flag (§5.5.3.3).
    pub fn name_for(
        &self,
        lease: &LeaseKey,
        client: Option<&ClientId>,
        requested: Option<&str>,
    ) -> Option<(Fqdn, u16)> {
        let requested = requested
            .map(|r| r.trim_end_matches('.'))
            .filter(|r| !r.is_empty());
        if let (true, Some(r)) = (self.use_client_fqdn, requested) {
            let host = r.split('.').next().unwrap_or(r);
            return Some((
                Fqdn::new(host, self.zone.clone()),
                FLAG_USING_REQUESTED_FQDN,
            ));
        }
        let label = self.synthesize_label.as_ref()?;
        let id = match (self.synthesize_from_client, client, lease) {
            (true, Some(c), _) => c.0.iter().map(|b| format!("{b:02x}")).collect(),
            (_, _, LeaseKey::Addr(a)) => a.to_string().replace(':', "-"),
            (_, _, LeaseKey::Prefix(a, l)) => format!("{}-{l}", a.to_string().replace(':', "-")),
        };
        let host = format!("{label}-{id}").replace("--", "-0-");
        Some((
            Fqdn::new(host.trim_matches('-'), self.zone.clone()),
            FLAG_SYNTHESIZED_NAME,
        ))
    }
}

/// The endpoint's volatile DNS bookkeeping (the owed operations themselves are in the leases).
#[derive(Clone, Debug, Default)]
pub(crate) struct DnsBook {
    next_id: u64,
    /// Requests handed to the driver and not answered: id → (lease, operation asked). The
    /// operation may have been dropped from the owed list meanwhile (reading R26).
    in_flight: BTreeMap<u64, (LeaseKey, DnsOp)>,
    /// Leases whose first owed operation is with the driver.
    issued: BTreeSet<LeaseKey>,
    /// Requests withdrawn with `Output::DnsCancel`, awaiting the driver's answer.
    withdrawn: BTreeSet<u64>,
    /// Failed operations wait until then.
    retry_at: BTreeMap<LeaseKey, Time>,
    /// The FQDN of the client request being handled (`handle_client_with_fqdn`).
    pub(crate) client_fqdn: Option<String>,
    /// The §9 warning about a partner doing DNS updates was given.
    warned: bool,
}

impl DnsBook {
    pub(crate) fn next_retry(&self) -> Option<Time> {
        self.retry_at.values().min().copied()
    }
}

/// The name a record knows for its binding (§9.2 items 1–2; with no disambiguation the name
/// placed is the one requested or synthesized).
pub(crate) fn binding_name(info: &DnsInfo) -> Option<&Fqdn> {
    info.entered.as_ref().or(info.requested.as_ref())
}

/// Are the binding's records recorded as added (flag F or R of §5.5.3.3)?
pub(crate) fn recorded_added(info: &DnsInfo) -> bool {
    info.flags & (FLAG_FWD_UPTODATE | FLAG_REV_UPTODATE) != 0
}

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
