//! The harness against our implementation in-process, and proof that it can fail: each
//! deliberately broken build of the implementation diverges on named traces that the
//! implementation as it is passes.

use std::path::Path;

use failover_conformance::mapping::Compare;
use failover_conformance::runner::{self, Loaded, Outcome};
use failover_replay::inproc::{Breakage, InProc};

fn corpus() -> Vec<Loaded> {
    runner::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../traces")).expect("corpus")
}

fn result(sut: &mut InProc, all: &[Loaded], id: &str) -> Outcome {
    let t = all
        .iter()
        .find(|t| t.trace.id == id)
        .unwrap_or_else(|| panic!("no trace {id}"));
    runner::run_trace(sut, t, Compare::default()).outcome
}

/// Traces our implementation passes today (a regression guard: the list may only grow).
const REFERENCE_PASSES: &[&str] = &[
    "s7.2-normal-binding-active-abandoned",
    "s7.2-normal-binding-active-expired",
    "s7.2-normal-binding-active-reset",
    "s7.2-normal-binding-expired-abandoned",
    "s7.2-normal-binding-expired-reset",
    "s7.2-normal-binding-free-abandoned",
    "s7.2-normal-binding-free-active",
    "s7.2-normal-binding-free-backup-abandoned",
    "s7.2-normal-binding-free-backup-expired",
    "s7.2-normal-binding-free-backup-released",
    "s7.2-normal-binding-free-backup-reset",
    "s7.2-normal-binding-free-expired",
    "s7.2-normal-binding-free-released",
    "s7.2-normal-binding-free-reset",
    "s7.2-storage-loss-binding-expired-active",
    "s7.5.4-auto-pd-figure4-local-free-received-released-reject-outdated",
    "s7.5.4-fresh-figure4-local-expired-received-free-accept",
    "s7.5.4-normal-figure4-local-abandoned-received-abandoned-accept",
    "s7.5.4-normal-figure4-local-abandoned-received-expired-reject-outdated",
    "s7.5.4-normal-figure4-local-active-received-abandoned-accept",
    "s7.5.4-normal-figure4-local-active-received-expired-reject-outdated",
    "s7.5.4-normal-figure4-local-active-received-released-accept",
    "s7.5.4-normal-figure4-local-expired-received-active-reject-outdated",
    "s7.5.4-normal-figure4-local-expired-received-expired-accept",
    "s7.5.4-normal-figure4-local-expired-received-released-accept",
    "s7.5.4-normal-figure4-local-free-received-active-accept",
    "s7.5.4-normal-figure4-local-released-received-expired-accept",
    "s7.5.4-normal-figure4-local-released-received-released-accept",
    "s7.5.4-normal-figure4-local-reset-received-expired-reject-outdated",
    "s7.5.4-storage-loss-figure4-local-expired-received-free-backup-accept",
    "s7.5.4-storage-loss-figure4-local-free-received-free-reject-outdated",
    "s7.5.4-storage-loss-figure4-local-released-received-free-backup-accept",
    "s7.5.4-storage-loss-figure4-local-reset-received-abandoned-reject-outdated",
    "s7.5.4-storage-loss-figure4-local-reset-received-free-backup-accept",
    "s7.5.4-two-clients-figure4-local-abandoned-received-active-reject-outdated",
    "s7.5.4-two-clients-figure4-local-released-received-active-reject-outdated",
    "s7.5.4-two-clients-figure4-local-released-received-expired-reject-outdated",
    "s7.5.4-two-clients-figure4-local-reset-received-active-reject-outdated",
    "s8.10-auto-pd-state-potential-conflict-conflict-done",
    "s8.10-conflict-state-potential-conflict-resolution-interrupted",
    "s8.3-conflict-state-startup-communications-interrupted",
    "s8.3-conflict-state-startup-potential-conflict",
    "s8.3-fresh-state-startup-partner-down",
    "s8.3-normal-state-startup-normal",
    "s8.4-fresh-state-partner-down-normal",
    "s8.8-auto-pd-state-normal-potential-conflict",
    "s8.8-normal-state-normal-communications-interrupted",
    "s8.9-conflict-state-communications-interrupted-potential-conflict",
    "s8.9-normal-state-communications-interrupted-normal",
    "s8.9-normal-state-communications-interrupted-partner-down",
    "s4.3-variant-lockstep",
    "s4.4-variant-no-mclt-cap",
    "s7.1-variant-same-tick-changes",
    "s7.5.4-variant-accept-all-bndupd",
    "s7.5.4-variant-figure3-pending-free",
    "s7.5.4-variant-free-tie-unbroken",
    "s7.5.4-variant-no-update-pending-on-reject",
    "s7.5.4-variant-strict-ties",
    "s8.10.1-variant-responsive-in-potential-conflict",
    "s8.10.2-variant-no-secondary-updreq-in-conflict",
    "s8.3.2-variant-startup-timeout-while-partner-alive",
    "s8.4-variant-operator-pd-in-partition",
    "s8.4.1-variant-pd-no-mclt-wait",
    "s8.6-variant-skip-recover-wait",
    "s8.8-variant-state-before-updates",
    "s8.9.1-variant-renew-own-leases-only",
    "s8.9.1-variant-secondary-uses-primary-pool",
    "s8.9.2-variant-auto-pd-in-partition",
    "random-busy-seed-5000",
    "random-busy-seed-5001",
    "random-busy-seed-5002",
    "random-busy-seed-5003",
    "random-busy-seed-5004",
    "random-busy-seed-5005",
    "random-busy-seed-5006",
    "random-busy-seed-5007",
    "random-conflict-seed-4000",
    "random-conflict-seed-4001",
    "random-conflict-seed-4002",
    "random-conflict-seed-4003",
    "random-conflict-seed-4004",
    "random-conflict-seed-4005",
    "random-conflict-seed-4006",
    "random-conflict-seed-4007",
    "random-default-seed-1000",
    "random-default-seed-1001",
    "random-default-seed-1002",
    "random-default-seed-1003",
    "random-default-seed-1004",
    "random-default-seed-1005",
    "random-default-seed-1006",
    "random-default-seed-1007",
    "random-headline-seed-2000",
    "random-headline-seed-2001",
    "random-headline-seed-2002",
    "random-headline-seed-2003",
    "random-headline-seed-2004",
    "random-headline-seed-2005",
    "random-headline-seed-2006",
    "random-headline-seed-2007",
    "random-storage-loss-seed-3002",
    "random-storage-loss-seed-3003",
    "random-storage-loss-seed-3004",
    "random-storage-loss-seed-3006",
    "s9.3-ddns-dns-add-by-primary",
    "s9.4-ddns-dns-delete-owed-across-a-crash-of-secondary",
    "s9.5-ddns-dns-name-kept-on-a-rebind-with-primary",
    "s9.5-ddns-dns-name-kept-on-a-rebind-with-secondary",
    // Design draft §12 (readings R29–R32): every reservations trace.
    "s12-reservations-resv-reservation-cancelled-on-primary-with-the-address-bound-during-a-partition",
    "s12-reservations-resv-reservation-cancelled-on-primary-with-the-address-free-during-a-partition",
    "s12-reservations-resv-reservation-cancelled-on-primary-with-the-address-free-in-normal",
    "s12-reservations-resv-reservation-cancelled-on-secondary-with-the-address-bound-in-normal",
    "s12-reservations-resv-reservation-cancelled-on-secondary-with-the-address-free-during-a-partition",
    "s12-reservations-resv-reserved-address-granted-to-its-client-by-primary",
    "s12-reservations-resv-reserved-address-granted-to-its-client-by-secondary",
    "s12-reservations-resv-reserved-address-refused-to-another-client-by-primary",
    "s12-reservations-resv-reserved-address-refused-to-another-client-by-secondary",
    "s12-reserved-prefix-resv-reservation-cancelled-on-primary-with-the-prefix-bound-during-a-partition",
    "s12-reserved-prefix-resv-reservation-cancelled-on-primary-with-the-prefix-free-during-a-partition",
    "s12-reserved-prefix-resv-reservation-cancelled-on-primary-with-the-prefix-free-in-normal",
    "s12-reserved-prefix-resv-reservation-cancelled-on-secondary-with-the-prefix-bound-in-normal",
    "s12-reserved-prefix-resv-reservation-cancelled-on-secondary-with-the-prefix-free-during-a-partition",
    "s12-reserved-prefix-resv-reservation-cancelled-on-secondary-with-the-prefix-free-in-normal",
    "s12-reserved-prefix-resv-reserved-prefix-granted-to-its-client-by-primary",
    "s12-reserved-prefix-resv-reserved-prefix-granted-to-its-client-by-secondary",
    "s12-reserved-prefix-resv-reserved-prefix-refused-to-another-client-by-secondary",
    "s12-variant-cancel-mark-volatile",
    "s12-variant-cancel-reservation-without-ack",
    "s12-variant-reserved-lease-in-pool",
    "s12-variant-secondary-ignores-reserved-flag",
    "s7.2-reservations-binding-abandoned-free",
    "s7.2-reservations-binding-free-backup-free",
    "s7.2-reservations-binding-free-free-backup",
    "s7.5.4-reservations-figure4-local-abandoned-received-free-backup-reject-outdated",
    "s7.5.4-reservations-figure4-local-abandoned-received-free-reject-outdated",
    "s7.5.4-reservations-figure4-local-active-received-free-backup-reject-outdated",
    "s7.5.4-reservations-figure4-local-expired-received-expired-reject-outdated",
    "s7.5.4-reservations-figure4-local-expired-received-free-backup-reject-outdated",
    "s7.5.4-reservations-figure4-local-expired-received-free-reject-outdated",
    "s7.5.4-reservations-figure4-local-free-received-abandoned-reject-outdated",
    "s7.5.4-reservations-figure4-local-free-received-active-reject-outdated",
    "s7.5.4-reservations-figure4-local-released-received-free-reject-outdated",
];

#[test]
fn the_implementation_passes_every_trace_of_the_corpus() {
    // Every trace, not a list: a new trace the implementation does not pass fails this test,
    // and the divergence is explained.
    let all = corpus();
    let mut sut = InProc::new();
    let mut failures = Vec::new();
    for t in &all {
        let r = runner::run_trace(&mut sut, t, Compare { messages: true });
        if !r.passed() {
            failures.push(runner::explain(t, &r));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for id in REFERENCE_PASSES {
        assert!(
            all.iter().any(|t| t.trace.id == *id),
            "{id} is in the corpus"
        );
    }
}

fn assert_fails(b: Breakage, ids: &[&str]) {
    let all = corpus();
    let mut sut = InProc::broken(b);
    for id in ids {
        assert!(REFERENCE_PASSES.contains(id));
        let o = result(&mut sut, &all, id);
        assert!(
            matches!(o, Outcome::Fail(_)),
            "{id} should diverge with {}: {o:?}",
            b.name()
        );
    }
}

#[test]
fn without_the_mclt_cap_the_mclt_traces_fail() {
    assert_fails(
        Breakage::NoMcltCap,
        &[
            "s4.4-variant-no-mclt-cap",
            "s7.2-normal-binding-free-active",
            "s8.4.1-variant-pd-no-mclt-wait",
        ],
    );
}

#[test]
fn accepting_every_bndupd_fails_the_figure4_rejection_trace() {
    assert_fails(
        Breakage::AcceptEveryBndupd,
        &["s7.5.4-normal-figure4-local-active-received-expired-reject-outdated"],
    );
}

#[test]
fn ignoring_the_partner_down_command_fails_the_pd_traces() {
    assert_fails(
        Breakage::IgnorePartnerDownCommand,
        &[
            "s8.9-conflict-state-communications-interrupted-potential-conflict",
            "s8.4.1-variant-pd-no-mclt-wait",
        ],
    );
}

#[test]
fn a_server_that_ignores_the_client_s_name_fails_the_name_kept_traces() {
    assert_fails(
        Breakage::IgnoreClientFqdn,
        &[
            "s9.5-ddns-dns-name-kept-on-a-rebind-with-primary",
            "s9.5-ddns-dns-name-kept-on-a-rebind-with-secondary",
        ],
    );
}

#[test]
fn a_server_without_reservations_fails_the_reservation_traces() {
    assert_fails(
        Breakage::IgnoreReservations,
        &[
            "s12-reservations-resv-reserved-address-refused-to-another-client-by-primary",
            "s12-reserved-prefix-resv-reserved-prefix-refused-to-another-client-by-secondary",
            "s12-reservations-resv-reservation-cancelled-on-secondary-with-the-address-free-during-a-partition",
        ],
    );
}

#[test]
fn a_divergence_report_names_trace_step_event_and_difference() {
    let all = corpus();
    let mut sut = InProc::broken(Breakage::NoMcltCap);
    let t = all
        .iter()
        .find(|t| t.trace.id == "s4.4-variant-no-mclt-cap")
        .expect("trace");
    let r = runner::run_trace(&mut sut, t, Compare::default());
    let text = runner::explain(t, &r);
    assert!(
        text.starts_with("DIVERGED s4.4-variant-no-mclt-cap"),
        "{text}"
    );
    assert!(text.contains("at step "), "{text}");
    assert!(text.contains("expected"), "{text}");
    let junit = runner::junit_report("broken", std::slice::from_ref(t), std::slice::from_ref(&r));
    assert!(
        junit.contains("<failure message=\"diverged at step"),
        "{junit}"
    );
    let json = runner::json_report("broken", &[r]);
    assert_eq!(json["failed"], 1);
}

#[test]
fn the_whole_corpus_replays_in_process() {
    let all = corpus();
    let mut sut = InProc::new();
    let t0 = std::time::Instant::now();
    let results = runner::run_all(&mut sut, &all, Compare::default(), |_, _| {});
    let steps: usize = results.iter().map(|r| r.applied).sum();
    let pass = results.iter().filter(|r| r.passed()).count();
    assert!(results
        .iter()
        .all(|r| !matches!(r.outcome, Outcome::Error { .. })));
    assert_eq!(pass, results.len(), "{pass} passed");
    eprintln!(
        "{} traces, {pass} passed, {steps} steps in {:.3} s",
        results.len(),
        t0.elapsed().as_secs_f64()
    );
}

/// The adapter is the network: a partner message crosses the wire when the trace delivers it,
/// so a BNDUPD produced in one tick and delivered in the next is not "skewed" by the tick
/// (RFC 8156 §7.5.1 measures clock skew, not time spent waiting for a `deliver` event).
#[test]
fn a_message_delivered_a_tick_after_it_was_produced_keeps_the_connection() {
    use failover_conformance::mapping::{secs, TICK_SECS};
    use failover_conformance::sut::{ClientOpKind, Sut, SutConfig, SutEvent, SutReply};
    use failover_proto::{BindingStatus, Role, ServerState};

    let prefix = failover_conformance::mapping::prefix(0);
    let cfg = SutConfig {
        mclt: TICK_SECS,
        lifetime: 2 * TICK_SECS,
        startup_time: TICK_SECS,
        auto_partner_down: None,
        addresses: vec![],
        prefixes: vec![prefix.clone()],
        init: "normal".into(),
        backup_prefixes: vec![],
        start_time: secs(1),
        dns: None,
        reservations: Vec::new(),
    };
    let mut sut = InProc::new();
    sut.start(&cfg).expect("start");
    let granted = sut
        .apply(
            secs(1),
            &SutEvent::Client {
                server: Role::Primary,
                client: failover_conformance::mapping::duid(0),
                op: ClientOpKind::Request,
                kind: Some("prefix".into()),
                lease: None,
                fqdn: None,
            },
        )
        .expect("request");
    assert!(
        matches!(granted.reply, Some(SutReply::Granted { ref lease, .. }) if *lease == prefix),
        "{granted:?}"
    );
    let o = sut
        .apply(
            secs(2),
            &SutEvent::Deliver {
                to: Role::Secondary,
            },
        )
        .expect("deliver");
    for s in &o.servers {
        assert_eq!(s.state, Some(ServerState::Normal), "{o:?}");
        assert!(s.comm_ok, "{o:?}");
    }
    let secondary = &o.servers[1].leases;
    assert!(
        secondary
            .iter()
            .any(|l| l.lease == prefix && l.status == BindingStatus::Active),
        "the secondary took the update: {o:?}"
    );
    assert!(
        o.sent
            .iter()
            .any(|m| m.kind == "BNDREPLY" && m.reject.is_none()),
        "{o:?}"
    );
}

#[path = "harness/scenarios.rs"]
mod scenarios;

#[path = "harness/findings.rs"]
mod findings;
