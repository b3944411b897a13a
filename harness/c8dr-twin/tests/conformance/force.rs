//! `force=true` and the placements of failover and failback (contract §1.5, §1.6, §3.3,
//! §3.4).

use serde_json::{Value, json};

use crate::support::{Env, placement, reference_placement, topology_partitions};

/// §1.5: the force rules, checked in their order, each a 400 `{"message"}` with the exact
/// text; nothing changes.
#[tokio::test]
async fn s1_5_force_rules_in_order_with_exact_messages() {
    let env = Env::start().await;
    let cases = [
        (json!({}), "Must provide a set of brokers to force remove."),
        (
            json!({"partitions": {"replicationFactor": 2}}),
            "Must provide a set of brokers to force remove.",
        ),
        (
            json!({"brokers": {"count": 4, "add": [9], "remove": [1]}}),
            "Cannot force change the broker count.",
        ),
        (
            json!({"brokers": {"add": [1, 3, 5, 7]}, "partitions": {"replicationFactor": 4}}),
            "Cannot force add brokers",
        ),
        (
            json!({"brokers": {"remove": [1], "add": [9]}, "partitions": {"count": 9}}),
            "Cannot force add brokers",
        ),
        (
            json!({"brokers": {"remove": [1]}, "partitions": {"count": 9, "replicationFactor": 2}}),
            "Cannot force change the partition count.",
        ),
        (
            json!({"brokers": {"remove": [1]}, "partitions": {"replicationFactor": 2}}),
            "Cannot force change the replication factor.",
        ),
        (
            json!({"brokers": {"remove": []}}),
            "Must provide a set of brokers to force remove.",
        ),
        (
            json!({"brokers": {"add": []}}),
            "Must provide a set of brokers to force remove.",
        ),
    ];
    for (body, message) in cases {
        let a = env
            .patch(env.mgmt(0), "/actuator/cluster?force=true", &body)
            .await;
        assert_eq!(a.status, 400, "{body}");
        assert_eq!(a.json(), json!({"message": message}), "{body}");
    }
    let a = env
        .patch(
            env.mgmt(0),
            "/actuator/cluster?force=true&dryRun=true",
            &json!({"brokers": {"remove": [0, 1, 2, 3, 4, 5, 6, 7]}}),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json()["message"],
        "Expected to force configure and retain members '[]', but this will result in partitions '[1, 2, 3, 4, 5, 6, 7, 8]' having no replicas"
    );
    assert_eq!(env.cluster(0).await["version"], 1);
}

/// §3.3: force-removing the lost region keeps the survivors' replicas and priorities, drops
/// the removed members and lowers the replication factor to 2; unknown ids are ignored.
#[tokio::test]
async fn s3_3_force_remove_keeps_replicas_and_priorities_and_lowers_rf() {
    for lost in [0_u8, 1] {
        let env = Env::start().await;
        let surv = 1 - lost;
        env.lose(lost, "down").await;
        let mut remove: Vec<u32> = (0..8).filter(|b| b % 2 == u32::from(lost)).collect();
        remove.push(42);
        let a = env
            .patch(
                env.mgmt(surv),
                "/actuator/cluster?force=true",
                &json!({"brokers": {"remove": remove}}),
            )
            .await;
        assert_eq!(a.status, 202);
        let plan = a.json()["plannedChanges"].clone();
        let reconfigures: Vec<&Value> = plan
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| o["operation"] == "PARTITION_FORCE_RECONFIGURE")
            .collect();
        assert_eq!(reconfigures.len(), 8);
        let removes: Vec<Value> = plan
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| o["operation"] == "BROKER_REMOVE")
            .map(|o| o["brokers"][0].clone())
            .collect();
        let lost_ids: Vec<Value> = (0..8)
            .filter(|b| b % 2 == u32::from(lost))
            .map(|b| json!(b))
            .collect();
        assert_eq!(removes, lost_ids, "unknown id 42 is ignored");
        let c = env.wait_change(surv, 2).await;
        let expected: Vec<(u64, Vec<(u64, u64)>)> = reference_placement()
            .into_iter()
            .filter(|(b, _)| b % 2 == u64::from(surv))
            .collect();
        assert_eq!(placement(&c["brokers"]), expected);
        env.wait_leaders(surv).await;
        let t = env.topology(surv).await;
        assert_eq!(
            (
                t["clusterSize"].clone(),
                t["replicationFactor"].clone(),
                t["partitionsCount"].clone()
            ),
            (json!(4), json!(2), json!(8))
        );
    }
}

/// §3.4: re-adding the brokers with `replicationFactor: 4` (no force) joins each partition
/// twice with the original priorities (no leave, no priority change) and restores the §3.2
/// placement.
#[tokio::test]
async fn s3_4_re_add_with_rf_4_restores_the_original_placement() {
    let env = Env::start().await;
    env.lose(1, "down").await;
    env.failover(1).await;
    env.recreate(1).await;
    env.release(1, &json!({})).await;
    env.wait_rollout(1).await;
    let a = env
        .patch(
            env.mgmt(0),
            "/actuator/cluster",
            &json!({"brokers": {"add": [1, 3, 5, 7]}, "partitions": {"replicationFactor": 4}}),
        )
        .await;
    assert_eq!(a.status, 202);
    let plan = a.json();
    let ops = plan["plannedChanges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(ops.len(), 4 + 16);
    for (op, b) in ops.iter().zip([1, 3, 5, 7]) {
        assert_eq!(op, &json!({"operation": "BROKER_ADD", "brokerId": b}));
    }
    let joins: Vec<(u64, u64, u64)> = ops[4..]
        .iter()
        .map(|o| {
            assert_eq!(o["operation"], "PARTITION_JOIN");
            (
                o["partitionId"].as_u64().unwrap_or(0),
                o["brokerId"].as_u64().unwrap_or(0),
                o["priority"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        joins,
        vec![
            (1, 1, 3),
            (1, 3, 1),
            (2, 1, 4),
            (2, 3, 2),
            (3, 3, 3),
            (3, 5, 1),
            (4, 3, 4),
            (4, 5, 2),
            (5, 5, 3),
            (5, 7, 1),
            (6, 5, 4),
            (6, 7, 2),
            (7, 7, 3),
            (7, 1, 1),
            (8, 7, 4),
            (8, 1, 2)
        ]
    );
    assert_eq!(placement(&plan["expectedTopology"]), reference_placement());
    let c = env.wait_change(0, 6).await;
    assert_eq!(placement(&c["brokers"]), reference_placement());
    env.wait_leaders(1).await;
    let t = env.topology(1).await;
    assert_eq!(t["clusterSize"], 8);
    assert_eq!(t["replicationFactor"], 4);
    assert_eq!(
        topology_partitions(&t),
        vec![
            (0, vec![1, 6, 7, 8]),
            (1, vec![1, 2, 7, 8]),
            (2, vec![1, 2, 3, 8]),
            (3, vec![1, 2, 3, 4]),
            (4, vec![2, 3, 4, 5]),
            (5, vec![3, 4, 5, 6]),
            (6, vec![4, 5, 6, 7]),
            (7, vec![5, 6, 7, 8]),
        ]
    );
}

/// §1.5/§3.4 pitfall: without `replicationFactor` the reduced factor 2 stays and the
/// partitions are redistributed over 8 brokers, with PARTITION_LEAVEs on the survivors.
#[tokio::test]
async fn s3_4_re_add_without_rf_keeps_rf_2_and_redistributes_with_leaves() {
    let env = Env::start().await;
    env.lose(1, "down").await;
    env.failover(1).await;
    env.recreate(1).await;
    env.release(1, &json!({})).await;
    env.wait_rollout(1).await;
    let a = env
        .patch(
            env.mgmt(0),
            "/actuator/cluster",
            &json!({"brokers": {"add": [1, 3, 5, 7]}}),
        )
        .await;
    assert_eq!(a.status, 202);
    let plan = a.json();
    assert!(
        plan["plannedChanges"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|o| o["operation"] == "PARTITION_LEAVE")
    );
    let c = env.wait_change(0, 6).await;
    let p = placement(&c["brokers"]);
    assert_eq!(p[0], (0, vec![(1, 2), (8, 1)]));
    assert_eq!(p[1], (1, vec![(1, 1), (2, 2)]));
    env.wait_leaders(0).await;
    let t = env.topology(0).await;
    assert_eq!(
        (t["clusterSize"].clone(), t["replicationFactor"].clone()),
        (json!(8), json!(2))
    );
}

/// §1.6: `POST /actuator/cluster/brokers?force=true` takes the brokers to retain; it refuses
/// a replication factor and retained ids that are not members.
#[tokio::test]
async fn s1_6_force_scale_down_takes_the_brokers_to_retain() {
    let env = Env::start().await;
    env.lose(0, "down").await;
    let m = env.mgmt(1);
    let a = env
        .post(
            m,
            "/actuator/cluster/brokers?force=true&replicationFactor=2",
            Some(&json!([1, 3, 5, 7])),
        )
        .await;
    assert_eq!(a.status, 400);
    assert!(a.json()["message"].as_str().is_some_and(|s| s.starts_with(
        "The replication factor cannot be changed to requested value '2' during force scale down."
    )));
    let a = env
        .post(
            m,
            "/actuator/cluster/brokers?force=true",
            Some(&json!([1, 3, 9])),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json()["message"],
        "Expected to force configure while retaining broker '9', but it is not a member of the current cluster"
    );
    let a = env
        .post(
            m,
            "/actuator/cluster/brokers?force=true",
            Some(&json!([1, 3, 5, 7])),
        )
        .await;
    assert_eq!(a.status, 202);
    assert_eq!(a.json()["changeId"], 2);
    let c = env.wait_change(1, 2).await;
    let expected: Vec<(u64, Vec<(u64, u64)>)> = reference_placement()
        .into_iter()
        .filter(|(b, _)| b % 2 == 1)
        .collect();
    assert_eq!(placement(&c["brokers"]), expected);
}
