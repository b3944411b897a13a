//! c8dr's real-cluster backend: two kind clusters, the Camunda Helm chart, region loss through
//! NetworkPolicies (or paused nodes, or deleted clusters), and kube-rs port-forwards, so that the
//! scenario that runs on the twin runs unchanged on real clusters.
#![doc = include_str!("../../../docs/kind.md")]

pub mod artifacts;
pub mod backend;
pub mod commands;
pub mod config;
pub mod diagnostics;
pub mod error;
pub mod exec;
pub mod kube;
pub mod ops;
pub mod plan;
pub mod portforward;
pub mod reach;
pub mod runner;
pub mod snapshot;

pub use backend::{
    ClustersReady, KindBackend, Reachability, clusters_down, clusters_up, collect_diagnostics,
    rest_credentials,
};
pub use config::{KindConfig, LossRealisation, SnapshotStore, Timeouts};
pub use error::KindError;
pub use kube::{KubeFactory, KubeconfigFactory};
pub use plan::{
    adapt_plan, command_target, drill_commands, drill_commands_with_clusters, expectation_commands,
    observed_by_backend, platform_commands, setup_commands, teardown_commands,
};
pub use runner::{CommandOutput, CommandRunner, Invocation, RecordingRunner, TokioCommandRunner};
