//! Running the binary and editing scenarios for tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

/// The shipped 8.8 scenario.
pub fn scenario_8_8() -> PathBuf {
    repo_root().join("scenarios/dual-region-8.8.yaml")
}

/// The result of one `c8dr` invocation.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: &Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Run `c8dr` with arguments, in the repository root, without terminal colours.
pub fn c8dr(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_c8dr"))
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("C8DR_LOST_REGION")
        .env_remove("C8DR_REPORT_DIR")
        .output()
        .expect("the c8dr binary runs");
    Run::from(&output)
}

/// The shipped scenario without one step (found by its name), written next to the original's
/// resources so relative paths still resolve.
pub fn scenario_without_step(dir: &Path, step_name: &str) -> PathBuf {
    let text = std::fs::read_to_string(scenario_8_8()).expect("the scenario is readable");
    let mut kept = Vec::new();
    let mut skipping = false;
    let mut removed = false;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("        - name: ") {
            skipping = name.trim() == step_name;
            removed |= skipping;
        } else if line.starts_with("    - name: ") {
            skipping = false;
        }
        if !skipping {
            kept.push(line);
        }
    }
    assert!(removed, "the scenario has no step named {step_name:?}");
    let fixtures = repo_root().join("fixtures");
    let text = kept
        .join("\n")
        .replace("../fixtures", &fixtures.display().to_string());
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, text).expect("the temporary scenario is writable");
    path
}

/// A scenario file with this text, written to `dir`.
pub fn scenario_with_text(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, text).expect("the temporary scenario is writable");
    path
}

/// Read `report.json` of a report directory.
pub fn report(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json was written");
    serde_json::from_str(&text).expect("report.json is JSON")
}

/// Every step of a report.
pub fn steps(report: &serde_json::Value) -> Vec<&serde_json::Value> {
    report["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .flat_map(|stage| stage["steps"].as_array().expect("steps").iter())
        .collect()
}
