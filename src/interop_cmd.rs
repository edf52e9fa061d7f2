//! `failover conform --interop`: our `failover serve` as the real partner of the server under
//! test, through a relay that partitions them; safety properties judged from the clients' replies
//! and our database (conformance/src/wire/interop.rs, conformance/README.md "Interop mode").

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use failover_conformance::wire::{self, interop, WireConfig};

/// The options of `conform --interop`, gathered by conform_cmd.
pub struct Interop {
    pub cfg: WireConfig,
    pub rounds: u32,
    pub seed: u64,
    pub clients: u32,
    pub round_seconds: Option<f64>,
    pub settle_seconds: f64,
    pub partner_dir: Option<PathBuf>,
    pub sut_restart: Option<String>,
    pub json: bool,
    pub report: Option<PathBuf>,
    pub pcap: Option<PathBuf>,
}

fn seconds(name: &str, v: f64) -> Result<Duration, String> {
    if v.is_finite() && v > 0.0 && v < 86_400.0 {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(format!(
            "{name} {v}: expected a positive number of seconds below a day"
        ))
    }
}

/// Run it; exit 0 every property holds, 1 one is violated, 2 the harness could not run.
pub fn run(a: Interop) -> ExitCode {
    match run_inner(a) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_inner(a: Interop) -> Result<ExitCode, String> {
    if a.cfg.dhcp.is_none() {
        return Err("--interop plays DHCPv6 clients against the server: give its DHCPv6 address (--dhcp or `dhcp` in --sut-config)".into());
    }
    if a.rounds == 0 || a.rounds > 1000 || a.clients > 1000 {
        return Err("--rounds must be 1 to 1000 and --clients at most 1000".into());
    }
    // Written before the run, so that a bad path does not waste it.
    for p in [&a.report, &a.pcap].into_iter().flatten() {
        fs::write(p, b"").map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    let default_round = (2.0 * f64::from(a.cfg.mclt) + f64::from(a.cfg.keepalive)).max(4.0);
    let round_time = seconds("--round-seconds", a.round_seconds.unwrap_or(default_round))?;
    let settle = seconds("--settle-seconds", a.settle_seconds)?;
    let serve_bin = std::env::current_exe()
        .map_err(|e| format!("cannot find the failover program to run `failover serve`: {e}"))?;
    let (work_dir, keep) = match &a.partner_dir {
        Some(d) => (d.clone(), true),
        None => (
            std::env::temp_dir().join(format!("failover-interop-{}", std::process::id())),
            false,
        ),
    };
    let sut_restart = a.sut_restart.clone().map(crate::conform_cmd::sut_restart);
    let name = match a.cfg.dhcp {
        Some(d) => format!("the {} at {d} (DHCPv6)", a.cfg.role),
        None => "the server".into(),
    };
    let schedule = interop::schedule(a.rounds, a.seed, sut_restart.is_some());
    eprintln!(
        "interop with {name}: seed {}, schedule {:?}, {:.1} s per round",
        a.seed,
        schedule,
        round_time.as_secs_f64()
    );
    let t0 = Instant::now();
    let run = interop::run(
        &a.cfg,
        interop::InteropOptions {
            serve_bin,
            rounds: a.rounds,
            seed: a.seed,
            clients: a.clients,
            round_time,
            settle,
            sut_restart,
            work_dir,
            keep,
        },
    )?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&interop::json_report(&name, &run)).unwrap_or_default()
        );
    } else {
        print!("{}", interop::summary(&name, &run));
    }
    eprintln!("interop run in {:.1} s", t0.elapsed().as_secs_f64());
    if let Some(p) = &a.report {
        fs::write(p, wire::junit_report(&name, &run.results))
            .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    if let Some(p) = &a.pcap {
        let bytes = run.pcap().map_err(|e| format!("the capture: {e}"))?;
        fs::write(p, bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    Ok(ExitCode::from(wire::exit_code(&run.results)))
}
