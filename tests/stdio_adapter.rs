//! The JSON-lines protocol of the conformance harness, spoken by a program we did not write in
//! Rust: `conformance/adapters/python/adapter.py` checks every request and observation against
//! the protocol as documented and forwards them to `failover sut-stdio` (our implementation).
//! Through it the whole corpus must give the verdicts the in-process adapter gives, trace by
//! trace and step by step; a deliberately broken server must fail the same traces; and programs
//! that do not speak the protocol must get errors that say what is wrong.

use std::path::PathBuf;

use failover_conformance::mapping::Compare;
use failover_conformance::runner::{self, Loaded, Outcome, TraceResult};
use failover_conformance::stdio::Stdio;
use failover_conformance::sut::Sut;
use failover_replay::inproc::{Breakage, InProc};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn corpus() -> Vec<Loaded> {
    let traces = runner::load_dir(&root().join("traces")).expect("the committed corpus loads");
    assert!(traces.len() > 100, "the whole corpus: {}", traces.len());
    traces
}

fn python_adapter(extra: &[&str]) -> Stdio {
    let adapter = root().join("conformance/adapters/python/adapter.py");
    let mut args = vec![
        adapter.display().to_string(),
        env!("CARGO_BIN_EXE_failover").to_string(),
        "sut-stdio".to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Stdio::spawn("python3", &args).expect("python3 and the adapter start")
}

/// What a verdict is, without timings: pass, or the step and the differences of the first
/// divergence, or the error.
fn verdict(r: &TraceResult) -> String {
    match &r.outcome {
        Outcome::Pass => "pass".to_string(),
        Outcome::Fail(d) => format!("diverges at step {}: {}", d.step, d.diff.join("; ")),
        Outcome::Error { step, message } => format!("error at step {step}: {message}"),
    }
}

fn run(sut: &mut dyn Sut, traces: &[Loaded]) -> Vec<(String, String)> {
    runner::run_all(sut, traces, Compare { messages: true }, |_, _| {})
        .iter()
        .map(|r| (r.id.clone(), verdict(r)))
        .collect()
}

fn assert_same(through_python: &[(String, String)], in_process: &[(String, String)]) {
    assert_eq!(through_python.len(), in_process.len());
    for (p, i) in through_python.iter().zip(in_process) {
        assert_eq!(p, i, "the stdio protocol changed a verdict");
    }
}

#[test]
fn the_python_adapter_gets_the_in_process_verdicts_on_the_whole_corpus() {
    let traces = corpus();
    let mut py = python_adapter(&[]);
    assert!(py.name().contains("python adapter over failover-core"));
    let through_python = run(&mut py, &traces);
    let in_process = run(&mut InProc::new(), &traces);
    // Not a vacuous agreement: some traces pass, and no trace is a protocol error.
    assert!(through_python.iter().any(|(_, v)| v == "pass"));
    assert!(
        !through_python.iter().any(|(_, v)| v.starts_with("error")),
        "{through_python:?}"
    );
    assert_same(&through_python, &in_process);
}

#[test]
fn a_broken_server_behind_the_python_adapter_fails_the_same_traces() {
    let traces = corpus();
    let b = Breakage::AcceptEveryBndupd;
    let mut py = python_adapter(&["--broken", b.name()]);
    let through_python = run(&mut py, &traces);
    let broken = run(&mut InProc::broken(b), &traces);
    let correct = run(&mut InProc::new(), &traces);
    assert_same(&through_python, &broken);
    assert_ne!(broken, correct, "the breakage shows in some trace");
}

fn spawn_error(program: &str, args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    match Stdio::spawn(program, &args) {
        Ok(_) => panic!("{program} {args:?} was accepted as a SUT"),
        Err(e) => e.0,
    }
}

#[test]
fn a_missing_program_is_named() {
    let e = spawn_error("/nonexistent/failover-sut", &[]);
    assert!(e.contains("cannot start the SUT program"), "{e}");
    assert!(e.contains("/nonexistent/failover-sut"), "{e}");
}

#[test]
fn a_program_that_does_not_speak_json_is_told_so() {
    let e = spawn_error("python3", &["-c", "print('hello there')"]);
    assert!(e.contains("not JSON"), "{e}");
    assert!(e.contains("hello there"), "{e}");
}

#[test]
fn a_program_that_exits_at_once_is_reported_with_its_status() {
    let e = spawn_error("python3", &["-c", "import sys; sys.exit(3)"]);
    assert!(e.contains("closed its output"), "{e}");
    assert!(e.contains("exit status: 3"), "{e}");
}

#[test]
fn a_program_with_another_protocol_version_is_refused() {
    let e = spawn_error(
        "python3",
        &[
            "-c",
            r#"print('{"name": "x", "protocol": 7}', flush=True); input()"#,
        ],
    );
    assert!(e.contains("speaks protocol 7"), "{e}");
}

#[test]
fn a_program_whose_observation_is_malformed_stops_the_trace_as_an_error() {
    // Answers hello properly, then an observation without its servers.
    let script = r#"
import json, sys
for line in sys.stdin:
    req = json.loads(line)
    if req["type"] == "hello":
        print(json.dumps({"name": "bad", "protocol": 1}), flush=True)
    else:
        print(json.dumps({"observation": {"sent": []}}), flush=True)
"#;
    let mut sut = Stdio::spawn("python3", &["-c".to_string(), script.to_string()])
        .expect("it says hello correctly");
    let traces = corpus();
    let r = runner::run_trace(&mut sut, &traces[0], Compare { messages: true });
    match &r.outcome {
        Outcome::Error { step, message } => {
            assert_eq!(*step, 0, "at start");
            assert!(message.contains("malformed observation"), "{message}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn the_server_end_answers_bad_requests_with_errors_and_goes_on() {
    let input = concat!(
        "{\"type\":\"event\",\"time\":1,\"event\":{\"type\":\"tick\"}}\n",
        "not json\n",
        "{\"type\":\"hello\",\"protocol\":1}\n",
    );
    let mut out = Vec::new();
    failover_conformance::stdio::serve(&mut InProc::new(), "ours", input.as_bytes(), &mut out)
        .expect("serves");
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "one answer per request");
    assert!(lines[0]["error"]
        .as_str()
        .unwrap()
        .contains("before the first start"));
    assert!(lines[1]["error"]
        .as_str()
        .unwrap()
        .contains("not a request of protocol 1"));
    assert_eq!(lines[2]["name"], "ours");
}
