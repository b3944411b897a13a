//! Mutants of the shipped procedure: which are derived, and what each changes.

use c8dr_core::mutate::{MutantKind, mutants};
use c8dr_core::plan::{Action, Plan};
use rstest::rstest;

use crate::support::shipped_plan;

fn count(all: &[c8dr_core::mutate::Mutant], kind: MutantKind) -> usize {
    all.iter().filter(|m| m.kind == kind).count()
}

fn actions(plan: &Plan) -> Vec<(String, Option<Action>)> {
    plan.steps()
        .map(|(_, s)| (s.name.clone(), s.action.clone()))
        .collect()
}

#[rstest]
fn every_kind_the_issue_names_is_derived(#[values(0, 1)] lost: u8) {
    let plan = shipped_plan(lost);
    let all = mutants(&plan);
    assert!(all.len() >= 15, "{} mutants", all.len());
    for kind in [
        MutantKind::DropStep,
        MutantKind::SwapAdjacentSteps,
        MutantKind::WrongRegion,
        MutantKind::DropOverride,
        MutantKind::ForceOnReAdd,
        MutantKind::NoInitializeFrom,
        MutantKind::NoReplicationFactor,
        MutantKind::WrongGateway,
        MutantKind::SnapshotWithoutPausing,
        MutantKind::WebAppsLeftOn,
        MutantKind::SchemaCreationLeftOn,
    ] {
        assert!(count(&all, kind) >= 1, "no {kind:?} mutant");
    }
    // Ids are unique and in order.
    let ids: Vec<&str> = all.iter().map(|m| m.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(ids, sorted);
}

#[test]
fn only_procedure_steps_are_mutated() {
    let plan = shipped_plan(1);
    for mutant in mutants(&plan) {
        let step = plan
            .steps()
            .find(|(_, s)| s.id == mutant.step_id)
            .map(|(_, s)| s)
            .expect("the mutated step exists");
        assert!(
            !matches!(
                step.action,
                Some(Action::CreateInstances(_) | Action::DeployProcess { .. }) | None
            ),
            "{} mutates a probe step: {}",
            mutant.id,
            mutant.description
        );
        // The mutated plan differs from the original somewhere.
        assert_ne!(
            format!("{:?}", actions(&mutant.plan)),
            format!("{:?}", actions(&plan)),
            "{} changes nothing",
            mutant.id
        );
    }
}

#[test]
fn the_known_wrong_variants_change_exactly_what_they_say() {
    let plan = shipped_plan(1);
    let all = mutants(&plan);
    let find = |kind| {
        all.iter()
            .find(|m| m.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?}"))
    };
    let re_add = |p: &Plan| {
        p.steps()
            .find_map(|(_, s)| match &s.action {
                Some(Action::PatchCluster {
                    request, options, ..
                }) if request.brokers.as_ref().is_some_and(|b| !b.add.is_empty()) => {
                    Some((request.clone(), *options))
                }
                _ => None,
            })
            .expect("a re-add")
    };
    let (request, options) = re_add(&find(MutantKind::ForceOnReAdd).plan);
    assert!(options.force);
    assert_eq!(request.brokers.expect("brokers").add, vec![1, 3, 5, 7]);
    let (request, options) = re_add(&find(MutantKind::NoReplicationFactor).plan);
    assert!(!options.force);
    assert!(request.partitions.is_none());

    let enable = find(MutantKind::NoInitializeFrom)
        .plan
        .steps()
        .find_map(|(_, s)| match &s.action {
            Some(Action::EnableExporter {
                initialize_from, ..
            }) => Some(initialize_from.clone()),
            _ => None,
        });
    assert_eq!(enable, Some(None));

    // The schema-creation setting of the recreated region's deploy can be forgotten, and that
    // mutant is named for what it does.
    let schema = find(MutantKind::SchemaCreationLeftOn);
    assert_eq!(
        schema.description,
        "schema creation left on: 4.2 `deploy the recreated region without web apps and without schema creation` without env CAMUNDA_DATABASE_SCHEMAMANAGER_CREATESCHEMA"
    );
    assert_eq!(count(&all, MutantKind::SchemaCreationLeftOn), 1);
    // Dropping the pause before the snapshot is the snapshot without pausing exporting.
    let no_pause = find(MutantKind::SnapshotWithoutPausing);
    assert_eq!(
        no_pause.description,
        "snapshot without pausing exporting: drop 4.4 `pause exporting` (pause exporting via region0)"
    );
    assert_eq!(count(&all, MutantKind::SnapshotWithoutPausing), 1);
    // The web apps of the snapshotted (surviving) region left on: the step dropped, or either
    // of its two settings forgotten. The recreated region's settings are plain forgotten
    // settings: its Elasticsearch is not the one backed up.
    let web_apps: Vec<&str> = all
        .iter()
        .filter(|m| m.kind == MutantKind::WebAppsLeftOn)
        .map(|m| m.description.as_str())
        .collect();
    assert_eq!(
        web_apps,
        [
            "web apps left on during the backup: drop 4.3 `turn off the web apps in the surviving region` (deploy region0 with orchestration.profiles.operate=false, orchestration.profiles.tasklist=false)",
            "web apps left on during the backup: 4.3 `turn off the web apps in the surviving region` without --set orchestration.profiles.operate",
            "web apps left on during the backup: 4.3 `turn off the web apps in the surviving region` without --set orchestration.profiles.tasklist",
        ]
    );
    assert!(all.iter().all(|m| m.kind != MutantKind::DropStep
        || !(m.description.contains("pause exporting")
            || m.description.contains("turn off the web apps"))));
}

#[test]
fn wrong_region_mutants_aim_at_the_other_region() {
    let plan = shipped_plan(1);
    let all = mutants(&plan);
    let disable = all
        .iter()
        .filter(|m| m.kind == MutantKind::WrongRegion)
        .find_map(|m| {
            m.plan
                .steps()
                .find_map(|(_, s)| match &s.action {
                    Some(Action::DisableExporter { exporter, .. }) => Some(exporter.clone()),
                    _ => None,
                })
                .filter(|e| e == "camundaregion0")
        });
    assert_eq!(disable.as_deref(), Some("camundaregion0"));
    let remove = all
        .iter()
        .filter(|m| m.kind == MutantKind::WrongRegion)
        .find_map(|m| {
            m.plan
                .steps()
                .find_map(|(_, s)| match &s.action {
                    Some(Action::PatchCluster {
                        request, options, ..
                    }) if options.force => request.brokers.as_ref().map(|b| b.remove.clone()),
                    _ => None,
                })
                .filter(|r| r == &vec![0, 2, 4, 6])
        });
    assert_eq!(remove, Some(vec![0, 2, 4, 6]));
}

#[test]
fn harmless_notes_come_from_the_scenario() {
    let plan = shipped_plan(1);
    let all = mutants(&plan);
    let swap_pause = all
        .iter()
        .find(|m| {
            m.kind == MutantKind::SwapAdjacentSteps
                && m.description.starts_with("run 4.4 `pause exporting`")
        })
        .expect("pause swapped with the next step");
    assert!(
        swap_pause
            .harmless
            .as_deref()
            .is_some_and(|h| h.contains("snapshot repository"))
    );
    let drop_pause = all
        .iter()
        .find(|m| m.kind == MutantKind::SnapshotWithoutPausing)
        .expect("pause dropped");
    assert_eq!(
        drop_pause.harmless, None,
        "dropping the pause is never harmless"
    );
}

#[test]
fn wrong_gateway_mutants_change_only_the_gateway() {
    let plan = shipped_plan(1);
    let all = mutants(&plan);
    let gateways: Vec<(&str, String)> = all
        .iter()
        .filter(|m| m.kind == MutantKind::WrongGateway)
        .map(|m| {
            let original = plan
                .steps()
                .find(|(_, s)| s.id == m.step_id)
                .and_then(|(_, s)| s.action.clone())
                .expect("the original action");
            let mutated = m
                .plan
                .steps()
                .find(|(_, s)| s.id == m.step_id)
                .and_then(|(_, s)| s.action.clone())
                .expect("the mutated action");
            // Only `via` differs: region0's gateway became region1's.
            let original = serde_json::to_value(&original).expect("JSON");
            let mut mutated = serde_json::to_value(&mutated).expect("JSON");
            assert_eq!(original["via"], 0, "{}", m.description);
            assert_eq!(mutated["via"], 1, "{}", m.description);
            mutated["via"] = original["via"].clone();
            assert_eq!(original, mutated, "{}", m.description);
            (
                m.step_id.as_str(),
                original["kind"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        gateways,
        [
            ("3.1", "patchCluster".to_owned()),
            ("3.3", "disableExporter".to_owned()),
            ("4.4", "exporting".to_owned()),
            ("4.10", "enableExporter".to_owned()),
            ("4.11", "exporting".to_owned()),
            ("4.12", "patchCluster".to_owned()),
        ]
    );
}

#[test]
fn a_failure_counts_for_a_mutant_only_from_the_first_step_it_changes() {
    let plan = shipped_plan(1);
    let all = mutants(&plan);
    let by = |kind: MutantKind, step: &str| {
        all.iter()
            .find(|m| m.kind == kind && m.step_id == step)
            .unwrap_or_else(|| panic!("no {kind:?} of {step}"))
    };
    // Dropped: the step now in its place (4.5) is the first affected one.
    let no_pause = by(MutantKind::SnapshotWithoutPausing, "4.4");
    assert!(!no_pause.affects("4.3"));
    assert!(!no_pause.affects("1.1"));
    assert!(no_pause.affects("4.5"));
    assert!(no_pause.affects("4.8"));
    assert!(no_pause.affects("5.3"));
    assert!(
        !no_pause.affects("4.4"),
        "the dropped step is not in the mutant's plan"
    );
    // Swapped: from the earlier of the two positions, where the later step now runs.
    let swap = by(MutantKind::SwapAdjacentSteps, "4.6");
    assert!(!swap.affects("4.5"));
    assert!(swap.affects("4.7"), "4.7 now runs where 4.6 did");
    assert!(swap.affects("4.6"));
    // Changed in place: from the step itself.
    let gateway = by(MutantKind::WrongGateway, "3.3");
    assert!(!gateway.affects("3.2"));
    assert!(gateway.affects("3.3"));
    assert!(!gateway.affects("9.9"), "an unknown step");
}

#[test]
fn labelled_kinds_follow_what_the_plan_does_not_step_numbers() {
    // A pause that is resumed before the snapshot does not cover it, and a region whose web
    // apps are turned off but whose Elasticsearch is not snapshotted is not backed up: both
    // drops are plain drops. Schema creation is recognized by its setting, in values too.
    let plan = crate::support::plan(
        "    - name: failback
      phase: failback
      steps:
        - name: web apps off in the lost region
          action:
            deploy:
              region: lost
              values:
                orchestration.profiles.operate: false
                orchestration.data.secondaryStorage.elasticsearch.createSchema: false
        - name: pause
          action:
            pauseExporting: {}
        - name: resume
          action:
            resumeExporting: {}
        - name: snapshot
          action:
            createSnapshot: {region: surviving, snapshot: s1}
        - name: pause again
          action:
            pauseExporting: {}
        - name: snapshot again
          action:
            createSnapshot: {region: lost, snapshot: s2}
",
    );
    let all = mutants(&plan);
    let kind_of = |needle: &str| {
        all.iter()
            .find(|m| m.description.contains(needle))
            .map(|m| m.kind)
            .unwrap_or_else(|| panic!("no mutant mentions {needle}"))
    };
    assert_eq!(kind_of("drop 1.2 `pause`"), MutantKind::DropStep);
    assert_eq!(
        kind_of("drop 1.5 `pause again`"),
        MutantKind::SnapshotWithoutPausing
    );
    // The lost region's Elasticsearch is snapshotted (1.6), so its web apps matter here.
    assert_eq!(
        kind_of("drop 1.1 `web apps off in the lost region`"),
        MutantKind::WebAppsLeftOn
    );
    assert_eq!(
        kind_of("without --set orchestration.data.secondaryStorage.elasticsearch.createSchema"),
        MutantKind::SchemaCreationLeftOn
    );

    let plan = crate::support::plan(
        "    - name: failback
      phase: failback
      steps:
        - name: web apps off in the lost region
          action:
            deploy:
              region: lost
              values:
                orchestration.profiles.operate: false
        - name: snapshot
          action:
            createSnapshot: {region: surviving, snapshot: s1}
",
    );
    let all = mutants(&plan);
    assert!(
        all.iter().all(|m| m.kind != MutantKind::WebAppsLeftOn),
        "only the snapshotted region's web apps write into the backup"
    );
}
