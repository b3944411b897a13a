//! The derived Raft view (quorum, leaders) and gossip membership (failure detection).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::clock::SimTime;

use super::cluster::PartitionStatus;
use super::core::World;

/// Replicas as (broker, priority).
type Replicas = Vec<(u32, u32)>;

/// Leadership of one partition: once a quorum forms, the leader is known at `due` (the
/// election latency later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Election {
    pub(crate) due: SimTime,
    pub(crate) leader: Option<u32>,
}

impl World {
    /// Replicas of partition `p`: members holding it (not still joining), with priorities.
    pub(crate) fn replicas(&self, p: u32) -> Vec<(u32, u32)> {
        self.cluster
            .members
            .iter()
            .filter_map(|(id, m)| {
                m.partitions
                    .get(&p)
                    .filter(|pc| pc.state != PartitionStatus::Joining)
                    .map(|pc| (*id, pc.priority))
            })
            .collect()
    }

    /// The connected component of running replicas holding a strict majority, if any.
    fn quorum_component(&self, p: u32) -> Option<Vec<(u32, u32)>> {
        let replicas = self.replicas(p);
        let total = replicas.len();
        let mut remaining: Vec<(u32, u32)> = replicas
            .into_iter()
            .filter(|(b, _)| self.broker_running(*b))
            .collect();
        while let Some(seed) = remaining.first().copied() {
            let (component, rest): (Replicas, Replicas) = remaining
                .iter()
                .partition(|(b, _)| *b == seed.0 || self.brokers_talk(seed.0, *b));
            if component.len() * 2 > total {
                return Some(component);
            }
            remaining = rest;
        }
        None
    }

    /// Highest priority, ties to the lowest id.
    fn best(component: &[(u32, u32)]) -> Option<u32> {
        component
            .iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(id, _)| *id)
    }

    /// The current leader of partition `p`.
    #[must_use]
    pub fn leader(&self, p: u32) -> Option<u32> {
        self.elections.get(&p).and_then(|e| e.leader)
    }

    /// Starts and cancels elections as quorums form and break.
    pub(crate) fn refresh_elections(&mut self) {
        let now = self.now;
        let base = self.cfg.latencies.leader_election;
        for p in self.cluster.partition_ids() {
            let component = self.quorum_component(p);
            let current = self.elections.get(&p).copied();
            match (component, current) {
                (None, _) => {
                    self.elections.remove(&p);
                }
                (Some(c), Some(e)) => {
                    let keep = match e.leader {
                        Some(l) => c.iter().any(|(b, _)| *b == l),
                        None => true,
                    };
                    if !keep {
                        let due = now + self.latency(base);
                        self.elections.insert(p, Election { due, leader: None });
                        self.busy.add(now, due);
                    }
                }
                (Some(_), None) => {
                    let due = now + self.latency(base);
                    self.elections.insert(p, Election { due, leader: None });
                    self.busy.add(now, due);
                }
            }
        }
        let known: BTreeSet<u32> = self.cluster.partition_ids().into_iter().collect();
        self.elections.retain(|p, _| known.contains(p));
    }

    /// Completes elections whose latency has passed.
    pub(crate) fn fire_elections(&mut self) {
        let now = self.now;
        let due: Vec<u32> = self
            .elections
            .iter()
            .filter(|(_, e)| e.leader.is_none() && e.due <= now)
            .map(|(p, _)| *p)
            .collect();
        for p in due {
            let leader = self.quorum_component(p).and_then(|c| Self::best(&c));
            match leader {
                Some(l) => {
                    if let Some(e) = self.elections.get_mut(&p) {
                        e.leader = Some(l);
                    }
                }
                None => {
                    self.elections.remove(&p);
                }
            }
        }
    }

    /// Tracks, per observing region, which brokers are gossip members; a lost broker
    /// drops out after the failure-detection latency.
    pub(crate) fn refresh_gossip(&mut self) {
        let now = self.now;
        let base = self.cfg.latencies.failure_detection;
        let ids: Vec<u32> = self.brokers.keys().copied().collect();
        for r in 0..self.cfg.regions {
            for b in &ids {
                let reach = self.gateway_reaches(r, *b);
                let key = (r, *b);
                if reach {
                    self.gossip.insert(key, None);
                } else if self.gossip.get(&key).is_some_and(Option::is_none) {
                    let due = now + self.latency(base);
                    self.gossip.insert(key, Some(due));
                    self.busy.add(now, due);
                }
            }
        }
    }

    /// Drops brokers whose loss has been detected.
    pub(crate) fn fire_gossip(&mut self) {
        let now = self.now;
        self.gossip
            .retain(|_, detected| detected.is_none_or(|d| d > now));
    }

    /// Whether broker `b` is in the gossip membership seen from region `r`.
    pub(crate) fn gossip_visible(&self, r: u8, b: u32) -> bool {
        self.gossip.contains_key(&(r, b))
    }

    /// Replicas of `p` visible from region `r`.
    pub(crate) fn visible_replicas(&self, r: u8, p: u32) -> impl Iterator<Item = u32> + '_ {
        self.replicas(p)
            .into_iter()
            .map(|(b, _)| b)
            .filter(move |b| self.gossip_visible(r, *b))
    }

    /// A compact rendering of the gateway's topology (for exporting-API error messages).
    pub(crate) fn topology_debug(&self, r: u8) -> String {
        let parts: Vec<String> = self
            .cluster
            .partition_ids()
            .into_iter()
            .map(|p| {
                let leader = self
                    .leader(p)
                    .filter(|l| self.gossip_visible(r, *l))
                    .map_or(-1, i64::from);
                let followers: Vec<u32> = self
                    .visible_replicas(r, p)
                    .filter(|b| i64::from(*b) != leader)
                    .collect();
                format!("{p}={{leader={leader}, followers={followers:?}}}")
            })
            .collect();
        format!(
            "BrokerClusterStateImpl{{partitions={{{}}}, clusterSize={}, replicationFactor={}}}",
            parts.join(", "),
            self.cluster.cluster_size(),
            self.cluster.min_replication_factor()
        )
    }

    /// `GET /v2/topology` served by region `r`'s gateway (contract §2.1).
    #[must_use]
    pub fn topology_json(&self, r: u8) -> Value {
        let version = &self.cfg.camunda_version;
        let brokers: Vec<Value> = self
            .brokers
            .keys()
            .copied()
            .filter(|b| self.gossip_visible(r, *b))
            .map(|b| {
                let partitions: Vec<Value> = self
                    .cluster
                    .members
                    .get(&b)
                    .map(|m| {
                        m.partitions
                            .iter()
                            .filter(|(_, pc)| pc.state != PartitionStatus::Joining)
                            .map(|(p, _)| {
                                let leader = self.leader(*p);
                                json!({
                                    "partitionId": p,
                                    "role": if leader == Some(b) { "leader" } else { "follower" },
                                    "health": if leader.is_some() { "healthy" } else { "unhealthy" },
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                json!({
                    "nodeId": b,
                    "host": self.cfg.host_of(b),
                    "port": 26501,
                    "partitions": partitions,
                    "version": version,
                })
            })
            .collect();
        json!({
            "brokers": brokers,
            "clusterSize": self.cluster.cluster_size(),
            "partitionsCount": self.cluster.partition_count(),
            "replicationFactor": self.cluster.min_replication_factor(),
            "gatewayVersion": version,
            "lastCompletedChangeId": self
                .cluster
                .last_change
                .as_ref()
                .map_or_else(|| "-1".to_owned(), |c| c.id.to_string()),
        })
    }

    /// Whether at least one partition has a leader reachable from region `r` (`/v2/status`).
    #[must_use]
    pub fn any_healthy_partition(&self, r: u8) -> bool {
        self.cluster
            .partition_ids()
            .into_iter()
            .any(|p| self.leader(p).is_some_and(|l| self.gateway_reaches(r, l)))
    }
}
