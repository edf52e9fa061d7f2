//! `failover`: the command line of the RFC 8156 failover suite.
//!
//! `failover check` runs the exhaustive model checker; see `failover check --help`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

mod conform_cmd;
mod explain_cmd;
mod serve_cmd;
mod traces_cmd;

use clap::{Parser, Subcommand, ValueEnum};
use failover_model::check::{self, CheckOptions, Verdict};
use failover_model::cycles::{self, CycleSearch};
use failover_model::{
    properties, render, trace, FailoverModel, Init, ModelConfig, Reservation, Variant,
};
use stateright::{Model, Path};

#[derive(Parser)]
#[command(
    name = "failover",
    version,
    about = "Reference model, implementation and conformance suite for the DHCPv6 Failover Protocol (RFC 8156)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Exhaustively check the model: every safety and bounded-liveness property, and that every
    /// endpoint state and binding-status is reachable.
    #[command(after_help = variants_help())]
    Check(CheckArgs),
    /// Generate, check or export the conformance traces (traces/README.md).
    Traces(traces_cmd::TracesArgs),
    /// Replay the conformance traces against an implementation (conformance/README.md).
    Conform(conform_cmd::ConformArgs),
    /// Serve our implementation over the conformance JSON-lines protocol on stdin/stdout: the
    /// known-good other end for an adapter being written (conformance/README.md).
    SutStdio(conform_cmd::SutStdioArgs),
    /// Differential test: random paths through the model replayed against our implementation,
    /// the first disagreement shrunk by quickcheck to a minimal case (conformance/README.md).
    Differential(conform_cmd::DifferentialArgs),
    /// Draw a trace as a message-sequence chart: Mermaid text, SVG or HTML.
    Explain(explain_cmd::ExplainArgs),
    /// Step through the model in stateright's Explorer, in a browser (127.0.0.1 only).
    Explore(ExploreArgs),
    /// Check failover and the three semi-redundant deployments of RFC 6853 on the same
    /// properties, and print the comparison table (a few seconds).
    Compare,
    /// Run one server (primary or secondary) of an RFC 8156 failover pair: DHCPv6 clients on UDP
    /// 547, the partner on TCP 647, leases in a redb file (docs/daemon-config.md).
    Serve(serve_cmd::ServeArgs),
    /// Talk to a running `failover serve` over its control socket: status, partner-down, reset,
    /// leases, shutdown.
    Ctl(serve_cmd::CtlArgs),
}

#[derive(Parser)]
struct ExploreArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The port to serve on, on 127.0.0.1.
    #[arg(long, default_value_t = 3000)]
    port: u16,
}

#[derive(Clone, Copy, ValueEnum)]
enum InitArg {
    /// Both servers NORMAL and connected, prefixes balanced.
    Normal,
    /// A new relationship: empty storage, STARTUP with the §8.2 initial states.
    Fresh,
}

#[derive(Parser)]
struct CheckArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    run: RunArgs,
}

/// The model configuration: sizes, budgets, variant (shared by `check` and `explore`).
#[derive(clap::Args)]
struct ConfigArgs {
    #[arg(long, help = with_default("Number of clients (1-4).", ModelConfig::default().clients))]
    clients: Option<u8>,
    #[arg(long, help = with_default("Number of IPv6 addresses (independent allocation; odd ones belong to the primary).", ModelConfig::default().addresses))]
    addresses: Option<u8>,
    #[arg(long, help = with_default("Number of delegable prefixes (proportional allocation).", ModelConfig::default().prefixes))]
    prefixes: Option<u8>,
    #[arg(long, help = with_default("Maximum Client Lead Time, in ticks.", ModelConfig::default().mclt))]
    mclt: Option<u8>,
    #[arg(long, help = with_default("Desired valid lifetime, in ticks.", ModelConfig::default().lifetime))]
    lifetime: Option<u8>,
    #[arg(long, help = with_default("Clock budget of the fault phase, in ticks.", ModelConfig::default().ticks))]
    ticks: Option<u8>,
    /// Clock budget of the settle phase (after faults stop), in ticks. It must be at least the
    /// lifetime and more than the MCLT (with storage loss: more than both), so that liveness
    /// can be judged [default: the least that, and at least 2].
    #[arg(long)]
    settle_ticks: Option<u8>,
    #[arg(long, help = with_default("Network partitions that may happen.", ModelConfig::default().partitions))]
    partitions: Option<u8>,
    #[arg(long, help = with_default("Crashes (restart from stable storage) that may happen.", ModelConfig::default().crashes))]
    crashes: Option<u8>,
    #[arg(long, help = with_default("Crashes that lose stable storage.", ModelConfig::default().storage_losses))]
    storage_losses: Option<u8>,
    #[arg(long, help = with_default("Client operations (request, renew, rebind, release, decline).", ModelConfig::default().client_ops))]
    client_ops: Option<u8>,
    #[arg(long, help = with_default("Operator commands (PARTNER-DOWN, reset of an abandoned lease).", ModelConfig::default().commands))]
    commands: Option<u8>,
    /// Auto-partner-down after this many ticks in COMMUNICATIONS-INTERRUPTED (off by default).
    #[arg(long)]
    auto_partner_down: Option<u8>,
    /// How the servers start.
    #[arg(long, value_enum, default_value = "normal")]
    init: InitArg,
    /// A design variant to check instead of the RFC as we read it (see the list below). Its
    /// default configuration is used unless sizes are given explicitly.
    #[arg(long, value_name = "NAME")]
    variant: Option<String>,
    /// Model DNS update coordination (RFC 8156 §9) and check its properties. Without a
    /// variant, starts from the DNS configuration (2 clients, 2 addresses, no prefixes).
    #[arg(long)]
    dns: bool,
    /// Model reservations (design draft §12: A1 reserved for c0, one operator cancellation) and
    /// check their property. Without a variant, starts from the reservations configuration (2
    /// clients, 2 addresses, no prefixes, no PARTNER-DOWN command).
    #[arg(long)]
    reservations: bool,
    /// Reserve a lease for a client instead of A1 for c0 (implies --reservations; repeatable):
    /// `A1:c0` is the second address for the first client, `P0:c1` the first prefix for the
    /// second.
    #[arg(long, value_name = "LEASE:CLIENT")]
    reserve: Vec<String>,
}

/// How `check` runs and reports.
#[derive(clap::Args)]
struct RunArgs {
    /// Worker threads [default: the number of CPUs].
    #[arg(long)]
    threads: Option<usize>,
    /// Disable client symmetry reduction.
    #[arg(long)]
    no_symmetry: bool,
    /// Stop after this many seconds (the result is then incomplete and the exit status 1).
    #[arg(long)]
    timeout: Option<u64>,
    /// Stop at the first violated property instead of exploring everything (the result is then
    /// incomplete: other properties are not decided).
    #[arg(long)]
    stop_on_violation: bool,
    /// Write each counterexample as JSON into this directory.
    #[arg(long, value_name = "DIR")]
    json: Option<PathBuf>,
    /// Print the whole result as one JSON object instead of text.
    #[arg(long)]
    json_summary: bool,
    /// Draw the first counterexample as a message-sequence chart in this file (.svg, .html, or
    /// .mmd for Mermaid).
    #[arg(long, value_name = "FILE")]
    explain: Option<PathBuf>,
    /// Also search the state graph for a cycle (one thread, after the check; about as long as
    /// a one-thread check). The liveness verdicts are sound only on an acyclic graph, and the
    /// checker itself closes a cycle silently. On by default for a variant expected to break
    /// "every path ends".
    #[arg(long)]
    cycles: bool,
}

/// A help line that shows the model's default (the variant's configuration may differ).
fn with_default(doc: &str, default: u8) -> String {
    format!("{doc} [default: {default}, or the variant's own]")
}

fn variants_help() -> String {
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
    s += "\nExit status: 0 every safety and liveness property holds (reachability targets a small\nconfiguration cannot reach are listed but do not fail the run), 1 a property is violated or\nthe run timed out, 2 bad arguments.";
    s
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => {
            match check_run_args(&args.run).and_then(|()| build_config(&args.config)) {
                Ok(cfg) => run_check(cfg, &args.run),
                Err(msg) => {
                    eprintln!("error: {msg}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Traces(args) => traces_cmd::run(args),
        Command::Conform(args) => conform_cmd::run(args),
        Command::SutStdio(args) => conform_cmd::sut_stdio(args),
        Command::Differential(args) => conform_cmd::differential(args),
        Command::Explain(args) => explain_cmd::run(args),
        Command::Compare => {
            eprintln!("checking RFC 8156 failover and the RFC 6853 designs ...");
            let rows = failover_model::rfc6853::comparison();
            print!("{}", failover_model::rfc6853::render(&rows));
            println!(
                "\nSame sizes for all: 2 clients, 2 addresses, 1 server crash, 2 ticks (failover: 3 client\noperations, the RFC 6853 designs: 4). Step counts are shortest paths."
            );
            ExitCode::SUCCESS
        }
        Command::Serve(args) => serve_cmd::serve(args),
        Command::Ctl(args) => serve_cmd::ctl(args),
        Command::Explore(args) => match build_config(&args.config) {
            Ok(cfg) => explore(cfg, args.port),
            Err(msg) => {
                eprintln!("error: {msg}");
                ExitCode::from(2)
            }
        },
    }
}

fn check_run_args(a: &RunArgs) -> Result<(), String> {
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

/// `--reserve A1:c0`: a lease named as the model names it (`A<n>` an address, `P<n>` a prefix)
/// and a client (`c<n>`), checked against the configuration's sizes.
fn parse_reservation(arg: &str, cfg: &ModelConfig) -> Result<Reservation, String> {
    let bad = |why: String| {
        format!("--reserve {arg}: {why} (expected LEASE:CLIENT, e.g. A1:c0 or P0:c1)")
    };
    let (lease, client) = arg
        .split_once(':')
        .ok_or_else(|| bad("no ':' between the lease and the client".into()))?;
    let number = |s: &str, what: &str| {
        s.parse::<u8>()
            .map_err(|_| bad(format!("'{s}' is not a {what} number")))
    };
    // Addresses are leases 0..addresses, prefixes follow them (as the model numbers leases).
    let (n, what, count, first) = match lease.split_at_checked(1) {
        Some(("A", n)) => (n, "address", cfg.addresses, 0),
        Some(("P", n)) => (n, "prefix", cfg.prefixes, cfg.addresses),
        _ => return Err(bad(format!("'{lease}' is neither A<n> nor P<n>"))),
    };
    let n = number(n, what)?;
    if n >= count {
        return Err(bad(format!("the configuration has {count} {what}(es)")));
    }
    let lease = first + n;
    let client = match client.strip_prefix('c') {
        Some(n) => number(n, "client")?,
        None => return Err(bad(format!("'{client}' is not c<n>"))),
    };
    if client >= cfg.clients {
        return Err(bad(format!(
            "the configuration has {} client(s)",
            cfg.clients
        )));
    }
    Ok(Reservation { lease, client })
}

fn build_config(a: &ConfigArgs) -> Result<ModelConfig, String> {
    let mut cfg = match &a.variant {
        None if a.dns => ModelConfig::dns(),
        None if a.reservations || !a.reserve.is_empty() => ModelConfig::reservations(),
        None => ModelConfig::default(),
        Some(name) => match Variant::from_name(name) {
            Some(v) => v.config(),
            None => {
                let names: Vec<&str> = Variant::ALL.iter().map(|v| v.name()).collect();
                return Err(format!(
                    "unknown variant '{name}'; the variants are: {}",
                    names.join(", ")
                ));
            }
        },
    };
    // Sizes given on the command line override the variant's configuration.
    macro_rules! set {
        ($($f:ident),*) => {
            $(if let Some(v) = a.$f {
                cfg.$f = v;
            })*
        };
    }
    set!(
        clients,
        addresses,
        prefixes,
        mclt,
        lifetime,
        ticks,
        partitions,
        crashes,
        storage_losses,
        client_ops,
        commands
    );
    cfg.settle_ticks = match a.settle_ticks {
        Some(v) => v,
        None => cfg.settle_ticks.max(cfg.min_settle_ticks()),
    };
    if a.auto_partner_down.is_some() {
        cfg.auto_partner_down = a.auto_partner_down;
    }
    cfg.dns |= a.dns;
    if !a.reserve.is_empty() {
        cfg.reservations = a
            .reserve
            .iter()
            .map(|r| parse_reservation(r, &cfg))
            .collect::<Result<_, _>>()?;
        cfg.cancels = cfg.cancels.max(ModelConfig::reservations().cancels);
    }
    if a.reservations && cfg.reservations.is_empty() {
        let r = ModelConfig::reservations();
        cfg.reservations = r.reservations;
        cfg.cancels = r.cancels;
    }
    cfg.init = match a.init {
        InitArg::Normal => Init::Normal,
        InitArg::Fresh => Init::Fresh,
    };
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

fn run_check(cfg: ModelConfig, args: &RunArgs) -> ExitCode {
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
            "  config: {} clients, {} addresses, {} prefixes, MCLT {} ticks, lifetime {} ticks, init {:?}{}",
            cfg.clients,
            cfg.addresses,
            cfg.prefixes,
            cfg.mclt,
            cfg.lifetime,
            cfg.init,
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
                "  ... {} unique states ({} generated) in {:.0?}, {:.0} unique/s",
                p.unique,
                p.generated,
                p.elapsed,
                p.unique as f64 / p.elapsed.as_secs_f64()
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
    if let Some(dir) = &args.json {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("error: cannot create {}: {e}", dir.display());
            return ExitCode::from(2);
        }
    }
    if args.json_summary {
        let results: Vec<serde_json::Value> = outcome
            .results
            .iter()
            .map(|(n, v)| {
                let (verdict, len) = match v {
                    Verdict::Held => ("held", None),
                    Verdict::Violated(p) => ("violated", Some(p.clone().into_actions().len())),
                    Verdict::Reached(p) => ("reached", Some(p.clone().into_actions().len())),
                    Verdict::NotReached => ("not reached", None),
                };
                serde_json::json!({"property": n, "verdict": verdict, "path_length": len})
            })
            .collect();
        let v = serde_json::json!({
            "config": cfg,
            "unique_states": outcome.unique,
            "generated_states": outcome.generated,
            "max_depth": outcome.max_depth,
            "seconds": outcome.elapsed.as_secs_f64(),
            "complete": outcome.complete,
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
                " (stopped at the first violation: the other verdicts are partial)"
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
        for m in &missing {
            println!("  NOT REACHED  {m}");
        }
        if !missing.is_empty() {
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
                if let Err(e) = explain_cmd::write(&t, file, None) {
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
            }
            if let Some(dir) = &args.json {
                let file = dir.join(format!("{}.json", slug(name)));
                let body = serde_json::to_string_pretty(&render::json(&model, name, path)).unwrap();
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
    if outcome.all_ok() && cycle_path.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Serve stateright's Explorer for the model on 127.0.0.1 (never on other interfaces: it has
/// no authentication). Blocks until interrupted.
fn explore(cfg: ModelConfig, port: u16) -> ExitCode {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    // The Explorer's server panics on a port in use; say so plainly instead.
    if let Err(e) = std::net::TcpListener::bind(addr) {
        eprintln!("error: cannot listen on {addr}: {e} (another program there? try --port)");
        return ExitCode::from(2);
    }
    println!(
        "Explorer for the RFC 8156 model ({} clients, {} addresses, {} prefixes, variant {}) at http://{addr}/",
        cfg.clients,
        cfg.addresses,
        cfg.prefixes,
        cfg.variant.map_or("none", |v| v.name())
    );
    println!("Each step lists the actions enabled; the state shows what changed and the chart of the path. Ctrl-C stops.");
    let _ = std::io::stdout().flush();
    FailoverModel::new(cfg).checker().serve(addr);
    ExitCode::SUCCESS
}

fn slug(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}
