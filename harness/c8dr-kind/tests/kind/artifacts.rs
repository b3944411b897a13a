use c8dr_core::region::RegionId;
use c8dr_kind::artifacts::{self, BASE_VALUES_13X, DrillShape, LostAddresses, SnapshotEndpoint};
use c8dr_kind::{KindConfig, SnapshotStore};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;

fn minio() -> SnapshotEndpoint {
    SnapshotEndpoint::Minio {
        endpoint: "172.18.0.100:9000".to_owned(),
    }
}

#[test]
fn kind_configs_match_the_committed_files() {
    let config = KindConfig::default();
    for region in [RegionId(0), RegionId(1)] {
        let generated = artifacts::kind_config(&config, region).expect("renders");
        insta::assert_snapshot!(format!("kind_config_region{}", region.0), generated);
        let path = format!(
            "{}/../../kind-config/region{}.yaml",
            env!("CARGO_MANIFEST_DIR"),
            region.0
        );
        if std::env::var_os("C8DR_WRITE_KIND_CONFIG").is_some() {
            std::fs::write(&path, &generated).expect("kind-config written");
        }
        let committed = std::fs::read_to_string(&path).expect(
            "kind-config/regionN.yaml is committed (C8DR_WRITE_KIND_CONFIG=1 regenerates it)",
        );
        assert_eq!(
            committed, generated,
            "kind-config/region{}.yaml is stale",
            region.0
        );
    }
}

#[test]
fn shared_directory_store_mounts_the_directory_into_the_node() {
    let config = KindConfig::default()
        .with_snapshot_store(SnapshotStore::SharedDirectory("/tmp/c8dr-snapshots".into()));
    let generated = artifacts::kind_config(&config, RegionId(1)).expect("renders");
    assert!(generated.contains("hostPath: /tmp/c8dr-snapshots"));
    assert!(generated.contains("containerPath: /c8dr-snapshots"));
}

#[test]
fn region_values_are_pinned() {
    let config = KindConfig::default();
    let shape = DrillShape::dual_region_8_8();
    for region in [RegionId(0), RegionId(1)] {
        let values = artifacts::region_values(&config, &shape, region, BASE_VALUES_13X, &minio())
            .expect("values");
        insta::assert_snapshot!(
            format!("values_region{}_minio", region.0),
            artifacts::values_yaml("test", &values).expect("yaml")
        );
    }
    let values = artifacts::region_values(
        &config,
        &shape,
        RegionId(0),
        BASE_VALUES_13X,
        &SnapshotEndpoint::SharedDirectory,
    )
    .expect("values");
    insta::assert_snapshot!(
        "values_region0_shared_directory",
        artifacts::values_yaml("test", &values).expect("yaml")
    );
}

#[test]
fn contact_points_list_every_broker_with_trailing_dot_fqdns_interleaved() {
    let points = artifacts::initial_contact_points(
        &KindConfig::default(),
        &DrillShape::dual_region_8_8().layout,
    );
    let points: Vec<&str> = points.split(',').collect();
    assert_eq!(points.len(), 8);
    assert_eq!(
        points[0],
        "camunda-zeebe-0.camunda-zeebe.camunda-region0.svc.cluster.local.:26502"
    );
    assert_eq!(
        points[1],
        "camunda-zeebe-0.camunda-zeebe.camunda-region1.svc.cluster.local.:26502"
    );
    assert!(points.iter().all(|p| p.ends_with(".local.:26502")));
}

fn known_keys() -> Vec<String> {
    let text = include_str!("../../../../fixtures/helm/chart-13.x-keys.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn is_known(path: &str, keys: &[String]) -> bool {
    keys.iter().any(|key| match key.strip_suffix(".*") {
        Some(prefix) => path == prefix || path.starts_with(&format!("{prefix}.")),
        None => path == key,
    })
}

#[test]
fn helm_values_use_only_known_chart_keys() {
    let keys = known_keys();
    let config = KindConfig::default();
    let shape = DrillShape::dual_region_8_8();
    let base: serde_json::Value =
        serde_saphyr::from_str(BASE_VALUES_13X).expect("base values parse");
    let mut paths = artifacts::value_paths(&base);
    for snapshot in [minio(), SnapshotEndpoint::SharedDirectory] {
        let values =
            artifacts::region_values(&config, &shape, RegionId(1), BASE_VALUES_13X, &snapshot)
                .expect("values");
        paths.extend(artifacts::value_paths(&values));
    }
    // the --set paths of the 8.8 scenario's deploy steps
    paths.push("orchestration.profiles.operate".to_owned());
    paths.push("orchestration.profiles.tasklist".to_owned());
    let unknown: Vec<&String> = paths.iter().filter(|p| !is_known(p, &keys)).collect();
    assert!(
        unknown.is_empty(),
        "keys not in fixtures/helm/chart-13.x-keys.txt: {unknown:?}"
    );
}

#[test]
fn network_policies_are_pinned_and_parse_as_kubernetes_objects() {
    let deny =
        artifacts::policy_yaml(&artifacts::deny_all_policy("camunda-region1")).expect("yaml");
    insta::assert_snapshot!("policy_deny_all", deny);
    let parsed: NetworkPolicy = serde_saphyr::from_str(&deny).expect("parses as NetworkPolicy");
    let spec = parsed.spec.expect("spec");
    assert_eq!(
        spec.policy_types,
        Some(vec!["Ingress".to_owned(), "Egress".to_owned()])
    );
    assert_eq!(spec.ingress, Some(vec![]));
    assert_eq!(spec.egress, Some(vec![]));

    let addresses = LostAddresses {
        node_ips: vec!["172.18.0.3".to_owned()],
        pod_subnet: "10.245.0.0/16".to_owned(),
        service_subnet: "10.97.0.0/16".to_owned(),
    };
    let fence = artifacts::policy_yaml(&artifacts::fence_policy(
        "camunda-region0",
        RegionId(1),
        &addresses,
    ))
    .expect("yaml");
    insta::assert_snapshot!("policy_fence", fence);
    let parsed: NetworkPolicy = serde_saphyr::from_str(&fence).expect("parses as NetworkPolicy");
    let spec = parsed.spec.expect("spec");
    let ingress_except = spec
        .ingress
        .as_ref()
        .and_then(|r| r[0].from.as_ref())
        .and_then(|p| p[1].ip_block.as_ref())
        .and_then(|b| b.except.clone());
    assert_eq!(
        ingress_except,
        Some(vec!["172.18.0.3/32".to_owned(), "10.245.0.0/16".to_owned()])
    );
    let egress_except = spec
        .egress
        .as_ref()
        .and_then(|r| r[0].to.as_ref())
        .and_then(|p| p[1].ip_block.as_ref())
        .and_then(|b| b.except.clone());
    assert_eq!(
        egress_except,
        Some(vec![
            "172.18.0.3/32".to_owned(),
            "10.245.0.0/16".to_owned(),
            "10.97.0.0/16".to_owned()
        ])
    );
}

const KIND_COREFILE: &str = ".:53 {\n    errors\n    health {\n       lameduck 5s\n    }\n    ready\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }\n    prometheus :9153\n    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n    cache 30\n    loop\n    reload\n    loadbalance\n}\n";

#[test]
fn coredns_block_is_pinned_and_replacing_it_is_idempotent() {
    let config = KindConfig::default();
    let block = artifacts::coredns_block(&config, RegionId(1), &config.networks[1].dns_ip());
    let once = artifacts::corefile_with_block(KIND_COREFILE, Some(&block));
    insta::assert_snapshot!("corefile_region0", once);
    let twice = artifacts::corefile_with_block(&once, Some(&block));
    assert_eq!(once, twice);
    let removed = artifacts::corefile_with_block(&once, None);
    assert_eq!(removed, KIND_COREFILE);
}

#[test]
fn coredns_patch_is_the_data_of_a_configmap() {
    let config = KindConfig::default();
    let block = artifacts::coredns_block(&config, RegionId(1), &config.networks[1].dns_ip());
    let corefile = artifacts::corefile_with_block(KIND_COREFILE, Some(&block));
    let patch = artifacts::coredns_patch_yaml(&corefile).expect("yaml");
    // A merge patch carries no apiVersion or kind: give it the coredns ConfigMap's, as the API
    // server merges it into that object.
    let mut object: serde_json::Value = serde_saphyr::from_str(&patch).expect("patch parses");
    let fields = object.as_object_mut().expect("a mapping");
    assert_eq!(
        fields.keys().collect::<Vec<_>>(),
        ["data"],
        "only data is patched"
    );
    fields.insert("apiVersion".to_owned(), "v1".into());
    fields.insert("kind".to_owned(), "ConfigMap".into());
    fields.insert(
        "metadata".to_owned(),
        serde_json::json!({"name": "coredns", "namespace": "kube-system"}),
    );
    let configmap: ConfigMap = serde_json::from_value(object).expect("parses as ConfigMap");
    assert_eq!(
        configmap.data.as_ref().and_then(|d| d.get("Corefile")),
        Some(&corefile)
    );
}

#[test]
fn probe_manifest_parses_into_a_pod_and_a_headless_service() {
    let yaml = artifacts::probe_yaml(&KindConfig::default(), RegionId(0)).expect("yaml");
    let mut docs = yaml.split("---\n");
    let pod: Pod = serde_saphyr::from_str(docs.next().expect("pod")).expect("Pod");
    let service: Service = serde_saphyr::from_str(docs.next().expect("service")).expect("Service");
    assert_eq!(pod.metadata.namespace.as_deref(), Some("camunda-region0"));
    assert_eq!(
        service.spec.and_then(|s| s.cluster_ip).as_deref(),
        Some("None")
    );
}
