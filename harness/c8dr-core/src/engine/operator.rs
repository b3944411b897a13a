//! Rehearsal mode: a person performs the procedure's actions by hand, and the engine checks the
//! expectations after each one. The engine asks an [`Operator`] instead of performing the action.

use std::future::Future;
use std::pin::Pin;

use crate::plan::{Action, Stage, Step};

/// What the operator decided for a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorDecision {
    /// They performed the step's action; check its expectations.
    Done,
    /// They stopped the rehearsal.
    Abort,
}

/// A boxed future of an operator's decision.
pub type DecisionFuture<'a> = Pin<Box<dyn Future<Output = OperatorDecision> + Send + 'a>>;

/// Whoever performs the procedure's actions by hand.
pub trait Operator: Send + Sync {
    /// Show the step (and the commands to run) and wait until the operator is done.
    fn perform<'a>(&'a self, stage: &'a Stage, step: &'a Step) -> DecisionFuture<'a>;
}

/// Whether a rehearsal hands this action to the operator. The drill's own probing (deploying the
/// probe process, creating instances) stays with c8dr: it is how the drill observes, not part of
/// the procedure.
#[must_use]
pub fn is_manual(action: &Action) -> bool {
    !matches!(
        action,
        Action::DeployProcess { .. }
            | Action::CreateInstances(_)
            | Action::CompleteInstances { .. }
    )
}

impl std::fmt::Debug for dyn Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Operator")
    }
}
