//! How fast can the store make updates durable?
//!
//! `cargo run --release -p failover-store --example store_bench [DIR]`
//!
//! Two workloads, each run 5 times on a fresh store, reporting the median (and the range):
//! - one binding per commit: the rate of BNDREPLYs a server can send when each BNDUPD carries
//!   one binding (§7.5.2: the BNDREPLY waits for the commit);
//! - 1000 bindings per commit: the throughput of a bulk update such as the reply to UPDREQALL.
//!
//! Both with redb's two-phase commit (the default, two fsyncs per commit) and without (one).
//! DIR defaults to the system temp directory; it must be on the disk you care about (fsync on
//! tmpfs costs nothing and would measure nothing).

use std::path::{Path, PathBuf};
use std::time::Instant;

use failover_store::{Change, Options, Store};
use serde::{Deserialize, Serialize};

/// About the size of a real binding record (§5.5.x options of a BNDUPD).
#[derive(Serialize, Deserialize)]
struct Binding {
    status: String,
    duid: Vec<u8>,
    valid_lifetime: u32,
    preferred_lifetime: u32,
    partner_lifetime: u32,
    cltt: u64,
    start_time_of_state: u64,
}

#[derive(Serialize, Deserialize)]
struct Endpoint {
    state: String,
}

fn binding(i: u64) -> Binding {
    Binding {
        status: "ACTIVE".to_string(),
        duid: (0..14).map(|b| (i >> (b % 8)) as u8).collect(),
        valid_lifetime: 7200,
        preferred_lifetime: 3600,
        partner_lifetime: 7200,
        cltt: 1_700_000_000 + i,
        start_time_of_state: 1_700_000_000,
    }
}

const RUNS: usize = 5;
const SINGLE_COMMITS: u64 = 300;
const BATCHES: u64 = 20;
const BATCH: u64 = 1000;

fn fresh(dir: &Path, name: &str, options: &Options) -> (Store<Binding, Endpoint>, PathBuf) {
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    (Store::open_with(&path, options.clone()).unwrap(), path)
}

/// Durable commits per second, one binding each.
fn single(dir: &Path, options: &Options) -> f64 {
    let (mut store, path) = fresh(dir, "bench-single.redb", options);
    let records: Vec<(String, Binding)> = (0..SINGLE_COMMITS)
        .map(|i| (format!("2001:db8::{i:x}"), binding(i)))
        .collect();
    let start = Instant::now();
    for (key, b) in &records {
        store.commit(&[Change::PutBinding(key, b)]).unwrap();
    }
    let rate = SINGLE_COMMITS as f64 / start.elapsed().as_secs_f64();
    drop(store);
    std::fs::remove_file(path).unwrap();
    rate
}

/// Bindings per second, in durable commits of `BATCH` bindings.
fn batched(dir: &Path, options: &Options) -> f64 {
    let (mut store, path) = fresh(dir, "bench-batch.redb", options);
    let records: Vec<(String, Binding)> = (0..BATCHES * BATCH)
        .map(|i| (format!("2001:db8::{i:x}"), binding(i)))
        .collect();
    let start = Instant::now();
    for chunk in records.chunks(BATCH as usize) {
        let changes: Vec<_> = chunk
            .iter()
            .map(|(k, b)| Change::PutBinding(k, b))
            .collect();
        store.commit(&changes).unwrap();
    }
    let rate = (BATCHES * BATCH) as f64 / start.elapsed().as_secs_f64();
    drop(store);
    std::fs::remove_file(path).unwrap();
    rate
}

fn summary(mut runs: Vec<f64>, unit: &str) -> String {
    runs.sort_by(f64::total_cmp);
    format!(
        "median {:>7.0} {unit}  (min {:.0}, max {:.0}; {RUNS} runs)",
        runs[RUNS / 2],
        runs[0],
        runs[RUNS - 1]
    )
}

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("failover-store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    println!("store_bench: files in {}", dir.display());
    for two_phase in [true, false] {
        let options = Options::default().two_phase_commit(two_phase);
        let label = if two_phase {
            "two-phase commit (default)"
        } else {
            "one-phase commit"
        };
        let single_runs = (0..RUNS).map(|_| single(&dir, &options)).collect();
        let batch_runs = (0..RUNS).map(|_| batched(&dir, &options)).collect();
        println!("{label}:");
        println!(
            "  1 binding per commit:     {}",
            summary(single_runs, "durable commits/s")
        );
        println!(
            "  {BATCH} bindings per commit: {}",
            summary(batch_runs, "bindings/s")
        );
    }
    std::fs::remove_dir(&dir).unwrap();
}
