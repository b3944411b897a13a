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

/// The Services an expectation's API calls go to, aligned with the lines
/// `c8dr_core::render::expectation_commands` prints for it: `Some((region, service, port))`
/// where a line needs a port-forward of its own, `None` where it uses the one before.
fn api_forwards(
    config: &KindConfig,
    expectation: &Expectation,
) -> Vec<Option<(RegionId, String, u16)>> {
    let gateway = |via: RegionId, port| Some((via, config.gateway_service(), port));
    let es = |region: RegionId| Some((region, config.elasticsearch_service(), 9200));
    match expectation {
        Expectation::Topology { via, .. } => vec![gateway(*via, 8080)],
        Expectation::Change { via, .. }
        | Expectation::Cluster { via, .. }
        | Expectation::Exporters { via, .. } => vec![gateway(*via, 9600)],
        Expectation::Snapshot { region, .. }
        | Expectation::Instances { region, .. }
        | Expectation::InstancesCompleted { region } => vec![es(*region)],
        Expectation::Restored {
            region,
            documents_match,
            ..
        } => {
            let mut forwards = vec![es(*region), None];
            forwards.extend(documents_match.map(es));
            forwards
        }
        Expectation::DataContinuity { regions } => regions.iter().map(|r| es(*r)).collect(),
        Expectation::Isolated { .. } | Expectation::WebApps { .. } => Vec::new(),
    }
}

/// What is done to observe an expectation on kind, once per poll, after a `# expect ...` line:
/// - `isolated`: the backend's reachability observation with the probes (`Platform::reachable`);
/// - `webApps`: the backend's release read through kube-rs (`Platform::release`);
/// - every other expectation: the engine's API calls through the backend's port-forwards (as
///   `c8dr_core::render::expectation_commands` writes them for the operator, each preceded by
///   the port-forward it goes through).
#[must_use]
pub fn expectation_commands(
    config: &KindConfig,
    plan: &Plan,
    expectation: &Expectation,
) -> Vec<String> {
    let facts = Facts::placeholders(config);
    let mut lines = vec![format!("# expect {}", expectation.describe())];
    match expectation {
        Expectation::Isolated { from, to } => {
            lines.push(format!(
                "# observed by c8dr with the reachability probes ({from} must not reach {to}):"
            ));
            lines.extend(ops::render_all(
                config,
                &facts,
                &ops::reachability_ops(*from, *to),
            ));
        }
        Expectation::WebApps { region, .. } => {
            lines.push(format!(
                "# read by c8dr through kube-rs from the release's objects in {region}:"
            ));
            lines.extend(ops::render_all(
                config,
                &facts,
                &[Operation::ReadRelease { region: *region }],
            ));
        }
        _ => {
            let target = command_target(config);
            let calls = c8dr_core::render::expectation_commands(plan, expectation, &target);
            let forwards = api_forwards(config, expectation);
            let forward_line = |(region, service, port): &(RegionId, String, u16)| {
                ops::port_forward_line(config, *region, service, *port)
            };
            if forwards.len() == calls.len() {
                for (forward, call) in forwards.iter().zip(calls) {
                    lines.extend(forward.as_ref().map(forward_line));
                    lines.push(call);
                }
            } else {
                // The renderer printed another number of lines: every port-forward first.
                let mut distinct: Vec<&(RegionId, String, u16)> = Vec::new();
                for forward in forwards.iter().flatten() {
                    if !distinct.contains(&forward) {
                        distinct.push(forward);
                    }
                }
                lines.extend(distinct.into_iter().map(forward_line));
                lines.extend(calls);
            }
        }
    }
    lines
}

/// Whether c8dr itself (the backend) observes an expectation, rather than the engine through
/// the Camunda and Elasticsearch APIs.
#[must_use]
pub fn observed_by_backend(expectation: &Expectation) -> bool {
    matches!(
        expectation,
        Expectation::Isolated { .. } | Expectation::WebApps { .. }
    )
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
    setup_commands_split(config, config, shape)
}

/// `c8dr clusters up` with `clusters`, then the backend's start with `config`.
fn setup_commands_split(
    clusters: &KindConfig,
    config: &KindConfig,
    shape: &DrillShape,
) -> Vec<String> {
    let all: Vec<RegionId> = clusters.region_ids().collect();
    let mut lines = Vec::new();
    match ops::clusters_up_ops(clusters, &all) {
        Ok(up) => lines.extend(ops::render_all(
            clusters,
            &Facts::placeholders(clusters),
            &up,
        )),
        Err(error) => {
            lines.push(format!("# not possible: {error}"));
            return lines;
        }
    }
    let base = base_values_text(config);
    let mut ops = ops::store_ops(config, shape);
    let result = ops::values_ops(config, shape, &base, &SnapshotEndpoint::placeholder(config)).map(
        |values| {
            ops.extend(values);
            ops.extend(ops::install_ops(config));
        },
    );
    lines.extend(ops::render_all(config, &Facts::placeholders(config), &ops));
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

/// The complete listing of a drill on kind (clusters and run in the same run directory): see
/// [`drill_commands_with_clusters`].
#[must_use]
pub fn drill_commands(config: &KindConfig, plan: &Plan) -> Vec<String> {
    drill_commands_with_clusters(config, config, plan)
}

fn go_seconds(duration: std::time::Duration) -> String {
    ops::go_duration(duration)
}

/// The complete listing of a drill on kind: `c8dr clusters up` (with `clusters`, whose run
/// directory is where `clusters up` writes), the backend's start (with `config`, the run's
/// configuration: `<report-dir>/kind-run`), the workload and sampler beside the steps, then every
/// step with the commands of its action (platform actions from the backend's builders, API
/// actions through port-forwards as `c8dr_core::render` writes them) and of each expectation,
/// polled until all hold, then teardown.
#[must_use]
pub fn drill_commands_with_clusters(
    config: &KindConfig,
    clusters: &KindConfig,
    plan: &Plan,
) -> Vec<String> {
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
    lines.push(format!(
        "## setup (c8dr clusters up, files in {}; then the backend's start, files in {})",
        clusters.run_dir.display(),
        config.run_dir.display()
    ));
    lines.extend(setup_commands_split(
        clusters,
        config,
        &DrillShape::of(&adapted),
    ));
    lines.extend(background_commands(config, &adapted));
    for (stage, step) in adapted.steps() {
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
            None => lines.push(format!("## {} {} / {}", step.id, stage.name, step.name)),
        }
        if !step.expectations.is_empty() {
            let hold = step.hold_for.map_or_else(String::new, |h| {
                format!(", then keep holding for {}", go_seconds(h))
            });
            lines.push(format!(
                "# expectations, observed together every {} until all hold (step deadline {}){hold}:",
                go_seconds(adapted.poll_interval),
                go_seconds(step.timeout)
            ));
        }
        for expectation in &step.expectations {
            lines.extend(expectation_commands(config, &adapted, expectation));
        }
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
    lines.extend(teardown_commands(clusters));
    lines
}

/// What runs beside the steps for the whole drill (the engine's workload and sampler), through
/// the same port-forwards.
fn background_commands(config: &KindConfig, plan: &Plan) -> Vec<String> {
    let mut lines = vec!["## background (beside the steps, for the whole run)".to_owned()];
    if let Some(workload) = &plan.workload {
        let via = workload.via;
        lines.push(format!(
            "# the workload: the process deployed once, then one instance every {} through {via}'s gateway, every attempt in the ledger:",
            go_seconds(workload.interval)
        ));
        lines.push(ops::port_forward_line(
            config,
            via,
            &config.gateway_service(),
            8080,
        ));
        lines.push(format!(
            "curl -u demo:demo -XPOST 'http://localhost:8080/v2/deployments' -F 'resources=@{}'  # once",
            workload.resource_name
        ));
        lines.push(format!(
            "curl -u demo:demo -XPOST 'http://localhost:8080/v2/process-instances' -H 'Content-Type: application/json' -d '{}'  # every {}",
            serde_json::json!({ "processDefinitionId": workload.process_id }),
            go_seconds(workload.interval)
        ));
    }
    lines.push(format!(
        "# the sampler, every {}, in each region: partition leaders and exported instances, for the report's charts:",
        go_seconds(plan.sample_interval)
    ));
    for region in config.region_ids() {
        lines.push(ops::port_forward_line(
            config,
            region,
            &config.gateway_service(),
            8080,
        ));
        lines.push("curl -u demo:demo -L 'http://localhost:8080/v2/topology' -H 'Accept: application/json'".to_owned());
        lines.push(ops::port_forward_line(
            config,
            region,
            &config.elasticsearch_service(),
            9200,
        ));
        lines.push("curl -XGET 'http://localhost:9200/_cat/indices?format=json'".to_owned());
    }
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
