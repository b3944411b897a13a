use c8dr_core::plan::{Action, Plan};
use c8dr_core::source::ScenarioSource;
use c8dr_core::validate::{PlanOptions, load};
use c8dr_kind::{KindConfig, LossRealisation, SnapshotStore, drill_commands, platform_commands};

pub(super) fn plan(lost: u8) -> Plan {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios/dual-region-8.8.yaml");
    let source = ScenarioSource::from_path(&path).expect("scenario readable");
    load(
        &source,
        &PlanOptions {
            lost_region: Some(lost),
        },
    )
    .expect("the twin's scenario validates")
}

#[test]
fn full_drill_on_kind_for_lost_region_0() {
    insta::assert_snapshot!(drill_commands(&KindConfig::default(), &plan(0)).join("\n"));
}

#[test]
fn full_drill_on_kind_for_lost_region_1() {
    insta::assert_snapshot!(drill_commands(&KindConfig::default(), &plan(1)).join("\n"));
}

fn first<'a>(plan: &'a Plan, kind: &str) -> &'a Action {
    plan.steps()
        .filter_map(|(_, step)| step.action.as_ref())
        .find(|a| a.kind() == kind)
        .expect("the 8.8 drill has this action")
}

#[test]
fn node_pause_recreate_fences_before_thawing_and_removes_the_fence_last() {
    let config = KindConfig::default().with_loss_mode(LossRealisation::NodePause);
    let plan = plan(1);
    let lines =
        platform_commands(&config, &plan, first(&plan, "recreateRegion")).expect("platform action");
    let fence = lines
        .iter()
        .position(|l| l.contains("c8dr-loss-fence-region1"))
        .expect("fence applied");
    let unpause = lines
        .iter()
        .position(|l| l.starts_with("docker unpause c8dr-region1-control-plane"))
        .expect("unpaused");
    let unfence = lines
        .iter()
        .rposition(|l| l.contains("delete networkpolicy c8dr-loss-fence-region1"))
        .expect("fence removed");
    assert!(fence < unpause && unpause < unfence, "{lines:#?}");
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn cluster_delete_recreates_and_reconnects_the_cluster() {
    let config = KindConfig::default().with_loss_mode(LossRealisation::ClusterDelete);
    let plan = plan(0);
    let lose =
        platform_commands(&config, &plan, first(&plan, "loseRegion")).expect("platform action");
    assert!(
        lose.iter()
            .any(|l| l == "kind delete cluster --name c8dr-region0")
    );
    let recreate =
        platform_commands(&config, &plan, first(&plan, "recreateRegion")).expect("platform action");
    insta::assert_snapshot!(recreate.join("\n"));
}

#[test]
fn shared_directory_store_turns_the_s3_repository_into_an_fs_one() {
    let config = KindConfig::default()
        .with_snapshot_store(SnapshotStore::SharedDirectory("/tmp/c8dr".into()));
    let mut plan = plan(1);
    let notes = c8dr_kind::adapt_plan(&config, &mut plan);
    assert_eq!(notes.len(), 1);
    let body = plan.backup.as_ref().expect("backup").registration_body();
    assert_eq!(
        body,
        serde_json::json!({"type": "fs", "settings": {"location": "/c8dr-snapshots/backups"}})
    );
    let listing = drill_commands(&config, &plan).join("\n");
    assert!(listing.contains("\"type\":\"fs\""));
    assert!(!listing.contains("docker run -d --name c8dr-minio"));
}

#[test]
fn no_secret_is_ever_printed() {
    let listing = drill_commands(&KindConfig::default(), &plan(1)).join("\n");
    assert!(listing.contains("MINIO_ROOT_PASSWORD=<redacted>"));
    assert!(listing.contains("S3_SECRET_KEY=<redacted>"));
    assert!(
        !listing.contains("demo:demo'"),
        "REST password in a c8dr-kind line"
    );
}
