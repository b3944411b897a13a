//! The 8.8 drill end to end, and the drill failing when the procedure misses a step.

use crate::support::{c8dr, report, scenario_8_8, scenario_without_step, steps};

fn passes_for(lost_region: &str) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let report_dir = dir.path().join("reports");
    let run = c8dr(&[
        "run",
        "--lost-region",
        lost_region,
        "--report-dir",
        report_dir.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("PASSED"), "{run:?}");

    let report = report(&report_dir);
    assert_eq!(report["outcome"], "passed");
    assert_eq!(
        report["lostRegion"],
        lost_region.parse::<u8>().expect("digit")
    );
    let steps = steps(&report);
    assert!(
        steps.len() >= 20,
        "the whole procedure runs: {} steps",
        steps.len()
    );
    for step in &steps {
        assert_eq!(step["outcome"], "passed", "step {}", step["id"]);
        for expectation in step["expectations"].as_array().expect("expectations") {
            assert_eq!(expectation["outcome"], "passed");
            assert!(expectation["polls"].as_u64().expect("polls") >= 1);
        }
    }
    // Every failback step of the page is there, in the contract's order.
    let procedure: Vec<&str> = steps
        .iter()
        .filter_map(|s| s["procedure"].as_str())
        .collect();
    for expected in [
        "failover step 1",
        "failover step 2",
        "failback step 1",
        "failback step 2",
        "failback step 3",
        "failback step 6",
        "failback step 7",
        "failback step 8",
    ] {
        assert!(
            procedure.contains(&expected),
            "{expected} missing from {procedure:?}"
        );
    }
    // The force-remove and the re-add are changes 2 and 8: ids advance by two per change.
    let change_ids: Vec<i64> = steps
        .iter()
        .filter_map(|s| s["action"]["result"]["changeId"].as_i64())
        .collect();
    assert_eq!(change_ids, vec![2, 4, 6, 8]);
    // Data continuity: every acknowledged key is in the ledger and the run acknowledged some.
    let acknowledged = report["instances"]
        .as_array()
        .expect("ledger")
        .iter()
        .filter(|a| a["outcome"] == "acknowledged")
        .count();
    assert!(acknowledged >= 20, "{acknowledged} instances acknowledged");

    // The recovery is measured: RPO 0, an RTO after the fault, every milestone in order.
    let recovery = &report["recovery"];
    assert_eq!(recovery["rpo"], 0, "{recovery}");
    let rto = recovery["rto"]["clusterMs"].as_u64().expect("an RTO");
    assert!(rto > 0, "{recovery}");
    let milestones = &recovery["milestones"];
    let at = |name: &str| {
        milestones[name]
            .as_u64()
            .unwrap_or_else(|| panic!("milestone {name} missing: {milestones}"))
    };
    assert!(at("faultInjectedMs") < at("degradedConfirmedMs"));
    assert!(at("degradedConfirmedMs") <= at("failoverStartedMs"));
    assert!(at("failoverStartedMs") < at("failoverDoneMs"));
    assert!(at("faultInjectedMs") < at("firstAcknowledgedAfterFaultMs"));
    assert!(at("exportingPausedMs") < at("exportingResumedMs"));
    assert!(at("exportingResumedMs") < at("failbackDoneMs"));
    for objective in recovery["objectives"].as_array().expect("objectives") {
        assert_eq!(objective["met"], true, "{objective}");
    }

    // The ledger file holds every attempt of the report, one JSON line each, in order, and the
    // marker lines a later run (`--ledger`) continues from: the fault, placed before the first
    // attempt after it, and the captured placements.
    let ledger = std::fs::read_to_string(report_dir.join("ledger.jsonl")).expect("ledger.jsonl");
    let lines: Vec<serde_json::Value> = ledger
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let is_marker = |l: &serde_json::Value| {
        l.get("fault").is_some() || l.get("placement").is_some() || l.get("completed").is_some()
    };
    let attempts: Vec<serde_json::Value> =
        lines.iter().filter(|l| !is_marker(l)).cloned().collect();
    assert_eq!(
        &attempts,
        report["instances"].as_array().expect("ledger"),
        "the attempts of ledger.jsonl are the report's, in order"
    );
    let faults: Vec<(usize, &serde_json::Value)> = lines
        .iter()
        .enumerate()
        .filter_map(|(index, l)| l.get("fault").map(|f| (index, f)))
        .collect();
    assert_eq!(faults.len(), 1, "one fault marker: {ledger}");
    let (position, fault) = faults[0];
    assert_eq!(fault, &report["fault"]);
    assert_eq!(
        fault["attemptsBefore"], position,
        "the marker sits where the fault was"
    );
    assert_eq!(
        lines
            .iter()
            .filter_map(|l| l.get("placement"))
            .collect::<Vec<_>>(),
        report["placements"]
            .as_array()
            .expect("placements")
            .iter()
            .collect::<Vec<_>>()
    );
    // The instances the final stage completed through the engine, for a later run to skip.
    let completed: Vec<&serde_json::Value> =
        lines.iter().filter_map(|l| l.get("completed")).collect();
    assert!(!completed.is_empty(), "{ledger}");
    assert_eq!(
        completed,
        report["completed"]
            .as_array()
            .expect("completed")
            .iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        lines.len(),
        attempts.len() + 1 + report["placements"].as_array().map_or(0, Vec::len) + completed.len()
    );
    assert!(
        attempts
            .iter()
            .filter(|a| a["outcome"] == "acknowledged")
            .all(|a| a["key"].is_string() && a["atMs"].is_u64()),
        "acknowledged attempts carry a key and a time"
    );
    // Attempts during the outage were rejected and recorded, not fatal.
    assert!(
        attempts.iter().any(|a| a["outcome"] != "acknowledged"),
        "the outage rejected some attempts"
    );

    let summary = std::fs::read_to_string(report_dir.join("summary.md")).expect("summary.md");
    assert!(summary.contains("passed"), "{summary}");
    assert!(summary.contains("RTO"), "{summary}");
    assert!(summary.contains("RPO"), "{summary}");

    let junit = std::fs::read_to_string(report_dir.join("junit.xml")).expect("junit.xml");
    // One test case per step, plus the recovery objectives (the scenario declares some).
    assert_eq!(junit.matches("<testcase ").count(), steps.len() + 1);
    assert!(
        junit.contains(r#"<testcase name="recovery objectives""#),
        "{junit}"
    );
    assert!(!junit.contains("<failure"), "{junit}");
}

#[test]
fn the_8_8_drill_passes_when_region_1_is_lost() {
    passes_for("1");
}

#[test]
fn the_8_8_drill_passes_when_region_0_is_lost() {
    passes_for("0");
}

/// Run the scenario without one step; the drill must fail and name what did not hold.
fn fails_without(step: &str, failing_step: &str, kind: &str, reason_contains: &str) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let scenario = scenario_without_step(dir.path(), step);
    let report_dir = dir.path().join("reports");
    // Virtual time: the failing expectation waits out its whole timeout in milliseconds.
    let run = c8dr(&[
        "run",
        scenario.to_str().expect("utf-8 path"),
        "--virtual-time",
        "--report-dir",
        report_dir.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("FAILED"), "{run:?}");

    let report = report(&report_dir);
    assert_eq!(report["outcome"], "failed");
    assert_eq!(
        report["failure"]["step"], failing_step,
        "{:#}",
        report["failure"]
    );
    let failed = steps(&report)
        .into_iter()
        .find(|s| s["outcome"] == "failed")
        .expect("a failed step");
    let expectation = failed["expectations"]
        .as_array()
        .expect("expectations")
        .iter()
        .find(|e| e["outcome"] == "failed")
        .expect("a failed expectation");
    assert_eq!(expectation["kind"], kind);
    let reason = expectation["reason"].as_str().expect("a reason");
    assert!(reason.contains(reason_contains), "{reason}");
    assert!(
        !expectation["observed"].is_null(),
        "the last observation is reported"
    );
    // Later steps did not run.
    assert!(steps(&report).iter().any(|s| s["outcome"] == "skipped"));

    let junit = std::fs::read_to_string(report_dir.join("junit.xml")).expect("junit.xml");
    assert_eq!(junit.matches("<failure").count(), 1, "{junit}");
    assert!(junit.contains(reason_contains), "{junit}");
}

#[test]
fn without_the_exporter_disable_the_surviving_elasticsearch_stays_stale() {
    fails_without(
        "disable the lost region's exporter",
        "temporary recovery is complete",
        "instances",
        "acknowledged instances are missing",
    );
}

#[test]
fn without_the_broker_re_add_the_final_steady_state_does_not_hold() {
    fails_without(
        "re-add the recreated region's brokers",
        "dual-region cluster is healthy again",
        "topology",
        "clusterSize is 4, expected 8",
    );
}

#[test]
fn without_pausing_exporting_the_oracle_names_the_keys_missing_from_the_restored_region() {
    // The workload keeps creating instances; without the pause they reach the surviving
    // Elasticsearch after the snapshot, and the restored region never gets them.
    fails_without(
        "pause exporting",
        "restore the snapshot in the recreated region",
        "restored",
        "Elasticsearch are missing from the restored region1: ",
    );
}

#[test]
fn the_shipped_scenario_file_is_the_built_in_default() {
    let text = std::fs::read_to_string(scenario_8_8()).expect("scenario");
    let run = c8dr(&["plan", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("plan JSON");
    assert_eq!(plan["source"], "<built-in>/dual-region-8.8.yaml");
    let file_plan = c8dr(&["plan", "--json", "scenarios/dual-region-8.8.yaml"]);
    let file_plan: serde_json::Value = serde_json::from_str(&file_plan.stdout).expect("plan JSON");
    assert_eq!(plan["stages"], file_plan["stages"]);
    assert!(text.contains("apiVersion: c8dr.io/v1alpha1"));
}

/// Replace what differs between two runs on purpose: the wall-clock start and the twin's
/// ephemeral ports.
fn redact(report: &mut serde_json::Value) {
    report["startedAt"] = serde_json::Value::Null;
    let text = report.to_string();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(index) = rest.find("127.0.0.1:") {
        out.push_str(&rest[..index + "127.0.0.1:".len()]);
        rest = rest[index + "127.0.0.1:".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push_str("PORT");
    }
    out.push_str(rest);
    *report = serde_json::from_str(&out).expect("still JSON");
}

#[test]
fn a_virtual_time_drill_replays_exactly() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut reports = Vec::new();
    for run_index in 0..2 {
        let report_dir = dir.path().join(format!("run{run_index}"));
        let run = c8dr(&[
            "run",
            "--virtual-time",
            "--lost-region",
            "0",
            "--report-dir",
            report_dir.to_str().expect("utf-8 path"),
        ]);
        assert_eq!(run.code, 0, "{run:?}");
        let mut report = report(&report_dir);
        assert_eq!(report["virtualTime"], true);
        redact(&mut report);
        reports.push(report);
    }
    assert_eq!(reports[0], reports[1], "two virtual-time runs differ");
    // Virtual durations are cluster time: the drill waits at least as long as the twin was busy.
    let duration = reports[0]["durationMs"].as_u64().expect("duration");
    let busy = reports[0]["backendStats"]["busySimMillis"]
        .as_u64()
        .expect("busy time");
    assert!(duration >= busy, "{duration} < {busy}");
}
