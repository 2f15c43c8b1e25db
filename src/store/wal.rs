//! When the write-ahead log is copied into the database file.
//!
//! SQLite copies the log into the database when the last connection to
//! a file closes, and deletes it; the next write creates it again. With
//! one process per command, each command that writes paid for that copy
//! and for a new log: four fsyncs (new log, its folder, the log before the
//! copy, the database after it), most of a `remember`'s time. Instead a
//! small log stays for the next process (a commit in WAL mode with
//! `synchronous = NORMAL` is not synced), and is copied and emptied when
//! a connection closes with more than [`KEPT_LOG_BYTES`] in it, or when it
//! reaches SQLite's automatic checkpoint. Every process that opens the
//! file reads the log once to index it, which is why it stays small.
//!
//! SQLite gives the `-wal` and `-shm` files the database file's mode when
//! it creates them; as they now outlive the process, opening gives them
//! the database file's mode again, so that they keep following it (a
//! database made private again must not leave its log readable).

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::config::DbConfig;

/// Largest log left in place when a connection closes, in bytes.
pub const KEPT_LOG_BYTES: u64 = 1024 * 1024;

/// Gives the `-wal` and `-shm` files beside the database at `path` the
/// database file's permission bits, where they differ and this user may
/// change them (see the module documentation).
#[cfg(unix)]
pub(crate) fn align_side_file_modes(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(database) = std::fs::metadata(path) else {
        return;
    };
    let wanted = database.permissions().mode() & 0o777;
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let Ok(meta) = std::fs::metadata(&side) else {
            continue;
        };
        if meta.permissions().mode() & 0o777 != wanted {
            let changed = std::fs::set_permissions(&side, std::fs::Permissions::from_mode(wanted));
            if let Err(e) = changed {
                tracing::debug!("could not give {side:?} the database's mode: {e}");
            }
        }
    }
}

/// Gives the side files the database file's mode: nothing to do here.
#[cfg(not(unix))]
pub(crate) fn align_side_file_modes(_path: &Path) {}

/// Turns off SQLite's copy of the log when `conn` closes (see the module
/// documentation).
pub(crate) fn keep_log_on_close(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    Ok(())
}

/// Copies the log of the database at `path` into it and empties it, if it
/// holds more than [`KEPT_LOG_BYTES`]; called before `conn` closes. It
/// does not wait: while another process reads or writes, the log stays
/// as it is for a later close. Failures are left to SQLite's own
/// checkpoints and logged.
pub(crate) fn checkpoint_large_log(conn: &Connection, path: &Path) {
    let mut log = path.as_os_str().to_owned();
    log.push("-wal");
    let size = std::fs::metadata(&log).map_or(0, |m| m.len());
    if size <= KEPT_LOG_BYTES {
        return;
    }
    let copied = conn.busy_timeout(Duration::ZERO).and_then(|()| {
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
            row.get::<_, i64>(0)
        })
    });
    match copied {
        Ok(0) => {}
        Ok(_) => tracing::debug!("the log is in use: it stays until a later close"),
        Err(e) => tracing::debug!("copying the log into the database failed: {e}"),
    }
}
