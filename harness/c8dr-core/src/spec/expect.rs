//! The expectation vocabulary: typed checks of topology, configuration changes, exporters,
//! snapshots, web apps and data, polled until they hold.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{BrokerSetSpec, ExporterRefSpec, RegionRefSpec};

/// One expectation. Written as a one-key map: `topology: {...}`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum ExpectSpec {
    /// `GET /v2/topology` through a region's gateway.
    Topology {
        /// Gateway region; default `surviving`.
        #[serde(default)]
        #[schemars(with = "Option<RegionRefSpec>")]
        via: Option<Spanned<RegionRefSpec>>,
        /// Exactly these brokers are listed.
        #[serde(default)]
        #[schemars(with = "Option<BrokerSetSpec>")]
        brokers: Option<Spanned<BrokerSetSpec>>,
        /// These brokers are listed without partitions (running, not yet members).
        #[serde(default)]
        #[schemars(with = "Option<BrokerSetSpec>")]
        idle_brokers: Option<Spanned<BrokerSetSpec>>,
        /// `clusterSize`.
        #[serde(default)]
        cluster_size: Option<u32>,
        /// `partitionsCount`.
        #[serde(default)]
        partitions_count: Option<u32>,
        /// `replicationFactor`.
        #[serde(default)]
        replication_factor: Option<u32>,
        /// Partition leadership: `all`, `none`, or a region every leader must be in.
        #[serde(default)]
        #[schemars(with = "Option<LeadersSpec>")]
        leaders: Option<Spanned<LeadersSpec>>,
        /// Every partition has this many replicas in each region.
        #[serde(default)]
        replicas_per_region: Option<u32>,
    },
    /// The configuration change the step's action started has this status, and none is pending.
    Change {
        /// Gateway region; default `surviving`.
        #[serde(default)]
        #[schemars(with = "Option<RegionRefSpec>")]
        via: Option<Spanned<RegionRefSpec>>,
        /// Required status; default `COMPLETED`.
        #[serde(default)]
        #[schemars(with = "Option<String>")]
        status: Option<Spanned<String>>,
    },
    /// `GET /actuator/cluster`: members and placement.
    Cluster {
        /// Gateway region; default `surviving`.
        #[serde(default)]
        #[schemars(with = "Option<RegionRefSpec>")]
        via: Option<Spanned<RegionRefSpec>>,
        /// Exactly these members.
        #[serde(default)]
        #[schemars(with = "Option<BrokerSetSpec>")]
        members: Option<Spanned<BrokerSetSpec>>,
        /// Remember the placement (partitions and priorities per broker) under this name.
        #[serde(default)]
        #[schemars(with = "Option<String>")]
        capture_placement: Option<Spanned<String>>,
        /// The placement equals the one captured under this name.
        #[serde(default)]
        #[schemars(with = "Option<String>")]
        placement_equals: Option<Spanned<String>>,
        /// Compare the placement of these brokers only; default all members.
        #[serde(default)]
        #[schemars(with = "Option<BrokerSetSpec>")]
        placement_of: Option<Spanned<BrokerSetSpec>>,
    },
    /// `GET /actuator/exporters`: aggregated status per exporter.
    Exporters {
        /// Gateway region; default `surviving`.
        #[serde(default)]
        #[schemars(with = "Option<RegionRefSpec>")]
        via: Option<Spanned<RegionRefSpec>>,
        /// Exporter → status (`ENABLED`, `DISABLED`, ...).
        #[schemars(with = "BTreeMap<String, String>")]
        status: BTreeMap<ExporterRefSpec, Spanned<String>>,
    },
    /// `GET /_snapshot/{repository}/_all` lists the snapshot with this state and no failed shard.
    Snapshot {
        /// Whose Elasticsearch.
        #[schemars(with = "RegionRefSpec")]
        region: Spanned<RegionRefSpec>,
        /// Snapshot name.
        #[schemars(with = "String")]
        snapshot: Spanned<String>,
        /// Required state; default `SUCCESS`.
        #[serde(default)]
        #[schemars(with = "Option<String>")]
        state: Option<Spanned<String>>,
    },
    /// The snapshot is restored: `_status` is `SUCCESS` with `done == total`, and every index of
    /// the snapshot exists in the region's Elasticsearch.
    Restored {
        /// Whose Elasticsearch.
        #[schemars(with = "RegionRefSpec")]
        region: Spanned<RegionRefSpec>,
        /// Snapshot name.
        #[schemars(with = "String")]
        snapshot: Spanned<String>,
        /// Every index of the snapshot holds as many documents here as in this region now: the
        /// restored copy is complete only if nothing was written to the source after the
        /// snapshot (exporting paused, web apps off).
        #[serde(default)]
        #[schemars(with = "Option<RegionRefSpec>")]
        documents_match: Option<Spanned<RegionRefSpec>>,
    },
    /// The region's web apps (Operate, Tasklist) are on or off, and the rollout is complete.
    WebApps {
        /// Which region.
        #[schemars(with = "RegionRefSpec")]
        region: Spanned<RegionRefSpec>,
        /// Operate on?
        operate: bool,
        /// Tasklist on?
        tasklist: bool,
    },
    /// The data-continuity oracle: every instance the cluster acknowledged during the run (the
    /// ledger) is in every region's Elasticsearch. Missing keys are listed per region in the
    /// report; their count is the run's RPO.
    DataContinuity {},
    /// One region cannot reach the other: the fault really took effect.
    Isolated {
        /// The region looking.
        #[schemars(with = "RegionRefSpec")]
        from: Spanned<RegionRefSpec>,
        /// The region it must not reach.
        #[schemars(with = "RegionRefSpec")]
        to: Spanned<RegionRefSpec>,
    },
    /// Every instance a `completeInstances` step completed shows as `COMPLETED` in a region's
    /// Elasticsearch.
    InstancesCompleted {
        /// Whose Elasticsearch.
        #[schemars(with = "RegionRefSpec")]
        region: Spanned<RegionRefSpec>,
    },
    /// The process instances acknowledged so far (the run's ledger) are in a region's Elasticsearch.
    Instances {
        /// Whose Elasticsearch.
        #[schemars(with = "RegionRefSpec")]
        region: Spanned<RegionRefSpec>,
        /// `all` acknowledged keys are visible, or the data is `stale` (a key acknowledged at
        /// least `camunda.exportLag` ago is missing).
        visible: InstancesVisibility,
    },
}

/// `leaders:` of a topology expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LeadersSpec {
    /// Every partition has exactly one healthy leader.
    All,
    /// No partition has a healthy leader.
    None,
    /// Every partition has exactly one healthy leader, in this region.
    In(RegionRefSpec),
}

impl<'de> Deserialize<'de> for LeadersSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LeadersVisitor;
        impl Visitor<'_> for LeadersVisitor {
            type Value = LeadersSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`all`, `none`, or the region every leader must be in (`lost`, `surviving`, an index)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LeadersSpec, E> {
                match v {
                    "all" => Ok(LeadersSpec::All),
                    "none" => Ok(LeadersSpec::None),
                    "lost" | "recreated" => Ok(LeadersSpec::In(RegionRefSpec::Lost)),
                    "surviving" => Ok(LeadersSpec::In(RegionRefSpec::Surviving)),
                    other => other
                        .parse::<u8>()
                        .map(|i| LeadersSpec::In(RegionRefSpec::Index(i)))
                        .map_err(|_| {
                            E::custom(format!(
                                "unknown leaders rule `{other}`, expected `all`, `none`, `lost`, `surviving` or a region index"
                            ))
                        }),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LeadersSpec, E> {
                u8::try_from(v)
                    .map(|i| LeadersSpec::In(RegionRefSpec::Index(i)))
                    .map_err(|_| E::custom(format!("region index {v} is out of range")))
            }
        }
        deserializer.deserialize_any(LeadersVisitor)
    }
}

impl schemars::JsonSchema for LeadersSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Leaders".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`all` (one healthy leader per partition), `none`, or the region every leader must be in.",
            "oneOf": [
                {"type": "string", "enum": ["all", "none", "lost", "recreated", "surviving"]},
                {"type": "integer", "minimum": 0, "maximum": 255}
            ]
        })
    }
}

/// `visible:` of an instances expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum InstancesVisibility {
    /// Every acknowledged key is visible.
    All,
    /// A key acknowledged at least `camunda.exportLag` ago is not visible: exporting is stalled
    /// or paused (younger keys may be missing on a healthy cluster too).
    Stale,
}
