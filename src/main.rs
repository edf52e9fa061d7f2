//! `failover`: the command line of the RFC 8156 failover suite.
//!
//! `failover check` runs the exhaustive model checker; see `failover check --help`.

use std::io::Write;
use std::process::ExitCode;

mod check_cmd;
mod conform_cmd;
mod explain_cmd;
mod huge_pages;
mod interop_cmd;
mod pcap_chart;
mod scenarios_cmd;
mod serve_cmd;
mod traces_cmd;

use clap::{Parser, Subcommand, ValueEnum};
use failover_model::{FailoverModel, Init, ModelConfig, Reservation, Variant};
use stateright::Model;

/// The system allocator; `failover check` has it ask for huge pages for its large tables.
#[global_allocator]
static ALLOCATOR: huge_pages::Allocator = huge_pages::Allocator;

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
    #[command(after_help = check_cmd::variants_help())]
    Check(CheckArgs),
    /// Generate, check or export the conformance traces (traces/README.md).
    Traces(traces_cmd::TracesArgs),
    /// Replay the conformance traces against an implementation (conformance/README.md).
    Conform(conform_cmd::ConformArgs),
    /// Run the hand-written RFC scenarios (conformance/scenarios/) against failover-core
    /// in-process: one endpoint, a given state, one event, the outcome the RFC text requires.
    Scenarios(scenarios_cmd::ScenariosArgs),
    /// Serve our implementation over the conformance JSON-lines protocol on stdin/stdout: the
    /// known-good other end for an adapter being written (conformance/README.md).
    SutStdio(conform_cmd::SutStdioArgs),
    /// Differential test: random paths through the model replayed against our implementation,
    /// the first disagreement shrunk by quickcheck to a minimal case (conformance/README.md).
    Differential(conform_cmd::DifferentialArgs),
    /// Draw a trace as a message-sequence chart: Mermaid text, SVG or HTML.
    Explain(explain_cmd::ExplainArgs),
    /// Step through the model in stateright's Explorer, in a browser (127.0.0.1 only).
    #[command(after_help = check_cmd::variants_list())]
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
    /// The port to serve on, on 127.0.0.1 (0: any free port, printed).
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
    run: check_cmd::RunArgs,
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
    /// variant, starts from the DNS configuration (1 client, 2 addresses, no prefixes).
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

/// The configuration options as given on the command line, for a command that must build the
/// same configuration (`check` prints the `explore` command that opens its counterexample).
fn config_flags(a: &ConfigArgs) -> String {
    let mut v: Vec<String> = Vec::new();
    if let Some(n) = &a.variant {
        v.push(format!("--variant {n}"));
    }
    macro_rules! flag {
        ($($f:ident),*) => {
            $(if let Some(x) = a.$f {
                v.push(format!("--{} {x}", stringify!($f).replace('_', "-")));
            })*
        };
    }
    flag!(
        clients,
        addresses,
        prefixes,
        mclt,
        lifetime,
        ticks,
        settle_ticks,
        partitions,
        crashes,
        storage_losses,
        client_ops,
        commands,
        auto_partner_down
    );
    if matches!(a.init, InitArg::Fresh) {
        v.push("--init fresh".into());
    }
    if a.dns {
        v.push("--dns".into());
    }
    if a.reservations {
        v.push("--reservations".into());
    }
    for r in &a.reserve {
        v.push(format!("--reserve {r}"));
    }
    v.join(" ")
}

/// A help line that shows the model's default (the variant's configuration may differ).
fn with_default(doc: &str, default: u8) -> String {
    format!("{doc} [default: {default}, or the variant's own]")
}

/// Die quietly of SIGPIPE when the reader of our output goes away (`failover check | head -1`),
/// as command-line tools do, instead of panicking on the next `println!`.
fn restore_sigpipe() {
    #[cfg(unix)]
    {
        extern "C" {
            fn signal(signum: i32, handler: usize) -> usize;
        }
        const SIGPIPE: i32 = 13;
        const SIG_DFL: usize = 0;
        // SAFETY: setting the default disposition of one signal, before any thread starts.
        unsafe {
            signal(SIGPIPE, SIG_DFL);
        }
    }
}

/// `failover serve` is a server: a partner that goes away while we write to it must cost the
/// connection (RFC 8156 §6.1: communications interrupted), never the process. tokio-rustls writes
/// with writev(2), which, unlike the send(2) with MSG_NOSIGNAL of plain sockets, raises SIGPIPE
/// on a closed connection: with the default disposition of [`restore_sigpipe`] a TLS partner
/// that disconnected mid-write killed the server (exit 141; found by the wire suite over TLS,
/// tests/daemon_loopback/wire_tls.rs). Ignored, the write fails with EPIPE like any other.
fn ignore_sigpipe() {
    #[cfg(unix)]
    {
        extern "C" {
            fn signal(signum: i32, handler: usize) -> usize;
        }
        const SIGPIPE: i32 = 13;
        const SIG_IGN: usize = 1;
        // SAFETY: setting the disposition of one signal, before the server starts its threads.
        unsafe {
            signal(SIGPIPE, SIG_IGN);
        }
    }
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => {
            huge_pages::enable();
            match check_cmd::check_run_args(&args.run).and_then(|()| build_config(&args.config)) {
                Ok(cfg) => check_cmd::run_check(cfg, &args.run, &config_flags(&args.config)),
                Err(msg) => {
                    eprintln!("error: {msg}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Traces(args) => traces_cmd::run(args),
        Command::Conform(args) => conform_cmd::run(args),
        Command::Scenarios(args) => scenarios_cmd::run(args),
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
        Command::Serve(args) => {
            ignore_sigpipe();
            serve_cmd::serve(args)
        }
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

/// Serve stateright's Explorer for the model on 127.0.0.1 (never on other interfaces: it has
/// no authentication). Blocks until interrupted.
fn explore(cfg: ModelConfig, port: u16) -> ExitCode {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    // The Explorer's server panics on a port in use; say so plainly instead. With port 0 the
    // system picks a free port: serve on that one, and print it.
    let addr = match std::net::TcpListener::bind(addr).and_then(|l| l.local_addr()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e} (another program there? try --port)");
            return ExitCode::from(2);
        }
    };
    println!(
        "Explorer for the RFC 8156 model ({} clients, {} addresses, {} prefixes, variant {}) at http://{addr}/",
        cfg.clients,
        cfg.addresses,
        cfg.prefixes,
        cfg.variant.map_or("none", |v| v.name())
    );
    println!("Each step lists the actions enabled; the state shows what changed and the chart of the path. Ctrl-C stops.");
    let _ = std::io::stdout().flush();
    FailoverModel::for_explorer(cfg).checker().serve(addr);
    ExitCode::SUCCESS
}
