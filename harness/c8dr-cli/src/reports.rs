//! Writing reports: `report.json` (everything) and `junit.xml` (one test case per step).

use std::path::{Path, PathBuf};

use c8dr_core::report::{RunReport, to_junit_xml};

use crate::errors::CliError;

/// The files a run wrote.
pub(crate) struct Written {
    pub(crate) json: PathBuf,
    pub(crate) junit: PathBuf,
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
    Ok(Written { json, junit })
}
