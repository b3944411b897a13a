//! The argv of every kind, helm and docker call. Pure builders: the backend runs what they
//! return and `c8dr plan` prints it.

use std::path::{Path, PathBuf};

use c8dr_core::camunda::{ReleaseOverrides, ScalarValue};
use c8dr_core::region::RegionId;

use crate::config::KindConfig;
use crate::runner::Invocation;

/// Path of the generated kind config of a region inside the run directory.
#[must_use]
pub fn kind_config_path(config: &KindConfig, region: RegionId) -> PathBuf {
    config.run_path(format!("kind-config/region{}.yaml", region.0))
}

/// Path of the base values file passed to helm (the user's file, or the built-in fixture copied
/// into the run directory).
#[must_use]
pub fn base_values_path(config: &KindConfig) -> PathBuf {
    config
        .base_values
        .clone()
        .unwrap_or_else(|| config.run_path("helm/camunda-values-13.x.yaml"))
}

/// Path of the generated values of a region.
#[must_use]
pub fn region_values_path(config: &KindConfig, region: RegionId) -> PathBuf {
    config.run_path(format!("helm/region{}-values.yaml", region.0))
}

/// Path of the env-override values of a region's deploy step.
#[must_use]
pub fn env_overrides_path(config: &KindConfig, region: RegionId) -> PathBuf {
    config.run_path(format!("helm/region{}-env-overrides.yaml", region.0))
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// `kind get clusters`.
#[must_use]
pub fn kind_get_clusters() -> Invocation {
    Invocation::new("kind", ["get", "clusters"])
}

/// `kind create cluster` for a region, waiting for the control plane.
#[must_use]
pub fn kind_create(config: &KindConfig, region: RegionId) -> Invocation {
    Invocation::new(
        "kind",
        [
            "create".to_owned(),
            "cluster".to_owned(),
            "--name".to_owned(),
            config.cluster_name(region),
            "--config".to_owned(),
            path(&kind_config_path(config, region)),
            "--wait".to_owned(),
            format!("{}s", config.timeouts.cluster_create.as_secs()),
        ],
    )
    .args(config.kubeconfig_args("--kubeconfig"))
}

/// `kind delete cluster` for a region.
#[must_use]
pub fn kind_delete(config: &KindConfig, region: RegionId) -> Invocation {
    Invocation::new("kind", ["delete", "cluster", "--name"])
        .arg(config.cluster_name(region))
        .args(config.kubeconfig_args("--kubeconfig"))
}

/// `kind load docker-image` of one image into a region's nodes.
#[must_use]
pub fn kind_load(config: &KindConfig, region: RegionId, image: &str) -> Invocation {
    Invocation::new("kind", ["load", "docker-image", image, "--name"])
        .arg(config.cluster_name(region))
}

/// `kind export logs` of a region into a directory.
#[must_use]
pub fn kind_export_logs(config: &KindConfig, region: RegionId, dir: &Path) -> Invocation {
    Invocation::new("kind", ["export", "logs"])
        .arg(path(dir))
        .arg("--name")
        .arg(config.cluster_name(region))
}

/// `docker pull` (before `kind load`, which needs the image locally).
#[must_use]
pub fn docker_pull(image: &str) -> Invocation {
    Invocation::new("docker", ["pull", image])
}

/// `docker inspect` printing a node container's mounts, one `<source>|<destination>` per line.
#[must_use]
pub fn docker_mounts(node: &str) -> Invocation {
    Invocation::new(
        "docker",
        [
            "inspect",
            "--format",
            "{{range .Mounts}}{{.Source}}|{{.Destination}}{{println}}{{end}}",
            node,
        ],
    )
}

/// `docker exec <node> ip route replace <cidr> via <gateway>` (idempotent).
#[must_use]
pub fn docker_route(node: &str, cidr: &str, via: &str) -> Invocation {
    Invocation::new(
        "docker",
        ["exec", node, "ip", "route", "replace", cidr, "via", via],
    )
}

/// `docker pause` of a node: every process in it freezes, its API server too.
#[must_use]
pub fn docker_pause(node: &str) -> Invocation {
    Invocation::new("docker", ["pause", node])
}

/// `docker unpause` of a node.
#[must_use]
pub fn docker_unpause(node: &str) -> Invocation {
    Invocation::new("docker", ["unpause", node])
}

/// `helm repo add` of the chart repository (`--force-update` makes it idempotent).
#[must_use]
pub fn helm_repo_add(config: &KindConfig) -> Invocation {
    Invocation::new("helm", ["repo", "add"])
        .arg(&config.chart_repo_name)
        .arg(&config.chart_repo_url)
        .arg("--force-update")
}

/// `helm repo update` of the chart repository.
#[must_use]
pub fn helm_repo_update(config: &KindConfig) -> Invocation {
    Invocation::new("helm", ["repo", "update"]).arg(&config.chart_repo_name)
}

/// `helm upgrade --install` of a region's release: base values, the region's generated values,
/// the step's env overrides file (when the step adds env entries) and the step's `--set` values.
/// No `--wait`: recreated brokers are not Ready until they are re-added to the cluster.
#[must_use]
pub fn helm_upgrade_install(
    config: &KindConfig,
    region: RegionId,
    overrides: &ReleaseOverrides,
) -> Invocation {
    let mut invocation = Invocation::new("helm", ["upgrade", "--install"])
        .arg(&config.release)
        .arg(&config.chart)
        .arg("--version")
        .arg(&config.chart_version)
        .arg("--kube-context")
        .arg(config.context(region))
        .arg("--namespace")
        .arg(config.namespace(region))
        .arg("--create-namespace")
        .args(config.kubeconfig_args("--kubeconfig"))
        .arg("-f")
        .arg(path(&base_values_path(config)))
        .arg("-f")
        .arg(path(&region_values_path(config, region)));
    if !overrides.env.is_empty() {
        invocation = invocation
            .arg("-f")
            .arg(path(&env_overrides_path(config, region)));
    }
    for (key, value) in &overrides.values {
        let flag = match value {
            ScalarValue::String(_) => "--set-string",
            _ => "--set",
        };
        invocation = invocation.arg(flag).arg(format!("{key}={value}"));
    }
    invocation
}

/// `helm uninstall` of a region's release, waiting for its resources to go.
#[must_use]
pub fn helm_uninstall(config: &KindConfig, region: RegionId) -> Invocation {
    Invocation::new("helm", ["uninstall"])
        .arg(&config.release)
        .arg("--kube-context")
        .arg(config.context(region))
        .arg("--namespace")
        .arg(config.namespace(region))
        .args(config.kubeconfig_args("--kubeconfig"))
        .args(["--wait", "--ignore-not-found", "--timeout"])
        .arg(format!("{}s", config.timeouts.recreate.as_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_deploy_puts_string_values_through_set_string() {
        let mut overrides = ReleaseOverrides::default();
        overrides.values.insert(
            "orchestration.profiles.operate".to_owned(),
            ScalarValue::Bool(false),
        );
        overrides.values.insert(
            "global.image.tag".to_owned(),
            ScalarValue::String("8.8.1".to_owned()),
        );
        overrides.env.insert("X".to_owned(), "1".to_owned());
        let line =
            helm_upgrade_install(&KindConfig::default(), RegionId(1), &overrides).to_string();
        assert!(line.contains("--set-string global.image.tag=8.8.1"));
        assert!(line.contains("--set orchestration.profiles.operate=false"));
        assert!(line.contains("-f c8dr-run/kind/helm/region1-env-overrides.yaml"));
        assert!(!line.contains("--wait"));
    }
}
