//! The `failover` command line as a user meets it: exit statuses, error messages that name the
//! problem, a clean result on a small configuration and a counterexample on a variant.

use std::process::{Command, Output};

fn failover(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_failover"))
        .args(args)
        .output()
        .expect("the failover binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One client, one address, one prefix, one tick: a complete check in well under a second.
const TINY: &[&str] = &[
    "check",
    "--clients",
    "1",
    "--addresses",
    "1",
    "--prefixes",
    "1",
    "--ticks",
    "1",
    "--client-ops",
    "1",
];

#[test]
fn a_small_configuration_holds_and_exits_zero() {
    let out = failover(TINY);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("holds     no address or prefix is held by two clients"),
        "{stdout}"
    );
    assert!(!stdout.contains("VIOLATED"), "{stdout}");
    // Too small to reach everything: listed, explained, and not a failure.
    assert!(
        stdout.contains("NOT REACHED  reach POTENTIAL-CONFLICT"),
        "{stdout}"
    );
    assert!(stdout.contains("not a failure"), "{stdout}");
}

#[test]
fn a_variant_exits_one_and_prints_its_counterexample() {
    let out = failover(&["check", "--variant", "no-mclt-cap", "--stop-on-violation"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout
            .contains("VIOLATED  no lifetime granted outside PARTNER-DOWN exceeds the MCLT bound"),
        "{stdout}"
    );
    assert!(stdout.contains("Counterexample for"), "{stdout}");
    assert!(
        stdout.contains("VIOLATION: a lifetime beyond the MCLT bound was granted"),
        "{stdout}"
    );
    assert!(
        stdout.contains("stopped at the first violation"),
        "{stdout}"
    );
}

#[test]
fn cycles_flag_searches_the_graph_and_reports_that_every_path_ends() {
    let mut args = TINY.to_vec();
    args.push("--cycles");
    let out = failover(&args);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("holds     every path ends (the state graph has no cycle)"),
        "{stdout}"
    );
    // Without the flag the search is not run, and the output says so.
    let out = failover(TINY);
    assert!(text(&out.stdout).contains("(not searched) every path ends"));
}

#[test]
fn a_cycle_exits_one_and_prints_the_steps_that_repeat() {
    // Every state property holds in this variant: only the cycle search refutes it, and it
    // runs by itself for a variant that claims to break "every path ends".
    let out = failover(&["check", "--variant", "resend-rejected-at-once"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("holds     no address or prefix is held by two clients"),
        "{stdout}"
    );
    assert!(
        stdout.contains("VIOLATED  every path ends (the state graph has no cycle)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("come back to the state after step"),
        "{stdout}"
    );
    assert!(stdout.contains("OutdatedBindingInformation"), "{stdout}");
}

#[test]
fn differential_prints_the_minimal_disagreement_and_exits_one() {
    let out = failover(&["differential", "--broken", "no-mclt-cap", "--tests", "50"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("DISAGREEMENT"), "{stdout}");
    assert!(stdout.contains("minimal case: 1 steps"), "{stdout}");
    assert!(
        stdout.contains("until t3"),
        "the longer grant is shown: {stdout}"
    );
    let out = failover(&["differential", "--config", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("unknown --config \"nope\""), "{stderr}");
    assert!(
        stderr.contains("storage-loss"),
        "the known ones are listed: {stderr}"
    );
}

#[test]
fn explain_draws_a_trace_and_check_draws_its_counterexample() {
    let trace = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/traces/coverage/s7.2-normal-binding-active-expired.json"
    );
    let out = failover(&["explain", trace]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("sequenceDiagram"), "{stdout}");
    assert!(stdout.contains("P->>S: BNDUPD P0 ACTIVE"), "{stdout}");

    let dir = std::env::temp_dir().join(format!("failover-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("chart.svg");
    let out = failover(&["explain", trace, "--out", svg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));

    let html = dir.join("cx.html");
    let out = failover(&[
        "check",
        "--variant",
        "no-mclt-cap",
        "--stop-on-violation",
        "--explain",
        html.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("counterexample: no lifetime granted"),
        "{page}"
    );
    assert!(page.contains("SOLICIT/REQUEST prefix"), "{page}");

    // A file name without a known extension, and a file that is not a trace, are named.
    let out = failover(&["check", "--explain", "chart.png"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(".svg, .html or .mmd"));
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"format\": 1}").unwrap();
    let out = failover(&["explain", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("bad.json"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unknown_variant_is_named_and_the_known_ones_listed() {
    let out = failover(&["check", "--variant", "no-such-rule"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("unknown variant 'no-such-rule'"),
        "{stderr}"
    );
    assert!(stderr.contains("no-mclt-cap"), "{stderr}");
}

#[test]
fn nonsense_sizes_are_rejected_with_the_option_named() {
    let out = failover(&["check", "--mclt", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--mclt must be at least 1"),
        "{}",
        text(&out.stderr)
    );

    let out = failover(&["check", "--lifetime", "4", "--settle-ticks", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--settle-ticks (2) is too short"),
        "{}",
        text(&out.stderr)
    );

    let out = failover(&["check", "--clients", "many"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--clients"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_bad_reservation_is_rejected_with_what_is_wrong() {
    for (arg, why) in [
        ("A1", "no ':' between the lease and the client"),
        ("X1:c0", "'X1' is neither A<n> nor P<n>"),
        ("Pz:c0", "'z' is not a prefix number"),
        ("P2:c0", "the configuration has 2 prefix(es)"),
        ("A0:c7", "the configuration has 2 client(s)"),
        ("A0:x", "'x' is not c<n>"),
    ] {
        let out = failover(&["check", "--prefixes", "2", "--reserve", arg]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{arg}: {stderr}");
        assert!(
            stderr.contains(&format!("--reserve {arg}: {why}")),
            "{stderr}"
        );
    }
}

#[test]
fn a_reserved_prefix_is_checked_and_named() {
    // TINY has one client, one address and one prefix.
    let out = failover(&[TINY, &["--reserve", "P0:c0"]].concat());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("reservations (design draft §12): P0 for c0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("holds     reserved-lease-held-only-by-its-client"),
        "{stdout}"
    );
}

#[test]
fn the_json_summary_is_one_object_with_every_verdict() {
    let mut args = TINY.to_vec();
    args.push("--json-summary");
    let out = failover(&args);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(v["complete"], true);
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), 9 + 17);
    assert!(results.iter().any(
        |r| r["property"] == "no address or prefix is held by two clients"
            && r["verdict"] == "held"
    ));
}

#[test]
fn counterexamples_are_written_as_json_files() {
    let dir = std::env::temp_dir().join(format!("failover-cli-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = failover(&[
        "check",
        "--variant",
        "no-mclt-cap",
        "--stop-on-violation",
        "--json",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(files.len(), 1, "one violated property, one file");
    let body = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["steps"].as_array().is_some_and(|s| !s.is_empty()),
        "{body}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn help_lists_every_variant_and_the_exit_statuses() {
    let out = failover(&["check", "--help"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    for v in failover_model::Variant::ALL {
        assert!(
            stdout.contains(v.name()),
            "{} missing from --help",
            v.name()
        );
    }
    assert!(stdout.contains("Exit status"), "{stdout}");
}
