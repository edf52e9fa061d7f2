//! `failover-store`: the stable storage of an RFC 8156 failover endpoint.
//!
//! # What must be stable, and when
//!
//! RFC 8156 asks for two kinds of state to survive a restart:
//!
//! - the **lease database**. §7.5.2: "A server MUST NOT send the BNDREPLY message before its
//!   binding database is updated." A BNDREPLY tells the partner that it may rely on the update
//!   (for instance to extend a lease up to the acked lifetime plus the MCLT, §4.4), so the update
//!   must be on disk before the BNDREPLY leaves;
//! - the **failover state**. §8.1: "whenever a server makes a transition into a new state, it
//!   MUST record the new state, its current understanding of its partner's state, and the time at
//!   which it entered the new state in stable storage". §8.2 lists the items (current and
//!   previous state, start times, partner's state, time of the last message from the partner)
//!   and says that the state machine is initialised by reading them back.
//!
//! The sans-IO endpoint (`failover-core`) does no I/O: it emits "persist" outputs. A driver
//! applies them to a [`Store`] with one [`Store::commit`] and releases the messages that follow
//! them (such as the BNDREPLY) only after `commit` has returned `Ok`. `commit` returns only once
//! the transaction is durable, so "returned" means "in stable storage".
//!
//! This crate does not depend on `failover-core`: [`Store`] is generic over the binding record
//! `B` and the endpoint-state record `S`, which only need serde.
//!
//! # Why redb
//!
//! - **Crash safety by design.** redb is a copy-on-write B-tree store: a commit writes new pages
//!   and then switches the root in the file header, so after a crash the file holds either the
//!   old or the new tree, never a mix. We do not have to write, test and maintain our own
//!   recovery code, as a hand-made append-only log would need (torn tail records, checksums,
//!   compaction, fsync of the directory after a rotation).
//! - **ACID transactions.** A BNDUPD can carry several bindings (§7.5.3) and a state change
//!   writes several §8.2 items; one redb write transaction makes them all durable or none.
//! - **Pure Rust.** No C compiler or system library, unlike SQLite through `rusqlite` (whose
//!   `bundled` feature compiles SQLite's C source). SQLite would serve equally well on crash
//!   safety; we do not need SQL, and a pure-Rust dependency keeps the build of the reference
//!   implementation simple on every platform.
//! - **Maintained**, with a documented file format and a stable 2.x API.
//!
//! # Durability settings
//!
//! Each [`Store::commit`] uses `Durability::Immediate` (fsync before `commit` returns) and, by default,
//! redb's two-phase commit (a second fsync), because binding records hold bytes that DHCP
//! clients choose (DUIDs); redb documents that its one-phase commit, which trusts a checksum,
//! can in theory be made to accept a crafted partial write. [`Options::two_phase_commit`] turns
//! it off; `BENCH.md` gives the cost of each. New files use redb's file format v3, the only
//! format that redb 3 reads, so a later move to redb 3 needs no file migration.
//! [`Store::commit_deferred`] skips the fsync (`Durability::None`): for records that no message
//! or reply depends on, made durable by the next ordinary commit.
//!
//! # On-disk format (schema version 1)
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `meta` | `"format"` | `failover-store` (UTF-8) |
//! | `meta` | `"schema_version"` | the version in decimal, e.g. `1` |
//! | `bindings` | lease key text, e.g. `2001:db8::1` or `2001:db8:1::/56` | the binding, JSON |
//! | `endpoint` | `"state"` | the endpoint (failover) state, JSON |
//!
//! The `meta` table keeps this shape in every schema version, so that any build can read the
//! version and refuse a newer one. Records are JSON so that a store can be read with any redb tool and a field added to `B` or
//! `S` with `#[serde(default)]` keeps old stores readable. A change that old code cannot read
//! bumps [`SCHEMA_VERSION`]; an older build then refuses the file ([`StoreError::NewerSchema`])
//! rather than misread it.
//!
//! # Caveats
//!
//! - If a commit fails with an I/O error (a full disk, for example: [`StoreError::Io`] with
//!   `ErrorKind::StorageFull`) none of it is stored and the file keeps the last committed state,
//!   but redb refuses further writes through the same handle ([`StoreError::NeedsReopen`]): drop
//!   the `Store` and [`Store::open`] it again. The driver must not send the messages that
//!   depended on the failed commit. (Checked by hand on a 6 MiB tmpfs: 273 batches committed,
//!   the 274th failed with `StorageFull`, the reopened store held exactly the 273, and a small
//!   commit then succeeded. Not an automated test: it needs a small filesystem to fill.)
//! - Durability is as good as the `fsync` of the platform and disk. The kill test in
//!   `tests/kill.rs` kills a writer process; it does not cut the power.

mod error;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use redb::{
    Database, Durability, ReadTransaction, ReadableTable, TableDefinition, TableError,
    WriteTransaction,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use error::StoreError;

/// The schema version that this build reads and writes. Stored in the `meta` table.
pub const SCHEMA_VERSION: u32 = 1;

/// The value of `meta["format"]`: tells our stores apart from other redb databases.
const FORMAT_NAME: &str = "failover-store";

// Table names.
const META: &str = "meta";
const BINDINGS: &str = "bindings";
const ENDPOINT: &str = "endpoint";

// Keys of `meta`, and the single key of `endpoint`.
const FORMAT_KEY: &str = "format";
const SCHEMA_KEY: &str = "schema_version";
const ENDPOINT_KEY: &str = "state";

/// Every table has text keys and byte values. Values are bytes, not `&str`, because redb decodes
/// a `&str` value with `unwrap`, and a damaged record must be an error that names its key,
/// never a panic.
fn table(name: &str) -> TableDefinition<'_, &'static str, &'static [u8]> {
    TableDefinition::new(name)
}

/// How a store is opened. `Options::default()` is what [`Store::open`] uses.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// Use redb's two-phase commit (two fsyncs per commit instead of one). Default: `true`.
    /// See the crate documentation, "Durability settings".
    pub two_phase_commit: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            two_phase_commit: true,
        }
    }
}

impl Options {
    /// Sets [`Options::two_phase_commit`].
    pub fn two_phase_commit(mut self, enabled: bool) -> Self {
        self.two_phase_commit = enabled;
        self
    }
}

/// One change within a [`Store::commit`]. Changes are applied in slice order.
#[derive(Debug)]
pub enum Change<'a, B, S> {
    /// Insert or replace the binding stored under a lease key (the address or prefix as text,
    /// e.g. `"2001:db8::1"` or `"2001:db8:1::/56"`).
    PutBinding(&'a str, &'a B),
    /// Remove the binding stored under a lease key; no error if there is none.
    DeleteBinding(&'a str),
    /// Replace the endpoint's failover state (the §8.2 items).
    PutEndpoint(&'a S),
}

// Not derived: a derive would ask `B: Clone` and `S: Clone`, but only references are copied.
impl<B, S> Clone for Change<'_, B, S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<B, S> Copy for Change<'_, B, S> {}

/// Everything in a store, as read by [`Store::load`] when an endpoint starts (§8.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot<B, S> {
    /// The bindings by lease key, in key order.
    pub bindings: BTreeMap<String, B>,
    /// The endpoint state, or `None` if none was ever stored; §8.2 then gives the initial values.
    pub endpoint: Option<S>,
}

/// A lease database and failover state in one redb file.
///
/// One `Store` per file: redb locks the file, and a second open gives [`StoreError::Locked`].
pub struct Store<B, S> {
    db: Database,
    path: PathBuf,
    options: Options,
    // `fn() -> _`: the store holds no `B` or `S`, so it is `Send` and `Sync` whatever they are.
    records: PhantomData<fn() -> (B, S)>,
}

impl<B, S> std::fmt::Debug for Store<B, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<B, S> Store<B, S>
where
    B: Serialize + DeserializeOwned,
    S: Serialize + DeserializeOwned,
{
    /// Opens the store at `path` with default [`Options`], creating it if no file exists there.
    ///
    /// An existing file is used only if it is a failover-store database of a schema version this
    /// build knows; otherwise the error says why ([`StoreError::NotAStore`],
    /// [`StoreError::NewerSchema`]) and the file is not initialised or rewritten. An empty file
    /// is refused too: this function never leaves one behind (see [`Store::open_with`]), so one
    /// was made by something else. The parent directory must exist.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, Options::default())
    }

    /// Opens the store at `path` with the given options; see [`Store::open`].
    ///
    /// A new store is built under a temporary name in the same directory, with its `meta` and
    /// empty tables committed, and then linked to `path` (a hard link, which fails rather than
    /// replace a file that appeared meanwhile). So `path` never names a half-made store, even
    /// if the process dies during creation; at worst a `<name>.creating-<pid>` file is left.
    pub fn open_with(path: &Path, options: Options) -> Result<Self, StoreError> {
        match fs::metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => create(path)?,
            Err(source) => {
                return Err(StoreError::Io {
                    path: path.to_path_buf(),
                    action: "reading the file's metadata",
                    source,
                })
            }
            Ok(meta) if !meta.is_file() => return Err(not_a_store(path, "it is not a file")),
            Ok(meta) if meta.len() == 0 => return Err(not_a_store(path, "the file is empty")),
            Ok(_) => {}
        }
        // `open`, not `create`: redb's `create` would initialise an empty file in place.
        let db = Database::open(path).map_err(|e| open_error(path, e))?;
        let store = Store {
            db,
            path: path.to_path_buf(),
            options,
            records: PhantomData,
        };
        store.check_meta()?;
        Ok(store)
    }

    /// The path the store was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies `changes`, in order, as one atomic transaction, and returns once it is durable
    /// (fsync'd). Only then may the driver send what depends on it, such as the BNDREPLY for
    /// the bindings in `changes` (§7.5.2) or a STATE message announcing a new state (§8.1).
    ///
    /// On `Err` nothing of `changes` is stored. An empty `changes` commits nothing.
    pub fn commit(&mut self, changes: &[Change<'_, B, S>]) -> Result<(), StoreError> {
        self.commit_with(changes, Durability::Immediate)
    }

    /// Applies `changes` as one atomic transaction that is visible at once but **not** fsync'd:
    /// it becomes durable with the next [`commit`](Self::commit). After a crash the file holds
    /// every earlier durable commit, and this one either whole or not at all (redb's
    /// `Durability::None`).
    ///
    /// For records that nothing sent depends on: a driver may use it only when it releases
    /// nothing on the strength of these records (no message to the partner, no client reply),
    /// so that losing them in a crash loses no promise. Example: a primary recording the
    /// partner's BNDREPLY; if that is lost, the primary still holds the update as pending and
    /// sends it again (RFC 8156 §7.6).
    pub fn commit_deferred(&mut self, changes: &[Change<'_, B, S>]) -> Result<(), StoreError> {
        self.commit_with(changes, Durability::None)
    }

    fn commit_with(
        &mut self,
        changes: &[Change<'_, B, S>],
        durability: Durability,
    ) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        // Encode first: an unencodable record then fails the commit before any write.
        let mut encoded = Vec::with_capacity(changes.len());
        for change in changes {
            encoded.push(match *change {
                Change::PutBinding(key, binding) => {
                    (BINDINGS, key, Some(self.encode(BINDINGS, key, binding)?))
                }
                Change::DeleteBinding(key) => (BINDINGS, key, None),
                Change::PutEndpoint(state) => (
                    ENDPOINT,
                    ENDPOINT_KEY,
                    Some(self.encode(ENDPOINT, ENDPOINT_KEY, state)?),
                ),
            });
        }
        let mut txn = self.begin_write()?;
        txn.set_durability(durability);
        // If a write fails, `txn` is dropped uncommitted, which aborts it.
        {
            let mut bindings = txn
                .open_table(table(BINDINGS))
                .map_err(|e| self.redb_error("opening the bindings table", e))?;
            let mut endpoint = txn
                .open_table(table(ENDPOINT))
                .map_err(|e| self.redb_error("opening the endpoint table", e))?;
            for (name, key, value) in &encoded {
                let table = if *name == BINDINGS {
                    &mut bindings
                } else {
                    &mut endpoint
                };
                match value {
                    Some(bytes) => drop(
                        table
                            .insert(*key, bytes.as_slice())
                            .map_err(|e| self.redb_error("writing a record", e))?,
                    ),
                    None => drop(
                        table
                            .remove(*key)
                            .map_err(|e| self.redb_error("deleting a record", e))?,
                    ),
                }
            }
        }
        txn.commit()
            .map_err(|e| self.redb_error("committing a transaction", e))
    }

    /// Reads the whole store: every binding and the endpoint state. This is what an endpoint
    /// reads when it starts (§8.2: "The state machine is initialized by reading these data items
    /// from stable storage").
    pub fn load(&self) -> Result<Snapshot<B, S>, StoreError> {
        let txn = self.begin_read()?;
        let mut bindings = BTreeMap::new();
        if let Some(table) = self.read_table(&txn, BINDINGS)? {
            let iter = table
                .iter()
                .map_err(|e| self.redb_error("reading the bindings table", e))?;
            for entry in iter {
                let (key, value) =
                    entry.map_err(|e| self.redb_error("reading the bindings table", e))?;
                let key = key.value();
                let binding = self.decode(BINDINGS, key, value.value())?;
                bindings.insert(key.to_owned(), binding);
            }
        }
        let endpoint = self.get(&txn, ENDPOINT, ENDPOINT_KEY)?;
        Ok(Snapshot { bindings, endpoint })
    }

    /// Reads the binding stored under `key`, if any.
    pub fn binding(&self, key: &str) -> Result<Option<B>, StoreError> {
        let txn = self.begin_read()?;
        self.get(&txn, BINDINGS, key)
    }

    /// Reads the endpoint state, if one was stored.
    pub fn endpoint(&self) -> Result<Option<S>, StoreError> {
        let txn = self.begin_read()?;
        self.get(&txn, ENDPOINT, ENDPOINT_KEY)
    }

    /// Checks that the file is ours and of a schema version we know.
    fn check_meta(&self) -> Result<(), StoreError> {
        let txn = self.begin_read()?;
        let meta = match txn.open_table(table(META)) {
            Ok(table) => table,
            Err(TableError::TableDoesNotExist(_) | TableError::TableTypeMismatch { .. }) => {
                return Err(not_a_store(
                    &self.path,
                    "it is a redb database without failover-store's `meta` table",
                ))
            }
            Err(e) => return Err(self.redb_error("opening the meta table", e)),
        };
        let read = |key: &str| -> Result<Option<Vec<u8>>, StoreError> {
            meta.get(key)
                .map(|v| v.map(|v| v.value().to_vec()))
                .map_err(|e| self.redb_error("reading the meta table", e))
        };
        if read(FORMAT_KEY)?.as_deref() != Some(FORMAT_NAME.as_bytes()) {
            return Err(not_a_store(
                &self.path,
                "its `meta` table does not say format = failover-store",
            ));
        }
        let version = read(SCHEMA_KEY)?;
        let version = version
            .as_deref()
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse::<u32>().ok());
        match version {
            Some(SCHEMA_VERSION) => Ok(()),
            Some(found) if found > SCHEMA_VERSION => Err(StoreError::NewerSchema {
                path: self.path.clone(),
                found,
                supported: SCHEMA_VERSION,
            }),
            _ => Err(not_a_store(
                &self.path,
                "its `meta` table has no schema version this build knows",
            )),
        }
    }

    fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        let mut txn = self
            .db
            .begin_write()
            .map_err(|e| self.redb_error("starting a write transaction", e))?;
        // fsync before `commit` returns: §7.5.2 and §8.1 need the data on disk, not queued.
        txn.set_durability(Durability::Immediate);
        txn.set_two_phase_commit(self.options.two_phase_commit);
        Ok(txn)
    }

    fn begin_read(&self) -> Result<ReadTransaction, StoreError> {
        self.db
            .begin_read()
            .map_err(|e| self.redb_error("starting a read transaction", e))
    }

    /// Opens a table for reading; `None` if it does not exist (we create both data tables with
    /// the store, but a missing one holds no records either way).
    fn read_table(
        &self,
        txn: &ReadTransaction,
        name: &'static str,
    ) -> Result<Option<redb::ReadOnlyTable<&'static str, &'static [u8]>>, StoreError> {
        match txn.open_table(table(name)) {
            Ok(table) => Ok(Some(table)),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(self.redb_error("opening a table for reading", e)),
        }
    }

    fn get<T: DeserializeOwned>(
        &self,
        txn: &ReadTransaction,
        name: &'static str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let Some(table) = self.read_table(txn, name)? else {
            return Ok(None);
        };
        let value = table
            .get(key)
            .map_err(|e| self.redb_error("reading a record", e))?;
        value.map(|v| self.decode(name, key, v.value())).transpose()
    }

    fn encode<T: Serialize>(
        &self,
        table: &'static str,
        key: &str,
        record: &T,
    ) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(record).map_err(|source| StoreError::Encode {
            path: self.path.clone(),
            table,
            key: key.to_owned(),
            source,
        })
    }

    fn decode<T: DeserializeOwned>(
        &self,
        table: &'static str,
        key: &str,
        bytes: &[u8],
    ) -> Result<T, StoreError> {
        serde_json::from_slice(bytes).map_err(|source| StoreError::Decode {
            path: self.path.clone(),
            table,
            key: key.to_owned(),
            type_name: std::any::type_name::<T>(),
            source,
        })
    }

    fn redb_error(&self, action: &'static str, err: impl Into<redb::Error>) -> StoreError {
        StoreError::redb(&self.path, action, err.into())
    }
}

fn not_a_store(path: &Path, reason: &str) -> StoreError {
    StoreError::NotAStore {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    }
}

/// Maps redb's open errors to ours. redb checks its magic number before it writes anything, and
/// reports a mismatch as `InvalidData`.
fn open_error(path: &Path, err: redb::DatabaseError) -> StoreError {
    match err {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked {
            path: path.to_path_buf(),
        },
        redb::DatabaseError::Storage(redb::StorageError::Io(e))
            if e.kind() == io::ErrorKind::InvalidData =>
        {
            not_a_store(path, "it is not a redb database: its header is not redb's")
        }
        redb::DatabaseError::UpgradeRequired(version) => not_a_store(
            path,
            &format!("it is a redb database in file format {version}, which redb 2 cannot open"),
        ),
        other => StoreError::redb(path, "opening the database", other.into()),
    }
}

/// Creates a new, initialised store at `path` (which did not exist); see [`Store::open_with`].
fn create(path: &Path) -> Result<(), StoreError> {
    let io_error = |action, source| StoreError::Io {
        path: path.to_path_buf(),
        action,
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| not_a_store(path, "the path has no file name"))?;
    let mut temp_name = name.to_os_string();
    temp_name.push(format!(".creating-{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    // A leftover of this same pid can only come from an earlier, failed creation.
    match fs::remove_file(&temp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error("removing a leftover temporary file", e)),
    }
    let result = initialise(&temp, path).and_then(|()| {
        match fs::hard_link(&temp, path) {
            Ok(()) => {}
            // Someone else created the store meanwhile: use theirs, leave it untouched.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error("linking the new store into place", e)),
        }
        // Make the new directory entry durable too.
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error("syncing the directory", e))
    });
    let removed = fs::remove_file(&temp);
    result?;
    removed.map_err(|e| io_error("removing the temporary file", e))
}

/// Writes `meta` and the empty data tables into a new redb file at `temp`, durably. Errors name
/// `path`, the store the caller asked for.
fn initialise(temp: &Path, path: &Path) -> Result<(), StoreError> {
    let fail = |action, e: redb::Error| StoreError::redb(path, action, e);
    let db = Database::builder()
        .create_with_file_format_v3(true)
        .create(temp)
        .map_err(|e| fail("creating the store under a temporary name", e.into()))?;
    let mut txn = db
        .begin_write()
        .map_err(|e| fail("starting a write transaction", e.into()))?;
    txn.set_durability(Durability::Immediate);
    txn.set_two_phase_commit(true);
    {
        let mut meta = txn
            .open_table(table(META))
            .map_err(|e| fail("creating the meta table", e.into()))?;
        let version = SCHEMA_VERSION.to_string();
        for (key, value) in [(FORMAT_KEY, FORMAT_NAME), (SCHEMA_KEY, version.as_str())] {
            meta.insert(key, value.as_bytes())
                .map_err(|e| fail("writing the meta table", e.into()))?;
        }
        for name in [BINDINGS, ENDPOINT] {
            txn.open_table(table(name))
                .map_err(|e| fail("creating a table", e.into()))?;
        }
    }
    txn.commit()
        .map_err(|e| fail("committing the new store", e.into()))
}
