//! The interface of a system under test: two failover servers (a primary and a secondary)
//! driven by the harness, which owns the clock, the network between them and the clients.
//! Everything here is in concrete terms; [`crate::mapping`] translates from the traces.

use std::fmt;
use std::net::Ipv6Addr;

use failover_proto::{BindingStatus, Role, ServerState};
use serde::{Deserialize, Serialize};

/// The configuration both servers get.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SutConfig {
    /// MCLT, seconds (§4.4).
    pub mclt: u64,
    /// Valid lifetime to give clients, seconds.
    pub lifetime: u64,
    /// STARTUP state timer, seconds (§8.3.2 step 3).
    pub startup_time: u64,
    /// auto-partner-down delay, seconds (§8.9.2), if configured.
    pub auto_partner_down: Option<u64>,
    /// Addresses (independent allocation, §4.2.1; the primary owns those with bit 127 set).
    pub addresses: Vec<Ipv6Addr>,
    /// Delegable prefixes (proportional allocation, §4.2.2), as `addr/len`.
    pub prefixes: Vec<String>,
    /// `normal`: start both servers NORMAL with communications OK, the databases agreeing, and
    /// the prefixes listed in `backup_prefixes` FREE-BACKUP on both; `fresh`: empty storage.
    pub init: String,
    /// The prefixes the secondary holds at start (`normal` only): half of the prefixes that
    /// are not reserved, rounded down.
    pub backup_prefixes: Vec<String>,
    /// The harness clock at start, seconds since 2000-01-01 (RFC 8156 §3).
    pub start_time: u64,
    /// DNS update coordination (RFC 8156 §9), for traces tagged `ddns`; absent: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<SutDns>,
    /// Reservations (design draft §12), for traces tagged `reservations`, configured on both
    /// servers; absent: none. With `normal`, a reserved lease (address or prefix) starts FREE
    /// on the primary and FREE-BACKUP flagged reserved on the secondary, whatever its pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reservations: Vec<SutReservation>,
}

/// A lease reserved for one client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SutReservation {
    /// The address or prefix.
    pub lease: String,
    /// The client's DUID, hex.
    pub client: String,
}

/// How both servers update the DNS (traces tagged `ddns`). The harness plays the DNS server:
/// a server asks for an update when it owes one, and the harness answers it at a `dns-answer`
/// event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SutDns {
    /// The zone names go in, e.g. `example.com`.
    pub zone: String,
    /// A server granting a new binding names it `<label>-<client DUID hex>.<zone>`, with the
    /// label of the granting server: `labels[0]` for the primary, `labels[1]` for the secondary.
    pub labels: [String; 2],
}

/// An event, at the time the harness gives with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum SutEvent {
    /// The clock moved on; run whatever timers are due.
    Tick,
    /// Deliver the oldest partner message in flight to `to` (connection set-up and keepalive
    /// messages, which the traces do not model, are delivered by the SUT on its own).
    Deliver {
        /// The receiver.
        to: Role,
    },
    /// Run the due timers of `server`.
    Timers {
        /// Which server.
        server: Role,
    },
    /// The network between the servers fails: the connection is lost, messages in flight too.
    Partition,
    /// The network works again (the primary connects when both servers run).
    Heal,
    /// The server stops at once; its stable storage survives unless `lose_storage`.
    Crash {
        /// Which server.
        server: Role,
        /// Stable storage is lost.
        lose_storage: bool,
    },
    /// The server starts again from its stable storage (or empty storage).
    Restart {
        /// Which server.
        server: Role,
    },
    /// Operator: "your partner is down" (§8.8.2, §8.9.2, §8.11.2).
    PartnerDown {
        /// Which server.
        server: Role,
    },
    /// Operator: reset an ABANDONED lease (Figure 2 (10)).
    ResetLease {
        /// Which server.
        server: Role,
        /// The address or prefix.
        lease: String,
    },
    /// A client message to `server`.
    Client {
        /// Which server receives it.
        server: Role,
        /// The client's DUID, hex.
        client: String,
        /// What it asks.
        op: ClientOpKind,
        /// `request`: `address` or `prefix`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
        /// The lease concerned (not for `request`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lease: Option<String>,
        /// The name the client presents in its Client FQDN option (RFC 4704): the one it was
        /// given, on RENEW and REBIND (RFC 8156 §9.5, reading R28). `ddns` traces only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fqdn: Option<String>,
    },
    /// Operator: cancel the reservation of `lease` on `server` (design draft §12).
    /// `reservations` traces only.
    CancelReservation {
        /// Which server.
        server: Role,
        /// The address or prefix.
        lease: String,
    },
    /// The DNS server answers the oldest DNS update `server` asked for `lease` (RFC 8156 §9):
    /// the SUT performs it now and takes the answer. `ddns` traces only.
    DnsAnswer {
        /// Which server.
        server: Role,
        /// The address or prefix.
        lease: String,
    },
}

/// Client message types (SOLICIT+REQUEST as one `request`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientOpKind {
    /// SOLICIT/REQUEST for a new lease.
    Request,
    /// RENEW to the server that granted the lease.
    Renew,
    /// REBIND (no server id).
    Rebind,
    /// RELEASE to the server that granted the lease.
    Release,
    /// DECLINE to the server that granted the lease.
    Decline,
}

/// What the SUT reports after an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SutObservation {
    /// Primary, then secondary.
    pub servers: Vec<SutServer>,
    /// The answer to a client event: `None` when the server did not answer.
    #[serde(default)]
    pub reply: Option<SutReply>,
    /// Partner messages sent during the event, one entry per lease for BNDUPD/BNDREPLY.
    #[serde(default)]
    pub sent: Vec<SutMsg>,
    /// `ddns` traces: the records in the DNS server, one per lease that has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<Vec<SutDnsRecord>>,
}

/// A lease's records in the DNS server (AAAA and PTR, one name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SutDnsRecord {
    /// The address or prefix.
    pub lease: String,
    /// The name, `host.zone` without the final dot.
    pub fqdn: String,
}

/// A DNS update a server owes (RFC 8156 §9.3, §9.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SutDnsOp {
    /// `add` or `remove`.
    pub op: String,
    /// The name.
    pub fqdn: String,
}

/// One server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SutServer {
    /// Running.
    pub up: bool,
    /// Failover state (absent while down).
    #[serde(default)]
    pub state: Option<ServerState>,
    /// Communications OK.
    #[serde(default)]
    pub comm_ok: bool,
    /// Every lease (empty while down).
    #[serde(default)]
    pub leases: Vec<SutLease>,
}

/// One lease as one server holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SutLease {
    /// The address, or the prefix as `addr/len`.
    pub lease: String,
    /// binding-status.
    pub status: BindingStatus,
    /// The client's DUID, hex.
    #[serde(default)]
    pub client: Option<String>,
    /// state-expiration-time, seconds.
    #[serde(default)]
    pub expiry: Option<u64>,
    /// `ddns`: the binding's name (RFC 8156 §9.2), if the server knows one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// `ddns`: the records are recorded as added (flag F of §5.5.3.3).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dns_added: bool,
    /// `ddns`: the DNS updates the server owes for this lease, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_owed: Vec<SutDnsOp>,
    /// `reservations`: the client (DUID, hex) the lease is reserved for in this server's
    /// record (the primary: its configuration; the secondary: the primary's flag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_for: Option<String>,
    /// `reservations`: the reservation was cancelled and the BNDUPD FREE "no longer reserved"
    /// is not acked yet; the lease goes to no client.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancelling: bool,
}

/// An answer to a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum SutReply {
    /// The lease is the client's until `expires` (seconds).
    Granted {
        /// The lease.
        lease: String,
        /// Absolute expiry, seconds.
        expires: u64,
        /// The name given to the client (RFC 4704 Client FQDN option; RFC 8156 §9.5).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fqdn: Option<String>,
    },
    /// RELEASE/DECLINE acknowledged.
    Done,
    /// Refused (NoBinding, NoAddrsAvail, NoPrefixAvail).
    Refused,
}

/// A partner message, by kind and key fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SutMsg {
    /// Sender.
    pub from: Role,
    /// RFC message name.
    pub kind: String,
    /// STATE: the state sent.
    #[serde(default)]
    pub state: Option<ServerState>,
    /// STATE: the STARTUP flag.
    #[serde(default)]
    pub startup: Option<bool>,
    /// BNDUPD/BNDREPLY: the lease.
    #[serde(default)]
    pub lease: Option<String>,
    /// BNDUPD: the binding-status; BNDREPLY: the status acknowledged.
    #[serde(default)]
    pub status: Option<BindingStatus>,
    /// BNDREPLY: the status code of a rejection.
    #[serde(default)]
    pub reject: Option<String>,
    /// BNDUPD (`ddns`): the binding's name it carries (§9.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// BNDUPD with a name: the records are recorded as added (flag F).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_added: Option<bool>,
    /// BNDUPD (`reservations`): the reserved flag, `false` for "no longer reserved".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved: Option<bool>,
}

/// Why the SUT could not take a step (not a divergence: the run cannot continue).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SutError(pub String);

impl fmt::Display for SutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SutError {}

/// A system under test. One value runs one trace at a time: `start`, then `apply` per step.
pub trait Sut {
    /// A name for reports.
    fn name(&self) -> String;
    /// Start both servers for a new trace (discarding any previous one).
    fn start(&mut self, cfg: &SutConfig) -> Result<SutObservation, SutError>;
    /// Apply one event at `time` (seconds; never decreasing) and report.
    fn apply(&mut self, time: u64, event: &SutEvent) -> Result<SutObservation, SutError>;
}
