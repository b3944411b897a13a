//! The exporting API and exporting itself (contract §1.8, §4 "Exporting behaviour"), the
//! pause across broker restarts (`PartitionProcessingState`, `.exporterPaused`) and 8.8's
//! exporter opening only onto a ready schema (`CamundaExporter.open`, `ExporterDirector`).

use std::time::Duration;

use c8dr_twin::{Latencies, TwinConfig};
use serde_json::{Value, json};

use crate::support::{Env, fixtures_dir};

fn key_of(a: &crate::support::Answer) -> String {
    a.json()["processInstanceKey"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn exported(state: &Value, exporter: &str) -> Vec<u64> {
    state["partitions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            p["exporters"][exporter]["exportedPosition"]
                .as_u64()
                .unwrap_or(0)
        })
        .collect()
}

/// §1.8 (8.8 wire quirk) + page failback steps 3 and 7: pause and resume answer HTTP 200 with
/// the serialized `WebEndpointResponse`, not the page's "HTTP/1.1 204 No Content"; the
/// per-broker partition status shows the phase.
#[tokio::test]
async fn s1_8_pause_and_resume_answer_200_with_the_status_in_the_body() {
    let page = std::fs::read_to_string(fixtures_dir().join("exporting-response-page.txt"))
        .expect("fixture");
    assert!(page.contains("HTTP/1.1 204 No Content"));
    let env = Env::start().await;
    let m = env.mgmt(0);
    let ok = json!({"body": null, "status": 204, "contentType": null});
    let a = env.post(m, "/actuator/exporting/pause", None).await;
    assert_eq!(a.status, 200, "not the page's 204");
    assert_eq!(a.content_type.as_deref(), Some("application/json"));
    assert_eq!(a.json(), ok);
    let parts = env.get(m, "/actuator/partitions").await.json();
    assert_eq!(parts["1"]["exporterPhase"], "PAUSED");
    let a = env
        .post(m, "/actuator/exporting/pause?soft=true", None)
        .await;
    assert_eq!((a.status, a.json()), (200, ok.clone()));
    assert_eq!(
        env.get(m, "/actuator/partitions").await.json()["1"]["exporterPhase"],
        "SOFT_PAUSED"
    );
    let a = env.post(m, "/actuator/exporting/resume", None).await;
    assert_eq!((a.status, a.json()), (200, ok));
    assert_eq!(
        env.get(m, "/actuator/partitions").await.json()["1"]["exporterPhase"],
        "EXPORTING"
    );
}

/// §1.8: without a known leader the gateway fails fast inside HTTP 200 (`status: 500`) with
/// `ExportingControlService`'s message, and nothing changes.
#[tokio::test]
async fn s1_8_no_known_leader_fails_in_the_body_and_changes_nothing() {
    let env = Env::start().await;
    env.lose(1, "down").await;
    let a = env
        .post(env.mgmt(0), "/actuator/exporting/pause", None)
        .await;
    assert_eq!(a.status, 200);
    let body = a.json();
    assert_eq!(body["status"], 500);
    assert_eq!(body["contentType"], Value::Null);
    let msg = body["body"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with("Leader -1 of partition 1 is not known, current topology: "),
        "{msg}"
    );
    let state = env.state().await;
    assert!(
        state["partitions"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|p| p["exporterPhase"] == "EXPORTING")
    );
}

/// §1.8: a partition whose leader + followers (as the gateway sees them) are fewer than the
/// replication factor fails the call. Three regions of two brokers, RF 3: losing one region
/// keeps every quorum but leaves 2 of 3 members.
#[tokio::test]
async fn s1_8_fewer_members_than_the_replication_factor_fails() {
    let config = TwinConfig::default()
        .with_regions(3)
        .with_cluster(6, 3, 3)
        .with_latencies(Latencies::default().with_jitter(0.0));
    let env = Env::with_config(config).await;
    env.lose(2, "down").await;
    env.advance(Duration::from_secs(3));
    let a = env
        .post(env.mgmt(0), "/actuator/exporting/pause", None)
        .await;
    let body = a.json();
    assert_eq!((a.status, body["status"].clone()), (200, json!(500)));
    let msg = body["body"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with("Expected 3 members of partition 1 but found 2, current topology: "),
        "{msg}"
    );
}

/// §1.8 + §4: a paused exporting leaves both Elasticsearch clusters stale (positions do not
/// move) until resume, which exports the backlog to both.
#[tokio::test]
async fn s1_8_paused_exporting_leaves_elasticsearch_stale_until_resume() {
    let env = Env::start().await;
    env.deploy(0).await;
    let first = key_of(&env.create(0).await);
    assert!(env.visible(0, &first).await && env.visible(1, &first).await);
    env.post(env.mgmt(0), "/actuator/exporting/pause", None)
        .await;
    let before = env.state().await;
    let held = key_of(&env.create(1).await);
    env.advance(Duration::from_secs(10));
    assert!(!env.visible(0, &held).await && !env.visible(1, &held).await);
    let during = env.state().await;
    assert_eq!(
        exported(&during, "camundaregion0"),
        exported(&before, "camundaregion0")
    );
    assert_eq!(
        exported(&during, "camundaregion1"),
        exported(&before, "camundaregion1")
    );
    env.post(env.mgmt(1), "/actuator/exporting/resume", None)
        .await;
    assert!(env.visible(0, &held).await && env.visible(1, &held).await);
    let after = env.state().await;
    assert_eq!(
        exported(&after, "camundaregion0"),
        exported(&after, "camundaregion1")
    );
    let log_ends: Vec<u64> = after["partitions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["logEnd"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(exported(&after, "camundaregion0"), log_ends);
}

/// §4: one exporter that cannot reach its Elasticsearch blocks every exporter of the
/// partition, so the surviving region goes stale too; disabling it exports the backlog.
#[tokio::test]
async fn s4_one_unreachable_exporter_stalls_every_exporter() {
    let env = Env::start().await;
    env.deploy(0).await;
    env.lose(1, "down").await;
    let a = env
        .patch(
            env.mgmt(0),
            "/actuator/cluster?force=true",
            &json!({"brokers": {"remove": [1, 3, 5, 7]}}),
        )
        .await;
    assert_eq!(a.status, 202);
    env.wait_change(0, 2).await;
    env.wait_leaders(0).await;
    let created = env.create(0).await;
    assert_eq!(created.status, 200);
    let key = key_of(&created);
    let stuck = exported(&env.state().await, "camundaregion0");
    env.advance(Duration::from_secs(30));
    assert!(
        !env.visible(0, &key).await,
        "the survivor's Elasticsearch is stale"
    );
    assert_eq!(exported(&env.state().await, "camundaregion0"), stuck);
    let search = env
        .post(
            env.rest(0),
            "/v2/process-instances/search",
            Some(&json!({"filter": {"processInstanceKey": key}})),
        )
        .await;
    assert_eq!(search.json()["page"]["totalItems"], 0);
    env.post(
        env.mgmt(0),
        "/actuator/exporters/camundaregion1/disable",
        None,
    )
    .await;
    env.wait_change(0, 4).await;
    assert!(env.visible(0, &key).await);
}

fn phases(state: &Value) -> Vec<String> {
    state["partitions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["exporterPhase"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn leaders(state: &Value) -> Vec<Value> {
    state["partitions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["leader"].clone())
        .collect()
}

/// §1.8 + `zeebe/broker/.../partitions/impl/PartitionProcessingState.java` (the pause is
/// persisted in the partition's data directory, `.exporterPaused`, and read back when the
/// partition starts): a hard pause survives a rolling redeploy that restarts every broker
/// and moves leaderships; nothing is exported until resume; a soft pause survives it too.
#[tokio::test]
async fn s1_8_pause_survives_broker_restarts() {
    let env = Env::start().await;
    env.deploy(0).await;
    let a = env
        .post(env.mgmt(0), "/actuator/exporting/pause", None)
        .await;
    assert_eq!(a.json()["status"], 204);
    let before = env.state().await;
    let held = key_of(&env.create(0).await);
    for r in [0_u8, 1] {
        env.release(
            r,
            &json!({"values": {"orchestration.profiles.operate": false}}),
        )
        .await;
        env.wait_rollout(r).await;
        env.wait_leaders(r).await;
    }
    let after = env.state().await;
    assert_ne!(leaders(&after), leaders(&before), "leaderships moved");
    assert!(phases(&after).iter().all(|p| p == "PAUSED"), "{after}");
    for r in [0_u8, 1] {
        let parts = env.get(env.mgmt(r), "/actuator/partitions").await.json();
        assert!(
            parts
                .as_object()
                .into_iter()
                .flatten()
                .all(|(_, p)| p["exporterPhase"] == "PAUSED"),
            "region {r}: {parts}"
        );
    }
    assert_eq!(
        exported(&after, "camundaregion0"),
        exported(&before, "camundaregion0")
    );
    assert!(!env.visible(0, &held).await && !env.visible(1, &held).await);
    let a = env
        .post(env.mgmt(1), "/actuator/exporting/pause?soft=true", None)
        .await;
    assert_eq!(a.json()["status"], 204);
    env.release(0, &json!({})).await;
    env.wait_rollout(0).await;
    env.wait_leaders(0).await;
    assert!(
        phases(&env.state().await)
            .iter()
            .all(|p| p == "SOFT_PAUSED")
    );
    env.post(env.mgmt(0), "/actuator/exporting/resume", None)
        .await;
    assert!(env.visible(0, &held).await && env.visible(1, &held).await);
}

/// §4 + 8.8 sources: the Camunda exporter creates no schema when it opens (camunda/camunda
/// PR #29643 moved `schemaManager.startup()` out of `CamundaExporter.open()` into the
/// application's `SearchEngineSchemaInitializer`, which targets the application's own
/// secondary storage); `open()` checks `isSchemaReadyForUse()` and throws "Schema is not
/// ready for use" (release-8.8.0 backport #38596 of #38502). The leader opens the exporter
/// when it applies the enable (`PartitionConfigurationManager.enableExporter`); the failed
/// operation is retried (`ClusterConfigurationManagerImpl.logAndScheduleRetry`). So an
/// operator who enables the recreated region's exporter before the restore gets a change that
/// stays `IN_PROGRESS` and no index in the recreated Elasticsearch; the restore still
/// succeeds, after which the change completes and the data reaches both regions.
#[tokio::test]
async fn s4_exporter_enabled_before_the_restore_creates_no_schema_and_waits_for_it() {
    let env = Env::start().await;
    env.deploy(0).await;
    let before_loss = key_of(&env.create(0).await);
    env.lose(1, "down").await;
    env.failover(1).await;
    env.failback_prepare(1).await;
    let held = key_of(&env.create(0).await);
    // The operator's mistake: enable before the restore.
    let a = env
        .post(
            env.mgmt(0),
            "/actuator/exporters/camundaregion1/enable",
            Some(&json!({"initializeFrom": "camundaregion0"})),
        )
        .await;
    assert_eq!((a.status, a.json()["changeId"].clone()), (202, json!(6)));
    env.advance(Duration::from_secs(120));
    let c = env.cluster(0).await;
    assert_eq!(c["lastChange"]["id"], 4);
    assert_eq!(c["pendingChange"]["id"], 6);
    assert_eq!(c["pendingChange"]["status"], "IN_PROGRESS");
    // The head operation is the enable on partition 1's leader, which cannot open.
    assert_eq!(
        c["pendingChange"]["pending"][0],
        json!({"operation": "PARTITION_ENABLE_EXPORTER", "brokerId": 0, "partitionId": 1,
               "exporterId": "camundaregion1"})
    );
    assert_eq!(
        env.exporters(0).await,
        json!([{"exporterId": "camundaregion0", "status": "ENABLED"},
               {"exporterId": "camundaregion1", "status": "DISABLED"}])
    );
    let cat = env.get(env.es(1), "/_cat/indices?format=json").await;
    assert_eq!(cat.json(), json!([]), "the exporter created nothing");
    // The restore finds no open index in its way; then the exporter opens.
    let a = env.restore(1).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["snapshot"]["shards"]["failed"], 0);
    env.wait_change(0, 6).await;
    let a = env
        .post(env.mgmt(0), "/actuator/exporting/resume", None)
        .await;
    assert_eq!(a.json()["status"], 204);
    assert!(env.visible(0, &held).await && env.visible(1, &held).await);
    assert!(env.visible(1, &before_loss).await);
}

/// §4 + `ExporterDirector.startActiveExportingMode` (every container must open before any
/// record is exported): an exporter opens again on every new leader, so when its target has
/// lost the schema, partitions whose leader changes stop exporting to both regions, while
/// partitions keeping their leader (exporter already open) go on; once the target's schema
/// is back (here created by that region's restarting brokers), they export their backlog.
#[tokio::test]
async fn s4_a_new_leader_reopens_exporters_and_waits_for_the_targets_schema() {
    let env = Env::start().await;
    env.deploy(0).await;
    for index in c8dr_twin::world::SCHEMA_INDICES {
        let a = env.delete(env.es(1), &format!("/{index}")).await;
        assert_eq!(a.status, 200, "{index}: {}", a.text);
    }
    let before = env.state().await;
    // Region 0's brokers restart; the partitions they led get new leaders.
    env.release(
        0,
        &json!({"values": {"orchestration.profiles.operate": false}}),
    )
    .await;
    env.wait_rollout(0).await;
    env.wait_leaders(0).await;
    let after = env.state().await;
    let moved: Vec<u64> = (1..=8)
        .filter(|p| leaders(&before)[*p as usize - 1] != leaders(&after)[*p as usize - 1])
        .collect();
    assert_eq!(moved, vec![1, 3, 5, 7]);
    let mut keys = Vec::new();
    for _ in 0..8 {
        keys.push(key_of(&env.create(0).await));
    }
    env.advance(Duration::from_secs(10));
    for k in &keys {
        let p = k.parse::<u64>().unwrap_or(0) >> 51;
        let exported_now = env.visible(0, k).await;
        assert_eq!(exported_now, p % 2 == 0, "partition {p}");
    }
    // Region 1's brokers restart with schema creation on: the 8.8 index set is back.
    env.release(
        1,
        &json!({"values": {"orchestration.profiles.operate": false}}),
    )
    .await;
    env.wait_rollout(1).await;
    env.wait_leaders(1).await;
    for k in &keys {
        assert!(env.visible(0, k).await && env.visible(1, k).await, "{k}");
    }
}
