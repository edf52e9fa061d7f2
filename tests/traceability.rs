//! `docs/traceability.md` against the code, so that the table cannot go stale: every reference
//! must name a property, variant, reading, trace or test that exists; every MUST line of RFC 8156
//! §4.4 and §8, and every SHOULD line of §7.5.4 and of §9 (DNS update, §9.1-§9.5), must be in a
//! row, and a row of §4.4, §8 or §9 must hold its section's keyword; every ambiguity A1..A19 of
//! the digest and every RFC 7031 §7 item 1..10 must have a row; the summary must match the rows.
//! The checker is itself tested on broken copies of the real table.
//!
//! The RFC is read from `docs/spec/rfc8156.txt` (a copy kept in the repository) and the digest's
//! ambiguities from `docs/digest.md`, or both from the files named by `RFC8156_TXT` and
//! `RFC8156_DIGEST`.
//!
//! Citations (issue 20 §4): every `A<n>`, `R<n>`, `D<n>`, `F<n>` and "design draft §" cited in
//! the sources, scripts and docs must resolve to a file of the repository, and nothing may point
//! outside it (`../shared/`, `/work/shared/`); see `mod citations` at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use failover_model::{properties, Variant};

const DOC: &str = "docs/traceability.md";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A specification file: the one named by `var`, else the copy kept in the repository (so that
/// a clean clone can run this test).
fn spec_file(var: &str, in_repo: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    Some(root().join(in_repo)).filter(|p| p.exists())
}

/// Everything the table is checked against.
struct Ctx {
    /// Lines of rfc8156.txt; `rfc[n - 1]` is line n.
    rfc: Vec<String>,
    /// The section each line of the RFC is in ("" before the first heading).
    section_of: Vec<String>,
    /// A1..A19 as listed in the digest's ambiguities section.
    ambiguities: BTreeSet<u32>,
    readings: BTreeSet<String>,
    properties: BTreeSet<&'static str>,
    traces: BTreeSet<String>,
    /// Test function name -> files (relative to the workspace) that define it.
    tests: BTreeMap<String, Vec<String>>,
}

/// A numbered section heading at the left margin: "8.4.1.  Operation in ...".
fn heading(line: &str) -> Option<String> {
    let first = line.split_whitespace().next()?;
    let num = first.strip_suffix('.')?;
    let ok = line.starts_with(first)
        && line.len() > first.len() + 1
        && !num.is_empty()
        && num
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| num.to_string())
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        if p.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                rs_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn json_stems(dir: &Path, out: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            json_stems(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            let stem = p.file_stem().unwrap().to_string_lossy().to_string();
            if stem != "schema" {
                out.insert(stem);
            }
        }
    }
}

/// `#[test] fn NAME(`: a `fn NAME(` with `#[test]` on one of the three lines above it.
fn test_functions(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(pos) = line.find("fn ") else {
            continue;
        };
        if pos > 0 && !line[..pos].ends_with(' ') {
            continue;
        }
        let rest = &line[pos + 3..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() || !rest[name.len()..].starts_with('(') {
            continue;
        }
        let marked = lines[i.saturating_sub(3)..i]
            .iter()
            .any(|l| l.trim_start().starts_with("#[test]"));
        if marked {
            out.push(name);
        }
    }
    out
}

impl Ctx {
    fn load() -> Ctx {
        let root = root();
        let rfc_path = spec_file("RFC8156_TXT", "docs/spec/rfc8156.txt")
            .expect("docs/spec/rfc8156.txt is part of the repository");
        let rfc: Vec<String> = read(&rfc_path).lines().map(str::to_string).collect();
        let mut section_of = Vec::with_capacity(rfc.len());
        let mut current = String::new();
        for line in &rfc {
            if let Some(h) = heading(line) {
                current = h;
            }
            section_of.push(current.clone());
        }
        // The digest's ambiguities, as copied into `docs/digest.md`.
        let digest = spec_file("RFC8156_DIGEST", "docs/digest.md")
            .expect("docs/digest.md (the digest's ambiguities A1-A19) is missing");
        let ambiguities = read(&digest)
            .lines()
            .skip_while(|l| !(l.starts_with("## ") && l.contains("Ambiguities")))
            .filter_map(|l| l.strip_prefix("**A"))
            .filter_map(|l| l.split('.').next()?.parse().ok())
            .collect();
        let readings = read(&root.join("docs/readings.md"))
            .lines()
            .filter_map(|l| l.strip_prefix('|'))
            .filter_map(|l| l.split('|').next())
            .map(str::trim)
            .filter(|c| c.len() > 1 && c.starts_with('R') && c[1..].parse::<u32>().is_ok())
            .map(str::to_string)
            .collect();
        let mut properties: BTreeSet<&'static str> = properties::SAFETY_AND_LIVENESS
            .iter()
            .chain(properties::REACHABILITY)
            .chain(properties::DNS)
            .copied()
            .collect();
        properties.insert(properties::EVERY_PATH_ENDS);
        let mut traces = BTreeSet::new();
        json_stems(&root.join("traces"), &mut traces);
        let mut files = Vec::new();
        for d in ["model", "impl", "conformance", "tests"] {
            rs_files(&root.join(d), &mut files);
        }
        let mut tests: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for f in files {
            let rel = f.strip_prefix(&root).unwrap().to_string_lossy().to_string();
            for name in test_functions(&read(&f)) {
                tests.entry(name).or_default().push(rel.clone());
            }
        }
        Ctx {
            rfc,
            section_of,
            ambiguities,
            readings,
            properties,
            traces,
            tests,
        }
    }

    fn line(&self, n: usize) -> &str {
        &self.rfc[n - 1]
    }

    fn section(&self, n: usize) -> &str {
        &self.section_of[n - 1]
    }
}

/// A section in the scope of the table: every line of it holding `keyword` must be in a row.
#[derive(Clone, Copy)]
struct Scope {
    keyword: &'static str,
    /// Each row of the section must hold the keyword. Not in §7.5.4, whose rows also cover the
    /// normative sentences written without one (Figure 4 and its rules).
    row_holds_keyword: bool,
}

/// Is `section` S itself or one of its subsections?
fn within(section: &str, s: &str) -> bool {
    section == s || section.strip_prefix(s).is_some_and(|r| r.starts_with('.'))
}

/// The scope of the table: the MUST lines of §4.4 and §8, the SHOULD lines of §7.5.4 (written
/// with SHOULD) and of §9 (DNS update considerations, written with SHOULD).
fn scope(section: &str) -> Option<Scope> {
    if within(section, "4.4") || within(section, "8") {
        Some(Scope {
            keyword: "MUST",
            row_holds_keyword: true,
        })
    } else if section == "7.5.4" {
        Some(Scope {
            keyword: "SHOULD",
            row_holds_keyword: false,
        })
    } else if within(section, "9") {
        Some(Scope {
            keyword: "SHOULD",
            row_holds_keyword: true,
        })
    } else {
        None
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Rfc7031,
    Rfc8156,
    Ambiguity,
}

#[derive(Debug)]
enum Ref {
    Property(String),
    Variant(String),
    Reading(String),
    Trace(String),
    Test(String),
    Gap(String),
}

#[derive(Debug)]
enum Id {
    Rfc7031(u32),
    Rfc8156 {
        section: String,
        start: usize,
        end: usize,
    },
    Ambiguity(u32),
}

struct Row {
    /// Line of the document (1-based).
    at: usize,
    id_text: String,
    id: Id,
    refs: Vec<Ref>,
}

impl Row {
    fn group(&self) -> Group {
        match self.id {
            Id::Rfc7031(_) => Group::Rfc7031,
            Id::Rfc8156 { .. } => Group::Rfc8156,
            Id::Ambiguity(_) => Group::Ambiguity,
        }
    }
}

fn parse_id(cell: &str) -> Option<Result<Id, String>> {
    if let Some(n) = cell.strip_prefix("RFC 7031 §7 item ") {
        return Some(
            n.parse()
                .map(Id::Rfc7031)
                .map_err(|_| format!("bad RFC 7031 item number {n:?}")),
        );
    }
    if let Some(n) = cell.strip_prefix('A') {
        if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Ok(Id::Ambiguity(n.parse().unwrap())));
        }
        return None;
    }
    let rest = cell.strip_prefix('§')?;
    let parse = || -> Option<Id> {
        let (section, lines) = rest.split_once(" L")?;
        let (a, b) = match lines.split_once('-') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => {
                let a = lines.parse().ok()?;
                (a, a)
            }
        };
        Some(Id::Rfc8156 {
            section: section.to_string(),
            start: a,
            end: b,
        })
    };
    Some(parse().ok_or_else(|| format!("bad RFC 8156 row id {cell:?} (want §S LA or §S LA-B)")))
}

fn parse_ref(span: &str) -> Result<Ref, String> {
    let (kind, arg) = if let Some(why) = span.strip_prefix("GAP:") {
        ("GAP", why.trim())
    } else {
        span.split_once(':')
            .ok_or_else(|| format!("`{span}` is not a reference"))?
    };
    if arg.is_empty() {
        return Err(format!("`{span}`: empty reference"));
    }
    let a = arg.to_string();
    Ok(match kind {
        "property" => Ref::Property(a),
        "variant" => Ref::Variant(a),
        "reading" => Ref::Reading(a),
        "trace" => Ref::Trace(a),
        "test" => Ref::Test(a),
        "GAP" => Ref::Gap(a),
        _ => {
            return Err(format!(
                "`{span}` is not a reference (unknown kind {kind:?})"
            ))
        }
    })
}

/// Does this line start a sentence (for a row's first line)?
fn starts_sentence(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with(|c: char| c.is_ascii_uppercase() || c == '"')
        || [".  ", ":  ", ").  "].iter().any(|p| {
            line.match_indices(p)
                .any(|(i, _)| line[i + p.len()..].starts_with(|c: char| c.is_ascii_uppercase()))
        })
}

#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
struct Counts {
    rows: usize,
    property_or_variant: usize,
    trace: usize,
    impl_test: usize,
    gap: usize,
    only_gap: usize,
}

const SUMMARY_ROWS: [(&str, Option<Group>); 4] = [
    ("RFC 7031 §7", Some(Group::Rfc7031)),
    ("RFC 8156", Some(Group::Rfc8156)),
    ("ambiguities", Some(Group::Ambiguity)),
    ("all", None),
];

/// Check a traceability document; return every problem found (empty: all good).
fn check(doc: &str, ctx: &Ctx) -> Vec<String> {
    let mut errors = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut summary: BTreeMap<String, Vec<String>> = BTreeMap::new();

    for (i, line) in doc.lines().enumerate() {
        let at = i + 1;
        let Some(body) = line.trim().strip_prefix('|') else {
            continue;
        };
        let first = body.split('|').next().unwrap_or("").trim();
        if SUMMARY_ROWS.iter().any(|(name, _)| *name == first) {
            let cells = body
                .split('|')
                .skip(1)
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect();
            summary.insert(first.to_string(), cells);
            continue;
        }
        let id = match parse_id(first) {
            None => continue,
            Some(Err(e)) => {
                errors.push(format!("{DOC}:{at}: {e}"));
                continue;
            }
            Some(Ok(id)) => id,
        };
        let pieces: Vec<&str> = body.split('`').collect();
        if pieces.len() % 2 != 1 {
            errors.push(format!("{DOC}:{at} [{first}]: unbalanced backticks"));
            continue;
        }
        let mut refs = Vec::new();
        for (k, span) in pieces.iter().enumerate().skip(1).step_by(2) {
            match parse_ref(span) {
                Ok(r) => {
                    // "`variant:X` breaks `property:P`" and "`variant:X` is a probe".
                    if let Ref::Variant(v) = &r {
                        if let Some(var) = Variant::from_name(v) {
                            let after = pieces[k + 1];
                            if after.trim() == "breaks" {
                                let claimed =
                                    pieces.get(k + 2).and_then(|s| s.strip_prefix("property:"));
                                match (claimed, var.breaks()) {
                                    (Some(p), Some(b)) if p == b => {}
                                    (p, b) => errors.push(format!(
                                        "{DOC}:{at} [{first}]: `variant:{v}` breaks {p:?} claimed, but the variant breaks {b:?}"
                                    )),
                                }
                            } else if after.trim_start().starts_with("is a probe")
                                && var.breaks().is_some()
                            {
                                errors.push(format!(
                                    "{DOC}:{at} [{first}]: `variant:{v}` is not a probe: it breaks {:?}",
                                    var.breaks().unwrap()
                                ));
                            }
                        }
                    }
                    refs.push(r);
                }
                Err(e) => errors.push(format!("{DOC}:{at} [{first}]: {e}")),
            }
        }
        rows.push(Row {
            at,
            id_text: first.to_string(),
            id,
            refs,
        });
    }

    // Every reference exists; every row has one.
    for row in &rows {
        let here = format!("{DOC}:{} [{}]", row.at, row.id_text);
        if row.refs.is_empty() {
            errors.push(format!("{here}: no coverage: no reference and no GAP"));
        }
        for r in &row.refs {
            let bad = match r {
                Ref::Property(p) => (!ctx.properties.contains(p.as_str()))
                    .then(|| format!("unknown property `property:{p}`")),
                Ref::Variant(v) => Variant::from_name(v)
                    .is_none()
                    .then(|| format!("unknown variant `variant:{v}`")),
                Ref::Reading(r) => (!ctx.readings.contains(r))
                    .then(|| format!("unknown reading `reading:{r}` (not in docs/readings.md)")),
                Ref::Trace(t) => (!ctx.traces.contains(t))
                    .then(|| format!("unknown trace `trace:{t}` (no traces/**/{t}.json)")),
                Ref::Test(t) => (!ctx.tests.contains_key(t))
                    .then(|| format!("unknown test `test:{t}` (no #[test] fn {t}( under model/, impl/, conformance/, tests/)")),
                Ref::Gap(why) => (why.len() < 10)
                    .then(|| format!("`GAP: {why}` does not say why")),
            };
            if let Some(b) = bad {
                errors.push(format!("{here}: {b}"));
            }
        }
    }

    // Row ids are unique.
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &rows {
        if let Some(prev) = seen.insert(&row.id_text, row.at) {
            errors.push(format!(
                "{DOC}:{} [{}]: duplicate row (also at line {prev})",
                row.at, row.id_text
            ));
        }
    }

    // RFC 8156 rows name real lines of their section, starting a sentence.
    let n = ctx.rfc.len();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for row in &rows {
        let Id::Rfc8156 {
            section,
            start,
            end,
        } = &row.id
        else {
            continue;
        };
        let here = format!("{DOC}:{} [{}]", row.at, row.id_text);
        let (start, end) = (*start, *end);
        if start == 0 || start > end || end > n {
            errors.push(format!(
                "{here}: bad line range (rfc8156.txt has {n} lines)"
            ));
            continue;
        }
        let in_scope = scope(section);
        if in_scope.is_none() {
            errors.push(format!(
                "{here}: §{section} is not in the scope of the table"
            ));
        }
        if let Some(l) = (start..=end).find(|&l| ctx.section(l) != section) {
            errors.push(format!(
                "{here}: line {l} is in §{}, not §{section}",
                ctx.section(l)
            ));
        }
        for l in [start, end] {
            if ctx.line(l).trim().is_empty() {
                errors.push(format!("{here}: line {l} is blank"));
            }
        }
        if !starts_sentence(ctx.line(start)) {
            errors.push(format!(
                "{here}: line {start} does not start a sentence: {:?}",
                ctx.line(start).trim()
            ));
        }
        if let Some(Scope {
            keyword,
            row_holds_keyword: true,
        }) = in_scope
        {
            if !(start..=end).any(|l| ctx.line(l).contains(keyword)) {
                errors.push(format!("{here}: lines {start}-{end} hold no {keyword}"));
            }
        }
        ranges.push((start, end));
    }

    // Every MUST line of §4.4 and §8, and every SHOULD line of §7.5.4 and §9, is in a row.
    for l in 1..=n {
        let s = ctx.section(l);
        let Some(Scope { keyword, .. }) = scope(s) else {
            continue;
        };
        if ctx.line(l).contains(keyword) && !ranges.iter().any(|&(a, b)| a <= l && l <= b) {
            errors.push(format!(
                "rfc8156.txt line {l} (§{s}) has {keyword} but is not in the table: {:?}",
                ctx.line(l).trim()
            ));
        }
    }

    // Every ambiguity of the digest, every RFC 7031 item.
    let have_a: BTreeSet<u32> = rows
        .iter()
        .filter_map(|r| match r.id {
            Id::Ambiguity(a) => Some(a),
            _ => None,
        })
        .collect();
    if ctx.ambiguities.len() != 19 {
        errors.push(format!(
            "the digest lists {} ambiguities, expected A1..A19",
            ctx.ambiguities.len()
        ));
    }
    for a in ctx.ambiguities.union(&(1..=19).collect()) {
        if !have_a.contains(a) {
            errors.push(format!("ambiguity A{a} has no row"));
        }
    }
    for a in have_a.difference(&ctx.ambiguities) {
        errors.push(format!("A{a} is not an ambiguity of the digest"));
    }
    let have_7031: BTreeSet<u32> = rows
        .iter()
        .filter_map(|r| match r.id {
            Id::Rfc7031(i) => Some(i),
            _ => None,
        })
        .collect();
    for i in 1..=10 {
        if !have_7031.contains(&i) {
            errors.push(format!("RFC 7031 §7 item {i} has no row"));
        }
    }
    for i in have_7031.iter().filter(|i| !(1..=10).contains(*i)) {
        errors.push(format!("RFC 7031 §7 has no item {i}"));
    }

    // The summary matches the rows.
    for (name, group) in SUMMARY_ROWS {
        let c = counts(&rows, group.as_ref(), ctx);
        let want = [
            c.rows,
            c.property_or_variant,
            c.trace,
            c.impl_test,
            c.gap,
            c.only_gap,
        ];
        let want_text = want.map(|x| x.to_string()).join(" | ");
        match summary.get(name) {
            None => errors.push(format!(
                "summary: no row \"{name}\" (expected | {name} | {want_text} |)"
            )),
            Some(cells) => {
                let got: Vec<Option<usize>> = cells.iter().map(|c| c.parse().ok()).collect();
                if got != want.map(Some) {
                    errors.push(format!(
                        "summary row \"{name}\" says {} but the rows give | {name} | {want_text} |",
                        cells.join(" | ")
                    ));
                }
            }
        }
    }
    errors
}

fn counts(rows: &[Row], group: Option<&Group>, ctx: &Ctx) -> Counts {
    let mut c = Counts::default();
    for row in rows
        .iter()
        .filter(|r| group.is_none_or(|g| *g == r.group()))
    {
        c.rows += 1;
        let any = |f: &dyn Fn(&Ref) -> bool| row.refs.iter().any(f);
        c.property_or_variant += any(&|r| matches!(r, Ref::Property(_) | Ref::Variant(_))) as usize;
        c.trace += any(&|r| matches!(r, Ref::Trace(_))) as usize;
        c.impl_test += any(&|r| match r {
            Ref::Test(t) => ctx
                .tests
                .get(t)
                .is_some_and(|fs| fs.iter().any(|f| f.starts_with("impl/"))),
            _ => false,
        }) as usize;
        let gap = any(&|r| matches!(r, Ref::Gap(_)));
        c.gap += gap as usize;
        c.only_gap += (gap && row.refs.iter().all(|r| matches!(r, Ref::Gap(_)))) as usize;
    }
    c
}

fn report(errors: &[String]) -> String {
    let mut s = format!("{} problem(s) in {DOC}:\n", errors.len());
    for e in errors {
        let _ = writeln!(s, "  {e}");
    }
    s
}

#[test]
fn the_traceability_table_matches_the_rfc_and_the_code() {
    let t0 = Instant::now();
    let ctx = Ctx::load();
    let doc = read(&root().join(DOC));
    let errors = check(&doc, &ctx);
    assert!(errors.is_empty(), "{}", report(&errors));
    // The extraction itself found what it should.
    assert!(
        ctx.tests.len() > 100,
        "only {} tests found",
        ctx.tests.len()
    );
    assert!(
        ctx.traces.len() > 50,
        "only {} traces found",
        ctx.traces.len()
    );
    assert_eq!(ctx.section(4045), "8.4.1");
    assert_eq!(ctx.section(4752), "9");
    assert_eq!(ctx.section(5052), "9.5");
    eprintln!("checked {DOC} in {:.3} s", t0.elapsed().as_secs_f64());
}

/// The mutation check: the checker rejects broken copies of the real table.
#[test]
fn the_checker_rejects_broken_tables() {
    let ctx = Ctx::load();
    let doc = read(&root().join(DOC));
    assert!(
        check(&doc, &ctx).is_empty(),
        "the real table must pass first"
    );
    let lines: Vec<&str> = doc.lines().collect();
    let row_of = |id: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(&format!("| {id} |")))
            .unwrap_or_else(|| panic!("no row {id}"))
    };
    let with_line = |i: usize, new: Option<String>| -> String {
        let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        match new {
            Some(l) => out[i] = l,
            None => {
                out.remove(i);
            }
        }
        out.join("\n")
    };
    let expect = |name: &str, broken: &str, needles: &[&str]| {
        let errors = check(broken, &ctx);
        for needle in needles {
            assert!(
                errors.iter().any(|e| e.contains(needle)),
                "{name}: expected a problem mentioning {needle:?}, got:\n{}",
                report(&errors)
            );
        }
    };

    // A bogus reference of each kind, all reported, each with its row.
    let i = row_of("§8.4.1 L4045");
    let bogus = format!(
        "{} `trace:s9.9-no-such-trace` `test:no_such_test` `property:no such property` `variant:no-such-variant` `reading:R99` `nonsense` |",
        lines[i].trim_end().trim_end_matches('|')
    );
    expect(
        "bogus references",
        &with_line(i, Some(bogus)),
        &[
            "[§8.4.1 L4045]: unknown trace `trace:s9.9-no-such-trace`",
            "[§8.4.1 L4045]: unknown test `test:no_such_test`",
            "[§8.4.1 L4045]: unknown property `property:no such property`",
            "[§8.4.1 L4045]: unknown variant `variant:no-such-variant`",
            "[§8.4.1 L4045]: unknown reading `reading:R99`",
            "[§8.4.1 L4045]: `nonsense` is not a reference",
        ],
    );

    // A wrong "breaks" claim.
    let wrong = lines[i].replacen(
        "breaks `property:no address or prefix is held by two clients`",
        "breaks `property:servers allocate only from their own pool`",
        1,
    );
    assert_ne!(wrong, lines[i]);
    expect(
        "wrong claim",
        &with_line(i, Some(wrong)),
        &["`variant:pd-no-mclt-wait` breaks Some(\"servers allocate"],
    );

    // A MUST line whose row is gone (and the counts that no longer add up).
    expect(
        "missing MUST line",
        &with_line(i, None),
        &[
            "rfc8156.txt line 4045 (§8.4.1) has MUST but is not in the table",
            "summary row \"RFC 8156\"",
        ],
    );

    // A row stripped of every reference.
    let j = row_of("§8.5.1 L4121");
    let cells: Vec<&str> = lines[j].split('|').collect();
    let stripped = format!("|{}|{}| |", cells[1], cells[2]);
    expect(
        "row with no coverage",
        &with_line(j, Some(stripped)),
        &["[§8.5.1 L4121]: no coverage"],
    );

    // A row id that names lines of another section, or no MUST.
    let moved = lines[j].replacen("§8.5.1 L4121", "§8.5.1 L4045", 1);
    expect(
        "row in the wrong section",
        &with_line(j, Some(moved)),
        &[
            "line 4045 is in §8.4.1, not §8.5.1",
            "line 4121 (§8.5.1) has MUST",
        ],
    );

    // A §9 SHOULD line whose row is gone, and a §9 row moved to lines with no SHOULD.
    let d = row_of("§9.4 L5027");
    expect(
        "missing §9 SHOULD line",
        &with_line(d, None),
        &[
            "rfc8156.txt line 5027 (§9.4) has SHOULD but is not in the table",
            "summary row \"RFC 8156\"",
        ],
    );
    let no_should = lines[d].replacen("§9.4 L5027", "§9.4 L5022", 1);
    expect(
        "§9 row holding no SHOULD",
        &with_line(d, Some(no_should)),
        &[
            "[§9.4 L5022]: lines 5022-5022 hold no SHOULD",
            "line 5027 (§9.4) has SHOULD",
        ],
    );

    // A missing ambiguity and a missing RFC 7031 item.
    expect(
        "missing A7",
        &with_line(row_of("A7"), None),
        &["ambiguity A7 has no row"],
    );
    expect(
        "missing item 9",
        &with_line(row_of("RFC 7031 §7 item 9"), None),
        &["RFC 7031 §7 item 9 has no row"],
    );

    // A summary that drifted.
    let k = lines
        .iter()
        .position(|l| l.starts_with("| all |"))
        .expect("summary row all");
    let drifted = lines[k].replacen("| all | ", "| all | 1", 1);
    expect(
        "drifted summary",
        &with_line(k, Some(drifted)),
        &["summary row \"all\""],
    );
}

/// Citations a clean clone can follow (issue 20 §4). The code and the docs cite the digest's
/// ambiguities and the project's findings (`A<n>`: `docs/digest.md`, `docs/findings.md`), its
/// readings (`R<n>`: `docs/readings.md`), the core's decisions (`D<n>`:
/// `impl/core/DECISIONS.md`), findings `F<n>` (`docs/findings.md`) and the design draft
/// ("design draft §12": `docs/design-draft.md`). Each must resolve to a definition in the
/// repository, and no file may send the reader outside it (`../shared/`, `/work/shared/`).
mod citations {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::{read, root};

    /// What a citation can name, read from the files that define it.
    #[derive(Default)]
    pub(super) struct Targets {
        /// `A<n>`: `**A<n>.` in docs/digest.md or a `| A<n> |` row of docs/findings.md.
        pub(super) a: BTreeSet<u32>,
        /// `R<n>`: a `| R<n> |` row of docs/readings.md.
        pub(super) r: BTreeSet<u32>,
        /// `D<n>`: a `| D<n> |` row of impl/core/DECISIONS.md.
        pub(super) d: BTreeSet<u32>,
        /// `F<n>`: a `| F<n> |` row of docs/findings.md.
        pub(super) f: BTreeSet<u32>,
        /// "design draft §x": a `## §x` heading of docs/design-draft.md.
        pub(super) draft: BTreeSet<String>,
    }

    /// The numbers `n` of the table rows `| <letter><n> |` in `text`.
    fn row_ids(text: &str, letter: char) -> BTreeSet<u32> {
        text.lines()
            .filter_map(|l| l.strip_prefix("| ")?.strip_prefix(letter))
            .filter_map(|l| l.split(' ').next()?.parse().ok())
            .collect()
    }

    pub(super) fn targets(root: &Path) -> Targets {
        let findings = read(&root.join("docs/findings.md"));
        let mut a = row_ids(&findings, 'A');
        a.extend(
            read(&root.join("docs/digest.md"))
                .lines()
                .filter_map(|l| l.strip_prefix("**A"))
                .filter_map(|l| l.split('.').next()?.parse::<u32>().ok()),
        );
        Targets {
            a,
            r: row_ids(&read(&root.join("docs/readings.md")), 'R'),
            d: row_ids(&read(&root.join("impl/core/DECISIONS.md")), 'D'),
            f: row_ids(&findings, 'F'),
            draft: read(&root.join("docs/design-draft.md"))
                .lines()
                .filter_map(|l| l.strip_prefix("## §"))
                .map(|s| s.trim().to_string())
                .collect(),
        }
    }

    /// The citations of `text` that resolve to nothing, as `"<where>:<line>: <what>"`.
    pub(super) fn unresolved(place: &str, text: &str, t: &Targets) -> Vec<String> {
        let mut errors = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let at = format!("{place}:{}", n + 1);
            for outside in ["../shared/", "/work/shared/"] {
                if line.contains(outside) {
                    errors.push(format!("{at}: points outside the repository ({outside})"));
                }
            }
            let b = line.as_bytes();
            for (i, &c) in b.iter().enumerate() {
                let set = match c {
                    b'A' => &t.a,
                    b'R' => &t.r,
                    b'D' => &t.d,
                    b'F' => &t.f,
                    _ => continue,
                };
                let word_start = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
                let digits: String = line[i + 1..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                let end = i + 1 + digits.len();
                let word_end =
                    end >= b.len() || !(b[end].is_ascii_alphanumeric() || b[end] == b'_');
                if !word_start || !word_end || digits.is_empty() || digits.starts_with('0') {
                    continue;
                }
                let num: u32 = digits.parse().unwrap_or(u32::MAX);
                if !set.contains(&num) {
                    errors.push(format!("{at}: {}{digits} is defined nowhere", c as char));
                }
            }
            let lower = line.to_lowercase();
            for key in ["design draft §", "design-draft §"] {
                for (i, _) in lower.match_indices(key) {
                    let sec: String = line[i + key.len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '.')
                        .collect();
                    let sec = sec.trim_end_matches('.');
                    if !t.draft.contains(sec) {
                        errors.push(format!(
                            "{at}: design draft §{sec} is not in docs/design-draft.md"
                        ));
                    }
                }
            }
        }
        errors
    }

    /// The files whose citations are checked: sources, scripts and docs, not the texts copied in
    /// (the RFC, the draft, the notes: they are what is cited) nor this checker's own tests.
    pub(super) fn cited_files(root: &Path) -> Vec<std::path::PathBuf> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<std::path::PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let p = e.path();
                let name = e.file_name().to_string_lossy().to_string();
                if p.is_dir() {
                    if !matches!(name.as_str(), "target" | "traces" | "snapshots" | "spec")
                        && !name.starts_with('.')
                    {
                        walk(&p, root, out);
                    }
                    continue;
                }
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
                let copied = [
                    "docs/digest.md",
                    "docs/design-draft.md",
                    "docs/stateright-notes.md",
                    "docs/network-lab.md",
                    "tests/traceability.rs",
                    "HANDOFF.md",
                ];
                let kind = ["rs", "md", "sh", "py", "toml"];
                if !copied.contains(&rel.as_str())
                    && p.extension().is_some_and(|x| kind.iter().any(|k| x == *k))
                {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(root, root, &mut out);
        out.sort();
        out
    }

    #[test]
    fn every_citation_resolves_inside_the_repository() {
        let root = root();
        let t = targets(&root);
        assert!(t.a.len() >= 20 && t.r.len() >= 32 && t.d.len() >= 30 && !t.f.is_empty());
        assert!(t.draft.contains("12"), "docs/design-draft.md has §12");
        let files = cited_files(&root);
        assert!(
            files.len() > 50,
            "the walk found the sources: {}",
            files.len()
        );
        let mut errors = Vec::new();
        for f in &files {
            let rel = f.strip_prefix(&root).unwrap().to_string_lossy().to_string();
            errors.extend(unresolved(&rel, &read(f), &t));
        }
        assert!(
            errors.is_empty(),
            "unresolved citations:\n{}",
            errors.join("\n")
        );
    }

    #[test]
    fn the_citation_check_rejects_planted_bad_citations() {
        let t = targets(&root());
        let good = "// reading R2 (A2), decision D8, finding F1, A20; design draft §12. Lease A0.";
        assert_eq!(unresolved("x.rs", good, &t), Vec::<String>::new());
        for (bad, expected) in [
            ("// reading R99", "x.rs:1: R99 is defined nowhere"),
            (
                "// ambiguity A77 of the digest",
                "x.rs:1: A77 is defined nowhere",
            ),
            ("// decision D404", "x.rs:1: D404 is defined nowhere"),
            ("// finding F9", "x.rs:1: F9 is defined nowhere"),
            (
                "// design draft §9.3",
                "x.rs:1: design draft §9.3 is not in docs/design-draft.md",
            ),
            (
                "// see ../shared/spec/rfc8156-digest.md",
                "x.rs:1: points outside the repository (../shared/)",
            ),
            (
                "# facts: /work/shared/guides/network-lab.md",
                "x.rs:1: points outside the repository (/work/shared/)",
            ),
        ] {
            assert_eq!(
                unresolved("x.rs", bad, &t),
                vec![expected.to_string()],
                "{bad}"
            );
        }
    }
}

#[path = "traceability/dependencies.rs"]
mod dependencies;
