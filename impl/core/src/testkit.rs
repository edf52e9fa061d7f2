//! A documented test builder: one endpoint put directly into a given failover state, with given
//! lease records and (optionally) communications OK with a partner in a given state, without a
//! hand-scripted exchange per state.
//!
//! This is what the RFC scenarios of `conformance/scenarios/` need ("a primary in NORMAL holding
//! this lease receives this BNDUPD"), and what an implementer can copy for their own server:
//!
//! 1. write the lease records and an endpoint record naming the state into stable storage;
//! 2. start the server on that storage (it enters STARTUP, RFC 8156 §8.3);
//! 3. leave STARTUP into the recorded state at once (the recorded start time is kept, as after a
//!    restart: decision D7), skipping the STARTUP timer;
//! 4. if a partner is given, play the connection set-up of §6.1 by hand (CONNECT and
//!    CONNECTREPLY with the same MCLT) and deliver the partner's STATE (§6.3, without the
//!    STARTUP flag);
//! 5. drain what the server said while getting there, and check that it is still in the given
//!    state: a state the partner's STATE moves it out of (PARTNER-DOWN facing a NORMAL partner
//!    goes to POTENTIAL-CONFLICT, §8.4.2) is not a state to start a test from, and
//!    [`EndpointBuilder::build`] says so instead of returning a different state.
//!
//! ```
//! use failover_core::testkit::EndpointBuilder;
//! use failover_core::{Binding, BindingStatus, ClientId, LeaseKey, Role, ServerState, Time};
//!
//! let a1: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
//! let mut active = Binding::available(BindingStatus::Active);
//! active.client = Some(ClientId(vec![1, 2, 3]));
//! active.start_time_of_state = Time(1_000_000);
//! active.state_expiration_time = Some(Time(1_003_600));
//! let ep = EndpointBuilder::new(Role::Primary, Time(1_000_000))
//!     .state(ServerState::Normal, Time(999_000))
//!     .partner(ServerState::Normal)
//!     .lease(LeaseKey::Addr(a1), active)
//!     .build()
//!     .unwrap();
//! assert_eq!(ep.state(), ServerState::Normal);
//! assert!(ep.comm_ok());
//! ```

use std::collections::BTreeMap;
use std::fmt;

use crate::endpoint::{EndpointRecord, StableState};
use crate::message::{Body, ConnectParams, ConnectReply, Message, ServerFlags, StateMsg};
use crate::{Binding, Config, ConfigError, Endpoint, LeaseKey, Output, Role, ServerState, Time};

/// Builds an [`Endpoint`] in a given state; see the module documentation for the recipe.
#[derive(Clone, Debug)]
pub struct EndpointBuilder {
    config: Config,
    now: Time,
    state: ServerState,
    since: Time,
    partner: Option<PartnerGiven>,
    partner_down_entry: Option<Time>,
    communicated: bool,
    /// STARTUP only: the state in stable storage and the last time of operation.
    startup_record: Option<ServerState>,
    last_operation: Option<Time>,
    leases: BTreeMap<LeaseKey, Binding>,
}

/// The partner as the endpoint learns it in step 4.
#[derive(Clone, Copy, Debug)]
struct PartnerGiven {
    state: ServerState,
    since: Option<Time>,
    partner_down_time: Option<Time>,
}

/// Why the endpoint could not be built in the given state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// The configuration (with the given leases added to its pools) is invalid.
    Config(ConfigError),
    /// The partner's STATE (or entering the state itself) moved the endpoint elsewhere.
    NotStable {
        /// The state asked for.
        given: ServerState,
        /// The partner state delivered.
        partner: Option<ServerState>,
        /// Where the endpoint went.
        reached: ServerState,
    },
    /// The connection set-up of §6.1 was refused or did not complete.
    NoConnection(String),
    /// Lease records were given for empty stable storage (STARTUP without a recorded state).
    LeasesWithoutRecord,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Config(e) => write!(f, "invalid configuration: {e}"),
            BuildError::NotStable {
                given,
                partner,
                reached,
            } => match partner {
                Some(p) => write!(
                    f,
                    "{given} with a partner in {p} is not a state to start from: the partner's \
                     STATE takes the endpoint to {reached} (deliver that STATE as the event \
                     instead)"
                ),
                None => write!(f, "entering {given} took the endpoint to {reached}"),
            },
            BuildError::NoConnection(why) => write!(f, "connection set-up failed: {why}"),
            BuildError::LeasesWithoutRecord => {
                f.write_str("lease records need a recorded state: empty storage holds no lease")
            }
        }
    }
}

impl std::error::Error for BuildError {}

impl EndpointBuilder {
    /// A builder for `role` at time `now`, with [`Config::new`]'s defaults except a STARTUP time
    /// of 1 s, and keepalive timers long enough that they never fire in a test.
    pub fn new(role: Role, now: Time) -> EndpointBuilder {
        let mut config = Config::new(role);
        config.keepalive_time = 100_000_000;
        config.recover_timeout = 100_000_000;
        EndpointBuilder::with_config(config, now)
    }

    /// A builder starting from `config` (its role is the endpoint's role).
    pub fn with_config(config: Config, now: Time) -> EndpointBuilder {
        EndpointBuilder {
            config,
            now,
            state: ServerState::Normal,
            since: now,
            partner: None,
            partner_down_entry: None,
            communicated: false,
            startup_record: None,
            last_operation: None,
            leases: BTreeMap::new(),
        }
    }

    /// The configuration, to adjust MCLT, lifetimes, pools.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// The failover state and the time it was entered (start-time-of-state, §8.1). STARTUP
    /// gives an endpoint that has just started on this storage with no record of a state.
    pub fn state(mut self, state: ServerState, since: Time) -> EndpointBuilder {
        self.state = state;
        self.since = since;
        if state == ServerState::PartnerDown && self.partner_down_entry.is_none() {
            self.partner_down_entry = Some(since);
        }
        self
    }

    /// For [`ServerState::Startup`]: the state recorded in stable storage before the restart
    /// (`None`: empty storage, §8.2) and the last recorded time of operation (§8.3.2 step 5).
    /// The endpoint is left in STARTUP with its STARTUP timer running.
    pub fn recorded(mut self, state: Option<ServerState>, last_operation: Time) -> EndpointBuilder {
        self.startup_record = state;
        self.last_operation = Some(last_operation);
        self
    }

    /// Communications OK with a partner that announces `state` (started now).
    pub fn partner(self, state: ServerState) -> EndpointBuilder {
        self.partner_since(state, None, None)
    }

    /// As [`EndpointBuilder::partner`], with the partner's start-time-of-state and, for
    /// PARTNER-DOWN, its OPTION_F_PARTNER_DOWN_TIME (default: its start time).
    pub fn partner_since(
        mut self,
        state: ServerState,
        since: Option<Time>,
        partner_down_time: Option<Time>,
    ) -> EndpointBuilder {
        self.partner = Some(PartnerGiven {
            state,
            since,
            partner_down_time,
        });
        self.communicated = true;
        self
    }

    /// When this endpoint entered PARTNER-DOWN (defaults to the state's start time); the MCLT
    /// waits of RFC 8156 §8.4.1 count from it, as for a server that has run since.
    pub fn partner_down_entry(mut self, at: Time) -> EndpointBuilder {
        self.partner_down_entry = Some(at);
        self
    }

    /// Whether the endpoint has talked to its partner before (the C flag, §5.5.15); implied by
    /// [`EndpointBuilder::partner`].
    pub fn communicated(mut self, yes: bool) -> EndpointBuilder {
        self.communicated = yes;
        self
    }

    /// One lease record in the database (§7.3). The lease is added to the configured pool if
    /// it is not in it.
    pub fn lease(mut self, key: LeaseKey, binding: Binding) -> EndpointBuilder {
        match key {
            LeaseKey::Addr(a) if !self.config.addresses.contains(&a) => {
                self.config.addresses.push(a)
            }
            LeaseKey::Prefix(p, l) if !self.config.prefixes.contains(&(p, l)) => {
                self.config.prefixes.push((p, l))
            }
            _ => {}
        }
        self.leases.insert(key, binding);
        self
    }

    /// Build the endpoint (steps 1–5 of the module documentation); its output is drained.
    pub fn build(self) -> Result<Endpoint, BuildError> {
        self.build_with_outputs().map(|(ep, _)| ep)
    }

    /// As [`EndpointBuilder::build`], also returning what the endpoint output on the way (for
    /// example the UPDREQ a RECOVER server sent when communications came up, whose
    /// transaction-id the partner's UPDDONE must carry).
    pub fn build_with_outputs(self) -> Result<(Endpoint, Vec<Output>), BuildError> {
        let mut outs = Vec::new();
        let role = self.config.role;
        let mclt = self.config.mclt;
        let recorded = if self.state == ServerState::Startup {
            self.startup_record
        } else {
            Some(self.state)
        };
        let stable = StableState {
            endpoint: EndpointRecord {
                state: recorded,
                previous_state: None,
                start_time_of_state: self.since,
                partner_state: self.partner.map(|p| p.state),
                partner_start_time: self.partner.and_then(|p| p.since),
                last_partner_message: None,
                partner_down_entry: self.partner_down_entry,
                communicated: self.communicated,
                mclt,
                last_operation: self.last_operation.unwrap_or(self.now),
                time_of_failure: None,
                storage_lost: false,
            },
            leases: self.leases,
        };
        let now = self.now;
        // Step 1 and 2: stable storage, then the start in STARTUP (§8.3).
        let mut ep = if recorded.is_some() {
            Endpoint::try_new(self.config, Some(stable), now).map_err(BuildError::Config)?
        } else if stable.leases.is_empty() {
            Endpoint::try_new(self.config, None, now).map_err(BuildError::Config)?
        } else {
            return Err(BuildError::LeasesWithoutRecord);
        };
        // Step 3: leave STARTUP into the recorded state (decision D7 keeps its start time).
        if self.state != ServerState::Startup {
            ep.set_state(now, self.state);
            // The endpoint described entered PARTNER-DOWN at `partner_down_entry` and has run
            // since: the MCLT waits of RFC 8156 §8.4.1 count from that entry, not from the
            // restart the recipe uses to get there (which, by decision D7, would count as a new
            // entry into PARTNER-DOWN).
            if self.state == ServerState::PartnerDown {
                ep.pd_entered_this_run = self.partner_down_entry.or(Some(now));
            }
        }
        outs.extend(drain(&mut ep));
        // Step 4: the connection set-up of §6.1 and the partner's STATE (§6.3).
        if let Some(p) = self.partner {
            outs.extend(connect(&mut ep, now, mclt)?);
            let since = p.since.unwrap_or(now);
            ep.handle_message(
                now,
                Message {
                    xid: 0x00_fe_01,
                    sent_time: now,
                    body: Body::State(StateMsg {
                        server_state: p.state,
                        flags: ServerFlags {
                            communicated: true,
                            ..ServerFlags::default()
                        },
                        start_time_of_state: since,
                        partner_down_time: (p.state == ServerState::PartnerDown)
                            .then_some(p.partner_down_time.unwrap_or(since)),
                    }),
                },
            );
            outs.extend(drain(&mut ep));
            if !ep.comm_ok() {
                return Err(BuildError::NoConnection(format!(
                    "the {role} did not reach communications OK"
                )));
            }
        }
        // Step 5.
        if ep.state() != self.state {
            return Err(BuildError::NotStable {
                given: self.state,
                partner: self.partner.map(|p| p.state),
                reached: ep.state(),
            });
        }
        Ok((ep, outs))
    }
}

/// The connection parameters a partner offers in step 4: our own MCLT, so that the secondary
/// keeps it (§6.1.2).
fn partner_params(mclt: u64) -> ConnectParams {
    ConnectParams {
        protocol_version: crate::PROTOCOL_VERSION,
        mclt,
        keepalive_time: 100_000_000,
        max_unacked_bndupd: 64,
        relationship_name: None,
        connect_flags: 0,
    }
}

/// §6.1 by hand: the connection comes up; the primary's CONNECT is answered with a CONNECTREPLY
/// offering `mclt`, the secondary is sent a CONNECT with `mclt` (it answers and sends its
/// STATE). Returns what the endpoint output meanwhile (its CONNECT, CONNECTREPLY, STATE); the
/// partner's STATE is left to the caller.
pub fn connect(ep: &mut Endpoint, now: Time, mclt: u64) -> Result<Vec<Output>, BuildError> {
    ep.handle_connected(now);
    let mut outs = Vec::new();
    match ep.role() {
        Role::Primary => {
            outs = drain(ep);
            let connect = outs
                .iter()
                .cloned()
                .find_map(|o| match o {
                    Output::Send(m) if matches!(m.body, Body::Connect(_)) => Some(m),
                    _ => None,
                })
                .ok_or_else(|| BuildError::NoConnection("the primary sent no CONNECT".into()))?;
            ep.handle_message(
                now,
                Message {
                    xid: connect.xid,
                    sent_time: now,
                    body: Body::ConnectReply(ConnectReply::Accept(partner_params(mclt))),
                },
            );
        }
        Role::Secondary => ep.handle_message(
            now,
            Message {
                xid: 0x00_fe_00,
                sent_time: now,
                body: Body::Connect(partner_params(mclt)),
            },
        ),
    }
    outs.extend(drain(ep));
    Ok(outs)
}

fn drain(ep: &mut Endpoint) -> Vec<Output> {
    std::iter::from_fn(|| ep.poll_output()).collect()
}
