//! Security of the partner link (RFC 8156 §10).
//!
//! RFC 8156 §10: "Failover servers MUST use the approach documented in Section 9.1 of
//! [RFC7653] to decide whether or not to use TLS when connecting with the failover partner."
//! That approach, read with the primary as RFC 7653's requestor (it opens the connection,
//! RFC 8156 §6.1) and the secondary as its server:
//!
//! - the primary sends STARTTLS (msg-type 23, no options, RFC 7653 §6.2.2) as the first message
//!   on a new TCP connection, in the RFC 5460 §5.1 framing (2-octet message-size);
//! - the secondary answers with a REPLY (msg-type 7) without a status code when it operates in
//!   secure mode, then the TLS handshake follows; in insecure mode it answers with a REPLY
//!   carrying TLSConnectionRefused (15) (RFC 7653 §9.1);
//! - a secondary in secure mode closes a connection not secured with TLS, or whose peer's
//!   certificate is unacceptable ("MUST close the TCP connections that are not secured with TLS
//!   or for which the requestor's certificate is deemed unacceptable");
//! - a primary in secure mode closes the connection when the secondary does not answer, closes,
//!   refuses, or the handshake fails (RFC 7653 §8.2, possibilities 1-3): no fallback to plain TCP.
//!
//! Both sides authenticate (RFC 7653 §9.1: "MUST be mutually authenticated"). The partner's
//! certificate is accepted when ([`PartnerVerifier`]):
//!
//! - with `tls.ca`: it chains to one of the configured CA certificates, is within its validity
//!   period, carries the extended key usage of its side (serverAuth for the secondary,
//!   clientAuth for the primary), and names the partner: a subjectAltName IP address equal to
//!   `partner.remote`'s address, or the DNS name `tls.partner_name` when that is set;
//! - with `tls.partner_cert`: it is, octet for octet, the pinned (self-signed) certificate, and
//!   that certificate is within its validity period and carries its side's key usage.
//!
//! The messages before the handshake are RFC 3315 messages, whose header has no sent-time, so
//! the failover codec does not parse them (see failover-proto's `wire` module); this module
//! reads and writes the few octets they take.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use failover_core::Role;
use failover_proto::wire::{decode_options, encode_options, DhcpOption, StatusCode};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, TrustAnchor, UnixTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, OtherError,
    ServerConfig, SignatureScheme,
};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::config::{TlsConfig, TlsTrust};

/// STARTTLS, RFC 7653 §6.2.2 (msg-type 23).
pub const MSG_STARTTLS: u8 = 23;
/// REPLY, RFC 3315 §5.3 (msg-type 7): the answer to STARTTLS (RFC 7653 §8.2).
pub const MSG_REPLY: u8 = 7;
/// Largest STARTTLS or REPLY frame read before the handshake: both are a 4-octet header with at
/// most a status code; anything much longer is not the negotiation.
const MAX_NEGOTIATION_FRAME: usize = 1024;

/// Any byte stream the partner link runs over: plain TCP or TLS over TCP.
pub trait PartnerStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> PartnerStream for T {}

/// The partner connection, once admitted.
pub type BoxStream = Box<dyn PartnerStream>;

/// A `[tls]` setting that cannot be used: the field and what is wrong.
#[derive(Debug)]
pub struct TlsLoadError {
    /// `tls.cert`, `tls.key`, `tls.ca`, `tls.partner_cert` or `tls.partner_name`.
    pub field: &'static str,
    /// What is wrong, naming the file.
    pub message: String,
}

/// The loaded `[tls]` of one server: its own certificate and key, and how it accepts its
/// partner's.
pub struct PartnerTls {
    side: Side,
    /// What start-up should tell the operator (an expired pinned certificate).
    pub warnings: Vec<String>,
}

enum Side {
    /// The primary is the TLS client (RFC 7653 §8.2, the requestor).
    Client {
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    },
    /// The secondary is the TLS server (RFC 7653 §9.1).
    Server(Arc<ServerConfig>),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certs(
    path: &Path,
    field: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsLoadError> {
    let err = |message: String| TlsLoadError { field, message };
    let iter = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(format!("{}: {}", path.display(), pem_error(&e))))?;
    let certs = iter
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(format!("{}: {}", path.display(), pem_error(&e))))?;
    if certs.is_empty() {
        return Err(err(format!(
            "{}: no CERTIFICATE block; expected a PEM file with `-----BEGIN CERTIFICATE-----`",
            path.display()
        )));
    }
    Ok(certs)
}

fn pem_error(e: &rustls_pki_types::pem::Error) -> String {
    match e {
        rustls_pki_types::pem::Error::Io(io) => io.to_string(),
        rustls_pki_types::pem::Error::NoItemsFound => "no PEM item of the expected kind".into(),
        other => format!("not a valid PEM file ({other:?})"),
    }
}

impl PartnerTls {
    /// Read the files `cfg` names and build the TLS configuration of `role`, whose partner is at
    /// `partner` (`partner.remote`'s address). Every problem names its field and file.
    pub fn load(cfg: &TlsConfig, role: Role, partner: IpAddr) -> Result<PartnerTls, TlsLoadError> {
        let provider = provider();
        let chain = read_certs(&cfg.cert, "tls.cert")?;
        let key = PrivateKeyDer::from_pem_file(&cfg.key).map_err(|e| TlsLoadError {
            field: "tls.key",
            message: format!(
                "{}: {}; expected a PEM private key (`-----BEGIN PRIVATE KEY-----`, PKCS#8, or an RSA or EC key)",
                cfg.key.display(),
                pem_error(&e)
            ),
        })?;
        let signing = provider
            .key_provider
            .load_private_key(key.clone_key())
            .map_err(|e| TlsLoadError {
                field: "tls.key",
                message: format!("{}: unusable private key: {e}", cfg.key.display()),
            })?;
        CertifiedKey::new(chain.clone(), signing)
            .keys_match()
            .map_err(|e| TlsLoadError {
                field: "tls.key",
                message: format!(
                    "{} is not the key of the certificate in {} ({e})",
                    cfg.key.display(),
                    cfg.cert.display()
                ),
            })?;
        // The partner's side: the secondary is a TLS server, the primary a TLS client.
        let usage = match role {
            Role::Primary => webpki::KeyUsage::server_auth(),
            Role::Secondary => webpki::KeyUsage::client_auth(),
        };
        let mut warnings = Vec::new();
        let (anchors, pin, name) = match &cfg.trust {
            TlsTrust::Ca(path) => {
                let cas = read_certs(path, "tls.ca")?;
                let mut anchors = Vec::new();
                for c in &cas {
                    let a = webpki::anchor_from_trusted_cert(c).map_err(|e| TlsLoadError {
                        field: "tls.ca",
                        message: format!(
                            "{}: a certificate that cannot be a trust anchor: {e}",
                            path.display()
                        ),
                    })?;
                    anchors.push(a.to_owned());
                }
                let name = match &cfg.partner_name {
                    Some(n) => ServerName::try_from(n.clone()).map_err(|e| TlsLoadError {
                        field: "tls.partner_name",
                        message: format!("`{n}` is not a DNS name: {e}"),
                    })?,
                    None => ServerName::IpAddress(partner.into()),
                };
                (anchors, None, Some(name))
            }
            TlsTrust::Pin(path) => {
                let certs = read_certs(path, "tls.partner_cert")?;
                let pin = certs[0].clone();
                let anchor = webpki::anchor_from_trusted_cert(&pin)
                    .map_err(|e| TlsLoadError {
                        field: "tls.partner_cert",
                        message: format!("{}: not a usable certificate: {e}", path.display()),
                    })?
                    .to_owned();
                // The pin is its own trust anchor: it must be self-signed. Checked now, so that
                // a CA-issued certificate pinned by mistake is named at start-up.
                let ee = webpki::EndEntityCert::try_from(&pin).map_err(|e| TlsLoadError {
                    field: "tls.partner_cert",
                    message: format!("{}: not a usable certificate: {e}", path.display()),
                })?;
                let algs = provider.signature_verification_algorithms.all;
                match ee.verify_for_usage(algs, &[anchor.clone()], &[], UnixTime::now(), usage, None, None) {
                    Ok(_) => {}
                    Err(e @ (webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. })) => {
                        warnings.push(format!(
                            "the pinned partner certificate {} is outside its validity period ({e}): the partner link cannot come up until it is replaced",
                            path.display()
                        ));
                    }
                    Err(webpki::Error::UnknownIssuer | webpki::Error::InvalidSignatureForPublicKey) => {
                        return Err(TlsLoadError {
                            field: "tls.partner_cert",
                            message: format!(
                                "{}: not a self-signed certificate; pin the partner's self-signed certificate, or name its CA in `tls.ca`",
                                path.display()
                            ),
                        })
                    }
                    Err(e) => {
                        return Err(TlsLoadError {
                            field: "tls.partner_cert",
                            message: format!(
                                "{}: the partner could never present this certificate as a {}: {e}",
                                path.display(),
                                if role == Role::Primary { "TLS server (serverAuth)" } else { "TLS client (clientAuth)" }
                            ),
                        })
                    }
                }
                if cfg.partner_name.is_some() {
                    return Err(TlsLoadError {
                        field: "tls.partner_name",
                        message:
                            "applies with `tls.ca` only: a pinned certificate is compared whole"
                                .into(),
                    });
                }
                (vec![anchor], Some(pin), None)
            }
        };
        let verifier = Arc::new(PartnerVerifier {
            anchors,
            pin,
            name,
            algs: provider.signature_verification_algorithms,
        });
        let versions_err = |e: rustls::Error| TlsLoadError {
            field: "tls.cert",
            message: format!("TLS configuration: {e}"),
        };
        let side = match role {
            Role::Primary => {
                let config = ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(versions_err)?
                    .dangerous()
                    .with_custom_certificate_verifier(verifier)
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| TlsLoadError {
                        field: "tls.key",
                        message: format!("{}: {e}", cfg.key.display()),
                    })?;
                Side::Client {
                    config: Arc::new(config),
                    name: ServerName::IpAddress(partner.into()),
                }
            }
            Role::Secondary => {
                let config = ServerConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(versions_err)?
                    .with_client_cert_verifier(verifier)
                    .with_single_cert(chain, key)
                    .map_err(|e| TlsLoadError {
                        field: "tls.key",
                        message: format!("{}: {e}", cfg.key.display()),
                    })?;
                Side::Server(Arc::new(config))
            }
        };
        Ok(PartnerTls { side, warnings })
    }
}

impl PartnerTls {
    /// Role = primary: the rustls client configuration (our certificate, the partner verifier)
    /// and the name the partner's certificate is checked against, for a synchronous client:
    /// the wire conformance harness speaks STARTTLS to a server under test with exactly the
    /// semantics of `[tls]` (`failover conform --wire --tls-*`).
    pub fn client_config(&self) -> Option<(Arc<ClientConfig>, ServerName<'static>)> {
        match &self.side {
            Side::Client { config, name } => Some((config.clone(), name.clone())),
            Side::Server(_) => None,
        }
    }

    /// Role = secondary: the rustls server configuration (as [`PartnerTls::client_config`]).
    pub fn server_config(&self) -> Option<Arc<ServerConfig>> {
        match &self.side {
            Side::Server(config) => Some(config.clone()),
            Side::Client { .. } => None,
        }
    }
}

// ---- the partner's certificate -----------------------------------------------------------

/// Accepts exactly the configured partner's certificate (see the module documentation).
#[derive(Debug)]
struct PartnerVerifier {
    anchors: Vec<TrustAnchor<'static>>,
    /// `tls.partner_cert`: the only end-entity certificate accepted.
    pin: Option<CertificateDer<'static>>,
    /// With `tls.ca`: the name (SAN IP address or DNS name) the certificate must carry.
    name: Option<ServerName<'static>>,
    algs: WebPkiSupportedAlgorithms,
}

#[derive(Debug)]
struct Refusal(String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

fn other(text: String) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Refusal(text)))))
}

/// webpki's verdict in rustls's words (the mapping rustls itself makes, for the cases a
/// partner's certificate meets).
fn pki_error(e: webpki::Error) -> rustls::Error {
    use webpki::Error as E;
    let c = match e {
        E::CertExpired { time, not_after } => CertificateError::ExpiredContext { time, not_after },
        E::CertNotValidYet { time, not_before } => {
            CertificateError::NotValidYetContext { time, not_before }
        }
        E::UnknownIssuer => CertificateError::UnknownIssuer,
        E::InvalidSignatureForPublicKey => CertificateError::BadSignature,
        E::BadDer | E::BadDerTime | E::TrailingData(_) => CertificateError::BadEncoding,
        E::CertNotValidForName(_) => CertificateError::NotValidForName,
        E::CertRevoked => CertificateError::Revoked,
        other => return self::other(format!("certificate refused: {other}")),
    };
    rustls::Error::InvalidCertificate(c)
}

impl PartnerVerifier {
    fn verify(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
        usage: webpki::KeyUsage,
    ) -> Result<(), rustls::Error> {
        let intermediates = match &self.pin {
            Some(pin) => {
                if end_entity.as_ref() != pin.as_ref() {
                    return Err(other(
                        "not the pinned partner certificate (tls.partner_cert)".into(),
                    ));
                }
                &[][..]
            }
            None => intermediates,
        };
        let cert = webpki::EndEntityCert::try_from(end_entity).map_err(pki_error)?;
        cert.verify_for_usage(
            self.algs.all,
            &self.anchors,
            intermediates,
            now,
            usage,
            None,
            None,
        )
        .map_err(pki_error)?;
        if let Some(name) = &self.name {
            cert.verify_is_valid_for_subject_name(name).map_err(|_| {
                other(format!(
                    "the certificate does not name the partner ({}) in its subjectAltName",
                    name.to_str()
                ))
            })?;
        }
        Ok(())
    }
}

impl ClientCertVerifier for PartnerVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.verify(
            end_entity,
            intermediates,
            now,
            webpki::KeyUsage::client_auth(),
        )?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

impl ServerCertVerifier for PartnerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verify(
            end_entity,
            intermediates,
            now,
            webpki::KeyUsage::server_auth(),
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

// ---- the negotiation (RFC 7653 §8.2, §9.1) -------------------------------------------------

/// STARTTLS with `xid`, framed (RFC 7653 §6.2.2: "SHOULD be sent without any options").
pub fn starttls_frame(xid: u32) -> [u8; 6] {
    let x = xid.to_be_bytes();
    [0, 4, MSG_STARTTLS, x[1], x[2], x[3]]
}

/// The REPLY to a STARTTLS with `xid`, framed: no status code (go ahead) or TLSConnectionRefused.
pub fn reply_frame(xid: [u8; 3], refuse: bool) -> Vec<u8> {
    let mut msg = vec![MSG_REPLY, xid[0], xid[1], xid[2]];
    if refuse {
        let opt = DhcpOption::status(
            StatusCode::TLS_CONNECTION_REFUSED,
            "this failover server is configured without TLS (RFC 8156 §10)",
        );
        encode_options(&[opt], &mut msg).expect("a short status option encodes");
    }
    let mut out = (msg.len() as u16).to_be_bytes().to_vec();
    out.extend(msg);
    out
}

/// Read one frame of at most [`MAX_NEGOTIATION_FRAME`] octets (RFC 5460 §5.1 framing).
async fn read_small_frame<S: AsyncRead + Unpin>(s: &mut S) -> Result<Vec<u8>, String> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).await.map_err(eof_text)?;
    let len = usize::from(u16::from_be_bytes(len));
    if len > MAX_NEGOTIATION_FRAME {
        return Err(format!(
            "a {len}-octet message where a REPLY to STARTTLS was expected"
        ));
    }
    let mut msg = vec![0u8; len];
    s.read_exact(&mut msg).await.map_err(eof_text)?;
    Ok(msg)
}

fn eof_text(e: io::Error) -> String {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        "the connection was closed".into()
    } else {
        e.to_string()
    }
}

/// The primary's side (RFC 7653 §8.2): STARTTLS, the secondary's REPLY, then the TLS handshake
/// with our certificate. Any other outcome is an error and the caller closes the connection.
pub async fn connect(tls: &PartnerTls, mut tcp: TcpStream) -> Result<BoxStream, String> {
    let Side::Client { config, name } = &tls.side else {
        return Err("internal: the secondary does not open TLS connections".into());
    };
    let mut x = [0u8; 4];
    getrandom::getrandom(&mut x[1..]).map_err(|e| format!("random transaction-id: {e}"))?;
    let xid = u32::from_be_bytes(x);
    tcp.write_all(&starttls_frame(xid))
        .await
        .map_err(|e| format!("sending STARTTLS: {e}"))?;
    let reply = read_small_frame(&mut tcp).await.map_err(|e| {
        format!("no REPLY to STARTTLS ({e}): the partner does not offer TLS (RFC 7653 §8.2)")
    })?;
    if reply.len() < 4 || reply[0] != MSG_REPLY || reply[1..4] != x[1..] {
        return Err(format!(
            "the answer to STARTTLS is not its REPLY (msg-type {}): the partner does not offer TLS (RFC 7653 §8.2)",
            reply.first().copied().unwrap_or(0)
        ));
    }
    let options = decode_options(&reply[4..])
        .map_err(|e| format!("the REPLY to STARTTLS does not decode: {e}"))?;
    for o in options {
        if let DhcpOption::StatusCode(s) = o {
            if !s.code.is_success() {
                return Err(format!(
                    "the partner refused TLS: {} {:?} (RFC 7653 §8.2); it is configured without [tls]",
                    s.code, s.message
                ));
            }
        }
    }
    let stream = TlsConnector::from(config.clone())
        .connect(name.clone(), tcp)
        .await
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
    Ok(Box::new(stream))
}

/// What the secondary's admission of a connection gives the link.
pub struct Admitted {
    /// The stream to run the link over.
    pub stream: BoxStream,
    /// Octets already read from it that belong to the link (plain mode).
    pub initial: Vec<u8>,
    /// Whether TLS protects it.
    pub secure: bool,
}

/// The secondary's side (RFC 7653 §9.1) for a connection from the partner's address: in secure
/// mode, the first message must be STARTTLS, answered with a REPLY, then the handshake, in which
/// the partner's certificate is checked; in insecure mode a STARTTLS is answered with
/// TLSConnectionRefused and the connection closed, anything else is the link's first octets.
/// The caller bounds the time this takes (the handshake timeout).
pub async fn admit(tls: Option<&PartnerTls>, mut tcp: TcpStream) -> Result<Admitted, String> {
    let _ = tcp.set_nodelay(true);
    let mut len = [0u8; 2];
    tcp.read_exact(&mut len)
        .await
        .map_err(|e| format!("nothing received ({})", eof_text(e)))?;
    let frame_len = usize::from(u16::from_be_bytes(len));
    let mut header = vec![0u8; frame_len.min(4)];
    tcp.read_exact(&mut header)
        .await
        .map_err(|e| format!("half a message received ({})", eof_text(e)))?;
    let starttls = header.len() == 4 && header[0] == MSG_STARTTLS;
    match tls {
        None => {
            if starttls {
                let xid = [header[1], header[2], header[3]];
                let _ = tcp.write_all(&reply_frame(xid, true)).await;
                let _ = tcp.shutdown().await;
                return Err(
                    "STARTTLS refused with TLSConnectionRefused: this server has no [tls] (RFC 7653 §9.1)"
                        .into(),
                );
            }
            let mut initial = len.to_vec();
            initial.extend(header);
            Ok(Admitted {
                stream: Box::new(tcp),
                initial,
                secure: false,
            })
        }
        Some(tls) => {
            let Side::Server(config) = &tls.side else {
                return Err("internal: the primary does not accept connections".into());
            };
            if !starttls || frame_len > MAX_NEGOTIATION_FRAME {
                return Err(format!(
                    "not secured with TLS: the first message is msg-type {} of {frame_len} octets, not STARTTLS (RFC 7653 §9.1: closed)",
                    header.first().copied().unwrap_or(0)
                ));
            }
            // RFC 7653 §6.2.2: "Any options received in a STARTTLS message SHOULD be ignored."
            let mut rest = vec![0u8; frame_len - 4];
            tcp.read_exact(&mut rest)
                .await
                .map_err(|e| format!("half a STARTTLS received ({})", eof_text(e)))?;
            tcp.write_all(&reply_frame([header[1], header[2], header[3]], false))
                .await
                .map_err(|e| format!("sending the REPLY to STARTTLS: {e}"))?;
            let stream = TlsAcceptor::from(config.clone())
                .accept(tcp)
                .await
                .map_err(|e| format!("TLS handshake failed: {e}"))?;
            Ok(Admitted {
                stream: Box::new(stream),
                initial: Vec::new(),
                secure: true,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starttls_is_a_bare_framed_header_and_its_refusal_carries_tls_connection_refused() {
        assert_eq!(starttls_frame(0x0001_0203), [0, 4, 23, 1, 2, 3]);
        assert_eq!(reply_frame([1, 2, 3], false), vec![0, 4, 7, 1, 2, 3]);
        let refused = reply_frame([1, 2, 3], true);
        assert_eq!(
            usize::from(u16::from_be_bytes([refused[0], refused[1]])),
            refused.len() - 2
        );
        assert_eq!(&refused[2..6], &[7, 1, 2, 3]);
        let opts = decode_options(&refused[6..]).unwrap();
        assert!(matches!(
            &opts[..],
            [DhcpOption::StatusCode(s)] if s.code == StatusCode::TLS_CONNECTION_REFUSED
        ));
    }
}
