//! Leases (RFC 8156 §4, §7.2, §8.4.1): ownership, the MCLT rule, freeing, and the timers that
//! act on them (lease expiry, the PARTNER-DOWN frees, the STARTUP and RECOVER-WAIT timers).

use super::*;

// ---------------------------------------------------------------------------------------------
// Leases: ownership, the MCLT rule, freeing.
// ---------------------------------------------------------------------------------------------

/// The kind of a lease: addresses come first in the database.
pub fn kind(cfg: &ModelConfig, l: LeaseId) -> LeaseKind {
    if l < cfg.addresses {
        LeaseKind::Address
    } else {
        LeaseKind::Prefix
    }
}

/// Owner of an address under independent allocation, RFC 8156 §4.2.1.1: the primary owns
/// addresses whose bit 127 is 1 (odd `A<i>`), the secondary those whose bit 127 is 0.
pub fn address_owner(l: LeaseId) -> Role {
    if l & 1 == 1 {
        Role::Primary
    } else {
        Role::Secondary
    }
}

/// The binding-status that means "available to this role" (§3 glossary, §7.2): FREE for the
/// primary, FREE-BACKUP for the secondary.
pub fn available_status(r: Role) -> B {
    match r {
        Role::Primary => B::Free,
        Role::Secondary => B::FreeBackup,
    }
}

/// Where a lease goes when it leaves PENDING-FREE, RFC 8156 §7.2 transitions (5) and (6)
/// (reading R1): FREE for delegable prefixes (they return to the primary, §4.2.2) and for
/// primary-owned addresses; FREE-BACKUP for secondary-owned addresses. The variant
/// `figure3-pending-free` follows Figure 3 as printed instead (ambiguity A1).
pub fn pending_free_destination(cfg: &ModelConfig, l: LeaseId, freed_by: Role) -> B {
    let k = kind(cfg, l);
    if cfg.is(Variant::Figure3PendingFree) {
        // Figure 3: proportional, owner secondary -> FREE-BACKUP; independent -> FREE always.
        return match (k, freed_by) {
            (LeaseKind::Prefix, Role::Secondary) => B::FreeBackup,
            _ => B::Free,
        };
    }
    match k {
        LeaseKind::Prefix => B::Free,
        LeaseKind::Address => available_status(address_owner(l)),
    }
}

/// The client expiry a grant or renewal gives, RFC 8156 §4.4: outside PARTNER-DOWN the valid
/// lifetime "MUST NOT exceed the MCLT beyond the later of the partner lifetime already
/// acknowledged by the other server or now" (§8.9.1, §8.11.1); in PARTNER-DOWN the server "is not
/// restricted by the MCLT" (§8.4.1).
pub fn granted_expiry(cfg: &ModelConfig, state: S, lease: &Lease, now: Tick) -> Tick {
    let desired = now + cfg.lifetime;
    if state == S::PartnerDown || cfg.is(Variant::NoMcltCap) {
        return desired;
    }
    let cap = lease.acked_pl.max(now) + cfg.mclt;
    desired.min(cap)
}

/// The partner-lifetime sent with a grant, RFC 8156 §4.4.1: now + T1 x actual + desired, with T1
/// half the actual lifetime. Any value keeps the invariant (§8.8.1); this one lets the client's
/// next renewal get the full desired lifetime once the partner has acked.
pub fn partner_lifetime(cfg: &ModelConfig, now: Tick, expiry: Tick) -> Tick {
    now + (expiry - now) / 2 + cfg.lifetime
}

/// When a server in PARTNER-DOWN may hand a lease that was bound to a client to anyone else,
/// RFC 8156 §8.4.1 and §4.2.2.1 (reading R2): the MCLT beyond the latest of the client's
/// expiration, the last partner-lifetime sent, the acked partner-lifetime, the expiration-time
/// acked to the partner, and the entry into PARTNER-DOWN.
pub fn pd_reuse_time(cfg: &ModelConfig, lease: &Lease, pd_since: Tick, now: Tick) -> Tick {
    let latest = lease
        .expiry
        .max(lease.pl_sent)
        .max(lease.acked_pl)
        .max(lease.exp_time);
    if cfg.is(Variant::PdNoMcltWait) {
        return latest.max(pd_since);
    }
    if cfg.is(Variant::PdReuseLiteral) {
        // §8.4.1 as printed: "If this time would be earlier than the current time plus the MCLT,
        // then the time the server entered PARTNER-DOWN state plus the MCLT is used."
        let t = latest + cfg.mclt;
        return if t < now + cfg.mclt {
            pd_since + cfg.mclt
        } else {
            t
        };
    }
    latest.max(pd_since) + cfg.mclt
}

/// Whether a lease in EXPIRED, RELEASED or RESET may pass PENDING-FREE while in PARTNER-DOWN
/// without the partner's ack (Figure 2 transition (4), second sentence; reading R3).
pub(crate) fn pd_may_free(cfg: &ModelConfig, lease: &Lease, pd_since: Tick, now: Tick) -> bool {
    if !matches!(lease.status, B::Expired | B::Released | B::Reset) {
        return false;
    }
    if cfg.is(Variant::PdFreeAfterStateMclt) {
        return now >= lease.since + cfg.mclt;
    }
    now >= pd_reuse_time(cfg, lease, pd_since, now)
}

/// Take a lease through PENDING-FREE to its free status (transitions (4) then (5)/(6)). The
/// partner is told with a BNDUPD of the new status.
pub(crate) fn pass_pending_free(cfg: &ModelConfig, st: &mut State, i: usize, l: LeaseId) {
    let now = st.now;
    let mut to = pending_free_destination(cfg, l, role(i));
    let lease = &mut st.servers[i].leases[l as usize];
    if role(i) == Role::Primary && lease.reserved.is_some() {
        // Design draft §12: a reserved lease that becomes free is FREE on the primary, which
        // announces it to the secondary as FREE-BACKUP flagged reserved ([`flush`]).
        to = B::Free;
    }
    lease.status = to;
    lease.client = None;
    lease.since = now;
    lease.expiry = 0;
    changed(lease);
    if cfg.dns {
        // §9.4: "The failover server that makes a lease PENDING-FREE SHOULD initiate any DNS
        // deletes". Reading R25: whatever name it knows for the binding, recorded as added or
        // not (the partner's add may be done and its BNDUPD saying so not yet arrived). The owed
        // delete is in stable storage with the lease (§9.4 last paragraph). Reading R26: an add
        // still owed for the ended binding is dropped.
        if !cfg.is(Variant::StaleDnsAdd) {
            lease.dns_ops.retain(|op| matches!(op, DnsOp::Remove(_)));
        }
        if let Some(n) = lease.fqdn {
            let recorded = lease.dns_added || !cfg.is(Variant::DeleteOnlyIfRecorded);
            if recorded && !cfg.is(Variant::DeleteOnLocalExpiry) {
                lease.dns_ops.push(DnsOp::Remove(n));
            }
        }
        lease.fqdn = None;
        lease.dns_added = false;
    }
}

/// DNS (reading R27): a DNS delete is still owed for the lease. Until it is done the lease is
/// not allocated and its free status is not sent to the partner, so that no one adds records
/// for a new binding while the old ones may still be in DNS.
pub fn dns_remove_owed(cfg: &ModelConfig, lease: &Lease) -> bool {
    !cfg.is(Variant::FreeBeforeDnsRemove)
        && lease
            .dns_ops
            .iter()
            .any(|op| matches!(op, DnsOp::Remove(_)))
}

/// The environment answers the oldest DNS update server `i` owes for lease `l` (RFC 2136,
/// RFC 4703 as an abstract DNS server holding one name per lease). An add is performed only
/// for a binding still ACTIVE and unexpired in the server's database (reading R26), and only if
/// no other binding's records are in place (RFC 4703 conflict detection); once done, the
/// partner is owed a BNDUPD with the new DNS status (§9.2). A delete removes the records of
/// the name it carries, if they are there.
pub fn dns_answer(cfg: &ModelConfig, st: &mut State, i: usize, l: LeaseId) {
    let now = st.now;
    let l = l as usize;
    if st.servers[i].leases[l].dns_ops.is_empty() {
        return;
    }
    let op = st.servers[i].leases[l].dns_ops.remove(0);
    match op {
        DnsOp::Add(n) => {
            let lease = &mut st.servers[i].leases[l];
            let live = lease.status == B::Active && lease.fqdn == Some(n) && now < lease.expiry;
            if !live && !cfg.is(Variant::StaleDnsAdd) {
                return;
            }
            match st.dns[l] {
                Some(x) if x != n => st.monitor.dns_conflict = true,
                _ => {
                    st.dns[l] = Some(n);
                    if live {
                        lease.dns_added = true;
                        changed(lease);
                    }
                }
            }
        }
        DnsOp::Remove(n) => {
            if st.dns[l] == Some(n) {
                st.dns[l] = None;
            }
        }
    }
}

/// Mark a lease as changed locally: the partner is owed a BNDUPD (§7.4). A change is new
/// information, not the disagreement that a held update waits out (§7.5.4), so it goes at once.
pub(crate) fn changed(lease: &mut Lease) {
    lease.pending = true;
    lease.hold = false;
}

// ---------------------------------------------------------------------------------------------
// Timers.
// ---------------------------------------------------------------------------------------------

/// Whether any timer of server `i` is due: STARTUP (§8.3.2 step 6), RECOVER-WAIT (§8.6.2),
/// auto-partner-down (§8.9.2), lease expiry (Figure 2 (8)), and the PARTNER-DOWN free of
/// Figure 2 (4). The clock does not advance past a due timer: timers fire in the tick they are
/// due, in any order with the other events of that tick.
pub fn timer_due(cfg: &ModelConfig, st: &State, i: usize) -> bool {
    let s = &st.servers[i];
    if !s.up {
        return false;
    }
    let now = st.now;
    match s.state {
        S::Startup if startup_may_expire(cfg, st, i) => return true,
        S::RecoverWait if now >= s.recover_wait_until => return true,
        S::CommunicationsInterrupted => {
            if let Some(p) = cfg.auto_partner_down {
                if now >= s.since + p {
                    return true;
                }
            }
        }
        _ => {}
    }
    s.leases.iter().any(|lease| {
        (lease.status == B::Active && now >= lease.expiry)
            || (s.state == S::PartnerDown && pd_may_free(cfg, lease, s.since, now))
    })
}

/// Whether the STARTUP timer of server `i` may expire. §8.3.2 step 3: the STARTUP period
/// "SHOULD be long enough for a TCP connection to a heavily loaded partner to be created across a
/// slow network". The model takes that as an assumption about the environment: while the partner
/// is running, STARTUP lasts until its STATE arrives, even across a partition; the timer only
/// expires when the partner is down. The variant `startup-timeout-while-partner-alive` drops the
/// assumption (and the checker finds a duplicate: a server back from a crash serves in
/// COMMUNICATIONS-INTERRUPTED while its partner, told it was down, is in PARTNER-DOWN). Reading R19.
pub(crate) fn startup_may_expire(cfg: &ModelConfig, st: &State, i: usize) -> bool {
    let s = &st.servers[i];
    s.state == S::Startup
        && st.now >= s.since + cfg.startup_ticks
        && (!st.servers[1 - i].up || cfg.is(Variant::StartupTimeoutWhilePartnerAlive))
}

/// Fire every due timer of server `i`.
pub fn fire_timers(cfg: &ModelConfig, st: &mut State, i: usize) {
    let now = st.now;
    // Lease expiry, Figure 2 transition (8).
    for lease in st.servers[i].leases.iter_mut() {
        if lease.status == B::Active && now >= lease.expiry {
            lease.status = B::Expired;
            lease.since = now;
            changed(lease);
            if cfg.is(Variant::DeleteOnLocalExpiry) {
                if let Some(n) = lease.fqdn {
                    lease.dns_ops.push(DnsOp::Remove(n));
                }
            }
        }
    }
    // PARTNER-DOWN: EXPIRED/RELEASED/RESET pass PENDING-FREE without an ack, §8.4.1 (R3).
    if st.servers[i].state == S::PartnerDown {
        let pd_since = st.servers[i].since;
        for l in 0..st.servers[i].leases.len() {
            if pd_may_free(cfg, &st.servers[i].leases[l], pd_since, now) {
                pass_pending_free(cfg, st, i, l as LeaseId);
            }
        }
    }
    let s = &st.servers[i];
    match s.state {
        // §8.3.2 step 6: "If the startup time expires prior to communications becoming OK, the
        // server SHOULD transition to PREVIOUS-STATE."
        S::Startup if startup_may_expire(cfg, st, i) => {
            let prev = s.prev;
            set_state(cfg, st, i, prev);
        }
        // §8.6.2: when the RECOVER-WAIT timer expires, go to RECOVER-DONE, whatever the
        // communications status.
        S::RecoverWait if now >= s.recover_wait_until => set_state(cfg, st, i, S::RecoverDone),
        // §8.9.2: "If the auto-partner-down timer expires while a server is in
        // COMMUNICATIONS-INTERRUPTED state, it will transition immediately into PARTNER-DOWN."
        S::CommunicationsInterrupted
            if cfg.auto_partner_down.is_some_and(|p| now >= s.since + p) =>
        {
            set_state(cfg, st, i, S::PartnerDown)
        }
        _ => {}
    }
}
