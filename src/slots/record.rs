//! `pool.json`: the slot count that every process of a pool follows.
//!
//! It is written in place while `pool.lock` is held exclusively and read
//! while it is held shared, so a reader never sees half a record, and any
//! user of a shared pool can rewrite it (a rename over another user's file
//! is refused in a sticky folder). A writer that dies between creating or
//! emptying the file and writing the few bytes of the record leaves it
//! empty: an empty record is read as no record, and the next process that
//! opens the pool writes it again.

use std::fs::File;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::count::{MAX_SLOTS_LIMIT, in_range};
use super::folder::{Folder, read_start, rewrite};
use super::lock::{Mode, lock_until};
use super::slot_name;
use crate::error::{Error, ErrorKind, Result};

const RECORD: &str = "pool.json";
const LOCK: &str = "pool.lock";
/// A record is a few bytes; anything longer is damage.
const MAX_RECORD_BYTES: u64 = 4096;
/// How long `pool.lock` may stay held by someone else before giving up:
/// its holders hold it for a few system calls only.
const LOCK_PATIENCE: Duration = Duration::from_secs(2);

/// The record of a pool's size.
#[derive(Debug, Serialize, Deserialize)]
struct PoolRecord {
    max: u32,
}

/// Reads the recorded count; `None` when the pool has no record yet (or an
/// empty one, left by a writer that died).
///
/// # Failure
/// Invalid input when the record is damaged or out of range; busy when
/// `pool.lock` stays locked for 2 s; I/O errors.
pub(crate) fn read(folder: &Folder) -> Result<Option<u32>> {
    let Some(lock) = folder.file(LOCK, false)? else {
        return Ok(None);
    };
    take(folder, &lock, Mode::Shared)?;
    read_unlocked(folder)
}

/// Returns the recorded count, recording `max` (and creating the slot
/// files) first if the pool has no record yet.
///
/// # Failure
/// As [`read`].
pub(crate) fn read_or_create(folder: &Folder, max: u32) -> Result<u32> {
    if let Some(recorded) = read(folder)? {
        return Ok(recorded);
    }
    let _lock = lock_exclusive(folder)?;
    match read_unlocked(folder)? {
        Some(recorded) => Ok(recorded),
        None => {
            write_unlocked(folder, max)?;
            Ok(max)
        }
    }
}

/// Records `max` for every process of the pool (creating the slot files).
///
/// # Failure
/// Busy when `pool.lock` stays locked for 2 s; I/O errors.
pub(crate) fn replace(folder: &Folder, max: u32) -> Result<()> {
    let _lock = lock_exclusive(folder)?;
    write_unlocked(folder, max)
}

/// Takes `pool.lock` in `mode`, waiting at most [`LOCK_PATIENCE`].
fn take(folder: &Folder, lock: &File, mode: Mode) -> Result<()> {
    let path = folder.path().join(LOCK);
    if lock_until(lock, &path, mode, Instant::now() + LOCK_PATIENCE)? {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Busy,
        format!(
            "{} stayed locked by another process for {} s",
            path.display(),
            LOCK_PATIENCE.as_secs()
        ),
    )
    .with_hint("the pool's own processes hold it for moments only: find the process that holds it (fuser or lsof) and stop it"))
}

fn lock_exclusive(folder: &Folder) -> Result<File> {
    let lock = folder.file(LOCK, true)?.expect("created when missing");
    take(folder, &lock, Mode::Exclusive)?;
    Ok(lock)
}

fn read_unlocked(folder: &Folder) -> Result<Option<u32>> {
    let Some(file) = folder.file(RECORD, false)? else {
        return Ok(None);
    };
    let path = folder.path().join(RECORD);
    let text = read_start(&file, MAX_RECORD_BYTES + 1)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let problem = if text.len() as u64 > MAX_RECORD_BYTES {
        format!("longer than {MAX_RECORD_BYTES} bytes")
    } else {
        match serde_json::from_str::<PoolRecord>(&text) {
            Ok(record) if in_range(record.max) => return Ok(Some(record.max)),
            Ok(record) => format!("max {} is not between 1 and {MAX_SLOTS_LIMIT}", record.max),
            Err(e) => e.to_string(),
        }
    };
    Err(
        Error::invalid(format!("{} is damaged: {problem}", path.display()))
            .with_hint("fix it with `sqlite-graphrag slots resize --max N`"),
    )
}

fn write_unlocked(folder: &Folder, max: u32) -> Result<()> {
    for slot in 0..max {
        folder.file(&slot_name(slot), true)?;
    }
    let path = folder.path().join(RECORD);
    let io = |e| Error::io(format!("writing {}", path.display()), e);
    let file = folder.file(RECORD, true)?.expect("created when missing");
    rewrite(&file, &serde_json::to_vec(&PoolRecord { max })?).map_err(io)
}
