//! `failover-trace`: the conformance trace format of RFC 8156 failover (issue 4), on its own so
//! that a harness can read traces without linking the model that writes them (issue 20 §1).
//!
//! A trace is the model's behaviour written down as a sequence of events and the observations
//! expected after each, in a versioned JSON format that an implementation in any language can be
//! replayed against (`traces/README.md`, `traces/schema.json`). The model (`failover-model`)
//! builds traces of these types; the harness (`failover-conformance`) loads and replays them.
//!
//! * the types ([`Trace`], [`Event`], [`Observation`], ...), the [`FORMAT`] name and the
//!   schema [`VERSION`];
//! * the file text of a trace ([`to_text`], [`file_name`]): the exact bytes of `traces/`;
//! * loading with validation ([`parse`], [`load_file`], [`load_dir`], [`scan_dir`]): errors name
//!   the file and the field at fault;
//! * the export to the Informal Trace Format of Apalache and Quint ([`to_itf`]).
//!
//! Depends on failover-proto (the RFC's state and binding-status names) and serde only.
#![warn(missing_docs)]

mod itf;
mod load;
mod schema;
mod text;

pub use itf::to_itf;
pub use load::{load_dir, load_file, parse, scan_dir, Loaded};
pub use schema::*;
pub use text::{file_name, to_text};
