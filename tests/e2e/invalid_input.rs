//! Bad input gets exit code 2 and a message naming file, line and column; nothing panics.

use crate::support::{c8dr, scenario_8_8, scenario_with_text};

fn assert_invalid(text: &str, location: &str, message: &str) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = scenario_with_text(dir.path(), text);
    let path_text = path.to_str().expect("utf-8 path");
    for command in ["validate", "run", "plan"] {
        let run = c8dr(&[command, path_text]);
        assert_eq!(run.code, 2, "{command}: {run:?}");
        assert!(
            run.stderr.contains(&format!("{path_text}:{location}")),
            "{command}: expected {path_text}:{location} in {run:?}"
        );
        assert!(run.stderr.contains(message), "{command}: {run:?}");
        assert!(!run.stderr.contains("panicked"), "{run:?}");
    }
}

/// The shipped scenario, with its resource paths made absolute so it can live in a temporary directory.
fn shipped() -> String {
    let fixtures = crate::support::repo_root().join("fixtures");
    std::fs::read_to_string(scenario_8_8())
        .expect("scenario")
        .replace("../fixtures", &fixtures.display().to_string())
}

#[test]
fn a_typo_in_a_key_names_file_line_and_column() {
    let text = shipped().replacen("    clusterSize: 8", "    clustrSize: 8", 1);
    let line = text
        .lines()
        .position(|l| l.contains("clustrSize"))
        .expect("typo line")
        + 1;
    assert_invalid(&text, &format!("{line}:5"), "unknown field `clustrSize`");
}

#[test]
fn a_wrong_type_names_file_line_and_column() {
    let text = shipped().replacen("partitionCount: 8", "partitionCount: eight", 1);
    let line = text
        .lines()
        .position(|l| l.contains("partitionCount: eight"))
        .expect("line")
        + 1;
    assert_invalid(&text, &format!("{line}:21"), "eight");
}

#[test]
fn an_unknown_action_names_file_line_and_column() {
    let text = shipped().replacen("pauseExporting: {}", "pauseExport: {}", 1);
    let line = text
        .lines()
        .position(|l| l.contains("pauseExport: {}"))
        .expect("line")
        + 1;
    assert_invalid(
        &text,
        &format!("{line}:13"),
        "unknown variant `pauseExport`",
    );
}

#[test]
fn semantic_errors_are_all_reported_with_their_locations() {
    let text = shipped()
        .replacen(
            "patchCluster: {remove: lost, force: true}",
            "patchCluster: {remove: [1, 9], force: true}",
            1,
        )
        .replacen(
            "snapshot: {region: surviving, snapshot: failback, state: SUCCESS}",
            "snapshot: {region: survivng, snapshot: failback, state: SUCCESS}",
            1,
        );
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = scenario_with_text(dir.path(), &text);
    let run = c8dr(&["validate", path.to_str().expect("utf-8")]);
    assert_eq!(run.code, 2, "{run:?}");
    // The first problem is a parse error (the misspelt region); parse errors stop validation.
    assert!(run.stderr.contains("unknown region `survivng`"), "{run:?}");

    let text = shipped()
        .replacen(
            "patchCluster: {remove: lost, force: true}",
            "patchCluster: {remove: [1, 9], force: true}",
            1,
        )
        .replacen("timeout: 5m", "timeout: 5 minutes please", 1)
        .replacen(
            "placementEquals: original, placementOf: surviving",
            "placementEquals: origin, placementOf: surviving",
            1,
        );
    let path = scenario_with_text(dir.path(), &text);
    let run = c8dr(&["validate", path.to_str().expect("utf-8")]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("3 problems"), "{run:?}");
    assert!(run.stderr.contains("broker 9 does not exist"), "{run:?}");
    assert!(run.stderr.contains("is not a duration"), "{run:?}");
    assert!(
        run.stderr
            .contains("no earlier step captures a placement named `origin`"),
        "{run:?}"
    );
}

#[test]
fn garbage_empty_and_missing_files_are_rejected_without_panicking() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for text in [
        "",
        ":::\n- [",
        "\u{0}\u{1}binary",
        "apiVersion: [1, 2",
        "- just\n- a list\n",
    ] {
        let path = scenario_with_text(dir.path(), text);
        let run = c8dr(&["validate", path.to_str().expect("utf-8")]);
        assert_eq!(run.code, 2, "{text:?}: {run:?}");
        assert!(!run.stderr.contains("panicked"), "{run:?}");
        assert!(run.stderr.contains("scenario.yaml:"), "{run:?}");
    }
    let run = c8dr(&["run", "/nonexistent/scenario.yaml"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("cannot read scenario /nonexistent/scenario.yaml"),
        "{run:?}"
    );
}

#[test]
fn a_lost_region_that_does_not_exist_is_invalid_input() {
    let run = c8dr(&["run", "--lost-region", "2"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("--lost-region 2 does not exist"),
        "{run:?}"
    );
}
