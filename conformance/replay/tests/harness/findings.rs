//! `docs/findings.md` stays true: every variant it cites exists in the model, every scenario it
//! cites exists and, run on failover-core, passes or deviates by the reading its row names, and
//! every section it cites is a section heading of RFC 8156 (`docs/spec/rfc8156.txt`).

use std::path::Path;

use failover_conformance::runner;
use failover_conformance::scenario::{self, Outcome};
use failover_model::Variant;
use failover_replay::scenario_core::CoreTarget;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
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

/// The trace citations of an evidence cell: `trace:REL, N steps` with an optional `; shortest
/// path S`, REL relative to `traces/`.
fn trace_citations(cell: &str) -> Vec<(String, usize, Option<usize>)> {
    let mut out = Vec::new();
    for part in cell.split("(trace:").skip(1) {
        let (rel, rest) = part.split_once(", ").expect("trace:REL, N steps");
        let (n, rest) = rest.split_once(" steps").expect("trace:REL, N steps");
        let shortest = rest
            .strip_prefix("; shortest path ")
            .map(|r| r.split(|c: char| !c.is_ascii_digit()).next().unwrap_or(""));
        out.push((
            rel.to_string(),
            n.parse()
                .unwrap_or_else(|_| panic!("{n:?} is not a step count")),
            shortest.map(|s| s.parse().unwrap_or_else(|_| panic!("shortest {s:?}"))),
        ));
    }
    out
}

/// README's variant table: variant -> length of the shortest counterexample (plain numbers
/// only; the cycles are written out).
fn readme_shortest() -> Vec<(String, usize)> {
    let text = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    text.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            let name = cells.first()?.strip_prefix("| `")?.strip_suffix('`')?;
            let n = cells.get(3)?.trim().parse().ok()?;
            Some((name.to_string(), n))
        })
        .collect()
}

/// Every counterexample trace a row cites exists under `traces/`, loads, is the negative trace
/// of a variant the row cites, and has the length the row states; a stated shortest length is
/// README's; and every cited variant that claims a break has its trace cited (a probe has none).
/// That the model still produces these traces is checked for `traces/negative/` by
/// `conformance/replay/tests/corpus.rs`, and for `traces/findings/` by `failover traces findings
/// --check` (minutes: `scripts/check-findings-traces.sh`).
#[test]
fn findings_cite_counterexample_traces_of_their_variants() {
    use failover_trace::TraceKind;
    let shortest = readme_shortest();
    assert!(shortest.len() >= 30, "README's variant table parsed");
    let mut cited = 0;
    for (id, cells) in rows() {
        let variants = tokens(&cells[4], "variant:");
        let traces = trace_citations(&cells[4]);
        let mut traced = Vec::new();
        for (rel, n, short) in &traces {
            let path = root().join("traces").join(rel);
            let t = runner::load_file(&path)
                .unwrap_or_else(|e| panic!("{id}: trace:{rel} does not load: {e}"))
                .trace;
            assert_eq!(
                t.kind,
                TraceKind::Negative,
                "{id}: {rel} is not a negative trace"
            );
            let v = t
                .variant
                .as_ref()
                .expect("a negative trace names its variant");
            assert!(
                variants.contains(&v.name.as_str()),
                "{id}: {rel} is variant {}'s trace, the row cites {variants:?}",
                v.name
            );
            assert_eq!(t.steps.len(), *n, "{id}: {rel} has {} steps", t.steps.len());
            if let Some(s) = short {
                assert!(
                    shortest.iter().any(|(name, m)| name == &v.name && m == s),
                    "{id}: README does not give {} a shortest counterexample of {s}",
                    v.name
                );
            }
            traced.push(v.name.clone());
            cited += 1;
        }
        for v in variants {
            let untraced = format!("variant:{v} (no trace: ");
            if cells[4].contains(&untraced) {
                // Said why, and the row must stand on other evidence.
                assert!(
                    cells[4].contains("scenario:") || !traces.is_empty(),
                    "{id}: variant {v} without a trace and no other evidence"
                );
                assert!(
                    !traced.iter().any(|t| t == v),
                    "{id}: {v} both traced and not"
                );
            } else if Variant::from_name(v).and_then(|v| v.breaks()).is_some() {
                assert!(
                    traced.iter().any(|t| t == v),
                    "{id}: variant {v} breaks a property but its counterexample trace is not cited"
                );
            }
        }
    }
    assert!(cited >= 20, "only {cited} traces cited");
}

/// Text with the page breaks of the RFC's plain-text layout taken out and whitespace collapsed.
fn normalized(text: &str) -> String {
    text.lines()
        .filter(|l| {
            let t = l.trim();
            !(t.starts_with("Mrugalski & Kinnear") && t.ends_with(']')
                || t.starts_with("RFC 8156") && t.ends_with("June 2017"))
        })
        .flat_map(|l| l.split_whitespace())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The quotations of "The text and the proposed replacements": each block quote after a
/// `**Text (§…):**` line, with the heading it is under.
fn quotations(findings: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut in_text = false;
    let mut quote = String::new();
    for l in findings.lines() {
        if let Some(h) = l.strip_prefix("### ") {
            heading = h.to_string();
        }
        if let Some(q) = l.strip_prefix("> ") {
            if in_text {
                quote.push_str(q);
                quote.push(' ');
            }
            continue;
        }
        if !quote.is_empty() {
            out.push((heading.clone(), std::mem::take(&mut quote)));
        }
        if l.starts_with("**Text") {
            in_text = true;
        } else if !l.trim().is_empty() {
            in_text = false;
        }
    }
    out
}

/// Every quotation of the RFC in docs/findings.md is its text word for word (`…` elides, the
/// pieces in order), and every erratum with evidence, and every row with a proposed replacement
/// written out, has its entry: a heading naming the row, the text quoted, and a proposal.
#[test]
fn findings_quote_the_rfc_word_for_word_and_propose_a_replacement() {
    let rfc = normalized(
        &std::fs::read_to_string(root().join("docs/spec/rfc8156.txt")).expect("RFC copy"),
    );
    let findings = std::fs::read_to_string(root().join("docs/findings.md")).expect("findings");
    let quotes = quotations(&findings);
    assert!(quotes.len() >= 15, "only {} quotations", quotes.len());
    for (heading, q) in &quotes {
        let mut from = 0;
        for piece in q.split('…').map(normalized).filter(|p| !p.is_empty()) {
            match rfc[from..].find(&piece) {
                Some(i) => from += i + piece.len(),
                None => panic!("{heading}: not the RFC's text (or not in order): {piece:?}"),
            }
        }
    }
    let section = &findings[findings
        .find("## The text and the proposed replacements")
        .expect("the replacements section")..];
    let entries: Vec<&str> = section.split("\n### ").skip(1).collect();
    for (id, cells) in rows() {
        let evidenced = !cells[4].starts_with("open");
        if cells[1] == "erratum" && evidenced {
            let entry = entries
                .iter()
                .find(|e| {
                    e.lines().next().is_some_and(|h| {
                        h.split(" — ")
                            .next()
                            .is_some_and(|ids| ids.split(", ").any(|i| i == id))
                    })
                })
                .unwrap_or_else(|| panic!("{id}: an erratum with evidence and no entry"));
            assert!(entry.contains("**Text ("), "{id}: no text quoted");
            assert!(
                entry.contains("**Proposed:**"),
                "{id}: no replacement proposed"
            );
        }
    }
}
