//! Recovery objectives end to end: the whole procedure passes, but an RTO objective no real
//! failover can meet fails the run, in the exit code, in junit.xml and in the report.

use crate::scenario_edit::{edited_scenario, replace_once};
use crate::support::{c8dr, report, steps};

#[test]
fn a_missed_rto_objective_fails_the_run_in_the_exit_code_junit_and_the_report() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let scenario = edited_scenario(dir.path(), |text| {
        replace_once(&text, "    rto: 2m\n", "    rto: 1s\n")
    });
    let report_dir = dir.path().join("reports");
    // Virtual time: deterministic, so the measured RTO is the same on every machine.
    let run = c8dr(&[
        "run",
        scenario.to_str().expect("utf-8 path"),
        "--virtual-time",
        "--report-dir",
        report_dir.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("FAILED: recovery objectives: objective rto 1s not met: "),
        "{run:?}"
    );
    assert!(run.stdout.contains("objective RTO ≤ 1s: MISSED"), "{run:?}");

    // Every step passed: the objective alone failed the run.
    let report = report(&report_dir);
    assert_eq!(report["outcome"], "failed");
    for step in steps(&report) {
        assert_eq!(step["outcome"], "passed", "step {}", step["id"]);
    }
    assert_eq!(report["failure"]["step"], "recovery objectives");
    let reason = report["failure"]["reason"].as_str().expect("reason");
    assert!(reason.starts_with("objective rto 1s not met: "), "{reason}");

    let objectives = report["recovery"]["objectives"]
        .as_array()
        .expect("objectives");
    let verdict = |name: &str| {
        objectives
            .iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("no {name} verdict: {objectives:?}"))
    };
    let rto = verdict("rto");
    assert_eq!(rto["objective"], "1s");
    assert_eq!(rto["met"], false);
    let measured_ms = report["recovery"]["rto"]["clusterMs"]
        .as_u64()
        .expect("the RTO was measured");
    assert!(measured_ms > 1000, "{measured_ms} ms");
    // The RPO objective is met: the final audit found every acknowledged key in both regions.
    let rpo = verdict("rpo");
    assert_eq!(rpo["met"], true, "{rpo}");
    assert_eq!(report["recovery"]["rpo"], 0);
    let audit = &report["ledgerAudit"];
    assert!(audit["acknowledged"].as_u64().expect("acknowledged") >= 20);
    for region in audit["regions"].as_array().expect("regions") {
        assert_eq!(region["missing"], serde_json::json!([]), "{region}");
    }

    // junit.xml: every step passes, and the recovery objectives test case fails.
    let junit = std::fs::read_to_string(report_dir.join("junit.xml")).expect("junit.xml");
    assert_eq!(junit.matches("<failure").count(), 1, "{junit}");
    let case = junit
        .split("<testcase ")
        .find(|c| c.starts_with(r#"name="recovery objectives""#))
        .unwrap_or_else(|| panic!("no recovery objectives test case:\n{junit}"));
    assert!(case.contains("<failure"), "{case}");
    assert!(case.contains("objective rto 1s not met: "), "{case}");
    assert!(case.contains("RTO ≤ 1s: MISSED"), "{case}");
    assert!(case.contains("RPO ≤ 0 lost: met"), "{case}");

    let summary = std::fs::read_to_string(report_dir.join("summary.md")).expect("summary.md");
    assert!(summary.contains("| objective RTO ≤ 1s | ❌ "), "{summary}");
    assert!(
        summary.contains("**Failed: recovery objectives**: objective rto 1s not met: "),
        "{summary}"
    );
}
