//! Writing reports: `report.json` (everything) and `junit.xml` (one test case per step).

use std::path::{Path, PathBuf};

use c8dr_core::report::{RunReport, to_html, to_junit_xml, to_ledger_jsonl, to_markdown};

use crate::errors::CliError;

/// The files a run wrote.
pub(crate) struct Written {
    pub(crate) json: PathBuf,
    pub(crate) junit: PathBuf,
    pub(crate) html: PathBuf,
    pub(crate) markdown: PathBuf,
    pub(crate) ledger: PathBuf,
}

fn write(path: &Path, content: &str) -> Result<(), CliError> {
    // Write to a temporary file and rename, so a reader never sees half a report.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|source| CliError::WriteReport {
            path: path.to_path_buf(),
            source,
        })
}

/// Write every report of a run into `dir` (created when missing).
pub(crate) fn write_all(dir: &Path, report: &RunReport) -> Result<Written, CliError> {
    std::fs::create_dir_all(dir).map_err(|source| CliError::WriteReport {
        path: dir.to_path_buf(),
        source,
    })?;
    let json = dir.join("report.json");
    let text = serde_json::to_string_pretty(report).map_err(|e| CliError::WriteReport {
        path: json.clone(),
        source: std::io::Error::other(e),
    })?;
    write(&json, &text)?;
    let junit = dir.join("junit.xml");
    let xml = to_junit_xml(report).map_err(CliError::RenderJunit)?;
    write(&junit, &xml)?;
    let html = dir.join("report.html");
    let page = to_html(report).map_err(|e| CliError::WriteReport {
        path: html.clone(),
        source: std::io::Error::other(e),
    })?;
    write(&html, &page)?;
    let markdown = dir.join("summary.md");
    write(&markdown, &to_markdown(report))?;
    // The ledger on its own, one attempt per line, with the fault marker, the captured
    // placements and the completed instances, for tools that replay or diff it and for
    // `c8dr run --ledger`.
    let ledger = dir.join("ledger.jsonl");
    let lines = to_ledger_jsonl(report).map_err(|e| CliError::WriteReport {
        path: ledger.clone(),
        source: std::io::Error::other(e),
    })?;
    write(&ledger, &lines)?;
    Ok(Written {
        json,
        junit,
        html,
        markdown,
        ledger,
    })
}
