//! `c8dr validate`: check scenario files without running anything.

use c8dr_core::exit_code;
use c8dr_core::validate::{PlanOptions, load};

use super::read_source;
use crate::app::ValidateArgs;
use crate::errors::CliError;

pub(crate) fn validate(args: &ValidateArgs) -> Result<i32, CliError> {
    let mut first_error = None;
    for path in &args.scenarios {
        let source = match read_source(path) {
            Ok(source) => source,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        let options = PlanOptions {
            lost_region: args.lost_region,
        };
        match load(&source, &options) {
            Ok(plan) => {
                let steps = plan.steps().count();
                println!(
                    "{}: valid ({} stages, {steps} steps)",
                    source.name,
                    plan.stages.len()
                );
            }
            Err(errors) => {
                if first_error.is_some() {
                    // Report every invalid file; the first one becomes the command's error.
                    eprintln!("{:?}", miette::Report::new(errors));
                } else {
                    first_error = Some(CliError::from(errors));
                }
            }
        }
    }
    match first_error {
        None => Ok(exit_code::PASSED),
        Some(e) => Err(e),
    }
}
