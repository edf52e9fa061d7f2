//! Issue 16, TLS towards the SUT: the wire suite speaks STARTTLS and mutual TLS (RFC 8156 §10,
//! RFC 7653 §8.2, §9.1) to a `failover serve` whose partner link requires it, with the harness's
//! certificate checked by the server and the server's by the harness (`--tls-*`, loaded by
//! `failover serve`'s own `[tls]` code). A subset of the wire tests passes over TLS; with a CA
//! that did not sign the server's certificate, the first connection fails with an error naming
//! TLS and the certificate, and nothing passes.

use std::path::Path;

use failover_conformance::wire::tls::WireTls;
use failover_conformance::wire::{self, Verdict};
use failover_daemon::config::{TlsConfig, TlsTrust};
use failover_daemon::tls::PartnerTls;
use failover_proto::Role;

use super::tls::{write, Ca};
use super::wire::{run_ctx_tls, start_with};

/// Wire tests that exchange real traffic over the secured link: the handshake of §6.1, the
/// rejections of §6.1.2, an unknown message (§5.2) and a BNDUPD accepted after storage (§7.5.5).
const OVER_TLS: &[&str] = &[
    "6.1.2/connect-accepted",
    "6.1.2/time-skew",
    "5.2/unknown-msg-type",
    "7.5.5/bndupd-accepted",
];

/// The harness as primary, with its certificate signed by `ca` and trusting `trust` (a PEM file).
fn harness_tls(dir: &Path, ca: &Ca, trust: &Path, tag: &str) -> WireTls {
    let (c, k) = ca.leaf("::1", false);
    let cfg = TlsConfig {
        cert: write(dir, &format!("harness-{tag}.pem"), &c),
        key: write(dir, &format!("harness-{tag}.key"), &k),
        trust: TlsTrust::Ca(trust.to_path_buf()),
        partner_name: None,
    };
    let loaded = PartnerTls::load(&cfg, Role::Primary, "::1".parse().unwrap()).unwrap();
    let (config, name) = loaded
        .client_config()
        .expect("the primary is the TLS client");
    WireTls::Client { config, name }
}

#[test]
fn the_wire_suite_speaks_starttls_to_a_server_that_requires_it_and_names_tls_when_the_ca_is_wrong()
{
    let ca = Ca::new("pair");
    let ca_for = ca.pem.clone();
    let (sut_cert, sut_key) = ca.leaf("::1", false);
    let sut = start_with(Role::Secondary, None, move |d| {
        format!(
            "[tls]\ncert = \"{}\"\nkey = \"{}\"\nca = \"{}\"\n",
            write(d, "sut.pem", &sut_cert).display(),
            write(d, "sut.key", &sut_key).display(),
            write(d, "ca.pem", &ca_for).display(),
        )
    });
    let dir = sut._dir.path();
    std::thread::sleep(std::time::Duration::from_millis(300));

    let good = harness_tls(dir, &ca, &dir.join("ca.pem"), "good");
    let (results, ctx) = run_ctx_tls(&sut, OVER_TLS, Some(good));
    let t = wire::totals(&results);
    let text = wire::summary("failover serve over TLS", &results);
    assert_eq!(
        (t.passed, t.failed, t.errors),
        (OVER_TLS.len(), 0, 0),
        "{text}"
    );
    // The capture holds the failover messages from inside TLS.
    let cap = failover_conformance::capture::read_capture(&wire::pcap(&ctx).unwrap(), 647).unwrap();
    assert!(cap.messages.len() >= 8, "{} messages", cap.messages.len());

    // The harness trusts another CA: the SUT's certificate is refused in the handshake.
    let other = Ca::new("other");
    let wrong = harness_tls(
        dir,
        &other,
        &write(dir, "other-ca.pem", &other.pem),
        "wrong",
    );
    let (results, _) = run_ctx_tls(&sut, &["6.1.2/connect-accepted"], Some(wrong));
    match &results[0].verdict {
        Verdict::Fail { expected, observed } => {
            assert!(expected.contains("TLS session"), "{expected}");
            assert!(
                observed.starts_with("TLS handshake with the SUT failed")
                    && observed.contains("certificate"),
                "{observed}"
            );
        }
        v => panic!("{v:?}"),
    }
    // Without TLS, the server (secure mode, RFC 7653 §9.1) closes the plain connection.
    let (results, _) = run_ctx_tls(&sut, &["6.1.2/connect-accepted"], None);
    assert!(
        matches!(&results[0].verdict, Verdict::Fail { observed, .. } if observed.contains("closed")),
        "{:?}",
        results[0].verdict
    );
}
