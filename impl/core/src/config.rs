//! Endpoint configuration (RFC 8156 §4.1, §6.1.1, §6.5) and its validation.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv6Addr;

use failover_proto::Role;

use crate::dns::DnsConfig;
use crate::lease::{ClientId, LeaseKey};

/// Minimum valid lifetime for new leases: "failover MUST NOT be used for new leases shorter than
/// 30 seconds" (RFC 8156 §1).
pub const MIN_LEASE_LIFETIME: u64 = 30;

/// FO_KEEPALIVE_TIME default (RFC 8156 §6.5).
pub const DEFAULT_KEEPALIVE_TIME: u64 = 60;

/// FO_CONTACT_PER_KEEPALIVE_TIME (RFC 8156 §6.5).
pub const CONTACT_PER_KEEPALIVE_TIME: u64 = 4;

/// The protocol version this endpoint speaks (RFC 8156 §5.5.11: major 1, minor 0).
pub const PROTOCOL_VERSION: (u16, u16) = (1, 0);

/// Configuration of one failover endpoint. Both partners are expected to list the same
/// addresses and prefixes (§4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Our role in the relationship (§3).
    pub role: Role,
    /// Maximum Client Lead Time, seconds (§4.4). On the secondary it is replaced by the primary's
    /// value from CONNECT (§6.1.2).
    pub mclt: u64,
    /// Desired valid lifetime given to clients, seconds (§4.4 "desired lifetime").
    pub desired_lifetime: u64,
    /// Addresses under independent allocation (§4.2.1).
    pub addresses: Vec<Ipv6Addr>,
    /// Delegable prefixes under proportional allocation (§4.2.2).
    pub prefixes: Vec<(Ipv6Addr, u8)>,
    /// FO_KEEPALIVE_TIME, seconds (§6.5); default 60.
    pub keepalive_time: u64,
    /// OPTION_F_MAX_UNACKED_BNDUPD we advertise (§5.5.5).
    pub max_unacked_bndupd: u32,
    /// Length of the STARTUP state timer, seconds (§8.3.2 step 3).
    pub startup_time: u64,
    /// auto-partner-down delay, seconds (§8.9); `None` disables it.
    pub auto_partner_down: Option<u64>,
    /// OPTION_F_RELATIONSHIP_NAME (§5.5.14); `None` means a single relationship.
    pub relationship_name: Option<String>,
    /// Share of available delegable prefixes the primary gives the secondary, in percent (§4.2.2
    /// "configured proportion"). Only the primary uses it.
    pub secondary_prefix_percent: u8,
    /// Delay before a rejected update is resent: the "next periodic scan" of §7.5.4. Seconds.
    pub update_retry: u64,
    /// In RECOVER, drop the connection when neither UPDDONE nor BNDUPD arrives for this long
    /// (§8.5.2 "implementation-dependent amount of time"). Seconds.
    pub recover_timeout: u64,
    /// Decision D8 (on by default): Figure 4 (RFC 8156 §7.5.4) compares a received update with
    /// the latest client transaction this server knows of (its CLT or the partner's raw CLT),
    /// not its own CLT alone. Off is the literal §7.5.4 rule: a server that never talked to the
    /// client dates its EXPIRED copy by the expiry, so a renewal made with the partner before
    /// that expiry but announced after it (a partition, PARTNER-DOWN) is rejected, the
    /// partner's ACTIVE beats the EXPIRED by time(1), and both owe the update until the
    /// client's lease runs out, against §7.5.4's "Ultimately, the server with the most recent
    /// binding information should have its update accepted by its partner" (the partition
    /// drill of `scripts/compare-kea.sh`; the model keeps one CLT per lease, as D8 does).
    pub db_time_includes_partner_clt: bool,
    /// DNS updates (RFC 8156 §9, decision D23); off by default.
    pub dns: DnsConfig,
    /// Reservations (design draft §12, decision D24): lease → the only client that may get it.
    /// Configure the same list on both servers.
    pub reservations: Vec<(LeaseKey, ClientId)>,
}

impl Config {
    /// A configuration with the RFC defaults for `role`: MCLT 3600 s, desired lifetime 3 days,
    /// keepalive 60 s, no leases. Fill in `addresses` and `prefixes`.
    pub fn new(role: Role) -> Config {
        Config {
            role,
            mclt: 3600,
            desired_lifetime: 3 * 86_400,
            addresses: Vec::new(),
            prefixes: Vec::new(),
            keepalive_time: DEFAULT_KEEPALIVE_TIME,
            max_unacked_bndupd: 64,
            startup_time: 10,
            auto_partner_down: None,
            relationship_name: None,
            secondary_prefix_percent: 50,
            update_retry: 30,
            recover_timeout: 300,
            // Decision D8: see the field.
            db_time_includes_partner_clt: true,
            dns: DnsConfig::default(),
            reservations: Vec::new(),
        }
    }

    /// FO_SEND_TIME derived from our own keepalive (§6.6), used until the partner's is known.
    pub fn fo_send_time(&self) -> u64 {
        (self.keepalive_time / CONTACT_PER_KEEPALIVE_TIME).max(1)
    }

    /// Check the configuration; the error names the offending field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.mclt == 0 {
            return Err(ConfigError::ZeroMclt);
        }
        // RFC 8156 §1: "MUST NOT be used for new leases shorter than 30 seconds".
        if self.desired_lifetime < MIN_LEASE_LIFETIME {
            return Err(ConfigError::LifetimeTooShort {
                desired_lifetime: self.desired_lifetime,
            });
        }
        if self.keepalive_time < CONTACT_PER_KEEPALIVE_TIME {
            return Err(ConfigError::KeepaliveTooShort {
                keepalive_time: self.keepalive_time,
            });
        }
        if self.max_unacked_bndupd == 0 {
            return Err(ConfigError::ZeroMaxUnacked);
        }
        if self.startup_time == 0 {
            return Err(ConfigError::ZeroStartupTime);
        }
        if self.auto_partner_down == Some(0) {
            return Err(ConfigError::ZeroAutoPartnerDown);
        }
        if self.secondary_prefix_percent > 100 {
            return Err(ConfigError::PrefixPercentOutOfRange {
                secondary_prefix_percent: self.secondary_prefix_percent,
            });
        }
        if self.update_retry == 0 {
            return Err(ConfigError::ZeroUpdateRetry);
        }
        let mut seen = BTreeSet::new();
        for a in &self.addresses {
            if !seen.insert(*a) {
                return Err(ConfigError::DuplicateAddress(*a));
            }
        }
        let mut seen = BTreeSet::new();
        for p in &self.prefixes {
            if p.1 > 128 {
                return Err(ConfigError::BadPrefixLength(p.0, p.1));
            }
            if !seen.insert(*p) {
                return Err(ConfigError::DuplicatePrefix(p.0, p.1));
            }
        }
        let mut seen = BTreeSet::new();
        for (k, c) in &self.reservations {
            let configured = match k {
                LeaseKey::Addr(a) => self.addresses.contains(a),
                LeaseKey::Prefix(a, l) => self.prefixes.contains(&(*a, *l)),
            };
            if !configured || !seen.insert(*k) {
                return Err(ConfigError::BadReservation(*k));
            }
            if c.0.is_empty() {
                return Err(ConfigError::BadReservation(*k));
            }
        }
        if self.dns.enabled && self.dns.zone.trim_end_matches('.').is_empty() {
            return Err(ConfigError::DnsWithoutZone);
        }
        Ok(())
    }
}

/// A configuration value that cannot be used; each variant names the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `mclt` is 0.
    ZeroMclt,
    /// `desired_lifetime` below the 30 s minimum of RFC 8156 §1.
    LifetimeTooShort {
        /// The configured value.
        desired_lifetime: u64,
    },
    /// `keepalive_time` below FO_CONTACT_PER_KEEPALIVE_TIME seconds (§6.5).
    KeepaliveTooShort {
        /// The configured value.
        keepalive_time: u64,
    },
    /// `max_unacked_bndupd` is 0: no BNDUPD could ever be sent.
    ZeroMaxUnacked,
    /// `startup_time` is 0.
    ZeroStartupTime,
    /// `auto_partner_down` is `Some(0)`.
    ZeroAutoPartnerDown,
    /// `secondary_prefix_percent` above 100.
    PrefixPercentOutOfRange {
        /// The configured value.
        secondary_prefix_percent: u8,
    },
    /// `update_retry` is 0.
    ZeroUpdateRetry,
    /// An entry of `addresses` listed twice.
    DuplicateAddress(Ipv6Addr),
    /// An entry of `prefixes` listed twice.
    DuplicatePrefix(Ipv6Addr, u8),
    /// An entry of `prefixes` with a length above 128.
    BadPrefixLength(Ipv6Addr, u8),
    /// A reservation names a lease not configured, a lease reserved twice, or an empty DUID.
    BadReservation(LeaseKey),
    /// `dns.enabled` without a `dns.zone`.
    DnsWithoutZone,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ZeroMclt => f.write_str("mclt: must be > 0 (RFC 8156 §4.4)"),
            ConfigError::LifetimeTooShort { desired_lifetime } => write!(
                f,
                "desired_lifetime: {desired_lifetime} s is below the {MIN_LEASE_LIFETIME} s minimum (RFC 8156 §1)"
            ),
            ConfigError::KeepaliveTooShort { keepalive_time } => {
                write!(f, "keepalive_time: {keepalive_time} s is below 4 s (RFC 8156 §6.5)")
            }
            ConfigError::ZeroMaxUnacked => f.write_str("max_unacked_bndupd: must be > 0"),
            ConfigError::ZeroStartupTime => f.write_str("startup_time: must be > 0"),
            ConfigError::ZeroAutoPartnerDown => {
                f.write_str("auto_partner_down: Some(0) is not a delay; use None to disable")
            }
            ConfigError::PrefixPercentOutOfRange {
                secondary_prefix_percent,
            } => write!(f, "secondary_prefix_percent: {secondary_prefix_percent} > 100"),
            ConfigError::ZeroUpdateRetry => f.write_str("update_retry: must be > 0"),
            ConfigError::DuplicateAddress(a) => write!(f, "addresses: {a} listed twice"),
            ConfigError::DuplicatePrefix(a, l) => write!(f, "prefixes: {a}/{l} listed twice"),
            ConfigError::BadPrefixLength(a, l) => write!(f, "prefixes: {a}/{l}: length > 128"),
            ConfigError::BadReservation(k) => write!(
                f,
                "reservations: {k} is not configured, is reserved twice or names an empty DUID"
            ),
            ConfigError::DnsWithoutZone => f.write_str("dns.zone: required when dns.enabled"),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field() {
        let mut c = Config::new(Role::Primary);
        assert_eq!(c.validate(), Ok(()));
        c.mclt = 0;
        assert_eq!(c.validate(), Err(ConfigError::ZeroMclt));
        assert!(ConfigError::ZeroMclt.to_string().starts_with("mclt"));
        let mut c = Config::new(Role::Primary);
        c.desired_lifetime = 29;
        assert_eq!(
            c.validate(),
            Err(ConfigError::LifetimeTooShort {
                desired_lifetime: 29
            })
        );
        let mut c = Config::new(Role::Secondary);
        let a: Ipv6Addr = "2001:db8::1".parse().unwrap();
        c.addresses = vec![a, a];
        assert_eq!(c.validate(), Err(ConfigError::DuplicateAddress(a)));
        let mut c = Config::new(Role::Secondary);
        c.prefixes = vec![(a, 64), (a, 64)];
        assert_eq!(c.validate(), Err(ConfigError::DuplicatePrefix(a, 64)));
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("prefixes"));
    }
}
