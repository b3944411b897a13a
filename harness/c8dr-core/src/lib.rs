//! c8dr's core: the scenario model, validation into a plan, the step engine, expectations,
//! events and reports.
//!
//! Data flows one way: a scenario file is parsed into [`spec`] types ([`yaml::parse`]), validated
//! into a [`plan::Plan`] ([`validate::load`]), and run by the [`engine::Engine`] against a
//! backend ([`backend::Platform`] + [`backend::CamundaApis`]). The engine emits
//! [`event::Event`]s while it runs and returns a [`report::RunReport`].
//!
//! This crate has no HTTP, Kubernetes or subprocess dependency: it builds and tests fast, and
//! everything in it is checked without a cluster. The clients live in `c8dr-client`, the
//! simulator in `c8dr-twin`, the binary in `c8dr-cli`.
//!
//! ```
//! use c8dr_core::source::ScenarioSource;
//! use c8dr_core::validate::{load, PlanOptions};
//!
//! let yaml = r#"
//! apiVersion: c8dr.io/v1alpha1
//! kind: Scenario
//! metadata: {name: tiny}
//! spec:
//!   camunda: {version: "8.8", regions: 2, clusterSize: 8, partitionCount: 8, replicationFactor: 4}
//!   stages:
//!     - name: steady-state
//!       steps:
//!         - name: healthy
//!           expect:
//!             - topology: {brokers: all, leaders: all}
//! "#;
//! let source = ScenarioSource {
//!     name: "tiny.yaml".into(),
//!     text: yaml.into(),
//!     resources: c8dr_core::source::Resources::Embedded(vec![]),
//! };
//! let plan = load(&source, &PlanOptions::default()).expect("valid");
//! assert_eq!(plan.stages[0].steps[0].id, "1.1");
//! ```

pub mod backend;
pub mod camunda;
pub mod clock;
pub mod engine;
pub mod error;
pub mod event;
pub mod exit_code;
pub mod mutate;
pub mod plan;
pub mod region;
pub mod render;
pub mod report;
mod serde_millis;
pub mod source;
pub mod spec;
pub mod validate;
pub mod yaml;
