//! Random traces: seeded random walks over the model (SplitMix64, so the corpus is the same on
//! every machine).

use failover_trace::TraceKind;

use crate::config::ModelConfig;
use crate::model::{Action, FailoverModel};

use super::build::{build, scheduled_actions, Generated, Meta};

/// SplitMix64: a tiny seeded generator (the corpus must be the same on every machine).
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Longest random walk. A walk also stops when it comes back to a state it has visited: a guard
/// for a change of the model that makes its graph cyclic (the walks found the cycle that reading
/// R21 removed; `failover check --cycles` searches for one).
pub const MAX_WALK: usize = 120;

/// A seeded random walk (scheduled actions) to the end of the model's budgets, to a state
/// already visited, or to [`MAX_WALK`] steps.
pub fn random_walk(model: &FailoverModel, seed: u64) -> Vec<Action> {
    let mut rng = SplitMix(seed);
    let mut st = model.initial_state();
    let mut path = Vec::new();
    let mut visited = std::collections::HashSet::new();
    loop {
        let acts = scheduled_actions(model, &st);
        if acts.is_empty() || path.len() >= MAX_WALK || !visited.insert(st.clone()) {
            return path;
        }
        let a = acts[rng.below(acts.len())];
        match model.step(&st, a) {
            Some(n) => st = n,
            None => return path,
        }
        path.push(a);
    }
}

/// The configurations of the random walks.
pub fn random_configs() -> Vec<(&'static str, ModelConfig)> {
    vec![
        ("default", ModelConfig::default()),
        ("headline", ModelConfig::headline()),
        (
            "storage-loss",
            ModelConfig {
                storage_losses: 1,
                settle_ticks: 3,
                ..ModelConfig::default()
            },
        ),
        ("conflict", ModelConfig::conflict()),
        (
            "busy",
            ModelConfig {
                clients: 3,
                client_ops: 6,
                ticks: 4,
                settle_ticks: 3,
                mclt: 2,
                lifetime: 3,
                partitions: 2,
                crashes: 2,
                commands: 2,
                ..ModelConfig::default()
            },
        ),
    ]
}

/// Number of random walks per configuration.
pub const WALKS_PER_CONFIG: u64 = 8;

/// The random traces.
pub fn random() -> Vec<Generated> {
    let mut out = Vec::new();
    for (k, (name, cfg)) in random_configs().into_iter().enumerate() {
        let model = FailoverModel::new(cfg);
        for n in 0..WALKS_PER_CONFIG {
            let seed = 1000 * (k as u64 + 1) + n;
            let path = random_walk(&model, seed);
            let (trace, _) = build(
                &model,
                &path,
                Meta {
                    id: format!("random-{name}-seed-{seed}"),
                    title: format!("seeded random walk (seed {seed}) in the {name} configuration"),
                    kind: TraceKind::Random,
                    covers: Vec::new(),
                    variant: None,
                },
            );
            out.push(Generated {
                topic: "random",
                trace,
            });
        }
    }
    out
}
