//! Resolved expectations.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::camunda::ChangeStatus;
use crate::region::RegionId;
use crate::spec::InstancesVisibility;

/// What must hold after a step's action, polled until it holds or the step times out.
#[derive(Debug, Clone, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum Expectation {
    /// `GET /v2/topology`.
    Topology {
        /// Gateway region.
        via: RegionId,
        /// Exactly these brokers listed.
        brokers: Option<Vec<u32>>,
        /// These brokers listed without partitions.
        idle_brokers: Option<Vec<u32>>,
        /// `clusterSize`.
        cluster_size: Option<u32>,
        /// `partitionsCount`.
        partitions_count: Option<u32>,
        /// `replicationFactor`.
        replication_factor: Option<u32>,
        /// Leadership rule.
        leaders: Option<Leaders>,
        /// Replicas of every partition in each region.
        replicas_per_region: Option<u32>,
    },
    /// The change started by the step's action reached this status.
    Change {
        /// Gateway region.
        via: RegionId,
        /// Required status.
        status: ChangeStatus,
    },
    /// `GET /actuator/cluster`.
    Cluster {
        /// Gateway region.
        via: RegionId,
        /// Exactly these members.
        members: Option<Vec<u32>>,
        /// Capture the placement under this name.
        capture_placement: Option<String>,
        /// The placement equals this captured one.
        placement_equals: Option<String>,
        /// Compare these brokers only.
        placement_of: Option<Vec<u32>>,
    },
    /// `GET /actuator/exporters`.
    Exporters {
        /// Gateway region.
        via: RegionId,
        /// Exporter id → status.
        status: BTreeMap<String, String>,
    },
    /// A snapshot exists with this state and no failed shard.
    Snapshot {
        /// Whose Elasticsearch.
        region: RegionId,
        /// Repository.
        repository: String,
        /// Snapshot.
        snapshot: String,
        /// Required state.
        state: String,
    },
    /// A snapshot is restored.
    Restored {
        /// Whose Elasticsearch.
        region: RegionId,
        /// Repository.
        repository: String,
        /// Snapshot.
        snapshot: String,
        /// Compare per-index document counts with this region's Elasticsearch.
        documents_match: Option<RegionId>,
    },
    /// Every acknowledged instance is in every region's Elasticsearch.
    DataContinuity {
        /// Every region, checked in order.
        regions: Vec<RegionId>,
    },
    /// `from` cannot reach `to`.
    Isolated {
        /// The region looking.
        from: RegionId,
        /// The region it must not reach.
        to: RegionId,
    },
    /// Web apps on or off.
    WebApps {
        /// Region.
        region: RegionId,
        /// Operate on?
        operate: bool,
        /// Tasklist on?
        tasklist: bool,
    },
    /// Completed instances show as completed in a region's Elasticsearch.
    InstancesCompleted {
        /// Whose Elasticsearch.
        region: RegionId,
    },
    /// Acknowledged instances visible in a region's Elasticsearch.
    Instances {
        /// Whose Elasticsearch.
        region: RegionId,
        /// All, or stale.
        visible: InstancesVisibility,
    },
}

/// Leadership rule of a topology expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Leaders {
    /// Every partition has exactly one healthy leader.
    All,
    /// No partition has a healthy leader.
    None,
    /// Every partition has exactly one healthy leader, in this region.
    In(RegionId),
}

impl Expectation {
    /// Short kind name, as written in scenario files.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Expectation::Topology { .. } => "topology",
            Expectation::Change { .. } => "change",
            Expectation::Cluster { .. } => "cluster",
            Expectation::Exporters { .. } => "exporters",
            Expectation::Snapshot { .. } => "snapshot",
            Expectation::Restored { .. } => "restored",
            Expectation::DataContinuity { .. } => "dataContinuity",
            Expectation::Isolated { .. } => "isolated",
            Expectation::WebApps { .. } => "webApps",
            Expectation::Instances { .. } => "instances",
            Expectation::InstancesCompleted { .. } => "instancesCompleted",
        }
    }

    /// One line saying what must hold.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Expectation::Topology {
                via,
                brokers,
                idle_brokers,
                cluster_size,
                partitions_count,
                replication_factor,
                leaders,
                replicas_per_region,
            } => {
                let mut parts = Vec::new();
                if let Some(b) = brokers {
                    parts.push(format!("brokers {b:?}"));
                }
                if let Some(b) = idle_brokers {
                    parts.push(format!("brokers {b:?} without partitions"));
                }
                if let Some(n) = cluster_size {
                    parts.push(format!("clusterSize {n}"));
                }
                if let Some(n) = partitions_count {
                    parts.push(format!("partitionsCount {n}"));
                }
                if let Some(n) = replication_factor {
                    parts.push(format!("replicationFactor {n}"));
                }
                match leaders {
                    Some(Leaders::All) => parts.push("one healthy leader per partition".into()),
                    Some(Leaders::None) => parts.push("no partition has a healthy leader".into()),
                    Some(Leaders::In(r)) => {
                        parts.push(format!("one healthy leader per partition, all in {r}"));
                    }
                    None => {}
                }
                if let Some(n) = replicas_per_region {
                    parts.push(format!("{n} replicas of every partition in each region"));
                }
                format!("topology via {via}: {}", parts.join(", "))
            }
            Expectation::Change { via, status } => {
                format!("the action's change is {status} via {via}, none pending")
            }
            Expectation::Cluster {
                via,
                members,
                capture_placement,
                placement_equals,
                placement_of,
            } => {
                let mut parts = Vec::new();
                if let Some(m) = members {
                    parts.push(format!("members {m:?}"));
                }
                if let Some(name) = placement_equals {
                    match placement_of {
                        Some(of) => parts.push(format!("placement of {of:?} equals `{name}`")),
                        None => parts.push(format!("placement equals `{name}`")),
                    }
                }
                if let Some(name) = capture_placement {
                    parts.push(format!("placement captured as `{name}`"));
                }
                format!("cluster via {via}: {}", parts.join(", "))
            }
            Expectation::Exporters { via, status } => {
                let parts: Vec<String> = status.iter().map(|(k, v)| format!("{k} {v}")).collect();
                format!("exporters via {via}: {}", parts.join(", "))
            }
            Expectation::Snapshot {
                region,
                snapshot,
                state,
                ..
            } => format!("snapshot {snapshot} in {region} is {state} with no failed shard"),
            Expectation::Restored {
                region,
                snapshot,
                documents_match,
                ..
            } => match documents_match {
                Some(source) => format!(
                    "snapshot {snapshot} restored in {region} (done == total, indices present, document counts equal to {source}'s)"
                ),
                None => format!(
                    "snapshot {snapshot} restored in {region} (done == total, indices present)"
                ),
            },
            Expectation::DataContinuity { regions } => format!(
                "every acknowledged instance is in the Elasticsearch of {}",
                regions
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            Expectation::Isolated { from, to } => format!("{from} cannot reach {to}"),
            Expectation::InstancesCompleted { region } => format!(
                "the instances completed through the engine show as COMPLETED in {region}'s Elasticsearch"
            ),
            Expectation::WebApps {
                region,
                operate,
                tasklist,
            } => format!(
                "web apps in {region}: operate {}, tasklist {}",
                on_off(*operate),
                on_off(*tasklist)
            ),
            Expectation::Instances { region, visible } => match visible {
                InstancesVisibility::All => {
                    format!("every acknowledged instance is in {region}'s Elasticsearch")
                }
                InstancesVisibility::Stale => {
                    format!(
                        "{region}'s Elasticsearch is stale (an instance acknowledged longer than the export lag ago is missing)"
                    )
                }
            },
        }
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}
