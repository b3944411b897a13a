//! `c8dr clusters up|down`: the two kind clusters the kind backend drives.

use std::sync::Arc;

use c8dr_core::exit_code;
use c8dr_kind::{KubeconfigFactory, TokioCommandRunner, clusters_down, clusters_up};

use crate::app::ClustersArgs;
use crate::errors::CliError;

pub(crate) async fn up(args: &ClustersArgs) -> Result<i32, CliError> {
    let config = args.kind.config(&args.run_dir)?;
    let factory = Arc::new(KubeconfigFactory {
        path: config.kubeconfig.clone(),
    });
    println!("c8dr clusters up: creating or reusing both regions (this takes a few minutes)");
    let ready = match clusters_up(&config, &TokioCommandRunner, factory.clone()).await {
        Ok(ready) => ready,
        // A refused configuration touched nothing: nothing to look at.
        Err(
            e @ (c8dr_kind::KindError::InvalidConfig { .. }
            | c8dr_kind::KindError::ContextNotAllowed { .. }),
        ) => return Err(CliError::Kind(e)),
        Err(e) => {
            let dir = args.run_dir.join("diagnostics");
            let bundle =
                c8dr_kind::collect_diagnostics(&config, &TokioCommandRunner, factory, &dir).await;
            super::run::print_diagnostics(&dir, bundle);
            return Err(CliError::Kind(e));
        }
    };
    for operation in &ready.journal.operations {
        println!("  {operation}");
    }
    for note in &ready.journal.notes {
        println!("note: {note}");
    }
    if !ready.reused.is_empty() {
        let reused: Vec<String> = ready.reused.iter().map(ToString::to_string).collect();
        println!("reused existing clusters of {}", reused.join(" and "));
    }
    println!("both regions are ready: pod-to-pod and DNS reachability proved both ways");
    Ok(exit_code::PASSED)
}

pub(crate) async fn down(args: &ClustersArgs) -> Result<i32, CliError> {
    let config = args.kind.config(&args.run_dir)?;
    let journal = clusters_down(&config, &TokioCommandRunner)
        .await
        .map_err(CliError::Kind)?;
    for operation in &journal.operations {
        println!("  {operation}");
    }
    for note in &journal.notes {
        println!("note: {note}");
    }
    println!("both clusters are gone");
    Ok(exit_code::PASSED)
}
