//! The kill test: a writer process commits a stream of updates and prints `ACK <n>` after each
//! `commit` returns; we SIGKILL it at pseudo-random points and reopen the store.
//!
//! What it shows (RFC 8156 §7.5.2: no BNDREPLY before the binding database is updated): every
//! update acknowledged before the kill is in the store after it, the store opens cleanly, and it
//! holds exactly updates `1..=m` for some `m` (no half-applied commit, no torn record). It does
//! not cut the power, so it tests redb's crash consistency, not the disk's fsync.
//!
//! The writer is this test binary itself, re-executed to run the ignored test `child_writer`.

#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Binding, Endpoint, Scratch, TestStore};
use failover_store::Change;

/// Set in the writer's environment to the store's path.
const CHILD_ENV: &str = "FAILOVER_STORE_KILL_CHILD";
const ROUNDS: usize = 24;
const SEED: u64 = 0x8156_0000_0000_0001;

/// Keys of the small, often rewritten set and of the bulk set written every tenth update.
fn key(k: u64) -> String {
    format!("2001:db8::{k:x}")
}
fn bulk_key(k: u64) -> String {
    format!("2001:db8:1::{k:x}/128")
}

/// The record update `n` writes under `key`. Its size varies with `n`, so records move between
/// pages, and it carries `n` and the key, so a record from the wrong place or time is seen.
fn record(n: u64, key: &str) -> Binding {
    Binding {
        status: format!("ACTIVE {key} #{n}"),
        valid_lifetime: n as u32,
        duid: vec![(n % 251) as u8; (n * 37 % 700) as usize],
    }
}

/// Update `n` (n ≥ 1) of the stream: its binding changes, in order, and the endpoint state.
/// Deterministic, so that the parent can recompute what a store holding `1..=m` contains.
fn update(n: u64) -> (Vec<(String, Option<Binding>)>, Endpoint) {
    let mut changes = vec![
        (key(n % 64), true),
        (key((n * 7 + 3) % 64), true),
        (key((n * 13 + 5) % 64), n % 4 != 3), // every fourth update deletes
    ];
    if n % 10 == 5 {
        // A BNDUPD with many bindings (§7.5.3): a longer commit, for the kill to land in.
        changes.extend((0..200).map(|i| (bulk_key((n / 10 * 31 + i) % 1000), true)));
    }
    let changes = changes
        .into_iter()
        .map(|(k, put)| {
            let value = put.then(|| record(n, &k));
            (k, value)
        })
        .collect();
    (changes, Endpoint::at("NORMAL", n))
}

/// The bindings a store holding updates `1..=m` must contain.
fn expected(m: u64) -> BTreeMap<String, Binding> {
    let mut map = BTreeMap::new();
    for n in 1..=m {
        for (k, v) in update(n).0 {
            match v {
                Some(b) => map.insert(k, b),
                None => map.remove(&k),
            };
        }
    }
    map
}

/// The writer. It resumes after the last update in the store and never returns on its own.
#[test]
#[ignore = "writer process of `acknowledged_updates_survive_sigkill`, which runs it"]
fn child_writer() {
    let path = std::env::var_os(CHILD_ENV).expect("run by acknowledged_updates_survive_sigkill");
    let mut store = TestStore::open(Path::new(&path)).unwrap();
    let mut n = store.endpoint().unwrap().map_or(0, |e| e.since);
    let mut out = std::io::stdout().lock();
    loop {
        n += 1;
        let (bindings, endpoint) = update(n);
        let mut changes: Vec<_> = bindings
            .iter()
            .map(|(k, v)| match v {
                Some(b) => Change::PutBinding(k, b),
                None => Change::DeleteBinding(k),
            })
            .collect();
        changes.push(Change::PutEndpoint(&endpoint));
        store.commit(&changes).unwrap();
        // Acknowledge only now: this is the BNDREPLY of §7.5.2.
        writeln!(out, "ACK {n}").unwrap();
        out.flush().unwrap();
    }
}

/// xorshift64: a fixed seed gives the same kill points on every run.
struct Rng(u64);
impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

#[test]
fn acknowledged_updates_survive_sigkill() {
    let started = Instant::now();
    let dir = Scratch::new("kill");
    let path = dir.path("leases.redb");
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng(SEED);
    // The number of updates known to be in the store (verified after the previous round).
    let mut stored = 0u64;
    let mut kills_mid_stream = 0;
    // Rounds where the kill fell between a commit's fsync and its ACK.
    let mut unacknowledged_commits = 0;

    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args(["--ignored", "--exact", "child_writer", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // libtest may print "test child_writer ... " on the line of the first ACK.
        let ack = |line: &str| {
            let at = line.find("ACK ")?;
            Some(line[at + 4..].parse::<u64>().unwrap())
        };

        // Every fourth round is killed after a random delay from the start, which may fall in
        // process start-up or in redb's repair of the previous kill; the others after a random
        // number of acknowledgements plus a random delay, which may fall inside a commit.
        let mut seen = stored;
        if round % 4 == 3 {
            std::thread::sleep(Duration::from_micros(rng.below(30_000)));
        } else {
            let wait_for = 1 + rng.below(120);
            let mut acks = 0;
            while acks < wait_for {
                let line = lines
                    .next()
                    .expect("writer exited early; see its stderr above")
                    .unwrap();
                if let Some(n) = ack(&line) {
                    assert_eq!(n, seen + 1, "writer skipped or repeated an update");
                    seen = n;
                    acks += 1;
                }
            }
            std::thread::sleep(Duration::from_micros(rng.below(5_000)));
            kills_mid_stream += 1;
        }
        child.kill().unwrap();
        // ACKs the writer printed before it died but we had not read yet still count: each one
        // was sent after its commit returned.
        for line in lines {
            if let Some(n) = ack(&line.unwrap()) {
                assert_eq!(n, seen + 1, "writer skipped or repeated an update");
                seen = n;
            }
        }
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "round {round}: writer was not killed: {status}"
        );

        let store = TestStore::open(&path)
            .unwrap_or_else(|e| panic!("round {round}: store does not reopen after kill: {e}"));
        let snap = store.load().unwrap();
        let m = snap.endpoint.as_ref().map_or(0, |e| e.since);
        // `seen` is the last acknowledged update; at most one more may have been committed
        // without its ACK being printed.
        assert!(
            m == seen || m == seen + 1,
            "round {round}: store holds updates 1..={m} but {seen} were acknowledged"
        );
        assert_eq!(snap.endpoint, (m > 0).then(|| Endpoint::at("NORMAL", m)));
        assert!(
            snap.bindings == expected(m),
            "round {round}: the bindings are not exactly those of updates 1..={m}"
        );
        eprintln!("round {round}: acknowledged {seen}, stored {m}");
        unacknowledged_commits += usize::from(m == seen + 1);
        stored = m;
    }
    assert!(kills_mid_stream >= ROUNDS / 2);
    assert!(stored > 100, "too few updates to mean much: {stored}");
    eprintln!(
        "{ROUNDS} kills, {stored} updates, {unacknowledged_commits} kills after a commit but \
         before its ACK, {:?}",
        started.elapsed()
    );
}
