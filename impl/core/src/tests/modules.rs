//! The crate's top-level modules form a DAG (issue 20 §2): data types (`time`, `lease`, `dns`,
//! `reservation`, `message`, `db`, `config`) sit below the behaviour (`endpoint` and its
//! submodules, which hold every `impl Endpoint`), and no data module imports the endpoint or
//! another data module that imports it back.
//!
//! A module's submodules count as the module (`endpoint::bndupd` is `endpoint`); the methods of
//! one type split over files call each other, which is not a dependency between layers. Paths
//! through the crate root's re-exports (`crate::{Binding, Endpoint}`) are resolved to the module
//! that defines the name, using `lib.rs`'s `pub use` lines. The test-only `tests` module is left
//! out: nothing depends on it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level module a source file belongs to (`endpoint/dns.rs` → `endpoint`).
fn top_module(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Names re-exported by the crate root, mapped to the top-level module they come from.
fn root_exports(lib_rs: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let flat = lib_rs.replace('\n', " ");
    for stmt in flat.split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else {
            continue;
        };
        let module = rest.split("::").next().unwrap_or("").trim().to_string();
        let names = match (rest.find('{'), rest.rfind('}')) {
            (Some(a), Some(b)) => rest[a + 1..b].to_string(),
            _ => rest.rsplit("::").next().unwrap_or("").to_string(),
        };
        for n in names.split(',') {
            let n = n.trim();
            if !n.is_empty() {
                map.insert(n.to_string(), module.clone());
            }
        }
    }
    map
}

/// The code of a file without comment lines (doc comments name modules in links and prose).
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| !l.trim_start().starts_with("//"))
}

/// Module → modules it names through `crate::` paths.
fn dependencies(
    files: &[(String, String)],
    exports: &BTreeMap<String, String>,
) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<&str> = files.iter().map(|(m, _)| m.as_str()).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in files {
        let deps = graph.entry(module.clone()).or_default();
        for line in code_lines(text) {
            for (at, _) in line.match_indices("crate::") {
                let rest = &line[at + "crate::".len()..];
                let named: Vec<&str> = if let Some(inner) = rest.strip_prefix('{') {
                    inner.split('}').next().unwrap_or("").split(',').collect()
                } else {
                    vec![rest]
                };
                for n in named {
                    let ident: String = n
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    let target = if modules.contains(ident.as_str()) {
                        Some(ident)
                    } else {
                        exports.get(&ident).cloned()
                    };
                    if let Some(t) = target.filter(|t| t != module) {
                        deps.insert(t);
                    }
                }
            }
        }
    }
    graph
}

/// A cycle in the graph, as the list of modules along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut cycle = path[i..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for d in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, graph, done, path) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        if let Some(c) = visit(m, graph, &mut done, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

/// Every `.rs` file under `src/` except the crate root and the `tests` module, with its module.
fn crate_files(src: &Path) -> Vec<(String, String)> {
    fn walk(dir: &Path, src: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, src, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).unwrap();
                let module = top_module(rel);
                if module != "lib" && module != "tests" {
                    out.push((module, std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(src, src, &mut out);
    out
}

#[test]
fn top_level_modules_import_each_other_in_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let exports = root_exports(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let files = crate_files(&src);
    let graph = dependencies(&files, &exports);
    assert!(graph.len() >= 9, "the walk found the modules: {graph:?}");
    // The layering the split set up: the endpoint uses the data modules, never the reverse.
    assert!(graph["endpoint"].contains("db") && graph["db"].contains("dns"));
    if let Some(cycle) = find_cycle(&graph) {
        panic!("module cycle: {}", cycle.join(" -> "));
    }
    for data in [
        "time",
        "lease",
        "dns",
        "reservation",
        "message",
        "db",
        "config",
    ] {
        assert!(
            !graph[data].contains("endpoint"),
            "data module {data} imports the endpoint"
        );
    }
}

#[test]
fn the_cycle_check_finds_a_planted_cycle() {
    let exports = root_exports("pub use endpoint::{Endpoint, Output};\npub use db::Binding;");
    // `message` reaches `db` through the root's re-export; `db` imports `message` directly.
    let files = vec![
        (
            "message".to_string(),
            "use crate::{Binding, Xid};".to_string(),
        ),
        ("db".to_string(), "use crate::message::Xid;".to_string()),
        (
            "time".to_string(),
            "// crate::db is only named in a comment".to_string(),
        ),
    ];
    let graph = dependencies(&files, &exports);
    assert_eq!(
        find_cycle(&graph),
        Some(vec![
            "db".to_string(),
            "message".to_string(),
            "db".to_string()
        ])
    );
    assert!(graph["time"].is_empty(), "comments are not imports");
    // Without the back edge there is none.
    let acyclic = vec![files[1].clone(), files[2].clone()];
    assert_eq!(find_cycle(&dependencies(&acyclic, &exports)), None);
}
