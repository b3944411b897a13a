//! Running the binary and editing scenarios for tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

/// The shipped 8.8 scenario.
pub fn scenario_8_8() -> PathBuf {
    repo_root().join("scenarios/dual-region-8.8.yaml")
}

/// The result of one `c8dr` invocation.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: &Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Run `c8dr` with arguments, in the repository root, without terminal colours.
pub fn c8dr(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_c8dr"))
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("C8DR_LOST_REGION")
        .env_remove("C8DR_REPORT_DIR")
        .output()
        .expect("the c8dr binary runs");
    Run::from(&output)
}

/// The shipped scenario without one step (found by its name), written next to the original's
/// resources so relative paths still resolve.
pub fn scenario_without_step(dir: &Path, step_name: &str) -> PathBuf {
    let text = std::fs::read_to_string(scenario_8_8()).expect("the scenario is readable");
    let mut kept = Vec::new();
    let mut skipping = false;
    let mut removed = false;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("        - name: ") {
            skipping = name.trim() == step_name;
            removed |= skipping;
        } else if line.starts_with("    - name: ") {
            skipping = false;
        }
        if !skipping {
            kept.push(line);
        }
    }
    assert!(removed, "the scenario has no step named {step_name:?}");
    let fixtures = repo_root().join("fixtures");
    let text = kept
        .join("\n")
        .replace("../fixtures", &fixtures.display().to_string());
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, text).expect("the temporary scenario is writable");
    path
}

/// A scenario file with this text, written to `dir`.
pub fn scenario_with_text(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, text).expect("the temporary scenario is writable");
    path
}

/// Read `report.json` of a report directory.
pub fn report(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json was written");
    serde_json::from_str(&text).expect("report.json is JSON")
}

/// Every step of a report.
pub fn steps(report: &serde_json::Value) -> Vec<&serde_json::Value> {
    report["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .flat_map(|stage| stage["steps"].as_array().expect("steps").iter())
        .collect()
}

/// Send one raw HTTP/1.1 request and return the status code and body.
pub fn http(address: &str, method: &str, path: &str, headers: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("the twin listens");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("request sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer read");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Run one `curl` command line as `c8dr plan` and rehearsal prompts print them
/// (`curl [-i] [-u u:p] -XMETHOD 'URL' [-H 'h: v'] [-d 'body']  # comment`) and return the status.
pub fn curl(line: &str) -> (u16, String) {
    let line = line.split("  #").next().unwrap_or(line).trim();
    let mut method = "GET".to_owned();
    let mut url = String::new();
    let mut headers = String::new();
    let mut body = String::new();
    let mut rest = line
        .strip_prefix("curl")
        .expect("a curl command")
        .trim_start();
    while !rest.is_empty() {
        let (token, after) = if let Some(quoted) = rest.strip_prefix('\'') {
            let end = quoted.find('\'').expect("closing quote");
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        rest = after.trim_start();
        if let Some(m) = token.strip_prefix("-X") {
            method = m.to_owned();
        } else if token == "-H" || token == "-d" || token == "-u" {
            let (value, after) = if let Some(quoted) = rest.strip_prefix('\'') {
                let end = quoted.find('\'').expect("closing quote");
                (quoted[..end].to_owned(), &quoted[end + 1..])
            } else {
                let end = rest.find(' ').unwrap_or(rest.len());
                (rest[..end].to_owned(), &rest[end..])
            };
            rest = after.trim_start();
            match token {
                "-H" => headers.push_str(&format!("{value}\r\n")),
                "-d" => body = value,
                _ => {
                    let encoded = base64_encode(value.as_bytes());
                    headers.push_str(&format!("Authorization: Basic {encoded}\r\n"));
                }
            }
        } else if token.starts_with("http://") {
            url = token.to_owned();
        }
    }
    let without_scheme = url.strip_prefix("http://").expect("an http URL");
    let (address, path) = without_scheme.find('/').map_or((without_scheme, "/"), |i| {
        (&without_scheme[..i], &without_scheme[i..])
    });
    http(address, &method, path, &headers, &body)
}

fn base64_encode(bytes: &[u8]) -> String {
    const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
