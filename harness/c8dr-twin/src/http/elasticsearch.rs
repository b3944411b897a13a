//! Elasticsearch on port 9200 (contract §5).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{RegionCtx, Shared, json, observed, query_value, with_type};
use crate::world::EsError;

type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

fn es(result: Result<Value, EsError>) -> Response {
    match result {
        Ok(v) => json(200, &v),
        Err(e) => json(e.status, &e.body()),
    }
}

fn pairs(q: Pairs) -> Vec<(String, String)> {
    q.map(|Query(p)| p).unwrap_or_default()
}

fn flag(pairs: &[(String, String)], key: &str) -> bool {
    matches!(query_value(pairs, key), Some("" | "true"))
}

/// Parses an optional JSON body (`{}` when empty).
fn body_json(body: &Bytes) -> Result<Value, EsError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| {
        EsError::new(
            400,
            "x_content_parse_exception",
            format!("Failed to parse request body: {e}"),
        )
    })
}

async fn info(State(ctx): State<RegionCtx>) -> Response {
    let region = ctx.region;
    json(200, &ctx.shared.with(|w| w.es_info(region)))
}

async fn health(State(ctx): State<RegionCtx>) -> Response {
    let region = ctx.region;
    json(200, &ctx.shared.with(|w| w.es_health(region)))
}

fn cat(ctx: &RegionCtx, q: Pairs, expr: Option<&str>) -> Response {
    let region = ctx.region;
    let pairs = pairs(q);
    let result = ctx.shared.with(|w| w.es_cat_indices(region, expr));
    match (result, query_value(&pairs, "format")) {
        (Ok(v), Some("json")) => json(200, &v),
        (Ok(v), _) => {
            let mut text = String::new();
            for row in v.as_array().into_iter().flatten() {
                let field = |k: &str| match &row[k] {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                text.push_str(&format!(
                    "{} {} {} 1 0 {}\n",
                    field("health"),
                    field("status"),
                    field("index"),
                    field("docs.count")
                ));
            }
            with_type(200, text, "text/plain; charset=UTF-8")
        }
        (Err(e), _) => json(e.status, &e.body()),
    }
}

async fn cat_all(State(ctx): State<RegionCtx>, q: Pairs) -> Response {
    cat(&ctx, q, None)
}

async fn cat_some(State(ctx): State<RegionCtx>, Path(expr): Path<String>, q: Pairs) -> Response {
    cat(&ctx, q, Some(&expr))
}

async fn put_repo(State(ctx): State<RegionCtx>, Path(repo): Path<String>, body: Bytes) -> Response {
    let region = ctx.region;
    es(body_json(&body).and_then(|b| ctx.shared.with(|w| w.es_put_repository(region, &repo, &b))))
}

async fn get_repos(State(ctx): State<RegionCtx>) -> Response {
    let region = ctx.region;
    es(ctx.shared.with(|w| w.es_get_repositories(region, None)))
}

async fn get_repo(State(ctx): State<RegionCtx>, Path(repo): Path<String>) -> Response {
    let region = ctx.region;
    es(ctx
        .shared
        .with(|w| w.es_get_repositories(region, Some(&repo))))
}

async fn create_snapshot(
    State(ctx): State<RegionCtx>,
    Path((repo, snap)): Path<(String, String)>,
    q: Pairs,
    body: Bytes,
) -> Response {
    let region = ctx.region;
    let wait = flag(&pairs(q), "wait_for_completion");
    let due = body_json(&body).and_then(|b| {
        ctx.shared
            .with(|w| w.es_create_snapshot(region, &repo, &snap, &b))
    });
    let due = match due {
        Ok(d) => d,
        Err(e) => return json(e.status, &e.body()),
    };
    if !wait {
        return json(200, &json!({"accepted": true}));
    }
    ctx.shared.wait_until(due).await;
    es(ctx
        .shared
        .with(|w| w.es_snapshot_created(region, &repo, &snap)))
}

async fn get_snapshots(
    State(ctx): State<RegionCtx>,
    Path((repo, which)): Path<(String, String)>,
) -> Response {
    let region = ctx.region;
    es(ctx
        .shared
        .with(|w| w.es_get_snapshots(region, &repo, &which)))
}

async fn delete_snapshot(
    State(ctx): State<RegionCtx>,
    Path((repo, snap)): Path<(String, String)>,
) -> Response {
    let region = ctx.region;
    es(ctx
        .shared
        .with(|w| w.es_delete_snapshot(region, &repo, &snap)))
}

async fn snapshot_action(
    State(ctx): State<RegionCtx>,
    Path((repo, snap, action)): Path<(String, String, String)>,
    q: Pairs,
    body: Bytes,
) -> Response {
    let region = ctx.region;
    match action.as_str() {
        "_status" => es(ctx
            .shared
            .with(|w| w.es_snapshot_status(region, &repo, &snap))),
        "_restore" => {
            let wait = flag(&pairs(q), "wait_for_completion");
            let started = body_json(&body)
                .and_then(|b| ctx.shared.with(|w| w.es_restore(region, &repo, &snap, &b)));
            let (due, indices) = match started {
                Ok(s) => s,
                Err(e) => return json(e.status, &e.body()),
            };
            if !wait {
                return json(200, &json!({"accepted": true}));
            }
            ctx.shared.wait_until(due).await;
            ctx.shared.with(|_| ());
            let n = indices.len();
            json(
                200,
                &json!({"snapshot": {"snapshot": snap, "indices": indices,
                        "shards": {"total": n, "failed": 0, "successful": n}}}),
            )
        }
        _ => json(
            400,
            &EsError::new(
                400,
                "illegal_argument_exception",
                format!("unknown snapshot action [{action}]"),
            )
            .body(),
        ),
    }
}

async fn count(State(ctx): State<RegionCtx>, Path(index): Path<String>) -> Response {
    let region = ctx.region;
    es(ctx.shared.with(|w| w.es_count(region, &index)))
}

async fn search(State(ctx): State<RegionCtx>, Path(index): Path<String>, body: Bytes) -> Response {
    let region = ctx.region;
    es(body_json(&body).and_then(|b| ctx.shared.with(|w| w.es_search(region, &index, &b))))
}

async fn index_action(
    State(ctx): State<RegionCtx>,
    Path((index, action)): Path<(String, String)>,
) -> Response {
    let region = ctx.region;
    match action.as_str() {
        "_close" => es(ctx.shared.with(|w| w.es_set_open(region, &index, false))),
        "_open" => es(ctx.shared.with(|w| w.es_set_open(region, &index, true))),
        "_search" => es(ctx.shared.with(|w| w.es_search(region, &index, &json!({})))),
        "_count" => es(ctx.shared.with(|w| w.es_count(region, &index))),
        _ => json(
            400,
            &EsError::new(
                400,
                "illegal_argument_exception",
                format!("unknown action [{action}]"),
            )
            .body(),
        ),
    }
}

async fn delete_index(State(ctx): State<RegionCtx>, Path(index): Path<String>) -> Response {
    let region = ctx.region;
    es(ctx.shared.with(|w| w.es_delete_index(region, &index)))
}

async fn create_index(State(ctx): State<RegionCtx>, Path(index): Path<String>) -> Response {
    let region = ctx.region;
    es(ctx.shared.with(|w| w.es_create_index(region, &index)))
}

/// The Elasticsearch router of region `region`.
pub(crate) fn router(shared: Arc<Shared>, region: u8) -> Router {
    let ctx = RegionCtx {
        shared: Arc::clone(&shared),
        region,
    };
    let r = Router::new()
        .route("/", get(info))
        .route("/_cluster/health", get(health))
        .route("/_cat/indices", get(cat_all))
        .route("/_cat/indices/{expr}", get(cat_some))
        .route("/_snapshot", get(get_repos))
        .route(
            "/_snapshot/{repo}",
            get(get_repo).put(put_repo).post(put_repo),
        )
        .route(
            "/_snapshot/{repo}/{snap}",
            get(get_snapshots)
                .put(create_snapshot)
                .post(create_snapshot)
                .delete(delete_snapshot),
        )
        .route(
            "/_snapshot/{repo}/{snap}/{action}",
            get(snapshot_action).post(snapshot_action),
        )
        .route(
            "/{index}",
            axum::routing::delete(delete_index).put(create_index),
        )
        .route("/{index}/_count", get(count).post(count))
        .route("/{index}/_search", get(search).post(search))
        .route("/{index}/{action}", post(index_action))
        .with_state(ctx);
    observed(r, shared)
}
