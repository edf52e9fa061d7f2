//! Files that are not (or no longer) what the store expects: each is refused with an error that
//! names the file and the reason, and nothing already in the file is changed.
//!
//! Table and key names are spelled out here on purpose: they are the on-disk format (see the
//! crate documentation), and these tests fail if it changes by accident.

mod common;

use common::{Binding, Scratch, TestStore};
use failover_store::{Change, StoreError, SCHEMA_VERSION};
use redb::TableDefinition;

/// A store table as redb sees it: text keys, byte values.
fn raw(name: &str) -> TableDefinition<'_, &'static str, &'static [u8]> {
    TableDefinition::new(name)
}

/// Overwrites one value of a store's table with raw bytes, behind the store's back.
fn poke(path: &std::path::Path, table: &str, key: &str, bytes: &[u8]) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(raw(table))
        .unwrap()
        .insert(key, bytes)
        .unwrap();
    txn.commit().unwrap();
}

fn peek(path: &std::path::Path, table: &str, key: &str) -> Option<Vec<u8>> {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(raw(table)).unwrap();
    let value = table.get(key).unwrap();
    value.map(|v| v.value().to_vec())
}

fn assert_names_path(err: &StoreError, path: &std::path::Path) {
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
}

/// Deterministic pseudo-random bytes (xorshift), so that a failure can be reproduced.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

#[test]
fn random_bytes_are_refused_and_left_untouched() {
    let dir = Scratch::new("noise");
    for (i, len) in [3usize, 4096, 100_000].into_iter().enumerate() {
        let path = dir.path(&format!("noise-{i}.redb"));
        let before = noise(len, 0x5eed + i as u64);
        std::fs::write(&path, &before).unwrap();
        let err = TestStore::open(&path).unwrap_err();
        assert!(
            matches!(&err, StoreError::NotAStore { reason, .. } if reason.contains("not a redb")),
            "{err:?}"
        );
        assert_names_path(&err, &path);
        assert_eq!(std::fs::read(&path).unwrap(), before, "file was modified");
    }
}

#[test]
fn an_empty_file_is_refused_and_left_empty() {
    let dir = Scratch::new("empty");
    let path = dir.path("leases.redb");
    std::fs::write(&path, b"").unwrap();
    let err = TestStore::open(&path).unwrap_err();
    assert!(
        matches!(&err, StoreError::NotAStore { reason, .. } if reason.contains("empty")),
        "{err:?}"
    );
    assert_names_path(&err, &path);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
}

#[test]
fn a_directory_is_refused() {
    let dir = Scratch::new("dir");
    let err = TestStore::open(dir.dir()).unwrap_err();
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
}

#[test]
fn a_missing_parent_directory_is_an_io_error_naming_the_path() {
    let dir = Scratch::new("noparent");
    let path = dir.path("no/such/dir/leases.redb");
    let err = TestStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    assert!(std::error::Error::source(&err).is_some());
    assert!(err.to_string().contains("no/such/dir"), "{err}");
}

#[test]
fn another_programs_redb_database_is_refused_and_its_data_kept() {
    let dir = Scratch::new("foreign");
    let path = dir.path("other.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(raw("users"))
            .unwrap()
            .insert("alice", b"admin".as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let err = TestStore::open(&path).unwrap_err();
    assert!(
        matches!(&err, StoreError::NotAStore { reason, .. } if reason.contains("meta")),
        "{err:?}"
    );
    assert_names_path(&err, &path);
    assert_eq!(
        peek(&path, "users", "alice").as_deref(),
        Some(&b"admin"[..])
    );
}

#[test]
fn a_store_with_a_newer_schema_version_is_refused_and_kept() {
    let dir = Scratch::new("newer");
    let path = dir.path("leases.redb");
    {
        let mut store = TestStore::open(&path).unwrap();
        store
            .commit(&[Change::PutBinding("2001:db8::1", &Binding::active(1))])
            .unwrap();
    }
    assert_eq!(
        peek(&path, "meta", "schema_version").as_deref(),
        Some(SCHEMA_VERSION.to_string().as_bytes())
    );
    let newer = SCHEMA_VERSION + 1;
    poke(
        &path,
        "meta",
        "schema_version",
        newer.to_string().as_bytes(),
    );

    let err = TestStore::open(&path).unwrap_err();
    match &err {
        StoreError::NewerSchema {
            found, supported, ..
        } => assert_eq!((*found, *supported), (newer, SCHEMA_VERSION)),
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&format!("version {newer}"))
            && text.contains(&format!("version {SCHEMA_VERSION}")),
        "{text}"
    );
    assert_names_path(&err, &path);
    // The refused store still holds its binding.
    assert!(peek(&path, "bindings", "2001:db8::1").is_some());
}

#[test]
fn a_store_whose_format_marker_is_wrong_is_refused() {
    let dir = Scratch::new("format");
    let path = dir.path("leases.redb");
    drop(TestStore::open(&path).unwrap());
    poke(&path, "meta", "format", b"something-else");
    let err = TestStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
}

#[test]
fn a_corrupted_binding_record_is_an_error_naming_its_key_and_is_kept() {
    let dir = Scratch::new("corrupt");
    let path = dir.path("leases.redb");
    {
        let mut store = TestStore::open(&path).unwrap();
        store
            .commit(&[
                Change::PutBinding("2001:db8::1", &Binding::active(1)),
                Change::PutBinding("2001:db8::7", &Binding::active(7)),
            ])
            .unwrap();
    }
    poke(&path, "bindings", "2001:db8::7", b"{\"status\": \"ACT");

    let store = TestStore::open(&path).unwrap();
    for err in [
        store.load().unwrap_err(),
        store.binding("2001:db8::7").unwrap_err(),
    ] {
        match &err {
            StoreError::Decode { table, key, .. } => {
                assert_eq!((*table, key.as_str()), ("bindings", "2001:db8::7"))
            }
            other => panic!("expected Decode, got {other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains("2001:db8::7") && text.contains("bindings"),
            "{text}"
        );
        assert_names_path(&err, &path);
        assert!(std::error::Error::source(&err).is_some());
    }
    // The sound record is still readable, and the damaged one was not removed.
    assert_eq!(
        store.binding("2001:db8::1").unwrap(),
        Some(Binding::active(1))
    );
    drop(store);
    assert_eq!(
        peek(&path, "bindings", "2001:db8::7").as_deref(),
        Some(&b"{\"status\": \"ACT"[..])
    );
}

#[test]
fn a_record_of_the_wrong_shape_or_not_utf8_is_an_error_not_a_panic() {
    let dir = Scratch::new("shape");
    let path = dir.path("leases.redb");
    drop(TestStore::open(&path).unwrap());
    poke(&path, "endpoint", "state", b"{\"state\": 42}");
    poke(&path, "bindings", "2001:db8::9", &[0xff, 0xfe, 0x00]);
    let store = TestStore::open(&path).unwrap();
    let err = store.endpoint().unwrap_err();
    assert!(
        matches!(&err, StoreError::Decode { table: "endpoint", key, type_name, .. }
            if key == "state" && type_name.ends_with("Endpoint")),
        "{err:?}"
    );
    let err = store.binding("2001:db8::9").unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Decode {
                table: "bindings",
                ..
            }
        ),
        "{err:?}"
    );
}
