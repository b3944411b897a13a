//! `c8dr twin serve`: the twin in the foreground, for rehearsing the procedure by hand.

use std::net::IpAddr;
use std::sync::Arc;

use c8dr_core::exit_code;
use c8dr_twin::{Binding, ManualClock, Twin, TwinConfig};

use crate::app::TwinServeArgs;
use crate::errors::CliError;

/// The twin's configuration from the command line.
fn config(args: &TwinServeArgs) -> Result<TwinConfig, CliError> {
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        return Err(CliError::Usage(format!(
            "--time-scale must be a positive number, not {}",
            args.time_scale
        )));
    }
    let mut config = TwinConfig::default()
        .with_cluster(
            args.cluster_size,
            args.partition_count,
            args.replication_factor,
        )
        .with_time_scale(args.time_scale)
        .with_seed(args.seed)
        .with_credentials(&args.username, &args.password);
    if !args.namespaces.is_empty() {
        if args.namespaces.len() != usize::from(config.regions) {
            return Err(CliError::Usage(format!(
                "--namespace needs one namespace per region: {} regions, {} given ({})",
                config.regions,
                args.namespaces.len(),
                args.namespaces.join(", ")
            )));
        }
        config = config.with_namespaces(args.namespaces.clone());
    }
    if args.username.is_empty() || args.username.contains(':') {
        return Err(CliError::Usage(format!(
            "--username must be non-empty and without ':', not {:?}",
            args.username
        )));
    }
    Ok(config)
}

pub(crate) async fn serve(args: TwinServeArgs) -> Result<i32, CliError> {
    let config = config(&args)?;
    let binding = if args.ephemeral_ports {
        Binding::Ephemeral
    } else {
        match args.bind {
            Some(bind) => Binding::Offset {
                bind,
                port_offset: args.port_offset,
                control_port: args.control_port,
            },
            None => Binding::LoopbackRange {
                control_port: args.control_port,
            },
        }
    };
    let default_credentials = {
        let d = TwinConfig::default();
        (d.username, d.password)
    };
    let (username, password) = (config.username.clone(), config.password.clone());
    let namespaces = config.namespaces.clone();
    let twin = if args.manual_clock {
        Twin::with_clock(config, Arc::new(ManualClock::new()))
    } else {
        Twin::new(config)
    }
    .map_err(CliError::TwinStart)?;
    let running = twin.start(binding).await.map_err(CliError::TwinStart)?;
    let endpoints = running.endpoints();
    let time = if args.manual_clock {
        "manual clock".to_owned()
    } else {
        format!("time ×{}", args.time_scale)
    };
    println!(
        "c8dr twin: a dual-region Camunda {} deployment ({} brokers, {} partitions, replication factor {}), {time}, seed {}",
        running.config().camunda_version,
        args.cluster_size,
        args.partition_count,
        args.replication_factor,
        args.seed
    );
    for (region, namespace) in endpoints.regions.iter().zip(&namespaces) {
        println!(
            "  region {}: REST http://{}  management http://{}  Elasticsearch http://{}  namespace {namespace}",
            region.region, region.rest, region.management, region.elasticsearch
        );
    }
    println!("  control API: http://{}/twin/v1", endpoints.control);
    if (username.as_str(), password.as_str())
        == (
            default_credentials.0.as_str(),
            default_credentials.1.as_str(),
        )
    {
        println!("  REST credentials: {username}:{password}");
    } else {
        println!("  REST credentials: user {username}, the password given");
    }
    if args.manual_clock {
        println!(
            "  cluster time moves only when told: curl -XPOST http://{}/twin/v1/clock/advance -H 'Content-Type: application/json' -d '{{\"millis\":1000}}'",
            endpoints.control
        );
    }
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
