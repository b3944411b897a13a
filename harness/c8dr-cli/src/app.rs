//! Command-line parsing (clap derive) and dispatch. Everything the user can type is here.

use std::path::PathBuf;
use std::process::ExitCode;

use c8dr_core::exit_code;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;
use crate::errors::CliError;
use crate::kind_args::KindArgs;
use crate::logging::{self, LogFormat};

/// Chaos and disaster-recovery drills for Camunda 8 dual-region deployments.
///
/// c8dr runs the region-loss procedure (failover, then failback) as code, step by step, and checks
/// typed state after every step: topology, exporters, Elasticsearch snapshots, data continuity.
/// It runs in seconds against the twin, a simulator of a dual-region Camunda 8 deployment.
#[derive(Debug, Parser)]
#[command(name = "c8dr", version, after_help = exit_code::TABLE, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,

    /// More logs on stderr (-v: info, -vv: debug). `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    quiet: bool,

    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true, env = "C8DR_LOG_FORMAT")]
    log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a drill (default: the built-in Camunda 8.8 drill on the embedded twin).
    #[command(after_help = exit_code::TABLE)]
    Run(RunArgs),
    /// Print every step of a drill with the commands an operator would run; runs nothing.
    #[command(after_help = exit_code::TABLE)]
    Plan(PlanArgs),
    /// Run mutants of the procedure (steps dropped, swapped, aimed at the wrong region, settings
    /// forgotten, the page's known wrong variants) against the twin and show which the drill catches.
    #[command(after_help = MUTATE_EXIT_CODES)]
    Mutate(MutateArgs),
    /// Check scenario files; runs nothing.
    #[command(after_help = exit_code::TABLE)]
    Validate(ValidateArgs),
    /// Print the JSON Schema of scenario files (for editors; committed as schemas/scenario.schema.json).
    Schema,
    /// The twin: a simulated dual-region Camunda 8 deployment.
    #[command(subcommand)]
    Twin(TwinCommand),
    /// Two kind clusters, one per region, networked together (needs docker, kind and helm).
    #[command(subcommand)]
    Clusters(ClustersCommand),
}

/// Which scenario and which lost region.
#[derive(Debug, Args)]
pub(crate) struct ScenarioArgs {
    /// Scenario file; default: the built-in `dual-region-8.8.yaml`.
    pub(crate) scenario: Option<PathBuf>,

    /// The region to lose (overrides the scenario's `lostRegion`).
    #[arg(long, value_name = "REGION", env = "C8DR_LOST_REGION")]
    pub(crate) lost_region: Option<u8>,
}

/// `c8dr run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,

    /// Where the drill runs.
    #[arg(long, value_enum, default_value_t = RunBackend::Twin)]
    pub(crate) backend: RunBackend,

    /// Directory for report.json and junit.xml; default `c8dr-reports/<scenario>-lost<region>`.
    #[arg(long, value_name = "DIR", env = "C8DR_REPORT_DIR")]
    pub(crate) report_dir: Option<PathBuf>,

    /// How much faster than a real cluster the twin runs (its cluster-time latencies and the
    /// scenario's timeouts are divided by this factor). Default: 100 for the embedded twin; for
    /// `--backend twin-serve`, the `--time-scale` that `twin serve` was started with (default 10).
    #[arg(long, value_name = "FACTOR", conflicts_with = "virtual_time")]
    pub(crate) time_scale: Option<f64>,

    /// Rehearsal: before each procedure step, print the commands to run and wait for Enter; the
    /// operator performs the step by hand and c8dr checks its expectations.
    #[arg(long)]
    pub(crate) manual: bool,

    /// Where `--backend twin-serve` finds the twin.
    #[command(flatten)]
    pub(crate) twin: ServeAddressArgs,

    /// The kind backend's settings (`--backend kind`).
    #[command(flatten)]
    pub(crate) kind: KindArgs,

    /// Run on virtual time shared by the engine and the twin: deterministic, and as fast as the
    /// machine allows. Report durations are then virtual (cluster) time.
    #[arg(long)]
    pub(crate) virtual_time: bool,

    /// Seed of the twin's randomness (latency jitter): with `--virtual-time`, the same seed
    /// replays the same run.
    #[arg(long, value_name = "N", default_value_t = 0, env = "C8DR_SEED")]
    pub(crate) seed: u64,

    /// Poll interval for expectations in cluster time (overrides the scenario), e.g. `500ms`.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub(crate) poll_interval: Option<std::time::Duration>,

    /// Run only these stages, each named by its phase (`steadyState`, `regionLoss`, `failover`,
    /// `failback`, `finalState`: every stage of that phase) or by its stage name; repeat the
    /// flag or separate with commas. The others are reported as skipped. Skipping a stage
    /// before a selected one needs a target that outlives the run (`--backend twin-serve`).
    #[arg(long = "stage", value_name = "PHASE", value_delimiter = ',')]
    pub(crate) stages: Vec<String>,

    /// Continue the ledger.jsonl of an earlier run against the same target: its acknowledged
    /// instances are covered by every ledger-driven check of this run and by the final audit,
    /// and its fault marker and captured placements stand in for skipped stages. The file is
    /// only read; this run writes the combined ledger to its own report directory.
    #[arg(long, value_name = "FILE")]
    pub(crate) ledger: Option<PathBuf>,
}

/// Backends `c8dr run` can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RunBackend {
    /// The embedded twin, on ephemeral loopback ports.
    Twin,
    /// A `c8dr twin serve` running elsewhere (for rehearsals with `--manual`).
    TwinServe,
    /// Two kind clusters from `c8dr clusters up`, with the real Camunda Helm chart.
    Kind,
}

/// Where a `c8dr twin serve` listens (the same flags it was started with).
#[derive(Debug, Args)]
pub(crate) struct ServeAddressArgs {
    /// The `--bind` address `twin serve` uses; default: region r on 127.0.0.(10+r).
    #[arg(long = "twin-bind", value_name = "ADDRESS")]
    pub(crate) bind: Option<std::net::IpAddr>,

    /// The `--port-offset` of `twin serve` (with `--twin-bind`).
    #[arg(long = "twin-port-offset", value_name = "N", default_value_t = 1000)]
    pub(crate) port_offset: u16,

    /// The `--control-port` of `twin serve`.
    #[arg(
        long = "twin-control-port",
        value_name = "PORT",
        default_value_t = 9990
    )]
    pub(crate) control_port: u16,
}

/// `c8dr plan`.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,

    /// Whose commands to print: the twin (`c8dr twin serve` defaults) or kind clusters.
    #[arg(long, value_enum, default_value_t = PlanBackend::Twin)]
    pub(crate) backend: PlanBackend,

    /// The kind backend's settings (`--backend kind`).
    #[command(flatten)]
    pub(crate) kind: KindArgs,

    /// With `--backend kind`: the `--report-dir` of the `c8dr run` to list (its files go under
    /// `<DIR>/kind-run`); default as for `c8dr run`.
    #[arg(long, value_name = "DIR", env = "C8DR_REPORT_DIR")]
    pub(crate) report_dir: Option<PathBuf>,

    /// Print the resolved plan as JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `c8dr mutate`.
#[derive(Debug, Args)]
pub(crate) struct MutateArgs {
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,

    /// Directory for mutants.json and mutants.md; default `c8dr-reports/<scenario>-lost<region>-mutants`.
    #[arg(long, value_name = "DIR")]
    pub(crate) report_dir: Option<PathBuf>,

    /// How many mutants run at once (each on its own twin).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub(crate) jobs: usize,

    /// Seed of the twins' randomness: the same seed gives the same verdicts.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) seed: u64,
}

const MUTATE_EXIT_CODES: &str = "\
Exit codes:
  0    every mutant was caught or is explained as harmless by the scenario
  1    a mutant survived unexplained (a gap in the checks), a mutant's drill failed before the
       step the mutation changes (invalid: a flaky drill), or the unmutated drill fails
  2    invalid input
  3    infrastructure error (a twin could not start or a mutant could not be judged)";

/// Backends `c8dr plan` can print commands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PlanBackend {
    /// `c8dr twin serve` on its default addresses.
    Twin,
    /// Two kind clusters with the Camunda Helm chart.
    Kind,
}

/// `c8dr validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Scenario files.
    #[arg(required = true)]
    pub(crate) scenarios: Vec<PathBuf>,

    /// Also resolve the plan for this lost region.
    #[arg(long, value_name = "REGION")]
    pub(crate) lost_region: Option<u8>,
}

#[derive(Debug, Subcommand)]
enum ClustersCommand {
    /// Create both clusters (concurrently), route pod traffic between them, chain their DNS,
    /// and prove reachability both ways. Existing clusters are reused.
    Up(ClustersArgs),
    /// Delete both clusters.
    Down(ClustersArgs),
}

/// `c8dr clusters up|down`.
#[derive(Debug, Args)]
pub(crate) struct ClustersArgs {
    /// Directory for the generated kind configs and manifests.
    #[arg(long, value_name = "DIR", default_value = crate::kind_args::CLUSTERS_RUN_DIR)]
    pub(crate) run_dir: PathBuf,

    #[command(flatten)]
    pub(crate) kind: KindArgs,
}

#[derive(Debug, Subcommand)]
enum TwinCommand {
    /// Serve the twin in the foreground and print its endpoints (for rehearsing the procedure by hand).
    Serve(TwinServeArgs),
}

/// `c8dr twin serve`.
#[derive(Debug, Args)]
pub(crate) struct TwinServeArgs {
    /// Bind every region on this address instead of 127.0.0.10, 127.0.0.11, ...; region r then
    /// listens on the real ports plus r × `--port-offset`.
    #[arg(long, value_name = "ADDRESS")]
    pub(crate) bind: Option<std::net::IpAddr>,

    /// Port distance between regions when `--bind` is given.
    #[arg(long, value_name = "N", default_value_t = 1000, requires = "bind")]
    pub(crate) port_offset: u16,

    /// Port of the control API (on 127.0.0.1, or on `--bind`).
    #[arg(long, value_name = "PORT", default_value_t = 9990)]
    pub(crate) control_port: u16,

    /// Bind every listener on a free port of 127.0.0.1 chosen by the system; the banner prints
    /// where each one listens (for tests and scripts running several twins at once).
    #[arg(long, conflicts_with_all = ["bind", "port_offset", "control_port"])]
    pub(crate) ephemeral_ports: bool,

    /// Simulated time per wall time (1 = as slow as a real cluster).
    #[arg(long, value_name = "FACTOR", default_value_t = 10.0)]
    pub(crate) time_scale: f64,

    /// Cluster time moves only when told (`POST /twin/v1/clock/advance` on the control API) or
    /// when a request waits for it: with `--seed`, the same requests replay the same answers.
    #[arg(long, conflicts_with = "time_scale")]
    pub(crate) manual_clock: bool,

    /// Seed of the twin's randomness (latency jitter).
    #[arg(long, value_name = "N", default_value_t = 0, env = "C8DR_SEED")]
    pub(crate) seed: u64,

    /// Kubernetes namespace of each region, in region order (repeat the flag or separate with
    /// commas; one per region): broker hosts are `<release>-zeebe-N.<release>-zeebe.<namespace>`.
    /// Default: `camunda-region0,camunda-region1`.
    #[arg(
        long = "namespace",
        value_name = "NAME",
        value_delimiter = ',',
        value_parser = dns1123_label
    )]
    pub(crate) namespaces: Vec<String>,

    /// User of the REST API's basic authentication.
    #[arg(long, value_name = "NAME", default_value = "demo")]
    pub(crate) username: String,

    /// Password of the REST API's basic authentication.
    #[arg(
        long,
        value_name = "PASSWORD",
        default_value = "demo",
        env = "C8DR_TWIN_PASSWORD",
        hide_env_values = true
    )]
    pub(crate) password: String,

    /// Brokers over both regions.
    #[arg(long, default_value_t = 8)]
    pub(crate) cluster_size: u32,

    /// Partitions.
    #[arg(long, default_value_t = 8)]
    pub(crate) partition_count: u32,

    /// Replication factor.
    #[arg(long, default_value_t = 4)]
    pub(crate) replication_factor: u32,
}

/// A Kubernetes namespace name: an RFC 1123 DNS label (at most 63 lower-case letters, digits
/// and `-`, starting and ending with a letter or digit).
fn dns1123_label(value: &str) -> Result<String, String> {
    let valid_chars = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let alnum_ends = !value.starts_with('-') && !value.ends_with('-');
    if !value.is_empty() && value.len() <= 63 && valid_chars && alnum_ends {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "{value:?} is not a Kubernetes namespace name (an RFC 1123 label: at most 63 \
             lower-case letters, digits and '-', starting and ending with a letter or digit)"
        ))
    }
}

/// Parse the command line, run the command, and turn the result into an exit code.
pub(crate) fn main_impl() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose, cli.quiet, cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("c8dr: cannot start the async runtime: {e}");
            return exit(exit_code::INFRASTRUCTURE);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => commands::run::run(args).await,
            Command::Plan(args) => commands::plan::plan(&args),
            Command::Validate(args) => commands::validate::validate(&args),
            Command::Schema => {
                let schema = c8dr_core::spec::json_schema();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&schema).unwrap_or_default()
                );
                Ok(exit_code::PASSED)
            }
            Command::Mutate(args) => commands::mutate::mutate(args).await,
            Command::Twin(TwinCommand::Serve(args)) => commands::twin::serve(args).await,
            Command::Clusters(ClustersCommand::Up(args)) => commands::clusters::up(&args).await,
            Command::Clusters(ClustersCommand::Down(args)) => commands::clusters::down(&args).await,
        }
    });
    match result {
        Ok(code) => exit(code),
        Err(error) => {
            let code = error.exit_code();
            report_error(error);
            exit(code)
        }
    }
}

fn report_error(error: CliError) {
    let report = miette::Report::new(error);
    eprintln!("{report:?}");
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn namespaces_must_be_dns_1123_labels() {
        for ok in ["camunda-london", "a", "r0", "0-x-1", &"n".repeat(63)] {
            assert_eq!(dns1123_label(ok).as_deref(), Ok(ok));
        }
        for bad in [
            "",
            "Camunda",
            "-x",
            "x-",
            "a_b",
            "a.b",
            "ümlaut",
            &"n".repeat(64),
        ] {
            assert!(dns1123_label(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn twin_serve_takes_namespaces_repeated_or_comma_separated() {
        let parse = |args: &[&str]| -> Result<TwinServeArgs, clap::Error> {
            let cli = Cli::try_parse_from(["c8dr", "twin", "serve"].iter().chain(args))?;
            match cli.command {
                Command::Twin(TwinCommand::Serve(a)) => Ok(a),
                other => panic!("not twin serve: {other:?}"),
            }
        };
        let a = parse(&[
            "--namespace",
            "camunda-london",
            "--namespace",
            "camunda-paris",
        ])
        .expect("valid");
        assert_eq!(a.namespaces, ["camunda-london", "camunda-paris"]);
        let a = parse(&["--namespace=camunda-london,camunda-paris"]).expect("valid");
        assert_eq!(a.namespaces, ["camunda-london", "camunda-paris"]);
        assert!(parse(&["--namespace", "London"]).is_err());
        let a = parse(&["--manual-clock", "--seed", "7"]).expect("valid");
        assert!(a.manual_clock);
        assert_eq!(a.seed, 7);
        assert!(parse(&["--manual-clock", "--time-scale", "5"]).is_err());
        assert!(parse(&["--ephemeral-ports", "--control-port", "1"]).is_err());
    }
}
