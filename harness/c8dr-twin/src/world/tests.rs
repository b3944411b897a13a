//! World-level tests: the whole 8.8 procedure for both lost regions, and its pitfalls.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::config::{Latencies, TwinConfig};

const BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="load" isExecutable="true"><bpmn:startEvent id="start"/></bpmn:process>
</bpmn:definitions>"#;

struct Sim {
    world: World,
    clock: ManualClock,
}

impl Sim {
    /// A world with exact latencies (no jitter): these tests check timings to the millisecond.
    fn new() -> Self {
        Self::with_config(
            TwinConfig::default().with_latencies(Latencies::default().with_jitter(0.0)),
        )
    }

    fn with_config(cfg: TwinConfig) -> Self {
        Self {
            world: World::new(cfg),
            clock: ManualClock::new(),
        }
    }

    fn step(&mut self, d: Duration) {
        self.clock.advance(d);
        self.world.advance_to(self.clock.now());
    }

    /// Advances in 100 ms steps until `pred` holds (at most `max`).
    fn until(&mut self, max: Duration, pred: impl Fn(&World) -> bool) {
        let mut waited = Duration::ZERO;
        while !pred(&self.world) {
            assert!(waited < max, "condition not reached within {max:?}");
            self.step(Duration::from_millis(100));
            waited += Duration::from_millis(100);
        }
    }

    fn change_completed(&self, r: u8, id: u64) -> bool {
        self.world.get_cluster(r).is_ok_and(|c| {
            c["lastChange"]["id"] == json!(id) && c["lastChange"]["status"] == "COMPLETED"
        })
    }

    fn wait_change(&mut self, r: u8, id: u64) {
        self.until(Duration::from_secs(120), |w| {
            w.get_cluster(r).is_ok_and(|c| {
                c["lastChange"]["id"] == json!(id) && c["lastChange"]["status"] == "COMPLETED"
            })
        });
        assert!(self.change_completed(r, id));
    }

    fn es_docs(&self, r: u8, index: &str) -> usize {
        self.world
            .es_count(r, index)
            .ok()
            .and_then(|v| v["count"].as_u64())
            .map_or(0, |n| usize::try_from(n).unwrap_or(0))
    }

    fn create(&mut self, r: u8) -> Result<String, RestError> {
        self.world
            .create_instance(r, &json!({"processDefinitionId": "load"}))
            .map(|v| {
                v["processInstanceKey"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
    }

    fn visible(&self, r: u8, key: &str) -> bool {
        self.world.get_instance(r, key).is_ok()
    }
}

fn topology_brokers(t: &Value) -> Vec<(u64, Vec<u64>)> {
    t["brokers"]
        .as_array()
        .map(|bs| {
            bs.iter()
                .map(|b| {
                    let parts = b["partitions"]
                        .as_array()
                        .map(|ps| {
                            ps.iter()
                                .filter_map(|p| p["partitionId"].as_u64())
                                .collect()
                        })
                        .unwrap_or_default();
                    (b["nodeId"].as_u64().unwrap_or(99), parts)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// broker → [(partition, priority)] from `GET /actuator/cluster`.
fn placement(cluster: &Value) -> BTreeMap<u64, Vec<(u64, u64)>> {
    cluster["brokers"]
        .as_array()
        .map(|bs| {
            bs.iter()
                .map(|b| {
                    let parts = b["partitions"]
                        .as_array()
                        .map(|ps| {
                            ps.iter()
                                .map(|p| {
                                    (
                                        p["id"].as_u64().unwrap_or(0),
                                        p["priority"].as_u64().unwrap_or(0),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    (b["id"].as_u64().unwrap_or(99), parts)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn reference_table() -> BTreeMap<u64, Vec<(u64, u64)>> {
    BTreeMap::from([
        (0, vec![(1, 4), (6, 1), (7, 2), (8, 3)]),
        (1, vec![(1, 3), (2, 4), (7, 1), (8, 2)]),
        (2, vec![(1, 2), (2, 3), (3, 4), (8, 1)]),
        (3, vec![(1, 1), (2, 2), (3, 3), (4, 4)]),
        (4, vec![(2, 1), (3, 2), (4, 3), (5, 4)]),
        (5, vec![(3, 1), (4, 2), (5, 3), (6, 4)]),
        (6, vec![(4, 1), (5, 2), (6, 3), (7, 4)]),
        (7, vec![(5, 1), (6, 2), (7, 3), (8, 4)]),
    ])
}

fn ops(v: &Value) -> Vec<Value> {
    v["plannedChanges"].as_array().cloned().unwrap_or_default()
}

fn patch(add: &[u32], remove: &[u32], rf: Option<u32>) -> PatchRequest {
    PatchRequest {
        brokers: Some(BrokersPatch {
            add: Some(add.to_vec()),
            remove: Some(remove.to_vec()),
            count: None,
        }),
        partitions: rf.map(|rf| PartitionsPatch {
            count: None,
            replication_factor: Some(rf),
        }),
    }
}

#[test]
fn initial_world_is_converged() {
    let s = Sim::new();
    let t = s.world.topology_json(0);
    assert_eq!(t["clusterSize"], 8);
    assert_eq!(t["partitionsCount"], 8);
    assert_eq!(t["replicationFactor"], 4);
    assert_eq!(t["lastCompletedChangeId"], "-1");
    assert_eq!(topology_brokers(&t).len(), 8);
    let leaders: Vec<Option<u32>> = (1..=8).map(|p| s.world.leader(p)).collect();
    assert_eq!(leaders, (0..8).map(Some).collect::<Vec<_>>());
    let c = s.world.get_cluster(0).expect("coordinator reachable");
    assert_eq!(c["version"], 1);
    assert!(c.get("lastChange").is_none());
    assert!(c.get("pendingChange").is_none());
    assert_eq!(placement(&c), reference_table());
    assert_eq!(
        s.world.get_exporters(0).expect("reachable"),
        json!([{"exporterId": "camundaregion0", "status": "ENABLED"},
               {"exporterId": "camundaregion1", "status": "ENABLED"}])
    );
    assert_eq!(s.es_docs(0, "_all"), 0);
    assert_eq!(
        s.world
            .es_cat_indices(1, None)
            .expect("cat")
            .as_array()
            .map(Vec::len),
        Some(33)
    );
}

/// The whole failover and failback at the world level, for both lost regions and both
/// loss modes. With region 0 lost the coordinator is gone until the force-remove completes.
#[rstest::rstest]
#[case::region1_down(1, LossMode::Down)]
#[case::region1_cut_off(1, LossMode::CutOff)]
#[case::region0_down(0, LossMode::Down)]
#[case::region0_cut_off(0, LossMode::CutOff)]
fn procedure(#[case] lost: u8, #[case] mode: LossMode) {
    run_procedure(lost, mode);
}

#[allow(clippy::too_many_lines, reason = "one scenario, step by step")]
fn run_procedure(lost: u8, mode: LossMode) {
    let surv = 1 - lost;
    let lost_ids: Vec<u32> = (0..8).filter(|b| b % 2 == u32::from(lost)).collect();
    let surv_ids: Vec<u32> = (0..8).filter(|b| b % 2 == u32::from(surv)).collect();
    let lost_exporter = format!("camundaregion{lost}");
    let surv_exporter = format!("camundaregion{surv}");
    let mut s = Sim::new();

    // Workload before the loss reaches both Elasticsearch clusters.
    s.world
        .deploy(surv, &[("load.bpmn".to_owned(), BPMN.as_bytes().to_vec())])
        .expect("deploy");
    let before = s.create(surv).expect("create");
    assert!(s.visible(0, &before) && s.visible(1, &before));

    // Loss: no partition keeps quorum.
    s.world.lose_region(lost, mode).expect("lose");
    s.step(Duration::from_secs(3));
    let t = s.world.topology_json(surv);
    let ids: Vec<u64> = topology_brokers(&t).iter().map(|(b, _)| *b).collect();
    assert_eq!(
        ids,
        surv_ids.iter().map(|b| u64::from(*b)).collect::<Vec<_>>()
    );
    assert_eq!(t["clusterSize"], 8);
    assert_eq!(t["replicationFactor"], 4);
    assert!(
        t["brokers"][0]["partitions"]
            .as_array()
            .is_some_and(|ps| ps.iter().all(|p| p["health"] == "unhealthy"))
    );
    assert!((1..=8).all(|p| s.world.leader(p).is_none()));
    assert!(!s.world.any_healthy_partition(surv));
    let err = s.create(surv).expect_err("no leader");
    assert_eq!(err.status, 503);
    let err = s
        .world
        .exporting_control(surv, ExportingOp::Pause)
        .expect_err("no leader");
    assert!(
        err.starts_with("Leader -1 of partition 1 is not known"),
        "{err}"
    );
    if lost == 0 {
        let e = s.world.get_cluster(surv).expect_err("coordinator lost");
        assert_eq!(e.status(), 502);
        assert_eq!(s.world.get_exporters(surv).expect_err("lost").status(), 502);
    } else {
        assert!(s.world.get_cluster(surv).is_ok());
    }

    // Failover step 1: force-remove the lost brokers.
    let force = s
        .world
        .patch_cluster(surv, &patch(&[], &lost_ids, None), false, true)
        .expect("force remove");
    assert_eq!(force["changeId"], 2);
    let c0 = surv_ids[0];
    let expected_plan: Vec<Value> = if lost == 1 {
        vec![
            json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": 0, "partitionId": 1, "brokers": [0, 2]}),
            json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": 2, "partitionId": 2, "brokers": [2, 4]}),
            json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": 2, "partitionId": 3, "brokers": [2, 4]}),
            json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": 4, "partitionId": 4, "brokers": [4, 6]}),
            json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": 4, "partitionId": 5, "brokers": [4, 6]}),
            json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": 0, "partitionId": 6, "brokers": [0, 6]}),
            json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": 0, "partitionId": 7, "brokers": [0, 6]}),
            json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": 0, "partitionId": 8, "brokers": [0, 2]}),
            json!({"operation": "BROKER_REMOVE", "brokerId": 0, "brokers": [1]}),
            json!({"operation": "BROKER_REMOVE", "brokerId": 0, "brokers": [3]}),
            json!({"operation": "BROKER_REMOVE", "brokerId": 0, "brokers": [5]}),
            json!({"operation": "BROKER_REMOVE", "brokerId": 0, "brokers": [7]}),
        ]
    } else {
        vec![
            json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": 1, "partitionId": 1, "brokers": [1, 3]}),
            json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": 1, "partitionId": 2, "brokers": [1, 3]}),
            json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": 3, "partitionId": 3, "brokers": [3, 5]}),
            json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": 3, "partitionId": 4, "brokers": [3, 5]}),
            json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": 5, "partitionId": 5, "brokers": [5, 7]}),
            json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": 5, "partitionId": 6, "brokers": [5, 7]}),
            json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": 1, "partitionId": 7, "brokers": [1, 7]}),
            json!({"operation": "PARTITION_FORCE_RECONFIGURE", "brokerId": 1, "partitionId": 8, "brokers": [1, 7]}),
            json!({"operation": "BROKER_REMOVE", "brokerId": 1, "brokers": [0]}),
            json!({"operation": "BROKER_REMOVE", "brokerId": 1, "brokers": [2]}),
            json!({"operation": "BROKER_REMOVE", "brokerId": 1, "brokers": [4]}),
            json!({"operation": "BROKER_REMOVE", "brokerId": 1, "brokers": [6]}),
        ]
    };
    assert_eq!(ops(&force), expected_plan);
    assert_eq!(c0, if lost == 1 { 0 } else { 1 });
    let expected_after: BTreeMap<u64, Vec<(u64, u64)>> = reference_table()
        .into_iter()
        .filter(|(b, _)| surv_ids.contains(&u32::try_from(*b).unwrap_or(99)))
        .collect();
    let expected_topology = json!({"brokers": force["expectedTopology"]});
    assert_eq!(placement(&expected_topology), expected_after);
    if lost == 0 {
        // Reads still go to broker 0 (a member until the change completes).
        s.step(Duration::from_millis(500));
        assert_eq!(
            s.world.get_cluster(surv).expect_err("pending").status(),
            502
        );
    }
    s.wait_change(surv, 2);
    let c = s.world.get_cluster(surv).expect("cluster");
    assert_eq!(c["version"], 3);
    assert_eq!(placement(&c), expected_after);
    s.until(Duration::from_secs(2), |w| {
        (1..=8).all(|p| w.leader(p).is_some())
    });
    let t = s.world.topology_json(surv);
    assert_eq!(t["clusterSize"], 4);
    assert_eq!(t["replicationFactor"], 2);
    assert_eq!(t["lastCompletedChangeId"], "2");

    // Processing works again, but exporting is blocked by the unreachable exporter.
    let during = s.create(surv).expect("create after failover");
    s.step(Duration::from_secs(1));
    assert!(!s.visible(surv, &during), "exporting must be blocked");

    // Failover step 2: disable the lost exporter.
    let disable = s
        .world
        .disable_exporter(surv, &lost_exporter, false)
        .expect("disable");
    assert_eq!(disable["changeId"], 4);
    assert_eq!(ops(&disable).len(), 8 * 2);
    s.wait_change(surv, 4);
    let mut exporters = s.world.get_exporters(surv).expect("exporters");
    exporters
        .as_array_mut()
        .expect("array")
        .sort_by_key(|e| e["exporterId"].as_str().map(str::to_owned));
    assert_eq!(
        exporters,
        json!([{"exporterId": "camundaregion0", "status": if lost == 0 {"DISABLED"} else {"ENABLED"}},
               {"exporterId": "camundaregion1", "status": if lost == 1 {"DISABLED"} else {"ENABLED"}}])
    );
    assert!(s.visible(surv, &during), "survivor exports its backlog");

    // Failback step 1: recreate and deploy the lost region without web apps and schema.
    s.world.recreate_region(lost).expect("recreate");
    assert!(!s.world.region_serves_camunda(lost));
    let no_webapps = ReleaseRequest {
        values: BTreeMap::from([
            (VALUE_OPERATE.to_owned(), json!(false)),
            (VALUE_TASKLIST.to_owned(), json!(false)),
        ]),
        env: BTreeMap::new(),
    };
    let mut recreated = no_webapps.clone();
    recreated
        .env
        .insert(ENV_CREATE_SCHEMA.to_owned(), "false".to_owned());
    s.world
        .put_release(lost, recreated)
        .expect("deploy recreated");
    s.step(Duration::from_secs(21));
    assert!(s.world.region_serves_camunda(lost));
    let t = s.world.topology_json(surv);
    let brokers = topology_brokers(&t);
    assert_eq!(brokers.len(), 8);
    for (b, parts) in &brokers {
        assert_eq!(
            parts.is_empty(),
            lost_ids.contains(&u32::try_from(*b).unwrap_or(99))
        );
    }
    assert_eq!(t["clusterSize"], 4);
    assert_eq!(s.world.es_cat_indices(lost, None).expect("cat"), json!([]));

    // Failback step 2: web apps off in the survivor (rolling restart).
    let docs_before = s.es_docs(surv, WEBAPP_INDEX);
    assert!(docs_before > 0, "web apps write while on");
    s.world
        .put_release(surv, no_webapps)
        .expect("redeploy survivor");
    s.step(Duration::from_secs(61));
    let stopped = s.es_docs(surv, WEBAPP_INDEX);
    s.step(Duration::from_secs(5));
    assert_eq!(s.es_docs(surv, WEBAPP_INDEX), stopped, "web apps are off");
    assert!((1..=8).all(|p| s.world.leader(p).is_some()));

    // Failback step 3: pause exporting.
    s.world
        .exporting_control(surv, ExportingOp::Pause)
        .expect("pause");
    let paused = s.create(surv).expect("create while paused");
    s.step(Duration::from_secs(1));
    assert!(!s.visible(surv, &paused));
    assert_eq!(
        s.world.partitions_status(surv)["1"]["exporterPhase"],
        "PAUSED"
    );

    // Failback step 4: snapshot in the survivor, register and restore in the recreated region.
    let repo = json!({"type": "s3", "settings": {"bucket": "b", "client": "camunda", "base_path": "backups"}});
    s.world
        .es_put_repository(surv, "camunda_backup", &repo)
        .expect("repo");
    let due = s
        .world
        .es_create_snapshot(
            surv,
            "camunda_backup",
            "failback",
            &json!({"include_global_state": true}),
        )
        .expect("snapshot");
    s.clock.set(due);
    s.world.advance_to(s.clock.now());
    let all = s
        .world
        .es_get_snapshots(surv, "camunda_backup", "_all")
        .expect("list");
    assert_eq!(all["snapshots"][0]["state"], "SUCCESS");
    assert_eq!(all["snapshots"][0]["shards"]["total"], 33);
    s.world
        .es_put_repository(lost, "camunda_backup", &repo)
        .expect("repo");
    assert_eq!(
        s.world
            .es_get_snapshots(lost, "camunda_backup", "_all")
            .expect("list")["total"],
        1
    );
    let (due, restored) = s
        .world
        .es_restore(lost, "camunda_backup", "failback", &json!({}))
        .expect("restore");
    assert_eq!(restored.len(), 33);
    s.clock.set(due);
    s.world.advance_to(s.clock.now());
    assert!(s.visible(lost, &during));
    assert!(s.visible(lost, &before));

    // Failback step 6: enable the recreated region's exporter from the survivor's.
    let enable = s
        .world
        .enable_exporter(surv, &lost_exporter, Some(&surv_exporter), false)
        .expect("enable");
    assert_eq!(enable["changeId"], 6);
    s.wait_change(surv, 6);

    // Failback step 7: resume; both regions get what was created while paused.
    s.world
        .exporting_control(surv, ExportingOp::Resume)
        .expect("resume");
    s.step(Duration::from_millis(100));
    assert!(s.visible(surv, &paused));
    assert!(s.visible(lost, &paused));
    assert_eq!(
        s.es_docs(0, "operate-list-view-8.3.0_"),
        s.es_docs(1, "operate-list-view-8.3.0_")
    );

    // Failback step 8: re-add the brokers with RF 4 (no force).
    let add = s
        .world
        .patch_cluster(surv, &patch(&lost_ids, &[], Some(4)), false, false)
        .expect("add");
    assert_eq!(add["changeId"], 8);
    let plan = ops(&add);
    let adds: Vec<Value> = lost_ids
        .iter()
        .map(|b| json!({"operation": "BROKER_ADD", "brokerId": b}))
        .collect();
    assert_eq!(plan[..4], adds[..]);
    if lost == 1 {
        let joins: Vec<(u64, u64, u64)> = plan[4..]
            .iter()
            .map(|o| {
                assert_eq!(o["operation"], "PARTITION_JOIN");
                (
                    o["partitionId"].as_u64().unwrap_or(0),
                    o["brokerId"].as_u64().unwrap_or(0),
                    o["priority"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(
            joins,
            vec![
                (1, 1, 3),
                (1, 3, 1),
                (2, 1, 4),
                (2, 3, 2),
                (3, 3, 3),
                (3, 5, 1),
                (4, 3, 4),
                (4, 5, 2),
                (5, 5, 3),
                (5, 7, 1),
                (6, 5, 4),
                (6, 7, 2),
                (7, 7, 3),
                (7, 1, 1),
                (8, 7, 4),
                (8, 1, 2)
            ]
        );
    } else {
        assert_eq!(plan.len(), 4 + 16);
        assert!(plan[4..].iter().all(|o| o["operation"] == "PARTITION_JOIN"));
    }
    s.wait_change(surv, 8);
    let c = s.world.get_cluster(surv).expect("cluster");
    assert_eq!(c["version"], 9);
    assert_eq!(placement(&c), reference_table());
    let t = s.world.topology_json(lost);
    assert_eq!(t["clusterSize"], 8);
    assert_eq!(t["replicationFactor"], 4);
    assert_eq!(t["lastCompletedChangeId"], "8");
    assert!((1..=8).all(|p| s.world.leader(p).is_some()));

    // Web apps back on in both regions.
    for r in [surv, lost] {
        s.world
            .put_release(r, ReleaseRequest::default())
            .expect("redeploy");
    }
    s.step(Duration::from_secs(65));
    let after = s.create(lost).expect("create after failback");
    s.step(Duration::from_millis(10));
    assert!(s.visible(0, &after) && s.visible(1, &after));
    assert!(s.world.stats().busy_sim_millis > 0);
}

#[test]
fn force_add_is_rejected_and_validation_order_holds() {
    let mut s = Sim::new();
    let e = s
        .world
        .patch_cluster(0, &patch(&[1, 3, 5, 7], &[], Some(4)), false, true)
        .expect_err("force add");
    assert_eq!(
        e,
        ManagementError::InvalidRequest("Cannot force add brokers".to_owned())
    );
    let e = s
        .world
        .patch_cluster(0, &PatchRequest::default(), false, true)
        .expect_err("nothing");
    assert_eq!(
        e.to_string(),
        "Must provide a set of brokers to force remove."
    );
    let e = s
        .world
        .patch_cluster(0, &patch(&[], &[], None), false, true)
        .expect_err("empty remove");
    assert_eq!(
        e.to_string(),
        "Must provide a set of brokers to force remove."
    );
    let rf_only = PatchRequest {
        brokers: Some(BrokersPatch {
            remove: Some(vec![1]),
            ..BrokersPatch::default()
        }),
        partitions: Some(PartitionsPatch {
            count: None,
            replication_factor: Some(2),
        }),
    };
    let e = s
        .world
        .patch_cluster(0, &rf_only, false, true)
        .expect_err("rf");
    assert_eq!(e.to_string(), "Cannot force change the replication factor.");
    let all = s
        .world
        .patch_cluster(0, &patch(&[], &[0, 1, 2, 3, 4, 5, 6, 7], None), true, true)
        .expect_err("no replicas");
    assert_eq!(
        all.to_string(),
        "Expected to force configure and retain members '[]', but this will result in partitions '[1, 2, 3, 4, 5, 6, 7, 8]' having no replicas"
    );
    // Dry run: change id = version + 1, nothing persisted.
    let dry = s
        .world
        .patch_cluster(0, &patch(&[], &[1, 3, 5, 7], None), true, true)
        .expect("dry run");
    assert_eq!(dry["changeId"], 2);
    assert_eq!(s.world.get_cluster(0).expect("c")["version"], 1);
    // Adding existing members: empty plan, 202 with change id 0.
    let empty = s
        .world
        .patch_cluster(0, &patch(&[1], &[], None), false, false)
        .expect("noop");
    assert_eq!(empty["plannedChanges"], json!([]));
    assert_eq!(empty["changeId"], 0);
    assert_eq!(empty["currentTopology"], empty["expectedTopology"]);
}

#[test]
fn re_add_without_replication_factor_keeps_rf_2() {
    let mut s = Sim::new();
    s.world.lose_region(1, LossMode::Down).expect("lose");
    s.world
        .patch_cluster(0, &patch(&[], &[1, 3, 5, 7], None), false, true)
        .expect("force");
    s.wait_change(0, 2);
    s.world.heal_region(1).expect("heal");
    s.step(Duration::from_secs(21));
    let plan = s
        .world
        .patch_cluster(0, &patch(&[1, 3, 5, 7], &[], None), true, false)
        .expect("dry run");
    let expected = json!({"brokers": plan["expectedTopology"]});
    let p = placement(&expected);
    assert_eq!(p[&0], vec![(1, 2), (8, 1)]);
    assert_eq!(p[&1], vec![(1, 1), (2, 2)]);
    assert!(
        ops(&plan)
            .iter()
            .any(|o| o["operation"] == "PARTITION_LEAVE")
    );
    // 409 while a change is pending.
    s.world
        .disable_exporter(0, "camundaregion1", false)
        .expect("disable");
    let e = s
        .world
        .patch_cluster(0, &patch(&[1, 3, 5, 7], &[], Some(4)), false, false)
        .expect_err("pending");
    assert_eq!(e.status(), 409);
}

#[test]
fn exporter_errors_and_aggregate_status() {
    let mut s = Sim::new();
    let e = s
        .world
        .disable_exporter(0, "foo", false)
        .expect_err("unknown");
    assert_eq!(
        e.to_string(),
        "Expected to disable exporter, but the partition '1' does not have the exporter 'foo'"
    );
    let e = s
        .world
        .enable_exporter(0, "camundaregion1", Some("foo"), false)
        .expect_err("unknown init");
    assert_eq!(
        e.to_string(),
        "Expected to enable exporter and initialize from exporter 'foo', but the partition '1' does not have exporter 'foo'"
    );
    s.world
        .disable_exporter(0, "camundaregion1", false)
        .expect("disable");
    s.step(Duration::from_millis(600));
    let status = s.world.get_exporters(0).expect("exporters");
    assert_eq!(status[1]["status"], "DISABLING");
    s.wait_change(0, 2);
    let e = s
        .world
        .enable_exporter(0, "camundaregion0", Some("camundaregion1"), true)
        .expect_err("disabled source");
    assert_eq!(
        e.to_string(),
        "Expected to enable exporter and initialize from exporter 'camundaregion1', but the exporter 'camundaregion1' is disabled"
    );
    // Cancel: version + 2, CANCELLED, applied operations stay.
    let change = s
        .world
        .enable_exporter(0, "camundaregion1", None, false)
        .expect("enable");
    assert_eq!(change["changeId"], 4);
    s.step(Duration::from_millis(600));
    assert_eq!(
        s.world.get_exporters(0).expect("e")[1]["status"],
        "ENABLING"
    );
    assert_eq!(
        s.world
            .cancel_change(0, "5", false)
            .expect_err("other")
            .to_string(),
        "Cannot cancel change 5 because it is not the current change"
    );
    assert_eq!(
        s.world
            .cancel_change(0, "x", false)
            .expect_err("nan")
            .status(),
        400
    );
    let c = s.world.cancel_change(0, "4", false).expect("cancel");
    assert_eq!(c["version"], 6);
    assert_eq!(c["lastChange"]["status"], "CANCELLED");
    assert_eq!(s.world.get_exporters(0).expect("e")[1]["status"], "UNKNOWN");
}

#[test]
fn restore_onto_open_index_fails_with_the_exact_reason() {
    let mut s = Sim::new();
    let repo = json!({"type": "fs", "settings": {"location": "/backups"}});
    s.world.es_put_repository(0, "r", &repo).expect("repo");
    let due = s
        .world
        .es_create_snapshot(0, "r", "s", &json!({}))
        .expect("snap");
    let dup = s
        .world
        .es_create_snapshot(0, "r", "s", &json!({}))
        .expect_err("dup");
    assert_eq!(dup.kind, "invalid_snapshot_name_exception");
    assert_eq!(dup.status, 400);
    s.clock.set(due);
    s.world.advance_to(due);
    // Region 1 registered before? Not yet: register now and restore onto its open indices.
    s.world.es_put_repository(1, "r", &repo).expect("repo");
    let e = s
        .world
        .es_restore(1, "r", "s", &json!({}))
        .expect_err("conflict");
    assert_eq!(e.status, 500);
    assert_eq!(e.kind, "snapshot_restore_exception");
    let uuid = s.world.es_get_snapshots(1, "r", "s").expect("get")["snapshots"][0]["uuid"]
        .as_str()
        .expect("uuid")
        .to_owned();
    assert_eq!(
        e.reason,
        format!(
            "[r:s/{uuid}] cannot restore index [camunda-authorization-8.8.0_] because an open index with same name already exists in the cluster. Either close or delete the existing index or restore the index under a different name by providing a rename pattern and replacement name"
        )
    );
    assert_eq!(
        e.body()["error"]["root_cause"][0]["type"],
        "snapshot_restore_exception"
    );
    let missing = s
        .world
        .es_restore(1, "r", "nope", &json!({}))
        .expect_err("missing");
    assert_eq!(
        (missing.status, missing.reason.as_str()),
        (404, "[r:nope] is missing")
    );
    let no_repo = s.world.es_get_snapshots(1, "x", "_all").expect_err("repo");
    assert_eq!(no_repo.reason, "[x] missing");
}

#[test]
fn repositories_cache_the_snapshot_list_at_registration() {
    let mut s = Sim::new();
    let repo = json!({"type": "s3", "settings": {"bucket": "b", "base_path": "p"}});
    s.world
        .es_put_repository(1, "r", &repo)
        .expect("early registration");
    s.world.es_put_repository(0, "r", &repo).expect("repo");
    let due = s
        .world
        .es_create_snapshot(0, "r", "s", &json!({}))
        .expect("snap");
    s.clock.set(due);
    s.world.advance_to(due);
    assert_eq!(
        s.world.es_get_snapshots(1, "r", "_all").expect("list")["total"],
        0
    );
    s.world
        .es_put_repository(1, "r", &repo)
        .expect("re-register");
    assert_eq!(
        s.world.es_get_snapshots(1, "r", "_all").expect("list")["total"],
        1
    );
}

#[test]
fn failure_detection_and_busy_time() {
    let mut s = Sim::new();
    s.world.lose_region(1, LossMode::CutOff).expect("cut");
    // Right after the cut the lost brokers are still gossip members.
    assert_eq!(topology_brokers(&s.world.topology_json(0)).len(), 8);
    s.step(Duration::from_millis(1_999));
    assert_eq!(topology_brokers(&s.world.topology_json(0)).len(), 8);
    s.step(Duration::from_millis(1));
    assert_eq!(topology_brokers(&s.world.topology_json(0)).len(), 4);
    // The cut-off region still answers and sees only itself.
    assert!(s.world.region_serves_camunda(1));
    assert_eq!(topology_brokers(&s.world.topology_json(1)).len(), 4);
    assert_eq!(s.world.stats().busy_sim_millis, 2_000);
    s.world.heal_region(1).expect("heal");
    s.step(Duration::from_secs(1));
    assert!((1..=8).all(|p| s.world.leader(p).is_some()));
    assert_eq!(topology_brokers(&s.world.topology_json(0)).len(), 8);
}

#[test]
fn down_region_heals_with_its_data_and_quorum_returns() {
    let mut s = Sim::new();
    s.world.lose_region(0, LossMode::Down).expect("down");
    assert!(!s.world.region_serves_camunda(0));
    assert!(!s.world.region_serves_elasticsearch(0));
    s.world.heal_region(0).expect("heal");
    s.step(Duration::from_secs(10));
    assert!(s.world.region_serves_elasticsearch(0));
    assert!(!s.world.region_serves_camunda(0));
    s.step(Duration::from_secs(11));
    assert!(s.world.region_serves_camunda(0));
    assert!((1..=8).all(|p| s.world.leader(p).is_some()));
    assert_eq!(s.world.get_cluster(0).expect("c")["version"], 1);
}

#[test]
fn schema_creation_on_deploy_blocks_the_restore() {
    let mut s = Sim::new();
    s.world.recreate_region(1).expect("recreate");
    s.world
        .put_release(1, ReleaseRequest::default())
        .expect("deploy");
    s.step(Duration::from_secs(21));
    assert_eq!(
        s.world
            .es_cat_indices(1, None)
            .expect("cat")
            .as_array()
            .map(Vec::len),
        Some(33)
    );
    let release = s.world.release_state_json(1).expect("installed");
    assert_eq!(release["rolloutComplete"], true);
    assert_eq!(
        release["activeProfiles"],
        json!([
            "broker",
            "operate",
            "tasklist",
            "identity",
            "consolidated-auth"
        ])
    );
}

/// Jitter: every scheduled latency lies within `[1 - jitter, 1 + jitter]` of its base, the
/// same seed draws the same latencies, another seed other ones.
#[test]
fn jitter_is_bounded_and_seeded() {
    let cfg = |seed: u64| {
        TwinConfig::default()
            .with_seed(seed)
            .with_latencies(Latencies::default().with_jitter(0.1))
    };
    let completion = |seed: u64| {
        let mut s = Sim::with_config(cfg(seed));
        s.world.lose_region(1, LossMode::Down).expect("lose");
        s.world
            .patch_cluster(0, &patch(&[], &[1, 3, 5, 7], None), false, true)
            .expect("force");
        // Twelve operations of 250 ms ± 10 %.
        s.until(Duration::from_secs(10), |w| {
            w.get_cluster(0)
                .is_ok_and(|c| c["lastChange"]["status"] == "COMPLETED")
        });
        let c = s.world.get_cluster(0).expect("cluster");
        (
            c["lastChange"]["completedAt"].clone(),
            s.world.stats().busy_sim_millis,
        )
    };
    let mut w = World::new(cfg(7));
    let base = Duration::from_millis(1_000);
    let draws: Vec<u64> = (0..200).map(|_| w.latency(base)).collect();
    assert!(draws.iter().all(|d| (900..=1_100).contains(d)), "{draws:?}");
    assert!(draws.iter().any(|d| *d != draws[0]), "draws vary");
    let mut again = World::new(cfg(7));
    let replay: Vec<u64> = (0..200).map(|_| again.latency(base)).collect();
    assert_eq!(draws, replay);
    assert_eq!(completion(3), completion(3));
    assert_ne!(completion(3).0, completion(4).0);
    let exact =
        World::new(cfg(7).with_latencies(Latencies::default().with_jitter(0.0))).latency(base);
    assert_eq!(exact, 1_000);
}
