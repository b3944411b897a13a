//! Routing of management requests to the coordinator (contract §1.1; source:
//! `ClusterConfigurationManagementRequestSender`, `DefaultClusterCommunicationService`,
//! `NettyMessagingService`, `ClusterApiUtils.mapError`).

use std::time::Duration;

use serde_json::json;

use crate::support::Env;

/// §1.1: with region 1 lost, broker 0 stays coordinator; reads and changes keep working.
#[tokio::test]
async fn s1_1_region1_lost_reads_keep_working() {
    let env = Env::start().await;
    env.lose(1, "down").await;
    assert_eq!(env.cluster(0).await["version"], 1);
    assert_eq!(env.exporters(0).await.as_array().map(Vec::len), Some(2));
    env.lose(1, "cutOff").await;
    env.advance(Duration::from_secs(5));
    assert_eq!(env.cluster(0).await["version"], 1);
}

/// §1.1: with region 0 down, every non-forced call from region 1 (reads included) fails with
/// 502 at once — first the refused connection, then, once failure detection removed broker
/// 0, `NoSuchMemberException` — until the force-remove (routed to broker 1, the lowest
/// retained member) has completed.
#[tokio::test]
async fn s1_1_region0_down_is_502_at_once_until_the_force_remove_completes() {
    let env = Env::start().await;
    let m = env.mgmt(1);
    env.lose(0, "down").await;
    let t0 = env.now();
    let a = env.get(m, "/actuator/cluster").await;
    assert_eq!(a.status, 502);
    assert_eq!(env.now(), t0, "a refused connection answers at once");
    assert_eq!(
        a.json(),
        json!({"message": "Connection refused: camunda-zeebe-0.camunda-zeebe.camunda-london:26502"})
    );
    env.advance(Duration::from_secs(3));
    for path in ["/actuator/cluster", "/actuator/exporters"] {
        let a = env.get(m, path).await;
        assert_eq!(a.status, 502, "{path}");
        let msg = a.json()["message"].as_str().unwrap_or_default().to_owned();
        assert!(
            msg.starts_with(
                "Expected to send a message with subject 'topology-query' to member '0', but member is not known. Known members are '[Member{id=1, address=camunda-zeebe-0.camunda-zeebe.camunda-paris:26502}"
            ),
            "{msg}"
        );
    }
    let a = env
        .post(m, "/actuator/exporters/camundaregion0/disable", None)
        .await;
    assert_eq!(a.status, 502);
    assert!(
        a.json()["message"]
            .as_str()
            .is_some_and(|s| s.contains("'topology-exporter-disable'"))
    );
    let a = env
        .patch(
            m,
            "/actuator/cluster?force=true",
            &json!({"brokers": {"remove": [0, 2, 4, 6]}}),
        )
        .await;
    assert_eq!(a.status, 202);
    let plan = a.json();
    assert_eq!(plan["plannedChanges"][0]["brokerId"], 1);
    assert_eq!(
        plan["plannedChanges"][8],
        json!({"operation": "BROKER_REMOVE", "brokerId": 1, "brokers": [0]})
    );
    // Broker 0 is still the lowest member while the change runs: reads keep failing.
    env.advance(Duration::from_millis(500));
    assert_eq!(env.get(m, "/actuator/cluster").await.status, 502);
    let c = env.wait_change(1, 2).await;
    assert_eq!(c["brokers"][0]["id"], 1);
    assert_eq!(env.exporters(1).await.as_array().map(Vec::len), Some(2));
}

/// §1.1: region 0 cut off (its brokers run, the link is gone): before failure detection the
/// request is sent into the void and the gateway answers 504 after its 10 s request timeout;
/// after detection, 502 at once.
#[tokio::test]
async fn s1_1_region0_cut_off_is_504_after_10s_then_502_after_failure_detection() {
    let env = Env::start().await;
    let m = env.mgmt(1);
    env.lose(0, "cutOff").await;
    let t0 = env.now();
    let a = env.get(m, "/actuator/cluster").await;
    assert_eq!(a.status, 504);
    assert_eq!(
        env.now() - t0,
        10_000,
        "answered after the 10 s request timeout"
    );
    assert_eq!(
        a.json(),
        json!({"message": "Request topology-query to camunda-zeebe-0.camunda-zeebe.camunda-london:26502 timed out in PT10S"})
    );
    // Failure detection (2 s) has long removed broker 0 by now.
    let t1 = env.now();
    let a = env.get(m, "/actuator/cluster").await;
    assert_eq!(a.status, 502);
    assert_eq!(env.now(), t1);
    // The cut-off region itself still reaches its own coordinator.
    assert_eq!(env.cluster(0).await["version"], 1);
}

/// §1.1: a force-remove is not routed to the default coordinator but to the lowest retained
/// member, so it is accepted at once even while broker 0 is cut off and still a gossip
/// member (no 504).
#[tokio::test]
async fn s1_1_force_remove_goes_to_the_lowest_retained_member() {
    let env = Env::start().await;
    env.lose(0, "cutOff").await;
    let t0 = env.now();
    let a = env
        .patch(
            env.mgmt(1),
            "/actuator/cluster?force=true",
            &json!({"brokers": {"remove": [0, 2, 4, 6]}}),
        )
        .await;
    assert_eq!(a.status, 202);
    assert_eq!(env.now(), t0);
    assert!(
        a.json()["plannedChanges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| o["operation"] == "BROKER_REMOVE")
            .all(|o| o["brokerId"] == 1)
    );
    let c = env.wait_change(1, 2).await;
    assert_eq!(c["version"], 3);
}
