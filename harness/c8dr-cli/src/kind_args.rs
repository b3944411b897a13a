//! Flags of the kind backend, shared by `clusters`, `run --backend kind` and `plan --backend kind`.

use std::path::{Path, PathBuf};

use c8dr_core::region::RegionId;
use c8dr_kind::{KindConfig, LossRealisation, SnapshotStore};
use clap::Args;

use crate::errors::CliError;

/// Where `c8dr clusters up|down` write their generated files by default (`--run-dir`).
pub(crate) const CLUSTERS_RUN_DIR: &str = "c8dr-reports/clusters";

/// How c8dr reaches and shapes the kind clusters.
#[derive(Debug, Args, Clone)]
pub(crate) struct KindArgs {
    /// Camunda Helm chart version (13.x for Camunda 8.8); default: the pinned one.
    #[arg(long, value_name = "VERSION", env = "C8DR_CHART_VERSION")]
    pub(crate) chart_version: Option<String>,

    /// How a lost region is realised on kind: `network-policy` (default for `cutOff`),
    /// `node-pause` (default for `down`) or `cluster-delete`.
    #[arg(long, value_name = "MODE")]
    pub(crate) loss_mode: Option<LossRealisation>,

    /// Use a shared host directory as an `fs` snapshot repository instead of MinIO. Give the same
    /// directory to `clusters up` (which creates it, mode 0777, and mounts it into the nodes) and
    /// to `run`.
    #[arg(long, value_name = "DIR")]
    pub(crate) snapshot_dir: Option<PathBuf>,

    /// Base Helm values file (read, never written); default: fixtures/helm for chart 13.x.
    #[arg(long, value_name = "FILE")]
    pub(crate) values: Option<PathBuf>,

    /// Kubeconfig file; default: $KUBECONFIG or ~/.kube/config.
    #[arg(long, value_name = "FILE")]
    pub(crate) kubeconfig: Option<PathBuf>,

    /// Use this kube context for a region, as `REGION=CONTEXT` (for example `0=staging-east`).
    /// Contexts other than `kind-c8dr-*` must also be named with `--allow-context`. What acts on
    /// c8dr's own kind clusters is then refused for that region: `clusters up|down`, and the
    /// loss modes `node-pause` and `cluster-delete`.
    #[arg(long = "context", value_name = "REGION=CONTEXT")]
    pub(crate) contexts: Vec<String>,

    /// Allow c8dr to touch this kube context (it only touches `kind-c8dr-*` otherwise).
    #[arg(long = "allow-context", value_name = "CONTEXT")]
    pub(crate) allowed_contexts: Vec<String>,

    /// Preload these images into the kind nodes (faster nightly runs).
    #[arg(long = "preload-image", value_name = "IMAGE")]
    pub(crate) preload_images: Vec<String>,
}

impl KindArgs {
    /// The backend configuration, generating into `run_dir`.
    pub(crate) fn config(&self, run_dir: &Path) -> Result<KindConfig, CliError> {
        let mut config = KindConfig::default().with_run_dir(run_dir);
        if let Some(version) = &self.chart_version {
            config = config.with_chart_version(version.clone());
        }
        if let Some(mode) = self.loss_mode {
            config = config.with_loss_mode(mode);
        }
        if let Some(dir) = &self.snapshot_dir {
            // Absolute: kind mounts it into the nodes, Docker needs the host path.
            let dir = std::path::absolute(dir)
                .map_err(|e| CliError::Usage(format!("--snapshot-dir {}: {e}", dir.display())))?;
            config = config.with_snapshot_store(SnapshotStore::SharedDirectory(dir));
        }
        if let Some(values) = &self.values {
            config = config.with_base_values(values.clone());
        }
        if let Some(kubeconfig) = &self.kubeconfig {
            config = config.with_kubeconfig(kubeconfig.clone());
        }
        if !self.preload_images.is_empty() {
            config = config.with_preload_images(self.preload_images.clone());
        }
        for context in &self.allowed_contexts {
            config = config.with_allowed_context(context.clone());
        }
        for entry in &self.contexts {
            let (region, context) = entry.split_once('=').ok_or_else(|| {
                CliError::Usage(format!("--context {entry}: expected REGION=CONTEXT"))
            })?;
            let region: u8 = region.trim().parse().map_err(|_| {
                CliError::Usage(format!(
                    "--context {entry}: `{region}` is not a region index"
                ))
            })?;
            config = config.with_context(RegionId(region), context.trim().to_owned());
        }
        config.validate().map_err(CliError::Kind)?;
        Ok(config)
    }
}
