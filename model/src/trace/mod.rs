//! Conformance traces (issue 4): the model's behaviour written down as a sequence of events and
//! the observations expected after each, in a versioned JSON format that an implementation in
//! any language can be replayed against (`traces/README.md`, `traces/schema.json`).
//!
//! A trace is generated from the model, never written by hand:
//! * **coverage** traces come from a breadth-first walk of small configurations that keeps the
//!   first (hence shortest) path reaching each endpoint-state transition, each binding-status
//!   transition and each cell of Figure 4 (§7.5.4) not yet covered;
//! * **negative** traces replay the counterexample of each design variant
//!   ([`Variant::ALL`](crate::config::Variant::ALL)) in the model as the RFC is read: a correct
//!   implementation passes them, an implementation with the variant's mistake is expected to
//!   diverge at the step recorded in the trace;
//! * **random** traces are seeded random walks over
//!   [`FailoverModel::step`](crate::model::FailoverModel::step).
//!
//! Scheduling rule (also a mapping rule of the harness): whenever a timer is due, the walks
//! take the due timers before anything else (a real server services its timers when they are
//! due), so the model and an implementation whose clock advance runs its timers see the same
//! order of events.
//!
//! The format itself (types, file text, loading, ITF) is the crate `failover-trace`; this module
//! writes traces in it from the model, one module per concept (each uses only those above it):
//! * [`vocab`]: model states and actions in the trace's vocabulary;
//! * [`build`](mod@build): a path of the model recorded as a trace (the scheduling rule);
//! * [`coverage`](mod@coverage), [`negative`](mod@negative), [`random`](mod@random): the three
//!   kinds of generated trace;
//! * [`corpus`]: all of them as the files of `traces/`.
//!
//! Their public items are re-exported here, so `trace::of_path` or `trace::corpus_files` name
//! them wherever they live.

pub mod build;
pub mod corpus;
pub mod coverage;
pub mod negative;
pub mod random;
pub mod vocab;

pub use build::*;
pub use corpus::*;
pub use coverage::*;
pub use negative::*;
pub use random::*;
pub use vocab::*;
