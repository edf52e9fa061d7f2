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
