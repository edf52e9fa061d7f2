//! `failover-proto`: the nouns of RFC 8156 (DHCPv6 Failover Protocol).
//!
//! This crate holds the *vocabulary* shared by the model, the implementation and the conformance
//! harness ([`ServerState`], [`BindingStatus`], [`MsgKind`], [`Role`], [`LeaseKind`]), and the wire codec
//! ([`wire`]). It contains no I/O, no clock and no transition logic: the model (`failover-model`)
//! and the implementation (`failover-core`) each decide transitions on their own, so that a
//! conformance run compares two independent readings of the RFC rather than one reading twice.
//!
//! The [`wire`] module is the RFC 8156 §5 codec: TCP framing, the message header, typed options
//! and status codes, structural only (it makes no protocol decision).
//!
//! `Display` and serde use the RFC's own tokens (`"COMMUNICATIONS-INTERRUPTED"`, `"FREE-BACKUP"`,
//! `"BNDUPD"`), so traces and logs can be grepped against the RFC text.
#![warn(missing_docs, unreachable_pub)]

mod vocab;
pub mod wire;

pub use vocab::{BindingStatus, LeaseKind, MsgKind, Role, ServerState, UnknownCode};
