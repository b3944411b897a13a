//! Process exit codes shared by the CLI and everything that drives it.
//!
//! They are constants rather than an enum so scripts and CI pipelines can rely on the numbers
//! (compare nextest's `NextestExitCode`).

/// The drill ran and every step passed.
pub const PASSED: i32 = 0;
/// The drill ran and a step failed: an action was rejected or an expectation did not hold.
pub const DRILL_FAILED: i32 = 1;
/// The command line or a scenario file is invalid; nothing was touched.
pub const INVALID_INPUT: i32 = 2;
/// The infrastructure needed to run the drill failed (twin, kind, helm or an API could not be set up).
pub const INFRASTRUCTURE: i32 = 3;
/// Cleanup failed: the environment may be dirty.
pub const CLEANUP_FAILED: i32 = 4;
/// The run was interrupted (Ctrl-C, or SIGTERM on unix); its reports were written when the
/// drill stopped in time.
pub const INTERRUPTED: i32 = 130;

/// One line per exit code, for `--help` and the README.
pub const TABLE: &str = "\
Exit codes:
  0    the drill passed
  1    the drill failed (an action was rejected or an expectation did not hold)
  2    invalid input (command line or scenario); nothing was touched
  3    infrastructure error (twin, kind, helm or an API could not be set up)
  4    cleanup failed; the environment may be dirty
  130  interrupted";
