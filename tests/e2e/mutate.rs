//! `c8dr mutate` on the shipped scenario: at least 15 mutants, every one caught or explained by
//! the scenario as harmless, a table printed and written to the report.

use crate::support::c8dr;

#[test]
fn every_mutant_of_the_8_8_procedure_is_caught_or_explained() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let report_dir = dir.path().join("mutants");
    let run = c8dr(&[
        "mutate",
        "--jobs",
        "2",
        "--report-dir",
        report_dir.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("id    kind"),
        "the table is printed: {run:?}"
    );

    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report_dir.join("mutants.json")).expect("mutants.json"),
    )
    .expect("JSON");
    let mutants = report["mutants"].as_array().expect("mutants");
    assert!(mutants.len() >= 15, "{} mutants", mutants.len());
    assert_eq!(report["survived"], 0, "{:#}", report["mutants"]);
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
        ("dropStep", "pause exporting"),
        ("dropStep", "turn off the web apps in the surviving region"),
        ("dropStep", "enable the recreated region's exporter"),
        ("dropStep", "re-add the recreated region's brokers"),
        ("swapAdjacentSteps", "snapshot the surviving Elasticsearch"),
        ("wrongRegion", "disable the lost region's exporter"),
        ("forceOnReAdd", "force=true"),
        (
            "dropOverride",
            "CAMUNDA_DATABASE_SCHEMAMANAGER_CREATESCHEMA",
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
    // Snapshotting without pausing is caught by the oracle, naming the keys the restored
    // region lacks.
    let no_pause = mutants
        .iter()
        .find(|m| {
            m["kind"] == "dropStep"
                && m["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("pause exporting"))
        })
        .expect("the no-pause mutant");
    let reason = no_pause["reason"].as_str().expect("reason");
    assert!(
        reason.contains("missing from the restored region"),
        "{reason}"
    );
}
