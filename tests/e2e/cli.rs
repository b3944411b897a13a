//! The command line itself: help, plan output, validate.

use crate::support::c8dr;

#[test]
fn help_lists_the_exit_codes() {
    let run = c8dr(&["--help"]);
    assert_eq!(run.code, 0, "{run:?}");
    for line in [
        "0    the drill passed",
        "1    the drill failed",
        "2    invalid input",
        "3    infrastructure error",
    ] {
        assert!(run.stdout.contains(line), "{line}: {run:?}");
    }
    let run = c8dr(&["run", "--help"]);
    assert!(run.stdout.contains("Exit codes:"), "{run:?}");
}

#[test]
fn validate_accepts_the_shipped_scenario() {
    let run = c8dr(&["validate", "scenarios/dual-region-8.8.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("valid (5 stages"), "{run:?}");
}

#[test]
fn plan_prints_the_procedures_commands_with_the_contracts_corrections() {
    let run = c8dr(&["plan", "--lost-region", "1"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    assert!(
        out.contains(r#"curl -XPATCH 'http://127.0.0.10:9600/actuator/cluster?force=true' -H 'Content-Type: application/json' -d '{"brokers":{"remove":[1,3,5,7]}}'"#),
        "{out}"
    );
    assert!(
        out.contains(
            "curl -XPOST 'http://127.0.0.10:9600/actuator/exporters/camundaregion1/disable'"
        ),
        "{out}"
    );
    assert!(
        out.contains(r#"curl -XPATCH 'http://127.0.0.10:9600/actuator/cluster' -H 'Content-Type: application/json' -d '{"brokers":{"add":[1,3,5,7]},"partitions":{"replicationFactor":4}}'"#),
        "{out}"
    );
    assert!(
        out.contains(r#"-d '{"initializeFrom":"camundaregion0"}'"#),
        "{out}"
    );
    assert!(
        out.contains("/_snapshot/camunda_backup/failback?wait_for_completion=true"),
        "{out}"
    );

    let run = c8dr(&["plan", "--lost-region", "0", "--backend", "kind"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    assert!(out.contains("kubectl --context kind-c8dr-region1 port-forward services/camunda-zeebe-gateway 9600:9600 -n camunda-region1"), "{out}");
    assert!(
        out.contains(r#"-d '{"brokers":{"remove":[0,2,4,6]}}'"#),
        "{out}"
    );
    assert!(out.contains("helm upgrade --install camunda camunda/camunda-platform --version 13.4.2 --kube-context kind-c8dr-region0 --namespace camunda-region0"), "{out}");
    assert!(
        out.contains(
            "--set orchestration.profiles.operate=false --set orchestration.profiles.tasklist=false"
        ),
        "{out}"
    );
}
