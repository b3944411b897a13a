//! The report of a run: what every step did, what was observed, how long it took.
//!
//! The tree is Run → Stage → Step → Action and Expectations (chainsaw's report model). The JSON
//! rendering is the report's native form; JUnit XML is derived from it. Apply nextest's rules to
//! changes: add fields freely, bump [`FORMAT_VERSION`] when a field changes meaning or goes away.

mod html;
mod junit;
mod ledger;
mod markdown;
mod model;

pub use html::to_html;
pub use junit::to_junit_xml;
pub use ledger::{
    CapturedPlacement, CompletedInstance, FaultMarker, LedgerError, LoadedLedger,
    LoadedLedgerSummary, SelectionReport, parse_ledger, to_ledger_jsonl,
};
pub use markdown::to_markdown;
pub use model::{
    ActionReport, DataContinuityReport, ExpectationReport, FORMAT_VERSION, FailureSummary,
    InstanceAttempt, InstanceOrigin, InstanceOutcome, Interruption, LedgerAudit, Measure,
    Milestones, ObjectiveVerdict, Outcome, RecoveryReport, RegionAudit, RegionContinuity,
    RegionSample, RunReport, Sample, StageReport, StepReport, ToolInfo,
};
/// The error of [`to_junit_xml`].
pub use quick_junit::SerializeError as JunitError;
