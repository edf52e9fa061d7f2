//! The semi-redundant DHCPv6 deployments of RFC 6853 (BCP 180), modelled beside failover so
//! that the checker can compare them on the same properties.
//!
//! RFC 6853 §6: two DHCPv6 servers that never talk to each other, both reached by every client
//! through relays that forward to all servers (§5.2). Clients pick a server by the preference
//! option (§6.1: 255 means "request from this one at once", lower values mean "wait for more
//! advertisements and take the best"); here server 0 sends 255 and server 1 sends 0, and the
//! model lets a client end up with either (an advertisement can be late or lost), so the checker
//! covers every choice. A client renews with the server that granted its lease and, when that
//! server does not answer, rebinds with any server (RFC 3315 §18.1.4). Servers can crash and
//! restart with their database; leases lapse by the clock.
//!
//! The designs (§6.1–§6.3, and §7's first bullet for identical prefixes):
//! * [`Design::SplitPrefixes`] and [`Design::UniquePrefixes`]: disjoint pools (two halves of one
//!   /64, or two different /64s). A server cannot rebind an address from the other's pool. The
//!   two differ in addressing (adjacent or not), DNS and leasequery, not in these properties:
//!   the checker gives them the same verdicts, and the comparison table says so.
//! * [`Design::IdenticalSameAllocator`]: both servers have the whole pool and assign "by the
//!   same algorithm and the same policy" (§7), a function of the client alone, so both pick the
//!   same address for a client.
//! * [`Design::IdenticalDifferentAllocators`]: both have the whole pool; one picks the lowest
//!   address free in its own database, the other the highest: §7 warns that "there is a
//!   distinct chance that each server will assign the same address to two different clients".
//!
//! What is not modelled: DNS (§7's orphaned records), leasequery, T1/T2 timing (a renewal or a
//! rebind is one action).

use std::hash::Hash;

use stateright::{Model, Property};

/// Model time in ticks.
pub type Tick = u8;

/// The RFC 6853 deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Design {
    /// §6.1: one /64 split into two non-overlapping pools, one per server.
    SplitPrefixes,
    /// §6.2: each server has its own /64.
    UniquePrefixes,
    /// §6.3 with one allocation function of the client, shared by both servers (§7).
    IdenticalSameAllocator,
    /// §6.3 with different allocators (lowest free / highest free in each own database).
    IdenticalDifferentAllocators,
}

impl Design {
    /// All four, in the order of the comparison table.
    pub const ALL: [Design; 4] = [
        Design::SplitPrefixes,
        Design::UniquePrefixes,
        Design::IdenticalSameAllocator,
        Design::IdenticalDifferentAllocators,
    ];

    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Design::SplitPrefixes => "RFC 6853 §6.1 split prefixes",
            Design::UniquePrefixes => "RFC 6853 §6.2 multiple unique prefixes",
            Design::IdenticalSameAllocator => "RFC 6853 §6.3 identical prefixes, same allocator",
            Design::IdenticalDifferentAllocators => {
                "RFC 6853 §6.3 identical prefixes, different allocators"
            }
        }
    }
}

/// Sizes and budgets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The deployment.
    pub design: Design,
    /// Clients.
    pub clients: u8,
    /// Addresses in the whole range. Disjoint designs give server 0 the lower half and server 1
    /// the upper half.
    pub leases: u8,
    /// Valid lifetime of a grant, in ticks.
    pub lifetime: Tick,
    /// Clock budget.
    pub ticks: Tick,
    /// Server crashes.
    pub crashes: u8,
    /// Client operations (request, renew, rebind, release).
    pub client_ops: u8,
}

impl Config {
    /// The configuration of the comparison: two clients, two addresses, one crash.
    pub fn comparison(design: Design) -> Config {
        Config {
            design,
            clients: 2,
            leases: 2,
            lifetime: 2,
            ticks: 2,
            crashes: 1,
            client_ops: 4,
        }
    }
}

/// What a client holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Holding {
    /// The address.
    pub lease: u8,
    /// Valid until this tick.
    pub expiry: Tick,
    /// The server that granted or last extended it.
    pub server: u8,
}

/// A server's own database: per address, the client bound and the expiry (`None`: free).
pub type Database = Vec<Option<(u8, Tick)>>;

/// The state: each server's own database (no exchange between them), the clients, the clock.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    /// The clock.
    pub now: Tick,
    /// Per server: up, and per address the client bound and the expiry (`None`: free).
    pub servers: [(bool, Database); 2],
    /// Per client.
    pub clients: Vec<Option<Holding>>,
    /// Budgets left: ticks, crashes, client operations.
    pub budget: (Tick, u8, u8),
    /// A client whose server failed had to give up its address although another server
    /// answered its REBIND (RFC 7031 §7 item 4, "lease stability").
    pub renumbered: bool,
    /// A client kept its address through a REBIND answered by the other server.
    pub rebound_elsewhere: bool,
}

/// An action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// The clock advances; leases lapse.
    Tick,
    /// A server crashes (its database survives).
    Crash(u8),
    /// A crashed server restarts.
    Restart(u8),
    /// A client without a lease solicits and requests from this server (the one whose
    /// advertisement it took).
    Request(u8, u8),
    /// A client renews with its server.
    Renew(u8),
    /// A client rebinds with this server.
    Rebind(u8, u8),
    /// A client releases its lease.
    Release(u8),
}

/// The model.
#[derive(Clone, Debug)]
pub struct Rfc6853 {
    /// Configuration.
    pub cfg: Config,
}

/// No two clients hold one unexpired address (the headline property of failover too).
pub const NO_DUPLICATE: &str = "no address is held by two clients";
/// RFC 7031 §7 item 4, as failover's property (i).
pub const LEASE_STABILITY: &str = "a client keeps its address when its server fails";
/// Reachability: the other server can answer a rebind and keep the client's address.
pub const REBIND_ELSEWHERE: &str = "the other server can rebind a client's address";

impl Rfc6853 {
    /// The model of a configuration.
    pub fn new(cfg: Config) -> Rfc6853 {
        Rfc6853 { cfg }
    }

    /// Whether server `s` may assign address `l` at all (its pool).
    fn in_pool(&self, s: u8, l: u8) -> bool {
        match self.cfg.design {
            Design::SplitPrefixes | Design::UniquePrefixes => {
                let half = self.cfg.leases / 2;
                if s == 0 {
                    l < half
                } else {
                    l >= half
                }
            }
            _ => true,
        }
    }

    /// The address server `s` offers client `c`, from its own database.
    fn choose(&self, st: &State, s: u8, c: u8) -> Option<u8> {
        let db = &st.servers[s as usize].1;
        let free = |l: u8| self.in_pool(s, l) && db[l as usize].is_none();
        let n = self.cfg.leases;
        match self.cfg.design {
            // "The same algorithm and the same policy": a function of the client alone.
            Design::IdenticalSameAllocator => {
                let l = c % n;
                free(l).then_some(l)
            }
            Design::IdenticalDifferentAllocators if s == 1 => (0..n).rev().find(|&l| free(l)),
            _ => (0..n).find(|&l| free(l)),
        }
    }

    /// Whether server `s` accepts a REBIND (or RENEW) of address `l` from client `c`: the
    /// address is in its pool and its database has it free or bound to that client
    /// (RFC 3315 §18.2.4: an address "appropriate for the link" and not in use).
    fn may_extend(&self, st: &State, s: u8, c: u8, l: u8) -> bool {
        self.in_pool(s, l)
            && match st.servers[s as usize].1[l as usize] {
                None => {
                    self.cfg.design != Design::IdenticalSameAllocator || l == c % self.cfg.leases
                }
                Some((owner, _)) => owner == c,
            }
    }

    fn bind(&self, st: &mut State, s: u8, c: u8, l: u8) {
        let expiry = st.now + self.cfg.lifetime;
        st.servers[s as usize].1[l as usize] = Some((c, expiry));
        st.clients[c as usize] = Some(Holding {
            lease: l,
            expiry,
            server: s,
        });
    }
}

impl Model for Rfc6853 {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        let db = vec![None; self.cfg.leases as usize];
        vec![State {
            now: 0,
            servers: [(true, db.clone()), (true, db)],
            clients: vec![None; self.cfg.clients as usize],
            budget: (self.cfg.ticks, self.cfg.crashes, self.cfg.client_ops),
            renumbered: false,
            rebound_elsewhere: false,
        }]
    }

    fn actions(&self, st: &State, out: &mut Vec<Action>) {
        let (ticks, crashes, ops) = st.budget;
        if ticks > 0 {
            out.push(Action::Tick);
        }
        for s in 0..2u8 {
            let up = st.servers[s as usize].0;
            if up && crashes > 0 {
                out.push(Action::Crash(s));
            }
            if !up {
                out.push(Action::Restart(s));
            }
        }
        if ops == 0 {
            return;
        }
        for c in 0..self.cfg.clients {
            match st.clients[c as usize] {
                None => {
                    for s in 0..2 {
                        out.push(Action::Request(c, s));
                    }
                }
                Some(h) => {
                    out.push(Action::Renew(c));
                    // REBIND goes out when the granting server does not answer the RENEW.
                    if !st.servers[h.server as usize].0 {
                        out.push(Action::Rebind(c, 1 - h.server));
                    }
                    out.push(Action::Release(c));
                }
            }
        }
    }

    fn next_state(&self, st: &State, a: Action) -> Option<State> {
        let mut st = st.clone();
        match a {
            Action::Tick => {
                st.budget.0 -= 1;
                st.now += 1;
                let now = st.now;
                for (_, db) in st.servers.iter_mut() {
                    for b in db.iter_mut() {
                        if b.is_some_and(|(_, e)| e <= now) {
                            *b = None;
                        }
                    }
                }
                for h in st.clients.iter_mut() {
                    if h.is_some_and(|h| h.expiry <= now) {
                        *h = None;
                    }
                }
            }
            Action::Crash(s) => {
                st.budget.1 -= 1;
                st.servers[s as usize].0 = false;
            }
            Action::Restart(s) => st.servers[s as usize].0 = true,
            Action::Request(c, s) => {
                st.budget.2 -= 1;
                if st.servers[s as usize].0 {
                    if let Some(l) = self.choose(&st, s, c) {
                        self.bind(&mut st, s, c, l);
                    }
                }
            }
            Action::Renew(c) => {
                st.budget.2 -= 1;
                let h = st.clients[c as usize]?;
                if st.servers[h.server as usize].0 && self.may_extend(&st, h.server, c, h.lease) {
                    self.bind(&mut st, h.server, c, h.lease);
                }
            }
            Action::Rebind(c, s) => {
                st.budget.2 -= 1;
                let h = st.clients[c as usize]?;
                if !st.servers[s as usize].0 {
                    return Some(st);
                }
                if self.may_extend(&st, s, c, h.lease) {
                    self.bind(&mut st, s, c, h.lease);
                    st.rebound_elsewhere = true;
                } else {
                    // The other server answers with the address's lifetimes set to 0
                    // (RFC 3315 §18.2.4): the client must give it up and start over.
                    st.clients[c as usize] = None;
                    st.renumbered = true;
                }
            }
            Action::Release(c) => {
                st.budget.2 -= 1;
                let h = st.clients[c as usize]?;
                st.clients[c as usize] = None;
                let (up, db) = &mut st.servers[h.server as usize];
                if *up && db[h.lease as usize].is_some_and(|(o, _)| o == c) {
                    db[h.lease as usize] = None;
                }
            }
        }
        Some(st)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(NO_DUPLICATE, |_, st: &State| {
                let held: Vec<u8> = st.clients.iter().flatten().map(|h| h.lease).collect();
                held.iter()
                    .enumerate()
                    .all(|(i, l)| !held[i + 1..].contains(l))
            }),
            Property::always(LEASE_STABILITY, |_, st: &State| !st.renumbered),
            Property::sometimes(REBIND_ELSEWHERE, |_, st: &State| st.rebound_elsewhere),
        ]
    }
}

// ---------------------------------------------------------------------------------------------
// The comparison with failover.
// ---------------------------------------------------------------------------------------------

/// A verdict of the comparison table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Held in every reachable state.
    Holds,
    /// Violated; the shortest counterexample has this many steps.
    Violated(usize),
    /// Reached, by a shortest path of this many steps.
    Reached(usize),
    /// Never reached.
    Never,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Holds => write!(f, "holds"),
            Verdict::Violated(n) => write!(f, "VIOLATED ({n} steps)"),
            Verdict::Reached(n) => write!(f, "yes ({n} steps)"),
            Verdict::Never => write!(f, "never"),
        }
    }
}

/// One row of the comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The design.
    pub name: String,
    /// No address held by two clients.
    pub no_duplicate: Verdict,
    /// A client keeps its address when its server fails (RFC 7031 §7 item 4).
    pub lease_stability: Verdict,
    /// The other server answers a REBIND and the client keeps its address.
    pub rebind_elsewhere: Verdict,
    /// Unique states of the graph (failover: with client symmetry).
    pub states: usize,
}

/// A condition on a state.
type StatePredicate<'a, M> = dyn Fn(&<M as Model>::State) -> bool + 'a;
/// A condition on a transition (before, action, after).
type Event<'a, M> =
    dyn Fn(&<M as Model>::State, &<M as Model>::Action, &<M as Model>::State) -> bool + 'a;

/// Breadth-first over the whole graph: the depth of the first state where `bad` holds, the
/// depth of the first transition where `event` holds, and the number of states.
fn search<M>(
    model: &M,
    bad: &[&StatePredicate<'_, M>],
    event: &Event<'_, M>,
) -> (Vec<Option<usize>>, Option<usize>, usize)
where
    M: Model,
    M::State: Hash + Eq + Clone,
    M::Action: Clone,
{
    use std::collections::{HashSet, VecDeque};
    let mut seen: HashSet<M::State> = HashSet::new();
    let mut queue = VecDeque::new();
    let mut found: Vec<Option<usize>> = vec![None; bad.len()];
    let mut happened = None;
    for s in model.init_states() {
        seen.insert(s.clone());
        queue.push_back((s, 0usize));
    }
    let mut actions = Vec::new();
    while let Some((s, d)) = queue.pop_front() {
        for (k, b) in bad.iter().enumerate() {
            if found[k].is_none() && b(&s) {
                found[k] = Some(d);
            }
        }
        model.actions(&s, &mut actions);
        for a in actions.drain(..) {
            if let Some(next) = model.next_state(&s, a.clone()) {
                if happened.is_none() && event(&s, &a, &next) {
                    happened = Some(d + 1);
                }
                if seen.insert(next.clone()) {
                    queue.push_back((next, d + 1));
                }
            }
        }
    }
    (found, happened, seen.len())
}

fn verdicts(found: &[Option<usize>], happened: Option<usize>) -> (Verdict, Verdict, Verdict) {
    let v = |x: Option<usize>| x.map_or(Verdict::Holds, Verdict::Violated);
    (
        v(found[0]),
        v(found[1]),
        happened.map_or(Verdict::Never, Verdict::Reached),
    )
}

/// The row of one RFC 6853 design.
pub fn design_row(cfg: Config) -> Row {
    let name = cfg.design.name().to_string();
    let m = Rfc6853::new(cfg);
    let props = m.properties();
    let dup = |s: &State| !(props[0].condition)(&m, s);
    let stab = |s: &State| !(props[1].condition)(&m, s);
    let rebound = |b: &State, _: &Action, a: &State| !b.rebound_elsewhere && a.rebound_elsewhere;
    let (found, happened, states) = search(&m, &[&dup, &stab], &rebound);
    let (no_duplicate, lease_stability, rebind_elsewhere) = verdicts(&found, happened);
    Row {
        name,
        no_duplicate,
        lease_stability,
        rebind_elsewhere,
        states,
    }
}

/// The configuration of failover that matches [`Config::comparison`] as far as the failover
/// graph allows in seconds: two clients, two addresses (one per server's pool), one crash, no
/// partition, three client operations.
pub fn failover_comparison_config() -> crate::ModelConfig {
    crate::ModelConfig {
        clients: 2,
        addresses: 2,
        prefixes: 0,
        ticks: 2,
        crashes: 1,
        partitions: 0,
        commands: 0,
        client_ops: 3,
        ..crate::ModelConfig::default()
    }
}

/// The row of RFC 8156 failover, from the failover model's own properties in
/// [`failover_comparison_config`]: the safety verdicts by the exhaustive checker (DFS with
/// client symmetry), the rebind by a breadth-first search that stops at the first one.
pub fn failover_row() -> Row {
    use crate::check::{self, CheckOptions, Verdict as V};
    use crate::model::{Action as FAction, FailoverModel};
    use crate::properties as p;
    let m = FailoverModel::new(failover_comparison_config());
    let o = check::run(
        &m,
        &CheckOptions {
            threads: 2,
            ..CheckOptions::default()
        },
        |_| {},
    );
    let verdict = |name: &str| match o.verdict(name) {
        Some(V::Violated(path)) => Verdict::Violated(path.clone().into_actions().len()),
        _ => Verdict::Holds,
    };
    // A REBIND answered by the server that did not grant the lease, the client keeping it.
    let rebound = |b: &crate::State, a: &FAction, n: &crate::State| match a {
        FAction::Rebind(c) => {
            let (x, y) = (b.clients[*c as usize], n.clients[*c as usize]);
            matches!((x, y), (Some(x), Some(y)) if x.lease == y.lease && x.server != y.server)
        }
        _ => false,
    };
    Row {
        name: "RFC 8156 failover".to_string(),
        no_duplicate: verdict(p::NO_DUPLICATE),
        lease_stability: verdict(p::LEASE_STABILITY),
        rebind_elsewhere: first_event(&m, &rebound).map_or(Verdict::Never, Verdict::Reached),
        states: o.unique,
    }
}

/// Breadth-first to the first transition where `event` holds: its depth.
fn first_event<M>(model: &M, event: &Event<'_, M>) -> Option<usize>
where
    M: Model,
    M::State: Hash + Eq + Clone,
    M::Action: Clone,
{
    use std::collections::{HashSet, VecDeque};
    let mut seen: HashSet<M::State> = model.init_states().into_iter().collect();
    let mut queue: VecDeque<(M::State, usize)> = seen.iter().map(|s| (s.clone(), 0)).collect();
    let mut actions = Vec::new();
    while let Some((s, d)) = queue.pop_front() {
        model.actions(&s, &mut actions);
        for a in actions.drain(..) {
            if let Some(next) = model.next_state(&s, a.clone()) {
                if event(&s, &a, &next) {
                    return Some(d + 1);
                }
                if seen.insert(next.clone()) {
                    queue.push_back((next, d + 1));
                }
            }
        }
    }
    None
}

/// Failover and the four RFC 6853 designs, in comparable configurations.
pub fn comparison() -> Vec<Row> {
    let mut rows = vec![failover_row()];
    for d in Design::ALL {
        rows.push(design_row(Config::comparison(d)));
    }
    rows
}

/// The comparison as a Markdown table.
pub fn render(rows: &[Row]) -> String {
    let mut s = String::from(
        "| design | no address held by two clients | client keeps its address when its server fails | other server can rebind the address | states |\n|---|---|---|---|---|\n",
    );
    for r in rows {
        s += &format!(
            "| {} | {} | {} | {} | {} |\n",
            r.name, r.no_duplicate, r.lease_stability, r.rebind_elsewhere, r.states
        );
    }
    s
}
