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
    // The BNDUPD is sent, and nobody delivers it in this trace: it is not drawn as arrived.
    assert!(
        stdout.contains("Note over P: sends m1 BNDUPD P0 ACTIVE"),
        "{stdout}"
    );
    assert!(
        stdout.contains("m1 BNDUPD P0 ACTIVE still in flight at the end"),
        "{stdout}"
    );
    assert!(!stdout.contains("P->>S"), "{stdout}");

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
    // The violating step is marked, with what is wrong.
    assert!(
        page.contains("VIOLATED after step ")
            && page.contains("a grant outside PARTNER-DOWN went past max(now, acked PL) + MCLT"),
        "{page}"
    );
    // And check says where the Explorer shows it.
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "run `failover explore --variant no-mclt-cap --port 3000`, then open\n  http://127.0.0.1:3000/#/steps/0/"
        ),
        "{stdout}"
    );

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
        stdout.contains("holds     a reserved lease is held only by its client"),
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

/// A fresh empty folder under the system's temporary folder, unique to this process and test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("failover-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_search_stopped_at_a_violation_calls_the_rest_undecided_not_held() {
    let out = failover(&["check", "--variant", "no-mclt-cap", "--stop-on-violation"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        !stdout.contains("holds     no address or prefix is held by two clients"),
        "a property the search did not decide is not claimed: {stdout}"
    );
    assert!(
        stdout.contains("undecided no address or prefix is held by two clients"),
        "{stdout}"
    );
    assert!(
        stdout.contains("undecided: the search stopped at the first violation"),
        "{stdout}"
    );
    assert!(!stdout.contains("NOT REACHED"), "{stdout}");

    let out = failover(&[
        "check",
        "--variant",
        "no-mclt-cap",
        "--stop-on-violation",
        "--json-summary",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(v["complete"], false);
    let results = v["results"].as_array().expect("results");
    let of = |p: &str| {
        results
            .iter()
            .find(|r| r["property"] == p)
            .unwrap_or_else(|| panic!("{p} in {v}"))
            .clone()
    };
    let dup = of("no address or prefix is held by two clients");
    assert_eq!(dup["verdict"], "undecided", "{dup}");
    assert!(
        dup["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("the search stopped at the first violation")),
        "{dup}"
    );
    assert_eq!(
        of("no lifetime granted outside PARTNER-DOWN exceeds the MCLT bound")["verdict"],
        "violated"
    );
    assert!(
        !results.iter().any(|r| r["verdict"] == "held"),
        "nothing is held after a partial search: {v}"
    );
}

#[test]
fn a_timeout_is_undecided_with_its_own_exit_status() {
    // The default configuration takes 20-60 s: one second cannot finish it.
    let out = failover(&["check", "--timeout", "1", "--threads", "1"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("undecided no address or prefix is held by two clients"),
        "{stdout}"
    );
    assert!(
        stdout.contains("undecided: the search timed out after"),
        "{stdout}"
    );
    assert!(!stdout.contains("holds     no address"), "{stdout}");
    // The limit is kept: one second explores a fraction of the 11,470,691 states (a search that
    // ignored it ran to the end, about 25 s, and still called itself incomplete).
    let unique: u64 = stdout
        .split("Done: ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no state count: {stdout}"));
    assert!(unique < 11_470_691, "{stdout}");
    let out = failover(&["check", "--help"]);
    let help = text(&out.stdout);
    assert!(
        help.contains("3 the search was incomplete"),
        "the status is documented: {help}"
    );
}

#[test]
fn an_unwritable_output_path_is_refused_before_the_search() {
    let started = std::time::Instant::now();
    // The default configuration would take about a minute: refusing first takes no time.
    let out = failover(&["check", "--explain", "/nonexistent-dir/x/cx.svg"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--explain /nonexistent-dir/x/cx.svg"),
        "{stderr}"
    );
    assert!(
        !text(&out.stdout).contains("Done:"),
        "no search ran: {}",
        text(&out.stdout)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));

    let dir = scratch("unwritable");
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    // A folder path that runs through a file cannot be created.
    let json = file.join("cx");
    let out = failover(&["check", "--json", json.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--json"), "{stderr}");
    assert!(!text(&out.stdout).contains("Done:"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_counterexample_written_by_check_is_read_by_explain_conform_and_itf() {
    let dir = scratch("cx-trace");
    let out = failover(&[
        "check",
        "--variant",
        "no-mclt-cap",
        "--stop-on-violation",
        "--json",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let f = file.to_str().unwrap();
    let out = failover(&["explain", f]);
    assert_eq!(out.status.code(), Some(0), "explain: {}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("sequenceDiagram"));
    let out = failover(&["traces", "itf", f]);
    assert_eq!(out.status.code(), Some(0), "itf: {}", text(&out.stderr));
    // A negative trace: the RFC's expectations, which our implementation meets, and the step
    // where an implementation with the variant's mistake leaves them.
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(v["variant"]["name"], "no-mclt-cap", "{v}");
    assert!(v["variant"]["diverges_at"].is_u64(), "{v}");
    let out = failover(&["conform", "--traces", dir.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "conform: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = failover(&[
        "conform",
        "--traces",
        dir.to_str().unwrap(),
        "--broken",
        "no-mclt-cap",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_reader_that_goes_away_is_no_panic() {
    use std::io::Read;
    use std::process::Stdio;
    // `failover check ... | head -c 10`: the reader closes the pipe after a few bytes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_failover"))
        .args(["check", "--variant", "no-mclt-cap", "--stop-on-violation"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The pipe is closed now (its read end dropped).
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(status.code(), Some(101), "a panic's exit status: {stderr}");
}

const A_TRACE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/traces/coverage/s7.2-normal-binding-active-expired.json"
);

/// A corpus trace as JSON, to be changed by a test.
fn a_trace() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(A_TRACE).unwrap()).unwrap()
}

fn write_json(path: &std::path::Path, v: &serde_json::Value) {
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

#[test]
fn a_trace_listing_one_server_is_refused_by_name_not_a_panic() {
    let dir = scratch("one-server");
    let mut t = a_trace();
    t["initial"]["servers"].as_array_mut().unwrap().pop();
    let f = dir.join("one.json");
    write_json(&f, &t);
    for args in [
        vec!["explain", f.to_str().unwrap()],
        vec!["traces", "itf", f.to_str().unwrap()],
    ] {
        let out = failover(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains("initial.servers"), "{args:?}: {stderr}");
    }
    let mut t = a_trace();
    t["steps"][2]["expect"]["servers"]
        .as_array_mut()
        .unwrap()
        .pop();
    write_json(&f, &t);
    let out = failover(&["explain", f.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("steps[2].expect.servers"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn traces_itf_checks_the_format_and_a_type_error_names_its_field() {
    let dir = scratch("itf");
    let f = dir.join("t.json");
    let mut t = a_trace();
    t["version"] = serde_json::json!(9);
    write_json(&f, &t);
    let out = failover(&["traces", "itf", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("field \"version\""),
        "{}",
        text(&out.stderr)
    );
    let mut t = a_trace();
    t["steps"][1]["expect"]["servers"][0]["leases"][0]["status"] = serde_json::json!(7);
    write_json(&f, &t);
    for args in [
        vec!["traces", "itf", f.to_str().unwrap()],
        vec!["explain", f.to_str().unwrap()],
    ] {
        let out = failover(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("steps[1].expect.servers[0].leases[0].status"),
            "{args:?}: {stderr}"
        );
    }
    // 8-bit fields: the schema's bounds are the loader's.
    let mut t = a_trace();
    t["config"]["mclt"] = serde_json::json!(256);
    write_json(&f, &t);
    let out = failover(&["explain", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("config.mclt"),
        "{}",
        text(&out.stderr)
    );
    let mut t = a_trace();
    t["config"]["clients"] = serde_json::json!(0);
    write_json(&f, &t);
    let out = failover(&["explain", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("config.clients"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_schema_bounds_every_8_bit_field_as_the_loader_does() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/traces/schema.json"))
            .unwrap(),
    )
    .unwrap();
    // The integer fields of the format that are not 8-bit (counts of steps).
    let wide = ["step", "diverges_at", "dropped_steps", "version"];
    let mut seen = 0;
    fn walk(v: &serde_json::Value, name: &str, wide: &[&str], seen: &mut usize) {
        match v {
            serde_json::Value::Object(m) => {
                let integer = match &m.get("type") {
                    Some(serde_json::Value::String(t)) => t == "integer",
                    Some(serde_json::Value::Array(a)) => a.iter().any(|t| t == "integer"),
                    _ => false,
                };
                if integer && !wide.contains(&name) {
                    *seen += 1;
                    assert_eq!(
                        m.get("maximum"),
                        Some(&serde_json::json!(255)),
                        "schema field {name}: the loader reads it as 8 bits"
                    );
                }
                for (k, x) in m {
                    let n = if k == "properties" || k == "items" || k.starts_with('$') {
                        name
                    } else {
                        k.as_str()
                    };
                    walk(x, n, wide, seen);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, name, wide, seen)),
            _ => {}
        }
    }
    walk(&schema, "", &wide, &mut seen);
    assert!(seen >= 10, "{seen} 8-bit fields found");
}

#[test]
fn conform_reports_every_bad_file_runs_the_rest_and_fails() {
    let dir = scratch("bad-folder");
    std::fs::copy(A_TRACE, dir.join("good.json")).unwrap();
    // The same id twice, a field of the wrong type, and not a trace at all.
    std::fs::copy(A_TRACE, dir.join("same-id.json")).unwrap();
    let mut t = a_trace();
    t["id"] = serde_json::json!("another");
    t["config"]["lifetime"] = serde_json::json!("two");
    write_json(&dir.join("typo.json"), &t);
    std::fs::write(dir.join("junk.json"), "{\"hello\": 1}").unwrap();
    let out = failover(&["conform", "--traces", dir.to_str().unwrap()]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("junk.json: field \"format\" is missing"),
        "{stderr}"
    );
    assert!(
        stderr.contains("typo.json: field \"config.lifetime\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("same-id.json: field \"id\": duplicate id"),
        "{stderr}"
    );
    assert!(
        stdout.contains("1 traces: 1 passed"),
        "the good one ran: {stdout}"
    );
    // Progress lines in a log (stderr is a pipe here).
    assert!(stderr.contains("[1/1] pass"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn conform_says_what_matched_nothing() {
    let out = failover(&["conform", "--only", "no-such-trace"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr.contains("tags []"), "{stderr}");
    assert!(
        stderr.contains("has an id containing \"no-such-trace\""),
        "{stderr}"
    );
}

#[test]
fn conform_sut_cmd_is_split_as_a_shell_does_and_a_silent_server_times_out() {
    let dir = scratch("sut-cmd");
    std::fs::copy(A_TRACE, dir.join("a.json")).unwrap();
    let mut t = a_trace();
    t["id"] = serde_json::json!("second");
    write_json(&dir.join("b.json"), &t);
    // A quoted argument with a space in it: our server behind a script of that name.
    let script = dir.join("my adapter.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec '{}' sut-stdio\n",
            env!("CARGO_BIN_EXE_failover")
        ),
    )
    .unwrap();
    let cmd = format!("sh '{}'", script.display());
    let out = failover(&[
        "conform",
        "--traces",
        dir.to_str().unwrap(),
        "--sut-cmd",
        &cmd,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // A server that says hello, then never answers: each trace times out, and the run goes on.
    let silent = dir.join("silent.py");
    std::fs::write(
        &silent,
        "import json, sys, time\nfor line in sys.stdin:\n    if json.loads(line)['type'] == 'hello':\n        print(json.dumps({'name': 'silent', 'protocol': 1}), flush=True)\n    else:\n        time.sleep(600)\n",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = failover(&[
        "conform",
        "--traces",
        dir.to_str().unwrap(),
        "--sut-cmd",
        &format!("python3 {}", silent.display()),
        "--request-timeout",
        "1",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("2 traces: 0 passed, 0 diverged, 2 errors"),
        "{stdout}"
    );
    assert!(stdout.contains("timed out"), "{stdout}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `failover sut-stdio` fed these lines: its answers, one per line.
fn sut_stdio(lines: &[&[u8]]) -> Vec<serde_json::Value> {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_failover"))
        .arg("sut-stdio")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for l in lines {
        stdin.write_all(l).unwrap();
        stdin.write_all(b"\n").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "serving never exits on a bad request"
    );
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn start_line() -> String {
    let t = failover_conformance::runner::load_file(std::path::Path::new(A_TRACE)).unwrap();
    let cfg = failover_conformance::mapping::Mapping::new(&t.trace.config).sut_config();
    serde_json::json!({"type": "start", "config": cfg}).to_string()
}

#[test]
fn sut_stdio_answers_every_bad_request_with_a_named_error() {
    let start = start_line();
    let mut bad_cfg: serde_json::Value = serde_json::from_str(&start).unwrap();
    bad_cfg["config"]["colour"] = serde_json::json!("blue");
    let bad_cfg = bad_cfg.to_string();
    let mut refused: serde_json::Value = serde_json::from_str(&start).unwrap();
    refused["config"]["init"] = serde_json::json!("sideways");
    let refused = refused.to_string();
    let t0 = serde_json::from_str::<serde_json::Value>(&start).unwrap()["config"]["start_time"]
        .as_u64()
        .unwrap();
    let tick = format!(r#"{{"type":"event","time":{t0},"event":{{"type":"tick"}}}}"#);
    let reset = format!(
        r#"{{"type":"event","time":{t0},"event":{{"type":"reset-lease","server":"primary","lease":"2001:db8::ffff"}}}}"#
    );
    let answers = sut_stdio(&[
        b"\xff\xfe not utf-8",
        b"42",
        b"null",
        start.as_bytes(),
        br#"{"type":"hello","protocol":1}"#,
        bad_cfg.as_bytes(),
        start.as_bytes(),
        reset.as_bytes(),
        refused.as_bytes(),
        tick.as_bytes(),
    ]);
    let err = |k: usize| answers[k]["error"].as_str().unwrap_or_default().to_string();
    assert_eq!(answers.len(), 10, "{answers:?}");
    assert!(err(0).contains("not UTF-8"), "{}", err(0));
    assert!(err(1).contains("a request is a JSON object"), "{}", err(1));
    assert!(err(2).contains("a request is a JSON object"), "{}", err(2));
    assert!(err(3).contains("start before hello"), "{}", err(3));
    assert_eq!(answers[4]["protocol"], 1);
    assert!(err(5).contains("unknown field `colour`"), "{}", err(5));
    assert!(answers[6]["observation"].is_object(), "{}", answers[6]);
    assert!(
        err(7).contains("unknown lease \"2001:db8::ffff\""),
        "{}",
        err(7)
    );
    assert!(err(8).contains("sideways"), "{}", err(8));
    assert!(
        err(9).contains("after a refused configuration"),
        "{}",
        err(9)
    );
}

#[test]
fn the_python_adapter_names_the_field_and_never_prints_a_traceback() {
    use std::io::Write;
    let adapter = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/conformance/adapters/python/adapter.py"
    );
    let Ok(mut child) = Command::new("python3")
        .args([adapter, env!("CARGO_BIN_EXE_failover"), "sut-stdio"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("python3 is not installed: skipped");
        return;
    };
    let mut stdin = child.stdin.take().unwrap();
    for l in [
        "42",
        "null",
        r#"{"type":"hello","protocol":1}"#,
        r#"{"type":"start","config":{"mclt":"60"}}"#,
        r#"{"type":"event","time":"x","event":{}}"#,
    ] {
        writeln!(stdin, "{l}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("Traceback"), "{stderr}");
    let answers: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 5, "{answers:?}");
    let err = |k: usize| answers[k]["error"].as_str().unwrap_or_default().to_string();
    assert!(err(0).contains("a request is a JSON object"), "{}", err(0));
    assert!(err(1).contains("got null"), "{}", err(1));
    assert!(err(3).contains("field 'mclt'"), "{}", err(3));
    assert!(err(4).contains("field 'time'"), "{}", err(4));
}

#[test]
fn explore_on_port_0_prints_the_port_it_serves_on() {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_failover"))
        .args([
            "explore",
            "--port",
            "0",
            "--clients",
            "1",
            "--prefixes",
            "0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let port = line
        .trim()
        .rsplit_once("127.0.0.1:")
        .and_then(|(_, p)| p.trim_end_matches('/').parse::<u16>().ok());
    assert!(port.is_some_and(|p| p != 0), "{line}");
}

#[test]
fn help_texts_say_what_the_commands_do() {
    let check = text(&failover(&["check", "--help"]).stdout);
    assert!(
        check.contains("starts from the DNS configuration (1 client,"),
        "{check}"
    );
    let explore = text(&failover(&["explore", "--help"]).stdout);
    assert!(explore.contains("see the list below"), "{explore}");
    assert!(
        explore.contains("no-mclt-cap"),
        "the list is there: {explore}"
    );
    let generate = text(&failover(&["traces", "generate", "--help"]).stdout);
    assert!(!generate.contains("into DIR"), "{generate}");
}

#[test]
fn differential_saves_its_minimal_case_as_a_trace_every_tool_reads() {
    let dir = scratch("differential-save");
    let out = failover(&[
        "differential",
        "--broken",
        "no-mclt-cap",
        "--tests",
        "50",
        "--save",
        dir.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    // The actions in words, not a Rust debug dump.
    assert!(
        stdout.contains("1. c0 asks primary for a new prefix"),
        "{stdout}"
    );
    assert!(!stdout.contains("Request("), "{stdout}");
    let file = dir.join("differential-default-seed-1.json");
    let out = failover(&["conform", "--traces", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = failover(&[
        "conform",
        "--traces",
        dir.to_str().unwrap(),
        "--broken",
        "no-mclt-cap",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the case still shows the mistake"
    );
    let out = failover(&["explain", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn differential_runs_against_an_external_program() {
    let cmd = format!(
        "'{}' sut-stdio --broken no-mclt-cap",
        env!("CARGO_BIN_EXE_failover")
    );
    let out = failover(&["differential", "--tests", "50", "--sut-cmd", &cmd]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("DISAGREEMENT"), "{stdout}");
    assert!(
        text(&out.stderr).contains("against failover-core"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_committed_corpus_is_what_traces_generate_check_generates() {
    // The one whole generation of the corpus in `cargo test` (about 45 s): the committed traces
    // are what the model generates now, checked as a user checks them, with the progress
    // messages of a long run.
    let traces = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("traces");
    let out = failover(&[
        "traces",
        "generate",
        "--check",
        "--out",
        traces.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "traces/ differs from the model's output; run `cargo run --release -- traces generate`:\n{stderr}"
    );
    assert!(
        stdout.contains("committed traces are what the model generates"),
        "{stdout}"
    );
    assert!(
        stderr.starts_with("generating the corpus from the model"),
        "{stderr}"
    );
    assert!(stderr.contains("... done in"), "{stderr}");
}
