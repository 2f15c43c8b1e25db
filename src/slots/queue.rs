//! The waiting line of a pool: numbered tickets, first come, first served.
//!
//! Polling alone is unfair: a process that releases a slot and asks again
//! at once wins against waiters asleep in their backoff, and one waiter was
//! measured to starve for a whole 2 s run (see docs/BENCHMARKS.md). So a
//! process that finds the pool busy takes a ticket, and only the holders of
//! the `max` oldest live tickets may try the slots.
//!
//! A ticket is a file `queue/t-<number>` that its owner keeps locked while
//! it waits, so a ticket whose owner died is unlocked and anyone may delete
//! it. The lock is taken on a temporary name before the ticket is renamed
//! into place, so a visible ticket is never briefly unlocked. Tickets only
//! order the waiters: admission is still decided by the slot locks alone.

use std::fs::File;

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

    /// Counts the live tickets ahead of this one, stopping at `limit`, and
    /// deletes the tickets ahead whose owners died.
    pub(crate) fn live_ahead(&self, limit: u32) -> Result<u32> {
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
        for (_, name) in ahead {
            if live >= limit {
                break;
            }
            let Some(file) = self.queue.file(&name, false)? else {
                continue;
            };
            if try_lock(&file, &self.queue.path().join(&name))? {
                self.queue.remove(&name);
            } else {
                live += 1;
            }
        }
        Ok(live)
    }
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
        assert_eq!(first.live_ahead(8).unwrap(), 0);
        assert_eq!(third.live_ahead(8).unwrap(), 2);
        assert_eq!(third.live_ahead(1).unwrap(), 1);
        drop(second);
        assert_eq!(third.live_ahead(8).unwrap(), 1);
        let stale = dir.path().join(format!("{TICKET_PREFIX}{:020}", 0));
        File::create(&stale).unwrap();
        assert_eq!(third.live_ahead(8).unwrap(), 1);
        assert!(!stale.exists(), "a ticket nobody holds is removed");
        drop((first, third));
        assert!(is_empty(&queue).unwrap());
    }
}
