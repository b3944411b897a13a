//! The platform side: regions (up, cut off, down), Helm releases, broker pods and their
//! network reachability, rolling redeploys and the web apps.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::{SimTime, rfc3339};

use super::core::World;
use super::elasticsearch::{Elasticsearch, EsStatus};

/// Helm value switching Operate on or off.
pub const VALUE_OPERATE: &str = "orchestration.profiles.operate";
/// Helm value switching Tasklist on or off.
pub const VALUE_TASKLIST: &str = "orchestration.profiles.tasklist";
/// Environment entry deciding whether the schema manager creates the Elasticsearch indices.
pub const ENV_CREATE_SCHEMA: &str = "CAMUNDA_DATABASE_SCHEMAMANAGER_CREATESCHEMA";
/// Index the web apps write user data into.
pub const WEBAPP_INDEX: &str = "tasklist-draft-task-variable-8.3.0_";

/// Errors of platform (control API) operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// The region index does not exist.
    #[error("region {0} does not exist")]
    NoSuchRegion(u8),
    /// The region is down, so Helm cannot reach its cluster.
    #[error("region {0} is down: its Kubernetes cluster cannot be reached")]
    RegionDown(u8),
    /// The region has no release installed.
    #[error("region {0} has no release installed")]
    NotInstalled(u8),
}

/// Network state of a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RegionStatus {
    /// Everything reachable.
    Up,
    /// Links to every other region severed; its own endpoints still answer.
    CutOff,
    /// Everything in it stopped; its endpoints do not answer.
    Down,
}

/// How a region is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LossMode {
    /// Links severed (NetworkPolicies); the region keeps running.
    CutOff,
    /// Everything stops.
    Down,
}

/// Life cycle of a broker pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProcState {
    /// No pod (no release ever installed, or the region was recreated).
    Absent,
    /// A pod that is not running (region down, release uninstalled).
    Stopped,
    /// Starting; up and in gossip at `ready_at`.
    Starting { ready_at: SimTime },
    /// Up.
    Running,
    /// Being restarted by a rolling redeploy; up again at `ready_at`.
    Restarting { ready_at: SimTime },
}

/// What a broker process read from its release when it (re)started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AppliedConfig {
    pub(crate) webapps: bool,
    pub(crate) create_schema: bool,
}

impl Default for AppliedConfig {
    fn default() -> Self {
        Self {
            webapps: true,
            create_schema: true,
        }
    }
}

/// A broker pod.
#[derive(Debug, Clone)]
pub(crate) struct BrokerProc {
    pub(crate) region: u8,
    pub(crate) state: ProcState,
    pub(crate) applied: AppliedConfig,
}

/// A Helm release of the Camunda chart in one region.
#[derive(Debug, Clone)]
pub(crate) struct Release {
    pub(crate) revision: u32,
    pub(crate) values: BTreeMap<String, Value>,
    pub(crate) env: BTreeMap<String, String>,
    /// Brokers still to restart in the current rolling redeploy, in order.
    pub(crate) rollout: VecDeque<u32>,
}

impl Release {
    pub(crate) fn initial() -> Self {
        Self {
            revision: 1,
            values: BTreeMap::new(),
            env: BTreeMap::new(),
            rollout: VecDeque::new(),
        }
    }

    fn flag(value: Option<&Value>) -> bool {
        match value {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => !s.eq_ignore_ascii_case("false"),
            _ => true,
        }
    }

    pub(crate) fn operate(&self) -> bool {
        Self::flag(self.values.get(VALUE_OPERATE))
    }

    pub(crate) fn tasklist(&self) -> bool {
        Self::flag(self.values.get(VALUE_TASKLIST))
    }

    pub(crate) fn applied(&self) -> AppliedConfig {
        AppliedConfig {
            webapps: self.operate() || self.tasklist(),
            create_schema: !self
                .env
                .get(ENV_CREATE_SCHEMA)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("false")),
        }
    }

    /// Spring profiles the release activates.
    pub(crate) fn active_profiles(&self) -> Vec<&'static str> {
        let mut p = vec!["broker"];
        if self.operate() {
            p.push("operate");
        }
        if self.tasklist() {
            p.push("tasklist");
        }
        p.extend(["identity", "consolidated-auth"]);
        p
    }
}

/// One region: network status, release, Elasticsearch, web-app write schedule.
#[derive(Debug, Clone)]
pub(crate) struct Region {
    pub(crate) status: RegionStatus,
    pub(crate) release: Option<Release>,
    pub(crate) es: Elasticsearch,
    pub(crate) webapp_next_write: Option<SimTime>,
    pub(crate) webapp_seq: u64,
}

/// A release as requested through the control API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReleaseRequest {
    /// Helm `--set` paths and their values.
    pub values: BTreeMap<String, Value>,
    /// Entries added to `orchestration.env`.
    pub env: BTreeMap<String, String>,
}

impl World {
    fn check_region(&self, r: u8) -> Result<(), PlatformError> {
        if usize::from(r) < self.regions.len() {
            Ok(())
        } else {
            Err(PlatformError::NoSuchRegion(r))
        }
    }

    pub(crate) fn region_status(&self, r: u8) -> RegionStatus {
        self.region(r).map_or(RegionStatus::Down, |reg| reg.status)
    }

    /// Whether regions `a` and `b` can talk (same region, or both up).
    pub(crate) fn links_up(&self, a: u8, b: u8) -> bool {
        a == b
            || (self.region_status(a) == RegionStatus::Up
                && self.region_status(b) == RegionStatus::Up)
    }

    pub(crate) fn broker_running(&self, b: u32) -> bool {
        self.brokers
            .get(&b)
            .is_some_and(|p| p.state == ProcState::Running)
    }

    pub(crate) fn broker_region(&self, b: u32) -> u8 {
        self.cfg.region_of(b)
    }

    /// Two brokers can talk iff both run and their regions are linked.
    pub(crate) fn brokers_talk(&self, a: u32, b: u32) -> bool {
        self.broker_running(a)
            && self.broker_running(b)
            && self.links_up(self.broker_region(a), self.broker_region(b))
    }

    /// The gateway of region `r` reaches broker `b`.
    pub(crate) fn gateway_reaches(&self, r: u8, b: u32) -> bool {
        self.broker_running(b) && self.links_up(r, self.broker_region(b))
    }

    /// Broker `b` reaches region `r`'s Elasticsearch.
    pub(crate) fn broker_reaches_es(&self, b: u32, r: u8) -> bool {
        self.broker_running(b)
            && self
                .region(r)
                .is_some_and(|reg| reg.es.status == EsStatus::Running)
            && self.links_up(self.broker_region(b), r)
    }

    /// Whether region `r` answers on its REST and management ports.
    #[must_use]
    pub fn region_serves_camunda(&self, r: u8) -> bool {
        self.region(r).is_some_and(|reg| {
            reg.status != RegionStatus::Down
                && reg.release.is_some()
                && self
                    .brokers
                    .values()
                    .any(|b| b.region == r && b.state == ProcState::Running)
        })
    }

    /// Whether region `r` answers on its Elasticsearch port.
    #[must_use]
    pub fn region_serves_elasticsearch(&self, r: u8) -> bool {
        self.region(r).is_some_and(|reg| {
            reg.status != RegionStatus::Down && reg.es.status == EsStatus::Running
        })
    }

    /// Whether broker `b`'s readiness probe passes: it runs and is a member of the cluster
    /// configuration (the procedure page, failback step 1: new brokers "will not reach the
    /// Ready state since they are not yet part of a Zeebe cluster").
    #[must_use]
    pub fn broker_ready(&self, b: u32) -> bool {
        self.broker_running(b) && self.cluster.members.contains_key(&b)
    }

    /// The broker whose embedded gateway serves region `r`: its lowest running broker.
    pub(crate) fn serving_broker(&self, r: u8) -> Option<u32> {
        self.brokers
            .iter()
            .find(|(_, b)| b.region == r && b.state == ProcState::Running)
            .map(|(id, _)| *id)
    }

    /// Loses region `r`.
    ///
    /// # Errors
    /// Unknown region.
    pub fn lose_region(&mut self, r: u8, mode: LossMode) -> Result<Value, PlatformError> {
        self.check_region(r)?;
        let ids = self.broker_ids_of_region(r);
        match mode {
            LossMode::CutOff => {
                if let Some(reg) = self.region_mut(r)
                    && reg.status == RegionStatus::Up
                {
                    reg.status = RegionStatus::CutOff;
                }
            }
            LossMode::Down => {
                for id in ids {
                    if let Some(b) = self.brokers.get_mut(&id)
                        && b.state != ProcState::Absent
                    {
                        b.state = ProcState::Stopped;
                    }
                }
                if let Some(reg) = self.region_mut(r) {
                    reg.status = RegionStatus::Down;
                    if reg.es.status != EsStatus::Stopped {
                        reg.es.status = EsStatus::Stopped;
                    }
                    reg.es.jobs.clear();
                    if let Some(rel) = reg.release.as_mut() {
                        rel.rollout.clear();
                    }
                }
            }
        }
        self.settle();
        Ok(self.region_state_json(r))
    }

    /// Heals region `r`: links restored; a down region's pods start again with their data.
    ///
    /// # Errors
    /// Unknown region.
    pub fn heal_region(&mut self, r: u8) -> Result<Value, PlatformError> {
        self.check_region(r)?;
        let was_down = self.region_status(r) == RegionStatus::Down;
        if let Some(reg) = self.region_mut(r) {
            reg.status = RegionStatus::Up;
        }
        if was_down && self.region(r).is_some_and(|reg| reg.release.is_some()) {
            self.start_release_pods(r);
        }
        self.settle();
        Ok(self.region_state_json(r))
    }

    /// Recreates region `r` empty: no release, no broker data, empty Elasticsearch without
    /// repositories; links restored.
    ///
    /// # Errors
    /// Unknown region.
    pub fn recreate_region(&mut self, r: u8) -> Result<Value, PlatformError> {
        self.check_region(r)?;
        for id in self.broker_ids_of_region(r) {
            if let Some(b) = self.brokers.get_mut(&id) {
                b.state = ProcState::Absent;
                b.applied = AppliedConfig::default();
            }
        }
        if let Some(reg) = self.region_mut(r) {
            reg.status = RegionStatus::Up;
            reg.release = None;
            reg.es = Elasticsearch::empty();
            reg.webapp_next_write = None;
        }
        self.settle();
        Ok(self.region_state_json(r))
    }

    /// Starts Elasticsearch and every non-running broker pod of region `r`.
    fn start_release_pods(&mut self, r: u8) {
        let now = self.now;
        if self
            .region(r)
            .is_some_and(|reg| reg.es.status == EsStatus::Stopped)
        {
            let es_ready = now + self.latency(self.cfg.latencies.elasticsearch_start);
            if let Some(reg) = self.region_mut(r) {
                reg.es.status = EsStatus::Starting { ready_at: es_ready };
            }
            self.busy.add(now, es_ready);
        }
        for id in self.broker_ids_of_region(r) {
            let startable = self
                .brokers
                .get(&id)
                .is_some_and(|b| matches!(b.state, ProcState::Absent | ProcState::Stopped));
            if !startable {
                continue;
            }
            let ready_at = now + self.latency(self.cfg.latencies.broker_start);
            if let Some(b) = self.brokers.get_mut(&id) {
                b.state = ProcState::Starting { ready_at };
            }
            self.busy.add(now, ready_at);
        }
    }

    /// `helm upgrade --install` of region `r`'s release with these overrides.
    ///
    /// # Errors
    /// Unknown region, or the region is down.
    pub fn put_release(&mut self, r: u8, req: ReleaseRequest) -> Result<Value, PlatformError> {
        self.check_region(r)?;
        if self.region_status(r) == RegionStatus::Down {
            return Err(PlatformError::RegionDown(r));
        }
        let installed = self.region(r).is_some_and(|reg| reg.release.is_some());
        if installed {
            let running_desc: Vec<u32> = {
                let mut ids: Vec<u32> = self
                    .broker_ids_of_region(r)
                    .into_iter()
                    .filter(|id| self.broker_running(*id))
                    .collect();
                ids.sort_by_key(|id| std::cmp::Reverse(self.cfg.ordinal_of(*id)));
                ids
            };
            if let Some(rel) = self.region_mut(r).and_then(|reg| reg.release.as_mut()) {
                rel.revision += 1;
                let changed = rel.values != req.values || rel.env != req.env;
                rel.values = req.values;
                rel.env = req.env;
                if changed {
                    rel.rollout = running_desc.into_iter().collect();
                }
            }
            // A pod that is not running yet (or was stopped) is brought up.
            self.start_release_pods(r);
        } else {
            if let Some(reg) = self.region_mut(r) {
                reg.release = Some(Release {
                    revision: 1,
                    values: req.values,
                    env: req.env,
                    rollout: VecDeque::new(),
                });
            }
            self.start_release_pods(r);
        }
        self.settle();
        self.release_state_json(r)
            .ok_or(PlatformError::NotInstalled(r))
    }

    /// `helm uninstall`: brokers and Elasticsearch stop; volumes stay.
    ///
    /// # Errors
    /// Unknown region, region down, or nothing installed.
    pub fn delete_release(&mut self, r: u8) -> Result<Value, PlatformError> {
        self.check_region(r)?;
        if self.region_status(r) == RegionStatus::Down {
            return Err(PlatformError::RegionDown(r));
        }
        if self.region(r).is_none_or(|reg| reg.release.is_none()) {
            return Err(PlatformError::NotInstalled(r));
        }
        for id in self.broker_ids_of_region(r) {
            if let Some(b) = self.brokers.get_mut(&id)
                && b.state != ProcState::Absent
            {
                b.state = ProcState::Stopped;
            }
        }
        if let Some(reg) = self.region_mut(r) {
            reg.release = None;
            reg.es.status = EsStatus::Stopped;
            reg.es.jobs.clear();
        }
        self.settle();
        Ok(self.region_state_json(r))
    }

    /// Rolling redeploys and web-app schedules.
    pub(crate) fn settle_platform(&mut self) {
        let now = self.now;
        for r in 0..self.cfg.regions {
            // Rolling redeploy: one broker at a time.
            let restarting = self
                .brokers
                .values()
                .any(|b| b.region == r && matches!(b.state, ProcState::Restarting { .. }));
            if !restarting {
                loop {
                    let next = self
                        .region_mut(r)
                        .and_then(|reg| reg.release.as_mut())
                        .and_then(|rel| rel.rollout.pop_front());
                    let Some(id) = next else { break };
                    if self.broker_running(id) {
                        let ready_at = now + self.latency(self.cfg.latencies.broker_restart);
                        if let Some(b) = self.brokers.get_mut(&id) {
                            b.state = ProcState::Restarting { ready_at };
                        }
                        self.busy.add(now, ready_at);
                        break;
                    }
                }
            }
            // Web apps write while on, their region's Elasticsearch runs and a broker
            // running them is up.
            let webapps_on = self.region_status(r) != RegionStatus::Down
                && self
                    .region(r)
                    .is_some_and(|reg| reg.es.status == EsStatus::Running && reg.release.is_some())
                && self
                    .brokers
                    .values()
                    .any(|b| b.region == r && b.state == ProcState::Running && b.applied.webapps);
            let scheduled = self
                .region(r)
                .is_some_and(|reg| reg.webapp_next_write.is_some());
            if !webapps_on {
                if let Some(reg) = self.region_mut(r) {
                    reg.webapp_next_write = None;
                }
            } else if !scheduled {
                let next = now
                    + self
                        .latency(self.cfg.latencies.webapp_write_interval)
                        .max(1);
                if let Some(reg) = self.region_mut(r) {
                    reg.webapp_next_write = Some(next);
                }
            }
        }
    }

    /// Completes broker and Elasticsearch starts, web-app writes.
    pub(crate) fn fire_platform(&mut self) {
        let now = self.now;
        let ids: Vec<u32> = self.brokers.keys().copied().collect();
        for id in ids {
            let ready = match self.brokers.get(&id).map(|b| b.state) {
                Some(ProcState::Starting { ready_at } | ProcState::Restarting { ready_at }) => {
                    ready_at <= now
                }
                _ => false,
            };
            if !ready {
                continue;
            }
            let r = self.broker_region(id);
            let applied = self
                .region(r)
                .and_then(|reg| reg.release.as_ref())
                .map(Release::applied)
                .unwrap_or_default();
            if let Some(b) = self.brokers.get_mut(&id) {
                b.state = ProcState::Running;
                b.applied = applied;
            }
            if applied.create_schema
                && let Some(reg) = self.region_mut(r)
                && reg.es.status == EsStatus::Running
            {
                reg.es.ensure_schema();
            }
        }
        for r in 0..self.cfg.regions {
            let write_due = self
                .region(r)
                .and_then(|reg| reg.webapp_next_write)
                .is_some_and(|due| due <= now);
            let interval = if write_due {
                self.latency(self.cfg.latencies.webapp_write_interval)
                    .max(1)
            } else {
                0
            };
            let Some(reg) = self.region_mut(r) else {
                continue;
            };
            if let EsStatus::Starting { ready_at } = reg.es.status
                && ready_at <= now
            {
                reg.es.status = EsStatus::Running;
            }
            if let Some(due) = reg.webapp_next_write
                && due <= now
            {
                reg.webapp_seq += 1;
                let id = format!("draft-region{r}-{}", reg.webapp_seq);
                let doc = json!({"id": id, "region": r, "writtenAt": rfc3339(due)});
                reg.es.write_doc(WEBAPP_INDEX, &id, doc);
                reg.webapp_next_write = Some(due + interval);
            }
        }
    }

    fn broker_status_str(state: ProcState) -> &'static str {
        match state {
            ProcState::Absent | ProcState::Stopped => "stopped",
            ProcState::Starting { .. } => "starting",
            ProcState::Running => "running",
            ProcState::Restarting { .. } => "restarting",
        }
    }

    /// `ReleaseState` of the control API, `None` when no release is installed.
    pub(crate) fn release_state_json(&self, r: u8) -> Option<Value> {
        let reg = self.region(r)?;
        let rel = reg.release.as_ref()?;
        let brokers: Vec<Value> = self
            .brokers
            .iter()
            .filter(|(_, b)| b.region == r)
            .map(|(id, b)| {
                json!({"nodeId": id, "pod": self.cfg.pod_of(*id),
                       "status": Self::broker_status_str(b.state),
                       "ready": self.broker_ready(*id)})
            })
            .collect();
        let rollout_complete = rel.rollout.is_empty()
            && reg.es.status == EsStatus::Running
            && self
                .brokers
                .values()
                .filter(|b| b.region == r)
                .all(|b| b.state == ProcState::Running);
        Some(json!({
            "region": r,
            "revision": rel.revision,
            "values": rel.values,
            "env": rel.env,
            "activeProfiles": rel.active_profiles(),
            "brokers": brokers,
            "rolloutComplete": rollout_complete,
        }))
    }

    /// `ReleaseState` of region `r`'s release, `None` when not installed.
    #[must_use]
    pub fn release_state(&self, r: u8) -> Option<Value> {
        self.release_state_json(r)
    }

    /// `RegionState` of the control API.
    pub(crate) fn region_state_json(&self, r: u8) -> Value {
        let Some(reg) = self.region(r) else {
            return Value::Null;
        };
        let es_status = match reg.es.status {
            EsStatus::Stopped => "stopped",
            EsStatus::Starting { .. } => "starting",
            EsStatus::Running => "running",
        };
        let indices: Vec<Value> = reg
            .es
            .indices
            .iter()
            .map(|(name, idx)| {
                json!({"index": name, "docsCount": idx.docs.len(),
                       "status": if idx.open { "open" } else { "close" }})
            })
            .collect();
        json!({
            "region": r,
            "namespace": self.cfg.namespaces.get(usize::from(r)),
            "status": reg.status,
            "release": self.release_state_json(r),
            "elasticsearch": {
                "status": es_status,
                "indices": indices,
                "repositories": reg.es.repositories.keys().collect::<Vec<_>>(),
            },
        })
    }

    /// `State` of the control API: the whole platform.
    #[must_use]
    pub fn state_json(&self) -> Value {
        let regions: Vec<Value> = (0..self.cfg.regions)
            .map(|r| self.region_state_json(r))
            .collect();
        let brokers: Vec<Value> = self
            .brokers
            .iter()
            .map(|(id, b)| {
                json!({
                    "nodeId": id,
                    "region": b.region,
                    "pod": self.cfg.pod_of(*id),
                    "status": if b.state == ProcState::Absent { "absent" }
                              else { Self::broker_status_str(b.state) },
                    "member": self.cluster.members.contains_key(id),
                })
            })
            .collect();
        json!({
            "simMillis": self.now,
            "simTime": rfc3339(self.now),
            "seed": self.cfg.seed,
            "jitter": self.cfg.latencies.jitter,
            "regions": regions,
            "brokers": brokers,
            "configurationVersion": self.cluster.version,
            "partitions": self.partitions_state_json(),
            "stats": self.stats(),
        })
    }
}
