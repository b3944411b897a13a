//! `c8dr plan`: print every step with the commands an operator would run. Runs nothing.

use c8dr_core::exit_code;
use c8dr_core::render::{CommandTarget, action_commands, expectation_commands};

use super::load_plan;
use crate::app::{PlanArgs, PlanBackend};
use crate::errors::CliError;

pub(crate) fn plan(args: &PlanArgs) -> Result<i32, CliError> {
    let plan = load_plan(&args.scenario)?;
    if args.json {
        let text = serde_json::to_string_pretty(&plan)
            .map_err(|e| CliError::Usage(format!("cannot render the plan: {e}")))?;
        println!("{text}");
        return Ok(exit_code::PASSED);
    }
    let target = match args.backend {
        PlanBackend::Twin => {
            CommandTarget::twin_default(plan.layout.regions, "http://127.0.0.1:9990")
        }
        PlanBackend::Kind => {
            // The exact operations the kind backend performs, from the code that performs them,
            // with the files where `c8dr clusters up` and `c8dr run` write them.
            let report_dir = args
                .report_dir
                .clone()
                .unwrap_or_else(|| super::run::default_report_dir(&plan));
            let config = args.kind.config(&super::run::kind_run_dir(&report_dir))?;
            let clusters = args
                .kind
                .config(std::path::Path::new(crate::kind_args::CLUSTERS_RUN_DIR))?;
            for line in c8dr_kind::drill_commands_with_clusters(&config, &clusters, &plan) {
                println!("{line}");
            }
            return Ok(exit_code::PASSED);
        }
    };
    println!(
        "{} (Camunda {}): lost {}, surviving {}; {} stages, {} steps",
        plan.name,
        plan.camunda_version,
        plan.lost_region,
        plan.surviving_region,
        plan.stages.len(),
        plan.steps().count()
    );
    for stage in &plan.stages {
        println!();
        println!("stage {}", stage.name);
        if let Some(description) = &stage.description {
            println!("  {description}");
        }
        for step in &stage.steps {
            println!();
            let procedure = step
                .procedure
                .as_ref()
                .map_or_else(String::new, |p| format!("  [{p}]"));
            println!(
                "  {} {}{procedure}  (timeout {})",
                step.id,
                step.name,
                humantime_format(step.timeout)
            );
            if let Some(action) = &step.action {
                println!("    do: {}", action.summary());
                for command in action_commands(&plan, action, &target) {
                    println!("      $ {command}");
                }
            }
            for expectation in &step.expectations {
                println!("    expect: {}", expectation.describe());
                for command in expectation_commands(&plan, expectation, &target) {
                    println!("      $ {command}");
                }
            }
        }
    }
    Ok(exit_code::PASSED)
}

fn humantime_format(d: std::time::Duration) -> String {
    humantime::format_duration(d).to_string()
}
