//! The exporting API and exporting itself (contract §1.8, §4 "Exporting behaviour").

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
