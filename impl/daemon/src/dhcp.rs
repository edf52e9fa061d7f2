//! DHCPv6 client messages (RFC 8415, via `dhcproto`) to and from failover-core's
//! `ClientRequest` / `ClientReply`.
//!
//! The driver hands every datagram received on UDP 547 to [`Inbound::parse`], asks the parsed
//! message for its [`Plan`], feeds the planned [`ClientRequest`]s to the node and turns the
//! node's answers back into bytes with [`Inbound::reply`] (or one of the `reply_*` functions).
//! The bytes go back to the datagram's source as they are: for a relayed message they are a
//! RELAY-REPL wrapping every relay level (RFC 8415 §19.3).
//!
//! The core handles one lease per `ClientRequest`, so a message asking about several leases
//! becomes several requests: one per IA_NA / IA_PD for SOLICIT and REQUEST (each IA asks for
//! one new lease), one per IAADDR / IAPREFIX for RENEW, REBIND, RELEASE and DECLINE. The
//! [`Inbound`] remembers which IA each request came from, so the answers land in the right IA.
//!
//! Decoding and encoding go through `dhcproto`. Two of its limits shape this module:
//! * `DhcpOptions::decode` stops silently at the first option it cannot decode (the rest of
//!   the message is lost without an error) and, in builds with overflow checks, panics on a
//!   Status Code shorter than 2 octets. So every option area is first framed and checked
//!   against the RFC 8415 §21 formats (`check_option`); only a message that passes reaches
//!   dhcproto's option decoders, and then option by option.
//! * dhcproto decodes the Relay Message option (§21.10) always as a relay message and cannot
//!   build a RELAY-REPL (its `RelayMessage` has no constructor). The relay layers are therefore
//!   walked here: dhcproto decodes each relay header and each option; the 34-octet RELAY-REPL
//!   header is written with dhcproto's `Encoder` field by field.
//!
//! Drops and discards. [`Dropped`] is for datagrams that cannot become an [`Inbound`] at all:
//! undecodable (`malformed`), not a message a server receives (`not-for-server`), an unknown
//! message type (`unknown-type`), too big (`oversized`), or without the Client Identifier the
//! message type requires (`invalid`, RFC 8415 §16). [`Plan::Discard`] is for a well-formed client
//! message that RFC 8415 §16 tells the server to ignore (a Server Identifier where none may be,
//! one naming another server, a unicast message that must be multicast, ...).
//!
//! Not supported: IA_TA (temporary addresses; ignored, the core has no temporary leases),
//! Reconfigure, authentication, Server Unicast (never offered, so every unicast REQUEST,
//! RENEW, RELEASE or DECLINE gets UseMulticast, §18.4), and configuration options in replies.

use std::net::Ipv6Addr;

use dhcproto::v6::{
    Decodable, Decoder, DhcpOption, DhcpOptions, Encodable, EncodeResult, Encoder, IAAddr,
    IAPrefix, Message, MessageType, OptionCode, RelayMessage, Status, StatusCode, UnknownOption,
    IANA, IAPD,
};
use failover_core::{
    ClientId, ClientOp, ClientReply, ClientRequest, LeaseKey, LeaseKind, ReplyKind,
};

/// Largest datagram accepted, octets. Real client messages, even relayed a few times, are far
/// smaller; the bound keeps every reply (which echoes the relays' Interface-Ids and may be
/// larger than the request) well inside the 16-bit option lengths of the RELAY-REPL layers.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024;

/// Most IAs, and most leases, one message may carry. The core answers one lease per request,
/// in order, so this bounds the work one datagram can cause.
pub const MAX_LEASES_PER_MESSAGE: usize = 64;

/// Most RELAY-FORW layers accepted. Relays stop forwarding at HOP_COUNT_LIMIT, 8 by default
/// (RFC 8415 §7.6); the margin allows a configured higher limit.
const MAX_RELAY_DEPTH: usize = 32;

/// Most levels of options inside options (IA_NA → IAADDR → Status Code is 3).
const MAX_OPTION_DEPTH: usize = 4;

/// A DUID is a 2-octet type and 1 to 128 octets of identifier (RFC 8415 §11.1).
const DUID_LEN: std::ops::RangeInclusive<usize> = 3..=130;

/// Octets before the options of a client/server message: msg-type, transaction-id (§8).
const CLIENT_HEADER_LEN: usize = 4;

/// Octets before the options of a relay message: msg-type, hop-count, link-address,
/// peer-address (§9).
const RELAY_HEADER_LEN: usize = 34;

/// An infinite lifetime (RFC 8415 §7.7).
const INFINITY: u32 = u32::MAX;

/// What `client()` returns for an INFORMATION-REQUEST without Client Identifier (§18.2.6 makes
/// it optional there).
static NO_CLIENT: ClientId = ClientId(Vec::new());

/// Why a received packet was dropped without an answer (counted by the driver).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dropped {
    /// A short stable name for counters and logs (`malformed`, `not-for-server`, ...).
    pub kind: &'static str,
    /// What exactly.
    pub detail: String,
}

impl Dropped {
    fn new(kind: &'static str, detail: impl Into<String>) -> Dropped {
        Dropped {
            kind,
            detail: detail.into(),
        }
    }

    /// Cannot be decoded: truncated, option lengths that do not add up (RFC 8415 §16).
    fn malformed(detail: impl Into<String>) -> Dropped {
        Dropped::new("malformed", detail)
    }

    /// Decodes, but misses what the message type requires (RFC 8415 §16).
    fn invalid(detail: impl Into<String>) -> Dropped {
        Dropped::new("invalid", detail)
    }
}

/// How the reply's lifetimes are derived from the valid lifetime the core granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    /// Preferred lifetime = valid lifetime * this / 100.
    pub preferred_percent: u8,
}

/// What the driver does with a parsed client message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Feed each request to the node in order, collect at most one `ClientReply` for each
    /// (`None` where the node answered nothing), then call [`Inbound::reply`].
    Core(Vec<ClientRequest>),
    /// CONFIRM: answer with [`Inbound::reply_confirm`] (these are its addresses).
    Confirm(Vec<Ipv6Addr>),
    /// INFORMATION-REQUEST: answer with [`Inbound::reply_information`].
    InformationRequest,
    /// A unicast message the server must answer with UseMulticast (RFC 8415 §18.4).
    UseMulticast,
    /// Discard silently (RFC 8415 §16 validation), with the reason for the log.
    Discard(String),
}

/// One RELAY-FORW layer the message came through: what the RELAY-REPL must copy (§19.3).
#[derive(Clone, Debug, PartialEq, Eq)]
struct RelayHop {
    hop_count: u8,
    link_address: Ipv6Addr,
    peer_address: Ipv6Addr,
    /// The Interface-Id option (§21.18), echoed in the RELAY-REPL.
    interface_id: Option<Vec<u8>>,
}

/// One IA_NA (addresses) or IA_PD (prefixes) of the client message (§21.4, §21.21).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Ia {
    kind: LeaseKind,
    iaid: u32,
    /// The IAADDRs of an IA_NA, the IAPREFIXes of an IA_PD, each once.
    leases: Vec<LeaseKey>,
}

/// Where core request `i` came from: the IA, and for RENEW/REBIND/RELEASE/DECLINE the lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    ia: usize,
    lease: Option<LeaseKey>,
}

/// A parsed client message (possibly inside RELAY-FORW).
#[derive(Clone, Debug)]
pub struct Inbound {
    msg_type: MessageType,
    xid: [u8; 3],
    /// OPTION_CLIENTID; `None` only for an INFORMATION-REQUEST.
    client: Option<ClientId>,
    /// OPTION_SERVERID.
    server_id: Option<Vec<u8>>,
    /// OPTION_RAPID_COMMIT (§21.14).
    rapid_commit: bool,
    /// IA_NA and IA_PD options, in message order.
    ias: Vec<Ia>,
    /// An IA_TA was present (only matters for INFORMATION-REQUEST validation, §16.12).
    has_ia_ta: bool,
    /// One per core request, in order.
    slots: Vec<Slot>,
    /// Relay layers, outermost first.
    relays: Vec<RelayHop>,
    /// Received on a unicast destination address.
    unicast: bool,
}

impl Inbound {
    /// Parse `bytes` received on UDP 547; `unicast` is true when the destination address was not
    /// a multicast address.
    pub fn parse(bytes: &[u8], unicast: bool) -> Result<Inbound, Dropped> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(Dropped::new(
                "oversized",
                format!("{} octets (at most {MAX_MESSAGE_LEN})", bytes.len()),
            ));
        }
        let mut relays = Vec::new();
        let mut msg = bytes;
        loop {
            let Some(&first) = msg.first() else {
                return Err(Dropped::malformed("empty message"));
            };
            let msg_type = MessageType::from(first);
            match msg_type {
                MessageType::RelayForw => {
                    if relays.len() == MAX_RELAY_DEPTH {
                        return Err(Dropped::malformed(format!(
                            "more than {MAX_RELAY_DEPTH} RELAY-FORW layers"
                        )));
                    }
                    let (hop, inner) = relay_forw(msg)?;
                    relays.push(hop);
                    msg = inner;
                }
                t if is_client_message(t) => return client_message(msg, relays, unicast),
                t if is_server_message(t) => {
                    return Err(Dropped::new(
                        "not-for-server",
                        format!("{} is not sent to servers (RFC 8415 §7.3)", type_name(t)),
                    ))
                }
                t => {
                    return Err(Dropped::new(
                        "unknown-type",
                        format!("message type {} ({})", u8::from(t), type_name(t)),
                    ))
                }
            }
        }
    }

    /// The client's DUID (OPTION_CLIENTID).
    pub fn client(&self) -> &ClientId {
        self.client.as_ref().unwrap_or(&NO_CLIENT)
    }

    /// The message type's RFC name (`SOLICIT`, `RENEW`, ...).
    pub fn kind_name(&self) -> &'static str {
        type_name(self.msg_type)
    }

    /// The transaction-id (§8), for logs.
    pub fn xid(&self) -> u32 {
        u32::from_be_bytes([0, self.xid[0], self.xid[1], self.xid[2]])
    }

    /// How many relay agents the message came through (0: straight from the client).
    pub fn relay_depth(&self) -> usize {
        self.relays.len()
    }

    /// What to do with it.
    pub fn plan(&self, server_duid: &[u8]) -> Plan {
        match self.msg_type {
            MessageType::Solicit => self.plan_solicit(),
            MessageType::Request => self.plan_request(server_duid),
            MessageType::Renew | MessageType::Release | MessageType::Decline => {
                self.plan_naming_server(server_duid)
            }
            MessageType::Rebind => self.plan_rebind(),
            MessageType::Confirm => self.plan_confirm(),
            MessageType::InformationRequest => self.plan_information_request(server_duid),
            // parse() admits nothing else.
            t => Plan::Discard(format!("{} is not handled", type_name(t))),
        }
    }

    /// The answer to a [`Plan::Core`] message: `answers[i]` is the node's reply to request `i`.
    /// `None` when nothing is to be sent (every answer `None`).
    ///
    /// Each answer goes into the IA its request came from; an IA whose answers are all `None`
    /// is left out. Answers beyond the planned requests are ignored, missing ones count as
    /// `None`.
    pub fn reply(
        &self,
        server_duid: &[u8],
        answers: &[Option<ClientReply>],
        lifetimes: Lifetimes,
    ) -> Option<Vec<u8>> {
        if !self.is_core_message() || answers.iter().all(Option::is_none) {
            // The core ignored every request: the server is unresponsive to this client in its
            // failover state (RFC 8156 §3), so it sends nothing at all.
            return None;
        }
        // Answers grouped by the IA their request came from.
        let mut per_ia: Vec<Vec<&ReplyKind>> = vec![Vec::new(); self.ias.len()];
        for (slot, answer) in self.slots.iter().zip(answers) {
            if let Some(answer) = answer {
                per_ia[slot.ia].push(&answer.kind);
            }
        }
        let mut msg = self.response(self.reply_type(), server_duid);
        if self.msg_type == MessageType::Solicit && self.rapid_commit {
            // RFC 8415 §18.3.1: a committed answer to a Rapid Commit SOLICIT is a REPLY that
            // carries Rapid Commit.
            msg.opts_mut().insert(DhcpOption::RapidCommit);
        }
        let ends_bindings = matches!(self.msg_type, MessageType::Release | MessageType::Decline);
        if ends_bindings {
            // RFC 8415 §18.3.7 / §18.3.8: the REPLY to RELEASE/DECLINE carries Success.
            msg.opts_mut()
                .insert(status(Status::Success, "binding ended"));
        }
        let mut ia_options = Vec::new();
        for (i, ia) in self.ias.iter().enumerate() {
            let asked = self.slots.iter().any(|s| s.ia == i);
            let option = if !asked {
                // An IA without any lease: there is no binding to renew, rebind, release or
                // decline (RFC 8415 §18.3.4, §18.3.5, §18.3.7, §18.3.8).
                Some(ia_status(ia, Status::NoBinding))
            } else if per_ia[i].is_empty() {
                // The core answered nothing for it: leave it out.
                None
            } else if ends_bindings {
                ended_ia(ia, &per_ia[i])
            } else {
                granted_ia(ia, &per_ia[i], lifetimes)
            };
            ia_options.extend(option);
        }
        insert_in_order(msg.opts_mut(), ia_options);
        Some(self.wrap(encode(&msg)))
    }

    /// The REPLY to a CONFIRM: Success when `on_link`, NotOnLink otherwise.
    pub fn reply_confirm(&self, server_duid: &[u8], on_link: bool) -> Vec<u8> {
        // RFC 8415 §18.3.3.
        let mut msg = self.response(MessageType::Reply, server_duid);
        msg.opts_mut().insert(if on_link {
            status(Status::Success, "all addresses are on link")
        } else {
            status(Status::NotOnLink, "addresses not on link")
        });
        self.wrap(encode(&msg))
    }

    /// The REPLY to an INFORMATION-REQUEST.
    pub fn reply_information(&self, server_duid: &[u8]) -> Vec<u8> {
        // RFC 8415 §18.3.6: Server Identifier, the Client Identifier if the client sent one,
        // and the configuration options (this server has none to give).
        let msg = self.response(MessageType::Reply, server_duid);
        self.wrap(encode(&msg))
    }

    /// A REPLY with status UseMulticast.
    pub fn reply_use_multicast(&self, server_duid: &[u8]) -> Vec<u8> {
        // RFC 8415 §18.4: Status Code UseMulticast, Server and Client Identifier, no other
        // options.
        let mut msg = self.response(MessageType::Reply, server_duid);
        msg.opts_mut().insert(status(
            Status::UseMulticast,
            "send to All_DHCP_Relay_Agents_and_Servers",
        ));
        self.wrap(encode(&msg))
    }

    /// SOLICIT (RFC 8415 §16.2, §18.3.1): one request per IA; with Rapid Commit the requests
    /// commit (REQUEST semantics), without they only ask for an offer.
    fn plan_solicit(&self) -> Plan {
        if self.server_id.is_some() {
            return Plan::Discard("SOLICIT with a Server Identifier (RFC 8415 §16.2)".into());
        }
        if self.direct_unicast() {
            return Plan::Discard("SOLICIT sent to a unicast address (RFC 8415 §16)".into());
        }
        if self.ias.is_empty() {
            return Plan::Discard("SOLICIT without IA_NA or IA_PD: nothing to offer".into());
        }
        Plan::Core(self.requests(|ia, _| {
            if self.rapid_commit {
                ClientOp::Request(ia.kind)
            } else {
                ClientOp::Solicit(ia.kind)
            }
        }))
    }

    /// REQUEST (RFC 8415 §16.4, §18.3.2): it must name this server; one request per IA.
    fn plan_request(&self, server_duid: &[u8]) -> Plan {
        match &self.server_id {
            None => {
                return Plan::Discard("REQUEST without Server Identifier (RFC 8415 §16.4)".into())
            }
            Some(id) if id.as_slice() != server_duid => {
                return Plan::Discard("REQUEST for another server (RFC 8415 §16.4)".into())
            }
            Some(_) => {}
        }
        if self.direct_unicast() {
            return Plan::UseMulticast;
        }
        if self.ias.is_empty() {
            return Plan::Discard("REQUEST without IA_NA or IA_PD: nothing to assign".into());
        }
        Plan::Core(self.requests(|ia, _| ClientOp::Request(ia.kind)))
    }

    /// RENEW, RELEASE, DECLINE (RFC 8415 §16.6, §16.8, §16.9): a Server Identifier is
    /// required; one request per lease, telling the core whether it names this server (the
    /// core itself ignores messages for the partner, RFC 8156 §3).
    fn plan_naming_server(&self, server_duid: &[u8]) -> Plan {
        let name = self.kind_name();
        let Some(id) = &self.server_id else {
            return Plan::Discard(format!("{name} without Server Identifier (RFC 8415 §16)"));
        };
        let to_me = id.as_slice() == server_duid;
        if self.direct_unicast() {
            // We never send Server Unicast, so a client unicasting to us must multicast
            // instead (§18.4); a unicast message naming another server is not ours to answer.
            return if to_me {
                Plan::UseMulticast
            } else {
                Plan::Discard(format!("unicast {name} naming another server"))
            };
        }
        if self.slots.is_empty() {
            return Plan::Discard(format!("{name} without any IAADDR or IAPREFIX"));
        }
        Plan::Core(self.requests(|_, lease| {
            let lease = lease.expect("RENEW/RELEASE/DECLINE slots carry their lease");
            match self.msg_type {
                MessageType::Renew => ClientOp::Renew { lease, to_me },
                MessageType::Release => ClientOp::Release { lease, to_me },
                _ => ClientOp::Decline { lease, to_me },
            }
        }))
    }

    /// REBIND (RFC 8415 §16.7, §18.3.5): no Server Identifier, any server may answer; one
    /// request per lease.
    fn plan_rebind(&self) -> Plan {
        if self.server_id.is_some() {
            return Plan::Discard("REBIND with a Server Identifier (RFC 8415 §16.7)".into());
        }
        if self.direct_unicast() {
            return Plan::Discard("REBIND sent to a unicast address (RFC 8415 §16)".into());
        }
        if self.slots.is_empty() {
            return Plan::Discard("REBIND without any IAADDR or IAPREFIX".into());
        }
        Plan::Core(
            self.requests(|_, lease| {
                ClientOp::Rebind(lease.expect("REBIND slots carry their lease"))
            }),
        )
    }

    /// CONFIRM (RFC 8415 §16.5, §18.3.3): the addresses of every IA_NA, answered from the
    /// link configuration, not from bindings.
    fn plan_confirm(&self) -> Plan {
        if self.server_id.is_some() {
            return Plan::Discard("CONFIRM with a Server Identifier (RFC 8415 §16.5)".into());
        }
        if self.direct_unicast() {
            return Plan::Discard("CONFIRM sent to a unicast address (RFC 8415 §16)".into());
        }
        let addresses: Vec<Ipv6Addr> = self
            .ias
            .iter()
            .flat_map(|ia| &ia.leases)
            .filter_map(|lease| match lease {
                LeaseKey::Addr(a) => Some(*a),
                LeaseKey::Prefix(..) => None,
            })
            .collect();
        if addresses.is_empty() {
            // §18.3.3: "If the Confirm message received by the server does not contain any
            // addresses, the server MUST NOT send a Reply".
            return Plan::Discard("CONFIRM without addresses (RFC 8415 §18.3.3)".into());
        }
        Plan::Confirm(addresses)
    }

    /// INFORMATION-REQUEST (RFC 8415 §16.12): no IA, and a Server Identifier, if any, ours.
    fn plan_information_request(&self, server_duid: &[u8]) -> Plan {
        if matches!(&self.server_id, Some(id) if id.as_slice() != server_duid) {
            return Plan::Discard(
                "INFORMATION-REQUEST for another server (RFC 8415 §16.12)".into(),
            );
        }
        if !self.ias.is_empty() || self.has_ia_ta {
            return Plan::Discard("INFORMATION-REQUEST with an IA option (RFC 8415 §16.12)".into());
        }
        if self.direct_unicast() {
            return Plan::Discard(
                "INFORMATION-REQUEST sent to a unicast address (RFC 8415 §16)".into(),
            );
        }
        Plan::InformationRequest
    }

    /// The core requests, one per slot, in slot order.
    fn requests(&self, op: impl Fn(&Ia, Option<LeaseKey>) -> ClientOp) -> Vec<ClientRequest> {
        self.slots
            .iter()
            .map(|slot| ClientRequest {
                client: self.client().clone(),
                op: op(&self.ias[slot.ia], slot.lease),
            })
            .collect()
    }

    /// Sent by the client itself to one of our unicast addresses. RFC 8415 §16: SOLICIT,
    /// CONFIRM, REBIND and INFORMATION-REQUEST so received are discarded; the others get
    /// UseMulticast (§18.4). A relay agent forwarding by unicast is normal (§19).
    fn direct_unicast(&self) -> bool {
        self.unicast && self.relays.is_empty()
    }

    /// Is this a message whose plan is [`Plan::Core`]?
    fn is_core_message(&self) -> bool {
        matches!(
            self.msg_type,
            MessageType::Solicit
                | MessageType::Request
                | MessageType::Renew
                | MessageType::Rebind
                | MessageType::Release
                | MessageType::Decline
        )
    }

    /// ADVERTISE answers a SOLICIT (§18.3.1) unless it asked for Rapid Commit; every other
    /// answer is a REPLY.
    fn reply_type(&self) -> MessageType {
        if self.msg_type == MessageType::Solicit && !self.rapid_commit {
            MessageType::Advertise
        } else {
            MessageType::Reply
        }
    }

    /// A server message with the client's transaction-id, our Server Identifier and the
    /// Client Identifier echoed (§18.3: every server message carries both identifiers; §16.1
    /// transaction-id).
    fn response(&self, msg_type: MessageType, server_duid: &[u8]) -> Message {
        let mut msg = Message::new_with_id(msg_type, self.xid);
        msg.opts_mut()
            .insert(DhcpOption::ServerId(server_duid.to_vec()));
        if let Some(client) = &self.client {
            msg.opts_mut()
                .insert(DhcpOption::ClientId(client.0.clone()));
        }
        msg
    }

    /// Wrap a server message in one RELAY-REPL per relay layer the request came through
    /// (RFC 8415 §19.3), innermost first, so the outermost layer goes back to the relay that
    /// sent us the RELAY-FORW.
    fn wrap(&self, message: Vec<u8>) -> Vec<u8> {
        self.relays.iter().rev().fold(message, relay_repl)
    }
}

/// Is this a message type a client sends to servers (RFC 8415 §7.3)?
fn is_client_message(t: MessageType) -> bool {
    matches!(
        t,
        MessageType::Solicit
            | MessageType::Request
            | MessageType::Confirm
            | MessageType::Renew
            | MessageType::Rebind
            | MessageType::Release
            | MessageType::Decline
            | MessageType::InformationRequest
    )
}

/// Is this an RFC 8415 message type that only servers send (§7.3)?
fn is_server_message(t: MessageType) -> bool {
    matches!(
        t,
        MessageType::Advertise
            | MessageType::Reply
            | MessageType::Reconfigure
            | MessageType::RelayRepl
    )
}

/// The RFC name of a message type.
fn type_name(t: MessageType) -> &'static str {
    match t {
        MessageType::Solicit => "SOLICIT",
        MessageType::Advertise => "ADVERTISE",
        MessageType::Request => "REQUEST",
        MessageType::Confirm => "CONFIRM",
        MessageType::Renew => "RENEW",
        MessageType::Rebind => "REBIND",
        MessageType::Reply => "REPLY",
        MessageType::Release => "RELEASE",
        MessageType::Decline => "DECLINE",
        MessageType::Reconfigure => "RECONFIGURE",
        MessageType::InformationRequest => "INFORMATION-REQUEST",
        MessageType::RelayForw => "RELAY-FORW",
        MessageType::RelayRepl => "RELAY-REPL",
        MessageType::LeaseQuery => "LEASEQUERY",
        MessageType::LeaseQueryReply => "LEASEQUERY-REPLY",
        MessageType::LeaseQueryDone => "LEASEQUERY-DONE",
        MessageType::LeaseQueryData => "LEASEQUERY-DATA",
        MessageType::ReconfigureRequest => "RECONFIGURE-REQUEST",
        MessageType::ReconfigureReply => "RECONFIGURE-REPLY",
        MessageType::DHCPv4Query => "DHCPV4-QUERY",
        MessageType::DHCPv4Response => "DHCPV4-RESPONSE",
        MessageType::Unknown(_) => "unknown",
    }
}

/// One RELAY-FORW layer (RFC 8415 §9): what the RELAY-REPL needs, and the message inside
/// its Relay Message option (§21.10), a client message or another RELAY-FORW.
fn relay_forw(bytes: &[u8]) -> Result<(RelayHop, &[u8]), Dropped> {
    let Some(header) = bytes.get(..RELAY_HEADER_LEN) else {
        return Err(Dropped::malformed("RELAY-FORW shorter than its header"));
    };
    // dhcproto decodes the fixed fields; the options are framed and decoded below.
    let relay = RelayMessage::decode(&mut Decoder::new(header))
        .map_err(|e| Dropped::malformed(format!("RELAY-FORW header: {e}")))?;
    let mut inner = None;
    let mut interface_id = None;
    for option in frame(&bytes[RELAY_HEADER_LEN..])? {
        match OptionCode::from(option.code) {
            OptionCode::RelayMsg => {
                if inner.replace(option.data).is_some() {
                    return Err(Dropped::malformed(
                        "RELAY-FORW with two Relay Message options",
                    ));
                }
            }
            OptionCode::InterfaceId => {
                let DhcpOption::InterfaceId(id) = decode_option(&option)? else {
                    return Err(Dropped::malformed("Interface-Id not decoded as such"));
                };
                if interface_id.replace(id).is_some() {
                    return Err(Dropped::malformed(
                        "RELAY-FORW with two Interface-Id options",
                    ));
                }
            }
            _ => {
                check_option(&option, 0, false)?;
            }
        }
    }
    let Some(inner) = inner else {
        return Err(Dropped::malformed(
            "RELAY-FORW without Relay Message option (RFC 8415 §9)",
        ));
    };
    let hop = RelayHop {
        hop_count: relay.hop_count(),
        link_address: relay.link_addr(),
        peer_address: relay.peer_addr(),
        interface_id,
    };
    Ok((hop, inner))
}

/// The client message itself (RFC 8415 §8): its identifiers, Rapid Commit, IAs and leases.
fn client_message(bytes: &[u8], relays: Vec<RelayHop>, unicast: bool) -> Result<Inbound, Dropped> {
    let Some(header) = bytes.get(..CLIENT_HEADER_LEN) else {
        return Err(Dropped::malformed("message shorter than its header"));
    };
    // dhcproto decodes msg-type and transaction-id; the options are checked first (see the
    // module documentation) and then decoded one by one.
    let head = Message::decode(&mut Decoder::new(header))
        .map_err(|e| Dropped::malformed(format!("header: {e}")))?;
    let msg_type = head.msg_type();
    let name = type_name(msg_type);
    let options = frame(&bytes[CLIENT_HEADER_LEN..])?;
    let mut client = None;
    let mut server_id = None;
    let mut rapid_commit = false;
    let mut ias: Vec<Ia> = Vec::new();
    let mut has_ia_ta = false;
    for option in &options {
        let count = check_option(option, 0, false)?;
        match OptionCode::from(option.code) {
            OptionCode::ClientId => {
                let DhcpOption::ClientId(duid) = decode_option(option)? else {
                    return Err(Dropped::malformed("Client Identifier not decoded as such"));
                };
                if client.replace(ClientId(duid)).is_some() {
                    return Err(Dropped::malformed(format!(
                        "{name} with two Client Identifiers"
                    )));
                }
            }
            OptionCode::ServerId => {
                let DhcpOption::ServerId(duid) = decode_option(option)? else {
                    return Err(Dropped::malformed("Server Identifier not decoded as such"));
                };
                if server_id.replace(duid).is_some() {
                    return Err(Dropped::malformed(format!(
                        "{name} with two Server Identifiers"
                    )));
                }
            }
            OptionCode::RapidCommit => rapid_commit = true,
            OptionCode::IANA | OptionCode::IAPD => {
                let decoded = decode_option(option)?;
                if options_in(&decoded) != count {
                    return Err(Dropped::malformed(format!(
                        "an option inside IA {} could not be decoded",
                        option.code
                    )));
                }
                let ia = ia_of(&decoded)?;
                if ias.len() == MAX_LEASES_PER_MESSAGE {
                    return Err(too_many(name, "IAs"));
                }
                if ias.iter().any(|o| o.kind == ia.kind && o.iaid == ia.iaid) {
                    // §21.4/§21.21: an IAID names one IA of its type.
                    return Err(Dropped::invalid(format!(
                        "{name} with IAID {} twice",
                        ia.iaid
                    )));
                }
                ias.push(ia);
            }
            OptionCode::IATA => has_ia_ta = true,
            _ => {}
        }
    }
    if client.is_none() && msg_type != MessageType::InformationRequest {
        // §16.2–§16.9: every client message but INFORMATION-REQUEST must carry it.
        return Err(Dropped::invalid(format!(
            "{name} without Client Identifier (RFC 8415 §16)"
        )));
    }
    if ias.iter().map(|ia| ia.leases.len()).sum::<usize>() > MAX_LEASES_PER_MESSAGE {
        return Err(too_many(name, "leases"));
    }
    let slots = slots_of(msg_type, &ias);
    Ok(Inbound {
        msg_type,
        xid: head.xid(),
        client,
        server_id,
        rapid_commit,
        ias,
        has_ia_ta,
        slots,
        relays,
        unicast,
    })
}

/// More IAs or leases than [`MAX_LEASES_PER_MESSAGE`].
fn too_many(name: &str, what: &str) -> Dropped {
    Dropped::new(
        "oversized",
        format!("{name} with more than {MAX_LEASES_PER_MESSAGE} {what}"),
    )
}

/// An IA_NA or IA_PD as decoded by dhcproto: its IAID and its leases (IAADDRs of an IA_NA,
/// IAPREFIXes of an IA_PD; anything else inside is ignored, RFC 8415 §16).
fn ia_of(option: &DhcpOption) -> Result<Ia, Dropped> {
    let (kind, iaid, inner) = match option {
        DhcpOption::IANA(IANA { id, opts, .. }) => (LeaseKind::Address, *id, opts),
        DhcpOption::IAPD(IAPD { id, opts, .. }) => (LeaseKind::Prefix, *id, opts),
        _ => return Err(Dropped::malformed("IA not decoded as such")),
    };
    let mut leases = Vec::new();
    for o in inner.iter() {
        let lease = match (kind, o) {
            (LeaseKind::Address, DhcpOption::IAAddr(a)) => LeaseKey::Addr(a.addr),
            (LeaseKind::Prefix, DhcpOption::IAPrefix(p)) => {
                if p.prefix_len > 128 {
                    return Err(Dropped::invalid(format!(
                        "IAPREFIX {}/{}: prefix length over 128",
                        p.prefix_ip, p.prefix_len
                    )));
                }
                LeaseKey::Prefix(p.prefix_ip, p.prefix_len)
            }
            _ => continue,
        };
        if !leases.contains(&lease) {
            leases.push(lease);
        }
    }
    Ok(Ia { kind, iaid, leases })
}

/// The core requests a message type makes of its IAs: one per IA for SOLICIT and REQUEST
/// (each IA asks for one new lease; the IAADDR/IAPREFIX hints are not used, the core allocates
/// from its pool), one per lease for RENEW, REBIND, RELEASE and DECLINE, none otherwise.
fn slots_of(msg_type: MessageType, ias: &[Ia]) -> Vec<Slot> {
    match msg_type {
        MessageType::Solicit | MessageType::Request => {
            (0..ias.len()).map(|ia| Slot { ia, lease: None }).collect()
        }
        MessageType::Renew | MessageType::Rebind | MessageType::Release | MessageType::Decline => {
            ias.iter()
                .enumerate()
                .flat_map(|(i, ia)| {
                    ia.leases.iter().map(move |&lease| Slot {
                        ia: i,
                        lease: Some(lease),
                    })
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// One option as framed on the wire (RFC 8415 §21.1).
struct RawOption<'a> {
    code: u16,
    /// option-data.
    data: &'a [u8],
    /// The whole option: code, length and data (what dhcproto's option decoder reads).
    whole: &'a [u8],
}

/// Split an options area into its options, checking that each option's length fits (§21.1).
/// Framing is read with dhcproto's `Decoder`; the point is to fail where dhcproto's
/// `DhcpOptions::decode` would silently stop.
fn frame(area: &[u8]) -> Result<Vec<RawOption<'_>>, Dropped> {
    let mut options = Vec::new();
    let mut d = Decoder::new(area);
    while !d.buffer().is_empty() {
        let start = area.len() - d.buffer().len();
        let header = d.read_u16().and_then(|code| Ok((code, d.read_u16()?)));
        let Ok((code, len)) = header else {
            return Err(Dropped::malformed(format!(
                "option header cut short at octet {start} of an options area"
            )));
        };
        let Ok(data) = d.read_slice(usize::from(len)) else {
            return Err(Dropped::malformed(format!(
                "option {code} claims {len} octets, only {} left",
                d.buffer().len()
            )));
        };
        let end = area.len() - d.buffer().len();
        options.push(RawOption {
            code,
            data,
            whole: &area[start..end],
        });
    }
    Ok(options)
}

/// Check one option against its RFC 8415 §21 format, and the options it encapsulates.
/// Returns how many options it is, itself included, counting those inside.
///
/// `nested`: the option sits inside an option dhcproto decodes whole (IA_NA, IA_PD, ...), so
/// dhcproto will decode it as a DHCPv6 option too; then even a Vendor-specific Information
/// option's sub-options must be well-formed DHCPv6 options. At the top level vendor sub-options
/// stay opaque (§21.17: their format is the vendor's) and are never handed to dhcproto.
fn check_option(option: &RawOption<'_>, depth: usize, nested: bool) -> Result<usize, Dropped> {
    let len = option.data.len();
    let code = OptionCode::from(option.code);
    let fits = match code {
        OptionCode::ClientId | OptionCode::ServerId => DUID_LEN.contains(&len), // §11.1
        OptionCode::IANA | OptionCode::IAPD => len >= 12,                       // §21.4, §21.21
        OptionCode::IATA => len >= 4,                                           // §21.5
        OptionCode::IAAddr => len >= 24,                                        // §21.6
        OptionCode::IAPrefix => len >= 25,                                      // §21.22
        OptionCode::ORO => len.is_multiple_of(2),                               // §21.7
        OptionCode::Preference | OptionCode::ReconfMsg => len == 1,             // §21.8, §21.19
        OptionCode::ElapsedTime => len == 2,                                    // §21.9
        OptionCode::Authentication => len >= 11,                                // §21.11
        OptionCode::ServerUnicast => len == 16,                                 // §21.12
        OptionCode::StatusCode => {
            // §21.13: a 2-octet code and a UTF-8 message.
            len >= 2 && std::str::from_utf8(&option.data[2..]).is_ok()
        }
        OptionCode::RapidCommit | OptionCode::ReconfAccept => len == 0, // §21.14, §21.20
        OptionCode::VendorClass | OptionCode::VendorOpts => len >= 4,   // §21.16, §21.17
        OptionCode::DomainNameServers => len.is_multiple_of(16),        // RFC 3646 §3
        // §21.10: only relay messages carry another message.
        OptionCode::RelayMsg => false,
        _ => true,
    };
    if !fits {
        return Err(Dropped::malformed(format!(
            "option {} ({code:?}) with {len} octets does not fit its format (RFC 8415 §21)",
            option.code
        )));
    }
    let inside = match code {
        OptionCode::IANA | OptionCode::IAPD => Some(&option.data[12..]),
        OptionCode::IATA => Some(&option.data[4..]),
        OptionCode::VendorOpts if nested => Some(&option.data[4..]),
        OptionCode::IAAddr => Some(&option.data[24..]),
        OptionCode::IAPrefix => Some(&option.data[25..]),
        _ => None,
    };
    match inside {
        None => Ok(1),
        Some(_) if depth == MAX_OPTION_DEPTH => Err(Dropped::malformed(format!(
            "options nested more than {MAX_OPTION_DEPTH} deep"
        ))),
        Some(area) => Ok(1 + check_area(area, depth + 1)?),
    }
}

/// Check every option of an encapsulated options area (always `nested`, see [`check_option`]).
fn check_area(area: &[u8], depth: usize) -> Result<usize, Dropped> {
    frame(area)?
        .iter()
        .map(|o| check_option(o, depth, true))
        .sum()
}

/// How many options dhcproto decoded: this one and those inside it. Compared with what
/// [`check_option`] counted, it catches an inner option dhcproto dropped without an error.
fn options_in(option: &DhcpOption) -> usize {
    let inner = match option {
        DhcpOption::IANA(IANA { opts, .. }) | DhcpOption::IAPD(IAPD { opts, .. }) => Some(opts),
        DhcpOption::IATA(ia) => Some(&ia.opts),
        DhcpOption::IAAddr(a) => Some(&a.opts),
        DhcpOption::IAPrefix(p) => Some(&p.opts),
        DhcpOption::VendorOpts(v) => Some(&v.opts),
        _ => None,
    };
    1 + inner.map_or(0, |opts| opts.iter().map(options_in).sum())
}

/// Decode one checked option with dhcproto, which must read all of it.
fn decode_option(option: &RawOption<'_>) -> Result<DhcpOption, Dropped> {
    let mut d = Decoder::new(option.whole);
    let decoded = DhcpOption::decode(&mut d)
        .map_err(|e| Dropped::malformed(format!("option {}: {e}", option.code)))?;
    if !d.buffer().is_empty() {
        return Err(Dropped::malformed(format!(
            "option {}: {} octets left undecoded",
            option.code,
            d.buffer().len()
        )));
    }
    Ok(decoded)
}

/// A Status Code option (§21.13).
fn status(status: Status, message: &str) -> DhcpOption {
    DhcpOption::StatusCode(StatusCode {
        status,
        msg: message.to_string(),
    })
}

/// An IA with no leases and a status inside it (T1 = T2 = 0: the client decides, §21.4).
fn ia_status(ia: &Ia, code: Status) -> DhcpOption {
    let message = match code {
        Status::NoAddrsAvail => "no addresses available",
        Status::NoPrefixAvail => "no prefixes available",
        Status::NoBinding => "no binding for this IA",
        _ => "",
    };
    ia_option(ia, 0, 0, vec![status(code, message)])
}

/// The IA_NA or IA_PD option for `ia` with these times and options inside.
fn ia_option(ia: &Ia, t1: u32, t2: u32, inside: Vec<DhcpOption>) -> DhcpOption {
    let mut opts = DhcpOptions::new();
    insert_in_order(&mut opts, inside);
    match ia.kind {
        LeaseKind::Address => DhcpOption::IANA(IANA {
            id: ia.iaid,
            t1,
            t2,
            opts,
        }),
        LeaseKind::Prefix => DhcpOption::IAPD(IAPD {
            id: ia.iaid,
            t1,
            t2,
            opts,
        }),
    }
}

/// The IAADDR or IAPREFIX option for a lease with these lifetimes (§21.6, §21.22).
fn lease_option(lease: LeaseKey, preferred: u32, valid: u32) -> DhcpOption {
    match lease {
        LeaseKey::Addr(addr) => DhcpOption::IAAddr(IAAddr {
            addr,
            preferred_life: preferred,
            valid_life: valid,
            opts: DhcpOptions::new(),
        }),
        LeaseKey::Prefix(prefix_ip, prefix_len) => DhcpOption::IAPrefix(IAPrefix {
            preferred_lifetime: preferred,
            valid_lifetime: valid,
            prefix_len,
            prefix_ip,
            opts: DhcpOptions::new(),
        }),
    }
}

/// The IA answering SOLICIT, REQUEST, RENEW or REBIND, from the core's answers for it.
///
/// Leases offered or granted are listed with their lifetimes and the IA gets T1/T2 from the
/// shortest preferred lifetime (§21.4). A lease the core has no binding for is listed with
/// lifetimes 0 when others of the IA were extended, so the client stops using it (§18.3.4,
/// §18.3.5); when nothing of the IA was extended the IA carries NoBinding. NoLeaseAvailable
/// becomes NoAddrsAvail (IA_NA) or NoPrefixAvail (IA_PD) in the IA (§18.3.1, §18.3.2).
fn granted_ia(ia: &Ia, answers: &[&ReplyKind], lifetimes: Lifetimes) -> Option<DhcpOption> {
    let mut leases = Vec::new();
    let mut no_binding = Vec::new();
    let mut unavailable = false;
    for answer in answers {
        match answer {
            ReplyKind::Advertise {
                lease,
                valid_lifetime,
            }
            | ReplyKind::Granted {
                lease,
                valid_lifetime,
                ..
            } if lease.kind() == ia.kind => {
                let (preferred, valid) = lease_lifetimes(*valid_lifetime, lifetimes);
                leases.push((*lease, preferred, valid));
            }
            ReplyKind::NoBinding(lease) if lease.kind() == ia.kind => no_binding.push(*lease),
            ReplyKind::NoLeaseAvailable(kind) if *kind == ia.kind => unavailable = true,
            // An answer of the other lease kind, or Released/Declined: not about this IA.
            _ => {}
        }
    }
    if let Some(shortest) = leases.iter().map(|&(_, preferred, _)| preferred).min() {
        let (t1, t2) = renewal_times(shortest);
        let mut inside: Vec<DhcpOption> = leases
            .iter()
            .map(|&(lease, preferred, valid)| lease_option(lease, preferred, valid))
            .collect();
        inside.extend(no_binding.iter().map(|&lease| lease_option(lease, 0, 0)));
        return Some(ia_option(ia, t1, t2, inside));
    }
    if unavailable {
        return Some(ia_status(
            ia,
            match ia.kind {
                LeaseKind::Address => Status::NoAddrsAvail,
                LeaseKind::Prefix => Status::NoPrefixAvail,
            },
        ));
    }
    if !no_binding.is_empty() {
        return Some(ia_status(ia, Status::NoBinding));
    }
    None
}

/// The IA answering RELEASE or DECLINE (§18.3.7, §18.3.8): left out when the core ended a
/// binding of it, an IA carrying NoBinding when it had none of the IA's leases.
fn ended_ia(ia: &Ia, answers: &[&ReplyKind]) -> Option<DhcpOption> {
    let ended = answers
        .iter()
        .any(|a| matches!(a, ReplyKind::Released(_) | ReplyKind::Declined(_)));
    let no_binding = answers.iter().any(|a| matches!(a, ReplyKind::NoBinding(_)));
    (!ended && no_binding).then(|| ia_status(ia, Status::NoBinding))
}

/// (preferred, valid) lifetimes for a granted valid lifetime in seconds: preferred is
/// `preferred_percent` of valid (at most all of it, §21.6: preferred must not exceed valid);
/// a lifetime that does not fit 32 bits is infinite (§7.7).
fn lease_lifetimes(valid_lifetime: u64, lifetimes: Lifetimes) -> (u32, u32) {
    let valid = u32::try_from(valid_lifetime).unwrap_or(INFINITY);
    let percent = u64::from(lifetimes.preferred_percent.min(100));
    let preferred = if valid == INFINITY && percent == 100 {
        INFINITY
    } else {
        u32::try_from(u64::from(valid) * percent / 100).unwrap_or(INFINITY)
    };
    (preferred, valid)
}

/// T1 and T2 for an IA whose shortest preferred lifetime is `preferred`: 0.5 and 0.8 of it as
/// RFC 8415 §21.4 recommends, infinite when it is infinite.
fn renewal_times(preferred: u32) -> (u32, u32) {
    if preferred == INFINITY {
        return (INFINITY, INFINITY);
    }
    let p = u64::from(preferred);
    // Both are below `preferred`, so they fit.
    (
        u32::try_from(p / 2).unwrap_or(INFINITY),
        u32::try_from(p * 4 / 5).unwrap_or(INFINITY),
    )
}

/// Insert options keeping their order among options of the same code (dhcproto's
/// `DhcpOptions::insert` puts a new option before those of its code already there).
fn insert_in_order(opts: &mut DhcpOptions, options: Vec<DhcpOption>) {
    for option in options.into_iter().rev() {
        opts.insert(option);
    }
}

/// One RELAY-REPL layer around `inner` (RFC 8415 §19.3): hop-count, link-address and
/// peer-address copied from the RELAY-FORW, the Interface-Id echoed, `inner` in the Relay
/// Message option. dhcproto's `RelayMessage` has no constructor, so the header is written
/// with its `Encoder`, field by field, as `RelayMessage::encode` does.
fn relay_repl(inner: Vec<u8>, hop: &RelayHop) -> Vec<u8> {
    let mut opts = DhcpOptions::new();
    opts.insert(DhcpOption::Unknown(UnknownOption::new(
        OptionCode::RelayMsg,
        inner,
    )));
    if let Some(id) = &hop.interface_id {
        opts.insert(DhcpOption::InterfaceId(id.clone()));
    }
    let mut buf = Vec::new();
    let written = write_relay_repl(&mut Encoder::new(&mut buf), hop, &opts);
    finish(buf, written)
}

/// The RELAY-REPL fields in wire order (§9), then its options.
fn write_relay_repl(e: &mut Encoder<'_>, hop: &RelayHop, opts: &DhcpOptions) -> EncodeResult<()> {
    e.write_u8(MessageType::RelayRepl.into())?;
    e.write_u8(hop.hop_count)?;
    e.write(hop.link_address.octets())?;
    e.write(hop.peer_address.octets())?;
    opts.encode(e)
}

/// Encode a message with dhcproto.
fn encode(msg: &Message) -> Vec<u8> {
    let mut buf = Vec::new();
    let written = msg.encode(&mut Encoder::new(&mut buf));
    finish(buf, written)
}

/// dhcproto's `Encoder` over a `Vec` fails only when an offset overflows `usize`, which the
/// sizes here (bounded by [`MAX_MESSAGE_LEN`] and [`MAX_LEASES_PER_MESSAGE`]) cannot reach;
/// should it happen anyway, nothing is sent rather than a partial message.
fn finish(buf: Vec<u8>, written: EncodeResult<()>) -> Vec<u8> {
    match written {
        Ok(()) => buf,
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcproto::v6::ORO;
    use failover_core::Time;

    /// Our DUID (DUID-LLT) and the partner's.
    const SERVER: &[u8] = &[0, 1, 0, 1, 0x2c, 0xa9, 0x3f, 0x79, 0x02, 0, 0, 0, 0, 0x01];
    const PARTNER: &[u8] = &[0, 1, 0, 1, 0x2c, 0xa9, 0x3f, 0x79, 0x02, 0, 0, 0, 0, 0x02];
    /// The client's DUID (DUID-LL).
    const CLIENT: &[u8] = &[0, 3, 0, 1, 0x02, 0, 0, 0, 0, 0x07];
    const XID: [u8; 3] = [0x12, 0x34, 0x56];
    const PERCENT_80: Lifetimes = Lifetimes {
        preferred_percent: 80,
    };

    fn addr(n: u16) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, n)
    }

    fn prefix(n: u16) -> LeaseKey {
        LeaseKey::Prefix(Ipv6Addr::new(0x2001, 0xdb8, 0x100 + n, 0, 0, 0, 0, 0), 56)
    }

    fn client_id() -> ClientId {
        ClientId(CLIENT.to_vec())
    }

    fn ia_na(id: u32, addrs: &[Ipv6Addr]) -> DhcpOption {
        DhcpOption::IANA(IANA {
            id,
            t1: 0,
            t2: 0,
            opts: addrs
                .iter()
                .map(|&addr| {
                    DhcpOption::IAAddr(IAAddr {
                        addr,
                        preferred_life: 0,
                        valid_life: 0,
                        opts: DhcpOptions::new(),
                    })
                })
                .collect(),
        })
    }

    fn ia_pd(id: u32, prefixes: &[LeaseKey]) -> DhcpOption {
        DhcpOption::IAPD(IAPD {
            id,
            t1: 0,
            t2: 0,
            opts: prefixes
                .iter()
                .map(|p| {
                    let LeaseKey::Prefix(prefix_ip, prefix_len) = *p else {
                        panic!("not a prefix")
                    };
                    DhcpOption::IAPrefix(IAPrefix {
                        preferred_lifetime: 0,
                        valid_lifetime: 0,
                        prefix_len,
                        prefix_ip,
                        opts: DhcpOptions::new(),
                    })
                })
                .collect(),
        })
    }

    /// A client message as a client builds it: Client Identifier, Elapsed Time, an Option
    /// Request, and `opts`.
    fn client_msg(msg_type: MessageType, opts: Vec<DhcpOption>) -> Vec<u8> {
        let mut m = Message::new_with_id(msg_type, XID);
        m.opts_mut().insert(DhcpOption::ClientId(CLIENT.to_vec()));
        m.opts_mut().insert(DhcpOption::ElapsedTime(0));
        m.opts_mut().insert(DhcpOption::ORO(ORO {
            opts: vec![OptionCode::DomainNameServers],
        }));
        for o in opts {
            m.opts_mut().insert(o);
        }
        let mut buf = Vec::new();
        m.encode(&mut Encoder::new(&mut buf)).unwrap();
        buf
    }

    fn solicit(rapid_commit: bool) -> Vec<u8> {
        let mut opts = vec![ia_na(1, &[]), ia_pd(2, &[])];
        if rapid_commit {
            opts.push(DhcpOption::RapidCommit);
        }
        client_msg(MessageType::Solicit, opts)
    }

    fn renew(server: &[u8]) -> Vec<u8> {
        client_msg(
            MessageType::Renew,
            vec![
                DhcpOption::ServerId(server.to_vec()),
                ia_na(1, &[addr(10), addr(11)]),
                ia_pd(2, &[]),
            ],
        )
    }

    /// A RELAY-FORW around `inner`, as a relay agent builds it (RFC 8415 §19.1.1).
    fn relay_forward(
        hop: u8,
        link: Ipv6Addr,
        peer: Ipv6Addr,
        iid: Option<&[u8]>,
        inner: &[u8],
    ) -> Vec<u8> {
        let mut opts = DhcpOptions::new();
        opts.insert(DhcpOption::Unknown(UnknownOption::new(
            OptionCode::RelayMsg,
            inner.to_vec(),
        )));
        if let Some(id) = iid {
            opts.insert(DhcpOption::InterfaceId(id.to_vec()));
        }
        let mut buf = Vec::new();
        let mut e = Encoder::new(&mut buf);
        e.write_u8(MessageType::RelayForw.into()).unwrap();
        e.write_u8(hop).unwrap();
        e.write(link.octets()).unwrap();
        e.write(peer.octets()).unwrap();
        opts.encode(&mut e).unwrap();
        buf
    }

    /// A RELAY-REPL opened as a relay agent does: (header, Interface-Id, Relay Message bytes).
    /// The options are walked here independently of `frame`, each decoded by dhcproto.
    fn open_relay_repl(bytes: &[u8]) -> (RelayMessage, Option<Vec<u8>>, Vec<u8>) {
        let header = RelayMessage::decode(&mut Decoder::new(&bytes[..RELAY_HEADER_LEN])).unwrap();
        let mut d = Decoder::new(&bytes[RELAY_HEADER_LEN..]);
        let (mut iid, mut inner) = (None, None);
        while !d.buffer().is_empty() {
            let code = d.read_u16().unwrap();
            let len = d.read_u16().unwrap();
            let data = d.read_slice(usize::from(len)).unwrap();
            match code {
                9 => inner = Some(data.to_vec()),
                18 => iid = Some(data.to_vec()),
                other => panic!("unexpected option {other} in RELAY-REPL"),
            }
        }
        (header, iid, inner.expect("Relay Message option"))
    }

    fn decode(bytes: &[u8]) -> Message {
        Message::decode(&mut Decoder::new(bytes)).unwrap()
    }

    fn answer(kind: ReplyKind) -> Option<ClientReply> {
        Some(ClientReply {
            client: client_id(),
            kind,
            fqdn: None,
        })
    }

    fn granted(lease: LeaseKey, valid_lifetime: u64) -> Option<ClientReply> {
        answer(ReplyKind::Granted {
            lease,
            valid_lifetime,
            expires: Time(1000 + valid_lifetime),
        })
    }

    fn parse(bytes: &[u8]) -> Inbound {
        Inbound::parse(bytes, false).unwrap()
    }

    fn core_requests(plan: Plan) -> Vec<ClientRequest> {
        match plan {
            Plan::Core(reqs) => reqs,
            other => panic!("expected Plan::Core, got {other:?}"),
        }
    }

    fn request(op: ClientOp) -> ClientRequest {
        ClientRequest {
            client: client_id(),
            op,
        }
    }

    fn ia_nas(m: &Message) -> Vec<IANA> {
        m.opts()
            .get_all(OptionCode::IANA)
            .unwrap_or_default()
            .iter()
            .map(|o| match o {
                DhcpOption::IANA(ia) => ia.clone(),
                _ => unreachable!(),
            })
            .collect()
    }

    fn ia_pds(m: &Message) -> Vec<IAPD> {
        m.opts()
            .get_all(OptionCode::IAPD)
            .unwrap_or_default()
            .iter()
            .map(|o| match o {
                DhcpOption::IAPD(ia) => ia.clone(),
                _ => unreachable!(),
            })
            .collect()
    }

    fn status_in(opts: &DhcpOptions) -> Option<Status> {
        match opts.get(OptionCode::StatusCode) {
            Some(DhcpOption::StatusCode(s)) => Some(s.status),
            _ => None,
        }
    }

    fn addrs_in(opts: &DhcpOptions) -> Vec<IAAddr> {
        opts.iter()
            .filter_map(|o| match o {
                DhcpOption::IAAddr(a) => Some(a.clone()),
                _ => None,
            })
            .collect()
    }

    fn prefixes_in(opts: &DhcpOptions) -> Vec<IAPrefix> {
        opts.iter()
            .filter_map(|o| match o {
                DhcpOption::IAPrefix(p) => Some(p.clone()),
                _ => None,
            })
            .collect()
    }

    /// The identifiers every server message carries (RFC 8415 §18.3).
    fn assert_ids(m: &Message) {
        assert_eq!(m.xid(), XID);
        assert_eq!(
            m.opts().get(OptionCode::ClientId),
            Some(&DhcpOption::ClientId(CLIENT.to_vec()))
        );
        assert_eq!(
            m.opts().get(OptionCode::ServerId),
            Some(&DhcpOption::ServerId(SERVER.to_vec()))
        );
    }

    #[test]
    fn solicit_plans_one_offer_per_ia_and_is_answered_by_advertise_with_both_leases() {
        let inb = parse(&solicit(false));
        assert_eq!(inb.kind_name(), "SOLICIT");
        assert_eq!(inb.client(), &client_id());
        let reqs = core_requests(inb.plan(SERVER));
        assert_eq!(
            reqs,
            vec![
                request(ClientOp::Solicit(LeaseKind::Address)),
                request(ClientOp::Solicit(LeaseKind::Prefix)),
            ]
        );
        let answers = [
            answer(ReplyKind::Advertise {
                lease: LeaseKey::Addr(addr(5)),
                valid_lifetime: 3600,
            }),
            answer(ReplyKind::Advertise {
                lease: prefix(3),
                valid_lifetime: 7200,
            }),
        ];
        let m = decode(&inb.reply(SERVER, &answers, PERCENT_80).unwrap());
        assert_eq!(m.msg_type(), MessageType::Advertise);
        assert_ids(&m);
        assert_eq!(m.opts().get(OptionCode::RapidCommit), None);
        let na = ia_nas(&m);
        assert_eq!(na.len(), 1);
        assert_eq!((na[0].id, na[0].t1, na[0].t2), (1, 1440, 2304));
        let a = addrs_in(&na[0].opts);
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].addr, a[0].preferred_life, a[0].valid_life),
            (addr(5), 2880, 3600)
        );
        let pd = ia_pds(&m);
        assert_eq!(pd.len(), 1);
        assert_eq!((pd[0].id, pd[0].t1, pd[0].t2), (2, 2880, 4608));
        let p = prefixes_in(&pd[0].opts);
        assert_eq!(p.len(), 1);
        assert_eq!(LeaseKey::Prefix(p[0].prefix_ip, p[0].prefix_len), prefix(3));
        assert_eq!((p[0].preferred_lifetime, p[0].valid_lifetime), (5760, 7200));
    }

    #[test]
    fn rapid_commit_solicit_plans_requests_and_is_answered_by_reply_with_rapid_commit() {
        let inb = parse(&solicit(true));
        let reqs = core_requests(inb.plan(SERVER));
        assert_eq!(
            reqs,
            vec![
                request(ClientOp::Request(LeaseKind::Address)),
                request(ClientOp::Request(LeaseKind::Prefix)),
            ]
        );
        let answers = [
            granted(LeaseKey::Addr(addr(5)), 1000),
            granted(prefix(3), 1000),
        ];
        let m = decode(&inb.reply(SERVER, &answers, PERCENT_80).unwrap());
        assert_eq!(m.msg_type(), MessageType::Reply);
        assert_ids(&m);
        assert_eq!(
            m.opts().get(OptionCode::RapidCommit),
            Some(&DhcpOption::RapidCommit)
        );
        assert_eq!(addrs_in(&ia_nas(&m)[0].opts)[0].valid_life, 1000);
        assert_eq!(prefixes_in(&ia_pds(&m)[0].opts)[0].valid_lifetime, 1000);
    }

    #[test]
    fn solicit_without_free_leases_gets_no_addrs_avail_and_no_prefix_avail_in_the_ias() {
        let inb = parse(&solicit(false));
        let answers = [
            answer(ReplyKind::NoLeaseAvailable(LeaseKind::Address)),
            answer(ReplyKind::NoLeaseAvailable(LeaseKind::Prefix)),
        ];
        let m = decode(&inb.reply(SERVER, &answers, PERCENT_80).unwrap());
        assert_eq!(m.msg_type(), MessageType::Advertise);
        let na = &ia_nas(&m)[0];
        assert_eq!(status_in(&na.opts), Some(Status::NoAddrsAvail));
        assert!(addrs_in(&na.opts).is_empty());
        assert_eq!((na.t1, na.t2), (0, 0));
        let pd = &ia_pds(&m)[0];
        assert_eq!(status_in(&pd.opts), Some(Status::NoPrefixAvail));
        assert_eq!(pd.id, 2);
    }

    #[test]
    fn an_ia_the_core_did_not_answer_is_left_out_and_no_answer_at_all_sends_nothing() {
        let inb = parse(&solicit(false));
        let answers = [
            None,
            answer(ReplyKind::Advertise {
                lease: prefix(1),
                valid_lifetime: 600,
            }),
        ];
        let m = decode(&inb.reply(SERVER, &answers, PERCENT_80).unwrap());
        assert!(ia_nas(&m).is_empty());
        assert_eq!(ia_pds(&m).len(), 1);
        assert_eq!(inb.reply(SERVER, &[None, None], PERCENT_80), None);
    }

    #[test]
    fn solicit_naming_a_server_is_discarded() {
        let bytes = client_msg(
            MessageType::Solicit,
            vec![DhcpOption::ServerId(SERVER.to_vec()), ia_na(1, &[])],
        );
        assert!(matches!(parse(&bytes).plan(SERVER), Plan::Discard(_)));
    }

    #[test]
    fn request_naming_us_plans_one_request_per_ia_and_gets_reply_with_the_grants() {
        let bytes = client_msg(
            MessageType::Request,
            vec![
                DhcpOption::ServerId(SERVER.to_vec()),
                ia_na(7, &[addr(5)]),
                ia_pd(8, &[prefix(3)]),
            ],
        );
        let inb = parse(&bytes);
        let reqs = core_requests(inb.plan(SERVER));
        assert_eq!(
            reqs,
            vec![
                request(ClientOp::Request(LeaseKind::Address)),
                request(ClientOp::Request(LeaseKind::Prefix)),
            ]
        );
        let answers = [
            granted(LeaseKey::Addr(addr(6)), 3600),
            granted(prefix(4), 3600),
        ];
        let m = decode(
            &inb.reply(
                SERVER,
                &answers,
                Lifetimes {
                    preferred_percent: 50,
                },
            )
            .unwrap(),
        );
        assert_eq!(m.msg_type(), MessageType::Reply);
        assert_ids(&m);
        let na = &ia_nas(&m)[0];
        assert_eq!((na.id, na.t1, na.t2), (7, 900, 1440));
        assert_eq!(addrs_in(&na.opts)[0].addr, addr(6));
        assert_eq!(addrs_in(&na.opts)[0].preferred_life, 1800);
        assert_eq!(ia_pds(&m)[0].id, 8);
        assert_eq!(m.opts().get(OptionCode::RapidCommit), None);
    }

    #[test]
    fn request_for_another_server_or_without_server_id_is_discarded() {
        let other = client_msg(
            MessageType::Request,
            vec![DhcpOption::ServerId(PARTNER.to_vec()), ia_na(7, &[])],
        );
        assert!(matches!(parse(&other).plan(SERVER), Plan::Discard(_)));
        let none = client_msg(MessageType::Request, vec![ia_na(7, &[])]);
        assert!(matches!(parse(&none).plan(SERVER), Plan::Discard(_)));
    }

    #[test]
    fn renew_naming_us_plans_one_renew_per_lease_and_maps_answers_back_to_their_ias() {
        let inb = parse(&renew(SERVER));
        let reqs = core_requests(inb.plan(SERVER));
        assert_eq!(reqs.len(), 2);
        let mut leases: Vec<LeaseKey> = reqs
            .iter()
            .map(|r| match r.op {
                ClientOp::Renew { lease, to_me } => {
                    assert!(to_me);
                    lease
                }
                ref other => panic!("not a renew: {other:?}"),
            })
            .collect();
        leases.sort();
        assert_eq!(
            leases,
            vec![LeaseKey::Addr(addr(10)), LeaseKey::Addr(addr(11))]
        );
        // Answer the requests in their own order: the first extended, the second unknown.
        let answers = [
            granted(
                match reqs[0].op {
                    ClientOp::Renew { lease, .. } => lease,
                    _ => unreachable!(),
                },
                4000,
            ),
            answer(ReplyKind::NoBinding(match reqs[1].op {
                ClientOp::Renew { lease, .. } => lease,
                _ => unreachable!(),
            })),
        ];
        let m = decode(&inb.reply(SERVER, &answers, PERCENT_80).unwrap());
        assert_eq!(m.msg_type(), MessageType::Reply);
        assert_ids(&m);
        let na = &ia_nas(&m)[0];
        assert_eq!((na.id, na.t1, na.t2), (1, 1600, 2560));
        assert_eq!(status_in(&na.opts), None);
        let mut got: Vec<(Ipv6Addr, u32, u32)> = addrs_in(&na.opts)
            .iter()
            .map(|a| (a.addr, a.preferred_life, a.valid_life))
            .collect();
        got.sort();
        let extended = match reqs[0].op {
            ClientOp::Renew {
                lease: LeaseKey::Addr(a),
                ..
            } => a,
            _ => unreachable!(),
        };
        let dropped = if extended == addr(10) {
            addr(11)
        } else {
            addr(10)
        };
        let mut want = vec![(extended, 3200, 4000), (dropped, 0, 0)];
        want.sort();
        assert_eq!(got, want);
        // The IA_PD without a prefix: NoBinding (RFC 8415 §18.3.4).
        let pd = &ia_pds(&m)[0];
        assert_eq!((pd.id, status_in(&pd.opts)), (2, Some(Status::NoBinding)));
    }

    #[test]
    fn renew_whose_leases_are_all_unknown_gets_no_binding_in_the_ia() {
        let inb = parse(&renew(SERVER));
        let answers = [
            answer(ReplyKind::NoBinding(LeaseKey::Addr(addr(10)))),
            answer(ReplyKind::NoBinding(LeaseKey::Addr(addr(11)))),
        ];
        let m = decode(&inb.reply(SERVER, &answers, PERCENT_80).unwrap());
        let na = &ia_nas(&m)[0];
        assert_eq!(status_in(&na.opts), Some(Status::NoBinding));
        assert!(addrs_in(&na.opts).is_empty());
    }

    #[test]
    fn renew_naming_the_partner_tells_the_core_it_is_not_for_us_and_silence_sends_nothing() {
        let inb = parse(&renew(PARTNER));
        let reqs = core_requests(inb.plan(SERVER));
        assert_eq!(reqs.len(), 2);
        assert!(reqs
            .iter()
            .all(|r| matches!(r.op, ClientOp::Renew { to_me: false, .. })));
        assert_eq!(inb.reply(SERVER, &[None, None], PERCENT_80), None);
    }

    #[test]
    fn renew_release_decline_without_server_id_are_discarded() {
        for t in [
            MessageType::Renew,
            MessageType::Release,
            MessageType::Decline,
        ] {
            let bytes = client_msg(t, vec![ia_na(1, &[addr(10)])]);
            assert!(
                matches!(parse(&bytes).plan(SERVER), Plan::Discard(_)),
                "{t:?}"
            );
        }
    }

    #[test]
    fn rebind_plans_one_rebind_per_lease_and_reports_no_binding() {
        let bytes = client_msg(
            MessageType::Rebind,
            vec![ia_na(1, &[addr(10)]), ia_pd(2, &[prefix(3)])],
        );
        let inb = parse(&bytes);
        let reqs = core_requests(inb.plan(SERVER));
        assert_eq!(
            reqs,
            vec![
                request(ClientOp::Rebind(LeaseKey::Addr(addr(10)))),
                request(ClientOp::Rebind(prefix(3))),
            ]
        );
        let answers = [
            granted(LeaseKey::Addr(addr(10)), 100),
            answer(ReplyKind::NoBinding(prefix(3))),
        ];
        let m = decode(&inb.reply(SERVER, &answers, PERCENT_80).unwrap());
        assert_eq!(m.msg_type(), MessageType::Reply);
        assert_ids(&m);
        assert_eq!(addrs_in(&ia_nas(&m)[0].opts)[0].valid_life, 100);
        assert_eq!(status_in(&ia_pds(&m)[0].opts), Some(Status::NoBinding));
        // A REBIND naming a server is discarded (RFC 8415 §16.7).
        let named = client_msg(
            MessageType::Rebind,
            vec![DhcpOption::ServerId(SERVER.to_vec()), ia_na(1, &[addr(10)])],
        );
        assert!(matches!(parse(&named).plan(SERVER), Plan::Discard(_)));
    }

    #[test]
    fn release_plans_one_release_per_lease_and_replies_success_with_no_binding_ias() {
        let bytes = client_msg(
            MessageType::Release,
            vec![
                DhcpOption::ServerId(SERVER.to_vec()),
                ia_na(1, &[addr(10)]),
                ia_pd(2, &[prefix(3)]),
                ia_na(3, &[]),
            ],
        );
        let inb = parse(&bytes);
        let reqs = core_requests(inb.plan(SERVER));
        assert_eq!(
            reqs,
            vec![
                request(ClientOp::Release {
                    lease: LeaseKey::Addr(addr(10)),
                    to_me: true
                }),
                request(ClientOp::Release {
                    lease: prefix(3),
                    to_me: true
                }),
            ]
        );
        let answers = [
            answer(ReplyKind::Released(LeaseKey::Addr(addr(10)))),
            answer(ReplyKind::NoBinding(prefix(3))),
        ];
        let m = decode(&inb.reply(SERVER, &answers, PERCENT_80).unwrap());
        assert_eq!(m.msg_type(), MessageType::Reply);
        assert_ids(&m);
        assert_eq!(status_in(m.opts()), Some(Status::Success));
        // IA_NA 1 was released: left out. IA_NA 3 had nothing: NoBinding. IA_PD 2: NoBinding.
        let na = ia_nas(&m);
        assert_eq!(na.len(), 1);
        assert_eq!(
            (na[0].id, status_in(&na[0].opts)),
            (3, Some(Status::NoBinding))
        );
        let pd = ia_pds(&m);
        assert_eq!(
            (pd[0].id, status_in(&pd[0].opts)),
            (2, Some(Status::NoBinding))
        );
    }

    #[test]
    fn release_of_an_ia_with_one_lease_ended_and_one_unknown_leaves_the_ia_out() {
        let bytes = client_msg(
            MessageType::Release,
            vec![
                DhcpOption::ServerId(SERVER.to_vec()),
                ia_na(1, &[addr(10), addr(11)]),
            ],
        );
        let inb = parse(&bytes);
        let reqs = core_requests(inb.plan(SERVER));
        let answers: Vec<Option<ClientReply>> = reqs
            .iter()
            .map(|r| match r.op {
                ClientOp::Release { lease, .. } if lease == LeaseKey::Addr(addr(10)) => {
                    answer(ReplyKind::Released(lease))
                }
                ClientOp::Release { lease, .. } => answer(ReplyKind::NoBinding(lease)),
                ref other => panic!("not a release: {other:?}"),
            })
            .collect();
        let m = decode(&inb.reply(SERVER, &answers, PERCENT_80).unwrap());
        assert_eq!(status_in(m.opts()), Some(Status::Success));
        // The server had a binding for the IA and ended it: no NoBinding (RFC 8415 §18.3.7).
        assert!(ia_nas(&m).is_empty());
    }

    #[test]
    fn decline_plans_one_decline_per_lease_and_replies_success() {
        let bytes = client_msg(
            MessageType::Decline,
            vec![
                DhcpOption::ServerId(PARTNER.to_vec()),
                ia_na(1, &[addr(10)]),
            ],
        );
        let inb = parse(&bytes);
        assert_eq!(
            core_requests(inb.plan(SERVER)),
            vec![request(ClientOp::Decline {
                lease: LeaseKey::Addr(addr(10)),
                to_me: false
            })]
        );
        let answers = [answer(ReplyKind::Declined(LeaseKey::Addr(addr(10))))];
        let m = decode(&inb.reply(SERVER, &answers, PERCENT_80).unwrap());
        assert_eq!(m.msg_type(), MessageType::Reply);
        assert_eq!(status_in(m.opts()), Some(Status::Success));
        assert!(ia_nas(&m).is_empty());
    }

    #[test]
    fn confirm_plans_its_addresses_and_replies_success_or_not_on_link() {
        let bytes = client_msg(
            MessageType::Confirm,
            vec![ia_na(1, &[addr(10)]), ia_na(2, &[addr(20)])],
        );
        let inb = parse(&bytes);
        let Plan::Confirm(mut addrs) = inb.plan(SERVER) else {
            panic!("not a confirm plan")
        };
        addrs.sort();
        assert_eq!(addrs, vec![addr(10), addr(20)]);
        let yes = decode(&inb.reply_confirm(SERVER, true));
        assert_eq!(yes.msg_type(), MessageType::Reply);
        assert_ids(&yes);
        assert_eq!(status_in(yes.opts()), Some(Status::Success));
        let no = decode(&inb.reply_confirm(SERVER, false));
        assert_eq!(status_in(no.opts()), Some(Status::NotOnLink));
        // Without addresses there is nothing to confirm: no reply (RFC 8415 §18.3.3).
        let empty = client_msg(MessageType::Confirm, vec![ia_na(1, &[])]);
        assert!(matches!(parse(&empty).plan(SERVER), Plan::Discard(_)));
    }

    #[test]
    fn information_request_is_answered_with_our_server_id_and_its_client_id() {
        let inb = parse(&client_msg(MessageType::InformationRequest, vec![]));
        assert_eq!(inb.plan(SERVER), Plan::InformationRequest);
        let m = decode(&inb.reply_information(SERVER));
        assert_eq!(m.msg_type(), MessageType::Reply);
        assert_ids(&m);
        // Without Client Identifier (allowed here, RFC 8415 §18.2.6), none is echoed.
        let mut bare = vec![11];
        bare.extend_from_slice(&XID);
        let inb = parse(&bare);
        assert_eq!(inb.client(), &ClientId(Vec::new()));
        let m = decode(&inb.reply_information(SERVER));
        assert_eq!(m.opts().get(OptionCode::ClientId), None);
        assert!(m.opts().get(OptionCode::ServerId).is_some());
        // With an IA, or naming another server, it is discarded (RFC 8415 §16.12).
        let with_ia = client_msg(MessageType::InformationRequest, vec![ia_na(1, &[])]);
        assert!(matches!(parse(&with_ia).plan(SERVER), Plan::Discard(_)));
        let other = client_msg(
            MessageType::InformationRequest,
            vec![DhcpOption::ServerId(PARTNER.to_vec())],
        );
        assert!(matches!(parse(&other).plan(SERVER), Plan::Discard(_)));
    }

    #[test]
    fn relayed_solicit_two_relays_deep_is_answered_in_two_relay_repl_layers() {
        let link1 = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1);
        let peer1 = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x42);
        let link2 = Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1);
        let peer2 = Ipv6Addr::new(0x2001, 0xdb8, 0, 9, 0, 0, 0, 1);
        // The relay next to the client (hop 0) adds an Interface-Id; the next one (hop 1)
        // another.
        let inner = relay_forward(0, link1, peer1, Some(b"eth0.7"), &solicit(false));
        let outer = relay_forward(1, link2, peer2, Some(b"ge-0/0/1"), &inner);
        // Relays forward by unicast: that is fine.
        let inb = Inbound::parse(&outer, true).unwrap();
        assert_eq!(inb.relay_depth(), 2);
        assert_eq!(inb.client(), &client_id());
        assert_eq!(core_requests(inb.plan(SERVER)).len(), 2);
        let answers = [
            answer(ReplyKind::Advertise {
                lease: LeaseKey::Addr(addr(5)),
                valid_lifetime: 3600,
            }),
            None,
        ];
        let bytes = inb.reply(SERVER, &answers, PERCENT_80).unwrap();
        let (h2, iid2, payload2) = open_relay_repl(&bytes);
        assert_eq!(h2.msg_type(), MessageType::RelayRepl);
        assert_eq!(
            (h2.hop_count(), h2.link_addr(), h2.peer_addr()),
            (1, link2, peer2)
        );
        assert_eq!(iid2.as_deref(), Some(&b"ge-0/0/1"[..]));
        let (h1, iid1, payload1) = open_relay_repl(&payload2);
        assert_eq!(h1.msg_type(), MessageType::RelayRepl);
        assert_eq!(
            (h1.hop_count(), h1.link_addr(), h1.peer_addr()),
            (0, link1, peer1)
        );
        assert_eq!(iid1.as_deref(), Some(&b"eth0.7"[..]));
        let m = decode(&payload1);
        assert_eq!(m.msg_type(), MessageType::Advertise);
        assert_ids(&m);
        assert_eq!(addrs_in(&ia_nas(&m)[0].opts)[0].addr, addr(5));
        assert!(ia_pds(&m).is_empty());
    }

    #[test]
    fn relayed_reply_without_interface_id_carries_none() {
        let link = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1);
        let bytes = relay_forward(
            0,
            link,
            addr(99),
            None,
            &client_msg(MessageType::InformationRequest, vec![]),
        );
        let inb = parse(&bytes);
        let (h, iid, payload) = open_relay_repl(&inb.reply_information(SERVER));
        assert_eq!(
            (h.hop_count(), h.link_addr(), h.peer_addr()),
            (0, link, addr(99))
        );
        assert_eq!(iid, None);
        assert_ids(&decode(&payload));
    }

    #[test]
    fn unicast_from_the_client_is_discarded_or_told_to_use_multicast() {
        let discarded = [
            solicit(false),
            client_msg(MessageType::Confirm, vec![ia_na(1, &[addr(10)])]),
            client_msg(MessageType::Rebind, vec![ia_na(1, &[addr(10)])]),
            client_msg(MessageType::InformationRequest, vec![]),
        ];
        for bytes in &discarded {
            let inb = Inbound::parse(bytes, true).unwrap();
            assert!(
                matches!(inb.plan(SERVER), Plan::Discard(_)),
                "{}",
                inb.kind_name()
            );
            // The same message multicast is served.
            let multicast = parse(bytes);
            assert!(!matches!(multicast.plan(SERVER), Plan::Discard(_)));
        }
        let told = [
            client_msg(
                MessageType::Request,
                vec![DhcpOption::ServerId(SERVER.to_vec()), ia_na(1, &[])],
            ),
            renew(SERVER),
            client_msg(
                MessageType::Release,
                vec![DhcpOption::ServerId(SERVER.to_vec()), ia_na(1, &[addr(10)])],
            ),
            client_msg(
                MessageType::Decline,
                vec![DhcpOption::ServerId(SERVER.to_vec()), ia_na(1, &[addr(10)])],
            ),
        ];
        for bytes in &told {
            let inb = Inbound::parse(bytes, true).unwrap();
            assert_eq!(inb.plan(SERVER), Plan::UseMulticast, "{}", inb.kind_name());
            let m = decode(&inb.reply_use_multicast(SERVER));
            assert_eq!(m.msg_type(), MessageType::Reply);
            assert_ids(&m);
            assert_eq!(status_in(m.opts()), Some(Status::UseMulticast));
            assert_eq!(
                m.opts().iter().count(),
                3,
                "no other options (RFC 8415 §18.4)"
            );
        }
        // A unicast RENEW naming the partner is not ours to answer at all.
        let inb = Inbound::parse(&renew(PARTNER), true).unwrap();
        assert!(matches!(inb.plan(SERVER), Plan::Discard(_)));
    }

    #[test]
    fn messages_servers_never_receive_are_not_for_server_and_unknown_types_are_unknown() {
        for t in [
            MessageType::Advertise,
            MessageType::Reply,
            MessageType::Reconfigure,
            MessageType::RelayRepl,
        ] {
            let err = Inbound::parse(&client_msg(t, vec![]), false).unwrap_err();
            assert_eq!(err.kind, "not-for-server", "{t:?}");
        }
        for t in [0u8, 14, 20, 22, 255] {
            let mut bytes = client_msg(MessageType::Solicit, vec![ia_na(1, &[])]);
            bytes[0] = t;
            let err = Inbound::parse(&bytes, false).unwrap_err();
            assert_eq!(err.kind, "unknown-type", "type {t}");
        }
    }

    #[test]
    fn missing_client_id_is_invalid_except_for_information_request() {
        for t in [
            MessageType::Solicit,
            MessageType::Request,
            MessageType::Renew,
            MessageType::Rebind,
            MessageType::Release,
            MessageType::Decline,
            MessageType::Confirm,
        ] {
            let mut m = Message::new_with_id(t, XID);
            m.opts_mut().insert(ia_na(1, &[addr(10)]));
            let mut bytes = Vec::new();
            m.encode(&mut Encoder::new(&mut bytes)).unwrap();
            assert_eq!(
                Inbound::parse(&bytes, false).unwrap_err().kind,
                "invalid",
                "{t:?}"
            );
        }
    }

    #[test]
    fn truncated_messages_are_malformed_and_never_panic() {
        let whole = renew(SERVER);
        for len in 0..whole.len() {
            // Some cuts fall between options and leave a valid, shorter message.
            let _ = Inbound::parse(&whole[..len], false);
        }
        // A cut inside the last option (the IA_PD: dhcproto writes options sorted by code).
        let cut = &whole[..whole.len() - 3];
        assert_eq!(Inbound::parse(cut, false).unwrap_err().kind, "malformed");
        assert_eq!(
            Inbound::parse(&[1, 2], false).unwrap_err().kind,
            "malformed"
        );
        assert_eq!(Inbound::parse(&[], false).unwrap_err().kind, "malformed");
        let relay = relay_forward(0, addr(1), addr(2), None, &solicit(false));
        assert_eq!(
            Inbound::parse(&relay[..20], false).unwrap_err().kind,
            "malformed"
        );
    }

    /// `opts` (code, data) after a SOLICIT header and a Client Identifier, as raw octets.
    fn solicit_with_raw_options(raw: &[(u16, &[u8])]) -> Vec<u8> {
        let mut bytes = vec![1, XID[0], XID[1], XID[2], 0, 1, 0, CLIENT.len() as u8];
        bytes.extend_from_slice(CLIENT);
        for (code, data) in raw {
            bytes.extend_from_slice(&code.to_be_bytes());
            bytes.extend_from_slice(&(data.len() as u16).to_be_bytes());
            bytes.extend_from_slice(data);
        }
        bytes
    }

    #[test]
    fn options_with_wrong_lengths_are_malformed() {
        // IA_NA holding an IAADDR followed by a Status Code of 0 octets (dhcproto would
        // underflow on it).
        let mut ia = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        ia.extend_from_slice(&[0, 13, 0, 0]);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "status code of 0 octets in IA_NA",
                solicit_with_raw_options(&[(3, &ia)]),
            ),
            (
                "elapsed time of 3 octets",
                solicit_with_raw_options(&[(8, &[0, 0, 0])]),
            ),
            (
                "rapid commit of 1 octet",
                solicit_with_raw_options(&[(14, &[0])]),
            ),
            (
                "IA_NA of 8 octets",
                solicit_with_raw_options(&[(3, &[0; 8])]),
            ),
            ("IAADDR of 20 octets", {
                let mut ia = vec![0; 12];
                ia.extend_from_slice(&[0, 5, 0, 20]);
                ia.extend_from_slice(&[0; 20]);
                solicit_with_raw_options(&[(3, &ia)])
            }),
            (
                "ORO of odd length",
                solicit_with_raw_options(&[(6, &[0, 23, 0])]),
            ),
            (
                "relay message in a client message",
                solicit_with_raw_options(&[(9, &[1, 0, 0, 0])]),
            ),
            ("client id of 2 octets", vec![1, 0, 0, 0, 0, 1, 0, 2, 0, 1]),
            ("option longer than the message", {
                let mut b = solicit_with_raw_options(&[(3, &[0; 12])]);
                let n = b.len();
                b[n - 13] = 40; // IA_NA length 12 → 40
                b
            }),
            ("option header cut short", {
                let mut b = solicit_with_raw_options(&[]);
                b.extend_from_slice(&[0, 3, 0]);
                b
            }),
        ];
        for (what, bytes) in cases {
            let got = Inbound::parse(&bytes, false);
            assert_eq!(
                got.map(|i| i.kind_name()).unwrap_err().kind,
                "malformed",
                "{what}"
            );
        }
        // The same framing with correct lengths parses (so the cases above fail for their
        // lengths, not for something else).
        let fine = solicit_with_raw_options(&[(8, &[0, 0]), (14, &[]), (3, &[0; 12])]);
        let inb = Inbound::parse(&fine, false).unwrap();
        assert_eq!(
            core_requests(inb.plan(SERVER)),
            vec![request(ClientOp::Request(LeaseKind::Address))]
        );
    }

    #[test]
    fn an_option_dhcproto_cannot_decode_inside_an_ia_is_malformed_not_lost() {
        // IA_NA: an NTP server option whose sub-option is cut short, then an IAADDR. dhcproto
        // stops decoding the IA at the NTP option, which would lose the IAADDR silently.
        let mut ia = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        ia.extend_from_slice(&[0, 56, 0, 1, 0]);
        ia.extend_from_slice(&[0, 5, 0, 24]);
        ia.extend_from_slice(&addr(10).octets());
        ia.extend_from_slice(&[0; 8]);
        let mut bytes = vec![5, XID[0], XID[1], XID[2], 0, 1, 0, CLIENT.len() as u8];
        bytes.extend_from_slice(CLIENT);
        bytes.extend_from_slice(&[0, 2, 0, SERVER.len() as u8]);
        bytes.extend_from_slice(SERVER);
        bytes.extend_from_slice(&[0, 3, 0, ia.len() as u8]);
        bytes.extend_from_slice(&ia);
        assert_eq!(Inbound::parse(&bytes, false).unwrap_err().kind, "malformed");
        // Without the broken option the same RENEW parses, with its lease.
        let n = bytes.len();
        let mut fine = bytes[..n - ia.len() - 4].to_vec();
        let mut ia_fine = ia[..12].to_vec();
        ia_fine.extend_from_slice(&ia[17..]);
        fine.extend_from_slice(&[0, 3, 0, ia_fine.len() as u8]);
        fine.extend_from_slice(&ia_fine);
        let inb = Inbound::parse(&fine, false).unwrap();
        assert_eq!(
            core_requests(inb.plan(SERVER)),
            vec![request(ClientOp::Renew {
                lease: LeaseKey::Addr(addr(10)),
                to_me: true
            })]
        );
    }

    #[test]
    fn relay_forw_without_relay_message_or_too_deep_is_malformed() {
        let mut bare = vec![12, 0];
        bare.extend_from_slice(&addr(1).octets());
        bare.extend_from_slice(&addr(2).octets());
        assert_eq!(Inbound::parse(&bare, true).unwrap_err().kind, "malformed");
        let mut bytes = solicit(false);
        for hop in 0..=MAX_RELAY_DEPTH as u8 {
            bytes = relay_forward(hop, addr(1), addr(2), None, &bytes);
        }
        assert_eq!(Inbound::parse(&bytes, true).unwrap_err().kind, "malformed");
        // One layer less is accepted.
        let mut bytes = solicit(false);
        for hop in 0..MAX_RELAY_DEPTH as u8 {
            bytes = relay_forward(hop, addr(1), addr(2), None, &bytes);
        }
        assert_eq!(
            Inbound::parse(&bytes, true).unwrap().relay_depth(),
            MAX_RELAY_DEPTH
        );
    }

    #[test]
    fn oversized_datagrams_and_too_many_leases_are_dropped_as_oversized() {
        let mut big = solicit(false);
        big.resize(MAX_MESSAGE_LEN + 1, 0);
        assert_eq!(Inbound::parse(&big, false).unwrap_err().kind, "oversized");
        let many: Vec<DhcpOption> = (0..=MAX_LEASES_PER_MESSAGE as u32)
            .map(|i| ia_na(i, &[]))
            .collect();
        let bytes = client_msg(MessageType::Solicit, many);
        assert_eq!(Inbound::parse(&bytes, false).unwrap_err().kind, "oversized");
        let most: Vec<DhcpOption> = (0..MAX_LEASES_PER_MESSAGE as u32)
            .map(|i| ia_na(i, &[]))
            .collect();
        let inb = parse(&client_msg(MessageType::Solicit, most));
        assert_eq!(
            core_requests(inb.plan(SERVER)).len(),
            MAX_LEASES_PER_MESSAGE
        );
    }

    #[test]
    fn the_largest_accepted_message_gets_a_reply_whose_relay_lengths_fit() {
        // A SOLICIT with the most IAs, relayed twice, the inner relay's Interface-Id padding
        // it up to the largest accepted datagram: the reply (bigger than the request's client
        // part) must still fit the 16-bit length of the outer layer's Relay Message option,
        // which holds everything but the outer header.
        let ias: Vec<DhcpOption> = (0..MAX_LEASES_PER_MESSAGE as u32)
            .map(|i| ia_na(i, &[]))
            .collect();
        let inner = client_msg(MessageType::Solicit, ias);
        let overhead = 2 * (RELAY_HEADER_LEN + 8) + 4;
        let pad = MAX_MESSAGE_LEN - inner.len() - overhead;
        let link = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1);
        let hop0 = relay_forward(0, link, addr(1), Some(&vec![b'a'; pad]), &inner);
        let bytes = relay_forward(1, link, addr(2), Some(b"eth1"), &hop0);
        assert_eq!(bytes.len(), MAX_MESSAGE_LEN);
        let inb = Inbound::parse(&bytes, true).unwrap();
        let answers: Vec<Option<ClientReply>> = (0..MAX_LEASES_PER_MESSAGE as u16)
            .map(|i| granted(LeaseKey::Addr(addr(i)), 3600))
            .collect();
        let out = inb.reply(SERVER, &answers, PERCENT_80).unwrap();
        let (_, iid1, payload1) = open_relay_repl(&out);
        assert_eq!(iid1.as_deref(), Some(&b"eth1"[..]));
        let (_, iid0, payload0) = open_relay_repl(&payload1);
        assert_eq!(iid0.map(|i| i.len()), Some(pad));
        let m = decode(&payload0);
        let na = ia_nas(&m);
        assert_eq!(na.len(), MAX_LEASES_PER_MESSAGE);
        assert!(na.iter().all(|ia| addrs_in(&ia.opts).len() == 1));
    }

    #[test]
    fn duplicate_iaid_is_invalid() {
        let bytes = client_msg(MessageType::Solicit, vec![ia_na(1, &[]), ia_na(1, &[])]);
        assert_eq!(Inbound::parse(&bytes, false).unwrap_err().kind, "invalid");
        // The same IAID in an IA_NA and an IA_PD names two different IAs.
        let bytes = client_msg(MessageType::Solicit, vec![ia_na(1, &[]), ia_pd(1, &[])]);
        assert!(Inbound::parse(&bytes, false).is_ok());
    }

    #[test]
    fn lifetimes_follow_the_percent_and_infinity_stays_infinite() {
        assert_eq!(lease_lifetimes(1000, PERCENT_80), (800, 1000));
        assert_eq!(
            lease_lifetimes(
                1000,
                Lifetimes {
                    preferred_percent: 250
                }
            ),
            (1000, 1000)
        );
        assert_eq!(
            lease_lifetimes(
                u64::MAX,
                Lifetimes {
                    preferred_percent: 100
                }
            ),
            (INFINITY, INFINITY)
        );
        assert_eq!(renewal_times(1000), (500, 800));
        assert_eq!(renewal_times(INFINITY), (INFINITY, INFINITY));
        // T1/T2 of an IA come from its shortest preferred lifetime (RFC 8415 §21.4).
        let bytes = client_msg(MessageType::Rebind, vec![ia_na(1, &[addr(10), addr(11)])]);
        let inb = parse(&bytes);
        let answers = [
            granted(LeaseKey::Addr(addr(10)), 1000),
            granted(LeaseKey::Addr(addr(11)), 500),
        ];
        let m = decode(&inb.reply(SERVER, &answers, PERCENT_80).unwrap());
        let na = &ia_nas(&m)[0];
        assert_eq!((na.t1, na.t2), (200, 320));
    }

    /// xorshift64*: a small seeded generator, so a failing case can be replayed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Everything the driver would do with `bytes`; must not panic, and a reply must decode.
    fn exercise(bytes: &[u8], unicast: bool, rng: &mut Rng) {
        let inb = match Inbound::parse(bytes, unicast) {
            Ok(inb) => inb,
            Err(d) => {
                assert!(
                    [
                        "malformed",
                        "not-for-server",
                        "unknown-type",
                        "invalid",
                        "oversized"
                    ]
                    .contains(&d.kind),
                    "{d:?}"
                );
                return;
            }
        };
        let _ = (inb.client(), inb.kind_name(), inb.xid());
        let out = match inb.plan(SERVER) {
            Plan::Core(reqs) => {
                let answers: Vec<Option<ClientReply>> = reqs
                    .iter()
                    .map(|r| {
                        let lease = match r.op {
                            ClientOp::Renew { lease, .. }
                            | ClientOp::Release { lease, .. }
                            | ClientOp::Decline { lease, .. }
                            | ClientOp::Rebind(lease) => lease,
                            ClientOp::Solicit(LeaseKind::Address)
                            | ClientOp::Request(LeaseKind::Address) => LeaseKey::Addr(addr(1)),
                            ClientOp::Solicit(LeaseKind::Prefix)
                            | ClientOp::Request(LeaseKind::Prefix) => prefix(1),
                        };
                        match rng.below(6) {
                            0 => None,
                            1 => granted(lease, rng.next() % 100_000),
                            2 => answer(ReplyKind::NoBinding(lease)),
                            3 => answer(ReplyKind::NoLeaseAvailable(lease.kind())),
                            4 => answer(ReplyKind::Released(lease)),
                            _ => answer(ReplyKind::Advertise {
                                lease,
                                valid_lifetime: rng.next(),
                            }),
                        }
                    })
                    .collect();
                inb.reply(SERVER, &answers, PERCENT_80)
            }
            Plan::Confirm(_) => Some(inb.reply_confirm(SERVER, rng.below(2) == 0)),
            Plan::InformationRequest => Some(inb.reply_information(SERVER)),
            Plan::UseMulticast => Some(inb.reply_use_multicast(SERVER)),
            Plan::Discard(_) => None,
        };
        if let Some(out) = out {
            assert!(!out.is_empty());
            if inb.relay_depth() == 0 {
                assert!(Message::decode(&mut Decoder::new(&out)).is_ok());
            } else {
                assert_eq!(out[0], u8::from(MessageType::RelayRepl));
            }
        }
    }

    fn valid_packets() -> Vec<Vec<u8>> {
        let link = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1);
        vec![
            solicit(false),
            solicit(true),
            renew(SERVER),
            renew(PARTNER),
            client_msg(
                MessageType::Request,
                vec![
                    DhcpOption::ServerId(SERVER.to_vec()),
                    ia_na(1, &[addr(3)]),
                    ia_pd(2, &[]),
                ],
            ),
            client_msg(
                MessageType::Rebind,
                vec![ia_na(1, &[addr(10)]), ia_pd(2, &[prefix(3)])],
            ),
            client_msg(
                MessageType::Release,
                vec![DhcpOption::ServerId(SERVER.to_vec()), ia_na(1, &[addr(10)])],
            ),
            client_msg(MessageType::Confirm, vec![ia_na(1, &[addr(10)])]),
            client_msg(MessageType::InformationRequest, vec![]),
            relay_forward(
                1,
                link,
                addr(9),
                Some(b"x"),
                &relay_forward(0, link, addr(8), Some(b"eth0"), &solicit(false)),
            ),
        ]
    }

    #[test]
    fn random_bytes_and_bit_flipped_packets_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let len = rng.below(200);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if !bytes.is_empty() && rng.below(2) == 0 {
                // Mostly message types a server handles, so the options get parsed.
                bytes[0] = [1, 3, 4, 5, 6, 8, 9, 11, 12][rng.below(9)];
            }
            let unicast = rng.below(2) == 0;
            exercise(&bytes, unicast, &mut rng);
        }
        let seeds = valid_packets();
        let mut parsed = 0;
        for _ in 0..4000 {
            let mut bytes = seeds[rng.below(seeds.len())].clone();
            for _ in 0..1 + rng.below(4) {
                let bit = rng.below(bytes.len() * 8);
                bytes[bit / 8] ^= 1 << (bit % 8);
            }
            if rng.below(4) == 0 {
                let keep = rng.below(bytes.len() + 1);
                bytes.truncate(keep);
            }
            parsed += usize::from(Inbound::parse(&bytes, false).is_ok());
            exercise(&bytes, rng.below(2) == 0, &mut rng);
        }
        // The mutations must reach the planning and reply code, not only the parser's errors.
        assert!(parsed > 500, "only {parsed} mutated packets parsed");
    }

    /// A random option: a code dhcproto knows (or not), random data of a random length, and
    /// sometimes an IA_NA / IA_PD / Vendor-specific option holding more random options.
    fn random_option(rng: &mut Rng, depth: usize) -> Vec<u8> {
        const CODES: [u16; 24] = [
            1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 23, 24, 25, 26, 56,
        ];
        let code = if rng.below(8) == 0 {
            rng.next() as u16
        } else {
            CODES[rng.below(CODES.len())]
        };
        let mut data: Vec<u8> = (0..rng.below(30)).map(|_| rng.next() as u8).collect();
        if depth < 3 && matches!(code, 3 | 4 | 5 | 17 | 25 | 26) && rng.below(2) == 0 {
            let fixed = match code {
                3 | 25 => 12,
                5 => 24,
                26 => 25,
                _ => 4,
            };
            data.resize(fixed, 0);
            for _ in 0..rng.below(4) {
                data.extend(random_option(rng, depth + 1));
            }
        }
        let mut option = code.to_be_bytes().to_vec();
        option.extend_from_slice(&(data.len() as u16).to_be_bytes());
        option.extend(data);
        option
    }

    #[test]
    fn random_well_framed_options_never_panic() {
        let mut rng = Rng(0x0ddb_a11c_afe5_eed5);
        let mut parsed = 0;
        for _ in 0..3000 {
            let msg_type = [1u8, 3, 4, 5, 6, 8, 9, 11][rng.below(8)];
            let mut bytes = vec![msg_type, 1, 2, 3, 0, 1, 0, CLIENT.len() as u8];
            bytes.extend_from_slice(CLIENT);
            for _ in 0..rng.below(6) {
                bytes.extend(random_option(&mut rng, 0));
            }
            if rng.below(4) == 0 {
                bytes = relay_forward(0, addr(1), addr(2), Some(b"if"), &bytes);
            }
            parsed += usize::from(Inbound::parse(&bytes, false).is_ok());
            exercise(&bytes, rng.below(2) == 0, &mut rng);
        }
        // Enough of them must parse to reach planning and replies (about a third do).
        assert!(parsed > 300, "only {parsed} messages parsed");
    }

    #[test]
    fn every_valid_packet_survives_the_whole_path() {
        let mut rng = Rng(7);
        for bytes in valid_packets() {
            assert!(Inbound::parse(&bytes, false).is_ok());
            exercise(&bytes, false, &mut rng);
        }
    }
}
