//! The file text of a trace: the exact bytes the corpus in `traces/` holds.

use crate::schema::Trace;

/// The file text of a trace: pretty JSON with each step on one line (diffable and compact),
/// ending in a newline. Byte-for-byte the same on every run.
pub fn to_text(t: &Trace) -> String {
    let mut head = t.clone();
    head.steps = Vec::new();
    let mut v = serde_json::to_value(&head).expect("a trace is JSON");
    let obj = v.as_object_mut().expect("an object");
    obj.remove("steps");
    let pretty = serde_json::to_string_pretty(&v).expect("JSON");
    let body = pretty.trim_end().trim_end_matches('}').trim_end();
    let mut out = String::new();
    out.push_str(body);
    out.push_str(",\n  \"steps\": [");
    for (k, s) in t.steps.iter().enumerate() {
        out.push_str(if k == 0 { "\n    " } else { ",\n    " });
        out.push_str(&serde_json::to_string(s).expect("JSON"));
    }
    if !t.steps.is_empty() {
        out.push_str("\n  ");
    }
    out.push_str("]\n}\n");
    out
}

/// The file name of a trace inside its topic folder.
pub fn file_name(t: &Trace) -> String {
    format!("{}.json", t.id)
}
