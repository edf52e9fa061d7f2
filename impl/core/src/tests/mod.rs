//! Unit and scenario tests of the endpoint (quinn-proto layout: `util.rs` holds the `Pair`).

mod dns;
mod modules;
mod pd_reuse;
mod scenarios;
mod states;
mod util;
