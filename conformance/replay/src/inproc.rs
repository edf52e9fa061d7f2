//! Our implementation in-process: two `failover-core` endpoints wired back to back. The adapter
//! is a driver as `failover-node` is one, minus sockets and disk: it keeps each endpoint's
//! stable storage by applying its `Persist` outputs, carries messages in two FIFO queues (one
//! TCP connection, §6.1), opens the connection when both servers run and the network works,
//! and delivers CONNECT, CONNECTREPLY, CONTACT and DISCONNECT by itself (the traces abstract
//! connection set-up into the connection coming up).

use std::collections::VecDeque;
use std::net::Ipv6Addr;

use failover_conformance::sut::{
    ClientOpKind, Sut, SutConfig, SutDnsOp, SutDnsRecord, SutError, SutEvent, SutLease, SutMsg,
    SutObservation, SutReply, SutServer,
};
use failover_core::{
    BindingStatus, Body, ClientId, ClientOp, ClientRequest, Command, Config, DnsOpKind, DnsRequest,
    Endpoint, EndpointRecord, Fqdn, LeaseKey, LeaseKind, Message, Output, ReplyKind, Role,
    ServerState, StableState, StatusCode, Time,
};
use failover_dns::Recorder;

/// A deliberate mistake, to prove the harness can fail (never use outside tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breakage {
    /// Configure an MCLT a thousand times the trace's: grants outside PARTNER-DOWN are no longer
    /// capped by the MCLT (§4.4), and every MCLT wait is far too long.
    NoMcltCap,
    /// Every BNDREPLY rejection is sent as an acceptance (Figure 4 of §7.5.4 ignored on the
    /// wire: the sender believes its partner took the update).
    AcceptEveryBndupd,
    /// The operator's "partner is down" command is ignored (§8.9.2).
    IgnorePartnerDownCommand,
    /// DNS (§9.5, reading R28): the Client FQDN option is dropped before it reaches the
    /// server, so a server that knows no name for a binding it renews makes up its own instead
    /// of taking the one the client presents.
    IgnoreClientFqdn,
    /// Reservations (design draft §12) are not configured: a server without reservation
    /// support, which offers a reserved lease to any client and never flags it.
    IgnoreReservations,
}

impl Breakage {
    /// All of them.
    pub const ALL: [Breakage; 5] = [
        Breakage::NoMcltCap,
        Breakage::AcceptEveryBndupd,
        Breakage::IgnorePartnerDownCommand,
        Breakage::IgnoreClientFqdn,
        Breakage::IgnoreReservations,
    ];

    /// Command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Breakage::NoMcltCap => "no-mclt-cap",
            Breakage::AcceptEveryBndupd => "accept-every-bndupd",
            Breakage::IgnorePartnerDownCommand => "ignore-partner-down-command",
            Breakage::IgnoreClientFqdn => "ignore-client-fqdn",
            Breakage::IgnoreReservations => "ignore-reservations",
        }
    }
}

/// Keepalive and RECOVER stall timers far beyond any trace (the traces model a lost
/// connection as an explicit partition, not a keepalive timeout).
const NEVER: u64 = 100_000_000;

/// The in-process system under test.
#[derive(Debug, Default)]
pub struct InProc {
    breakage: Option<Breakage>,
    cfgs: Vec<Config>,
    eps: [Option<Endpoint>; 2],
    stable: [StableState; 2],
    has_stable: [bool; 2],
    /// The server crashed losing its stable storage and has not crashed since (the driver
    /// knows the storage is gone, reading R5).
    lost_storage: [bool; 2],
    /// `queues[i]`: messages sent by server `i`, oldest first.
    queues: [VecDeque<Message>; 2],
    connected: bool,
    net_up: bool,
    now: Time,
    sent: Vec<SutMsg>,
    reply: Option<SutReply>,
    /// `ddns` traces: the DNS server (the in-memory recorder of failover-dns, which deletes
    /// only records that are still the requester's, as its RFC 2136 client does).
    dns_server: Option<Recorder>,
    /// `dns_queue[i]`: the DNS requests server `i` handed its driver, oldest first; they wait
    /// for the trace's `dns-answer` (volatile: lost when the server crashes).
    dns_queue: [VecDeque<DnsRequest>; 2],
    /// The addresses and prefixes of the configuration (an operator command naming another
    /// lease is refused with an error).
    known: Vec<LeaseKey>,
}

fn ix(r: Role) -> usize {
    match r {
        Role::Primary => 0,
        Role::Secondary => 1,
    }
}

fn role(i: usize) -> Role {
    if i == 0 {
        Role::Primary
    } else {
        Role::Secondary
    }
}

/// Parse `addr` or `addr/len`.
pub fn lease_key(s: &str) -> Result<LeaseKey, SutError> {
    let bad = || SutError(format!("not an IPv6 address or prefix: {s:?}"));
    match s.split_once('/') {
        Some((a, l)) => Ok(LeaseKey::Prefix(
            a.parse::<Ipv6Addr>().map_err(|_| bad())?,
            l.parse::<u8>().map_err(|_| bad())?,
        )),
        None => Ok(LeaseKey::Addr(s.parse().map_err(|_| bad())?)),
    }
}

fn client_id(hex: &str) -> Result<ClientId, SutError> {
    if !hex.len().is_multiple_of(2) || hex.is_empty() {
        return Err(SutError(format!("client DUID is not hex octets: {hex:?}")));
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map(ClientId)
        .map_err(|_| SutError(format!("client DUID is not hex octets: {hex:?}")))
}

/// A name as the stdio protocol writes it: `host.zone`, no final dot.
fn name(f: &Fqdn) -> String {
    f.absolute().trim_end_matches('.').to_string()
}

fn hex(c: &ClientId) -> String {
    c.0.iter().map(|b| format!("{b:02x}")).collect()
}

impl InProc {
    /// The lease an operator command or DNS answer names, if the configuration has it.
    fn known_lease(&self, lease: &str, event: &str) -> Result<LeaseKey, SutError> {
        let k = lease_key(lease)?;
        if self.known.contains(&k) {
            Ok(k)
        } else {
            Err(SutError(format!(
                "{event}: unknown lease {lease:?}: not one of the configuration's addresses and prefixes"
            )))
        }
    }

    /// Our implementation as it is.
    pub fn new() -> InProc {
        InProc::default()
    }

    /// Our implementation with a deliberate mistake.
    pub fn broken(b: Breakage) -> InProc {
        InProc {
            breakage: Some(b),
            ..InProc::default()
        }
    }

    fn core_config(
        cfg: &SutConfig,
        r: Role,
        breakage: Option<Breakage>,
    ) -> Result<Config, SutError> {
        let mut c = Config::new(r);
        c.mclt = if breakage == Some(Breakage::NoMcltCap) {
            cfg.mclt * 1000
        } else {
            cfg.mclt
        };
        c.desired_lifetime = cfg.lifetime;
        c.addresses = cfg.addresses.clone();
        c.prefixes = cfg
            .prefixes
            .iter()
            .map(|p| match lease_key(p)? {
                LeaseKey::Prefix(a, l) => Ok((a, l)),
                LeaseKey::Addr(_) => Err(SutError(format!("prefix without a length: {p:?}"))),
            })
            .collect::<Result<_, _>>()?;
        c.keepalive_time = NEVER;
        c.recover_timeout = NEVER;
        c.startup_time = cfg.startup_time;
        c.auto_partner_down = cfg.auto_partner_down;
        c.update_retry = failover_conformance::mapping::TICK_SECS;
        // The model keeps one client-last-transaction time per lease, raised to the partner's
        // when an update is accepted (§7.5.5), and Figure 4 compares against it: that is
        // decision D8's opt-in (the latest client transaction known, ours or the partner's).
        c.db_time_includes_partner_clt = true;
        // Design draft §12 (`reservations` traces): the same reservations on both servers.
        if breakage != Some(Breakage::IgnoreReservations) {
            c.reservations = cfg
                .reservations
                .iter()
                .map(|r| Ok((lease_key(&r.lease)?, client_id(&r.client)?)))
                .collect::<Result<_, SutError>>()?;
        }
        // RFC 8156 §9 (`ddns` traces): updates on, names synthesized per client and server as
        // the mapping expects (`<label>-<client DUID>.<zone>`), the client's presented name used.
        if let Some(d) = &cfg.dns {
            c.dns.enabled = true;
            c.dns.zone = d.zone.clone();
            c.dns.forward = true;
            c.dns.reverse = true;
            c.dns.use_client_fqdn = true;
            c.dns.synthesize_label = Some(d.labels[ix(r)].clone());
            c.dns.synthesize_from_client = true;
        }
        c.validate()
            .map_err(|e| SutError(format!("configuration refused: {e}")))?;
        Ok(c)
    }

    fn drain(&mut self, i: usize) {
        loop {
            let Some(ep) = self.eps[i].as_mut() else {
                return;
            };
            let Some(o) = ep.poll_output() else {
                return;
            };
            match o {
                Output::Send(mut m) => {
                    if !self.connected {
                        continue;
                    }
                    if self.breakage == Some(Breakage::AcceptEveryBndupd) {
                        if let Body::BndReply(r) = &mut m.body {
                            r.status = None;
                            for l in r.leases.iter_mut() {
                                l.status = None;
                            }
                        }
                    }
                    self.record(i, &m);
                    self.queues[i].push_back(m);
                }
                Output::Persist(rec) => {
                    self.stable[i].apply(&rec);
                    self.has_stable[i] = true;
                }
                Output::ClientReply(r) => {
                    self.reply = Some(match r.kind {
                        ReplyKind::Granted { lease, expires, .. } => SutReply::Granted {
                            lease: lease.to_string(),
                            expires: expires.secs(),
                            fqdn: r.fqdn.as_ref().map(name),
                        },
                        ReplyKind::Released(_) | ReplyKind::Declined(_) => SutReply::Done,
                        ReplyKind::Advertise { .. }
                        | ReplyKind::NoBinding(_)
                        | ReplyKind::NoLeaseAvailable(_) => SutReply::Refused,
                    })
                }
                Output::Disconnect { .. } => self.drop_connection(),
                Output::Dns(req) => self.dns_queue[i].push_back(req),
                // Reading R26: not answered yet, so the driver drops it.
                Output::DnsCancel { id } => {
                    if let Some(pos) = self.dns_queue[i].iter().position(|r| r.id == id) {
                        self.dns_queue[i].remove(pos);
                        if let Some(ep) = self.eps[i].as_mut() {
                            ep.handle_dns_cancelled(self.now, id);
                        }
                    }
                }
                Output::Event(_) => {}
            }
        }
    }

    fn record(&mut self, i: usize, m: &Message) {
        let from = role(i);
        let base = |kind: &str| SutMsg {
            from,
            kind: kind.into(),
            state: None,
            startup: None,
            lease: None,
            status: None,
            reject: None,
            fqdn: None,
            dns_added: None,
            reserved: None,
        };
        match &m.body {
            Body::State(s) => self.sent.push(SutMsg {
                state: Some(s.server_state),
                startup: Some(s.flags.startup),
                ..base("STATE")
            }),
            Body::BndUpd(u) => {
                for l in &u.leases {
                    // §9.2: the binding's name (the one placed, else the one requested) and
                    // whether the records are up to date (flags F/R).
                    let named = l
                        .dns
                        .as_ref()
                        .and_then(|d| d.entered.as_ref().or(d.requested.as_ref()).map(|n| (n, d)));
                    self.sent.push(SutMsg {
                        lease: Some(l.lease.to_string()),
                        status: Some(l.binding_status),
                        fqdn: named.map(|(n, _)| name(n)),
                        dns_added: named.map(|(_, d)| d.shows_dns_updates()),
                        reserved: l.reserved,
                        ..base("BNDUPD")
                    })
                }
            }
            Body::BndReply(r) => {
                for l in &r.leases {
                    let code = r.status.or(l.status).filter(|s| *s != StatusCode::Success);
                    self.sent.push(SutMsg {
                        lease: Some(l.lease.to_string()),
                        status: Some(l.binding_status),
                        reject: code.map(|c| format!("{c:?}")),
                        ..base("BNDREPLY")
                    })
                }
            }
            Body::PoolReq => self.sent.push(base("POOLREQ")),
            Body::PoolResp => self.sent.push(base("POOLRESP")),
            Body::UpdReq => self.sent.push(base("UPDREQ")),
            Body::UpdReqAll => self.sent.push(base("UPDREQALL")),
            Body::UpdDone => self.sent.push(base("UPDDONE")),
            Body::Connect(_) | Body::ConnectReply(_) | Body::Disconnect(_) | Body::Contact => {}
        }
    }

    fn drop_connection(&mut self) {
        if !self.connected {
            return;
        }
        self.connected = false;
        self.queues = [VecDeque::new(), VecDeque::new()];
        for i in 0..2 {
            if let Some(ep) = self.eps[i].as_mut() {
                ep.handle_disconnected(self.now);
                self.drain(i);
            }
        }
    }

    fn maybe_connect(&mut self) {
        if self.connected || !self.net_up || self.eps.iter().any(|e| e.is_none()) {
            return;
        }
        self.connected = true;
        for i in 0..2 {
            if let Some(ep) = self.eps[i].as_mut() {
                ep.handle_connected(self.now);
            }
            self.drain(i);
        }
    }

    /// Deliver the connection-level messages the traces abstract away, wherever they head a
    /// queue.
    fn auto_deliver(&mut self) {
        let mut progress = true;
        while progress {
            progress = false;
            for i in 0..2 {
                let abstracted = self.queues[i].front().is_some_and(|m| {
                    matches!(
                        m.body,
                        Body::Connect(_)
                            | Body::ConnectReply(_)
                            | Body::Contact
                            | Body::Disconnect(_)
                    )
                });
                if abstracted {
                    let m = self.queues[i].pop_front().expect("a head");
                    self.deliver_msg(1 - i, m);
                    progress = true;
                }
            }
        }
    }

    fn deliver_msg(&mut self, to: usize, mut m: Message) {
        // The model has one clock and no transit time: a message crosses the wire when the
        // trace delivers it, possibly ticks after the endpoint produced it. Its sent-time is
        // therefore the delivery time. Left as produced, a message delivered a tick later would
        // look skewed by 60 s and the receiver would drop the connection (§7.5.1), which no
        // trace asks for.
        m.sent_time = self.now;
        if let Some(ep) = self.eps[to].as_mut() {
            ep.handle_message(self.now, m);
            self.drain(to);
        }
    }

    fn observe(&mut self) -> SutObservation {
        let servers = self
            .eps
            .iter()
            .map(|e| match e {
                None => SutServer {
                    up: false,
                    state: None,
                    comm_ok: false,
                    leases: Vec::new(),
                },
                Some(ep) => {
                    let o = ep.observe();
                    SutServer {
                        up: true,
                        state: Some(o.state),
                        comm_ok: o.comm_ok,
                        leases: o
                            .leases
                            .iter()
                            .map(|(k, v)| SutLease {
                                lease: k.to_string(),
                                status: v.status,
                                client: v.client.as_ref().map(hex),
                                expiry: if v.status == BindingStatus::Active {
                                    v.client_expiry.map(|t| t.secs())
                                } else {
                                    None
                                },
                                fqdn: v.fqdn.as_ref().map(name),
                                dns_added: v.dns_added,
                                dns_owed: v
                                    .dns_owed
                                    .iter()
                                    .map(|d| SutDnsOp {
                                        op: match d.op {
                                            DnsOpKind::Add => "add",
                                            DnsOpKind::Remove => "remove",
                                        }
                                        .into(),
                                        fqdn: name(&d.fqdn),
                                    })
                                    .collect(),
                                reserved_for: v.reserved_for.as_ref().map(hex),
                                cancelling: v.reservation_cancelling,
                            })
                            .collect(),
                    }
                }
            })
            .collect();
        // The DNS server's records, by lease: the PTR of the lease's address (the AAAA of the
        // same name is placed and removed with it).
        let dns = self.dns_server.as_ref().map(|d| {
            let leases = self.cfgs.first().map_or_else(Vec::new, |c| {
                let mut v: Vec<LeaseKey> = c.addresses.iter().map(|a| LeaseKey::Addr(*a)).collect();
                v.extend(c.prefixes.iter().map(|(a, l)| LeaseKey::Prefix(*a, *l)));
                v
            });
            leases
                .iter()
                .filter_map(|k| {
                    let n = d.reverse.get(&failover_dns::lease_address(k))?;
                    Some(SutDnsRecord {
                        lease: k.to_string(),
                        fqdn: n.trim_end_matches('.').to_string(),
                    })
                })
                .collect()
        });
        SutObservation {
            servers,
            reply: self.reply.take(),
            sent: std::mem::take(&mut self.sent),
            dns,
        }
    }

    /// Reading R19, an assumption about the environment the model makes: the STARTUP timer of
    /// a server expires only while its partner is down. The adapter knows which servers run.
    fn hold_startup_timers(&mut self) {
        let running = [self.eps[0].is_some(), self.eps[1].is_some()];
        for i in 0..2 {
            if let Some(ep) = self.eps[i].as_mut() {
                ep.hold_startup(running[1 - i]);
            }
        }
    }

    fn ep(&mut self, r: Role) -> Option<&mut Endpoint> {
        self.eps[ix(r)].as_mut()
    }
}

impl Sut for InProc {
    fn name(&self) -> String {
        match self.breakage {
            None => "failover-core (in-process)".into(),
            Some(b) => format!("failover-core (in-process, broken: {})", b.name()),
        }
    }

    fn start(&mut self, cfg: &SutConfig) -> Result<SutObservation, SutError> {
        let b = self.breakage;
        *self = InProc {
            breakage: b,
            ..InProc::default()
        };
        self.cfgs = vec![
            InProc::core_config(cfg, Role::Primary, b)?,
            InProc::core_config(cfg, Role::Secondary, b)?,
        ];
        self.known = cfg
            .addresses
            .iter()
            .map(|a| LeaseKey::Addr(*a))
            .chain(
                cfg.prefixes
                    .iter()
                    .map(|p| lease_key(p))
                    .filter_map(Result::ok),
            )
            .collect();
        self.now = Time(cfg.start_time);
        self.net_up = true;
        self.dns_server = cfg.dns.as_ref().map(|_| Recorder::default());
        match cfg.init.as_str() {
            "fresh" => {
                for i in 0..2 {
                    self.eps[i] = Some(
                        Endpoint::try_new(self.cfgs[i].clone(), None, self.now)
                            .map_err(|e| SutError(e.to_string()))?,
                    );
                    self.drain(i);
                }
            }
            "normal" => {
                let backup: Vec<LeaseKey> = cfg
                    .backup_prefixes
                    .iter()
                    .map(|p| lease_key(p))
                    .collect::<Result<_, _>>()?;
                let t0 = Time(
                    cfg.start_time
                        .saturating_sub(failover_conformance::mapping::TICK_SECS),
                );
                for i in 0..2 {
                    let c = &self.cfgs[i];
                    let mut st = StableState {
                        endpoint: EndpointRecord {
                            state: Some(ServerState::Normal),
                            previous_state: Some(ServerState::Normal),
                            start_time_of_state: t0,
                            partner_state: Some(ServerState::Normal),
                            partner_start_time: Some(t0),
                            last_partner_message: Some(self.now),
                            partner_down_entry: None,
                            communicated: true,
                            mclt: c.mclt,
                            last_operation: self.now,
                            time_of_failure: None,
                            storage_lost: false,
                        },
                        leases: Default::default(),
                    };
                    for a in &c.addresses {
                        let k = LeaseKey::Addr(*a);
                        let s = if a.octets()[15] & 1 == 1 {
                            BindingStatus::Free
                        } else {
                            BindingStatus::FreeBackup
                        };
                        st.leases.insert(k, failover_core::Binding::available(s));
                    }
                    for (a, l) in &c.prefixes {
                        let k = LeaseKey::Prefix(*a, *l);
                        let s = if backup.contains(&k) {
                            BindingStatus::FreeBackup
                        } else {
                            BindingStatus::Free
                        };
                        st.leases.insert(k, failover_core::Binding::available(s));
                    }
                    // A running relationship with reservations (design draft §12): the primary
                    // shows a reserved lease FREE, the secondary holds it FREE-BACKUP flagged
                    // reserved, as the primary's earlier announcement left them.
                    for (k, _) in &c.reservations {
                        let mut b = failover_core::Binding::available(if i == 0 {
                            BindingStatus::Free
                        } else {
                            BindingStatus::FreeBackup
                        });
                        b.reservation = failover_core::Reservation::Reserved;
                        st.leases.insert(*k, b);
                    }
                    self.stable[i] = st.clone();
                    self.has_stable[i] = true;
                    self.eps[i] = Some(
                        Endpoint::try_new(c.clone(), Some(st), self.now)
                            .map_err(|e| SutError(e.to_string()))?,
                    );
                    self.drain(i);
                }
                self.maybe_connect();
                // Run the exchange to the end: both servers NORMAL, nothing in flight.
                for _ in 0..1000 {
                    self.auto_deliver();
                    let Some(i) = (0..2).find(|&i| !self.queues[i].is_empty()) else {
                        break;
                    };
                    let m = self.queues[i].pop_front().expect("non-empty");
                    self.deliver_msg(1 - i, m);
                }
                let ok = self.eps.iter().all(|e| {
                    e.as_ref()
                        .is_some_and(|e| e.state() == ServerState::Normal && e.comm_ok())
                });
                if !ok {
                    let states: Vec<String> = self
                        .eps
                        .iter()
                        .map(|e| e.as_ref().map_or("down".into(), |e| e.state().to_string()))
                        .collect();
                    return Err(SutError(format!(
                        "init normal: the servers did not reach NORMAL with communications OK (they are {})",
                        states.join(", ")
                    )));
                }
            }
            other => return Err(SutError(format!("unknown init {other:?}"))),
        }
        self.sent.clear();
        self.reply = None;
        Ok(self.observe())
    }

    fn apply(&mut self, time: u64, event: &SutEvent) -> Result<SutObservation, SutError> {
        if time < self.now.secs() {
            return Err(SutError(format!(
                "time went backwards: {time} after {}",
                self.now.secs()
            )));
        }
        self.now = Time(time);
        let now = self.now;
        self.hold_startup_timers();
        match event {
            SutEvent::Tick => {
                for i in 0..2 {
                    if let Some(ep) = self.eps[i].as_mut() {
                        if ep.poll_timeout().is_some_and(|t| t <= now) {
                            ep.handle_timeout(now);
                        }
                    }
                    self.drain(i);
                }
            }
            SutEvent::Deliver { to } => {
                self.auto_deliver();
                let from = 1 - ix(*to);
                if let Some(m) = self.queues[from].pop_front() {
                    self.deliver_msg(ix(*to), m);
                }
            }
            SutEvent::Timers { server } => {
                if let Some(ep) = self.ep(*server) {
                    ep.handle_timeout(now);
                }
                self.drain(ix(*server));
            }
            SutEvent::Partition => {
                self.net_up = false;
                self.drop_connection();
            }
            SutEvent::Heal => self.net_up = true,
            SutEvent::Crash {
                server,
                lose_storage,
            } => {
                let i = ix(*server);
                self.eps[i] = None;
                // What the server asked its DNS driver dies with it; what it owes is in its
                // stable storage and asked again at the restart (§9.4).
                self.dns_queue[i].clear();
                self.lost_storage[i] = *lose_storage;
                if *lose_storage {
                    self.stable[i] = StableState::default();
                    self.has_stable[i] = false;
                } else {
                    // The driver knows when its server stopped (§8.3.2 step 1, decision D17).
                    self.stable[i].endpoint.time_of_failure = Some(now);
                }
                self.drop_connection();
            }
            SutEvent::Restart { server } => {
                let i = ix(*server);
                let st = self.has_stable[i].then(|| self.stable[i].clone());
                let cfg = self.cfgs[i].clone();
                let ep = if st.is_none() && self.lost_storage[i] {
                    Endpoint::try_new_after_storage_loss(cfg, now)
                } else {
                    Endpoint::try_new(cfg, st, now)
                };
                self.eps[i] = Some(ep.map_err(|e| SutError(e.to_string()))?);
                self.drain(i);
            }
            SutEvent::PartnerDown { server } => {
                if self.breakage != Some(Breakage::IgnorePartnerDownCommand) {
                    if let Some(ep) = self.ep(*server) {
                        ep.handle_command(now, Command::PartnerDown);
                    }
                }
                self.drain(ix(*server));
            }
            SutEvent::ResetLease { server, lease } => {
                let k = self.known_lease(lease, "reset-lease")?;
                if let Some(ep) = self.ep(*server) {
                    ep.handle_command(now, Command::ResetLease(k));
                }
                self.drain(ix(*server));
            }
            SutEvent::CancelReservation { server, lease } => {
                let k = self.known_lease(lease, "cancel-reservation")?;
                if let Some(ep) = self.ep(*server) {
                    ep.handle_command(now, Command::CancelReservation(k));
                }
                self.drain(ix(*server));
            }
            SutEvent::DnsAnswer { server, lease } => {
                let i = ix(*server);
                let k = self.known_lease(lease, "dns-answer")?;
                // The oldest request of this server for this lease (a server's updates of one
                // lease are answered in order, reading R27). None: the trace expects an update
                // our server did not ask for, which the comparison reports.
                if let Some(pos) = self.dns_queue[i].iter().position(|r| r.lease == k) {
                    let req = self.dns_queue[i].remove(pos).expect("a position");
                    if let (Some(d), Some(ep)) = (self.dns_server.as_mut(), self.eps[i].as_mut()) {
                        // Reading R26: the driver sends only what is still wanted now.
                        if ep.dns_request_current(now, req.id) {
                            let result = failover_dns::perform(d, &req).map_err(|e| e.to_string());
                            ep.handle_dns_result(now, req.id, result);
                        }
                    }
                    self.drain(i);
                }
            }
            SutEvent::Client {
                server,
                client,
                op,
                kind,
                lease,
                fqdn,
            } => {
                let client = client_id(client)?;
                let lease = lease.as_deref().map(lease_key).transpose()?;
                let need = |l: Option<LeaseKey>| {
                    l.ok_or_else(|| SutError(format!("client {op:?} needs a lease")))
                };
                let op = match op {
                    ClientOpKind::Request => ClientOp::Request(match kind.as_deref() {
                        Some("address") => LeaseKind::Address,
                        Some("prefix") => LeaseKind::Prefix,
                        other => {
                            return Err(SutError(format!(
                                "request kind must be \"address\" or \"prefix\", got {other:?}"
                            )))
                        }
                    }),
                    ClientOpKind::Renew => ClientOp::Renew {
                        lease: need(lease)?,
                        to_me: true,
                    },
                    ClientOpKind::Rebind => ClientOp::Rebind(need(lease)?),
                    ClientOpKind::Release => ClientOp::Release {
                        lease: need(lease)?,
                        to_me: true,
                    },
                    ClientOpKind::Decline => ClientOp::Decline {
                        lease: need(lease)?,
                        to_me: true,
                    },
                };
                let fqdn = match self.breakage {
                    Some(Breakage::IgnoreClientFqdn) => None,
                    _ => fqdn.clone(),
                };
                if let Some(ep) = self.ep(*server) {
                    ep.handle_client_with_fqdn(now, ClientRequest { client, op }, fqdn);
                }
                self.drain(ix(*server));
            }
        }
        self.hold_startup_timers();
        self.maybe_connect();
        self.auto_deliver();
        Ok(self.observe())
    }
}
