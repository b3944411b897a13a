//! An in-memory backend whose answers the test scripts: one queue of answers per method, a
//! sticky answer once the queue is empty, and a little state (the cluster configuration,
//! exporters, visible instances) for the calls a test does not script. Every call is logged with
//! its (virtual) time. A call that is neither scripted nor backed by state panics, so a test
//! notices when the engine calls something it should not.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use c8dr_core::backend::{
    ApiError, BackendInfo, CamundaApis, Platform, PlatformError, PlatformOutcome,
};
use c8dr_core::camunda::{
    BackupRepository, BrokerInfo, BrokerState, ChangeOptions, ChangeStatus, ClusterBroker,
    ClusterPatchRequest, ClusterTopology, CompletedChange, CreatedInstance, Deployment,
    ExporterStatus, ExportingOperation, ExportingOutcome, IndexInfo, PartitionHealth,
    PartitionInfo, PartitionRole, PlannedChanges, ReleaseOverrides, ReleaseStatus, RestoreResponse,
    SnapshotInfo, SnapshotStatus, Topology,
};
use c8dr_core::event::{Event, EventSink};
use c8dr_core::region::{LossMode, RegionId};
use tokio::time::Instant;

/// A failure the fake answers with.
#[derive(Debug, Clone)]
pub enum Fail {
    /// Nothing answered.
    NoAnswer,
    /// HTTP status with a body.
    Http(u16, &'static str),
    /// The request timed out.
    Timeout,
    /// An answer that cannot be decoded.
    Decode,
    /// A platform operation that was refused.
    Operation(&'static str),
    /// The platform could not be driven.
    Infrastructure(&'static str),
}

impl Fail {
    fn api(&self, method: &str, url: &str) -> ApiError {
        let (method, url) = (method.to_owned(), url.to_owned());
        match self {
            Fail::NoAnswer => ApiError::Unreachable {
                method,
                url,
                source: "connection refused".into(),
            },
            Fail::Http(status, body) => ApiError::Status {
                method,
                url,
                status: *status,
                body: (*body).to_owned(),
            },
            Fail::Timeout => ApiError::Timeout { method, url },
            Fail::Decode => ApiError::Decode {
                method,
                url,
                body: "<html>".to_owned(),
                source: "expected value at line 1 column 1".into(),
            },
            Fail::Operation(_) | Fail::Infrastructure(_) => {
                panic!("{self:?} is a platform failure, not an API one")
            }
        }
    }

    fn platform(&self, operation: &'static str, region: RegionId) -> PlatformError {
        match self {
            Fail::Operation(message) => PlatformError::Operation {
                operation,
                region,
                message: (*message).to_owned(),
            },
            Fail::Infrastructure(message) => PlatformError::Infrastructure {
                operation: format!("{operation} {region}"),
                source: (*message).into(),
            },
            other => panic!("{other:?} is an API failure, not a platform one"),
        }
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Answer<T> {
    /// Success.
    Ok(T),
    /// Failure.
    Err(Fail),
    /// Never answers.
    Hang,
}

/// The answers of one method: the queue first, then `then` forever (if set).
#[derive(Debug, Clone)]
pub struct Script<T> {
    queue: VecDeque<Answer<T>>,
    then: Option<Answer<T>>,
}

impl<T> Default for Script<T> {
    fn default() -> Self {
        Self {
            queue: VecDeque::new(),
            then: None,
        }
    }
}

impl<T: Clone> Script<T> {
    /// Queue answers.
    pub fn push(&mut self, answers: impl IntoIterator<Item = Answer<T>>) -> &mut Self {
        self.queue.extend(answers);
        self
    }

    /// Queue one successful answer.
    pub fn ok(&mut self, value: T) -> &mut Self {
        self.queue.push_back(Answer::Ok(value));
        self
    }

    /// Queue one failure.
    pub fn fail(&mut self, fail: Fail) -> &mut Self {
        self.queue.push_back(Answer::Err(fail));
        self
    }

    /// Answer this once the queue is empty.
    pub fn then(&mut self, answer: Answer<T>) -> &mut Self {
        self.then = Some(answer);
        self
    }

    fn next(&mut self) -> Option<Answer<T>> {
        self.queue.pop_front().or_else(|| self.then.clone())
    }
}

/// One call the engine made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Virtual time since the fake was made.
    pub at: Duration,
    /// Method name.
    pub method: &'static str,
    /// Arguments, summarized.
    pub args: String,
}

/// Scripts and state.
#[derive(Default)]
pub struct FakeState {
    pub lose_region: Script<()>,
    /// The notes a successful `lose_region` reports (as the kind backend does when it restarts
    /// pods to break connections a NetworkPolicy left open).
    pub lose_region_notes: Vec<String>,
    pub heal_region: Script<()>,
    pub recreate_region: Script<()>,
    pub deploy: Script<()>,
    pub release: Script<Option<ReleaseStatus>>,
    pub topology: Script<Topology>,
    /// When empty: `cluster` below.
    pub get_cluster: Script<ClusterTopology>,
    /// When empty and `cluster` is set: the change is applied at once (see [`FakeState::apply`]).
    pub patch_cluster: Script<PlannedChanges>,
    /// When empty: `exporter_statuses` below.
    pub exporters: Script<Vec<ExporterStatus>>,
    /// When empty and `cluster` is set: the change is applied at once.
    pub disable_exporter: Script<PlannedChanges>,
    /// When empty and `cluster` is set: the change is applied at once.
    pub enable_exporter: Script<PlannedChanges>,
    pub exporting: Script<ExportingOutcome>,
    pub deploy_resource: Script<Deployment>,
    /// When empty: acknowledged with a fresh key.
    pub create_instance: Script<CreatedInstance>,
    pub register_repository: Script<()>,
    pub create_snapshot: Script<SnapshotInfo>,
    pub snapshots: Script<Vec<SnapshotInfo>>,
    pub snapshot_status: Script<SnapshotStatus>,
    pub restore_snapshot: Script<RestoreResponse>,
    pub indices: Script<Vec<IndexInfo>>,
    /// When empty: `visible` below.
    pub find_instances: Script<BTreeSet<String>>,

    /// The cluster configuration `GET /actuator/cluster` answers when not scripted.
    pub cluster: Option<ClusterTopology>,
    /// What `GET /actuator/exporters` answers when not scripted.
    pub exporter_statuses: Vec<ExporterStatus>,
    /// Keys visible in each region's Elasticsearch, for `find_instances` when not scripted.
    pub visible: [BTreeSet<String>; 2],
    /// Keys handed out by the unscripted `create_instance`.
    pub created: u64,
    /// Every call, in order.
    pub calls: Vec<Call>,
}

impl FakeState {
    /// Start and immediately complete a change on `cluster`, as a fast cluster would; the
    /// change id is the new configuration version (contract §1.3).
    fn apply(&mut self, change: impl FnOnce(&mut ClusterTopology)) -> Option<PlannedChanges> {
        let cluster = self.cluster.as_mut()?;
        let id = cluster.version + 1;
        change(cluster);
        cluster.version += 2;
        cluster.last_change = Some(CompletedChange {
            id,
            status: ChangeStatus::Completed,
            started_at: None,
            completed_at: None,
        });
        Some(planned(id))
    }
}

/// The fake backend.
pub struct Fake {
    state: Mutex<FakeState>,
    started: Instant,
}

impl Fake {
    /// A fake with nothing scripted; make it inside the (paused) runtime.
    pub fn new() -> Self {
        Self {
            state: Mutex::new(FakeState::default()),
            started: Instant::now(),
        }
    }

    /// Script answers and set state.
    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().expect("fake state")
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// The calls of one method.
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }

    fn log(&self, state: &mut FakeState, method: &'static str, args: String) {
        state.calls.push(Call {
            at: self.started.elapsed(),
            method,
            args,
        });
    }

    /// Log the call and take its answer: the script, else `fallback` on the state, else panic.
    fn take<T: Clone>(
        &self,
        method: &'static str,
        args: &str,
        script: impl FnOnce(&mut FakeState) -> &mut Script<T>,
        fallback: impl FnOnce(&mut FakeState) -> Option<T>,
    ) -> Answer<T> {
        let mut state = self.state();
        self.log(&mut state, method, args.to_owned());
        if let Some(answer) = script(&mut state).next() {
            return answer;
        }
        match fallback(&mut state) {
            Some(value) => Answer::Ok(value),
            None => panic!("unscripted call {method}({args})"),
        }
    }
}

async fn api<T>(answer: Answer<T>, method: &str, url: &str) -> Result<T, ApiError> {
    match answer {
        Answer::Ok(value) => Ok(value),
        Answer::Err(fail) => Err(fail.api(method, url)),
        Answer::Hang => std::future::pending().await,
    }
}

async fn platform<T>(
    answer: Answer<T>,
    operation: &'static str,
    region: RegionId,
) -> Result<T, PlatformError> {
    match answer {
        Answer::Ok(value) => Ok(value),
        Answer::Err(fail) => Err(fail.platform(operation, region)),
        Answer::Hang => std::future::pending().await,
    }
}

fn none<T>(_: &mut FakeState) -> Option<T> {
    None
}

impl Platform for Fake {
    async fn lose_region(
        &self,
        region: RegionId,
        mode: LossMode,
    ) -> Result<PlatformOutcome, PlatformError> {
        let answer = self.take(
            "lose_region",
            &format!("{region} {mode}"),
            |s| &mut s.lose_region,
            none,
        );
        let notes = self.state().lose_region_notes.clone();
        platform(answer, "lose", region)
            .await
            .map(|()| PlatformOutcome {
                notes,
                ..PlatformOutcome::default()
            })
    }

    async fn heal_region(&self, region: RegionId) -> Result<PlatformOutcome, PlatformError> {
        let answer = self.take(
            "heal_region",
            &region.to_string(),
            |s| &mut s.heal_region,
            none,
        );
        platform(answer, "heal", region)
            .await
            .map(|()| PlatformOutcome::default())
    }

    async fn recreate_region(&self, region: RegionId) -> Result<PlatformOutcome, PlatformError> {
        let answer = self.take(
            "recreate_region",
            &region.to_string(),
            |s| &mut s.recreate_region,
            none,
        );
        platform(answer, "recreate", region)
            .await
            .map(|()| PlatformOutcome::default())
    }

    async fn deploy(
        &self,
        region: RegionId,
        overrides: &ReleaseOverrides,
    ) -> Result<PlatformOutcome, PlatformError> {
        let args = format!("{region} {overrides:?}");
        let answer = self.take("deploy", &args, |s| &mut s.deploy, none);
        platform(answer, "deploy", region)
            .await
            .map(|()| PlatformOutcome::default())
    }

    async fn release(&self, region: RegionId) -> Result<Option<ReleaseStatus>, PlatformError> {
        let answer = self.take("release", &region.to_string(), |s| &mut s.release, none);
        platform(answer, "release", region).await
    }
}

impl CamundaApis for Fake {
    async fn topology(&self, via: RegionId) -> Result<Topology, ApiError> {
        let answer = self.take("topology", &format!("via {via}"), |s| &mut s.topology, none);
        api(answer, "GET", "/v2/topology").await
    }

    async fn cluster(&self, via: RegionId) -> Result<ClusterTopology, ApiError> {
        let answer = self.take(
            "cluster",
            &format!("via {via}"),
            |s| &mut s.get_cluster,
            |s| s.cluster.clone(),
        );
        api(answer, "GET", "/actuator/cluster").await
    }

    async fn patch_cluster(
        &self,
        via: RegionId,
        request: &ClusterPatchRequest,
        options: ChangeOptions,
    ) -> Result<PlannedChanges, ApiError> {
        let args = format!(
            "via {via} {} force={} dryRun={}",
            serde_json::to_string(request).expect("serializable"),
            options.force,
            options.dry_run
        );
        let request = request.clone();
        let answer = self.take(
            "patch_cluster",
            &args,
            |s| &mut s.patch_cluster,
            move |s| {
                s.apply(|cluster| {
                    let brokers = request.brokers.unwrap_or_default();
                    cluster.brokers.retain(|b| !brokers.remove.contains(&b.id));
                    for id in brokers.add {
                        cluster.brokers.push(member(id, &[]));
                    }
                    cluster.brokers.sort_by_key(|b| b.id);
                })
            },
        );
        api(answer, "PATCH", "/actuator/cluster").await
    }

    async fn exporters(&self, via: RegionId) -> Result<Vec<ExporterStatus>, ApiError> {
        let answer = self.take(
            "exporters",
            &format!("via {via}"),
            |s| &mut s.exporters,
            |s| (!s.exporter_statuses.is_empty()).then(|| s.exporter_statuses.clone()),
        );
        api(answer, "GET", "/actuator/exporters").await
    }

    async fn disable_exporter(
        &self,
        via: RegionId,
        exporter: &str,
    ) -> Result<PlannedChanges, ApiError> {
        let id = exporter.to_owned();
        let answer = self.take(
            "disable_exporter",
            &format!("via {via} {exporter}"),
            |s| &mut s.disable_exporter,
            |s| {
                set_exporter(s, &id, "DISABLED");
                s.apply(|_| {})
            },
        );
        api(answer, "POST", "/actuator/exporters/x/disable").await
    }

    async fn enable_exporter(
        &self,
        via: RegionId,
        exporter: &str,
        initialize_from: Option<&str>,
    ) -> Result<PlannedChanges, ApiError> {
        let id = exporter.to_owned();
        let args = format!("via {via} {exporter} from {initialize_from:?}");
        let answer = self.take(
            "enable_exporter",
            &args,
            |s| &mut s.enable_exporter,
            |s| {
                set_exporter(s, &id, "ENABLED");
                s.apply(|_| {})
            },
        );
        api(answer, "POST", "/actuator/exporters/x/enable").await
    }

    async fn exporting(
        &self,
        via: RegionId,
        operation: ExportingOperation,
    ) -> Result<ExportingOutcome, ApiError> {
        let answer = self.take(
            "exporting",
            &format!("via {via} {operation:?}"),
            |s| &mut s.exporting,
            none,
        );
        api(answer, "POST", operation.path()).await
    }

    async fn deploy_resource(
        &self,
        via: RegionId,
        name: &str,
        content: &[u8],
    ) -> Result<Deployment, ApiError> {
        let args = format!("via {via} {name} ({} bytes)", content.len());
        let answer = self.take("deploy_resource", &args, |s| &mut s.deploy_resource, none);
        api(answer, "POST", "/v2/deployments").await
    }

    async fn create_instance(
        &self,
        via: RegionId,
        process_id: &str,
    ) -> Result<CreatedInstance, ApiError> {
        let answer = self.take(
            "create_instance",
            &format!("via {via} {process_id}"),
            |s| &mut s.create_instance,
            |s| {
                s.created += 1;
                Some(instance(s.created))
            },
        );
        api(answer, "POST", "/v2/process-instances").await
    }

    async fn register_repository(
        &self,
        region: RegionId,
        repository: &BackupRepository,
    ) -> Result<(), ApiError> {
        let args = format!("{region} {}", repository.name);
        let answer = self.take(
            "register_repository",
            &args,
            |s| &mut s.register_repository,
            none,
        );
        api(answer, "PUT", "/_snapshot/repo").await
    }

    async fn create_snapshot(
        &self,
        region: RegionId,
        repository: &str,
        snapshot: &str,
    ) -> Result<SnapshotInfo, ApiError> {
        let args = format!("{region} {repository}/{snapshot}");
        let answer = self.take("create_snapshot", &args, |s| &mut s.create_snapshot, none);
        api(answer, "PUT", "/_snapshot/repo/snap").await
    }

    async fn snapshots(
        &self,
        region: RegionId,
        repository: &str,
    ) -> Result<Vec<SnapshotInfo>, ApiError> {
        let answer = self.take(
            "snapshots",
            &format!("{region} {repository}"),
            |s| &mut s.snapshots,
            none,
        );
        api(answer, "GET", "/_snapshot/repo/_all").await
    }

    async fn snapshot_status(
        &self,
        region: RegionId,
        repository: &str,
        snapshot: &str,
    ) -> Result<SnapshotStatus, ApiError> {
        let args = format!("{region} {repository}/{snapshot}");
        let answer = self.take("snapshot_status", &args, |s| &mut s.snapshot_status, none);
        api(answer, "GET", "/_snapshot/repo/snap/_status").await
    }

    async fn restore_snapshot(
        &self,
        region: RegionId,
        repository: &str,
        snapshot: &str,
    ) -> Result<RestoreResponse, ApiError> {
        let args = format!("{region} {repository}/{snapshot}");
        let answer = self.take("restore_snapshot", &args, |s| &mut s.restore_snapshot, none);
        api(answer, "POST", "/_snapshot/repo/snap/_restore").await
    }

    async fn indices(&self, region: RegionId) -> Result<Vec<IndexInfo>, ApiError> {
        let answer = self.take("indices", &region.to_string(), |s| &mut s.indices, none);
        api(answer, "GET", "/_cat/indices").await
    }

    async fn find_instances(
        &self,
        region: RegionId,
        index: &str,
        keys: &[String],
    ) -> Result<BTreeSet<String>, ApiError> {
        let wanted: Vec<String> = keys.to_vec();
        let args = format!("{region} {index} {} keys", keys.len());
        let answer = self.take(
            "find_instances",
            &args,
            |s| &mut s.find_instances,
            move |s| {
                let visible = &s.visible[region.index()];
                Some(wanted.into_iter().filter(|k| visible.contains(k)).collect())
            },
        );
        api(answer, "POST", "/index/_search").await
    }
}

fn set_exporter(state: &mut FakeState, id: &str, status: &str) {
    if let Some(e) = state
        .exporter_statuses
        .iter_mut()
        .find(|e| e.exporter_id == id)
    {
        status.clone_into(&mut e.status);
    }
}

/// Backend facts: no time scaling, no minimum poll interval.
pub fn backend() -> BackendInfo {
    BackendInfo {
        name: "fake".to_owned(),
        time_scale: 1.0,
        min_poll_interval: Duration::ZERO,
    }
}

/// `PlannedChanges` with only an id.
pub fn planned(change_id: i64) -> PlannedChanges {
    PlannedChanges {
        change_id,
        current_topology: vec![],
        planned_changes: vec![],
        expected_topology: vec![],
    }
}

/// An acknowledged instance on partition `n % 8 + 1`.
pub fn instance(n: u64) -> CreatedInstance {
    CreatedInstance {
        process_instance_key: (((n % 8 + 1) << 51) + n).to_string(),
        process_definition_id: "probe".to_owned(),
    }
}

/// A `/v2/topology` answer: these brokers, each holding and healthily leading partition `id + 1`.
pub fn topology(brokers: &[u32], cluster_size: u32) -> Topology {
    Topology {
        brokers: brokers
            .iter()
            .map(|&id| BrokerInfo {
                node_id: id,
                host: format!("broker-{id}"),
                port: 26501,
                partitions: vec![PartitionInfo {
                    partition_id: id + 1,
                    role: PartitionRole::Leader,
                    health: PartitionHealth::Healthy,
                }],
                version: "8.8.0".to_owned(),
            })
            .collect(),
        cluster_size,
        partitions_count: 8,
        replication_factor: 4,
        gateway_version: "8.8.0".to_owned(),
        last_completed_change_id: None,
    }
}

/// An active member holding `(partition, priority)` replicas.
pub fn member(id: u32, partitions: &[(u32, u32)]) -> ClusterBroker {
    serde_json::from_value(serde_json::json!({
        "id": id,
        "state": "ACTIVE",
        "partitions": partitions
            .iter()
            .map(|(p, priority)| serde_json::json!({"id": p, "state": "ACTIVE", "priority": priority}))
            .collect::<Vec<_>>(),
    }))
    .expect("valid member")
}

/// A configuration with these members, no change yet.
pub fn cluster(version: i64, members: Vec<ClusterBroker>) -> ClusterTopology {
    assert!(members.iter().all(|m| m.state == BrokerState::Active));
    ClusterTopology {
        version,
        brokers: members,
        last_change: None,
        pending_change: None,
        routing: None,
        cluster_id: None,
    }
}

/// `status` of an exporter.
pub fn exporter(id: &str, status: &str) -> ExporterStatus {
    ExporterStatus {
        exporter_id: id.to_owned(),
        status: status.to_owned(),
    }
}

/// Records engine events as short lines.
#[derive(Default)]
pub struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    /// The events so far.
    pub fn events(&self) -> Vec<String> {
        self.0.lock().expect("events").clone()
    }
}

impl EventSink for Recorder {
    fn emit(&self, event: &Event<'_>) {
        let line = match event {
            Event::RunStarted { plan, backend } => {
                format!("run {} started on {}", plan.name, backend.name)
            }
            Event::StageStarted { stage } => format!("stage {} started", stage.name),
            Event::StepStarted { stage, step } => {
                format!("step {} started ({})", step.id, stage.name)
            }
            Event::ActionFinished { step, report } => {
                format!(
                    "step {} action {} {}",
                    step.id,
                    report.kind,
                    report.outcome.word()
                )
            }
            Event::ExpectationPending { step, report } => {
                format!("step {} pending {}", step.id, report.kind)
            }
            Event::StepFinished { step, report } => {
                format!("step {} {}", step.id, report.outcome.word())
            }
            Event::StepSkipped { step } => format!("step {} skipped", step.id),
            Event::StageFinished { report } => {
                format!("stage {} {}", report.name, report.outcome.word())
            }
            Event::RunFinished { report } => format!("run {}", report.outcome.word()),
        };
        self.0.lock().expect("events").push(line);
    }
}
