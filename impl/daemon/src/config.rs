//! The daemon's configuration: one TOML file (see `examples/primary.toml`,
//! `examples/secondary.toml` and `docs/daemon-config.md`).
//!
//! The file names everything one server of a failover relationship needs: its role, its
//! partner's address, the MCLT and lifetimes, the address and prefix pools (the same on both
//! servers, RFC 8156 §4.1), where to store the lease database and where to listen. Parsing turns
//! it into [`DaemonConfig`]; [`DaemonConfig::core_config`] gives failover-core its part.

use std::fmt;
use std::net::{Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use failover_core::{
    Config as CoreConfig, ConfigError as CoreConfigError, Role, CONTACT_PER_KEEPALIVE_TIME,
    MIN_LEASE_LIFETIME,
};
use serde::Deserialize;
use toml::Spanned;

/// The IANA port of the failover protocol (RFC 8156 §6.1, "dhcp-failover 647").
pub const FAILOVER_PORT: u16 = 647;
/// DHCPv6 server/relay port (RFC 8415 §7.2).
pub const DHCP_SERVER_PORT: u16 = 547;
/// Largest pool the daemon expands (addresses are listed one by one in the lease database).
pub const MAX_POOL_LEASES: u128 = 1 << 20;
/// Largest number of leases (addresses plus delegable prefixes) in all pools together: each is
/// listed in memory and in the lease database.
pub const MAX_TOTAL_LEASES: u128 = 1 << 22;
/// Longest relationship name: OPTION_F_RELATIONSHIP_NAME's option-len is 16 bits (RFC 8156
/// §5.5.14), but the name travels in CONNECT, whose frame holds at most 65535 octets (§5.1,
/// RFC 5460 §5.1): 8 of header, 8 each for OPTION_F_PROTOCOL_VERSION, OPTION_F_MCLT,
/// OPTION_F_KEEPALIVE_TIME and OPTION_F_MAX_UNACKED_BNDUPD, 6 for OPTION_F_CONNECT_FLAGS and 4
/// for the name option's own code and length leave 65535 - 50.
pub const MAX_RELATIONSHIP_NAME_LEN: usize = 65_485;
/// Longest network interface name (Linux IFNAMSIZ is 16, terminating NUL included).
pub const MAX_INTERFACE_NAME_LEN: usize = 15;
/// Longest control socket path (`sun_path` of a Unix socket address is 108 octets, terminating
/// NUL included).
pub const MAX_SOCKET_PATH_LEN: usize = 107;

/// A configuration file that cannot be used. `Display` names the file, the line when known, the
/// field and what is wrong: `FILE:LINE: field `x.y`: message`. Array entries are numbered from
/// 0 (`address_pools[1]` is the second `[[address_pools]]`).
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
    /// `[tls]`: secure mode on the partner link (RFC 8156 §10); `None`: insecure mode (plain
    /// TCP), logged as such at start-up.
    pub tls: Option<TlsConfig>,
}

/// The `[tls]` table: this server's certificate and key and how its partner's certificate is
/// accepted (RFC 8156 §10, RFC 7653 §9.1). The files are read and checked when the
/// configuration is loaded (see [`crate::tls::PartnerTls::load`]) and again at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM: this server's certificate, then any intermediate CA certificates.
    pub cert: PathBuf,
    /// PEM: this server's private key.
    pub key: PathBuf,
    /// How the partner's certificate is accepted.
    pub trust: TlsTrust,
    /// With `ca`: the DNS name the partner's certificate must carry; `None`: its
    /// subjectAltName must hold `partner.remote`'s IP address.
    pub partner_name: Option<String>,
}

/// How the partner's certificate is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsTrust {
    /// `tls.ca`: PEM file of the CA certificates the partner's certificate must chain to.
    Ca(PathBuf),
    /// `tls.partner_cert`: PEM file of the partner's own (self-signed) certificate, pinned.
    Pin(PathBuf),
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
    /// Longest time a new partner connection may take to be admitted (the STARTTLS exchange
    /// and the TLS handshake, or the first octets in plain mode), seconds (RFC 8156 §10).
    pub handshake_timeout: u64,
    /// Most connections from the partner's address admitted at once; a new one beyond this
    /// closes the oldest still being admitted (RFC 8156 §10: "limit the number of accepted
    /// connections").
    pub max_pending_connections: usize,
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
//
// Every value the daemon checks is kept with its span (byte range in the file) so that an
// error found after deserialising still names its line. Integers are read as `i64` (TOML's
// integer type) and range-checked here, so that a negative or oversized number gets the same
// "expected A to B" message as any other out-of-range value.

type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    role: RoleText,
    relationship: Option<S<String>>,
    mclt: S<i64>,
    valid_lifetime: S<i64>,
    preferred_percent: Option<S<i64>>,
    partner: S<PartnerFile>,
    dhcp: S<DhcpFile>,
    #[serde(default)]
    address_pools: Vec<S<AddressPoolFile>>,
    #[serde(default)]
    prefix_pools: Vec<S<PrefixPoolFile>>,
    secondary_prefix_percent: Option<S<i64>>,
    storage: S<String>,
    duid_file: Option<S<String>>,
    control_socket: S<String>,
    startup_time: Option<S<i64>>,
    update_retry: Option<S<i64>>,
    recover_timeout: Option<S<i64>>,
    #[serde(default)]
    lockstep: bool,
    tls: Option<S<TlsFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert: S<String>,
    key: S<String>,
    ca: Option<S<String>>,
    partner_cert: Option<S<String>>,
    partner_name: Option<S<String>>,
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
    local: S<String>,
    remote: S<String>,
    keepalive: Option<S<i64>>,
    max_unacked_bndupd: Option<S<i64>>,
    auto_partner_down: Option<S<i64>>,
    reconnect_min: Option<S<i64>>,
    reconnect_max: Option<S<i64>>,
    handshake_timeout: Option<S<i64>>,
    max_pending_connections: Option<S<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DhcpFile {
    #[serde(default)]
    interfaces: Vec<S<String>>,
    bind: Option<S<String>>,
    port: Option<S<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddressPoolFile {
    range: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrefixPoolFile {
    prefix: S<String>,
    delegated_length: S<i64>,
}

/// Default `preferred_percent`.
pub const DEFAULT_PREFERRED_PERCENT: u8 = 75;
/// Default `partner.reconnect_min`, seconds.
pub const DEFAULT_RECONNECT_MIN: u64 = 1;
/// Default `partner.reconnect_max`, seconds.
pub const DEFAULT_RECONNECT_MAX: u64 = 30;
/// Default `partner.handshake_timeout`, seconds: a partner on a sane network finishes the
/// STARTTLS exchange and the TLS handshake in well under a second.
pub const DEFAULT_HANDSHAKE_TIMEOUT: u64 = 10;
/// Default `partner.max_pending_connections`: one relationship needs one connection; a few
/// more let a reconnecting partner in beside stale attempts.
pub const DEFAULT_MAX_PENDING_CONNECTIONS: u64 = 4;

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

/// Parse and validate `text`; `origin` names the file in errors. Never panics: any text gives
/// either a configuration or an error naming the line and field.
pub fn parse(text: &str, origin: &Path) -> Result<DaemonConfig, ConfigError> {
    let cx = Cx { text, origin };
    let f: File = toml::from_str(text).map_err(|e| cx.toml_error(&e))?;
    cx.build(&f)
}

/// Where errors point: the file's text and name.
struct Cx<'a> {
    text: &'a str,
    origin: &'a Path,
}

/// A closed interval of 128-bit addresses, with the pool entry it comes from.
#[derive(Clone, Copy)]
struct Block {
    lo: u128,
    hi: u128,
    /// `false`: `address_pools[index]`; `true`: `prefix_pools[index]`.
    prefix: bool,
    index: usize,
}

impl Cx<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    fn err(&self, offset: Option<usize>, field: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.origin.to_path_buf(),
            line: offset.map(|o| self.line_of(o)),
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    fn at<T>(&self, v: &S<T>, field: &str, message: impl Into<String>) -> ConfigError {
        self.err(Some(v.span().start), field, message)
    }

    /// An integer in `lo..=hi`; `what` is the unit and any reason for the bounds.
    fn int(
        &self,
        v: &S<i64>,
        field: &str,
        lo: u64,
        hi: u64,
        what: &str,
    ) -> Result<u64, ConfigError> {
        match u64::try_from(*v.get_ref()) {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n),
            _ => Err(self.at(
                v,
                field,
                format!("expected {lo} to {hi} {what}, got {}", v.get_ref()),
            )),
        }
    }

    fn opt_int(
        &self,
        v: &Option<S<i64>>,
        field: &str,
        lo: u64,
        hi: u64,
        what: &str,
        default: u64,
    ) -> Result<u64, ConfigError> {
        match v {
            Some(v) => self.int(v, field, lo, hi, what),
            None => Ok(default),
        }
    }

    fn ip(
        &self,
        v: &S<String>,
        text: &str,
        field: &str,
        example: &str,
    ) -> Result<Ipv6Addr, ConfigError> {
        text.trim().parse().map_err(|_| {
            self.at(
                v,
                field,
                format!("`{text}` is not an IPv6 address; write e.g. {example}"),
            )
        })
    }

    fn socket(&self, v: &S<String>, field: &str, example: &str) -> Result<SocketAddr, ConfigError> {
        v.get_ref().parse().map_err(|_| {
            self.at(
                v,
                field,
                format!(
                    "`{}` is not an address and port; write [IPv6]:PORT, e.g. {example}",
                    v.get_ref()
                ),
            )
        })
    }

    fn path(&self, v: &S<String>, field: &str) -> Result<PathBuf, ConfigError> {
        if v.get_ref().is_empty() {
            return Err(self.at(v, field, "must not be empty; expected a file path"));
        }
        if v.get_ref().contains('\0') {
            return Err(self.at(v, field, "a path cannot contain a NUL character"));
        }
        Ok(PathBuf::from(v.get_ref()))
    }

    /// The whole file, validated.
    fn build(&self, f: &File) -> Result<DaemonConfig, ConfigError> {
        let u32_max = u64::from(u32::MAX);
        let role = match f.role {
            RoleText::Primary => Role::Primary,
            RoleText::Secondary => Role::Secondary,
        };
        let relationship = match &f.relationship {
            None => None,
            Some(v) => Some(self.relationship(v)?),
        };
        let mclt = self.int(
            &f.mclt,
            "mclt",
            1,
            u32_max,
            "seconds (RFC 8156 §4.4, §5.5.6)",
        )?;
        let valid_lifetime = self.int(
            &f.valid_lifetime,
            "valid_lifetime",
            MIN_LEASE_LIFETIME,
            u32_max - 1,
            "seconds (RFC 8156 §1: at least 30; RFC 8415 §7.7: 4294967295 means infinity)",
        )?;
        let preferred_percent = self.opt_int(
            &f.preferred_percent,
            "preferred_percent",
            1,
            100,
            "(percent of the valid lifetime)",
            u64::from(DEFAULT_PREFERRED_PERCENT),
        )?;
        let defaults = CoreConfig::new(role);
        let secondary_prefix_percent = self.opt_int(
            &f.secondary_prefix_percent,
            "secondary_prefix_percent",
            0,
            100,
            "(percent of the free prefixes, RFC 8156 §4.2.2)",
            u64::from(defaults.secondary_prefix_percent),
        )?;
        let partner = self.partner(role, f.partner.get_ref())?;
        let dhcp = self.dhcp(&f.dhcp)?;
        let (address_pools, prefix_pools) = self.pools(f)?;
        let storage = self.path(&f.storage, "storage")?;
        let duid_file = match &f.duid_file {
            Some(v) => self.path(v, "duid_file")?,
            None => {
                let mut p = storage.clone().into_os_string();
                p.push(".duid");
                PathBuf::from(p)
            }
        };
        let control_socket = self.path(&f.control_socket, "control_socket")?;
        if f.control_socket.get_ref().len() > MAX_SOCKET_PATH_LEN {
            return Err(self.at(
                &f.control_socket,
                "control_socket",
                format!(
                    "{} octets; a Unix socket path holds at most {MAX_SOCKET_PATH_LEN}",
                    f.control_socket.get_ref().len()
                ),
            ));
        }
        if let Some(v) = &f.duid_file {
            if duid_file == storage {
                return Err(self.at(
                    v,
                    "duid_file",
                    "is the same file as `storage`; expected another path",
                ));
            }
        }
        for (other, name) in [(&storage, "storage"), (&duid_file, "duid_file")] {
            if control_socket == *other {
                return Err(self.at(
                    &f.control_socket,
                    "control_socket",
                    format!("is the same file as `{name}`; expected another path"),
                ));
            }
        }
        let seconds = "seconds";
        let startup_time = self.opt_int(
            &f.startup_time,
            "startup_time",
            1,
            u32_max,
            seconds,
            defaults.startup_time,
        )?;
        let update_retry = self.opt_int(
            &f.update_retry,
            "update_retry",
            1,
            u32_max,
            seconds,
            defaults.update_retry,
        )?;
        let recover_timeout = self.opt_int(
            &f.recover_timeout,
            "recover_timeout",
            1,
            u32_max,
            seconds,
            defaults.recover_timeout,
        )?;
        let cfg = DaemonConfig {
            role,
            relationship,
            mclt,
            valid_lifetime,
            preferred_percent: preferred_percent as u8,
            partner,
            dhcp,
            address_pools,
            prefix_pools,
            secondary_prefix_percent: secondary_prefix_percent as u8,
            storage,
            duid_file,
            control_socket,
            startup_time,
            update_retry,
            recover_timeout,
            lockstep: f.lockstep,
            tls: None,
        };
        // The checks above cover the core's rules with the file's own words; the core stays
        // the authority, and anything it still rejects is reported under the file's names.
        cfg.core_config()
            .validate()
            .map_err(|e| self.core_error(f, &cfg, &e))?;
        let tls = match &f.tls {
            None => None,
            Some(t) => Some(self.tls(t, role, cfg.partner.remote.ip())?),
        };
        Ok(DaemonConfig { tls, ..cfg })
    }

    /// `[tls]`: the paths, then the files themselves, read and checked now so that a bad file
    /// is named before the server starts (and by `--check-config`).
    fn tls(
        &self,
        t: &S<TlsFile>,
        role: Role,
        partner: std::net::IpAddr,
    ) -> Result<TlsConfig, ConfigError> {
        let tf = t.get_ref();
        let cert = self.path(&tf.cert, "tls.cert")?;
        let key = self.path(&tf.key, "tls.key")?;
        let trust = match (&tf.ca, &tf.partner_cert) {
            (Some(ca), None) => TlsTrust::Ca(self.path(ca, "tls.ca")?),
            (None, Some(pin)) => TlsTrust::Pin(self.path(pin, "tls.partner_cert")?),
            (Some(_), Some(pin)) => {
                return Err(self.at(
                    pin,
                    "tls.partner_cert",
                    "set together with `tls.ca`; expected one of them: a CA the partner's certificate chains to, or the partner's own certificate",
                ))
            }
            (None, None) => {
                return Err(self.at(
                    t,
                    "tls",
                    "neither `ca` nor `partner_cert` is set; expected one of them, so that the partner's certificate can be checked (RFC 7653 §9.1: mutual authentication)",
                ))
            }
        };
        let partner_name = match &tf.partner_name {
            None => None,
            Some(v) if v.get_ref().is_empty() => {
                return Err(self.at(
                    v,
                    "tls.partner_name",
                    "must not be empty; leave it out to match the partner's IP address",
                ))
            }
            Some(v) => Some(v.get_ref().clone()),
        };
        let cfg = TlsConfig {
            cert,
            key,
            trust,
            partner_name,
        };
        if let Err(e) = crate::tls::PartnerTls::load(&cfg, role, partner) {
            let v = match e.field {
                "tls.cert" => Some(&tf.cert),
                "tls.key" => Some(&tf.key),
                "tls.ca" => tf.ca.as_ref(),
                "tls.partner_cert" => tf.partner_cert.as_ref(),
                "tls.partner_name" => tf.partner_name.as_ref(),
                _ => None,
            };
            return Err(self.err(v.map(|v| v.span().start), e.field, e.message));
        }
        Ok(cfg)
    }

    fn relationship(&self, v: &S<String>) -> Result<String, ConfigError> {
        let name = v.get_ref();
        let field = "relationship";
        if name.is_empty() {
            return Err(self.at(
                v,
                field,
                "must not be empty; leave `relationship` out for a single relationship (RFC 8156 §5.5.14)",
            ));
        }
        if name.len() > MAX_RELATIONSHIP_NAME_LEN {
            return Err(self.at(
                v,
                field,
                format!(
                    "{} octets; at most {MAX_RELATIONSHIP_NAME_LEN} fit in a CONNECT (RFC 8156 §5.5.14, §5.1)",
                    name.len()
                ),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(self.at(
                v,
                field,
                "contains a control character; expected text for display (RFC 8156 §5.5.14)",
            ));
        }
        Ok(name.clone())
    }

    fn partner(&self, role: Role, p: &PartnerFile) -> Result<PartnerConfig, ConfigError> {
        let u32_max = u64::from(u32::MAX);
        let local = self.socket(&p.local, "partner.local", "[fd00:fa11::1]:647")?;
        let remote = self.socket(&p.remote, "partner.remote", "[fd00:fa11::2]:647")?;
        let r = &p.remote;
        if remote.ip().is_unspecified() {
            return Err(self.at(
                r,
                "partner.remote",
                "is the unspecified address; expected the partner's address",
            ));
        }
        if remote.ip().is_multicast() {
            return Err(self.at(
                r,
                "partner.remote",
                "is a multicast address; expected the partner's unicast address",
            ));
        }
        if remote.port() == 0 {
            return Err(self.at(
                r,
                "partner.remote",
                format!("port 0; expected the partner's port, usually {FAILOVER_PORT}"),
            ));
        }
        if remote == local {
            return Err(self.at(
                r,
                "partner.remote",
                "is the same as `partner.local`; expected the partner's address",
            ));
        }
        if remote.is_ipv6() != local.is_ipv6() {
            return Err(self.at(
                r,
                "partner.remote",
                "is not of the same address family as `partner.local`; expected both IPv6 or both IPv4",
            ));
        }
        if local.ip().is_multicast() {
            return Err(self.at(
                &p.local,
                "partner.local",
                "is a multicast address; expected one of this server's addresses or `[::]`",
            ));
        }
        if role == Role::Secondary && local.port() == 0 {
            return Err(self.at(
                &p.local,
                "partner.local",
                format!("port 0; the secondary listens here, expected a fixed port, usually {FAILOVER_PORT}"),
            ));
        }
        let defaults = CoreConfig::new(role);
        let keepalive = self.opt_int(
            &p.keepalive,
            "partner.keepalive",
            CONTACT_PER_KEEPALIVE_TIME,
            u32_max,
            "seconds (RFC 8156 §6.5: FO_KEEPALIVE_TIME, at least FO_CONTACT_PER_KEEPALIVE_TIME)",
            defaults.keepalive_time,
        )?;
        let max_unacked_bndupd = self.opt_int(
            &p.max_unacked_bndupd,
            "partner.max_unacked_bndupd",
            1,
            u32_max,
            "messages (RFC 8156 §5.5.5)",
            u64::from(defaults.max_unacked_bndupd),
        )? as u32;
        let auto_partner_down = match &p.auto_partner_down {
            None => None,
            Some(v) => Some(self.int(
                v,
                "partner.auto_partner_down",
                1,
                u32_max,
                "seconds (RFC 8156 §8.9; leave the key out to disable)",
            )?),
        };
        let reconnect_min = self.opt_int(
            &p.reconnect_min,
            "partner.reconnect_min",
            1,
            u32_max,
            "seconds",
            DEFAULT_RECONNECT_MIN,
        )?;
        let reconnect_max = self.opt_int(
            &p.reconnect_max,
            "partner.reconnect_max",
            1,
            u32_max,
            "seconds",
            DEFAULT_RECONNECT_MAX,
        )?;
        if reconnect_min > reconnect_max {
            // Point at whichever of the two the file sets (max first: it is the one usually
            // lowered by mistake).
            // With neither set the defaults (1 <= 30) cannot get here.
            let (v, field) = match &p.reconnect_max {
                Some(v) => (Some(v), "partner.reconnect_max"),
                None => (p.reconnect_min.as_ref(), "partner.reconnect_min"),
            };
            return Err(self.err(
                v.map(|v| v.span().start),
                field,
                format!("reconnect_min {reconnect_min} s is above reconnect_max {reconnect_max} s; expected min <= max"),
            ));
        }
        let handshake_timeout = self.opt_int(
            &p.handshake_timeout,
            "partner.handshake_timeout",
            1,
            3600,
            "seconds (RFC 8156 §10: how long a new partner connection may take to be admitted)",
            DEFAULT_HANDSHAKE_TIMEOUT,
        )?;
        let max_pending_connections = self.opt_int(
            &p.max_pending_connections,
            "partner.max_pending_connections",
            1,
            1024,
            "connections (RFC 8156 §10: connections being admitted at once)",
            DEFAULT_MAX_PENDING_CONNECTIONS,
        )? as usize;
        Ok(PartnerConfig {
            local,
            remote,
            keepalive,
            max_unacked_bndupd,
            auto_partner_down,
            reconnect_min,
            reconnect_max,
            handshake_timeout,
            max_pending_connections,
        })
    }

    fn dhcp(&self, d: &S<DhcpFile>) -> Result<DhcpConfig, ConfigError> {
        let mut interfaces: Vec<String> = Vec::new();
        for (i, v) in d.get_ref().interfaces.iter().enumerate() {
            let field = format!("dhcp.interfaces[{i}]");
            let name = v.get_ref();
            if name.is_empty() {
                return Err(self.at(v, &field, "empty interface name; expected e.g. \"eth0\""));
            }
            if name.len() > MAX_INTERFACE_NAME_LEN {
                return Err(self.at(
                    v,
                    &field,
                    format!("`{name}` is {} octets; interface names have at most {MAX_INTERFACE_NAME_LEN}", name.len()),
                ));
            }
            if name
                .chars()
                .any(|c| c == '/' || c.is_whitespace() || c.is_control())
            {
                return Err(self.at(
                    v,
                    &field,
                    format!(
                        "`{}` is not an interface name (no '/', spaces or control characters)",
                        name.escape_debug()
                    ),
                ));
            }
            if let Some(j) = interfaces.iter().position(|n| n == name) {
                return Err(self.at(
                    v,
                    &field,
                    format!("`{name}` is already listed as dhcp.interfaces[{j}]"),
                ));
            }
            interfaces.push(name.clone());
        }
        let bind = match &d.get_ref().bind {
            None => Ipv6Addr::UNSPECIFIED,
            Some(v) => {
                let a = self.ip(v, v.get_ref(), "dhcp.bind", "\"::\"")?;
                if a.is_multicast() {
                    return Err(self.at(
                        v,
                        "dhcp.bind",
                        "is a multicast address; expected \"::\" or one of this server's addresses",
                    ));
                }
                a
            }
        };
        let port = self.opt_int(
            &d.get_ref().port,
            "dhcp.port",
            1,
            u64::from(u16::MAX),
            "(UDP port; 547 per RFC 8415 §7.2)",
            u64::from(DHCP_SERVER_PORT),
        )? as u16;
        Ok(DhcpConfig {
            interfaces,
            bind,
            port,
        })
    }

    fn pools(&self, f: &File) -> Result<(Vec<AddressPool>, Vec<PrefixPool>), ConfigError> {
        if f.address_pools.is_empty() && f.prefix_pools.is_empty() {
            return Err(self.err(
                Some(0),
                "address_pools",
                "no pools: expected at least one [[address_pools]] or [[prefix_pools]] entry",
            ));
        }
        let mut blocks = Vec::new();
        let mut total: u128 = 0;
        let mut address_pools = Vec::new();
        for (i, p) in f.address_pools.iter().enumerate() {
            let v = &p.get_ref().range;
            let field = format!("address_pools[{i}].range");
            let example = "\"2001:db8:0:1::100-2001:db8:0:1::1ff\"";
            let (a, b) = v.get_ref().split_once('-').ok_or_else(|| {
                self.at(
                    v,
                    &field,
                    format!("`{}` is not FIRST-LAST; write e.g. {example}", v.get_ref()),
                )
            })?;
            let first = self.ip(v, a, &field, example)?;
            let last = self.ip(v, b, &field, example)?;
            let (lo, hi) = (u128::from(first), u128::from(last));
            if hi < lo {
                return Err(self.at(
                    v,
                    &field,
                    format!("the last address {last} is below the first {first}"),
                ));
            }
            if hi - lo >= MAX_POOL_LEASES {
                return Err(self.at(
                    v,
                    &field,
                    format!(
                        "{} addresses; a pool holds at most {MAX_POOL_LEASES}",
                        hi - lo + 1
                    ),
                ));
            }
            if let Some(what) = reserved(lo, hi) {
                return Err(self.at(
                    v,
                    &field,
                    format!("includes {what}; expected global or unique-local unicast addresses"),
                ));
            }
            total += hi - lo + 1;
            blocks.push(Block {
                lo,
                hi,
                prefix: false,
                index: i,
            });
            address_pools.push(AddressPool { first, last });
        }
        let mut prefix_pools = Vec::new();
        for (i, p) in f.prefix_pools.iter().enumerate() {
            let v = &p.get_ref().prefix;
            let field = format!("prefix_pools[{i}].prefix");
            let example = "\"2001:db8:100::/40\"";
            let (a, l) = v.get_ref().split_once('/').ok_or_else(|| {
                self.at(
                    v,
                    &field,
                    format!(
                        "`{}` is not ADDRESS/LENGTH; write e.g. {example}",
                        v.get_ref()
                    ),
                )
            })?;
            let prefix = self.ip(v, a, &field, example)?;
            let prefix_len: u8 = l.trim().parse().ok().filter(|l| *l <= 128).ok_or_else(|| {
                self.at(
                    v,
                    &field,
                    format!("`{l}` is not a prefix length; expected 0 to 128"),
                )
            })?;
            let host = if prefix_len == 128 {
                0
            } else {
                u128::MAX >> prefix_len
            };
            let lo = u128::from(prefix);
            if lo & host != 0 {
                let net = Ipv6Addr::from(lo & !host);
                return Err(self.at(
                    v,
                    &field,
                    format!("{prefix}/{prefix_len} has bits set after the first {prefix_len}; write {net}/{prefix_len}"),
                ));
            }
            let dv = &p.get_ref().delegated_length;
            let dfield = format!("prefix_pools[{i}].delegated_length");
            let d = self.int(
                dv,
                &dfield,
                u64::from(prefix_len),
                128,
                &format!("(the prefix length {prefix_len} to 128, RFC 8156 §4.2.2)"),
            )? as u8;
            if u128::from(d - prefix_len) > MAX_POOL_LEASES.trailing_zeros() as u128 {
                return Err(self.at(
                    dv,
                    &dfield,
                    format!(
                        "2^{} delegated prefixes; a pool holds at most {MAX_POOL_LEASES} (delegated_length at most {})",
                        d - prefix_len,
                        u32::from(prefix_len) + MAX_POOL_LEASES.trailing_zeros()
                    ),
                ));
            }
            let hi = lo | host;
            if let Some(what) = reserved(lo, hi) {
                return Err(self.at(
                    v,
                    &field,
                    format!("includes {what}; expected a global or unique-local prefix"),
                ));
            }
            total += 1u128 << (d - prefix_len);
            blocks.push(Block {
                lo,
                hi,
                prefix: true,
                index: i,
            });
            prefix_pools.push(PrefixPool {
                prefix,
                prefix_len,
                delegated_len: d,
            });
        }
        if let Some((earlier, later)) = first_overlap(&mut blocks) {
            let name = |b: &Block| {
                if b.prefix {
                    format!("prefix_pools[{}]", b.index)
                } else {
                    format!("address_pools[{}]", b.index)
                }
            };
            let (v, field) = if later.prefix {
                (
                    &f.prefix_pools[later.index].get_ref().prefix,
                    format!("{}.prefix", name(&later)),
                )
            } else {
                (
                    &f.address_pools[later.index].get_ref().range,
                    format!("{}.range", name(&later)),
                )
            };
            let same =
                earlier.lo == later.lo && earlier.hi == later.hi && earlier.prefix == later.prefix;
            let verb = if same { "duplicates" } else { "overlaps" };
            return Err(self.at(
                v,
                &field,
                format!(
                    "{verb} {} ({}-{}); expected pools that share no address",
                    name(&earlier),
                    Ipv6Addr::from(earlier.lo),
                    Ipv6Addr::from(earlier.hi)
                ),
            ));
        }
        if total > MAX_TOTAL_LEASES {
            return Err(self.err(
                Some(0),
                "address_pools",
                format!(
                    "{total} leases in all pools together; expected at most {MAX_TOTAL_LEASES}"
                ),
            ));
        }
        Ok((address_pools, prefix_pools))
    }

    /// The core's verdict in the file's words: core field names become the file's
    /// (`desired_lifetime` → `valid_lifetime`, `keepalive_time` → `partner.keepalive`, ...).
    fn core_error(&self, f: &File, cfg: &DaemonConfig, e: &CoreConfigError) -> ConfigError {
        let at = |v: Option<&S<i64>>, field: &str, message: String| {
            self.err(v.map(|v| v.span().start), field, message)
        };
        let p = f.partner.get_ref();
        match e {
            CoreConfigError::ZeroMclt => at(Some(&f.mclt), "mclt", "must be at least 1 second (RFC 8156 §4.4)".into()),
            CoreConfigError::LifetimeTooShort { desired_lifetime } => at(
                Some(&f.valid_lifetime),
                "valid_lifetime",
                format!("{desired_lifetime} s is below the {MIN_LEASE_LIFETIME} s minimum (RFC 8156 §1)"),
            ),
            CoreConfigError::KeepaliveTooShort { keepalive_time } => at(
                p.keepalive.as_ref(),
                "partner.keepalive",
                format!("{keepalive_time} s is below {CONTACT_PER_KEEPALIVE_TIME} s (RFC 8156 §6.5)"),
            ),
            CoreConfigError::ZeroMaxUnacked => at(
                p.max_unacked_bndupd.as_ref(),
                "partner.max_unacked_bndupd",
                "must be at least 1 (RFC 8156 §5.5.5)".into(),
            ),
            CoreConfigError::ZeroStartupTime => {
                at(f.startup_time.as_ref(), "startup_time", "must be at least 1 second".into())
            }
            CoreConfigError::ZeroAutoPartnerDown => at(
                p.auto_partner_down.as_ref(),
                "partner.auto_partner_down",
                "must be at least 1 second; leave it out to disable (RFC 8156 §8.9)".into(),
            ),
            CoreConfigError::PrefixPercentOutOfRange { secondary_prefix_percent } => at(
                f.secondary_prefix_percent.as_ref(),
                "secondary_prefix_percent",
                format!("expected 0 to 100 (percent), got {secondary_prefix_percent}"),
            ),
            CoreConfigError::ZeroUpdateRetry => {
                at(f.update_retry.as_ref(), "update_retry", "must be at least 1 second".into())
            }
            CoreConfigError::DuplicateAddress(a) => {
                let i = cfg
                    .address_pools
                    .iter()
                    .rposition(|p| (u128::from(p.first)..=u128::from(p.last)).contains(&u128::from(*a)));
                let v = i.and_then(|i| f.address_pools.get(i)).map(|p| &p.get_ref().range);
                self.err(
                    v.map(|v| v.span().start),
                    &format!("address_pools[{}].range", i.unwrap_or(0)),
                    format!("{a} is in more than one pool; expected pools that share no address"),
                )
            }
            CoreConfigError::DuplicatePrefix(a, l) | CoreConfigError::BadPrefixLength(a, l) => {
                let what = if matches!(e, CoreConfigError::DuplicatePrefix(..)) {
                    "is in more than one pool; expected pools that share no address"
                } else {
                    "has a length above 128; expected 0 to 128"
                };
                let i = cfg.prefix_pools.iter().rposition(|p| {
                    let host = u128::MAX.checked_shr(u32::from(p.prefix_len)).unwrap_or(0);
                    u128::from(*a) & !host == u128::from(p.prefix)
                });
                let v = i.and_then(|i| f.prefix_pools.get(i)).map(|p| &p.get_ref().prefix);
                self.err(
                    v.map(|v| v.span().start),
                    &format!("prefix_pools[{}].prefix", i.unwrap_or(0)),
                    format!("{a}/{l} {what}"),
                )
            }
            // Not configurable from this file (yet): say what the core said.
            other => ConfigError {
                file: self.origin.to_path_buf(),
                line: None,
                field: None,
                message: other.to_string(),
            },
        }
    }

    /// A toml error (syntax, unknown field, wrong type, missing field) with its line and, where
    /// the file or toml's message names it, its field.
    fn toml_error(&self, e: &toml::de::Error) -> ConfigError {
        let raw = e.message();
        let mut message = raw
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        for t in ["i64", "u64", "u32", "u16", "u8"] {
            message = message.replace(&format!("expected {t}"), "expected an integer");
        }
        let span = e.span();
        if message.is_empty() {
            // toml says nothing for some bad characters (a control character in a comment).
            let c = span
                .as_ref()
                .and_then(|s| self.text.get(s.start..))
                .and_then(|t| t.chars().next());
            message = match c {
                Some(c) if c.is_control() => format!(
                    "control character `{}` is not allowed here (TOML allows only tab)",
                    c.escape_debug()
                ),
                Some(c) => format!("unexpected character `{}`", c.escape_debug()),
                None => "not valid TOML".into(),
            };
        }
        let missing = raw
            .strip_prefix("missing field `")
            .and_then(|r| r.strip_suffix('`'))
            .map(str::to_string);
        let field = match (&span, toml::from_str::<Node>(self.text)) {
            (Some(span), Ok(root)) => {
                if let Some(name) = &missing {
                    message = "required field is missing".into();
                    let mut path = String::new();
                    table_path(&root, span, &mut path);
                    Some(join(&path, name))
                } else {
                    let mut path = String::new();
                    value_path(&root, span.start, &mut path);
                    (!path.is_empty()).then_some(path)
                }
            }
            (Some(span), Err(_)) => key_on_line(self.text, span.start),
            (None, _) => None,
        };
        ConfigError {
            file: self.origin.to_path_buf(),
            line: span.map(|s| self.line_of(s.start)),
            field,
            message,
        }
    }
}

/// Reserved blocks no pool may touch, as (first, last, name).
const RESERVED: [(u128, u128, &str); 3] = [
    (0, 1, "the unspecified or loopback address (::/127)"),
    (
        0xfe80 << 112,
        (0xfebf << 112) | (u128::MAX >> 16),
        "link-local addresses (fe80::/10)",
    ),
    (0xff00 << 112, u128::MAX, "multicast addresses (ff00::/8)"),
];

fn reserved(lo: u128, hi: u128) -> Option<&'static str> {
    RESERVED
        .iter()
        .find(|(a, b, _)| lo <= *b && *a <= hi)
        .map(|(_, _, name)| *name)
}

/// Two blocks that share an address, (listed earlier, listed later), if any: sort by start,
/// sweep keeping the block reaching furthest.
fn first_overlap(blocks: &mut [Block]) -> Option<(Block, Block)> {
    let key = |b: &Block| (b.prefix, b.index);
    blocks.sort_by_key(|b| (b.lo, key(b)));
    let mut reach: Option<Block> = None;
    let mut found: Option<(Block, Block)> = None;
    for b in blocks.iter() {
        if let Some(r) = reach {
            if b.lo <= r.hi {
                let pair = if key(&r) < key(b) { (r, *b) } else { (*b, r) };
                // Report the overlap whose later entry comes first in the file's order.
                if found.is_none_or(|f| key(&pair.1) < key(&f.1)) {
                    found = Some(pair);
                }
            }
            if b.hi > r.hi {
                reach = Some(*b);
            }
        } else {
            reach = Some(*b);
        }
    }
    found
}

// ---- locating toml's errors -------------------------------------------------------------

/// The file's tree with every key's and value's span, to name the field at an error's span.
enum Node {
    Table(Vec<(S<String>, S<Node>)>),
    Array(Vec<S<Node>>),
    Leaf,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any TOML value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_str<E>(self, _: &str) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(Node::Array(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut v = Vec::new();
                while let Some(kv) = a.next_entry()? {
                    v.push(kv);
                }
                Ok(Node::Table(v))
            }
        }
        d.deserialize_any(V)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn contains(span: &std::ops::Range<usize>, at: usize) -> bool {
    span.start <= at && at < span.end.max(span.start + 1)
}

/// The dotted path of the deepest key or value whose span holds `at`.
fn value_path(node: &Node, at: usize, path: &mut String) {
    match node {
        Node::Table(entries) => {
            for (k, v) in entries {
                if contains(&k.span(), at) {
                    *path = join(path, k.get_ref());
                    return;
                }
                if contains(&v.span(), at) {
                    *path = join(path, k.get_ref());
                    return value_path(v.get_ref(), at, path);
                }
            }
        }
        Node::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                if contains(&v.span(), at) {
                    path.push_str(&format!("[{i}]"));
                    return value_path(v.get_ref(), at, path);
                }
            }
        }
        Node::Leaf => {}
    }
}

/// The dotted path of the table whose span is exactly `span` (toml reports a missing field with
/// its table's span); the root when none is.
fn table_path(node: &Node, span: &std::ops::Range<usize>, path: &mut String) -> bool {
    let children: Vec<(String, &S<Node>)> = match node {
        Node::Table(entries) => entries
            .iter()
            .map(|(k, v)| (join(path, k.get_ref()), v))
            .collect(),
        Node::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{path}[{i}]"), v))
            .collect(),
        Node::Leaf => return false,
    };
    for (p, v) in children {
        let s = v.span();
        if s.start <= span.start && span.end <= s.end {
            let mut inner = p.clone();
            if table_path(v.get_ref(), span, &mut inner) {
                *path = inner;
                return true;
            }
            if s == *span && matches!(v.get_ref(), Node::Table(_)) {
                *path = p;
                return true;
            }
        }
    }
    false
}

/// For a syntax error (no tree to search): `table.key` from the line at `at`, the key being the
/// text before `=` and the table the last `[header]` above it.
fn key_on_line(text: &str, at: usize) -> Option<String> {
    let at = at.min(text.len());
    let start = text.as_bytes()[..at]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line = text.get(start..)?.lines().next().unwrap_or("");
    let mut table = String::new();
    let mut counts: Vec<(String, usize)> = Vec::new();
    for l in text.get(..start)?.lines() {
        let l = l.trim();
        if let Some(h) = l.strip_prefix("[[").and_then(|h| h.split("]]").next()) {
            let h = h.trim().to_string();
            let n = match counts.iter_mut().find(|(k, _)| *k == h) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    counts.push((h.clone(), 0));
                    0
                }
            };
            table = format!("{h}[{n}]");
        } else if let Some(h) = l.strip_prefix('[').and_then(|h| h.split(']').next()) {
            table = h.trim().to_string();
        }
    }
    let bare = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    };
    let l = line.trim();
    if let Some(h) = l.strip_prefix('[') {
        let h = h.trim_start_matches('[').split(']').next()?.trim();
        return bare(h).then(|| h.to_string());
    }
    let key = l.split('=').next()?.trim();
    (bare(key) && l.contains('=')).then(|| join(&table, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every core rejection the file's own checks would let through still comes out under the
    /// file's field names (the core's names never reach the operator).
    #[test]
    fn core_errors_use_the_files_field_names() {
        let text = "role = \"primary\"\nmclt = 60\nvalid_lifetime = 600\n\
            storage = \"s\"\ncontrol_socket = \"c\"\n[partner]\nlocal = \"[::1]:1\"\nremote = \"[::1]:2\"\n\
            [dhcp]\n[[address_pools]]\nrange = \"2001:db8::1-2001:db8::2\"\n";
        let f: File = toml::from_str(text).unwrap();
        let cx = Cx {
            text,
            origin: Path::new("x.toml"),
        };
        let cfg = cx.build(&f).unwrap();
        let cases = [
            (CoreConfigError::ZeroMclt, "x.toml:2: field `mclt`: must be at least 1 second (RFC 8156 §4.4)"),
            (
                CoreConfigError::LifetimeTooShort { desired_lifetime: 29 },
                "x.toml:3: field `valid_lifetime`: 29 s is below the 30 s minimum (RFC 8156 §1)",
            ),
            (
                CoreConfigError::KeepaliveTooShort { keepalive_time: 3 },
                "x.toml: field `partner.keepalive`: 3 s is below 4 s (RFC 8156 §6.5)",
            ),
            (
                CoreConfigError::DuplicateAddress("2001:db8::2".parse().unwrap()),
                "x.toml:11: field `address_pools[0].range`: 2001:db8::2 is in more than one pool; expected pools that share no address",
            ),
        ];
        let cases = cases.into_iter().chain([(
            CoreConfigError::DuplicatePrefix("2001:db8::".parse().unwrap(), 64),
            "x.toml: field `prefix_pools[0].prefix`: 2001:db8::/64 is in more than one pool; expected pools that share no address",
        )]);
        for (e, want) in cases {
            assert_eq!(cx.core_error(&f, &cfg, &e).to_string(), want);
        }
    }
}
