//! Loading traces: a file, a folder, and the validation that names the field at fault.
//!
//! The format and version are checked before anything else, so that a trace of another version
//! is named as such rather than as a missing field; after the types, `check_bounds` checks
//! what the JSON Schema (`traces/schema.json`) says and the types alone do not.

use std::fs;
use std::path::{Path, PathBuf};

use crate::schema::{Observation, Trace, FORMAT, VERSION};

/// A trace and the file it came from.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The file.
    pub path: PathBuf,
    /// The trace.
    pub trace: Trace,
}

/// Every `*.json` trace under `dir` (recursively, sorted by path; `schema.json`, the JSON
/// Schema of the format, is skipped). The error names the file
/// and, for a malformed trace, the field and position.
pub fn load_dir(dir: &Path) -> Result<Vec<Loaded>, String> {
    let (loaded, bad) = scan_dir(dir)?;
    if bad.is_empty() {
        Ok(loaded)
    } else {
        Err(bad.join("\n"))
    }
}

/// Every `*.json` trace under `dir` that loads, and one error line for every file that does
/// not (naming the file and the field) or whose id another file already has: a folder with a
/// bad trace still runs the others. `Err` only when the folder cannot be read or holds no
/// trace file at all.
pub fn scan_dir(dir: &Path) -> Result<(Vec<Loaded>, Vec<String>), String> {
    let mut files = Vec::new();
    collect(dir, &mut files)
        .map_err(|e| format!("cannot read the traces folder {}: {e}", dir.display()))?;
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.json traces under {}", dir.display()));
    }
    let mut loaded: Vec<Loaded> = Vec::new();
    let mut bad = Vec::new();
    let mut ids: std::collections::BTreeMap<String, PathBuf> = Default::default();
    for p in &files {
        match load_file(p) {
            Ok(l) => match ids.get(&l.trace.id) {
                Some(first) => bad.push(format!(
                    "{}: field \"id\": duplicate id {:?}, already the id of {}",
                    p.display(),
                    l.trace.id,
                    first.display()
                )),
                None => {
                    ids.insert(l.trace.id.clone(), p.clone());
                    loaded.push(l);
                }
            },
            Err(e) => bad.push(e),
        }
    }
    Ok((loaded, bad))
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "json")
            && p.file_name().is_some_and(|n| n != "schema.json")
        {
            out.push(p);
        }
    }
    Ok(())
}

/// One trace file.
pub fn load_file(path: &Path) -> Result<Loaded, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let trace = parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Loaded {
        path: path.to_path_buf(),
        trace,
    })
}

/// Parse a trace, checking the format and version first so that a trace of another version
/// is named as such rather than as a missing field.
pub fn parse(text: &str) -> Result<Trace, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    match v.get("format").and_then(|f| f.as_str()) {
        Some(FORMAT) => {}
        Some(other) => {
            return Err(format!(
                "field \"format\": expected \"{}\", got \"{other}\"",
                FORMAT
            ))
        }
        None => return Err("field \"format\" is missing (not a trace)".into()),
    }
    match v.get("version").and_then(|f| f.as_u64()) {
        Some(n) if n == VERSION as u64 => {}
        Some(n) => {
            return Err(format!(
                "field \"version\": this harness reads version {}, the trace is version {n}",
                VERSION
            ))
        }
        None => return Err("field \"version\" is missing or not a number".into()),
    }
    // The path of the field at fault (`steps[3].expect.servers[0].leases[1].status`), not only
    // a line and column.
    let de = &mut serde_json::Deserializer::from_str(text);
    let t: Trace = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            format!("malformed trace: {}", e.inner())
        } else {
            format!("field \"{path}\": {}", e.inner())
        }
    })?;
    check_bounds(&t)?;
    Ok(t)
}

/// What the JSON Schema (traces/schema.json) says and the types alone do not: the least
/// values, and that every observation lists exactly the two servers.
fn check_bounds(t: &Trace) -> Result<(), String> {
    let at_least_1 = [
        ("config.clients", Some(t.config.clients)),
        ("config.mclt", Some(t.config.mclt)),
        ("config.lifetime", Some(t.config.lifetime)),
        ("config.startup_ticks", Some(t.config.startup_ticks)),
        (
            "config.auto_partner_down",
            t.config.auto_partner_down.or(Some(1)),
        ),
    ];
    for (field, v) in at_least_1 {
        if v == Some(0) {
            return Err(format!("field \"{field}\": must be at least 1, got 0"));
        }
    }
    if let Some(v) = &t.variant {
        if v.diverges_at == Some(0) {
            return Err(
                "field \"variant.diverges_at\": must be at least 1 (or null), got 0".into(),
            );
        }
    }
    let two = |field: String, o: &Observation| {
        if o.servers.len() == 2 {
            Ok(())
        } else {
            Err(format!(
                "field \"{field}.servers\": lists {} server(s); an observation lists exactly two, the primary then the secondary",
                o.servers.len()
            ))
        }
    };
    two("initial".into(), &t.initial)?;
    for (k, s) in t.steps.iter().enumerate() {
        if s.step == 0 {
            return Err(format!(
                "field \"steps[{k}].step\": must be at least 1, got 0"
            ));
        }
        two(format!("steps[{k}].expect"), &s.expect)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn traces_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../traces")
    }

    #[test]
    fn a_malformed_trace_is_named_by_field() {
        let e = parse(r#"{"format": "rfc8156-failover-trace", "version": 9}"#).unwrap_err();
        assert!(e.contains("version 9"), "{e}");
        let e = parse(r#"{"format": "other"}"#).unwrap_err();
        assert!(e.contains("\"format\""), "{e}");
        let good = std::fs::read_to_string(
            traces_dir().join("coverage/s8.3-normal-state-startup-normal.json"),
        )
        .expect("a committed trace");
        let bad = good.replacen("\"type\":\"crash\"", "\"type\":\"explode\"", 1);
        assert_ne!(good, bad, "the trace has a crash step to spoil");
        let e = parse(&bad).unwrap_err();
        assert!(e.starts_with("field \"steps["), "{e}");
    }
}
