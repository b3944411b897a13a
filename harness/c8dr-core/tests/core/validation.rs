//! Scenario validation: every invalid file is rejected with located errors (snapshot-tested),
//! every valid file and the shipped scenario validate.

use std::path::Path;

use c8dr_core::source::ScenarioSource;
use c8dr_core::validate::{PlanOptions, load};
use rstest::rstest;

use crate::support::{data_dir, data_source, lines, shipped_path, shipped_plan, shipped_source};

/// Byte ranges of the lines of a text, line breaks excluded. Like YAML (and miette), `\r\n`,
/// `\n` and a lone `\r` all end a line.
fn line_ranges(text: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                ranges.push(start..i);
                start = i + 1;
            }
            b'\r' => {
                ranges.push(start..i);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    ranges.push(start..bytes.len());
    ranges
}

/// Checks every error of a rejected file points into the file: the errors come in file order,
/// the span starts on the reported line (or at the end of the text for a line past the end),
/// on a char boundary, and miette can read it.
pub fn assert_errors_are_located(
    source: &ScenarioSource,
    errors: &c8dr_core::error::ScenarioErrors,
) {
    use miette::SourceCode;
    assert!(
        !errors.errors.is_empty(),
        "{}: an error without problems",
        source.name
    );
    let text = &source.text;
    let lines = line_ranges(text);
    let mut previous = (0, 0);
    for e in &errors.errors {
        assert_eq!(e.file, source.name);
        assert!(e.line >= 1 && e.column >= 1, "{e}");
        assert!(
            (e.line, e.column) >= previous,
            "errors are in file order: {e}"
        );
        previous = (e.line, e.column);
        let offset = e.span.offset();
        assert!(
            offset <= text.len(),
            "{e}: span offset {offset} beyond {}",
            text.len()
        );
        assert!(
            text.is_char_boundary(offset),
            "{e}: span starts inside a character"
        );
        assert!(
            errors.source_code.read_span(&e.span, 0, 0).is_ok(),
            "{e}: miette cannot read span {:?} of a {}-byte text",
            e.span,
            text.len()
        );
        match lines.get(e.line as usize - 1) {
            // The span may start at the line break that ends the line (an error at the end of a line).
            Some(line) => assert!(
                (line.start..=line.end).contains(&offset),
                "{e}: the span starts at byte {offset}, outside line {} (bytes {line:?}: {:?})",
                e.line,
                &text[line.clone()]
            ),
            None => assert_eq!(
                offset,
                text.len(),
                "{e}: a line past the end points at the end"
            ),
        }
    }
}

#[test]
fn invalid_scenarios_are_rejected_with_located_errors() {
    insta::glob!("../data", "invalid/*.yaml", |path| {
        let rendered = match data_source(path) {
            Err(e) => vec![format!("unreadable ({:?}): {e}", e.kind())],
            Ok(source) => match load(&source, &PlanOptions::default()) {
                Ok(_) => panic!("{} is in invalid/ but validates", source.name),
                Err(errors) => {
                    assert_errors_are_located(&source, &errors);
                    lines(&errors)
                }
            },
        };
        insta::assert_snapshot!(rendered.join("\n"));
    });
}

#[test]
fn a_non_utf8_file_is_refused_when_read() {
    let error = ScenarioSource::from_path(&data_dir().join("invalid/not_utf8.yaml"))
        .expect_err("not UTF-8");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
}

#[test]
fn the_error_summary_counts_the_problems() {
    let source =
        data_source(&data_dir().join("invalid/many_errors_in_file_order.yaml")).expect("readable");
    let errors = load(&source, &PlanOptions::default()).expect_err("invalid");
    assert!(errors.errors.len() > 1);
    assert_eq!(
        errors.to_string(),
        format!(
            "invalid/many_errors_in_file_order.yaml is not a valid scenario ({} problems)",
            errors.errors.len()
        )
    );
    let one = data_source(&data_dir().join("invalid/no_stages.yaml")).expect("readable");
    let errors = load(&one, &PlanOptions::default()).expect_err("invalid");
    assert_eq!(
        errors.to_string(),
        "invalid/no_stages.yaml is not a valid scenario (1 problem)"
    );
}

#[rstest]
fn valid_scenarios_validate_for_either_lost_region(#[values(0, 1)] lost_region: u8) {
    insta::glob!("../data", "valid/*.yaml", |path| {
        let source = data_source(path).expect("readable");
        if let Err(errors) = load(
            &source,
            &PlanOptions {
                lost_region: Some(lost_region),
            },
        ) {
            panic!(
                "{} does not validate for lost region {lost_region}:\n{}",
                source.name,
                lines(&errors).join("\n")
            );
        }
    });
}

#[rstest]
fn the_shipped_scenario_validates_for_either_lost_region(#[values(0, 1)] lost_region: u8) {
    let plan = shipped_plan(lost_region);
    assert_eq!(plan.lost_region.0, lost_region);
    assert_eq!(plan.surviving_region.0, 1 - lost_region);
    assert_eq!(plan.stages.len(), 5);
    assert_eq!(plan.steps().count(), 26);
}

#[test]
fn the_shipped_scenario_loses_region_1_unless_told_otherwise() {
    let plan = load(&shipped_source(), &PlanOptions::default()).expect("valid");
    assert_eq!(plan.lost_region.0, 1);
}

#[test]
fn the_shipped_scenario_reads_its_bpmn_relative_to_its_own_directory() {
    // A source whose directory is elsewhere cannot find ../fixtures/bpmn/c8dr-probe.bpmn.
    let text = std::fs::read_to_string(shipped_path()).expect("readable");
    // Lines (1-based) that reference the file.
    let referencing: Vec<String> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| line.contains("../fixtures/bpmn/c8dr-probe.bpmn"))
        .map(|(index, _)| (index + 1).to_string())
        .collect();
    let elsewhere = ScenarioSource {
        name: "moved.yaml".to_owned(),
        text,
        resources: c8dr_core::source::Resources::Directory(
            Path::new("/nonexistent/dir").to_path_buf(),
        ),
    };
    let errors = load(&elsewhere, &PlanOptions::default()).expect_err("resource missing");
    let rendered = lines(&errors);
    // The workload and the deployProcess step both reference the file: each is reported once.
    assert_eq!(rendered.len(), 2, "{rendered:#?}");
    assert_eq!(referencing.len(), 2, "{referencing:?}");
    for (line, expected_line) in rendered.iter().zip(&referencing) {
        assert!(
            line.starts_with(&format!("moved.yaml:{expected_line}:"))
                && line.contains("cannot read /nonexistent/dir/../fixtures/bpmn/c8dr-probe.bpmn"),
            "{rendered:#?}"
        );
    }
}

#[test]
fn a_lost_region_option_out_of_range_is_an_error_at_the_start_of_the_file() {
    let errors = load(
        &shipped_source(),
        &PlanOptions {
            lost_region: Some(2),
        },
    )
    .expect_err("no region 2");
    assert_eq!(
        lines(&errors),
        [
            "scenarios/dual-region-8.8.yaml:1:1: --lost-region 2 does not exist: the scenario has regions 0 to 1"
        ]
    );
}

#[test]
fn the_committed_json_schema_is_up_to_date() {
    let path = crate::support::shipped_path()
        .parent()
        .and_then(Path::parent)
        .expect("the repository root")
        .join("schemas/scenario.schema.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the schema is committed"))
            .expect("JSON");
    assert_eq!(
        committed,
        c8dr_core::spec::json_schema(),
        "regenerate it: cargo run -p c8dr-cli -- schema > schemas/scenario.schema.json"
    );
}
