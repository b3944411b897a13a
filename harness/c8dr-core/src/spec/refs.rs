//! References a scenario uses instead of ids: `lost`, `surviving`, broker sets, exporters.
//!
//! They deserialize by hand from either a word or a number/list so that the file stays
//! readable (`region: lost`, `remove: lost`, `add: [1, 3]`) without `untagged` enums.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A region: the lost one, the surviving one, or an explicit index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RegionRefSpec {
    /// The region the drill loses (`--lost-region`). `recreated` is accepted as a synonym, as the
    /// procedure calls the lost region once it is rebuilt.
    Lost,
    /// The other region.
    Surviving,
    /// An explicit region index.
    Index(u8),
}

impl fmt::Display for RegionRefSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionRefSpec::Lost => f.write_str("lost"),
            RegionRefSpec::Surviving => f.write_str("surviving"),
            RegionRefSpec::Index(i) => write!(f, "{i}"),
        }
    }
}

impl<'de> Deserialize<'de> for RegionRefSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RegionVisitor;
        impl Visitor<'_> for RegionVisitor {
            type Value = RegionRefSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a region: `lost`, `recreated`, `surviving` or a region index")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RegionRefSpec, E> {
                u8::try_from(v)
                    .map(RegionRefSpec::Index)
                    .map_err(|_| E::custom(format!("region index {v} is out of range")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RegionRefSpec, E> {
                u8::try_from(v)
                    .map(RegionRefSpec::Index)
                    .map_err(|_| E::custom(format!("region index {v} is out of range")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RegionRefSpec, E> {
                match v {
                    "lost" | "recreated" => Ok(RegionRefSpec::Lost),
                    "surviving" => Ok(RegionRefSpec::Surviving),
                    other => other.parse::<u8>().map(RegionRefSpec::Index).map_err(|_| {
                        E::custom(format!(
                            "unknown region `{other}`, expected `lost`, `recreated`, `surviving` or a region index"
                        ))
                    }),
                }
            }
        }
        deserializer.deserialize_any(RegionVisitor)
    }
}

/// A set of broker ids: a region's brokers, all brokers, or an explicit list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BrokerSetSpec {
    /// Every broker of the cluster.
    All,
    /// The brokers of a region.
    Region(RegionRefSpec),
    /// Explicit ids.
    Ids(Vec<u32>),
}

impl<'de> Deserialize<'de> for BrokerSetSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SetVisitor;
        impl<'de> Visitor<'de> for SetVisitor {
            type Value = BrokerSetSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a broker set: `all`, `lost`, `recreated`, `surviving` or a list of broker ids",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BrokerSetSpec, E> {
                match v {
                    "all" => Ok(BrokerSetSpec::All),
                    "lost" | "recreated" => Ok(BrokerSetSpec::Region(RegionRefSpec::Lost)),
                    "surviving" => Ok(BrokerSetSpec::Region(RegionRefSpec::Surviving)),
                    other => Err(E::custom(format!(
                        "unknown broker set `{other}`, expected `all`, `lost`, `recreated`, `surviving` or a list of broker ids"
                    ))),
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<BrokerSetSpec, A::Error> {
                let mut ids = Vec::new();
                while let Some(id) = seq.next_element::<u32>()? {
                    ids.push(id);
                }
                Ok(BrokerSetSpec::Ids(ids))
            }
        }
        deserializer.deserialize_any(SetVisitor)
    }
}

/// An exporter: the one writing to the lost or surviving region's Elasticsearch, or a literal id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ExporterRefSpec {
    /// The exporter of the lost region, named by the scenario's `exporterIdPattern`.
    Lost,
    /// The exporter of the surviving region.
    Surviving,
    /// A literal exporter id, for example `elasticsearchregion0`.
    Id(String),
}

impl fmt::Display for ExporterRefSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExporterRefSpec::Lost => f.write_str("lost"),
            ExporterRefSpec::Surviving => f.write_str("surviving"),
            ExporterRefSpec::Id(id) => f.write_str(id),
        }
    }
}

impl<'de> Deserialize<'de> for ExporterRefSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let word = String::deserialize(deserializer)?;
        Ok(match word.as_str() {
            "lost" | "recreated" => ExporterRefSpec::Lost,
            "surviving" => ExporterRefSpec::Surviving,
            _ => ExporterRefSpec::Id(word),
        })
    }
}

/// Schema of a region reference: a word or an index.
impl schemars::JsonSchema for RegionRefSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RegionRef".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A region: `lost` (or `recreated`), `surviving`, or a region index.",
            "oneOf": [
                {"type": "string", "enum": ["lost", "recreated", "surviving"]},
                {"type": "integer", "minimum": 0, "maximum": 255}
            ]
        })
    }
}

/// Schema of a broker set: a word or a list of ids.
impl schemars::JsonSchema for BrokerSetSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "BrokerSet".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Brokers: `all`, a region's (`lost`, `recreated`, `surviving`), or a list of broker ids.",
            "oneOf": [
                {"type": "string", "enum": ["all", "lost", "recreated", "surviving"]},
                {"type": "array", "items": {"type": "integer", "minimum": 0}}
            ]
        })
    }
}

/// Schema of an exporter reference: a region word or a literal id.
impl schemars::JsonSchema for ExporterRefSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ExporterRef".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An exporter: the one of the `lost` (or `recreated`) or `surviving` region, or a literal exporter id.",
            "type": "string",
            "examples": ["lost", "surviving", "camundaregion0"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_refs_read_words_and_numbers() {
        let parse = |s: &str| serde_saphyr::from_str::<RegionRefSpec>(s);
        assert_eq!(parse("lost").ok(), Some(RegionRefSpec::Lost));
        assert_eq!(parse("recreated").ok(), Some(RegionRefSpec::Lost));
        assert_eq!(parse("surviving").ok(), Some(RegionRefSpec::Surviving));
        assert_eq!(parse("1").ok(), Some(RegionRefSpec::Index(1)));
        let err = parse("survivng").expect_err("typo");
        assert!(
            err.to_string().contains("unknown region `survivng`"),
            "{err}"
        );
    }

    #[test]
    fn broker_sets_read_words_and_lists() {
        let parse = |s: &str| serde_saphyr::from_str::<BrokerSetSpec>(s);
        assert_eq!(parse("all").ok(), Some(BrokerSetSpec::All));
        assert_eq!(
            parse("lost").ok(),
            Some(BrokerSetSpec::Region(RegionRefSpec::Lost))
        );
        assert_eq!(
            parse("[1, 3, 5]").ok(),
            Some(BrokerSetSpec::Ids(vec![1, 3, 5]))
        );
        assert!(parse("[1, x]").is_err());
        assert!(parse("everyone").is_err());
    }
}
