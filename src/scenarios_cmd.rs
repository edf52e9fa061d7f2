//! `failover scenarios`: the hand-written RFC scenarios of `conformance/scenarios/` run against
//! failover-core in-process (conformance/scenarios/README.md), or with `--wire` against real
//! servers the harness starts, one per case (conformance/README.md "Scenarios over the wire").

use std::path::PathBuf;
use std::process::ExitCode;

use failover_conformance::scenario::{self, Outcome};
use failover_conformance::wire::scenario::WireScenarios;
use failover_replay::scenario_core::CoreTarget;

#[derive(clap::Args)]
pub(crate) struct ScenariosArgs {
    /// The folder of scenario files (*.toml).
    #[arg(long, default_value = "conformance/scenarios")]
    dir: PathBuf,
    /// Run only the cases whose id starts with this (e.g. `7.5.4-figure4` or one full id).
    #[arg(long, value_name = "ID")]
    only: Option<String>,
    /// Print the results as JSON on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Also write a JUnit XML report here (a deviation by a reading is a skipped test case).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Run the cases over the wire against a real server, started afresh for each case by
    /// --sut-start (failover_conformance::wire::scenario: the recipe).
    #[arg(long, requires = "sut_start")]
    wire: bool,
    /// With --wire: the shell command that starts one server under test in the foreground;
    /// `{port}` its partner port, `{dhcp}` its DHCPv6 port, `{dir}` an empty folder, `{config}`
    /// the case's configuration (TOML). For `failover serve`:
    /// "scripts/scenario-sut-failover.sh {config} {dir}".
    #[arg(long, value_name = "CMD", requires = "wire")]
    sut_start: Option<String>,
    /// With --wire: the shell command that gives the server an operator command (`{dir}` its
    /// folder, `{command}` partner-down or shutdown); without it, cases that need one are not
    /// wire-testable.
    #[arg(long, value_name = "CMD", requires = "wire")]
    sut_ctl: Option<String>,
    /// With --wire: how many cases (each with a server of its own) run at once.
    #[arg(long, default_value_t = 1, requires = "wire")]
    jobs: usize,
}

/// Exit status: 0 when every case passed or deviates by a named reading; 1 when a case failed,
/// could not be set up, or a file did not load; 2 for bad arguments (unreadable folder, an
/// `--only` that selects nothing).
pub(crate) fn run(args: ScenariosArgs) -> ExitCode {
    let (files, bad) = match scenario::load_dir(&args.dir) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for b in &bad {
        eprintln!("error: {b}");
    }
    let mut core = CoreTarget::default();
    let mut wire_target;
    let target: &mut dyn scenario::ScenarioTarget = match &args.sut_start {
        Some(cmd) if args.wire => {
            wire_target = WireScenarios::new(cmd.clone(), args.sut_ctl.clone());
            &mut wire_target
        }
        _ => &mut core,
    };
    let results = match &args.sut_start {
        Some(cmd) if args.wire => failover_conformance::wire::scenario::run_parallel(
            cmd,
            args.sut_ctl.as_deref(),
            &files,
            args.only.as_deref(),
            args.jobs,
        ),
        _ => scenario::run(target, &files, args.only.as_deref()),
    };
    if results.is_empty() && bad.is_empty() {
        eprintln!(
            "error: no case id starts with {:?}",
            args.only.as_deref().unwrap_or("")
        );
        return ExitCode::from(2);
    }
    let name = target.name();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&scenario::json_report(&name, &results))
                .expect("JSON of plain data")
        );
    } else {
        print!("{}", scenario::text_report(&name, &results));
    }
    if let Some(p) = &args.report {
        if let Err(e) = std::fs::write(p, scenario::junit_report(&name, &results)) {
            eprintln!("error: cannot write {}: {e}", p.display());
            return ExitCode::from(2);
        }
    }
    let bad_case = results
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Failed { .. } | Outcome::Error { .. }));
    if bad_case || !bad.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
