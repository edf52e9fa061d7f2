//! BNDUPD apply throughput between two in-process endpoints.
//!
//! The primary starts (from stable storage) with `N` ACTIVE bindings its partner has not yet
//! acknowledged; both start in STARTUP with NORMAL recorded, connect, and the primary's NORMAL
//! entry sends every unacknowledged binding (RFC 8156 §8.8), flow-controlled by the secondary's
//! MAX_UNACKED_BNDUPD. The timed part runs from `handle_connected` until the last BNDREPLY has
//! been processed: BNDUPD build, Figure 4 decision and §7.5.5 store on the secondary, BNDREPLY,
//! §7.7 ack on the primary. Messages are passed as values (no codec); `Persist` outputs are
//! dropped (no storage cost). Reports bindings/s, median of 5 runs.
//!
//! `cargo run --release -p failover-core --example endpoint_bench [N]`

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv6Addr;
use std::time::Instant;

use failover_core::*;

const MCLT: u64 = 3600;

fn addr(i: u32) -> Ipv6Addr {
    let b = i.to_be_bytes();
    Ipv6Addr::from([
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, b[0], b[1], b[2], b[3],
    ])
}

fn config(role: Role, n: u32) -> Config {
    let mut c = Config::new(role);
    c.mclt = MCLT;
    c.addresses = (0..n).map(addr).collect();
    c.max_unacked_bndupd = 256;
    c
}

fn record(now: Time) -> EndpointRecord {
    EndpointRecord {
        state: Some(ServerState::Normal),
        start_time_of_state: now.minus(1000),
        communicated: true,
        mclt: MCLT,
        last_operation: now.minus(10),
        ..EndpointRecord::default()
    }
}

fn primary_stable(n: u32, now: Time) -> StableState {
    let mut leases = BTreeMap::new();
    for i in 0..n {
        let mut b = Binding::available(BindingStatus::Free);
        b.status = BindingStatus::Active;
        b.client = Some(ClientId::from(u64::from(i)));
        b.valid_lifetime = MCLT;
        b.start_time_of_state = now.minus(60);
        b.clt = Some(now.minus(60));
        b.state_expiration_time = Some(now.plus(MCLT));
        b.client_expiry = b.state_expiration_time;
        b.partner_lifetime = Some(now.plus(MCLT / 2 + 3 * 86_400));
        b.update_pending = true;
        leases.insert(LeaseKey::Addr(addr(i)), b);
    }
    StableState {
        endpoint: record(now),
        leases,
    }
}

/// Drive both endpoints until quiet; returns the number of BNDUPDs the secondary received.
fn drive(p: &mut Endpoint, s: &mut Endpoint, now: Time) -> usize {
    let mut to_s: VecDeque<Message> = VecDeque::new();
    let mut to_p: VecDeque<Message> = VecDeque::new();
    let mut bndupds = 0;
    loop {
        while let Some(o) = p.poll_output() {
            if let Output::Send(m) = o {
                to_s.push_back(m);
            }
        }
        while let Some(o) = s.poll_output() {
            if let Output::Send(m) = o {
                to_p.push_back(m);
            }
        }
        if to_s.is_empty() && to_p.is_empty() {
            return bndupds;
        }
        while let Some(m) = to_s.pop_front() {
            if m.kind() == MsgKind::BndUpd {
                bndupds += 1;
            }
            s.handle_message(now, m);
        }
        while let Some(m) = to_p.pop_front() {
            p.handle_message(now, m);
        }
    }
}

fn run(n: u32) -> f64 {
    let now = Time(800_000_000);
    let mut p = Endpoint::new(config(Role::Primary, n), Some(primary_stable(n, now)), now);
    let mut s = Endpoint::new(
        config(Role::Secondary, n),
        Some(StableState {
            endpoint: record(now),
            leases: BTreeMap::new(),
        }),
        now,
    );
    while p.poll_output().is_some() {}
    while s.poll_output().is_some() {}
    let start = Instant::now();
    s.handle_connected(now);
    p.handle_connected(now);
    let applied = drive(&mut p, &mut s, now);
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(
        (p.state(), s.state()),
        (ServerState::Normal, ServerState::Normal)
    );
    assert_eq!(applied, n as usize);
    let active = s
        .observe()
        .leases
        .values()
        .filter(|v| v.status == BindingStatus::Active)
        .count();
    assert_eq!(active, n as usize, "every binding applied on the secondary");
    assert!(p.db().pending().is_empty(), "every binding acknowledged");
    n as f64 / secs
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let mut rates: Vec<f64> = (0..5).map(|_| run(n)).collect();
    for (i, r) in rates.iter().enumerate() {
        println!("run {}: {:>10.0} bindings/s", i + 1, r);
    }
    rates.sort_by(|a, b| a.total_cmp(b));
    println!(
        "N = {n} bindings, MAX_UNACKED_BNDUPD = 256: median {:.0} bindings/s (min {:.0}, max {:.0})",
        rates[2], rates[0], rates[4]
    );
}
