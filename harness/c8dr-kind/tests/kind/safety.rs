//! `--context` overrides: what acts on c8dr's own kind clusters is refused when a region's kube
//! calls go elsewhere, and no fence is ever built from a placeholder address.

use std::sync::Arc;

use c8dr_core::backend::Platform;
use c8dr_core::region::{LossMode, RegionId};
use c8dr_kind::ops::{Facts, fence_policy_for};
use c8dr_kind::runner::RecordingRunner;
use c8dr_kind::{
    KindBackend, KindConfig, KindError, KubeFactory, LossRealisation, clusters_down, clusters_up,
};
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Node;

use super::fake_kind::{Event, FakeFactory, FakeKind, SimRunner};

/// A factory that must not be asked: the refusals come before any kube call.
struct NoClients;

impl KubeFactory for NoClients {
    fn client<'a>(&'a self, context: &'a str) -> BoxFuture<'a, Result<kube::Client, KindError>> {
        panic!("no kube client may be built (asked for {context})")
    }
}

fn staging(region: u8) -> KindConfig {
    KindConfig::default()
        .with_context(RegionId(region), "staging-east")
        .with_allowed_context("staging-east")
}

#[tokio::test]
async fn clusters_up_and_down_are_refused_with_an_overridden_context() {
    let runner = RecordingRunner::new();
    let up = clusters_up(&staging(1), &runner, Arc::new(NoClients)).await;
    let message = up
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        message.contains("c8dr clusters up") && message.contains("--context 1=staging-east"),
        "{up:?}"
    );
    let down = clusters_down(&staging(0), &runner).await;
    let message = down
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        message.contains("c8dr clusters down") && message.contains("--context 0=staging-east"),
        "{down:?}"
    );
    assert_eq!(runner.recorded(), Vec::<String>::new(), "nothing ran");
    // A `--context` naming c8dr's own context is no override.
    let own = KindConfig::default().with_context(RegionId(0), "kind-c8dr-region0");
    assert!(!own.context_overridden(RegionId(0)));
}

#[tokio::test]
async fn node_pause_and_cluster_delete_are_refused_for_an_overridden_lost_region() {
    let plan = super::drill::plan(1);
    for realisation in [LossRealisation::NodePause, LossRealisation::ClusterDelete] {
        let config = staging(1).with_loss_mode(realisation);
        let runner = Arc::new(RecordingRunner::new());
        let refused =
            KindBackend::connect(config, &plan, runner.clone(), Arc::new(NoClients)).await;
        let message = refused
            .as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            message.contains(&format!("--loss-mode {realisation}"))
                && message.contains("--context 1=staging-east")
                && message.contains("--loss-mode network-policy"),
            "{realisation}: {message}"
        );
        assert_eq!(runner.recorded(), Vec::<String>::new());
    }
    // network-policy acts through the context: allowed. So is pausing the lost region's own kind
    // node while only the surviving region's context is overridden.
    for config in [
        staging(1),
        staging(0).with_loss_mode(LossRealisation::NodePause),
    ] {
        let backend = KindBackend::connect(
            config,
            &plan,
            Arc::new(RecordingRunner::new()),
            Arc::new(NoClients),
        )
        .await;
        assert!(backend.is_ok(), "{backend:?}");
    }
}

#[test]
fn a_fence_is_never_built_from_a_placeholder_address() {
    let config = KindConfig::default();
    let unknown = fence_policy_for(&config, RegionId(1), &Facts::placeholders(&config));
    assert!(
        matches!(
            unknown,
            Err(KindError::NodeAddressUnknown {
                region: RegionId(1),
                ..
            })
        ),
        "{unknown:?}"
    );
    let mut facts = Facts::placeholders(&config);
    facts.learn(RegionId(1), Vec::new());
    assert!(fence_policy_for(&config, RegionId(1), &facts).is_err());
    facts.learn(RegionId(1), vec!["172.18.0.3".to_owned()]);
    let fence = fence_policy_for(&config, RegionId(1), &facts).expect("known address");
    let yaml = c8dr_kind::artifacts::policy_yaml(&fence).expect("yaml");
    assert!(
        yaml.contains("172.18.0.3/32") && !yaml.contains('<'),
        "{yaml}"
    );
}

/// The lost cluster's Node objects cannot be read: the loss fails before any policy is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_policy_is_applied_when_the_lost_nodes_address_cannot_be_learned() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = KindConfig::default().with_run_dir(dir.path());
    let mut plan = super::drill::plan(1);
    c8dr_kind::adapt_plan(&config, &mut plan);
    let fake = FakeKind::start(config.clone(), 4, false).await;
    let runner = Arc::new(SimRunner::new(RecordingRunner::new(), fake.clone()));
    let factory: Arc<dyn KubeFactory> = Arc::new(FakeFactory(fake.clone()));
    clusters_up(&config, runner.as_ref(), factory.clone())
        .await
        .expect("clusters up");
    // Region 1's node disappears from the API (as on a cluster whose nodes report nothing).
    let client = factory
        .client(&config.context(RegionId(1)))
        .await
        .expect("client");
    kube::Api::<Node>::all(client)
        .delete(
            &config.node_name(RegionId(1)),
            &kube::api::DeleteParams::default(),
        )
        .await
        .expect("node deleted");
    let backend = KindBackend::connect(config.clone(), &plan, runner.clone(), factory)
        .await
        .expect("connected");
    let since = fake.events().len();
    let lost = backend.lose_region(RegionId(1), LossMode::CutOff).await;
    let message = format!("{:?}", lost.as_ref().err());
    assert!(
        lost.is_err() && message.contains("InternalIP"),
        "the loss fails on the missing address: {message}"
    );
    let policies: Vec<String> = fake.events()[since..]
        .iter()
        .filter_map(|e| match e {
            Event::Kube(call) if call.path.contains("/networkpolicies") => Some(e.render()),
            _ => None,
        })
        .collect();
    assert_eq!(policies, Vec::<String>::new(), "no policy touched");
    backend.shutdown().await;
}
