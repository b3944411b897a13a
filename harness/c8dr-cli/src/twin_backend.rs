//! The embedded twin as a drill backend: start it on ephemeral loopback ports, drive its
//! platform side through its control API and its Camunda APIs through the same HTTP clients
//! that talk to real clusters.

use std::time::Duration;

use c8dr_client::{BasicAuth, HttpApis, RegionEndpoints, TwinControl};
use c8dr_core::backend::BackendInfo;
use c8dr_core::plan::Plan;
use c8dr_twin::{Binding, RunningTwin, Twin, TwinConfig};
use url::Url;

use crate::errors::CliError;

/// The smallest poll interval worth using against the twin in wall time: a loopback request
/// costs a fraction of a millisecond.
const TWIN_MIN_POLL: Duration = Duration::from_millis(2);

/// A running embedded twin with clients for it.
pub(crate) struct EmbeddedTwin {
    running: RunningTwin,
    pub(crate) platform: TwinControl,
    pub(crate) apis: HttpApis,
    pub(crate) info: BackendInfo,
}

fn url(address: std::net::SocketAddr) -> Url {
    // A socket address always makes a valid http URL.
    Url::parse(&format!("http://{address}")).expect("a socket address is a valid URL authority")
}

impl EmbeddedTwin {
    /// Start a twin shaped like the plan's cluster.
    pub(crate) async fn start(plan: &Plan, time_scale: f64) -> Result<Self, CliError> {
        if !(time_scale.is_finite() && time_scale > 0.0) {
            return Err(CliError::Usage(format!(
                "--time-scale must be a positive number, not {time_scale}"
            )));
        }
        let config = TwinConfig::default()
            .with_regions(plan.layout.regions)
            .with_cluster(
                plan.layout.cluster_size,
                plan.layout.partition_count,
                plan.layout.replication_factor,
            )
            .with_time_scale(time_scale);
        let (username, password) = (config.username.clone(), config.password.clone());
        let twin = Twin::new(config).map_err(CliError::TwinStart)?;
        let running = twin
            .start(Binding::Ephemeral)
            .await
            .map_err(CliError::TwinStart)?;
        let endpoints = running.endpoints();
        let regions = endpoints
            .regions
            .iter()
            .map(|r| RegionEndpoints {
                rest: url(r.rest),
                management: url(r.management),
                elasticsearch: url(r.elasticsearch),
            })
            .collect();
        let platform = TwinControl::new(url(endpoints.control));
        let apis = HttpApis::new(regions, Some(BasicAuth { username, password }));
        let info = BackendInfo {
            name: "twin".to_owned(),
            time_scale,
            min_poll_interval: TWIN_MIN_POLL,
        };
        Ok(Self {
            running,
            platform,
            apis,
            info,
        })
    }

    /// The twin's counters, for the report.
    pub(crate) fn stats(&self) -> serde_json::Value {
        let stats = self.running.stats();
        serde_json::json!({
            "busySimMillis": stats.busy_sim_millis,
            "requests": stats.requests,
            "timeScale": self.info.time_scale,
        })
    }

    /// Stop every listener.
    pub(crate) async fn shutdown(self) {
        self.running.shutdown().await;
    }
}
