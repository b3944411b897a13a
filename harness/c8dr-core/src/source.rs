//! Scenario sources: the text of a scenario file and where its resources (BPMN files) come from.

use std::path::{Path, PathBuf};

/// A scenario file's text, its display name, and how to read the files it references.
#[derive(Debug, Clone)]
pub struct ScenarioSource {
    /// Name shown in errors and reports: the path as given, or `<built-in>/<file>`.
    pub name: String,
    /// The YAML text.
    pub text: String,
    /// Where relative resource paths are resolved.
    pub resources: Resources,
}

/// Where a scenario's relative resource paths are resolved.
#[derive(Debug, Clone)]
pub enum Resources {
    /// Relative to a directory on disk (the scenario file's directory).
    Directory(PathBuf),
    /// Built into the binary: relative path → content.
    Embedded(Vec<(&'static str, &'static [u8])>),
}

impl ScenarioSource {
    /// Read a scenario file from disk; resources resolve relative to its directory.
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn from_path(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Ok(Self {
            name: path.display().to_string(),
            text,
            resources: Resources::Directory(dir),
        })
    }

    /// A scenario compiled into the binary.
    #[must_use]
    pub fn embedded(
        name: &str,
        text: &'static str,
        resources: Vec<(&'static str, &'static [u8])>,
    ) -> Self {
        Self {
            name: format!("<built-in>/{name}"),
            text: text.to_owned(),
            resources: Resources::Embedded(resources),
        }
    }

    /// Read a resource referenced by the scenario.
    ///
    /// # Errors
    /// A message saying why the resource cannot be read.
    pub fn read_resource(&self, relative: &str) -> Result<Vec<u8>, String> {
        match &self.resources {
            Resources::Directory(dir) => {
                let path = dir.join(relative);
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
            }
            Resources::Embedded(files) => files
                .iter()
                .find(|(name, _)| normalize(name) == normalize(relative))
                .map(|(_, content)| content.to_vec())
                .ok_or_else(|| format!("no built-in resource {relative}")),
        }
    }
}

fn normalize(path: &str) -> String {
    path.trim_start_matches("./").to_owned()
}
