//! Logs go to stderr through `tracing-subscriber`; progress and results go to stdout.

use tracing_subscriber::EnvFilter;

/// Log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for CI).
    Json,
}

/// Install the subscriber. `RUST_LOG` wins over `-v`/`-q`.
pub(crate) fn init(verbosity: u8, quiet: bool, format: LogFormat) {
    let default = match (quiet, verbosity) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => {
            "warn,c8dr_core=info,c8dr_cli=info,c8dr_client=info,c8dr_twin=info,c8dr_kind=info"
        }
        // The kind backend logs every kind, helm and kube call at debug (secrets redacted).
        (false, 2) => {
            "warn,c8dr_core=debug,c8dr_cli=debug,c8dr_client=debug,c8dr_twin=debug,c8dr_kind=debug"
        }
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    if let Err(e) = result {
        eprintln!("c8dr: logging is unavailable: {e}");
    }
}
