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
    *ep.db().get(k).expect("configured lease").dns.clone()
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
    // Back in NORMAL an EXPIRED is acked, and the server whose EXPIRED was acked first makes
    // the lease PENDING-FREE: exactly one of them deletes (both had expired the lease).
    heal(&mut pair);
    assert_eq!(removes(&pair.p.dns_log) + removes(&pair.s.dns_log), 1);
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
    assert_eq!(reservation_of(&pair.p.ep, &k).1, Reservation::None);
    assert_eq!(reservation_of(&pair.s.ep, &k).1, Reservation::None);
    let r = pair.client(Role::Primary, 99, ClientOp::Request(LeaseKind::Address));
    assert!(
        matches!(r, Some(ReplyKind::Granted { lease, .. }) if lease == k),
        "the lease is an ordinary one again: {r:?}"
    );
}
