//! The projection the conformance harness compares (style guide §9.15: outputs plus a projected
//! observation, never the full internal state).

use std::collections::BTreeMap;

use failover_proto::{BindingStatus, ServerState};
use serde::{Deserialize, Serialize};

use crate::dns::{DnsOp, Fqdn};
use crate::endpoint::Endpoint;
use crate::lease::{ClientId, LeaseKey};
use crate::reservation::Reservation;
use crate::time::Time;

/// What a conformance run observes of one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// Our endpoint state.
    pub state: ServerState,
    /// The partner's state as last announced (`None` if never heard).
    pub partner_state: Option<ServerState>,
    /// Whether communications are OK.
    pub comm_ok: bool,
    /// Every lease.
    pub leases: BTreeMap<LeaseKey, LeaseView>,
}

/// One lease, projected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseView {
    /// binding-status.
    pub status: BindingStatus,
    /// The client (for ACTIVE; a hint otherwise).
    pub client: Option<ClientId>,
    /// state-expiration-time (the client's expiry while ACTIVE).
    pub client_expiry: Option<Time>,
    /// acked-partner-lifetime.
    pub acked_partner_lifetime: Option<Time>,
    /// DNS (RFC 8156 §9.2): the binding's FQDN, if this server knows one (its own or learnt from
    /// a BNDUPD; `None` once the lease passed PENDING-FREE).
    #[serde(default)]
    pub fqdn: Option<Fqdn>,
    /// DNS: the records of `fqdn` are recorded as added (flag F or R of §5.5.3.3).
    #[serde(default)]
    pub dns_added: bool,
    /// DNS: the updates this server owes for the lease (stable storage), oldest first. An add
    /// dropped while its request is with the driver is not listed (decision D27).
    #[serde(default)]
    pub dns_owed: Vec<OwedDns>,
    /// Reservation (design draft §12): the configured client, while the record is reserved.
    #[serde(default)]
    pub reserved_for: Option<ClientId>,
    /// Reservation: cancelled, the un-reserving BNDUPD FREE not yet acked (decision D25); the
    /// lease goes to no client meanwhile.
    #[serde(default)]
    pub reservation_cancelling: bool,
}

/// Which DNS update is owed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DnsOpKind {
    /// Add the records of the name (§9.3).
    Add,
    /// Remove the records of the name (§9.4).
    Remove,
}

/// A DNS update owed for a lease.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwedDns {
    /// Add or remove.
    pub op: DnsOpKind,
    /// The name.
    pub fqdn: Fqdn,
}

impl Endpoint {
    /// Project the endpoint for the conformance harness.
    pub fn observe(&self) -> Observation {
        Observation {
            state: self.state,
            partner_state: self.partner.state,
            comm_ok: self.comm_ok(),
            leases: self
                .db
                .iter()
                .map(|(k, b)| {
                    (
                        *k,
                        LeaseView {
                            status: b.status,
                            client: b.client.clone(),
                            client_expiry: b.state_expiration_time,
                            acked_partner_lifetime: b.acked_partner_lifetime,
                            fqdn: crate::dns::binding_name(&b.dns.info).cloned(),
                            dns_added: crate::dns::recorded_added(&b.dns.info),
                            dns_owed: b
                                .dns
                                .owed
                                .iter()
                                .map(|op| match op {
                                    DnsOp::Add { fqdn, .. } => OwedDns {
                                        op: DnsOpKind::Add,
                                        fqdn: fqdn.clone(),
                                    },
                                    DnsOp::Remove { fqdn, .. } => OwedDns {
                                        op: DnsOpKind::Remove,
                                        fqdn: fqdn.clone(),
                                    },
                                })
                                .collect(),
                            reserved_for: (b.reservation == Reservation::Reserved)
                                .then(|| self.reserved_for(k))
                                .flatten(),
                            reservation_cancelling: b.reservation == Reservation::Cancelling,
                        },
                    )
                })
                .collect(),
        }
    }
}
