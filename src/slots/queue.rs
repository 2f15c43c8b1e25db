//! The waiting line of a pool: numbered tickets, first come, first served.
//!
//! Polling alone is unfair: a process that releases a slot and asks again
//! at once wins against waiters asleep in their backoff, and one waiter was
//! measured to starve for a whole 2 s run (see docs/BENCHMARKS.md). So a
//! process that finds the pool busy takes a ticket, and only the holders of
//! the `max` oldest live tickets (the heads) may try the slots.
//!
//! A ticket is a file `queue/t-<number>` that its owner keeps locked while
//! it waits, so a ticket whose owner died is unlocked and anyone may delete
//! it. The lock is taken on a temporary name before the ticket is renamed
//! into place, so a visible ticket is never briefly unlocked. Tickets only
//! order the waiters: admission is still decided by the slot locks alone.
//!
//! A waiter that is not a head does not poll: it blocks in the kernel and
//! looks again when it is woken. A waiter keeps its ticket locked
//! exclusively; a head keeps it locked shared (on Unix). The first waiter
//! behind the heads blocks on the heads' tickets (exclusively), so it wakes
//! when any head leaves the line. Every later waiter blocks on the ticket
//! just ahead of it (shared), so it wakes when that waiter becomes a head or
//! leaves. A departure wakes one or two processes, and a waiting line costs
//! no CPU. (Elsewhere a head's ticket stays exclusive, and a waiter wakes
//! only when the ticket ahead of it leaves.)

use std::fs::File;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::folder::{Folder, read_start, rewrite};
use super::lock::{Mode, lock_until};
use super::{CANCEL_CHECK, Cancel, try_lock};
use crate::error::{Error, ErrorKind, Result};

const TICKET_PREFIX: &str = "t-";
const COUNTER: &str = "counter";
/// The least time given to the line's own locks (the counter, a new
/// ticket), which their holders keep for a few system calls: a shorter wait
/// must not fail only because another process was taking a ticket.
const LINE_LOCK_GRACE: Duration = Duration::from_millis(100);

/// A place in a pool's waiting line, held until dropped.
pub(crate) struct Ticket<'q> {
    number: u64,
    name: String,
    queue: &'q Folder,
    _lock: File,
}

/// Returns true when no ticket file exists (live or stale).
pub(crate) fn is_empty(queue: &Folder) -> Result<bool> {
    Ok(!queue.names()?.iter().any(|n| n.starts_with(TICKET_PREFIX)))
}

impl<'q> Ticket<'q> {
    /// Takes the next ticket number and places a locked ticket in the line.
    ///
    /// # Failure
    /// No-slot when the line's counter or the new ticket stays locked by
    /// someone else past `deadline` (and at least 100 ms); I/O errors.
    pub(crate) fn take(queue: &'q Folder, deadline: Instant) -> Result<Ticket<'q>> {
        let deadline = deadline.max(Instant::now() + LINE_LOCK_GRACE);
        let number = next_number(queue, deadline)?;
        let temp = format!("tmp-{number}");
        let lock = queue.file(&temp, true)?.expect("created when missing");
        lock_line_file(&lock, &queue.path().join(&temp), deadline)?;
        let name = format!("{TICKET_PREFIX}{number:020}");
        queue.rename(&temp, &name)?;
        Ok(Ticket {
            number,
            name,
            queue,
            _lock: lock,
        })
    }

    /// Finds this ticket's place: a head if fewer than `heads` live
    /// tickets are ahead of it; else what to wait for before looking again.
    /// Deletes the tickets ahead whose owners died.
    pub(crate) fn place(&self, heads: u32) -> Result<Place> {
        let mut ahead: Vec<(u64, String)> = self
            .queue
            .names()?
            .into_iter()
            .filter_map(|name| {
                let number: u64 = name.strip_prefix(TICKET_PREFIX)?.parse().ok()?;
                (number < self.number).then_some((number, name))
            })
            .collect();
        ahead.sort_unstable();
        let mut head_files = Vec::new();
        let mut last_head = 0;
        for (index, (_, name)) in ahead.iter().enumerate() {
            if head_files.len() as u32 >= heads {
                break;
            }
            if let Some(file) = self.open_live(name)? {
                head_files.push(file);
                last_head = index;
            }
        }
        if (head_files.len() as u32) < heads {
            return Ok(Place::Head);
        }
        for (_, name) in ahead[last_head + 1..].iter().rev() {
            if let Some(file) = self.open_live(name)? {
                return Ok(Place::Behind(Wait::Waiter(file)));
            }
        }
        head_files.truncate(MAX_WATCHED_HEADS);
        Ok(Place::Behind(Wait::Heads(head_files)))
    }

    /// Marks this ticket as a head's: its lock becomes shared (on Unix),
    /// which wakes the waiter behind it, and it still shows the ticket live.
    pub(crate) fn become_head(&self) {
        #[cfg(unix)]
        if let Err(e) = fs4::FileExt::lock_shared(&self._lock) {
            tracing::debug!("could not mark ticket {} as a head's: {e}", self.number);
        }
    }

    /// Opens the ticket `name` if its owner still holds it; deletes it if
    /// its owner died (its lock is free).
    fn open_live(&self, name: &str) -> Result<Option<File>> {
        let Some(file) = self.queue.file(name, false)? else {
            return Ok(None);
        };
        if try_lock(&file, &self.queue.path().join(name))? {
            self.queue.remove(name);
            return Ok(None);
        }
        Ok(Some(file))
    }
}

/// The most heads' tickets the first waiter behind them watches.
const MAX_WATCHED_HEADS: usize = 16;

/// Where a ticket stands in the line.
pub(crate) enum Place {
    /// Among the oldest live tickets: may try the slots.
    Head,
    /// Behind others, until what it waits for happens.
    Behind(Wait),
}

/// What a waiter that is not a head waits for.
pub(crate) enum Wait {
    /// The nearest ticket ahead, of a waiter that is not a head either:
    /// until it becomes a head (on Unix) or leaves the line.
    Waiter(File),
    /// The heads' tickets, when this is the first waiter behind them:
    /// until one of them leaves the line.
    Heads(Vec<File>),
}

/// Blocks until what `wait` names happens or `deadline` passes; returns
/// true if it happened before the deadline.
///
/// The blocking locks are taken on helper threads, which are left behind
/// when the deadline passes or another lock came first. That is harmless:
/// they only ever wait for ticket locks, never for a slot, and they let go
/// of a lock as soon as they get it.
///
/// # Failure
/// I/O errors starting a thread.
pub(crate) fn wait_for(wait: Wait, deadline: Instant, cancel: &Cancel) -> Result<bool> {
    let (happened, on_happened) = mpsc::channel();
    let watches = match wait {
        // A head holds its ticket shared, a waiter exclusive: a shared lock
        // is granted when the waiter ahead becomes a head or leaves.
        Wait::Waiter(file) => vec![(file, cfg!(unix))],
        Wait::Heads(files) => files.into_iter().map(|file| (file, false)).collect(),
    };
    for (file, shared) in watches {
        let happened = happened.clone();
        std::thread::Builder::new()
            .name("ticket-wait".into())
            .spawn(move || {
                let _ = if shared {
                    fs4::FileExt::lock_shared(&file)
                } else {
                    fs4::FileExt::lock(&file)
                };
                let _ = happened.send(());
            })
            .map_err(|e| Error::io("starting a thread to wait in line", e))?;
    }
    // A wait nothing can cancel sleeps until its deadline in one go, so a
    // crowd of waiters costs no CPU; one that can wakes to ask.
    let step = if cancel.can_cancel() {
        CANCEL_CHECK
    } else {
        Duration::MAX
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match on_happened.recv_timeout(left.min(step)) {
            Ok(()) => return Ok(true),
            Err(_) if left <= step => return Ok(false),
            Err(_) => cancel.check()?,
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        // Removed while still locked, so nobody sees it unlocked under its name.
        self.queue.remove(&self.name);
    }
}

/// Takes the exclusive lock of one of the line's own files before
/// `deadline`.
///
/// # Failure
/// No-slot when someone else holds it until then; I/O errors.
fn lock_line_file(file: &File, path: &Path, deadline: Instant) -> Result<()> {
    if lock_until(file, path, Mode::Exclusive, deadline)? {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::NoSlot,
        format!(
            "{} stayed locked by another process for the whole wait",
            path.display()
        ),
    )
    .with_hint("the waiting line's own processes hold it for moments only: find the process that holds it (fuser or lsof) and stop it"))
}

/// Increments the line's counter under the lock of its `counter` file.
fn next_number(queue: &Folder, deadline: Instant) -> Result<u64> {
    let path = queue.path().join(COUNTER);
    let io = |e| Error::io(format!("updating {}", path.display()), e);
    let file = queue.file(COUNTER, true)?.expect("created when missing");
    lock_line_file(&file, &path, deadline)?;
    let text = read_start(&file, 64).map_err(io)?;
    let number = text.trim().parse::<u64>().unwrap_or(0) + 1;
    rewrite(&file, number.to_string().as_bytes()).map_err(io)?;
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::{RuntimeDir, RuntimeDirKind};

    fn behind(place: Place) -> Wait {
        match place {
            Place::Behind(wait) => wait,
            Place::Head => panic!("a head, expected behind"),
        }
    }

    #[test]
    fn tickets_are_ordered_and_dead_ones_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = RuntimeDir {
            path: dir.path().to_owned(),
            kind: RuntimeDirKind::Named,
        };
        let queue = Folder::open_root(&runtime, true).unwrap().unwrap();
        assert!(is_empty(&queue).unwrap());
        let first = Ticket::take(&queue, Instant::now()).unwrap();
        let second = Ticket::take(&queue, Instant::now()).unwrap();
        let third = Ticket::take(&queue, Instant::now()).unwrap();
        assert!(!is_empty(&queue).unwrap());
        assert!(matches!(first.place(1).unwrap(), Place::Head));
        assert!(matches!(third.place(3).unwrap(), Place::Head));
        behind(third.place(2).unwrap());
        let stale = dir.path().join(format!("{TICKET_PREFIX}{:020}", 0));
        File::create(&stale).unwrap();
        assert!(matches!(first.place(1).unwrap(), Place::Head));
        assert!(!stale.exists(), "a ticket nobody holds is removed");

        let deadline = Instant::now() + std::time::Duration::from_secs(30);
        let later = || std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(matches!(behind(third.place(1).unwrap()), Wait::Waiter(_)));
        assert!(
            !wait_for(
                behind(third.place(1).unwrap()),
                Instant::now(),
                &Cancel::never()
            )
            .unwrap(),
            "the waiter ahead is still waiting"
        );
        let ahead = behind(third.place(1).unwrap());
        std::thread::scope(|scope| {
            scope.spawn(|| {
                later();
                second.become_head();
            });
            if cfg!(unix) {
                assert!(
                    wait_for(ahead, deadline, &Cancel::never()).unwrap(),
                    "it became a head"
                );
            }
        });
        let heads = behind(second.place(1).unwrap());
        assert!(matches!(&heads, Wait::Heads(files) if files.len() == 1));
        std::thread::scope(|scope| {
            scope.spawn(move || {
                later();
                drop(first);
            });
            assert!(
                wait_for(heads, deadline, &Cancel::never()).unwrap(),
                "the head left"
            );
        });
        assert!(matches!(second.place(1).unwrap(), Place::Head));
        drop(second);
        assert!(matches!(third.place(1).unwrap(), Place::Head));
        drop(third);
        // Under wine the names of the tickets left behind were seen to stay
        // listed after this test (a gap noted in docs/RELEASE.md); on Unix
        // they are gone at once.
        if cfg!(unix) {
            assert!(is_empty(&queue).unwrap());
        }
    }
}
