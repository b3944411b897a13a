//! Report data types.

use serde::Serialize;

use crate::backend::BackendInfo;
use crate::region::RegionId;

/// Version of the JSON report format.
pub const FORMAT_VERSION: u32 = 1;

/// How something ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// It passed.
    Passed,
    /// It failed: an action was rejected or an expectation did not hold.
    Failed,
    /// It did not run because an earlier step failed.
    Skipped,
    /// The infrastructure failed; the drill could not judge the procedure.
    Errored,
}

impl Outcome {
    /// Lowercase word for terminal output.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Errored => "errored",
        }
    }
}

/// The tool that wrote the report.
#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    /// `c8dr`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// Report format version.
    pub format_version: u32,
    /// Tool.
    pub tool: ToolInfo,
    /// Scenario name.
    pub scenario: String,
    /// Scenario file.
    pub source: String,
    /// Camunda version of the scenario.
    pub camunda_version: String,
    /// Lost region.
    pub lost_region: RegionId,
    /// Surviving region.
    pub surviving_region: RegionId,
    /// Backend facts.
    pub backend: BackendInfo,
    /// Whether the run's durations are virtual time (a deterministic drill against the twin)
    /// rather than wall time.
    pub virtual_time: bool,
    /// Start time (RFC 3339).
    pub started_at: String,
    /// Wall-clock duration in milliseconds.
    pub duration_ms: u64,
    /// Overall outcome.
    pub outcome: Outcome,
    /// The first failure, when the run failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureSummary>,
    /// Stages in order.
    pub stages: Vec<StageReport>,
    /// Every process-instance creation attempt, in order.
    pub instances: Vec<InstanceAttempt>,
    /// Backend counters filled in after the run (for the twin: busy simulated time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_stats: Option<serde_json::Value>,
}

/// Where and why a run failed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureSummary {
    /// Step id.
    pub step_id: String,
    /// Step name.
    pub step: String,
    /// Stage name.
    pub stage: String,
    /// Why.
    pub reason: String,
}

/// One stage.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageReport {
    /// Stage name.
    pub name: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Start, in milliseconds since the run started.
    pub started_ms: u64,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// Steps.
    pub steps: Vec<StepReport>,
}

/// One step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// `stage.step`.
    pub id: String,
    /// Step name.
    pub name: String,
    /// Which part of the published procedure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    /// Outcome.
    pub outcome: Outcome,
    /// Start, in milliseconds since the run started.
    pub started_ms: u64,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// Timeout in wall milliseconds (the scenario's cluster-time timeout divided by the time scale).
    pub timeout_ms: u64,
    /// The action, when the step has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<ActionReport>,
    /// Expectations in order.
    pub expectations: Vec<ExpectationReport>,
    /// Why the step failed, in one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// The action of a step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionReport {
    /// Kind, as in the scenario file.
    pub kind: String,
    /// What it does.
    pub summary: String,
    /// Outcome.
    pub outcome: Outcome,
    /// How many times it was sent (retries happen only when nothing was changed).
    pub attempts: u32,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// What it returned (change id, planned operations, snapshot summary, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// The error of the last attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One expectation of a step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectationReport {
    /// Kind, as in the scenario file.
    pub kind: String,
    /// What must hold.
    pub description: String,
    /// Passed, failed, or skipped when the action failed.
    pub outcome: Outcome,
    /// How many times it was observed.
    pub polls: u32,
    /// When it first held, in milliseconds since the step started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_after_ms: Option<u64>,
    /// The last observation.
    pub observed: serde_json::Value,
    /// Why it did not hold at the last observation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One process-instance creation attempt (the ledger the data checks are driven by).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceAttempt {
    /// Milliseconds since the run started.
    pub at_ms: u64,
    /// Step id.
    pub step_id: String,
    /// Gateway region.
    pub via: RegionId,
    /// Acknowledged or rejected.
    pub outcome: InstanceOutcome,
    /// Key, when acknowledged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Partition, when acknowledged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
    /// Error, when rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Outcome of a creation attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum InstanceOutcome {
    /// The cluster acknowledged the instance.
    Acknowledged,
    /// The cluster rejected it or did not answer.
    Rejected,
}

impl RunReport {
    /// Every step report in order.
    pub fn steps(&self) -> impl Iterator<Item = &StepReport> {
        self.stages.iter().flat_map(|s| s.steps.iter())
    }

    /// Keys the cluster acknowledged, in order.
    #[must_use]
    pub fn acknowledged_keys(&self) -> Vec<String> {
        self.instances
            .iter()
            .filter_map(|a| a.key.clone())
            .collect()
    }
}
