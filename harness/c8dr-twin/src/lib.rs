//! # c8dr-twin
//!
//! A faithful simulator ("twin") of a dual-region Camunda 8.8 deployment, served over real
//! HTTP. Each region answers like the real thing on its REST API (`/v2`, port 8080), its
//! management API (`/actuator`, port 9600) and its Elasticsearch (port 9200); a control API
//! plays the platform side (losing, healing and recreating regions, Helm releases).
//!
//! The simulated [`World`] is a synchronous, deterministic state machine over cluster
//! time ([`SimTime`]); a [`Clock`] maps wall time onto it ([`ScaledClock`] for drills,
//! [`ManualClock`] for tests). Every request locks the world, advances it to the clock's
//! now and acts, so no background task is needed for correctness.
//!
//! Main types: [`TwinConfig`] (topology, credentials, [`Latencies`] with their jitter, time
//! scale, seed), [`Twin`] (a built world) and [`RunningTwin`] (its listeners, see
//! [`Binding`]). With a [`ManualClock`] and a fixed seed the twin is deterministic: the same
//! requests at the same simulated times give the same answers.
//!
//! ```no_run
//! # async fn demo() -> Result<(), c8dr_twin::TwinError> {
//! use c8dr_twin::{Binding, Twin, TwinConfig};
//!
//! let twin = Twin::new(TwinConfig::default().with_time_scale(100.0))?;
//! let running = twin.start(Binding::Ephemeral).await?;
//! let region0 = &running.endpoints().regions[0];
//! println!("management API of region 0: http://{}", region0.management);
//! running.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! See `docs/twin.md` for what is modelled, the choices made where the contract is silent,
//! and what is not modelled.

pub mod clock;
pub mod config;
pub mod distribution;
mod http;
mod server;
pub mod world;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use clock::{Clock, ManualClock, ScaledClock, SimTime};
pub use config::{ConfigError, Latencies, TwinConfig};
pub use server::Binding;
pub use world::{LossMode, RegionStatus, ReleaseRequest, Stats, World};

use http::Shared;
use server::{Gate, GatedListener, Surface, spawn_server};

/// Errors of building or starting the twin.
#[derive(Debug, thiserror::Error)]
pub enum TwinError {
    /// The configuration is inconsistent.
    #[error("invalid twin configuration")]
    Config(#[from] ConfigError),
    /// A listener could not be bound.
    #[error("cannot bind {addr}")]
    Bind {
        /// The address that could not be bound.
        addr: SocketAddr,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The endpoints of one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionEndpoints {
    /// Region index.
    pub region: u8,
    /// REST API (`/v2`), the real port 8080.
    pub rest: SocketAddr,
    /// Management API (`/actuator`), the real port 9600.
    pub management: SocketAddr,
    /// Elasticsearch, the real port 9200.
    pub elasticsearch: SocketAddr,
}

/// Every endpoint of a running twin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwinEndpoints {
    /// One entry per region, in region order.
    pub regions: Vec<RegionEndpoints>,
    /// The control API.
    pub control: SocketAddr,
}

/// The routers of one region, for in-process tests.
#[derive(Debug, Clone)]
pub struct RegionRouters {
    /// REST API router.
    pub rest: Router,
    /// Management API router.
    pub management: Router,
    /// Elasticsearch router.
    pub elasticsearch: Router,
}

/// All routers of a twin, for in-process tests (`tower::ServiceExt::oneshot`). They do not
/// model "a lost region does not answer": that happens at the listener.
#[derive(Debug, Clone)]
pub struct TwinRouters {
    /// One entry per region.
    pub regions: Vec<RegionRouters>,
    /// The control API router.
    pub control: Router,
}

/// A built twin: its world and its clock, not yet listening.
#[derive(Debug)]
pub struct Twin {
    config: TwinConfig,
    shared: Arc<Shared>,
}

impl Twin {
    /// Builds the converged initial world with a [`ScaledClock`] at the configured time
    /// scale.
    ///
    /// # Errors
    /// The configuration is invalid.
    pub fn new(config: TwinConfig) -> Result<Self, TwinError> {
        let clock = Arc::new(ScaledClock::new(config.time_scale));
        Self::with_clock(config, clock)
    }

    /// Builds the twin on a given clock (e.g. a [`ManualClock`] for deterministic runs).
    ///
    /// # Errors
    /// The configuration is invalid.
    pub fn with_clock(config: TwinConfig, clock: Arc<dyn Clock>) -> Result<Self, TwinError> {
        config.validate()?;
        let world = World::new(config.clone());
        Ok(Self {
            config,
            shared: Arc::new(Shared::new(world, clock)),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &TwinConfig {
        &self.config
    }

    /// Runs `f` on the world, advanced to the clock's now.
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        self.shared.with(f)
    }

    /// The routers, for in-process tests.
    #[must_use]
    pub fn routers(&self) -> TwinRouters {
        app_for_tests(self)
    }

    /// Binds every listener and serves.
    ///
    /// # Errors
    /// A listener could not be bound.
    pub async fn start(self, binding: Binding) -> Result<RunningTwin, TwinError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut regions = Vec::new();
        let routers = app_for_tests(&self);
        for (r, region_routers) in (0..self.config.regions).zip(routers.regions) {
            let mut addrs = Vec::new();
            for (surface, router) in [
                (Surface::Rest, region_routers.rest),
                (Surface::Management, region_routers.management),
                (Surface::Elasticsearch, region_routers.elasticsearch),
            ] {
                let listener = bind(binding.region_addr(r, surface)).await?;
                let addr = local_addr(&listener, binding.region_addr(r, surface))?;
                let gate = Gate::new(Arc::clone(&self.shared), r, surface);
                tasks.push(spawn_server(
                    GatedListener::new(listener, Some(gate)),
                    router,
                    stop_rx.clone(),
                ));
                addrs.push(addr);
            }
            regions.push(RegionEndpoints {
                region: r,
                rest: addrs[0],
                management: addrs[1],
                elasticsearch: addrs[2],
            });
        }
        let listener = bind(binding.control_addr()).await?;
        let control = local_addr(&listener, binding.control_addr())?;
        tasks.push(spawn_server(
            GatedListener::new(listener, None),
            routers.control,
            stop_rx,
        ));
        tracing::debug!(?regions, %control, "twin listening");
        Ok(RunningTwin {
            endpoints: TwinEndpoints { regions, control },
            config: self.config,
            shared: self.shared,
            stop: stop_tx,
            tasks,
        })
    }
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, TwinError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| TwinError::Bind { addr, source })
}

fn local_addr(
    listener: &tokio::net::TcpListener,
    requested: SocketAddr,
) -> Result<SocketAddr, TwinError> {
    listener.local_addr().map_err(|source| TwinError::Bind {
        addr: requested,
        source,
    })
}

/// Builds the routers of a twin for in-process tests.
#[must_use]
pub fn app_for_tests(twin: &Twin) -> TwinRouters {
    let shared = &twin.shared;
    TwinRouters {
        regions: (0..twin.config.regions)
            .map(|r| RegionRouters {
                rest: http::rest::router(Arc::clone(shared), r),
                management: http::management::router(Arc::clone(shared), r),
                elasticsearch: http::elasticsearch::router(Arc::clone(shared), r),
            })
            .collect(),
        control: http::control::router(Arc::clone(shared)),
    }
}

/// A twin serving HTTP.
#[derive(Debug)]
pub struct RunningTwin {
    endpoints: TwinEndpoints,
    config: TwinConfig,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningTwin {
    /// Where every surface listens.
    #[must_use]
    pub fn endpoints(&self) -> &TwinEndpoints {
        &self.endpoints
    }

    /// Busy simulated time and requests served so far.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.shared.with(|w| w.stats())
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &TwinConfig {
        &self.config
    }

    /// Runs `f` on the world, advanced to the clock's now.
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        self.shared.with(f)
    }

    /// Stops every listener (waiting briefly for in-flight requests).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}
