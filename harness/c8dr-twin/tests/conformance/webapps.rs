//! Web apps and redeploys (contract §4 "Failback Helm switches"; page failback steps 1, 2
//! and 5).

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::Env;

const WEBAPP_INDEX: &str = "tasklist-draft-task-variable-8.3.0_";

async fn draft_ids(env: &Env, r: u8) -> Vec<String> {
    let hits = env
        .post(
            env.es(r),
            &format!("/{WEBAPP_INDEX}/_search"),
            Some(&json!({"size": 10000, "_source": ["id"]})),
        )
        .await
        .json();
    hits["hits"]["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["_id"].as_str().map(str::to_owned))
        .collect()
}

fn statuses(release: &Value) -> Vec<(u64, String)> {
    release["brokers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            (
                b["nodeId"].as_u64().unwrap_or(0),
                b["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// §4: with Operate/Tasklist on, a region's web apps write users' data into that region's
/// Elasticsearch; switching them off redeploys the region, restarting its brokers one at a
/// time (highest ordinal first), and the writes stop once the last old pod is gone.
#[tokio::test]
async fn s4_webapps_write_to_their_region_and_redeploys_roll_one_broker_at_a_time() {
    let env = Env::start().await;
    env.advance(Duration::from_secs(5));
    for r in [0_u8, 1] {
        let ids = draft_ids(&env, r).await;
        assert_eq!(ids.len(), 5, "one document per second in region {r}");
        assert!(
            ids.iter()
                .all(|i| i.starts_with(&format!("draft-region{r}-")))
        );
    }
    let release = env
        .release(
            0,
            &json!({"values": {"orchestration.profiles.operate": false,
                                "orchestration.profiles.tasklist": false}}),
        )
        .await;
    assert_eq!(release["revision"], 2);
    assert_eq!(
        release["activeProfiles"],
        json!(["broker", "identity", "consolidated-auth"])
    );
    let mut order: Vec<u64> = Vec::new();
    for _ in 0..400 {
        let rel = env
            .get(env.control(), "/twin/v1/regions/0/release")
            .await
            .json();
        let restarting: Vec<u64> = statuses(&rel)
            .into_iter()
            .filter(|(_, s)| s == "restarting")
            .map(|(b, _)| b)
            .collect();
        assert!(
            restarting.len() <= 1,
            "one broker at a time: {restarting:?}"
        );
        if let Some(b) = restarting.first()
            && order.last() != Some(b)
        {
            order.push(*b);
        }
        if rel["rolloutComplete"] == true {
            break;
        }
        env.advance(Duration::from_millis(500));
    }
    assert_eq!(order, vec![6, 4, 2, 0]);
    let stopped = draft_ids(&env, 0).await.len();
    env.advance(Duration::from_secs(10));
    assert_eq!(draft_ids(&env, 0).await.len(), stopped, "web apps are off");
    assert!(
        draft_ids(&env, 1).await.len() > 20,
        "region 1 keeps writing"
    );
    // An upgrade without changes only bumps the revision.
    let again = env
        .release(
            0,
            &json!({"values": {"orchestration.profiles.operate": false,
                                "orchestration.profiles.tasklist": false}}),
        )
        .await;
    assert_eq!(again["revision"], 3);
    assert!(statuses(&again).iter().all(|(_, s)| s == "running"));
}

/// Page failback step 1: the recreated region's brokers do not become Ready while they are
/// not cluster members; they are once the re-add made them members.
#[tokio::test]
async fn page_failback_step1_new_brokers_are_not_ready_until_members() {
    let env = Env::start().await;
    env.lose(1, "down").await;
    env.failover(1).await;
    env.recreate(1).await;
    env.release(1, &json!({})).await;
    env.wait_rollout(1).await;
    let rel = env
        .get(env.control(), "/twin/v1/regions/1/release")
        .await
        .json();
    assert!(
        rel["brokers"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|b| b["status"] == "running" && b["ready"] == false)
    );
    let a = env.get(env.mgmt(1), "/actuator/health/readiness").await;
    assert_eq!((a.status, a.json()), (503, json!({"status": "DOWN"})));
    assert_eq!(
        env.get(env.mgmt(1), "/actuator/health/liveness")
            .await
            .status,
        200
    );
    assert_eq!(
        env.get(env.mgmt(0), "/actuator/health/readiness")
            .await
            .status,
        200
    );
    env.patch(
        env.mgmt(0),
        "/actuator/cluster",
        &json!({"brokers": {"add": [1, 3, 5, 7]}, "partitions": {"replicationFactor": 4}}),
    )
    .await;
    env.wait_change(0, 6).await;
    assert_eq!(
        env.get(env.mgmt(1), "/actuator/health/readiness")
            .await
            .status,
        200
    );
}
