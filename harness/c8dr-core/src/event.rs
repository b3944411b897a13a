//! Events the engine emits while it runs. Reporters (terminal progress, logs, tests) consume
//! them; the engine itself never prints.

use crate::backend::BackendInfo;
use crate::plan::{Plan, Stage, Step};
use crate::report::{ActionReport, ExpectationReport, RunReport, StageReport, StepReport};

/// Something that happened during a run.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// The run starts.
    RunStarted {
        /// The plan.
        plan: &'a Plan,
        /// The backend.
        backend: &'a BackendInfo,
    },
    /// A stage starts.
    StageStarted {
        /// The stage.
        stage: &'a Stage,
    },
    /// A step starts.
    StepStarted {
        /// Its stage.
        stage: &'a Stage,
        /// The step.
        step: &'a Step,
    },
    /// A step's action finished.
    ActionFinished {
        /// The step.
        step: &'a Step,
        /// What happened.
        report: &'a ActionReport,
    },
    /// One expectation was observed once and did not (yet) hold.
    ExpectationPending {
        /// The step.
        step: &'a Step,
        /// The latest observation.
        report: &'a ExpectationReport,
    },
    /// A step finished.
    StepFinished {
        /// The step.
        step: &'a Step,
        /// What happened.
        report: &'a StepReport,
    },
    /// A step was skipped because an earlier one failed.
    StepSkipped {
        /// The step.
        step: &'a Step,
    },
    /// A stage finished.
    StageFinished {
        /// What happened.
        report: &'a StageReport,
    },
    /// The run finished.
    RunFinished {
        /// The full report.
        report: &'a RunReport,
    },
}

/// Receives engine events. Implementations must be cheap: the engine calls them inline.
pub trait EventSink: Send + Sync {
    /// Handle one event.
    fn emit(&self, event: &Event<'_>);
}

/// A sink that ignores every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _event: &Event<'_>) {}
}
