//! The one YAML crate c8dr uses (serde-saphyr), wrapped so every parse error names file, line and column.

use crate::error::{ErrorSink, ScenarioErrors};
use crate::source::ScenarioSource;
use crate::spec::ScenarioFile;

/// Parse a scenario file into its spec types.
///
/// # Errors
/// The syntax or type error, located in the file.
pub fn parse(source: &ScenarioSource) -> Result<ScenarioFile, ScenarioErrors> {
    serde_saphyr::from_str::<ScenarioFile>(&source.text).map_err(|error| {
        let mut sink = ErrorSink::new(&source.name, &source.text);
        let plain = error.without_snippet().to_string();
        let message = strip_location_suffix(&plain);
        match error.location() {
            Some(location) => sink.at(&location, message),
            None => sink.push(1, 1, message, None),
        }
        sink.finish()
    })
}

/// serde-saphyr appends " at line L, column C"; c8dr prints the location itself.
fn strip_location_suffix(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) if message[index..].contains(", column ") => message[..index].to_owned(),
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_is_stripped_only_when_it_is_a_location() {
        assert_eq!(
            strip_location_suffix("unknown field `x` at line 3, column 5"),
            "unknown field `x`"
        );
        assert_eq!(
            strip_location_suffix("look at line items"),
            "look at line items"
        );
    }
}
