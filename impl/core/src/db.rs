//! The lease database (RFC 8156 §7.2, §7.3), the Figure 4 accept/reject rule (§7.5.4), the
//! §7.5.5 storage rules and the MCLT rule (§4.4). No I/O: the endpoint turns every write into an
//! `Output::Persist`.

use std::collections::{BTreeMap, BTreeSet};

use failover_proto::{BindingStatus, Role};
use serde::{Deserialize, Serialize};

use std::net::Ipv6Addr;

use crate::lease::{ClientId, LeaseKey, LeaseKind};
use crate::message::{LeaseUpdate, StatusCode};
use crate::time::Time;

/// One lease's record (RFC 8156 §7.3 times, plus the status and client of §7.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// binding-status (§5.5.1). Never PENDING-FREE at rest (reading R1).
    pub status: BindingStatus,
    /// The client most recently associated with the lease (MUST for ACTIVE, a hint otherwise).
    pub client: Option<ClientId>,
    /// Valid lifetime last given to the client, seconds.
    pub valid_lifetime: u64,
    /// start-time-of-state: when `status` took its current value.
    pub start_time_of_state: Time,
    /// state-expiration-time: when `status` expires (for ACTIVE, the client's expiry).
    pub state_expiration_time: Option<Time>,
    /// The latest client expiry ever known for the current client (ours or the partner's). Kept
    /// after ACTIVE ends, for the PARTNER-DOWN reuse time (reading R2 "client expiry").
    pub client_expiry: Option<Time>,
    /// client-last-transaction-time (CLT): our last interaction with the client.
    pub clt: Option<Time>,
    /// partner-raw-clt-time: the partner's CLT, exactly as received (§7.3).
    pub partner_raw_clt_time: Option<Time>,
    /// partner-lifetime: the value to send as OPTION_F_PARTNER_LIFETIME (§7.3); reset by an ack.
    pub partner_lifetime: Option<Time>,
    /// The partner-lifetime most recently transmitted (digest A15; used by reading R2).
    pub partner_lifetime_sent: Option<Time>,
    /// acked-partner-lifetime: greatest partner lifetime the partner acked (§7.3, reading R4).
    pub acked_partner_lifetime: Option<Time>,
    /// expiration-time: greatest lifetime we acked to the partner (§5.5.4, reading R4).
    pub expiration_time: Option<Time>,
    /// "The partner must be told about this lease" (§7.5.4 flag; §8.8 unacked updates).
    pub update_pending: bool,
    /// Reading R9: a prefix the primary took back with BNDUPD FREE; not allocatable (outside
    /// PARTNER-DOWN) until the secondary acks that update.
    pub hold_until_ack: bool,
    /// Our BNDUPD of this lease is unacknowledged, but the partner's update we accepted meanwhile
    /// cleared `update_pending`: if the connection or the process is lost before the BNDREPLY,
    /// the update is owed again (§8.8 "all binding updates that have not been acknowledged"),
    /// as the model's rule is. Kept in stable storage so that it survives a crash.
    #[serde(default)]
    pub owed_if_lost: bool,
    /// A rejected update of this lease waits for the next periodic scan, this time (§7.5.4,
    /// reading R21). Kept in stable storage so that a restart does not send it earlier than the
    /// scan would have (the model's hold survives a crash); a past time means nothing.
    #[serde(default)]
    pub hold_until: Option<Time>,
    /// DNS names and owed DNS operations (RFC 8156 §9, `crate::dns`); allocated only for a
    /// lease that has some ([`crate::dns::DnsSlot`]).
    #[serde(default)]
    pub dns: crate::dns::DnsSlot,
    /// Reservation state (design draft §12, `crate::reservation`).
    #[serde(default)]
    pub reservation: crate::reservation::Reservation,
}

impl Binding {
    /// A never-used lease, available to the pool `status` names.
    pub fn available(status: BindingStatus) -> Binding {
        Binding {
            status,
            client: None,
            valid_lifetime: 0,
            start_time_of_state: Time::ZERO,
            state_expiration_time: None,
            client_expiry: None,
            clt: None,
            partner_raw_clt_time: None,
            partner_lifetime: None,
            partner_lifetime_sent: None,
            acked_partner_lifetime: None,
            expiration_time: None,
            update_pending: false,
            hold_until_ack: false,
            owed_if_lost: false,
            hold_until: None,
            dns: Default::default(),
            reservation: Default::default(),
        }
    }

    /// The time "for the lease in the server's binding database" (§7.5.4): the
    /// client-last-transaction-time if one appears, or the start-time-of-state.
    pub fn db_time(&self) -> Time {
        self.clt.unwrap_or(self.start_time_of_state)
    }

    /// Variant of [`Binding::db_time`] (decision D8, [`crate::Config::db_time_includes_partner_clt`]):
    /// the latest client transaction this server knows of, its own CLT or the partner's raw CLT,
    /// else the start-time-of-state. Under the literal rule a server that never talked to the
    /// client compares a partner's renewal with the time its own copy *expired*, and rejects it.
    pub fn db_time_known(&self) -> Time {
        max_opt(self.clt, self.partner_raw_clt_time).unwrap_or(self.start_time_of_state)
    }

    fn db_time_for(&self, partner_clt: bool) -> Time {
        if partner_clt {
            self.db_time_known()
        } else {
            self.db_time()
        }
    }

    /// Is the lease held by a client whose lifetime has not run out at `now`?
    pub fn is_active_at(&self, now: Time) -> bool {
        self.status == BindingStatus::Active && self.state_expiration_time.is_some_and(|e| e > now)
    }
}

/// Statuses that carry a timeout in this implementation (§7.2: "implementation dependent"):
/// only ACTIVE (decision D14). The `*` options of §7.4 are sent only for these.
pub fn has_timeout(status: BindingStatus) -> bool {
    status == BindingStatus::Active
}

/// The status a lease takes when it leaves PENDING-FREE, Figure 2 transitions (5)/(6).
///
/// Reading R1 (A1): PENDING-FREE becomes FREE for delegable prefixes and for primary-owned
/// addresses (bit 127 = 1), FREE-BACKUP for secondary-owned addresses (bit 127 = 0). §7.2 text and
/// §4.2.2 ("will be owned by the primary") win over Figure 3.
pub fn pending_free_destination(key: &LeaseKey) -> BindingStatus {
    match key {
        LeaseKey::Prefix(..) => BindingStatus::Free,
        LeaseKey::Addr(_) if address_owner(key) == Role::Primary => BindingStatus::Free,
        LeaseKey::Addr(_) => BindingStatus::FreeBackup,
    }
}

/// Independent allocation (RFC 8156 §4.2.1.1): "the primary server MUST allocate only IPv6
/// addresses when the low-order bit (i.e., bit 127) is equal to 1, and the secondary server MUST
/// allocate only the IPv6 addresses when the low-order bit (i.e., bit 127) is equal to 0."
/// For a prefix this returns the owner of a *free* prefix (the primary, §4.2.2).
pub fn address_owner(key: &LeaseKey) -> Role {
    match key {
        LeaseKey::Addr(a) if a.octets()[15] & 1 == 1 => Role::Primary,
        LeaseKey::Addr(_) => Role::Secondary,
        LeaseKey::Prefix(..) => Role::Primary,
    }
}

/// The "available" status of a role's pool (§3 glossary: FREE on the primary, FREE-BACKUP on
/// the secondary).
pub const fn available_status(role: Role) -> BindingStatus {
    match role {
        Role::Primary => BindingStatus::Free,
        Role::Secondary => BindingStatus::FreeBackup,
    }
}

/// The valid lifetime a server may offer (RFC 8156 §4.4), the one place the MCLT rule lives.
///
/// > The fundamental relationship on which the failover protocol depends is as follows: the
/// > lease expiration time known to a DHCP client MUST NOT be greater by more than the MCLT
/// > beyond the later of the partner lifetime acknowledged by that server's failover partner or
/// > the current time.
///
/// So `offered = min(desired, max(acked_partner_lifetime − now, 0) + MCLT)`; in PARTNER-DOWN
/// "the server is not restricted by the MCLT when offering valid lifetimes" (§8.4.1), so
/// `offered = desired`.
pub fn max_lifetime(
    now: Time,
    acked_partner_lifetime: Option<Time>,
    desired: u64,
    mclt: u64,
    in_partner_down: bool,
) -> u64 {
    if in_partner_down {
        return desired;
    }
    let acked_remaining = acked_partner_lifetime.map_or(0, |a| a.since(now));
    desired.min(acked_remaining.saturating_add(mclt))
}

/// The partner-lifetime to send after granting `actual` seconds (RFC 8156 §4.4.1): "The partner
/// lifetime will be composed of the T1 fraction (1/2) of the actual lifetime added to the
/// desired lifetime", i.e. `now + actual/2 + desired` as an absolute time. Any value works as long
/// as the §4.4 relationship holds (§8.8.1); this one always exceeds the client's expiry because
/// `desired >= actual`.
pub fn partner_lifetime_for(now: Time, actual: u64, desired: u64) -> Time {
    now.plus(actual / 2).plus(desired.max(actual))
}

/// The PARTNER-DOWN reuse time of a lease (reading R2, A2; §4.2.2.1, §8.4.1): a lease goes to a
/// different client only at or after
/// `max(client expiry, last partner-lifetime sent, acked partner-lifetime, expiration-time,
/// PARTNER-DOWN entry) + MCLT`.
///
/// R2's five inputs are seven fields here. "Last partner-lifetime sent" is two:
/// `partner_lifetime`, the value set at a grant and not yet transmitted (the model sets its
/// `pl_sent` at the grant too, before the BNDUPD goes), and `partner_lifetime_sent`, the value
/// transmitted (digest A15). `state_expiration_time` is set only for an ACTIVE binding whose
/// expiry is also folded into `client_expiry`, so it never changes the result on a record the
/// endpoints make (property
/// `state_expiration_time_never_changes_the_partner_down_reuse_time_of_a_reachable_record`); it
/// is kept so that a record from elsewhere cannot lower the bound.
pub fn pd_reuse_time(b: &Binding, pd_entered: Time, mclt: u64) -> Time {
    [
        b.client_expiry,
        b.state_expiration_time,
        b.partner_lifetime_sent,
        b.partner_lifetime,
        b.acked_partner_lifetime,
        b.expiration_time,
        Some(pd_entered),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(pd_entered)
    .plus(mclt)
}

/// Column of Figure 4 a received binding-status falls in.
fn column(status: BindingStatus) -> usize {
    match status {
        BindingStatus::Active => 0,
        BindingStatus::Expired => 1,
        BindingStatus::Released => 2,
        // A10, decision D13: PENDING-FREE has no column; it "may mean either FREE or FREE-BACKUP" (§7.2), so
        // it is judged as FREE/FREE-BACKUP (and stored resolved, reading R1).
        BindingStatus::Free | BindingStatus::FreeBackup | BindingStatus::PendingFree => 3,
        BindingStatus::Reset | BindingStatus::Abandoned => 4,
    }
}

/// One cell of Figure 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// "accept": accept if the update's time is later than the database time.
    Accept,
    /// "time(1)": accept if now is later than the local state-expiration-time.
    Time1,
    /// "time(2)": accept if the received CLT is later than the local start-time-of-state.
    Time2,
    /// "accept(3)": same client accept; different client: time(2) or receiver is secondary.
    Accept3,
}

/// RFC 8156 §7.5.4 Figure 4 ("Conflict Resolution"): rows are the receiving server's status,
/// columns the received status.
///
/// ```text
///                   ACTIVE    EXPIRED   RELEASED   FREE/F-B    RESET/ABANDONED
/// ACTIVE            accept(3) time(1)   accept     time(1)     accept
/// EXPIRED           accept    accept    accept     accept      accept
/// RELEASED          accept    accept    accept     accept      accept
/// FREE/FREE-BACKUP  accept    accept    accept     accept      accept
/// RESET             time(2)   accept    accept     accept      accept
/// ABANDONED         accept    accept    accept     accept      accept
/// ```
pub fn figure4_rule(local: BindingStatus, received: BindingStatus) -> Rule {
    use Rule::*;
    const ROW_ACTIVE: [Rule; 5] = [Accept3, Time1, Accept, Time1, Accept];
    const ROW_RESET: [Rule; 5] = [Time2, Accept, Accept, Accept, Accept];
    const ROW_OTHER: [Rule; 5] = [Accept, Accept, Accept, Accept, Accept];
    let row = match local {
        BindingStatus::Active => ROW_ACTIVE,
        BindingStatus::Reset => ROW_RESET,
        _ => ROW_OTHER,
    };
    row[column(received)]
}

/// The time "for the BNDUPD message" (§7.5.4): for ACTIVE, EXPIRED or RELEASED the
/// OPTION_CLT_TIME if one appears, else OPTION_F_START_TIME_OF_STATE; for other statuses the
/// later of the two.
pub fn update_time(u: &LeaseUpdate) -> Time {
    match u.binding_status {
        BindingStatus::Active | BindingStatus::Expired | BindingStatus::Released => {
            u.clt_time.unwrap_or(u.start_time_of_state)
        }
        _ => u
            .clt_time
            .map_or(u.start_time_of_state, |c| c.max(u.start_time_of_state)),
    }
}

/// [`update_time`], or with decision D8's opt-in the same rule over the latest client
/// transaction the update knows of: its CLT or the partner-raw-clt-time it carries (our own
/// CLT as the sender last learned it), as [`Binding::db_time_known`] does for our record.
pub fn update_time_for(u: &LeaseUpdate, partner_clt: bool) -> Time {
    if !partner_clt {
        return update_time(u);
    }
    let clt = max_opt(u.clt_time, u.partner_raw_clt_time);
    match u.binding_status {
        BindingStatus::Active | BindingStatus::Expired | BindingStatus::Released => {
            clt.unwrap_or(u.start_time_of_state)
        }
        _ => clt.map_or(u.start_time_of_state, |c| c.max(u.start_time_of_state)),
    }
}

/// Decide whether to accept one received lease update (§7.5.4): Figure 4 as the project reads
/// it where the RFC is ambiguous. An update that agrees with our record is accepted (reading
/// R11, which replaces decision D9); at the secondary, the primary's reservation change of a
/// free lease is accepted (reading R31); a tie (two times within the ±5 s of §7.1) is broken as
/// readings R11 and R20 say instead of rejected; the local time of a free or reset lease is
/// max(CLT, start-time-of-state) (reading R17); time(1) accepts only an update not older than
/// our record (reading R18).
pub fn decide(
    local: &Binding,
    received_client: Option<&ClientId>,
    u: &LeaseUpdate,
    now: Time,
    me: Role,
    partner_clt: bool,
) -> Result<(), StatusCode> {
    // Reading R11: an update that says what we hold already (a retransmission after a lost
    // BNDREPLY or a reconnect, an UPDREQALL copy of a never-used lease, both servers expiring
    // the lease on their own clocks) and is not older than our record is accepted: there is no
    // newer information to prefer, and rejecting it would have both sides resend it for ever.
    if agrees(local, received_client, u, partner_clt) {
        return Ok(());
    }
    if reservation_change_wins(local, u, me) {
        return Ok(());
    }
    let rules = Rules {
        tie_wins: tie_wins(local, received_client, u, me),
        readings: true,
    };
    figure4_with(local, received_client, u, now, me, partner_clt, rules)
}

/// Reading R11: the update has our binding-status (EXPIRED and RELEASED counting as the same:
/// both end the client's binding), our client, our expiry if ACTIVE, and is not older than our
/// record.
pub fn agrees(
    local: &Binding,
    received_client: Option<&ClientId>,
    u: &LeaseUpdate,
    partner_clt: bool,
) -> bool {
    let ended = |s| matches!(s, BindingStatus::Expired | BindingStatus::Released);
    let same_status =
        local.status == u.binding_status || (ended(local.status) && ended(u.binding_status));
    same_status
        && local.client.as_ref() == received_client
        && (u.binding_status != BindingStatus::Active
            || local.state_expiration_time == u.state_expiration_time)
        && !local_time(local, partner_clt).clearly_after(update_time_for(u, partner_clt))
}

/// Position of a binding-status in one turn of the lease life cycle (Figure 2): the grant, its
/// end, a DECLINE (which says more than an expiry), the operator's reset, and the free status
/// that follows. Orders two changes of one turn made at one time (reading R11).
fn life_cycle_rank(b: BindingStatus) -> u8 {
    match b {
        BindingStatus::Active => 0,
        BindingStatus::Expired | BindingStatus::Released => 1,
        BindingStatus::Abandoned => 2,
        BindingStatus::Reset => 3,
        BindingStatus::PendingFree | BindingStatus::Free | BindingStatus::FreeBackup => 4,
    }
}

/// Whether the update wins a tie (its time and ours within ±5 s, §7.1): readings R11 and R20.
fn tie_wins(
    local: &Binding,
    received_client: Option<&ClientId>,
    u: &LeaseUpdate,
    me: Role,
) -> bool {
    use BindingStatus::*;
    // One turn of the lease: the update is about the binding we hold (same client or, when a
    // side names no client, the same latest CLT: a free status carries the CLT of the binding
    // it ends).
    let same_turn = match (received_client, local.client.as_ref()) {
        (Some(a), Some(b)) => a == b,
        _ => match (
            max_opt(u.clt_time, u.partner_raw_clt_time),
            max_opt(local.clt, local.partner_raw_clt_time),
        ) {
            (Some(a), Some(b)) => a.same_as(b),
            _ => false,
        },
    };
    // Within one turn the later status of the life cycle can only have been made after the
    // other (a FREE that follows an acked RELEASED, a RELEASED that follows the grant).
    let later_in_life_cycle =
        same_turn && life_cycle_rank(u.binding_status) > life_cycle_rank(local.status);
    // Across turns a record that binds a client beats a free one: the grant was made on a copy
    // that had not seen the free, and the binding is what must not be lost.
    let binding_beats_free = !same_turn && received_client.is_some() && local.client.is_none();
    // Two ACTIVE records of one client: the later expiry wins (the lease is held at least as
    // long as the client has it).
    let same_client_active = u.binding_status == Active
        && local.status == Active
        && received_client.is_some()
        && received_client == local.client.as_ref()
        && u.state_expiration_time >= local.state_expiration_time;
    // Reading R20: FREE against FREE-BACKUP at one time goes to FREE-BACKUP: the primary
    // accepts the secondary's FREE-BACKUP, the secondary rejects the primary's FREE.
    let backup_wins = me == Role::Primary && u.binding_status == FreeBackup && local.status == Free;
    later_in_life_cycle || binding_beats_free || same_client_active || backup_wins
}

/// Design draft §12, reading R31: at the secondary, the primary's update of a free lease that
/// changes the reservation (FREE-BACKUP flagged reserved, or FREE "no longer reserved") is
/// accepted against a free record whatever the times: the reserved flag is the primary's to
/// set. The primary answers the secondary's FREE of a lease it reserves with its announcement
/// (reading R32), which is older than that FREE when the secondary's operator cancelled the
/// reservation there only; judged by time, the secondary would reject it and send its FREE
/// again, and the two would answer each other for ever (the model's variant
/// `reservation-change-by-time`).
fn reservation_change_wins(local: &Binding, u: &LeaseUpdate, me: Role) -> bool {
    use BindingStatus::*;
    let free = |s| matches!(s, Free | FreeBackup);
    me == Role::Secondary
        && free(u.binding_status)
        && free(local.status)
        && u.reserved.is_some_and(|r| {
            r != (local.reservation == crate::reservation::Reservation::Reserved)
                || u.binding_status != local.status
        })
}

/// The local time Figure 4's "accept" compares the update's time with (§7.5.4). Reading R17:
/// for statuses other than ACTIVE, EXPIRED and RELEASED it is max(CLT, start-time-of-state), as
/// it is for the update's own time; taken literally a free lease keeps the CLT of its last
/// client, and a stale FREE overrides a newer FREE-BACKUP.
pub fn local_time(local: &Binding, partner_clt: bool) -> Time {
    match local.status {
        BindingStatus::Active | BindingStatus::Expired | BindingStatus::Released => {
            local.db_time_for(partner_clt)
        }
        _ => {
            let clt = if partner_clt {
                max_opt(local.clt, local.partner_raw_clt_time)
            } else {
                local.clt
            };
            clt.map_or(local.start_time_of_state, |c| {
                c.max(local.start_time_of_state)
            })
        }
    }
}

/// Which rules [`figure4_with`] applies beyond the literal table.
#[derive(Clone, Copy, Debug)]
struct Rules {
    /// A tie (times within ±5 s) counts as later (reading R11); literally a tie rejects.
    tie_wins: bool,
    /// Readings R17 (local time of free and reset leases) and R18 (time(1) only for an update
    /// not older than our record).
    readings: bool,
}

/// RFC 8156 §7.5.4 Figure 4 applied to one received lease update, literally: times within ±5 s
/// are equal (§7.5.1), so "later" means clearly later, and a tie rejects. `Err` carries the
/// status code of the rejection. The endpoint uses [`decide`].
pub fn figure4_literal(
    local: &Binding,
    received_client: Option<&ClientId>,
    u: &LeaseUpdate,
    now: Time,
    me: Role,
    partner_clt: bool,
) -> Result<(), StatusCode> {
    let literal = Rules {
        tie_wins: false,
        readings: false,
    };
    figure4_with(local, received_client, u, now, me, partner_clt, literal)
}

fn figure4_with(
    local: &Binding,
    received_client: Option<&ClientId>,
    u: &LeaseUpdate,
    now: Time,
    me: Role,
    partner_clt: bool,
    rules: Rules,
) -> Result<(), StatusCode> {
    let outdated = Err(StatusCode::OutdatedBindingInformation);
    let later =
        |upd: Time, loc: Time| upd.clearly_after(loc) || (rules.tie_wins && upd.same_as(loc));
    // time(2): "If the OPTION_CLT_TIME value (if it appears) in the OPTION_CLIENT_DATA is later
    // than the start-time-of-state in the receiving server's binding, accept it, else reject it."
    let time2 = u
        .clt_time
        .is_some_and(|c| later(c, local.start_time_of_state));
    let local_t = if rules.readings {
        local_time(local, partner_clt)
    } else {
        local.db_time_for(partner_clt)
    };
    match figure4_rule(local.status, u.binding_status) {
        // accept: "If the time value in the OPTION_CLIENT_DATA option or OPTION_IAPREFIX option is
        // later than the time value in the server's binding database, accept it, else reject it."
        Rule::Accept if later(update_time_for(u, partner_clt), local_t) => Ok(()),
        Rule::Accept => outdated,
        // time(1): "If the current time is later than the receiving server's
        // state-expiration-time, accept it, else reject it." (Decision D12: "later" uses the
        // ±5 s window of §7.5.1 like every other comparison; with the readings a time equal to
        // the expiry counts as expired, as the expiry timer fires then.) Reading R18: and the
        // update is not older than our record.
        Rule::Time1 => {
            let expired = match local.state_expiration_time {
                Some(exp) => now.clearly_after(exp) || (rules.readings && now.same_as(exp)),
                None => true,
            };
            let not_older = !rules.readings
                || !local
                    .db_time_for(partner_clt)
                    .clearly_after(update_time_for(u, partner_clt));
            if expired && not_older {
                Ok(())
            } else {
                outdated
            }
        }
        Rule::Time2 if time2 => Ok(()),
        Rule::Time2 => outdated,
        // accept(3): "If the clients in an OPTION_CLIENT_DATA option and in a receiving server's
        // binding differ, then if time(2) or the receiving server is a secondary accept it, else
        // reject it with a status-code of "AddressInUse". If the clients match, accept the update."
        // Reading R11: when the clients match, the update is taken only if it is not older
        // than our record, a tie within the ±5 s window going to the later expiry: a REPLY
        // replaces the client's lifetimes (RFC 3315 §18.1.8), so the older record must not
        // shorten the one the client holds.
        Rule::Accept3 if rules.readings && local.client.as_ref() == received_client => {
            if later(update_time_for(u, partner_clt), local_t) {
                Ok(())
            } else {
                outdated
            }
        }
        Rule::Accept3 => {
            if local.client.as_ref() == received_client || time2 || me == Role::Secondary {
                Ok(())
            } else {
                Err(StatusCode::AddressInUse)
            }
        }
    }
}

/// Store an update that agrees with our record (reading R11, [`agrees`]): it brings no new
/// binding, so the record keeps its status (an EXPIRED stays EXPIRED when the partner says
/// RELEASED), its start time and whatever we still owe the partner; only the max-monotone
/// times move (§7.5.5 b., d., e.; reading R4).
pub fn apply_agreeing(local: &Binding, u: &LeaseUpdate) -> Binding {
    let mut b = local.clone();
    b.expiration_time = max_opt(b.expiration_time, u.partner_lifetime); // b., reading R4
    b.partner_raw_clt_time = max_opt(b.partner_raw_clt_time, u.clt_time); // d.
    b.clt = max_opt(b.clt, u.partner_raw_clt_time); // e.
    b
}

/// Store an accepted update (RFC 8156 §7.5.5, Figure 5), returning the new record.
///
/// * a. OPTION_F_BINDING_STATUS is stored as the binding-status (PENDING-FREE resolved, R1).
/// * b. OPTION_F_PARTNER_LIFETIME is stored in the expiration-time, never lowering it (R4).
/// * c. OPTION_F_STATE_EXPIRATION_TIME is stored in the state-expiration-time.
/// * d. OPTION_CLT_TIME is stored in the partner-raw-clt-time.
/// * e. OPTION_F_PARTNER_RAW_CLT_TIME replaces the CLT if it is later.
/// * f. OPTION_F_EXPIRATION_TIME replaces the partner-lifetime if it is later.
/// * Figure 5: OPTION_F_START_TIME_OF_STATE always updates start-time-of-state.
pub fn apply_update(
    local: &Binding,
    key: &LeaseKey,
    client: Option<&ClientId>,
    u: &LeaseUpdate,
    partner_clt: bool,
) -> Binding {
    let mut b = local.clone();
    let status = if u.binding_status == BindingStatus::PendingFree {
        pending_free_destination(key) // reading R1: never at rest
    } else {
        u.binding_status
    };
    let same_client = client.is_some() && local.client.as_ref() == client;
    // Decision D1 (beyond R1-R11, A12): accept(3) accepts any update for the same client, even
    // an older one. The client's expiry is the one of its latest transaction (RFC 3315 §18.1.8:
    // a REPLY replaces the lifetimes), so an update whose time is clearly older than ours does
    // not replace the expiry we know: a shorter one would let the lease expire, and be reused,
    // early; a longer one would keep a lease the client no longer holds.
    let stale = local
        .db_time_for(partner_clt)
        .clearly_after(update_time_for(u, partner_clt));
    let state_exp = match (local.status, status, same_client, stale) {
        (BindingStatus::Active, BindingStatus::Active, true, true) => local.state_expiration_time,
        _ => u.state_expiration_time,
    };
    if !same_client {
        b.client_expiry = None;
    }
    if status == BindingStatus::Active {
        b.client_expiry = max_opt(b.client_expiry, state_exp);
    }
    b.status = status;
    // The partner's record replaces ours, client included: an update that names no client
    // (a free status, reading R16) leaves none (the tie rules of reading R11 compare clients).
    b.client = client.cloned();
    b.valid_lifetime = u.valid_lifetime;
    b.start_time_of_state = u.start_time_of_state;
    b.state_expiration_time = state_exp;
    b.expiration_time = max_opt(b.expiration_time, u.partner_lifetime); // b., reading R4
    if u.clt_time.is_some() {
        b.partner_raw_clt_time = u.clt_time; // d.
    }
    b.clt = max_opt(b.clt, u.partner_raw_clt_time); // e.
    if let Some(e) = u.expiration_time {
        if b.partner_lifetime.is_none_or(|p| e > p) {
            b.partner_lifetime = Some(e); // f.
        }
    }
    // The partner's information is now ours: nothing of ours is left to tell it.
    b.update_pending = false;
    b.hold_until_ack = false;
    b
}

/// max over optional times.
pub fn max_opt(a: Option<Time>, b: Option<Time>) -> Option<Time> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The lease database: `BTreeMap<LeaseKey, Binding>` plus indexes kept in step by [`Db::put`].
#[derive(Clone, Debug, Default)]
pub struct Db {
    leases: BTreeMap<LeaseKey, Binding>,
    /// (state-expiration-time, lease) of every ACTIVE lease: the lease-expiry timer.
    expiry: BTreeSet<(Time, LeaseKey)>,
    /// Leases with `update_pending`.
    pending: BTreeSet<LeaseKey>,
    /// Leases EXPIRED, RELEASED or RESET (waiting for an ack, or for the PARTNER-DOWN reuse time).
    freeable: BTreeSet<LeaseKey>,
    /// Bumped on every local change: an ack of an older version must not clear a newer change.
    seq: BTreeMap<LeaseKey, u64>,
    /// (status, lease) of every FREE or FREE-BACKUP lease: allocation without a full scan.
    available: BTreeSet<(BindingStatus, LeaseKey)>,
    /// ACTIVE leases by client.
    by_client: BTreeMap<ClientId, BTreeSet<LeaseKey>>,
}

impl Db {
    /// A database holding `leases` as they are.
    pub fn from_leases(leases: BTreeMap<LeaseKey, Binding>) -> Db {
        let mut db = Db::default();
        for (k, b) in leases {
            db.put(k, b);
        }
        db
    }

    /// Look a lease up.
    pub fn get(&self, key: &LeaseKey) -> Option<&Binding> {
        self.leases.get(key)
    }

    /// All leases, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&LeaseKey, &Binding)> {
        self.leases.iter()
    }

    /// Number of leases.
    pub fn len(&self) -> usize {
        self.leases.len()
    }

    /// No leases configured.
    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }

    /// The version counter of a lease's local changes.
    pub fn seq(&self, key: &LeaseKey) -> u64 {
        self.seq.get(key).copied().unwrap_or(0)
    }

    /// Record a local change (it must be sent to the partner): bumps the version.
    pub fn bump(&mut self, key: &LeaseKey) {
        *self.seq.entry(*key).or_default() += 1;
    }

    /// Write a record, keeping the indexes in step.
    pub fn put(&mut self, key: LeaseKey, b: Binding) {
        // Each index entry is touched only where the record's contribution changes: most puts
        // (an update acked, a renewal, a flag) keep the status and the client, and a client key
        // is a DUID on the heap (endpoint_bench: the unconditional remove-and-insert cost about
        // a tenth of the time).
        let expiry = |b: &Binding| match (b.status, b.state_expiration_time) {
            (BindingStatus::Active, Some(t)) => Some(t),
            _ => None,
        };
        let available = |b: &Binding| {
            matches!(b.status, BindingStatus::Free | BindingStatus::FreeBackup).then_some(b.status)
        };
        fn bound_ref(b: &Binding) -> Option<&ClientId> {
            match (b.status, &b.client) {
                (BindingStatus::Active, Some(c)) => Some(c),
                _ => None,
            }
        }
        let old = self.leases.get(&key);
        let (old_expiry, old_available) = (old.and_then(expiry), old.and_then(available));
        let old_client = old.and_then(bound_ref);
        if old_expiry != expiry(&b) {
            if let Some(t) = old_expiry {
                self.expiry.remove(&(t, key));
            }
            if let Some(t) = expiry(&b) {
                self.expiry.insert((t, key));
            }
        }
        if old_available != available(&b) {
            if let Some(s) = old_available {
                self.available.remove(&(s, key));
            }
            if let Some(s) = available(&b) {
                self.available.insert((s, key));
            }
        }
        if old_client != bound_ref(&b) {
            if let Some(c) = old_client {
                if let Some(set) = self.by_client.get_mut(c) {
                    set.remove(&key);
                    if set.is_empty() {
                        self.by_client.remove(c);
                    }
                }
            }
            if let Some(c) = bound_ref(&b) {
                match self.by_client.get_mut(c) {
                    Some(set) => {
                        set.insert(key);
                    }
                    None => {
                        self.by_client.insert(c.clone(), BTreeSet::from([key]));
                    }
                }
            }
        }
        if b.update_pending {
            self.pending.insert(key);
        } else {
            self.pending.remove(&key);
        }
        if matches!(
            b.status,
            BindingStatus::Expired | BindingStatus::Released | BindingStatus::Reset
        ) {
            self.freeable.insert(key);
        } else {
            self.freeable.remove(&key);
        }
        self.leases.insert(key, b);
    }

    /// The earliest ACTIVE expiry.
    pub fn next_expiry(&self) -> Option<Time> {
        self.expiry.first().map(|(t, _)| *t)
    }

    /// ACTIVE leases whose state-expiration-time is at or before `now`.
    pub fn expired_at(&self, now: Time) -> Vec<LeaseKey> {
        self.expiry
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, k)| *k)
            .collect()
    }

    /// Leases whose partner must be told (in key order).
    pub fn pending(&self) -> &BTreeSet<LeaseKey> {
        &self.pending
    }

    /// Leases EXPIRED, RELEASED or RESET.
    pub fn freeable(&self) -> &BTreeSet<LeaseKey> {
        &self.freeable
    }

    /// Leases with binding-status `status` (FREE or FREE-BACKUP only) of the given kind, in key
    /// order.
    pub fn available(
        &self,
        status: BindingStatus,
        kind: LeaseKind,
    ) -> impl Iterator<Item = (&LeaseKey, &Binding)> {
        let lo = (status, LeaseKey::Addr(Ipv6Addr::UNSPECIFIED));
        self.available
            .range(lo..)
            .take_while(move |(s, _)| *s == status)
            .filter(move |(_, k)| k.kind() == kind)
            .filter_map(|(_, k)| self.leases.get_key_value(k))
    }

    /// A lease with its key.
    pub fn get_key_value(&self, key: &LeaseKey) -> Option<(&LeaseKey, &Binding)> {
        self.leases.get_key_value(key)
    }

    /// ACTIVE leases of a client.
    pub fn active_of(&self, client: &ClientId) -> impl Iterator<Item = &LeaseKey> {
        self.by_client.get(client).into_iter().flatten()
    }

    /// The whole map (for persistence snapshots and observation).
    pub fn leases(&self) -> &BTreeMap<LeaseKey, Binding> {
        &self.leases
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3600;
    const D: u64 = 86_400;

    fn addr(last: u16) -> LeaseKey {
        LeaseKey::Addr(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))
    }

    #[test]
    fn mclt_rule_matches_the_section_4_4_1_example() {
        // First grant: acked partner lifetime 0 → MCLT (1 h).
        let t = Time(1_000_000);
        assert_eq!(max_lifetime(t, None, 3 * D, H, false), H);
        // BNDUPD partner lifetime = 1/2 h + 3 d.
        let pl = partner_lifetime_for(t, H, 3 * D);
        assert_eq!(pl, t.plus(H / 2 + 3 * D));
        // At T1 (t + 1/2 h) the remaining acked time is 3 d: the full 3 d is allowed.
        let t1 = t.plus(H / 2);
        assert_eq!(max_lifetime(t1, Some(pl), 3 * D, H, false), 3 * D);
        // Next partner lifetime = 1.5 d + 3 d.
        assert_eq!(
            partner_lifetime_for(t1, 3 * D, 3 * D),
            t1.plus(D + D / 2 + 3 * D)
        );
        // PARTNER-DOWN is not restricted.
        assert_eq!(max_lifetime(t, None, 3 * D, H, true), 3 * D);
    }

    #[test]
    fn pending_free_destination_follows_reading_r1() {
        assert_eq!(pending_free_destination(&addr(1)), BindingStatus::Free);
        assert_eq!(
            pending_free_destination(&addr(2)),
            BindingStatus::FreeBackup
        );
        let p = LeaseKey::Prefix(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0), 56);
        assert_eq!(pending_free_destination(&p), BindingStatus::Free);
        assert_eq!(address_owner(&addr(3)), Role::Primary);
        assert_eq!(address_owner(&addr(4)), Role::Secondary);
    }

    fn local(status: BindingStatus, client: u64, t: Time, exp: Option<Time>) -> Binding {
        let mut b = Binding::available(status);
        b.client = Some(ClientId::from(client));
        b.clt = Some(t);
        b.start_time_of_state = t;
        b.state_expiration_time = exp;
        b
    }

    fn upd(status: BindingStatus, t: Time, clt: Option<Time>) -> LeaseUpdate {
        LeaseUpdate {
            lease: addr(1),
            valid_lifetime: 0,
            binding_status: status,
            start_time_of_state: t,
            state_expiration_time: None,
            clt_time: clt,
            partner_lifetime: None,
            partner_raw_clt_time: None,
            expiration_time: None,
            dns: None,
            reserved: None,
        }
    }

    /// Every cell of Figure 4 (local × received × time relation), with the expected outcome.
    #[test]
    fn figure4_every_cell() {
        use BindingStatus::*;
        use StatusCode::*;
        let base = Time(10_000);
        let local_exp = base.plus(100); // local state-expiration-time
                                        // Time relations of the update's time to the local db time: later (+20), same (+3),
                                        // earlier (-20). `now` is either after local expiry (+200) or before it (+50).
        #[derive(Clone, Copy, Debug)]
        enum Rel {
            Later,
            Same,
            Earlier,
        }
        let rels = [Rel::Later, Rel::Same, Rel::Earlier];
        let locals = [
            Active, Expired, Released, Free, FreeBackup, Reset, Abandoned,
        ];
        let received = [
            Active, Expired, Released, Free, FreeBackup, Reset, Abandoned,
        ];
        let mut cells = 0;
        for l in locals {
            for r in received {
                for rel in rels {
                    for now_after_expiry in [false, true] {
                        for same_client in [true, false] {
                            for me in [Role::Primary, Role::Secondary] {
                                let lb = local(l, 1, base, Some(local_exp));
                                let t = match rel {
                                    Rel::Later => base.plus(20),
                                    Rel::Same => base.plus(3),
                                    Rel::Earlier => base.minus(20),
                                };
                                let u = upd(r, t, Some(t));
                                let now = if now_after_expiry {
                                    local_exp.plus(100)
                                } else {
                                    base.plus(50)
                                };
                                let rc = ClientId::from(if same_client { 1 } else { 2 });
                                let got = figure4_literal(&lb, Some(&rc), &u, now, me, false);
                                let later = matches!(rel, Rel::Later);
                                let expect = match (l, r) {
                                    // accept(3)
                                    (Active, Active) => {
                                        if same_client || later || me == Role::Secondary {
                                            Ok(())
                                        } else {
                                            Err(AddressInUse)
                                        }
                                    }
                                    // time(1)
                                    (Active, Expired | Free | FreeBackup) => {
                                        if now_after_expiry {
                                            Ok(())
                                        } else {
                                            Err(OutdatedBindingInformation)
                                        }
                                    }
                                    // time(2): received CLT later than local start-time-of-state
                                    (Reset, Active) => {
                                        if later {
                                            Ok(())
                                        } else {
                                            Err(OutdatedBindingInformation)
                                        }
                                    }
                                    // accept
                                    _ => {
                                        if later {
                                            Ok(())
                                        } else {
                                            Err(OutdatedBindingInformation)
                                        }
                                    }
                                };
                                assert_eq!(
                                    got, expect,
                                    "local {l} received {r} {rel:?} now_after={now_after_expiry} same_client={same_client} me={me}"
                                );
                                cells += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(cells, 7 * 7 * 3 * 2 * 2 * 2);
        // time(2) without any CLT in the update rejects.
        let lb = local(Reset, 1, base, None);
        let u = upd(Active, base.plus(100), None);
        assert_eq!(
            figure4_literal(&lb, None, &u, base, Role::Primary, false),
            Err(OutdatedBindingInformation)
        );
    }

    #[test]
    fn an_update_agreeing_with_our_record_is_accepted_unless_older_reading_r11() {
        let lb = local(BindingStatus::Expired, 1, Time(1000), None);
        let c = ClientId::from(1);
        // Same status and client at the same time (within ±5 s): Figure 4 alone calls it a tie
        // and rejects; reading R11 accepts it (it contradicts nothing).
        let u = upd(BindingStatus::Expired, Time(998), Some(Time(997)));
        assert_eq!(
            figure4_literal(&lb, Some(&c), &u, Time(2000), Role::Primary, false),
            Err(StatusCode::OutdatedBindingInformation)
        );
        assert_eq!(
            decide(&lb, Some(&c), &u, Time(2000), Role::Primary, false),
            Ok(())
        );
        // RELEASED against EXPIRED: the same information.
        let ur = upd(BindingStatus::Released, Time(998), Some(Time(997)));
        assert_eq!(
            decide(&lb, Some(&c), &ur, Time(2000), Role::Primary, false),
            Ok(())
        );
        // Clearly older: not an agreement, and Figure 4 rejects it.
        let old = upd(BindingStatus::Expired, Time(900), Some(Time(900)));
        assert_eq!(
            decide(&lb, Some(&c), &old, Time(2000), Role::Primary, false),
            Err(StatusCode::OutdatedBindingInformation)
        );
        // ACTIVE for a different client is judged by Figure 4 (accept(3)) as usual.
        let other = ClientId::from(2);
        let la = local(BindingStatus::Active, 1, Time(1000), Some(Time(3000)));
        let ua = upd(BindingStatus::Active, Time(998), Some(Time(997)));
        assert_eq!(
            decide(&la, Some(&other), &ua, Time(2000), Role::Primary, false),
            Err(StatusCode::AddressInUse)
        );
    }

    #[test]
    fn an_agreeing_update_keeps_our_status_and_what_we_owe_reading_r11() {
        // We expired the lease (and owe the partner that); the partner reports the client's
        // RELEASE at the same time: the same information. Our EXPIRED stays, still owed; only
        // the max-monotone times move.
        let mut lb = local(BindingStatus::Expired, 1, Time(1000), None);
        lb.update_pending = true;
        lb.expiration_time = Some(Time(1500));
        let c = ClientId::from(1);
        let mut u = upd(BindingStatus::Released, Time(1000), Some(Time(1000)));
        u.partner_lifetime = Some(Time(1800));
        assert!(agrees(&lb, Some(&c), &u, true));
        let b = apply_agreeing(&lb, &u);
        assert_eq!(b.status, BindingStatus::Expired);
        assert!(b.update_pending);
        assert_eq!(b.start_time_of_state, lb.start_time_of_state);
        assert_eq!(b.expiration_time, Some(Time(1800)));
        // A smaller partner lifetime never lowers it (reading R4).
        u.partner_lifetime = Some(Time(1200));
        assert_eq!(apply_agreeing(&b, &u).expiration_time, Some(Time(1800)));
    }

    #[test]
    fn same_tick_life_cycle_updates_are_accepted_in_life_cycle_order_reading_r11() {
        use BindingStatus::*;
        let t = Time(1000);
        let c = ClientId::from(1);
        // One turn of the lease (same client), all at one time: a later status of Figure 2's
        // life cycle wins the tie, an earlier one loses it.
        let order = [Active, Released, Abandoned, Reset];
        for (i, l) in order.iter().enumerate() {
            for (j, r) in order.iter().enumerate() {
                if i == j {
                    continue;
                }
                let lb = local(*l, 1, t, Some(t.plus(60)));
                let mut u = upd(*r, t, Some(t));
                if *r == Active {
                    u.state_expiration_time = Some(t.plus(60));
                }
                let got = decide(&lb, Some(&c), &u, t, Role::Secondary, false);
                let want = if j > i {
                    Ok(())
                } else {
                    Err(StatusCode::OutdatedBindingInformation)
                };
                assert_eq!(got, want, "local {l} received {r} at one time");
            }
        }
        // A FREE that carries the CLT of the binding it ends follows the RELEASED it ends.
        let lb = local(Released, 1, t, None);
        let free = upd(Free, t, Some(t));
        assert_eq!(decide(&lb, None, &free, t, Role::Primary, false), Ok(()));
        // A FREE from another turn (other CLT) does not beat a binding at one time.
        let la = local(Active, 1, t, Some(t.plus(60)));
        let stale_free = upd(Free, t, Some(t.minus(300)));
        assert_eq!(
            decide(&la, None, &stale_free, t, Role::Primary, false),
            Err(StatusCode::OutdatedBindingInformation)
        );
    }

    #[test]
    fn free_against_free_backup_at_one_time_goes_to_free_backup_reading_r20() {
        use BindingStatus::*;
        let t = Time(1000);
        let p = LeaseKey::Prefix(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0), 64);
        let mut free = Binding::available(Free);
        free.start_time_of_state = t;
        let mut backup = Binding::available(FreeBackup);
        backup.start_time_of_state = t;
        let mut u_backup = upd(FreeBackup, t, None);
        u_backup.lease = p;
        let mut u_free = upd(Free, t, None);
        u_free.lease = p;
        // The primary (holding FREE) accepts the secondary's FREE-BACKUP ...
        assert_eq!(
            decide(&free, None, &u_backup, t, Role::Primary, false),
            Ok(())
        );
        // ... and the secondary (holding FREE-BACKUP) rejects the primary's FREE.
        assert_eq!(
            decide(&backup, None, &u_free, t, Role::Secondary, false),
            Err(StatusCode::OutdatedBindingInformation)
        );
    }

    #[test]
    fn with_d8_an_expiry_from_a_server_that_never_saw_the_client_is_judged_by_the_clients_time() {
        // The secondary expired a lease it never served: its own CLT is absent, the CLT it
        // learned from us travels as partner-raw-clt-time. Under D8's opt-in the update's
        // time is that transaction (t), not the expiry (t + 60), so it ties with our
        // ABANDONED of the same turn and loses (reading R11's life cycle).
        let t = Time(1000);
        let mut u = upd(BindingStatus::Expired, t.plus(60), None);
        u.partner_raw_clt_time = Some(t);
        assert_eq!(update_time(&u), t.plus(60));
        assert_eq!(update_time_for(&u, true), t);
        let lb = local(BindingStatus::Abandoned, 1, t, None);
        let c = ClientId::from(1);
        assert_eq!(
            decide(&lb, Some(&c), &u, t.plus(60), Role::Primary, true),
            Err(StatusCode::OutdatedBindingInformation)
        );
        assert_eq!(
            decide(&lb, Some(&c), &u, t.plus(60), Role::Primary, false),
            Ok(())
        );
    }

    #[test]
    fn update_time_uses_clt_for_active_and_later_of_both_otherwise() {
        let u = upd(BindingStatus::Active, Time(50), Some(Time(40)));
        assert_eq!(update_time(&u), Time(40));
        let u = upd(BindingStatus::Free, Time(50), Some(Time(40)));
        assert_eq!(update_time(&u), Time(50));
        let u = upd(BindingStatus::Reset, Time(30), Some(Time(40)));
        assert_eq!(update_time(&u), Time(40));
    }

    #[test]
    fn apply_keeps_expiration_time_max_monotone_reading_r4() {
        let mut lb = local(BindingStatus::Active, 1, Time(100), Some(Time(500)));
        lb.expiration_time = Some(Time(9_000));
        let mut u = upd(BindingStatus::Active, Time(200), Some(Time(200)));
        u.partner_lifetime = Some(Time(8_000));
        u.state_expiration_time = Some(Time(400));
        u.expiration_time = Some(Time(7_000));
        u.partner_raw_clt_time = Some(Time(150));
        let b = apply_update(&lb, &addr(1), Some(&ClientId::from(1)), &u, false);
        assert_eq!(b.expiration_time, Some(Time(9_000)));
        // A newer transaction for the same client sets the client's expiry, even if shorter.
        assert_eq!(b.state_expiration_time, Some(Time(400)));
        // decision D1: an older update for the same client does not shorten it.
        let mut old = u.clone();
        old.clt_time = Some(Time(50));
        let b2 = apply_update(&lb, &addr(1), Some(&ClientId::from(1)), &old, false);
        assert_eq!(b2.state_expiration_time, Some(Time(500)));
        assert_eq!(b.partner_raw_clt_time, Some(Time(200)));
        assert_eq!(b.clt, Some(Time(150)).max(Some(Time(100))));
        assert_eq!(b.partner_lifetime, Some(Time(7_000)));
        assert_eq!(b.start_time_of_state, Time(200));
    }

    #[test]
    fn pd_reuse_time_is_max_of_all_times_plus_mclt_reading_r2() {
        let mut b = Binding::available(BindingStatus::Expired);
        b.client_expiry = Some(Time(2 * H));
        b.acked_partner_lifetime = Some(Time(H));
        // A2 example: PD entry 0, max(times) = 2 h, MCLT 1 h: reuse at 3 h, not 2.5 h.
        assert_eq!(pd_reuse_time(&b, Time(0), H), Time(3 * H));
        assert_eq!(pd_reuse_time(&b, Time(5 * H), H), Time(6 * H));
    }

    #[test]
    fn db_indexes_follow_puts() {
        let mut db = Db::default();
        let mut b = local(BindingStatus::Active, 1, Time(0), Some(Time(10)));
        b.update_pending = true;
        db.put(addr(1), b.clone());
        assert_eq!(db.next_expiry(), Some(Time(10)));
        assert!(db.pending().contains(&addr(1)));
        b.status = BindingStatus::Expired;
        b.update_pending = false;
        db.put(addr(1), b);
        assert_eq!(db.next_expiry(), None);
        assert!(db.pending().is_empty());
        assert!(db.freeable().contains(&addr(1)));
    }

    #[test]
    fn db_indexes_after_any_sequence_of_puts_equal_a_rebuild() {
        // `Db::put` touches an index only where the record's contribution changes: after every
        // put of a seeded random sequence (statuses, clients, expiries, flags over few leases),
        // each index equals the one built from scratch from the same records.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let statuses = [
            BindingStatus::Active,
            BindingStatus::Expired,
            BindingStatus::Released,
            BindingStatus::Free,
            BindingStatus::FreeBackup,
            BindingStatus::Reset,
            BindingStatus::Abandoned,
        ];
        let mut db = Db::default();
        for _ in 0..5_000 {
            let status = statuses[next(statuses.len() as u64) as usize];
            let exp = (next(3) > 0).then(|| Time(next(4)));
            let mut b = local(status, next(3), Time(0), exp);
            if next(4) == 0 {
                b.client = None;
            }
            b.update_pending = next(2) == 0;
            db.put(addr(next(4) as u16), b);
            let rebuilt = Db::from_leases(db.leases.clone());
            assert_eq!(db.expiry, rebuilt.expiry);
            assert_eq!(db.available, rebuilt.available);
            assert_eq!(db.by_client, rebuilt.by_client);
            assert_eq!(db.pending, rebuilt.pending);
            assert_eq!(db.freeable, rebuilt.freeable);
        }
    }
}
