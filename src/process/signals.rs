//! Termination signals received during runs.
//!
//! The handlers are registered once per process. A signal that arrives
//! while runs are going is recorded for them; one that arrives while none
//! is going gets its default action (the process ends), as if no handler
//! were there. Each run notices only the signals that arrive after it
//! started, so an interrupted run never dooms the runs that follow it.

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
/// Runs going now.
static ACTIVE_RUNS: AtomicUsize = AtomicUsize::new(0);
/// How many signals arrived during runs, ever.
static RECEIVED: AtomicU64 = AtomicU64::new(0);
/// The last signal that arrived during a run.
static LAST_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// One run's view of the signals: alive from its start to its end.
pub(super) struct SignalWatch {
    received_before: u64,
}

impl SignalWatch {
    /// Registers the handlers if this is the first run, and starts watching.
    pub(super) fn start() -> Self {
        REGISTER.call_once(register);
        ACTIVE_RUNS.fetch_add(1, Ordering::SeqCst);
        SignalWatch {
            received_before: RECEIVED.load(Ordering::SeqCst),
        }
    }

    /// Returns the last signal received since this run started, if any.
    pub(super) fn received(&self) -> Option<i32> {
        (RECEIVED.load(Ordering::SeqCst) != self.received_before)
            .then(|| LAST_SIGNAL.load(Ordering::SeqCst))
    }
}

impl Drop for SignalWatch {
    fn drop(&mut self) {
        ACTIVE_RUNS.fetch_sub(1, Ordering::SeqCst);
    }
}

fn register() {
    for signal in HANDLED {
        // SAFETY: the handler only touches atomics, or performs the
        // default action with signal-hook's async-signal-safe helper.
        let registered = unsafe {
            signal_hook::low_level::register(signal, move || {
                if ACTIVE_RUNS.load(Ordering::SeqCst) == 0 {
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
