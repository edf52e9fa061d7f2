//! The committed corpus in `traces/` is exactly what the model generates now, and every trace
//! in it parses and replays in the model.

use std::path::Path;

use failover_conformance::runner;
use failover_model::trace;

fn traces_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../traces")
}

#[test]
fn the_committed_corpus_is_what_the_model_generates() {
    let (files, _) = trace::corpus_files();
    let diffs = trace::corpus_differences(&traces_dir(), &files);
    assert!(
        diffs.is_empty(),
        "traces/ differs from the model's output; run `cargo run --release -- traces generate`:\n{}",
        diffs.join("\n")
    );
}

#[test]
fn every_committed_trace_parses_and_names_its_rfc_sections() {
    let all = runner::load_dir(&traces_dir()).expect("the corpus loads");
    assert!(all.len() >= 100, "only {} traces", all.len());
    for t in &all {
        assert!(t.trace.id.starts_with('s') || t.trace.id.starts_with("random-"));
        assert!(
            !t.trace.rfc.is_empty() || t.trace.steps.is_empty(),
            "{}",
            t.trace.id
        );
        assert!(!t.trace.tags.is_empty(), "{}", t.trace.id);
    }
}

#[test]
fn a_malformed_trace_is_named_by_field() {
    let e = runner::parse(r#"{"format": "rfc8156-failover-trace", "version": 9}"#).unwrap_err();
    assert!(e.contains("version 9"), "{e}");
    let e = runner::parse(r#"{"format": "other"}"#).unwrap_err();
    assert!(e.contains("\"format\""), "{e}");
    let good = std::fs::read_to_string(
        traces_dir().join("coverage/s8.3-normal-state-startup-normal.json"),
    )
    .expect("a committed trace");
    let bad = good.replacen("\"type\":\"crash\"", "\"type\":\"explode\"", 1);
    assert_ne!(good, bad, "the trace has a crash step to spoil");
    let e = runner::parse(&bad).unwrap_err();
    assert!(e.starts_with("field \"steps["), "{e}");
}

#[test]
fn itf_export_has_one_state_per_step_plus_the_initial_one() {
    let t = runner::load_file(&traces_dir().join("negative/s4.4-variant-no-mclt-cap.json"))
        .expect("a committed trace");
    let itf = failover_trace::to_itf(&t.trace);
    let states = itf["states"].as_array().expect("states");
    assert_eq!(states.len(), t.trace.steps.len() + 1);
    assert_eq!(itf["vars"].as_array().map(|v| v.len()), Some(4));
    assert!(states[1]["time"]["#bigint"].is_string());
}
