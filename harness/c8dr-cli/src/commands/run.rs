//! `c8dr run`: run a drill on the embedded twin, a `c8dr twin serve` or two kind clusters, and
//! write its reports.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use c8dr_client::HttpApis;
use c8dr_core::backend::{BackendInfo, Platform};
use c8dr_core::clock::{Clock, TokioClock};
use c8dr_core::engine::operator::Operator;
use c8dr_core::engine::{Cancel, Engine, EngineOptions, StageSelection};
use c8dr_core::exit_code;
use c8dr_core::plan::Plan;
use c8dr_core::render::CommandTarget;
use c8dr_core::report::{LoadedLedger, Outcome, RunReport};
use c8dr_kind::{KindBackend, KubeconfigFactory, TokioCommandRunner};

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
/// How long an interrupted engine may take to hand back its report (it abandons the current
/// step at once and bounds its final ledger audit to 2 s): past this, no report is written.
const INTERRUPT_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Resolves with the signal's name on the first Ctrl-C (SIGINT) or, on unix, SIGTERM (what CI
/// sends a cancelled or timed-out job). A handler that cannot be installed never resolves.
async fn interrupt_signal() -> &'static str {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = async {
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    term.recv().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            () = ctrl_c => "Ctrl-C",
            () = terminate => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c.await;
        "Ctrl-C"
    }
}

/// What every backend hands the engine.
struct Drive<'a, P> {
    platform: &'a P,
    apis: &'a HttpApis,
    info: BackendInfo,
    clock: Arc<dyn Clock>,
    target: CommandTarget,
    /// How each region is named on the backend, for announcing faults.
    region_targets: Vec<String>,
}

/// Run the plan on one backend, with progress and (for rehearsals) the terminal operator.
///
/// Ctrl-C or SIGTERM interrupts the engine, which abandons the current step and hands back a
/// report of the run so far (outcome `interrupted`) for the caller to write as usual. `None`
/// when it did not within [`INTERRUPT_GRACE`]: the caller then only cleans up what the run
/// started. A second signal exits at once.
async fn drive<P: Platform>(
    plan: &Plan,
    args: &RunArgs,
    carry: &Carry,
    drive: Drive<'_, P>,
) -> Option<RunReport> {
    // A rehearsal prompts on the terminal: no spinner over the prompt.
    let progress = if args.manual {
        Progress::plain()
    } else {
        Progress::new()
    }
    .with_region_targets(drive.region_targets);
    let operator: Option<Arc<dyn Operator>> = args.manual.then(|| {
        Arc::new(TerminalOperator::new(plan.clone(), drive.target.clone())) as Arc<dyn Operator>
    });
    let cancel = Cancel::new();
    let options = EngineOptions {
        cancel: cancel.clone(),
        poll_interval: args.poll_interval,
        clock: drive.clock,
        operator,
        stages: carry.stages.clone(),
        ledger: carry.ledger.clone(),
        ..EngineOptions::default()
    };
    let engine = Engine::new(drive.platform, drive.apis, drive.info, &progress, options);
    let mut run = std::pin::pin!(engine.run(plan));
    let why = tokio::select! {
        report = &mut run => return Some(report),
        why = interrupt_signal() => why,
    };
    println!(
        "interrupted ({why}): stopping the drill, then writing its reports and cleaning up what the run started (Ctrl-C again to abort)"
    );
    // A second Ctrl-C (or SIGTERM) stops at once, reports and cleanup or not (as nextest
    // escalates).
    tokio::spawn(async {
        interrupt_signal().await;
        eprintln!("c8dr: aborted; the environment may be dirty");
        std::process::exit(exit_code::INTERRUPTED);
    });
    cancel.cancel(why);
    if let Ok(report) = tokio::time::timeout(INTERRUPT_GRACE, run).await {
        Some(report)
    } else {
        eprintln!(
            "c8dr: the drill did not stop within {}; no report is written",
            humantime::format_duration(INTERRUPT_GRACE)
        );
        None
    }
}

/// `--report-dir` when not given: `c8dr-reports/<scenario>-lost<region>`.
pub(crate) fn default_report_dir(plan: &Plan) -> PathBuf {
    PathBuf::from("c8dr-reports").join(format!("{}-lost{}", plan.name, plan.lost_region.0))
}

/// What `--stage` and `--ledger` hand the engine.
struct Carry {
    stages: Option<StageSelection>,
    ledger: Option<LoadedLedger>,
}

/// Check `--stage` and load `--ledger` before anything is touched.
fn carry(plan: &Plan, args: &RunArgs, report_dir: &Path) -> Result<Carry, CliError> {
    let selection = StageSelection::parse(plan, &args.stages)?;
    // Only `twin-serve` keeps what an earlier run did. The embedded twin starts a fresh cluster
    // for every run; the kind backend installs both regions at its start (which would undo a
    // failover) and keeps the faults it applied in memory (a later process could not heal
    // them). On those, a stage cannot run without the stages before it.
    let fresh_each_run = match args.backend {
        RunBackend::Twin => Some(
            "the embedded twin starts a fresh cluster for every run, so a stage cannot run \
             without the stages before it",
        ),
        RunBackend::Kind => Some(
            "the kind backend installs Camunda in both regions when it starts and keeps the \
             faults it applied only for the run that applied them, so a later run could neither \
             find the cluster as the earlier stages left it nor heal their faults",
        ),
        RunBackend::TwinServe => None,
    };
    if let Some(why) = fresh_each_run {
        let missing = selection.skipped_before_selected(plan);
        if !missing.is_empty() {
            return Err(CliError::Usage(format!(
                "--stage {}: {why} ({} would not have run). Select them too, or keep one twin \
                 across runs: start `c8dr twin serve` and run each part with `--backend \
                 twin-serve` (and `--ledger` from the second part on)",
                selection.asked(),
                missing.join(", ")
            )));
        }
        if args.ledger.is_some() {
            return Err(CliError::Usage(format!(
                "--ledger: {why}; the earlier run's instances and state cannot be continued. \
                 Continue a run against the target it ran on with `--backend twin-serve`"
            )));
        }
    }
    let ledger = match &args.ledger {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| CliError::ReadLedger {
                path: path.clone(),
                source,
            })?;
            // The combined ledger is written to the report directory: never over the input.
            let output = report_dir.join("ledger.jsonl");
            if let (Ok(input), Ok(output)) = (path.canonicalize(), output.canonicalize())
                && input == output
            {
                return Err(CliError::Usage(format!(
                    "--ledger {} is the ledger this run would write (its --report-dir); give the \
                     run another --report-dir, so the earlier run's ledger stays as it was",
                    path.display()
                )));
            }
            Some(c8dr_core::report::parse_ledger(
                &path.display().to_string(),
                &text,
            )?)
        }
    };
    selection.check(plan, ledger.as_ref())?;
    Ok(Carry {
        stages: (!selection.is_all()).then_some(selection),
        ledger,
    })
}

pub(crate) async fn run(args: RunArgs) -> Result<i32, CliError> {
    let mut plan = load_plan(&args.scenario)?;
    let report_dir = args
        .report_dir
        .clone()
        .unwrap_or_else(|| default_report_dir(&plan));
    if args.virtual_time && args.backend != RunBackend::Twin {
        return Err(CliError::Usage(
            "--virtual-time needs the embedded twin: other backends keep their own clock"
                .to_owned(),
        ));
    }
    let carry = carry(&plan, &args, &report_dir)?;
    let report = match args.backend {
        RunBackend::Twin | RunBackend::TwinServe => {
            let twin = if args.backend == RunBackend::Twin {
                let time = if args.virtual_time {
                    TwinTime::Virtual
                } else {
                    TwinTime::Scaled(args.time_scale.unwrap_or(EMBEDDED_TIME_SCALE))
                };
                EmbeddedTwin::start(&plan, time, args.seed).await?
            } else {
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
            };
            let report = drive(
                &plan,
                &args,
                &carry,
                Drive {
                    platform: &twin.platform,
                    apis: &twin.apis,
                    info: twin.info.clone(),
                    clock: twin.clock.clone(),
                    target: twin.target.clone(),
                    region_targets: plan
                        .layout
                        .region_ids()
                        .map(|r| format!("the twin's {r}"))
                        .collect(),
                },
            )
            .await;
            let stats = twin.stats();
            twin.shutdown().await;
            let Some(mut report) = report else {
                return Ok(exit_code::INTERRUPTED);
            };
            report.backend_stats = stats;
            report
        }
        RunBackend::Kind => match run_on_kind(&mut plan, &args, &carry, &report_dir).await? {
            Some(report) => report,
            None => return Ok(exit_code::INTERRUPTED),
        },
    };
    finish(&report_dir, &report)
}

/// The drill on the kind clusters `c8dr clusters up` created: install both regions, run, collect
/// diagnostics when anything failed, and clean up what the run started.
async fn run_on_kind(
    plan: &mut Plan,
    args: &RunArgs,
    carry: &Carry,
    report_dir: &Path,
) -> Result<Option<RunReport>, CliError> {
    let config = args.kind.config(&kind_run_dir(report_dir))?;
    let notes = c8dr_kind::adapt_plan(&config, plan);
    for note in &notes {
        println!("note: {note}");
    }
    let factory = Arc::new(KubeconfigFactory {
        path: config.kubeconfig.clone(),
    });
    let target = c8dr_kind::command_target(&config);
    let region_targets = plan
        .layout
        .region_ids()
        .map(|r| {
            format!(
                "context {} namespace {}",
                config.context(r),
                config.namespace(r)
            )
        })
        .collect();
    let diagnostics = report_dir.join("diagnostics");
    let backend = match KindBackend::connect(
        config.clone(),
        plan,
        Arc::new(TokioCommandRunner),
        factory.clone(),
    )
    .await
    {
        Ok(backend) => backend,
        // A refused configuration touched nothing: nothing to look at.
        Err(
            e @ (c8dr_kind::KindError::InvalidConfig { .. }
            | c8dr_kind::KindError::ContextNotAllowed { .. }),
        ) => return Err(CliError::Kind(e)),
        Err(e) => {
            let bundle =
                c8dr_kind::collect_diagnostics(&config, &TokioCommandRunner, factory, &diagnostics)
                    .await;
            print_diagnostics(&diagnostics, bundle);
            return Err(CliError::Kind(e));
        }
    };
    println!(
        "installing Camunda in both regions (helm upgrade --install without --wait: both start together)"
    );
    if let Err(e) = backend.start().await {
        print_diagnostics(&diagnostics, backend.diagnostics(&diagnostics).await);
        backend.shutdown().await;
        return Err(CliError::Kind(e));
    }
    let apis = HttpApis::new(backend.endpoints(), Some(backend.credentials()));
    let report = drive(
        plan,
        args,
        carry,
        Drive {
            platform: &backend,
            apis: &apis,
            info: backend.info(),
            clock: Arc::new(TokioClock::new()),
            target,
            region_targets,
        },
    )
    .await;
    let Some(mut report) = report else {
        backend.shutdown().await;
        return Ok(None);
    };
    if !notes.is_empty() {
        report.backend_stats = Some(serde_json::json!({ "notes": notes }));
    }
    // An interrupted run hurries: whoever interrupted it wants the reports now.
    if !matches!(report.outcome, Outcome::Passed | Outcome::Interrupted) {
        print_diagnostics(&diagnostics, backend.diagnostics(&diagnostics).await);
    }
    backend.shutdown().await;
    Ok(Some(report))
}

/// Say where the diagnostics bundle went (or why it could not be written).
pub(crate) fn print_diagnostics(dir: &Path, bundle: Result<Vec<PathBuf>, c8dr_kind::KindError>) {
    match bundle {
        Ok(files) => println!("diagnostics: {} files in {}", files.len(), dir.display()),
        Err(e) => tracing::warn!(error = %e, "cannot collect diagnostics"),
    }
}

/// Where the kind backend of a run writes its generated files.
pub(crate) fn kind_run_dir(report_dir: &Path) -> PathBuf {
    report_dir.join("kind-run")
}

/// Write the reports and turn the outcome into the exit code.
fn finish(report_dir: &Path, report: &RunReport) -> Result<i32, CliError> {
    let written = reports::write_all(report_dir, report)?;
    println!(
        "reports: {} {} {} {} {}",
        written.html.display(),
        written.json.display(),
        written.junit.display(),
        written.markdown.display(),
        written.ledger.display()
    );
    if let Some(interruption) = &report.interrupted {
        println!(
            "interrupted ({}): the reports of the run so far are in {}",
            interruption.signal,
            report_dir.display()
        );
    }
    // CI job summary (GitHub Actions sets this variable).
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .and_then(|mut file| {
                std::io::Write::write_all(
                    &mut file,
                    c8dr_core::report::to_markdown(report).as_bytes(),
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
        Outcome::Interrupted => exit_code::INTERRUPTED,
    })
}
