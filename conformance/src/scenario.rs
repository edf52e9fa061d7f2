//! RFC scenarios (`conformance/scenarios/*.toml`): hand-written tests that read like the RFC,
//! for one endpoint, in seconds and real addresses. The schema is documented in
//! `conformance/scenarios/README.md`; this module is the schema, the loader (a malformed file
//! gets an error naming the file and the field), the comparison of what a target did with what
//! the case expects, and the reports (text, JSON, JUnit XML).
//!
//! The harness knows no implementation: a target implements [`ScenarioTarget`] (put an endpoint
//! in the `given` state, apply the `when` event, report what it did as an [`Observed`]). Our
//! own implementation is `failover_replay::scenario_core::CoreTarget`.
//!
//! **Readings.** A case with `reading = "Rn"` states in `then` what the RFC text, taken
//! literally, requires, and in `then_reading` what the project's reading Rn
//! (`docs/readings.md`) gives instead. A target that does the literal thing passes; one that
//! does what the reading says "deviates by reading Rn" (neither a pass nor a failure); one that
//! does neither fails.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::fs;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use failover_proto::wire::StatusCode as WireStatus;
use failover_proto::{BindingStatus, MsgKind, Role, ServerState};
use serde::{Deserialize, Serialize};

// ---- schema ---------------------------------------------------------------------------------

/// One scenario file: a title, the RFC section(s) it covers, and its cases.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// What the file covers, in words.
    pub title: String,
    /// The RFC 8156 sections the file covers (`"7.5.4"`).
    pub sections: Vec<String>,
    /// The cases (`[[case]]` tables).
    #[serde(rename = "case")]
    pub cases: Vec<Case>,
}

/// One case: an endpoint in a given situation, one event, what must follow.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique id, RFC-section based (`7.5.4-figure4-active-vs-free-accept`).
    pub id: String,
    /// The section (and figure) the case is written from (`"§7.5.4 Figure 4"`).
    pub rfc: String,
    /// The RFC sentence the case tests, quoted.
    #[serde(default)]
    pub text: Option<String>,
    /// The project's reading (`"R11"`) under which the outcome differs from the literal text.
    #[serde(default)]
    pub reading: Option<String>,
    /// The situation.
    pub given: Given,
    /// The event.
    pub when: When,
    /// The outcome (the literal text's when `reading` is set).
    pub then: Then,
    /// With `reading`: the outcome under the reading.
    #[serde(default)]
    pub then_reading: Option<Then>,
}

/// The endpoint before the event. Times are seconds relative to the scenario's clock, whose
/// zero is the moment the `given` describes (negative: in the past).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Given {
    /// primary or secondary.
    pub role: Role,
    /// The failover state (RFC token, `"NORMAL"`); STARTUP: just started on the storage below.
    pub state: ServerState,
    /// When the state was entered (start-time-of-state, default 0).
    #[serde(default)]
    pub since: i64,
    /// STARTUP only: the state recorded in stable storage (absent: empty storage, §8.2).
    #[serde(default)]
    pub recorded: Option<ServerState>,
    /// STARTUP only: the last recorded time of operation (§8.3.2 step 5, default 0).
    #[serde(default)]
    pub last_operation: Option<i64>,
    /// When this server entered PARTNER-DOWN (default: `since` if the state is PARTNER-DOWN).
    #[serde(default)]
    pub partner_down_entry: Option<i64>,
    /// The partner's state with communications OK (absent: no connection).
    #[serde(default)]
    pub partner: Option<ServerState>,
    /// The partner's start-time-of-state (default 0).
    #[serde(default)]
    pub partner_since: Option<i64>,
    /// MCLT in seconds (default 3600).
    #[serde(default = "default_mclt")]
    pub mclt: u64,
    /// The valid lifetime the server grants a client (default 3 days).
    #[serde(default)]
    pub lifetime: Option<u64>,
    /// STARTUP time in seconds (§8.3.2 step 3).
    #[serde(default)]
    pub startup_time: Option<u64>,
    /// auto-partner-down time in seconds (§8.9).
    #[serde(default)]
    pub auto_partner_down: Option<u64>,
    /// Addresses configured in the pool besides those of `lease`.
    #[serde(default)]
    pub addresses: Vec<Ipv6Addr>,
    /// Prefixes configured besides those of `lease` (`"2001:db8:1::/56"`).
    #[serde(default)]
    pub prefixes: Vec<Prefix>,
    /// The lease records (`[[case.given.lease]]`), §7.3.
    #[serde(default, rename = "lease")]
    pub leases: Vec<LeaseRecord>,
}

fn default_mclt() -> u64 {
    3600
}

/// An IPv6 prefix written `addr/len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Prefix(pub Ipv6Addr, pub u8);

impl FromStr for Prefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Prefix, String> {
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not a prefix (addr/len)"))?;
        let a: Ipv6Addr = a.parse().map_err(|e| format!("{s:?}: {e}"))?;
        let l: u8 = l
            .parse()
            .ok()
            .filter(|l| *l <= 128)
            .ok_or_else(|| format!("{s:?}: prefix length must be 0-128"))?;
        Ok(Prefix(a, l))
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.0, self.1)
    }
}

impl<'de> Deserialize<'de> for Prefix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Prefix, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Prefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A lease: an address or a prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum LeaseRef {
    /// An address (IAADDR).
    Addr(Ipv6Addr),
    /// A prefix (IAPREFIX).
    Prefix(Ipv6Addr, u8),
}

impl fmt::Display for LeaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeaseRef::Addr(a) => write!(f, "{a}"),
            LeaseRef::Prefix(a, l) => write!(f, "{a}/{l}"),
        }
    }
}

/// A lease record (given, or expected as stored). In `given` the status is required; in
/// `then.stored` every field present is compared and the others are not.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseRecord {
    /// The address (one of `address` and `prefix`).
    #[serde(default)]
    pub address: Option<Ipv6Addr>,
    /// The prefix.
    #[serde(default)]
    pub prefix: Option<Prefix>,
    /// binding-status (RFC token, `"FREE-BACKUP"`).
    #[serde(default)]
    pub status: Option<BindingStatus>,
    /// The client: a name (its UTF-8 bytes are the DUID) or `0x`-prefixed hex DUID; `""`
    /// means no client.
    #[serde(default)]
    pub client: Option<String>,
    /// start-time-of-state.
    #[serde(default)]
    pub start: Option<i64>,
    /// state-expiration-time (absent in `given`: none).
    #[serde(default)]
    pub expires: Option<i64>,
    /// cltt: the time of the last client transaction.
    #[serde(default)]
    pub clt: Option<i64>,
    /// The lifetime the client was given, as it expires (client expiry).
    #[serde(default)]
    pub client_expiry: Option<i64>,
    /// partner-lifetime: the time the partner may let the client use the lease until.
    #[serde(default)]
    pub partner_lifetime: Option<i64>,
    /// The partner-lifetime this server sent in its last BNDUPD / BNDREPLY.
    #[serde(default)]
    pub partner_lifetime_sent: Option<i64>,
    /// acked-partner-lifetime.
    #[serde(default)]
    pub acked_partner_lifetime: Option<i64>,
    /// expiration-time (the greatest lifetime ever given).
    #[serde(default)]
    pub expiration_time: Option<i64>,
    /// The valid lifetime in seconds.
    #[serde(default)]
    pub valid_lifetime: Option<u64>,
    /// update-pending: a BNDUPD of this lease is owed to the partner.
    #[serde(default)]
    pub update_pending: Option<bool>,
}

impl LeaseRecord {
    /// Which lease (checked by the loader: exactly one of `address`, `prefix`).
    pub fn lease(&self) -> LeaseRef {
        match (self.address, self.prefix) {
            (Some(a), _) => LeaseRef::Addr(a),
            (None, Some(p)) => LeaseRef::Prefix(p.0, p.1),
            (None, None) => LeaseRef::Addr(Ipv6Addr::UNSPECIFIED),
        }
    }
}

/// The event: exactly one of the fields below (with `connection = "up"`, `partner_state` says
/// what the partner announces).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// When the event happens (default 0).
    #[serde(default)]
    pub at: i64,
    /// The partner sends a BNDUPD of one lease.
    #[serde(default)]
    pub bndupd: Option<BndUpdGiven>,
    /// A DHCP client sends a request.
    #[serde(default)]
    pub client: Option<ClientGiven>,
    /// The clock reaches `at`: every timer due by then fires, in order.
    #[serde(default)]
    pub timer: Option<bool>,
    /// The connection comes up (`"up"`: §6.1 set-up, then `partner_state`) or is lost
    /// (`"lost"`).
    #[serde(default)]
    pub connection: Option<String>,
    /// The partner's STATE message (§6.3).
    #[serde(default)]
    pub partner_state: Option<PartnerStateGiven>,
    /// An operator command: `"partner-down"` or `"shutdown"`.
    #[serde(default)]
    pub command: Option<String>,
    /// A message without content from the partner: UPDREQ, UPDREQALL, UPDDONE, POOLREQ,
    /// DISCONNECT or CONTACT.
    #[serde(default)]
    pub message: Option<MsgKind>,
    /// The connection comes up and the primary sends this CONNECT (the given role must be
    /// secondary, without a partner).
    #[serde(default)]
    pub connect: Option<ConnectGiven>,
    /// The connection comes up, the primary sends CONNECT, and the secondary answers with this
    /// CONNECTREPLY (the given role must be primary, without a partner).
    #[serde(default)]
    pub connectreply: Option<ConnectGiven>,
}

/// A BNDUPD of one lease (§7.4), as the partner sends it.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BndUpdGiven {
    /// The address (one of `address` and `prefix`).
    #[serde(default)]
    pub address: Option<Ipv6Addr>,
    /// The prefix.
    #[serde(default)]
    pub prefix: Option<Prefix>,
    /// OPTION_F_BINDING_STATUS.
    #[serde(default)]
    pub status: Option<BindingStatus>,
    /// OPTION_CLIENTID (absent or `""`: no client).
    #[serde(default)]
    pub client: Option<String>,
    /// OPTION_F_START_TIME_OF_STATE (default `when.at`).
    #[serde(default)]
    pub start: Option<i64>,
    /// OPTION_F_STATE_EXPIRATION_TIME.
    #[serde(default)]
    pub expires: Option<i64>,
    /// OPTION_CLT_TIME.
    #[serde(default)]
    pub clt: Option<i64>,
    /// OPTION_F_PARTNER_LIFETIME.
    #[serde(default)]
    pub partner_lifetime: Option<i64>,
    /// OPTION_F_EXPIRATION_TIME.
    #[serde(default)]
    pub expiration_time: Option<i64>,
    /// The valid lifetime (default: `expires` − `start`).
    #[serde(default)]
    pub valid_lifetime: Option<u64>,
    /// The message's sent time (default: `when.at`), for the ±5 s checks of §7.5.1.
    #[serde(default)]
    pub sent: Option<i64>,
    /// OPTION_VSS in the CLIENT_DATA: the VPN, as hex (absent: the global VPN).
    #[serde(default)]
    pub vss: Option<String>,
}

impl BndUpdGiven {
    /// The update's lease data as a lease record.
    pub fn record(&self) -> LeaseRecord {
        LeaseRecord {
            address: self.address,
            prefix: self.prefix,
            status: self.status,
            client: self.client.clone(),
            start: self.start,
            expires: self.expires,
            clt: self.clt,
            partner_lifetime: self.partner_lifetime,
            expiration_time: self.expiration_time,
            valid_lifetime: self.valid_lifetime,
            ..LeaseRecord::default()
        }
    }
}

/// A DHCP client request.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientGiven {
    /// solicit, request, renew, rebind, release, decline.
    pub op: String,
    /// The client (as in a lease record).
    pub client: String,
    /// For solicit/request: `"address"` (IA_NA) or `"prefix"` (IA_PD).
    #[serde(default)]
    pub kind: Option<String>,
    /// For renew/rebind/release/decline: the lease.
    #[serde(default)]
    pub address: Option<Ipv6Addr>,
    /// For renew/rebind/release/decline: the lease.
    #[serde(default)]
    pub prefix: Option<Prefix>,
    /// OPTION_SERVERID names this server (renew/release/decline; default true).
    #[serde(default)]
    pub to_me: Option<bool>,
}

/// The partner's STATE message.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerStateGiven {
    /// OPTION_F_SERVER_STATE.
    pub state: ServerState,
    /// The STARTUP flag (§5.5.15).
    #[serde(default)]
    pub startup: bool,
    /// OPTION_F_START_TIME_OF_STATE (default `when.at`).
    #[serde(default)]
    pub since: Option<i64>,
    /// OPTION_F_PARTNER_DOWN_TIME (default `since` when the state is PARTNER-DOWN).
    #[serde(default)]
    pub partner_down_time: Option<i64>,
    /// The C flag: the partner has communicated with this server before (default true).
    #[serde(default)]
    pub communicated: Option<bool>,
}

/// A CONNECT or CONNECTREPLY (§6.1).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectGiven {
    /// The message's sent time (default `when.at`).
    #[serde(default)]
    pub sent: Option<i64>,
    /// OPTION_F_PROTOCOL_VERSION (default 1.0).
    #[serde(default)]
    pub version: Option<[u16; 2]>,
    /// OPTION_F_MCLT (default: the given MCLT).
    #[serde(default)]
    pub mclt: Option<u64>,
    /// OPTION_F_RELATIONSHIP_NAME.
    #[serde(default)]
    pub name: Option<String>,
    /// CONNECTREPLY only: a rejection with this status.
    #[serde(default)]
    pub reject: Option<Status>,
}

/// What must follow. Every field present is checked; absent fields are not.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Then {
    /// The state afterwards.
    #[serde(default)]
    pub state: Option<ServerState>,
    /// The BNDREPLY to the BNDUPD of `when`: `"accept"` or the rejecting status code.
    #[serde(default)]
    pub reply: Option<Verdict>,
    /// Lease records afterwards (only the fields given are compared).
    #[serde(default)]
    pub stored: Vec<LeaseRecord>,
    /// Messages sent to the partner, in this order (others may come between).
    #[serde(default)]
    pub sent: Vec<SentExpect>,
    /// Message kinds that must not be sent.
    #[serde(default)]
    pub not_sent: Vec<MsgKind>,
    /// The reply to the client of `when`.
    #[serde(default)]
    pub client: Option<ClientExpect>,
    /// Whether the endpoint dropped the connection.
    #[serde(default)]
    pub dropped: Option<bool>,
}

/// A BNDREPLY verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Accepted (no status, or Success).
    Accept,
    /// Rejected with this status.
    Reject(Status),
}

impl<'de> Deserialize<'de> for Verdict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Verdict, D::Error> {
        let s = String::deserialize(d)?;
        if s == "accept" {
            return Ok(Verdict::Accept);
        }
        Status::from_name(&s).map(Verdict::Reject).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{s:?} is neither \"accept\" nor a status code ({})",
                Status::ALL
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }
}

/// The status codes of RFC 8156 §5.6 (and Success) a scenario can expect, by RFC name: a
/// selection from the registry, whose numbers and names are written once, in failover-proto's
/// [`failover_proto::wire::StatusCode`] table ([`Status::wire`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Status {
    /// Success.
    Success,
    /// NotSupported (RFC 7653).
    NotSupported,
    /// AddressInUse.
    AddressInUse,
    /// ConfigurationConflict.
    ConfigurationConflict,
    /// MissingBindingInformation.
    MissingBindingInformation,
    /// OutdatedBindingInformation.
    OutdatedBindingInformation,
    /// ServerShuttingDown.
    ServerShuttingDown,
    /// DNSUpdateNotSupported.
    DnsUpdateNotSupported,
    /// ExcessiveTimeSkew.
    ExcessiveTimeSkew,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 9] = [
        Status::Success,
        Status::NotSupported,
        Status::AddressInUse,
        Status::ConfigurationConflict,
        Status::MissingBindingInformation,
        Status::OutdatedBindingInformation,
        Status::ServerShuttingDown,
        Status::DnsUpdateNotSupported,
        Status::ExcessiveTimeSkew,
    ];
    /// The registered code.
    pub const fn wire(self) -> WireStatus {
        match self {
            Status::Success => WireStatus::SUCCESS,
            Status::NotSupported => WireStatus::NOT_SUPPORTED,
            Status::AddressInUse => WireStatus::ADDRESS_IN_USE,
            Status::ConfigurationConflict => WireStatus::CONFIGURATION_CONFLICT,
            Status::MissingBindingInformation => WireStatus::MISSING_BINDING_INFORMATION,
            Status::OutdatedBindingInformation => WireStatus::OUTDATED_BINDING_INFORMATION,
            Status::ServerShuttingDown => WireStatus::SERVER_SHUTTING_DOWN,
            Status::DnsUpdateNotSupported => WireStatus::DNS_UPDATE_NOT_SUPPORTED,
            Status::ExcessiveTimeSkew => WireStatus::EXCESSIVE_TIME_SKEW,
        }
    }
    /// The RFC (registry) name.
    pub fn name(self) -> &'static str {
        self.wire().name().unwrap_or("unregistered status code")
    }
    /// The wire code (§5.6, §11).
    pub fn code(self) -> u16 {
        self.wire().0
    }
    /// By RFC name.
    pub fn from_name(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.name() == s)
    }
    /// By wire code.
    pub fn from_code(c: u16) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.code() == c)
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Status, D::Error> {
        let s = String::deserialize(d)?;
        Status::from_name(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown status code {s:?} (expected one of {})",
                Status::ALL
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }
}

/// A message that must be sent to the partner.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SentExpect {
    /// Its type.
    pub kind: MsgKind,
    /// STATE: the state announced.
    #[serde(default)]
    pub state: Option<ServerState>,
    /// CONNECTREPLY / DISCONNECT / BNDREPLY (top level): the status.
    #[serde(default)]
    pub status: Option<Status>,
    /// BNDUPD / BNDREPLY: the lease it carries.
    #[serde(default)]
    pub address: Option<Ipv6Addr>,
    /// BNDUPD / BNDREPLY: the lease it carries.
    #[serde(default)]
    pub prefix: Option<Prefix>,
    /// BNDUPD: the binding-status it carries.
    #[serde(default)]
    pub binding_status: Option<BindingStatus>,
}

/// The reply a client must get.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientExpect {
    /// none (no reply: unresponsive), advertise, granted, released, declined, no-binding,
    /// no-lease-available.
    pub reply: String,
    /// The lease (granted/advertise/...).
    #[serde(default)]
    pub address: Option<Ipv6Addr>,
    /// The lease.
    #[serde(default)]
    pub prefix: Option<Prefix>,
    /// The valid lifetime given, seconds.
    #[serde(default)]
    pub valid_lifetime: Option<u64>,
    /// The client's lease expires at (relative time).
    #[serde(default)]
    pub expires: Option<i64>,
}

/// The client reply kinds a scenario can name.
pub const CLIENT_REPLIES: [&str; 7] = [
    "none",
    "advertise",
    "granted",
    "released",
    "declined",
    "no-binding",
    "no-lease-available",
];

/// The client operations a scenario can name.
pub const CLIENT_OPS: [&str; 6] = [
    "solicit", "request", "renew", "rebind", "release", "decline",
];

// ---- what a target reports ------------------------------------------------------------------

/// A message the endpoint sent, in the harness's terms.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SentMsg {
    /// The type.
    pub kind: Option<MsgKind>,
    /// STATE: the state announced.
    pub state: Option<ServerState>,
    /// Top-level status (CONNECTREPLY reject, DISCONNECT, BNDREPLY).
    pub status: Option<Status>,
    /// BNDUPD/BNDREPLY: each lease with its status (BNDREPLY) and binding-status.
    pub leases: Vec<SentLease>,
}

/// One lease of a BNDUPD or BNDREPLY.
#[derive(Clone, Debug, Serialize)]
pub struct SentLease {
    /// The lease.
    pub lease: LeaseRef,
    /// BNDREPLY: the status for this lease (None: accepted).
    pub status: Option<Status>,
    /// The binding-status carried.
    pub binding_status: Option<BindingStatus>,
}

/// A stored lease record, relative times.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StoredLease {
    /// binding-status.
    pub status: Option<BindingStatus>,
    /// The client DUID, hex (empty: none).
    pub client: Vec<u8>,
    /// start-time-of-state.
    pub start: Option<i64>,
    /// state-expiration-time.
    pub expires: Option<i64>,
    /// cltt.
    pub clt: Option<i64>,
    /// The client's expiry.
    pub client_expiry: Option<i64>,
    /// partner-lifetime.
    pub partner_lifetime: Option<i64>,
    /// partner-lifetime sent.
    pub partner_lifetime_sent: Option<i64>,
    /// acked-partner-lifetime.
    pub acked_partner_lifetime: Option<i64>,
    /// expiration-time.
    pub expiration_time: Option<i64>,
    /// valid lifetime.
    pub valid_lifetime: Option<u64>,
    /// update-pending.
    pub update_pending: Option<bool>,
}

/// The client's reply, relative times.
#[derive(Clone, Debug, Serialize)]
pub struct ClientObs {
    /// One of [`CLIENT_REPLIES`] except "none".
    pub reply: String,
    /// The lease.
    pub lease: Option<LeaseRef>,
    /// The valid lifetime.
    pub valid_lifetime: Option<u64>,
    /// The expiry.
    pub expires: Option<i64>,
}

/// Everything a target reports after the event.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Observed {
    /// The state afterwards.
    pub state: Option<ServerState>,
    /// Messages sent to the partner after the given situation was reached.
    pub sent: Vec<SentMsg>,
    /// The lease records afterwards.
    pub stored: BTreeMap<LeaseRef, StoredLease>,
    /// The client replies (usually zero or one).
    pub client: Vec<ClientObs>,
    /// The endpoint dropped the connection.
    pub dropped: bool,
}

/// A system under test for scenarios.
pub trait ScenarioTarget {
    /// A name for reports.
    fn name(&self) -> String;
    /// Put an endpoint in `case.given`, apply `case.when`, report what happened. `Err`: the
    /// target could not set the case up (the case is reported as an error).
    fn run(&mut self, case: &Case) -> Result<Observed, String>;
    /// Why this target cannot set `case` up or observe its outcome (a target over the wire
    /// cannot write stable storage or see inside the server); `None`: it can. A case with a
    /// reason is reported "not wire-testable", never run, never passed.
    fn not_testable(&self, _case: &Case) -> Option<String> {
        None
    }
}

/// The DUID a scenario's client name stands for: `0x`-prefixed hex, or the name's UTF-8 bytes.
pub fn client_duid(name: &str) -> Result<Vec<u8>, String> {
    match name.strip_prefix("0x") {
        Some(hex) => {
            if hex.len() % 2 != 0 {
                return Err(format!("client {name:?}: odd number of hex digits"));
            }
            (0..hex.len())
                .step_by(2)
                .map(|i| {
                    u8::from_str_radix(&hex[i..i + 2], 16)
                        .map_err(|_| format!("client {name:?}: not hex"))
                })
                .collect()
        }
        None => Ok(name.as_bytes().to_vec()),
    }
}

// ---- loading --------------------------------------------------------------------------------

/// A file that loaded.
#[derive(Clone, Debug)]
pub struct LoadedFile {
    /// Where.
    pub path: PathBuf,
    /// What.
    pub file: ScenarioFile,
}

/// Parse and check one scenario file's text; the error names the field (`case[2].when.bndupd.
/// status`) and what is wrong with it. `path` is used in messages only.
pub fn parse(path: &Path, text: &str) -> Result<ScenarioFile, String> {
    let de = toml::Deserializer::new(text);
    let file: ScenarioFile = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.message().trim_end().to_string();
        let at = inner
            .span()
            .map(|s| {
                let line = text[..s.start].matches('\n').count() + 1;
                format!(" (line {line})")
            })
            .unwrap_or_default();
        format!("{}: field {field:?}{at}: {msg}", path.display())
    })?;
    for (i, c) in file.cases.iter().enumerate() {
        check_case(c).map_err(|(field, msg)| {
            format!(
                "{}: field \"case[{i}].{field}\" (case {:?}): {msg}",
                path.display(),
                c.id
            )
        })?;
    }
    Ok(file)
}

fn one_lease(r: &LeaseRecord) -> Result<(), String> {
    match (r.address, r.prefix) {
        (Some(_), Some(_)) => Err("give `address` or `prefix`, not both".into()),
        (None, None) => Err("missing `address` or `prefix`".into()),
        _ => Ok(()),
    }
}

/// The checks serde cannot make; `Err((field path, message))`.
fn check_case(c: &Case) -> Result<(), (String, String)> {
    let e = |f: &str, m: &str| Err((f.to_string(), m.to_string()));
    if c.id.trim().is_empty() {
        return e("id", "empty id");
    }
    match (&c.reading, &c.then_reading) {
        (Some(r), _) if !is_reading(r) => return e("reading", "a reading is named R<n>"),
        (Some(_), None) => {
            return e(
                "then_reading",
                "a case with `reading` gives the reading's outcome in `then_reading`",
            )
        }
        (None, Some(_)) => return e("reading", "`then_reading` needs `reading`"),
        _ => {}
    }
    for (i, l) in c.given.leases.iter().enumerate() {
        one_lease(l).map_err(|m| (format!("given.lease[{i}]"), m))?;
        if l.status.is_none() {
            return e(
                &format!("given.lease[{i}].status"),
                "a given lease needs a status",
            );
        }
        if let Some(n) = &l.client {
            client_duid(n).map_err(|m| (format!("given.lease[{i}].client"), m))?;
        }
    }
    if c.given.state != ServerState::Startup
        && (c.given.recorded.is_some() || c.given.last_operation.is_some())
    {
        return e(
            "given.recorded",
            "`recorded` and `last_operation` are for STARTUP only",
        );
    }
    let w = &c.when;
    let events = [
        ("bndupd", w.bndupd.is_some()),
        ("client", w.client.is_some()),
        ("timer", w.timer.is_some()),
        ("connection", w.connection.is_some()),
        (
            "partner_state",
            w.partner_state.is_some() && w.connection.is_none(),
        ),
        ("command", w.command.is_some()),
        ("message", w.message.is_some()),
        ("connect", w.connect.is_some()),
        ("connectreply", w.connectreply.is_some()),
    ];
    let n = events.iter().filter(|x| x.1).count();
    if n != 1 {
        return e(
            "when",
            &format!(
                "exactly one event is needed, found {n}: one of bndupd, client, timer, \
                 connection, partner_state, command, message, connect, connectreply"
            ),
        );
    }
    if let Some(b) = &w.bndupd {
        one_lease(&b.record()).map_err(|m| ("when.bndupd".into(), m))?;
        if b.status.is_none() {
            return e("when.bndupd.status", "a BNDUPD carries a binding-status");
        }
    }
    if let Some(cl) = &w.client {
        if !CLIENT_OPS.contains(&cl.op.as_str()) {
            return e(
                "when.client.op",
                &format!("unknown op {:?} (one of {})", cl.op, CLIENT_OPS.join(", ")),
            );
        }
        client_duid(&cl.client).map_err(|m| ("when.client.client".into(), m))?;
        let needs_kind = matches!(cl.op.as_str(), "solicit" | "request");
        if needs_kind {
            match cl.kind.as_deref() {
                Some("address" | "prefix") => {}
                _ => {
                    return e(
                        "when.client.kind",
                        "solicit/request need kind = address|prefix",
                    )
                }
            }
        } else if cl.address.is_none() == cl.prefix.is_none() {
            return e(
                "when.client",
                "renew/rebind/release/decline name one address or prefix",
            );
        }
    }
    if let Some(conn) = &w.connection {
        match conn.as_str() {
            "lost" => {}
            "up" if w.partner_state.is_some() => {}
            "up" => {
                return e(
                    "when.partner_state",
                    "connection = \"up\" needs the partner's STATE",
                )
            }
            _ => return e("when.connection", "\"up\" or \"lost\""),
        }
    }
    if let Some(cmd) = &w.command {
        if !matches!(cmd.as_str(), "partner-down" | "shutdown") {
            return e("when.command", "\"partner-down\" or \"shutdown\"");
        }
    }
    if let Some(m) = w.message {
        if !matches!(
            m,
            MsgKind::UpdReq
                | MsgKind::UpdReqAll
                | MsgKind::UpdDone
                | MsgKind::PoolReq
                | MsgKind::Disconnect
                | MsgKind::Contact
        ) {
            return e(
                "when.message",
                "UPDREQ, UPDREQALL, UPDDONE, POOLREQ, DISCONNECT or CONTACT (other messages have \
                 their own event)",
            );
        }
    }
    if w.connect.is_some() && (c.given.role != Role::Secondary || c.given.partner.is_some()) {
        return e(
            "when.connect",
            "a CONNECT is received by a secondary without a partner",
        );
    }
    if w.connectreply.is_some() && (c.given.role != Role::Primary || c.given.partner.is_some()) {
        return e(
            "when.connectreply",
            "a CONNECTREPLY is received by a primary without a partner",
        );
    }
    for (name, t) in [
        ("then", Some(&c.then)),
        ("then_reading", c.then_reading.as_ref()),
    ] {
        let Some(t) = t else { continue };
        for (i, l) in t.stored.iter().enumerate() {
            one_lease(l).map_err(|m| (format!("{name}.stored[{i}]"), m))?;
        }
        if let Some(cl) = &t.client {
            if !CLIENT_REPLIES.contains(&cl.reply.as_str()) {
                return e(
                    &format!("{name}.client.reply"),
                    &format!("one of {}", CLIENT_REPLIES.join(", ")),
                );
            }
        }
        if t.reply.is_some() && w.bndupd.is_none() {
            return e(
                &format!("{name}.reply"),
                "`reply` judges the BNDUPD of `when`",
            );
        }
    }
    Ok(())
}

fn is_reading(r: &str) -> bool {
    r.strip_prefix('R')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Every `*.toml` under `dir` (sorted); files that fail to load are reported one line each
/// (file and field), the rest are returned. Duplicate case ids are errors.
pub fn load_dir(dir: &Path) -> Result<(Vec<LoadedFile>, Vec<String>), String> {
    let rd = fs::read_dir(dir)
        .map_err(|e| format!("cannot read the scenarios folder {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!("no *.toml scenario files in {}", dir.display()));
    }
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    let mut ids: BTreeMap<String, PathBuf> = BTreeMap::new();
    for p in paths {
        let text = match fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) => {
                bad.push(format!("{}: cannot read: {e}", p.display()));
                continue;
            }
        };
        match parse(&p, &text) {
            Ok(f) => {
                let mut dup = None;
                for (i, c) in f.cases.iter().enumerate() {
                    if let Some(first) = ids.insert(c.id.clone(), p.clone()) {
                        dup = Some(format!(
                            "{}: field \"case[{i}].id\": duplicate id {:?}, already used in {}",
                            p.display(),
                            c.id,
                            first.display()
                        ));
                        break;
                    }
                }
                match dup {
                    Some(d) => bad.push(d),
                    None => ok.push(LoadedFile { path: p, file: f }),
                }
            }
            Err(e) => bad.push(e),
        }
    }
    Ok((ok, bad))
}

// ---- judging --------------------------------------------------------------------------------

/// How a case went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// The target did what the case (the RFC text) says.
    Passed,
    /// The target did what the project's reading says instead of the literal text.
    Deviates {
        /// The reading.
        reading: String,
        /// How the target differs from the literal text.
        literal_differs: Vec<String>,
    },
    /// The target did something else.
    Failed {
        /// What differs (from `then`).
        differs: Vec<String>,
        /// With a reading: what differs from `then_reading`.
        reading_differs: Vec<String>,
    },
    /// The case could not be set up on the target.
    Error {
        /// Why.
        message: String,
    },
    /// The target cannot set the case up or observe its outcome (over the wire: a view inside
    /// the server, stable storage, an hour of wall clock); neither a pass nor a failure.
    NotWireTestable {
        /// Why.
        reason: String,
    },
}

/// One case's result.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// The case id.
    pub id: String,
    /// The RFC section cited.
    pub rfc: String,
    /// The file.
    pub file: String,
    /// The outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Compare what was observed with what `then` expects; one line per difference.
pub fn compare(case: &Case, then: &Then, obs: &Observed) -> Vec<String> {
    let mut d = Vec::new();
    if let Some(s) = then.state {
        if obs.state != Some(s) {
            d.push(format!("state: expected {s}, got {}", opt(obs.state)));
        }
    }
    if let Some(v) = then.reply {
        let lease = case.when.bndupd.as_ref().map(|b| b.record().lease());
        let reply = obs.sent.iter().find(|m| m.kind == Some(MsgKind::BndReply));
        let got = reply.map(|r| {
            let per_lease = r
                .leases
                .iter()
                .find(|l| Some(l.lease) == lease)
                .and_then(|l| l.status);
            match per_lease.or(r.status) {
                None | Some(Status::Success) => Verdict::Accept,
                Some(s) => Verdict::Reject(s),
            }
        });
        if got != Some(v) {
            d.push(format!(
                "BNDREPLY: expected {}, got {}",
                verdict(Some(v)),
                match got {
                    None => "no BNDREPLY".to_string(),
                    g => verdict(g),
                }
            ));
        }
    }
    for want in &then.stored {
        let lease = want.lease();
        let Some(got) = obs.stored.get(&lease) else {
            d.push(format!("stored {lease}: no record"));
            continue;
        };
        let mut field = |name: &str, w: Option<String>, g: Option<String>| {
            if let Some(w) = w {
                if Some(&w) != g.as_ref() {
                    d.push(format!(
                        "stored {lease} {name}: expected {w}, got {}",
                        g.unwrap_or_else(|| "none".into())
                    ));
                }
            }
        };
        field(
            "status",
            want.status.map(|s| s.to_string()),
            got.status.map(|s| s.to_string()),
        );
        field(
            "client",
            want.client
                .as_ref()
                .map(|c| hex(&client_duid(c).unwrap_or_default())),
            Some(hex(&got.client)),
        );
        let t = |x: Option<i64>| x.map(|v| v.to_string());
        field("start", t(want.start), t(got.start));
        field("expires", t(want.expires), t(got.expires));
        field("clt", t(want.clt), t(got.clt));
        field("client_expiry", t(want.client_expiry), t(got.client_expiry));
        field(
            "partner_lifetime",
            t(want.partner_lifetime),
            t(got.partner_lifetime),
        );
        field(
            "partner_lifetime_sent",
            t(want.partner_lifetime_sent),
            t(got.partner_lifetime_sent),
        );
        field(
            "acked_partner_lifetime",
            t(want.acked_partner_lifetime),
            t(got.acked_partner_lifetime),
        );
        field(
            "expiration_time",
            t(want.expiration_time),
            t(got.expiration_time),
        );
        field(
            "valid_lifetime",
            want.valid_lifetime.map(|v| v.to_string()),
            got.valid_lifetime.map(|v| v.to_string()),
        );
        field(
            "update_pending",
            want.update_pending.map(|v| v.to_string()),
            got.update_pending.map(|v| v.to_string()),
        );
    }
    // `sent`: an ordered subsequence of what was sent.
    let mut from = 0;
    for want in &then.sent {
        match obs.sent[from..].iter().position(|m| sent_matches(want, m)) {
            Some(i) => from += i + 1,
            None => d.push(format!(
                "sent: expected {} (in order), got [{}]",
                describe_expect(want),
                obs.sent
                    .iter()
                    .map(describe_sent)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    for k in &then.not_sent {
        if obs.sent.iter().any(|m| m.kind == Some(*k)) {
            d.push(format!("sent: {k} must not be sent"));
        }
    }
    if let Some(want) = &then.client {
        if want.reply == "none" {
            if let Some(c) = obs.client.first() {
                d.push(format!("client: expected no reply, got {}", c.reply));
            }
        } else {
            match obs.client.first() {
                None => d.push(format!("client: expected {}, got no reply", want.reply)),
                Some(c) => {
                    if c.reply != want.reply {
                        d.push(format!("client: expected {}, got {}", want.reply, c.reply));
                    }
                    let lease = want
                        .address
                        .map(LeaseRef::Addr)
                        .or(want.prefix.map(|p| LeaseRef::Prefix(p.0, p.1)));
                    if lease.is_some() && c.lease != lease {
                        d.push(format!(
                            "client: expected lease {}, got {}",
                            opt(lease),
                            opt(c.lease)
                        ));
                    }
                    if want.valid_lifetime.is_some() && want.valid_lifetime != c.valid_lifetime {
                        d.push(format!(
                            "client: expected valid lifetime {}, got {}",
                            opt(want.valid_lifetime),
                            opt(c.valid_lifetime)
                        ));
                    }
                    if want.expires.is_some() && want.expires != c.expires {
                        d.push(format!(
                            "client: expected expiry {}, got {}",
                            opt(want.expires),
                            opt(c.expires)
                        ));
                    }
                }
            }
        }
    }
    if let Some(want) = then.dropped {
        if want != obs.dropped {
            d.push(format!(
                "connection: expected {}, got {}",
                if want { "dropped" } else { "kept" },
                if obs.dropped { "dropped" } else { "kept" }
            ));
        }
    }
    d
}

fn sent_matches(w: &SentExpect, m: &SentMsg) -> bool {
    let lease = w
        .address
        .map(LeaseRef::Addr)
        .or(w.prefix.map(|p| LeaseRef::Prefix(p.0, p.1)));
    m.kind == Some(w.kind)
        && (w.state.is_none() || w.state == m.state)
        && (w.status.is_none()
            || w.status == m.status
            || m.leases.iter().any(|l| l.status == w.status))
        && (lease.is_none() || m.leases.iter().any(|l| Some(l.lease) == lease))
        && (w.binding_status.is_none()
            || m.leases.iter().any(|l| {
                l.binding_status == w.binding_status && (lease.is_none() || Some(l.lease) == lease)
            }))
}

fn describe_expect(w: &SentExpect) -> String {
    let mut s = w.kind.to_string();
    if let Some(x) = w.state {
        let _ = write!(s, " {x}");
    }
    if let Some(x) = w.status {
        let _ = write!(s, " {}", x.name());
    }
    if let Some(a) = w.address {
        let _ = write!(s, " {a}");
    }
    if let Some(p) = w.prefix {
        let _ = write!(s, " {p}");
    }
    if let Some(b) = w.binding_status {
        let _ = write!(s, " {b}");
    }
    s
}

fn describe_sent(m: &SentMsg) -> String {
    let mut s = m.kind.map_or("?".to_string(), |k| k.to_string());
    if let Some(x) = m.state {
        let _ = write!(s, " {x}");
    }
    if let Some(x) = m.status {
        let _ = write!(s, " {}", x.name());
    }
    for l in &m.leases {
        let _ = write!(s, " {}", l.lease);
        if let Some(b) = l.binding_status {
            let _ = write!(s, " {b}");
        }
        if let Some(st) = l.status {
            let _ = write!(s, " {}", st.name());
        }
    }
    s
}

fn verdict(v: Option<Verdict>) -> String {
    match v {
        None => "none".into(),
        Some(Verdict::Accept) => "accept".into(),
        Some(Verdict::Reject(s)) => format!("reject {}", s.name()),
    }
}

fn opt<T: fmt::Display>(x: Option<T>) -> String {
    x.map_or("none".to_string(), |v| v.to_string())
}

fn hex(b: &[u8]) -> String {
    if b.is_empty() {
        return "no client".into();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Judge one case from what the target did.
pub fn judge(case: &Case, obs: &Observed) -> Outcome {
    let differs = compare(case, &case.then, obs);
    if differs.is_empty() {
        return Outcome::Passed;
    }
    match (&case.reading, &case.then_reading) {
        (Some(r), Some(tr)) => {
            let reading_differs = compare(case, tr, obs);
            if reading_differs.is_empty() {
                Outcome::Deviates {
                    reading: r.clone(),
                    literal_differs: differs,
                }
            } else {
                Outcome::Failed {
                    differs,
                    reading_differs,
                }
            }
        }
        _ => Outcome::Failed {
            differs,
            reading_differs: Vec::new(),
        },
    }
}

/// Run every case of `files` whose id starts with `only` (all if `None`) on `target`.
pub fn run(
    target: &mut dyn ScenarioTarget,
    files: &[LoadedFile],
    only: Option<&str>,
) -> Vec<CaseResult> {
    let mut out = Vec::new();
    for f in files {
        for c in &f.file.cases {
            if only.is_some_and(|o| !c.id.starts_with(o)) {
                continue;
            }
            let outcome = match target.not_testable(c) {
                Some(reason) => Outcome::NotWireTestable { reason },
                None => match target.run(c) {
                    Ok(obs) => judge(c, &obs),
                    Err(message) => Outcome::Error { message },
                },
            };
            out.push(CaseResult {
                id: c.id.clone(),
                rfc: c.rfc.clone(),
                file: f
                    .path
                    .file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
                outcome,
            });
        }
    }
    out
}

/// Counts of each outcome: (passed, deviates, failed, errors).
pub fn tally(results: &[CaseResult]) -> (usize, usize, usize, usize) {
    let mut t = (0, 0, 0, 0);
    for r in results {
        match r.outcome {
            Outcome::Passed => t.0 += 1,
            Outcome::Deviates { .. } => t.1 += 1,
            Outcome::Failed { .. } => t.2 += 1,
            Outcome::Error { .. } => t.3 += 1,
            Outcome::NotWireTestable { .. } => {}
        }
    }
    t
}

/// How many cases the target could not set up or observe (not wire-testable).
pub fn not_testable_count(results: &[CaseResult]) -> usize {
    results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::NotWireTestable { .. }))
        .count()
}

/// The text report: one line per case, details under failures and deviations, a summary.
pub fn text_report(target: &str, results: &[CaseResult]) -> String {
    let mut s = String::new();
    for r in results {
        match &r.outcome {
            Outcome::Passed => {
                let _ = writeln!(s, "passed    {}  ({})", r.id, r.rfc);
            }
            Outcome::Deviates {
                reading,
                literal_differs,
            } => {
                let _ = writeln!(s, "deviates  {}  ({}) by reading {reading}", r.id, r.rfc);
                for l in literal_differs {
                    let _ = writeln!(s, "            literal text: {l}");
                }
            }
            Outcome::Failed {
                differs,
                reading_differs,
            } => {
                let _ = writeln!(s, "FAILED    {}  ({}) [{}]", r.id, r.rfc, r.file);
                for l in differs {
                    let _ = writeln!(s, "            {l}");
                }
                for l in reading_differs {
                    let _ = writeln!(s, "            (reading) {l}");
                }
            }
            Outcome::Error { message } => {
                let _ = writeln!(s, "ERROR     {}  ({}) [{}]: {message}", r.id, r.rfc, r.file);
            }
            Outcome::NotWireTestable { reason } => {
                let _ = writeln!(s, "not wire-testable {}  ({}): {reason}", r.id, r.rfc);
            }
        }
    }
    let (p, dv, f, e) = tally(results);
    let _ = write!(
        s,
        "\n{target}: {} cases: {p} passed, {dv} deviate by a reading, {f} failed, {e} errors",
        results.len()
    );
    let n = not_testable_count(results);
    if n > 0 {
        let _ = write!(s, ", {n} not wire-testable");
    }
    s.push('\n');
    s
}

/// The JSON report.
pub fn json_report(target: &str, results: &[CaseResult]) -> serde_json::Value {
    let (p, dv, f, e) = tally(results);
    serde_json::json!({
        "target": target,
        "cases": results.len(),
        "passed": p,
        "deviates": dv,
        "failed": f,
        "errors": e,
        "not_wire_testable": not_testable_count(results),
        "results": results,
    })
}

/// The JUnit XML report: a deviation is a skipped test case with the reading as its message
/// (neither a pass nor a failure).
pub fn junit_report(target: &str, results: &[CaseResult]) -> String {
    let (_, dv, f, e) = tally(results);
    let dv = dv + not_testable_count(results);
    let x = crate::runner::xml_escape;
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuite name=\"rfc8156-scenarios ({})\" tests=\"{}\" failures=\"{f}\" errors=\"{e}\" skipped=\"{dv}\">",
        x(target),
        results.len()
    );
    for r in results {
        let _ = write!(
            s,
            "  <testcase classname=\"rfc8156.{}\" name=\"{}\"",
            x(r.file.trim_end_matches(".toml")),
            x(&r.id)
        );
        match &r.outcome {
            Outcome::Passed => s.push_str("/>\n"),
            Outcome::Deviates {
                reading,
                literal_differs,
            } => {
                let _ = writeln!(
                    s,
                    ">\n    <skipped message=\"deviates by reading {}\">{}</skipped>\n  </testcase>",
                    x(reading),
                    x(&literal_differs.join("\n"))
                );
            }
            Outcome::Failed { differs, .. } => {
                let _ = writeln!(
                    s,
                    ">\n    <failure message=\"{}\">{}</failure>\n  </testcase>",
                    x(differs.first().map_or("", |d| d.as_str())),
                    x(&differs.join("\n"))
                );
            }
            Outcome::Error { message } => {
                let _ = writeln!(
                    s,
                    ">\n    <error message=\"{}\"/>\n  </testcase>",
                    x(message)
                );
            }
            Outcome::NotWireTestable { reason } => {
                let _ = writeln!(
                    s,
                    ">\n    <skipped message=\"not wire-testable: {}\"/>\n  </testcase>",
                    x(reason)
                );
            }
        }
    }
    s.push_str("</testsuite>\n");
    s
}
