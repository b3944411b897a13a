//! The shared snapshot directory (`--snapshot-dir`): created writable for Elasticsearch before
//! kind mounts it, and clusters that do not mount it are refused with the fix.

use std::path::Path;
use std::sync::Arc;

use c8dr_kind::exec::check_shared_mount;
use c8dr_kind::runner::RecordingRunner;
use c8dr_kind::{KindBackend, KindConfig, KindError, KubeFactory, SnapshotStore, clusters_up};

use super::fake_kind::{Event, FakeFactory, FakeKind, FakeMinio, SimRunner};

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map_or(0, |m| m.permissions().mode() & 0o7777)
}

struct Clusters {
    fake: Arc<FakeKind>,
    runner: Arc<SimRunner>,
    factory: Arc<dyn KubeFactory>,
}

async fn fake_clusters(config: &KindConfig) -> Clusters {
    let fake = FakeKind::start(config.clone(), 4, false).await;
    Clusters {
        runner: Arc::new(SimRunner::new(RecordingRunner::new(), fake.clone())),
        factory: Arc::new(FakeFactory(fake.clone())),
        fake,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_up_creates_the_directory_writable_for_elasticsearch_before_kind_mounts_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("snapshots/nested");
    let config = KindConfig::default()
        .with_run_dir(dir.path().join("run"))
        .with_snapshot_store(SnapshotStore::SharedDirectory(store.clone()));
    let clusters = fake_clusters(&config).await;
    // The fake's `kind create` refuses a host path that does not exist yet (Docker would create
    // it owned by root), and records the mode it found.
    clusters_up(&config, clusters.runner.as_ref(), clusters.factory.clone())
        .await
        .expect("clusters up");
    let mounted: Vec<String> = clusters
        .fake
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::HostMount { host, mode } => Some(format!("{host} {mode:o}")),
            _ => None,
        })
        .collect();
    let expected = format!("{} 777", store.display());
    assert_eq!(mounted, vec![expected.clone(), expected]);
    assert_eq!(mode(&store), 0o777);
    // Reusing the clusters (they mount it) is fine, and leaves the directory as it is.
    clusters_up(&config, clusters.runner.as_ref(), clusters.factory.clone())
        .await
        .expect("clusters reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_that_do_not_mount_the_directory_are_refused_with_the_fix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("snapshots");
    let minio = KindConfig::default().with_run_dir(dir.path().join("run"));
    let shared = minio
        .clone()
        .with_snapshot_store(SnapshotStore::SharedDirectory(store.clone()));
    let clusters = fake_clusters(&minio).await;
    // Created without --snapshot-dir ...
    clusters_up(&minio, clusters.runner.as_ref(), clusters.factory.clone())
        .await
        .expect("clusters up");
    // ... then reused with it.
    let reused = clusters_up(&shared, clusters.runner.as_ref(), clusters.factory.clone()).await;
    let message = reused
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        matches!(reused, Err(KindError::SharedDirectory { .. }))
            && message.contains("does not mount it at /c8dr-snapshots")
            && message.contains("c8dr clusters down")
            && message.contains(&format!("--snapshot-dir {}", store.display())),
        "{message}"
    );
    // A run with the directory on these clusters fails at start, before anything is installed.
    let mut plan = super::drill::plan(1);
    c8dr_kind::adapt_plan(&shared, &mut plan);
    let backend = KindBackend::connect(
        shared.clone(),
        &plan,
        clusters.runner.clone(),
        clusters.factory.clone(),
    )
    .await
    .expect("connected")
    .with_store_launcher(Arc::new(FakeMinio(clusters.fake.clone())));
    let since = clusters.fake.events().len();
    let started = backend.start().await;
    assert!(
        matches!(started, Err(KindError::SharedDirectory { .. })),
        "{started:?}"
    );
    let helm: Vec<String> = clusters.fake.events()[since..]
        .iter()
        .filter_map(|e| match e {
            Event::Command(line) if line.starts_with("helm ") => Some(line.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(helm, Vec::<String>::new(), "nothing installed");
    backend.shutdown().await;
}

#[test]
fn the_mount_check_reads_docker_inspect() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("snapshots");
    std::fs::create_dir(&store).expect("dir");
    let line = |source: &Path| {
        format!(
            "/lib/modules|/lib/modules\n{}|/c8dr-snapshots\n",
            source.display()
        )
    };
    assert!(check_shared_mount(&store, "n", &line(&store)).is_ok());
    let other = dir.path().join("other");
    std::fs::create_dir(&other).expect("dir");
    let elsewhere = check_shared_mount(&store, "n", &line(&other)).map_err(|e| e.to_string());
    assert!(
        elsewhere
            .as_ref()
            .is_err_and(|e| e.contains("mounts") && e.contains("not this directory")),
        "{elsewhere:?}"
    );
    let none = check_shared_mount(&store, "n", "/lib/modules|/lib/modules\n");
    assert!(none.is_err());
    std::fs::remove_dir(&store).expect("removed");
    let gone = check_shared_mount(&store, "n", &line(&store)).map_err(|e| e.to_string());
    assert!(
        gone.as_ref()
            .is_err_and(|e| e.contains("does not exist on the host")),
        "{gone:?}"
    );
}
