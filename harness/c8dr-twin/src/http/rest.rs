//! The Orchestration Cluster REST API on port 8080 (contract §2).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Multipart, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

use super::{RegionCtx, Shared, json, observed, with_type};
use crate::world::RestError;

fn problem(err: &RestError, instance: &str) -> Response {
    with_type(
        err.status,
        err.body(instance).to_string(),
        "application/problem+json",
    )
}

/// Renders a REST answer; an error due later (a timed-out broker request) is answered once
/// its time has come in cluster time.
async fn rest(ctx: &RegionCtx, result: Result<Value, RestError>, instance: &str) -> Response {
    match result {
        Ok(v) => json(200, &v),
        Err(e) => {
            if let Some(at) = e.answer_at {
                ctx.shared.wait_until(at).await;
            }
            problem(&e, instance)
        }
    }
}

fn bad_body(instance: &str) -> Response {
    problem(
        &RestError::new(400, "Bad Request", "Failed to read request"),
        instance,
    )
}

/// Standard base64 decoding (for the basic-auth header).
fn base64_decode(input: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in input.trim().bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buf >> bits) & 0xFF).ok()?);
        }
    }
    Some(out)
}

/// Basic auth on `/v2/**` except `/v2/status`.
async fn auth(State(ctx): State<RegionCtx>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path == "/v2/status" || !path.starts_with("/v2") {
        return next.run(req).await;
    }
    let (user, pass) = ctx
        .shared
        .with(|w| (w.config().username.clone(), w.config().password.clone()));
    let ok = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(rest)
        })
        .and_then(base64_decode)
        .and_then(|raw| String::from_utf8(raw).ok())
        .is_some_and(|creds| creds == format!("{user}:{pass}"));
    if ok {
        return next.run(req).await;
    }
    let err = RestError::new(
        401,
        "Unauthorized",
        "Full authentication is required to access this resource",
    );
    let mut resp = problem(&err, &path);
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"camunda\""),
    );
    resp
}

async fn topology(State(ctx): State<RegionCtx>) -> Response {
    let region = ctx.region;
    json(200, &ctx.shared.with(|w| w.topology_json(region)))
}

async fn status(State(ctx): State<RegionCtx>) -> Response {
    let region = ctx.region;
    let healthy = ctx.shared.with(|w| w.any_healthy_partition(region));
    let mut resp = Body::empty().into_response();
    *resp.status_mut() = if healthy {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    resp
}

async fn deploy(
    State(ctx): State<RegionCtx>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    const PATH: &str = "/v2/deployments";
    let Ok(mut multipart) = multipart else {
        return problem(
            &RestError::new(
                415,
                "Unsupported Media Type",
                "Content-Type must be multipart/form-data",
            ),
            PATH,
        );
    };
    let mut resources = Vec::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let is_resource = field.name() == Some("resources");
                let name = field.file_name().unwrap_or("resource.bpmn").to_owned();
                let Ok(data) = field.bytes().await else {
                    return bad_body(PATH);
                };
                if is_resource {
                    resources.push((name, data.to_vec()));
                }
            }
            Ok(None) => break,
            Err(_) => return bad_body(PATH),
        }
    }
    let region = ctx.region;
    rest(
        &ctx,
        ctx.shared.with(|w| w.deploy(region, &resources)),
        PATH,
    )
    .await
}

async fn create_instance(State(ctx): State<RegionCtx>, body: Bytes) -> Response {
    const PATH: &str = "/v2/process-instances";
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return bad_body(PATH);
    };
    let region = ctx.region;
    rest(
        &ctx,
        ctx.shared.with(|w| w.create_instance(region, &v)),
        PATH,
    )
    .await
}

async fn get_instance(State(ctx): State<RegionCtx>, Path(key): Path<String>) -> Response {
    let path = format!("/v2/process-instances/{key}");
    let region = ctx.region;
    rest(
        &ctx,
        ctx.shared.with(|w| w.get_instance(region, &key)),
        &path,
    )
    .await
}

async fn search_instances(State(ctx): State<RegionCtx>, body: Bytes) -> Response {
    const PATH: &str = "/v2/process-instances/search";
    let Some(v) = optional_json(&body) else {
        return bad_body(PATH);
    };
    let region = ctx.region;
    rest(
        &ctx,
        ctx.shared.with(|w| w.search_instances(region, &v)),
        PATH,
    )
    .await
}

/// Parses an optional JSON body: empty (or only whitespace) is `Null`; `None` when it is not
/// JSON.
fn optional_json(body: &Bytes) -> Option<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Some(Value::Null)
    } else {
        serde_json::from_slice::<Value>(body).ok()
    }
}

async fn search_user_tasks(State(ctx): State<RegionCtx>, body: Bytes) -> Response {
    const PATH: &str = "/v2/user-tasks/search";
    let Some(v) = optional_json(&body) else {
        return bad_body(PATH);
    };
    let region = ctx.region;
    rest(
        &ctx,
        ctx.shared.with(|w| w.search_user_tasks(region, &v)),
        PATH,
    )
    .await
}

async fn get_user_task(State(ctx): State<RegionCtx>, Path(key): Path<String>) -> Response {
    let path = format!("/v2/user-tasks/{key}");
    let region = ctx.region;
    rest(
        &ctx,
        ctx.shared.with(|w| w.get_user_task(region, &key)),
        &path,
    )
    .await
}

/// `POST /v2/user-tasks/{key}/completion`: 204 without a body on success.
async fn complete_user_task(
    State(ctx): State<RegionCtx>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let path = format!("/v2/user-tasks/{key}/completion");
    let Some(v) = optional_json(&body) else {
        return bad_body(&path);
    };
    let region = ctx.region;
    match ctx.shared.with(|w| w.complete_user_task(region, &key, &v)) {
        Ok(()) => {
            let mut resp = Body::empty().into_response();
            *resp.status_mut() = StatusCode::NO_CONTENT;
            resp
        }
        Err(e) => rest(&ctx, Err(e), &path).await,
    }
}

/// The REST router of region `region`.
pub(crate) fn router(shared: Arc<Shared>, region: u8) -> Router {
    let ctx = RegionCtx {
        shared: Arc::clone(&shared),
        region,
    };
    let r = Router::new()
        .route("/v2/topology", get(topology))
        .route("/v2/status", get(status))
        .route("/v2/deployments", post(deploy))
        .route("/v2/process-instances", post(create_instance))
        .route("/v2/process-instances/search", post(search_instances))
        .route("/v2/process-instances/{key}", get(get_instance))
        .route("/v2/user-tasks/search", post(search_user_tasks))
        .route("/v2/user-tasks/{key}", get(get_user_task))
        .route("/v2/user-tasks/{key}/completion", post(complete_user_task))
        .layer(middleware::from_fn_with_state(ctx.clone(), auth))
        .with_state(ctx);
    observed(r, shared)
}

#[cfg(test)]
mod tests {
    use super::base64_decode;

    #[test]
    fn decodes_basic_credentials() {
        assert_eq!(
            base64_decode("ZGVtbzpkZW1v").as_deref(),
            Some(&b"demo:demo"[..])
        );
        assert_eq!(base64_decode("YQ==").as_deref(), Some(&b"a"[..]));
        assert!(base64_decode("!!").is_none());
    }
}
