//! Semantic partner messages (RFC 8156 §5.3) and the client-facing request/reply types.
//!
//! These are values, not bytes: a later step maps them to `failover_proto::wire`. Field names
//! follow the RFC options (`OPTION_F_PARTNER_LIFETIME` → `partner_lifetime`). Every time is an
//! absolute [`Time`]; in particular `clt_time` is carried absolute here and converted to the
//! relative OPTION_CLT_TIME only at the wire boundary (digest A5).

use std::fmt;

use failover_proto::wire::StatusCode as WireStatus;
use failover_proto::{BindingStatus, MsgKind, ServerState};
use serde::{Deserialize, Serialize};

use crate::lease::{ClientId, LeaseKey, LeaseKind};
use crate::time::Time;

/// A 24-bit transaction-id (RFC 8156 §5.4).
pub type Xid = u32;

/// The status codes this endpoint sends and understands between partners (RFC 8156 §5.6, plus
/// RFC 3315 Success and RFC 7653 NotSupported): a closed selection from the registry. The
/// registry itself (each code's number and name) is written once, in failover-proto's
/// [`failover_proto::wire::StatusCode`] table; [`StatusCode::wire`] maps each value there, and
/// any other code a partner sends is outside this set (the node reports it as unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StatusCode {
    /// 0, RFC 3315: success (informational only, §7.6).
    Success,
    /// 14, RFC 7653: unsupported protocol version in CONNECT (§6.1.2).
    NotSupported,
    /// 16: conflicting clients on an ACTIVE lease; the primary wins (§7.5.4 accept(3)).
    AddressInUse,
    /// 17: the lease or VPN is not part of this endpoint's configuration (§7.5.4).
    ConfigurationConflict,
    /// 18: the BNDUPD lacks required data (§7.5.3).
    MissingBindingInformation,
    /// 19: the receiver's data is newer (§7.5.4 accept/time(1)/time(2)).
    OutdatedBindingInformation,
    /// 20: planned shutdown (§5.3.10).
    ServerShuttingDown,
    /// 21: DNS update not supported (§9).
    DnsUpdateNotSupported,
    /// 22: clocks differ by more than 5 s (§6.1.2).
    ExcessiveTimeSkew,
}

impl StatusCode {
    /// Every value, in code order.
    pub const ALL: [StatusCode; 9] = [
        StatusCode::Success,
        StatusCode::NotSupported,
        StatusCode::AddressInUse,
        StatusCode::ConfigurationConflict,
        StatusCode::MissingBindingInformation,
        StatusCode::OutdatedBindingInformation,
        StatusCode::ServerShuttingDown,
        StatusCode::DnsUpdateNotSupported,
        StatusCode::ExcessiveTimeSkew,
    ];

    /// The registered code this value is (failover-proto's table).
    pub const fn wire(self) -> WireStatus {
        match self {
            StatusCode::Success => WireStatus::SUCCESS,
            StatusCode::NotSupported => WireStatus::NOT_SUPPORTED,
            StatusCode::AddressInUse => WireStatus::ADDRESS_IN_USE,
            StatusCode::ConfigurationConflict => WireStatus::CONFIGURATION_CONFLICT,
            StatusCode::MissingBindingInformation => WireStatus::MISSING_BINDING_INFORMATION,
            StatusCode::OutdatedBindingInformation => WireStatus::OUTDATED_BINDING_INFORMATION,
            StatusCode::ServerShuttingDown => WireStatus::SERVER_SHUTTING_DOWN,
            StatusCode::DnsUpdateNotSupported => WireStatus::DNS_UPDATE_NOT_SUPPORTED,
            StatusCode::ExcessiveTimeSkew => WireStatus::EXCESSIVE_TIME_SKEW,
        }
    }

    /// The value carried in OPTION_STATUS_CODE.
    pub const fn code(self) -> u16 {
        self.wire().0
    }

    /// Decode a wire value: `None` for a code outside this endpoint's set.
    pub fn from_code(code: u16) -> Option<StatusCode> {
        StatusCode::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Does this code signal an error (anything but Success, §7.6)?
    pub const fn is_error(self) -> bool {
        !matches!(self, StatusCode::Success)
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}({})", self, self.code())
    }
}

/// A partner message: the §5.2 header (transaction-id, sent-time) and a body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// transaction-id (§5.4): set by initiators, copied by responders.
    pub xid: Xid,
    /// sent-time (§5.2, §7.1): the sender's clock at transmission.
    pub sent_time: Time,
    /// The message itself.
    pub body: Body,
}

impl Message {
    /// The RFC message type.
    pub fn kind(&self) -> MsgKind {
        self.body.kind()
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} xid={}", self.kind(), self.xid)?;
        match &self.body {
            Body::State(s) => write!(
                f,
                " {}{}",
                s.server_state,
                if s.flags.startup { " STARTUP" } else { "" }
            ),
            Body::BndUpd(u) => {
                for l in &u.leases {
                    write!(f, " {}={}", l.lease, l.binding_status)?;
                }
                Ok(())
            }
            Body::BndReply(r) => {
                if let Some(s) = r.status {
                    write!(f, " {s}")?;
                }
                for l in &r.leases {
                    write!(f, " {}", l.lease)?;
                    if let Some(s) = l.status {
                        write!(f, ":{s}")?;
                    }
                }
                Ok(())
            }
            Body::ConnectReply(ConnectReply::Reject(s)) => write!(f, " reject {s}"),
            Body::Disconnect(d) => write!(f, " {:?} {}", d.status, d.message),
            _ => Ok(()),
        }
    }
}

/// The body of a partner message, one variant per RFC 8156 §5.3 message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// §5.3.1 BNDUPD.
    BndUpd(BndUpd),
    /// §5.3.2 BNDREPLY.
    BndReply(BndReply),
    /// §5.3.3 POOLREQ (secondary → primary).
    PoolReq,
    /// §5.3.4 POOLRESP (primary → secondary).
    PoolResp,
    /// §5.3.5 UPDREQ: send me every change I have not confirmed.
    UpdReq,
    /// §5.3.6 UPDREQALL: send me your whole database.
    UpdReqAll,
    /// §5.3.7 UPDDONE: all requested BNDUPDs sent and acked.
    UpdDone,
    /// §5.3.8 CONNECT (primary → secondary).
    Connect(ConnectParams),
    /// §5.3.9 CONNECTREPLY (secondary → primary).
    ConnectReply(ConnectReply),
    /// §5.3.10 DISCONNECT.
    Disconnect(Disconnect),
    /// §5.3.11 STATE.
    State(StateMsg),
    /// §5.3.12 CONTACT (keepalive).
    Contact,
}

impl Body {
    /// The RFC message type.
    pub fn kind(&self) -> MsgKind {
        match self {
            Body::BndUpd(_) => MsgKind::BndUpd,
            Body::BndReply(_) => MsgKind::BndReply,
            Body::PoolReq => MsgKind::PoolReq,
            Body::PoolResp => MsgKind::PoolResp,
            Body::UpdReq => MsgKind::UpdReq,
            Body::UpdReqAll => MsgKind::UpdReqAll,
            Body::UpdDone => MsgKind::UpdDone,
            Body::Connect(_) => MsgKind::Connect,
            Body::ConnectReply(_) => MsgKind::ConnectReply,
            Body::Disconnect(_) => MsgKind::Disconnect,
            Body::State(_) => MsgKind::State,
            Body::Contact => MsgKind::Contact,
        }
    }
}

/// BNDUPD contents (§7.4): one OPTION_CLIENT_DATA (`client` present, one or more leases of that
/// client) or one bare OPTION_IAPREFIX (`client` absent, exactly one prefix lease).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BndUpd {
    /// OPTION_CLIENTID inside OPTION_CLIENT_DATA; `None` for a bare OPTION_IAPREFIX.
    pub client: Option<ClientId>,
    /// One entry per IAADDR/IAPREFIX.
    pub leases: Vec<LeaseUpdate>,
    /// OPTION_VSS of the CLIENT_DATA or IAPREFIX (RFC 6607 §3.4: the VSS type octet, then the
    /// VPN identifier); `None` for the global, default VPN, for which it MUST NOT appear
    /// (RFC 8156 §7.4). Type 255 ("global, default VPN", RFC 6607) is read as the global VPN.
    #[serde(default)]
    pub vss: Option<Vec<u8>>,
}

/// The per-IAADDR/IAPREFIX data of a BNDUPD (§7.4, Figure 5). Options marked `*` in §7.4 are
/// `Option`s that are `None` when the status carries no timeout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseUpdate {
    /// The address or prefix.
    pub lease: LeaseKey,
    /// Valid lifetime sent to the client, seconds (IAADDR/IAPREFIX valid-lifetime).
    pub valid_lifetime: u64,
    /// OPTION_F_BINDING_STATUS (MUST).
    pub binding_status: BindingStatus,
    /// OPTION_F_START_TIME_OF_STATE (MUST).
    pub start_time_of_state: Time,
    /// OPTION_F_STATE_EXPIRATION_TIME*.
    pub state_expiration_time: Option<Time>,
    /// OPTION_CLT_TIME: our client-last-transaction-time (absolute here, see module docs).
    pub clt_time: Option<Time>,
    /// OPTION_F_PARTNER_LIFETIME*.
    pub partner_lifetime: Option<Time>,
    /// OPTION_F_PARTNER_RAW_CLT_TIME.
    pub partner_raw_clt_time: Option<Time>,
    /// OPTION_F_EXPIRATION_TIME*.
    pub expiration_time: Option<Time>,
    /// OPTION_CLIENT_FQDN and OPTION_F_DNS_REMOVAL_INFO (§7.4, §9.2), if any.
    #[serde(default)]
    pub dns: Option<crate::dns::DnsInfo>,
    /// Reserved-lease flag (extension, design draft §12): `Some(true)` reserved, `Some(false)`
    /// "no longer reserved", `None` absent.
    #[serde(default)]
    pub reserved: Option<bool>,
}

/// BNDREPLY contents (§7.6): echoes the BNDUPD's client or bare prefix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BndReply {
    /// OPTION_CLIENTID echoed; `None` for a bare OPTION_IAPREFIX.
    pub client: Option<ClientId>,
    /// Top-level OPTION_STATUS_CODE: an error rejects the whole option (§7.6 level 1).
    pub status: Option<StatusCode>,
    /// One entry per IAADDR/IAPREFIX of the BNDUPD.
    pub leases: Vec<LeaseReply>,
    /// OPTION_VSS echoed from the BNDUPD, as [`BndUpd::vss`] (RFC 8156 §7.6: the reply holds
    /// "OPTION_VSS from the BNDUPD message, if any").
    #[serde(default)]
    pub vss: Option<Vec<u8>>,
}

/// The per-lease part of a BNDREPLY (§7.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseReply {
    /// The address or prefix.
    pub lease: LeaseKey,
    /// OPTION_STATUS_CODE on this IAADDR/IAPREFIX; an error rejects it (§7.6 level 2).
    pub status: Option<StatusCode>,
    /// OPTION_F_BINDING_STATUS received in the BNDUPD.
    pub binding_status: BindingStatus,
    /// OPTION_F_STATE_EXPIRATION_TIME received in the BNDUPD.
    pub state_expiration_time: Option<Time>,
    /// OPTION_F_PARTNER_LIFETIME_SENT: exact echo of the received OPTION_F_PARTNER_LIFETIME.
    pub partner_lifetime_sent: Option<Time>,
}

/// CONNECT contents (§6.1.1), also reused for an accepting CONNECTREPLY (§6.1.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectParams {
    /// OPTION_F_PROTOCOL_VERSION (major, minor).
    pub protocol_version: (u16, u16),
    /// OPTION_F_MCLT, seconds.
    pub mclt: u64,
    /// OPTION_F_KEEPALIVE_TIME, seconds.
    pub keepalive_time: u64,
    /// OPTION_F_MAX_UNACKED_BNDUPD.
    pub max_unacked_bndupd: u32,
    /// OPTION_F_RELATIONSHIP_NAME (CONNECT only; absent = single relationship).
    pub relationship_name: Option<String>,
    /// OPTION_F_CONNECT_FLAGS (bit 0x0001 FIXED_PD_LENGTH).
    pub connect_flags: u16,
}

/// CONNECTREPLY (§6.1.2): accept with parameters, or reject with a status code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConnectReply {
    /// Connection accepted; the secondary's parameters (MCLT MUST equal the CONNECT's).
    Accept(ConnectParams),
    /// Connection rejected (ExcessiveTimeSkew, NotSupported, ConfigurationConflict).
    Reject(StatusCode),
}

/// DISCONNECT (§5.3.10).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disconnect {
    /// OPTION_STATUS_CODE (SHOULD be present).
    pub status: Option<StatusCode>,
    /// The descriptive message (SHOULD).
    pub message: String,
}

/// OPTION_F_SERVER_FLAGS (§5.5.15).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerFlags {
    /// A: the last received OPTION_F_SERVER_FLAGS had STARTUP set.
    pub ack_startup: bool,
    /// S: the sender is in STARTUP (its `server_state` is its previously recorded state).
    pub startup: bool,
    /// C: the sender has communicated with its partner.
    pub communicated: bool,
}

/// STATE (§6.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateMsg {
    /// OPTION_F_SERVER_STATE (in STARTUP: the previously recorded state, §8.3.1).
    pub server_state: ServerState,
    /// OPTION_F_SERVER_FLAGS.
    pub flags: ServerFlags,
    /// OPTION_F_START_TIME_OF_STATE.
    pub start_time_of_state: Time,
    /// OPTION_F_PARTNER_DOWN_TIME, only in PARTNER-DOWN.
    pub partner_down_time: Option<Time>,
}

/// A client request, abstracted from DHCPv6 (RFC 3315/3633) to what failover needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRequest {
    /// The client's DUID.
    pub client: ClientId,
    /// What it asks for.
    pub op: ClientOp,
}

/// The client message types that matter to failover (RFC 8156 §3 responsiveness, §8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientOp {
    /// SOLICIT: asks for an offer (no server-id). Answered with an advertise; nothing is committed.
    Solicit(LeaseKind),
    /// REQUEST: commits a new lease of the kind (carries the server-id of the advertising server;
    /// treated as "any responsive server").
    Request(LeaseKind),
    /// RENEW of `lease`; `to_me` is true when its OPTION_SERVERID names this server.
    Renew {
        /// The lease to extend.
        lease: LeaseKey,
        /// OPTION_SERVERID is ours.
        to_me: bool,
    },
    /// REBIND of `lease` (no server-id: any server).
    Rebind(LeaseKey),
    /// RELEASE of `lease`; `to_me` as for `Renew`.
    Release {
        /// The lease released.
        lease: LeaseKey,
        /// OPTION_SERVERID is ours.
        to_me: bool,
    },
    /// DECLINE of `lease`; `to_me` as for `Renew`.
    Decline {
        /// The lease declined.
        lease: LeaseKey,
        /// OPTION_SERVERID is ours.
        to_me: bool,
    },
}

/// The answer to a [`ClientRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientReply {
    /// The client answered.
    pub client: ClientId,
    /// The answer.
    pub kind: ReplyKind,
    /// The name to return to the client (§9.5, RFC 4704 OPTION_CLIENT_FQDN), if one is known.
    #[serde(default)]
    pub fqdn: Option<crate::dns::Fqdn>,
}

/// What was answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplyKind {
    /// ADVERTISE: `lease` would be granted for `valid_lifetime` seconds.
    Advertise {
        /// The lease offered.
        lease: LeaseKey,
        /// Valid lifetime offered, seconds.
        valid_lifetime: u64,
    },
    /// REPLY granting or extending `lease` until `expires`.
    Granted {
        /// The lease.
        lease: LeaseKey,
        /// Valid lifetime given, seconds.
        valid_lifetime: u64,
        /// Absolute expiry (now + valid_lifetime).
        expires: Time,
    },
    /// REPLY to a RELEASE.
    Released(LeaseKey),
    /// REPLY to a DECLINE.
    Declined(LeaseKey),
    /// REPLY with NoBinding: the lease is not this client's.
    NoBinding(LeaseKey),
    /// ADVERTISE/REPLY with NoAddrsAvail / NoPrefixAvail.
    NoLeaseAvailable(LeaseKind),
}
