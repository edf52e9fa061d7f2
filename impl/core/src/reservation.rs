//! Reservations (design draft draft-ietf-dhc-dhcpv6-failover-design §12; not in RFC 8156).
//!
//! A reservation ties a lease to one client (its DUID) and is configured identically on both
//! servers ([`Config::reservations`](crate::Config::reservations)). The draft's rules:
//!
//! * whenever a reserved lease becomes free (first configured, or freed after a binding), the
//!   primary shows it FREE (its own allocation) and sends it to the secondary in a BNDUPD with
//!   binding-status FREE-BACKUP flagged *reserved*;
//! * a reserved lease is offered only to its client, and that client gets it;
//! * a reservation only on the secondary does not let the secondary offer the lease: the
//!   secondary needs the primary's flag too ([`Reservation::Reserved`] in its record);
//! * when a reservation is cancelled and the lease is FREE on the primary / FREE-BACKUP on the
//!   secondary, that server MUST send a BNDUPD FREE "no longer reserved".
//!
//! RFC 8156 has no reserved flag; it travels as a documented extension, OPTION_VENDOR_OPTS with
//! the documentation enterprise number 32473 (`failover_proto::wire::ext`). Decision D25: a
//! cancelled reservation's lease goes to no other client until the partner acked the
//! un-reserving BNDUPD ([`Reservation::Cancelling`]), so the partner cannot still hand it to the
//! reserved client while this server gives it to another.

use serde::{Deserialize, Serialize};

/// The reservation state of a lease record (persisted with it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reservation {
    /// Not reserved.
    #[default]
    None,
    /// Reserved: on the primary from its configuration, on the secondary from the primary's
    /// flag. Only the configured client may get the lease.
    Reserved,
    /// The reservation was cancelled and the un-reserving BNDUPD FREE awaits its ack: the lease
    /// goes to no one meanwhile (decision D25).
    Cancelling,
    /// The operator cancelled the reservation here and the lease is an ordinary one; the
    /// configured entry stays, so the mark keeps a restart from reserving the lease again
    /// (decision D25). Only lost storage brings the configured reservation back.
    Cancelled,
}

impl Reservation {
    /// The flag to send in a BNDUPD: `Some(true)` reserved, `Some(false)` "no longer reserved".
    pub fn wire_flag(self) -> Option<bool> {
        match self {
            Reservation::None => None,
            Reservation::Reserved => Some(true),
            Reservation::Cancelling | Reservation::Cancelled => Some(false),
        }
    }
}
