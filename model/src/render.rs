//! Counterexamples for people: a numbered list of steps (who did what, which states and leases
//! changed, which messages went out), and the same path as JSON. The list is computed by
//! comparing consecutive states, not by the protocol code, so it shows what happened rather
//! than what the code meant to do.

use serde::Serialize;
use stateright::Path;

use crate::model::{Action, FailoverModel};
use crate::names;
use crate::state::{role, LeaseId, State};

/// The changes between two consecutive states, one line each.
pub fn changes(model: &FailoverModel, before: &State, after: &State) -> Vec<String> {
    let a = Some(model.cfg.addresses);
    let mut out = Vec::new();
    for i in 0..2 {
        let (x, y) = (&before.servers[i], &after.servers[i]);
        let r = role(i);
        if x.up && !y.up {
            out.push(format!("{r} is down"));
        }
        if x.state != y.state || (!x.up && y.up) {
            out.push(format!("{r}: {} -> {}", x.state, y.state));
        }
        if x.comm_ok != y.comm_ok && y.up {
            out.push(format!(
                "{r}: communications {}",
                if y.comm_ok { "OK" } else { "not OK" }
            ));
        }
        for (l, (p, q)) in x.leases.iter().zip(y.leases.iter()).enumerate() {
            if p.status != q.status
                || p.client != q.client
                || p.expiry != q.expiry
                || p.fqdn != q.fqdn
                || p.dns_added != q.dns_added
                || p.dns_ops != q.dns_ops
            {
                out.push(format!(
                    "{r} {}: {:?} -> {:?}",
                    names::lease(a, l as LeaseId),
                    p,
                    q
                ));
            }
        }
    }
    for i in 0..2 {
        let (x, y) = (&before.chan[i], &after.chan[i]);
        // Messages appended at the tail were sent in this step.
        let consumed = x.len().saturating_sub(y.len().min(x.len()));
        let kept = x.len() - consumed.min(x.len());
        let sent = y.len().saturating_sub(kept);
        for m in &y[y.len() - sent..] {
            out.push(format!(
                "{} -> {}: {}",
                role(i),
                role(1 - i),
                names::msg(a, m)
            ));
        }
    }
    for (c, (p, q)) in before.clients.iter().zip(after.clients.iter()).enumerate() {
        if p != q {
            match q {
                Some(h) => out.push(format!("c{c} {}", names::holding(a, h))),
                None => out.push(format!("c{c} holds nothing")),
            }
        }
    }
    if !before.monitor.any() && after.monitor.any() {
        let m = &after.monitor;
        let seen = [
            (
                m.mclt_exceeded,
                "a lifetime beyond the MCLT bound was granted",
            ),
            (m.foreign_pool, "a server allocated from its partner's pool"),
            (
                m.unresponsive_answered,
                "a server answered a client in a state that must not",
            ),
            (
                m.refused_with_free_lease,
                "a server with a free lease of its own refused a client",
            ),
            (
                m.lease_lost_on_failover,
                "a client could not keep its lease with the partner",
            ),
        ];
        for (_, what) in seen.iter().filter(|(on, _)| *on) {
            out.push(format!("VIOLATION: {what}"));
        }
    }
    out
}

/// A readable numbered step list for a path.
pub fn steps(model: &FailoverModel, path: &Path<State, Action>) -> String {
    let v = path.clone().into_vec();
    let mut out = String::new();
    let mut n = 0;
    // Pairs (state before, action, state after).
    for (k, w) in v.windows(2).enumerate() {
        let (before, action) = (&w[0].0, w[0].1.as_ref());
        let after = &w[1].0;
        let Some(action) = action else { continue };
        n = k + 1;
        out.push_str(&format!(
            "{:>3}. [t{}] {}\n",
            n,
            before.now,
            model.describe(action)
        ));
        for line in changes(model, before, after) {
            out.push_str(&format!("       {line}\n"));
        }
    }
    if n == 0 {
        out.push_str("  (the initial state)\n");
    }
    out
}

/// One step of a path as JSON.
#[derive(Serialize)]
pub struct JsonStep<'a> {
    /// Step number, from 1.
    pub step: usize,
    /// The action taken.
    pub action: Action,
    /// A sentence for the action.
    pub description: String,
    /// What changed.
    pub changes: Vec<String>,
    /// The state after the step.
    pub state: &'a State,
}

/// A path as JSON: the configuration, the property, the initial state, the steps.
pub fn json(
    model: &FailoverModel,
    property: &str,
    path: &Path<State, Action>,
) -> serde_json::Value {
    let v = path.clone().into_vec();
    let steps: Vec<JsonStep> = v
        .windows(2)
        .enumerate()
        .filter_map(|(k, w)| {
            let action = w[0].1?;
            Some(JsonStep {
                step: k + 1,
                action,
                description: model.describe(&action),
                changes: changes(model, &w[0].0, &w[1].0),
                state: &w[1].0,
            })
        })
        .collect();
    serde_json::json!({
        "config": model.cfg,
        "property": property,
        "initial": &v[0].0,
        "steps": steps,
    })
}
