//! Unit and scenario tests of the endpoint (quinn-proto layout: `util.rs` holds the `Pair`).

mod dns;
mod modules;
mod scenarios;
mod states;
mod util;
