//! The kind backend EXECUTED through the whole 8.8 drill, for both lost regions.
//!
//! `clusters_up`, `KindBackend::connect` and `start`, every platform action of the plan in
//! scenario order (`loseRegion`, `recreateRegion`, `deploy`; `healRegion` would run too, the 8.8
//! drill has none), the platform reads its expectations need (`release` for `webApps`,
//! `reachable` for `isolated`, which must hold: not reachable), reachability both ways on the
//! healthy clusters and again once the recreated region is redeployed (reachable),
//! `shutdown` and `clusters_down` run against two scripted clusters
//! (`fake_kind.rs`): every kind, helm and docker argv goes through the crate's
//! `RecordingRunner`, every kube-rs call (plain, `exec`, `portforward`) reaches a local fake API
//! server, the loss proof and the install check ask the fake gateways through the backend's own
//! port-forwards and HTTP clients, and MinIO is replaced through the `StoreLauncher` seam.
//!
//! The recorded sequence is snapshotted per lost region and checked against `drill_commands` for
//! the same plan, section by section (setup, each step, teardown):
//! - every command, Kubernetes call, probe and gateway request the run made appears, in order,
//!   among the plan's lines of that section: a call maps to its `kubectl` line, an applied object
//!   must equal the manifest file the line names, a probe must print what the line expects, and
//!   a plan placeholder (`<ip of c8dr-region1-control-plane>`, `<pod IP of c8dr-probe in ...>`)
//!   stands for one value within the section (node IPs: what `docker inspect` printed);
//! - every command line the plan prints for a platform section was executed (conditional
//!   `#   ` lines excepted), and every file it says it writes exists;
//! - the `isolated` expectation's reachability observation is part of its step's section; the
//!   test's own reachability checks are matched against the lines the same builder prints
//!   (`c8dr_kind::expectation_commands`), and each answer must be what the probe printed;
//! - each platform call's journal (the report's operations) appears in order in the plan too;
//! - the gateway's last answers prove the install (every broker) and each loss (no lost broker).
//!
//! The other loss realisations (node pause with a shared snapshot directory, cluster delete with
//! preloaded images) and the loss proof's fallback (established connections survive the
//! policies) run the same way.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use c8dr_core::backend::Platform;
use c8dr_core::engine::evaluate;
use c8dr_core::plan::{Action, Expectation, Plan};
use c8dr_core::region::RegionId;
use c8dr_kind::artifacts::{DrillShape, PROBE_NAME, probe_answer};
use c8dr_kind::reach::Attempt;
use c8dr_kind::runner::RecordingRunner;
use c8dr_kind::{
    KindBackend, KindConfig, KubeFactory, LossRealisation, SnapshotStore, Timeouts, clusters_down,
    clusters_up, drill_commands, expectation_commands, observed_by_backend,
};
use serde_json::Value;

use super::fake_kind::{
    Event, FAKE_S3_SECRET, FakeFactory, FakeKind, FakeMinio, KubeCall, SimRunner, base64,
};

/// No platform call may take longer: every wait of the backend is satisfied at its first poll
/// by the scripted clusters, so hitting this means a check is polling in vain.
const WITHIN: Duration = Duration::from_secs(10);

fn dump(fake: &FakeKind) -> String {
    fake.events()
        .iter()
        .map(Event::render)
        .collect::<Vec<_>>()
        .join("\n")
}

async fn within<T>(fake: &FakeKind, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WITHIN, future).await {
        Ok(value) => value,
        Err(_) => panic!(
            "{what} did not finish within {WITHIN:?}; recorded so far:\n{}",
            dump(fake)
        ),
    }
}

struct Run {
    config: KindConfig,
    plan: Plan,
    events: Vec<Event>,
    /// Journal (rendered operations) of each platform call, by section.
    journals: Vec<(String, Vec<String>)>,
    /// The test's own reachability checks: section name, from, to.
    reach_checks: Vec<(String, RegionId, RegionId)>,
    /// What the `RecordingRunner` recorded.
    recorded: Vec<String>,
    dir: tempfile::TempDir,
}

/// Whether the last probe `exec` since event `since` printed `to`'s probe answer.
fn probe_printed(fake: &FakeKind, since: usize, config: &KindConfig, to: RegionId) -> bool {
    let expected = probe_answer(config, to);
    let last = fake.events()[since..]
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Exec { result, .. } => Some(result.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no probe exec for reachability:\n{}", dump(fake)));
    last.is_ok_and(|out| out.trim() == expected)
}

/// The test's own reachability check (not in the scenario): each way, it must be reachable.
async fn check_reachable(
    fake: &FakeKind,
    backend: &KindBackend,
    config: &KindConfig,
    when: &str,
    journals: &mut Vec<(String, Vec<String>)>,
    checks: &mut Vec<(String, RegionId, RegionId)>,
) {
    for (from, to) in [(RegionId(0), RegionId(1)), (RegionId(1), RegionId(0))] {
        let section = format!("reach {from} {to} {when}");
        fake.record(Event::Section(section.clone()));
        let since = fake.events().len();
        let observed = within(fake, "reachability", backend.reachability(from, to))
            .await
            .unwrap_or_else(|e| panic!("{section}: {e}\n{}", dump(fake)));
        fake.record(Event::Answer(format!("{:?}", observed.attempt)));
        assert_eq!(
            observed.attempt,
            Attempt::Reached,
            "{section}\n{}",
            dump(fake)
        );
        assert!(probe_printed(fake, since, config, to), "{section}");
        journals.push((section.clone(), observed.journal.operations));
        checks.push((section, from, to));
    }
}

async fn drive(lost: u8, config: KindConfig, connections_survive_policies: bool) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config.with_run_dir(dir.path());
    let mut plan = super::drill::plan(lost);
    c8dr_kind::adapt_plan(&config, &mut plan);
    let per_region = DrillShape::of(&plan).layout.cluster_size / u32::from(config.regions);
    let fake = FakeKind::start(config.clone(), per_region, connections_survive_policies).await;
    let recorder = RecordingRunner::new();
    let runner = Arc::new(SimRunner::new(recorder.clone(), fake.clone()));
    let factory: Arc<dyn KubeFactory> = Arc::new(FakeFactory(fake.clone()));
    let mut journals = Vec::new();

    fake.record(Event::Section("setup".to_owned()));
    let ready = within(
        &fake,
        "clusters up",
        clusters_up(&config, runner.as_ref(), factory.clone()),
    )
    .await
    .unwrap_or_else(|e| panic!("clusters up: {e}\n{}", dump(&fake)));
    assert!(ready.reused.is_empty(), "no cluster existed");
    let backend = KindBackend::connect(config.clone(), &plan, runner.clone(), factory)
        .await
        .expect("listeners bound")
        .with_store_launcher(Arc::new(FakeMinio(fake.clone())));
    let started = within(&fake, "start", backend.start())
        .await
        .unwrap_or_else(|e| panic!("start: {e}\n{}", dump(&fake)));
    let mut setup = ready.journal.operations;
    setup.extend(started.operations);
    journals.push(("setup".to_owned(), setup));
    let mut reach_checks = Vec::new();
    check_reachable(
        &fake,
        &backend,
        &config,
        "healthy",
        &mut journals,
        &mut reach_checks,
    )
    .await;

    let mut recreated = false;
    for (_, step) in plan.steps() {
        fake.record(Event::Section(step.id.clone()));
        let outcome = match &step.action {
            Some(Action::LoseRegion { region, mode }) => {
                Some(within(&fake, "loseRegion", backend.lose_region(*region, *mode)).await)
            }
            Some(Action::HealRegion { region }) => {
                Some(within(&fake, "healRegion", backend.heal_region(*region)).await)
            }
            Some(Action::RecreateRegion { region }) => {
                Some(within(&fake, "recreateRegion", backend.recreate_region(*region)).await)
            }
            Some(Action::Deploy { region, overrides }) => {
                Some(within(&fake, "deploy", backend.deploy(*region, overrides)).await)
            }
            // API actions: the engine sends them through the HTTP clients, not the platform.
            _ => None,
        };
        if let Some(outcome) = outcome {
            let outcome =
                outcome.unwrap_or_else(|e| panic!("step {}: {e}\n{}", step.id, dump(&fake)));
            for note in &outcome.notes {
                fake.record(Event::Answer(format!("note: {note}")));
            }
            journals.push((step.id.clone(), outcome.operations));
        }
        for expectation in &step.expectations {
            match expectation {
                Expectation::WebApps {
                    region,
                    operate,
                    tasklist,
                } => {
                    fake.record(Event::Listed(format!("webApps of {region}: release")));
                    let release = within(&fake, "release", backend.release(*region))
                        .await
                        .unwrap_or_else(|e| panic!("release: {e}\n{}", dump(&fake)));
                    fake.record(Event::Answer(match &release {
                        Some(r) => format!(
                            "revision {}, profiles {}, rollout complete: {}",
                            r.revision,
                            r.active_profiles.join(","),
                            r.rollout_complete
                        ),
                        None => "no release".to_owned(),
                    }));
                    let verdict = evaluate::web_apps(release.as_ref(), *operate, *tasklist);
                    assert!(
                        verdict.holds(),
                        "step {}: {}: {:?}",
                        step.id,
                        expectation.describe(),
                        verdict.problems
                    );
                }
                Expectation::Isolated { from, to } => {
                    fake.record(Event::Listed(format!(
                        "isolated {from} from {to}: reachable"
                    )));
                    let since = fake.events().len();
                    let answer = within(&fake, "reachable", backend.reachable(*from, *to)).await;
                    fake.record(Event::Answer(match &answer {
                        Ok(reachable) => format!("reachable: {reachable}"),
                        Err(e) => format!("error: {e}"),
                    }));
                    // The expectation holds: the loss took effect, whatever realised it.
                    assert_eq!(
                        answer.as_ref().ok(),
                        Some(&false),
                        "step {}: {}: {answer:?}\n{}",
                        step.id,
                        expectation.describe(),
                        dump(&fake)
                    );
                    assert!(
                        !probe_printed(&fake, since, &config, *to),
                        "step {}",
                        step.id
                    );
                }
                _ => {}
            }
        }
        match &step.action {
            Some(Action::RecreateRegion { region }) if *region == plan.lost_region => {
                recreated = true;
            }
            // The recreated region runs again: reachable both ways, as before the loss.
            Some(Action::Deploy { region, .. }) if recreated && *region == plan.lost_region => {
                recreated = false;
                check_reachable(
                    &fake,
                    &backend,
                    &config,
                    "redeployed",
                    &mut journals,
                    &mut reach_checks,
                )
                .await;
            }
            _ => {}
        }
    }
    assert_eq!(
        reach_checks.len(),
        4,
        "healthy and after the redeploy, both ways"
    );

    fake.record(Event::Section("teardown".to_owned()));
    backend.shutdown().await;
    assert_eq!(
        fake.pods_named(PROBE_NAME),
        Vec::<String>::new(),
        "the backend's shutdown removes the probes it created"
    );
    let down = clusters_down(&config, runner.as_ref())
        .await
        .unwrap_or_else(|e| panic!("clusters down: {e}\n{}", dump(&fake)));
    journals.push(("teardown".to_owned(), down.operations));
    Run {
        config,
        plan,
        events: fake.events(),
        journals,
        reach_checks,
        recorded: recorder.recorded(),
        dir,
    }
}

// ---------------------------------------------------------------------------------------------
// Matching the run against the plan

type Bindings = BTreeMap<String, String>;

/// Whether `text` is `pattern` with each `<placeholder>` (other than `<redacted>`) replaced by a
/// value without whitespace; a placeholder seen before must have the same value again. With
/// `described`, `text` may also show the placeholder itself (a journal describes checks).
fn wild(pattern: &str, text: &str, described: bool, bindings: &mut Bindings) -> bool {
    let (mut pattern, mut text) = (pattern, text);
    loop {
        let Some(start) = pattern.find('<') else {
            return pattern == text;
        };
        let Some(len) = pattern[start..].find('>') else {
            return pattern == text;
        };
        let name = &pattern[start..=start + len];
        let mut literal = &pattern[..start];
        pattern = &pattern[start + len + 1..];
        // Printed command lines shell-quote a placeholder (it has spaces); its value needs none.
        if name != "<redacted>"
            && let (Some(before), Some(rest)) =
                (literal.strip_suffix('\''), pattern.strip_prefix('\''))
        {
            literal = before;
            pattern = rest;
        }
        let Some(after) = text.strip_prefix(literal) else {
            return false;
        };
        if name == "<redacted>" {
            let Some(after) = after.strip_prefix(name) else {
                return false;
            };
            text = after;
            continue;
        }
        if described && let Some(rest) = after.strip_prefix(name) {
            text = rest;
            continue;
        }
        let next = &pattern[..pattern.find('<').unwrap_or(pattern.len())];
        let end = if next.is_empty() {
            Some(after.len())
        } else {
            after.find(next)
        };
        let Some(end) = end else { return false };
        let value = &after[..end];
        if value.is_empty() || value.contains(char::is_whitespace) || value.contains('<') {
            return false;
        }
        if bindings.get(name).is_some_and(|bound| bound != value) {
            return false;
        }
        bindings.insert(name.to_owned(), value.to_owned());
        text = &after[end..];
    }
}

fn command_part(line: &str) -> &str {
    line.split("  # ").next().unwrap_or(line)
}

fn comment_part(line: &str) -> Option<&str> {
    line.split_once("  # ").map(|(_, c)| c)
}

/// Whether a plan line is the one sought (binding placeholders on the way).
type LineTest = dyn Fn(&str, &mut Bindings) -> bool;

/// What one recorded thing requires of the plan: a line it matches. Mutations and commands
/// consume their line; reads (which may poll, and several of which serve one line) do not.
struct Need {
    shown: String,
    consumes: bool,
    test: Box<LineTest>,
}

fn need(shown: &str, consumes: bool, test: impl Fn(&str, &mut Bindings) -> bool + 'static) -> Need {
    Need {
        shown: shown.to_owned(),
        consumes,
        test: Box::new(test),
    }
}

/// The YAML documents of a manifest file, as JSON.
fn manifest_docs(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split("---\n")
        .filter(|doc| {
            doc.lines()
                .any(|l| !l.trim().is_empty() && !l.starts_with('#'))
        })
        .filter_map(|doc| serde_saphyr::from_str::<Value>(doc).ok())
        .collect()
}

/// `<prefix>-f <file>` where the file holds `object` (same kind and name, equal content).
fn names_file_holding(line: &str, prefix: &str, object: &Value) -> bool {
    let Some(path) = command_part(line).strip_prefix(prefix) else {
        return false;
    };
    manifest_docs(path).iter().any(|doc| {
        doc.get("kind") == object.get("kind")
            && doc["metadata"]["name"] == object["metadata"]["name"]
            && doc == object
    })
}

fn kube_needs(call: &KubeCall) -> Vec<Need> {
    let shown = Event::Kube(call.clone()).render();
    let never = |why: &str| vec![need(&format!("{shown} [{why}]"), true, |_, _| false)];
    let Some(t) = call.target() else {
        return never("not a Kubernetes path");
    };
    let ctx = call.context.clone();
    let ns = t.namespace.clone().unwrap_or_default();
    let k = format!("kubectl --context {ctx} -n {ns}");
    let name = t.name.clone().unwrap_or_default();
    let body = call.body.clone();
    let selector = call.param("labelSelector");
    let apply = call.content_type == "application/apply-patch+yaml";
    let applied_as_c8dr = call.param("fieldManager").as_deref() == Some("c8dr")
        && call.param("force").as_deref() == Some("true");
    match (call.method.as_str(), t.resource.as_str(), t.name.is_some()) {
        ("POST", "namespaces", false) => {
            let created = body["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let line = format!("kubectl --context {ctx} create namespace {created}");
            vec![need(&shown, true, move |l, _| command_part(l) == line)]
        }
        ("PATCH", "secrets", true) if apply && name == c8dr_kind::artifacts::S3_SECRET => {
            if !applied_as_c8dr {
                return never("not applied as field manager c8dr with force");
            }
            let prefix = format!("{k} create secret generic {name} --from-literal=S3_ACCESS_KEY=");
            vec![need(&shown, true, move |l, _| {
                let Some(rest) = command_part(l).strip_prefix(&prefix) else {
                    return false;
                };
                let Some(access) = rest.strip_suffix(" --from-literal=S3_SECRET_KEY=<redacted>")
                else {
                    return false;
                };
                body["data"]["S3_ACCESS_KEY"] == base64(access.as_bytes()).as_str()
                    && body["data"]["S3_SECRET_KEY"] == base64(FAKE_S3_SECRET.as_bytes()).as_str()
            })]
        }
        ("PATCH", "networkpolicies" | "pods" | "services", true) if apply => {
            if !applied_as_c8dr {
                return never("not applied as field manager c8dr with force");
            }
            // The probe's Pod and Service are one line (one manifest): the Service completes it.
            let consumes = !(t.resource == "pods" && name == PROBE_NAME);
            let prefix =
                format!("{k} apply --server-side --field-manager=c8dr --force-conflicts -f ");
            vec![need(&shown, consumes, move |l, _| {
                names_file_holding(l, &prefix, &body)
            })]
        }
        ("GET", "configmaps", true) if ns == "kube-system" && name == "coredns" => {
            let prefix = format!("{k} patch configmap coredns --type merge --patch-file ");
            vec![need(&shown, false, move |l, _| {
                command_part(l).starts_with(&prefix)
            })]
        }
        ("PATCH", "configmaps", true)
            if ns == "kube-system"
                && name == "coredns"
                && call.content_type == "application/merge-patch+json" =>
        {
            let prefix = format!("{k} patch configmap coredns --type merge --patch-file ");
            vec![need(&shown, true, move |l, _| {
                command_part(l)
                    .strip_prefix(&prefix)
                    .is_some_and(|path| manifest_docs(path) == vec![body.clone()])
            })]
        }
        ("GET", "pods", true) if name == PROBE_NAME => {
            // Looking the probe up, waiting for it to run, or looking up its IP for a peer's
            // pod-IP probe.
            let lookup = format!("{k} get pod {PROBE_NAME}");
            let ready = format!("{k} wait --for=condition=Ready pod/{PROBE_NAME} ");
            let ip_of = format!("<pod IP of {PROBE_NAME} in {ctx}>");
            vec![need(&shown, false, move |l, _| {
                command_part(l) == lookup
                    || command_part(l).starts_with(&ready)
                    || (l.contains(&format!(" exec {PROBE_NAME} -- ")) && l.contains(&ip_of))
            })]
        }
        ("DELETE", "pods" | "services", true) if name == PROBE_NAME => {
            let line =
                format!("{k} delete pod,service {PROBE_NAME} --ignore-not-found --grace-period=0");
            let pod = t.resource == "pods";
            if pod && body["gracePeriodSeconds"] != 0 {
                return never("the probe pod is not deleted with grace period 0");
            }
            vec![need(&shown, !pod, move |l, _| command_part(l) == line)]
        }
        ("DELETE", "networkpolicies", true) => {
            let line = format!("{k} delete networkpolicy {name} --ignore-not-found");
            vec![need(&shown, true, move |l, _| command_part(l) == line)]
        }
        ("DELETE", "pods", false) if selector.is_none() => {
            let line = format!("{k} delete pod --all --wait=false");
            vec![need(&shown, true, move |l, _| command_part(l) == line)]
        }
        ("DELETE", "persistentvolumeclaims", false) if selector.is_none() => {
            let line = format!("{k} delete pvc --all --wait=false");
            vec![need(&shown, true, move |l, _| command_part(l) == line)]
        }
        ("GET", "pods" | "persistentvolumeclaims", false) if selector.is_none() => {
            let prefix = format!("{k} wait --for=delete pod,pvc --all --timeout=");
            vec![need(&shown, false, move |l, _| {
                command_part(l).starts_with(&prefix)
            })]
        }
        ("GET", "services", true) => {
            // A port-forward resolving its Service to a running pod.
            let prefix = format!("kubectl --context {ctx} port-forward services/{name} ");
            let in_ns = format!(" -n {ns}");
            vec![need(&shown, false, move |l, _| {
                l.starts_with(&prefix) && l.contains(&in_ns)
            })]
        }
        ("GET", "pods", false) => {
            // A port-forward resolving its Service's pods, or a release read listing a
            // StatefulSet's pods by its selector.
            let prefix = format!("kubectl --context {ctx} port-forward services/");
            let in_ns = format!(" -n {ns}");
            let by_selector = selector.map(|s| format!("{k} get pods -l {s}"));
            vec![need(&shown, false, move |l, b| {
                (l.starts_with(&prefix) && l.contains(&in_ns))
                    || by_selector
                        .as_ref()
                        .is_some_and(|line| wild(command_part(l), line, false, b))
            })]
        }
        ("GET", "nodes", false) => {
            let prefix = format!("kubectl --context {ctx} get nodes -o jsonpath=");
            vec![need(&shown, false, move |l, _| {
                command_part(l).starts_with(&prefix) && l.contains("InternalIP")
            })]
        }
        ("GET", "secrets", false) if selector.is_some() => {
            let line = format!("{k} get secrets -l {}", selector.unwrap_or_default());
            vec![need(&shown, false, move |l, _| command_part(l) == line)]
        }
        ("GET", "statefulsets", true) => {
            let line = format!("{k} get statefulset {name}");
            vec![need(&shown, false, move |l, _| command_part(l) == line)]
        }
        ("GET", "configmaps", true) => {
            let line = format!("{k} get configmap {name}");
            vec![need(&shown, false, move |l, _| command_part(l) == line)]
        }
        _ => never("no kubectl line in the plan corresponds to this call"),
    }
}

/// What the plan must show for one recorded thing (nothing for the test's own markers).
fn needs(event: &Event) -> Vec<Need> {
    let shown = event.render();
    match event {
        // A host directory is prepared on the host, not through the runner: checked on its own.
        Event::Section(_) | Event::Listed(_) | Event::Answer(_) | Event::HostMount { .. } => {
            Vec::new()
        }
        Event::Command(line) => {
            let line = line.clone();
            vec![need(&shown, true, move |l, b| {
                wild(command_part(l), &line, false, b)
            })]
        }
        Event::Kube(call) => kube_needs(call),
        Event::Exec {
            context,
            namespace,
            pod,
            command,
            result,
        } => {
            let line = format!(
                "kubectl --context {context} -n {namespace} exec {pod} -- {}",
                command.join(" ")
            );
            let printed = result.as_ref().map(|out| out.trim().to_owned()).ok();
            // A proof line says what the probe must print; a reachability line reads whatever
            // it prints (the test compares the backend's answer with it).
            vec![need(&shown, false, move |l, b| {
                wild(command_part(l), &line, false, b)
                    && (comment_part(l)
                        .and_then(|c| c.strip_prefix("expect "))
                        .map(str::to_owned)
                        == printed
                        || comment_part(l)
                            .is_some_and(|c| c.starts_with("reachable iff it prints ")))
            })]
        }
        Event::PortForward {
            context,
            namespace,
            port,
            ..
        } => {
            let prefix = format!("kubectl --context {context} port-forward services/");
            let ports = format!(" {port}:{port} -n {namespace}");
            vec![need(&shown, false, move |l, _| {
                l.starts_with(&prefix) && l.contains(&ports)
            })]
        }
        Event::Gateway {
            context,
            namespace,
            request,
            authorized,
            ..
        } => {
            let prefix = format!("kubectl --context {context} port-forward services/");
            let path = request.strip_prefix("GET ").unwrap_or(request);
            let curl =
                format!(" -n {namespace} & curl -u demo:demo -L 'http://localhost:8080{path}'");
            let authorized = *authorized;
            vec![need(&shown, false, move |l, _| {
                authorized && l.starts_with(&prefix) && command_part(l).ends_with(&curl)
            })]
        }
        Event::StoreStart { image, bucket } => {
            let run = format!(
                "docker run -d --name {} --network kind ",
                c8dr_kind::ops::MINIO_CONTAINER
            );
            let image = format!(" {image} server /data");
            let bucket = format!(" mc mb --ignore-existing c8dr/{bucket}'");
            vec![
                need(&shown, true, move |l, _| {
                    l.starts_with(&run) && command_part(l).ends_with(&image)
                }),
                need(&shown, true, move |l, _| {
                    l.starts_with("docker exec c8dr-minio sh -c ") && l.ends_with(&bucket)
                }),
            ]
        }
        // Removed by the backend's shutdown, and again (best effort) by `clusters down`.
        Event::StoreStop => vec![need(&shown, false, |l, _| {
            command_part(l) == format!("docker rm -f {}", c8dr_kind::ops::MINIO_CONTAINER)
        })],
    }
}

/// Embed `needs` in order into `lines`; returns which lines were matched.
fn embed(section: &str, lines: &[String], needs: &[Need], bindings: &mut Bindings) -> Vec<bool> {
    let mut matched = vec![false; lines.len()];
    let mut at = 0;
    for n in needs {
        let found = (at..lines.len()).find_map(|i| {
            let mut trial = bindings.clone();
            (n.test)(&lines[i], &mut trial).then_some((i, trial))
        });
        let Some((i, trial)) = found else {
            panic!(
                "section {section}: `{}` matches no plan line from line {at} on (bound: {bindings:?}):\n{}",
                n.shown,
                lines
                    .iter()
                    .enumerate()
                    .map(|(j, l)| format!("{}{j:3} {l}", if j == at { ">" } else { " " }))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        };
        *bindings = trial;
        matched[i] = true;
        at = if n.consumes { i + 1 } else { i };
    }
    matched
}

/// The plan's lines of one section, and which of them only run when a condition holds (printed
/// as `#   <line>` under an `# only if ...` comment; listed here without the `#   `).
#[derive(Debug, Default)]
struct PlanSection {
    lines: Vec<String>,
    conditional: Vec<bool>,
}

/// The plan's lines by section: `setup`, each step id, `teardown`.
fn plan_sections(lines: &[String]) -> BTreeMap<String, PlanSection> {
    let mut sections: BTreeMap<String, PlanSection> = BTreeMap::new();
    let mut current = None;
    for line in lines {
        if let Some(header) = line.strip_prefix("## ") {
            let key = header.split(' ').next().unwrap_or_default().to_owned();
            sections.insert(key.clone(), PlanSection::default());
            current = Some(key);
        } else if let Some(key) = &current {
            let section = sections.entry(key.clone()).or_default();
            match line.strip_prefix("#   ") {
                Some(conditional) => {
                    section.lines.push(conditional.to_owned());
                    section.conditional.push(true);
                }
                None => {
                    section.lines.push(line.clone());
                    section.conditional.push(false);
                }
            }
        }
    }
    sections
}

/// The run's platform events by section (every read the backend makes for an expectation
/// included: the plan lists them all).
fn run_sections(events: &[Event]) -> Vec<(String, Vec<Event>)> {
    let mut sections: Vec<(String, Vec<Event>)> = Vec::new();
    for event in events {
        match event {
            Event::Section(name) => sections.push((name.clone(), Vec::new())),
            other => {
                if let Some((_, section)) = sections.last_mut() {
                    section.push(other.clone());
                }
            }
        }
    }
    sections
}

/// The plan's lines of a step that the engine sends through the HTTP clients (API actions and
/// the expectations it observes through the APIs), not the backend.
fn api_lines(run: &Run, section: &str) -> Vec<String> {
    let target = c8dr_kind::command_target(&run.config);
    let mut lines = Vec::new();
    for (_, step) in run.plan.steps().filter(|(_, s)| s.id == section) {
        if let Some(action) = &step.action
            && c8dr_kind::platform_commands(&run.config, &run.plan, action).is_none()
        {
            lines.extend(c8dr_core::render::action_commands(
                &run.plan, action, &target,
            ));
        }
        for expectation in &step.expectations {
            if !observed_by_backend(expectation) {
                lines.extend(expectation_commands(&run.config, &run.plan, expectation));
            }
        }
    }
    lines
}

fn check_against_plan(run: &Run) {
    let lines = drill_commands(&run.config, &run.plan);
    let mut sections = plan_sections(&lines);
    // The test's own reachability checks: what the plan would print for `isolated: {from, to}`.
    for (name, from, to) in &run.reach_checks {
        let mut listed = vec![format!("## {name}")];
        listed.extend(expectation_commands(
            &run.config,
            &run.plan,
            &Expectation::Isolated {
                from: *from,
                to: *to,
            },
        ));
        let section = plan_sections(&listed)
            .into_values()
            .next()
            .expect("one section");
        sections.insert(name.clone(), section);
    }
    // Placeholders are bound per section (a recreated probe pod has a new IP); the node IPs are
    // what the Node objects say.
    let node_ips: Bindings = run
        .config
        .region_ids()
        .map(|r| {
            (
                format!("<ip of {}>", run.config.node_name(r)),
                FakeKind::node_ip(r.index()),
            )
        })
        .collect();
    let platform: Vec<String> = run
        .plan
        .steps()
        .filter(|(_, s)| {
            matches!(
                s.action,
                Some(
                    Action::LoseRegion { .. }
                        | Action::HealRegion { .. }
                        | Action::RecreateRegion { .. }
                        | Action::Deploy { .. }
                )
            ) || s.expectations.iter().any(observed_by_backend)
        })
        .map(|(_, s)| s.id.clone())
        .chain(["setup".to_owned(), "teardown".to_owned()])
        .chain(run.reach_checks.iter().map(|(name, _, _)| name.clone()))
        .collect();
    for (section, events) in run_sections(&run.events) {
        let all: Vec<Need> = events.iter().flat_map(needs).collect();
        // Steps without an action have no section in the plan, and must do nothing here.
        let none = PlanSection::default();
        let plan = sections.get(&section).unwrap_or(&none);
        if !platform.contains(&section) {
            assert!(
                all.is_empty(),
                "step {section} is not a platform action, yet the backend did: {:?}",
                all.iter().map(|n| &n.shown).collect::<Vec<_>>()
            );
            continue;
        }
        let matched = embed(&section, &plan.lines, &all, &mut node_ips.clone());
        // The engine's own API calls (API actions, expectations it observes through the HTTP
        // clients) are not the backend's: this test does not make them.
        let api = api_lines(run, &section);
        // `mkdir -p <dir> && chmod 0777 <dir>` is done when kind mounted the directory with
        // mode 0777 (Elasticsearch, uid 1000, must write there).
        let prepared: Vec<String> = events
            .iter()
            .filter_map(|e| match e {
                Event::HostMount { host, mode } if *mode == 0o777 => {
                    Some(format!("mkdir -p {host} && chmod 0777 {host}"))
                }
                _ => None,
            })
            .collect();
        let skipped: Vec<&String> = plan
            .lines
            .iter()
            .zip(&matched)
            .zip(&plan.conditional)
            .filter(|((l, m), c)| {
                !**m && !**c
                    && !l.starts_with('#')
                    && !api.contains(*l)
                    && !prepared.iter().any(|p| command_part(l) == p)
            })
            .map(|((l, _), _)| l)
            .collect();
        assert!(
            skipped.is_empty(),
            "section {section}: the plan prints these but the run did not do them: {skipped:#?}"
        );
        for line in &plan.lines {
            if let Some(rest) = line.strip_prefix("# write ") {
                let path = rest.split(" (").next().unwrap_or_default();
                assert!(
                    std::path::Path::new(path).is_file(),
                    "section {section}: {path} is not written"
                );
            }
        }
    }
    // The journals (the report's operations) read the same as the plan.
    for (section, journal) in &run.journals {
        let plan = &sections[section];
        let journal: Vec<Need> = journal
            .iter()
            .map(|line| {
                let line = line.clone();
                need(&format!("journal: {line}"), true, move |l, b| {
                    wild(l, &line, true, b)
                })
            })
            .collect();
        embed(section, &plan.lines, &journal, &mut node_ips.clone());
    }
}

fn check(run: &Run) -> String {
    let commands: Vec<String> = run
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Command(line) => Some(line.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        commands, run.recorded,
        "every command went through the RecordingRunner"
    );
    let text = run
        .events
        .iter()
        .map(Event::render)
        .collect::<Vec<_>>()
        .join("\n");
    let plan = drill_commands(&run.config, &run.plan).join("\n");
    let journals = format!("{:?}", run.journals);
    for (what, shown) in [
        ("the run", &text),
        ("the plan", &plan),
        ("the journals", &journals),
    ] {
        assert!(
            !shown.contains(FAKE_S3_SECRET),
            "{what} shows the S3 secret"
        );
    }
    check_against_plan(run);
    check_gateway_answers(run);
    let run_dir = run.dir.path().display().to_string();
    text.replace(&run_dir, "<run-dir>")
}

/// The checks passed on what the gateway really answered last: every broker after the install,
/// none of the lost region's after a loss.
fn check_gateway_answers(run: &Run) {
    let sections = run_sections(&run.events);
    let last_answer = |section: &str| {
        sections
            .iter()
            .filter(|(name, _)| name == section)
            .flat_map(|(_, events)| events)
            .filter_map(|e| match e {
                Event::Gateway { brokers, .. } => Some(brokers.clone()),
                _ => None,
            })
            .next_back()
            .unwrap_or_else(|| panic!("section {section} asked no gateway"))
    };
    let size = run.plan.layout.cluster_size;
    assert_eq!(last_answer("setup"), (0..size).collect::<Vec<_>>());
    for (_, step) in run.plan.steps() {
        if let Some(Action::LoseRegion { region, .. }) = &step.action {
            let regions = u32::from(run.config.regions);
            let lost: Vec<u32> = last_answer(&step.id)
                .into_iter()
                .filter(|b| b % regions == u32::from(region.0))
                .collect();
            assert!(lost.is_empty(), "step {}: still listed {lost:?}", step.id);
        }
    }
}

/// Only the given sections of a checked run's listing.
fn sections_of(listing: &str, keep: &[&str]) -> String {
    let mut kept = Vec::new();
    let mut keeping = false;
    for line in listing.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            keeping = keep.contains(&name);
        }
        if keeping {
            kept.push(line);
        }
    }
    kept.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_runs_the_8_8_drill_for_lost_region_1_as_planned() {
    let started = Instant::now();
    let run = drive(1, KindConfig::default(), false).await;
    insta::assert_snapshot!(check(&run));
    assert!(started.elapsed() < WITHIN, "took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_runs_the_8_8_drill_for_lost_region_0_as_planned() {
    let started = Instant::now();
    let run = drive(0, KindConfig::default(), false).await;
    insta::assert_snapshot!(check(&run));
    assert!(started.elapsed() < WITHIN, "took {:?}", started.elapsed());
}

/// The other loss realisations, and the loss proof's fallback, run the whole drill as planned
/// too; the snapshots show the loss and recreate steps (the rest is as above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_runs_the_other_loss_realisations_and_the_proof_fallback_as_planned() {
    let started = Instant::now();
    // With the shared-directory snapshot store (no MinIO, no S3 secret, an fs repository).
    let shared = tempfile::tempdir().expect("temp dir");
    let store = shared.path().join("snapshots");
    // The paused API server never answers: the reachability probe gives up on it after its
    // deadline (short here, to stay fast) and lets the connection attempt decide, and the
    // recreate keeps the node address learned before the pause (after its read deadline).
    let node_pause = KindConfig::default()
        .with_loss_mode(LossRealisation::NodePause)
        .with_snapshot_store(SnapshotStore::SharedDirectory(store.clone()))
        .with_timeouts(Timeouts {
            probe: Duration::from_millis(500),
            kube_read: Duration::from_millis(500),
            ..Timeouts::default()
        });
    let run = drive(1, node_pause, false).await;
    let mounted: Vec<&Event> = run
        .events
        .iter()
        .filter(|e| matches!(e, Event::HostMount { mode: 0o777, .. }))
        .collect();
    assert_eq!(
        mounted.len(),
        2,
        "clusters up creates the shared snapshot directory, mode 0777, before kind mounts it into both nodes"
    );
    insta::assert_snapshot!(
        "node_pause_lost_region_1",
        sections_of(&check(&run), &["2.1", "4.1"])
    );
    // With images preloaded into the nodes (again into the recreated cluster).
    let cluster_delete = KindConfig::default()
        .with_loss_mode(LossRealisation::ClusterDelete)
        .with_preload_images(vec!["camunda/camunda:8.8.0".to_owned()]);
    let run = drive(0, cluster_delete, false).await;
    insta::assert_snapshot!(
        "cluster_delete_lost_region_0",
        sections_of(&check(&run), &["2.1", "4.1"])
    );
    // Established connections survive the policies: the proof fails at once (deadline 0), the
    // lost region's pods are deleted, and the proof passes.
    let impatient = KindConfig::default().with_timeouts(Timeouts {
        loss_proof: Duration::ZERO,
        ..Timeouts::default()
    });
    let run = drive(1, impatient, true).await;
    let listing = check(&run);
    assert!(
        listing.contains("note: established connections survived the NetworkPolicies"),
        "{listing}"
    );
    assert!(
        listing.contains(
            "kube kind-c8dr-region1: DELETE /api/v1/namespaces/camunda-region1/pods -> 200"
        ),
        "the lost region's pods are restarted: {listing}"
    );
    insta::assert_snapshot!(
        "surviving_connections_lost_region_1",
        sections_of(&listing, &["2.1"])
    );
    assert!(started.elapsed() < WITHIN, "took {:?}", started.elapsed());
}
