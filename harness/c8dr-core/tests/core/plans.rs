//! Validation resolves every reference of the shipped scenario for the lost region it is given.

use std::collections::BTreeMap;
use std::time::Duration;

use c8dr_core::camunda::{
    ChangeOptions, ClusterPatchBrokers, ClusterPatchPartitions, ClusterPatchRequest,
    ExportingOperation, RepositoryKind,
};
use c8dr_core::plan::{Action, Expectation, Leaders, Plan, Step};
use c8dr_core::region::{LossMode, RegionId};
use c8dr_core::validate::{PlanOptions, load};
use rstest::rstest;

use crate::support::{data_dir, data_source, lines, shipped_plan};

fn step<'a>(plan: &'a Plan, name: &str) -> &'a Step {
    plan.steps()
        .map(|(_, s)| s)
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no step `{name}`"))
}

fn action<'a>(plan: &'a Plan, name: &str) -> &'a Action {
    step(plan, name)
        .action
        .as_ref()
        .unwrap_or_else(|| panic!("step `{name}` has no action"))
}

fn odd() -> Vec<u32> {
    vec![1, 3, 5, 7]
}

fn even() -> Vec<u32> {
    vec![0, 2, 4, 6]
}

/// The brokers of region `r` in the shipped 8-broker layout.
fn brokers_of(r: u8) -> Vec<u32> {
    if r == 0 { even() } else { odd() }
}

#[rstest]
fn failover_force_removes_the_lost_brokers_through_the_surviving_gateway(#[values(0, 1)] lost: u8) {
    let plan = shipped_plan(lost);
    let Action::PatchCluster {
        via,
        request,
        options,
    } = action(&plan, "remove the lost brokers")
    else {
        panic!("patchCluster expected");
    };
    assert_eq!(*via, RegionId(1 - lost));
    assert_eq!(
        *request,
        ClusterPatchRequest {
            brokers: Some(ClusterPatchBrokers {
                add: vec![],
                remove: brokers_of(lost),
                count: None,
            }),
            partitions: None,
        }
    );
    assert_eq!(
        *options,
        ChangeOptions {
            force: true,
            dry_run: false
        }
    );
}

#[rstest]
fn failback_re_adds_the_brokers_with_replication_factor_4_and_without_force(
    #[values(0, 1)] lost: u8,
) {
    let plan = shipped_plan(lost);
    let Action::PatchCluster {
        via,
        request,
        options,
    } = action(&plan, "re-add the recreated region's brokers")
    else {
        panic!("patchCluster expected");
    };
    assert_eq!(*via, RegionId(1 - lost));
    assert_eq!(
        *request,
        ClusterPatchRequest {
            brokers: Some(ClusterPatchBrokers {
                add: brokers_of(lost),
                remove: vec![],
                count: None,
            }),
            partitions: Some(ClusterPatchPartitions {
                count: None,
                replication_factor: Some(4),
            }),
        }
    );
    assert_eq!(
        *options,
        ChangeOptions {
            force: false,
            dry_run: false
        }
    );
}

#[rstest]
fn exporters_resolve_to_the_region_ids(#[values(0, 1)] lost: u8) {
    let plan = shipped_plan(lost);
    let lost_id = format!("camundaregion{lost}");
    let surviving_id = format!("camundaregion{}", 1 - lost);
    assert_eq!(plan.exporter_ids, ["camundaregion0", "camundaregion1"]);
    assert_eq!(plan.exporter_of(RegionId(lost)), lost_id);

    let Action::DisableExporter { via, exporter } =
        action(&plan, "disable the lost region's exporter")
    else {
        panic!("disableExporter expected");
    };
    assert_eq!(
        (*via, exporter.as_str()),
        (RegionId(1 - lost), lost_id.as_str())
    );

    let Action::EnableExporter {
        via,
        exporter,
        initialize_from,
    } = action(
        &plan,
        "enable the recreated region's exporter from the surviving one",
    )
    else {
        panic!("enableExporter expected");
    };
    assert_eq!(*via, RegionId(1 - lost));
    assert_eq!(exporter, &lost_id);
    assert_eq!(initialize_from.as_deref(), Some(surviving_id.as_str()));

    let statuses = |name: &str| -> BTreeMap<String, String> {
        step(&plan, name)
            .expectations
            .iter()
            .find_map(|e| match e {
                Expectation::Exporters { status, .. } => Some(status.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("`{name}` has an exporters expectation"))
    };
    let map = |pairs: [(&str, &str); 2]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert_eq!(
        statuses("disable the lost region's exporter"),
        map([(&lost_id, "DISABLED"), (&surviving_id, "ENABLED")])
    );
    assert_eq!(
        statuses("dual-region cluster is healthy"),
        map([(&lost_id, "ENABLED"), (&surviving_id, "ENABLED")])
    );
}

#[rstest]
fn every_via_defaults_to_the_surviving_region(#[values(0, 1)] lost: u8) {
    // The shipped scenario never names a gateway: every management and REST call goes through
    // the surviving region, as the procedure does.
    let plan = shipped_plan(lost);
    let surviving = RegionId(1 - lost);
    let mut vias = 0;
    for (_, step) in plan.steps() {
        let action_via = match &step.action {
            Some(
                Action::PatchCluster { via, .. }
                | Action::DisableExporter { via, .. }
                | Action::EnableExporter { via, .. }
                | Action::Exporting { via, .. }
                | Action::DeployProcess { via, .. },
            ) => Some(*via),
            Some(Action::CreateInstances(c)) => Some(c.via),
            _ => None,
        };
        let expectation_vias = step.expectations.iter().filter_map(|e| match e {
            Expectation::Topology { via, .. }
            | Expectation::Change { via, .. }
            | Expectation::Cluster { via, .. }
            | Expectation::Exporters { via, .. } => Some(*via),
            _ => None,
        });
        for via in action_via.into_iter().chain(expectation_vias) {
            assert_eq!(via, surviving, "step {} `{}`", step.id, step.name);
            vias += 1;
        }
    }
    assert!(vias > 20, "only {vias} gateway references checked");
}

#[rstest]
fn regions_brokers_and_leaders_resolve_for_the_lost_region(#[values(0, 1)] lost: u8) {
    let plan = shipped_plan(lost);
    let (lost_r, surviving) = (RegionId(lost), RegionId(1 - lost));
    assert_eq!(
        (plan.lost_region, plan.surviving_region),
        (lost_r, surviving)
    );

    let Action::LoseRegion { region, mode } = action(&plan, "cut the lost region off") else {
        panic!("loseRegion expected");
    };
    assert_eq!((*region, *mode), (lost_r, LossMode::CutOff));
    let loss = step(&plan, "cut the lost region off");
    let Some(Expectation::Topology {
        brokers, leaders, ..
    }) = loss
        .expectations
        .iter()
        .find(|e| matches!(e, Expectation::Topology { .. }))
    else {
        panic!("topology expected");
    };
    assert!(
        loss.expectations.iter().any(|e| matches!(
            e,
            Expectation::Isolated { from, to } if (*from, *to) == (surviving, lost_r)
        )),
        "the loss step proves the surviving region cannot reach the lost one"
    );
    assert_eq!(brokers.as_deref(), Some(&brokers_of(1 - lost)[..]));
    assert_eq!(*leaders, Some(Leaders::None));

    let Expectation::Topology {
        leaders,
        replication_factor,
        cluster_size,
        ..
    } = &step(&plan, "remove the lost brokers").expectations[1]
    else {
        panic!("topology expected");
    };
    assert_eq!(*leaders, Some(Leaders::In(surviving)));
    assert_eq!((*cluster_size, *replication_factor), (Some(4), Some(2)));
    let Expectation::Cluster {
        members,
        placement_equals,
        placement_of,
        ..
    } = &step(&plan, "remove the lost brokers").expectations[2]
    else {
        panic!("cluster expected");
    };
    assert_eq!(members.as_deref(), Some(&brokers_of(1 - lost)[..]));
    assert_eq!(placement_equals.as_deref(), Some("original"));
    assert_eq!(placement_of.as_deref(), Some(&brokers_of(1 - lost)[..]));

    let deploy = "deploy the recreated region without web apps and without schema creation";
    let Action::Deploy { region, overrides } = action(&plan, deploy) else {
        panic!("deploy expected");
    };
    assert_eq!(*region, lost_r);
    assert_eq!(overrides.values.len(), 2);
    assert_eq!(
        overrides.env["CAMUNDA_DATABASE_SCHEMAMANAGER_CREATESCHEMA"],
        "false"
    );
    let Expectation::Topology {
        brokers,
        idle_brokers,
        ..
    } = &step(&plan, deploy).expectations[0]
    else {
        panic!("topology expected");
    };
    assert_eq!(brokers.as_deref(), Some(&[0, 1, 2, 3, 4, 5, 6, 7][..]));
    assert_eq!(idle_brokers.as_deref(), Some(&brokers_of(lost)[..]));

    let Action::RestoreSnapshot {
        region,
        repository,
        snapshot,
    } = action(&plan, "restore the snapshot in the recreated region")
    else {
        panic!("restoreSnapshot expected");
    };
    assert_eq!(
        (*region, repository.as_str(), snapshot.as_str()),
        (lost_r, "camunda_backup", "failback")
    );
    let Action::CreateSnapshot { region, .. } =
        action(&plan, "snapshot the surviving Elasticsearch")
    else {
        panic!("createSnapshot expected");
    };
    assert_eq!(*region, surviving);
}

#[test]
fn the_backup_repository_and_the_probe_process_are_resolved() {
    let plan = shipped_plan(1);
    let backup = plan
        .backup
        .as_ref()
        .expect("the scenario has a backup repository");
    assert_eq!(backup.name, "camunda_backup");
    assert_eq!(
        backup.kind,
        RepositoryKind::S3 {
            bucket: "c8dr-elastic-backup".into(),
            base_path: "backups".into(),
            client: "camunda".into()
        }
    );
    let Action::DeployProcess {
        resource_name,
        process_id,
        content,
        ..
    } = action(&plan, "deploy the probe process")
    else {
        panic!("deployProcess expected");
    };
    assert_eq!(resource_name, "c8dr-probe.bpmn");
    assert_eq!(process_id, "c8dr-probe");
    let on_disk =
        std::fs::read(crate::support::crate_dir().join("../../fixtures/bpmn/c8dr-probe.bpmn"))
            .expect("fixture");
    assert_eq!(content, &on_disk);
    // Every createInstances without a processId starts the deployed process.
    let creations: Vec<&str> = plan
        .steps()
        .filter_map(|(_, s)| match &s.action {
            Some(Action::CreateInstances(c)) => Some(c.process_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(creations.len(), 6);
    assert!(
        creations.iter().all(|p| *p == "c8dr-probe"),
        "{creations:?}"
    );
}

#[test]
fn step_ids_and_lines_point_back_into_the_file() {
    let plan = shipped_plan(1);
    let text = std::fs::read_to_string(crate::support::shipped_path()).expect("readable");
    let ids: Vec<&str> = plan.steps().map(|(_, s)| s.id.as_str()).collect();
    assert_eq!(&ids[..4], ["1.1", "1.2", "1.3", "2.1"]);
    assert_eq!(ids.last(), Some(&"5.3"));
    for (_, step) in plan.steps() {
        let line = text
            .lines()
            .nth(step.line as usize - 1)
            .expect("line exists");
        assert!(
            line.contains(&format!("name: {}", step.name)),
            "step {} line {}: {line}",
            step.id,
            step.line
        );
    }
}

#[test]
fn step_timeouts_default_by_action_kind() {
    let minutes = |m: u64| Duration::from_secs(m * 60);
    let plan = shipped_plan(1);
    let expected = [
        ("dual-region cluster is healthy", minutes(5)), // no action: spec.defaults.timeout
        ("deploy the probe process", minutes(2)),
        ("instances are exported to both regions", minutes(5)),
        ("cut the lost region off", minutes(2)),
        ("remove the lost brokers", minutes(10)),
        ("disable the lost region's exporter", minutes(5)),
        ("the lost region is recreated empty", minutes(5)),
        ("turn off the web apps in the surviving region", minutes(15)),
        ("pause exporting", minutes(2)),
        (
            "register the backup repository in the surviving region",
            minutes(2),
        ),
        ("snapshot the surviving Elasticsearch", minutes(30)),
        ("restore the snapshot in the recreated region", minutes(30)),
        (
            "enable the recreated region's exporter from the surviving one",
            minutes(5),
        ),
        ("resume exporting", minutes(2)),
        ("re-add the recreated region's brokers", minutes(10)),
    ];
    for (name, timeout) in expected {
        assert_eq!(step(&plan, name).timeout, timeout, "{name}");
    }
    assert_eq!(
        step(&plan, "processing resumes but exporting is stalled").hold_for,
        Some(Duration::from_secs(10))
    );
    assert_eq!(plan.poll_interval, Duration::from_secs(1));
}

#[test]
fn explicit_and_default_timeouts_of_a_small_scenario() {
    let source = data_source(&data_dir().join("valid/every_action.yaml")).expect("readable");
    let plan =
        load(&source, &PlanOptions::default()).unwrap_or_else(|e| panic!("{:#?}", lines(&e)));
    let secs = Duration::from_secs;
    let timeouts: Vec<(&str, Duration)> = plan
        .steps()
        .map(|(_, s)| (s.name.as_str(), s.timeout))
        .collect();
    assert_eq!(
        timeouts,
        [
            ("lose", secs(120)),
            ("heal", secs(120)),
            ("recreate", secs(300)),
            ("deploy", secs(900)),
            ("patch", secs(90)), // explicit `timeout: 90s` wins over the kind's 10m
            ("disable", secs(300)),
            ("enable", secs(300)),
            ("pause", secs(120)),
            ("resume", secs(120)),
            ("register", secs(120)),
            ("snapshot", secs(1800)),
            ("restore", secs(1800)),
            ("create", secs(300)),
            ("compare", secs(120)), // no action: `defaults.timeout: 2m`
        ]
    );
    assert_eq!(plan.poll_interval, Duration::from_millis(500));
    // lostRegion: 0 in the file; exporterIdPattern applies.
    assert_eq!(plan.lost_region, RegionId(0));
    assert_eq!(
        plan.exporter_ids,
        ["elasticsearchregion0", "elasticsearchregion1"]
    );
    let Action::Exporting { operation, via } = action(&plan, "pause") else {
        panic!("exporting")
    };
    assert_eq!(
        (*operation, *via),
        (ExportingOperation::SoftPause, RegionId(1))
    );
    let Action::PatchCluster {
        options,
        request,
        via,
    } = action(&plan, "patch")
    else {
        panic!("patch")
    };
    assert_eq!(
        *options,
        ChangeOptions {
            force: true,
            dry_run: true
        }
    );
    assert_eq!(
        request.brokers.as_ref().map(|b| b.remove.clone()),
        Some(vec![0, 2])
    );
    assert_eq!(*via, RegionId(1));
}

#[test]
fn the_plan_for_lost_region_1() {
    insta::assert_json_snapshot!(shipped_plan(1));
}

/// `c8dr plan --json` prints this: every field name is camelCase, like the scenario file and the
/// report (maps keyed by data, such as Helm values, env and exporter ids, are not field names).
#[test]
fn the_plan_json_uses_camel_case_field_names_throughout() {
    fn walk(value: &serde_json::Value, path: &str, bad: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                let data_keyed = ["values", "env", "status"]
                    .iter()
                    .any(|k| path.ends_with(&format!(".{k}")));
                for (key, child) in map {
                    let camel = key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                        && key.chars().all(|c| c.is_ascii_alphanumeric());
                    if !data_keyed && !camel {
                        bad.push(format!("{path}.{key}"));
                    }
                    walk(child, &format!("{path}.{key}"), bad);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), bad);
                }
            }
            _ => {}
        }
    }
    for plan in [shipped_plan(0), shipped_plan(1)] {
        let json = serde_json::to_value(&plan).expect("serializable");
        let mut bad = Vec::new();
        walk(&json, "", &mut bad);
        assert!(
            bad.is_empty(),
            "field names that are not camelCase: {bad:#?}"
        );
    }
    let source = data_source(&data_dir().join("valid/every_action.yaml")).expect("readable");
    let plan =
        load(&source, &PlanOptions::default()).unwrap_or_else(|e| panic!("{:#?}", lines(&e)));
    let mut bad = Vec::new();
    walk(
        &serde_json::to_value(&plan).expect("serializable"),
        "",
        &mut bad,
    );
    assert!(
        bad.is_empty(),
        "field names that are not camelCase: {bad:#?}"
    );
}
