//! Healing removes exactly what the loss applied, for each loss realisation, and is refused
//! with a clear error after `cluster-delete`.

use std::collections::BTreeSet;

use c8dr_core::backend::{Platform, PlatformError};
use c8dr_core::region::{LossMode, RegionId};
use c8dr_kind::artifacts::{DENY_ALL_POLICY, fence_policy_name};
use c8dr_kind::ops::{self, AppliedFault, Operation, faults_applied_by, heal_ops, lose_ops};
use c8dr_kind::{KindConfig, LossRealisation};
use k8s_openapi::api::networking::v1::NetworkPolicy;

use super::fake_kind::{Drill, Event, FakeKind};

async fn installed(realisation: LossRealisation) -> Drill {
    Drill::installed(LOST, KindConfig::default().with_loss_mode(realisation)).await
}

const LOST: RegionId = RegionId(1);

/// What undoing operations remove, as faults.
fn undone(ops: &[Operation]) -> Vec<AppliedFault> {
    ops.iter()
        .filter_map(|op| match op {
            Operation::Kube(k) => match &k.action {
                ops::KubeAction::DeleteNetworkPolicy { name } => Some(AppliedFault::Policy {
                    context: k.context.clone(),
                    namespace: k.namespace.clone(),
                    name: name.clone(),
                }),
                _ => None,
            },
            Operation::Command(c) if c.program == "docker" && c.verb() == "unpause" => {
                Some(AppliedFault::PausedNode {
                    node: c.args[1].value().to_owned(),
                })
            }
            _ => None,
        })
        .collect()
}

#[test]
fn heal_undoes_exactly_the_faults_of_each_loss_newest_first() {
    let config = KindConfig::default();
    for realisation in [LossRealisation::NetworkPolicy, LossRealisation::NodePause] {
        let applied = faults_applied_by(&lose_ops(&config, LOST, realisation));
        assert!(!applied.is_empty(), "{realisation} applies something");
        let heal = heal_ops(LOST, &applied).expect("healable");
        let mut expected = applied.clone();
        expected.reverse();
        assert_eq!(undone(&heal), expected, "{realisation}");
        // Nothing else that changes anything.
        assert!(
            heal.iter().all(|op| matches!(op, Operation::Note(_))
                || !undone(std::slice::from_ref(op)).is_empty()),
            "{realisation}: {heal:?}"
        );
    }
    let deleted = faults_applied_by(&lose_ops(&config, LOST, LossRealisation::ClusterDelete));
    let refused = heal_ops(LOST, &deleted).map_err(|e| e.to_string());
    assert!(
        refused.as_ref().is_err_and(|e| e
            .contains("healRegion is not possible after a cluster-delete loss of region1")
            && e.contains("use recreateRegion")),
        "{refused:?}"
    );
}

/// What changed something since event `since`: commands and mutating Kubernetes calls.
fn changes(fake: &FakeKind, since: usize) -> Vec<String> {
    fake.events()[since..]
        .iter()
        .filter_map(|e| match e {
            Event::Command(line) => Some(line.clone()),
            Event::Kube(call) if call.method != "GET" => Some(e.render()),
            _ => None,
        })
        .collect()
}

async fn policies(drill: &Drill) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for region in drill.config.region_ids() {
        let client = drill.client(region).await;
        let list = kube::Api::<NetworkPolicy>::namespaced(client, &drill.config.namespace(region))
            .list(&kube::api::ListParams::default())
            .await
            .expect("policies");
        names.extend(
            list.items
                .into_iter()
                .filter_map(|p| p.metadata.name)
                .map(|n| format!("{region}/{n}")),
        );
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healing_a_network_policy_loss_deletes_exactly_its_policies() {
    let drill = installed(LossRealisation::NetworkPolicy).await;
    let before = policies(&drill).await;
    drill
        .backend
        .lose_region(LOST, LossMode::CutOff)
        .await
        .expect("lost");
    let applied: BTreeSet<String> = policies(&drill)
        .await
        .difference(&before)
        .cloned()
        .collect();
    assert_eq!(
        applied,
        BTreeSet::from([
            format!("region0/{}", fence_policy_name(LOST)),
            format!("region1/{DENY_ALL_POLICY}"),
        ])
    );
    assert_eq!(
        drill.backend.reachable(RegionId(0), LOST).await.ok(),
        Some(false)
    );
    let since = drill.fake.events().len();
    let healed = drill.backend.heal_region(LOST).await.expect("healed");
    assert_eq!(
        changes(&drill.fake, since),
        vec![
            "kube kind-c8dr-region0: DELETE /apis/networking.k8s.io/v1/namespaces/camunda-region0/networkpolicies/c8dr-loss-fence-region1 -> 200",
            "kube kind-c8dr-region1: DELETE /apis/networking.k8s.io/v1/namespaces/camunda-region1/networkpolicies/c8dr-loss-deny-all -> 200",
        ],
        "exactly the loss's policies, newest first, and nothing else"
    );
    assert!(
        healed
            .operations
            .iter()
            .any(|l| l.contains("delete networkpolicy c8dr-loss-fence-region1"))
    );
    assert_eq!(policies(&drill).await, before, "as before the loss");
    assert_eq!(
        drill.backend.reachable(RegionId(0), LOST).await.ok(),
        Some(true)
    );
    // Healing again finds nothing left to remove.
    let since = drill.fake.events().len();
    drill.backend.heal_region(LOST).await.expect("healed again");
    assert_eq!(changes(&drill.fake, since), Vec::<String>::new());
    drill.backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healing_a_node_pause_unpauses_exactly_the_paused_node() {
    let drill = installed(LossRealisation::NodePause).await;
    drill
        .backend
        .lose_region(LOST, LossMode::Down)
        .await
        .expect("lost");
    let since = drill.fake.events().len();
    drill.backend.heal_region(LOST).await.expect("healed");
    assert_eq!(
        changes(&drill.fake, since),
        vec!["docker unpause c8dr-region1-control-plane"],
        "exactly the paused node, and nothing else"
    );
    assert_eq!(
        policies(&drill).await,
        BTreeSet::new(),
        "no policy was involved"
    );
    // The region answers again: its probe is reachable from the surviving region.
    assert_eq!(
        drill.backend.reachable(RegionId(0), LOST).await.ok(),
        Some(true)
    );
    drill.backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healing_after_a_cluster_delete_is_refused_and_changes_nothing() {
    let drill = installed(LossRealisation::ClusterDelete).await;
    drill
        .backend
        .lose_region(LOST, LossMode::CutOff)
        .await
        .expect("lost");
    let since = drill.fake.events().len();
    let refused = drill.backend.heal_region(LOST).await;
    match &refused {
        // A refusal fails the step (exit 1), it is no infrastructure error.
        Err(PlatformError::Operation { message, .. }) => assert!(
            message.contains("not possible after a cluster-delete loss of region1")
                && message.contains("use recreateRegion, or --loss-mode network-policy|node-pause"),
            "{message}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(changes(&drill.fake, since), Vec::<String>::new());
    // The cluster can still be recreated.
    drill
        .backend
        .recreate_region(LOST)
        .await
        .expect("recreated");
    drill.backend.shutdown().await;
}
