//! `c8dr run`: run a drill on the embedded twin and write its reports.

use std::path::PathBuf;
use std::sync::Arc;

use c8dr_core::engine::operator::Operator;
use c8dr_core::engine::{Engine, EngineOptions};
use c8dr_core::exit_code;
use c8dr_core::report::Outcome;

use super::load_plan;
use crate::app::{RunArgs, RunBackend};
use crate::errors::CliError;
use crate::operator::TerminalOperator;
use crate::progress::Progress;
use crate::reports;
use crate::twin_backend::{EmbeddedTwin, ServeAddresses, TwinTime};

/// Time scale of the embedded twin unless `--time-scale` says otherwise.
const EMBEDDED_TIME_SCALE: f64 = 100.0;
/// Time scale `c8dr twin serve` uses unless told otherwise (keep in step with its default).
const SERVE_TIME_SCALE: f64 = 10.0;

pub(crate) async fn run(args: RunArgs) -> Result<i32, CliError> {
    let plan = load_plan(&args.scenario)?;
    let report_dir = args.report_dir.clone().unwrap_or_else(|| {
        PathBuf::from("c8dr-reports").join(format!("{}-lost{}", plan.name, plan.lost_region.0))
    });
    let twin = match args.backend {
        RunBackend::Twin => {
            let time = if args.virtual_time {
                TwinTime::Virtual
            } else {
                TwinTime::Scaled(args.time_scale.unwrap_or(EMBEDDED_TIME_SCALE))
            };
            EmbeddedTwin::start(&plan, time, args.seed).await?
        }
        RunBackend::TwinServe => {
            if args.virtual_time {
                return Err(CliError::Usage(
                    "--virtual-time needs the embedded twin: a `c8dr twin serve` keeps its own clock"
                        .to_owned(),
                ));
            }
            let addresses = ServeAddresses {
                bind: args.twin.bind,
                port_offset: args.twin.port_offset,
                control_port: args.twin.control_port,
            };
            EmbeddedTwin::external(
                &plan,
                addresses,
                args.time_scale.unwrap_or(SERVE_TIME_SCALE),
            )?
        }
    };
    // A rehearsal prompts on the terminal: no spinner over the prompt.
    let progress = if args.manual {
        Progress::plain()
    } else {
        Progress::new()
    };
    let operator: Option<Arc<dyn Operator>> = args.manual.then(|| {
        Arc::new(TerminalOperator::new(plan.clone(), twin.target.clone())) as Arc<dyn Operator>
    });
    let options = EngineOptions {
        poll_interval: args.poll_interval,
        clock: twin.clock.clone(),
        operator,
        ..EngineOptions::default()
    };
    let engine = Engine::new(
        &twin.platform,
        &twin.apis,
        twin.info.clone(),
        &progress,
        options,
    );
    let mut report = engine.run(&plan).await;
    report.backend_stats = twin.stats();
    twin.shutdown().await;

    let written = reports::write_all(&report_dir, &report)?;
    println!(
        "reports: {} {} {} {} {}",
        written.html.display(),
        written.json.display(),
        written.junit.display(),
        written.markdown.display(),
        written.ledger.display()
    );
    // CI job summary (GitHub Actions sets this variable).
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .and_then(|mut file| {
                std::io::Write::write_all(
                    &mut file,
                    c8dr_core::report::to_markdown(&report).as_bytes(),
                )
            });
        if let Err(e) = appended {
            tracing::warn!(error = %e, "cannot append to GITHUB_STEP_SUMMARY");
        }
    }
    Ok(match report.outcome {
        Outcome::Passed | Outcome::Skipped => exit_code::PASSED,
        Outcome::Failed => exit_code::DRILL_FAILED,
        Outcome::Errored => exit_code::INFRASTRUCTURE,
    })
}
