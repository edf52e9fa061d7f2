//! Closed semantic enums, in RFC code order (RFC 8156 §5.5.1, §5.5.16, §11).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A wire code that names no known value of the enum it was decoded into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownCode {
    /// The enum that was being decoded (`"ServerState"`, ...).
    pub what: &'static str,
    /// The code found.
    pub code: u16,
}

impl fmt::Display for UnknownCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} code {}", self.what, self.code)
    }
}

impl std::error::Error for UnknownCode {}

macro_rules! rfc_enum {
    (
        $(#[$meta:meta])*
        $name:ident : $repr:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal => $token:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $token)] $variant, )+
        }

        impl $name {
            /// Every value, in RFC code order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The RFC's token for this value, as printed in the RFC text.
            pub const fn token(self) -> &'static str {
                match self { $( $name::$variant => $token, )+ }
            }

            /// The value carried on the wire.
            pub const fn code(self) -> $repr {
                match self { $( $name::$variant => $code, )+ }
            }

            /// Decode a wire value.
            pub fn from_code(code: $repr) -> Result<Self, UnknownCode> {
                match code {
                    $( $code => Ok($name::$variant), )+
                    other => Err(UnknownCode { what: stringify!($name), code: other as u16 }),
                }
            }

            /// Parse the RFC token (`"FREE-BACKUP"`), as used in traces and on the command line.
            pub fn from_token(token: &str) -> Option<Self> {
                match token { $( $token => Some($name::$variant), )+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.token())
            }
        }
    };
}

rfc_enum! {
    /// The ten endpoint states of RFC 8156 §8 (wire values of OPTION_F_SERVER_STATE, §5.5.16).
    ///
    /// STARTUP (1) is never sent in OPTION_F_SERVER_STATE: a server in STARTUP sends its previous
    /// state with the STARTUP flag of OPTION_F_SERVER_FLAGS set (§5.5.15, §8.3.1).
    ServerState: u8 {
        /// §8.3: waiting to learn the partner's state; unresponsive.
        Startup = 1 => "STARTUP",
        /// §8.8: in contact; primary responsive, secondary renew-responsive.
        Normal = 2 => "NORMAL",
        /// §8.9: partner unreachable; responsive, own pool only, MCLT applies.
        CommunicationsInterrupted = 3 => "COMMUNICATIONS-INTERRUPTED",
        /// §8.4: partner known to be down; responsive, no MCLT restriction.
        PartnerDown = 4 => "PARTNER-DOWN",
        /// §8.10: both may have served alone; unresponsive until the databases are reconciled.
        PotentialConflict = 5 => "POTENTIAL-CONFLICT",
        /// §8.5: rebuilding the database from the partner; unresponsive.
        Recover = 6 => "RECOVER",
        /// §8.6: waiting out the MCLT after recovery; unresponsive.
        RecoverWait = 7 => "RECOVER-WAIT",
        /// §8.7: recovered, waiting for the partner; renews only.
        RecoverDone = 8 => "RECOVER-DONE",
        /// §8.11: contact lost during conflict resolution; responsive.
        ResolutionInterrupted = 9 => "RESOLUTION-INTERRUPTED",
        /// §8.12: primary only; conflict resolved on its side, waiting for the secondary.
        ConflictDone = 10 => "CONFLICT-DONE",
    }
}

rfc_enum! {
    /// Binding status of a lease (OPTION_F_BINDING_STATUS, RFC 8156 §5.5.1, §7.2).
    BindingStatus: u8 {
        /// Assigned to a client.
        Active = 1 => "ACTIVE",
        /// The client's lifetime ran out.
        Expired = 2 => "EXPIRED",
        /// The client released it.
        Released = 3 => "RELEASED",
        /// Transient: acknowledged free, about to become FREE or FREE-BACKUP (§7.2 (4)-(6)).
        PendingFree = 4 => "PENDING-FREE",
        /// Available to the primary.
        Free = 5 => "FREE",
        /// Available to the secondary.
        FreeBackup = 6 => "FREE-BACKUP",
        /// Unusable, typically after a DECLINE.
        Abandoned = 7 => "ABANDONED",
        /// Freed by an operator command.
        Reset = 8 => "RESET",
    }
}

rfc_enum! {
    /// Failover message types (RFC 8156 §5.3, codes from §11).
    MsgKind: u8 {
        /// §5.3.1 binding update.
        BndUpd = 24 => "BNDUPD",
        /// §5.3.2 binding reply.
        BndReply = 25 => "BNDREPLY",
        /// §5.3.3 pool request (secondary to primary).
        PoolReq = 26 => "POOLREQ",
        /// §5.3.4 pool response.
        PoolResp = 27 => "POOLRESP",
        /// §5.3.5 update request: send what I have not yet confirmed.
        UpdReq = 28 => "UPDREQ",
        /// §5.3.6 update request all: send your whole database.
        UpdReqAll = 29 => "UPDREQALL",
        /// §5.3.7 update done.
        UpdDone = 30 => "UPDDONE",
        /// §5.3.8 connect (primary to secondary).
        Connect = 31 => "CONNECT",
        /// §5.3.9 connect reply.
        ConnectReply = 32 => "CONNECTREPLY",
        /// §5.3.10 disconnect.
        Disconnect = 33 => "DISCONNECT",
        /// §5.3.11 endpoint state.
        State = 34 => "STATE",
        /// §5.3.12 keepalive.
        Contact = 35 => "CONTACT",
    }
}

rfc_enum! {
    /// The two kinds of lease (RFC 8156 §4.2), by the client option that asks for one: an
    /// address (IA_NA, option 3) is allocated independently (§4.2.1), a delegable prefix (IA_PD,
    /// option 25) proportionally (§4.2.2). The code is that option's code; the token is the word
    /// traces, descriptions and coverage items use.
    LeaseKind: u16 {
        /// An IPv6 address (IA_NA): independent allocation, §4.2.1.
        Address = 3 => "address",
        /// A delegable prefix (IA_PD): proportional allocation, §4.2.2.
        Prefix = 25 => "prefix",
    }
}

/// The two roles of a failover relationship (RFC 8156 §3, §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Owns the proportional pool at start, opens the connection, configures the MCLT.
    Primary,
    /// Listens for the primary's connection; receives FREE-BACKUP leases.
    Secondary,
}

impl Role {
    /// The other role of the relationship.
    pub const fn partner(self) -> Role {
        match self {
            Role::Primary => Role::Secondary,
            Role::Secondary => Role::Primary,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_match_the_rfc_tables() {
        for s in ServerState::ALL {
            assert_eq!(ServerState::from_code(s.code()), Ok(*s));
            assert_eq!(ServerState::from_token(s.token()), Some(*s));
        }
        assert_eq!(ServerState::CommunicationsInterrupted.code(), 3);
        assert_eq!(ServerState::ConflictDone.code(), 10);
        assert_eq!(BindingStatus::FreeBackup.code(), 6);
        assert_eq!(BindingStatus::Reset.code(), 8);
        assert_eq!(MsgKind::BndUpd.code(), 24);
        assert_eq!(MsgKind::Contact.code(), 35);
        assert!(ServerState::from_code(11).is_err());
        assert!(BindingStatus::from_code(0).is_err());
        assert_eq!(LeaseKind::Address.code(), 3);
        assert_eq!(LeaseKind::Prefix.code(), 25);
    }

    #[test]
    fn serde_uses_rfc_tokens() {
        let json = serde_json::to_string(&BindingStatus::FreeBackup).unwrap();
        assert_eq!(json, "\"FREE-BACKUP\"");
        let s: ServerState = serde_json::from_str("\"COMMUNICATIONS-INTERRUPTED\"").unwrap();
        assert_eq!(s, ServerState::CommunicationsInterrupted);
        // The model's traces and descriptions write the lease kind in lower case.
        assert_eq!(
            serde_json::to_string(&LeaseKind::Prefix).unwrap(),
            "\"prefix\""
        );
        assert_eq!(LeaseKind::Address.to_string(), "address");
    }
}
