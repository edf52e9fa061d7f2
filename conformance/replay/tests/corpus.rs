//! Every trace of the committed corpus in `traces/` parses and replays in the model; the
//! comparison that `failover traces generate --check` makes names every difference.

use std::path::Path;

use failover_conformance::runner;
use failover_model::trace;

fn traces_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../traces")
}

/// Whether the committed corpus is what the model generates is checked once, end to end, by
/// `failover traces generate --check` (tests/cli.rs,
/// `the_committed_corpus_is_what_traces_generate_check_generates`: a whole generation takes
/// about 45 s of a test run). Here, without generating: the comparison it relies on names every
/// kind of difference.
#[test]
fn corpus_differences_names_a_changed_a_missing_and_an_extra_trace() {
    let dir = std::env::temp_dir().join(format!("failover-corpus-diff-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("coverage")).unwrap();
    std::fs::write(dir.join("coverage/same.json"), "same\n").unwrap();
    std::fs::write(dir.join("coverage/changed.json"), "old\n").unwrap();
    std::fs::write(dir.join("coverage/extra.json"), "extra\n").unwrap();
    let files: std::collections::BTreeMap<std::path::PathBuf, String> = [
        ("coverage/same.json", "same\n"),
        ("coverage/changed.json", "new\n"),
        ("coverage/missing.json", "missing\n"),
    ]
    .into_iter()
    .map(|(p, t)| (p.into(), t.to_string()))
    .collect();
    let mut diffs = trace::corpus_differences(&dir, &files);
    diffs.sort();
    assert_eq!(
        diffs,
        [
            "changed: coverage/changed.json",
            "extra: coverage/extra.json",
            "missing: coverage/missing.json"
        ]
    );
    // The same folder compared with itself differs in nothing.
    let same: std::collections::BTreeMap<std::path::PathBuf, String> = [
        ("coverage/same.json", "same\n"),
        ("coverage/changed.json", "old\n"),
        ("coverage/extra.json", "extra\n"),
    ]
    .into_iter()
    .map(|(p, t)| (p.into(), t.to_string()))
    .collect();
    assert!(trace::corpus_differences(&dir, &same).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
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
