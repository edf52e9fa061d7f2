//! The daemon's configuration: one TOML file (see `examples/primary.toml`).
//!
//! The file names everything one server of a failover relationship needs: its role, its
//! partner's address, the MCLT and lifetimes, the address and prefix pools (the same on both
//! servers, RFC 8156 §4.1), where to store the lease database and where to listen. Parsing turns
//! it into [`DaemonConfig`]; [`DaemonConfig::core_config`] gives failover-core its part.

use std::fmt;
use std::net::{Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use failover_core::{Config as CoreConfig, Role};
use serde::Deserialize;

/// The IANA port of the failover protocol (RFC 8156 §6.1, "dhcp-failover 647").
pub const FAILOVER_PORT: u16 = 647;
/// DHCPv6 server/relay port (RFC 8415 §7.2).
pub const DHCP_SERVER_PORT: u16 = 547;
/// Largest pool the daemon expands (addresses are listed one by one in the lease database).
pub const MAX_POOL_LEASES: u128 = 1 << 20;

/// A configuration file that cannot be used. `Display` names the file, the line when known, the
/// field and what is wrong.
#[derive(Debug)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line of the offending value, when known.
    pub line: Option<usize>,
    /// Dotted path of the field (`partner.address`, `address_pools[1].range`), when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// One server's configuration, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonConfig {
    /// Primary or secondary (RFC 8156 §3).
    pub role: Role,
    /// OPTION_F_RELATIONSHIP_NAME (§5.5.14); `None`: a single relationship.
    pub relationship: Option<String>,
    /// Maximum Client Lead Time, seconds (§4.4).
    pub mclt: u64,
    /// Desired valid lifetime for clients, seconds (§4.4 "desired lifetime").
    pub valid_lifetime: u64,
    /// Preferred lifetime as a share of the valid lifetime granted, percent (RFC 8415 §21.6).
    pub preferred_percent: u8,
    /// The partner link.
    pub partner: PartnerConfig,
    /// The client side.
    pub dhcp: DhcpConfig,
    /// Addresses under independent allocation (§4.2.1), pool by pool.
    pub address_pools: Vec<AddressPool>,
    /// Delegable prefixes under proportional allocation (§4.2.2).
    pub prefix_pools: Vec<PrefixPool>,
    /// The share of free prefixes the primary gives the secondary, percent (§4.2.2).
    pub secondary_prefix_percent: u8,
    /// The redb file holding the lease database and the §8.2 endpoint record.
    pub storage: PathBuf,
    /// The server DUID file (RFC 8415 §11); made at first start, kept across restarts.
    pub duid_file: PathBuf,
    /// The operator's Unix socket (`failover ctl`).
    pub control_socket: PathBuf,
    /// STARTUP timer, seconds (§8.3.2 step 3).
    pub startup_time: u64,
    /// Delay before a rejected update is resent (§7.5.4 "next periodic scan"), seconds.
    pub update_retry: u64,
    /// RECOVER without progress for this long drops the connection (§8.5.2), seconds.
    pub recover_timeout: u64,
    /// Test and benchmark switch: hold each client REPLY that grants a lease until the partner
    /// acknowledged the lease's BNDUPD (what RFC 8156's lazy update avoids). Off by default.
    pub lockstep: bool,
}

/// The partner connection (RFC 8156 §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnerConfig {
    /// Our end: the secondary listens here; the primary connects from this address.
    pub local: SocketAddr,
    /// The partner's end: the primary connects to it; the secondary accepts only this address.
    pub remote: SocketAddr,
    /// FO_KEEPALIVE_TIME, seconds (§6.5).
    pub keepalive: u64,
    /// OPTION_F_MAX_UNACKED_BNDUPD we advertise (§5.5.5).
    pub max_unacked_bndupd: u32,
    /// auto-partner-down delay, seconds (§8.9); `None` disables it.
    pub auto_partner_down: Option<u64>,
    /// First delay before the primary reconnects, seconds; doubles up to `reconnect_max`.
    pub reconnect_min: u64,
    /// Longest delay between the primary's connection attempts, seconds.
    pub reconnect_max: u64,
}

/// The DHCPv6 client side (RFC 8415).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpConfig {
    /// Interfaces on which to join All_DHCP_Relay_Agents_and_Servers (ff02::1:2).
    pub interfaces: Vec<String>,
    /// Address to bind, usually `::`.
    pub bind: Ipv6Addr,
    /// UDP port, 547 unless testing.
    pub port: u16,
}

/// A range of addresses, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressPool {
    /// First address.
    pub first: Ipv6Addr,
    /// Last address.
    pub last: Ipv6Addr,
}

/// A prefix split into delegable prefixes of `delegated_len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefixPool {
    /// The prefix.
    pub prefix: Ipv6Addr,
    /// Its length.
    pub prefix_len: u8,
    /// Length of each delegated prefix.
    pub delegated_len: u8,
}

impl DaemonConfig {
    /// Every address of every pool, in order.
    pub fn addresses(&self) -> Vec<Ipv6Addr> {
        let mut out = Vec::new();
        for p in &self.address_pools {
            let (a, b) = (u128::from(p.first), u128::from(p.last));
            out.extend((a..=b).map(Ipv6Addr::from));
        }
        out
    }

    /// Every delegable prefix of every prefix pool, in order.
    pub fn prefixes(&self) -> Vec<(Ipv6Addr, u8)> {
        let mut out = Vec::new();
        for p in &self.prefix_pools {
            let base = u128::from(p.prefix);
            let count = 1u128 << (p.delegated_len - p.prefix_len);
            let step = 1u128 << (128 - u32::from(p.delegated_len));
            out.extend((0..count).map(|i| (Ipv6Addr::from(base + i * step), p.delegated_len)));
        }
        out
    }

    /// Is `addr` on a link this server serves (inside the /64 of one of its address pools)? The
    /// answer to CONFIRM (RFC 8415 §18.3.3).
    pub fn on_link(&self, addr: Ipv6Addr) -> bool {
        let mask = !0u128 << 64;
        let a = u128::from(addr) & mask;
        self.address_pools
            .iter()
            .any(|p| u128::from(p.first) & mask == a || u128::from(p.last) & mask == a)
    }

    /// failover-core's configuration.
    pub fn core_config(&self) -> CoreConfig {
        let mut c = CoreConfig::new(self.role);
        c.mclt = self.mclt;
        c.desired_lifetime = self.valid_lifetime;
        c.addresses = self.addresses();
        c.prefixes = self.prefixes();
        c.keepalive_time = self.partner.keepalive;
        c.max_unacked_bndupd = self.partner.max_unacked_bndupd;
        c.startup_time = self.startup_time;
        c.auto_partner_down = self.partner.auto_partner_down;
        c.relationship_name = self.relationship.clone();
        c.secondary_prefix_percent = self.secondary_prefix_percent;
        c.update_retry = self.update_retry;
        c.recover_timeout = self.recover_timeout;
        c
    }
}

// ---- the file's shape -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    role: RoleText,
    relationship: Option<String>,
    mclt: u64,
    valid_lifetime: u64,
    #[serde(default = "default_preferred_percent")]
    preferred_percent: u8,
    partner: PartnerFile,
    dhcp: DhcpFile,
    #[serde(default)]
    address_pools: Vec<AddressPoolFile>,
    #[serde(default)]
    prefix_pools: Vec<PrefixPoolFile>,
    #[serde(default = "default_secondary_percent")]
    secondary_prefix_percent: u8,
    storage: PathBuf,
    duid_file: Option<PathBuf>,
    control_socket: PathBuf,
    startup_time: Option<u64>,
    update_retry: Option<u64>,
    recover_timeout: Option<u64>,
    #[serde(default)]
    lockstep: bool,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RoleText {
    Primary,
    Secondary,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartnerFile {
    local: SocketAddr,
    remote: SocketAddr,
    keepalive: Option<u64>,
    max_unacked_bndupd: Option<u32>,
    auto_partner_down: Option<u64>,
    reconnect_min: Option<u64>,
    reconnect_max: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DhcpFile {
    #[serde(default)]
    interfaces: Vec<String>,
    bind: Option<Ipv6Addr>,
    port: Option<u16>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddressPoolFile {
    range: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrefixPoolFile {
    prefix: String,
    delegated_length: u8,
}

fn default_preferred_percent() -> u8 {
    75
}

fn default_secondary_percent() -> u8 {
    50
}

/// Read and validate `path`.
pub fn load(path: &Path) -> Result<DaemonConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        line: None,
        field: None,
        message: format!("cannot read: {e}"),
    })?;
    parse(&text, path)
}

/// Parse and validate `text`; `origin` names the file in errors.
pub fn parse(text: &str, origin: &Path) -> Result<DaemonConfig, ConfigError> {
    let err = |field: Option<&str>, message: String| ConfigError {
        file: origin.to_path_buf(),
        line: None,
        field: field.map(str::to_string),
        message,
    };
    let f: File = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        ConfigError {
            file: origin.to_path_buf(),
            line,
            field: None,
            message: e.message().to_string(),
        }
    })?;
    let defaults = CoreConfig::new(Role::Primary);
    let mut address_pools = Vec::new();
    for (i, p) in f.address_pools.iter().enumerate() {
        let field = format!("address_pools[{i}].range");
        let (a, b) = p
            .range
            .split_once('-')
            .ok_or_else(|| err(Some(&field), "expected FIRST-LAST".into()))?;
        let first: Ipv6Addr = a
            .trim()
            .parse()
            .map_err(|_| err(Some(&field), format!("{a:?} is not an IPv6 address")))?;
        let last: Ipv6Addr = b
            .trim()
            .parse()
            .map_err(|_| err(Some(&field), format!("{b:?} is not an IPv6 address")))?;
        if u128::from(last) < u128::from(first) {
            return Err(err(Some(&field), "the last address is below the first".into()));
        }
        if u128::from(last) - u128::from(first) >= MAX_POOL_LEASES {
            return Err(err(
                Some(&field),
                format!("more than {MAX_POOL_LEASES} addresses"),
            ));
        }
        address_pools.push(AddressPool { first, last });
    }
    let mut prefix_pools = Vec::new();
    for (i, p) in f.prefix_pools.iter().enumerate() {
        let field = format!("prefix_pools[{i}].prefix");
        let (a, l) = p
            .prefix
            .split_once('/')
            .ok_or_else(|| err(Some(&field), "expected ADDRESS/LENGTH".into()))?;
        let prefix: Ipv6Addr = a
            .parse()
            .map_err(|_| err(Some(&field), format!("{a:?} is not an IPv6 address")))?;
        let prefix_len: u8 = l
            .parse()
            .ok()
            .filter(|l| *l <= 128)
            .ok_or_else(|| err(Some(&field), format!("{l:?} is not a length 0-128")))?;
        let d = p.delegated_length;
        if d > 128 || d < prefix_len {
            return Err(err(
                Some(&format!("prefix_pools[{i}].delegated_length")),
                format!("{d} must be between the prefix length {prefix_len} and 128"),
            ));
        }
        if u32::from(d - prefix_len) >= 21 {
            return Err(err(
                Some(&format!("prefix_pools[{i}].delegated_length")),
                format!("more than {MAX_POOL_LEASES} delegated prefixes"),
            ));
        }
        prefix_pools.push(PrefixPool {
            prefix,
            prefix_len,
            delegated_len: d,
        });
    }
    let storage = f.storage;
    let duid_file = f.duid_file.unwrap_or_else(|| {
        let mut p = storage.clone().into_os_string();
        p.push(".duid");
        PathBuf::from(p)
    });
    let cfg = DaemonConfig {
        role: match f.role {
            RoleText::Primary => Role::Primary,
            RoleText::Secondary => Role::Secondary,
        },
        relationship: f.relationship,
        mclt: f.mclt,
        valid_lifetime: f.valid_lifetime,
        preferred_percent: f.preferred_percent,
        partner: PartnerConfig {
            local: f.partner.local,
            remote: f.partner.remote,
            keepalive: f.partner.keepalive.unwrap_or(defaults.keepalive_time),
            max_unacked_bndupd: f
                .partner
                .max_unacked_bndupd
                .unwrap_or(defaults.max_unacked_bndupd),
            auto_partner_down: f.partner.auto_partner_down,
            reconnect_min: f.partner.reconnect_min.unwrap_or(1),
            reconnect_max: f.partner.reconnect_max.unwrap_or(30),
        },
        dhcp: DhcpConfig {
            interfaces: f.dhcp.interfaces,
            bind: f.dhcp.bind.unwrap_or(Ipv6Addr::UNSPECIFIED),
            port: f.dhcp.port.unwrap_or(DHCP_SERVER_PORT),
        },
        address_pools,
        prefix_pools,
        secondary_prefix_percent: f.secondary_prefix_percent,
        storage,
        duid_file,
        control_socket: f.control_socket,
        startup_time: f.startup_time.unwrap_or(defaults.startup_time),
        update_retry: f.update_retry.unwrap_or(defaults.update_retry),
        recover_timeout: f.recover_timeout.unwrap_or(defaults.recover_timeout),
        lockstep: f.lockstep,
    };
    cfg.core_config()
        .validate()
        .map_err(|e| err(None, e.to_string()))?;
    Ok(cfg)
}
