//! Running the checker: exhaustive DFS with client symmetry, progress reports, and a summary of
//! every property (held, violated with a path, reached or not).

use std::sync::Arc;
use std::time::{Duration, Instant};

use stateright::{Checker, Expectation, Model, Path};

use crate::model::{Action, Deadline, FailoverModel};
use crate::properties;
use crate::state::State;

/// How to run the checker.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Worker threads.
    pub threads: usize,
    /// Use client symmetry (DFS only; sound because clients are interchangeable).
    pub symmetry: bool,
    /// Give up after this long (the result is then marked incomplete).
    pub timeout: Option<Duration>,
    /// How often to call the progress callback.
    pub progress_every: Duration,
    /// Stop early once these properties have discoveries (`None`: explore everything).
    pub stop_when: Option<stateright::HasDiscoveries>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            threads: 1,
            symmetry: true,
            timeout: None,
            progress_every: Duration::from_secs(2),
            stop_when: None,
        }
    }
}

/// Progress of a running check.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// States generated so far (with revisits).
    pub generated: usize,
    /// Unique states so far.
    pub unique: usize,
    /// Time since the start.
    pub elapsed: Duration,
    /// The search under way: 1, or 2 when the first found a violation and the check starts
    /// again with every property on its own (see [`run`]); the counts start again at 0.
    pub pass: u8,
}

/// What the checker found for one property.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// An `always` property held in every reachable state.
    Held,
    /// An `always` property failed; the path leads to a violating state.
    Violated(Path<State, Action>),
    /// A `sometimes` property was reached; the path is an example.
    Reached(Path<State, Action>),
    /// A `sometimes` property was never reached.
    NotReached,
}

impl Verdict {
    /// Whether this verdict is a failure of the check.
    pub fn is_failure(&self) -> bool {
        matches!(self, Verdict::Violated(_) | Verdict::NotReached)
    }
}

/// The result of a whole check.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Unique states visited.
    pub unique: usize,
    /// States generated (with revisits).
    pub generated: usize,
    /// Deepest path explored.
    pub max_depth: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Whether the whole graph was explored (false after a timeout or an early stop).
    pub complete: bool,
    /// One entry per property, in the model's order.
    pub results: Vec<(&'static str, Verdict)>,
}

impl Outcome {
    /// Unique states per second.
    pub fn unique_per_sec(&self) -> f64 {
        self.unique as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The verdict for a property.
    pub fn verdict(&self, name: &str) -> Option<&Verdict> {
        self.results
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// Whether the whole graph was explored and every safety and liveness property held.
    /// Reachability targets missed are not counted here: a small configuration legitimately
    /// cannot reach some states (see [`Outcome::not_reached`]); the CLI reports them.
    pub fn all_ok(&self) -> bool {
        self.complete && self.violated().is_empty()
    }

    /// Reachability targets that no explored path reached.
    pub fn not_reached(&self) -> Vec<&'static str> {
        self.results
            .iter()
            .filter(|(_, v)| matches!(v, Verdict::NotReached))
            .map(|(n, _)| *n)
            .collect()
    }

    /// Safety and liveness properties that were violated.
    pub fn violated(&self) -> Vec<&'static str> {
        self.results
            .iter()
            .filter(|(_, v)| matches!(v, Verdict::Violated(_)))
            .map(|(n, _)| *n)
            .collect()
    }
}

/// The path up to the first state that violates the property. The checker reports the state
/// where it noticed the violation, which a depth-first search can reach long after the step that
/// caused it (the monitors are sticky); every property here is an invariant, so the shortest
/// prefix that violates it is a counterexample too, and the one a reader wants.
fn cut_at_first_violation(
    model: &FailoverModel,
    p: &stateright::Property<FailoverModel>,
    path: Path<State, Action>,
) -> Path<State, Action> {
    let steps = path.clone().into_vec();
    let Some(first) = steps.iter().position(|(s, _)| !(p.condition)(model, s)) else {
        return path;
    };
    let actions: Vec<Action> = steps[..first].iter().filter_map(|(_, a)| *a).collect();
    Path::from_actions(model, steps[0].0.clone(), actions.iter()).unwrap_or(path)
}

/// Run the checker to completion (or timeout), calling `progress` periodically.
///
/// In two passes where that is cheaper: the first gives stateright every `always` property as
/// one ([`FailoverModel::for_first_pass`]) and stops at its first violation. If it finds none,
/// its outcome is the outcome: every `always` property held, and the search (states, order,
/// reachability examples) is the one of a check with every property on its own, since the
/// properties' verdicts do not steer the search while they hold. If it finds one, the second
/// pass is exactly that check, from the start, and its outcome (states, verdicts, paths) is
/// reported, the time being the two passes'. So a configuration where every property holds
/// costs one pass with fewer property lookups, and one with a violation costs the search up to
/// the first violation more. The second pass has the whole timeout again.
pub fn run(
    model: &FailoverModel,
    opts: &CheckOptions,
    mut progress: impl FnMut(Progress),
) -> Outcome {
    let start = Instant::now();
    let props = model.properties();
    let mut pass = 1;
    if let Some(stop) = first_pass_stop(opts, &props) {
        let first = explore(
            &model.for_first_pass(),
            opts,
            Some(stop),
            (start, pass),
            &mut progress,
        );
        if first.0.discovery(properties::EVERY_INVARIANT).is_none() {
            return outcome(model, opts, &props, first, start);
        }
        pass = 2;
    }
    let second = explore(
        &model.for_check(),
        opts,
        opts.stop_when.clone(),
        (start, pass),
        &mut progress,
    );
    outcome(model, opts, &props, second, start)
}

/// When the first pass must stop: at the first violation of an `always` property (then the
/// second pass decides), or when the check's own condition on reachability targets is met.
/// `None` where the check's condition cannot be told apart in the first pass (the check then
/// runs in one pass, every property on its own).
fn first_pass_stop(
    opts: &CheckOptions,
    props: &[stateright::Property<FailoverModel>],
) -> Option<stateright::HasDiscoveries> {
    use stateright::HasDiscoveries as H;
    let mut stop = std::collections::BTreeSet::from([properties::EVERY_INVARIANT]);
    match &opts.stop_when {
        None | Some(H::AnyFailures) => {}
        Some(H::AnyOf(names)) => {
            for n in names {
                match props.iter().find(|p| p.name == *n) {
                    Some(p) if p.expectation == Expectation::Sometimes => {
                        stop.insert(*n);
                    }
                    Some(p) if p.expectation == Expectation::Always => {}
                    _ => return None,
                }
            }
        }
        Some(_) => return None,
    }
    Some(H::AnyOf(stop))
}

/// One search with the checker's copy of the model `checker_model`, to completion, timeout or
/// `stop`; the timeout counts from the search's own start.
fn explore(
    checker_model: &FailoverModel,
    opts: &CheckOptions,
    stop: Option<stateright::HasDiscoveries>,
    (start, pass): (Instant, u8),
    progress: &mut impl FnMut(Progress),
) -> (impl Checker<FailoverModel>, bool) {
    let pass_start = Instant::now();
    let mut m = checker_model.clone();
    m.deadline = opts
        .timeout
        .map(|t| Arc::new(Deadline::new(pass_start + t)));
    let deadline = m.deadline.clone();
    let mut builder = m.checker().threads(opts.threads.max(1));
    if opts.symmetry {
        builder = builder.symmetry();
    }
    if let Some(w) = stop {
        builder = builder.finish_when(w);
    }
    let checker = builder.spawn_dfs();
    let mut last = Instant::now();
    while !checker.is_done() {
        std::thread::sleep(Duration::from_millis(20));
        if last.elapsed() >= opts.progress_every {
            last = Instant::now();
            progress(Progress {
                generated: checker.state_count(),
                unique: checker.unique_state_count(),
                elapsed: start.elapsed(),
                pass,
            });
        }
    }
    // Timed out: the deadline left some state unexplored (a search that ends just after its
    // deadline without needing another state is complete).
    let checker = checker.join();
    let timed_out = deadline.is_some_and(|d| d.cut());
    (checker, timed_out)
}

/// The outcome of a finished search: each of `props` (the model's whole list, in its order) by
/// its own name. An `always` property the search has no discovery for held (in the first pass,
/// every one of them, since [`properties::EVERY_INVARIANT`] has none).
fn outcome(
    model: &FailoverModel,
    opts: &CheckOptions,
    props: &[stateright::Property<FailoverModel>],
    (checker, timed_out): (impl Checker<FailoverModel>, bool),
    start: Instant,
) -> Outcome {
    let elapsed = start.elapsed();
    let results: Vec<(&'static str, Verdict)> = props
        .iter()
        .map(|p| {
            let found = checker.discovery(p.name);
            let v = match (p.expectation.clone(), found) {
                (Expectation::Sometimes, Some(path)) => Verdict::Reached(path),
                (Expectation::Sometimes, None) => Verdict::NotReached,
                (_, Some(path)) => Verdict::Violated(cut_at_first_violation(model, p, path)),
                (_, None) => Verdict::Held,
            };
            (p.name, v)
        })
        .collect();
    debug_assert!(
        properties::checked(&model.cfg).len() + properties::REACHABILITY.len() == props.len()
    );
    // An early stop leaves the graph partly explored only if its condition was met.
    let stopped_early = match &opts.stop_when {
        None => false,
        Some(stateright::HasDiscoveries::AnyOf(names)) => results.iter().any(|(n, v)| {
            names.contains(n) && matches!(v, Verdict::Violated(_) | Verdict::Reached(_))
        }),
        Some(stateright::HasDiscoveries::AnyFailures) => results
            .iter()
            .any(|(_, v)| matches!(v, Verdict::Violated(_))),
        Some(_) => true,
    };
    let complete = !timed_out && !stopped_early;
    Outcome {
        unique: checker.unique_state_count(),
        generated: checker.state_count(),
        max_depth: checker.max_depth(),
        elapsed,
        complete,
        results,
    }
}
