//! # c8dr-twin
//!
//! A faithful simulator ("twin") of a dual-region Camunda 8.8 deployment.
#![forbid(unsafe_code)]

pub mod clock;
pub mod config;
pub mod distribution;
pub mod world;

pub use clock::{Clock, ManualClock, ScaledClock, SimTime};
pub use config::{ConfigError, Latencies, TwinConfig};
pub use world::{Stats, World};
