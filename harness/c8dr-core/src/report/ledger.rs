//! `ledger.jsonl`: the ledger on its own, one line per process-instance creation attempt, plus
//! marker lines that carry what a later run needs to continue this one (`c8dr run --ledger`):
//!
//! - `{"fault": {...}}`: where the first region loss happened, placed before the first attempt
//!   made after it, so "instances started before the fault" can be told apart in a later run;
//! - `{"placement": {...}}`: a placement captured by name (`capturePlacement`), for the
//!   `placementEquals` checks of later stages;
//! - `{"completed": {...}}`: an instance a `completeInstances` step completed through the engine,
//!   so a later run completes other ones (the user task of this one is gone) and still checks
//!   that this one shows as COMPLETED.
//!
//! Every other line is an [`InstanceAttempt`] as in `report.json`'s `instances`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{InstanceAttempt, InstanceOutcome, RunReport};
use crate::camunda::Placement;

/// Where in the ledger the first region loss happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultMarker {
    /// Which run of the chain lost the region (see [`InstanceAttempt::run`]).
    #[serde(default)]
    pub run: u32,
    /// When the loss was injected, in milliseconds since that run started.
    pub at_ms: u64,
    /// The step that lost the region.
    pub step_id: String,
    /// How many ledger entries precede the fault: the instances "started before the fault" are
    /// the acknowledged ones among them.
    pub attempts_before: usize,
}

/// A placement captured by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CapturedPlacement {
    /// The name `capturePlacement` gave it.
    pub name: String,
    /// Which run of the chain captured it.
    #[serde(default)]
    pub run: u32,
    /// Broker → partition → priority.
    pub placement: Placement,
}

/// An instance completed through the engine by a `completeInstances` step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompletedInstance {
    /// The process-instance key (an acknowledged key of the ledger).
    pub key: String,
    /// Which run of the chain completed it.
    #[serde(default)]
    pub run: u32,
}

/// Which stages a run ran, and the ledger it continued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectionReport {
    /// The stages selected (`--stage`), in plan order.
    pub selected: Vec<String>,
    /// The stages not selected: reported as skipped.
    pub skipped: Vec<String>,
    /// The ledger loaded with `--ledger`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LoadedLedgerSummary>,
    /// What the run did so that the selected stages can run without the skipped ones (for
    /// example, redeploying a process a skipped stage deploys), and what it could not do.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prerequisites: Vec<String>,
}

/// What a loaded ledger held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadedLedgerSummary {
    /// The file.
    pub file: String,
    /// Creation attempts in it.
    pub attempts: usize,
    /// Acknowledged keys in it: every ledger-driven check of this run covers them too.
    pub acknowledged: usize,
    /// Whether it carried a fault marker.
    pub fault: bool,
}

/// A ledger loaded from a previous run's `ledger.jsonl`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadedLedger {
    /// The file it came from, for messages.
    pub file: String,
    /// Every attempt, in order.
    pub attempts: Vec<InstanceAttempt>,
    /// The fault marker, when the runs that wrote it lost a region.
    pub fault: Option<FaultMarker>,
    /// Placements captured by name.
    pub placements: BTreeMap<String, CapturedPlacement>,
    /// Instances completed through the engine, in order.
    pub completed: Vec<CompletedInstance>,
}

impl LoadedLedger {
    /// The run number the next run of the chain gets.
    #[must_use]
    pub fn next_run(&self) -> u32 {
        let last = self
            .attempts
            .iter()
            .map(|a| a.run)
            .chain(self.fault.iter().map(|f| f.run))
            .chain(self.placements.values().map(|p| p.run))
            .chain(self.completed.iter().map(|c| c.run))
            .max();
        last.map_or(0, |run| run.saturating_add(1))
    }

    /// Acknowledged keys in the file.
    #[must_use]
    pub fn acknowledged(&self) -> usize {
        self.attempts.iter().filter(|a| a.key.is_some()).count()
    }

    /// What the report says about it.
    #[must_use]
    pub fn summary(&self) -> LoadedLedgerSummary {
        LoadedLedgerSummary {
            file: self.file.clone(),
            attempts: self.attempts.len(),
            acknowledged: self.acknowledged(),
            fault: self.fault.is_some(),
        }
    }
}

/// A `ledger.jsonl` that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// A line is not a ledger entry.
    #[error("{file}:{line}: not a ledger entry: {message}")]
    BadLine {
        /// The file.
        file: String,
        /// Line number, from 1.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultLine {
    fault: FaultMarker,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlacementLine {
    placement: CapturedPlacement,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompletedLine {
    completed: CompletedInstance,
}

/// Parse a `ledger.jsonl` (`file` names it in errors). Blank lines are ignored.
///
/// # Errors
/// The first line that is not an attempt or a marker, or that contradicts the ones before it,
/// with its line number.
pub fn parse_ledger(file: &str, text: &str) -> Result<LoadedLedger, LedgerError> {
    let mut ledger = LoadedLedger {
        file: file.to_owned(),
        ..LoadedLedger::default()
    };
    for (index, line) in text.lines().enumerate() {
        let bad = |message: String| LedgerError::BadLine {
            file: file.to_owned(),
            line: index + 1,
            message,
        };
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| bad("expected a JSON object".to_owned()))?;
        if object.contains_key("fault") {
            let FaultLine { fault } = serde_json::from_value(value)
                .map_err(|e| bad(format!("invalid fault marker: {e}")))?;
            if ledger.fault.is_some() {
                return Err(bad("a second fault marker".to_owned()));
            }
            if fault.attempts_before != ledger.attempts.len() {
                return Err(bad(format!(
                    "the fault marker says {} attempts precede the fault, but {} lines of attempts precede it",
                    fault.attempts_before,
                    ledger.attempts.len()
                )));
            }
            ledger.fault = Some(fault);
        } else if object.contains_key("placement") {
            let PlacementLine { placement } = serde_json::from_value(value)
                .map_err(|e| bad(format!("invalid placement: {e}")))?;
            ledger.placements.insert(placement.name.clone(), placement);
        } else if object.contains_key("completed") {
            let CompletedLine { completed } = serde_json::from_value(value)
                .map_err(|e| bad(format!("invalid completed instance: {e}")))?;
            if !ledger
                .attempts
                .iter()
                .any(|a| a.key.as_deref() == Some(completed.key.as_str()))
            {
                return Err(bad(format!(
                    "instance {} is marked completed but no attempt before this line acknowledged it",
                    completed.key
                )));
            }
            if ledger.completed.iter().any(|c| c.key == completed.key) {
                return Err(bad(format!(
                    "instance {} is marked completed twice",
                    completed.key
                )));
            }
            ledger.completed.push(completed);
        } else {
            let attempt: InstanceAttempt = serde_json::from_value(value)
                .map_err(|e| bad(format!("invalid creation attempt: {e}")))?;
            match (attempt.outcome, &attempt.key) {
                (InstanceOutcome::Acknowledged, None) => {
                    return Err(bad("an acknowledged attempt without a key".to_owned()));
                }
                (InstanceOutcome::Rejected, Some(key)) => {
                    return Err(bad(format!("a rejected attempt with a key ({key})")));
                }
                _ => {}
            }
            ledger.attempts.push(attempt);
        }
    }
    Ok(ledger)
}

/// The `ledger.jsonl` of a run: every attempt, the fault marker before the first attempt made
/// after the fault, then the captured placements and the instances completed through the engine.
///
/// # Errors
/// When a line cannot be serialized (it always can; the error is passed on rather than hidden).
pub fn to_ledger_jsonl(report: &RunReport) -> Result<String, serde_json::Error> {
    #[derive(Serialize)]
    struct FaultOut<'a> {
        fault: &'a FaultMarker,
    }
    #[derive(Serialize)]
    struct PlacementOut<'a> {
        placement: &'a CapturedPlacement,
    }
    #[derive(Serialize)]
    struct CompletedOut<'a> {
        completed: &'a CompletedInstance,
    }
    let mut lines = String::new();
    let mut push = |line: String| {
        lines.push_str(&line);
        lines.push('\n');
    };
    for (index, attempt) in report.instances.iter().enumerate() {
        if let Some(fault) = report.fault.as_ref().filter(|f| f.attempts_before == index) {
            push(serde_json::to_string(&FaultOut { fault })?);
        }
        push(serde_json::to_string(attempt)?);
    }
    if let Some(fault) = report
        .fault
        .as_ref()
        .filter(|f| f.attempts_before >= report.instances.len())
    {
        push(serde_json::to_string(&FaultOut { fault })?);
    }
    for placement in &report.placements {
        push(serde_json::to_string(&PlacementOut { placement })?);
    }
    for completed in &report.completed {
        push(serde_json::to_string(&CompletedOut { completed })?);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::RegionId;

    const GOOD: &str = r#"{"atMs":10,"stepId":"steady-state.1","via":1,"origin":"workload","outcome":"acknowledged","key":"2251799813685249","partition":1}
{"atMs":20,"stepId":"steady-state.2","via":0,"origin":"step","outcome":"acknowledged","key":"4503599627370497","partition":2}
{"fault":{"atMs":25,"stepId":"region-loss.1","attemptsBefore":2}}
{"atMs":30,"stepId":"region-loss.2","via":0,"origin":"workload","outcome":"rejected","error":"no answer"}

{"run":1,"atMs":5,"stepId":"failover.2","via":0,"origin":"workload","outcome":"acknowledged","key":"6755399441055745"}
{"placement":{"name":"original","placement":{"0":{"1":4,"2":3},"1":{"1":3}}}}
"#;

    #[test]
    fn a_good_ledger_loads_with_its_fault_marker_and_placements() {
        let ledger = parse_ledger("a/ledger.jsonl", GOOD).expect("valid");
        assert_eq!(ledger.attempts.len(), 4);
        assert_eq!(ledger.acknowledged(), 3);
        assert_eq!(ledger.attempts[0].via, RegionId(1));
        assert_eq!(ledger.attempts[3].run, 1);
        assert_eq!(
            ledger.fault,
            Some(FaultMarker {
                run: 0,
                at_ms: 25,
                step_id: "region-loss.1".to_owned(),
                attempts_before: 2,
            })
        );
        let original = &ledger.placements["original"].placement;
        assert_eq!(original[&0][&1], 4);
        assert_eq!(original[&1][&1], 3);
        assert_eq!(ledger.next_run(), 2);
        assert_eq!(parse_ledger("x", "").expect("empty is valid").next_run(), 0);
    }

    #[test]
    fn a_bad_line_is_named_with_its_file_and_line_number() {
        let broken = GOOD.replace(
            r#"{"atMs":30,"stepId":"region-loss.2""#,
            r#"{"atMs":"soon","stepId":"region-loss.2""#,
        );
        let error = parse_ledger("a/ledger.jsonl", &broken).expect_err("line 4 is bad");
        let LedgerError::BadLine { file, line, .. } = &error;
        assert_eq!((file.as_str(), *line), ("a/ledger.jsonl", 4));
        assert!(
            error
                .to_string()
                .starts_with("a/ledger.jsonl:4: not a ledger entry: invalid creation attempt:"),
            "{error}"
        );

        let truncated = format!("{GOOD}{{\"atMs\":4");
        let error = parse_ledger("b.jsonl", &truncated).expect_err("the last line is cut");
        assert!(
            error
                .to_string()
                .starts_with("b.jsonl:8: not a ledger entry: invalid JSON"),
            "{error}"
        );
        for (text, message) in [
            ("[1]", "expected a JSON object"),
            (
                r#"{"atMs":1,"stepId":"s","via":0,"origin":"step","outcome":"acknowledged"}"#,
                "an acknowledged attempt without a key",
            ),
            (
                r#"{"fault":{"atMs":1,"stepId":"s","attemptsBefore":3}}"#,
                "the fault marker says 3 attempts precede the fault, but 0 lines",
            ),
        ] {
            let error = parse_ledger("c", text).expect_err(text);
            assert!(error.to_string().contains(message), "{error}");
            assert!(error.to_string().starts_with("c:1: "), "{error}");
        }
        let twice = format!(
            "{}{}",
            "{\"fault\":{\"atMs\":1,\"stepId\":\"s\",\"attemptsBefore\":0}}\n",
            "{\"fault\":{\"atMs\":2,\"stepId\":\"s\",\"attemptsBefore\":0}}\n"
        );
        let error = parse_ledger("d", &twice).expect_err("two faults");
        assert_eq!(
            error.to_string(),
            "d:2: not a ledger entry: a second fault marker"
        );
    }

    #[test]
    fn a_ledger_without_a_fault_has_no_marker() {
        let ledger = parse_ledger(
            "e",
            r#"{"atMs":10,"stepId":"s","via":1,"origin":"workload","outcome":"acknowledged","key":"1"}"#,
        )
        .expect("valid");
        assert_eq!(ledger.fault, None);
        assert_eq!(ledger.next_run(), 1);
    }

    #[test]
    fn completed_instances_are_carried_and_must_be_acknowledged_keys_once() {
        let completed = r#"{"completed":{"key":"2251799813685249","run":2}}"#;
        let ledger = parse_ledger("f", &format!("{GOOD}{completed}\n")).expect("valid");
        assert_eq!(
            ledger.completed,
            [CompletedInstance {
                key: "2251799813685249".to_owned(),
                run: 2,
            }]
        );
        assert_eq!(ledger.next_run(), 3, "the completing run counts");

        // A key no attempt before it acknowledged (the rejected attempt has none).
        let unknown = r#"{"completed":{"key":"42"}}"#;
        let error = parse_ledger("g", &format!("{GOOD}{unknown}\n")).expect_err("unknown key");
        assert_eq!(
            error.to_string(),
            "g:8: not a ledger entry: instance 42 is marked completed but no attempt before this line acknowledged it"
        );
        let error =
            parse_ledger("h", &format!("{GOOD}{completed}\n{completed}\n")).expect_err("twice");
        assert_eq!(
            error.to_string(),
            "h:9: not a ledger entry: instance 2251799813685249 is marked completed twice"
        );
        let error =
            parse_ledger("i", r#"{"completed":{"key":"1","by":"me"}}"#).expect_err("unknown field");
        assert!(
            error
                .to_string()
                .starts_with("i:1: not a ledger entry: invalid completed instance"),
            "{error}"
        );
    }
}
