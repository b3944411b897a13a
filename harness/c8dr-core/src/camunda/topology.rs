//! `GET /v2/topology` (contract §2.1).

use serde::{Deserialize, Serialize};

/// The gateway's view of the cluster: brokers in gossip membership, sizes from the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Topology {
    /// Brokers currently in gossip membership (lost brokers vanish, new non-members have no partitions).
    #[serde(default)]
    pub brokers: Vec<BrokerInfo>,
    /// Number of configuration members.
    pub cluster_size: u32,
    /// Number of partitions.
    pub partitions_count: u32,
    /// The minimum replica count over all partitions.
    pub replication_factor: u32,
    /// Version of the serving gateway.
    #[serde(default)]
    pub gateway_version: String,
    /// Id of the last completed configuration change, `"-1"` before any; absent in many docs examples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_completed_change_id: Option<String>,
}

/// One broker as the gateway sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerInfo {
    /// Broker (node) id.
    pub node_id: u32,
    /// Host name.
    #[serde(default)]
    pub host: String,
    /// Command port.
    #[serde(default)]
    pub port: u16,
    /// Partitions this broker holds, with its role in each.
    #[serde(default)]
    pub partitions: Vec<PartitionInfo>,
    /// The broker's own version.
    #[serde(default)]
    pub version: String,
}

/// A broker's role and health in one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionInfo {
    /// Partition id.
    pub partition_id: u32,
    /// Role of the broker in this partition.
    pub role: PartitionRole,
    /// Health of the partition on this broker.
    pub health: PartitionHealth,
}

/// Raft role of a broker in a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartitionRole {
    /// The partition's leader.
    Leader,
    /// A follower.
    Follower,
    /// Not participating.
    Inactive,
    /// A value this version of c8dr does not know.
    #[serde(other)]
    Unknown,
}

/// Health of a partition on a broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartitionHealth {
    /// Healthy.
    Healthy,
    /// Unhealthy.
    Unhealthy,
    /// Dead.
    Dead,
    /// A value this version of c8dr does not know.
    #[serde(other)]
    Unknown,
}

impl Topology {
    /// The ids of the listed brokers, ascending.
    #[must_use]
    pub fn broker_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.brokers.iter().map(|b| b.node_id).collect();
        ids.sort_unstable();
        ids
    }

    /// For each partition id, the brokers that report themselves as its healthy leader.
    #[must_use]
    pub fn healthy_leaders(&self) -> std::collections::BTreeMap<u32, Vec<u32>> {
        let mut leaders: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
        for broker in &self.brokers {
            for partition in &broker.partitions {
                if partition.role == PartitionRole::Leader
                    && partition.health == PartitionHealth::Healthy
                {
                    leaders
                        .entry(partition.partition_id)
                        .or_default()
                        .push(broker.node_id);
                }
            }
        }
        leaders
    }

    /// For each partition id, the brokers that hold a replica of it.
    #[must_use]
    pub fn replicas(&self) -> std::collections::BTreeMap<u32, Vec<u32>> {
        let mut replicas: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
        for broker in &self.brokers {
            for partition in &broker.partitions {
                replicas
                    .entry(partition.partition_id)
                    .or_default()
                    .push(broker.node_id);
            }
        }
        replicas
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_procedure_pages_topology_without_last_completed_change_id() {
        let json = r#"{"brokers":[{"nodeId":0,"host":"camunda-zeebe-0.camunda-zeebe.camunda-london","port":26501,
            "partitions":[{"partitionId":1,"role":"leader","health":"healthy"},{"partitionId":6,"role":"follower","health":"healthy"}],
            "version":"8.8.0"}],"clusterSize":8,"partitionsCount":8,"replicationFactor":4,"gatewayVersion":"8.8.0"}"#;
        let topology: Topology = serde_json::from_str(json).expect("valid topology");
        assert_eq!(topology.broker_ids(), vec![0]);
        assert_eq!(topology.healthy_leaders().get(&1), Some(&vec![0]));
        assert_eq!(topology.last_completed_change_id, None);
    }

    #[test]
    fn unknown_roles_do_not_break_parsing() {
        let json = r#"{"nodeId":3,"partitions":[{"partitionId":2,"role":"candidate","health":"starting"}]}"#;
        let broker: BrokerInfo = serde_json::from_str(json).expect("lenient");
        assert_eq!(broker.partitions[0].role, PartitionRole::Unknown);
        assert_eq!(broker.partitions[0].health, PartitionHealth::Unknown);
    }
}
