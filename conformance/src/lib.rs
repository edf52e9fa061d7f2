//! `failover-conformance`: replays the model-generated traces of `traces/` against a system
//! under test and reports, step by step, whether it behaves as the model does (issue 4).
//!
//! * [`sut`]: the implementation-neutral interface of a system under test, in concrete terms
//!   (seconds, IPv6 addresses and prefixes, client DUIDs) — what an implementation sees.
//! * [`mapping`]: the one place where the model's abstractions meet real values: ticks to
//!   seconds, `A0`/`P0` to addresses/prefixes, client numbers to DUIDs, and which observations
//!   are compared.
//! * [`inproc`]: our implementation (`failover-core`) in-process, two endpoints wired back to
//!   back; with [`inproc::Breakage`] options that make it deliberately wrong (for the tests that
//!   prove the harness can fail).
//! * [`stdio`]: any external program speaking the JSON-lines protocol of `conformance/README.md`.
//! * [`runner`]: loading traces, replaying, stopping at the first divergence, reports.
//! * [`scenario`]: the hand-written RFC scenarios of `conformance/scenarios/` (one endpoint,
//!   given / when / then, in seconds and real addresses), their loader and reports;
//!   [`scenario_core`] runs them against `failover-core` in-process.
//! * [`capture`]: pcap/pcapng captures of a pair: written from the octets two endpoints sent,
//!   read back (TCP reassembled, frames cut and decoded) for `failover explain --pcap`.
//! * [`differential`]: random paths through the model replayed against a SUT, with the first
//!   disagreement shrunk by quickcheck to a minimal case.
//! * [`wire`]: wire-level conformance of any RFC 8156 server over the network (the harness is
//!   its partner over TCP and its DHCPv6 clients over UDP).
#![warn(missing_docs)]

pub mod capture;
pub mod differential;
pub mod inproc;
pub mod mapping;
pub mod runner;
pub mod scenario;
pub mod scenario_core;
pub mod stdio;
pub mod sut;
pub mod wire;
