//! The diagnostics bundle: what it holds after a failed drill on the scripted clusters, that a
//! frozen API server cannot hold it up, and that it is written without a backend when
//! `clusters up` fails.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use c8dr_core::backend::Platform;
use c8dr_core::region::{LossMode, RegionId};
use c8dr_kind::runner::{CommandOutput, RecordingRunner};
use c8dr_kind::{KindConfig, KubeFactory, LossRealisation, clusters_up, collect_diagnostics};
use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod};

use super::fake_kind::{Drill, Event, FakeFactory, FakeKind, SimRunner};

const WITHIN: Duration = Duration::from_secs(10);

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn commands(fake: &FakeKind) -> Vec<String> {
    fake.events()
        .iter()
        .filter_map(|e| match e {
            Event::Command(line) => Some(line.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_drill_leaves_a_bundle_with_every_pod_of_both_regions() {
    let drill = Drill::installed(RegionId(1), KindConfig::default()).await;
    drill
        .backend
        .lose_region(RegionId(1), LossMode::CutOff)
        .await
        .expect("lost");
    // Something the cluster said about a broker.
    let event: KubeEvent = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "camunda-zeebe-0.1"},
        "involvedObject": {"kind": "Pod", "name": "camunda-zeebe-0", "namespace": "camunda-region0"},
        "type": "Warning", "reason": "Unhealthy", "count": 3,
        "message": "Readiness probe failed: HTTP probe failed with statuscode: 503"
    }))
    .expect("event");
    kube::Api::<KubeEvent>::namespaced(drill.client(RegionId(0)).await, "camunda-region0")
        .create(&kube::api::PostParams::default(), &event)
        .await
        .expect("event created");
    let out = tempfile::tempdir().expect("temp dir");
    let dir = out.path().join("diagnostics");
    let files = tokio::time::timeout(WITHIN, drill.backend.diagnostics(&dir))
        .await
        .expect("in time")
        .expect("written");
    for file in &files {
        assert!(file.is_file(), "{}", file.display());
    }
    for region in ["region0", "region1"] {
        let base = dir.join(region);
        let pods: Vec<Pod> = serde_json::from_str(&read(&base.join("pods.json"))).expect("pods");
        let names: Vec<String> = pods
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        assert!(names.contains(&"camunda-zeebe-0".to_owned()), "{names:?}");
        assert!(names.contains(&"camunda-elasticsearch-master-0".to_owned()));
        for name in &names {
            let describe = read(&base.join(format!("describe/{name}.txt")));
            assert!(
                describe.starts_with(&format!("Name:         {name}\n")),
                "{describe}"
            );
            assert!(describe.contains("\nStatus:       Running\n"), "{describe}");
            assert!(describe.contains("\nContainers:\n"), "{describe}");
            assert!(
                !describe.trim_start().starts_with('{'),
                "describe is text, not JSON"
            );
            let log = read(&base.join(format!("logs/{name}-main.log")));
            assert_eq!(log, format!("log of {name}/main in kind-c8dr-{region}\n"));
            assert!(!base.join(format!("logs/{name}-main-previous.log")).exists());
        }
        // Init containers: their logs and their part of the describe text.
        let es = "camunda-elasticsearch-master-0";
        assert!(read(&base.join(format!("logs/{es}-init-keystore.log"))).contains("init-keystore"));
        assert!(
            read(&base.join(format!("describe/{es}.txt")))
                .contains("Init Containers:\n  init-keystore:\n")
        );
        assert!(base.join("events.json").is_file());
        assert!(read(&base.join("topology.txt")).contains("brokers"));
    }
    let describe = read(&dir.join("region0/describe/camunda-zeebe-0.txt"));
    assert!(
        describe.contains(
            "Events:\n  Warning Unhealthy (x3, last -): Readiness probe failed: HTTP probe failed with statuscode: 503"
        ),
        "{describe}"
    );
    assert_eq!(
        read(&dir.join("region0/fault-policies.txt")),
        "c8dr-loss-fence-region1"
    );
    assert_eq!(
        read(&dir.join("region1/fault-policies.txt")),
        "c8dr-loss-deny-all"
    );
    // The fake gateways only serve the topology: the other dumps are listed as errors.
    let errors = read(&dir.join("errors.txt"));
    assert!(
        errors.contains("region0: cluster.txt: ") && errors.contains("region1: exporters.txt: "),
        "{errors}"
    );
    let exported: Vec<String> = commands(&drill.fake)
        .into_iter()
        .filter(|c| c.starts_with("kind export logs"))
        .collect();
    assert_eq!(
        exported,
        ["region0", "region1"]
            .iter()
            .map(|r| format!(
                "kind export logs {}/kind/c8dr-{r} --name c8dr-{r}",
                dir.display()
            ))
            .collect::<Vec<_>>()
    );
    drill.backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_api_server_cannot_hold_the_bundle_up() {
    // Paused: the region's API server and gateway accept connections and never answer.
    let drill = Drill::installed(
        RegionId(1),
        KindConfig::default().with_loss_mode(LossRealisation::NodePause),
    )
    .await;
    drill
        .backend
        .lose_region(RegionId(1), LossMode::Down)
        .await
        .expect("lost");
    let out = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    tokio::time::timeout(WITHIN, drill.backend.diagnostics(out.path()))
        .await
        .expect("every call has a deadline")
        .expect("written");
    assert!(started.elapsed() < WITHIN, "took {:?}", started.elapsed());
    let errors = read(&out.path().join("errors.txt"));
    assert!(
        errors.contains("region1: pods: list pods in kind-c8dr-region1 got no answer within 500ms"),
        "{errors}"
    );
    assert!(
        out.path().join("region0/pods.json").is_file(),
        "the other region is complete"
    );
    drill.backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_is_written_when_clusters_up_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = KindConfig::default().with_run_dir(dir.path().join("run"));
    let fake = FakeKind::start(config.clone(), 4, false).await;
    let recorder = RecordingRunner::new().respond(
        "kind create cluster --name c8dr-region1",
        CommandOutput::failed(
            1,
            "ERROR: failed to create cluster: could not find a log line",
        ),
    );
    let runner = SimRunner::new(recorder, fake.clone());
    let factory: Arc<dyn KubeFactory> = Arc::new(FakeFactory(fake.clone()));
    let failed = clusters_up(&config, &runner, factory.clone()).await;
    assert!(failed.is_err(), "{failed:?}");
    let bundle = dir.path().join("diagnostics");
    let files = tokio::time::timeout(
        WITHIN,
        collect_diagnostics(&config, &runner, factory, &bundle),
    )
    .await
    .expect("in time")
    .expect("written");
    assert!(
        files.contains(&bundle.join("region0/pods.json")),
        "{files:?}"
    );
    assert!(
        !files.iter().any(|f| f.ends_with("topology.txt")),
        "no gateway without a backend"
    );
    assert!(
        commands(&fake).iter().any(|c| c
            == &format!(
                "kind export logs {}/kind/c8dr-region1 --name c8dr-region1",
                bundle.display()
            )),
        "kind's own logs of the cluster that failed"
    );
}

#[test]
fn describe_shows_container_states_restarts_and_conditions() {
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "camunda-zeebe-1", "namespace": "camunda-region1", "labels": {"app": "camunda-platform"}},
        "spec": {"nodeName": "c8dr-region1-control-plane",
                 "initContainers": [{"name": "init", "image": "busybox"}],
                 "containers": [{"name": "zeebe", "image": "camunda/camunda:8.8.0"}]},
        "status": {"phase": "Running", "podIP": "10.245.0.12",
                   "initContainerStatuses": [{"name": "init", "image": "busybox", "imageID": "", "ready": true, "restartCount": 0,
                       "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
                   "containerStatuses": [{"name": "zeebe", "image": "camunda/camunda:8.8.0", "imageID": "", "ready": false, "restartCount": 4,
                       "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s"}},
                       "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}],
                   "conditions": [{"type": "Ready", "status": "False"}]}
    }))
    .expect("pod");
    let text = c8dr_kind::diagnostics::describe_pod(&pod, &[]);
    for expected in [
        "Node:         c8dr-region1-control-plane\n",
        "Labels:       app=camunda-platform\n",
        "IP:           10.245.0.12\n",
        "Init Containers:\n  init:\n    Image:          busybox\n    State:          Terminated (Completed, exit code 0, finished -)\n",
        "  zeebe:\n    Image:          camunda/camunda:8.8.0\n    State:          Waiting (CrashLoopBackOff): back-off 2m40s\n    Last State:     Terminated (OOMKilled, exit code 137, finished -)\n    Ready:          false\n    Restart Count:  4\n",
        "Conditions:\n  Ready                       False\n",
        "Events:\n  <none>\n",
    ] {
        assert!(text.contains(expected), "{expected}\n---\n{text}");
    }
}
