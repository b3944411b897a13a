//! Resolved actions.

use serde::Serialize;

use crate::camunda::{
    BackupRepository, ChangeOptions, ClusterPatchRequest, ExportingOperation, ReleaseOverrides,
};
use crate::region::{LossMode, RegionId};
use crate::spec::Require;

/// What a step does, with every reference resolved.
#[derive(Debug, Clone, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum Action {
    /// Lose a region.
    LoseRegion {
        /// Region.
        region: RegionId,
        /// How.
        mode: LossMode,
    },
    /// Undo a loss.
    HealRegion {
        /// Region.
        region: RegionId,
    },
    /// Bring a region back empty.
    RecreateRegion {
        /// Region.
        region: RegionId,
    },
    /// `helm upgrade --install` with overrides.
    Deploy {
        /// Region.
        region: RegionId,
        /// Overrides on top of the base values.
        overrides: ReleaseOverrides,
    },
    /// `PATCH /actuator/cluster`.
    PatchCluster {
        /// Gateway region.
        via: RegionId,
        /// Body.
        request: ClusterPatchRequest,
        /// `force`, `dryRun`.
        options: ChangeOptions,
    },
    /// Disable an exporter.
    DisableExporter {
        /// Gateway region.
        via: RegionId,
        /// Exporter id.
        exporter: String,
    },
    /// Enable an exporter.
    EnableExporter {
        /// Gateway region.
        via: RegionId,
        /// Exporter id.
        exporter: String,
        /// Exporter to copy the position from.
        initialize_from: Option<String>,
    },
    /// Pause, soft-pause or resume exporting.
    Exporting {
        /// Gateway region.
        via: RegionId,
        /// Which operation.
        operation: ExportingOperation,
    },
    /// Register the backup repository.
    RegisterRepository {
        /// Whose Elasticsearch.
        region: RegionId,
        /// Repository.
        repository: BackupRepository,
    },
    /// Take a snapshot and wait for it.
    CreateSnapshot {
        /// Whose Elasticsearch.
        region: RegionId,
        /// Repository name.
        repository: String,
        /// Snapshot name.
        snapshot: String,
    },
    /// Restore a snapshot and wait for it.
    RestoreSnapshot {
        /// Whose Elasticsearch.
        region: RegionId,
        /// Repository name.
        repository: String,
        /// Snapshot name.
        snapshot: String,
    },
    /// Deploy a BPMN resource.
    DeployProcess {
        /// Gateway region.
        via: RegionId,
        /// File name sent as the resource name.
        resource_name: String,
        /// Process id found in the file.
        process_id: String,
        /// File content.
        #[serde(skip)]
        content: Vec<u8>,
    },
    /// Create process instances.
    CreateInstances(CreateInstances),
    /// Complete the earliest instances acknowledged before the fault, through the engine.
    CompleteInstances {
        /// Gateway region.
        via: RegionId,
        /// How many.
        count: u32,
    },
}

/// `createInstances`, resolved.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateInstances {
    /// Gateway region.
    pub via: RegionId,
    /// How many.
    pub count: u32,
    /// Process id.
    pub process_id: String,
    /// Acknowledged or rejected.
    pub require: Require,
}

impl Action {
    /// Short kind name, as written in scenario files.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Action::LoseRegion { .. } => "loseRegion",
            Action::HealRegion { .. } => "healRegion",
            Action::RecreateRegion { .. } => "recreateRegion",
            Action::Deploy { .. } => "deploy",
            Action::PatchCluster { .. } => "patchCluster",
            Action::DisableExporter { .. } => "disableExporter",
            Action::EnableExporter { .. } => "enableExporter",
            Action::Exporting {
                operation: ExportingOperation::Resume,
                ..
            } => "resumeExporting",
            Action::Exporting { .. } => "pauseExporting",
            Action::RegisterRepository { .. } => "registerRepository",
            Action::CreateSnapshot { .. } => "createSnapshot",
            Action::RestoreSnapshot { .. } => "restoreSnapshot",
            Action::DeployProcess { .. } => "deployProcess",
            Action::CreateInstances(_) => "createInstances",
            Action::CompleteInstances { .. } => "completeInstances",
        }
    }

    /// One line saying what the action does, for progress output and reports.
    #[must_use]
    pub fn summary(&self) -> String {
        match self {
            Action::LoseRegion { region, mode } => format!("lose {region} ({mode})"),
            Action::HealRegion { region } => format!("heal {region}"),
            Action::RecreateRegion { region } => format!("recreate {region} empty"),
            Action::Deploy { region, overrides } => {
                let mut parts: Vec<String> = overrides
                    .values
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                parts.extend(overrides.env.iter().map(|(k, v)| format!("env {k}={v}")));
                if parts.is_empty() {
                    format!("deploy {region} with its base values")
                } else {
                    format!("deploy {region} with {}", parts.join(", "))
                }
            }
            Action::PatchCluster {
                via,
                request,
                options,
            } => {
                let mut parts = Vec::new();
                if let Some(brokers) = &request.brokers {
                    if !brokers.add.is_empty() {
                        parts.push(format!("add brokers {:?}", brokers.add));
                    }
                    if !brokers.remove.is_empty() {
                        parts.push(format!("remove brokers {:?}", brokers.remove));
                    }
                }
                if let Some(rf) = request
                    .partitions
                    .as_ref()
                    .and_then(|p| p.replication_factor)
                {
                    parts.push(format!("replicationFactor {rf}"));
                }
                if options.force {
                    parts.push("force".into());
                }
                if options.dry_run {
                    parts.push("dry run".into());
                }
                format!("PATCH /actuator/cluster via {via}: {}", parts.join(", "))
            }
            Action::DisableExporter { via, exporter } => {
                format!("disable exporter {exporter} via {via}")
            }
            Action::EnableExporter {
                via,
                exporter,
                initialize_from,
            } => match initialize_from {
                Some(from) => format!("enable exporter {exporter} from {from} via {via}"),
                None => format!("enable exporter {exporter} via {via}"),
            },
            Action::Exporting { via, operation } => match operation {
                ExportingOperation::Pause => format!("pause exporting via {via}"),
                ExportingOperation::SoftPause => format!("soft-pause exporting via {via}"),
                ExportingOperation::Resume => format!("resume exporting via {via}"),
            },
            Action::RegisterRepository { region, repository } => {
                format!("register repository {} in {region}", repository.name)
            }
            Action::CreateSnapshot {
                region, snapshot, ..
            } => format!("snapshot {snapshot} in {region}"),
            Action::RestoreSnapshot {
                region, snapshot, ..
            } => format!("restore {snapshot} in {region}"),
            Action::DeployProcess {
                via, resource_name, ..
            } => format!("deploy {resource_name} via {via}"),
            Action::CompleteInstances { via, count } => format!(
                "complete {count} instance(s) acknowledged before the fault, through the engine via {via}"
            ),
            Action::CreateInstances(c) => match c.require {
                Require::Acknowledged => {
                    format!(
                        "create {} instance(s) of {} via {}",
                        c.count, c.process_id, c.via
                    )
                }
                Require::Rejected => format!(
                    "try {} instance(s) of {} via {}, expecting rejection",
                    c.count, c.process_id, c.via
                ),
            },
        }
    }
}
