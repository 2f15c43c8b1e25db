//! Running subprocesses: one runner that every caller shares (`slots exec`
//! today, the LLM command-line tools next), knowing nothing about slots.
//!
//! A [`Job`] says what to run and how; [`run`] starts it, supervises it and
//! reports how it [`End`]ed. On Unix the command runs in its own process
//! group, and everything that stops it early stops the whole group:
//! SIGTERM, then SIGKILL after [`KILL_GRACE`]. On Linux the command also
//! gets SIGKILL when this process dies.
//!
//! What stops a run early:
//! - its wall-clock timeout ([`End::TimedOut`]);
//! - SIGINT, SIGTERM or SIGHUP received by this process while the run is
//!   going: the signal is passed on to the group ([`End::Interrupted`]);
//! - captured stdout growing past its bound ([`End::StdoutOverflow`]);
//! - captured stdout rejected by the job's [`StdoutCheck`] ([`End::Rejected`]).
//!
//! The signal handlers are registered once per process. A signal counts
//! only for the runs going when it arrives; outside any run it has its
//! default effect (it ends this process).

mod capture;
mod env;
mod job;
mod outcome;
mod proc;
mod run;
mod signals;
#[cfg(unix)]
mod terminal;
// The tests run sh, cat, yes and friends.
#[cfg(all(test, unix))]
mod tests;

pub use env::Environment;
pub use job::{Capture, Job, StdoutCheck};
pub use outcome::{Captured, End, Finished};
pub use run::{KILL_GRACE, run};
pub use signals::{SignalMark, SignalWatch};
