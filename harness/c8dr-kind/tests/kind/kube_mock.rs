//! kube-rs calls against scripted API-server answers (tower_test::mock, as kube's own mock tests).

use c8dr_kind::artifacts;
use http::{Request, Response};
use kube::Client;
use kube::client::Body;

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

fn mock() -> (Client, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "default"), handle)
}

fn json_response(status: u16, value: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(value).expect("json")))
        .expect("response")
}

async fn body_json(request: Request<Body>) -> serde_json::Value {
    let bytes = request.into_body().collect_bytes().await.expect("body");
    serde_json::from_slice(&bytes).expect("json body")
}

#[tokio::test]
async fn network_policy_is_server_side_applied_with_c8dr_as_field_manager() {
    let (client, mut handle) = mock();
    let server = tokio::spawn(async move {
        let (request, send) = handle.next_request().await.expect("one request");
        assert_eq!(request.method(), http::Method::PATCH);
        let uri = request.uri().to_string();
        assert!(uri.starts_with("/apis/networking.k8s.io/v1/namespaces/camunda-region1/networkpolicies/c8dr-loss-deny-all?"), "{uri}");
        assert!(
            uri.contains("fieldManager=c8dr") && uri.contains("force=true"),
            "{uri}"
        );
        assert_eq!(
            request.headers().get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/apply-patch+yaml"[..])
        );
        let body = body_json(request).await;
        assert_eq!(body["kind"], "NetworkPolicy");
        assert_eq!(
            body["spec"]["policyTypes"],
            serde_json::json!(["Ingress", "Egress"])
        );
        send.send_response(json_response(200, &body));
    });
    let policy = artifacts::deny_all_policy("camunda-region1");
    c8dr_kind::kube::apply_network_policy(&client, "kind-c8dr-region1", "camunda-region1", &policy)
        .await
        .expect("applied");
    server.await.expect("scripted server");
}

#[tokio::test]
async fn deleting_a_policy_that_is_gone_is_not_an_error() {
    let (client, mut handle) = mock();
    let server = tokio::spawn(async move {
        let (request, send) = handle.next_request().await.expect("one request");
        assert_eq!(request.method(), http::Method::DELETE);
        assert_eq!(
            request.uri().path(),
            "/apis/networking.k8s.io/v1/namespaces/camunda-region0/networkpolicies/c8dr-loss-fence-region1"
        );
        send.send_response(json_response(404, &serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
            "message": "networkpolicies \"c8dr-loss-fence-region1\" not found"
        })));
    });
    c8dr_kind::kube::delete_network_policy(
        &client,
        "kind-c8dr-region0",
        "camunda-region0",
        "c8dr-loss-fence-region1",
    )
    .await
    .expect("absent is fine");
    server.await.expect("scripted server");
}

fn pod(name: &str, phase: &str, ready: bool) -> serde_json::Value {
    serde_json::json!({
        "metadata": {"name": name, "namespace": "camunda-region0", "labels": {"app": "camunda"}},
        "status": {"phase": phase, "podIP": "10.244.0.7",
                   "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
    })
}

#[tokio::test]
async fn port_forward_resolves_the_service_to_a_running_ready_pod() {
    let (client, mut handle) = mock();
    let server = tokio::spawn(async move {
        let (request, send) = handle.next_request().await.expect("service");
        assert_eq!(
            request.uri().path(),
            "/api/v1/namespaces/camunda-region0/services/camunda-zeebe-gateway"
        );
        send.send_response(json_response(
            200,
            &serde_json::json!({
                "metadata": {"name": "camunda-zeebe-gateway"},
                "spec": {"selector": {"app": "camunda", "component": "gateway"}}
            }),
        ));
        let (request, send) = handle.next_request().await.expect("pods");
        let uri = request.uri().to_string();
        assert!(
            uri.starts_with("/api/v1/namespaces/camunda-region0/pods?"),
            "{uri}"
        );
        assert!(
            uri.contains("labelSelector=app%3Dcamunda%2Ccomponent%3Dgateway"),
            "{uri}"
        );
        send.send_response(json_response(200, &serde_json::json!({
            "kind": "PodList", "apiVersion": "v1", "metadata": {},
            "items": [pod("camunda-zeebe-0", "Pending", false), pod("camunda-zeebe-1", "Running", false), pod("camunda-zeebe-2", "Running", true)]
        })));
    });
    let chosen = c8dr_kind::kube::pod_for_service(
        &client,
        "kind-c8dr-region0",
        "camunda-region0",
        "camunda-zeebe-gateway",
    )
    .await
    .expect("a pod");
    assert_eq!(chosen, "camunda-zeebe-2");
    server.await.expect("scripted server");
}

/// Hands out the mock's client for every context.
struct MockFactory(Client);

impl c8dr_kind::KubeFactory for MockFactory {
    fn client<'a>(
        &'a self,
        _context: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Client, c8dr_kind::KindError>> {
        Box::pin(std::future::ready(Ok(self.0.clone())))
    }
}

/// c8dr's forwarder (`open_stream`) resolves the Service on every connection: after a restart
/// the lookup picks the new pod (the old one terminating) and asks the new pod's `portforward`
/// subresource for a stream of its own.
#[tokio::test]
async fn the_forwarder_looks_the_pod_up_again_and_opens_a_new_stream_after_a_restart() {
    let (client, mut handle) = mock();
    let server = tokio::spawn(async move {
        let terminating = {
            let mut old = pod("camunda-zeebe-gateway-7d9f-abcde", "Running", true);
            old["metadata"]["deletionTimestamp"] = serde_json::json!("2025-01-01T00:00:00Z");
            old
        };
        let rounds = [
            (
                vec![pod("camunda-zeebe-gateway-7d9f-abcde", "Running", true)],
                "camunda-zeebe-gateway-7d9f-abcde",
            ),
            (
                vec![
                    terminating,
                    pod("camunda-zeebe-gateway-7d9f-xyz12", "Running", true),
                ],
                "camunda-zeebe-gateway-7d9f-xyz12",
            ),
        ];
        for (pods, chosen) in rounds {
            let (request, send) = handle.next_request().await.expect("service");
            assert_eq!(
                request.uri().path(),
                "/api/v1/namespaces/camunda-region0/services/camunda-zeebe-gateway"
            );
            send.send_response(json_response(
                200,
                &serde_json::json!({
                    "metadata": {"name": "camunda-zeebe-gateway"},
                    "spec": {"selector": {"app": "camunda", "component": "gateway"}}
                }),
            ));
            let (request, send) = handle.next_request().await.expect("pods");
            assert!(request.uri().to_string().contains("labelSelector="));
            send.send_response(json_response(
                200,
                &serde_json::json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": pods}),
            ));
            let (request, send) = handle.next_request().await.expect("portforward");
            assert_eq!(
                request.uri().to_string(),
                format!("/api/v1/namespaces/camunda-region0/pods/{chosen}/portforward?&ports=8080")
            );
            // No WebSocket upgrade through the mock: the stream cannot open, cleanly.
            send.send_response(json_response(403, &serde_json::json!({
                "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403, "message": "forbidden"
            })));
        }
    });
    let clients = c8dr_kind::kube::KubeClients::new(
        c8dr_kind::KindConfig::default(),
        std::sync::Arc::new(MockFactory(client)),
    );
    let target = c8dr_kind::portforward::ForwardTarget {
        region: c8dr_core::region::RegionId(0),
        context: "kind-c8dr-region0".to_owned(),
        namespace: "camunda-region0".to_owned(),
        service: "camunda-zeebe-gateway".to_owned(),
        port: 8080,
    };
    for expected in [
        "camunda-zeebe-gateway-7d9f-abcde",
        "camunda-zeebe-gateway-7d9f-xyz12",
    ] {
        let opened = c8dr_kind::portforward::open_stream(
            &clients,
            &target,
            std::time::Duration::from_secs(5),
        )
        .await;
        match opened {
            Err(c8dr_kind::KindError::PortForward { pod, port, .. }) => {
                assert_eq!((pod.as_str(), port), (expected, 8080));
            }
            Err(other) => panic!("expected a port-forward error, got {other}"),
            Ok(_) => panic!("the mock cannot upgrade a stream"),
        }
    }
    server.await.expect("scripted server");
}

#[tokio::test]
async fn release_status_reads_helm_revision_profiles_and_rollouts() {
    let (client, mut handle) = mock();
    let server = tokio::spawn(async move {
        let sts = |name: &str, ready: bool| {
            serde_json::json!({
                "metadata": {"name": name, "generation": 2},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"sts": name}}, "serviceName": name,
                         "template": {"metadata": {}, "spec": {"containers": [{"name": "c"}]}}},
                "status": {"replicas": 1, "observedGeneration": 2, "updatedReplicas": 1, "readyReplicas": if ready {1} else {0},
                           "currentRevision": "r2", "updateRevision": "r2"}
            })
        };
        let answers = vec![
            (
                "/api/v1/namespaces/camunda-region1/secrets",
                serde_json::json!({"kind": "SecretList", "apiVersion": "v1", "metadata": {}, "items": [
                    {"metadata": {"name": "sh.helm.release.v1.camunda.v1", "labels": {"owner": "helm", "name": "camunda", "status": "superseded", "version": "1"}}},
                    {"metadata": {"name": "sh.helm.release.v1.camunda.v2", "labels": {"owner": "helm", "name": "camunda", "status": "deployed", "version": "2"}}}
                ]}),
            ),
            (
                "/apis/apps/v1/namespaces/camunda-region1/statefulsets/camunda-zeebe",
                sts("camunda-zeebe", false),
            ),
            (
                "/api/v1/namespaces/camunda-region1/configmaps/camunda-zeebe-configuration-unified",
                serde_json::json!({
                    "metadata": {"name": "camunda-zeebe-configuration-unified"},
                    "data": {"application.yaml": "spring:\n  profiles:\n    active: \"broker,identity,consolidated-auth\"\n"}
                }),
            ),
            (
                "/api/v1/namespaces/camunda-region1/pods",
                serde_json::json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [
                    {"metadata": {"name": "camunda-zeebe-0", "labels": {"controller-revision-hash": "r2"}}, "status": {"phase": "Running"}}
                ]}),
            ),
            (
                "/apis/apps/v1/namespaces/camunda-region1/statefulsets/camunda-elasticsearch-master",
                sts("camunda-elasticsearch-master", true),
            ),
            (
                "/api/v1/namespaces/camunda-region1/pods",
                serde_json::json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [
                    {"metadata": {"name": "camunda-elasticsearch-master-0", "labels": {"controller-revision-hash": "r2"}}, "status": {"phase": "Running"}}
                ]}),
            ),
        ];
        for (path, answer) in answers {
            let (request, send) = handle.next_request().await.expect("request");
            assert_eq!(request.uri().path(), path);
            send.send_response(json_response(200, &answer));
        }
    });
    let status = c8dr_kind::kube::release_status(
        &client,
        &c8dr_kind::KindConfig::default(),
        "kind-c8dr-region1",
        "camunda-region1",
    )
    .await
    .expect("status")
    .expect("installed");
    assert_eq!(status.revision, 2);
    assert_eq!(
        status.active_profiles,
        vec!["broker", "identity", "consolidated-auth"]
    );
    assert!(
        status.rollout_complete,
        "brokers need not be Ready: recreated brokers are not members yet"
    );
    server.await.expect("scripted server");
}

#[tokio::test]
async fn node_addresses_are_the_internal_ips_of_the_node_objects() {
    let (client, mut handle) = mock();
    let server =
        tokio::spawn(async move {
            let (request, send) = handle.next_request().await.expect("nodes");
            assert_eq!(request.method(), http::Method::GET);
            assert_eq!(request.uri().path(), "/api/v1/nodes");
            send.send_response(json_response(200, &serde_json::json!({
            "kind": "NodeList", "apiVersion": "v1", "metadata": {},
            "items": [
                {"metadata": {"name": "c8dr-region1-worker"}, "status": {"addresses": [
                    {"type": "Hostname", "address": "c8dr-region1-worker"},
                    {"type": "InternalIP", "address": "172.18.0.5"}]}},
                {"metadata": {"name": "c8dr-region1-control-plane"}, "status": {"addresses": [
                    {"type": "InternalIP", "address": "172.18.0.3"},
                    {"type": "ExternalIP", "address": "203.0.113.9"},
                    {"type": "Hostname", "address": "c8dr-region1-control-plane"}]}}
            ]
        })));
            // A cluster whose nodes report no InternalIP: no address to fence with.
            let (_, send) = handle.next_request().await.expect("nodes again");
            send.send_response(json_response(
                200,
                &serde_json::json!({
                    "kind": "NodeList", "apiVersion": "v1", "metadata": {},
                    "items": [{"metadata": {"name": "n"}, "status": {"addresses": [
                        {"type": "Hostname", "address": "n"}]}}]
                }),
            ));
        });
    let ips = c8dr_kind::kube::node_internal_ips(&client, "kind-c8dr-region1")
        .await
        .expect("addresses");
    assert_eq!(
        ips,
        vec!["172.18.0.3", "172.18.0.5"],
        "InternalIPs, nodes by name"
    );
    let none = c8dr_kind::kube::node_internal_ips(&client, "kind-c8dr-region1").await;
    assert!(
        none.as_ref()
            .is_err_and(|e| e.to_string().contains("none with an InternalIP")),
        "{none:?}"
    );
    server.await.expect("scripted server");
}
