//! `failover explore`: stateright's Explorer serving the model on 127.0.0.1. The HTTP API is
//! checked directly (states and actions read as the RFC names them), then a real browser
//! (headless Chromium) loads the page, follows a path of actions, and a screenshot is kept in
//! the target directory. Without Chromium the browser part is skipped with a message;
//! `.ci/run` installs Debian's chromium so that CI runs it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Explorer(Child);

impl Drop for Explorer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(port: u16) -> Explorer {
    start_with(port, &["--clients", "1"])
}

fn start_with(port: u16, config: &[&str]) -> Explorer {
    let child = Command::new(env!("CARGO_BIN_EXE_failover"))
        .args(["explore", "--port", &port.to_string()])
        .args(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("failover explore starts");
    let e = Explorer(child);
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the explorer never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    e
}

fn get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FAILOVER_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

fn browser(chromium: &Path, profile: &Path, extra: &[&str], url: &str) -> Vec<u8> {
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn the_explorer_serves_the_model_and_a_browser_follows_a_path() {
    let port = free_port();
    let _explorer = start(port);

    // The API: the steps from the initial state, named as the RFC names things.
    let first = get(port, "/.states/0");
    assert!(first.starts_with("HTTP/1."), "{first}");
    let json = &first[first.find("\r\n\r\n").unwrap() + 4..];
    let steps: serde_json::Value = serde_json::from_str(json).expect("JSON");
    let steps = steps.as_array().expect("a list of steps");
    let actions: Vec<&str> = steps.iter().filter_map(|s| s["action"].as_str()).collect();
    let partition = actions
        .iter()
        .position(|a| *a == "network partition: the connection is lost")
        .unwrap_or_else(|| panic!("{actions:?}"));
    assert!(
        actions.contains(&"c0 asks primary for a new prefix"),
        "{actions:?}"
    );
    let outcome = steps[partition]["outcome"].as_str().unwrap();
    assert!(
        outcome.contains("primary: NORMAL -> COMMUNICATIONS-INTERRUPTED"),
        "{outcome}"
    );
    // The chart of the path comes with each step.
    assert!(steps[partition]["svg"]
        .as_str()
        .unwrap()
        .contains("link down (partition)"));

    // The browser: load the page at "partition, then the first action after it".
    let Some(chromium) = chromium() else {
        eprintln!(
            "SKIPPED the browser part: no Chromium found (install Debian's `chromium`, as .ci/run \
             does, or set FAILOVER_CHROMIUM)"
        );
        return;
    };
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let profile = tmp.join(format!("chromium-profile-{port}"));
    let url = format!("http://127.0.0.1:{port}/#/steps/0/{partition}/0");
    let dom = String::from_utf8(browser(&chromium, &profile, &["--dump-dom"], &url)).unwrap();
    assert!(dom.contains("Stateright Explorer"), "{dom}");
    assert!(
        dom.contains("network partition: the connection is lost"),
        "{dom}"
    );
    assert!(
        dom.contains("Always no address or prefix is held by two clients"),
        "{dom}"
    );
    let shot = tmp.join("explorer.png");
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    browser(
        &chromium,
        &profile,
        &[&arg, "--window-size=1400,1000"],
        &url,
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    eprintln!("screenshot kept at {}", shot.display());
    let _ = std::fs::remove_dir_all(&profile);
}

#[test]
fn a_port_in_use_is_named() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let out = Command::new(env!("CARGO_BIN_EXE_failover"))
        .args(["explore", "--port", &port.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}

/// The body of an HTTP answer, parsed as JSON.
fn json_of(answer: &str) -> serde_json::Value {
    assert!(
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
        "{answer}"
    );
    serde_json::from_str(&answer[answer.find("\r\n\r\n").unwrap() + 4..]).expect("JSON")
}

#[test]
fn check_links_its_counterexample_to_the_explorer_and_the_explorer_names_property_kinds() {
    // A small variant's counterexample (seconds): check prints the explore command and the
    // address of the counterexample's last state.
    let out = Command::new(env!("CARGO_BIN_EXE_failover"))
        .args([
            "check",
            "--variant",
            "state-before-updates",
            "--stop-on-violation",
            "--threads",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let (_, after) = stdout
        .split_once("Step through it in the Explorer: run `failover explore ")
        .unwrap_or_else(|| panic!("no Explorer link in {stdout}"));
    let (command, after) = after.split_once("`, then open\n  ").unwrap();
    let url = after.lines().next().unwrap();
    let args: Vec<&str> = command.split(' ').collect();
    assert_eq!(
        args[..2],
        ["--variant", "state-before-updates"],
        "{command}"
    );
    assert_eq!(args[args.len() - 2..], ["--port", "3000"], "{command}");
    let path = url
        .strip_prefix("http://127.0.0.1:3000/#/steps")
        .unwrap_or_else(|| panic!("{url}"));
    let final_state = stdout
        .split_once("Final state:\n")
        .unwrap()
        .1
        .split("\nWhat is wrong: ")
        .next()
        .unwrap();

    // The same command on another port: the link's action indices lead to the same state.
    let port = free_port();
    let _explorer = start_with(port, &args[..args.len() - 2]);
    let (parent, last) = path.rsplit_once('/').unwrap();
    let last: usize = last.parse().unwrap();
    let steps = json_of(&get(port, &format!("/.states{parent}")));
    let step = &steps[last];
    assert_eq!(step["state"].as_str(), Some(final_state), "{step}");
    assert_eq!(
        step["action"].as_str(),
        Some("c1 asks primary for a new prefix")
    );
    // Its chart marks the violation, and draws the secondary's BNDUPD still in flight.
    let svg = step["svg"].as_str().unwrap();
    assert!(
        svg.contains("VIOLATED after step 17: c0 and c1 both hold P0"),
        "{svg}"
    );
    assert!(svg.contains("BNDUPD P0 ACTIVE") && svg.contains("still in flight at the end"));
    assert!(json_of(&get(port, &format!("/.states{path}"))).is_array());

    // Properties are listed with their kind, the bounded-liveness ones as such.
    let status = json_of(&get(port, "/.status"));
    let names: Vec<&str> = status["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"after faults stop both servers reach NORMAL — bounded liveness, judged at every settled end (faults over, settle time run out)"),
        "{names:?}"
    );
    assert!(
        names.contains(&"no address or prefix is held by two clients — safety"),
        "{names:?}"
    );
    assert!(names.contains(&"reach NORMAL — reachability"), "{names:?}");

    // The initial state's chart says what it is.
    let init = json_of(&get(port, "/.states"));
    assert!(init[0]["svg"]
        .as_str()
        .unwrap()
        .contains("the initial state (init normal: both servers NORMAL and connected)"));

    // In a browser, the link opens on that state, its chart marked.
    let Some(chromium) = chromium() else {
        eprintln!(
            "SKIPPED the browser part: no Chromium found (install Debian's `chromium`, as .ci/run \
             does, or set FAILOVER_CHROMIUM)"
        );
        return;
    };
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let profile = tmp.join(format!("chromium-profile-{port}"));
    let url = format!("http://127.0.0.1:{port}/#/steps{path}");
    let dom = String::from_utf8(browser(&chromium, &profile, &["--dump-dom"], &url)).unwrap();
    assert!(
        dom.contains("VIOLATED after step 17: c0 and c1 both hold P0"),
        "{dom}"
    );
    assert!(
        dom.contains("bounded liveness, judged at every settled end"),
        "{dom}"
    );
    let _ = std::fs::remove_dir_all(&profile);
}
