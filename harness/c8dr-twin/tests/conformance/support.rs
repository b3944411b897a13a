//! Shared helpers: a twin on a manual clock over real sockets (in this process, or a
//! `c8dr twin serve --manual-clock` process), an HTTP client, the page's fixtures and
//! comparators for them.
//!
//! Also compiled into the end-to-end tests (`tests/e2e/page_replay`), which replay the page
//! against the real binary: keep it free of anything only this crate has.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use c8dr_twin::{
    Binding, Clock, Latencies, ManualClock, RegionEndpoints, RunningTwin, Twin, TwinConfig,
    TwinEndpoints,
};
use reqwest::{Client, Method};
use serde_json::{Value, json};

/// The process every workload test deploys.
pub const BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="load" isExecutable="true"><bpmn:startEvent id="start"/></bpmn:process>
</bpmn:definitions>"#;

/// The page's namespaces: region 0 is London, region 1 is Paris, so broker hosts match the
/// page's example outputs exactly.
pub fn page_config() -> TwinConfig {
    TwinConfig::default().with_namespaces(vec![
        "camunda-london".to_owned(),
        "camunda-paris".to_owned(),
    ])
}

/// The page's layout with exact latencies (no jitter), for tests that check timings.
pub fn exact_config() -> TwinConfig {
    page_config().with_latencies(Latencies::default().with_jitter(0.0))
}

/// One HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Content type, if any.
    pub content_type: Option<String>,
    /// `WWW-Authenticate`, if any.
    pub www_authenticate: Option<String>,
    /// Raw body.
    pub text: String,
}

impl Answer {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

/// A running twin on a manual clock and a client for it.
pub struct Env {
    backend: Backend,
    endpoints: TwinEndpoints,
    pub client: Client,
    pub auth: Option<(String, String)>,
}

/// Where the twin of an [`Env`] runs.
enum Backend {
    /// In this process, on a clock the test holds.
    InProcess {
        twin: Box<RunningTwin>,
        clock: Arc<ManualClock>,
    },
    /// A `c8dr twin serve --manual-clock` process, its clock moved through the control API.
    #[allow(
        dead_code,
        reason = "constructed by the end-to-end page replay, which can run the c8dr binary"
    )]
    External(ExternalTwin),
}

/// A `c8dr twin serve` child process, killed when dropped.
pub struct ExternalTwin {
    child: Child,
}

impl Drop for ExternalTwin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The endpoints and credentials a `c8dr twin serve` banner announces.
#[derive(Debug, PartialEq)]
pub struct Banner {
    pub endpoints: TwinEndpoints,
    pub auth: Option<(String, String)>,
    pub manual_clock: bool,
}

/// Parses the banner `c8dr twin serve` prints before "Press Ctrl-C to stop."
pub fn parse_banner(text: &str) -> Result<Banner, String> {
    let addr_after = |words: &[&str], label: &str| -> Result<SocketAddr, String> {
        let i = words
            .iter()
            .position(|w| *w == label)
            .ok_or_else(|| format!("no {label} address in {words:?}"))?;
        let url = words.get(i + 1).copied().unwrap_or_default();
        let host = url.strip_prefix("http://").unwrap_or(url);
        let host = host.split('/').next().unwrap_or(host);
        host.parse()
            .map_err(|e| format!("{label} address {url:?}: {e}"))
    };
    let mut regions = Vec::new();
    let mut control = None;
    let mut auth = None;
    let mut manual_clock = false;
    for line in text.lines() {
        let line = line.trim();
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(rest) = line.strip_prefix("region ") {
            let number = rest.split(':').next().unwrap_or_default();
            let region: u8 = number
                .parse()
                .map_err(|e| format!("region number {number:?}: {e}"))?;
            regions.push(RegionEndpoints {
                region,
                rest: addr_after(&words, "REST")?,
                management: addr_after(&words, "management")?,
                elasticsearch: addr_after(&words, "Elasticsearch")?,
            });
        } else if line.starts_with("control API:") {
            control = Some(addr_after(&words, "API:")?);
        } else if let Some(c) = line.strip_prefix("REST credentials: ") {
            auth = c
                .split_once(':')
                .filter(|(u, _)| !u.contains(' '))
                .map(|(u, p)| (u.to_owned(), p.to_owned()));
        } else if line.starts_with("c8dr twin:") {
            manual_clock = line.contains("manual clock");
        }
    }
    let control = control.ok_or("no control API address")?;
    if regions.is_empty() {
        return Err("no region endpoints".to_owned());
    }
    Ok(Banner {
        endpoints: TwinEndpoints { regions, control },
        auth,
        manual_clock,
    })
}

/// One blocking HTTP/1.1 exchange (the external twin's clock is moved from sync code, and
/// the server is another process, so blocking cannot stall it). Returns status and body.
fn blocking_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr)
        .unwrap_or_else(|e| panic!("{method} {addr}{path}: cannot connect: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("{method} {addr}{path}: cannot send: {e}"));
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .unwrap_or_else(|e| panic!("{method} {addr}{path}: cannot read the answer: {e}"));
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {addr}{path}: not an HTTP answer: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

pub fn client() -> Client {
    // reqwest is built without a default TLS provider in this workspace.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

impl Env {
    /// A twin with exact latencies on a manual clock.
    pub async fn start() -> Self {
        Self::with_config(exact_config()).await
    }

    /// A twin with this configuration on a manual clock.
    pub async fn with_config(config: TwinConfig) -> Self {
        let clock = Arc::new(ManualClock::new());
        let auth = Some((config.username.clone(), config.password.clone()));
        let twin = Twin::with_clock(config, clock.clone())
            .expect("valid config")
            .start(Binding::Ephemeral)
            .await
            .expect("bind");
        Self {
            endpoints: twin.endpoints().clone(),
            backend: Backend::InProcess {
                twin: Box::new(twin),
                clock,
            },
            client: client(),
            auth,
        }
    }

    /// Runs `program args` (a `c8dr twin serve --manual-clock --ephemeral-ports ...`), reads
    /// the endpoints and credentials from the banner it prints, and drives that twin; the
    /// process is killed when the `Env` is dropped.
    #[allow(
        dead_code,
        reason = "used by the end-to-end page replay, which can run the c8dr binary"
    )]
    pub fn spawn(program: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(program)
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("C8DR_SEED")
            .env_remove("C8DR_TWIN_PASSWORD")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", program.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let external = ExternalTwin { child };
        // The banner arrives on a reader thread, which then keeps draining stdout, so the
        // twin never blocks on a full pipe.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut banner = String::new();
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                banner.push_str(&line);
                banner.push('\n');
                if line.starts_with("Press Ctrl-C") {
                    break;
                }
            }
            let _ = tx.send(banner);
            lines.for_each(drop);
        });
        let banner = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("no banner from {} {args:?}: {e}", program.display()));
        let parsed =
            parse_banner(&banner).unwrap_or_else(|e| panic!("unexpected banner ({e}):\n{banner}"));
        assert!(
            parsed.manual_clock,
            "the twin must run on a manual clock:\n{banner}"
        );
        Self {
            backend: Backend::External(external),
            endpoints: parsed.endpoints,
            client: client(),
            auth: parsed.auth,
        }
    }

    /// Stops the twin (an external one is killed).
    pub async fn shutdown(self) {
        match self.backend {
            Backend::InProcess { twin, .. } => twin.shutdown().await,
            Backend::External(external) => drop(external),
        }
    }

    pub fn region(&self, r: u8) -> RegionEndpoints {
        self.endpoints.regions[usize::from(r)]
    }

    pub fn mgmt(&self, r: u8) -> SocketAddr {
        self.region(r).management
    }

    pub fn rest(&self, r: u8) -> SocketAddr {
        self.region(r).rest
    }

    pub fn es(&self, r: u8) -> SocketAddr {
        self.region(r).elasticsearch
    }

    pub fn control(&self) -> SocketAddr {
        self.endpoints.control
    }

    /// Simulated time now (ms).
    pub fn now(&self) -> u64 {
        match &self.backend {
            Backend::InProcess { clock, .. } => clock.now(),
            Backend::External(_) => {
                let (status, body) = blocking_http(self.control(), "GET", "/twin/v1/clock", None);
                assert_eq!(status, 200, "{body}");
                serde_json::from_str::<Value>(&body).unwrap_or_default()["now"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("no time in {body}"))
            }
        }
    }

    /// Lets `d` of cluster time pass.
    pub fn advance(&self, d: Duration) {
        match &self.backend {
            Backend::InProcess { clock, .. } => clock.advance(d),
            Backend::External(_) => {
                let millis = u64::try_from(d.as_millis()).expect("a representable duration");
                let (status, body) = blocking_http(
                    self.control(),
                    "POST",
                    "/twin/v1/clock/advance",
                    Some(&json!({ "millis": millis })),
                );
                assert_eq!(status, 200, "advancing the clock: {body}");
            }
        }
    }

    /// Sends a request; `Err` when nothing answered (connection refused or closed).
    pub async fn try_send(
        &self,
        method: Method,
        addr: SocketAddr,
        path: &str,
        body: Option<&Value>,
        auth: bool,
    ) -> Result<Answer, reqwest::Error> {
        let mut req = self.client.request(method, format!("http://{addr}{path}"));
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        if auth && let Some((u, p)) = &self.auth {
            req = req.basic_auth(u, Some(p));
        }
        let resp = req.send().await?;
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type");
        let www_authenticate = header("www-authenticate");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        Ok(Answer {
            status,
            content_type,
            www_authenticate,
            text,
        })
    }

    pub async fn send(
        &self,
        method: Method,
        addr: SocketAddr,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        self.try_send(method.clone(), addr, path, body, true)
            .await
            .unwrap_or_else(|e| panic!("{method} {addr}{path} did not answer: {e}"))
    }

    pub async fn get(&self, addr: SocketAddr, path: &str) -> Answer {
        self.send(Method::GET, addr, path, None).await
    }

    pub async fn post(&self, addr: SocketAddr, path: &str, body: Option<&Value>) -> Answer {
        self.send(Method::POST, addr, path, body).await
    }

    pub async fn patch(&self, addr: SocketAddr, path: &str, body: &Value) -> Answer {
        self.send(Method::PATCH, addr, path, Some(body)).await
    }

    pub async fn put(&self, addr: SocketAddr, path: &str, body: Option<&Value>) -> Answer {
        self.send(Method::PUT, addr, path, body).await
    }

    pub async fn delete(&self, addr: SocketAddr, path: &str) -> Answer {
        self.send(Method::DELETE, addr, path, None).await
    }

    /// `GET /actuator/cluster` of region `r`, expecting 200.
    pub async fn cluster(&self, r: u8) -> Value {
        let a = self.get(self.mgmt(r), "/actuator/cluster").await;
        assert_eq!(a.status, 200, "{}", a.text);
        a.json()
    }

    /// `GET /v2/topology` of region `r`, expecting 200.
    pub async fn topology(&self, r: u8) -> Value {
        let a = self.get(self.rest(r), "/v2/topology").await;
        assert_eq!(a.status, 200, "{}", a.text);
        a.json()
    }

    /// `GET /actuator/exporters` of region `r`, expecting 200.
    pub async fn exporters(&self, r: u8) -> Value {
        let a = self.get(self.mgmt(r), "/actuator/exporters").await;
        assert_eq!(a.status, 200, "{}", a.text);
        a.json()
    }

    /// The control API's whole state.
    pub async fn state(&self) -> Value {
        self.get(self.control(), "/twin/v1/state").await.json()
    }

    /// Advances time in 100 ms steps until region `r` reports change `id` as completed.
    pub async fn wait_change(&self, r: u8, id: u64) -> Value {
        for _ in 0..1_200 {
            let a = self.get(self.mgmt(r), "/actuator/cluster").await;
            if a.status == 200 {
                let c = a.json();
                if c["lastChange"]["id"] == json!(id) && c["lastChange"]["status"] == "COMPLETED" {
                    return c;
                }
            }
            self.advance(Duration::from_millis(100));
        }
        let last = self.get(self.mgmt(r), "/actuator/cluster").await;
        panic!(
            "change {id} did not complete: {} {}",
            last.status,
            last.json()["pendingChange"]
        );
    }

    /// Advances time in 100 ms steps until every partition has a leader (seen from `r`).
    pub async fn wait_leaders(&self, r: u8) {
        for _ in 0..600 {
            let t = self.topology(r).await;
            let leaders = t["brokers"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|b| b["partitions"].as_array().cloned().unwrap_or_default())
                .filter(|p| p["role"] == "leader")
                .count();
            if leaders == t["partitionsCount"].as_u64().map_or(0, |n| n as usize) {
                return;
            }
            self.advance(Duration::from_millis(100));
        }
        panic!("leaders were not elected");
    }

    /// Control API: lose region `r`.
    pub async fn lose(&self, r: u8, mode: &str) {
        let a = self
            .post(
                self.control(),
                &format!("/twin/v1/regions/{r}/lose"),
                Some(&json!({"mode": mode})),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
    }

    /// Control API: recreate region `r` empty.
    pub async fn recreate(&self, r: u8) {
        let a = self
            .post(
                self.control(),
                &format!("/twin/v1/regions/{r}/recreate"),
                None,
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
    }

    /// Control API: `helm upgrade --install` of region `r` with these overrides.
    pub async fn release(&self, r: u8, release: &Value) -> Value {
        let a = self
            .put(
                self.control(),
                &format!("/twin/v1/regions/{r}/release"),
                Some(release),
            )
            .await;
        assert_eq!(a.status, 202, "{}", a.text);
        a.json()
    }

    /// Advances time until region `r`'s rollout is complete.
    pub async fn wait_rollout(&self, r: u8) {
        for _ in 0..2_000 {
            let a = self
                .get(self.control(), &format!("/twin/v1/regions/{r}/release"))
                .await;
            if a.json()["rolloutComplete"] == true {
                return;
            }
            self.advance(Duration::from_millis(250));
        }
        panic!("rollout of region {r} did not complete");
    }

    /// Deploys the test process through region `r`.
    pub async fn deploy(&self, r: u8) -> Answer {
        self.deploy_resource(r, "load.bpmn", BPMN.as_bytes()).await
    }

    /// Deploys the probe process c8dr uses (start → Camunda user task → end) through
    /// region `r`.
    pub async fn deploy_probe(&self, r: u8) -> Answer {
        self.deploy_resource(r, "c8dr-probe.bpmn", &probe_bpmn())
            .await
    }

    /// Deploys one resource through region `r`.
    pub async fn deploy_resource(&self, r: u8, name: &str, content: &[u8]) -> Answer {
        let form = reqwest::multipart::Form::new().part(
            "resources",
            reqwest::multipart::Part::bytes(content.to_vec()).file_name(name.to_owned()),
        );
        let resp = self
            .client
            .post(format!("http://{}/v2/deployments", self.rest(r)))
            .basic_auth("demo", Some("demo"))
            .multipart(form)
            .send()
            .await
            .expect("deploy answers");
        let status = resp.status().as_u16();
        Answer {
            status,
            content_type: resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            www_authenticate: None,
            text: resp.text().await.unwrap_or_default(),
        }
    }

    /// Creates an instance of the probe process through region `r`.
    pub async fn create_probe(&self, r: u8) -> Answer {
        self.post(
            self.rest(r),
            "/v2/process-instances",
            Some(&json!({"processDefinitionId": PROBE_ID})),
        )
        .await
    }

    /// Creates an instance of the test process through region `r`.
    pub async fn create(&self, r: u8) -> Answer {
        self.post(
            self.rest(r),
            "/v2/process-instances",
            Some(&json!({"processDefinitionId": "load"})),
        )
        .await
    }

    /// Whether region `r`'s REST API (its Elasticsearch) shows instance `key`.
    pub async fn visible(&self, r: u8, key: &str) -> bool {
        self.get(self.rest(r), &format!("/v2/process-instances/{key}"))
            .await
            .status
            == 200
    }

    /// Failover for lost region `lost` (down): force-remove its brokers and disable its
    /// exporter; returns when both changes completed.
    pub async fn failover(&self, lost: u8) {
        let surv = 1 - lost;
        let remove: Vec<u32> = (0..8).filter(|b| b % 2 == u32::from(lost)).collect();
        let a = self
            .patch(
                self.mgmt(surv),
                "/actuator/cluster?force=true",
                &json!({"brokers": {"remove": remove}}),
            )
            .await;
        assert_eq!(a.status, 202, "{}", a.text);
        self.wait_change(surv, 2).await;
        let a = self
            .post(
                self.mgmt(surv),
                &format!("/actuator/exporters/camundaregion{lost}/disable"),
                None,
            )
            .await;
        assert_eq!(a.status, 202, "{}", a.text);
        self.wait_change(surv, 4).await;
        self.wait_leaders(surv).await;
    }

    /// Failback steps 1–4.5 for lost region `lost` after [`Env::failover`]: the region is
    /// recreated and deployed (Operate/Tasklist off, schema creation off), the survivor's web
    /// apps are switched off, exporting is paused, the survivor's Elasticsearch is
    /// snapshotted and the repository registered in the recreated region. No restore.
    pub async fn failback_prepare(&self, lost: u8) {
        let surv = 1 - lost;
        let webapps_off = json!({"orchestration.profiles.operate": false,
                                 "orchestration.profiles.tasklist": false});
        self.recreate(lost).await;
        self.release(
            lost,
            &json!({"values": webapps_off,
                    "env": {"CAMUNDA_DATABASE_SCHEMAMANAGER_CREATESCHEMA": "false"}}),
        )
        .await;
        self.wait_rollout(lost).await;
        self.release(surv, &json!({"values": webapps_off})).await;
        self.wait_rollout(surv).await;
        self.wait_leaders(surv).await;
        let a = self
            .post(self.mgmt(surv), "/actuator/exporting/pause", None)
            .await;
        assert_eq!(a.json()["status"], 204, "{}", a.text);
        let repo = json!({"type": "s3", "settings": {"bucket": "c8dr-elastic-backup",
                                                      "client": "camunda", "base_path": "backups"}});
        let a = self
            .put(self.es(surv), "/_snapshot/camunda_backup", Some(&repo))
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        let a = self
            .put(
                self.es(surv),
                "/_snapshot/camunda_backup/failback?wait_for_completion=true",
                Some(&json!({"include_global_state": true})),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        let a = self
            .put(self.es(lost), "/_snapshot/camunda_backup", Some(&repo))
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
    }

    /// Failback step 4.7: restores the survivor's snapshot into the recreated region.
    pub async fn restore(&self, lost: u8) -> Answer {
        self.post(
            self.es(lost),
            "/_snapshot/camunda_backup/failback/_restore?wait_for_completion=true",
            Some(&json!({"include_global_state": true})),
        )
        .await
    }

    /// Failback step 6: enables the recreated region's exporter from the survivor's
    /// (change 6), returns when it completed.
    pub async fn enable_lost_exporter(&self, lost: u8) {
        let surv = 1 - lost;
        let a = self
            .post(
                self.mgmt(surv),
                &format!("/actuator/exporters/camundaregion{lost}/enable"),
                Some(&json!({"initializeFrom": format!("camundaregion{surv}")})),
            )
            .await;
        assert_eq!(a.status, 202, "{}", a.text);
        self.wait_change(surv, 6).await;
    }

    /// Failback steps 7–9 after the exporter is enabled: exporting resumes, the recreated
    /// region's brokers are re-added with replication factor 4 (change 8), both regions go
    /// back to their normal release; returns when every partition has a leader.
    pub async fn failback_finish(&self, lost: u8) {
        let surv = 1 - lost;
        let a = self
            .post(self.mgmt(surv), "/actuator/exporting/resume", None)
            .await;
        assert_eq!(a.json()["status"], 204, "{}", a.text);
        let add: Vec<u32> = (0..8).filter(|b| b % 2 == u32::from(lost)).collect();
        let a = self
            .patch(
                self.mgmt(surv),
                "/actuator/cluster",
                &json!({"brokers": {"add": add}, "partitions": {"replicationFactor": 4}}),
            )
            .await;
        assert_eq!(a.status, 202, "{}", a.text);
        self.wait_change(surv, 8).await;
        for r in [lost, surv] {
            self.release(r, &json!({})).await;
            self.wait_rollout(r).await;
        }
        self.wait_leaders(surv).await;
        self.wait_leaders(lost).await;
    }
}

/// The id of the probe process.
pub const PROBE_ID: &str = "c8dr-probe";

/// The probe process c8dr deploys, `fixtures/bpmn/c8dr-probe.bpmn`.
pub fn probe_bpmn() -> Vec<u8> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bpmn/c8dr-probe.bpmn");
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The directory of the page's fixtures.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/procedure-8.8")
}

/// A JSON fixture extracted from the procedure page.
pub fn fixture(name: &str) -> Value {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {name} is not JSON: {e}"))
}

/// A jq-like path (`.a.b[0].c`, `.` for the whole value).
pub fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    let mut rest = path.trim();
    rest = rest.strip_prefix('.').unwrap_or(rest);
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let i: usize = r[..end].trim().parse().ok()?;
            cur = cur.get(i)?;
            rest = &r[end + 1..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let key = &rest[..end];
            if !key.is_empty() {
                cur = cur.get(key)?;
            }
            rest = &rest[end..];
        }
        rest = rest.strip_prefix('.').unwrap_or(rest);
    }
    Some(cur)
}

/// broker id → partition ids, from a `/v2/topology` body.
pub fn topology_partitions(t: &Value) -> Vec<(u64, Vec<u64>)> {
    t["brokers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            let mut parts: Vec<u64> = b["partitions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["partitionId"].as_u64())
                .collect();
            parts.sort_unstable();
            (b["nodeId"].as_u64().unwrap_or(u64::MAX), parts)
        })
        .collect()
}

/// broker id → [(partition, priority)], from `/actuator/cluster` brokers (or a topology
/// list of the same shape, e.g. `expectedTopology`).
pub fn placement(brokers: &Value) -> Vec<(u64, Vec<(u64, u64)>)> {
    brokers
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            let parts = b["partitions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    (
                        p["id"].as_u64().unwrap_or(0),
                        p["priority"].as_u64().unwrap_or(0),
                    )
                })
                .collect();
            (b["id"].as_u64().unwrap_or(u64::MAX), parts)
        })
        .collect()
}

/// Contract §3.2: the reference placement of 8 brokers, 8 partitions, RF 4.
pub fn reference_placement() -> Vec<(u64, Vec<(u64, u64)>)> {
    vec![
        (0, vec![(1, 4), (6, 1), (7, 2), (8, 3)]),
        (1, vec![(1, 3), (2, 4), (7, 1), (8, 2)]),
        (2, vec![(1, 2), (2, 3), (3, 4), (8, 1)]),
        (3, vec![(1, 1), (2, 2), (3, 3), (4, 4)]),
        (4, vec![(2, 1), (3, 2), (4, 3), (5, 4)]),
        (5, vec![(3, 1), (4, 2), (5, 3), (6, 4)]),
        (6, vec![(4, 1), (5, 2), (6, 3), (7, 4)]),
        (7, vec![(5, 1), (6, 2), (7, 3), (8, 4)]),
    ]
}

/// Compares a `/v2/topology` answer with one of the page's topology examples: the same
/// brokers (ids, hosts, ports, versions) with the same partitions, the same sizes and
/// gateway version. Roles are not compared (which replica leads is a Raft outcome the page
/// only illustrates); instead every healthy partition must have exactly one leader.
pub fn assert_topology_like(actual: &Value, page: &Value) {
    assert_eq!(
        topology_partitions(actual),
        topology_partitions(page),
        "brokers and their partitions"
    );
    for (a, p) in actual["brokers"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(page["brokers"].as_array().into_iter().flatten())
    {
        for key in ["nodeId", "host", "port", "version"] {
            assert_eq!(a[key], p[key], "broker {key}");
        }
    }
    for key in [
        "clusterSize",
        "partitionsCount",
        "replicationFactor",
        "gatewayVersion",
    ] {
        assert_eq!(actual[key], page[key], "{key}");
    }
    assert_one_leader_per_healthy_partition(actual);
}

/// Every partition listed as healthy has exactly one leader; roles and health use the 8.8
/// vocabulary.
pub fn assert_one_leader_per_healthy_partition(t: &Value) {
    let mut leaders: std::collections::BTreeMap<u64, usize> = Default::default();
    let mut healthy: std::collections::BTreeSet<u64> = Default::default();
    for b in t["brokers"].as_array().into_iter().flatten() {
        for p in b["partitions"].as_array().into_iter().flatten() {
            let id = p["partitionId"].as_u64().unwrap_or(0);
            assert!(
                ["leader", "follower", "inactive"].contains(&p["role"].as_str().unwrap_or("")),
                "{p}"
            );
            assert!(
                ["healthy", "unhealthy", "dead"].contains(&p["health"].as_str().unwrap_or("")),
                "{p}"
            );
            if p["role"] == "leader" {
                *leaders.entry(id).or_default() += 1;
            }
            if p["health"] == "healthy" {
                healthy.insert(id);
            }
        }
    }
    for p in healthy {
        assert_eq!(
            leaders.get(&p).copied(),
            Some(1),
            "leaders of partition {p}"
        );
    }
}

/// Compares a `lastChange` with one of the page's: same id and status, and timestamps in
/// RFC 3339 with `completedAt` not before `startedAt`.
pub fn assert_last_change_like(actual: &Value, page: &Value) {
    assert_eq!(actual["id"], page["id"], "id");
    assert_eq!(actual["status"], page["status"], "status");
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k.clone())
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(actual), keys(page), "fields");
    let ts = |k: &str| {
        let s = actual[k].as_str().unwrap_or_default().to_owned();
        humantime::parse_rfc3339(&s).unwrap_or_else(|e| panic!("{k} = {s}: {e}"))
    };
    assert!(ts("completedAt") >= ts("startedAt"));
}

/// The same JSON structure: objects with the same keys (recursively), arrays whose elements
/// have the shape of the other's first element, and the same kinds of scalars.
pub fn assert_same_shape(actual: &Value, page: &Value, path: &str) {
    match (actual, page) {
        (Value::Object(a), Value::Object(p)) => {
            let mut ak: Vec<&String> = a.keys().collect();
            let mut pk: Vec<&String> = p.keys().collect();
            ak.sort();
            pk.sort();
            assert_eq!(ak, pk, "keys at {path}");
            for (k, pv) in p {
                assert_same_shape(&a[k], pv, &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(p)) => {
            if let Some(first) = p.first() {
                for (i, av) in a.iter().enumerate() {
                    assert_same_shape(av, first, &format!("{path}[{i}]"));
                }
            }
        }
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, Value::Null) => {}
        (a, p) => panic!("at {path}: {a} has not the shape of {p}"),
    }
}

/// Sorted copy of an array of strings.
pub fn sorted_strings(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect();
    out.sort();
    out
}
