//! Observing the world for one expectation: call the API, summarize what came back, judge it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::actions::error_chain;
use super::evaluate::{self, ChangeRef, TopologyRule, Verdict};
use super::run::RunState;
use crate::backend::{CamundaApis, Platform};
use crate::camunda::{ClusterTopology, Placement, Topology};
use crate::plan::{Expectation, InstancesVisibility, Plan};
use crate::report::DataContinuityReport;

/// One observation: the verdict, what was seen (for the report), and a placement to remember.
pub(crate) struct Observation {
    pub(crate) verdict: Verdict,
    pub(crate) observed: serde_json::Value,
    pub(crate) capture: Option<(String, Placement)>,
    /// A data-continuity check, kept for the report whether it held or not.
    pub(crate) continuity: Option<DataContinuityReport>,
}

fn unobservable(error: &dyn std::error::Error) -> Observation {
    let text = error_chain(error);
    Observation {
        verdict: Verdict::failing(format!("could not observe: {text}")),
        observed: json!({ "error": text }),
        capture: None,
        continuity: None,
    }
}

fn judged(verdict: Verdict, observed: serde_json::Value) -> Observation {
    Observation {
        verdict,
        observed,
        capture: None,
        continuity: None,
    }
}

fn topology_summary(t: &Topology) -> serde_json::Value {
    let leaders: BTreeMap<String, Vec<u32>> = t
        .healthy_leaders()
        .into_iter()
        .map(|(p, ids)| (p.to_string(), ids))
        .collect();
    let brokers: BTreeMap<String, Vec<u32>> = t
        .brokers
        .iter()
        .map(|b| {
            (
                b.node_id.to_string(),
                b.partitions.iter().map(|p| p.partition_id).collect(),
            )
        })
        .collect();
    json!({
        "brokers": brokers,
        "clusterSize": t.cluster_size,
        "partitionsCount": t.partitions_count,
        "replicationFactor": t.replication_factor,
        "healthyLeaders": leaders,
        "lastCompletedChangeId": t.last_completed_change_id,
    })
}

fn cluster_summary(c: &ClusterTopology) -> serde_json::Value {
    let placement: BTreeMap<String, String> = c
        .placement()
        .into_iter()
        .map(|(id, partitions)| {
            (
                id.to_string(),
                partitions
                    .iter()
                    .map(|(p, prio)| format!("{p}({prio})"))
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        })
        .collect();
    json!({
        "version": c.version,
        "members": c.member_ids(),
        "placement": placement,
        "lastChange": c.last_change,
        "pendingChange": c.pending_change.as_ref().map(|p| json!({
            "id": p.id,
            "completed": p.completed.len(),
            "pending": p.pending.len(),
        })),
    })
}

#[expect(
    clippy::too_many_lines,
    reason = "one arm per expectation kind reads best as a table"
)]
pub(crate) async fn observe<P: Platform, A: CamundaApis>(
    platform: &P,
    apis: &A,
    plan: &Plan,
    expectation: &Expectation,
    state: &RunState<'_>,
) -> Observation {
    match expectation {
        Expectation::Topology {
            via,
            brokers,
            idle_brokers,
            cluster_size,
            partitions_count,
            replication_factor,
            leaders,
            replicas_per_region,
        } => match apis.topology(*via).await {
            Ok(t) => {
                let rule = TopologyRule {
                    brokers: brokers.as_deref(),
                    idle_brokers: idle_brokers.as_deref(),
                    cluster_size: *cluster_size,
                    partitions_count: *partitions_count,
                    replication_factor: *replication_factor,
                    leaders: *leaders,
                    replicas_per_region: *replicas_per_region,
                };
                judged(
                    evaluate::topology(&t, &rule, &plan.layout),
                    topology_summary(&t),
                )
            }
            Err(e) => unobservable(&e),
        },
        Expectation::Change { via, status } => {
            let which = match (state.step_change, state.change_baseline) {
                (Some(id), _) => ChangeRef::Exact(id),
                (None, Some(baseline)) => ChangeRef::After(baseline),
                (None, None) => {
                    return judged(
                        Verdict::failing("the step's action started no change".to_owned()),
                        serde_json::Value::Null,
                    );
                }
            };
            match apis.cluster(*via).await {
                Ok(c) => judged(
                    evaluate::change_ref(&c, which, *status),
                    json!({
                        "changeId": state.step_change,
                        "after": state.change_baseline,
                        "lastChange": c.last_change,
                        "pendingChange": c.pending_change.as_ref().map(|p| json!({
                            "id": p.id,
                            "completed": p.completed.len(),
                            "pending": p.pending.len(),
                            "next": p.pending.first(),
                        })),
                    }),
                ),
                Err(e) => unobservable(&e),
            }
        }
        Expectation::Cluster {
            via,
            members,
            capture_placement,
            placement_equals,
            placement_of,
        } => match apis.cluster(*via).await {
            Ok(c) => {
                let expected = placement_equals
                    .as_ref()
                    .and_then(|name| state.placements.get(name));
                if let (Some(name), None) = (placement_equals, expected) {
                    return judged(
                        Verdict::failing(format!("no placement was captured as `{name}`")),
                        cluster_summary(&c),
                    );
                }
                let verdict = evaluate::cluster(
                    &c,
                    members.as_deref(),
                    expected.map(|p| (p, placement_of.as_deref())),
                );
                Observation {
                    capture: capture_placement
                        .as_ref()
                        .map(|name| (name.clone(), c.placement())),
                    verdict,
                    observed: cluster_summary(&c),
                    continuity: None,
                }
            }
            Err(e) => unobservable(&e),
        },
        Expectation::Exporters { via, status } => match apis.exporters(*via).await {
            Ok(list) => {
                let observed: BTreeMap<&str, &str> = list
                    .iter()
                    .map(|e| (e.exporter_id.as_str(), e.status.as_str()))
                    .collect();
                judged(evaluate::exporters(&list, status), json!(observed))
            }
            Err(e) => unobservable(&e),
        },
        Expectation::Snapshot {
            region,
            repository,
            snapshot,
            state: wanted,
        } => match apis.snapshots(*region, repository).await {
            Ok(list) => {
                let observed: Vec<serde_json::Value> = list
                    .iter()
                    .map(|s| {
                        json!({
                            "snapshot": s.snapshot,
                            "state": s.state,
                            "indices": s.indices.len(),
                            "shards": s.shards,
                        })
                    })
                    .collect();
                judged(evaluate::snapshot(&list, snapshot, wanted), json!(observed))
            }
            Err(e) => unobservable(&e),
        },
        Expectation::Restored {
            region,
            repository,
            snapshot,
            documents_match,
        } => {
            let status = match apis.snapshot_status(*region, repository, snapshot).await {
                Ok(s) => s,
                Err(e) => return unobservable(&e),
            };
            let snapshot_indices = match apis.snapshots(*region, repository).await {
                Ok(list) => list
                    .into_iter()
                    .find(|s| &s.snapshot == snapshot)
                    .map(|s| s.indices)
                    .unwrap_or_default(),
                Err(e) => return unobservable(&e),
            };
            let restored = match apis.indices(*region).await {
                Ok(indices) => indices,
                Err(e) => return unobservable(&e),
            };
            let present: BTreeSet<String> = restored
                .iter()
                .filter(|i| i.status == "open")
                .map(|i| i.index.clone())
                .collect();
            let mut verdict = evaluate::restored(&status, &snapshot_indices, &present);
            let mut observed = json!({
                "state": status.state,
                "shardsStats": status.shards_stats,
                "snapshotIndices": snapshot_indices.len(),
                "openIndices": present.len(),
            });
            if let Some(source) = documents_match {
                let source_indices = match apis.indices(*source).await {
                    Ok(indices) => indices,
                    Err(e) => return unobservable(&e),
                };
                let counts = |list: &[crate::camunda::IndexInfo]| -> BTreeMap<String, u64> {
                    list.iter()
                        .filter(|i| snapshot_indices.contains(&i.index))
                        .map(|i| (i.index.clone(), i.docs_count))
                        .collect()
                };
                let (here, there) = (counts(&restored), counts(&source_indices));
                // Name the instances the restored copy lacks: the acknowledged keys the source
                // region shows and the restored one does not.
                let acknowledged = state.all_acknowledged_keys();
                let (in_source, in_restored) = match (
                    apis.find_instances(*source, &plan.process_instance_index, &acknowledged)
                        .await,
                    apis.find_instances(*region, &plan.process_instance_index, &acknowledged)
                        .await,
                ) {
                    (Ok(a), Ok(b)) => (a, b),
                    (Err(e), _) | (_, Err(e)) => return unobservable(&e),
                };
                let lacking: Vec<String> = in_source.difference(&in_restored).cloned().collect();
                verdict
                    .problems
                    .extend(evaluate::restored_instances(&lacking, *region, *source).problems);
                let matching =
                    evaluate::documents_match(&snapshot_indices, &here, &there, *region, *source);
                let content_differs = !lacking.is_empty() || !matching.holds();
                verdict.problems.extend(matching.problems);
                // The restore has finished (every index is there): what it lacks now it will
                // lack for good.
                verdict.settled =
                    content_differs && snapshot_indices.iter().all(|index| present.contains(index));
                observed["missingInstances"] = json!(lacking);
                observed["documents"] = json!({
                    region.to_string(): here.values().sum::<u64>(),
                    source.to_string(): there.values().sum::<u64>(),
                });
            }
            judged(verdict, observed)
        }
        Expectation::DataContinuity { regions } => {
            let acknowledged = state.acknowledged_keys();
            let mut missing = BTreeMap::new();
            for region in regions {
                match apis
                    .find_instances(*region, &plan.process_instance_index, &acknowledged)
                    .await
                {
                    Ok(found) => {
                        let gone: Vec<String> = acknowledged
                            .iter()
                            .filter(|k| !found.contains(*k))
                            .cloned()
                            .collect();
                        missing.insert(*region, gone);
                    }
                    Err(e) => return unobservable(&e),
                }
            }
            let report = DataContinuityReport::new(state.elapsed_ms(), acknowledged.len(), missing);
            let verdict = evaluate::data_continuity(&report);
            Observation {
                verdict,
                observed: json!(report),
                capture: None,
                continuity: Some(report),
            }
        }
        Expectation::Isolated { from, to } => match platform.reachable(*from, *to).await {
            Ok(reachable) => judged(
                if reachable {
                    Verdict::failing(format!(
                        "{from} still reaches {to}: the fault did not take effect"
                    ))
                } else {
                    Verdict::default()
                },
                json!({ "reachable": reachable }),
            ),
            Err(e) => unobservable(&e),
        },
        Expectation::WebApps {
            region,
            operate,
            tasklist,
        } => match platform.release(*region).await {
            Ok(release) => judged(
                evaluate::web_apps(release.as_ref(), *operate, *tasklist),
                json!(release),
            ),
            Err(e) => unobservable(&e),
        },
        Expectation::InstancesCompleted { region } => {
            if state.completed_keys.is_empty() {
                return judged(
                    Verdict::failing("no instance was completed by a completeInstances step"),
                    serde_json::Value::Null,
                );
            }
            match apis
                .instance_states(*region, &plan.process_instance_index, &state.completed_keys)
                .await
            {
                Ok(states) => {
                    let not_completed: Vec<String> = state
                        .completed_keys
                        .iter()
                        .map(|k| (k, states.get(k).map_or("missing", String::as_str)))
                        .filter(|(_, s)| *s != "COMPLETED")
                        .map(|(k, s)| format!("{k} is {s}"))
                        .collect();
                    judged(
                        if not_completed.is_empty() {
                            Verdict::default()
                        } else {
                            Verdict::failing(format!(
                                "instances completed through the engine do not show as COMPLETED in {region}: {}",
                                not_completed.join(", ")
                            ))
                        },
                        json!(states),
                    )
                }
                Err(e) => unobservable(&e),
            }
        }
        Expectation::Instances { region, visible } => {
            // `all`: what was acknowledged before this step's action ended must be visible
            // (later keys may still be on their way). `stale`: some key acknowledged at least the
            // export-lag tolerance ago is still missing; younger keys prove nothing, since normal
            // export lag also hides them for a while.
            let acknowledged = match visible {
                InstancesVisibility::All => state.acknowledged_keys(),
                InstancesVisibility::Stale => state.keys_older_than_export_lag(),
            };
            if acknowledged.is_empty() {
                let (reason, observed) = match visible {
                    InstancesVisibility::All => (
                        "no instance has been acknowledged yet: nothing to look for".to_owned(),
                        json!({ "acknowledged": 0 }),
                    ),
                    InstancesVisibility::Stale => (
                        format!(
                            "no instance was acknowledged at least {} (the export lag) ago: nothing can be stale yet",
                            humantime::format_duration(plan.export_lag)
                        ),
                        json!({
                            "acknowledged": state.all_acknowledged_keys().len(),
                            "olderThanExportLag": 0,
                        }),
                    ),
                };
                return judged(Verdict::failing(reason), observed);
            }
            match apis
                .find_instances(*region, &plan.process_instance_index, &acknowledged)
                .await
            {
                Ok(found) => {
                    let observed = match visible {
                        InstancesVisibility::All => {
                            json!({ "acknowledged": acknowledged.len(), "visible": found.len() })
                        }
                        InstancesVisibility::Stale => json!({
                            "acknowledged": state.all_acknowledged_keys().len(),
                            "olderThanExportLag": acknowledged.len(),
                            "visible": found.len(),
                        }),
                    };
                    judged(
                        evaluate::instances(&acknowledged, &found, *visible),
                        observed,
                    )
                }
                Err(e) => unobservable(&e),
            }
        }
    }
}
