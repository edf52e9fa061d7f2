//! Full UPDREQALL resynchronisation of N leases between two in-process nodes, storage on.
//!
//! ```text
//! cargo run --release -p failover-node --example updreqall_bench [-- N [RUNS]]
//! ```
//!
//! N defaults to 100 000 and RUNS to 5 (or the `RUNS` environment variable). `BENCH_DIR` chooses
//! where the stores go (default: the system temp directory; it must be on a real disk, since
//! fsync on tmpfs costs nothing). `UNACKED` sets the receiver's OPTION_F_MAX_UNACKED_BNDUPD
//! (default 256); `ONE_PHASE=1` uses redb's one-phase commit (one fsync per commit instead of
//! two; see `failover-store`'s documentation for what that trades).
//!
//! The primary starts from a store holding N ACTIVE address bindings, all acknowledged by its
//! partner, and NORMAL recorded. The secondary starts from an empty store: it has lost its
//! storage. When they connect, the primary's STATE carries the COMMUNICATED flag, so the
//! secondary knows its storage is lost and from RECOVER sends UPDREQALL (RFC 8156 §8.5.2,
//! reading R5). The primary answers with a BNDUPD for every lease, at most UNACKED
//! outstanding, then UPDDONE once every BNDREPLY is in (§5.3.6, §5.3.7).
//!
//! Timed: from the TCP connection coming up to the secondary having processed UPDDONE (it is then
//! in RECOVER-WAIT). Every message goes through the wire codec as bytes (framing, encoding,
//! decoding, core ↔ wire conversion), and every update is committed durably by the secondary
//! before its BNDREPLY is released (one redb commit per read, `Durability::Immediate`); the
//! primary likewise commits each batch of acknowledgements. Not timed: seeding the primary's
//! store, opening both nodes (the primary loads N bindings), and the checks afterwards (the
//! secondary's store, reopened, holds N ACTIVE bindings).

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use failover_core::{
    Binding, BindingStatus, ClientId, Config, EndpointRecord, LeaseKey, Role, ServerState,
    StableState, Time,
};
use failover_node::sim::Pair;
use failover_node::storage::{load_stable, seed_store};
use failover_node::{NodeOptions, NodeStore};

const MCLT: u64 = 3600;
const NOW: Time = Time(800_000_000);

fn addr(i: u32) -> Ipv6Addr {
    let b = i.to_be_bytes();
    Ipv6Addr::from([
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, b[0], b[1], b[2], b[3],
    ])
}

fn config(role: Role, n: u32, unacked: u32) -> Config {
    let mut c = Config::new(role);
    c.mclt = MCLT;
    c.addresses = (0..n).map(addr).collect();
    c.max_unacked_bndupd = unacked;
    c
}

/// N ACTIVE bindings, each acknowledged by the partner (nothing pending), NORMAL recorded.
fn primary_stable(n: u32) -> StableState {
    let mut leases = BTreeMap::new();
    for i in 0..n {
        let mut b = Binding::available(BindingStatus::Free);
        b.status = BindingStatus::Active;
        b.client = Some(ClientId::from(u64::from(i)));
        b.valid_lifetime = 2 * 86_400;
        b.start_time_of_state = NOW.minus(600);
        b.clt = Some(NOW.minus(600));
        b.state_expiration_time = Some(NOW.plus(2 * 86_400));
        b.client_expiry = b.state_expiration_time;
        let acked = NOW.plus(3 * 86_400);
        b.partner_lifetime_sent = Some(acked);
        b.acked_partner_lifetime = Some(acked);
        leases.insert(LeaseKey::Addr(addr(i)), b);
    }
    StableState {
        endpoint: EndpointRecord {
            state: Some(ServerState::Normal),
            previous_state: Some(ServerState::RecoverDone),
            start_time_of_state: NOW.minus(100_000),
            partner_state: Some(ServerState::Normal),
            partner_start_time: Some(NOW.minus(100_000)),
            last_partner_message: Some(NOW.minus(100)),
            communicated: true,
            mclt: MCLT,
            last_operation: NOW.minus(100),
            ..EndpointRecord::default()
        },
        leases,
    }
}

/// (seconds on a CPU, seconds runnable but waiting for a CPU) of this thread, from Linux
/// `/proc/thread-self/schedstat`, if available. The machine is shared: wall time also includes
/// waiting for a core, and the remainder is time blocked, here on the disk (fsync).
fn sched_secs() -> Option<(f64, f64)> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut f = s.split_whitespace().map(|x| x.parse::<f64>().ok());
    Some((f.next()?? / 1e9, f.next()?? / 1e9))
}

struct Run {
    secs: f64,
    /// (on CPU, waiting for a CPU), seconds.
    sched: Option<(f64, f64)>,
    secondary_commits: u64,
    primary_commits: u64,
    open_secs: f64,
}

fn run(template: &Path, base: &Path, k: usize, n: u32, unacked: u32, opts: &NodeOptions) -> Run {
    let dir = base.join(format!("run-{k}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(template, dir.join("primary.redb")).unwrap();
    let t_open = Instant::now();
    let mut pair = Pair::open_with(
        &dir,
        config(Role::Primary, n, unacked),
        config(Role::Secondary, n, unacked),
        NOW,
        opts.clone(),
    )
    .expect("open the pair");
    let open_secs = t_open.elapsed().as_secs_f64();
    pair.record = false;
    let (p0, s0) = (pair.p.node().stats(), pair.s.node().stats());

    let sched0 = sched_secs();
    let start = Instant::now();
    pair.drain(); // connects, then runs until nothing moves: UPDDONE has been processed
    let secs = start.elapsed().as_secs_f64();
    let sched = sched_secs()
        .zip(sched0)
        .map(|(b, a)| (b.0 - a.0, b.1 - a.1));

    assert_eq!(
        pair.s.state(),
        ServerState::RecoverWait,
        "UPDDONE processed"
    );
    assert_eq!(
        pair.s
            .logs
            .iter()
            .filter(|l| l.contains("UPDREQALL"))
            .count()
            + pair
                .p
                .logs
                .iter()
                .filter(|l| l.contains("UPDREQALL received"))
                .count(),
        1,
        "exactly one UPDREQALL answered"
    );
    let (p1, s1) = (pair.p.node().stats(), pair.s.node().stats());
    // Every update durable on the secondary: reopen its store and count.
    drop(pair);
    let store = NodeStore::open(&dir.join("secondary.redb")).unwrap();
    let stable = load_stable(&store).unwrap().expect("endpoint record");
    let active = stable
        .leases
        .values()
        .filter(|b| b.status == BindingStatus::Active)
        .count();
    assert_eq!(active, n as usize, "every binding durable on the secondary");
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Run {
        secs,
        sched,
        secondary_commits: s1.commits - s0.commits,
        primary_commits: p1.commits - p0.commits,
        open_secs,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let runs: usize = args
        .get(1)
        .cloned()
        .or_else(|| std::env::var("RUNS").ok())
        .and_then(|a| a.parse().ok())
        .unwrap_or(5)
        .max(1);
    let unacked: u32 = std::env::var("UNACKED")
        .ok()
        .and_then(|a| a.parse().ok())
        .unwrap_or(256);
    let one_phase = std::env::var("ONE_PHASE").is_ok_and(|v| v == "1");
    let opts = NodeOptions::default().two_phase_commit(!one_phase);
    let base: PathBuf = std::env::var_os("BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("updreqall-bench-{}", std::process::id()));
    std::fs::create_dir_all(&base).unwrap();

    let template = base.join("template-primary.redb");
    let t = Instant::now();
    seed_store(&template, &primary_stable(n)).expect("seed the primary's store");
    println!(
        "seeded the primary's store with {n} ACTIVE bindings in {:.2} s ({})",
        t.elapsed().as_secs_f64(),
        base.display()
    );
    println!(
        "N = {n}, MAX_UNACKED_BNDUPD = {unacked}, {} commit, {runs} runs",
        if one_phase { "one-phase" } else { "two-phase" }
    );

    let mut times = Vec::new();
    let mut scheds = Vec::new();
    for k in 0..runs {
        let r = run(&template, &base, k, n, unacked, &opts);
        let sched = r.sched.map_or("n/a".to_string(), |(cpu, wait)| {
            format!(
                "on CPU {cpu:.3} s, waiting for a CPU {wait:.3} s, blocked {:.3} s",
                (r.secs - cpu - wait).max(0.0)
            )
        });
        println!(
            "run {}: {:.3} s, {:>6.0} bindings/s  ({sched}; commits: secondary {}, primary {}; \
             opening both nodes {:.2} s, untimed)",
            k + 1,
            r.secs,
            f64::from(n) / r.secs,
            r.secondary_commits,
            r.primary_commits,
            r.open_secs
        );
        times.push(r.secs);
        scheds.extend(r.sched);
    }
    let med = median(times.clone());
    let (min, max) = times
        .iter()
        .fold((f64::MAX, 0f64), |(a, b), &t| (a.min(t), b.max(t)));
    println!(
        "UPDREQALL of {n} leases: median {med:.3} s (min {min:.3}, max {max:.3}), \
         median {:.0} bindings/s",
        f64::from(n) / med
    );
    if scheds.len() == times.len() {
        let blocked: Vec<f64> = times
            .iter()
            .zip(&scheds)
            .map(|(t, (c, w))| (t - c - w).max(0.0))
            .collect();
        println!(
            "medians: on CPU {:.3} s, waiting for a CPU {:.3} s, blocked (disk) {:.3} s",
            median(scheds.iter().map(|s| s.0).collect()),
            median(scheds.iter().map(|s| s.1).collect()),
            median(blocked)
        );
    }
    let _ = std::fs::remove_dir_all(&base);
}
