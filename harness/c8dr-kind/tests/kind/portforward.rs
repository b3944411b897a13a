//! c8dr's own port-forwarder (`c8dr_kind::portforward`): every connection resolves the Service
//! to a pod that runs now and opens a stream of its own, so a restarted pod is followed.

use std::time::Duration;

use c8dr_core::backend::CamundaApis;
use c8dr_core::region::RegionId;
use c8dr_kind::KindConfig;
use c8dr_kind::kube::KubeClients;
use c8dr_kind::portforward::{ForwardTarget, open_stream};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, PostParams};

use super::fake_kind::{Drill, Event};

fn gateway(config: &KindConfig, region: RegionId) -> ForwardTarget {
    ForwardTarget {
        region,
        context: config.context(region),
        namespace: config.namespace(region),
        service: config.gateway_service(),
        port: 8080,
    }
}

/// The pods the gateway's port-forwards went to since event `since`.
fn forwarded(drill: &Drill, since: usize) -> Vec<String> {
    drill.fake.events()[since..]
        .iter()
        .filter_map(|e| match e {
            Event::PortForward {
                pod, port: 8080, ..
            } => Some(pod.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backends_endpoints_follow_a_restarted_gateway_pod() {
    let drill = Drill::installed(RegionId(1), KindConfig::default()).await;
    let config = &drill.config;
    let region = RegionId(0);
    let apis =
        c8dr_client::HttpApis::new(drill.backend.endpoints(), Some(drill.backend.credentials()));
    let since = drill.fake.events().len();
    let before = apis.topology(region).await.expect("topology");
    assert_eq!(before.brokers.len(), 8);
    let old = forwarded(&drill, since);
    assert_eq!(old, vec!["camunda-zeebe-gateway-r1"]);

    // The gateway pod goes away: no pod runs behind the Service, the connection is dropped.
    let pods: Api<Pod> = Api::namespaced(drill.client(region).await, &config.namespace(region));
    pods.delete(&old[0], &DeleteParams::default())
        .await
        .expect("deleted");
    let since = drill.fake.events().len();
    let gone = apis.topology(region).await;
    assert!(gone.is_err(), "no gateway pod runs: {gone:?}");
    assert_eq!(forwarded(&drill, since), Vec::<String>::new());

    // Its controller starts a new one, with a new name: the next connection goes there, through
    // a stream of its own; and so does every connection after it.
    let new: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "camunda-zeebe-gateway-r1-x7k2p",
                     "labels": {"app": "camunda-platform", "app.kubernetes.io/instance": "camunda",
                                "component": "zeebe-gateway"}},
        "spec": {"containers": [{"name": "main"}]}
    }))
    .expect("pod");
    pods.create(&PostParams::default(), &new)
        .await
        .expect("created");
    let since = drill.fake.events().len();
    for _ in 0..2 {
        let after = apis.topology(region).await.expect("topology again");
        assert_eq!(after.brokers.len(), 8);
    }
    assert_eq!(
        forwarded(&drill, since),
        vec![
            "camunda-zeebe-gateway-r1-x7k2p",
            "camunda-zeebe-gateway-r1-x7k2p"
        ],
        "one new stream per connection, to the new pod"
    );
    drill.backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_stream_resolves_the_service_on_every_call() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let drill = Drill::installed(RegionId(1), KindConfig::default()).await;
    let config = &drill.config;
    let region = RegionId(0);
    let clients = KubeClients::new(config.clone(), drill.factory.clone());
    let target = gateway(config, region);
    let (pod, mut stream) = open_stream(&clients, &target, Duration::from_secs(5))
        .await
        .expect("stream");
    assert_eq!(pod, "camunda-zeebe-gateway-r1");
    // The stream carries HTTP to the pod's port.
    let auth = super::fake_kind::base64(b"demo:demo");
    stream
        .write_all(
            format!("GET /v2/topology HTTP/1.1\r\nhost: x\r\nauthorization: Basic {auth}\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("request");
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Restarted under another name (as a Deployment's pod is): the next call finds it.
    let pods: Api<Pod> = Api::namespaced(drill.client(region).await, &config.namespace(region));
    let mut moved: Pod = pods.get(&pod).await.expect("pod");
    pods.delete(&pod, &DeleteParams::default())
        .await
        .expect("deleted");
    assert!(
        open_stream(&clients, &target, Duration::from_secs(5))
            .await
            .is_err_and(|e| matches!(e, c8dr_kind::KindError::NoPod { .. })),
        "no running pod behind the Service"
    );
    moved.metadata.name = Some("camunda-zeebe-gateway-r1-q4m9z".to_owned());
    moved.metadata.resource_version = None;
    moved.status = None;
    pods.create(&PostParams::default(), &moved)
        .await
        .expect("created");
    let (pod, _stream) = open_stream(&clients, &target, Duration::from_secs(5))
        .await
        .expect("stream to the new pod");
    assert_eq!(pod, "camunda-zeebe-gateway-r1-q4m9z");
    drill.backend.shutdown().await;
}
