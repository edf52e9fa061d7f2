//! The partner link in secure mode (RFC 8156 §10, RFC 7653 §8.2 and §9.1): a pair over TLS
//! with mutual authentication, and what the secondary refuses (a wrong, expired or misnamed
//! certificate, plain TCP, a stalled handshake, a flood of attempts) without any effect on its
//! failover state, its lease database or its partner. Certificates are made here with rcgen.
//!
//! These tests were shown to catch a broken certificate check (a mutation run, 2026-12-03: each
//! mutant of `PartnerVerifier::verify` in impl/daemon/src/tls.rs built in turn, the tests of
//! this module run against it):
//!
//! | mutant | failing test |
//! |---|---|
//! | accept every certificate | `a_pair_reaches_normal_over_tls_...`, `a_flood_of_attempts_...` |
//! | no comparison with the pinned certificate | `a_flood_of_attempts_...` |
//! | no chain or validity check (`verify_for_usage` skipped) | `a_pair_reaches_normal_over_tls_...` |
//! | no subjectAltName check | `a_pair_reaches_normal_over_tls_...` |

use std::io::{Read, Write};
use std::net::{Ipv6Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::Value;
use tokio_rustls::rustls::{self, pki_types};

use super::{both_normal, ctl, state, wait_status, Pair, Server, DEADLINE};

// ---- certificates -----------------------------------------------------------------------

/// A CA, and certificates signed by it or self-signed, written as PEM files in `dir`.
pub(super) struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pub(super) pem: String,
}

fn leaf_params(san: &str, expired: bool) -> CertificateParams {
    let mut p = CertificateParams::new(vec![san.to_string()]).unwrap();
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    if expired {
        p.not_before = rcgen::date_time_ymd(2019, 1, 1);
        p.not_after = rcgen::date_time_ymd(2020, 1, 1);
    }
    p
}

impl Ca {
    pub(super) fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} failover CA"));
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let pem = p.self_signed(&key).unwrap().pem();
        Ca {
            issuer: Issuer::new(p, key),
            pem,
        }
    }

    /// A certificate for `san` signed by this CA: (certificate PEM, key PEM).
    pub(super) fn leaf(&self, san: &str, expired: bool) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let cert = leaf_params(san, expired)
            .signed_by(&key, &self.issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// A self-signed certificate for `san`: (certificate PEM, key PEM).
fn self_signed(san: &str) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let cert = leaf_params(san, false).self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

pub(super) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Write `role`'s configuration with `[tls]` lines `tls` and partner limits, returning its path.
fn tls_config(
    pair: &Pair,
    role: &str,
    tls: &str,
    handshake_timeout: u64,
    max_pending: u64,
) -> PathBuf {
    let path = pair.config(role, "[::1]");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "keepalive = 4\n",
        &format!(
            "keepalive = 4\nhandshake_timeout = {handshake_timeout}\nmax_pending_connections = {max_pending}\n"
        ),
    );
    std::fs::write(&path, format!("{text}\n[tls]\n{tls}")).unwrap();
    path
}

/// A CA and a certificate for each server (both named ::1, the address of both on loopback).
fn ca_pair_files(pair: &Pair) -> (Ca, String, String) {
    let ca = Ca::new("test");
    let dir = pair.dir.path();
    write(dir, "ca.pem", &ca.pem);
    for role in ["primary", "secondary"] {
        let (c, k) = ca.leaf("::1", false);
        write(dir, &format!("{role}.pem"), &c);
        write(dir, &format!("{role}.key"), &k);
    }
    let tls = |role: &str| {
        format!(
            "cert = \"{d}/{role}.pem\"\nkey = \"{d}/{role}.key\"\nca = \"{d}/ca.pem\"\n",
            d = dir.display()
        )
    };
    (ca, tls("primary"), tls("secondary"))
}

// ---- a test client on the partner port ------------------------------------------------------

fn wait_log(server: &Server, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let log = server.log_text();
        if log.contains(needle) {
            return log;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "no {needle:?} in the log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect((Ipv6Addr::LOCALHOST, port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// STARTTLS (RFC 7653 §8.2) and the REPLY to it.
fn starttls(s: &mut TcpStream) -> Vec<u8> {
    s.write_all(&[0, 4, 23, 0, 0, 7]).unwrap();
    let mut reply = [0u8; 6];
    s.read_exact(&mut reply).unwrap();
    reply.to_vec()
}

/// Is the connection closed by the server (EOF, reset or a TLS alert) within 5 s?
fn closed_by_server(r: std::io::Result<usize>) -> bool {
    match r {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

/// A TLS client presenting `cert`/`key`, trusting `root` for the server's certificate.
fn tls_client(cert: &str, key: &str, root: &str) -> rustls::ClientConnection {
    use pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(pki_types::CertificateDer::from_pem_slice(root.as_bytes()).unwrap())
        .unwrap();
    let chain = vec![pki_types::CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()];
    let key = pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .unwrap();
    let name = pki_types::ServerName::IpAddress(Ipv6Addr::LOCALHOST.into());
    rustls::ClientConnection::new(Arc::new(config), name).unwrap()
}

/// Connect to the partner port as the primary would, presenting `cert`: STARTTLS, handshake,
/// then a read. `Ok(stream)` if the server kept the connection open after the handshake.
fn tls_attempt(
    port: u16,
    cert: &str,
    key: &str,
    root: &str,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, String> {
    let mut tcp = connect(port);
    let reply = starttls(&mut tcp);
    assert_eq!(reply, [0, 4, 7, 0, 0, 7], "REPLY without a status code");
    let mut conn = tls_client(cert, key, root);
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)
            .map_err(|e| format!("handshake: {e}"))?;
    }
    let mut s = rustls::StreamOwned::new(conn, tcp);
    // TLS 1.3: the server judges the client's certificate after the client's side is done;
    // a refusal arrives as an alert on the first read.
    s.sock
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut b = [0u8; 1];
    match s.read(&mut b) {
        Ok(0) => Err("closed after the handshake".into()),
        Err(e)
            if !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Err(format!("after the handshake: {e}"))
        }
        _ => Ok(s),
    }
}

/// What must not change when the secondary refuses an attempt: its state, its lease database,
/// and its one partner connection.
struct Untouched {
    leases: Value,
    state: String,
    links: usize,
}

fn links_up(server: &Server) -> usize {
    server.log_text().matches("partner connection up").count()
}

impl Untouched {
    fn take(pair: &Pair, s: &Server) -> Untouched {
        Untouched {
            leases: ctl(&pair.socket("secondary"), &["leases"]).unwrap(),
            state: state(&ctl(&pair.socket("secondary"), &["status"]).unwrap()).to_string(),
            links: links_up(s),
        }
    }

    fn check(&self, pair: &Pair, s: &Server, what: &str) {
        assert_eq!(
            ctl(&pair.socket("secondary"), &["leases"]).unwrap(),
            self.leases,
            "{what}: lease database changed"
        );
        let st = ctl(&pair.socket("secondary"), &["status"]).unwrap();
        assert_eq!(state(&st), self.state, "{what}: state changed: {st}");
        assert_eq!(
            links_up(s),
            self.links,
            "{what}: a partner link was installed"
        );
    }
}

/// A relayed client gets a lease from the primary, and the secondary learns it by BNDUPD over
/// the (TLS) partner link: both keep serving.
fn a_client_is_served_and_the_secondary_learns_it(pair: &Pair) {
    use dhcproto::v6::MessageType;
    let wait = Duration::from_secs(3);
    let solicit = super::relay::message(MessageType::Solicit, None, None);
    let adv = super::relay::exchange(pair.dhcp_ports[0], &solicit, wait).expect("ADVERTISE");
    let offered = super::relay::held(&adv);
    let request = super::relay::message(MessageType::Request, Some(&offered.server), None);
    let got = super::relay::held(
        &super::relay::exchange(pair.dhcp_ports[0], &request, wait).expect("REPLY"),
    );
    let start = Instant::now();
    loop {
        let leases = ctl(&pair.socket("secondary"), &["leases"]).unwrap();
        if leases
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["lease"] == got.addr.to_string() && l["status"] == "ACTIVE")
        {
            return;
        }
        assert!(start.elapsed() < DEADLINE, "secondary never learnt {got:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---- the tests ------------------------------------------------------------------------------

#[test]
fn a_pair_reaches_normal_over_tls_with_a_ca_and_refuses_every_unauthenticated_attempt() {
    let pair = Pair::new();
    let (ca, tls_p, tls_s) = ca_pair_files(&pair);
    let s = Server::start(
        &tls_config(&pair, "secondary", &tls_s, 2, 4),
        pair.path("s.log"),
    );
    let p = Server::start(
        &tls_config(&pair, "primary", &tls_p, 2, 4),
        pair.path("p.log"),
    );
    both_normal(&pair, &p, &s);
    for (server, who) in [(&s, "secondary"), (&p, "primary")] {
        let log = server.log_text();
        assert!(
            log.contains("secure mode: TLS with mutual authentication"),
            "{who}: {log}"
        );
        assert!(
            log.contains("partner connection up (TLS, partner authenticated)"),
            "{who}: {log}"
        );
        assert!(!log.contains("insecure mode"), "{who}: {log}");
    }
    let port = pair.partner_port;
    let before = Untouched::take(&pair, &s);

    // A certificate from another CA, for the right address.
    let other = Ca::new("other");
    let (c, k) = other.leaf("::1", false);
    let r = tls_attempt(port, &c, &k, &ca.pem);
    assert!(r.is_err(), "another CA's certificate was accepted");
    wait_log(&s, "UnknownIssuer");
    before.check(&pair, &s, "another CA");

    // The right CA, but expired.
    let (c, k) = ca.leaf("::1", true);
    assert!(
        tls_attempt(port, &c, &k, &ca.pem).is_err(),
        "an expired certificate was accepted"
    );
    let log = wait_log(&s, "certificate expired");
    assert!(
        log.contains("refused a partner connection: TLS handshake failed"),
        "{log}"
    );
    before.check(&pair, &s, "expired");

    // The right CA, valid, but naming another server (RFC 7653 §9.1: acceptable requestors).
    let (c, k) = ca.leaf("::2", false);
    assert!(
        tls_attempt(port, &c, &k, &ca.pem).is_err(),
        "a misnamed certificate was accepted"
    );
    wait_log(&s, "does not name the partner (::1)");
    before.check(&pair, &s, "misnamed");

    // Plain TCP: a CONNECT-looking frame first. Closed without a word (RFC 7653 §9.1).
    let mut plain = connect(port);
    plain.write_all(&[0, 8, 31, 0, 0, 1, 0, 0, 0, 0]).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(
        plain.read(&mut buf).unwrap_or(0),
        0,
        "plain TCP got an answer"
    );
    wait_log(&s, "not secured with TLS: the first message is msg-type 31");
    before.check(&pair, &s, "plain TCP");

    // Stalls: nothing at all, and STARTTLS then half a ClientHello. Both closed after
    // partner.handshake_timeout (2 s), not before 1.5 s, not after the deadline.
    let started = Instant::now();
    let mut silent = connect(port);
    let mut half = connect(port);
    assert_eq!(starttls(&mut half), [0, 4, 7, 0, 0, 7]);
    half.write_all(&[0x16, 0x03, 0x01, 0x01, 0x00, 0x01])
        .unwrap();
    for s in [&mut silent, &mut half] {
        s.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
        assert!(
            closed_by_server(s.read(&mut buf)),
            "a stalled connection stayed open"
        );
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
        "closed after {took:?}"
    );
    wait_log(&s, "not admitted within partner.handshake_timeout (2 s)");
    before.check(&pair, &s, "stalled handshakes");

    // Through all this the pair stayed NORMAL on its one TLS connection, and both serve.
    both_normal(&pair, &p, &s);
    a_client_is_served_and_the_secondary_learns_it(&pair);
    assert_eq!(links_up(&s), 1);
}

#[test]
fn a_flood_of_attempts_from_the_partners_address_does_not_keep_the_pinned_partner_out() {
    let pair = Pair::new();
    let dir = pair.dir.path();
    let mut pem = std::collections::HashMap::new();
    for role in ["primary", "secondary", "impostor"] {
        let (c, k) = self_signed("::1");
        write(dir, &format!("{role}.pem"), &c);
        write(dir, &format!("{role}.key"), &k);
        pem.insert(role, (c, k));
    }
    let tls = |me: &str, partner: &str| {
        format!(
            "cert = \"{d}/{me}.pem\"\nkey = \"{d}/{me}.key\"\npartner_cert = \"{d}/{partner}.pem\"\n",
            d = dir.display()
        )
    };
    // A long handshake timeout: the real partner gets in because a newer attempt closes the
    // oldest, not because the flood times out.
    let s = Server::start(
        &tls_config(&pair, "secondary", &tls("secondary", "primary"), 30, 4),
        pair.path("s.log"),
    );
    wait_status(&pair.socket("secondary"), &s, "secondary up", |_| true);
    let before = ctl(&pair.socket("secondary"), &["leases"]).unwrap();
    // 40 silent connections from the partner's own address: at most 4 are held at once.
    let mut flood: Vec<TcpStream> = (0..40).map(|_| connect(pair.partner_port)).collect();
    let log = wait_log(
        &s,
        "partner.max_pending_connections (4) attempts were being admitted",
    );
    let mut closed = 0;
    for c in &mut flood {
        c.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        if closed_by_server(c.read(&mut [0u8; 1])) {
            closed += 1;
        }
    }
    assert!(closed >= 36, "only {closed} of 40 closed:\n{log}");
    assert_eq!(ctl(&pair.socket("secondary"), &["leases"]).unwrap(), before);
    assert_eq!(
        ctl(&pair.socket("secondary"), &["status"]).unwrap()["connected"],
        false
    );
    // The flood's last 4 are still pending; the partner comes anyway, and is let in.
    let p = Server::start(
        &tls_config(&pair, "primary", &tls("primary", "secondary"), 30, 4),
        pair.path("p.log"),
    );
    both_normal(&pair, &p, &s);
    drop(flood);

    // A certificate that is not the pinned one, presented from the partner's address.
    let (ic, ik) = &pem["impostor"];
    let (sc, _) = &pem["secondary"];
    let before = Untouched::take(&pair, &s);
    assert!(
        tls_attempt(pair.partner_port, ic, ik, sc).is_err(),
        "an impostor was accepted"
    );
    wait_log(&s, "not the pinned partner certificate");
    before.check(&pair, &s, "impostor");
    both_normal(&pair, &p, &s);
}

#[test]
fn secure_and_insecure_servers_never_connect_and_a_tls_primary_does_not_fall_back() {
    // Pair A: TLS primary, plain secondary. Pair B: plain primary, TLS secondary.
    let a = Pair::new();
    let (_, tls_p, _) = ca_pair_files(&a);
    let a_s = Server::start(&a.config("secondary", "[::1]"), a.path("s.log"));
    let a_p = Server::start(&tls_config(&a, "primary", &tls_p, 2, 4), a.path("p.log"));
    let b = Pair::new();
    let (_, _, tls_s) = ca_pair_files(&b);
    let b_s = Server::start(&tls_config(&b, "secondary", &tls_s, 2, 4), b.path("s.log"));
    let _b_p = Server::start(&b.config("primary", ""), b.path("p.log"));

    // RFC 7653 §9.1: the insecure secondary answers STARTTLS with TLSConnectionRefused, and
    // the primary closes (§8.2) instead of going on in plain TCP.
    wait_log(&a_s, "STARTTLS refused with TLSConnectionRefused");
    wait_log(&a_p, "the partner refused TLS: TLSConnectionRefused (15)");
    assert!(a_s.log_text().contains("insecure mode"));
    // The secure secondary closes the plain primary's connection (its CONNECT comes first).
    wait_log(
        &b_s,
        "not secured with TLS: the first message is msg-type 31",
    );
    for pair in [&a, &b] {
        for role in ["primary", "secondary"] {
            let st = ctl(&pair.socket(role), &["status"]).unwrap();
            assert_eq!(st["communications_ok"], false, "{role}: {st}");
        }
    }
    // No link ever came up where TLS is configured (the plain primary B's TCP connection did,
    // until the secondary closed it).
    for (server, who) in [
        (&a_p, "TLS primary"),
        (&a_s, "plain secondary"),
        (&b_s, "TLS secondary"),
    ] {
        let log = server.log_text();
        assert!(!log.contains("partner connection up"), "{who}: {log}");
    }
}

#[test]
fn an_admitted_partner_that_stalls_mid_frame_is_dropped_after_the_keepalive_time() {
    let pair = Pair::new();
    let (ca, _, tls_s) = ca_pair_files(&pair);
    let s = Server::start(
        &tls_config(&pair, "secondary", &tls_s, 1, 4),
        pair.path("s.log"),
    );
    // Alone, the secondary leaves STARTUP for RECOVER after startup_time (RFC 8156 §8.3.2).
    wait_status(&pair.socket("secondary"), &s, "secondary in RECOVER", |v| {
        state(v) == "RECOVER"
    });
    let leases = ctl(&pair.socket("secondary"), &["leases"]).unwrap();
    let dir = pair.dir.path();
    let cert = std::fs::read_to_string(dir.join("primary.pem")).unwrap();
    let key = std::fs::read_to_string(dir.join("primary.key")).unwrap();
    // FO_KEEPALIVE_TIMER starts when the connection is up (RFC 8156 §6.6).
    let started = Instant::now();
    let mut stream = tls_attempt(pair.partner_port, &cert, &key, &ca.pem)
        .expect("the real primary's certificate is accepted");
    wait_log(&s, "partner connection up (TLS, partner authenticated)");
    // Half of a 30-octet frame (RFC 5460 §5.1 framing), then nothing: no message ever arrives,
    // so FO_KEEPALIVE_TIMER (keepalive = 4 s) is never reset (RFC 8156 §6.6).
    stream.write_all(&[0, 30, 31, 0, 0, 1, 0]).unwrap();
    stream.flush().unwrap();
    stream
        .sock
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(9),
        "dropped after {took:?}, not after the 4 s keepalive"
    );
    wait_log(&s, "keepalive expired (§6.6)");
    let st = ctl(&pair.socket("secondary"), &["status"]).unwrap();
    assert_eq!(st["connected"], false, "{st}");
    assert_eq!(state(&st), "RECOVER", "{st}");
    assert_eq!(ctl(&pair.socket("secondary"), &["leases"]).unwrap(), leases);
}

// ---- the cost of TLS (BENCHMARKS.md) ----------------------------------------------------------

/// Seconds since midnight (UTC) of a text log line's timestamp (`2026-12-03T14:07:00.123456Z`).
fn log_time(line: &str) -> Option<f64> {
    let t = line
        .split_whitespace()
        .next()?
        .split('T')
        .nth(1)?
        .trim_end_matches('Z');
    let mut f = t.split(':');
    let h: f64 = f.next()?.parse().ok()?;
    let m: f64 = f.next()?.parse().ok()?;
    let s: f64 = f.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

fn log_time_of(log: &str, needle: &str) -> f64 {
    let line = log
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no {needle:?} in the log"));
    log_time(line).unwrap_or_else(|| panic!("no time in {line:?}"))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// One pair, plain or TLS, with a pool of `leases` addresses in lockstep: (seconds from the
/// secondary's partner connection coming up to its RECOVER -> RECOVER-WAIT, i.e. the UPDREQALL
/// answered by UPDDONE; lockstep grants per second, each REPLY held until the secondary's
/// BNDREPLY to its BNDUPD).
fn tls_cost_run(bin: &str, tls: bool, leases: u32, grants: u32) -> (f64, f64) {
    use dhcproto::v6::MessageType;
    let pair = Pair::new();
    let (_, tls_p, tls_s) = ca_pair_files(&pair);
    let first: Ipv6Addr = "2001:db8:1::100".parse().unwrap();
    let last = Ipv6Addr::from(u128::from(first) + u128::from(leases) - 1);
    let mut configs = Vec::new();
    for (role, t) in [("secondary", &tls_s), ("primary", &tls_p)] {
        let path = if tls {
            tls_config(&pair, role, t, 10, 4)
        } else {
            pair.config(role, "[::1]")
        };
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace(
                "range = \"2001:db8:1::100-2001:db8:1::13f\"",
                &format!("range = \"{first}-{last}\""),
            )
            .replace("startup_time = 1\n", "startup_time = 1\nlockstep = true\n");
        std::fs::write(&path, text).unwrap();
        configs.push(path);
    }
    let spawn = |config: &Path, log: PathBuf| {
        let err = std::fs::File::create(&log).unwrap();
        let child = std::process::Command::new(bin)
            .args(["serve", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap();
        Server { child, log }
    };
    let s = spawn(&configs[0], pair.path("s.log"));
    wait_status(&pair.socket("secondary"), &s, "secondary up", |_| true);
    let p = spawn(&configs[1], pair.path("p.log"));
    both_normal(&pair, &p, &s);
    let log = s.log_text();
    let resync = log_time_of(&log, "state RECOVER -> RECOVER-WAIT")
        - log_time_of(&log, "partner connection up");
    let wait = Duration::from_secs(10);
    let mut spent = Duration::ZERO;
    for i in 0..grants {
        let client = [
            0,
            3,
            0,
            1,
            0x02,
            0,
            0,
            (i >> 16) as u8,
            (i >> 8) as u8,
            i as u8,
        ];
        let solicit = super::relay::message_for(&client, MessageType::Solicit, None, None);
        let adv = super::relay::exchange(pair.dhcp_ports[0], &solicit, wait).expect("ADVERTISE");
        // Only the address matters here: the 100,000-address pool has only the test's few
        // prefixes, which run out after the first clients.
        let server = adv
            .opts()
            .iter()
            .find_map(|o| match o {
                dhcproto::v6::DhcpOption::ServerId(id) => Some(id.clone()),
                _ => None,
            })
            .expect("a ServerId in the ADVERTISE");
        let request = super::relay::message_for(&client, MessageType::Request, Some(&server), None);
        let t = Instant::now();
        let reply = super::relay::exchange(pair.dhcp_ports[0], &request, wait).expect("REPLY");
        spent += t.elapsed();
        assert_eq!(reply.msg_type(), MessageType::Reply);
    }
    (resync, f64::from(grants) / spent.as_secs_f64())
}

/// The cost of TLS on the partner link, as ratios to plain TCP measured in one run
/// (BENCHMARKS.md, "TLS on the partner link"). Not part of `cargo test`:
///
/// ```text
/// cargo build --release --bin failover
/// FAILOVER_BIN=target/release/failover RUNS=5 cargo test --test daemon_loopback -- \
///     --ignored --nocapture tls_cost
/// ```
///
/// RUNS (default 3) rounds, each a plain pair then a TLS pair, both from empty storage;
/// LEASES (default 100000) addresses; GRANTS (default 300) lockstep grants.
#[test]
#[ignore]
fn tls_cost_on_updreqall_and_the_bndupd_rate() {
    let env = |k: &str, d: u32| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let runs = env("RUNS", 3);
    let leases = env("LEASES", 100_000);
    let grants = env("GRANTS", 300);
    let bin = std::env::var("FAILOVER_BIN").unwrap_or_else(|_| super::BIN.to_string());
    println!("tls_cost: bin {bin}, {runs} rounds, {leases} leases, {grants} lockstep grants");
    let mut r: [(Vec<f64>, Vec<f64>); 2] = Default::default();
    for round in 1..=runs {
        for (k, tls) in [(0, false), (1, true)] {
            let (resync, rate) = tls_cost_run(&bin, tls, leases, grants);
            println!(
                "round {round} {:5}: UPDREQALL of {leases} leases {resync:.3} s, lockstep grants {rate:.1}/s",
                if tls { "TLS" } else { "plain" }
            );
            r[k].0.push(resync);
            r[k].1.push(rate);
        }
    }
    let (mut pr, mut pg) = r[0].clone();
    let (mut tr, mut tg) = r[1].clone();
    let (pr, pg, tr, tg) = (
        median(&mut pr),
        median(&mut pg),
        median(&mut tr),
        median(&mut tg),
    );
    println!(
        "medians: plain UPDREQALL {pr:.3} s, TLS {tr:.3} s, ratio TLS/plain {:.3}",
        tr / pr
    );
    println!(
        "medians: plain grants {pg:.1}/s, TLS {tg:.1}/s, ratio TLS/plain {:.3}",
        tg / pg
    );
}
