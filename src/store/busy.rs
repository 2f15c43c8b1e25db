//! Waiting for another process's write lock.
//!
//! SQLite's own busy handler backs off to one try every 100 ms. A writer
//! waiting behind a stream of short transactions (an import) would then
//! almost never try in the moment between two of them, and wait for the
//! whole stream. This handler tries every few milliseconds instead, and
//! writers that hold the lock again and again pause between transactions
//! for [`YIELD_PAUSE`], longer than that.

use std::cell::Cell;
use std::thread;
use std::time::{Duration, Instant};

use super::BUSY_TIMEOUT;
use crate::error::{ErrorKind, Result};

/// The longest sleep between two tries for a busy lock.
const BUSY_POLL: Duration = Duration::from_millis(5);

/// How long a writer that will take the lock again at once first leaves it
/// free, so that a waiting writer's next try finds it free.
pub(crate) const YIELD_PAUSE: Duration = Duration::from_millis(20);

thread_local! {
    /// When the current wait for the lock began, on this thread.
    static WAITING_SINCE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// SQLite busy handler: sleeps a little (1 ms, 2 ms, … up to [`BUSY_POLL`])
/// and asks to try again, until [`BUSY_TIMEOUT`] has passed since the
/// first call of this wait.
pub(crate) fn wait_while_busy(calls: i32) -> bool {
    let now = Instant::now();
    let since = WAITING_SINCE.with(|since| {
        if calls == 0 || since.get().is_none() {
            since.set(Some(now));
        }
        since.get().unwrap_or(now)
    });
    if now.duration_since(since) >= BUSY_TIMEOUT {
        return false;
    }
    let pause = Duration::from_millis(u64::try_from(calls).unwrap_or(0) + 1);
    thread::sleep(pause.min(BUSY_POLL));
    true
}

/// Runs `attempt` again while it fails with a busy error, until
/// `busy_timeout` has passed since the first such failure (each attempt
/// already waited up to the busy timeout in SQLite's busy handler).
pub(crate) fn retry_busy<T>(
    busy_timeout: Duration,
    mut attempt: impl FnMut() -> Result<T>,
) -> Result<T> {
    let mut deadline = None;
    let mut pause = Duration::from_millis(2);
    loop {
        match attempt() {
            Err(err) if err.kind() == ErrorKind::Busy => {
                let deadline = *deadline.get_or_insert_with(|| Instant::now() + busy_timeout);
                if Instant::now() >= deadline {
                    return Err(err);
                }
                tracing::debug!("database busy, retrying: {err}");
                thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            result => return result,
        }
    }
}
