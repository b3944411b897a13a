//! Runs [`Operation`]s: subprocesses through the [`CommandRunner`], API calls through kube-rs,
//! checks by polling. Every executed operation is journaled in its rendered form, which is what
//! the report's `PlatformOutcome.operations` shows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use c8dr_core::region::RegionId;
use futures::future::BoxFuture;

use crate::artifacts::{self, PROBE_NAME};
use crate::config::KindConfig;
use crate::error::KindError;
use crate::kube::{self as k, KubeClients};
use crate::ops::{Check, ContainerOp, KubeAction, KubeOp, Operation};
use crate::reach::{self, Attempt};
use crate::runner::{CommandRunner, Invocation, run_checked};

/// `future`, or [`KindError::NoAnswer`] when it does not finish within `timeout` (an API server
/// on a paused node accepts connections and never answers).
async fn answer_within<T>(
    timeout: Duration,
    what: impl Into<String>,
    context: &str,
    future: impl std::future::Future<Output = Result<T, KindError>>,
) -> Result<T, KindError> {
    match tokio::time::timeout(timeout, future).await {
        Ok(result) => result,
        Err(_) => Err(KindError::NoAnswer {
            what: what.into(),
            context: context.to_owned(),
            timeout,
        }),
    }
}

/// The broker ids a region's gateway lists in `GET /v2/topology`.
pub trait TopologySource: Send + Sync {
    /// Broker ids, or why they could not be read.
    fn brokers(&self, via: RegionId) -> BoxFuture<'_, Result<Vec<u32>, String>>;
}

/// Topology through the HTTP clients (over the backend's port-forwards).
impl TopologySource for c8dr_client::HttpApis {
    fn brokers(&self, via: RegionId) -> BoxFuture<'_, Result<Vec<u32>, String>> {
        Box::pin(async move {
            c8dr_core::backend::CamundaApis::topology(self, via)
                .await
                .map(|t| t.brokers.iter().map(|b| b.node_id).collect())
                .map_err(|e| e.to_string())
        })
    }
}

/// Hooks for the container operations (the MinIO store lives in the backend).
pub trait ContainerHooks: Send + Sync {
    /// Run a container operation.
    fn run<'a>(&'a self, op: &'a ContainerOp) -> BoxFuture<'a, Result<(), KindError>>;
    /// The S3 credentials of the running store, if any.
    fn s3_credentials(&self) -> Option<(String, String)> {
        None
    }
}

/// What an execution journaled.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Journal {
    /// Rendered operations, in order.
    pub operations: Vec<String>,
    /// Things the reader must know.
    pub notes: Vec<String>,
}

/// Executes operations against the clusters.
pub struct Executor<'a> {
    /// Configuration.
    pub config: &'a KindConfig,
    /// Subprocesses.
    pub runner: &'a dyn CommandRunner,
    /// Kubernetes clients.
    pub clients: &'a KubeClients,
    /// Gateway topology.
    pub topology: &'a dyn TopologySource,
    /// Container operations.
    pub containers: &'a dyn ContainerHooks,
    /// S3 credentials for the secret (access, secret).
    pub s3_credentials: Option<(String, String)>,
    /// Poll interval of checks.
    pub poll: Duration,
    /// Node addresses learned so far.
    pub facts: crate::ops::Facts,
    /// How many brokers an install must show (`None`: any).
    pub expected_brokers: Option<usize>,
    /// What happened.
    pub journal: Journal,
    /// Regions whose probe an [`Operation::EnsureProbe`] found running or created.
    pub probes: Vec<RegionId>,
    /// What the last [`Check::Reachable`] found.
    pub attempt: Option<Attempt>,
}

impl std::fmt::Debug for Executor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("journal", &self.journal)
            .finish_non_exhaustive()
    }
}

fn write_file(path: &std::path::Path, content: &str) -> Result<(), KindError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| KindError::WriteArtifact {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, content).map_err(|source| KindError::WriteArtifact {
        path: path.to_path_buf(),
        source,
    })
}

impl Executor<'_> {
    /// Run a command and journal it.
    ///
    /// # Errors
    /// The command failed.
    pub async fn command(&mut self, invocation: &Invocation) -> Result<String, KindError> {
        self.journal.operations.push(invocation.to_string());
        let output = run_checked(self.runner, invocation, self.config.timeouts.command).await?;
        Ok(output.stdout)
    }

    /// Run operations in order. A failed loss proof directly followed by an
    /// [`Operation::IfLossNotProved`] block runs that block instead of failing.
    ///
    /// # Errors
    /// The first operation that failed.
    pub async fn run(&mut self, ops: &[Operation]) -> Result<(), KindError> {
        let mut index = 0;
        while index < ops.len() {
            let op = &ops[index];
            let fallback = match ops.get(index + 1) {
                Some(Operation::IfLossNotProved(block)) => Some(block),
                _ => None,
            };
            match (op, fallback) {
                (Operation::Check(check @ Check::LossProved { lost, .. }), Some(block)) => {
                    self.journal
                        .operations
                        .extend(op.render(self.config, &self.facts));
                    match self.check(check).await {
                        Ok(()) => {}
                        Err(KindError::LossNotProved { remaining, .. }) => {
                            let note = format!(
                                "established connections survived the NetworkPolicies (the surviving gateway still listed brokers {remaining:?}); restarted the pods of {lost} to break them"
                            );
                            tracing::warn!("{note}");
                            self.journal.notes.push(note);
                            Box::pin(self.run(block)).await?;
                        }
                        Err(other) => return Err(other),
                    }
                    index += 2;
                    continue;
                }
                _ => self.one(op).await?,
            }
            index += 1;
        }
        Ok(())
    }

    async fn one(&mut self, op: &Operation) -> Result<(), KindError> {
        match op {
            Operation::Command(invocation) => {
                self.command(invocation).await?;
            }
            Operation::Note(note) => {
                tracing::info!("{note}");
                self.journal
                    .operations
                    .extend(op.render(self.config, &self.facts));
            }
            Operation::Discover { regions } => {
                for &region in regions {
                    self.discover(region).await?;
                }
            }
            Operation::Routes { region, peer } => {
                // Never `ip route ... via <placeholder>`.
                self.facts.require_node_addresses(
                    self.config,
                    *peer,
                    "the routes to its subnets",
                )?;
                for invocation in
                    crate::ops::route_invocations(self.config, *region, *peer, &self.facts)
                {
                    self.command(&invocation).await?;
                }
            }
            Operation::WriteFile { path, content, .. } => {
                self.journal
                    .operations
                    .extend(op.render(self.config, &self.facts));
                write_file(path, content)?;
            }
            Operation::PrepareSharedDirectory { path } => {
                self.journal
                    .operations
                    .extend(op.render(self.config, &self.facts));
                prepare_shared_directory(path)?;
            }
            Operation::IfLossNotProved(_) => {}
            Operation::Container(container) => {
                self.journal
                    .operations
                    .extend(op.render(self.config, &self.facts));
                self.containers.run(container).await?;
            }
            Operation::Kube(kube_op) => {
                self.journal
                    .operations
                    .extend(op.render(self.config, &self.facts));
                self.kube(kube_op).await?;
            }
            Operation::Check(check) => {
                self.journal
                    .operations
                    .extend(op.render(self.config, &self.facts));
                self.check(check).await?;
            }
            Operation::ReadRelease { region } => {
                // Boxed: the release read's future is large, and `one` is polled deep down.
                Box::pin(self.release(*region)).await?;
            }
            Operation::EnsureProbe { region, peer } => {
                match self.ensure_probe(*region, *peer).await {
                    Ok(()) => self.probes.push(*region),
                    Err(error) if *peer && reach::cluster_unreachable(&error) => {
                        let note = format!(
                            "the probe of {region} could not be looked after ({error}): its cluster cannot be reached, the connection attempt decides"
                        );
                        tracing::debug!("{note}");
                        self.journal.notes.push(note);
                    }
                    Err(error) => return Err(error),
                }
            }
        }
        Ok(())
    }

    /// Learn a region's node addresses from its Node objects (bounded by
    /// `Timeouts::kube_read`). A cluster that does not answer keeps what was learned before (a
    /// paused node keeps its address); with nothing learned, the failure is the error.
    async fn discover(&mut self, region: RegionId) -> Result<(), KindError> {
        let ctx = self.config.context(region);
        self.journal
            .operations
            .push(crate::ops::discover_line(self.config, region));
        let clients = self.clients;
        let learned = answer_within(self.config.timeouts.kube_read, "list nodes", &ctx, async {
            let client = clients.get(&ctx).await?;
            k::node_internal_ips(&client, &ctx).await
        })
        .await;
        match learned {
            Ok(ips) => {
                tracing::debug!(%region, context = %ctx, ?ips, "node addresses");
                self.facts.learn(region, ips);
                Ok(())
            }
            Err(error) if self.facts.node_addresses(region).is_some() => {
                let note = format!(
                    "the node addresses of {region} could not be read again ({error}); using those learned before: {}",
                    self.facts.node_ips[region.index()].join(", ")
                );
                tracing::debug!("{note}");
                self.journal.notes.push(note);
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// Look the probe up, create it when missing, and wait until it runs (a deadline of its
    /// own: a probe that does not run yet is "could not observe", the next poll looks again);
    /// each step journaled as the plan prints it, each API call bounded by the probe deadline.
    async fn ensure_probe(&mut self, region: RegionId, peer: bool) -> Result<(), KindError> {
        let (ctx, ns) = (self.config.context(region), self.config.namespace(region));
        let timeout = self.config.timeouts.probe;
        self.journal
            .operations
            .push(crate::ops::probe_lookup_line(self.config, region, peer));
        let clients = self.clients;
        let state = answer_within(timeout, format!("get pod {PROBE_NAME}"), &ctx, async {
            let client = clients.get(&ctx).await?;
            k::probe_state(&client, &ctx, &ns).await
        })
        .await?;
        let missing = match state {
            k::ProbeState::Running(_) => return Ok(()),
            k::ProbeState::Missing => true,
            k::ProbeState::NotRunning => false,
        };
        if missing {
            let apply = crate::ops::apply_probe_op(self.config, region);
            self.journal
                .operations
                .extend(apply.render(self.config, &self.facts));
            if let Operation::Kube(op) = &apply {
                answer_within(
                    timeout,
                    format!("apply pod {PROBE_NAME}"),
                    &ctx,
                    self.kube(op),
                )
                .await?;
            }
        }
        let wait = Operation::Check(Check::ProbeReady { region, timeout });
        self.journal
            .operations
            .extend(wait.render(self.config, &self.facts));
        // Running and not being deleted: a terminating probe has left its Service's DNS.
        let started = Instant::now();
        let poll = self.poll.min(Duration::from_millis(500));
        loop {
            let state = answer_within(timeout, format!("get pod {PROBE_NAME}"), &ctx, async {
                let client = clients.get(&ctx).await?;
                k::probe_state(&client, &ctx, &ns).await
            })
            .await?;
            if let k::ProbeState::Running(_) = state {
                return Ok(());
            }
            if started.elapsed() >= timeout {
                return Err(KindError::WaitTimedOut {
                    what: format!("pod {PROBE_NAME} to run"),
                    context: ctx,
                    timeout,
                    last: format!("{state:?}"),
                });
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// One reachability observation: [`crate::ops::reachability_ops`] run and journaled.
    ///
    /// # Errors
    /// An operation failed on `from`'s cluster, or on `to`'s with an answer (an API server that
    /// cannot be reached at all is left to the connection attempt).
    pub async fn reachability(
        &mut self,
        from: RegionId,
        to: RegionId,
    ) -> Result<Attempt, KindError> {
        self.attempt = None;
        self.run(&crate::ops::reachability_ops(from, to)).await?;
        self.attempt.take().ok_or_else(|| KindError::Unexpected {
            what: "the reachability operations".to_owned(),
            detail: "no connection attempt was made".to_owned(),
        })
    }

    /// A region's release as the engine sees it ([`Operation::ReadRelease`]), journaled as the
    /// plan prints it.
    ///
    /// # Errors
    /// The API calls failed.
    pub async fn release(
        &mut self,
        region: RegionId,
    ) -> Result<Option<c8dr_core::camunda::ReleaseStatus>, KindError> {
        self.journal
            .operations
            .extend(Operation::ReadRelease { region }.render(self.config, &self.facts));
        let (ctx, ns) = (self.config.context(region), self.config.namespace(region));
        let client = self.clients.get(&ctx).await?;
        k::release_status(&client, self.config, &ctx, &ns).await
    }

    async fn kube(&mut self, op: &KubeOp) -> Result<(), KindError> {
        let client = self.clients.get(&op.context).await?;
        let (ctx, ns) = (op.context.as_str(), op.namespace.as_str());
        match &op.action {
            KubeAction::EnsureNamespace => k::ensure_namespace(&client, ctx, ns).await,
            KubeAction::ApplyNetworkPolicy { policy, manifest } => {
                write_file(manifest, &artifacts::policy_yaml(policy)?)?;
                k::apply_network_policy(&client, ctx, ns, policy).await
            }
            KubeAction::ApplyFence { lost, manifest } => {
                let policy = crate::ops::fence_policy_for(self.config, *lost, &self.facts)?;
                write_file(manifest, &artifacts::policy_yaml(&policy)?)?;
                k::apply_network_policy(&client, ctx, ns, &policy).await
            }
            KubeAction::DeleteNetworkPolicy { name } => {
                k::delete_network_policy(&client, ctx, ns, name).await
            }
            KubeAction::ApplyS3Secret => match self
                .s3_credentials
                .clone()
                .or_else(|| self.containers.s3_credentials())
            {
                Some((access, secret)) => {
                    k::apply_s3_secret(&client, ctx, ns, &access, &secret).await
                }
                None => Err(KindError::Unexpected {
                    what: "the S3 secret".to_owned(),
                    detail: "no snapshot store credentials (MinIO not started)".to_owned(),
                }),
            },
            KubeAction::PatchCoreDns { block, manifest } => {
                let corefile = k::patch_coredns(&client, ctx, block.as_deref()).await?;
                write_file(manifest, &artifacts::coredns_patch_yaml(&corefile)?)
            }
            KubeAction::ApplyProbe { manifest } => {
                let region = self.region_of_context(ctx)?;
                write_file(manifest, &artifacts::probe_yaml(self.config, region)?)?;
                k::apply_probe(&client, self.config, region).await
            }
            KubeAction::DeleteProbe => k::delete_probe(&client, ctx, ns).await,
            KubeAction::RestartPods => k::restart_pods(&client, ctx, ns).await,
            KubeAction::DeletePvcs => k::delete_pvcs(&client, ctx, ns).await,
            KubeAction::WaitEmpty { timeout } => {
                let started = Instant::now();
                loop {
                    let (pods, pvcs) = k::remaining(&client, ctx, ns).await?;
                    if pods == 0 && pvcs == 0 {
                        return Ok(());
                    }
                    if started.elapsed() >= *timeout {
                        return Err(KindError::WaitTimedOut {
                            what: format!("namespace {ns} to be empty"),
                            context: ctx.to_owned(),
                            timeout: *timeout,
                            last: format!("{pods} pods, {pvcs} PersistentVolumeClaims"),
                        });
                    }
                    tokio::time::sleep(self.poll).await;
                }
            }
        }
    }

    fn region_of_context(&self, context: &str) -> Result<RegionId, KindError> {
        self.config
            .region_ids()
            .find(|r| self.config.context(*r) == context)
            .ok_or_else(|| KindError::Unexpected {
                what: format!("context {context}"),
                detail: "not a region of this configuration".to_owned(),
            })
    }

    async fn check(&mut self, check: &Check) -> Result<(), KindError> {
        let started = Instant::now();
        match check {
            Check::ProbeReady { region, timeout } => {
                let timeout = *timeout;
                let (ctx, ns) = (self.config.context(*region), self.config.namespace(*region));
                let client = self.clients.get(&ctx).await?;
                loop {
                    if k::running_pod_ip(&client, &ctx, &ns, PROBE_NAME)
                        .await?
                        .is_some()
                    {
                        return Ok(());
                    }
                    if started.elapsed() >= timeout {
                        return Err(KindError::WaitTimedOut {
                            what: format!("pod {PROBE_NAME} to run"),
                            context: ctx,
                            timeout,
                            last: "no pod IP".to_owned(),
                        });
                    }
                    tokio::time::sleep(self.poll).await;
                }
            }
            Check::PodIp { from, to } | Check::Dns { from, to } => {
                let dns = matches!(check, Check::Dns { .. });
                let timeout = self.config.timeouts.reachability;
                let from_client = self.clients.get(&self.config.context(*from)).await?;
                let to_client = self.clients.get(&self.config.context(*to)).await?;
                let expected = artifacts::probe_answer(self.config, *to);
                let mut last = String::new();
                loop {
                    let url = if dns {
                        Some(crate::ops::probe_dns_url(self.config, *to))
                    } else {
                        k::running_pod_ip(
                            &to_client,
                            &self.config.context(*to),
                            &self.config.namespace(*to),
                            PROBE_NAME,
                        )
                        .await?
                        .map(|ip| crate::ops::probe_ip_url(&ip))
                    };
                    if let Some(url) = url {
                        match k::exec_stdout(
                            &from_client,
                            &self.config.context(*from),
                            &self.config.namespace(*from),
                            PROBE_NAME,
                            crate::ops::probe_command(&url),
                        )
                        .await
                        {
                            Ok(out) if out.trim() == expected => return Ok(()),
                            Ok(out) => last = format!("answer {:?}", out.trim()),
                            Err(error) => last = error.to_string(),
                        }
                    }
                    if started.elapsed() >= timeout {
                        return Err(KindError::ReachabilityProbe {
                            from: *from,
                            to: *to,
                            check: if dns { "DNS" } else { "pod IP" },
                            detail: last,
                        });
                    }
                    tokio::time::sleep(self.poll).await;
                }
            }
            Check::Reachable { from, to } => {
                let (ctx, ns) = (self.config.context(*from), self.config.namespace(*from));
                // `timeout` inside the probe bounds the attempt; the rest is the exec itself.
                let deadline = self.config.timeouts.probe + Duration::from_secs(10);
                let clients = self.clients;
                let command = crate::ops::reach_command(self.config, *to);
                let output =
                    answer_within(deadline, format!("exec in pod {PROBE_NAME}"), &ctx, async {
                        let client = clients.get(&ctx).await?;
                        k::exec_output(&client, &ctx, &ns, PROBE_NAME, command).await
                    })
                    .await?;
                let attempt =
                    reach::classify_attempt(&artifacts::probe_answer(self.config, *to), &output);
                tracing::debug!(%from, %to, ?attempt, stderr = %output.stderr.trim(), "reachability attempt");
                self.attempt = Some(attempt);
                Ok(())
            }
            Check::LossProved { lost, via, timeout } => {
                let regions = u32::from(self.config.regions.max(1));
                let mut remaining = Vec::new();
                loop {
                    match self.topology.brokers(*via).await {
                        Ok(brokers) => {
                            remaining = brokers
                                .into_iter()
                                .filter(|id| id % regions == u32::from(lost.0))
                                .collect();
                            if remaining.is_empty() {
                                return Ok(());
                            }
                        }
                        Err(error) => tracing::debug!(%error, "topology not readable yet"),
                    }
                    if started.elapsed() >= *timeout {
                        return Err(KindError::LossNotProved {
                            lost: *lost,
                            via: *via,
                            remaining,
                            timeout: *timeout,
                        });
                    }
                    tokio::time::sleep(self.poll).await;
                }
            }
            Check::SharedMount { region, dir } => {
                // Journaled as the check's line.
                let node = self.config.node_name(*region);
                let output = run_checked(
                    self.runner,
                    &crate::commands::docker_mounts(&node),
                    self.config.timeouts.command,
                )
                .await?;
                check_shared_mount(dir, &node, &output.stdout)
            }
            Check::Installed { via, timeout } => loop {
                let last = match self.topology.brokers(*via).await {
                    Ok(brokers)
                        if !brokers.is_empty()
                            && self.expected_brokers.is_none_or(|n| brokers.len() >= n) =>
                    {
                        return Ok(());
                    }
                    Ok(brokers) => format!("brokers {brokers:?}"),
                    Err(error) => error,
                };
                if started.elapsed() >= *timeout {
                    return Err(KindError::WaitTimedOut {
                        what: "every broker in the topology".to_owned(),
                        context: self.config.context(*via),
                        timeout: *timeout,
                        last,
                    });
                }
                tokio::time::sleep(self.poll).await;
            },
        }
    }
}

/// Create the shared snapshot directory, writable by everyone (Elasticsearch runs as uid 1000
/// in the nodes and must write its snapshots there).
fn prepare_shared_directory(path: &std::path::Path) -> Result<(), KindError> {
    let failed = |source| KindError::WriteArtifact {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(path).map_err(failed)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).map_err(failed)?;
    }
    Ok(())
}

fn same_directory(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Read `docker inspect`'s mount lines (`<source>|<destination>`) of a node: the shared
/// directory must be mounted at the snapshot mount, and exist on the host.
///
/// # Errors
/// [`KindError::SharedDirectory`] saying what is wrong and how to fix it.
pub fn check_shared_mount(
    dir: &std::path::Path,
    node: &str,
    mounts: &str,
) -> Result<(), KindError> {
    let mount = crate::config::SHARED_SNAPSHOT_MOUNT;
    let fail = |problem: String| KindError::SharedDirectory {
        dir: dir.to_path_buf(),
        problem,
    };
    let at_mount: Vec<&str> = mounts
        .lines()
        .filter_map(|line| line.trim().split_once('|'))
        .filter(|(_, destination)| *destination == mount)
        .map(|(source, _)| source)
        .collect();
    match at_mount.first() {
        None => Err(fail(format!(
            "node {node} does not mount it at {mount}: its cluster was created without this --snapshot-dir; run `c8dr clusters down`, then `c8dr clusters up --snapshot-dir {}`",
            dir.display()
        ))),
        Some(source) if !same_directory(std::path::Path::new(source), dir) => Err(fail(format!(
            "node {node} mounts {source} at {mount}, not this directory: run `c8dr clusters down`, then `c8dr clusters up --snapshot-dir {}`",
            dir.display()
        ))),
        Some(_) if !dir.is_dir() => Err(fail(format!(
            "it does not exist on the host any more (node {node} still mounts it): run `c8dr clusters down`, then `c8dr clusters up --snapshot-dir {}`",
            dir.display()
        ))),
        Some(_) => Ok(()),
    }
}

/// A [`ContainerHooks`] that refuses (for paths without a snapshot store).
#[derive(Debug, Default)]
pub struct NoContainers;

impl ContainerHooks for NoContainers {
    fn run<'a>(&'a self, op: &'a ContainerOp) -> BoxFuture<'a, Result<(), KindError>> {
        Box::pin(async move {
            Err(KindError::Unexpected {
                what: format!("{op:?}"),
                detail: "no container runtime hooks configured".to_owned(),
            })
        })
    }
}

/// Shared pieces the executor borrows.
pub type SharedRunner = Arc<dyn CommandRunner>;
