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
//! Who does what (decision D23):
//! * §9.3: the server that grants a *new* binding adds (AAAA and/or PTR); the partner receiving
//!   the BNDUPD does not; renewals do not add.
//! * §9.4: the server that makes a lease PENDING-FREE deletes: outside PARTNER-DOWN when the
//!   BNDREPLY acks its EXPIRED/RELEASED/RESET (the point where `free_lease` runs, reading R16),
//!   in PARTNER-DOWN when it frees the lease itself. The acking partner does not. Nothing frees a
//!   lease in COMMUNICATIONS-INTERRUPTED, so no deletes happen there.
//! * §9.2: after a completed add the server owes a BNDUPD carrying the new status.
//! * §9.5: a server answering a client returns the name it knows, learned from its partner too.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use failover_proto::BindingStatus;
use serde::{Deserialize, Serialize};

use crate::db::Binding;
use crate::endpoint::{Endpoint, Event, Output};
use crate::message::{LeaseKey, LeaseUpdate, StatusCode};
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
            refuse_partner_updates: false,
            retry: 30,
        }
    }
}

impl DnsConfig {
    /// The name for a new binding of `lease`: the client's (if used) or a synthesized one, with
    /// the U or S flag (§5.5.3.3).
    pub fn name_for(&self, lease: &LeaseKey, requested: Option<&str>) -> Option<(Fqdn, u16)> {
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
        let id = match lease {
            LeaseKey::Addr(a) => a.to_string().replace(':', "-"),
            LeaseKey::Prefix(a, l) => format!("{}-{l}", a.to_string().replace(':', "-")),
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
    /// Requests handed to the driver and not answered: id → lease.
    in_flight: BTreeMap<u64, LeaseKey>,
    /// Leases whose first owed operation is with the driver.
    issued: BTreeSet<LeaseKey>,
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
        let b = self.db.get(lease)?;
        b.dns.info.entered.clone().or(b.dns.info.requested.clone())
    }

    fn on_dns_result(&mut self, now: Time, id: u64, result: Result<(), String>) {
        let Some(key) = self.dns.in_flight.remove(&id) else {
            self.log(&format!("ignored DNS result id={id}: no such request"));
            return;
        };
        self.dns.issued.remove(&key);
        let Some(mut b) = self.db.get(&key).cloned() else {
            return;
        };
        if b.dns.owed.is_empty() {
            return;
        }
        match result {
            Err(e) => {
                let retry = self.cfg.dns.retry.max(1);
                self.event(Event::Alarm(format!(
                    "DNS update for {key} failed: {e}; retrying in {retry} s"
                )));
                self.dns.retry_at.insert(key, now.plus(retry));
            }
            Ok(()) => {
                let op = b.dns.owed.remove(0);
                let still_bound = b.dns.owed.is_empty();
                match op {
                    DnsOp::Add {
                        fqdn,
                        forward,
                        reverse,
                    } => {
                        b.dns.info.entered = Some(fqdn);
                        b.dns.info.flags |= if forward { FLAG_FWD_UPTODATE } else { 0 }
                            | if reverse { FLAG_REV_UPTODATE } else { 0 };
                        if still_bound {
                            // §9.2: the partner must learn the new DNS status.
                            self.store_changed(key, b);
                        } else {
                            self.store(key, b);
                        }
                    }
                    DnsOp::Remove { fqdn, .. } => {
                        self.log(&format!("{key}: DNS records of {fqdn} removed (§9.4)"));
                        self.store(key, b);
                    }
                }
                self.issue_dns(key);
            }
        }
    }

    /// Ask the driver for the first owed operation of `key`, unless one is already asked or a
    /// retry is pending.
    pub(crate) fn issue_dns(&mut self, key: LeaseKey) {
        if self.dns.issued.contains(&key) || self.dns.retry_at.contains_key(&key) {
            return;
        }
        let Some(op) = self.db.get(&key).and_then(|b| b.dns.owed.first()).cloned() else {
            return;
        };
        self.dns.next_id += 1;
        let id = self.dns.next_id;
        self.dns.in_flight.insert(id, key);
        self.dns.issued.insert(key);
        self.out
            .push_back(Output::Dns(DnsRequest { id, lease: key, op }));
    }

    /// After a restart: ask again for every operation the stable storage says is owed (§9.4).
    pub(crate) fn dns_restart(&mut self) {
        let owed: Vec<LeaseKey> = self
            .db
            .iter()
            .filter(|(_, b)| !b.dns.owed.is_empty())
            .map(|(k, _)| *k)
            .collect();
        for k in owed {
            self.issue_dns(k);
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
            self.issue_dns(k);
        }
    }

    /// §9.3: a new binding granted by this server. Records the name (requested or synthesized)
    /// and, with DNS updates on, owes the add. `b` is the new ACTIVE record, not yet stored.
    pub(crate) fn dns_on_new_binding(&self, key: &LeaseKey, b: &mut Binding) {
        let requested = self.dns.client_fqdn.as_deref();
        let cfg = &self.cfg.dns;
        let Some((fqdn, how)) = cfg.name_for(key, requested) else {
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

    /// §9.4: this server makes `b` PENDING-FREE. The records placed for the binding (by either
    /// server) are owed a remove, and the names are forgotten. `b` is not yet stored.
    pub(crate) fn dns_on_pending_free(&self, b: &mut Binding) {
        let info = std::mem::take(&mut b.dns.info);
        if !self.cfg.dns.enabled {
            return;
        }
        // An add still owed (or with the driver) may yet place records: remove after it.
        let pending_add = b.dns.owed.iter().rev().find_map(|op| match op {
            DnsOp::Add {
                fqdn,
                forward,
                reverse,
            } => Some((fqdn.clone(), *forward, *reverse)),
            DnsOp::Remove { .. } => None,
        });
        let placed = info.entered.map(|fqdn| {
            (
                fqdn,
                info.flags & FLAG_FWD_UPTODATE != 0,
                info.flags & FLAG_REV_UPTODATE != 0,
            )
        });
        if let Some((fqdn, forward, reverse)) = pending_add.or(placed) {
            if forward || reverse {
                b.dns.owed.push(DnsOp::Remove {
                    fqdn,
                    forward,
                    reverse,
                });
            }
        }
    }

    /// The DNS information to send in a BNDUPD of `b` (§9.2); `None` when there is none.
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

    /// §9.2: an accepted BNDUPD brings the partner's DNS information; §9.3/§9.4: the receiver
    /// neither adds nor deletes. A free status ends the binding's names (its remover is the
    /// partner). What this server owes stays.
    pub(crate) fn dns_merge_update(&self, b: &mut Binding, lu: &LeaseUpdate) {
        match (&lu.dns, b.status) {
            (_, BindingStatus::Free | BindingStatus::FreeBackup) => b.dns.info = DnsInfo::default(),
            (Some(info), _) => b.dns.info = info.clone(),
            (None, _) => {}
        }
    }

    /// §9.3: `key` was just granted to a new client by this server: name it, owe the add.
    pub(crate) fn dns_new_binding(&mut self, key: LeaseKey) {
        let Some(mut b) = self.db.get(&key).cloned() else {
            return;
        };
        self.dns_on_new_binding(&key, &mut b);
        self.store(key, b);
        self.issue_dns(key);
    }

    /// An accepted BNDUPD's extension data (DNS §9.2, reservation flag): merged into the record
    /// `b` the update produced, which is then stored (and owed back to the partner if the
    /// reservation rules say so).
    pub(crate) fn extensions_on_update(&mut self, now: Time, b: &mut Binding, lu: &LeaseUpdate) {
        self.dns_merge_update(b, lu);
        let owed = self.reservation_merge_update(now, b, lu);
        let b = b.clone();
        if owed {
            self.store_changed(lu.lease, b);
        } else {
            self.store(lu.lease, b);
        }
    }
}
