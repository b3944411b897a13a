//! Regions and broker ids of a dual-region Zeebe cluster.

use std::fmt;

/// A region index: region `r` holds the brokers whose `id % regions == r`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct RegionId(pub u8);

impl RegionId {
    /// The index as a `usize`, for indexing per-region tables.
    #[must_use]
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl fmt::Display for RegionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "region{}", self.0)
    }
}

/// How a region is lost.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum LossMode {
    /// The region keeps running but every link to the other region is severed (what NetworkPolicies do).
    CutOff,
    /// Everything in the region stops: its endpoints no longer answer.
    Down,
}

impl fmt::Display for LossMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LossMode::CutOff => "cutOff",
            LossMode::Down => "down",
        })
    }
}

/// The shape of the stretched cluster: how many regions and brokers, and how broker ids map to regions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterLayout {
    /// Number of regions (2 for dual-region).
    pub regions: u8,
    /// Number of brokers over all regions.
    pub cluster_size: u32,
    /// Number of partitions.
    pub partition_count: u32,
    /// Replication factor of every partition in the healthy cluster.
    pub replication_factor: u32,
}

impl ClusterLayout {
    /// The region a broker id belongs to (`id % regions`).
    #[must_use]
    pub fn region_of(&self, broker: u32) -> RegionId {
        let regions = u32::from(self.regions.max(1));
        RegionId(u8::try_from(broker % regions).unwrap_or(u8::MAX))
    }

    /// Every broker id of the cluster, ascending.
    #[must_use]
    pub fn all_brokers(&self) -> Vec<u32> {
        (0..self.cluster_size).collect()
    }

    /// The broker ids of one region, ascending.
    #[must_use]
    pub fn brokers_of(&self, region: RegionId) -> Vec<u32> {
        (0..self.cluster_size)
            .filter(|id| self.region_of(*id) == region)
            .collect()
    }

    /// Every region id, ascending.
    pub fn region_ids(&self) -> impl Iterator<Item = RegionId> {
        (0..self.regions).map(RegionId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> ClusterLayout {
        ClusterLayout {
            regions: 2,
            cluster_size: 8,
            partition_count: 8,
            replication_factor: 4,
        }
    }

    #[test]
    fn even_brokers_live_in_region_zero_and_odd_in_region_one() {
        assert_eq!(layout().brokers_of(RegionId(0)), vec![0, 2, 4, 6]);
        assert_eq!(layout().brokers_of(RegionId(1)), vec![1, 3, 5, 7]);
        assert_eq!(layout().region_of(5), RegionId(1));
    }
}
