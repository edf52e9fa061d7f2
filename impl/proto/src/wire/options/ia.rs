//! Identity associations and their leases (RFC 3315 §22.4-22.6, RFC 3633 §9-10), as a BNDUPD
//! carries them inside OPTION_CLIENT_DATA, or (a bare OPTION_IAPREFIX) on its own (RFC 8156 §7.4).
//!
//! The failover data of a lease (OPTION_F_BINDING_STATUS, OPTION_F_START_TIME_OF_STATE, ...) rides
//! in the `options` of [`IaAddr`] and [`IaPrefix`] (§7.4 "Inside of the IAaddr-options or
//! IAprefix-options"); the codec decodes them like any other option and leaves the "MUST appear"
//! checks to the receiver (§7.5.3, status MissingBindingInformation).

use std::net::Ipv6Addr;

use super::DhcpOption;

/// OPTION_IA_NA data (RFC 3315 §22.4): IAID, T1, T2 (as sent to the client, RFC 8156 §7.4), then
/// IA_NA-options.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IaNa {
    /// IAID chosen by the client.
    pub iaid: u32,
    /// T1 sent to the client, seconds.
    pub t1: u32,
    /// T2 sent to the client, seconds.
    pub t2: u32,
    /// IA_NA-options: OPTION_IAADDR (one per address), possibly OPTION_STATUS_CODE.
    pub options: Vec<DhcpOption>,
}

/// OPTION_IA_TA data (RFC 3315 §22.5): IAID then IA_TA-options (no T1/T2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IaTa {
    /// IAID chosen by the client.
    pub iaid: u32,
    /// IA_TA-options: OPTION_IAADDR (one per address).
    pub options: Vec<DhcpOption>,
}

/// OPTION_IA_PD data (RFC 3633 §9): IAID, T1, T2, then IA_PD-options.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IaPd {
    /// IAID chosen by the client.
    pub iaid: u32,
    /// T1 sent to the client, seconds.
    pub t1: u32,
    /// T2 sent to the client, seconds.
    pub t2: u32,
    /// IA_PD-options: OPTION_IAPREFIX (one per delegated prefix).
    pub options: Vec<DhcpOption>,
}

/// OPTION_IAADDR data (RFC 3315 §22.6): an address, its lifetimes as sent to the client, then
/// IAaddr-options (where RFC 8156 §7.4 puts the lease's failover data).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IaAddr {
    /// The IPv6 address.
    pub addr: Ipv6Addr,
    /// Preferred lifetime sent to the client, seconds.
    pub preferred_lifetime: u32,
    /// Valid lifetime sent to the client, seconds.
    pub valid_lifetime: u32,
    /// IAaddr-options.
    pub options: Vec<DhcpOption>,
}

/// OPTION_IAPREFIX data (RFC 3633 §10). Note the field order on the wire: lifetimes *before* the
/// prefix-length and prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IaPrefix {
    /// Preferred lifetime sent to the client, seconds (0 for a prefix not delegated to a client).
    pub preferred_lifetime: u32,
    /// Valid lifetime sent to the client, seconds.
    pub valid_lifetime: u32,
    /// Prefix length in bits, at most 128.
    pub prefix_len: u8,
    /// The prefix.
    pub prefix: Ipv6Addr,
    /// IAprefix-options.
    pub options: Vec<DhcpOption>,
}
