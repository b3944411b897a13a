//! The action vocabulary: platform operations, management calls, Elasticsearch snapshot calls
//! and the probe workload.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{BrokerSetSpec, ExporterRefSpec, RegionRefSpec};
use crate::camunda::ScalarValue;
use crate::region::LossMode;

/// What a step does. Written as a one-key map: `patchCluster: {...}`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum ActionSpec {
    /// Lose a region (platform).
    LoseRegion {
        /// Which region.
        #[schemars(with = "RegionRefSpec")]
        region: Spanned<RegionRefSpec>,
        /// `cutOff` (links severed, as NetworkPolicies do) or `down` (nothing answers).
        mode: LossMode,
    },
    /// Undo a region loss (platform).
    HealRegion {
        /// Which region.
        #[schemars(with = "RegionRefSpec")]
        region: Spanned<RegionRefSpec>,
    },
    /// Bring a lost region back empty (platform).
    RecreateRegion {
        /// Which region.
        #[schemars(with = "RegionRefSpec")]
        region: Spanned<RegionRefSpec>,
    },
    /// `helm upgrade --install` a region's release with overrides (platform).
    Deploy {
        /// Which region.
        #[schemars(with = "RegionRefSpec")]
        region: Spanned<RegionRefSpec>,
        /// Helm `--set` paths and values on top of the base values.
        #[serde(default)]
        values: BTreeMap<String, ScalarValue>,
        /// Extra `orchestration.env` entries.
        #[serde(default)]
        env: BTreeMap<String, String>,
    },
    /// `PATCH /actuator/cluster`: add or remove brokers, optionally forced.
    PatchCluster {
        /// Gateway region; default `surviving`.
        #[serde(default)]
        #[schemars(with = "Option<RegionRefSpec>")]
        via: Option<Spanned<RegionRefSpec>>,
        /// Brokers to add.
        #[serde(default)]
        #[schemars(with = "Option<BrokerSetSpec>")]
        add: Option<Spanned<BrokerSetSpec>>,
        /// Brokers to remove.
        #[serde(default)]
        #[schemars(with = "Option<BrokerSetSpec>")]
        remove: Option<Spanned<BrokerSetSpec>>,
        /// `partitions.replicationFactor`.
        #[serde(default)]
        #[schemars(with = "Option<u32>")]
        replication_factor: Option<Spanned<u32>>,
        /// `force=true`.
        #[serde(default)]
        force: bool,
        /// `dryRun=true`.
        #[serde(default)]
        dry_run: bool,
    },
    /// `POST /actuator/exporters/{id}/disable`.
    DisableExporter {
        /// Gateway region; default `surviving`.
        #[serde(default)]
        #[schemars(with = "Option<RegionRefSpec>")]
        via: Option<Spanned<RegionRefSpec>>,
        /// Which exporter.
        #[schemars(with = "ExporterRefSpec")]
        exporter: Spanned<ExporterRefSpec>,
    },
    /// `POST /actuator/exporters/{id}/enable`.
    EnableExporter {
        /// Gateway region; default `surviving`.
        #[serde(default)]
        #[schemars(with = "Option<RegionRefSpec>")]
        via: Option<Spanned<RegionRefSpec>>,
        /// Which exporter.
        #[schemars(with = "ExporterRefSpec")]
        exporter: Spanned<ExporterRefSpec>,
        /// Copy the position of this exporter.
        #[serde(default)]
        #[schemars(with = "Option<ExporterRefSpec>")]
        initialize_from: Option<Spanned<ExporterRefSpec>>,
    },
    /// `POST /actuator/exporting/pause` (or `?soft=true`).
    PauseExporting {
        /// Gateway region; default `surviving`.
        #[serde(default)]
        #[schemars(with = "Option<RegionRefSpec>")]
        via: Option<Spanned<RegionRefSpec>>,
        /// Soft pause.
        #[serde(default)]
        soft: bool,
    },
    /// `POST /actuator/exporting/resume`.
    ResumeExporting {
        /// Gateway region; default `surviving`.
        #[serde(default)]
        #[schemars(with = "Option<RegionRefSpec>")]
        via: Option<Spanned<RegionRefSpec>>,
    },
    /// `PUT /_snapshot/{repository}` with `spec.backup`.
    RegisterRepository {
        /// Whose Elasticsearch.
        #[schemars(with = "RegionRefSpec")]
        region: Spanned<RegionRefSpec>,
    },
    /// `PUT /_snapshot/{repository}/{snapshot}?wait_for_completion=true`.
    CreateSnapshot {
        /// Whose Elasticsearch.
        #[schemars(with = "RegionRefSpec")]
        region: Spanned<RegionRefSpec>,
        /// Snapshot name.
        #[schemars(with = "String")]
        snapshot: Spanned<String>,
    },
    /// `POST /_snapshot/{repository}/{snapshot}/_restore?wait_for_completion=true`.
    RestoreSnapshot {
        /// Whose Elasticsearch.
        #[schemars(with = "RegionRefSpec")]
        region: Spanned<RegionRefSpec>,
        /// Snapshot name.
        #[schemars(with = "String")]
        snapshot: Spanned<String>,
    },
    /// `POST /v2/deployments` of a BPMN file (path relative to the scenario file).
    DeployProcess {
        /// Gateway region; default `surviving`.
        #[serde(default)]
        #[schemars(with = "Option<RegionRefSpec>")]
        via: Option<Spanned<RegionRefSpec>>,
        /// BPMN file.
        #[schemars(with = "String")]
        resource: Spanned<String>,
    },
    /// `POST /v2/process-instances`, recording every attempt in the run's ledger.
    CreateInstances(CreateInstancesSpec),
    /// Complete instances through the engine: the earliest acknowledged before the fault (their
    /// user task is found with `POST /v2/user-tasks/search` and completed).
    CompleteInstances {
        /// Gateway region; default `surviving`.
        #[serde(default)]
        #[schemars(with = "Option<RegionRefSpec>")]
        via: Option<Spanned<RegionRefSpec>>,
        /// How many instances.
        #[schemars(with = "u32")]
        count: Spanned<u32>,
    },
}

/// `createInstances`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateInstancesSpec {
    /// Gateway region; default `surviving`.
    #[serde(default)]
    #[schemars(with = "Option<RegionRefSpec>")]
    pub via: Option<Spanned<RegionRefSpec>>,
    /// How many instances.
    #[schemars(with = "u32")]
    pub count: Spanned<u32>,
    /// Process id; default: the process deployed earlier in the run.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub process_id: Option<Spanned<String>>,
    /// Whether the cluster must acknowledge (default) or reject the creations.
    #[serde(default)]
    pub require: Require,
}

/// What `createInstances` requires of the cluster.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Require {
    /// `count` creations must be acknowledged; failed attempts are retried until the step times out.
    #[default]
    Acknowledged,
    /// Every one of `count` attempts must be rejected (the cluster cannot process).
    Rejected,
}
