//! Zeebe's `RoundRobinPartitionDistributor` (contract §3.1).

use std::collections::{BTreeMap, BTreeSet};

/// One replica of a partition: the broker holding it and its Raft priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Replica {
    /// Broker (member) id.
    pub broker: u32,
    /// Raft election priority (higher is preferred).
    pub priority: u32,
}

/// Distributes `partitions` over `members` with `replication_factor` replicas each.
///
/// Members are sorted numerically; partition `P[i]` lives on `M[(i + j) mod n]` for
/// `j < min(RF, n)`; the primary gets priority `RF`, the others `RF-1, RF-2, …` when
/// `((partitionId - 1) / n)` is even and `1, 2, …` otherwise. Returns, per partition id,
/// the replicas in list order (primary first). Empty when there are no members.
#[must_use]
pub fn round_robin(
    members: &BTreeSet<u32>,
    partitions: &[u32],
    replication_factor: u32,
) -> BTreeMap<u32, Vec<Replica>> {
    let members: Vec<u32> = members.iter().copied().collect();
    let n = members.len();
    let mut out = BTreeMap::new();
    if n == 0 {
        return out;
    }
    let mut sorted_partitions = partitions.to_vec();
    sorted_partitions.sort_unstable();
    let count = usize::try_from(replication_factor)
        .unwrap_or(usize::MAX)
        .min(n);
    let n_u32 = u32::try_from(n).unwrap_or(u32::MAX);
    for (i, &partition) in sorted_partitions.iter().enumerate() {
        let descending = (partition.saturating_sub(1) / n_u32) % 2 == 0;
        let mut replicas = Vec::with_capacity(count);
        for j in 0..count {
            let broker = members[(i + j) % n];
            let j_u32 = u32::try_from(j).unwrap_or(u32::MAX);
            let priority = if j == 0 {
                replication_factor
            } else if descending {
                replication_factor.saturating_sub(j_u32)
            } else {
                j_u32
            };
            replicas.push(Replica { broker, priority });
        }
        out.insert(partition, replicas);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Row per node, column per partition, 0 = not a replica (the source test's format).
    fn matrix(nodes: u32, partitions: u32, rf: u32) -> Vec<Vec<u32>> {
        let members: BTreeSet<u32> = (0..nodes).collect();
        let ids: Vec<u32> = (1..=partitions).collect();
        let dist = round_robin(&members, &ids, rf);
        (0..nodes)
            .map(|node| {
                ids.iter()
                    .map(|p| {
                        dist[p]
                            .iter()
                            .find(|r| r.broker == node)
                            .map_or(0, |r| r.priority)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn three_nodes_six_partitions_rf3() {
        assert_eq!(
            matrix(3, 6, 3),
            vec![
                vec![3, 1, 2, 3, 2, 1],
                vec![2, 3, 1, 1, 3, 2],
                vec![1, 2, 3, 2, 1, 3]
            ]
        );
    }

    #[test]
    fn four_nodes_twelve_partitions_rf3() {
        assert_eq!(
            matrix(4, 12, 3)[0],
            vec![3, 0, 1, 2, 3, 0, 2, 1, 3, 0, 1, 2]
        );
    }

    #[test]
    fn dual_region_reference_layout() {
        // Contract §3.2: broker -> partitions(priority).
        let expected: [&[(u32, u32)]; 8] = [
            &[(1, 4), (6, 1), (7, 2), (8, 3)],
            &[(1, 3), (2, 4), (7, 1), (8, 2)],
            &[(1, 2), (2, 3), (3, 4), (8, 1)],
            &[(1, 1), (2, 2), (3, 3), (4, 4)],
            &[(2, 1), (3, 2), (4, 3), (5, 4)],
            &[(3, 1), (4, 2), (5, 3), (6, 4)],
            &[(4, 1), (5, 2), (6, 3), (7, 4)],
            &[(5, 1), (6, 2), (7, 3), (8, 4)],
        ];
        let m = matrix(8, 8, 4);
        for (node, row) in expected.iter().enumerate() {
            let got: Vec<(u32, u32)> = m[node]
                .iter()
                .enumerate()
                .filter(|(_, prio)| **prio > 0)
                .map(|(i, prio)| (u32::try_from(i).expect("small") + 1, *prio))
                .collect();
            assert_eq!(&got, row, "broker {node}");
        }
    }

    #[test]
    fn fewer_members_than_rf_and_non_contiguous_ids() {
        let members: BTreeSet<u32> = [1, 3].into_iter().collect();
        let d = round_robin(&members, &[1, 2], 4);
        assert_eq!(
            d[&1],
            vec![
                Replica {
                    broker: 1,
                    priority: 4
                },
                Replica {
                    broker: 3,
                    priority: 3
                }
            ]
        );
        assert_eq!(
            d[&2][0],
            Replica {
                broker: 3,
                priority: 4
            }
        );
        assert!(round_robin(&BTreeSet::new(), &[1], 1).is_empty());
    }
}
