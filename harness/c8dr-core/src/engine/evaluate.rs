//! Pure judgments: given what was observed, does an expectation hold, and if not, why not.
//! No I/O here, so every rule is unit-tested against the contract's example answers.

use std::collections::{BTreeMap, BTreeSet};

use crate::camunda::{
    ChangeStatus, ClusterTopology, ExporterStatus, Placement, ReleaseStatus, SnapshotInfo,
    SnapshotStatus, Topology,
};
use crate::plan::{InstancesVisibility, Leaders};
use crate::region::ClusterLayout;

/// The verdict of one observation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Why the expectation does not hold; empty when it holds.
    pub problems: Vec<String>,
    /// The observed state is final: waiting will not make the expectation hold (a change that
    /// ended FAILED, a finished restore with the wrong content). The step fails at once.
    pub settled: bool,
}

impl Verdict {
    fn new() -> Self {
        Self {
            problems: Vec::new(),
            settled: false,
        }
    }

    /// A verdict that does not hold, for this reason.
    #[must_use]
    pub fn failing(problem: impl Into<String>) -> Self {
        Self {
            problems: vec![problem.into()],
            settled: false,
        }
    }

    fn require(&mut self, ok: bool, problem: impl FnOnce() -> String) {
        if !ok {
            self.problems.push(problem());
        }
    }

    /// Whether the expectation holds.
    #[must_use]
    pub fn holds(&self) -> bool {
        self.problems.is_empty()
    }

    /// The problems in one line.
    #[must_use]
    pub fn reason(&self) -> Option<String> {
        (!self.problems.is_empty()).then(|| self.problems.join("; "))
    }
}

/// What a topology expectation requires.
#[derive(Debug, Clone, Default)]
pub struct TopologyRule<'a> {
    /// Exactly these brokers listed.
    pub brokers: Option<&'a [u32]>,
    /// These brokers listed with no partitions.
    pub idle_brokers: Option<&'a [u32]>,
    /// `clusterSize`.
    pub cluster_size: Option<u32>,
    /// `partitionsCount`.
    pub partitions_count: Option<u32>,
    /// `replicationFactor`.
    pub replication_factor: Option<u32>,
    /// Leadership.
    pub leaders: Option<Leaders>,
    /// Replicas per region of every partition.
    pub replicas_per_region: Option<u32>,
}

/// Judge a `/v2/topology` answer.
#[must_use]
pub fn topology(observed: &Topology, rule: &TopologyRule<'_>, layout: &ClusterLayout) -> Verdict {
    let mut v = Verdict::new();
    let listed = observed.broker_ids();
    if let Some(expected) = rule.brokers {
        v.require(listed == expected, || {
            format!("brokers listed are {listed:?}, expected {expected:?}")
        });
    }
    if let Some(idle) = rule.idle_brokers {
        for id in idle {
            match observed.brokers.iter().find(|b| b.node_id == *id) {
                None => v.problems.push(format!("broker {id} is not listed")),
                Some(b) if !b.partitions.is_empty() => v.problems.push(format!(
                    "broker {id} already holds partitions {:?}",
                    b.partitions
                        .iter()
                        .map(|p| p.partition_id)
                        .collect::<Vec<_>>()
                )),
                Some(_) => {}
            }
        }
    }
    if let Some(n) = rule.cluster_size {
        v.require(observed.cluster_size == n, || {
            format!("clusterSize is {}, expected {n}", observed.cluster_size)
        });
    }
    if let Some(n) = rule.partitions_count {
        v.require(observed.partitions_count == n, || {
            format!(
                "partitionsCount is {}, expected {n}",
                observed.partitions_count
            )
        });
    }
    if let Some(n) = rule.replication_factor {
        v.require(observed.replication_factor == n, || {
            format!(
                "replicationFactor is {}, expected {n}",
                observed.replication_factor
            )
        });
    }
    let partitions: Vec<u32> = (1..=layout.partition_count).collect();
    let leaders = observed.healthy_leaders();
    match rule.leaders {
        Some(Leaders::All | Leaders::In(_)) => {
            let leaderless: Vec<u32> = partitions
                .iter()
                .copied()
                .filter(|p| leaders.get(p).is_none_or(Vec::is_empty))
                .collect();
            v.require(leaderless.is_empty(), || {
                format!("partitions {leaderless:?} have no healthy leader")
            });
            for (p, ids) in &leaders {
                v.require(ids.len() <= 1, || {
                    format!("partition {p} has several healthy leaders {ids:?}")
                });
            }
            if let Some(Leaders::In(region)) = rule.leaders {
                let elsewhere: Vec<String> = leaders
                    .iter()
                    .flat_map(|(p, ids)| ids.iter().map(move |id| (p, id)))
                    .filter(|(_, id)| layout.region_of(**id) != region)
                    .map(|(p, id)| format!("{p}@{id}"))
                    .collect();
                v.require(elsewhere.is_empty(), || {
                    format!("leaders outside {region}: partition@broker {elsewhere:?}")
                });
            }
        }
        Some(Leaders::None) => {
            let led: Vec<u32> = leaders
                .iter()
                .filter(|(_, ids)| !ids.is_empty())
                .map(|(p, _)| *p)
                .collect();
            v.require(led.is_empty(), || {
                format!("partitions {led:?} still have a healthy leader")
            });
        }
        None => {}
    }
    if let Some(n) = rule.replicas_per_region {
        let replicas = observed.replicas();
        for p in &partitions {
            let mut per_region: BTreeMap<u8, u32> = layout.region_ids().map(|r| (r.0, 0)).collect();
            for id in replicas.get(p).map_or(&[][..], Vec::as_slice) {
                *per_region.entry(layout.region_of(*id).0).or_default() += 1;
            }
            let wrong: Vec<String> = per_region
                .iter()
                .filter(|(_, count)| **count != n)
                .map(|(r, count)| format!("{count} in region{r}"))
                .collect();
            v.require(wrong.is_empty(), || {
                format!(
                    "partition {p} has {} (expected {n} per region)",
                    wrong.join(", ")
                )
            });
        }
    }
    v
}

/// Which configuration change an expectation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeRef {
    /// The change with this id (the one the step's action started).
    Exact(i64),
    /// Any change completed after the one with this id (or after none): in rehearsal mode the
    /// operator sends the request, so c8dr only knows what was last before the step.
    After(Option<i64>),
}

/// Judge whether the change with `change_id` reached `status` with nothing pending.
#[must_use]
pub fn change(observed: &ClusterTopology, change_id: i64, status: ChangeStatus) -> Verdict {
    change_ref(observed, ChangeRef::Exact(change_id), status)
}

/// Judge whether the referenced change reached `status` with nothing pending.
#[must_use]
pub fn change_ref(observed: &ClusterTopology, which: ChangeRef, status: ChangeStatus) -> Verdict {
    let mut v = Verdict::new();
    if let Some(pending) = &observed.pending_change {
        let next = pending
            .pending
            .first()
            .map(|op| {
                let mut text = op.operation.clone();
                if let Some(b) = op.broker_id {
                    text.push_str(&format!(" by broker {b}"));
                }
                if let Some(p) = op.partition_id {
                    text.push_str(&format!(" on partition {p}"));
                }
                text
            })
            .unwrap_or_default();
        v.problems.push(format!(
            "change {} is IN_PROGRESS: {} of {} operations applied, next {next}",
            pending.id,
            pending.completed.len(),
            pending.completed.len() + pending.pending.len()
        ));
        return v;
    }
    let expected = match which {
        ChangeRef::Exact(id) => format!("change {id}"),
        ChangeRef::After(Some(id)) => format!("a change after {id}"),
        ChangeRef::After(None) => "a change".to_owned(),
    };
    match &observed.last_change {
        None => v.problems.push(format!(
            "no change has completed yet (expected {expected} {status})"
        )),
        Some(last) => {
            let right_change = match which {
                ChangeRef::Exact(id) => last.id == id,
                ChangeRef::After(baseline) => baseline.is_none_or(|b| last.id > b),
            };
            v.require(right_change, || {
                let wanted = match which {
                    ChangeRef::Exact(id) => id.to_string(),
                    ChangeRef::After(_) => expected.clone(),
                };
                format!(
                    "the last change is {} ({}), not {wanted}",
                    last.id, last.status
                )
            });
            v.require(last.status == status, || {
                format!("change {} is {}, expected {status}", last.id, last.status)
            });
            // The right change ended in another status: it will not change any more.
            v.settled = right_change
                && matches!(which, ChangeRef::Exact(_))
                && last.status != status
                && last.status != ChangeStatus::InProgress;
        }
    }
    v
}

/// Judge `/actuator/cluster` members and placement.
#[must_use]
pub fn cluster(
    observed: &ClusterTopology,
    members: Option<&[u32]>,
    placement: Option<(&Placement, Option<&[u32]>)>,
) -> Verdict {
    let mut v = Verdict::new();
    if let Some(expected) = members {
        let actual = observed.member_ids();
        v.require(actual == expected, || {
            format!("members are {actual:?}, expected {expected:?}")
        });
    }
    if let Some((expected, only)) = placement {
        let actual = observed.placement();
        let keep = |id: &u32| only.is_none_or(|ids| ids.contains(id));
        let expected: Placement = expected
            .iter()
            .filter(|(id, _)| keep(id))
            .map(|(id, p)| (*id, p.clone()))
            .collect();
        let actual: Placement = actual.into_iter().filter(|(id, _)| keep(id)).collect();
        let brokers: BTreeSet<u32> = expected.keys().chain(actual.keys()).copied().collect();
        for id in brokers {
            let want = expected.get(&id);
            let got = actual.get(&id);
            v.require(want == got, || {
                format!(
                    "broker {id} holds {}, expected {}",
                    describe_partitions(got),
                    describe_partitions(want)
                )
            });
        }
    }
    v
}

fn describe_partitions(partitions: Option<&BTreeMap<u32, u32>>) -> String {
    match partitions {
        None => "nothing (not a member)".to_owned(),
        Some(p) if p.is_empty() => "no partitions".to_owned(),
        Some(p) => p
            .iter()
            .map(|(id, priority)| format!("{id}({priority})"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Judge `/actuator/exporters`.
#[must_use]
pub fn exporters(observed: &[ExporterStatus], expected: &BTreeMap<String, String>) -> Verdict {
    let mut v = Verdict::new();
    for (id, status) in expected {
        match observed.iter().find(|e| &e.exporter_id == id) {
            None => v.problems.push(format!("exporter {id} is not listed")),
            Some(e) => v.require(&e.status == status, || {
                format!("exporter {id} is {}, expected {status}", e.status)
            }),
        }
    }
    v
}

/// Judge a snapshot listed by `_all`.
#[must_use]
pub fn snapshot(observed: &[SnapshotInfo], name: &str, state: &str) -> Verdict {
    let mut v = Verdict::new();
    match observed.iter().find(|s| s.snapshot == name) {
        None => {
            let names: Vec<&str> = observed.iter().map(|s| s.snapshot.as_str()).collect();
            v.problems
                .push(format!("snapshot {name} is not listed (listed: {names:?})"));
        }
        Some(s) => {
            v.require(s.state == state, || {
                format!("snapshot {name} is {}, expected {state}", s.state)
            });
            // A finished snapshot keeps its state and shard counts.
            v.settled = s.state != "IN_PROGRESS";
            match s.shards {
                Some(shards) => v.require(shards.failed == 0, || {
                    format!("{} of {} shards failed", shards.failed, shards.total)
                }),
                None => v
                    .problems
                    .push(format!("snapshot {name} reports no shards")),
            }
        }
    }
    v
}

/// Judge a restore: `_status` complete and every index of the snapshot present.
#[must_use]
pub fn restored(
    status: &SnapshotStatus,
    snapshot_indices: &[String],
    present: &BTreeSet<String>,
) -> Verdict {
    let mut v = Verdict::new();
    v.require(status.state == "SUCCESS", || {
        format!("snapshot status is {}, expected SUCCESS", status.state)
    });
    let shards = status.shards_stats;
    v.require(shards.total > 0 && shards.done == shards.total, || {
        format!("{} of {} shards done", shards.done, shards.total)
    });
    let missing: Vec<&String> = snapshot_indices
        .iter()
        .filter(|i| !present.contains(*i))
        .collect();
    v.require(missing.is_empty(), || {
        format!(
            "{} of {} snapshot indices are missing, first {}",
            missing.len(),
            snapshot_indices.len(),
            missing.first().map_or("", |s| s.as_str())
        )
    });
    v
}

/// Judge per-index document counts of a restored copy against its source.
#[must_use]
pub fn documents_match(
    snapshot_indices: &[String],
    restored: &BTreeMap<String, u64>,
    source: &BTreeMap<String, u64>,
    restored_region: crate::region::RegionId,
    source_region: crate::region::RegionId,
) -> Verdict {
    let mut v = Verdict::new();
    let differing: Vec<String> = snapshot_indices
        .iter()
        .filter_map(|index| {
            let here = restored.get(index).copied().unwrap_or(0);
            let there = source.get(index).copied().unwrap_or(0);
            (here != there).then(|| {
                format!("{index}: {here} in {restored_region}, {there} in {source_region}")
            })
        })
        .collect();
    v.require(differing.is_empty(), || {
        format!(
            "the restored copy differs from the source, so something was written after the snapshot: {}",
            differing.join("; ")
        )
    });
    v
}

/// Judge the instances a restored copy lacks compared with its source, naming them.
#[must_use]
pub fn restored_instances(
    lacking: &[String],
    restored_region: crate::region::RegionId,
    source_region: crate::region::RegionId,
) -> Verdict {
    let mut v = Verdict::new();
    v.require(lacking.is_empty(), || {
        let shown: Vec<&str> = lacking.iter().take(10).map(String::as_str).collect();
        format!(
            "{} instance(s) in {source_region}'s Elasticsearch are missing from the restored {restored_region}: {}{}",
            lacking.len(),
            shown.join(", "),
            if lacking.len() > shown.len() { ", …" } else { "" }
        )
    });
    v
}

/// Judge a data-continuity check: no acknowledged key missing anywhere.
#[must_use]
pub fn data_continuity(report: &crate::report::DataContinuityReport) -> Verdict {
    let mut v = Verdict::new();
    for region in &report.regions {
        v.require(region.missing.is_empty(), || {
            let shown: Vec<&str> = region.missing.iter().take(5).map(String::as_str).collect();
            format!(
                "{} of {} acknowledged instances are missing from {}: {}{}",
                region.missing.len(),
                report.acknowledged,
                region.region,
                shown.join(", "),
                if region.missing.len() > shown.len() {
                    ", …"
                } else {
                    ""
                }
            )
        });
    }
    v
}

/// Judge the web apps of a release from its active profiles.
#[must_use]
pub fn web_apps(release: Option<&ReleaseStatus>, operate: bool, tasklist: bool) -> Verdict {
    let mut v = Verdict::new();
    let Some(release) = release else {
        v.problems.push("no release is installed".to_owned());
        return v;
    };
    let active = |name: &str| release.active_profiles.iter().any(|p| p == name);
    for (name, want) in [("operate", operate), ("tasklist", tasklist)] {
        v.require(active(name) == want, || {
            format!(
                "{name} is {}, expected {}",
                if active(name) { "on" } else { "off" },
                if want { "on" } else { "off" }
            )
        });
    }
    v.require(release.rollout_complete, || {
        "the rollout is not complete".to_owned()
    });
    v
}

/// Judge which acknowledged keys a region's Elasticsearch holds. For `all`, `acknowledged` is
/// every key that must be visible; for `stale`, the keys acknowledged at least the export-lag
/// tolerance ago (younger ones may be missing on a healthy cluster too).
#[must_use]
pub fn instances(
    acknowledged: &[String],
    found: &BTreeSet<String>,
    visibility: InstancesVisibility,
) -> Verdict {
    let mut v = Verdict::new();
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|k| !found.contains(*k))
        .collect();
    match visibility {
        InstancesVisibility::All => v.require(missing.is_empty(), || {
            let shown: Vec<&str> = missing.iter().take(5).map(|k| k.as_str()).collect();
            format!(
                "{} of {} acknowledged instances are missing: {}{}",
                missing.len(),
                acknowledged.len(),
                shown.join(", "),
                if missing.len() > shown.len() {
                    ", …"
                } else {
                    ""
                }
            )
        }),
        InstancesVisibility::Stale => v.require(!missing.is_empty(), || {
            format!(
                "all {} instances acknowledged longer than the export lag ago are visible: the data is not stale",
                acknowledged.len()
            )
        }),
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camunda::{BrokerInfo, PartitionHealth, PartitionInfo, PartitionRole};
    use crate::region::RegionId;

    fn layout() -> ClusterLayout {
        ClusterLayout {
            regions: 2,
            cluster_size: 8,
            partition_count: 8,
            replication_factor: 4,
        }
    }

    /// The reference layout of contract §3.2, with broker `p-1` leading partition `p`.
    fn healthy_topology() -> Topology {
        let brokers = (0..8u32)
            .map(|id| BrokerInfo {
                node_id: id,
                host: format!("broker-{id}"),
                port: 26501,
                partitions: (1..=8u32)
                    .filter(|p| (0..4).any(|j| (p - 1 + j) % 8 == id))
                    .map(|p| PartitionInfo {
                        partition_id: p,
                        role: if p - 1 == id {
                            PartitionRole::Leader
                        } else {
                            PartitionRole::Follower
                        },
                        health: PartitionHealth::Healthy,
                    })
                    .collect(),
                version: "8.8.0".into(),
            })
            .collect();
        Topology {
            brokers,
            cluster_size: 8,
            partitions_count: 8,
            replication_factor: 4,
            gateway_version: "8.8.0".into(),
            last_completed_change_id: Some("-1".into()),
        }
    }

    #[test]
    fn a_healthy_cluster_meets_the_steady_state() {
        let all: Vec<u32> = (0..8).collect();
        let rule = TopologyRule {
            brokers: Some(&all),
            cluster_size: Some(8),
            partitions_count: Some(8),
            replication_factor: Some(4),
            leaders: Some(Leaders::All),
            replicas_per_region: Some(2),
            ..Default::default()
        };
        let verdict = topology(&healthy_topology(), &rule, &layout());
        assert!(verdict.holds(), "{:?}", verdict.problems);
    }

    #[test]
    fn leaders_in_a_region_names_the_partitions_led_elsewhere() {
        let rule = TopologyRule {
            leaders: Some(Leaders::In(RegionId(0))),
            ..Default::default()
        };
        let verdict = topology(&healthy_topology(), &rule, &layout());
        let reason = verdict.reason().expect("odd brokers lead even partitions");
        assert!(reason.contains("2@1"), "{reason}");
    }

    #[test]
    fn losing_a_region_breaks_replicas_per_region_and_leadership_rules() {
        let mut t = healthy_topology();
        t.brokers.retain(|b| b.node_id % 2 == 0);
        for b in &mut t.brokers {
            for p in &mut b.partitions {
                p.role = PartitionRole::Follower;
                p.health = PartitionHealth::Unhealthy;
            }
        }
        let none = TopologyRule {
            leaders: Some(Leaders::None),
            ..Default::default()
        };
        assert!(topology(&t, &none, &layout()).holds());
        let all = TopologyRule {
            leaders: Some(Leaders::All),
            replicas_per_region: Some(2),
            ..Default::default()
        };
        let reason = topology(&t, &all, &layout()).reason().expect("degraded");
        assert!(reason.contains("have no healthy leader"), "{reason}");
        assert!(reason.contains("0 in region1"), "{reason}");
    }

    #[test]
    fn stale_and_all_are_opposites() {
        let acknowledged = vec!["1".to_owned(), "2".to_owned()];
        let some: BTreeSet<String> = ["1".to_owned()].into();
        let every: BTreeSet<String> = ["1".to_owned(), "2".to_owned()].into();
        assert!(!instances(&acknowledged, &some, InstancesVisibility::All).holds());
        assert!(instances(&acknowledged, &some, InstancesVisibility::Stale).holds());
        assert!(instances(&acknowledged, &every, InstancesVisibility::All).holds());
        assert!(!instances(&acknowledged, &every, InstancesVisibility::Stale).holds());
    }

    fn continuity(missing: [&[&str]; 2]) -> crate::report::DataContinuityReport {
        crate::report::DataContinuityReport::new(
            1_000,
            6,
            [RegionId(0), RegionId(1)]
                .into_iter()
                .zip(missing)
                .map(|(region, keys)| (region, keys.iter().map(|k| (*k).to_owned()).collect()))
                .collect(),
        )
    }

    #[test]
    fn data_continuity_holds_when_no_region_lacks_an_acknowledged_key() {
        let report = continuity([&[], &[]]);
        assert_eq!(report.lost, 0);
        let verdict = data_continuity(&report);
        assert!(verdict.holds(), "{:?}", verdict.problems);
        assert!(!verdict.settled);
    }

    #[test]
    fn data_continuity_names_the_keys_missing_from_one_region() {
        let report = continuity([&[], &["12", "13"]]);
        assert_eq!(report.lost, 2);
        let verdict = data_continuity(&report);
        assert_eq!(
            verdict.problems,
            vec!["2 of 6 acknowledged instances are missing from region1: 12, 13".to_owned()]
        );
    }

    #[test]
    fn data_continuity_reports_each_region_and_counts_a_key_missing_twice_once() {
        let report = continuity([&["11"], &["11", "12", "13", "14", "15", "16"]]);
        assert_eq!(report.lost, 6, "11 is missing from both but lost once");
        let verdict = data_continuity(&report);
        assert_eq!(
            verdict.problems,
            vec![
                "1 of 6 acknowledged instances are missing from region0: 11".to_owned(),
                "6 of 6 acknowledged instances are missing from region1: 11, 12, 13, 14, 15, …"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn a_pending_change_is_reported_with_its_next_operation() {
        let json = r#"{"version": 7, "brokers": [],
            "pendingChange": {"id": 8, "status": "IN_PROGRESS",
              "completed": [{"operation": "BROKER_ADD", "brokerId": 1}],
              "pending": [{"operation": "PARTITION_JOIN", "brokerId": 1, "partitionId": 1, "priority": 3}]}}"#;
        let observed: ClusterTopology = serde_json::from_str(json).expect("valid");
        let reason = change(&observed, 8, ChangeStatus::Completed)
            .reason()
            .expect("pending");
        assert!(
            reason.contains(
                "1 of 2 operations applied, next PARTITION_JOIN by broker 1 on partition 1"
            ),
            "{reason}"
        );
    }

    #[test]
    fn a_completed_change_with_another_id_does_not_count() {
        let json =
            r#"{"version": 5, "brokers": [], "lastChange": {"id": 4, "status": "COMPLETED"}}"#;
        let observed: ClusterTopology = serde_json::from_str(json).expect("valid");
        assert!(change(&observed, 4, ChangeStatus::Completed).holds());
        assert!(!change(&observed, 6, ChangeStatus::Completed).holds());
    }

    #[test]
    fn placement_differences_name_the_broker() {
        let json = r#"{"version": 1, "brokers": [
            {"id": 0, "state": "ACTIVE", "partitions": [{"id": 1, "state": "ACTIVE", "priority": 4}]},
            {"id": 1, "state": "ACTIVE", "partitions": [{"id": 1, "state": "ACTIVE", "priority": 3}]}]}"#;
        let observed: ClusterTopology = serde_json::from_str(json).expect("valid");
        let mut expected = observed.placement();
        assert!(cluster(&observed, Some(&[0, 1]), Some((&expected, None))).holds());
        expected.get_mut(&1).expect("broker 1").insert(1, 1);
        let reason = cluster(&observed, None, Some((&expected, None)))
            .reason()
            .expect("differs");
        assert_eq!(reason, "broker 1 holds 1(3), expected 1(1)");
        assert!(cluster(&observed, None, Some((&expected, Some(&[0])))).holds());
    }
}
