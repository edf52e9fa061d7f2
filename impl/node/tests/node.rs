//! Integration tests of `failover-node`, in one binary (link time): conversion round trips, the
//! driver's durability contract, bad input from the partner, and whole two-node scenarios over
//! the real codec and real stores.

#[path = "node/bad_input.rs"]
mod bad_input;
#[path = "node/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "node/convert.rs"]
mod convert;
#[path = "node/driver.rs"]
mod driver;
#[path = "node/scenarios.rs"]
mod scenarios;
