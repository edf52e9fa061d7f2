//! `docs/findings.md` stays true: every variant it cites exists in the model, every scenario it
//! cites exists and, run on failover-core, passes or deviates by the reading its row names, and
//! every section it cites is a section heading of RFC 8156 (`docs/spec/rfc8156.txt`).

use std::path::Path;

use failover_conformance::scenario::{self, Outcome};
use failover_conformance::scenario_core::CoreTarget;
use failover_model::Variant;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Table rows of findings.md: (id, cells).
fn rows() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(root().join("docs/findings.md")).expect("docs/findings.md");
    text.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| id ") && !l.starts_with("|---"))
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect();
            (cells[0].clone(), cells)
        })
        .collect()
}

fn tokens<'a>(cell: &'a str, prefix: &str) -> Vec<&'a str> {
    cell.split(|c: char| c.is_whitespace() || c == ';' || c == ',' || c == '(' || c == ')')
        .filter_map(|w| w.strip_prefix(prefix))
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn findings_cover_every_ambiguity_and_reading() {
    let ids: Vec<String> = rows().into_iter().map(|r| r.0).collect();
    for n in 1..=19 {
        assert!(
            ids.contains(&format!("A{n}")),
            "A{n} missing from docs/findings.md"
        );
    }
    for n in 1..=32 {
        assert!(
            ids.contains(&format!("R{n}")),
            "R{n} missing from docs/findings.md"
        );
    }
    for (id, cells) in rows() {
        assert_eq!(cells.len(), 7, "{id}: 7 columns expected");
        assert!(
            matches!(cells[1].as_str(), "erratum" | "clarification"),
            "{id}: kind {}",
            cells[1]
        );
        assert!(
            !cells[4].is_empty(),
            "{id}: evidence, or open with what would settle it"
        );
    }
}

#[test]
fn findings_cite_existing_variants_and_rfc_sections() {
    let rfc = std::fs::read_to_string(root().join("docs/spec/rfc8156.txt")).expect("RFC copy");
    let headings: Vec<String> = rfc
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.ends_with('.') && w.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(|w| w.trim_end_matches('.').to_string())
        .collect();
    for (id, cells) in rows() {
        for v in tokens(&cells[4], "variant:") {
            assert!(
                Variant::from_name(v).is_some(),
                "{id}: no model variant {v}"
            );
        }
        let sec = cells[2].trim_start_matches('§');
        assert!(
            headings.iter().any(|h| h == sec),
            "{id}: §{sec} is not a section of RFC 8156"
        );
    }
}

#[test]
fn findings_cite_scenarios_that_show_what_they_say() {
    let dir = root().join("conformance/scenarios");
    let (files, bad) = scenario::load_dir(&dir).unwrap();
    assert!(bad.is_empty(), "{bad:?}");
    let results = scenario::run(&mut CoreTarget::default(), &files, None);
    for (id, cells) in rows() {
        for s in tokens(&cells[4], "scenario:") {
            let r = results
                .iter()
                .find(|r| r.id == s)
                .unwrap_or_else(|| panic!("{id}: no scenario {s}"));
            match &r.outcome {
                Outcome::Deviates { reading, .. } => assert!(
                    cells[5]
                        .split(|c: char| !c.is_alphanumeric())
                        .any(|w| w == reading),
                    "{id}: scenario {s} deviates by {reading}, the row names {}",
                    cells[5]
                ),
                Outcome::Passed => {}
                o => panic!("{id}: scenario {s}: {o:?}"),
            }
        }
    }
}
