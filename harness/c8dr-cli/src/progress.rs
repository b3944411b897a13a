//! Terminal progress: a live spinner per step on a TTY, plain lines otherwise (CI logs).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use c8dr_core::event::{Event, EventSink};
use c8dr_core::plan::Action;
use c8dr_core::report::{Outcome, StepReport};
use indicatif::{ProgressBar, ProgressStyle};

/// Prints progress to stdout.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    out: Mutex<std::io::Stdout>,
    /// How each region is named on the backend (for example `kind-c8dr-region1 namespace
    /// camunda-region1`): faults are announced with their target before they are applied.
    region_targets: Vec<String>,
}

impl Progress {
    /// A live display when stdout is a terminal, plain lines otherwise.
    pub(crate) fn new() -> Self {
        let live = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let bar = live.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("  {spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        });
        Self {
            bar,
            out: Mutex::new(std::io::stdout()),
            region_targets: Vec::new(),
        }
    }

    /// Name each region's target on the backend when a fault is announced.
    pub(crate) fn with_region_targets(mut self, targets: Vec<String>) -> Self {
        self.region_targets = targets;
        self
    }

    /// Plain lines only (rehearsals prompt on the terminal; a spinner would draw over it).
    pub(crate) fn plain() -> Self {
        Self {
            bar: None,
            out: Mutex::new(std::io::stdout()),
            region_targets: Vec::new(),
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => {
                if let Ok(mut out) = self.out.lock() {
                    // A closed stdout (for example `| head`) must not stop the drill.
                    let _ = writeln!(out, "{text}");
                }
            }
        }
    }
}

fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", Duration::from_millis(ms).as_secs_f64())
    }
}

fn marker(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "[ok]  ",
        Outcome::Failed => "[FAIL]",
        Outcome::Skipped => "[skip]",
        Outcome::Errored => "[ERR] ",
        Outcome::Interrupted => "[INT] ",
    }
}

fn step_lines(report: &StepReport) -> Vec<String> {
    let mut lines = vec![format!(
        "  {} {} {} ({})",
        marker(report.outcome),
        report.id,
        report.name,
        duration(report.duration_ms)
    )];
    // The platform's notes, even on a passed step: the reader must know, for example, that
    // pods were restarted to break connections the NetworkPolicy left open.
    if let Some(action) = &report.action {
        lines.extend(action.notes().map(|note| format!("         note: {note}")));
    }
    if report.outcome == Outcome::Passed {
        return lines;
    }
    if report.outcome == Outcome::Interrupted
        && let Some(failure) = &report.failure
    {
        lines.push(format!("         {failure}"));
    }
    if let Some(action) = &report.action
        && let Some(error) = &action.error
    {
        lines.push(format!("         action {}: {error}", action.kind));
    }
    for expectation in &report.expectations {
        if expectation.outcome == Outcome::Failed {
            lines.push(format!("         expected: {}", expectation.description));
            if let Some(reason) = &expectation.reason {
                lines.push(format!("         but:      {reason}"));
            }
            lines.push(format!("         observed: {}", expectation.observed));
        }
    }
    lines
}

/// RTO, RPO and objectives in a few lines, in cluster time.
fn recovery_lines(report: &c8dr_core::report::RunReport) -> Vec<String> {
    let recovery = &report.recovery;
    let cluster = |m: Option<&c8dr_core::report::Measure>| {
        m.map_or_else(
            || "—".to_owned(),
            |m| humantime::format_duration(Duration::from_millis(m.cluster_ms)).to_string(),
        )
    };
    let mut lines = Vec::new();
    if recovery.rto.is_some() || recovery.rpo.is_some() {
        lines.push(format!(
            "recovery (cluster time): RTO {} · RPO {} · failover {} · failback {} · exporting paused {} · backup {} · restore {}",
            cluster(recovery.rto.as_ref()),
            recovery.rpo.map_or_else(
                || "not measured".to_owned(),
                |n| format!("{n} lost of {}", report.ledger_audit.acknowledged)
            ),
            cluster(recovery.failover.as_ref()),
            cluster(recovery.failback.as_ref()),
            cluster(recovery.exporting_paused_for.as_ref()),
            cluster(recovery.backup.as_ref()),
            cluster(recovery.restore.as_ref()),
        ));
    }
    lines.extend(recovery.not_measured.iter().cloned());
    lines.push(audit_line(&report.ledger_audit));
    for objective in &recovery.objectives {
        lines.push(format!(
            "objective {} ≤ {}: {} ({})",
            objective.name.to_uppercase(),
            objective.objective,
            objective.word(),
            objective.measured
        ));
    }
    lines
}

/// The final ledger audit in one line: what each region lacks at the end of the run.
fn audit_line(audit: &c8dr_core::report::LedgerAudit) -> String {
    const SHOWN: usize = 5;
    let first = |keys: &[String]| {
        let shown: Vec<&str> = keys.iter().take(SHOWN).map(String::as_str).collect();
        format!(
            "{}{}",
            shown.join(", "),
            if keys.len() > SHOWN { ", …" } else { "" }
        )
    };
    let regions: Vec<String> = audit
        .regions
        .iter()
        .map(|r| match &r.error {
            Some(error) => format!("{} did not answer ({error})", r.region),
            None if r.missing.is_empty() => format!("{} complete", r.region),
            None => format!(
                "{} lacks {}: {}",
                r.region,
                r.missing.len(),
                first(&r.missing)
            ),
        })
        .collect();
    let mut line = format!(
        "final ledger audit: {} acknowledged · {}",
        audit.acknowledged,
        regions.join(" · ")
    );
    if !audit.lost.is_empty() {
        line.push_str(&format!(
            " · in no region: {}: {}",
            audit.lost.len(),
            first(&audit.lost)
        ));
    }
    line
}

impl EventSink for Progress {
    fn emit(&self, event: &Event<'_>) {
        match event {
            Event::RunStarted { plan, backend } => {
                self.line(&format!(
                    "c8dr: {} (Camunda {}) — lost {}, surviving {} — on the {} (time ×{})",
                    plan.name,
                    plan.camunda_version,
                    plan.lost_region,
                    plan.surviving_region,
                    backend.name,
                    backend.time_scale
                ));
                if let Some(bar) = &self.bar {
                    bar.enable_steady_tick(Duration::from_millis(80));
                }
            }
            Event::StageStarted { stage } => self.line(&format!("stage {}", stage.name)),
            Event::StepStarted { step, .. } => {
                // Never apply a fault without saying where first.
                if let Some(
                    action
                    @ (Action::LoseRegion { region, .. } | Action::RecreateRegion { region }),
                ) = &step.action
                {
                    let target = self
                        .region_targets
                        .get(region.index())
                        .map_or_else(String::new, |t| format!(" on {t}"));
                    self.line(&format!(
                        "  [!]    {} applying fault: {}{target}",
                        step.id,
                        action.summary()
                    ));
                }
                if let Some(bar) = &self.bar {
                    bar.reset_elapsed();
                    bar.set_message(format!("{} {}", step.id, step.name));
                }
            }
            Event::StepFinished { report, .. } => {
                for line in step_lines(report) {
                    self.line(&line);
                }
            }
            Event::StepSkipped { step } => {
                self.line(&format!(
                    "  {} {} {}",
                    marker(Outcome::Skipped),
                    step.id,
                    step.name
                ));
            }
            Event::RunFinished { report } => {
                if let Some(bar) = &self.bar {
                    bar.finish_and_clear();
                }
                let steps = report.steps().count();
                let passed = report
                    .steps()
                    .filter(|s| s.outcome == Outcome::Passed)
                    .count();
                let not_selected = report.steps().filter(|s| s.not_selected.is_some()).count();
                let summary = match &report.failure {
                    _ if report.interrupted.is_some() => {
                        let interruption = report.interrupted.as_ref();
                        format!(
                            "INTERRUPTED ({}): {passed} of {steps} steps passed{}; final ledger audit {}",
                            interruption.map_or("", |i| i.signal.as_str()),
                            report.failure.as_ref().map_or_else(
                                || " (during the final ledger audit)".to_owned(),
                                |f| format!(", stopped at step {} `{}`", f.step_id, f.step)
                            ),
                            interruption.map_or("", |i| i.audit.as_str())
                        )
                    }
                    None if not_selected > 0 => format!(
                        "PASSED: {passed} of {steps} steps in {} ({not_selected} in stages not selected, skipped)",
                        duration(report.duration_ms)
                    ),
                    None => format!(
                        "PASSED: {passed} of {steps} steps in {}",
                        duration(report.duration_ms)
                    ),
                    // The recovery objectives judge the whole run, not a step.
                    Some(failure) if failure.step_id.is_empty() => {
                        format!("FAILED: {}: {}", failure.step, failure.reason)
                    }
                    Some(failure) => format!(
                        "{}: step {} `{}` (stage {}): {}",
                        if report.outcome == Outcome::Errored {
                            "ERRORED"
                        } else {
                            "FAILED"
                        },
                        failure.step_id,
                        failure.step,
                        failure.stage,
                        failure.reason
                    ),
                };
                self.line(&summary);
                for line in recovery_lines(report) {
                    self.line(&line);
                }
            }
            Event::ActionFinished { .. }
            | Event::ExpectationPending { .. }
            | Event::StageFinished { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use c8dr_core::report::{ActionReport, Outcome, StepReport};

    use super::step_lines;

    fn step(notes: &[&str]) -> StepReport {
        StepReport {
            id: "2.1".into(),
            name: "lose region1".into(),
            procedure: None,
            outcome: Outcome::Passed,
            started_ms: 0,
            duration_ms: 1_500,
            timeout_ms: 60_000,
            action: Some(ActionReport {
                kind: "loseRegion".into(),
                summary: "lose region1 (networkPolicy)".into(),
                outcome: Outcome::Passed,
                attempts: 1,
                duration_ms: 1_500,
                result: Some(serde_json::json!({ "notes": notes })),
                error: None,
            }),
            expectations: Vec::new(),
            failure: None,
            not_selected: None,
            skipped_because: None,
        }
    }

    #[test]
    fn a_passed_steps_platform_notes_are_printed_under_it() {
        let lines = step_lines(&step(&["pods restarted to break established connections"]));
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].contains("2.1 lose region1"), "{lines:?}");
        assert_eq!(
            lines[1],
            "         note: pods restarted to break established connections"
        );
        assert_eq!(step_lines(&step(&[])).len(), 1);
    }
}
