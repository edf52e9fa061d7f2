//! The projection the conformance harness compares (style guide §9.15: outputs plus a projected
//! observation, never the full internal state).

use std::collections::BTreeMap;

use failover_proto::{BindingStatus, ServerState};
use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;
use crate::message::{ClientId, LeaseKey};
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
                        },
                    )
                })
                .collect(),
        }
    }
}
