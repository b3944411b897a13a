//! Properties: parsing and validation never panic and always locate their errors, whatever the
//! text; the exporting answer is judged exactly as the contract says.

use c8dr_core::camunda::ExportingOutcome;
use c8dr_core::source::{Resources, ScenarioSource};
use c8dr_core::validate::{PlanOptions, load};
use proptest::prelude::*;
use serde_json::json;

use crate::validation::assert_errors_are_located;

const SHIPPED: &str = include_str!("../../../../scenarios/dual-region-8.8.yaml");
const PROBE: &[u8] = include_bytes!("../../../../fixtures/bpmn/c8dr-probe.bpmn");

fn source(text: String) -> ScenarioSource {
    ScenarioSource {
        name: "fuzz.yaml".to_owned(),
        text,
        resources: Resources::Embedded(vec![("../fixtures/bpmn/c8dr-probe.bpmn", PROBE)]),
    }
}

/// Parse and validate for both lost regions; every error must be located inside the text.
fn check(text: String) {
    let source = source(text);
    if let Err(errors) = c8dr_core::yaml::parse(&source) {
        assert_errors_are_located(&source, &errors);
    }
    for lost_region in [None, Some(0), Some(1), Some(7)] {
        if let Err(errors) = load(&source, &PlanOptions { lost_region }) {
            assert_errors_are_located(&source, &errors);
        }
    }
}

/// One edit of a text.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the character at (index mod length) by another.
    Flip(usize, char),
    /// Insert a character before (index mod length).
    Insert(usize, char),
    /// Delete line (index mod lines).
    DeleteLine(usize),
    /// Duplicate line (index mod lines).
    DuplicateLine(usize),
    /// Swap two lines.
    SwapLines(usize, usize),
}

fn interesting_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(vec![
            ' ', '\n', '\t', ':', '-', '{', '}', '[', ']', ',', '#', '&', '*', '!', '|', '>', '"', '\'',
            '%', '@', '`', '?', '0', '9', 'x', '\r', '\u{0}', '\u{feff}', 'é', '😀',
        ]),
        1 => any::<char>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), interesting_char()).prop_map(|(i, c)| Mutation::Flip(i, c)),
        (any::<usize>(), interesting_char()).prop_map(|(i, c)| Mutation::Insert(i, c)),
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for m in mutations {
        match *m {
            Mutation::Flip(i, c) if !chars.is_empty() => {
                let i = i % chars.len();
                chars[i] = c;
            }
            Mutation::Insert(i, c) => {
                let i = i % (chars.len() + 1);
                chars.insert(i, c);
            }
            Mutation::DeleteLine(_) | Mutation::DuplicateLine(_) | Mutation::SwapLines(..) => {
                let joined: String = chars.iter().collect();
                let mut lines: Vec<&str> = joined.split('\n').collect();
                let n = lines.len();
                match *m {
                    Mutation::DeleteLine(i) => {
                        lines.remove(i % n);
                    }
                    Mutation::DuplicateLine(i) => {
                        let line = lines[i % n];
                        lines.insert(i % n, line);
                    }
                    Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
                    _ => unreachable!(),
                }
                chars = lines.join("\n").chars().collect();
            }
            Mutation::Flip(..) => {}
        }
    }
    chars.into_iter().collect()
}

/// Text that looks like YAML: keys, flow and block collections, scalars, comments, anchors.
fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        prop::sample::select(vec![
            "apiVersion: c8dr.io/v1alpha1\n", "kind: Scenario\n", "metadata: {name: x}\n", "spec:\n",
            "  camunda: {version: \"8.8\", regions: 2, clusterSize: 8, partitionCount: 8, replicationFactor: 4}\n",
            "  stages:\n", "    - name: s\n", "      steps:\n", "        - name: t\n", "          expect:\n",
            "            - topology: {brokers: all}\n", "          action:\n", "            patchCluster: {remove: lost}\n",
            "          holdFor: 10s\n", "          timeout: 0s\n", "  backup: {repository: r, fs: {location: /b}}\n",
            "- ", ": ", "{", "}", "[", "]", ", ", "\n", "  ", "\t", "#c\n", "&a ", "*a ", "!!str ", "|\n", ">\n",
            "\"", "'", "99999999999999999999", "-1", "~", "null", "true", "lost", "surviving", "7", "1e9", "---\n", "...\n",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z0-9 :{}\\[\\],\n-]{1,8}",
    ];
    prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_and_errors_are_located(text in any::<String>()) {
        check(text);
    }

    #[test]
    fn yaml_like_text_never_panics_and_errors_are_located(text in yamlish()) {
        check(text);
    }

    #[test]
    fn mutated_shipped_scenario_never_panics_and_errors_are_located(
        mutations in prop::collection::vec(mutation(), 1..6)
    ) {
        check(mutate(SHIPPED, &mutations));
    }
}

/// A `status` value for an exporting answer's body, from plausible to hostile.
fn body_status() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(json!(204)),
        Just(json!(500)),
        Just(json!(204 + 65_536)),
        Just(json!(-204)),
        Just(json!(204.0)),
        Just(json!("204")),
        Just(json!(null)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<u16>().prop_map(|n| json!(n)),
    ]
}

fn exporting_body() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        any::<String>(),
        (body_status(), proptest::option::of(".{0,20}")).prop_map(|(status, message)| {
            json!({"body": message.map(|m| json!({"message": m})), "status": status, "contentType": null}).to_string()
        }),
        body_status().prop_map(|status| json!([{"status": status}]).to_string()),
        body_status().prop_map(|status| format!("  {{\"status\" : {status} }}  ")),
    ]
}

fn http_status() -> impl Strategy<Value = u16> {
    prop_oneof![Just(200u16), Just(204u16), Just(500u16), any::<u16>()]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn exporting_succeeds_iff_http_204_or_http_200_with_status_204(http in http_status(), body in exporting_body()) {
        let outcome = ExportingOutcome::from_answer(http, &body);
        let body_says_204 = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("status").cloned())
            .is_some_and(|s| s.is_u64() && s.as_u64() == Some(204));
        let expected = http == 204 || (http == 200 && body_says_204);
        prop_assert_eq!(outcome.succeeded(), expected, "HTTP {} body {:?} read as {:?}", http, body, outcome);
        prop_assert_eq!(outcome.http_status, http);
    }
}

/// A valid ledger as `c8dr run` writes it: attempts of two runs, the fault marker, a placement.
const LEDGER: &str = r#"{"atMs":10,"stepId":"steady-state.1","via":1,"origin":"workload","outcome":"acknowledged","key":"2251799813685249","partition":1}
{"atMs":20,"stepId":"steady-state.2","via":0,"origin":"step","outcome":"acknowledged","key":"4503599627370497","partition":2}
{"fault":{"atMs":25,"stepId":"region-loss.1","attemptsBefore":2}}
{"atMs":30,"stepId":"region-loss.2","via":0,"origin":"workload","outcome":"rejected","error":"no answer"}
{"run":1,"atMs":5,"stepId":"failover.2","via":0,"origin":"workload","outcome":"acknowledged","key":"6755399441055745"}
{"placement":{"name":"original","placement":{"0":{"1":4,"2":3},"1":{"1":3}}}}
"#;

/// `--ledger` input: never a panic, and a refusal names the file and a line that exists.
fn check_ledger(text: &str) -> Result<(), TestCaseError> {
    match c8dr_core::report::parse_ledger("fuzz/ledger.jsonl", text) {
        Ok(ledger) => prop_assert!(ledger.attempts.len() <= text.lines().count()),
        Err(error) => {
            let message = error.to_string();
            let rest = message.strip_prefix("fuzz/ledger.jsonl:");
            prop_assert!(rest.is_some(), "{}", message);
            let line: usize = rest
                .and_then(|r| r.split(':').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            prop_assert!(
                (1..=text.lines().count()).contains(&line),
                "line {} of {}: {}",
                line,
                text.lines().count(),
                message
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_ledger_text_never_panics_and_refusals_name_a_line(text in any::<String>()) {
        check_ledger(&text)?;
    }

    #[test]
    fn an_edited_ledger_never_panics_and_refusals_name_a_line(
        at in any::<usize>(),
        cut in 0_usize..40,
        insert in "[{}\":,0-9a-z\n -]{0,12}",
    ) {
        // Replace a stretch of the valid ledger with JSON-ish characters.
        let start = at % LEDGER.len();
        let end = (start + cut).min(LEDGER.len());
        if LEDGER.is_char_boundary(start) && LEDGER.is_char_boundary(end) {
            let text = format!("{}{insert}{}", &LEDGER[..start], &LEDGER[end..]);
            check_ledger(&text)?;
        }
    }
}

#[test]
fn the_ledger_property_starts_from_a_valid_ledger() {
    let ledger = c8dr_core::report::parse_ledger("x", LEDGER).expect("valid");
    assert_eq!(ledger.attempts.len(), 4);
}
