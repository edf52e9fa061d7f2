//! `failover-node`: one RFC 8156 failover endpoint wired to the wire codec and to stable storage.
//!
//! The three lower crates each do one thing: `failover-proto` turns bytes into typed wire
//! messages and back, `failover-core` is the sans-IO state machine over semantic messages, and
//! `failover-store` makes records durable. A [`Node`] joins them, and is still sans-IO: the
//! driver (a daemon, the [`sim`] harness, the benchmark) owns the socket and the clock, passes
//! received octets and `now` in, and acts on the [`Output`]s that come out.
//!
//! ```text
//!   partner bytes ──► FrameDecoder ──► wire::Message ──► convert::from_wire ──► Endpoint
//!                     (RFC 5460 §5.1)   (RFC 8156 §5.2)                          │ outputs, in order
//!   partner bytes ◄── encode_framed ◄── wire::Message ◄── convert::to_wire ◄── Send │
//!                                                                      Persist ─────┤
//!   store.commit(all Persist records of the call) ◄──────────────────────────────────┘
//!        │ durable? then release, in order: Transmit, Close, ClientReply, Event, Log
//! ```
//!
//! # Why the commit comes before the BNDREPLY
//!
//! A BNDREPLY tells the partner that the update is *ours now*: the partner clears its
//! update-pending flag, stores the acked partner lifetime, and from then on may give clients
//! lifetimes up to that acknowledged time plus the MCLT (RFC 8156 §4.4, §7.7). If we crashed
//! after acknowledging an update that was only in memory, we would come back without the
//! binding, the partner would never resend it, and we could give the same address or prefix to
//! another client: exactly the duplicate assignment failover exists to prevent. Hence:
//!
//! * `// RFC 8156 §7.5.2`: "A server MUST NOT send the BNDREPLY message before its binding
//!   database is updated";
//! * `// RFC 8156 §6.3`: a STATE message's contents are "written to stable storage prior to
//!   enqueuing it to its failover partner", and `// RFC 8156 §8.1`: every state transition is
//!   recorded in stable storage;
//! * a client reply that grants or extends a lease goes out only once the lease is on disk, so a
//!   restarted server never hands a lease it forgot to someone else.
//!
//! The endpoint queues an `Output::Persist` before every output that depends on it. The node
//! drains all outputs of one input call (one `handle_bytes` may carry hundreds of BNDUPDs), makes
//! every persisted record of the call durable in **one** redb transaction (`Durability::Immediate`,
//! fsync'd before `commit` returns), and only then releases the call's outputs, in order. This
//! is stricter than needed (a CONTACT does not depend on a binding) and it is what makes the
//! batching safe: the commit is atomic, so after a crash either the whole batch is on disk or
//! none of it is, and no BNDREPLY, STATE or client reply of a lost batch was ever released. The
//! batching is also what makes a bulk transfer fast: one fsync per TCP read instead of one per
//! binding (see `BENCH.md`). A failed commit withholds the batch's transmissions and client
//! replies, closes the connection and poisons the node ([`NodeError`]); reopening it restores
//! the last durable state, and the partner resends what was not acknowledged (§8.8).
//!
//! Every commit also rewrites the endpoint record with `time_of_failure` set to the commit time,
//! so that a restart after a crash knows "a time beyond which the server could not have been
//! operating" (`// RFC 8156 §8.3.2` step 1): nothing was granted or acknowledged after the last
//! commit.
//!
//! # Bad input from the partner (issue 3 §4)
//!
//! Nothing the partner sends makes a node panic, and no durable lease is touched by bad input:
//!
//! | input | answer | where |
//! |---|---|---|
//! | message-size 0, or above [`NodeOptions::max_frame_len`] | DISCONNECT (UnspecFail, with the reason), connection dropped: the stream cannot be resynchronised (RFC 5460 §5.1) | node |
//! | a frame too short for the 8-octet header | DISCONNECT (UnspecFail), drop | node |
//! | undecodable options, a missing MUST option, a BNDUPD that is not one CLIENT_DATA or one IAPREFIX, an unknown status code | by the msg-type of the header: BNDUPD gets a BNDREPLY with MissingBindingInformation and the connection is kept (`// RFC 8156 §7.5.3`); DISCONNECT closes anyway (§5.3.10); an unknown msg-type is ignored (RFC 3315 §15); anything else: DISCONNECT (UnspecFail), drop | node |
//! | a frame that never completes | swallows the stream until FO_KEEPALIVE_TIMER drops the connection (§6.6) | endpoint |
//! | a BNDUPD whose OPTION_VSS names a VPN other than the global, default one | BNDREPLY with ConfigurationConflict for each lease, nothing stored (§7.5.4) | endpoint |
//! | a valid BNDUPD that contradicts our database | BNDREPLY with the Figure 4 status (OutdatedBindingInformation, AddressInUse, ConfigurationConflict, §7.5.4) | endpoint |
//! | a message wrong for the state (BNDUPD before the handshake, UPDDONE without UPDREQ, CONNECT to a primary, ...) | ignored, logged | endpoint |
//! | CONNECTREPLY with another MCLT | DISCONNECT ConfigurationConflict, drop (§6.1.3, decision D19) | endpoint |
//! | sent-time more than 5 s off | CONNECT: CONNECTREPLY ExcessiveTimeSkew (§6.1.2); later: DISCONNECT ExcessiveTimeSkew, drop (§7.5.1) | endpoint |
//! | unknown relationship name | CONNECTREPLY ConfigurationConflict (decision D3), then the secondary drops the connection (§6.1 "MUST drop the connection") | endpoint + node |
//!
//! Each gets a log line ([`Output::Log`]) that says what was wrong, with the RFC section.
//!
//! # Modules
//!
//! * [`convert`]: core [`failover_core::Message`] ↔ [`failover_proto::wire::Message`], with
//!   typed errors naming the field that has no counterpart;
//! * [`Node`] (module `node`): the driver;
//! * [`storage`]: the store's key format, and helpers to seed or read a store;
//! * [`sim`]: two nodes, a simulated clock and connection, real stores: the test and benchmark
//!   harness.
#![warn(missing_docs, unreachable_pub)]

pub mod convert;
mod node;
pub mod sim;
pub mod storage;

pub use node::{
    CloseReason, Node, NodeError, NodeOptions, NodeStats, NodeStore, OpenError, Output,
};
