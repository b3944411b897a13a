//! Scenario files as written: types that mirror the YAML and only deserialize.
//!
//! Every value that validation may reject is wrapped in [`Spanned`] so errors can point at the
//! file, line and column. Validation into a [`crate::plan::Plan`] happens in [`crate::validate`].
//! Structs deny unknown fields; actions and expectations are externally tagged enums
//! (`- patchCluster: {...}`), never `untagged` or `flatten`, so a typo gets a precise error.

mod action;
mod expect;
mod refs;
mod scenario;

pub use action::{ActionSpec, CreateInstancesSpec, Require};
pub use expect::{ExpectSpec, InstancesVisibility, LeadersSpec};
pub use refs::{BrokerSetSpec, ExporterRefSpec, RegionRefSpec};
pub use scenario::{
    BackupSpec, CamundaSpec, DefaultsSpec, FsRepositorySpec, HarmlessMutantsSpec, Metadata,
    ObjectivesSpec, Phase, S3RepositorySpec, ScenarioFile, ScenarioSpec, StageSpec, StepSpec,
    WorkloadSpec,
};
pub use serde_saphyr::{Location, Spanned};

/// The `apiVersion` this version of c8dr reads.
pub const API_VERSION: &str = "c8dr.io/v1alpha1";
/// The `kind` of a scenario file.
pub const KIND: &str = "Scenario";

/// The JSON Schema of scenario files (for editors: `# yaml-language-server: $schema=...`).
#[must_use]
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(ScenarioFile);
    serde_json::to_value(&schema).unwrap_or_default()
}
