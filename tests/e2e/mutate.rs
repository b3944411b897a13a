//! `c8dr mutate` on the shipped scenario: at least 15 mutants, every one caught or explained by
//! the scenario as harmless, a table printed and written to the report; the same seed gives the
//! same verdicts.

use std::path::Path;

use crate::support::c8dr;

/// Run `c8dr mutate` with these extra arguments, writing into `report_dir`; the mutation report.
fn mutate(report_dir: &Path, extra: &[&str]) -> (crate::support::Run, serde_json::Value) {
    let mut args = vec![
        "mutate",
        "--jobs",
        "2",
        "--report-dir",
        report_dir.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    let run = c8dr(&args);
    let report = std::fs::read_to_string(report_dir.join("mutants.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(serde_json::Value::Null);
    (run, report)
}

#[test]
fn every_mutant_of_the_8_8_procedure_is_caught_or_explained() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let report_dir = dir.path().join("mutants");
    let (run, report) = mutate(&report_dir, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("id    kind"),
        "the table is printed: {run:?}"
    );

    let mutants = report["mutants"].as_array().expect("mutants");
    assert!(mutants.len() >= 15, "{} mutants", mutants.len());
    assert_eq!(report["survived"], 0, "{:#}", report["mutants"]);
    assert_eq!(report["invalid"], 0, "{:#}", report["mutants"]);
    assert_eq!(report["errored"], 0);
    let markdown = std::fs::read_to_string(report_dir.join("mutants.md")).expect("mutants.md");
    let rows = markdown
        .lines()
        .filter(|l| {
            l.strip_prefix("| m")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count();
    assert_eq!(rows, mutants.len(), "one table row per mutant:\n{markdown}");

    // Every kind the issue names is there, and each one that loses data or leaves the cluster
    // degraded is caught (none of them may be explained away).
    let caught = |kind: &str, contains: &str| {
        mutants.iter().any(|m| {
            m["kind"] == kind
                && m["description"]
                    .as_str()
                    .is_some_and(|d| d.contains(contains))
                && m["verdict"] == "caught"
        })
    };
    for (kind, contains) in [
        ("dropStep", "remove the lost brokers"),
        ("dropStep", "disable the lost region's exporter"),
        (
            "snapshotWithoutPausing",
            "snapshot without pausing exporting: drop 4.4 `pause exporting`",
        ),
        (
            "webAppsLeftOn",
            "web apps left on during the backup: drop 4.3 `turn off the web apps in the surviving region`",
        ),
        (
            "webAppsLeftOn",
            "web apps left on during the backup: 4.3 `turn off the web apps in the surviving region` without --set orchestration.profiles.operate",
        ),
        ("dropStep", "enable the recreated region's exporter"),
        ("dropStep", "re-add the recreated region's brokers"),
        ("swapAdjacentSteps", "snapshot the surviving Elasticsearch"),
        ("wrongRegion", "disable the lost region's exporter"),
        // The lost region's gateway is cut off during the failover.
        ("wrongGateway", "remove the lost brokers"),
        ("wrongGateway", "disable the lost region's exporter"),
        ("forceOnReAdd", "force=true"),
        (
            "schemaCreationLeftOn",
            "schema creation left on: 4.2 `deploy the recreated region without web apps and without schema creation` without env CAMUNDA_DATABASE_SCHEMAMANAGER_CREATESCHEMA",
        ),
        ("noInitializeFrom", "without initializeFrom"),
        ("noReplicationFactor", "without replicationFactor"),
    ] {
        assert!(
            caught(kind, contains),
            "{kind} `{contains}` not caught:\n{:#}",
            report["mutants"]
        );
    }
    // Every gateway mutant the drill lets pass is explained by the scenario: from failback step
    // 1 on, the recreated region's gateway routes requests exactly as the surviving one does.
    for m in mutants.iter().filter(|m| m["kind"] == "wrongGateway") {
        assert!(
            m["verdict"] == "caught" || m["verdict"] == "survivedHarmless",
            "{m:#}"
        );
    }
    // Snapshotting without pausing is caught by the oracle, naming the keys the restored
    // region lacks.
    let no_pause = mutants
        .iter()
        .find(|m| m["kind"] == "snapshotWithoutPausing")
        .expect("the no-pause mutant");
    let reason = no_pause["reason"].as_str().expect("reason");
    assert!(
        reason.contains("missing from the restored region"),
        "{reason}"
    );
    // The named kinds appear with their names in the Markdown table.
    for name in [
        "snapshot without pausing exporting",
        "web apps left on during the backup",
        "schema creation left on",
        "wrong gateway region",
    ] {
        assert!(
            markdown.contains(&format!("| {name} |")),
            "{name} in the table:\n{markdown}"
        );
    }
}

/// The verdicts of a mutation report, with what legitimately differs between runs (the twins'
/// ephemeral ports in error messages, wall times) taken out.
fn verdicts(report: &serde_json::Value) -> Vec<String> {
    report["mutants"]
        .as_array()
        .expect("mutants")
        .iter()
        .map(|m| {
            let reason = m["reason"].as_str().expect("reason");
            // `http://127.0.0.1:40123/...` → `http://127.0.0.1:PORT/...`
            let mut redacted = String::new();
            let mut rest = reason;
            while let Some(at) = rest.find("127.0.0.1:") {
                let (before, after) = rest.split_at(at + "127.0.0.1:".len());
                redacted.push_str(before);
                redacted.push_str("PORT");
                rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
            }
            redacted.push_str(rest);
            format!(
                "{} {} {} [{}] {}: {redacted}",
                m["id"].as_str().unwrap_or_default(),
                m["kind"].as_str().unwrap_or_default(),
                m["description"].as_str().unwrap_or_default(),
                m["stepId"].as_str().unwrap_or_default(),
                m["verdict"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_verdicts() {
    // Lost region 0 and a seed other than the default, twice.
    let dir = tempfile::tempdir().expect("temporary directory");
    let args = ["--lost-region", "0", "--seed", "7"];
    let (first_run, first) = mutate(&dir.path().join("first"), &args);
    let (second_run, second) = mutate(&dir.path().join("second"), &args);
    assert_eq!(first_run.code, 0, "{first_run:?}");
    assert_eq!(second_run.code, 0, "{second_run:?}");
    assert_eq!(first["seed"], 7);
    assert_eq!(first["lostRegion"], 0);
    let (first, second) = (verdicts(&first), verdicts(&second));
    assert!(first.len() >= 15, "{first:#?}");
    assert_eq!(first, second);
}
