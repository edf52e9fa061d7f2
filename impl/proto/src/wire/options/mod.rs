//! Options: the RFC 3315 §22.1 TLV (`option-code` u16, `option-len` u16, data) and the typed
//! [`DhcpOption`] for every option a failover message carries (RFC 8156 §5.5, §7.4).
//!
//! Decoding is structural: an option is typed by its code wherever it appears, encapsulated
//! options (IA_NA, IA_TA, IA_PD, IAADDR, IAPREFIX, CLIENT_DATA, DNS_REMOVAL_INFO) are decoded
//! recursively up to [`MAX_DEPTH`] levels, and the lengths the RFCs fix are checked. Which options
//! a message *must* or *must not* carry (§6.1.1, §7.4) is a protocol rule left to the receiver.
//!
//! Unknown codes decode to [`DhcpOption::Unknown`] and re-encode byte for byte: RFC 3315 practice
//! is that a receiver ignores options it does not understand.

mod code;
mod flags;
mod ia;
mod payloads;

use std::net::Ipv6Addr;

pub use code::OptionCode;
pub use flags::{ConnectFlags, DnsFlags, ServerFlags};
pub use ia::{IaAddr, IaNa, IaPd, IaPrefix, IaTa};
pub use payloads::{ClientFqdn, LqRelayData, ProtocolVersion, ReconfigureData, Vss};

use super::error::{DecodeError, EncodeError};
use super::reader::{patch_u16, Reader};
use super::status::{Status, StatusCode};
use crate::{BindingStatus, ServerState};

/// How many levels of encapsulated options the decoder accepts. The deepest layout RFC 8156 uses
/// is CLIENT_DATA > IA_NA > IAADDR > (DNS_REMOVAL_INFO >) options (§7.4), i.e. 4; the limit leaves
/// room and bounds recursion on hostile input (a 64 KiB message could otherwise nest ~16000 deep).
pub const MAX_DEPTH: usize = 8;

/// Length of an option's code and option-len fields (RFC 3315 §22.1).
pub const OPTION_HEADER_LEN: usize = 4;

/// The option table: one row per option this crate types, `Variant(payload) = RFC name = code,
/// kind;` in code order. It defines the [`DhcpOption`] variant, the [`OptionCode`] constant and
/// name, [`DhcpOption::code`], and for the 4-octet integer options (kind `u32`: the OPTION_F_*
/// times and intervals, OPTION_CLT_TIME, OPTION_LQ_BASE_TIME) their whole encoding and decoding
/// ([`DhcpOption::as_u32`], `four_octet`). Adding an option is one row here, plus, for an option
/// with a structured payload, its arm in `encode_unchecked` and `read_option`.
macro_rules! dhcp_options {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty) = $name:ident = $code:literal, $kind:ident; )+) => {
        /// One option, typed by its code.
        ///
        /// Times are `u32` seconds as on the wire: absolute times count from
        /// 2000-01-01T00:00:00Z modulo 2^32 (RFC 8156 §3), except OPTION_CLT_TIME, which is
        /// relative to OPTION_LQ_BASE_TIME (RFC 5007 §4.1.2.3, RFC 7653 §6.3.1). Converting to
        /// the project's `Time` is the caller's job.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum DhcpOption {
            $( $(#[$doc])* $variant($ty), )+
            /// Any other code, kept verbatim so that it re-encodes byte for byte (RFC 3315:
            /// unknown options are ignored, not an error).
            ///
            /// Building an `Unknown` with a code listed in [`OptionCode::KNOWN`] is allowed
            /// (negative tests need malformed options), but its bytes then decode to the typed
            /// variant, or fail.
            Unknown {
                /// The option code.
                code: u16,
                /// The option data.
                data: Vec<u8>,
            },
        }

        impl OptionCode {
            $( $(#[$doc])* pub const $name: OptionCode = OptionCode($code); )+

            /// Every code this crate decodes into a typed [`DhcpOption`], in code order.
            pub const KNOWN: &'static [OptionCode] = &[$(OptionCode::$name),+];

            /// The RFC name (`"OPTION_F_MCLT"`), if this crate knows the code.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $code => Some(stringify!($name)), )+
                    _ => None,
                }
            }
        }

        impl DhcpOption {
            /// The option's code.
            pub fn code(&self) -> OptionCode {
                match self {
                    $( DhcpOption::$variant(_) => OptionCode::$name, )+
                    DhcpOption::Unknown { code, .. } => OptionCode(*code),
                }
            }

            /// The value of a 4-octet integer option (the OPTION_F_* times and intervals,
            /// OPTION_CLT_TIME, OPTION_LQ_BASE_TIME), whichever it is; `None` for every other
            /// option.
            pub fn as_u32(&self) -> Option<u32> {
                match self {
                    $( DhcpOption::$variant(_v) => four_octet_value!($kind, _v), )+
                    DhcpOption::Unknown { .. } => None,
                }
            }

            /// The constructor of the 4-octet integer option with this code, if it is one.
            fn four_octet(code: OptionCode) -> Option<fn(u32) -> DhcpOption> {
                match code {
                    $( OptionCode::$name => four_octet_constructor!($kind, $variant), )+
                    _ => None,
                }
            }
        }
    };
}

/// `as_u32` for one row of the table.
macro_rules! four_octet_value {
    (u32, $v:ident) => {
        Some(*$v)
    };
    (typed, $v:ident) => {
        None
    };
}

/// `four_octet` for one row of the table.
macro_rules! four_octet_constructor {
    (u32, $variant:ident) => {
        Some(DhcpOption::$variant as fn(u32) -> DhcpOption)
    };
    (typed, $variant:ident) => {
        None
    };
}

dhcp_options! {
    /// 1 — OPTION_CLIENTID, RFC 3315 §22.2: the client's DUID, uninterpreted (RFC 8156 §7.4: MUST
    /// appear in CLIENT_DATA).
    ClientId(Vec<u8>) = OPTION_CLIENTID = 1, typed;
    /// 3 — OPTION_IA_NA, RFC 3315 §22.4
    IaNa(IaNa) = OPTION_IA_NA = 3, typed;
    /// 4 — OPTION_IA_TA, RFC 3315 §22.5
    IaTa(IaTa) = OPTION_IA_TA = 4, typed;
    /// 5 — OPTION_IAADDR, RFC 3315 §22.6
    IaAddr(IaAddr) = OPTION_IAADDR = 5, typed;
    /// 13 — OPTION_STATUS_CODE, RFC 3315 §22.13 (codes of RFC 8156 §5.6)
    StatusCode(Status) = OPTION_STATUS_CODE = 13, typed;
    /// 25 — OPTION_IA_PD, RFC 3633 §9
    IaPd(IaPd) = OPTION_IA_PD = 25, typed;
    /// 26 — OPTION_IAPREFIX, RFC 3633 §10 (also bare in a BNDUPD, RFC 8156 §7.4)
    IaPrefix(IaPrefix) = OPTION_IAPREFIX = 26, typed;
    /// 39 — OPTION_CLIENT_FQDN, RFC 4704 §4
    ClientFqdn(ClientFqdn) = OPTION_CLIENT_FQDN = 39, typed;
    /// 45 — OPTION_CLIENT_DATA, RFC 5007 §4.1.2.2: all data about one client (RFC 8156 §7.4).
    ClientData(Vec<DhcpOption>) = OPTION_CLIENT_DATA = 45, typed;
    /// 46 — OPTION_CLT_TIME, RFC 5007 §4.1.2.3: seconds since the last client transaction,
    /// *relative* to OPTION_LQ_BASE_TIME.
    CltTime(u32) = OPTION_CLT_TIME = 46, u32;
    /// 47 — OPTION_LQ_RELAY_DATA, RFC 5007 §4.1.2.4
    LqRelayData(LqRelayData) = OPTION_LQ_RELAY_DATA = 47, typed;
    /// 68 — OPTION_VSS, RFC 6607 §3.4
    Vss(Vss) = OPTION_VSS = 68, typed;
    /// 100 — OPTION_LQ_BASE_TIME, RFC 7653 §6.3.1: absolute time the data was put in the option.
    LqBaseTime(u32) = OPTION_LQ_BASE_TIME = 100, u32;
    /// 114 — OPTION_F_BINDING_STATUS, RFC 8156 §5.5.1
    BindingStatus(BindingStatus) = OPTION_F_BINDING_STATUS = 114, typed;
    /// 115 — OPTION_F_CONNECT_FLAGS, RFC 8156 §5.5.2
    ConnectFlags(ConnectFlags) = OPTION_F_CONNECT_FLAGS = 115, typed;
    /// 116 — OPTION_F_DNS_REMOVAL_INFO, RFC 8156 §5.5.3: encapsulates 117, 118, 119.
    DnsRemovalInfo(Vec<DhcpOption>) = OPTION_F_DNS_REMOVAL_INFO = 116, typed;
    /// 117 — OPTION_F_DNS_HOST_NAME, RFC 8156 §5.5.3.1: RFC 1035 wire form, uninterpreted.
    DnsHostName(Vec<u8>) = OPTION_F_DNS_HOST_NAME = 117, typed;
    /// 118 — OPTION_F_DNS_ZONE_NAME, RFC 8156 §5.5.3.2: RFC 1035 wire form, uninterpreted.
    DnsZoneName(Vec<u8>) = OPTION_F_DNS_ZONE_NAME = 118, typed;
    /// 119 — OPTION_F_DNS_FLAGS, RFC 8156 §5.5.3.3
    DnsFlags(DnsFlags) = OPTION_F_DNS_FLAGS = 119, typed;
    /// 120 — OPTION_F_EXPIRATION_TIME, RFC 8156 §5.5.4 (absolute)
    ExpirationTime(u32) = OPTION_F_EXPIRATION_TIME = 120, u32;
    /// 121 — OPTION_F_MAX_UNACKED_BNDUPD, RFC 8156 §5.5.5
    MaxUnackedBndupd(u32) = OPTION_F_MAX_UNACKED_BNDUPD = 121, u32;
    /// 122 — OPTION_F_MCLT, RFC 8156 §5.5.6 (an interval, seconds)
    Mclt(u32) = OPTION_F_MCLT = 122, u32;
    /// 123 — OPTION_F_PARTNER_LIFETIME, RFC 8156 §5.5.7 (absolute)
    PartnerLifetime(u32) = OPTION_F_PARTNER_LIFETIME = 123, u32;
    /// 124 — OPTION_F_PARTNER_LIFETIME_SENT, RFC 8156 §5.5.8 (absolute, an exact echo of 123)
    PartnerLifetimeSent(u32) = OPTION_F_PARTNER_LIFETIME_SENT = 124, u32;
    /// 125 — OPTION_F_PARTNER_DOWN_TIME, RFC 8156 §5.5.9 (absolute)
    PartnerDownTime(u32) = OPTION_F_PARTNER_DOWN_TIME = 125, u32;
    /// 126 — OPTION_F_PARTNER_RAW_CLT_TIME, RFC 8156 §5.5.10 (absolute)
    PartnerRawCltTime(u32) = OPTION_F_PARTNER_RAW_CLT_TIME = 126, u32;
    /// 127 — OPTION_F_PROTOCOL_VERSION, RFC 8156 §5.5.11
    ProtocolVersion(ProtocolVersion) = OPTION_F_PROTOCOL_VERSION = 127, typed;
    /// 128 — OPTION_F_KEEPALIVE_TIME, RFC 8156 §5.5.12 (an interval, seconds)
    KeepaliveTime(u32) = OPTION_F_KEEPALIVE_TIME = 128, u32;
    /// 129 — OPTION_F_RECONFIGURE_DATA, RFC 8156 §5.5.13
    ReconfigureData(ReconfigureData) = OPTION_F_RECONFIGURE_DATA = 129, typed;
    /// 130 — OPTION_F_RELATIONSHIP_NAME, RFC 8156 §5.5.14 (UTF-8, not NUL-terminated)
    RelationshipName(String) = OPTION_F_RELATIONSHIP_NAME = 130, typed;
    /// 131 — OPTION_F_SERVER_FLAGS, RFC 8156 §5.5.15
    ServerFlags(ServerFlags) = OPTION_F_SERVER_FLAGS = 131, typed;
    /// 132 — OPTION_F_SERVER_STATE, RFC 8156 §5.5.16
    ServerState(ServerState) = OPTION_F_SERVER_STATE = 132, typed;
    /// 133 — OPTION_F_START_TIME_OF_STATE, RFC 8156 §5.5.17 (absolute)
    StartTimeOfState(u32) = OPTION_F_START_TIME_OF_STATE = 133, u32;
    /// 134 — OPTION_F_STATE_EXPIRATION_TIME, RFC 8156 §5.5.18 (absolute)
    StateExpirationTime(u32) = OPTION_F_STATE_EXPIRATION_TIME = 134, u32;
}

impl DhcpOption {
    /// The RFC name of the option's code, or `"unknown option"`.
    pub fn name(&self) -> &'static str {
        self.code().name_or_unknown()
    }

    /// OPTION_STATUS_CODE with a code and message (RFC 3315 §22.13).
    pub fn status(code: StatusCode, message: impl Into<String>) -> DhcpOption {
        DhcpOption::StatusCode(Status::new(code, message))
    }

    /// The encapsulated options, for the options that have some (IA_NA, IA_TA, IA_PD, IAADDR,
    /// IAPREFIX, CLIENT_DATA, DNS_REMOVAL_INFO).
    pub fn nested(&self) -> Option<&[DhcpOption]> {
        use DhcpOption as O;
        match self {
            O::IaNa(ia) => Some(&ia.options),
            O::IaTa(ia) => Some(&ia.options),
            O::IaPd(ia) => Some(&ia.options),
            O::IaAddr(a) => Some(&a.options),
            O::IaPrefix(p) => Some(&p.options),
            O::ClientData(opts) | O::DnsRemovalInfo(opts) => Some(opts),
            _ => None,
        }
    }

    /// Append the option (code, option-len, data). On error nothing is appended.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        let result = self.encode_unchecked(out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// Decode exactly one option from `bytes` (offsets in errors count from `bytes[0]`).
    pub fn decode(bytes: &[u8]) -> Result<DhcpOption, DecodeError> {
        let mut r = Reader::new(bytes);
        let opt = read_option(&mut r, 0)?;
        if r.remaining() > 0 {
            return Err(DecodeError::TrailingData {
                what: opt.name(),
                offset: r.offset(),
                len: r.remaining(),
            });
        }
        Ok(opt)
    }

    fn encode_unchecked(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        use DhcpOption as O;
        let code = self.code();
        out.extend_from_slice(&code.0.to_be_bytes());
        let len_at = out.len();
        out.extend_from_slice(&[0, 0]);
        if let Some(t) = self.as_u32() {
            // A 4-octet integer option: encoded from the table.
            put_u32s(out, &[t]);
            return finish_option(self, out, len_at);
        }
        match self {
            O::ClientId(b) | O::DnsHostName(b) | O::DnsZoneName(b) => out.extend_from_slice(b),
            O::Unknown { data, .. } => out.extend_from_slice(data),
            O::IaNa(ia) => {
                put_u32s(out, &[ia.iaid, ia.t1, ia.t2]);
                encode_options_unchecked(&ia.options, out)?;
            }
            O::IaTa(ia) => {
                put_u32s(out, &[ia.iaid]);
                encode_options_unchecked(&ia.options, out)?;
            }
            O::IaPd(ia) => {
                put_u32s(out, &[ia.iaid, ia.t1, ia.t2]);
                encode_options_unchecked(&ia.options, out)?;
            }
            O::IaAddr(a) => {
                out.extend_from_slice(&a.addr.octets());
                put_u32s(out, &[a.preferred_lifetime, a.valid_lifetime]);
                encode_options_unchecked(&a.options, out)?;
            }
            O::IaPrefix(p) => {
                if p.prefix_len > 128 {
                    return Err(EncodeError::BadValue {
                        option: self.name(),
                        code: code.0,
                        field: "prefix-length",
                        value: p.prefix_len.into(),
                    });
                }
                put_u32s(out, &[p.preferred_lifetime, p.valid_lifetime]);
                out.push(p.prefix_len);
                out.extend_from_slice(&p.prefix.octets());
                encode_options_unchecked(&p.options, out)?;
            }
            O::StatusCode(s) => {
                out.extend_from_slice(&s.code.0.to_be_bytes());
                out.extend_from_slice(s.message.as_bytes());
            }
            O::ClientFqdn(f) => {
                out.push(f.flags);
                out.extend_from_slice(&f.domain_name);
            }
            O::ClientData(opts) | O::DnsRemovalInfo(opts) => encode_options_unchecked(opts, out)?,
            O::LqRelayData(d) => {
                out.extend_from_slice(&d.peer_address.octets());
                out.extend_from_slice(&d.relay_message);
            }
            O::Vss(v) => {
                out.push(v.vss_type);
                out.extend_from_slice(&v.info);
            }
            O::BindingStatus(s) => out.push(s.code()),
            O::ServerState(s) => out.push(s.code()),
            O::ServerFlags(f) => out.push(f.0),
            O::ConnectFlags(f) => out.extend_from_slice(&f.0.to_be_bytes()),
            O::DnsFlags(f) => out.extend_from_slice(&f.0.to_be_bytes()),
            O::ProtocolVersion(v) => {
                out.extend_from_slice(&v.major.to_be_bytes());
                out.extend_from_slice(&v.minor.to_be_bytes());
            }
            O::ReconfigureData(d) => {
                put_u32s(out, &[d.reconfigure_time]);
                out.extend_from_slice(&d.key);
            }
            O::RelationshipName(s) => out.extend_from_slice(s.as_bytes()),
            // The 4-octet integer options were written above (`as_u32`).
            _ => debug_assert!(self.as_u32().is_some(), "{} has no encoder", self.name()),
        }
        finish_option(self, out, len_at)
    }
}

/// Patch the option-len of an option whose data ends `out` (RFC 3315 §22.1).
fn finish_option(opt: &DhcpOption, out: &mut [u8], len_at: usize) -> Result<(), EncodeError> {
    let len = out.len() - len_at - 2;
    let len16 = u16::try_from(len).map_err(|_| EncodeError::OptionTooLong {
        option: opt.name(),
        code: opt.code().0,
        len,
    })?;
    patch_u16(out, len_at, len16);
    Ok(())
}

/// Append a list of options in order. On error nothing is appended.
pub fn encode_options(options: &[DhcpOption], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    let result = encode_options_unchecked(options, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn encode_options_unchecked(options: &[DhcpOption], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    options.iter().try_for_each(|o| o.encode_unchecked(out))
}

/// Decode a whole buffer as a list of options (e.g. the options area of a message, RFC 8156
/// §5.2). Offsets in errors count from `bytes[0]`.
pub fn decode_options(bytes: &[u8]) -> Result<Vec<DhcpOption>, DecodeError> {
    read_options(&mut Reader::new(bytes), 0)
}

/// The first option with `code` in `options` (not searching encapsulated options).
pub fn find(options: &[DhcpOption], code: OptionCode) -> Option<&DhcpOption> {
    options.iter().find(|o| o.code() == code)
}

fn put_u32s(out: &mut Vec<u8>, values: &[u32]) {
    for v in values {
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// Read options until `r` is exhausted; `depth` is the encapsulation level of this list (0 for
/// the options area of a message).
pub(crate) fn read_options(
    r: &mut Reader<'_>,
    depth: usize,
) -> Result<Vec<DhcpOption>, DecodeError> {
    // No capacity from the wire: the Vec grows with what is actually decoded.
    let mut out = Vec::new();
    while r.remaining() > 0 {
        out.push(read_option(r, depth)?);
    }
    Ok(out)
}

/// Where we are, for error messages.
struct Ctx {
    name: &'static str,
    code: u16,
    offset: usize,
    len: usize,
}

impl Ctx {
    fn fixed(&self, expected: usize) -> Result<(), DecodeError> {
        if self.len == expected {
            Ok(())
        } else {
            Err(DecodeError::BadLength {
                option: self.name,
                code: self.code,
                expected,
                found: self.len,
                offset: self.offset,
            })
        }
    }

    fn min(&self, min: usize) -> Result<(), DecodeError> {
        if self.len >= min {
            Ok(())
        } else {
            Err(DecodeError::TooShort {
                option: self.name,
                code: self.code,
                min,
                found: self.len,
                offset: self.offset,
            })
        }
    }

    fn bad_value(&self, field: &'static str, value: u32, offset: usize) -> DecodeError {
        DecodeError::BadValue {
            option: self.name,
            code: self.code,
            field,
            value,
            offset,
        }
    }

    fn text(&self, d: &mut Reader<'_>) -> Result<String, DecodeError> {
        let offset = d.offset();
        String::from_utf8(d.rest().to_vec()).map_err(|_| DecodeError::BadUtf8 {
            option: self.name,
            code: self.code,
            offset,
        })
    }

    /// The encapsulated options of this option, one level below `depth`.
    fn nested(&self, d: &mut Reader<'_>, depth: usize) -> Result<Vec<DhcpOption>, DecodeError> {
        if depth + 1 > MAX_DEPTH {
            return Err(DecodeError::TooDeep {
                offset: self.offset,
                max_depth: MAX_DEPTH,
            });
        }
        read_options(d, depth + 1)
    }
}

fn read_option(r: &mut Reader<'_>, depth: usize) -> Result<DhcpOption, DecodeError> {
    use DhcpOption as O;
    let offset = r.offset();
    if r.remaining() < OPTION_HEADER_LEN {
        return Err(DecodeError::Truncated {
            what: "option header",
            offset,
            needed: OPTION_HEADER_LEN,
            available: r.remaining(),
        });
    }
    let code = r.u16("option-code")?;
    let len = usize::from(r.u16("option-len")?);
    let name = OptionCode(code).name_or_unknown();
    if r.remaining() < len {
        return Err(DecodeError::Truncated {
            what: name,
            offset,
            needed: OPTION_HEADER_LEN + len,
            available: OPTION_HEADER_LEN + r.remaining(),
        });
    }
    let mut d = r.sub(len, name)?;
    let d = &mut d;
    let cx = Ctx {
        name,
        code,
        offset,
        len,
    };
    let opt = match OptionCode(code) {
        OptionCode::OPTION_CLIENTID => O::ClientId(d.rest().to_vec()),
        OptionCode::OPTION_IA_NA => {
            cx.min(12)?;
            O::IaNa(IaNa {
                iaid: d.u32("IAID")?,
                t1: d.u32("T1")?,
                t2: d.u32("T2")?,
                options: cx.nested(d, depth)?,
            })
        }
        OptionCode::OPTION_IA_TA => {
            cx.min(4)?;
            O::IaTa(IaTa {
                iaid: d.u32("IAID")?,
                options: cx.nested(d, depth)?,
            })
        }
        OptionCode::OPTION_IAADDR => {
            cx.min(24)?;
            O::IaAddr(IaAddr {
                addr: Ipv6Addr::from(d.array16("IPv6-address")?),
                preferred_lifetime: d.u32("preferred-lifetime")?,
                valid_lifetime: d.u32("valid-lifetime")?,
                options: cx.nested(d, depth)?,
            })
        }
        OptionCode::OPTION_STATUS_CODE => {
            cx.min(2)?;
            let status = StatusCode(d.u16("status-code")?);
            O::StatusCode(Status {
                code: status,
                message: cx.text(d)?,
            })
        }
        OptionCode::OPTION_IA_PD => {
            cx.min(12)?;
            O::IaPd(IaPd {
                iaid: d.u32("IAID")?,
                t1: d.u32("T1")?,
                t2: d.u32("T2")?,
                options: cx.nested(d, depth)?,
            })
        }
        OptionCode::OPTION_IAPREFIX => {
            cx.min(25)?;
            let preferred_lifetime = d.u32("preferred-lifetime")?;
            let valid_lifetime = d.u32("valid-lifetime")?;
            let at = d.offset();
            let prefix_len = d.u8("prefix-length")?;
            if prefix_len > 128 {
                return Err(cx.bad_value("prefix-length", prefix_len.into(), at));
            }
            O::IaPrefix(IaPrefix {
                preferred_lifetime,
                valid_lifetime,
                prefix_len,
                prefix: Ipv6Addr::from(d.array16("IPv6-prefix")?),
                options: cx.nested(d, depth)?,
            })
        }
        OptionCode::OPTION_CLIENT_FQDN => {
            cx.min(1)?;
            O::ClientFqdn(ClientFqdn {
                flags: d.u8("flags")?,
                domain_name: d.rest().to_vec(),
            })
        }
        OptionCode::OPTION_CLIENT_DATA => O::ClientData(cx.nested(d, depth)?),
        OptionCode::OPTION_LQ_RELAY_DATA => {
            cx.min(16)?;
            O::LqRelayData(LqRelayData {
                peer_address: Ipv6Addr::from(d.array16("peer-address")?),
                relay_message: d.rest().to_vec(),
            })
        }
        OptionCode::OPTION_VSS => {
            cx.min(1)?;
            O::Vss(Vss {
                vss_type: d.u8("type")?,
                info: d.rest().to_vec(),
            })
        }
        OptionCode::OPTION_F_BINDING_STATUS => {
            cx.fixed(1)?;
            let at = d.offset();
            let v = d.u8("binding-status")?;
            O::BindingStatus(
                BindingStatus::from_code(v)
                    .map_err(|_| cx.bad_value("binding-status", v.into(), at))?,
            )
        }
        OptionCode::OPTION_F_CONNECT_FLAGS => {
            cx.fixed(2)?;
            O::ConnectFlags(ConnectFlags(d.u16("flags")?))
        }
        OptionCode::OPTION_F_DNS_REMOVAL_INFO => O::DnsRemovalInfo(cx.nested(d, depth)?),
        OptionCode::OPTION_F_DNS_HOST_NAME => O::DnsHostName(d.rest().to_vec()),
        OptionCode::OPTION_F_DNS_ZONE_NAME => O::DnsZoneName(d.rest().to_vec()),
        OptionCode::OPTION_F_DNS_FLAGS => {
            cx.fixed(2)?;
            O::DnsFlags(DnsFlags(d.u16("flags")?))
        }
        OptionCode::OPTION_F_PROTOCOL_VERSION => {
            cx.fixed(4)?;
            O::ProtocolVersion(ProtocolVersion {
                major: d.u16("major-version")?,
                minor: d.u16("minor-version")?,
            })
        }
        OptionCode::OPTION_F_RECONFIGURE_DATA => {
            cx.min(4)?;
            O::ReconfigureData(ReconfigureData {
                reconfigure_time: d.u32("reconfigure-time")?,
                key: d.rest().to_vec(),
            })
        }
        OptionCode::OPTION_F_RELATIONSHIP_NAME => O::RelationshipName(cx.text(d)?),
        OptionCode::OPTION_F_SERVER_FLAGS => {
            cx.fixed(1)?;
            O::ServerFlags(ServerFlags(d.u8("server-flags")?))
        }
        OptionCode::OPTION_F_SERVER_STATE => {
            cx.fixed(1)?;
            let at = d.offset();
            let v = d.u8("server-state")?;
            O::ServerState(
                ServerState::from_code(v)
                    .map_err(|_| cx.bad_value("server-state", v.into(), at))?,
            )
        }
        // The 4-octet integer options (from the table), then every code this crate does not type.
        other => match DhcpOption::four_octet(other) {
            Some(make) => {
                cx.fixed(4)?;
                make(d.u32(name)?)
            }
            None => O::Unknown {
                code,
                data: d.rest().to_vec(),
            },
        },
    };
    debug_assert_eq!(d.remaining(), 0, "every arm consumes its whole option");
    Ok(opt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(opt: &DhcpOption) -> Vec<u8> {
        let mut out = Vec::new();
        opt.encode(&mut out).unwrap();
        out
    }

    #[test]
    fn every_known_code_has_a_variant_that_reports_it() {
        // Decoding a minimal valid instance of each known code yields a variant whose code()
        // is that code: the code table and the decoder agree.
        for code in OptionCode::KNOWN {
            let data: Vec<u8> = match code.0 {
                3 | 25 => vec![0; 12],
                4 => vec![0; 4],
                5 => vec![0; 24],
                13 | 115 | 119 => vec![0; 2],
                26 => vec![0; 25],
                39 | 68 => vec![0],
                47 => vec![0; 16],
                114 | 132 => vec![2],
                131 => vec![0],
                127 | 129 => vec![0; 4],
                _ if DhcpOption::four_octet(*code).is_some() => vec![0; 4],
                _ => vec![],
            };
            let mut wire = code.0.to_be_bytes().to_vec();
            wire.extend_from_slice(&(data.len() as u16).to_be_bytes());
            wire.extend_from_slice(&data);
            let opt = DhcpOption::decode(&wire).unwrap_or_else(|e| panic!("{code}: {e}"));
            assert_eq!(opt.code(), *code);
            assert!(
                !matches!(opt, DhcpOption::Unknown { .. }),
                "{code} decoded as Unknown"
            );
            assert_eq!(bytes(&opt), wire, "{code} re-encodes byte for byte");
        }
    }

    #[test]
    fn fixed_lengths_are_enforced() {
        // OPTION_F_MCLT with option-len 3.
        let wire = [0, 122, 0, 3, 0, 0, 14];
        assert_eq!(
            DhcpOption::decode(&wire),
            Err(DecodeError::BadLength {
                option: "OPTION_F_MCLT",
                code: 122,
                expected: 4,
                found: 3,
                offset: 0
            })
        );
        // OPTION_F_SERVER_FLAGS with option-len 2.
        let wire = [0, 131, 0, 2, 0, 1];
        assert!(matches!(
            DhcpOption::decode(&wire),
            Err(DecodeError::BadLength {
                code: 131,
                expected: 1,
                found: 2,
                ..
            })
        ));
    }

    #[test]
    fn as_u32_reads_integer_options_only() {
        assert_eq!(DhcpOption::Mclt(3600).as_u32(), Some(3600));
        assert_eq!(DhcpOption::CltTime(16).as_u32(), Some(16));
        assert_eq!(DhcpOption::ServerFlags(ServerFlags(1)).as_u32(), None);
        let msg_opts = [DhcpOption::KeepaliveTime(60), DhcpOption::Mclt(3600)];
        assert_eq!(
            find(&msg_opts, OptionCode::OPTION_F_MCLT).and_then(DhcpOption::as_u32),
            Some(3600)
        );
    }

    #[test]
    fn unknown_options_round_trip() {
        let wire = [0x01, 0x00, 0, 3, 0xAA, 0xBB, 0xCC];
        let opt = DhcpOption::decode(&wire).unwrap();
        assert_eq!(
            opt,
            DhcpOption::Unknown {
                code: 256,
                data: vec![0xAA, 0xBB, 0xCC]
            }
        );
        assert_eq!(opt.name(), "unknown option");
        assert_eq!(bytes(&opt), wire);
    }

    #[test]
    fn prefix_length_over_128_is_rejected_both_ways() {
        let mut wire = vec![0, 26, 0, 25];
        wire.extend_from_slice(&[0; 8]);
        wire.push(129);
        wire.extend_from_slice(&[0; 16]);
        assert_eq!(
            DhcpOption::decode(&wire),
            Err(DecodeError::BadValue {
                option: "OPTION_IAPREFIX",
                code: 26,
                field: "prefix-length",
                value: 129,
                offset: 12
            })
        );
        let opt = DhcpOption::IaPrefix(IaPrefix {
            preferred_lifetime: 0,
            valid_lifetime: 0,
            prefix_len: 129,
            prefix: Ipv6Addr::UNSPECIFIED,
            options: vec![],
        });
        let mut out = vec![7];
        assert!(matches!(
            opt.encode(&mut out),
            Err(EncodeError::BadValue { value: 129, .. })
        ));
        assert_eq!(out, [7], "nothing appended on error");
    }

    #[test]
    fn unknown_status_and_state_values_are_bad_values() {
        assert!(matches!(
            DhcpOption::decode(&[0, 114, 0, 1, 0]),
            Err(DecodeError::BadValue {
                field: "binding-status",
                value: 0,
                offset: 4,
                ..
            })
        ));
        assert!(matches!(
            DhcpOption::decode(&[0, 132, 0, 1, 11]),
            Err(DecodeError::BadValue {
                field: "server-state",
                value: 11,
                offset: 4,
                ..
            })
        ));
    }

    #[test]
    fn nesting_is_limited() {
        // MAX_DEPTH + 1 CLIENT_DATA options inside each other.
        let mut wire: Vec<u8> = Vec::new();
        for _ in 0..=MAX_DEPTH {
            let mut outer = vec![0, 45];
            outer.extend_from_slice(&(wire.len() as u16).to_be_bytes());
            outer.extend_from_slice(&wire);
            wire = outer;
        }
        assert_eq!(
            DhcpOption::decode(&wire),
            Err(DecodeError::TooDeep {
                offset: 4 * MAX_DEPTH,
                max_depth: MAX_DEPTH
            })
        );
        // One level less is fine.
        assert!(DhcpOption::decode(&wire[4..]).is_ok());
    }

    #[test]
    fn oversized_option_is_an_encode_error() {
        let opt = DhcpOption::ClientId(vec![0; 70_000]);
        let mut out = Vec::new();
        assert_eq!(
            opt.encode(&mut out),
            Err(EncodeError::OptionTooLong {
                option: "OPTION_CLIENTID",
                code: 1,
                len: 70_000
            })
        );
        assert!(out.is_empty());
    }
}
