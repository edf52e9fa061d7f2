//! Helpers shared by the integration tests: a scratch directory and small record types.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A directory under the system temp dir, removed on drop. (No `tempfile` dependency: the
/// workspace lock file is shared, and this is all we need.)
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "failover-store-{name}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    pub fn dir(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A stand-in for failover-core's binding record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub status: String,
    pub valid_lifetime: u32,
    pub duid: Vec<u8>,
}

impl Binding {
    pub fn active(n: u32) -> Binding {
        Binding {
            status: "ACTIVE".into(),
            valid_lifetime: n,
            duid: vec![0, 1, (n >> 8) as u8, n as u8],
        }
    }
}

/// A stand-in for failover-core's endpoint state (the §8.2 items).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub state: String,
    pub previous: Option<String>,
    pub since: u64,
    pub partner: Option<String>,
}

impl Endpoint {
    pub fn at(state: &str, since: u64) -> Endpoint {
        Endpoint {
            state: state.into(),
            previous: None,
            since,
            partner: None,
        }
    }
}

pub type TestStore = failover_store::Store<Binding, Endpoint>;
