//! Issue 15: the RFC scenarios over the wire (`failover scenarios --wire`,
//! conformance/src/wire/scenario.rs) against `failover serve` on loopback: a small subset
//! passes on the real server (each case starts its own server, reaches its given state by the
//! runner's recipe and is judged from the wire), a deliberately broken server
//! (`FAILOVER_BREAK=accept-any-bndupd`) fails the Figure 4 case that must be rejected, and a
//! case the wire cannot set up is reported not wire-testable, never run and never passed.

use std::path::Path;

use failover_conformance::scenario::{self, CaseResult, Outcome};
use failover_conformance::wire::scenario::{run_parallel, WireScenarios};

use super::BIN;

/// Accepted at a secondary in NORMAL (BNDUPD over TCP, the stored record read by UPDREQALL).
const ACCEPT: &str = "7.5.4-figure4-active-vs-active-other-client-at-secondary-accepted";
/// Rejected by a server in NORMAL with a failure status (Figure 4).
const REJECT: &str = "7.5.4-figure4-active-vs-free-local-unexpired-rejected";
/// COMMUNICATIONS-INTERRUPTED, the connection comes up with the partner in NORMAL (§8.9.2).
const TRANSITION: &str = "8.9.2-communications-interrupted-partner-normal";
/// A relayed SOLICIT with Rapid Commit over UDP gets the primary's own (odd) address (§4.2.1.1).
const CLIENT: &str = "4.2.1.1-independent-allocation-primary-takes-its-own-address";

fn files() -> Vec<scenario::LoadedFile> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/scenarios");
    let (files, bad) = scenario::load_dir(&dir).unwrap();
    assert!(bad.is_empty(), "{bad:?}");
    files
}

fn start_cmd(breakage: Option<&str>) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/scenario-sut-failover.sh");
    let brk = breakage.map_or(String::new(), |b| format!("FAILOVER_BREAK={b} "));
    format!("{brk}BIN={BIN} {} {{config}} {{dir}}", script.display())
}

fn ctl_cmd() -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/scenario-ctl-failover.sh");
    format!("BIN={BIN} {} {{dir}} {{command}}", script.display())
}

fn run(ids: &[&str], breakage: Option<&str>) -> Vec<CaseResult> {
    let mut files = files();
    for f in &mut files {
        f.file.cases.retain(|c| ids.contains(&c.id.as_str()));
    }
    let r = run_parallel(
        &start_cmd(breakage),
        Some(&ctl_cmd()),
        &files,
        None,
        ids.len(),
    );
    assert_eq!(r.len(), ids.len(), "every case id exists: {r:?}");
    r
}

fn outcome<'a>(r: &'a [CaseResult], id: &str) -> &'a Outcome {
    &r.iter().find(|x| x.id == id).unwrap().outcome
}

#[test]
fn scenarios_over_the_wire_pass_against_failover_serve() {
    let r = run(&[ACCEPT, REJECT, TRANSITION, CLIENT], None);
    for x in &r {
        assert_eq!(x.outcome, Outcome::Passed, "{}: {:?}", x.id, x.outcome);
    }
}

#[test]
fn a_server_that_accepts_any_bndupd_fails_the_rejecting_scenario_over_the_wire() {
    let r = run(&[REJECT], Some("accept-any-bndupd"));
    match outcome(&r, REJECT) {
        Outcome::Failed { differs, .. } => assert!(
            differs.iter().any(|d| d.contains("BNDREPLY")),
            "the difference names the BNDREPLY: {differs:?}"
        ),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_case_the_wire_cannot_set_up_is_not_wire_testable_and_never_run() {
    // Never started: `not_testable` decides from the case alone (the start command would fail).
    let files = files();
    let mut t = WireScenarios::new("exit 3".into(), None);
    let r = scenario::run(
        &mut t,
        &files,
        Some("8.3.2-startup-step5-partner-down-later-than-our-last-operation"),
    );
    assert_eq!(r.len(), 1);
    assert!(
        matches!(&r[0].outcome, Outcome::NotWireTestable { reason } if reason.contains("stable storage")),
        "a STARTUP case with a recorded state is not wire-testable: {r:?}"
    );
    // A case that needs the operator command is not wire-testable without --sut-ctl.
    let r = scenario::run(
        &mut t,
        &files,
        Some("8.9.2-communications-interrupted-external-command"),
    );
    assert!(
        r.iter().all(|x| matches!(&x.outcome, Outcome::NotWireTestable { reason } if reason.contains("--sut-ctl"))),
        "{r:?}"
    );
    assert_eq!(scenario::tally(&r), (0, 0, 0, 0));
}
