//! The length of the shortest counterexample of each design variant, by a plain breadth-first
//! search over the variant's own configuration (README's variant table).
//!
//! ```sh
//! cargo run --release -p failover-model --example shortest             # every variant
//! cargo run --release -p failover-model --example shortest -- strict-ties
//! ```
//!
//! Why not stateright's BFS checker: in stateright 0.31 it returned longer paths than the
//! shortest in our runs (3 steps for `no-mclt-cap`, where 1 suffices), and it ignores symmetry
//! anyway. This search works on the symmetry quotient and keeps fingerprints, not states, for
//! what it has seen; the frontier is kept whole. `local-time-clt-first` (two crashes): 35 M
//! states, under 5 minutes, 3 GiB.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use failover_model::{cycles, properties, FailoverModel, Variant};
use stateright::Model;

/// Steps of the shortest path from the initial state to a state that violates `property`, and
/// the number of states seen; `None` if no reachable state violates it.
///
/// Breadth-first over the client-symmetry quotient: symmetric states are at the same distance
/// from the (symmetric) initial state, so the quotient keeps every distance, and the visited set
/// holds 64-bit fingerprints of representatives rather than whole states.
fn shortest(model: &FailoverModel, property: &str) -> (Option<usize>, usize) {
    let prop = model
        .properties()
        .into_iter()
        .find(|p| p.name == property)
        .expect("a property of the model");
    let fp = cycles::fingerprint;
    let mut seen: HashSet<u64> = HashSet::new();
    let mut queue = VecDeque::new();
    for s in model.init_states() {
        seen.insert(fp(&s));
        queue.push_back((s, 0));
    }
    let mut actions = Vec::new();
    while let Some((s, d)) = queue.pop_front() {
        if !(prop.condition)(model, &s) {
            return (Some(d), seen.len());
        }
        model.actions(&s, &mut actions);
        for a in actions.drain(..) {
            if let Some(next) = model.next_state(&s, a) {
                if seen.insert(fp(&next)) {
                    queue.push_back((next, d + 1));
                }
            }
        }
    }
    (None, seen.len())
}

fn main() {
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    for v in Variant::ALL {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == v.name()) {
            continue;
        }
        let Some(target) = v.breaks() else { continue };
        let start = Instant::now();
        if target == properties::EVERY_PATH_ENDS {
            // A cycle, not a path to a bad state: report the first one the search meets.
            let found = cycles::find_cycle(
                &FailoverModel::new(v.config()),
                Duration::from_secs(3600),
                |_| {},
            );
            match found.cycle {
                Some(c) => println!(
                    "{:<36} a cycle of {} steps after {} (the first found, depth-first; {} states, {:.1?})  breaks: {target}",
                    v.name(),
                    c.cycle.len(),
                    c.prefix.len(),
                    found.unique,
                    start.elapsed()
                ),
                None => println!("{:<36} NOT REFUTED: no cycle ({} states)", v.name(), found.unique),
            }
            continue;
        }
        let (steps, seen) = shortest(&FailoverModel::new(v.config()), target);
        match steps {
            Some(n) => println!(
                "{:<36} {n:>3} steps  ({seen} states, {:.1?})  breaks: {target}",
                v.name(),
                start.elapsed()
            ),
            None => println!(
                "{:<36} NOT REFUTED ({seen} states)  claims: {target}",
                v.name()
            ),
        }
    }
    for w in &wanted {
        if Variant::from_name(w).is_none() {
            eprintln!("unknown variant '{w}'");
            std::process::exit(2);
        }
    }
}
