//! DHCPv6 client messages (RFC 8415, via `dhcproto`) to and from failover-core's
//! `ClientRequest` / `ClientReply`.
//!
//! INTERFACE STUB: the helper owning this module replaces the bodies; the signatures are the
//! contract the driver (`driver.rs`) relies on.

use std::net::Ipv6Addr;

use failover_core::{ClientId, ClientReply, ClientRequest};

/// Why a received packet was dropped without an answer (counted by the driver).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dropped {
    /// A short stable name for counters and logs (`malformed`, `not-for-server`, ...).
    pub kind: &'static str,
    /// What exactly.
    pub detail: String,
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

/// A parsed client message (possibly inside RELAY-FORW).
#[derive(Clone, Debug)]
pub struct Inbound {
    _private: (),
}

impl Inbound {
    /// Parse `bytes` received on UDP 547; `unicast` is true when the destination address was not
    /// a multicast address.
    pub fn parse(_bytes: &[u8], _unicast: bool) -> Result<Inbound, Dropped> {
        Err(Dropped {
            kind: "unimplemented",
            detail: "dhcp::Inbound::parse is a stub".into(),
        })
    }

    /// The client's DUID (OPTION_CLIENTID).
    pub fn client(&self) -> &ClientId {
        unimplemented!()
    }

    /// The message type's RFC name (`SOLICIT`, `RENEW`, ...).
    pub fn kind_name(&self) -> &'static str {
        unimplemented!()
    }

    /// What to do with it.
    pub fn plan(&self, _server_duid: &[u8]) -> Plan {
        unimplemented!()
    }

    /// The answer to a [`Plan::Core`] message: `answers[i]` is the node's reply to request `i`.
    /// `None` when nothing is to be sent (every answer `None`).
    pub fn reply(
        &self,
        _server_duid: &[u8],
        _answers: &[Option<ClientReply>],
        _lifetimes: Lifetimes,
    ) -> Option<Vec<u8>> {
        unimplemented!()
    }

    /// The REPLY to a CONFIRM: Success when `on_link`, NotOnLink otherwise.
    pub fn reply_confirm(&self, _server_duid: &[u8], _on_link: bool) -> Vec<u8> {
        unimplemented!()
    }

    /// The REPLY to an INFORMATION-REQUEST.
    pub fn reply_information(&self, _server_duid: &[u8]) -> Vec<u8> {
        unimplemented!()
    }

    /// A REPLY with status UseMulticast.
    pub fn reply_use_multicast(&self, _server_duid: &[u8]) -> Vec<u8> {
        unimplemented!()
    }
}
