//! Report data types.

use serde::{Deserialize, Serialize};

use crate::backend::BackendInfo;
use crate::region::RegionId;

/// Version of the JSON report format.
///
/// 2: `recovery.rpo` comes from the final ledger audit (acknowledged keys in no region's
/// Elasticsearch) instead of the last `dataContinuity` check; `ledgerAudit` added.
pub const FORMAT_VERSION: u32 = 2;

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
    /// The run was interrupted (Ctrl-C, SIGTERM) while this was running: it was abandoned,
    /// neither passed nor failed. A run interrupted at any point has this outcome.
    Interrupted,
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
            Outcome::Interrupted => "interrupted",
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
    /// Every process-instance creation attempt, in order (the ledger).
    pub instances: Vec<InstanceAttempt>,
    /// RTO, RPO, milestones and objectives.
    pub recovery: RecoveryReport,
    /// The last data-continuity check (a `dataContinuity` step), with every missing key per
    /// region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_continuity: Option<DataContinuityReport>,
    /// The final ledger audit the engine runs after the last step, whether the run passed or
    /// failed: the RPO and every key each region lacks at the end of the run.
    pub ledger_audit: LedgerAudit,
    /// Samples of leadership and exported data over time, for charts.
    pub timeline: Vec<Sample>,
    /// Backend counters filled in after the run (for the twin: busy simulated time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_stats: Option<serde_json::Value>,
    /// Where in the ledger the first region loss happened (this run's, or the loaded ledger's
    /// when this run did not lose a region itself); `ledger.jsonl` carries it to later runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<super::FaultMarker>,
    /// Placements captured by name (`capturePlacement`), this run's and the loaded ledger's;
    /// `ledger.jsonl` carries them to later runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub placements: Vec<super::CapturedPlacement>,
    /// Instances completed through the engine (`completeInstances`), this run's and the loaded
    /// ledger's; `ledger.jsonl` carries them to later runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub completed: Vec<super::CompletedInstance>,
    /// Which stages this run ran, when `c8dr run --stage` chose some, and the ledger it
    /// continued (`--ledger`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<super::SelectionReport>,
    /// Set when the run was interrupted (Ctrl-C, SIGTERM): when, where, and how the final
    /// ledger audit was shortened. The outcome is then `interrupted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<Interruption>,
}

/// How a run was interrupted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Interruption {
    /// What interrupted it: `SIGTERM`, `Ctrl-C`.
    pub signal: String,
    /// When, in milliseconds since the run started.
    pub at_ms: u64,
    /// The step that was running and was abandoned; absent when the run was interrupted during
    /// the final ledger audit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
    /// What became of the final ledger audit, in words: bounded to a short deadline, or cut
    /// short because the interruption came while it ran.
    pub audit: String,
}

/// The data-continuity oracle's last verdict: which acknowledged keys each region lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataContinuityReport {
    /// When it was checked, in milliseconds since the run started.
    pub checked_at_ms: u64,
    /// How many keys the cluster had acknowledged.
    pub acknowledged: usize,
    /// Per region, every acknowledged key it lacks.
    pub regions: Vec<RegionContinuity>,
    /// Acknowledged keys missing from at least one region (the check fails unless it is 0).
    pub lost: usize,
}

/// The final ledger audit: after the last step, passed or failed, every key the cluster
/// acknowledged during the run is looked up in every region's Elasticsearch, polling until each
/// region shows all of them or the export-lag tolerance (`camunda.exportLag`) has passed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerAudit {
    /// When the audit ended, in milliseconds since the run started.
    pub checked_at_ms: u64,
    /// How many keys the cluster acknowledged during the run.
    pub acknowledged: usize,
    /// Per region, the keys it lacks, or why it could not be read.
    pub regions: Vec<RegionAudit>,
    /// Acknowledged keys that no region that answered shows: the RPO. On a run that stopped
    /// before the procedure completed this includes keys the brokers still hold but never
    /// exported (exporting stalled or paused), since no copy a user can read shows them.
    pub lost: Vec<String>,
}

/// One region's part of the final ledger audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionAudit {
    /// Region.
    pub region: RegionId,
    /// Acknowledged keys not found in its Elasticsearch (empty when it did not answer).
    pub missing: Vec<String>,
    /// Why its Elasticsearch could not be read before the audit's deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl LedgerAudit {
    /// The audit of `acknowledged` keys given what each region answered last: the keys found,
    /// or an error. The RPO counts keys found in no region that answered.
    #[must_use]
    pub fn new(
        checked_at_ms: u64,
        acknowledged: &[String],
        answers: Vec<(RegionId, Result<std::collections::BTreeSet<String>, String>)>,
    ) -> Self {
        let found_somewhere: std::collections::BTreeSet<&String> = answers
            .iter()
            .filter_map(|(_, answer)| answer.as_ref().ok())
            .flatten()
            .collect();
        let answered = answers.iter().any(|(_, answer)| answer.is_ok());
        let lost = if answered {
            acknowledged
                .iter()
                .filter(|k| !found_somewhere.contains(k))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let regions = answers
            .into_iter()
            .map(|(region, answer)| match answer {
                Ok(found) => RegionAudit {
                    region,
                    missing: acknowledged
                        .iter()
                        .filter(|k| !found.contains(*k))
                        .cloned()
                        .collect(),
                    error: None,
                },
                Err(error) => RegionAudit {
                    region,
                    missing: Vec::new(),
                    error: Some(error),
                },
            })
            .collect();
        Self {
            checked_at_ms,
            acknowledged: acknowledged.len(),
            regions,
            lost,
        }
    }

    /// The RPO: acknowledged keys in no region's Elasticsearch. `None` when keys were
    /// acknowledged but no region's Elasticsearch answered, so nothing could be measured.
    #[must_use]
    pub fn rpo(&self) -> Option<usize> {
        let answered = self.regions.iter().any(|r| r.error.is_none());
        (answered || self.acknowledged == 0).then_some(self.lost.len())
    }

    /// Whether every region answered and shows every acknowledged key.
    #[must_use]
    pub fn complete(&self) -> bool {
        self.regions
            .iter()
            .all(|r| r.error.is_none() && r.missing.is_empty())
    }
}

/// One region's part of a data-continuity check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionContinuity {
    /// Region.
    pub region: RegionId,
    /// Acknowledged keys not found in its Elasticsearch.
    pub missing: Vec<String>,
}

impl DataContinuityReport {
    /// Build from the missing keys per region.
    #[must_use]
    pub fn new(
        checked_at_ms: u64,
        acknowledged: usize,
        missing: std::collections::BTreeMap<RegionId, Vec<String>>,
    ) -> Self {
        let lost = missing
            .values()
            .flatten()
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        Self {
            checked_at_ms,
            acknowledged,
            regions: missing
                .into_iter()
                .map(|(region, missing)| RegionContinuity { region, missing })
                .collect(),
            lost,
        }
    }
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
    /// Set when the stage was not selected for this run (`c8dr run --stage`): why, in words.
    /// Its outcome is then `skipped`, neither passed nor failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_selected: Option<String>,
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
    /// Set when the step's stage was not selected for this run (`c8dr run --stage`): why, in
    /// words. Without it, a skipped step was skipped because an earlier step failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_selected: Option<String>,
    /// Why a skipped step did not run, when not because an earlier step failed or its stage
    /// was not selected: the run was interrupted before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_because: Option<String>,
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

impl ActionReport {
    /// What the platform said a reader of the report must know (for example that established
    /// connections survived a NetworkPolicy and the affected pods were restarted): the `notes`
    /// of a platform operation's result, shown by every report, not only in `report.json`.
    pub fn notes(&self) -> impl Iterator<Item = &str> {
        self.result
            .as_ref()
            .and_then(|result| result.get("notes"))
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str)
    }
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceAttempt {
    /// Which run of a chain of runs recorded it (`c8dr run --ledger` continues an earlier
    /// run's ledger): 0 for the first, absent in the JSON when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub run: u32,
    /// Milliseconds since the run that recorded it started.
    pub at_ms: u64,
    /// Step id.
    pub step_id: String,
    /// Gateway region.
    pub via: RegionId,
    /// Who tried: the steady workload or a step's `createInstances`.
    pub origin: InstanceOrigin,
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

/// A duration measured on the run's clock, and what it means on a real cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Measure {
    /// Milliseconds on the run's clock (wall time, or virtual time).
    pub run_ms: u64,
    /// Milliseconds of cluster time (the run's clock times the backend's time scale).
    pub cluster_ms: u64,
}

impl Measure {
    /// A measure of `run_ms` on a backend with this time scale.
    #[must_use]
    pub fn new(run_ms: u64, time_scale: f64) -> Self {
        let scale = if time_scale.is_finite() && time_scale > 0.0 {
            time_scale
        } else {
            1.0
        };
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "durations in milliseconds stay far below 2^52"
        )]
        let cluster_ms = (run_ms as f64 * scale).round() as u64;
        Self { run_ms, cluster_ms }
    }
}

/// When the procedure reached each milestone, in milliseconds since the run started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Milestones {
    /// The region loss took effect (end of the first `loseRegion`).
    pub fault_injected_ms: Option<u64>,
    /// The degraded state was confirmed (the fault step's expectations held).
    pub degraded_confirmed_ms: Option<u64>,
    /// The failover phase started.
    pub failover_started_ms: Option<u64>,
    /// The failover phase completed.
    pub failover_done_ms: Option<u64>,
    /// The cluster acknowledged an instance again after the fault: the real end of the outage.
    pub first_acknowledged_after_fault_ms: Option<u64>,
    /// Exporting was paused for the backup.
    pub exporting_paused_ms: Option<u64>,
    /// Exporting was resumed.
    pub exporting_resumed_ms: Option<u64>,
    /// The failback phase completed.
    pub failback_done_ms: Option<u64>,
}

/// Recovery as measured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryReport {
    /// Milestones.
    pub milestones: Milestones,
    /// Fault to the first acknowledged instance after it.
    pub rto: Option<Measure>,
    /// Acknowledged instances in no region's Elasticsearch at the final ledger audit (see
    /// [`LedgerAudit::lost`]); `None` when no region's Elasticsearch answered it.
    pub rpo: Option<usize>,
    /// Duration of the failover phase.
    pub failover: Option<Measure>,
    /// Duration of the failback phase.
    pub failback: Option<Measure>,
    /// How long exporting stayed paused.
    pub exporting_paused_for: Option<Measure>,
    /// Duration of the snapshot.
    pub backup: Option<Measure>,
    /// Duration of the restore.
    pub restore: Option<Measure>,
    /// The scenario's objectives and whether they were met.
    pub objectives: Vec<ObjectiveVerdict>,
    /// Measures this run could not take because the stages they need were not selected
    /// (`c8dr run --stage`), each with why: "not measured in this run", not a number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_measured: Vec<String>,
}

/// One objective and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectiveVerdict {
    /// `rto` or `rpo`.
    pub name: String,
    /// The objective, in words.
    pub objective: String,
    /// What was measured, in words.
    pub measured: String,
    /// Whether the objective was met.
    pub met: bool,
    /// The objective could not be measured in this run because the stages it needs were not
    /// selected (`c8dr run --stage`): it does not fail the run, and `met` is false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_measured: bool,
}

impl ObjectiveVerdict {
    /// The verdict in a word for text reports: `met`, `not measured` (stages not run, or an
    /// interrupted run), or `MISSED`.
    #[must_use]
    pub fn word(&self) -> &'static str {
        if self.met {
            "met"
        } else if self.not_measured {
            "not measured"
        } else {
            "MISSED"
        }
    }
}

/// Who made a creation attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InstanceOrigin {
    /// The steady workload.
    Workload,
    /// A step's `createInstances` action.
    Step,
}

/// One sample of the cluster's state for the report's charts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// Milliseconds since the run started.
    pub at_ms: u64,
    /// The step running then.
    pub step_id: String,
    /// Per region.
    pub regions: Vec<RegionSample>,
    /// Instances acknowledged so far.
    pub acknowledged: usize,
    /// Creation attempts rejected so far.
    pub rejected: usize,
}

/// One region in a sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionSample {
    /// Region.
    pub region: RegionId,
    /// Partitions with a healthy leader as the region's gateway sees them; `None` when the
    /// gateway did not answer.
    pub healthy_partitions: Option<u32>,
    /// Process instances in the region's Elasticsearch (exported data); `None` when it did not
    /// answer.
    pub exported_instances: Option<u64>,
}

impl InstanceAttempt {
    /// An acknowledged creation.
    #[must_use]
    pub fn acknowledged(
        at_ms: u64,
        step_id: String,
        via: RegionId,
        origin: InstanceOrigin,
        instance: &crate::camunda::CreatedInstance,
    ) -> Self {
        Self {
            run: 0,
            at_ms,
            step_id,
            via,
            origin,
            outcome: InstanceOutcome::Acknowledged,
            key: Some(instance.process_instance_key.clone()),
            partition: instance.partition_id(),
            error: None,
        }
    }

    /// A rejected (or unanswered) creation.
    #[must_use]
    pub fn rejected(
        at_ms: u64,
        step_id: String,
        via: RegionId,
        origin: InstanceOrigin,
        error: String,
    ) -> Self {
        Self {
            run: 0,
            at_ms,
            step_id,
            via,
            origin,
            outcome: InstanceOutcome::Rejected,
            key: None,
            partition: None,
            error: Some(error),
        }
    }
}

/// Outcome of a creation attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(n: &u32) -> bool {
    *n == 0
}
