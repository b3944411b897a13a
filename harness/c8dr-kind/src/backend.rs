//! The kind backend: `clusters up|down`, and [`KindBackend`], which implements
//! [`c8dr_core::backend::Platform`] and serves each region's endpoints through port-forwards.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use c8dr_client::{BasicAuth, HttpApis, RegionEndpoints};
use c8dr_core::backend::{BackendInfo, CamundaApis, Platform, PlatformError, PlatformOutcome};
use c8dr_core::camunda::{ReleaseOverrides, ReleaseStatus};
use c8dr_core::plan::Plan;
use c8dr_core::region::{LossMode, RegionId};
use futures::future::BoxFuture;
use tokio::sync::Mutex;
use url::Url;

use crate::artifacts::{DrillShape, SnapshotEndpoint};
use crate::config::{KindConfig, LossRealisation, SnapshotStore};
use crate::error::KindError;
use crate::exec::{ContainerHooks, Executor, Journal, TopologySource};
use crate::kube::{KubeClients, KubeFactory};
use crate::ops::{self, AppliedFault, ContainerOp, Facts, Operation};
use crate::plan::base_values_text;
use crate::portforward::{self, ForwardTarget, Forwarder};
use crate::reach::Attempt;
use crate::runner::{CommandRunner, run_checked};
use crate::snapshot::{RunningStore, StoreLauncher, TestcontainersMinio};

/// The REST API credentials of the dual-region setup (chart default `demo`/`demo`).
#[must_use]
pub fn rest_credentials() -> BasicAuth {
    BasicAuth {
        username: "demo".to_owned(),
        password: "demo".to_owned(),
    }
}

/// What `clusters up` did.
#[derive(Debug, Clone)]
pub struct ClustersReady {
    /// Regions whose clusters already existed and were reused.
    pub reused: Vec<RegionId>,
    /// Node addresses on the `kind` network.
    pub facts: Facts,
    /// Every operation performed.
    pub journal: Journal,
}

struct NoTopology;

impl TopologySource for NoTopology {
    fn brokers(&self, _via: RegionId) -> BoxFuture<'_, Result<Vec<u32>, String>> {
        Box::pin(std::future::ready(Err(
            "no gateway during clusters up".to_owned()
        )))
    }
}

struct DockerRm<'a>(&'a dyn CommandRunner, &'a KindConfig);

impl ContainerHooks for DockerRm<'_> {
    fn run<'a>(&'a self, op: &'a ContainerOp) -> BoxFuture<'a, Result<(), KindError>> {
        Box::pin(async move {
            if let ContainerOp::StopMinio = op {
                // Best effort: the container may not exist (the backend removed it already).
                let rm =
                    crate::runner::Invocation::new("docker", ["rm", "-f", ops::MINIO_CONTAINER]);
                let _ = self.0.run(&rm, self.1.timeouts.command).await;
            }
            Ok(())
        })
    }
}

/// `c8dr clusters up`: create both clusters concurrently (existing `c8dr-*` clusters are reused),
/// route each cluster's pod and service subnets through the other's node, add CoreDNS forward
/// blocks both ways, create the namespaces, and prove pod-IP and DNS reachability both ways.
///
/// # Errors
/// The first failed operation, with its command, context and stderr tail.
pub async fn clusters_up(
    config: &KindConfig,
    runner: &dyn CommandRunner,
    factory: Arc<dyn KubeFactory>,
) -> Result<ClustersReady, KindError> {
    config.validate()?;
    let all: Vec<RegionId> = config.region_ids().collect();
    config.refuse_with_overridden_context(
        "c8dr clusters up",
        &all,
        "it creates, routes and probes c8dr's own kind clusters only; run it without --context (other clusters are prepared by their owners)",
    )?;
    let clients = KubeClients::new(config.clone(), factory);
    let mut executor = Executor {
        config,
        runner,
        clients: &clients,
        topology: &NoTopology,
        containers: &DockerRm(runner, config),
        s3_credentials: None,
        poll: Duration::from_secs(2),
        facts: Facts::placeholders(config),
        expected_brokers: None,
        journal: Journal::default(),
        probes: Vec::new(),
        attempt: None,
    };
    let existing = executor
        .command(&crate::commands::kind_get_clusters())
        .await?;
    let existing: Vec<&str> = existing.lines().map(str::trim).collect();
    let (reused, missing): (Vec<RegionId>, Vec<RegionId>) = config
        .region_ids()
        .partition(|r| existing.contains(&config.cluster_name(*r).as_str()));
    for region in &reused {
        tracing::info!(cluster = %config.cluster_name(*region), "reusing existing cluster");
    }
    let create = ops::create_ops(config, &missing)?;
    // Write the configs (and prepare the shared snapshot directory before kind mounts it), then
    // create the missing clusters concurrently.
    let (creates, prepare): (Vec<Operation>, Vec<Operation>) = create
        .into_iter()
        .partition(|op| matches!(op, Operation::Command(_)));
    executor.run(&prepare).await?;
    let timeout = config.timeouts.cluster_create + config.timeouts.command;
    let futures = creates.iter().filter_map(|op| match op {
        Operation::Command(invocation) => Some(run_checked(runner, invocation, timeout)),
        _ => None,
    });
    for op in &creates {
        executor
            .journal
            .operations
            .extend(op.render(config, &executor.facts));
    }
    for result in futures::future::join_all(futures).await {
        result?;
    }
    executor.run(&ops::mount_check_ops(config, &all)).await?;
    executor.run(&ops::connect_ops(config, &all)?).await?;
    executor.run(&ops::probe_ops(config)).await?;
    Ok(ClustersReady {
        reused,
        facts: executor.facts.clone(),
        journal: executor.journal,
    })
}

/// `c8dr clusters down`: remove the MinIO container (if any) and delete both clusters.
///
/// # Errors
/// A `kind delete` failed.
pub async fn clusters_down(
    config: &KindConfig,
    runner: &dyn CommandRunner,
) -> Result<Journal, KindError> {
    config.validate()?;
    let all: Vec<RegionId> = config.region_ids().collect();
    config.refuse_with_overridden_context(
        "c8dr clusters down",
        &all,
        "it deletes c8dr's own kind clusters; run it without --context",
    )?;
    let mut journal = Journal::default();
    for op in ops::clusters_down_ops(config) {
        journal
            .operations
            .extend(op.render(config, &Facts::placeholders(config)));
        match op {
            Operation::Command(invocation) => {
                run_checked(runner, &invocation, config.timeouts.command).await?;
            }
            Operation::Container(container) => DockerRm(runner, config).run(&container).await?,
            _ => {}
        }
    }
    Ok(journal)
}

struct State {
    facts: Facts,
    faults: HashMap<RegionId, Vec<AppliedFault>>,
    minio: Option<Box<dyn RunningStore>>,
    /// Regions whose reachability probe the backend created or relied on; removed by shutdown.
    probes: BTreeSet<RegionId>,
}

/// What one reachability observation found, and what it did to find out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reachability {
    /// The connection attempt from `from`'s probe, read.
    pub attempt: Attempt,
    /// The operations performed (as `c8dr plan` prints them) and notes.
    pub journal: Journal,
}

/// The kind backend of a drill.
pub struct KindBackend {
    config: KindConfig,
    shape: DrillShape,
    base_values: String,
    runner: Arc<dyn CommandRunner>,
    clients: Arc<KubeClients>,
    forwarders: Vec<Forwarder>,
    endpoints: Vec<RegionEndpoints>,
    apis: HttpApis,
    state: Mutex<State>,
    poll: Duration,
    store_launcher: Arc<dyn StoreLauncher>,
}

impl std::fmt::Debug for KindBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KindBackend")
            .field("config", &self.config)
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

struct Hooks<'a>(&'a KindBackend);

impl ContainerHooks for Hooks<'_> {
    fn run<'a>(&'a self, op: &'a ContainerOp) -> BoxFuture<'a, Result<(), KindError>> {
        Box::pin(async move {
            match op {
                ContainerOp::StartMinio { bucket, .. } => {
                    let store = self.0.store_launcher.start(&self.0.config, bucket).await?;
                    self.0.state.lock().await.minio = Some(store);
                    Ok(())
                }
                ContainerOp::StopMinio => {
                    let store = self.0.state.lock().await.minio.take();
                    match store {
                        Some(store) => store.stop().await,
                        None => Ok(()),
                    }
                }
            }
        })
    }

    fn s3_credentials(&self) -> Option<(String, String)> {
        self.0.state.try_lock().ok().and_then(|s| {
            s.minio
                .as_ref()
                .map(|m| (m.access_key().to_owned(), m.secret_key().to_owned()))
        })
    }
}

fn local_url(forwarder: &Forwarder) -> Result<Url, KindError> {
    Url::parse(&format!("http://{}", forwarder.address())).map_err(|e| KindError::Unexpected {
        what: "a port-forward address".to_owned(),
        detail: e.to_string(),
    })
}

impl KindBackend {
    /// Connect to the clusters `clusters up` created: bind the port-forward listeners (three per
    /// region) and prepare the clients. Installs nothing; call [`KindBackend::start`] next.
    /// The plan should already be adapted with [`crate::plan::adapt_plan`].
    ///
    /// # Errors
    /// Invalid configuration or a listener that cannot bind.
    pub async fn connect(
        config: KindConfig,
        plan: &Plan,
        runner: Arc<dyn CommandRunner>,
        factory: Arc<dyn KubeFactory>,
    ) -> Result<Self, KindError> {
        config.validate()?;
        // Refused before anything is touched: a loss that acts on kind itself while the kube
        // calls go elsewhere.
        for (_, step) in plan.steps() {
            if let Some(c8dr_core::plan::Action::LoseRegion { region, mode }) = &step.action {
                refuse_loss_with_overridden_context(&config, *region, config.realisation(*mode))?;
            }
        }
        if let SnapshotStore::SharedDirectory(_) = config.snapshot_store {
            config.refuse_with_overridden_context(
                "--snapshot-dir (a host directory mounted into c8dr's kind nodes)",
                &config.region_ids().collect::<Vec<_>>(),
                "leave it out for the MinIO store",
            )?;
        }
        let clients = Arc::new(KubeClients::new(config.clone(), factory));
        let mut forwarders = Vec::new();
        let mut endpoints = Vec::new();
        for region in config.region_ids() {
            let target = |service: String, port: u16| ForwardTarget {
                region,
                context: config.context(region),
                namespace: config.namespace(region),
                service,
                port,
            };
            let timeout = config.timeouts.port_forward;
            let rest = portforward::start(
                clients.clone(),
                target(config.gateway_service(), 8080),
                timeout,
            )
            .await?;
            let management = portforward::start(
                clients.clone(),
                target(config.gateway_service(), 9600),
                timeout,
            )
            .await?;
            let elasticsearch = portforward::start(
                clients.clone(),
                target(config.elasticsearch_service(), 9200),
                timeout,
            )
            .await?;
            endpoints.push(RegionEndpoints {
                rest: local_url(&rest)?,
                management: local_url(&management)?,
                elasticsearch: local_url(&elasticsearch)?,
            });
            forwarders.extend([rest, management, elasticsearch]);
        }
        let apis = HttpApis::new(endpoints.clone(), Some(rest_credentials()));
        let base_values = base_values_text(&config);
        let facts = Facts::placeholders(&config);
        Ok(Self {
            shape: DrillShape::of(plan),
            base_values,
            runner,
            clients,
            forwarders,
            endpoints,
            apis,
            state: Mutex::new(State {
                facts,
                faults: HashMap::new(),
                minio: None,
                probes: BTreeSet::new(),
            }),
            poll: Duration::from_secs(2),
            store_launcher: Arc::new(TestcontainersMinio),
            config,
        })
    }

    /// Start the MinIO snapshot store with `launcher` instead of testcontainers (for tests
    /// without a Docker engine).
    #[must_use]
    pub fn with_store_launcher(mut self, launcher: Arc<dyn StoreLauncher>) -> Self {
        self.store_launcher = launcher;
        self
    }

    /// Facts about this backend for the engine: real time, and polling no faster than 500 ms.
    #[must_use]
    pub fn info(&self) -> BackendInfo {
        BackendInfo {
            name: "kind".to_owned(),
            time_scale: 1.0,
            min_poll_interval: Duration::from_millis(500),
        }
    }

    /// Base URLs of each region's REST API, management API and Elasticsearch: local listeners,
    /// each connection port-forwarded to a pod that runs at that moment.
    #[must_use]
    pub fn endpoints(&self) -> Vec<RegionEndpoints> {
        self.endpoints.clone()
    }

    /// The REST API credentials for the clients.
    #[must_use]
    pub fn credentials(&self) -> BasicAuth {
        rest_credentials()
    }

    fn executor<'a>(&'a self, hooks: &'a Hooks<'a>, facts: Facts) -> Executor<'a> {
        Executor {
            config: &self.config,
            runner: self.runner.as_ref(),
            clients: &self.clients,
            topology: &self.apis,
            containers: hooks,
            s3_credentials: None,
            poll: self.poll,
            facts,
            expected_brokers: usize::try_from(self.shape.layout.cluster_size).ok(),
            journal: Journal::default(),
            probes: Vec::new(),
            attempt: None,
        }
    }

    async fn executor_run(&self, ops: &[Operation]) -> Result<Journal, KindError> {
        let facts = self.state.lock().await.facts.clone();
        let hooks = Hooks(self);
        let mut executor = self.executor(&hooks, facts);
        let result = executor.run(ops).await;
        self.state.lock().await.facts = executor.facts.clone();
        result.map(|()| executor.journal)
    }

    /// Whether workloads in `from` reach `to` now, as a probe pod in `from`'s namespace finds
    /// out: subject to the same NetworkPolicies as the Camunda pods there, it fetches the page of
    /// `to`'s probe by DNS name (through CoreDNS forwarding and the routes, as the brokers'
    /// traffic goes), bounded by `timeout`. The probes are created on first use and kept until
    /// [`KindBackend::shutdown`], so a poll costs two pod lookups and one exec.
    ///
    /// # Errors
    /// A failure on `from`'s cluster, or an answered failure on `to`'s (`to`'s cluster not
    /// answering at all is left to the attempt, which then fails: not reachable).
    pub async fn reachability(
        &self,
        from: RegionId,
        to: RegionId,
    ) -> Result<Reachability, KindError> {
        let facts = self.state.lock().await.facts.clone();
        let hooks = Hooks(self);
        let mut executor = self.executor(&hooks, facts);
        let result = executor.reachability(from, to).await;
        self.state
            .lock()
            .await
            .probes
            .extend(executor.probes.iter().copied());
        for line in &executor.journal.operations {
            tracing::debug!(%from, %to, "reachability: {line}");
        }
        Ok(Reachability {
            attempt: result?,
            journal: executor.journal,
        })
    }

    /// Install both regions: snapshot store, generated values, secrets, chart repository, both
    /// releases concurrently, and wait until the gateway lists every broker.
    ///
    /// # Errors
    /// The first failed operation.
    pub async fn start(&self) -> Result<PlatformOutcome, KindError> {
        let mut journal = self
            .executor_run(&ops::store_ops(&self.config, &self.shape))
            .await?;
        let snapshot = match &self.config.snapshot_store {
            SnapshotStore::Minio => {
                let state = self.state.lock().await;
                match &state.minio {
                    Some(store) => SnapshotEndpoint::Minio {
                        endpoint: store.endpoint(),
                    },
                    None => SnapshotEndpoint::placeholder(&self.config),
                }
            }
            // `c8dr clusters up` created it before the clusters mounted it; store_ops checked
            // that the nodes mount it.
            SnapshotStore::SharedDirectory(_) => SnapshotEndpoint::SharedDirectory,
        };
        let mut ops = ops::values_ops(&self.config, &self.shape, &self.base_values, &snapshot)?;
        ops.extend(ops::install_ops(&self.config));
        let rest = self.executor_run(&ops).await?;
        journal.operations.extend(rest.operations);
        journal.notes.extend(rest.notes);
        Ok(PlatformOutcome {
            operations: journal.operations,
            notes: journal.notes,
        })
    }

    /// Write the diagnostics bundle into `dir`: pods, events, `kubectl describe`-like pod texts
    /// and the logs of every container and init container of every pod in both regions, applied
    /// fault policies, topology, cluster and exporter dumps, and `kind export logs`; every call
    /// with a deadline. Best effort: what cannot be read is listed in `errors.txt`. Returns the
    /// files written.
    ///
    /// # Errors
    /// The directory cannot be written.
    pub async fn diagnostics(&self, dir: &Path) -> Result<Vec<PathBuf>, KindError> {
        let sources = crate::diagnostics::Sources {
            config: &self.config,
            clients: &self.clients,
            apis: Some(&self.apis),
            runner: self.runner.as_ref(),
        };
        crate::diagnostics::collect(&sources, dir).await
    }

    /// Remove the reachability probes the backend created or relied on (best effort, each
    /// bounded by the probe deadline), then stop the listeners and the MinIO container. Clusters
    /// stay (`clusters down` removes them, with anything left in them).
    pub async fn shutdown(self) {
        let probes = std::mem::take(&mut self.state.lock().await.probes);
        for region in probes {
            let ops = ops::shutdown_ops(&self.config, &[region]);
            let timeout = self.config.timeouts.probe;
            match tokio::time::timeout(timeout, self.executor_run(&ops)).await {
                Ok(Ok(journal)) => {
                    for line in journal.operations {
                        tracing::debug!("shutdown: {line}");
                    }
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, "could not remove the reachability probe of {region}");
                }
                Err(_) => tracing::warn!(
                    "could not remove the reachability probe of {region}: no answer within {timeout:?}"
                ),
            }
        }
        for forwarder in &self.forwarders {
            forwarder.stop();
        }
        let store = self.state.lock().await.minio.take();
        if let Some(store) = store
            && let Err(error) = store.stop().await
        {
            tracing::warn!(%error, "could not remove the MinIO container");
        }
    }

    async fn lose(&self, region: RegionId, mode: LossMode) -> Result<PlatformOutcome, KindError> {
        let realisation = self.config.realisation(mode);
        refuse_loss_with_overridden_context(&self.config, region, realisation)?;
        tracing::info!("{}", ops::target_line(&self.config, region, realisation));
        let ops = ops::lose_ops(&self.config, region, realisation);
        let journal = self.executor_run(&ops).await?;
        let mut state = self.state.lock().await;
        if realisation == LossRealisation::ClusterDelete {
            self.clients.invalidate(&self.config.context(region));
            // A recreated cluster's node gets a new address: it must be learned again.
            let placeholder = Facts::placeholders(&self.config).node_ips[region.index()].clone();
            state.facts.learn(region, placeholder);
            // Gone with its cluster.
            state.probes.remove(&region);
        }
        state
            .faults
            .entry(region)
            .or_default()
            .extend(ops::faults_applied_by(&ops));
        drop(state);
        Ok(PlatformOutcome {
            operations: journal.operations,
            notes: journal.notes,
        })
    }

    async fn heal(&self, region: RegionId) -> Result<PlatformOutcome, KindError> {
        let faults = self
            .state
            .lock()
            .await
            .faults
            .get(&region)
            .cloned()
            .unwrap_or_default();
        let ops = ops::heal_ops(region, &faults)?;
        let journal = self.executor_run(&ops).await?;
        self.state.lock().await.faults.remove(&region);
        Ok(PlatformOutcome {
            operations: journal.operations,
            notes: journal.notes,
        })
    }

    async fn recreate(&self, region: RegionId) -> Result<PlatformOutcome, KindError> {
        let faults = self
            .state
            .lock()
            .await
            .faults
            .get(&region)
            .cloned()
            .unwrap_or_default();
        let ops = ops::recreate_ops(&self.config, region, &faults)?;
        let journal = self.executor_run(&ops).await?;
        self.state.lock().await.faults.remove(&region);
        Ok(PlatformOutcome {
            operations: journal.operations,
            notes: journal.notes,
        })
    }

    async fn deploy_region(
        &self,
        region: RegionId,
        overrides: &ReleaseOverrides,
    ) -> Result<PlatformOutcome, KindError> {
        let ops = ops::deploy_ops(
            &self.config,
            &self.shape,
            &self.base_values,
            region,
            overrides,
        )?;
        let journal = self.executor_run(&ops).await?;
        Ok(PlatformOutcome {
            operations: journal.operations,
            notes: journal.notes,
        })
    }

    async fn release_of(&self, region: RegionId) -> Result<Option<ReleaseStatus>, KindError> {
        let facts = self.state.lock().await.facts.clone();
        let hooks = Hooks(self);
        let mut executor = self.executor(&hooks, facts);
        let status = executor.release(region).await;
        for line in &executor.journal.operations {
            tracing::debug!(%region, "release: {line}");
        }
        status
    }
}

impl Platform for KindBackend {
    async fn lose_region(
        &self,
        region: RegionId,
        mode: LossMode,
    ) -> Result<PlatformOutcome, PlatformError> {
        self.lose(region, mode)
            .await
            .map_err(|e| e.into_platform("loseRegion", region))
    }

    async fn heal_region(&self, region: RegionId) -> Result<PlatformOutcome, PlatformError> {
        self.heal(region)
            .await
            .map_err(|e| e.into_platform("healRegion", region))
    }

    async fn recreate_region(&self, region: RegionId) -> Result<PlatformOutcome, PlatformError> {
        self.recreate(region)
            .await
            .map_err(|e| e.into_platform("recreateRegion", region))
    }

    async fn deploy(
        &self,
        region: RegionId,
        overrides: &ReleaseOverrides,
    ) -> Result<PlatformOutcome, PlatformError> {
        self.deploy_region(region, overrides)
            .await
            .map_err(|e| e.into_platform("deploy", region))
    }

    async fn release(&self, region: RegionId) -> Result<Option<ReleaseStatus>, PlatformError> {
        self.release_of(region)
            .await
            .map_err(|e| e.into_platform("release", region))
    }

    async fn reachable(&self, from: RegionId, to: RegionId) -> Result<bool, PlatformError> {
        let observed = self
            .reachability(from, to)
            .await
            .map_err(|e| e.into_platform("reachable", from))?;
        match observed.attempt {
            Attempt::Reached => Ok(true),
            Attempt::NotReached(why) => {
                tracing::debug!(%from, %to, "not reachable: {why}");
                Ok(false)
            }
            Attempt::Unobservable(why) => Err(PlatformError::Operation {
                operation: "reachable",
                region: from,
                message: format!("cannot tell whether {from} reaches {to}: {why}"),
            }),
        }
    }
}

/// `node-pause` and `cluster-delete` act on the `c8dr-region*` kind node and cluster: refused
/// when `--context` sends the region's kube calls elsewhere.
fn refuse_loss_with_overridden_context(
    config: &KindConfig,
    region: RegionId,
    realisation: LossRealisation,
) -> Result<(), KindError> {
    if realisation == LossRealisation::NetworkPolicy {
        return Ok(());
    }
    config.refuse_with_overridden_context(
        &format!("--loss-mode {realisation} (the loss of {region})"),
        &[region],
        "use --loss-mode network-policy, which acts through the region's kube context",
    )
}

/// Write the diagnostics bundle without a backend, when `clusters up` or connecting to the
/// clusters failed: everything [`KindBackend::diagnostics`] writes but the gateway dumps.
///
/// # Errors
/// The directory cannot be written.
pub async fn collect_diagnostics(
    config: &KindConfig,
    runner: &dyn CommandRunner,
    factory: Arc<dyn KubeFactory>,
    dir: &Path,
) -> Result<Vec<PathBuf>, KindError> {
    let clients = KubeClients::new(config.clone(), factory);
    let sources = crate::diagnostics::Sources {
        config,
        clients: &clients,
        apis: None,
        runner,
    };
    crate::diagnostics::collect(&sources, dir).await
}

/// Read a gateway's cluster and exporter state for diagnostics, each call bounded by `deadline`.
pub(crate) async fn api_dumps(
    apis: &HttpApis,
    via: RegionId,
    deadline: Duration,
) -> Vec<(String, Result<String, String>)> {
    async fn bounded<T: std::fmt::Debug, E: std::fmt::Display>(
        deadline: Duration,
        call: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<String, String> {
        match tokio::time::timeout(deadline, call).await {
            Ok(Ok(value)) => Ok(format!("{value:#?}")),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("no answer within {deadline:?}")),
        }
    }
    let topology = bounded(deadline, apis.topology(via)).await;
    let cluster = bounded(deadline, apis.cluster(via)).await;
    let exporters = bounded(deadline, apis.exporters(via)).await;
    vec![
        ("topology.txt".to_owned(), topology),
        ("cluster.txt".to_owned(), cluster),
        ("exporters.txt".to_owned(), exporters),
    ]
}
