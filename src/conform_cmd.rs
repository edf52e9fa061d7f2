//! `failover conform`: replay the traces against a system under test.

use std::fs;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use failover_conformance::mapping::Compare;
use failover_conformance::runner::{self, Outcome};
use failover_conformance::stdio::Stdio;
use failover_conformance::sut::{Sut, SutConfig, SutError, SutEvent, SutObservation};
use failover_model::FailoverModel;
use failover_replay::differential;
use failover_replay::inproc::{Breakage, InProc};
use std::cell::RefCell;
use std::rc::Rc;

/// `failover conform ...`
#[derive(Args)]
#[command(group(clap::ArgGroup::new("net").args(["wire", "interop"]).multiple(true)))]
pub struct ConformArgs {
    /// The built-in system under test: `reference` is our implementation (failover-core)
    /// in-process.
    #[arg(long, default_value = "reference", conflicts_with = "sut_cmd")]
    sut: String,
    /// An external adapter program and its arguments, speaking the JSON-lines protocol of
    /// conformance/README.md on stdin/stdout. Split into words as a POSIX shell does (quotes
    /// and backslashes work: `--sut-cmd "python3 'my adapter.py' --flag"`), but run without
    /// a shell: no variables, globs or pipes.
    #[arg(long, value_name = "PROGRAM ARGS")]
    sut_cmd: Option<String>,
    /// With --sut-cmd: seconds to wait for each answer of the program. A program that does not
    /// answer in time is stopped, the trace is reported as an error (timed out), and the run
    /// goes on with the next trace on a new copy of the program.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    request_timeout: f64,
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
    /// Wire-level conformance: test a running RFC 8156 server over the network; the harness
    /// is its partner over TCP and its DHCPv6 clients over UDP (conformance/README.md, "Test
    /// your server over the network").
    #[arg(long)]
    wire: bool,
    /// With --wire: the TOML file describing the server under test (role, addresses, MCLT,
    /// keepalive, pool, lifetime). --role, --target, --listen and --dhcp override its fields.
    #[arg(long, value_name = "FILE", requires = "net")]
    sut_config: Option<PathBuf>,
    /// With --wire: the role of the server under test (primary or secondary).
    #[arg(long, requires = "net")]
    role: Option<String>,
    /// With --wire and --role secondary: the server's partner address, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", requires = "net")]
    target: Option<std::net::SocketAddr>,
    /// With --wire and --role primary: where the harness listens for the server (its
    /// configured partner address), HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", requires = "net")]
    listen: Option<std::net::SocketAddr>,
    /// With --wire: the server's DHCPv6 address (UDP), for the tests that play clients.
    #[arg(long, value_name = "HOST:PORT", requires = "net")]
    dhcp: Option<std::net::SocketAddr>,
    /// With --wire: write every octet exchanged with the server as a pcap file (Wireshark).
    #[arg(long, value_name = "FILE", requires = "net")]
    pcap: Option<PathBuf>,
    /// With --wire: a shell command that crashes the server (no orderly shutdown: SIGKILL)
    /// and starts it again, for the tests of what must survive a crash (7.5.2). Without it
    /// those are reported as not wire-testable.
    #[arg(long, value_name = "CMD", requires = "net")]
    sut_restart: Option<String>,
    /// With --wire: start the server(s) under test with this shell command, `--jobs` instances
    /// with ports of their own, and share the tests among them. `{port}` is the partner port,
    /// `{dhcp}` the DHCPv6 port, `{dir}` an empty folder for the instance, `{config}` the
    /// tester's TOML for it. The command runs the server in the foreground (`exec` it from a
    /// wrapper); it is killed at the end, and killed and started again for the crash tests.
    #[arg(long, value_name = "CMD", requires = "wire", conflicts_with_all = ["sut_restart"])]
    sut_start: Option<String>,
    /// With --wire: speak STARTTLS and TLS to a server whose partner link requires it (RFC 8156
    /// §10): the harness's certificate (PEM; chain first), as `tls.cert` of `failover serve`.
    #[arg(long, value_name = "FILE", requires_all = ["wire", "tls_key"])]
    tls_cert: Option<PathBuf>,
    /// With --tls-cert: the harness's private key (PEM), as `tls.key`.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// With --tls-cert: the CA certificates (PEM) the server's certificate must chain to, as
    /// `tls.ca`; its subjectAltName must hold the server's IP address (or --tls-partner-name).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_cert",
        conflicts_with = "tls_partner_cert"
    )]
    tls_ca: Option<PathBuf>,
    /// With --tls-cert: the server's own self-signed certificate (PEM), pinned, as
    /// `tls.partner_cert`.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_partner_cert: Option<PathBuf>,
    /// With --tls-ca: the DNS name the server's certificate must carry, as `tls.partner_name`.
    #[arg(long, value_name = "NAME", requires = "tls_ca")]
    tls_partner_name: Option<String>,
    /// Interop mode: our `failover serve` runs as the real partner of the server under test
    /// (--sut-config, as for --wire: its role, DHCPv6 address, MCLT, pool, lifetime), through a
    /// relay of the harness that cuts and heals their connection; the harness plays DHCPv6
    /// clients against both and judges the safety properties (no address held by two clients,
    /// the MCLT bound, NORMAL again) over a seeded schedule of partitions and restarts
    /// (conformance/README.md, "Interop mode").
    #[arg(long, conflicts_with_all = ["wire", "sut_start", "tls_cert"])]
    interop: bool,
    /// With --interop: rounds in the schedule.
    #[arg(long, default_value_t = 6, requires = "interop")]
    rounds: u32,
    /// With --interop: the schedule's seed (the same seed, the same schedule).
    #[arg(long, default_value_t = 1, requires = "interop")]
    seed: u64,
    /// With --interop: new clients per server per round.
    #[arg(long, default_value_t = 2, requires = "interop")]
    clients: u32,
    /// With --interop: seconds each round lasts (a partition lasts this long); default: twice
    /// the MCLT plus the keepalive, at least 4.
    #[arg(long, value_name = "SECONDS", requires = "interop")]
    round_seconds: Option<f64>,
    /// With --interop: the longest wait, seconds, for the pair to be in NORMAL (at the start,
    /// after each round).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 30.0,
        requires = "interop"
    )]
    settle_seconds: f64,
    /// With --interop: keep our server's files (configuration, log, database) in this folder.
    #[arg(long, value_name = "DIR", requires = "interop")]
    partner_dir: Option<PathBuf>,
    /// With --sut-start: how many instances to run at once.
    #[arg(long, default_value_t = 2, requires = "sut_start")]
    jobs: usize,
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
    /// Run against an external adapter program instead of our implementation (as `conform
    /// --sut-cmd`: shell-word splitting, the JSON-lines protocol of conformance/README.md), so
    /// that an implementation gets fresh random paths, not only the corpus.
    #[arg(long, value_name = "PROGRAM ARGS")]
    sut_cmd: Option<String>,
    /// With --sut-cmd: seconds to wait for each answer of the program.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    request_timeout: f64,
    /// Save the minimal disagreement as a trace (traces/README.md format) in this folder,
    /// created if needed, to replay with `conform --traces DIR --only ID` or draw with `explain`.
    #[arg(long, value_name = "DIR")]
    save: Option<PathBuf>,
    /// Test only: a deliberately broken implementation (as `conform --broken`).
    #[arg(long, hide = true)]
    broken: Option<String>,
}

/// Split a `--sut-cmd` as a POSIX shell splits words, and start the program.
fn spawn_sut_cmd(cmd: &str, timeout_secs: f64) -> Result<Stdio, String> {
    if !(timeout_secs > 0.0 && timeout_secs.is_finite()) {
        return Err("--request-timeout must be a positive number of seconds".into());
    }
    let words = shell_words::split(cmd).map_err(|e| format!("--sut-cmd {cmd:?}: {e}"))?;
    let (program, args) = words
        .split_first()
        .ok_or_else(|| "--sut-cmd is empty".to_string())?;
    Stdio::spawn_with_timeout(program, args, Duration::from_secs_f64(timeout_secs))
        .map_err(|e| e.to_string())
}

/// One adapter program shared by every differential case (each case begins with `start`).
struct Shared(Rc<RefCell<Stdio>>);

impl Sut for Shared {
    fn name(&self) -> String {
        self.0.borrow().name()
    }
    fn start(&mut self, cfg: &SutConfig) -> Result<SutObservation, SutError> {
        self.0.borrow_mut().start(cfg)
    }
    fn apply(&mut self, time: u64, event: &SutEvent) -> Result<SutObservation, SutError> {
        self.0.borrow_mut().apply(time, event)
    }
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
    if let Some(dir) = &a.save {
        if let Err(e) = fs::create_dir_all(dir) {
            eprintln!(
                "error: --save {}: cannot create the folder: {e}",
                dir.display()
            );
            return ExitCode::from(2);
        }
    }
    let (against, make): (String, Box<dyn Fn() -> Box<dyn Sut>>) = match &a.sut_cmd {
        Some(cmd) => match spawn_sut_cmd(cmd, a.request_timeout) {
            Ok(s) => {
                let name = s.name();
                let shared = Rc::new(RefCell::new(s));
                (
                    name,
                    Box::new(move || -> Box<dyn Sut> { Box::new(Shared(shared.clone())) }),
                )
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        None => (
            reference(breakage).name(),
            Box::new(move || -> Box<dyn Sut> { Box::new(reference(breakage)) }),
        ),
    };
    eprintln!(
        "differential: {} random paths of up to {} steps in the {} configuration (seed {}) against {against}",
        a.tests, a.size, a.config, a.seed
    );
    let t0 = Instant::now();
    let (cases, found) = differential::run(&opts, make);
    let secs = t0.elapsed().as_secs_f64();
    match found {
        None => {
            println!("{cases} cases, every one agreed with the model ({secs:.2} s)");
            ExitCode::SUCCESS
        }
        Some(d) => {
            let schedule: Vec<String> = d.schedule.0.iter().map(|x| x.to_string()).collect();
            println!(
                "DISAGREEMENT after {cases} cases (shrinking included, {secs:.2} s); minimal case: {} steps, schedule [{}]",
                d.actions.len(),
                schedule.join(" ")
            );
            let model = FailoverModel::new(config.clone());
            println!("model actions:");
            for (k, act) in d.actions.iter().enumerate() {
                println!("  {:>3}. {}", k + 1, model.describe(act));
            }
            println!();
            print!("{}", d.explanation);
            if let Some(dir) = &a.save {
                let mut t = differential::trace_of(&model, &d.schedule).trace;
                t.id = format!("differential-{}-seed-{}", a.config, a.seed);
                let file = dir.join(failover_trace::file_name(&t));
                if let Err(e) = fs::write(&file, failover_trace::to_text(&t)) {
                    eprintln!("error: cannot write {}: {e}", file.display());
                    return ExitCode::from(2);
                }
                println!(
                    "\n(the minimal case saved as a trace: {}; replay it with `failover conform --traces {} --only {}`)",
                    file.display(),
                    dir.display(),
                    t.id
                );
            }
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
    if a.interop {
        let cfg = match wire_config(&a) {
            Ok(c) => c,
            Err(code) => return code,
        };
        return crate::interop_cmd::run(crate::interop_cmd::Interop {
            cfg,
            rounds: a.rounds,
            seed: a.seed,
            clients: a.clients,
            round_seconds: a.round_seconds,
            settle_seconds: a.settle_seconds,
            partner_dir: a.partner_dir,
            sut_restart: a.sut_restart,
            json: a.json,
            report: a.report,
            pcap: a.pcap,
        });
    }
    if a.wire {
        return run_wire(a);
    }
    // Every file that does not load is named (with its field); the others still run.
    let (traces, bad) = match runner::scan_dir(&a.traces) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for b in &bad {
        eprintln!("error: {b}");
    }
    let mut traces = runner::filter_tags(traces, &a.tags);
    if let Some(o) = &a.only {
        traces.retain(|t| t.trace.id.contains(o.as_str()));
    }
    if traces.is_empty() {
        let mut filters = Vec::new();
        if !a.tags.is_empty() {
            filters.push(format!("carries the tags {}", a.tags.join(", ")));
        }
        if let Some(o) = &a.only {
            filters.push(format!("has an id containing {o:?}"));
        }
        if filters.is_empty() {
            eprintln!("error: no trace in {} loads", a.traces.display());
        } else {
            eprintln!(
                "error: no trace in {} {}",
                a.traces.display(),
                filters.join(" and ")
            );
        }
        return ExitCode::from(2);
    }
    let mut sut: Box<dyn Sut> = match (&a.sut_cmd, a.sut.as_str()) {
        (Some(cmd), _) => match spawn_sut_cmd(cmd, a.request_timeout) {
            Ok(s) => Box::new(s),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
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
    let mut last_line = Instant::now();
    let results = runner::run_all(sut.as_mut(), &traces, cmp, |k, r| {
        let word = match r.outcome {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "FAIL",
            Outcome::Error { .. } => "ERROR",
        };
        // A progress line rewritten in place on a terminal; in a log (CI), a line for every
        // trace that does not pass, and one every few seconds, so that a slow run shows it
        // is alive and where it is.
        if tty {
            eprint!("\r[{}/{n}] {word:<5} {:<70}", k + 1, r.id);
            let _ = std::io::stderr().flush();
        } else if !r.passed() || last_line.elapsed() >= PROGRESS_EVERY || k + 1 == n {
            last_line = Instant::now();
            eprintln!("[{}/{n}] {word:<5} {}", k + 1, r.id);
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
    if !bad.is_empty() {
        eprintln!(
            "error: {} file(s) in {} are not traces that load (named above); the {} that load were run",
            bad.len(),
            a.traces.display(),
            results.len()
        );
    }
    if failed.is_empty() && bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// How often `conform` writes a progress line when standard error is not a terminal.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The SUT's configuration of `--wire` and `--interop`: `--sut-config`, then the overrides
/// (`--role`, `--target`, `--listen`, `--dhcp`).
pub(crate) fn wire_config(
    a: &ConformArgs,
) -> Result<failover_conformance::wire::WireConfig, ExitCode> {
    use failover_conformance::wire::WireConfig;
    let mut cfg = match &a.sut_config {
        Some(path) => match WireConfig::load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return Err(ExitCode::from(2));
            }
        },
        None => {
            eprintln!(
                "error: --wire and --interop need --sut-config FILE: the MCLT, keepalive, pool and lifetime the \
                 server was started with (conformance/README.md, \"Test your server over the network\")"
            );
            return Err(ExitCode::from(2));
        }
    };
    if let Some(r) = &a.role {
        cfg.role = match r.as_str() {
            "primary" => failover_proto::Role::Primary,
            "secondary" => failover_proto::Role::Secondary,
            other => {
                eprintln!("error: --role {other:?}: expected primary or secondary");
                return Err(ExitCode::from(2));
            }
        };
    }
    if a.target.is_some() {
        cfg.target = a.target;
    }
    if a.listen.is_some() {
        cfg.listen = a.listen;
    }
    if a.dhcp.is_some() {
        cfg.dhcp = a.dhcp;
    }
    if let Err(e) = cfg.check() {
        eprintln!("error: {e}");
        return Err(ExitCode::from(2));
    }
    Ok(cfg)
}

/// The harness's TLS from `--tls-*`, loaded by `failover serve`'s own `[tls]` code (the same
/// checks: a CA and the partner's name, or a pinned certificate; mutual authentication), for the
/// role the harness plays opposite the SUT. The SUT's address is `target` (SUT secondary) or
/// `listen` (SUT primary: it connects from that host).
fn wire_tls(
    a: &ConformArgs,
    cfg: &failover_conformance::wire::WireConfig,
) -> Result<Option<failover_conformance::wire::tls::WireTls>, String> {
    use failover_conformance::wire::tls::WireTls;
    use failover_daemon::config::{TlsConfig, TlsTrust};
    use failover_daemon::tls::PartnerTls;
    let (Some(cert), Some(key)) = (&a.tls_cert, &a.tls_key) else {
        return Ok(None);
    };
    let trust = match (&a.tls_ca, &a.tls_partner_cert) {
        (Some(ca), None) => TlsTrust::Ca(ca.clone()),
        (None, Some(pin)) => TlsTrust::Pin(pin.clone()),
        _ => {
            return Err(
                "--tls-cert needs one of --tls-ca (the CA of the server's certificate) or \
                 --tls-partner-cert (its pinned self-signed certificate)"
                    .into(),
            )
        }
    };
    let tls_cfg = TlsConfig {
        cert: cert.clone(),
        key: key.clone(),
        trust,
        partner_name: a.tls_partner_name.clone(),
    };
    let (harness, sut_addr) = match cfg.role {
        failover_proto::Role::Secondary => (failover_proto::Role::Primary, cfg.target),
        failover_proto::Role::Primary => (failover_proto::Role::Secondary, cfg.listen),
    };
    let sut_ip = sut_addr
        .map(|a| a.ip())
        .ok_or("TLS needs the server's address (target or listen)")?;
    let loaded = PartnerTls::load(&tls_cfg, harness, sut_ip).map_err(|e| {
        // serve's field names (`tls.partner_cert`) as this command's options.
        let option = format!("--{}", e.field.replace("tls.", "tls-").replace('_', "-"));
        format!("TLS: {option}: {}", e.message)
    })?;
    for w in &loaded.warnings {
        eprintln!("warning: TLS: {w}");
    }
    Ok(Some(
        match (loaded.client_config(), loaded.server_config()) {
            (Some((config, name)), _) => WireTls::Client { config, name },
            (None, Some(config)) => WireTls::Server(config),
            (None, None) => return Err("TLS: no configuration for the harness's role".into()),
        },
    ))
}

/// `failover conform --wire`: the wire tests against a running server.
fn run_wire(a: ConformArgs) -> ExitCode {
    use failover_conformance::wire::{self, Ctx};
    let cfg = match wire_config(&a) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let name = match (cfg.role, cfg.target, cfg.listen) {
        (failover_proto::Role::Secondary, Some(t), _) => format!("secondary at {t}"),
        (_, _, Some(l)) => format!("primary connecting to {l}"),
        _ => "the server".to_string(),
    };
    let tls = match wire_tls(&a, &cfg) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(cmd) = &a.sut_start {
        eprintln!(
            "wire tests against {} instance(s) started by {cmd:?}",
            a.jobs
        );
        let t0 = Instant::now();
        let opts = wire::StartedOptions {
            tls: tls.clone(),
            pcap_dir: a.pcap.clone(),
        };
        let results =
            match wire::run_started_with(&cfg, cmd, a.jobs, a.only.as_deref(), &opts, |r| {
                eprintln!("  {:<30} {:.1} s  {:?}", r.id, r.seconds, r.verdict);
            }) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
        // --pcap was a folder of captures, one per test, written as the tests ran.
        return finish_wire(&a, &format!("{name} (--sut-start)"), &results, t0, None);
    }
    let mut ctx = match Ctx::new(cfg) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    ctx.tls = tls;
    ctx.restart = a.sut_restart.clone().map(sut_restart);
    eprintln!("wire tests against the {name}");
    let t0 = Instant::now();
    let results = wire::run(&mut ctx, a.only.as_deref(), |r| {
        eprintln!("  {:<30} {:.1} s  {:?}", r.id, r.seconds, r.verdict);
    });
    finish_wire(&a, &name, &results, t0, Some(&ctx))
}

/// Reports, capture and exit status of `conform --wire`.
fn finish_wire(
    a: &ConformArgs,
    name: &str,
    results: &[failover_conformance::wire::WireResult],
    t0: Instant,
    ctx: Option<&failover_conformance::wire::Ctx>,
) -> ExitCode {
    use failover_conformance::wire;
    let name = name.to_string();
    let results = results.to_vec();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&wire::json_report(&name, &results)).unwrap_or_default()
        );
    } else {
        print!("{}", wire::summary(&name, &results));
    }
    eprintln!(
        "{} tests in {:.1} s",
        results.len(),
        t0.elapsed().as_secs_f64()
    );
    if let Some(p) = &a.report {
        if let Err(e) = fs::write(p, wire::junit_report(&name, &results)) {
            eprintln!("error: cannot write {}: {e}", p.display());
            return ExitCode::from(2);
        }
    }
    if let (Some(p), Some(ctx)) = (&a.pcap, ctx) {
        match wire::pcap(ctx) {
            Ok(bytes) => {
                if let Err(e) = fs::write(p, bytes) {
                    eprintln!("error: cannot write {}: {e}", p.display());
                    return ExitCode::from(2);
                }
            }
            Err(e) => {
                eprintln!("error: the capture: {e}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::from(wire::exit_code(&results))
}

/// `--sut-restart CMD`: the SUT's restart, as the shell runs `CMD`; an error names the command.
pub(crate) fn sut_restart(cmd: String) -> Box<dyn FnMut() -> Result<(), String>> {
    Box::new(move || {
        let st = std::process::Command::new("sh")
            .args(["-c", &cmd])
            .status()
            .map_err(|e| format!("--sut-restart {cmd:?}: {e}"))?;
        if st.success() {
            Ok(())
        } else {
            Err(format!("--sut-restart {cmd:?} exited with {st}"))
        }
    })
}
