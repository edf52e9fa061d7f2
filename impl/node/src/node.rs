//! The [`Node`]: one failover endpoint wired to the wire codec and to stable storage.
//!
//! See the crate documentation for the architecture and for why the store commit precedes the
//! release of every output.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io;
use std::path::Path;

use failover_core::{
    Binding, BndUpd, Body, ClientReply, ClientRequest, Command, Config, ConfigError, ConnectReply,
    Disconnect, DisconnectReason, Endpoint, EndpointRecord, Event, LeaseKey, Message, MsgKind,
    Output as CoreOutput, PersistRecord, StableState, StatusCode, Time,
};
use failover_proto::wire::{self, DecodeError, DhcpOption, FrameDecoder, MAX_FRAME_LEN};
use failover_store::{Change, Store, StoreError};

use crate::convert::{bndupd_client, from_wire, to_wire};
use crate::storage::{lease_key_text, parse_lease_key};

/// The stable storage of a node: bindings and the §8.2 endpoint record, in one redb file.
pub type NodeStore = Store<Binding, EndpointRecord>;

/// How a node is opened.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NodeOptions {
    /// Largest message-size accepted from the partner (RFC 5460 §5.1 framing); a larger frame
    /// drops the connection. Default: [`MAX_FRAME_LEN`] (the 16-bit field's maximum).
    pub max_frame_len: usize,
    /// redb two-phase commit (see `failover-store`). Default: `true`.
    pub two_phase_commit: bool,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            max_frame_len: MAX_FRAME_LEN,
            two_phase_commit: true,
        }
    }
}

impl NodeOptions {
    /// Sets [`NodeOptions::max_frame_len`].
    #[must_use]
    pub fn max_frame_len(mut self, len: usize) -> Self {
        self.max_frame_len = len;
        self
    }

    /// Sets [`NodeOptions::two_phase_commit`].
    #[must_use]
    pub fn two_phase_commit(mut self, enabled: bool) -> Self {
        self.two_phase_commit = enabled;
        self
    }
}

/// What the driver of a node must do, drained in order with [`Node::poll_output`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Write these octets to the partner connection (framed messages, RFC 8156 §5.1), in order.
    /// Everything they depend on is already durable.
    Transmit(Vec<u8>),
    /// Close the partner connection, after writing every earlier `Transmit`. The node already
    /// treats the connection as closed; a primary's driver reconnects later (§6.1).
    Close(CloseReason),
    /// Answer a DHCP client. The lease it grants is already durable.
    ClientReply(ClientReply),
    /// A state change, communications change or alarm (§8, §8.9, §8.11).
    Event(Event),
    /// A log line: the endpoint's (ignored input, rejected update, ...) and the node's own (bad
    /// bytes from the partner, storage failures).
    Log(String),
    /// Perform a DNS update (RFC 8156 §9), e.g. with a `failover_dns::DnsUpdater`, and report
    /// the outcome with [`Node::handle_dns_result`]. The lease record that owes it is durable.
    Dns(failover_core::DnsRequest),
    /// Withdraw a DNS request not sent yet; report it with [`Node::handle_dns_cancelled`]
    /// (otherwise report the request's result as usual).
    DnsCancel {
        /// The request's id.
        id: u64,
    },
}

/// Why the node closed the partner connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The endpoint dropped it (keepalive, time skew, MCLT mismatch, partner's DISCONNECT, ...).
    Endpoint(DisconnectReason),
    /// The byte stream lost its framing (message-size 0 or above the limit): nothing after it can
    /// be read. A DISCONNECT was sent.
    Framing(DecodeError),
    /// A message other than BNDUPD that could not be decoded or understood. A DISCONNECT was
    /// sent.
    Malformed {
        /// The msg-type octet, if the frame held a header.
        msg_type: Option<u8>,
        /// What is wrong with it.
        detail: String,
    },
    /// We rejected the partner's CONNECT: the connection serves no relationship of ours (§6.1
    /// "it MUST drop the connection").
    RejectedConnect(StatusCode),
    /// A message of ours has no wire form (a bug); dropped so that the next connection
    /// resynchronises (unacknowledged updates are resent, §8.8).
    Internal(String),
    /// Stable storage failed; the node is poisoned and must be reopened.
    StorageFailed,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Endpoint(r) => write!(f, "{r}"),
            CloseReason::Framing(e) => write!(f, "framing lost: {e}"),
            CloseReason::Malformed { msg_type, detail } => match msg_type {
                Some(t) => write!(f, "malformed {}: {detail}", wire::MsgType(*t)),
                None => write!(f, "malformed message: {detail}"),
            },
            CloseReason::RejectedConnect(s) => write!(f, "CONNECT rejected with {s}"),
            CloseReason::Internal(e) => write!(f, "internal: {e}"),
            CloseReason::StorageFailed => f.write_str("stable storage failed"),
        }
    }
}

/// A node could not be opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// The configuration is invalid (the field is named).
    Config(ConfigError),
    /// The store could not be opened or read.
    Store(StoreError),
    /// A binding is stored under a key that is not an address or prefix.
    BadLeaseKey {
        /// The key as stored.
        key: String,
    },
    /// The store holds bindings but no endpoint record (§8.2). Starting as if storage were
    /// empty would discard them, so the node refuses to start.
    BindingsWithoutEndpointRecord {
        /// How many bindings.
        bindings: usize,
    },
    /// Committing the outputs of the endpoint's creation failed.
    Commit(StoreError),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Config(e) => write!(f, "invalid configuration: {e}"),
            OpenError::Store(e) => write!(f, "opening stable storage: {e}"),
            OpenError::BadLeaseKey { key } => {
                write!(
                    f,
                    "stable storage: binding key {key:?} is not an address or prefix"
                )
            }
            OpenError::BindingsWithoutEndpointRecord { bindings } => write!(
                f,
                "stable storage holds {bindings} bindings but no endpoint record (RFC 8156 §8.2)"
            ),
            OpenError::Commit(e) => write!(f, "first commit: {e}"),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Config(e) => Some(e),
            OpenError::Store(e) | OpenError::Commit(e) => Some(e),
            _ => None,
        }
    }
}

/// An input call failed: stable storage did not take the batch.
#[derive(Debug)]
#[non_exhaustive]
pub enum NodeError {
    /// This call's commit failed. Nothing that depended on it was released (only log lines,
    /// events and a [`Output::Close`]); the node is now poisoned.
    Storage(StoreError),
    /// An earlier commit failed; the node refuses input. Drop it and [`Node::open`] it again:
    /// the store holds the last durable state.
    Poisoned,
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeError::Storage(e) => write!(f, "stable storage commit failed: {e}"),
            NodeError::Poisoned => {
                f.write_str("node poisoned by an earlier storage failure; reopen it")
            }
        }
    }
}

impl std::error::Error for NodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NodeError::Storage(e) => Some(e),
            NodeError::Poisoned => None,
        }
    }
}

/// Counters, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Durable store commits made (one at most per input call).
    pub commits: u64,
    /// Store commits made without an fsync because the call released nothing that depends on
    /// them (see [`Store::commit_deferred`](failover_store::Store::commit_deferred)); the next
    /// durable commit makes them durable.
    pub deferred_commits: u64,
    /// Binding records written by those commits.
    pub bindings_committed: u64,
    /// Messages received from the partner and handed to the endpoint.
    pub messages_in: u64,
    /// Messages transmitted to the partner.
    pub messages_out: u64,
}

/// One failover endpoint with its wire codec and its stable storage, still sans-IO: the driver
/// owns the socket and the clock, and passes bytes and `now` in.
///
/// **Call contract.** After every `handle_*` call, drain [`poll_output`](Self::poll_output) until
/// `None` and act on each output in order; call [`handle_timeout`](Self::handle_timeout) when
/// [`poll_timeout`](Self::poll_timeout) is reached. `now` never decreases.
///
/// **Durability contract.** Each `handle_*` call feeds the endpoint, collects its outputs, makes
/// every persisted record of the call durable in *one* store commit, and only then releases the
/// outputs (RFC 8156 §7.5.2, §6.3, §8.1). If the commit fails the call returns
/// [`NodeError::Storage`], nothing that depended on it is released, and the node is poisoned.
pub struct Node {
    ep: Endpoint,
    store: NodeStore,
    decoder: FrameDecoder,
    max_frame_len: usize,
    /// A partner connection is open, as far as the node knows.
    connected: bool,
    /// Records of the current call, committed at its end.
    persist: Vec<PersistRecord>,
    /// Outputs of the current call, released after that commit.
    held: Vec<Output>,
    out: VecDeque<Output>,
    /// The endpoint record last committed (refreshed on every commit, see `commit`).
    last_record: Option<EndpointRecord>,
    poisoned: bool,
    fail_commits: u32,
    stats: NodeStats,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("role", &self.ep.role())
            .field("state", &self.ep.state())
            .field("store", &self.store)
            .field("connected", &self.connected)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

/// The header fields of a frame that may not decode as a whole.
#[derive(Clone, Copy, Debug)]
struct RawHeader {
    msg_type: u8,
    xid: u32,
    sent_time: u32,
}

fn raw_header(frame: &[u8]) -> Option<RawHeader> {
    let h = frame.get(..wire::HEADER_LEN)?;
    Some(RawHeader {
        msg_type: h[0],
        xid: u32::from_be_bytes([0, h[1], h[2], h[3]]),
        sent_time: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
    })
}

/// `now` as the wire's sent-time: seconds since 2000-01-01 modulo 2^32 (RFC 8156 §5.2).
fn wire_time(now: Time) -> u32 {
    (now.secs() & u64::from(u32::MAX)) as u32
}

impl Node {
    /// Opens (or creates) the store at `path` and starts the endpoint from what it holds (RFC 8156
    /// §8.2: "The state machine is initialized by reading these data items from stable
    /// storage"); an empty store starts a fresh endpoint (reading R5).
    pub fn open(config: Config, path: &Path, now: Time) -> Result<Node, OpenError> {
        Node::open_with(config, path, now, NodeOptions::default())
    }

    /// As [`Node::open`], with options.
    pub fn open_with(
        config: Config,
        path: &Path,
        now: Time,
        opts: NodeOptions,
    ) -> Result<Node, OpenError> {
        config.validate().map_err(OpenError::Config)?;
        let store = NodeStore::open_with(
            path,
            failover_store::Options::default().two_phase_commit(opts.two_phase_commit),
        )
        .map_err(OpenError::Store)?;
        let snapshot = store.load().map_err(OpenError::Store)?;
        let mut leases = BTreeMap::new();
        for (key, binding) in snapshot.bindings {
            let k = parse_lease_key(&key).ok_or(OpenError::BadLeaseKey { key })?;
            leases.insert(k, binding);
        }
        let stable = match snapshot.endpoint {
            Some(endpoint) => Some(StableState { endpoint, leases }),
            None if leases.is_empty() => None,
            None => {
                return Err(OpenError::BindingsWithoutEndpointRecord {
                    bindings: leases.len(),
                })
            }
        };
        let last_record = stable.as_ref().map(|s| s.endpoint.clone());
        let ep = Endpoint::try_new(config, stable, now).map_err(OpenError::Config)?;
        let max_frame_len = opts.max_frame_len.min(MAX_FRAME_LEN);
        let mut node = Node {
            ep,
            store,
            decoder: FrameDecoder::with_max_len(max_frame_len),
            max_frame_len,
            connected: false,
            persist: Vec::new(),
            held: Vec::new(),
            out: VecDeque::new(),
            last_record,
            poisoned: false,
            fail_commits: 0,
            stats: NodeStats::default(),
        };
        node.collect(now);
        node.release(now).map_err(OpenError::Commit)?;
        Ok(node)
    }

    // ---- getters --------------------------------------------------------------------

    /// The endpoint (state, database, observation).
    pub fn endpoint(&self) -> &Endpoint {
        &self.ep
    }

    /// The store, for reading (a read sees exactly what was committed).
    pub fn store(&self) -> &NodeStore {
        &self.store
    }

    /// Whether a partner connection is open, as far as the node knows.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Whether a storage failure poisoned the node.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Counters.
    pub fn stats(&self) -> NodeStats {
        self.stats
    }

    // ---- inputs ---------------------------------------------------------------------

    /// A transport connection to the partner is up: the primary opened it, or the secondary
    /// accepted it (§6.1). A previous connection, if any, is treated as closed.
    pub fn handle_connected(&mut self, now: Time) -> Result<(), NodeError> {
        self.check()?;
        self.decoder = FrameDecoder::with_max_len(self.max_frame_len);
        self.connected = true;
        self.ep.handle_connected(now);
        self.collect(now);
        self.finish(now)
    }

    /// The transport connection closed (reading R8: communications are not OK). Ignored if the
    /// node already closed it ([`Output::Close`]).
    pub fn handle_disconnected(&mut self, now: Time) -> Result<(), NodeError> {
        self.check()?;
        if self.connected {
            self.connected = false;
            self.decoder = FrameDecoder::with_max_len(self.max_frame_len);
            self.ep.handle_disconnected(now);
            self.collect(now);
        }
        self.finish(now)
    }

    /// Octets read from the partner connection: any split of the stream (partial frames are
    /// kept for the next call). Every complete message is decoded (RFC 8156 §5.1, §5.2),
    /// converted and handed to the endpoint; bad input gets the RFC's answer (see the crate
    /// documentation) and never a panic.
    pub fn handle_bytes(&mut self, now: Time, bytes: &[u8]) -> Result<(), NodeError> {
        self.check()?;
        if !self.connected {
            if !bytes.is_empty() {
                self.log(format!(
                    "ignored {} octets from the partner: no connection",
                    bytes.len()
                ));
            }
            return self.finish(now);
        }
        self.decoder.push(bytes);
        while self.connected {
            // Decode inside the match: the frame borrows the decoder's buffer.
            let next = match self.decoder.next_frame() {
                Ok(None) => break,
                Ok(Some(frame)) => {
                    Ok(wire::Message::decode(frame).map_err(|e| (raw_header(frame), e)))
                }
                Err(e) => Err(e),
            };
            match next {
                Ok(Ok(msg)) => self.on_wire_message(now, &msg),
                Ok(Err((header, e))) => self.on_malformed(now, header, e.to_string(), None),
                Err(e) => {
                    // RFC 5460 §5.1 framing: after a bad message-size the stream cannot be
                    // resynchronised; drop the connection (RFC 8156 §5.3.10 DISCONNECT).
                    let text = format!("partner stream unreadable: {e}");
                    self.disconnect_for(now, text, CloseReason::Framing(e));
                }
            }
            self.collect(now);
        }
        self.finish(now)
    }

    /// A timer from [`poll_timeout`](Self::poll_timeout) is due.
    pub fn handle_timeout(&mut self, now: Time) -> Result<(), NodeError> {
        self.check()?;
        self.ep.handle_timeout(now);
        self.collect(now);
        self.finish(now)
    }

    /// A DHCP client request.
    pub fn handle_client(&mut self, now: Time, req: ClientRequest) -> Result<(), NodeError> {
        self.check()?;
        self.ep.handle_client(now, req);
        self.collect(now);
        self.finish(now)
    }

    /// An operator command.
    pub fn handle_command(&mut self, now: Time, cmd: Command) -> Result<(), NodeError> {
        self.check()?;
        self.ep.handle_command(now, cmd);
        self.collect(now);
        self.finish(now)
    }

    /// The driver dropped a withdrawn DNS request without sending it ([`Output::DnsCancel`]).
    pub fn handle_dns_cancelled(&mut self, now: Time, id: u64) -> Result<(), NodeError> {
        self.check()?;
        self.ep.handle_dns_cancelled(now, id);
        self.collect(now);
        self.finish(now)
    }

    /// The outcome of an [`Output::Dns`] request (`id` from the request).
    pub fn handle_dns_result(
        &mut self,
        now: Time,
        id: u64,
        result: Result<(), String>,
    ) -> Result<(), NodeError> {
        self.check()?;
        self.ep.handle_dns_result(now, id, result);
        self.collect(now);
        self.finish(now)
    }

    // ---- outputs --------------------------------------------------------------------

    /// The next output, in order.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Time> {
        if self.poisoned {
            return None;
        }
        self.ep.poll_timeout()
    }

    /// Test hook: make the next `n` commits fail as a full disk would, before anything is
    /// written. Used to check that nothing depending on a failed commit is released.
    #[doc(hidden)]
    pub fn inject_commit_failures(&mut self, n: u32) {
        self.fail_commits = n;
    }

    // ---- internals ------------------------------------------------------------------

    fn check(&self) -> Result<(), NodeError> {
        if self.poisoned {
            Err(NodeError::Poisoned)
        } else {
            Ok(())
        }
    }

    fn log(&mut self, line: String) {
        self.held.push(Output::Log(line));
    }

    /// A decoded wire message from the partner.
    fn on_wire_message(&mut self, now: Time, w: &wire::Message) {
        match from_wire(w) {
            Ok(m) => {
                self.stats.messages_in += 1;
                self.ep.handle_message(now, m);
            }
            Err(e) => {
                let header = RawHeader {
                    msg_type: w.msg_type.0,
                    xid: w.transaction_id,
                    sent_time: w.sent_time,
                };
                let client = bndupd_client(w);
                self.on_malformed(now, Some(header), e.to_string(), client);
            }
        }
    }

    /// A frame that did not decode, or a message with no core form.
    fn on_malformed(
        &mut self,
        now: Time,
        header: Option<RawHeader>,
        detail: String,
        client: Option<failover_core::ClientId>,
    ) {
        let Some(h) = header else {
            let text = format!("frame shorter than the message header: {detail}");
            self.disconnect_for(
                now,
                text,
                CloseReason::Malformed {
                    msg_type: None,
                    detail,
                },
            );
            return;
        };
        let sent_time = Time(u64::from(h.sent_time));
        match MsgKind::from_code(h.msg_type) {
            Err(_) => {
                // RFC 3315 §15: a message of a type the receiver does not know is discarded.
                self.log(format!(
                    "ignored message of unknown msg-type {} xid={}: {detail}",
                    h.msg_type, h.xid
                ));
            }
            Ok(MsgKind::BndUpd) => {
                // RFC 8156 §7.5.3: "if there is insufficient information in the BNDUPD message
                // to process it, then it is rejected with an OPTION_STATUS_CODE of
                // MissingBindingInformation". The endpoint answers an update with no lease
                // exactly so (with its time-skew and state checks), and keeps the connection.
                self.log(format!(
                    "BNDUPD xid={} cannot be processed ({detail}): rejecting it with \
                     MissingBindingInformation (RFC 8156 §7.5.3)",
                    h.xid
                ));
                self.stats.messages_in += 1;
                self.ep.handle_message(
                    now,
                    Message {
                        xid: h.xid,
                        sent_time,
                        body: Body::BndUpd(BndUpd {
                            client,
                            leases: Vec::new(),
                            vss: None,
                        }),
                    },
                );
            }
            Ok(MsgKind::Disconnect) => {
                // §5.3.10: whatever its contents, a DISCONNECT closes the connection.
                self.log(format!(
                    "malformed DISCONNECT ({detail}): treated as a DISCONNECT without status"
                ));
                self.stats.messages_in += 1;
                self.ep.handle_message(
                    now,
                    Message {
                        xid: h.xid,
                        sent_time,
                        body: Body::Disconnect(Disconnect {
                            status: None,
                            message: detail,
                        }),
                    },
                );
            }
            Ok(kind) => {
                let text = format!("malformed {kind} xid={}: {detail}", h.xid);
                self.disconnect_for(
                    now,
                    text,
                    CloseReason::Malformed {
                        msg_type: Some(h.msg_type),
                        detail,
                    },
                );
            }
        }
    }

    /// The node drops the connection itself: DISCONNECT (RFC 8156 §5.3.10: "SHOULD contain an
    /// OPTION_STATUS_CODE option with an appropriate status ... SHOULD include a descriptive
    /// message"), then close, then tell the endpoint (reading R8). No RFC 8156 status names a
    /// malformed message, so the status is RFC 3315's UnspecFail (1) and the text says why. The
    /// transaction-id is 0, which the endpoint never allocates, so it is unique among our
    /// outstanding messages (§5.4).
    fn disconnect_for(&mut self, now: Time, text: String, reason: CloseReason) {
        if !self.connected {
            return;
        }
        self.log(format!("dropping the partner connection: {text}"));
        let msg = wire::Message::new(MsgKind::Disconnect, 0, wire_time(now))
            .with(DhcpOption::status(wire::StatusCode::UNSPEC_FAIL, text));
        self.transmit_wire(&msg);
        self.close(reason);
        self.ep.handle_disconnected(now);
    }

    fn close(&mut self, reason: CloseReason) {
        if self.connected {
            self.connected = false;
            self.decoder = FrameDecoder::with_max_len(self.max_frame_len);
            self.held.push(Output::Close(reason));
        }
    }

    /// Encode `msg` into the current `Transmit` (consecutive messages share one buffer).
    fn transmit_wire(&mut self, msg: &wire::Message) -> bool {
        if !matches!(self.held.last(), Some(Output::Transmit(_))) {
            self.held.push(Output::Transmit(Vec::new()));
        }
        let Some(Output::Transmit(buf)) = self.held.last_mut() else {
            return false;
        };
        match msg.encode_framed(buf) {
            Ok(()) => {
                self.stats.messages_out += 1;
                true
            }
            Err(e) => {
                if buf.is_empty() {
                    self.held.pop();
                }
                self.log(format!("cannot encode {}: {e}", msg.msg_type));
                false
            }
        }
    }

    /// Drain the endpoint's outputs into this call's batch, in order.
    fn collect(&mut self, now: Time) {
        while let Some(o) = self.ep.poll_output() {
            match o {
                CoreOutput::Persist(r) => self.persist.push(r),
                CoreOutput::Send(m) => self.send(now, m),
                CoreOutput::Disconnect { reason } => {
                    self.log(format!("endpoint closed the partner connection: {reason}"));
                    self.close(CloseReason::Endpoint(reason));
                }
                CoreOutput::ClientReply(r) => self.held.push(Output::ClientReply(r)),
                CoreOutput::Event(Event::Log(line)) => self.held.push(Output::Log(line)),
                CoreOutput::Event(e) => self.held.push(Output::Event(e)),
                CoreOutput::Dns(r) => self.held.push(Output::Dns(r)),
                CoreOutput::DnsCancel { id } => self.held.push(Output::DnsCancel { id }),
            }
        }
    }

    fn send(&mut self, now: Time, m: Message) {
        if !self.connected {
            self.log(format!("not sent, no connection: {m}"));
            return;
        }
        let encoded = to_wire(&m).map_err(|e| e.to_string()).and_then(|w| {
            if self.transmit_wire(&w) {
                Ok(())
            } else {
                Err("message does not fit a frame".to_string())
            }
        });
        if let Err(e) = encoded {
            let text = format!("our {} has no wire form: {e}", m.kind());
            self.disconnect_for(now, text.clone(), CloseReason::Internal(text));
            return;
        }
        if let Body::ConnectReply(ConnectReply::Reject(code)) = m.body {
            // RFC 8156 §6.1: "If it has no secondary relationships with the connecting server, it
            // MUST drop the connection." The same holds for a CONNECT we cannot accept for any
            // other reason (skew, version): the connection serves nothing.
            self.log(format!(
                "CONNECT rejected with {code}: closing the connection (RFC 8156 §6.1)"
            ));
            self.close(CloseReason::RejectedConnect(code));
            self.ep.handle_disconnected(now);
        }
    }

    /// End of an input call: commit, then release.
    fn finish(&mut self, now: Time) -> Result<(), NodeError> {
        self.release(now).map_err(NodeError::Storage)
    }

    /// Commit this call's records, then release its outputs (or withhold them, on failure).
    fn release(&mut self, now: Time) -> Result<(), StoreError> {
        match self.commit(now) {
            Ok(()) => {
                self.out.extend(self.held.drain(..));
                Ok(())
            }
            Err(e) => {
                self.poisoned = true;
                let mut withheld = 0;
                for o in std::mem::take(&mut self.held) {
                    match o {
                        Output::Transmit(_) | Output::ClientReply(_) => withheld += 1,
                        other => self.out.push_back(other),
                    }
                }
                self.out.push_back(Output::Log(format!(
                    "stable storage commit failed: {e}; {withheld} transmissions and client \
                     replies withheld (RFC 8156 §7.5.2); the node must be reopened"
                )));
                if self.connected {
                    self.connected = false;
                    self.out
                        .push_back(Output::Close(CloseReason::StorageFailed));
                }
                Err(e)
            }
        }
    }

    /// One atomic commit of every record of this call (last write per key wins), durable unless
    /// the call releases nothing that depends on it.
    ///
    /// The endpoint record is written with `time_of_failure` = `now`: a node that crashes later
    /// released nothing after its last commit (every grant and every acknowledgement waits for
    /// one), so the time of its last commit is "a time beyond which the server could not have
    /// been operating" (RFC 8156 §8.3.2 step 1). The endpoint's own `last_operation` is only the
    /// time of its last state record, which can be much older than its last grant; using it would
    /// let STARTUP choose RECOVER where leases granted after the partner entered PARTNER-DOWN call
    /// for POTENTIAL-CONFLICT (§8.3.2 step 5).
    fn commit(&mut self, now: Time) -> Result<(), StoreError> {
        if self.persist.is_empty() {
            return Ok(());
        }
        let mut leases: BTreeMap<LeaseKey, Binding> = BTreeMap::new();
        let mut record = None;
        for r in self.persist.drain(..) {
            match r {
                PersistRecord::Endpoint(e) => record = Some(e),
                PersistRecord::Lease { key, binding } => {
                    leases.insert(key, binding);
                }
            }
        }
        let record = record.or_else(|| self.last_record.clone()).map(|mut r| {
            r.time_of_failure = Some(now);
            r
        });
        if self.fail_commits > 0 {
            self.fail_commits -= 1;
            return Err(StoreError::Io {
                path: self.store.path().to_path_buf(),
                action: "committing a transaction (injected failure)",
                source: io::Error::new(io::ErrorKind::StorageFull, "injected failure"),
            });
        }
        let keys: Vec<String> = leases.keys().map(lease_key_text).collect();
        let mut changes: Vec<Change<'_, Binding, EndpointRecord>> =
            Vec::with_capacity(leases.len() + 1);
        for (key, binding) in keys.iter().zip(leases.values()) {
            changes.push(Change::PutBinding(key, binding));
        }
        if let Some(r) = &record {
            changes.push(Change::PutEndpoint(r));
        }
        // Durable (fsync'd) when this call releases anything that depends on the records: a
        // message to the partner (a BNDREPLY, §7.5.2; a STATE, §6.3), a client reply, a DNS
        // request, a state change (§8.1), a close. When it releases nothing but log lines (a
        // primary recording the partner's BNDREPLY, a lease expiring while the partner is
        // away), losing the records in a crash loses no promise: the next durable commit
        // carries them, and a lost BNDREPLY leaves the update pending, so it is sent again
        // (§7.6). That saves the pair one fsync per lease on the granting server.
        if self.held.iter().all(|o| matches!(o, Output::Log(_))) {
            self.store.commit_deferred(&changes)?;
            self.stats.deferred_commits += 1;
        } else {
            self.store.commit(&changes)?;
            self.stats.commits += 1;
        }
        self.stats.bindings_committed += leases.len() as u64;
        if record.is_some() {
            self.last_record = record;
        }
        Ok(())
    }
}
