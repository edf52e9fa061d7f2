//! Test harness: a quinn-proto-style `Pair` of endpoints (primary and secondary) joined by a
//! simulated link, with a simulated clock that jumps to the next deadline.

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv6Addr;

use crate::*;

pub(crate) const MCLT: u64 = 60;
pub(crate) const DESIRED: u64 = 300;
pub(crate) const T0: Time = Time(1_000_000);

pub(crate) fn addr(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n)
}

pub(crate) fn prefix(n: u16) -> (Ipv6Addr, u8) {
    (Ipv6Addr::new(0x2001, 0xdb8, 0x100 + n, 0, 0, 0, 0, 0), 64)
}

pub(crate) fn config(role: Role) -> Config {
    let mut c = Config::new(role);
    c.mclt = MCLT;
    c.desired_lifetime = DESIRED;
    c.addresses = (1..=8).map(addr).collect();
    c.prefixes = (0..8).map(prefix).collect();
    c.startup_time = 10;
    c
}

/// One side of the pair.
pub(crate) struct Node {
    pub(crate) ep: Endpoint,
    pub(crate) cfg: Config,
    pub(crate) store: StableState,
    pub(crate) up: bool,
    /// Whether this side has a transport connection (half-open during a partition).
    pub(crate) connected: bool,
    pub(crate) replies: Vec<ClientReply>,
    pub(crate) sent: Vec<Message>,
    pub(crate) events: Vec<Event>,
    /// DNS requests emitted and not yet answered (`Pair::dns_complete`).
    pub(crate) dns: Vec<DnsRequest>,
    /// Every DNS request ever emitted.
    pub(crate) dns_log: Vec<DnsRequest>,
}

impl Node {
    fn new(cfg: Config, now: Time) -> Node {
        Node {
            ep: Endpoint::new(cfg.clone(), None, now),
            cfg,
            store: StableState::default(),
            up: true,
            connected: false,
            replies: Vec::new(),
            sent: Vec::new(),
            events: Vec::new(),
            dns: Vec::new(),
            dns_log: Vec::new(),
        }
    }
}

/// Two endpoints, a link, a clock and a ground-truth record of what clients hold.
pub(crate) struct Pair {
    pub(crate) p: Node,
    pub(crate) s: Node,
    pub(crate) now: Time,
    pub(crate) link_up: bool,
    /// The current connection was broken by a link outage: like TCP, it never delivers again,
    /// even after the link returns; each side finds out by its keepalive.
    conn_dead: bool,
    to_s: VecDeque<Message>,
    to_p: VecDeque<Message>,
    /// The primary retries the connection at this time (§6.1 "periodically").
    reconnect_at: Time,
    pub(crate) transcript: Vec<String>,
    /// Ground truth: for each lease, each client's expiry as the client believes it.
    pub(crate) holdings: BTreeMap<LeaseKey, BTreeMap<ClientId, Time>>,
    /// Duplicate assignments seen; the harness panics on one unless `allow_duplicates`.
    pub(crate) duplicates: usize,
    /// For runs that violate the PARTNER-DOWN assumption on purpose.
    pub(crate) allow_duplicates: bool,
    /// A recording DNS: absolute name → lease, as `dns_complete` applied the requests.
    pub(crate) zone: BTreeMap<String, LeaseKey>,
}

fn name(role: Role) -> &'static str {
    match role {
        Role::Primary => "primary",
        Role::Secondary => "secondary",
    }
}

impl Pair {
    pub(crate) fn new() -> Pair {
        Pair::with_configs(config(Role::Primary), config(Role::Secondary))
    }

    pub(crate) fn with_configs(p: Config, s: Config) -> Pair {
        Pair {
            p: Node::new(p, T0),
            s: Node::new(s, T0),
            now: T0,
            link_up: true,
            conn_dead: false,
            to_s: VecDeque::new(),
            to_p: VecDeque::new(),
            reconnect_at: T0,
            transcript: Vec::new(),
            holdings: BTreeMap::new(),
            duplicates: 0,
            allow_duplicates: false,
            zone: BTreeMap::new(),
        }
    }

    /// A fresh pair driven until both are NORMAL.
    pub(crate) fn normal() -> Pair {
        let mut pair = Pair::new();
        pair.run_until_states(ServerState::Normal, ServerState::Normal, 10_000);
        pair
    }

    pub(crate) fn node(&mut self, role: Role) -> &mut Node {
        match role {
            Role::Primary => &mut self.p,
            Role::Secondary => &mut self.s,
        }
    }

    pub(crate) fn states(&self) -> (ServerState, ServerState) {
        (self.p.ep.state(), self.s.ep.state())
    }

    /// Drain every output and deliver every queued message at the current time.
    pub(crate) fn drain(&mut self) {
        for _ in 0..1_000_000 {
            let mut progress = false;
            for role in [Role::Primary, Role::Secondary] {
                progress |= self.drain_outputs(role);
            }
            if let Some(m) = self.to_s.pop_front() {
                progress = true;
                if self.s.up && self.s.connected && self.link_up && !self.conn_dead {
                    self.s.ep.handle_message(self.now, m);
                }
            } else if let Some(m) = self.to_p.pop_front() {
                progress = true;
                if self.p.up && self.p.connected && self.link_up && !self.conn_dead {
                    self.p.ep.handle_message(self.now, m);
                }
            }
            if !progress
                && self.link_up
                && self.p.up
                && self.s.up
                && !self.p.connected
                && self.now >= self.reconnect_at
            {
                self.connect();
                progress = true;
            }
            if !progress {
                return;
            }
        }
        panic!("livelock: no quiescence after 1e6 steps\n{}", self.tail());
    }

    fn connect(&mut self) {
        self.transcript.push(format!("{} connection up", self.now));
        self.conn_dead = false;
        self.to_p.clear();
        self.to_s.clear();
        self.s.connected = true;
        self.p.connected = true;
        self.s.ep.handle_connected(self.now);
        self.p.ep.handle_connected(self.now);
    }

    fn drain_outputs(&mut self, role: Role) -> bool {
        let now = self.now;
        let mut progress = false;
        loop {
            let node = self.node(role);
            if !node.up {
                return progress;
            }
            let Some(o) = node.ep.poll_output() else {
                return progress;
            };
            progress = true;
            match o {
                Output::Send(m) => {
                    let line = format!("{now} {} -> {m}", name(role));
                    self.transcript.push(line);
                    let node = self.node(role);
                    node.sent.push(m.clone());
                    let ok = node.connected && self.link_up && !self.conn_dead;
                    if ok {
                        match role {
                            Role::Primary => self.to_s.push_back(m),
                            Role::Secondary => self.to_p.push_back(m),
                        }
                    }
                }
                Output::Disconnect { reason } => {
                    self.transcript
                        .push(format!("{now} {} disconnect: {reason}", name(role)));
                    self.node(role).connected = false;
                    // The other side sees the close only if the link carries it.
                    if self.link_up {
                        let other = self.node(role.partner());
                        if other.connected && other.up {
                            other.connected = false;
                            other.ep.handle_disconnected(now);
                        }
                    }
                    self.to_p.clear();
                    self.to_s.clear();
                    self.reconnect_at = now.plus(5);
                }
                Output::Persist(r) => self.node(role).store.apply(&r),
                // Reading R26: a request not answered yet is dropped, as a driver would.
                Output::DnsCancel { id } => {
                    self.transcript
                        .push(format!("{now} {} dns cancel {id}", name(role)));
                    let node = self.node(role);
                    if let Some(pos) = node.dns.iter().position(|r| r.id == id) {
                        node.dns.remove(pos);
                        node.ep.handle_dns_cancelled(now, id);
                    }
                }
                Output::Dns(r) => {
                    self.transcript.push(format!(
                        "{now} {} dns {:?} {}",
                        name(role),
                        r.op,
                        r.lease
                    ));
                    let node = self.node(role);
                    node.dns_log.push(r.clone());
                    node.dns.push(r);
                }
                Output::ClientReply(r) => {
                    self.transcript.push(format!(
                        "{now} {} client {} {:?}",
                        name(role),
                        r.client,
                        r.kind
                    ));
                    if let ReplyKind::Granted { lease, expires, .. } = &r.kind {
                        self.record_grant(*lease, r.client.clone(), *expires);
                    }
                    if let ReplyKind::Released(lease) | ReplyKind::Declined(lease) = &r.kind {
                        if let Some(h) = self.holdings.get_mut(lease) {
                            h.remove(&r.client);
                        }
                    }
                    self.node(role).replies.push(r);
                }
                Output::Event(e) => {
                    if let Event::Log(l) = &e {
                        self.transcript.push(format!("{now} {} {l}", name(role)));
                    }
                    self.node(role).events.push(e);
                }
            }
        }
    }

    /// S1: no lease is held by two different clients at the same time.
    fn record_grant(&mut self, lease: LeaseKey, client: ClientId, expires: Time) {
        let now = self.now;
        let h = self.holdings.entry(lease).or_default();
        if self.allow_duplicates {
            if h.iter().any(|(c, exp)| *c != client && *exp > now) {
                self.duplicates += 1;
            }
            h.insert(client, expires);
            return;
        }
        for (c, exp) in h.iter() {
            assert!(
                *c == client || *exp <= now,
                "DUPLICATE ASSIGNMENT of {lease}: {c} holds it until {exp}, {client} granted at {now}\n{}",
                self.transcript
                    .iter()
                    .filter(|l| l.contains(&lease.to_string())
                        || l.contains(&format!("{:?}", lease))
                        || l.contains("state=")
                        || l.contains("CRASH")
                        || l.contains("RESTART")
                        || l.contains("link")
                        || l.contains("connection"))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        h.insert(client, expires);
    }

    /// Advance the clock to `until`, firing timers on the way.
    pub(crate) fn run_until(&mut self, until: Time) {
        for _ in 0..100_000 {
            self.drain();
            let mut next: Option<Time> = None;
            for n in [&self.p, &self.s] {
                if n.up {
                    if let Some(t) = n.ep.poll_timeout() {
                        next = Some(next.map_or(t, |x: Time| x.min(t)));
                    }
                }
            }
            if self.link_up && !self.p.connected && self.p.up && self.s.up {
                next = Some(next.map_or(self.reconnect_at, |x| x.min(self.reconnect_at)));
            }
            let Some(t) = next.filter(|t| *t <= until) else {
                self.now = self.now.max(until);
                self.drain();
                return;
            };
            self.now = self.now.max(t);
            let now = self.now;
            for n in [&mut self.p, &mut self.s] {
                if n.up && n.ep.poll_timeout().is_some_and(|t| t <= now) {
                    n.ep.handle_timeout(now);
                }
            }
        }
        panic!("livelock in run_until\n{}", self.tail());
    }

    pub(crate) fn advance(&mut self, secs: u64) {
        let t = self.now.plus(secs);
        self.run_until(t);
    }

    /// Run until the pair reaches the given states (or panic after `limit` seconds).
    pub(crate) fn run_until_states(&mut self, p: ServerState, s: ServerState, limit: u64) {
        let end = self.now.plus(limit);
        while self.now < end {
            self.drain();
            if self.states() == (p, s) {
                return;
            }
            let step = self.now.plus(1);
            self.run_until(step);
        }
        panic!(
            "did not reach ({p}, {s}) within {limit} s: at {:?}\n{}",
            self.states(),
            self.tail()
        );
    }

    pub(crate) fn tail(&self) -> String {
        let n = self.transcript.len();
        self.transcript[n.saturating_sub(60)..].join("\n")
    }

    /// A client message to one server; returns that server's answer, if any.
    pub(crate) fn client(&mut self, role: Role, client: u64, op: ClientOp) -> Option<ReplyKind> {
        let now = self.now;
        let node = self.node(role);
        let before = node.replies.len();
        node.ep.handle_client(
            now,
            ClientRequest {
                client: ClientId::from(client),
                op,
            },
        );
        self.drain();
        let node = self.node(role);
        node.replies[before..].last().map(|r| r.kind.clone())
    }

    /// Answer every DNS request `role` has emitted (and those the answers cause): applied to
    /// the recording zone and acknowledged if `ok`, failed otherwise.
    pub(crate) fn dns_complete(&mut self, role: Role, ok: bool) {
        for _ in 0..100 {
            let now = self.now;
            let pending = std::mem::take(&mut self.node(role).dns);
            if pending.is_empty() {
                return;
            }
            for r in pending {
                // A careful driver asks right before sending (reading R26).
                if !self.node(role).ep.dns_request_current(now, r.id) {
                    self.drain();
                    continue;
                }
                if ok {
                    match &r.op {
                        DnsOp::Add { fqdn, .. } => {
                            self.zone.insert(fqdn.absolute(), r.lease);
                        }
                        DnsOp::Remove { fqdn, .. } => {
                            self.zone.remove(&fqdn.absolute());
                        }
                    }
                }
                let result = if ok {
                    Ok(())
                } else {
                    Err("refused".to_string())
                };
                self.node(role).ep.handle_dns_result(now, r.id, result);
                if !ok {
                    self.drain();
                    return;
                }
            }
            self.drain();
        }
    }

    /// A client request carrying an FQDN option.
    pub(crate) fn client_named(
        &mut self,
        role: Role,
        client: u64,
        op: ClientOp,
        fqdn: &str,
    ) -> Option<ClientReply> {
        let now = self.now;
        let node = self.node(role);
        let before = node.replies.len();
        node.ep.handle_client_with_fqdn(
            now,
            ClientRequest {
                client: ClientId::from(client),
                op,
            },
            Some(fqdn.to_string()),
        );
        self.drain();
        self.node(role).replies[before..].last().cloned()
    }

    /// Cut or restore the link. A cut is silent: each side finds out by its keepalive.
    pub(crate) fn set_link(&mut self, up: bool) {
        self.transcript.push(format!(
            "{} link {}",
            self.now,
            if up { "up" } else { "down" }
        ));
        self.link_up = up;
        if !up {
            self.conn_dead = true;
            self.to_p.clear();
            self.to_s.clear();
        }
        self.drain();
    }

    /// Crash a server: it stops; the partner sees the TCP connection close.
    pub(crate) fn crash(&mut self, role: Role) {
        let now = self.now;
        self.transcript.push(format!("{now} {} CRASH", name(role)));
        let n = self.node(role);
        n.up = false;
        n.connected = false;
        n.dns.clear();
        // The driver knows when it stopped: TIME-OF-FAILURE (§8.3.2 step 1).
        n.store.endpoint.time_of_failure = Some(now);
        self.to_p.clear();
        self.to_s.clear();
        let other = self.node(role.partner());
        if other.connected {
            other.connected = false;
            other.ep.handle_disconnected(now);
        }
        self.drain();
    }

    /// Restart a crashed server, with its storage or with empty storage.
    pub(crate) fn restart(&mut self, role: Role, keep_storage: bool) {
        let now = self.now;
        self.transcript
            .push(format!("{now} {} RESTART", name(role)));
        let n = self.node(role);
        let stable = if keep_storage {
            Some(n.store.clone())
        } else {
            n.store = StableState::default();
            None
        };
        n.ep = Endpoint::new(n.cfg.clone(), stable, now);
        n.events.clear();
        n.up = true;
        n.connected = false;
        self.reconnect_at = now;
        self.drain();
    }

    /// Lease views of both servers agree on status and client (S12), ignoring times.
    pub(crate) fn assert_databases_agree(&self) {
        let ties = self.databases_agree_except_r11_ties();
        assert!(
            ties.is_empty(),
            "R11 ties where none were expected: {ties:?}"
        );
    }

    /// As `assert_databases_agree`, but a lease on which each side keeps rejecting the other's
    /// update because their times are within 5 s (reading R11, digest A12) is allowed to
    /// disagree; such leases are returned.
    pub(crate) fn databases_agree_except_r11_ties(&self) -> Vec<LeaseKey> {
        let time_of = |b: &Binding| match b.status {
            BindingStatus::Active | BindingStatus::Expired | BindingStatus::Released => {
                b.clt.unwrap_or(b.start_time_of_state)
            }
            _ => b
                .clt
                .map_or(b.start_time_of_state, |c| c.max(b.start_time_of_state)),
        };
        let mut ties = Vec::new();
        let a = self.p.ep.observe().leases;
        let b = self.s.ep.observe().leases;
        // Statuses compared after PENDING-FREE resolution (reading R1): after an ack the sender
        // holds FREE/FREE-BACKUP while the receiver keeps the EXPIRED/RELEASED/RESET it acked.
        let norm = settled_status;
        for (k, va) in &a {
            let vb = &b[k];
            let agree = norm(&self.p.ep, k) == norm(&self.s.ep, k);
            let (bp, bs) = (
                self.p.ep.db().get(k).unwrap(),
                self.s.ep.db().get(k).unwrap(),
            );
            let tie = bp.update_pending
                && bs.update_pending
                && (time_of(bp).same_as(bs.db_time_known())
                    || time_of(bs).same_as(bp.db_time_known())
                    || time_of(bp).same_as(bs.db_time())
                    || time_of(bs).same_as(bp.db_time()));
            if tie {
                ties.push(*k);
                continue;
            }
            assert!(
                agree && (va.status != BindingStatus::Active || va.client == vb.client),
                "databases disagree on {k}: primary {va:?}, secondary {vb:?}\n{}",
                self.transcript
                    .iter()
                    .filter(|l| l.contains(&k.to_string())
                        || l.contains(&format!("{:?}", k))
                        || l.contains("state=")
                        || l.contains("CRASH")
                        || l.contains("RESTART")
                        || l.contains("link")
                        || l.contains("connection"))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        ties
    }

    /// The transcript from line `from` contains lines matching each pattern, in this order
    /// (other lines may come between): a figure of the RFC as a subsequence.
    pub(crate) fn assert_sequence(&self, from: usize, patterns: &[&str]) {
        let mut it = self.transcript[from..].iter();
        // A pattern "a*b" matches a line containing "a" and, after it, "b".
        let matches = |l: &str, p: &str| {
            let mut rest = l;
            for part in p.split('*') {
                match rest.find(part) {
                    Some(i) => rest = &rest[i + part.len()..],
                    None => return false,
                }
            }
            true
        };
        for p in patterns {
            assert!(
                it.any(|l| matches(l, p)),
                "sequence broken at {p:?}\n{}",
                self.transcript[from..].join("\n")
            );
        }
    }

    /// Messages of a kind sent by a node since the start.
    pub(crate) fn sent(&self, role: Role, kind: MsgKind) -> usize {
        let n = match role {
            Role::Primary => &self.p,
            Role::Secondary => &self.s,
        };
        n.sent.iter().filter(|m| m.kind() == kind).count()
    }
}

/// A lease's status with acknowledged EXPIRED/RELEASED/RESET resolved as PENDING-FREE would
/// resolve it (reading R1): after an ack the sender holds FREE/FREE-BACKUP while the receiver
/// keeps the status it acknowledged (decision D5).
pub(crate) fn settled_status(ep: &Endpoint, k: &LeaseKey) -> BindingStatus {
    let b = ep.db().get(k).unwrap();
    match b.status {
        BindingStatus::Expired | BindingStatus::Released | BindingStatus::Reset
            if !b.update_pending =>
        {
            db::pending_free_destination(k)
        }
        s => s,
    }
}

/// A single endpoint forced into `state` (comm not OK), outputs drained.
pub(crate) fn endpoint_in(role: Role, state: ServerState) -> Endpoint {
    let mut ep = Endpoint::new(config(role), None, T0);
    if state != ServerState::Startup {
        ep.set_state(T0, state);
    }
    while ep.poll_output().is_some() {}
    ep
}

/// Drain outputs, returning the messages sent.
pub(crate) fn sent_messages(ep: &mut Endpoint) -> Vec<Message> {
    let mut v = Vec::new();
    while let Some(o) = ep.poll_output() {
        if let Output::Send(m) = o {
            v.push(m);
        }
    }
    v
}

pub(crate) fn state_msg(state: ServerState, now: Time) -> Message {
    Message {
        xid: 900,
        sent_time: now,
        body: Body::State(StateMsg {
            server_state: state,
            flags: ServerFlags {
                communicated: true,
                ..ServerFlags::default()
            },
            start_time_of_state: now.minus(100),
            partner_down_time: (state == ServerState::PartnerDown).then_some(now.minus(100)),
        }),
    }
}

/// The connection parameters the hand-played partner offers (§6.1).
pub(crate) fn connect_params() -> ConnectParams {
    ConnectParams {
        protocol_version: PROTOCOL_VERSION,
        mclt: MCLT,
        keepalive_time: 60,
        max_unacked_bndupd: 10,
        relationship_name: None,
        connect_flags: 0,
    }
}

/// Play the connection handshake of §6.1 by hand for a single endpoint: the primary's CONNECT
/// is answered with CONNECTREPLY, the secondary is sent a CONNECT. What the endpoint sends
/// after that (its STATE, the secondary's CONNECTREPLY) is left in its output.
pub(crate) fn handshake(ep: &mut Endpoint, now: Time) {
    ep.handle_connected(now);
    match ep.role() {
        Role::Primary => {
            let msgs = sent_messages(ep);
            assert_eq!(msgs[0].kind(), MsgKind::Connect);
            ep.handle_message(
                now,
                Message {
                    xid: msgs[0].xid,
                    sent_time: now,
                    body: Body::ConnectReply(ConnectReply::Accept(connect_params())),
                },
            );
        }
        Role::Secondary => ep.handle_message(
            now,
            Message {
                xid: 1,
                sent_time: now,
                body: Body::Connect(connect_params()),
            },
        ),
    }
}

/// Bring a single endpoint to communications OK with a partner announcing `partner` (the
/// handshake is played by hand: CONNECT/CONNECTREPLY, then the partner's STATE).
pub(crate) fn connect_with_partner_in(ep: &mut Endpoint, now: Time, partner: ServerState) {
    handshake(ep, now);
    ep.handle_message(now, state_msg(partner, now));
}
