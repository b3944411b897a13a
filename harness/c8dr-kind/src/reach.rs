//! Whether workloads in one region reach another (`Platform::reachable`, the `isolated`
//! expectation): how the connection attempt made from a probe pod is read, and which failures
//! around it mean "that cluster cannot be reached at all" rather than "c8dr could not look".
//!
//! The answer is only ever `false` because a connection attempt from the probe in `from` failed
//! the way a workload's would (timeout, refused, no route, a name that does not resolve), and
//! only `true` because the probe in `to` answered with its own text. Everything else (an answer
//! from something else, a command that could not run, an API failure) is "could not observe".

use crate::error::KindError;
use crate::kube::{ExecExit, ExecOutput};

/// What one connection attempt from a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The peer's probe answered.
    Reached,
    /// The connection failed as a workload's would; why.
    NotReached(String),
    /// The outcome says nothing about reachability; why.
    Unobservable(String),
}

impl Attempt {
    /// `Some(reachable)` when the attempt decides the question.
    #[must_use]
    pub fn reachable(&self) -> Option<bool> {
        match self {
            Attempt::Reached => Some(true),
            Attempt::NotReached(_) => Some(false),
            Attempt::Unobservable(_) => None,
        }
    }
}

/// Exit codes of a command killed by `timeout`: busybox's `timeout` execs the command and
/// SIGTERMs it (143 = 128 + 15, 137 after SIGKILL); coreutils' `timeout` exits 124.
const KILLED_BY_TIMEOUT: [i32; 3] = [124, 137, 143];

/// What busybox `wget` prints when the connection itself fails: DNS (`bad address`), its `-T`
/// deadline, and the socket errors of an unreachable or refusing peer.
const CONNECTION_FAILURES: [&str; 8] = [
    "bad address",
    "timed out",
    "connection refused",
    "no route to host",
    "network is unreachable",
    "host is unreachable",
    "connection reset",
    "temporary failure in name resolution",
];

fn tail(text: &str) -> String {
    crate::error::tail(text.trim(), 3).replace('\n', " / ")
}

/// Read the outcome of `timeout <s> wget -q -T 3 -O - <url>` run in the probe of `from` against
/// the probe of `to`, whose page says `expected`.
#[must_use]
pub fn classify_attempt(expected: &str, output: &ExecOutput) -> Attempt {
    let stderr = output.stderr.to_ascii_lowercase();
    match &output.exit {
        ExecExit::Success if output.stdout.trim() == expected => Attempt::Reached,
        ExecExit::Success => Attempt::Unobservable(format!(
            "something answered {:?} instead of the probe's {expected:?}",
            output.stdout.trim()
        )),
        ExecExit::Code(code) => {
            if let Some(failure) = CONNECTION_FAILURES.iter().find(|f| stderr.contains(**f)) {
                Attempt::NotReached(format!("{failure}: {}", tail(&output.stderr)))
            } else if KILLED_BY_TIMEOUT.contains(code) && stderr.trim().is_empty() {
                Attempt::NotReached(format!(
                    "no answer before `timeout` stopped the attempt (exit {code})"
                ))
            } else {
                Attempt::Unobservable(format!(
                    "the attempt failed for another reason (exit {code}): {}",
                    tail(&output.stderr)
                ))
            }
        }
        ExecExit::Failure(message) => Attempt::Unobservable(format!(
            "the attempt could not run: {message}: {}",
            tail(&output.stderr)
        )),
        ExecExit::Unknown => {
            Attempt::Unobservable("the exec stream ended without an exit status".to_owned())
        }
    }
}

/// Whether an error from a cluster's API means the cluster cannot be reached at all: no client
/// for its context (`kind delete cluster` removed it from the kubeconfig), no connection or a
/// broken one (deleted cluster, stopped API server), or no answer in time (paused node: its
/// kernel still accepts the connection, the frozen API server never answers). An API server that
/// answers, even with an error, is reachable: that is not one of these.
#[must_use]
pub fn cluster_unreachable(error: &KindError) -> bool {
    match error {
        KindError::KubeContext { .. } | KindError::NoAnswer { .. } => true,
        KindError::KubeCall { source, .. } => matches!(
            source.as_ref(),
            kube::Error::HyperError(_) | kube::Error::Service(_)
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const EXPECTED: &str = "c8dr-probe-c8dr-region1";

    fn failed(code: i32, stderr: &str) -> ExecOutput {
        ExecOutput {
            stdout: String::new(),
            stderr: stderr.to_owned(),
            exit: ExecExit::Code(code),
        }
    }

    #[test]
    fn only_the_peer_probes_own_answer_counts_as_reached() {
        let answered = |stdout: &str| ExecOutput {
            stdout: stdout.to_owned(),
            stderr: String::new(),
            exit: ExecExit::Success,
        };
        assert_eq!(
            classify_attempt(EXPECTED, &answered("c8dr-probe-c8dr-region1\n")),
            Attempt::Reached
        );
        // Something else answered at that name: not evidence either way.
        for other in ["c8dr-probe-c8dr-region0\n", "", "<html>"] {
            assert!(
                matches!(
                    classify_attempt(EXPECTED, &answered(other)),
                    Attempt::Unobservable(_)
                ),
                "{other:?}"
            );
        }
    }

    #[test]
    fn failed_connections_are_not_reachable() {
        for stderr in [
            "wget: bad address 'c8dr-probe.camunda-region1.svc.cluster.local.'\n",
            "wget: download timed out\n",
            "wget: can't connect to remote host (10.245.0.12): Connection refused\n",
            "wget: can't connect to remote host (10.245.0.12): No route to host\n",
            "wget: can't connect to remote host (10.245.0.12): Network is unreachable\n",
            "wget: can't connect to remote host (10.245.0.12): Connection timed out\n",
        ] {
            let attempt = classify_attempt(EXPECTED, &failed(1, stderr));
            assert!(
                matches!(&attempt, Attempt::NotReached(why) if why.contains(stderr.trim())),
                "{stderr}: {attempt:?}"
            );
            assert_eq!(attempt.reachable(), Some(false));
        }
        // `timeout` killed a wget stuck in name resolution: silent, exit 143.
        for code in [143, 137, 124] {
            assert_eq!(
                classify_attempt(EXPECTED, &failed(code, "")).reachable(),
                Some(false),
                "exit {code}"
            );
        }
    }

    #[test]
    fn other_failures_are_not_evidence_of_isolation() {
        for (code, stderr) in [
            (1, "wget: server returned error: HTTP/1.1 404 Not Found\n"),
            (
                127,
                "timeout: can't execute 'wget': No such file or directory\n",
            ),
            (1, ""),
            (143, "Terminated: something else\n"),
        ] {
            assert!(
                matches!(
                    classify_attempt(EXPECTED, &failed(code, stderr)),
                    Attempt::Unobservable(_)
                ),
                "exit {code}: {stderr:?}"
            );
        }
        let could_not_run = ExecOutput {
            stdout: String::new(),
            stderr: String::new(),
            exit: ExecExit::Failure("container not found (\"probe\")".to_owned()),
        };
        assert_eq!(classify_attempt(EXPECTED, &could_not_run).reachable(), None);
        let cut = ExecOutput {
            stdout: String::new(),
            stderr: String::new(),
            exit: ExecExit::Unknown,
        };
        assert_eq!(classify_attempt(EXPECTED, &cut).reachable(), None);
    }

    fn call(source: kube::Error) -> KindError {
        KindError::KubeCall {
            operation: "get Pod c8dr-probe".to_owned(),
            context: "kind-c8dr-region1".to_owned(),
            namespace: "camunda-region1".to_owned(),
            source: Box::new(source),
        }
    }

    #[test]
    fn a_cluster_is_unreachable_only_when_its_api_server_does_not_answer() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(cluster_unreachable(&call(kube::Error::Service(Box::new(
            refused
        )))));
        assert!(cluster_unreachable(&KindError::NoAnswer {
            what: "get pod c8dr-probe".to_owned(),
            context: "kind-c8dr-region1".to_owned(),
            timeout: Duration::from_secs(5),
        }));
        assert!(cluster_unreachable(&KindError::KubeContext {
            context: "kind-c8dr-region1".to_owned(),
            source: "context not found".into(),
        }));
        // It answered: forbidden, missing namespace, server error. Not "unreachable".
        for code in [403, 404, 500] {
            let status = kube::core::Status::failure("no", "Forbidden").with_code(code);
            assert!(
                !cluster_unreachable(&call(kube::Error::Api(status.boxed()))),
                "{code}"
            );
        }
        assert!(!cluster_unreachable(&KindError::WaitTimedOut {
            what: "pod c8dr-probe to run".to_owned(),
            context: "kind-c8dr-region1".to_owned(),
            timeout: Duration::from_secs(5),
            last: "not running".to_owned(),
        }));
    }

    #[test]
    fn exec_status_objects_give_the_exit_code() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Status, StatusCause, StatusDetails};
        let exited = |code: &str| Status {
            status: Some("Failure".to_owned()),
            reason: Some("NonZeroExitCode".to_owned()),
            message: Some("command terminated with non-zero exit code".to_owned()),
            details: Some(StatusDetails {
                causes: Some(vec![StatusCause {
                    reason: Some("ExitCode".to_owned()),
                    message: Some(code.to_owned()),
                    ..StatusCause::default()
                }]),
                ..StatusDetails::default()
            }),
            ..Status::default()
        };
        assert_eq!(
            crate::kube::exec_exit(Some(&exited("143"))),
            ExecExit::Code(143)
        );
        assert_eq!(
            crate::kube::exec_exit(Some(&Status {
                status: Some("Success".to_owned()),
                ..Status::default()
            })),
            ExecExit::Success
        );
        assert_eq!(
            crate::kube::exec_exit(Some(&Status {
                status: Some("Failure".to_owned()),
                message: Some("container not found".to_owned()),
                ..Status::default()
            })),
            ExecExit::Failure("container not found".to_owned())
        );
        assert_eq!(crate::kube::exec_exit(None), ExecExit::Unknown);
    }
}
