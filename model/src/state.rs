//! The model's state, grouped as raft.tla groups its variables: the clock and budgets, the two
//! servers (failover state + lease database), the partner connection, the clients.
//!
//! Every collection is a `Vec` indexed by a small id or a fixed array, never a hash map, so that
//! iteration order, paths and rendered output are the same on every run.

use std::fmt;

use failover_proto::{BindingStatus, Role, ServerState};
use serde::Serialize;

use crate::config::Tick;

/// A short vector stored inline: a length and `N` slots, `Copy` when `T` is, so that a lease
/// (and with it the lease table's `Vec`) is copied with one `memcpy` when the checker clones a
/// state. It compares, hashes, prints and serialises as the slice of its elements; the unused
/// slots hold `T::default()` and are never read.
#[derive(Clone, Copy)]
pub struct InlineVec<T: Copy + Default, const N: usize> {
    len: u8,
    items: [T; N],
}

impl<T: Copy + Default, const N: usize> InlineVec<T, N> {
    /// An empty vector.
    pub fn new() -> Self {
        InlineVec {
            len: 0,
            items: [T::default(); N],
        }
    }

    /// `n` copies of `x`.
    pub fn from_elem(x: T, n: usize) -> Self {
        let mut v = Self::new();
        for _ in 0..n {
            v.push(x);
        }
        v
    }

    /// Append an element. Panics beyond `N` elements: the model's budgets keep every use far
    /// below its bound, and a run that gets there must stop rather than drop something.
    pub fn push(&mut self, x: T) {
        assert!(
            (self.len as usize) < N,
            "more than {N} elements in an inline vector of the model state"
        );
        self.items[self.len as usize] = x;
        self.len += 1;
    }

    /// Remove and return the element at `i`, shifting the rest down.
    pub fn remove(&mut self, i: usize) -> T {
        let n = self.len as usize;
        assert!(i < n, "remove index {i} out of bounds (len {n})");
        let x = self.items[i];
        self.items.copy_within(i + 1..n, i);
        self.len -= 1;
        self.items[self.len as usize] = T::default();
        x
    }

    /// Keep only the elements for which `f` is true, in order.
    pub fn retain(&mut self, mut f: impl FnMut(&T) -> bool) {
        let n = self.len as usize;
        let mut k = 0;
        for i in 0..n {
            let x = self.items[i];
            if f(&x) {
                self.items[k] = x;
                k += 1;
            }
        }
        for slot in &mut self.items[k..n] {
            *slot = T::default();
        }
        self.len = k as u8;
    }
}

impl<T: Copy + Default, const N: usize> Default for InlineVec<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + Default, const N: usize> std::ops::Deref for InlineVec<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items[..self.len as usize]
    }
}

impl<T: Copy + Default, const N: usize> std::ops::DerefMut for InlineVec<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.items[..self.len as usize]
    }
}

impl<'a, T: Copy + Default, const N: usize> IntoIterator for &'a InlineVec<T, N> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: Copy + Default + PartialEq, const N: usize> PartialEq for InlineVec<T, N> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Copy + Default + Eq, const N: usize> Eq for InlineVec<T, N> {}

impl<T: Copy + Default + PartialOrd, const N: usize> PartialOrd for InlineVec<T, N> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: Copy + Default + Ord, const N: usize> Ord for InlineVec<T, N> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: Copy + Default + std::hash::Hash, const N: usize> std::hash::Hash for InlineVec<T, N> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (**self).hash(h)
    }
}

impl<T: Copy + Default + fmt::Debug, const N: usize> fmt::Debug for InlineVec<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Copy + Default + Serialize, const N: usize> Serialize for InlineVec<T, N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// The DNS updates a server owes for one lease (each needs a binding that ended or began, so the
/// budgets keep them to two or three).
pub type DnsOps = InlineVec<DnsOp, 6>;

/// What each client holds, indexed by [`ClientId`] (`--clients` is at most 4).
pub type Clients = InlineVec<Option<Holding>, 4>;

/// Index of a client (`c0`, `c1`, ...).
pub type ClientId = u8;
/// Index of a lease: addresses first (`A0`, `A1`, ...), then prefixes (`P0`, ...).
pub type LeaseId = u8;

/// The two kinds of lease and their allocation algorithm (§4.2): one definition, shared with
/// the implementation, in `failover_proto`.
pub use failover_proto::LeaseKind;

/// Index of a role in the `servers` array and of the channel it sends on.
pub fn idx(r: Role) -> usize {
    match r {
        Role::Primary => 0,
        Role::Secondary => 1,
    }
}

/// The role at an index.
pub fn role(i: usize) -> Role {
    if i == 0 {
        Role::Primary
    } else {
        Role::Secondary
    }
}

/// Short name of a role for compact output.
pub fn short(r: Role) -> &'static str {
    match r {
        Role::Primary => "P",
        Role::Secondary => "S",
    }
}

/// The abstract FQDN of a binding (§9.2 items 1-2): the server that synthesized it and the
/// client it names. The model has no disambiguation, so the name placed in DNS is this name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Fqdn {
    /// The client the name belongs to.
    pub client: ClientId,
    /// The server that synthesized it.
    pub by: Role,
}

/// A DNS update a server owes (§9.3, §9.4), kept in stable storage with the lease. (`Default`
/// only fills the unused slots of [`DnsOps`].)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum DnsOp {
    /// Add the records of this name for the lease (§9.3).
    Add(Fqdn),
    /// Remove the records of this name for the lease (§9.4); it carries the name, since the
    /// binding it belonged to is gone by then.
    Remove(Fqdn),
}

impl Default for DnsOp {
    fn default() -> Self {
        DnsOp::Remove(Fqdn {
            client: 0,
            by: Role::Primary,
        })
    }
}

impl DnsOp {
    /// The name the operation is about.
    pub fn name(self) -> Fqdn {
        match self {
            DnsOp::Add(n) | DnsOp::Remove(n) => n,
        }
    }
}

/// One lease as one server records it (§7.2 binding-status, §7.3 times). `Copy`, so that a
/// lease table is cloned with one `memcpy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Lease {
    /// binding-status (§5.5.1). PENDING-FREE is transient (reading R1) and never stored.
    pub status: BindingStatus,
    /// The client bound to the lease (ACTIVE, EXPIRED, RELEASED, ABANDONED); `None` when free.
    pub client: Option<ClientId>,
    /// state-expiration-time: for ACTIVE, when this server believes the client's lifetime ends.
    pub expiry: Tick,
    /// start-time-of-state: when the binding-status last changed.
    pub since: Tick,
    /// client-last-transaction-time (raised from the partner's, §7.5.5).
    pub clt: Tick,
    /// acked-partner-lifetime: the greatest partner-lifetime the partner acked (reading R4).
    pub acked_pl: Tick,
    /// The most recently transmitted partner-lifetime (digest A15), used by the §8.4.1 wait.
    pub pl_sent: Tick,
    /// expiration-time: the greatest partner-lifetime this server acked to its partner (R4).
    pub exp_time: Tick,
    /// The partner must be told about this lease (a BNDUPD is owed).
    pub pending: bool,
    /// A BNDUPD about this lease is outstanding (sent, no BNDREPLY yet). Volatile.
    pub inflight: bool,
    /// A rejection arrived while an update was already owed: wait for the next periodic scan
    /// (the next tick) before sending again (§7.5.4). Volatile.
    pub hold: bool,
    /// The primary has asked for this FREE-BACKUP prefix back with BNDUPD FREE and does not
    /// use it until the secondary acks (reading R9).
    pub reclaim: bool,
    /// DNS (§9.2): the FQDN of the binding, if any (`--dns` only).
    pub fqdn: Option<Fqdn>,
    /// DNS (§9.2 item 3, the F/R flags of §5.5.3): the records of `fqdn` are known to be in DNS.
    pub dns_added: bool,
    /// DNS: the updates this server owes for the lease, oldest first (stable storage, §9.4).
    pub dns_ops: DnsOps,
    /// Reservations (design draft §12, `--reservations` only): the client the lease is reserved
    /// for. On the primary, its configuration; on the secondary, as the primary's last BNDUPD
    /// flagged it (a reservation only in the secondary's configuration does not count).
    pub reserved: Option<ClientId>,
    /// Reservations (reading R29): the reservation was cancelled while the lease was FREE here;
    /// the BNDUPD FREE "no longer reserved" is not yet acked, and the lease goes to no client
    /// until it is. Stable (reading R30).
    pub cancelling: bool,
}

impl Lease {
    /// A free lease in the given status at time 0.
    pub fn free(status: BindingStatus) -> Lease {
        Lease {
            status,
            client: None,
            expiry: 0,
            since: 0,
            clt: 0,
            acked_pl: 0,
            pl_sent: 0,
            exp_time: 0,
            pending: false,
            inflight: false,
            hold: false,
            reclaim: false,
            fqdn: None,
            dns_added: false,
            dns_ops: DnsOps::new(),
            reserved: None,
            cancelling: false,
        }
    }

    /// The time Figure 4 compares an incoming update against: client-last-transaction-time if
    /// present, else start-time-of-state (§7.5.4).
    pub fn db_time(&self) -> Tick {
        if self.clt > 0 {
            self.clt
        } else {
            self.since
        }
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        if let Some(c) = self.client {
            write!(f, " c{c}")?;
        }
        if self.status == BindingStatus::Active {
            write!(f, " until t{}", self.expiry)?;
        }
        write!(f, " since t{}", self.since)?;
        if self.acked_pl > 0 {
            write!(f, " ackedPL t{}", self.acked_pl)?;
        }
        if self.exp_time > 0 {
            write!(f, " expTime t{}", self.exp_time)?;
        }
        if self.pending {
            f.write_str(" [update pending]")?;
        }
        if self.inflight {
            f.write_str(" [BNDUPD in flight]")?;
        }
        if self.reclaim {
            f.write_str(" [reclaiming]")?;
        }
        if let Some(n) = self.fqdn {
            write!(f, " name {}", crate::names::fqdn(n))?;
            if self.dns_added {
                f.write_str(" (in DNS)")?;
            }
        }
        for op in &self.dns_ops {
            match op {
                DnsOp::Add(n) => write!(f, " [owes DNS add {}]", crate::names::fqdn(*n))?,
                DnsOp::Remove(n) => write!(f, " [owes DNS remove {}]", crate::names::fqdn(*n))?,
            }
        }
        if let Some(c) = self.reserved {
            write!(f, " reserved for c{c}")?;
        }
        if self.cancelling {
            f.write_str(" [reservation cancelling]")?;
        }
        Ok(())
    }
}

/// One failover endpoint: its state machine variables (§8.1, §8.2) and its lease database.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Server {
    /// Running, or crashed.
    pub up: bool,
    /// Current failover state.
    pub state: ServerState,
    /// PREVIOUS-STATE of the STARTUP algorithm (§8.3.2): what STARTUP will return to.
    pub prev: ServerState,
    /// Start time of the current state.
    pub since: Tick,
    /// The partner's state and its start time, as last reported in STATE (§6.4). `None` until a
    /// STATE arrives; a STATE with the STARTUP flag is recorded as STARTUP.
    pub partner: Option<(ServerState, Tick)>,
    /// Communications OK: the partner's STATE arrived on the current connection (§6.1). Volatile.
    pub comm_ok: bool,
    /// The last time this server is known to have been operating (stable; TIME-OF-FAILURE of
    /// §8.3.2 after a crash). `None` for a server that has never run failover.
    pub last_operating: Option<Tick>,
    /// This run started with no stable storage, so RECOVER must ask for UPDREQALL (§8.5.2).
    pub storage_lost: bool,
    /// Sent UPDREQ/UPDREQALL on this connection, waiting for UPDDONE. Volatile.
    pub awaiting_upddone: bool,
    /// The partner asked for updates (UPDREQ/UPDREQALL): UPDDONE is owed once every update
    /// sent for it is acked (§5.3.7). Volatile.
    pub owes_upddone: bool,
    /// RECOVER-WAIT timer deadline (§8.6.2).
    pub recover_wait_until: Tick,
    /// The lease database, indexed by [`LeaseId`].
    pub leases: Vec<Lease>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.up {
            return write!(f, "CRASHED (stored state {})", self.state);
        }
        write!(f, "{} since t{}", self.state, self.since)?;
        if self.state == ServerState::Startup {
            write!(f, " (previous {})", self.prev)?;
        }
        match self.partner {
            Some((s, t)) => write!(f, ", partner {s} since t{t}")?,
            None => write!(f, ", partner unknown")?,
        }
        write!(f, ", comm {}", if self.comm_ok { "OK" } else { "not OK" })?;
        if self.awaiting_upddone {
            f.write_str(", awaiting UPDDONE")?;
        }
        if self.owes_upddone {
            f.write_str(", owes UPDDONE")?;
        }
        Ok(())
    }
}

/// The information a BNDUPD carries about one lease (§7.4, Figure 5), abstracted.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Update {
    /// Which lease.
    pub lease: LeaseId,
    /// OPTION_F_BINDING_STATUS.
    pub status: BindingStatus,
    /// OPTION_CLIENTID (absent for a bare IAPREFIX).
    pub client: Option<ClientId>,
    /// OPTION_F_STATE_EXPIRATION_TIME.
    pub expiry: Tick,
    /// OPTION_F_START_TIME_OF_STATE.
    pub since: Tick,
    /// OPTION_CLT_TIME (as an absolute tick; digest A5).
    pub clt_time: Tick,
    /// OPTION_F_PARTNER_LIFETIME.
    pub pl: Tick,
    /// DNS (§9.2, §5.5.3): the binding's FQDN.
    pub fqdn: Option<Fqdn>,
    /// DNS: the records are known to be in DNS (flag F).
    pub dns_added: bool,
    /// Reservations: the update carries the reserved flag (a lease named in the reservation
    /// configuration, `--reservations` only); `reserved` is then its value.
    pub flagged: bool,
    /// Reservations: reserved (for this client) or "no longer reserved" (`None`).
    pub reserved: Option<ClientId>,
}

/// Why a BNDUPD was rejected (§5.6): the two rejections the model decides between. Each is a
/// registered status code, whose number and name are written once, in failover-proto's table
/// ([`Reject::wire`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Reject {
    /// AddressInUse: the receiver's ACTIVE binding belongs to another client.
    AddressInUse,
    /// OutdatedBindingInformation: the receiver's information is newer.
    Outdated,
}

impl Reject {
    /// The registered status code.
    pub const fn wire(self) -> failover_proto::wire::StatusCode {
        use failover_proto::wire::StatusCode as W;
        match self {
            Reject::AddressInUse => W::ADDRESS_IN_USE,
            Reject::Outdated => W::OUTDATED_BINDING_INFORMATION,
        }
    }

    /// The code's registry name (`"OutdatedBindingInformation"`).
    pub fn name(self) -> &'static str {
        self.wire().name().unwrap_or("unregistered status code")
    }
}

/// A partner message in flight (§5.3), abstracted to the fields the protocol decides on.
/// CONNECT/CONNECTREPLY are one abstract step (the connection comes up automatically); CONTACT is not
/// modelled (link failure is an explicit action instead of a keepalive timeout).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Msg {
    /// STATE (§6.3): the sender's state, whether the STARTUP flag is set (then `state` is the
    /// previously recorded state, §8.3.1), and the start time of the state.
    State {
        /// OPTION_F_SERVER_STATE.
        state: ServerState,
        /// The STARTUP bit of OPTION_F_SERVER_FLAGS.
        startup: bool,
        /// OPTION_F_START_TIME_OF_STATE.
        since: Tick,
    },
    /// BNDUPD (§7.4).
    BndUpd(Update),
    /// BNDREPLY (§7.6): the lease, the echoed partner-lifetime (OPTION_F_PARTNER_LIFETIME_SENT),
    /// the status the update carried, and the rejection if any.
    BndReply {
        /// Which lease.
        lease: LeaseId,
        /// The binding-status of the acknowledged update.
        status: BindingStatus,
        /// OPTION_F_PARTNER_LIFETIME_SENT.
        pl: Tick,
        /// A rejection status code, or `None` for accepted.
        reject: Option<Reject>,
    },
    /// POOLREQ (§5.3.3), secondary to primary.
    PoolReq,
    /// POOLRESP (§5.3.4).
    PoolResp,
    /// UPDREQ (`all == false`) or UPDREQALL (`all == true`) (§5.3.5, §5.3.6).
    UpdReq {
        /// UPDREQALL.
        all: bool,
    },
    /// UPDDONE (§5.3.7).
    UpdDone,
}

impl fmt::Debug for Update {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::names::update(None, self))
    }
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::names::msg(None, self))
    }
}

/// What a client holds: ground truth for the safety properties, kept by the client's own clock.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Holding {
    /// The lease.
    pub lease: LeaseId,
    /// When the client's valid lifetime ends (it stops using the lease at this tick).
    pub expiry: Tick,
    /// The server whose reply it last accepted (its OPTION_SERVERID, used for RENEW).
    pub server: Role,
    /// DNS: the name the server's reply gave it (the client presents it in RENEW and REBIND).
    pub fqdn: Option<Fqdn>,
}

impl fmt::Debug for Holding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::names::holding(None, self))
    }
}

/// Remaining budgets: each action that spends one needs it to be non-zero, which bounds every
/// path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Budget {
    /// Ticks left in the fault phase.
    pub ticks: Tick,
    /// Ticks left in the settle phase.
    pub settle_ticks: Tick,
    /// Partitions left.
    pub partitions: u8,
    /// Crashes left.
    pub crashes: u8,
    /// Crashes with storage loss left.
    pub storage_losses: u8,
    /// Client operations left.
    pub client_ops: u8,
    /// Operator commands left.
    pub commands: u8,
    /// Reservation cancellations left (`--reservations`).
    pub cancels: u8,
}

/// Monitors: violations that can only be seen at the moment a client exchange happens (what a
/// server answered, in which state, from which pool). Each is set once, by the exchange that
/// violates it, and checked by an `always` property.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Monitor {
    /// A grant outside PARTNER-DOWN exceeded max(now, acked partner lifetime) + MCLT.
    pub mclt_exceeded: bool,
    /// A server allocated from a pool that is not its own.
    pub foreign_pool: bool,
    /// A server answered a client message its state must not answer.
    pub unresponsive_answered: bool,
    /// A responsive server with a free lease of its own refused a new client.
    pub refused_with_free_lease: bool,
    /// A client whose server was down could not keep its lease with the partner.
    pub lease_lost_on_failover: bool,
    /// DNS: a reply gave a client a name other than the one it holds (§9.5).
    pub name_changed: bool,
    /// DNS: an add found the records of another binding in place (RFC 4703 conflict).
    pub dns_conflict: bool,
}

impl Monitor {
    /// Whether anything was recorded.
    pub fn any(&self) -> bool {
        self.mclt_exceeded
            || self.foreign_pool
            || self.unresponsive_answered
            || self.refused_with_free_lease
            || self.lease_lost_on_failover
            || self.name_changed
            || self.dns_conflict
    }
}

/// The whole model state. `Hash` is written by hand in [`crate::canon`] (the checker's
/// fingerprint).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct State {
    /// The global clock.
    pub now: Tick,
    /// Faults over: the settle phase.
    pub settling: bool,
    /// The two servers, primary first.
    pub servers: [Server; 2],
    /// The network between the servers works (false during a partition).
    pub net_up: bool,
    /// A TCP connection between the servers exists (§6.1). Losing it loses what is in flight.
    pub connected: bool,
    /// The two directions of the connection, FIFO as TCP: `chan[0]` primary to secondary,
    /// `chan[1]` secondary to primary.
    pub chan: [Vec<Msg>; 2],
    /// The clients and what each holds.
    pub clients: Clients,
    /// What is left of the budgets.
    pub budget: Budget,
    /// Violations seen at client exchanges.
    pub monitor: Monitor,
    /// How many of the leases are addresses (a constant of the configuration, kept here only so
    /// that `Debug` can name leases `A0`, `P0` as the rest of the tool does).
    pub addresses: u8,
    /// DNS (`--dns` only, else empty): the abstract DNS server, per lease the name whose
    /// records (AAAA and PTR) are in place.
    pub dns: Vec<Option<Fqdn>>,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::names::state(self))
    }
}
