//! `failover check`: run the exhaustive model checker on a configuration and report every
//! verdict (text or JSON), the counterexamples, and a chart of the first one.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use failover_model::check::{self, CheckOptions, Verdict};
use failover_model::cycles::{self, CycleSearch};
use failover_model::{chart, properties, render, trace, FailoverModel, ModelConfig, Variant};
use stateright::{Model, Path};

use crate::explain_cmd;

/// How `check` runs and reports.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Worker threads [default: the number of CPUs].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Disable client symmetry reduction.
    #[arg(long)]
    pub no_symmetry: bool,
    /// Stop after this many seconds (the result is then incomplete: properties not violated by
    /// then are reported undecided, and the exit status is 3).
    #[arg(long)]
    pub timeout: Option<u64>,
    /// Stop at the first violated property instead of exploring everything (the result is then
    /// incomplete: the other properties are reported undecided).
    #[arg(long)]
    pub stop_on_violation: bool,
    /// Write each counterexample as a trace (traces/README.md format, readable by `explain`,
    /// `conform` and `traces itf`) into this directory, created if needed.
    #[arg(long, value_name = "DIR")]
    pub json: Option<PathBuf>,
    /// Print the whole result as one JSON object instead of text.
    #[arg(long)]
    pub json_summary: bool,
    /// Draw the first counterexample as a message-sequence chart in this file (.svg, .html, or
    /// .mmd for Mermaid).
    #[arg(long, value_name = "FILE")]
    pub explain: Option<PathBuf>,
    /// Also search the state graph for a cycle (one thread, after the check; about as long as
    /// a one-thread check). The liveness verdicts are sound only on an acyclic graph, and the
    /// checker itself closes a cycle silently. On by default for a variant expected to break
    /// "every path ends".
    #[arg(long)]
    pub cycles: bool,
}

/// The list of the design variants, for `--help`.
pub fn variants_list() -> String {
    let mut s = String::from(
        "Variants (--variant NAME): one rule of RFC 8156 removed or changed. Each is checked in its\nown configuration (sizes given on the command line override it).\n",
    );
    for v in Variant::ALL {
        let breaks = match v.breaks() {
            Some(p) => format!("breaks: {p}"),
            None => "probe: no violation found in the configurations checked".to_string(),
        };
        s += &format!(
            "  {:<36} {}\n  {:<36} {}\n",
            v.name(),
            v.description(),
            "",
            breaks
        );
    }
    s
}

/// `check --help`'s epilogue: the variants and the exit statuses.
pub fn variants_help() -> String {
    let mut s = variants_list();
    s += "\nExit status: 0 the search was complete and every safety and liveness property holds\n(reachability targets a small configuration cannot reach are listed but do not fail the run);\n1 a property is violated (a counterexample was found, even if the search stopped early);\n2 bad arguments, or an output file or folder that cannot be written (checked before the search);\n3 the search was incomplete (--timeout, or --stop-on-violation) and found no violation: the\nproperties it did not decide are reported undecided.";
    s
}

pub fn check_run_args(a: &RunArgs) -> Result<(), String> {
    if let Some(f) = &a.explain {
        if explain_cmd::format_of(f).is_none() {
            return Err(format!(
                "--explain {}: the extension must be .svg, .html or .mmd",
                f.display()
            ));
        }
    }
    if a.threads == Some(0) {
        return Err("--threads must be at least 1".into());
    }
    Ok(())
}

/// Exit status of a search that stopped before exploring everything and found no violation.
pub const INCOMPLETE: u8 = 3;

/// Check, before the search, that the output files and folders can be written: a mistake in
/// a path must not cost the whole run, nor hide its verdict behind exit status 2 at the end.
fn check_outputs(args: &RunArgs) -> Result<(), String> {
    if let Some(dir) = &args.json {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("--json {}: cannot create the folder: {e}", dir.display()))?;
        let probe = dir.join(format!(".failover-write-test-{}", std::process::id()));
        std::fs::write(&probe, b"")
            .map_err(|e| format!("--json {}: cannot write there: {e}", dir.display()))?;
        let _ = std::fs::remove_file(&probe);
    }
    if let Some(file) = &args.explain {
        let existed = file.exists();
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(file)
            .map_err(|e| format!("--explain {}: cannot write there: {e}", file.display()))?;
        if !existed {
            let _ = std::fs::remove_file(file);
        }
    }
    Ok(())
}

/// Run `failover check`. `config_flags` are the configuration options as given (for the
/// `explore` command printed with each counterexample).
pub fn run_check(cfg: ModelConfig, args: &RunArgs, config_flags: &str) -> ExitCode {
    if let Err(e) = check_outputs(args) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let model = FailoverModel::new(cfg.clone());
    let opts = CheckOptions {
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        symmetry: !args.no_symmetry,
        timeout: args.timeout.map(Duration::from_secs),
        progress_every: Duration::from_secs(5),
        stop_when: args
            .stop_on_violation
            .then_some(stateright::HasDiscoveries::AnyFailures),
    };
    if !args.json_summary {
        println!(
            "RFC 8156 failover model: exhaustive check (DFS{})",
            if opts.symmetry {
                ", client symmetry"
            } else {
                ""
            }
        );
        println!(
            "  config: {} clients, {} addresses, {} prefixes, MCLT {} ticks, lifetime {} ticks, init {}{}",
            cfg.clients,
            cfg.addresses,
            cfg.prefixes,
            cfg.mclt,
            cfg.lifetime,
            match cfg.init {
                failover_model::Init::Normal => "normal",
                failover_model::Init::Fresh => "fresh",
            },
            if cfg.dns { ", DNS updates (§9)" } else { "" }
        );
        if !cfg.reservations.is_empty() {
            let r: Vec<String> = cfg
                .reservations
                .iter()
                .map(|r| {
                    format!(
                        "{} for c{}",
                        failover_model::names::lease(Some(cfg.addresses), r.lease),
                        r.client
                    )
                })
                .collect();
            println!(
                "  reservations (design draft §12): {}; {} cancellation(s)",
                r.join(", "),
                cfg.cancels
            );
        }
        println!(
            "  budgets: {} ticks + {} settle ticks, {} partitions, {} crashes, {} storage losses, {} client ops, {} commands, auto-partner-down {}",
            cfg.ticks,
            cfg.settle_ticks,
            cfg.partitions,
            cfg.crashes,
            cfg.storage_losses,
            cfg.client_ops,
            cfg.commands,
            cfg.auto_partner_down.map_or("off".to_string(), |t| format!("after {t} ticks"))
        );
        match cfg.variant {
            Some(v) => println!(
                "  variant: {} ({}); {}",
                v.name(),
                v.description(),
                match v.breaks() {
                    Some(p) => format!("expected to break: {p}"),
                    None => "a probe: no property is expected to break".to_string(),
                }
            ),
            None => println!("  variant: none (the RFC as read in docs/readings.md)"),
        }
        println!("  threads: {}", opts.threads);
    }
    let quiet = args.json_summary;
    let outcome = check::run(&model, &opts, |p| {
        if !quiet {
            eprintln!(
                "  ... {} unique states ({} generated) in {:.0?}{}",
                p.unique,
                p.generated,
                p.elapsed,
                if p.pass == 1 {
                    format!(
                        ", {:.0} unique/s",
                        p.unique as f64 / p.elapsed.as_secs_f64()
                    )
                } else {
                    ", checking again with each property on its own (a property failed)".into()
                }
            );
        }
    });
    let search_cycles = args.cycles
        || cfg
            .variant
            .is_some_and(|v| v.breaks() == Some(properties::EVERY_PATH_ENDS));
    let cycle_search: Option<CycleSearch> = search_cycles.then(|| {
        if !quiet {
            eprintln!("  searching the graph for a cycle (one thread) ...");
        }
        cycles::find_cycle(&model, Duration::from_secs(5), |unique| {
            if !quiet {
                eprintln!("  ... {unique} unique states searched for a cycle");
            }
        })
    });
    // The path into a cycle and once around it, as one path.
    let cycle_path = cycle_search
        .as_ref()
        .and_then(|c| c.cycle.as_ref())
        .map(|c| {
            let actions: Vec<_> = c.prefix.iter().chain(c.cycle.iter()).copied().collect();
            let init = model.init_states().remove(0);
            let path = Path::from_actions(&model, init, actions.iter())
                .expect("a cycle found by the search replays");
            (c.prefix.len(), c.cycle.len(), path)
        });
    // What a property not violated can claim: held only if the search was complete.
    let undecided: Option<String> = (!outcome.complete).then(|| {
        if args.stop_on_violation && !outcome.violated().is_empty() {
            format!(
                "the search stopped at the first violation, after {} unique states",
                outcome.unique
            )
        } else {
            format!(
                "the search timed out after {:.0} s, at {} unique states",
                outcome.elapsed.as_secs_f64(),
                outcome.unique
            )
        }
    });
    if args.json_summary {
        let results: Vec<serde_json::Value> = outcome
            .results
            .iter()
            .map(|(n, v)| {
                let (verdict, len) = match v {
                    Verdict::Held | Verdict::NotReached if undecided.is_some() => {
                        ("undecided", None)
                    }
                    Verdict::Held => ("held", None),
                    Verdict::Violated(p) => ("violated", Some(p.clone().into_actions().len())),
                    Verdict::Reached(p) => ("reached", Some(p.clone().into_actions().len())),
                    Verdict::NotReached => ("not reached", None),
                };
                let mut r =
                    serde_json::json!({"property": n, "verdict": verdict, "path_length": len});
                if verdict == "undecided" {
                    r["reason"] = serde_json::json!(undecided);
                }
                r
            })
            .collect();
        let v = serde_json::json!({
            "config": cfg,
            "unique_states": outcome.unique,
            "generated_states": outcome.generated,
            "max_depth": outcome.max_depth,
            "seconds": outcome.elapsed.as_secs_f64(),
            "complete": outcome.complete,
            "incomplete_reason": undecided,
            "results": results,
            "cycles": cycle_search.as_ref().map(|c| serde_json::json!({
                "property": properties::EVERY_PATH_ENDS,
                "unique_states": c.unique,
                "seconds": c.elapsed.as_secs_f64(),
                "verdict": if c.cycle.is_some() { "violated" } else { "held" },
                "prefix_length": c.cycle.as_ref().map(|x| x.prefix.len()),
                "cycle_length": c.cycle.as_ref().map(|x| x.cycle.len()),
            })),
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap());
    } else {
        println!(
            "\nDone: {} unique states, {} generated, max depth {}, {:.2} s, {:.0} unique states/s{}",
            outcome.unique,
            outcome.generated,
            outcome.max_depth,
            outcome.elapsed.as_secs_f64(),
            outcome.unique_per_sec(),
            if outcome.complete {
                ""
            } else if args.stop_on_violation && !outcome.violated().is_empty() {
                " (stopped at the first violation: the other properties are undecided)"
            } else {
                " (INCOMPLETE: timed out)"
            }
        );
        println!("\nSafety and bounded liveness:");
        for (name, v) in &outcome.results {
            if properties::is_reachability(name) {
                continue;
            }
            match v {
                Verdict::Held if undecided.is_some() => println!("  undecided {name}"),
                Verdict::Held => println!("  holds     {name}"),
                Verdict::Violated(p) => println!(
                    "  VIOLATED  {name}  (counterexample: {} steps)",
                    p.clone().into_actions().len()
                ),
                _ => {}
            }
        }
        match (&cycle_search, &cycle_path) {
            (None, _) => println!(
                "  (not searched) {}  (--cycles)",
                properties::EVERY_PATH_ENDS
            ),
            (Some(c), None) => println!(
                "  holds     {}  ({} unique states, {:.2} s)",
                properties::EVERY_PATH_ENDS,
                c.unique,
                c.elapsed.as_secs_f64()
            ),
            (Some(_), Some((prefix, len, _))) => println!(
                "  VIOLATED  {}  (a cycle of {len} steps after {prefix} steps)",
                properties::EVERY_PATH_ENDS
            ),
        }
        if let Some(why) = &undecided {
            println!("  (undecided: {why}; a property not violated so far may still be)");
        }
        let reached: Vec<_> = outcome
            .results
            .iter()
            .filter(|(n, v)| properties::is_reachability(n) && matches!(v, Verdict::Reached(_)))
            .collect();
        let missing: Vec<_> = outcome
            .results
            .iter()
            .filter(|(_, v)| matches!(v, Verdict::NotReached))
            .map(|(n, _)| *n)
            .collect();
        println!(
            "\nReachability: {} of {} reached",
            reached.len(),
            properties::REACHABILITY.len()
        );
        if let Some(why) = &undecided {
            for m in &missing {
                println!("  undecided    {m}");
            }
            if !missing.is_empty() {
                println!("  (not reached so far, undecided: {why})");
            }
        } else {
            for m in &missing {
                println!("  NOT REACHED  {m}");
            }
        }
        if !missing.is_empty() && undecided.is_none() {
            println!("  (not a failure: this configuration is too small to get there; `cargo test` checks");
            println!("   that every target is reachable in small configurations that have the needed faults.");
            if missing
                .iter()
                .any(|m| m.contains("CONFLICT") || m.contains("RESOLUTION"))
            {
                println!("   POTENTIAL-CONFLICT and its successors need two crashes, e.g.");
                println!("   `check --clients 1 --addresses 2 --prefixes 0 --client-ops 1 --crashes 2`.)");
            } else {
                println!(
                    "   RELEASED, ABANDONED and RESET need more client operations and commands.)"
                );
            }
        }
    }
    let mut stdout = std::io::stdout();
    if let Some(file) = &args.explain {
        let first = outcome.results.iter().find_map(|(n, v)| match v {
            Verdict::Violated(p) => Some((n, p)),
            _ => None,
        });
        match first {
            Some((name, path)) => {
                let actions = path.clone().into_actions();
                let t = trace::of_path(
                    &model,
                    &actions,
                    format!("counterexample-{}", slug(name)),
                    format!("counterexample: {name}"),
                );
                let violation = chart::Violation {
                    property: name.to_string(),
                    detail: properties::violation_detail(&model, name, path.last_state()),
                };
                if let Err(e) = explain_cmd::write_with(&t, file, None, Some(&violation)) {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
                if !args.json_summary {
                    println!(
                        "(chart of the counterexample for \"{name}\" written to {})",
                        file.display()
                    );
                }
            }
            None => eprintln!(
                "note: no counterexample, so no chart written to {}",
                file.display()
            ),
        }
    }
    for (name, v) in &outcome.results {
        if let Verdict::Violated(path) = v {
            if !args.json_summary {
                let _ = writeln!(
                    stdout,
                    "\nCounterexample for \"{name}\":\n{}",
                    render::steps(&model, path)
                );
                let last = path.last_state();
                let _ = writeln!(stdout, "Final state:\n{last:?}");
                let _ = writeln!(
                    stdout,
                    "What is wrong: {}",
                    properties::violation_detail(&model, name, last)
                );
                if let Some(link) = explorer_link(&model, path) {
                    let _ = writeln!(
                        stdout,
                        "Step through it in the Explorer: run `failover explore {}{}--port {EXPLORER_PORT}`, then open\n  {link}",
                        config_flags,
                        if config_flags.is_empty() { "" } else { " " },
                    );
                }
            }
            if let Some(dir) = &args.json {
                let file = dir.join(format!("{}.json", slug(name)));
                let body = failover_trace::to_text(&counterexample_trace(&model, name, path));
                if let Err(e) = std::fs::write(&file, body) {
                    eprintln!("error: cannot write {}: {e}", file.display());
                    return ExitCode::from(2);
                }
                if !args.json_summary {
                    println!("(written to {})", file.display());
                }
            }
        }
    }
    if let Some((prefix, len, path)) = &cycle_path {
        if !args.json_summary {
            let _ = writeln!(
                stdout,
                "\nCycle (\"{}\"): steps {}-{} come back to the state after step {prefix}, so this \
                 path never ends:\n{}",
                properties::EVERY_PATH_ENDS,
                prefix + 1,
                prefix + len,
                render::steps(&model, path)
            );
        }
    }
    if !outcome.violated().is_empty() || cycle_path.is_some() {
        ExitCode::from(1)
    } else if !outcome.complete {
        ExitCode::from(INCOMPLETE)
    } else {
        ExitCode::SUCCESS
    }
}

/// A counterexample as a trace of the corpus's format, which `explain`, `conform` and `traces
/// itf` read. Under a design variant it is a negative trace: the RFC's expectations for the
/// variant's path, and the step where the variant's observations leave them (a correct
/// implementation passes it, one with the variant's mistake diverges there). Without one, the
/// model's own observations.
fn counterexample_trace(
    model: &FailoverModel,
    property: &str,
    path: &Path<failover_model::State, failover_model::Action>,
) -> failover_trace::Trace {
    let actions = path.clone().into_actions();
    let id = format!("counterexample-{}", slug(property));
    match model.cfg.variant {
        Some(v) => {
            let mut t = trace::negative_in(v, model.cfg.clone(), &actions);
            t.id = id;
            t.title = format!(
                "counterexample of \"{property}\" under variant {} ({}), with the RFC's expectations",
                v.name(),
                v.description()
            );
            t
        }
        None => trace::of_path(model, &actions, id, format!("counterexample: {property}")),
    }
}

/// The port `failover explore` serves on by default.
const EXPLORER_PORT: u16 = 3000;

/// The Explorer's address of a counterexample's last state: stateright's path encoding, the
/// index of the initial state then, for each step, the index of its action among the actions
/// the model enables in the state before it. `explore` with the same configuration enables the
/// same actions in the same order ([`FailoverModel::for_explorer`] changes property names
/// only), so the indices lead to the same state. `None` if the path does not replay (a bug).
fn explorer_link(
    model: &FailoverModel,
    path: &Path<failover_model::State, failover_model::Action>,
) -> Option<String> {
    let actions = path.clone().into_actions();
    let init = model.init_states().into_iter().next()?;
    let replayed = Path::from_actions(model, init, actions.iter())?;
    Some(format!(
        "http://127.0.0.1:{EXPLORER_PORT}/#/steps/{}",
        replayed.encode(model)
    ))
}

fn slug(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}
