//! The harness depends on no implementation (issue 20 §1): the library `failover-conformance`
//! links, through its normal and build dependencies, none of our implementation's crates, the
//! model or stateright, so testing someone else's server builds neither. Read from the resolved
//! dependency graph of `cargo metadata --offline`; the check is itself tested on a graph where
//! the harness links the implementation.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The crate that must stay neutral.
const HARNESS: &str = "failover-conformance";

/// What it must not reach: our implementation, the model and the model checker.
const FORBIDDEN: [&str; 7] = [
    "failover-core",
    "failover-dns",
    "failover-model",
    "failover-node",
    "failover-store",
    "failover-daemon",
    "stateright",
];

/// The resolved graph of the workspace, as `cargo metadata` prints it.
fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--manifest-path",
        ])
        .arg(root.join("Cargo.toml"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{cargo} metadata`: {e}"));
    assert!(
        out.status.success(),
        "`cargo metadata --offline` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// Every forbidden package reachable from package `root` through normal or build dependencies
/// (dev-dependencies are not followed: they build tests, not the library), each with the chain
/// of packages that reaches it.
fn forbidden_reachable(meta: &Value, root: &str, forbidden: &[&str]) -> Vec<String> {
    let name_of: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().expect("resolve.nodes") {
        let id = node["id"].as_str().unwrap();
        for dep in node["deps"].as_array().into_iter().flatten() {
            let linked = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null() || k["kind"] == "build");
            if linked {
                edges
                    .entry(id)
                    .or_default()
                    .push(dep["pkg"].as_str().unwrap());
            }
        }
    }
    let start = name_of
        .iter()
        .find(|(_, n)| **n == root)
        .map(|(id, _)| *id)
        .unwrap_or_else(|| panic!("no package {root} in the graph"));
    // Breadth first, remembering the parent, so each finding names the shortest chain.
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut seen = BTreeSet::from([start]);
    let mut queue = VecDeque::from([start]);
    let mut found = Vec::new();
    while let Some(id) = queue.pop_front() {
        if forbidden.contains(&name_of[id]) {
            let mut chain = vec![name_of[id]];
            let mut at = id;
            while let Some(p) = parent.get(at) {
                chain.push(name_of[p]);
                at = p;
            }
            chain.reverse();
            found.push(chain.join(" -> "));
        }
        for &d in edges.get(id).into_iter().flatten() {
            if seen.insert(d) {
                parent.insert(d, id);
                queue.push_back(d);
            }
        }
    }
    found
}

#[test]
fn the_harness_library_links_no_implementation_no_model_and_no_stateright() {
    let found = forbidden_reachable(&metadata(), HARNESS, &FORBIDDEN);
    assert!(
        found.is_empty(),
        "{HARNESS} must depend on failover-proto, failover-trace, serde and codec crates only; it reaches:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_dependency_check_finds_an_implementation_the_harness_reaches_indirectly() {
    // The real graph with one edge added, as if the harness depended on the replay adapters
    // again: the check must name the chain to each crate the adapters link.
    let mut meta = metadata();
    let before = forbidden_reachable(&meta, HARNESS, &FORBIDDEN);
    let id_of = |m: &Value, name: &str| {
        m["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["id"].clone())
            .unwrap_or_else(|| panic!("no package {name}"))
    };
    let (harness, replay) = (id_of(&meta, HARNESS), id_of(&meta, "failover-replay"));
    let node = meta["resolve"]["nodes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|n| n["id"] == harness)
        .expect("the harness's node");
    node["deps"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "name": "failover_replay",
            "pkg": replay,
            "dep_kinds": [{ "kind": null, "target": null }],
        }));
    let found = forbidden_reachable(&meta, HARNESS, &FORBIDDEN);
    for want in [
        "failover-core",
        "failover-dns",
        "failover-model",
        "stateright",
    ] {
        assert!(
            found
                .iter()
                .any(|c| c.starts_with("failover-conformance -> failover-replay")
                    && c.ends_with(want)),
            "the check misses {want} behind failover-replay: {found:?}"
        );
    }
    // A dev-dependency is not a link of the library.
    let node = meta["resolve"]["nodes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|n| n["id"] == harness)
        .unwrap();
    node["deps"].as_array_mut().unwrap().last_mut().unwrap()["dep_kinds"] =
        serde_json::json!([{ "kind": "dev", "target": null }]);
    assert_eq!(forbidden_reachable(&meta, HARNESS, &FORBIDDEN), before);
}
