//! Shared fixtures: configurations, a pair in NORMAL, a seeded generator, output helpers.

use std::net::Ipv6Addr;

use failover_core::{ClientId, ClientOp, ClientRequest, Config, LeaseKey, ReplyKind, Role, Time};
use failover_node::sim::Pair;
use failover_node::{Node, Output};
use failover_proto::wire::{self, FrameDecoder};
use tempfile::TempDir;

pub(crate) const MCLT: u64 = 60;
pub(crate) const DESIRED: u64 = 300;
pub(crate) const T0: Time = Time(800_000_000);

pub(crate) fn addr(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n)
}

pub(crate) fn prefix(n: u16) -> (Ipv6Addr, u8) {
    (Ipv6Addr::new(0x2001, 0xdb8, 0x100 + n, 0, 0, 0, 0, 0), 64)
}

pub(crate) fn config(role: Role) -> Config {
    let mut c = Config::new(role);
    c.mclt = MCLT;
    c.desired_lifetime = DESIRED;
    c.addresses = (1..=8).map(addr).collect();
    c.prefixes = (0..4).map(prefix).collect();
    c.startup_time = 10;
    c
}

/// A fresh pair (its stores in a new temporary directory).
pub(crate) fn pair_with(p: Config, s: Config) -> (TempDir, Pair) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pair = Pair::open(dir.path(), p, s, T0).expect("open pair");
    (dir, pair)
}

/// A fresh pair driven to NORMAL/NORMAL.
pub(crate) fn normal_pair() -> (TempDir, Pair) {
    let (dir, mut pair) = pair_with(config(Role::Primary), config(Role::Secondary));
    reach_normal(&mut pair, 1000);
    (dir, pair)
}

pub(crate) fn reach_normal(pair: &mut Pair, limit: u64) {
    use failover_core::ServerState::Normal;
    assert!(
        pair.run_until_states(Normal, Normal, limit),
        "NORMAL not reached: {:?}\n{}",
        pair.p.node.as_ref().map(|n| n.endpoint().state()),
        pair.tail()
    );
}

pub(crate) fn request(client: u64, op: ClientOp) -> ClientRequest {
    ClientRequest {
        client: ClientId::from(client),
        op,
    }
}

pub(crate) fn granted(r: Option<ReplyKind>) -> (LeaseKey, u64, Time) {
    match r {
        Some(ReplyKind::Granted {
            lease,
            valid_lifetime,
            expires,
        }) => (lease, valid_lifetime, expires),
        other => panic!("expected a grant, got {other:?}"),
    }
}

/// Every output a node has queued.
pub(crate) fn outputs(node: &mut Node) -> Vec<Output> {
    std::iter::from_fn(|| node.poll_output()).collect()
}

/// The octets of every `Transmit`, concatenated.
pub(crate) fn transmitted(outs: &[Output]) -> Vec<u8> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Transmit(b) => Some(b.as_slice()),
            _ => None,
        })
        .flatten()
        .copied()
        .collect()
}

/// The messages in a byte stream (panics on bad framing: our own output must decode).
pub(crate) fn decode_all(bytes: &[u8]) -> Vec<wire::Message> {
    let mut d = FrameDecoder::new();
    d.push(bytes);
    std::iter::from_fn(|| d.next_message().expect("our output decodes")).collect()
}

pub(crate) fn logs(outs: &[Output]) -> Vec<&str> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Log(l) => Some(l.as_str()),
            _ => None,
        })
        .collect()
}

/// A deterministic xorshift generator.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, so that nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in 0..n (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub(crate) fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }

    pub(crate) fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max as u64 + 1) as usize;
        (0..n).map(|_| self.next() as u8).collect()
    }
}
