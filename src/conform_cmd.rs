//! `failover conform`: replay the traces against a system under test.

use std::fs;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use failover_conformance::differential;
use failover_conformance::inproc::{Breakage, InProc};
use failover_conformance::mapping::Compare;
use failover_conformance::runner::{self, Outcome};
use failover_conformance::stdio::Stdio;
use failover_conformance::sut::Sut;

/// `failover conform ...`
#[derive(Args)]
pub struct ConformArgs {
    /// The built-in system under test: `reference` is our implementation (failover-core)
    /// in-process.
    #[arg(long, default_value = "reference", conflicts_with = "sut_cmd")]
    sut: String,
    /// An external adapter program and its arguments, speaking the JSON-lines protocol of
    /// conformance/README.md on stdin/stdout.
    #[arg(long, value_name = "PROGRAM ARGS")]
    sut_cmd: Option<String>,
    /// The traces folder (searched recursively for *.json).
    #[arg(long, default_value = "traces")]
    traces: PathBuf,
    /// Run only traces carrying all these tags (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    tags: Vec<String>,
    /// Run only the traces whose id contains this text.
    #[arg(long)]
    only: Option<String>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Print the JSON report on standard output instead of the summary table.
    #[arg(long)]
    json: bool,
    /// Do not compare the partner messages sent (states, leases and clients only).
    #[arg(long)]
    no_messages: bool,
    /// Explain every divergence, not only the first.
    #[arg(long)]
    all_divergences: bool,
    /// Test only: break the reference implementation on purpose (no-mclt-cap,
    /// accept-every-bndupd, ignore-partner-down-command, ignore-client-fqdn, ignore-reservations).
    #[arg(long, hide = true)]
    broken: Option<String>,
}

/// `failover sut-stdio ...`
#[derive(Args)]
pub struct SutStdioArgs {
    /// Test only: serve a deliberately broken implementation (as `conform --broken`).
    #[arg(long, hide = true)]
    broken: Option<String>,
}

/// `failover differential ...`
#[derive(Args)]
pub struct DifferentialArgs {
    /// Random cases to try.
    #[arg(long, default_value_t = 200)]
    tests: u64,
    /// Seed of the generator (the same seed gives the same cases).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The longest path drawn, in steps (the model's budgets may end it sooner).
    #[arg(long, default_value_t = 60)]
    size: usize,
    /// The model configuration the paths are drawn from: one of the corpus's random-walk
    /// configurations (default, headline, storage-loss, conflict, busy), or `ddns`: DNS update
    /// coordination (RFC 8156 §9) with two clients, two crashes and two partitions.
    #[arg(long, default_value = "default")]
    config: String,
    /// Do not compare the partner messages sent (states, leases and clients only).
    #[arg(long)]
    no_messages: bool,
    /// Test only: a deliberately broken implementation (as `conform --broken`).
    #[arg(long, hide = true)]
    broken: Option<String>,
}

/// Run `failover differential`.
pub fn differential(a: DifferentialArgs) -> ExitCode {
    let configs = differential::configs();
    let Some((_, config)) = configs.iter().find(|(n, _)| *n == a.config) else {
        let names: Vec<&str> = configs.iter().map(|(n, _)| *n).collect();
        eprintln!(
            "error: unknown --config {:?}; the configurations are: {}",
            a.config,
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    let breakage = match breakage(&a.broken) {
        Ok(b) => b,
        Err(code) => return code,
    };
    if a.tests == 0 || a.size == 0 {
        eprintln!("error: --tests and --size must be at least 1");
        return ExitCode::from(2);
    }
    let opts = differential::Options {
        config: config.clone(),
        tests: a.tests,
        seed: a.seed,
        size: a.size,
        compare: Compare {
            messages: !a.no_messages,
        },
    };
    eprintln!(
        "differential: {} random paths of up to {} steps in the {} configuration (seed {}) against failover-core",
        a.tests, a.size, a.config, a.seed
    );
    let t0 = Instant::now();
    let (cases, found) = differential::run(&opts, move || -> Box<dyn Sut> {
        Box::new(reference(breakage))
    });
    let secs = t0.elapsed().as_secs_f64();
    match found {
        None => {
            println!("{cases} cases, every one agreed with the model ({secs:.2} s)");
            ExitCode::SUCCESS
        }
        Some(d) => {
            println!(
                "DISAGREEMENT after {cases} cases (shrinking included, {secs:.2} s); minimal case: {} steps, schedule {:?}",
                d.actions.len(),
                d.schedule.0
            );
            println!("model actions: {:?}\n", d.actions);
            print!("{}", d.explanation);
            ExitCode::from(1)
        }
    }
}

/// The hidden `--broken NAME` option: the deliberate mistake it names, or exit status 2.
fn breakage(broken: &Option<String>) -> Result<Option<Breakage>, ExitCode> {
    match broken {
        None => Ok(None),
        Some(name) => match Breakage::ALL.iter().find(|b| b.name() == name) {
            Some(b) => Ok(Some(*b)),
            None => {
                eprintln!("error: unknown --broken {name:?}");
                Err(ExitCode::from(2))
            }
        },
    }
}

/// Our implementation in-process, broken on purpose if asked.
fn reference(b: Option<Breakage>) -> InProc {
    b.map_or_else(InProc::new, InProc::broken)
}

/// Serve our implementation over the JSON-lines protocol until standard input ends.
pub fn sut_stdio(a: SutStdioArgs) -> ExitCode {
    let mut sut = match breakage(&a.broken) {
        Ok(b) => reference(b),
        Err(code) => return code,
    };
    let name = format!("failover-core {}", env!("CARGO_PKG_VERSION"));
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    match failover_conformance::stdio::serve(&mut sut, &name, stdin, stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Run `failover conform`.
pub fn run(a: ConformArgs) -> ExitCode {
    let traces = match runner::load_dir(&a.traces) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut traces = runner::filter_tags(traces, &a.tags);
    if let Some(o) = &a.only {
        traces.retain(|t| t.trace.id.contains(o.as_str()));
    }
    if traces.is_empty() {
        eprintln!(
            "error: no trace in {} matches the tags {:?}",
            a.traces.display(),
            a.tags
        );
        return ExitCode::from(2);
    }
    let mut sut: Box<dyn Sut> = match (&a.sut_cmd, a.sut.as_str()) {
        (Some(cmd), _) => {
            let mut words = cmd.split_whitespace().map(str::to_string);
            let Some(program) = words.next() else {
                eprintln!("error: --sut-cmd is empty");
                return ExitCode::from(2);
            };
            let args: Vec<String> = words.collect();
            match Stdio::spawn(&program, &args) {
                Ok(s) => Box::new(s),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        (None, "reference") => match breakage(&a.broken) {
            Ok(b) => Box::new(reference(b)),
            Err(code) => return code,
        },
        (None, other) => {
            eprintln!(
                "error: unknown --sut {other:?}: the built-in SUT is `reference`; use --sut-cmd for a program"
            );
            return ExitCode::from(2);
        }
    };
    let cmp = Compare {
        messages: !a.no_messages,
    };
    let name = sut.name();
    let n = traces.len();
    eprintln!(
        "replaying {n} traces from {} against {name}",
        a.traces.display()
    );
    let t0 = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let results = runner::run_all(sut.as_mut(), &traces, cmp, |k, r| {
        let word = match r.outcome {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "FAIL",
            Outcome::Error { .. } => "ERROR",
        };
        // A progress line rewritten in place on a terminal; a log gets the summary table only.
        if tty {
            eprint!("\r[{}/{n}] {word:<5} {:<70}", k + 1, r.id);
            let _ = std::io::stderr().flush();
        }
    });
    if tty {
        eprintln!();
    }
    let elapsed = t0.elapsed();
    let failed: Vec<usize> = (0..results.len())
        .filter(|&k| !results[k].passed())
        .collect();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&runner::json_report(&name, &results)).unwrap_or_default()
        );
    } else {
        print!("{}", runner::summary(&results));
        let shown = if a.all_divergences { failed.len() } else { 1 };
        for &k in failed.iter().take(shown) {
            println!();
            print!("{}", runner::explain(&traces[k], &results[k]));
        }
        if failed.len() > shown {
            println!(
                "\n({} more failures; --all-divergences shows each, --only ID runs one)",
                failed.len() - shown
            );
        }
    }
    let steps: usize = results.iter().map(|r| r.applied).sum();
    eprintln!(
        "{} traces, {steps} steps in {:.2} s ({:.0} steps/s)",
        results.len(),
        elapsed.as_secs_f64(),
        steps as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    if let Some(p) = &a.report {
        if let Err(e) = fs::write(p, runner::junit_report(&name, &traces, &results)) {
            eprintln!("error: cannot write {}: {e}", p.display());
            return ExitCode::from(2);
        }
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
