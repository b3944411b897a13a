//! The control API (`docs/twin-control-api.md`): the platform side of the procedure.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Shared, json, observed};
use crate::clock::rfc3339;
use crate::world::{LossMode, PlatformError, ReleaseRequest};

/// The longest step one `POST /twin/v1/clock/advance` may take: a year of cluster time (keeps
/// timestamps within the range they can be rendered in).
pub(crate) const MAX_ADVANCE_MILLIS: u64 = 365 * 24 * 3_600_000;

fn error(status: u16, msg: &str) -> Response {
    json(status, &json!({"error": msg}))
}

fn platform(result: Result<Value, PlatformError>, ok: u16) -> Response {
    match result {
        Ok(v) => json(ok, &v),
        Err(e) => {
            let status = match e {
                PlatformError::NoSuchRegion(_) | PlatformError::NotInstalled(_) => 404,
                PlatformError::RegionDown(_) => 409,
            };
            error(status, &e.to_string())
        }
    }
}

fn region(raw: &str) -> Result<u8, Box<Response>> {
    raw.parse()
        .map_err(|_| Box::new(error(404, &format!("region {raw} does not exist"))))
}

#[derive(Deserialize)]
struct LoseBody {
    mode: LossMode,
}

async fn state(State(shared): State<Arc<Shared>>) -> Response {
    json(200, &shared.with(|w| w.state_json()))
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let stats = shared.with(|w| w.stats());
    json(200, &serde_json::to_value(stats).unwrap_or(Value::Null))
}

/// The clock's reading, with the world advanced to it.
fn clock_json(shared: &Shared) -> Value {
    let now = shared.with(|w| w.now());
    json!({"now": now, "simTime": rfc3339(now), "manual": shared.clock().is_manual()})
}

async fn get_clock(State(shared): State<Arc<Shared>>) -> Response {
    json(200, &clock_json(&shared))
}

/// The `millis` of an advance body, or why the body is not one.
fn advance_millis(body: &[u8]) -> Result<u64, String> {
    const EXPECTED: &str = "expected a body {\"millis\": N} with N a whole number of milliseconds";
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("{EXPECTED}: not JSON ({e})"))?;
    let Some(obj) = value.as_object() else {
        return Err(format!("{EXPECTED}, not {value}"));
    };
    if let Some(unknown) = obj.keys().find(|k| k.as_str() != "millis") {
        return Err(format!("{EXPECTED}: unknown field {unknown:?}"));
    }
    let Some(millis) = obj.get("millis") else {
        return Err(format!("{EXPECTED}: millis is missing"));
    };
    millis
        .as_u64()
        .filter(|ms| *ms <= MAX_ADVANCE_MILLIS)
        .ok_or_else(|| {
            format!("millis must be a whole number between 0 and {MAX_ADVANCE_MILLIS} (a year), not {millis}")
        })
}

async fn advance_clock(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let millis = match advance_millis(&body) {
        Ok(ms) => ms,
        Err(msg) => return error(400, &msg),
    };
    if !shared.clock().advance_by(Duration::from_millis(millis)) {
        return error(
            409,
            "cluster time follows wall time on this twin (a scaled clock) and cannot be advanced; \
             start it with `c8dr twin serve --manual-clock` to move time by hand",
        );
    }
    json(200, &clock_json(&shared))
}

async fn region_action(
    State(shared): State<Arc<Shared>>,
    Path((r, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let r = match region(&r) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    match action.as_str() {
        "lose" => {
            let mode = match serde_json::from_slice::<LoseBody>(&body) {
                Ok(b) => b.mode,
                Err(e) => {
                    return error(
                        400,
                        &format!("expected a body {{\"mode\": \"cutOff\" | \"down\"}}: {e}"),
                    );
                }
            };
            platform(shared.with(|w| w.lose_region(r, mode)), 200)
        }
        "heal" => platform(shared.with(|w| w.heal_region(r)), 200),
        "recreate" => platform(shared.with(|w| w.recreate_region(r)), 200),
        other => error(404, &format!("unknown region action {other}")),
    }
}

async fn put_release(
    State(shared): State<Arc<Shared>>,
    Path(r): Path<String>,
    body: Bytes,
) -> Response {
    let r = match region(&r) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let req = if body.iter().all(u8::is_ascii_whitespace) {
        ReleaseRequest::default()
    } else {
        match serde_json::from_slice::<ReleaseRequest>(&body) {
            Ok(req) => req,
            Err(e) => return error(400, &format!("invalid release: {e}")),
        }
    };
    platform(shared.with(|w| w.put_release(r, req)), 202)
}

async fn get_release(State(shared): State<Arc<Shared>>, Path(r): Path<String>) -> Response {
    let r = match region(&r) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let exists = shared.with(|w| r < w.config().regions);
    if !exists {
        return error(404, &format!("region {r} does not exist"));
    }
    match shared.with(|w| w.release_state(r)) {
        Some(v) => json(200, &v),
        None => error(404, &format!("region {r} has no release installed")),
    }
}

async fn delete_release(State(shared): State<Arc<Shared>>, Path(r): Path<String>) -> Response {
    let r = match region(&r) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    platform(shared.with(|w| w.delete_release(r)), 200)
}

/// The control router.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let r = Router::new()
        .route("/twin/v1/state", get(state))
        .route("/twin/v1/stats", get(stats))
        .route("/twin/v1/clock", get(get_clock))
        .route("/twin/v1/clock/advance", post(advance_clock))
        .route("/twin/v1/regions/{r}/{action}", post(region_action))
        .route(
            "/twin/v1/regions/{r}/release",
            get(get_release).put(put_release).delete(delete_release),
        )
        .with_state(Arc::clone(&shared));
    observed(r, shared)
}
