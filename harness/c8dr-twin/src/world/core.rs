//! The world: every piece of simulated state, and the deterministic event loop that moves
//! it through simulated time.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::clock::{SimTime, millis};
use crate::config::TwinConfig;
use crate::distribution::round_robin;

use super::cluster::{
    ClusterConfiguration, ExporterConfig, ExporterState, MemberState, MemberStatus,
    PartitionConfig, PartitionStatus,
};
use super::elasticsearch::{Elasticsearch, EsStatus, RepoLocation, StoredSnapshot};
use super::exporting::PartitionData;
use super::platform::{AppliedConfig, BrokerProc, ProcState, Region, RegionStatus, Release};
use super::raft::Election;
use super::workload::Workload;

/// Union of simulated-time intervals during which some scheduled activity was in progress.
#[derive(Debug, Clone, Default)]
pub(crate) struct Busy {
    intervals: Vec<(SimTime, SimTime)>,
}

impl Busy {
    /// Records that an activity runs over `[start, end)`.
    pub(crate) fn add(&mut self, start: SimTime, end: SimTime) {
        if end <= start {
            return;
        }
        if let Some(last) = self.intervals.last_mut()
            && last.0 <= start
        {
            if start <= last.1 {
                last.1 = last.1.max(end);
            } else {
                self.intervals.push((start, end));
            }
            return;
        }
        self.intervals.push((start, end));
        self.intervals.sort_unstable();
        let mut merged: Vec<(SimTime, SimTime)> = Vec::with_capacity(self.intervals.len());
        for (s, e) in self.intervals.drain(..) {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.intervals = merged;
    }

    /// Length of the union, counted up to `now`.
    pub(crate) fn total(&self, now: SimTime) -> u64 {
        self.intervals
            .iter()
            .filter(|(s, _)| *s < now)
            .map(|(s, e)| (*e).min(now) - s)
            .sum()
    }
}

/// Counters exposed by the twin (control API `GET /twin/v1/stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Length of the union of simulated intervals during which at least one scheduled
    /// activity (change operation, broker start or restart, Elasticsearch start, snapshot,
    /// restore, leader election, failure detection) was in progress: the lower bound a
    /// sequential drill must wait.
    pub busy_sim_millis: u64,
    /// HTTP requests served on every listener.
    pub requests: u64,
    /// The seed of the random generator behind the latency jitter ([`TwinConfig::seed`]).
    pub seed: u64,
}

/// The simulated dual-region deployment. Synchronous: call [`World::advance_to`] with the
/// clock's time before reading or acting.
#[derive(Debug)]
pub struct World {
    pub(crate) cfg: TwinConfig,
    pub(crate) now: SimTime,
    pub(crate) regions: Vec<Region>,
    pub(crate) brokers: BTreeMap<u32, BrokerProc>,
    pub(crate) cluster: ClusterConfiguration,
    pub(crate) partitions: BTreeMap<u32, PartitionData>,
    pub(crate) elections: BTreeMap<u32, Election>,
    /// (observer region, broker) → `None` while reachable, `Some(detected_at)` while the loss
    /// is not yet detected. Absent = not a gossip member for that observer.
    pub(crate) gossip: BTreeMap<(u8, u32), Option<SimTime>>,
    pub(crate) bucket_store: BTreeMap<RepoLocation, BTreeMap<String, StoredSnapshot>>,
    pub(crate) workload: Workload,
    pub(crate) busy: Busy,
    pub(crate) requests: u64,
    pub(crate) uuid_counter: u64,
    /// Draws the latency jitter; seeded from [`TwinConfig::seed`].
    pub(crate) rng: ChaCha8Rng,
}

impl World {
    /// Builds the converged initial world: both regions deployed with default values, every
    /// broker a running member, round-robin placement, exporters enabled, leaders elected,
    /// each Elasticsearch holding the 8.8 index set. The configuration must be valid.
    #[must_use]
    pub fn new(cfg: TwinConfig) -> Self {
        let members: std::collections::BTreeSet<u32> = (0..cfg.cluster_size).collect();
        let partition_ids: Vec<u32> = (1..=cfg.partition_count).collect();
        let distribution = round_robin(&members, &partition_ids, cfg.replication_factor);
        let exporters: BTreeMap<String, ExporterConfig> = (0..cfg.regions)
            .map(|r| {
                (
                    TwinConfig::exporter_id(r),
                    ExporterConfig {
                        state: ExporterState::Enabled,
                        metadata_version: 0,
                        initialized_from: None,
                    },
                )
            })
            .collect();
        let mut member_states: BTreeMap<u32, MemberState> = members
            .iter()
            .map(|id| {
                (
                    *id,
                    MemberState {
                        state: MemberStatus::Active,
                        version: 0,
                        last_updated: None,
                        partitions: BTreeMap::new(),
                    },
                )
            })
            .collect();
        for (partition, replicas) in &distribution {
            for replica in replicas {
                if let Some(m) = member_states.get_mut(&replica.broker) {
                    m.partitions.insert(
                        *partition,
                        PartitionConfig {
                            state: PartitionStatus::Active,
                            priority: replica.priority,
                            exporters: exporters.clone(),
                        },
                    );
                }
            }
        }
        let cluster = ClusterConfiguration {
            version: 1,
            members: member_states,
            last_change: None,
            pending: None,
            routing_partition_count: cfg.partition_count,
        };
        let regions = (0..cfg.regions)
            .map(|_| {
                let mut es = Elasticsearch::empty();
                es.status = EsStatus::Running;
                es.ensure_schema();
                Region {
                    status: RegionStatus::Up,
                    release: Some(Release::initial()),
                    es,
                    webapp_next_write: None,
                    webapp_seq: 0,
                }
            })
            .collect();
        let brokers = members
            .iter()
            .map(|id| {
                (
                    *id,
                    BrokerProc {
                        region: cfg.region_of(*id),
                        state: ProcState::Running,
                        applied: AppliedConfig::default(),
                    },
                )
            })
            .collect();
        let partitions = partition_ids
            .iter()
            .map(|p| (*p, PartitionData::new(exporters.keys())))
            .collect();
        let elections = distribution
            .iter()
            .filter_map(|(p, replicas)| {
                replicas.first().map(|primary| {
                    (
                        *p,
                        Election {
                            due: 0,
                            leader: Some(primary.broker),
                        },
                    )
                })
            })
            .collect();
        let rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut world = Self {
            cfg,
            now: 0,
            regions,
            brokers,
            cluster,
            partitions,
            elections,
            gossip: BTreeMap::new(),
            bucket_store: BTreeMap::new(),
            workload: Workload::default(),
            busy: Busy::default(),
            requests: 0,
            uuid_counter: 0,
            rng,
        };
        world.settle();
        world
    }

    /// The configuration the world was built from.
    #[must_use]
    pub fn config(&self) -> &TwinConfig {
        &self.cfg
    }

    /// The current simulated time.
    #[must_use]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Counters: busy simulated time up to now, requests served.
    #[must_use]
    pub fn stats(&self) -> Stats {
        Stats {
            busy_sim_millis: self.busy.total(self.now),
            requests: self.requests,
            seed: self.cfg.seed,
        }
    }

    /// Counts one served HTTP request.
    pub fn count_request(&mut self) {
        self.requests += 1;
    }

    /// Applies every scheduled transition due at or before `t`, in due-time order, then
    /// sets the time to `t`. Never moves backwards.
    pub fn advance_to(&mut self, t: SimTime) {
        self.settle();
        // Bounded so that a bug can never hang a request handler.
        for _ in 0..1_000_000 {
            match self.next_due() {
                Some(due) if due <= t => {
                    self.now = self.now.max(due);
                    self.fire_due();
                    self.settle();
                }
                _ => break,
            }
        }
        self.now = self.now.max(t);
        self.settle();
    }

    /// The earliest pending transition, if any.
    pub(crate) fn next_due(&self) -> Option<SimTime> {
        let mut due: Vec<SimTime> = Vec::new();
        for b in self.brokers.values() {
            if let ProcState::Starting { ready_at } | ProcState::Restarting { ready_at } = b.state {
                due.push(ready_at);
            }
        }
        for region in &self.regions {
            if let EsStatus::Starting { ready_at } = region.es.status {
                due.push(ready_at);
            }
            due.extend(region.es.jobs.iter().map(|j| j.due));
            due.extend(region.webapp_next_write);
        }
        if let Some(d) = self.pending_op_due() {
            due.push(d);
        }
        due.extend(
            self.elections
                .values()
                .filter(|e| e.leader.is_none())
                .map(|e| e.due),
        );
        due.extend(self.gossip.values().flatten().copied());
        due.into_iter().min()
    }

    /// Applies every transition due at `self.now`.
    fn fire_due(&mut self) {
        self.fire_platform();
        self.fire_elasticsearch();
        self.fire_pending_op();
        self.fire_elections();
        self.fire_gossip();
    }

    /// Re-derives everything that follows from the current state without time passing:
    /// rollouts, web-app schedules, change-operation starts, elections, gossip, exporting.
    pub(crate) fn settle(&mut self) {
        for _ in 0..16 {
            let before = self.settle_fingerprint();
            self.settle_platform();
            self.try_start_pending_op();
            self.refresh_elections();
            self.refresh_gossip();
            self.export();
            if self.settle_fingerprint() == before {
                break;
            }
        }
    }

    fn settle_fingerprint(&self) -> (Option<SimTime>, usize, u64) {
        (
            self.next_due(),
            self.elections.len(),
            self.cluster.version
                + self
                    .cluster
                    .pending
                    .as_ref()
                    .map_or(0, |p| p.completed.len() as u64),
        )
    }

    /// A scheduled latency in simulated milliseconds: `base` multiplied by a factor drawn
    /// uniformly from `[1 - jitter, 1 + jitter]` (exactly `base` without jitter). Every
    /// latency the world schedules goes through here, in a deterministic order, so the same
    /// seed and the same requests at the same simulated times replay exactly.
    pub(crate) fn latency(&mut self, base: Duration) -> u64 {
        let ms = millis(base);
        let jitter = self.cfg.latencies.jitter;
        if ms == 0 || jitter <= 0.0 || !jitter.is_finite() {
            return ms;
        }
        let factor: f64 = self.rng.random_range((1.0 - jitter)..=(1.0 + jitter));
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "latencies are far below 2^52 ms and the factor is positive"
        )]
        let drawn = (ms as f64 * factor).round() as u64;
        drawn.max(1)
    }

    /// A fresh deterministic identifier (22 URL-safe characters, like Elasticsearch uuids).
    pub(crate) fn next_uuid(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        self.uuid_counter += 1;
        let mut state =
            self.uuid_counter.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ self.cfg.seed.rotate_left(17);
        let mut out = String::with_capacity(22);
        for i in 0..22u64 {
            state ^= state >> 31;
            state = state.wrapping_mul(0xBF58_476D_1CE4_E5B9).wrapping_add(i);
            state ^= state >> 29;
            out.push(char::from(
                ALPHABET[usize::try_from(state % 64).unwrap_or(0)],
            ));
        }
        out
    }

    pub(crate) fn region(&self, r: u8) -> Option<&Region> {
        self.regions.get(usize::from(r))
    }

    pub(crate) fn region_mut(&mut self, r: u8) -> Option<&mut Region> {
        self.regions.get_mut(usize::from(r))
    }

    pub(crate) fn broker_ids_of_region(&self, r: u8) -> VecDeque<u32> {
        self.brokers
            .iter()
            .filter(|(_, b)| b.region == r)
            .map(|(id, _)| *id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_is_a_union() {
        let mut b = Busy::default();
        b.add(0, 10);
        b.add(5, 20);
        b.add(30, 40);
        b.add(2, 3);
        assert_eq!(b.total(100), 30);
        assert_eq!(b.total(35), 25);
        b.add(15, 35);
        assert_eq!(b.total(100), 40);
    }
}
