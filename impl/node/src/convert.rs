//! Conversion between `failover-core`'s semantic [`Message`] and `failover-proto`'s wire
//! [`wire::Message`] (RFC 8156 §5.2, §5.3, §6.1, §6.3, §7.4, §7.6).
//!
//! [`to_wire`] maps every message the endpoint sends; [`from_wire`] maps every message a partner
//! may send. Both directions are exact on what the core carries: for every core message `m` that
//! has a wire form, `from_wire(&to_wire(&m)?) == Ok(m)` (checked by quickcheck and by a seeded
//! sweep in `tests/node/convert.rs`). Where one side has no representation in the other, the
//! conversion returns a typed error naming the field ([`ToWireError`], [`FromWireError`]); what
//! to do about such a message is the driver's decision ([`crate::Node`]), not this module's.
//!
//! Layout choices (the RFC fixes what must appear, not every detail):
//!
//! * **Times.** The core keeps absolute times as `u64` seconds since 2000-01-01 (RFC 8156 §3);
//!   the wire carries `u32`. A time or interval above `u32::MAX` (after 2136) is
//!   [`ToWireError::TooLarge`], never silently wrapped.
//! * **OPTION_CLT_TIME is relative** to OPTION_LQ_BASE_TIME (RFC 8156 §7.4, RFC 5007 §4.1.2.3,
//!   RFC 7653 §6.3.1); the core carries it absolute (digest A5). LQ_BASE_TIME is the message's
//!   sent-time, raised to the latest CLT of the option if that is later (a CLT adopted from a
//!   partner whose clock runs ahead, §7.5.5 e.), so that CLT_TIME is never negative and the
//!   absolute CLT survives exactly.
//! * **IAs.** The core has no IAID, T1 or T2 (failover does not need them); IA_NA / IA_PD are
//!   sent with IAID 0 and T1 = T2 = 0 ("left to the client", RFC 3315 §22.4), one IA per run of
//!   consecutive leases of one kind, so the order of the leases survives. The preferred lifetime
//!   is sent equal to the valid lifetime. On receipt IA_TA counts as IA_NA.
//! * **BNDREPLY status levels (§7.6).** The top-level status of a reply with OPTION_CLIENT_DATA
//!   is the STATUS_CODE directly inside CLIENT_DATA; a reply without CLIENT_DATA (bare
//!   IAPREFIX, or a rejection of a BNDUPD that had neither) carries its top-level status as a
//!   message-level OPTION_STATUS_CODE. A status inside an IA (§7.7 level "enclosed IA") applies
//!   to each of its leases that has none of its own.
//! * **Unknown options are ignored** (RFC 3315 §15 practice). OPTION_VSS in a BNDUPD's
//!   CLIENT_DATA or IAPREFIX is carried to the endpoint (`BndUpd::vss`), which rejects the
//!   update with ConfigurationConflict as §7.5.4 requires for a VPN not in its configuration
//!   (only the global, default VPN is): the binding is rejected, never stored as a global one.
//!   The BNDREPLY echoes it (§7.6: "OPTION_VSS from the BNDUPD message, if any"), in its
//!   CLIENT_DATA or its bare IAPREFIX, and a received BNDREPLY's is carried as `BndReply::vss`.

use std::fmt;

use failover_core::{
    BndReply, BndUpd, Body, ClientId, ConnectParams, ConnectReply, Disconnect, DnsInfo, Fqdn,
    LeaseKey, LeaseKind, LeaseReply, LeaseUpdate, Message, MsgKind, ServerFlags, StateMsg,
    StatusCode, Time, FLAG_FWD_UPTODATE,
};
use failover_proto::wire::{
    self, ext, ClientFqdn, ConnectFlags, DhcpOption as O, DnsFlags, IaAddr, IaNa, IaPd, IaPrefix,
    ProtocolVersion, Status, MAX_TRANSACTION_ID,
};

/// A core message that has no wire form. Each variant names the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToWireError {
    /// The transaction-id does not fit the 24-bit field (RFC 8156 §5.2, §5.4).
    TransactionIdTooLarge {
        /// The transaction-id.
        xid: u32,
    },
    /// A time or interval does not fit the field's 32 bits.
    TooLarge {
        /// The field (`"sent-time"`, `"OPTION_F_MCLT"`, `"valid-lifetime"`, ...).
        field: &'static str,
        /// The value.
        value: u64,
    },
    /// A prefix length above 128 (RFC 3633 §10).
    PrefixLengthTooLarge {
        /// The lease.
        lease: LeaseKey,
    },
    /// An address lease in a BNDUPD/BNDREPLY without a client: an OPTION_IAADDR can only travel
    /// inside an IA_NA inside OPTION_CLIENT_DATA (RFC 8156 §7.4); only prefixes go bare.
    AddressWithoutClientData {
        /// BNDUPD or BNDREPLY.
        msg: MsgKind,
        /// The lease.
        lease: LeaseKey,
    },
    /// A DISCONNECT with a message but no status code: the text lives in OPTION_STATUS_CODE
    /// (RFC 8156 §5.3.10, RFC 3315 §22.13).
    DisconnectTextWithoutStatus,
    /// A rejecting CONNECTREPLY whose status is Success: on the wire it would read as an
    /// acceptance (§6.1.2).
    RejectWithSuccess,
}

impl fmt::Display for ToWireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToWireError::TransactionIdTooLarge { xid } => {
                write!(
                    f,
                    "transaction-id {xid:#x} does not fit 24 bits (RFC 8156 §5.4)"
                )
            }
            ToWireError::TooLarge { field, value } => {
                write!(f, "{field}: {value} does not fit the 32-bit wire field")
            }
            ToWireError::PrefixLengthTooLarge { lease } => {
                write!(f, "OPTION_IAPREFIX {lease}: prefix-length above 128")
            }
            ToWireError::AddressWithoutClientData { msg, lease } => write!(
                f,
                "{msg}: address {lease} without a client has no wire form (OPTION_IAADDR only \
                 travels in OPTION_CLIENT_DATA, RFC 8156 §7.4)"
            ),
            ToWireError::DisconnectTextWithoutStatus => f.write_str(
                "DISCONNECT: a message without a status code has no wire form (OPTION_STATUS_CODE)",
            ),
            ToWireError::RejectWithSuccess => {
                f.write_str("CONNECTREPLY: a rejection with status Success reads as an acceptance")
            }
        }
    }
}

impl std::error::Error for ToWireError {}

/// A wire message that has no core form. Each variant names the message and the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FromWireError {
    /// The msg-type is not one of RFC 8156's twelve (§5.3).
    UnknownMsgType {
        /// The msg-type octet.
        msg_type: u8,
    },
    /// An option the message must carry is missing.
    MissingOption {
        /// The message.
        msg: MsgKind,
        /// The option's RFC name.
        option: &'static str,
        /// Where it was expected (`"message"`, `"OPTION_CLIENT_DATA"`, `"OPTION_IAADDR"`, ...).
        within: &'static str,
    },
    /// OPTION_STATUS_CODE carries a code the core does not know.
    UnknownStatusCode {
        /// The message.
        msg: MsgKind,
        /// Where the option was.
        within: &'static str,
        /// The code.
        code: u16,
    },
    /// A BNDUPD/BNDREPLY that holds neither exactly one OPTION_CLIENT_DATA nor only bare
    /// OPTION_IAPREFIXes (RFC 8156 §7.5.3: "either a single OPTION_CLIENT_DATA option or a
    /// single OPTION_IAPREFIX option").
    Shape {
        /// The message.
        msg: MsgKind,
        /// How many OPTION_CLIENT_DATA it holds.
        client_data: usize,
        /// How many top-level OPTION_IAPREFIX it holds.
        bare_prefixes: usize,
    },
    /// OPTION_CLT_TIME says the client transaction happened before 2000-01-01: it is larger than
    /// OPTION_LQ_BASE_TIME.
    CltTimeBeforeEpoch {
        /// The message.
        msg: MsgKind,
        /// OPTION_CLT_TIME (relative).
        clt_time: u32,
        /// OPTION_LQ_BASE_TIME (absolute).
        lq_base_time: u32,
    },
    /// An option this implementation does not support and must not ignore.
    Unsupported {
        /// The message.
        msg: MsgKind,
        /// The option's RFC name.
        option: &'static str,
    },
}

impl fmt::Display for FromWireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FromWireError::UnknownMsgType { msg_type } => {
                write!(f, "msg-type {msg_type} is not an RFC 8156 message")
            }
            FromWireError::MissingOption {
                msg,
                option,
                within,
            } => write!(f, "{msg}: {option} missing in {within}"),
            FromWireError::UnknownStatusCode { msg, within, code } => {
                write!(
                    f,
                    "{msg}: OPTION_STATUS_CODE in {within}: unknown status {code}"
                )
            }
            FromWireError::Shape {
                msg,
                client_data,
                bare_prefixes,
            } => write!(
                f,
                "{msg}: {client_data} OPTION_CLIENT_DATA and {bare_prefixes} bare OPTION_IAPREFIX \
                 (RFC 8156 §7.5.3: a single OPTION_CLIENT_DATA or a single OPTION_IAPREFIX)"
            ),
            FromWireError::CltTimeBeforeEpoch {
                msg,
                clt_time,
                lq_base_time,
            } => write!(
                f,
                "{msg}: OPTION_CLT_TIME {clt_time} exceeds OPTION_LQ_BASE_TIME {lq_base_time}"
            ),
            FromWireError::Unsupported { msg, option } => {
                write!(f, "{msg}: {option} is not supported (RFC 8156 §7.4)")
            }
        }
    }
}

impl std::error::Error for FromWireError {}

// ---- core → wire ------------------------------------------------------------------------

/// The wire form of a core message.
pub fn to_wire(m: &Message) -> Result<wire::Message, ToWireError> {
    if m.xid > MAX_TRANSACTION_ID {
        return Err(ToWireError::TransactionIdTooLarge { xid: m.xid });
    }
    let kind = m.kind();
    let mut w = wire::Message::new(kind, m.xid, secs("sent-time", m.sent_time)?);
    w.options = match &m.body {
        Body::BndUpd(u) => bndupd_options(u, m.sent_time)?,
        Body::BndReply(r) => bndreply_options(r)?,
        Body::PoolReq
        | Body::PoolResp
        | Body::UpdReq
        | Body::UpdReqAll
        | Body::UpdDone
        | Body::Contact => Vec::new(),
        Body::Connect(p) | Body::ConnectReply(ConnectReply::Accept(p)) => connect_options(p)?,
        Body::ConnectReply(ConnectReply::Reject(code)) => {
            if !code.is_error() {
                return Err(ToWireError::RejectWithSuccess);
            }
            vec![status_option(*code, status_name(*code))]
        }
        Body::Disconnect(d) => match (d.status, d.message.is_empty()) {
            (Some(code), _) => vec![status_option(code, &d.message)],
            (None, true) => Vec::new(),
            (None, false) => return Err(ToWireError::DisconnectTextWithoutStatus),
        },
        Body::State(s) => state_options(s)?,
    };
    Ok(w)
}

/// `t` as the 32-bit wire value of `field`.
fn secs(field: &'static str, t: Time) -> Result<u32, ToWireError> {
    interval(field, t.secs())
}

fn interval(field: &'static str, value: u64) -> Result<u32, ToWireError> {
    u32::try_from(value).map_err(|_| ToWireError::TooLarge { field, value })
}

fn status_name(code: StatusCode) -> &'static str {
    wire::StatusCode(code.code()).name().unwrap_or("")
}

fn status_option(code: StatusCode, message: &str) -> O {
    O::StatusCode(Status::new(wire::StatusCode(code.code()), message))
}

/// RFC 8156 §7.4: a client binding in one OPTION_CLIENT_DATA, or one prefix in a bare
/// OPTION_IAPREFIX (several bare prefixes are sent as several options; the receiver rejects
/// that shape, §7.5.3).
fn bndupd_options(u: &BndUpd, sent: Time) -> Result<Vec<O>, ToWireError> {
    match &u.client {
        Some(client) => {
            let base = u
                .leases
                .iter()
                .filter_map(|l| l.clt_time)
                .fold(sent, Time::max);
            let mut cd = vec![
                O::ClientId(client.0.clone()),
                O::LqBaseTime(secs("OPTION_LQ_BASE_TIME", base)?),
            ];
            cd.extend(vss_option(u.vss.as_deref()));
            push_ias(&mut cd, &u.leases, |l| l.lease, |l| update_lease(l, base))?;
            Ok(vec![O::ClientData(cd)])
        }
        None => u
            .leases
            .iter()
            .map(|l| {
                if !l.lease.is_prefix() {
                    return Err(ToWireError::AddressWithoutClientData {
                        msg: MsgKind::BndUpd,
                        lease: l.lease,
                    });
                }
                let base = l.clt_time.map_or(sent, |c| c.max(sent));
                let mut opts = vec![O::LqBaseTime(secs("OPTION_LQ_BASE_TIME", base)?)];
                opts.extend(vss_option(u.vss.as_deref()));
                let mut lease = update_lease(l, base)?;
                if let O::IaPrefix(p) = &mut lease {
                    opts.append(&mut p.options);
                    p.options = opts;
                }
                Ok(lease)
            })
            .collect(),
    }
}

/// OPTION_VSS of a BNDUPD (§7.4) or its BNDREPLY (§7.6), from the endpoint's
/// type-then-identifier form.
fn vss_option(vss: Option<&[u8]>) -> Option<O> {
    let (ty, info) = vss?.split_first()?;
    Some(O::Vss(failover_proto::wire::Vss {
        vss_type: *ty,
        info: info.to_vec(),
    }))
}

/// RFC 8156 §7.6: the reply echoes the BNDUPD's shape.
fn bndreply_options(r: &BndReply) -> Result<Vec<O>, ToWireError> {
    match &r.client {
        Some(client) => {
            let mut cd = vec![O::ClientId(client.0.clone())];
            // RFC 8156 §7.6: "OPTION_VSS from the BNDUPD message, if any."
            cd.extend(vss_option(r.vss.as_deref()));
            if let Some(code) = r.status {
                cd.push(status_option(code, status_name(code)));
            }
            push_ias(&mut cd, &r.leases, |l| l.lease, reply_lease)?;
            Ok(vec![O::ClientData(cd)])
        }
        None => {
            let mut opts = Vec::new();
            if let Some(code) = r.status {
                opts.push(status_option(code, status_name(code)));
            }
            for l in &r.leases {
                if !l.lease.is_prefix() {
                    return Err(ToWireError::AddressWithoutClientData {
                        msg: MsgKind::BndReply,
                        lease: l.lease,
                    });
                }
                let mut lease = reply_lease(l)?;
                // RFC 8156 §7.6, IAprefix-options: "OPTION_VSS from the BNDUPD message, if any."
                if let (O::IaPrefix(p), Some(v)) = (&mut lease, vss_option(r.vss.as_deref())) {
                    p.options.insert(0, v);
                }
                opts.push(lease);
            }
            Ok(opts)
        }
    }
}

/// Append one IA_NA / IA_PD per run of consecutive leases of one kind.
fn push_ias<T>(
    out: &mut Vec<O>,
    leases: &[T],
    key: impl Fn(&T) -> LeaseKey,
    lease: impl Fn(&T) -> Result<O, ToWireError>,
) -> Result<(), ToWireError> {
    let mut i = 0;
    while i < leases.len() {
        let kind = key(&leases[i]).kind();
        let mut run = Vec::new();
        while i < leases.len() && key(&leases[i]).kind() == kind {
            run.push(lease(&leases[i])?);
            i += 1;
        }
        out.push(match kind {
            LeaseKind::Address => O::IaNa(IaNa {
                iaid: 0,
                t1: 0,
                t2: 0,
                options: run,
            }),
            LeaseKind::Prefix => O::IaPd(IaPd {
                iaid: 0,
                t1: 0,
                t2: 0,
                options: run,
            }),
        });
    }
    Ok(())
}

/// The IAADDR / IAPREFIX of one lease with its §7.4 options; CLT_TIME relative to `base`.
fn update_lease(l: &LeaseUpdate, base: Time) -> Result<O, ToWireError> {
    let mut opts = vec![
        O::BindingStatus(l.binding_status),
        O::StartTimeOfState(secs("OPTION_F_START_TIME_OF_STATE", l.start_time_of_state)?),
    ];
    if let Some(t) = l.state_expiration_time {
        opts.push(O::StateExpirationTime(secs(
            "OPTION_F_STATE_EXPIRATION_TIME",
            t,
        )?));
    }
    if let Some(c) = l.clt_time {
        // `base` is at least every CLT of the option (see `bndupd_options`).
        opts.push(O::CltTime(interval("OPTION_CLT_TIME", base.since(c))?));
    }
    if let Some(t) = l.partner_lifetime {
        opts.push(O::PartnerLifetime(secs("OPTION_F_PARTNER_LIFETIME", t)?));
    }
    if let Some(t) = l.partner_raw_clt_time {
        opts.push(O::PartnerRawCltTime(secs(
            "OPTION_F_PARTNER_RAW_CLT_TIME",
            t,
        )?));
    }
    if let Some(t) = l.expiration_time {
        opts.push(O::ExpirationTime(secs("OPTION_F_EXPIRATION_TIME", t)?));
    }
    if let Some(r) = l.reserved {
        // Design draft §12, the project's extension (failover_proto::wire::ext).
        opts.push(ext::reserved_option(r));
    }
    if let Some(info) = &l.dns {
        dns_options(info, &mut opts);
    }
    let valid = interval("valid-lifetime", l.valid_lifetime)?;
    lease_option(l.lease, valid, opts)
}

/// §7.4, §9.2: OPTION_CLIENT_FQDN with the name requested (RFC 4704, S bit when the forward
/// zone was updated) and OPTION_F_DNS_REMOVAL_INFO with the name placed in the DNS and the
/// OPTION_F_DNS_FLAGS status.
fn dns_options(info: &DnsInfo, opts: &mut Vec<O>) {
    if let Some(r) = &info.requested {
        let s = u8::from(info.flags & FLAG_FWD_UPTODATE != 0);
        opts.push(O::ClientFqdn(ClientFqdn {
            flags: s,
            domain_name: ext::encode_dns_name(&r.absolute()),
        }));
    }
    if info.entered.is_some() || info.flags != 0 {
        let mut inner = Vec::new();
        if let Some(e) = &info.entered {
            inner.push(O::DnsHostName(ext::encode_dns_name(&e.host)));
            inner.push(O::DnsZoneName(ext::encode_dns_name(&e.zone)));
        }
        inner.push(O::DnsFlags(DnsFlags(info.flags)));
        opts.push(O::DnsRemovalInfo(inner));
    }
}

/// The inverse of [`dns_options`]; undecodable names are ignored.
fn parse_dns(opts: &[O]) -> Option<DnsInfo> {
    let mut info = DnsInfo::default();
    let mut any = false;
    for o in opts {
        match o {
            O::ClientFqdn(f) => {
                if let Some(name) = ext::decode_dns_name(&f.domain_name) {
                    let (host, zone) = name.split_once('.').unwrap_or((name.as_str(), ""));
                    info.requested = Some(Fqdn::new(host, zone));
                    any = true;
                }
            }
            O::DnsRemovalInfo(inner) => {
                let mut host = None;
                let mut zone = None;
                for i in inner {
                    match i {
                        O::DnsHostName(h) => host = ext::decode_dns_name(h),
                        O::DnsZoneName(z) => zone = ext::decode_dns_name(z),
                        O::DnsFlags(f) => info.flags = f.0,
                        _ => {}
                    }
                }
                if let Some(h) = host {
                    info.entered = Some(Fqdn::new(h, zone.unwrap_or_default()));
                }
                any = true;
            }
            _ => {}
        }
    }
    any.then_some(info)
}

/// The IAADDR / IAPREFIX of one reply entry (§7.6).
fn reply_lease(l: &LeaseReply) -> Result<O, ToWireError> {
    let mut opts = Vec::new();
    if let Some(code) = l.status {
        opts.push(status_option(code, status_name(code)));
    }
    opts.push(O::BindingStatus(l.binding_status));
    if let Some(t) = l.state_expiration_time {
        opts.push(O::StateExpirationTime(secs(
            "OPTION_F_STATE_EXPIRATION_TIME",
            t,
        )?));
    }
    if let Some(t) = l.partner_lifetime_sent {
        opts.push(O::PartnerLifetimeSent(secs(
            "OPTION_F_PARTNER_LIFETIME_SENT",
            t,
        )?));
    }
    lease_option(l.lease, 0, opts)
}

fn lease_option(lease: LeaseKey, valid: u32, options: Vec<O>) -> Result<O, ToWireError> {
    Ok(match lease {
        LeaseKey::Addr(addr) => O::IaAddr(IaAddr {
            addr,
            preferred_lifetime: valid,
            valid_lifetime: valid,
            options,
        }),
        LeaseKey::Prefix(prefix, prefix_len) => {
            if prefix_len > 128 {
                return Err(ToWireError::PrefixLengthTooLarge { lease });
            }
            O::IaPrefix(IaPrefix {
                preferred_lifetime: valid,
                valid_lifetime: valid,
                prefix_len,
                prefix,
                options,
            })
        }
    })
}

/// RFC 8156 §6.1.1 (CONNECT) and §6.1.2 (accepting CONNECTREPLY).
fn connect_options(p: &ConnectParams) -> Result<Vec<O>, ToWireError> {
    let mut opts = vec![
        O::ProtocolVersion(ProtocolVersion {
            major: p.protocol_version.0,
            minor: p.protocol_version.1,
        }),
        O::Mclt(interval("OPTION_F_MCLT", p.mclt)?),
        O::KeepaliveTime(interval("OPTION_F_KEEPALIVE_TIME", p.keepalive_time)?),
        O::MaxUnackedBndupd(p.max_unacked_bndupd),
    ];
    if let Some(name) = &p.relationship_name {
        opts.push(O::RelationshipName(name.clone()));
    }
    opts.push(O::ConnectFlags(ConnectFlags(p.connect_flags)));
    Ok(opts)
}

/// RFC 8156 §6.3.
fn state_options(s: &StateMsg) -> Result<Vec<O>, ToWireError> {
    let mut flags = wire::ServerFlags::default();
    for (set, bit) in [
        (s.flags.ack_startup, wire::ServerFlags::ACK_STARTUP),
        (s.flags.startup, wire::ServerFlags::STARTUP),
        (s.flags.communicated, wire::ServerFlags::COMMUNICATED),
    ] {
        if set {
            flags = flags.with(bit);
        }
    }
    let mut opts = vec![
        O::ServerState(s.server_state),
        O::ServerFlags(flags),
        O::StartTimeOfState(secs("OPTION_F_START_TIME_OF_STATE", s.start_time_of_state)?),
    ];
    if let Some(t) = s.partner_down_time {
        opts.push(O::PartnerDownTime(secs("OPTION_F_PARTNER_DOWN_TIME", t)?));
    }
    Ok(opts)
}

// ---- wire → core ------------------------------------------------------------------------

/// The core form of a wire message.
pub fn from_wire(w: &wire::Message) -> Result<Message, FromWireError> {
    let kind = w.kind().map_err(|_| FromWireError::UnknownMsgType {
        msg_type: w.msg_type.0,
    })?;
    let body = match kind {
        MsgKind::BndUpd => Body::BndUpd(parse_bndupd(&w.options)?),
        MsgKind::BndReply => Body::BndReply(parse_bndreply(&w.options)?),
        MsgKind::PoolReq => Body::PoolReq,
        MsgKind::PoolResp => Body::PoolResp,
        MsgKind::UpdReq => Body::UpdReq,
        MsgKind::UpdReqAll => Body::UpdReqAll,
        MsgKind::UpdDone => Body::UpdDone,
        MsgKind::Contact => Body::Contact,
        MsgKind::Connect => Body::Connect(parse_connect(kind, &w.options)?),
        MsgKind::ConnectReply => match first_status(&w.options) {
            Some(s) if !s.code.is_success() => {
                Body::ConnectReply(ConnectReply::Reject(status_code(kind, "message", s)?))
            }
            _ => Body::ConnectReply(ConnectReply::Accept(parse_connect(kind, &w.options)?)),
        },
        MsgKind::Disconnect => Body::Disconnect(match first_status(&w.options) {
            Some(s) => Disconnect {
                status: Some(status_code(kind, "message", s)?),
                message: s.message.clone(),
            },
            None => Disconnect {
                status: None,
                message: String::new(),
            },
        }),
        MsgKind::State => Body::State(parse_state(&w.options)?),
    };
    Ok(Message {
        xid: w.transaction_id,
        sent_time: Time(u64::from(w.sent_time)),
        body,
    })
}

/// The client of a BNDUPD, if it carries an OPTION_CLIENT_DATA with an OPTION_CLIENTID: what a
/// rejection of a BNDUPD that [`from_wire`] refused can still echo (RFC 8156 §7.6).
pub fn bndupd_client(w: &wire::Message) -> Option<ClientId> {
    w.options.iter().find_map(|o| match o {
        O::ClientData(cd) => cd.iter().find_map(|o| match o {
            O::ClientId(id) => Some(ClientId(id.clone())),
            _ => None,
        }),
        _ => None,
    })
}

fn missing(msg: MsgKind, option: &'static str, within: &'static str) -> FromWireError {
    FromWireError::MissingOption {
        msg,
        option,
        within,
    }
}

fn first_status(opts: &[O]) -> Option<&Status> {
    opts.iter().find_map(|o| match o {
        O::StatusCode(s) => Some(s),
        _ => None,
    })
}

fn status_code(
    msg: MsgKind,
    within: &'static str,
    s: &Status,
) -> Result<StatusCode, FromWireError> {
    StatusCode::from_code(s.code.0).ok_or(FromWireError::UnknownStatusCode {
        msg,
        within,
        code: s.code.0,
    })
}

/// The top-level CLIENT_DATA options and bare IAPREFIXes of a BNDUPD/BNDREPLY; refuses VSS.
fn split_binding_options(
    msg: MsgKind,
    opts: &[O],
) -> Result<(Vec<&[O]>, Vec<&IaPrefix>), FromWireError> {
    let mut cds = Vec::new();
    let mut bare = Vec::new();
    for o in opts {
        match o {
            O::ClientData(cd) => cds.push(cd.as_slice()),
            O::IaPrefix(p) => bare.push(p),
            O::Vss(_) => {
                return Err(FromWireError::Unsupported {
                    msg,
                    option: "OPTION_VSS",
                })
            }
            _ => {}
        }
    }
    if cds.len() > 1 || (cds.len() == 1 && !bare.is_empty()) {
        return Err(FromWireError::Shape {
            msg,
            client_data: cds.len(),
            bare_prefixes: bare.len(),
        });
    }
    Ok((cds, bare))
}

/// The leases inside the IA_NA / IA_TA / IA_PD options of a CLIENT_DATA, in order, each with
/// the IA's status (if any).
fn ia_leases(cd: &[O]) -> Vec<(LeaseKey, u32, &[O], Option<&Status>)> {
    let mut out = Vec::new();
    for o in cd {
        let ia_opts: &[O] = match o {
            O::IaNa(ia) => &ia.options,
            O::IaTa(ia) => &ia.options,
            O::IaPd(ia) => &ia.options,
            _ => continue,
        };
        let ia_status = first_status(ia_opts);
        for l in ia_opts {
            match l {
                O::IaAddr(a) => out.push((
                    LeaseKey::Addr(a.addr),
                    a.valid_lifetime,
                    &a.options[..],
                    ia_status,
                )),
                O::IaPrefix(p) => out.push((
                    LeaseKey::Prefix(p.prefix, p.prefix_len),
                    p.valid_lifetime,
                    &p.options[..],
                    ia_status,
                )),
                _ => {}
            }
        }
    }
    out
}

fn lq_base_time(opts: &[O]) -> Option<u32> {
    opts.iter().find_map(|o| match o {
        O::LqBaseTime(t) => Some(*t),
        _ => None,
    })
}

/// RFC 8156 §7.5.3: "either a single OPTION_CLIENT_DATA option or a single OPTION_IAPREFIX
/// option". Several bare IAPREFIXes (or none) are passed on as a client-less update, which the
/// endpoint rejects with MissingBindingInformation.
fn parse_bndupd(opts: &[O]) -> Result<BndUpd, FromWireError> {
    const M: MsgKind = MsgKind::BndUpd;
    let (cds, bare) = split_binding_options(M, opts)?;
    if let Some(cd) = cds.first() {
        let vss = vss_of(cd);
        let client = cd
            .iter()
            .find_map(|o| match o {
                O::ClientId(id) => Some(ClientId(id.clone())),
                _ => None,
            })
            .ok_or(missing(M, "OPTION_CLIENTID", "OPTION_CLIENT_DATA"))?;
        let base = lq_base_time(cd);
        let leases = ia_leases(cd)
            .into_iter()
            .map(|(key, valid, lopts, _)| parse_update(key, valid, lopts, base))
            .collect::<Result<_, _>>()?;
        return Ok(BndUpd {
            client: Some(client),
            leases,
            vss,
        });
    }
    let vss = bare.iter().find_map(|p| vss_of(&p.options));
    let leases = bare
        .into_iter()
        .map(|p| {
            parse_update(
                LeaseKey::Prefix(p.prefix, p.prefix_len),
                p.valid_lifetime,
                &p.options,
                lq_base_time(&p.options),
            )
        })
        .collect::<Result<_, _>>()?;
    Ok(BndUpd {
        client: None,
        leases,
        vss,
    })
}

/// OPTION_VSS among `opts` as the endpoint sees it: the type octet, then the VPN identifier.
fn vss_of(opts: &[O]) -> Option<Vec<u8>> {
    opts.iter().find_map(|o| match o {
        O::Vss(v) => Some(
            std::iter::once(v.vss_type)
                .chain(v.info.iter().copied())
                .collect(),
        ),
        _ => None,
    })
}

/// One IAADDR / IAPREFIX of a BNDUPD (§7.4).
fn parse_update(
    lease: LeaseKey,
    valid: u32,
    opts: &[O],
    base: Option<u32>,
) -> Result<LeaseUpdate, FromWireError> {
    const M: MsgKind = MsgKind::BndUpd;
    let within = if lease.is_prefix() {
        "OPTION_IAPREFIX"
    } else {
        "OPTION_IAADDR"
    };
    let mut binding_status = None;
    let mut start = None;
    let mut u = LeaseUpdate {
        lease,
        valid_lifetime: u64::from(valid),
        binding_status: failover_core::BindingStatus::Free,
        start_time_of_state: Time::ZERO,
        state_expiration_time: None,
        clt_time: None,
        partner_lifetime: None,
        partner_raw_clt_time: None,
        expiration_time: None,
        dns: None,
        reserved: None,
    };
    let t = |v: u32| Some(Time(u64::from(v)));
    for o in opts {
        match *o {
            O::BindingStatus(s) if binding_status.is_none() => binding_status = Some(s),
            O::StartTimeOfState(v) if start.is_none() => start = t(v),
            O::StateExpirationTime(v) if u.state_expiration_time.is_none() => {
                u.state_expiration_time = t(v)
            }
            O::CltTime(rel) if u.clt_time.is_none() => {
                let base = base.ok_or(missing(M, "OPTION_LQ_BASE_TIME", "the binding"))?;
                let clt = base
                    .checked_sub(rel)
                    .ok_or(FromWireError::CltTimeBeforeEpoch {
                        msg: M,
                        clt_time: rel,
                        lq_base_time: base,
                    })?;
                u.clt_time = t(clt);
            }
            O::PartnerLifetime(v) if u.partner_lifetime.is_none() => u.partner_lifetime = t(v),
            O::PartnerRawCltTime(v) if u.partner_raw_clt_time.is_none() => {
                u.partner_raw_clt_time = t(v)
            }
            O::ExpirationTime(v) if u.expiration_time.is_none() => u.expiration_time = t(v),
            _ => {}
        }
    }
    u.dns = parse_dns(opts);
    u.reserved = opts.iter().find_map(ext::reserved_flag);
    u.binding_status = binding_status.ok_or(missing(M, "OPTION_F_BINDING_STATUS", within))?;
    u.start_time_of_state = start.ok_or(missing(M, "OPTION_F_START_TIME_OF_STATE", within))?;
    Ok(u)
}

/// RFC 8156 §7.6 / §7.7.
fn parse_bndreply(opts: &[O]) -> Result<BndReply, FromWireError> {
    const M: MsgKind = MsgKind::BndReply;
    let (cds, bare) = split_binding_options(M, opts)?;
    if let Some(cd) = cds.first() {
        let client = cd
            .iter()
            .find_map(|o| match o {
                O::ClientId(id) => Some(ClientId(id.clone())),
                _ => None,
            })
            .ok_or(missing(M, "OPTION_CLIENTID", "OPTION_CLIENT_DATA"))?;
        let status = first_status(cd)
            .map(|s| status_code(M, "OPTION_CLIENT_DATA", s))
            .transpose()?;
        let leases = ia_leases(cd)
            .into_iter()
            .map(|(key, _, lopts, ia_status)| {
                let ia_status = ia_status
                    .filter(|s| !s.code.is_success())
                    .map(|s| status_code(M, "the IA", s))
                    .transpose()?;
                let mut r = parse_reply_lease(key, lopts)?;
                r.status = r.status.or(ia_status);
                Ok(r)
            })
            .collect::<Result<_, _>>()?;
        return Ok(BndReply {
            client: Some(client),
            status,
            leases,
            // §7.6: the BNDUPD's OPTION_VSS, echoed.
            vss: vss_of(cd),
        });
    }
    let status = first_status(opts)
        .map(|s| status_code(M, "message", s))
        .transpose()?;
    let vss = bare.iter().find_map(|p| vss_of(&p.options));
    let leases = bare
        .into_iter()
        .map(|p| parse_reply_lease(LeaseKey::Prefix(p.prefix, p.prefix_len), &p.options))
        .collect::<Result<_, _>>()?;
    Ok(BndReply {
        client: None,
        status,
        leases,
        vss,
    })
}

fn parse_reply_lease(lease: LeaseKey, opts: &[O]) -> Result<LeaseReply, FromWireError> {
    const M: MsgKind = MsgKind::BndReply;
    let within = if lease.is_prefix() {
        "OPTION_IAPREFIX"
    } else {
        "OPTION_IAADDR"
    };
    let mut status = None;
    let mut binding_status = None;
    let mut state_expiration_time = None;
    let mut partner_lifetime_sent = None;
    for o in opts {
        match o {
            O::StatusCode(s) if status.is_none() => status = Some(status_code(M, within, s)?),
            O::BindingStatus(s) if binding_status.is_none() => binding_status = Some(*s),
            O::StateExpirationTime(v) if state_expiration_time.is_none() => {
                state_expiration_time = Some(Time(u64::from(*v)))
            }
            O::PartnerLifetimeSent(v) if partner_lifetime_sent.is_none() => {
                partner_lifetime_sent = Some(Time(u64::from(*v)))
            }
            _ => {}
        }
    }
    Ok(LeaseReply {
        lease,
        status,
        binding_status: binding_status.ok_or(missing(M, "OPTION_F_BINDING_STATUS", within))?,
        state_expiration_time,
        partner_lifetime_sent,
    })
}

/// RFC 8156 §6.1.1 / §6.1.2: the options a CONNECT (and an accepting CONNECTREPLY) MUST carry.
fn parse_connect(msg: MsgKind, opts: &[O]) -> Result<ConnectParams, FromWireError> {
    let mut version = None;
    let mut mclt = None;
    let mut keepalive = None;
    let mut max_unacked = None;
    let mut name = None;
    let mut flags = None;
    for o in opts {
        match o {
            O::ProtocolVersion(v) if version.is_none() => version = Some((v.major, v.minor)),
            O::Mclt(v) if mclt.is_none() => mclt = Some(u64::from(*v)),
            O::KeepaliveTime(v) if keepalive.is_none() => keepalive = Some(u64::from(*v)),
            O::MaxUnackedBndupd(v) if max_unacked.is_none() => max_unacked = Some(*v),
            O::RelationshipName(n) if name.is_none() => name = Some(n.clone()),
            O::ConnectFlags(f) if flags.is_none() => flags = Some(f.0),
            _ => {}
        }
    }
    Ok(ConnectParams {
        protocol_version: version.ok_or(missing(msg, "OPTION_F_PROTOCOL_VERSION", "message"))?,
        mclt: mclt.ok_or(missing(msg, "OPTION_F_MCLT", "message"))?,
        keepalive_time: keepalive.ok_or(missing(msg, "OPTION_F_KEEPALIVE_TIME", "message"))?,
        max_unacked_bndupd: max_unacked.ok_or(missing(
            msg,
            "OPTION_F_MAX_UNACKED_BNDUPD",
            "message",
        ))?,
        relationship_name: name,
        connect_flags: flags.ok_or(missing(msg, "OPTION_F_CONNECT_FLAGS", "message"))?,
    })
}

/// RFC 8156 §6.3 / §6.4.
fn parse_state(opts: &[O]) -> Result<StateMsg, FromWireError> {
    const M: MsgKind = MsgKind::State;
    let mut state = None;
    let mut flags = None;
    let mut start = None;
    let mut pd = None;
    for o in opts {
        match o {
            O::ServerState(s) if state.is_none() => state = Some(*s),
            O::ServerFlags(f) if flags.is_none() => flags = Some(*f),
            O::StartTimeOfState(v) if start.is_none() => start = Some(Time(u64::from(*v))),
            O::PartnerDownTime(v) if pd.is_none() => pd = Some(Time(u64::from(*v))),
            _ => {}
        }
    }
    let f = flags.ok_or(missing(M, "OPTION_F_SERVER_FLAGS", "message"))?;
    Ok(StateMsg {
        server_state: state.ok_or(missing(M, "OPTION_F_SERVER_STATE", "message"))?,
        // MBZ bits are ignored: "must be zero" binds the sender (§5.5.15).
        flags: ServerFlags {
            ack_startup: f.contains(wire::ServerFlags::ACK_STARTUP),
            startup: f.contains(wire::ServerFlags::STARTUP),
            communicated: f.contains(wire::ServerFlags::COMMUNICATED),
        },
        start_time_of_state: start.ok_or(missing(M, "OPTION_F_START_TIME_OF_STATE", "message"))?,
        partner_down_time: pd,
    })
}
