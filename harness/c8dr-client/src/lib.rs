//! Typed HTTP clients for the APIs the dual-region procedure calls, used the same way against
//! the twin and against real clusters.
//!
//! - [`HttpApis`] implements [`c8dr_core::backend::CamundaApis`] over the management API
//!   (`/actuator`, port 9600), the Orchestration Cluster REST API (`/v2`, port 8080) and
//!   Elasticsearch (port 9200) of each region, given their base URLs ([`RegionEndpoints`]).
//! - [`TwinControl`] implements [`c8dr_core::backend::Platform`] over the twin's control API
//!   (`docs/twin-control-api.md`).
//!
//! Every request is logged at `debug` with its method, URL, status and duration; credentials are
//! never logged. Answers are parsed into `c8dr_core::camunda` types; anything unexpected becomes
//! an [`c8dr_core::backend::ApiError`] carrying the URL, status and body.

mod apis;
mod http;
mod twin_control;

pub use apis::{BasicAuth, HttpApis, RegionEndpoints};
pub use twin_control::TwinControl;
