//! Replays the procedure page's commands (`fixtures/procedure-8.8/curl-region*-lost.txt`)
//! against an in-process twin on ephemeral ports, only the host changed, and checks every
//! answer (engine: `replay_engine.rs`; the same replay against `c8dr twin serve` is the
//! end-to-end test `page_replay`).

use crate::replay_engine::{parse_curl, replay, shell_words};
use std::net::SocketAddr;

use crate::support::{Env, page_config, parse_banner};

/// Every curl command of the page for region 1 lost, in page order, host changed only,
/// answers what 8.8 answers — including the 400 for the page's `force=true` re-add.
#[tokio::test]
async fn page_commands_region1_lost() {
    let checked = replay(
        Env::with_config(page_config()).await,
        "curl-region1-lost.txt",
    )
    .await;
    assert_eq!(checked, 32);
}

/// The same for region 0 lost (the page's other tabs): the coordinator is lost with the
/// region, the force-remove goes to broker 1.
#[tokio::test]
async fn page_commands_region0_lost() {
    let checked = replay(
        Env::with_config(page_config()).await,
        "curl-region0-lost.txt",
    )
    .await;
    assert_eq!(checked, 32);
}

/// The shell-word splitter joins adjacent quoted parts (the page's `-d'...'"'$VAR'"'...'`
/// bodies), keeps newlines inside quotes and drops line continuations.
#[test]
fn shell_words_follow_the_shell() {
    let w =
        shell_words("curl -XPUT 'http://x/a' \\\n  -H 'A: b' -d'\n{\"k\": \"'v1'\"}\n' | jq .id");
    assert_eq!(
        w,
        vec![
            vec![
                "curl".to_owned(),
                "-XPUT".to_owned(),
                "http://x/a".to_owned(),
                "-H".to_owned(),
                "A: b".to_owned(),
                "-d\n{\"k\": \"v1\"}\n".to_owned(),
            ],
            vec!["jq".to_owned(), ".id".to_owned()],
        ]
    );
    let c = parse_curl(&w[0]);
    assert_eq!(c.method.as_deref(), Some("PUT"));
    assert_eq!(c.data.as_deref(), Some("\n{\"k\": \"v1\"}\n"));
    assert_eq!(c.headers, vec![("A".to_owned(), "b".to_owned())]);
}

/// The banner `c8dr twin serve` prints gives the end-to-end replay its endpoints, the
/// credentials and the kind of clock.
#[test]
fn the_twin_serve_banner_gives_endpoints_credentials_and_clock() {
    let banner = "\
c8dr twin: a dual-region Camunda 8.8.0 deployment (8 brokers, 8 partitions, replication factor 4), manual clock, seed 0
  region 0: REST http://127.0.0.1:38769  management http://127.0.0.1:33605  Elasticsearch http://127.0.0.1:37875  namespace camunda-london
  region 1: REST http://127.0.0.1:34227  management http://127.0.0.1:42849  Elasticsearch http://127.0.0.1:39991  namespace camunda-paris
  control API: http://127.0.0.1:42265/twin/v1
  REST credentials: demo:demo

Try: curl http://127.0.0.1:33605/actuator/cluster
Press Ctrl-C to stop.
";
    let b = parse_banner(banner).expect("a banner");
    let addr = |s: &str| s.parse::<SocketAddr>().expect("address");
    assert_eq!(b.endpoints.regions.len(), 2);
    assert_eq!(b.endpoints.regions[1].region, 1);
    assert_eq!(b.endpoints.regions[1].rest, addr("127.0.0.1:34227"));
    assert_eq!(b.endpoints.regions[1].management, addr("127.0.0.1:42849"));
    assert_eq!(
        b.endpoints.regions[0].elasticsearch,
        addr("127.0.0.1:37875")
    );
    assert_eq!(b.endpoints.control, addr("127.0.0.1:42265"));
    assert_eq!(b.auth, Some(("demo".to_owned(), "demo".to_owned())));
    assert!(b.manual_clock);
    let scaled = banner.replace("manual clock", "time ×10").replace(
        "REST credentials: demo:demo",
        "REST credentials: user ops, the password given",
    );
    let b = parse_banner(&scaled).expect("a banner");
    assert!(!b.manual_clock);
    assert_eq!(b.auth, None);
    assert!(parse_banner("Press Ctrl-C to stop.").is_err());
}
