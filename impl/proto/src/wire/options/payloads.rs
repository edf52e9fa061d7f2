//! Small fixed-layout option payloads that are more than one integer: protocol version (RFC 8156
//! §5.5.11), reconfigure data (§5.5.13), and the client-describing options failover borrows from
//! other RFCs (FQDN, relay data, VSS).

use std::net::Ipv6Addr;

/// OPTION_F_PROTOCOL_VERSION data (RFC 8156 §5.5.11): two 16-bit numbers. RFC 8156 is 1.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtocolVersion {
    /// major-version, initially 1.
    pub major: u16,
    /// minor-version, initially 0.
    pub minor: u16,
}

impl ProtocolVersion {
    /// The version RFC 8156 defines: 1.0.
    pub const RFC8156: ProtocolVersion = ProtocolVersion { major: 1, minor: 0 };
}

/// OPTION_F_RECONFIGURE_DATA data (RFC 8156 §5.5.13): when the reconfigure key was created, then
/// the key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReconfigureData {
    /// reconfigure-time, absolute (seconds since 2000-01-01, mod 2^32).
    pub reconfigure_time: u32,
    /// reconfigure-key, the rest of the option.
    pub key: Vec<u8>,
}

/// OPTION_CLIENT_FQDN data (RFC 4704 §4): a flags octet then a domain name in RFC 1035 wire form
/// (possibly a partial name), kept as raw octets.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientFqdn {
    /// The flags octet (N, O, S bits of RFC 4704 §4.1).
    pub flags: u8,
    /// domain-name, RFC 1035 wire encoding, not interpreted.
    pub domain_name: Vec<u8>,
}

/// OPTION_LQ_RELAY_DATA data (RFC 5007 §4.1.2.4): the peer address then the relay message the
/// server last received from the client, kept as raw octets (it is an RFC 3315 relay message,
/// not a failover message).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LqRelayData {
    /// peer-address.
    pub peer_address: Ipv6Addr,
    /// DHCP-relay-message, not interpreted.
    pub relay_message: Vec<u8>,
}

/// OPTION_VSS data (RFC 6607 §3.4): a type octet then the VPN identifier, kept as raw octets.
/// RFC 8156 §7.4: present if and only if a non-default VPN is used.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Vss {
    /// VSS type (0 NVT-ASCII VPN identifier, 1 RFC 2685 VPN-ID, 255 global default VPN).
    pub vss_type: u8,
    /// VSS information, not interpreted.
    pub info: Vec<u8>,
}
