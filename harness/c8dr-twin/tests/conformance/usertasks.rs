//! Camunda user tasks and completing instances through the engine (contract §2.3 extended).
//! Sources: camunda-docs `versioned_docs/version-8.8/apis-tools/orchestration-cluster-api-rest/
//! specifications/search-user-tasks.api.mdx` and `complete-user-task.api.mdx` (paths, bodies,
//! `UserTaskResult`, 204/400/404/409/503/504); camunda/camunda
//! `zeebe/engine/.../processing/usertask/UserTaskCompleteProcessor.java` (the `NOT_FOUND`
//! rejection text; a completed task leaves the state, so a second completion is that 404 too);
//! `webapps-schema/.../descriptors/template/TaskTemplate.java` (the task index's fields);
//! routing and 503/504 as for instance creation (see the workload module).

use std::collections::BTreeSet;
use std::time::Duration;

use c8dr_twin::{Latencies, TwinConfig};
use serde_json::{Value, json};

use crate::support::{Answer, Env, PROBE_ID, page_config};

fn key(a: &Answer, field: &str) -> String {
    a.json()[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is a string key: {}", a.text))
        .to_owned()
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

fn partition_of(key: &str) -> u64 {
    key.parse::<u64>().map_or(0, |k| k >> 51)
}

/// `POST /v2/user-tasks/search` through region `r`, expecting 200.
async fn search(env: &Env, r: u8, body: &Value) -> Value {
    let a = env
        .post(env.rest(r), "/v2/user-tasks/search", Some(body))
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
}

/// The user task of instance `instance` as region `r`'s Elasticsearch shows it.
async fn task_of(env: &Env, r: u8, instance: &str) -> Option<Value> {
    let s = search(
        env,
        r,
        &json!({"filter": {"processInstanceKey": instance}, "page": {"limit": 10}}),
    )
    .await;
    assert!(s["page"]["totalItems"].as_u64() <= Some(1), "{s}");
    s["items"].get(0).cloned()
}

/// The state of instance `instance` as region `r`'s Elasticsearch shows it.
async fn instance_state(env: &Env, r: u8, instance: &str) -> Option<String> {
    let a = env
        .get(env.rest(r), &format!("/v2/process-instances/{instance}"))
        .await;
    (a.status == 200).then(|| a.json()["state"].as_str().unwrap_or_default().to_owned())
}

async fn complete(env: &Env, r: u8, task: &str, body: Option<&Value>) -> Answer {
    env.post(
        env.rest(r),
        &format!("/v2/user-tasks/{task}/completion"),
        body,
    )
    .await
}

/// Creates a probe instance through region `r`; returns (instance key, user-task key) once
/// region `r` shows the task.
async fn started(env: &Env, r: u8) -> (String, String) {
    let a = env.create_probe(r).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let instance = key(&a, "processInstanceKey");
    let task = task_of(env, r, &instance)
        .await
        .unwrap_or_else(|| panic!("the task of {instance} is exported"));
    let task_key = task["userTaskKey"].as_str().unwrap_or_default().to_owned();
    (instance, task_key)
}

/// 8.8 OpenAPI `UserTaskResult` + `TaskTemplate`: creating an instance of a process with a
/// Camunda user task creates the task on the instance's partition; once exported, both
/// regions' searches show it `CREATED` with the fields a search needs; filters on instance,
/// state and key; offset pages with base64 cursors of the sort values.
#[tokio::test]
async fn user_task_is_created_with_the_instance_and_found_by_search() {
    let env = Env::with_config(page_config()).await;
    let d = env.deploy_probe(0).await;
    assert_eq!(d.status, 200, "{}", d.text);
    let definition = d.json()["deployments"][0]["processDefinition"]["processDefinitionKey"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (instance, task) = started(&env, 0).await;
    assert_eq!(partition_of(&task), partition_of(&instance));
    assert_ne!(task, instance);
    for r in [0_u8, 1] {
        let item = task_of(&env, r, &instance).await.expect("exported");
        assert_eq!(
            keys(&item),
            set(&[
                "userTaskKey",
                "name",
                "state",
                "elementId",
                "candidateGroups",
                "candidateUsers",
                "processDefinitionId",
                "creationDate",
                "tenantId",
                "processDefinitionVersion",
                "customHeaders",
                "priority",
                "elementInstanceKey",
                "processDefinitionKey",
                "processInstanceKey",
            ]),
            "region {r}: {item}"
        );
        assert_eq!(item["userTaskKey"], task.as_str());
        assert_eq!(item["state"], "CREATED");
        assert_eq!(item["elementId"], "await-check");
        assert_eq!(item["name"], "Await data-continuity check");
        assert_eq!(item["processDefinitionId"], PROBE_ID);
        assert_eq!(item["processDefinitionKey"], definition.as_str());
        assert_eq!(item["processInstanceKey"], instance.as_str());
        assert_eq!(item["processDefinitionVersion"], 1);
        assert_eq!(item["tenantId"], "<default>");
        assert_eq!(
            partition_of(item["elementInstanceKey"].as_str().unwrap_or_default()),
            partition_of(&instance)
        );
        assert!(humantime::parse_rfc3339(item["creationDate"].as_str().unwrap_or("")).is_ok());
    }
    let doc = env
        .get(env.es(1), "/tasklist-task-8.8.0_/_search")
        .await
        .json();
    let source = &doc["hits"]["hits"][0]["_source"];
    for (field, value) in [
        ("key", json!(task.parse::<u64>().unwrap_or(0))),
        ("processInstanceId", json!(instance)),
        ("flowNodeBpmnId", json!("await-check")),
        ("bpmnProcessId", json!(PROBE_ID)),
        ("state", json!("CREATED")),
        ("implementation", json!("ZEEBE_USER_TASK")),
    ] {
        assert_eq!(source[field], value, "{field} in {source}");
    }
    let none = search(
        &env,
        0,
        &json!({"filter": {"processInstanceKey": instance, "state": "COMPLETED"}}),
    )
    .await;
    assert_eq!(none["page"]["totalItems"], 0);
    assert_eq!(none["items"], json!([]));
    let by_key = search(&env, 1, &json!({"filter": {"userTaskKey": task}})).await;
    assert_eq!(by_key["items"][0]["processInstanceKey"], instance.as_str());

    // Pages: three more instances, two pages of two.
    for _ in 0..3 {
        started(&env, 1).await;
    }
    let all = search(&env, 0, &json!({"filter": {"state": {"$eq": "CREATED"}}})).await;
    assert_eq!(all["page"]["totalItems"], 4);
    let second = search(&env, 0, &json!({"page": {"from": 2, "limit": 2}})).await;
    assert_eq!(second["page"]["totalItems"], 4);
    assert_eq!(second["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(second["items"][0], all["items"][2]);
    let last = second["items"][1]["userTaskKey"].as_str().unwrap_or("");
    assert_eq!(
        second["page"]["endCursor"].as_str().map(str::to_owned),
        Some(base64(&format!("[{last}]")))
    );
    let a = env
        .post(
            env.rest(0),
            "/v2/user-tasks/search",
            Some(&json!({"filter": {"state": "DONE"}})),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(a.content_type.as_deref(), Some("application/problem+json"));
    let g = env
        .get(env.rest(1), &format!("/v2/user-tasks/{task}"))
        .await;
    assert_eq!(
        (g.status, g.json()["userTaskKey"].clone()),
        (200, json!(task))
    );
}

fn base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `complete-user-task.api.mdx` + `UserTaskCompleteProcessor`: completion answers 204 without
/// a body; the task becomes `COMPLETED` and the instance, reaching its end event, `COMPLETED`
/// with an end date, in both regions once exported; completing it again, or an unknown key,
/// is 404 `NOT_FOUND` with the engine's rejection; a malformed key or body is 400; no
/// credentials is 401.
#[tokio::test]
async fn completion_is_204_and_completes_task_and_instance() {
    let env = Env::with_config(page_config()).await;
    env.deploy_probe(0).await;
    let (instance, task) = started(&env, 0).await;
    assert_eq!(
        instance_state(&env, 1, &instance).await.as_deref(),
        Some("ACTIVE")
    );
    let t0 = env.now();
    let a = complete(
        &env,
        1,
        &task,
        Some(&json!({"variables": {"checked": true}, "action": "complete"})),
    )
    .await;
    assert_eq!((a.status, a.text.as_str()), (204, ""));
    assert_eq!(env.now(), t0, "answered at once");
    for r in [0_u8, 1] {
        let item = task_of(&env, r, &instance).await.expect("exported");
        assert_eq!(item["state"], "COMPLETED", "region {r}");
        assert!(item["completionDate"].is_string(), "{item}");
        let i = env
            .get(env.rest(r), &format!("/v2/process-instances/{instance}"))
            .await
            .json();
        assert_eq!(i["state"], "COMPLETED", "region {r}");
        assert!(i["endDate"].is_string(), "{i}");
        let found = env
            .post(
                env.rest(r),
                "/v2/process-instances/search",
                Some(&json!({"filter": {"processInstanceKey": instance, "state": "COMPLETED"}})),
            )
            .await
            .json();
        assert_eq!(found["page"]["totalItems"], 1);
        assert_eq!(found["items"][0]["state"], "COMPLETED");
    }
    let path = format!("/v2/user-tasks/{task}/completion");
    let again = complete(&env, 0, &task, None).await;
    assert_eq!(
        again.content_type.as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(
        (again.status, again.json()),
        (
            404,
            json!({"type": "about:blank", "title": "NOT_FOUND", "status": 404,
                   "detail": format!("Command 'COMPLETE' rejected with code 'NOT_FOUND': Expected to complete user task with key '{task}', but no such user task was found"),
                   "instance": path})
        )
    );
    let unknown = (1_u64 << 51) + 999_999;
    let a = complete(&env, 0, &unknown.to_string(), None).await;
    assert_eq!(a.status, 404);
    assert!(
        a.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&format!("'{unknown}'"))),
        "{}",
        a.text
    );
    let a = complete(&env, 0, "not-a-key", None).await;
    assert_eq!(a.status, 400, "{}", a.text);
    let (_, other) = started(&env, 0).await;
    for body in [
        json!({"invalid": "payload"}),
        json!({"variables": 7}),
        json!([1]),
    ] {
        let a = complete(&env, 0, &other, Some(&body)).await;
        assert_eq!(a.status, 400, "{body}: {}", a.text);
    }
    let a = env
        .try_send(
            reqwest::Method::POST,
            env.rest(0),
            &format!("/v2/user-tasks/{other}/completion"),
            None,
            false,
        )
        .await
        .expect("answers");
    assert_eq!(a.status, 401);
    assert_eq!(complete(&env, 0, &other, None).await.status, 204);
}

/// Two regions of two brokers, four partitions, RF 3: losing region 1 leaves partitions 1
/// and 3 with a quorum, 2 and 4 without.
fn small_config() -> TwinConfig {
    TwinConfig::default()
        .with_cluster(4, 4, 3)
        .with_latencies(Latencies::default().with_jitter(0.0))
}

/// Routing as for instance creation (`RestErrorMapper`): the command goes to the leader of
/// the task's partition; a leader behind a cut the gateway has not detected yet → 504 after
/// the 15 s request timeout; once detected (or without quorum) → 503 at once; a partition
/// that kept its leader completes.
#[tokio::test]
async fn completion_needs_the_leader_of_the_tasks_partition() {
    let env = Env::with_config(small_config()).await;
    env.deploy_probe(0).await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (_, task) = started(&env, 0).await;
        tasks.push(task);
    }
    let partitions: Vec<u64> = tasks.iter().map(|t| partition_of(t)).collect();
    assert_eq!(partitions, vec![1, 2, 3, 4]);
    env.lose(1, "cutOff").await;
    // Partition 2 keeps its leader (broker 1) inside the cut-off region: from region 0 the
    // gateway still knows it but the request is lost.
    let t0 = env.now();
    let a = complete(&env, 0, &tasks[1], None).await;
    assert_eq!(a.status, 504, "{}", a.text);
    assert_eq!(a.json()["title"], "DEADLINE_EXCEEDED");
    assert_eq!(env.now() - t0, 15_000);
    // Failure detection has removed region 1's brokers by now: 503 at once.
    let t1 = env.now();
    let a = complete(&env, 0, &tasks[1], None).await;
    assert_eq!(a.status, 503, "{}", a.text);
    assert_eq!(a.json()["title"], "UNAVAILABLE");
    assert_eq!(env.now(), t1);
    // Partition 1 (leader 0, quorum in region 0) completes.
    assert_eq!(complete(&env, 0, &tasks[0], None).await.status, 204);
    // Inside the cut-off region, partition 2's leader is reachable.
    assert_eq!(complete(&env, 1, &tasks[1], None).await.status, 204);
    env.post(env.control(), "/twin/v1/regions/1/heal", None)
        .await;
    env.wait_leaders(0).await;
    assert_eq!(complete(&env, 1, &tasks[2], None).await.status, 204);
    assert_eq!(complete(&env, 0, &tasks[3], None).await.status, 204);
    assert_eq!(complete(&env, 0, &tasks[1], None).await.status, 404);
}

/// §1.8 + §4: the engine completes the task while exporting is paused, but secondary
/// storage goes stale: both regions keep showing the task `CREATED` and the instance
/// `ACTIVE` until exporting resumes.
#[tokio::test]
async fn completion_while_paused_shows_after_resume() {
    let env = Env::with_config(page_config()).await;
    env.deploy_probe(0).await;
    let (instance, task) = started(&env, 0).await;
    let a = env
        .post(env.mgmt(0), "/actuator/exporting/pause", None)
        .await;
    assert_eq!(a.json()["status"], 204);
    assert_eq!(complete(&env, 0, &task, None).await.status, 204);
    env.advance(Duration::from_secs(30));
    for r in [0_u8, 1] {
        assert_eq!(
            task_of(&env, r, &instance).await.expect("exported")["state"],
            "CREATED"
        );
        assert_eq!(
            instance_state(&env, r, &instance).await.as_deref(),
            Some("ACTIVE")
        );
    }
    assert_eq!(
        complete(&env, 1, &task, None).await.status,
        404,
        "the engine knows"
    );
    env.post(env.mgmt(1), "/actuator/exporting/resume", None)
        .await;
    for r in [0_u8, 1] {
        assert_eq!(
            task_of(&env, r, &instance).await.expect("exported")["state"],
            "COMPLETED"
        );
        assert_eq!(
            instance_state(&env, r, &instance).await.as_deref(),
            Some("COMPLETED")
        );
    }
}

/// c8dr's data-continuity oracle over the whole 8.8 procedure (page + contract §4), for
/// each lost region: instances started before the loss keep their tasks through failover,
/// the snapshot and restore, the re-add; one is completed during failover (the survivor's
/// Elasticsearch shows it, and the snapshot carries it to the recreated region), the others
/// after failback through both gateways; every completion reaches both regions'
/// Elasticsearch.
#[tokio::test]
async fn instances_started_before_the_loss_complete_after_failback_through_either_gateway() {
    for lost in [1_u8, 0] {
        let surv = 1 - lost;
        let env = Env::with_config(page_config()).await;
        env.deploy_probe(0).await;
        let mut started_before = Vec::new();
        for _ in 0..8 {
            started_before.push(started(&env, 0).await);
        }
        let partitions: BTreeSet<u64> = started_before
            .iter()
            .map(|(i, _)| partition_of(i))
            .collect();
        assert_eq!(partitions.len(), 8, "one instance per partition");
        env.lose(lost, "down").await;
        let (during_instance, during_task) = started_before[0].clone();
        assert_eq!(
            complete(&env, surv, &during_task, None).await.status,
            503,
            "no partition has a quorum before the failover"
        );
        env.failover(lost).await;
        assert_eq!(complete(&env, surv, &during_task, None).await.status, 204);
        assert_eq!(
            instance_state(&env, surv, &during_instance)
                .await
                .as_deref(),
            Some("COMPLETED")
        );
        env.failback_prepare(lost).await;
        let a = env.restore(lost).await;
        assert_eq!(a.status, 200, "{}", a.text);
        env.enable_lost_exporter(lost).await;
        env.failback_finish(lost).await;
        // The snapshot carried the completion made during the failover.
        assert_eq!(
            instance_state(&env, lost, &during_instance)
                .await
                .as_deref(),
            Some("COMPLETED")
        );
        for (n, (instance, task)) in started_before.iter().enumerate().skip(1) {
            for r in [0_u8, 1] {
                assert_eq!(
                    task_of(&env, r, instance).await.expect("restored")["state"],
                    "CREATED",
                    "lost {lost}, region {r}"
                );
            }
            let through = u8::try_from(n % 2).unwrap_or(0);
            let a = complete(&env, through, task, None).await;
            assert_eq!(a.status, 204, "lost {lost}, task {task}: {}", a.text);
        }
        for (instance, _) in &started_before {
            for r in [0_u8, 1] {
                assert_eq!(
                    task_of(&env, r, instance).await.expect("exported")["state"],
                    "COMPLETED",
                    "lost {lost}, region {r}, instance {instance}"
                );
                assert_eq!(
                    instance_state(&env, r, instance).await.as_deref(),
                    Some("COMPLETED"),
                    "lost {lost}, region {r}, instance {instance}"
                );
            }
        }
        env.shutdown().await;
    }
}
