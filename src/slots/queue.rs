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

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::try_lock;
use crate::error::{Error, Result};

const TICKET_PREFIX: &str = "t-";

/// A place in a pool's waiting line, held until dropped.
pub(crate) struct Ticket {
    number: u64,
    path: PathBuf,
    _lock: File,
}

/// Returns true when no ticket file exists (live or stale).
pub(crate) fn is_empty(queue_dir: &Path) -> Result<bool> {
    match std::fs::read_dir(queue_dir) {
        Ok(mut entries) => Ok(!entries
            .any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with(TICKET_PREFIX)))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(Error::io(format!("reading {}", queue_dir.display()), e)),
    }
}

impl Ticket {
    /// Takes the next ticket number and places a locked ticket in the line.
    pub(crate) fn take(queue_dir: &Path) -> Result<Ticket> {
        let io = |what: &Path, e| Error::io(format!("queueing in {}", what.display()), e);
        std::fs::create_dir_all(queue_dir).map_err(|e| io(queue_dir, e))?;
        let number = next_number(queue_dir)?;
        let temp = queue_dir.join(format!("tmp-{number}"));
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&temp)
            .map_err(|e| io(&temp, e))?;
        fs4::FileExt::lock(&lock).map_err(|e| io(&temp, e))?;
        let path = queue_dir.join(format!("{TICKET_PREFIX}{number:020}"));
        std::fs::rename(&temp, &path).map_err(|e| io(&path, e))?;
        Ok(Ticket {
            number,
            path,
            _lock: lock,
        })
    }

    /// Counts the live tickets ahead of this one, stopping at `limit`, and
    /// deletes the tickets ahead whose owners died.
    pub(crate) fn live_ahead(&self, limit: u32) -> Result<u32> {
        let dir = self.path.parent().expect("a ticket lives in a folder");
        let mut ahead: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let name = entry.file_name();
                let number: u64 = name.to_str()?.strip_prefix(TICKET_PREFIX)?.parse().ok()?;
                (number < self.number).then(|| (number, entry.path()))
            })
            .collect();
        ahead.sort_unstable();
        let mut live = 0;
        for (_, path) in ahead {
            if live >= limit {
                break;
            }
            let Ok(file) = OpenOptions::new().read(true).write(true).open(&path) else {
                continue;
            };
            if try_lock(&file, &path)? {
                let _ = std::fs::remove_file(&path);
            } else {
                live += 1;
            }
        }
        Ok(live)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        // Removed while still locked, so nobody sees it unlocked under its name.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Increments the line's counter under the lock of its `counter` file.
fn next_number(queue_dir: &Path) -> Result<u64> {
    let path = queue_dir.join("counter");
    let io = |e| Error::io(format!("updating {}", path.display()), e);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    fs4::FileExt::lock(&file).map_err(io)?;
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(io)?;
    let number = text.trim().parse::<u64>().unwrap_or(0) + 1;
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(number.to_string().as_bytes()).map_err(io)?;
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_ordered_and_dead_ones_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        assert!(is_empty(dir.path()).unwrap());
        let first = Ticket::take(dir.path()).unwrap();
        let second = Ticket::take(dir.path()).unwrap();
        let third = Ticket::take(dir.path()).unwrap();
        assert!(!is_empty(dir.path()).unwrap());
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
        assert!(is_empty(dir.path()).unwrap());
    }
}
