//! The management API on port 9600 (contract §1).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{RegionCtx, Shared, json, observed, query_value, spring_bool, with_type};
use crate::clock::rfc3339;
use crate::world::{ExportingOp, ManagementError, PatchRequest};

type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// Spring's default error body.
fn spring_error(ctx: &RegionCtx, status: u16, error: &str, uri: &Uri) -> Response {
    let now = ctx.shared.with(|w| w.now());
    json(
        status,
        &json!({"timestamp": rfc3339(now), "status": status, "error": error, "path": uri.path()}),
    )
}

fn bad_request(ctx: &RegionCtx, uri: &Uri) -> Response {
    spring_error(ctx, 400, "Bad Request", uri)
}

/// Renders a management answer. A request that timed out towards the coordinator (504) is
/// answered only once the gateway's request timeout has passed in cluster time.
async fn mgmt(ctx: &RegionCtx, result: Result<Value, ManagementError>, ok: u16) -> Response {
    if let Err(ManagementError::Timeout { at, .. }) = &result {
        ctx.shared.wait_until(*at).await;
    }
    match result {
        Ok(v) => json(ok, &v),
        Err(ManagementError::NotImplemented(text)) => with_type(501, text, "text/plain"),
        Err(e) => json(e.status(), &json!({"message": e.to_string()})),
    }
}

fn not_supported(text: &str) -> Response {
    with_type(501, text.to_owned(), "text/plain")
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let mime = v
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

/// Query pairs with the parsed `dryRun` and `force` flags.
struct Flags {
    pairs: Vec<(String, String)>,
    dry: bool,
    force: bool,
}

/// Query flags `dryRun` and `force`, or a 400.
fn flags(ctx: &RegionCtx, uri: &Uri, q: Pairs) -> Result<Flags, Box<Response>> {
    let bad = || Box::new(bad_request(ctx, uri));
    let Ok(Query(pairs)) = q else {
        return Err(bad());
    };
    let dry = spring_bool(&pairs, "dryRun").map_err(|()| bad())?;
    let force = spring_bool(&pairs, "force").map_err(|()| bad())?;
    Ok(Flags { pairs, dry, force })
}

fn parse_id(s: &str) -> Option<u32> {
    s.trim().parse().ok()
}

async fn get_cluster(State(ctx): State<RegionCtx>) -> Response {
    let region = ctx.region;
    mgmt(&ctx, ctx.shared.with(|w| w.get_cluster(region)), 200).await
}

async fn patch_cluster(
    State(ctx): State<RegionCtx>,
    uri: Uri,
    headers: HeaderMap,
    q: Pairs,
    body: Bytes,
) -> Response {
    if !is_json(&headers) {
        return spring_error(&ctx, 415, "Unsupported Media Type", &uri);
    }
    let Flags { dry, force, .. } = match flags(&ctx, &uri, q) {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    let Ok(req) = serde_json::from_slice::<PatchRequest>(&body) else {
        return bad_request(&ctx, &uri);
    };
    let region = ctx.region;
    mgmt(
        &ctx,
        ctx.shared
            .with(|w| w.patch_cluster(region, &req, dry, force)),
        202,
    )
    .await
}

async fn post_brokers(
    State(ctx): State<RegionCtx>,
    uri: Uri,
    headers: HeaderMap,
    q: Pairs,
    body: Bytes,
) -> Response {
    if !is_json(&headers) {
        return spring_error(&ctx, 415, "Unsupported Media Type", &uri);
    }
    let Flags { pairs, dry, force } = match flags(&ctx, &uri, q) {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    let rf = match query_value(&pairs, "replicationFactor") {
        None | Some("") => None,
        Some(v) => match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => return bad_request(&ctx, &uri),
        },
    };
    let Ok(ids) = serde_json::from_slice::<Vec<u32>>(&body) else {
        return bad_request(&ctx, &uri);
    };
    let region = ctx.region;
    mgmt(
        &ctx,
        ctx.shared
            .with(|w| w.scale_brokers(region, &ids, rf, dry, force)),
        202,
    )
    .await
}

async fn add_broker(
    State(ctx): State<RegionCtx>,
    uri: Uri,
    Path(id): Path<String>,
    q: Pairs,
) -> Response {
    let Flags { dry, .. } = match flags(&ctx, &uri, q) {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    let Some(id) = parse_id(&id) else {
        return bad_request(&ctx, &uri);
    };
    let region = ctx.region;
    mgmt(
        &ctx,
        ctx.shared.with(|w| w.add_broker(region, id, dry)),
        202,
    )
    .await
}

async fn remove_broker(
    State(ctx): State<RegionCtx>,
    uri: Uri,
    Path(id): Path<String>,
    q: Pairs,
) -> Response {
    let Flags { dry, .. } = match flags(&ctx, &uri, q) {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    let Some(id) = parse_id(&id) else {
        return bad_request(&ctx, &uri);
    };
    let region = ctx.region;
    mgmt(
        &ctx,
        ctx.shared.with(|w| w.remove_broker(region, id, dry)),
        202,
    )
    .await
}

async fn partition_member(
    ctx: RegionCtx,
    uri: &Uri,
    headers: &HeaderMap,
    q: Pairs,
    broker: &str,
    partition: &str,
    join: Option<&Bytes>,
) -> Response {
    if !is_json(headers) {
        return spring_error(&ctx, 415, "Unsupported Media Type", uri);
    }
    let Flags { dry, .. } = match flags(&ctx, uri, q) {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    let (Some(b), Some(p)) = (parse_id(broker), parse_id(partition)) else {
        return bad_request(&ctx, uri);
    };
    let region = ctx.region;
    match join {
        Some(body) => {
            let priority = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("priority").and_then(Value::as_u64))
                .and_then(|n| u32::try_from(n).ok());
            let Some(priority) = priority else {
                return bad_request(&ctx, uri);
            };
            mgmt(
                &ctx,
                ctx.shared
                    .with(|w| w.join_partition(region, b, p, priority, dry)),
                202,
            )
            .await
        }
        None => {
            mgmt(
                &ctx,
                ctx.shared.with(|w| w.leave_partition(region, b, p, dry)),
                202,
            )
            .await
        }
    }
}

async fn join_bp(
    State(ctx): State<RegionCtx>,
    uri: Uri,
    headers: HeaderMap,
    Path((b, p)): Path<(String, String)>,
    q: Pairs,
    body: Bytes,
) -> Response {
    partition_member(ctx, &uri, &headers, q, &b, &p, Some(&body)).await
}

async fn leave_bp(
    State(ctx): State<RegionCtx>,
    uri: Uri,
    headers: HeaderMap,
    Path((b, p)): Path<(String, String)>,
    q: Pairs,
) -> Response {
    partition_member(ctx, &uri, &headers, q, &b, &p, None).await
}

async fn join_pb(
    State(ctx): State<RegionCtx>,
    uri: Uri,
    headers: HeaderMap,
    Path((p, b)): Path<(String, String)>,
    q: Pairs,
    body: Bytes,
) -> Response {
    partition_member(ctx, &uri, &headers, q, &b, &p, Some(&body)).await
}

async fn leave_pb(
    State(ctx): State<RegionCtx>,
    uri: Uri,
    headers: HeaderMap,
    Path((p, b)): Path<(String, String)>,
    q: Pairs,
) -> Response {
    partition_member(ctx, &uri, &headers, q, &b, &p, None).await
}

async fn cancel_change(
    State(ctx): State<RegionCtx>,
    uri: Uri,
    Path(id): Path<String>,
    q: Pairs,
) -> Response {
    let Flags { dry, .. } = match flags(&ctx, &uri, q) {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    let region = ctx.region;
    mgmt(
        &ctx,
        ctx.shared.with(|w| w.cancel_change(region, &id, dry)),
        200,
    )
    .await
}

async fn get_exporters(State(ctx): State<RegionCtx>) -> Response {
    let region = ctx.region;
    mgmt(&ctx, ctx.shared.with(|w| w.get_exporters(region)), 200).await
}

async fn exporter_action(
    State(ctx): State<RegionCtx>,
    uri: Uri,
    Path((id, action)): Path<(String, String)>,
    q: Pairs,
    body: Bytes,
) -> Response {
    let Flags { dry, .. } = match flags(&ctx, &uri, q) {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    let region = ctx.region;
    match action.as_str() {
        "disable" => {
            mgmt(
                &ctx,
                ctx.shared.with(|w| w.disable_exporter(region, &id, dry)),
                202,
            )
            .await
        }
        "enable" => {
            let init = if body.iter().all(u8::is_ascii_whitespace) {
                None
            } else {
                match serde_json::from_slice::<Value>(&body) {
                    Ok(Value::Object(o)) => match o.get("initializeFrom") {
                        None | Some(Value::Null) => None,
                        Some(Value::String(s)) => Some(s.clone()),
                        Some(_) => return bad_request(&ctx, &uri),
                    },
                    _ => return bad_request(&ctx, &uri),
                }
            };
            mgmt(
                &ctx,
                ctx.shared
                    .with(|w| w.enable_exporter(region, &id, init.as_deref(), dry)),
                202,
            )
            .await
        }
        _ => spring_error(&ctx, 404, "Not Found", &uri),
    }
}

async fn delete_exporter(
    State(ctx): State<RegionCtx>,
    uri: Uri,
    Path(id): Path<String>,
    q: Pairs,
) -> Response {
    let Flags { dry, .. } = match flags(&ctx, &uri, q) {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    let region = ctx.region;
    mgmt(
        &ctx,
        ctx.shared.with(|w| w.delete_exporter(region, &id, dry)),
        202,
    )
    .await
}

/// The 8.8 wire quirk: always HTTP 200 with a serialized `WebEndpointResponse`.
async fn exporting(State(ctx): State<RegionCtx>, Path(op): Path<String>, q: Pairs) -> Response {
    let pairs = q.map(|Query(p)| p).unwrap_or_default();
    let soft = spring_bool(&pairs, "soft").unwrap_or(false);
    let op = match (op.as_str(), soft) {
        ("pause", false) => Some(ExportingOp::Pause),
        ("pause", true) => Some(ExportingOp::SoftPause),
        ("resume", _) => Some(ExportingOp::Resume),
        _ => None,
    };
    let region = ctx.region;
    let result = match op {
        Some(op) => ctx.shared.with(|w| w.exporting_control(region, op)),
        None => Err("Unknown operation".to_owned()),
    };
    match result {
        Ok(()) => json(
            200,
            &json!({"body": null, "status": 204, "contentType": null}),
        ),
        Err(message) => json(
            200,
            &json!({"body": {"message": message}, "status": 500, "contentType": null}),
        ),
    }
}

async fn partitions(State(ctx): State<RegionCtx>) -> Response {
    let region = ctx.region;
    json(200, &ctx.shared.with(|w| w.partitions_status(region)))
}

async fn health() -> Response {
    json(200, &json!({"status": "UP"}))
}

/// `GET /actuator/health/{probe}`: liveness and startup are up while the pod answers;
/// readiness fails (503 `DOWN`) while the serving broker is not a cluster member.
async fn health_probe(State(ctx): State<RegionCtx>, Path(probe): Path<String>) -> Response {
    let region = ctx.region;
    let ready = ctx
        .shared
        .with(|w| w.serving_broker(region).is_some_and(|b| w.broker_ready(b)));
    if probe == "readiness" && !ready {
        json(503, &json!({"status": "DOWN"}))
    } else {
        json(200, &json!({"status": "UP"}))
    }
}

async fn changes_not_supported() -> Response {
    not_supported(
        "Changing cluster directly is not supported. Use POST /cluster/brokers for scaling the cluster",
    )
}

/// The management router of region `region`.
pub(crate) fn router(shared: Arc<Shared>, region: u8) -> Router {
    let ctx = RegionCtx {
        shared: Arc::clone(&shared),
        region,
    };
    let r = Router::new()
        .route("/actuator/cluster", get(get_cluster).patch(patch_cluster))
        .route("/actuator/cluster/brokers", post(post_brokers))
        .route(
            "/actuator/cluster/brokers/{id}",
            post(add_broker).delete(remove_broker),
        )
        .route(
            "/actuator/cluster/brokers/{b}/partitions/{p}",
            post(join_bp).delete(leave_bp),
        )
        .route(
            "/actuator/cluster/partitions/{p}/brokers/{b}",
            post(join_pb).delete(leave_pb),
        )
        .route(
            "/actuator/cluster/partitions",
            post(|| async { not_supported("Scaling partitions is not supported") }),
        )
        .route(
            "/actuator/cluster/partitions/{p}",
            post(|| async { not_supported("Adding partitions is not supported") })
                .delete(|| async { not_supported("Removing partitions is not supported") }),
        )
        .route("/actuator/cluster/changes", post(changes_not_supported))
        .route(
            "/actuator/cluster/changes/{id}",
            post(changes_not_supported).delete(cancel_change),
        )
        .route("/actuator/exporters", get(get_exporters))
        .route(
            "/actuator/exporters/{id}",
            axum::routing::delete(delete_exporter),
        )
        .route("/actuator/exporters/{id}/{action}", post(exporter_action))
        .route("/actuator/exporting/{op}", post(exporting))
        .route("/actuator/partitions", get(partitions))
        .route("/actuator/health", get(health))
        .route("/actuator/health/{probe}", get(health_probe))
        .with_state(ctx);
    observed(r, shared)
}
