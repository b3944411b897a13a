//! The step engine: runs a [`crate::plan::Plan`] against a backend, emits events, returns a report.

mod actions;
pub mod evaluate;
mod observe;
mod run;

pub use run::{Engine, EngineOptions};
