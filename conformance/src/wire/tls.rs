//! STARTTLS towards the server under test (RFC 8156 §10, which sends partners to RFC 7653 §9.1):
//! a SUT that requires TLS on its partner link is tested over TLS.
//!
//! The negotiation before the handshake is the one `failover serve` uses (impl/daemon/src/tls.rs,
//! with RFC 8156's primary as RFC 7653's requestor): the primary sends STARTTLS (msg-type 23, no
//! options, RFC 7653 §6.2.2) framed as every partner message (RFC 5460 §5.1), the secondary answers
//! with a REPLY (msg-type 7) without a status code, then the TLS handshake; a REPLY carrying
//! TLSConnectionRefused means the secondary has no TLS. Both sides authenticate (mutual TLS).
//!
//! The certificate checks are those of `failover serve`'s `[tls]` (a CA or a pinned certificate,
//! the partner's name): the caller builds the rustls configuration with
//! `failover_daemon::tls::PartnerTls::load` (the CLI's `--tls-*` options) and hands it here as a
//! [`WireTls`]. Only rustls with ring is used, the crypto backend the workspace already builds.
//!
//! The transcript (`--pcap`) records the octets inside TLS: the capture shows the failover
//! messages as if the link were plain, which is what a failure needs to be read.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use failover_proto::wire::{decode_options, DhcpOption};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection, StreamOwned};

/// STARTTLS, RFC 7653 §6.2.2.
const MSG_STARTTLS: u8 = 23;
/// REPLY, RFC 3315 §5.3: the answer to STARTTLS (RFC 7653 §8.2).
const MSG_REPLY: u8 = 7;
/// The largest STARTTLS or REPLY read before the handshake (a header and a status code).
const MAX_NEGOTIATION: usize = 1024;

/// A partner connection the harness reads and writes: plain TCP or TLS over TCP.
pub trait WireStream: Read + Write + Send {
    /// The TCP connection under it (read timeouts, shutdown).
    fn tcp(&self) -> &TcpStream;
}

impl WireStream for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl WireStream for StreamOwned<ClientConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
}

impl WireStream for StreamOwned<ServerConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
}

/// How the harness secures its partner connections with the SUT.
#[derive(Clone)]
pub enum WireTls {
    /// The harness is the primary (the SUT the secondary): a TLS client, checking the SUT's
    /// certificate against `name`.
    Client {
        /// Our certificate and key, the partner verifier.
        config: Arc<ClientConfig>,
        /// The name (SAN IP address or DNS name) the SUT's certificate must carry.
        name: ServerName<'static>,
    },
    /// The harness is the secondary: a TLS server.
    Server(Arc<ServerConfig>),
}

fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "the connection was closed".into(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            "no answer (timeout)".into()
        }
        _ => e.to_string(),
    }
}

/// One frame of at most [`MAX_NEGOTIATION`] octets.
fn read_small_frame(tcp: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut len = [0u8; 2];
    tcp.read_exact(&mut len).map_err(|e| io_text(&e))?;
    let len = usize::from(u16::from_be_bytes(len));
    if len > MAX_NEGOTIATION {
        return Err(format!("a {len}-octet message"));
    }
    let mut msg = vec![0u8; len];
    tcp.read_exact(&mut msg).map_err(|e| io_text(&e))?;
    Ok(msg)
}

impl WireTls {
    /// Negotiate and handshake on a fresh connection (the harness's side as configured),
    /// waiting at most `within` for each read. Every error names TLS.
    pub fn secure(
        &self,
        mut tcp: TcpStream,
        within: Duration,
    ) -> Result<Box<dyn WireStream>, String> {
        tcp.set_read_timeout(Some(within))
            .map_err(|e| format!("TLS: {e}"))?;
        match self {
            WireTls::Client { config, name } => {
                let xid = (super::peer::wire_now() as u32 & 0x00ff_ffff).max(1);
                let x = xid.to_be_bytes();
                tcp.write_all(&[0, 4, MSG_STARTTLS, x[1], x[2], x[3]])
                    .map_err(|e| format!("TLS: sending STARTTLS: {}", io_text(&e)))?;
                let reply = read_small_frame(&mut tcp).map_err(|e| {
                    format!("TLS: no REPLY to STARTTLS ({e}): the SUT does not offer TLS (RFC 7653 §8.2)")
                })?;
                if reply.len() < 4 || reply[0] != MSG_REPLY || reply[1..4] != x[1..] {
                    return Err(format!(
                        "TLS: the answer to STARTTLS is msg-type {}, not its REPLY: the SUT does not offer TLS (RFC 7653 §8.2)",
                        reply.first().copied().unwrap_or(0)
                    ));
                }
                let options = decode_options(&reply[4..])
                    .map_err(|e| format!("TLS: the REPLY to STARTTLS does not decode: {e}"))?;
                for o in options {
                    if let DhcpOption::StatusCode(s) = o {
                        if !s.code.is_success() {
                            return Err(format!(
                                "TLS: the SUT refused STARTTLS with {} {:?} (RFC 7653 §8.2): it runs without TLS",
                                s.code, s.message
                            ));
                        }
                    }
                }
                let conn = ClientConnection::new(config.clone(), name.clone())
                    .map_err(|e| format!("TLS: {e}"))?;
                let mut s = StreamOwned::new(conn, tcp);
                while s.conn.is_handshaking() {
                    s.conn.complete_io(&mut s.sock).map_err(|e| {
                        format!("TLS handshake with the SUT failed: {}", io_text(&e))
                    })?;
                }
                Ok(Box::new(s))
            }
            WireTls::Server(config) => {
                let first = read_small_frame(&mut tcp).map_err(|e| {
                    format!("TLS: no STARTTLS from the SUT ({e}); the harness requires TLS (RFC 7653 §9.1)")
                })?;
                if first.len() < 4 || first[0] != MSG_STARTTLS {
                    return Err(format!(
                        "TLS: the SUT's first message is msg-type {}, not STARTTLS: it does not use TLS, which the harness requires (RFC 7653 §9.1)",
                        first.first().copied().unwrap_or(0)
                    ));
                }
                // RFC 7653 §6.2.2: options in STARTTLS are ignored.
                tcp.write_all(&[0, 4, MSG_REPLY, first[1], first[2], first[3]])
                    .map_err(|e| format!("TLS: sending the REPLY to STARTTLS: {}", io_text(&e)))?;
                let conn =
                    ServerConnection::new(config.clone()).map_err(|e| format!("TLS: {e}"))?;
                let mut s = StreamOwned::new(conn, tcp);
                while s.conn.is_handshaking() {
                    s.conn.complete_io(&mut s.sock).map_err(|e| {
                        format!("TLS handshake with the SUT failed: {}", io_text(&e))
                    })?;
                }
                Ok(Box::new(s))
            }
        }
    }
}
