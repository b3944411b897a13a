//! Partition logs, exporters and the exporting pause (contract §1.8 and §4).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::cluster::ExporterState;
use super::core::World;
use super::workload::LogRecord;

/// Exporter phase of a partition (`GET /actuator/partitions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExporterPhase {
    Exporting,
    Paused,
    SoftPaused,
}

impl ExporterPhase {
    fn as_str(self) -> &'static str {
        match self {
            Self::Exporting => "EXPORTING",
            Self::Paused => "PAUSED",
            Self::SoftPaused => "SOFT_PAUSED",
        }
    }
}

/// Runtime data of one partition: its log and the exporters' positions.
#[derive(Debug, Clone)]
pub(crate) struct PartitionData {
    /// Position `i + 1` is `log[i]`.
    pub(crate) log: Vec<LogRecord>,
    /// Acknowledged (reported) exported position per exporter.
    pub(crate) acked: BTreeMap<String, u64>,
    /// Position up to which documents were written per exporter (ahead of `acked` only
    /// while soft-paused).
    pub(crate) written: BTreeMap<String, u64>,
    pub(crate) phase: ExporterPhase,
    /// Key counter of the partition (keys are `(partition << 51) + counter`).
    pub(crate) key_counter: u64,
    /// Exporters opened by the exporter director of `opened_on` (the current leader). An
    /// enabled exporter that is not open does not export, and neither does any other exporter
    /// of the partition (`ExporterDirector.startActiveExportingMode` waits for every
    /// container's `open` before reading the log).
    pub(crate) opened: BTreeSet<String>,
    /// The leader whose exporter director opened `opened`; a new leader opens them again.
    pub(crate) opened_on: Option<u32>,
    /// The engine's runtime state of the partition: process instances and user tasks.
    pub(crate) engine: super::usertasks::EngineState,
}

impl PartitionData {
    pub(crate) fn new<'a>(exporters: impl Iterator<Item = &'a String>) -> Self {
        let positions: BTreeMap<String, u64> = exporters.map(|e| (e.clone(), 0)).collect();
        Self {
            log: Vec::new(),
            acked: positions.clone(),
            written: positions,
            phase: ExporterPhase::Exporting,
            key_counter: 0,
            opened: BTreeSet::new(),
            opened_on: None,
            engine: super::usertasks::EngineState::default(),
        }
    }

    pub(crate) fn log_end(&self) -> u64 {
        self.log.len() as u64
    }
}

/// Which exporting operation was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportingOp {
    /// `POST /actuator/exporting/pause`.
    Pause,
    /// `POST /actuator/exporting/pause?soft=true`.
    SoftPause,
    /// `POST /actuator/exporting/resume`.
    Resume,
}

/// The region whose Elasticsearch an exporter id targets (`camundaregion{r}`, or the legacy
/// `elasticsearchregion{r}`).
pub(crate) fn exporter_target(exporter: &str) -> Option<u8> {
    exporter
        .strip_prefix("camundaregion")
        .or_else(|| exporter.strip_prefix("elasticsearchregion"))
        .and_then(|r| r.parse().ok())
}

impl World {
    /// Exporters enabled on partition `p` according to the leader's configuration.
    fn enabled_exporters(&self, p: u32, leader: u32) -> Vec<String> {
        self.cluster
            .members
            .get(&leader)
            .and_then(|m| m.partitions.get(&p))
            .map(|pc| {
                pc.exporters
                    .iter()
                    .filter(|(_, e)| e.state == ExporterState::Enabled)
                    .map(|(id, _)| id.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether exporter `exporter` can open on broker `b`: its target Elasticsearch is
    /// reachable from `b` and holds the 8.8 index set (`CamundaExporter.open` →
    /// `SchemaManager.isSchemaReadyForUse`). An exporter without a modelled target opens.
    pub(crate) fn exporter_can_open(&self, b: u32, exporter: &str) -> bool {
        exporter_target(exporter)
            .filter(|r| usize::from(*r) < self.regions.len())
            .is_none_or(|r| {
                self.broker_reaches_es(b, r)
                    && self.region(r).is_some_and(|reg| reg.es.schema_ready())
            })
    }

    /// Opens the enabled exporters of partition `p` on its leader (contract §4; 8.8's Camunda
    /// exporter creates nothing when it opens, it checks `isSchemaReadyForUse` on its target
    /// and throws "Schema is not ready for use" otherwise, and the director retries the open):
    /// an exporter opens once its target Elasticsearch is reachable from the leader and holds
    /// the 8.8 index set. A new leader (leader change, restart) opens every exporter again;
    /// a disabled exporter is closed.
    fn open_exporters(&mut self, p: u32, leader: Option<u32>) {
        let Some(leader) = leader else {
            if let Some(data) = self.partitions.get_mut(&p) {
                data.opened.clear();
                data.opened_on = None;
            }
            return;
        };
        let enabled = self.enabled_exporters(p, leader);
        let already = self
            .partitions
            .get(&p)
            .filter(|d| d.opened_on == Some(leader))
            .map(|d| &d.opened);
        let openable: BTreeSet<String> = enabled
            .iter()
            .filter(|e| already.is_none_or(|open| !open.contains(*e)))
            .filter(|e| self.exporter_can_open(leader, e))
            .cloned()
            .collect();
        if let Some(data) = self.partitions.get_mut(&p) {
            if data.opened_on != Some(leader) {
                data.opened.clear();
                data.opened_on = Some(leader);
            }
            data.opened.retain(|e| enabled.contains(e));
            data.opened.extend(openable);
        }
    }

    /// Exports every partition as far as possible: on the leader, unless hard-paused, and
    /// only when every enabled exporter of the partition is open and reaches its target.
    pub(crate) fn export(&mut self) {
        let partition_ids: Vec<u32> = self.partitions.keys().copied().collect();
        for p in partition_ids {
            let leader = self.leader(p);
            self.open_exporters(p, leader);
            let Some(leader) = leader else {
                continue;
            };
            let Some(data) = self.partitions.get(&p) else {
                continue;
            };
            if data.phase == ExporterPhase::Paused {
                continue;
            }
            let enabled = self.enabled_exporters(p, leader);
            if enabled.iter().any(|e| !data.opened.contains(e)) {
                continue;
            }
            let targets: Vec<(String, u8)> = enabled
                .iter()
                .filter_map(|e| exporter_target(e).map(|r| (e.clone(), r)))
                .filter(|(_, r)| usize::from(*r) < self.regions.len())
                .collect();
            let blocked = targets.iter().any(|(e, r)| {
                !self.broker_reaches_es(leader, *r)
                    || !self.region(*r).is_some_and(|reg| {
                        Self::indices_for(data, e)
                            .iter()
                            .all(|index| reg.es.writable(index))
                    })
            });
            if blocked {
                continue;
            }
            let end = data.log_end();
            let soft = data.phase == ExporterPhase::SoftPaused;
            let mut writes: Vec<(u8, String, String, Value)> = Vec::new();
            for (e, r) in &targets {
                let from = data.written.get(e).copied().unwrap_or(0);
                for pos in from..end {
                    if let Some(rec) = data.log.get(usize::try_from(pos).unwrap_or(usize::MAX)) {
                        let (index, id, doc) = rec.document(p);
                        writes.push((*r, index, id, doc));
                    }
                }
            }
            for (r, index, id, doc) in writes {
                if let Some(reg) = self.region_mut(r) {
                    reg.es.write_doc(&index, &id, doc);
                }
            }
            if let Some(data) = self.partitions.get_mut(&p) {
                for (e, _) in &targets {
                    data.written.insert(e.clone(), end);
                    if !soft {
                        data.acked.insert(e.clone(), end);
                    }
                }
            }
        }
    }

    /// Indices exporter `e` would write next on this partition.
    fn indices_for(data: &PartitionData, e: &str) -> Vec<&'static str> {
        let from = data.written.get(e).copied().unwrap_or(0);
        let mut out: Vec<&'static str> = data
            .log
            .iter()
            .skip(usize::try_from(from).unwrap_or(usize::MAX))
            .map(LogRecord::index)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Sets an exporter's position on partition `p` (when it is enabled): copied from
    /// `initialize_from`, or the current log end.
    pub(crate) fn init_exporter_position(&mut self, p: u32, exporter: &str, from: Option<&str>) {
        if let Some(data) = self.partitions.get_mut(&p) {
            let (acked, written) = match from {
                Some(other) => (
                    data.acked.get(other).copied().unwrap_or(0),
                    data.written.get(other).copied().unwrap_or(0),
                ),
                None => (data.log_end(), data.log_end()),
            };
            data.acked.insert(exporter.to_owned(), acked);
            data.written.insert(exporter.to_owned(), written);
        }
    }

    /// The gateway's view used by the exporting API: leader and follower count per partition
    /// as seen from region `r`.
    fn validate_exporting_topology(&self, r: u8) -> Result<(), String> {
        let rf = self.cluster.min_replication_factor();
        let expected = self.cluster.partition_count();
        let topology = self.topology_debug(r);
        let partitions = self.cluster.partition_ids();
        let known: Vec<u32> = partitions
            .iter()
            .copied()
            .filter(|p| self.visible_replicas(r, *p).next().is_some())
            .collect();
        if known.len() != usize::try_from(expected).unwrap_or(usize::MAX) {
            return Err(format!(
                "Found {} partitions but expected {expected}, current topology: {topology}",
                known.len()
            ));
        }
        for p in known {
            let leader = self.leader(p).filter(|l| self.gossip_visible(r, *l));
            let Some(leader) = leader else {
                return Err(format!(
                    "Leader -1 of partition {p} is not known, current topology: {topology}"
                ));
            };
            let followers = self.visible_replicas(r, p).filter(|b| *b != leader).count();
            let members = followers + 1;
            if members != usize::try_from(rf).unwrap_or(usize::MAX) {
                return Err(format!(
                    "Expected {rf} members of partition {p} but found {members}, current topology: {topology}"
                ));
            }
        }
        Ok(())
    }

    /// `POST /actuator/exporting/{pause,resume}` served by region `r`.
    ///
    /// # Errors
    /// The gateway's topology is incomplete (nothing changed).
    pub fn exporting_control(&mut self, r: u8, op: ExportingOp) -> Result<(), String> {
        self.validate_exporting_topology(r)?;
        for data in self.partitions.values_mut() {
            match op {
                ExportingOp::Pause => data.phase = ExporterPhase::Paused,
                ExportingOp::SoftPause => data.phase = ExporterPhase::SoftPaused,
                ExportingOp::Resume => {
                    data.phase = ExporterPhase::Exporting;
                    for (e, w) in &data.written {
                        let acked = data.acked.entry(e.clone()).or_insert(0);
                        *acked = (*acked).max(*w);
                    }
                }
            }
        }
        self.settle();
        Ok(())
    }

    /// Per partition: leader, log end, exporting phase and, per exporter, the acknowledged
    /// exported position and the position documents were written up to (control API
    /// `State.partitions`).
    pub(crate) fn partitions_state_json(&self) -> Value {
        let rows: Vec<Value> = self
            .partitions
            .iter()
            .map(|(p, data)| {
                let exporters: Map<String, Value> = data
                    .acked
                    .iter()
                    .map(|(e, acked)| {
                        let written = data.written.get(e).copied().unwrap_or(0);
                        (
                            e.clone(),
                            json!({"exportedPosition": acked, "writtenPosition": written}),
                        )
                    })
                    .collect();
                json!({
                    "partitionId": p,
                    "leader": self.leader(*p),
                    "logEnd": data.log_end(),
                    "exporterPhase": data.phase.as_str(),
                    "exporters": exporters,
                })
            })
            .collect();
        Value::Array(rows)
    }

    /// `GET /actuator/partitions` of the broker serving region `r`.
    #[must_use]
    pub fn partitions_status(&self, r: u8) -> Value {
        let Some(broker) = self.serving_broker(r) else {
            return json!({});
        };
        let mut out = Map::new();
        let Some(member) = self.cluster.members.get(&broker) else {
            return Value::Object(out);
        };
        for p in member.partitions.keys() {
            let Some(data) = self.partitions.get(p) else {
                continue;
            };
            let role = match self.leader(*p) {
                Some(l) if l == broker => "LEADER",
                Some(_) => "FOLLOWER",
                None => "CANDIDATE",
            };
            let enabled = self.enabled_exporters(*p, broker);
            let exported = enabled
                .iter()
                .filter_map(|e| data.acked.get(e).copied())
                .min()
                .unwrap_or_else(|| data.log_end());
            out.insert(
                p.to_string(),
                json!({
                    "role": role,
                    "processedPosition": data.log_end(),
                    "snapshotId": format!("{}-1-{}-{}", data.log_end(), data.log_end(), exported),
                    "processedPositionInSnapshot": data.log_end(),
                    "streamProcessorPhase": "PROCESSING",
                    "exporterPhase": data.phase.as_str(),
                    "exportedPosition": exported,
                }),
            );
        }
        Value::Object(out)
    }
}
