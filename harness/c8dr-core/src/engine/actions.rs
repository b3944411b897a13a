//! Performing actions. API calls that certainly changed nothing (no answer, 502, 503) are sent
//! again until the step's deadline; everything else is attempted once, because a mutating call
//! that may have been applied must not be repeated blindly.

use std::time::Duration;

use serde_json::json;

use std::sync::Arc;

use super::run::RunState;
use crate::backend::{ApiError, CamundaApis, Platform, PlatformError, PlatformOutcome};
use crate::camunda::PlannedChanges;
use crate::clock::Clock;
use crate::plan::{Action, CreateInstances, Require};
use crate::report::{InstanceAttempt, InstanceOrigin};

/// How an action ended.
pub(crate) enum ActionResult {
    /// It did what it should; what it returned, for the report.
    Done(Option<serde_json::Value>),
    /// It was rejected or did not do what it should.
    Failed(String),
    /// The platform could not be driven.
    Infrastructure(String),
}

pub(crate) struct ActionRun {
    pub(crate) outcome: ActionResult,
    pub(crate) attempts: u32,
}

/// Retries `call` while it fails with a retryable error and the deadline allows.
async fn with_retries<T, F, Fut>(
    state: &RunState<'_>,
    deadline: Duration,
    poll: Duration,
    attempts: &mut u32,
    mut call: F,
) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let clock = state.clock.as_ref();
    loop {
        *attempts += 1;
        let remaining = deadline.saturating_sub(clock.now());
        let Ok(result) = tokio::time::timeout(clock.call_budget(remaining), call()).await else {
            return Err(ApiError::Timeout {
                method: "request".into(),
                url: "(step deadline reached)".into(),
            });
        };
        match result {
            Err(e) if e.is_retryable() && clock.now() + poll < deadline => {
                tracing::debug!(error = %e, attempt = *attempts, "retrying: the request changed nothing");
                state.wait(poll).await;
            }
            other => return other,
        }
    }
}

/// One platform operation, bounded by the step's remaining time. Platform operations are not
/// retried: a half-applied deploy or fault must be looked at, not repeated.
async fn platform_call(
    clock: &dyn Clock,
    deadline: Duration,
    call: impl Future<Output = Result<PlatformOutcome, PlatformError>>,
) -> ActionResult {
    let remaining = deadline.saturating_sub(clock.now());
    match tokio::time::timeout(clock.call_budget(remaining), call).await {
        Ok(Ok(outcome)) if outcome == PlatformOutcome::default() => ActionResult::Done(None),
        Ok(Ok(outcome)) => ActionResult::Done(serde_json::to_value(&outcome).ok()),
        Ok(Err(e)) => platform_failure(&e),
        Err(_) => ActionResult::Failed("timed out".into()),
    }
}

/// Record the change a configuration request started, for the step's `change` expectation.
fn change_started(
    state: &mut RunState<'_>,
    result: Result<PlannedChanges, ApiError>,
) -> ActionResult {
    match result {
        Ok(planned) => {
            state.step_change = Some(planned.change_id);
            ActionResult::Done(Some(change_result(&planned)))
        }
        Err(e) => ActionResult::Failed(error_chain(&e)),
    }
}

fn platform_failure(e: &PlatformError) -> ActionResult {
    match e {
        PlatformError::Operation { .. } | PlatformError::Unsupported { .. } => {
            ActionResult::Failed(error_chain(e))
        }
        PlatformError::Infrastructure { .. } => ActionResult::Infrastructure(error_chain(e)),
    }
}

/// An error with its sources, in one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn change_result(planned: &PlannedChanges) -> serde_json::Value {
    json!({
        "changeId": planned.change_id,
        "plannedChanges": planned.planned_changes,
    })
}

#[expect(
    clippy::too_many_lines,
    reason = "one arm per action kind reads best as a table"
)]
pub(crate) async fn perform<P: Platform, A: CamundaApis>(
    platform: &P,
    apis: &A,
    step_id: &str,
    action: &Action,
    state: &mut RunState<'_>,
    deadline: Duration,
    poll: Duration,
) -> ActionRun {
    let mut attempts = 0;
    let clock = Arc::clone(&state.clock);
    let clock = clock.as_ref();
    let outcome = match action {
        Action::LoseRegion { region, mode } => {
            attempts = 1;
            platform_call(clock, deadline, platform.lose_region(*region, *mode)).await
        }
        Action::HealRegion { region } => {
            attempts = 1;
            platform_call(clock, deadline, platform.heal_region(*region)).await
        }
        Action::RecreateRegion { region } => {
            attempts = 1;
            platform_call(clock, deadline, platform.recreate_region(*region)).await
        }
        Action::Deploy { region, overrides } => {
            attempts = 1;
            platform_call(clock, deadline, platform.deploy(*region, overrides)).await
        }
        Action::PatchCluster {
            via,
            request,
            options,
        } => {
            let result = with_retries(state, deadline, poll, &mut attempts, || {
                apis.patch_cluster(*via, request, *options)
            })
            .await;
            change_started(state, result)
        }
        Action::DisableExporter { via, exporter } => {
            let result = with_retries(state, deadline, poll, &mut attempts, || {
                apis.disable_exporter(*via, exporter)
            })
            .await;
            change_started(state, result)
        }
        Action::EnableExporter {
            via,
            exporter,
            initialize_from,
        } => {
            let result = with_retries(state, deadline, poll, &mut attempts, || {
                apis.enable_exporter(*via, exporter, initialize_from.as_deref())
            })
            .await;
            change_started(state, result)
        }
        Action::Exporting { via, operation } => {
            // Pause and resume are idempotent, and the management API docs say to retry a failed
            // pause until it succeeds: partial failures can leave some partitions paused.
            loop {
                let outcome = with_retries(state, deadline, poll, &mut attempts, || {
                    apis.exporting(*via, *operation)
                })
                .await;
                match outcome {
                    Ok(o) if o.succeeded() => {
                        break ActionResult::Done(Some(json!({
                            "httpStatus": o.http_status,
                            "bodyStatus": o.body_status,
                        })));
                    }
                    Ok(o) => {
                        let message = format!(
                            "HTTP {} with status {} in the body: {}",
                            o.http_status,
                            o.body_status
                                .map_or_else(|| "(none)".to_owned(), |s| s.to_string()),
                            o.message.as_deref().unwrap_or("(no message)")
                        );
                        if clock.now() + poll >= deadline {
                            break ActionResult::Failed(message);
                        }
                        tracing::debug!(%message, "exporting operation failed; retrying");
                        state.wait(poll).await;
                    }
                    Err(e) => break ActionResult::Failed(error_chain(&e)),
                }
            }
        }
        Action::RegisterRepository { region, repository } => {
            match with_retries(state, deadline, poll, &mut attempts, || {
                apis.register_repository(*region, repository)
            })
            .await
            {
                Ok(()) => ActionResult::Done(Some(repository.registration_body())),
                Err(e) => ActionResult::Failed(error_chain(&e)),
            }
        }
        Action::CreateSnapshot {
            region,
            repository,
            snapshot,
        } => match with_retries(state, deadline, poll, &mut attempts, || {
            apis.create_snapshot(*region, repository, snapshot)
        })
        .await
        {
            Ok(info) => ActionResult::Done(Some(json!({
                "snapshot": info.snapshot,
                "state": info.state,
                "indices": info.indices.len(),
                "shards": info.shards,
            }))),
            Err(e) => ActionResult::Failed(error_chain(&e)),
        },
        Action::RestoreSnapshot {
            region,
            repository,
            snapshot,
        } => match with_retries(state, deadline, poll, &mut attempts, || {
            apis.restore_snapshot(*region, repository, snapshot)
        })
        .await
        {
            Ok(response) => match &response.snapshot {
                Some(summary) if summary.shards.failed > 0 => ActionResult::Failed(format!(
                    "restore of {snapshot} failed on {} of {} shards",
                    summary.shards.failed, summary.shards.total
                )),
                _ => ActionResult::Done(serde_json::to_value(&response).ok()),
            },
            Err(e) => ActionResult::Failed(error_chain(&e)),
        },
        Action::DeployProcess {
            via,
            resource_name,
            process_id,
            content,
        } => match with_retries(state, deadline, poll, &mut attempts, || {
            apis.deploy_resource(*via, resource_name, content)
        })
        .await
        {
            Ok(deployment) => {
                let deployed = deployment
                    .deployments
                    .iter()
                    .filter_map(|d| d.process_definition.as_ref())
                    .any(|p| &p.process_definition_id == process_id);
                if deployed {
                    ActionResult::Done(serde_json::to_value(&deployment).ok())
                } else {
                    ActionResult::Failed(format!(
                        "the deployment does not contain process {process_id}"
                    ))
                }
            }
            Err(e) => ActionResult::Failed(error_chain(&e)),
        },
        Action::CreateInstances(create) => {
            create_instances(apis, step_id, create, state, deadline, poll, &mut attempts).await
        }
        Action::CompleteInstances { via, count } => {
            complete_instances(apis, *via, *count, state, deadline, poll, &mut attempts).await
        }
    };
    ActionRun { outcome, attempts }
}

async fn create_instances<A: CamundaApis>(
    apis: &A,
    step_id: &str,
    create: &CreateInstances,
    state: &mut RunState<'_>,
    deadline: Duration,
    poll: Duration,
    attempts: &mut u32,
) -> ActionResult {
    let clock = Arc::clone(&state.clock);
    let mut acknowledged = Vec::new();
    let mut rejections = 0u32;
    let mut last_error = String::new();
    loop {
        let done = match create.require {
            Require::Acknowledged => acknowledged.len() >= create.count as usize,
            Require::Rejected => rejections + acknowledged.len() as u32 >= create.count,
        };
        if done {
            break;
        }
        if clock.now() >= deadline {
            return ActionResult::Failed(format!(
                "only {} of {} instances acknowledged before the deadline; last error: {last_error}",
                acknowledged.len(),
                create.count
            ));
        }
        *attempts += 1;
        let remaining = deadline.saturating_sub(clock.now());
        let result = tokio::time::timeout(
            clock.call_budget(remaining),
            apis.create_instance(create.via, &create.process_id),
        )
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::Timeout {
                method: "POST".into(),
                url: "/v2/process-instances".into(),
            })
        });
        let at_ms = state.elapsed_ms();
        match result {
            Ok(instance) => {
                state.shared.record(InstanceAttempt::acknowledged(
                    at_ms,
                    step_id.to_owned(),
                    create.via,
                    InstanceOrigin::Step,
                    &instance,
                ));
                acknowledged.push(instance.process_instance_key);
            }
            Err(e) => {
                last_error = error_chain(&e);
                state.shared.record(InstanceAttempt::rejected(
                    at_ms,
                    step_id.to_owned(),
                    create.via,
                    InstanceOrigin::Step,
                    last_error.clone(),
                ));
                rejections += 1;
                if create.require == Require::Acknowledged {
                    state.wait(poll).await;
                }
            }
        }
    }
    match create.require {
        Require::Acknowledged => ActionResult::Done(Some(json!({ "acknowledged": acknowledged }))),
        Require::Rejected if acknowledged.is_empty() => ActionResult::Done(Some(
            json!({ "rejected": rejections, "lastError": last_error }),
        )),
        Require::Rejected => ActionResult::Failed(format!(
            "the cluster acknowledged {} of {} creations that should have been rejected: {}",
            acknowledged.len(),
            create.count,
            acknowledged.join(", ")
        )),
    }
}

/// Complete the earliest instances acknowledged before the fault: find each one's user task in
/// secondary storage, then have the engine complete it. Proves the instance's state survived in
/// the engine, not only its copy in Elasticsearch.
async fn complete_instances<A: CamundaApis>(
    apis: &A,
    via: crate::region::RegionId,
    count: u32,
    state: &mut RunState<'_>,
    deadline: Duration,
    poll: Duration,
    attempts: &mut u32,
) -> ActionResult {
    let candidates: Vec<String> = {
        let ledger = super::background::lock(&state.shared.ledger);
        let before = state
            .fault
            .as_ref()
            .map_or(ledger.len(), |f| f.attempts_before);
        ledger
            .iter()
            .take(before)
            .filter_map(|a| a.key.clone())
            .filter(|k| !state.completed_keys.contains(k))
            .take(count as usize)
            .collect()
    };
    if candidates.len() < count as usize {
        return ActionResult::Failed(format!(
            "only {} instance(s) were acknowledged before the fault; {count} asked",
            candidates.len()
        ));
    }
    let clock = Arc::clone(&state.clock);
    let mut completed = Vec::new();
    for key in &candidates {
        loop {
            *attempts += 1;
            let remaining = deadline.saturating_sub(clock.now());
            let found =
                tokio::time::timeout(clock.call_budget(remaining), apis.user_tasks(via, key))
                    .await
                    .unwrap_or_else(|_| {
                        Err(ApiError::Timeout {
                            method: "POST".into(),
                            url: "/v2/user-tasks/search".into(),
                        })
                    });
            let outcome = match found {
                Ok(tasks) => match tasks.iter().find(|t| t.state == "CREATED") {
                    Some(task) => {
                        let remaining = deadline.saturating_sub(clock.now());
                        tokio::time::timeout(
                            clock.call_budget(remaining),
                            apis.complete_user_task(via, &task.user_task_key),
                        )
                        .await
                        .unwrap_or_else(|_| {
                            Err(ApiError::Timeout {
                                method: "POST".into(),
                                url: "/v2/user-tasks/completion".into(),
                            })
                        })
                        .map(|()| true)
                    }
                    // Not exported yet (or already completed elsewhere): look again.
                    None => Ok(false),
                },
                Err(e) => Err(e),
            };
            match outcome {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) if e.is_retryable() => {}
                Err(e) => {
                    return ActionResult::Failed(format!(
                        "instance {key} could not be completed: {}",
                        error_chain(&e)
                    ));
                }
            }
            if clock.now() + poll >= deadline {
                return ActionResult::Failed(format!(
                    "the user task of instance {key} was not found open before the deadline"
                ));
            }
            state.wait(poll).await;
        }
        completed.push(key.clone());
    }
    state.completed_keys.extend(completed.iter().cloned());
    ActionResult::Done(Some(json!({ "completed": completed })))
}
