//! What runs beside the steps for the whole drill: the workload (a steady stream of process
//! instances, every attempt recorded in the ledger) and the sampler (partition leadership and
//! exported data per region, for the report's charts).
//!
//! On real time these duties run concurrently with the steps, as real users do. On virtual
//! time nothing may run "concurrently" (it would race the clock), so the engine fires the duties
//! that fall due whenever it waits: same order, same times, every run.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::run::millis;
use crate::backend::CamundaApis;
use crate::clock::Clock;
use crate::plan::{Plan, Workload};
use crate::report::{InstanceAttempt, InstanceOrigin, InstanceOutcome, RegionSample, Sample};

/// State shared by the steps and the background duties.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Every instance creation attempt, in order.
    pub(crate) ledger: Mutex<Vec<InstanceAttempt>>,
    /// Samples for the charts.
    pub(crate) samples: Mutex<Vec<Sample>>,
    /// The step running now (attempts are attributed to it).
    pub(crate) current_step: Mutex<String>,
    /// Which run of a chain this is: entries of earlier runs (a loaded ledger) have a smaller
    /// number and count as acknowledged before anything this run does.
    pub(crate) run: u32,
}

/// Lock a mutex even if a panicking thread poisoned it: the data is append-only records.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// State for run `run` of a chain, continuing the ledger of the earlier runs.
    pub(crate) fn with_earlier(run: u32, earlier: Vec<InstanceAttempt>) -> Self {
        Self {
            ledger: Mutex::new(earlier),
            run,
            ..Self::default()
        }
    }

    /// Record an instance creation attempt of this run.
    pub(crate) fn record(&self, mut attempt: InstanceAttempt) {
        attempt.run = self.run;
        lock(&self.ledger).push(attempt);
    }

    /// Keys acknowledged at or before `cutoff_ms` of this run (every key of earlier runs
    /// included), in order.
    pub(crate) fn acknowledged_until(&self, cutoff_ms: u64) -> Vec<String> {
        lock(&self.ledger)
            .iter()
            .filter(|a| a.run < self.run || a.at_ms <= cutoff_ms)
            .filter_map(|a| a.key.clone())
            .collect()
    }
}

/// A boxed future of a duty.
pub(crate) type DutyFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Background duties the engine can fire inline (virtual time) or run concurrently (real time).
pub(crate) trait Duties: Send + Sync {
    /// Clock time of the next duty.
    fn next_due(&self) -> Option<Duration>;
    /// Run every duty due at or before `now`.
    fn fire_due(&self, now: Duration) -> DutyFuture<'_>;
}

struct Schedule {
    next_workload: Option<Duration>,
    next_sample: Option<Duration>,
    deployed: bool,
}

/// The workload and the sampler of one run.
pub(crate) struct Background<'a, A> {
    apis: &'a A,
    plan: &'a Plan,
    shared: &'a Shared,
    clock: Arc<dyn Clock>,
    started: Duration,
    workload: Option<(&'a Workload, Duration)>,
    sample_every: Duration,
    schedule: Mutex<Schedule>,
}

impl<'a, A: CamundaApis> Background<'a, A> {
    /// Duties for a run that started at clock time `started`; intervals are wall (clock) time.
    pub(crate) fn new(
        apis: &'a A,
        plan: &'a Plan,
        shared: &'a Shared,
        clock: Arc<dyn Clock>,
        started: Duration,
        workload_interval: Option<Duration>,
        sample_every: Duration,
    ) -> Self {
        let workload = plan.workload.as_ref().zip(workload_interval);
        Self {
            apis,
            plan,
            shared,
            clock,
            started,
            schedule: Mutex::new(Schedule {
                next_workload: workload.map(|_| started),
                next_sample: (!sample_every.is_zero()).then_some(started),
                deployed: false,
            }),
            workload,
            sample_every,
        }
    }

    /// Real time: run the duties until the future is dropped.
    pub(crate) async fn run_forever(&self) {
        loop {
            let Some(due) = self.next_due() else {
                std::future::pending::<()>().await;
                return;
            };
            let now = self.clock.now();
            if due > now {
                self.clock.sleep(due - now).await;
            }
            self.fire_due(self.clock.now()).await;
        }
    }

    fn elapsed_ms(&self) -> u64 {
        millis(self.clock.now().saturating_sub(self.started))
    }

    async fn workload_tick(&self, workload: &Workload) {
        let deployed = lock(&self.schedule).deployed;
        let step_id = lock(&self.shared.current_step).clone();
        if !deployed {
            match self
                .apis
                .deploy_resource(workload.via, &workload.resource_name, &workload.content)
                .await
            {
                Ok(_) => lock(&self.schedule).deployed = true,
                Err(e) => {
                    self.shared.record(InstanceAttempt::rejected(
                        self.elapsed_ms(),
                        step_id,
                        workload.via,
                        InstanceOrigin::Workload,
                        format!(
                            "the workload's process is not deployed yet: {}",
                            super::actions::error_chain(&e)
                        ),
                    ));
                    return;
                }
            }
        }
        let result = self
            .apis
            .create_instance(workload.via, &workload.process_id)
            .await;
        let at_ms = self.elapsed_ms();
        self.shared.record(match result {
            Ok(instance) => InstanceAttempt::acknowledged(
                at_ms,
                step_id,
                workload.via,
                InstanceOrigin::Workload,
                &instance,
            ),
            Err(e) => InstanceAttempt::rejected(
                at_ms,
                step_id,
                workload.via,
                InstanceOrigin::Workload,
                super::actions::error_chain(&e),
            ),
        });
    }

    async fn sample(&self) {
        let mut regions = Vec::new();
        for region in self.plan.layout.region_ids() {
            let healthy_partitions = self
                .apis
                .topology(region)
                .await
                .ok()
                .map(|t| u32::try_from(t.healthy_leaders().len()).unwrap_or(u32::MAX));
            let exported_instances = self.apis.indices(region).await.ok().map(|indices| {
                indices
                    .iter()
                    .find(|i| i.index == self.plan.process_instance_index)
                    .map_or(0, |i| i.docs_count)
            });
            regions.push(RegionSample {
                region,
                healthy_partitions,
                exported_instances,
            });
        }
        let (acknowledged, rejected) = {
            // This run's attempts: the charts show what this run's workload saw.
            let ledger = lock(&self.shared.ledger);
            let this_run = ledger.iter().filter(|a| a.run == self.shared.run);
            let acknowledged = this_run
                .clone()
                .filter(|a| a.outcome == InstanceOutcome::Acknowledged)
                .count();
            (acknowledged, this_run.count() - acknowledged)
        };
        let sample = Sample {
            at_ms: self.elapsed_ms(),
            step_id: lock(&self.shared.current_step).clone(),
            regions,
            acknowledged,
            rejected,
        };
        lock(&self.shared.samples).push(sample);
    }
}

impl<A: CamundaApis> Duties for Background<'_, A> {
    fn next_due(&self) -> Option<Duration> {
        let schedule = lock(&self.schedule);
        match (schedule.next_workload, schedule.next_sample) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn fire_due(&self, now: Duration) -> DutyFuture<'_> {
        Box::pin(async move {
            let (workload_due, sample_due) = {
                let schedule = lock(&self.schedule);
                (
                    schedule.next_workload.is_some_and(|due| due <= now),
                    schedule.next_sample.is_some_and(|due| due <= now),
                )
            };
            if workload_due && let Some((workload, interval)) = self.workload {
                self.workload_tick(workload).await;
                let mut schedule = lock(&self.schedule);
                schedule.next_workload = Some(next_after(schedule.next_workload, now, interval));
            }
            if sample_due {
                self.sample().await;
                let mut schedule = lock(&self.schedule);
                schedule.next_sample =
                    Some(next_after(schedule.next_sample, now, self.sample_every));
            }
        })
    }
}

/// The next due time after a duty planned at `planned` ran at `now`: one interval later, but
/// never in the past. A long blocking call skips the ticks it covered rather than bursting them
/// afterwards, as a real client would.
fn next_after(planned: Option<Duration>, now: Duration, interval: Duration) -> Duration {
    let next = planned.unwrap_or(now) + interval;
    if next <= now { now + interval } else { next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_earlier_runs_count_as_acknowledged_before_any_cutoff_of_this_run() {
        use crate::camunda::CreatedInstance;
        use crate::region::RegionId;
        let created = |key: &str| -> CreatedInstance {
            CreatedInstance {
                process_instance_key: key.to_owned(),
                process_definition_id: "p".to_owned(),
            }
        };
        let mut earlier = InstanceAttempt::acknowledged(
            5_000,
            "3.4".to_owned(),
            RegionId(0),
            InstanceOrigin::Workload,
            &created("10"),
        );
        earlier.run = 0;
        let shared = Shared::with_earlier(1, vec![earlier]);
        shared.record(InstanceAttempt::acknowledged(
            50,
            "4.1".to_owned(),
            RegionId(0),
            InstanceOrigin::Workload,
            &created("20"),
        ));
        assert_eq!(
            lock(&shared.ledger)[1].run,
            1,
            "this run's attempts get its number"
        );
        // At 10 ms of this run, the earlier run's key (at 5 s of its own clock) is due.
        assert_eq!(shared.acknowledged_until(10), ["10"]);
        assert_eq!(shared.acknowledged_until(50), ["10", "20"]);
    }

    #[test]
    fn ticks_keep_their_rhythm_and_skip_what_a_blocking_call_covered() {
        let s = Duration::from_secs;
        assert_eq!(next_after(Some(s(10)), s(10), s(2)), s(12));
        assert_eq!(next_after(Some(s(10)), s(11), s(2)), s(12));
        assert_eq!(next_after(Some(s(10)), s(30), s(2)), s(32));
        assert_eq!(next_after(None, s(5), s(2)), s(7));
    }
}
