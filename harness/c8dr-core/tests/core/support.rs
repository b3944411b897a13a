//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};

use c8dr_core::error::ScenarioErrors;
use c8dr_core::plan::Plan;
use c8dr_core::source::{Resources, ScenarioSource};
use c8dr_core::validate::{PlanOptions, load};

/// `harness/c8dr-core`.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `harness/c8dr-core/tests/data`.
pub fn data_dir() -> PathBuf {
    crate_dir().join("tests/data")
}

/// Path of the scenario shipped with c8dr.
pub fn shipped_path() -> PathBuf {
    crate_dir().join("../../scenarios/dual-region-8.8.yaml")
}

/// The shipped scenario read from disk (resources resolve next to it), with a stable name.
pub fn shipped_source() -> ScenarioSource {
    let mut source =
        ScenarioSource::from_path(&shipped_path()).expect("the shipped scenario is readable");
    source.name = "scenarios/dual-region-8.8.yaml".to_owned();
    source
}

/// The shipped scenario validated for one lost region.
pub fn shipped_plan(lost_region: u8) -> Plan {
    load(
        &shipped_source(),
        &PlanOptions {
            lost_region: Some(lost_region),
        },
    )
    .unwrap_or_else(|e| {
        panic!(
            "the shipped scenario is valid for lost region {lost_region}: {}",
            lines(&e).join("\n")
        )
    })
}

/// A source from text, with one embedded BPMN resource `probe.bpmn` (process id `probe`).
pub fn source(name: &str, text: &str) -> ScenarioSource {
    ScenarioSource {
        name: name.to_owned(),
        text: text.to_owned(),
        resources: Resources::Embedded(vec![(
            "probe.bpmn",
            br#"<bpmn:definitions xmlns:bpmn="x"><bpmn:process id="probe" isExecutable="true"/></bpmn:definitions>"#,
        )]),
    }
}

/// The rendered error lines, `file:line:column: message`.
pub fn lines(errors: &ScenarioErrors) -> Vec<String> {
    errors.errors.iter().map(ToString::to_string).collect()
}

/// Read a file of `tests/data` as a scenario named by its path under `tests/data`.
pub fn data_source(path: &Path) -> std::io::Result<ScenarioSource> {
    let mut source = ScenarioSource::from_path(path)?;
    source.name = path
        .strip_prefix(data_dir())
        .unwrap_or(path)
        .display()
        .to_string();
    Ok(source)
}

/// A header with a standard 8-broker dual-region layout, an fs backup repository and 1s polls;
/// `stages` is appended verbatim (indented under `spec:`).
pub fn scenario_text(stages: &str) -> String {
    format!(
        "apiVersion: c8dr.io/v1alpha1
kind: Scenario
metadata: {{name: engine-test}}
spec:
  camunda: {{version: \"8.8\", regions: 2, clusterSize: 8, partitionCount: 8, replicationFactor: 4}}
  backup: {{repository: repo, fs: {{location: /backup}}}}
  defaults: {{timeout: 30s, pollInterval: 1s}}
  stages:
{stages}"
    )
}

/// A plan from [`scenario_text`]; lost region 1.
pub fn plan(stages: &str) -> Plan {
    let source = source("engine-test.yaml", &scenario_text(stages));
    load(&source, &PlanOptions::default())
        .unwrap_or_else(|e| panic!("test scenario is valid: {}", lines(&e).join("\n")))
}

/// Like [`plan`], with `exportLag` set in `spec.camunda`.
pub fn plan_with_export_lag(export_lag: &str, stages: &str) -> Plan {
    let text = scenario_text(stages).replace(
        "replicationFactor: 4}",
        &format!("replicationFactor: 4, exportLag: {export_lag}}}"),
    );
    assert!(
        text.contains("exportLag"),
        "the header names the camunda layout"
    );
    let source = source("engine-test.yaml", &text);
    load(&source, &PlanOptions::default())
        .unwrap_or_else(|e| panic!("test scenario is valid: {}", lines(&e).join("\n")))
}

/// Like [`plan`], with `spec.objectives` set (for example `{rpo: 0}`).
pub fn plan_with_objectives(objectives: &str, stages: &str) -> Plan {
    let text = scenario_text(stages).replace(
        "  stages:\n",
        &format!("  objectives: {objectives}\n  stages:\n"),
    );
    let source = source("engine-test.yaml", &text);
    load(&source, &PlanOptions::default())
        .unwrap_or_else(|e| panic!("test scenario is valid: {}", lines(&e).join("\n")))
}
