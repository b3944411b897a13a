//! What a drill needs from the world it runs against.
//!
//! A backend answers two questions: "do this platform operation" ([`Platform`]: lose a region,
//! recreate it, deploy a release) and "call this Camunda or Elasticsearch API in region r"
//! ([`CamundaApis`]). The engine never knows which backend it drives: the twin and real kind
//! clusters implement the same traits, and the HTTP clients are the same code on both.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use crate::camunda::{
    BackupRepository, ChangeOptions, ClusterPatchRequest, ClusterTopology, CreatedInstance,
    Deployment, ExporterStatus, ExportingOperation, ExportingOutcome, IndexInfo, PlannedChanges,
    ReleaseOverrides, ReleaseStatus, RestoreResponse, SnapshotInfo, SnapshotStatus, Topology,
    UserTask,
};
use crate::region::{LossMode, RegionId};

/// A boxed error source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Facts about a backend that change how the engine runs a plan.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendInfo {
    /// Short name for reports, for example `twin` or `kind`.
    pub name: String,
    /// How much faster than a real cluster the backend's clock runs. Scenario timeouts and poll
    /// intervals are written in cluster time and divided by this factor (1 for real clusters).
    pub time_scale: f64,
    /// The smallest poll interval worth using against this backend, in wall time.
    #[serde(with = "crate::serde_millis")]
    pub min_poll_interval: Duration,
}

/// What a platform operation did, for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformOutcome {
    /// The commands or API calls performed, in order (secrets redacted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
    /// What happened that a reader of the report must know, for example that established
    /// connections survived a NetworkPolicy and the affected pods were restarted to break them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The platform side of the procedure: what kind, Helm and NetworkPolicies do on real clusters.
pub trait Platform: Send + Sync {
    /// Lose a region.
    fn lose_region(
        &self,
        region: RegionId,
        mode: LossMode,
    ) -> impl Future<Output = Result<PlatformOutcome, PlatformError>> + Send;

    /// Undo a loss: links restored, a stopped region starts again with its data.
    fn heal_region(
        &self,
        region: RegionId,
    ) -> impl Future<Output = Result<PlatformOutcome, PlatformError>> + Send;

    /// The region comes back empty: no release, no volumes, an empty Elasticsearch.
    fn recreate_region(
        &self,
        region: RegionId,
    ) -> impl Future<Output = Result<PlatformOutcome, PlatformError>> + Send;

    /// `helm upgrade --install` the region's release with its base values plus these overrides.
    fn deploy(
        &self,
        region: RegionId,
        overrides: &ReleaseOverrides,
    ) -> impl Future<Output = Result<PlatformOutcome, PlatformError>> + Send;

    /// The region's release, or `None` when none is installed.
    fn release(
        &self,
        region: RegionId,
    ) -> impl Future<Output = Result<Option<ReleaseStatus>, PlatformError>> + Send;

    /// Whether workloads in `from` can reach `to` right now (proves a fault took effect).
    fn reachable(
        &self,
        from: RegionId,
        to: RegionId,
    ) -> impl Future<Output = Result<bool, PlatformError>> + Send {
        let _ = (from, to);
        async {
            Err(PlatformError::Unsupported {
                operation: "probe reachability between regions",
            })
        }
    }
}

/// The Camunda and Elasticsearch APIs of each region, typed.
///
/// `via` names the region whose gateway serves the call (the procedure talks to the surviving
/// region's gateway); `region` names the region whose Elasticsearch is addressed.
pub trait CamundaApis: Send + Sync {
    /// `GET /v2/topology`.
    fn topology(&self, via: RegionId) -> impl Future<Output = Result<Topology, ApiError>> + Send;
    /// `GET /actuator/cluster`.
    fn cluster(
        &self,
        via: RegionId,
    ) -> impl Future<Output = Result<ClusterTopology, ApiError>> + Send;
    /// `PATCH /actuator/cluster`.
    fn patch_cluster(
        &self,
        via: RegionId,
        request: &ClusterPatchRequest,
        options: ChangeOptions,
    ) -> impl Future<Output = Result<PlannedChanges, ApiError>> + Send;
    /// `GET /actuator/exporters`.
    fn exporters(
        &self,
        via: RegionId,
    ) -> impl Future<Output = Result<Vec<ExporterStatus>, ApiError>> + Send;
    /// `POST /actuator/exporters/{id}/disable`.
    fn disable_exporter(
        &self,
        via: RegionId,
        exporter: &str,
    ) -> impl Future<Output = Result<PlannedChanges, ApiError>> + Send;
    /// `POST /actuator/exporters/{id}/enable`, optionally `{"initializeFrom": ...}`.
    fn enable_exporter(
        &self,
        via: RegionId,
        exporter: &str,
        initialize_from: Option<&str>,
    ) -> impl Future<Output = Result<PlannedChanges, ApiError>> + Send;
    /// `POST /actuator/exporting/{pause|resume}`; the answer is interpreted, not judged.
    fn exporting(
        &self,
        via: RegionId,
        operation: ExportingOperation,
    ) -> impl Future<Output = Result<ExportingOutcome, ApiError>> + Send;
    /// `POST /v2/deployments` with one resource.
    fn deploy_resource(
        &self,
        via: RegionId,
        name: &str,
        content: &[u8],
    ) -> impl Future<Output = Result<Deployment, ApiError>> + Send;
    /// `POST /v2/process-instances` for the latest version of a process.
    fn create_instance(
        &self,
        via: RegionId,
        process_id: &str,
    ) -> impl Future<Output = Result<CreatedInstance, ApiError>> + Send;
    /// `PUT /_snapshot/{repository}` on a region's Elasticsearch.
    fn register_repository(
        &self,
        region: RegionId,
        repository: &BackupRepository,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// `PUT /_snapshot/{repository}/{snapshot}?wait_for_completion=true` with the global state.
    fn create_snapshot(
        &self,
        region: RegionId,
        repository: &str,
        snapshot: &str,
    ) -> impl Future<Output = Result<SnapshotInfo, ApiError>> + Send;
    /// `GET /_snapshot/{repository}/_all`.
    fn snapshots(
        &self,
        region: RegionId,
        repository: &str,
    ) -> impl Future<Output = Result<Vec<SnapshotInfo>, ApiError>> + Send;
    /// `GET /_snapshot/{repository}/{snapshot}/_status`.
    fn snapshot_status(
        &self,
        region: RegionId,
        repository: &str,
        snapshot: &str,
    ) -> impl Future<Output = Result<SnapshotStatus, ApiError>> + Send;
    /// `POST /_snapshot/{repository}/{snapshot}/_restore?wait_for_completion=true` with the global state.
    fn restore_snapshot(
        &self,
        region: RegionId,
        repository: &str,
        snapshot: &str,
    ) -> impl Future<Output = Result<RestoreResponse, ApiError>> + Send;
    /// `GET /_cat/indices?format=json`.
    fn indices(
        &self,
        region: RegionId,
    ) -> impl Future<Output = Result<Vec<IndexInfo>, ApiError>> + Send;
    /// The user tasks of a process instance, as `POST /v2/user-tasks/search` finds them in the
    /// serving region's secondary storage.
    fn user_tasks(
        &self,
        via: RegionId,
        process_instance_key: &str,
    ) -> impl Future<Output = Result<Vec<UserTask>, ApiError>> + Send {
        let _ = (via, process_instance_key);
        async {
            Err(ApiError::Unsupported {
                operation: "search user tasks",
            })
        }
    }

    /// `POST /v2/user-tasks/{userTaskKey}/completion`: the engine completes the task.
    fn complete_user_task(
        &self,
        via: RegionId,
        user_task_key: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        let _ = (via, user_task_key);
        async {
            Err(ApiError::Unsupported {
                operation: "complete user tasks",
            })
        }
    }

    /// The state (`ACTIVE`, `COMPLETED`, ...) of these process instances in the region's
    /// Elasticsearch index; keys it does not hold are absent.
    fn instance_states(
        &self,
        region: RegionId,
        index: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, String>, ApiError>> + Send {
        let _ = (region, index, keys);
        async {
            Err(ApiError::Unsupported {
                operation: "read process-instance states",
            })
        }
    }

    /// Which of these process-instance keys the region's Elasticsearch holds in `index`.
    fn find_instances(
        &self,
        region: RegionId,
        index: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<BTreeSet<String>, ApiError>> + Send;
}

/// A call to a Camunda or Elasticsearch API that did not give the answer asked for.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Nothing answered: connection refused or reset, DNS, port-forward down.
    #[error("{method} {url} got no answer")]
    Unreachable {
        /// HTTP method.
        method: String,
        /// Full URL.
        url: String,
        /// The transport error.
        #[source]
        source: BoxError,
    },
    /// The server answered with an unexpected HTTP status.
    #[error("{method} {url} answered HTTP {status}: {}", summarize(body))]
    Status {
        /// HTTP method.
        method: String,
        /// Full URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Response body (possibly truncated).
        body: String,
    },
    /// The answer could not be decoded into the expected type.
    #[error("{method} {url} answered something c8dr cannot read")]
    Decode {
        /// HTTP method.
        method: String,
        /// Full URL.
        url: String,
        /// Response body (possibly truncated).
        body: String,
        /// The decoding error.
        #[source]
        source: BoxError,
    },
    /// The request did not complete in time.
    #[error("{method} {url} timed out")]
    Timeout {
        /// HTTP method.
        method: String,
        /// Full URL.
        url: String,
    },
    /// This backend cannot make this call.
    #[error("this backend cannot {operation}")]
    Unsupported {
        /// What was asked.
        operation: &'static str,
    },
    /// The backend has no endpoint for this region and service.
    #[error("no {service} endpoint for {region}")]
    NoEndpoint {
        /// Region.
        region: RegionId,
        /// `rest`, `management` or `elasticsearch`.
        service: &'static str,
    },
}

/// The first line of a response body, shortened for one-line messages.
fn summarize(body: &str) -> String {
    let line = body.lines().next().unwrap_or("").trim();
    if line.chars().count() > 300 {
        let short: String = line.chars().take(300).collect();
        format!("{short}…")
    } else if line.is_empty() {
        "(empty body)".to_owned()
    } else {
        line.to_owned()
    }
}

impl ApiError {
    /// Whether the request certainly did not change anything and may be sent again: nothing
    /// answered, the gateway could not reach the coordinator (502), or the service was
    /// unavailable (503). A 504 is not retried for mutating calls: the broker may have acted.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Unreachable { .. } => true,
            ApiError::Status { status, .. } => matches!(status, 502 | 503),
            ApiError::Decode { .. }
            | ApiError::Timeout { .. }
            | ApiError::NoEndpoint { .. }
            | ApiError::Unsupported { .. } => false,
        }
    }

    /// HTTP status, when the server answered.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A platform operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The operation was attempted and refused or failed.
    #[error("{operation} on {region} failed: {message}")]
    Operation {
        /// What was attempted, for example `deploy`.
        operation: &'static str,
        /// Region.
        region: RegionId,
        /// Why it failed.
        message: String,
    },
    /// This backend cannot do that.
    #[error("this backend cannot {operation}")]
    Unsupported {
        /// What was asked.
        operation: &'static str,
    },
    /// The platform itself could not be reached or driven (exit code 3).
    #[error("the platform could not {operation}")]
    Infrastructure {
        /// What was attempted.
        operation: String,
        /// Why.
        #[source]
        source: BoxError,
    },
}
