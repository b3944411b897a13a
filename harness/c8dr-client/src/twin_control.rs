//! `Platform` for the twin, over its control API (`docs/twin-control-api.md`).

use c8dr_core::backend::{Platform, PlatformError, PlatformOutcome};
use c8dr_core::camunda::{ReleaseOverrides, ReleaseStatus};
use c8dr_core::region::{LossMode, RegionId};
use reqwest::Client;
use serde_json::json;
use url::Url;

use crate::http::{self, send};

/// The twin's control API: lose, heal and recreate regions, deploy releases.
#[derive(Debug, Clone)]
pub struct TwinControl {
    client: Client,
    base: Url,
}

impl TwinControl {
    /// A client for the control API at `base` (for example `http://127.0.0.1:9990`).
    #[must_use]
    pub fn new(base: Url) -> Self {
        Self {
            client: http::client(),
            base,
        }
    }

    fn url(&self, region: RegionId, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("/twin/v1/regions/{}/{path}", region.0));
        url
    }

    async fn call(
        &self,
        operation: &'static str,
        region: RegionId,
        request: reqwest::RequestBuilder,
    ) -> Result<http::Answer, PlatformError> {
        let answer = send(request)
            .await
            .map_err(|e| PlatformError::Infrastructure {
                operation: format!("{operation} {region}: the twin's control API"),
                source: Box::new(e),
            })?;
        if answer.status.is_success() || answer.status.as_u16() == 404 {
            Ok(answer)
        } else {
            let message = serde_json::from_str::<serde_json::Value>(&answer.body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or_else(|| format!("HTTP {}: {}", answer.status, answer.body));
            Err(PlatformError::Operation {
                operation,
                region,
                message,
            })
        }
    }
}

impl Platform for TwinControl {
    async fn lose_region(
        &self,
        region: RegionId,
        mode: LossMode,
    ) -> Result<PlatformOutcome, PlatformError> {
        let request = self
            .client
            .post(self.url(region, "lose"))
            .json(&json!({ "mode": mode }));
        self.call("lose", region, request)
            .await
            .map(|_| PlatformOutcome::default())
    }

    async fn heal_region(&self, region: RegionId) -> Result<PlatformOutcome, PlatformError> {
        let request = self.client.post(self.url(region, "heal"));
        self.call("heal", region, request)
            .await
            .map(|_| PlatformOutcome::default())
    }

    async fn recreate_region(&self, region: RegionId) -> Result<PlatformOutcome, PlatformError> {
        let request = self.client.post(self.url(region, "recreate"));
        self.call("recreate", region, request)
            .await
            .map(|_| PlatformOutcome::default())
    }

    async fn deploy(
        &self,
        region: RegionId,
        overrides: &ReleaseOverrides,
    ) -> Result<PlatformOutcome, PlatformError> {
        let request = self.client.put(self.url(region, "release")).json(overrides);
        self.call("deploy", region, request)
            .await
            .map(|_| PlatformOutcome::default())
    }

    async fn reachable(&self, from: RegionId, to: RegionId) -> Result<bool, PlatformError> {
        if from == to {
            return Ok(true);
        }
        let mut url = self.base.clone();
        url.set_path("/twin/v1/state");
        let answer = self
            .call("read the state of", from, self.client.get(url))
            .await?;
        let state: serde_json::Value =
            serde_json::from_str(&answer.body).map_err(|e| PlatformError::Infrastructure {
                operation: "read the twin's state".to_owned(),
                source: Box::new(e),
            })?;
        let status = |region: RegionId| {
            state["regions"]
                .as_array()
                .and_then(|regions| {
                    regions
                        .iter()
                        .find(|r| r["region"].as_u64() == Some(u64::from(region.0)))
                })
                .and_then(|r| r["status"].as_str())
                .map(str::to_owned)
        };
        // The twin's network model: a region reaches another only while both are up.
        match (status(from), status(to)) {
            (Some(a), Some(b)) => Ok(a == "up" && b == "up"),
            _ => Err(PlatformError::Operation {
                operation: "probe reachability",
                region: from,
                message: format!("the twin's state does not list {from} and {to}"),
            }),
        }
    }

    async fn release(&self, region: RegionId) -> Result<Option<ReleaseStatus>, PlatformError> {
        let request = self.client.get(self.url(region, "release"));
        let answer = self.call("read the release of", region, request).await?;
        if answer.status.as_u16() == 404 {
            return Ok(None);
        }
        serde_json::from_str(&answer.body)
            .map(Some)
            .map_err(|e| PlatformError::Infrastructure {
                operation: format!("read the release of {region}"),
                source: Box::new(e),
            })
    }
}
