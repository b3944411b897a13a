//! The run loop: stages, steps, the action, then expectations polled until they all hold in
//! the same round or the step's deadline passes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::actions::{ActionResult, error_chain, perform};
use super::background::{Background, Duties, Shared, lock};
use super::cancel::Cancel;
use super::observe::{Observation, observe};
use super::operator::{Operator, OperatorDecision, is_manual};
use super::recovery;
use super::selection::StageSelection;
use crate::backend::{BackendInfo, CamundaApis, Platform};
use crate::camunda::Placement;
use crate::clock::{Clock, TokioClock};
use crate::event::{Event, EventSink};
use crate::plan::{Action, Expectation, Plan, Stage, Step};
use crate::region::RegionId;
use crate::report::{
    ActionReport, CapturedPlacement, CompletedInstance, DataContinuityReport, ExpectationReport,
    FORMAT_VERSION, FailureSummary, FaultMarker, Interruption, LedgerAudit, LoadedLedger, Outcome,
    RunReport, SelectionReport, StageReport, StepReport, ToolInfo,
};

/// How long the final ledger audit of an interrupted run may take at most (on the run's clock):
/// whoever interrupted wants the reports soon, and CI gives a few seconds before it kills.
const INTERRUPTED_AUDIT: Duration = Duration::from_secs(2);

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
    /// Sample leadership and exported data every `sampleInterval` for the report's charts.
    pub sample_timeline: bool,
    /// Rehearsal mode: the procedure's actions are performed by this operator, by hand.
    pub operator: Option<Arc<dyn Operator>>,
    /// The stages to run (`c8dr run --stage`); the others are reported as skipped. `None`:
    /// every stage.
    pub stages: Option<StageSelection>,
    /// A previous run's ledger to continue (`c8dr run --ledger`): its acknowledged keys are
    /// covered by every ledger-driven check of this run, its fault marker and captured
    /// placements stand until this run makes its own.
    pub ledger: Option<LoadedLedger>,
    /// Interrupts the run (Ctrl-C, SIGTERM): the current step is abandoned at once, the rest
    /// are skipped, and the report says the run was interrupted.
    pub cancel: Cancel,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(TokioClock::new()),
            sample_timeline: true,
            operator: None,
            stages: None,
            ledger: None,
            cancel: Cancel::new(),
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
pub(crate) struct RunState<'s> {
    pub(crate) clock: Arc<dyn Clock>,
    /// Clock time when the run started.
    pub(crate) started: Duration,
    /// The change id the current step's action started.
    pub(crate) step_change: Option<i64>,
    /// In rehearsal mode: the last completed change before the operator acted (`Some(None)`
    /// when there was none), so a `change` expectation waits for a newer one.
    pub(crate) change_baseline: Option<Option<i64>>,
    /// Instances acknowledged up to this time (run milliseconds) are expected to be visible:
    /// the end of the current step's action.
    pub(crate) step_cutoff_ms: u64,
    /// Placements captured by name.
    pub(crate) placements: BTreeMap<String, Placement>,
    /// The ledger and samples, shared with the background duties.
    pub(crate) shared: &'s Shared,
    /// Background duties to fire while waiting on virtual time.
    pub(crate) duties: Option<&'s dyn Duties>,
    /// The last data-continuity check.
    pub(crate) continuity: Option<DataContinuityReport>,
    /// Where the first region loss was injected: the instances "started before the outage"
    /// are the ledger entries before it (ordered, unlike timestamps that virtual time may leave
    /// equal). Loaded from a previous run's ledger until this run loses a region itself.
    pub(crate) fault: Option<FaultMarker>,
    /// Which run of a chain this is (0 unless a previous run's ledger was loaded).
    pub(crate) run: u32,
    /// Names of the placements this run captured (the others came from a loaded ledger).
    pub(crate) captured_here: BTreeSet<String>,
    /// Instances completed through the engine by `completeInstances`.
    pub(crate) completed_keys: Vec<String>,
    /// The plan's export-lag tolerance on this run's clock, in milliseconds.
    pub(crate) export_lag_ms: u64,
}

impl RunState<'_> {
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

    /// Mark the fault (a region loss about to be injected) unless this run already did: the
    /// ledger entries so far are the ones before it.
    pub(crate) fn mark_fault(&mut self, step_id: &str) {
        if self.fault.as_ref().is_none_or(|f| f.run != self.run) {
            self.fault = Some(FaultMarker {
                run: self.run,
                at_ms: self.elapsed_ms(),
                step_id: step_id.to_owned(),
                attempts_before: lock(&self.shared.ledger).len(),
            });
        }
    }

    /// Keys acknowledged up to the current step's cutoff: what must be visible by now.
    pub(crate) fn acknowledged_keys(&self) -> Vec<String> {
        self.shared.acknowledged_until(self.step_cutoff_ms)
    }

    /// Every key acknowledged so far.
    pub(crate) fn all_acknowledged_keys(&self) -> Vec<String> {
        self.shared.acknowledged_until(u64::MAX)
    }

    /// Keys acknowledged at least the export-lag tolerance ago: a healthy cluster has exported
    /// them by now, so one that is missing means exporting is stalled or paused.
    pub(crate) fn keys_older_than_export_lag(&self) -> Vec<String> {
        self.elapsed_ms()
            .checked_sub(self.export_lag_ms)
            .map_or_else(Vec::new, |cutoff| self.shared.acknowledged_until(cutoff))
    }

    /// On virtual time, run the background duties that fell due while the engine was blocked in
    /// a call (a snapshot waiting for completion moves the twin's clock): users keep working
    /// while an operator waits. On real time they run concurrently anyway.
    pub(crate) async fn catch_up(&self) {
        if let Some(duties) = self.duties.filter(|_| self.clock.is_virtual()) {
            let now = self.clock.now();
            if duties.next_due().is_some_and(|due| due <= now) {
                duties.fire_due(now).await;
            }
        }
    }

    /// Wait `duration` of clock time. On virtual time, background duties that fall due meanwhile
    /// run first, at their own times; on real time they run concurrently anyway.
    pub(crate) async fn wait(&self, duration: Duration) {
        let Some(duties) = self.duties.filter(|_| self.clock.is_virtual()) else {
            self.clock.sleep(duration).await;
            return;
        };
        let target = self.clock.now() + duration;
        while let Some(due) = duties.next_due().filter(|due| *due <= target) {
            let now = self.clock.now();
            if due > now {
                self.clock.sleep(due - now).await;
            }
            duties.fire_due(self.clock.now()).await;
        }
        let now = self.clock.now();
        if target > now {
            self.clock.sleep(target - now).await;
        }
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What walking the stages produced.
struct Walk {
    stages: Vec<StageReport>,
    failure: Option<FailureSummary>,
    errored: bool,
    /// Set when the run was interrupted during a step.
    interrupted: Option<Interruption>,
}

/// `1.2s`: seconds with one decimal, for interruption messages.
fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
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
        let started = clock.now();
        let loaded = self.options.ledger.as_ref();
        let this_run = loaded.map_or(0, LoadedLedger::next_run);
        let shared = Shared::with_earlier(
            this_run,
            loaded.map(|l| l.attempts.clone()).unwrap_or_default(),
        );
        let selection = self
            .options
            .stages
            .clone()
            .unwrap_or_else(|| StageSelection::all(plan));
        let background = Background::new(
            self.apis,
            plan,
            &shared,
            Arc::clone(&clock),
            started,
            plan.workload.as_ref().map(|w| self.wall(w.interval)),
            if self.options.sample_timeline {
                self.wall(plan.sample_interval)
            } else {
                Duration::ZERO
            },
        );
        let mut state = RunState {
            clock: Arc::clone(&clock),
            started,
            step_change: None,
            change_baseline: None,
            step_cutoff_ms: 0,
            placements: loaded
                .map(|l| {
                    l.placements
                        .iter()
                        .map(|(name, p)| (name.clone(), p.placement.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            shared: &shared,
            duties: Some(&background),
            continuity: None,
            fault: loaded.and_then(|l| l.fault.clone()),
            run: this_run,
            captured_here: BTreeSet::new(),
            // Instances an earlier run completed: their user tasks are gone, so they are not
            // candidates again, and they must still show as COMPLETED.
            completed_keys: loaded
                .map(|l| l.completed.iter().map(|c| c.key.clone()).collect())
                .unwrap_or_default(),
            export_lag_ms: millis(self.wall(plan.export_lag)),
        };
        let poll = self
            .wall(self.options.poll_interval.unwrap_or(plan.poll_interval))
            .max(self.backend.min_poll_interval);
        self.sink.emit(&Event::RunStarted {
            plan,
            backend: &self.backend,
        });
        tracing::info!(scenario = %plan.name, lost = %plan.lost_region, backend = %self.backend.name, "drill started");

        let prerequisites = if selection.is_all() {
            Vec::new()
        } else {
            tokio::select! {
                biased;
                why = self.options.cancel.cancelled() => vec![format!(
                    "interrupted ({why}) before the prerequisites of the selected stages were done"
                )],
                notes = self.prerequisites(plan, &selection) => notes,
            }
        };
        let walk = {
            let walk = std::pin::pin!(self.walk(plan, &selection, poll, &mut state));
            if clock.is_virtual() {
                walk.await
            } else {
                // Real time: the workload and the sampler run beside the steps, like real users.
                let mut walk = walk;
                let duties = std::pin::pin!(background.run_forever());
                tokio::select! {
                    walk = &mut walk => walk,
                    () = duties => walk.await,
                }
            }
        };
        let Walk {
            stages,
            mut failure,
            errored,
            mut interrupted,
        } = walk;

        // Passed, failed or interrupted, the run ends with the ledger audit. The workload has
        // stopped (on real time its future is gone, on virtual time nothing fires it any more),
        // so the ledger is final. After an interruption the audit gets a short deadline; an
        // interruption during the audit cuts it short.
        let (ledger_audit, audit_note) = self.audit(plan, &state, poll).await;
        if let Some(interruption) = &mut interrupted {
            interruption.audit = audit_note;
        } else if let Some(why) = self.options.cancel.reason() {
            interrupted = Some(Interruption {
                signal: why,
                at_ms: state.elapsed_ms(),
                step_id: None,
                audit: audit_note,
            });
        }
        let ledger = std::mem::take(&mut *lock(&shared.ledger));
        let timeline = std::mem::take(&mut *lock(&shared.samples));
        let mut recovery = recovery::measure(
            plan,
            &stages,
            &ledger,
            this_run,
            &ledger_audit,
            self.backend.time_scale,
        );
        if interrupted.is_some() {
            not_judged_after_interruption(&mut recovery);
        }
        if failure.is_none()
            && interrupted.is_none()
            && let Some(missed) = recovery
                .objectives
                .iter()
                .find(|o| !o.met && !o.not_measured)
        {
            failure = Some(FailureSummary {
                step_id: String::new(),
                step: "recovery objectives".to_owned(),
                stage: "(whole run)".to_owned(),
                reason: format!(
                    "objective {} {} not met: {}",
                    missed.name, missed.objective, missed.measured
                ),
            });
        }
        let outcome = match (&failure, errored) {
            _ if interrupted.is_some() => Outcome::Interrupted,
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
            virtual_time: clock.is_virtual(),
            started_at,
            duration_ms: state.elapsed_ms(),
            outcome,
            failure,
            stages,
            instances: ledger,
            recovery,
            data_continuity: state.continuity.take(),
            ledger_audit,
            timeline,
            backend_stats: None,
            fault: state.fault.take(),
            placements: state
                .placements
                .iter()
                .map(|(name, placement)| CapturedPlacement {
                    name: name.clone(),
                    run: if state.captured_here.contains(name) {
                        this_run
                    } else {
                        loaded
                            .and_then(|l| l.placements.get(name))
                            .map_or(this_run, |p| p.run)
                    },
                    placement: placement.clone(),
                })
                .collect(),
            completed: state
                .completed_keys
                .iter()
                .map(|key| CompletedInstance {
                    key: key.clone(),
                    run: loaded
                        .and_then(|l| l.completed.iter().find(|c| &c.key == key))
                        .map_or(this_run, |c| c.run),
                })
                .collect(),
            selection: (!selection.is_all() || loaded.is_some()).then(|| {
                let (selected, skipped): (Vec<_>, Vec<_>) = plan
                    .stages
                    .iter()
                    .enumerate()
                    .partition(|(i, _)| selection.is_selected(*i));
                let names = |stages: Vec<(usize, &Stage)>| {
                    stages.into_iter().map(|(_, s)| s.name.clone()).collect()
                };
                SelectionReport {
                    selected: names(selected),
                    skipped: names(skipped),
                    ledger: loaded.map(LoadedLedger::summary),
                    prerequisites,
                }
            }),
            interrupted,
        };
        tracing::info!(
            outcome = report.outcome.word(),
            duration_ms = report.duration_ms,
            "drill finished"
        );
        self.sink.emit(&Event::RunFinished { report: &report });
        report
    }

    /// The final ledger audit: every key acknowledged during the run looked up in every region's
    /// Elasticsearch. The last keys may still be on their way, so while some region lacks some
    /// key it looks again, at doubling intervals from the poll interval, until the export-lag
    /// tolerance has passed (the last look is at that deadline); each later look asks a region
    /// only for the keys it still lacks. Every call is bounded by the deadline too, so an
    /// unreachable region costs at most the tolerance.
    ///
    /// On an interrupted run the deadline is at most [`INTERRUPTED_AUDIT`]; an interruption
    /// while the audit runs cuts it short (what the regions showed so far stands). Returns the
    /// audit and, for the report of an interrupted run, what became of it in words.
    async fn audit(
        &self,
        plan: &Plan,
        state: &RunState<'_>,
        poll: Duration,
    ) -> (LedgerAudit, String) {
        let keys = state.all_acknowledged_keys();
        let regions: Vec<RegionId> = plan.layout.region_ids().collect();
        if keys.is_empty() {
            // Nothing was acknowledged, so nothing can be missing.
            let audit = LedgerAudit::new(
                state.elapsed_ms(),
                &keys,
                regions
                    .into_iter()
                    .map(|r| (r, Ok(BTreeSet::new())))
                    .collect(),
            );
            return (audit, "not needed: no instance was acknowledged".to_owned());
        }
        tracing::info!(
            acknowledged = keys.len(),
            "final ledger audit of every region's Elasticsearch"
        );
        let cancel = &self.options.cancel;
        let tolerance = self.wall(plan.export_lag);
        let already_interrupted = cancel.reason().is_some();
        let budget = if already_interrupted {
            tolerance.min(INTERRUPTED_AUDIT)
        } else {
            tolerance
        };
        let mut note = if already_interrupted {
            format!(
                "bounded to {} instead of the export-lag tolerance ({}): keys acknowledged shortly before the interruption may still have been on their way",
                seconds(budget),
                seconds(tolerance)
            )
        } else {
            "ran as usual (the interruption came after it)".to_owned()
        };
        // Resolves when an interruption comes while the audit runs (never when it came before:
        // the short deadline bounds the audit then).
        let interruption = async {
            if already_interrupted {
                std::future::pending::<String>().await
            } else {
                cancel.cancelled().await
            }
        };
        let mut interruption = std::pin::pin!(interruption);
        let audit_start = state.now();
        let deadline = audit_start + budget;
        // Per region: the keys it showed so far (`None` until it answers), and its last error.
        let mut found: Vec<Option<BTreeSet<String>>> = vec![None; regions.len()];
        let mut errors: Vec<Option<String>> = vec![None; regions.len()];
        let mut wait = poll.max(Duration::from_millis(1));
        let mut cut = false;
        loop {
            for (index, region) in regions.iter().enumerate() {
                let lacking: Vec<String> = keys
                    .iter()
                    .filter(|k| found[index].as_ref().is_none_or(|f| !f.contains(*k)))
                    .cloned()
                    .collect();
                if found[index].is_some() && lacking.is_empty() {
                    continue;
                }
                let remaining = deadline.saturating_sub(state.now());
                let call = tokio::time::timeout(
                    state.clock.call_budget(remaining),
                    self.apis
                        .find_instances(*region, &plan.process_instance_index, &lacking),
                );
                let answer = tokio::select! {
                    biased;
                    why = &mut interruption => {
                        note = format!(
                            "cut short: interrupted ({why}) {} into it; regions not read by then are reported with that error",
                            seconds(state.now().saturating_sub(audit_start))
                        );
                        errors[index] = Some(format!("interrupted ({why}) before it answered"));
                        cut = true;
                        break;
                    }
                    answer = call => answer,
                };
                match answer {
                    Ok(Ok(shown)) => {
                        found[index].get_or_insert_with(BTreeSet::new).extend(shown);
                        errors[index] = None;
                    }
                    Ok(Err(e)) => errors[index] = Some(error_chain(&e)),
                    Err(_) => {
                        errors[index] = Some("no answer before the audit's deadline".to_owned());
                    }
                }
            }
            let audit = LedgerAudit::new(
                state.elapsed_ms(),
                &keys,
                last_answers(&regions, &found, &errors),
            );
            let now = state.now();
            if audit.complete() || cut || now >= deadline {
                return (audit, note);
            }
            tokio::select! {
                biased;
                why = &mut interruption => {
                    note = format!(
                        "cut short: interrupted ({why}) {} into it, between two looks",
                        seconds(state.now().saturating_sub(audit_start))
                    );
                    cut = true;
                }
                () = state.clock.sleep(wait.min(deadline - now)) => {}
            }
            if cut {
                let audit = LedgerAudit::new(
                    state.elapsed_ms(),
                    &keys,
                    last_answers(&regions, &found, &errors),
                );
                return (audit, note);
            }
            wait = wait.saturating_mul(2);
        }
    }

    /// What the selected stages need from the skipped ones that a call can provide: the
    /// processes skipped stages deploy (deploying the same resource again is idempotent in
    /// Zeebe: it returns the existing version). Returns what was done or could not be, in words.
    async fn prerequisites(&self, plan: &Plan, selection: &StageSelection) -> Vec<String> {
        let mut notes = Vec::new();
        let skipped_deploys = plan
            .stages
            .iter()
            .enumerate()
            .filter(|(i, _)| !selection.is_selected(*i))
            .flat_map(|(_, stage)| &stage.steps)
            .filter_map(|step| match &step.action {
                Some(Action::DeployProcess {
                    via,
                    resource_name,
                    process_id,
                    content,
                }) => Some((step, *via, resource_name, process_id, content)),
                _ => None,
            });
        for (step, via, resource_name, process_id, content) in skipped_deploys {
            let note = match self.apis.deploy_resource(via, resource_name, content).await {
                Ok(_) => format!(
                    "deployed {resource_name} (process {process_id}) through {via} for the skipped step {} `{}` (a redeploy of the same resource keeps the existing version)",
                    step.id, step.name
                ),
                Err(e) => format!(
                    "could not deploy {resource_name} (process {process_id}) through {via} for the skipped step {} `{}`: {}; steps creating its instances will fail",
                    step.id,
                    step.name,
                    error_chain(&e)
                ),
            };
            tracing::info!(%note, "prerequisite of the selected stages");
            notes.push(note);
        }
        notes
    }

    /// Walk the stages and steps in order.
    async fn walk(
        &self,
        plan: &Plan,
        selection: &StageSelection,
        poll: Duration,
        state: &mut RunState<'_>,
    ) -> Walk {
        let mut failure: Option<FailureSummary> = None;
        let mut errored = false;
        let mut interrupted: Option<Interruption> = None;
        let mut stages = Vec::new();
        for (index, stage) in plan.stages.iter().enumerate() {
            let stage_start = state.elapsed();
            self.sink.emit(&Event::StageStarted { stage });
            let mut steps = Vec::new();
            let not_selected = (!selection.is_selected(index))
                .then(|| format!("not selected in this run (--stage {})", selection.asked()));
            for step in &stage.steps {
                if not_selected.is_some() || interrupted.is_some() || failure.is_some() {
                    self.sink.emit(&Event::StepSkipped { step });
                    let mut report = skipped(step, state.elapsed_ms());
                    // Why, when it is not the usual "an earlier step failed".
                    report.not_selected.clone_from(&not_selected);
                    report.skipped_because = interrupted
                        .as_ref()
                        .filter(|_| not_selected.is_none())
                        .map(|interruption| {
                            format!(
                                "not run: the run was interrupted ({}) during step {}",
                                interruption.signal,
                                interruption.step_id.as_deref().unwrap_or_default()
                            )
                        });
                    steps.push(report);
                    continue;
                }
                step.id.clone_into(&mut lock(&state.shared.current_step));
                self.sink.emit(&Event::StepStarted { stage, step });
                let step_start = state.now();
                let mut report = StepReport {
                    outcome: Outcome::Passed,
                    timeout_ms: millis(self.wall(step.timeout)),
                    ..skipped(step, state.elapsed_ms())
                };
                // An interruption abandons the step at once: its future is dropped wherever it
                // waits (an API call in flight, a poll interval), so no further attempt is sent.
                let why = {
                    let run_step = self.step(plan, stage, step, poll, state, &mut report);
                    tokio::select! {
                        biased;
                        why = self.options.cancel.cancelled() => Some(why),
                        () = run_step => None,
                    }
                };
                if let Some(why) = why {
                    let after = state.now().saturating_sub(step_start);
                    interrupt(step, &mut report, &why, after);
                    tracing::warn!(signal = %why, "drill interrupted");
                    interrupted = Some(Interruption {
                        signal: why,
                        at_ms: state.elapsed_ms(),
                        step_id: Some(step.id.clone()),
                        audit: String::new(),
                    });
                }
                self.sink.emit(&Event::StepFinished {
                    step,
                    report: &report,
                });
                if report.outcome != Outcome::Passed {
                    errored = report.outcome == Outcome::Errored;
                    // (An interrupted step is the run's failure too: where it stopped, and why.)
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
                not_selected,
            };
            self.sink.emit(&Event::StageFinished {
                report: &stage_report,
            });
            stages.push(stage_report);
        }
        Walk {
            stages,
            failure,
            errored,
            interrupted,
        }
    }

    async fn step(
        &self,
        plan: &Plan,
        stage: &Stage,
        step: &Step,
        poll: Duration,
        state: &mut RunState<'_>,
        report: &mut StepReport,
    ) {
        let step_start = state.now();
        let timeout = self.wall(step.timeout);
        let mut deadline = step_start + timeout;
        state.step_change = None;
        state.change_baseline = None;
        state.step_cutoff_ms = report.started_ms;
        let span = tracing::info_span!("step", id = %step.id, name = %step.name);
        let _entered = span.enter();

        if let Some(action) = &step.action
            && let Some(operator) = self.options.operator.as_ref().filter(|_| is_manual(action))
        {
            // The operator acts; the step's deadline starts once they are done.
            let baseline = match step.expectations.iter().find_map(|e| match e {
                Expectation::Change { via, .. } => Some(*via),
                _ => None,
            }) {
                Some(via) => Some(
                    self.apis
                        .cluster(via)
                        .await
                        .ok()
                        .and_then(|c| c.last_change.map(|l| l.id)),
                ),
                None => None,
            };
            if matches!(action, Action::LoseRegion { .. }) {
                state.mark_fault(&step.id);
            }
            let decision = operator.perform(stage, step).await;
            let (outcome, error) = match decision {
                OperatorDecision::Done => (Outcome::Passed, None),
                OperatorDecision::Abort => (
                    Outcome::Failed,
                    Some("the operator aborted the rehearsal".to_owned()),
                ),
            };
            state.change_baseline = baseline;
            let action_report = ActionReport {
                kind: action.kind().to_owned(),
                summary: format!("{} (performed by the operator)", action.summary()),
                outcome,
                attempts: 1,
                duration_ms: millis(state.now().saturating_sub(step_start)),
                result: None,
                error: error.clone(),
            };
            self.sink.emit(&Event::ActionFinished {
                step,
                report: &action_report,
            });
            report.action = Some(action_report);
            state.step_cutoff_ms = state.elapsed_ms();
            if let Some(error) = error {
                report.outcome = outcome;
                report.failure = Some(error);
                report.duration_ms = millis(state.now().saturating_sub(step_start));
                return;
            }
            deadline = state.now() + timeout;
        } else if let Some(action) = &step.action {
            if matches!(action, Action::LoseRegion { .. }) {
                state.mark_fault(&step.id);
            }
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
            state.step_cutoff_ms = state.elapsed_ms();
            if outcome != Outcome::Passed {
                report.outcome = outcome;
                report.failure = Some(format!(
                    "{} failed: {}",
                    action.kind(),
                    error.unwrap_or_default()
                ));
                report.expectations = unobserved(step, Outcome::Skipped, None);
                report.duration_ms = millis(state.now().saturating_sub(step_start));
                return;
            }
        }

        report.expectations = unobserved(
            step,
            Outcome::Failed,
            Some("not observed before the deadline"),
        );
        let hold_for = step.hold_for.map(|d| self.wall(d));
        let mut holding_since: Option<Duration> = None;
        if !step.expectations.is_empty() {
            loop {
                state.catch_up().await;
                let mut all_hold = true;
                let mut settled = false;
                let mut captures = Vec::new();
                for (expectation, er) in
                    step.expectations.iter().zip(report.expectations.iter_mut())
                {
                    let Observation {
                        verdict,
                        observed,
                        capture,
                        continuity,
                    } = observe(self.platform, self.apis, plan, expectation, state).await;
                    if continuity.is_some() {
                        state.continuity = continuity;
                    }
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
                        settled |= verdict.settled;
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
                        for er in &mut report.expectations {
                            er.outcome = Outcome::Passed;
                        }
                        state
                            .captured_here
                            .extend(captures.iter().map(|(name, _)| name.clone()));
                        state.placements.extend(captures);
                        break;
                    }
                } else {
                    holding_since = None;
                }
                if settled || now + poll > deadline {
                    report.outcome = Outcome::Failed;
                    let held_too_briefly = holding_since.is_some();
                    let first = report
                        .expectations
                        .iter()
                        .find(|r| r.reason.is_some())
                        .map(|r| {
                            if settled {
                                format!(
                                    "expectation `{}` cannot hold any more: {}",
                                    r.description,
                                    r.reason.clone().unwrap_or_default()
                                )
                            } else {
                                format!(
                                    "expectation `{}` did not hold within {}: {}",
                                    r.description,
                                    humantime::format_duration(step.timeout),
                                    r.reason.clone().unwrap_or_default()
                                )
                            }
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
                    for er in &mut report.expectations {
                        er.outcome = if er.reason.is_none() {
                            Outcome::Passed
                        } else {
                            Outcome::Failed
                        };
                    }
                    break;
                }
                state.wait(poll).await;
            }
        }
        report.duration_ms = millis(state.now().saturating_sub(step_start));
    }
}

/// Mark a step abandoned by an interruption `after` it started: what it did so far stands (an
/// action that returned, the observations made), the rest is marked interrupted.
fn interrupt(step: &Step, report: &mut StepReport, why: &str, after: Duration) {
    report.outcome = Outcome::Interrupted;
    report.duration_ms = millis(after);
    let during = match (&step.action, &report.action) {
        (Some(action), None) => format!(
            ", during its action {} (it may or may not have taken effect)",
            action.kind()
        ),
        _ if !step.expectations.is_empty() => {
            ", while its expectations were being polled".to_owned()
        }
        _ => String::new(),
    };
    report.failure = Some(format!(
        "interrupted ({why}) after {}{during}",
        seconds(after)
    ));
    if report.expectations.is_empty() {
        // The action never returned: its expectations were never polled.
        report.expectations = unobserved(
            step,
            Outcome::Skipped,
            Some(&format!("not observed: the run was interrupted ({why})")),
        );
        return;
    }
    for er in &mut report.expectations {
        if er.outcome == Outcome::Passed {
            continue;
        }
        er.reason = Some(match (er.reason.take(), er.polls) {
            (_, 0) => format!("not observed: the run was interrupted ({why})"),
            (Some(reason), _) => {
                format!("interrupted ({why}) before it held; at the last observation: {reason}")
            }
            (None, _) => format!(
                "held at the last observation, but the run was interrupted ({why}) before the step completed"
            ),
        });
        er.outcome = Outcome::Interrupted;
    }
}

/// What each region answered last in the audit: a region that answered once stands by what it
/// showed; one that never answered is reported with its last error.
fn last_answers(
    regions: &[RegionId],
    found: &[Option<BTreeSet<String>>],
    errors: &[Option<String>],
) -> Vec<(RegionId, Result<BTreeSet<String>, String>)> {
    regions
        .iter()
        .zip(found.iter().zip(errors))
        .map(|(region, (shown, error))| {
            let answer = match (shown, error) {
                (Some(shown), _) => Ok(shown.clone()),
                (None, error) => Err(error.clone().unwrap_or_default()),
            };
            (*region, answer)
        })
        .collect()
}

/// The step's expectations before any observation, with `outcome` and `reason`.
fn unobserved(step: &Step, outcome: Outcome, reason: Option<&str>) -> Vec<ExpectationReport> {
    step.expectations
        .iter()
        .map(|e| ExpectationReport {
            kind: e.kind().to_owned(),
            description: e.describe(),
            outcome,
            polls: 0,
            held_after_ms: None,
            observed: serde_json::Value::Null,
            reason: reason.map(str::to_owned),
        })
        .collect()
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
        not_selected: None,
        skipped_because: None,
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
            Outcome::Interrupted => return Outcome::Interrupted,
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

/// An interrupted run judges no objective: the procedure did not finish, and the final audit had
/// a short deadline, so instances acknowledged just before the signal may not have been exported
/// yet and would read as lost. The measures stay in the report, marked as such.
fn not_judged_after_interruption(recovery: &mut crate::report::RecoveryReport) {
    for verdict in &mut recovery.objectives {
        if !verdict.not_measured {
            verdict.measured = format!(
                "not judged: the run was interrupted (as measured: {})",
                verdict.measured
            );
            verdict.met = false;
            verdict.not_measured = true;
        }
    }
    if recovery.rpo.is_some() {
        recovery.not_measured.push(
            "rpo: an upper bound only: the run was interrupted and its final audit had a short \
             deadline, so instances acknowledged just before the signal may not have been \
             exported yet"
                .to_owned(),
        );
    }
}
