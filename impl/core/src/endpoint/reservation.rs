//! Reservation behaviour of the endpoint (design draft §12; decisions D24, D25): the data it
//! keeps ([`Reservation`]) and the rules are in `crate::reservation`.

use failover_proto::{BindingStatus, Role};

use crate::db::{self, Binding};
use crate::endpoint::Endpoint;
use crate::lease::{ClientId, LeaseKey, LeaseKind};
use crate::message::LeaseUpdate;
use crate::time::Time;

use crate::reservation::Reservation;

/// May the pool allocate this lease to any client (decision D24: not a reserved lease)?
pub(crate) fn allocatable(b: &Binding) -> bool {
    matches!(b.reservation, Reservation::None | Reservation::Cancelled)
}

impl Endpoint {
    fn reserved_client(&self, key: &LeaseKey) -> Option<&ClientId> {
        self.cfg
            .reservations
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, c)| c)
    }

    /// At start, the primary marks its configured reservations: a free reserved lease is shown
    /// FREE here and owed to the secondary as FREE-BACKUP reserved (draft §12). A record the
    /// operator's cancellation marked [`Reservation::Cancelled`] stays cancelled (decision D25);
    /// with its storage lost, the server has only its configuration and reserves the lease.
    pub(crate) fn init_reservations(&mut self, now: Time) {
        if self.cfg.role != Role::Primary {
            return;
        }
        let keys: Vec<LeaseKey> = self.cfg.reservations.iter().map(|(k, _)| *k).collect();
        for key in keys {
            let Some(mut b) = self.db.get(&key).cloned() else {
                continue;
            };
            if b.reservation != Reservation::None {
                continue;
            }
            b.reservation = Reservation::Reserved;
            if is_free(b.status) {
                // A change made now: the announcement must be newer than the secondary's
                // FREE, which it would otherwise reject as a tie (reading R20 favours
                // FREE-BACKUP only at the primary).
                b.status = BindingStatus::Free;
                b.start_time_of_state = now;
                self.store_changed(key, b);
            } else {
                self.store(key, b);
            }
        }
    }

    /// The lease reserved for `client` of this kind, if it may be given now: its reservation is
    /// configured here and marked in the record, it is in this server's available pool (FREE on
    /// the primary, FREE-BACKUP on the secondary), and it did not change in this tick (reading
    /// R11).
    pub(crate) fn reserved_pick(
        &self,
        now: Time,
        client: &ClientId,
        kind: LeaseKind,
    ) -> Option<LeaseKey> {
        let own = db::available_status(self.cfg.role);
        self.cfg
            .reservations
            .iter()
            .filter(|(k, c)| c == client && k.kind() == kind)
            .map(|(k, _)| *k)
            .find(|k| {
                self.db.get(k).is_some_and(|b| {
                    b.reservation == Reservation::Reserved
                        && b.status == own
                        && !b.hold_until_ack
                        && !just_changed(now, b)
                        // RFC 8156 §9.4, reading R27.
                        && !crate::endpoint::dns::owes_remove(b)
                })
            })
    }

    /// The status to announce in a BNDUPD: the primary announces a free reserved lease as
    /// FREE-BACKUP (the draft's "status of BACKUP").
    pub(crate) fn reservation_announced(
        &self,
        b: &Binding,
        status: BindingStatus,
    ) -> BindingStatus {
        if self.cfg.role == Role::Primary
            && b.reservation == Reservation::Reserved
            && status == BindingStatus::Free
        {
            BindingStatus::FreeBackup
        } else {
            status
        }
    }

    /// A lease this server frees (Figure 2 (5)/(6)): a reserved one stays in the reserved
    /// client's reach, FREE on the primary. Returns whether the
    /// partner must be told even where it otherwise would not.
    pub(crate) fn reservation_on_free(&self, b: &mut Binding) -> bool {
        // design draft §12, reading R32: the primary's configuration decides. A reserved lease
        // that becomes free is FREE on the primary, whatever its reading-R1 pool, and announced;
        // the secondary frees it to its reading-R1 status, as any lease.
        if self.cfg.role != Role::Primary || b.reservation != Reservation::Reserved {
            return false;
        }
        b.status = BindingStatus::Free;
        true
    }

    /// An accepted BNDUPD (`echoed`: the binding-status it carried, before
    /// [`Self::reservation_read`]): the secondary takes the primary's flag; the primary keeps its
    /// own and, when a reserved lease arrives free, shows it FREE and owes the secondary a
    /// FREE-BACKUP reserved if the secondary sent FREE. Returns whether an update is owed.
    pub(crate) fn reservation_merge_update(
        &self,
        b: &mut Binding,
        lu: &LeaseUpdate,
        echoed: BindingStatus,
    ) -> bool {
        match self.cfg.role {
            Role::Secondary => {
                // design draft §12, reading R32: the secondary's reserved flag is only ever the
                // primary's; an update without the flag leaves it as it is.
                match lu.reserved {
                    Some(true) => b.reservation = Reservation::Reserved,
                    Some(false) => b.reservation = Reservation::None,
                    None => {}
                }
                false
            }
            Role::Primary => {
                if b.reservation != Reservation::Reserved || !is_free(b.status) {
                    return false;
                }
                b.status = BindingStatus::Free;
                // design draft §12, reading R32: the primary ignores the flag of the secondary's
                // BNDUPD, and answers its FREE (it freed the lease, or its operator cancelled
                // the reservation there only) with the reserved FREE-BACKUP announcement.
                // Reading R31: the announcement is not stamped with the current time; the
                // secondary takes it against its free record whatever the times (the reserved
                // flag is the primary's to set), so a cancellation only on the secondary ends
                // with the lease reserved again there.
                echoed == BindingStatus::Free
            }
        }
    }

    /// How the primary reads an update from the secondary: design draft §12, reading R30: a
    /// FREE-BACKUP of a lease it reserves, or whose cancellation it is telling (the mark is in
    /// stable storage with the record), says FREE (the secondary holds it FREE-BACKUP only
    /// because the primary flagged it reserved), not a move to the secondary's pool.
    pub(crate) fn reservation_read(&self, lu: &LeaseUpdate) -> Option<LeaseUpdate> {
        let b = self.db.get(&lu.lease)?;
        (self.cfg.role == Role::Primary
            && matches!(
                b.reservation,
                Reservation::Reserved | Reservation::Cancelling
            )
            && lu.binding_status == BindingStatus::FreeBackup)
            .then(|| LeaseUpdate {
                binding_status: BindingStatus::Free,
                ..lu.clone()
            })
    }

    /// Operator input: cancel the reservation of `key` (on each server). A free reserved lease
    /// (FREE on the primary, FREE-BACKUP on the secondary) is announced FREE "no longer
    /// reserved"; the primary holds it until the partner acks (reading R29), the secondary gives
    /// it back (FREE). Otherwise the record simply stops being reserved. The configured entry
    /// stays: the lease's BNDUPDs go on saying "no longer reserved" ([`Self::reservation_flag`]).
    pub(crate) fn cancel_reservation(&mut self, now: Time, key: LeaseKey) {
        let Some(mut b) = self.db.get(&key).cloned() else {
            self.log(&format!("ignored CancelReservation {key}: not configured"));
            return;
        };
        if b.reservation != Reservation::Reserved {
            self.log(&format!("CancelReservation {key}: not reserved"));
            return;
        }
        if self.cfg.role == Role::Secondary && b.status == BindingStatus::FreeBackup {
            // design draft §12, reading R29: the secondary sends FREE "no longer reserved" and
            // gives the lease back to the primary (FREE here); it holds no cancelling mark, as
            // a FREE lease is not its to allocate anyway.
            b.reservation = Reservation::Cancelled;
            b.status = BindingStatus::Free;
            b.start_time_of_state = now;
            self.store_changed(key, b);
        } else if self.cfg.role == Role::Primary && b.status == BindingStatus::Free {
            // design draft §12, reading R29: FREE "no longer reserved", the lease given to no
            // client until the secondary acks it.
            b.reservation = Reservation::Cancelling;
            b.start_time_of_state = now;
            self.store_changed(key, b);
        } else {
            b.reservation = Reservation::Cancelled;
            self.store(key, b);
        }
    }

    /// The partner acked our un-reserving BNDUPD: the lease is an ordinary one again and goes to
    /// its pool (reading R1); if that is not FREE, the partner is told (as reading R16 does).
    pub(crate) fn reservation_on_ack(&mut self, now: Time, key: LeaseKey) {
        let Some(mut b) = self.db.get(&key).cloned() else {
            return;
        };
        if b.reservation != Reservation::Cancelling {
            return;
        }
        b.reservation = Reservation::Cancelled;
        let dest = db::pending_free_destination(&key);
        if is_free(b.status) && b.status != dest {
            b.status = dest;
            b.start_time_of_state = now;
            self.store_changed(key, b);
        } else {
            self.store(key, b);
        }
    }

    /// The reserved flag of a BNDUPD about `key`: `Some(true)` while the record is reserved,
    /// `Some(false)` ("no longer reserved") for any other lease configured with a reservation
    /// here, cancelled or not yet flagged, `None` for a lease without one (design draft §12,
    /// reading R29: the indication that the resource is no longer reserved).
    pub(crate) fn reservation_flag(&self, key: &LeaseKey, b: &Binding) -> Option<bool> {
        match b.reservation {
            Reservation::Reserved => Some(true),
            Reservation::Cancelling | Reservation::Cancelled => Some(false),
            Reservation::None => self.reserved_client(key).map(|_| false),
        }
    }

    /// The configured client of a reserved lease (for the observation).
    pub fn reserved_for(&self, key: &LeaseKey) -> Option<ClientId> {
        self.reserved_client(key).cloned()
    }
}

fn is_free(s: BindingStatus) -> bool {
    matches!(s, BindingStatus::Free | BindingStatus::FreeBackup)
}

/// Reading R11: a lease is not allocated in the tick it last changed.
fn just_changed(now: Time, b: &Binding) -> bool {
    now.same_as(
        b.clt
            .map_or(b.start_time_of_state, |c| c.max(b.start_time_of_state)),
    )
}
