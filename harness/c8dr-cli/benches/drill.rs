//! `make bench`: how long the 8.8 drill takes on the embedded twin, and how much the harness
//! adds on top of the twin's own simulated latencies.
//!
//! The twin reports its busy time: the union of the simulated intervals during which something
//! the procedure waits for was in progress (configuration changes, broker starts and restarts,
//! snapshots, ...). Divided by the time scale, that is the least a sequential drill can take in
//! wall time, plus what the scenario's own rules make any drill wait while the twin is idle: an
//! "exporting is stalled" check (`instances: {visible: stale}`) cannot hold before a missing
//! instance was acknowledged `camunda.exportLag` ago, however fast the backend (measured as the
//! time each such check took to first hold, to one poll interval). Everything above that lower
//! bound is harness overhead: HTTP round trips, polling granularity, evaluation, reporting.
//! Targets: the drill under 5 s, overhead under 20 %.
//!
//! Runs the release binary as users do (`c8dr run`), several times per lost region, and prints
//! the median, minimum and maximum of each measure.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS_PER_REGION: usize = 5;

struct Sample {
    process: Duration,
    drill: Duration,
    /// The waits of the stale checks (included in `lower_bound`).
    stale_waits: Duration,
    lower_bound: Duration,
}

fn run_once(lost_region: u8, dir: &Path) -> Sample {
    let report_dir = dir.join(format!("lost{lost_region}"));
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_c8dr"))
        .args([
            "run",
            "--lost-region",
            &lost_region.to_string(),
            "--report-dir",
        ])
        .arg(&report_dir)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("c8dr runs");
    let process = started.elapsed();
    assert!(status.success(), "the drill must pass to be measured");
    let text = std::fs::read_to_string(report_dir.join("report.json")).expect("report.json");
    let report: serde_json::Value = serde_json::from_str(&text).expect("JSON report");
    let drill = Duration::from_millis(report["durationMs"].as_u64().expect("durationMs"));
    let busy = report["backendStats"]["busySimMillis"]
        .as_f64()
        .expect("busySimMillis");
    let scale = report["backendStats"]["timeScale"]
        .as_f64()
        .expect("timeScale");
    // The stale checks are the `instances` expectations that report `olderThanExportLag`; the
    // checks of one step wait together, so each step counts its longest.
    let stale_waits_ms: u64 = report["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .flat_map(|stage| stage["steps"].as_array().expect("steps"))
        .filter_map(|step| {
            step["expectations"]
                .as_array()
                .expect("expectations")
                .iter()
                .filter(|e| e["observed"].get("olderThanExportLag").is_some())
                .map(|e| {
                    e["heldAfterMs"]
                        .as_u64()
                        .expect("a passing stale check held")
                })
                .max()
        })
        .sum();
    let stale_waits = Duration::from_millis(stale_waits_ms);
    Sample {
        process,
        drill,
        stale_waits,
        lower_bound: Duration::from_secs_f64(busy / scale / 1000.0) + stale_waits,
    }
}

fn stats(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters nothing here.
    let dir = tempfile::tempdir().expect("temporary directory");
    println!(
        "c8dr drill benchmark: {RUNS_PER_REGION} runs per lost region, release build, embedded twin at time ×100"
    );
    println!();
    println!(
        "{:<12} {:>22} {:>22} {:>22} {:>22} {:>20}",
        "lost region",
        "process wall (s)",
        "drill (s)",
        "stale waits (s)",
        "lower bound (s)",
        "harness overhead"
    );
    let mut worst_overhead: f64 = 0.0;
    let mut worst_drill: f64 = 0.0;
    for lost_region in [1u8, 0] {
        let samples: Vec<Sample> = (0..RUNS_PER_REGION)
            .map(|_| run_once(lost_region, dir.path()))
            .collect();
        let mut process: Vec<f64> = samples.iter().map(|s| s.process.as_secs_f64()).collect();
        let mut drill: Vec<f64> = samples.iter().map(|s| s.drill.as_secs_f64()).collect();
        let mut stale: Vec<f64> = samples
            .iter()
            .map(|s| s.stale_waits.as_secs_f64())
            .collect();
        let mut bound: Vec<f64> = samples
            .iter()
            .map(|s| s.lower_bound.as_secs_f64())
            .collect();
        let mut overhead: Vec<f64> = samples
            .iter()
            .map(|s| {
                (s.drill.as_secs_f64() - s.lower_bound.as_secs_f64()) / s.lower_bound.as_secs_f64()
                    * 100.0
            })
            .collect();
        let fmt = |(median, min, max): (f64, f64, f64)| format!("{median:.2} [{min:.2}–{max:.2}]");
        let o = stats(&mut overhead);
        let d = stats(&mut drill);
        worst_overhead = worst_overhead.max(o.0);
        worst_drill = worst_drill.max(d.0);
        println!(
            "{:<12} {:>22} {:>22} {:>22} {:>22} {:>20}",
            lost_region,
            fmt(stats(&mut process)),
            fmt(d),
            fmt(stats(&mut stale)),
            fmt(stats(&mut bound)),
            format!("{:.1} % [{:.1}–{:.1}]", o.0, o.1, o.2)
        );
    }
    println!();
    println!(
        "median drill {worst_drill:.2} s (target < 5 s): {}; median harness overhead {worst_overhead:.1} % (target < 20 %): {}",
        if worst_drill < 5.0 { "met" } else { "MISSED" },
        if worst_overhead < 20.0 {
            "met"
        } else {
            "MISSED"
        }
    );
    let drill_met = worst_drill < 5.0 && worst_overhead < 20.0;
    let mutate_met = mutation_testing(dir.path());
    // A missed target fails `make bench`, so a regression cannot hide in a printed line.
    if !(drill_met && mutate_met) {
        eprintln!("c8dr bench: a target was missed (see above)");
        std::process::exit(1);
    }
}

/// `c8dr mutate` on the shipped scenario: every mutant on its own virtual-time twin, two at a
/// time (the machine's cores). Target: under 60 s, every mutant caught or explained. Returns
/// whether both held.
fn mutation_testing(dir: &Path) -> bool {
    let report_dir = dir.join("mutants");
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_c8dr"))
        .args(["mutate", "--jobs", "2", "--report-dir"])
        .arg(&report_dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("c8dr mutate runs");
    let wall = started.elapsed().as_secs_f64();
    let text = std::fs::read_to_string(report_dir.join("mutants.json")).expect("mutants.json");
    let report: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let count = |field: &str| report[field].as_u64().unwrap_or(0);
    println!();
    println!(
        "mutation testing: {} mutants — {} caught, {} harmless, {} survived, {} invalid, {} errored — in {wall:.1} s (target < 60 s): {}; exit {}",
        report["mutants"].as_array().map_or(0, Vec::len),
        count("caught"),
        count("harmless"),
        count("survived"),
        count("invalid"),
        count("errored"),
        if wall < 60.0 { "met" } else { "MISSED" },
        status.code().unwrap_or(-1)
    );
    wall < 60.0 && status.success()
}
