//! The snapshot store both regions see: a MinIO container on the kind Docker network (started
//! with testcontainers, removed when dropped), or a shared host directory.

use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;

use futures::future::BoxFuture;
use testcontainers::core::{CmdWaitFor, ExecCommand, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use crate::config::KindConfig;
use crate::error::KindError;
use crate::ops::{MINIO_CONTAINER, MINIO_USER};

/// A running S3 snapshot store as the backend uses it: where Elasticsearch reaches it, its
/// credentials, and how to remove it.
pub trait RunningStore: Send + Sync {
    /// `ip:port`, as Elasticsearch's S3 client reaches it.
    fn endpoint(&self) -> String;
    /// The access key.
    fn access_key(&self) -> &str;
    /// The secret key (never log it).
    fn secret_key(&self) -> &str;
    /// Stop and remove the store.
    fn stop(self: Box<Self>) -> BoxFuture<'static, Result<(), KindError>>;
}

/// Starts the S3 snapshot store of [`crate::SnapshotStore::Minio`]. The backend uses
/// [`TestcontainersMinio`]; tests without a Docker engine inject their own
/// (`KindBackend::with_store_launcher`).
pub trait StoreLauncher: Send + Sync {
    /// Start the store on the `kind` network and create `bucket`.
    fn start<'a>(
        &'a self,
        config: &'a KindConfig,
        bucket: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn RunningStore>, KindError>>;
}

/// MinIO through testcontainers ([`MinioStore::start`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct TestcontainersMinio;

impl StoreLauncher for TestcontainersMinio {
    fn start<'a>(
        &'a self,
        config: &'a KindConfig,
        bucket: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn RunningStore>, KindError>> {
        Box::pin(async move {
            let store = MinioStore::start(config, bucket).await?;
            Ok(Box::new(store) as Box<dyn RunningStore>)
        })
    }
}

impl RunningStore for MinioStore {
    fn endpoint(&self) -> String {
        MinioStore::endpoint(self)
    }

    fn access_key(&self) -> &str {
        MinioStore::access_key(self)
    }

    fn secret_key(&self) -> &str {
        MinioStore::secret_key(self)
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, Result<(), KindError>> {
        Box::pin(MinioStore::stop(*self))
    }
}

/// A running MinIO on the `kind` network.
pub struct MinioStore {
    container: ContainerAsync<GenericImage>,
    ip: IpAddr,
    password: String,
}

impl std::fmt::Debug for MinioStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MinioStore")
            .field("ip", &self.ip)
            .field("password", &crate::runner::REDACTED)
            .finish_non_exhaustive()
    }
}

/// A random password (never logged).
#[must_use]
pub fn generate_password() -> String {
    let state = std::collections::hash_map::RandomState::new();
    (0..3)
        .map(|i| {
            let mut hasher = state.build_hasher();
            hasher.write_u64(i);
            hasher.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            format!("{:016x}", hasher.finish())
        })
        .collect()
}

fn split_image(image: &str) -> (String, String) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_owned(), tag.to_owned()),
        _ => (image.to_owned(), "latest".to_owned()),
    }
}

impl MinioStore {
    /// Start MinIO on the `kind` network and create the bucket.
    ///
    /// # Errors
    /// [`KindError::SnapshotStore`] when Docker is unreachable, the container does not become
    /// ready, or the bucket cannot be created.
    pub async fn start(config: &KindConfig, bucket: &str) -> Result<Self, KindError> {
        let (name, tag) = split_image(&config.minio_image);
        let password = generate_password();
        tracing::debug!(image = %config.minio_image, container = MINIO_CONTAINER, network = "kind", "starting MinIO (password redacted)");
        let container = GenericImage::new(name, tag)
            .with_wait_for(WaitFor::message_on_either_std("API:"))
            .with_cmd(["server", "/data"])
            .with_env_var("MINIO_ROOT_USER", MINIO_USER)
            .with_env_var("MINIO_ROOT_PASSWORD", password.clone())
            .with_network("kind")
            .with_container_name(MINIO_CONTAINER)
            .with_startup_timeout(config.timeouts.command)
            .start()
            .await
            .map_err(|e| KindError::SnapshotStore {
                operation: "start",
                source: Box::new(e),
            })?;
        let ip = container
            .get_bridge_ip_address()
            .await
            .map_err(|e| KindError::SnapshotStore {
                operation: "find the address of",
                source: Box::new(e),
            })?;
        let script = format!(
            "mc alias set c8dr http://127.0.0.1:9000 {MINIO_USER} \"$MINIO_ROOT_PASSWORD\" && mc mb --ignore-existing c8dr/{bucket}"
        );
        tracing::debug!(container = MINIO_CONTAINER, bucket, "creating bucket");
        let mut exec = container
            .exec(
                ExecCommand::new(["sh", "-c", script.as_str()])
                    .with_cmd_ready_condition(CmdWaitFor::exit_code(0)),
            )
            .await
            .map_err(|e| KindError::SnapshotStore {
                operation: "create the bucket in",
                source: Box::new(e),
            })?;
        let stderr = exec.stderr_to_vec().await.unwrap_or_default();
        if !stderr.is_empty() {
            tracing::debug!(stderr = %String::from_utf8_lossy(&stderr), "mc");
        }
        Ok(Self {
            container,
            ip,
            password,
        })
    }

    /// `ip:9000`, as Elasticsearch's S3 client reaches it.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("{}:9000", self.ip)
    }

    /// The access key.
    #[must_use]
    pub fn access_key(&self) -> &str {
        MINIO_USER
    }

    /// The secret key (never log it).
    #[must_use]
    pub fn secret_key(&self) -> &str {
        &self.password
    }

    /// Stop and remove the container.
    ///
    /// # Errors
    /// Docker refused.
    pub async fn stop(self) -> Result<(), KindError> {
        tracing::debug!(container = MINIO_CONTAINER, "removing MinIO");
        self.container
            .rm()
            .await
            .map_err(|e| KindError::SnapshotStore {
                operation: "remove",
                source: Box::new(e),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_split_into_name_and_tag() {
        assert_eq!(
            split_image("minio/minio:RELEASE.2025-02-28T09-55-16Z"),
            (
                "minio/minio".to_owned(),
                "RELEASE.2025-02-28T09-55-16Z".to_owned()
            )
        );
        assert_eq!(
            split_image("localhost:5000/minio"),
            ("localhost:5000/minio".to_owned(), "latest".to_owned())
        );
    }

    #[test]
    fn passwords_are_long_and_differ() {
        let a = generate_password();
        let b = generate_password();
        assert_eq!(a.len(), 48);
        assert_ne!(a, b);
    }
}
