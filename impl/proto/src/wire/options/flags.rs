//! The three flag fields of RFC 8156: OPTION_F_CONNECT_FLAGS (§5.5.2), OPTION_F_DNS_FLAGS
//! (§5.5.3.3) and OPTION_F_SERVER_FLAGS (§5.5.15).
//!
//! Each keeps the raw bits, MBZ bits included: "must be zero" binds the sender, and what a receiver
//! does with a set MBZ bit is a protocol decision, not the codec's. Keeping the raw value also makes
//! decode → encode return the same octets.

macro_rules! flags {
    (
        $(#[$meta:meta])* $name:ident($repr:ty), mbz = $mbz:literal {
            $( $(#[$fmeta:meta])* $flag:ident = $bit:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub struct $name(pub $repr);

        impl $name {
            $( $(#[$fmeta])* pub const $flag: $repr = $bit; )+

            /// Bits the RFC says must be zero.
            pub const MBZ_MASK: $repr = $mbz;

            /// `true` if every bit of `mask` is set.
            pub const fn contains(self, mask: $repr) -> bool {
                self.0 & mask == mask
            }

            /// The MBZ bits that are set (0 for a conforming sender).
            pub const fn mbz_bits(self) -> $repr {
                self.0 & Self::MBZ_MASK
            }

            /// These flags with the bits of `mask` set.
            #[must_use]
            pub const fn with(self, mask: $repr) -> Self {
                $name(self.0 | mask)
            }
        }
    };
}

flags! {
    /// OPTION_F_CONNECT_FLAGS (RFC 8156 §5.5.2): attributes of the connecting server, sent in
    /// CONNECT and CONNECTREPLY (§6.1.1, §6.1.2).
    ConnectFlags(u16), mbz = 0xFFFE {
        /// Bit 15 (F), FIXED_PD_LENGTH: all prefixes delegated from one delegable prefix have the
        /// same length.
        FIXED_PD_LENGTH = 0x0001,
    }
}

flags! {
    /// OPTION_F_DNS_FLAGS (RFC 8156 §5.5.3.3): what must be done to remove a DNS name.
    DnsFlags(u16), mbz = 0xFFF0 {
        /// Bit 12 (U), USING_REQUESTED_FQDN: the name came from the client's FQDN.
        USING_REQUESTED_FQDN = 0x0008,
        /// Bit 13 (S), SYNTHESIZED_NAME: the name was synthesized by some algorithm.
        SYNTHESIZED_NAME = 0x0004,
        /// Bit 14 (R), REV_UPTODATE: the reverse zone is up to date.
        REV_UPTODATE = 0x0002,
        /// Bit 15 (F), FWD_UPTODATE: the forward zone is up to date.
        FWD_UPTODATE = 0x0001,
    }
}

flags! {
    /// OPTION_F_SERVER_FLAGS (RFC 8156 §5.5.15): information about the sending endpoint, in STATE
    /// messages (§6.3).
    ServerFlags(u8), mbz = 0xF8 {
        /// Bit 5 (A), ACK_STARTUP: the last SERVER_FLAGS received had STARTUP set.
        ACK_STARTUP = 0x04,
        /// Bit 6 (S), STARTUP: the sender is in STARTUP (§8.3); its SERVER_STATE is then the
        /// previously recorded state.
        STARTUP = 0x02,
        /// Bit 7 (C), COMMUNICATED: the sender has communicated with its partner.
        COMMUNICATED = 0x01,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_numbered_from_the_msb_as_in_the_rfc() {
        // §5.5.15: bit 5 of an octet numbered from the MSB is 0b0000_0100.
        assert_eq!(ServerFlags::ACK_STARTUP, 1 << (7 - 5));
        assert_eq!(ServerFlags::COMMUNICATED, 1 << (7 - 7));
        // §5.5.3.3: bit 12 of a 16-bit field is 0x0008.
        assert_eq!(DnsFlags::USING_REQUESTED_FQDN, 1 << (15 - 12));
        assert_eq!(ConnectFlags::FIXED_PD_LENGTH, 1 << (15 - 15));
        let f = ServerFlags::default().with(ServerFlags::STARTUP | ServerFlags::COMMUNICATED);
        assert_eq!(f.0, 0x03);
        assert!(f.contains(ServerFlags::STARTUP));
        assert!(!f.contains(ServerFlags::ACK_STARTUP));
        assert_eq!(ServerFlags(0x83).mbz_bits(), 0x80);
        assert_eq!(ConnectFlags(0x8001).mbz_bits(), 0x8000);
    }
}
