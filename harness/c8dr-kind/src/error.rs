//! What can go wrong on real clusters, named for the operation that failed.

use std::path::PathBuf;
use std::time::Duration;

use c8dr_core::backend::{BoxError, PlatformError};
use c8dr_core::region::RegionId;

/// An operation of the kind backend that failed. Messages are lowercase; the cause is chained,
/// not repeated.
#[derive(Debug, thiserror::Error)]
pub enum KindError {
    /// The configuration cannot work; nothing was touched.
    #[error("invalid kind backend configuration: {message}")]
    InvalidConfig {
        /// What is wrong.
        message: String,
    },
    /// A context outside `kind-c8dr-*` was about to be touched without `--allow-context`.
    #[error(
        "refusing to touch kube context {context}: c8dr only touches the kind-c8dr-* contexts it creates unless --context and --allow-context name another"
    )]
    ContextNotAllowed {
        /// The context.
        context: String,
    },
    /// A subprocess could not be started (the tool is missing or not executable).
    #[error("could not start `{argv}`")]
    CommandSpawn {
        /// The command line, secrets redacted.
        argv: String,
        /// The spawn error.
        #[source]
        source: std::io::Error,
    },
    /// A subprocess exited unsuccessfully.
    #[error("`{argv}` exited with {status}: {stderr_tail}")]
    CommandFailed {
        /// The command line, secrets redacted.
        argv: String,
        /// Exit status.
        status: String,
        /// The last lines of its standard error.
        stderr_tail: String,
    },
    /// A subprocess did not finish before its deadline and was killed.
    #[error("`{argv}` did not finish within {timeout:?} and was killed")]
    CommandTimedOut {
        /// The command line, secrets redacted.
        argv: String,
        /// The deadline.
        timeout: Duration,
    },
    /// No Kubernetes client could be built for a context.
    #[error("could not load kube context {context}")]
    KubeContext {
        /// The context.
        context: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// A Kubernetes API call failed.
    #[error("{operation} in {context}/{namespace} failed")]
    KubeCall {
        /// What was attempted, for example `apply NetworkPolicy c8dr-loss-deny-all`.
        operation: String,
        /// Kube context.
        context: String,
        /// Namespace.
        namespace: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// A generated file could not be written.
    #[error("could not write {}", path.display())]
    WriteArtifact {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("could not read {}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A generated artifact could not be rendered or parsed.
    #[error("could not render {what}")]
    RenderArtifact {
        /// Which artifact.
        what: String,
        /// The serializer error.
        #[source]
        source: BoxError,
    },
    /// The reachability probe between the regions failed.
    #[error("reachability probe from {from} to {to} failed ({check}): {detail}")]
    ReachabilityProbe {
        /// Probing region.
        from: RegionId,
        /// Probed region.
        to: RegionId,
        /// `pod IP` or `DNS`.
        check: &'static str,
        /// What was seen last.
        detail: String,
    },
    /// The loss could not be proved: the surviving gateway still lists lost brokers.
    #[error(
        "loss of {lost} not proved: the gateway of {via} still lists brokers {remaining:?} after {timeout:?}"
    )]
    LossNotProved {
        /// Lost region.
        lost: RegionId,
        /// Surviving region whose gateway was asked.
        via: RegionId,
        /// Lost brokers still listed.
        remaining: Vec<u32>,
        /// How long c8dr waited.
        timeout: Duration,
    },
    /// A wait for a cluster condition passed its deadline.
    #[error("waiting for {what} in {context} timed out after {timeout:?}; last seen: {last}")]
    WaitTimedOut {
        /// What was awaited.
        what: String,
        /// Kube context.
        context: String,
        /// The deadline.
        timeout: Duration,
        /// The last observed state.
        last: String,
    },
    /// A Kubernetes API server did not answer in time (its node may be paused).
    #[error("{what} in {context} got no answer within {timeout:?}")]
    NoAnswer {
        /// What was asked.
        what: String,
        /// Kube context.
        context: String,
        /// The deadline.
        timeout: Duration,
    },
    /// A node address is needed but was never learned: c8dr never applies a placeholder.
    #[error(
        "the node addresses of {region} ({context}) are not known (its Node objects could not be read), so {purpose} cannot be built; refusing to use a placeholder"
    )]
    NodeAddressUnknown {
        /// Region.
        region: RegionId,
        /// Kube context.
        context: String,
        /// What needed them.
        purpose: &'static str,
    },
    /// The shared snapshot directory is not usable by the clusters.
    #[error("shared snapshot directory {}: {problem}", dir.display())]
    SharedDirectory {
        /// The host directory.
        dir: PathBuf,
        /// What is wrong, and how to fix it.
        problem: String,
    },
    /// The snapshot store could not be started or prepared.
    #[error("could not {operation} the snapshot store")]
    SnapshotStore {
        /// What was attempted.
        operation: &'static str,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// A port-forward could not be set up.
    #[error("could not port-forward {context}/{namespace}/{pod}:{port}")]
    PortForward {
        /// Kube context.
        context: String,
        /// Namespace.
        namespace: String,
        /// Pod.
        pod: String,
        /// Remote port.
        port: u16,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// No running pod backs a service.
    #[error("no running pod behind service {service} in {context}/{namespace}")]
    NoPod {
        /// Kube context.
        context: String,
        /// Namespace.
        namespace: String,
        /// Service.
        service: String,
    },
    /// The operation does not exist for the loss realisation in force.
    #[error("{operation} is not possible after a {realisation} loss of {region}: {hint}")]
    NotSupported {
        /// What was asked.
        operation: &'static str,
        /// Region.
        region: RegionId,
        /// The realisation in force.
        realisation: crate::config::LossRealisation,
        /// What to do instead.
        hint: &'static str,
    },
    /// Something read back from the cluster or a tool was not what c8dr expected.
    #[error("unexpected answer from {what}: {detail}")]
    Unexpected {
        /// Whose answer.
        what: String,
        /// What was wrong.
        detail: String,
    },
}

impl KindError {
    /// As a platform error for the engine: refusals become step failures, everything else an
    /// infrastructure error (exit code 3).
    #[must_use]
    pub fn into_platform(self, operation: &'static str, region: RegionId) -> PlatformError {
        match self {
            KindError::NotSupported { .. } | KindError::LossNotProved { .. } => {
                PlatformError::Operation {
                    operation,
                    region,
                    message: self.to_string(),
                }
            }
            other => PlatformError::Infrastructure {
                operation: format!("{operation} {region}"),
                source: Box::new(other),
            },
        }
    }
}

/// The last `lines` lines of a command's output.
#[must_use]
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    let joined = all[start..].join("\n");
    if joined.trim().is_empty() {
        "(no output)".to_owned()
    } else {
        joined
    }
}
