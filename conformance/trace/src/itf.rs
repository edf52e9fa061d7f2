//! Export to the Informal Trace Format (ITF) of Apalache and Quint.

use crate::schema::{Observation, Trace, FORMAT, VERSION};

/// The trace in the Informal Trace Format (ITF) of Apalache and Quint: `#meta`, `vars`, and one
/// state per step holding the observation, the event that led to it and the clock. Integers are
/// written as `{"#bigint": "n"}`, optional values as their value or `"none"`, lists as JSON
/// arrays, records as objects.
pub fn to_itf(t: &Trace) -> serde_json::Value {
    use serde_json::{json, Value};
    fn big(n: u64) -> Value {
        json!({ "#bigint": n.to_string() })
    }
    fn conv(v: &Value) -> Value {
        match v {
            Value::Null => Value::String("none".into()),
            Value::Number(n) => match n.as_u64() {
                Some(u) => big(u),
                None => Value::Number(n.clone()),
            },
            Value::Array(a) => Value::Array(a.iter().map(conv).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), conv(v))).collect())
            }
            other => other.clone(),
        }
    }
    let mut states = Vec::new();
    let obs = |o: &Observation| conv(&serde_json::to_value(o).expect("JSON"));
    states.push(json!({
        "#meta": { "index": 0 },
        "step": big(0),
        "time": big(1),
        "event": { "type": "init" },
        "obs": obs(&t.initial),
    }));
    for s in &t.steps {
        states.push(json!({
            "#meta": { "index": s.step },
            "step": big(s.step as u64),
            "time": big(s.time as u64),
            "event": conv(&serde_json::to_value(&s.event).expect("JSON")),
            "obs": obs(&s.expect),
        }));
    }
    json!({
        "#meta": {
            "format": "ITF",
            "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
            "source": format!("{} v{}: {}", FORMAT, VERSION, t.id),
            "description": t.title,
        },
        "vars": ["step", "time", "event", "obs"],
        "states": states,
    })
}

#[cfg(test)]
mod tests {
    use super::to_itf;
    use crate::load_file;

    fn traces_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../traces")
    }

    #[test]
    fn itf_export_has_one_state_per_step_plus_the_initial_one() {
        let t = load_file(&traces_dir().join("negative/s4.4-variant-no-mclt-cap.json"))
            .expect("a committed trace");
        let itf = to_itf(&t.trace);
        let states = itf["states"].as_array().expect("states");
        assert_eq!(states.len(), t.trace.steps.len() + 1);
        assert_eq!(itf["vars"].as_array().map(|v| v.len()), Some(4));
        assert!(states[1]["time"]["#bigint"].is_string());
    }
}
