//! Which stages a run runs (`c8dr run --stage`), and what the stages it skips leave the others
//! needing: the fault marker ("instances started before the fault") and captured placements,
//! which then have to come from a previous run's ledger (`--ledger`).

use std::collections::BTreeSet;

use crate::plan::{Action, Expectation, Phase, Plan};
use crate::report::LoadedLedger;

/// The name of a phase as scenarios write it.
#[must_use]
pub fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::SteadyState => "steadyState",
        Phase::RegionLoss => "regionLoss",
        Phase::Failover => "failover",
        Phase::Failback => "failback",
        Phase::FinalState => "finalState",
    }
}

/// The stages a run runs, by index into the plan's stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageSelection {
    selected: Vec<bool>,
    /// What was asked for, as typed (for messages); empty for every stage.
    asked: Vec<String>,
}

/// A `--stage` selection that cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// A name is neither a phase nor a stage of the scenario.
    #[error(
        "--stage {name:?} is not a stage of scenario {scenario}: valid are the phases {} and the stage names {}",
        phases.join(", "),
        stages.join(", ")
    )]
    Unknown {
        /// What was typed.
        name: String,
        /// The scenario.
        scenario: String,
        /// The scenario's phases.
        phases: Vec<String>,
        /// The scenario's stage names.
        stages: Vec<String>,
    },
    /// A step needs the fault marker, and neither this run nor the loaded ledger has it.
    #[error(
        "step {step_id} `{step}` completes instances started before the fault, but stage `{fault_stage}` (which loses the region) is not run and {}; run that stage too, or pass the ledger.jsonl of the run that did",
        match ledger {
            Some(file) => format!("{file} has no fault marker (no `{{\"fault\": ...}}` line)"),
            None => "no --ledger was given to say which instances those are".to_owned(),
        }
    )]
    MissingFault {
        /// The step that needs it.
        step_id: String,
        /// Its name.
        step: String,
        /// The skipped stage that would have lost the region.
        fault_stage: String,
        /// The loaded ledger, when one was.
        ledger: Option<String>,
    },
    /// A step compares with a placement captured in a skipped stage, and the loaded ledger
    /// does not carry it.
    #[error(
        "step {step_id} `{step}` compares the placement with the one captured as `{name}` in stage `{stage}`, which is not run, and {}; run that stage too, or pass the ledger.jsonl of the run that did",
        match ledger {
            Some(file) => format!("{file} has no `{{\"placement\": {{\"name\": \"{name}\", ...}}}}` line"),
            None => "no --ledger was given to carry it".to_owned(),
        }
    )]
    MissingPlacement {
        /// The step that needs it.
        step_id: String,
        /// Its name.
        step: String,
        /// The placement's name.
        name: String,
        /// The skipped stage that captures it.
        stage: String,
        /// The loaded ledger, when one was.
        ledger: Option<String>,
    },
}

impl StageSelection {
    /// Every stage.
    #[must_use]
    pub fn all(plan: &Plan) -> Self {
        Self {
            selected: vec![true; plan.stages.len()],
            asked: Vec::new(),
        }
    }

    /// The stages named by `names`: each a phase (every stage of that phase) or a stage name.
    /// No names select every stage.
    ///
    /// # Errors
    /// A name that is neither, listing the valid ones.
    pub fn parse(plan: &Plan, names: &[String]) -> Result<Self, SelectionError> {
        if names.is_empty() {
            return Ok(Self::all(plan));
        }
        let mut selected = vec![false; plan.stages.len()];
        for name in names {
            let name = name.trim();
            let mut matched = false;
            for (index, stage) in plan.stages.iter().enumerate() {
                if stage.name == name || stage.phase.is_some_and(|p| phase_name(p) == name) {
                    selected[index] = true;
                    matched = true;
                }
            }
            if !matched {
                let mut phases = Vec::new();
                for phase in plan.stages.iter().filter_map(|s| s.phase) {
                    let phase = phase_name(phase).to_owned();
                    if !phases.contains(&phase) {
                        phases.push(phase);
                    }
                }
                return Err(SelectionError::Unknown {
                    name: name.to_owned(),
                    scenario: plan.name.clone(),
                    phases,
                    stages: plan.stages.iter().map(|s| s.name.clone()).collect(),
                });
            }
        }
        Ok(Self {
            selected,
            asked: names.iter().map(|n| n.trim().to_owned()).collect(),
        })
    }

    /// Whether stage `index` runs.
    #[must_use]
    pub fn is_selected(&self, index: usize) -> bool {
        self.selected.get(index).copied().unwrap_or(false)
    }

    /// Whether every stage runs.
    #[must_use]
    pub fn is_all(&self) -> bool {
        self.selected.iter().all(|s| *s)
    }

    /// The `--stage` values, joined as typed.
    #[must_use]
    pub fn asked(&self) -> String {
        self.asked.join(",")
    }

    /// Stages that do not run although a later one does, by name: a run on a fresh cluster
    /// cannot skip them, since the later stages build on what they did.
    #[must_use]
    pub fn skipped_before_selected<'p>(&self, plan: &'p Plan) -> Vec<&'p str> {
        let last = self.selected.iter().rposition(|s| *s).unwrap_or(0);
        plan.stages
            .iter()
            .enumerate()
            .take(last)
            .filter(|(index, _)| !self.is_selected(*index))
            .map(|(_, stage)| stage.name.as_str())
            .collect()
    }

    /// Check that what the selected stages need from the skipped ones is there: the fault
    /// marker for `completeInstances` when the stage that loses the region is skipped, and
    /// every placement a `placementEquals` compares with when the stage capturing it is skipped.
    ///
    /// # Errors
    /// The first need that neither this run nor `ledger` covers, saying what and where.
    pub fn check(&self, plan: &Plan, ledger: Option<&LoadedLedger>) -> Result<(), SelectionError> {
        let file = ledger.map(|l| l.file.clone());
        let fault_stage = plan.stages.iter().enumerate().find(|(_, stage)| {
            stage
                .steps
                .iter()
                .any(|s| matches!(s.action, Some(Action::LoseRegion { .. })))
        });
        // Placements captured by the selected stages, by name, as the walk reaches them.
        let mut captured: BTreeSet<&str> = BTreeSet::new();
        for (index, stage) in plan.stages.iter().enumerate() {
            for step in &stage.steps {
                let captures = step.expectations.iter().filter_map(|e| match e {
                    Expectation::Cluster {
                        capture_placement, ..
                    } => capture_placement.as_deref(),
                    _ => None,
                });
                if !self.is_selected(index) {
                    continue;
                }
                if matches!(step.action, Some(Action::CompleteInstances { .. }))
                    && let Some((fault_index, fault)) = fault_stage
                    && !self.is_selected(fault_index)
                    && ledger.is_none_or(|l| l.fault.is_none())
                {
                    return Err(SelectionError::MissingFault {
                        step_id: step.id.clone(),
                        step: step.name.clone(),
                        fault_stage: fault.name.clone(),
                        ledger: file,
                    });
                }
                for expectation in &step.expectations {
                    let Expectation::Cluster {
                        placement_equals: Some(name),
                        ..
                    } = expectation
                    else {
                        continue;
                    };
                    let carried = ledger.is_some_and(|l| l.placements.contains_key(name));
                    if captured.contains(name.as_str()) || carried {
                        continue;
                    }
                    // Captured in a skipped stage (a name captured nowhere is the scenario's
                    // own problem, reported by the step as before).
                    if let Some(capturing) = plan.stages.iter().enumerate().find_map(|(i, s)| {
                        (!self.is_selected(i)
                            && s.steps.iter().flat_map(|st| &st.expectations).any(|e| {
                                matches!(e, Expectation::Cluster { capture_placement: Some(c), .. } if c == name)
                            }))
                        .then_some(s)
                    }) {
                        return Err(SelectionError::MissingPlacement {
                            step_id: step.id.clone(),
                            step: step.name.clone(),
                            name: name.clone(),
                            stage: capturing.name.clone(),
                            ledger: file,
                        });
                    }
                }
                captured.extend(captures);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CapturedPlacement, FaultMarker};
    use crate::source::{Resources, ScenarioSource};
    use crate::validate::{PlanOptions, load};

    fn plan() -> Plan {
        let text = "apiVersion: c8dr.io/v1alpha1
kind: Scenario
metadata: {name: selection-test}
spec:
  camunda: {version: \"8.8\", regions: 2, clusterSize: 8, partitionCount: 8, replicationFactor: 4}
  stages:
    - name: setup
      phase: steadyState
      steps:
        - name: capture
          expect:
            - cluster: {members: all, capturePlacement: original}
    - name: loss
      phase: regionLoss
      steps:
        - name: lose
          action: {loseRegion: {region: lost, mode: cutOff}}
    - name: failover
      phase: failover
      steps:
        - name: remove
          action: {patchCluster: {remove: lost, force: true}}
    - name: check-a
      phase: finalState
      steps:
        - name: complete
          action: {completeInstances: {count: 1}}
    - name: check-b
      phase: finalState
      steps:
        - name: placement
          expect:
            - cluster: {members: all, placementEquals: original}
"
        .to_owned();
        let source = ScenarioSource {
            name: "selection-test.yaml".to_owned(),
            text,
            resources: Resources::Embedded(Vec::new()),
        };
        load(&source, &PlanOptions::default()).expect("the test scenario is valid")
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn selected(selection: &StageSelection, plan: &Plan) -> Vec<usize> {
        (0..plan.stages.len())
            .filter(|i| selection.is_selected(*i))
            .collect()
    }

    #[test]
    fn phases_select_all_their_stages_and_names_select_one() {
        let plan = plan();
        let all = StageSelection::parse(&plan, &[]).expect("valid");
        assert!(all.is_all());
        let s = StageSelection::parse(&plan, &names(&["finalState"])).expect("valid");
        assert_eq!(selected(&s, &plan), [3, 4]);
        assert!(!s.is_all());
        let s = StageSelection::parse(&plan, &names(&["steadyState", "regionLoss", "check-b"]))
            .expect("valid");
        assert_eq!(selected(&s, &plan), [0, 1, 4]);
        assert_eq!(s.asked(), "steadyState,regionLoss,check-b");
        assert_eq!(s.skipped_before_selected(&plan), ["failover", "check-a"]);
        let prefix = StageSelection::parse(&plan, &names(&["regionLoss", "setup"])).expect("valid");
        assert!(prefix.skipped_before_selected(&plan).is_empty());
    }

    #[test]
    fn an_unknown_name_lists_the_valid_phases_and_stages() {
        let plan = plan();
        let error = StageSelection::parse(&plan, &names(&["failover", "teardown"]))
            .expect_err("no such stage");
        assert_eq!(
            error.to_string(),
            "--stage \"teardown\" is not a stage of scenario selection-test: valid are the phases \
             steadyState, regionLoss, failover, finalState and the stage names setup, loss, \
             failover, check-a, check-b"
        );
        assert!(StageSelection::parse(&plan, &names(&[""])).is_err());
    }

    #[test]
    fn a_skipped_fault_needs_the_marker_from_the_ledger() {
        let plan = plan();
        let s = StageSelection::parse(&plan, &names(&["check-a"])).expect("valid");
        let error = s.check(&plan, None).expect_err("no ledger");
        assert!(
            error.to_string().starts_with(
                "step 4.1 `complete` completes instances started before the fault, but stage `loss` (which loses the region) is not run and no --ledger was given"
            ),
            "{error}"
        );
        let mut ledger = LoadedLedger {
            file: "a/ledger.jsonl".to_owned(),
            ..LoadedLedger::default()
        };
        let error = s.check(&plan, Some(&ledger)).expect_err("no marker");
        assert!(
            error
                .to_string()
                .contains("a/ledger.jsonl has no fault marker (no `{\"fault\": ...}` line)"),
            "{error}"
        );
        ledger.fault = Some(FaultMarker {
            run: 0,
            at_ms: 1,
            step_id: "loss.1".to_owned(),
            attempts_before: 0,
        });
        assert_eq!(s.check(&plan, Some(&ledger)), Ok(()));
        // Re-running the loss makes its own marker.
        let with_loss =
            StageSelection::parse(&plan, &names(&["regionLoss", "check-a"])).expect("valid");
        assert_eq!(with_loss.check(&plan, None), Ok(()));
    }

    #[test]
    fn a_placement_captured_in_a_skipped_stage_must_come_from_the_ledger() {
        let plan = plan();
        let s = StageSelection::parse(&plan, &names(&["check-b"])).expect("valid");
        let error = s.check(&plan, None).expect_err("not captured");
        assert!(
            error.to_string().starts_with(
                "step 5.1 `placement` compares the placement with the one captured as `original` in stage `setup`, which is not run"
            ),
            "{error}"
        );
        let mut ledger = LoadedLedger::default();
        ledger.placements.insert(
            "original".to_owned(),
            CapturedPlacement {
                name: "original".to_owned(),
                run: 0,
                placement: crate::camunda::Placement::new(),
            },
        );
        assert_eq!(s.check(&plan, Some(&ledger)), Ok(()));
        let with_setup =
            StageSelection::parse(&plan, &names(&["setup", "check-b"])).expect("valid");
        assert_eq!(with_setup.check(&plan, None), Ok(()));
    }
}
