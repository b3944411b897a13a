//! Errors the CLI expects and reports to the user, each mapped to one exit code.

use std::path::PathBuf;

use c8dr_core::error::ScenarioErrors;
use c8dr_core::exit_code;

/// What can go wrong at the CLI edge.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum CliError {
    /// The scenario file cannot be read.
    #[error("cannot read scenario {}", path.display())]
    ReadScenario {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The scenario is invalid.
    #[error(transparent)]
    #[diagnostic(transparent)]
    InvalidScenario(Box<ScenarioErrors>),
    /// A command-line value is invalid.
    #[error("{0}")]
    Usage(String),
    /// The twin could not start.
    #[error("the twin could not start")]
    TwinStart(#[source] c8dr_twin::TwinError),
    /// A report could not be written.
    #[error("cannot write the report to {}", path.display())]
    WriteReport {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The kind backend failed (or refused an unsafe configuration).
    #[error("the kind backend failed")]
    Kind(#[source] c8dr_kind::KindError),
    /// The JUnit report could not be rendered.
    #[error("cannot render the JUnit report")]
    RenderJunit(#[source] c8dr_core::report::JunitError),
    /// The `--ledger` file cannot be read.
    #[error("cannot read the ledger {}", path.display())]
    ReadLedger {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The `--ledger` file is not a ledger.
    #[error(transparent)]
    #[diagnostic(help(
        "pass the ledger.jsonl a `c8dr run` wrote, unchanged: one creation attempt, fault marker, placement or completed instance per line"
    ))]
    InvalidLedger(#[from] c8dr_core::report::LedgerError),
    /// The `--stage` selection names no stage, or cannot run as asked.
    #[error(transparent)]
    #[diagnostic(help("`c8dr plan` lists the scenario's stages and their phases"))]
    StageSelection(#[from] c8dr_core::engine::SelectionError),
}

impl CliError {
    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            CliError::ReadScenario { .. }
            | CliError::InvalidScenario(_)
            | CliError::Usage(_)
            | CliError::ReadLedger { .. }
            | CliError::InvalidLedger(_)
            | CliError::StageSelection(_) => exit_code::INVALID_INPUT,
            CliError::Kind(
                c8dr_kind::KindError::InvalidConfig { .. }
                | c8dr_kind::KindError::ContextNotAllowed { .. },
            ) => exit_code::INVALID_INPUT,
            CliError::TwinStart(_)
            | CliError::Kind(_)
            | CliError::WriteReport { .. }
            | CliError::RenderJunit(_) => exit_code::INFRASTRUCTURE,
        }
    }
}

impl From<ScenarioErrors> for CliError {
    fn from(errors: ScenarioErrors) -> Self {
        CliError::InvalidScenario(Box::new(errors))
    }
}
