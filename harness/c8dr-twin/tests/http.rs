//! HTTP tests over real sockets (`Binding::Ephemeral`), replaying the procedure page's
//! curl calls (host changed only).

use std::net::SocketAddr;
use std::time::Duration;

use c8dr_twin::{Binding, RunningTwin, Twin, TwinConfig};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="load" isExecutable="true"><bpmn:startEvent id="start"/></bpmn:process>
</bpmn:definitions>"#;

async fn start(time_scale: f64) -> RunningTwin {
    Twin::new(TwinConfig::default().with_time_scale(time_scale))
        .expect("valid config")
        .start(Binding::Ephemeral)
        .await
        .expect("bind")
}

fn client() -> Client {
    // reqwest is built without a default TLS provider in this workspace.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn url(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

async fn get_json(c: &Client, u: String) -> (StatusCode, Value) {
    let resp = c.get(u).send().await.expect("request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Takes region `region` down through the control API; returns the region's new state.
async fn lose_down(c: &Client, control: SocketAddr, region: u8) -> Value {
    let resp = c
        .post(url(control, &format!("/twin/v1/regions/{region}/lose")))
        .json(&json!({"mode": "down"}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.expect("json")
}

/// Polls `GET /actuator/cluster` until `lastChange` is the completed change `id`.
async fn wait_change(c: &Client, mgmt: SocketAddr, id: u64) {
    for _ in 0..500 {
        let (status, body) = get_json(c, url(mgmt, "/actuator/cluster")).await;
        if status == StatusCode::OK
            && body["lastChange"]["id"] == json!(id)
            && body["lastChange"]["status"] == "COMPLETED"
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("change {id} did not complete");
}

#[tokio::test]
async fn rest_api_auth_topology_and_status() {
    let twin = start(1.0).await;
    let rest = twin.endpoints().regions[0].rest;
    let c = client();
    let resp = c
        .get(url(rest, "/v2/topology"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers()["www-authenticate"].to_str().expect("ascii"),
        "Basic realm=\"camunda\""
    );
    assert_eq!(
        resp.headers()["content-type"].to_str().expect("ascii"),
        "application/problem+json"
    );
    let problem: Value = resp.json().await.expect("json");
    assert_eq!(problem["status"], 401);
    let wrong = c
        .get(url(rest, "/v2/topology"))
        .basic_auth("demo", Some("nope"))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let resp = c
        .get(url(rest, "/v2/topology"))
        .basic_auth("demo", Some("demo"))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let t: Value = resp.json().await.expect("json");
    assert_eq!(t["clusterSize"], 8);
    assert_eq!(t["partitionsCount"], 8);
    assert_eq!(t["replicationFactor"], 4);
    assert_eq!(t["gatewayVersion"], "8.8.0");
    assert_eq!(t["lastCompletedChangeId"], "-1");
    let b0 = &t["brokers"][0];
    assert_eq!(b0["nodeId"], 0);
    assert_eq!(b0["host"], "camunda-zeebe-0.camunda-zeebe.camunda-region0");
    assert_eq!(b0["port"], 26501);
    assert_eq!(b0["version"], "8.8.0");
    assert_eq!(
        b0["partitions"][0],
        json!({"partitionId": 1, "role": "leader", "health": "healthy"})
    );

    let status = c
        .get(url(rest, "/v2/status"))
        .send()
        .await
        .expect("request");
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    twin.shutdown().await;
}

#[tokio::test]
async fn management_api_shapes_and_errors() {
    let twin = start(1.0).await;
    let mgmt = twin.endpoints().regions[0].management;
    let c = client();
    let (status, cluster) = get_json(&c, url(mgmt, "/actuator/cluster")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cluster["version"], 1);
    assert!(cluster.get("lastChange").is_none());
    assert_eq!(
        cluster["brokers"][0]["lastUpdatedAt"],
        "0000-01-01T00:00:00Z"
    );
    assert_eq!(
        cluster["brokers"][0]["partitions"][0]["config"]["exporting"]["exporters"],
        json!([{"id": "camundaregion0", "state": "ENABLED"},
               {"id": "camundaregion1", "state": "ENABLED"}])
    );
    assert_eq!(
        cluster["routing"]["requestHandling"],
        json!({"strategy": "AllPartitions", "partitionCount": 8})
    );

    // The page's failback step 8 as written: force=true with add → 400.
    let resp = c
        .patch(url(mgmt, "/actuator/cluster?force=true"))
        .header("Content-Type", "application/json")
        .body(r#"{"brokers": {"add": [1,3,5,7]}, "partitions": {"replicationFactor": 4}}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.expect("json"),
        json!({"message": "Cannot force add brokers"})
    );
    // Without the JSON content type Spring answers 415.
    let resp = c
        .patch(url(mgmt, "/actuator/cluster"))
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Malformed JSON and bad flags → 400.
    for (path, body) in [
        ("/actuator/cluster", "{not json"),
        ("/actuator/cluster?dryRun=maybe", "{}"),
        ("/actuator/cluster", r#"{"brokers": {"add": ["x"]}}"#),
    ] {
        let resp = c
            .patch(url(mgmt, path))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path} {body}");
    }
    let resp = c
        .post(url(mgmt, "/actuator/cluster/partitions"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::NOT_IMPLEMENTED);
    assert_eq!(
        resp.text().await.expect("text"),
        "Scaling partitions is not supported"
    );
    let resp = c
        .delete(url(mgmt, "/actuator/cluster/changes/2"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = c
        .post(url(mgmt, "/actuator/exporters/foo/disable"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.expect("json")["message"],
        "Expected to disable exporter, but the partition '1' does not have the exporter 'foo'"
    );
    let (status, health) = get_json(&c, url(mgmt, "/actuator/health")).await;
    assert_eq!((status, health), (StatusCode::OK, json!({"status": "UP"})));
    let (status, parts) = get_json(&c, url(mgmt, "/actuator/partitions")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(parts["1"]["role"], "LEADER");
    assert_eq!(parts["1"]["exporterPhase"], "EXPORTING");

    // Exporting: always HTTP 200 with the serialized WebEndpointResponse.
    let resp = c
        .post(url(mgmt, "/actuator/exporting/pause"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.json::<Value>().await.expect("json"),
        json!({"body": null, "status": 204, "contentType": null})
    );
    let (_, parts) = get_json(&c, url(mgmt, "/actuator/partitions")).await;
    assert_eq!(parts["1"]["exporterPhase"], "PAUSED");
    twin.shutdown().await;
}

#[tokio::test]
async fn lost_region_does_not_answer_and_exporting_fails_in_the_body() {
    let twin = start(1.0).await;
    let ep = twin.endpoints().clone();
    let c = client();
    // Warm a kept-alive connection to region 1 first.
    let (status, _) = get_json(&c, url(ep.regions[1].management, "/actuator/health")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lose_down(&c, ep.control, 1).await["status"], "down");
    for addr in [
        ep.regions[1].management,
        ep.regions[1].rest,
        ep.regions[1].elasticsearch,
    ] {
        let err = c.get(url(addr, "/actuator/health")).send().await;
        assert!(err.is_err(), "{addr} must not answer");
    }
    // The survivor answers; no partition has a leader, so pause fails inside HTTP 200.
    let resp = c
        .post(url(ep.regions[0].management, "/actuator/exporting/pause"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], 500);
    assert!(
        body["body"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Leader -1 of partition 1 is not known")),
        "{body}"
    );
    let status = c
        .get(url(ep.regions[0].rest, "/v2/status"))
        .send()
        .await
        .expect("request");
    assert_eq!(status.status(), StatusCode::SERVICE_UNAVAILABLE);
    twin.shutdown().await;
}

#[tokio::test]
async fn region0_lost_management_is_502_until_force_remove_completes() {
    let twin = start(1000.0).await;
    let ep = twin.endpoints().clone();
    let c = client();
    lose_down(&c, ep.control, 0).await;
    let mgmt = ep.regions[1].management;
    let resp = c
        .get(url(mgmt, "/actuator/cluster"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    assert!(resp.json::<Value>().await.expect("json")["message"].is_string());
    let resp = c
        .patch(url(mgmt, "/actuator/cluster?force=true"))
        .header("Content-Type", "application/json")
        .body(r#"{"brokers": {"remove": [0,2,4,6]}}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let plan: Value = resp.json().await.expect("json");
    assert_eq!(plan["changeId"], 2);
    assert_eq!(
        plan["plannedChanges"][8],
        json!({"operation": "BROKER_REMOVE", "brokerId": 1, "brokers": [0]})
    );
    wait_change(&c, mgmt, 2).await;
    let (_, exporters) = get_json(&c, url(mgmt, "/actuator/exporters")).await;
    assert_eq!(
        exporters,
        json!([{"exporterId": "camundaregion0", "status": "ENABLED"},
               {"exporterId": "camundaregion1", "status": "ENABLED"}])
    );
    twin.shutdown().await;
}

#[tokio::test]
#[allow(clippy::too_many_lines, reason = "the procedure, curl by curl")]
async fn procedure_over_http() {
    let twin = start(1000.0).await;
    let ep = twin.endpoints().clone();
    let (r0, r1) = (ep.regions[0], ep.regions[1]);
    let c = client();

    // Workload.
    let form = reqwest::multipart::Form::new().part(
        "resources",
        reqwest::multipart::Part::bytes(BPMN.as_bytes().to_vec()).file_name("load.bpmn"),
    );
    let resp = c
        .post(url(r0.rest, "/v2/deployments"))
        .basic_auth("demo", Some("demo"))
        .multipart(form)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let dep: Value = resp.json().await.expect("json");
    assert_eq!(
        dep["deployments"][0]["processDefinition"]["processDefinitionId"],
        "load"
    );
    assert_eq!(
        dep["deployments"][0]["processDefinition"]["processDefinitionVersion"],
        1
    );
    let create = |c: Client, rest: SocketAddr| async move {
        c.post(url(rest, "/v2/process-instances"))
            .basic_auth("demo", Some("demo"))
            .json(&json!({"processDefinitionId": "load"}))
            .send()
            .await
            .expect("request")
    };
    let resp = create(c.clone(), r0.rest).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let key = resp.json::<Value>().await.expect("json")["processInstanceKey"]
        .as_str()
        .expect("string key")
        .to_owned();
    let resp = c
        .post(url(r0.rest, "/v2/process-instances/search"))
        .basic_auth("demo", Some("demo"))
        .json(&json!({"filter": {"processInstanceKey": key}, "page": {"limit": 1}}))
        .send()
        .await
        .expect("request");
    let found: Value = resp.json().await.expect("json");
    assert_eq!(found["page"]["totalItems"], 1);
    assert_eq!(found["items"][0]["processInstanceKey"], key.as_str());

    // Lose region 1, fail over.
    lose_down(&c, ep.control, 1).await;
    let resp = c
        .patch(url(r0.management, "/actuator/cluster?force=true"))
        .header("Content-Type", "application/json")
        .body(r#"{"brokers": {"remove": [1,3,5,7]}}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    wait_change(&c, r0.management, 2).await;
    let resp = c
        .post(url(
            r0.management,
            "/actuator/exporters/camundaregion1/disable",
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(resp.json::<Value>().await.expect("json")["changeId"], 4);
    wait_change(&c, r0.management, 4).await;

    // Failback: recreate, deploy without web apps and schema.
    c.post(url(ep.control, "/twin/v1/regions/1/recreate"))
        .send()
        .await
        .expect("request");
    let resp = c
        .put(url(ep.control, "/twin/v1/regions/1/release"))
        .json(&json!({"values": {"orchestration.profiles.operate": false,
                                  "orchestration.profiles.tasklist": false},
                      "env": {"CAMUNDA_DATABASE_SCHEMAMANAGER_CREATESCHEMA": "false"}}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let release: Value = resp.json().await.expect("json");
    assert_eq!(
        release["activeProfiles"],
        json!(["broker", "identity", "consolidated-auth"])
    );
    let mut members_listed = false;
    for _ in 0..500 {
        let (_, t) = get_json(&c, url(ep.control, "/twin/v1/regions/1/release")).await;
        if t["rolloutComplete"] == true {
            members_listed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(members_listed);
    let t: Value = c
        .get(url(r0.rest, "/v2/topology"))
        .basic_auth("demo", Some("demo"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(t["brokers"].as_array().map(Vec::len), Some(8));
    assert_eq!(t["brokers"][1]["partitions"], json!([]));
    assert_eq!(t["clusterSize"], 4);

    // Pause, snapshot, register, restore.
    let body: Value = c
        .post(url(r0.management, "/actuator/exporting/pause"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(body["status"], 204);
    let repo = r#"{"type": "s3", "settings": {"bucket": "camunda-backups", "client": "camunda", "base_path": "backups"}}"#;
    let resp = c
        .put(url(r0.elasticsearch, "/_snapshot/camunda_backup"))
        .header("Content-Type", "application/json")
        .body(repo)
        .send()
        .await
        .expect("request");
    assert_eq!(
        resp.json::<Value>().await.expect("json"),
        json!({"acknowledged": true})
    );
    let resp = c
        .put(url(
            r0.elasticsearch,
            "/_snapshot/camunda_backup/failback?wait_for_completion=true",
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let snap: Value = resp.json().await.expect("json");
    assert_eq!(snap["snapshot"]["state"], "SUCCESS");
    assert_eq!(snap["snapshot"]["shards"]["failed"], 0);
    let (_, all) = get_json(&c, url(r0.elasticsearch, "/_snapshot/camunda_backup/_all")).await;
    assert_eq!(all["total"], 1);
    assert_eq!(all["snapshots"][0]["snapshot"], "failback");
    c.put(url(r1.elasticsearch, "/_snapshot/camunda_backup"))
        .header("Content-Type", "application/json")
        .body(repo)
        .send()
        .await
        .expect("request");
    let resp = c
        .post(url(
            r1.elasticsearch,
            "/_snapshot/camunda_backup/failback/_restore?wait_for_completion=true",
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let restored: Value = resp.json().await.expect("json");
    assert_eq!(restored["snapshot"]["shards"]["successful"], 33);
    let (_, st) = get_json(
        &c,
        url(
            r1.elasticsearch,
            "/_snapshot/camunda_backup/failback/_status",
        ),
    )
    .await;
    assert_eq!(st["snapshots"][0]["state"], "SUCCESS");
    assert_eq!(
        st["snapshots"][0]["shards_stats"]["done"],
        st["snapshots"][0]["shards_stats"]["total"]
    );
    // Restoring again onto the now-open indices fails.
    let resp = c
        .post(url(
            r1.elasticsearch,
            "/_snapshot/camunda_backup/failback/_restore?wait_for_completion=true",
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let err: Value = resp.json().await.expect("json");
    assert_eq!(err["error"]["type"], "snapshot_restore_exception");
    assert_eq!(err["status"], 500);

    // Enable the exporter from the survivor's, resume, re-add brokers.
    let resp = c
        .post(url(
            r0.management,
            "/actuator/exporters/camundaregion1/enable",
        ))
        .header("Content-Type", "application/json")
        .body(r#"{"initializeFrom" : "camundaregion0"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    wait_change(&c, r0.management, 6).await;
    let body: Value = c
        .post(url(r0.management, "/actuator/exporting/resume"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(body["status"], 204);
    let resp = c
        .patch(url(r0.management, "/actuator/cluster"))
        .header("Content-Type", "application/json")
        .body(r#"{"brokers": {"add": [1,3,5,7]}, "partitions": {"replicationFactor": 4}}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(resp.json::<Value>().await.expect("json")["changeId"], 8);
    wait_change(&c, r0.management, 8).await;
    let t: Value = c
        .get(url(r1.rest, "/v2/topology"))
        .basic_auth("demo", Some("demo"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(t["clusterSize"], 8);
    assert_eq!(t["replicationFactor"], 4);
    assert_eq!(t["lastCompletedChangeId"], "8");
    // The instance created before the loss is visible in the recreated region.
    let resp = c
        .get(url(r1.rest, &format!("/v2/process-instances/{key}")))
        .basic_auth("demo", Some("demo"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let (_, stats) = get_json(&c, url(ep.control, "/twin/v1/stats")).await;
    assert!(stats["busySimMillis"].as_u64().is_some_and(|b| b > 20_000));
    assert!(stats["requests"].as_u64().is_some_and(|n| n > 20));
    twin.shutdown().await;
}

#[tokio::test]
async fn elasticsearch_surface() {
    let twin = start(1.0).await;
    let es = twin.endpoints().regions[0].elasticsearch;
    let c = client();
    let (status, info) = get_json(&c, url(es, "/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["version"]["number"], "8.18.0");
    let (_, cat) = get_json(&c, url(es, "/_cat/indices?format=json")).await;
    assert_eq!(cat.as_array().map(Vec::len), Some(33));
    assert!(cat[0]["docs.count"].is_string());
    let (status, missing) = get_json(&c, url(es, "/_snapshot/nope/_all")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["error"]["type"], "repository_missing_exception");
    assert_eq!(missing["error"]["reason"], "[nope] missing");
    let resp = c
        .post(url(es, "/operate-list-view-8.3.0_/_close"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let (status, _) = get_json(&c, url(es, "/operate-list-view-8.3.0_/_count")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let resp = c
        .delete(url(es, "/operate-list-view-8.3.0_"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let (status, _) = get_json(&c, url(es, "/operate-list-view-8.3.0_/_count")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let resp = c
        .post(url(es, "/tasklist-draft-task-variable-8.3.0_/_search"))
        .json(&json!({"query": {"match_all": {}}, "size": 1, "_source": ["id"]}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = c
        .put(url(es, "/_snapshot/r"))
        .header("Content-Type", "application/json")
        .body("{broken")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    twin.shutdown().await;
}

/// Junk never crashes a handler: every answer is an HTTP status (no dropped connection) and
/// none is a 5xx except where the contract says so.
#[tokio::test]
async fn malformed_inputs_get_client_errors() {
    let twin = start(1.0).await;
    let ep = twin.endpoints().clone();
    let (r0, control) = (ep.regions[0], ep.control);
    let c = client();
    let junk: [&[u8]; 5] = [b"", b"{", b"[1,2", b"\xff\xfe", b"{\"brokers\": 7}"];
    let json_ct = "application/json";
    let mut checked = 0;
    for body in junk {
        let calls = [
            (
                reqwest::Method::PATCH,
                url(r0.management, "/actuator/cluster?force=true"),
            ),
            (
                reqwest::Method::PATCH,
                url(r0.management, "/actuator/cluster?dryRun=x"),
            ),
            (
                reqwest::Method::POST,
                url(
                    r0.management,
                    "/actuator/cluster/brokers?replicationFactor=-1",
                ),
            ),
            (
                reqwest::Method::POST,
                url(r0.management, "/actuator/cluster/brokers/x/partitions/1"),
            ),
            (
                reqwest::Method::POST,
                url(r0.management, "/actuator/cluster/brokers/abc"),
            ),
            (
                reqwest::Method::DELETE,
                url(r0.management, "/actuator/cluster/changes/%20"),
            ),
            (
                reqwest::Method::POST,
                url(r0.management, "/actuator/exporters/camundaregion1/enable"),
            ),
            (
                reqwest::Method::POST,
                url(r0.management, "/actuator/exporting/sideways"),
            ),
            (reqwest::Method::POST, url(r0.rest, "/v2/process-instances")),
            (
                reqwest::Method::POST,
                url(r0.rest, "/v2/process-instances/search"),
            ),
            (
                reqwest::Method::GET,
                url(r0.rest, "/v2/process-instances/notakey"),
            ),
            (reqwest::Method::POST, url(r0.rest, "/v2/user-tasks/search")),
            (
                reqwest::Method::POST,
                url(r0.rest, "/v2/user-tasks/notakey/completion"),
            ),
            (reqwest::Method::POST, url(r0.rest, "/v2/deployments")),
            (reqwest::Method::PUT, url(r0.elasticsearch, "/_snapshot/r")),
            (
                reqwest::Method::PUT,
                url(r0.elasticsearch, "/_snapshot/r/s?wait_for_completion=true"),
            ),
            (
                reqwest::Method::POST,
                url(r0.elasticsearch, "/_snapshot/r/s/_restore"),
            ),
            (
                reqwest::Method::POST,
                url(r0.elasticsearch, "/operate-list-view-8.3.0_/_search"),
            ),
            (reqwest::Method::DELETE, url(r0.elasticsearch, "/nope*")),
            (
                reqwest::Method::POST,
                url(control, "/twin/v1/regions/1/lose"),
            ),
            (
                reqwest::Method::POST,
                url(control, "/twin/v1/regions/9/heal"),
            ),
            (
                reqwest::Method::PUT,
                url(control, "/twin/v1/regions/x/release"),
            ),
        ];
        for (method, u) in calls {
            let resp = c
                .request(method.clone(), &u)
                .basic_auth("demo", Some("demo"))
                .header("Content-Type", json_ct)
                .body(body.to_vec())
                .send()
                .await
                .unwrap_or_else(|e| panic!("{method} {u} dropped the connection: {e}"));
            let status = resp.status().as_u16();
            let exporting = u.contains("/actuator/exporting/");
            // An empty body is a valid enable (no initializeFrom) and a valid search.
            let valid_enable = u.ends_with("/enable") && body.is_empty();
            let object = body.is_empty()
                || serde_json::from_slice::<Value>(body).is_ok_and(|v| v.is_object());
            let valid_search = (u.ends_with("/v2/process-instances/search")
                || u.ends_with("/v2/user-tasks/search"))
                && object
                && status == 200
                || u.ends_with("/_search") && body.is_empty() && status == 200;
            assert!(
                (400..500).contains(&status)
                    || (exporting && status == 200)
                    || (valid_enable && status == 202)
                    || valid_search,
                "{method} {u} with {body:?} answered {status}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 110);
    // The region is still fine afterwards.
    let (status, _) = get_json(&c, url(r0.management, "/actuator/cluster")).await;
    assert_eq!(status, StatusCode::OK);
    twin.shutdown().await;
}

/// Deterministic mode: on a manual clock, time only moves when told to, and a waiting
/// handler (`wait_for_completion=true`) makes it jump to the due time.
#[tokio::test]
async fn manual_clock_twin_is_deterministic() {
    use std::sync::Arc;

    use c8dr_twin::{Clock, ManualClock};

    let clock = Arc::new(ManualClock::new());
    // Exact latencies: this test checks the snapshot takes its 2 s to the millisecond.
    let config =
        TwinConfig::default().with_latencies(c8dr_twin::Latencies::default().with_jitter(0.0));
    let twin = Twin::with_clock(config, clock.clone())
        .expect("valid config")
        .start(Binding::Ephemeral)
        .await
        .expect("bind");
    let es = twin.endpoints().regions[0].elasticsearch;
    let c = client();
    c.put(url(es, "/_snapshot/r"))
        .header("Content-Type", "application/json")
        .body(r#"{"type": "fs", "settings": {"location": "/b"}}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(clock.now(), 0);
    let snap: Value = c
        .put(url(es, "/_snapshot/r/s?wait_for_completion=true"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(clock.now(), 2_000);
    assert_eq!(snap["snapshot"]["state"], "SUCCESS");
    assert_eq!(snap["snapshot"]["start_time"], "2025-09-29T11:00:00.000Z");
    assert_eq!(snap["snapshot"]["duration_in_millis"], 2_000);
    // Nothing else moves time: the web apps wrote exactly two documents meanwhile.
    assert_eq!(
        twin.with_world(|w| w.es_count(0, "tasklist-draft-task-variable-8.3.0_"))
            .expect("count")["count"],
        2
    );
    twin.shutdown().await;
}

/// Control API `GET /twin/v1/clock` and `POST /twin/v1/clock/advance`: a manual clock moves by
/// the body's `millis` (and the world with it); bad bodies are 400 with a reason; a scaled
/// clock refuses with 409.
#[tokio::test]
async fn control_api_clock_advances_only_a_manual_clock() {
    use std::sync::Arc;

    use c8dr_twin::ManualClock;

    let clock = Arc::new(ManualClock::new());
    let config =
        TwinConfig::default().with_latencies(c8dr_twin::Latencies::default().with_jitter(0.0));
    let twin = Twin::with_clock(config, clock)
        .expect("valid config")
        .start(Binding::Ephemeral)
        .await
        .expect("bind");
    let control = twin.endpoints().control;
    let c = client();
    let advance = |body: &'static str| {
        c.post(url(control, "/twin/v1/clock/advance"))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let (status, body) = get_json(&c, url(control, "/twin/v1/clock")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"now": 0, "simTime": "2025-09-29T11:00:00.000Z", "manual": true})
    );
    let resp = advance(r#"{"millis": 2500}"#).await.expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["now"], 2_500);
    assert_eq!(body["simTime"], "2025-09-29T11:00:02.500Z");
    // The world moved too: the web apps wrote one document per second meanwhile.
    assert_eq!(
        twin.with_world(|w| w.es_count(0, "tasklist-draft-task-variable-8.3.0_"))
            .expect("count")["count"],
        2
    );
    for (bad, reason) in [
        ("", "not JSON"),
        ("[1]", "expected a body"),
        ("{}", "millis is missing"),
        (r#"{"millis": -1}"#, "whole number"),
        (r#"{"millis": 1.5}"#, "whole number"),
        (r#"{"millis": "10"}"#, "whole number"),
        (r#"{"millis": 31536000001}"#, "a year"),
        (
            r#"{"millis": 1, "seconds": 1}"#,
            "unknown field \"seconds\"",
        ),
    ] {
        let resp = advance(bad).await.expect("request");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = resp.json().await.expect("json");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(reason), "{bad}: {error}");
    }
    let (_, body) = get_json(&c, url(control, "/twin/v1/clock")).await;
    assert_eq!(body["now"], 2_500, "rejected requests do not move time");
    let resp = advance(r#"{"millis": 0}"#).await.expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    twin.shutdown().await;

    let scaled = start(10.0).await;
    let control = scaled.endpoints().control;
    let (status, body) = get_json(&c, url(control, "/twin/v1/clock")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["manual"], false);
    let resp = c
        .post(url(control, "/twin/v1/clock/advance"))
        .header("Content-Type", "application/json")
        .body(r#"{"millis": 60000}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let body: Value = resp.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("--manual-clock")),
        "{body}"
    );
    scaled.shutdown().await;
}

/// Sends one HTTP/1.1 request on `stream` and reads until the server answers or the connection
/// ends; returns the read error, if any.
async fn request_and_read(stream: &mut tokio::net::TcpStream) -> Result<Vec<u8>, std::io::Error> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /actuator/health HTTP/1.1\r\nhost: twin\r\n\r\n")
        .await?;
    let mut answer = vec![0_u8; 4096];
    let n = stream.read(&mut answer).await?;
    answer.truncate(n);
    Ok(answer)
}

#[tokio::test]
async fn a_down_region_resets_every_connection_the_same_way() {
    use tokio::net::TcpStream;
    let twin = start(1.0).await;
    let ep = twin.endpoints().clone();
    let c = client();
    let management = ep.regions[1].management;
    // A kept-alive connection that was answered before the loss.
    let mut kept = TcpStream::connect(management).await.expect("connect");
    let answer = request_and_read(&mut kept)
        .await
        .expect("answered while up");
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    lose_down(&c, ep.control, 1).await;
    let kept_error = request_and_read(&mut kept)
        .await
        .expect_err("a kept-alive connection to a down region is not answered");
    assert_eq!(
        kept_error.kind(),
        std::io::ErrorKind::ConnectionReset,
        "{kept_error}"
    );
    // New connections: never an orderly end of stream (which would read as Ok(empty)), always
    // the same reset, however the request races the server's close.
    for attempt in 0..50 {
        let mut fresh = TcpStream::connect(management).await.expect("connect");
        if attempt % 2 == 0 {
            // Give the server time to close before the request is written.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let outcome = request_and_read(&mut fresh).await;
        assert!(
            matches!(&outcome, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
            "attempt {attempt}: {outcome:?}"
        );
    }
    twin.shutdown().await;
}
