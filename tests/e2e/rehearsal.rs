//! Rehearsal mode: `c8dr run --manual` against a `c8dr twin serve`. The test plays the
//! operator: it runs every command the prompt prints, then presses Enter.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use crate::support::{curl, report, steps};

/// A free TCP port on 127.0.0.1.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("address").port()
}

/// What a rehearsal printed and how it ended.
struct Rehearsal {
    status: std::process::ExitStatus,
    transcript: String,
    prompts: usize,
    report_dir: tempfile::TempDir,
}

/// Serves a twin on `bind` (and the next address) and rehearses the drill against it with
/// `c8dr run --manual`, pressing Enter at every prompt. When `follow` is true the operator
/// first runs every `curl` the prompt printed; otherwise they run nothing.
fn rehearse(bind: &str, follow: bool) -> Rehearsal {
    let control_port = free_port().to_string();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_c8dr"))
        .args(["twin", "serve", "--bind", bind, "--port-offset", "1000"])
        .args(["--control-port", &control_port, "--time-scale", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("twin serve starts");
    let serve_out = BufReader::new(serve.stdout.take().expect("stdout"));
    for line in serve_out.lines() {
        if line.expect("utf-8").starts_with("Press Ctrl-C") {
            break;
        }
    }

    let report_dir = tempfile::tempdir().expect("temporary directory");
    let mut rehearsal = Command::new(env!("CARGO_BIN_EXE_c8dr"))
        .args([
            "run",
            "--manual",
            "--backend",
            "twin-serve",
            "--time-scale",
            "100",
        ])
        .args(["--twin-bind", bind, "--twin-port-offset", "1000"])
        .args(["--twin-control-port", &control_port, "--report-dir"])
        .arg(report_dir.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the rehearsal starts");
    let mut stdin = rehearsal.stdin.take().expect("stdin");
    let stdout = rehearsal.stdout.take().expect("stdout");

    let mut transcript = String::new();
    let mut pending_commands: Vec<String> = Vec::new();
    let mut prompts = 0;
    let mut reader = BufReader::new(stdout);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // The prompt has no newline: read up to it, byte by byte where needed.
        loop {
            let mut byte = [0u8; 1];
            let mut line = Vec::new();
            loop {
                match std::io::Read::read(&mut reader, &mut byte) {
                    Ok(0) => break,
                    Ok(_) => {
                        line.push(byte[0]);
                        if byte[0] == b'\n' || line.ends_with(b"to stop the rehearsal: ") {
                            break;
                        }
                    }
                    Err(e) => panic!("cannot read the rehearsal: {e}"),
                }
            }
            if line.is_empty() {
                break;
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            transcript.push_str(&text);
            if let Some(command) = text.trim().strip_prefix("$ ") {
                pending_commands.push(command.to_owned());
            } else if text.ends_with("to stop the rehearsal: ") {
                prompts += 1;
                for command in pending_commands.drain(..) {
                    if follow && command.starts_with("curl ") {
                        let (status, body) = curl(&command);
                        assert!(
                            status < 300 || (status == 200 && body.contains("\"status\":204")),
                            "`{command}` answered {status}: {body}\n{transcript}"
                        );
                    }
                }
                stdin.write_all(b"\n").expect("Enter");
                stdin.flush().expect("flush");
            }
        }
    }));
    let status = rehearsal.wait().expect("the rehearsal ends");
    let _ = serve.kill();
    let _ = serve.wait();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    Rehearsal {
        status,
        transcript,
        prompts,
        report_dir,
    }
}

#[test]
fn an_operator_following_the_printed_commands_passes_the_drill() {
    // This test owns 127.0.0.30 and .31: no other test binds them.
    let Rehearsal {
        status,
        transcript,
        prompts,
        report_dir,
    } = rehearse("127.0.0.30", true);
    assert_eq!(status.code(), Some(0), "{transcript}");
    assert!(
        prompts >= 14,
        "one prompt per procedure step, got {prompts}:\n{transcript}"
    );
    let report = report(report_dir.path());
    assert_eq!(report["outcome"], "passed", "{transcript}");
    let performed = steps(&report)
        .iter()
        .filter(|s| {
            s["action"]["summary"]
                .as_str()
                .is_some_and(|a| a.ends_with("(performed by the operator)"))
        })
        .count();
    assert_eq!(
        performed, prompts,
        "every prompted step was performed by the operator"
    );
}

/// Pressing Enter without doing the step is caught by the step's own expectations: the
/// rehearsal fails at the first prompted step and skips the rest.
#[test]
fn an_operator_who_skips_the_commands_fails_the_rehearsal_at_that_step() {
    // This test owns 127.0.0.40 and .41.
    let Rehearsal {
        status,
        transcript,
        prompts,
        report_dir,
    } = rehearse("127.0.0.40", false);
    assert_eq!(status.code(), Some(1), "{transcript}");
    assert_eq!(
        prompts, 1,
        "nothing is prompted after the failure:\n{transcript}"
    );
    let report = report(report_dir.path());
    assert_eq!(report["outcome"], "failed", "{transcript}");
    let steps = steps(&report);
    let prompted = steps
        .iter()
        .find(|s| {
            s["action"]["summary"]
                .as_str()
                .is_some_and(|a| a.ends_with("(performed by the operator)"))
        })
        .expect("the prompted step is in the report");
    assert_eq!(prompted["outcome"], "failed", "{prompted}");
    let first_failed = steps
        .iter()
        .find(|s| s["outcome"] == "failed")
        .expect("a failed step");
    assert_eq!(first_failed["id"], prompted["id"]);
    assert!(
        steps
            .iter()
            .skip_while(|s| s["id"] != prompted["id"])
            .skip(1)
            .all(|s| s["outcome"] == "skipped"),
        "every later step is skipped"
    );
}
