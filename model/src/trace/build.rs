//! Recording a path of the model as a trace: the scheduling rule (due timers first), the
//! observations after each step, and the RFC sections and tags each step exercises.

use std::collections::BTreeSet;

use failover_proto::ServerState as S;
use failover_trace::{Step, Trace, TraceKind, VariantInfo, FORMAT, VERSION};
use stateright::Model;

use crate::config::ModelConfig;
use crate::model::{Action, FailoverModel};
use crate::state::{idx, DnsOp, LeaseKind, Msg, State};

use super::vocab::{event, observe, sent, trace_config};

/// The actions the generator takes in a state: the model's, restricted to the due timers when
/// any is due (the scheduling rule of the module documentation).
pub fn scheduled_actions(model: &FailoverModel, st: &State) -> Vec<Action> {
    let mut v = Vec::new();
    model.actions(st, &mut v);
    if v.iter().any(|a| matches!(a, Action::Timer(_))) {
        v.retain(|a| matches!(a, Action::Timer(_)));
    }
    v
}

/// Metadata of a trace before its steps are computed.
#[derive(Clone, Debug)]
pub struct Meta {
    /// See [`Trace::id`].
    pub id: String,
    /// See [`Trace::title`].
    pub title: String,
    /// See [`Trace::kind`].
    pub kind: TraceKind,
    /// See [`Trace::covers`].
    pub covers: Vec<String>,
    /// See [`Trace::variant`].
    pub variant: Option<VariantInfo>,
}

/// Replay `actions` from the initial state of `model` and record the trace. Stops at the first
/// action the model cannot take (returned as the count of dropped actions).
pub fn build(model: &FailoverModel, actions: &[Action], meta: Meta) -> (Trace, usize) {
    let cfg = &model.cfg;
    let mut st = model.initial_state();
    let initial = observe(cfg, &st);
    let mut steps = Vec::new();
    let mut rfc = BTreeSet::new();
    let mut tags = BTreeSet::new();
    let mut taken = 0;
    for &a in actions {
        let mut enabled = Vec::new();
        model.actions(&st, &mut enabled);
        if !enabled.contains(&a) {
            break;
        }
        let Some(next) = model.step(&st, a) else {
            break;
        };
        annotate(cfg, &st, &next, a, &mut rfc, &mut tags);
        let mut expect = observe(cfg, &next);
        expect.sent = sent(cfg, &st, &next, a);
        steps.push(Step {
            step: steps.len() + 1,
            time: next.now,
            event: event(cfg, a),
            expect,
        });
        st = next;
        taken += 1;
    }
    match meta.kind {
        TraceKind::Coverage => tags.insert("coverage".to_string()),
        TraceKind::Negative => tags.insert("negative".to_string()),
        TraceKind::Random => tags.insert("random".to_string()),
    };
    if cfg.addresses > 0 {
        tags.insert("independent".into());
    }
    if cfg.prefixes > 0 {
        tags.insert("proportional".into());
    }
    if cfg.dns {
        tags.insert("ddns".into());
    }
    if !cfg.reservations.is_empty() {
        tags.insert("reservations".into());
    }
    let mut rfc: Vec<String> = rfc.into_iter().collect();
    rfc.sort_by_key(|a| section_key(a));
    (
        Trace {
            format: FORMAT.into(),
            version: VERSION,
            id: meta.id,
            title: meta.title,
            kind: meta.kind,
            tags: tags.into_iter().collect(),
            rfc,
            covers: meta.covers,
            variant: meta.variant,
            config: trace_config(cfg),
            initial,
            steps,
        },
        actions.len() - taken,
    )
}

/// The trace of a path outside the corpus (a counterexample to draw, a path followed in the
/// Explorer, a differential case), recorded as [`build`] records the corpus's random walks.
pub fn of_path(model: &FailoverModel, actions: &[Action], id: String, title: String) -> Trace {
    let meta = Meta {
        id,
        title,
        kind: TraceKind::Random,
        covers: Vec::new(),
        variant: None,
    };
    build(model, actions, meta).0
}

fn section_key(s: &str) -> Vec<u32> {
    s.split('.').map(|x| x.parse().unwrap_or(0)).collect()
}

/// The §8 section of "Operation in"/"Transition out of" a state.
pub fn state_section(s: S) -> &'static str {
    match s {
        S::Startup => "8.3",
        S::PartnerDown => "8.4",
        S::Recover => "8.5",
        S::RecoverWait => "8.6",
        S::RecoverDone => "8.7",
        S::Normal => "8.8",
        S::CommunicationsInterrupted => "8.9",
        S::PotentialConflict => "8.10",
        S::ResolutionInterrupted => "8.11",
        S::ConflictDone => "8.12",
    }
}

/// RFC sections and tags a step exercises.
fn annotate(
    cfg: &ModelConfig,
    before: &State,
    after: &State,
    a: Action,
    rfc: &mut BTreeSet<String>,
    tags: &mut BTreeSet<String>,
) {
    for i in 0..2 {
        let (x, y) = (&before.servers[i], &after.servers[i]);
        if y.up && (x.state != y.state || !x.up) {
            rfc.insert(state_section(x.state).into());
            rfc.insert(state_section(y.state).into());
            match y.state {
                S::PartnerDown => {
                    tags.insert("pd".into());
                }
                S::Recover | S::RecoverWait | S::RecoverDone => {
                    tags.insert("recovery".into());
                }
                S::PotentialConflict | S::ResolutionInterrupted | S::ConflictDone => {
                    tags.insert("conflict".into());
                }
                S::Startup => {
                    tags.insert("startup".into());
                }
                _ => {}
            }
        }
        if y.up && x.up {
            for (p, q) in x.leases.iter().zip(&y.leases) {
                if p.status != q.status {
                    rfc.insert("7.2".into());
                }
            }
        }
    }
    match a {
        Action::Deliver(r) => {
            if let Some(m) = before.chan[1 - idx(r)].first() {
                match m {
                    Msg::BndUpd(_) => rfc.insert("7.5.4".into()),
                    Msg::BndReply { .. } => rfc.insert("7.6".into()),
                    Msg::State { .. } => rfc.insert("6.3".into()),
                    Msg::PoolReq | Msg::PoolResp => rfc.insert("4.2.2".into()),
                    Msg::UpdReq { .. } | Msg::UpdDone => rfc.insert("7.7".into()),
                };
            }
        }
        Action::Partition | Action::Heal => {
            rfc.insert("6.1".into());
            tags.insert("partition".into());
        }
        Action::Crash(_) | Action::Restart(_) => {
            rfc.insert("8.2".into());
            tags.insert("crash".into());
        }
        Action::CrashLosingStorage(_) => {
            rfc.insert("8.2".into());
            tags.insert("crash".into());
            tags.insert("storage-loss".into());
        }
        Action::PartnerDownCommand(_) => {
            tags.insert("operator".into());
        }
        Action::ResetLease(..) => {
            rfc.insert("7.2".into());
            tags.insert("operator".into());
        }
        Action::Request(_, _, k) => {
            rfc.insert(
                match k {
                    LeaseKind::Address => "4.2.1",
                    LeaseKind::Prefix => "4.2.2",
                }
                .into(),
            );
            rfc.insert("4.4".into());
        }
        Action::Renew(_) | Action::Rebind(_) => {
            rfc.insert("4.4".into());
            if cfg.dns {
                rfc.insert("9.5".into());
            }
        }
        Action::CancelReservation(r, _) => {
            tags.insert("operator".into());
            // The cancellation (design draft §12) sends BNDUPD FREE "no longer reserved" when
            // the lease is free: RFC 8156 §7.4's sending of binding updates.
            let i = idx(r);
            let sent = |st: &State| {
                st.chan[i]
                    .iter()
                    .filter(|m| matches!(m, Msg::BndUpd(_)))
                    .count()
            };
            if sent(after) > sent(before) {
                rfc.insert("7.4".into());
            }
        }
        Action::DnsAnswer(r, l) => {
            let op = before.servers[idx(r)].leases[l as usize].dns_ops.first();
            rfc.insert(
                match op {
                    Some(DnsOp::Add(_)) => "9.3",
                    _ => "9.4",
                }
                .into(),
            );
        }
        _ => {}
    }
}

/// A generated trace and the folder (topic) it belongs in.
pub struct Generated {
    /// Topic folder: `coverage`, `negative`, `random`.
    pub topic: &'static str,
    /// The trace.
    pub trace: Trace,
}
