//! `failover-conformance`: replays the model-generated traces of `traces/` against a system
//! under test and reports, step by step, whether it behaves as the model does (issue 4).
//!
//! It links no implementation (issue 20 §1): it depends on failover-proto (the RFC's vocabulary
//! and wire codec), failover-trace (the trace format), serde and the capture and DHCPv6 codec
//! crates only. The adapters that link our own implementation and the model (in-process replay,
//! scenarios on failover-core, the differential runner) are the crate `failover-replay` beside
//! it; `tests/traceability.rs` checks the dependency graph.
//!
//! * [`sut`]: the implementation-neutral interface of a system under test, in concrete terms
//!   (seconds, IPv6 addresses and prefixes, client DUIDs) — what an implementation sees.
//! * [`mapping`]: the one place where the model's abstractions meet real values: ticks to
//!   seconds, `A0`/`P0` to addresses/prefixes, client numbers to DUIDs, and which observations
//!   are compared.
//! * [`stdio`]: any external program speaking the JSON-lines protocol of `conformance/README.md`.
//! * [`runner`]: replaying loaded traces, stopping at the first divergence, reports (loading
//!   itself is `failover-trace`'s, re-exported here).
//! * [`scenario`]: the hand-written RFC scenarios of `conformance/scenarios/` (one endpoint,
//!   given / when / then, in seconds and real addresses), their loader and reports.
//! * [`capture`]: pcap/pcapng captures of a pair: written from the octets two endpoints sent,
//!   read back (TCP reassembled, frames cut and decoded) for `failover explain --pcap`.
//! * [`wire`]: wire-level conformance of any RFC 8156 server over the network (the harness is
//!   its partner over TCP and its DHCPv6 clients over UDP).
#![warn(missing_docs)]

pub mod capture;
pub mod mapping;
pub mod runner;
pub mod scenario;
pub mod stdio;
pub mod sut;
pub mod wire;
