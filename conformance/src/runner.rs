//! Loading traces, replaying them against a [`Sut`], and the reports: a summary table, JSON
//! and JUnit XML.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use failover_trace::{Event, Observation};
use serde::Serialize;

/// Loading: the trace format's own (`failover-trace`), here because a run starts with it.
pub use failover_trace::{load_dir, load_file, parse, scan_dir, Loaded};

use crate::mapping::{self, Compare, Mapping};
use crate::sut::Sut;

/// Keep the traces that carry every one of `tags` (all when empty).
pub fn filter_tags(traces: Vec<Loaded>, tags: &[String]) -> Vec<Loaded> {
    traces
        .into_iter()
        .filter(|t| tags.iter().all(|g| t.trace.tags.contains(g)))
        .collect()
}

/// The first divergence of a trace.
#[derive(Clone, Debug, Serialize)]
pub struct Divergence {
    /// Step number (from 1; 0 for the initial state).
    pub step: usize,
    /// The event of the step, as in the trace (JSON).
    pub event: serde_json::Value,
    /// The tick.
    pub time: u8,
    /// What was expected.
    pub expected: Observation,
    /// What the SUT showed.
    pub actual: Observation,
    /// The differences, one line each.
    pub diff: Vec<String>,
}

/// How one trace went.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum Outcome {
    /// Every step agreed.
    Pass,
    /// The SUT diverged.
    Fail(Box<Divergence>),
    /// The SUT could not run the trace (crashed, spoke the protocol wrongly, refused it).
    Error {
        /// Step at which it happened (0: start).
        step: usize,
        /// What happened.
        message: String,
    },
}

/// The result of one trace.
#[derive(Clone, Debug, Serialize)]
pub struct TraceResult {
    /// Trace id.
    pub id: String,
    /// File.
    pub file: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Steps in the trace.
    pub steps: usize,
    /// Steps applied.
    pub applied: usize,
    /// Wall time.
    #[serde(serialize_with = "secs")]
    pub elapsed: Duration,
    /// The outcome.
    pub outcome: Outcome,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e6)
}

impl TraceResult {
    /// Passed.
    pub fn passed(&self) -> bool {
        matches!(self.outcome, Outcome::Pass)
    }
}

/// Replay one trace.
pub fn run_trace(sut: &mut dyn Sut, t: &Loaded, cmp: Compare) -> TraceResult {
    let t0 = Instant::now();
    let tr = &t.trace;
    let mut map = Mapping::new(&tr.config);
    let mut result = TraceResult {
        id: tr.id.clone(),
        file: t.path.display().to_string(),
        tags: tr.tags.clone(),
        steps: tr.steps.len(),
        applied: 0,
        elapsed: Duration::ZERO,
        outcome: Outcome::Pass,
    };
    let finish = |mut r: TraceResult, o: Outcome| {
        r.outcome = o;
        r.elapsed = t0.elapsed();
        r
    };
    let obs = match sut.start(&map.sut_config()) {
        Ok(o) => o,
        Err(e) => {
            return finish(
                result,
                Outcome::Error {
                    step: 0,
                    message: e.to_string(),
                },
            )
        }
    };
    if obs.servers.len() != 2 {
        return finish(
            result,
            Outcome::Error {
                step: 0,
                message: format!("the SUT reported {} servers, not 2", obs.servers.len()),
            },
        );
    }
    let actual = map.observation(&obs);
    let diff = mapping::compare(&tr.initial, &actual, cmp);
    if !diff.is_empty() {
        return finish(
            result,
            Outcome::Fail(Box::new(Divergence {
                step: 0,
                event: serde_json::json!({"type": "start"}),
                time: 1,
                expected: tr.initial.clone(),
                actual,
                diff,
            })),
        );
    }
    // Messages of steps whose comparison is deferred (followed by `timers`).
    let mut pending_expected = Vec::new();
    let mut pending_actual = Vec::new();
    for (k, step) in tr.steps.iter().enumerate() {
        let ev = match map.event(&step.event) {
            Ok(e) => e,
            Err(m) => {
                return finish(
                    result,
                    Outcome::Error {
                        step: step.step,
                        message: m,
                    },
                )
            }
        };
        let obs = match sut.apply(mapping::secs(step.time), &ev) {
            Ok(o) if o.servers.len() == 2 => o,
            Ok(o) => {
                return finish(
                    result,
                    Outcome::Error {
                        step: step.step,
                        message: format!("the SUT reported {} servers, not 2", o.servers.len()),
                    },
                )
            }
            Err(e) => {
                return finish(
                    result,
                    Outcome::Error {
                        step: step.step,
                        message: e.to_string(),
                    },
                )
            }
        };
        result.applied += 1;
        map.client_side(&step.event, step.time, obs.reply.as_ref());
        let mut actual = map.observation(&obs);
        let deferred = tr
            .steps
            .get(k + 1)
            .is_some_and(|n| matches!(n.event, Event::Timers { .. }));
        pending_expected.extend(step.expect.sent.iter().cloned());
        pending_actual.extend(actual.sent.iter().cloned());
        if deferred {
            continue;
        }
        let mut expected = step.expect.clone();
        expected.sent = std::mem::take(&mut pending_expected);
        expected.sent.sort();
        actual.sent = std::mem::take(&mut pending_actual);
        actual.sent.sort();
        let diff = mapping::compare(&expected, &actual, cmp);
        if !diff.is_empty() {
            return finish(
                result,
                Outcome::Fail(Box::new(Divergence {
                    step: step.step,
                    event: serde_json::to_value(&step.event).unwrap_or_default(),
                    time: step.time,
                    expected,
                    actual,
                    diff,
                })),
            );
        }
    }
    finish(result, Outcome::Pass)
}

/// Replay many traces, calling `progress` after each.
pub fn run_all(
    sut: &mut dyn Sut,
    traces: &[Loaded],
    cmp: Compare,
    mut progress: impl FnMut(usize, &TraceResult),
) -> Vec<TraceResult> {
    let mut out = Vec::new();
    for (k, t) in traces.iter().enumerate() {
        let r = run_trace(sut, t, cmp);
        progress(k, &r);
        out.push(r);
    }
    out
}

/// The divergence of a failed trace, for people: trace, step, event, the differences, then
/// the expected and actual observations side by side.
pub fn explain(t: &Loaded, r: &TraceResult) -> String {
    let mut s = String::new();
    match &r.outcome {
        Outcome::Pass => {
            let _ = writeln!(s, "{}: passed ({} steps)", r.id, r.steps);
        }
        Outcome::Error { step, message } => {
            let _ = writeln!(s, "ERROR {} ({}) at step {step}: {message}", r.id, r.file);
        }
        Outcome::Fail(d) => {
            let _ = writeln!(s, "DIVERGED {} ({})", r.id, r.file);
            let _ = writeln!(s, "  {}", t.trace.title);
            let _ = writeln!(
                s,
                "  at step {} of {} [t{}]: {}",
                d.step,
                r.steps,
                d.time,
                serde_json::to_string(&d.event).unwrap_or_default()
            );
            for k in d.step.saturating_sub(3)..d.step.saturating_sub(1) {
                if let Some(p) = t.trace.steps.get(k) {
                    let _ = writeln!(
                        s,
                        "    (step {} [t{}] {})",
                        p.step,
                        p.time,
                        serde_json::to_string(&p.event).unwrap_or_default()
                    );
                }
            }
            let _ = writeln!(s, "  differences:");
            for line in &d.diff {
                let _ = writeln!(s, "    - {line}");
            }
            let exp = obs_lines(&d.expected);
            let act = obs_lines(&d.actual);
            let _ = writeln!(s, "  {:<58} | actual", "expected");
            for k in 0..exp.len().max(act.len()) {
                let e = exp.get(k).map_or("", |x| x.as_str());
                let a = act.get(k).map_or("", |x| x.as_str());
                let mark = if e == a { ' ' } else { '*' };
                let _ = writeln!(s, "{mark} {e:<58} | {a}");
            }
        }
    }
    s
}

fn obs_lines(o: &Observation) -> Vec<String> {
    let mut v = Vec::new();
    for (k, s) in o.servers.iter().enumerate() {
        let r = if k == 0 { "P" } else { "S" };
        if !s.up {
            v.push(format!("{r} down"));
            continue;
        }
        v.push(format!(
            "{r} {} comm {}",
            s.state.map_or("?".into(), |x| x.to_string()),
            if s.comm_ok { "OK" } else { "not OK" }
        ));
        for l in &s.leases {
            let mut t = format!("{r} {} {}", l.lease, l.status);
            if l.status == failover_proto::BindingStatus::Active {
                if let Some(c) = l.client {
                    t += &format!(" c{c}");
                }
                if let Some(x) = l.expiry {
                    t += &format!(" until t{x}");
                }
            }
            v.push(t);
        }
    }
    for (c, h) in o.clients.iter().enumerate() {
        v.push(match h {
            None => format!("c{c} holds nothing"),
            Some(h) => format!(
                "c{c} holds {} until t{} from {}",
                h.lease, h.expiry, h.server
            ),
        });
    }
    for m in &o.sent {
        v.push(format!("sent: {}", mapping::msg_text(m)));
    }
    v
}

/// The summary table.
pub fn summary(results: &[TraceResult]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{:<8} {:>6} {:>8}  trace", "result", "steps", "ms");
    for r in results {
        let (word, at) = match &r.outcome {
            Outcome::Pass => ("pass", String::new()),
            Outcome::Fail(d) => ("FAIL", format!(" (step {})", d.step)),
            Outcome::Error { step, .. } => ("ERROR", format!(" (step {step})")),
        };
        let _ = writeln!(
            s,
            "{:<8} {:>6} {:>8.1}  {}{}",
            word,
            r.steps,
            r.elapsed.as_secs_f64() * 1000.0,
            r.id,
            at
        );
    }
    let pass = results.iter().filter(|r| r.passed()).count();
    let fail = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Fail(_)))
        .count();
    let steps: usize = results.iter().map(|r| r.applied).sum();
    let _ = writeln!(
        s,
        "{} traces: {pass} passed, {fail} diverged, {} errors; {steps} steps applied",
        results.len(),
        results.len() - pass - fail
    );
    s
}

/// The JSON report.
pub fn json_report(sut: &str, results: &[TraceResult]) -> serde_json::Value {
    let pass = results.iter().filter(|r| r.passed()).count();
    serde_json::json!({
        "sut": sut,
        "traces": results.len(),
        "passed": pass,
        "failed": results.len() - pass,
        "results": results,
    })
}

/// Escape text for XML attributes and content.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The JUnit XML report: one test case per trace, named by its id, classname its first tag.
pub fn junit_report(sut: &str, traces: &[Loaded], results: &[TraceResult]) -> String {
    let failures = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Fail(_)))
        .count();
    let errors = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Error { .. }))
        .count();
    let total: f64 = results.iter().map(|r| r.elapsed.as_secs_f64()).sum();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuite name=\"rfc8156-conformance ({})\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{total:.3}\">",
        xml_escape(sut),
        results.len()
    );
    for (t, r) in traces.iter().zip(results) {
        let _ = write!(
            s,
            "  <testcase classname=\"rfc8156.{}\" name=\"{}\" time=\"{:.3}\"",
            xml_escape(r.tags.first().map_or("trace", |x| x.as_str())),
            xml_escape(&r.id),
            r.elapsed.as_secs_f64()
        );
        match &r.outcome {
            Outcome::Pass => s.push_str("/>\n"),
            Outcome::Fail(d) => {
                let _ = writeln!(
                    s,
                    ">\n    <failure message=\"diverged at step {}: {}\">{}</failure>\n  </testcase>",
                    d.step,
                    xml_escape(d.diff.first().map_or("", |x| x.as_str())),
                    xml_escape(&explain(t, r))
                );
            }
            Outcome::Error { step, message } => {
                let _ = writeln!(
                    s,
                    ">\n    <error message=\"step {step}: {}\"/>\n  </testcase>",
                    xml_escape(message)
                );
            }
        }
    }
    s.push_str("</testsuite>\n");
    s
}
