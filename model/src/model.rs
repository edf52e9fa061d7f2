//! The stateright [`Model`]: initial states, the actions enabled in a state, and what each does.
//!
//! # Why a custom `Model` and not stateright's `ActorModel`
//! - **Time.** RFC 8156 is about time: the MCLT, lease lifetimes, the RECOVER-WAIT and
//!   PARTNER-DOWN waits. `ActorModel` timers carry no duration and may fire in any order; here
//!   the clock is an explicit variable advanced by [`Action::Tick`], and a timer fires in the
//!   tick it is due.
//! - **TCP.** The failover connection is one TCP connection (§6.1): FIFO in each direction, and
//!   everything in flight is lost with it. `ActorModel` keeps messages addressed to a crashed
//!   actor and delivers them after it recovers; here a crash or partition empties the channels.
//! - **Crash and stable storage.** What survives a crash is exactly what §8.1/§8.2 say is
//!   stored: the lease database and the failover state. Volatile fields are cleared by
//!   [`crate::protocol::crash`].
//! - **Finite, acyclic graph.** Every fault, client operation and command spends a budget, and
//!   the clock is bounded; the messages within one tick are bounded by the protocol itself (one
//!   BNDUPD per lease outstanding, a rejected update waits for the next tick, reading R21). So
//!   every path ends, which makes "at the end of every path" liveness sound;
//!   [`crate::cycles`] checks it (`failover check --cycles`).

use std::sync::atomic::AtomicU32;
use std::sync::Arc;

use failover_proto::{BindingStatus as B, Role, ServerState as S};
use serde::Serialize;
use stateright::{Model, Property};

use crate::config::{Init, ModelConfig, Variant};
use crate::properties;
use crate::protocol::{self as p, initial_status, kind};
use crate::state::*;

/// Something that can happen: an event in the environment (clock, network, crash, operator,
/// client) or a protocol step (delivering a message, a timer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Action {
    /// The clock advances one tick.
    Tick,
    /// The oldest message in flight to this server arrives.
    Deliver(Role),
    /// Every due timer of this server fires.
    Timer(Role),
    /// The network between the servers fails (a partition): the connection is lost.
    Partition,
    /// The network between the servers works again.
    Heal,
    /// The server crashes; its stable storage survives.
    Crash(Role),
    /// The server crashes and loses its stable storage.
    CrashLosingStorage(Role),
    /// The server restarts into STARTUP.
    Restart(Role),
    /// The operator tells the server its partner is down (§8.8.2, §8.9.2, §8.11.2).
    PartnerDownCommand(Role),
    /// The operator resets an abandoned lease (Figure 2 (10)).
    ResetLease(Role, LeaseId),
    /// A client without a lease solicits and requests one of this kind from this server.
    Request(ClientId, Role, LeaseKind),
    /// The client renews with the server that granted its lease.
    Renew(ClientId),
    /// The client rebinds with the other server.
    Rebind(ClientId),
    /// The client releases its lease.
    Release(ClientId),
    /// The client declines its lease.
    Decline(ClientId),
    /// The DNS server answers the oldest DNS update this server owes for this lease (`--dns`).
    DnsAnswer(Role, LeaseId),
    /// The operator cancels the reservation of this lease on this server (`--reservations`).
    CancelReservation(Role, LeaseId),
}

/// The model of one failover relationship under one configuration.
#[derive(Clone, Debug)]
pub struct FailoverModel {
    /// The configuration.
    pub cfg: ModelConfig,
    /// The reachability targets a running check has found, one bit each (index in
    /// [`properties::REACHABILITY`]); `None` outside a check ([`FailoverModel::for_check`]).
    pub(crate) found: Option<Arc<AtomicU32>>,
    /// Built for the Explorer ([`FailoverModel::for_explorer`]): its properties are named with
    /// their kind.
    pub(crate) explorer: bool,
    /// The checker's first pass ([`FailoverModel::for_first_pass`]): the `always` properties'
    /// conditions, given to stateright as one property ([`properties::EVERY_INVARIANT`]);
    /// `None` otherwise.
    pub(crate) invariants: Option<Arc<[properties::Condition]>>,
    /// A check with a time limit ([`crate::check::CheckOptions::timeout`]): past it, no new
    /// state is within the boundary, so the search winds down at once, and the deadline records
    /// that it cut the graph short. stateright's own timeout is not used: it is seen only by a
    /// worker that runs out of local work, which a single-threaded DFS never does before the
    /// end, so a search could run to completion past its limit and be reported incomplete.
    pub(crate) deadline: Option<Arc<Deadline>>,
}

/// When a check must stop exploring, and whether it had to ([`FailoverModel::deadline`]).
#[derive(Debug)]
pub(crate) struct Deadline {
    at: std::time::Instant,
    cut: std::sync::atomic::AtomicBool,
}

impl Deadline {
    /// A deadline at `at`.
    pub(crate) fn new(at: std::time::Instant) -> Deadline {
        Deadline {
            at,
            cut: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether a state was left unexplored because the deadline had passed.
    pub(crate) fn cut(&self) -> bool {
        self.cut.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the deadline has passed (then it records the cut). The clock is read on one
    /// call in 1024 per thread, about every few milliseconds of search.
    fn passed(&self) -> bool {
        use std::cell::Cell;
        use std::sync::atomic::Ordering;
        thread_local!(static CALLS: Cell<u32> = const { Cell::new(0) });
        if self.cut.load(Ordering::Relaxed) {
            return true;
        }
        let n = CALLS.with(|c| {
            let n = c.get().wrapping_add(1);
            c.set(n);
            n
        });
        if n % 1024 != 0 || std::time::Instant::now() < self.at {
            return false;
        }
        self.cut.store(true, Ordering::Relaxed);
        true
    }
}

impl FailoverModel {
    /// A model for a configuration (validate it first with [`ModelConfig::validate`]).
    pub fn new(cfg: ModelConfig) -> Self {
        FailoverModel {
            cfg,
            found: None,
            explorer: false,
            invariants: None,
            deadline: None,
        }
    }

    /// The model as stateright's Explorer shows it: the same states and actions (so a path's
    /// action indices, as `failover check` prints them in its Explorer link, are the same), with
    /// each property named with its kind ([`properties::kind`]), since the Explorer prints
    /// every `always` property as "Always ...", the bounded-liveness ones included.
    pub fn for_explorer(cfg: ModelConfig) -> Self {
        FailoverModel {
            explorer: true,
            ..FailoverModel::new(cfg)
        }
    }

    /// The same model for one run of the checker: it remembers which reachability targets have
    /// been found, so that a found target is no longer evaluated on every state (see
    /// [`properties::all_for`]). The verdicts are the same; the example path of a target is then
    /// the first one the search met (before: the last one).
    pub fn for_check(&self) -> Self {
        FailoverModel {
            cfg: self.cfg.clone(),
            found: Some(Arc::new(AtomicU32::new(0))),
            explorer: self.explorer,
            invariants: None,
            deadline: None,
        }
    }

    /// The model for the checker's first pass ([`crate::check::run`]): as [`Self::for_check`],
    /// but the `always` properties are one property for stateright, which holds where every
    /// one of them holds ([`properties::EVERY_INVARIANT`]). stateright looks each listed
    /// property's name up in its map of discoveries on every state; one name instead of nine
    /// (thirteen with `--dns` and `--reservations`) saves those lookups. It cannot tell which
    /// of them failed, or give each its own path, so a first pass that finds a violation is
    /// followed by a second, with every property on its own.
    pub fn for_first_pass(&self) -> Self {
        let invariants: Vec<properties::Condition> = properties::all_for(&self.cfg)
            .into_iter()
            .filter(|p| p.expectation == stateright::Expectation::Always)
            .map(|p| p.condition)
            .collect();
        FailoverModel {
            invariants: Some(invariants.into()),
            ..self.for_check()
        }
    }

    /// The initial state.
    pub fn initial_state(&self) -> State {
        let cfg = &self.cfg;
        let budget = Budget {
            ticks: cfg.ticks,
            settle_ticks: cfg.settle_ticks,
            partitions: cfg.partitions,
            crashes: cfg.crashes,
            storage_losses: cfg.storage_losses,
            client_ops: cfg.client_ops,
            commands: cfg.commands,
            cancels: cfg.cancels,
        };
        let server = |i: usize| {
            let r = role(i);
            let leases: Vec<Lease> = (0..cfg.leases() as LeaseId)
                .map(|l| Lease::free(initial_status(cfg, l, r)))
                .collect();
            let (state, prev, last_operating) = match cfg.init {
                Init::Normal => (S::Normal, S::Normal, Some(0)),
                // §8.2 (reading R5): no stable storage: primary PARTNER-DOWN, secondary RECOVER,
                // entered through STARTUP.
                Init::Fresh => (
                    S::Startup,
                    if r == Role::Primary {
                        S::PartnerDown
                    } else {
                        S::Recover
                    },
                    None,
                ),
            };
            Server {
                up: true,
                state,
                prev,
                since: 0,
                partner: match cfg.init {
                    Init::Normal => Some((S::Normal, 0)),
                    Init::Fresh => None,
                },
                comm_ok: cfg.init == Init::Normal,
                last_operating,
                storage_lost: cfg.init == Init::Fresh,
                awaiting_upddone: false,
                owes_upddone: false,
                // A fresh server has TIME-OF-FAILURE unknown: RECOVER-WAIT would count from the
                // time it started, t1, plus the MCLT (§8.6.2; it never granted anything, so
                // reading R22 does not lengthen it).
                recover_wait_until: match cfg.init {
                    Init::Normal => 0,
                    Init::Fresh => 1 + cfg.mclt,
                },
                leases,
            }
        };
        let mut st = State {
            // The clock starts at 1 so that every event is later than the initial database
            // (start-time-of-state 0), as it is for a real server.
            now: 1,
            settling: false,
            servers: [server(0), server(1)],
            net_up: true,
            connected: cfg.init == Init::Normal,
            chan: [Vec::new(), Vec::new()],
            clients: Clients::from_elem(None, cfg.clients as usize),
            budget,
            monitor: Monitor::default(),
            addresses: cfg.addresses,
            dns: if cfg.dns {
                vec![None; cfg.leases()]
            } else {
                Vec::new()
            },
        };
        // Reservations (design draft §12): the primary shows a reserved lease FREE and has
        // announced it to the secondary, flagged reserved, as FREE-BACKUP.
        for r in &cfg.reservations {
            let l = r.lease as usize;
            for (i, s) in st.servers.iter_mut().enumerate() {
                s.leases[l].reserved = Some(r.client);
                s.leases[l].status = p::available_status(role(i));
            }
        }
        if cfg.init == Init::Normal {
            // A running relationship has already balanced its delegable prefixes (§4.2.2): the
            // secondary holds half of them, rounded down, as FREE-BACKUP on both sides. A
            // reserved prefix is not delegable: the primary's reservation decides its status.
            let prefixes: Vec<usize> = (cfg.addresses as usize..cfg.leases())
                .filter(|&l| cfg.reserved_for(l as LeaseId).is_none())
                .collect();
            for &l in prefixes.iter().take(prefixes.len() / 2) {
                for s in st.servers.iter_mut() {
                    s.leases[l].status = B::FreeBackup;
                }
            }
        }
        st
    }

    /// Whether anything other than the clock can happen in this state.
    fn push_non_tick_actions(&self, st: &State, out: &mut Vec<Action>) {
        let cfg = &self.cfg;
        let b = &st.budget;
        let faults = !st.settling;
        // Protocol steps.
        for i in 0..2 {
            if !st.chan[1 - i].is_empty() {
                out.push(Action::Deliver(role(i)));
            }
        }
        for i in 0..2 {
            if p::timer_due(cfg, st, i) {
                out.push(Action::Timer(role(i)));
            }
        }
        // The DNS server answers owed updates (§9), in any state of a running server.
        for i in 0..2 {
            let s = &st.servers[i];
            if s.up {
                for (l, lease) in s.leases.iter().enumerate() {
                    if !lease.dns_ops.is_empty() {
                        out.push(Action::DnsAnswer(role(i), l as LeaseId));
                    }
                }
            }
        }
        // Network and servers.
        if !st.net_up {
            out.push(Action::Heal);
        }
        for i in 0..2 {
            if !st.servers[i].up {
                out.push(Action::Restart(role(i)));
            }
        }
        if !faults {
            return;
        }
        if st.net_up && b.partitions > 0 {
            out.push(Action::Partition);
        }
        for i in 0..2 {
            if st.servers[i].up && b.crashes > 0 {
                out.push(Action::Crash(role(i)));
            }
            if st.servers[i].up && b.storage_losses > 0 {
                out.push(Action::CrashLosingStorage(role(i)));
            }
        }
        // Operator.
        if b.commands > 0 {
            for i in 0..2 {
                let s = &st.servers[i];
                let partner_down = !st.servers[1 - i].up;
                let allowed = partner_down || cfg.is(Variant::OperatorPdInPartition) && !st.net_up;
                if s.up
                    && allowed
                    && matches!(
                        s.state,
                        S::Normal | S::CommunicationsInterrupted | S::ResolutionInterrupted
                    )
                {
                    out.push(Action::PartnerDownCommand(role(i)));
                }
                if s.up {
                    for (l, lease) in s.leases.iter().enumerate() {
                        if lease.status == B::Abandoned {
                            out.push(Action::ResetLease(role(i), l as LeaseId));
                        }
                    }
                }
            }
        }
        if b.cancels > 0 {
            // Either server's operator cancels (design draft §12). A cancellation on the
            // secondary alone is undone by the primary, whose configuration decides (readings
            // R31, R32).
            for i in 0..2 {
                let s = &st.servers[i];
                if s.up {
                    for (l, lease) in s.leases.iter().enumerate() {
                        if lease.reserved.is_some() {
                            out.push(Action::CancelReservation(role(i), l as LeaseId));
                        }
                    }
                }
            }
        }
        // Clients.
        if b.client_ops > 0 {
            for (c, h) in st.clients.iter().enumerate() {
                let c = c as ClientId;
                match h {
                    None => {
                        for i in 0..2 {
                            if st.servers[i].up {
                                for k in [LeaseKind::Address, LeaseKind::Prefix] {
                                    let has_kind = match k {
                                        LeaseKind::Address => cfg.addresses > 0,
                                        LeaseKind::Prefix => cfg.prefixes > 0,
                                    };
                                    if has_kind {
                                        out.push(Action::Request(c, role(i), k));
                                    }
                                }
                            }
                        }
                    }
                    Some(h) => {
                        let granter = idx(h.server);
                        if st.servers[granter].up {
                            out.push(Action::Renew(c));
                        }
                        if st.servers[1 - granter].up {
                            out.push(Action::Rebind(c));
                        }
                        out.push(Action::Release(c));
                        out.push(Action::Decline(c));
                    }
                }
            }
        }
    }

    /// A settled end: the settle phase is over and nothing more can happen. The bounded
    /// liveness properties are judged here.
    pub fn is_settled_end(&self, st: &State) -> bool {
        if !st.settling || st.budget.settle_ticks > 0 {
            return false;
        }
        let mut v = Vec::new();
        self.push_non_tick_actions(st, &mut v);
        v.is_empty()
    }

    /// Apply an action (the body of [`Model::next_state`]).
    pub fn step(&self, st: &State, a: Action) -> Option<State> {
        let cfg = &self.cfg;
        let mut st = st.clone();
        match a {
            Action::Tick => {
                st.now += 1;
                if st.settling {
                    st.budget.settle_ticks -= 1;
                } else {
                    st.budget.ticks -= 1;
                    if st.budget.ticks == 0 {
                        st.settling = true;
                    }
                }
                // Clients stop using leases whose valid lifetime has ended, by their own clock.
                let now = st.now;
                // The periodic scan: held updates may go out again (§7.5.4).
                for s in st.servers.iter_mut() {
                    for lease in s.leases.iter_mut() {
                        lease.hold = false;
                    }
                }
                for h in st.clients.iter_mut() {
                    if h.is_some_and(|h| h.expiry <= now) {
                        *h = None;
                    }
                }
            }
            Action::Deliver(r) => p::deliver(cfg, &mut st, idx(r)),
            Action::Timer(r) => p::fire_timers(cfg, &mut st, idx(r)),
            Action::Partition => {
                st.budget.partitions -= 1;
                st.net_up = false;
                p::drop_connection(cfg, &mut st);
            }
            Action::Heal => st.net_up = true,
            Action::Crash(r) => {
                st.budget.crashes -= 1;
                p::crash(cfg, &mut st, idx(r), false);
            }
            Action::CrashLosingStorage(r) => {
                st.budget.storage_losses -= 1;
                p::crash(cfg, &mut st, idx(r), true);
            }
            Action::Restart(r) => p::restart(cfg, &mut st, idx(r)),
            Action::PartnerDownCommand(r) => {
                st.budget.commands -= 1;
                p::set_state(cfg, &mut st, idx(r), S::PartnerDown);
            }
            Action::ResetLease(r, l) => {
                st.budget.commands -= 1;
                p::reset_lease(&mut st, idx(r), l);
            }
            Action::Request(c, r, k) => {
                st.budget.client_ops -= 1;
                p::client_request(cfg, &mut st, c, idx(r), k);
            }
            Action::Renew(c) => {
                st.budget.client_ops -= 1;
                let h = st.clients[c as usize]?;
                p::client_extend(cfg, &mut st, c, idx(h.server), false);
            }
            Action::Rebind(c) => {
                st.budget.client_ops -= 1;
                let h = st.clients[c as usize]?;
                p::client_extend(cfg, &mut st, c, 1 - idx(h.server), true);
            }
            Action::Release(c) => {
                st.budget.client_ops -= 1;
                p::client_release(cfg, &mut st, c, false);
            }
            Action::Decline(c) => {
                st.budget.client_ops -= 1;
                p::client_release(cfg, &mut st, c, true);
            }
            Action::DnsAnswer(r, l) => p::dns_answer(cfg, &mut st, idx(r), l),
            Action::CancelReservation(r, l) => {
                st.budget.cancels -= 1;
                p::cancel_reservation(cfg, &mut st, idx(r), l);
            }
        }
        // The primary connects as soon as both servers run and the network works (§6.1: it
        // "MUST keep retrying"); a later connection is the same as a longer partition.
        let both_up = st.servers[0].up && st.servers[1].up;
        if both_up && st.net_up && !st.connected {
            p::connect(&mut st);
        }
        // Lazy updates go out as soon as the state allows (§4.3, §8.8.1).
        for i in 0..2 {
            p::flush(cfg, &mut st, i);
        }
        Some(st)
    }

    /// Human-readable name of a lease.
    pub fn lease_name(&self, l: LeaseId) -> String {
        crate::names::lease(Some(self.cfg.addresses), l)
    }

    /// One line for an action.
    pub fn describe(&self, a: &Action) -> String {
        match a {
            Action::Tick => "clock advances one tick".into(),
            Action::Deliver(r) => format!("{} receives the next message", r),
            Action::Timer(r) => format!("{} timers fire", r),
            Action::Partition => "network partition: the connection is lost".into(),
            Action::Heal => {
                "network heals; the primary reconnects (CONNECT, CONNECTREPLY, STATE)".into()
            }
            Action::Crash(r) => format!("{r} crashes (stable storage kept)"),
            Action::CrashLosingStorage(r) => format!("{r} crashes and loses its stable storage"),
            Action::Restart(r) => format!("{r} restarts into STARTUP (and connects if it can)"),
            Action::PartnerDownCommand(r) => format!("operator tells {r} its partner is down"),
            Action::ResetLease(r, l) => format!("operator resets {} on {r}", self.lease_name(*l)),
            Action::Request(c, r, k) => format!("c{c} asks {r} for a new {}", k.token()),
            Action::Renew(c) => format!("c{c} renews with its server"),
            Action::Rebind(c) => format!("c{c} rebinds with the other server"),
            Action::Release(c) => format!("c{c} releases its lease"),
            Action::Decline(c) => format!("c{c} declines its lease"),
            Action::DnsAnswer(r, l) => {
                format!("DNS answers {r}'s update for {}", self.lease_name(*l))
            }
            Action::CancelReservation(r, l) => {
                format!(
                    "operator cancels the reservation of {} on {r}",
                    self.lease_name(*l)
                )
            }
        }
    }

    /// Client symmetry: the clients are interchangeable, so a state and the same state with
    /// client ids permuted are equivalent. The representative is the state renamed by a
    /// canonical labelling of its clients ([`crate::canon`]).
    pub fn representative(st: &State) -> State {
        crate::canon::representative(st)
    }
}

impl stateright::Representative for State {
    fn representative(&self) -> Self {
        FailoverModel::representative(self)
    }
}

impl Model for FailoverModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        vec![self.initial_state()]
    }

    fn actions(&self, st: &State, out: &mut Vec<Action>) {
        self.push_non_tick_actions(st, out);
        let any_timer_due = (0..2).any(|i| p::timer_due(&self.cfg, st, i));
        if st.settling {
            // Settle phase: time advances only when nothing else can happen.
            if out.is_empty() && st.budget.settle_ticks > 0 {
                out.push(Action::Tick);
            }
        } else if st.budget.ticks > 0 && !any_timer_due {
            out.push(Action::Tick);
        }
    }

    fn next_state(&self, st: &State, a: Action) -> Option<State> {
        self.step(st, a)
    }

    fn within_boundary(&self, _: &State) -> bool {
        self.deadline.as_ref().is_none_or(|d| !d.passed())
    }

    fn properties(&self) -> Vec<Property<Self>> {
        properties::for_model(self)
    }

    fn format_action(&self, a: &Action) -> String {
        self.describe(a)
    }

    /// For the Explorer: what the step changed (as the counterexample listings print it), then
    /// the whole state after it.
    fn format_step(&self, last: &State, a: Action) -> Option<String> {
        let next = self.next_state(last, a)?;
        let changes = crate::render::changes(self, last, &next);
        let changes = if changes.is_empty() {
            "(nothing observable changed)".to_string()
        } else {
            changes.join("\n")
        };
        Some(format!("{changes}\n\n{next:?}"))
    }

    /// For the Explorer: the path so far as a message-sequence chart ([`crate::chart`]).
    fn as_svg(&self, path: stateright::Path<State, Action>) -> Option<String> {
        // A property violated in the state reached is marked, as on `check --explain`'s chart.
        let last = path.last_state().clone();
        let violation = properties::all_for(&self.cfg)
            .into_iter()
            .find(|p| {
                p.expectation == stateright::Expectation::Always && !(p.condition)(self, &last)
            })
            .map(|p| crate::chart::Violation {
                property: p.name.to_string(),
                detail: properties::violation_detail(self, p.name, &last),
            });
        let actions = path.into_actions();
        let t = crate::trace::of_path(
            self,
            &actions,
            if actions.is_empty() {
                format!("the initial state (init {})", self.cfg.init_name())
            } else {
                format!("the path followed, {} steps", actions.len())
            },
            self.cfg.summary(),
        );
        Some(crate::chart::svg_with(&t, violation.as_ref()))
    }
}

/// The kind of a lease (re-exported for the renderer).
pub fn lease_kind(cfg: &ModelConfig, l: LeaseId) -> LeaseKind {
    kind(cfg, l)
}
