//! Clients (RFC 8156 §3 responsiveness, §4.2 allocation, §8.x "Operation in X"), reservations
//! (design draft §12) and the monitors' independent statements of the allocation rules.

use super::*;

// ---------------------------------------------------------------------------------------------
// Clients (§3 responsiveness, §4.2 allocation, §8.x "Operation in X").
// ---------------------------------------------------------------------------------------------

/// How a server answers clients (§3, §8.x.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Responsiveness {
    /// Answers every valid client message.
    Responsive,
    /// Answers only messages that name it as the server: RENEW, RELEASE, DECLINE (R10).
    RenewResponsive,
    /// Answers nothing.
    Unresponsive,
}

/// Responsiveness of a server in its current state.
pub fn responsiveness(cfg: &ModelConfig, st: &State, i: usize) -> Responsiveness {
    use Responsiveness::*;
    let s = &st.servers[i];
    if !s.up {
        return Unresponsive;
    }
    match s.state {
        // §8.3.1, §8.5.1, §8.6.1: MUST NOT be responsive.
        S::Startup | S::Recover | S::RecoverWait => Unresponsive,
        // §8.10.1: MUST NOT process any incoming DHCP requests.
        S::PotentialConflict => {
            if cfg.is(Variant::ResponsiveInPotentialConflict) {
                Responsive
            } else {
                Unresponsive
            }
        }
        // §8.8.1: the primary is responsive, the secondary renew-responsive.
        S::Normal => match role(i) {
            Role::Primary => Responsive,
            Role::Secondary => RenewResponsive,
        },
        // §8.7.1 (reading R6).
        S::RecoverDone => RenewResponsive,
        // §8.4.1, §8.9.1, §8.11.1, §8.12.1: MUST respond.
        S::PartnerDown
        | S::CommunicationsInterrupted
        | S::ResolutionInterrupted
        | S::ConflictDone => Responsive,
    }
}

/// Whether server `i` may allocate lease `l` to a new client right now (§4.2, §8.x.1).
pub(crate) fn may_allocate(
    cfg: &ModelConfig,
    st: &State,
    i: usize,
    l: LeaseId,
    c: ClientId,
    own_only: bool,
) -> bool {
    let s = &st.servers[i];
    let lease = &s.leases[l as usize];
    let me = role(i);
    if lease.reclaim || changed_this_tick(cfg, lease, st.now) || dns_remove_owed(cfg, lease) {
        return false;
    }
    // Reading R29: a cancelled reservation's lease goes to no client until the partner acked
    // the BNDUPD FREE "no longer reserved".
    if lease.cancelling && !cfg.is(Variant::CancelReservationWithoutAck) {
        return false;
    }
    // Design draft §12: a reserved lease is offered to its client only, by the primary (FREE)
    // and by the secondary (FREE-BACKUP, flagged reserved by the primary).
    match lease.reserved {
        Some(x) if x == c => return lease.status == available_status(me),
        Some(_) if me == Role::Secondary && cfg.is(Variant::SecondaryIgnoresReservedFlag) => {
            return lease.status == B::FreeBackup;
        }
        Some(_) if me == Role::Primary && cfg.is(Variant::ReservedLeaseInPool) => {}
        Some(_) => return false,
        None => {}
    }
    let own = match kind(cfg, l) {
        // §4.2.1.1: by bit 127; the status agrees under R1.
        LeaseKind::Address => address_owner(l) == me && lease.status == available_status(me),
        // §4.2.2: the primary allocates FREE prefixes, the secondary FREE-BACKUP ones.
        LeaseKind::Prefix => lease.status == available_status(me),
    };
    if own {
        return true;
    }
    if own_only {
        return false;
    }
    let partners = match kind(cfg, l) {
        // §4.2.1: "in PARTNER-DOWN state ... MUST NOT" use the partner's addresses (and §8.4.1
        // SHOULD NOT); the model never does.
        LeaseKind::Address => {
            cfg.is(Variant::SecondaryUsesPrimaryPool)
                && s.state == S::CommunicationsInterrupted
                && me == Role::Secondary
                && address_owner(l) == Role::Primary
                && lease.status == B::Free
        }
        LeaseKind::Prefix => lease.status == available_status(me.partner()),
    };
    if !partners {
        return false;
    }
    match s.state {
        // §8.4.1: partner's prefixes only MCLT after entry into PARTNER-DOWN, and only once the
        // own pool is depleted (checked by the caller).
        S::PartnerDown => cfg.is(Variant::PdNoMcltWait) || st.now >= s.since + cfg.mclt,
        S::CommunicationsInterrupted => {
            cfg.is(Variant::SecondaryUsesPrimaryPool) && me == Role::Secondary
        }
        _ => false,
    }
}

/// The lease server `i` would allocate for a new client: the lowest one of its own pool, else
/// (PARTNER-DOWN, §8.4.1 "MUST fully deplete its own pool" first) the lowest usable one of the
/// partner's pool.
pub(crate) fn choose_lease(
    cfg: &ModelConfig,
    st: &State,
    i: usize,
    k: LeaseKind,
    c: ClientId,
) -> Option<LeaseId> {
    let of_kind = (0..cfg.leases() as LeaseId).filter(|&l| kind(cfg, l) == k);
    // Design draft §12: a client with a reservation (as this server's records have it) is
    // offered its reserved lease, and no other.
    if let Some(l) = reservation_of(cfg, st, i, k, c) {
        return may_allocate(cfg, st, i, l, c, true).then_some(l);
    }
    let own = of_kind
        .clone()
        .find(|&l| may_allocate(cfg, st, i, l, c, true));
    own.or_else(|| {
        of_kind
            .clone()
            .find(|&l| may_allocate(cfg, st, i, l, c, false))
    })
}

/// The lease of kind `k` server `i`'s records reserve for client `c`, if any.
pub fn reservation_of(
    cfg: &ModelConfig,
    st: &State,
    i: usize,
    k: LeaseKind,
    c: ClientId,
) -> Option<LeaseId> {
    (0..cfg.leases() as LeaseId)
        .find(|&l| kind(cfg, l) == k && st.servers[i].leases[l as usize].reserved == Some(c))
}

/// Operator command: cancel the reservation of lease `l` on server `i` (design draft §12). "If
/// the resource is currently FREE and the server is the primary, or BACKUP and the server is
/// the secondary, the server MUST send a BNDUPD to the other server with the binding-status
/// FREE and an indication that the resource is no longer reserved." Reading R29: the lease then
/// goes to no client until that BNDUPD is acked (the partner may still offer it to the reserved
/// client). A reservation cancelled while the lease is bound only stops being reserved.
pub fn cancel_reservation(cfg: &ModelConfig, st: &mut State, i: usize, l: LeaseId) {
    let now = st.now;
    let lease = &mut st.servers[i].leases[l as usize];
    if lease.reserved.is_none() {
        return;
    }
    lease.reserved = None;
    let _ = cfg;
    match (role(i), lease.status) {
        (Role::Primary, B::Free) => {
            lease.since = now;
            lease.cancelling = true;
            changed(lease);
        }
        (Role::Secondary, B::FreeBackup) => {
            // The secondary gives the lease back to the primary.
            lease.status = B::Free;
            lease.since = now;
            changed(lease);
        }
        _ => {}
    }
}

/// Grant or extend lease `l` for client `c` at server `i`, answer the client, owe the partner a
/// BNDUPD. Records the MCLT monitor (§4.4).
pub(crate) fn bind(
    cfg: &ModelConfig,
    st: &mut State,
    i: usize,
    l: LeaseId,
    c: ClientId,
    extend: Option<Option<Fqdn>>,
) {
    let now = st.now;
    let name = cfg.dns.then(|| {
        let own = Fqdn {
            client: c,
            by: role(i),
        };
        let lease = &st.servers[i].leases[l as usize];
        let known = if lease.client == Some(c) {
            lease.fqdn
        } else {
            None
        };
        match extend {
            // §9.3: the server that grants a new lease synthesizes the name and adds it.
            None => own,
            // A renewal keeps the binding's name (§9.5: the partner learnt it from BNDUPD).
            // Reading R28: a server with no name for the binding takes the one the client
            // presents (its FQDN option), i.e. the one it was given.
            Some(presented) => match known {
                Some(n) => n,
                None if cfg.is(Variant::NameSynthesizedOnRenewal)
                    || cfg.is(Variant::NameNotExchanged) =>
                {
                    own
                }
                None => presented.unwrap_or(own),
            },
        }
    });
    if let (Some(n), Some(Some(held))) = (name, extend) {
        if n != held {
            st.monitor.name_changed = true;
        }
    }
    let state = st.servers[i].state;
    let lease = &st.servers[i].leases[l as usize];
    let expiry = granted_expiry(cfg, state, lease, now);
    if state != S::PartnerDown && expiry > lease.acked_pl.max(now) + cfg.mclt {
        st.monitor.mclt_exceeded = true;
    }
    let lease = &mut st.servers[i].leases[l as usize];
    let renewal = lease.status == B::Active && lease.client == Some(c);
    if !renewal {
        lease.since = now;
    }
    lease.status = B::Active;
    lease.client = Some(c);
    lease.expiry = expiry;
    lease.clt = now;
    lease.pl_sent = partner_lifetime(cfg, now, expiry);
    lease.reclaim = false;
    changed(lease);
    if let Some(n) = name {
        if lease.fqdn != Some(n) {
            lease.fqdn = Some(n);
            lease.dns_added = false;
        }
        // §9.3: adds at a grant only; renewals do not add (reading R24: not even the MAY of
        // §9.3 (2) in PARTNER-DOWN, whose partner will add on its own if it still owes it).
        if extend.is_none() {
            lease.dns_ops.push(DnsOp::Add(n));
        }
    }
    st.clients[c as usize] = Some(Holding {
        lease: l,
        expiry,
        server: role(i),
        fqdn: name,
    });
    if cfg.is(Variant::Lockstep) {
        lockstep_exchange(cfg, st, i, l);
    }
}

/// Lock-step (variant): the partner learns the binding before the client is answered; modelled
/// as the BNDUPD and its BNDREPLY happening atomically with the grant.
pub(crate) fn lockstep_exchange(cfg: &ModelConfig, st: &mut State, i: usize, l: LeaseId) {
    let p = 1 - i;
    let lease = st.servers[i].leases[l as usize].clone();
    let theirs = &mut st.servers[p].leases[l as usize];
    theirs.status = lease.status;
    theirs.client = lease.client;
    theirs.expiry = lease.expiry;
    theirs.since = lease.since;
    theirs.clt = theirs.clt.max(lease.clt);
    theirs.exp_time = theirs.exp_time.max(lease.pl_sent);
    theirs.pending = false;
    let mine = &mut st.servers[i].leases[l as usize];
    mine.acked_pl = mine.acked_pl.max(lease.pl_sent);
    mine.pending = false;
    let _ = cfg;
}

/// A client with no lease solicits and requests one of kind `k` from server `i` (SOLICIT,
/// ADVERTISE, REQUEST, REPLY as one exchange).
pub fn client_request(cfg: &ModelConfig, st: &mut State, c: ClientId, i: usize, k: LeaseKind) {
    let resp = responsiveness(cfg, st, i);
    if resp != Responsiveness::Responsive {
        return; // SOLICIT carries no server id: a renew-responsive server ignores it (R10).
    }
    if !responsive_allowed(st.servers[i].state, role(i), false) {
        st.monitor.unresponsive_answered = true;
    }
    let has_own_free = (0..cfg.leases() as LeaseId)
        .filter(|&l| kind(cfg, l) == k)
        .any(|l| own_free(cfg, st, i, l, c));
    if cfg.is(Variant::Lockstep) && !(st.servers[i].comm_ok && st.connected) {
        // Lock-step cannot answer until the partner acks, and the partner is unreachable.
        if has_own_free {
            st.monitor.refused_with_free_lease = true;
        }
        return;
    }
    match choose_lease(cfg, st, i, k, c) {
        Some(l) => {
            if !pool_allowed(cfg, st, i, l, c) {
                st.monitor.foreign_pool = true;
            }
            bind(cfg, st, i, l, c, None);
        }
        None => {
            if has_own_free {
                st.monitor.refused_with_free_lease = true;
            }
        }
    }
}

/// Whether server `i` may extend client `c`'s current lease `l` (RENEW or REBIND).
pub(crate) fn may_extend(cfg: &ModelConfig, st: &State, i: usize, l: LeaseId, c: ClientId) -> bool {
    let s = &st.servers[i];
    let lease = &s.leases[l as usize];
    if lease.status == B::Active && lease.client == Some(c) {
        return true;
    }
    // RECOVER-DONE renews "only ... where it already has a record of the lease" (§8.7.1).
    if s.state == S::RecoverDone {
        return false;
    }
    if cfg.is(Variant::RenewOwnLeasesOnly) && s.state == S::CommunicationsInterrupted {
        return false;
    }
    // §8.9.1, §8.11.1: a responsive server renews "a DHCP client's current lease, regardless of
    // whether that lease was given out by the receiving server or not" -- unless its database
    // shows the lease bound to another client.
    !bound_to_other(lease, c)
}

/// The database binds the lease to a client other than `c`.
pub(crate) fn bound_to_other(lease: &Lease, c: ClientId) -> bool {
    matches!(
        lease.status,
        B::Active | B::Expired | B::Released | B::Abandoned
    ) && lease.client.is_some_and(|x| x != c)
}

/// RENEW (to the server that granted the lease) or REBIND (to `i`, any server).
pub fn client_extend(cfg: &ModelConfig, st: &mut State, c: ClientId, i: usize, rebind: bool) {
    let Some(h) = st.clients[c as usize] else {
        return;
    };
    let resp = responsiveness(cfg, st, i);
    let answers = match resp {
        Responsiveness::Responsive => true,
        // A REBIND carries no server id (R10).
        Responsiveness::RenewResponsive => !rebind,
        Responsiveness::Unresponsive => false,
    };
    let granter_down = !st.servers[idx(h.server)].up;
    if !answers {
        return;
    }
    if !responsive_allowed(st.servers[i].state, role(i), !rebind) {
        st.monitor.unresponsive_answered = true;
    }
    if cfg.is(Variant::Lockstep) && !(st.servers[i].comm_ok && st.connected) {
        return;
    }
    if may_extend(cfg, st, i, h.lease, c) {
        bind(cfg, st, i, h.lease, c, Some(h.fqdn));
    } else if rebind
        && granter_down
        && resp == Responsiveness::Responsive
        && !bound_to_other(&st.servers[i].leases[h.lease as usize], c)
    {
        // (i) lease stability: the partner of a crashed server should keep the client's lease.
        st.monitor.lease_lost_on_failover = true;
    }
}

/// RELEASE (`decline == false`) or DECLINE to the server that granted the lease. The client
/// stops using the lease at once either way.
pub fn client_release(cfg: &ModelConfig, st: &mut State, c: ClientId, decline: bool) {
    let Some(h) = st.clients[c as usize] else {
        return;
    };
    st.clients[c as usize] = None;
    let i = idx(h.server);
    if responsiveness(cfg, st, i) == Responsiveness::Unresponsive {
        return;
    }
    if !responsive_allowed(st.servers[i].state, role(i), true) {
        st.monitor.unresponsive_answered = true;
    }
    let now = st.now;
    let lease = &mut st.servers[i].leases[h.lease as usize];
    if lease.status == B::Active && lease.client == Some(c) {
        // Figure 2 (3) RELEASED, or (9) ABANDONED.
        lease.status = if decline { B::Abandoned } else { B::Released };
        lease.since = now;
        lease.clt = now;
        changed(lease);
    }
}

/// Operator command: reset an ABANDONED lease (Figure 2 (10)).
pub fn reset_lease(st: &mut State, i: usize, l: LeaseId) {
    let now = st.now;
    let lease = &mut st.servers[i].leases[l as usize];
    if lease.status == B::Abandoned {
        lease.status = B::Reset;
        lease.since = now;
        changed(lease);
    }
}

// ---------------------------------------------------------------------------------------------
// Independent statements of the rules, for the monitors (kept apart from the allocation code
// above so that a slip in one is caught by the other).
// ---------------------------------------------------------------------------------------------

/// The lease is free and in this server's own pool (§4.2): used by the "a responsive server with
/// a free lease of its own grants it" property.
pub fn own_free(cfg: &ModelConfig, st: &State, i: usize, l: LeaseId, c: ClientId) -> bool {
    let lease = &st.servers[i].leases[l as usize];
    let me = role(i);
    let in_my_half = match kind(cfg, l) {
        LeaseKind::Address => address_owner(l) == me,
        LeaseKind::Prefix => true,
    };
    // Design draft §12: a reserved lease is in the reach of its client only, at both servers;
    // a client with a reservation is offered nothing else.
    let reservation_ok = match lease.reserved {
        Some(x) => x == c,
        None => reservation_of(cfg, st, i, kind(cfg, l), c).is_none(),
    };
    (in_my_half || lease.reserved == Some(c))
        && reservation_ok
        && (!lease.cancelling || cfg.is(Variant::CancelReservationWithoutAck))
        && !lease.reclaim
        && !dns_remove_owed(cfg, lease)
        && lease.status == available_status(me)
        && !changed_this_tick(cfg, lease, st.now)
}

/// Pool ownership (§4.2, §8.4.1, §8.9.1): the lease about to be allocated is in the server's own
/// pool, or the server is in PARTNER-DOWN, the MCLT since entry has passed, and it is a prefix.
pub(crate) fn pool_allowed(
    cfg: &ModelConfig,
    st: &State,
    i: usize,
    l: LeaseId,
    c: ClientId,
) -> bool {
    if own_free(cfg, st, i, l, c) {
        return true;
    }
    let s = &st.servers[i];
    s.state == S::PartnerDown && kind(cfg, l) == LeaseKind::Prefix && st.now >= s.since + cfg.mclt
}

/// Which states may answer which client messages, as a table taken from §3 and §8.x.1 (the
/// responsiveness monitor checks the server logic against it).
pub fn responsive_allowed(state: S, r: Role, names_server: bool) -> bool {
    match state {
        S::Startup | S::Recover | S::RecoverWait | S::PotentialConflict => false,
        S::Normal => r == Role::Primary || names_server,
        S::RecoverDone => names_server,
        S::PartnerDown
        | S::CommunicationsInterrupted
        | S::ResolutionInterrupted
        | S::ConflictDone => true,
    }
}
