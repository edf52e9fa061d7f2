//! RFC 8156 §9 (DNS update considerations) and the reservations of the design draft §12.

use failover_proto::ServerState::*;

use super::util::*;
use crate::*;

const ZONE: &str = "example.com";

fn dns_config(role: Role) -> Config {
    let mut c = config(role);
    c.dns.enabled = true;
    c.dns.zone = ZONE.to_string();
    c.dns.synthesize_label = Some("dhcp".to_string());
    c
}

fn dns_pair() -> Pair {
    let mut pair = Pair::with_configs(dns_config(Role::Primary), dns_config(Role::Secondary));
    pair.run_until_states(Normal, Normal, 10_000);
    pair
}

fn granted_lease(r: Option<ClientReply>) -> LeaseKey {
    match r.map(|r| r.kind) {
        Some(ReplyKind::Granted { lease, .. }) => lease,
        other => panic!("expected a grant, got {other:?}"),
    }
}

fn dns_of(ep: &Endpoint, k: &LeaseKey) -> LeaseDns {
    LeaseDns::clone(&ep.db().get(k).expect("configured lease").dns)
}

fn adds(n: &[DnsRequest]) -> usize {
    n.iter()
        .filter(|r| matches!(r.op, DnsOp::Add { .. }))
        .count()
}

fn removes(n: &[DnsRequest]) -> usize {
    n.iter()
        .filter(|r| matches!(r.op, DnsOp::Remove { .. }))
        .count()
}

const FR: u16 = FLAG_FWD_UPTODATE | FLAG_REV_UPTODATE;

/// Cut the link until both servers are in COMMUNICATIONS-INTERRUPTED (where the secondary,
/// renew-responsive in NORMAL, grants too).
fn partition(pair: &mut Pair) {
    pair.set_link(false);
    pair.run_until_states(CommunicationsInterrupted, CommunicationsInterrupted, 1000);
}

fn heal(pair: &mut Pair) {
    pair.set_link(true);
    pair.run_until_states(Normal, Normal, 1000);
    pair.advance(10);
}

#[test]
fn granting_server_adds_then_owes_a_bndupd_with_the_new_status_9_2_9_3() {
    let mut pair = dns_pair();
    let r = pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    );
    let lease = granted_lease(r);
    let name = Fqdn::new("laptop", ZONE);
    assert_eq!(pair.p.dns.len(), 1, "the granting server adds (§9.3)");
    assert!(
        matches!(&pair.p.dns[0].op, DnsOp::Add { fqdn, forward: true, reverse: true } if *fqdn == name)
    );
    // The partner got the BNDUPD with the requested name (U flag) but adds nothing.
    pair.advance(1);
    assert!(
        pair.s.dns_log.is_empty(),
        "the receiving partner does not add"
    );
    let sd = dns_of(&pair.s.ep, &lease);
    assert_eq!(sd.info.requested, Some(name.clone()));
    assert_eq!(sd.info.flags, FLAG_USING_REQUESTED_FQDN);
    let bndupds = pair.sent(Role::Primary, MsgKind::BndUpd);
    pair.dns_complete(Role::Primary, true);
    assert_eq!(pair.zone.get("laptop.example.com."), Some(&lease));
    // §9.2: the completed add is owed to the partner in a new BNDUPD.
    assert_eq!(pair.sent(Role::Primary, MsgKind::BndUpd), bndupds + 1);
    let sd = dns_of(&pair.s.ep, &lease);
    assert_eq!(sd.info.entered, Some(name));
    assert_eq!(sd.info.flags, FLAG_USING_REQUESTED_FQDN | FR);
    assert!(sd.owed.is_empty());
    assert!(dns_of(&pair.p.ep, &lease).owed.is_empty());
    pair.assert_databases_agree();
}

#[test]
fn a_name_is_synthesized_when_the_client_requests_none() {
    let mut pair = dns_pair();
    let kind = pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address));
    let Some(ReplyKind::Granted { lease, .. }) = kind else {
        panic!("no grant: {kind:?}")
    };
    let d = dns_of(&pair.p.ep, &lease);
    assert_eq!(d.info.flags, FLAG_SYNTHESIZED_NAME);
    let name = d.info.requested.expect("synthesized");
    assert!(name.host.starts_with("dhcp-2001-db8-"), "{name}");
    assert_eq!(name.zone, ZONE);
}

#[test]
fn renewals_do_not_add_9_3() {
    let mut pair = dns_pair();
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    pair.dns_complete(Role::Primary, true);
    pair.advance(20);
    let r = pair.client(Role::Primary, 1, ClientOp::Renew { lease, to_me: true });
    assert!(matches!(r, Some(ReplyKind::Granted { .. })));
    assert_eq!(adds(&pair.p.dns_log), 1);
    assert!(pair.p.dns.is_empty());
}

#[test]
fn the_server_making_the_lease_pending_free_deletes_on_the_ack_not_its_partner_9_4() {
    let mut pair = dns_pair();
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    pair.dns_complete(Role::Primary, true);
    pair.advance(10);
    let r = pair.client(Role::Primary, 1, ClientOp::Release { lease, to_me: true });
    assert_eq!(r, Some(ReplyKind::Released(lease)));
    // The BNDUPD RELEASED went out and was acked within the drain: the lease is PENDING-FREE
    // (and FREE, reading R1) now, and the delete is asked of the primary's driver.
    assert_eq!(removes(&pair.p.dns), 1);
    assert!(
        matches!(&pair.p.dns[0].op, DnsOp::Remove { fqdn, forward: true, reverse: true } if fqdn.host == "laptop")
    );
    pair.dns_complete(Role::Primary, true);
    assert!(pair.zone.is_empty(), "{:?}", pair.zone);
    pair.advance(10);
    assert!(
        pair.s.dns_log.is_empty(),
        "the acking partner deletes nothing"
    );
    assert_eq!(dns_of(&pair.s.ep, &lease).info, DnsInfo::default());
    assert_eq!(dns_of(&pair.p.ep, &lease), LeaseDns::default());
    pair.assert_databases_agree();
}

#[test]
fn partner_down_server_deletes_the_records_its_partner_added_9_4() {
    let mut pair = dns_pair();
    partition(&mut pair);
    let lease = granted_lease(pair.client_named(
        Role::Secondary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "phone",
    ));
    pair.dns_complete(Role::Secondary, true);
    heal(&mut pair);
    assert_eq!(
        dns_of(&pair.p.ep, &lease).info.flags & FR,
        FR,
        "the primary learned the added records"
    );
    pair.crash(Role::Secondary);
    pair.advance(5);
    pair.p.ep.handle_command(pair.now, Command::PartnerDown);
    pair.drain();
    assert_eq!(pair.p.ep.state(), PartnerDown);
    // The lease expires, and once the reading-R2 reuse time has passed the PARTNER-DOWN
    // server frees it itself: it deletes the partner's records.
    pair.advance(DESIRED + 3 * MCLT);
    assert_eq!(removes(&pair.p.dns_log), 1, "{}", pair.tail());
    assert!(pair.zone.contains_key("phone.example.com."));
    pair.dns_complete(Role::Primary, true);
    assert!(pair.zone.is_empty());
}

#[test]
fn no_deletes_in_communications_interrupted_9_4() {
    let mut pair = dns_pair();
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    pair.dns_complete(Role::Primary, true);
    pair.advance(5);
    pair.set_link(false);
    pair.advance(DESIRED + 2 * MCLT);
    assert_eq!(pair.p.ep.state(), CommunicationsInterrupted);
    assert_eq!(
        pair.p.ep.db().get(&lease).map(|b| b.status),
        Some(BindingStatus::Expired)
    );
    assert_eq!(removes(&pair.p.dns_log) + removes(&pair.s.dns_log), 0);
    // Back in NORMAL an EXPIRED is acked, and a server whose EXPIRED was acked makes the lease
    // PENDING-FREE and deletes. Both had expired the lease on their own clocks; with decision D8
    // both EXPIREDs carry the one client transaction both know of, each agrees with the
    // other's (reading R11), and both may delete: the second delete names the same records
    // and is a no-op (`dns_on_pending_free`). (With the literal §7.5.4 time the secondary,
    // which never talked to the client, dated its copy by the expiry and rejected the
    // primary's EXPIRED: exactly one deleted.)
    heal(&mut pair);
    let deletes = removes(&pair.p.dns_log) + removes(&pair.s.dns_log);
    assert!(
        (1..=2).contains(&deletes),
        "{deletes} deletes\n{}",
        pair.tail()
    );
    pair.dns_complete(Role::Primary, true);
    pair.dns_complete(Role::Secondary, true);
    assert!(pair.zone.is_empty());
}

#[test]
fn an_owed_delete_survives_a_crash_and_is_asked_again_after_restart_9_4() {
    let mut pair = dns_pair();
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    pair.dns_complete(Role::Primary, true);
    pair.advance(10);
    pair.client(Role::Primary, 1, ClientOp::Release { lease, to_me: true });
    assert_eq!(removes(&pair.p.dns), 1);
    // Crash before the driver performed the delete.
    pair.crash(Role::Primary);
    assert!(pair.zone.contains_key("laptop.example.com."));
    let owed = &pair.p.store.leases[&lease].dns.owed;
    assert!(
        matches!(owed.as_slice(), [DnsOp::Remove { .. }]),
        "{owed:?}"
    );
    pair.advance(5);
    pair.restart(Role::Primary, true);
    assert_eq!(removes(&pair.p.dns), 1, "the restarted server asks again");
    pair.dns_complete(Role::Primary, true);
    assert!(pair.zone.is_empty());
    assert!(pair.p.store.leases[&lease].dns.owed.is_empty());
}

#[test]
fn a_failed_dns_operation_stays_owed_and_is_retried() {
    let mut pair = dns_pair();
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    pair.dns_complete(Role::Primary, false);
    assert!(pair
        .p
        .events
        .iter()
        .any(|e| matches!(e, Event::Alarm(a) if a.contains("DNS update"))));
    assert!(pair.p.dns.is_empty());
    pair.advance(Config::new(Role::Primary).dns.retry);
    assert_eq!(adds(&pair.p.dns), 1, "asked again after the retry time");
    pair.dns_complete(Role::Primary, true);
    assert_eq!(dns_of(&pair.p.ep, &lease).info.flags & FR, FR);
}

#[test]
fn the_partner_answering_a_client_returns_the_name_it_learned_9_5() {
    let mut pair = dns_pair();
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    pair.dns_complete(Role::Primary, true);
    pair.advance(5);
    pair.set_link(false);
    pair.advance(3 * Config::new(Role::Primary).keepalive_time);
    assert_eq!(pair.s.ep.state(), CommunicationsInterrupted);
    pair.client(Role::Secondary, 1, ClientOp::Rebind(lease));
    let reply = pair.s.replies.last().cloned().expect("a reply");
    assert!(matches!(reply.kind, ReplyKind::Granted { .. }));
    assert_eq!(reply.fqdn, Some(Fqdn::new("laptop", ZONE)));
    assert!(pair.s.dns_log.is_empty(), "a renewal adds nothing");
}

#[test]
fn a_server_without_dns_updates_warns_and_refuses_if_configured_9() {
    let mut s = config(Role::Secondary);
    s.dns.refuse_partner_updates = true;
    let mut pair = Pair::with_configs(dns_config(Role::Primary), s);
    pair.run_until_states(Normal, Normal, 10_000);
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    // The first BNDUPD shows no completed update yet: accepted.
    assert_eq!(
        pair.s.ep.db().get(&lease).map(|b| b.status),
        Some(BindingStatus::Active)
    );
    pair.dns_complete(Role::Primary, true);
    assert!(pair
        .s
        .events
        .iter()
        .any(|e| matches!(e, Event::Alarm(a) if a.contains("DNS updates"))));
    let refused = pair.s.sent.iter().any(|m| match &m.body {
        Body::BndReply(r) => r
            .leases
            .iter()
            .any(|l| l.status == Some(StatusCode::DnsUpdateNotSupported)),
        _ => false,
    });
    assert!(refused, "BNDREPLY with DNSUpdateNotSupported");
}

#[test]
fn a_server_without_dns_updates_only_warns_by_default_9() {
    let mut pair = Pair::with_configs(dns_config(Role::Primary), config(Role::Secondary));
    pair.run_until_states(Normal, Normal, 10_000);
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    pair.dns_complete(Role::Primary, true);
    assert!(pair
        .s
        .events
        .iter()
        .any(|e| matches!(e, Event::Alarm(a) if a.contains("DNS updates"))));
    assert_eq!(dns_of(&pair.s.ep, &lease).info.flags & FR, FR);
    assert!(pair.s.dns_log.is_empty());
}

// ---- reservations (design draft §12) ---------------------------------------------------

const RESERVED_CLIENT: u64 = 77;

fn reserve(mut c: Config, n: u16) -> Config {
    c.reservations
        .push((LeaseKey::Addr(addr(n)), ClientId::from(RESERVED_CLIENT)));
    c
}

fn reserved_pair(n: u16, on_primary: bool) -> Pair {
    let p = config(Role::Primary);
    let p = if on_primary { reserve(p, n) } else { p };
    let mut pair = Pair::with_configs(p, reserve(config(Role::Secondary), n));
    pair.run_until_states(Normal, Normal, 10_000);
    pair.advance(10);
    pair
}

fn reservation_of(ep: &Endpoint, k: &LeaseKey) -> (BindingStatus, Reservation) {
    let b = ep.db().get(k).expect("configured");
    (b.status, b.reservation)
}

#[test]
fn the_primary_shows_a_reserved_lease_free_and_sends_it_free_backup_flagged_reserved() {
    // addr(2) is even: without a reservation it would be the secondary's (FREE-BACKUP).
    let pair = reserved_pair(2, true);
    let k = LeaseKey::Addr(addr(2));
    assert_eq!(
        reservation_of(&pair.p.ep, &k),
        (BindingStatus::Free, Reservation::Reserved)
    );
    assert_eq!(
        reservation_of(&pair.s.ep, &k),
        (BindingStatus::FreeBackup, Reservation::Reserved)
    );
    let announced = pair.p.sent.iter().any(|m| match &m.body {
        Body::BndUpd(u) => u.leases.iter().any(|l| {
            l.lease == k
                && l.binding_status == BindingStatus::FreeBackup
                && l.reserved == Some(true)
        }),
        _ => false,
    });
    assert!(announced);
}

#[test]
fn a_reserved_lease_goes_only_to_its_client_and_its_client_gets_it() {
    let mut pair = reserved_pair(3, true);
    let k = LeaseKey::Addr(addr(3));
    for c in 1..=4 {
        if let Some(ReplyKind::Granted { lease, .. }) =
            pair.client(Role::Primary, c, ClientOp::Request(LeaseKind::Address))
        {
            assert_ne!(lease, k, "a reserved lease went to another client");
        }
    }
    partition(&mut pair);
    for c in 11..=14 {
        if let Some(ReplyKind::Granted { lease, .. }) =
            pair.client(Role::Secondary, c, ClientOp::Request(LeaseKind::Address))
        {
            assert_ne!(lease, k, "a reserved lease went to another client");
        }
    }
    let r = pair.client(
        Role::Secondary,
        RESERVED_CLIENT,
        ClientOp::Request(LeaseKind::Address),
    );
    assert!(
        matches!(r, Some(ReplyKind::Granted { lease, .. }) if lease == k),
        "{r:?}"
    );
    heal(&mut pair);
    pair.assert_databases_agree();
}

#[test]
fn a_reservation_only_on_the_secondary_does_not_let_it_offer_the_lease() {
    let mut pair = reserved_pair(3, false);
    let k = LeaseKey::Addr(addr(3));
    partition(&mut pair);
    assert_eq!(reservation_of(&pair.s.ep, &k).1, Reservation::None);
    let r = pair.client(
        Role::Secondary,
        RESERVED_CLIENT,
        ClientOp::Request(LeaseKind::Address),
    );
    assert!(
        !matches!(r, Some(ReplyKind::Granted { lease, .. }) if lease == k),
        "{r:?}"
    );
}

#[test]
fn a_freed_reserved_lease_returns_to_free_on_the_primary_and_free_backup_reserved_on_the_secondary()
{
    let mut pair = reserved_pair(2, true);
    let k = LeaseKey::Addr(addr(2));
    partition(&mut pair);
    let r = pair.client(
        Role::Secondary,
        RESERVED_CLIENT,
        ClientOp::Request(LeaseKind::Address),
    );
    assert!(matches!(r, Some(ReplyKind::Granted { lease, .. }) if lease == k));
    pair.advance(10);
    pair.client(
        Role::Secondary,
        RESERVED_CLIENT,
        ClientOp::Release {
            lease: k,
            to_me: true,
        },
    );
    heal(&mut pair);
    assert_eq!(
        reservation_of(&pair.p.ep, &k),
        (BindingStatus::Free, Reservation::Reserved)
    );
    assert_eq!(
        reservation_of(&pair.s.ep, &k),
        (BindingStatus::FreeBackup, Reservation::Reserved)
    );
    assert_eq!(
        pair.p.ep.db().get(&k).map(|b| b.update_pending),
        Some(false)
    );
    assert_eq!(
        pair.s.ep.db().get(&k).map(|b| b.update_pending),
        Some(false)
    );
}

#[test]
fn cancelling_sends_free_no_longer_reserved_and_holds_the_lease_until_the_ack() {
    let mut pair = reserved_pair(3, true);
    let k = LeaseKey::Addr(addr(3));
    // Cancelled while the servers cannot talk: the BNDUPD waits for NORMAL.
    partition(&mut pair);
    let from = pair.p.sent.len();
    pair.p
        .ep
        .handle_command(pair.now, Command::CancelReservation(k));
    pair.s
        .ep
        .handle_command(pair.now, Command::CancelReservation(k));
    pair.drain();
    assert_eq!(
        reservation_of(&pair.p.ep, &k),
        (BindingStatus::Free, Reservation::Cancelling)
    );
    // Until the partner acks, the lease goes to no other client (decision D25).
    pair.advance(10);
    for c in 1..=6 {
        if let Some(ReplyKind::Granted { lease, .. }) =
            pair.client(Role::Primary, c, ClientOp::Request(LeaseKind::Address))
        {
            assert_ne!(lease, k);
        }
    }
    heal(&mut pair);
    let sent_free = pair.p.sent[from..].iter().any(|m| match &m.body {
        Body::BndUpd(u) => u.leases.iter().any(|l| {
            l.lease == k && l.binding_status == BindingStatus::Free && l.reserved == Some(false)
        }),
        _ => false,
    });
    assert!(sent_free, "BNDUPD FREE \"no longer reserved\"");
    assert_eq!(reservation_of(&pair.p.ep, &k).1, Reservation::Cancelled);
    assert_eq!(reservation_of(&pair.s.ep, &k).1, Reservation::None);
    let r = pair.client(Role::Primary, 99, ClientOp::Request(LeaseKind::Address));
    assert!(
        matches!(r, Some(ReplyKind::Granted { lease, .. }) if lease == k),
        "the lease is an ordinary one again: {r:?}"
    );
}

fn free_update(k: LeaseKey, status: BindingStatus, t: Time, reserved: Option<bool>) -> LeaseUpdate {
    LeaseUpdate {
        lease: k,
        valid_lifetime: 0,
        binding_status: status,
        start_time_of_state: t,
        state_expiration_time: None,
        clt_time: None,
        partner_lifetime: None,
        partner_raw_clt_time: None,
        expiration_time: None,
        dns: None,
        reserved,
    }
}

#[test]
fn a_reservation_cancelled_on_the_secondary_gives_the_lease_back_free_without_a_cancelling_mark() {
    // Reading R29 (secondary side).
    let mut pair = reserved_pair(2, true);
    let k = LeaseKey::Addr(addr(2));
    partition(&mut pair);
    pair.s
        .ep
        .handle_command(pair.now, Command::CancelReservation(k));
    pair.drain();
    // No cancelling mark: the lease is FREE, the primary's to allocate.
    assert_eq!(
        reservation_of(&pair.s.ep, &k),
        (BindingStatus::Free, Reservation::Cancelled)
    );
    let b = pair.s.ep.db().get(&k).expect("configured").clone();
    assert!(b.update_pending, "BNDUPD FREE owed to the primary");
    assert_eq!(pair.s.ep.reservation_flag(&k, &b), Some(false));
}

#[test]
fn a_reservation_cancelled_only_on_the_secondary_is_reannounced_by_the_primary() {
    // Readings R32 and R31: only the secondary's operator cancelled; the primary, still
    // reserving the lease, answers the secondary's FREE with its announcement, older than that
    // FREE, which the secondary takes all the same: the primary's configuration decides.
    let mut pair = reserved_pair(2, true);
    let k = LeaseKey::Addr(addr(2));
    partition(&mut pair);
    pair.s
        .ep
        .handle_command(pair.now, Command::CancelReservation(k));
    pair.drain();
    heal(&mut pair);
    assert_eq!(
        reservation_of(&pair.p.ep, &k),
        (BindingStatus::Free, Reservation::Reserved)
    );
    assert_eq!(
        reservation_of(&pair.s.ep, &k),
        (BindingStatus::FreeBackup, Reservation::Reserved)
    );
}

#[test]
fn the_primary_reads_the_secondarys_free_backup_of_a_reserved_or_cancelling_lease_as_free() {
    // Reading R30.
    let mut pair = reserved_pair(3, true);
    let k = LeaseKey::Addr(addr(3));
    let lu = free_update(k, BindingStatus::FreeBackup, pair.now, Some(true));
    let read = pair.p.ep.reservation_read(&lu).expect("read as FREE");
    assert_eq!(read.binding_status, BindingStatus::Free);
    // Also while the cancellation is being told (the mark is in stable storage).
    partition(&mut pair);
    pair.p
        .ep
        .handle_command(pair.now, Command::CancelReservation(k));
    pair.drain();
    assert_eq!(reservation_of(&pair.p.ep, &k).1, Reservation::Cancelling);
    let read = pair.p.ep.reservation_read(&lu).expect("read as FREE");
    assert_eq!(read.binding_status, BindingStatus::Free);
    // The secondary reads nothing differently.
    assert!(pair.s.ep.reservation_read(&lu).is_none());
}

#[test]
fn at_the_secondary_the_primarys_reservation_change_wins_over_a_free_record() {
    // Reading R31.
    let t = Time(10_000);
    let k = LeaseKey::Addr(addr(3));
    let mut local = crate::db::Binding::available(BindingStatus::Free);
    local.start_time_of_state = t;
    let flagged = free_update(k, BindingStatus::FreeBackup, t.plus(2), Some(true));
    assert_eq!(
        crate::db::decide(&local, None, &flagged, t, Role::Secondary, false),
        Ok(())
    );
    // An older announcement wins too: the reserved flag is the primary's to set.
    let older = free_update(k, BindingStatus::FreeBackup, Time(9_000), Some(true));
    assert_eq!(
        crate::db::decide(&local, None, &older, t, Role::Secondary, false),
        Ok(())
    );
    // Without a reservation change, Figure 4's times decide: a tie and an older update lose.
    let unflagged = free_update(k, BindingStatus::FreeBackup, t.plus(2), None);
    assert!(crate::db::decide(&local, None, &unflagged, t, Role::Secondary, false).is_err());
    let older_unflagged = free_update(k, BindingStatus::FreeBackup, Time(9_000), None);
    assert!(crate::db::decide(&local, None, &older_unflagged, t, Role::Secondary, false).is_err());
    // The primary applies Figure 4 to the secondary's free updates as to any.
    let mut primary_local = crate::db::Binding::available(BindingStatus::FreeBackup);
    primary_local.start_time_of_state = t;
    let old_free = free_update(k, BindingStatus::Free, Time(9_000), Some(false));
    assert!(crate::db::decide(&primary_local, None, &old_free, t, Role::Primary, false).is_err());
}

#[test]
fn a_reserved_lease_the_secondary_frees_goes_to_its_own_pool_there_and_is_reannounced_by_the_primary(
) {
    // Reading R32: addr(3) is odd, FREE (the primary's) in reading R1.
    let mut pair = reserved_pair(3, true);
    let k = LeaseKey::Addr(addr(3));
    partition(&mut pair);
    let r = pair.client(
        Role::Secondary,
        RESERVED_CLIENT,
        ClientOp::Request(LeaseKind::Address),
    );
    assert!(matches!(r, Some(ReplyKind::Granted { lease, .. }) if lease == k));
    pair.advance(10);
    pair.client(
        Role::Secondary,
        RESERVED_CLIENT,
        ClientOp::Release {
            lease: k,
            to_me: true,
        },
    );
    heal(&mut pair);
    assert_eq!(
        reservation_of(&pair.p.ep, &k),
        (BindingStatus::Free, Reservation::Reserved)
    );
    assert_eq!(
        reservation_of(&pair.s.ep, &k),
        (BindingStatus::FreeBackup, Reservation::Reserved)
    );
}

// ---- the project's readings of §9 (R24–R28) -------------------------------------------------

fn bndupds_of(pair: &Pair, role: Role, from: usize, k: LeaseKey) -> Vec<LeaseUpdate> {
    let n = match role {
        Role::Primary => &pair.p,
        Role::Secondary => &pair.s,
    };
    n.sent[from..]
        .iter()
        .filter_map(|m| match &m.body {
            Body::BndUpd(u) => Some(u.leases.iter().filter(|l| l.lease == k).cloned()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn a_bndupd_of_the_same_binding_ors_the_dns_status_and_the_receiver_never_adds_r24() {
    let mut pair = dns_pair();
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    pair.advance(2);
    // The secondary learnt the name (no F yet); then the link goes, and the add is done.
    assert_eq!(
        crate::dns::binding_name(&dns_of(&pair.s.ep, &lease).info),
        Some(&Fqdn::new("laptop", ZONE))
    );
    pair.set_link(false);
    pair.dns_complete(Role::Primary, true);
    assert_eq!(dns_of(&pair.p.ep, &lease).info.flags & FR, FR);
    pair.advance(3 * Config::new(Role::Primary).keepalive_time);
    assert_eq!(pair.s.ep.state(), CommunicationsInterrupted);
    // The secondary renews the binding without knowing the records are added.
    let r = pair.client(Role::Secondary, 1, ClientOp::Rebind(lease));
    assert!(matches!(r, Some(ReplyKind::Granted { .. })), "{r:?}");
    assert_eq!(dns_of(&pair.s.ep, &lease).info.flags & FR, 0);
    let from = pair.s.sent.len();
    heal(&mut pair);
    // Its BNDUPD (name, no F) is accepted by the primary, whose "added" stays (OR).
    let ups = bndupds_of(&pair, Role::Secondary, from, lease);
    assert!(ups
        .iter()
        .any(|u| u.dns.as_ref().is_some_and(|d| d.flags & FR == 0)));
    assert_eq!(dns_of(&pair.p.ep, &lease).info.flags & FR, FR);
    // (The secondary learns F only from a later BNDUPD of the primary: the one owed after the
    // add went as EXPIRED and was rejected, and accepting the secondary's ACTIVE left nothing
    // owed. Harmless: the delete of reading R25 does not depend on F.)
    assert_eq!(adds(&pair.s.dns_log), 0, "the receiver never adds");
    assert_eq!(adds(&pair.p.dns_log), 1, "the granter added once");
    pair.assert_databases_agree();
}

#[test]
fn an_update_for_another_binding_replaces_the_name_and_drops_the_owed_add_r24_r26() {
    let ep = Endpoint::new(dns_config(Role::Primary), None, T0);
    let k = LeaseKey::Addr(addr(1));
    let ours = Fqdn::new("laptop", ZONE);
    let theirs = Fqdn::new("phone", ZONE);
    let mut b = ep.db().get(&k).cloned().expect("configured");
    b.status = BindingStatus::Active;
    b.client = Some(ClientId::from(1));
    b.dns.info = DnsInfo {
        requested: Some(ours.clone()),
        entered: None,
        flags: FLAG_USING_REQUESTED_FQDN,
    };
    b.dns.owed = vec![DnsOp::Add {
        fqdn: ours.clone(),
        forward: true,
        reverse: true,
    }];
    let info = DnsInfo {
        requested: Some(theirs.clone()),
        entered: Some(theirs.clone()),
        flags: FLAG_USING_REQUESTED_FQDN | FR,
    };
    let lu = LeaseUpdate {
        lease: k,
        valid_lifetime: 100,
        binding_status: BindingStatus::Active,
        start_time_of_state: T0,
        state_expiration_time: Some(T0.plus(100)),
        clt_time: Some(T0),
        partner_lifetime: Some(T0.plus(100)),
        partner_raw_clt_time: None,
        expiration_time: None,
        dns: Some(info.clone()),
        reserved: None,
    };
    // The same binding (same client, only one name known on each side): learnt and ORed.
    let mut same = b.clone();
    same.dns.info.requested = None;
    let c1 = ClientId::from(1);
    ep.dns_merge_update(&mut same, Some(&c1), Some(&c1), &lu);
    assert_eq!(same.dns.info.flags & FR, FR);
    assert_eq!(
        same.dns.owed.len(),
        1,
        "an add for the same binding stays owed"
    );
    // Another binding (another client): the update's name and status replace ours, and the add
    // we owed for our binding is dropped.
    let c2 = ClientId::from(2);
    ep.dns_merge_update(&mut b, Some(&c1), Some(&c2), &lu);
    assert_eq!(b.dns.info, info);
    assert!(b.dns.owed.is_empty(), "{:?}", b.dns.owed);
}

#[test]
fn delete_without_recorded_add_still_deletes_known_name_r25() {
    let mut pair = dns_pair();
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    pair.advance(2);
    // The secondary knows the name but never learns that the add was done: the link fails
    // just before the add completes (while the binding is still live).
    pair.set_link(false);
    pair.dns_complete(Role::Primary, true);
    pair.run_until_states(CommunicationsInterrupted, CommunicationsInterrupted, 1000);
    assert!(pair.zone.contains_key("laptop.example.com."));
    assert_eq!(dns_of(&pair.s.ep, &lease).info.flags & FR, 0);
    pair.crash(Role::Primary);
    pair.s.ep.handle_command(pair.now, Command::PartnerDown);
    pair.drain();
    assert_eq!(pair.s.ep.state(), PartnerDown);
    // In PARTNER-DOWN the secondary frees the lease itself and deletes the name it knows.
    pair.advance(DESIRED + 3 * MCLT);
    assert_eq!(removes(&pair.s.dns_log), 1, "{}", pair.tail());
    assert!(matches!(&pair.s.dns_log[0].op, DnsOp::Remove { fqdn, .. } if fqdn.host == "laptop"));
    pair.dns_complete(Role::Secondary, true);
    assert!(pair.zone.is_empty(), "{:?}", pair.zone);
    assert_eq!(dns_of(&pair.s.ep, &lease), LeaseDns::default());
}

#[test]
fn no_delete_at_a_local_expiry_r25() {
    let mut pair = dns_pair();
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    pair.dns_complete(Role::Primary, true);
    pair.advance(2);
    pair.set_link(false);
    pair.advance(DESIRED + 2 * MCLT);
    assert_eq!(settled_status(&pair.p.ep, &lease), BindingStatus::Expired);
    assert_eq!(removes(&pair.p.dns_log) + removes(&pair.s.dns_log), 0);
    assert!(dns_of(&pair.p.ep, &lease).owed.is_empty());
}

#[test]
fn owed_add_dropped_when_binding_ended_r26() {
    let mut pair = dns_pair();
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    pair.advance(2);
    // The granter crashes owing the add (stable storage) and restarts after the binding expired.
    pair.crash(Role::Primary);
    assert!(matches!(
        pair.p.store.leases[&lease].dns.owed.as_slice(),
        [DnsOp::Add { .. }]
    ));
    pair.advance(DESIRED + 10);
    pair.restart(Role::Primary, true);
    // The owed add is asked for again, and dropped when the driver is about to send it: the
    // binding has expired (the model checks at the same moment, when the DNS server answers).
    pair.dns_complete(Role::Primary, true);
    assert!(
        pair.zone.is_empty(),
        "no add for an expired binding: {:?}",
        pair.zone
    );
    assert!(dns_of(&pair.p.ep, &lease)
        .owed
        .iter()
        .all(|op| !matches!(op, DnsOp::Add { .. })));
}

#[test]
fn an_add_owed_when_the_lease_passes_pending_free_is_dropped_and_its_name_deleted_r25_r26() {
    let mut pair = dns_pair();
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    // The add fails and waits for its retry; meanwhile the client releases and the ack frees.
    pair.dns_complete(Role::Primary, false);
    pair.advance(5);
    pair.client(Role::Primary, 1, ClientOp::Release { lease, to_me: true });
    let owed = dns_of(&pair.p.ep, &lease).owed;
    assert!(
        matches!(owed.as_slice(), [DnsOp::Remove { fqdn, .. }] if fqdn.host == "laptop"),
        "{owed:?}"
    );
    pair.advance(Config::new(Role::Primary).dns.retry);
    pair.dns_complete(Role::Primary, true);
    assert_eq!(adds(&pair.p.dns_log), 1, "only the first, failed, add");
    assert!(pair.zone.is_empty());
}

#[test]
fn free_status_waits_for_owed_delete_r27() {
    let mut pair = dns_pair();
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    pair.dns_complete(Role::Primary, true);
    pair.advance(10);
    let from = pair.p.sent.len();
    pair.client(Role::Primary, 1, ClientOp::Release { lease, to_me: true });
    pair.advance(10);
    // The RELEASED went and was acked; the lease is free here but owes its delete.
    assert_eq!(settled_status(&pair.p.ep, &lease), BindingStatus::Free);
    assert_eq!(removes(&pair.p.dns), 1);
    let free_sent = |pair: &Pair| {
        bndupds_of(pair, Role::Primary, from, lease)
            .iter()
            .any(|u| u.binding_status == BindingStatus::Free)
    };
    assert!(!free_sent(&pair), "the FREE waits for the delete");
    let status_at_s = |pair: &Pair| pair.s.ep.db().get(&lease).map(|b| b.status);
    assert_eq!(status_at_s(&pair), Some(BindingStatus::Released));
    // Nor is the lease allocated meanwhile.
    for c in 2..=9 {
        if let Some(ReplyKind::Granted { lease: l, .. }) =
            pair.client(Role::Primary, c, ClientOp::Request(LeaseKind::Address))
        {
            assert_ne!(l, lease, "allocated while its delete is owed");
        }
    }
    pair.dns_complete(Role::Primary, true);
    pair.advance(2);
    assert!(free_sent(&pair), "the FREE goes once the delete is done");
    assert_eq!(status_at_s(&pair), Some(BindingStatus::Free));
}

#[test]
fn renewal_without_a_known_name_takes_the_presented_name_r28() {
    let mut pair = dns_pair();
    partition(&mut pair);
    // The primary grants while the secondary cannot hear of it.
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    pair.dns_complete(Role::Primary, true);
    // The client rebinds with the secondary, presenting the name it was given.
    let r = pair.client_named(
        Role::Secondary,
        1,
        ClientOp::Rebind(lease),
        "laptop.example.com.",
    );
    let r = r.expect("a reply");
    assert!(matches!(r.kind, ReplyKind::Granted { .. }), "{r:?}");
    assert_eq!(r.fqdn, Some(Fqdn::new("laptop", ZONE)));
    assert_eq!(
        crate::dns::binding_name(&dns_of(&pair.s.ep, &lease).info),
        Some(&Fqdn::new("laptop", ZONE))
    );
    assert!(pair.s.dns_log.is_empty(), "a renewal never adds (R24)");
}

#[test]
fn renewal_keeps_the_learnt_name_over_the_presented_one_r28() {
    let mut pair = dns_pair();
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    pair.advance(2);
    partition(&mut pair);
    let r = pair
        .client_named(
            Role::Secondary,
            1,
            ClientOp::Rebind(lease),
            "other.example.org.",
        )
        .expect("a reply");
    assert_eq!(r.fqdn, Some(Fqdn::new("laptop", ZONE)));
}

#[test]
fn the_observation_shows_the_name_the_dns_status_the_owed_updates_and_the_reservation() {
    let mut pair = dns_pair();
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    let name = Fqdn::new("laptop", ZONE);
    let v = pair.p.ep.observe().leases[&lease].clone();
    assert_eq!(v.fqdn, Some(name.clone()));
    assert!(!v.dns_added);
    assert_eq!(
        v.dns_owed,
        vec![OwedDns {
            op: DnsOpKind::Add,
            fqdn: name.clone()
        }]
    );
    pair.dns_complete(Role::Primary, true);
    pair.advance(1);
    let v = pair.s.ep.observe().leases[&lease].clone();
    assert_eq!((v.fqdn, v.dns_added), (Some(name.clone()), true));
    assert!(v.dns_owed.is_empty());
    pair.client(Role::Primary, 1, ClientOp::Release { lease, to_me: true });
    let v = pair.p.ep.observe().leases[&lease].clone();
    assert_eq!((v.fqdn, v.dns_added), (None, false));
    assert_eq!(
        v.dns_owed,
        vec![OwedDns {
            op: DnsOpKind::Remove,
            fqdn: name
        }]
    );

    let mut pair = reserved_pair(3, true);
    let k = LeaseKey::Addr(addr(3));
    let v = pair.p.ep.observe().leases[&k].clone();
    assert_eq!(v.reserved_for, Some(ClientId::from(RESERVED_CLIENT)));
    assert!(!v.reservation_cancelling);
    partition(&mut pair);
    pair.p
        .ep
        .handle_command(pair.now, Command::CancelReservation(k));
    pair.drain();
    let v = pair.p.ep.observe().leases[&k].clone();
    assert_eq!((v.reserved_for, v.reservation_cancelling), (None, true));
}

#[test]
fn a_dropped_add_with_the_driver_is_withdrawn_r26() {
    // Reading R26: an add whose binding ended is dropped. Here the add is with the DNS driver
    // (not answered yet) when the client releases and the ack makes the lease PENDING-FREE: the
    // request is withdrawn (`Output::DnsCancel`), the driver drops it unsent and reports so
    // (`handle_dns_cancelled`), and the delete of the name is asked for next.
    let mut pair = dns_pair();
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    assert!(matches!(pair.p.dns.as_slice(), [r] if matches!(r.op, DnsOp::Add { .. })));
    let add = pair.p.dns[0].id;
    pair.advance(5);
    let from = pair.transcript.len();
    pair.client(Role::Primary, 1, ClientOp::Release { lease, to_me: true });
    pair.advance(2);
    pair.assert_sequence(
        from,
        &[&format!("primary dns cancel {add}"), "primary dns Remove"],
    );
    assert!(
        matches!(pair.p.dns.as_slice(), [r] if matches!(&r.op, DnsOp::Remove { fqdn, .. } if fqdn.host == "laptop")),
        "the add was withdrawn, the delete is with the driver: {:?}",
        pair.p.dns
    );
    pair.dns_complete(Role::Primary, true);
    assert!(pair.zone.is_empty(), "{:?}", pair.zone);
    assert_eq!(adds(&pair.p.dns_log), 1);
}

#[test]
fn dns_request_current_drops_an_add_whose_binding_expired_r26() {
    // Reading R26 at send time: a driver asks right before sending. While the binding is
    // ACTIVE and unexpired the add is wanted; once it expired (here unnoticed by the partner:
    // the link is down, the lease stays EXPIRED) the add is dropped, not sent, and no longer
    // owed.
    let mut pair = dns_pair();
    let lease = granted_lease(pair.client_named(
        Role::Primary,
        1,
        ClientOp::Request(LeaseKind::Address),
        "laptop",
    ));
    let add = pair.p.dns[0].id;
    assert!(pair.p.ep.dns_request_current(pair.now, add), "live: wanted");
    pair.set_link(false);
    pair.advance(DESIRED + 2 * MCLT);
    assert_eq!(settled_status(&pair.p.ep, &lease), BindingStatus::Expired);
    assert!(
        matches!(
            dns_of(&pair.p.ep, &lease).owed.as_slice(),
            [DnsOp::Add { .. }]
        ),
        "the add is still owed while it is with the driver"
    );
    let now = pair.now;
    assert!(!pair.p.ep.dns_request_current(now, add), "expired: dropped");
    pair.drain();
    assert!(dns_of(&pair.p.ep, &lease).owed.is_empty());
    // Nothing is to be reported for it: a late result is ignored.
    pair.p.ep.handle_dns_result(now, add, Ok(()));
    pair.drain();
    assert!(dns_of(&pair.p.ep, &lease).owed.is_empty());
    assert_eq!(adds(&pair.p.dns_log), 1);
}

#[test]
fn a_cancelled_reservation_stays_cancelled_when_the_primary_restarts() {
    // Decision D25: the cancellation is in stable storage; the configured entry that stays
    // must not bring the reservation back when the primary restarts with its storage (the
    // model keeps the cancellation across a crash).
    let mut pair = reserved_pair(3, true);
    let k = LeaseKey::Addr(addr(3));
    pair.p
        .ep
        .handle_command(pair.now, Command::CancelReservation(k));
    pair.drain();
    pair.advance(10);
    assert_eq!(reservation_of(&pair.p.ep, &k).1, Reservation::Cancelled);
    assert_eq!(reservation_of(&pair.s.ep, &k).1, Reservation::None);
    pair.crash(Role::Primary);
    pair.advance(10);
    pair.restart(Role::Primary, true);
    pair.run_until_states(Normal, Normal, 100_000);
    pair.advance(10);
    assert_eq!(
        reservation_of(&pair.p.ep, &k),
        (BindingStatus::Free, Reservation::Cancelled)
    );
    assert_eq!(reservation_of(&pair.s.ep, &k).1, Reservation::None);
    let granted = (90..=120).any(|c| {
        matches!(
            pair.client(Role::Primary, c, ClientOp::Request(LeaseKind::Address)),
            Some(ReplyKind::Granted { lease, .. }) if lease == k
        )
    });
    assert!(granted, "the lease is an ordinary one: some client gets it");
    // With its storage lost, the primary has only its configuration: the lease is reserved.
    pair.crash(Role::Primary);
    pair.advance(10);
    pair.restart(Role::Primary, false);
    assert_eq!(reservation_of(&pair.p.ep, &k).1, Reservation::Reserved);
}

#[test]
fn a_lease_without_dns_names_holds_no_dns_allocation_and_stores_as_before() {
    // `DnsSlot`: empty until written; reads as "nothing known"; serialized as the `LeaseDns`
    // it reads as, so records stored before (a boxed `LeaseDns`) read back unchanged.
    let mut b = crate::db::Binding::available(BindingStatus::Free);
    assert!(!b.dns.is_allocated());
    assert!(!b.clone().dns.is_allocated());
    assert_eq!(*b.dns, LeaseDns::default());
    assert_eq!(format!("{:?}", b.dns), format!("{:?}", LeaseDns::default()));
    let empty = serde_json::to_string(&b).expect("serializes");
    let back: crate::db::Binding = serde_json::from_str(&empty).expect("reads back");
    assert_eq!(back, b);
    assert!(!back.dns.is_allocated());
    b.dns.info.requested = Some(Fqdn::new("client-7", "example.com"));
    b.dns.owed.push(DnsOp::Add {
        fqdn: Fqdn::new("client-7", "example.com"),
        forward: true,
        reverse: true,
    });
    let copy = b.clone();
    assert_eq!(copy.dns.owed.len(), 1);
    let full = serde_json::to_string(&b).expect("serializes");
    let back: crate::db::Binding = serde_json::from_str(&full).expect("reads back");
    assert_eq!(back, b);
    assert_ne!(back, crate::db::Binding::available(BindingStatus::Free));
}
