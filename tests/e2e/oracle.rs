//! The final oracle on its own: with the pause, the restore's document check, the paused-data
//! check and the resume left out of the procedure, nothing catches the snapshot taken while
//! exporting runs until the last step's `dataContinuity` check, which must fail and name the keys
//! the restored region lacks.

use crate::scenario_edit::{edited_scenario, replace_once, without_steps};
use crate::support::{c8dr, report, steps};

const ORACLE_STEP: &str = "new instances reach both regions, and no acknowledged instance was lost";

#[test]
fn without_the_pause_and_the_checks_before_it_the_final_oracle_names_the_missing_keys_per_region() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let scenario = edited_scenario(dir.path(), |text| {
        let text = without_steps(
            &text,
            &[
                "pause exporting",
                "instances created while exporting is paused are held back",
                "resume exporting",
            ],
        );
        // The restore still has to complete, but its copy is no longer compared document by
        // document with the surviving region.
        replace_once(
            &text,
            "- restored: {region: recreated, snapshot: failback, documentsMatch: surviving}",
            "- restored: {region: recreated, snapshot: failback}",
        )
    });
    let report_dir = dir.path().join("reports");
    let run = c8dr(&[
        "run",
        scenario.to_str().expect("utf-8 path"),
        "--virtual-time",
        "--report-dir",
        report_dir.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(run.code, 1, "{run:?}");

    let report = report(&report_dir);
    assert_eq!(report["outcome"], "failed");
    assert_eq!(
        report["failure"]["step"], ORACLE_STEP,
        "{:#}",
        report["failure"]
    );
    // Every step before the oracle passed: nothing else noticed.
    let all = steps(&report);
    let oracle = all
        .iter()
        .position(|s| s["name"] == ORACLE_STEP)
        .expect("the oracle step ran");
    assert_eq!(oracle, all.len() - 1, "the oracle is the last step");
    for step in &all[..oracle] {
        assert_eq!(
            step["outcome"], "passed",
            "step {} {}",
            step["id"], step["name"]
        );
    }

    // The oracle's verdict names the keys, per region: the surviving region has every key, the
    // restored one lacks what reached the surviving Elasticsearch after the snapshot.
    let failed = all[oracle];
    let expectation = &failed["expectations"][0];
    assert_eq!(expectation["kind"], "dataContinuity");
    assert_eq!(expectation["outcome"], "failed");
    let lost_region = report["lostRegion"].as_u64().expect("lost region");
    let surviving = report["survivingRegion"]
        .as_u64()
        .expect("surviving region");
    let continuity = &report["dataContinuity"];
    let missing = |region: u64| -> Vec<String> {
        continuity["regions"]
            .as_array()
            .expect("regions")
            .iter()
            .find(|r| r["region"] == region)
            .expect("the region was checked")["missing"]
            .as_array()
            .expect("missing")
            .iter()
            .map(|k| k.as_str().expect("a key").to_owned())
            .collect()
    };
    assert!(missing(surviving).is_empty(), "{continuity:#}");
    let lacking = missing(lost_region);
    assert!(!lacking.is_empty(), "{continuity:#}");
    let acknowledged = report["instances"]
        .as_array()
        .expect("ledger")
        .iter()
        .filter_map(|a| a["key"].as_str())
        .collect::<Vec<_>>();
    for key in &lacking {
        assert!(
            acknowledged.contains(&key.as_str()),
            "{key} was acknowledged"
        );
    }
    let reason = expectation["reason"].as_str().expect("a reason");
    assert!(
        reason.contains(&format!(
            "are missing from region{lost_region}: {}",
            lacking[0]
        )),
        "{reason}"
    );

    // The final audit agrees: the restored region lacks those keys, and since the surviving
    // region has them, none is lost everywhere.
    let audit_missing: Vec<&str> = report["ledgerAudit"]["regions"]
        .as_array()
        .expect("regions")
        .iter()
        .find(|r| r["region"] == lost_region)
        .expect("the lost region was audited")["missing"]
        .as_array()
        .expect("missing")
        .iter()
        .filter_map(|k| k.as_str())
        .collect();
    for key in &lacking {
        assert!(
            audit_missing.contains(&key.as_str()),
            "{key} missing in the audit"
        );
    }
    assert_eq!(report["recovery"]["rpo"], 0);

    let junit = std::fs::read_to_string(report_dir.join("junit.xml")).expect("junit.xml");
    assert_eq!(junit.matches("<failure").count(), 1, "{junit}");
    assert!(junit.contains(&lacking[0]), "{junit}");
}
