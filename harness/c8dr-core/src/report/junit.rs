//! JUnit XML: one test suite per stage, one test case per step.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{Outcome, RunReport, StepReport};

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
    junit.to_string()
}

fn test_case(report: &RunReport, stage: &str, step: &StepReport) -> TestCase {
    let status = match step.outcome {
        Outcome::Passed => TestCaseStatus::success(),
        Outcome::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message("not run: an earlier step failed");
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
    }
    for expectation in &step.expectations {
        details.push_str(&format!(
            "expectation {}: {} — {}\n",
            expectation.kind,
            expectation.description,
            expectation.outcome.word()
        ));
        if expectation.outcome == Outcome::Failed {
            if let Some(reason) = &expectation.reason {
                details.push_str(&format!("  reason: {reason}\n"));
            }
            details.push_str(&format!("  last observed: {}\n", expectation.observed));
        }
    }
    details
}
