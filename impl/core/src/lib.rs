//! `failover-core`: a deterministic, sans-IO implementation of one endpoint of the DHCPv6
//! Failover Protocol (RFC 8156): the endpoint state machine (§8), connection management (§6),
//! binding updates (§7) and the lease database with the MCLT rule (§4).
//!
//! It performs no I/O, reads no clock and uses no randomness: time is an argument of every
//! `handle_*` call, and outputs (messages, disconnects, stable-storage writes, client replies,
//! events) are drained with `poll_output`, the next deadline read with `poll_timeout`. A driver
//! owns the socket, the clock and the storage. Where RFC 8156 is ambiguous the project's readings
//! (`docs/readings.md`) are followed and cited as `// reading Rn`. DNS updates (RFC 8156 §9) and
//! reservations are in `dns` and `reservation` (decisions D23–D26).
#![warn(missing_docs, unreachable_pub)]

mod config;
pub mod db;
mod dns;
mod endpoint;
mod lease;
mod message;
mod reservation;
pub mod testkit;
mod time;

#[cfg(test)]
mod tests;

pub use config::{
    Config, ConfigError, CONTACT_PER_KEEPALIVE_TIME, DEFAULT_KEEPALIVE_TIME, MIN_LEASE_LIFETIME,
    PROTOCOL_VERSION,
};
pub use db::Binding;
pub use dns::{
    DnsConfig, DnsInfo, DnsOp, DnsRequest, Fqdn, LeaseDns, FLAG_FWD_UPTODATE, FLAG_REV_UPTODATE,
    FLAG_SYNTHESIZED_NAME, FLAG_USING_REQUESTED_FQDN,
};
pub use endpoint::observe::{DnsOpKind, LeaseView, Observation, OwedDns};
pub use endpoint::state::{responsiveness, Responsiveness};
pub use endpoint::{
    Command, DisconnectReason, Endpoint, EndpointRecord, Event, Output, PersistRecord, StableState,
};
pub use failover_proto::{BindingStatus, MsgKind, Role, ServerState};
pub use lease::{ClientId, LeaseKey, LeaseKind};
pub use message::{
    BndReply, BndUpd, Body, ClientOp, ClientReply, ClientRequest, ConnectParams, ConnectReply,
    Disconnect, LeaseReply, LeaseUpdate, Message, ReplyKind, ServerFlags, StateMsg, StatusCode,
    Xid,
};
pub use reservation::Reservation;
pub use time::{Time, SKEW_TOLERANCE};
