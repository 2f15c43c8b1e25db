//! Termination signals received while watched.
//!
//! The handlers are registered once per process. A signal that arrives
//! while a watch is alive (every run has one; a command that runs many,
//! such as `enrich`, holds one for its whole loop) is recorded for the
//! watches; one that arrives while none is gets its default action (the
//! process ends), as if no handler were there. Each watch notices only the
//! signals that arrive after it started, so an interrupted run never dooms
//! the runs that follow it.

use std::sync::Once;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};

/// The signals a run passes on to its command.
#[cfg(unix)]
const HANDLED: [i32; 3] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
];
/// The signals a run passes on to its command.
#[cfg(not(unix))]
const HANDLED: [i32; 2] = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM];

static REGISTER: Once = Once::new();
/// Watches alive now.
static ACTIVE_WATCHES: AtomicUsize = AtomicUsize::new(0);
/// How many signals arrived while watched, ever.
static RECEIVED: AtomicU64 = AtomicU64::new(0);
/// The last signal that arrived while watched.
static LAST_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// A point in the count of signals: a watch started at it notices every
/// signal after it, even one that arrived before the watch started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalMark(u64);

/// One view of the signals, alive from its start to its end: a run's, or
/// a command's that runs many (while any watch is alive, a signal is
/// recorded instead of ending the process).
pub struct SignalWatch {
    received_before: u64,
}

impl SignalWatch {
    /// Registers the handlers if this is the first watch, and starts watching.
    pub fn start() -> Self {
        Self::start_at(None)
    }

    /// Starts watching from `mark` (a mark of a watch alive until this one
    /// starts, so that no signal in between got its default action), else
    /// from now.
    pub fn start_at(mark: Option<SignalMark>) -> Self {
        REGISTER.call_once(register);
        ACTIVE_WATCHES.fetch_add(1, Ordering::SeqCst);
        let now = RECEIVED.load(Ordering::SeqCst);
        SignalWatch {
            received_before: mark.map_or(now, |SignalMark(count)| count),
        }
    }

    /// The point this watch started at.
    pub fn mark(&self) -> SignalMark {
        SignalMark(self.received_before)
    }

    /// Returns the last signal received since this watch started, if any.
    pub fn received(&self) -> Option<i32> {
        (RECEIVED.load(Ordering::SeqCst) != self.received_before)
            .then(|| LAST_SIGNAL.load(Ordering::SeqCst))
    }
}

impl Drop for SignalWatch {
    fn drop(&mut self) {
        ACTIVE_WATCHES.fetch_sub(1, Ordering::SeqCst);
    }
}

fn register() {
    for signal in HANDLED {
        // SAFETY: the handler only touches atomics, or performs the
        // default action with signal-hook's async-signal-safe helper.
        let registered = unsafe {
            signal_hook::low_level::register(signal, move || {
                if ACTIVE_WATCHES.load(Ordering::SeqCst) == 0 {
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                } else {
                    LAST_SIGNAL.store(signal, Ordering::SeqCst);
                    RECEIVED.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        if let Err(e) = registered {
            tracing::warn!("cannot handle signal {signal}: {e}");
        }
    }
}
