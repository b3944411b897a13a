//! Deployments and process instances (contract §2.3; errors as 8.8 maps them:
//! `broker-client/.../RoundRobinDispatchStrategy`, `BrokerRequestManager`,
//! `transport/.../AtomixClientTransportAdapter`, `service/.../exception/ErrorMapper`,
//! `gateway-rest/.../mapper/RestErrorMapper`).

use std::collections::BTreeSet;
use std::time::Duration;

use c8dr_twin::{Latencies, TwinConfig};
use serde_json::{Value, json};

use crate::support::{Answer, Env, page_config};

fn key(a: &Answer, field: &str) -> u64 {
    a.json()[field]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{field} is a string key: {}", a.text))
}

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

/// Two regions of two brokers, four partitions, RF 3: losing region 1 leaves partitions 1
/// and 3 with a quorum, 2 and 4 without.
fn small_config() -> TwinConfig {
    TwinConfig::default()
        .with_cluster(4, 4, 3)
        .with_latencies(Latencies::default().with_jitter(0.0))
}

/// §2.3: multipart deployment and instance creation answer the 8.8 shapes; keys are
/// strings carrying the partition id (`key >> 51`); instances go round robin over the
/// partitions; redeploying the same resource keeps the version.
#[tokio::test]
async fn s2_3_deploy_and_create_answer_the_8_8_shapes() {
    let env = Env::start().await;
    let a = env.deploy(0).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let dep = a.json();
    assert_eq!(
        keys(&dep),
        set(&["deploymentKey", "tenantId", "deployments"])
    );
    assert_eq!(dep["tenantId"], "<default>");
    assert_eq!(key(&a, "deploymentKey") >> 51, 1);
    let def = &dep["deployments"][0]["processDefinition"];
    assert_eq!(
        keys(def),
        set(&[
            "processDefinitionId",
            "processDefinitionVersion",
            "resourceName",
            "tenantId",
            "processDefinitionKey"
        ])
    );
    assert_eq!(def["processDefinitionId"], "load");
    assert_eq!(def["processDefinitionVersion"], 1);
    assert_eq!(def["resourceName"], "load.bpmn");
    let again = env.deploy(1).await.json();
    assert_eq!(again["deployments"][0]["processDefinition"], *def);

    let mut partitions = Vec::new();
    for _ in 0..10 {
        let a = env.create(0).await;
        assert_eq!(a.status, 200);
        assert_eq!(
            keys(&a.json()),
            set(&[
                "processDefinitionId",
                "processDefinitionVersion",
                "tenantId",
                "variables",
                "processDefinitionKey",
                "processInstanceKey"
            ])
        );
        partitions.push(key(&a, "processInstanceKey") >> 51);
    }
    assert_eq!(partitions, vec![1, 2, 3, 4, 5, 6, 7, 8, 1, 2]);
    let a = env
        .post(
            env.rest(0),
            "/v2/process-instances",
            Some(&json!({"processDefinitionId": "nope"})),
        )
        .await;
    assert_eq!(a.status, 404);
    assert_eq!(a.json()["title"], "NOT_FOUND");
    let a = env
        .post(
            env.rest(0),
            "/v2/process-instances",
            Some(&json!({"processDefinitionId": "load", "processDefinitionKey": "1"})),
        )
        .await;
    assert_eq!(a.status, 400);
}

/// §2.3 + source: with no partition leader known to the gateway, the dispatch falls back to
/// partition 1, the broker client finds no address and fails at once with a
/// `ConnectException` → 503 `UNAVAILABLE`; the deployment (always partition 1) the same.
#[tokio::test]
async fn s2_3_no_leader_is_503_unavailable_at_once() {
    let env = Env::start().await;
    env.deploy(0).await;
    env.lose(1, "down").await;
    let t0 = env.now();
    for (path, a) in [
        ("/v2/process-instances", env.create(0).await),
        ("/v2/deployments", env.deploy(0).await),
    ] {
        assert_eq!(a.status, 503, "{path}");
        assert_eq!(a.content_type.as_deref(), Some("application/problem+json"));
        assert_eq!(
            a.json(),
            json!({"type": "about:blank", "title": "UNAVAILABLE", "status": 503,
                   "detail": "Expected to handle request, but there was a connection error with one of the brokers",
                   "instance": path})
        );
    }
    assert_eq!(env.now(), t0, "no retry, no wait");
}

/// §2.3 + `RoundRobinDispatchStrategy`: partitions without a leader are skipped (each skip
/// advances the counter), so creations succeed on the partitions that kept a quorum.
#[tokio::test]
async fn s2_3_round_robin_skips_partitions_without_a_leader() {
    let env = Env::with_config(small_config()).await;
    env.deploy(0).await;
    env.lose(1, "down").await;
    let mut partitions = Vec::new();
    for _ in 0..4 {
        let a = env.create(0).await;
        assert_eq!(a.status, 200, "{}", a.text);
        partitions.push(key(&a, "processInstanceKey") >> 51);
    }
    assert_eq!(partitions, vec![1, 3, 1, 3]);
}

/// §2.3 + source: a leader the gateway still knows (not yet removed by failure detection)
/// but cannot reach: the request is lost and the gateway answers 504 `DEADLINE_EXCEEDED`
/// after its request timeout (15 s, or the body's `requestTimeout`).
#[tokio::test]
async fn s2_3_unreachable_leader_is_504_after_the_request_timeout() {
    let env = Env::with_config(small_config()).await;
    env.deploy(0).await;
    env.lose(1, "cutOff").await;
    let t0 = env.now();
    // Round robin starts at partition 1, whose leader 0 is across the cut.
    let a = env.create(1).await;
    assert_eq!(env.now() - t0, 15_000);
    assert_eq!(a.status, 504);
    assert_eq!(
        a.json(),
        json!({"type": "about:blank", "title": "DEADLINE_EXCEEDED", "status": 504,
               "detail": "Expected to handle request, but request timed out between gateway and broker",
               "instance": "/v2/process-instances"})
    );
    // Partition 2 keeps its leader 1 inside the cut-off region.
    let a = env.create(1).await;
    assert_eq!(a.status, 200);
    assert_eq!(key(&a, "processInstanceKey") >> 51, 2);
    // A fresh cut, a shorter timeout from the body.
    env.post(env.control(), "/twin/v1/regions/1/heal", None)
        .await;
    env.advance(Duration::from_secs(1));
    env.lose(1, "cutOff").await;
    let t1 = env.now();
    let a = env
        .post(
            env.rest(1),
            "/v2/process-instances",
            Some(&json!({"processDefinitionId": "load", "requestTimeout": 5000})),
        )
        .await;
    assert_eq!(a.status, 504, "{}", a.text);
    assert_eq!(env.now() - t1, 5_000);
    // Absurd timeouts are capped at an hour of cluster time (a twin choice).
    env.post(env.control(), "/twin/v1/regions/1/heal", None)
        .await;
    env.advance(Duration::from_secs(1));
    env.lose(1, "cutOff").await;
    // Round robin reaches a partition led across the cut within four attempts.
    let mut waited = None;
    for _ in 0..4 {
        let t2 = env.now();
        let a = env
            .post(
                env.rest(1),
                "/v2/process-instances",
                Some(&json!({"processDefinitionId": "load", "requestTimeout": u64::MAX})),
            )
            .await;
        if a.status == 504 {
            waited = Some(env.now() - t2);
            break;
        }
        assert_eq!(a.status, 200, "{}", a.text);
    }
    assert_eq!(waited, Some(3_600_000));
}

/// §2.3: reads (`GET /v2/process-instances/{key}`, search) come from the serving region's
/// Elasticsearch, not from the cluster.
#[tokio::test]
async fn s2_3_reads_come_from_the_serving_regions_elasticsearch() {
    let env = Env::with_config(page_config()).await;
    env.deploy(0).await;
    let a = env.create(0).await;
    let k = a.json()["processInstanceKey"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let g = env
        .get(env.rest(1), &format!("/v2/process-instances/{k}"))
        .await;
    assert_eq!(g.status, 200);
    let item = g.json();
    for field in [
        "processInstanceKey",
        "processDefinitionId",
        "processDefinitionVersion",
        "processDefinitionKey",
        "state",
        "tenantId",
    ] {
        assert!(item.get(field).is_some(), "{field}");
    }
    assert_eq!(item["processInstanceKey"], k.as_str());
    assert_eq!(item["state"], "ACTIVE");
    let d = env.delete(env.es(1), "/operate-list-view-8.3.0_").await;
    assert_eq!(d.status, 200);
    assert_eq!(
        env.get(env.rest(1), &format!("/v2/process-instances/{k}"))
            .await
            .status,
        404
    );
    assert!(env.visible(0, &k).await);
    let body = json!({"filter": {"processInstanceKey": k}, "page": {"limit": 1}});
    let s0 = env
        .post(env.rest(0), "/v2/process-instances/search", Some(&body))
        .await
        .json();
    let s1 = env
        .post(env.rest(1), "/v2/process-instances/search", Some(&body))
        .await
        .json();
    assert_eq!(
        keys(&s0["page"]),
        set(&["totalItems", "startCursor", "endCursor"])
    );
    assert_eq!(s0["page"]["totalItems"], 1);
    assert_eq!(s0["items"][0]["processInstanceKey"], k.as_str());
    assert_eq!(s1["page"]["totalItems"], 0);
}

/// §2.3 + source: only the engine knows processes and reads resources, and a command reaches
/// it only through the target partition's leader. So without a leader the gateway's routing
/// error (503 at once, or 504 after the request timeout) answers first, even for an unknown
/// process or a resource without one; the gateway's own request checks (400) come before the
/// routing; with a leader, the engine's rejections (404, 400) answer.
#[tokio::test]
async fn s2_3_routing_errors_come_before_the_engines_rejections() {
    const NO_PROCESS: &[u8] =
        b"<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\"/>";
    let unknown = json!({"processDefinitionId": "nope"});
    let unknown_key = json!({"processDefinitionKey": "2251799813685249"});

    // With every partition led, the engine answers.
    let env = Env::start().await;
    let a = env
        .post(env.rest(0), "/v2/process-instances", Some(&unknown))
        .await;
    assert_eq!(
        (a.status, a.json()["title"].clone()),
        (404, json!("NOT_FOUND"))
    );
    let a = env
        .post(env.rest(0), "/v2/process-instances", Some(&unknown_key))
        .await;
    assert_eq!(
        (a.status, a.json()["title"].clone()),
        (404, json!("NOT_FOUND"))
    );
    let a = env.deploy_resource(0, "empty.bpmn", NO_PROCESS).await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert!(
        a.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Must contain at least one executable process")),
        "{}",
        a.text
    );

    // Region 1 down: no partition keeps a quorum (2 of its 4 replicas are gone), so none has
    // a leader.
    env.lose(1, "down").await;
    let t0 = env.now();
    for (path, a) in [
        (
            "/v2/process-instances",
            env.post(env.rest(0), "/v2/process-instances", Some(&unknown))
                .await,
        ),
        (
            "/v2/process-instances",
            env.post(env.rest(0), "/v2/process-instances", Some(&unknown_key))
                .await,
        ),
        (
            "/v2/deployments",
            env.deploy_resource(0, "empty.bpmn", NO_PROCESS).await,
        ),
    ] {
        assert_eq!(a.status, 503, "{path}: {}", a.text);
        assert_eq!(a.json()["title"], "UNAVAILABLE", "{path}");
    }
    assert_eq!(env.now(), t0, "at once");
    // The gateway's own checks still come first.
    let a = env
        .post(
            env.rest(0),
            "/v2/process-instances",
            Some(&json!({"processDefinitionId": "nope", "processDefinitionKey": "1"})),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.text);
    let a = env
        .post(
            env.rest(0),
            "/v2/process-instances",
            Some(&json!({"processDefinitionKey": "not a key"})),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.text);
    let empty = reqwest::multipart::Form::new().text("tenantId", "<default>");
    let resp = env
        .client
        .post(format!("http://{}/v2/deployments", env.rest(0)))
        .basic_auth("demo", Some("demo"))
        .multipart(empty)
        .send()
        .await
        .expect("answers");
    assert_eq!(resp.status().as_u16(), 400);

    // Region 1 cut off, not yet detected: partition 1's leader (broker 0) is known but lost
    // behind the cut, so an unknown process times out like any command.
    let env = Env::with_config(small_config()).await;
    env.lose(1, "cutOff").await;
    let t0 = env.now();
    let a = env
        .post(env.rest(1), "/v2/process-instances", Some(&unknown))
        .await;
    assert_eq!(a.status, 504, "{}", a.text);
    assert_eq!(a.json()["title"], "DEADLINE_EXCEEDED");
    assert_eq!(env.now() - t0, 15_000);
    // Partition 1 is also where deployments go: on a fresh cut (the gateway has forgotten
    // the unreachable leader by now), a resource without a process times out too.
    env.post(env.control(), "/twin/v1/regions/1/heal", None)
        .await;
    env.advance(Duration::from_secs(1));
    env.lose(1, "cutOff").await;
    let t1 = env.now();
    let a = env.deploy_resource(1, "empty.bpmn", NO_PROCESS).await;
    assert_eq!(a.status, 504, "{}", a.text);
    assert_eq!(env.now() - t1, 15_000);
}
