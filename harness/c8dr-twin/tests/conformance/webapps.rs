//! Web apps and redeploys (contract §4 "Failback Helm switches"; page failback steps 1, 2
//! and 5).

use std::collections::BTreeMap;
use std::time::Duration;

use rstest::rstest;
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

/// Documents per index of region `r`'s Elasticsearch (`_cat/indices`).
async fn doc_counts(env: &Env, r: u8) -> BTreeMap<String, u64> {
    let cat = env.get(env.es(r), "/_cat/indices?format=json").await.json();
    cat.as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let count = i["docs.count"]
                .as_str()
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| panic!("docs.count of {i}"));
            (i["index"].as_str().unwrap_or_default().to_owned(), count)
        })
        .collect()
}

/// Indices whose document counts differ between two regions.
fn differing(a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>) -> Vec<String> {
    a.keys()
        .chain(b.keys())
        .filter(|i| a.get(*i) != b.get(*i))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// §4 "Failback Helm switches" (page failback steps 2–4.7): a snapshot of the surviving
/// region taken while its web apps run misses what they write afterwards, so the region
/// restored from it lacks those users' data; with the web apps switched off first (the page's
/// step 2), nothing is written after the snapshot and the restore matches the survivor index
/// by index. Exporting is paused (step 3) in both cases, so the web apps are the only writers.
#[rstest]
#[case::survivor_webapps_on(true)]
#[case::survivor_webapps_off(false)]
#[tokio::test]
async fn s4_a_snapshot_misses_what_running_webapps_write_afterwards(
    #[case] survivor_webapps: bool,
) {
    let (lost, surv) = (1_u8, 0_u8);
    let env = Env::start().await;
    env.deploy(surv).await;
    env.create(surv).await;
    env.lose(lost, "down").await;
    env.failover(lost).await;
    let webapps = json!({"orchestration.profiles.operate": survivor_webapps,
                         "orchestration.profiles.tasklist": survivor_webapps});
    let off = json!({"orchestration.profiles.operate": false,
                     "orchestration.profiles.tasklist": false});
    env.recreate(lost).await;
    env.release(
        lost,
        &json!({"values": off,
                "env": {"CAMUNDA_DATABASE_SCHEMAMANAGER_CREATESCHEMA": "false"}}),
    )
    .await;
    env.wait_rollout(lost).await;
    env.release(surv, &json!({"values": webapps})).await;
    env.wait_rollout(surv).await;
    env.wait_leaders(surv).await;
    let a = env
        .post(env.mgmt(surv), "/actuator/exporting/pause", None)
        .await;
    assert_eq!(a.json()["status"], 204, "{}", a.text);
    let repo = json!({"type": "s3", "settings": {"bucket": "c8dr-elastic-backup",
                                                  "client": "camunda", "base_path": "backups"}});
    let a = env
        .put(env.es(surv), "/_snapshot/camunda_backup", Some(&repo))
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let at_snapshot = doc_counts(&env, surv).await;
    assert!(at_snapshot[WEBAPP_INDEX] > 0, "the web apps wrote before");
    let a = env
        .put(
            env.es(surv),
            "/_snapshot/camunda_backup/failback?wait_for_completion=true",
            Some(&json!({"include_global_state": true})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["snapshot"]["state"], "SUCCESS");
    // Users keep working in the surviving region while the backup is restored elsewhere
    // (the repository is registered there once the snapshot exists, page step 4.5).
    env.advance(Duration::from_secs(10));
    let a = env
        .put(env.es(lost), "/_snapshot/camunda_backup", Some(&repo))
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = env
        .post(
            env.es(lost),
            "/_snapshot/camunda_backup/failback/_restore?wait_for_completion=true",
            Some(&json!({"include_global_state": true})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    env.advance(Duration::from_secs(5));
    let survivor = doc_counts(&env, surv).await;
    let restored = doc_counts(&env, lost).await;
    assert_eq!(
        restored, at_snapshot,
        "the restore holds what the survivor held when the snapshot started"
    );
    if survivor_webapps {
        assert_eq!(
            differing(&survivor, &restored),
            vec![WEBAPP_INDEX.to_owned()]
        );
        let missed = survivor[WEBAPP_INDEX] - restored[WEBAPP_INDEX];
        assert!(
            missed >= 10,
            "one document per second since the snapshot started, missed {missed}"
        );
        let survivor_ids = draft_ids(&env, surv).await;
        let restored_ids = draft_ids(&env, lost).await;
        assert!(
            restored_ids.iter().all(|id| survivor_ids.contains(id)),
            "the restore holds only the survivor's documents"
        );
        assert_eq!(
            survivor_ids.len() - restored_ids.len(),
            usize::try_from(missed).expect("a small count"),
            "exactly the documents written after the snapshot started are missing"
        );
    } else {
        assert_eq!(differing(&survivor, &restored), Vec::<String>::new());
        assert_eq!(
            survivor, at_snapshot,
            "nothing was written after the snapshot"
        );
    }
}
