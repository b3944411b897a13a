//! The diagnostics bundle written when a drill fails, or when `clusters up` or connecting to the
//! clusters fails (then without the gateway dumps).
//!
//! Per region: `pods.json` (the Pod objects), `events.json`, `describe/<pod>.txt` (a
//! `kubectl describe`-like text: containers and init containers with their states and restarts,
//! conditions, the pod's events), `logs/<pod>-<container>[-previous].log` for every container and
//! init container, `fault-policies.txt`, the gateway's topology, cluster and exporter dumps, and
//! `kind export logs`. Every Kubernetes and gateway call has a deadline (`Timeouts::kube_read`):
//! a paused node's API server never answers. What cannot be read is listed in `errors.txt`.

use std::fmt::Write as _;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use c8dr_client::HttpApis;
use k8s_openapi::api::core::v1::{ContainerState, ContainerStatus, Event, Pod};

use crate::config::KindConfig;
use crate::error::KindError;
use crate::kube::KubeClients;
use crate::runner::CommandRunner;

/// Where the bundle's contents come from.
pub(crate) struct Sources<'a> {
    pub(crate) config: &'a KindConfig,
    pub(crate) clients: &'a KubeClients,
    /// The gateways through the backend's port-forwards (none before a backend exists).
    pub(crate) apis: Option<&'a HttpApis>,
    pub(crate) runner: &'a dyn CommandRunner,
}

fn write(path: &Path, content: &str, written: &mut Vec<PathBuf>) -> Result<(), KindError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| KindError::WriteArtifact {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, content).map_err(|source| KindError::WriteArtifact {
        path: path.to_path_buf(),
        source,
    })?;
    written.push(path.to_path_buf());
    Ok(())
}

/// An error with its causes, as `errors.txt` lists it.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("cannot render: {e}"))
}

/// A value as the API server wrote it (timestamps), or `-`.
fn text<T: serde::Serialize>(value: Option<&T>) -> String {
    value
        .and_then(|v| serde_json::to_value(v).ok())
        .map_or_else(
            || "-".to_owned(),
            |v| v.as_str().map_or_else(|| v.to_string(), str::to_owned),
        )
}

/// `future`, or a "no answer" error after `deadline`.
async fn within<T>(
    deadline: Duration,
    what: String,
    context: &str,
    future: impl Future<Output = Result<T, KindError>>,
) -> Result<T, KindError> {
    tokio::time::timeout(deadline, future)
        .await
        .unwrap_or_else(|_| {
            Err(KindError::NoAnswer {
                what,
                context: context.to_owned(),
                timeout: deadline,
            })
        })
}

fn state_line(state: Option<&ContainerState>) -> String {
    let Some(state) = state else {
        return "-".to_owned();
    };
    if let Some(running) = &state.running {
        return format!("Running (since {})", text(running.started_at.as_ref()));
    }
    if let Some(waiting) = &state.waiting {
        return format!(
            "Waiting ({}){}",
            waiting.reason.as_deref().unwrap_or("-"),
            waiting
                .message
                .as_deref()
                .map_or_else(String::new, |m| format!(": {m}"))
        );
    }
    if let Some(done) = &state.terminated {
        return format!(
            "Terminated ({}, exit code {}, finished {}){}",
            done.reason.as_deref().unwrap_or("-"),
            done.exit_code,
            text(done.finished_at.as_ref()),
            done.message
                .as_deref()
                .map_or_else(String::new, |m| format!(": {m}"))
        );
    }
    "-".to_owned()
}

fn containers_section(
    out: &mut String,
    title: &str,
    containers: &[k8s_openapi::api::core::v1::Container],
    statuses: &[ContainerStatus],
) {
    if containers.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}:");
    for container in containers {
        let status = statuses.iter().find(|s| s.name == container.name);
        let _ = writeln!(out, "  {}:", container.name);
        let _ = writeln!(
            out,
            "    Image:          {}",
            container.image.as_deref().unwrap_or("-")
        );
        let _ = writeln!(
            out,
            "    State:          {}",
            state_line(status.and_then(|s| s.state.as_ref()))
        );
        if let Some(last) = status.and_then(|s| s.last_state.as_ref()) {
            let _ = writeln!(out, "    Last State:     {}", state_line(Some(last)));
        }
        let _ = writeln!(
            out,
            "    Ready:          {}",
            status.map_or_else(|| "-".to_owned(), |s| s.ready.to_string())
        );
        let _ = writeln!(
            out,
            "    Restart Count:  {}",
            status.map_or_else(|| "-".to_owned(), |s| s.restart_count.to_string())
        );
    }
}

/// A pod as `kubectl describe pod` shows the parts that explain a failure: where it runs, its
/// phase, each container's and init container's state, last state and restarts, its
/// conditions, and its events. (The complete objects are in `pods.json` and `events.json`.)
#[must_use]
pub fn describe_pod(pod: &Pod, events: &[&Event]) -> String {
    let mut out = String::new();
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let _ = writeln!(out, "Name:         {}", meta.name.as_deref().unwrap_or("-"));
    let _ = writeln!(
        out,
        "Namespace:    {}",
        meta.namespace.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        out,
        "Node:         {}",
        spec.and_then(|s| s.node_name.as_deref()).unwrap_or("-")
    );
    let _ = writeln!(
        out,
        "Start Time:   {}",
        text(status.and_then(|s| s.start_time.as_ref()))
    );
    let labels: Vec<String> = meta
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let _ = writeln!(out, "Labels:       {}", labels.join(","));
    if meta.deletion_timestamp.is_some() {
        let _ = writeln!(
            out,
            "Terminating:  since {}",
            text(meta.deletion_timestamp.as_ref())
        );
    }
    let _ = writeln!(
        out,
        "Status:       {}{}",
        status.and_then(|s| s.phase.as_deref()).unwrap_or("-"),
        status
            .and_then(|s| s.reason.as_deref())
            .map_or_else(String::new, |r| format!(" ({r})"))
    );
    let _ = writeln!(
        out,
        "IP:           {}",
        status.and_then(|s| s.pod_ip.as_deref()).unwrap_or("-")
    );
    let empty = Vec::new();
    containers_section(
        &mut out,
        "Init Containers",
        spec.and_then(|s| s.init_containers.as_ref())
            .unwrap_or(&empty),
        status
            .and_then(|s| s.init_container_statuses.as_deref())
            .unwrap_or_default(),
    );
    containers_section(
        &mut out,
        "Containers",
        spec.map_or(&empty, |s| &s.containers),
        status
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or_default(),
    );
    let _ = writeln!(out, "Conditions:");
    for condition in status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
    {
        let _ = writeln!(
            out,
            "  {:<28}{}{}",
            condition.type_,
            condition.status,
            condition
                .message
                .as_deref()
                .map_or_else(String::new, |m| format!("  {m}"))
        );
    }
    let _ = writeln!(out, "Events:");
    if events.is_empty() {
        let _ = writeln!(out, "  <none>");
    }
    for event in events {
        let _ = writeln!(
            out,
            "  {} {} (x{}, last {}): {}",
            event.type_.as_deref().unwrap_or("-"),
            event.reason.as_deref().unwrap_or("-"),
            event.count.unwrap_or(1),
            text(event.last_timestamp.as_ref()),
            event.message.as_deref().unwrap_or("").trim()
        );
    }
    out
}

/// Every container of a pod, init containers first.
fn container_names(pod: &Pod) -> Vec<String> {
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    spec.init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
        .map(|c| c.name.clone())
        .collect()
}

/// Collect the bundle into `dir` (best effort; failures go to `errors.txt`).
pub(crate) async fn collect(sources: &Sources<'_>, dir: &Path) -> Result<Vec<PathBuf>, KindError> {
    let config = sources.config;
    let deadline = config.timeouts.kube_read;
    let mut written = Vec::new();
    let mut errors = String::new();
    for region in config.region_ids() {
        let context = config.context(region);
        let namespace = config.namespace(region);
        let base = dir.join(format!("{region}"));
        let client = within(deadline, "a client".to_owned(), &context, async {
            sources.clients.get(&context).await
        })
        .await;
        match client {
            Ok(client) => {
                let pods = within(deadline, "list pods".to_owned(), &context, async {
                    crate::kube::list_pods(&client, &context, &namespace).await
                })
                .await;
                match pods {
                    Ok(pods) => {
                        write(&base.join("pods.json"), &json(&pods), &mut written)?;
                        let events = within(deadline, "list events".to_owned(), &context, async {
                            crate::kube::list_events(&client, &context, &namespace).await
                        })
                        .await;
                        let events = match events {
                            Ok(events) => {
                                write(&base.join("events.json"), &json(&events), &mut written)?;
                                events
                            }
                            Err(error) => {
                                let _ = writeln!(errors, "{region}: events: {}", chain(&error));
                                Vec::new()
                            }
                        };
                        for pod in &pods {
                            let name = pod.metadata.name.clone().unwrap_or_default();
                            let own: Vec<&Event> = events
                                .iter()
                                .filter(|e| {
                                    e.involved_object.name.as_deref() == Some(name.as_str())
                                })
                                .collect();
                            write(
                                &base.join(format!("describe/{name}.txt")),
                                &describe_pod(pod, &own),
                                &mut written,
                            )?;
                            for container in container_names(pod) {
                                for previous in [false, true] {
                                    let log = within(
                                        deadline,
                                        format!("logs of {name}/{container}"),
                                        &context,
                                        async {
                                            crate::kube::container_log(
                                                &client, &context, &namespace, &name, &container,
                                                previous,
                                            )
                                            .await
                                        },
                                    )
                                    .await;
                                    match log {
                                        Ok(log) => {
                                            let suffix = if previous { "-previous" } else { "" };
                                            write(
                                                &base.join(format!(
                                                    "logs/{name}-{container}{suffix}.log"
                                                )),
                                                &log,
                                                &mut written,
                                            )?;
                                        }
                                        // No previous instance is the normal case.
                                        Err(error) if !previous => {
                                            let _ = writeln!(
                                                errors,
                                                "{region}: logs of {name}/{container}: {}",
                                                chain(&error)
                                            );
                                        }
                                        Err(_) => {}
                                    }
                                }
                            }
                        }
                    }
                    Err(error) => {
                        let _ = writeln!(errors, "{region}: pods: {}", chain(&error));
                    }
                }
                let policies = within(
                    deadline,
                    "list NetworkPolicies".to_owned(),
                    &context,
                    async { crate::kube::fault_policies(&client, &context, &namespace).await },
                )
                .await;
                match policies {
                    Ok(policies) => write(
                        &base.join("fault-policies.txt"),
                        &policies.join("\n"),
                        &mut written,
                    )?,
                    Err(error) => {
                        let _ = writeln!(errors, "{region}: policies: {}", chain(&error));
                    }
                }
            }
            Err(error) => {
                let _ = writeln!(errors, "{region}: client: {}", chain(&error));
            }
        }
        if let Some(apis) = sources.apis {
            for (file, result) in crate::backend::api_dumps(apis, region, deadline).await {
                match result {
                    Ok(text) => write(&base.join(file), &text, &mut written)?,
                    Err(error) => {
                        let _ = writeln!(errors, "{region}: {file}: {error}");
                    }
                }
            }
        }
        if config.context_overridden(region) {
            // Not one of c8dr's kind clusters.
            continue;
        }
        let kind_dir = dir.join(format!("kind/{}", config.cluster_name(region)));
        let export = crate::commands::kind_export_logs(config, region, &kind_dir);
        if let Err(error) =
            crate::runner::run_checked(sources.runner, &export, config.timeouts.command).await
        {
            let _ = writeln!(errors, "{region}: {}", chain(&error));
        }
    }
    if !errors.is_empty() {
        write(&dir.join("errors.txt"), &errors, &mut written)?;
    }
    Ok(written)
}
