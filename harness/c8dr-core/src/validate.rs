//! Spec → plan: check every rule a scenario must satisfy and resolve every reference for one
//! lost region. Collects every error instead of stopping at the first.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_saphyr::{Location, Spanned};

use crate::camunda::{
    BackupRepository, ChangeOptions, ChangeStatus, ClusterPatchBrokers, ClusterPatchPartitions,
    ClusterPatchRequest, ExportingOperation, ReleaseOverrides, RepositoryKind,
};
use crate::error::{ErrorSink, ScenarioErrors};
use crate::plan::{
    Action, CreateInstances, Expectation, Leaders, Objectives, Plan, Stage, Step, Workload,
};
use crate::region::{ClusterLayout, RegionId};
use crate::source::ScenarioSource;
use crate::spec::{
    API_VERSION, ActionSpec, BrokerSetSpec, ExpectSpec, ExporterRefSpec, KIND, LeadersSpec,
    RegionRefSpec, ScenarioFile,
};

/// Choices made on the command line that shape the plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Overrides `spec.lostRegion` (`--lost-region`).
    pub lost_region: Option<u8>,
}

const DEFAULT_EXPORTER_PATTERN: &str = "camundaregion{region}";
const DEFAULT_PROCESS_INSTANCE_INDEX: &str = "operate-list-view-8.3.0_";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
const DEFAULT_SAMPLE_INTERVAL: Duration = Duration::from_secs(5);
/// Room for normal export lag: at low throughput the Camunda exporter flushes its bulk every 5 s
/// (its default `bulk.delay`) and Elasticsearch refreshes every 1 s; several times that, so a
/// loaded cluster's ordinary lag is never taken for stalled exporting.
const DEFAULT_EXPORT_LAG: Duration = Duration::from_secs(30);
const EXPORTER_STATUSES: &[&str] = &[
    "ENABLED",
    "DISABLED",
    "ENABLING",
    "DISABLING",
    "CONFIG_NOT_FOUND",
    "UNKNOWN",
];

/// Parse and validate a scenario into a plan.
///
/// # Errors
/// Every problem found, each located in the file.
pub fn load(source: &ScenarioSource, options: &PlanOptions) -> Result<Plan, ScenarioErrors> {
    let file = crate::yaml::parse(source)?;
    validate(&file, source, options)
}

/// Validate parsed spec types into a plan.
///
/// # Errors
/// Every problem found, each located in the file.
pub fn validate(
    file: &ScenarioFile,
    source: &ScenarioSource,
    options: &PlanOptions,
) -> Result<Plan, ScenarioErrors> {
    let mut v = Validator {
        sink: ErrorSink::new(&source.name, &source.text),
        source,
    };
    let plan = v.plan(file, options);
    match plan {
        Some(plan) if v.sink.is_empty() => Ok(plan),
        _ => Err(v.sink.finish()),
    }
}

struct Validator<'a> {
    sink: ErrorSink<'a>,
    source: &'a ScenarioSource,
}

/// What validation knows while walking the steps.
struct Context {
    layout: ClusterLayout,
    lost: RegionId,
    surviving: RegionId,
    exporter_ids: Vec<String>,
    backup: Option<BackupRepository>,
    backup_location: Option<Location>,
    deployed_process: Option<String>,
    captured_placements: BTreeSet<String>,
    default_timeout: Duration,
}

impl Validator<'_> {
    fn plan(&mut self, file: &ScenarioFile, options: &PlanOptions) -> Option<Plan> {
        if file.api_version.value != API_VERSION {
            self.sink.at_with_help(
                &file.api_version.referenced,
                format!("unsupported apiVersion `{}`", file.api_version.value),
                format!("this version of c8dr reads `{API_VERSION}`"),
            );
        }
        if file.kind.value != KIND {
            self.sink.at(
                &file.kind.referenced,
                format!("unsupported kind `{}`, expected `{KIND}`", file.kind.value),
            );
        }
        let name = &file.metadata.name;
        if name.value.is_empty()
            || !name
                .value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        {
            self.sink.at(
                &name.referenced,
                format!(
                    "scenario name `{}` must be lowercase letters, digits, `-` and `.`",
                    name.value
                ),
            );
        }

        let spec = &file.spec;
        let layout = self.layout(&spec.camunda)?;
        let (lost, surviving) = self.regions(spec, &layout, options)?;
        let pattern = spec.camunda.exporter_id_pattern.as_ref();
        if let Some(p) = pattern
            && !p.value.contains("{region}")
        {
            self.sink.at(
                &p.referenced,
                "exporterIdPattern must contain `{region}`, for example `camundaregion{region}`",
            );
        }
        let pattern = pattern.map_or(DEFAULT_EXPORTER_PATTERN, |p| p.value.as_str());
        let exporter_ids: Vec<String> = layout
            .region_ids()
            .map(|r| pattern.replace("{region}", &r.0.to_string()))
            .collect();
        let process_instance_index = spec
            .camunda
            .process_instance_index
            .as_ref()
            .map_or(DEFAULT_PROCESS_INSTANCE_INDEX, |i| i.value.as_str())
            .to_owned();
        let export_lag = spec
            .camunda
            .export_lag
            .as_ref()
            .and_then(|t| self.duration(t))
            .unwrap_or(DEFAULT_EXPORT_LAG);

        let (backup, backup_location) = match &spec.backup {
            Some(b) => (self.backup(b), Some(b.repository.referenced)),
            None => (None, None),
        };
        let defaults = spec.defaults.clone().unwrap_or_default();
        let default_timeout = defaults
            .timeout
            .as_ref()
            .and_then(|t| self.duration(t))
            .unwrap_or(DEFAULT_TIMEOUT);
        let poll_interval = defaults
            .poll_interval
            .as_ref()
            .and_then(|t| self.duration(t))
            .unwrap_or(DEFAULT_POLL_INTERVAL);
        let sample_interval = defaults
            .sample_interval
            .as_ref()
            .and_then(|t| self.duration(t))
            .unwrap_or(DEFAULT_SAMPLE_INTERVAL);
        let objectives = spec
            .objectives
            .as_ref()
            .map(|o| Objectives {
                rto: o.rto.as_ref().and_then(|t| self.duration(t)),
                rpo: o.rpo.as_ref().map(|r| r.value),
            })
            .unwrap_or_default();

        let mut cx = Context {
            layout: layout.clone(),
            lost,
            surviving,
            exporter_ids: exporter_ids.clone(),
            backup: backup.clone(),
            backup_location,
            deployed_process: None,
            captured_placements: BTreeSet::new(),
            default_timeout,
        };
        let workload = spec
            .workload
            .as_ref()
            .and_then(|w| self.workload(w, &mut cx));

        if spec.stages.value.is_empty() {
            self.sink
                .at(&spec.stages.referenced, "the scenario has no stages");
        }
        let mut stage_names = BTreeSet::new();
        let mut stages = Vec::new();
        for (stage_index, stage) in spec.stages.value.iter().enumerate() {
            let stage = &stage.value;
            if !stage_names.insert(stage.name.value.clone()) {
                self.sink.at(
                    &stage.name.referenced,
                    format!("duplicate stage name `{}`", stage.name.value),
                );
            }
            if stage.steps.is_empty() {
                self.sink.at(
                    &stage.name.referenced,
                    format!("stage `{}` has no steps", stage.name.value),
                );
            }
            let mut step_names = BTreeSet::new();
            let mut steps = Vec::new();
            for (step_index, step) in stage.steps.iter().enumerate() {
                let id = format!("{}.{}", stage_index + 1, step_index + 1);
                if !step_names.insert(step.value.name.value.clone()) {
                    self.sink.at(
                        &step.value.name.referenced,
                        format!(
                            "duplicate step name `{}` in stage `{}`",
                            step.value.name.value, stage.name.value
                        ),
                    );
                }
                if let Some(step) = self.step(id, step, &mut cx) {
                    steps.push(step);
                }
            }
            stages.push(Stage {
                name: stage.name.value.clone(),
                description: stage.description.clone(),
                phase: stage.phase,
                steps,
            });
        }

        Some(Plan {
            name: file.metadata.name.value.clone(),
            description: file.metadata.description.clone(),
            source: self.source.name.clone(),
            camunda_version: spec.camunda.version.value.clone(),
            layout,
            exporter_ids,
            process_instance_index,
            export_lag,
            backup,
            lost_region: lost,
            surviving_region: surviving,
            poll_interval,
            sample_interval,
            workload,
            objectives,
            stages,
        })
    }

    fn workload(&mut self, spec: &crate::spec::WorkloadSpec, cx: &mut Context) -> Option<Workload> {
        let interval = match parse_rate(&spec.rate.value) {
            Ok(interval) => Some(interval),
            Err(message) => {
                self.sink.at_with_help(
                    &spec.rate.referenced,
                    message,
                    "write rates like `2/s`, `30/m` or `100/h`",
                );
                None
            }
        };
        let via = self.via(spec.via.as_ref(), cx);
        let (resource_name, process_id, content) = self.process(&spec.resource, cx)?;
        Some(Workload {
            interval: interval?,
            via,
            resource_name,
            process_id,
            content,
        })
    }

    /// Read a BPMN resource and its process id; later `createInstances` steps default to it.
    fn process(
        &mut self,
        resource: &Spanned<String>,
        cx: &mut Context,
    ) -> Option<(String, String, Vec<u8>)> {
        // On failure, later createInstances steps still count as having a process, so one bad
        // path is reported once rather than once per step.
        let content = match self.source.read_resource(&resource.value) {
            Ok(content) => content,
            Err(message) => {
                self.sink.at(&resource.referenced, message);
                cx.deployed_process = Some(String::new());
                return None;
            }
        };
        let Some(process_id) = bpmn_process_id(&content) else {
            self.sink.at(
                &resource.referenced,
                format!(
                    "{} is not a BPMN file with a `<process id=\"...\">`",
                    resource.value
                ),
            );
            cx.deployed_process = Some(String::new());
            return None;
        };
        cx.deployed_process = Some(process_id.clone());
        let resource_name = resource
            .value
            .rsplit('/')
            .next()
            .unwrap_or(&resource.value)
            .to_owned();
        Some((resource_name, process_id, content))
    }

    fn layout(&mut self, camunda: &crate::spec::CamundaSpec) -> Option<ClusterLayout> {
        let version = &camunda.version;
        let well_formed = version
            .value
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
            && version.value.split('.').count() >= 2;
        if !well_formed {
            self.sink.at(
                &version.referenced,
                format!(
                    "camunda.version `{}` must look like `8.8` or `8.8.3`",
                    version.value
                ),
            );
        }
        let regions = camunda.regions.value;
        if regions != 2 {
            self.sink.at_with_help(
                &camunda.regions.referenced,
                format!("regions is {regions}, but c8dr drills dual-region deployments"),
                "set `regions: 2`",
            );
            return None;
        }
        let size = camunda.cluster_size.value;
        let mut ok = true;
        if size == 0 || !size.is_multiple_of(u32::from(regions)) {
            self.sink.at(
                &camunda.cluster_size.referenced,
                format!(
                    "clusterSize {size} must be a positive multiple of the region count {regions}"
                ),
            );
            ok = false;
        }
        let partitions = camunda.partition_count.value;
        if partitions == 0 {
            self.sink.at(
                &camunda.partition_count.referenced,
                "partitionCount must be at least 1",
            );
            ok = false;
        }
        let rf = camunda.replication_factor.value;
        if rf == 0 || rf > size {
            self.sink.at(
                &camunda.replication_factor.referenced,
                format!("replicationFactor {rf} must be between 1 and clusterSize {size}"),
            );
            ok = false;
        }
        ok.then_some(ClusterLayout {
            regions,
            cluster_size: size,
            partition_count: partitions,
            replication_factor: rf,
        })
    }

    fn regions(
        &mut self,
        spec: &crate::spec::ScenarioSpec,
        layout: &ClusterLayout,
        options: &PlanOptions,
    ) -> Option<(RegionId, RegionId)> {
        let lost = match (options.lost_region, &spec.lost_region) {
            (Some(r), _) => {
                if r >= layout.regions {
                    self.sink.push(
                        1,
                        1,
                        format!(
                            "--lost-region {r} does not exist: the scenario has regions 0 to {}",
                            layout.regions - 1
                        ),
                        None,
                    );
                    return None;
                }
                r
            }
            (None, Some(r)) => {
                if r.value >= layout.regions {
                    self.sink.at(
                        &r.referenced,
                        format!(
                            "lostRegion {} does not exist: the scenario has regions 0 to {}",
                            r.value,
                            layout.regions - 1
                        ),
                    );
                    return None;
                }
                r.value
            }
            (None, None) => 1,
        };
        Some((RegionId(lost), RegionId(1 - lost)))
    }

    fn backup(&mut self, backup: &crate::spec::BackupSpec) -> Option<BackupRepository> {
        let kind = match (&backup.s3, &backup.fs) {
            (Some(s3), None) => RepositoryKind::S3 {
                bucket: s3.bucket.value.clone(),
                base_path: s3.base_path.clone().unwrap_or_else(|| "backups".to_owned()),
                client: s3.client.clone().unwrap_or_else(|| "camunda".to_owned()),
            },
            (None, Some(fs)) => {
                if !fs.location.value.starts_with('/') {
                    self.sink.at(
                        &fs.location.referenced,
                        "backup.fs.location must be an absolute path",
                    );
                }
                RepositoryKind::Fs {
                    location: fs.location.value.clone(),
                }
            }
            _ => {
                self.sink.at(
                    &backup.repository.referenced,
                    "backup needs exactly one of `s3` or `fs`",
                );
                return None;
            }
        };
        if backup.repository.value.is_empty() {
            self.sink
                .at(&backup.repository.referenced, "backup.repository is empty");
        }
        Some(BackupRepository {
            name: backup.repository.value.clone(),
            kind,
        })
    }

    fn duration(&mut self, text: &Spanned<String>) -> Option<Duration> {
        match humantime::parse_duration(&text.value) {
            Ok(d) if !d.is_zero() => Some(d),
            Ok(_) => {
                self.sink
                    .at(&text.referenced, "a duration must be longer than zero");
                None
            }
            Err(e) => {
                self.sink.at_with_help(
                    &text.referenced,
                    format!("`{}` is not a duration: {e}", text.value),
                    "write durations like `90s`, `2m` or `1h 30m`",
                );
                None
            }
        }
    }

    fn region(&mut self, r: &Spanned<RegionRefSpec>, cx: &Context) -> RegionId {
        match r.value {
            RegionRefSpec::Lost => cx.lost,
            RegionRefSpec::Surviving => cx.surviving,
            RegionRefSpec::Index(i) => {
                if i >= cx.layout.regions {
                    self.sink.at(
                        &r.referenced,
                        format!(
                            "region {i} does not exist: the scenario has regions 0 to {}",
                            cx.layout.regions - 1
                        ),
                    );
                }
                RegionId(i)
            }
        }
    }

    fn via(&mut self, r: Option<&Spanned<RegionRefSpec>>, cx: &Context) -> RegionId {
        r.map_or(cx.surviving, |r| self.region(r, cx))
    }

    fn brokers(&mut self, set: &Spanned<BrokerSetSpec>, cx: &Context) -> Vec<u32> {
        match &set.value {
            BrokerSetSpec::All => cx.layout.all_brokers(),
            BrokerSetSpec::Region(RegionRefSpec::Lost) => cx.layout.brokers_of(cx.lost),
            BrokerSetSpec::Region(RegionRefSpec::Surviving) => cx.layout.brokers_of(cx.surviving),
            BrokerSetSpec::Region(RegionRefSpec::Index(i)) => cx.layout.brokers_of(RegionId(*i)),
            BrokerSetSpec::Ids(ids) => {
                for id in ids {
                    if *id >= cx.layout.cluster_size {
                        self.sink.at(
                            &set.referenced,
                            format!(
                                "broker {id} does not exist: clusterSize is {}",
                                cx.layout.cluster_size
                            ),
                        );
                    }
                }
                let mut ids = ids.clone();
                ids.sort_unstable();
                ids.dedup();
                ids
            }
        }
    }

    fn exporter(&mut self, e: &Spanned<ExporterRefSpec>, cx: &Context) -> String {
        self.exporter_id(&e.value, &e.referenced, cx)
    }

    fn exporter_id(&mut self, e: &ExporterRefSpec, at: &Location, cx: &Context) -> String {
        let id = match e {
            ExporterRefSpec::Lost => cx.exporter_ids[cx.lost.index()].clone(),
            ExporterRefSpec::Surviving => cx.exporter_ids[cx.surviving.index()].clone(),
            ExporterRefSpec::Id(id) => id.clone(),
        };
        if id.is_empty() {
            self.sink.at(at, "exporter id is empty");
        }
        id
    }

    fn backup_for(&mut self, at: &Location, cx: &Context) -> Option<BackupRepository> {
        if cx.backup.is_none() && cx.backup_location.is_none() {
            self.sink.at_with_help(
                at,
                "this step uses the snapshot repository, but the scenario has no `spec.backup`",
                "add `spec.backup: {repository: camunda_backup, s3: {bucket: ...}}` or an `fs` location",
            );
        }
        cx.backup.clone()
    }

    fn step(
        &mut self,
        id: String,
        step: &Spanned<crate::spec::StepSpec>,
        cx: &mut Context,
    ) -> Option<Step> {
        let spec = &step.value;
        let action = spec.action.as_ref().and_then(|a| self.action(a, cx));
        let timeout = match &spec.timeout {
            Some(t) => self.duration(t).unwrap_or(cx.default_timeout),
            None => action
                .as_ref()
                .map_or(cx.default_timeout, default_timeout_of),
        };
        let hold_for = spec.hold_for.as_ref().and_then(|h| self.duration(h));
        if let (Some(h), Some(d)) = (&spec.hold_for, hold_for) {
            if spec.expect.is_empty() {
                self.sink
                    .at(&h.referenced, "holdFor needs expectations to hold");
            } else if d >= timeout {
                self.sink.at(
                    &h.referenced,
                    format!(
                        "holdFor {} must be shorter than the step timeout {}",
                        humantime::format_duration(d),
                        humantime::format_duration(timeout)
                    ),
                );
            }
        }
        if spec.action.is_none() && spec.expect.is_empty() {
            self.sink.at(
                &spec.name.referenced,
                format!(
                    "step `{}` has neither an action nor expectations",
                    spec.name.value
                ),
            );
        }
        let mut expectations = Vec::new();
        for expectation in &spec.expect {
            if let Some(e) = self.expectation(expectation, action.as_ref(), cx) {
                expectations.push(e);
            }
        }
        Some(Step {
            id,
            name: spec.name.value.clone(),
            procedure: spec.procedure.clone(),
            description: spec.description.clone(),
            timeout,
            hold_for,
            harmless_mutants: spec
                .harmless_mutants
                .clone()
                .map(|h| crate::spec::HarmlessMutantsSpec {
                    drop: h.drop.map(|t| t.trim().to_owned()),
                    swap_with_next: h.swap_with_next.map(|t| t.trim().to_owned()),
                    wrong_region: h.wrong_region.map(|t| t.trim().to_owned()),
                    wrong_gateway: h.wrong_gateway.map(|t| t.trim().to_owned()),
                })
                .unwrap_or_default(),
            action,
            expectations,
            line: u32::try_from(spec.name.referenced.line()).unwrap_or(u32::MAX),
        })
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one arm per action kind reads best as a table"
    )]
    fn action(&mut self, action: &Spanned<ActionSpec>, cx: &mut Context) -> Option<Action> {
        Some(match &action.value {
            ActionSpec::LoseRegion { region, mode } => Action::LoseRegion {
                region: self.region(region, cx),
                mode: *mode,
            },
            ActionSpec::HealRegion { region } => Action::HealRegion {
                region: self.region(region, cx),
            },
            ActionSpec::RecreateRegion { region } => Action::RecreateRegion {
                region: self.region(region, cx),
            },
            ActionSpec::Deploy {
                region,
                values,
                env,
            } => {
                for key in values.keys() {
                    if key.is_empty() || key.contains(char::is_whitespace) {
                        self.sink.at(
                            &region.referenced,
                            format!("`{key}` is not a Helm value path"),
                        );
                    }
                }
                Action::Deploy {
                    region: self.region(region, cx),
                    overrides: ReleaseOverrides {
                        values: values.clone(),
                        env: env.clone(),
                    },
                }
            }
            ActionSpec::PatchCluster {
                via,
                add,
                remove,
                replication_factor,
                force,
                dry_run,
            } => {
                let add = add
                    .as_ref()
                    .map(|s| self.brokers(s, cx))
                    .unwrap_or_default();
                let remove = remove
                    .as_ref()
                    .map(|s| self.brokers(s, cx))
                    .unwrap_or_default();
                if add.is_empty() && remove.is_empty() && replication_factor.is_none() {
                    self.sink.at(
                        &action.referenced,
                        "patchCluster needs `add`, `remove` or `replicationFactor`",
                    );
                }
                if let Some(rf) = replication_factor
                    && (rf.value == 0 || rf.value > cx.layout.cluster_size)
                {
                    self.sink.at(
                        &rf.referenced,
                        format!(
                            "replicationFactor {} must be between 1 and clusterSize {}",
                            rf.value, cx.layout.cluster_size
                        ),
                    );
                }
                let brokers =
                    (!add.is_empty() || !remove.is_empty()).then_some(ClusterPatchBrokers {
                        add,
                        remove,
                        count: None,
                    });
                let partitions = replication_factor
                    .as_ref()
                    .map(|rf| ClusterPatchPartitions {
                        count: None,
                        replication_factor: Some(rf.value),
                    });
                Action::PatchCluster {
                    via: self.via(via.as_ref(), cx),
                    request: ClusterPatchRequest {
                        brokers,
                        partitions,
                    },
                    options: ChangeOptions {
                        force: *force,
                        dry_run: *dry_run,
                    },
                }
            }
            ActionSpec::DisableExporter { via, exporter } => Action::DisableExporter {
                via: self.via(via.as_ref(), cx),
                exporter: self.exporter(exporter, cx),
            },
            ActionSpec::EnableExporter {
                via,
                exporter,
                initialize_from,
            } => {
                let exporter_id = self.exporter(exporter, cx);
                let from = initialize_from.as_ref().map(|f| self.exporter(f, cx));
                if from.as_deref() == Some(exporter_id.as_str())
                    && let Some(f) = initialize_from
                {
                    self.sink.at(
                        &f.referenced,
                        format!("exporter {exporter_id} cannot be initialized from itself"),
                    );
                }
                Action::EnableExporter {
                    via: self.via(via.as_ref(), cx),
                    exporter: exporter_id,
                    initialize_from: from,
                }
            }
            ActionSpec::PauseExporting { via, soft } => Action::Exporting {
                via: self.via(via.as_ref(), cx),
                operation: if *soft {
                    ExportingOperation::SoftPause
                } else {
                    ExportingOperation::Pause
                },
            },
            ActionSpec::ResumeExporting { via } => Action::Exporting {
                via: self.via(via.as_ref(), cx),
                operation: ExportingOperation::Resume,
            },
            ActionSpec::RegisterRepository { region } => {
                let repository = self.backup_for(&region.referenced, cx)?;
                Action::RegisterRepository {
                    region: self.region(region, cx),
                    repository,
                }
            }
            ActionSpec::CreateSnapshot { region, snapshot } => {
                let repository = self.backup_for(&region.referenced, cx)?;
                self.snapshot_name(snapshot);
                Action::CreateSnapshot {
                    region: self.region(region, cx),
                    repository: repository.name,
                    snapshot: snapshot.value.clone(),
                }
            }
            ActionSpec::RestoreSnapshot { region, snapshot } => {
                let repository = self.backup_for(&region.referenced, cx)?;
                self.snapshot_name(snapshot);
                Action::RestoreSnapshot {
                    region: self.region(region, cx),
                    repository: repository.name,
                    snapshot: snapshot.value.clone(),
                }
            }
            ActionSpec::DeployProcess { via, resource } => {
                let (resource_name, process_id, content) = self.process(resource, cx)?;
                Action::DeployProcess {
                    via: self.via(via.as_ref(), cx),
                    resource_name,
                    process_id,
                    content,
                }
            }
            ActionSpec::CompleteInstances { via, count } => {
                if count.value == 0 {
                    self.sink.at(&count.referenced, "count must be at least 1");
                }
                Action::CompleteInstances {
                    via: self.via(via.as_ref(), cx),
                    count: count.value,
                }
            }
            ActionSpec::CreateInstances(spec) => {
                if spec.count.value == 0 {
                    self.sink
                        .at(&spec.count.referenced, "count must be at least 1");
                }
                let process_id = match (&spec.process_id, &cx.deployed_process) {
                    (Some(id), _) => id.value.clone(),
                    (None, Some(id)) => id.clone(),
                    (None, None) => {
                        self.sink.at_with_help(
                            &action.referenced,
                            "createInstances has no process to start",
                            "deploy one with a `deployProcess` step before, or set `processId`",
                        );
                        return None;
                    }
                };
                Action::CreateInstances(CreateInstances {
                    via: self.via(spec.via.as_ref(), cx),
                    count: spec.count.value,
                    process_id,
                    require: spec.require,
                })
            }
        })
    }

    fn snapshot_name(&mut self, name: &Spanned<String>) {
        let valid = !name.value.is_empty()
            && name
                .value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
        if !valid {
            self.sink.at(
                &name.referenced,
                format!(
                    "snapshot name `{}` must be lowercase letters, digits, `-`, `_` and `.` (Elasticsearch rejects others)",
                    name.value
                ),
            );
        }
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one arm per expectation kind reads best as a table"
    )]
    fn expectation(
        &mut self,
        expectation: &Spanned<ExpectSpec>,
        action: Option<&Action>,
        cx: &mut Context,
    ) -> Option<Expectation> {
        Some(match &expectation.value {
            ExpectSpec::Topology {
                via,
                brokers,
                idle_brokers,
                cluster_size,
                partitions_count,
                replication_factor,
                leaders,
                replicas_per_region,
            } => Expectation::Topology {
                via: self.via(via.as_ref(), cx),
                brokers: brokers.as_ref().map(|b| self.brokers(b, cx)),
                idle_brokers: idle_brokers.as_ref().map(|b| self.brokers(b, cx)),
                cluster_size: *cluster_size,
                partitions_count: *partitions_count,
                replication_factor: *replication_factor,
                leaders: leaders.as_ref().map(|l| match l.value {
                    LeadersSpec::All => Leaders::All,
                    LeadersSpec::None => Leaders::None,
                    LeadersSpec::In(r) => {
                        Leaders::In(self.region(&Spanned::new(r, l.referenced, l.defined), cx))
                    }
                }),
                replicas_per_region: *replicas_per_region,
            },
            ExpectSpec::Change { via, status } => {
                let starts_change = matches!(
                    action,
                    Some(
                        Action::PatchCluster { .. }
                            | Action::DisableExporter { .. }
                            | Action::EnableExporter { .. }
                    )
                );
                if !starts_change {
                    self.sink.at_with_help(
                        &expectation.referenced,
                        "a `change` expectation needs the step's action to start a configuration change",
                        "use it in a step whose action is patchCluster, enableExporter or disableExporter",
                    );
                }
                let status = match status {
                    None => ChangeStatus::Completed,
                    Some(s) => match s.value.as_str() {
                        "COMPLETED" => ChangeStatus::Completed,
                        "FAILED" => ChangeStatus::Failed,
                        "CANCELLED" => ChangeStatus::Cancelled,
                        "IN_PROGRESS" => ChangeStatus::InProgress,
                        other => {
                            self.sink.at(
                                &s.referenced,
                                format!(
                                    "unknown change status `{other}`, expected COMPLETED, FAILED, CANCELLED or IN_PROGRESS"
                                ),
                            );
                            ChangeStatus::Unknown
                        }
                    },
                };
                Expectation::Change {
                    via: self.via(via.as_ref(), cx),
                    status,
                }
            }
            ExpectSpec::Cluster {
                via,
                members,
                capture_placement,
                placement_equals,
                placement_of,
            } => {
                if let Some(name) = placement_equals
                    && !cx.captured_placements.contains(&name.value)
                {
                    self.sink.at_with_help(
                        &name.referenced,
                        format!(
                            "no earlier step captures a placement named `{}`",
                            name.value
                        ),
                        "capture it first with `capturePlacement` in an earlier step",
                    );
                }
                if placement_of.is_some() && placement_equals.is_none() {
                    self.sink.at(
                        &expectation.referenced,
                        "`placementOf` only makes sense with `placementEquals`",
                    );
                }
                if let Some(name) = capture_placement {
                    cx.captured_placements.insert(name.value.clone());
                }
                Expectation::Cluster {
                    via: self.via(via.as_ref(), cx),
                    members: members.as_ref().map(|m| self.brokers(m, cx)),
                    capture_placement: capture_placement.as_ref().map(|n| n.value.clone()),
                    placement_equals: placement_equals.as_ref().map(|n| n.value.clone()),
                    placement_of: placement_of.as_ref().map(|m| self.brokers(m, cx)),
                }
            }
            ExpectSpec::Exporters { via, status } => {
                if status.is_empty() {
                    self.sink.at(
                        &expectation.referenced,
                        "an exporters expectation needs at least one exporter",
                    );
                }
                let mut resolved = BTreeMap::new();
                for (exporter, state) in status {
                    if !EXPORTER_STATUSES.contains(&state.value.as_str()) {
                        self.sink.at(
                            &state.referenced,
                            format!(
                                "unknown exporter status `{}`, expected one of {}",
                                state.value,
                                EXPORTER_STATUSES.join(", ")
                            ),
                        );
                    }
                    let id = self.exporter_id(exporter, &state.referenced, cx);
                    resolved.insert(id, state.value.clone());
                }
                Expectation::Exporters {
                    via: self.via(via.as_ref(), cx),
                    status: resolved,
                }
            }
            ExpectSpec::Snapshot {
                region,
                snapshot,
                state,
            } => {
                let repository = self.backup_for(&region.referenced, cx)?;
                Expectation::Snapshot {
                    region: self.region(region, cx),
                    repository: repository.name,
                    snapshot: snapshot.value.clone(),
                    state: state
                        .as_ref()
                        .map_or_else(|| "SUCCESS".to_owned(), |s| s.value.clone()),
                }
            }
            ExpectSpec::Restored {
                region,
                snapshot,
                documents_match,
            } => {
                let repository = self.backup_for(&region.referenced, cx)?;
                let target = self.region(region, cx);
                let documents_match = documents_match.as_ref().map(|r| {
                    let source = self.region(r, cx);
                    if source == target {
                        self.sink.at(
                            &r.referenced,
                            "documentsMatch must name the region the snapshot was taken in, not the one restored",
                        );
                    }
                    source
                });
                Expectation::Restored {
                    region: target,
                    repository: repository.name,
                    snapshot: snapshot.value.clone(),
                    documents_match,
                }
            }
            ExpectSpec::DataContinuity {} => Expectation::DataContinuity {
                regions: cx.layout.region_ids().collect(),
            },
            ExpectSpec::Isolated { from, to } => {
                let (from_id, to_id) = (self.region(from, cx), self.region(to, cx));
                if from_id == to_id {
                    self.sink
                        .at(&to.referenced, "a region cannot be isolated from itself");
                }
                Expectation::Isolated {
                    from: from_id,
                    to: to_id,
                }
            }
            ExpectSpec::WebApps {
                region,
                operate,
                tasklist,
            } => Expectation::WebApps {
                region: self.region(region, cx),
                operate: *operate,
                tasklist: *tasklist,
            },
            ExpectSpec::InstancesCompleted { region } => Expectation::InstancesCompleted {
                region: self.region(region, cx),
            },
            ExpectSpec::Instances { region, visible } => Expectation::Instances {
                region: self.region(region, cx),
                visible: *visible,
            },
        })
    }
}

/// Default step timeout by action kind, in cluster time: how long the operation takes on a real
/// cluster with room to spare.
fn default_timeout_of(action: &Action) -> Duration {
    let minutes = |m: u64| Duration::from_secs(m * 60);
    match action {
        Action::LoseRegion { .. } | Action::HealRegion { .. } => minutes(2),
        Action::RecreateRegion { .. } => minutes(5),
        Action::Deploy { .. } => minutes(15),
        Action::PatchCluster { .. } => minutes(10),
        Action::DisableExporter { .. } | Action::EnableExporter { .. } => minutes(5),
        Action::Exporting { .. }
        | Action::RegisterRepository { .. }
        | Action::DeployProcess { .. } => minutes(2),
        Action::CreateSnapshot { .. } | Action::RestoreSnapshot { .. } => minutes(30),
        Action::CreateInstances(_) | Action::CompleteInstances { .. } => minutes(5),
    }
}

/// Cluster time between two creations for a rate like `2/s`, `30/m` or `100/h`.
fn parse_rate(text: &str) -> Result<Duration, String> {
    let (count, unit) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not a rate"))?;
    let count: f64 = count
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a rate: `{}` is not a number", count.trim()))?;
    let unit = match unit.trim() {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("`{text}` is not a rate: unknown unit `{other}`")),
    };
    if !(count.is_finite() && count > 0.0) {
        return Err(format!(
            "`{text}` is not a rate: the count must be positive"
        ));
    }
    let interval = unit / count;
    if interval < 0.001 {
        return Err(format!(
            "`{text}` is too fast: at most 1000 creations per second"
        ));
    }
    Ok(Duration::from_secs_f64(interval))
}

/// The id of the first `<process id="...">` (any namespace prefix) of a BPMN file.
fn bpmn_process_id(content: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(content).ok()?;
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let tag_end = rest.find('>')?;
        let tag = &rest[..tag_end];
        let name = tag.split_whitespace().next().unwrap_or("");
        let local = name.rsplit(':').next().unwrap_or(name);
        if local == "process" {
            return attribute(tag, "id");
        }
    }
    None
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    while let Some(index) = rest.find(name) {
        let before = rest[..index].chars().last();
        let after = &rest[index + name.len()..];
        let after_trimmed = after.trim_start();
        if before.is_some_and(char::is_whitespace) && after_trimmed.starts_with('=') {
            let value = after_trimmed[1..].trim_start();
            let quote = value.chars().next()?;
            if quote == '"' || quote == '\'' {
                let end = value[1..].find(quote)?;
                return Some(value[1..=end].to_owned());
            }
        }
        rest = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_become_intervals() {
        assert_eq!(parse_rate("2/s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_rate("30/m"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_rate(" 1 / h "), Ok(Duration::from_secs(3600)));
        assert!(parse_rate("2").is_err());
        assert!(parse_rate("x/s").is_err());
        assert!(parse_rate("2/d").is_err());
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("-1/s").is_err());
        assert!(parse_rate("5000/s").is_err());
        assert!(parse_rate("NaN/s").is_err());
    }

    #[test]
    fn finds_the_process_id_with_or_without_prefix() {
        let bpmn = br#"<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="x"><bpmn:process id="c8dr-probe" isExecutable="true"></bpmn:process></bpmn:definitions>"#;
        assert_eq!(bpmn_process_id(bpmn).as_deref(), Some("c8dr-probe"));
        let plain = br#"<definitions><process isExecutable='true' id='p1'/></definitions>"#;
        assert_eq!(bpmn_process_id(plain).as_deref(), Some("p1"));
        assert_eq!(bpmn_process_id(b"<definitions/>"), None);
        assert_eq!(bpmn_process_id(&[0xff, 0xfe]), None);
    }
}
