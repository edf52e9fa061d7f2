//! `failover`: the command line of the RFC 8156 failover suite.
//!
//! `failover check` runs the exhaustive model checker; see `failover check --help`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use failover_model::check::{self, CheckOptions, Verdict};
use failover_model::{properties, render, FailoverModel, Init, ModelConfig, Variant};

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
    /// Number of clients (1-4).
    #[arg(long, default_value_t = ModelConfig::default().clients)]
    clients: u8,
    /// Number of IPv6 addresses (independent allocation; odd ones belong to the primary).
    #[arg(long, default_value_t = ModelConfig::default().addresses)]
    addresses: u8,
    /// Number of delegable prefixes (proportional allocation).
    #[arg(long, default_value_t = ModelConfig::default().prefixes)]
    prefixes: u8,
    /// Maximum Client Lead Time, in ticks.
    #[arg(long, default_value_t = ModelConfig::default().mclt)]
    mclt: u8,
    /// Desired valid lifetime, in ticks.
    #[arg(long, default_value_t = ModelConfig::default().lifetime)]
    lifetime: u8,
    /// Clock budget of the fault phase, in ticks.
    #[arg(long, default_value_t = ModelConfig::default().ticks)]
    ticks: u8,
    /// Clock budget of the settle phase (after faults stop), in ticks.
    #[arg(long, default_value_t = ModelConfig::default().settle_ticks)]
    settle_ticks: u8,
    /// Network partitions that may happen.
    #[arg(long, default_value_t = ModelConfig::default().partitions)]
    partitions: u8,
    /// Crashes (restart from stable storage) that may happen.
    #[arg(long, default_value_t = ModelConfig::default().crashes)]
    crashes: u8,
    /// Crashes that lose stable storage.
    #[arg(long, default_value_t = ModelConfig::default().storage_losses)]
    storage_losses: u8,
    /// Client operations (request, renew, rebind, release, decline).
    #[arg(long, default_value_t = ModelConfig::default().client_ops)]
    client_ops: u8,
    /// Operator commands (PARTNER-DOWN, reset of an abandoned lease).
    #[arg(long, default_value_t = ModelConfig::default().commands)]
    commands: u8,
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
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
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
        s += &format!("  {:<36} {}\n  {:<36} {}\n", v.name(), v.description(), "", breaks);
    }
    s += "\nExit status: 0 every property holds, 1 a property is violated (or a state is unreachable, or the run timed out), 2 bad arguments.";
    s
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => match build_config(&args) {
            Ok(cfg) => run_check(cfg, &args),
            Err(msg) => {
                eprintln!("error: {msg}");
                ExitCode::from(2)
            }
        },
    }
}

fn build_config(a: &CheckArgs) -> Result<ModelConfig, String> {
    let mut cfg = match &a.variant {
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
    let d = ModelConfig::default();
    // Explicit sizes override the variant's configuration; defaults leave it alone.
    macro_rules! set {
        ($f:ident) => {
            if a.$f != d.$f {
                cfg.$f = a.$f;
            }
        };
    }
    set!(clients);
    set!(addresses);
    set!(prefixes);
    set!(mclt);
    set!(lifetime);
    set!(ticks);
    set!(settle_ticks);
    set!(partitions);
    set!(crashes);
    set!(storage_losses);
    set!(client_ops);
    set!(commands);
    if a.auto_partner_down.is_some() {
        cfg.auto_partner_down = a.auto_partner_down;
    }
    cfg.init = match a.init {
        InitArg::Normal => Init::Normal,
        InitArg::Fresh => Init::Fresh,
    };
    if a.threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

fn run_check(cfg: ModelConfig, args: &CheckArgs) -> ExitCode {
    let model = FailoverModel::new(cfg.clone());
    let opts = CheckOptions {
        threads: args.threads,
        symmetry: !args.no_symmetry,
        timeout: args.timeout.map(Duration::from_secs),
        progress_every: Duration::from_secs(5),
        stop_when: args.stop_on_violation.then_some(stateright::HasDiscoveries::AnyFailures),
    };
    if !args.json_summary {
        println!("RFC 8156 failover model: exhaustive check (DFS{})", if opts.symmetry { ", client symmetry" } else { "" });
        println!(
            "  config: {} clients, {} addresses, {} prefixes, MCLT {} ticks, lifetime {} ticks, init {:?}",
            cfg.clients, cfg.addresses, cfg.prefixes, cfg.mclt, cfg.lifetime, cfg.init
        );
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
            } else if args.stop_on_violation {
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
                Verdict::Violated(p) => println!("  VIOLATED  {name}  (counterexample: {} steps)", p.clone().into_actions().len()),
                _ => {}
            }
        }
        let reached: Vec<_> = outcome.results.iter().filter(|(n, v)| properties::is_reachability(n) && matches!(v, Verdict::Reached(_))).collect();
        let missing: Vec<_> = outcome.results.iter().filter(|(_, v)| matches!(v, Verdict::NotReached)).map(|(n, _)| *n).collect();
        println!("\nReachability: {} of {} reached", reached.len(), properties::REACHABILITY.len());
        for m in &missing {
            println!("  NOT REACHED  {m}");
        }
    }
    let mut stdout = std::io::stdout();
    for (name, v) in &outcome.results {
        if let Verdict::Violated(path) = v {
            if !args.json_summary {
                let _ = writeln!(stdout, "\nCounterexample for \"{name}\":\n{}", render::steps(&model, path));
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
    if outcome.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn slug(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}
