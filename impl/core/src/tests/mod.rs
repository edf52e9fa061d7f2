//! Unit and scenario tests of the endpoint (quinn-proto layout: `util.rs` holds the `Pair`).

mod scenarios;
mod states;
mod util;
