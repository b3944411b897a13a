//! RTO and RPO as measured outputs: milestones read from the run's step reports (by action kind
//! and stage phase, never by step name), the first acknowledged instance after the fault from the
//! ledger, and lost data from the final ledger audit.

use std::time::Duration;

use crate::plan::{Objectives, Phase, Plan};
use crate::report::{
    InstanceAttempt, InstanceOutcome, LedgerAudit, Measure, Milestones, ObjectiveVerdict, Outcome,
    RecoveryReport, StageReport,
};

/// Measure recovery. `time_scale` turns run-clock milliseconds into cluster time. `this_run`
/// is the run's number in a chain of runs: milestones come from this run's stages and ledger
/// entries only; stages not selected for this run (`c8dr run --stage`) leave the measures that
/// need them "not measured in this run", never a number.
#[must_use]
pub fn measure(
    plan: &Plan,
    stages: &[StageReport],
    ledger: &[InstanceAttempt],
    this_run: u32,
    audit: &LedgerAudit,
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
    // Stages of a phase that this run did not select.
    let not_selected = |phase: Phase| -> Vec<&str> {
        plan.stages
            .iter()
            .zip(stages)
            .filter(|(stage, report)| stage.phase == Some(phase) && report.not_selected.is_some())
            .map(|(stage, _)| stage.name.as_str())
            .collect()
    };
    let phase_span = |phase: Phase| -> Option<(u64, u64, bool)> {
        if !not_selected(phase).is_empty() {
            // Part of the phase ran in another run: neither its start nor its end is here.
            return None;
        }
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
            .filter(|a| {
                a.run == this_run && a.at_ms > fault && a.outcome == InstanceOutcome::Acknowledged
            })
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
    let rpo = audit.rpo();
    let skipped_in = |phases: &[Phase]| -> Option<String> {
        let names: Vec<&str> = phases.iter().flat_map(|p| not_selected(*p)).collect();
        (!names.is_empty()).then(|| {
            format!(
                "not measured in this run: stage {} not selected (--stage)",
                names.join(", ")
            )
        })
    };
    let mut not_measured = Vec::new();
    // The RTO needs the fault and the recovery after it in the same run.
    let rto_not_measured = rto
        .is_none()
        .then(|| skipped_in(&[Phase::RegionLoss, Phase::Failover]))
        .flatten();
    for (name, missing, reason) in [
        ("rto", rto.is_none(), rto_not_measured.clone()),
        (
            "failover",
            failover.is_none(),
            skipped_in(&[Phase::Failover]),
        ),
        (
            "failback",
            failback.is_none(),
            skipped_in(&[Phase::Failback]),
        ),
    ] {
        if let (true, Some(reason)) = (missing, reason) {
            not_measured.push(format!("{name}: {reason}"));
        }
    }
    let mut objectives = judge(&plan.objectives, rto.as_ref(), audit, fault_ms.is_some());
    if let Some(reason) = rto_not_measured {
        for verdict in objectives.iter_mut().filter(|v| v.name == "rto") {
            verdict.measured = reason.clone();
            verdict.met = false;
            verdict.not_measured = true;
        }
    }
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
        not_measured,
    }
}

fn judge(
    objectives: &Objectives,
    rto: Option<&Measure>,
    audit: &LedgerAudit,
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
            not_measured: false,
        });
    }
    if let Some(limit) = objectives.rpo {
        let silent: Vec<String> = audit
            .regions
            .iter()
            .filter(|r| r.error.is_some())
            .map(|r| r.region.to_string())
            .collect();
        let (measured, met) = match audit.rpo() {
            Some(lost) => {
                let mut measured = format!(
                    "{lost} of {} acknowledged instance(s) lost: in no region's Elasticsearch at the final audit",
                    audit.acknowledged
                );
                if !silent.is_empty() {
                    measured.push_str(&format!(
                        " ({} did not answer; counted over the others)",
                        silent.join(", ")
                    ));
                }
                (measured, u64::try_from(lost).unwrap_or(u64::MAX) <= limit)
            }
            None => (
                "not measured: no region's Elasticsearch answered the final audit".to_owned(),
                false,
            ),
        };
        verdicts.push(ObjectiveVerdict {
            name: "rpo".to_owned(),
            objective: format!("{limit} lost"),
            measured,
            met,
            not_measured: false,
        });
    }
    verdicts
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::region::RegionId;
    use crate::report::{ActionReport, InstanceOrigin, StepReport};
    use crate::source::{Resources, ScenarioSource};
    use crate::validate::{PlanOptions, load};

    /// A plan with a region loss, a failover and a failback with an exporting pause.
    fn plan(objectives: &str) -> Plan {
        let text = format!(
            "apiVersion: c8dr.io/v1alpha1
kind: Scenario
metadata: {{name: recovery-test}}
spec:
  camunda: {{version: \"8.8\", regions: 2, clusterSize: 8, partitionCount: 8, replicationFactor: 4}}
  objectives: {objectives}
  stages:
    - name: loss
      phase: regionLoss
      steps:
        - name: lose
          action: {{loseRegion: {{region: lost, mode: cutOff}}}}
    - name: failover
      phase: failover
      steps:
        - name: remove
          action: {{patchCluster: {{remove: lost, force: true}}}}
    - name: failback
      phase: failback
      steps:
        - name: pause
          action: {{pauseExporting: {{}}}}
        - name: resume
          action: {{resumeExporting: {{}}}}
"
        );
        let source = ScenarioSource {
            name: "recovery-test.yaml".to_owned(),
            text,
            resources: Resources::Embedded(Vec::new()),
        };
        load(&source, &PlanOptions::default()).expect("the test scenario is valid")
    }

    /// A step whose action of `kind` started at `started_ms` and took `action_ms`; the step
    /// (with its expectations) took `step_ms`.
    fn step(id: &str, kind: &str, started_ms: u64, action_ms: u64, step_ms: u64) -> StepReport {
        StepReport {
            id: id.to_owned(),
            name: kind.to_owned(),
            procedure: None,
            outcome: Outcome::Passed,
            started_ms,
            duration_ms: step_ms,
            timeout_ms: 60_000,
            action: Some(ActionReport {
                kind: kind.to_owned(),
                summary: kind.to_owned(),
                outcome: Outcome::Passed,
                attempts: 1,
                duration_ms: action_ms,
                result: None,
                error: None,
            }),
            expectations: Vec::new(),
            failure: None,
            not_selected: None,
            skipped_because: None,
        }
    }

    fn stage(name: &str, steps: Vec<StepReport>) -> StageReport {
        let started_ms = steps.first().map_or(0, |s| s.started_ms);
        let end = steps.last().map_or(0, |s| s.started_ms + s.duration_ms);
        StageReport {
            name: name.to_owned(),
            outcome: if steps.iter().all(|s| s.outcome == Outcome::Passed) {
                Outcome::Passed
            } else {
                Outcome::Failed
            },
            started_ms,
            duration_ms: end - started_ms,
            steps,
            not_selected: None,
        }
    }

    /// The whole procedure, passed: the fault takes effect at 110 ms (run clock).
    fn stages() -> Vec<StageReport> {
        vec![
            stage("loss", vec![step("1.1", "loseRegion", 100, 10, 50)]),
            stage("failover", vec![step("2.1", "patchCluster", 150, 20, 100)]),
            stage(
                "failback",
                vec![
                    step("3.1", "pauseExporting", 300, 5, 5),
                    step("3.2", "resumeExporting", 400, 5, 5),
                ],
            ),
        ]
    }

    fn attempt(at_ms: u64, key: Option<&str>) -> InstanceAttempt {
        let mut a = InstanceAttempt::rejected(
            at_ms,
            "x".to_owned(),
            RegionId(0),
            InstanceOrigin::Workload,
            "unavailable".to_owned(),
        );
        if let Some(key) = key {
            a.outcome = InstanceOutcome::Acknowledged;
            a.key = Some(key.to_owned());
            a.error = None;
        }
        a
    }

    fn keys(list: &[&str]) -> Vec<String> {
        list.iter().map(|k| (*k).to_owned()).collect()
    }

    fn found(list: &[&str]) -> Result<BTreeSet<String>, String> {
        Ok(list.iter().map(|k| (*k).to_owned()).collect())
    }

    /// An audit in which every region shows every key.
    fn complete_audit(acknowledged: &[&str]) -> LedgerAudit {
        LedgerAudit::new(
            500,
            &keys(acknowledged),
            vec![
                (RegionId(0), found(acknowledged)),
                (RegionId(1), found(acknowledged)),
            ],
        )
    }

    #[test]
    fn rto_runs_from_the_fault_to_the_first_acknowledgement_after_it_in_cluster_time() {
        let ledger = vec![
            attempt(50, Some("1")),
            attempt(120, None),
            attempt(130, None),
            attempt(170, Some("2")),
            attempt(180, Some("3")),
        ];
        let report = measure(
            &plan("{rto: 10s}"),
            &stages(),
            &ledger,
            0,
            &complete_audit(&["1", "2", "3"]),
            100.0,
        );
        assert_eq!(report.milestones.fault_injected_ms, Some(110));
        assert_eq!(report.milestones.degraded_confirmed_ms, Some(150));
        assert_eq!(
            report.milestones.first_acknowledged_after_fault_ms,
            Some(170)
        );
        assert_eq!(report.rto, Some(Measure::new(60, 100.0)));
        assert_eq!(report.rto.map(|m| m.cluster_ms), Some(6_000));
        assert_eq!(
            report.objectives,
            vec![ObjectiveVerdict {
                name: "rto".to_owned(),
                objective: "10s".to_owned(),
                measured: "6s".to_owned(),
                met: true,
                not_measured: false,
            }]
        );
        // Phases and the exporting pause window.
        assert_eq!(report.milestones.failover_started_ms, Some(150));
        assert_eq!(report.milestones.failover_done_ms, Some(250));
        assert_eq!(report.failover.map(|m| m.run_ms), Some(100));
        assert_eq!(report.milestones.exporting_paused_ms, Some(305));
        assert_eq!(report.milestones.exporting_resumed_ms, Some(405));
        assert_eq!(
            report.exporting_paused_for.map(|m| m.cluster_ms),
            Some(10_000)
        );
        assert_eq!(report.milestones.failback_done_ms, Some(405));
    }

    #[test]
    fn a_missed_rto_and_an_rto_that_cannot_be_measured_are_not_met() {
        let slow = measure(
            &plan("{rto: 1s}"),
            &stages(),
            &[attempt(170, Some("1"))],
            0,
            &complete_audit(&["1"]),
            100.0,
        );
        assert_eq!(slow.objectives.len(), 1);
        assert!(!slow.objectives[0].met);
        assert_eq!(slow.objectives[0].measured, "6s");

        let never = measure(
            &plan("{rto: 1s}"),
            &stages(),
            &[attempt(50, Some("1")), attempt(170, None)],
            0,
            &complete_audit(&["1"]),
            100.0,
        );
        assert_eq!(never.rto, None);
        assert!(!never.objectives[0].met);
        assert_eq!(
            never.objectives[0].measured,
            "no instance was acknowledged after the fault"
        );

        let no_fault = measure(
            &plan("{rto: 1s}"),
            &stages()[1..],
            &[attempt(170, Some("1"))],
            0,
            &complete_audit(&["1"]),
            100.0,
        );
        assert_eq!(no_fault.objectives[0].measured, "no fault was injected");
        assert!(!no_fault.objectives[0].met);
    }

    /// Stages not selected for this run (`c8dr run --stage`), as the engine reports them.
    fn not_selected(mut stage: StageReport) -> StageReport {
        stage.outcome = Outcome::Skipped;
        stage.not_selected = Some("not selected in this run (--stage failback)".to_owned());
        for step in &mut stage.steps {
            step.outcome = Outcome::Skipped;
            step.action = None;
        }
        stage
    }

    #[test]
    fn measures_that_need_stages_not_selected_are_not_measured_and_do_not_fail() {
        let mut stages = stages();
        stages[0] = not_selected(stages[0].clone());
        stages[1] = not_selected(stages[1].clone());
        // Keys of an earlier run (run 0) after "the fault" on its clock prove nothing here.
        let mut earlier = attempt(170, Some("1"));
        earlier.run = 0;
        let mut mine = attempt(420, Some("2"));
        mine.run = 1;
        let report = measure(
            &plan("{rto: 1s, rpo: 0}"),
            &stages,
            &[earlier, mine],
            1,
            &complete_audit(&["1", "2"]),
            100.0,
        );
        assert_eq!(report.milestones.fault_injected_ms, None);
        assert_eq!(report.milestones.failover_started_ms, None);
        assert_eq!(report.rto, None);
        assert_eq!(report.failover, None);
        assert_eq!(report.rpo, Some(0));
        assert_eq!(report.failback.map(|m| m.run_ms), Some(105));
        assert_eq!(
            report.not_measured,
            vec![
                "rto: not measured in this run: stage loss, failover not selected (--stage)"
                    .to_owned(),
                "failover: not measured in this run: stage failover not selected (--stage)"
                    .to_owned(),
            ]
        );
        assert_eq!(
            report.objectives,
            vec![
                ObjectiveVerdict {
                    name: "rto".to_owned(),
                    objective: "1s".to_owned(),
                    measured: "not measured in this run: stage loss, failover not selected (--stage)"
                        .to_owned(),
                    met: false,
                    not_measured: true,
                },
                ObjectiveVerdict {
                    name: "rpo".to_owned(),
                    objective: "0 lost".to_owned(),
                    measured: "0 of 2 acknowledged instance(s) lost: in no region's Elasticsearch at the final audit"
                        .to_owned(),
                    met: true,
                    not_measured: false,
                },
            ]
        );
        // With the fault in this run, a missing recovery is measured as missing.
        let mut stages = self::stages();
        stages[1] = not_selected(stages[1].clone());
        let report = measure(
            &plan("{rto: 1s}"),
            &stages,
            &[],
            0,
            &complete_audit(&[]),
            1.0,
        );
        assert_eq!(report.milestones.fault_injected_ms, Some(110));
        assert!(report.objectives[0].not_measured, "{report:?}");
    }

    #[test]
    fn a_failed_phase_has_a_start_but_no_end_and_no_duration() {
        let mut stages = stages();
        stages[1].steps[0].outcome = Outcome::Failed;
        stages[1].outcome = Outcome::Failed;
        let report = measure(&plan("{}"), &stages, &[], 0, &complete_audit(&[]), 1.0);
        assert_eq!(report.milestones.failover_started_ms, Some(150));
        assert_eq!(report.milestones.failover_done_ms, None);
        assert_eq!(report.failover, None);
        assert!(report.objectives.is_empty(), "no objective, no verdict");
    }

    #[test]
    fn rpo_counts_the_keys_no_region_shows_not_the_keys_one_region_lacks() {
        let acknowledged = ["1", "2", "3", "4"];
        // Region 1 lacks 2, 3 and 4; region 0 lacks 4 too: only 4 is gone everywhere.
        let audit = LedgerAudit::new(
            500,
            &keys(&acknowledged),
            vec![
                (RegionId(0), found(&["1", "2", "3"])),
                (RegionId(1), found(&["1"])),
            ],
        );
        assert_eq!(audit.lost, keys(&["4"]));
        assert_eq!(audit.regions[0].missing, keys(&["4"]));
        assert_eq!(audit.regions[1].missing, keys(&["2", "3", "4"]));
        assert!(!audit.complete());
        let report = measure(&plan("{rpo: 0}"), &stages(), &[], 0, &audit, 1.0);
        assert_eq!(report.rpo, Some(1));
        assert_eq!(
            report.objectives,
            vec![ObjectiveVerdict {
                name: "rpo".to_owned(),
                objective: "0 lost".to_owned(),
                measured:
                    "1 of 4 acknowledged instance(s) lost: in no region's Elasticsearch at the final audit"
                        .to_owned(),
                met: false,
                not_measured: false,
            }]
        );
        // A looser objective tolerates it.
        let report = measure(&plan("{rpo: 1}"), &stages(), &[], 0, &audit, 1.0);
        assert!(report.objectives[0].met);
    }

    #[test]
    fn rpo_is_zero_when_every_key_is_somewhere_and_measured_over_the_regions_that_answered() {
        let acknowledged = ["1", "2"];
        let audit = LedgerAudit::new(
            500,
            &keys(&acknowledged),
            vec![
                (RegionId(0), found(&["1", "2"])),
                (RegionId(1), Err("connection refused".to_owned())),
            ],
        );
        assert_eq!(audit.rpo(), Some(0));
        assert!(
            !audit.complete(),
            "a region that did not answer is not complete"
        );
        assert_eq!(
            audit.regions[1].error.as_deref(),
            Some("connection refused")
        );
        assert!(audit.regions[1].missing.is_empty());
        let report = measure(&plan("{rpo: 0}"), &stages(), &[], 0, &audit, 1.0);
        assert_eq!(report.rpo, Some(0));
        assert!(report.objectives[0].met);
        assert!(
            report.objectives[0]
                .measured
                .ends_with("(region1 did not answer; counted over the others)"),
            "{}",
            report.objectives[0].measured
        );
    }

    #[test]
    fn rpo_is_not_measured_when_no_region_answered() {
        let audit = LedgerAudit::new(
            500,
            &keys(&["1"]),
            vec![
                (RegionId(0), Err("timeout".to_owned())),
                (RegionId(1), Err("timeout".to_owned())),
            ],
        );
        assert_eq!(audit.rpo(), None);
        assert!(audit.lost.is_empty());
        let report = measure(&plan("{rpo: 0}"), &stages(), &[], 0, &audit, 1.0);
        assert_eq!(report.rpo, None);
        assert!(!report.objectives[0].met);
        assert_eq!(
            report.objectives[0].measured,
            "not measured: no region's Elasticsearch answered the final audit"
        );
        // With nothing acknowledged there is nothing to lose, answer or not.
        let empty = LedgerAudit::new(500, &[], vec![(RegionId(0), Err("timeout".to_owned()))]);
        assert_eq!(empty.rpo(), Some(0));
    }
}
