//! `failover-daemon`: `failover serve`, one server of an RFC 8156 DHCPv6 failover relationship
//! on a real network.
//!
//! This crate is the *driver* over the sans-IO [`failover_node::Node`], as quinn is over
//! quinn-proto: it alone owns sockets, the clock, timers and threads. failover-core and
//! failover-node never import it.
//!
//! ```text
//!  DHCPv6 clients ──UDP 547──► dhcp::Inbound ──ClientRequest──► Node ──ClientReply──► dhcp reply
//!  partner ◄──TCP 647 (RFC 8156 §6)──► partner.rs ──bytes──► Node ──Transmit──► partner
//!  operator ──Unix socket, JSON lines──► ctl.rs ──Command──► Node
//!  clock ──now (seconds since 2000-01-01)──► Node::handle_timeout at Node::poll_timeout
//! ```
//!
//! | module | what |
//! |---|---|
//! | [`config`] | the TOML file, validated; the core's configuration from it |
//! | [`dhcp`] | RFC 8415 messages (via `dhcproto`) ↔ core client requests and replies |
//! | [`duid`] | the server DUID, made once and kept across restarts |
//! | [`clock`] | wall clock → the core's `Time`, never going backwards |
//! | [`tls`] | the partner link's security: STARTTLS, mutual TLS, the partner's certificate (RFC 8156 §10) |
//! | [`ctl`] | the operator protocol (`failover ctl`): requests, answers, the client side |
//! | [`driver`] | the event loop: one task owns the node and feeds it in order |
//! | [`timing`] | service times of the node's calls, for benchmarks (`ctl status`) |
//! | [`breakage`] | **test only**: deliberate breakages (`FAILOVER_BREAK`) that the wire conformance suite must catch |

pub mod breakage;
pub mod clock;
pub mod config;
pub mod ctl;
pub mod dhcp;
pub mod driver;
pub mod duid;
pub mod timing;
pub mod tls;
pub mod udp;
