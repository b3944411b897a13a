//! The dynamic cluster configuration, configuration changes and their operations, and the
//! management API's cluster and exporter endpoints (contract §1.1–§1.7).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock::{SimTime, rfc3339};
use crate::distribution::round_robin;

use super::core::World;

/// Timeout of every gateway → coordinator request
/// (`ClusterConfigurationManagementRequestSender.TIMEOUT`, 10 s).
pub const COORDINATOR_REQUEST_TIMEOUT_MS: u64 = 10_000;

/// The cluster port brokers advertise for cluster messaging.
const CLUSTER_PORT: u16 = 26_502;

/// Message subjects of the configuration-management requests
/// (`ClusterConfigurationRequestTopics`), used in the messaging errors' texts.
pub(crate) mod topic {
    pub(crate) const QUERY: &str = "topology-query";
    pub(crate) const ADD_MEMBER: &str = "topology-member-add";
    pub(crate) const REMOVE_MEMBER: &str = "topology-member-remove";
    pub(crate) const JOIN_PARTITION: &str = "topology-partition-join";
    pub(crate) const LEAVE_PARTITION: &str = "topology-partition-leave";
    pub(crate) const SCALE_MEMBERS: &str = "topology-member-scale";
    pub(crate) const CANCEL_CHANGE: &str = "topology-change-cancel";
    pub(crate) const FORCE_SCALE_DOWN: &str = "topology-force-scale-down";
    pub(crate) const DISABLE_EXPORTER: &str = "topology-exporter-disable";
    pub(crate) const ENABLE_EXPORTER: &str = "topology-exporter-enable";
    pub(crate) const DELETE_EXPORTER: &str = "topology-exporter-delete";
    pub(crate) const SCALE_CLUSTER: &str = "topology-cluster-scale";
    pub(crate) const PATCH_CLUSTER: &str = "topology-cluster-patch";
    pub(crate) const FORCE_REMOVE_BROKERS: &str = "topology-broker-force-remove";
}

/// Errors of the management API, mapped to HTTP statuses as Camunda's `ClusterApiUtils`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManagementError {
    /// 400: validation, simulation failure.
    #[error("{0}")]
    InvalidRequest(String),
    /// 409: another change is pending.
    #[error("{0}")]
    ConcurrentModification(String),
    /// 500: internal error.
    #[error("{0}")]
    Internal(String),
    /// 501 with a plain-text body.
    #[error("{0}")]
    NotImplemented(String),
    /// 502: the gateway cannot reach the coordinator (it is not a gossip member any more, or
    /// its pod refuses connections).
    #[error("{0}")]
    Unreachable(String),
    /// 504: the request to the coordinator timed out; the answer is due at simulated time
    /// `at` (the gateway → coordinator timeout after the request was sent).
    #[error("{message}")]
    Timeout {
        /// The `TimeoutException` message.
        message: String,
        /// When the gateway gives up and answers.
        at: SimTime,
    },
}

impl ManagementError {
    /// The HTTP status of this error.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidRequest(_) => 400,
            Self::ConcurrentModification(_) => 409,
            Self::Internal(_) => 500,
            Self::NotImplemented(_) => 501,
            Self::Unreachable(_) => 502,
            Self::Timeout { .. } => 504,
        }
    }

    fn invalid(msg: impl Into<String>) -> Self {
        Self::InvalidRequest(msg.into())
    }
}

/// Member state in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemberStatus {
    Joining,
    Active,
    Leaving,
    Left,
}

impl MemberStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Joining => "JOINING",
            Self::Active => "ACTIVE",
            Self::Leaving => "LEAVING",
            Self::Left => "LEFT",
        }
    }
}

/// Partition state of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartitionStatus {
    Joining,
    Active,
    Leaving,
}

impl PartitionStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Joining => "JOINING",
            Self::Active => "ACTIVE",
            Self::Leaving => "LEAVING",
        }
    }
}

/// Exporter state of a member's partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExporterState {
    Enabled,
    Disabled,
    #[allow(
        dead_code,
        reason = "part of the wire vocabulary; not produced by the twin"
    )]
    ConfigNotFound,
}

impl ExporterState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "ENABLED",
            Self::Disabled => "DISABLED",
            Self::ConfigNotFound => "CONFIG_NOT_FOUND",
        }
    }
}

/// Dynamic exporter configuration of one member's partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExporterConfig {
    pub(crate) state: ExporterState,
    pub(crate) metadata_version: u64,
    pub(crate) initialized_from: Option<String>,
}

/// One partition on one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionConfig {
    pub(crate) state: PartitionStatus,
    pub(crate) priority: u32,
    pub(crate) exporters: BTreeMap<String, ExporterConfig>,
}

/// One member of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberState {
    pub(crate) state: MemberStatus,
    pub(crate) version: u64,
    pub(crate) last_updated: Option<SimTime>,
    pub(crate) partitions: BTreeMap<u32, PartitionConfig>,
}

/// Terminal status of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeStatus {
    Completed,
    #[allow(
        dead_code,
        reason = "part of the wire vocabulary; the twin retries instead"
    )]
    Failed,
    Cancelled,
}

/// `lastChange`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompletedChange {
    pub(crate) id: u64,
    pub(crate) status: ChangeStatus,
    pub(crate) started_at: SimTime,
    pub(crate) completed_at: SimTime,
}

/// `pendingChange`, plus the execution state of its head operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PendingChange {
    pub(crate) id: u64,
    pub(crate) coordinator: u32,
    pub(crate) started_at: SimTime,
    pub(crate) completed: Vec<(Operation, SimTime)>,
    pub(crate) pending: VecDeque<Operation>,
    /// When the head operation completes; `None` while it waits for its executor.
    pub(crate) head_due: Option<SimTime>,
}

/// A configuration-change operation (contract §1.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operation {
    BrokerAdd {
        broker: u32,
    },
    BrokerRemove {
        broker: u32,
    },
    ForceRemove {
        coordinator: u32,
        removed: u32,
    },
    PartitionJoin {
        broker: u32,
        partition: u32,
        priority: u32,
    },
    PartitionLeave {
        broker: u32,
        partition: u32,
    },
    ReconfigurePriority {
        broker: u32,
        partition: u32,
        priority: u32,
    },
    ForceReconfigure {
        broker: u32,
        partition: u32,
        members: Vec<u32>,
    },
    DisableExporter {
        broker: u32,
        partition: u32,
        exporter: String,
    },
    EnableExporter {
        broker: u32,
        partition: u32,
        exporter: String,
        initialize_from: Option<String>,
    },
    DeleteExporter {
        broker: u32,
        partition: u32,
        exporter: String,
    },
}

impl Operation {
    /// The member executing the operation (its `brokerId`).
    pub(crate) fn executor(&self) -> u32 {
        match self {
            Self::BrokerAdd { broker }
            | Self::BrokerRemove { broker }
            | Self::ForceRemove {
                coordinator: broker,
                ..
            }
            | Self::PartitionJoin { broker, .. }
            | Self::PartitionLeave { broker, .. }
            | Self::ReconfigurePriority { broker, .. }
            | Self::ForceReconfigure { broker, .. }
            | Self::DisableExporter { broker, .. }
            | Self::EnableExporter { broker, .. }
            | Self::DeleteExporter { broker, .. } => *broker,
        }
    }

    /// The wire form (`ClusterApiUtils.mapOperation`).
    pub(crate) fn to_json(&self) -> Value {
        match self {
            Self::BrokerAdd { broker } => json!({"operation": "BROKER_ADD", "brokerId": broker}),
            Self::BrokerRemove { broker } => {
                json!({"operation": "BROKER_REMOVE", "brokerId": broker})
            }
            Self::ForceRemove {
                coordinator,
                removed,
            } => {
                json!({"operation": "BROKER_REMOVE", "brokerId": coordinator, "brokers": [removed]})
            }
            Self::PartitionJoin {
                broker,
                partition,
                priority,
            } => json!({"operation": "PARTITION_JOIN", "brokerId": broker,
                        "partitionId": partition, "priority": priority}),
            Self::PartitionLeave { broker, partition } => {
                json!({"operation": "PARTITION_LEAVE", "brokerId": broker, "partitionId": partition})
            }
            Self::ReconfigurePriority {
                broker,
                partition,
                priority,
            } => json!({"operation": "PARTITION_RECONFIGURE_PRIORITY", "brokerId": broker,
                        "partitionId": partition, "priority": priority}),
            Self::ForceReconfigure {
                broker,
                partition,
                members,
            } => json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": broker,
                        "partitionId": partition, "brokers": members}),
            Self::DisableExporter {
                broker,
                partition,
                exporter,
            } => json!({"operation": "PARTITION_DISABLE_EXPORTER", "brokerId": broker,
                        "partitionId": partition, "exporterId": exporter}),
            Self::EnableExporter {
                broker,
                partition,
                exporter,
                ..
            } => json!({"operation": "PARTITION_ENABLE_EXPORTER", "brokerId": broker,
                        "partitionId": partition, "exporterId": exporter}),
            Self::DeleteExporter {
                broker,
                partition,
                exporter,
            } => json!({"operation": "PARTITION_DELETE_EXPORTER", "brokerId": broker,
                        "partitionId": partition, "exporterId": exporter}),
        }
    }
}

/// The dynamic cluster configuration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClusterConfiguration {
    pub(crate) version: u64,
    pub(crate) members: BTreeMap<u32, MemberState>,
    pub(crate) last_change: Option<CompletedChange>,
    pub(crate) pending: Option<PendingChange>,
    pub(crate) routing_partition_count: u32,
}

fn java_set(ids: &BTreeSet<u32>) -> String {
    let inner: Vec<String> = ids.iter().map(u32::to_string).collect();
    format!("[{}]", inner.join(", "))
}

impl ClusterConfiguration {
    fn counted(m: &MemberState) -> bool {
        m.state != MemberStatus::Left
    }

    /// Members not LEFT.
    pub(crate) fn cluster_size(&self) -> usize {
        self.members.values().filter(|m| Self::counted(m)).count()
    }

    /// Distinct partition ids held by any member, ascending.
    pub(crate) fn partition_ids(&self) -> Vec<u32> {
        let ids: BTreeSet<u32> = self
            .members
            .values()
            .flat_map(|m| m.partitions.keys().copied())
            .collect();
        ids.into_iter().collect()
    }

    pub(crate) fn partition_count(&self) -> u32 {
        u32::try_from(self.partition_ids().len()).unwrap_or(u32::MAX)
    }

    /// Minimum number of (non-LEFT) members holding a partition; 0 without partitions.
    pub(crate) fn min_replication_factor(&self) -> u32 {
        self.partition_ids()
            .into_iter()
            .map(|p| {
                self.members
                    .values()
                    .filter(|m| Self::counted(m) && m.partitions.contains_key(&p))
                    .count()
            })
            .min()
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The default coordinator: the lowest member id.
    pub(crate) fn lowest_member(&self) -> Option<u32> {
        self.members.keys().next().copied()
    }

    fn touch(&mut self, broker: u32, now: SimTime) {
        if let Some(m) = self.members.get_mut(&broker) {
            m.version += 1;
            m.last_updated = Some(now);
        }
    }

    fn member_partition(&self, broker: u32, partition: u32) -> Option<&PartitionConfig> {
        self.members
            .get(&broker)
            .and_then(|m| m.partitions.get(&partition))
    }

    /// Exporter configuration a joining replica inherits: that of the lowest other holder.
    fn exporters_of(&self, partition: u32, except: u32) -> BTreeMap<String, ExporterConfig> {
        self.members
            .iter()
            .filter(|(id, _)| **id != except)
            .find_map(|(_, m)| m.partitions.get(&partition))
            .map(|pc| pc.exporters.clone())
            .unwrap_or_default()
    }

    /// Validates an operation against the current state (the appliers' preconditions).
    fn check(&self, op: &Operation) -> Result<(), String> {
        match op {
            Operation::BrokerAdd { broker } => match self.members.get(broker) {
                Some(m) if m.state != MemberStatus::Left && m.state != MemberStatus::Joining => {
                    Err(format!(
                        "Expected to add member '{broker}', but the member already exists"
                    ))
                }
                _ => Ok(()),
            },
            Operation::BrokerRemove { broker }
            | Operation::ForceRemove {
                removed: broker, ..
            } => {
                if self.members.contains_key(broker) {
                    Ok(())
                } else {
                    Err(format!(
                        "Expected to remove member '{broker}', but the member does not exist"
                    ))
                }
            }
            Operation::PartitionJoin {
                broker, partition, ..
            } => match self.members.get(broker) {
                None => Err(format!(
                    "Expected to join partition '{partition}', but the member '{broker}' does not exist"
                )),
                Some(m)
                    if m.partitions
                        .get(partition)
                        .is_some_and(|pc| pc.state != PartitionStatus::Joining) =>
                {
                    Err(format!(
                        "Expected to join partition '{partition}', but the member '{broker}' already has the partition"
                    ))
                }
                Some(_) => Ok(()),
            },
            Operation::PartitionLeave { broker, partition }
            | Operation::ReconfigurePriority {
                broker, partition, ..
            } => {
                if self.member_partition(*broker, *partition).is_some() {
                    Ok(())
                } else {
                    Err(format!(
                        "Expected to change partition '{partition}' on member '{broker}', but the member does not have the partition"
                    ))
                }
            }
            Operation::ForceReconfigure { .. } => Ok(()),
            Operation::DisableExporter {
                broker,
                partition,
                exporter,
            } => match self.member_partition(*broker, *partition) {
                Some(pc) if pc.exporters.contains_key(exporter) => Ok(()),
                _ => Err(format!(
                    "Expected to disable exporter, but the partition '{partition}' does not have the exporter '{exporter}'"
                )),
            },
            Operation::DeleteExporter {
                broker,
                partition,
                exporter,
            } => match self.member_partition(*broker, *partition) {
                Some(pc) if pc.exporters.contains_key(exporter) => Ok(()),
                _ => Err(format!(
                    "Expected to delete exporter, but the partition '{partition}' does not have the exporter '{exporter}'"
                )),
            },
            Operation::EnableExporter {
                broker,
                partition,
                initialize_from,
                ..
            } => {
                let Some(pc) = self.member_partition(*broker, *partition) else {
                    return Err(format!(
                        "Expected to enable exporter, but the member '{broker}' does not have the partition '{partition}'"
                    ));
                };
                if let Some(from) = initialize_from {
                    match pc.exporters.get(from) {
                        None => {
                            return Err(format!(
                                "Expected to enable exporter and initialize from exporter '{from}', but the partition '{partition}' does not have exporter '{from}'"
                            ));
                        }
                        Some(e) if e.state == ExporterState::Disabled => {
                            return Err(format!(
                                "Expected to enable exporter and initialize from exporter '{from}', but the exporter '{from}' is disabled"
                            ));
                        }
                        Some(_) => {}
                    }
                }
                Ok(())
            }
        }
    }

    /// First half of an operation: intermediate states (JOINING, LEAVING).
    pub(crate) fn start_op(&mut self, op: &Operation, now: SimTime) {
        match op {
            Operation::BrokerAdd { broker } => {
                self.members.insert(
                    *broker,
                    MemberState {
                        state: MemberStatus::Joining,
                        version: 0,
                        last_updated: None,
                        partitions: BTreeMap::new(),
                    },
                );
                self.touch(*broker, now);
            }
            Operation::BrokerRemove { broker } => {
                if let Some(m) = self.members.get_mut(broker) {
                    m.state = MemberStatus::Leaving;
                }
                self.touch(*broker, now);
            }
            Operation::PartitionJoin {
                broker,
                partition,
                priority,
            } => {
                let exporters = self.exporters_of(*partition, *broker);
                if let Some(m) = self.members.get_mut(broker) {
                    m.partitions.insert(
                        *partition,
                        PartitionConfig {
                            state: PartitionStatus::Joining,
                            priority: *priority,
                            exporters,
                        },
                    );
                }
                self.touch(*broker, now);
            }
            Operation::PartitionLeave { broker, partition } => {
                if let Some(pc) = self
                    .members
                    .get_mut(broker)
                    .and_then(|m| m.partitions.get_mut(partition))
                {
                    pc.state = PartitionStatus::Leaving;
                }
                self.touch(*broker, now);
            }
            Operation::ForceRemove { .. }
            | Operation::ReconfigurePriority { .. }
            | Operation::ForceReconfigure { .. }
            | Operation::DisableExporter { .. }
            | Operation::EnableExporter { .. }
            | Operation::DeleteExporter { .. } => {}
        }
    }

    /// Second half of an operation: its final effect.
    pub(crate) fn complete_op(&mut self, op: &Operation, now: SimTime) {
        match op {
            Operation::BrokerAdd { broker } => {
                let m = self.members.entry(*broker).or_insert_with(|| MemberState {
                    state: MemberStatus::Joining,
                    version: 0,
                    last_updated: None,
                    partitions: BTreeMap::new(),
                });
                m.state = MemberStatus::Active;
                self.touch(*broker, now);
            }
            Operation::BrokerRemove { broker }
            | Operation::ForceRemove {
                removed: broker, ..
            } => {
                if let Some(m) = self.members.get_mut(broker) {
                    m.state = MemberStatus::Left;
                    m.partitions.clear();
                }
                self.touch(*broker, now);
            }
            Operation::PartitionJoin {
                broker,
                partition,
                priority,
            } => {
                let exporters = self.exporters_of(*partition, *broker);
                if let Some(m) = self.members.get_mut(broker) {
                    let pc = m
                        .partitions
                        .entry(*partition)
                        .or_insert_with(|| PartitionConfig {
                            state: PartitionStatus::Joining,
                            priority: *priority,
                            exporters,
                        });
                    pc.state = PartitionStatus::Active;
                    pc.priority = *priority;
                }
                self.touch(*broker, now);
            }
            Operation::PartitionLeave { broker, partition } => {
                if let Some(m) = self.members.get_mut(broker) {
                    m.partitions.remove(partition);
                }
                self.touch(*broker, now);
            }
            Operation::ReconfigurePriority {
                broker,
                partition,
                priority,
            } => {
                if let Some(pc) = self
                    .members
                    .get_mut(broker)
                    .and_then(|m| m.partitions.get_mut(partition))
                {
                    pc.priority = *priority;
                }
                self.touch(*broker, now);
            }
            Operation::ForceReconfigure {
                partition, members, ..
            } => {
                let holders: Vec<u32> = self
                    .members
                    .iter()
                    .filter(|(id, m)| m.partitions.contains_key(partition) && !members.contains(id))
                    .map(|(id, _)| *id)
                    .collect();
                for id in holders {
                    if let Some(m) = self.members.get_mut(&id) {
                        m.partitions.remove(partition);
                    }
                    self.touch(id, now);
                }
                for id in members {
                    self.touch(*id, now);
                }
            }
            Operation::DisableExporter {
                broker,
                partition,
                exporter,
            } => {
                if let Some(e) = self
                    .members
                    .get_mut(broker)
                    .and_then(|m| m.partitions.get_mut(partition))
                    .and_then(|pc| pc.exporters.get_mut(exporter))
                {
                    e.state = ExporterState::Disabled;
                }
                self.touch(*broker, now);
            }
            Operation::EnableExporter {
                broker,
                partition,
                exporter,
                initialize_from,
            } => {
                if let Some(pc) = self
                    .members
                    .get_mut(broker)
                    .and_then(|m| m.partitions.get_mut(partition))
                {
                    let metadata_version = pc
                        .exporters
                        .get(exporter)
                        .map_or(1, |e| e.metadata_version + 1);
                    pc.exporters.insert(
                        exporter.clone(),
                        ExporterConfig {
                            state: ExporterState::Enabled,
                            metadata_version,
                            initialized_from: initialize_from.clone(),
                        },
                    );
                }
                self.touch(*broker, now);
            }
            Operation::DeleteExporter {
                broker,
                partition,
                exporter,
            } => {
                if let Some(pc) = self
                    .members
                    .get_mut(broker)
                    .and_then(|m| m.partitions.get_mut(partition))
                {
                    pc.exporters.remove(exporter);
                }
                self.touch(*broker, now);
            }
        }
    }

    /// Applies `ops` to a copy, checking every precondition; the expected configuration.
    fn simulate(&self, ops: &[Operation], now: SimTime) -> Result<Self, String> {
        let mut sim = self.clone();
        for op in ops {
            sim.check(op)?;
            sim.start_op(op, now);
            sim.complete_op(op, now);
        }
        sim.members.retain(|_, m| m.state != MemberStatus::Left);
        Ok(sim)
    }

    /// `brokers[]` of the wire format (also `currentTopology` / `expectedTopology`).
    pub(crate) fn brokers_json(&self) -> Value {
        let brokers: Vec<Value> = self
            .members
            .iter()
            .map(|(id, m)| {
                let partitions: Vec<Value> = m
                    .partitions
                    .iter()
                    .map(|(p, pc)| {
                        let exporters: Vec<Value> = pc
                            .exporters
                            .iter()
                            .map(|(eid, e)| json!({"id": eid, "state": e.state.as_str()}))
                            .collect();
                        json!({"id": p, "state": pc.state.as_str(), "priority": pc.priority,
                               "config": {"exporting": {"exporters": exporters}}})
                    })
                    .collect();
                json!({
                    "id": id,
                    "state": m.state.as_str(),
                    "version": m.version,
                    "lastUpdatedAt": m.last_updated.map_or_else(|| "0000-01-01T00:00:00Z".to_owned(), rfc3339),
                    "partitions": partitions,
                })
            })
            .collect();
        Value::Array(brokers)
    }

    /// `GET /actuator/cluster` body.
    pub(crate) fn to_json(&self) -> Value {
        let mut v = json!({"version": self.version, "brokers": self.brokers_json()});
        let Some(obj) = v.as_object_mut() else {
            return v;
        };
        if let Some(c) = &self.last_change {
            let status = match c.status {
                ChangeStatus::Completed => "COMPLETED",
                ChangeStatus::Failed => "FAILED",
                ChangeStatus::Cancelled => "CANCELLED",
            };
            obj.insert(
                "lastChange".to_owned(),
                json!({"id": c.id, "status": status, "startedAt": rfc3339(c.started_at),
                       "completedAt": rfc3339(c.completed_at)}),
            );
        }
        if let Some(p) = &self.pending {
            let completed: Vec<Value> = p
                .completed
                .iter()
                .map(|(op, at)| {
                    let mut j = op.to_json();
                    if let Some(o) = j.as_object_mut() {
                        o.insert("completedAt".to_owned(), json!(rfc3339(*at)));
                    }
                    j
                })
                .collect();
            let pending: Vec<Value> = p.pending.iter().map(Operation::to_json).collect();
            obj.insert(
                "pendingChange".to_owned(),
                json!({"id": p.id, "status": "IN_PROGRESS", "completed": completed, "pending": pending}),
            );
        }
        let n = self.routing_partition_count;
        obj.insert(
            "routing".to_owned(),
            json!({"version": 1,
                   "requestHandling": {"strategy": "AllPartitions", "partitionCount": n},
                   "messageCorrelation": {"strategy": "HashMod", "partitionCount": n}}),
        );
        v
    }

    /// The current placement: partition → (member → priority), over all holders.
    fn placement(&self) -> BTreeMap<u32, BTreeMap<u32, u32>> {
        let mut out: BTreeMap<u32, BTreeMap<u32, u32>> = BTreeMap::new();
        for (id, m) in &self.members {
            for (p, pc) in &m.partitions {
                out.entry(*p).or_default().insert(*id, pc.priority);
            }
        }
        out
    }

    /// The operations of a full round-robin reassignment over `members`
    /// (`PartitionReassignRequestTransformer`).
    fn reassign(&self, members: &BTreeSet<u32>, rf: Option<u32>) -> Result<Vec<Operation>, String> {
        if members.is_empty() {
            return Err("Cannot reassign partitions if no brokers are provided".to_owned());
        }
        let rf = rf.unwrap_or_else(|| self.min_replication_factor());
        if rf == 0 {
            return Err(format!("Replication factor [{rf}] must be greater than 0"));
        }
        if members.len() < usize::try_from(rf).unwrap_or(usize::MAX) {
            return Err(format!(
                "Number of brokers [{}] is less than the replication factor [{rf}]",
                members.len()
            ));
        }
        let old = self.placement();
        let partitions: Vec<u32> = old.keys().copied().collect();
        let new = round_robin(members, &partitions, rf);
        let mut ops = Vec::new();
        for p in &partitions {
            let (Some(old_p), Some(new_p)) = (old.get(p), new.get(p)) else {
                continue;
            };
            for r in new_p.iter().filter(|r| !old_p.contains_key(&r.broker)) {
                ops.push(Operation::PartitionJoin {
                    broker: r.broker,
                    partition: *p,
                    priority: r.priority,
                });
            }
            for b in old_p
                .keys()
                .filter(|b| !new_p.iter().any(|r| r.broker == **b))
            {
                ops.push(Operation::PartitionLeave {
                    broker: *b,
                    partition: *p,
                });
            }
            for (b, prio) in old_p {
                if let Some(r) = new_p.iter().find(|r| r.broker == *b)
                    && r.priority != *prio
                {
                    ops.push(Operation::ReconfigurePriority {
                        broker: *b,
                        partition: *p,
                        priority: r.priority,
                    });
                }
            }
        }
        Ok(ops)
    }

    /// BROKER_ADD for new ids, round-robin reassignment, BROKER_REMOVE for removed ids.
    fn scale_ops(&self, target: &BTreeSet<u32>, rf: Option<u32>) -> Result<Vec<Operation>, String> {
        let current: BTreeSet<u32> = self.members.keys().copied().collect();
        let mut ops: Vec<Operation> = target
            .difference(&current)
            .map(|b| Operation::BrokerAdd { broker: *b })
            .collect();
        ops.extend(self.reassign(target, rf)?);
        ops.extend(
            current
                .difference(target)
                .map(|b| Operation::BrokerRemove { broker: *b }),
        );
        Ok(ops)
    }

    /// Force-remove plan (`ForceRemoveBrokersRequestTransformer`).
    fn force_remove_ops(&self, remove: &BTreeSet<u32>) -> Result<Vec<Operation>, String> {
        let current: BTreeSet<u32> = self.members.keys().copied().collect();
        let retained: BTreeSet<u32> = current.difference(remove).copied().collect();
        let removed: BTreeSet<u32> = current.intersection(remove).copied().collect();
        let placement = self.placement();
        let mut ops = Vec::new();
        let mut orphaned = BTreeSet::new();
        for (p, holders) in &placement {
            let kept: Vec<u32> = holders
                .keys()
                .copied()
                .filter(|b| retained.contains(b))
                .collect();
            match kept.first() {
                Some(first) => ops.push(Operation::ForceReconfigure {
                    broker: *first,
                    partition: *p,
                    members: kept.clone(),
                }),
                None => {
                    orphaned.insert(*p);
                }
            }
        }
        if !orphaned.is_empty() {
            return Err(format!(
                "Expected to force configure and retain members '{}', but this will result in partitions '{}' having no replicas",
                java_set(&retained),
                java_set(&orphaned)
            ));
        }
        let coordinator = retained.first().copied().unwrap_or_default();
        ops.extend(removed.iter().map(|b| Operation::ForceRemove {
            coordinator,
            removed: *b,
        }));
        Ok(ops)
    }
}

/// Body of `PATCH /actuator/cluster`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PatchRequest {
    /// Broker changes.
    pub brokers: Option<BrokersPatch>,
    /// Partition changes.
    pub partitions: Option<PartitionsPatch>,
}

/// `brokers` part of a PATCH.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BrokersPatch {
    /// Ids to add.
    pub add: Option<Vec<u32>>,
    /// Ids to remove.
    pub remove: Option<Vec<u32>>,
    /// New broker count.
    pub count: Option<u32>,
}

/// `partitions` part of a PATCH.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PartitionsPatch {
    /// New partition count.
    pub count: Option<u32>,
    /// New replication factor.
    pub replication_factor: Option<u32>,
}

impl World {
    /// The cluster-messaging address of broker `b` (`Address.toString()`: `host:port`).
    fn cluster_address(&self, b: u32) -> String {
        format!("{}:{CLUSTER_PORT}", self.cfg.host_of(b))
    }

    /// Sends a management request from region `r`'s gateway to `coordinator` (contract
    /// §1.1; `DefaultClusterCommunicationService.sendAndReceive`, `ClusterApiUtils.mapError`):
    /// - reachable: the coordinator handles it;
    /// - not a gossip member of the gateway any more (failure detection removed it):
    ///   `NoSuchMemberException`, 502 at once;
    /// - a member whose pod is not running: the connection is refused, 502 at once;
    /// - a running member behind a severed link: the request is lost and times out after
    ///   [`COORDINATOR_REQUEST_TIMEOUT_MS`], 504.
    fn route(&self, r: u8, coordinator: Option<u32>, topic: &str) -> Result<u32, ManagementError> {
        let c = coordinator.unwrap_or(0);
        if self.gateway_reaches(r, c) {
            return Ok(c);
        }
        if !self.gossip_visible(r, c) {
            let known: Vec<String> = self
                .brokers
                .keys()
                .copied()
                .filter(|b| self.gossip_visible(r, *b))
                .map(|b| format!("Member{{id={b}, address={}}}", self.cluster_address(b)))
                .collect();
            return Err(ManagementError::Unreachable(format!(
                "Expected to send a message with subject '{topic}' to member '{c}', but member is not known. Known members are '[{}]'.",
                known.join(", ")
            )));
        }
        if !self.broker_running(c) {
            return Err(ManagementError::Unreachable(format!(
                "Connection refused: {}",
                self.cluster_address(c)
            )));
        }
        Err(ManagementError::Timeout {
            message: format!(
                "Request {topic} to {} timed out in PT{}S",
                self.cluster_address(c),
                COORDINATOR_REQUEST_TIMEOUT_MS / 1000
            ),
            at: self.now + COORDINATOR_REQUEST_TIMEOUT_MS,
        })
    }

    fn default_route(&self, r: u8, topic: &str) -> Result<u32, ManagementError> {
        self.route(r, self.cluster.lowest_member(), topic)
    }

    /// Validates, simulates and (unless `dry_run`) starts a change; the
    /// `PlannedOperationsResponse`.
    ///
    /// The coordinator's order (`ConfigurationChangeCoordinatorImpl.applyOrDryRun`, 8.8-era):
    /// the request transformer's errors (400) come first, then an empty plan answers 202 with
    /// nothing to do, and only then the validation of §1.3: another change pending (409,
    /// dry runs and forced requests included), then the simulation (400).
    fn submit(
        &mut self,
        coordinator: u32,
        ops: Result<Vec<Operation>, String>,
        dry_run: bool,
    ) -> Result<Value, ManagementError> {
        let ops = ops.map_err(ManagementError::InvalidRequest)?;
        let current = self.cluster.brokers_json();
        if ops.is_empty() {
            let last_change_id = self.cluster.last_change.as_ref().map_or(0, |c| c.id);
            return Ok(json!({
                "changeId": last_change_id,
                "currentTopology": current,
                "plannedChanges": [],
                "expectedTopology": current,
            }));
        }
        if let Some(p) = &self.cluster.pending {
            return Err(ManagementError::ConcurrentModification(format!(
                "Cannot apply configuration change. Another configuration change [ClusterConfiguration[version={}, pendingChanges=Optional[ClusterChangePlan[id={}, status=IN_PROGRESS, pendingOperations={}]]]] is in progress.",
                self.cluster.version,
                p.id,
                p.pending.len()
            )));
        }
        let expected = self
            .cluster
            .simulate(&ops, self.now)
            .map_err(ManagementError::InvalidRequest)?;
        let planned: Vec<Value> = ops.iter().map(Operation::to_json).collect();
        let change_id = self.cluster.version + 1;
        let expected_json = expected.brokers_json();
        if !dry_run {
            self.cluster.version += 1;
            self.cluster.pending = Some(PendingChange {
                id: self.cluster.version,
                coordinator,
                started_at: self.now,
                completed: Vec::new(),
                pending: ops.into_iter().collect(),
                head_due: None,
            });
            self.settle();
        }
        Ok(json!({
            "changeId": change_id,
            "currentTopology": current,
            "plannedChanges": planned,
            "expectedTopology": expected_json,
        }))
    }

    /// `GET /actuator/cluster` served by region `r`.
    ///
    /// # Errors
    /// 502 when the coordinator is unreachable.
    pub fn get_cluster(&self, r: u8) -> Result<Value, ManagementError> {
        self.default_route(r, topic::QUERY)?;
        Ok(self.cluster.to_json())
    }

    /// `PATCH /actuator/cluster` served by region `r` (contract §1.5).
    ///
    /// # Errors
    /// 400 validation, 409 pending change, 502 unreachable coordinator.
    pub fn patch_cluster(
        &mut self,
        r: u8,
        req: &PatchRequest,
        dry_run: bool,
        force: bool,
    ) -> Result<Value, ManagementError> {
        let brokers = req.brokers.clone().unwrap_or_default();
        let partitions = req.partitions.clone().unwrap_or_default();
        let add: BTreeSet<u32> = brokers
            .add
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let remove: BTreeSet<u32> = brokers
            .remove
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        if force {
            if req.brokers.is_none() {
                return Err(ManagementError::invalid(
                    "Must provide a set of brokers to force remove.",
                ));
            }
            if brokers.count.is_some() {
                return Err(ManagementError::invalid(
                    "Cannot force change the broker count.",
                ));
            }
            if !add.is_empty() {
                return Err(ManagementError::invalid("Cannot force add brokers"));
            }
            if partitions.count.is_some() {
                return Err(ManagementError::invalid(
                    "Cannot force change the partition count.",
                ));
            }
            if partitions.replication_factor.is_some() {
                return Err(ManagementError::invalid(
                    "Cannot force change the replication factor.",
                ));
            }
            if remove.is_empty() {
                return Err(ManagementError::invalid(
                    "Must provide a set of brokers to force remove.",
                ));
            }
            return self.force_remove(r, &remove, dry_run);
        }
        if brokers.count.is_some() && (!add.is_empty() || !remove.is_empty()) {
            return Err(ManagementError::invalid(
                "Cannot change brokers count and add/remove brokers at the same time. Specify either the new brokers count or brokers to add and remove.",
            ));
        }
        // Everything below is decided by the coordinator, so it needs the route first.
        let request_topic = if brokers.count.is_some() {
            topic::SCALE_CLUSTER
        } else {
            topic::PATCH_CLUSTER
        };
        let coordinator = self.default_route(r, request_topic)?;
        let ops = self.patch_ops(&add, &remove, brokers.count, &partitions);
        self.submit(coordinator, ops, dry_run)
    }

    /// The operations of a non-forced PATCH (`ClusterPatchRequest`/`ClusterScaleRequest`
    /// transformers).
    fn patch_ops(
        &self,
        add: &BTreeSet<u32>,
        remove: &BTreeSet<u32>,
        count: Option<u32>,
        partitions: &PartitionsPatch,
    ) -> Result<Vec<Operation>, String> {
        if add.intersection(remove).next().is_some() {
            return Err("Cannot add and remove the same member in the same request".to_owned());
        }
        let current: BTreeSet<u32> = self.cluster.members.keys().copied().collect();
        let target: BTreeSet<u32> = match count {
            Some(n) => (0..n).collect(),
            None => current
                .union(add)
                .copied()
                .filter(|b| !remove.contains(b))
                .collect(),
        };
        // `PartitionReassignRequestTransformer` checks the member set before the counts.
        if target.is_empty() {
            return Err("Cannot reassign partitions if no brokers are provided".to_owned());
        }
        let current_count = self.cluster.partition_count();
        if let Some(new_count) = partitions.count {
            if new_count < current_count {
                return Err(format!(
                    "New partition count [{new_count}] must be greater than or equal to the current partition count [{current_count}]"
                ));
            }
            if new_count > current_count {
                return Err(
                    "Increasing the partition count is not supported by the twin".to_owned(),
                );
            }
        }
        self.cluster
            .scale_ops(&target, partitions.replication_factor)
    }

    fn force_remove(
        &mut self,
        r: u8,
        remove: &BTreeSet<u32>,
        dry_run: bool,
    ) -> Result<Value, ManagementError> {
        let coordinator = self
            .cluster
            .members
            .keys()
            .copied()
            .find(|b| !remove.contains(b));
        let coordinator = self.route(r, coordinator, topic::FORCE_REMOVE_BROKERS)?;
        let ops = self.cluster.force_remove_ops(remove);
        self.submit(coordinator, ops, dry_run)
    }

    /// `POST /actuator/cluster/brokers` with the complete target broker list.
    ///
    /// # Errors
    /// 400 validation, 409 pending change, 502 unreachable coordinator.
    pub fn scale_brokers(
        &mut self,
        r: u8,
        target: &[u32],
        replication_factor: Option<u32>,
        dry_run: bool,
        force: bool,
    ) -> Result<Value, ManagementError> {
        let target: BTreeSet<u32> = target.iter().copied().collect();
        if force {
            let coordinator = self.route(r, target.first().copied(), topic::FORCE_SCALE_DOWN)?;
            let ops = self.force_scale_down_ops(&target, replication_factor);
            return self.submit(coordinator, ops, dry_run);
        }
        let coordinator = self.default_route(r, topic::SCALE_MEMBERS)?;
        let ops = self.cluster.scale_ops(&target, replication_factor);
        self.submit(coordinator, ops, dry_run)
    }

    /// Force scale down to `retained` (`ForceScaleDownRequestTransformer`).
    fn force_scale_down_ops(
        &self,
        retained: &BTreeSet<u32>,
        replication_factor: Option<u32>,
    ) -> Result<Vec<Operation>, String> {
        if let Some(rf) = replication_factor {
            return Err(format!(
                "The replication factor cannot be changed to requested value '{rf}' during force scale down. It will be reduced to the number of remaining replicas of each partition."
            ));
        }
        if let Some(missing) = retained
            .iter()
            .find(|b| !self.cluster.members.contains_key(b))
        {
            return Err(format!(
                "Expected to force configure while retaining broker '{missing}', but it is not a member of the current cluster"
            ));
        }
        let remove: BTreeSet<u32> = self
            .cluster
            .members
            .keys()
            .copied()
            .filter(|b| !retained.contains(b))
            .collect();
        self.cluster.force_remove_ops(&remove)
    }

    /// `POST /actuator/cluster/brokers/{id}`: a single BROKER_ADD.
    ///
    /// # Errors
    /// 400, 409, 502.
    pub fn add_broker(&mut self, r: u8, id: u32, dry_run: bool) -> Result<Value, ManagementError> {
        let coordinator = self.default_route(r, topic::ADD_MEMBER)?;
        let ops = if self.cluster.members.contains_key(&id) {
            Ok(Vec::new())
        } else {
            Ok(vec![Operation::BrokerAdd { broker: id }])
        };
        self.submit(coordinator, ops, dry_run)
    }

    /// `DELETE /actuator/cluster/brokers/{id}`: a single graceful BROKER_REMOVE.
    ///
    /// # Errors
    /// 400, 409, 502.
    pub fn remove_broker(
        &mut self,
        r: u8,
        id: u32,
        dry_run: bool,
    ) -> Result<Value, ManagementError> {
        let coordinator = self.default_route(r, topic::REMOVE_MEMBER)?;
        let ops = Ok(vec![Operation::BrokerRemove { broker: id }]);
        self.submit(coordinator, ops, dry_run)
    }

    /// `POST /actuator/cluster/brokers/{b}/partitions/{p}`: a single PARTITION_JOIN.
    ///
    /// # Errors
    /// 400, 409, 502.
    pub fn join_partition(
        &mut self,
        r: u8,
        broker: u32,
        partition: u32,
        priority: u32,
        dry_run: bool,
    ) -> Result<Value, ManagementError> {
        let coordinator = self.default_route(r, topic::JOIN_PARTITION)?;
        let ops = Ok(vec![Operation::PartitionJoin {
            broker,
            partition,
            priority,
        }]);
        self.submit(coordinator, ops, dry_run)
    }

    /// `DELETE /actuator/cluster/brokers/{b}/partitions/{p}`: a single PARTITION_LEAVE.
    ///
    /// # Errors
    /// 400, 409, 502.
    pub fn leave_partition(
        &mut self,
        r: u8,
        broker: u32,
        partition: u32,
        dry_run: bool,
    ) -> Result<Value, ManagementError> {
        let coordinator = self.default_route(r, topic::LEAVE_PARTITION)?;
        let ops = Ok(vec![Operation::PartitionLeave { broker, partition }]);
        self.submit(coordinator, ops, dry_run)
    }

    /// `DELETE /actuator/cluster/changes/{id}`: cancels the pending change; already applied
    /// operations stay. Answers the full cluster body.
    ///
    /// # Errors
    /// 400 (bad id, nothing pending, other id), 501 for dry runs, 502.
    pub fn cancel_change(
        &mut self,
        r: u8,
        id: &str,
        dry_run: bool,
    ) -> Result<Value, ManagementError> {
        if dry_run {
            return Err(ManagementError::NotImplemented(
                "Dry run is not supported for cancelling changes".to_owned(),
            ));
        }
        let Ok(id) = id.trim().parse::<u64>() else {
            return Err(ManagementError::invalid("Change id must be a number"));
        };
        self.default_route(r, topic::CANCEL_CHANGE)?;
        let Some(pending) = self.cluster.pending.clone() else {
            return Err(ManagementError::invalid(format!(
                "Cannot cancel change {id} because no change is in progress"
            )));
        };
        if pending.id != id {
            return Err(ManagementError::invalid(format!(
                "Cannot cancel change {id} because it is not the current change"
            )));
        }
        self.cluster.version += 2;
        self.cluster.pending = None;
        self.cluster
            .members
            .retain(|_, m| m.state != MemberStatus::Left);
        self.cluster.last_change = Some(CompletedChange {
            id,
            status: ChangeStatus::Cancelled,
            started_at: pending.started_at,
            completed_at: self.now,
        });
        self.settle();
        Ok(self.cluster.to_json())
    }

    /// `GET /actuator/exporters`: aggregate status per exporter id (contract §1.7).
    ///
    /// # Errors
    /// 502 when the coordinator is unreachable.
    pub fn get_exporters(&self, r: u8) -> Result<Value, ManagementError> {
        self.default_route(r, topic::QUERY)?;
        let mut states: BTreeMap<&str, BTreeSet<&'static str>> = BTreeMap::new();
        for m in self.cluster.members.values() {
            for pc in m.partitions.values() {
                for (id, e) in &pc.exporters {
                    states
                        .entry(id.as_str())
                        .or_default()
                        .insert(e.state.as_str());
                }
            }
        }
        let first_pending = self
            .cluster
            .pending
            .as_ref()
            .and_then(|p| p.pending.front());
        let out: Vec<Value> = states
            .into_iter()
            .map(|(id, set)| {
                let status = if set.len() == 1 {
                    set.into_iter().next().unwrap_or("UNKNOWN")
                } else {
                    match first_pending {
                        Some(Operation::EnableExporter { .. }) => "ENABLING",
                        Some(Operation::DisableExporter { .. }) => "DISABLING",
                        _ => "UNKNOWN",
                    }
                };
                json!({"exporterId": id, "status": status})
            })
            .collect();
        Ok(Value::Array(out))
    }

    fn exporter_ops(&self, make: impl Fn(u32, u32) -> Operation) -> Vec<Operation> {
        self.cluster
            .members
            .iter()
            .flat_map(|(id, m)| {
                m.partitions
                    .keys()
                    .map(|p| make(*id, *p))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// `POST /actuator/exporters/{id}/disable`.
    ///
    /// # Errors
    /// 400 unknown exporter, 409, 502.
    pub fn disable_exporter(
        &mut self,
        r: u8,
        exporter: &str,
        dry_run: bool,
    ) -> Result<Value, ManagementError> {
        let coordinator = self.default_route(r, topic::DISABLE_EXPORTER)?;
        let ops = self.exporter_ops(|broker, partition| Operation::DisableExporter {
            broker,
            partition,
            exporter: exporter.to_owned(),
        });
        self.submit(coordinator, Ok(ops), dry_run)
    }

    /// `POST /actuator/exporters/{id}/enable` with optional `initializeFrom`.
    ///
    /// # Errors
    /// 400 invalid `initializeFrom`, 409, 502.
    pub fn enable_exporter(
        &mut self,
        r: u8,
        exporter: &str,
        initialize_from: Option<&str>,
        dry_run: bool,
    ) -> Result<Value, ManagementError> {
        let coordinator = self.default_route(r, topic::ENABLE_EXPORTER)?;
        let ops = self.exporter_ops(|broker, partition| Operation::EnableExporter {
            broker,
            partition,
            exporter: exporter.to_owned(),
            initialize_from: initialize_from.map(str::to_owned),
        });
        self.submit(coordinator, Ok(ops), dry_run)
    }

    /// `DELETE /actuator/exporters/{id}`.
    ///
    /// # Errors
    /// 400 unknown exporter, 409, 502.
    pub fn delete_exporter(
        &mut self,
        r: u8,
        exporter: &str,
        dry_run: bool,
    ) -> Result<Value, ManagementError> {
        let coordinator = self.default_route(r, topic::DELETE_EXPORTER)?;
        let ops = self.exporter_ops(|broker, partition| Operation::DeleteExporter {
            broker,
            partition,
            exporter: exporter.to_owned(),
        });
        self.submit(coordinator, Ok(ops), dry_run)
    }

    fn op_latency(&mut self, op: &Operation) -> u64 {
        let l = &self.cfg.latencies;
        let base = match op {
            Operation::PartitionJoin { .. } => l.partition_join,
            Operation::PartitionLeave { .. } => l.partition_leave,
            _ => l.change_operation,
        };
        self.latency(base)
    }

    /// Whether the head operation can make progress now.
    fn executable(&self, coordinator: u32, op: &Operation) -> bool {
        let e = op.executor();
        if !self.broker_running(e) || !(e == coordinator || self.brokers_talk(coordinator, e)) {
            return false;
        }
        match op {
            Operation::PartitionJoin { partition, .. }
            | Operation::PartitionLeave { partition, .. } => self
                .leader(*partition)
                .is_some_and(|l| l == e || self.brokers_talk(l, e)),
            // On the partition's leader, applying the enable opens the exporter
            // (`PartitionConfigurationManager.enableExporter` → `ExporterDirector.enableExporter`
            // → `openExporter`); a failing open fails the operation, which the member retries
            // with a back-off (`ClusterConfigurationManagerImpl.logAndScheduleRetry`), so the
            // operation completes only once the exporter can open. Followers do not open it.
            Operation::EnableExporter {
                broker,
                partition,
                exporter,
                ..
            } => {
                self.leader(*partition) != Some(*broker)
                    || self
                        .cluster
                        .members
                        .get(broker)
                        .and_then(|m| m.partitions.get(partition))
                        .and_then(|pc| pc.exporters.get(exporter))
                        .is_some_and(|x| x.state == ExporterState::Enabled)
                    || self.exporter_can_open(*broker, exporter)
            }
            _ => true,
        }
    }

    pub(crate) fn pending_op_due(&self) -> Option<SimTime> {
        self.cluster.pending.as_ref().and_then(|p| p.head_due)
    }

    /// Starts the head operation of the pending change when its executor can run it.
    pub(crate) fn try_start_pending_op(&mut self) {
        let Some(p) = &self.cluster.pending else {
            return;
        };
        if p.head_due.is_some() {
            return;
        }
        let Some(op) = p.pending.front().cloned() else {
            return;
        };
        if !self.executable(p.coordinator, &op) {
            return;
        }
        let now = self.now;
        let due = now + self.op_latency(&op);
        self.cluster.start_op(&op, now);
        if let Some(p) = self.cluster.pending.as_mut() {
            p.head_due = Some(due);
        }
        self.busy.add(now, due);
    }

    /// Completes the head operation when due (or puts it back to waiting when its executor
    /// went away), and the change when its last operation is done.
    pub(crate) fn fire_pending_op(&mut self) {
        let now = self.now;
        let Some(p) = &self.cluster.pending else {
            return;
        };
        let Some(due) = p.head_due else { return };
        if due > now {
            return;
        }
        let coordinator = p.coordinator;
        let Some(op) = p.pending.front().cloned() else {
            return;
        };
        if !self.executable(coordinator, &op) {
            if let Some(p) = self.cluster.pending.as_mut() {
                p.head_due = None;
            }
            return;
        }
        if let Operation::EnableExporter {
            partition,
            exporter,
            initialize_from,
            ..
        } = &op
        {
            let already = self.cluster.members.values().any(|m| {
                m.partitions
                    .get(partition)
                    .and_then(|pc| pc.exporters.get(exporter))
                    .is_some_and(|e| e.state == ExporterState::Enabled)
            });
            if !already {
                self.init_exporter_position(*partition, exporter, initialize_from.as_deref());
            }
        }
        self.cluster.complete_op(&op, now);
        let finished = if let Some(p) = self.cluster.pending.as_mut() {
            p.pending.pop_front();
            p.completed.push((op, now));
            p.head_due = None;
            p.pending.is_empty()
        } else {
            false
        };
        if finished && let Some(p) = self.cluster.pending.take() {
            self.cluster.version += 1;
            self.cluster
                .members
                .retain(|_, m| m.state != MemberStatus::Left);
            self.cluster.last_change = Some(CompletedChange {
                id: p.id,
                status: ChangeStatus::Completed,
                started_at: p.started_at,
                completed_at: now,
            });
        }
    }
}
