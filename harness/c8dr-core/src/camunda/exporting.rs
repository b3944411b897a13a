//! `/actuator/exporters` and `/actuator/exporting` (contract §1.7, §1.8).

use serde::{Deserialize, Serialize};

/// One entry of `GET /actuator/exporters`: an exporter's status aggregated over all replicas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExporterStatus {
    /// Exporter id.
    pub exporter_id: String,
    /// `ENABLED`, `DISABLED`, `ENABLING`, `DISABLING`, `CONFIG_NOT_FOUND` or `UNKNOWN`.
    pub status: String,
}

/// The exporting operations of the management API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ExportingOperation {
    /// `POST /actuator/exporting/pause`.
    Pause,
    /// `POST /actuator/exporting/pause?soft=true`.
    SoftPause,
    /// `POST /actuator/exporting/resume`.
    Resume,
}

impl ExportingOperation {
    /// The path and query of the operation under `/actuator`.
    #[must_use]
    pub fn path(self) -> &'static str {
        match self {
            ExportingOperation::Pause => "/actuator/exporting/pause",
            ExportingOperation::SoftPause => "/actuator/exporting/pause?soft=true",
            ExportingOperation::Resume => "/actuator/exporting/resume",
        }
    }
}

/// What an exporting call really returned.
///
/// In 8.8 the endpoint answers HTTP 200 with `{"body", "status", "contentType"}` and carries the
/// real result in `status`; the procedure page's "HTTP/1.1 204 No Content" is a documentation
/// error (contract §1.8). Later versions answer a real 204. Success is therefore HTTP 204, or
/// HTTP 200 with `status == 204` in the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportingOutcome {
    /// HTTP status of the answer.
    pub http_status: u16,
    /// `status` inside the body, when the body has one.
    pub body_status: Option<u16>,
    /// The failure message inside the body, when there is one.
    pub message: Option<String>,
}

impl ExportingOutcome {
    /// Interpret an answer's HTTP status and body (possibly empty).
    #[must_use]
    pub fn from_answer(http_status: u16, body: &str) -> Self {
        let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
        let body_status = parsed
            .as_ref()
            .and_then(|v| v.get("status"))
            .and_then(serde_json::Value::as_u64)
            .and_then(|s| u16::try_from(s).ok());
        let message = parsed.as_ref().and_then(|v| {
            v.get("body")
                .and_then(|b| b.get("message"))
                .or_else(|| v.get("message"))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        });
        Self {
            http_status,
            body_status,
            message,
        }
    }

    /// Whether the operation succeeded on every partition.
    #[must_use]
    pub fn succeeded(&self) -> bool {
        match self.http_status {
            204 => true,
            200 => self.body_status == Some(204),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_200_with_status_204_in_the_body_is_success() {
        let outcome = ExportingOutcome::from_answer(
            200,
            r#"{"body": null, "status": 204, "contentType": null}"#,
        );
        assert!(outcome.succeeded());
    }

    #[test]
    fn http_200_with_status_500_in_the_body_is_failure_with_its_message() {
        let outcome = ExportingOutcome::from_answer(
            200,
            r#"{"body": {"message": "Expected 4 members of partition 1 but found 2"}, "status": 500, "contentType": null}"#,
        );
        assert!(!outcome.succeeded());
        assert_eq!(
            outcome.message.as_deref(),
            Some("Expected 4 members of partition 1 but found 2")
        );
    }

    #[test]
    fn a_real_204_is_success_and_a_bare_200_is_not() {
        assert!(ExportingOutcome::from_answer(204, "").succeeded());
        assert!(!ExportingOutcome::from_answer(200, "").succeeded());
        assert!(!ExportingOutcome::from_answer(500, "{}").succeeded());
    }
}
