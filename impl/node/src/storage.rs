//! How a node's records are keyed in `failover-store`, and how to write a store directly (to
//! seed a benchmark or a test with a database a node then opens).

use std::net::Ipv6Addr;
use std::path::Path;

use failover_core::{LeaseKey, PersistRecord, StableState};
use failover_store::{Change, StoreError};

use crate::node::NodeStore;

/// The store key of a lease: the address (`2001:db8::1`) or the prefix with its length
/// (`2001:db8:1::/56`), as `failover-store` documents its `bindings` table.
pub fn lease_key_text(key: &LeaseKey) -> String {
    key.to_string()
}

/// The lease of a store key written by [`lease_key_text`]; `None` if it is neither an IPv6
/// address nor an IPv6 prefix with a length of at most 128.
pub fn parse_lease_key(text: &str) -> Option<LeaseKey> {
    match text.split_once('/') {
        None => text.parse::<Ipv6Addr>().ok().map(LeaseKey::Addr),
        Some((addr, len)) => {
            let addr = addr.parse::<Ipv6Addr>().ok()?;
            let len = len.parse::<u8>().ok().filter(|l| *l <= 128)?;
            Some(LeaseKey::Prefix(addr, len))
        }
    }
}

/// Write `stable` into the store at `path` (created if absent) in one durable commit, as if an
/// endpoint had persisted it. For benchmarks and tests that start a node from a given database.
pub fn seed_store(path: &Path, stable: &StableState) -> Result<(), StoreError> {
    let mut store = NodeStore::open(path)?;
    let keys: Vec<String> = stable.leases.keys().map(lease_key_text).collect();
    let mut changes: Vec<Change<'_, _, _>> = keys
        .iter()
        .zip(stable.leases.values())
        .map(|(k, b)| Change::PutBinding(k, b))
        .collect();
    changes.push(Change::PutEndpoint(&stable.endpoint));
    store.commit(&changes)
}

/// What a store holds, as a [`StableState`] (`None` if it holds no endpoint record); for tests
/// that compare the durable state with the endpoint's.
pub fn load_stable(store: &NodeStore) -> Result<Option<StableState>, StoreError> {
    let snapshot = store.load()?;
    let Some(endpoint) = snapshot.endpoint else {
        return Ok(None);
    };
    let mut stable = StableState {
        endpoint,
        leases: Default::default(),
    };
    for (key, binding) in snapshot.bindings {
        if let Some(k) = parse_lease_key(&key) {
            stable.apply(&PersistRecord::Lease { key: k, binding });
        }
    }
    Ok(Some(stable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_keys_round_trip_through_their_text() {
        let keys = [
            LeaseKey::Addr("2001:db8::1".parse().unwrap()),
            LeaseKey::Addr(Ipv6Addr::UNSPECIFIED),
            LeaseKey::Prefix("2001:db8:1::".parse().unwrap(), 56),
            LeaseKey::Prefix("::".parse().unwrap(), 0),
            LeaseKey::Prefix("2001:db8::1".parse().unwrap(), 128),
        ];
        for k in keys {
            assert_eq!(parse_lease_key(&lease_key_text(&k)), Some(k), "{k}");
        }
        assert_eq!(lease_key_text(&keys[2]), "2001:db8:1::/56");
        for bad in [
            "",
            "2001:db8::/129",
            "2001:db8::/x",
            "10.0.0.1",
            "2001:db8::/",
        ] {
            assert_eq!(parse_lease_key(bad), None, "{bad:?}");
        }
    }
}
