//! Deployments and process instances (contract §2.3): records appended to partition logs,
//! and the REST reads served from the serving region's Elasticsearch.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::clock::{SimTime, rfc3339};

use super::core::World;
use super::elasticsearch::EsStatus;

/// Index exported process instances land in.
pub const LIST_VIEW_INDEX: &str = "operate-list-view-8.3.0_";
/// Index exported process definitions land in.
pub const PROCESS_INDEX: &str = "operate-process-8.3.0_";

pub(crate) const TENANT: &str = "<default>";

/// Default request timeout of the gateway's broker client
/// (`zeebe/gateway/.../ConfigurationDefaults.DEFAULT_REQUEST_TIMEOUT`, 15 s).
pub const GATEWAY_REQUEST_TIMEOUT_MS: u64 = 15_000;

/// The longest `requestTimeout` the twin honours (one hour of cluster time).
const MAX_REQUEST_TIMEOUT_MS: u64 = 3_600_000;

/// A REST API error, rendered as RFC 7807 `application/problem+json`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{title}: {detail}")]
pub struct RestError {
    /// HTTP status.
    pub status: u16,
    /// Problem title.
    pub title: String,
    /// Problem detail.
    pub detail: String,
    /// When the gateway answers, if not at once (a request that times out towards the broker
    /// is answered when its timeout has passed in cluster time).
    pub answer_at: Option<SimTime>,
}

impl RestError {
    pub(crate) fn new(status: u16, title: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            title: title.to_owned(),
            detail: detail.into(),
            answer_at: None,
        }
    }

    /// The broker client found no address for the target partition's leader, or the
    /// connection to it was refused: `ConnectException` → `UNAVAILABLE` → 503
    /// (`service/.../exception/ErrorMapper.java`, `gateway-rest/.../RestErrorMapper.mapStatus`).
    fn connection_error() -> Self {
        Self::new(
            503,
            "UNAVAILABLE",
            "Expected to handle request, but there was a connection error with one of the brokers",
        )
    }

    /// The request to the partition leader was lost and timed out: `TimeoutException` →
    /// `DEADLINE_EXCEEDED` → 504, answered at `at`.
    fn deadline_exceeded(at: SimTime) -> Self {
        Self {
            answer_at: Some(at),
            ..Self::new(
                504,
                "DEADLINE_EXCEEDED",
                "Expected to handle request, but request timed out between gateway and broker",
            )
        }
    }

    /// The problem document for a request to `instance`.
    #[must_use]
    pub fn body(&self, instance: &str) -> Value {
        json!({"type": "about:blank", "title": self.title, "status": self.status,
               "detail": self.detail, "instance": instance})
    }

    fn invalid(detail: impl Into<String>) -> Self {
        Self::new(400, "INVALID_ARGUMENT", detail)
    }
}

/// The process a creation names, as the gateway passes it on to the engine.
enum WantedDefinition<'a> {
    /// By BPMN process id; a negative version means the latest.
    Id { id: &'a str, version: i64 },
    /// By process definition key.
    Key(u64),
}

/// A record on a partition's log.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LogRecord {
    Process {
        key: u64,
        bpmn_process_id: String,
        version: u32,
        resource_name: String,
    },
    /// A process instance: created (`end` none, state `ACTIVE`) or completed.
    ProcessInstance {
        key: u64,
        process_definition_key: u64,
        bpmn_process_id: String,
        version: u32,
        start: SimTime,
        end: Option<SimTime>,
    },
    /// A Camunda user task: created, or completed once `completed_at` is set.
    UserTask(Box<super::usertasks::UserTaskRecord>),
}

impl LogRecord {
    pub(crate) fn index(&self) -> &'static str {
        match self {
            Self::Process { .. } => PROCESS_INDEX,
            Self::ProcessInstance { .. } => LIST_VIEW_INDEX,
            Self::UserTask(_) => super::usertasks::USER_TASK_INDEX,
        }
    }

    /// The document the exporter writes: (index, id, source).
    pub(crate) fn document(&self, partition: u32) -> (String, String, Value) {
        match self {
            Self::Process {
                key,
                bpmn_process_id,
                version,
                resource_name,
            } => (
                PROCESS_INDEX.to_owned(),
                key.to_string(),
                json!({"key": key, "bpmnProcessId": bpmn_process_id, "version": version,
                       "resourceName": resource_name, "partitionId": partition,
                       "tenantId": TENANT}),
            ),
            Self::ProcessInstance {
                key,
                process_definition_key,
                bpmn_process_id,
                version,
                start,
                end,
            } => {
                let mut doc = json!({"key": key, "processInstanceKey": key,
                       "bpmnProcessId": bpmn_process_id,
                       "processDefinitionKey": process_definition_key, "processVersion": version,
                       "partitionId": partition,
                       "state": if end.is_some() { "COMPLETED" } else { "ACTIVE" },
                       "startDate": rfc3339(*start), "tenantId": TENANT});
                if let (Some(end), Some(obj)) = (end, doc.as_object_mut()) {
                    obj.insert("endDate".to_owned(), json!(rfc3339(*end)));
                }
                (LIST_VIEW_INDEX.to_owned(), key.to_string(), doc)
            }
            Self::UserTask(task) => task.document(partition),
        }
    }
}

/// A deployed process definition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProcessDefinition {
    pub(crate) bpmn_process_id: String,
    pub(crate) version: u32,
    pub(crate) resource_name: String,
    pub(crate) resource: Vec<u8>,
    pub(crate) deployed_at: u64,
    /// The process's Camunda user task, where instances wait to be completed.
    pub(crate) user_task: Option<super::usertasks::UserTaskDef>,
}

/// Deployed definitions and the instance round robin.
#[derive(Debug, Clone, Default)]
pub(crate) struct Workload {
    pub(crate) definitions: BTreeMap<u64, ProcessDefinition>,
    pub(crate) round_robin: u64,
}

impl Workload {
    fn latest(&self, bpmn_process_id: &str) -> Option<(u64, &ProcessDefinition)> {
        self.definitions
            .iter()
            .filter(|(_, d)| d.bpmn_process_id == bpmn_process_id)
            .max_by_key(|(_, d)| d.version)
            .map(|(k, d)| (*k, d))
    }
}

/// Extracts the process ids from BPMN XML (`<bpmn:process id="...">` or `<process id=...>`).
#[must_use]
pub fn process_ids(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(pos) = rest.find('<') {
        rest = &rest[pos + 1..];
        let tag_end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..tag_end];
        let name_end = tag
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(tag.len());
        let name = &tag[..name_end];
        let local = name.rsplit(':').next().unwrap_or(name);
        if local == "process"
            && let Some(id) = attribute(&tag[name_end..], "id")
        {
            out.push(id);
        }
        rest = &rest[tag_end..];
    }
    out
}

pub(crate) fn attribute(attrs: &str, wanted: &str) -> Option<String> {
    let mut rest = attrs;
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq].trim();
        let name = name.rsplit(char::is_whitespace).next().unwrap_or(name);
        let after = rest[eq + 1..].trim_start();
        let quote = after.chars().next()?;
        if quote != '"' && quote != '\'' {
            return None;
        }
        let value_end = after[1..].find(quote)?;
        let value = &after[1..=value_end];
        if name == wanted {
            return Some(value.to_owned());
        }
        rest = &after[value_end + 2..];
    }
    None
}

/// Key of the `counter`-th entity of a partition.
fn key(partition: u32, counter: u64) -> u64 {
    (u64::from(partition) << 51) + counter
}

pub(crate) fn parse_key(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64(),
        Value::Object(o) => o.get("$eq").and_then(parse_key),
        _ => None,
    }
}

impl World {
    /// The leader of `partition` as region `r`'s gateway knows it: elected, and a gossip
    /// member of the gateway.
    fn known_leader(&self, r: u8, partition: u32) -> Option<u32> {
        self.leader(partition)
            .filter(|l| self.gossip_visible(r, *l))
    }

    /// The partition a request without a fixed partition goes to
    /// (`broker-client/.../RoundRobinDispatchStrategy`): round robin over the partitions,
    /// skipping those without a known leader (each one skipped still advances the counter);
    /// partition 1 (`Protocol.DEPLOYMENT_PARTITION`) when no partition has a leader
    /// (`BrokerRequestManager.determineBrokerNodeIdProvider`).
    fn dispatch_partition(&mut self, r: u8) -> u32 {
        let ids = self.cluster.partition_ids();
        let count = ids.len() as u64;
        for _ in 0..count {
            let offset = self.workload.round_robin;
            self.workload.round_robin += 1;
            let index = usize::try_from(offset % count).unwrap_or(0);
            if let Some(p) = ids.get(index).copied()
                && self.known_leader(r, p).is_some()
            {
                return p;
            }
        }
        1
    }

    /// Sends a command from region `r`'s gateway to `partition`'s leader, without retries
    /// (`ApiServices.sendBrokerRequest` → `BrokerClient.sendRequest`; the transport's
    /// `sendRequest` does not retry): no known leader or a refused connection → 503 at once;
    /// a leader behind a severed link → 504 once `timeout_ms` has passed.
    pub(crate) fn route_command(
        &self,
        r: u8,
        partition: u32,
        timeout_ms: u64,
    ) -> Result<u32, RestError> {
        let Some(leader) = self.known_leader(r, partition) else {
            return Err(RestError::connection_error());
        };
        if self.gateway_reaches(r, leader) {
            Ok(leader)
        } else if self.broker_running(leader) {
            Err(RestError::deadline_exceeded(
                self.now.saturating_add(timeout_ms),
            ))
        } else {
            Err(RestError::connection_error())
        }
    }

    pub(crate) fn next_key(&mut self, partition: u32) -> u64 {
        let data = self
            .partitions
            .entry(partition)
            .or_insert_with(|| super::exporting::PartitionData::new(std::iter::empty()));
        data.key_counter += 1;
        key(partition, data.key_counter)
    }

    /// `POST /v2/deployments` with `(file name, content)` resources.
    ///
    /// The gateway checks the request (no resources → 400), then sends the command to the
    /// leader of the deployment partition: 503 without a known leader of partition 1 (or a
    /// refused connection), 504 when that leader cannot be reached. Only the engine reads the
    /// resources, so a resource without a process is rejected (400) once the command arrived.
    ///
    /// # Errors
    /// As above.
    pub fn deploy(&mut self, r: u8, resources: &[(String, Vec<u8>)]) -> Result<Value, RestError> {
        if resources.is_empty() {
            return Err(RestError::invalid("No resources given."));
        }
        self.route_command(r, 1, GATEWAY_REQUEST_TIMEOUT_MS)?;
        let mut parsed = Vec::new();
        for (name, content) in resources {
            let xml = String::from_utf8_lossy(content);
            let ids = process_ids(&xml);
            if ids.is_empty() {
                return Err(RestError::invalid(format!(
                    "Command 'CREATE' rejected with code 'INVALID_ARGUMENT': Expected to deploy new resources, but encountered the following errors:\n'{name}': Must contain at least one executable process"
                )));
            }
            parsed.push((name.clone(), content.clone(), ids));
        }
        let deployment_key = self.next_key(1);
        let mut deployments = Vec::new();
        for (name, content, ids) in parsed {
            for id in ids {
                let existing = self
                    .workload
                    .latest(&id)
                    .map(|(k, d)| (k, d.version, d.resource == content));
                let (def_key, version) = match existing {
                    Some((k, v, true)) => (k, v),
                    other => {
                        let version = other.map_or(1, |(_, v, _)| v + 1);
                        let def_key = self.next_key(1);
                        self.workload.definitions.insert(
                            def_key,
                            ProcessDefinition {
                                bpmn_process_id: id.clone(),
                                version,
                                resource_name: name.clone(),
                                resource: content.clone(),
                                deployed_at: self.now,
                                user_task: super::usertasks::user_task_of(
                                    &String::from_utf8_lossy(&content),
                                    &id,
                                ),
                            },
                        );
                        if let Some(data) = self.partitions.get_mut(&1) {
                            data.log.push(LogRecord::Process {
                                key: def_key,
                                bpmn_process_id: id.clone(),
                                version,
                                resource_name: name.clone(),
                            });
                        }
                        (def_key, version)
                    }
                };
                deployments.push(json!({"processDefinition": {
                    "processDefinitionId": id,
                    "processDefinitionVersion": version,
                    "resourceName": name,
                    "tenantId": TENANT,
                    "processDefinitionKey": def_key.to_string(),
                }}));
            }
        }
        self.settle();
        Ok(json!({
            "deploymentKey": deployment_key.to_string(),
            "tenantId": TENANT,
            "deployments": deployments,
        }))
    }

    /// `POST /v2/process-instances`.
    ///
    /// The gateway checks the body (400), picks a partition round robin and sends the command to
    /// its leader: 503 when no partition has a known leader (or the connection is refused), 504
    /// when the chosen leader cannot be reached. The engine on that partition then looks the
    /// process up: an unknown process is rejected with 404 only once the command arrived.
    ///
    /// # Errors
    /// As above.
    pub fn create_instance(&mut self, r: u8, body: &Value) -> Result<Value, RestError> {
        let Some(obj) = body.as_object() else {
            return Err(RestError::invalid("Request body must be a JSON object."));
        };
        let by_id = obj.get("processDefinitionId").filter(|v| !v.is_null());
        let by_key = obj.get("processDefinitionKey").filter(|v| !v.is_null());
        let wanted = match (by_id, by_key) {
            (None, None) => {
                return Err(RestError::invalid(
                    "At least one of [processDefinitionId, processDefinitionKey] is required.",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(RestError::invalid(
                    "Only one of [processDefinitionId, processDefinitionKey] is allowed.",
                ));
            }
            (Some(id), None) => {
                let Some(id) = id.as_str() else {
                    return Err(RestError::invalid(
                        "The value for processDefinitionId must be a string.",
                    ));
                };
                let version = obj
                    .get("processDefinitionVersion")
                    .and_then(Value::as_i64)
                    .unwrap_or(-1);
                WantedDefinition::Id { id, version }
            }
            (None, Some(k)) => {
                let Some(k) = parse_key(k) else {
                    return Err(RestError::invalid(
                        "The provided processDefinitionKey is not a valid key.",
                    ));
                };
                WantedDefinition::Key(k)
            }
        };
        // The body's `requestTimeout` (ms; 0 or absent = the gateway's default), capped at an
        // hour so that no request can push simulated time out of range.
        let timeout_ms = obj
            .get("requestTimeout")
            .and_then(Value::as_u64)
            .filter(|ms| *ms > 0)
            .unwrap_or(GATEWAY_REQUEST_TIMEOUT_MS)
            .min(MAX_REQUEST_TIMEOUT_MS);
        let partition = self.dispatch_partition(r);
        self.route_command(r, partition, timeout_ms)?;
        // The command reached the partition's leader: the engine looks the process up.
        let def_key = match wanted {
            WantedDefinition::Id { id, version } => {
                let found = if version < 0 {
                    self.workload.latest(id).map(|(k, _)| k)
                } else {
                    self.workload
                        .definitions
                        .iter()
                        .find(|(_, d)| d.bpmn_process_id == id && i64::from(d.version) == version)
                        .map(|(k, _)| *k)
                };
                found.ok_or_else(|| {
                    RestError::new(
                        404,
                        "NOT_FOUND",
                        format!(
                            "Command 'CREATE' rejected with code 'NOT_FOUND': Expected to find process definition with process ID '{id}', but none found"
                        ),
                    )
                })?
            }
            WantedDefinition::Key(k) => {
                if !self.workload.definitions.contains_key(&k) {
                    return Err(RestError::new(
                        404,
                        "NOT_FOUND",
                        format!(
                            "Command 'CREATE' rejected with code 'NOT_FOUND': Expected to find process definition with key '{k}', but none found"
                        ),
                    ));
                }
                k
            }
        };
        let Some(def) = self.workload.definitions.get(&def_key).cloned() else {
            return Err(RestError::new(500, "INTERNAL_ERROR", "definition vanished"));
        };
        let instance_key = self.next_key(partition);
        let start = self.now;
        if let Some(data) = self.partitions.get_mut(&partition) {
            data.log.push(LogRecord::ProcessInstance {
                key: instance_key,
                process_definition_key: def_key,
                bpmn_process_id: def.bpmn_process_id.clone(),
                version: def.version,
                start,
                end: None,
            });
        }
        self.create_user_task(partition, instance_key, def_key, start);
        self.settle();
        Ok(json!({
            "processDefinitionId": def.bpmn_process_id,
            "processDefinitionVersion": def.version,
            "tenantId": TENANT,
            "variables": {},
            "processDefinitionKey": def_key.to_string(),
            "processInstanceKey": instance_key.to_string(),
        }))
    }

    /// Documents of the serving region's list-view index (by document id, which is the
    /// instance key), `None` when the index is missing or closed.
    fn list_view(&self, r: u8) -> Result<Option<&BTreeMap<String, Value>>, RestError> {
        let es = self
            .region(r)
            .map(|reg| &reg.es)
            .filter(|es| es.status == EsStatus::Running)
            .ok_or_else(|| {
                RestError::new(
                    500,
                    "INTERNAL_ERROR",
                    "Failed to execute search query: secondary storage is not reachable",
                )
            })?;
        Ok(es
            .indices
            .get(LIST_VIEW_INDEX)
            .filter(|i| i.open)
            .map(|i| &i.docs))
    }

    /// The list-view document of instance `key`, looked up by its id (the exporter writes
    /// each instance under its key), falling back to a scan for documents stored otherwise.
    fn instance_doc(docs: &BTreeMap<String, Value>, key: u64) -> Option<&Value> {
        let is_key = |d: &&Value| d.get("key").and_then(Value::as_u64) == Some(key);
        docs.get(&key.to_string())
            .filter(is_key)
            .or_else(|| docs.values().find(is_key))
    }

    fn instance_result(&self, doc: &Value) -> Value {
        let key = doc.get("key").and_then(Value::as_u64).unwrap_or_default();
        let def_key = doc
            .get("processDefinitionKey")
            .and_then(Value::as_u64)
            .unwrap_or_default();
        let def = self.workload.definitions.get(&def_key);
        let start = doc
            .get("startDate")
            .filter(|v| v.is_string())
            .cloned()
            .unwrap_or_else(|| json!(rfc3339(def.map_or(0, |d| d.deployed_at))));
        let mut out = json!({
            "processInstanceKey": key.to_string(),
            "processDefinitionId": doc.get("bpmnProcessId"),
            "processDefinitionName": doc.get("bpmnProcessId"),
            "processDefinitionVersion": def.map_or(1, |d| d.version),
            "processDefinitionKey": def_key.to_string(),
            "startDate": start,
            "state": Self::instance_state(doc),
            "hasIncident": false,
            "tenantId": TENANT,
        });
        if let (Some(end), Some(obj)) = (
            doc.get("endDate").filter(|v| v.is_string()),
            out.as_object_mut(),
        ) {
            obj.insert("endDate".to_owned(), end.clone());
        }
        out
    }

    /// The 8.8 API state of a list-view document (`ACTIVE`, `COMPLETED`, `TERMINATED` for
    /// Operate's `CANCELED`).
    fn instance_state(doc: &Value) -> &str {
        match doc.get("state").and_then(Value::as_str) {
            Some("COMPLETED") => "COMPLETED",
            Some("CANCELED" | "TERMINATED") => "TERMINATED",
            _ => "ACTIVE",
        }
    }

    /// `GET /v2/process-instances/{key}`, read from region `r`'s Elasticsearch.
    ///
    /// # Errors
    /// 400 invalid key, 404 not (yet) exported, 500 Elasticsearch unavailable.
    pub fn get_instance(&self, r: u8, key: &str) -> Result<Value, RestError> {
        let Ok(k) = key.trim().parse::<u64>() else {
            return Err(RestError::invalid(format!(
                "The provided processInstanceKey '{key}' is not a valid key."
            )));
        };
        self.list_view(r)?
            .and_then(|docs| Self::instance_doc(docs, k))
            .map(|d| self.instance_result(d))
            .ok_or_else(|| {
                RestError::new(
                    404,
                    "NOT_FOUND",
                    format!("Process Instance with key '{k}' not found"),
                )
            })
    }

    /// `POST /v2/process-instances/search` (filter on `processInstanceKey`,
    /// `processDefinitionId`, `processDefinitionKey`, `state`; offset page), read from region
    /// `r`'s Elasticsearch.
    ///
    /// # Errors
    /// 400 invalid body, 500 Elasticsearch unavailable.
    pub fn search_instances(&self, r: u8, body: &Value) -> Result<Value, RestError> {
        if !(body.is_object() || body.is_null()) {
            return Err(RestError::invalid("Request body must be a JSON object."));
        }
        let filter = body.get("filter").cloned().unwrap_or(Value::Null);
        let want_key = match filter.get("processInstanceKey") {
            None | Some(Value::Null) => None,
            Some(v) => Some(parse_key(v).ok_or_else(|| {
                RestError::invalid("The provided processInstanceKey is not a valid key.")
            })?),
        };
        let want_def_key = filter.get("processDefinitionKey").and_then(parse_key);
        let want_id = filter
            .get("processDefinitionId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let want_state = match filter.get("state") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_str().or_else(|| v.get("$eq").and_then(Value::as_str)) {
                Some(s @ ("ACTIVE" | "COMPLETED" | "TERMINATED")) => Some(s.to_owned()),
                _ => {
                    return Err(RestError::new(
                        400,
                        "Bad Request",
                        "Request property [filter.state] cannot be parsed",
                    ));
                }
            },
        };
        let page = body.get("page").cloned().unwrap_or(Value::Null);
        let limit = page.get("limit").and_then(Value::as_u64).unwrap_or(100);
        let from = page.get("from").and_then(Value::as_u64).unwrap_or(0);
        let index = self.list_view(r)?;
        let candidates: Vec<&Value> = match (index, want_key) {
            (None, _) => Vec::new(),
            (Some(docs), Some(k)) => Self::instance_doc(docs, k).into_iter().collect(),
            (Some(docs), None) => docs.values().collect(),
        };
        let mut docs: Vec<&Value> = candidates
            .into_iter()
            .filter(|d| {
                want_def_key.is_none_or(|k| {
                    d.get("processDefinitionKey").and_then(Value::as_u64) == Some(k)
                }) && want_id
                    .as_deref()
                    .is_none_or(|id| d.get("bpmnProcessId").and_then(Value::as_str) == Some(id))
                    && want_state
                        .as_deref()
                        .is_none_or(|s| Self::instance_state(d) == s)
            })
            .collect();
        docs.sort_by_key(|d| d.get("key").and_then(Value::as_u64));
        let total = docs.len();
        let items: Vec<Value> = docs
            .into_iter()
            .skip(usize::try_from(from).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|d| self.instance_result(d))
            .collect();
        let cursor = |v: Option<&Value>| {
            v.and_then(|i| i.get("processInstanceKey"))
                .cloned()
                .unwrap_or(Value::Null)
        };
        Ok(json!({
            "items": items,
            "page": {"totalItems": total, "startCursor": cursor(items.first()),
                     "endCursor": cursor(items.last())},
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_process_ids() {
        let xml = r#"<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="x">
            <bpmn:process id="load" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process>
            </bpmn:definitions>"#;
        assert_eq!(process_ids(xml), vec!["load".to_owned()]);
        let plain = "<definitions><process isExecutable='true' id='other'/></definitions>";
        assert_eq!(process_ids(plain), vec!["other".to_owned()]);
        assert!(process_ids("<definitions><processes id='x'/></definitions>").is_empty());
    }

    #[test]
    fn keys_carry_the_partition() {
        assert_eq!(key(1, 1), 2_251_799_813_685_249);
        assert_eq!(key(3, 7) >> 51, 3);
    }
}
