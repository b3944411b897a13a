//! Subprocesses with explicit argv: kind, helm and docker.
//!
//! Every command is an [`Invocation`]: a program and its arguments, some of which may be secret.
//! Its [`Display`](std::fmt::Display) form is the command line with secrets redacted; that form
//! is what is logged, recorded, printed by `c8dr plan` and put into reports. [`TokioCommandRunner`]
//! runs invocations for real (no shell, `kill_on_drop`, a deadline); [`RecordingRunner`] records
//! them and answers from a script, for tests.

use std::fmt;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use crate::error::{KindError, tail};

/// Shown instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// One argument of a command.
#[derive(Clone, PartialEq, Eq)]
pub struct Arg {
    value: String,
    shown: Option<String>,
}

impl Arg {
    /// A plain argument.
    #[must_use]
    pub fn plain(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            shown: None,
        }
    }

    /// An argument shown as `{prefix}<redacted>`, for example `--from-literal=KEY=` + secret.
    #[must_use]
    pub fn secret(prefix: &str, secret: &str) -> Self {
        Self {
            value: format!("{prefix}{secret}"),
            shown: Some(format!("{prefix}{REDACTED}")),
        }
    }

    /// The real value, passed to the process.
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The value as logged and printed.
    #[must_use]
    pub fn shown(&self) -> &str {
        self.shown.as_deref().unwrap_or(&self.value)
    }
}

impl fmt::Debug for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.shown())
    }
}

/// A program and its arguments. Never run through a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// `kind`, `helm` or `docker`.
    pub program: String,
    /// Arguments.
    pub args: Vec<Arg>,
}

impl Invocation {
    /// A command with plain arguments.
    #[must_use]
    pub fn new<I, S>(program: &str, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            program: program.to_owned(),
            args: args.into_iter().map(|a| Arg::plain(a)).collect(),
        }
    }

    /// Append a plain argument.
    #[must_use]
    pub fn arg(mut self, value: impl Into<String>) -> Self {
        self.args.push(Arg::plain(value));
        self
    }

    /// Append plain arguments.
    #[must_use]
    pub fn args<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(values.into_iter().map(|a| Arg::plain(a)));
        self
    }

    /// Append a secret argument.
    #[must_use]
    pub fn secret_arg(mut self, prefix: &str, secret: &str) -> Self {
        self.args.push(Arg::secret(prefix, secret));
        self
    }

    /// The first argument (the tool's verb), for error messages.
    #[must_use]
    pub fn verb(&self) -> &str {
        self.args.first().map_or("", Arg::value)
    }
}

/// Quote an argument the way a POSIX shell would need it, so printed lines can be pasted.
fn quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg.chars().all(|c| {
            c.is_ascii_alphanumeric() || "-_./:=,@%+<>{}".contains(c) || c == '[' || c == ']'
        });
    if safe {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

impl fmt::Display for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.program)?;
        for arg in &self.args {
            write!(f, " {}", quote(arg.shown()))?;
        }
        Ok(())
    }
}

/// What a finished command produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandOutput {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Captured standard output.
    pub stdout: String,
    /// Captured standard error.
    pub stderr: String,
}

impl CommandOutput {
    /// A successful run printing `stdout`.
    #[must_use]
    pub fn ok(stdout: impl Into<String>) -> Self {
        Self {
            code: Some(0),
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    /// A failed run with exit code `code` printing `stderr`.
    #[must_use]
    pub fn failed(code: i32, stderr: impl Into<String>) -> Self {
        Self {
            code: Some(code),
            stdout: String::new(),
            stderr: stderr.into(),
        }
    }

    /// Whether the command exited with 0.
    #[must_use]
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    fn status(&self) -> String {
        match self.code {
            Some(code) => format!("exit code {code}"),
            None => "a signal".to_owned(),
        }
    }
}

/// Runs commands. Implementations log every invocation at debug, secrets redacted.
pub trait CommandRunner: Send + Sync {
    /// Run a command to completion, or kill it at the deadline.
    fn run<'a>(
        &'a self,
        invocation: &'a Invocation,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<CommandOutput, KindError>>;
}

/// Run a command and require exit code 0.
///
/// # Errors
/// [`KindError::CommandFailed`] with the stderr tail, or the runner's error.
pub async fn run_checked(
    runner: &dyn CommandRunner,
    invocation: &Invocation,
    timeout: Duration,
) -> Result<CommandOutput, KindError> {
    let output = runner.run(invocation, timeout).await?;
    if output.success() {
        Ok(output)
    } else {
        Err(KindError::CommandFailed {
            argv: invocation.to_string(),
            status: output.status(),
            stderr_tail: tail(&output.stderr, 15),
        })
    }
}

/// The real runner: `tokio::process`, no shell, `kill_on_drop(true)`, a deadline.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioCommandRunner;

impl CommandRunner for TokioCommandRunner {
    fn run<'a>(
        &'a self,
        invocation: &'a Invocation,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<CommandOutput, KindError>> {
        Box::pin(async move {
            let argv = invocation.to_string();
            tracing::debug!(command = %argv, timeout = ?timeout, "running");
            let started = Instant::now();
            let child = tokio::process::Command::new(&invocation.program)
                .args(invocation.args.iter().map(Arg::value))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|source| KindError::CommandSpawn {
                    argv: argv.clone(),
                    source,
                })?;
            // Dropping the future on timeout drops the child, which kills it (kill_on_drop).
            let output = tokio::time::timeout(timeout, child.wait_with_output())
                .await
                .map_err(|_| KindError::CommandTimedOut {
                    argv: argv.clone(),
                    timeout,
                })?
                .map_err(|source| KindError::CommandSpawn {
                    argv: argv.clone(),
                    source,
                })?;
            let result = CommandOutput {
                code: output.status.code(),
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            };
            tracing::debug!(
                command = %argv,
                code = ?result.code,
                elapsed_ms = started.elapsed().as_millis(),
                "finished"
            );
            Ok(result)
        })
    }
}

#[derive(Debug, Clone)]
struct Rule {
    contains: String,
    output: CommandOutput,
    times: Option<usize>,
}

/// A runner for tests: records every command line (secrets redacted) and answers from a script.
/// Unscripted commands succeed with empty output.
#[derive(Debug, Clone, Default)]
pub struct RecordingRunner {
    recorded: Arc<Mutex<Vec<String>>>,
    rules: Arc<Mutex<Vec<Rule>>>,
}

impl RecordingRunner {
    /// An empty script.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Answer every command whose printed line contains `contains` with `output`. Later rules win.
    #[must_use]
    pub fn respond(self, contains: &str, output: CommandOutput) -> Self {
        self.push_rule(contains, output, None);
        self
    }

    /// Like [`RecordingRunner::respond`], for the next `times` matching commands only.
    #[must_use]
    pub fn respond_times(self, contains: &str, output: CommandOutput, times: usize) -> Self {
        self.push_rule(contains, output, Some(times));
        self
    }

    fn push_rule(&self, contains: &str, output: CommandOutput, times: Option<usize>) {
        if let Ok(mut rules) = self.rules.lock() {
            rules.push(Rule {
                contains: contains.to_owned(),
                output,
                times,
            });
        }
    }

    /// Every command line run so far, in order.
    #[must_use]
    pub fn recorded(&self) -> Vec<String> {
        self.recorded.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Forget what was recorded.
    pub fn clear(&self) {
        if let Ok(mut recorded) = self.recorded.lock() {
            recorded.clear();
        }
    }
}

impl CommandRunner for RecordingRunner {
    fn run<'a>(
        &'a self,
        invocation: &'a Invocation,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<CommandOutput, KindError>> {
        let line = invocation.to_string();
        tracing::debug!(command = %line, "recording");
        if let Ok(mut recorded) = self.recorded.lock() {
            recorded.push(line.clone());
        }
        let mut output = CommandOutput::ok("");
        if let Ok(mut rules) = self.rules.lock() {
            let hit = rules
                .iter()
                .rposition(|rule| line.contains(&rule.contains) && rule.times != Some(0));
            if let Some(index) = hit {
                let rule = &mut rules[index];
                output = rule.output.clone();
                if let Some(times) = rule.times.as_mut() {
                    *times -= 1;
                }
            }
        }
        Box::pin(std::future::ready(Ok(output)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_appear_in_the_printed_line() {
        let invocation = Invocation::new("docker", ["run"])
            .secret_arg("MINIO_ROOT_PASSWORD=", "hunter2")
            .arg("a b");
        let line = invocation.to_string();
        assert_eq!(line, "docker run MINIO_ROOT_PASSWORD=<redacted> 'a b'");
        assert!(!format!("{invocation:?}").contains("hunter2"));
        assert_eq!(invocation.args[1].value(), "MINIO_ROOT_PASSWORD=hunter2");
    }

    #[tokio::test]
    async fn recording_runner_records_and_answers_from_its_script() {
        let runner = RecordingRunner::new()
            .respond("get clusters", CommandOutput::ok("c8dr-region0\n"))
            .respond_times("create", CommandOutput::failed(1, "boom"), 1);
        let get = Invocation::new("kind", ["get", "clusters"]);
        let create = Invocation::new("kind", ["create", "cluster"]);
        let out = runner.run(&get, Duration::from_secs(1)).await;
        assert_eq!(
            out.ok().map(|o| o.stdout),
            Some("c8dr-region0\n".to_owned())
        );
        let failed = run_checked(&runner, &create, Duration::from_secs(1)).await;
        assert!(matches!(failed, Err(KindError::CommandFailed { .. })));
        let second = run_checked(&runner, &create, Duration::from_secs(1)).await;
        assert!(second.is_ok());
        assert_eq!(
            runner.recorded(),
            vec![
                "kind get clusters",
                "kind create cluster",
                "kind create cluster"
            ]
        );
    }

    #[tokio::test]
    async fn tokio_runner_captures_output_and_exit_status() {
        let runner = TokioCommandRunner;
        let ok = Invocation::new("sh", ["-c", "echo out; echo err >&2; exit 3"]);
        let output = runner.run(&ok, Duration::from_secs(10)).await;
        let output = output.ok().unwrap_or_default();
        assert_eq!(output.code, Some(3));
        assert_eq!(output.stdout, "out\n");
        assert_eq!(output.stderr, "err\n");
    }

    #[tokio::test]
    async fn tokio_runner_kills_a_command_at_its_deadline() {
        let runner = TokioCommandRunner;
        let slow = Invocation::new("sleep", ["5"]);
        let started = Instant::now();
        let result = runner.run(&slow, Duration::from_millis(100)).await;
        assert!(matches!(result, Err(KindError::CommandTimedOut { .. })));
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    #[tokio::test]
    async fn a_missing_tool_is_a_spawn_error_naming_the_command() {
        let runner = TokioCommandRunner;
        let missing = Invocation::new("c8dr-no-such-tool", ["x"]);
        let result = runner.run(&missing, Duration::from_secs(1)).await;
        match result {
            Err(KindError::CommandSpawn { argv, .. }) => assert_eq!(argv, "c8dr-no-such-tool x"),
            other => panic!("expected a spawn error, got {other:?}"),
        }
    }
}
