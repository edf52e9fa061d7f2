//! Negative traces: the counterexample of each design variant replayed in the model as the RFC
//! is read, with the step where the variant's observations diverge; and the variants whose
//! counterexamples go to `traces/findings/` instead of the corpus.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use failover_trace::{file_name, to_text, Trace, TraceKind, VariantInfo};
use stateright::Model;

use crate::check::{self, CheckOptions, Verdict};
use crate::config::{ModelConfig, Variant};
use crate::model::{Action, FailoverModel};

use super::build::{build, scheduled_actions, Meta};
use super::vocab::{observe, sent};

/// The counterexample of a variant (BFS-free: the checker's own search, single thread), or
/// `None` for a probe variant (no break claimed).
pub fn counterexample(v: Variant) -> Option<Vec<Action>> {
    let target = v.breaks()?;
    let model = FailoverModel::new(v.config());
    let opts = CheckOptions {
        threads: 1,
        stop_when: Some(stateright::HasDiscoveries::AnyOf(BTreeSet::from([target]))),
        ..CheckOptions::default()
    };
    let o = check::run(&model, &opts, |_| {});
    match o.verdict(target) {
        Some(Verdict::Violated(path)) | Some(Verdict::Reached(path)) => {
            Some(path.clone().into_actions())
        }
        _ => None,
    }
}

/// Put due timers first, as the scheduling rule asks: before each action, fire any timer the
/// model has due (in the correct model), and skip the path's own timer steps when nothing is due.
fn reschedule(model: &FailoverModel, actions: &[Action]) -> Vec<Action> {
    let mut st = model.initial_state();
    let mut out = Vec::new();
    for &a in actions {
        loop {
            let due: Vec<Action> = scheduled_actions(model, &st)
                .into_iter()
                .filter(|x| matches!(x, Action::Timer(_)))
                .collect();
            if due.is_empty() || due.contains(&a) {
                break;
            }
            let t = due[0];
            match model.step(&st, t) {
                Some(n) => st = n,
                None => break,
            }
            out.push(t);
        }
        let mut enabled = Vec::new();
        model.actions(&st, &mut enabled);
        if !enabled.contains(&a) {
            // The correct model cannot take this step: stop here.
            out.push(a);
            return out;
        }
        match model.step(&st, a) {
            Some(n) => st = n,
            None => return out,
        }
        out.push(a);
    }
    out
}

/// The negative trace of a variant, with the variant's own counterexample path.
pub fn negative(v: Variant, cx: &[Action]) -> Trace {
    negative_in(v, v.config(), cx)
}

/// The negative trace of a counterexample of variant `v` found in configuration `cfg` (the
/// variant's own, or sizes changed on the command line): the RFC's expectations, the variant
/// and the step where its observations diverge.
pub fn negative_in(v: Variant, mut cfg: ModelConfig, cx: &[Action]) -> Trace {
    cfg.variant = Some(v);
    let variant_model = FailoverModel::new(cfg.clone());
    cfg.variant = None;
    let model = FailoverModel::new(cfg);
    let actions = reschedule(&model, cx);
    let (mut trace, dropped) = build(
        &model,
        &actions,
        Meta {
            id: String::new(),
            title: String::new(),
            kind: TraceKind::Negative,
            covers: Vec::new(),
            variant: None,
        },
    );
    // Where the variant's observations leave the expected ones.
    let mut diverges_at = None;
    let mut st = variant_model.initial_state();
    for (k, step) in trace.steps.iter().enumerate() {
        let a = actions[k];
        let Some(next) = variant_model.step(&st, a) else {
            break;
        };
        let mut obs = observe(&variant_model.cfg, &next);
        obs.sent = sent(&variant_model.cfg, &st, &next, a);
        if obs != step.expect {
            diverges_at = Some(k + 1);
            break;
        }
        st = next;
    }
    let section = variant_section(v);
    trace.id = format!("s{section}-variant-{}", v.name());
    trace.title = format!(
        "the counterexample of variant {} ({}), with the RFC's expectations",
        v.name(),
        v.description()
    );
    trace.variant = Some(VariantInfo {
        name: v.name().into(),
        description: v.description().into(),
        breaks: v.breaks().unwrap_or("").into(),
        diverges_at,
        dropped_steps: dropped,
    });
    if !trace.rfc.contains(&section.to_string()) {
        trace.rfc.insert(0, section.to_string());
    }
    trace
}

/// The RFC section a variant changes.
pub fn variant_section(v: Variant) -> &'static str {
    let d = v.description();
    // The first "§x.y.z" in the description.
    match d.find('§') {
        Some(i) => {
            let rest = &d[i + '§'.len_utf8()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            rest[..end].trim_end_matches('.')
        }
        None => "7.5.4",
    }
}

/// The variants whose counterexample becomes a negative trace: every variant that claims a
/// break except `local-time-clt-first`, whose counterexample needs tens of millions of states
/// (minutes and gigabytes), too much for a generator run in `cargo test`, and
/// `resend-rejected-at-once`, whose counterexample is a cycle rather than a path to a state.
pub fn negative_variants() -> impl Iterator<Item = Variant> {
    Variant::ALL
        .iter()
        .copied()
        .filter(|v| *v != Variant::LocalTimeCltFirst)
        // A cycle is not a path an implementation can be replayed along.
        .filter(|v| {
            v.breaks()
                .is_some_and(|p| p != crate::properties::EVERY_PATH_ENDS)
        })
}

/// The variants that claim a break but whose counterexample the corpus leaves out
/// ([`negative_variants`]): `local-time-clt-first` (tens of millions of states) and the variants
/// whose counterexample is a cycle. `docs/findings.md` cites their counterexamples as evidence,
/// so `failover traces findings` writes them into `traces/findings/`, outside the corpus that
/// `cargo test` regenerates (too slow for it).
pub fn findings_variants() -> impl Iterator<Item = Variant> {
    Variant::ALL
        .iter()
        .copied()
        .filter(|v| v.breaks().is_some() && !negative_variants().any(|n| n == *v))
}

/// The counterexample of a variant of [`findings_variants`] in its own configuration: the
/// checker's path to the state that breaks its property or, for "every path ends", the path
/// into the first cycle the cycle search finds followed by one lap of the cycle. `None` if the
/// variant breaks nothing (a probe) or the break is not found.
pub fn findings_counterexample(v: Variant) -> Option<Vec<Action>> {
    if v.breaks()? != crate::properties::EVERY_PATH_ENDS {
        return counterexample(v);
    }
    let model = FailoverModel::new(v.config());
    let c = crate::cycles::find_cycle(&model, std::time::Duration::from_secs(3600), |_| {}).cycle?;
    Some(c.prefix.into_iter().chain(c.cycle).collect())
}

/// The negative traces of [`findings_variants`] (`None`: no counterexample found).
pub fn findings_traces() -> Vec<(Variant, Option<Trace>)> {
    findings_variants()
        .map(|v| (v, findings_counterexample(v).map(|cx| negative(v, &cx))))
        .collect()
}

/// The files of `traces/findings/`, file name -> text: the traces of [`findings_traces`] that
/// show the variant's divergence. A replay in which the correct model cannot follow the
/// variant's path as far as the first observable difference (`diverges_at` absent) shows no
/// divergence, so it is left out and reported (`local-time-clt-first`: the correct model cannot
/// take the variant's step after the two restarts, and no observation differs before). Left
/// out: the variant and the replay's length, or `None` when no counterexample was found.
pub fn findings_files() -> (BTreeMap<PathBuf, String>, Vec<(Variant, Option<usize>)>) {
    let mut files = BTreeMap::new();
    let mut left_out = Vec::new();
    for (v, t) in findings_traces() {
        match t {
            Some(t) if t.variant.as_ref().is_some_and(|i| i.diverges_at.is_some()) => {
                files.insert(PathBuf::from(file_name(&t)), to_text(&t));
            }
            Some(t) => left_out.push((v, Some(t.steps.len()))),
            None => left_out.push((v, None)),
        }
    }
    (files, left_out)
}
