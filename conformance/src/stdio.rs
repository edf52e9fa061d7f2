//! An external program as the system under test, speaking JSON lines on its standard input and
//! output (protocol in `conformance/README.md`). The harness owns the clock: every event
//! carries the time.
//!
//! Both sides are here: [`Stdio`] is the harness's end (it starts the program), and [`serve`] is
//! the program's end for any [`Sut`] — `failover sut-stdio` serves our implementation with it,
//! so an adapter written in another language can be tried against a known-good server.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command};

use serde::Deserialize;
use serde_json::json;

use crate::sut::{Sut, SutConfig, SutError, SutEvent, SutObservation};

/// Protocol version spoken.
pub const PROTOCOL: u32 = 1;

/// A running adapter program.
pub struct Stdio {
    cmd: String,
    name: String,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

#[derive(Deserialize)]
struct Hello {
    name: String,
    protocol: u32,
}

impl Stdio {
    /// Start `program` with `args` and exchange `hello`.
    pub fn spawn(program: &str, args: &[String]) -> Result<Stdio, SutError> {
        let cmd = std::iter::once(program.to_string())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .map_err(|e| SutError(format!("cannot start the SUT program {program:?}: {e}")))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut s = Stdio {
            cmd,
            name: String::new(),
            child,
            stdin,
            stdout,
        };
        let v = s.call(&json!({"type": "hello", "protocol": PROTOCOL}))?;
        let h: Hello = serde_json::from_value(v.clone()).map_err(|e| {
            SutError(format!(
                "{}: the answer to hello must be {{\"name\": ..., \"protocol\": {PROTOCOL}}} ({e}); got {v}",
                s.cmd
            ))
        })?;
        if h.protocol != PROTOCOL {
            return Err(SutError(format!(
                "{}: speaks protocol {}, the harness speaks {PROTOCOL}",
                s.cmd, h.protocol
            )));
        }
        s.name = h.name;
        Ok(s)
    }

    fn call(&mut self, req: &serde_json::Value) -> Result<serde_json::Value, SutError> {
        let line = req.to_string();
        writeln!(self.stdin, "{line}")
            .and_then(|_| self.stdin.flush())
            .map_err(|e| SutError(format!("{}: cannot write to the program: {e}", self.cmd)))?;
        let mut answer = String::new();
        let n = self
            .stdout
            .read_line(&mut answer)
            .map_err(|e| SutError(format!("{}: cannot read from the program: {e}", self.cmd)))?;
        if n == 0 {
            // The program closed its output: give it a moment to exit, to report its status.
            let mut status = None;
            for _ in 0..100 {
                status = self.child.try_wait().ok().flatten();
                if status.is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let status = status.map_or("still running".to_string(), |s| s.to_string());
            return Err(SutError(format!(
                "{}: closed its output instead of answering {line} (exit status: {status})",
                self.cmd
            )));
        }
        let v: serde_json::Value = serde_json::from_str(answer.trim()).map_err(|e| {
            SutError(format!(
                "{}: answered with a line that is not JSON ({e}): {:?}",
                self.cmd,
                answer.trim()
            ))
        })?;
        if let Some(err) = v.get("error") {
            return Err(SutError(format!("{}: reported an error: {err}", self.cmd)));
        }
        Ok(v)
    }

    fn observation(&mut self, req: serde_json::Value) -> Result<SutObservation, SutError> {
        let v = self.call(&req)?;
        let o = v.get("observation").ok_or_else(|| {
            SutError(format!(
                "{}: the answer has no \"observation\" field: {v}",
                self.cmd
            ))
        })?;
        serde_json::from_value(o.clone())
            .map_err(|e| SutError(format!("{}: malformed observation ({e}): {o}", self.cmd)))
    }
}

impl Drop for Stdio {
    fn drop(&mut self) {
        // Closing stdin tells the program to stop; wait briefly, then kill our own child.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sut for Stdio {
    fn name(&self) -> String {
        format!("{} (`{}`)", self.name, self.cmd)
    }

    fn start(&mut self, cfg: &SutConfig) -> Result<SutObservation, SutError> {
        self.observation(json!({"type": "start", "config": cfg}))
    }

    fn apply(&mut self, time: u64, event: &SutEvent) -> Result<SutObservation, SutError> {
        self.observation(json!({"type": "event", "time": time, "event": event}))
    }
}

/// A request of the protocol, as the program's end reads it.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
enum Request {
    Hello { protocol: u32 },
    Start { config: SutConfig },
    Event { time: u64, event: SutEvent },
}

/// The program's end of the protocol: answer each request line of `input` on `output`, one
/// line each, until the input ends. A request that cannot be parsed, or comes out of order (an
/// event before `start`, a time that goes back), is answered `{"error": ...}` naming the
/// problem, and serving goes on.
pub fn serve(
    sut: &mut dyn Sut,
    name: &str,
    input: impl BufRead,
    mut output: impl Write,
) -> std::io::Result<()> {
    let mut started = false;
    let mut last_time = 0;
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<Request>(&line) {
            Err(e) => json!({
                "error": format!("line {}: not a request of protocol {PROTOCOL}: {e}", n + 1)
            }),
            Ok(Request::Hello { protocol }) if protocol != PROTOCOL => json!({
                "error": format!("this server speaks protocol {PROTOCOL}, not {protocol}")
            }),
            Ok(Request::Hello { .. }) => json!({"name": name, "protocol": PROTOCOL}),
            Ok(Request::Start { config }) => {
                started = true;
                last_time = 0;
                answer(sut.start(&config))
            }
            Ok(Request::Event { .. }) if !started => {
                json!({"error": "an event before the first start"})
            }
            Ok(Request::Event { time, .. }) if time < last_time => json!({
                "error": format!("time goes back: {time} after {last_time}")
            }),
            Ok(Request::Event { time, event }) => {
                last_time = time;
                answer(sut.apply(time, &event))
            }
        };
        writeln!(output, "{answer}")?;
        output.flush()?;
    }
    Ok(())
}

fn answer(r: Result<SutObservation, SutError>) -> serde_json::Value {
    match r {
        Ok(o) => json!({ "observation": o }),
        Err(e) => json!({ "error": e.0 }),
    }
}
