//! Camunda user tasks and completing process instances through the engine (Orchestration
//! Cluster REST API 8.8: `POST /v2/user-tasks/search`, `GET /v2/user-tasks/{key}`,
//! `POST /v2/user-tasks/{key}/completion`).
//!
//! A process whose BPMN has a Camunda user task (`<userTask>` with `<zeebe:userTask/>`)
//! waits there: creating an instance also creates the task (keys from the instance's
//! partition), both go to the partition's log; completing the task (a command routed to the
//! leader of the partition the task key names) completes the task and, the process reaching
//! its end event, the instance. Exporting writes the tasks to the 8.8 user-task index and the
//! instance's new state to the list view; searches read the serving region's Elasticsearch.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::clock::{SimTime, rfc3339};

use super::core::World;
use super::elasticsearch::EsStatus;
use super::workload::{
    GATEWAY_REQUEST_TIMEOUT_MS, LogRecord, RestError, TENANT, attribute, parse_key,
};

/// Index exported user tasks land in (the page's 8.8 index set; fields of
/// `webapps-schema/.../descriptors/template/TaskTemplate.java`).
pub const USER_TASK_INDEX: &str = "tasklist-task-8.8.0_";

/// The user-task states of the 8.8 API (`UserTaskStateEnum`).
const USER_TASK_STATES: [&str; 9] = [
    "CREATING",
    "CREATED",
    "ASSIGNING",
    "UPDATING",
    "COMPLETING",
    "COMPLETED",
    "CANCELING",
    "CANCELED",
    "FAILED",
];

/// The priority a user task gets without one in the model (8.8 OpenAPI: default 50).
const DEFAULT_PRIORITY: u32 = 50;

/// A Camunda user task of a process definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserTaskDef {
    pub(crate) element_id: String,
    pub(crate) name: Option<String>,
}

/// A user task as the engine writes it to the log (and the exporter to the task index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserTaskRecord {
    pub(crate) key: u64,
    pub(crate) process_instance_key: u64,
    pub(crate) element_instance_key: u64,
    pub(crate) process_definition_key: u64,
    pub(crate) bpmn_process_id: String,
    pub(crate) version: u32,
    pub(crate) element_id: String,
    pub(crate) created_at: SimTime,
    /// When the instance started (to write its list-view document on completion).
    pub(crate) instance_start: SimTime,
    pub(crate) completed_at: Option<SimTime>,
}

impl UserTaskRecord {
    /// The task-index document (`TaskTemplate` field names).
    pub(crate) fn document(&self, partition: u32) -> (String, String, Value) {
        let mut doc = json!({
            "id": self.key.to_string(),
            "key": self.key,
            "partitionId": partition,
            "bpmnProcessId": self.bpmn_process_id,
            "processDefinitionId": self.process_definition_key.to_string(),
            "processDefinitionVersion": self.version,
            "flowNodeBpmnId": self.element_id,
            "flowNodeInstanceId": self.element_instance_key.to_string(),
            "processInstanceId": self.process_instance_key.to_string(),
            "state": if self.completed_at.is_some() { "COMPLETED" } else { "CREATED" },
            "creationTime": rfc3339(self.created_at),
            "implementation": "ZEEBE_USER_TASK",
            "priority": DEFAULT_PRIORITY,
            "candidateGroups": [],
            "candidateUsers": [],
            "tenantId": TENANT,
            "join": {"name": "task", "parent": self.process_instance_key.to_string()},
        });
        if let (Some(done), Some(obj)) = (self.completed_at, doc.as_object_mut()) {
            obj.insert("completionTime".to_owned(), json!(rfc3339(done)));
        }
        (USER_TASK_INDEX.to_owned(), self.key.to_string(), doc)
    }
}

/// The engine's runtime state of one partition: the user tasks waiting to be completed (a
/// completed task leaves the state, so completing it again is `NOT_FOUND`, as in Zeebe).
#[derive(Debug, Clone, Default)]
pub(crate) struct EngineState {
    pub(crate) tasks: BTreeMap<u64, UserTaskRecord>,
}

/// One XML tag: `</name>` (closing), `<name attrs>` or `<name attrs/>` (self-closing).
struct Tag<'a> {
    closing: bool,
    self_closing: bool,
    name: &'a str,
    attrs: &'a str,
}

impl Tag<'_> {
    fn local(&self) -> &str {
        self.name.rsplit(':').next().unwrap_or(self.name)
    }
}

/// The tags of an XML text, skipping declarations, comments and CDATA.
fn tags(xml: &str) -> Vec<Tag<'_>> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(pos) = rest.find('<') {
        rest = &rest[pos + 1..];
        if rest.starts_with("!--") {
            rest = rest.find("-->").map_or("", |end| &rest[end + 3..]);
            continue;
        }
        let end = rest.find('>').unwrap_or(rest.len());
        let raw = &rest[..end];
        rest = &rest[end..];
        if raw.starts_with('?') || raw.starts_with('!') {
            continue;
        }
        let (closing, body) = match raw.strip_prefix('/') {
            Some(b) => (true, b),
            None => (false, raw),
        };
        let (self_closing, body) = match body.strip_suffix('/') {
            Some(b) => (true, b),
            None => (false, body),
        };
        let name_end = body.find(|c: char| c.is_whitespace()).unwrap_or(body.len());
        out.push(Tag {
            closing,
            self_closing,
            name: body[..name_end].trim(),
            attrs: &body[name_end..],
        });
    }
    out
}

/// The first Camunda user task of process `process_id` in BPMN `xml`: a `userTask` element
/// holding a `zeebe:userTask` extension element (a user task without it is a job-worker
/// task, not modelled).
pub(crate) fn user_task_of(xml: &str, process_id: &str) -> Option<UserTaskDef> {
    let all = tags(xml);
    let start = all.iter().position(|t| {
        !t.closing
            && !t.self_closing
            && t.local() == "process"
            && attribute(t.attrs, "id").as_deref() == Some(process_id)
    })?;
    // (outer tag name, id, name, has the zeebe:userTask extension)
    let mut current: Option<(&str, String, Option<String>, bool)> = None;
    for t in all.iter().skip(start + 1) {
        if t.closing && t.local() == "process" {
            break;
        }
        match current.as_mut() {
            None => {
                if !t.closing && !t.self_closing && t.local() == "userTask" {
                    let id = attribute(t.attrs, "id").unwrap_or_default();
                    current = Some((t.name, id, attribute(t.attrs, "name"), false));
                }
            }
            Some((outer, id, name, camunda)) => {
                if t.closing && t.name == *outer {
                    if *camunda {
                        return Some(UserTaskDef {
                            element_id: id.clone(),
                            name: name.clone(),
                        });
                    }
                    current = None;
                } else if !t.closing && t.local() == "userTask" && t.name != *outer {
                    *camunda = true;
                }
            }
        }
    }
    None
}

/// Standard base64 (for the search cursors, which encode the sort values: `[key]`).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let index = usize::try_from((n >> (18 - 6 * i)) & 63).unwrap_or(0);
                out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A request body the 8.8 gateway rejects (Jackson fails on an unknown or mistyped
/// property): 400 with the OpenAPI's example wording.
fn unparsable(property: &str) -> RestError {
    RestError::new(
        400,
        "Bad Request",
        format!("Request property [{property}] cannot be parsed"),
    )
}

/// A key filter: a key (string or number) or `{"$eq": key}`; absent or null = no filter.
fn key_filter(filter: &Value, field: &str) -> Result<Option<u64>, RestError> {
    match filter.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => parse_key(v)
            .map(Some)
            .ok_or_else(|| unparsable(&format!("filter.{field}"))),
    }
}

/// A string filter: a string or `{"$eq": string}`; absent or null = no filter.
fn string_filter(filter: &Value, field: &str) -> Result<Option<String>, RestError> {
    match filter.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Object(o)) => match o.get("$eq") {
            Some(Value::String(s)) => Ok(Some(s.clone())),
            _ => Err(unparsable(&format!("filter.{field}"))),
        },
        Some(_) => Err(unparsable(&format!("filter.{field}"))),
    }
}

/// `page.from` / `page.limit` (defaults 0 and 100).
fn page_of(body: &Value) -> (usize, usize) {
    let page = body.get("page").cloned().unwrap_or(Value::Null);
    let number = |field: &str, default: u64| {
        usize::try_from(page.get(field).and_then(Value::as_u64).unwrap_or(default))
            .unwrap_or(usize::MAX)
    };
    (number("from", 0), number("limit", 100))
}

fn doc_key(doc: &Value, field: &str) -> Option<u64> {
    match doc.get(field) {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
}

impl World {
    /// Creates the user task of a new instance when its process has one: the task (and its
    /// element instance) get keys of the instance's partition; the task goes to the log after
    /// the instance and into the partition's engine state.
    pub(crate) fn create_user_task(
        &mut self,
        partition: u32,
        instance_key: u64,
        definition_key: u64,
        instance_start: SimTime,
    ) {
        let Some(def) = self.workload.definitions.get(&definition_key).cloned() else {
            return;
        };
        let Some(task) = def.user_task else {
            return;
        };
        let element_instance_key = self.next_key(partition);
        let key = self.next_key(partition);
        let record = UserTaskRecord {
            key,
            process_instance_key: instance_key,
            element_instance_key,
            process_definition_key: definition_key,
            bpmn_process_id: def.bpmn_process_id.clone(),
            version: def.version,
            element_id: task.element_id,
            created_at: self.now,
            instance_start,
            completed_at: None,
        };
        if let Some(data) = self.partitions.get_mut(&partition) {
            data.log.push(LogRecord::UserTask(Box::new(record.clone())));
            data.engine.tasks.insert(key, record);
        }
    }

    /// `POST /v2/user-tasks/{userTaskKey}/completion` served by region `r`'s gateway: a
    /// command to the leader of the partition the key names (`key >> 51`), with the same
    /// routing and errors as instance creation; the engine completes the task and, the
    /// process reaching its end event, the instance.
    ///
    /// # Errors
    /// 400 invalid key or body; 503 no known leader of the task's partition (or a refused
    /// connection), 504 when that leader cannot be reached (after the 15 s request timeout);
    /// 404 `NOT_FOUND` when the engine has no such task (unknown, or already completed).
    pub fn complete_user_task(&mut self, r: u8, key: &str, body: &Value) -> Result<(), RestError> {
        let Ok(k) = key.trim().parse::<u64>() else {
            return Err(RestError::new(
                400,
                "Bad Request",
                format!("Failed to convert 'userTaskKey' with value: '{key}'"),
            ));
        };
        match body {
            Value::Null => {}
            Value::Object(o) => {
                for (field, value) in o {
                    let ok = match field.as_str() {
                        "variables" => value.is_object() || value.is_null(),
                        "action" => value.is_string() || value.is_null(),
                        _ => false,
                    };
                    if !ok {
                        return Err(unparsable(field));
                    }
                }
            }
            _ => return Err(RestError::new(400, "Bad Request", "Failed to read request")),
        }
        let partition = u32::try_from(k >> 51).unwrap_or(u32::MAX);
        self.route_command(r, partition, GATEWAY_REQUEST_TIMEOUT_MS)?;
        let Some(mut task) = self
            .partitions
            .get_mut(&partition)
            .and_then(|d| d.engine.tasks.remove(&k))
        else {
            return Err(RestError::new(
                404,
                "NOT_FOUND",
                format!(
                    "Command 'COMPLETE' rejected with code 'NOT_FOUND': Expected to complete user task with key '{k}', but no such user task was found"
                ),
            ));
        };
        let now = self.now;
        task.completed_at = Some(now);
        let instance = LogRecord::ProcessInstance {
            key: task.process_instance_key,
            process_definition_key: task.process_definition_key,
            bpmn_process_id: task.bpmn_process_id.clone(),
            version: task.version,
            start: task.instance_start,
            end: Some(now),
        };
        if let Some(data) = self.partitions.get_mut(&partition) {
            data.log.push(LogRecord::UserTask(Box::new(task)));
            data.log.push(instance);
        }
        self.settle();
        Ok(())
    }

    /// Documents of the serving region's user-task index; `None` when it is missing or
    /// closed.
    fn user_task_docs(&self, r: u8) -> Result<Option<&BTreeMap<String, Value>>, RestError> {
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
            .get(USER_TASK_INDEX)
            .filter(|i| i.open)
            .map(|i| &i.docs))
    }

    /// A `UserTaskResult` of the 8.8 API from a task-index document.
    fn user_task_result(&self, doc: &Value) -> Value {
        let key = doc_key(doc, "key").unwrap_or_default();
        let definition_key = doc_key(doc, "processDefinitionId").unwrap_or_default();
        let element_id = doc.get("flowNodeBpmnId").cloned().unwrap_or(Value::Null);
        let name = self
            .workload
            .definitions
            .get(&definition_key)
            .and_then(|d| d.user_task.as_ref())
            .and_then(|t| t.name.clone())
            .map_or_else(|| element_id.clone(), Value::String);
        let mut out = Map::new();
        out.insert("userTaskKey".to_owned(), json!(key.to_string()));
        out.insert("name".to_owned(), name);
        out.insert(
            "state".to_owned(),
            doc.get("state").cloned().unwrap_or(Value::Null),
        );
        out.insert("elementId".to_owned(), element_id);
        out.insert("candidateGroups".to_owned(), json!([]));
        out.insert("candidateUsers".to_owned(), json!([]));
        out.insert(
            "processDefinitionId".to_owned(),
            doc.get("bpmnProcessId").cloned().unwrap_or(Value::Null),
        );
        out.insert(
            "creationDate".to_owned(),
            doc.get("creationTime").cloned().unwrap_or(Value::Null),
        );
        if let Some(done) = doc.get("completionTime").filter(|v| !v.is_null()) {
            out.insert("completionDate".to_owned(), done.clone());
        }
        out.insert("tenantId".to_owned(), json!(TENANT));
        out.insert(
            "processDefinitionVersion".to_owned(),
            doc.get("processDefinitionVersion")
                .cloned()
                .unwrap_or(Value::Null),
        );
        out.insert("customHeaders".to_owned(), json!({}));
        out.insert(
            "priority".to_owned(),
            doc.get("priority")
                .cloned()
                .unwrap_or_else(|| json!(DEFAULT_PRIORITY)),
        );
        for (field, from) in [
            ("elementInstanceKey", "flowNodeInstanceId"),
            ("processDefinitionKey", "processDefinitionId"),
            ("processInstanceKey", "processInstanceId"),
        ] {
            out.insert(
                field.to_owned(),
                doc_key(doc, from).map_or(Value::Null, |k| json!(k.to_string())),
            );
        }
        Value::Object(out)
    }

    /// `POST /v2/user-tasks/search` (filters `userTaskKey`, `processInstanceKey`,
    /// `processDefinitionKey`, `processDefinitionId`, `elementId`, `state`; offset page),
    /// read from region `r`'s Elasticsearch.
    ///
    /// # Errors
    /// 400 invalid body or filter, 500 Elasticsearch unavailable.
    pub fn search_user_tasks(&self, r: u8, body: &Value) -> Result<Value, RestError> {
        if !(body.is_object() || body.is_null()) {
            return Err(RestError::new(400, "Bad Request", "Failed to read request"));
        }
        let filter = body.get("filter").cloned().unwrap_or(Value::Null);
        if !(filter.is_object() || filter.is_null()) {
            return Err(unparsable("filter"));
        }
        let want_key = key_filter(&filter, "userTaskKey")?;
        let want_instance = key_filter(&filter, "processInstanceKey")?;
        let want_definition = key_filter(&filter, "processDefinitionKey")?;
        let want_process = string_filter(&filter, "processDefinitionId")?;
        let want_element = string_filter(&filter, "elementId")?;
        let want_state = string_filter(&filter, "state")?;
        if want_state
            .as_deref()
            .is_some_and(|s| !USER_TASK_STATES.contains(&s))
        {
            return Err(unparsable("filter.state"));
        }
        let (from, limit) = page_of(body);
        let mut docs: Vec<(u64, &Value)> = self
            .user_task_docs(r)?
            .into_iter()
            .flat_map(BTreeMap::values)
            .filter_map(|d| doc_key(d, "key").map(|k| (k, d)))
            .filter(|(k, d)| {
                want_key.is_none_or(|w| w == *k)
                    && want_instance.is_none_or(|w| doc_key(d, "processInstanceId") == Some(w))
                    && want_definition.is_none_or(|w| doc_key(d, "processDefinitionId") == Some(w))
                    && want_process
                        .as_deref()
                        .is_none_or(|w| d.get("bpmnProcessId").and_then(Value::as_str) == Some(w))
                    && want_element
                        .as_deref()
                        .is_none_or(|w| d.get("flowNodeBpmnId").and_then(Value::as_str) == Some(w))
                    && want_state
                        .as_deref()
                        .is_none_or(|w| d.get("state").and_then(Value::as_str) == Some(w))
            })
            .collect();
        docs.sort_by_key(|(k, _)| *k);
        let total = docs.len();
        let page: Vec<(u64, &Value)> = docs.into_iter().skip(from).take(limit).collect();
        let cursor =
            |k: Option<u64>| k.map_or(Value::Null, |k| json!(base64(format!("[{k}]").as_bytes())));
        let start = cursor(page.first().map(|(k, _)| *k));
        let end = cursor(page.last().map(|(k, _)| *k));
        let items: Vec<Value> = page
            .into_iter()
            .map(|(_, d)| self.user_task_result(d))
            .collect();
        Ok(json!({
            "items": items,
            "page": {"totalItems": total, "startCursor": start, "endCursor": end},
        }))
    }

    /// `GET /v2/user-tasks/{userTaskKey}`, read from region `r`'s Elasticsearch.
    ///
    /// # Errors
    /// 400 invalid key, 404 not (yet) exported, 500 Elasticsearch unavailable.
    pub fn get_user_task(&self, r: u8, key: &str) -> Result<Value, RestError> {
        let Ok(k) = key.trim().parse::<u64>() else {
            return Err(RestError::new(
                400,
                "Bad Request",
                format!("Failed to convert 'userTaskKey' with value: '{key}'"),
            ));
        };
        let docs = self.user_task_docs(r)?;
        docs.and_then(|d| {
            d.get(&k.to_string())
                .filter(|doc| doc_key(doc, "key") == Some(k))
        })
        .map(|d| self.user_task_result(d))
        .ok_or_else(|| {
            RestError::new(
                404,
                "NOT_FOUND",
                format!("User Task with key '{k}' not found"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a probe <bpmn:userTask id="commented"> -->
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d">
  <bpmn:process id="other"><bpmn:userTask id="elsewhere"><bpmn:extensionElements>
    <zeebe:userTask /></bpmn:extensionElements></bpmn:userTask></bpmn:process>
  <bpmn:process id="c8dr-probe" name="c8dr probe" isExecutable="true">
    <bpmn:startEvent id="started"/>
    <bpmn:userTask id="job-based" name="Job"></bpmn:userTask>
    <bpmn:userTask id="await-check" name="Await data-continuity check">
      <bpmn:extensionElements>
        <zeebe:userTask />
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="ended"/>
  </bpmn:process>
</bpmn:definitions>"#;

    #[test]
    fn finds_the_camunda_user_task_of_the_process() {
        assert_eq!(
            user_task_of(PROBE, "c8dr-probe"),
            Some(UserTaskDef {
                element_id: "await-check".to_owned(),
                name: Some("Await data-continuity check".to_owned()),
            })
        );
        assert_eq!(
            user_task_of(PROBE, "other").map(|t| t.element_id),
            Some("elsewhere".to_owned())
        );
        assert_eq!(user_task_of(PROBE, "missing"), None);
        let plain = "<definitions><process id='p'><userTask id='u'/></process></definitions>";
        assert_eq!(user_task_of(plain, "p"), None, "a job-worker task");
        for junk in [
            "",
            "<",
            "<process id='p'",
            "<<<>>>",
            "<process id='p'><userTask",
        ] {
            assert_eq!(user_task_of(junk, "p"), None, "{junk}");
        }
    }

    #[test]
    fn cursors_are_base64_of_the_sort_values() {
        assert_eq!(base64(b"[2251799813687102]"), "WzIyNTE3OTk4MTM2ODcxMDJd");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b""), "");
    }
}
