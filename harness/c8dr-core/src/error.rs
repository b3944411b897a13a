//! Scenario errors: every one names the file, line and column.

use miette::{NamedSource, SourceSpan};

/// One problem in a scenario file.
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ScenarioError {
    /// File name as shown to the user.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong.
    pub message: String,
    /// Byte span in the file, for snippets.
    #[label("{message}")]
    pub span: SourceSpan,
    /// How to fix it, when c8dr knows.
    #[help]
    pub help: Option<String>,
}

/// Every problem found in a scenario file (validation does not stop at the first).
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
#[error("{file} is not a valid scenario ({} problem{})", errors.len(), if errors.len() == 1 { "" } else { "s" })]
pub struct ScenarioErrors {
    /// File name as shown to the user.
    pub file: String,
    /// The file's text, for snippets.
    #[source_code]
    pub source_code: NamedSource<String>,
    /// The problems, in file order.
    #[related]
    pub errors: Vec<ScenarioError>,
}

/// Collects errors against one source text, turning line/column into byte spans.
#[derive(Debug)]
pub(crate) struct ErrorSink<'a> {
    file: &'a str,
    text: &'a str,
    line_starts: Vec<usize>,
    errors: Vec<ScenarioError>,
}

impl<'a> ErrorSink<'a> {
    pub(crate) fn new(file: &'a str, text: &'a str) -> Self {
        // Lines end like YAML's: `\n`, `\r\n` or a lone `\r`, so a line number from the parser
        // finds the same line here.
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        line_starts.extend(bytes.iter().enumerate().filter_map(|(i, b)| {
            let ends_line = *b == b'\n' || (*b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
            ends_line.then_some(i + 1)
        }));
        Self {
            file,
            text,
            line_starts,
            errors: Vec::new(),
        }
    }

    /// Byte offset of a 1-based line and character column, clamped to the text.
    fn offset(&self, line: u32, column: u32) -> usize {
        let line_index = usize::try_from(line.max(1) - 1).unwrap_or(usize::MAX);
        let Some(&start) = self.line_starts.get(line_index) else {
            return self.text.len();
        };
        let column_index = usize::try_from(column.max(1) - 1).unwrap_or(usize::MAX);
        let rest = &self.text[start..];
        let within = rest
            .char_indices()
            .nth(column_index)
            .map_or(rest.len(), |(i, _)| i);
        start + within
    }

    /// Length of the token starting at an offset (up to the end of the line), at least 1.
    fn token_len(&self, offset: usize) -> usize {
        let rest = &self.text[offset.min(self.text.len())..];
        let end = rest
            .find(['\n', '\r', ',', '}', ']', '#'])
            .unwrap_or(rest.len());
        rest[..end].trim_end().len().max(1)
    }

    pub(crate) fn push(
        &mut self,
        line: u32,
        column: u32,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let offset = self.offset(line, column);
        let len = self.token_len(offset);
        self.errors.push(ScenarioError {
            file: self.file.to_owned(),
            line: line.max(1),
            column: column.max(1),
            message: message.into(),
            span: SourceSpan::from((offset, len)),
            help,
        });
    }

    pub(crate) fn at(&mut self, location: &serde_saphyr::Location, message: impl Into<String>) {
        self.push(
            u32::try_from(location.line()).unwrap_or(u32::MAX),
            u32::try_from(location.column()).unwrap_or(u32::MAX),
            message,
            None,
        );
    }

    pub(crate) fn at_with_help(
        &mut self,
        location: &serde_saphyr::Location,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(
            u32::try_from(location.line()).unwrap_or(u32::MAX),
            u32::try_from(location.column()).unwrap_or(u32::MAX),
            message,
            Some(help.into()),
        );
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub(crate) fn finish(mut self) -> ScenarioErrors {
        self.errors.sort_by_key(|e| (e.line, e.column));
        ScenarioErrors {
            file: self.file.to_owned(),
            source_code: NamedSource::new(self.file, self.text.to_owned()),
            errors: self.errors,
        }
    }
}
