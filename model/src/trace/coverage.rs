//! Coverage traces: a breadth-first walk of small configurations that keeps the first (hence
//! shortest) path reaching each endpoint-state transition, each binding-status transition, each
//! cell of Figure 4 (RFC 8156 §7.5.4) and each DNS and reservation item not yet covered.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use failover_proto::ServerState as S;
use failover_trace::TraceKind;

use crate::config::{Init, ModelConfig};
use crate::model::{Action, FailoverModel};
use crate::protocol as p;
use crate::state::{idx, DnsOp, LeaseId, Msg, Reject, State};

use super::build::{build, scheduled_actions, state_section, Generated, Meta};

/// The coverage items a step reaches: endpoint-state transitions (`state P NORMAL ->
/// COMMUNICATIONS-INTERRUPTED`), binding-status transitions (`binding FREE -> ACTIVE`) and
/// Figure 4 cells (`figure4 local=ACTIVE received=EXPIRED accept`).
pub fn coverage_items(cfg: &ModelConfig, before: &State, after: &State, a: Action) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..2 {
        let (x, y) = (&before.servers[i], &after.servers[i]);
        if y.up && (x.state != y.state || !x.up) {
            let from = if x.up { x.state } else { S::Startup };
            if from != y.state {
                out.push(format!("state {} -> {}", from, y.state));
            }
        }
        if x.up && y.up {
            for (p, q) in x.leases.iter().zip(&y.leases) {
                if p.status != q.status {
                    out.push(format!("binding {} -> {}", p.status, q.status));
                }
            }
        }
    }
    if cfg.dns {
        out.extend(dns_coverage_items(before, after, a));
    }
    if !cfg.reservations.is_empty() {
        out.extend(reservation_coverage_items(cfg, before, after, a));
    }
    if let Action::Deliver(r) = a {
        let i = idx(r);
        if let Some(Msg::BndUpd(u)) = before.chan[1 - i].first() {
            let local = before.servers[i].leases[u.lease as usize].status;
            let verdict = match p::figure4_as_read(cfg, before, i, u) {
                None => "accept",
                Some(Reject::AddressInUse) => "reject AddressInUse",
                Some(Reject::Outdated) => "reject Outdated",
            };
            out.push(format!(
                "figure4 local={} received={} {}",
                local, u.status, verdict
            ));
        }
    }
    out
}

/// The DNS coverage items of a step (`--dns` configurations): adds and deletes done, by whom
/// and in which state, a delete owed across a crash, a name kept by the partner on a rebind.
fn dns_coverage_items(before: &State, after: &State, a: Action) -> Vec<String> {
    let mut out = Vec::new();
    match a {
        Action::DnsAnswer(r, l) => {
            let i = idx(r);
            let s = &before.servers[i];
            let (x, y) = (&before.dns[l as usize], &after.dns[l as usize]);
            match s.leases[l as usize].dns_ops.first() {
                Some(DnsOp::Add(_)) if x != y => out.push(format!("dns add by {r}")),
                Some(DnsOp::Remove(n)) if x != y => {
                    let whose = if n.by == r {
                        "its own"
                    } else {
                        "the partner's"
                    };
                    let pd = if s.state == S::PartnerDown {
                        " in PARTNER-DOWN"
                    } else {
                        ""
                    };
                    out.push(format!("dns delete of {whose} name by {r}{pd}"));
                }
                _ => {}
            }
        }
        Action::Restart(r) => {
            let owes = before.servers[idx(r)]
                .leases
                .iter()
                .any(|l| l.dns_ops.iter().any(|op| matches!(op, DnsOp::Remove(_))));
            if owes {
                out.push(format!("dns delete owed across a crash of {r}"));
            }
        }
        Action::Rebind(c) => {
            if let (Some(h0), Some(h1)) = (before.clients[c as usize], after.clients[c as usize]) {
                if let (Some(n0), Some(n1)) = (h0.fqdn, h1.fqdn) {
                    if n0 == n1 && n1.by != h1.server {
                        out.push(format!("dns name kept on a rebind with {}", h1.server));
                    }
                }
            }
        }
        _ => {}
    }
    out
}

/// The reservation coverage items of a step (`--reservations` configurations): the reserved
/// lease granted to its client by each server, refused to another client, a cancellation in
/// NORMAL and in a partition.
fn reservation_coverage_items(
    cfg: &ModelConfig,
    before: &State,
    after: &State,
    a: Action,
) -> Vec<String> {
    let mut out = Vec::new();
    match a {
        Action::Request(c, r, _) => {
            let i = idx(r);
            match (before.clients[c as usize], after.clients[c as usize]) {
                (None, Some(h))
                    if before.servers[i].leases[h.lease as usize].reserved == Some(c) =>
                {
                    let what = p::kind(cfg, h.lease).token();
                    out.push(format!("resv reserved {what} granted to its client by {r}"));
                }
                (None, None) => {
                    let s = &before.servers[i];
                    let other_reserved_free = s.leases.iter().position(|l| {
                        l.reserved.is_some_and(|x| x != c) && l.status == p::available_status(r)
                    });
                    let responsive =
                        p::responsiveness(cfg, before, i) == p::Responsiveness::Responsive;
                    if let (true, Some(l)) = (responsive, other_reserved_free) {
                        let what = p::kind(cfg, l as LeaseId).token();
                        out.push(format!(
                            "resv reserved {what} refused to another client by {r}"
                        ));
                    }
                }
                _ => {}
            }
        }
        Action::CancelReservation(r, l) => {
            let s = &before.servers[idx(r)];
            let free = s.leases[l as usize].status == p::available_status(r);
            let what = format!(
                "with the {} {}",
                p::kind(cfg, l).token(),
                if free { "free" } else { "bound" }
            );
            let when = if !before.net_up {
                Some("during a partition")
            } else if s.state == S::Normal {
                Some("in NORMAL")
            } else {
                None
            };
            if let Some(when) = when {
                out.push(format!("resv reservation cancelled on {r} {what} {when}"));
            }
        }
        _ => {}
    }
    out
}

/// One configuration explored for coverage.
pub struct CoverageRun {
    /// A short name (used in trace ids).
    pub name: &'static str,
    /// The configuration.
    pub cfg: ModelConfig,
    /// At most this many states are visited.
    pub max_states: usize,
}

/// The configurations explored for coverage, smallest first.
pub fn coverage_runs() -> Vec<CoverageRun> {
    let base = ModelConfig {
        clients: 1,
        addresses: 1,
        prefixes: 1,
        ticks: 2,
        settle_ticks: 2,
        client_ops: 2,
        ..ModelConfig::default()
    };
    vec![
        CoverageRun {
            name: "normal",
            cfg: base.clone(),
            max_states: 40_000,
        },
        CoverageRun {
            name: "fresh",
            cfg: ModelConfig {
                init: Init::Fresh,
                crashes: 0,
                partitions: 0,
                ..base.clone()
            },
            max_states: 20_000,
        },
        CoverageRun {
            name: "storage-loss",
            cfg: ModelConfig {
                storage_losses: 1,
                crashes: 0,
                partitions: 0,
                settle_ticks: 3,
                ..base.clone()
            },
            max_states: 30_000,
        },
        CoverageRun {
            name: "conflict",
            cfg: ModelConfig {
                ticks: 2,
                ..ModelConfig::conflict()
            },
            max_states: 60_000,
        },
        CoverageRun {
            name: "two-clients",
            cfg: ModelConfig {
                clients: 2,
                addresses: 2,
                prefixes: 1,
                client_ops: 3,
                partitions: 1,
                crashes: 0,
                commands: 1,
                ..base.clone()
            },
            max_states: 60_000,
        },
        CoverageRun {
            name: "long-lease",
            cfg: ModelConfig {
                mclt: 2,
                lifetime: 3,
                settle_ticks: 3,
                ticks: 3,
                addresses: 0,
                prefixes: 1,
                ..base.clone()
            },
            max_states: 40_000,
        },
        CoverageRun {
            name: "auto-pd",
            cfg: ModelConfig {
                auto_partner_down: Some(1),
                partitions: 0,
                commands: 0,
                ..base
            },
            max_states: 30_000,
        },
        CoverageRun {
            name: "ddns",
            cfg: ModelConfig::dns(),
            max_states: 400_000,
        },
        CoverageRun {
            name: "reservations",
            cfg: ModelConfig::reservations(),
            max_states: 200_000,
        },
        CoverageRun {
            name: "reserved-prefix",
            cfg: ModelConfig::reserved_prefix(),
            max_states: 200_000,
        },
    ]
}

/// A covered item and the path that first reached it.
pub struct Covered {
    /// Which configuration.
    pub run: usize,
    /// The item.
    pub item: String,
    /// The path (actions from the initial state).
    pub path: Vec<Action>,
}

/// Breadth-first walk of one configuration (scheduled actions, states deduplicated), returning
/// the first path to each item not in `seen`, in the order found.
pub fn explore(run: &CoverageRun, run_idx: usize, seen: &mut BTreeSet<String>) -> Vec<Covered> {
    let model = FailoverModel::new(run.cfg.clone());
    // Node: state, parent index, action from the parent.
    let mut nodes: Vec<(State, usize, Option<Action>)> = vec![(model.initial_state(), 0, None)];
    let mut index: HashMap<State, usize> = HashMap::new();
    index.insert(nodes[0].0.clone(), 0);
    let mut out = Vec::new();
    let mut head = 0;
    while head < nodes.len() {
        let st = nodes[head].0.clone();
        for a in scheduled_actions(&model, &st) {
            let Some(next) = model.step(&st, a) else {
                continue;
            };
            let items = coverage_items(&model.cfg, &st, &next, a);
            let new: Vec<String> = items.into_iter().filter(|i| !seen.contains(i)).collect();
            if !new.is_empty() {
                let mut path = vec![a];
                let mut n = head;
                while let Some(pa) = nodes[n].2 {
                    path.push(pa);
                    n = nodes[n].1;
                }
                path.reverse();
                for item in new {
                    seen.insert(item.clone());
                    out.push(Covered {
                        run: run_idx,
                        item,
                        path: path.clone(),
                    });
                }
            }
            if nodes.len() < run.max_states && !index.contains_key(&next) {
                index.insert(next.clone(), nodes.len());
                nodes.push((next, head, Some(a)));
            }
        }
        head += 1;
    }
    out
}

/// Every coverage item reached and the trace that covers it.
pub struct CoverageTable {
    /// item -> trace id.
    pub items: BTreeMap<String, String>,
}

impl CoverageTable {
    /// A printable table, one line per item, grouped by category.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for cat in ["state", "binding", "figure4", "dns", "resv"] {
            let rows: Vec<_> = self
                .items
                .iter()
                .filter(|(k, _)| k.split(' ').next() == Some(cat))
                .collect();
            let _ = writeln!(out, "{cat}: {} items", rows.len());
            for (k, v) in rows {
                let _ = writeln!(out, "  {:<70} {}", &k[cat.len() + 1..], v);
            }
        }
        out
    }
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The RFC section an item names (for the trace id).
fn item_section(item: &str) -> String {
    if let Some(rest) = item.strip_prefix("state ") {
        let from = rest.split(" -> ").next().unwrap_or("");
        let s = S::from_token(from).map_or("8", state_section);
        return s.to_string();
    }
    if item.starts_with("binding") {
        return "7.2".into();
    }
    if item.starts_with("resv ") {
        // The design draft's section 12 (reservations are not in RFC 8156).
        return "12".into();
    }
    if let Some(rest) = item.strip_prefix("dns ") {
        return if rest.starts_with("add") {
            "9.3"
        } else if rest.starts_with("name") {
            "9.5"
        } else {
            "9.4"
        }
        .into();
    }
    "7.5.4".into()
}

/// The coverage traces and the coverage table.
pub fn coverage() -> (Vec<Generated>, CoverageTable) {
    let runs = coverage_runs();
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        found.extend(explore(r, i, &mut seen));
    }
    // One trace per distinct path; a path that is a prefix of another one of the same run is
    // merged into the longer.
    let mut by_path: Vec<(usize, Vec<Action>, Vec<String>)> = Vec::new();
    for c in found {
        match by_path
            .iter_mut()
            .find(|(r, p, _)| *r == c.run && *p == c.path)
        {
            Some(e) => e.2.push(c.item),
            None => by_path.push((c.run, c.path, vec![c.item])),
        }
    }
    let mut merged: Vec<(usize, Vec<Action>, Vec<String>)> = Vec::new();
    for (k, (r, p, items)) in by_path.iter().enumerate() {
        let longer = by_path
            .iter()
            .enumerate()
            .find(|(j, (r2, p2, _))| *j != k && r2 == r && p2.len() > p.len() && p2.starts_with(p));
        match longer {
            Some(_) => {
                // Given to the longest extension, found below.
                let _ = items;
            }
            None => merged.push((*r, p.clone(), Vec::new())),
        }
    }
    for (r, p, items) in &by_path {
        let target = merged
            .iter_mut()
            .filter(|(r2, p2, _)| r2 == r && p2.starts_with(p))
            .min_by_key(|(_, p2, _)| p2.len())
            .expect("a path or its extension is kept");
        target.2.extend(items.iter().cloned());
    }
    let mut table = CoverageTable {
        items: BTreeMap::new(),
    };
    let mut out = Vec::new();
    let mut ids = BTreeSet::new();
    for (r, path, items) in merged {
        let run = &runs[r];
        let model = FailoverModel::new(run.cfg.clone());
        let first = &items[0];
        let mut id = format!("s{}-{}-{}", item_section(first), run.name, slug(first));
        let mut n = 2;
        while ids.contains(&id) {
            id = format!("s{}-{}-{}-{n}", item_section(first), run.name, slug(first));
            n += 1;
        }
        ids.insert(id.clone());
        for it in &items {
            table.items.insert(it.clone(), id.clone());
        }
        let (trace, _) = build(
            &model,
            &path,
            Meta {
                id,
                title: format!("first reaches: {}", items.join("; ")),
                kind: TraceKind::Coverage,
                covers: items,
                variant: None,
            },
        );
        out.push(Generated {
            topic: "coverage",
            trace,
        });
    }
    (out, table)
}
