//! The nouns every other module of the core speaks of: a lease ([`LeaseKey`]), the kind of
//! lease a client asks for ([`LeaseKind`]) and a client identity ([`ClientId`]). Data only:
//! this module imports no other module of the crate, so the message, DNS and database
//! modules can all use it without importing each other.

use std::fmt;
use std::net::Ipv6Addr;

use serde::{Deserialize, Serialize};

/// One lease: an address (independent allocation, §4.2.1) or a delegable/delegated prefix
/// (proportional allocation, §4.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LeaseKey {
    /// An IPv6 address (IAADDR).
    Addr(Ipv6Addr),
    /// An IPv6 prefix with its length (IAPREFIX).
    Prefix(Ipv6Addr, u8),
}

impl LeaseKey {
    /// Is this a prefix (proportional allocation)?
    pub const fn is_prefix(&self) -> bool {
        matches!(self, LeaseKey::Prefix(..))
    }

    /// The kind of lease.
    pub const fn kind(&self) -> LeaseKind {
        match self {
            LeaseKey::Addr(_) => LeaseKind::Address,
            LeaseKey::Prefix(..) => LeaseKind::Prefix,
        }
    }
}

impl fmt::Display for LeaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeaseKey::Addr(a) => write!(f, "{a}"),
            LeaseKey::Prefix(a, l) => write!(f, "{a}/{l}"),
        }
    }
}

/// Address or prefix, as asked for by a client (IA_NA or IA_PD): one definition, shared with the
/// model, in `failover_proto`.
pub use failover_proto::LeaseKind;

/// A client identity (the DUID in OPTION_CLIENTID).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClientId(pub Vec<u8>);

impl From<u64> for ClientId {
    fn from(n: u64) -> ClientId {
        ClientId(n.to_be_bytes().to_vec())
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
