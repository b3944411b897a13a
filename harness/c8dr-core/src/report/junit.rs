//! JUnit XML: one test suite per stage, one test case per step, and, when the scenario sets
//! recovery objectives, a `recovery` suite with one `recovery objectives` test case.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{ActionReport, ObjectiveVerdict, Outcome, RunReport, StepReport};

/// Render a run report as JUnit XML. Failures carry the expectation that did not hold and the
/// last observed value.
///
/// # Errors
/// When the XML writer fails (it writes to memory, so only on internal errors).
pub fn to_junit_xml(report: &RunReport) -> Result<String, quick_junit::SerializeError> {
    let mut junit = Report::new(format!("c8dr {}", report.scenario));
    junit.set_time(std::time::Duration::from_millis(report.duration_ms));
    for stage in &report.stages {
        let mut suite = TestSuite::new(format!("{} / {}", report.scenario, stage.name));
        suite.set_time(std::time::Duration::from_millis(stage.duration_ms));
        for step in &stage.steps {
            suite.add_test_case(test_case(report, &stage.name, step));
        }
        junit.add_test_suite(suite);
    }
    if !report.recovery.objectives.is_empty() {
        let mut suite = TestSuite::new(format!("{} / recovery", report.scenario));
        suite.add_test_case(objectives_case(report));
        junit.add_test_suite(suite);
    }
    junit.to_string()
}

fn objective_line(o: &ObjectiveVerdict) -> String {
    format!(
        "{} ≤ {}: {} ({})",
        o.name.to_uppercase(),
        o.objective,
        o.word(),
        o.measured
    )
}

/// The recovery objectives as one test case: a failure when an objective was missed on a run
/// whose steps all passed (the objectives are then what failed the run). When a step failed
/// first, the procedure did not complete and the objectives are not judged (skipped, like every
/// step after the failure), but the measured values are still given.
fn objectives_case(report: &RunReport) -> TestCase {
    let objectives = &report.recovery.objectives;
    let lines: String = objectives
        .iter()
        .map(|o| format!("{}\n", objective_line(o)))
        .collect();
    let missed: Vec<String> = objectives
        .iter()
        .filter(|o| !o.met && !o.not_measured)
        .map(|o| {
            format!(
                "objective {} {} not met: {}",
                o.name, o.objective, o.measured
            )
        })
        .collect();
    let stopped_at = report.failure.as_ref().filter(|f| !f.step_id.is_empty());
    let status = match stopped_at {
        _ if report.interrupted.is_some() => {
            let mut status = TestCaseStatus::skipped();
            status
                .set_message("not judged: the run was interrupted before the procedure completed");
            status.set_description(format!("as measured:\n{lines}"));
            status
        }
        Some(failure) => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(format!(
                "not judged: the drill stopped at step {} `{}` before the procedure completed",
                failure.step_id, failure.step
            ));
            status.set_description(format!("as measured:\n{lines}"));
            status
        }
        None if missed.is_empty() => TestCaseStatus::success(),
        None => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(missed.join("; "));
            status.set_description(lines.clone());
            status
        }
    };
    let mut case = TestCase::new("recovery objectives", status);
    case.set_classname(format!("{}.recovery", report.scenario));
    case.set_system_out(lines);
    case
}

fn test_case(report: &RunReport, stage: &str, step: &StepReport) -> TestCase {
    let status = match step.outcome {
        Outcome::Passed => TestCaseStatus::success(),
        Outcome::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(
                step.not_selected
                    .as_deref()
                    .or(step.skipped_because.as_deref())
                    .unwrap_or("not run: an earlier step failed"),
            );
            status
        }
        // Abandoned, neither passed nor failed: an error (the drill could not judge it), with
        // what it did until then.
        Outcome::Interrupted => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(step.failure.clone().unwrap_or_else(|| "interrupted".into()));
            status.set_description(failure_details(step));
            status
        }
        Outcome::Failed | Outcome::Errored => {
            let kind = if step.outcome == Outcome::Failed {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut status = TestCaseStatus::non_success(kind);
            status.set_message(step.failure.clone().unwrap_or_else(|| "step failed".into()));
            status.set_description(failure_details(step));
            status
        }
    };
    let mut case = TestCase::new(format!("{} {}", step.id, step.name), status);
    case.set_classname(format!("{}.{}", report.scenario, stage));
    case.set_time(std::time::Duration::from_millis(step.duration_ms));
    // The platform's notes (a passed step's too): CI shows a test case's output.
    let notes: Vec<String> = step
        .action
        .iter()
        .flat_map(ActionReport::notes)
        .map(|note| format!("note: {note}"))
        .collect();
    if !notes.is_empty() {
        case.set_system_out(notes.join("\n"));
    }
    case
}

fn failure_details(step: &StepReport) -> String {
    let mut details = String::new();
    if let Some(action) = &step.action {
        details.push_str(&format!(
            "action {} ({}): {}\n",
            action.kind,
            action.summary,
            action.outcome.word()
        ));
        if let Some(error) = &action.error {
            details.push_str(&format!("  error: {error}\n"));
        }
        for note in action.notes() {
            details.push_str(&format!("  note: {note}\n"));
        }
    }
    for expectation in &step.expectations {
        details.push_str(&format!(
            "expectation {}: {} — {}\n",
            expectation.kind,
            expectation.description,
            expectation.outcome.word()
        ));
        if matches!(expectation.outcome, Outcome::Failed | Outcome::Interrupted) {
            if let Some(reason) = &expectation.reason {
                details.push_str(&format!("  reason: {reason}\n"));
            }
            details.push_str(&format!("  last observed: {}\n", expectation.observed));
        }
    }
    details
}
