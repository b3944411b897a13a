//! Typed views of what Camunda 8 and Elasticsearch answer, as the procedure reads them.
//!
//! These types follow `camunda-api.md` (the contract checked against Camunda's source). They
//! deserialize leniently: unknown fields are ignored and optional fields may be absent, because
//! real clusters add fields between versions. Enums carry an `Unknown` variant for values a
//! newer version may introduce.

mod cluster;
mod elasticsearch;
mod exporting;
mod release;
mod topology;
mod workload;

pub use cluster::{
    BrokerState, ChangeOptions, ChangeStatus, ClusterBroker, ClusterPartition, ClusterPatchBrokers,
    ClusterPatchPartitions, ClusterPatchRequest, ClusterTopology, CompletedChange, ExporterConfig,
    ExporterState, Operation, PartitionConfig, PartitionExporting, PartitionState, PendingChange,
    Placement, PlannedChanges,
};
pub use elasticsearch::{
    BackupRepository, IndexInfo, RepositoryKind, RestoreResponse, RestoreSummary, ShardsStats,
    ShardsSummary, SnapshotInfo, SnapshotStatus,
};
pub use exporting::{ExporterStatus, ExportingOperation, ExportingOutcome};
pub use release::{ReleaseOverrides, ReleaseStatus, ScalarValue};
pub use topology::{BrokerInfo, PartitionHealth, PartitionInfo, PartitionRole, Topology};
pub use workload::{CreatedInstance, DeployedProcess, Deployment, UserTask};
