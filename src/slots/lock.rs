//! Taking a pool's auxiliary locks (`pool.lock`, the waiting line's
//! `counter` and temporary tickets) with a deadline.
//!
//! They are held only for a few system calls, but anyone who can open the
//! files can hold them for as long as they like, and the kernel's blocking
//! lock has no timeout. So they are tried without blocking, with a short
//! growing pause between tries, until the caller's deadline.

use std::fs::File;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The first pause between two tries of a held lock.
const FIRST_PAUSE: Duration = Duration::from_micros(200);
/// The longest pause between two tries.
const LONGEST_PAUSE: Duration = Duration::from_millis(20);

/// How a lock is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Many holders at once (readers).
    Shared,
    /// One holder (a writer).
    Exclusive,
}

/// Takes the lock of `file` (opened from `path`) in `mode`, trying until
/// `deadline`; returns false if it stayed held by someone else until then.
///
/// # Failure
/// I/O errors other than the lock being held.
pub(crate) fn lock_until(file: &File, path: &Path, mode: Mode, deadline: Instant) -> Result<bool> {
    let mut pause = FIRST_PAUSE;
    loop {
        let tried = match mode {
            Mode::Shared => fs4::FileExt::try_lock_shared(file),
            Mode::Exclusive => fs4::FileExt::try_lock(file),
        };
        match tried {
            Ok(()) => return Ok(true),
            Err(fs4::TryLockError::WouldBlock) => {}
            Err(fs4::TryLockError::Error(e)) => {
                return Err(Error::io(format!("locking {}", path.display()), e));
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_given_up_at_the_deadline_and_a_free_one_taken() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let holder = File::create(&path).unwrap();
        let other = File::open(&path).unwrap();
        fs4::FileExt::lock(&holder).unwrap();
        let soon = Instant::now() + Duration::from_millis(30);
        assert!(!lock_until(&other, &path, Mode::Shared, soon).unwrap());
        assert!(Instant::now() >= soon);
        fs4::FileExt::unlock(&holder).unwrap();
        let later = Instant::now() + Duration::from_secs(30);
        assert!(lock_until(&other, &path, Mode::Exclusive, later).unwrap());
    }
}
