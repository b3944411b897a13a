//! `c8dr`: chaos and disaster-recovery drills for Camunda 8 dual-region deployments.

mod app;
mod builtin;
mod commands;
mod errors;
mod kind_args;
mod logging;
mod operator;
mod progress;
mod reports;
mod twin_backend;

fn main() -> std::process::ExitCode {
    app::main_impl()
}
