//! From model states and actions to the trace vocabulary: lease names, the trace
//! configuration, events, observations and the partner messages a step sent.

use failover_proto::{BindingStatus as B, Role};
use failover_trace::{
    ClientObs, DnsOpObs, DnsRecordObs, Event, LeaseObs, Observation, ReservationObs, SentMsg,
    ServerObs, TraceConfig,
};

use crate::config::{Init, ModelConfig};
use crate::model::Action;
use crate::names;
use crate::state::{idx, role, DnsOp, LeaseId, Msg, State};

/// The abstract name of a lease.
pub fn lease_name(cfg: &ModelConfig, l: LeaseId) -> String {
    names::lease(Some(cfg.addresses), l)
}

/// The trace configuration of a model configuration.
pub fn trace_config(cfg: &ModelConfig) -> TraceConfig {
    TraceConfig {
        clients: cfg.clients,
        addresses: cfg.addresses,
        prefixes: cfg.prefixes,
        mclt: cfg.mclt,
        lifetime: cfg.lifetime,
        startup_ticks: cfg.startup_ticks,
        auto_partner_down: cfg.auto_partner_down,
        init: match cfg.init {
            Init::Normal => "normal".into(),
            Init::Fresh => "fresh".into(),
        },
        dns: cfg.dns,
        reservations: cfg
            .reservations
            .iter()
            .map(|r| ReservationObs {
                lease: lease_name(cfg, r.lease),
                client: r.client,
            })
            .collect(),
    }
}

/// The event of a model action.
pub fn event(cfg: &ModelConfig, a: Action) -> Event {
    match a {
        Action::Tick => Event::Tick,
        Action::Deliver(r) => Event::Deliver { to: r },
        Action::Timer(r) => Event::Timers { server: r },
        Action::Partition => Event::Partition,
        Action::Heal => Event::Heal,
        Action::Crash(r) => Event::Crash {
            server: r,
            lose_storage: false,
        },
        Action::CrashLosingStorage(r) => Event::Crash {
            server: r,
            lose_storage: true,
        },
        Action::Restart(r) => Event::Restart { server: r },
        Action::PartnerDownCommand(r) => Event::PartnerDownCommand { server: r },
        Action::ResetLease(r, l) => Event::ResetLease {
            server: r,
            lease: lease_name(cfg, l),
        },
        Action::Request(c, r, k) => Event::Request {
            client: c,
            server: r,
            kind: k,
        },
        Action::Renew(c) => Event::Renew { client: c },
        Action::Rebind(c) => Event::Rebind { client: c },
        Action::Release(c) => Event::Release { client: c },
        Action::Decline(c) => Event::Decline { client: c },
        Action::DnsAnswer(r, l) => Event::DnsAnswer {
            server: r,
            lease: lease_name(cfg, l),
        },
        Action::CancelReservation(r, l) => Event::CancelReservation {
            server: r,
            lease: lease_name(cfg, l),
        },
    }
}

fn sent_msg(cfg: &ModelConfig, from: Role, m: &Msg) -> SentMsg {
    let mut s = SentMsg {
        from,
        kind: String::new(),
        state: None,
        startup: None,
        lease: None,
        status: None,
        reject: None,
        fqdn: None,
        dns_added: None,
        reserved: None,
    };
    match m {
        Msg::State { state, startup, .. } => {
            s.kind = "STATE".into();
            s.state = Some(*state);
            s.startup = Some(*startup);
        }
        Msg::BndUpd(u) => {
            s.kind = "BNDUPD".into();
            s.lease = Some(lease_name(cfg, u.lease));
            s.status = Some(u.status);
            s.fqdn = u.fqdn.map(names::fqdn);
            s.dns_added = u.fqdn.map(|_| u.dns_added);
            s.reserved = u.flagged.then_some(u.reserved.is_some());
        }
        Msg::BndReply {
            lease,
            status,
            reject,
            ..
        } => {
            s.kind = "BNDREPLY".into();
            s.lease = Some(lease_name(cfg, *lease));
            s.status = Some(*status);
            s.reject = reject.map(|r| r.name().to_string());
        }
        Msg::PoolReq => s.kind = "POOLREQ".into(),
        Msg::PoolResp => s.kind = "POOLRESP".into(),
        Msg::UpdReq { all: false } => s.kind = "UPDREQ".into(),
        Msg::UpdReq { all: true } => s.kind = "UPDREQALL".into(),
        Msg::UpdDone => s.kind = "UPDDONE".into(),
    }
    s
}

/// The messages sent between two consecutive states: those appended to each channel. A
/// channel emptied by a lost connection (partition, crash) only holds what was sent after.
pub(super) fn sent(cfg: &ModelConfig, before: &State, after: &State, a: Action) -> Vec<SentMsg> {
    let mut out = Vec::new();
    for i in 0..2 {
        let (x, y) = (&before.chan[i], &after.chan[i]);
        let lost = before.connected && !after.connected
            || matches!(
                a,
                Action::Partition | Action::Crash(_) | Action::CrashLosingStorage(_)
            )
            || !before.connected && after.connected;
        // Deliver(r) takes the head of the channel towards r, which is sent by the other.
        let consumed = match a {
            Action::Deliver(r) if idx(r) == 1 - i && !x.is_empty() => 1,
            _ => 0,
        };
        let kept = if lost { 0 } else { x.len() - consumed };
        let kept = kept.min(y.len());
        for m in &y[kept..] {
            out.push(sent_msg(cfg, role(i), m));
        }
    }
    out
}

/// The observation of a model state (`sent` left empty).
pub fn observe(cfg: &ModelConfig, st: &State) -> Observation {
    let servers = st
        .servers
        .iter()
        .map(|s| ServerObs {
            up: s.up,
            state: s.up.then_some(s.state),
            comm_ok: s.up && s.comm_ok,
            leases: if s.up {
                s.leases
                    .iter()
                    .enumerate()
                    .map(|(l, lease)| LeaseObs {
                        lease: lease_name(cfg, l as LeaseId),
                        status: lease.status,
                        client: lease.client,
                        expiry: (lease.status == B::Active).then_some(lease.expiry),
                        fqdn: lease.fqdn.map(names::fqdn),
                        dns_added: lease.dns_added,
                        dns_owed: lease
                            .dns_ops
                            .iter()
                            .map(|op| DnsOpObs {
                                op: match op {
                                    DnsOp::Add(_) => "add",
                                    DnsOp::Remove(_) => "remove",
                                }
                                .into(),
                                fqdn: names::fqdn(op.name()),
                            })
                            .collect(),
                        reserved_for: lease.reserved,
                        cancelling: lease.cancelling,
                    })
                    .collect()
            } else {
                Vec::new()
            },
        })
        .collect();
    let clients = st
        .clients
        .iter()
        .map(|h| {
            h.map(|h| ClientObs {
                lease: lease_name(cfg, h.lease),
                expiry: h.expiry,
                server: h.server,
                fqdn: h.fqdn.map(names::fqdn),
            })
        })
        .collect();
    Observation {
        servers,
        clients,
        sent: Vec::new(),
        dns: cfg.dns.then(|| {
            st.dns
                .iter()
                .enumerate()
                .filter_map(|(l, r)| {
                    r.map(|n| DnsRecordObs {
                        lease: lease_name(cfg, l as LeaseId),
                        fqdn: names::fqdn(n),
                    })
                })
                .collect()
        }),
    }
}
