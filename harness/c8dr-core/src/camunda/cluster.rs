//! `/actuator/cluster` of the management API (contract §1.2–§1.6).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The dynamic cluster configuration as `GET /actuator/cluster` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterTopology {
    /// Configuration version; every completed change consumes two.
    pub version: i64,
    /// Members, sorted by id.
    #[serde(default)]
    pub brokers: Vec<ClusterBroker>,
    /// The last completed, failed or cancelled change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change: Option<CompletedChange>,
    /// The change in progress, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_change: Option<PendingChange>,
    /// Routing state (kept as raw JSON; the procedure does not read it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<serde_json::Value>,
    /// Cluster id, when the version reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
}

/// One member of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterBroker {
    /// Member id.
    pub id: u32,
    /// Membership state.
    pub state: BrokerState,
    /// Per-member version counter.
    #[serde(default)]
    pub version: i64,
    /// When the member last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_at: Option<String>,
    /// Partitions the member holds, sorted by id.
    #[serde(default)]
    pub partitions: Vec<ClusterPartition>,
}

/// A member's replica of one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPartition {
    /// Partition id.
    pub id: u32,
    /// Replica state.
    pub state: PartitionState,
    /// Raft election priority.
    #[serde(default)]
    pub priority: u32,
    /// Exporter configuration of this replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<PartitionConfig>,
}

/// Per-replica configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PartitionConfig {
    /// Exporting configuration.
    #[serde(default)]
    pub exporting: PartitionExporting,
}

/// The exporters of one replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PartitionExporting {
    /// Exporters and their state on this replica.
    #[serde(default)]
    pub exporters: Vec<ExporterConfig>,
}

/// One exporter's state on one replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExporterConfig {
    /// Exporter id, for example `camundaregion0`.
    pub id: String,
    /// Its state.
    pub state: ExporterState,
}

/// Member state (`BrokerStateCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BrokerState {
    /// Active member.
    Active,
    /// Joining.
    Joining,
    /// Leaving.
    Leaving,
    /// Left.
    Left,
    /// Unknown or a value this version of c8dr does not know.
    #[serde(other)]
    Unknown,
}

/// Replica state (`PartitionStateCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartitionState {
    /// Active replica.
    Active,
    /// Joining.
    Joining,
    /// Leaving.
    Leaving,
    /// Unknown or a value this version of c8dr does not know.
    #[serde(other)]
    Unknown,
}

/// Exporter state on a replica (`ExporterStateCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExporterState {
    /// Enabled.
    Enabled,
    /// Disabled.
    Disabled,
    /// Configured dynamically but missing from the static configuration.
    ConfigNotFound,
    /// Unknown or a value this version of c8dr does not know.
    #[serde(other)]
    Unknown,
}

/// Status of a configuration change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeStatus {
    /// Still running.
    InProgress,
    /// Completed.
    Completed,
    /// Failed.
    Failed,
    /// Cancelled.
    Cancelled,
    /// A value this version of c8dr does not know.
    #[serde(other)]
    Unknown,
}

impl std::fmt::Display for ChangeStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ChangeStatus::InProgress => "IN_PROGRESS",
            ChangeStatus::Completed => "COMPLETED",
            ChangeStatus::Failed => "FAILED",
            ChangeStatus::Cancelled => "CANCELLED",
            ChangeStatus::Unknown => "UNKNOWN",
        })
    }
}

/// `lastChange`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletedChange {
    /// Change id.
    pub id: i64,
    /// Final status.
    pub status: ChangeStatus,
    /// Start time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Completion time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
}

/// `pendingChange`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingChange {
    /// Change id.
    pub id: i64,
    /// Always `IN_PROGRESS`.
    pub status: ChangeStatus,
    /// Operations already applied.
    #[serde(default)]
    pub completed: Vec<Operation>,
    /// Operations still to apply.
    #[serde(default)]
    pub pending: Vec<Operation>,
}

/// One operation of a configuration change (contract §1.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// Operation kind, for example `PARTITION_FORCE_RECONFIGURE`.
    pub operation: String,
    /// The member that executes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_id: Option<u32>,
    /// The partition it touches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_id: Option<u32>,
    /// Priority for joins and reconfigurations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// Broker set for force operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brokers: Option<Vec<u32>>,
    /// Exporter for exporter operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exporter_id: Option<String>,
    /// Completion time, in `pendingChange.completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
}

/// The 202 answer of every change request (`PlannedOperationsResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedChanges {
    /// Id of the change; poll `lastChange` for it.
    pub change_id: i64,
    /// Members before the change.
    #[serde(default)]
    pub current_topology: Vec<ClusterBroker>,
    /// Operations the change will apply, in order.
    #[serde(default)]
    pub planned_changes: Vec<Operation>,
    /// Members after the change, as simulated.
    #[serde(default)]
    pub expected_topology: Vec<ClusterBroker>,
}

/// Body of `PATCH /actuator/cluster`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPatchRequest {
    /// Broker membership changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brokers: Option<ClusterPatchBrokers>,
    /// Partition changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<ClusterPatchPartitions>,
}

/// `brokers` of a cluster patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPatchBrokers {
    /// Brokers to add.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<u32>,
    /// Brokers to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<u32>,
    /// New broker count (not used by the dual-region procedure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// `partitions` of a cluster patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPatchPartitions {
    /// New partition count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// New replication factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_factor: Option<u32>,
}

/// Query flags of a change request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ChangeOptions {
    /// `force=true`.
    pub force: bool,
    /// `dryRun=true`.
    pub dry_run: bool,
}

/// Which partitions each broker holds, with their priorities: `broker → partition → priority`.
pub type Placement = BTreeMap<u32, BTreeMap<u32, u32>>;

impl ClusterTopology {
    /// Member ids, ascending (members in state `LEFT` excluded).
    #[must_use]
    pub fn member_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .brokers
            .iter()
            .filter(|b| b.state != BrokerState::Left)
            .map(|b| b.id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The placement of partitions on members.
    #[must_use]
    pub fn placement(&self) -> Placement {
        self.brokers
            .iter()
            .filter(|b| b.state != BrokerState::Left)
            .map(|b| {
                (
                    b.id,
                    b.partitions.iter().map(|p| (p.id, p.priority)).collect(),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contracts_composed_example() {
        let json = r#"{"version": 3,
         "brokers": [
           {"id": 0, "state": "ACTIVE", "version": 5, "lastUpdatedAt": "2025-09-29T11:33:09.1Z",
            "partitions": [
              {"id": 1, "state": "ACTIVE", "priority": 4,
               "config": {"exporting": {"exporters": [{"id": "camundaregion0", "state": "ENABLED"},
                                                     {"id": "camundaregion1", "state": "ENABLED"}]}}}]}],
         "lastChange": {"id": 2, "status": "COMPLETED",
                        "startedAt": "2025-09-29T11:33:08.35Z", "completedAt": "2025-09-29T11:33:09.17Z"},
         "routing": {"version": 1, "requestHandling": {"strategy": "AllPartitions", "partitionCount": 8},
                     "messageCorrelation": {"strategy": "HashMod", "partitionCount": 8}}}"#;
        let cluster: ClusterTopology = serde_json::from_str(json).expect("valid");
        assert_eq!(cluster.member_ids(), vec![0]);
        assert_eq!(cluster.placement()[&0][&1], 4);
        let last = cluster.last_change.expect("last change");
        assert_eq!((last.id, last.status), (2, ChangeStatus::Completed));
    }

    #[test]
    fn patch_request_serializes_like_the_procedure_page() {
        let request = ClusterPatchRequest {
            brokers: Some(ClusterPatchBrokers {
                add: vec![1, 3, 5, 7],
                ..Default::default()
            }),
            partitions: Some(ClusterPatchPartitions {
                replication_factor: Some(4),
                count: None,
            }),
        };
        assert_eq!(
            serde_json::to_string(&request).expect("serializable"),
            r#"{"brokers":{"add":[1,3,5,7]},"partitions":{"replicationFactor":4}}"#
        );
    }
}
