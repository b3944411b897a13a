//! `CamundaApis` over HTTP: the management API, the REST API and Elasticsearch of each region.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use c8dr_core::backend::{ApiError, CamundaApis};
use c8dr_core::camunda::{
    BackupRepository, ChangeOptions, ClusterPatchRequest, ClusterTopology, CreatedInstance,
    Deployment, ExporterStatus, ExportingOperation, ExportingOutcome, IndexInfo, PlannedChanges,
    RestoreResponse, SnapshotInfo, SnapshotStatus, Topology, UserTask,
};
use c8dr_core::region::RegionId;
use reqwest::Client;
use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::http::{self, send};

/// Reads (topology, exporters, searches) must answer quickly; a slow read is retried by polling.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Mutating management calls answer once the change is accepted; the gateway gives up after 10 s.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// How many keys one Elasticsearch `terms` query carries.
const KEYS_PER_QUERY: usize = 1000;

/// The base URLs of one region's services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionEndpoints {
    /// Orchestration Cluster REST API, for example `http://127.0.0.10:8080`.
    pub rest: Url,
    /// Management API, for example `http://127.0.0.10:9600`.
    pub management: Url,
    /// Elasticsearch, for example `http://127.0.0.10:9200`.
    pub elasticsearch: Url,
}

/// Basic-auth credentials for the REST API (`demo`/`demo` in the dual-region Helm setup).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// User name.
    pub username: String,
    /// Password; never logged or printed.
    pub password: String,
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The APIs of every region, over HTTP.
#[derive(Debug, Clone)]
pub struct HttpApis {
    client: Client,
    regions: Vec<RegionEndpoints>,
    auth: Option<BasicAuth>,
}

impl HttpApis {
    /// Clients for these regions (indexed by region id).
    #[must_use]
    pub fn new(regions: Vec<RegionEndpoints>, auth: Option<BasicAuth>) -> Self {
        Self {
            client: http::client(),
            regions,
            auth,
        }
    }

    fn region(
        &self,
        region: RegionId,
        service: &'static str,
    ) -> Result<&RegionEndpoints, ApiError> {
        self.regions
            .get(region.index())
            .ok_or(ApiError::NoEndpoint { region, service })
    }

    fn url(&self, region: RegionId, service: &'static str, path: &str) -> Result<Url, ApiError> {
        let endpoints = self.region(region, service)?;
        let base = match service {
            "rest" => &endpoints.rest,
            "management" => &endpoints.management,
            _ => &endpoints.elasticsearch,
        };
        base.join(path)
            .map_err(|_| ApiError::NoEndpoint { region, service })
    }

    fn rest(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.auth {
            Some(auth) => request.basic_auth(&auth.username, Some(&auth.password)),
            None => request,
        }
    }
}

#[derive(Deserialize)]
struct SnapshotList {
    #[serde(default)]
    snapshots: Vec<SnapshotInfo>,
}

#[derive(Deserialize)]
struct SnapshotCreated {
    snapshot: SnapshotInfo,
}

#[derive(Deserialize)]
struct StatusList {
    #[serde(default)]
    snapshots: Vec<SnapshotStatus>,
}

#[derive(Deserialize)]
struct CatIndex {
    index: String,
    #[serde(rename = "docs.count", default)]
    docs_count: Option<serde_json::Value>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct UserTaskPage {
    #[serde(default)]
    items: Vec<UserTask>,
}

#[derive(Deserialize)]
struct SearchResponse {
    hits: Hits,
}

#[derive(Deserialize)]
struct Hits {
    #[serde(default)]
    hits: Vec<Hit>,
}

#[derive(Deserialize)]
struct Hit {
    #[serde(rename = "_source", default)]
    source: serde_json::Value,
}

fn as_u64(value: Option<&serde_json::Value>) -> u64 {
    match value {
        Some(serde_json::Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(serde_json::Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn key_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl CamundaApis for HttpApis {
    async fn topology(&self, via: RegionId) -> Result<Topology, ApiError> {
        let url = self.url(via, "rest", "/v2/topology")?;
        let request = self
            .rest(self.client.get(url))
            .header("Accept", "application/json")
            .timeout(READ_TIMEOUT);
        send(request).await?.json()
    }

    async fn cluster(&self, via: RegionId) -> Result<ClusterTopology, ApiError> {
        let url = self.url(via, "management", "/actuator/cluster")?;
        send(self.client.get(url).timeout(READ_TIMEOUT))
            .await?
            .json()
    }

    async fn patch_cluster(
        &self,
        via: RegionId,
        request: &ClusterPatchRequest,
        options: ChangeOptions,
    ) -> Result<PlannedChanges, ApiError> {
        let mut url = self.url(via, "management", "/actuator/cluster")?;
        {
            let mut query = url.query_pairs_mut();
            if options.force {
                query.append_pair("force", "true");
            }
            if options.dry_run {
                query.append_pair("dryRun", "true");
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        send(self.client.patch(url).json(request).timeout(WRITE_TIMEOUT))
            .await?
            .json()
    }

    async fn exporters(&self, via: RegionId) -> Result<Vec<ExporterStatus>, ApiError> {
        let url = self.url(via, "management", "/actuator/exporters")?;
        send(self.client.get(url).timeout(READ_TIMEOUT))
            .await?
            .json()
    }

    async fn disable_exporter(
        &self,
        via: RegionId,
        exporter: &str,
    ) -> Result<PlannedChanges, ApiError> {
        let url = self.url(
            via,
            "management",
            &format!("/actuator/exporters/{exporter}/disable"),
        )?;
        send(self.client.post(url).timeout(WRITE_TIMEOUT))
            .await?
            .json()
    }

    async fn enable_exporter(
        &self,
        via: RegionId,
        exporter: &str,
        initialize_from: Option<&str>,
    ) -> Result<PlannedChanges, ApiError> {
        let url = self.url(
            via,
            "management",
            &format!("/actuator/exporters/{exporter}/enable"),
        )?;
        let mut request = self.client.post(url).timeout(WRITE_TIMEOUT);
        if let Some(from) = initialize_from {
            request = request.json(&json!({ "initializeFrom": from }));
        }
        send(request).await?.json()
    }

    async fn exporting(
        &self,
        via: RegionId,
        operation: ExportingOperation,
    ) -> Result<ExportingOutcome, ApiError> {
        let url = self.url(via, "management", operation.path())?;
        let answer = send(self.client.post(url).timeout(WRITE_TIMEOUT)).await?;
        Ok(ExportingOutcome::from_answer(
            answer.status.as_u16(),
            &answer.body,
        ))
    }

    async fn deploy_resource(
        &self,
        via: RegionId,
        name: &str,
        content: &[u8],
    ) -> Result<Deployment, ApiError> {
        let url = self.url(via, "rest", "/v2/deployments")?;
        let part = reqwest::multipart::Part::bytes(content.to_vec())
            .file_name(name.to_owned())
            .mime_str("application/xml")
            .map_err(|e| ApiError::Unreachable {
                method: "POST".into(),
                url: url.to_string(),
                source: Box::new(e),
            })?;
        let form = reqwest::multipart::Form::new().part("resources", part);
        send(
            self.rest(self.client.post(url))
                .multipart(form)
                .timeout(WRITE_TIMEOUT),
        )
        .await?
        .json()
    }

    async fn create_instance(
        &self,
        via: RegionId,
        process_id: &str,
    ) -> Result<CreatedInstance, ApiError> {
        let url = self.url(via, "rest", "/v2/process-instances")?;
        send(
            self.rest(self.client.post(url))
                .json(&json!({ "processDefinitionId": process_id }))
                .timeout(READ_TIMEOUT),
        )
        .await?
        .json()
    }

    async fn register_repository(
        &self,
        region: RegionId,
        repository: &BackupRepository,
    ) -> Result<(), ApiError> {
        let url = self.url(
            region,
            "elasticsearch",
            &format!("/_snapshot/{}", repository.name),
        )?;
        send(
            self.client
                .put(url)
                .json(&repository.registration_body())
                .timeout(WRITE_TIMEOUT),
        )
        .await?
        .ok()
    }

    async fn create_snapshot(
        &self,
        region: RegionId,
        repository: &str,
        snapshot: &str,
    ) -> Result<SnapshotInfo, ApiError> {
        let url = self.url(
            region,
            "elasticsearch",
            &format!("/_snapshot/{repository}/{snapshot}?wait_for_completion=true"),
        )?;
        // No request timeout: a snapshot takes as long as the data needs; the step deadline bounds it.
        let created: SnapshotCreated = send(
            self.client
                .put(url)
                .json(&json!({ "include_global_state": true })),
        )
        .await?
        .json()?;
        Ok(created.snapshot)
    }

    async fn snapshots(
        &self,
        region: RegionId,
        repository: &str,
    ) -> Result<Vec<SnapshotInfo>, ApiError> {
        let url = self.url(
            region,
            "elasticsearch",
            &format!("/_snapshot/{repository}/_all"),
        )?;
        let list: SnapshotList = send(self.client.get(url).timeout(READ_TIMEOUT))
            .await?
            .json()?;
        Ok(list.snapshots)
    }

    async fn snapshot_status(
        &self,
        region: RegionId,
        repository: &str,
        snapshot: &str,
    ) -> Result<SnapshotStatus, ApiError> {
        let url = self.url(
            region,
            "elasticsearch",
            &format!("/_snapshot/{repository}/{snapshot}/_status"),
        )?;
        let answer = send(self.client.get(url).timeout(READ_TIMEOUT)).await?;
        let (method, url_text, body) = (
            answer.method.to_string(),
            answer.url.clone(),
            answer.body.clone(),
        );
        let list: StatusList = answer.json()?;
        list.snapshots
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::Decode {
                method,
                url: url_text,
                body: http::truncate(&body),
                source: "the status lists no snapshot".into(),
            })
    }

    async fn restore_snapshot(
        &self,
        region: RegionId,
        repository: &str,
        snapshot: &str,
    ) -> Result<RestoreResponse, ApiError> {
        let url = self.url(
            region,
            "elasticsearch",
            &format!("/_snapshot/{repository}/{snapshot}/_restore?wait_for_completion=true"),
        )?;
        send(
            self.client
                .post(url)
                .json(&json!({ "include_global_state": true })),
        )
        .await?
        .json()
    }

    async fn indices(&self, region: RegionId) -> Result<Vec<IndexInfo>, ApiError> {
        let url = self.url(region, "elasticsearch", "/_cat/indices?format=json")?;
        let rows: Vec<CatIndex> = send(self.client.get(url).timeout(READ_TIMEOUT))
            .await?
            .json()?;
        Ok(rows
            .into_iter()
            .map(|row| IndexInfo {
                index: row.index,
                docs_count: as_u64(row.docs_count.as_ref()),
                status: row.status.unwrap_or_else(|| "open".to_owned()),
            })
            .collect())
    }

    async fn user_tasks(
        &self,
        via: RegionId,
        process_instance_key: &str,
    ) -> Result<Vec<UserTask>, ApiError> {
        let url = self.url(via, "rest", "/v2/user-tasks/search")?;
        let body = json!({
            "filter": {"processInstanceKey": process_instance_key},
            "page": {"limit": 100},
        });
        let found: UserTaskPage = send(
            self.rest(self.client.post(url))
                .json(&body)
                .timeout(READ_TIMEOUT),
        )
        .await?
        .json()?;
        Ok(found.items)
    }

    async fn complete_user_task(&self, via: RegionId, user_task_key: &str) -> Result<(), ApiError> {
        let url = self.url(
            via,
            "rest",
            &format!("/v2/user-tasks/{user_task_key}/completion"),
        )?;
        send(
            self.rest(self.client.post(url))
                .json(&json!({}))
                .timeout(READ_TIMEOUT),
        )
        .await?
        .ok()
    }

    async fn instance_states(
        &self,
        region: RegionId,
        index: &str,
        keys: &[String],
    ) -> Result<BTreeMap<String, String>, ApiError> {
        let mut states = BTreeMap::new();
        for chunk in keys.chunks(KEYS_PER_QUERY) {
            let url = self.url(region, "elasticsearch", &format!("/{index}/_search"))?;
            let body = json!({
                "size": chunk.len(),
                "_source": ["processInstanceKey", "state"],
                "query": {"terms": {"processInstanceKey": chunk}},
            });
            let answer = send(self.client.post(url).json(&body).timeout(READ_TIMEOUT)).await?;
            if answer.status.as_u16() == 404 {
                return Ok(BTreeMap::new());
            }
            let response: SearchResponse = answer.json()?;
            for hit in &response.hits.hits {
                if let (Some(key), Some(state)) = (
                    hit.source.get("processInstanceKey").and_then(key_text),
                    hit.source.get("state").and_then(serde_json::Value::as_str),
                ) {
                    states.insert(key, state.to_owned());
                }
            }
        }
        Ok(states)
    }

    async fn find_instances(
        &self,
        region: RegionId,
        index: &str,
        keys: &[String],
    ) -> Result<BTreeSet<String>, ApiError> {
        let mut found = BTreeSet::new();
        for chunk in keys.chunks(KEYS_PER_QUERY) {
            let url = self.url(region, "elasticsearch", &format!("/{index}/_search"))?;
            let body = json!({
                "size": chunk.len(),
                "_source": ["processInstanceKey"],
                "query": {"terms": {"processInstanceKey": chunk}},
            });
            let answer = send(self.client.post(url).json(&body).timeout(READ_TIMEOUT)).await?;
            if answer.status.as_u16() == 404 {
                // The index does not exist (yet): nothing is visible in this region.
                return Ok(BTreeSet::new());
            }
            let response: SearchResponse = answer.json()?;
            found.extend(
                response
                    .hits
                    .hits
                    .iter()
                    .filter_map(|hit| hit.source.get("processInstanceKey"))
                    .filter_map(key_text),
            );
        }
        Ok(found)
    }
}
