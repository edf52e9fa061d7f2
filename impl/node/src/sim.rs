//! An in-process harness of two [`Node`]s (primary and secondary) with a simulated clock, a
//! simulated TCP connection that carries real bytes (framed and encoded by the wire codec), and
//! real stores on disk. It is a test and benchmark tool in quinn-proto's `Pair` style.
//!
//! * **Clock.** [`Pair::now`] is the reference time; each side sees it plus its
//!   [`Side::clock_offset`] (for time-skew tests). Time jumps to the next deadline of either node
//!   ([`Pair::run_until`]).
//! * **Connection.** Bytes a node transmits are queued for the other side and delivered by
//!   [`Pair::drain`], either whole (one read per queue, as a large socket buffer would) or in
//!   pseudo-random pieces ([`Chunking::Random`], deterministic from a seed) to exercise partial
//!   reads. A node's [`Output::Close`] reaches the other side after the bytes sent before it
//!   (TCP FIN). A link cut ([`Pair::set_link`]) is silent: each side finds out by its keepalive.
//!   The primary reconnects [`Pair::reconnect_delay`] seconds after a close (§6.1).
//! * **Crashes.** [`Pair::crash`] drops a node without any shutdown (what it committed is all
//!   that survives; bytes it had handed to the connection are still delivered, then the
//!   connection closes); [`Pair::restart`] reopens it from its store, [`Pair::lose_storage`]
//!   deletes the store first.
//! * **Ground truth.** Every grant a client receives is recorded; a grant of a lease another
//!   client still holds is recorded in [`Pair::duplicates`] (the property failover exists for).
//!
//! The harness panics on storage errors and on livelock: it is for tests.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use failover_core::{
    Binding, ClientId, ClientOp, ClientReply, ClientRequest, Command, Config, Event, LeaseKey,
    MsgKind, ReplyKind, Role, ServerState, Time,
};
use failover_proto::wire::{self, FrameDecoder};

use crate::convert::from_wire;
use crate::node::{CloseReason, Node, NodeOptions, OpenError, Output};
use crate::storage::load_stable;

/// How queued bytes are handed to the receiving node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chunking {
    /// Everything queued, in one `handle_bytes` call.
    Whole,
    /// Pieces of 1..=`max` octets, sizes drawn from a xorshift generator seeded with `seed`.
    Random {
        /// Generator seed.
        seed: u64,
        /// Largest piece.
        max: usize,
    },
}

/// What went over the partner connection at one instant (recorded if [`Pair::record`]), from
/// which packet captures of a simulated pair are written (issue 18).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireRecord {
    /// Reference time ([`Pair::now`]).
    pub time: Time,
    /// The side that acted (for [`WireOp::Connect`], the primary: it always connects, §6.1).
    pub from: Role,
    /// What it did.
    pub op: WireOp,
}

/// An event of [`WireRecord`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireOp {
    /// A new connection was opened.
    Connect,
    /// Octets handed to the connection (they reach the partner unless the link fails).
    Data(Vec<u8>),
    /// The side closed the connection (TCP FIN).
    Close,
}

#[derive(Debug)]
enum Segment {
    Data(Vec<u8>),
    Fin,
}

/// One side of the pair.
#[derive(Debug)]
pub struct Side {
    /// Primary or secondary.
    pub role: Role,
    /// Its configuration (kept for restarts).
    pub config: Config,
    /// Its store.
    pub path: PathBuf,
    /// Options it is opened with.
    pub options: NodeOptions,
    /// The node; `None` while crashed.
    pub node: Option<Node>,
    /// Seconds added to [`Pair::now`] to get this side's clock.
    pub clock_offset: i64,
    /// Whether this side has a connection open.
    pub connected: bool,
    /// Client replies it sent.
    pub replies: Vec<ClientReply>,
    /// Events it emitted.
    pub events: Vec<Event>,
    /// Log lines it emitted.
    pub logs: Vec<String>,
    /// Why it closed connections.
    pub closes: Vec<CloseReason>,
    /// Every message it transmitted, decoded from its bytes (if [`Pair::record`]).
    pub sent: Vec<wire::Message>,
    tap: FrameDecoder,
}

impl Side {
    fn new(role: Role, config: Config, path: PathBuf, options: NodeOptions) -> Side {
        Side {
            role,
            config,
            path,
            options,
            node: None,
            clock_offset: 0,
            connected: false,
            replies: Vec::new(),
            events: Vec::new(),
            logs: Vec::new(),
            closes: Vec::new(),
            sent: Vec::new(),
            tap: FrameDecoder::new(),
        }
    }

    /// The node (panics while crashed).
    pub fn node(&self) -> &Node {
        self.node.as_ref().expect("node is crashed")
    }

    /// Its endpoint state (panics while crashed).
    pub fn state(&self) -> ServerState {
        self.node().endpoint().state()
    }

    /// Messages of `kind` it transmitted.
    pub fn sent_count(&self, kind: MsgKind) -> usize {
        self.sent.iter().filter(|m| m.kind() == Ok(kind)).count()
    }

    /// The states it entered, in order.
    pub fn states_visited(&self) -> Vec<ServerState> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::StateChanged { to, .. } => Some(*to),
                _ => None,
            })
            .collect()
    }

    /// Whether a log line contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.logs.iter().any(|l| l.contains(text))
    }

    fn local(&self, now: Time) -> Time {
        Time(now.secs().saturating_add_signed(self.clock_offset))
    }

    fn global(&self, local: Time) -> Time {
        Time(local.secs().saturating_add_signed(-self.clock_offset))
    }
}

fn name(role: Role) -> &'static str {
    match role {
        Role::Primary => "primary",
        Role::Secondary => "secondary",
    }
}

/// Two nodes, a connection between them, a clock and the clients' ground truth.
#[derive(Debug)]
pub struct Pair {
    /// The primary.
    pub p: Side,
    /// The secondary.
    pub s: Side,
    /// Reference time.
    pub now: Time,
    /// Whether the network carries anything.
    pub link_up: bool,
    /// The current connection was broken by a link cut: like TCP it never delivers again.
    conn_dead: bool,
    to_p: VecDeque<Segment>,
    to_s: VecDeque<Segment>,
    /// When the primary next tries to connect.
    pub reconnect_at: Time,
    /// Seconds between a close and the primary's next attempt (§6.1 "periodically").
    pub reconnect_delay: u64,
    /// How bytes are delivered.
    pub chunking: Chunking,
    rng: u64,
    /// Decode what each side transmits into [`Side::sent`] and the transcript (off for
    /// benchmarks).
    pub record: bool,
    /// One line per message, state change, log line, connection event.
    pub transcript: Vec<String>,
    /// The connection's events and octets, in order (if [`Pair::record`]).
    pub wire: Vec<WireRecord>,
    /// For each lease, each client's expiry as that client believes it.
    pub holdings: BTreeMap<LeaseKey, BTreeMap<ClientId, Time>>,
    /// Duplicate assignments seen (each a description).
    pub duplicates: Vec<String>,
}

const LIVELOCK: usize = 10_000_000;

impl Pair {
    /// Open both nodes in `dir` (`primary.redb`, `secondary.redb`, created if absent) at `now`.
    pub fn open(
        dir: &Path,
        primary: Config,
        secondary: Config,
        now: Time,
    ) -> Result<Pair, OpenError> {
        Pair::open_with(dir, primary, secondary, now, NodeOptions::default())
    }

    /// As [`Pair::open`], with node options for both.
    pub fn open_with(
        dir: &Path,
        primary: Config,
        secondary: Config,
        now: Time,
        options: NodeOptions,
    ) -> Result<Pair, OpenError> {
        let mut pair = Pair {
            p: Side::new(
                Role::Primary,
                primary,
                dir.join("primary.redb"),
                options.clone(),
            ),
            s: Side::new(
                Role::Secondary,
                secondary,
                dir.join("secondary.redb"),
                options,
            ),
            now,
            link_up: true,
            conn_dead: false,
            to_p: VecDeque::new(),
            to_s: VecDeque::new(),
            reconnect_at: now,
            reconnect_delay: 5,
            chunking: Chunking::Whole,
            rng: 0x9E37_79B9_7F4A_7C15,
            record: true,
            transcript: Vec::new(),
            wire: Vec::new(),
            holdings: BTreeMap::new(),
            duplicates: Vec::new(),
        };
        for role in [Role::Primary, Role::Secondary] {
            let side = pair.side_mut(role);
            let local = side.local(now);
            side.node = Some(Node::open_with(
                side.config.clone(),
                &side.path,
                local,
                side.options.clone(),
            )?);
        }
        Ok(pair)
    }

    /// One side.
    pub fn side(&self, role: Role) -> &Side {
        match role {
            Role::Primary => &self.p,
            Role::Secondary => &self.s,
        }
    }

    /// One side, mutably.
    pub fn side_mut(&mut self, role: Role) -> &mut Side {
        match role {
            Role::Primary => &mut self.p,
            Role::Secondary => &mut self.s,
        }
    }

    /// Both endpoint states (panics if one is crashed).
    pub fn states(&self) -> (ServerState, ServerState) {
        (self.p.state(), self.s.state())
    }

    /// Use random pieces of at most `max` octets, from `seed`.
    pub fn set_chunking(&mut self, chunking: Chunking) {
        if let Chunking::Random { seed, .. } = chunking {
            self.rng = seed | 1;
        }
        self.chunking = chunking;
    }

    fn next_rand(&mut self) -> u64 {
        // xorshift64
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    fn queue_to(&mut self, role: Role) -> &mut VecDeque<Segment> {
        match role {
            Role::Primary => &mut self.to_p,
            Role::Secondary => &mut self.to_s,
        }
    }

    fn link_ok(&self) -> bool {
        self.link_up && !self.conn_dead
    }

    /// Drain every output and deliver every queued byte at the current time, until nothing moves
    /// (reconnecting the primary when due).
    pub fn drain(&mut self) {
        for _ in 0..LIVELOCK {
            let mut progress = false;
            for role in [Role::Primary, Role::Secondary] {
                progress |= self.pump(role);
            }
            for role in [Role::Secondary, Role::Primary] {
                progress |= self.deliver(role);
            }
            if !progress && !self.try_connect() {
                return;
            }
        }
        panic!("livelock: no quiescence\n{}", self.tail());
    }

    /// Act on every output of one node.
    fn pump(&mut self, role: Role) -> bool {
        let now = self.now;
        let mut progress = false;
        loop {
            let Some(o) = self
                .side_mut(role)
                .node
                .as_mut()
                .and_then(Node::poll_output)
            else {
                return progress;
            };
            progress = true;
            match o {
                Output::Transmit(bytes) => {
                    if self.record {
                        self.tap(role, &bytes);
                    }
                    if self.side(role).connected && self.link_ok() {
                        if self.record {
                            self.wire.push(WireRecord {
                                time: now,
                                from: role,
                                op: WireOp::Data(bytes.clone()),
                            });
                        }
                        self.queue_to(role.partner())
                            .push_back(Segment::Data(bytes));
                    }
                }
                Output::Close(reason) => {
                    self.transcript
                        .push(format!("{now} {} closes: {reason}", name(role)));
                    let link_ok = self.link_ok();
                    let side = self.side_mut(role);
                    side.closes.push(reason);
                    if side.connected {
                        side.connected = false;
                        self.queue_to(role).clear();
                        if link_ok {
                            self.queue_to(role.partner()).push_back(Segment::Fin);
                            if self.record {
                                self.wire.push(WireRecord {
                                    time: now,
                                    from: role,
                                    op: WireOp::Close,
                                });
                            }
                        }
                    }
                    self.reconnect_at = now.plus(self.reconnect_delay);
                }
                Output::ClientReply(r) => {
                    self.transcript.push(format!(
                        "{now} {} client {} {:?}",
                        name(role),
                        r.client,
                        r.kind
                    ));
                    self.record_reply(&r);
                    self.side_mut(role).replies.push(r);
                }
                Output::Event(e) => {
                    if let Event::StateChanged { from, to } = &e {
                        self.transcript
                            .push(format!("{now} {} state={from}=>{to}", name(role)));
                    }
                    self.side_mut(role).events.push(e);
                }
                // The simulation's configurations leave DNS updates off.
                Output::DnsCancel { id } => {
                    self.transcript
                        .push(format!("{now} {} dns cancel {id}", name(role)));
                }
                Output::Dns(r) => {
                    self.transcript.push(format!(
                        "{now} {} dns {:?} {}",
                        name(role),
                        r.op,
                        r.lease
                    ));
                }
                Output::Log(line) => {
                    self.transcript
                        .push(format!("{now} {} log: {line}", name(role)));
                    self.side_mut(role).logs.push(line);
                }
            }
        }
    }

    /// Decode what `role` transmitted, for the transcript.
    fn tap(&mut self, role: Role, bytes: &[u8]) {
        let now = self.now;
        let side = self.side_mut(role);
        side.tap.push(bytes);
        let mut lines = Vec::new();
        loop {
            match side.tap.next_message() {
                Ok(Some(m)) => {
                    lines.push(match from_wire(&m) {
                        Ok(c) => format!("{now} {} -> {c}", name(role)),
                        Err(e) => format!("{now} {} -> {} ({e})", name(role), m.msg_type),
                    });
                    side.sent.push(m);
                }
                Ok(None) => break,
                Err(e) => {
                    lines.push(format!("{now} {} -> undecodable: {e}", name(role)));
                    side.tap = FrameDecoder::new();
                    break;
                }
            }
        }
        self.transcript.extend(lines);
    }

    /// Hand the next queued bytes (or close) to `role`.
    fn deliver(&mut self, role: Role) -> bool {
        let chunking = self.chunking;
        let piece = match self.queue_to(role).front_mut() {
            None => return false,
            Some(Segment::Fin) => None,
            Some(Segment::Data(_)) => Some(()),
        };
        let bytes = match piece {
            None => {
                self.queue_to(role).pop_front();
                let local = self.side(role).local(self.now);
                let side = self.side_mut(role);
                if side.connected {
                    side.connected = false;
                    if let Some(n) = side.node.as_mut() {
                        n.handle_disconnected(local).expect("storage failure");
                    }
                }
                return true;
            }
            Some(()) => match chunking {
                Chunking::Whole => {
                    let q = self.queue_to(role);
                    let mut buf = Vec::new();
                    while let Some(Segment::Data(d)) = q.front_mut() {
                        if buf.is_empty() {
                            buf = std::mem::take(d);
                        } else {
                            buf.extend_from_slice(d);
                        }
                        q.pop_front();
                    }
                    buf
                }
                Chunking::Random { max, .. } => {
                    let want = (self.next_rand() % max.max(1) as u64) as usize + 1;
                    let q = self.queue_to(role);
                    let Some(Segment::Data(d)) = q.front_mut() else {
                        return false;
                    };
                    if d.len() <= want {
                        let d = std::mem::take(d);
                        q.pop_front();
                        d
                    } else {
                        let rest = d.split_off(want);
                        std::mem::replace(d, rest)
                    }
                }
            },
        };
        let local = self.side(role).local(self.now);
        let ok = self.link_ok();
        let side = self.side_mut(role);
        if side.connected && ok {
            if let Some(n) = side.node.as_mut() {
                n.handle_bytes(local, &bytes).expect("storage failure");
            }
        }
        true
    }

    /// Connect when the primary is due to try and both nodes run.
    fn try_connect(&mut self) -> bool {
        let due = self.link_up
            && self.p.node.is_some()
            && self.s.node.is_some()
            && !self.p.connected
            && self.now >= self.reconnect_at;
        if due {
            self.connect();
        }
        due
    }

    /// Open a connection now (the secondary accepts, then the primary sends CONNECT).
    pub fn connect(&mut self) {
        self.transcript.push(format!("{} connection up", self.now));
        if self.record {
            self.wire.push(WireRecord {
                time: self.now,
                from: Role::Primary,
                op: WireOp::Connect,
            });
        }
        self.conn_dead = false;
        self.to_p.clear();
        self.to_s.clear();
        for role in [Role::Secondary, Role::Primary] {
            let local = self.side(role).local(self.now);
            let side = self.side_mut(role);
            side.connected = true;
            side.tap = FrameDecoder::new();
            if let Some(n) = side.node.as_mut() {
                n.handle_connected(local).expect("storage failure");
            }
        }
    }

    /// Advance the clock to `until`, firing timers on the way.
    pub fn run_until(&mut self, until: Time) {
        for _ in 0..LIVELOCK {
            self.drain();
            let mut next: Option<Time> = None;
            for side in [&self.p, &self.s] {
                if let Some(t) = side.node.as_ref().and_then(Node::poll_timeout) {
                    let t = side.global(t);
                    next = Some(next.map_or(t, |n| n.min(t)));
                }
            }
            if self.link_up && !self.p.connected && self.p.node.is_some() && self.s.node.is_some() {
                next = Some(next.map_or(self.reconnect_at, |n| n.min(self.reconnect_at)));
            }
            let Some(t) = next.filter(|t| *t <= until) else {
                self.now = self.now.max(until);
                self.drain();
                return;
            };
            self.now = self.now.max(t);
            for role in [Role::Primary, Role::Secondary] {
                let local = self.side(role).local(self.now);
                if let Some(n) = self.side_mut(role).node.as_mut() {
                    if n.poll_timeout().is_some_and(|t| t <= local) {
                        n.handle_timeout(local).expect("storage failure");
                    }
                }
            }
        }
        panic!("livelock in run_until\n{}", self.tail());
    }

    /// Advance the clock by `secs`.
    pub fn advance(&mut self, secs: u64) {
        let t = self.now.plus(secs);
        self.run_until(t);
    }

    /// Run until the states are `(p, s)`, at most `limit` seconds; `false` if they were not
    /// reached.
    pub fn run_until_states(&mut self, p: ServerState, s: ServerState, limit: u64) -> bool {
        let end = self.now.plus(limit);
        loop {
            self.drain();
            let running = self.p.node.is_some() && self.s.node.is_some();
            if running && self.states() == (p, s) {
                return true;
            }
            if self.now >= end {
                return false;
            }
            let step = self.now.plus(1);
            self.run_until(step);
        }
    }

    /// The last lines of the transcript, for failure messages.
    pub fn tail(&self) -> String {
        let n = self.transcript.len();
        self.transcript[n.saturating_sub(60)..].join("\n")
    }

    /// A client message to one server; its answer, if any.
    pub fn client(&mut self, role: Role, client: u64, op: ClientOp) -> Option<ReplyKind> {
        let local = self.side(role).local(self.now);
        let side = self.side_mut(role);
        let before = side.replies.len();
        side.node
            .as_mut()?
            .handle_client(
                local,
                ClientRequest {
                    client: ClientId::from(client),
                    op,
                },
            )
            .expect("storage failure");
        self.drain();
        self.side(role).replies[before..]
            .last()
            .map(|r| r.kind.clone())
    }

    /// An operator command to one server.
    pub fn command(&mut self, role: Role, cmd: Command) {
        let local = self.side(role).local(self.now);
        if let Some(n) = self.side_mut(role).node.as_mut() {
            n.handle_command(local, cmd).expect("storage failure");
        }
        self.drain();
    }

    /// Queue raw bytes to `role` as if its partner had sent them on the current connection.
    pub fn inject(&mut self, role: Role, bytes: Vec<u8>) {
        self.queue_to(role).push_back(Segment::Data(bytes));
    }

    /// Cut or restore the network. A cut is silent; a restored link does not revive the
    /// connection it broke.
    pub fn set_link(&mut self, up: bool) {
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

    /// Kill a node: it stops between two calls; only what it committed survives. What it had
    /// already handed to the connection is delivered, then the connection closes.
    pub fn crash(&mut self, role: Role) {
        self.transcript
            .push(format!("{} {} CRASH", self.now, name(role)));
        let link_ok = self.link_ok();
        let side = self.side_mut(role);
        side.node = None;
        let was_connected = std::mem::replace(&mut side.connected, false);
        self.queue_to(role).clear();
        if was_connected && link_ok {
            self.queue_to(role.partner()).push_back(Segment::Fin);
        }
        self.drain();
    }

    /// Delete a crashed node's store (storage loss).
    pub fn lose_storage(&mut self, role: Role) {
        let side = self.side(role);
        assert!(side.node.is_none(), "lose_storage needs a crashed node");
        let _ = std::fs::remove_file(&side.path);
        self.transcript
            .push(format!("{} {} STORAGE LOST", self.now, name(role)));
    }

    /// Reopen a crashed node from its store.
    pub fn restart(&mut self, role: Role) {
        self.transcript
            .push(format!("{} {} RESTART", self.now, name(role)));
        let local = self.side(role).local(self.now);
        let side = self.side_mut(role);
        assert!(side.node.is_none(), "restart needs a crashed node");
        side.node = Some(
            Node::open_with(side.config.clone(), &side.path, local, side.options.clone())
                .expect("reopen from storage"),
        );
        side.connected = false;
        side.events.clear();
        self.reconnect_at = self.now;
        self.drain();
    }

    /// Whether `role`'s store holds exactly the endpoint's lease database (every configured
    /// lease absent from the store is still in its never-used state). `Err` describes the first
    /// difference.
    pub fn durable_matches_memory(&self, role: Role) -> Result<(), String> {
        let node = self.side(role).node();
        let stored = load_stable(node.store())
            .map_err(|e| e.to_string())?
            .map(|s| s.leases)
            .unwrap_or_default();
        for (k, b) in node.endpoint().db().iter() {
            let durable = stored.get(k).cloned().unwrap_or_else(|| {
                Binding::available(failover_core::db::pending_free_destination(k))
            });
            if &durable != b {
                return Err(format!(
                    "{} {k}: in memory {b:?}, durable {durable:?}",
                    name(role)
                ));
            }
        }
        Ok(())
    }

    fn record_reply(&mut self, r: &ClientReply) {
        let now = self.now;
        match &r.kind {
            ReplyKind::Granted { lease, expires, .. } => {
                let h = self.holdings.entry(*lease).or_default();
                for (c, exp) in h.iter() {
                    if *c != r.client && *exp > now {
                        self.duplicates.push(format!(
                            "{now}: {lease} granted to {} while {c} holds it until {exp}",
                            r.client
                        ));
                    }
                }
                h.insert(r.client.clone(), *expires);
            }
            ReplyKind::Released(lease) | ReplyKind::Declined(lease) => {
                if let Some(h) = self.holdings.get_mut(lease) {
                    h.remove(&r.client);
                }
            }
            _ => {}
        }
    }
}
