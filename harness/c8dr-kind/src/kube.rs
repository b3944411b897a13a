//! Kubernetes API calls through kube-rs: one client per context, NetworkPolicies, namespaces,
//! secrets, CoreDNS, the probe, pods, volumes and the release's state.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;

use c8dr_core::camunda::ReleaseStatus;
use futures::future::BoxFuture;
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Namespace, Node, PersistentVolumeClaim, Pod, Secret, Service,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};

use crate::artifacts::{self, MANAGED_BY_LABEL, PROBE_NAME, S3_SECRET};
use crate::config::KindConfig;
use crate::error::KindError;

/// Field manager of c8dr's server-side applies.
pub const FIELD_MANAGER: &str = "c8dr";

/// Builds Kubernetes clients for kube contexts.
pub trait KubeFactory: Send + Sync {
    /// A client for a context. Called again after a cluster is recreated (its kubeconfig entry
    /// changes), so implementations must not cache across calls.
    fn client<'a>(&'a self, context: &'a str) -> BoxFuture<'a, Result<Client, KindError>>;
}

/// Clients from a kubeconfig file (the configured one, or `$KUBECONFIG` / `~/.kube/config`).
#[derive(Debug, Clone, Default)]
pub struct KubeconfigFactory {
    /// Explicit kubeconfig path.
    pub path: Option<PathBuf>,
}

impl KubeFactory for KubeconfigFactory {
    fn client<'a>(&'a self, context: &'a str) -> BoxFuture<'a, Result<Client, KindError>> {
        Box::pin(async move {
            let err = |source: Box<dyn std::error::Error + Send + Sync>| KindError::KubeContext {
                context: context.to_owned(),
                source,
            };
            let kubeconfig = match &self.path {
                Some(path) => Kubeconfig::read_from(path),
                None => Kubeconfig::read(),
            }
            .map_err(|e| err(Box::new(e)))?;
            let options = KubeConfigOptions {
                context: Some(context.to_owned()),
                ..KubeConfigOptions::default()
            };
            let config = Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| err(Box::new(e)))?;
            tracing::debug!(context, cluster_url = %config.cluster_url, "kube client");
            Client::try_from(config).map_err(|e| err(Box::new(e)))
        })
    }
}

/// Clients per context, checked against the context guard, cached until invalidated.
pub struct KubeClients {
    factory: std::sync::Arc<dyn KubeFactory>,
    config: KindConfig,
    cache: Mutex<HashMap<String, Client>>,
}

impl std::fmt::Debug for KubeClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClients").finish_non_exhaustive()
    }
}

impl KubeClients {
    /// Clients from a factory.
    #[must_use]
    pub fn new(config: KindConfig, factory: std::sync::Arc<dyn KubeFactory>) -> Self {
        Self {
            factory,
            config,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The client of a context (refused for contexts outside the guard).
    ///
    /// # Errors
    /// [`KindError::ContextNotAllowed`] or the factory's error.
    pub async fn get(&self, context: &str) -> Result<Client, KindError> {
        self.config.check_context(context)?;
        if let Some(client) = self.cache.lock().ok().and_then(|c| c.get(context).cloned()) {
            return Ok(client);
        }
        let client = self.factory.client(context).await?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(context.to_owned(), client.clone());
        }
        Ok(client)
    }

    /// Forget a context's client (its cluster was recreated).
    pub fn invalidate(&self, context: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(context);
        }
    }
}

fn call_err(
    operation: impl Into<String>,
    context: &str,
    namespace: &str,
) -> impl FnOnce(kube::Error) -> KindError {
    let operation = operation.into();
    let context = context.to_owned();
    let namespace = namespace.to_owned();
    move |source| KindError::KubeCall {
        operation,
        context,
        namespace,
        source: Box::new(source),
    }
}

fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

/// Create a namespace unless it exists.
///
/// # Errors
/// The API call failed.
pub async fn ensure_namespace(
    client: &Client,
    context: &str,
    namespace: &str,
) -> Result<(), KindError> {
    let api: Api<Namespace> = Api::all(client.clone());
    tracing::debug!(context, namespace, "ensure namespace");
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    match api.create(&PostParams::default(), &ns).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(e) => Err(call_err(
            format!("create namespace {namespace}"),
            context,
            namespace,
        )(e)),
    }
}

/// Server-side apply a NetworkPolicy.
///
/// # Errors
/// The API call failed.
pub async fn apply_network_policy(
    client: &Client,
    context: &str,
    namespace: &str,
    policy: &NetworkPolicy,
) -> Result<(), KindError> {
    let name = policy.metadata.name.clone().unwrap_or_default();
    tracing::debug!(context, namespace, policy = %name, "apply NetworkPolicy");
    let api: Api<NetworkPolicy> = Api::namespaced(client.clone(), namespace);
    let mut body = serde_json::to_value(policy).map_err(|e| KindError::RenderArtifact {
        what: format!("NetworkPolicy {name}"),
        source: Box::new(e),
    })?;
    if let Value::Object(map) = &mut body {
        map.insert("apiVersion".to_owned(), json!("networking.k8s.io/v1"));
        map.insert("kind".to_owned(), json!("NetworkPolicy"));
    }
    api.patch(&name, &apply_params(), &Patch::Apply(&body))
        .await
        .map_err(call_err(
            format!("apply NetworkPolicy {name}"),
            context,
            namespace,
        ))?;
    Ok(())
}

/// Delete a NetworkPolicy; a missing one is fine.
///
/// # Errors
/// The API call failed otherwise.
pub async fn delete_network_policy(
    client: &Client,
    context: &str,
    namespace: &str,
    name: &str,
) -> Result<(), KindError> {
    tracing::debug!(context, namespace, policy = name, "delete NetworkPolicy");
    let api: Api<NetworkPolicy> = Api::namespaced(client.clone(), namespace);
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(call_err(
            format!("delete NetworkPolicy {name}"),
            context,
            namespace,
        )(e)),
    }
}

/// The NetworkPolicies c8dr applied in a namespace (by label).
///
/// # Errors
/// The API call failed.
pub async fn fault_policies(
    client: &Client,
    context: &str,
    namespace: &str,
) -> Result<Vec<String>, KindError> {
    let api: Api<NetworkPolicy> = Api::namespaced(client.clone(), namespace);
    let (key, value) = artifacts::FAULT_LABEL;
    let list = api
        .list(&ListParams::default().labels(&format!("{key}={value}")))
        .await
        .map_err(call_err("list NetworkPolicies", context, namespace))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect())
}

/// Create or update the S3 credentials Secret (values never logged).
///
/// # Errors
/// The API call failed.
pub async fn apply_s3_secret(
    client: &Client,
    context: &str,
    namespace: &str,
    access_key: &str,
    secret_key: &str,
) -> Result<(), KindError> {
    tracing::debug!(
        context,
        namespace,
        secret = S3_SECRET,
        "apply Secret (values redacted)"
    );
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let data: BTreeMap<String, ByteString> =
        [("S3_ACCESS_KEY", access_key), ("S3_SECRET_KEY", secret_key)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), ByteString(v.as_bytes().to_vec())))
            .collect();
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(S3_SECRET.to_owned()),
            labels: Some(
                [(MANAGED_BY_LABEL.0.to_owned(), MANAGED_BY_LABEL.1.to_owned())]
                    .into_iter()
                    .collect(),
            ),
            ..ObjectMeta::default()
        },
        data: Some(data),
        ..Secret::default()
    };
    let mut body = serde_json::to_value(&secret).map_err(|e| KindError::RenderArtifact {
        what: "S3 secret".to_owned(),
        source: Box::new(e),
    })?;
    if let Value::Object(map) = &mut body {
        map.insert("apiVersion".to_owned(), json!("v1"));
        map.insert("kind".to_owned(), json!("Secret"));
    }
    api.patch(S3_SECRET, &apply_params(), &Patch::Apply(&body))
        .await
        .map_err(call_err(
            format!("apply Secret {S3_SECRET}"),
            context,
            namespace,
        ))?;
    Ok(())
}

/// Replace c8dr's block in the `coredns` ConfigMap (merge patch of `data.Corefile`); returns the
/// new Corefile.
///
/// # Errors
/// The API calls failed.
pub async fn patch_coredns(
    client: &Client,
    context: &str,
    block: Option<&str>,
) -> Result<String, KindError> {
    let namespace = "kube-system";
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let current =
        api.get("coredns")
            .await
            .map_err(call_err("get ConfigMap coredns", context, namespace))?;
    let existing = current
        .data
        .as_ref()
        .and_then(|d| d.get("Corefile"))
        .cloned()
        .unwrap_or_default();
    let corefile = artifacts::corefile_with_block(&existing, block);
    tracing::debug!(context, "patch ConfigMap coredns");
    api.patch(
        "coredns",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"Corefile": corefile}})),
    )
    .await
    .map_err(call_err("patch ConfigMap coredns", context, namespace))?;
    Ok(corefile)
}

/// Server-side apply the probe pod and Service of a region.
///
/// # Errors
/// The API calls failed.
pub async fn apply_probe(
    client: &Client,
    config: &KindConfig,
    region: c8dr_core::region::RegionId,
) -> Result<(), KindError> {
    let context = config.context(region);
    let namespace = config.namespace(region);
    tracing::debug!(%context, %namespace, "apply probe");
    let render = |value: Result<Value, serde_json::Error>, kind: &str| {
        value
            .map(|mut v| {
                if let Value::Object(map) = &mut v {
                    map.insert("apiVersion".to_owned(), json!("v1"));
                    map.insert("kind".to_owned(), json!(kind));
                }
                v
            })
            .map_err(|e| KindError::RenderArtifact {
                what: format!("probe {kind}"),
                source: Box::new(e),
            })
    };
    let pod = render(
        serde_json::to_value(artifacts::probe_pod(config, region)),
        "Pod",
    )?;
    let service = render(
        serde_json::to_value(artifacts::probe_service(config, region)),
        "Service",
    )?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    pods.patch(PROBE_NAME, &apply_params(), &Patch::Apply(&pod))
        .await
        .map_err(call_err("apply probe Pod", &context, &namespace))?;
    let services: Api<Service> = Api::namespaced(client.clone(), &namespace);
    services
        .patch(PROBE_NAME, &apply_params(), &Patch::Apply(&service))
        .await
        .map_err(call_err("apply probe Service", &context, &namespace))?;
    Ok(())
}

/// Delete the probe pod and Service of a region (absent is fine).
///
/// # Errors
/// The API calls failed otherwise.
pub async fn delete_probe(
    client: &Client,
    context: &str,
    namespace: &str,
) -> Result<(), KindError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let dp = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    match pods.delete(PROBE_NAME, &dp).await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(call_err("delete probe Pod", context, namespace)(e)),
    }
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    match services.delete(PROBE_NAME, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(call_err("delete probe Service", context, namespace)(e)),
    }
}

/// The IP of a running pod (`None` while it has none or does not run).
///
/// # Errors
/// The API call failed.
pub async fn running_pod_ip(
    client: &Client,
    context: &str,
    namespace: &str,
    name: &str,
) -> Result<Option<String>, KindError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod = match pods.get(name).await {
        Ok(pod) => pod,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(call_err(format!("get Pod {name}"), context, namespace)(e)),
    };
    let status = pod.status.unwrap_or_default();
    Ok((status.phase.as_deref() == Some("Running"))
        .then_some(status.pod_ip)
        .flatten())
}

/// Where a region's probe pod stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeState {
    /// No probe pod (never created, or deleted since).
    Missing,
    /// The pod exists but does not run with an IP yet (or is being deleted).
    NotRunning,
    /// The pod runs, with this IP.
    Running(String),
}

/// The state of a region's probe pod.
///
/// # Errors
/// The API call failed.
pub async fn probe_state(
    client: &Client,
    context: &str,
    namespace: &str,
) -> Result<ProbeState, KindError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod = match pods.get(PROBE_NAME).await {
        Ok(pod) => pod,
        Err(e) if is_not_found(&e) => return Ok(ProbeState::Missing),
        Err(e) => {
            return Err(call_err(
                format!("get Pod {PROBE_NAME}"),
                context,
                namespace,
            )(e));
        }
    };
    let deleting = pod.metadata.deletion_timestamp.is_some();
    let status = pod.status.unwrap_or_default();
    Ok(match (deleting, status.phase.as_deref(), status.pod_ip) {
        (false, Some("Running"), Some(ip)) => ProbeState::Running(ip),
        _ => ProbeState::NotRunning,
    })
}

/// How a command run with `exec` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecExit {
    /// Exit code 0.
    Success,
    /// A non-zero exit code (`143` when `timeout` killed it with SIGTERM).
    Code(i32),
    /// A failure status without an exit code (the container runtime could not run it).
    Failure(String),
    /// The stream ended without a status.
    Unknown,
}

/// What a command run with `exec` printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// How it ended.
    pub exit: ExecExit,
}

/// How an exec's status object says the command ended.
#[must_use]
pub fn exec_exit(
    status: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>,
) -> ExecExit {
    let Some(status) = status else {
        return ExecExit::Unknown;
    };
    if status.status.as_deref() == Some("Success") {
        return ExecExit::Success;
    }
    let code = status
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .into_iter()
        .flatten()
        .find(|c| c.reason.as_deref() == Some("ExitCode"))
        .and_then(|c| c.message.as_deref())
        .and_then(|m| m.trim().parse::<i32>().ok());
    match code {
        Some(code) => ExecExit::Code(code),
        None => ExecExit::Failure(
            status
                .message
                .clone()
                .unwrap_or_else(|| "command failed".to_owned()),
        ),
    }
}

/// Run a command in a pod's first container and return what it printed on both streams and how
/// it ended; a command that fails is not an error here (the caller reads why).
///
/// # Errors
/// The exec could not be set up (the pod does not exist, the API server refused or is gone).
pub async fn exec_output(
    client: &Client,
    context: &str,
    namespace: &str,
    pod: &str,
    command: Vec<String>,
) -> Result<ExecOutput, KindError> {
    use tokio::io::AsyncReadExt;
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let line = command.join(" ");
    tracing::debug!(context, namespace, pod, command = %line, "exec");
    let params = kube::api::AttachParams::default().stderr(true).stdout(true);
    let mut attached = pods.exec(pod, command, &params).await.map_err(call_err(
        format!("exec `{line}` in pod {pod}"),
        context,
        namespace,
    ))?;
    let (stdout, stderr) = (attached.stdout(), attached.stderr());
    let read = |stream: Option<tokio::io::ReadHalf<tokio::io::SimplexStream>>| async move {
        let mut text = String::new();
        if let Some(mut stream) = stream {
            let _ = stream.read_to_string(&mut text).await;
        }
        text
    };
    let (stdout, stderr) = tokio::join!(read(stdout), read(stderr));
    let status = match attached.take_status() {
        Some(status) => status.await,
        None => None,
    };
    let _ = attached.join().await;
    Ok(ExecOutput {
        stdout,
        stderr,
        exit: exec_exit(status.as_ref()),
    })
}

/// Run a command in a pod's first container and return its standard output.
///
/// # Errors
/// The exec could not be set up, or the command failed.
pub async fn exec_stdout(
    client: &Client,
    context: &str,
    namespace: &str,
    pod: &str,
    command: Vec<String>,
) -> Result<String, KindError> {
    use tokio::io::AsyncReadExt;
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let line = command.join(" ");
    tracing::debug!(context, namespace, pod, command = %line, "exec");
    let params = kube::api::AttachParams::default().stderr(true).stdout(true);
    let mut attached = pods.exec(pod, command, &params).await.map_err(call_err(
        format!("exec `{line}` in pod {pod}"),
        context,
        namespace,
    ))?;
    let mut stdout = String::new();
    if let Some(mut out) = attached.stdout() {
        let _ = out.read_to_string(&mut stdout).await;
    }
    let status = match attached.take_status() {
        Some(status) => status.await,
        None => None,
    };
    let _ = attached.join().await;
    match status {
        Some(s) if s.status.as_deref() != Some("Success") => Err(KindError::Unexpected {
            what: format!("`{line}` in {context}/{namespace}/{pod}"),
            detail: s.message.unwrap_or_else(|| "command failed".to_owned()),
        }),
        _ => Ok(stdout),
    }
}

/// Delete every pod of a namespace; their controllers recreate them.
///
/// # Errors
/// The API call failed.
pub async fn restart_pods(
    client: &Client,
    context: &str,
    namespace: &str,
) -> Result<(), KindError> {
    tracing::debug!(context, namespace, "delete all pods");
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    pods.delete_collection(&DeleteParams::default(), &ListParams::default())
        .await
        .map_err(call_err("delete pods", context, namespace))?;
    Ok(())
}

/// Delete every PersistentVolumeClaim of a namespace.
///
/// # Errors
/// The API call failed.
pub async fn delete_pvcs(client: &Client, context: &str, namespace: &str) -> Result<(), KindError> {
    tracing::debug!(context, namespace, "delete all PersistentVolumeClaims");
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    pvcs.delete_collection(&DeleteParams::default(), &ListParams::default())
        .await
        .map_err(call_err(
            "delete PersistentVolumeClaims",
            context,
            namespace,
        ))?;
    Ok(())
}

/// How many pods and PersistentVolumeClaims a namespace still has.
///
/// # Errors
/// The API calls failed.
pub async fn remaining(
    client: &Client,
    context: &str,
    namespace: &str,
) -> Result<(usize, usize), KindError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let p = pods.list(&ListParams::default()).await.map_err(call_err(
        "list pods",
        context,
        namespace,
    ))?;
    let v = pvcs.list(&ListParams::default()).await.map_err(call_err(
        "list PersistentVolumeClaims",
        context,
        namespace,
    ))?;
    Ok((p.items.len(), v.items.len()))
}

/// A pod that currently backs a Service: Ready first, else Running. Resolved on every call, so
/// a restarted pod is picked up.
///
/// # Errors
/// [`KindError::NoPod`] or a failed API call.
pub async fn pod_for_service(
    client: &Client,
    context: &str,
    namespace: &str,
    service: &str,
) -> Result<String, KindError> {
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let svc = services.get(service).await.map_err(call_err(
        format!("get Service {service}"),
        context,
        namespace,
    ))?;
    let selector = svc
        .spec
        .and_then(|s| s.selector)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let no_pod = || KindError::NoPod {
        context: context.to_owned(),
        namespace: namespace.to_owned(),
        service: service.to_owned(),
    };
    if selector.is_empty() {
        return Err(no_pod());
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(call_err(
            format!("list pods of Service {service}"),
            context,
            namespace,
        ))?;
    let running: Vec<&Pod> = list
        .items
        .iter()
        .filter(|p| {
            p.metadata.deletion_timestamp.is_none()
                && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
        })
        .collect();
    let ready = |p: &&&Pod| {
        p.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    running
        .iter()
        .find(ready)
        .or_else(|| running.first())
        .and_then(|p| p.metadata.name.clone())
        .ok_or_else(no_pod)
}

/// The Spring profiles in the unified configuration ConfigMap (`spring.profiles.active`).
#[must_use]
pub fn profiles_from_configmap(configmap: &ConfigMap) -> Option<Vec<String>> {
    configmap.data.as_ref()?.values().find_map(|text| {
        let doc: Value = serde_saphyr::from_str(text).ok()?;
        let active = doc.pointer("/spring/profiles/active")?;
        let list = match active {
            Value::String(s) => s.split(',').map(|p| p.trim().to_owned()).collect(),
            Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => return None,
        };
        Some(list)
    })
}

fn profiles_from_statefulset(sts: &StatefulSet) -> Option<Vec<String>> {
    let containers = &sts.spec.template.spec.as_ref()?.containers;
    containers.iter().find_map(|c| {
        c.env.as_ref()?.iter().find_map(|e| {
            (e.name == "SPRING_PROFILES_ACTIVE")
                .then(|| e.value.clone())
                .flatten()
                .map(|v| v.split(',').map(|p| p.trim().to_owned()).collect())
        })
    })
}

/// Whether a StatefulSet's rollout is complete: the controller saw the latest spec, every
/// replica is updated and every pod of the update revision runs. Readiness is not required:
/// recreated brokers are not Ready until they are re-added to the cluster.
#[must_use]
pub fn statefulset_rolled_out(sts: &StatefulSet, pods: &[Pod]) -> bool {
    let Some(status) = &sts.status else {
        return false;
    };
    let replicas = sts.spec.replicas.unwrap_or(1);
    let observed = status.observed_generation.unwrap_or(0) >= sts.metadata.generation.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0) >= replicas;
    let revision = status.update_revision.clone();
    let current = revision.is_none() || status.current_revision == revision;
    let running = pods
        .iter()
        .filter(|p| {
            let hash = p
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("controller-revision-hash"));
            revision.is_none() || hash == revision.as_ref()
        })
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .count();
    observed && updated && current && i32::try_from(running).unwrap_or(i32::MAX) >= replicas
}

/// The release of a region as the engine sees it, or `None` when no release is installed.
///
/// # Errors
/// The API calls failed.
pub async fn release_status(
    client: &Client,
    config: &KindConfig,
    context: &str,
    namespace: &str,
) -> Result<Option<ReleaseStatus>, KindError> {
    // Helm 3 keeps each revision in a Secret labelled owner=helm,name=<release>.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let releases = secrets
        .list(&ListParams::default().labels(&format!("owner=helm,name={}", config.release)))
        .await
        .map_err(call_err("list Helm release secrets", context, namespace))?;
    let revision = releases
        .items
        .iter()
        .filter(|s| {
            s.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("status"))
                .is_some_and(|status| status == "deployed")
        })
        .filter_map(|s| {
            s.metadata
                .labels
                .as_ref()?
                .get("version")?
                .parse::<u64>()
                .ok()
        })
        .max();
    let Some(revision) = revision else {
        return Ok(None);
    };
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), namespace);
    let zeebe = match statefulsets.get(&config.zeebe_name()).await {
        Ok(sts) => Some(sts),
        Err(e) if is_not_found(&e) => None,
        Err(e) => {
            return Err(call_err(
                format!("get StatefulSet {}", config.zeebe_name()),
                context,
                namespace,
            )(e));
        }
    };
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let from_configmap = match configmaps.get(&config.unified_configmap()).await {
        Ok(cm) => profiles_from_configmap(&cm),
        Err(e) if is_not_found(&e) => None,
        Err(e) => {
            return Err(call_err(
                format!("get ConfigMap {}", config.unified_configmap()),
                context,
                namespace,
            )(e));
        }
    };
    let active_profiles = from_configmap
        .or_else(|| zeebe.as_ref().and_then(profiles_from_statefulset))
        .unwrap_or_default();
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut rollout_complete = true;
    for (name, sts) in [
        (config.zeebe_name(), zeebe),
        (config.elasticsearch_statefulset(), None),
    ] {
        let sts = match sts {
            Some(sts) => sts,
            None => match statefulsets.get(&name).await {
                Ok(sts) => sts,
                Err(e) if is_not_found(&e) => {
                    rollout_complete = false;
                    continue;
                }
                Err(e) => {
                    return Err(call_err(
                        format!("get StatefulSet {name}"),
                        context,
                        namespace,
                    )(e));
                }
            },
        };
        let selector = sts
            .spec
            .selector
            .match_labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let list = pods
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(call_err(
                format!("list pods of StatefulSet {name}"),
                context,
                namespace,
            ))?;
        rollout_complete &= statefulset_rolled_out(&sts, &list.items);
    }
    Ok(Some(ReleaseStatus {
        active_profiles,
        rollout_complete,
        revision,
    }))
}

/// The `InternalIP` addresses of a cluster's nodes (`status.addresses`), nodes by name. On kind
/// a node's `InternalIP` is its container's address on the `kind` Docker network.
///
/// # Errors
/// The API call failed, or no node has an `InternalIP`.
pub async fn node_internal_ips(client: &Client, context: &str) -> Result<Vec<String>, KindError> {
    let nodes: Api<Node> = Api::all(client.clone());
    tracing::debug!(context, "list nodes");
    let mut list = nodes
        .list(&ListParams::default())
        .await
        .map_err(call_err("list nodes", context, ""))?
        .items;
    list.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let ips: Vec<String> = list
        .iter()
        .flat_map(|node| {
            node.status
                .as_ref()
                .and_then(|s| s.addresses.clone())
                .unwrap_or_default()
        })
        .filter(|address| address.type_ == "InternalIP")
        .map(|address| address.address)
        .collect();
    if ips.is_empty() {
        return Err(KindError::Unexpected {
            what: format!("the nodes of {context}"),
            detail: format!(
                "{} node(s), none with an InternalIP address in status.addresses",
                list.len()
            ),
        });
    }
    Ok(ips)
}

/// Pods of a namespace (for diagnostics).
///
/// # Errors
/// The API call failed.
pub async fn list_pods(
    client: &Client,
    context: &str,
    namespace: &str,
) -> Result<Vec<Pod>, KindError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    Ok(pods
        .list(&ListParams::default())
        .await
        .map_err(call_err("list pods", context, namespace))?
        .items)
}

/// Events of a namespace (for diagnostics).
///
/// # Errors
/// The API call failed.
pub async fn list_events(
    client: &Client,
    context: &str,
    namespace: &str,
) -> Result<Vec<Event>, KindError> {
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    Ok(events
        .list(&ListParams::default())
        .await
        .map_err(call_err("list events", context, namespace))?
        .items)
}

/// A container's log (the previous instance's when `previous`).
///
/// # Errors
/// The API call failed.
pub async fn container_log(
    client: &Client,
    context: &str,
    namespace: &str,
    pod: &str,
    container: &str,
    previous: bool,
) -> Result<String, KindError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = LogParams {
        container: Some(container.to_owned()),
        previous,
        ..LogParams::default()
    };
    pods.logs(pod, &params).await.map_err(call_err(
        format!("get logs of {pod}/{container}"),
        context,
        namespace,
    ))
}
