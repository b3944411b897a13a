//! `c8dr twin serve`: the twin in the foreground, for rehearsing the procedure by hand.

use std::net::IpAddr;

use c8dr_core::exit_code;
use c8dr_twin::{Binding, Twin, TwinConfig};

use crate::app::TwinServeArgs;
use crate::errors::CliError;

pub(crate) async fn serve(args: TwinServeArgs) -> Result<i32, CliError> {
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        return Err(CliError::Usage(format!(
            "--time-scale must be a positive number, not {}",
            args.time_scale
        )));
    }
    let config = TwinConfig::default()
        .with_cluster(
            args.cluster_size,
            args.partition_count,
            args.replication_factor,
        )
        .with_time_scale(args.time_scale);
    let binding = match args.bind {
        Some(bind) => Binding::Offset {
            bind,
            port_offset: args.port_offset,
            control_port: args.control_port,
        },
        None => Binding::LoopbackRange {
            control_port: args.control_port,
        },
    };
    let (username, password) = (config.username.clone(), config.password.clone());
    let twin = Twin::new(config).map_err(CliError::TwinStart)?;
    let running = twin.start(binding).await.map_err(CliError::TwinStart)?;
    let endpoints = running.endpoints();
    println!(
        "c8dr twin: a dual-region Camunda {} deployment ({} brokers, {} partitions, replication factor {}), time ×{}",
        running.config().camunda_version,
        args.cluster_size,
        args.partition_count,
        args.replication_factor,
        args.time_scale
    );
    for region in &endpoints.regions {
        println!(
            "  region {}: REST http://{}  management http://{}  Elasticsearch http://{}",
            region.region, region.rest, region.management, region.elasticsearch
        );
    }
    println!("  control API: http://{}/twin/v1", endpoints.control);
    println!("  REST credentials: {username}:{password}");
    if let Some(first) = endpoints.regions.first() {
        let host = first.management.ip();
        println!();
        println!("Try: curl http://{}/actuator/cluster", first.management);
        if !matches!(host, IpAddr::V4(ip) if ip.is_loopback()) {
            println!("(bound on {host})");
        }
        println!(
            "     curl -XPOST http://{}/twin/v1/regions/1/lose -H 'Content-Type: application/json' -d '{{\"mode\":\"cutOff\"}}'",
            endpoints.control
        );
    }
    println!("Press Ctrl-C to stop.");
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::warn!(error = %e, "cannot listen for Ctrl-C; stopping");
    }
    running.shutdown().await;
    Ok(exit_code::PASSED)
}
