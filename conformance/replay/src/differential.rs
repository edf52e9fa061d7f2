//! Differential testing: random event sequences run through the model and a system under test,
//! compared step by step; a disagreement is shrunk by quickcheck to a minimal case.
//!
//! The committed corpus replays fixed paths; this module makes new ones on demand. A random
//! case is a [`Schedule`], a list of choices: at each step the model's scheduled actions in the
//! current state (the same scheduling rule as the corpus: due timers first) are listed and the
//! choice picks one, modulo their number. Any list of choices is therefore a valid path, and
//! quickcheck's shrinking of the list (dropping choices, lowering them toward 0) only ever
//! produces valid paths, which is what makes the minimal case meaningful. The path becomes a
//! trace exactly as the corpus's random walks do
//! ([`failover_model::trace::build`](fn@failover_model::trace::build)) and is replayed with
//! [`failover_conformance::runner::run_trace`], so "agree" means what it means for the corpus.
//!
//! Deterministic: quickcheck's generator is seeded ([`quickcheck::Gen::from_size_and_seed`]).

use std::cell::RefCell;
use std::path::PathBuf;

use failover_conformance::mapping::Compare;
use failover_conformance::runner::{self, Loaded};
use failover_conformance::sut::Sut;
use failover_model::trace;
use failover_model::{Action, FailoverModel, ModelConfig};
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};

/// The choices of a random path (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule(pub Vec<u8>);

impl Arbitrary for Schedule {
    fn arbitrary(g: &mut Gen) -> Schedule {
        // Up to `size` steps; the model's budgets may end the path sooner.
        let n = usize::arbitrary(g) % (g.size() + 1);
        Schedule((0..n).map(|_| u8::arbitrary(g)).collect())
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Schedule>> {
        Box::new(self.0.shrink().map(Schedule))
    }
}

/// The model's actions that a schedule chooses, from the initial state, until the schedule or
/// the model's budgets run out, then the timers due.
pub fn actions(model: &FailoverModel, s: &Schedule) -> Vec<Action> {
    let mut st = model.initial_state();
    let mut out = Vec::new();
    for &c in &s.0 {
        let acts = trace::scheduled_actions(model, &st);
        if acts.is_empty() {
            break;
        }
        let a = acts[c as usize % acts.len()];
        match model.step(&st, a) {
            Some(next) => st = next,
            None => break,
        }
        out.push(a);
    }
    // Finish with the timers the last step made due: the harness compares a step after the
    // `timers` steps that follow it (as a server services its timers when they fall due), so a
    // path must not stop between a tick and its timers.
    loop {
        let acts = trace::scheduled_actions(model, &st);
        let Some(&a) = acts.first() else { break };
        if !matches!(a, Action::Timer(_)) {
            break;
        }
        match model.step(&st, a) {
            Some(next) => st = next,
            None => break,
        }
        out.push(a);
    }
    out
}

/// The trace of a schedule, as the corpus would record it.
pub fn trace_of(model: &FailoverModel, s: &Schedule) -> Loaded {
    let trace = trace::of_path(
        model,
        &actions(model, s),
        "differential".to_string(),
        format!("differential case, schedule {:?}", s.0),
    );
    Loaded {
        path: PathBuf::from("(differential)"),
        trace,
    }
}

/// Replay one schedule against a fresh SUT: `Ok` if every step agrees, else the explanation of
/// the first divergence (or error), as `failover conform` prints it.
pub fn agree(
    model: &FailoverModel,
    sut: &mut dyn Sut,
    s: &Schedule,
    cmp: Compare,
) -> Result<(), String> {
    let t = trace_of(model, s);
    let r = runner::run_trace(sut, &t, cmp);
    if r.passed() {
        Ok(())
    } else {
        Err(runner::explain(&t, &r))
    }
}

/// How to run a differential test.
#[derive(Clone, Debug)]
pub struct Options {
    /// The model configuration the paths are drawn from.
    pub config: ModelConfig,
    /// Random cases to try.
    pub tests: u64,
    /// Seed of quickcheck's generator.
    pub seed: u64,
    /// The longest schedule drawn.
    pub size: usize,
    /// What is compared.
    pub compare: Compare,
}

/// A disagreement, shrunk.
#[derive(Clone, Debug)]
pub struct Disagreement {
    /// The minimal schedule quickcheck found.
    pub schedule: Schedule,
    /// Its actions in the model.
    pub actions: Vec<Action>,
    /// The first divergence, explained.
    pub explanation: String,
}

struct Context {
    model: FailoverModel,
    make: Box<dyn Fn() -> Box<dyn Sut>>,
    compare: Compare,
    /// The last failing schedule seen: during shrinking, each failing candidate replaces the
    /// current one, so at the end this is the minimal case.
    last_failure: Option<(Schedule, String)>,
    cases: u64,
}

thread_local! {
    // quickcheck's `Testable` takes a plain `fn`; the context reaches it through here.
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

fn property(s: Schedule) -> TestResult {
    CONTEXT.with(|c| {
        let mut c = c.borrow_mut();
        let c = c.as_mut().expect("set by run");
        c.cases += 1;
        let mut sut = (c.make)();
        // A SUT that panics disagrees too; catch it here so that the case is recorded.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            agree(&c.model, sut.as_mut(), &s, c.compare)
        }))
        .unwrap_or_else(|p| {
            let what = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("the system under test panicked: {what}"))
        });
        match outcome {
            Ok(()) => TestResult::passed(),
            Err(e) => {
                c.last_failure = Some((s, e));
                TestResult::failed()
            }
        }
    })
}

/// Run `opts.tests` random schedules against fresh SUTs made by `make`. Returns the number of
/// cases run (shrinking included) and the minimal disagreement, if any.
pub fn run(
    opts: &Options,
    make: impl Fn() -> Box<dyn Sut> + 'static,
) -> (u64, Option<Disagreement>) {
    let model = FailoverModel::new(opts.config.clone());
    CONTEXT.with(|c| {
        *c.borrow_mut() = Some(Context {
            model: model.clone(),
            make: Box::new(make),
            compare: opts.compare,
            last_failure: None,
            cases: 0,
        })
    });
    let result = QuickCheck::new()
        .rng(Gen::from_size_and_seed(opts.size, opts.seed))
        .tests(opts.tests)
        .max_tests(opts.tests.saturating_mul(10))
        .quicktest(property as fn(Schedule) -> TestResult);
    let ctx = CONTEXT.with(|c| c.borrow_mut().take()).expect("set above");
    let found = match (result, ctx.last_failure) {
        (Err(_), Some((schedule, explanation))) => Some(Disagreement {
            actions: actions(&model, &schedule),
            schedule,
            explanation,
        }),
        _ => None,
    };
    (ctx.cases, found)
}

/// The configurations `failover differential --config` draws paths from: the corpus's
/// random-walk configurations, and `ddns`: DNS coordination (RFC 8156 §9) with two clients, two
/// crashes and two partitions, larger than `check --dns` (which the checker exhausts).
pub fn configs() -> Vec<(&'static str, ModelConfig)> {
    let mut v = failover_model::trace::random_configs();
    v.push((
        "ddns",
        ModelConfig {
            clients: 2,
            client_ops: 5,
            ticks: 2,
            settle_ticks: 3,
            crashes: 2,
            partitions: 2,
            commands: 1,
            ..ModelConfig::dns()
        },
    ));
    v
}
