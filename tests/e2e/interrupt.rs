//! A drill interrupted by SIGTERM (what CI sends a cancelled or timed-out job) still writes
//! every report, saying how far it got, and exits with the interrupted code.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use c8dr_core::exit_code;

use crate::support::{repo_root, report, steps};

#[cfg(unix)]
#[test]
fn sigterm_stops_the_drill_and_every_report_is_still_written() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let report_dir = dir.path().join("reports");
    // Time ×5: the whole drill would take far longer than this test waits.
    let mut child = Command::new(env!("CARGO_BIN_EXE_c8dr"))
        .args([
            "run",
            "--time-scale",
            "5",
            "--report-dir",
            report_dir.to_str().expect("utf-8 path"),
        ])
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("C8DR_LOST_REGION")
        .env_remove("C8DR_REPORT_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the c8dr binary starts");
    // Signal once a step passed (c8dr listens for SIGTERM before the first step starts, so
    // the signal cannot hit a process without its handler), and not before 1.5 s.
    let spawned = Instant::now();
    let stdout = child.stdout.take().expect("stdout piped");
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("[ok]")) {
        match lines.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => seen.push(line),
            Err(e) => {
                let _ = child.kill();
                panic!("no step passed within 10 s ({e}): {seen:#?}");
            }
        }
    }
    std::thread::sleep(Duration::from_millis(1_500).saturating_sub(spawned.elapsed()));
    let signalled = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success(), "SIGTERM sent");
    // Bounded wait: the drill stops its step at once and bounds its ledger audit to 2 s.
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break status;
        }
        if signalled.elapsed() > Duration::from_secs(8) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("c8dr did not end within 8 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = signalled.elapsed();
    let output = child.wait_with_output().expect("output");
    reader.join().expect("stdout read");
    seen.extend(lines.try_iter());
    let stdout = seen.join("\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let context = format!("{status:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    assert_eq!(status.code(), Some(exit_code::INTERRUPTED), "{context}");
    // Promptly, not at the drill's natural end (about a minute at this time scale); the bound is
    // loose because CI runs this beside heavier tests on two cores.
    assert!(took < Duration::from_secs(20), "took {took:?}\n{context}");
    assert!(stdout.contains("INTERRUPTED (SIGTERM)"), "{context}");
    assert!(
        stdout.contains(&format!(
            "the reports of the run so far are in {}",
            report_dir.display()
        )),
        "{context}"
    );

    for file in [
        "report.json",
        "junit.xml",
        "summary.md",
        "report.html",
        "ledger.jsonl",
    ] {
        assert!(report_dir.join(file).is_file(), "{file} missing\n{context}");
    }
    let report = report(&report_dir);
    assert_eq!(report["outcome"], "interrupted", "{context}");
    assert_eq!(report["interrupted"]["signal"], "SIGTERM");
    let audit = report["interrupted"]["audit"].as_str().expect("audit");
    assert!(audit.starts_with("bounded to 2.0s"), "{audit}");
    let steps = steps(&report);
    let outcomes: Vec<&str> = steps
        .iter()
        .map(|s| s["outcome"].as_str().expect("outcome"))
        .collect();
    // Some steps passed, then exactly one was interrupted, and every later one was skipped.
    let at = outcomes
        .iter()
        .position(|o| *o == "interrupted")
        .unwrap_or_else(|| panic!("no interrupted step: {outcomes:?}"));
    assert!(at >= 1, "{outcomes:?}");
    assert!(
        outcomes[..at].iter().all(|o| *o == "passed"),
        "{outcomes:?}"
    );
    assert!(
        outcomes[at + 1..].iter().all(|o| *o == "skipped"),
        "{outcomes:?}"
    );
    assert!(
        at + 1 < outcomes.len(),
        "the drill was stopped early: {outcomes:?}"
    );
    let interrupted = steps[at];
    assert_eq!(report["interrupted"]["stepId"], interrupted["id"]);
    let failure = interrupted["failure"].as_str().expect("why");
    assert!(
        failure.starts_with("interrupted (SIGTERM) after "),
        "{failure}"
    );
    for later in &steps[at + 1..] {
        assert!(
            later["skippedBecause"]
                .as_str()
                .is_some_and(|why| why.contains("interrupted (SIGTERM)")),
            "{later}"
        );
    }

    // JUnit: nothing failed; the interrupted step is an error, the ones after it are skipped.
    let junit = std::fs::read_to_string(report_dir.join("junit.xml")).expect("junit.xml");
    assert!(!junit.contains("<failure"), "{junit}");
    assert_eq!(junit.matches("<error").count(), 1, "{junit}");
    assert!(
        junit.matches("<skipped").count() >= outcomes.len() - at - 1,
        "{junit}"
    );
    // No objective is judged: the procedure did not finish, and the short audit could count
    // instances acknowledged just before the signal as lost.
    let objectives = report["recovery"]["objectives"]
        .as_array()
        .expect("objectives");
    assert_eq!(objectives.len(), 2, "the shipped scenario's RTO and RPO");
    for objective in objectives {
        assert_eq!(objective["notMeasured"], true, "{objective}");
        assert!(
            objective["measured"]
                .as_str()
                .is_some_and(|m| m.starts_with("not judged: the run was interrupted")),
            "{objective}"
        );
    }
    assert!(!stdout.contains("MISSED"), "{context}");
    let summary = std::fs::read_to_string(report_dir.join("summary.md")).expect("summary.md");
    assert!(summary.contains("Interrupted (SIGTERM)"), "{summary}");
    let html = std::fs::read_to_string(report_dir.join("report.html")).expect("report.html");
    assert!(html.contains(r#""outcome":"interrupted""#));
}
