//! Configuration of the twin: topology, credentials, latencies and the time scale.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Errors raised when a [`TwinConfig`] is inconsistent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The number of regions is zero.
    #[error("regions must be at least 1")]
    NoRegions,
    /// The cluster size is odd, not a multiple of the region count, or too small.
    #[error(
        "cluster size {cluster_size} must be even, a multiple of the region count {regions} and at least {min}"
    )]
    ClusterSize {
        /// The configured cluster size.
        cluster_size: u32,
        /// The configured number of regions.
        regions: u8,
        /// The smallest accepted cluster size (2 × regions).
        min: u32,
    },
    /// The partition count is zero.
    #[error("partition count must be at least 1")]
    NoPartitions,
    /// The replication factor is zero or larger than the cluster size.
    #[error(
        "replication factor {replication_factor} must be between 1 and the cluster size {cluster_size}"
    )]
    ReplicationFactor {
        /// The configured replication factor.
        replication_factor: u32,
        /// The configured cluster size.
        cluster_size: u32,
    },
    /// The namespace list does not have one entry per region.
    #[error("expected {regions} namespaces (one per region), got {got}")]
    Namespaces {
        /// The configured number of regions.
        regions: u8,
        /// The number of namespaces given.
        got: usize,
    },
    /// The time scale is not a positive finite number.
    #[error("time scale must be a positive finite number, got {0}")]
    TimeScale(f64),
    /// The latency jitter is not a finite number in `[0, 1)`.
    #[error("latency jitter must be a finite number in [0, 1), got {0}")]
    Jitter(f64),
}

/// Latencies of the simulated cluster, in cluster time (what a real cluster would take).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Latencies {
    /// A lost broker drops out of gossip membership after this long.
    #[serde(with = "humantime_serde")]
    pub failure_detection: Duration,
    /// Each configuration-change operation not listed separately.
    #[serde(with = "humantime_serde")]
    pub change_operation: Duration,
    /// A `PARTITION_JOIN` operation (replicating the partition to the new member).
    #[serde(with = "humantime_serde")]
    pub partition_join: Duration,
    /// A `PARTITION_LEAVE` operation.
    #[serde(with = "humantime_serde")]
    pub partition_leave: Duration,
    /// From pod creation to the broker being up and in gossip.
    #[serde(with = "humantime_serde")]
    pub broker_start: Duration,
    /// One broker restart during a rolling redeploy.
    #[serde(with = "humantime_serde")]
    pub broker_restart: Duration,
    /// Leader election once a quorum of replicas can talk to each other.
    #[serde(with = "humantime_serde")]
    pub leader_election: Duration,
    /// Elasticsearch start after the release is deployed.
    #[serde(with = "humantime_serde")]
    pub elasticsearch_start: Duration,
    /// An Elasticsearch snapshot.
    #[serde(with = "humantime_serde")]
    pub snapshot: Duration,
    /// An Elasticsearch restore.
    #[serde(with = "humantime_serde")]
    pub restore: Duration,
    /// The web apps (Operate, Tasklist) write one user-data document per interval while on.
    #[serde(with = "humantime_serde")]
    pub webapp_write_interval: Duration,
    /// Relative spread of every scheduled latency: each one is multiplied by a factor drawn
    /// uniformly from `[1 - jitter, 1 + jitter]` with the twin's seeded random generator
    /// ([`TwinConfig::seed`]). `0` makes every latency exact. Must be in `[0, 1)`.
    pub jitter: f64,
}

impl Default for Latencies {
    fn default() -> Self {
        Self {
            failure_detection: Duration::from_secs(2),
            change_operation: Duration::from_millis(250),
            partition_join: Duration::from_secs(2),
            partition_leave: Duration::from_secs(1),
            broker_start: Duration::from_secs(20),
            broker_restart: Duration::from_secs(15),
            leader_election: Duration::from_millis(500),
            elasticsearch_start: Duration::from_secs(5),
            snapshot: Duration::from_secs(2),
            restore: Duration::from_secs(2),
            webapp_write_interval: Duration::from_secs(1),
            jitter: 0.1,
        }
    }
}

impl Latencies {
    /// Sets the jitter (see [`Latencies::jitter`]).
    #[must_use]
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }
}

/// Everything the twin needs to build its initial world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TwinConfig {
    /// Number of regions (the dual-region setup has 2).
    pub regions: u8,
    /// `orchestration.clusterSize`: total number of brokers over all regions.
    pub cluster_size: u32,
    /// `orchestration.partitionCount`.
    pub partition_count: u32,
    /// `orchestration.replicationFactor`.
    pub replication_factor: u32,
    /// Version reported by brokers and gateways.
    pub camunda_version: String,
    /// Version reported by Elasticsearch.
    pub elasticsearch_version: String,
    /// Helm release name (pods are `<release>-zeebe-<ordinal>`).
    pub release_name: String,
    /// Kubernetes namespace of each region.
    pub namespaces: Vec<String>,
    /// Basic-auth user of the REST API.
    pub username: String,
    /// Basic-auth password of the REST API.
    pub password: String,
    /// Cluster-time latencies.
    pub latencies: Latencies,
    /// Simulated time elapsed per wall-clock time elapsed (100 = a 20 s broker start takes 0.2 s).
    pub time_scale: f64,
    /// Seed of the random generator (ChaCha8) that draws the latency jitter: the same seed and
    /// the same requests at the same simulated times give the same answers.
    pub seed: u64,
}

impl Default for TwinConfig {
    fn default() -> Self {
        Self {
            regions: 2,
            cluster_size: 8,
            partition_count: 8,
            replication_factor: 4,
            camunda_version: "8.8.0".to_owned(),
            elasticsearch_version: "8.18.0".to_owned(),
            release_name: "camunda".to_owned(),
            namespaces: vec!["camunda-region0".to_owned(), "camunda-region1".to_owned()],
            username: "demo".to_owned(),
            password: "demo".to_owned(),
            latencies: Latencies::default(),
            time_scale: 1.0,
            seed: 0,
        }
    }
}

impl TwinConfig {
    /// Sets the seed of the random generator behind the latency jitter.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the time scale (simulated time per wall time).
    #[must_use]
    pub fn with_time_scale(mut self, time_scale: f64) -> Self {
        self.time_scale = time_scale;
        self
    }

    /// Sets the number of regions; namespaces are reset to `camunda-region{r}`.
    #[must_use]
    pub fn with_regions(mut self, regions: u8) -> Self {
        self.regions = regions;
        self.namespaces = (0..regions).map(|r| format!("camunda-region{r}")).collect();
        self
    }

    /// Sets cluster size, partition count and replication factor.
    #[must_use]
    pub fn with_cluster(
        mut self,
        cluster_size: u32,
        partition_count: u32,
        replication_factor: u32,
    ) -> Self {
        self.cluster_size = cluster_size;
        self.partition_count = partition_count;
        self.replication_factor = replication_factor;
        self
    }

    /// Sets the namespace of every region.
    #[must_use]
    pub fn with_namespaces(mut self, namespaces: Vec<String>) -> Self {
        self.namespaces = namespaces;
        self
    }

    /// Sets the REST API basic-auth credentials.
    #[must_use]
    pub fn with_credentials(mut self, username: &str, password: &str) -> Self {
        username.clone_into(&mut self.username);
        password.clone_into(&mut self.password);
        self
    }

    /// Sets the cluster-time latencies.
    #[must_use]
    pub fn with_latencies(mut self, latencies: Latencies) -> Self {
        self.latencies = latencies;
        self
    }

    /// Sets the version reported by brokers and gateways.
    #[must_use]
    pub fn with_camunda_version(mut self, version: &str) -> Self {
        version.clone_into(&mut self.camunda_version);
        self
    }

    /// Checks the configuration for consistency.
    ///
    /// # Errors
    /// Returns the first inconsistency found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.regions == 0 {
            return Err(ConfigError::NoRegions);
        }
        let regions = u32::from(self.regions);
        let min = 2 * regions;
        if !self.cluster_size.is_multiple_of(2)
            || !self.cluster_size.is_multiple_of(regions)
            || self.cluster_size < min
        {
            return Err(ConfigError::ClusterSize {
                cluster_size: self.cluster_size,
                regions: self.regions,
                min,
            });
        }
        if self.partition_count == 0 {
            return Err(ConfigError::NoPartitions);
        }
        if self.replication_factor == 0 || self.replication_factor > self.cluster_size {
            return Err(ConfigError::ReplicationFactor {
                replication_factor: self.replication_factor,
                cluster_size: self.cluster_size,
            });
        }
        if self.namespaces.len() != usize::from(self.regions) {
            return Err(ConfigError::Namespaces {
                regions: self.regions,
                got: self.namespaces.len(),
            });
        }
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(ConfigError::TimeScale(self.time_scale));
        }
        let jitter = self.latencies.jitter;
        if !(jitter.is_finite() && (0.0..1.0).contains(&jitter)) {
            return Err(ConfigError::Jitter(jitter));
        }
        Ok(())
    }

    /// The exporter id that targets region `r`'s Elasticsearch.
    #[must_use]
    pub fn exporter_id(region: u8) -> String {
        format!("camundaregion{region}")
    }

    /// The region a broker id lives in (`id % regions`).
    #[must_use]
    pub fn region_of(&self, broker: u32) -> u8 {
        u8::try_from(broker % u32::from(self.regions.max(1))).unwrap_or(u8::MAX)
    }

    /// The pod ordinal of a broker id (`id / regions`).
    #[must_use]
    pub fn ordinal_of(&self, broker: u32) -> u32 {
        broker / u32::from(self.regions.max(1))
    }

    /// The pod name of a broker id.
    #[must_use]
    pub fn pod_of(&self, broker: u32) -> String {
        format!("{}-zeebe-{}", self.release_name, self.ordinal_of(broker))
    }

    /// The host name a broker advertises.
    #[must_use]
    pub fn host_of(&self, broker: u32) -> String {
        let region = usize::from(self.region_of(broker));
        let ns = self
            .namespaces
            .get(region)
            .map_or("default", String::as_str);
        format!(
            "{}-zeebe-{}.{}-zeebe.{}",
            self.release_name,
            self.ordinal_of(broker),
            self.release_name,
            ns
        )
    }

    /// The broker ids living in region `r`, ascending.
    #[must_use]
    pub fn brokers_of_region(&self, region: u8) -> Vec<u32> {
        (0..self.cluster_size)
            .filter(|b| self.region_of(*b) == region)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_maps_ids() {
        let c = TwinConfig::default();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.brokers_of_region(0), vec![0, 2, 4, 6]);
        assert_eq!(c.brokers_of_region(1), vec![1, 3, 5, 7]);
        assert_eq!(
            c.host_of(3),
            "camunda-zeebe-1.camunda-zeebe.camunda-region1"
        );
        assert_eq!(c.pod_of(6), "camunda-zeebe-3");
    }

    #[test]
    fn rejects_bad_cluster_sizes() {
        for size in [7, 2, 9] {
            let c = TwinConfig::default().with_cluster(size, 8, 1);
            assert!(
                matches!(c.validate(), Err(ConfigError::ClusterSize { .. })),
                "{size}"
            );
        }
        let c = TwinConfig::default().with_regions(3).with_cluster(8, 8, 4);
        assert!(matches!(c.validate(), Err(ConfigError::ClusterSize { .. })));
        let c = TwinConfig::default().with_regions(3).with_cluster(6, 3, 3);
        assert_eq!(c.validate(), Ok(()));
        let c = TwinConfig::default().with_time_scale(0.0);
        assert!(matches!(c.validate(), Err(ConfigError::TimeScale(_))));
        for jitter in [-0.1, 1.0, f64::NAN] {
            let c = TwinConfig::default().with_latencies(Latencies::default().with_jitter(jitter));
            assert!(
                matches!(c.validate(), Err(ConfigError::Jitter(_))),
                "{jitter}"
            );
        }
        let c = TwinConfig::default().with_latencies(Latencies::default().with_jitter(0.0));
        assert_eq!(c.validate(), Ok(()));
    }
}
