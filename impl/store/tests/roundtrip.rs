//! Round trips through the file: what `commit` returns `Ok` for is what `load` gives back after
//! the store is closed and opened again.

mod common;

use std::collections::BTreeMap;

use common::{Binding, Endpoint, Scratch, TestStore};
use failover_store::{Change, Snapshot, StoreError};
use serde::{Serialize, Serializer};

#[test]
fn a_new_store_is_empty_and_leaves_no_temporary_file() {
    let dir = Scratch::new("new");
    let path = dir.path("leases.redb");
    let store = TestStore::open(&path).unwrap();
    assert_eq!(
        store.load().unwrap(),
        Snapshot {
            bindings: BTreeMap::new(),
            endpoint: None
        }
    );
    assert_eq!(store.path(), path);
    let names: Vec<_> = std::fs::read_dir(dir.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["leases.redb"]);
}

#[test]
fn bindings_and_endpoint_state_survive_reopen() {
    let dir = Scratch::new("reopen");
    let path = dir.path("leases.redb");
    let a = Binding::active(3600);
    let p = Binding::active(7200);
    let state = Endpoint {
        state: "NORMAL".into(),
        previous: Some("RECOVER-DONE".into()),
        since: 1_700_000_000,
        partner: Some("NORMAL".into()),
    };
    {
        let mut store = TestStore::open(&path).unwrap();
        store
            .commit(&[
                Change::PutBinding("2001:db8::1", &a),
                Change::PutBinding("2001:db8:1::/56", &p),
                Change::PutEndpoint(&state),
            ])
            .unwrap();
    }
    let store = TestStore::open(&path).unwrap();
    let snap = store.load().unwrap();
    assert_eq!(
        snap.bindings,
        BTreeMap::from([
            ("2001:db8:1::/56".to_string(), p.clone()),
            ("2001:db8::1".to_string(), a.clone()),
        ])
    );
    assert_eq!(snap.endpoint, Some(state.clone()));
    assert_eq!(store.binding("2001:db8::1").unwrap(), Some(a));
    assert_eq!(store.binding("2001:db8::2").unwrap(), None);
    assert_eq!(store.endpoint().unwrap(), Some(state));
}

#[test]
fn a_later_put_replaces_and_delete_removes_across_reopen() {
    let dir = Scratch::new("delete");
    let path = dir.path("leases.redb");
    {
        let mut store = TestStore::open(&path).unwrap();
        let (one, two) = (Binding::active(1), Binding::active(2));
        store
            .commit(&[
                Change::PutBinding("2001:db8::1", &one),
                Change::PutBinding("2001:db8::2", &one),
                Change::PutEndpoint(&Endpoint::at("STARTUP", 1)),
            ])
            .unwrap();
        store
            .commit(&[
                Change::PutBinding("2001:db8::1", &two),
                Change::DeleteBinding("2001:db8::2"),
                // Deleting what is not there is not an error.
                Change::DeleteBinding("2001:db8::99"),
                Change::PutEndpoint(&Endpoint::at("NORMAL", 2)),
            ])
            .unwrap();
    }
    let snap = TestStore::open(&path).unwrap().load().unwrap();
    assert_eq!(
        snap.bindings,
        BTreeMap::from([("2001:db8::1".to_string(), Binding::active(2))])
    );
    assert_eq!(snap.endpoint, Some(Endpoint::at("NORMAL", 2)));
}

#[test]
fn changes_within_a_commit_apply_in_order() {
    let dir = Scratch::new("order");
    let path = dir.path("leases.redb");
    let mut store = TestStore::open(&path).unwrap();
    let b = Binding::active(9);
    store
        .commit(&[
            Change::PutBinding("put-then-delete", &b),
            Change::DeleteBinding("put-then-delete"),
            Change::DeleteBinding("delete-then-put"),
            Change::PutBinding("delete-then-put", &b),
            Change::PutEndpoint(&Endpoint::at("STARTUP", 1)),
            Change::PutEndpoint(&Endpoint::at("RECOVER", 2)),
        ])
        .unwrap();
    let snap = store.load().unwrap();
    assert_eq!(
        snap.bindings.keys().collect::<Vec<_>>(),
        ["delete-then-put"]
    );
    assert_eq!(snap.endpoint, Some(Endpoint::at("RECOVER", 2)));
}

#[test]
fn a_thousand_changes_in_one_commit_are_all_stored() {
    let dir = Scratch::new("batch");
    let path = dir.path("leases.redb");
    let keys: Vec<String> = (0..1000).map(|i| format!("2001:db8::{i:x}")).collect();
    let records: Vec<Binding> = (0..1000).map(Binding::active).collect();
    {
        let mut store = TestStore::open(&path).unwrap();
        let changes: Vec<_> = keys
            .iter()
            .zip(&records)
            .map(|(k, b)| Change::PutBinding(k, b))
            .collect();
        store.commit(&changes).unwrap();
    }
    let snap = TestStore::open(&path).unwrap().load().unwrap();
    assert_eq!(snap.bindings.len(), 1000);
    for (k, b) in keys.iter().zip(&records) {
        assert_eq!(snap.bindings.get(k), Some(b), "{k}");
    }
}

/// A record whose serialisation fails when `poison` is set, to make a commit fail part-way.
#[derive(Debug, serde::Deserialize, PartialEq)]
struct Fragile {
    n: u32,
    #[serde(skip)]
    poison: bool,
}

impl Serialize for Fragile {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        if self.poison {
            return Err(serde::ser::Error::custom("poisoned record"));
        }
        #[derive(Serialize)]
        struct Plain {
            n: u32,
        }
        Plain { n: self.n }.serialize(s)
    }
}

#[test]
fn a_failed_commit_stores_none_of_its_changes() {
    let dir = Scratch::new("atomic");
    let path = dir.path("leases.redb");
    let mut store = failover_store::Store::<Fragile, Endpoint>::open(&path).unwrap();
    let good = Fragile {
        n: 1,
        poison: false,
    };
    store.commit(&[Change::PutBinding("kept", &good)]).unwrap();

    let batch: Vec<Fragile> = (0..100).map(|n| Fragile { n, poison: n == 99 }).collect();
    let keys: Vec<String> = (0..100).map(|n| format!("new-{n}")).collect();
    let normal = Endpoint::at("NORMAL", 5);
    let mut changes: Vec<_> = vec![Change::DeleteBinding("kept"), Change::PutEndpoint(&normal)];
    changes.extend(
        keys.iter()
            .zip(&batch)
            .map(|(k, b)| Change::PutBinding(k, b)),
    );
    let err = store.commit(&changes).unwrap_err();
    match &err {
        StoreError::Encode { table, key, .. } => {
            assert_eq!((*table, key.as_str()), ("bindings", "new-99"))
        }
        other => panic!("expected Encode, got {other:?}"),
    }
    assert!(err.to_string().contains("new-99"), "{err}");
    drop(store);

    let store = failover_store::Store::<Fragile, Endpoint>::open(&path).unwrap();
    let snap = store.load().unwrap();
    assert_eq!(snap.bindings.keys().collect::<Vec<_>>(), ["kept"]);
    assert_eq!(snap.endpoint, None);
}

#[test]
fn an_empty_commit_is_accepted_and_changes_nothing() {
    let dir = Scratch::new("empty-commit");
    let path = dir.path("leases.redb");
    let mut store = TestStore::open(&path).unwrap();
    store.commit(&[]).unwrap();
    assert!(store.load().unwrap().bindings.is_empty());
}

#[test]
fn a_second_open_of_the_same_file_is_refused_while_the_first_is_open() {
    let dir = Scratch::new("locked");
    let path = dir.path("leases.redb");
    let first = TestStore::open(&path).unwrap();
    let err = TestStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    drop(first);
    TestStore::open(&path).unwrap();
}

#[test]
fn a_leftover_temporary_file_of_an_interrupted_creation_does_not_matter() {
    let dir = Scratch::new("leftover");
    let path = dir.path("leases.redb");
    // What a process killed while creating the store would leave (another pid, half written).
    let leftover = dir.path("leases.redb.creating-1");
    std::fs::write(&leftover, b"half").unwrap();
    let mut store = TestStore::open(&path).unwrap();
    store
        .commit(&[Change::PutBinding("2001:db8::1", &Binding::active(1))])
        .unwrap();
    drop(store);
    assert_eq!(
        TestStore::open(&path)
            .unwrap()
            .load()
            .unwrap()
            .bindings
            .len(),
        1
    );
    assert_eq!(std::fs::read(&leftover).unwrap(), b"half");
}

#[test]
fn a_store_can_move_to_and_be_shared_with_a_driver_thread() {
    fn send_sync<T: Send + Sync>() {}
    // Holds even for record types that are neither: the store holds no record.
    send_sync::<failover_store::Store<std::rc::Rc<u8>, std::cell::Cell<u8>>>();
    send_sync::<StoreError>();
}
