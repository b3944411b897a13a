//! The command line itself: help, plan output, validate.

use crate::support::{c8dr, http};

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

    // On kind: the exact operations the kind backend performs, for the other lost region.
    let run = c8dr(&["plan", "--lost-region", "0", "--backend", "kind"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    for expected in [
        "kind create cluster --name c8dr-region0",
        "kind create cluster --name c8dr-region1",
        "helm upgrade --install camunda camunda/camunda-platform --version 13.12.7 --kube-context kind-c8dr-region0",
        // The surviving region is 1 now: the force-remove goes through its gateway.
        r#"-d '{"brokers":{"remove":[0,2,4,6]}}'"#,
        "--set orchestration.profiles.operate=false",
    ] {
        assert!(out.contains(expected), "{expected}\n{out}");
    }
    let run = c8dr(&["plan", "--backend", "kind", "--chart-version", "13.4.2"]);
    assert!(run.stdout.contains("--version 13.4.2"), "{run:?}");
}

#[test]
fn twin_serve_answers_the_procedure_pages_curl_commands_on_the_loopback_range() {
    use std::io::BufRead;
    let control_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().expect("address").port()
    };
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_c8dr"))
        .args([
            "twin",
            "serve",
            "--control-port",
            &control_port.to_string(),
            "--time-scale",
            "100",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("twin serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut banner = String::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.expect("utf-8 output");
        banner.push_str(&line);
        banner.push('\n');
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    let result = std::panic::catch_unwind(|| {
        assert!(
            banner.contains("region 0: REST http://127.0.0.10:8080"),
            "{banner}"
        );
        assert!(
            banner.contains("region 1: REST http://127.0.0.11:8080"),
            "{banner}"
        );
        let (status, body) = http("127.0.0.10:9600", "GET", "/actuator/exporters", "", "");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(r#""exporterId":"camundaregion1""#), "{body}");
        // The page's failback re-add carries force=true; real 8.8 rejects it.
        let (status, body) = http(
            "127.0.0.10:9600",
            "PATCH",
            "/actuator/cluster?force=true",
            "Content-Type: application/json\r\n",
            r#"{"brokers":{"add":[1,3,5,7]},"partitions":{"replicationFactor":4}}"#,
        );
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("Cannot force add brokers"), "{body}");
        let (status, _) = http("127.0.0.11:8080", "GET", "/v2/topology", "", "");
        assert_eq!(status, 401, "the REST API needs credentials");
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn ctrl_c_interrupts_a_run_cleanly_with_exit_code_130() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("temporary directory");
    // A slow twin (time ×5) so the drill is still running when the signal arrives.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_c8dr"))
        .args(["run", "--time-scale", "5", "--report-dir"])
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("c8dr runs");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    for line in lines.by_ref() {
        if line.expect("utf-8").starts_with("stage region-loss") {
            break;
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let code = child.wait().expect("c8dr ends").code();
    assert_eq!(code, Some(130), "{rest:#?}");
    assert!(
        rest.iter().any(|l| l.starts_with("interrupted")),
        "{rest:#?}"
    );
    // The reports of the run so far are written (SIGTERM: tests/e2e/interrupt.rs).
    let report = crate::support::report(dir.path());
    assert_eq!(report["outcome"], "interrupted", "{rest:#?}");
    assert_eq!(report["interrupted"]["signal"], "Ctrl-C", "{rest:#?}");
    assert!(
        rest.iter().any(|l| l.starts_with("INTERRUPTED (Ctrl-C): ")),
        "{rest:#?}"
    );
}
