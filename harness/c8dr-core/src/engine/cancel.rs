//! Interrupting a run: the CLI cancels on Ctrl-C or SIGTERM, the engine stops the current step
//! at once and returns a report of what ran so far.

use std::sync::Arc;

use tokio::sync::watch;

/// A cancellation signal shared by whoever interrupts a run and the engine running it. Clones
/// share the signal; the first [`Cancel::cancel`] wins and later ones change nothing.
#[derive(Debug, Clone)]
pub struct Cancel {
    why: Arc<watch::Sender<Option<String>>>,
}

impl Default for Cancel {
    fn default() -> Self {
        Self::new()
    }
}

impl Cancel {
    /// A signal nobody has raised yet.
    #[must_use]
    pub fn new() -> Self {
        Self {
            why: Arc::new(watch::Sender::new(None)),
        }
    }

    /// Interrupt the run, saying why in a word or two (`SIGTERM`, `Ctrl-C`). Only the first
    /// call counts.
    pub fn cancel(&self, why: impl Into<String>) {
        let why = why.into();
        self.why.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(why);
            true
        });
    }

    /// Why the run was interrupted, if it was.
    #[must_use]
    pub fn reason(&self) -> Option<String> {
        self.why.borrow().clone()
    }

    /// Resolves once the run is interrupted, with why. Pending forever otherwise.
    pub async fn cancelled(&self) -> String {
        let mut receiver = self.why.subscribe();
        // (The guard `wait_for` returns is released before anything else is awaited.)
        let why = receiver
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|why| why.clone());
        match why {
            Some(why) => why,
            // The sender lives in `self`, so it cannot be gone while this waits.
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cancel;

    #[tokio::test]
    async fn the_first_reason_wins_and_waiters_see_it() {
        let cancel = Cancel::new();
        assert_eq!(cancel.reason(), None);
        let waiter = cancel.clone();
        let waiting = tokio::spawn(async move { waiter.cancelled().await });
        tokio::task::yield_now().await;
        cancel.cancel("SIGTERM");
        cancel.cancel("Ctrl-C");
        assert_eq!(waiting.await.expect("the waiter ends"), "SIGTERM");
        assert_eq!(cancel.reason().as_deref(), Some("SIGTERM"));
        // Already cancelled: resolves at once.
        assert_eq!(cancel.clone().cancelled().await, "SIGTERM");
    }
}
