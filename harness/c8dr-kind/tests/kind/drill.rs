use c8dr_core::plan::{Action, Expectation, Plan};
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

/// Where a listing shows a credential it must not: a `KEY=VALUE` whose key names a password or
/// secret with a value other than `<redacted>` (or a shell variable the command expands
/// itself), or a basic-auth `-u user:password` other than the chart's default `demo:demo`.
///
/// The chart's default login is shown on purpose, as `c8dr_core::render` and the procedure page
/// show it: it is the Camunda chart's published default user on a throwaway drill cluster, and
/// the printed commands must work when pasted. The snapshot store's credentials (MinIO root
/// password, the S3 secret key in the Secret) are generated per run and are secrets.
fn shown_secrets(lines: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for line in lines {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        for (i, token) in tokens.iter().enumerate() {
            let token = token.trim_matches(|c| c == '\'' || c == '"');
            let parts: Vec<&str> = token.split('=').collect();
            for pair in parts.windows(2) {
                let key = pair[0].to_ascii_uppercase();
                let value = pair[1];
                if (key.contains("PASSWORD") || key.contains("SECRET"))
                    && value != "<redacted>"
                    && !value.starts_with('$')
                {
                    found.push(format!("{}: {line}", pair[0]));
                }
            }
            if i > 0 && tokens[i - 1] == "-u" && token != "demo:demo" {
                found.push(format!("basic auth {token}: {line}"));
            }
        }
    }
    found
}

#[test]
fn the_secrets_check_finds_what_it_looks_for() {
    let lines = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    for bad in [
        "docker run -d -e MINIO_ROOT_PASSWORD=hunter2 minio",
        "kubectl create secret generic x --from-literal=S3_SECRET_KEY=hunter2",
        "curl -u demo:hunter2 -XPOST 'http://localhost:8080/v2/deployments'",
        "curl -u admin:demo -L 'http://localhost:8080/v2/topology'",
    ] {
        assert_eq!(shown_secrets(&lines(&[bad])).len(), 1, "{bad}");
    }
    for good in [
        "docker run -d -e MINIO_ROOT_PASSWORD=<redacted> minio",
        "kubectl create secret generic x --from-literal=S3_SECRET_KEY=<redacted>",
        "docker exec c8dr-minio sh -c 'mc alias set c8dr http://127.0.0.1:9000 c8dr \"$MINIO_ROOT_PASSWORD\"'",
        "curl -u demo:demo -XPOST 'http://localhost:8080/v2/deployments'",
    ] {
        assert_eq!(
            shown_secrets(&lines(&[good])),
            Vec::<String>::new(),
            "{good}"
        );
    }
}

#[test]
fn no_secret_is_ever_printed() {
    let shared = KindConfig::default()
        .with_snapshot_store(SnapshotStore::SharedDirectory("/tmp/c8dr".into()));
    for config in [
        KindConfig::default(),
        KindConfig::default().with_loss_mode(LossRealisation::NodePause),
        KindConfig::default().with_loss_mode(LossRealisation::ClusterDelete),
        shared,
    ] {
        for lost in [0, 1] {
            let listing = drill_commands(&config, &plan(lost));
            assert_eq!(shown_secrets(&listing), Vec::<String>::new());
            if config.snapshot_store == SnapshotStore::Minio {
                let text = listing.join("\n");
                assert!(text.contains("MINIO_ROOT_PASSWORD=<redacted>"));
                assert!(text.contains("S3_SECRET_KEY=<redacted>"));
            }
        }
    }
}

/// The lines of each `## ` section of a listing, by the section's first word (step id, `setup`,
/// `background`, `teardown`).
fn sections(listing: &[String]) -> Vec<(String, Vec<String>)> {
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in listing {
        if let Some(header) = line.strip_prefix("## ") {
            let key = header.split(' ').next().unwrap_or_default().to_owned();
            sections.push((key, Vec::new()));
        } else if let Some((_, lines)) = sections.last_mut() {
            lines.push(line.clone());
        }
    }
    sections
}

/// Every step has its section, in order, and every expectation its `# expect ...` line followed
/// by the operations that observe it: the backend's for `isolated` and `webApps`, the API calls
/// through port-forwards for the others, each `curl` to the port its port-forward opened.
#[test]
fn every_step_and_every_expectation_is_listed_with_what_observes_it() {
    for lost in [0, 1] {
        let config = KindConfig::default();
        let plan = plan(lost);
        let listing = drill_commands(&config, &plan);
        let sections = sections(&listing);
        let keys: Vec<&str> = sections.iter().map(|(k, _)| k.as_str()).collect();
        let mut expected = vec!["setup", "background"];
        expected.extend(plan.steps().map(|(_, s)| s.id.as_str()));
        expected.push("teardown");
        assert_eq!(keys, expected, "every step, in order");
        for (_, step) in plan.steps() {
            let (_, lines) = sections
                .iter()
                .find(|(k, _)| *k == step.id)
                .expect("section");
            let mut at = 0;
            for expectation in &step.expectations {
                let header = format!("# expect {}", expectation.describe());
                let start = lines[at..]
                    .iter()
                    .position(|l| *l == header)
                    .map(|i| at + i)
                    .unwrap_or_else(|| panic!("step {}: no `{header}`:\n{lines:#?}", step.id));
                let end = lines[start + 1..]
                    .iter()
                    .position(|l| l.starts_with("# expect "))
                    .map_or(lines.len(), |i| start + 1 + i);
                let block = &lines[start + 1..end];
                let commands: Vec<&String> = block.iter().filter(|l| !l.starts_with('#')).collect();
                assert!(
                    !commands.is_empty(),
                    "step {}: {header} lists no operation",
                    step.id
                );
                match expectation {
                    Expectation::Isolated { from, .. } => assert!(
                        commands.iter().any(|l| l.starts_with(&format!(
                            "kubectl --context {} -n {} exec c8dr-probe -- timeout ",
                            config.context(*from),
                            config.namespace(*from)
                        ))),
                        "step {}: {block:#?}",
                        step.id
                    ),
                    Expectation::WebApps { region, .. } => {
                        let k = format!(
                            "kubectl --context {} -n {} get ",
                            config.context(*region),
                            config.namespace(*region)
                        );
                        assert!(
                            commands.iter().all(|l| l.starts_with(&k)),
                            "step {}: {block:#?}",
                            step.id
                        );
                        assert_eq!(commands.len(), 6, "step {}", step.id);
                    }
                    _ => {
                        // Each curl goes through the port-forward before it.
                        let mut forwarded: Option<u16> = None;
                        for line in &commands {
                            if line.contains(" port-forward services/") {
                                let ports = line
                                    .split_whitespace()
                                    .find(|t| t.contains(':') && !t.contains('/'))
                                    .expect("ports");
                                forwarded = ports.split(':').next().and_then(|p| p.parse().ok());
                            } else {
                                assert!(line.starts_with("curl "), "step {}: {line}", step.id);
                                let port = forwarded.unwrap_or_else(|| {
                                    panic!("step {}: {line} without a port-forward", step.id)
                                });
                                assert!(
                                    line.contains(&format!("'http://localhost:{port}/")),
                                    "step {}: {line} does not go through port {port}",
                                    step.id
                                );
                            }
                        }
                    }
                }
                at = end;
            }
        }
    }
}

/// `c8dr plan --backend kind` shows the files where they are written: `clusters up` into its run
/// directory, the run (values, manifests, a recreated cluster's config) into
/// `<report-dir>/kind-run`.
#[test]
fn files_are_listed_where_clusters_up_and_the_run_write_them() {
    let config = KindConfig::default()
        .with_run_dir("/reports/lost1/kind-run")
        .with_loss_mode(LossRealisation::ClusterDelete);
    let clusters = KindConfig::default()
        .with_run_dir("/reports/clusters")
        .with_loss_mode(LossRealisation::ClusterDelete);
    let listing = c8dr_kind::drill_commands_with_clusters(&config, &clusters, &plan(1)).join("\n");
    let sections = sections(&listing.lines().map(str::to_owned).collect::<Vec<_>>());
    let section = |key: &str| {
        sections
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, l)| l.join("\n"))
            .expect("section")
    };
    let setup = section("setup");
    assert!(setup.contains("--config /reports/clusters/kind-config/region0.yaml"));
    assert!(setup.contains("--patch-file /reports/clusters/manifests/region1-coredns-patch.yaml"));
    assert!(setup.contains("-f /reports/lost1/kind-run/helm/region0-values.yaml"));
    assert!(!setup.contains("/reports/clusters/helm/"));
    let recreate = section("4.1");
    assert!(recreate.contains("--config /reports/lost1/kind-run/kind-config/region1.yaml"));
    let loss = section("2.1");
    assert!(loss.contains("kind delete cluster --name c8dr-region1"));
}
