//! Configuration changes: versions, change ids, pending changes, dry runs, empty plans,
//! cancel, 409, operation objects (contract §1.2–§1.6).

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Env, placement, reference_placement};

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// §1.3: a change starts at version + 1 (its id), completion adds 1; ids 2, 4, 6, 8 over the
/// procedure; `pendingChange` lists completed (with `completedAt`) and pending operations and
/// has no `startedAt`; `/v2/topology` reports the last completed id as a string.
#[tokio::test]
async fn s1_3_versions_and_change_ids_advance_by_two_per_change() {
    let env = Env::start().await;
    let c = env.cluster(0).await;
    assert_eq!(c["version"], 1);
    assert!(c.get("lastChange").is_none() && c.get("pendingChange").is_none());
    assert_eq!(env.topology(0).await["lastCompletedChangeId"], "-1");

    env.lose(1, "down").await;
    let a = env
        .patch(
            env.mgmt(0),
            "/actuator/cluster?force=true",
            &json!({"brokers": {"remove": [1, 3, 5, 7]}}),
        )
        .await;
    assert_eq!(a.status, 202);
    assert_eq!(a.json()["changeId"], 2);
    let c = env.cluster(0).await;
    assert_eq!(c["version"], 2);
    let pending = &c["pendingChange"];
    assert_eq!(
        keys(pending),
        set(&["id", "status", "completed", "pending"])
    );
    assert_eq!(pending["id"], 2);
    assert_eq!(pending["status"], "IN_PROGRESS");
    assert_eq!(pending["pending"].as_array().map(Vec::len), Some(12));
    env.advance(Duration::from_millis(260));
    let c = env.cluster(0).await;
    let done = &c["pendingChange"]["completed"];
    assert_eq!(done.as_array().map(Vec::len), Some(1));
    assert_eq!(
        keys(&done[0]),
        set(&[
            "operation",
            "brokerId",
            "partitionId",
            "brokers",
            "completedAt"
        ])
    );
    assert_eq!(done[0]["completedAt"], "2025-09-29T11:00:00.250Z");
    assert_eq!(
        c["pendingChange"]["pending"].as_array().map(Vec::len),
        Some(11)
    );

    let c = env.wait_change(0, 2).await;
    assert_eq!(c["version"], 3);
    assert!(c.get("pendingChange").is_none());
    assert_eq!(
        keys(&c["lastChange"]),
        set(&["id", "status", "startedAt", "completedAt"])
    );
    assert_eq!(env.topology(0).await["lastCompletedChangeId"], "2");

    let a = env
        .post(
            env.mgmt(0),
            "/actuator/exporters/camundaregion1/disable",
            None,
        )
        .await;
    assert_eq!((a.status, a.json()["changeId"].clone()), (202, json!(4)));
    assert_eq!(env.wait_change(0, 4).await["version"], 5);
    // The enable completes only once the exporter can open on the partitions' leaders, which
    // needs region 1's Elasticsearch back with the 8.8 schema (here created by its brokers).
    env.recreate(1).await;
    env.release(1, &json!({})).await;
    env.wait_rollout(1).await;
    let a = env
        .post(
            env.mgmt(0),
            "/actuator/exporters/camundaregion1/enable",
            Some(&json!({"initializeFrom": "camundaregion0"})),
        )
        .await;
    assert_eq!((a.status, a.json()["changeId"].clone()), (202, json!(6)));
    assert_eq!(env.wait_change(0, 6).await["version"], 7);

    let a = env
        .patch(
            env.mgmt(0),
            "/actuator/cluster",
            &json!({"brokers": {"add": [1, 3, 5, 7]}, "partitions": {"replicationFactor": 4}}),
        )
        .await;
    assert_eq!((a.status, a.json()["changeId"].clone()), (202, json!(8)));
    let c = env.wait_change(0, 8).await;
    assert_eq!(c["version"], 9);
    // The page shows change id 6 again after the re-add (a copy artifact): it is 8.
    assert_eq!(
        crate::support::fixture("lastchange-failback-step8.json")["id"],
        6
    );
    assert_eq!(c["lastChange"]["id"], 8);
    assert_eq!(placement(&c["brokers"]), reference_placement());
    assert_eq!(env.topology(1).await["lastCompletedChangeId"], "8");
}

/// §1.3: a dry run validates and simulates only; its `changeId` is version + 1 and nothing is
/// persisted.
#[tokio::test]
async fn s1_3_dry_run_reports_version_plus_one_and_changes_nothing() {
    let env = Env::start().await;
    let before = env.cluster(0).await;
    let a = env
        .patch(
            env.mgmt(0),
            "/actuator/cluster?force=true&dryRun=true",
            &json!({"brokers": {"remove": [1, 3, 5, 7]}}),
        )
        .await;
    assert_eq!(a.status, 202);
    assert_eq!(a.json()["changeId"], 2);
    assert_eq!(
        a.json()["plannedChanges"].as_array().map(Vec::len),
        Some(12)
    );
    let a = env
        .post(
            env.mgmt(0),
            "/actuator/exporters/camundaregion1/disable?dryRun=true",
            None,
        )
        .await;
    assert_eq!((a.status, a.json()["changeId"].clone()), (202, json!(2)));
    assert_eq!(env.cluster(0).await, before);
}

/// §1.3: a request with nothing to do is not an error: 202 with `plannedChanges: []`, the id
/// of the last change (0 before any) and current == expected.
#[tokio::test]
async fn s1_3_empty_plan_is_202_with_the_last_change_id() {
    let env = Env::start().await;
    let add_existing = json!({"brokers": {"add": [1]}});
    let a = env
        .patch(env.mgmt(0), "/actuator/cluster", &add_existing)
        .await;
    assert_eq!(a.status, 202);
    let body = a.json();
    assert_eq!(body["changeId"], 0);
    assert_eq!(body["plannedChanges"], json!([]));
    assert_eq!(body["currentTopology"], body["expectedTopology"]);
    let a = env
        .post(
            env.mgmt(0),
            "/actuator/exporters/camundaregion1/disable",
            None,
        )
        .await;
    assert_eq!(a.status, 202);
    env.wait_change(0, 2).await;
    let a = env
        .patch(env.mgmt(0), "/actuator/cluster", &add_existing)
        .await;
    assert_eq!((a.status, a.json()["changeId"].clone()), (202, json!(2)));
    assert_eq!(env.cluster(0).await["version"], 3);
}

/// §1.6 cancel: validation messages, 501 for dry runs; a cancel adds 2 to the version,
/// records `CANCELLED`, keeps the operations already applied, and answers 200 with the full
/// cluster body.
#[tokio::test]
async fn s1_6_cancel_adds_two_records_cancelled_and_answers_the_cluster() {
    let env = Env::start().await;
    let m = env.mgmt(0);
    let a = env.delete(m, "/actuator/cluster/changes/x").await;
    assert_eq!(a.status, 400);
    assert_eq!(a.json(), json!({"message": "Change id must be a number"}));
    let a = env.delete(m, "/actuator/cluster/changes/2").await;
    assert_eq!(
        (a.status, a.json()),
        (
            400,
            json!({"message": "Cannot cancel change 2 because no change is in progress"})
        )
    );
    let a = env
        .post(m, "/actuator/exporters/camundaregion1/disable", None)
        .await;
    assert_eq!(a.json()["changeId"], 2);
    env.advance(Duration::from_millis(1_100));
    let a = env.delete(m, "/actuator/cluster/changes/3").await;
    assert_eq!(
        a.json()["message"],
        "Cannot cancel change 3 because it is not the current change"
    );
    let a = env
        .delete(m, "/actuator/cluster/changes/2?dryRun=true")
        .await;
    assert_eq!(a.status, 501);
    assert_eq!(a.text, "Dry run is not supported for cancelling changes");
    let a = env.delete(m, "/actuator/cluster/changes/2").await;
    assert_eq!(a.status, 200);
    let body = a.json();
    assert_eq!(body["version"], 4);
    assert_eq!(body["lastChange"]["id"], 2);
    assert_eq!(body["lastChange"]["status"], "CANCELLED");
    assert!(body.get("pendingChange").is_none());
    assert_eq!(body, env.cluster(0).await);
    // Four operations had been applied: partitions 1, 6, 7, 8 of broker 0 stay disabled.
    let disabled: Vec<&Value> = body["brokers"][0]["partitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["config"]["exporting"]["exporters"][1]["state"] == "DISABLED")
        .collect();
    assert_eq!(disabled.len(), 4);
    assert_eq!(
        env.exporters(0).await,
        json!([{"exporterId": "camundaregion0", "status": "ENABLED"},
               {"exporterId": "camundaregion1", "status": "UNKNOWN"}])
    );
}

/// §1.3: any change request while another change is pending answers 409.
#[tokio::test]
async fn s1_3_another_change_in_progress_is_409() {
    let env = Env::start().await;
    let m = env.mgmt(0);
    env.post(m, "/actuator/exporters/camundaregion1/disable", None)
        .await;
    for (method, path, body) in [
        (
            Method::PATCH,
            "/actuator/cluster",
            Some(json!({"brokers": {"remove": [7]}})),
        ),
        (
            Method::POST,
            "/actuator/exporters/camundaregion0/disable",
            None,
        ),
        (Method::POST, "/actuator/cluster/brokers/9", None),
    ] {
        let a = env.send(method, m, path, body.as_ref()).await;
        assert_eq!(a.status, 409, "{path}");
        let msg = a.json()["message"].as_str().unwrap_or_default().to_owned();
        assert!(
            msg.starts_with("Cannot apply configuration change. Another configuration change")
                && msg.ends_with("is in progress."),
            "{msg}"
        );
    }
}

/// §1.4: the operation kinds and exactly the fields each one carries.
#[tokio::test]
async fn s1_4_operation_kinds_carry_their_fields() {
    let env = Env::start().await;
    let m = env.mgmt(0);
    let mut seen: Vec<(String, BTreeSet<String>)> = Vec::new();
    let mut collect = |plan: &Value| {
        for op in plan["plannedChanges"].as_array().into_iter().flatten() {
            let kind = op["operation"].as_str().unwrap_or_default().to_owned();
            let k = keys(op);
            if !seen.iter().any(|(sk, sf)| *sk == kind && *sf == k) {
                seen.push((kind, k));
            }
        }
    };
    collect(
        &env.patch(
            m,
            "/actuator/cluster?force=true&dryRun=true",
            &json!({"brokers": {"remove": [1, 3, 5, 7]}}),
        )
        .await
        .json(),
    );
    collect(
        &env.patch(
            m,
            "/actuator/cluster?dryRun=true",
            &json!({"brokers": {"remove": [7]}}),
        )
        .await
        .json(),
    );
    collect(
        &env.post(m, "/actuator/cluster/brokers/9?dryRun=true", None)
            .await
            .json(),
    );
    for path in [
        "/actuator/exporters/camundaregion1/disable?dryRun=true",
        "/actuator/exporters/camundaregion1/enable?dryRun=true",
    ] {
        collect(&env.post(m, path, None).await.json());
    }
    collect(
        &env.delete(m, "/actuator/exporters/camundaregion1?dryRun=true")
            .await
            .json(),
    );
    let expected = [
        (
            "PARTITION_FORCE_RECONFIGURE",
            &["operation", "brokerId", "partitionId", "brokers"][..],
        ),
        ("BROKER_REMOVE", &["operation", "brokerId", "brokers"][..]),
        (
            "PARTITION_JOIN",
            &["operation", "brokerId", "partitionId", "priority"][..],
        ),
        (
            "PARTITION_LEAVE",
            &["operation", "brokerId", "partitionId"][..],
        ),
        (
            "PARTITION_RECONFIGURE_PRIORITY",
            &["operation", "brokerId", "partitionId", "priority"][..],
        ),
        ("BROKER_REMOVE", &["operation", "brokerId"][..]),
        ("BROKER_ADD", &["operation", "brokerId"][..]),
        (
            "PARTITION_DISABLE_EXPORTER",
            &["operation", "brokerId", "partitionId", "exporterId"][..],
        ),
        (
            "PARTITION_ENABLE_EXPORTER",
            &["operation", "brokerId", "partitionId", "exporterId"][..],
        ),
        (
            "PARTITION_DELETE_EXPORTER",
            &["operation", "brokerId", "partitionId", "exporterId"][..],
        ),
    ];
    let expected: Vec<(String, BTreeSet<String>)> = expected
        .iter()
        .map(|(k, f)| ((*k).to_owned(), set(f)))
        .collect();
    assert_eq!(seen, expected);
    // The graceful remove ends with the leaving broker's own BROKER_REMOVE.
    let plan = env
        .patch(
            m,
            "/actuator/cluster?dryRun=true",
            &json!({"brokers": {"remove": [7]}}),
        )
        .await
        .json();
    let ops = plan["plannedChanges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        ops.last(),
        Some(&json!({"operation": "BROKER_REMOVE", "brokerId": 7}))
    );
}

/// §1.5: the 202 body carries the configuration before (`currentTopology`) and the simulated
/// result (`expectedTopology`); for the failover force-remove the latter is §3.3.
#[tokio::test]
async fn s1_5_current_and_expected_topology_of_the_force_remove() {
    let env = Env::start().await;
    let before = env.cluster(0).await;
    env.lose(1, "down").await;
    let a = env
        .patch(
            env.mgmt(0),
            "/actuator/cluster?force=true",
            &json!({"brokers": {"remove": [1, 3, 5, 7]}}),
        )
        .await;
    let body = a.json();
    assert_eq!(
        keys(&body),
        set(&[
            "changeId",
            "currentTopology",
            "plannedChanges",
            "expectedTopology"
        ])
    );
    assert_eq!(body["currentTopology"], before["brokers"]);
    let even: Vec<(u64, Vec<(u64, u64)>)> = reference_placement()
        .into_iter()
        .filter(|(b, _)| b % 2 == 0)
        .collect();
    assert_eq!(placement(&body["expectedTopology"]), even);
    for b in body["expectedTopology"].as_array().into_iter().flatten() {
        assert_eq!(
            keys(b),
            set(&["id", "state", "version", "lastUpdatedAt", "partitions"])
        );
        assert_eq!(b["state"], "ACTIVE");
    }
    let after = env.wait_change(0, 2).await;
    assert_eq!(placement(&after["brokers"]), even);
}

/// §1.2: members never updated show `0000-01-01T00:00:00Z`; every update bumps the member's
/// `version` and `lastUpdatedAt`.
#[tokio::test]
async fn s1_2_member_versions_and_last_updated_at() {
    let env = Env::start().await;
    let c = env.cluster(0).await;
    for b in c["brokers"].as_array().into_iter().flatten() {
        assert_eq!(b["lastUpdatedAt"], "0000-01-01T00:00:00Z");
        assert_eq!(b["version"], 0);
        assert_eq!(b["state"], "ACTIVE");
    }
    env.advance(Duration::from_secs(60));
    env.post(
        env.mgmt(0),
        "/actuator/exporters/camundaregion1/disable",
        None,
    )
    .await;
    let c = env.wait_change(0, 2).await;
    let b0 = &c["brokers"][0];
    // One operation per partition of broker 0.
    assert_eq!(b0["version"], 4);
    let updated = b0["lastUpdatedAt"].as_str().unwrap_or_default();
    assert!(updated.starts_with("2025-09-29T11:01:0"), "{updated}");
    assert!(updated >= c["lastChange"]["startedAt"].as_str().unwrap_or_default());
}

/// §1.6: the single-member endpoints and the 501 answers.
#[tokio::test]
async fn s1_6_single_member_endpoints_and_unsupported_paths() {
    let env = Env::start().await;
    let m = env.mgmt(0);
    let op = |a: &crate::support::Answer| a.json()["plannedChanges"].clone();
    let a = env
        .post(m, "/actuator/cluster/brokers/9?dryRun=true", None)
        .await;
    assert_eq!(a.status, 202);
    assert_eq!(op(&a), json!([{"operation": "BROKER_ADD", "brokerId": 9}]));
    let a = env
        .delete(m, "/actuator/cluster/brokers/7?dryRun=true")
        .await;
    assert_eq!(
        op(&a),
        json!([{"operation": "BROKER_REMOVE", "brokerId": 7}])
    );
    for path in [
        "/actuator/cluster/brokers/7/partitions/1?dryRun=true",
        "/actuator/cluster/partitions/1/brokers/7?dryRun=true",
    ] {
        let a = env.post(m, path, Some(&json!({"priority": 1}))).await;
        assert_eq!(a.status, 202, "{path}");
        assert_eq!(
            op(&a),
            json!([{"operation": "PARTITION_JOIN", "brokerId": 7, "partitionId": 1, "priority": 1}])
        );
    }
    let a = env
        .send(
            Method::DELETE,
            m,
            "/actuator/cluster/brokers/0/partitions/1?dryRun=true",
            Some(&json!({})),
        )
        .await;
    assert_eq!(
        op(&a),
        json!([{"operation": "PARTITION_LEAVE", "brokerId": 0, "partitionId": 1}])
    );
    let a = env
        .delete(m, "/actuator/cluster/brokers/0/partitions/1")
        .await;
    assert_eq!(a.status, 415, "consumes application/json");
    let a = env.post(m, "/actuator/cluster/partitions", None).await;
    assert_eq!(
        (a.status, a.text.as_str()),
        (501, "Scaling partitions is not supported")
    );
    let a = env.post(m, "/actuator/cluster/changes", None).await;
    assert_eq!(a.status, 501);
    assert_eq!(
        a.text,
        "Changing cluster directly is not supported. Use POST /cluster/brokers for scaling the cluster"
    );
    assert_eq!(env.cluster(0).await["version"], 1);
}
