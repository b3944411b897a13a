//! Operations: what the backend does for each platform action, as values.
//!
//! Every platform action becomes a list of [`Operation`]s built by the functions of this module
//! from the configuration and the facts known at that moment (node addresses, what a loss
//! applied). The backend executes the list; `c8dr plan` renders the same list with placeholders
//! for facts only known at run time. Plan and run therefore cannot disagree.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use c8dr_core::camunda::ReleaseOverrides;
use c8dr_core::region::RegionId;
use k8s_openapi::api::networking::v1::NetworkPolicy;

use crate::artifacts::{
    self, DrillShape, LostAddresses, PROBE_NAME, PROBE_PORT, S3_SECRET, SnapshotEndpoint,
    deny_all_policy, fence_policy, fence_policy_name,
};
use crate::commands;
use crate::config::{KindConfig, LossRealisation, SHARED_SNAPSHOT_MOUNT, SnapshotStore};
use crate::runner::{Invocation, REDACTED};

/// One step of a platform action.
#[derive(Debug, Clone)]
pub enum Operation {
    /// A kind, helm or docker subprocess.
    Command(Invocation),
    /// A Kubernetes API call through kube-rs (rendered as the equivalent `kubectl` line).
    Kube(KubeOp),
    /// A check that must pass before the action counts as done.
    Check(Check),
    /// The snapshot store container (testcontainers; rendered as the equivalent `docker run`).
    Container(ContainerOp),
    /// Operations that only run when the loss proof before them failed: established connections
    /// survived the NetworkPolicies and must be broken.
    IfLossNotProved(Vec<Operation>),
    /// A line for the reader (printed as a comment).
    Note(String),
    /// Learn the `InternalIP` addresses of the nodes of `regions` from their Node objects
    /// (kube-rs; on kind, each node container's address on the `kind` network); later
    /// operations use what it finds. A cluster whose API server does not answer in time keeps
    /// the addresses learned before (a paused node's); with none learned, it is an error.
    Discover {
        /// Regions whose nodes are looked up.
        regions: Vec<RegionId>,
    },
    /// Make sure the region's probe pod runs: look it up, create it when missing, wait until it
    /// runs. The probes stay until the backend's shutdown. With `peer`, a cluster whose API
    /// server cannot be reached is not an error: the connection attempt that follows decides.
    EnsureProbe {
        /// Region.
        region: RegionId,
        /// The probe is the target of the attempt, not where it runs from.
        peer: bool,
    },
    /// Routes on `region`'s node to `peer`'s pod and service subnets via `peer`'s node address
    /// (known after [`Operation::Discover`]; unknown, it is an error).
    Routes {
        /// Region whose node gets the routes.
        region: RegionId,
        /// Region routed to.
        peer: RegionId,
    },
    /// Read a region's release as the engine sees it (`Platform::release`, for `webApps`
    /// expectations): revision, active profiles, rollout state. Reads only.
    ReadRelease {
        /// Region.
        region: RegionId,
    },
    /// Create the shared snapshot directory on the host, writable by everyone (mode 0777),
    /// before kind mounts it into the nodes: a directory Docker creates for a bind mount is
    /// root's, and Elasticsearch (uid 1000) could not write its snapshots there.
    PrepareSharedDirectory {
        /// The host directory.
        path: PathBuf,
    },
    /// Write a generated file into the run directory.
    WriteFile {
        /// Where.
        path: PathBuf,
        /// What it holds (for the printed line).
        what: String,
        /// Content.
        content: String,
    },
}

/// A Kubernetes API call.
#[derive(Debug, Clone)]
pub struct KubeOp {
    /// Kube context.
    pub context: String,
    /// Namespace.
    pub namespace: String,
    /// What to do.
    pub action: KubeAction,
}

/// The Kubernetes API calls the backend makes.
#[derive(Debug, Clone)]
pub enum KubeAction {
    /// Create the namespace when missing.
    EnsureNamespace,
    /// Server-side apply of a NetworkPolicy (also written to `manifest`).
    ApplyNetworkPolicy {
        /// The policy.
        policy: Box<NetworkPolicy>,
        /// Where its manifest is written.
        manifest: PathBuf,
    },
    /// Server-side apply of the fence policy against `lost`, built from the node addresses
    /// known when it runs (also written to `manifest`).
    ApplyFence {
        /// The lost region.
        lost: RegionId,
        /// Where its manifest is written.
        manifest: PathBuf,
    },
    /// Delete a NetworkPolicy (absent is fine).
    DeleteNetworkPolicy {
        /// Its name.
        name: String,
    },
    /// Create or update the Secret with the S3 credentials read by the Elasticsearch keystore
    /// init script.
    ApplyS3Secret,
    /// Merge-patch the `coredns` ConfigMap's Corefile: c8dr's block replaced by `block`
    /// (removed when `None`). The patch is also written to `manifest`.
    PatchCoreDns {
        /// The server block.
        block: Option<String>,
        /// Where the patch is written.
        manifest: PathBuf,
    },
    /// Server-side apply of the probe pod and Service (also written to `manifest`).
    ApplyProbe {
        /// Where the manifest is written.
        manifest: PathBuf,
    },
    /// Delete the probe pod and Service.
    DeleteProbe,
    /// Delete pods (they are recreated by their controllers): breaks established connections.
    RestartPods,
    /// Delete every PersistentVolumeClaim of the namespace.
    DeletePvcs,
    /// Wait until the namespace has no pods and no PersistentVolumeClaims left.
    WaitEmpty {
        /// Deadline.
        timeout: Duration,
    },
}

/// Checks that prove an action worked.
#[derive(Debug, Clone)]
pub enum Check {
    /// The region's probe pod runs and has an IP.
    ProbeReady {
        /// Region.
        region: RegionId,
        /// Deadline.
        timeout: Duration,
    },
    /// One connection attempt from `from`'s probe to `to`'s probe by its DNS name, read by
    /// [`crate::reach::classify_attempt`] (whether workloads in `from` reach `to` now).
    Reachable {
        /// Probing region.
        from: RegionId,
        /// Probed region.
        to: RegionId,
    },
    /// `from`'s probe reaches `to`'s probe by pod IP.
    PodIp {
        /// Probing region.
        from: RegionId,
        /// Probed region.
        to: RegionId,
    },
    /// `from`'s probe reaches `to`'s probe by its DNS name.
    Dns {
        /// Probing region.
        from: RegionId,
        /// Probed region.
        to: RegionId,
    },
    /// The surviving gateway's topology no longer lists any broker of the lost region.
    LossProved {
        /// Lost region.
        lost: RegionId,
        /// Surviving region whose gateway is asked.
        via: RegionId,
        /// Deadline.
        timeout: Duration,
    },
    /// The region's node mounts the shared snapshot directory at the snapshot mount (a reused
    /// cluster may have been created without it), and the directory exists on the host.
    SharedMount {
        /// Region.
        region: RegionId,
        /// The host directory.
        dir: PathBuf,
    },
    /// The gateway lists every broker of the cluster.
    Installed {
        /// Region whose gateway is asked.
        via: RegionId,
        /// Deadline.
        timeout: Duration,
    },
}

/// The snapshot store container.
#[derive(Debug, Clone)]
pub enum ContainerOp {
    /// Start MinIO on the `kind` network and create the bucket.
    StartMinio {
        /// Image.
        image: String,
        /// Bucket to create.
        bucket: String,
    },
    /// Stop and remove the MinIO container.
    StopMinio,
}

/// Name of the MinIO container.
pub const MINIO_CONTAINER: &str = "c8dr-minio";
/// MinIO's root user (its password is generated per run and never printed).
pub const MINIO_USER: &str = "c8dr";

fn kubectl(op: &KubeOp) -> String {
    format!("kubectl --context {} -n {}", op.context, op.namespace)
}

fn shown(path: &std::path::Path) -> String {
    path.display().to_string()
}

/// The `kubectl port-forward` equivalent of the backend's port-forward to a region's Service:
/// the same form `c8dr_core::render` prints for API actions (local port = remote port).
#[must_use]
pub fn port_forward_line(
    config: &KindConfig,
    region: RegionId,
    service: &str,
    port: u16,
) -> String {
    format!(
        "kubectl --context {} port-forward services/{service} {port}:{port} -n {}",
        config.context(region),
        config.namespace(region)
    )
}

/// The `curl` the loss and install checks run against a region's gateway, through a port-forward.
/// The chart's default login `demo:demo` is shown as `c8dr_core::render` shows it: it is the
/// chart's published default on a throwaway drill cluster, not a secret (the snapshot store's
/// credentials are, and are always redacted).
fn topology_lines(config: &KindConfig, via: RegionId) -> String {
    format!(
        "{} & curl -u demo:demo -L 'http://localhost:8080/v2/topology'",
        port_forward_line(config, via, &config.gateway_service(), 8080)
    )
}

/// What a release read (`Platform::release`, behind `webApps` expectations) asks the region's
/// API server, as `kubectl` lines: Helm's release records, the orchestration StatefulSet, the
/// unified ConfigMap, and the rollout of both StatefulSets (their pods by selector).
#[must_use]
pub fn release_read_lines(config: &KindConfig, region: RegionId) -> Vec<String> {
    let k = format!(
        "kubectl --context {} -n {}",
        config.context(region),
        config.namespace(region)
    );
    let zeebe = config.zeebe_name();
    let es = config.elasticsearch_statefulset();
    vec![
        format!(
            "{k} get secrets -l owner=helm,name={}  # Helm's release records: the highest deployed revision (none: no release, nothing more is read)",
            config.release
        ),
        format!("{k} get statefulset {zeebe}"),
        format!(
            "{k} get configmap {}  # spring.profiles.active (else SPRING_PROFILES_ACTIVE of the StatefulSet): are operate and tasklist on",
            config.unified_configmap()
        ),
        format!(
            "{k} get pods -l '<selector of statefulset {zeebe}>'  # rolled out: generation observed, every replica updated, every pod of the update revision running"
        ),
        format!("{k} get statefulset {es}"),
        format!("{k} get pods -l '<selector of statefulset {es}>'"),
    ]
}

/// The command a probe runs (inside its pod) to reach a URL.
#[must_use]
pub fn probe_command(url: &str) -> Vec<String> {
    ["wget", "-q", "-T", "3", "-O", "-", url]
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The URL a probe fetches from a peer's probe, by pod IP.
#[must_use]
pub fn probe_ip_url(ip: &str) -> String {
    format!("http://{ip}:{PROBE_PORT}/")
}

/// The URL a probe fetches from a peer's probe, by DNS name.
#[must_use]
pub fn probe_dns_url(config: &KindConfig, to: RegionId) -> String {
    format!(
        "http://{}:{PROBE_PORT}/",
        artifacts::probe_dns_name(config, to)
    )
}

/// A duration as `kubectl --timeout` takes it (`5s`, `300ms`).
#[must_use]
pub fn go_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// The command of a reachability attempt (inside `from`'s probe): `to`'s probe by its DNS name
/// (trailing dot, as the brokers' contact points), bounded by `timeout` as a whole, name
/// resolution included (wget's `-T` does not cover it).
#[must_use]
pub fn reach_command(config: &KindConfig, to: RegionId) -> Vec<String> {
    let seconds = config
        .timeouts
        .probe
        .as_secs()
        .saturating_add(u64::from(config.timeouts.probe.subsec_nanos() > 0))
        .max(1);
    let mut command = vec!["timeout".to_owned(), seconds.to_string()];
    command.extend(probe_command(&probe_dns_url(config, to)));
    command
}

/// The server-side apply of a region's probe pod and Service.
#[must_use]
pub fn apply_probe_op(config: &KindConfig, region: RegionId) -> Operation {
    Operation::Kube(KubeOp {
        context: config.context(region),
        namespace: config.namespace(region),
        action: KubeAction::ApplyProbe {
            manifest: config.run_path(format!("manifests/region{}-probe.yaml", region.0)),
        },
    })
}

/// The first line of [`Operation::EnsureProbe`]: looking the probe up.
#[must_use]
pub fn probe_lookup_line(config: &KindConfig, region: RegionId, peer: bool) -> String {
    let line = format!(
        "kubectl --context {} -n {} get pod {PROBE_NAME}",
        config.context(region),
        config.namespace(region)
    );
    if peer {
        format!(
            "{line}  # no answer within {} (paused node, deleted cluster): go on, the attempt below decides",
            go_duration(config.timeouts.probe)
        )
    } else {
        line
    }
}

impl Operation {
    /// The operation as lines an operator could run (kubectl for API calls, docker for the
    /// container), secrets redacted. Conditional and explanatory lines are comments.
    #[must_use]
    pub fn render(&self, config: &KindConfig, facts: &Facts) -> Vec<String> {
        match self {
            Operation::Command(invocation) => vec![invocation.to_string()],
            Operation::Note(note) => vec![format!("# {note}")],
            Operation::Discover { regions } => regions
                .iter()
                .map(|region| discover_line(config, *region))
                .collect(),
            Operation::Routes { region, peer } => route_invocations(config, *region, *peer, facts)
                .iter()
                .map(ToString::to_string)
                .collect(),
            Operation::WriteFile { path, what, .. } => {
                vec![format!("# write {} ({what})", path.display())]
            }
            Operation::PrepareSharedDirectory { path } => vec![format!(
                "mkdir -p {dir} && chmod 0777 {dir}  # before kind mounts it: a directory Docker creates is root's, and Elasticsearch (uid 1000) could not write to it",
                dir = path.display()
            )],
            Operation::IfLossNotProved(ops) => {
                let mut lines = vec![
                    "# only if the loss is not proved in time (established connections survived the NetworkPolicies):".to_owned(),
                ];
                lines.extend(
                    ops.iter()
                        .flat_map(|op| op.render(config, facts))
                        .map(|l| format!("#   {l}")),
                );
                lines
            }
            Operation::Container(ContainerOp::StartMinio { image, bucket }) => vec![
                format!(
                    "docker run -d --name {MINIO_CONTAINER} --network kind -e MINIO_ROOT_USER={MINIO_USER} -e MINIO_ROOT_PASSWORD={REDACTED} {image} server /data  # via testcontainers; ready at \"API:\""
                ),
                format!(
                    "docker exec {MINIO_CONTAINER} sh -c 'mc alias set c8dr http://127.0.0.1:9000 {MINIO_USER} \"$MINIO_ROOT_PASSWORD\" && mc mb --ignore-existing c8dr/{bucket}'"
                ),
            ],
            Operation::Container(ContainerOp::StopMinio) => {
                vec![format!(
                    "docker rm -f {MINIO_CONTAINER}  # via testcontainers"
                )]
            }
            Operation::EnsureProbe { region, peer } => {
                let wait = Operation::Check(Check::ProbeReady {
                    region: *region,
                    timeout: config.timeouts.probe,
                });
                let mut lines = vec![probe_lookup_line(config, *region, *peer)];
                lines.push(
                    "# only if it is missing (it stays until the backend's shutdown):".to_owned(),
                );
                lines.extend(
                    apply_probe_op(config, *region)
                        .render(config, facts)
                        .into_iter()
                        .map(|l| format!("#   {l}")),
                );
                lines.push("# only if it is missing or does not run yet:".to_owned());
                lines.extend(
                    wait.render(config, facts)
                        .into_iter()
                        .map(|l| format!("#   {l}")),
                );
                lines
            }
            Operation::Check(check) => vec![render_check(config, check)],
            Operation::Kube(op) => vec![render_kube(op)],
            Operation::ReadRelease { region } => release_read_lines(config, *region),
        }
    }
}

fn render_kube(op: &KubeOp) -> String {
    let k = kubectl(op);
    match &op.action {
        KubeAction::EnsureNamespace => format!(
            "kubectl --context {} create namespace {}  # unless it exists",
            op.context, op.namespace
        ),
        KubeAction::ApplyNetworkPolicy { manifest, .. }
        | KubeAction::ApplyFence { manifest, .. }
        | KubeAction::ApplyProbe { manifest } => {
            format!(
                "{k} apply --server-side --field-manager=c8dr --force-conflicts -f {}",
                shown(manifest)
            )
        }
        KubeAction::DeleteNetworkPolicy { name } => {
            format!("{k} delete networkpolicy {name} --ignore-not-found")
        }
        KubeAction::ApplyS3Secret => format!(
            "{k} create secret generic {S3_SECRET} --from-literal=S3_ACCESS_KEY={MINIO_USER} --from-literal=S3_SECRET_KEY={REDACTED}"
        ),
        KubeAction::PatchCoreDns { manifest, .. } => format!(
            "{k} patch configmap coredns --type merge --patch-file {}",
            shown(manifest)
        ),
        KubeAction::DeleteProbe => {
            format!("{k} delete pod,service {PROBE_NAME} --ignore-not-found --grace-period=0")
        }
        KubeAction::RestartPods => format!("{k} delete pod --all --wait=false"),
        KubeAction::DeletePvcs => format!("{k} delete pvc --all --wait=false"),
        KubeAction::WaitEmpty { timeout } => format!(
            "{k} wait --for=delete pod,pvc --all --timeout={}s",
            timeout.as_secs()
        ),
    }
}

fn render_check(config: &KindConfig, check: &Check) -> String {
    match check {
        Check::ProbeReady { region, timeout } => format!(
            "kubectl --context {} -n {} wait --for=condition=Ready pod/{PROBE_NAME} --timeout={}",
            config.context(*region),
            config.namespace(*region),
            go_duration(*timeout)
        ),
        Check::Reachable { from, to } => format!(
            "kubectl --context {} -n {} exec {PROBE_NAME} -- {}  # reachable iff it prints {}; timed out, refused or a name that does not resolve: not reachable",
            config.context(*from),
            config.namespace(*from),
            reach_command(config, *to).join(" "),
            artifacts::probe_answer(config, *to)
        ),
        Check::PodIp { from, to } => format!(
            "kubectl --context {} -n {} exec {PROBE_NAME} -- {}  # expect {}",
            config.context(*from),
            config.namespace(*from),
            probe_command(&probe_ip_url(&format!(
                "<pod IP of {PROBE_NAME} in {}>",
                config.context(*to)
            )))
            .join(" "),
            artifacts::probe_answer(config, *to)
        ),
        Check::Dns { from, to } => format!(
            "kubectl --context {} -n {} exec {PROBE_NAME} -- {}  # expect {}",
            config.context(*from),
            config.namespace(*from),
            probe_command(&probe_dns_url(config, *to)).join(" "),
            artifacts::probe_answer(config, *to)
        ),
        Check::LossProved { lost, via, timeout } => format!(
            "{}  # until no broker of {lost} is listed (≤ {}s)",
            topology_lines(config, *via),
            timeout.as_secs()
        ),
        Check::SharedMount { region, dir } => format!(
            "{}  # must list {}|{SHARED_SNAPSHOT_MOUNT}",
            commands::docker_mounts(&config.node_name(*region)),
            dir.display()
        ),
        Check::Installed { via, timeout } => format!(
            "{}  # until every broker is listed (≤ {}s)",
            topology_lines(config, *via),
            timeout.as_secs()
        ),
    }
}

/// Render a list of operations.
#[must_use]
pub fn render_all(config: &KindConfig, facts: &Facts, ops: &[Operation]) -> Vec<String> {
    ops.iter().flat_map(|op| op.render(config, facts)).collect()
}

/// The `kubectl` equivalent of learning a region's node addresses ([`Operation::Discover`]).
#[must_use]
pub fn discover_line(config: &KindConfig, region: RegionId) -> String {
    format!(
        "kubectl --context {} get nodes -o jsonpath='{{.items[*].status.addresses[?(@.type==\"InternalIP\")].address}}'  # no answer within {} (paused node): the addresses learned before are kept",
        config.context(region),
        go_duration(config.timeouts.kube_read)
    )
}

/// The two routes on `region`'s node towards `peer`.
#[must_use]
pub fn route_invocations(
    config: &KindConfig,
    region: RegionId,
    peer: RegionId,
    facts: &Facts,
) -> Vec<Invocation> {
    let node = config.node_name(region);
    let via = facts.node_ip(peer);
    config
        .network(peer)
        .map(|network| {
            vec![
                commands::docker_route(&node, &network.pod_subnet, &via),
                commands::docker_route(&node, &network.service_subnet, &via),
            ]
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Facts known only at run time

/// What the backend has learned about the clusters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// `InternalIP` of every node, indexed by region (a kind cluster has one node, whose address
    /// on the `kind` network this is). Placeholders (`<...>`) until learned.
    pub node_ips: Vec<Vec<String>>,
}

fn is_placeholder(value: &str) -> bool {
    value.starts_with('<')
}

impl Facts {
    /// Placeholders for `c8dr plan`.
    #[must_use]
    pub fn placeholders(config: &KindConfig) -> Self {
        Self {
            node_ips: config
                .region_ids()
                .map(|r| vec![format!("<ip of {}>", config.node_name(r))])
                .collect(),
        }
    }

    /// The node IP of a region (the first node's; a kind cluster has one), or its placeholder.
    #[must_use]
    pub fn node_ip(&self, region: RegionId) -> String {
        self.node_ips
            .get(region.index())
            .and_then(|ips| ips.first())
            .cloned()
            .unwrap_or_else(|| format!("<ip of region{}>", region.0))
    }

    /// Every node address of a region, when all are known (learned, not placeholders).
    #[must_use]
    pub fn node_addresses(&self, region: RegionId) -> Option<&[String]> {
        self.node_ips
            .get(region.index())
            .filter(|ips| !ips.is_empty() && !ips.iter().any(|ip| is_placeholder(ip)))
            .map(Vec::as_slice)
    }

    /// Record the addresses learned for a region.
    pub fn learn(&mut self, region: RegionId, ips: Vec<String>) {
        if self.node_ips.len() <= region.index() {
            self.node_ips.resize(region.index() + 1, Vec::new());
        }
        self.node_ips[region.index()] = ips;
    }

    /// Every node address of a region, or the error that forbids using a placeholder.
    ///
    /// # Errors
    /// [`crate::error::KindError::NodeAddressUnknown`].
    pub fn require_node_addresses(
        &self,
        config: &KindConfig,
        region: RegionId,
        purpose: &'static str,
    ) -> Result<&[String], crate::error::KindError> {
        self.node_addresses(region)
            .ok_or_else(|| crate::error::KindError::NodeAddressUnknown {
                region,
                context: config.context(region),
                purpose,
            })
    }
}

/// Something a loss applied, so that healing removes exactly that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppliedFault {
    /// A NetworkPolicy.
    Policy {
        /// Kube context.
        context: String,
        /// Namespace.
        namespace: String,
        /// Policy name.
        name: String,
    },
    /// A paused node.
    PausedNode {
        /// Node container.
        node: String,
    },
    /// A deleted cluster.
    DeletedCluster {
        /// Cluster name.
        cluster: String,
    },
}

/// The faults a list of operations applies, in order.
#[must_use]
pub fn faults_applied_by(ops: &[Operation]) -> Vec<AppliedFault> {
    let mut faults = Vec::new();
    for op in ops {
        match op {
            Operation::Kube(KubeOp {
                context,
                namespace,
                action: KubeAction::ApplyNetworkPolicy { policy, .. },
            }) => faults.push(AppliedFault::Policy {
                context: context.clone(),
                namespace: namespace.clone(),
                name: policy.metadata.name.clone().unwrap_or_default(),
            }),
            Operation::Kube(KubeOp {
                context,
                namespace,
                action: KubeAction::ApplyFence { lost, .. },
            }) => faults.push(AppliedFault::Policy {
                context: context.clone(),
                namespace: namespace.clone(),
                name: fence_policy_name(*lost),
            }),
            Operation::Command(invocation)
                if invocation.program == "docker" && invocation.verb() == "pause" =>
            {
                faults.push(AppliedFault::PausedNode {
                    node: invocation
                        .args
                        .get(1)
                        .map(|a| a.value().to_owned())
                        .unwrap_or_default(),
                });
            }
            Operation::Command(invocation)
                if invocation.program == "kind" && invocation.verb() == "delete" =>
            {
                faults.push(AppliedFault::DeletedCluster {
                    cluster: invocation
                        .args
                        .get(3)
                        .map(|a| a.value().to_owned())
                        .unwrap_or_default(),
                });
            }
            _ => {}
        }
    }
    faults
}

// ---------------------------------------------------------------------------------------------
// Builders

/// The line saying what is about to be hit, printed before any fault is applied.
#[must_use]
pub fn target_line(config: &KindConfig, region: RegionId, realisation: LossRealisation) -> String {
    if config.context_overridden(region) {
        // Not one of c8dr's kind clusters: name only what the kube calls reach.
        return format!(
            "target: {region} = context {} (--context), namespace {}; loss realised as {realisation}",
            config.context(region),
            config.namespace(region)
        );
    }
    format!(
        "target: {region} = cluster {} (context {}, node {}), namespace {}; loss realised as {realisation}",
        config.cluster_name(region),
        config.context(region),
        config.node_name(region),
        config.namespace(region)
    )
}

fn policy_manifest(config: &KindConfig, region: RegionId, name: &str) -> PathBuf {
    config.run_path(format!("manifests/region{}-{name}.yaml", region.0))
}

/// The fence policy against `lost`, applied in the other region's namespace.
#[must_use]
pub fn fence_op(config: &KindConfig, lost: RegionId) -> Operation {
    let surviving = config.peer_of(lost);
    Operation::Kube(KubeOp {
        context: config.context(surviving),
        namespace: config.namespace(surviving),
        action: KubeAction::ApplyFence {
            lost,
            manifest: policy_manifest(config, surviving, &fence_policy_name(lost)),
        },
    })
}

/// The fence policy against `lost` for the facts known now.
///
/// # Errors
/// Missing network configuration.
pub fn fence_policy_for(
    config: &KindConfig,
    lost: RegionId,
    facts: &Facts,
) -> Result<NetworkPolicy, crate::error::KindError> {
    let surviving = config.peer_of(lost);
    let network = config.network(lost)?;
    let addresses = LostAddresses {
        node_ips: facts
            .require_node_addresses(config, lost, "the fence NetworkPolicy's ipBlock")?
            .to_vec(),
        pod_subnet: network.pod_subnet.clone(),
        service_subnet: network.service_subnet.clone(),
    };
    Ok(fence_policy(&config.namespace(surviving), lost, &addresses))
}

/// Lose a region: learn the node addresses, print the target, apply the fault, prove the loss
/// (and break surviving established connections when the policies alone do not).
#[must_use]
pub fn lose_ops(
    config: &KindConfig,
    lost: RegionId,
    realisation: LossRealisation,
) -> Vec<Operation> {
    let surviving = config.peer_of(lost);
    let proof = Operation::Check(Check::LossProved {
        lost,
        via: surviving,
        timeout: config.timeouts.loss_proof,
    });
    let mut ops = vec![
        Operation::Note(target_line(config, lost, realisation)),
        Operation::Discover {
            regions: vec![lost],
        },
    ];
    match realisation {
        LossRealisation::NetworkPolicy => {
            ops.push(Operation::Kube(KubeOp {
                context: config.context(lost),
                namespace: config.namespace(lost),
                action: KubeAction::ApplyNetworkPolicy {
                    policy: Box::new(deny_all_policy(&config.namespace(lost))),
                    manifest: policy_manifest(config, lost, artifacts::DENY_ALL_POLICY),
                },
            }));
            ops.push(fence_op(config, lost));
            ops.push(proof.clone());
            ops.push(Operation::IfLossNotProved(vec![
                Operation::Kube(KubeOp {
                    context: config.context(lost),
                    namespace: config.namespace(lost),
                    action: KubeAction::RestartPods,
                }),
                proof,
            ]));
        }
        LossRealisation::NodePause => {
            ops.push(Operation::Command(commands::docker_pause(
                &config.node_name(lost),
            )));
            ops.push(proof);
        }
        LossRealisation::ClusterDelete => {
            ops.push(Operation::Command(commands::kind_delete(config, lost)));
            ops.push(proof);
        }
    }
    ops
}

fn undo_faults(faults: &[AppliedFault]) -> Vec<Operation> {
    faults
        .iter()
        .rev()
        .filter_map(|fault| match fault {
            AppliedFault::Policy {
                context,
                namespace,
                name,
            } => Some(Operation::Kube(KubeOp {
                context: context.clone(),
                namespace: namespace.clone(),
                action: KubeAction::DeleteNetworkPolicy { name: name.clone() },
            })),
            AppliedFault::PausedNode { node } => {
                Some(Operation::Command(commands::docker_unpause(node)))
            }
            AppliedFault::DeletedCluster { .. } => None,
        })
        .collect()
}

/// Heal a region: remove exactly the faults its loss applied, newest first.
///
/// # Errors
/// [`crate::error::KindError::NotSupported`] after a cluster-delete loss.
pub fn heal_ops(
    region: RegionId,
    faults: &[AppliedFault],
) -> Result<Vec<Operation>, crate::error::KindError> {
    if faults
        .iter()
        .any(|f| matches!(f, AppliedFault::DeletedCluster { .. }))
    {
        return Err(crate::error::KindError::NotSupported {
            operation: "healRegion",
            region,
            realisation: LossRealisation::ClusterDelete,
            hint: "the cluster and its data are gone; use recreateRegion, or --loss-mode network-policy|node-pause",
        });
    }
    let mut ops = vec![Operation::Note(format!(
        "heal {region}: remove exactly what its loss applied, newest first"
    ))];
    ops.extend(undo_faults(faults));
    Ok(ops)
}

/// Write the kind configs of `regions` and create their clusters.
///
/// # Errors
/// Missing network configuration.
pub fn create_ops(
    config: &KindConfig,
    regions: &[RegionId],
) -> Result<Vec<Operation>, crate::error::KindError> {
    let mut ops = Vec::new();
    for &region in regions {
        ops.push(Operation::WriteFile {
            path: commands::kind_config_path(config, region),
            what: format!("kind config of {}", config.cluster_name(region)),
            content: artifacts::kind_config(config, region)?,
        });
    }
    if let (SnapshotStore::SharedDirectory(dir), false) =
        (&config.snapshot_store, regions.is_empty())
    {
        ops.push(Operation::PrepareSharedDirectory { path: dir.clone() });
    }
    for &region in regions {
        ops.push(Operation::Command(commands::kind_create(config, region)));
    }
    Ok(ops)
}

/// With the shared-directory store: check that the nodes of `regions` mount it.
#[must_use]
pub fn mount_check_ops(config: &KindConfig, regions: &[RegionId]) -> Vec<Operation> {
    match &config.snapshot_store {
        SnapshotStore::SharedDirectory(dir) => regions
            .iter()
            .map(|&region| {
                Operation::Check(Check::SharedMount {
                    region,
                    dir: dir.clone(),
                })
            })
            .collect(),
        SnapshotStore::Minio => Vec::new(),
    }
}

/// Connect the clusters: node discovery, routes both ways, CoreDNS forward blocks both ways,
/// and the namespaces of `regions`.
///
/// # Errors
/// Missing network configuration.
pub fn connect_ops(
    config: &KindConfig,
    regions: &[RegionId],
) -> Result<Vec<Operation>, crate::error::KindError> {
    let mut ops = vec![Operation::Discover {
        regions: config.region_ids().collect(),
    }];
    for region in config.region_ids() {
        ops.push(Operation::Routes {
            region,
            peer: config.peer_of(region),
        });
    }
    for region in config.region_ids() {
        let peer = config.peer_of(region);
        let block = artifacts::coredns_block(config, peer, &config.network(peer)?.dns_ip());
        ops.push(Operation::Kube(KubeOp {
            context: config.context(region),
            namespace: "kube-system".to_owned(),
            action: KubeAction::PatchCoreDns {
                block: Some(block),
                manifest: config
                    .run_path(format!("manifests/region{}-coredns-patch.yaml", region.0)),
            },
        }));
    }
    for &region in regions {
        ops.push(Operation::Kube(KubeOp {
            context: config.context(region),
            namespace: config.namespace(region),
            action: KubeAction::EnsureNamespace,
        }));
    }
    Ok(ops)
}

/// The reachability proof: a probe pod in each region, pod IP and DNS both ways, then cleanup.
#[must_use]
pub fn probe_ops(config: &KindConfig) -> Vec<Operation> {
    let mut ops: Vec<Operation> = config
        .region_ids()
        .map(|region| apply_probe_op(config, region))
        .collect();
    for region in config.region_ids() {
        ops.push(Operation::Check(Check::ProbeReady {
            region,
            timeout: config.timeouts.reachability,
        }));
    }
    for from in config.region_ids() {
        let to = config.peer_of(from);
        ops.push(Operation::Check(Check::PodIp { from, to }));
        ops.push(Operation::Check(Check::Dns { from, to }));
    }
    for region in config.region_ids() {
        ops.push(Operation::Kube(KubeOp {
            context: config.context(region),
            namespace: config.namespace(region),
            action: KubeAction::DeleteProbe,
        }));
    }
    ops
}

/// One reachability observation (`Platform::reachable`): the probe of `to` (looked up, created
/// when missing; its cluster not answering is no error), the probe of `from` likewise, then one
/// connection attempt from `from`'s probe to `to`'s by DNS name. Subject to the same
/// NetworkPolicies as the Camunda pods of its namespace (the deny-all and the fence select every
/// pod), the probe experiences what they do.
#[must_use]
pub fn reachability_ops(from: RegionId, to: RegionId) -> Vec<Operation> {
    vec![
        Operation::EnsureProbe {
            region: to,
            peer: true,
        },
        Operation::EnsureProbe {
            region: from,
            peer: false,
        },
        Operation::Check(Check::Reachable { from, to }),
    ]
}

/// What the backend's shutdown removes: the probes of `regions` (those it created or used).
#[must_use]
pub fn shutdown_ops(config: &KindConfig, regions: &[RegionId]) -> Vec<Operation> {
    regions
        .iter()
        .map(|&region| {
            Operation::Kube(KubeOp {
                context: config.context(region),
                namespace: config.namespace(region),
                action: KubeAction::DeleteProbe,
            })
        })
        .collect()
}

/// `c8dr clusters up` for the regions whose clusters are missing: create them (concurrently at
/// run time), connect both, prove reachability.
///
/// # Errors
/// Missing network configuration.
pub fn clusters_up_ops(
    config: &KindConfig,
    missing: &[RegionId],
) -> Result<Vec<Operation>, crate::error::KindError> {
    let regions: Vec<RegionId> = config.region_ids().collect();
    let mut ops = vec![Operation::Command(commands::kind_get_clusters())];
    ops.extend(create_ops(config, missing)?);
    ops.extend(mount_check_ops(config, &regions));
    ops.extend(connect_ops(config, &regions)?);
    ops.extend(probe_ops(config));
    Ok(ops)
}

/// Image preloading into regions' nodes (docker pull once, kind load per cluster).
#[must_use]
pub fn preload_ops(config: &KindConfig, regions: &[RegionId]) -> Vec<Operation> {
    let mut ops = Vec::new();
    for image in &config.preload_images {
        ops.push(Operation::Command(commands::docker_pull(image)));
        for &region in regions {
            ops.push(Operation::Command(commands::kind_load(
                config, region, image,
            )));
        }
    }
    ops
}

fn secret_op(config: &KindConfig, region: RegionId) -> Option<Operation> {
    matches!(config.snapshot_store, SnapshotStore::Minio).then(|| {
        Operation::Kube(KubeOp {
            context: config.context(region),
            namespace: config.namespace(region),
            action: KubeAction::ApplyS3Secret,
        })
    })
}

/// The snapshot store: MinIO started, or the shared directory checked (the clusters, maybe
/// reused ones, must mount it).
#[must_use]
pub fn store_ops(config: &KindConfig, shape: &DrillShape) -> Vec<Operation> {
    match config.snapshot_store {
        SnapshotStore::Minio => vec![Operation::Container(ContainerOp::StartMinio {
            image: config.minio_image.clone(),
            bucket: shape
                .bucket()
                .unwrap_or_else(|| "c8dr-elastic-backup".to_owned()),
        })],
        SnapshotStore::SharedDirectory(_) => {
            mount_check_ops(config, &config.region_ids().collect::<Vec<_>>())
        }
    }
}

/// The values files: the base (unless the user named one) and each region's generated file.
///
/// # Errors
/// The base values cannot be parsed.
pub fn values_ops(
    config: &KindConfig,
    shape: &DrillShape,
    base_values: &str,
    snapshot: &SnapshotEndpoint,
) -> Result<Vec<Operation>, crate::error::KindError> {
    let mut ops = Vec::new();
    if config.base_values.is_none() {
        ops.push(Operation::WriteFile {
            path: commands::base_values_path(config),
            what: "built-in base values for chart 13.x".to_owned(),
            content: base_values.to_owned(),
        });
    }
    for region in config.region_ids() {
        let values = artifacts::region_values(config, shape, region, base_values, snapshot)?;
        ops.push(Operation::WriteFile {
            path: commands::region_values_path(config, region),
            what: format!("values of {region}"),
            content: artifacts::values_yaml(
                &format!("{region} values for chart {}", config.chart_version),
                &values,
            )?,
        });
    }
    Ok(ops)
}

/// Installing: images, secrets, chart repository, both installs concurrently, and the wait until
/// the gateway lists every broker. Runs after [`store_ops`] and [`values_ops`].
#[must_use]
pub fn install_ops(config: &KindConfig) -> Vec<Operation> {
    let regions: Vec<RegionId> = config.region_ids().collect();
    let mut ops = preload_ops(config, &regions);
    for &region in &regions {
        ops.extend(secret_op(config, region));
    }
    ops.push(Operation::Command(commands::helm_repo_add(config)));
    ops.push(Operation::Command(commands::helm_repo_update(config)));
    ops.push(Operation::Note(
        "both regions are installed without --wait, one helm call returning right after the \
         other, so their pods start together: brokers only become ready once both regions run"
            .to_owned(),
    ));
    for &region in &regions {
        ops.push(Operation::Command(commands::helm_upgrade_install(
            config,
            region,
            &ReleaseOverrides::default(),
        )));
    }
    ops.push(Operation::Check(Check::Installed {
        via: RegionId(0),
        timeout: config.timeouts.install,
    }));
    ops
}

/// Recreate a region empty: make it reachable without letting its old brokers rejoin, uninstall
/// the release, delete its volumes, wait until nothing is left, then remove every fault. After a
/// cluster-delete loss the cluster itself is recreated and reconnected.
///
/// # Errors
/// Missing network configuration.
pub fn recreate_ops(
    config: &KindConfig,
    region: RegionId,
    faults: &[AppliedFault],
) -> Result<Vec<Operation>, crate::error::KindError> {
    let mut ops = vec![Operation::Note(format!(
        "recreate {region} empty: cluster {}, namespace {}",
        config.cluster_name(region),
        config.namespace(region)
    ))];
    if faults
        .iter()
        .any(|f| matches!(f, AppliedFault::DeletedCluster { .. }))
    {
        ops.extend(create_ops(config, &[region])?);
        ops.extend(mount_check_ops(config, &[region]));
        ops.extend(connect_ops(config, &[region])?);
        ops.extend(preload_ops(config, &[region]));
        ops.extend(secret_op(config, region));
        ops.extend(probe_ops(config));
        return Ok(ops);
    }
    let paused = faults
        .iter()
        .any(|f| matches!(f, AppliedFault::PausedNode { .. }));
    let mut extra_faults = Vec::new();
    if paused {
        // The paused brokers would rejoin with their old state the moment they thaw: fence them
        // off from the surviving region first.
        let fence = fence_op(config, region);
        extra_faults.extend(faults_applied_by(std::slice::from_ref(&fence)));
        ops.push(Operation::Discover {
            regions: vec![region],
        });
        ops.push(fence);
        ops.push(Operation::Command(commands::docker_unpause(
            &config.node_name(region),
        )));
    }
    ops.push(Operation::Command(commands::helm_uninstall(config, region)));
    let in_region = |action| {
        Operation::Kube(KubeOp {
            context: config.context(region),
            namespace: config.namespace(region),
            action,
        })
    };
    // A reachability probe there would keep the namespace from ever being empty.
    ops.push(in_region(KubeAction::DeleteProbe));
    ops.push(in_region(KubeAction::DeletePvcs));
    ops.push(in_region(KubeAction::WaitEmpty {
        timeout: config.timeouts.recreate,
    }));
    let remaining: Vec<AppliedFault> = faults
        .iter()
        .filter(|f| !matches!(f, AppliedFault::PausedNode { .. }))
        .cloned()
        .chain(extra_faults)
        .collect();
    ops.extend(undo_faults(&remaining));
    Ok(ops)
}

/// Deploy a region's release with a step's overrides.
///
/// # Errors
/// The base values cannot be parsed.
pub fn deploy_ops(
    config: &KindConfig,
    shape: &DrillShape,
    base_values: &str,
    region: RegionId,
    overrides: &ReleaseOverrides,
) -> Result<Vec<Operation>, crate::error::KindError> {
    let mut ops = Vec::new();
    if !overrides.env.is_empty() {
        let mut what = "orchestration.env of the region plus".to_owned();
        for (key, value) in &overrides.env {
            let _ = write!(what, " {key}={value}");
        }
        let values = artifacts::env_overrides(config, shape, base_values, &overrides.env)?;
        ops.push(Operation::WriteFile {
            path: commands::env_overrides_path(config, region),
            what,
            content: artifacts::values_yaml(
                &format!("{region} deploy-step env overrides"),
                &values,
            )?,
        });
    }
    ops.push(Operation::Command(commands::helm_upgrade_install(
        config, region, overrides,
    )));
    Ok(ops)
}

/// `c8dr clusters down`: remove the snapshot store container and delete both clusters.
#[must_use]
pub fn clusters_down_ops(config: &KindConfig) -> Vec<Operation> {
    let mut ops = Vec::new();
    if let SnapshotStore::Minio = config.snapshot_store {
        ops.push(Operation::Container(ContainerOp::StopMinio));
    }
    ops.extend(
        config
            .region_ids()
            .map(|r| Operation::Command(commands::kind_delete(config, r))),
    );
    ops
}
