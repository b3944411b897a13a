//! A region's Helm release as the platform side sees it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A scalar Helm value as written after `--set key=value`.
///
/// Serialized as the plain scalar. Deserialized by hand (not `untagged`) so a wrong type gets a
/// precise error.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ScalarValue {
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    String(String),
}

impl fmt::Display for ScalarValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScalarValue::Bool(b) => write!(f, "{b}"),
            ScalarValue::Int(i) => write!(f, "{i}"),
            ScalarValue::Float(x) => write!(f, "{x}"),
            ScalarValue::String(s) => f.write_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for ScalarValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl serde::de::Visitor<'_> for ScalarVisitor {
            type Value = ScalarValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar (boolean, number or string)")
            }
            fn visit_bool<E>(self, v: bool) -> Result<ScalarValue, E> {
                Ok(ScalarValue::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<ScalarValue, E> {
                Ok(ScalarValue::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ScalarValue, E> {
                i64::try_from(v)
                    .map(ScalarValue::Int)
                    .map_err(|_| E::custom("integer too large"))
            }
            fn visit_f64<E>(self, v: f64) -> Result<ScalarValue, E> {
                Ok(ScalarValue::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<ScalarValue, E> {
                Ok(ScalarValue::String(v.to_owned()))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

impl schemars::JsonSchema for ScalarValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HelmValue".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A Helm value as given to `--set`.",
            "type": ["boolean", "number", "string"]
        })
    }
}

/// What a deploy step changes on top of the region's base values: Helm `--set` paths and
/// entries of `orchestration.env`.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseOverrides {
    /// Helm `--set` paths and values.
    pub values: BTreeMap<String, ScalarValue>,
    /// Extra environment variables of the orchestration cluster.
    pub env: BTreeMap<String, String>,
}

/// A region's release as the platform reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseStatus {
    /// Spring profiles active in the orchestration cluster, for example `broker,operate,tasklist,...`.
    #[serde(default)]
    pub active_profiles: Vec<String>,
    /// Whether every pod runs the current revision.
    #[serde(default)]
    pub rollout_complete: bool,
    /// Helm revision.
    #[serde(default)]
    pub revision: u64,
}
