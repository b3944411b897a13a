//! One module per subcommand.

pub(crate) mod clusters;
pub(crate) mod mutate;
pub(crate) mod plan;
pub(crate) mod run;
pub(crate) mod twin;
pub(crate) mod validate;

use std::path::Path;

use c8dr_core::plan::Plan;
use c8dr_core::source::ScenarioSource;
use c8dr_core::validate::{PlanOptions, load};

use crate::app::ScenarioArgs;
use crate::builtin;
use crate::errors::CliError;

/// Read a scenario file from disk.
pub(crate) fn read_source(path: &Path) -> Result<ScenarioSource, CliError> {
    ScenarioSource::from_path(path).map_err(|source| CliError::ReadScenario {
        path: path.to_path_buf(),
        source,
    })
}

/// The scenario named on the command line (or the built-in default), validated into a plan.
pub(crate) fn load_plan(args: &ScenarioArgs) -> Result<Plan, CliError> {
    let source = match &args.scenario {
        Some(path) => read_source(path)?,
        None => builtin::scenario(builtin::DEFAULT_SCENARIO)
            .ok_or_else(|| CliError::Usage("the built-in scenario is missing".to_owned()))?,
    };
    let options = PlanOptions {
        lost_region: args.lost_region,
    };
    Ok(load(&source, &options)?)
}
