//! The "Done when": replaying the procedure page's curl commands against
//! `c8dr twin serve` (host changed only) gives the answers real Camunda gives, including the
//! 400 for the page's `force=true` re-add.
//!
//! The replay engine and its helpers are the twin's conformance suite's own
//! (`harness/c8dr-twin/tests/conformance/{replay_engine,support}.rs`), compiled here a second
//! time; only the twin differs: the real binary, `c8dr twin serve --manual-clock` on ephemeral
//! ports with the page's namespaces, its clock moved through the control API
//! (`POST /twin/v1/clock/advance`). Each test runs its own process, so they run in parallel.

#[allow(
    dead_code,
    reason = "shared with the twin's conformance suite; only part is used here"
)]
#[path = "../../../harness/c8dr-twin/tests/conformance/support.rs"]
mod support;

#[allow(
    dead_code,
    reason = "shared with the twin's conformance suite; only part is used here"
)]
#[path = "../../../harness/c8dr-twin/tests/conformance/replay_engine.rs"]
mod replay_engine;

use std::path::Path;

use support::Env;

/// `c8dr twin serve` as the page's clusters: region 0 is London, region 1 Paris, so the
/// broker hosts in its answers are the page's; a manual clock and a fixed seed, so the run is
/// deterministic.
fn twin_serve() -> Env {
    Env::spawn(
        Path::new(env!("CARGO_BIN_EXE_c8dr")),
        &[
            "twin",
            "serve",
            "--ephemeral-ports",
            "--manual-clock",
            "--seed",
            "0",
            "--namespace",
            "camunda-london",
            "--namespace",
            "camunda-paris",
        ],
    )
}

/// Every curl command of the page for region 1 lost, in page order, against `twin serve`.
#[tokio::test]
async fn page_commands_region1_lost_against_twin_serve() {
    let checked = replay_engine::replay(twin_serve(), "curl-region1-lost.txt").await;
    assert_eq!(checked, 32);
}

/// The same for region 0 lost: the coordinator is lost with the region, the force-remove goes
/// to broker 1.
#[tokio::test]
async fn page_commands_region0_lost_against_twin_serve() {
    let checked = replay_engine::replay(twin_serve(), "curl-region0-lost.txt").await;
    assert_eq!(checked, 32);
}

/// The control API's clock on `twin serve --manual-clock`: time stands still unless advanced.
#[tokio::test]
async fn twin_serve_manual_clock_moves_only_when_told() {
    let env = twin_serve();
    let t0 = env.now();
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(env.now(), t0, "wall time does not move a manual clock");
    env.advance(std::time::Duration::from_secs(90));
    assert_eq!(env.now(), t0 + 90_000);
    let clock = env.get(env.control(), "/twin/v1/clock").await.json();
    assert_eq!(clock["manual"], true);
    assert_eq!(clock["now"], t0 + 90_000);
    // The page's namespaces are in the broker hosts.
    let topology = env.topology(1).await;
    assert_eq!(
        topology["brokers"][0]["host"],
        "camunda-zeebe-0.camunda-zeebe.camunda-london"
    );
}
