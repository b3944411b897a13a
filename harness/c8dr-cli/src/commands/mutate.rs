//! `c8dr mutate`: run mutants of the procedure against the twin and show which the drill
//! catches. A mutant that survives is either a gap in the drill's checks or a step the scenario
//! explains as harmless (`harmlessMutants`); an unexplained survivor fails the command. A mutant
//! counts as caught only when the drill fails at or after the first step the mutation changes:
//! a failure before it, on steps the unmutated drill passes, is not the mutation's doing, so the
//! result is invalid (a flaky drill or twin) and fails the command too.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use c8dr_core::engine::{Engine, EngineOptions};
use c8dr_core::event::NoEvents;
use c8dr_core::exit_code;
use c8dr_core::mutate::{Mutant, MutantKind, mutants};
use c8dr_core::plan::Plan;
use c8dr_core::report::{Outcome, RunReport};
use serde::Serialize;

use super::load_plan;
use crate::app::MutateArgs;
use crate::errors::CliError;
use crate::twin_backend::{EmbeddedTwin, TwinTime};

/// What happened to one mutant.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct MutantResult {
    id: String,
    kind: MutantKind,
    description: String,
    step_id: String,
    verdict: Verdict,
    /// The failing step and why (caught), or why the mutant is harmless (survived).
    reason: String,
    /// Wall milliseconds the mutant's drill took.
    wall_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
enum Verdict {
    /// The drill failed: the mutation was detected.
    Caught,
    /// The drill passed, and the scenario explains why the mutation is harmless.
    SurvivedHarmless,
    /// The drill passed and nothing explains it: a gap in the checks.
    Survived,
    /// The drill failed before the mutated step, where it is the same as the unmutated drill:
    /// the failure says nothing about the mutation.
    Invalid,
    /// The twin could not be driven; no verdict.
    Errored,
}

impl Verdict {
    fn word(self) -> &'static str {
        match self {
            Verdict::Caught => "caught",
            Verdict::SurvivedHarmless => "harmless",
            Verdict::Survived => "SURVIVED",
            Verdict::Invalid => "INVALID",
            Verdict::Errored => "ERRORED",
        }
    }
}

/// The mutation report written to `mutants.json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MutationReport {
    scenario: String,
    lost_region: u8,
    seed: u64,
    mutants: Vec<MutantResult>,
    caught: usize,
    harmless: usize,
    survived: usize,
    invalid: usize,
    errored: usize,
    wall_ms: u64,
}

/// One drill on a fresh embedded twin on virtual time.
async fn drill(plan: &Plan, seed: u64) -> Result<RunReport, CliError> {
    let twin = EmbeddedTwin::start(plan, TwinTime::Virtual, seed).await?;
    let options = EngineOptions {
        clock: twin.clock.clone(),
        sample_timeline: false,
        ..EngineOptions::default()
    };
    let engine = Engine::new(
        &twin.platform,
        &twin.apis,
        twin.info.clone(),
        &NoEvents,
        options,
    );
    let report = engine.run(plan).await;
    twin.shutdown().await;
    Ok(report)
}

fn judge(mutant: &Mutant, report: &RunReport, wall_ms: u64) -> MutantResult {
    let first_affected = mutant.plan.steps().nth(mutant.first_affected).map_or_else(
        || "the end of the procedure".to_owned(),
        |(_, s)| format!("step {} `{}`", s.id, s.name),
    );
    let (verdict, reason) = match (&report.outcome, &report.failure) {
        // The recovery objectives judge the whole run, after every step.
        (Outcome::Failed, Some(failure)) if failure.step_id.is_empty() => (
            Verdict::Caught,
            format!("{}: {}", failure.step, failure.reason),
        ),
        (Outcome::Failed, Some(failure)) if mutant.affects(&failure.step_id) => (
            Verdict::Caught,
            format!(
                "step {} `{}`: {}",
                failure.step_id, failure.step, failure.reason
            ),
        ),
        (Outcome::Failed, Some(failure)) => (
            Verdict::Invalid,
            format!(
                "the drill failed at step {} `{}`, before the mutation's first changed {first_affected}, where it runs the same as the unmutated drill (which passed): a flaky drill or twin, not a catch. {}",
                failure.step_id, failure.step, failure.reason
            ),
        ),
        // (Mutants run without an interruption signal; were one interrupted, nothing was judged.)
        (Outcome::Errored | Outcome::Interrupted, failure) => (
            Verdict::Errored,
            failure
                .as_ref()
                .map_or_else(String::new, |f| f.reason.clone()),
        ),
        _ => match &mutant.harmless {
            Some(why) => (Verdict::SurvivedHarmless, why.clone()),
            None => (
                Verdict::Survived,
                "the drill passed: no check noticed this change".to_owned(),
            ),
        },
    };
    MutantResult {
        id: mutant.id.clone(),
        kind: mutant.kind,
        description: mutant.description.clone(),
        step_id: mutant.step_id.clone(),
        verdict,
        reason,
        wall_ms,
    }
}

fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(width.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

fn markdown(report: &MutationReport) -> String {
    let mut md = format!(
        "## c8dr mutate `{}` (lost region{}, seed {})\n\n{} mutants: {} caught, {} harmless, {} survived, {} invalid, {} errored, in {:.1} s\n\n| mutant | kind | change | verdict | why |\n|---|---|---|---|---|\n",
        report.scenario,
        report.lost_region,
        report.seed,
        report.mutants.len(),
        report.caught,
        report.harmless,
        report.survived,
        report.invalid,
        report.errored,
        report.wall_ms as f64 / 1000.0
    );
    for m in &report.mutants {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            m.id,
            m.kind.label(),
            m.description.replace('|', "\\|"),
            m.verdict.word(),
            m.reason.replace('|', "\\|")
        ));
    }
    md
}

/// Survivors without an explanation and invalid results: what fails the command.
fn results_needing_attention(report: &MutationReport) -> impl Iterator<Item = &MutantResult> {
    report
        .mutants
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Survived | Verdict::Invalid))
}

pub(crate) async fn mutate(args: MutateArgs) -> Result<i32, CliError> {
    let started = Instant::now();
    let plan = load_plan(&args.scenario)?;
    let report_dir = args.report_dir.clone().unwrap_or_else(|| {
        PathBuf::from("c8dr-reports")
            .join(format!("{}-lost{}-mutants", plan.name, plan.lost_region.0))
    });
    let jobs = args.jobs.max(1);

    // The unmutated drill must pass, or nothing can be concluded from the mutants.
    let baseline = drill(&plan, args.seed).await?;
    if baseline.outcome != Outcome::Passed {
        let reason = baseline.failure.as_ref().map_or_else(String::new, |f| {
            format!("step {} `{}`: {}", f.step_id, f.step, f.reason)
        });
        println!("the unmutated drill does not pass, so its mutants prove nothing: {reason}");
        return Ok(exit_code::DRILL_FAILED);
    }

    let mutants = mutants(&plan);
    println!(
        "c8dr mutate: {} — lost {} — {} mutants, {jobs} at a time, seed {}",
        plan.name,
        plan.lost_region,
        mutants.len(),
        args.seed
    );
    let semaphore = Arc::new(tokio::sync::Semaphore::new(jobs));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, mutant) in mutants.into_iter().enumerate() {
        let semaphore = Arc::clone(&semaphore);
        let seed = args.seed;
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let began = Instant::now();
            let result = drill(&mutant.plan, seed).await;
            let wall_ms = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
            let judged = match result {
                Ok(report) => judge(&mutant, &report, wall_ms),
                Err(e) => MutantResult {
                    id: mutant.id.clone(),
                    kind: mutant.kind,
                    description: mutant.description.clone(),
                    step_id: mutant.step_id.clone(),
                    verdict: Verdict::Errored,
                    reason: e.to_string(),
                    wall_ms,
                },
            };
            (index, judged)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(result) => results.push(result),
            Err(e) => tracing::error!(error = %e, "a mutant's task failed"),
        }
    }
    results.sort_by_key(|(index, _)| *index);
    let results: Vec<MutantResult> = results.into_iter().map(|(_, r)| r).collect();

    println!();
    println!("{:<5} {:<22} {:<9} change → why", "id", "kind", "verdict");
    for r in &results {
        let kind = serde_json::to_value(r.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        println!(
            "{:<5} {:<22} {:<9} {}",
            r.id,
            kind,
            r.verdict.word(),
            shorten(&r.description, 110)
        );
        println!("{:<38} → {}", "", shorten(&r.reason, 110));
    }
    let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
    let report = MutationReport {
        scenario: plan.name.clone(),
        lost_region: plan.lost_region.0,
        seed: args.seed,
        caught: count(Verdict::Caught),
        harmless: count(Verdict::SurvivedHarmless),
        survived: count(Verdict::Survived),
        invalid: count(Verdict::Invalid),
        errored: count(Verdict::Errored),
        wall_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        mutants: results,
    };
    println!();
    println!(
        "{} mutants: {} caught, {} harmless (explained by the scenario), {} survived, {} invalid, {} errored — {:.1} s",
        report.mutants.len(),
        report.caught,
        report.harmless,
        report.survived,
        report.invalid,
        report.errored,
        report.wall_ms as f64 / 1000.0
    );

    std::fs::create_dir_all(&report_dir).map_err(|source| CliError::WriteReport {
        path: report_dir.clone(),
        source,
    })?;
    let json_path = report_dir.join("mutants.json");
    let json = serde_json::to_string_pretty(&report).map_err(|e| CliError::WriteReport {
        path: json_path.clone(),
        source: std::io::Error::other(e),
    })?;
    for (path, content) in [
        (json_path, json),
        (report_dir.join("mutants.md"), markdown(&report)),
    ] {
        std::fs::write(&path, content).map_err(|source| CliError::WriteReport { path, source })?;
    }
    println!("reports: {}", report_dir.display());

    for r in results_needing_attention(&report) {
        println!("{} {}: {}", r.verdict.word(), r.id, r.reason);
    }
    Ok(if report.survived > 0 || report.invalid > 0 {
        exit_code::DRILL_FAILED
    } else if report.errored > 0 {
        exit_code::INFRASTRUCTURE
    } else {
        exit_code::PASSED
    })
}

#[cfg(test)]
mod tests {
    use c8dr_core::backend::BackendInfo;
    use c8dr_core::mutate::{Mutant, MutantKind, mutants};
    use c8dr_core::report::{
        FailureSummary, LedgerAudit, Outcome, RecoveryReport, RunReport, ToolInfo,
    };
    use c8dr_core::validate::{PlanOptions, load};

    use super::{Verdict, judge};

    fn no_pause() -> Mutant {
        let source = crate::builtin::scenario(crate::builtin::DEFAULT_SCENARIO)
            .expect("the built-in scenario");
        let plan = load(&source, &PlanOptions::default()).expect("the built-in scenario is valid");
        mutants(&plan)
            .into_iter()
            .find(|m| m.kind == MutantKind::SnapshotWithoutPausing)
            .expect("the no-pause mutant")
    }

    /// A failed run of the mutant's plan, failing at `step_id` (empty: the objectives).
    fn failed_at(mutant: &Mutant, step_id: &str, step: &str) -> RunReport {
        RunReport {
            format_version: c8dr_core::report::FORMAT_VERSION,
            tool: ToolInfo {
                name: "c8dr".to_owned(),
                version: "test".to_owned(),
            },
            scenario: mutant.plan.name.clone(),
            source: mutant.plan.source.clone(),
            camunda_version: mutant.plan.camunda_version.clone(),
            lost_region: mutant.plan.lost_region,
            surviving_region: mutant.plan.surviving_region,
            backend: BackendInfo {
                name: "twin".to_owned(),
                time_scale: 1.0,
                min_poll_interval: std::time::Duration::ZERO,
            },
            virtual_time: true,
            started_at: String::new(),
            duration_ms: 0,
            outcome: Outcome::Failed,
            failure: Some(FailureSummary {
                step_id: step_id.to_owned(),
                step: step.to_owned(),
                stage: "failback".to_owned(),
                reason: "it did not hold".to_owned(),
            }),
            stages: Vec::new(),
            instances: Vec::new(),
            recovery: RecoveryReport::default(),
            data_continuity: None,
            ledger_audit: LedgerAudit::default(),
            timeline: Vec::new(),
            backend_stats: None,
            fault: None,
            placements: Vec::new(),
            completed: Vec::new(),
            selection: None,
            interrupted: None,
        }
    }

    #[test]
    fn a_failure_from_the_first_changed_step_on_is_a_catch() {
        let mutant = no_pause();
        for (id, name) in [
            (
                "4.5",
                "register the backup repository in the surviving region",
            ),
            ("4.8", "restore the snapshot in the recreated region"),
            ("", "recovery objectives"),
        ] {
            let result = judge(&mutant, &failed_at(&mutant, id, name), 1);
            assert_eq!(result.verdict, Verdict::Caught, "{id}: {}", result.reason);
        }
    }

    #[test]
    fn a_failure_before_the_first_changed_step_is_invalid_not_a_catch() {
        let mutant = no_pause();
        let result = judge(
            &mutant,
            &failed_at(
                &mutant,
                "4.3",
                "turn off the web apps in the surviving region",
            ),
            1,
        );
        assert_eq!(result.verdict, Verdict::Invalid);
        assert!(
            result.reason.starts_with(
                "the drill failed at step 4.3 `turn off the web apps in the surviving region`, before the mutation's first changed step 4.5 `register the backup repository in the surviving region`"
            ),
            "{}",
            result.reason
        );
    }
}
