//! Edited copies of the shipped scenario for tests that need the procedure changed: written to a
//! temporary directory, with the fixtures' relative paths made absolute so they still resolve.

use std::path::{Path, PathBuf};

use crate::support::{repo_root, scenario_8_8};

/// The shipped scenario with `edit` applied to its text, written to `dir/scenario.yaml`.
pub fn edited_scenario(dir: &Path, edit: impl FnOnce(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(scenario_8_8()).expect("the scenario is readable");
    let fixtures = repo_root().join("fixtures");
    let text = edit(text).replace("../fixtures", &fixtures.display().to_string());
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, text).expect("the temporary scenario is writable");
    path
}

/// Replace `from` (which must occur exactly once) by `to`.
pub fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "the scenario has `{from}` exactly once"
    );
    text.replacen(from, to, 1)
}

/// Remove the steps with these names (every line of each, up to the next step or stage).
pub fn without_steps(text: &str, names: &[&str]) -> String {
    let mut kept = Vec::new();
    let mut removed = Vec::new();
    let mut skipping = false;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("        - name: ") {
            skipping = names.contains(&name.trim());
            if skipping {
                removed.push(name.trim().to_owned());
            }
        } else if line.starts_with("    - name: ") {
            skipping = false;
        }
        if !skipping {
            kept.push(line);
        }
    }
    for name in names {
        assert!(
            removed.iter().any(|r| r == name),
            "the scenario has no step named {name:?}"
        );
    }
    kept.join("\n")
}
