//! An external program as the system under test, speaking JSON lines on its standard input and
//! output (protocol in `conformance/README.md`). The harness owns the clock: every event
//! carries the time.
//!
//! Both sides are here: [`Stdio`] is the harness's end (it starts the program), and [`serve`] is
//! the program's end for any [`Sut`] — `failover sut-stdio` serves our implementation with it,
//! so an adapter written in another language can be tried against a known-good server.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::sut::{Sut, SutConfig, SutError, SutEvent, SutObservation};

/// Protocol version spoken.
pub const PROTOCOL: u32 = 1;

/// A running adapter program.
pub struct Stdio {
    program: String,
    args: Vec<String>,
    cmd: String,
    name: String,
    timeout: Duration,
    proc: Option<Running>,
}

/// One run of the program: its stdin, and its answer lines as a reader thread gets them (so
/// that waiting for one can time out).
struct Running {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<std::io::Result<String>>,
}

#[derive(Deserialize)]
struct Hello {
    name: String,
    protocol: u32,
}

/// How long [`Stdio::spawn`] waits for each answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl Stdio {
    /// Start `program` with `args` and exchange `hello`; wait [`DEFAULT_TIMEOUT`] for each
    /// answer.
    pub fn spawn(program: &str, args: &[String]) -> Result<Stdio, SutError> {
        Stdio::spawn_with_timeout(program, args, DEFAULT_TIMEOUT)
    }

    /// Start `program` with `args` and exchange `hello`. A request the program does not
    /// answer within `timeout` is an error; the program is then stopped, and started again
    /// (with a new `hello`) at the next `start`, so that one trace that hangs it does not stop
    /// the run.
    pub fn spawn_with_timeout(
        program: &str,
        args: &[String],
        timeout: Duration,
    ) -> Result<Stdio, SutError> {
        let cmd = std::iter::once(program.to_string())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let mut s = Stdio {
            program: program.to_string(),
            args: args.to_vec(),
            cmd,
            name: String::new(),
            timeout,
            proc: None,
        };
        s.launch()?;
        Ok(s)
    }

    fn launch(&mut self) -> Result<(), SutError> {
        let program = &self.program;
        let mut child = Command::new(program)
            .args(&self.args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .map_err(|e| SutError(format!("cannot start the SUT program {program:?}: {e}")))?;
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || loop {
            let mut line = String::new();
            let r = stdout.read_line(&mut line);
            let end = matches!(r, Ok(0) | Err(_));
            if tx.send(r.map(|_| line)).is_err() || end {
                break;
            }
        });
        self.proc = Some(Running {
            child,
            stdin,
            lines,
        });
        let v = self.call(&json!({"type": "hello", "protocol": PROTOCOL}))?;
        let h: Hello = serde_json::from_value(v.clone()).map_err(|e| {
            SutError(format!(
                "{}: the answer to hello must be {{\"name\": ..., \"protocol\": {PROTOCOL}}} ({e}); got {v}",
                self.cmd
            ))
        })?;
        if h.protocol != PROTOCOL {
            return Err(SutError(format!(
                "{}: speaks protocol {}, the harness speaks {PROTOCOL}",
                self.cmd, h.protocol
            )));
        }
        self.name = h.name;
        Ok(())
    }

    /// Stop the program (it will be started again at the next `start`).
    fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }

    fn call(&mut self, req: &serde_json::Value) -> Result<serde_json::Value, SutError> {
        let line = req.to_string();
        let cmd = self.cmd.clone();
        let Some(p) = self.proc.as_mut() else {
            return Err(SutError(format!("{cmd}: the program is not running")));
        };
        if let Err(e) = writeln!(p.stdin, "{line}").and_then(|_| p.stdin.flush()) {
            self.stop();
            return Err(SutError(format!("{cmd}: cannot write to the program: {e}")));
        }
        let answer = match p.lines.recv_timeout(self.timeout) {
            Ok(Ok(a)) if !a.is_empty() => a,
            Ok(Err(e)) => {
                self.stop();
                return Err(SutError(format!(
                    "{cmd}: cannot read from the program: {e}"
                )));
            }
            Err(RecvTimeoutError::Timeout) => {
                self.stop();
                return Err(SutError(format!(
                    "{cmd}: timed out: no answer within {:.1} s to {line} (the program was stopped; it is started again for the next trace)",
                    self.timeout.as_secs_f64()
                )));
            }
            Ok(Ok(_)) | Err(RecvTimeoutError::Disconnected) => {
                // The program closed its output: give it a moment to exit, to report its status.
                let mut status = None;
                for _ in 0..100 {
                    status = p.child.try_wait().ok().flatten();
                    if status.is_some() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                // "exit status: 0" is how the standard library writes an exit status already.
                let status = status.map_or("still running".to_string(), |s| s.to_string());
                self.stop();
                return Err(SutError(format!(
                    "{cmd}: closed its output instead of answering {line} ({status})"
                )));
            }
        };
        let v: serde_json::Value = serde_json::from_str(answer.trim()).map_err(|e| {
            SutError(format!(
                "{cmd}: answered with a line that is not JSON ({e}): {:?}",
                answer.trim()
            ))
        })?;
        if let Some(err) = v.get("error") {
            return Err(SutError(format!("{cmd}: reported an error: {err}")));
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
        // Stop our own child.
        self.stop();
    }
}

impl Sut for Stdio {
    fn name(&self) -> String {
        format!("{} (`{}`)", self.name, self.cmd)
    }

    fn start(&mut self, cfg: &SutConfig) -> Result<SutObservation, SutError> {
        if self.proc.is_none() {
            self.launch()?;
        }
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
/// line each, until the input ends. A request that cannot be parsed (not UTF-8, not JSON, not
/// an object, an unknown type or field), or comes out of order (`start` before `hello`, an
/// event before a `start` that was accepted, a time that goes back), is answered
/// `{"error": ...}` naming the problem, and serving goes on; only an I/O error ends it.
pub fn serve(
    sut: &mut dyn Sut,
    name: &str,
    mut input: impl BufRead,
    mut output: impl Write,
) -> std::io::Result<()> {
    let mut greeted = false;
    // None: no start yet; Some(false): the last start was refused.
    let mut started: Option<bool> = None;
    let mut last_time = 0;
    let mut bytes = Vec::new();
    for n in 1.. {
        bytes.clear();
        if input.read_until(b'\n', &mut bytes)? == 0 {
            break;
        }
        let answer = match std::str::from_utf8(&bytes) {
            Err(e) => json!({
                "error": format!("line {n}: not UTF-8 text ({e})")
            }),
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => request(
                line,
                n,
                sut,
                name,
                &mut greeted,
                &mut started,
                &mut last_time,
            ),
        };
        writeln!(output, "{answer}")?;
        output.flush()?;
    }
    Ok(())
}

/// The answer to one request line.
fn request(
    line: &str,
    n: usize,
    sut: &mut dyn Sut,
    name: &str,
    greeted: &mut bool,
    started: &mut Option<bool>,
    last_time: &mut u64,
) -> serde_json::Value {
    let err = |m: String| json!({ "error": format!("line {n}: {m}") });
    let v: serde_json::Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return err(format!(
                "not a request of protocol {PROTOCOL}: not JSON ({e})"
            ))
        }
    };
    if !v.is_object() {
        return err(format!(
            "not a request of protocol {PROTOCOL}: a request is a JSON object with a \"type\", got {v}"
        ));
    }
    let de = &mut serde_json::Deserializer::from_str(line);
    let req: Request = match serde_path_to_error::deserialize(de) {
        Ok(r) => r,
        Err(e) => {
            let path = e.path().to_string();
            let at = if path == "." {
                String::new()
            } else {
                format!("field \"{path}\": ")
            };
            return err(format!(
                "not a request of protocol {PROTOCOL}: {at}{}",
                e.inner()
            ));
        }
    };
    match req {
        Request::Hello { protocol } if protocol != PROTOCOL => json!({
            "error": format!("this server speaks protocol {PROTOCOL}, not {protocol}")
        }),
        Request::Hello { .. } => {
            *greeted = true;
            json!({"name": name, "protocol": PROTOCOL})
        }
        Request::Start { .. } if !*greeted => {
            err("start before hello: send {\"type\": \"hello\", \"protocol\": 1} first".into())
        }
        Request::Start { config } => {
            *last_time = 0;
            let r = sut.start(&config);
            *started = Some(r.is_ok());
            answer(r)
        }
        Request::Event { .. } if *started == Some(false) => err(
            "an event after a refused configuration: the last start was refused; send a start that is accepted first".into(),
        ),
        Request::Event { .. } if started.is_none() => {
            err("an event before the first start".into())
        }
        Request::Event { time, .. } if time < *last_time => err(format!(
            "time goes back: {time} after {last_time}"
        )),
        Request::Event { time, event } => {
            *last_time = time;
            answer(sut.apply(time, &event))
        }
    }
}

fn answer(r: Result<SutObservation, SutError>) -> serde_json::Value {
    match r {
        Ok(o) => json!({ "observation": o }),
        Err(e) => json!({ "error": e.0 }),
    }
}
