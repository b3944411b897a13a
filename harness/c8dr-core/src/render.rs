//! The commands an operator would type for each step: `curl` for the APIs, `helm` and `kubectl`
//! (or the twin's control API) for the platform side. `c8dr plan` prints them; rehearsal mode
//! will show them before each step. Pure text: nothing here runs anything.

use crate::camunda::{ExportingOperation, ReleaseOverrides};
use crate::plan::{Action, Expectation, Plan};
use crate::region::{LossMode, RegionId};

/// Where the commands are aimed.
#[derive(Debug, Clone)]
pub struct CommandTarget {
    /// Twin or Kubernetes.
    pub kind: TargetKind,
    /// Per region, indexed by region id.
    pub regions: Vec<RegionAccess>,
}

/// The kind of platform the commands drive.
#[derive(Debug, Clone)]
pub enum TargetKind {
    /// `c8dr twin serve`: platform operations go to its control API.
    Twin {
        /// Control API base URL.
        control: String,
    },
    /// Real clusters: Helm and kubectl.
    Kubernetes {
        /// Chart reference, for example `camunda/camunda-platform`.
        chart: String,
        /// Chart version.
        chart_version: String,
        /// Helm release name.
        release: String,
    },
}

/// How one region is reached.
#[derive(Debug, Clone)]
pub struct RegionAccess {
    /// REST API base URL as the operator reaches it.
    pub rest: String,
    /// Management API base URL.
    pub management: String,
    /// Elasticsearch base URL.
    pub elasticsearch: String,
    /// Kubernetes context (Kubernetes targets).
    pub kube_context: String,
    /// Namespace (Kubernetes targets).
    pub namespace: String,
    /// Values files for this region's release (Kubernetes targets).
    pub values_files: Vec<String>,
}

impl CommandTarget {
    /// The endpoints `c8dr twin serve` binds by default (region r on `127.0.0.(10+r)`).
    #[must_use]
    pub fn twin_default(regions: u8, control: &str) -> Self {
        Self {
            kind: TargetKind::Twin {
                control: control.to_owned(),
            },
            regions: (0..regions)
                .map(|r| {
                    let host = format!("127.0.0.{}", 10 + u16::from(r));
                    RegionAccess {
                        rest: format!("http://{host}:8080"),
                        management: format!("http://{host}:9600"),
                        elasticsearch: format!("http://{host}:9200"),
                        kube_context: String::new(),
                        namespace: String::new(),
                        values_files: Vec::new(),
                    }
                })
                .collect(),
        }
    }

    /// Two kind clusters as `c8dr clusters up` creates them, reached through port-forwards.
    #[must_use]
    pub fn kind_default(regions: u8, chart_version: &str) -> Self {
        Self {
            kind: TargetKind::Kubernetes {
                chart: "camunda/camunda-platform".to_owned(),
                chart_version: chart_version.to_owned(),
                release: "camunda".to_owned(),
            },
            regions: (0..regions)
                .map(|r| RegionAccess {
                    rest: "http://localhost:8080".to_owned(),
                    management: "http://localhost:9600".to_owned(),
                    elasticsearch: "http://localhost:9200".to_owned(),
                    kube_context: format!("kind-c8dr-region{r}"),
                    namespace: format!("camunda-region{r}"),
                    values_files: vec![
                        "camunda-values.yml".to_owned(),
                        format!("region{r}/camunda-values.yml"),
                    ],
                })
                .collect(),
        }
    }

    fn region(&self, region: RegionId) -> Option<&RegionAccess> {
        self.regions.get(region.index())
    }

    fn port_forward(&self, region: RegionId, service: &str, port: u16) -> Option<String> {
        match (&self.kind, self.region(region)) {
            (TargetKind::Kubernetes { release, .. }, Some(access)) => Some(format!(
                "kubectl --context {} port-forward services/{release}-{service} {port}:{port} -n {}",
                access.kube_context, access.namespace
            )),
            _ => None,
        }
    }
}

fn management(target: &CommandTarget, via: RegionId) -> (Option<String>, String) {
    let base = target
        .region(via)
        .map_or_else(String::new, |a| a.management.clone());
    (target.port_forward(via, "zeebe-gateway", 9600), base)
}

fn rest(target: &CommandTarget, via: RegionId) -> (Option<String>, String) {
    let base = target
        .region(via)
        .map_or_else(String::new, |a| a.rest.clone());
    (target.port_forward(via, "zeebe-gateway", 8080), base)
}

fn elasticsearch(target: &CommandTarget, region: RegionId) -> (Option<String>, String) {
    let base = target
        .region(region)
        .map_or_else(String::new, |a| a.elasticsearch.clone());
    (target.port_forward(region, "elasticsearch", 9200), base)
}

fn with_forward(forward: Option<String>, command: String) -> Vec<String> {
    forward
        .into_iter()
        .chain(std::iter::once(command))
        .collect()
}

fn json_arg(value: &serde_json::Value) -> String {
    format!("'{value}'")
}

/// The commands that perform an action.
#[must_use]
pub fn action_commands(plan: &Plan, action: &Action, target: &CommandTarget) -> Vec<String> {
    match action {
        Action::LoseRegion { region, mode } => platform_lose(target, *region, *mode),
        Action::HealRegion { region } => platform_simple(target, *region, "heal"),
        Action::RecreateRegion { region } => platform_simple(target, *region, "recreate"),
        Action::Deploy { region, overrides } => platform_deploy(target, *region, overrides),
        Action::PatchCluster {
            via,
            request,
            options,
        } => {
            let (forward, base) = management(target, *via);
            let mut query = Vec::new();
            if options.force {
                query.push("force=true");
            }
            if options.dry_run {
                query.push("dryRun=true");
            }
            let query = if query.is_empty() {
                String::new()
            } else {
                format!("?{}", query.join("&"))
            };
            let body = serde_json::to_value(request).unwrap_or_default();
            with_forward(
                forward,
                format!(
                    "curl -XPATCH '{base}/actuator/cluster{query}' -H 'Content-Type: application/json' -d {}",
                    json_arg(&body)
                ),
            )
        }
        Action::DisableExporter { via, exporter } => {
            let (forward, base) = management(target, *via);
            with_forward(
                forward,
                format!("curl -XPOST '{base}/actuator/exporters/{exporter}/disable'"),
            )
        }
        Action::EnableExporter {
            via,
            exporter,
            initialize_from,
        } => {
            let (forward, base) = management(target, *via);
            let body = initialize_from.as_ref().map_or_else(String::new, |from| {
                format!(
                    " -H 'Content-Type: application/json' -d {}",
                    json_arg(&serde_json::json!({ "initializeFrom": from }))
                )
            });
            with_forward(
                forward,
                format!("curl -XPOST '{base}/actuator/exporters/{exporter}/enable'{body}"),
            )
        }
        Action::Exporting { via, operation } => {
            let (forward, base) = management(target, *via);
            let note = match operation {
                ExportingOperation::Resume => "resume",
                _ => "pause",
            };
            with_forward(
                forward,
                format!(
                    "curl -i -XPOST '{base}{}'  # success: HTTP 200 with \"status\":204 in the body (8.8), or HTTP 204; {note}",
                    operation.path()
                ),
            )
        }
        Action::RegisterRepository { region, repository } => {
            let (forward, base) = elasticsearch(target, *region);
            with_forward(
                forward,
                format!(
                    "curl -XPUT '{base}/_snapshot/{}' -H 'Content-Type: application/json' -d {}",
                    repository.name,
                    json_arg(&repository.registration_body())
                ),
            )
        }
        Action::CreateSnapshot {
            region,
            repository,
            snapshot,
        } => {
            let (forward, base) = elasticsearch(target, *region);
            with_forward(
                forward,
                format!(
                    "curl -XPUT '{base}/_snapshot/{repository}/{snapshot}?wait_for_completion=true' -H 'Content-Type: application/json' -d '{{\"include_global_state\":true}}'"
                ),
            )
        }
        Action::RestoreSnapshot {
            region,
            repository,
            snapshot,
        } => {
            let (forward, base) = elasticsearch(target, *region);
            with_forward(
                forward,
                format!(
                    "curl -XPOST '{base}/_snapshot/{repository}/{snapshot}/_restore?wait_for_completion=true' -H 'Content-Type: application/json' -d '{{\"include_global_state\":true}}'"
                ),
            )
        }
        Action::DeployProcess {
            via, resource_name, ..
        } => {
            let (forward, base) = rest(target, *via);
            with_forward(
                forward,
                format!(
                    "curl -u demo:demo -XPOST '{base}/v2/deployments' -F 'resources=@{resource_name}'"
                ),
            )
        }
        Action::CompleteInstances { via, count } => {
            let (forward, base) = rest(target, *via);
            let mut commands = forward.into_iter().collect::<Vec<_>>();
            commands.push(format!(
                "curl -u demo:demo -XPOST '{base}/v2/user-tasks/search' -H 'Content-Type: application/json' -d '{{\"filter\":{{\"processInstanceKey\":\"<an instance acknowledged before the fault>\"}}}}'  # ×{count}"
            ));
            commands.push(format!(
                "curl -u demo:demo -XPOST '{base}/v2/user-tasks/<userTaskKey>/completion' -H 'Content-Type: application/json' -d '{{}}'"
            ));
            commands
        }
        Action::CreateInstances(create) => {
            let (forward, base) = rest(target, create.via);
            with_forward(
                forward,
                format!(
                    "curl -u demo:demo -XPOST '{base}/v2/process-instances' -H 'Content-Type: application/json' -d {}  # ×{}",
                    json_arg(&serde_json::json!({ "processDefinitionId": create.process_id })),
                    create.count
                ),
            )
        }
    }
    .into_iter()
    .chain(plan_note(plan, action))
    .collect()
}

/// A reminder where the procedure page is known to be wrong for this action.
fn plan_note(_plan: &Plan, action: &Action) -> Option<String> {
    match action {
        Action::PatchCluster { request, options, .. }
            if !options.force
                && request
                    .brokers
                    .as_ref()
                    .is_some_and(|b| !b.add.is_empty()) =>
        {
            Some("# no force=true: real 8.8 answers 400 \"Cannot force add brokers\" (the procedure page shows force=true)".to_owned())
        }
        _ => None,
    }
}

fn platform_lose(target: &CommandTarget, region: RegionId, mode: LossMode) -> Vec<String> {
    match (&target.kind, target.region(region)) {
        (TargetKind::Twin { control }, _) => vec![format!(
            "curl -XPOST '{control}/twin/v1/regions/{}/lose' -H 'Content-Type: application/json' -d '{{\"mode\":\"{mode}\"}}'",
            region.0
        )],
        (TargetKind::Kubernetes { .. }, Some(access)) => match mode {
            LossMode::CutOff => vec![format!(
                "kubectl --context {} apply -n {} -f region-loss-deny-all.yaml  # deny all ingress and egress of the namespace",
                access.kube_context, access.namespace
            )],
            LossMode::Down => vec![format!(
                "kind delete cluster --name {}",
                access.kube_context.trim_start_matches("kind-")
            )],
        },
        (TargetKind::Kubernetes { .. }, None) => Vec::new(),
    }
}

fn platform_simple(target: &CommandTarget, region: RegionId, verb: &str) -> Vec<String> {
    match (&target.kind, target.region(region)) {
        (TargetKind::Twin { control }, _) => vec![format!(
            "curl -XPOST '{control}/twin/v1/regions/{}/{verb}'",
            region.0
        )],
        (TargetKind::Kubernetes { .. }, Some(access)) => match verb {
            "heal" => vec![format!(
                "kubectl --context {} delete networkpolicy -n {} -l c8dr.io/fault=region-loss",
                access.kube_context, access.namespace
            )],
            _ => vec![
                format!(
                    "kubectl --context {} delete namespace {} --wait",
                    access.kube_context, access.namespace
                ),
                format!(
                    "kubectl --context {} create namespace {}",
                    access.kube_context, access.namespace
                ),
            ],
        },
        (TargetKind::Kubernetes { .. }, None) => Vec::new(),
    }
}

fn platform_deploy(
    target: &CommandTarget,
    region: RegionId,
    overrides: &ReleaseOverrides,
) -> Vec<String> {
    match (&target.kind, target.region(region)) {
        (TargetKind::Twin { control }, _) => vec![format!(
            "curl -XPUT '{control}/twin/v1/regions/{}/release' -H 'Content-Type: application/json' -d {}",
            region.0,
            json_arg(&serde_json::to_value(overrides).unwrap_or_default())
        )],
        (
            TargetKind::Kubernetes {
                chart,
                chart_version,
                release,
            },
            Some(access),
        ) => {
            let mut command = format!(
                "helm upgrade --install {release} {chart} --version {chart_version} --kube-context {} --namespace {}",
                access.kube_context, access.namespace
            );
            for file in &access.values_files {
                command.push_str(&format!(" -f {file}"));
            }
            if !overrides.env.is_empty() {
                command.push_str(" -f orchestration-env-overrides.yaml");
            }
            for (key, value) in &overrides.values {
                command.push_str(&format!(" --set {key}={value}"));
            }
            let mut commands = vec![command];
            if !overrides.env.is_empty() {
                let env: Vec<String> = overrides
                    .env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                commands.push(format!(
                    "# orchestration-env-overrides.yaml adds to orchestration.env: {}",
                    env.join(", ")
                ));
            }
            commands
        }
        (TargetKind::Kubernetes { .. }, None) => Vec::new(),
    }
}

/// The commands that check an expectation by hand.
#[must_use]
pub fn expectation_commands(
    plan: &Plan,
    expectation: &Expectation,
    target: &CommandTarget,
) -> Vec<String> {
    match expectation {
        Expectation::Topology { via, .. } => {
            let (_, base) = rest(target, *via);
            vec![format!(
                "curl -u demo:demo -L '{base}/v2/topology' -H 'Accept: application/json'"
            )]
        }
        Expectation::Change { via, .. } => {
            let (_, base) = management(target, *via);
            vec![format!(
                "curl -XGET '{base}/actuator/cluster' | jq .lastChange"
            )]
        }
        Expectation::Cluster { via, .. } => {
            let (_, base) = management(target, *via);
            vec![format!("curl -XGET '{base}/actuator/cluster'")]
        }
        Expectation::Exporters { via, .. } => {
            let (_, base) = management(target, *via);
            vec![format!("curl -XGET '{base}/actuator/exporters'")]
        }
        Expectation::Snapshot {
            region, repository, ..
        } => {
            let (_, base) = elasticsearch(target, *region);
            vec![format!("curl -XGET '{base}/_snapshot/{repository}/_all'")]
        }
        Expectation::Restored {
            region,
            repository,
            snapshot,
            documents_match,
        } => {
            let (_, base) = elasticsearch(target, *region);
            let mut commands = vec![
                format!("curl -XGET '{base}/_snapshot/{repository}/{snapshot}/_status'"),
                format!("curl -XGET '{base}/_cat/indices?format=json'"),
            ];
            if let Some(source) = documents_match {
                let (_, source_base) = elasticsearch(target, *source);
                commands.push(format!(
                    "curl -XGET '{source_base}/_cat/indices?format=json'  # document counts must be equal"
                ));
            }
            commands
        }
        Expectation::DataContinuity { regions } => regions
            .iter()
            .map(|region| {
                let (_, base) = elasticsearch(target, *region);
                format!(
                    "curl -XPOST '{base}/{}/_search' -H 'Content-Type: application/json' -d '{{\"query\":{{\"terms\":{{\"processInstanceKey\":[\"<every acknowledged key>\"]}}}}}}'",
                    plan.process_instance_index
                )
            })
            .collect(),
        Expectation::Isolated { from, to } => match (&target.kind, target.region(*from), target.region(*to)) {
            (TargetKind::Twin { control }, _, _) => {
                vec![format!("curl -XGET '{control}/twin/v1/state' | jq '.regions[].status'")]
            }
            (TargetKind::Kubernetes { .. }, Some(from_access), Some(to_access)) => vec![format!(
                "kubectl --context {} run c8dr-probe --rm -i --restart=Never --image=curlimages/curl -- curl -m 5 {}  # must fail",
                from_access.kube_context, to_access.management
            )],
            (TargetKind::Kubernetes { .. }, _, _) => Vec::new(),
        },
        Expectation::WebApps { region, .. } => match (&target.kind, target.region(*region)) {
            (TargetKind::Twin { control }, _) => vec![format!(
                "curl -XGET '{control}/twin/v1/regions/{}/release' | jq .activeProfiles",
                region.0
            )],
            (TargetKind::Kubernetes { release, .. }, Some(access)) => vec![format!(
                "kubectl --context {} get cm {release}-zeebe-configuration-unified -n {} -oyaml | grep spring -A2",
                access.kube_context, access.namespace
            )],
            (TargetKind::Kubernetes { .. }, None) => Vec::new(),
        },
        Expectation::InstancesCompleted { region } => {
            let (_, base) = elasticsearch(target, *region);
            vec![format!(
                "curl -XPOST '{base}/{}/_search' -H 'Content-Type: application/json' -d '{{\"_source\":[\"processInstanceKey\",\"state\"],\"query\":{{\"terms\":{{\"processInstanceKey\":[\"<completed keys>\"]}}}}}}'  # state must be COMPLETED",
                plan.process_instance_index
            )]
        }
        Expectation::Instances { region, .. } => {
            let (_, base) = elasticsearch(target, *region);
            vec![format!(
                "curl -XPOST '{base}/{}/_search' -H 'Content-Type: application/json' -d '{{\"query\":{{\"terms\":{{\"processInstanceKey\":[\"<acknowledged keys>\"]}}}}}}'",
                plan.process_instance_index
            )]
        }
    }
}
