//! Deployments and process instances through the Orchestration Cluster REST API (contract §2.3).

use serde::{Deserialize, Serialize};

/// Answer of `POST /v2/deployments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// Deployment key.
    pub deployment_key: String,
    /// Deployed resources.
    #[serde(default)]
    pub deployments: Vec<DeployedResource>,
}

/// One deployed resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedResource {
    /// Present when the resource is a process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_definition: Option<DeployedProcess>,
}

/// A deployed process definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedProcess {
    /// BPMN process id.
    pub process_definition_id: String,
    /// Version.
    #[serde(default)]
    pub process_definition_version: i64,
    /// Key.
    pub process_definition_key: String,
}

/// Answer of `POST /v2/process-instances`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedInstance {
    /// The new instance's key; Zeebe keys carry the partition id in their top bits.
    pub process_instance_key: String,
    /// Process id.
    #[serde(default)]
    pub process_definition_id: String,
}

impl CreatedInstance {
    /// The partition that owns the instance: Zeebe encodes it as `key >> 51`.
    #[must_use]
    pub fn partition_id(&self) -> Option<u32> {
        self.process_instance_key
            .parse::<u64>()
            .ok()
            .and_then(|key| u32::try_from(key >> 51).ok())
    }
}

/// One item of `POST /v2/user-tasks/search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserTask {
    /// The task's key.
    pub user_task_key: String,
    /// Its process instance.
    #[serde(default)]
    pub process_instance_key: String,
    /// `CREATED`, `COMPLETED`, `CANCELED`, ...
    #[serde(default)]
    pub state: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_their_partition() {
        let instance = CreatedInstance {
            process_instance_key: "2251799813685249".into(),
            process_definition_id: "load".into(),
        };
        assert_eq!(instance.partition_id(), Some(1));
    }
}
