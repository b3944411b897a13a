//! Each region's Elasticsearch: indices with documents, snapshot repositories over a bucket
//! store shared by all regions, snapshots and restores (contract §5).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::clock::{SimTime, rfc3339, unix_millis};

use super::core::World;

/// The 8.8 index set the schema manager creates (the `_all` example of the procedure page).
pub const SCHEMA_INDICES: [&str; 33] = [
    "camunda-usage-metric-tu-8.8.0_",
    "tasklist-metric-8.3.0_",
    "camunda-mapping-rule-8.8.0_",
    "operate-job-8.6.0_",
    "camunda-user-8.8.0_",
    "camunda-usage-metric-8.8.0_",
    "operate-import-position-8.3.0_",
    "camunda-correlated-message-subscription-8.8.0_",
    "operate-variable-8.3.0_",
    "operate-message-8.5.0_",
    "operate-decision-requirements-8.3.0_",
    "operate-process-8.3.0_",
    "camunda-authorization-8.8.0_",
    "operate-decision-instance-8.3.0_",
    "operate-list-view-8.3.0_",
    "camunda-group-8.8.0_",
    "operate-batch-operation-1.0.0_",
    "tasklist-form-8.4.0_",
    "tasklist-task-variable-8.3.0_",
    "operate-metric-8.3.0_",
    "camunda-web-session-8.8.0_",
    "operate-sequence-flow-8.3.0_",
    "tasklist-task-8.8.0_",
    "tasklist-draft-task-variable-8.3.0_",
    "operate-flownode-instance-8.3.1_",
    "operate-event-8.3.0_",
    "tasklist-import-position-8.2.0_",
    "operate-decision-8.3.0_",
    "operate-incident-8.3.1_",
    "operate-operation-8.4.1_",
    "camunda-role-8.8.0_",
    "operate-post-importer-queue-8.3.0_",
    "camunda-tenant-8.8.0_",
];

/// `version_id` reported in snapshot objects.
const ES_VERSION_ID: u64 = 8_525_000;

/// An Elasticsearch error, rendered as `{"error": {"root_cause", "type", "reason"}, "status"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {reason}")]
pub struct EsError {
    /// HTTP status.
    pub status: u16,
    /// Elasticsearch exception type, e.g. `snapshot_restore_exception`.
    pub kind: String,
    /// Human-readable reason.
    pub reason: String,
}

impl EsError {
    pub(crate) fn new(status: u16, kind: &str, reason: impl Into<String>) -> Self {
        Self {
            status,
            kind: kind.to_owned(),
            reason: reason.into(),
        }
    }

    /// The JSON body Elasticsearch answers with.
    #[must_use]
    pub fn body(&self) -> Value {
        json!({
            "error": {
                "root_cause": [{"type": self.kind, "reason": self.reason}],
                "type": self.kind,
                "reason": self.reason,
            },
            "status": self.status,
        })
    }

    fn index_not_found(index: &str) -> Self {
        Self::new(
            404,
            "index_not_found_exception",
            format!("no such index [{index}]"),
        )
    }

    fn repository_missing(repo: &str) -> Self {
        Self::new(
            404,
            "repository_missing_exception",
            format!("[{repo}] missing"),
        )
    }

    fn snapshot_missing(repo: &str, snap: &str) -> Self {
        Self::new(
            404,
            "snapshot_missing_exception",
            format!("[{repo}:{snap}] is missing"),
        )
    }
}

/// Run state of an Elasticsearch cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EsStatus {
    Stopped,
    Starting { ready_at: SimTime },
    Running,
}

/// An index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Index {
    pub(crate) open: bool,
    pub(crate) docs: BTreeMap<String, Value>,
}

impl Index {
    fn empty() -> Self {
        Self {
            open: true,
            docs: BTreeMap::new(),
        }
    }
}

/// Where a repository keeps its data: shared by every cluster that registers it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RepoLocation {
    S3 { bucket: String, base_path: String },
    Fs { location: String },
}

/// A repository registered in one cluster.
#[derive(Debug, Clone)]
pub(crate) struct Repository {
    pub(crate) kind: String,
    pub(crate) settings: Value,
    pub(crate) location: RepoLocation,
    /// Snapshot names this cluster knows about: what existed at registration plus what
    /// it created itself.
    pub(crate) visible: BTreeSet<String>,
}

/// Snapshot state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SnapState {
    InProgress,
    Success,
}

/// A snapshot in the shared bucket store.
#[derive(Debug, Clone)]
pub(crate) struct StoredSnapshot {
    pub(crate) uuid: String,
    pub(crate) indices: BTreeMap<String, Index>,
    pub(crate) include_global_state: bool,
    pub(crate) state: SnapState,
    pub(crate) start: SimTime,
    pub(crate) end: Option<SimTime>,
}

/// A snapshot or restore in progress.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) due: SimTime,
    pub(crate) kind: JobKind,
}

#[derive(Debug, Clone)]
pub(crate) enum JobKind {
    Snapshot {
        location: RepoLocation,
        name: String,
    },
    Restore {
        location: RepoLocation,
        name: String,
        indices: Vec<String>,
    },
}

/// One region's Elasticsearch.
#[derive(Debug, Clone)]
pub(crate) struct Elasticsearch {
    pub(crate) status: EsStatus,
    pub(crate) indices: BTreeMap<String, Index>,
    pub(crate) repositories: BTreeMap<String, Repository>,
    pub(crate) jobs: Vec<Job>,
}

impl Elasticsearch {
    pub(crate) fn empty() -> Self {
        Self {
            status: EsStatus::Stopped,
            indices: BTreeMap::new(),
            repositories: BTreeMap::new(),
            jobs: Vec::new(),
        }
    }

    /// Creates the missing indices of the 8.8 set (what the schema manager does).
    pub(crate) fn ensure_schema(&mut self) {
        for name in SCHEMA_INDICES {
            self.indices
                .entry(name.to_owned())
                .or_insert_with(Index::empty);
        }
    }

    /// Whether the schema an exporter checks when it opens is there: the cluster runs and every
    /// index of the 8.8 set exists and is open (`SchemaManager.isSchemaReadyForUse`: no
    /// missing index; a closed index is not matched by the `name*` pattern it reads mappings
    /// with).
    pub(crate) fn schema_ready(&self) -> bool {
        self.status == EsStatus::Running
            && SCHEMA_INDICES
                .iter()
                .all(|name| self.indices.get(*name).is_some_and(|i| i.open))
    }

    /// Whether a document can be written to `index` (missing indices are auto-created).
    pub(crate) fn writable(&self, index: &str) -> bool {
        self.status == EsStatus::Running && self.indices.get(index).is_none_or(|i| i.open)
    }

    /// Writes a document, auto-creating the index. Returns false when the index is closed.
    pub(crate) fn write_doc(&mut self, index: &str, id: &str, doc: Value) -> bool {
        let idx = self
            .indices
            .entry(index.to_owned())
            .or_insert_with(Index::empty);
        if !idx.open {
            return false;
        }
        idx.docs.insert(id.to_owned(), doc);
        true
    }

    /// Resolves an index expression (comma list, `*` wildcards, `_all`) to existing names.
    fn resolve(&self, expr: &str, include_closed: bool) -> Result<Vec<String>, EsError> {
        let mut out = BTreeSet::new();
        for part in expr.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "_all" || part.contains('*') {
                let pattern = if part == "_all" { "*" } else { part };
                out.extend(
                    self.indices
                        .iter()
                        .filter(|(n, i)| (include_closed || i.open) && glob(pattern, n))
                        .map(|(n, _)| n.clone()),
                );
            } else if self.indices.contains_key(part) {
                out.insert(part.to_owned());
            } else {
                return Err(EsError::index_not_found(part));
            }
        }
        Ok(out.into_iter().collect())
    }

    fn open_index(&self, name: &str) -> Result<&Index, EsError> {
        let idx = self
            .indices
            .get(name)
            .ok_or_else(|| EsError::index_not_found(name))?;
        if idx.open {
            Ok(idx)
        } else {
            Err(EsError::new(400, "index_closed_exception", "closed"))
        }
    }
}

/// Simple `*` glob matching.
fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(pos) = rest.find(part) {
            rest = &rest[pos + part.len()..];
        } else {
            return false;
        }
    }
    true
}

/// Parses the `indices` field of a snapshot or restore body (string or array).
fn indices_field(body: &Value) -> Option<String> {
    match body.get("indices") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    }
}

fn bool_field(body: &Value, key: &str, default: bool) -> bool {
    match body.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s != "false",
        _ => default,
    }
}

/// Which snapshots `GET /_snapshot/{repo}/{which}` asks for.
fn wants_all(which: &str) -> bool {
    which == "_all" || which == "*"
}

impl World {
    fn es(&self, r: u8) -> Result<&Elasticsearch, EsError> {
        self.region(r)
            .map(|reg| &reg.es)
            .ok_or_else(|| EsError::new(500, "exception", "no such region"))
    }

    fn es_mut(&mut self, r: u8) -> Result<&mut Elasticsearch, EsError> {
        self.region_mut(r)
            .map(|reg| &mut reg.es)
            .ok_or_else(|| EsError::new(500, "exception", "no such region"))
    }

    /// `GET /`.
    #[must_use]
    pub fn es_info(&self, r: u8) -> Value {
        json!({
            "name": "camunda-elasticsearch-master-0",
            "cluster_name": format!("camunda-region{r}"),
            "cluster_uuid": format!("twin-es-region{r}"),
            "version": {
                "number": self.cfg.elasticsearch_version,
                "build_flavor": "default",
                "build_type": "docker",
                "lucene_version": "9.12.1",
                "minimum_wire_compatibility_version": "7.17.0",
                "minimum_index_compatibility_version": "7.0.0",
            },
            "tagline": "You Know, for Search",
        })
    }

    /// `GET /_cluster/health`.
    #[must_use]
    pub fn es_health(&self, r: u8) -> Value {
        let shards = self.region(r).map_or(0, |reg| reg.es.indices.len());
        json!({
            "cluster_name": format!("camunda-region{r}"),
            "status": "green",
            "timed_out": false,
            "number_of_nodes": 1,
            "number_of_data_nodes": 1,
            "active_primary_shards": shards,
            "active_shards": shards,
            "relocating_shards": 0,
            "initializing_shards": 0,
            "unassigned_shards": 0,
            "number_of_pending_tasks": 0,
            "active_shards_percent_as_number": 100.0,
        })
    }

    /// `GET /_cat/indices?format=json` (optionally restricted to an index expression).
    ///
    /// # Errors
    /// Unknown index in the expression.
    pub fn es_cat_indices(&self, r: u8, expr: Option<&str>) -> Result<Value, EsError> {
        let es = self.es(r)?;
        let names = match expr {
            Some(e) => es.resolve(e, true)?,
            None => es.indices.keys().cloned().collect(),
        };
        let rows: Vec<Value> = names
            .iter()
            .filter_map(|n| es.indices.get(n).map(|i| (n, i)))
            .map(|(name, idx)| {
                if idx.open {
                    json!({"health": "green", "status": "open", "index": name,
                           "pri": "1", "rep": "0", "docs.count": idx.docs.len().to_string()})
                } else {
                    json!({"health": null, "status": "close", "index": name,
                           "pri": "1", "rep": "0", "docs.count": null})
                }
            })
            .collect();
        Ok(Value::Array(rows))
    }

    /// `GET /{index}/_count`.
    ///
    /// # Errors
    /// Unknown or closed index.
    pub fn es_count(&self, r: u8, expr: &str) -> Result<Value, EsError> {
        let es = self.es(r)?;
        let names = es.resolve(expr, false)?;
        let mut count = 0usize;
        for n in &names {
            count += es.open_index(n)?.docs.len();
        }
        Ok(
            json!({"count": count, "_shards": {"total": names.len(), "successful": names.len(),
                  "skipped": 0, "failed": 0}}),
        )
    }

    /// `POST /{index}/_search` with `match_all`, `term` or `terms`, `size`, `from`, `_source`.
    ///
    /// # Errors
    /// Unknown or closed index, unsupported query.
    pub fn es_search(&self, r: u8, expr: &str, body: &Value) -> Result<Value, EsError> {
        if let Some(obj) = body.as_object() {
            const KNOWN: [&str; 8] = [
                "query",
                "size",
                "from",
                "_source",
                "sort",
                "track_total_hits",
                "timeout",
                "aggs",
            ];
            if let Some(unknown) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
                return Err(EsError::new(
                    400,
                    "parsing_exception",
                    format!("Unknown key for a START_OBJECT in [{unknown}]."),
                ));
            }
        } else {
            return Err(EsError::new(
                400,
                "parsing_exception",
                "request body must be a JSON object",
            ));
        }
        let es = self.es(r)?;
        let names = es.resolve(expr, false)?;
        let size = body.get("size").and_then(Value::as_u64).unwrap_or(10);
        let from = body.get("from").and_then(Value::as_u64).unwrap_or(0);
        let filter = match body.get("query") {
            None => None,
            Some(q) => Some(Query::parse(q)?),
        };
        let mut hits = Vec::new();
        for n in &names {
            for (id, doc) in &es.open_index(n)?.docs {
                if filter.as_ref().is_none_or(|f| f.matches(doc)) {
                    hits.push((n.clone(), id.clone(), doc.clone()));
                }
            }
        }
        let total = hits.len();
        let page: Vec<Value> = hits
            .into_iter()
            .skip(usize::try_from(from).unwrap_or(usize::MAX))
            .take(usize::try_from(size).unwrap_or(usize::MAX))
            .map(|(index, id, doc)| {
                let mut hit = json!({"_index": index, "_id": id, "_score": 1.0});
                if let Some(source) = filter_source(&doc, body.get("_source"))
                    && let Some(obj) = hit.as_object_mut()
                {
                    obj.insert("_source".to_owned(), source);
                }
                hit
            })
            .collect();
        Ok(json!({
            "took": 1,
            "timed_out": false,
            "_shards": {"total": names.len(), "successful": names.len(), "skipped": 0, "failed": 0},
            "hits": {"total": {"value": total, "relation": "eq"}, "max_score": 1.0, "hits": page},
        }))
    }

    /// `DELETE /{index}` (exact names only, like `action.destructive_requires_name`).
    ///
    /// # Errors
    /// Wildcards, unknown index.
    pub fn es_delete_index(&mut self, r: u8, expr: &str) -> Result<Value, EsError> {
        if expr.contains('*') || expr.split(',').any(|p| p.trim() == "_all") {
            return Err(EsError::new(
                400,
                "illegal_argument_exception",
                "Wildcard expressions or all indices are not allowed",
            ));
        }
        let es = self.es_mut(r)?;
        let names = es.resolve(expr, true)?;
        for n in names {
            es.indices.remove(&n);
        }
        Ok(json!({"acknowledged": true}))
    }

    /// `POST /{index}/_close` or `_open`.
    ///
    /// # Errors
    /// Unknown index.
    pub fn es_set_open(&mut self, r: u8, expr: &str, open: bool) -> Result<Value, EsError> {
        let es = self.es_mut(r)?;
        let names = es.resolve(expr, true)?;
        let mut report = Map::new();
        for n in &names {
            if let Some(i) = es.indices.get_mut(n) {
                i.open = open;
            }
            report.insert(n.clone(), json!({"closed": !open}));
        }
        if open {
            Ok(json!({"acknowledged": true, "shards_acknowledged": true}))
        } else {
            Ok(json!({"acknowledged": true, "shards_acknowledged": true, "indices": report}))
        }
    }

    /// `PUT /_snapshot/{repo}`: registers (or re-registers) a repository; the cluster
    /// learns the snapshots present in the shared store at this moment.
    ///
    /// # Errors
    /// Invalid type or settings.
    pub fn es_put_repository(&mut self, r: u8, repo: &str, body: &Value) -> Result<Value, EsError> {
        let kind = body.get("type").and_then(Value::as_str).unwrap_or_default();
        let settings = body.get("settings").cloned().unwrap_or_else(|| json!({}));
        let setting = |k: &str| settings.get(k).and_then(Value::as_str).map(str::to_owned);
        let location = match kind {
            "s3" => RepoLocation::S3 {
                bucket: setting("bucket").ok_or_else(|| {
                    EsError::new(
                        500,
                        "repository_exception",
                        format!("[{repo}] No bucket defined for s3 repository"),
                    )
                })?,
                base_path: setting("base_path").unwrap_or_default(),
            },
            "fs" => RepoLocation::Fs {
                location: setting("location").ok_or_else(|| {
                    EsError::new(
                        500,
                        "repository_exception",
                        format!(
                            "[{repo}] missing location [] or location doesn't match any of the locations specified by path.repo"
                        ),
                    )
                })?,
            },
            "" => {
                return Err(EsError::new(
                    400,
                    "action_request_validation_exception",
                    "Validation Failed: 1: type is missing;",
                ));
            }
            other => {
                return Err(EsError::new(
                    500,
                    "repository_exception",
                    format!("[{repo}] repository type [{other}] does not exist"),
                ));
            }
        };
        let visible: BTreeSet<String> = self
            .bucket_store
            .get(&location)
            .map(|snaps| snaps.keys().cloned().collect())
            .unwrap_or_default();
        self.es_mut(r)?.repositories.insert(
            repo.to_owned(),
            Repository {
                kind: kind.to_owned(),
                settings,
                location,
                visible,
            },
        );
        Ok(json!({"acknowledged": true}))
    }

    /// `GET /_snapshot[/{repo}]`.
    ///
    /// # Errors
    /// Unknown repository.
    pub fn es_get_repositories(&self, r: u8, repo: Option<&str>) -> Result<Value, EsError> {
        let es = self.es(r)?;
        let mut out = Map::new();
        for (name, rep) in &es.repositories {
            if repo.is_none_or(|want| want == name || want == "_all" || want == "*") {
                out.insert(
                    name.clone(),
                    json!({"type": rep.kind, "settings": rep.settings}),
                );
            }
        }
        if let Some(want) = repo
            && out.is_empty()
            && !wants_all(want)
        {
            return Err(EsError::repository_missing(want));
        }
        Ok(Value::Object(out))
    }

    fn repository(&self, r: u8, repo: &str) -> Result<&Repository, EsError> {
        self.es(r)?
            .repositories
            .get(repo)
            .ok_or_else(|| EsError::repository_missing(repo))
    }

    /// A snapshot visible through region `r`'s repository.
    fn visible_snapshot(
        &self,
        r: u8,
        repo: &str,
        snap: &str,
    ) -> Result<(&Repository, &StoredSnapshot), EsError> {
        let rep = self.repository(r, repo)?;
        let stored = self
            .bucket_store
            .get(&rep.location)
            .and_then(|s| s.get(snap))
            .filter(|_| rep.visible.contains(snap))
            .ok_or_else(|| EsError::snapshot_missing(repo, snap))?;
        Ok((rep, stored))
    }

    fn snapshot_json(&self, repo: &str, name: &str, s: &StoredSnapshot) -> Value {
        let indices: Vec<&String> = s.indices.keys().collect();
        let n = indices.len();
        let mut v = json!({
            "snapshot": name,
            "uuid": s.uuid,
            "repository": repo,
            "version_id": ES_VERSION_ID,
            "version": self.cfg.elasticsearch_version,
            "indices": indices,
            "data_streams": [],
            "include_global_state": s.include_global_state,
            "state": match s.state { SnapState::InProgress => "IN_PROGRESS", SnapState::Success => "SUCCESS" },
            "start_time": rfc3339(s.start),
            "start_time_in_millis": unix_millis(s.start),
            "failures": [],
            "shards": match s.state {
                SnapState::InProgress => json!({"total": 0, "failed": 0, "successful": 0}),
                SnapState::Success => json!({"total": n, "failed": 0, "successful": n}),
            },
            "feature_states": [],
        });
        if let (Some(end), Some(obj)) = (s.end, v.as_object_mut()) {
            obj.insert("end_time".to_owned(), json!(rfc3339(end)));
            obj.insert("end_time_in_millis".to_owned(), json!(unix_millis(end)));
            obj.insert("duration_in_millis".to_owned(), json!(end - s.start));
        }
        v
    }

    /// `PUT /_snapshot/{repo}/{snap}`: starts a snapshot of the open indices (or the
    /// `indices` of the body). Returns the due time of its completion.
    ///
    /// # Errors
    /// Unknown repository, name already used.
    pub fn es_create_snapshot(
        &mut self,
        r: u8,
        repo: &str,
        snap: &str,
        body: &Value,
    ) -> Result<SimTime, EsError> {
        let location = self.repository(r, repo)?.location.clone();
        if self
            .bucket_store
            .get(&location)
            .is_some_and(|s| s.contains_key(snap))
        {
            return Err(EsError::new(
                400,
                "invalid_snapshot_name_exception",
                format!(
                    "[{repo}:{snap}] Invalid snapshot name [{snap}], snapshot with the same name already exists"
                ),
            ));
        }
        let es = self.es(r)?;
        let names = match indices_field(body) {
            Some(expr) => es.resolve(&expr, false)?,
            None => es
                .indices
                .iter()
                .filter(|(_, i)| i.open)
                .map(|(n, _)| n.clone())
                .collect(),
        };
        let indices: BTreeMap<String, Index> = names
            .iter()
            .filter_map(|n| es.indices.get(n).map(|i| (n.clone(), i.clone())))
            .collect();
        let include_global_state = bool_field(body, "include_global_state", true);
        let uuid = self.next_uuid();
        let now = self.now;
        let due = now + self.latency(self.cfg.latencies.snapshot);
        self.bucket_store
            .entry(location.clone())
            .or_default()
            .insert(
                snap.to_owned(),
                StoredSnapshot {
                    uuid,
                    indices,
                    include_global_state,
                    state: SnapState::InProgress,
                    start: now,
                    end: None,
                },
            );
        let es = self.es_mut(r)?;
        if let Some(rep) = es.repositories.get_mut(repo) {
            rep.visible.insert(snap.to_owned());
        }
        es.jobs.push(Job {
            due,
            kind: JobKind::Snapshot {
                location,
                name: snap.to_owned(),
            },
        });
        self.busy.add(now, due);
        Ok(due)
    }

    /// The answer of a completed (or still running) snapshot creation with
    /// `wait_for_completion=true`.
    ///
    /// # Errors
    /// The snapshot vanished.
    pub fn es_snapshot_created(&self, r: u8, repo: &str, snap: &str) -> Result<Value, EsError> {
        let (_, s) = self.visible_snapshot(r, repo, snap)?;
        Ok(json!({"snapshot": self.snapshot_json(repo, snap, s)}))
    }

    /// `GET /_snapshot/{repo}/{which}` (`_all`, `*`, or a comma list of names).
    ///
    /// # Errors
    /// Unknown repository or snapshot.
    pub fn es_get_snapshots(&self, r: u8, repo: &str, which: &str) -> Result<Value, EsError> {
        let rep = self.repository(r, repo)?;
        let store = self.bucket_store.get(&rep.location);
        let mut snaps = Vec::new();
        if wants_all(which) {
            if let Some(store) = store {
                let mut visible: Vec<(&String, &StoredSnapshot)> = store
                    .iter()
                    .filter(|(n, _)| rep.visible.contains(*n))
                    .collect();
                visible.sort_by_key(|(n, s)| (s.start, (*n).clone()));
                snaps.extend(
                    visible
                        .into_iter()
                        .map(|(n, s)| self.snapshot_json(repo, n, s)),
                );
            }
        } else {
            for name in which.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let (_, s) = self.visible_snapshot(r, repo, name)?;
                snaps.push(self.snapshot_json(repo, name, s));
            }
        }
        let total = snaps.len();
        Ok(json!({"snapshots": snaps, "total": total, "remaining": 0}))
    }

    /// `GET /_snapshot/{repo}/{snap}/_status`.
    ///
    /// # Errors
    /// Unknown repository or snapshot.
    pub fn es_snapshot_status(&self, r: u8, repo: &str, snap: &str) -> Result<Value, EsError> {
        let (_, s) = self.visible_snapshot(r, repo, snap)?;
        let n = s.indices.len();
        let docs: usize = s.indices.values().map(|i| i.docs.len()).sum();
        let files = n * 4 + docs;
        let size = files * 1024;
        let (state, done, started) = match s.state {
            SnapState::InProgress => ("STARTED", 0, n),
            SnapState::Success => ("SUCCESS", n, 0),
        };
        let indices: Map<String, Value> = s
            .indices
            .iter()
            .map(|(name, idx)| {
                (
                    name.clone(),
                    json!({"shards_stats": {"initializing": 0, "started": started.min(1),
                            "finalizing": 0, "done": done.min(1), "failed": 0, "total": 1},
                           "stats": {"incremental": {"file_count": 4 + idx.docs.len(),
                                                     "size_in_bytes": (4 + idx.docs.len()) * 1024},
                                     "total": {"file_count": 4 + idx.docs.len(),
                                               "size_in_bytes": (4 + idx.docs.len()) * 1024}}}),
                )
            })
            .collect();
        let elapsed = s.end.unwrap_or(self.now).saturating_sub(s.start);
        Ok(json!({"snapshots": [{
            "snapshot": snap,
            "repository": repo,
            "uuid": s.uuid,
            "state": state,
            "include_global_state": s.include_global_state,
            "shards_stats": {"initializing": 0, "started": started, "finalizing": 0,
                             "done": done, "failed": 0, "total": n},
            "stats": {
                "incremental": {"file_count": files, "size_in_bytes": size},
                "total": {"file_count": files, "size_in_bytes": size},
                "start_time_in_millis": unix_millis(s.start),
                "time_in_millis": elapsed,
            },
            "indices": indices,
        }]}))
    }

    /// `DELETE /_snapshot/{repo}/{snap}`.
    ///
    /// # Errors
    /// Unknown repository or snapshot.
    pub fn es_delete_snapshot(&mut self, r: u8, repo: &str, snap: &str) -> Result<Value, EsError> {
        let location = self.visible_snapshot(r, repo, snap)?.0.location.clone();
        if let Some(store) = self.bucket_store.get_mut(&location) {
            store.remove(snap);
        }
        if let Some(rep) = self.es_mut(r)?.repositories.get_mut(repo) {
            rep.visible.remove(snap);
        }
        Ok(json!({"acknowledged": true}))
    }

    /// `POST /_snapshot/{repo}/{snap}/_restore`: starts restoring. Returns the due time
    /// and the restored index names.
    ///
    /// # Errors
    /// Unknown repository or snapshot, snapshot not finished, open index in the way.
    pub fn es_restore(
        &mut self,
        r: u8,
        repo: &str,
        snap: &str,
        body: &Value,
    ) -> Result<(SimTime, Vec<String>), EsError> {
        let (rep, stored) = self.visible_snapshot(r, repo, snap)?;
        let location = rep.location.clone();
        if stored.state != SnapState::Success {
            return Err(EsError::new(
                400,
                "snapshot_restore_exception",
                format!(
                    "[{repo}:{snap}/{}] cannot restore in-progress snapshot",
                    stored.uuid
                ),
            ));
        }
        let names: Vec<String> = match indices_field(body) {
            Some(expr) => {
                let mut out = Vec::new();
                for part in expr.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    if part.contains('*') || part == "_all" {
                        let pattern = if part == "_all" { "*" } else { part };
                        out.extend(stored.indices.keys().filter(|n| glob(pattern, n)).cloned());
                    } else if stored.indices.contains_key(part) {
                        out.push(part.to_owned());
                    } else {
                        return Err(EsError::new(
                            404,
                            "snapshot_restore_exception",
                            format!("[{repo}:{snap}/{}] index [{part}] not found", stored.uuid),
                        ));
                    }
                }
                out.sort();
                out.dedup();
                out
            }
            None => stored.indices.keys().cloned().collect(),
        };
        let es = self.es(r)?;
        if let Some(conflict) = names
            .iter()
            .find(|n| es.indices.get(*n).is_some_and(|i| i.open))
        {
            return Err(EsError::new(
                500,
                "snapshot_restore_exception",
                format!(
                    "[{repo}:{snap}/{}] cannot restore index [{conflict}] because an open index with same name already exists in the cluster. Either close or delete the existing index or restore the index under a different name by providing a rename pattern and replacement name",
                    stored.uuid
                ),
            ));
        }
        let now = self.now;
        let due = now + self.latency(self.cfg.latencies.restore);
        self.es_mut(r)?.jobs.push(Job {
            due,
            kind: JobKind::Restore {
                location,
                name: snap.to_owned(),
                indices: names.clone(),
            },
        });
        self.busy.add(now, due);
        Ok((due, names))
    }

    /// Completes snapshots and restores that are due.
    pub(crate) fn fire_elasticsearch(&mut self) {
        let now = self.now;
        for r in 0..self.cfg.regions {
            let Some(reg) = self.region_mut(r) else {
                continue;
            };
            let (done, pending): (Vec<Job>, Vec<Job>) =
                reg.es.jobs.drain(..).partition(|j| j.due <= now);
            reg.es.jobs = pending;
            for job in done {
                match job.kind {
                    JobKind::Snapshot { location, name } => {
                        if let Some(s) = self
                            .bucket_store
                            .get_mut(&location)
                            .and_then(|st| st.get_mut(&name))
                        {
                            s.state = SnapState::Success;
                            s.end = Some(job.due);
                        }
                    }
                    JobKind::Restore {
                        location,
                        name,
                        indices,
                    } => {
                        let restored: Vec<(String, Index)> = self
                            .bucket_store
                            .get(&location)
                            .and_then(|st| st.get(&name))
                            .map(|s| {
                                indices
                                    .iter()
                                    .filter_map(|n| {
                                        s.indices.get(n).map(|i| (n.clone(), i.clone()))
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        if let Some(reg) = self.region_mut(r) {
                            for (n, mut idx) in restored {
                                idx.open = true;
                                reg.es.indices.insert(n, idx);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The query subset the twin understands. Term values are kept as their text (keyword and
/// long fields compare alike), in a set, so a `terms` query over many values stays linear.
enum Query {
    All,
    Terms(String, BTreeSet<String>),
}

impl Query {
    fn parse(q: &Value) -> Result<Self, EsError> {
        let unsupported = || {
            EsError::new(
                400,
                "parsing_exception",
                "unknown query: the twin supports match_all, term and terms",
            )
        };
        let obj = q.as_object().ok_or_else(unsupported)?;
        let (kind, inner) = obj.iter().next().ok_or_else(unsupported)?;
        match kind.as_str() {
            "match_all" => Ok(Self::All),
            "term" => {
                let (field, v) = inner
                    .as_object()
                    .and_then(|o| o.iter().next())
                    .ok_or_else(unsupported)?;
                let v = v.get("value").unwrap_or(v);
                Ok(Self::Terms(field.clone(), BTreeSet::from([term_text(v)])))
            }
            "terms" => {
                let (field, v) = inner
                    .as_object()
                    .and_then(|o| o.iter().next())
                    .ok_or_else(unsupported)?;
                let values = v.as_array().ok_or_else(unsupported)?;
                Ok(Self::Terms(
                    field.clone(),
                    values.iter().map(term_text).collect(),
                ))
            }
            _ => Err(unsupported()),
        }
    }

    fn matches(&self, doc: &Value) -> bool {
        match self {
            Self::All => true,
            Self::Terms(field, values) => doc
                .get(field)
                .is_some_and(|actual| values.contains(&term_text(actual))),
        }
    }
}

/// The text a term is compared by: `"123"` and `123` alike (as keyword/long fields do).
fn term_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn filter_source(doc: &Value, source: Option<&Value>) -> Option<Value> {
    match source {
        None | Some(Value::Bool(true)) => Some(doc.clone()),
        Some(Value::Bool(false)) => None,
        Some(Value::String(field)) => Some(pick(doc, std::slice::from_ref(field))),
        Some(Value::Array(fields)) => {
            let fields: Vec<String> = fields
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            Some(pick(doc, &fields))
        }
        Some(Value::Object(o)) => match o.get("includes").or_else(|| o.get("include")) {
            Some(inc) => filter_source(doc, Some(inc)),
            None => Some(doc.clone()),
        },
        Some(_) => Some(doc.clone()),
    }
}

fn pick(doc: &Value, fields: &[String]) -> Value {
    let mut out = Map::new();
    if let Some(obj) = doc.as_object() {
        for f in fields {
            for (k, v) in obj {
                if glob(f, k) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Value::Object(out)
}

impl World {
    /// `PUT /{index}`: creates an empty open index.
    ///
    /// # Errors
    /// The index exists.
    pub fn es_create_index(&mut self, r: u8, index: &str) -> Result<Value, EsError> {
        let es = self.es_mut(r)?;
        if es.indices.contains_key(index) {
            return Err(EsError::new(
                400,
                "resource_already_exists_exception",
                format!("index [{index}/twin] already exists"),
            ));
        }
        es.indices.insert(index.to_owned(), Index::empty());
        Ok(json!({"acknowledged": true, "shards_acknowledged": true, "index": index}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        assert!(glob("operate-*", "operate-list-view-8.3.0_"));
        assert!(glob("*", "x"));
        assert!(glob("*view*", "operate-list-view-8.3.0_"));
        assert!(!glob("tasklist-*", "operate-list-view-8.3.0_"));
        assert!(glob("a*c", "abc"));
        assert!(!glob("a*c", "abd"));
    }

    #[test]
    fn term_queries_compare_keywords_and_numbers_alike() {
        let q = Query::parse(&json!({"terms": {"key": ["12", 13, "x"]}})).expect("terms");
        assert!(q.matches(&json!({"key": 12})));
        assert!(q.matches(&json!({"key": "13"})));
        assert!(!q.matches(&json!({"key": 14})));
        assert!(!q.matches(&json!({"other": 12})));
        let q = Query::parse(&json!({"term": {"key": {"value": 7}}})).expect("term");
        assert!(q.matches(&json!({"key": "7"})));
        assert!(Query::parse(&json!({"match": {"key": 7}})).is_err());
    }

    #[test]
    fn schema_has_33_distinct_indices() {
        let set: BTreeSet<&str> = SCHEMA_INDICES.iter().copied().collect();
        assert_eq!(set.len(), 33);
    }
}
