//! Serialize a `Duration` as whole milliseconds (reports are read by scripts, not humans).

use std::time::Duration;

use serde::Serializer;

/// Serialize as integer milliseconds.
///
/// # Errors
/// Propagates the serializer's error.
pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

/// The same for `Option<Duration>` (`null` when absent).
pub mod option {
    use std::time::Duration;

    use serde::Serializer;

    /// Serialize as integer milliseconds or `null`.
    ///
    /// # Errors
    /// Propagates the serializer's error.
    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(d) => super::serialize(d, serializer),
            None => serializer.serialize_none(),
        }
    }
}
