//! Procedure mutation testing: derive mutants of a plan's procedure (a step dropped, two steps
//! swapped, a step aimed at the wrong region or sent through the other region's gateway, a
//! setting forgotten, the known wrong variants of the published page) so that `c8dr mutate` can
//! show that the drill catches each one, or say why a surviving one is harmless.
//!
//! Only procedure steps are mutated: steps of the `failover` and `failback` phases whose action
//! is not the drill's own probing (`createInstances`, `deployProcess`). Drops and forgotten
//! settings that amount to a known way of losing data are labelled from what the plan says, never
//! from step numbers: a dropped pause before a snapshot is "snapshot without pausing exporting",
//! a dropped switch-off of the web apps of the region whose Elasticsearch is snapshotted is "web
//! apps left on during the backup", a forgotten schema-creation switch-off is "schema creation
//! left on".

use serde::Serialize;

use crate::camunda::{ClusterPatchPartitions, ExportingOperation, ScalarValue};
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
    /// A request that goes through a region's gateway (`via`) is sent to the other region's.
    WrongGateway,
    /// One `--set` value or `orchestration.env` entry of a deploy is forgotten.
    DropOverride,
    /// The pause of exporting before a snapshot is left out: the snapshot is taken while
    /// exporting runs.
    SnapshotWithoutPausing,
    /// The web apps of the region whose Elasticsearch is snapshotted are not turned off (the
    /// step, or one of its web-app settings, is left out): they keep writing during the backup.
    WebAppsLeftOn,
    /// The setting that turns schema creation off in a deploy is forgotten.
    SchemaCreationLeftOn,
    /// The broker re-add is sent with `force=true`, as the procedure page shows.
    ForceOnReAdd,
    /// The exporter is enabled without `initializeFrom`.
    NoInitializeFrom,
    /// The brokers are re-added without `replicationFactor`.
    NoReplicationFactor,
}

impl MutantKind {
    /// The kind in words, for tables.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            MutantKind::DropStep => "step dropped",
            MutantKind::SwapAdjacentSteps => "adjacent steps swapped",
            MutantKind::WrongRegion => "wrong region",
            MutantKind::WrongGateway => "wrong gateway region",
            MutantKind::DropOverride => "deploy setting forgotten",
            MutantKind::SnapshotWithoutPausing => "snapshot without pausing exporting",
            MutantKind::WebAppsLeftOn => "web apps left on during the backup",
            MutantKind::SchemaCreationLeftOn => "schema creation left on",
            MutantKind::ForceOnReAdd => "force=true on the re-add",
            MutantKind::NoInitializeFrom => "no initializeFrom",
            MutantKind::NoReplicationFactor => "re-add without replicationFactor",
        }
    }
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
    /// Position, in the mutated plan's step order, of the first step the mutation affects: the
    /// changed step, the earlier of two swapped steps, or for a dropped step the one that now
    /// runs in its place. Every step before it is the same as in the unmutated plan.
    pub first_affected: usize,
    /// Why the scenario says this mutant is harmless, if it does.
    pub harmless: Option<String>,
    /// The mutated plan.
    #[serde(skip)]
    pub plan: Plan,
}

impl Mutant {
    /// Whether a failure at `step_id` (a step of the mutated plan) comes at or after the first
    /// step the mutation affects, so that the mutation can be its cause. A failure before it
    /// happened on steps identical to those of the unmutated drill, which passes: it is not the
    /// mutation's doing. `false` for an id the plan does not have.
    #[must_use]
    pub fn affects(&self, step_id: &str) -> bool {
        self.plan
            .steps()
            .position(|(_, step)| step.id == step_id)
            .is_some_and(|index| index >= self.first_affected)
    }
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

/// The action sent through the other region's gateway, when it goes through one.
fn wrong_gateway(plan: &Plan, action: &Action) -> Option<Action> {
    let mut flipped = action.clone();
    match &mut flipped {
        Action::PatchCluster { via, .. }
        | Action::DisableExporter { via, .. }
        | Action::EnableExporter { via, .. }
        | Action::Exporting { via, .. } => *via = other(plan, *via),
        _ => return None,
    }
    Some(flipped)
}

fn is_false(value: &str) -> bool {
    value.eq_ignore_ascii_case("false")
}

/// A Helm value that turns Operate or Tasklist off (`...profiles.operate: false`).
fn turns_web_app_off(key: &str, value: &ScalarValue) -> bool {
    let app = key.rsplit('.').next().unwrap_or_default();
    key.contains("profiles.")
        && matches!(app, "operate" | "tasklist")
        && match value {
            ScalarValue::Bool(b) => !b,
            ScalarValue::String(s) => is_false(s),
            ScalarValue::Int(_) | ScalarValue::Float(_) => false,
        }
}

/// A Helm value or environment variable that turns schema creation off
/// (`CAMUNDA_DATABASE_SCHEMAMANAGER_CREATESCHEMA: "false"`, `...createSchema: false`).
fn turns_schema_creation_off(key: &str, value: &str) -> bool {
    let key: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    key.ends_with("createschema") && is_false(value)
}

/// What the plan says about its backups, by step position (in plan order).
struct Backups {
    /// Snapshots taken: position and whose Elasticsearch.
    snapshots: Vec<(usize, RegionId)>,
    /// Positions of the steps that resume exporting.
    resumes: Vec<usize>,
}

impl Backups {
    fn of(plan: &Plan) -> Self {
        let mut snapshots = Vec::new();
        let mut resumes = Vec::new();
        for (index, (_, step)) in plan.steps().enumerate() {
            match &step.action {
                Some(Action::CreateSnapshot { region, .. }) => snapshots.push((index, *region)),
                Some(Action::Exporting {
                    operation: ExportingOperation::Resume,
                    ..
                }) => resumes.push(index),
                _ => {}
            }
        }
        Self { snapshots, resumes }
    }

    /// Whether a pause at `index` holds exporting still for a later snapshot (no resume between).
    fn pause_covers_a_snapshot(&self, index: usize) -> bool {
        self.snapshots.iter().any(|(snapshot, _)| {
            *snapshot > index && !self.resumes.iter().any(|r| (index..*snapshot).contains(r))
        })
    }

    /// Whether a later step snapshots `region`'s Elasticsearch.
    fn snapshot_of_after(&self, region: RegionId, index: usize) -> bool {
        self.snapshots
            .iter()
            .any(|(snapshot, r)| *snapshot > index && *r == region)
    }
}

/// One mutant before it is numbered.
struct Draft {
    kind: MutantKind,
    description: String,
    step_id: String,
    first_affected: usize,
    harmless: Option<String>,
    plan: Plan,
}

/// Every mutant of a plan's procedure, in procedure order.
#[must_use]
#[expect(
    clippy::too_many_lines,
    reason = "one block per mutant kind, in the order the table lists them"
)]
pub fn mutants(plan: &Plan) -> Vec<Mutant> {
    let positions = procedure_positions(plan);
    let backups = Backups::of(plan);
    let mut out: Vec<Draft> = Vec::new();
    let step = |(si, pi): (usize, usize)| &plan.stages[si].steps[pi];
    let label = |s: &Step| format!("{} `{}`", s.id, s.name);
    // Position of a step in plan order; unchanged by any mutation of a later step.
    let flat = |(si, pi): (usize, usize)| {
        plan.stages[..si]
            .iter()
            .map(|stage| stage.steps.len())
            .sum::<usize>()
            + pi
    };

    for (index, &position) in positions.iter().enumerate() {
        let original = step(position);
        let Some(action) = &original.action else {
            continue;
        };
        let at = flat(position);
        let draft = |kind, description, harmless, plan| Draft {
            kind,
            description,
            step_id: original.id.clone(),
            first_affected: at,
            harmless,
            plan,
        };
        // Drop the step. Some drops are a known way of losing data, named as such.
        let mut dropped = plan.clone();
        dropped.stages[position.0].steps.remove(position.1);
        let dropped_what = format!("drop {} ({})", label(original), action.summary());
        let (kind, description) = match action {
            Action::Exporting {
                operation: ExportingOperation::Pause | ExportingOperation::SoftPause,
                ..
            } if backups.pause_covers_a_snapshot(at) => (
                MutantKind::SnapshotWithoutPausing,
                format!(
                    "{}: {dropped_what}",
                    MutantKind::SnapshotWithoutPausing.label()
                ),
            ),
            Action::Deploy { region, overrides }
                if overrides
                    .values
                    .iter()
                    .any(|(k, v)| turns_web_app_off(k, v))
                    && backups.snapshot_of_after(*region, at) =>
            {
                (
                    MutantKind::WebAppsLeftOn,
                    format!("{}: {dropped_what}", MutantKind::WebAppsLeftOn.label()),
                )
            }
            _ => (MutantKind::DropStep, dropped_what),
        };
        out.push(draft(
            kind,
            description,
            original.harmless_mutants.drop.clone(),
            dropped,
        ));
        // Swap with the next procedure step of the same stage.
        if let Some(&next) = positions.get(index + 1)
            && next.0 == position.0
        {
            let mut swapped = plan.clone();
            swapped.stages[position.0].steps.swap(position.1, next.1);
            out.push(draft(
                MutantKind::SwapAdjacentSteps,
                format!("run {} after {}", label(original), label(step(next))),
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
            out.push(draft(
                MutantKind::WrongRegion,
                description,
                original.harmless_mutants.wrong_region.clone(),
                wrong,
            ));
        }
        // Send it through the other region's gateway.
        if let Some(flipped) = wrong_gateway(plan, action) {
            let description = format!(
                "{}: {} instead of {}",
                label(original),
                flipped.summary(),
                action.summary()
            );
            let mut wrong = plan.clone();
            wrong.stages[position.0].steps[position.1].action = Some(flipped);
            out.push(draft(
                MutantKind::WrongGateway,
                description,
                original.harmless_mutants.wrong_gateway.clone(),
                wrong,
            ));
        }
        // Forget one setting of a deploy.
        if let Action::Deploy { region, overrides } = action {
            let before_backup = backups.snapshot_of_after(*region, at);
            let forgotten = overrides
                .values
                .iter()
                .map(|(k, v)| {
                    let kind = if turns_schema_creation_off(k, &v.to_string()) {
                        MutantKind::SchemaCreationLeftOn
                    } else if turns_web_app_off(k, v) && before_backup {
                        MutantKind::WebAppsLeftOn
                    } else {
                        MutantKind::DropOverride
                    };
                    (true, k.clone(), kind)
                })
                .chain(overrides.env.iter().map(|(k, v)| {
                    let kind = if turns_schema_creation_off(k, v) {
                        MutantKind::SchemaCreationLeftOn
                    } else {
                        MutantKind::DropOverride
                    };
                    (false, k.clone(), kind)
                }));
            for (is_value, key, kind) in forgotten {
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
                let description = format!("{} without {what}", label(original));
                let description = if kind == MutantKind::DropOverride {
                    description
                } else {
                    format!("{}: {description}", kind.label())
                };
                out.push(draft(kind, description, None, forgot));
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
                    out.push(draft(
                        MutantKind::ForceOnReAdd,
                        format!(
                            "{} with force=true, as the procedure page shows",
                            label(original)
                        ),
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
                    out.push(draft(
                        MutantKind::NoReplicationFactor,
                        format!("{} without replicationFactor", label(original)),
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
                out.push(draft(
                    MutantKind::NoInitializeFrom,
                    format!("{} without initializeFrom", label(original)),
                    None,
                    without,
                ));
            }
            _ => {}
        }
    }
    out.into_iter()
        .enumerate()
        .map(|(i, d)| Mutant {
            id: format!("m{:02}", i + 1),
            kind: d.kind,
            description: d.description,
            step_id: d.step_id,
            first_affected: d.first_affected,
            harmless: d.harmless,
            plan: d.plan,
        })
        .collect()
}
