//! The operator protocol of `failover ctl` (RFC 8156 §8.4 external commands, and RESET of an
//! abandoned lease, Figure 2 transition (10)): JSON lines over a Unix socket. One request line,
//! one answer line, then the server closes the connection.
//!
//! ```text
//! → {"cmd":"status"}
//! ← {"ok":true,"status":{"role":"primary","state":"NORMAL",...}}
//! → {"cmd":"reset","lease":"2001:db8:1::105"}
//! ← {"error":"2001:db8:1::105 is not a lease of this server"}
//! ```

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// Role, state, partner state, communications, lease counts, owed updates.
    Status,
    /// "External command informing it that its partner is down" (RFC 8156 §8.8.2, §8.9.2,
    /// §8.11.2). Refused while communications are OK unless `force`.
    PartnerDown {
        /// Apply it even though the partner is connected.
        #[serde(default)]
        force: bool,
    },
    /// Administrative reclaim of an ABANDONED lease (Figure 2 (10), RESET).
    Reset {
        /// The lease: an address, or a prefix `ADDR/LEN`.
        lease: String,
    },
    /// Every lease of the database.
    Leases,
    /// Planned shutdown: DISCONNECT ServerShuttingDown to the partner, storage closed.
    Shutdown,
}

/// What `status` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// `primary` or `secondary`.
    pub role: String,
    /// Our failover state (RFC 8156 §8), by its RFC name.
    pub state: String,
    /// The partner's state as last announced, if ever.
    pub partner_state: Option<String>,
    /// Communications OK (a STATE received on the current connection, §6.1).
    pub communications_ok: bool,
    /// A partner TCP connection is open.
    pub connected: bool,
    /// The MCLT in force, seconds.
    pub mclt: u64,
    /// Leases by binding status (RFC names).
    pub leases_by_status: BTreeMap<String, usize>,
    /// Leases whose update the partner has not acknowledged (§7.5.4 update-pending).
    pub owed_updates: usize,
    /// Our server DUID, hex.
    pub server_duid: String,
    /// DHCPv6 packet counters.
    pub dhcp: Counters,
    /// Stable-storage and partner-message counters of the node since start (for benchmarks:
    /// how many commits the BNDUPDs of a run cost, see scripts/bench-serve.sh).
    #[serde(default)]
    pub storage: StorageCounters,
    /// Service times of the node's calls by kind (`client`, `client_commit`, `partner`,
    /// `partner_commit`, `partner_deferred`), see [`crate::timing`].
    #[serde(default)]
    pub timing: BTreeMap<String, crate::timing::Summary>,
}

/// Counters of the node's commits and partner messages since the daemon started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageCounters {
    /// Durable (fsync'd) store commits.
    pub commits: u64,
    /// Store commits made without an fsync (they released nothing that depends on them).
    pub deferred_commits: u64,
    /// Binding records written by those commits.
    pub bindings_committed: u64,
    /// Messages received from the partner.
    pub partner_messages_in: u64,
    /// Messages sent to the partner.
    pub partner_messages_out: u64,
}

/// DHCPv6 counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Datagrams received.
    pub received: u64,
    /// Replies sent.
    pub replied: u64,
    /// Dropped, by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Ignored by the failover state's responsiveness (RFC 8156 §8.x.1).
    pub ignored: u64,
}

/// One lease, as `leases` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The address, or `ADDR/LEN`.
    pub lease: String,
    /// Binding status, RFC name.
    pub status: String,
    /// The client's DUID, hex, if any.
    pub client: Option<String>,
    /// When the state expires (for ACTIVE the client's expiry), Unix seconds.
    pub expires: Option<u64>,
    /// The partner has not acknowledged this lease's latest change.
    pub update_pending: bool,
}

/// An answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    /// Success, with what was asked.
    Ok {
        /// Always true.
        ok: bool,
        /// For `status`.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        status: Option<Box<Status>>,
        /// For `leases`.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        leases: Option<Vec<Lease>>,
        /// A sentence for the operator.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        message: Option<String>,
    },
    /// Failure, named.
    Error {
        /// What went wrong.
        error: String,
    },
}

impl Answer {
    /// Success with a sentence.
    pub fn done(message: impl Into<String>) -> Answer {
        Answer::Ok {
            ok: true,
            status: None,
            leases: None,
            message: Some(message.into()),
        }
    }

    /// Failure.
    pub fn error(error: impl Into<String>) -> Answer {
        Answer::Error {
            error: error.into(),
        }
    }
}

/// Send one request to the daemon at `socket` and read its answer (the client side of
/// `failover ctl`). Errors name the socket.
pub fn call(socket: &Path, req: &Request, timeout: Duration) -> io::Result<Answer> {
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", socket.display()));
    let mut s = UnixStream::connect(socket).map_err(named)?;
    s.set_read_timeout(Some(timeout)).map_err(named)?;
    s.set_write_timeout(Some(timeout)).map_err(named)?;
    let mut line = serde_json::to_string(req).map_err(io::Error::other)?;
    line.push('\n');
    s.write_all(line.as_bytes()).map_err(named)?;
    let mut answer = String::new();
    BufReader::new(&s).read_line(&mut answer).map_err(named)?;
    if answer.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "{}: the daemon closed the connection without answering",
                socket.display()
            ),
        ));
    }
    serde_json::from_str(&answer).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: unreadable answer {answer:?}: {e}", socket.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_one_json_object_named_by_cmd() {
        let r: Request = serde_json::from_str(r#"{"cmd":"reset","lease":"2001:db8::5"}"#).unwrap();
        assert_eq!(
            r,
            Request::Reset {
                lease: "2001:db8::5".into()
            }
        );
        assert_eq!(
            serde_json::to_string(&Request::PartnerDown { force: false }).unwrap(),
            r#"{"cmd":"partner-down","force":false}"#
        );
        assert_eq!(
            serde_json::from_str::<Request>(r#"{"cmd":"partner-down"}"#).unwrap(),
            Request::PartnerDown { force: false }
        );
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"reboot"}"#).is_err());
    }

    #[test]
    fn answers_round_trip() {
        let a = Answer::error("no such lease");
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(text, r#"{"error":"no such lease"}"#);
        assert_eq!(serde_json::from_str::<Answer>(&text).unwrap(), a);
        let d = Answer::done("partner-down accepted");
        assert_eq!(
            serde_json::from_str::<Answer>(&serde_json::to_string(&d).unwrap()).unwrap(),
            d
        );
    }
}
