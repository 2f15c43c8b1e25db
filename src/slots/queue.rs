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
//! A waiter that is not a head does not poll: it blocks, in the kernel, on
//! the lock of the nearest live ticket ahead of it, which is released when
//! that waiter leaves the line (it got a slot, gave up, or died), and then
//! looks again. Each ticket has at most one waiter blocked on it, so a
//! departure wakes one process, and a waiting line costs no CPU.
use std::fs::File;
use std::sync::mpsc;
use std::time::Instant;

use super::folder::{Folder, read_start, rewrite};
use super::try_lock;
use crate::error::{Error, Result};

const TICKET_PREFIX: &str = "t-";
const COUNTER: &str = "counter";

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
    pub(crate) fn take(queue: &'q Folder) -> Result<Ticket<'q>> {
        let number = next_number(queue)?;
        let temp = format!("tmp-{number}");
        let lock = queue.file(&temp, true)?.expect("created when missing");
        fs4::FileExt::lock(&lock)
            .map_err(|e| Error::io(format!("locking {}", queue.path().join(&temp).display()), e))?;
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
    /// tickets are ahead of it, else behind the nearest live ticket ahead.
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
        let mut live = 0;
        for (_, name) in &ahead {
            if live >= heads {
                break;
            }
            if self.open_live(name)?.is_some() {
                live += 1;
            }
        }
        if live < heads {
            return Ok(Place::Head);
        }
        for (_, name) in ahead.iter().rev() {
            if let Some(file) = self.open_live(name)? {
                return Ok(Place::Behind(file));
            }
        }
        Ok(Place::Head)
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

/// Where a ticket stands in the line.
pub(crate) enum Place {
    /// Among the oldest live tickets: may try the slots.
    Head,
    /// Behind others: the nearest live ticket ahead, opened.
    Behind(File),
}

/// Blocks until the ticket `predecessor` is released or `deadline` passes;
/// returns true if it was released before the deadline.
///
/// The blocking lock is taken on a helper thread, which is left behind if
/// the deadline passes first. That is harmless: it only ever waits for a
/// ticket lock, never for a slot, and it lets go of the lock as soon as it
/// gets it.
///
/// # Failure
/// I/O errors starting the thread.
pub(crate) fn wait_for(predecessor: File, deadline: Instant) -> Result<bool> {
    let (released, on_release) = mpsc::channel();
    std::thread::Builder::new()
        .name("ticket-wait".into())
        .spawn(move || {
            let _ = fs4::FileExt::lock(&predecessor);
            let _ = released.send(());
        })
        .map_err(|e| Error::io("starting a thread to wait in line", e))?;
    let left = deadline.saturating_duration_since(Instant::now());
    Ok(on_release.recv_timeout(left).is_ok())
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        // Removed while still locked, so nobody sees it unlocked under its name.
        self.queue.remove(&self.name);
    }
}

/// Increments the line's counter under the lock of its `counter` file.
fn next_number(queue: &Folder) -> Result<u64> {
    let path = queue.path().join(COUNTER);
    let io = |e| Error::io(format!("updating {}", path.display()), e);
    let file = queue.file(COUNTER, true)?.expect("created when missing");
    fs4::FileExt::lock(&file).map_err(io)?;
    let text = read_start(&file, 64).map_err(io)?;
    let number = text.trim().parse::<u64>().unwrap_or(0) + 1;
    rewrite(&file, number.to_string().as_bytes()).map_err(io)?;
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::{RuntimeDir, RuntimeDirKind};

    fn behind(place: Place) -> File {
        match place {
            Place::Behind(file) => file,
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
        let first = Ticket::take(&queue).unwrap();
        let second = Ticket::take(&queue).unwrap();
        let third = Ticket::take(&queue).unwrap();
        assert!(!is_empty(&queue).unwrap());
        assert!(matches!(first.place(1).unwrap(), Place::Head));
        assert!(matches!(third.place(3).unwrap(), Place::Head));
        behind(third.place(2).unwrap());
        let stale = dir.path().join(format!("{TICKET_PREFIX}{:020}", 0));
        File::create(&stale).unwrap();
        assert!(matches!(first.place(1).unwrap(), Place::Head));
        assert!(!stale.exists(), "a ticket nobody holds is removed");

        let deadline = Instant::now() + std::time::Duration::from_secs(30);
        let ahead = behind(third.place(1).unwrap());
        assert!(
            !wait_for(ahead, Instant::now()).unwrap(),
            "the ticket ahead is still held"
        );
        let ahead = behind(third.place(1).unwrap());
        std::thread::scope(|scope| {
            scope.spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(50));
                drop(second);
            });
            assert!(wait_for(ahead, deadline).unwrap());
        });
        behind(third.place(1).unwrap());
        drop(first);
        assert!(matches!(third.place(1).unwrap(), Place::Head));
        drop(third);
        assert!(is_empty(&queue).unwrap());
    }
}
