//! `c8dr run --stage ... --ledger ...`: one drill split over two runs against the same
//! `c8dr twin serve`, the second continuing the first one's ledger.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::support::{Run, c8dr, report, steps};

/// Kills `c8dr twin serve` when the test ends, passed or not.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `c8dr twin serve` on `bind` (region r on the real ports plus r × 1000), 100 times faster
/// than a real cluster, with its control API on `control_port`.
fn serve(bind: &str, control_port: &str) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_c8dr"))
        .args(["twin", "serve", "--bind", bind, "--port-offset", "1000"])
        .args(["--control-port", control_port, "--time-scale", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("twin serve starts");
    let out = BufReader::new(child.stdout.take().expect("stdout"));
    for line in out.lines() {
        if line.expect("utf-8").starts_with("Press Ctrl-C") {
            break;
        }
    }
    Serve(child)
}

/// `c8dr run` against that twin with extra arguments, reports into `dir`.
fn run_part(bind: &str, control_port: &str, dir: &Path, extra: &[&str]) -> Run {
    let dir = dir.display().to_string();
    let mut args = vec![
        "run",
        "--backend",
        "twin-serve",
        "--time-scale",
        "100",
        "--twin-bind",
        bind,
        "--twin-port-offset",
        "1000",
        "--twin-control-port",
        control_port,
        "--report-dir",
        &dir,
    ];
    args.extend_from_slice(extra);
    c8dr(&args)
}

/// Text without whitespace and miette's gutter, so a message wrapped to the terminal's width
/// still matches.
fn squashed(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '│')
        .collect()
}

fn acknowledged_keys(ledger: &str) -> Vec<String> {
    ledger
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|v| v["outcome"] == "acknowledged")
        .filter_map(|v| v["key"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_drill_split_over_two_runs_continues_the_first_runs_ledger() {
    // This test owns 127.0.0.50 (every region on it, one port range per region): no other test
    // binds it.
    let bind = "127.0.0.50";
    let control_port = std::net::TcpListener::bind((bind, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
        .to_string();
    let _serve = serve(bind, &control_port);
    let a = tempfile::tempdir().expect("temporary directory");
    let b = tempfile::tempdir().expect("temporary directory");

    // Part 1: up to the temporary recovery.
    let first = run_part(
        bind,
        &control_port,
        a.path(),
        &["--stage", "steadyState,regionLoss", "--stage", "failover"],
    );
    assert_eq!(first.code, 0, "{first:?}");
    let ledger_a_path = a.path().join("ledger.jsonl");
    let ledger_a = std::fs::read_to_string(&ledger_a_path).expect("ledger.jsonl of part 1");
    let keys_a = acknowledged_keys(&ledger_a);
    assert!(!keys_a.is_empty(), "part 1 acknowledged instances");
    assert_eq!(
        ledger_a
            .lines()
            .filter(|l| l.starts_with("{\"fault\":"))
            .count(),
        1,
        "part 1 lost the region: its ledger carries the fault marker\n{ledger_a}"
    );
    let report_a = report(a.path());
    let skipped_a: Vec<&str> = report_a["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .filter(|s| s["outcome"] == "skipped")
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(skipped_a, ["failback", "final-steady-state"]);

    // Part 2: the failback and the final checks, continuing part 1's ledger.
    let second = run_part(
        bind,
        &control_port,
        b.path(),
        &[
            "--stage",
            "failback,finalState",
            "--ledger",
            &ledger_a_path.display().to_string(),
        ],
    );
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(
        std::fs::read_to_string(&ledger_a_path).expect("still there"),
        ledger_a,
        "the input ledger is never modified"
    );
    let report_b = report(b.path());
    assert_eq!(report_b["outcome"], "passed");
    for stage in report_b["stages"].as_array().expect("stages") {
        let earlier = ["steady-state", "region-loss", "failover"]
            .contains(&stage["name"].as_str().expect("name"));
        let expected = if earlier { "skipped" } else { "passed" };
        assert_eq!(stage["outcome"], expected, "{}", stage["name"]);
        assert_eq!(
            stage["notSelected"].is_string(),
            earlier,
            "{}",
            stage["name"]
        );
    }
    let skipped_steps = steps(&report_b)
        .into_iter()
        .filter(|s| s["outcome"] == "skipped")
        .count();
    assert_eq!(skipped_steps, 9, "every step of the first three stages");
    // The step that completes instances started before the fault ran on part 1's marker.
    let complete = steps(&report_b)
        .into_iter()
        .find(|s| s["action"]["kind"] == "completeInstances")
        .expect("a completeInstances step");
    assert_eq!(complete["outcome"], "passed");
    let completed = complete["action"]["result"]["completed"]
        .as_array()
        .expect("completed keys");
    assert!(
        completed
            .iter()
            .all(|k| keys_a.contains(&k.as_str().expect("key").to_owned())),
        "the instances started before the fault are part 1's: {completed:?}"
    );
    let junit = std::fs::read_to_string(b.path().join("junit.xml")).expect("junit.xml");
    assert_eq!(
        junit
            .matches("<skipped message=\"not selected in this run (--stage failback,finalState)\"")
            .count(),
        9,
        "{junit}"
    );

    // The audit and the RPO cover part 1's keys too.
    let ledger_b = std::fs::read_to_string(b.path().join("ledger.jsonl")).expect("ledger.jsonl");
    let keys_b = acknowledged_keys(&ledger_b);
    assert!(
        keys_a.iter().all(|k| keys_b.contains(k)),
        "part 2's ledger holds part 1's keys"
    );
    assert!(keys_b.len() > keys_a.len(), "and its own");
    assert_eq!(report_b["ledgerAudit"]["acknowledged"], keys_b.len());
    assert_eq!(report_b["recovery"]["rpo"], 0);
    assert_eq!(
        report_b["selection"]["ledger"]["acknowledged"],
        keys_a.len()
    );
    // The RTO needs the fault, which happened in part 1: not measured here, not failed.
    let rto = &report_b["recovery"]["objectives"][0];
    assert_eq!(rto["name"], "rto");
    assert_eq!(rto["notMeasured"], true, "{rto}");
    assert!(
        rto["measured"]
            .as_str()
            .expect("measured")
            .starts_with("not measured in this run"),
        "{rto}"
    );
    assert_eq!(report_b["recovery"]["rto"], serde_json::Value::Null);
    // The HTML report says so too, in a browser: not measured (not missed), skipped bars.
    let profile = tempfile::tempdir().expect("temporary directory");
    let dom = crate::report_html::rendered_dom(&b.path().join("report.html"), profile.path());
    assert!(dom.contains(r#"data-rendered="true""#), "{dom}");
    assert!(
        dom.contains(r#"<b class="unmeasured">not measured: not measured in this run"#),
        "the RTO objective card reads not measured:\n{dom}"
    );
    assert!(!dom.contains(r#"class="missed""#), "nothing reads missed");
    assert_eq!(
        dom.matches(r#"class="not-selected""#).count(),
        3,
        "the timeline says why the first three stages have no bars"
    );
    assert_eq!(
        dom.matches(r#"class="step "#).count(),
        steps(&report_b).len() - 9
    );
    assert_eq!(dom.matches(r#"class="badge skipped""#).count(), 9);

    // Part 3: the final checks again, continuing part 2's ledger. Part 2's completed instances
    // have no user task any more: part 3 completes other ones, and still checks part 2's.
    let completed_b: Vec<String> = report_b["completed"]
        .as_array()
        .expect("part 2 completed instances")
        .iter()
        .map(|c| c["key"].as_str().expect("key").to_owned())
        .collect();
    assert!(!completed_b.is_empty(), "{report_b}");
    let c3 = tempfile::tempdir().expect("temporary directory");
    let third = run_part(
        bind,
        &control_port,
        c3.path(),
        &[
            "--stage",
            "finalState",
            "--ledger",
            &b.path().join("ledger.jsonl").display().to_string(),
        ],
    );
    assert_eq!(third.code, 0, "{third:?}");
    let report_c = report(c3.path());
    let completed_now: Vec<String> = steps(&report_c)
        .into_iter()
        .find(|s| s["action"]["kind"] == "completeInstances")
        .expect("a completeInstances step")["action"]["result"]["completed"]
        .as_array()
        .expect("completed keys")
        .iter()
        .map(|k| k.as_str().expect("key").to_owned())
        .collect();
    assert!(
        completed_now.iter().all(|k| !completed_b.contains(k)),
        "part 3 completes other instances than part 2: {completed_now:?} vs {completed_b:?}"
    );
    let completed_c: Vec<String> = report_c["completed"]
        .as_array()
        .expect("completed")
        .iter()
        .map(|c| c["key"].as_str().expect("key").to_owned())
        .collect();
    assert!(
        completed_b.iter().all(|k| completed_c.contains(k)),
        "part 2's completed instances are carried (and checked COMPLETED) too"
    );

    // A corrupted line: refused before anything is touched, naming the file and line.
    let mut lines: Vec<&str> = ledger_a.lines().collect();
    lines[4] = "{\"atMs\": 12, \"outcome\": ";
    let corrupted = a.path().join("corrupted.jsonl");
    std::fs::write(&corrupted, lines.join("\n")).expect("writable");
    let c = tempfile::tempdir().expect("temporary directory");
    let bad = run_part(
        bind,
        &control_port,
        c.path(),
        &[
            "--stage",
            "failback,finalState",
            "--ledger",
            &corrupted.display().to_string(),
        ],
    );
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(
        squashed(&bad.stderr).contains(&squashed(&format!(
            "{}:5: not a ledger entry",
            corrupted.display()
        ))),
        "{bad:?}"
    );
    assert!(
        !c.path().join("report.json").exists(),
        "nothing ran, nothing was reported"
    );
}

#[test]
fn stages_without_the_earlier_ones_are_refused_on_the_embedded_twin_and_kind() {
    let run = c8dr(&["run", "--stage", "failback"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        squashed(&run.stderr).contains(&squashed(
            "the embedded twin starts a fresh cluster for every run"
        )),
        "{run:?}"
    );
    assert!(
        squashed(&run.stderr).contains("--backendtwin-serve"),
        "{run:?}"
    );
    // On kind too, refused before any cluster is touched (there is none on this machine).
    let run = c8dr(&["run", "--backend", "kind", "--stage", "failover,failback"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        squashed(&run.stderr).contains(&squashed(
            "the kind backend installs Camunda in both regions when it starts"
        )),
        "{run:?}"
    );
    assert!(
        squashed(&run.stderr).contains(&squashed("steady-state, region-loss would not have run")),
        "{run:?}"
    );
    let run = c8dr(&["run", "--backend", "kind", "--ledger", "ledger.jsonl"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        squashed(&run.stderr).contains(&squashed("--ledger: the kind backend")),
        "{run:?}"
    );
    let run = c8dr(&["run", "--stage", "teardown"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        squashed(&run.stderr).contains(&squashed(
            "valid are the phases steadyState, regionLoss, failover, failback, finalState"
        )),
        "{run:?}"
    );
}
