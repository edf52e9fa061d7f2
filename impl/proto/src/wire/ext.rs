//! Project extensions and helpers beyond RFC 8156's own options.
//!
//! **Reserved-lease flag.** The design draft (draft-ietf-dhc-dhcpv6-failover-design §12) has the
//! primary send a free reserved lease to the secondary "in a BNDUPD with a flag set showing that
//! it is reserved", and a cancelled reservation "with an indication that the resource is no
//! longer reserved"; RFC 8156 defines no such flag. This crate carries it, inside the
//! IAADDR/IAPREFIX options of a BNDUPD, as OPTION_VENDOR_OPTS (17, RFC 3315 §22.17) with the
//! enterprise number 32473, reserved for documentation by RFC 5612, holding one sub-option:
//!
//! ```text
//! 0011 0009          OPTION_VENDOR_OPTS (17), option-len 9
//! 00007ed9           enterprise-number 32473
//! 0001 0001 01       sub-option 1 (RESERVED), len 1, 1 = reserved / 0 = no longer reserved
//! ```
//!
//! A partner that does not know the extension ignores the option (RFC 3315 §22.1 practice, and
//! this codec keeps it as [`DhcpOption::Unknown`]). A deployment replaces 32473 by its own
//! enterprise number.
//!
//! **DNS names.** OPTION_F_DNS_HOST_NAME and OPTION_F_DNS_ZONE_NAME (§5.5.3.1-2) hold names "as
//! specified in Section 8 of RFC 3315", the RFC 1035 wire form; [`encode_dns_name`] and
//! [`decode_dns_name`] convert a dotted name to and from it (a complete name, with its root
//! label).

use super::options::DhcpOption;

/// OPTION_VENDOR_OPTS (RFC 3315 §22.17).
pub const OPTION_VENDOR_OPTS: u16 = 17;
/// The enterprise number reserved for documentation (RFC 5612): the extension's owner.
pub const DOCUMENTATION_ENTERPRISE: u32 = 32473;
/// The sub-option that carries the reserved flag.
pub const SUBOPTION_RESERVED: u16 = 1;

/// The OPTION_VENDOR_OPTS carrying the reserved flag (`false`: "no longer reserved").
pub fn reserved_option(reserved: bool) -> DhcpOption {
    let mut data = DOCUMENTATION_ENTERPRISE.to_be_bytes().to_vec();
    data.extend_from_slice(&SUBOPTION_RESERVED.to_be_bytes());
    data.extend_from_slice(&1u16.to_be_bytes());
    data.push(u8::from(reserved));
    DhcpOption::Unknown {
        code: OPTION_VENDOR_OPTS,
        data,
    }
}

/// The reserved flag, if `o` is this extension's OPTION_VENDOR_OPTS (another enterprise's
/// vendor option, or a malformed one, gives `None`).
pub fn reserved_flag(o: &DhcpOption) -> Option<bool> {
    let DhcpOption::Unknown { code, data } = o else {
        return None;
    };
    if *code != OPTION_VENDOR_OPTS || data.len() < 4 {
        return None;
    }
    if u32::from_be_bytes([data[0], data[1], data[2], data[3]]) != DOCUMENTATION_ENTERPRISE {
        return None;
    }
    let mut rest = &data[4..];
    while rest.len() >= 4 {
        let sub = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let value = rest.get(4..4 + len)?;
        if sub == SUBOPTION_RESERVED && len == 1 {
            return Some(value[0] != 0);
        }
        rest = &rest[4 + len..];
    }
    None
}

/// A dotted name (`"host.example.com"`, trailing dot optional) in RFC 1035 wire form, ending
/// with the root label. Labels longer than 63 octets are cut to 63.
pub fn encode_dns_name(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        let l = &label.as_bytes()[..label.len().min(63)];
        out.push(l.len() as u8);
        out.extend_from_slice(l);
    }
    out.push(0);
    out
}

/// The dotted form (no trailing dot) of an RFC 1035 wire-form name, complete or partial (RFC
/// 4704 §4.2 allows a partial name without the root label). `None` if malformed or not ASCII.
pub fn decode_dns_name(wire: &[u8]) -> Option<String> {
    let mut labels = Vec::new();
    let mut rest = wire;
    while let Some((&len, tail)) = rest.split_first() {
        if len == 0 {
            break;
        }
        let len = usize::from(len);
        if len > 63 || tail.len() < len {
            return None;
        }
        let label = std::str::from_utf8(&tail[..len]).ok()?;
        if !label.is_ascii() {
            return None;
        }
        labels.push(label.to_string());
        rest = &tail[len..];
    }
    Some(labels.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_the_wire_form() {
        let w = encode_dns_name("laptop.example.com.");
        assert_eq!(w, b"\x06laptop\x07example\x03com\x00");
        assert_eq!(decode_dns_name(&w).as_deref(), Some("laptop.example.com"));
        assert_eq!(decode_dns_name(b"\x06laptop").as_deref(), Some("laptop"));
        assert_eq!(decode_dns_name(b"\x09short"), None);
    }

    #[test]
    fn only_our_enterprise_and_sub_option_give_a_flag() {
        assert_eq!(reserved_flag(&reserved_option(true)), Some(true));
        assert_eq!(reserved_flag(&reserved_option(false)), Some(false));
        let other = DhcpOption::Unknown {
            code: OPTION_VENDOR_OPTS,
            data: vec![0, 0, 0, 9, 0, 1, 0, 1, 1],
        };
        assert_eq!(reserved_flag(&other), None);
    }
}
