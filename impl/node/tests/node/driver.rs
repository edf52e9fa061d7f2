//! The driver's contract: records are durable before the outputs that depend on them leave
//! (RFC 8156 §7.5.2, §6.3, §8.1), one commit per input call, nothing released when a commit
//! fails, and reopening from the store restores the endpoint.

use failover_core::{
    BindingStatus, Body, ClientId, ClientOp, LeaseKey, LeaseKind, Message, MsgKind, ReplyKind,
    Role, ServerState, StatusCode,
};
use failover_node::convert::from_wire;
use failover_node::storage::{lease_key_text, load_stable};
use failover_node::{CloseReason, NodeError, NodeStore, Output};

use super::common::*;

/// The core form of every message in some transmitted octets.
fn core_messages(bytes: &[u8]) -> Vec<Message> {
    decode_all(bytes)
        .iter()
        .map(|w| from_wire(w).expect("our output converts"))
        .collect()
}

/// Grant an address to `client` at the primary by calling the node directly (not through the
/// harness), returning the lease and the primary's outputs of that call.
fn grant_at_primary(pair: &mut failover_node::sim::Pair, client: u64) -> (LeaseKey, Vec<Output>) {
    let now = pair.now;
    let p = pair.p.node.as_mut().unwrap();
    p.handle_client(now, request(client, ClientOp::Request(LeaseKind::Address)))
        .unwrap();
    let outs = outputs(p);
    let lease = outs
        .iter()
        .find_map(|o| match o {
            Output::ClientReply(r) => match r.kind {
                ReplyKind::Granted { lease, .. } => Some(lease),
                _ => None,
            },
            _ => None,
        })
        .expect("a grant");
    (lease, outs)
}

#[test]
fn client_reply_leaves_after_the_grant_is_durable_and_before_the_lazy_bndupd() {
    let (_dir, mut pair) = normal_pair();
    let (lease, outs) = grant_at_primary(&mut pair, 1);
    // Released only after the commit: the store already holds the grant.
    let p = pair.p.node.as_ref().unwrap();
    let stored = p.store().binding(&lease_key_text(&lease)).unwrap().unwrap();
    assert_eq!(stored.status, BindingStatus::Active);
    assert_eq!(stored.client, Some(ClientId::from(1)));
    assert!(stored.update_pending, "the partner is still to be told");
    // Lazy update (RFC 8156 §4.3): the client's reply comes first, the BNDUPD after it.
    let reply_at = outs
        .iter()
        .position(|o| matches!(o, Output::ClientReply(_)))
        .unwrap();
    let bndupd_at = outs
        .iter()
        .position(|o| {
            matches!(o, Output::Transmit(b)
                if core_messages(b).iter().any(|m| m.kind() == MsgKind::BndUpd))
        })
        .unwrap();
    assert!(reply_at < bndupd_at, "{outs:?}");
}

#[test]
fn bndreply_leaves_only_after_the_update_is_durable() {
    let (_dir, mut pair) = normal_pair();
    let (lease, outs) = grant_at_primary(&mut pair, 1);
    let bytes = transmitted(&outs);
    let now = pair.now;
    let s = pair.s.node.as_mut().unwrap();
    let before = s.stats().commits;
    s.handle_bytes(now, &bytes).unwrap();
    assert_eq!(s.stats().commits, before + 1, "one commit for the call");
    // RFC 8156 §7.5.2: by the time the BNDREPLY can be polled, the update is on disk.
    let stored = s.store().binding(&lease_key_text(&lease)).unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.client),
        (BindingStatus::Active, Some(ClientId::from(1)))
    );
    let replies: Vec<Message> = core_messages(&transmitted(&outputs(s)))
        .into_iter()
        .filter(|m| m.kind() == MsgKind::BndReply)
        .collect();
    assert_eq!(replies.len(), 1);
    let Body::BndReply(r) = &replies[0].body else {
        unreachable!()
    };
    assert_eq!(
        (r.status, r.leases[0].lease, r.leases[0].status),
        (None, lease, None)
    );
}

#[test]
fn failed_commit_releases_no_bndreply_poisons_the_node_and_reopening_recovers() {
    let (_dir, mut pair) = normal_pair();
    let (lease, outs) = grant_at_primary(&mut pair, 1);
    let bytes = transmitted(&outs);
    let now = pair.now;
    let key = lease_key_text(&lease);
    let s = pair.s.node.as_mut().unwrap();
    let stored_before = s.store().binding(&key).unwrap();
    s.inject_commit_failures(1);
    let err = s.handle_bytes(now, &bytes).unwrap_err();
    assert!(matches!(err, NodeError::Storage(_)), "{err}");
    let outs = outputs(s);
    assert!(
        !outs
            .iter()
            .any(|o| matches!(o, Output::Transmit(_) | Output::ClientReply(_))),
        "nothing that depends on the failed commit is released: {outs:?}"
    );
    assert!(outs.contains(&Output::Close(CloseReason::StorageFailed)));
    assert!(logs(&outs).iter().any(|l| l.contains("commit failed")));
    assert_eq!(
        s.store().binding(&key).unwrap(),
        stored_before,
        "store untouched"
    );
    assert!(s.is_poisoned());
    assert!(matches!(s.handle_timeout(now), Err(NodeError::Poisoned)));
    assert_eq!(s.poll_timeout(), None);
    // The primary still holds the update as unacknowledged.
    assert!(
        pair.p
            .node()
            .endpoint()
            .db()
            .get(&lease)
            .unwrap()
            .update_pending
    );
    // Reopen the secondary from its store: the primary resends the update, which is now
    // committed and acknowledged.
    pair.crash(Role::Secondary);
    pair.restart(Role::Secondary);
    reach_normal(&mut pair, 1000);
    pair.advance(5);
    let s = pair.s.node();
    let stored = s.store().binding(&key).unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.client),
        (BindingStatus::Active, Some(ClientId::from(1)))
    );
    assert!(
        !pair
            .p
            .node()
            .endpoint()
            .db()
            .get(&lease)
            .unwrap()
            .update_pending
    );
    pair.durable_matches_memory(Role::Primary).unwrap();
    pair.durable_matches_memory(Role::Secondary).unwrap();
}

#[test]
fn failed_commit_withholds_the_client_reply() {
    let (_dir, mut pair) = normal_pair();
    let now = pair.now;
    let p = pair.p.node.as_mut().unwrap();
    p.inject_commit_failures(1);
    let err = p
        .handle_client(now, request(7, ClientOp::Request(LeaseKind::Address)))
        .unwrap_err();
    assert!(matches!(err, NodeError::Storage(_)));
    let outs = outputs(p);
    assert!(!outs.iter().any(|o| matches!(o, Output::ClientReply(_))));
    let stable = load_stable(p.store()).unwrap().unwrap();
    assert!(
        stable
            .leases
            .values()
            .all(|b| b.client != Some(ClientId::from(7))),
        "no durable trace of a grant the client never received"
    );
}

#[test]
fn many_bndupds_in_one_read_are_committed_once_and_answered_together() {
    let (_dir, mut pair) = normal_pair();
    let mut bytes = Vec::new();
    let mut leases = Vec::new();
    for c in 1..=4 {
        let (lease, outs) = grant_at_primary(&mut pair, c);
        bytes.extend(transmitted(&outs));
        leases.push(lease);
    }
    let now = pair.now;
    let s = pair.s.node.as_mut().unwrap();
    let before = s.stats();
    s.handle_bytes(now, &bytes).unwrap();
    let after = s.stats();
    assert_eq!(after.messages_in - before.messages_in, 4);
    assert_eq!(
        after.commits - before.commits,
        1,
        "one commit per input call"
    );
    assert_eq!(after.bindings_committed - before.bindings_committed, 4);
    let outs = outputs(s);
    let transmits = outs
        .iter()
        .filter(|o| matches!(o, Output::Transmit(_)))
        .count();
    assert_eq!(transmits, 1, "the four BNDREPLYs share one write");
    let acked: Vec<LeaseKey> = core_messages(&transmitted(&outs))
        .iter()
        .filter_map(|m| match &m.body {
            Body::BndReply(r) => Some(r.leases[0].lease),
            _ => None,
        })
        .collect();
    assert_eq!(acked, leases);
}

#[test]
fn bndupds_handed_over_together_are_all_durable_before_the_first_of_their_bndreplies_leaves() {
    // RFC 8156 §7.5.2: the secondary stores a binding before it sends the BNDREPLY for it. The
    // daemon hands the node partner octets queued behind each other in one call (`coalesce` in
    // impl/daemon/src/driver.rs), so the BNDUPDs of a batch share one commit: it must be a
    // durable (fsync'd) one, never a deferred one, and made before any BNDREPLY is released.
    let (dir, mut pair) = normal_pair();
    let mut bytes = Vec::new();
    let mut leases = Vec::new();
    for c in 1..=4 {
        let (lease, outs) = grant_at_primary(&mut pair, c);
        bytes.extend(transmitted(&outs));
        leases.push(lease);
    }
    let now = pair.now;
    let s = pair.s.node.as_mut().unwrap();
    let before = s.stats();
    s.handle_bytes(now, &bytes).unwrap();
    let after = s.stats();
    assert_eq!(after.messages_in - before.messages_in, 4);
    assert_eq!(
        after.commits - before.commits,
        1,
        "one durable commit for the batch"
    );
    assert_eq!(
        after.deferred_commits, before.deferred_commits,
        "BNDREPLYs depend on it: it may not be deferred"
    );
    // What a crash now, before the driver writes a single BNDREPLY, leaves on the disk.
    let copy = dir.path().join("secondary-at-crash.redb");
    std::fs::copy(s.store().path(), &copy).unwrap();
    let at_crash = load_stable(&NodeStore::open(&copy).unwrap())
        .unwrap()
        .expect("an endpoint record");
    for (c, lease) in (1..=4).zip(&leases) {
        let b = at_crash
            .leases
            .get(lease)
            .expect("stored before its BNDREPLY");
        assert_eq!(
            (b.status, b.client.clone()),
            (BindingStatus::Active, Some(ClientId::from(c))),
            "{lease}"
        );
    }
    // And the four BNDREPLYs follow, one for each lease, in order.
    let acked: Vec<LeaseKey> = core_messages(&transmitted(&outputs(s)))
        .iter()
        .filter_map(|m| match &m.body {
            Body::BndReply(r) => Some(r.leases[0].lease),
            _ => None,
        })
        .collect();
    assert_eq!(acked, leases);
}

#[test]
fn a_bndreply_is_recorded_without_an_fsync_and_losing_it_in_a_crash_makes_the_primary_send_the_update_again(
) {
    let (_dir, mut pair) = normal_pair();
    let (lease, outs) = grant_at_primary(&mut pair, 1);
    let now = pair.now;
    let s = pair.s.node.as_mut().unwrap();
    s.handle_bytes(now, &transmitted(&outs)).unwrap();
    let bndreply = transmitted(&outputs(s));
    // What a crash of the primary right now leaves on its disk: the grant, durable.
    let path = pair.p.node().store().path().to_path_buf();
    let on_disk = std::fs::read(&path).unwrap();

    let p = pair.p.node.as_mut().unwrap();
    let before = p.stats();
    p.handle_bytes(now, &bndreply).unwrap();
    let after = p.stats();
    // The acknowledgement releases nothing (no reply, no message): no fsync for it.
    assert!(outputs(p).iter().all(|o| matches!(o, Output::Log(_))));
    assert_eq!(
        after.commits, before.commits,
        "no durable commit for a BNDREPLY"
    );
    assert_eq!(after.deferred_commits, before.deferred_commits + 1);
    let stored = p.store().binding(&lease_key_text(&lease)).unwrap().unwrap();
    assert!(
        !stored.update_pending,
        "the deferred commit is visible at once"
    );

    // The crash loses the deferred commit: the file is as it was before the BNDREPLY.
    pair.set_link(false);
    pair.crash(Role::Primary);
    std::fs::write(&path, &on_disk).unwrap();
    pair.restart(Role::Primary);
    let p = pair.p.node().endpoint().db().get(&lease).unwrap();
    assert!(
        p.update_pending,
        "the lost acknowledgement leaves the update pending"
    );
    assert_eq!(
        p.client,
        Some(ClientId::from(1)),
        "the grant itself was durable"
    );
    // RFC 8156 §7.6, §8.8: back in contact, the primary sends the update again and the
    // secondary acknowledges it; nobody else got the address.
    let sent_before = pair.p.sent_count(MsgKind::BndUpd);
    pair.set_link(true);
    reach_normal(&mut pair, 1000);
    pair.advance(5);
    assert!(
        pair.p.sent_count(MsgKind::BndUpd) > sent_before,
        "{}",
        pair.tail()
    );
    assert!(
        !pair
            .p
            .node()
            .endpoint()
            .db()
            .get(&lease)
            .unwrap()
            .update_pending
    );
    pair.durable_matches_memory(Role::Primary).unwrap();
    assert!(pair.duplicates.is_empty(), "{:?}", pair.duplicates);
}

#[test]
fn reopening_from_the_store_restores_the_endpoint_database_exactly() {
    let (_dir, mut pair) = normal_pair();
    let (l1, _, _) = granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    let (l2, _, _) = granted(pair.client(Role::Primary, 2, ClientOp::Request(LeaseKind::Prefix)));
    pair.advance(20);
    pair.client(
        Role::Primary,
        1,
        ClientOp::Release {
            lease: l1,
            to_me: true,
        },
    );
    pair.advance(20);
    for role in [Role::Primary, Role::Secondary] {
        pair.durable_matches_memory(role).unwrap();
    }
    let before_p = pair.p.node().endpoint().db().leases().clone();
    let before_s = pair.s.node().endpoint().db().leases().clone();
    // With the link down, so that the reopened nodes do not reconnect (and rebalance their
    // prefixes) before the comparison.
    pair.set_link(false);
    pair.crash(Role::Primary);
    pair.crash(Role::Secondary);
    pair.restart(Role::Primary);
    pair.restart(Role::Secondary);
    // Every binding, with every field, is back; both restart in STARTUP remembering NORMAL.
    assert_eq!(pair.p.node().endpoint().db().leases(), &before_p);
    assert_eq!(pair.s.node().endpoint().db().leases(), &before_s);
    assert_eq!(
        pair.p.node().endpoint().db().get(&l2).unwrap().client,
        Some(ClientId::from(2))
    );
    for role in [Role::Primary, Role::Secondary] {
        let rec = load_stable(pair.side(role).node().store())
            .unwrap()
            .unwrap()
            .endpoint;
        assert_eq!(rec.state, Some(ServerState::Normal));
    }
    pair.set_link(true);
    reach_normal(&mut pair, 1000);
    assert!(pair.duplicates.is_empty(), "{:?}", pair.duplicates);
}

#[test]
fn every_commit_records_the_time_of_failure_for_a_restart() {
    let (_dir, mut pair) = normal_pair();
    pair.advance(100);
    let t = pair.now;
    granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    let rec = load_stable(pair.p.node().store())
        .unwrap()
        .unwrap()
        .endpoint;
    // RFC 8156 §8.3.2 step 1: nothing was granted or acknowledged after the last commit.
    assert_eq!(rec.time_of_failure, Some(t));
    assert!(rec.last_operation < t, "the state record itself is older");
}

#[test]
fn partial_reads_of_one_octet_drive_the_handshake_and_an_update() {
    let (_dir, mut pair) = pair_with(config(Role::Primary), config(Role::Secondary));
    pair.set_chunking(failover_node::sim::Chunking::Random { seed: 3, max: 1 });
    reach_normal(&mut pair, 1000);
    let (l, _, _) = granted(pair.client(Role::Primary, 1, ClientOp::Request(LeaseKind::Address)));
    pair.advance(1);
    let v = &pair.s.node().endpoint().observe().leases[&l];
    assert_eq!(
        (v.status, v.client.clone()),
        (BindingStatus::Active, Some(ClientId::from(1)))
    );
    assert!(pair.p.closes.is_empty() && pair.s.closes.is_empty());
}

#[test]
fn a_rejected_update_is_answered_with_its_status_and_nothing_is_stored() {
    // A BNDUPD for a lease the secondary does not have: §7.5.4 ConfigurationConflict.
    let mut sc = config(Role::Secondary);
    // Address 7 is in the primary's half (bit 127 = 1, §4.2.1.1).
    sc.addresses.retain(|a| *a != addr(7));
    let (_dir, mut pair) = pair_with(config(Role::Primary), sc);
    reach_normal(&mut pair, 1000);
    let missing = LeaseKey::Addr(addr(7));
    let key = lease_key_text(&missing);
    assert!(pair.s.node().store().binding(&key).unwrap().is_none());
    // Grant until the primary hands out the address the secondary lacks.
    for c in 1..=8 {
        if pair.p.node().endpoint().db().get(&missing).unwrap().status == BindingStatus::Active {
            break;
        }
        pair.client(Role::Primary, c, ClientOp::Request(LeaseKind::Address));
    }
    let rejected = pair.s.sent.iter().any(|w| {
        matches!(from_wire(w).map(|m| m.body), Ok(Body::BndReply(r))
            if r.leases.iter().any(|l| l.lease == missing
                && l.status == Some(StatusCode::ConfigurationConflict)))
    });
    assert!(rejected, "{}", pair.tail());
    assert!(pair.s.node().store().binding(&key).unwrap().is_none());
    pair.durable_matches_memory(Role::Secondary).unwrap();
}

#[test]
fn open_refuses_a_store_it_cannot_read_faithfully_and_an_invalid_config() {
    use failover_core::{Binding, ConfigError, EndpointRecord};
    use failover_node::{Node, NodeStore, OpenError};
    use failover_store::Change;

    let dir = tempfile::tempdir().unwrap();
    let b = Binding::available(BindingStatus::Free);
    // A binding under a key that is no address or prefix.
    let path = dir.path().join("bad-key.redb");
    let mut store = NodeStore::open(&path).unwrap();
    let rec = EndpointRecord {
        state: Some(ServerState::Normal),
        ..EndpointRecord::default()
    };
    store
        .commit(&[
            Change::PutBinding("not-an-address", &b),
            Change::PutEndpoint(&rec),
        ])
        .unwrap();
    drop(store);
    let e = Node::open(config(Role::Primary), &path, T0).unwrap_err();
    assert!(
        matches!(&e, OpenError::BadLeaseKey { key } if key == "not-an-address"),
        "{e}"
    );
    // Bindings without the §8.2 endpoint record: starting empty would drop them.
    let path = dir.path().join("no-record.redb");
    let mut store = NodeStore::open(&path).unwrap();
    store
        .commit(&[Change::PutBinding("2001:db8::1", &b)])
        .unwrap();
    drop(store);
    let e = Node::open(config(Role::Primary), &path, T0).unwrap_err();
    assert!(
        matches!(e, OpenError::BindingsWithoutEndpointRecord { bindings: 1 }),
        "{e}"
    );
    // An invalid configuration is refused before any file is created.
    let mut c = config(Role::Primary);
    c.mclt = 0;
    let path = dir.path().join("never.redb");
    let e = Node::open(c, &path, T0).unwrap_err();
    assert!(matches!(e, OpenError::Config(ConfigError::ZeroMclt)));
    assert!(e.to_string().contains("mclt"), "{e}");
    assert!(!path.exists());
}
