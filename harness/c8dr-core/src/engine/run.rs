//! The run loop: stages, steps, the action, then expectations polled until they all hold in
//! the same round or the step's deadline passes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::actions::{ActionResult, perform};
use super::observe::{Observation, observe};
use crate::backend::{BackendInfo, CamundaApis, Platform};
use crate::camunda::Placement;
use crate::clock::{Clock, TokioClock};
use crate::event::{Event, EventSink};
use crate::plan::{Plan, Step};
use crate::report::{
    ActionReport, ExpectationReport, FORMAT_VERSION, FailureSummary, InstanceAttempt, Outcome,
    RunReport, StageReport, StepReport, ToolInfo,
};

/// Knobs of a run that do not belong in the scenario.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Overrides the plan's poll interval (cluster time).
    pub poll_interval: Option<Duration>,
    /// Name and version written into reports.
    pub tool: ToolInfo,
    /// The clock deadlines, polls and report timings use: real time by default, or virtual time
    /// shared with a simulator for deterministic drills.
    pub clock: Arc<dyn Clock>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(TokioClock::new()),
            poll_interval: None,
            tool: ToolInfo {
                name: "c8dr".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
        }
    }
}

/// Runs plans against one backend.
pub struct Engine<'a, P, A> {
    platform: &'a P,
    apis: &'a A,
    backend: BackendInfo,
    sink: &'a dyn EventSink,
    options: EngineOptions,
}

/// What the run has learned so far, shared by later steps.
pub(crate) struct RunState {
    pub(crate) clock: Arc<dyn Clock>,
    /// Clock time when the run started.
    pub(crate) started: Duration,
    /// The change id the current step's action started.
    pub(crate) step_change: Option<i64>,
    /// Placements captured by name.
    pub(crate) placements: BTreeMap<String, Placement>,
    /// Every instance creation attempt.
    pub(crate) ledger: Vec<InstanceAttempt>,
}

impl RunState {
    /// Clock time now (not relative to the run's start; deadlines use it).
    pub(crate) fn now(&self) -> Duration {
        self.clock.now()
    }

    /// Time since the run started.
    pub(crate) fn elapsed(&self) -> Duration {
        self.now().saturating_sub(self.started)
    }

    pub(crate) fn elapsed_ms(&self) -> u64 {
        millis(self.elapsed())
    }

    pub(crate) fn acknowledged_keys(&self) -> Vec<String> {
        self.ledger.iter().filter_map(|a| a.key.clone()).collect()
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl<'a, P: Platform, A: CamundaApis> Engine<'a, P, A> {
    /// An engine for one backend.
    pub fn new(
        platform: &'a P,
        apis: &'a A,
        backend: BackendInfo,
        sink: &'a dyn EventSink,
        options: EngineOptions,
    ) -> Self {
        Self {
            platform,
            apis,
            backend,
            sink,
            options,
        }
    }

    /// Cluster time → wall time on this backend.
    fn wall(&self, cluster: Duration) -> Duration {
        let scale = if self.backend.time_scale > 0.0 {
            self.backend.time_scale
        } else {
            1.0
        };
        cluster.div_f64(scale)
    }

    /// Run a plan to the end (or the first failure; later steps are reported as skipped).
    pub async fn run(&self, plan: &Plan) -> RunReport {
        let started_at = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        let clock = Arc::clone(&self.options.clock);
        let mut state = RunState {
            started: clock.now(),
            clock,
            step_change: None,
            placements: BTreeMap::new(),
            ledger: Vec::new(),
        };
        let poll = self
            .wall(self.options.poll_interval.unwrap_or(plan.poll_interval))
            .max(self.backend.min_poll_interval);
        self.sink.emit(&Event::RunStarted {
            plan,
            backend: &self.backend,
        });
        tracing::info!(scenario = %plan.name, lost = %plan.lost_region, backend = %self.backend.name, "drill started");

        let mut failure: Option<FailureSummary> = None;
        let mut errored = false;
        let mut stages = Vec::new();
        for stage in &plan.stages {
            let stage_start = state.elapsed();
            self.sink.emit(&Event::StageStarted { stage });
            let mut steps = Vec::new();
            for step in &stage.steps {
                if failure.is_some() {
                    self.sink.emit(&Event::StepSkipped { step });
                    steps.push(skipped(step, state.elapsed_ms()));
                    continue;
                }
                self.sink.emit(&Event::StepStarted { stage, step });
                let report = self.step(plan, step, poll, &mut state).await;
                self.sink.emit(&Event::StepFinished {
                    step,
                    report: &report,
                });
                if report.outcome != Outcome::Passed {
                    errored = report.outcome == Outcome::Errored;
                    failure = Some(FailureSummary {
                        step_id: step.id.clone(),
                        step: step.name.clone(),
                        stage: stage.name.clone(),
                        reason: report.failure.clone().unwrap_or_default(),
                    });
                }
                steps.push(report);
            }
            let outcome = aggregate(steps.iter().map(|s| s.outcome));
            let stage_report = StageReport {
                name: stage.name.clone(),
                outcome,
                started_ms: millis(stage_start),
                duration_ms: millis(state.elapsed().saturating_sub(stage_start)),
                steps,
            };
            self.sink.emit(&Event::StageFinished {
                report: &stage_report,
            });
            stages.push(stage_report);
        }

        let outcome = match (&failure, errored) {
            (None, _) => Outcome::Passed,
            (Some(_), true) => Outcome::Errored,
            (Some(_), false) => Outcome::Failed,
        };
        let report = RunReport {
            format_version: FORMAT_VERSION,
            tool: self.options.tool.clone(),
            scenario: plan.name.clone(),
            source: plan.source.clone(),
            camunda_version: plan.camunda_version.clone(),
            lost_region: plan.lost_region,
            surviving_region: plan.surviving_region,
            backend: self.backend.clone(),
            virtual_time: state.clock.is_virtual(),
            started_at,
            duration_ms: state.elapsed_ms(),
            outcome,
            failure,
            stages,
            instances: state.ledger,
            backend_stats: None,
        };
        tracing::info!(
            outcome = report.outcome.word(),
            duration_ms = report.duration_ms,
            "drill finished"
        );
        self.sink.emit(&Event::RunFinished { report: &report });
        report
    }

    async fn step(
        &self,
        plan: &Plan,
        step: &Step,
        poll: Duration,
        state: &mut RunState,
    ) -> StepReport {
        let step_start = state.now();
        let started_ms = state.elapsed_ms();
        let timeout = self.wall(step.timeout);
        let deadline = step_start + timeout;
        state.step_change = None;
        let span = tracing::info_span!("step", id = %step.id, name = %step.name);
        let _entered = span.enter();

        let mut report = StepReport {
            id: step.id.clone(),
            name: step.name.clone(),
            procedure: step.procedure.clone(),
            outcome: Outcome::Passed,
            started_ms,
            duration_ms: 0,
            timeout_ms: millis(timeout),
            action: None,
            expectations: Vec::new(),
            failure: None,
        };

        if let Some(action) = &step.action {
            let action_start = state.now();
            let result = perform(
                self.platform,
                self.apis,
                &step.id,
                action,
                state,
                deadline,
                poll,
            )
            .await;
            let (outcome, value, error) = match result.outcome {
                ActionResult::Done(value) => (Outcome::Passed, value, None),
                ActionResult::Failed(message) => (Outcome::Failed, None, Some(message)),
                ActionResult::Infrastructure(message) => (Outcome::Errored, None, Some(message)),
            };
            let action_report = ActionReport {
                kind: action.kind().to_owned(),
                summary: action.summary(),
                outcome,
                attempts: result.attempts,
                duration_ms: millis(state.now().saturating_sub(action_start)),
                result: value,
                error: error.clone(),
            };
            self.sink.emit(&Event::ActionFinished {
                step,
                report: &action_report,
            });
            report.action = Some(action_report);
            if outcome != Outcome::Passed {
                report.outcome = outcome;
                report.failure = Some(format!(
                    "{} failed: {}",
                    action.kind(),
                    error.unwrap_or_default()
                ));
                report.expectations = step
                    .expectations
                    .iter()
                    .map(|e| ExpectationReport {
                        kind: e.kind().to_owned(),
                        description: e.describe(),
                        outcome: Outcome::Skipped,
                        polls: 0,
                        held_after_ms: None,
                        observed: serde_json::Value::Null,
                        reason: None,
                    })
                    .collect();
                report.duration_ms = millis(state.now().saturating_sub(step_start));
                return report;
            }
        }

        let mut reports: Vec<ExpectationReport> = step
            .expectations
            .iter()
            .map(|e| ExpectationReport {
                kind: e.kind().to_owned(),
                description: e.describe(),
                outcome: Outcome::Failed,
                polls: 0,
                held_after_ms: None,
                observed: serde_json::Value::Null,
                reason: Some("not observed before the deadline".to_owned()),
            })
            .collect();
        let hold_for = step.hold_for.map(|d| self.wall(d));
        let mut holding_since: Option<Duration> = None;
        if !step.expectations.is_empty() {
            loop {
                let mut all_hold = true;
                let mut captures = Vec::new();
                for (expectation, er) in step.expectations.iter().zip(reports.iter_mut()) {
                    let Observation {
                        verdict,
                        observed,
                        capture,
                    } = observe(self.platform, self.apis, plan, expectation, state).await;
                    er.polls += 1;
                    er.observed = observed;
                    if verdict.holds() {
                        er.reason = None;
                        if er.held_after_ms.is_none() {
                            er.held_after_ms = Some(millis(state.now().saturating_sub(step_start)));
                        }
                        if let Some(c) = capture {
                            captures.push(c);
                        }
                    } else {
                        all_hold = false;
                        er.reason = verdict.reason();
                        er.held_after_ms = None;
                        self.sink
                            .emit(&Event::ExpectationPending { step, report: er });
                    }
                }
                let now = state.now();
                if all_hold {
                    let since = *holding_since.get_or_insert(now);
                    if hold_for.is_none_or(|h| now.saturating_sub(since) >= h) {
                        for er in &mut reports {
                            er.outcome = Outcome::Passed;
                        }
                        state.placements.extend(captures);
                        break;
                    }
                } else {
                    holding_since = None;
                }
                if now + poll > deadline {
                    report.outcome = Outcome::Failed;
                    let held_too_briefly = holding_since.is_some();
                    let first = reports
                        .iter()
                        .find(|r| r.reason.is_some())
                        .map(|r| {
                            format!(
                                "expectation `{}` did not hold within {}: {}",
                                r.description,
                                humantime::format_duration(step.timeout),
                                r.reason.clone().unwrap_or_default()
                            )
                        })
                        .unwrap_or_else(|| {
                            if held_too_briefly {
                                format!(
                                    "the expectations held, but not for the required {} before the step timed out",
                                    humantime::format_duration(step.hold_for.unwrap_or_default())
                                )
                            } else {
                                String::new()
                            }
                        });
                    report.failure = Some(first);
                    for er in &mut reports {
                        er.outcome = if er.reason.is_none() {
                            Outcome::Passed
                        } else {
                            Outcome::Failed
                        };
                    }
                    break;
                }
                state.clock.sleep(poll).await;
            }
        }
        report.expectations = reports;
        report.duration_ms = millis(state.now().saturating_sub(step_start));
        report
    }
}

fn skipped(step: &Step, now_ms: u64) -> StepReport {
    StepReport {
        id: step.id.clone(),
        name: step.name.clone(),
        procedure: step.procedure.clone(),
        outcome: Outcome::Skipped,
        started_ms: now_ms,
        duration_ms: 0,
        timeout_ms: 0,
        action: None,
        expectations: Vec::new(),
        failure: None,
    }
}

fn aggregate(outcomes: impl Iterator<Item = Outcome>) -> Outcome {
    let mut result = Outcome::Passed;
    let mut any = false;
    let mut all_skipped = true;
    for outcome in outcomes {
        any = true;
        match outcome {
            Outcome::Errored => return Outcome::Errored,
            Outcome::Failed => result = Outcome::Failed,
            Outcome::Skipped => {}
            Outcome::Passed => all_skipped = false,
        }
        if outcome != Outcome::Skipped {
            all_skipped = false;
        }
    }
    if any && all_skipped {
        Outcome::Skipped
    } else {
        result
    }
}
