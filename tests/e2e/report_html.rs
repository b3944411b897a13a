//! The HTML report renders in a real browser: headless Chromium loads it, runs its script, and
//! the DOM it leaves has the timeline and the charts drawn.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{c8dr, report, steps};

/// The Chromium binary: `C8DR_CHROMIUM`, or the first of the usual names on `PATH`.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("C8DR_CHROMIUM") {
        return PathBuf::from(path);
    }
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        if let Some(path) = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        }) {
            return path;
        }
    }
    panic!(
        "no Chromium found: `make test` installs it (scripts/ensure-chromium.sh), or set C8DR_CHROMIUM"
    );
}

/// The DOM after the page's scripts ran.
pub(crate) fn rendered_dom(page: &Path, profile: &Path) -> String {
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_html_report_draws_the_timeline_and_charts_in_a_browser() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let report_dir = dir.path().join("reports");
    let run = c8dr(&[
        "run",
        "--virtual-time",
        "--report-dir",
        report_dir.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let ran = steps(&report(&report_dir)).len();

    let dom = rendered_dom(&report_dir.join("report.html"), &dir.path().join("profile"));
    assert!(
        dom.contains(r#"data-rendered="true""#),
        "the script did not finish:\n{dom}"
    );
    // One bar per step on the timeline, coloured by outcome.
    let bars = dom.matches(r#"class="step passed""#).count();
    assert_eq!(bars, ran, "one timeline bar per step");
    // The RTO is marked between the fault and the first acknowledged instance.
    assert!(dom.contains(r#"class="rto""#), "the RTO is not marked");
    assert!(dom.contains(">fault<"), "the fault milestone is not drawn");
    // The charts have lines: leadership and exported data per region, workload outcomes.
    let section = |id: &str| {
        let start = dom.find(&format!(r#"id="{id}""#)).expect("chart present");
        let end = dom[start..].find("</svg>").expect("svg closed") + start;
        dom[start..end].to_owned()
    };
    for (chart, series) in [
        ("chart-leaders", "region0"),
        ("chart-leaders", "region1"),
        ("chart-exported", "region0"),
        ("chart-exported", "region1"),
        ("chart-workload", "acknowledged"),
        ("chart-workload", "rejected"),
    ] {
        let svg = section(chart);
        assert!(
            svg.contains(&format!(r#"data-series="{series}""#)),
            "{chart} has no {series} line"
        );
    }
    // Every step is in the table.
    assert_eq!(
        dom.matches("<tr>").count(),
        ran + 1,
        "a table row per step and the header"
    );
}
