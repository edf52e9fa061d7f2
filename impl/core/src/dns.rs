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

use serde::{Deserialize, Serialize};

use crate::lease::{ClientId, LeaseKey};
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
    pub(crate) next_id: u64,
    /// Requests handed to the driver and not answered: id → (lease, operation asked). The
    /// operation may have been dropped from the owed list meanwhile (reading R26).
    pub(crate) in_flight: BTreeMap<u64, (LeaseKey, DnsOp)>,
    /// Leases whose first owed operation is with the driver.
    pub(crate) issued: BTreeSet<LeaseKey>,
    /// Requests withdrawn with `Output::DnsCancel`, awaiting the driver's answer.
    pub(crate) withdrawn: BTreeSet<u64>,
    /// Failed operations wait until then.
    pub(crate) retry_at: BTreeMap<LeaseKey, Time>,
    /// The FQDN of the client request being handled (`handle_client_with_fqdn`).
    pub(crate) client_fqdn: Option<String>,
    /// The §9 warning about a partner doing DNS updates was given.
    pub(crate) warned: bool,
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
