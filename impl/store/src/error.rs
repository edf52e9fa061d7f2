//! `StoreError`: what went wrong, on which file, and (through `source()`) why.
//!
//! Every variant names the store's path, because a server may keep more than one store and an
//! operator reading a log line needs to know which file to look at. `Display` gives the context
//! only; the underlying cause (an `io::Error`, a redb error, a serde_json error) is returned by
//! [`std::error::Error::source`], following the Rust API guidelines, so that a reporter that
//! walks the chain (`anyhow`'s `{:#}`, for instance) prints each cause once.

use std::error::Error;
use std::fmt;
use std::io;
use std::path::PathBuf;

/// A failure of the stable storage.
///
/// On every error path the store's file keeps what was last committed: a failed
/// [`commit`](crate::Store::commit) is rolled back as a whole, and a failed open never
/// initialises or rewrites a file that it did not create.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The file exists but is not a failover-store database (not redb at all, an empty file, a
    /// directory, or a redb database written by some other program). It is left as it was.
    NotAStore {
        /// The file that was refused.
        path: PathBuf,
        /// Why it is not ours, in words.
        reason: String,
    },
    /// The store was written by a newer failover-store whose schema this build does not know.
    /// Opening it anyway could misread or overwrite records, so it is refused.
    NewerSchema {
        /// The store that was refused.
        path: PathBuf,
        /// The schema version recorded in the file.
        found: u32,
        /// The newest schema version this build reads and writes ([`crate::SCHEMA_VERSION`]).
        supported: u32,
    },
    /// Another `Store` (in this process or another one) has the file open. redb holds an
    /// exclusive lock on the file, so two servers cannot share one lease database by mistake.
    Locked {
        /// The store that is locked.
        path: PathBuf,
    },
    /// An earlier write through this `Store` failed with an I/O error (a full disk, say), and redb
    /// refuses further writes through it until the store is reopened. The file still holds
    /// everything committed before that failure.
    NeedsReopen {
        /// The store.
        path: PathBuf,
    },
    /// An operating-system I/O error (including a full disk) while doing `action`.
    Io {
        /// The file (or, while creating a store, the directory) involved.
        path: PathBuf,
        /// What the store was doing, e.g. `"committing a transaction"`.
        action: &'static str,
        /// The I/O error.
        source: io::Error,
    },
    /// redb reported a failure that is not plain I/O (for example a checksum mismatch, which
    /// means the file was damaged outside redb) while doing `action`.
    Database {
        /// The store involved.
        path: PathBuf,
        /// What the store was doing, e.g. `"reading the bindings table"`.
        action: &'static str,
        /// The redb error (boxed so that redb's types are not part of this crate's API).
        source: Box<dyn Error + Send + Sync + 'static>,
    },
    /// A record could not be encoded as JSON. Nothing of the commit was written.
    Encode {
        /// The store the commit was for.
        path: PathBuf,
        /// The table the record was for (`"bindings"` or `"endpoint"`).
        table: &'static str,
        /// The record's key.
        key: String,
        /// The serde_json error.
        source: serde_json::Error,
    },
    /// A stored record does not decode as the expected type. The record is left as it is.
    Decode {
        /// The store that holds the record.
        path: PathBuf,
        /// The table that holds the record (`"bindings"` or `"endpoint"`).
        table: &'static str,
        /// The record's key.
        key: String,
        /// The Rust type the record was decoded as.
        type_name: &'static str,
        /// The serde_json error (it gives the line and column within the record).
        source: serde_json::Error,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotAStore { path, reason } => write!(
                f,
                "{} is not a failover-store database ({reason}); refusing to use it",
                path.display()
            ),
            StoreError::NewerSchema {
                path,
                found,
                supported,
            } => write!(
                f,
                "{} has store schema version {found}, but this build of failover-store \
                 supports only version {supported}; refusing to open it (use a newer build)",
                path.display()
            ),
            StoreError::Locked { path } => write!(
                f,
                "{} is already open by another failover-store (in this or another process)",
                path.display()
            ),
            StoreError::NeedsReopen { path } => write!(
                f,
                "{}: an earlier write failed, so this handle accepts no more writes; \
                 reopen the store",
                path.display()
            ),
            StoreError::Io { path, action, .. } => {
                write!(f, "{}: I/O error while {action}", path.display())
            }
            StoreError::Database { path, action, .. } => {
                write!(f, "{}: database error while {action}", path.display())
            }
            StoreError::Encode {
                path, table, key, ..
            } => write!(
                f,
                "{}: record {key:?} for table `{table}` could not be encoded as JSON; \
                 nothing was committed",
                path.display()
            ),
            StoreError::Decode {
                path,
                table,
                key,
                type_name,
                ..
            } => write!(
                f,
                "{}: record {key:?} in table `{table}` does not decode as {type_name}",
                path.display()
            ),
        }
    }
}

impl Error for StoreError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            StoreError::NotAStore { .. }
            | StoreError::NewerSchema { .. }
            | StoreError::Locked { .. }
            | StoreError::NeedsReopen { .. } => None,
            StoreError::Io { source, .. } => Some(source),
            StoreError::Database { source, .. } => Some(source.as_ref()),
            StoreError::Encode { source, .. } | StoreError::Decode { source, .. } => Some(source),
        }
    }
}

impl StoreError {
    /// Classifies an error from redb: plain I/O becomes [`StoreError::Io`] (so a caller can look
    /// for `ErrorKind::StorageFull`), redb's refusal after an earlier I/O error
    /// [`StoreError::NeedsReopen`], everything else [`StoreError::Database`].
    pub(crate) fn redb(path: &std::path::Path, action: &'static str, err: redb::Error) -> Self {
        match err {
            redb::Error::Io(source) => StoreError::Io {
                path: path.to_path_buf(),
                action,
                source,
            },
            redb::Error::PreviousIo => StoreError::NeedsReopen {
                path: path.to_path_buf(),
            },
            other => StoreError::Database {
                path: path.to_path_buf(),
                action,
                source: Box::new(other),
            },
        }
    }
}
