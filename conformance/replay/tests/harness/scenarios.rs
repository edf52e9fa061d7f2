//! The RFC scenarios of `conformance/scenarios/`: every case passes or deviates by the reading
//! it names on failover-core; deliberately broken builds are caught by named cases; malformed
//! files get errors naming the file and the field.

use std::path::{Path, PathBuf};

use failover_conformance::scenario::{self, CaseResult, Outcome};
use failover_replay::scenario_core::{CoreBreakage, CoreTarget};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn run_all(breakage: Option<CoreBreakage>) -> Vec<CaseResult> {
    let (files, bad) = scenario::load_dir(&dir()).expect("scenarios folder");
    assert!(
        bad.is_empty(),
        "scenario files that do not load:\n{}",
        bad.join("\n")
    );
    scenario::run(&mut CoreTarget { breakage }, &files, None)
}

#[test]
fn every_scenario_passes_or_deviates_by_its_named_reading_on_failover_core() {
    let results = run_all(None);
    assert!(results.len() >= 100, "only {} cases", results.len());
    let bad: Vec<String> = results
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Passed | Outcome::Deviates { .. }))
        .map(|r| format!("{}: {:?}", r.id, r.outcome))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // A case that names a reading must actually deviate: if the implementation did the literal
    // thing, the case's `reading` would be wrong.
    let (files, _) = scenario::load_dir(&dir()).unwrap();
    for f in &files {
        for c in &f.file.cases {
            let r = results.iter().find(|r| r.id == c.id).unwrap();
            match (&c.reading, &r.outcome) {
                (Some(n), Outcome::Deviates { reading, .. }) => assert_eq!(n, reading),
                (Some(n), o) => panic!("{}: names reading {n} but {o:?}", c.id),
                (None, _) => {}
            }
        }
    }
}

fn outcome<'a>(results: &'a [CaseResult], id: &str) -> &'a Outcome {
    &results
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no case {id}"))
        .outcome
}

/// Each breakage fails named cases that the real implementation passes.
#[test]
fn broken_builds_are_caught_by_named_scenarios() {
    let good = run_all(None);
    for (breakage, ids) in [
        (
            CoreBreakage::AcceptEveryBndupd,
            &[
                "7.5.4-figure4-free-vs-active-earlier-rejected",
                "7.5.4-figure4-active-vs-expired-local-unexpired-rejected",
                "7.5.4-figure4-active-vs-active-other-client-at-primary-clt-earlier-address-in-use",
            ][..],
        ),
        (
            CoreBreakage::NoMcltCap,
            &["4.4.1-mclt-example-first-grant-is-capped-at-mclt"][..],
        ),
        (
            CoreBreakage::IgnorePartnerDownCommand,
            &["8.9.2-communications-interrupted-external-command-partner-down"][..],
        ),
    ] {
        let broken = run_all(Some(breakage));
        for id in ids {
            assert_eq!(
                outcome(&good, id),
                &Outcome::Passed,
                "{id} on the real build"
            );
            assert!(
                matches!(outcome(&broken, id), Outcome::Failed { .. }),
                "{breakage:?} not caught by {id}: {:?}",
                outcome(&broken, id)
            );
        }
    }
}

fn parse_err(text: &str) -> String {
    scenario::parse(Path::new("bad.toml"), text).expect_err("must not load")
}

const GOOD_HEAD: &str = r#"
title = "t"
sections = ["7.5.4"]
[[case]]
id = "x"
rfc = "§7.5.4"
[case.given]
role = "secondary"
state = "NORMAL"
"#;

#[test]
fn malformed_scenario_files_get_errors_naming_the_file_and_field() {
    // An unknown binding status.
    let e = parse_err(&format!(
        "{GOOD_HEAD}[case.when.bndupd]\naddress = \"2001:db8::1\"\nstatus = \"FRE\"\n[case.then]\n"
    ));
    assert!(
        e.starts_with("bad.toml: field \"case[0].when.bndupd.status\""),
        "{e}"
    );
    // A misspelt field.
    let e = parse_err(&format!(
        "{GOOD_HEAD}[case.when]\ntimer = true\n[case.then]\nstat = \"NORMAL\"\n"
    ));
    assert!(e.contains("case[0].then") && e.contains("stat"), "{e}");
    // No event.
    let e = parse_err(&format!("{GOOD_HEAD}[case.when]\n[case.then]\n"));
    assert!(
        e.contains("\"case[0].when\"") && e.contains("exactly one event"),
        "{e}"
    );
    // A reading without its outcome.
    let e = parse_err(&format!(
        "{GOOD_HEAD}reading = \"R11\"\n[case.when]\ntimer = true\n[case.then]\n"
    ));
    assert!(
        e.contains("case[0].given.reading") || e.contains("case[0]."),
        "{e}"
    );
    // An unknown status code in `reply`.
    let e = parse_err(&format!(
        "{GOOD_HEAD}[case.when.bndupd]\naddress = \"2001:db8::1\"\nstatus = \"FREE\"\n[case.then]\nreply = \"Outdated\"\n"
    ));
    assert!(
        e.contains("case[0].then.reply") && e.contains("OutdatedBindingInformation"),
        "{e}"
    );
    // A bad address.
    let e = parse_err(&format!(
        "{GOOD_HEAD}[case.when.bndupd]\naddress = \"2001:db8::zz\"\nstatus = \"FREE\"\n[case.then]\n"
    ));
    assert!(e.contains("case[0].when.bndupd.address"), "{e}");
}

#[test]
fn a_folder_with_a_bad_file_reports_it_and_loads_the_others() {
    let tmp = std::env::temp_dir().join(format!("scenarios-bad-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(
        tmp.join("a.toml"),
        format!("{GOOD_HEAD}[case.when]\ntimer = true\n[case.then]\n"),
    )
    .unwrap();
    std::fs::write(tmp.join("b.toml"), "title = 1\n").unwrap();
    std::fs::write(
        tmp.join("c.toml"),
        format!("{GOOD_HEAD}[case.when]\ntimer = true\n[case.then]\n"),
    )
    .unwrap();
    let (ok, bad) = scenario::load_dir(&tmp).unwrap();
    std::fs::remove_dir_all(&tmp).unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(bad[0].contains("b.toml: field \"title\""), "{}", bad[0]);
    assert!(
        bad[1].contains("c.toml: field \"case[0].id\": duplicate id"),
        "{}",
        bad[1]
    );
}
