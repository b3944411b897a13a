//! The whole drill on real kind clusters. Needs docker, kind ≥ 0.32 and helm 3 on the PATH, and
//! about 10 GiB of memory; run with `cargo nextest run -p c8dr-kind --run-ignored only`.

use std::sync::Arc;

use c8dr_kind::{KindConfig, KubeconfigFactory, TokioCommandRunner, clusters_down, clusters_up};

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs docker + kind + helm"]
async fn clusters_come_up_connected_and_go_down() {
    let config = KindConfig::default();
    let ready = clusters_up(
        &config,
        &TokioCommandRunner,
        Arc::new(KubeconfigFactory::default()),
    )
    .await
    .expect("clusters up");
    for region in config.region_ids() {
        assert!(
            ready.facts.node_addresses(region).is_some(),
            "the InternalIP of {region}'s node is learned: {:?}",
            ready.facts
        );
    }
    clusters_down(&config, &TokioCommandRunner)
        .await
        .expect("clusters down");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs docker + kind + helm"]
async fn the_8_8_drill_passes_on_kind_for_both_lost_regions() {
    use c8dr_core::engine::{Engine, EngineOptions};
    use c8dr_core::source::ScenarioSource;
    use c8dr_core::validate::{PlanOptions, load};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios/dual-region-8.8.yaml");
    for lost in [1, 0] {
        let config =
            KindConfig::default().with_run_dir(format!("../../target/c8dr-kind-live/lost{lost}"));
        let factory = Arc::new(KubeconfigFactory::default());
        clusters_up(&config, &TokioCommandRunner, factory.clone())
            .await
            .expect("clusters up");
        let source = ScenarioSource::from_path(&path).expect("scenario");
        let mut plan = load(
            &source,
            &PlanOptions {
                lost_region: Some(lost),
            },
        )
        .expect("plan");
        c8dr_kind::adapt_plan(&config, &mut plan);
        let backend = c8dr_kind::KindBackend::connect(
            config.clone(),
            &plan,
            Arc::new(TokioCommandRunner),
            factory,
        )
        .await
        .expect("backend");
        backend.start().await.expect("installed");
        let apis = c8dr_client::HttpApis::new(backend.endpoints(), Some(backend.credentials()));
        let events = c8dr_core::event::NoEvents;
        let engine = Engine::new(
            &backend,
            &apis,
            backend.info(),
            &events,
            EngineOptions::default(),
        );
        let report = engine.run(&plan).await;
        if report.outcome != c8dr_core::report::Outcome::Passed {
            let _ = backend
                .diagnostics(std::path::Path::new(&format!(
                    "../../target/c8dr-kind-live/diagnostics-lost{lost}"
                )))
                .await;
        }
        backend.shutdown().await;
        clusters_down(&config, &TokioCommandRunner)
            .await
            .expect("clusters down");
        assert_eq!(
            report.outcome,
            c8dr_core::report::Outcome::Passed,
            "lost region {lost}"
        );
    }
}
