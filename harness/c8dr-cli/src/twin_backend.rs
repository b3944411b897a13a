//! The embedded twin as a drill backend: start it on ephemeral loopback ports, drive its
//! platform side through its control API and its Camunda APIs through the same HTTP clients
//! that talk to real clusters.

use std::sync::Arc;
use std::time::Duration;

use c8dr_client::{BasicAuth, HttpApis, RegionEndpoints, TwinControl};
use c8dr_core::backend::BackendInfo;
use c8dr_core::clock::{Clock, ClockFuture, TokioClock};
use c8dr_core::plan::Plan;
use c8dr_core::render::{CommandTarget, RegionAccess, TargetKind};
use c8dr_twin::{Binding, ManualClock, RunningTwin, Twin, TwinConfig};
use url::Url;

use crate::errors::CliError;

/// The smallest poll interval worth using against the twin in wall time: a loopback request
/// costs a fraction of a millisecond.
const TWIN_MIN_POLL: Duration = Duration::from_millis(2);

/// How the embedded twin keeps time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum TwinTime {
    /// Simulated time runs this many times faster than wall time.
    Scaled(f64),
    /// Virtual time shared by the engine and the twin: it moves only when the engine waits or
    /// the twin completes a `wait_for_completion` call. Deterministic and as fast as the CPU.
    Virtual,
}

/// The engine's view of the twin's manual clock: sleeping advances the twin's time.
struct SharedVirtualClock(Arc<ManualClock>);

impl Clock for SharedVirtualClock {
    fn now(&self) -> Duration {
        Duration::from_millis(c8dr_twin::Clock::now(self.0.as_ref()))
    }

    fn sleep(&self, duration: Duration) -> ClockFuture<'_> {
        self.0.advance(duration);
        Box::pin(std::future::ready(()))
    }

    fn call_budget(&self, _remaining: Duration) -> Duration {
        // Virtual time does not pass while a call blocks; a loopback call answers at once, so
        // this only guards against a hung twin.
        Duration::from_secs(60)
    }

    fn is_virtual(&self) -> bool {
        true
    }
}

/// Where `c8dr twin serve` listens: the same flags as `twin serve` itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServeAddresses {
    /// `--bind`: every region on this address; `None`: region r on 127.0.0.(10+r).
    pub(crate) bind: Option<std::net::IpAddr>,
    /// `--port-offset`: port distance between regions when `bind` is given.
    pub(crate) port_offset: u16,
    /// `--control-port`.
    pub(crate) control_port: u16,
}

impl ServeAddresses {
    fn binding(self) -> Binding {
        match self.bind {
            Some(bind) => Binding::Offset {
                bind,
                port_offset: self.port_offset,
                control_port: self.control_port,
            },
            None => Binding::LoopbackRange {
                control_port: self.control_port,
            },
        }
    }
}

/// A twin with clients for it: embedded (started and stopped by c8dr) or external (a
/// `c8dr twin serve` someone runs, for rehearsals).
pub(crate) struct EmbeddedTwin {
    running: Option<RunningTwin>,
    /// How an operator reaches this twin, for printed commands.
    pub(crate) target: CommandTarget,
    pub(crate) platform: TwinControl,
    pub(crate) apis: HttpApis,
    pub(crate) info: BackendInfo,
    /// The clock the engine must use with this twin.
    pub(crate) clock: Arc<dyn Clock>,
}

fn url(address: std::net::SocketAddr) -> Url {
    // A socket address always makes a valid http URL.
    Url::parse(&format!("http://{address}")).expect("a socket address is a valid URL authority")
}

impl EmbeddedTwin {
    /// Start a twin shaped like the plan's cluster.
    pub(crate) async fn start(plan: &Plan, time: TwinTime, seed: u64) -> Result<Self, CliError> {
        let time_scale = match time {
            TwinTime::Scaled(scale) if scale.is_finite() && scale > 0.0 => scale,
            TwinTime::Scaled(scale) => {
                return Err(CliError::Usage(format!(
                    "--time-scale must be a positive number, not {scale}"
                )));
            }
            TwinTime::Virtual => 1.0,
        };
        let config = TwinConfig::default()
            .with_regions(plan.layout.regions)
            .with_cluster(
                plan.layout.cluster_size,
                plan.layout.partition_count,
                plan.layout.replication_factor,
            )
            .with_time_scale(time_scale)
            .with_seed(seed);
        let (username, password) = (config.username.clone(), config.password.clone());
        let (twin, clock): (Twin, Arc<dyn Clock>) = match time {
            TwinTime::Scaled(_) => (
                Twin::new(config).map_err(CliError::TwinStart)?,
                Arc::new(TokioClock::new()),
            ),
            TwinTime::Virtual => {
                let manual = Arc::new(ManualClock::new());
                (
                    Twin::with_clock(config, manual.clone()).map_err(CliError::TwinStart)?,
                    Arc::new(SharedVirtualClock(manual)),
                )
            }
        };
        let running = twin
            .start(Binding::Ephemeral)
            .await
            .map_err(CliError::TwinStart)?;
        let endpoints = running.endpoints();
        let regions = region_endpoints(endpoints);
        let target = command_target(&regions, &url(endpoints.control));
        let platform = TwinControl::new(url(endpoints.control));
        let apis = HttpApis::new(regions, Some(BasicAuth { username, password }));
        let info = BackendInfo {
            name: "twin".to_owned(),
            time_scale,
            min_poll_interval: match time {
                TwinTime::Scaled(_) => TWIN_MIN_POLL,
                TwinTime::Virtual => Duration::ZERO,
            },
        };
        Ok(Self {
            running: Some(running),
            target,
            platform,
            apis,
            info,
            clock,
        })
    }

    /// Clients for a `c8dr twin serve` listening on `addresses` with this time scale.
    pub(crate) fn external(
        plan: &Plan,
        addresses: ServeAddresses,
        time_scale: f64,
    ) -> Result<Self, CliError> {
        if !(time_scale.is_finite() && time_scale > 0.0) {
            return Err(CliError::Usage(format!(
                "--time-scale must be a positive number, not {time_scale}"
            )));
        }
        let binding = addresses.binding();
        let endpoints = binding.endpoints(plan.layout.regions);
        let regions = region_endpoints(&endpoints);
        let control = url(endpoints.control);
        let defaults = TwinConfig::default();
        Ok(Self {
            running: None,
            target: command_target(&regions, &control),
            platform: TwinControl::new(control),
            apis: HttpApis::new(
                regions,
                Some(BasicAuth {
                    username: defaults.username,
                    password: defaults.password,
                }),
            ),
            info: BackendInfo {
                name: "twin serve".to_owned(),
                time_scale,
                min_poll_interval: TWIN_MIN_POLL,
            },
            clock: Arc::new(TokioClock::new()),
        })
    }

    /// The twin's counters, for the report (embedded twins only).
    pub(crate) fn stats(&self) -> Option<serde_json::Value> {
        let running = self.running.as_ref()?;
        let stats = running.stats();
        Some(serde_json::json!({
            "busySimMillis": stats.busy_sim_millis,
            "requests": stats.requests,
            "timeScale": self.info.time_scale,
            "seed": running.config().seed,
        }))
    }

    /// Stop every listener of an embedded twin.
    pub(crate) async fn shutdown(self) {
        if let Some(running) = self.running {
            running.shutdown().await;
        }
    }
}

/// Client base URLs of a twin's regions.
fn region_endpoints(endpoints: &c8dr_twin::TwinEndpoints) -> Vec<RegionEndpoints> {
    endpoints
        .regions
        .iter()
        .map(|r| RegionEndpoints {
            rest: url(r.rest),
            management: url(r.management),
            elasticsearch: url(r.elasticsearch),
        })
        .collect()
}

/// Commands aimed at these endpoints.
fn command_target(regions: &[RegionEndpoints], control: &Url) -> CommandTarget {
    let trim = |u: &Url| u.as_str().trim_end_matches('/').to_owned();
    CommandTarget {
        kind: TargetKind::Twin {
            control: trim(control),
        },
        regions: regions
            .iter()
            .map(|r| RegionAccess {
                rest: trim(&r.rest),
                management: trim(&r.management),
                elasticsearch: trim(&r.elasticsearch),
                kube_context: String::new(),
                namespace: String::new(),
                values_files: Vec::new(),
            })
            .collect(),
    }
}
