//! Validated drills: what the engine runs.
//!
//! A [`Plan`] is a scenario with every reference resolved for one lost region: regions are ids,
//! broker sets are lists, exporters are ids, durations are parsed, resources are loaded, and
//! every step has a timeout. The engine only accepts a `Plan`; it never sees the YAML.

mod action;
mod expectation;

use std::time::Duration;

use serde::Serialize;

pub use action::{Action, CreateInstances};
pub use expectation::{Expectation, Leaders};

use crate::camunda::BackupRepository;
use crate::region::{ClusterLayout, RegionId};
pub use crate::spec::{InstancesVisibility, Phase, Require};

/// A drill ready to run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.description`.
    pub description: Option<String>,
    /// Where the scenario came from (a path, or `<built-in>/...`).
    pub source: String,
    /// Camunda version the scenario is written for.
    pub camunda_version: String,
    /// The stretched cluster's shape.
    pub layout: ClusterLayout,
    /// Exporter id of each region, indexed by region.
    pub exporter_ids: Vec<String>,
    /// Elasticsearch index holding process instances.
    pub process_instance_index: String,
    /// How long an acknowledged instance may normally take to reach Elasticsearch, in cluster
    /// time: `stale` checks count only instances older than this, and the final ledger audit
    /// waits at most this long.
    #[serde(with = "crate::serde_millis")]
    pub export_lag: Duration,
    /// The snapshot repository, when the scenario has one.
    pub backup: Option<BackupRepository>,
    /// The region the drill loses.
    pub lost_region: RegionId,
    /// The region that survives.
    pub surviving_region: RegionId,
    /// Poll interval for expectations, in cluster time.
    #[serde(with = "crate::serde_millis")]
    pub poll_interval: Duration,
    /// How often leadership and exported data are sampled for the report, in cluster time.
    #[serde(with = "crate::serde_millis")]
    pub sample_interval: Duration,
    /// The steady workload, when the scenario has one.
    pub workload: Option<Workload>,
    /// Recovery objectives.
    pub objectives: Objectives,
    /// Stages in order.
    pub stages: Vec<Stage>,
}

/// A phase of the procedure.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    /// Stage name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Which part of the procedure it is.
    pub phase: Option<Phase>,
    /// Steps in order.
    pub steps: Vec<Step>,
}

/// The steady workload.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workload {
    /// Cluster time between two creations.
    #[serde(with = "crate::serde_millis")]
    pub interval: Duration,
    /// Gateway region.
    pub via: RegionId,
    /// File name sent as the resource name.
    pub resource_name: String,
    /// Process id found in the file.
    pub process_id: String,
    /// File content.
    #[serde(skip)]
    pub content: Vec<u8>,
}

/// Recovery objectives; `None` means "measure, do not judge".
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Objectives {
    /// Longest acceptable recovery time, in cluster time.
    #[serde(with = "crate::serde_millis::option")]
    pub rto: Option<Duration>,
    /// Most acknowledged instances allowed missing at the end.
    pub rpo: Option<u64>,
}

/// One step of a stage.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// `stage.step`, 1-based, for example `3.2`.
    pub id: String,
    /// Step name.
    pub name: String,
    /// Which part of the published procedure it performs.
    pub procedure: Option<String>,
    /// Why it is there.
    pub description: Option<String>,
    /// Deadline for the action and all expectations, in cluster time.
    #[serde(with = "crate::serde_millis")]
    pub timeout: Duration,
    /// Why some mutants of this step are harmless.
    #[serde(skip_serializing_if = "crate::spec::HarmlessMutantsSpec::is_empty")]
    pub harmless_mutants: crate::spec::HarmlessMutantsSpec,
    /// How long the expectations must keep holding, in cluster time.
    #[serde(with = "crate::serde_millis::option")]
    pub hold_for: Option<Duration>,
    /// What to do.
    pub action: Option<Action>,
    /// What must then hold.
    pub expectations: Vec<Expectation>,
    /// Line of the step in the scenario file.
    pub line: u32,
}

impl Plan {
    /// Every step in order, with the name of its stage.
    pub fn steps(&self) -> impl Iterator<Item = (&Stage, &Step)> {
        self.stages
            .iter()
            .flat_map(|stage| stage.steps.iter().map(move |step| (stage, step)))
    }

    /// The exporter id of a region.
    #[must_use]
    pub fn exporter_of(&self, region: RegionId) -> &str {
        self.exporter_ids
            .get(region.index())
            .map_or("", String::as_str)
    }
}
