//! Conformance traces (issue 4): the model's behaviour written down as a sequence of events and
//! the observations expected after each, in a versioned JSON format that an implementation in
//! any language can be replayed against (`traces/README.md`, `traces/schema.json`).
//!
//! A trace is generated from the model, never written by hand:
//! * **coverage** traces come from a breadth-first walk of small configurations that keeps the
//!   first (hence shortest) path reaching each endpoint-state transition, each binding-status
//!   transition and each cell of Figure 4 (§7.5.4) not yet covered;
//! * **negative** traces replay the counterexample of each design variant ([`Variant::ALL`])
//!   in the model as the RFC is read: a correct implementation passes them, an implementation
//!   with the variant's mistake is expected to diverge at the step recorded in the trace;
//! * **random** traces are seeded random walks over [`FailoverModel::step`].
//!
//! Scheduling rule (also a mapping rule of the harness): whenever a timer is due, the walks
//! take the due timers before anything else (a real server services its timers when they are
//! due), so the model and an implementation whose clock advance runs its timers see the same
//! order of events.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use failover_proto::{BindingStatus as B, Role, ServerState as S};
use serde::{Deserialize, Serialize};
use stateright::Model;

use crate::check::{self, CheckOptions, Verdict};
use crate::config::{Init, ModelConfig, Tick, Variant};
use crate::model::{Action, FailoverModel};
use crate::names;
use crate::protocol as p;
use crate::state::{idx, role, DnsOp, LeaseId, LeaseKind, Msg, Reject, State};

/// The `format` field of every trace.
pub const FORMAT: &str = "rfc8156-failover-trace";
/// The schema version; bumped on any incompatible change of the format.
pub const VERSION: u32 = 1;

/// One trace: the configuration, the initial observation and the steps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    /// Always [`FORMAT`].
    pub format: String,
    /// Schema version ([`VERSION`]).
    pub version: u32,
    /// Unique id, naming the RFC section exercised, e.g. `s8.9.2-normal-to-partner-down`.
    pub id: String,
    /// One line: what the trace shows.
    pub title: String,
    /// How it was made.
    pub kind: TraceKind,
    /// Topics (`pd`, `proportional`, `independent`, `recovery`, `conflict`, ...), for `--tags`.
    pub tags: Vec<String>,
    /// RFC 8156 sections exercised, e.g. `8.9.2`, `7.5.4`.
    pub rfc: Vec<String>,
    /// Coverage items first reached by this trace (coverage traces only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covers: Vec<String>,
    /// For a negative trace: the design variant whose counterexample this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<VariantInfo>,
    /// The configuration, in abstract units.
    pub config: TraceConfig,
    /// What is observed before the first step.
    pub initial: Observation,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// How a trace was produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceKind {
    /// A shortest path to something not covered before.
    Coverage,
    /// A design variant's counterexample, with the correct expectations.
    Negative,
    /// A seeded random walk.
    Random,
}

/// The design variant a negative trace comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantInfo {
    /// The variant's name (`failover check --variant NAME`).
    pub name: String,
    /// The rule it changes.
    pub description: String,
    /// The property the model checker refutes under the variant.
    pub breaks: String,
    /// The first step (from 1) after which the variant's observations differ from the
    /// expected ones: an implementation with the variant's mistake diverges there. `None` when
    /// the difference is not observable in these observations.
    pub diverges_at: Option<usize>,
    /// Steps of the counterexample the correct model cannot take (the trace stops before them).
    pub dropped_steps: usize,
}

/// The configuration of a trace, in abstract units (ticks, lease and client indices).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceConfig {
    /// Number of clients (`0..clients`).
    pub clients: u8,
    /// Addresses `A0..`: independent allocation (§4.2.1); odd `A<i>` belong to the primary.
    pub addresses: u8,
    /// Delegable prefixes `P0..`: proportional allocation (§4.2.2).
    pub prefixes: u8,
    /// MCLT in ticks (§4.4).
    pub mclt: Tick,
    /// Valid lifetime the servers want to give clients, in ticks.
    pub lifetime: Tick,
    /// STARTUP state timer in ticks (§8.3.2 step 3).
    pub startup_ticks: Tick,
    /// auto-partner-down delay in ticks (§8.9.2), if configured.
    pub auto_partner_down: Option<Tick>,
    /// `normal`: both servers start NORMAL and connected, databases agreeing, delegable
    /// prefixes balanced (the first `prefixes / 2` are FREE-BACKUP); `fresh`: both start with
    /// empty stable storage (§8.2).
    pub init: String,
    /// DNS update coordination (§9) is modelled: leases carry names and DNS status, the
    /// observation has the DNS server's records, and `dns-answer` events occur. Absent: off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dns: bool,
    /// Reservations (design draft §12): each reserved lease and its client. Both servers are
    /// configured with them; the primary shows a reserved free lease FREE and the secondary
    /// holds it FREE-BACKUP, flagged reserved. Absent: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reservations: Vec<ReservationObs>,
}

/// A configured reservation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservationObs {
    /// `A<i>`.
    pub lease: String,
    /// The client it is reserved for.
    pub client: u8,
}

/// One step: the event, the clock after it, and what is expected after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Step number, from 1.
    pub step: usize,
    /// The clock (in ticks) after the event; only `tick` changes it.
    pub time: Tick,
    /// What happens.
    pub event: Event,
    /// What is observed after it.
    pub expect: Observation,
}

/// An event of the environment or a protocol step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Event {
    /// The clock advances one tick; clients stop using leases whose lifetime ended.
    Tick,
    /// The oldest partner message in flight to `to` arrives.
    Deliver {
        /// The receiver.
        to: Role,
    },
    /// The due timers of `server` fire.
    Timers {
        /// Which server.
        server: Role,
    },
    /// The network between the servers fails; the connection is lost.
    Partition,
    /// The network works again; the primary reconnects if both servers run.
    Heal,
    /// The server crashes (with its stable storage lost if `lose_storage`).
    Crash {
        /// Which server.
        server: Role,
        /// Stable storage is lost too.
        lose_storage: bool,
    },
    /// The server restarts into STARTUP.
    Restart {
        /// Which server.
        server: Role,
    },
    /// The operator tells the server its partner is down (§8.8.2, §8.9.2, §8.11.2).
    PartnerDownCommand {
        /// Which server.
        server: Role,
    },
    /// The operator resets an ABANDONED lease (Figure 2 (10)).
    ResetLease {
        /// Which server.
        server: Role,
        /// Which lease (`A0`, `P1`, ...).
        lease: String,
    },
    /// A client without a lease asks `server` for a new one (SOLICIT/REQUEST).
    Request {
        /// The client.
        client: u8,
        /// The server asked.
        server: Role,
        /// Address (IA_NA) or prefix (IA_PD).
        kind: Kind,
    },
    /// The client renews with the server that granted its lease (RENEW).
    Renew {
        /// The client.
        client: u8,
    },
    /// The client rebinds with the other server (REBIND).
    Rebind {
        /// The client.
        client: u8,
    },
    /// The client releases its lease to the server that granted it (RELEASE).
    Release {
        /// The client.
        client: u8,
    },
    /// The client declines its lease to the server that granted it (DECLINE).
    Decline {
        /// The client.
        client: u8,
    },
    /// The DNS server answers the oldest DNS update `server` owes for `lease` (§9): an add is
    /// applied if the binding is still ACTIVE and unexpired there (and no other binding's
    /// records are in place), a delete removes the records of the name it carries.
    DnsAnswer {
        /// The server whose update is answered.
        server: Role,
        /// Which lease (`A0`, `P1`, ...).
        lease: String,
    },
    /// The operator cancels the reservation of `lease` on `server` (design draft §12): if the
    /// lease is FREE on the primary (FREE-BACKUP on the secondary), it sends BNDUPD FREE "no
    /// longer reserved"; the primary allocates the lease to no client until that is acked
    /// (reading R29).
    CancelReservation {
        /// Which server.
        server: Role,
        /// Which lease (`A0`, ...).
        lease: String,
    },
}

/// The kind of lease a client asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An address (IA_NA).
    Address,
    /// A delegated prefix (IA_PD).
    Prefix,
}

/// What is observed of the whole system at one point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    /// The primary, then the secondary.
    pub servers: Vec<ServerObs>,
    /// What each client holds (`null`: nothing), as it learnt from the servers' replies.
    pub clients: Vec<Option<ClientObs>>,
    /// Partner messages sent during the step (CONNECT, CONNECTREPLY, CONTACT, DISCONNECT are
    /// not listed: the model abstracts them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent: Vec<SentMsg>,
    /// DNS configurations only: the DNS server's records, one per lease that has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<Vec<DnsRecordObs>>,
}

/// A record in the DNS server: the AAAA/PTR pair of a lease and the name it maps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsRecordObs {
    /// `A<i>` or `P<j>`.
    pub lease: String,
    /// The abstract FQDN, `c<client>.<P|S>`: the client's name as that server synthesized it.
    pub fqdn: String,
}

/// A DNS update a server owes for a lease (stable storage).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsOpObs {
    /// `add` or `remove`.
    pub op: String,
    /// The name to add or remove.
    pub fqdn: String,
}

/// One server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerObs {
    /// Running (false after a crash until the restart).
    pub up: bool,
    /// Failover state (§8); `null` while down.
    pub state: Option<S>,
    /// Communications OK (§6.1: the partner's STATE arrived on the current connection).
    pub comm_ok: bool,
    /// Every lease, in order; empty while down.
    pub leases: Vec<LeaseObs>,
}

/// One lease as one server records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseObs {
    /// `A<i>` or `P<j>`.
    pub lease: String,
    /// binding-status (§5.5.1).
    pub status: B,
    /// The client bound (ACTIVE, EXPIRED, RELEASED, ABANDONED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<u8>,
    /// For ACTIVE: the tick the client's lifetime ends (state-expiration-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<Tick>,
    /// DNS: the binding's FQDN (§9.2), if the server knows one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// DNS: the records of `fqdn` are recorded as added (the F flag of §5.5.3). Absent: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dns_added: bool,
    /// DNS: the updates the server owes for this lease, oldest first. Absent: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_owed: Vec<DnsOpObs>,
    /// Reservations: the client the lease is reserved for, as this server's record has it (the
    /// primary: its configuration; the secondary: the primary's flag). Absent: not reserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_for: Option<u8>,
    /// Reservations (reading R29): the reservation was cancelled and the BNDUPD FREE "no
    /// longer reserved" is not yet acked; the lease goes to no client. Absent: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancelling: bool,
}

/// What a client holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientObs {
    /// The lease.
    pub lease: String,
    /// The tick its valid lifetime ends.
    pub expiry: Tick,
    /// The server whose reply it accepted last.
    pub server: Role,
    /// DNS: the name the reply gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
}

/// A partner message, by kind and key fields.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentMsg {
    /// The sender.
    pub from: Role,
    /// The RFC message name: STATE, BNDUPD, BNDREPLY, POOLREQ, POOLRESP, UPDREQ, UPDREQALL,
    /// UPDDONE.
    pub kind: String,
    /// STATE: OPTION_F_SERVER_STATE (in STARTUP, the previous state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<S>,
    /// STATE: the STARTUP flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<bool>,
    /// BNDUPD, BNDREPLY: the lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<String>,
    /// BNDUPD: the binding-status sent; BNDREPLY: the status acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<B>,
    /// BNDREPLY: the rejection (`AddressInUse`, `OutdatedBindingInformation`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject: Option<String>,
    /// BNDUPD: the binding's FQDN (§9.2), if it carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// BNDUPD with an FQDN: the records are recorded as added (flag F of §5.5.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_added: Option<bool>,
    /// BNDUPD of a lease named in the reservation configuration: the reserved flag (design
    /// draft §12; `false` is "no longer reserved").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// From model states and actions to the trace vocabulary.
// ---------------------------------------------------------------------------------------------

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
            kind: match k {
                LeaseKind::Address => Kind::Address,
                LeaseKind::Prefix => Kind::Prefix,
            },
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
            s.reject = reject.map(|r| {
                match r {
                    Reject::AddressInUse => "AddressInUse",
                    Reject::Outdated => "OutdatedBindingInformation",
                }
                .to_string()
            });
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
fn sent(cfg: &ModelConfig, before: &State, after: &State, a: Action) -> Vec<SentMsg> {
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

// ---------------------------------------------------------------------------------------------
// Coverage.
// ---------------------------------------------------------------------------------------------

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
            let verdict = match p::figure4(cfg, before, i, u) {
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
                    let what = p::kind(cfg, h.lease).word();
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
                        let what = p::kind(cfg, l as LeaseId).word();
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
                p::kind(cfg, l).word(),
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

/// A generated trace and the folder (topic) it belongs in.
pub struct Generated {
    /// Topic folder: `coverage`, `negative`, `random`.
    pub topic: &'static str,
    /// The trace.
    pub trace: Trace,
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

// ---------------------------------------------------------------------------------------------
// Negative traces: the variants' counterexamples.
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Random walks.
// ---------------------------------------------------------------------------------------------

/// SplitMix64: a tiny seeded generator (the corpus must be the same on every machine).
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Longest random walk. A walk also stops when it comes back to a state it has visited: a guard
/// for a change of the model that makes its graph cyclic (the walks found the cycle that reading
/// R21 removed; `failover check --cycles` searches for one).
pub const MAX_WALK: usize = 120;

/// A seeded random walk (scheduled actions) to the end of the model's budgets, to a state
/// already visited, or to [`MAX_WALK`] steps.
pub fn random_walk(model: &FailoverModel, seed: u64) -> Vec<Action> {
    let mut rng = SplitMix(seed);
    let mut st = model.initial_state();
    let mut path = Vec::new();
    let mut visited = std::collections::HashSet::new();
    loop {
        let acts = scheduled_actions(model, &st);
        if acts.is_empty() || path.len() >= MAX_WALK || !visited.insert(st.clone()) {
            return path;
        }
        let a = acts[rng.below(acts.len())];
        match model.step(&st, a) {
            Some(n) => st = n,
            None => return path,
        }
        path.push(a);
    }
}

/// The configurations of the random walks.
pub fn random_configs() -> Vec<(&'static str, ModelConfig)> {
    vec![
        ("default", ModelConfig::default()),
        ("headline", ModelConfig::headline()),
        (
            "storage-loss",
            ModelConfig {
                storage_losses: 1,
                settle_ticks: 3,
                ..ModelConfig::default()
            },
        ),
        ("conflict", ModelConfig::conflict()),
        (
            "busy",
            ModelConfig {
                clients: 3,
                client_ops: 6,
                ticks: 4,
                settle_ticks: 3,
                mclt: 2,
                lifetime: 3,
                partitions: 2,
                crashes: 2,
                commands: 2,
                ..ModelConfig::default()
            },
        ),
    ]
}

/// Number of random walks per configuration.
pub const WALKS_PER_CONFIG: u64 = 8;

/// The random traces.
pub fn random() -> Vec<Generated> {
    let mut out = Vec::new();
    for (k, (name, cfg)) in random_configs().into_iter().enumerate() {
        let model = FailoverModel::new(cfg);
        for n in 0..WALKS_PER_CONFIG {
            let seed = 1000 * (k as u64 + 1) + n;
            let path = random_walk(&model, seed);
            let (trace, _) = build(
                &model,
                &path,
                Meta {
                    id: format!("random-{name}-seed-{seed}"),
                    title: format!("seeded random walk (seed {seed}) in the {name} configuration"),
                    kind: TraceKind::Random,
                    covers: Vec::new(),
                    variant: None,
                },
            );
            out.push(Generated {
                topic: "random",
                trace,
            });
        }
    }
    out
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

/// Everything: coverage, negative, random, and the coverage table.
pub fn generate_all() -> (Vec<Generated>, CoverageTable) {
    let (mut out, table) = coverage();
    for v in negative_variants() {
        if let Some(cx) = counterexample(v) {
            out.push(Generated {
                topic: "negative",
                trace: negative(v, &cx),
            });
        }
    }
    out.extend(random());
    (out, table)
}

// ---------------------------------------------------------------------------------------------
// Files.
// ---------------------------------------------------------------------------------------------

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

/// The topic folders the generator owns.
pub const TOPICS: [&str; 3] = ["coverage", "negative", "random"];

/// The generated files: relative path -> contents, plus the coverage table text.
pub fn corpus_files() -> (BTreeMap<PathBuf, String>, String) {
    let (all, table) = generate_all();
    let mut files = BTreeMap::new();
    for g in &all {
        files.insert(
            Path::new(g.topic).join(file_name(&g.trace)),
            to_text(&g.trace),
        );
    }
    let mut index = String::from(
        "# Generated by `failover traces generate`; do not edit. One line per trace:\n\
         # topic/file  kind  steps  tags\n",
    );
    for g in &all {
        index.push_str(&format!(
            "{}/{}  {}  {}  {}\n",
            g.topic,
            file_name(&g.trace),
            serde_json::to_string(&g.trace.kind)
                .unwrap_or_default()
                .trim_matches('"'),
            g.trace.steps.len(),
            g.trace.tags.join(",")
        ));
    }
    files.insert(PathBuf::from("INDEX.txt"), index);
    let table_text = format!(
        "# Coverage of the coverage traces (generated; do not edit)\n{}",
        table.render()
    );
    files.insert(PathBuf::from("COVERAGE.txt"), table_text.clone());
    (files, table_text)
}

/// Differences between a folder and the generated files: missing, changed, extra (in the
/// generated topic folders only).
pub fn corpus_differences(dir: &Path, files: &BTreeMap<PathBuf, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (rel, text) in files {
        match fs::read_to_string(dir.join(rel)) {
            Ok(t) if &t == text => {}
            Ok(_) => out.push(format!("changed: {}", rel.display())),
            Err(_) => out.push(format!("missing: {}", rel.display())),
        }
    }
    for topic in TOPICS {
        let Ok(rd) = fs::read_dir(dir.join(topic)) else {
            continue;
        };
        let mut names: Vec<PathBuf> = rd
            .filter_map(|e| e.ok())
            .map(|e| Path::new(topic).join(e.file_name()))
            .collect();
        names.sort();
        for n in names {
            if !files.contains_key(&n) {
                out.push(format!("extra: {}", n.display()));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// ITF export.
// ---------------------------------------------------------------------------------------------

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
