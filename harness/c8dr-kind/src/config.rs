//! What the kind backend creates and where: cluster and context names, namespaces, subnets, the
//! chart, loss realisation, snapshot store, timeouts and the context guard.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use c8dr_core::region::{LossMode, RegionId};

use crate::error::KindError;

/// The kind node image c8dr pins: the default of kind v0.32.0 (its release notes name this
/// digest). Node images from v0.32.0 on need kind ≥ 0.32 for `kind load`.
pub const DEFAULT_NODE_IMAGE: &str =
    "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5";
/// The Camunda chart version c8dr pins (chart 13.x = Camunda 8.8).
pub const DEFAULT_CHART_VERSION: &str = "13.12.7";
/// The Helm repository of the Camunda chart.
pub const DEFAULT_CHART_REPO_URL: &str = "https://helm.camunda.io";
/// The MinIO image started as the shared S3 bucket (pinned, never `latest`).
pub const DEFAULT_MINIO_IMAGE: &str = "minio/minio:RELEASE.2025-02-28T09-55-16Z";
/// The image of the reachability probe pods.
pub const DEFAULT_PROBE_IMAGE: &str = "busybox:1.37.0";
/// Where the shared snapshot directory is mounted inside nodes and Elasticsearch pods.
pub const SHARED_SNAPSHOT_MOUNT: &str = "/c8dr-snapshots";

/// How a scenario's region loss is realised on kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LossRealisation {
    /// Deny-all NetworkPolicies in the lost namespace plus policies in the surviving namespace
    /// that block the lost region's node and pod addresses. The lost region keeps running.
    NetworkPolicy,
    /// `docker pause` of the lost cluster's nodes: everything there freezes, its API server too.
    NodePause,
    /// `kind delete cluster`: the region is gone with its data; it can only be recreated.
    ClusterDelete,
}

impl LossRealisation {
    /// The `--loss-mode` spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            LossRealisation::NetworkPolicy => "network-policy",
            LossRealisation::NodePause => "node-pause",
            LossRealisation::ClusterDelete => "cluster-delete",
        }
    }

    /// The default realisation of a scenario loss mode: `cutOff` → NetworkPolicy, `down` →
    /// NodePause.
    #[must_use]
    pub fn for_mode(mode: LossMode) -> Self {
        match mode {
            LossMode::CutOff => LossRealisation::NetworkPolicy,
            LossMode::Down => LossRealisation::NodePause,
        }
    }
}

impl std::fmt::Display for LossRealisation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for LossRealisation {
    type Err = KindError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "network-policy" => Ok(LossRealisation::NetworkPolicy),
            "node-pause" => Ok(LossRealisation::NodePause),
            "cluster-delete" => Ok(LossRealisation::ClusterDelete),
            other => Err(KindError::InvalidConfig {
                message: format!(
                    "unknown loss mode {other:?}: expected network-policy, node-pause or cluster-delete"
                ),
            }),
        }
    }
}

/// Where Elasticsearch snapshots go so that both regions see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotStore {
    /// A MinIO container on the kind Docker network, started with testcontainers, as the S3
    /// bucket (path-style access, credentials in the Elasticsearch keystore).
    Minio,
    /// A host directory mounted into every node of both clusters and into the Elasticsearch
    /// pods, registered as an `fs` repository.
    SharedDirectory(PathBuf),
}

/// Deadlines of the backend's own waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// `kind create cluster --wait`.
    pub cluster_create: Duration,
    /// Until both regions pass the pod-IP and DNS probe after `clusters up`.
    pub reachability: Duration,
    /// Until the first installs show every broker in the topology.
    pub install: Duration,
    /// Until the surviving gateway's topology drops the lost brokers (loss proof).
    pub loss_proof: Duration,
    /// Until uninstalled pods and deleted volumes are gone.
    pub recreate: Duration,
    /// Any single helm, kind or docker call.
    pub command: Duration,
    /// Setting up one port-forward stream.
    pub port_forward: Duration,
    /// One reachability observation (`Platform::reachable`): each Kubernetes call it makes and
    /// the wait for a probe pod it had to create, and (rounded up to whole seconds) the
    /// connection attempt inside the probe (`timeout <s> wget ...`).
    pub probe: Duration,
    /// A read-only Kubernetes call whose API server may not answer at all (a paused node's
    /// accepts the connection and never answers): node addresses, diagnostics.
    pub kube_read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            cluster_create: Duration::from_secs(300),
            reachability: Duration::from_secs(180),
            install: Duration::from_secs(900),
            loss_proof: Duration::from_secs(60),
            recreate: Duration::from_secs(300),
            command: Duration::from_secs(600),
            port_forward: Duration::from_secs(10),
            probe: Duration::from_secs(5),
            kube_read: Duration::from_secs(10),
        }
    }
}

/// The network shape of one region's cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionNetwork {
    /// Pod subnet, for example `10.244.0.0/16`.
    pub pod_subnet: String,
    /// Service subnet, for example `10.96.0.0/16`.
    pub service_subnet: String,
}

impl RegionNetwork {
    /// The kube-dns ClusterIP kubeadm assigns: the tenth address of the service subnet.
    #[must_use]
    pub fn dns_ip(&self) -> String {
        let base = self
            .service_subnet
            .split('/')
            .next()
            .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
            .map_or(0, u32::from);
        Ipv4Addr::from(base.wrapping_add(10)).to_string()
    }
}

/// Everything the kind backend needs to know. `Default` is a working configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct KindConfig {
    /// Cluster name prefix; clusters are `{prefix}-region{r}`. Must start with `c8dr`.
    pub cluster_prefix: String,
    /// Number of regions (2).
    pub regions: u8,
    /// Namespace prefix; namespaces are `{prefix}-region{r}`.
    pub namespace_prefix: String,
    /// Helm release name.
    pub release: String,
    /// Chart reference, `camunda/camunda-platform`.
    pub chart: String,
    /// Helm repository name (the part of `chart` before the slash).
    pub chart_repo_name: String,
    /// Helm repository URL.
    pub chart_repo_url: String,
    /// Chart version (13.x for Camunda 8.8).
    pub chart_version: String,
    /// kind node image.
    pub node_image: String,
    /// Where generated values, manifests and kind configs are written.
    pub run_dir: PathBuf,
    /// Base values file; `None` uses the built-in fixture for chart 13.x (written into the run
    /// directory). The file is read, never written.
    pub base_values: Option<PathBuf>,
    /// Kubeconfig passed to kind, helm and kube-rs; `None` uses the default loading rules.
    pub kubeconfig: Option<PathBuf>,
    /// Subnets per region, indexed by region id.
    pub networks: Vec<RegionNetwork>,
    /// Overrides the scenario's loss mode for every loss (`--loss-mode`).
    pub loss_override: Option<LossRealisation>,
    /// Snapshot store.
    pub snapshot_store: SnapshotStore,
    /// MinIO image.
    pub minio_image: String,
    /// Probe image.
    pub probe_image: String,
    /// Preload these images into every node before installing (`kind load docker-image`).
    pub preload_images: Vec<String>,
    /// Contexts other than `kind-c8dr-*` that c8dr may touch (`--allow-context`).
    pub allowed_contexts: Vec<String>,
    /// Context overrides per region (`--context`), indexed by region id.
    pub context_overrides: Vec<Option<String>>,
    /// Deadlines.
    pub timeouts: Timeouts,
}

impl Default for KindConfig {
    fn default() -> Self {
        Self {
            cluster_prefix: "c8dr".to_owned(),
            regions: 2,
            namespace_prefix: "camunda".to_owned(),
            release: "camunda".to_owned(),
            chart: "camunda/camunda-platform".to_owned(),
            chart_repo_name: "camunda".to_owned(),
            chart_repo_url: DEFAULT_CHART_REPO_URL.to_owned(),
            chart_version: DEFAULT_CHART_VERSION.to_owned(),
            node_image: DEFAULT_NODE_IMAGE.to_owned(),
            run_dir: PathBuf::from("c8dr-run/kind"),
            base_values: None,
            kubeconfig: None,
            networks: vec![
                RegionNetwork {
                    pod_subnet: "10.244.0.0/16".to_owned(),
                    service_subnet: "10.96.0.0/16".to_owned(),
                },
                RegionNetwork {
                    pod_subnet: "10.245.0.0/16".to_owned(),
                    service_subnet: "10.97.0.0/16".to_owned(),
                },
            ],
            loss_override: None,
            snapshot_store: SnapshotStore::Minio,
            minio_image: DEFAULT_MINIO_IMAGE.to_owned(),
            probe_image: DEFAULT_PROBE_IMAGE.to_owned(),
            preload_images: Vec::new(),
            allowed_contexts: Vec::new(),
            context_overrides: Vec::new(),
            timeouts: Timeouts::default(),
        }
    }
}

impl KindConfig {
    /// Cluster name prefix.
    #[must_use]
    pub fn with_cluster_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.cluster_prefix = prefix.into();
        self
    }

    /// Chart version (`--chart-version`).
    #[must_use]
    pub fn with_chart_version(mut self, version: impl Into<String>) -> Self {
        self.chart_version = version.into();
        self
    }

    /// Node image.
    #[must_use]
    pub fn with_node_image(mut self, image: impl Into<String>) -> Self {
        self.node_image = image.into();
        self
    }

    /// Run directory.
    #[must_use]
    pub fn with_run_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.run_dir = dir.into();
        self
    }

    /// Base values file (read, never written).
    #[must_use]
    pub fn with_base_values(mut self, path: impl Into<PathBuf>) -> Self {
        self.base_values = Some(path.into());
        self
    }

    /// Kubeconfig file.
    #[must_use]
    pub fn with_kubeconfig(mut self, path: impl Into<PathBuf>) -> Self {
        self.kubeconfig = Some(path.into());
        self
    }

    /// Realise every loss this way (`--loss-mode`).
    #[must_use]
    pub fn with_loss_mode(mut self, realisation: LossRealisation) -> Self {
        self.loss_override = Some(realisation);
        self
    }

    /// Snapshot store.
    #[must_use]
    pub fn with_snapshot_store(mut self, store: SnapshotStore) -> Self {
        self.snapshot_store = store;
        self
    }

    /// Preload these images into the nodes.
    #[must_use]
    pub fn with_preload_images(mut self, images: Vec<String>) -> Self {
        self.preload_images = images;
        self
    }

    /// Allow c8dr to touch this context (`--allow-context`).
    #[must_use]
    pub fn with_allowed_context(mut self, context: impl Into<String>) -> Self {
        self.allowed_contexts.push(context.into());
        self
    }

    /// Use this context for a region instead of `kind-c8dr-region{r}` (`--context`); it must
    /// also be allowed with [`KindConfig::with_allowed_context`] unless it is a `kind-c8dr-*` one.
    #[must_use]
    pub fn with_context(mut self, region: RegionId, context: impl Into<String>) -> Self {
        if self.context_overrides.len() <= region.index() {
            self.context_overrides.resize(region.index() + 1, None);
        }
        self.context_overrides[region.index()] = Some(context.into());
        self
    }

    /// Deadlines.
    #[must_use]
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Every region id.
    pub fn region_ids(&self) -> impl Iterator<Item = RegionId> + use<> {
        (0..self.regions).map(RegionId)
    }

    /// The other region of a dual-region setup.
    #[must_use]
    pub fn peer_of(&self, region: RegionId) -> RegionId {
        RegionId(if region.0 == 0 { 1 } else { 0 })
    }

    /// kind cluster name of a region.
    #[must_use]
    pub fn cluster_name(&self, region: RegionId) -> String {
        format!("{}-region{}", self.cluster_prefix, region.0)
    }

    /// The single node (control plane) container of a region's cluster.
    #[must_use]
    pub fn node_name(&self, region: RegionId) -> String {
        format!("{}-control-plane", self.cluster_name(region))
    }

    /// Kube context of a region.
    #[must_use]
    pub fn context(&self, region: RegionId) -> String {
        self.context_overrides
            .get(region.index())
            .and_then(Clone::clone)
            .unwrap_or_else(|| format!("kind-{}", self.cluster_name(region)))
    }

    /// Whether `--context` points a region at another context than the one of c8dr's own kind
    /// cluster (`kind-<cluster>`).
    #[must_use]
    pub fn context_overridden(&self, region: RegionId) -> bool {
        self.context(region) != format!("kind-{}", self.cluster_name(region))
    }

    /// Refuse an operation that acts on c8dr's kind clusters or their node containers (kind,
    /// `docker pause`, `docker exec`) when `--context` points a region elsewhere: the kube calls
    /// would go to the overridden context while the operation hits `c8dr-region*`.
    ///
    /// # Errors
    /// [`KindError::InvalidConfig`] naming the flag and the regions.
    pub fn refuse_with_overridden_context(
        &self,
        operation: &str,
        regions: &[RegionId],
        hint: &str,
    ) -> Result<(), KindError> {
        let overridden: Vec<String> = regions
            .iter()
            .filter(|r| self.context_overridden(**r))
            .map(|r| {
                format!(
                    "--context {}={} (kind would act on {})",
                    r.0,
                    self.context(*r),
                    self.cluster_name(*r)
                )
            })
            .collect();
        if overridden.is_empty() {
            return Ok(());
        }
        Err(KindError::InvalidConfig {
            message: format!(
                "{operation} acts on c8dr's own kind clusters and node containers, not on kube contexts, so it is refused with {}: {hint}",
                overridden.join(", ")
            ),
        })
    }

    /// Namespace of a region's release.
    #[must_use]
    pub fn namespace(&self, region: RegionId) -> String {
        format!("{}-region{}", self.namespace_prefix, region.0)
    }

    /// Subnets of a region.
    ///
    /// # Errors
    /// When the configuration has no network for the region.
    pub fn network(&self, region: RegionId) -> Result<&RegionNetwork, KindError> {
        self.networks
            .get(region.index())
            .ok_or_else(|| KindError::InvalidConfig {
                message: format!("no pod/service subnets configured for {region}"),
            })
    }

    /// How a scenario loss mode is realised, after `--loss-mode`.
    #[must_use]
    pub fn realisation(&self, mode: LossMode) -> LossRealisation {
        self.loss_override
            .unwrap_or_else(|| LossRealisation::for_mode(mode))
    }

    /// The orchestration StatefulSet (and headless service) name.
    #[must_use]
    pub fn zeebe_name(&self) -> String {
        format!("{}-zeebe", self.release)
    }

    /// The gateway Service.
    #[must_use]
    pub fn gateway_service(&self) -> String {
        format!("{}-zeebe-gateway", self.release)
    }

    /// The Elasticsearch Service.
    #[must_use]
    pub fn elasticsearch_service(&self) -> String {
        format!("{}-elasticsearch", self.release)
    }

    /// The Elasticsearch master StatefulSet.
    #[must_use]
    pub fn elasticsearch_statefulset(&self) -> String {
        format!("{}-elasticsearch-master", self.release)
    }

    /// The ConfigMap holding the orchestration cluster's unified configuration.
    #[must_use]
    pub fn unified_configmap(&self) -> String {
        format!("{}-zeebe-configuration-unified", self.release)
    }

    /// A path inside the run directory.
    #[must_use]
    pub fn run_path(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.run_dir.join(relative)
    }

    /// Reject a configuration that cannot work, before anything is touched.
    ///
    /// # Errors
    /// The first problem found.
    pub fn validate(&self) -> Result<(), KindError> {
        if !self.cluster_prefix.starts_with("c8dr") {
            return Err(KindError::InvalidConfig {
                message: format!(
                    "cluster prefix {:?} must start with `c8dr`: c8dr only creates and touches kind-c8dr-* clusters",
                    self.cluster_prefix
                ),
            });
        }
        if self.regions != 2 {
            return Err(KindError::InvalidConfig {
                message: format!("the kind backend runs two regions, not {}", self.regions),
            });
        }
        if self.networks.len() < usize::from(self.regions) {
            return Err(KindError::InvalidConfig {
                message: "one pod/service subnet pair per region is required".to_owned(),
            });
        }
        let mut subnets: Vec<&str> = Vec::new();
        for network in &self.networks {
            for subnet in [&network.pod_subnet, &network.service_subnet] {
                if subnets.contains(&subnet.as_str()) {
                    return Err(KindError::InvalidConfig {
                        message: format!(
                            "subnet {subnet} is used twice; regions need non-overlapping subnets"
                        ),
                    });
                }
                subnets.push(subnet);
            }
        }
        if !self.chart_version.starts_with("13.") {
            tracing::warn!(
                chart_version = %self.chart_version,
                "the generated values target chart 13.x (Camunda 8.8); other majors may reject them"
            );
        }
        for region in self.region_ids() {
            self.check_context(&self.context(region))?;
        }
        Ok(())
    }

    /// The safety rule: c8dr touches only the contexts it creates (`kind-c8dr-*`) unless a
    /// context is explicitly allowed.
    ///
    /// # Errors
    /// [`KindError::ContextNotAllowed`].
    pub fn check_context(&self, context: &str) -> Result<(), KindError> {
        if context.starts_with("kind-c8dr-") || self.allowed_contexts.iter().any(|c| c == context) {
            Ok(())
        } else {
            Err(KindError::ContextNotAllowed {
                context: context.to_owned(),
            })
        }
    }

    /// Prefix `--kubeconfig <path>` when one is configured.
    pub(crate) fn kubeconfig_args(&self, flag: &str) -> Vec<String> {
        self.kubeconfig
            .as_ref()
            .map(|path| vec![flag.to_owned(), path.display().to_string()])
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_follow_the_documented_scheme() {
        let config = KindConfig::default();
        assert_eq!(config.cluster_name(RegionId(1)), "c8dr-region1");
        assert_eq!(config.context(RegionId(0)), "kind-c8dr-region0");
        assert_eq!(config.namespace(RegionId(1)), "camunda-region1");
        assert_eq!(config.node_name(RegionId(0)), "c8dr-region0-control-plane");
        assert!(config.validate().is_ok());
    }

    #[test]
    fn dns_ip_is_the_tenth_address_of_the_service_subnet() {
        let config = KindConfig::default();
        assert_eq!(config.networks[0].dns_ip(), "10.96.0.10");
        assert_eq!(config.networks[1].dns_ip(), "10.97.0.10");
    }

    #[test]
    fn foreign_contexts_are_refused_unless_allowed() {
        let config = KindConfig::default().with_context(RegionId(0), "prod-eu");
        assert!(matches!(
            config.validate(),
            Err(KindError::ContextNotAllowed { .. })
        ));
        let allowed = config.with_allowed_context("prod-eu");
        assert!(allowed.validate().is_ok());
    }

    #[test]
    fn loss_modes_default_by_scenario_mode_and_can_be_overridden() {
        let config = KindConfig::default();
        assert_eq!(
            config.realisation(LossMode::CutOff),
            LossRealisation::NetworkPolicy
        );
        assert_eq!(
            config.realisation(LossMode::Down),
            LossRealisation::NodePause
        );
        let config = config.with_loss_mode(LossRealisation::ClusterDelete);
        assert_eq!(
            config.realisation(LossMode::CutOff),
            LossRealisation::ClusterDelete
        );
        assert_eq!(
            "node-pause".parse::<LossRealisation>().ok(),
            Some(LossRealisation::NodePause)
        );
        assert!("pause".parse::<LossRealisation>().is_err());
    }

    #[test]
    fn overlapping_subnets_and_foreign_prefixes_are_rejected() {
        let mut config = KindConfig::default();
        config.networks[1].pod_subnet = config.networks[0].pod_subnet.clone();
        assert!(config.validate().is_err());
        assert!(
            KindConfig::default()
                .with_cluster_prefix("prod")
                .validate()
                .is_err()
        );
    }
}
