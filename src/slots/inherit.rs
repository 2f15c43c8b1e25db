//! Handing a held slot down to the command run under it.

use crate::process::Job;

use super::SlotGuard;

/// Lets the command of `job` inherit the slot's locked descriptor (Unix), so
/// that the slot stays held until its whole process tree has exited, and
/// tells it which slot it is in ([`ENV_INHERITED_SLOT`](super::ENV_INHERITED_SLOT)),
/// so that a nested `slots exec` runs inside it.
#[cfg(unix)]
pub fn guarded(job: Job, guard: &SlotGuard) -> Job {
    use std::ffi::OsString;
    use std::os::fd::{AsFd, AsRawFd};
    match guard.file() {
        Some(file) => {
            let mut value = OsString::from(format!("{}:", file.as_raw_fd()));
            value.push(guard.path());
            job.inherit_descriptor(file.as_fd(), super::ENV_INHERITED_SLOT, value)
        }
        None => job,
    }
}

/// On Windows the lock belongs to this process: nothing is inherited.
#[cfg(not(unix))]
pub fn guarded(job: Job, _guard: &SlotGuard) -> Job {
    job
}
