//! The simulated world: platform, cluster configuration, Raft view, exporting,
//! Elasticsearch and workload. Everything is synchronous and deterministic; see
//! [`World::advance_to`].

mod cluster;
mod core;
mod elasticsearch;
mod exporting;
mod platform;
mod raft;
mod usertasks;
mod workload;

pub use cluster::{
    BrokersPatch, COORDINATOR_REQUEST_TIMEOUT_MS, ManagementError, PartitionsPatch, PatchRequest,
};
pub use core::{Stats, World};
pub use elasticsearch::{EsError, SCHEMA_INDICES};
pub use exporting::ExportingOp;
pub use platform::{
    ENV_CREATE_SCHEMA, LossMode, PlatformError, RegionStatus, ReleaseRequest, VALUE_OPERATE,
    VALUE_TASKLIST, WEBAPP_INDEX,
};
pub use usertasks::USER_TASK_INDEX;
pub use workload::{
    GATEWAY_REQUEST_TIMEOUT_MS, LIST_VIEW_INDEX, PROCESS_INDEX, RestError, process_ids,
};

#[cfg(test)]
mod tests;
