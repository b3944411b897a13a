//! The clients against small scripted HTTP servers: what they send, and how they read answers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{any, get, post};
use c8dr_client::{BasicAuth, HttpApis, RegionEndpoints, TwinControl};
use c8dr_core::backend::{ApiError, CamundaApis, Platform, PlatformError};
use c8dr_core::camunda::{
    ChangeOptions, ClusterPatchBrokers, ClusterPatchRequest, ExportingOperation, ReleaseOverrides,
};
use c8dr_core::region::{LossMode, RegionId};
use url::Url;

/// One request as the scripted server saw it: path, query, authorization header, body.
type SeenRequest = (String, Option<String>, Option<String>, String);

/// What the scripted server saw.
#[derive(Default, Clone)]
struct Seen {
    requests: Arc<Mutex<Vec<SeenRequest>>>,
}

impl Seen {
    fn record(&self, path: String, query: Option<String>, headers: &HeaderMap, body: &[u8]) {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.requests.lock().expect("lock").push((
            path,
            query,
            auth,
            String::from_utf8_lossy(body).into_owned(),
        ));
    }

    fn all(&self) -> Vec<SeenRequest> {
        self.requests.lock().expect("lock").clone()
    }
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    address
}

fn url(address: SocketAddr) -> Url {
    Url::parse(&format!("http://{address}")).expect("url")
}

fn apis(address: SocketAddr) -> HttpApis {
    HttpApis::new(
        vec![RegionEndpoints {
            rest: url(address),
            management: url(address),
            elasticsearch: url(address),
        }],
        Some(BasicAuth {
            username: "demo".into(),
            password: "demo".into(),
        }),
    )
}

/// A port nothing listens on.
async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    address
}

#[tokio::test]
async fn exporting_success_is_read_from_the_body() {
    let router = Router::new()
        .route(
            "/actuator/exporting/pause",
            post(|| async { (StatusCode::OK, r#"{"body":null,"status":204,"contentType":null}"#) }),
        )
        .route(
            "/actuator/exporting/resume",
            post(|| async {
                (
                    StatusCode::OK,
                    r#"{"body":{"message":"Leader of partition 3 is not known"},"status":500,"contentType":null}"#,
                )
            }),
        );
    let apis = apis(serve(router).await);
    let paused = apis
        .exporting(RegionId(0), ExportingOperation::Pause)
        .await
        .expect("answered");
    assert!(paused.succeeded());
    let resumed = apis
        .exporting(RegionId(0), ExportingOperation::Resume)
        .await
        .expect("answered");
    assert!(
        !resumed.succeeded(),
        "HTTP 200 with status 500 inside is a failure"
    );
    assert_eq!(
        resumed.message.as_deref(),
        Some("Leader of partition 3 is not known")
    );
}

#[tokio::test]
async fn cluster_patch_sends_force_only_when_asked_and_the_body_of_the_procedure() {
    let seen = Seen::default();
    let router = Router::new()
        .route(
            "/actuator/cluster",
            any(
                |State(seen): State<Seen>, RawQuery(query): RawQuery, headers: HeaderMap, body: Bytes| async move {
                    seen.record("/actuator/cluster".into(), query, &headers, &body);
                    (
                        StatusCode::ACCEPTED,
                        r#"{"changeId": 2, "currentTopology": [], "plannedChanges": [{"operation": "BROKER_REMOVE", "brokerId": 0, "brokers": [1]}], "expectedTopology": []}"#,
                    )
                },
            ),
        )
        .with_state(seen.clone());
    let apis = apis(serve(router).await);
    let remove = ClusterPatchRequest {
        brokers: Some(ClusterPatchBrokers {
            remove: vec![1, 3, 5, 7],
            ..Default::default()
        }),
        partitions: None,
    };
    let planned = apis
        .patch_cluster(
            RegionId(0),
            &remove,
            ChangeOptions {
                force: true,
                dry_run: false,
            },
        )
        .await
        .expect("accepted");
    assert_eq!(planned.change_id, 2);
    apis.patch_cluster(RegionId(0), &remove, ChangeOptions::default())
        .await
        .expect("accepted");
    let requests = seen.all();
    assert_eq!(requests[0].1.as_deref(), Some("force=true"));
    assert_eq!(
        requests[1].1, None,
        "no query at all without force or dry run"
    );
    assert_eq!(requests[0].3, r#"{"brokers":{"remove":[1,3,5,7]}}"#);
    assert_eq!(
        requests[0].2, None,
        "the management API gets no credentials"
    );
}

#[tokio::test]
async fn rest_calls_carry_basic_auth() {
    let seen = Seen::default();
    let router = Router::new()
        .route(
            "/v2/topology",
            get(|State(seen): State<Seen>, headers: HeaderMap| async move {
                seen.record("/v2/topology".into(), None, &headers, b"");
                (
                    StatusCode::OK,
                    r#"{"brokers":[],"clusterSize":8,"partitionsCount":8,"replicationFactor":4,"gatewayVersion":"8.8.0","lastCompletedChangeId":"-1"}"#,
                )
            }),
        )
        .with_state(seen.clone());
    let apis = apis(serve(router).await);
    let topology = apis.topology(RegionId(0)).await.expect("topology");
    assert_eq!(topology.cluster_size, 8);
    assert_eq!(seen.all()[0].2.as_deref(), Some("Basic ZGVtbzpkZW1v"));
}

#[tokio::test]
async fn errors_carry_status_and_body_and_say_whether_a_retry_is_safe() {
    let router = Router::new()
        .route(
            "/actuator/cluster",
            get(|| async { (StatusCode::BAD_GATEWAY, r#"{"message":"no coordinator"}"#) }),
        )
        .route(
            "/actuator/exporters/{id}/disable",
            post(|Path(id): Path<String>| async move {
                (
                    StatusCode::BAD_REQUEST,
                    format!(
                        r#"{{"message":"Expected to disable exporter, but the partition '1' does not have the exporter '{id}'"}}"#
                    ),
                )
            }),
        )
        .route("/v2/topology", get(|| async { (StatusCode::OK, "not json") }));
    let apis = apis(serve(router).await);

    let err = apis.cluster(RegionId(0)).await.expect_err("502");
    assert_eq!(err.status(), Some(502));
    assert!(
        err.is_retryable(),
        "502: the coordinator never saw the request"
    );
    assert!(err.to_string().contains("no coordinator"), "{err}");

    let err = apis
        .disable_exporter(RegionId(0), "foo")
        .await
        .expect_err("400");
    assert_eq!(err.status(), Some(400));
    assert!(!err.is_retryable());
    assert!(
        err.to_string().contains("does not have the exporter 'foo'"),
        "{err}"
    );

    let err = apis.topology(RegionId(0)).await.expect_err("undecodable");
    assert!(matches!(err, ApiError::Decode { .. }), "{err:?}");

    let err = apis.indices(RegionId(3)).await.expect_err("no such region");
    assert!(matches!(err, ApiError::NoEndpoint { .. }), "{err:?}");
}

#[tokio::test]
async fn nothing_listening_is_unreachable_and_retryable() {
    let apis = apis(closed_port().await);
    let err = apis.topology(RegionId(0)).await.expect_err("refused");
    assert!(matches!(err, ApiError::Unreachable { .. }), "{err:?}");
    assert!(err.is_retryable());
    // The cause is the operating system's words, without reqwest's and hyper's phase names
    // (which differ with timing for the same failure).
    let cause = std::error::Error::source(&err)
        .expect("a cause")
        .to_string();
    assert!(cause.starts_with("Connection refused"), "{cause}");
    assert!(!cause.contains("client error"), "{cause}");
}

#[tokio::test]
async fn a_reset_connection_reads_the_same_whenever_the_reset_comes() {
    // A server that resets every connection as soon as it accepts it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_zero_linger();
            drop(stream);
        }
    });
    let apis = apis(addr);
    for _ in 0..20 {
        let err = apis.topology(RegionId(0)).await.expect_err("reset");
        assert!(matches!(err, ApiError::Unreachable { .. }), "{err:?}");
        let cause = std::error::Error::source(&err)
            .expect("a cause")
            .to_string();
        assert!(cause.starts_with("Connection reset by peer"), "{cause}");
    }
}

#[tokio::test]
async fn instance_search_reads_numeric_and_string_keys_and_a_missing_index_is_empty() {
    let router = Router::new()
        .route(
            "/operate-list-view-8.3.0_/_search",
            post(|| async {
                (
                    StatusCode::OK,
                    r#"{"hits":{"hits":[{"_source":{"processInstanceKey":2251799813685249}},{"_source":{"processInstanceKey":"4503599627370497"}}]}}"#,
                )
            }),
        )
        .route(
            "/missing/_search",
            post(|| async {
                (
                    StatusCode::NOT_FOUND,
                    r#"{"error":{"type":"index_not_found_exception"},"status":404}"#,
                )
            }),
        );
    let apis = apis(serve(router).await);
    let keys = vec![
        "2251799813685249".to_owned(),
        "4503599627370497".to_owned(),
        "6755399441055745".to_owned(),
    ];
    let found = apis
        .find_instances(RegionId(0), "operate-list-view-8.3.0_", &keys)
        .await
        .expect("search");
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        vec!["2251799813685249".to_owned(), "4503599627370497".to_owned()]
    );
    let found = apis
        .find_instances(RegionId(0), "missing", &keys)
        .await
        .expect("a missing index means nothing is visible");
    assert!(found.is_empty());
}

#[tokio::test]
async fn cat_indices_reads_string_counts() {
    let router = Router::new().route(
        "/_cat/indices",
        get(|| async {
            (
                StatusCode::OK,
                r#"[{"index":"operate-list-view-8.3.0_","docs.count":"12","status":"open","health":"green"},{"index":"closed-one","status":"close"}]"#,
            )
        }),
    );
    let apis = apis(serve(router).await);
    let indices = apis.indices(RegionId(0)).await.expect("indices");
    assert_eq!(indices[0].docs_count, 12);
    assert_eq!(indices[1].status, "close");
    assert_eq!(indices[1].docs_count, 0);
}

#[tokio::test]
async fn twin_control_maps_answers_to_platform_results() {
    let seen = Seen::default();
    let router = Router::new()
        .route(
            "/twin/v1/regions/{r}/lose",
            post(|State(seen): State<Seen>, Path(r): Path<u8>, headers: HeaderMap, body: Bytes| async move {
                seen.record(format!("lose {r}"), None, &headers, &body);
                (StatusCode::OK, "{}")
            }),
        )
        .route(
            "/twin/v1/regions/{r}/release",
            get(|Path(r): Path<u8>| async move {
                if r == 0 {
                    (
                        StatusCode::OK,
                        r#"{"region":0,"revision":2,"activeProfiles":["broker","identity"],"rolloutComplete":false}"#.to_owned(),
                    )
                } else {
                    (StatusCode::NOT_FOUND, r#"{"error":"no release"}"#.to_owned())
                }
            })
            .put(|| async { (StatusCode::BAD_REQUEST, r#"{"error":"region 1 is down"}"#) }),
        )
        .with_state(seen.clone());
    let control = TwinControl::new(url(serve(router).await));
    control
        .lose_region(RegionId(1), LossMode::CutOff)
        .await
        .expect("lost");
    assert_eq!(seen.all()[0].0, "lose 1");
    assert_eq!(seen.all()[0].3, r#"{"mode":"cutOff"}"#);

    let release = control
        .release(RegionId(0))
        .await
        .expect("read")
        .expect("installed");
    assert_eq!(release.active_profiles, vec!["broker", "identity"]);
    assert!(!release.rollout_complete);
    assert!(control.release(RegionId(1)).await.expect("read").is_none());

    let err = control
        .deploy(RegionId(1), &ReleaseOverrides::default())
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, PlatformError::Operation { message, .. } if message == "region 1 is down"),
        "{err:?}"
    );

    let unreachable = TwinControl::new(url(closed_port().await));
    let err = unreachable
        .heal_region(RegionId(0))
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(err, PlatformError::Infrastructure { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn user_tasks_are_searched_by_instance_and_completed_through_the_rest_api() {
    let seen = Seen::default();
    let router = Router::new()
        .route(
            "/v2/user-tasks/search",
            post(|State(seen): State<Seen>, headers: HeaderMap, body: Bytes| async move {
                seen.record("search".into(), None, &headers, &body);
                (
                    StatusCode::OK,
                    r#"{"items":[{"userTaskKey":"2251799813685260","processInstanceKey":"2251799813685259","state":"CREATED","elementId":"await-check"}],"page":{"totalItems":1}}"#,
                )
            }),
        )
        .route(
            "/v2/user-tasks/{key}/completion",
            post(|State(seen): State<Seen>, Path(key): Path<String>, headers: HeaderMap, body: Bytes| async move {
                seen.record(format!("complete {key}"), None, &headers, &body);
                StatusCode::NO_CONTENT
            }),
        )
        .with_state(seen.clone());
    let apis = apis(serve(router).await);
    let tasks = apis
        .user_tasks(RegionId(0), "2251799813685259")
        .await
        .expect("search");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].state, "CREATED");
    apis.complete_user_task(RegionId(0), &tasks[0].user_task_key)
        .await
        .expect("completed");
    let requests = seen.all();
    assert_eq!(
        requests[0].3,
        r#"{"filter":{"processInstanceKey":"2251799813685259"},"page":{"limit":100}}"#
    );
    assert_eq!(requests[1].0, "complete 2251799813685260");
    assert_eq!(requests[1].2.as_deref(), Some("Basic ZGVtbzpkZW1v"));
}

#[tokio::test]
async fn instance_states_come_from_the_list_view_documents() {
    let router = Router::new().route(
        "/operate-list-view-8.3.0_/_search",
        post(|| async {
            (
                StatusCode::OK,
                r#"{"hits":{"hits":[{"_source":{"processInstanceKey":2251799813685249,"state":"COMPLETED"}},{"_source":{"processInstanceKey":"4503599627370497","state":"ACTIVE"}}]}}"#,
            )
        }),
    );
    let apis = apis(serve(router).await);
    let states = apis
        .instance_states(
            RegionId(0),
            "operate-list-view-8.3.0_",
            &["2251799813685249".to_owned(), "4503599627370497".to_owned()],
        )
        .await
        .expect("states");
    assert_eq!(states["2251799813685249"], "COMPLETED");
    assert_eq!(states["4503599627370497"], "ACTIVE");
}
