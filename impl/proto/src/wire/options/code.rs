//! Option codes: the RFC 8156 options (§5.5, codes 114-134, §11) and the options from other RFCs
//! that failover messages carry (§7.4).

use std::fmt;

/// A DHCPv6 option code as carried on the wire: any 16-bit value, known or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OptionCode(pub u16);

macro_rules! option_codes {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, )+) => {
        impl OptionCode {
            $( $(#[$doc])* pub const $name: OptionCode = OptionCode($code); )+

            /// Every code this crate decodes into a typed [`super::DhcpOption`], in code order.
            pub const KNOWN: &'static [OptionCode] = &[$(OptionCode::$name),+];

            /// The RFC name (`"OPTION_F_MCLT"`), if this crate knows the code.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $code => Some(stringify!($name)), )+
                    _ => None,
                }
            }
        }
    };
}

option_codes! {
    /// 1 — OPTION_CLIENTID, RFC 3315 §22.2
    OPTION_CLIENTID = 1,
    /// 3 — OPTION_IA_NA, RFC 3315 §22.4
    OPTION_IA_NA = 3,
    /// 4 — OPTION_IA_TA, RFC 3315 §22.5
    OPTION_IA_TA = 4,
    /// 5 — OPTION_IAADDR, RFC 3315 §22.6
    OPTION_IAADDR = 5,
    /// 13 — OPTION_STATUS_CODE, RFC 3315 §22.13
    OPTION_STATUS_CODE = 13,
    /// 25 — OPTION_IA_PD, RFC 3633 §9
    OPTION_IA_PD = 25,
    /// 26 — OPTION_IAPREFIX, RFC 3633 §10
    OPTION_IAPREFIX = 26,
    /// 39 — OPTION_CLIENT_FQDN, RFC 4704 §4
    OPTION_CLIENT_FQDN = 39,
    /// 45 — OPTION_CLIENT_DATA, RFC 5007 §4.1.2.2
    OPTION_CLIENT_DATA = 45,
    /// 46 — OPTION_CLT_TIME, RFC 5007 §4.1.2.3
    OPTION_CLT_TIME = 46,
    /// 47 — OPTION_LQ_RELAY_DATA, RFC 5007 §4.1.2.4
    OPTION_LQ_RELAY_DATA = 47,
    /// 68 — OPTION_VSS, RFC 6607 §3.4
    OPTION_VSS = 68,
    /// 100 — OPTION_LQ_BASE_TIME, RFC 7653 §6.3.1
    OPTION_LQ_BASE_TIME = 100,
    /// 114 — OPTION_F_BINDING_STATUS, RFC 8156 §5.5.1
    OPTION_F_BINDING_STATUS = 114,
    /// 115 — OPTION_F_CONNECT_FLAGS, RFC 8156 §5.5.2
    OPTION_F_CONNECT_FLAGS = 115,
    /// 116 — OPTION_F_DNS_REMOVAL_INFO, RFC 8156 §5.5.3
    OPTION_F_DNS_REMOVAL_INFO = 116,
    /// 117 — OPTION_F_DNS_HOST_NAME, RFC 8156 §5.5.3.1
    OPTION_F_DNS_HOST_NAME = 117,
    /// 118 — OPTION_F_DNS_ZONE_NAME, RFC 8156 §5.5.3.2
    OPTION_F_DNS_ZONE_NAME = 118,
    /// 119 — OPTION_F_DNS_FLAGS, RFC 8156 §5.5.3.3
    OPTION_F_DNS_FLAGS = 119,
    /// 120 — OPTION_F_EXPIRATION_TIME, RFC 8156 §5.5.4
    OPTION_F_EXPIRATION_TIME = 120,
    /// 121 — OPTION_F_MAX_UNACKED_BNDUPD, RFC 8156 §5.5.5
    OPTION_F_MAX_UNACKED_BNDUPD = 121,
    /// 122 — OPTION_F_MCLT, RFC 8156 §5.5.6
    OPTION_F_MCLT = 122,
    /// 123 — OPTION_F_PARTNER_LIFETIME, RFC 8156 §5.5.7
    OPTION_F_PARTNER_LIFETIME = 123,
    /// 124 — OPTION_F_PARTNER_LIFETIME_SENT, RFC 8156 §5.5.8
    OPTION_F_PARTNER_LIFETIME_SENT = 124,
    /// 125 — OPTION_F_PARTNER_DOWN_TIME, RFC 8156 §5.5.9
    OPTION_F_PARTNER_DOWN_TIME = 125,
    /// 126 — OPTION_F_PARTNER_RAW_CLT_TIME, RFC 8156 §5.5.10
    OPTION_F_PARTNER_RAW_CLT_TIME = 126,
    /// 127 — OPTION_F_PROTOCOL_VERSION, RFC 8156 §5.5.11
    OPTION_F_PROTOCOL_VERSION = 127,
    /// 128 — OPTION_F_KEEPALIVE_TIME, RFC 8156 §5.5.12
    OPTION_F_KEEPALIVE_TIME = 128,
    /// 129 — OPTION_F_RECONFIGURE_DATA, RFC 8156 §5.5.13
    OPTION_F_RECONFIGURE_DATA = 129,
    /// 130 — OPTION_F_RELATIONSHIP_NAME, RFC 8156 §5.5.14
    OPTION_F_RELATIONSHIP_NAME = 130,
    /// 131 — OPTION_F_SERVER_FLAGS, RFC 8156 §5.5.15
    OPTION_F_SERVER_FLAGS = 131,
    /// 132 — OPTION_F_SERVER_STATE, RFC 8156 §5.5.16
    OPTION_F_SERVER_STATE = 132,
    /// 133 — OPTION_F_START_TIME_OF_STATE, RFC 8156 §5.5.17
    OPTION_F_START_TIME_OF_STATE = 133,
    /// 134 — OPTION_F_STATE_EXPIRATION_TIME, RFC 8156 §5.5.18
    OPTION_F_STATE_EXPIRATION_TIME = 134,
}

impl OptionCode {
    /// The RFC name, or `"unknown option"` (used in error messages).
    pub const fn name_or_unknown(self) -> &'static str {
        match self.name() {
            Some(name) => name,
            None => "unknown option",
        }
    }
}

impl fmt::Display for OptionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "option {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failover_codes_are_114_to_134() {
        let failover: Vec<u16> = OptionCode::KNOWN
            .iter()
            .map(|c| c.0)
            .filter(|&c| c >= 114)
            .collect();
        assert_eq!(failover, (114..=134).collect::<Vec<u16>>());
        assert_eq!(OptionCode::OPTION_F_MCLT.name(), Some("OPTION_F_MCLT"));
        assert_eq!(OptionCode(2).name(), None);
        assert_eq!(OptionCode(7).to_string(), "option 7");
        assert_eq!(OptionCode::OPTION_VSS.to_string(), "OPTION_VSS (68)");
    }
}
