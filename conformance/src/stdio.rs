//! An external program as the system under test, speaking JSON lines on its standard input and
//! output (protocol in `conformance/README.md`). The harness owns the clock: every event
//! carries the time.

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
            let status = self
                .child
                .try_wait()
                .ok()
                .flatten()
                .map_or("still running".to_string(), |s| s.to_string());
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
