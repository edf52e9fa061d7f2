//! Issue 16: `--pcap` together with `--sut-start`: the harness starts the servers itself and
//! writes one capture per test into the `--pcap` folder, each holding that test's connections
//! only, readable as RFC 8156 by the project's capture reader (what `failover explain --pcap` and
//! the Wireshark dissector use).

use std::process::Command;

use failover_conformance::capture::read_capture;
use failover_conformance::wire::pcap_file_name;
use serde_json::Value;

use super::BIN;

#[test]
fn pcap_with_sut_start_writes_one_capture_per_test_with_that_tests_messages() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wire.toml");
    std::fs::write(
        &cfg,
        "role = \"secondary\"\ntarget = \"[::1]:647\"\ndhcp = \"[::1]:547\"\nmclt = 2\n\
         keepalive = 6\nvalid_lifetime = 30\nreconnect_max = 1\n\
         address_range = \"2001:db8:1::100-2001:db8:1::13f\"\n",
    )
    .unwrap();
    let caps = dir.path().join("caps");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/wire-sut-failover.sh");
    let out = Command::new(BIN)
        .args([
            "conform", "--wire", "--json", "--jobs", "2", "--only", "6.1.2/",
        ])
        .arg("--sut-config")
        .arg(&cfg)
        .arg("--sut-start")
        .arg(format!("{script} secondary {{port}} {{dhcp}} {{dir}}"))
        .arg("--pcap")
        .arg(&caps)
        .env("BIN", BIN)
        .env_remove("FAILOVER_BREAK")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    let mut sizes = Vec::new();
    for r in report["results"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        let file = caps.join(pcap_file_name(id));
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if r["verdict"] == "pass" {
            let cap = read_capture(&bytes, 647).unwrap();
            // A passed test exchanged messages, on its own connection(s) only: one CONNECT from
            // the harness in each of these §6.1.2 tests.
            let connects = cap
                .messages
                .iter()
                .filter(|m| {
                    m.message
                        .as_ref()
                        .is_ok_and(|x| x.kind() == Ok(failover_proto::MsgKind::Connect))
                })
                .count();
            assert!(!cap.messages.is_empty(), "{id}: empty capture");
            assert_eq!(
                cap.connections.len(),
                1,
                "{id}: {:?}",
                cap.connections.len()
            );
            assert!(connects <= 1, "{id}: {connects} CONNECTs");
        }
        sizes.push((id.to_string(), r["verdict"].clone(), bytes.len()));
    }
    // 6.1.2 as secondary: three tests pass (relationship-name needs a configured name: n/a,
    // its capture empty).
    let passed = sizes.iter().filter(|(_, v, _)| v == "pass").count();
    assert_eq!(passed, 3, "{sizes:?}");
}
