//! Validation of change requests, table-driven: the non-force 400s of `PATCH
//! /actuator/cluster` (contract §1.5), the non-forced `POST /actuator/cluster/brokers` (§1.6)
//! and the 409 while another change is pending (§1.3), each with the place it is checked.
//!
//! Order, from `ClusterEndpoint` and `ConfigurationChangeCoordinatorImpl` (8.8-era): the
//! endpoint's own checks answer before anything is sent; everything else needs the route to
//! the coordinator (§1.1), which first runs the request's transformer (its 400s), answers an
//! empty plan with 202, and only then validates (§1.3: another change pending → 409, dry runs
//! and forced requests included; then the simulation → 400).

use std::collections::BTreeSet;
use std::time::Duration;

use c8dr_twin::distribution::round_robin;
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{Env, placement};

/// Where a request is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Checked {
    /// By the serving gateway's endpoint, before routing: answers even when the coordinator
    /// cannot be reached.
    Endpoint,
    /// By the coordinator's request transformer: needs the route (502 while the coordinator is
    /// lost), and comes before the 409 of a pending change.
    Coordinator,
}

const COUNT_AND_MEMBERS: &str = "Cannot change brokers count and add/remove brokers at the same time. Specify either the new brokers count or brokers to add and remove.";

/// Checks one rejected request on a fresh twin: its 400 (and that of its dry run), then that a
/// pending change does not turn it into a 409, then what it answers once region 0, holding
/// the coordinator, is down.
async fn assert_rejected(
    method: Method,
    path: &str,
    body: &Value,
    message: &str,
    checked: Checked,
) {
    let env = Env::start().await;
    let send = |r: u8, path: String| {
        let method = method.clone();
        let env = &env;
        async move { env.send(method, env.mgmt(r), &path, Some(body)).await }
    };
    let dry = if path.contains('?') { '&' } else { '?' };
    for p in [path.to_owned(), format!("{path}{dry}dryRun=true")] {
        let a = send(0, p.clone()).await;
        assert_eq!(a.status, 400, "{p} {body}: {}", a.text);
        assert_eq!(a.json(), json!({ "message": message }), "{p} {body}");
    }
    assert_eq!(env.cluster(0).await["version"], 1, "nothing changed");

    // A change is pending: the request is still rejected for itself, not with a 409.
    let a = env
        .post(
            env.mgmt(0),
            "/actuator/exporters/camundaregion1/disable",
            None,
        )
        .await;
    assert_eq!(a.status, 202, "{}", a.text);
    let a = send(0, path.to_owned()).await;
    assert_eq!((a.status, a.json()), (400, json!({ "message": message })));

    // The coordinator (broker 0) is down: only the endpoint's own checks still answer.
    env.lose(0, "down").await;
    let a = send(1, path.to_owned()).await;
    match checked {
        Checked::Endpoint => {
            assert_eq!((a.status, a.json()), (400, json!({ "message": message })));
        }
        Checked::Coordinator => {
            assert_eq!(
                a.status, 502,
                "routed to the lost coordinator first: {}",
                a.text
            );
            assert_eq!(
                a.json(),
                json!({"message": "Connection refused: camunda-zeebe-0.camunda-zeebe.camunda-london:26502"})
            );
        }
    }
}

/// §1.5, non-force rules: `brokers.count` together with `add` or `remove`, the same id in `add`
/// and `remove`, and the reassign step's 400s, each with its exact message and nothing
/// changed. The `count` conflict is the endpoint's own check; the rest are the coordinator's
/// (`ClusterPatchRequestTransformer`, `PartitionReassignRequestTransformer`: first the member
/// set, then the partition count, then the replication factor). `brokers.count` alone is the
/// scale request, whose target members are `0..count` (a twin choice, documented).
#[rstest]
#[case::count_and_add(json!({"brokers": {"count": 8, "add": [9]}}), COUNT_AND_MEMBERS, Checked::Endpoint)]
#[case::count_and_remove(json!({"brokers": {"count": 6, "remove": [7]}}), COUNT_AND_MEMBERS, Checked::Endpoint)]
#[case::count_add_and_remove(
    json!({"brokers": {"count": 6, "add": [9], "remove": [7]}, "partitions": {"replicationFactor": 0}}),
    COUNT_AND_MEMBERS,
    Checked::Endpoint
)]
#[case::same_id_in_add_and_remove(
    json!({"brokers": {"add": [7, 9], "remove": [7]}}),
    "Cannot add and remove the same member in the same request",
    Checked::Coordinator
)]
#[case::same_id_before_the_reassign_checks(
    json!({"brokers": {"add": [0], "remove": [0, 1, 2, 3, 4, 5, 6, 7]}, "partitions": {"count": 1}}),
    "Cannot add and remove the same member in the same request",
    Checked::Coordinator
)]
#[case::no_broker_left(
    json!({"brokers": {"remove": [0, 1, 2, 3, 4, 5, 6, 7]}}),
    "Cannot reassign partitions if no brokers are provided",
    Checked::Coordinator
)]
#[case::no_broker_left_before_the_partition_count(
    json!({"brokers": {"remove": [0, 1, 2, 3, 4, 5, 6, 7]}, "partitions": {"count": 4}}),
    "Cannot reassign partitions if no brokers are provided",
    Checked::Coordinator
)]
#[case::fewer_partitions(
    json!({"partitions": {"count": 4, "replicationFactor": 0}}),
    "New partition count [4] must be greater than or equal to the current partition count [8]",
    Checked::Coordinator
)]
#[case::replication_factor_zero(
    json!({"brokers": {"remove": [7]}, "partitions": {"replicationFactor": 0}}),
    "Replication factor [0] must be greater than 0",
    Checked::Coordinator
)]
#[case::fewer_brokers_than_the_current_replication_factor(
    json!({"brokers": {"remove": [3, 4, 5, 6, 7]}}),
    "Number of brokers [3] is less than the replication factor [4]",
    Checked::Coordinator
)]
#[case::replication_factor_above_the_brokers(
    json!({"brokers": {"add": [8]}, "partitions": {"replicationFactor": 10}}),
    "Number of brokers [9] is less than the replication factor [10]",
    Checked::Coordinator
)]
#[case::scale_below_the_replication_factor(
    json!({"brokers": {"count": 2}}),
    "Number of brokers [2] is less than the replication factor [4]",
    Checked::Coordinator
)]
#[tokio::test]
async fn s1_5_non_force_patch_is_400_with_the_exact_message(
    #[case] body: Value,
    #[case] message: &str,
    #[case] checked: Checked,
) {
    assert_rejected(Method::PATCH, "/actuator/cluster", &body, message, checked).await;
}

/// §1.6: a non-forced `POST /actuator/cluster/brokers` takes every broker to end with and
/// plans like the scale transformer (add, reassign, remove), so it answers the reassign step's
/// 400s; it goes to the default coordinator first (502 while that is lost).
#[rstest]
#[case::no_brokers("", json!([]), "Cannot reassign partitions if no brokers are provided")]
#[case::fewer_brokers_than_the_replication_factor(
    "",
    json!([0, 1, 2]),
    "Number of brokers [3] is less than the replication factor [4]"
)]
#[case::replication_factor_zero(
    "?replicationFactor=0",
    json!([0, 1, 2, 3, 4, 5, 6, 7]),
    "Replication factor [0] must be greater than 0"
)]
#[case::replication_factor_above_the_brokers(
    "?replicationFactor=9",
    json!([0, 1, 2, 3, 4, 5, 6, 7]),
    "Number of brokers [8] is less than the replication factor [9]"
)]
#[tokio::test]
async fn s1_6_non_forced_scale_brokers_is_400_with_the_exact_message(
    #[case] query: &str,
    #[case] body: Value,
    #[case] message: &str,
) {
    let path = format!("/actuator/cluster/brokers{query}");
    assert_rejected(Method::POST, &path, &body, message, Checked::Coordinator).await;
}

/// §1.6: `POST /actuator/cluster/brokers` (non-forced) needs a JSON body (415 otherwise);
/// the current member set is an empty plan (202, change id 0); a dry run plans BROKER_ADD for
/// new ids first, and a real scale-down ends with one graceful BROKER_REMOVE per dropped id
/// (executed by that broker itself) and leaves the round-robin placement over the retained
/// members with the current replication factor.
#[tokio::test]
async fn s1_6_non_forced_scale_brokers_adds_redistributes_and_removes() {
    let env = Env::start().await;
    let m = env.mgmt(0);
    let resp = env
        .client
        .post(format!("http://{m}/actuator/cluster/brokers"))
        .header("Content-Type", "text/plain")
        .body("[0, 1]")
        .send()
        .await
        .expect("answers");
    assert_eq!(resp.status().as_u16(), 415);

    let all: Vec<u32> = (0..8).collect();
    let a = env
        .post(m, "/actuator/cluster/brokers", Some(&json!(all)))
        .await;
    assert_eq!(a.status, 202, "{}", a.text);
    assert_eq!(a.json()["changeId"], 0);
    assert_eq!(a.json()["plannedChanges"], json!([]));

    let a = env
        .post(
            m,
            "/actuator/cluster/brokers?dryRun=true",
            Some(&json!([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])),
        )
        .await;
    assert_eq!(a.status, 202, "{}", a.text);
    assert_eq!(a.json()["changeId"], 2);
    let planned = a.json()["plannedChanges"].clone();
    assert_eq!(
        planned[0],
        json!({"operation": "BROKER_ADD", "brokerId": 8})
    );
    assert_eq!(
        planned[1],
        json!({"operation": "BROKER_ADD", "brokerId": 9})
    );
    assert!(
        planned
            .as_array()
            .into_iter()
            .flatten()
            .all(|op| op["operation"] != "BROKER_REMOVE"),
        "{planned}"
    );
    assert_eq!(
        env.cluster(0).await["version"],
        1,
        "a dry run changes nothing"
    );

    let retained: BTreeSet<u32> = (0..6).collect();
    let a = env
        .post(m, "/actuator/cluster/brokers", Some(&json!(retained)))
        .await;
    assert_eq!(a.status, 202, "{}", a.text);
    let body = a.json();
    assert_eq!(body["changeId"], 2);
    let ops = body["plannedChanges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(ops.iter().all(|op| op["operation"] != "BROKER_ADD"));
    assert_eq!(
        ops[ops.len() - 2..],
        [
            json!({"operation": "BROKER_REMOVE", "brokerId": 6}),
            json!({"operation": "BROKER_REMOVE", "brokerId": 7}),
        ]
    );
    let c = env.wait_change(0, 2).await;
    let partitions: Vec<u32> = (1..=8).collect();
    let expected: Vec<(u64, Vec<(u64, u64)>)> = retained
        .iter()
        .map(|b| {
            let mut parts: Vec<(u64, u64)> = round_robin(&retained, &partitions, 4)
                .into_iter()
                .filter_map(|(p, replicas)| {
                    replicas
                        .iter()
                        .find(|r| r.broker == *b)
                        .map(|r| (u64::from(p), u64::from(r.priority)))
                })
                .collect();
            parts.sort_unstable();
            (u64::from(*b), parts)
        })
        .collect();
    assert_eq!(placement(&c["brokers"]), expected);
    assert_eq!(placement(&body["expectedTopology"]), expected);
    let t = env.topology(0).await;
    assert_eq!(
        (t["clusterSize"].clone(), t["replicationFactor"].clone()),
        (json!(6), json!(4))
    );
}

/// §1.3 rule 2: while a change is pending, every request with something to do answers 409 —
/// dry runs, forced requests and the exporter endpoints included — and nothing changes; the
/// endpoint's own 400s, the transformer's 400s and requests with nothing to do answer before
/// that check (`ConfigurationChangeCoordinatorImpl`, 8.8-era).
#[rstest]
#[case::patch(Method::PATCH, "/actuator/cluster", json!({"brokers": {"remove": [7]}}), 409, "")]
#[case::patch_dry_run(Method::PATCH, "/actuator/cluster?dryRun=true", json!({"brokers": {"remove": [7]}}), 409, "")]
#[case::forced_patch(Method::PATCH, "/actuator/cluster?force=true", json!({"brokers": {"remove": [7]}}), 409, "")]
#[case::forced_patch_dry_run(
    Method::PATCH,
    "/actuator/cluster?force=true&dryRun=true",
    json!({"brokers": {"remove": [1, 3, 5, 7]}}),
    409,
    ""
)]
#[case::scale_brokers_dry_run(Method::POST, "/actuator/cluster/brokers?dryRun=true", json!([0, 1, 2, 3, 4, 5]), 409, "")]
#[case::force_scale_down(Method::POST, "/actuator/cluster/brokers?force=true", json!([0, 2, 4, 6]), 409, "")]
#[case::add_broker_dry_run(
    Method::POST,
    "/actuator/cluster/brokers/9?dryRun=true",
    Value::Null,
    409,
    ""
)]
#[case::disable_exporter_dry_run(
    Method::POST,
    "/actuator/exporters/camundaregion0/disable?dryRun=true",
    Value::Null,
    409,
    ""
)]
#[case::force_add_is_the_endpoints_400(
    Method::PATCH,
    "/actuator/cluster?force=true",
    json!({"brokers": {"add": [9]}}),
    400,
    "Cannot force add brokers"
)]
#[case::force_remove_of_every_replica_is_the_transformers_400(
    Method::PATCH,
    "/actuator/cluster?force=true&dryRun=true",
    json!({"brokers": {"remove": [0, 1, 2, 3, 4, 5, 6, 7]}}),
    400,
    "Expected to force configure and retain members '[]', but this will result in partitions '[1, 2, 3, 4, 5, 6, 7, 8]' having no replicas"
)]
#[case::nothing_to_do_is_202(Method::PATCH, "/actuator/cluster", json!({"brokers": {"add": [1]}}), 202, "")]
#[case::nothing_to_do_dry_run_is_202(
    Method::POST,
    "/actuator/cluster/brokers?dryRun=true",
    json!([0, 1, 2, 3, 4, 5, 6, 7]),
    202,
    ""
)]
#[tokio::test]
async fn s1_3_while_a_change_is_pending(
    #[case] method: Method,
    #[case] path: &str,
    #[case] body: Value,
    #[case] status: u16,
    #[case] message: &str,
) {
    let env = Env::start().await;
    let m = env.mgmt(0);
    let a = env
        .post(m, "/actuator/exporters/camundaregion1/disable", None)
        .await;
    assert_eq!(a.json()["changeId"], 2);
    env.advance(Duration::from_millis(300));
    let before = env.cluster(0).await;
    assert_eq!(before["pendingChange"]["id"], 2);
    let body = (!body.is_null()).then_some(body);
    let a = env.send(method, m, path, body.as_ref()).await;
    assert_eq!(a.status, status, "{path}: {}", a.text);
    match status {
        409 => {
            let msg = a.json()["message"].as_str().unwrap_or_default().to_owned();
            assert!(
                msg.starts_with(
                    "Cannot apply configuration change. Another configuration change ["
                ) && msg.ends_with("] is in progress."),
                "{msg}"
            );
        }
        400 => assert_eq!(a.json(), json!({ "message": message })),
        _ => {
            let planned = a.json();
            assert_eq!(planned["changeId"], 0, "no change completed yet");
            assert_eq!(planned["plannedChanges"], json!([]));
            assert_eq!(planned["currentTopology"], planned["expectedTopology"]);
        }
    }
    assert_eq!(env.cluster(0).await, before, "nothing changed");
}
