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

    // The schema-creation setting of the recreated region's deploy can be forgotten.
    assert!(all.iter().any(|m| {
        m.kind == MutantKind::DropOverride
            && m.description
                .contains("CAMUNDA_DATABASE_SCHEMAMANAGER_CREATESCHEMA")
    }));
    // Pausing exporting and turning the web apps off can each be dropped.
    assert!(
        all.iter()
            .any(|m| m.kind == MutantKind::DropStep && m.description.contains("pause exporting"))
    );
    assert!(all.iter().any(|m| {
        m.kind == MutantKind::DropStep
            && m.description
                .contains("turn off the web apps in the surviving region")
    }));
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
        .find(|m| m.kind == MutantKind::DropStep && m.description.contains("pause exporting"))
        .expect("pause dropped");
    assert_eq!(
        drop_pause.harmless, None,
        "dropping the pause is never harmless"
    );
}
