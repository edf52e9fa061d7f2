//! The types of a trace: the configuration in abstract units, the events, and what is observed
//! after each (`traces/README.md` explains each field, `traces/schema.json` is the JSON Schema).

use failover_proto::{BindingStatus as B, LeaseKind, Role, ServerState as S};
use serde::{Deserialize, Serialize};

/// A tick of the trace's clock: the model's unit of time, which the harness maps to seconds
/// (`conformance/src/mapping.rs`). The same type as the model's `Tick`.
pub type Tick = u8;

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
        kind: LeaseKind,
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
