//! `failover-model`: an exhaustively checked model of the DHCPv6 Failover Protocol, RFC 8156.
//!
//! **What is modelled.** Two failover endpoints, a primary and a secondary, each with all ten
//! endpoint states of §8 (STARTUP algorithm §8.3.2, initial states §8.2, every "Transition out
//! of X") and a lease database with the binding-statuses and times of §7.2 and §7.3; both
//! allocation algorithms of §4.2 (independent for addresses, proportional with POOLREQ for
//! delegable prefixes); lazy BNDUPD/BNDREPLY with the accept/reject rules of Figure 4 (§7.5.4);
//! the MCLT rules (§4.4, §8.4.1, §8.6); UPDREQ/UPDREQALL/UPDDONE; STATE. The environment: clients
//! that request, renew, rebind, release and decline and whose leases lapse by their own clock;
//! a discrete clock; partitions, crashes (with or without stable storage), operator commands.
//!
//! **What is abstracted.** Time is in ticks (long compared with the 5 s skew window); CONNECT
//! and CONNECTREPLY are one step; CONTACT keepalives are replaced by an explicit partition
//! action; each client holds at most one lease; a server picks the lowest free lease; DNS (§9)
//! is not yet modelled.
//!
//! **How it is checked.** See [`properties`] for the properties and [`config::Variant`] for the
//! design variants the checker must refute. Readings of ambiguous RFC text are listed in
//! `docs/readings.md` and cited as `R<n>` in [`protocol`].
#![warn(missing_docs)]

pub mod canon;
pub mod chart;
pub mod check;
pub mod config;
pub mod cycles;
pub mod model;
pub mod names;
pub mod properties;
pub mod protocol;
pub mod render;
pub mod rfc6853;
pub mod state;
pub mod trace;

pub use config::{ConfigError, Init, ModelConfig, Reservation, Tick, Variant};
pub use model::{Action, FailoverModel};
pub use state::{LeaseId, LeaseKind, State};
