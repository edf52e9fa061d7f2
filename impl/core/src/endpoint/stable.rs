//! Stable storage (RFC 8156 §8.2): what survives a restart ([`StableState`],
//! [`EndpointRecord`], [`PersistRecord`]) and the endpoint's writes of it; every lease change
//! goes through `store` so that it is persisted before any message that depends on it
//! (§7.5.2).

use std::collections::BTreeMap;

use failover_proto::ServerState;
use serde::{Deserialize, Serialize};

use crate::db::Binding;
use crate::lease::LeaseKey;
use crate::time::Time;

use super::{Endpoint, Output};

/// What §8.2 says survives a restart, plus the lease database.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StableState {
    /// The endpoint's record.
    pub endpoint: EndpointRecord,
    /// The lease database.
    pub leases: BTreeMap<LeaseKey, Binding>,
}

impl StableState {
    /// Apply one persisted record (what a driver does with `Output::Persist`).
    pub fn apply(&mut self, rec: &PersistRecord) {
        match rec {
            PersistRecord::Endpoint(e) => self.endpoint = e.clone(),
            PersistRecord::Lease { key, binding } => {
                self.leases.insert(*key, binding.clone());
            }
        }
    }
}

/// The endpoint part of stable storage (RFC 8156 §8.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRecord {
    /// Current failover state (never STARTUP: STARTUP is not recorded).
    pub state: Option<ServerState>,
    /// "Previous failover state" (§8.2): the state left last. Not the PREVIOUS-STATE variable of
    /// §8.3.2, which STARTUP derives from `state` (step 1) and step 2.
    pub previous_state: Option<ServerState>,
    /// Start time of the current state.
    pub start_time_of_state: Time,
    /// Partner's failover state.
    pub partner_state: Option<ServerState>,
    /// Start time of the partner's state.
    pub partner_start_time: Option<Time>,
    /// Time of the most recent message received from the partner (as of this record).
    pub last_partner_message: Option<Time>,
    /// When we last entered PARTNER-DOWN.
    pub partner_down_entry: Option<Time>,
    /// Whether we have ever had communications OK with the partner (the C flag, §5.5.15).
    pub communicated: bool,
    /// The MCLT in use (the secondary's is adopted from CONNECT, §6.1.2).
    pub mclt: u64,
    /// When this record was written: the last recorded time of operation (§8.3.2 step 5).
    pub last_operation: Time,
    /// TIME-OF-FAILURE if the driver knows better than `last_operation` (§8.3.2 step 1: "the
    /// time the server failed or a time beyond which the server could not have been operating").
    pub time_of_failure: Option<Time>,
    /// The stable storage was lost and the database has not been recovered yet: set by a server
    /// that knows it lost its storage, cleared when its UPDREQALL is answered by UPDDONE in
    /// RECOVER (RFC 8156 §8.5.2 / reading R23). A restart with this mark set is a restart after
    /// a storage loss: RECOVER, UPDREQALL, and RECOVER-WAIT of reading R22. Older records
    /// without the field read as `false`.
    #[serde(default)]
    pub storage_lost: bool,
}

/// One durable write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PersistRecord {
    /// The endpoint record changed (§8.1, §6.4).
    Endpoint(EndpointRecord),
    /// One lease changed (§7.5.2).
    Lease {
        /// Which lease.
        key: LeaseKey,
        /// Its new record.
        binding: Binding,
    },
}

impl Endpoint {
    pub(crate) fn endpoint_record(&self, now: Time) -> EndpointRecord {
        EndpointRecord {
            state: if self.state == ServerState::Startup {
                Some(self.startup_previous)
            } else {
                Some(self.state)
            },
            previous_state: self.previous_failover_state,
            start_time_of_state: self.start_time_of_state,
            partner_state: self.partner.state,
            partner_start_time: self.partner.start_time,
            last_partner_message: self.partner.last_message,
            partner_down_entry: self.partner_down_entry,
            communicated: self.communicated,
            mclt: self.mclt,
            last_operation: now,
            time_of_failure: None,
            storage_lost: self.after_storage_loss,
        }
    }

    pub(crate) fn persist_endpoint(&mut self, now: Time) {
        let rec = self.endpoint_record(now);
        self.out
            .push_back(Output::Persist(PersistRecord::Endpoint(rec)));
    }

    /// Write a lease and queue its `Persist`, unless the record is unchanged: the database then
    /// already holds it durably (the driver makes every `Persist` durable before acting on any
    /// later output), and rewriting it would only cost a stable-storage write. The common case
    /// is the §7.7 ack of a binding whose acked-partner-lifetime did not move.
    pub(crate) fn store(&mut self, key: LeaseKey, b: Binding) {
        if self.db.get(&key) == Some(&b) {
            return;
        }
        self.out.push_back(Output::Persist(PersistRecord::Lease {
            key,
            binding: b.clone(),
        }));
        self.db.put(key, b);
        self.dns_withdraw_stale(key);
    }

    /// Set a lease's update-pending flag (without a new version: nothing changed).
    pub(crate) fn flag_owed(&mut self, key: LeaseKey) {
        if let Some(mut b) = self.db.get(&key).cloned() {
            if !b.update_pending || b.owed_if_lost {
                b.update_pending = true;
                b.owed_if_lost = false;
                self.store(key, b);
            }
        }
    }

    /// Write a lease changed locally: the partner must be told (lazy update, §4.3).
    pub(crate) fn store_changed(&mut self, key: LeaseKey, mut b: Binding) {
        b.update_pending = true;
        b.hold_until = None;
        self.db.bump(&key);
        self.retry_at.remove(&key);
        self.owed_after_ack.remove(&key);
        self.store(key, b);
    }
}
