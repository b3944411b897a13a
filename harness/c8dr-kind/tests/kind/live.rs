//! The whole drill on real kind clusters. Needs docker, kind ≥ 0.32 and helm 3 on the PATH, and
//! about 10 GiB of memory; run with `make kind-drill` or
//! `cargo nextest run -p c8dr-kind --run-ignored only`.
//!
//! For each lost region (1, then 0): `clusters up`, the backend's start, the 8.8 drill, then
//! `clusters down` whatever happened before it. The reports (`report.json`, `junit.xml`,
//! `report.html`, `summary.md`) and, on failure, the diagnostics bundle go to
//! `$C8DR_KIND_REPORTS/lost<region>` (default `target/c8dr-kind-live/lost<region>`).
//! `C8DR_CHART_VERSION` overrides the pinned chart, `C8DR_PRELOAD_IMAGES` (comma-separated)
//! preloads images into the nodes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use c8dr_core::report::{Outcome, RunReport};
use c8dr_kind::{
    KindConfig, KubeconfigFactory, TokioCommandRunner, clusters_down, clusters_up,
    collect_diagnostics,
};

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn reports_dir(name: &str) -> PathBuf {
    std::env::var_os("C8DR_KIND_REPORTS")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/c8dr-kind-live"),
            PathBuf::from,
        )
        .join(name)
}

fn live_config(dir: &Path) -> KindConfig {
    let mut config = KindConfig::default().with_run_dir(dir.join("kind-run"));
    if let Some(version) = std::env::var("C8DR_CHART_VERSION")
        .ok()
        .filter(|v| !v.is_empty())
    {
        config = config.with_chart_version(version);
    }
    if let Ok(images) = std::env::var("C8DR_PRELOAD_IMAGES") {
        let images: Vec<String> = images
            .split(',')
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .map(str::to_owned)
            .collect();
        if !images.is_empty() {
            config = config.with_preload_images(images);
        }
    }
    config
}

fn write_reports(dir: &Path, report: &RunReport) -> Result<(), String> {
    let write = |name: &str, text: String| {
        std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"))
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    write(
        "report.json",
        serde_json::to_string_pretty(report).map_err(|e| e.to_string())?,
    )?;
    write(
        "junit.xml",
        c8dr_core::report::to_junit_xml(report).map_err(|e| e.to_string())?,
    )?;
    write(
        "report.html",
        c8dr_core::report::to_html(report).map_err(|e| e.to_string())?,
    )?;
    write("summary.md", c8dr_core::report::to_markdown(report))
}

/// One lost region, from `clusters up` to the reports; never panics, so that `clusters down`
/// always follows. Any failure before the drill writes the diagnostics bundle.
async fn drill(lost: u8, config: &KindConfig, dir: &Path) -> Result<Outcome, String> {
    use c8dr_core::engine::{Engine, EngineOptions};
    use c8dr_core::source::ScenarioSource;
    use c8dr_core::validate::{PlanOptions, load};
    let diagnostics = dir.join("diagnostics");
    let factory = Arc::new(KubeconfigFactory::default());
    let bundle_without_backend = || async {
        let _ =
            collect_diagnostics(config, &TokioCommandRunner, factory.clone(), &diagnostics).await;
    };
    let ready = match clusters_up(config, &TokioCommandRunner, factory.clone()).await {
        Ok(ready) => ready,
        Err(e) => {
            bundle_without_backend().await;
            return Err(format!("clusters up: {}", chain(&e)));
        }
    };
    // The nodes' InternalIPs (the fence and the routes use them) are learned.
    if let Some(region) = config
        .region_ids()
        .find(|r| ready.facts.node_addresses(*r).is_none())
    {
        return Err(format!(
            "clusters up learned no node address of {region}: {:?}",
            ready.facts
        ));
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/dual-region-8.8.yaml");
    let source = ScenarioSource::from_path(&path).map_err(|e| format!("scenario: {e}"))?;
    let mut plan = load(
        &source,
        &PlanOptions {
            lost_region: Some(lost),
        },
    )
    .map_err(|e| format!("plan: {e:?}"))?;
    c8dr_kind::adapt_plan(config, &mut plan);
    let backend = match c8dr_kind::KindBackend::connect(
        config.clone(),
        &plan,
        Arc::new(TokioCommandRunner),
        factory.clone(),
    )
    .await
    {
        Ok(backend) => backend,
        Err(e) => {
            bundle_without_backend().await;
            return Err(format!("connect: {}", chain(&e)));
        }
    };
    if let Err(e) = backend.start().await {
        let _ = backend.diagnostics(&diagnostics).await;
        backend.shutdown().await;
        return Err(format!("start: {}", chain(&e)));
    }
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
    if report.outcome != Outcome::Passed {
        let _ = backend.diagnostics(&diagnostics).await;
    }
    backend.shutdown().await;
    write_reports(dir, &report)?;
    Ok(report.outcome)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs docker + kind + helm"]
async fn the_8_8_drill_passes_on_kind_for_both_lost_regions() {
    let mut results = Vec::new();
    for lost in [1, 0] {
        let dir = reports_dir(&format!("lost{lost}"));
        let config = live_config(&dir);
        let outcome = drill(lost, &config, &dir).await;
        // Whatever happened: fresh clusters for the next region, none left behind.
        let down = clusters_down(&config, &TokioCommandRunner)
            .await
            .map_err(|e| chain(&e));
        results.push((lost, outcome, down, dir));
    }
    for (lost, outcome, down, dir) in &results {
        assert_eq!(
            outcome.as_ref(),
            Ok(&Outcome::Passed),
            "lost region {lost} (reports and diagnostics in {})",
            dir.display()
        );
        assert!(
            down.is_ok(),
            "clusters down after lost region {lost}: {down:?}"
        );
    }
}
