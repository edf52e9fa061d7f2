//! The event loop of `failover serve`.
//!
//! One task owns the [`Node`] and feeds it, one input at a time, in the order inputs arrive:
//! DHCPv6 datagrams, partner bytes and connection changes, operator commands, and the node's own
//! timer. After every input the node's outputs are drained in order (the node made everything
//! they depend on durable before releasing them, RFC 8156 §7.5.2). Reading and writing the
//! partner's TCP stream run in small tasks of their own so that a slow partner never stalls the
//! clients; they only move bytes.
//!
//! The partner link follows RFC 8156 §6.1: the primary connects ("MUST periodically attempt to
//! create a TCP connection"), backing off after a failed or rejected attempt ("SHOULD reduce the
//! frequency ... MUST continue to attempt to connect periodically"); the secondary listens and
//! drops a connection from any address but its configured partner's ("If it has no secondary
//! relationships with the connecting server, it MUST drop the connection").
//!
//! RFC 8156 §10 adds the protection of that connection: TLS with mutual authentication when
//! `[tls]` is configured (the STARTTLS exchange of RFC 7653 §8.2/§9.1 and the partner's
//! certificate, see [`crate::tls`]), and limits: a connection from the partner's address is
//! *admitted* (STARTTLS, handshake, or in plain mode its first octets) by a task of its own within
//! `partner.handshake_timeout`, at most `partner.max_pending_connections` at once (a new one beyond
//! that closes the oldest, so stalled attempts cannot keep the real partner out). Nothing reaches
//! the node before admission: refused or failed attempts change neither the failover state nor
//! the lease database. Once admitted, an idle or stalled partner (no complete message within
//! FO_KEEPALIVE_TIME, a half-sent frame) is dropped by the node's FO_KEEPALIVE_TIMER (§6.6).

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use failover_core::{
    responsiveness, BindingStatus, ClientReply, Command, Event, LeaseKey, ReplyKind,
    Responsiveness, Role, ServerState,
};
use failover_node::{Node, NodeError, Output};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::breakage::{Breakage, Broken};
use crate::clock::{to_unix, Clock};
use crate::config::DaemonConfig;
use crate::ctl::{self, Answer, Counters, Request};
use crate::dhcp::{Inbound, Lifetimes, Plan};
use crate::duid;
use crate::timing::Timing;
use crate::tls::{self, Admitted, BoxStream, PartnerTls};
use crate::udp::{Datagram, DhcpSocket};

/// How logs are written (to standard error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Install the `tracing` subscriber. `RUST_LOG` overrides the default level (`info`).
pub fn init_logging(format: LogFormat) {
    // `Targets` ("info", "debug", "info,failover::dhcp=debug") rather than `EnvFilter`: the
    // same everyday syntax without a regex engine in the build.
    let filter: tracing_subscriber::filter::Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| "info".parse().expect("a valid default filter"));
    let builder = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&io::stderr()));
    use tracing_subscriber::layer::SubscriberExt;
    // A second call (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => tracing::subscriber::set_global_default(builder.finish().with(filter)),
        LogFormat::Json => tracing::subscriber::set_global_default(
            builder.json().flatten_event(true).finish().with(filter),
        ),
    };
}

/// `failover serve` could not start or had to stop; the text names the resource and the cause.
#[derive(Debug)]
pub struct ServeError(pub String);

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ServeError {}

/// The section whose rules govern leaving `state` ("Transition out of X").
pub fn transition_section(state: ServerState) -> &'static str {
    match state {
        ServerState::Startup => "RFC 8156 §8.3.2",
        ServerState::PartnerDown => "RFC 8156 §8.4.2",
        ServerState::Recover => "RFC 8156 §8.5.2",
        ServerState::RecoverWait => "RFC 8156 §8.6.2",
        ServerState::RecoverDone => "RFC 8156 §8.7.2",
        ServerState::Normal => "RFC 8156 §8.8.2",
        ServerState::CommunicationsInterrupted => "RFC 8156 §8.9.2",
        ServerState::PotentialConflict => "RFC 8156 §8.10.2",
        ServerState::ResolutionInterrupted => "RFC 8156 §8.11.2",
        ServerState::ConflictDone => "RFC 8156 §8.12.2",
    }
}

/// Run one server until SIGTERM, SIGINT or `ctl shutdown`. Blocks the calling thread (it builds
/// its own single-threaded tokio runtime: one task owns the node, so more threads would only
/// add locking).
pub fn serve(cfg: DaemonConfig) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError(format!("cannot start the runtime: {e}")))?;
    rt.block_on(run(cfg))
}

// ---- the partner link -------------------------------------------------------------------

/// What the connection tasks tell the loop.
enum NetEvent {
    /// Octets read from connection `id`.
    Bytes(u64, Vec<u8>),
    /// Connection `id` ended (by the peer, or an I/O error).
    Closed(u64, Option<String>),
    /// The primary's outbound attempt succeeded (over TLS when `secure`).
    Connected(BoxStream, SocketAddr, bool),
    /// The primary's outbound attempt failed; `security`: the TCP connection was made but the
    /// STARTTLS exchange or the TLS handshake failed (worth a warning, unlike a partner that is
    /// simply not up).
    ConnectFailed { error: String, security: bool },
    /// The secondary admitted connection `pending` from the partner's address.
    Admitted(u64, Admitted, SocketAddr),
    /// The secondary refused connection `pending` during its admission.
    AdmitFailed(u64, SocketAddr, String),
}

enum WriterCmd {
    Data(Vec<u8>),
    Close,
}

/// The open partner connection.
struct Link {
    id: u64,
    peer: SocketAddr,
    tx: mpsc::UnboundedSender<WriterCmd>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

fn spawn_link(
    id: u64,
    stream: BoxStream,
    peer: SocketAddr,
    initial: Vec<u8>,
    events: mpsc::UnboundedSender<NetEvent>,
) -> Link {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let ev = events.clone();
    let reader = tokio::spawn(async move {
        // Octets read while admitting the connection (plain mode) come first.
        if !initial.is_empty() && ev.send(NetEvent::Bytes(id, initial)).is_err() {
            return;
        }
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) => {
                    let _ = ev.send(NetEvent::Closed(id, None));
                    return;
                }
                Ok(n) => {
                    if ev.send(NetEvent::Bytes(id, buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = ev.send(NetEvent::Closed(id, Some(e.to_string())));
                    return;
                }
            }
        }
    });
    let (tx, mut rx) = mpsc::unbounded_channel::<WriterCmd>();
    let writer = tokio::spawn(async move {
        while let Some(cmd) = rx.recv().await {
            match cmd {
                WriterCmd::Data(bytes) => {
                    if let Err(e) = wr.write_all(&bytes).await {
                        let _ = events.send(NetEvent::Closed(id, Some(e.to_string())));
                        return;
                    }
                }
                WriterCmd::Close => {
                    let _ = wr.shutdown().await;
                    return;
                }
            }
        }
    });
    Link {
        id,
        peer,
        tx,
        reader,
        writer,
    }
}

/// One outbound attempt of the primary, reported as a [`NetEvent`]: TCP, then in secure mode
/// STARTTLS and the TLS handshake within `partner.handshake_timeout` (RFC 7653 §8.2; no fallback
/// to plain TCP).
fn spawn_connect(
    cfg: &DaemonConfig,
    tls: Option<Arc<PartnerTls>>,
    events: mpsc::UnboundedSender<NetEvent>,
) {
    let local = cfg.partner.local;
    let remote = cfg.partner.remote;
    let handshake = Duration::from_secs(cfg.partner.handshake_timeout);
    tokio::spawn(async move {
        let attempt = async {
            let sock = match remote {
                SocketAddr::V4(_) => TcpSocket::new_v4()?,
                SocketAddr::V6(_) => TcpSocket::new_v6()?,
            };
            if !local.ip().is_unspecified() {
                sock.bind(SocketAddr::new(local.ip(), 0))?;
            }
            sock.connect(remote).await
        };
        let failed = |error: String, security: bool| NetEvent::ConnectFailed { error, security };
        let ev = match tokio::time::timeout(Duration::from_secs(5), attempt).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                match tls {
                    None => NetEvent::Connected(Box::new(stream), remote, false),
                    Some(tls) => match tokio::time::timeout(handshake, tls::connect(&tls, stream)).await {
                        Ok(Ok(s)) => NetEvent::Connected(s, remote, true),
                        Ok(Err(e)) => failed(format!("securing the connection to {remote}: {e}"), true),
                        Err(_) => failed(
                            format!("securing the connection to {remote}: not done within partner.handshake_timeout ({} s)", handshake.as_secs()),
                            true,
                        ),
                    },
                }
            }
            Ok(Err(e)) => failed(format!("connecting to {remote}: {e}"), false),
            Err(_) => failed(format!("connecting to {remote}: timed out"), false),
        };
        let _ = events.send(ev);
    });
}

// ---- the daemon ----------------------------------------------------------------------

/// A client REPLY held until the partner acknowledged its leases (lockstep builds only).
struct Held {
    bytes: Vec<u8>,
    to: SocketAddrV6,
    leases: Vec<LeaseKey>,
    since: Instant,
}

/// Longest a lockstep reply waits for the partner.
const LOCKSTEP_LIMIT: Duration = Duration::from_secs(10);

/// Most partner octets handed to the node in one call by [`coalesce`].
const COALESCE_LIMIT: usize = 256 * 1024;

/// `first`, with the octets of the same connection already queued behind it appended (up to
/// [`COALESCE_LIMIT`]), and the first queued event that is not such octets, to be handled right
/// after it (so the order of events is kept).
///
/// Why: the node makes one durable commit per call, before releasing any of the call's outputs
/// (RFC 8156 §7.5.2: the binding is stored before its BNDREPLY is sent; nothing requires one
/// commit per BNDUPD). Chunks that the reader task read while the loop was busy (a commit's
/// fsync blocks it) are therefore one call: their BNDUPDs share one fsync, and no BNDREPLY
/// among them leaves before all of them are durable.
fn coalesce(
    first: NetEvent,
    rx: &mut mpsc::UnboundedReceiver<NetEvent>,
) -> (NetEvent, Option<NetEvent>) {
    let NetEvent::Bytes(id, mut bytes) = first else {
        return (first, None);
    };
    while bytes.len() < COALESCE_LIMIT {
        match rx.try_recv() {
            Ok(NetEvent::Bytes(i, more)) if i == id => bytes.extend_from_slice(&more),
            Ok(other) => return (NetEvent::Bytes(id, bytes), Some(other)),
            Err(_) => break,
        }
    }
    (NetEvent::Bytes(id, bytes), None)
}

/// Client datagrams handled in a row, while partner events or timers are waiting, before those
/// get their turn (see the loop in [`run`]).
const CLIENT_BURST: u32 = 16;

struct Daemon {
    cfg: DaemonConfig,
    node: Node,
    clock: Clock,
    duid: Vec<u8>,
    events: mpsc::UnboundedSender<NetEvent>,
    link: Option<Link>,
    next_link_id: u64,
    /// Writers of closed links still flushing (a DISCONNECT before the close).
    closing: Vec<JoinHandle<()>>,
    /// The primary's next connection attempt, and whether one is under way.
    next_connect: Option<Instant>,
    connecting: bool,
    backoff: u64,
    counters: Counters,
    held: Vec<Held>,
    shutdown: bool,
    /// `[tls]`, loaded; `None`: insecure mode.
    tls: Option<Arc<PartnerTls>>,
    /// The secondary's connections being admitted, oldest first (RFC 8156 §10).
    pending: VecDeque<(u64, JoinHandle<()>)>,
    next_pending_id: u64,
    /// Refusals are logged, but a flood of them is not: see [`QuietLog`]. One limit per kind, so
    /// that a flood of one kind (closed for the limit, or from a foreign address) does not hide
    /// another (a failed handshake from the partner's address).
    refusals: QuietLog,
    foreign: QuietLog,
    evictions: QuietLog,
    /// Test only (issue 16): deliberate breakages from `FAILOVER_BREAK`; none in production.
    broken: Broken,
    /// Service times of the node's calls (`ctl status`).
    timing: Timing,
}

/// At most [`QuietLog::BURST`] refusal lines per [`QuietLog::WINDOW`]; the rest are counted and
/// the count is logged with the next line let through. A flood of connection attempts (RFC
/// 8156 §10) must not become a flood of log lines.
#[derive(Default)]
struct QuietLog {
    window_start: Option<Instant>,
    in_window: u32,
    suppressed: u64,
}

impl QuietLog {
    const BURST: u32 = 20;
    const WINDOW: Duration = Duration::from_secs(10);

    /// `Some(n)`: log this one, saying that `n` were not logged since the last; `None`: count it.
    fn admit(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self
            .window_start
            .is_none_or(|t| now.duration_since(t) >= Self::WINDOW)
        {
            self.window_start = Some(now);
            self.in_window = 0;
        }
        if self.in_window < Self::BURST {
            self.in_window += 1;
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }
}

impl Daemon {
    fn now(&mut self) -> failover_core::Time {
        self.clock.now()
    }

    /// Drain the node's outputs in order; the client replies are returned.
    fn drain(&mut self) -> Result<Vec<ClientReply>, NodeError> {
        let mut replies = Vec::new();
        loop {
            let mut dns = Vec::new();
            while let Some(out) = self.node.poll_output() {
                match out {
                    Output::Transmit(bytes) => match &self.link {
                        Some(link) => {
                            let keepalive = Duration::from_secs(self.cfg.partner.keepalive);
                            let Some(bytes) = self.broken.outgoing(bytes, keepalive) else {
                                continue;
                            };
                            let _ = link.tx.send(WriterCmd::Data(bytes));
                        }
                        None => debug!(octets = bytes.len(), "no partner connection: not sent"),
                    },
                    Output::Close(reason) => {
                        info!(target: "failover::partner", %reason, "closing the partner connection");
                        self.drop_link();
                        self.schedule_connect(true);
                    }
                    Output::ClientReply(r) => replies.push(r),
                    Output::Event(e) => self.log_event(e),
                    Output::Log(line) => debug!(target: "failover::endpoint", "{line}"),
                    Output::Dns(req) => dns.push(req.id),
                    Output::DnsCancel { id } => dns.push(id),
                }
            }
            if dns.is_empty() {
                return Ok(replies);
            }
            // DNS updates (RFC 8156 §9) are not configured by `failover serve`; the core is
            // told so, which keeps the owed update recorded rather than lost.
            let now = self.now();
            for id in dns {
                self.node.handle_dns_result(
                    now,
                    id,
                    Err("DNS updates are not configured in failover serve".into()),
                )?;
            }
        }
    }

    fn log_event(&mut self, e: Event) {
        match e {
            Event::StateChanged { from, to } => {
                info!(
                    target: "failover::state",
                    from = %from,
                    to = %to,
                    rfc = transition_section(from),
                    "state {from} -> {to}"
                );
            }
            Event::CommunicationsOk => {
                self.backoff = self.cfg.partner.reconnect_min;
                info!(target: "failover::partner", rfc = "RFC 8156 §6.1", "communications OK");
            }
            Event::CommunicationsInterrupted => {
                warn!(target: "failover::partner", rfc = "RFC 8156 §6.1", "communications interrupted");
            }
            Event::Alarm(text) => warn!(target: "failover::alarm", "{text}"),
            Event::Log(line) => debug!(target: "failover::endpoint", "{line}"),
        }
    }

    fn drop_link(&mut self) {
        if let Some(link) = self.link.take() {
            let _ = link.tx.send(WriterCmd::Close);
            link.reader.abort();
            self.closing.retain(|h| !h.is_finished());
            self.closing.push(link.writer);
        }
    }

    /// The primary tries again later; `failed` doubles the delay (RFC 8156 §6.1).
    fn schedule_connect(&mut self, failed: bool) {
        if self.cfg.role != Role::Primary || self.shutdown || self.link.is_some() {
            return;
        }
        let delay = self.backoff;
        if failed {
            self.backoff = (self.backoff * 2).min(self.cfg.partner.reconnect_max);
        }
        let at = Instant::now() + Duration::from_secs(delay);
        self.next_connect = Some(self.next_connect.map_or(at, |t| t.min(at)));
    }

    fn install_link(
        &mut self,
        stream: BoxStream,
        peer: SocketAddr,
        initial: Vec<u8>,
        secure: bool,
    ) -> Result<(), NodeError> {
        if self.link.is_some() {
            info!(target: "failover::partner", %peer, "a new partner connection replaces the old one");
            self.drop_link();
            let now = self.now();
            self.node.handle_disconnected(now)?;
            self.drain()?;
        }
        self.next_link_id += 1;
        let id = self.next_link_id;
        self.link = Some(spawn_link(id, stream, peer, initial, self.events.clone()));
        info!(
            target: "failover::partner",
            %peer,
            secure,
            rfc = "RFC 8156 §6.1",
            "partner connection up ({})",
            if secure { "TLS, partner authenticated" } else { "plain TCP, insecure" }
        );
        let now = self.now();
        self.node.handle_connected(now)?;
        self.drain()?;
        Ok(())
    }

    fn on_net(&mut self, ev: NetEvent) -> Result<(), NodeError> {
        match ev {
            NetEvent::Bytes(id, bytes) => {
                if let Some(link) = self.link.as_ref().filter(|l| l.id == id) {
                    // Test only: `reply-before-store` answers BNDUPDs here, before the node.
                    let (bytes, early) = self.broken.incoming(bytes);
                    if !early.is_empty() {
                        let _ = link.tx.send(WriterCmd::Data(early));
                    }
                    if let Some(bytes) = bytes {
                        let now = self.now();
                        let before = self.node.stats();
                        let started = std::time::Instant::now();
                        self.node.handle_bytes(now, &bytes)?;
                        let after = self.node.stats();
                        let kind = if after.commits > before.commits {
                            "partner_commit"
                        } else if after.deferred_commits > before.deferred_commits {
                            "partner_deferred"
                        } else {
                            "partner"
                        };
                        self.timing.record(kind, started.elapsed());
                        self.drain()?;
                    }
                }
            }
            NetEvent::Closed(id, err) => {
                if self.link.as_ref().map(|l| l.id) == Some(id) {
                    let peer = self.link.as_ref().map(|l| l.peer);
                    match err {
                        Some(e) => {
                            warn!(target: "failover::partner", ?peer, "partner connection lost: {e}")
                        }
                        None => {
                            info!(target: "failover::partner", ?peer, "partner closed the connection")
                        }
                    }
                    self.drop_link();
                    let now = self.now();
                    self.node.handle_disconnected(now)?;
                    self.drain()?;
                    self.schedule_connect(false);
                }
            }
            NetEvent::Connected(stream, peer, secure) => {
                self.connecting = false;
                if self.shutdown {
                    return Ok(());
                }
                self.install_link(stream, peer, Vec::new(), secure)?;
            }
            NetEvent::ConnectFailed { error, security } => {
                self.connecting = false;
                if security {
                    warn!(target: "failover::partner", rfc = "RFC 8156 §10", "{error}; closed, no fallback to plain TCP");
                } else {
                    debug!(target: "failover::partner", "{error}");
                }
                self.schedule_connect(true);
            }
            NetEvent::Admitted(pending, admitted, peer) => {
                self.pending.retain(|(id, _)| *id != pending);
                if self.shutdown {
                    return Ok(());
                }
                self.install_link(admitted.stream, peer, admitted.initial, admitted.secure)?;
            }
            NetEvent::AdmitFailed(pending, peer, why) => {
                self.pending.retain(|(id, _)| *id != pending);
                self.refused(peer, &why);
            }
        }
        Ok(())
    }

    /// Log a refused connection attempt (rate-limited).
    fn refused(&mut self, peer: SocketAddr, why: &str) {
        if let Some(suppressed) = self.refusals.admit() {
            warn!(
                target: "failover::partner",
                %peer,
                suppressed,
                rfc = "RFC 8156 §10",
                "refused a partner connection: {why}"
            );
        }
    }

    /// A connection to the secondary's partner port: from the partner's address only (§6.1),
    /// then admitted by a task of its own, bounded in time and number (§10).
    fn on_accept(&mut self, stream: TcpStream, peer: SocketAddr) {
        let expected = self.cfg.partner.remote.ip();
        if !same_ip(peer.ip(), expected) {
            if let Some(suppressed) = self.foreign.admit() {
                warn!(
                    target: "failover::partner",
                    %peer,
                    %expected,
                    suppressed,
                    rfc = "RFC 8156 §6.1",
                    "refused a partner connection: not the configured partner"
                );
            }
            // Logged first, closed after: whoever sees the close finds the line written.
            drop(stream);
            return;
        }
        self.pending.retain(|(_, h)| !h.is_finished());
        if self.pending.len() >= self.cfg.partner.max_pending_connections {
            if let Some((_, oldest)) = self.pending.pop_front() {
                // Dropping the task drops its socket: the connection closes.
                oldest.abort();
                if let Some(suppressed) = self.evictions.admit() {
                    warn!(
                        target: "failover::partner",
                        %peer,
                        suppressed,
                        rfc = "RFC 8156 §10",
                        "partner.max_pending_connections ({}) attempts were being admitted: closed the oldest",
                        self.cfg.partner.max_pending_connections
                    );
                }
            }
        }
        self.next_pending_id += 1;
        let id = self.next_pending_id;
        let tls = self.tls.clone();
        let events = self.events.clone();
        let limit = Duration::from_secs(self.cfg.partner.handshake_timeout);
        let task = tokio::spawn(async move {
            let ev = match tokio::time::timeout(limit, tls::admit(tls.as_deref(), stream)).await {
                Ok(Ok(a)) => NetEvent::Admitted(id, a, peer),
                Ok(Err(why)) => NetEvent::AdmitFailed(id, peer, why),
                Err(_) => NetEvent::AdmitFailed(
                    id,
                    peer,
                    format!(
                        "not admitted within partner.handshake_timeout ({} s): closed",
                        limit.as_secs()
                    ),
                ),
            };
            let _ = events.send(ev);
        });
        self.pending.push_back((id, task));
    }

    fn responsive(&self) -> bool {
        responsiveness(self.node.endpoint().state(), self.cfg.role) == Responsiveness::Responsive
    }

    /// Test only (`FAILOVER_BREAK=reuse-lease-when-interrupted`, impl/daemon/src/breakage.rs):
    /// while communications are interrupted, every grant after the first of its kind names the
    /// first one's lease instead of its own, so two clients are told one address (RFC 8156 §4
    /// broken on purpose); the core's database is left as the core wrote it.
    fn reuse_lease_when_interrupted(&mut self, interrupted: bool, replies: &mut [ClientReply]) {
        let first = &mut self.broken.first_in_interruption;
        if !interrupted {
            first.clear();
            return;
        }
        for r in replies {
            if let ReplyKind::Granted { lease, .. } = &mut r.kind {
                match first.iter().find(|f| f.kind() == lease.kind()) {
                    Some(f) => *lease = *f,
                    None => first.push(*lease),
                }
            }
        }
    }

    fn drop_count(&mut self, kind: &str) {
        *self.counters.dropped.entry(kind.to_string()).or_default() += 1;
    }

    /// One datagram from a client or relay: the reply to send, if any.
    fn on_datagram(&mut self, d: &Datagram) -> Result<Option<Vec<u8>>, NodeError> {
        self.counters.received += 1;
        if d.truncated {
            self.drop_count("oversized");
            debug!(target: "failover::dhcp", from = %d.from, "dropped an oversized datagram");
            return Ok(None);
        }
        let inb = match Inbound::parse(&d.bytes, d.unicast()) {
            Ok(i) => i,
            Err(dropped) => {
                self.drop_count(dropped.kind);
                debug!(target: "failover::dhcp", from = %d.from, kind = dropped.kind, "dropped: {}", dropped.detail);
                return Ok(None);
            }
        };
        let lifetimes = Lifetimes {
            preferred_percent: self.cfg.preferred_percent,
        };
        let reply = match inb.plan(&self.duid) {
            Plan::Core(requests) => {
                let mut answers = Vec::with_capacity(requests.len());
                for req in requests {
                    let now = self.now();
                    let commits = self.node.stats().commits;
                    let started = std::time::Instant::now();
                    self.node.handle_client(now, req)?;
                    let kind = if self.node.stats().commits > commits {
                        "client_commit"
                    } else {
                        "client"
                    };
                    self.timing.record(kind, started.elapsed());
                    let mut replies = self.drain()?;
                    let interrupted = !self.node.endpoint().comm_ok();
                    if self.broken.b.reuse_lease_when_interrupted {
                        self.reuse_lease_when_interrupted(interrupted, &mut replies);
                    }
                    if self.broken.b.no_mclt_cap
                        || (self.broken.b.no_mclt_cap_when_interrupted && interrupted)
                    {
                        // Test only: the client is told the desired lifetime, not the
                        // MCLT-capped one the core granted (RFC 8156 §4.4 broken on purpose).
                        for r in &mut replies {
                            if let ReplyKind::Granted { valid_lifetime, .. }
                            | ReplyKind::Advertise { valid_lifetime, .. } = &mut r.kind
                            {
                                *valid_lifetime = self.cfg.valid_lifetime;
                            }
                        }
                    }
                    answers.push(if replies.is_empty() {
                        None
                    } else {
                        Some(replies.swap_remove(0))
                    });
                }
                let bytes = inb.reply(&self.duid, &answers, lifetimes);
                if let (Some(b), true) = (&bytes, self.cfg.lockstep) {
                    let leases: Vec<LeaseKey> = answers
                        .iter()
                        .flatten()
                        .filter_map(|a| match a.kind {
                            ReplyKind::Granted { lease, .. } => Some(lease),
                            _ => None,
                        })
                        .collect();
                    if !leases.is_empty() {
                        self.held.push(Held {
                            bytes: b.clone(),
                            to: d.from,
                            leases,
                            since: Instant::now(),
                        });
                        return Ok(None);
                    }
                }
                bytes
            }
            Plan::Confirm(addrs) => self.responsive().then(|| {
                let on_link = addrs.iter().all(|a| self.cfg.on_link(*a));
                inb.reply_confirm(&self.duid, on_link)
            }),
            Plan::InformationRequest => {
                self.responsive().then(|| inb.reply_information(&self.duid))
            }
            Plan::UseMulticast => Some(inb.reply_use_multicast(&self.duid)),
            Plan::Discard(why) => {
                self.drop_count("discarded");
                debug!(target: "failover::dhcp", from = %d.from, msg = inb.kind_name(), "discarded: {why}");
                return Ok(None);
            }
        };
        match &reply {
            Some(_) => self.counters.replied += 1,
            None => {
                self.counters.ignored += 1;
                debug!(
                    target: "failover::dhcp",
                    msg = inb.kind_name(),
                    state = %self.node.endpoint().state(),
                    "not answered in this state (RFC 8156 §8 responsiveness)"
                );
            }
        }
        Ok(reply)
    }

    /// Lockstep replies whose leases the partner acknowledged (or that waited too long, or
    /// whose partner is gone).
    fn release_held(&mut self) -> Vec<(Vec<u8>, SocketAddrV6)> {
        if self.held.is_empty() {
            return Vec::new();
        }
        let ep = self.node.endpoint();
        let comm = ep.comm_ok();
        let db = ep.db();
        let acked = |k: &LeaseKey| {
            db.get(k)
                .is_none_or(|b| !b.update_pending && !b.owed_if_lost)
        };
        let mut out = Vec::new();
        let mut keep = Vec::new();
        for h in self.held.drain(..) {
            if !comm || h.since.elapsed() > LOCKSTEP_LIMIT || h.leases.iter().all(acked) {
                out.push((h.bytes, h.to));
            } else {
                keep.push(h);
            }
        }
        self.held = keep;
        self.counters.replied += out.len() as u64;
        out
    }

    fn status(&self) -> ctl::Status {
        let ep = self.node.endpoint();
        let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
        let mut owed = 0;
        for (_, b) in ep.db().iter() {
            *by_status.entry(b.status.to_string()).or_default() += 1;
            if b.update_pending {
                owed += 1;
            }
        }
        ctl::Status {
            role: self.cfg.role.to_string(),
            state: ep.state().to_string(),
            partner_state: ep.partner_state_announced().map(|(s, _)| s.to_string()),
            communications_ok: ep.comm_ok(),
            connected: self.link.is_some(),
            mclt: ep.mclt(),
            leases_by_status: by_status,
            owed_updates: owed,
            server_duid: duid::hex(&self.duid),
            dhcp: self.counters.clone(),
            timing: self.timing.summary(),
            storage: {
                let n = self.node.stats();
                ctl::StorageCounters {
                    commits: n.commits,
                    deferred_commits: n.deferred_commits,
                    bindings_committed: n.bindings_committed,
                    partner_messages_in: n.messages_in,
                    partner_messages_out: n.messages_out,
                }
            },
        }
    }

    fn leases(&self) -> Vec<ctl::Lease> {
        self.node
            .endpoint()
            .db()
            .iter()
            .map(|(k, b)| ctl::Lease {
                lease: k.to_string(),
                status: b.status.to_string(),
                client: b.client.as_ref().map(|c| duid::hex(&c.0)),
                expires: b.state_expiration_time.map(to_unix),
                update_pending: b.update_pending,
            })
            .collect()
    }

    fn on_ctl(&mut self, req: Request) -> Result<Answer, NodeError> {
        Ok(match req {
            Request::Status => Answer::Ok {
                ok: true,
                status: Some(Box::new(self.status())),
                leases: None,
                message: None,
            },
            Request::Leases => Answer::Ok {
                ok: true,
                status: None,
                leases: Some(self.leases()),
                message: None,
            },
            Request::PartnerDown { force } => {
                let before = self.node.endpoint().state();
                if self.node.endpoint().comm_ok() && !force {
                    return Ok(Answer::error(format!(
                        "the partner is connected and communicating (we are in {before}): \
                         telling this server it is down would put both in POTENTIAL-CONFLICT \
                         (RFC 8156 §8.10); use --force if you really mean it"
                    )));
                }
                let now = self.now();
                self.node.handle_command(now, Command::PartnerDown)?;
                self.drain()?;
                let after = self.node.endpoint().state();
                info!(target: "failover::operator", %before, %after, rfc = "RFC 8156 §8.4", "operator: partner-down");
                if after == before && after != ServerState::PartnerDown {
                    Answer::error(format!(
                        "partner-down has no effect in {before} (RFC 8156 §8.8.2, §8.9.2, \
                         §8.10.2, §8.11.2 list where it applies)"
                    ))
                } else {
                    Answer::done(format!("state {before} -> {after}"))
                }
            }
            Request::Reset { lease } => {
                let Some(key) = parse_lease(&lease) else {
                    return Ok(Answer::error(format!(
                        "{lease:?} is not an address or ADDR/LEN prefix"
                    )));
                };
                let status = self.node.endpoint().db().get(&key).map(|b| b.status);
                match status {
                    None => Answer::error(format!("{key} is not a lease of this server")),
                    Some(BindingStatus::Abandoned) => {
                        let now = self.now();
                        self.node.handle_command(now, Command::ResetLease(key))?;
                        self.drain()?;
                        let after = self.node.endpoint().db().get(&key).map(|b| b.status);
                        info!(target: "failover::operator", lease = %key, "operator: reset");
                        match after {
                            Some(s) if s != BindingStatus::Abandoned => {
                                Answer::done(format!("{key}: ABANDONED -> {s} (RFC 8156 §7.2)"))
                            }
                            _ => Answer::error(format!(
                                "{key} stays ABANDONED: the reset is refused in this state"
                            )),
                        }
                    }
                    Some(s) => Answer::error(format!(
                        "{key} is {s}, not ABANDONED: only an abandoned lease is reset \
                         (RFC 8156 Figure 2, transition 10)"
                    )),
                }
            }
            Request::Shutdown => {
                self.shutdown = true;
                Answer::done("shutting down")
            }
        })
    }

    /// SIGTERM or `ctl shutdown`: DISCONNECT ServerShuttingDown to the partner (§5.3.10), wait
    /// a little for the writer to flush it, then close storage (dropping the node).
    async fn shut_down(mut self) -> Result<(), ServeError> {
        info!("shutting down");
        self.shutdown = true;
        let now = self.now();
        if self.node.handle_command(now, Command::Shutdown).is_ok() {
            let _ = self.drain();
        }
        self.drop_link();
        for (_, h) in self.pending.drain(..) {
            h.abort();
        }
        for h in self.closing.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(2), h).await;
        }
        let _ = std::fs::remove_file(&self.cfg.control_socket);
        drop(self.node);
        info!("stopped; storage closed");
        Ok(())
    }
}

/// An error with its chain of causes, so that the operating system's reason is not lost.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
        next = cause.source();
    }
    text
}

fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    canon(a) == canon(b)
}

/// `ADDR` or `ADDR/LEN`.
pub fn parse_lease(text: &str) -> Option<LeaseKey> {
    match text.split_once('/') {
        Some((a, l)) => Some(LeaseKey::Prefix(
            a.parse().ok()?,
            l.parse().ok().filter(|l| *l <= 128)?,
        )),
        None => Some(LeaseKey::Addr(text.parse().ok()?)),
    }
}

// ---- the operator socket ----------------------------------------------------------------

type CtlCall = (Request, oneshot::Sender<Answer>);

fn bind_control(path: &Path) -> Result<UnixListener, ServeError> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(ServeError(format!(
                "control socket {}: another daemon is listening there",
                path.display()
            )));
        }
        let _ = std::fs::remove_file(path);
    }
    UnixListener::bind(path).map_err(|e| {
        ServeError(format!(
            "cannot create the control socket {}: {e}",
            path.display()
        ))
    })
}

/// Serve one operator connection: one request line, one answer line.
async fn ctl_session(stream: UnixStream, calls: mpsc::UnboundedSender<CtlCall>) {
    use tokio::io::AsyncBufReadExt;
    let (rd, mut wr) = stream.into_split();
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(rd.take(64 * 1024));
    let answer =
        match tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut line)).await {
            Ok(Ok(_)) => match serde_json::from_str::<Request>(line.trim()) {
                Ok(req) => {
                    let (tx, rx) = oneshot::channel();
                    if calls.send((req, tx)).is_err() {
                        Answer::error("the daemon is stopping")
                    } else {
                        rx.await
                            .unwrap_or_else(|_| Answer::error("the daemon is stopping"))
                    }
                }
                Err(e) => Answer::error(format!("bad request {:?}: {e}", line.trim())),
            },
            Ok(Err(e)) => Answer::error(format!("reading the request: {e}")),
            Err(_) => Answer::error("no request line within 10 s"),
        };
    let mut text =
        serde_json::to_string(&answer).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    text.push('\n');
    let _ = wr.write_all(text.as_bytes()).await;
}

// ---- the loop ----------------------------------------------------------------------------

async fn run(cfg: DaemonConfig) -> Result<(), ServeError> {
    let mut clock = Clock::new();
    let now = clock.now();
    let mut node = Node::open(cfg.core_config(), &cfg.storage, now).map_err(|e| {
        ServeError(format!(
            "cannot open storage {}: {}",
            cfg.storage.display(),
            with_causes(&e)
        ))
    })?;
    let duid = duid::load_or_create(&cfg.duid_file)
        .map_err(|e| ServeError(format!("server DUID file {}: {e}", cfg.duid_file.display())))?;
    let dhcp = DhcpSocket::bind(cfg.dhcp.bind, cfg.dhcp.port, &cfg.dhcp.interfaces)
        .map_err(|e| ServeError(e.to_string()))?;
    let listener = match cfg.role {
        Role::Secondary => Some(TcpListener::bind(cfg.partner.local).await.map_err(|e| {
            ServeError(format!(
                "cannot listen for the partner on {} (partner.local): {e}",
                cfg.partner.local
            ))
        })?),
        Role::Primary => None,
    };
    let tls = match &cfg.tls {
        None => None,
        Some(t) => Some(Arc::new(
            PartnerTls::load(t, cfg.role, cfg.partner.remote.ip())
                .map_err(|e| ServeError(format!("{}: {}", e.field, e.message)))?,
        )),
    };
    let breakage = Breakage::from_env().map_err(ServeError)?;
    if breakage.any() {
        tracing::error!(
            ?breakage,
            "FAILOVER_BREAK is set: this server is deliberately wrong (a test of the wire \
             conformance suite); never use it for clients"
        );
    }
    let control = bind_control(&cfg.control_socket)?;
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| ServeError(format!("SIGTERM handler: {e}")))?;
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| ServeError(format!("SIGINT handler: {e}")))?;

    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let (ctl_tx, mut ctl_rx) = mpsc::unbounded_channel::<CtlCall>();
    // Outputs of opening (the STARTUP record) only log.
    while let Some(o) = node.poll_output() {
        if let Output::Event(e) = o {
            info!(target: "failover::state", "{e:?}");
        }
    }
    info!(
        role = %cfg.role,
        state = %node.endpoint().state(),
        dhcp = %dhcp.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        partner = %cfg.partner.remote,
        storage = %cfg.storage.display(),
        duid = %duid::hex(&duid),
        "failover serve started"
    );
    match &tls {
        None => warn!(
            target: "failover::partner",
            rfc = "RFC 8156 §10",
            "insecure mode: the partner link is plain TCP, neither encrypted nor authenticated; \
             configure [tls] unless the link stays within protected systems"
        ),
        Some(t) => {
            info!(target: "failover::partner", rfc = "RFC 8156 §10", "secure mode: TLS with mutual authentication on the partner link");
            for w in &t.warnings {
                warn!(target: "failover::partner", "{w}");
            }
        }
    }
    let mut d = Daemon {
        backoff: cfg.partner.reconnect_min,
        cfg,
        node,
        clock,
        duid,
        events: events_tx,
        link: None,
        next_link_id: 0,
        closing: Vec::new(),
        next_connect: None,
        connecting: false,
        counters: Counters::default(),
        held: Vec::new(),
        shutdown: false,
        tls,
        pending: VecDeque::new(),
        next_pending_id: 0,
        refusals: QuietLog::default(),
        foreign: QuietLog::default(),
        evictions: QuietLog::default(),
        broken: Broken::new(breakage),
        timing: Timing::default(),
    };
    if d.cfg.role == Role::Primary {
        d.next_connect = Some(Instant::now());
    }

    let fatal = |e: NodeError| ServeError(format!("stable storage failed, stopping: {e}"));
    // Client datagrams handled in a row; see CLIENT_BURST and the select below.
    let mut client_streak: u32 = 0;
    while !d.shutdown {
        let timer = d
            .node
            .poll_timeout()
            .map(|t| Instant::now() + d.clock.until(t));
        let lockstep_tick =
            (!d.held.is_empty()).then(|| Instant::now() + Duration::from_millis(200));
        let connect_at = if d.connecting || d.link.is_some() {
            None
        } else {
            d.next_connect
        };
        // Branches are tried in order (`biased`): a waiting client datagram goes before the
        // partner's bytes and the timers. RFC 8156 updates the partner lazily (§4.3, §7.5.4:
        // the client's reply does not wait for the partner), so recording a BNDREPLY or
        // committing a BNDUPD has no business delaying a client's reply. After CLIENT_BURST
        // datagrams in a row the client branch pauses: the other ready branches run, one per
        // turn in this order, until the partner's bytes or the node's timer has run or nothing
        // else is ready (the `ready` branch); then clients resume. So a flood of clients cannot
        // starve the partner link (keepalive, §6.6) or the timers, and partner bytes (at most
        // COALESCE_LIMIT octets a turn) cannot starve the clients. The operator's local socket
        // comes first: rare and cheap.
        tokio::select! {
            biased;
            _ = sigterm.recv() => { info!("SIGTERM"); d.shutdown = true; },
            _ = sigint.recv() => { info!("SIGINT"); d.shutdown = true; },
            acc = control.accept() => if let Ok((stream, _)) = acc {
                tokio::spawn(ctl_session(stream, ctl_tx.clone()));
            },
            Some((req, reply)) = ctl_rx.recv() => {
                let answer = d.on_ctl(req).map_err(fatal)?;
                let _ = reply.send(answer);
            },
            r = dhcp.recv(), if client_streak < CLIENT_BURST => {
                client_streak += 1;
                match r {
                    Ok(dg) => {
                        if let Some(bytes) = d.on_datagram(&dg).map_err(fatal)? {
                            if let Err(e) = dhcp.send_to(&bytes, dg.from).await {
                                warn!(target: "failover::dhcp", to = %dg.from, "send failed: {e}");
                            }
                        }
                    }
                    Err(e) => warn!(target: "failover::dhcp", "receive failed: {e}"),
                }
            },
            Some(ev) = events_rx.recv() => {
                client_streak = 0;
                let (ev, next) = coalesce(ev, &mut events_rx);
                d.on_net(ev).map_err(fatal)?;
                if let Some(ev) = next {
                    d.on_net(ev).map_err(fatal)?;
                }
            },
            acc = async { listener.as_ref().unwrap().accept().await }, if listener.is_some() => match acc {
                Ok((stream, peer)) => d.on_accept(stream, peer),
                Err(e) => warn!(target: "failover::partner", "accept failed: {e}"),
            },
            _ = sleep_until(timer) => {
                client_streak = 0;
                let now = d.now();
                d.node.handle_timeout(now).map_err(fatal)?;
                d.drain().map_err(fatal)?;
            },
            _ = sleep_until(connect_at) => {
                d.next_connect = None;
                d.connecting = true;
                spawn_connect(&d.cfg, d.tls.clone(), d.events.clone());
            },
            _ = sleep_until(lockstep_tick) => {},
            _ = sleep_until(d.broken.next_due().map(Instant::from_std)) => {
                // Test only: `reply-before-store` hands its held BNDUPDs to the node now.
                for bytes in d.broken.due() {
                    if d.link.is_some() {
                        let now = d.now();
                        d.node.handle_bytes(now, &bytes).map_err(fatal)?;
                        d.drain().map_err(fatal)?;
                    }
                }
            },
            () = std::future::ready(()), if client_streak >= CLIENT_BURST => client_streak = 0,
        }
        for (bytes, to) in d.release_held() {
            if let Err(e) = dhcp.send_to(&bytes, to).await {
                warn!(target: "failover::dhcp", %to, "send failed: {e}");
            }
        }
    }
    d.shut_down().await
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_names_its_transition_section() {
        for s in ServerState::ALL {
            let section = transition_section(*s);
            assert!(
                section.starts_with("RFC 8156 §8.") && section.ends_with(".2"),
                "{s}: {section}"
            );
        }
        assert_eq!(transition_section(ServerState::Normal), "RFC 8156 §8.8.2");
    }

    #[test]
    fn leases_parse_as_addresses_or_prefixes() {
        assert_eq!(
            parse_lease("2001:db8::5"),
            Some(LeaseKey::Addr("2001:db8::5".parse().unwrap()))
        );
        assert_eq!(
            parse_lease("2001:db8:100::/56"),
            Some(LeaseKey::Prefix("2001:db8:100::".parse().unwrap(), 56))
        );
        assert_eq!(parse_lease("2001:db8::/129"), None);
        assert_eq!(parse_lease("host"), None);
    }

    fn bytes_of(ev: &NetEvent) -> (u64, &[u8]) {
        match ev {
            NetEvent::Bytes(id, b) => (*id, b),
            _ => panic!("not octets"),
        }
    }

    #[test]
    fn partner_octets_queued_behind_each_other_reach_the_node_in_one_call() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send(NetEvent::Bytes(1, b"cd".to_vec())).unwrap();
        tx.send(NetEvent::Bytes(1, b"ef".to_vec())).unwrap();
        let (ev, next) = coalesce(NetEvent::Bytes(1, b"ab".to_vec()), &mut rx);
        assert_eq!(bytes_of(&ev), (1, &b"abcdef"[..]));
        assert!(next.is_none());
        assert!(rx.try_recv().is_err(), "everything queued was taken");
    }

    #[test]
    fn coalescing_stops_at_another_event_or_connection_and_keeps_the_order() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send(NetEvent::Bytes(1, b"cd".to_vec())).unwrap();
        tx.send(NetEvent::Closed(1, None)).unwrap();
        tx.send(NetEvent::Bytes(1, b"late".to_vec())).unwrap();
        let (ev, next) = coalesce(NetEvent::Bytes(1, b"ab".to_vec()), &mut rx);
        assert_eq!(bytes_of(&ev), (1, &b"abcd"[..]));
        assert!(matches!(next, Some(NetEvent::Closed(1, None))));
        // What follows the close is left for the next turn, in order.
        assert_eq!(bytes_of(&rx.try_recv().unwrap()), (1, &b"late"[..]));

        // Octets of another connection are never appended.
        tx.send(NetEvent::Bytes(2, b"new".to_vec())).unwrap();
        let (ev, next) = coalesce(NetEvent::Bytes(1, b"old".to_vec()), &mut rx);
        assert_eq!(bytes_of(&ev), (1, &b"old"[..]));
        assert_eq!(bytes_of(next.as_ref().unwrap()), (2, &b"new"[..]));

        // Other events pass through untouched.
        tx.send(NetEvent::Bytes(1, b"x".to_vec())).unwrap();
        let (ev, next) = coalesce(NetEvent::Closed(1, None), &mut rx);
        assert!(matches!(ev, NetEvent::Closed(1, None)) && next.is_none());
        assert_eq!(
            rx.try_recv().map(|e| bytes_of(&e).1.to_vec()).unwrap(),
            b"x"
        );
    }

    #[test]
    fn coalescing_is_bounded() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for _ in 0..3 {
            tx.send(NetEvent::Bytes(1, vec![0; COALESCE_LIMIT / 2]))
                .unwrap();
        }
        let (ev, next) = coalesce(NetEvent::Bytes(1, vec![0; 10]), &mut rx);
        assert_eq!(bytes_of(&ev).1.len(), 10 + COALESCE_LIMIT);
        assert!(next.is_none());
        assert_eq!(
            bytes_of(&rx.try_recv().unwrap()).1.len(),
            COALESCE_LIMIT / 2
        );
    }

    #[test]
    fn a_v4_mapped_peer_is_the_same_ip() {
        let a: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(same_ip(a, b));
        assert!(!same_ip(
            "fd00::1".parse().unwrap(),
            "fd00::2".parse().unwrap()
        ));
    }
}
