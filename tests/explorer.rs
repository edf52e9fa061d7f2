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
    let child = Command::new(env!("CARGO_BIN_EXE_failover"))
        .args(["explore", "--port", &port.to_string(), "--clients", "1"])
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
