//! A self-contained HTML report: the step timeline with milestones and the RTO marked,
//! partitions with a healthy leader over time, exported data per region over time, workload
//! successes and failures over time, every step with its expectations, and the data-continuity
//! verdict. One file, no network: the report's JSON is embedded and drawn by a small script.

use super::RunReport;

const TEMPLATE: &str = include_str!("assets/report.html");

/// Render the report as one HTML page.
///
/// # Errors
/// When the report cannot be serialized (it always can; the error is passed on rather than hidden).
pub fn to_html(report: &RunReport) -> Result<String, serde_json::Error> {
    let json = serde_json::to_string(report)?;
    // Inside <script>, "</" would end the element; "<\/" is the same JSON string.
    let json = json.replace("</", "<\\/");
    Ok(TEMPLATE.replacen("__REPORT_JSON__", &json, 1))
}
