//! Rehearsal mode at the terminal: before each procedure step, print the commands the operator
//! runs, wait for them to press Enter, then let the engine check the step's expectations.

use std::io::BufRead;

use c8dr_core::engine::operator::{DecisionFuture, Operator, OperatorDecision};
use c8dr_core::plan::{Plan, Stage, Step};
use c8dr_core::render::{CommandTarget, action_commands, expectation_commands};

/// Prompts on stdout, reads decisions from stdin.
pub(crate) struct TerminalOperator {
    plan: Plan,
    target: CommandTarget,
}

impl TerminalOperator {
    pub(crate) fn new(plan: Plan, target: CommandTarget) -> Self {
        Self { plan, target }
    }

    fn prompt(&self, stage: &Stage, step: &Step) -> String {
        let mut text = format!(
            "\n── {} {} (stage {}){}\n",
            step.id,
            step.name,
            stage.name,
            step.procedure
                .as_ref()
                .map_or_else(String::new, |p| format!(" [{p}]"))
        );
        if let Some(description) = &step.description {
            text.push_str(&format!("   {}\n", description.trim()));
        }
        if let Some(action) = &step.action {
            text.push_str(&format!("   do: {}\n", action.summary()));
            for command in action_commands(&self.plan, action, &self.target) {
                text.push_str(&format!("     $ {command}\n"));
            }
        }
        if !step.expectations.is_empty() {
            text.push_str("   then c8dr checks:\n");
            for expectation in &step.expectations {
                text.push_str(&format!("     - {}\n", expectation.describe()));
                for command in expectation_commands(&self.plan, expectation, &self.target) {
                    text.push_str(&format!("       (by hand: {command})\n"));
                }
            }
        }
        text.push_str("   Press Enter when done, or type q and Enter to stop the rehearsal: ");
        text
    }
}

impl Operator for TerminalOperator {
    fn perform<'a>(&'a self, stage: &'a Stage, step: &'a Step) -> DecisionFuture<'a> {
        let prompt = self.prompt(stage, step);
        Box::pin(async move {
            print!("{prompt}");
            let _ = std::io::Write::flush(&mut std::io::stdout());
            // Reading stdin blocks; keep it off the async workers.
            let line = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map(|n| (n, line))
            })
            .await;
            // End the prompt's line when the answer came from a pipe (a terminal echoes Enter).
            if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                println!();
            }
            match line {
                Ok(Ok((0, _))) => {
                    println!("\n(stdin closed: stopping the rehearsal)");
                    OperatorDecision::Abort
                }
                Ok(Ok((_, line))) if line.trim().eq_ignore_ascii_case("q") => {
                    OperatorDecision::Abort
                }
                Ok(Ok(_)) => OperatorDecision::Done,
                Ok(Err(e)) => {
                    println!("\n(cannot read stdin: {e}; stopping the rehearsal)");
                    OperatorDecision::Abort
                }
                Err(e) => {
                    println!("\n(cannot read stdin: {e}; stopping the rehearsal)");
                    OperatorDecision::Abort
                }
            }
        })
    }
}
