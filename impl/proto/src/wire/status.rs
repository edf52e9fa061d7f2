//! DHCPv6 status codes as carried in OPTION_STATUS_CODE (RFC 3315 §22.13, §24.4), including the
//! seven RFC 8156 adds (§5.6) and the two RFC 7653 codes a failover connection uses
//! (NotSupported for an unsupported protocol version, §6.1.2; TLSConnectionRefused, RFC 7653 §8.2).
//!
//! The code is an *open* newtype: a peer may send a code this crate does not know (a later RFC),
//! and the codec keeps it as is. Which code to send or how to react is the core's decision, not
//! the codec's.

use std::fmt;

/// A status-code value (16 bits on the wire), with named constants for the registered codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusCode(pub u16);

macro_rules! status_codes {
    ($( $(#[$doc:meta])* $name:ident = $code:literal => $token:literal, )+) => {
        impl StatusCode {
            $( $(#[$doc])* pub const $name: StatusCode = StatusCode($code); )+

            /// Every code this crate names, in code order.
            pub const KNOWN: &'static [StatusCode] = &[$(StatusCode::$name),+];

            /// The registry name (`"OutdatedBindingInformation"`), if this crate knows the code.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $code => Some($token), )+
                    _ => None,
                }
            }
        }
    };
}

status_codes! {
    /// 0 — Success, RFC 3315 §24.4
    SUCCESS = 0 => "Success",
    /// 1 — UnspecFail, RFC 3315 §24.4
    UNSPEC_FAIL = 1 => "UnspecFail",
    /// 2 — NoAddrsAvail, RFC 3315 §24.4
    NO_ADDRS_AVAIL = 2 => "NoAddrsAvail",
    /// 3 — NoBinding, RFC 3315 §24.4
    NO_BINDING = 3 => "NoBinding",
    /// 4 — NotOnLink, RFC 3315 §24.4
    NOT_ON_LINK = 4 => "NotOnLink",
    /// 5 — UseMulticast, RFC 3315 §24.4
    USE_MULTICAST = 5 => "UseMulticast",
    /// 6 — NoPrefixAvail, RFC 3633
    NO_PREFIX_AVAIL = 6 => "NoPrefixAvail",
    /// 7 — UnknownQueryType, RFC 5007
    UNKNOWN_QUERY_TYPE = 7 => "UnknownQueryType",
    /// 8 — MalformedQuery, RFC 5007
    MALFORMED_QUERY = 8 => "MalformedQuery",
    /// 9 — NotConfigured, RFC 5007
    NOT_CONFIGURED = 9 => "NotConfigured",
    /// 10 — NotAllowed, RFC 5007
    NOT_ALLOWED = 10 => "NotAllowed",
    /// 11 — QueryTerminated, RFC 5460 §9 (IANA)
    QUERY_TERMINATED = 11 => "QueryTerminated",
    /// 12 — DataMissing, RFC 7653 §11
    DATA_MISSING = 12 => "DataMissing",
    /// 13 — CatchUpComplete, RFC 7653 §11
    CATCH_UP_COMPLETE = 13 => "CatchUpComplete",
    /// 14 — NotSupported, RFC 7653 §11; CONNECTREPLY for an unsupported protocol version,
    /// RFC 8156 §6.1.2
    NOT_SUPPORTED = 14 => "NotSupported",
    /// 15 — TLSConnectionRefused, RFC 7653 §11 (STARTTLS refused, RFC 7653 §8.2)
    TLS_CONNECTION_REFUSED = 15 => "TLSConnectionRefused",
    /// 16 — AddressInUse, RFC 8156 §5.6
    ADDRESS_IN_USE = 16 => "AddressInUse",
    /// 17 — ConfigurationConflict, RFC 8156 §5.6
    CONFIGURATION_CONFLICT = 17 => "ConfigurationConflict",
    /// 18 — MissingBindingInformation, RFC 8156 §5.6
    MISSING_BINDING_INFORMATION = 18 => "MissingBindingInformation",
    /// 19 — OutdatedBindingInformation, RFC 8156 §5.6
    OUTDATED_BINDING_INFORMATION = 19 => "OutdatedBindingInformation",
    /// 20 — ServerShuttingDown, RFC 8156 §5.6 (typically in DISCONNECT, §5.3.10)
    SERVER_SHUTTING_DOWN = 20 => "ServerShuttingDown",
    /// 21 — DNSUpdateNotSupported, RFC 8156 §5.6
    DNS_UPDATE_NOT_SUPPORTED = 21 => "DNSUpdateNotSupported",
    /// 22 — ExcessiveTimeSkew, RFC 8156 §5.6 (CONNECTREPLY, §6.1.2)
    EXCESSIVE_TIME_SKEW = 22 => "ExcessiveTimeSkew",
}

impl StatusCode {
    /// `true` for Success (0).
    pub const fn is_success(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "status {}", self.0),
        }
    }
}

/// The data of OPTION_STATUS_CODE (RFC 3315 §22.13): a code and a UTF-8 message for humans
/// (RFC 8156 §5.3.10 asks DISCONNECT to say what caused it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Status {
    /// status-code.
    pub code: StatusCode,
    /// status-message, UTF-8, possibly empty.
    pub message: String,
}

impl Status {
    /// A status with a message.
    pub fn new(code: StatusCode, message: impl Into<String>) -> Self {
        Status {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_registries() {
        assert_eq!(StatusCode::SUCCESS.0, 0);
        assert_eq!(StatusCode::NOT_SUPPORTED.0, 14);
        assert_eq!(StatusCode::TLS_CONNECTION_REFUSED.0, 15);
        assert_eq!(StatusCode::ADDRESS_IN_USE.0, 16);
        assert_eq!(StatusCode::EXCESSIVE_TIME_SKEW.0, 22);
        assert_eq!(StatusCode::KNOWN.len(), 23);
        for (i, c) in StatusCode::KNOWN.iter().enumerate() {
            assert_eq!(c.0 as usize, i, "KNOWN is dense and in code order");
        }
    }

    #[test]
    fn display_uses_registry_names() {
        assert_eq!(
            StatusCode::OUTDATED_BINDING_INFORMATION.to_string(),
            "OutdatedBindingInformation (19)"
        );
        assert_eq!(StatusCode(99).to_string(), "status 99");
        assert!(StatusCode::SUCCESS.is_success());
    }
}
