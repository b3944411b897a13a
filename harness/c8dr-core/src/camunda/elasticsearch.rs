//! The Elasticsearch snapshot API as the procedure uses it (contract §5).

use serde::{Deserialize, Serialize};

/// A snapshot repository both regions register (`PUT /_snapshot/{repository}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRepository {
    /// Repository name, for example `camunda_backup`.
    pub name: String,
    /// Where the snapshots live.
    pub kind: RepositoryKind,
}

/// Repository type and settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "type"
)]
pub enum RepositoryKind {
    /// An S3 bucket (MinIO on kind, S3 on AWS).
    S3 {
        /// Bucket name.
        bucket: String,
        /// Path inside the bucket.
        base_path: String,
        /// Elasticsearch S3 client name whose credentials are in the keystore.
        client: String,
    },
    /// A shared file system location (must be under `path.repo`).
    Fs {
        /// Directory.
        location: String,
    },
}

impl BackupRepository {
    /// The body of `PUT /_snapshot/{repository}`.
    #[must_use]
    pub fn registration_body(&self) -> serde_json::Value {
        match &self.kind {
            RepositoryKind::S3 {
                bucket,
                base_path,
                client,
            } => serde_json::json!({
                "type": "s3",
                "settings": {"bucket": bucket, "client": client, "base_path": base_path}
            }),
            RepositoryKind::Fs { location } => serde_json::json!({
                "type": "fs",
                "settings": {"location": location}
            }),
        }
    }
}

/// A snapshot as `GET /_snapshot/{repo}/{snap}` and `_all` list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    /// Snapshot name.
    pub snapshot: String,
    /// Snapshot uuid.
    #[serde(default)]
    pub uuid: String,
    /// Repository name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Indices it holds.
    #[serde(default)]
    pub indices: Vec<String>,
    /// `IN_PROGRESS`, `SUCCESS`, `PARTIAL`, `FAILED` or `INCOMPATIBLE`.
    #[serde(default)]
    pub state: String,
    /// Whether the cluster state was included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_global_state: Option<bool>,
    /// Shard counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<ShardsSummary>,
    /// Failures.
    #[serde(default)]
    pub failures: Vec<serde_json::Value>,
    /// Duration in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_in_millis: Option<u64>,
}

/// `shards` of a snapshot or restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardsSummary {
    /// Total shards.
    pub total: u64,
    /// Failed shards.
    pub failed: u64,
    /// Successful shards.
    pub successful: u64,
}

/// One entry of `GET /_snapshot/{repo}/{snap}/_status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotStatus {
    /// Snapshot name.
    pub snapshot: String,
    /// Repository.
    #[serde(default)]
    pub repository: String,
    /// `INIT`, `STARTED`, `SUCCESS`, `FAILED` or `ABORTED`.
    pub state: String,
    /// Shard progress.
    pub shards_stats: ShardsStats,
}

/// `shards_stats` of a snapshot status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardsStats {
    /// Initializing shards.
    #[serde(default)]
    pub initializing: u64,
    /// Started shards.
    #[serde(default)]
    pub started: u64,
    /// Finalizing shards.
    #[serde(default)]
    pub finalizing: u64,
    /// Done shards.
    pub done: u64,
    /// Failed shards.
    #[serde(default)]
    pub failed: u64,
    /// All shards.
    pub total: u64,
}

/// Answer of `POST /_snapshot/{repo}/{snap}/_restore`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreResponse {
    /// Present with `wait_for_completion=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<RestoreSummary>,
    /// Present without waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<bool>,
}

/// What a completed restore restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreSummary {
    /// Snapshot name.
    pub snapshot: String,
    /// Restored indices.
    #[serde(default)]
    pub indices: Vec<String>,
    /// Shard counts.
    pub shards: ShardsSummary,
}

/// One row of `GET /_cat/indices?format=json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexInfo {
    /// Index name.
    pub index: String,
    /// Number of documents.
    pub docs_count: u64,
    /// `open` or `close`.
    pub status: String,
}
