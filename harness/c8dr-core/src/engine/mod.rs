//! The step engine: runs a [`crate::plan::Plan`] against a backend, emits events, returns a report.

mod actions;
mod background;
mod cancel;
pub mod evaluate;
mod observe;
pub mod operator;
pub mod recovery;
mod run;
pub mod selection;

pub use cancel::Cancel;
pub use run::{Engine, EngineOptions};
pub use selection::{SelectionError, StageSelection, phase_name};
