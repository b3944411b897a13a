//! The diagnostics bundle written when a drill fails.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::backend::{KindBackend, api_dumps};
use crate::error::KindError;

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

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("cannot render: {e}"))
}

/// Collect the bundle (best effort; failures go to `errors.txt`).
pub(crate) async fn collect(backend: &KindBackend, dir: &Path) -> Result<Vec<PathBuf>, KindError> {
    let config = backend.config();
    let mut written = Vec::new();
    let mut errors = String::new();
    for region in config.region_ids() {
        let context = config.context(region);
        let namespace = config.namespace(region);
        let base = dir.join(format!("{region}"));
        match backend.clients().get(&context).await {
            Ok(client) => {
                match crate::kube::list_pods(&client, &context, &namespace).await {
                    Ok(pods) => {
                        write(&base.join("pods.json"), &json(&pods), &mut written)?;
                        let events = crate::kube::list_events(&client, &context, &namespace).await;
                        let events = match events {
                            Ok(events) => {
                                write(&base.join("events.json"), &json(&events), &mut written)?;
                                events
                            }
                            Err(error) => {
                                let _ = writeln!(errors, "{region}: events: {error}");
                                Vec::new()
                            }
                        };
                        for pod in &pods {
                            let name = pod.metadata.name.clone().unwrap_or_default();
                            let own: Vec<_> = events
                                .iter()
                                .filter(|e| {
                                    e.involved_object.name.as_deref() == Some(name.as_str())
                                })
                                .collect();
                            let describe = format!("{}\n--- events ---\n{}", json(pod), json(&own));
                            write(
                                &base.join(format!("describe/{name}.txt")),
                                &describe,
                                &mut written,
                            )?;
                            let containers: Vec<String> = pod
                                .spec
                                .as_ref()
                                .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
                                .unwrap_or_default();
                            for container in containers {
                                for previous in [false, true] {
                                    match crate::kube::container_log(
                                        &client, &context, &namespace, &name, &container, previous,
                                    )
                                    .await
                                    {
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
                                        Err(error) if !previous => {
                                            let _ = writeln!(
                                                errors,
                                                "{region}: logs of {name}/{container}: {error}"
                                            );
                                        }
                                        Err(_) => {}
                                    }
                                }
                            }
                        }
                    }
                    Err(error) => {
                        let _ = writeln!(errors, "{region}: pods: {error}");
                    }
                }
                match crate::kube::fault_policies(&client, &context, &namespace).await {
                    Ok(policies) => write(
                        &base.join("fault-policies.txt"),
                        &policies.join("\n"),
                        &mut written,
                    )?,
                    Err(error) => {
                        let _ = writeln!(errors, "{region}: policies: {error}");
                    }
                }
            }
            Err(error) => {
                let _ = writeln!(errors, "{region}: client: {error}");
            }
        }
        for (file, result) in api_dumps(backend.apis(), region).await {
            match result {
                Ok(text) => write(&base.join(file), &text, &mut written)?,
                Err(error) => {
                    let _ = writeln!(errors, "{region}: {file}: {error}");
                }
            }
        }
        let kind_dir = dir.join(format!("kind/{}", config.cluster_name(region)));
        let export = crate::commands::kind_export_logs(config, region, &kind_dir);
        if let Err(error) =
            crate::runner::run_checked(backend.runner(), &export, config.timeouts.command).await
        {
            let _ = writeln!(errors, "{region}: {error}");
        }
    }
    if !errors.is_empty() {
        write(&dir.join("errors.txt"), &errors, &mut written)?;
    }
    Ok(written)
}
