//! Conformance suite: the twin checked over HTTP against the API contract
//! (`shared/reference/camunda-api.md`), one module per contract area. Every test names the
//! contract section it checks; the procedure page's example outputs are the fixtures in
//! `fixtures/procedure-8.8/` (its known artifacts are listed in that folder's README).
//!
//! The twins run on a [`c8dr_twin::ManualClock`], so cluster time passes only when a test
//! says so (or a handler waits for a due time): the suite runs in cluster time, not wall
//! time.

mod support;

mod changes;
mod determinism;
mod elasticsearch;
mod exporters;
mod exporting;
mod force;
mod replay;
mod replay_engine;
mod routing;
mod topology;
mod usertasks;
mod validation;
mod webapps;
mod workload;
