//! What `c8dr plan --backend kind` prints for the platform side, from the same builders the
//! backend runs.

use c8dr_core::camunda::RepositoryKind;
use c8dr_core::plan::{Action, Expectation, Plan};
use c8dr_core::region::RegionId;
use c8dr_core::render::{CommandTarget, RegionAccess, TargetKind};

use crate::artifacts::{BASE_VALUES_13X, DrillShape, SnapshotEndpoint};
use crate::commands;
use crate::config::{KindConfig, LossRealisation, SHARED_SNAPSHOT_MOUNT, SnapshotStore};
use crate::ops::{self, AppliedFault, Facts, Operation};

/// The loss of `region` that precedes `action` in the plan (the last one before it), with its
/// realisation.
fn preceding_loss(
    config: &KindConfig,
    plan: &Plan,
    action: &Action,
    region: RegionId,
) -> Option<LossRealisation> {
    let mut found = None;
    for (_, step) in plan.steps() {
        let Some(current) = &step.action else {
            continue;
        };
        if std::ptr::eq(current, action) {
            return found;
        }
        match current {
            Action::LoseRegion { region: r, mode } if *r == region => {
                found = Some(config.realisation(*mode));
            }
            Action::HealRegion { region: r } | Action::RecreateRegion { region: r }
                if *r == region =>
            {
                found = None;
            }
            _ => {}
        }
    }
    found
}

fn faults_of(
    config: &KindConfig,
    region: RegionId,
    realisation: Option<LossRealisation>,
) -> Vec<AppliedFault> {
    realisation
        .map(|r| ops::faults_applied_by(&ops::lose_ops(config, region, r)))
        .unwrap_or_default()
}

/// The operations of a platform action (`None` for API actions).
///
/// # Errors
/// When the action is impossible for the loss in force (heal after cluster-delete) or the
/// configuration lacks a region's network.
pub fn platform_operations(
    config: &KindConfig,
    plan: &Plan,
    action: &Action,
) -> Option<Result<Vec<Operation>, crate::error::KindError>> {
    match action {
        Action::LoseRegion { region, mode } => Some(Ok(ops::lose_ops(
            config,
            *region,
            config.realisation(*mode),
        ))),
        Action::HealRegion { region } => {
            let realisation = preceding_loss(config, plan, action, *region);
            Some(ops::heal_ops(
                *region,
                &faults_of(config, *region, realisation),
            ))
        }
        Action::RecreateRegion { region } => {
            let realisation = preceding_loss(config, plan, action, *region);
            let faults = faults_of(config, *region, realisation);
            Some(ops::recreate_ops(config, *region, &faults))
        }
        Action::Deploy { region, overrides } => Some(ops::deploy_ops(
            config,
            &DrillShape::of(plan),
            &base_values_text(config),
            *region,
            overrides,
        )),
        _ => None,
    }
}

/// The exact commands (argv joined, secrets redacted) and Kubernetes calls (as equivalent
/// `kubectl` lines) the kind backend performs for a platform action; `None` for API actions,
/// whose commands come from `c8dr_core::render::action_commands` with [`command_target`].
#[must_use]
pub fn platform_commands(config: &KindConfig, plan: &Plan, action: &Action) -> Option<Vec<String>> {
    let facts = Facts::placeholders(config);
    platform_operations(config, plan, action).map(|result| match result {
        Ok(ops) => ops::render_all(config, &facts, &ops),
        Err(error) => vec![format!("# not possible: {error}")],
    })
}

/// What the kind backend performs to observe an expectation, for the expectations it observes
/// itself (`isolated`: a reachability observation, repeated every poll until it holds); `None`
/// for the others, which go through the Camunda and Elasticsearch APIs or read the release.
#[must_use]
pub fn expectation_commands(config: &KindConfig, expectation: &Expectation) -> Option<Vec<String>> {
    match expectation {
        Expectation::Isolated { from, to } => {
            let mut lines = vec![format!(
                "# expectation isolated: {from} must not reach {to}; polled until it holds, each poll:"
            )];
            lines.extend(ops::render_all(
                config,
                &Facts::placeholders(config),
                &ops::reachability_ops(*from, *to),
            ));
            Some(lines)
        }
        _ => None,
    }
}

/// Everything `c8dr clusters up` and the backend's start do before the first step: clusters,
/// routes, CoreDNS, namespaces, the reachability probe, images, the snapshot store, secrets, the
/// chart repository and both installs.
#[must_use]
pub fn setup_commands(config: &KindConfig) -> Vec<String> {
    setup_commands_for(config, &DrillShape::dual_region_8_8())
}

/// [`setup_commands`] for a given drill shape.
#[must_use]
pub fn setup_commands_for(config: &KindConfig, shape: &DrillShape) -> Vec<String> {
    let facts = Facts::placeholders(config);
    let all: Vec<RegionId> = config.region_ids().collect();
    let base = base_values_text(config);
    let mut ops = Vec::new();
    let result = ops::clusters_up_ops(config, &all).and_then(|up| {
        ops.extend(up);
        ops.extend(ops::store_ops(config, shape));
        ops.extend(ops::values_ops(
            config,
            shape,
            &base,
            &SnapshotEndpoint::placeholder(config),
        )?);
        ops.extend(ops::install_ops(config));
        Ok(())
    });
    let mut lines = ops::render_all(config, &facts, &ops);
    if let Err(error) = result {
        lines.push(format!("# not possible: {error}"));
    }
    lines
}

/// What `c8dr clusters down` does.
#[must_use]
pub fn teardown_commands(config: &KindConfig) -> Vec<String> {
    ops::render_all(
        config,
        &Facts::placeholders(config),
        &ops::clusters_down_ops(config),
    )
}

/// The target for `c8dr_core::render` (API steps): the port-forward commands an operator would
/// use against the kind clusters, with the configured chart, release, contexts and namespaces.
#[must_use]
pub fn command_target(config: &KindConfig) -> CommandTarget {
    CommandTarget {
        kind: TargetKind::Kubernetes {
            chart: config.chart.clone(),
            chart_version: config.chart_version.clone(),
            release: config.release.clone(),
        },
        regions: config
            .region_ids()
            .map(|r| RegionAccess {
                rest: "http://localhost:8080".to_owned(),
                management: "http://localhost:9600".to_owned(),
                elasticsearch: "http://localhost:9200".to_owned(),
                kube_context: config.context(r),
                namespace: config.namespace(r),
                values_files: vec![
                    commands::base_values_path(config).display().to_string(),
                    commands::region_values_path(config, r)
                        .display()
                        .to_string(),
                ],
            })
            .collect(),
    }
}

/// Make a plan fit the configured snapshot store without touching the scenario file: with a
/// shared directory, the scenario's S3 repository becomes an `fs` repository under the mount
/// (same name, so every snapshot step runs unchanged). Returns what was changed, for the report.
pub fn adapt_plan(config: &KindConfig, plan: &mut Plan) -> Vec<String> {
    let SnapshotStore::SharedDirectory(_) = config.snapshot_store else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    let convert = |kind: &mut RepositoryKind| {
        if let RepositoryKind::S3 { base_path, .. } = kind {
            let location = format!("{SHARED_SNAPSHOT_MOUNT}/{}", base_path.trim_matches('/'));
            *kind = RepositoryKind::Fs { location };
            true
        } else {
            false
        }
    };
    if let Some(backup) = plan.backup.as_mut()
        && convert(&mut backup.kind)
    {
        notes.push(format!(
            "snapshot repository {} is an fs repository under {SHARED_SNAPSHOT_MOUNT} (shared directory store) instead of S3",
            backup.name
        ));
    }
    for stage in &mut plan.stages {
        for step in &mut stage.steps {
            if let Some(Action::RegisterRepository { repository, .. }) = step.action.as_mut() {
                convert(&mut repository.kind);
            }
        }
    }
    notes
}

/// The complete listing of a drill on kind: setup, then every step with the commands of its
/// action (platform actions from the backend's builders, API actions through port-forwards as
/// `c8dr_core::render` writes them), then teardown.
#[must_use]
pub fn drill_commands(config: &KindConfig, plan: &Plan) -> Vec<String> {
    let target = command_target(config);
    let mut lines = vec![format!(
        "# {} (Camunda {}) on kind, chart {} {}: lost {}, surviving {}",
        plan.name,
        plan.camunda_version,
        config.chart,
        config.chart_version,
        plan.lost_region,
        plan.surviving_region
    )];
    let mut adapted = plan.clone();
    for note in adapt_plan(config, &mut adapted) {
        lines.push(format!("# {note}"));
    }
    lines.push("## setup (c8dr clusters up, then the backend's start)".to_owned());
    lines.extend(setup_commands_for(config, &DrillShape::of(&adapted)));
    for (stage, step) in adapted.steps() {
        let observed: Vec<String> = step
            .expectations
            .iter()
            .filter_map(|e| expectation_commands(config, e))
            .flatten()
            .collect();
        match &step.action {
            Some(action) => {
                lines.push(format!(
                    "## {} {} / {}: {}",
                    step.id,
                    stage.name,
                    step.name,
                    action.summary()
                ));
                match platform_commands(config, &adapted, action) {
                    Some(platform) => lines.extend(platform),
                    None => lines.extend(c8dr_core::render::action_commands(
                        &adapted, action, &target,
                    )),
                }
            }
            None if observed.is_empty() => continue,
            None => lines.push(format!("## {} {} / {}", step.id, stage.name, step.name)),
        }
        lines.extend(observed);
    }
    lines.push("## teardown (the backend's shutdown, then c8dr clusters down)".to_owned());
    lines.push(
        "# the backend's shutdown removes the reachability probes it created or used, where it did:"
            .to_owned(),
    );
    let regions: Vec<RegionId> = config.region_ids().collect();
    lines.extend(
        ops::render_all(
            config,
            &Facts::placeholders(config),
            &ops::shutdown_ops(config, &regions),
        )
        .into_iter()
        .map(|l| format!("#   {l}")),
    );
    lines.extend(teardown_commands(config));
    lines
}

/// The base values text: the configured file, or the built-in 13.x fixture.
#[must_use]
pub fn base_values_text(config: &KindConfig) -> String {
    config
        .base_values
        .as_ref()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_else(|| BASE_VALUES_13X.to_owned())
}
