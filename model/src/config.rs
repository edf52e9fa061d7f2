//! What a run of the checker explores: the sizes, the budgets that keep every path finite, and
//! the design variant (a rule of RFC 8156 removed or changed) under test.

use std::fmt::{self, Write as _};

use serde::Serialize;

/// Model time, in abstract ticks: the trace format's [`failover_trace::Tick`], one definition.
/// A tick is long compared with the ±5 s "equal times" window of RFC 8156 §7.1 (the conformance
/// mapping uses 60 s per tick), so two events in different ticks are never "equal" in the sense
/// of §7.5.4.
pub use failover_trace::Tick;

/// How the two servers start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Init {
    /// A relationship that is already running: both servers NORMAL, connected, databases in
    /// agreement and the delegable prefixes already balanced (§4.2.2). The STARTUP algorithm is
    /// still exercised by every restart after a crash.
    Normal,
    /// A brand-new relationship with empty stable storage: both servers boot into STARTUP with
    /// the states of §8.2 as PREVIOUS-STATE (primary PARTNER-DOWN, secondary RECOVER; reading R5).
    Fresh,
}

/// The table of design variants: one row per variant gives its doc comment, its command-line
/// name, its one-line description (with the RFC section: `trace::variant_section` reads the
/// first "§x.y" in it) and the property it is expected to break (`breaks(p::NAME)`) or `probe`
/// (a reading the checker does not refute, pinned by a test). From the rows come the enum
/// [`Variant`], [`Variant::ALL`] in row order, [`Variant::name`], [`Variant::description`] and
/// [`Variant::breaks`]. What a variant changes lives in `protocol.rs` (`cfg.is(Variant::X)`),
/// its configuration in [`Variant::config`]: docs/adding-a-variant.md says what else to touch.
macro_rules! variants {
    ($(
        $(#[doc = $doc:literal])*
        $v:ident = $name:literal, $desc:literal, $kind:ident $(($prop:path))?;
    )*) => {
        /// A design variant: one rule of the RFC removed or changed. Each is expected to break a
        /// named property (see [`Variant::breaks`]); the tests assert that the checker finds the
        /// break.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum Variant {
            $(
                $(#[doc = $doc])*
                $v,
            )*
        }

        impl Variant {
            /// Every variant, in a stable order.
            pub const ALL: &'static [Variant] = &[$(Variant::$v),*];

            /// The name used on the command line (`--variant NAME`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Variant::$v => $name,)*
                }
            }

            /// One line: which rule is changed, with the RFC section.
            pub fn description(self) -> &'static str {
                match self {
                    $(Variant::$v => $desc,)*
                }
            }

            /// The property the checker is expected to refute under this variant, or `None` for
            /// a *probe*: a reading of an ambiguity that the checker does not refute in the
            /// configurations checked (the finding is pinned by a test and reported in README).
            pub fn breaks(self) -> Option<&'static str> {
                #[allow(unused_imports)]
                use crate::properties as p;
                match self {
                    $(Variant::$v => variants!(@breaks $kind $(($prop))?),)*
                }
            }
        }
    };
    (@breaks probe) => { None };
    (@breaks breaks ($prop:path)) => { Some($prop) };
}

variants! {
    /// Grants outside PARTNER-DOWN ignore the MCLT cap of §4.4.
    NoMcltCap = "no-mclt-cap",
        "grants outside PARTNER-DOWN ignore the MCLT cap (§4.4)",
        breaks(p::MCLT_BOUND);
    /// A server in PARTNER-DOWN reallocates without the MCLT wait of §8.4.1 / §4.2.2.1.
    PdNoMcltWait = "pd-no-mclt-wait",
        "PARTNER-DOWN reallocates without the MCLT wait (§8.4.1)",
        breaks(p::NO_DUPLICATE);
    /// The literal text of §8.4.1 for the reuse time ("if earlier than now + MCLT, use PD entry
    /// + MCLT"), ambiguity A2 (our reading R2 is the intended max(...) + MCLT).
    PdReuseLiteral = "pd-reuse-literal",
        "PARTNER-DOWN reuse time as literally printed in §8.4.1 (A2)",
        probe;
    /// Figure 2 transition (4) in PARTNER-DOWN as printed: free a lease MCLT after it entered
    /// EXPIRED/RELEASED/RESET, ambiguity A3 (our reading R3 waits for the §8.4.1 time).
    PdFreeAfterStateMclt = "pd-free-after-state-mclt",
        "PARTNER-DOWN frees EXPIRED/RELEASED MCLT after entering the status (Fig. 2 (4), A3)",
        probe;
    /// RECOVER goes straight to RECOVER-DONE on UPDDONE, skipping the RECOVER-WAIT of §8.6.
    SkipRecoverWait = "skip-recover-wait",
        "RECOVER skips RECOVER-WAIT (§8.6)",
        breaks(p::NO_DUPLICATE);
    /// The secondary in COMMUNICATIONS-INTERRUPTED also allocates primary-owned leases (§8.9.1
    /// says it MUST allocate only FREE-BACKUP prefixes and its own addresses).
    SecondaryUsesPrimaryPool = "secondary-uses-primary-pool",
        "secondary in COMMUNICATIONS-INTERRUPTED allocates primary-owned leases (§8.9.1)",
        breaks(p::POOL_OWNERSHIP);
    /// Every BNDUPD is accepted, ignoring the Figure 4 rules of §7.5.4.
    AcceptAllBndupd = "accept-all-bndupd",
        "every BNDUPD accepted, Figure 4 ignored (§7.5.4)",
        breaks(p::AGREEMENT_AT_REST);
    /// The operator may put a server into PARTNER-DOWN while its partner is alive but
    /// unreachable (a partition), breaking the assumption of §8.4.
    OperatorPdInPartition = "operator-pd-in-partition",
        "operator puts a server into PARTNER-DOWN while its partner is alive (§8.4)",
        breaks(p::NO_DUPLICATE);
    /// Auto-partner-down (§8.9.2) configured, and a partition (not a crash) triggers it.
    AutoPdInPartition = "auto-pd-in-partition",
        "auto-partner-down fires during a partition (§8.9.2, A16)",
        breaks(p::NO_DUPLICATE);
    /// Lock-step instead of lazy updates (§4.3): a server answers a client only after the
    /// partner has the update (modelled as an atomic exchange). Safe, but servers cannot serve
    /// while communications are interrupted.
    Lockstep = "lockstep",
        "lock-step updates instead of lazy updates (§4.3)",
        breaks(p::FREE_LEASE_GRANTED);
    /// Figure 3 as printed for the PENDING-FREE destination (ambiguity A1; reading R1 follows
    /// the transition text (5)/(6)).
    Figure3PendingFree = "figure3-pending-free",
        "PENDING-FREE destination as in Figure 3 (A1)",
        breaks(p::LEASES_REUSABLE);
    /// Every tie in Figure 4 rejects, as the text says, even a retransmission or a FREE that
    /// follows the acked RELEASED within the 5 s window (ambiguity A12; reading R11 orders them).
    StrictTies = "strict-ties",
        "ties within the 5 s window always reject (§7.5.4, A12)",
        breaks(p::LEASES_REUSABLE);
    /// The receiver of a rejected BNDUPD does not set its update-pending flag (§7.5.4 SHOULD), so
    /// the sender is never told the newer information.
    NoUpdatePendingOnReject = "no-update-pending-on-reject",
        "no update-pending flag after a rejection (§7.5.4)",
        breaks(p::LEASES_REUSABLE);
    /// The secondary does not send UPDREQ when the primary announces CONFLICT-DONE (§8.10.2
    /// SHOULD; ambiguity A11).
    NoSecondaryUpdreqInConflict = "no-secondary-updreq-in-conflict",
        "secondary sends no UPDREQ when the primary is CONFLICT-DONE (§8.10.2, A11)",
        breaks(p::BACK_TO_NORMAL);
    /// Servers in POTENTIAL-CONFLICT answer clients (§8.10.1 says MUST NOT).
    ResponsiveInPotentialConflict = "responsive-in-potential-conflict",
        "POTENTIAL-CONFLICT answers clients (§8.10.1)",
        breaks(p::RESPONSIVENESS);
    /// A server in COMMUNICATIONS-INTERRUPTED renews only leases its database shows bound to
    /// that client (§8.9.1 says it renews any client's current lease, whoever granted it).
    RenewOwnLeasesOnly = "renew-own-leases-only",
        "COMMUNICATIONS-INTERRUPTED renews only leases it knows for that client (§8.9.1)",
        breaks(p::LEASE_STABILITY);
    /// The STARTUP timer may expire while the partner is running but unreachable, dropping the
    /// environment assumption of §8.3.2 step 3 (STARTUP is long enough to reach the partner).
    StartupTimeoutWhilePartnerAlive = "startup-timeout-while-partner-alive",
        "STARTUP times out while the partner is alive but unreachable (§8.3.2 step 3)",
        breaks(p::NO_DUPLICATE);
    /// On entering NORMAL, send the STATE before the BNDUPDs owed (reading R15 sends them first).
    StateBeforeUpdates = "state-before-updates",
        "entering NORMAL sends STATE before the owed BNDUPDs (§8.8, reading R15)",
        breaks(p::NO_DUPLICATE);
    /// A server may change a lease twice within one tick, closer than Figure 4 can order
    /// (§7.1, ambiguity A12).
    SameTickChanges = "same-tick-changes",
        "a server changes one lease twice within the 5 s window (§7.1, A12)",
        breaks(p::LEASES_REUSABLE);
    /// Figure 4's local time taken literally: the CLT if present, even for a free lease (R17).
    LocalTimeCltFirst = "local-time-clt-first",
        "Figure 4 local time is the CLT even for free leases (§7.5.4, reading R17)",
        breaks(p::AGREEMENT_AT_REST);
    /// A tie in Figure 4 between two free statuses (FREE against FREE-BACKUP, same time) is
    /// rejected by both servers, as the text says (reading R20 lets the primary's view win).
    FreeTieUnbroken = "free-tie-unbroken",
        "a FREE / FREE-BACKUP tie rejects on both sides (§7.5.4, §4.2.2, reading R20)",
        breaks(p::NO_DUPLICATE);
    /// A rejected BNDUPD is forgotten: the update-pending flag is cleared when an update is
    /// sent, so a server that rejects its partner's update resends its own at once (reading R21
    /// keeps the flag until the partner accepts, and resends at the next periodic scan).
    ResendRejectedAtOnce = "resend-rejected-at-once",
        "a rejected update is forgotten; the rejecting side resends at once (§7.5.4, §7.7, R21)",
        breaks(p::EVERY_PATH_ENDS);
    /// After losing its stable storage a server waits only the MCLT in RECOVER-WAIT (§8.6.2 as
    /// written), although grants it made in PARTNER-DOWN may outlive that (reading R22).
    RecoverWaitMcltAfterStorageLoss = "recover-wait-mclt-after-storage-loss",
        "RECOVER-WAIT lasts only the MCLT after a loss of stable storage (§8.6.2, A14, R22)",
        breaks(p::NO_DUPLICATE);
    /// A server that lost its storage forgets it at the next crash, before its UPDREQALL was
    /// answered (reading R23 keeps the knowledge until then).
    StorageLossForgottenOnCrash = "storage-loss-forgotten-on-crash",
        "a crash before the UPDREQALL is answered forgets the storage loss (§8.5.2, R23)",
        breaks(p::AGREEMENT_AT_REST);
    /// DNS: the partner that receives the BNDUPD of a new binding also adds its records
    /// (§9.3 says it SHOULD NOT).
    PartnerAddsOnBndupd = "partner-adds-on-bndupd",
        "the partner receiving a new binding's BNDUPD adds its DNS records too (§9.3)",
        breaks(p::DNS_ONE_UPDATER);
    /// DNS: a server deletes the records when the lease expires locally, not when it makes the
    /// lease PENDING-FREE (§9.4).
    DeleteOnLocalExpiry = "delete-on-local-expiry",
        "DNS records deleted at the local expiry, not at PENDING-FREE (§9.4)",
        breaks(p::DNS_CONSISTENT_AT_REST);
    /// DNS: an owed delete is not kept in stable storage, so a crash between PENDING-FREE and the
    /// delete forgets it (§9.4 last paragraph).
    DnsRemoveNotStored = "dns-remove-not-stored",
        "an owed DNS delete is volatile and lost in a crash (§9.4)",
        breaks(p::DNS_CONSISTENT_AT_REST);
    /// DNS: the delete is done only if the server has recorded that the records were added,
    /// as §9.4 literally says (reading R25 deletes whatever name it knows).
    DeleteOnlyIfRecorded = "delete-only-if-recorded",
        "DNS delete only if the records are recorded as added (§9.4 literal, R25)",
        breaks(p::DNS_CONSISTENT_AT_REST);
    /// DNS: an owed add is performed even after the binding ended (reading R26).
    StaleDnsAdd = "stale-dns-add",
        "an owed DNS add is performed after the binding ended (§9.3, R26)",
        breaks(p::DNS_CONSISTENT_AT_REST);
    /// DNS: the free status goes to the partner, and the lease is allocated again, before the
    /// delete of the old records is done (reading R27).
    FreeBeforeDnsRemove = "free-before-dns-remove",
        "the lease is freed to the partner and reused before its DNS delete is done (§9.4, R27)",
        probe;
    /// DNS: BNDUPD carries no name; a server with no name for a binding synthesizes its own
    /// (§9.5 says the name SHOULD be exchanged).
    NameNotExchanged = "name-not-exchanged",
        "BNDUPD carries no FQDN; a server without the name synthesizes one (§9.5)",
        breaks(p::DNS_NAME_KEPT);
    /// DNS: a server renewing a binding it has no name for synthesizes one instead of keeping
    /// the name the client presents (reading R28).
    NameSynthesizedOnRenewal = "name-synthesized-on-renewal",
        "a renewal of an unknown binding synthesizes a new name (§9.5, R28)",
        breaks(p::DNS_NAME_KEPT);
    /// Reservations: a cancelled reservation's lease is allocatable at once, before the partner
    /// acked the BNDUPD FREE "no longer reserved" (reading R29).
    CancelReservationWithoutAck = "cancel-reservation-without-ack",
        "a cancelled reservation's lease is reused before the partner acks the FREE (draft §12, R29)",
        breaks(p::NO_DUPLICATE);
    /// Reservations: the mark of reading R29 is volatile and lost in a crash (reading R30).
    CancelMarkVolatile = "cancel-mark-volatile",
        "the cancelling mark is volatile and lost in a crash (draft §12, R30)",
        breaks(p::AGREEMENT_AT_REST);
    /// Reservations: the secondary offers a FREE-BACKUP lease flagged reserved to any client.
    SecondaryIgnoresReservedFlag = "secondary-ignores-reserved-flag",
        "the secondary offers a lease flagged reserved to any client (draft §12)",
        breaks(p::RESERVED_ONLY_ITS_CLIENT);
    /// Reservations: the primary keeps a reserved lease in its pool for any client.
    ReservedLeaseInPool = "reserved-lease-in-pool",
        "the primary allocates a reserved lease to any client (draft §12)",
        breaks(p::RESERVED_ONLY_ITS_CLIENT);
    /// Reservations: at the secondary, the primary's update of a free lease that changes the
    /// reservation is judged by Figure 4's times alone, as any update (reading R31).
    ReservationChangeByTime = "reservation-change-by-time",
        "the secondary judges the primary's reservation change of a free lease by time, as any update (draft §12, R31)",
        breaks(p::EVERY_PATH_ENDS);
}

impl Variant {
    /// Parse a command-line name.
    pub fn from_name(name: &str) -> Option<Variant> {
        Variant::ALL.iter().copied().find(|v| v.name() == name)
    }

    /// The configuration in which the variant is checked: the default one, adjusted where the
    /// broken rule needs a fault the default does not inject (say so in README).
    pub fn config(self) -> ModelConfig {
        let mut c = ModelConfig {
            variant: Some(self),
            ..ModelConfig::default()
        };
        match self {
            // RECOVER-WAIT protects the leases a server granted before it lost its storage.
            Variant::SkipRecoverWait => {
                c.storage_losses = 1;
                c.settle_ticks = 3;
                c.crashes = 0;
                c.partitions = 0;
                c.ticks = 1;
                c.addresses = 0;
                c.prefixes = 1;
            }
            // A third client asks the server in PARTNER-DOWN once its own prefix is gone, so it
            // takes the partner's prefix that the partner (crashed now) delegated just before.
            Variant::PdNoMcltWait => {
                c.clients = 3;
                c.addresses = 0;
                c.prefixes = 2;
                c.ticks = 1;
                c.client_ops = 3;
            }
            // One prefix, so that the two servers contend for it.
            Variant::StartupTimeoutWhilePartnerAlive | Variant::StateBeforeUpdates => {
                c.addresses = 0;
                c.prefixes = 1;
            }
            // A prefix released and delegated again in one tick.
            Variant::SameTickChanges => {
                c.addresses = 0;
                c.prefixes = 1;
                c.crashes = 0;
                c.client_ops = 3;
            }
            // Both servers serve alone; with a single prefix, the one in PARTNER-DOWN takes its
            // partner's prefix after the MCLT while the partner still hands it out.
            Variant::AutoPdInPartition => {
                c.auto_partner_down = Some(1);
                c.addresses = 0;
                c.prefixes = 1;
                c.ticks = 3;
                c.crashes = 0;
                c.commands = 0;
            }
            Variant::OperatorPdInPartition => {
                c.addresses = 0;
                c.prefixes = 1;
                c.crashes = 0;
                c.commands = 2;
            }
            // Secondary-owned addresses are what Figure 3 sends to the wrong pool.
            Variant::Figure3PendingFree => {
                c.prefixes = 0;
                c.crashes = 0;
                c.commands = 0;
            }
            // A2 and A3 need lifetimes longer than the MCLT to show anything.
            Variant::PdReuseLiteral | Variant::PdFreeAfterStateMclt => {
                c.mclt = 2;
                c.lifetime = 3;
                c.prefixes = 1;
                // Liveness needs time to settle: a lease expires up to MCLT + 1 ticks after
                // the faults stop, and its FREE goes out a tick later.
                c.settle_ticks = 3;
            }
            // POTENTIAL-CONFLICT needs two crashes and an operator command.
            Variant::NoSecondaryUpdreqInConflict | Variant::ResponsiveInPotentialConflict => {
                c = ModelConfig::conflict();
                c.variant = Some(self);
            }
            // A prefix given and taken back, and two crashes (found at depth 62).
            Variant::LocalTimeCltFirst => {
                c.crashes = 2;
            }
            // The secondary grants its address in PARTNER-DOWN, then loses its storage before
            // the recovering primary heard of the grant.
            Variant::RecoverWaitMcltAfterStorageLoss | Variant::StorageLossForgottenOnCrash => {
                c.storage_losses = 1;
                c.settle_ticks = 3;
                c.addresses = 1;
                c.prefixes = 0;
            }
            // The primary loses its storage (every prefix FREE since t0) while the secondary
            // holds the prefix it was given at the start FREE-BACKUP since t0.
            // With lifetime 1 the recovering primary's RECOVER-WAIT (max(MCLT, lifetime),
            // reading R22) ends within the fault phase, so that it allocates in NORMAL.
            Variant::FreeTieUnbroken | Variant::ResendRejectedAtOnce => {
                c.storage_losses = 1;
                c.settle_ticks = 3;
                c.crashes = 0;
                c.addresses = 0;
                c.prefixes = 2;
                if self == Variant::FreeTieUnbroken {
                    c.lifetime = 1;
                }
            }
            Variant::PartnerAddsOnBndupd
            | Variant::DeleteOnLocalExpiry
            | Variant::DnsRemoveNotStored
            | Variant::DeleteOnlyIfRecorded
            | Variant::StaleDnsAdd
            | Variant::NameNotExchanged
            | Variant::NameSynthesizedOnRenewal => {
                c = ModelConfig::dns();
                c.variant = Some(self);
            }
            // A second client gets the address again, from the same server, under its own name
            // while the first client's delete is still owed.
            Variant::FreeBeforeDnsRemove => {
                c = ModelConfig {
                    clients: 2,
                    client_ops: 3,
                    ticks: 2,
                    crashes: 0,
                    partitions: 0,
                    commands: 0,
                    ..ModelConfig::dns()
                };
                c.variant = Some(self);
            }
            Variant::CancelMarkVolatile => {
                c = ModelConfig {
                    partitions: 0,
                    crashes: 1,
                    ..ModelConfig::reservations()
                };
                c.variant = Some(self);
            }
            Variant::CancelReservationWithoutAck
            | Variant::SecondaryIgnoresReservedFlag
            | Variant::ReservedLeaseInPool
            | Variant::ReservationChangeByTime => {
                c = ModelConfig::reservations();
                c.variant = Some(self);
            }
            _ => {}
        }
        c
    }

    /// Whether the variant changes a reservation rule (checked with `--reservations`).
    pub fn is_reservations(self) -> bool {
        self >= Variant::CancelReservationWithoutAck && self <= Variant::ReservationChangeByTime
    }

    /// Whether the variant changes a DNS rule (checked with `--dns`).
    pub fn is_dns(self) -> bool {
        self >= Variant::PartnerAddsOnBndupd && self <= Variant::NameSynthesizedOnRenewal
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that shapes the state graph. All budgets are finite, and with the protocol's own
/// bound on messages within a tick (reading R21) every path is finite and the graph is acyclic
/// ([`crate::cycles`] checks it): that is what makes the bounded liveness properties sound (stateright
/// checks `eventually`-style properties only at the ends of finite paths).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ModelConfig {
    /// Number of DHCP clients (interchangeable; the checker uses symmetry over them).
    pub clients: u8,
    /// Number of IPv6 addresses (independent allocation, §4.2.1). Address `A<i>` has bit 127
    /// equal to `i & 1`: odd addresses belong to the primary, even ones to the secondary.
    pub addresses: u8,
    /// Number of delegable prefixes (proportional allocation, §4.2.2).
    pub prefixes: u8,
    /// Maximum Client Lead Time, in ticks (§4.4).
    pub mclt: Tick,
    /// The desired valid lifetime a server would give without failover, in ticks.
    pub lifetime: Tick,
    /// Clock budget of the fault phase: ticks during which faults and client operations happen.
    pub ticks: Tick,
    /// Clock budget of the settle phase that follows: no more faults or client operations, and
    /// time only advances when nothing else can happen. Liveness is judged at its end.
    pub settle_ticks: Tick,
    /// Partner-link failures (partitions) that may happen.
    pub partitions: u8,
    /// Server crashes (restart from stable storage) that may happen.
    pub crashes: u8,
    /// Server crashes that also lose stable storage (restart as if new, reading R5).
    pub storage_losses: u8,
    /// Client operations (request, renew, rebind, release, decline) that may happen.
    pub client_ops: u8,
    /// Operator commands (PARTNER-DOWN, reset of an abandoned lease) that may happen. By
    /// default the PARTNER-DOWN command is only given when the partner really is down (§8.4).
    pub commands: u8,
    /// Auto-partner-down period in ticks (§8.9.2), or none. With it, a partition can trigger
    /// PARTNER-DOWN on a live partner: the RFC warns about this.
    pub auto_partner_down: Option<Tick>,
    /// How long STARTUP waits for the partner (§8.3.2 step 3), in ticks.
    pub startup_ticks: Tick,
    /// How the servers start.
    pub init: Init,
    /// The design variant under test, or none for the RFC as we read it.
    pub variant: Option<Variant>,
    /// DNS update coordination (§9): names, DNS operations, an abstract DNS server. Off by
    /// default.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dns: bool,
    /// Reservations (design draft §12): leases reserved for a client. Empty by default.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reservations: Vec<Reservation>,
    /// Operator cancellations of a reservation that may happen (`--reservations`).
    #[serde(skip_serializing_if = "is_zero")]
    pub cancels: u8,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// A reservation (design draft §12): the lease is offered to this client only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Reservation {
    /// The reserved lease.
    pub lease: u8,
    /// The client it is reserved for.
    pub client: u8,
}

impl Default for ModelConfig {
    /// The default exhaustive configuration: small, but with a partition, a crash, an operator
    /// command, both pool kinds, and a clock long enough for the MCLT waits.
    fn default() -> Self {
        ModelConfig {
            clients: 2,
            addresses: 1,
            prefixes: 2,
            mclt: 1,
            lifetime: 2,
            ticks: 2,
            settle_ticks: 2,
            partitions: 1,
            crashes: 1,
            storage_losses: 0,
            client_ops: 2,
            commands: 1,
            auto_partner_down: None,
            startup_ticks: 1,
            init: Init::Normal,
            variant: None,
            dns: false,
            reservations: Vec::new(),
            cancels: 0,
        }
    }
}

impl ModelConfig {
    /// A small configuration that reaches POTENTIAL-CONFLICT, RESOLUTION-INTERRUPTED and
    /// CONFLICT-DONE: one client, two addresses, two crashes and an operator command.
    pub fn conflict() -> ModelConfig {
        ModelConfig {
            clients: 1,
            addresses: 2,
            prefixes: 0,
            ticks: 2,
            client_ops: 1,
            crashes: 2,
            commands: 1,
            ..ModelConfig::default()
        }
    }

    /// The DNS configuration (`check --dns`): one client, two addresses (one per server), one
    /// tick of faults with a partition, a crash and an operator command, with DNS update
    /// coordination (§9).
    pub fn dns() -> ModelConfig {
        ModelConfig {
            clients: 1,
            addresses: 2,
            prefixes: 0,
            ticks: 1,
            dns: true,
            ..ModelConfig::default()
        }
    }

    /// The reservations configuration (`check --reservations`): two clients, two addresses (one
    /// per server), `A1` reserved for `c0` (design draft §12), a partition, two client operations
    /// and one cancellation of the reservation. A crash instead of the partition is as small
    /// (`--partitions 0 --crashes 1`, the configuration of `cancel-mark-volatile`); both
    /// together pass twelve million states.
    pub fn reservations() -> ModelConfig {
        ModelConfig {
            clients: 2,
            addresses: 2,
            prefixes: 0,
            ticks: 2,
            commands: 0,
            crashes: 0,
            reservations: vec![Reservation {
                lease: 1,
                client: 0,
            }],
            cancels: 1,
            ..ModelConfig::default()
        }
    }

    /// The reservations configuration with a reserved prefix instead of an address: no
    /// addresses, two prefixes, `P1` reserved for `c0`, one tick of faults (`check --reserve
    /// P1:c0 --addresses 0 --prefixes 2 --ticks 1`). The primary keeps the reserved prefix out
    /// of the prefixes it balances with the secondary (§4.2.2).
    pub fn reserved_prefix() -> ModelConfig {
        ModelConfig {
            addresses: 0,
            prefixes: 2,
            ticks: 1,
            reservations: vec![Reservation {
                lease: 1,
                client: 0,
            }],
            ..ModelConfig::reservations()
        }
    }

    /// The client lease `l` is reserved for in the configuration, if any.
    pub fn reserved_for(&self, l: u8) -> Option<u8> {
        self.reservations
            .iter()
            .find(|r| r.lease == l)
            .map(|r| r.client)
    }

    /// The larger configuration whose figures README and BENCHMARKS.md report: two clients,
    /// two addresses (one per server), two prefixes.
    pub fn headline() -> ModelConfig {
        ModelConfig {
            addresses: 2,
            ..ModelConfig::default()
        }
    }
}

/// A configuration that makes no sense, named so that the CLI can say why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl ModelConfig {
    /// How the servers start, as the RFC names it: `init normal` is a running relationship,
    /// `init fresh` the first start of §8.2.
    pub fn init_name(&self) -> &'static str {
        match self.init {
            Init::Normal => "normal: both servers NORMAL and connected",
            Init::Fresh => "fresh: both servers in STARTUP with empty stable storage (§8.2)",
        }
    }

    /// One line: the sizes, and the variant if any (the subtitle of the Explorer's chart).
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} clients, {} addresses, {} prefixes, MCLT {} ticks, lifetime {} ticks",
            self.clients, self.addresses, self.prefixes, self.mclt, self.lifetime
        );
        match self.variant {
            Some(v) => {
                let _ = write!(s, "; variant {} ({})", v.name(), v.description());
            }
            None => s.push_str("; the RFC as read in docs/readings.md"),
        }
        s
    }

    /// The number of leases (addresses first, then prefixes).
    pub fn leases(&self) -> usize {
        self.addresses as usize + self.prefixes as usize
    }

    /// Whether a variant is selected.
    pub fn is(&self, v: Variant) -> bool {
        self.variant == Some(v)
    }

    /// Reject budgets that make no sense, with a message that names the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError(m));
        if self.clients == 0 || self.clients > 4 {
            return err(format!("--clients must be 1..=4 (got {})", self.clients));
        }
        if self.leases() == 0 {
            return err(
                "at least one address or prefix is needed (--addresses, --prefixes)".into(),
            );
        }
        if self.leases() > 8 {
            return err(format!(
                "at most 8 leases in all (got {} addresses + {} prefixes)",
                self.addresses, self.prefixes
            ));
        }
        if self.mclt == 0 {
            return err("--mclt must be at least 1 tick".into());
        }
        if self.lifetime == 0 {
            return err("--lifetime must be at least 1 tick".into());
        }
        if self.startup_ticks == 0 {
            return err("--startup-ticks must be at least 1 tick".into());
        }
        let horizon = self.ticks as u32 + self.settle_ticks as u32;
        if horizon + 3 * self.lifetime as u32 + self.mclt as u32 > 250 {
            return err("the clock budget is too large (ticks + settle-ticks + 3 x lifetime + mclt must stay under 250)".into());
        }
        for r in &self.reservations {
            if r.lease as usize >= self.leases() || r.client >= self.clients {
                return err(format!(
                    "reservation of lease {} for client {} is not a lease and a client of the configuration",
                    r.lease, r.client
                ));
            }
        }
        if !self.reservations.is_empty() && self.storage_losses > 0 {
            return err("reservations are not modelled with storage loss: whether a primary that lost its storage reserves a cancelled lease again depends on whether the cancellation edited its configuration (README, reservations)".into());
        }
        if self.auto_partner_down == Some(0) {
            return err("--auto-partner-down must be at least 1 tick".into());
        }
        // Liveness is judged at the end of the settle phase, so the phase must be long enough
        // for what the properties promise: a lease granted in the last tick of the fault phase
        // lasts up to `lifetime` ticks and its FREE is announced a tick after it expires; a
        // recovering server waits the MCLT in RECOVER-WAIT (§8.6) before NORMAL. A shorter
        // phase would report liveness violations that are only the clock running out.
        if self.settle_ticks < self.lifetime || self.settle_ticks <= self.mclt {
            return err(format!(
                "--settle-ticks ({}) is too short to judge liveness: it must be at least the \
                 lifetime ({}) and more than the MCLT ({})",
                self.settle_ticks, self.lifetime, self.mclt
            ));
        }
        // A server that lost its storage waits max(MCLT, lifetime) in RECOVER-WAIT (reading
        // R22), and its updates go a tick later.
        let recover = self.mclt.max(self.lifetime) + 1;
        if self.storage_losses > 0 && self.settle_ticks < recover {
            return err(format!(
                "--settle-ticks ({}) is too short to judge liveness with storage loss: a server                  that lost its storage waits max(MCLT, lifetime) in RECOVER-WAIT, so it must be                  at least {recover}",
                self.settle_ticks
            ));
        }
        Ok(())
    }

    /// The shortest settle phase [`ModelConfig::validate`] accepts.
    pub fn min_settle_ticks(&self) -> Tick {
        let base = self.lifetime.max(self.mclt + 1);
        if self.storage_losses > 0 {
            base.max(self.mclt.max(self.lifetime) + 1)
        } else {
            base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_names_round_trip() {
        for v in Variant::ALL {
            assert_eq!(Variant::from_name(v.name()), Some(*v));
        }
        assert_eq!(Variant::from_name("no-such-variant"), None);
    }

    #[test]
    fn nonsense_budgets_are_rejected_with_the_field_named() {
        let c = ModelConfig {
            mclt: 0,
            ..ModelConfig::default()
        };
        assert!(c.validate().unwrap_err().0.contains("--mclt"));
        let c = ModelConfig {
            addresses: 0,
            prefixes: 0,
            ..ModelConfig::default()
        };
        assert!(c.validate().unwrap_err().0.contains("address or prefix"));
        assert!(ModelConfig::default().validate().is_ok());
        let mut c = ModelConfig {
            lifetime: 3,
            ..ModelConfig::default()
        };
        assert!(c.validate().unwrap_err().0.contains("--settle-ticks (2)"));
        c.settle_ticks = 3;
        assert!(c.validate().is_ok());
    }

    #[test]
    fn every_variant_configuration_is_valid() {
        for v in Variant::ALL {
            assert!(v.config().validate().is_ok(), "{v}");
        }
        assert!(ModelConfig::conflict().validate().is_ok());
        assert!(ModelConfig::headline().validate().is_ok());
    }
}
