//! `GET /v2/topology`, `GET /v2/status` and authentication (contract §2, §2.1, §2.2), against
//! the page's topology examples.

use std::time::Duration;

use c8dr_twin::TwinConfig;
use reqwest::Method;
use serde_json::json;

use crate::support::{
    Env, assert_one_leader_per_healthy_partition, assert_topology_like, exact_config, fixture,
    topology_partitions,
};

/// §2.1 + page failover step 1: the region-1-lost topology lists only the gossip members of
/// the survivor once failure detection removed the others; sizes still come from the
/// configuration (8 / 8 / 4). The page's example shows leaders although no partition has a
/// quorum; the twin shows none (see the fixtures README).
#[tokio::test]
async fn s2_1_before_failover_matches_the_page_example() {
    let env = Env::start().await;
    env.lose(1, "down").await;
    // Failure detection has not removed the lost brokers yet.
    let t = env.topology(0).await;
    assert_eq!(t["brokers"].as_array().map(Vec::len), Some(8));
    env.advance(Duration::from_secs(3));
    let t = env.topology(0).await;
    let page = fixture("topology-before-failover.json");
    assert_eq!(topology_partitions(&t), topology_partitions(&page));
    for key in [
        "clusterSize",
        "partitionsCount",
        "replicationFactor",
        "gatewayVersion",
    ] {
        assert_eq!(t[key], page[key], "{key}");
    }
    for b in t["brokers"].as_array().into_iter().flatten() {
        for p in b["partitions"].as_array().into_iter().flatten() {
            assert_eq!(
                (p["role"].as_str(), p["health"].as_str()),
                (Some("follower"), Some("unhealthy"))
            );
        }
    }
    assert_eq!(t["lastCompletedChangeId"], "-1");
}

/// §2.1 + page failover step 1 verification: after the force-remove the sizes come from the
/// new configuration (4 brokers, replication factor 2 = the minimum replica count), each
/// partition has one leader.
#[tokio::test]
async fn s2_1_after_failover_matches_the_page_example() {
    let env = Env::start().await;
    env.lose(1, "down").await;
    env.failover(1).await;
    let t = env.topology(0).await;
    assert_topology_like(&t, &fixture("topology-after-failover.json"));
    assert_eq!(t["lastCompletedChangeId"], "4");
}

/// §2.1 + page failback step 1: brokers of the recreated region join gossip and are listed
/// with `partitions: []` before they are configuration members.
#[tokio::test]
async fn s2_1_failback_step1_lists_new_brokers_without_partitions() {
    let env = Env::start().await;
    env.lose(1, "down").await;
    env.failover(1).await;
    env.recreate(1).await;
    env.release(
        1,
        &json!({"values": {"orchestration.profiles.operate": false,
                            "orchestration.profiles.tasklist": false},
                "env": {"CAMUNDA_DATABASE_SCHEMAMANAGER_CREATESCHEMA": "false"}}),
    )
    .await;
    env.wait_rollout(1).await;
    let t = env.topology(0).await;
    assert_topology_like(&t, &fixture("topology-failback-step1.json"));
    // The recreated region's own gateway sees the same cluster.
    assert_eq!(
        topology_partitions(&env.topology(1).await),
        topology_partitions(&t)
    );
}

/// §3.4 vs the page's failback step 8 example (an artifact): after the re-add the odd
/// brokers hold {1,2,7,8}/{1,2,3,4}/{3,4,5,6}/{5,6,7,8}, not copies of the even brokers'
/// lists, and the sizes are 8 / 4, not 4 / 2.
#[tokio::test]
async fn s3_4_after_failback_differs_from_the_page_artifact() {
    let env = Env::start().await;
    env.lose(1, "down").await;
    env.failover(1).await;
    env.recreate(1).await;
    env.release(1, &json!({})).await;
    env.wait_rollout(1).await;
    env.patch(
        env.mgmt(0),
        "/actuator/cluster",
        &json!({"brokers": {"add": [1, 3, 5, 7]}, "partitions": {"replicationFactor": 4}}),
    )
    .await;
    env.wait_change(0, 6).await;
    env.wait_leaders(0).await;
    let t = env.topology(0).await;
    let page = fixture("topology-after-failback.json");
    let real = topology_partitions(&t);
    let shown = topology_partitions(&page);
    // The even brokers are what the page shows; the odd ones are not.
    for b in [0_usize, 2, 4, 6] {
        assert_eq!(real[b], shown[b]);
    }
    assert_eq!(real[1], (1, vec![1, 2, 7, 8]));
    assert_eq!(shown[1], (1, vec![1, 6, 7, 8]));
    assert_eq!(real[7], (7, vec![5, 6, 7, 8]));
    assert_eq!(shown[7], (7, vec![4, 5, 6, 7]));
    assert_eq!(
        (
            page["clusterSize"].clone(),
            page["replicationFactor"].clone()
        ),
        (json!(4), json!(2))
    );
    assert_eq!(
        (t["clusterSize"].clone(), t["replicationFactor"].clone()),
        (json!(8), json!(4))
    );
    assert_eq!(t["lastCompletedChangeId"], "6");
    assert_one_leader_per_healthy_partition(&t);
}

/// §2: `/v2/**` needs basic authentication (default demo:demo, configurable); otherwise 401
/// `application/problem+json` with `WWW-Authenticate`. `/v2/status` is public.
#[tokio::test]
async fn s2_basic_authentication_default_and_configured() {
    let env = Env::start().await;
    let rest = env.rest(0);
    let a = env
        .try_send(Method::GET, rest, "/v2/topology", None, false)
        .await
        .expect("answers");
    assert_eq!(a.status, 401);
    assert_eq!(a.content_type.as_deref(), Some("application/problem+json"));
    assert_eq!(
        a.www_authenticate.as_deref(),
        Some("Basic realm=\"camunda\"")
    );
    let problem = a.json();
    assert_eq!(problem["status"], 401);
    assert_eq!(problem["instance"], "/v2/topology");
    for key in ["type", "title", "detail"] {
        assert!(problem[key].is_string(), "{key}");
    }
    assert_eq!(env.get(rest, "/v2/topology").await.status, 200);
    let a = env
        .try_send(Method::GET, rest, "/v2/status", None, false)
        .await
        .expect("answers");
    assert_eq!(a.status, 204);

    let custom: TwinConfig = exact_config().with_credentials("ops", "s3cret");
    let env = Env::with_config(custom).await;
    assert_eq!(env.get(env.rest(1), "/v2/topology").await.status, 200);
    let mut demo = Env::with_config(exact_config().with_credentials("ops", "s3cret")).await;
    demo.auth = Some(("demo".to_owned(), "demo".to_owned()));
    assert_eq!(demo.get(demo.rest(0), "/v2/topology").await.status, 401);
}

/// §2.2: `/v2/status` is 204 while some partition has a healthy leader, 503 otherwise.
#[tokio::test]
async fn s2_2_status_follows_leadership() {
    let env = Env::start().await;
    assert_eq!(env.get(env.rest(0), "/v2/status").await.status, 204);
    env.lose(1, "down").await;
    let a = env.get(env.rest(0), "/v2/status").await;
    assert_eq!((a.status, a.text.as_str()), (503, ""));
    env.failover(1).await;
    assert_eq!(env.get(env.rest(0), "/v2/status").await.status, 204);
}

/// §2.1: the field set and types of the 8.8 topology answer; ports and versions.
#[tokio::test]
async fn s2_1_field_set_and_types() {
    let env = Env::start().await;
    let t = env.topology(1).await;
    let mut keys: Vec<&String> = t
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "brokers",
            "clusterSize",
            "gatewayVersion",
            "lastCompletedChangeId",
            "partitionsCount",
            "replicationFactor"
        ]
    );
    assert!(t["lastCompletedChangeId"].is_string());
    let b1 = &t["brokers"][1];
    assert_eq!(b1["nodeId"], 1);
    assert_eq!(b1["host"], "camunda-zeebe-0.camunda-zeebe.camunda-paris");
    assert_eq!(b1["port"], 26501);
    assert_eq!(b1["version"], "8.8.0");
    assert_one_leader_per_healthy_partition(&t);
}
