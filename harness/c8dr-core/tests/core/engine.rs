//! The engine against the scripted fake backend, on a paused clock: time is virtual, so
//! timeouts of minutes take no wall time and every duration in a report is exact.

use std::collections::BTreeSet;
use std::time::Duration;

use c8dr_core::backend::BackendInfo;
use c8dr_core::camunda::{ChangeStatus, CompletedChange, ExportingOutcome, PendingChange};
use c8dr_core::engine::{Engine, EngineOptions};
use c8dr_core::plan::Plan;
use c8dr_core::report::{InstanceOutcome, Outcome, RunReport, StepReport, to_junit_xml};
use rstest::rstest;
use serde_json::json;

use crate::fake::{
    Answer, Fail, Fake, Recorder, backend, cluster, exporter, instance, member, planned, topology,
};
use crate::support::plan;

const ALL: [u32; 8] = [0, 1, 2, 3, 4, 5, 6, 7];

async fn run(fake: &Fake, plan: &Plan) -> (RunReport, Vec<String>) {
    run_on(fake, plan, backend()).await
}

async fn run_on(fake: &Fake, plan: &Plan, backend: BackendInfo) -> (RunReport, Vec<String>) {
    let recorder = Recorder::default();
    // The strict fake answers only scripted calls; the timeline sampler is tested on its own.
    let options = EngineOptions {
        sample_timeline: false,
        ..EngineOptions::default()
    };
    let engine = Engine::new(fake, fake, backend, &recorder, options);
    let report = engine.run(plan).await;
    (report, recorder.events())
}

fn step<'a>(report: &'a RunReport, id: &str) -> &'a StepReport {
    report
        .steps()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

/// Times of the calls of one method, in whole milliseconds.
fn call_times(fake: &Fake, method: &str) -> Vec<u128> {
    fake.calls_of(method)
        .iter()
        .map(|c| c.at.as_millis())
        .collect()
}

/// The 8-broker configuration with partition `p` on brokers `p-1 .. p+2` (mod 8).
fn healthy_cluster() -> c8dr_core::camunda::ClusterTopology {
    let members = ALL
        .iter()
        .map(|&id| {
            let partitions: Vec<(u32, u32)> = (1..=8u32)
                .filter(|p| (0..4).any(|j| (p - 1 + j) % 8 == id))
                .map(|p| (p, 4 - (id + 8 - (p - 1)) % 8))
                .collect();
            member(id, &partitions)
        })
        .collect();
    cluster(1, members)
}

#[tokio::test(start_paused = true)]
async fn a_passing_run_emits_events_in_order_and_its_report_adds_up() {
    let plan = plan(
        "    - name: first
      steps:
        - name: healthy
          expect:
            - topology: {clusterSize: 8}
        - name: remove
          action:
            patchCluster: {remove: lost, force: true}
          expect:
            - change: {}
            - cluster: {members: surviving}
    - name: second
      steps:
        - name: create
          action:
            createInstances: {count: 3, processId: probe}
          expect:
            - instances: {region: surviving, visible: all}
",
    );
    let fake = Fake::new();
    {
        let mut s = fake.state();
        s.topology
            .ok(topology(&ALL, 4))
            .then(Answer::Ok(topology(&ALL, 8)));
        s.cluster = Some(healthy_cluster());
        s.visible[0] = (1..=3).map(|n| instance(n).process_instance_key).collect();
    }
    let (report, events) = run(&fake, &plan).await;

    assert_eq!(
        events,
        [
            "run engine-test started on fake",
            "stage first started",
            "step 1.1 started (first)",
            "step 1.1 pending topology",
            "step 1.1 passed",
            "step 1.2 started (first)",
            "step 1.2 action patchCluster passed",
            "step 1.2 passed",
            "stage first passed",
            "stage second started",
            "step 2.1 started (second)",
            "step 2.1 action createInstances passed",
            "step 2.1 passed",
            "stage second passed",
            "run passed",
        ]
    );
    assert_eq!(report.outcome, Outcome::Passed);
    assert!(report.failure.is_none());
    assert_eq!((report.lost_region.0, report.surviving_region.0), (1, 0));

    // Counts add up: one step report per planned step, one expectation report per expectation.
    assert_eq!(report.stages.len(), plan.stages.len());
    assert_eq!(report.steps().count(), plan.steps().count());
    for ((_, planned), reported) in plan.steps().zip(report.steps()) {
        assert_eq!(planned.id, reported.id);
        assert_eq!(planned.expectations.len(), reported.expectations.len());
        assert_eq!(reported.outcome, Outcome::Passed);
        assert!(
            reported
                .expectations
                .iter()
                .all(|e| e.outcome == Outcome::Passed && e.reason.is_none())
        );
    }
    // Durations are virtual and exact: the topology held at the second poll, one interval in.
    let healthy = step(&report, "1.1");
    assert_eq!(
        (
            healthy.expectations[0].polls,
            healthy.expectations[0].held_after_ms
        ),
        (2, Some(1000))
    );
    assert_eq!(healthy.duration_ms, 1000);
    assert_eq!(healthy.timeout_ms, 30_000);
    let total: u64 = report.stages.iter().map(|s| s.duration_ms).sum();
    assert_eq!(report.stages[1].started_ms, report.stages[0].duration_ms);
    // After the steps, the final ledger audit: region1's Elasticsearch never shows the three
    // keys, so it polls for the whole export-lag tolerance (30s by default) and then reports
    // them missing there; region0 has them all, so nothing is lost (RPO 0).
    let audit = &report.ledger_audit;
    assert_eq!(audit.checked_at_ms, total + 30_000);
    assert_eq!(report.duration_ms, audit.checked_at_ms);
    assert_eq!(audit.acknowledged, 3);
    assert!(audit.regions[0].missing.is_empty() && audit.regions[0].error.is_none());
    assert_eq!(audit.regions[1].missing, report.acknowledged_keys());
    assert!(audit.lost.is_empty());
    assert_eq!(report.recovery.rpo, Some(0));

    // The change id is the one the fake's configuration assigned, and the ledger has every key.
    let remove = step(&report, "1.2");
    let action = remove.action.as_ref().expect("action report");
    assert_eq!((action.attempts, action.kind.as_str()), (1, "patchCluster"));
    assert_eq!(action.result.as_ref().expect("result")["changeId"], 2);
    assert_eq!(report.instances.len(), 3);
    assert!(
        report
            .instances
            .iter()
            .all(|a| a.outcome == InstanceOutcome::Acknowledged && a.step_id == "2.1")
    );
    assert_eq!(
        report.acknowledged_keys(),
        (1..=3)
            .map(|n| instance(n).process_instance_key)
            .collect::<Vec<_>>()
    );
    assert_eq!(report.instances[0].partition, Some(2));
    assert_eq!(
        fake.calls_of("patch_cluster")[0].args,
        r#"via region0 {"brokers":{"remove":[1,3,5,7]}} force=true dryRun=false"#
    );
}

fn three_then_two_steps() -> Plan {
    plan(
        "    - name: first
      steps:
        - name: healthy
          expect:
            - topology: {clusterSize: 8}
        - name: re-add
          action:
            patchCluster: {add: lost, replicationFactor: 4}
          expect:
            - change: {}
            - topology: {clusterSize: 8}
        - name: never run
          expect:
            - topology: {clusterSize: 8}
    - name: second
      steps:
        - name: also never run
          action:
            loseRegion: {region: lost, mode: down}
        - name: nor this
          expect:
            - exporters: {status: {lost: ENABLED}}
",
    )
}

#[tokio::test(start_paused = true)]
async fn after_a_failed_step_every_later_step_is_skipped_and_the_run_fails() {
    let plan = three_then_two_steps();
    let fake = Fake::new();
    {
        let mut s = fake.state();
        s.topology.then(Answer::Ok(topology(&ALL, 8)));
        s.patch_cluster.fail(Fail::Http(
            400,
            r#"{"message": "Cannot force add brokers"}"#,
        ));
    }
    let (report, events) = run(&fake, &plan).await;
    assert_eq!(
        events,
        [
            "run engine-test started on fake",
            "stage first started",
            "step 1.1 started (first)",
            "step 1.1 passed",
            "step 1.2 started (first)",
            "step 1.2 action patchCluster failed",
            "step 1.2 failed",
            "step 1.3 skipped",
            "stage first failed",
            "stage second started",
            "step 2.1 skipped",
            "step 2.2 skipped",
            "stage second skipped",
            "run failed",
        ]
    );
    assert_eq!(report.outcome, Outcome::Failed);
    let failure = report.failure.as_ref().expect("failure summary");
    assert_eq!(
        (
            failure.step_id.as_str(),
            failure.stage.as_str(),
            failure.step.as_str()
        ),
        ("1.2", "first", "re-add")
    );
    assert_eq!(
        failure.reason,
        r#"patchCluster failed: PATCH /actuator/cluster answered HTTP 400: {"message": "Cannot force add brokers"}"#
    );
    let outcomes: Vec<Outcome> = report.steps().map(|s| s.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Passed,
            Outcome::Failed,
            Outcome::Skipped,
            Outcome::Skipped,
            Outcome::Skipped
        ]
    );
    // The failed step's expectations were not observed; skipped steps did nothing at all.
    let failed = step(&report, "1.2");
    assert!(
        failed
            .expectations
            .iter()
            .all(|e| e.outcome == Outcome::Skipped && e.polls == 0)
    );
    for id in ["1.3", "2.1", "2.2"] {
        let skipped = step(&report, id);
        assert!(
            skipped.action.is_none()
                && skipped.expectations.is_empty()
                && skipped.failure.is_none()
        );
    }
    let methods: Vec<&str> = fake.calls().iter().map(|c| c.method).collect();
    assert_eq!(methods, ["topology", "patch_cluster"]);
}

#[rstest]
#[case::no_answer(Fail::NoAnswer, true)]
#[case::bad_gateway(Fail::Http(502, "Bad Gateway"), true)]
#[case::unavailable(Fail::Http(503, "Service Unavailable"), true)]
#[case::bad_request(Fail::Http(400, r#"{"message": "invalid"}"#), false)]
#[case::conflict(Fail::Http(409, r#"{"message": "another change is pending"}"#), false)]
#[case::internal_error(Fail::Http(500, r#"{"message": "not the coordinator"}"#), false)]
#[case::gateway_timeout(Fail::Http(504, "Gateway Timeout"), false)]
#[case::timeout(Fail::Timeout, false)]
#[case::undecodable(Fail::Decode, false)]
#[tokio::test(start_paused = true)]
async fn an_action_is_retried_only_when_the_request_certainly_changed_nothing(
    #[case] fail: Fail,
    #[case] retried: bool,
) {
    let plan = plan(
        "    - name: failover
      steps:
        - name: remove
          action:
            patchCluster: {remove: lost, force: true}
",
    );
    let fake = Fake::new();
    fake.state()
        .patch_cluster
        .fail(fail.clone())
        .fail(fail)
        .ok(planned(5));
    let (report, _) = run(&fake, &plan).await;
    let action = step(&report, "1.1").action.clone().expect("action report");
    if retried {
        assert_eq!(report.outcome, Outcome::Passed, "{:?}", report.failure);
        assert_eq!(action.attempts, 3);
        assert_eq!(
            call_times(&fake, "patch_cluster"),
            [0, 1000, 2000],
            "one poll interval apart"
        );
        assert_eq!(action.result.expect("result")["changeId"], 5);
    } else {
        assert_eq!(report.outcome, Outcome::Failed);
        assert_eq!(action.attempts, 1);
        assert_eq!(fake.calls_of("patch_cluster").len(), 1);
        assert!(action.error.is_some());
    }
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_the_step_deadline_with_the_last_error() {
    let plan = plan(
        "    - name: failover
      steps:
        - name: remove
          timeout: 5s
          action:
            disableExporter: {exporter: lost}
",
    );
    let fake = Fake::new();
    fake.state()
        .disable_exporter
        .then(Answer::Err(Fail::Http(503, "Service Unavailable")));
    let (report, _) = run(&fake, &plan).await;
    let s = step(&report, "1.1");
    let times = call_times(&fake, "disable_exporter");
    assert!(times.len() >= 2, "{times:?}");
    assert!(
        times.iter().all(|t| *t < 5000),
        "no call after the deadline: {times:?}"
    );
    assert!(
        *times.last().expect("calls") >= 4000,
        "retried until the deadline: {times:?}"
    );
    assert!(times.windows(2).all(|w| w[1] - w[0] == 1000), "{times:?}");
    let action = s.action.as_ref().expect("action");
    assert_eq!(action.attempts as usize, times.len());
    assert_eq!(s.outcome, Outcome::Failed);
    assert_eq!(
        s.failure.as_deref(),
        Some(
            "disableExporter failed: POST /actuator/exporters/x/disable answered HTTP 503: Service Unavailable"
        )
    );
    assert!(s.duration_ms <= 5000);
}

fn exporting_plan(timeout: &str) -> Plan {
    plan(&format!(
        "    - name: failback
      steps:
        - name: pause
          timeout: {timeout}
          action:
            pauseExporting: {{}}
"
    ))
}

const BODY_500: &str = r#"{"body": {"message": "Expected 4 members of partition 1 but found 2"}, "status": 500, "contentType": null}"#;
const BODY_204: &str = r#"{"body": null, "status": 204, "contentType": null}"#;

#[tokio::test(start_paused = true)]
async fn pause_answered_200_with_status_500_in_the_body_is_retried_until_it_succeeds() {
    let plan = exporting_plan("2m");
    let fake = Fake::new();
    fake.state()
        .exporting
        .ok(ExportingOutcome::from_answer(200, BODY_500))
        .ok(ExportingOutcome::from_answer(200, BODY_500))
        .ok(ExportingOutcome::from_answer(200, ""))
        .ok(ExportingOutcome::from_answer(200, BODY_204));
    let (report, _) = run(&fake, &plan).await;
    assert_eq!(report.outcome, Outcome::Passed, "{:?}", report.failure);
    let action = step(&report, "1.1").action.clone().expect("action");
    assert_eq!(action.attempts, 4);
    assert_eq!(
        action.result,
        Some(json!({"httpStatus": 200, "bodyStatus": 204}))
    );
    assert_eq!(call_times(&fake, "exporting"), [0, 1000, 2000, 3000]);
    assert_eq!(fake.calls_of("exporting")[0].args, "via region0 Pause");
}

#[rstest]
#[case::http_200_with_status_204(200, BODY_204)]
#[case::real_204(204, "")]
#[tokio::test(start_paused = true)]
async fn pause_succeeds_at_once_on_204(#[case] http: u16, #[case] body: &str) {
    let plan = exporting_plan("2m");
    let fake = Fake::new();
    fake.state()
        .exporting
        .ok(ExportingOutcome::from_answer(http, body));
    let (report, _) = run(&fake, &plan).await;
    assert_eq!(report.outcome, Outcome::Passed, "{:?}", report.failure);
    assert_eq!(
        step(&report, "1.1")
            .action
            .as_ref()
            .expect("action")
            .attempts,
        1
    );
}

#[tokio::test(start_paused = true)]
async fn pause_answered_status_500_until_the_deadline_fails_with_the_body_message() {
    let plan = exporting_plan("10s");
    let fake = Fake::new();
    fake.state()
        .exporting
        .then(Answer::Ok(ExportingOutcome::from_answer(200, BODY_500)));
    let (report, _) = run(&fake, &plan).await;
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, Outcome::Failed);
    assert_eq!(
        s.failure.as_deref(),
        Some(
            "pauseExporting failed: HTTP 200 with status 500 in the body: Expected 4 members of partition 1 but found 2"
        )
    );
    let times = call_times(&fake, "exporting");
    assert!(times.iter().all(|t| *t < 10_000), "{times:?}");
    assert!(*times.last().expect("calls") >= 9000, "{times:?}");
    assert!(times.windows(2).all(|w| w[1] - w[0] == 1000), "{times:?}");
    assert_eq!(
        s.action.as_ref().expect("action").attempts as usize,
        times.len()
    );
}

#[tokio::test(start_paused = true)]
async fn the_change_expectation_follows_the_change_its_own_action_started() {
    let plan = plan(
        "    - name: failover
      steps:
        - name: remove
          action:
            patchCluster: {remove: lost, force: true}
          expect:
            - change: {}
        - name: disable
          timeout: 5s
          action:
            disableExporter: {exporter: lost}
          expect:
            - change: {status: COMPLETED}
",
    );
    let completed = |id: i64, status: ChangeStatus| {
        let mut c = cluster(id + 1, vec![member(0, &[])]);
        c.last_change = Some(CompletedChange {
            id,
            status,
            started_at: None,
            completed_at: None,
        });
        c
    };
    let mut pending = completed(3, ChangeStatus::Completed);
    pending.pending_change = Some(PendingChange {
        id: 5,
        status: ChangeStatus::InProgress,
        completed: vec![],
        pending: vec![],
    });
    let fake = Fake::new();
    {
        let mut s = fake.state();
        s.patch_cluster.ok(planned(5));
        s.get_cluster
            .ok(completed(3, ChangeStatus::Completed)) // an older change
            .ok(pending) // ours, running
            .ok(completed(5, ChangeStatus::Completed)); // ours, done
        s.disable_exporter.ok(planned(7));
        // Change 5 stays the last one: it must not satisfy the disable step's expectation.
        s.get_cluster
            .then(Answer::Ok(completed(5, ChangeStatus::Completed)));
    }
    let (report, _) = run(&fake, &plan).await;

    let remove = step(&report, "1.1");
    assert_eq!(remove.outcome, Outcome::Passed);
    assert_eq!(
        (
            remove.expectations[0].polls,
            remove.expectations[0].held_after_ms
        ),
        (3, Some(2000))
    );
    assert_eq!(remove.expectations[0].observed["changeId"], 5);

    let disable = step(&report, "1.2");
    assert_eq!(disable.outcome, Outcome::Failed);
    let e = &disable.expectations[0];
    assert_eq!(e.observed["changeId"], 7);
    assert_eq!(e.observed["lastChange"]["id"], 5);
    assert_eq!(
        e.reason.as_deref(),
        Some("the last change is 5 (COMPLETED), not 7")
    );
}

#[tokio::test(start_paused = true)]
async fn a_change_that_failed_does_not_count_as_completed() {
    let plan = plan(
        "    - name: failover
      steps:
        - name: remove
          timeout: 3s
          action:
            patchCluster: {remove: lost, force: true}
          expect:
            - change: {}
",
    );
    let fake = Fake::new();
    {
        let mut s = fake.state();
        s.patch_cluster.ok(planned(5));
        let mut c = cluster(6, vec![member(0, &[])]);
        c.last_change = Some(CompletedChange {
            id: 5,
            status: ChangeStatus::Failed,
            started_at: None,
            completed_at: None,
        });
        s.cluster = Some(c);
    }
    let (report, _) = run(&fake, &plan).await;
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, Outcome::Failed);
    assert_eq!(
        s.expectations[0].reason.as_deref(),
        Some("change 5 is FAILED, expected COMPLETED")
    );
}

fn hold_plan() -> Plan {
    plan(
        "    - name: degraded
      steps:
        - name: stays
          holdFor: 5s
          expect:
            - topology: {clusterSize: 8}
",
    )
}

#[tokio::test(start_paused = true)]
async fn hold_for_passes_after_consecutive_holding_rounds() {
    let fake = Fake::new();
    fake.state().topology.then(Answer::Ok(topology(&ALL, 8)));
    let (report, _) = run(&fake, &hold_plan()).await;
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, Outcome::Passed);
    assert_eq!(s.duration_ms, 5000);
    assert_eq!(s.expectations[0].held_after_ms, Some(0));
    assert_eq!(s.expectations[0].polls, 6);
}

#[tokio::test(start_paused = true)]
async fn hold_for_starts_over_when_the_condition_flips() {
    let fake = Fake::new();
    {
        let mut s = fake.state();
        for size in [8, 8, 8, 4] {
            s.topology.ok(topology(&ALL, size));
        }
        s.topology.then(Answer::Ok(topology(&ALL, 8)));
    }
    let (report, events) = run(&fake, &hold_plan()).await;
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, Outcome::Passed);
    // Held at 0-2 s, flipped at 3 s, held again from 4 s: passes 5 s later, at 9 s.
    assert_eq!(s.duration_ms, 9000);
    assert_eq!(s.expectations[0].held_after_ms, Some(4000));
    assert_eq!(events.iter().filter(|e| e.contains("pending")).count(), 1);
}

#[tokio::test(start_paused = true)]
async fn hold_for_fails_when_the_condition_keeps_flipping() {
    // Holds for four rounds (3 s) out of every five: never the 5 s required. The last round,
    // at the 30 s deadline, does not hold, so the step's failure names the expectation.
    let fake = Fake::new();
    {
        let mut s = fake.state();
        for round in 0..40 {
            s.topology
                .ok(topology(&ALL, if round % 5 == 0 { 4 } else { 8 }));
        }
    }
    let (report, _) = run(&fake, &hold_plan()).await;
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, Outcome::Failed);
    assert_eq!(
        s.failure.as_deref(),
        Some(
            "expectation `topology via region0: clusterSize 8` did not hold within 30s: clusterSize is 4, expected 8"
        )
    );
    assert_eq!(s.duration_ms, 30_000);
}

#[tokio::test(start_paused = true)]
async fn hold_for_fails_when_it_held_too_briefly_at_the_deadline() {
    let fake = Fake::new();
    {
        let mut s = fake.state();
        for round in 0..40 {
            s.topology
                .ok(topology(&ALL, if round % 5 == 4 { 4 } else { 8 }));
        }
    }
    let (report, _) = run(&fake, &hold_plan()).await;
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, Outcome::Failed);
    assert_eq!(
        s.failure.as_deref(),
        Some("the expectations held, but not for the required 5s before the step timed out")
    );
}

fn never_holds_plan() -> Plan {
    plan(
        "    - name: steady
      steps:
        - name: healthy
          timeout: 1m
          expect:
            - topology: {clusterSize: 8}
",
    )
}

#[tokio::test(start_paused = true)]
async fn an_expectation_that_never_holds_fails_at_the_scaled_timeout_with_the_last_observation() {
    let fake = Fake::new();
    {
        let mut s = fake.state();
        for n in 0..1000 {
            s.topology.ok(topology(&ALL, 100 + n));
        }
    }
    let backend = BackendInfo {
        name: "fast".to_owned(),
        time_scale: 10.0,
        min_poll_interval: Duration::ZERO,
    };
    let (report, _) = run_on(&fake, &never_holds_plan(), backend).await;
    let s = step(&report, "1.1");
    // 1m of cluster time is 6 s of wall time at 10x; polls every 100 ms.
    assert_eq!(s.timeout_ms, 6000);
    assert!((5900..=6000).contains(&s.duration_ms), "{}", s.duration_ms);
    let times = call_times(&fake, "topology");
    assert!(times.windows(2).all(|w| w[1] - w[0] == 100), "{times:?}");
    let e = &s.expectations[0];
    assert_eq!(e.polls as usize, times.len());
    let last = 100 + times.len() as u64 - 1;
    assert_eq!(
        e.observed["clusterSize"], last,
        "the last observation is reported"
    );
    assert_eq!(e.outcome, Outcome::Failed);
    let reason = format!("clusterSize is {last}, expected 8");
    assert_eq!(e.reason.as_deref(), Some(reason.as_str()));
    let failure = format!(
        "expectation `topology via region0: clusterSize 8` did not hold within 1m: {reason}"
    );
    assert_eq!(s.failure.as_deref(), Some(failure.as_str()));
    assert_eq!(report.failure.as_ref().expect("summary").reason, failure);
    assert_eq!(report.outcome, Outcome::Failed);
}

#[tokio::test(start_paused = true)]
async fn the_backends_minimum_poll_interval_wins_over_a_shorter_scaled_one() {
    let fake = Fake::new();
    fake.state().topology.then(Answer::Ok(topology(&ALL, 4)));
    let backend = BackendInfo {
        name: "fast".to_owned(),
        time_scale: 10.0,
        min_poll_interval: Duration::from_millis(500),
    };
    let (report, _) = run_on(&fake, &never_holds_plan(), backend).await;
    let times = call_times(&fake, "topology");
    assert!(times.windows(2).all(|w| w[1] - w[0] == 500), "{times:?}");
    assert!(step(&report, "1.1").duration_ms <= 6000);
}

#[tokio::test(start_paused = true)]
async fn an_unobservable_expectation_keeps_being_polled() {
    let fake = Fake::new();
    {
        let mut s = fake.state();
        s.topology
            .fail(Fail::NoAnswer)
            .fail(Fail::Http(504, "Gateway Timeout"));
        s.topology.then(Answer::Ok(topology(&ALL, 8)));
    }
    let (report, _) = run(&fake, &never_holds_plan()).await;
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, Outcome::Passed);
    assert_eq!(s.expectations[0].polls, 3);
}

#[rstest]
#[case::infrastructure(
    Fail::Infrastructure("kind is not running"),
    Outcome::Errored,
    "loseRegion failed: the platform could not lose region1: kind is not running"
)]
#[case::operation(
    Fail::Operation("namespace is terminating"),
    Outcome::Failed,
    "loseRegion failed: lose on region1 failed: namespace is terminating"
)]
#[tokio::test(start_paused = true)]
async fn a_platform_failure_fails_the_run_and_an_infrastructure_one_errors_it(
    #[case] fail: Fail,
    #[case] outcome: Outcome,
    #[case] reason: &str,
) {
    let plan = plan(
        "    - name: loss
      steps:
        - name: lose
          action:
            loseRegion: {region: lost, mode: cutOff}
        - name: degraded
          expect:
            - topology: {clusterSize: 8}
",
    );
    let fake = Fake::new();
    fake.state().lose_region.fail(fail);
    let (report, events) = run(&fake, &plan).await;
    assert_eq!(report.outcome, outcome);
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, outcome);
    assert_eq!(s.action.as_ref().expect("action").outcome, outcome);
    assert_eq!(s.failure.as_deref(), Some(reason));
    assert_eq!(step(&report, "1.2").outcome, Outcome::Skipped);
    assert_eq!(report.stages[0].outcome, outcome);
    assert_eq!(
        events.last().map(String::as_str),
        Some(format!("run {}", outcome.word()).as_str())
    );
    assert_eq!(fake.calls_of("lose_region")[0].args, "region1 cutOff");
    assert!(fake.calls_of("topology").is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_platforms_notes_reach_every_report() {
    let plan = plan(
        "    - name: loss
      steps:
        - name: lose
          action:
            loseRegion: {region: lost, mode: cutOff}
        - name: degraded
          expect:
            - topology: {clusterSize: 8}
",
    );
    let note = "established connections survived the NetworkPolicy: restarted 4 pods";
    let fake = Fake::new();
    {
        let mut s = fake.state();
        s.lose_region.ok(());
        s.lose_region_notes = vec![note.to_owned()];
        s.topology.then(Answer::Ok(topology(&ALL, 8)));
    }
    let (report, _) = run(&fake, &plan).await;
    assert_eq!(report.outcome, Outcome::Passed);
    let action = step(&report, "1.1").action.as_ref().expect("action");
    assert_eq!(action.notes().collect::<Vec<_>>(), [note]);
    // JUnit: the passed step's output carries the note.
    let xml = to_junit_xml(&report).expect("XML");
    assert!(
        xml.contains(&format!("<system-out>note: {note}</system-out>")),
        "{xml}"
    );
    // The CI summary lists it under the step.
    let md = c8dr_core::report::to_markdown(&report);
    assert!(
        md.contains(&format!(
            "### Platform notes\n\n- step 1.1 `lose`: {note}\n"
        )),
        "{md}"
    );
    // The HTML report's script draws the action result's notes.
    let html = c8dr_core::report::to_html(&report).expect("HTML");
    assert!(html.contains(note), "the note is in the embedded report");
    assert!(
        html.contains(r#"html("div", "note: " + note, what, "note")"#),
        "the script draws notes"
    );
    // A step without notes gets no output and the summary no notes section.
    fake.state().lose_region_notes.clear();
    fake.state().lose_region.ok(());
    fake.state().topology.then(Answer::Ok(topology(&ALL, 8)));
    let (report, _) = run(&fake, &plan).await;
    assert!(
        !to_junit_xml(&report)
            .expect("XML")
            .contains("<system-out>note")
    );
    assert!(!c8dr_core::report::to_markdown(&report).contains("Platform notes"));
}

#[tokio::test(start_paused = true)]
async fn a_platform_operation_that_never_returns_fails_at_the_step_timeout() {
    let plan = plan(
        "    - name: loss
      steps:
        - name: lose
          action:
            loseRegion: {region: lost, mode: down}
",
    );
    let fake = Fake::new();
    fake.state().lose_region.push([Answer::Hang]);
    let (report, _) = run(&fake, &plan).await;
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, Outcome::Failed);
    assert_eq!(s.failure.as_deref(), Some("loseRegion failed: timed out"));
    // loseRegion defaults to 2 minutes.
    assert_eq!((s.timeout_ms, s.duration_ms), (120_000, 120_000));
}

fn create_plan(require: &str) -> Plan {
    plan(&format!(
        "    - name: loss
      steps:
        - name: create
          timeout: 10s
          action:
            createInstances: {{count: 2, processId: probe, require: {require}}}
"
    ))
}

#[tokio::test(start_paused = true)]
async fn create_instances_requiring_rejection_fails_if_the_cluster_acknowledges() {
    let fake = Fake::new();
    fake.state()
        .create_instance
        .fail(Fail::Http(503, "no leader"))
        .ok(instance(9));
    let (report, _) = run(&fake, &create_plan("rejected")).await;
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, Outcome::Failed);
    let key = instance(9).process_instance_key;
    assert_eq!(
        s.failure.as_deref(),
        Some(format!("createInstances failed: the cluster acknowledged 1 of 2 creations that should have been rejected: {key}").as_str())
    );
    assert_eq!(report.instances.len(), 2);
    assert_eq!(report.instances[0].outcome, InstanceOutcome::Rejected);
    assert!(
        report.instances[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("HTTP 503"))
    );
    assert_eq!(report.instances[1].outcome, InstanceOutcome::Acknowledged);
    assert_eq!(report.instances[1].key.as_deref(), Some(key.as_str()));
    // An acknowledged instance is in the ledger even though the step failed.
    assert_eq!(report.acknowledged_keys(), [key]);
}

#[tokio::test(start_paused = true)]
async fn create_instances_requiring_rejection_passes_when_every_attempt_is_rejected() {
    let fake = Fake::new();
    fake.state()
        .create_instance
        .then(Answer::Err(Fail::Http(503, "no leader")));
    let (report, _) = run(&fake, &create_plan("rejected")).await;
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, Outcome::Passed, "{:?}", s.failure);
    let action = s.action.as_ref().expect("action");
    assert_eq!(action.attempts, 2);
    assert_eq!(action.result.as_ref().expect("result")["rejected"], 2);
    assert!(
        report
            .instances
            .iter()
            .all(|a| a.outcome == InstanceOutcome::Rejected)
    );
    assert!(report.acknowledged_keys().is_empty());
}

#[tokio::test(start_paused = true)]
async fn create_instances_retries_rejected_attempts_until_enough_are_acknowledged() {
    let fake = Fake::new();
    fake.state()
        .create_instance
        .fail(Fail::NoAnswer)
        .fail(Fail::Http(503, "no leader"));
    let (report, _) = run(&fake, &create_plan("acknowledged")).await;
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, Outcome::Passed, "{:?}", s.failure);
    assert_eq!(s.action.as_ref().expect("action").attempts, 4);
    let outcomes: Vec<InstanceOutcome> = report.instances.iter().map(|a| a.outcome).collect();
    use InstanceOutcome::{Acknowledged, Rejected};
    assert_eq!(outcomes, [Rejected, Rejected, Acknowledged, Acknowledged]);
    assert_eq!(call_times(&fake, "create_instance"), [0, 1000, 2000, 2000]);
}

#[tokio::test(start_paused = true)]
async fn create_instances_fails_when_too_few_are_acknowledged_by_the_deadline() {
    let fake = Fake::new();
    fake.state()
        .create_instance
        .ok(instance(1))
        .then(Answer::Err(Fail::Http(503, "no leader")));
    let (report, _) = run(&fake, &create_plan("acknowledged")).await;
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, Outcome::Failed);
    assert!(
        s.failure.as_deref().is_some_and(|f| f.starts_with(
            "createInstances failed: only 1 of 2 instances acknowledged before the deadline; last error: POST /v2/process-instances answered HTTP 503: no leader"
        )),
        "{:?}",
        s.failure
    );
    assert!(s.duration_ms <= 11_000, "{}", s.duration_ms);
}

fn placement_plan() -> Plan {
    plan(
        "    - name: placement
      steps:
        - name: capture
          expect:
            - cluster: {members: all, capturePlacement: original}
        - name: remove
          action:
            patchCluster: {remove: lost, force: true}
          expect:
            - cluster: {members: surviving, placementEquals: original, placementOf: surviving}
        - name: compare everything
          timeout: 2s
          expect:
            - cluster: {placementEquals: original}
",
    )
}

#[tokio::test(start_paused = true)]
async fn a_placement_captured_in_one_step_is_compared_in_later_ones() {
    let healthy = healthy_cluster();
    // The first answer lacks broker 7 and has a different placement: the capture must come
    // from the round in which the whole step held, not from the first observation.
    let mut partial = healthy.clone();
    partial.brokers.retain(|b| b.id != 7);
    partial.brokers[0].partitions[0].priority = 1;
    let fake = Fake::new();
    {
        let mut s = fake.state();
        s.get_cluster.ok(partial).ok(healthy.clone());
        s.cluster = Some(healthy.clone());
    }
    let (report, _) = run(&fake, &placement_plan()).await;
    let capture = step(&report, "1.1");
    assert_eq!(
        (capture.outcome, capture.expectations[0].polls),
        (Outcome::Passed, 2)
    );
    // After the removal, the surviving brokers keep their partitions and priorities.
    let remove = step(&report, "1.2");
    assert_eq!(remove.outcome, Outcome::Passed, "{:?}", remove.failure);
    // Over all brokers the placement differs: the removed ones hold nothing now.
    let all = step(&report, "1.3");
    assert_eq!(all.outcome, Outcome::Failed);
    let reason = all.expectations[0].reason.as_deref().expect("reason");
    assert!(
        reason.starts_with("broker 1 holds nothing (not a member), expected 1(3) 2(4) 7(1) 8(2)"),
        "{reason}"
    );
    assert_eq!(all.expectations[0].observed["members"], json!([0, 2, 4, 6]));
}

#[tokio::test(start_paused = true)]
async fn a_changed_placement_fails_the_comparison_naming_the_broker() {
    let healthy = healthy_cluster();
    let mut moved = healthy.clone();
    moved.brokers[2].partitions[0].priority = 4; // broker 2's first replica gets another priority
    let fake = Fake::new();
    {
        let mut s = fake.state();
        s.get_cluster.ok(healthy.clone());
        s.cluster = Some(moved);
    }
    let plan = plan(
        "    - name: placement
      steps:
        - name: capture
          expect:
            - cluster: {capturePlacement: original}
        - name: compare
          timeout: 2s
          expect:
            - cluster: {placementEquals: original, placementOf: [0, 2]}
",
    );
    let (report, _) = run(&fake, &plan).await;
    let compare = step(&report, "1.2");
    assert_eq!(compare.outcome, Outcome::Failed);
    assert_eq!(
        compare.expectations[0].reason.as_deref(),
        Some("broker 2 holds 1(4) 2(3) 3(4) 8(1), expected 1(2) 2(3) 3(4) 8(1)")
    );
}

#[tokio::test(start_paused = true)]
async fn the_junit_report_has_one_testcase_per_step_and_the_failure_carries_the_observation() {
    let plan = plan(
        "    - name: steady
      steps:
        - name: healthy
          expect:
            - topology: {clusterSize: 8}
        - name: exporters
          timeout: 3s
          expect:
            - exporters: {status: {lost: ENABLED, surviving: ENABLED}}
    - name: later
      steps:
        - name: skipped
          action:
            recreateRegion: {region: lost}
",
    );
    let fake = Fake::new();
    {
        let mut s = fake.state();
        s.topology.then(Answer::Ok(topology(&ALL, 8)));
        s.exporter_statuses = vec![
            exporter("camundaregion0", "ENABLED"),
            exporter("camundaregion1", "DISABLED"),
        ];
    }
    let (report, _) = run(&fake, &plan).await;
    assert_eq!(report.outcome, Outcome::Failed);
    let xml = to_junit_xml(&report).expect("XML");
    assert_eq!(xml.matches("<testcase ").count(), plan.steps().count());
    assert_eq!(xml.matches("<testsuite ").count(), plan.stages.len());
    assert_eq!(xml.matches("<failure ").count(), 1);
    assert_eq!(xml.matches("<skipped ").count(), 1);
    assert!(
        xml.contains("exporters via region0: camundaregion0 ENABLED, camundaregion1 ENABLED"),
        "{xml}"
    );
    assert!(
        xml.contains("reason: exporter camundaregion1 is DISABLED, expected ENABLED"),
        "{xml}"
    );
    assert!(
        xml.contains(r#"last observed: {&quot;camundaregion0&quot;:&quot;ENABLED&quot;,&quot;camundaregion1&quot;:&quot;DISABLED&quot;}"#),
        "{xml}"
    );
    insta::assert_snapshot!(xml);
    insta::assert_json_snapshot!(report, {".startedAt" => "[started at]"});

    // The CI summary says the same: which step failed, what was expected, what was seen.
    let md = c8dr_core::report::to_markdown(&report);
    assert!(md.starts_with("## ❌ c8dr `"), "{md}");
    assert!(
        md.contains("**Failed at step 1.2 `exporters`** (stage steady)"),
        "{md}"
    );
    assert!(
        md.contains("  - but: exporter camundaregion1 is DISABLED, expected ENABLED"),
        "{md}"
    );
    assert!(md.contains("| later | ⏭️ skipped | 0/1 |"), "{md}");
}

#[tokio::test(start_paused = true)]
async fn an_errored_run_is_an_error_in_junit() {
    let plan = plan(
        "    - name: loss
      steps:
        - name: lose
          action:
            loseRegion: {region: lost, mode: cutOff}
",
    );
    let fake = Fake::new();
    fake.state()
        .lose_region
        .fail(Fail::Infrastructure("kind is not running"));
    let (report, _) = run(&fake, &plan).await;
    let xml = to_junit_xml(&report).expect("XML");
    assert_eq!(xml.matches("<error ").count(), 1, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 0, "{xml}");
    assert!(
        xml.contains("error: the platform could not lose region1: kind is not running"),
        "{xml}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_deployment_without_the_process_fails_and_a_restore_with_failed_shards_fails() {
    let plan = plan(
        "    - name: workload
      steps:
        - name: deploy
          action:
            deployProcess: {resource: probe.bpmn}
",
    );
    let fake = Fake::new();
    fake.state().deploy_resource.ok(serde_json::from_value(
        json!({"deploymentKey": "1", "deployments": [
            {"processDefinition": {"processDefinitionId": "other", "processDefinitionKey": "2"}}]}),
    )
    .expect("deployment"));
    let (report, _) = run(&fake, &plan).await;
    assert_eq!(
        step(&report, "1.1").failure.as_deref(),
        Some("deployProcess failed: the deployment does not contain process probe")
    );
    let deployed = &fake.calls_of("deploy_resource")[0].args;
    assert!(
        deployed.starts_with("via region0 probe.bpmn ("),
        "{deployed}"
    );

    let plan = crate::support::plan(
        "    - name: failback
      steps:
        - name: restore
          action:
            restoreSnapshot: {region: lost, snapshot: failback}
",
    );
    let fake = Fake::new();
    fake.state().restore_snapshot.ok(serde_json::from_value(
        json!({"snapshot": {"snapshot": "failback", "indices": [],
            "shards": {"total": 10, "failed": 2, "successful": 8}}}),
    )
    .expect("restore response"));
    let (report, _) = run(&fake, &plan).await;
    assert_eq!(
        step(&report, "1.1").failure.as_deref(),
        Some("restoreSnapshot failed: restore of failback failed on 2 of 10 shards")
    );
    assert_eq!(
        fake.calls_of("restore_snapshot")[0].args,
        "region1 repo/failback"
    );
}

#[tokio::test(start_paused = true)]
async fn instances_expectations_are_judged_against_the_ledger() {
    let plan = plan(
        "    - name: data
      steps:
        - name: nothing yet
          timeout: 2s
          expect:
            - instances: {region: surviving, visible: all}
",
    );
    let fake = Fake::new();
    let (report, _) = run(&fake, &plan).await;
    assert_eq!(
        step(&report, "1.1").expectations[0].reason.as_deref(),
        Some("no instance has been acknowledged yet: nothing to look for")
    );
    assert!(fake.calls_of("find_instances").is_empty());

    let plan = crate::support::plan_with_export_lag(
        "10s",
        "    - name: data
      steps:
        - name: create
          action:
            createInstances: {count: 2, processId: probe}
          expect:
            - instances: {region: surviving, visible: stale}
            - instances: {region: lost, visible: all}
",
    );
    let fake = Fake::new();
    {
        let mut s = fake.state();
        s.visible[0] = BTreeSet::from([instance(1).process_instance_key]);
        s.visible[1] = (1..=2).map(|n| instance(n).process_instance_key).collect();
    }
    let (report, _) = run(&fake, &plan).await;
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, Outcome::Passed, "{:?}", s.failure);
    // Stale only once the missing key is as old as the export lag.
    assert_eq!(s.expectations[0].held_after_ms, Some(10_000));
    assert_eq!(
        s.expectations[0].observed,
        json!({"acknowledged": 2, "olderThanExportLag": 2, "visible": 1})
    );
    assert_eq!(
        s.expectations[1].observed,
        json!({"acknowledged": 2, "visible": 2})
    );
}

/// One step creating two instances and expecting region0's Elasticsearch to be stale.
fn stale_plan(timeout: &str) -> Plan {
    crate::support::plan_with_export_lag(
        "10s",
        &format!(
            "    - name: data
      steps:
        - name: stalled
          timeout: {timeout}
          action:
            createInstances: {{count: 2, processId: probe}}
          expect:
            - instances: {{region: surviving, visible: stale}}
"
        ),
    )
}

#[tokio::test(start_paused = true)]
async fn a_key_acknowledged_moments_ago_does_not_make_the_data_stale() {
    // Nothing is ever exported, but within the step's 5s no key is 10s old yet.
    let fake = Fake::new();
    let (report, _) = run(&fake, &stale_plan("5s")).await;
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, Outcome::Failed);
    assert_eq!(
        s.expectations[0].reason.as_deref(),
        Some(
            "no instance was acknowledged at least 10s (the export lag) ago: nothing can be stale yet"
        )
    );
    assert_eq!(
        s.expectations[0].observed,
        json!({"acknowledged": 2, "olderThanExportLag": 0})
    );
}

#[tokio::test(start_paused = true)]
async fn normal_export_lag_does_not_pass_for_stalled_exporting() {
    // Region0 shows both keys whenever it is asked once they are as old as the export lag:
    // whatever lag hid them before, exporting works, so the data never counts as stale. (The
    // old rule, "any acknowledged key missing", held at the first poll on any real cluster.)
    let fake = Fake::new();
    fake.state().visible[0] = (1..=2).map(|n| instance(n).process_instance_key).collect();
    let (report, _) = run(&fake, &stale_plan("20s")).await;
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, Outcome::Failed);
    assert_eq!(
        s.expectations[0].reason.as_deref(),
        Some(
            "all 2 instances acknowledged longer than the export lag ago are visible: the data is not stale"
        )
    );
    // The first polls, while no key was old enough, did not even ask Elasticsearch.
    let asked = call_times(&fake, "find_instances");
    assert_eq!(asked.first(), Some(&10_000), "{asked:?}");
}

/// Create two instances, then a check that never holds (when `fail` is set).
fn audit_plan(fail: bool) -> Plan {
    let check = if fail {
        "        - name: check
          timeout: 3s
          expect:
            - topology: {clusterSize: 4}
"
    } else {
        ""
    };
    crate::support::plan_with_objectives(
        "{rpo: 0}",
        &format!(
            "    - name: data
      steps:
        - name: create
          action:
            createInstances: {{count: 2, processId: probe}}
{check}        - name: later
          expect:
            - topology: {{clusterSize: 8}}
"
        ),
    )
}

#[tokio::test(start_paused = true)]
async fn a_failed_run_still_audits_the_ledger_and_measures_the_rpo() {
    let plan = audit_plan(true);
    let fake = Fake::new();
    {
        let mut s = fake.state();
        s.topology.then(Answer::Ok(topology(&ALL, 8)));
        // Region0 shows the first key only, region1 nothing: the second key is nowhere.
        s.visible[0] = BTreeSet::from([instance(1).process_instance_key]);
    }
    let (report, _) = run(&fake, &plan).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(
        report.failure.as_ref().map(|f| f.step_id.as_str()),
        Some("1.2"),
        "the step failure stays the run's failure"
    );
    assert_eq!(step(&report, "1.3").outcome, Outcome::Skipped);

    let keys: Vec<String> = (1..=2).map(|n| instance(n).process_instance_key).collect();
    let audit = &report.ledger_audit;
    assert_eq!(audit.acknowledged, 2);
    assert_eq!(audit.regions[0].missing, keys[1..]);
    assert_eq!(audit.regions[1].missing, keys);
    assert_eq!(audit.lost, keys[1..]);
    assert_eq!(report.recovery.rpo, Some(1));
    // The audit waited out the export lag (30s by default) for the missing keys, no more, and
    // after the first look asked each region only for the keys it still lacked.
    let step_end = step(&report, "1.2").started_ms + step(&report, "1.2").duration_ms;
    assert_eq!(audit.checked_at_ms, step_end + 30_000);
    let asked: Vec<String> = fake
        .calls_of("find_instances")
        .into_iter()
        .map(|c| c.args)
        .collect();
    assert_eq!(
        asked[..4],
        [
            "region0 operate-list-view-8.3.0_ 2 keys",
            "region1 operate-list-view-8.3.0_ 2 keys",
            "region0 operate-list-view-8.3.0_ 1 keys",
            "region1 operate-list-view-8.3.0_ 2 keys",
        ]
    );
    let objective = &report.recovery.objectives[0];
    assert!(!objective.met);
    assert_eq!(
        objective.measured,
        "1 of 2 acknowledged instance(s) lost: in no region's Elasticsearch at the final audit"
    );

    // JUnit: the procedure stopped at 1.2, so the objectives are reported but not judged.
    let xml = to_junit_xml(&report).expect("XML");
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert!(
        xml.contains(r#"<testcase name="recovery objectives""#),
        "{xml}"
    );
    assert!(
        xml.contains(
            "not judged: the drill stopped at step 1.2 `check` before the procedure completed"
        ),
        "{xml}"
    );
    assert!(
        xml.contains("RPO ≤ 0 lost: MISSED (1 of 2 acknowledged instance(s) lost"),
        "{xml}"
    );
    // The summary lists what each region lacks and what no region has.
    let md = c8dr_core::report::to_markdown(&report);
    assert!(md.contains("### Final ledger audit"), "{md}");
    assert!(
        md.contains(&format!("- region0: 1 missing: {}", keys[1])),
        "{md}"
    );
    assert!(
        md.contains(&format!("- region1: 2 missing: {}, {}", keys[0], keys[1])),
        "{md}"
    );
    assert!(
        md.contains(&format!("- in no region (lost): 1: {}", keys[1])),
        "{md}"
    );
    assert!(
        md.contains("| RPO (acknowledged instances in no region's Elasticsearch at the final audit) | 1 of 2 |"),
        "{md}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_missed_objective_fails_a_run_whose_steps_passed_and_is_a_junit_failure() {
    let plan = audit_plan(false);
    let fake = Fake::new();
    fake.state().topology.then(Answer::Ok(topology(&ALL, 8)));
    // Nothing ever reaches any Elasticsearch: both keys are lost.
    let (report, _) = run(&fake, &plan).await;
    assert!(report.steps().all(|s| s.outcome == Outcome::Passed));
    assert_eq!(report.outcome, Outcome::Failed);
    let failure = report
        .failure
        .as_ref()
        .expect("the objectives failed the run");
    assert_eq!(
        (failure.step_id.as_str(), failure.step.as_str()),
        ("", "recovery objectives")
    );
    assert_eq!(report.recovery.rpo, Some(2));

    let xml = to_junit_xml(&report).expect("XML");
    assert_eq!(xml.matches("<testcase ").count(), plan.steps().count() + 1);
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert!(
        xml.contains(r#"<testsuite name="engine-test / recovery""#),
        "{xml}"
    );
    assert!(
        xml.contains("objective rpo 0 lost not met: 2 of 2 acknowledged instance(s) lost"),
        "{xml}"
    );
    let md = c8dr_core::report::to_markdown(&report);
    assert!(
        md.contains("**Failed: recovery objectives**: objective rpo 0 lost not met: "),
        "{md}"
    );
}

#[tokio::test(start_paused = true)]
async fn met_objectives_are_a_passing_junit_test_case() {
    let plan = audit_plan(false);
    let fake = Fake::new();
    {
        let mut s = fake.state();
        s.topology.then(Answer::Ok(topology(&ALL, 8)));
        let keys: BTreeSet<String> = (1..=2).map(|n| instance(n).process_instance_key).collect();
        s.visible = [keys.clone(), keys];
    }
    let (report, _) = run(&fake, &plan).await;
    assert_eq!(report.outcome, Outcome::Passed, "{:?}", report.failure);
    // Every region showed every key at the first round: the audit took no time.
    let total: u64 = report.stages.iter().map(|s| s.duration_ms).sum();
    assert_eq!(report.ledger_audit.checked_at_ms, total);
    assert_eq!(fake.calls_of("find_instances").len(), 2);
    let xml = to_junit_xml(&report).expect("XML");
    assert!(!xml.contains("<failure"), "{xml}");
    assert!(!xml.contains("<skipped"), "{xml}");
    assert!(
        xml.contains(r#"<testcase name="recovery objectives""#),
        "{xml}"
    );
    assert!(xml.contains("RPO ≤ 0 lost: met (0 of 2"), "{xml}");
}

#[tokio::test(start_paused = true)]
async fn a_region_that_does_not_answer_the_audit_is_named_and_the_rpo_counts_the_others() {
    let plan = audit_plan(false);
    let fake = Fake::new();
    {
        let mut s = fake.state();
        s.topology.then(Answer::Ok(topology(&ALL, 8)));
        let keys: BTreeSet<String> = (1..=2).map(|n| instance(n).process_instance_key).collect();
        // The first look asks region0, then region1: region0 shows both keys, so later looks
        // only ask region1, which never answers.
        s.find_instances.ok(keys).then(Answer::Err(Fail::NoAnswer));
    }
    let (report, _) = run(&fake, &plan).await;
    let audit = &report.ledger_audit;
    assert!(audit.regions[0].error.is_none() && audit.regions[0].missing.is_empty());
    let error = audit.regions[1]
        .error
        .as_deref()
        .expect("region1 did not answer");
    assert!(error.contains("connection refused"), "{error}");
    assert_eq!(report.recovery.rpo, Some(0));
    assert_eq!(report.outcome, Outcome::Passed, "{:?}", report.failure);
    assert!(
        report.recovery.objectives[0]
            .measured
            .ends_with("(region1 did not answer; counted over the others)")
    );
    // Bounded: the audit gave up once the export lag had passed, looking again after 1, 2, 4, 8
    // and 16 seconds and a last time at the deadline, asking region1 alone after the first look.
    let total: u64 = report.stages.iter().map(|s| s.duration_ms).sum();
    assert_eq!(audit.checked_at_ms, total + 30_000);
    let looks: Vec<u128> = call_times(&fake, "find_instances")
        .into_iter()
        .map(|at| at - u128::from(total))
        .collect();
    assert_eq!(looks, [0, 0, 1_000, 3_000, 7_000, 15_000, 30_000]);
    let md = c8dr_core::report::to_markdown(&report);
    assert!(md.contains("- region1: did not answer: "), "{md}");
}

/// Run `plan` and interrupt it (as the CLI does on SIGTERM) `after` the run started.
async fn run_interrupted(fake: &Fake, plan: &Plan, after: Duration) -> (RunReport, Vec<String>) {
    let recorder = Recorder::default();
    let cancel = c8dr_core::engine::Cancel::new();
    let options = EngineOptions {
        sample_timeline: false,
        cancel: cancel.clone(),
        ..EngineOptions::default()
    };
    let engine = Engine::new(fake, fake, backend(), &recorder, options);
    let (report, ()) = tokio::join!(engine.run(plan), async {
        tokio::time::sleep(after).await;
        cancel.cancel("SIGTERM");
    });
    (report, recorder.events())
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_run_abandons_the_hanging_step_skips_the_rest_and_says_so() {
    let plan = plan(
        "    - name: loss
      steps:
        - name: healthy
          expect:
            - topology: {clusterSize: 8}
        - name: lose
          action:
            loseRegion: {region: lost, mode: down}
    - name: failover
      steps:
        - name: create
          action:
            createInstances: {count: 3, processId: probe}
",
    );
    let fake = Fake::new();
    {
        let mut s = fake.state();
        s.topology.then(Answer::Ok(topology(&ALL, 8)));
        // Without the interruption this would fail at loseRegion's 2-minute timeout.
        s.lose_region.push([Answer::Hang]);
    }
    let (report, events) = run_interrupted(&fake, &plan, Duration::from_secs(30)).await;

    assert_eq!(report.outcome, Outcome::Interrupted);
    assert_eq!(step(&report, "1.1").outcome, Outcome::Passed);
    let lose = step(&report, "1.2");
    assert_eq!(lose.outcome, Outcome::Interrupted);
    assert_eq!(
        lose.failure.as_deref(),
        Some(
            "interrupted (SIGTERM) after 30.0s, during its action loseRegion (it may or may not have taken effect)"
        )
    );
    // Abandoned at the signal, not at the step's timeout; the platform was asked once.
    assert_eq!((lose.duration_ms, lose.timeout_ms), (30_000, 120_000));
    assert_eq!(fake.calls_of("lose_region").len(), 1);
    assert!(fake.calls_of("create_instance").is_empty());
    let create = step(&report, "2.1");
    assert_eq!(create.outcome, Outcome::Skipped);
    assert_eq!(
        create.skipped_because.as_deref(),
        Some("not run: the run was interrupted (SIGTERM) during step 1.2")
    );
    assert_eq!(
        report.stages.iter().map(|s| s.outcome).collect::<Vec<_>>(),
        [Outcome::Interrupted, Outcome::Skipped]
    );
    let interruption = report.interrupted.as_ref().expect("the report says so");
    assert_eq!(interruption.signal, "SIGTERM");
    assert_eq!(interruption.step_id.as_deref(), Some("1.2"));
    assert_eq!(interruption.at_ms, 30_000);
    assert_eq!(
        interruption.audit,
        "not needed: no instance was acknowledged"
    );
    let failure = report.failure.as_ref().expect("where it stopped");
    assert_eq!(failure.step_id, "1.2");
    assert_eq!(report.duration_ms, 30_000);
    assert_eq!(
        events[events.len() - 6..],
        [
            "step 1.2 interrupted",
            "stage loss interrupted",
            "stage failover started",
            "step 2.1 skipped",
            "stage failover skipped",
            "run interrupted",
        ]
    );
    // JUnit: the abandoned step is an error, the rest skipped, nothing a failure.
    let xml = to_junit_xml(&report).expect("XML");
    assert!(!xml.contains("<failure"), "{xml}");
    assert_eq!(xml.matches("<error").count(), 1, "{xml}");
    assert!(
        xml.contains("not run: the run was interrupted (SIGTERM) during step 1.2"),
        "{xml}"
    );
    let json = serde_json::to_value(&report).expect("JSON");
    assert_eq!(json["outcome"], "interrupted");
    assert_eq!(json["interrupted"]["stepId"], "1.2");
}

#[tokio::test(start_paused = true)]
async fn an_interruption_stops_polling_at_once_and_keeps_the_last_observation() {
    let plan = plan(
        "    - name: loss
      steps:
        - name: healthy
          timeout: 1m
          expect:
            - topology: {clusterSize: 8}
",
    );
    let fake = Fake::new();
    // Never healthy: only the interruption ends the step before its timeout.
    fake.state().topology.then(Answer::Ok(topology(&ALL, 4)));
    let (report, _) = run_interrupted(&fake, &plan, Duration::from_millis(10_500)).await;

    assert_eq!(report.outcome, Outcome::Interrupted);
    let s = step(&report, "1.1");
    assert_eq!(s.outcome, Outcome::Interrupted);
    assert_eq!(
        s.failure.as_deref(),
        Some("interrupted (SIGTERM) after 10.5s, while its expectations were being polled")
    );
    // Polls at 0 s, 1 s, ... 10 s (1 s poll interval), none after the signal.
    let polls = call_times(&fake, "topology");
    assert_eq!(polls.len(), 11, "{polls:?}");
    assert!(polls.iter().all(|&at| at <= 10_000), "{polls:?}");
    let e = &s.expectations[0];
    assert_eq!(e.outcome, Outcome::Interrupted);
    assert_eq!(e.polls, 11);
    let reason = e.reason.as_deref().expect("why it did not hold");
    assert!(
        reason.starts_with("interrupted (SIGTERM) before it held; at the last observation: "),
        "{reason}"
    );
    assert_ne!(e.observed, serde_json::Value::Null);
    assert!(
        c8dr_core::report::to_markdown(&report).contains("**Interrupted (SIGTERM)"),
        "{}",
        c8dr_core::report::to_markdown(&report)
    );
}
