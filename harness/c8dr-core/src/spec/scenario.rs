//! The scenario file's header, Camunda layout, backup repository, defaults, stages and steps.

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{ActionSpec, ExpectSpec};

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioFile {
    /// Must be [`super::API_VERSION`].
    #[schemars(with = "String")]
    pub api_version: Spanned<String>,
    /// Must be [`super::KIND`].
    #[schemars(with = "String")]
    pub kind: Spanned<String>,
    /// Name and description.
    pub metadata: Metadata,
    /// The drill.
    pub spec: ScenarioSpec,
}

/// `metadata`.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// Scenario name (lowercase letters, digits, `-` and `.`).
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// What the drill proves.
    #[serde(default)]
    pub description: Option<String>,
}

/// `spec`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioSpec {
    /// The Camunda deployment the drill runs against.
    pub camunda: CamundaSpec,
    /// The snapshot repository the failback uses.
    #[serde(default)]
    pub backup: Option<BackupSpec>,
    /// The region to lose when `--lost-region` is not given.
    #[serde(default)]
    #[schemars(with = "Option<u8>")]
    pub lost_region: Option<Spanned<u8>>,
    /// Default timeout and poll interval.
    #[serde(default)]
    pub defaults: Option<DefaultsSpec>,
    /// Process instances created at a steady rate for the whole drill, recorded in the ledger.
    #[serde(default)]
    pub workload: Option<WorkloadSpec>,
    /// Recovery objectives: the run fails when a measured value exceeds its objective.
    #[serde(default)]
    pub objectives: Option<ObjectivesSpec>,
    /// The stages, in order (spanned so that an empty list can be pointed at).
    #[schemars(with = "Vec<StageSpec>")]
    pub stages: Spanned<Vec<Spanned<StageSpec>>>,
}

/// `spec.camunda`: the version and shape of the deployment. Everything that differs between
/// Camunda versions is data here, not code in the engine.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CamundaSpec {
    /// Camunda minor version, for example `"8.8"`.
    #[schemars(with = "String")]
    pub version: Spanned<String>,
    /// Number of regions (2).
    #[schemars(with = "u8")]
    pub regions: Spanned<u8>,
    /// Brokers over all regions.
    #[schemars(with = "u32")]
    pub cluster_size: Spanned<u32>,
    /// Partitions.
    #[schemars(with = "u32")]
    pub partition_count: Spanned<u32>,
    /// Replication factor.
    #[schemars(with = "u32")]
    pub replication_factor: Spanned<u32>,
    /// Exporter id of region `{region}`; default `camundaregion{region}`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub exporter_id_pattern: Option<Spanned<String>>,
    /// Elasticsearch index holding process instances; default `operate-list-view-8.3.0_`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub process_instance_index: Option<Spanned<String>>,
    /// The longest an acknowledged instance normally takes to show in a region's Elasticsearch
    /// (the exporter's flush delay plus the index refresh, with room for load), in cluster time;
    /// default `30s`. An `instances: {visible: stale}` check only counts instances acknowledged
    /// at least this long ago, so ordinary export lag never passes for stalled exporting; the
    /// final ledger audit waits at most this long for the last acknowledged instances.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub export_lag: Option<Spanned<String>>,
}

/// `spec.backup`: exactly one of `s3` or `fs`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupSpec {
    /// Repository name, for example `camunda_backup`.
    #[schemars(with = "String")]
    pub repository: Spanned<String>,
    /// An S3 bucket both regions see.
    #[serde(default)]
    pub s3: Option<S3RepositorySpec>,
    /// A shared file system location.
    #[serde(default)]
    pub fs: Option<FsRepositorySpec>,
}

/// S3 repository settings.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3RepositorySpec {
    /// Bucket.
    #[schemars(with = "String")]
    pub bucket: Spanned<String>,
    /// Path in the bucket; default `backups`.
    #[serde(default)]
    pub base_path: Option<String>,
    /// Elasticsearch S3 client; default `camunda`.
    #[serde(default)]
    pub client: Option<String>,
}

/// File system repository settings.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FsRepositorySpec {
    /// Directory under Elasticsearch's `path.repo`.
    #[schemars(with = "String")]
    pub location: Spanned<String>,
}

/// `spec.defaults`.
#[derive(Debug, Clone, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DefaultsSpec {
    /// Default step timeout in cluster time, for example `5m`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
    /// Default poll interval in cluster time, for example `1s`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub poll_interval: Option<Spanned<String>>,
    /// How often the run samples partition leadership and exported data for the report's
    /// charts, in cluster time; default `5s`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub sample_interval: Option<Spanned<String>>,
}

/// `spec.workload`: the steady stream of process instances that runs for the whole drill.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Creations per unit of cluster time: `2/s`, `30/m`, `100/h`.
    #[schemars(with = "String")]
    pub rate: Spanned<String>,
    /// Gateway region the workload talks to; default `surviving` (clients are rerouted to the
    /// surviving region by DNS, step 1 of the procedure).
    #[serde(default)]
    #[schemars(with = "Option<super::RegionRefSpec>")]
    pub via: Option<Spanned<super::RegionRefSpec>>,
    /// BPMN file deployed when the workload starts (path relative to the scenario file).
    #[schemars(with = "String")]
    pub resource: Spanned<String>,
}

/// `spec.objectives`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectivesSpec {
    /// Longest acceptable time from the fault to the first instance the cluster acknowledges
    /// again, in cluster time, for example `2m`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub rto: Option<Spanned<String>>,
    /// Most acknowledged instances that may be missing from any region at the end; `0` for none.
    #[serde(default)]
    #[schemars(with = "Option<u64>")]
    pub rpo: Option<Spanned<u64>>,
}

/// The part of the procedure a stage belongs to; milestones (fault, failover, failback) are
/// read from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// Before the fault.
    SteadyState,
    /// The fault and the degraded state.
    RegionLoss,
    /// Temporary recovery in the surviving region.
    Failover,
    /// Restoring the lost region.
    Failback,
    /// After the procedure.
    FinalState,
}

/// One stage: a phase of the procedure (steady state, region loss, failover, failback, ...).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageSpec {
    /// Stage name (unique).
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// What the stage is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Which part of the procedure the stage is.
    #[serde(default)]
    pub phase: Option<Phase>,
    /// Steps, in order.
    #[schemars(with = "Vec<StepSpec>")]
    pub steps: Vec<Spanned<StepSpec>>,
}

/// One step: at most one action, then expectations polled until they hold or the step times out.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepSpec {
    /// Step name (unique within its stage).
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Which part of the published procedure this step performs, for example `failback step 3`.
    #[serde(default)]
    pub procedure: Option<String>,
    /// Why the step is there, when it is not obvious.
    #[serde(default)]
    pub description: Option<String>,
    /// Step timeout in cluster time; defaults by action kind.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
    /// The expectations must keep holding this long (cluster time) before the step passes: for
    /// "stays stale" or "stays degraded" checks that a single lucky observation must not satisfy.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub hold_for: Option<Spanned<String>>,
    /// Mutants of this step that `c8dr mutate` may see survive, each with the reason it is
    /// harmless. A surviving mutant without a reason is a gap in the drill's checks.
    #[serde(default)]
    pub harmless_mutants: Option<HarmlessMutantsSpec>,
    /// What to do.
    #[serde(default)]
    #[schemars(with = "Option<ActionSpec>")]
    pub action: Option<Spanned<ActionSpec>>,
    /// What must then hold.
    #[serde(default)]
    #[schemars(with = "Vec<ExpectSpec>")]
    pub expect: Vec<Spanned<ExpectSpec>>,
}

/// Why a mutant of a step is harmless (`harmlessMutants` of a step).
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HarmlessMutantsSpec {
    /// Dropping the step loses nothing, because ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<String>,
    /// Running the step after the next one instead of before loses nothing, because ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_with_next: Option<String>,
    /// Aiming the step at the other region loses nothing, because ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrong_region: Option<String>,
    /// Sending the step's request through the other region's gateway loses nothing, because ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrong_gateway: Option<String>,
}

impl HarmlessMutantsSpec {
    /// Whether no mutant of the step is declared harmless.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.drop.is_none()
            && self.swap_with_next.is_none()
            && self.wrong_region.is_none()
            && self.wrong_gateway.is_none()
    }
}
