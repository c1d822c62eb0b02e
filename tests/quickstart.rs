//! `cargo run --example quickstart` prints curl commands; this test runs the
//! example itself, parses every printed `curl` line and sends exactly that
//! request to it, checking the status, the reason and the example's own log.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The compiled example (built by `cargo test` with the other examples; built
/// here if it is missing).
fn quickstart_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir
        .join("examples")
        .join(format!("quickstart{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", "quickstart"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build --example quickstart");
        assert!(status.success());
    }
    bin
}

/// Kills the example when the test ends, passed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One printed command: the URL path and its headers, parsed from the line.
fn parse_curl(line: &str) -> (String, Vec<(String, String)>) {
    let rest = line
        .strip_prefix("curl -i ")
        .expect("starts with `curl -i `");
    let (url, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let path = url
        .strip_prefix("http://")
        .and_then(|u| u.find('/').map(|i| u[i..].to_owned()))
        .expect("an http:// URL with a path");
    let mut headers = Vec::new();
    let mut rest = rest.trim();
    while let Some(r) = rest.strip_prefix("-H '") {
        let end = r.find('\'').expect("closing quote");
        let (name, value) = r[..end].split_once(": ").expect("Name: value");
        headers.push((name.to_owned(), value.to_owned()));
        rest = r[end + 1..].trim();
    }
    assert!(rest.is_empty(), "unparsed rest of a curl line: {rest}");
    (path, headers)
}

#[tokio::test]
async fn printed_curl_commands_do_what_their_comments_say() {
    let mut child = Command::new(quickstart_binary())
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the quickstart");
    let stdout = child.stdout.take().expect("stdout");
    let _running = Running(child);
    // The printed commands and then the log share stdout; read it off a thread.
    let (tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || {
        lines
            .recv_timeout(Duration::from_secs(20))
            .expect("the quickstart printed nothing for 20 s")
    };
    // Everything up to the blank line after the commands.
    assert!(next().starts_with("authgate quickstart"));
    let mut printed = Vec::new();
    loop {
        let line = next();
        if line.is_empty() && !printed.is_empty() {
            break;
        }
        if !line.is_empty() {
            printed.push(line);
        }
    }
    // Never a secret in the log: no printed token may reappear there.
    let tokens: Vec<String> = printed
        .iter()
        .filter_map(|l| l.split("Bearer ").nth(1))
        .map(|t| t.trim_end_matches('\'').to_owned())
        .collect();
    assert!(tokens.len() >= 5, "{printed:?}");

    let mut expected = None;
    let mut seen = Vec::new();
    for line in &printed {
        if let Some(comment) = line.strip_prefix("# ") {
            // "# 401 token_expired: ..." → (401, Some("token_expired"))
            let mut words = comment.split([' ', ':']);
            let status: u16 = words.next().unwrap().parse().unwrap();
            let reason = words.next().filter(|w| w.contains('_')).map(str::to_owned);
            expected = Some((status, reason));
        } else if line.starts_with("curl ") {
            let (status, reason) = expected.take().expect("a comment before each command");
            let addr = line
                .split("http://")
                .nth(1)
                .and_then(|u| u.split('/').next())
                .and_then(|a| a.parse().ok())
                .expect("a printed http://ADDR/ URL");
            let (path, headers) = parse_curl(line);
            let headers: Vec<(&str, &[u8])> = headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_bytes()))
                .collect();
            let resp = common::get(addr, &path, &headers).await;
            assert_eq!(resp.status, status, "{line}\n{}", resp.dump());
            if let Some(reason) = &reason {
                assert_eq!(resp.json()["reason"], reason.as_str(), "{line}");
                // The example logs one event naming the reason.
                let wanted = format!("auth.reason=\"{reason}\"");
                let logged = loop {
                    let log = next();
                    assert!(
                        tokens.iter().all(|t| !log.contains(t.as_str())),
                        "a token in the log: {log}"
                    );
                    if log.contains("auth.reason=") {
                        break log;
                    }
                };
                assert!(logged.contains(&wanted), "{wanted} not in: {logged}");
            }
            seen.push((status, reason));
        }
    }
    // A valid token, a missing scope, an expired token, another audience, no header.
    for case in [
        (200, None),
        (403, Some("insufficient_scope".to_owned())),
        (401, Some("token_expired".to_owned())),
        (401, Some("audience_mismatch".to_owned())),
        (401, Some("missing_credentials".to_owned())),
    ] {
        assert!(seen.contains(&case), "{case:?} not among {seen:?}");
    }
}
