//! Deterministic mode: virtual time ([`c8dr_twin::ManualClock`]) and a seeded random
//! generator behind the latency jitter. The whole procedure, driven by a sequential client
//! that moves the clock itself, replays byte for byte with the same seed; another seed
//! changes the timings.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Env, page_config};

/// A sequential client that records every answer, with the simulated time it came at.
struct Recorder {
    env: Env,
    log: Vec<String>,
}

#[derive(Clone, Copy)]
enum To {
    Rest(u8),
    Mgmt(u8),
    Es(u8),
    Control,
}

impl Recorder {
    async fn call(&mut self, method: Method, to: To, path: &str, body: Option<Value>) -> Value {
        let addr = match to {
            To::Rest(r) => self.env.rest(r),
            To::Mgmt(r) => self.env.mgmt(r),
            To::Es(r) => self.env.es(r),
            To::Control => self.env.control(),
        };
        let a = self
            .env
            .send(method.clone(), addr, path, body.as_ref())
            .await;
        let target = match to {
            To::Rest(r) => format!("rest{r}"),
            To::Mgmt(r) => format!("mgmt{r}"),
            To::Es(r) => format!("es{r}"),
            To::Control => "control".to_owned(),
        };
        self.log.push(format!(
            "t={} {method} {target}{path} -> {} {}",
            self.env.now(),
            a.status,
            a.text
        ));
        a.json()
    }

    /// Polls `GET /actuator/cluster` in 100 ms steps until change `id` completed.
    async fn wait_change(&mut self, r: u8, id: u64) {
        for _ in 0..1_200 {
            let c = self
                .call(Method::GET, To::Mgmt(r), "/actuator/cluster", None)
                .await;
            if c["lastChange"]["id"] == json!(id) && c["lastChange"]["status"] == "COMPLETED" {
                return;
            }
            self.env.advance(Duration::from_millis(100));
        }
        panic!("change {id} did not complete");
    }

    /// Polls the release of region `r` in 500 ms steps until its rollout completed.
    async fn wait_rollout(&mut self, r: u8) {
        for _ in 0..1_000 {
            let rel = self
                .call(
                    Method::GET,
                    To::Control,
                    &format!("/twin/v1/regions/{r}/release"),
                    None,
                )
                .await;
            if rel["rolloutComplete"] == true {
                return;
            }
            self.env.advance(Duration::from_millis(500));
        }
        panic!("rollout of region {r} did not complete");
    }
}

/// The procedure for region 1 lost, every answer recorded.
async fn run(seed: u64) -> Vec<String> {
    let env = Env::with_config(page_config().with_seed(seed)).await;
    let mut rec = Recorder {
        env,
        log: Vec::new(),
    };
    let form = reqwest::multipart::Form::new().part(
        "resources",
        reqwest::multipart::Part::bytes(crate::support::BPMN.as_bytes().to_vec())
            .file_name("load.bpmn"),
    );
    let dep = rec
        .env
        .client
        .post(format!("http://{}/v2/deployments", rec.env.rest(0)))
        .basic_auth("demo", Some("demo"))
        .multipart(form)
        .send()
        .await
        .expect("deploy");
    rec.log.push(format!(
        "deploy -> {} {}",
        dep.status(),
        dep.text().await.unwrap_or_default()
    ));
    let create = json!({"processDefinitionId": "load"});
    for _ in 0..4 {
        rec.call(
            Method::POST,
            To::Rest(0),
            "/v2/process-instances",
            Some(create.clone()),
        )
        .await;
    }
    rec.env.advance(Duration::from_secs(1));
    rec.call(
        Method::POST,
        To::Control,
        "/twin/v1/regions/1/lose",
        Some(json!({"mode": "down"})),
    )
    .await;
    rec.env.advance(Duration::from_secs(3));
    rec.call(Method::GET, To::Rest(0), "/v2/topology", None)
        .await;
    rec.call(
        Method::PATCH,
        To::Mgmt(0),
        "/actuator/cluster?force=true",
        Some(json!({"brokers": {"remove": [1, 3, 5, 7]}})),
    )
    .await;
    rec.wait_change(0, 2).await;
    rec.env.advance(Duration::from_secs(1));
    rec.call(Method::GET, To::Rest(0), "/v2/topology", None)
        .await;
    rec.call(
        Method::POST,
        To::Rest(0),
        "/v2/process-instances",
        Some(create.clone()),
    )
    .await;
    rec.call(
        Method::POST,
        To::Mgmt(0),
        "/actuator/exporters/camundaregion1/disable",
        None,
    )
    .await;
    rec.wait_change(0, 4).await;
    rec.call(Method::GET, To::Mgmt(0), "/actuator/exporters", None)
        .await;
    rec.call(
        Method::POST,
        To::Control,
        "/twin/v1/regions/1/recreate",
        None,
    )
    .await;
    rec.call(
        Method::PUT,
        To::Control,
        "/twin/v1/regions/1/release",
        Some(json!({"values": {"orchestration.profiles.operate": false,
                               "orchestration.profiles.tasklist": false},
                    "env": {"CAMUNDA_DATABASE_SCHEMAMANAGER_CREATESCHEMA": "false"}})),
    )
    .await;
    rec.wait_rollout(1).await;
    rec.call(Method::GET, To::Rest(0), "/v2/topology", None)
        .await;
    rec.call(
        Method::PUT,
        To::Control,
        "/twin/v1/regions/0/release",
        Some(json!({"values": {"orchestration.profiles.operate": false,
                               "orchestration.profiles.tasklist": false}})),
    )
    .await;
    rec.wait_rollout(0).await;
    rec.call(Method::POST, To::Mgmt(0), "/actuator/exporting/pause", None)
        .await;
    let repo = json!({"type": "s3", "settings": {"bucket": "b", "client": "camunda", "base_path": "backups"}});
    rec.call(
        Method::PUT,
        To::Es(0),
        "/_snapshot/camunda_backup",
        Some(repo.clone()),
    )
    .await;
    rec.call(
        Method::PUT,
        To::Es(0),
        "/_snapshot/camunda_backup/failback?wait_for_completion=true",
        None,
    )
    .await;
    rec.call(
        Method::GET,
        To::Es(0),
        "/_snapshot/camunda_backup/_all",
        None,
    )
    .await;
    rec.call(
        Method::PUT,
        To::Es(1),
        "/_snapshot/camunda_backup",
        Some(repo),
    )
    .await;
    rec.call(
        Method::GET,
        To::Es(1),
        "/_snapshot/camunda_backup/_all",
        None,
    )
    .await;
    rec.call(
        Method::POST,
        To::Es(1),
        "/_snapshot/camunda_backup/failback/_restore?wait_for_completion=true",
        None,
    )
    .await;
    rec.call(
        Method::GET,
        To::Es(1),
        "/_snapshot/camunda_backup/failback/_status",
        None,
    )
    .await;
    rec.call(
        Method::POST,
        To::Mgmt(0),
        "/actuator/exporters/camundaregion1/enable",
        Some(json!({"initializeFrom": "camundaregion0"})),
    )
    .await;
    rec.wait_change(0, 6).await;
    rec.call(
        Method::POST,
        To::Mgmt(0),
        "/actuator/exporting/resume",
        None,
    )
    .await;
    rec.call(
        Method::PATCH,
        To::Mgmt(0),
        "/actuator/cluster?force=true",
        Some(json!({"brokers": {"add": [1, 3, 5, 7]}, "partitions": {"replicationFactor": 4}})),
    )
    .await;
    rec.call(
        Method::PATCH,
        To::Mgmt(0),
        "/actuator/cluster",
        Some(json!({"brokers": {"add": [1, 3, 5, 7]}, "partitions": {"replicationFactor": 4}})),
    )
    .await;
    rec.wait_change(0, 8).await;
    for r in [0_u8, 1] {
        rec.call(
            Method::PUT,
            To::Control,
            &format!("/twin/v1/regions/{r}/release"),
            Some(json!({})),
        )
        .await;
        rec.wait_rollout(r).await;
    }
    rec.call(Method::GET, To::Rest(1), "/v2/topology", None)
        .await;
    rec.call(
        Method::POST,
        To::Rest(1),
        "/v2/process-instances/search",
        Some(json!({"page": {"limit": 100}})),
    )
    .await;
    rec.call(Method::GET, To::Control, "/twin/v1/state", None)
        .await;
    rec.call(Method::GET, To::Control, "/twin/v1/stats", None)
        .await;
    rec.env.shutdown().await;
    rec.log
}

fn completion_times(log: &[String]) -> Vec<String> {
    log.iter()
        .filter_map(|l| {
            let i = l.find("\"completedAt\"")?;
            Some(l[i..].chars().take(45).collect())
        })
        .collect()
}

/// Same seed, same requests at the same simulated times ⇒ the same answers, byte for byte
/// (timestamps included: they derive from simulated time); another seed changes the
/// timings. The seed is reported by the control API.
#[tokio::test]
async fn deterministic_replay_with_the_same_seed_and_not_with_another() {
    let first = run(42).await;
    let second = run(42).await;
    assert!(
        first.len() > 100,
        "the procedure made {} calls",
        first.len()
    );
    assert_eq!(first.len(), second.len());
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a, b);
    }
    let last = first.last().cloned().unwrap_or_default();
    assert!(last.contains("\"seed\":42"), "{last}");
    let other = run(43).await;
    assert_ne!(completion_times(&first), completion_times(&other));
}
