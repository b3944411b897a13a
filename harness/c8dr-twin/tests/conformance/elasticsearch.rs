//! Elasticsearch as the procedure uses it (contract §5, §4 "Failback Helm switches"),
//! against the page's `_all` and `_status` examples.

use serde_json::{Value, json};

use crate::support::{Env, assert_same_shape, fixture, sorted_strings};

const REPO: &str = "/_snapshot/camunda_backup";

fn s3_repo() -> Value {
    json!({"type": "s3", "settings": {"bucket": "c8dr-elastic-backup", "client": "camunda",
                                      "base_path": "backups"}})
}

fn index_names(cat: &Value) -> Vec<String> {
    let mut names: Vec<String> = cat
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["index"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// §4 + §5: each region starts with the 8.8 index set (the 33 names of the page's `_all`
/// example); a deployment creates it unless `CAMUNDA_DATABASE_SCHEMAMANAGER_CREATESCHEMA` is
/// `false`.
#[tokio::test]
async fn s4_schema_is_created_on_deploy_unless_disabled() {
    let env = Env::start().await;
    let page_indices = sorted_strings(&fixture("snapshot-all.json")["snapshots"][0]["indices"]);
    assert_eq!(page_indices.len(), 33);
    let cat = env.get(env.es(0), "/_cat/indices?format=json").await.json();
    assert_eq!(index_names(&cat), page_indices);
    env.recreate(1).await;
    env.release(
        1,
        &json!({"env": {"CAMUNDA_DATABASE_SCHEMAMANAGER_CREATESCHEMA": "false"}}),
    )
    .await;
    env.wait_rollout(1).await;
    let cat = env.get(env.es(1), "/_cat/indices?format=json").await.json();
    assert_eq!(cat, json!([]));
    env.recreate(1).await;
    env.release(1, &json!({})).await;
    env.wait_rollout(1).await;
    let cat = env.get(env.es(1), "/_cat/indices?format=json").await.json();
    assert_eq!(index_names(&cat), page_indices);
}

/// §5.2/§5.3 + page failback step 4: a snapshot with `wait_for_completion` answers the
/// snapshot object; the listing matches the page's `_all` example in every field but the
/// uuid and times; a second snapshot with the same name is 400.
#[tokio::test]
async fn s5_3_snapshot_listing_matches_the_page_example() {
    let env = Env::start().await;
    let es = env.es(0);
    let a = env.put(es, REPO, Some(&s3_repo())).await;
    assert_eq!((a.status, a.json()), (200, json!({"acknowledged": true})));
    let a = env
        .put(
            es,
            &format!("{REPO}/failback?wait_for_completion=true"),
            None,
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["snapshot"]["state"], "SUCCESS");
    let all = env.get(es, &format!("{REPO}/_all")).await.json();
    let page = fixture("snapshot-all.json");
    assert_same_shape(&all, &page, "");
    let (s, p) = (&all["snapshots"][0], &page["snapshots"][0]);
    for key in [
        "snapshot",
        "repository",
        "version_id",
        "version",
        "data_streams",
        "include_global_state",
        "state",
        "failures",
        "shards",
        "feature_states",
    ] {
        assert_eq!(s[key], p[key], "{key}");
    }
    assert_eq!(sorted_strings(&s["indices"]), sorted_strings(&p["indices"]));
    assert_eq!(
        (all["total"].clone(), all["remaining"].clone()),
        (json!(1), json!(0))
    );
    assert_eq!(
        s["end_time_in_millis"].as_u64().unwrap_or(0)
            - s["start_time_in_millis"].as_u64().unwrap_or(0),
        s["duration_in_millis"].as_u64().unwrap_or(1)
    );
    let a = env.put(es, &format!("{REPO}/failback"), None).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["error"]["type"], "invalid_snapshot_name_exception");
    assert_eq!(
        a.json()["error"]["reason"],
        "[camunda_backup:failback] Invalid snapshot name [failback], snapshot with the same name already exists"
    );
    assert_eq!(a.json()["status"], 400);
}

/// §5.1 (page step 4.5): a repository registered in the recreated region only knows the
/// snapshots that existed when it was registered; registering it again shows the new one.
#[tokio::test]
async fn s5_1_repository_sees_only_snapshots_existing_at_registration() {
    let env = Env::start().await;
    env.put(env.es(1), REPO, Some(&s3_repo())).await;
    env.put(env.es(0), REPO, Some(&s3_repo())).await;
    env.put(
        env.es(0),
        &format!("{REPO}/failback?wait_for_completion=true"),
        None,
    )
    .await;
    let early = env.get(env.es(1), &format!("{REPO}/_all")).await.json();
    assert_eq!(early, json!({"snapshots": [], "total": 0, "remaining": 0}));
    let a = env.get(env.es(1), &format!("{REPO}/failback")).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.json()["error"]["type"], "snapshot_missing_exception");
    assert_eq!(
        a.json()["error"]["reason"],
        "[camunda_backup:failback] is missing"
    );
    env.put(env.es(1), REPO, Some(&s3_repo())).await;
    let late = env.get(env.es(1), &format!("{REPO}/_all")).await.json();
    assert_eq!(late["total"], 1);
    assert_eq!(
        late["snapshots"][0],
        env.get(env.es(0), &format!("{REPO}/_all")).await.json()["snapshots"][0]
    );
}

/// §5.4: restoring onto an existing open index is 500 `snapshot_restore_exception` naming
/// the first conflicting index with ES's exact text; unknown repository / snapshot are 404.
#[tokio::test]
async fn s5_4_restore_errors_have_the_real_shapes_and_texts() {
    let env = Env::start().await;
    env.put(env.es(0), REPO, Some(&s3_repo())).await;
    let snap = env
        .put(
            env.es(0),
            &format!("{REPO}/failback?wait_for_completion=true"),
            None,
        )
        .await
        .json();
    let uuid = snap["snapshot"]["uuid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    env.put(env.es(1), REPO, Some(&s3_repo())).await;
    let a = env
        .post(
            env.es(1),
            &format!("{REPO}/failback/_restore?wait_for_completion=true"),
            None,
        )
        .await;
    assert_eq!(a.status, 500);
    let reason = format!(
        "[camunda_backup:failback/{uuid}] cannot restore index [camunda-authorization-8.8.0_] because an open index with same name already exists in the cluster. Either close or delete the existing index or restore the index under a different name by providing a rename pattern and replacement name"
    );
    assert_eq!(
        a.json(),
        json!({"error": {"root_cause": [{"type": "snapshot_restore_exception", "reason": reason}],
                         "type": "snapshot_restore_exception", "reason": reason},
               "status": 500})
    );
    let a = env.get(env.es(1), "/_snapshot/nope/_all").await;
    assert_eq!(a.status, 404);
    assert_eq!(
        a.json(),
        json!({"error": {"root_cause": [{"type": "repository_missing_exception", "reason": "[nope] missing"}],
                         "type": "repository_missing_exception", "reason": "[nope] missing"},
               "status": 404})
    );
    let a = env
        .post(env.es(1), &format!("{REPO}/nope/_restore"), None)
        .await;
    assert_eq!(a.status, 404);
    assert_eq!(
        a.json()["error"]["reason"],
        "[camunda_backup:nope] is missing"
    );
}

/// §5.4/§5.5 + page steps 4.7–4.8: the restore onto the empty recreated Elasticsearch
/// succeeds, restores the documents, and `_status` has the page example's shape with
/// `state: SUCCESS` and `done == total`.
#[tokio::test]
async fn s5_5_restore_and_status_match_the_page_example() {
    let env = Env::start().await;
    env.deploy(0).await;
    let created = env.create(0).await;
    let key = created.json()["processInstanceKey"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    env.put(env.es(0), REPO, Some(&s3_repo())).await;
    env.put(
        env.es(0),
        &format!("{REPO}/failback?wait_for_completion=true"),
        None,
    )
    .await;
    env.recreate(1).await;
    env.release(
        1,
        &json!({"env": {"CAMUNDA_DATABASE_SCHEMAMANAGER_CREATESCHEMA": "false"},
                           "values": {"orchestration.profiles.operate": false,
                                      "orchestration.profiles.tasklist": false}}),
    )
    .await;
    env.wait_rollout(1).await;
    env.put(env.es(1), REPO, Some(&s3_repo())).await;
    let a = env
        .post(
            env.es(1),
            &format!("{REPO}/failback/_restore?wait_for_completion=true"),
            None,
        )
        .await;
    assert_eq!(a.status, 200);
    let restored = a.json();
    assert_eq!(restored["snapshot"]["snapshot"], "failback");
    assert_eq!(
        restored["snapshot"]["shards"],
        json!({"total": 33, "failed": 0, "successful": 33})
    );
    let status = env
        .get(env.es(1), &format!("{REPO}/failback/_status"))
        .await
        .json();
    let mut page = fixture("snapshot-status.json");
    // The page elides the per-index entries ("..."); compare them separately.
    let indices = status["snapshots"][0]["indices"].clone();
    page["snapshots"][0]["indices"] = indices.clone();
    assert_same_shape(&status, &page, "");
    let s = &status["snapshots"][0];
    assert_eq!(s["state"], "SUCCESS");
    assert_eq!(s["shards_stats"]["done"], s["shards_stats"]["total"]);
    assert_eq!(s["shards_stats"]["total"], 33);
    assert_eq!(indices.as_object().map(|o| o.len()), Some(33));
    let count = env
        .get(env.es(1), "/operate-list-view-8.3.0_/_count")
        .await
        .json();
    assert_eq!(count["count"], 1);
    assert!(env.visible(1, &key).await);
}

/// §5: document counts per index, in `_cat/indices` (strings, like ES) and `_count`.
#[tokio::test]
async fn s5_document_counts_per_index() {
    let env = Env::start().await;
    env.deploy(0).await;
    for _ in 0..3 {
        env.create(0).await;
    }
    for r in [0_u8, 1] {
        let row = env
            .get(
                env.es(r),
                "/_cat/indices/operate-list-view-8.3.0_?format=json",
            )
            .await
            .json();
        assert_eq!(row[0]["docs.count"], "3");
        assert_eq!(row[0]["status"], "open");
        let c = env
            .get(env.es(r), "/operate-process-8.3.0_/_count")
            .await
            .json();
        assert_eq!(c["count"], 1);
    }
}
