//! HTTP surfaces: per region a REST (`/v2`), a management (`/actuator`) and an
//! Elasticsearch router, plus the control router; all over one shared [`World`].

pub(crate) mod control;
pub(crate) mod elasticsearch;
pub(crate) mod management;
pub(crate) mod rest;

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::clock::{Clock, SimTime};
use crate::world::World;

/// The world and the clock, shared by every listener.
#[derive(Debug)]
pub(crate) struct Shared {
    world: Mutex<World>,
    clock: Arc<dyn Clock>,
}

impl Shared {
    pub(crate) fn new(world: World, clock: Arc<dyn Clock>) -> Self {
        Self {
            world: Mutex::new(world),
            clock,
        }
    }

    /// Locks the world, advances it to the clock's now and runs `f`.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let mut world = self.world.lock().unwrap_or_else(PoisonError::into_inner);
        world.advance_to(self.clock.now());
        f(&mut world)
    }

    /// Locks the world and runs `f` without advancing it.
    pub(crate) fn peek<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        let world = self.world.lock().unwrap_or_else(PoisonError::into_inner);
        f(&world)
    }

    /// Waits (in simulated time) until `due`.
    pub(crate) async fn wait_until(&self, due: SimTime) {
        self.clock.sleep_until(due).await;
    }

    /// The clock the world runs on.
    pub(crate) fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }
}

/// State of a region's routers.
#[derive(Debug, Clone)]
pub(crate) struct RegionCtx {
    pub(crate) shared: Arc<Shared>,
    pub(crate) region: u8,
}

/// Counts the request and logs it at debug level.
async fn observe(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    shared.with(World::count_request);
    let resp = next.run(req).await;
    tracing::debug!(%method, %path, status = resp.status().as_u16(), "twin request");
    resp
}

/// Adds request counting and logging to a router.
pub(crate) fn observed(router: Router, shared: Arc<Shared>) -> Router {
    router.layer(middleware::from_fn_with_state(shared, observe))
}

/// A JSON response with the given status.
pub(crate) fn json(status: u16, body: &Value) -> Response {
    with_type(status, body.to_string(), "application/json")
}

/// A response with a body and content type.
pub(crate) fn with_type(status: u16, body: String, content_type: &'static str) -> Response {
    let mut resp = Body::from(body).into_response();
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Parses query pairs into a lookup, tolerating repetition (last wins).
pub(crate) fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Spring's boolean conversion: `true/false/on/off/yes/no/1/0` (case-insensitive),
/// absent or empty = default; anything else is a conversion error.
pub(crate) fn spring_bool(pairs: &[(String, String)], key: &str) -> Result<bool, ()> {
    match query_value(pairs, key)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("") => Ok(false),
        Some("true" | "on" | "yes" | "1") => Ok(true),
        Some("false" | "off" | "no" | "0") => Ok(false),
        Some(_) => Err(()),
    }
}
