//! RTO and RPO as measured outputs: milestones read from the run's step reports (by action kind
//! and stage phase, never by step name), the first acknowledged instance after the fault from the
//! ledger, and lost data from the data-continuity oracle.

use std::time::Duration;

use crate::plan::{Objectives, Phase, Plan};
use crate::report::{
    DataContinuityReport, InstanceAttempt, InstanceOutcome, Measure, Milestones, ObjectiveVerdict,
    Outcome, RecoveryReport, StageReport,
};

/// Measure recovery. `time_scale` turns run-clock milliseconds into cluster time.
#[must_use]
pub fn measure(
    plan: &Plan,
    stages: &[StageReport],
    ledger: &[InstanceAttempt],
    continuity: Option<&DataContinuityReport>,
    time_scale: f64,
) -> RecoveryReport {
    let measure = |ms: u64| Measure::new(ms, time_scale);
    let action_end = |kind: &str| -> Option<(u64, u64)> {
        stages.iter().flat_map(|s| &s.steps).find_map(|step| {
            step.action
                .as_ref()
                .filter(|a| a.kind == kind && a.outcome == Outcome::Passed)
                .map(|a| (step.started_ms, step.started_ms + a.duration_ms))
        })
    };
    let fault = action_end("loseRegion");
    let fault_ms = fault.map(|(_, end)| end);
    let degraded_confirmed_ms = stages.iter().flat_map(|s| &s.steps).find_map(|step| {
        (step.action.as_ref().is_some_and(|a| a.kind == "loseRegion")
            && step.outcome == Outcome::Passed)
            .then_some(step.started_ms + step.duration_ms)
    });
    let phase_span = |phase: Phase| -> Option<(u64, u64, bool)> {
        let reports: Vec<&StageReport> = plan
            .stages
            .iter()
            .zip(stages)
            .filter(|(stage, _)| stage.phase == Some(phase))
            .map(|(_, report)| report)
            .collect();
        let first = reports.first()?;
        let last = reports.last()?;
        let passed = reports.iter().all(|r| r.outcome == Outcome::Passed);
        Some((first.started_ms, last.started_ms + last.duration_ms, passed))
    };
    let failover = phase_span(Phase::Failover);
    let failback = phase_span(Phase::Failback);
    let first_acknowledged_after_fault_ms = fault_ms.and_then(|fault| {
        ledger
            .iter()
            .filter(|a| a.at_ms > fault && a.outcome == InstanceOutcome::Acknowledged)
            .map(|a| a.at_ms)
            .min()
    });
    // The exporting pause of the failback: the first pause after the fault and the resume after it.
    let after_fault = |kind: &str, from: u64| -> Option<u64> {
        stages.iter().flat_map(|s| &s.steps).find_map(|step| {
            step.action
                .as_ref()
                .filter(|a| {
                    a.kind == kind && a.outcome == Outcome::Passed && step.started_ms >= from
                })
                .map(|a| step.started_ms + a.duration_ms)
        })
    };
    let exporting_paused_ms = after_fault("pauseExporting", fault_ms.unwrap_or(0));
    let exporting_resumed_ms =
        exporting_paused_ms.and_then(|paused| after_fault("resumeExporting", paused));
    let backup = action_end("createSnapshot");
    let restore = action_end("restoreSnapshot");

    let milestones = Milestones {
        fault_injected_ms: fault_ms,
        degraded_confirmed_ms,
        failover_started_ms: failover.map(|(start, _, _)| start),
        failover_done_ms: failover.filter(|(_, _, ok)| *ok).map(|(_, end, _)| end),
        first_acknowledged_after_fault_ms,
        exporting_paused_ms,
        exporting_resumed_ms,
        failback_done_ms: failback.filter(|(_, _, ok)| *ok).map(|(_, end, _)| end),
    };
    let rto = fault_ms
        .zip(first_acknowledged_after_fault_ms)
        .map(|(fault, first)| measure(first - fault));
    let rpo = continuity.map(|c| c.lost);
    let objectives = judge(&plan.objectives, rto.as_ref(), rpo, fault_ms.is_some());
    RecoveryReport {
        milestones,
        rto,
        rpo,
        failover: failover
            .filter(|(_, _, ok)| *ok)
            .map(|(start, end, _)| measure(end - start)),
        failback: failback
            .filter(|(_, _, ok)| *ok)
            .map(|(start, end, _)| measure(end - start)),
        exporting_paused_for: exporting_paused_ms
            .zip(exporting_resumed_ms)
            .map(|(paused, resumed)| measure(resumed - paused)),
        backup: backup.map(|(start, end)| measure(end - start)),
        restore: restore.map(|(start, end)| measure(end - start)),
        objectives,
    }
}

fn judge(
    objectives: &Objectives,
    rto: Option<&Measure>,
    rpo: Option<usize>,
    fault_happened: bool,
) -> Vec<ObjectiveVerdict> {
    let mut verdicts = Vec::new();
    if let Some(limit) = objectives.rto {
        let limit_ms = super::run::millis(limit);
        let (measured, met) = match rto {
            Some(m) => (
                humantime::format_duration(Duration::from_millis(m.cluster_ms)).to_string(),
                m.cluster_ms <= limit_ms,
            ),
            None if fault_happened => (
                "no instance was acknowledged after the fault".to_owned(),
                false,
            ),
            None => ("no fault was injected".to_owned(), false),
        };
        verdicts.push(ObjectiveVerdict {
            name: "rto".to_owned(),
            objective: humantime::format_duration(limit).to_string(),
            measured,
            met,
        });
    }
    if let Some(limit) = objectives.rpo {
        let (measured, met) = match rpo {
            Some(lost) => (
                format!("{lost} acknowledged instance(s) lost"),
                u64::try_from(lost).unwrap_or(u64::MAX) <= limit,
            ),
            None => (
                "not measured: the scenario has no dataContinuity check that ran".to_owned(),
                false,
            ),
        };
        verdicts.push(ObjectiveVerdict {
            name: "rpo".to_owned(),
            objective: format!("{limit} lost"),
            measured,
            met,
        });
    }
    verdicts
}
