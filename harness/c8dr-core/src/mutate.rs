//! Procedure mutation testing: derive mutants of a plan's procedure (a step dropped, two steps
//! swapped, a step aimed at the wrong region, a setting forgotten, the known wrong variants of
//! the published page) so that `c8dr mutate` can show that the drill catches each one, or say
//! why a surviving one is harmless.
//!
//! Only procedure steps are mutated: steps of the `failover` and `failback` phases whose action
//! is not the drill's own probing (`createInstances`, `deployProcess`).

use serde::Serialize;

use crate::camunda::ClusterPatchPartitions;
use crate::plan::{Action, Phase, Plan, Step};
use crate::region::RegionId;

/// What kind of change a mutant makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MutantKind {
    /// A procedure step is left out.
    DropStep,
    /// Two adjacent procedure steps run in the other order.
    SwapAdjacentSteps,
    /// A step acts on the other region (its region, brokers or exporter).
    WrongRegion,
    /// One `--set` value or `orchestration.env` entry of a deploy is forgotten.
    DropOverride,
    /// The broker re-add is sent with `force=true`, as the procedure page shows.
    ForceOnReAdd,
    /// The exporter is enabled without `initializeFrom`.
    NoInitializeFrom,
    /// The brokers are re-added without `replicationFactor`.
    NoReplicationFactor,
}

/// One mutant of the procedure.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mutant {
    /// `m01`, `m02`, ...
    pub id: String,
    /// Kind of change.
    pub kind: MutantKind,
    /// What changed, in words.
    pub description: String,
    /// The step it changes (the first one, for swaps).
    pub step_id: String,
    /// Why the scenario says this mutant is harmless, if it does.
    pub harmless: Option<String>,
    /// The mutated plan.
    #[serde(skip)]
    pub plan: Plan,
}

/// Whether a step is a procedure step that mutation testing changes.
fn is_procedure_step(phase: Option<Phase>, step: &Step) -> bool {
    matches!(phase, Some(Phase::Failover | Phase::Failback))
        && step.action.as_ref().is_some_and(|a| {
            !matches!(
                a,
                Action::CreateInstances(_)
                    | Action::DeployProcess { .. }
                    | Action::CompleteInstances { .. }
            )
        })
}

/// Positions (stage index, step index) of the procedure steps, in order.
fn procedure_positions(plan: &Plan) -> Vec<(usize, usize)> {
    plan.stages
        .iter()
        .enumerate()
        .flat_map(|(si, stage)| {
            stage
                .steps
                .iter()
                .enumerate()
                .filter(|(_, step)| is_procedure_step(stage.phase, step))
                .map(move |(pi, _)| (si, pi))
        })
        .collect()
}

fn other(plan: &Plan, region: RegionId) -> RegionId {
    if region == plan.lost_region {
        plan.surviving_region
    } else {
        plan.lost_region
    }
}

fn flip_brokers(plan: &Plan, brokers: &[u32]) -> Option<Vec<u32>> {
    plan.layout
        .region_ids()
        .find(|r| plan.layout.brokers_of(*r) == brokers)
        .map(|r| plan.layout.brokers_of(other(plan, r)))
}

fn flip_exporter(plan: &Plan, exporter: &str) -> Option<String> {
    plan.exporter_ids
        .iter()
        .position(|id| id == exporter)
        .and_then(|index| u8::try_from(index).ok())
        .map(|index| plan.exporter_of(other(plan, RegionId(index))).to_owned())
}

/// The action aimed at the other region, when it names one.
fn wrong_region(plan: &Plan, action: &Action) -> Option<Action> {
    let mut flipped = action.clone();
    match &mut flipped {
        Action::LoseRegion { region, .. }
        | Action::HealRegion { region }
        | Action::RecreateRegion { region }
        | Action::Deploy { region, .. }
        | Action::RegisterRepository { region, .. }
        | Action::CreateSnapshot { region, .. }
        | Action::RestoreSnapshot { region, .. } => *region = other(plan, *region),
        Action::PatchCluster { request, .. } => {
            let brokers = request.brokers.as_mut()?;
            let mut changed = false;
            for set in [&mut brokers.add, &mut brokers.remove] {
                if !set.is_empty() {
                    *set = flip_brokers(plan, set)?;
                    changed = true;
                }
            }
            if !changed {
                return None;
            }
        }
        Action::DisableExporter { exporter, .. } => *exporter = flip_exporter(plan, exporter)?,
        Action::EnableExporter {
            exporter,
            initialize_from,
            ..
        } => {
            *exporter = flip_exporter(plan, exporter)?;
            if let Some(from) = initialize_from {
                *from = flip_exporter(plan, from)?;
            }
        }
        Action::Exporting { .. }
        | Action::DeployProcess { .. }
        | Action::CreateInstances(_)
        | Action::CompleteInstances { .. } => {
            return None;
        }
    }
    Some(flipped)
}

/// Every mutant of a plan's procedure, in procedure order.
#[must_use]
pub fn mutants(plan: &Plan) -> Vec<Mutant> {
    let positions = procedure_positions(plan);
    let mut out: Vec<(MutantKind, String, String, Option<String>, Plan)> = Vec::new();
    let step = |(si, pi): (usize, usize)| &plan.stages[si].steps[pi];
    let label = |s: &Step| format!("{} `{}`", s.id, s.name);

    for (index, &position) in positions.iter().enumerate() {
        let original = step(position);
        let Some(action) = &original.action else {
            continue;
        };
        // Drop the step.
        let mut dropped = plan.clone();
        dropped.stages[position.0].steps.remove(position.1);
        out.push((
            MutantKind::DropStep,
            format!("drop {} ({})", label(original), action.summary()),
            original.id.clone(),
            original.harmless_mutants.drop.clone(),
            dropped,
        ));
        // Swap with the next procedure step of the same stage.
        if let Some(&next) = positions.get(index + 1)
            && next.0 == position.0
        {
            let mut swapped = plan.clone();
            swapped.stages[position.0].steps.swap(position.1, next.1);
            out.push((
                MutantKind::SwapAdjacentSteps,
                format!("run {} after {}", label(original), label(step(next))),
                original.id.clone(),
                original.harmless_mutants.swap_with_next.clone(),
                swapped,
            ));
        }
        // Aim at the other region.
        if let Some(flipped) = wrong_region(plan, action) {
            let description = format!(
                "{}: {} instead of {}",
                label(original),
                flipped.summary(),
                action.summary()
            );
            let mut wrong = plan.clone();
            wrong.stages[position.0].steps[position.1].action = Some(flipped);
            out.push((
                MutantKind::WrongRegion,
                description,
                original.id.clone(),
                original.harmless_mutants.wrong_region.clone(),
                wrong,
            ));
        }
        // Forget one setting of a deploy.
        if let Action::Deploy { overrides, .. } = action {
            let forgotten = overrides
                .values
                .keys()
                .map(|k| (true, k.clone()))
                .chain(overrides.env.keys().map(|k| (false, k.clone())));
            for (is_value, key) in forgotten {
                let mut forgot = plan.clone();
                if let Some(Action::Deploy { overrides, .. }) =
                    &mut forgot.stages[position.0].steps[position.1].action
                {
                    if is_value {
                        overrides.values.remove(&key);
                    } else {
                        overrides.env.remove(&key);
                    }
                }
                let what = if is_value {
                    format!("--set {key}")
                } else {
                    format!("env {key}")
                };
                out.push((
                    MutantKind::DropOverride,
                    format!("{} without {what}", label(original)),
                    original.id.clone(),
                    None,
                    forgot,
                ));
            }
        }
        // The known wrong variants.
        match action {
            Action::PatchCluster {
                request, options, ..
            } if request.brokers.as_ref().is_some_and(|b| !b.add.is_empty()) => {
                if !options.force {
                    let mut forced = plan.clone();
                    if let Some(Action::PatchCluster { options, .. }) =
                        &mut forced.stages[position.0].steps[position.1].action
                    {
                        options.force = true;
                    }
                    out.push((
                        MutantKind::ForceOnReAdd,
                        format!(
                            "{} with force=true, as the procedure page shows",
                            label(original)
                        ),
                        original.id.clone(),
                        None,
                        forced,
                    ));
                }
                if request
                    .partitions
                    .as_ref()
                    .is_some_and(|p| p.replication_factor.is_some())
                {
                    let mut without = plan.clone();
                    if let Some(Action::PatchCluster { request, .. }) =
                        &mut without.stages[position.0].steps[position.1].action
                    {
                        request.partitions = request
                            .partitions
                            .take()
                            .map(|p| ClusterPatchPartitions {
                                replication_factor: None,
                                ..p
                            })
                            .filter(|p| p.count.is_some());
                    }
                    out.push((
                        MutantKind::NoReplicationFactor,
                        format!("{} without replicationFactor", label(original)),
                        original.id.clone(),
                        None,
                        without,
                    ));
                }
            }
            Action::EnableExporter {
                initialize_from: Some(_),
                ..
            } => {
                let mut without = plan.clone();
                if let Some(Action::EnableExporter {
                    initialize_from, ..
                }) = &mut without.stages[position.0].steps[position.1].action
                {
                    *initialize_from = None;
                }
                out.push((
                    MutantKind::NoInitializeFrom,
                    format!("{} without initializeFrom", label(original)),
                    original.id.clone(),
                    None,
                    without,
                ));
            }
            _ => {}
        }
    }
    out.into_iter()
        .enumerate()
        .map(|(i, (kind, description, step_id, harmless, plan))| Mutant {
            id: format!("m{:02}", i + 1),
            kind,
            description,
            step_id,
            harmless,
            plan,
        })
        .collect()
}
