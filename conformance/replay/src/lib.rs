//! `failover-replay`: the adapters that link our own implementation and the model to the
//! conformance harness (issue 20 §1). They sit beside the harness, as a WebAssembly engine's
//! adapter sits beside the spec suite's runner, so that `failover-conformance` itself links no
//! implementation and testing someone else's server builds neither stateright nor our core.
//!
//! * [`inproc`]: our implementation (`failover-core`) in-process, two endpoints wired back to
//!   back, as a [`failover_conformance::sut::Sut`]; with [`inproc::Breakage`] options that make
//!   it deliberately wrong (for the tests that prove the harness can fail).
//! * [`scenario_core`]: the RFC scenarios of `conformance/scenarios/` run against
//!   `failover-core` in-process ([`failover_conformance::scenario::ScenarioTarget`]).
//! * [`differential`]: random paths through the model (`failover-model`) replayed against a
//!   SUT, with the first disagreement shrunk by quickcheck to a minimal case.
//!
//! Depends on failover-conformance, failover-trace, failover-proto, failover-core, failover-dns,
//! failover-model and quickcheck.
#![warn(missing_docs)]

pub mod differential;
pub mod inproc;
pub mod scenario_core;
