//! Issue 16, interop mode (`failover conform --interop`, conformance/src/wire/interop.rs): our
//! `failover serve` as the real partner of a `failover serve` under test, through the harness's
//! relay, with partitions and restarts. Green against the correct server; against one broken with
//! `no-mclt-cap-when-interrupted` and `reuse-lease-when-interrupted` (impl/daemon/src/breakage.rs:
//! correct in NORMAL; while the partner is unreachable, too long a lifetime, and the first lease
//! granted told to every later client) the `4.4/mclt-bound` and `4/no-duplicate` verdicts fail and
//! name the clients, the address and the round.
//!
//! Small MCLT (2 s) and rounds of 3 s keep each run near ten seconds; the two runs go side by side,
//! the correct SUT as secondary, the broken one as primary.

use std::time::Duration;

use failover_conformance::wire::interop::{self, Event, InteropOptions, InteropRun};
use failover_conformance::wire::{self, Verdict};
use failover_proto::Role;

use super::wire::{start, Sut};
use super::BIN;

/// A seed whose schedule of `rounds` has a partition, a crash of the SUT and a connected round
/// (the schedule is a pure function of the seed, so this is the same seed on every run).
fn seed_with_partition_crash_and_calm(rounds: u32) -> u64 {
    (0..1000)
        .find(|&s| {
            let sch = interop::schedule(rounds, s, true);
            [Event::Partition, Event::RestartSut, Event::Connected]
                .iter()
                .all(|e| sch.contains(e))
        })
        .expect("some seed draws all three")
}

fn interop_run(sut: &Sut, rounds: u32, seed: u64) -> InteropRun {
    let child = sut.child.clone();
    let spawn = sut.spawn.clone();
    let work = sut._dir.path().join("interop-partner");
    let restart: Box<dyn FnMut() -> Result<(), String>> = Box::new(move || {
        let mut c = child.lock().map_err(|_| "poisoned")?;
        if let Some(mut old) = c.take() {
            old.kill().map_err(|e| e.to_string())?;
            old.wait().map_err(|e| e.to_string())?;
        }
        *c = Some(spawn());
        Ok(())
    });
    interop::run(
        &sut.cfg,
        InteropOptions {
            serve_bin: BIN.into(),
            rounds,
            seed,
            clients: 2,
            round_time: Duration::from_secs(3),
            settle: Duration::from_secs(20),
            sut_restart: Some(restart),
            work_dir: work,
            keep: true,
        },
    )
    .unwrap()
}

fn sut_mclt(sut: &Sut) -> u32 {
    sut.cfg.mclt
}

fn verdict<'a>(run: &'a InteropRun, id: &str) -> &'a Verdict {
    &run.results
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no verdict {id}"))
        .verdict
}

#[test]
fn interop_passes_with_a_correct_server_and_catches_one_that_breaks_the_mclt_and_duplicates_when_partitioned(
) {
    // The correct SUT is the secondary: our serve (primary) connects to the relay, the relay to
    // it. The broken one is the primary (the other way round): both relay paths are covered.
    let good = start(Role::Secondary, None);
    let bad = start(
        Role::Primary,
        Some("no-mclt-cap-when-interrupted,reuse-lease-when-interrupted"),
    );
    let seed = seed_with_partition_crash_and_calm(3);
    let (good_run, bad_run) = std::thread::scope(|s| {
        let g = s.spawn(|| interop_run(&good, 3, seed));
        // One round: the schedule always holds a partition.
        let b = s.spawn(|| interop_run(&bad, 1, 7));
        (g.join().unwrap(), b.join().unwrap())
    });
    let text = interop::summary("failover serve", &good_run);
    assert_eq!(wire::exit_code(&good_run.results), 0, "{text}");
    assert_eq!(wire::totals(&good_run.results).passed, 3, "{text}");
    // The run did what it says: clients served by both servers, a partition, a crash of the
    // SUT, partner traffic through the relay on more than one connection.
    assert!(
        good_run.grants.iter().any(|g| g.server == "sut")
            && good_run.grants.iter().any(|g| g.server == "partner"),
        "{text}"
    );
    let events: Vec<Event> = good_run.rounds.iter().map(|r| r.event).collect();
    assert!(
        events.contains(&Event::Partition) && events.contains(&Event::RestartSut),
        "{events:?}"
    );
    assert!(good_run.connections >= 2, "{text}");
    // In the connected round a RENEW after the acknowledged BNDUPD got more than the MCLT: the
    // bound was judged against an acknowledged partner lifetime, not only against "now + MCLT".
    assert!(
        good_run
            .grants
            .iter()
            .any(|g| g.valid > sut_mclt(&good) + 2),
        "{text}\n{:?}",
        good_run.grants
    );
    // --pcap: the relayed octets read back as failover messages.
    let cap = failover_conformance::capture::read_capture(&good_run.pcap().unwrap(), 647).unwrap();
    assert!(cap.messages.len() >= 20, "{} messages", cap.messages.len());

    let text = interop::summary("failover serve (broken)", &bad_run);
    assert_eq!(wire::exit_code(&bad_run.results), 1, "{text}");
    match verdict(&bad_run, "4.4/mclt-bound") {
        Verdict::Fail { observed, .. } => {
            // The evidence names the server, the round and the lifetime the broken SUT gave.
            assert!(
                observed.contains("round 0: sut gave 2001:db8:1::")
                    && observed.contains("for 30 s"),
                "{observed}"
            );
        }
        other => panic!("4.4/mclt-bound: {other:?}\n{text}"),
    }
    // The second breakage: two of the partition round's clients were told one address.
    match verdict(&bad_run, "4/no-duplicate") {
        Verdict::Fail { observed, .. } => {
            assert!(
                observed.contains("2001:db8:1::")
                    && observed.contains("both held it")
                    && observed.contains("round 0"),
                "{observed}"
            );
        }
        other => panic!("4/no-duplicate: {other:?}\n{text}"),
    }
    // Only those: the broken server still reaches NORMAL.
    assert_eq!(verdict(&bad_run, "8/pair-normal"), &Verdict::Pass, "{text}");
}
