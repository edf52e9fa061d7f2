//! What the endpoint gives its driver: [`Output`]s drained with `poll_output`, the [`Event`]s
//! among them, [`DisconnectReason`], operator [`Command`]s, and the internal helpers that queue
//! outputs and allocate transaction-ids (RFC 8156 §5.2).

use std::fmt;

use failover_proto::ServerState;

use crate::lease::LeaseKey;
use crate::message::{Body, ClientReply, Message, StatusCode, Xid};
use crate::time::Time;

use super::{Endpoint, PersistRecord, Timer};

/// What the driver must do, drained in order with [`Endpoint::poll_output`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Transmit this message to the partner, in order.
    Send(Message),
    /// Close the connection to the partner (the endpoint already considers it closed).
    Disconnect {
        /// Why.
        reason: DisconnectReason,
    },
    /// Write this record to stable storage. A `Persist` that precedes a `Send` of a BNDREPLY
    /// MUST be durable before that BNDREPLY is transmitted (RFC 8156 §7.5.2).
    Persist(PersistRecord),
    /// Answer a DHCP client.
    ClientReply(ClientReply),
    /// Something worth logging or alerting on.
    Event(Event),
    /// Perform a DNS update (RFC 8156 §9) and report it with
    /// [`Endpoint::handle_dns_result`]. The lease record that owes it was persisted before.
    Dns(crate::dns::DnsRequest),
    /// Reading R26: the request `id` (an add) is no longer wanted, its binding ended. A driver
    /// that has not sent it yet drops it and reports [`Endpoint::handle_dns_cancelled`]; one that
    /// has sent it reports the result as usual (decision D27 covers an add done after all).
    DnsCancel {
        /// The request's id.
        id: u64,
    },
}

/// Why the endpoint dropped the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// FO_KEEPALIVE_TIMER reached zero (§6.6).
    KeepaliveExpired,
    /// A message's sent-time differs from our clock by more than 5 s (§7.5.1).
    TimeSkew {
        /// Seconds of difference.
        skew: u64,
    },
    /// The secondary rejected our CONNECT with this status (§6.1.3).
    Rejected(StatusCode),
    /// The secondary's protocol version is not supported (§6.1.3).
    VersionUnsupported((u16, u16)),
    /// The CONNECTREPLY's MCLT differs from ours (§6.1.3).
    MclMismatch {
        /// Configured MCLT.
        ours: u64,
        /// MCLT in the CONNECTREPLY.
        theirs: u64,
    },
    /// The partner sent DISCONNECT (§5.3.10, reading R8).
    PeerDisconnected(Option<StatusCode>),
    /// RECOVER got neither UPDDONE nor BNDUPD for `recover_timeout` (§8.5.2).
    RecoverStalled,
    /// Operator shutdown (§5.3.10 ServerShuttingDown).
    Shutdown,
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::KeepaliveExpired => f.write_str("keepalive expired (§6.6)"),
            DisconnectReason::TimeSkew { skew } => write!(f, "time skew {skew} s > 5 s (§7.5.1)"),
            DisconnectReason::Rejected(s) => write!(f, "CONNECT rejected: {s}"),
            DisconnectReason::VersionUnsupported(v) => write!(f, "protocol version {v:?}"),
            DisconnectReason::MclMismatch { ours, theirs } => {
                write!(
                    f,
                    "MCLT mismatch: configured {ours}, CONNECTREPLY {theirs} (§6.1.3)"
                )
            }
            DisconnectReason::PeerDisconnected(s) => write!(f, "partner sent DISCONNECT {s:?}"),
            DisconnectReason::RecoverStalled => f.write_str("no UPDDONE in RECOVER (§8.5.2)"),
            DisconnectReason::Shutdown => f.write_str("shutting down"),
        }
    }
}

/// Notable happenings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The endpoint state changed (§8).
    StateChanged {
        /// Old state.
        from: ServerState,
        /// New state.
        to: ServerState,
    },
    /// Communications became OK (partner's STATE received, §6.1).
    CommunicationsOk,
    /// Communications are no longer OK.
    CommunicationsInterrupted,
    /// An alarm the RFC asks for (§8.9, §8.11).
    Alarm(String),
    /// A log line (ignored input, rejected update, ...).
    Log(String),
}

/// Operator commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// "external command informing it that its partner is down" (§8.8.2, §8.9.2, §8.11.2).
    PartnerDown,
    /// Administrative reclaim of an ABANDONED lease: Figure 2 transition (10) to RESET.
    ResetLease(LeaseKey),
    /// Planned shutdown: DISCONNECT with ServerShuttingDown (§5.3.10).
    Shutdown,
    /// Cancel the reservation of a lease (design draft §12; give it on both servers).
    CancelReservation(LeaseKey),
}

impl Endpoint {
    pub(crate) fn log(&mut self, line: &str) {
        self.out
            .push_back(Output::Event(Event::Log(line.to_string())));
    }

    pub(crate) fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    /// A fresh transaction-id: an incrementing 24-bit counter (§5.4) that never reuses the id of
    /// an outstanding UPDREQ/UPDREQALL or BNDUPD.
    pub(crate) fn alloc_xid(&mut self) -> Xid {
        loop {
            let x = self.next_xid;
            self.next_xid = (self.next_xid + 1) & 0x00ff_ffff;
            if self.next_xid == 0 {
                self.next_xid = 1;
            }
            if Some(x) != self.upd_request && !self.outstanding.contains_key(&x) {
                return x;
            }
        }
    }

    /// Send a message we initiate (new transaction-id, §5.4).
    pub(crate) fn send_new(&mut self, now: Time, body: Body) -> Xid {
        let xid = self.alloc_xid();
        self.send_reply(now, xid, body);
        xid
    }

    /// Send a message with a given transaction-id (responses copy it, §5.4).
    pub(crate) fn send_reply(&mut self, now: Time, xid: Xid, body: Body) {
        // §6.6: "The FO_SEND_TIMER ... is reset to FO_SEND_TIME every time any message is
        // transmitted on that connection".
        if self.conn.handshake_done() {
            self.timers
                .set(Timer::FoSend, now.plus(self.conn.fo_send_time()));
        }
        self.out.push_back(Output::Send(Message {
            xid,
            sent_time: now,
            body,
        }));
    }
}
