//! A Markdown summary for a CI job summary (`$GITHUB_STEP_SUMMARY`): outcome, recovery, stages,
//! and the failure in full.

use std::fmt::Write as _;
use std::time::Duration;

use super::{Measure, Outcome, RunReport};

fn duration(ms: u64) -> String {
    humantime::format_duration(Duration::from_millis(ms)).to_string()
}

fn measure(m: Option<&Measure>, scale: f64) -> String {
    match m {
        None => "—".to_owned(),
        Some(m) if (scale - 1.0).abs() < f64::EPSILON => duration(m.cluster_ms),
        Some(m) => format!(
            "{} ({} on the twin)",
            duration(m.cluster_ms),
            duration(m.run_ms)
        ),
    }
}

fn icon(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "✅",
        Outcome::Failed => "❌",
        Outcome::Skipped => "⏭️",
        Outcome::Errored => "⚠️",
        Outcome::Interrupted => "⏹️",
    }
}

/// Render the summary.
#[must_use]
pub fn to_markdown(report: &RunReport) -> String {
    let mut md = String::new();
    let scale = report.backend.time_scale;
    let _ = writeln!(
        md,
        "## {} c8dr `{}`: {}",
        icon(report.outcome),
        report.scenario,
        report.outcome.word()
    );
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "Camunda {} · lost {} · surviving {} · backend {} (time ×{}{}) · {} steps in {}",
        report.camunda_version,
        report.lost_region,
        report.surviving_region,
        report.backend.name,
        report.backend.time_scale,
        if report.virtual_time {
            ", virtual time"
        } else {
            ""
        },
        report.steps().count(),
        duration(report.duration_ms)
    );
    if let Some(interruption) = &report.interrupted {
        let _ = writeln!(md);
        let _ = writeln!(
            md,
            "**Interrupted ({}) {} into the run**{}. Final ledger audit: {}.",
            interruption.signal,
            duration(interruption.at_ms),
            interruption
                .step_id
                .as_ref()
                .and_then(|id| report.steps().find(|s| &s.id == id))
                .map(|s| format!(
                    " at step {} `{}`: {}; the steps after it did not run",
                    s.id,
                    s.name,
                    s.failure.as_deref().unwrap_or_default()
                ))
                .unwrap_or_else(|| " during the final ledger audit".to_owned()),
            interruption.audit
        );
    } else if let Some(failure) = &report.failure {
        let _ = writeln!(md);
        if failure.step_id.is_empty() {
            // The recovery objectives judge the whole run, not a step.
            let _ = writeln!(md, "**Failed: {}**: {}", failure.step, failure.reason);
        } else {
            let _ = writeln!(
                md,
                "**Failed at step {} `{}`** (stage {}): {}",
                failure.step_id, failure.step, failure.stage, failure.reason
            );
        }
    }
    let recovery = &report.recovery;
    let _ = writeln!(md);
    let _ = writeln!(md, "### Recovery");
    let _ = writeln!(md);
    let _ = writeln!(md, "| measure | value (cluster time) |");
    let _ = writeln!(md, "|---|---|");
    let _ = writeln!(
        md,
        "| RTO (fault → first acknowledged instance) | {} |",
        measure(recovery.rto.as_ref(), scale)
    );
    let _ = writeln!(
        md,
        "| RPO (acknowledged instances in no region's Elasticsearch at the final audit) | {} |",
        recovery.rpo.map_or_else(
            || "not measured (no region's Elasticsearch answered)".to_owned(),
            |n| format!("{n} of {}", report.ledger_audit.acknowledged)
        )
    );
    let _ = writeln!(
        md,
        "| failover | {} |",
        measure(recovery.failover.as_ref(), scale)
    );
    let _ = writeln!(
        md,
        "| failback | {} |",
        measure(recovery.failback.as_ref(), scale)
    );
    let _ = writeln!(
        md,
        "| exporting paused | {} |",
        measure(recovery.exporting_paused_for.as_ref(), scale)
    );
    let _ = writeln!(
        md,
        "| backup | {} |",
        measure(recovery.backup.as_ref(), scale)
    );
    let _ = writeln!(
        md,
        "| restore | {} |",
        measure(recovery.restore.as_ref(), scale)
    );
    for objective in &recovery.objectives {
        let _ = writeln!(
            md,
            "| objective {} ≤ {} | {} {} |",
            objective.name.to_uppercase(),
            objective.objective,
            if objective.met {
                "✅"
            } else if objective.not_measured {
                "⏭️"
            } else {
                "❌"
            },
            objective.measured
        );
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "### Stages");
    let _ = writeln!(md);
    let _ = writeln!(md, "| stage | outcome | steps | duration (cluster time) |");
    let _ = writeln!(md, "|---|---|---|---|");
    for stage in &report.stages {
        let passed = stage
            .steps
            .iter()
            .filter(|s| s.outcome == Outcome::Passed)
            .count();
        let _ = writeln!(
            md,
            "| {} | {} {} | {passed}/{} | {} |",
            stage.name,
            icon(stage.outcome),
            stage.outcome.word(),
            stage.steps.len(),
            measure(Some(&Measure::new(stage.duration_ms, scale)), scale)
        );
    }
    let notes: Vec<String> = report
        .steps()
        .flat_map(|step| {
            step.action.iter().flat_map(move |action| {
                action
                    .notes()
                    .map(move |note| format!("- step {} `{}`: {note}", step.id, step.name))
            })
        })
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(md);
        let _ = writeln!(md, "### Platform notes");
        let _ = writeln!(md);
        for note in notes {
            let _ = writeln!(md, "{note}");
        }
    }
    if let Some(step) = report.steps().find(|s| {
        matches!(
            s.outcome,
            Outcome::Failed | Outcome::Errored | Outcome::Interrupted
        )
    }) {
        let _ = writeln!(md);
        let heading = if step.outcome == Outcome::Interrupted {
            "Interrupted step"
        } else {
            "Failed step"
        };
        let _ = writeln!(md, "### {heading} {} `{}`", step.id, step.name);
        let _ = writeln!(md);
        if let Some(action) = &step.action
            && let Some(error) = &action.error
        {
            let _ = writeln!(
                md,
                "- action `{}` ({}): {error}",
                action.kind, action.summary
            );
        }
        for expectation in step
            .expectations
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::Failed | Outcome::Interrupted))
        {
            let _ = writeln!(md, "- expected: {}", expectation.description);
            if let Some(reason) = &expectation.reason {
                let _ = writeln!(md, "  - but: {reason}");
            }
            let _ = writeln!(md, "  - last observed: `{}`", expectation.observed);
        }
    }
    audit(&mut md, &report.ledger_audit);
    md
}

/// Keys listed per region before the rest is left to `report.json`.
const KEYS_SHOWN: usize = 50;

fn keys(list: &[String]) -> String {
    let shown: Vec<&str> = list.iter().take(KEYS_SHOWN).map(String::as_str).collect();
    let more = list.len() - shown.len();
    if more == 0 {
        shown.join(", ")
    } else {
        format!("{}, … ({more} more in report.json)", shown.join(", "))
    }
}

/// The final ledger audit: what each region lacks at the end of the run, and the RPO.
fn audit(md: &mut String, audit: &super::LedgerAudit) {
    let _ = writeln!(md);
    let _ = writeln!(md, "### Final ledger audit");
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "{} acknowledged instances looked up in every region's Elasticsearch after the last step.",
        audit.acknowledged
    );
    let _ = writeln!(md);
    for region in &audit.regions {
        match &region.error {
            Some(error) => {
                let _ = writeln!(md, "- {}: did not answer: {error}", region.region);
            }
            None if region.missing.is_empty() => {
                let _ = writeln!(md, "- {}: complete", region.region);
            }
            None => {
                let _ = writeln!(
                    md,
                    "- {}: {} missing: {}",
                    region.region,
                    region.missing.len(),
                    keys(&region.missing)
                );
            }
        }
    }
    if !audit.lost.is_empty() {
        let _ = writeln!(
            md,
            "- in no region (lost): {}: {}",
            audit.lost.len(),
            keys(&audit.lost)
        );
    }
}
