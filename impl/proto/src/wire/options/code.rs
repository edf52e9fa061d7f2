//! Option codes: the RFC 8156 options (§5.5, codes 114-134, §11) and the options from other RFCs
//! that failover messages carry (§7.4). The codes and names themselves are rows of the option
//! table in `options/mod.rs` (`dhcp_options!`), which also defines the typed options.

use std::fmt;

/// A DHCPv6 option code as carried on the wire: any 16-bit value, known or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OptionCode(pub u16);

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
