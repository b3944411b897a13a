//! Generated artifacts: kind cluster configs, per-region Helm values, NetworkPolicies, the
//! CoreDNS forward blocks and the reachability probe. Pure functions of the configuration, the
//! drill's shape and facts discovered at run time; `c8dr plan` and the backend call the same ones.

use std::collections::BTreeMap;

use c8dr_core::camunda::{BackupRepository, RepositoryKind};
use c8dr_core::plan::Plan;
use c8dr_core::region::{ClusterLayout, RegionId};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, Pod, PodSpec, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::Serialize;
use serde_json::{Value, json};

use crate::config::{KindConfig, SHARED_SNAPSHOT_MOUNT, SnapshotStore};
use crate::error::KindError;

/// The label every object c8dr creates carries, so it can be found and removed.
pub const MANAGED_BY_LABEL: (&str, &str) = ("app.kubernetes.io/managed-by", "c8dr");
/// The label of the objects that realise a region loss.
pub const FAULT_LABEL: (&str, &str) = ("c8dr.io/fault", "region-loss");
/// Name of the deny-all policy in the lost namespace.
pub const DENY_ALL_POLICY: &str = "c8dr-loss-deny-all";
/// Name of the Secret holding the S3 credentials for the Elasticsearch keystore.
pub const S3_SECRET: &str = "c8dr-s3-credentials";
/// Name of the probe pod and its headless Service.
pub const PROBE_NAME: &str = "c8dr-probe";
/// Port the probe pods serve on.
pub const PROBE_PORT: u16 = 8080;
/// The built-in base values for chart 13.x (Camunda 8.8).
pub const BASE_VALUES_13X: &str = include_str!("../../../fixtures/helm/camunda-values-13.x.yaml");

/// The shape of the drill the values are generated for: taken from the plan, so the scenario
/// and the installed cluster agree.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillShape {
    /// Brokers, partitions, replication.
    pub layout: ClusterLayout,
    /// Exporter id of each region (`camundaregion0`, ...).
    pub exporter_ids: Vec<String>,
    /// The scenario's snapshot repository.
    pub backup: Option<BackupRepository>,
}

impl DrillShape {
    /// The shape of a plan.
    #[must_use]
    pub fn of(plan: &Plan) -> Self {
        Self {
            layout: plan.layout.clone(),
            exporter_ids: plan.exporter_ids.clone(),
            backup: plan.backup.clone(),
        }
    }

    /// The reference dual-region 8.8 shape (8 brokers, 8 partitions, RF 4, `camunda_backup`).
    #[must_use]
    pub fn dual_region_8_8() -> Self {
        Self {
            layout: ClusterLayout {
                regions: 2,
                cluster_size: 8,
                partition_count: 8,
                replication_factor: 4,
            },
            exporter_ids: vec!["camundaregion0".to_owned(), "camundaregion1".to_owned()],
            backup: Some(BackupRepository {
                name: "camunda_backup".to_owned(),
                kind: RepositoryKind::S3 {
                    bucket: "c8dr-elastic-backup".to_owned(),
                    base_path: "backups".to_owned(),
                    client: "camunda".to_owned(),
                },
            }),
        }
    }

    fn s3_client(&self) -> String {
        match self.backup.as_ref().map(|b| &b.kind) {
            Some(RepositoryKind::S3 { client, .. }) => client.clone(),
            _ => "camunda".to_owned(),
        }
    }

    /// The bucket the scenario's repository uses (`None` without an S3 repository).
    #[must_use]
    pub fn bucket(&self) -> Option<String> {
        match self.backup.as_ref().map(|b| &b.kind) {
            Some(RepositoryKind::S3 { bucket, .. }) => Some(bucket.clone()),
            _ => None,
        }
    }
}

/// Where Elasticsearch reaches the snapshot store, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotEndpoint {
    /// MinIO at `host:port` on the kind network.
    Minio {
        /// `ip:9000`.
        endpoint: String,
    },
    /// The shared directory, mounted at [`SHARED_SNAPSHOT_MOUNT`].
    SharedDirectory,
}

impl SnapshotEndpoint {
    /// The endpoint for plan rendering, before MinIO runs.
    #[must_use]
    pub fn placeholder(config: &KindConfig) -> Self {
        match config.snapshot_store {
            SnapshotStore::Minio => SnapshotEndpoint::Minio {
                endpoint: "<minio ip>:9000".to_owned(),
            },
            SnapshotStore::SharedDirectory(_) => SnapshotEndpoint::SharedDirectory,
        }
    }
}

fn render_yaml<T: Serialize>(what: &str, value: &T) -> Result<String, KindError> {
    serde_saphyr::to_string(value).map_err(|e| KindError::RenderArtifact {
        what: what.to_owned(),
        source: Box::new(e),
    })
}

// ---------------------------------------------------------------------------------------------
// kind cluster configuration

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KindCluster {
    kind: &'static str,
    api_version: &'static str,
    name: String,
    networking: KindNetworking,
    nodes: Vec<KindNode>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KindNetworking {
    pod_subnet: String,
    service_subnet: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KindNode {
    role: &'static str,
    image: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    extra_mounts: Vec<KindMount>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KindMount {
    host_path: String,
    container_path: String,
}

/// The kind cluster configuration of a region: one node, the region's own pod and service
/// subnets (non-overlapping, so routes between the clusters are unambiguous), the pinned node
/// image, and the shared snapshot directory when that store is used.
///
/// # Errors
/// Missing network configuration or a serializer error.
pub fn kind_config(config: &KindConfig, region: RegionId) -> Result<String, KindError> {
    let network = config.network(region)?;
    let extra_mounts = match &config.snapshot_store {
        SnapshotStore::SharedDirectory(dir) => vec![KindMount {
            host_path: dir.display().to_string(),
            container_path: SHARED_SNAPSHOT_MOUNT.to_owned(),
        }],
        SnapshotStore::Minio => Vec::new(),
    };
    let cluster = KindCluster {
        kind: "Cluster",
        api_version: "kind.x-k8s.io/v1alpha4",
        name: config.cluster_name(region),
        networking: KindNetworking {
            pod_subnet: network.pod_subnet.clone(),
            service_subnet: network.service_subnet.clone(),
        },
        nodes: vec![KindNode {
            role: "control-plane",
            image: config.node_image.clone(),
            extra_mounts,
        }],
    };
    let body = render_yaml("kind cluster config", &cluster)?;
    Ok(format!(
        "# Generated by c8dr ({}) for kind ≥ 0.32: the pinned node image is kind v0.32.0's\n# (kindnet enforces NetworkPolicies since kind 0.24).\n{body}",
        config.cluster_name(region)
    ))
}

// ---------------------------------------------------------------------------------------------
// Helm values

/// The per-pod FQDN of broker pod `index` of a region, with the trailing dot that stops the
/// resolver from walking the `ndots:5` search list.
#[must_use]
pub fn broker_fqdn(config: &KindConfig, region: RegionId, index: u32) -> String {
    format!(
        "{zeebe}-{index}.{zeebe}.{ns}.svc.cluster.local.",
        zeebe = config.zeebe_name(),
        ns = config.namespace(region)
    )
}

/// `CAMUNDA_CLUSTER_INITIALCONTACTPOINTS`: every broker of every region, regions interleaved.
#[must_use]
pub fn initial_contact_points(config: &KindConfig, layout: &ClusterLayout) -> String {
    let regions = u32::from(layout.regions.max(1));
    let per_region = layout.cluster_size / regions;
    let mut points = Vec::new();
    for index in 0..per_region {
        for region in 0..layout.regions {
            points.push(format!(
                "{}:26502",
                broker_fqdn(config, RegionId(region), index)
            ));
        }
    }
    points.join(",")
}

/// The Elasticsearch URL the exporter of a region writes to (the headless master service, so
/// DNS returns pod IPs, which are routed between the clusters).
#[must_use]
pub fn exporter_url(config: &KindConfig, region: RegionId) -> String {
    format!(
        "http://{}-hl.{}.svc.cluster.local:9200",
        config.elasticsearch_statefulset(),
        config.namespace(region)
    )
}

fn env_entry(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

/// The `orchestration.env` list of every release: the base file's entries (minus the names c8dr
/// sets) followed by c8dr's dual-region entries.
///
/// # Errors
/// The base values file cannot be parsed.
pub fn orchestration_env(
    config: &KindConfig,
    shape: &DrillShape,
    base_values: &str,
) -> Result<Vec<Value>, KindError> {
    let mut ours = vec![env_entry(
        "CAMUNDA_CLUSTER_INITIALCONTACTPOINTS",
        &initial_contact_points(config, &shape.layout),
    )];
    for (index, exporter) in shape.exporter_ids.iter().enumerate() {
        let region = RegionId(u8::try_from(index).unwrap_or(u8::MAX));
        let prefix = format!("ZEEBE_BROKER_EXPORTERS_{}", exporter.to_uppercase());
        ours.push(env_entry(
            &format!("{prefix}_CLASSNAME"),
            "io.camunda.exporter.CamundaExporter",
        ));
        ours.push(env_entry(
            &format!("{prefix}_ARGS_CONNECT_URL"),
            &exporter_url(config, region),
        ));
        // One Elasticsearch node per region: replicas would never be assigned.
        ours.push(env_entry(
            &format!("{prefix}_ARGS_INDEX_NUMBEROFREPLICAS"),
            "0",
        ));
    }
    if let Some(backup) = &shape.backup {
        ours.push(env_entry(
            "CAMUNDA_DATA_BACKUP_REPOSITORYNAME",
            &backup.name,
        ));
    }
    for (name, value) in [
        ("ZEEBE_BROKER_CLUSTER_MEMBERSHIP_PROBETIMEOUT", "500ms"),
        ("ZEEBE_BROKER_CLUSTER_MEMBERSHIP_PROBEINTERVAL", "2s"),
        ("ZEEBE_BROKER_CLUSTER_MESSAGECOMPRESSION", "GZIP"),
        (
            "ZEEBE_BROKER_GATEWAY_CLUSTER_MEMBERSHIP_PROBETIMEOUT",
            "500ms",
        ),
        (
            "ZEEBE_BROKER_GATEWAY_CLUSTER_MEMBERSHIP_PROBEINTERVAL",
            "2s",
        ),
        ("ZEEBE_BROKER_GATEWAY_CLUSTER_MESSAGECOMPRESSION", "GZIP"),
    ] {
        ours.push(env_entry(name, value));
    }
    let names: Vec<String> = ours
        .iter()
        .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let base: Value =
        serde_saphyr::from_str(base_values).map_err(|e| KindError::RenderArtifact {
            what: "the base values file".to_owned(),
            source: Box::new(e),
        })?;
    let mut env: Vec<Value> = base
        .pointer("/orchestration/env")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter(|e| {
                    e.get("name")
                        .and_then(Value::as_str)
                        .is_none_or(|n| !names.iter().any(|ours| ours == n))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    env.extend(ours);
    Ok(env)
}

/// The generated values of a region (second `-f` after the base file): region id, the cluster
/// shape from the scenario, `orchestration.env`, and the snapshot store's Elasticsearch settings.
///
/// # Errors
/// The base values file cannot be parsed.
pub fn region_values(
    config: &KindConfig,
    shape: &DrillShape,
    region: RegionId,
    base_values: &str,
    snapshot: &SnapshotEndpoint,
) -> Result<Value, KindError> {
    let env = orchestration_env(config, shape, base_values)?;
    let mut elasticsearch = serde_json::Map::new();
    match snapshot {
        SnapshotEndpoint::Minio { endpoint } => {
            let client = shape.s3_client();
            let mut extra = serde_json::Map::new();
            extra.insert(format!("s3.client.{client}.endpoint"), json!(endpoint));
            extra.insert(format!("s3.client.{client}.protocol"), json!("http"));
            extra.insert(format!("s3.client.{client}.path_style_access"), json!(true));
            elasticsearch.insert("extraConfig".to_owned(), Value::Object(extra));
            elasticsearch.insert("extraEnvVarsSecret".to_owned(), json!(S3_SECRET));
            elasticsearch.insert(
                "initScripts".to_owned(),
                json!({
                    "init-keystore.sh": format!(
                        "#!/bin/bash\nset -e\necho \"$S3_ACCESS_KEY\" | elasticsearch-keystore add -f -x s3.client.{client}.access_key\necho \"$S3_SECRET_KEY\" | elasticsearch-keystore add -f -x s3.client.{client}.secret_key\n"
                    )
                }),
            );
        }
        SnapshotEndpoint::SharedDirectory => {
            elasticsearch.insert(
                "extraConfig".to_owned(),
                json!({"path.repo": SHARED_SNAPSHOT_MOUNT}),
            );
            elasticsearch.insert(
                "extraVolumes".to_owned(),
                json!([{"name": "c8dr-snapshots", "hostPath": {"path": SHARED_SNAPSHOT_MOUNT, "type": "DirectoryOrCreate"}}]),
            );
            elasticsearch.insert(
                "extraVolumeMounts".to_owned(),
                json!([{"name": "c8dr-snapshots", "mountPath": SHARED_SNAPSHOT_MOUNT}]),
            );
        }
    }
    Ok(json!({
        "global": {"multiregion": {"regions": shape.layout.regions, "regionId": region.0}},
        "orchestration": {
            "clusterSize": shape.layout.cluster_size.to_string(),
            "partitionCount": shape.layout.partition_count.to_string(),
            "replicationFactor": shape.layout.replication_factor.to_string(),
            "env": env,
        },
        "elasticsearch": Value::Object(elasticsearch),
    }))
}

/// The extra values file of a deploy step that adds `orchestration.env` entries. Helm replaces
/// lists instead of merging them, so the file carries the whole list: the region's entries
/// followed by the step's additions (an addition replaces an entry of the same name).
///
/// # Errors
/// The base values file cannot be parsed.
pub fn env_overrides(
    config: &KindConfig,
    shape: &DrillShape,
    base_values: &str,
    additions: &BTreeMap<String, String>,
) -> Result<Value, KindError> {
    let mut env: Vec<Value> = orchestration_env(config, shape, base_values)?
        .into_iter()
        .filter(|e| {
            e.get("name")
                .and_then(Value::as_str)
                .is_none_or(|n| !additions.contains_key(n))
        })
        .collect();
    env.extend(additions.iter().map(|(k, v)| env_entry(k, v)));
    Ok(json!({"orchestration": {"env": env}}))
}

/// Values as YAML, with a header saying where they came from.
///
/// # Errors
/// A serializer error.
pub fn values_yaml(header: &str, values: &Value) -> Result<String, KindError> {
    Ok(format!(
        "# {header}\n# Generated by c8dr; do not edit (regenerated on every run).\n{}",
        render_yaml("Helm values", values)?
    ))
}

/// Every key path (dot-separated, list indices dropped) of a values document, leaves only.
#[must_use]
pub fn value_paths(values: &Value) -> Vec<String> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, child) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&path, child, out);
                }
            }
            _ => out.push(prefix.to_owned()),
        }
    }
    let mut out = Vec::new();
    walk("", values, &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// NetworkPolicies

fn meta(name: &str, namespace: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        labels: Some(
            [MANAGED_BY_LABEL, FAULT_LABEL]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        ),
        ..ObjectMeta::default()
    }
}

/// Deny every ingress and egress of every pod in the lost region's namespace.
#[must_use]
pub fn deny_all_policy(namespace: &str) -> NetworkPolicy {
    NetworkPolicy {
        metadata: meta(DENY_ALL_POLICY, namespace),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
            ingress: Some(Vec::new()),
            egress: Some(Vec::new()),
        }),
    }
}

/// Name of the fence policy in the surviving namespace against a lost region.
#[must_use]
pub fn fence_policy_name(lost: RegionId) -> String {
    format!("c8dr-loss-fence-{lost}")
}

/// The addresses the lost region's traffic can come from or go to: its node IPs (kindnet
/// masquerades cross-cluster traffic to the sending node's IP), its pod subnet and (egress) its
/// service subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostAddresses {
    /// Node IPs of the lost cluster.
    pub node_ips: Vec<String>,
    /// Its pod subnet.
    pub pod_subnet: String,
    /// Its service subnet.
    pub service_subnet: String,
}

fn cidr_of(ip: &str) -> String {
    if ip.contains('/') {
        ip.to_owned()
    } else {
        format!("{ip}/32")
    }
}

/// In the surviving namespace: allow traffic with the local cluster's pods and with everything
/// outside the lost region, so that only the lost region is blocked. NetworkPolicies only allow;
/// "everything except" is an `ipBlock` with `except`.
#[must_use]
pub fn fence_policy(namespace: &str, lost: RegionId, addresses: &LostAddresses) -> NetworkPolicy {
    let mut ingress_except: Vec<String> = addresses.node_ips.iter().map(|ip| cidr_of(ip)).collect();
    ingress_except.push(addresses.pod_subnet.clone());
    let mut egress_except = ingress_except.clone();
    egress_except.push(addresses.service_subnet.clone());
    let local_pods = NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector::default()),
        ..NetworkPolicyPeer::default()
    };
    let outside = |except: Vec<String>| NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: "0.0.0.0/0".to_owned(),
            except: Some(except),
        }),
        ..NetworkPolicyPeer::default()
    };
    NetworkPolicy {
        metadata: meta(&fence_policy_name(lost), namespace),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(vec![local_pods.clone(), outside(ingress_except)]),
                ports: None,
            }]),
            egress: Some(vec![NetworkPolicyEgressRule {
                to: Some(vec![local_pods, outside(egress_except)]),
                ports: None,
            }]),
        }),
    }
}

/// A policy as a manifest file.
///
/// # Errors
/// A serializer error.
pub fn policy_yaml(policy: &NetworkPolicy) -> Result<String, KindError> {
    let mut value = serde_json::to_value(policy).map_err(|e| KindError::RenderArtifact {
        what: "NetworkPolicy".to_owned(),
        source: Box::new(e),
    })?;
    if let Value::Object(map) = &mut value {
        map.insert("apiVersion".to_owned(), json!("networking.k8s.io/v1"));
        map.insert("kind".to_owned(), json!("NetworkPolicy"));
    }
    render_yaml("NetworkPolicy", &value)
}

// ---------------------------------------------------------------------------------------------
// CoreDNS

const COREDNS_BEGIN: &str = "# c8dr:begin";
const COREDNS_END: &str = "# c8dr:end";

/// The server block that makes a cluster resolve the peer region's namespace through the peer's
/// DNS (its kube-dns ClusterIP, routed through the peer node, where kube-proxy translates it).
#[must_use]
pub fn coredns_block(config: &KindConfig, peer: RegionId, peer_dns_ip: &str) -> String {
    format!(
        "{COREDNS_BEGIN} forward {ns} to {cluster}\n{ns}.svc.cluster.local:53 {{\n    errors\n    cache 30\n    forward . {peer_dns_ip} {{\n        force_tcp\n    }}\n}}\n{COREDNS_END}\n",
        ns = config.namespace(peer),
        cluster = config.cluster_name(peer),
    )
}

/// The Corefile with c8dr's block replaced (idempotent): any earlier c8dr block is removed first.
#[must_use]
pub fn corefile_with_block(existing: &str, block: Option<&str>) -> String {
    let mut kept = String::new();
    let mut inside = false;
    for line in existing.lines() {
        if line.starts_with(COREDNS_BEGIN) {
            inside = true;
            continue;
        }
        if line.starts_with(COREDNS_END) {
            inside = false;
            continue;
        }
        if !inside {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    let mut corefile = kept.trim_end().to_owned();
    corefile.push('\n');
    if let Some(block) = block {
        corefile.push_str(block);
    }
    corefile
}

/// The merge patch of the `coredns` ConfigMap, as written to the run directory.
///
/// # Errors
/// A serializer error.
pub fn coredns_patch_yaml(corefile: &str) -> Result<String, KindError> {
    render_yaml("CoreDNS patch", &json!({"data": {"Corefile": corefile}}))
}

// ---------------------------------------------------------------------------------------------
// Reachability probe

fn probe_labels() -> BTreeMap<String, String> {
    [("app", PROBE_NAME), MANAGED_BY_LABEL]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The probe pod of a region: a tiny HTTP server answering with its region's name.
#[must_use]
pub fn probe_pod(config: &KindConfig, region: RegionId) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(PROBE_NAME.to_owned()),
            namespace: Some(config.namespace(region)),
            labels: Some(probe_labels()),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "probe".to_owned(),
                image: Some(config.probe_image.clone()),
                image_pull_policy: Some("IfNotPresent".to_owned()),
                command: Some(vec![
                    "sh".to_owned(),
                    "-c".to_owned(),
                    format!(
                        "mkdir -p /www && echo {} > /www/index.html && exec httpd -f -p {PROBE_PORT} -h /www",
                        probe_answer(config, region)
                    ),
                ]),
                ports: Some(vec![ContainerPort {
                    container_port: i32::from(PROBE_PORT),
                    ..ContainerPort::default()
                }]),
                ..Container::default()
            }],
            termination_grace_period_seconds: Some(0),
            ..PodSpec::default()
        }),
        status: None,
    }
}

/// What the probe of a region answers.
#[must_use]
pub fn probe_answer(config: &KindConfig, region: RegionId) -> String {
    format!("c8dr-probe-{}", config.cluster_name(region))
}

/// The headless Service giving the probe pod a DNS name.
#[must_use]
pub fn probe_service(config: &KindConfig, region: RegionId) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(PROBE_NAME.to_owned()),
            namespace: Some(config.namespace(region)),
            labels: Some(probe_labels()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            selector: Some(
                [("app".to_owned(), PROBE_NAME.to_owned())]
                    .into_iter()
                    .collect(),
            ),
            ports: Some(vec![ServicePort {
                port: i32::from(PROBE_PORT),
                name: Some("http".to_owned()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// The DNS name of a region's probe, as the peer resolves it.
#[must_use]
pub fn probe_dns_name(config: &KindConfig, region: RegionId) -> String {
    format!(
        "{PROBE_NAME}.{}.svc.cluster.local.",
        config.namespace(region)
    )
}

/// The probe pod and Service as one manifest file.
///
/// # Errors
/// A serializer error.
pub fn probe_yaml(config: &KindConfig, region: RegionId) -> Result<String, KindError> {
    let typed = |value: Result<Value, serde_json::Error>, api: &str, kind: &str| {
        value
            .map(|mut v| {
                if let Value::Object(map) = &mut v {
                    map.insert("apiVersion".to_owned(), json!(api));
                    map.insert("kind".to_owned(), json!(kind));
                }
                v
            })
            .map_err(|e| KindError::RenderArtifact {
                what: "probe manifest".to_owned(),
                source: Box::new(e),
            })
    };
    let pod = typed(serde_json::to_value(probe_pod(config, region)), "v1", "Pod")?;
    let service = typed(
        serde_json::to_value(probe_service(config, region)),
        "v1",
        "Service",
    )?;
    Ok(format!(
        "{}---\n{}",
        render_yaml("probe pod", &pod)?,
        render_yaml("probe service", &service)?
    ))
}
