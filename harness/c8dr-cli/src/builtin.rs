//! The scenarios compiled into the binary, so `c8dr run` works from any directory.

use c8dr_core::source::ScenarioSource;

/// The default drill: the Camunda 8.8 dual-region procedure.
pub(crate) const DEFAULT_SCENARIO: &str = "dual-region-8.8.yaml";

const DUAL_REGION_8_8: &str = include_str!("../../../scenarios/dual-region-8.8.yaml");
const PROBE_BPMN: &[u8] = include_bytes!("../../../fixtures/bpmn/c8dr-probe.bpmn");

/// A built-in scenario by file name.
pub(crate) fn scenario(name: &str) -> Option<ScenarioSource> {
    match name {
        DEFAULT_SCENARIO => Some(ScenarioSource::embedded(
            DEFAULT_SCENARIO,
            DUAL_REGION_8_8,
            vec![("../fixtures/bpmn/c8dr-probe.bpmn", PROBE_BPMN)],
        )),
        _ => None,
    }
}
