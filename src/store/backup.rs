//! Copies of the whole database through SQLite's online backup API:
//! `backup` writes a snapshot of the open database into a new file while
//! other processes keep writing; `restore-backup` copies a backup file
//! back over the open database in one write transaction, so that readers
//! see either the old database or the restored one, never a mix.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::marker::{self, Contents};
use super::migrations;
use super::{BUSY_TIMEOUT, Store};
use crate::error::{Error, ErrorKind, Result};

/// Pages copied per backup step (16 MiB with 16 KiB pages), between two
/// progress updates.
const PAGES_PER_STEP: i32 = 1024;

/// A backup file checked by [`Store::check_backup`], open for reading.
pub struct BackupSource {
    conn: Connection,
    path: PathBuf,
    /// Its schema version.
    pub version: u32,
}

impl Store {
    /// Writes a snapshot of the database into a new file at `target`:
    /// every transaction committed before the call, none after. The copy
    /// is made under a temporary name in the target's folder (mode 0600
    /// on Unix) and renamed to `target` when complete; an existing
    /// `target` is replaced only with `replace`. `progress` gets the pages
    /// copied and the total after each step.
    ///
    /// # Failure
    /// Already-exists for an existing `target` without `replace`; I/O and
    /// database errors (the temporary file is removed).
    pub fn backup_to(
        &self,
        target: &Path,
        replace: bool,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        if let Some(live) = self.path.as_deref()
            && is_the_database(live, target)
        {
            return Err(Error::invalid(format!(
                "{} is the database itself or one of its side files",
                target.display()
            ))
            .with_hint("pass another --output"));
        }
        if !replace && fs::symlink_metadata(target).is_ok() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{} already exists", target.display()),
            )
            .with_hint("pass --force to replace it, or another --output"));
        }
        let temporary = temporary_name(target);
        create_private_file(&temporary)?;
        let copied = self
            .copy_into(&temporary, PAGES_PER_STEP, progress)
            .and_then(|()| put_in_place(&temporary, target, replace));
        if copied.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        copied
    }

    /// Copies the database into the empty file at `path`, from one read
    /// snapshot: with the snapshot held, other processes' commits neither
    /// enter the copy nor make the backup start over.
    fn copy_into(
        &self,
        path: &Path,
        pages_per_step: i32,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        let snapshot = self.conn.unchecked_transaction()?;
        snapshot.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
        let mut target = Connection::open(path).map_err(|e| super::file::open_error(path, e))?;
        {
            let backup = Backup::new(&snapshot, &mut target)?;
            step_until_done(&backup, pages_per_step, progress)?;
        }
        target.pragma_update(None, "journal_mode", "DELETE")?;
        target.close().map_err(|(_, e)| Error::from(e))?;
        snapshot.commit()?;
        let file = OpenOptions::new()
            .read(true)
            .open(path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        file.sync_all()
            .map_err(|e| Error::io(format!("syncing {}", path.display()), e))
    }

    /// Opens `path` read-only and checks that it is a complete
    /// sqlite-graphrag database at a schema this program can read.
    ///
    /// # Failure
    /// Not-found for a missing file; invalid input for anything that is
    /// not one of our databases, or fails SQLite's quick check;
    /// schema-too-new for a newer schema.
    pub fn check_backup(path: &Path) -> Result<BackupSource> {
        super::file::check_path(path)?;
        if !super::file::exists(path)? {
            return Err(Error::not_found(format!("no file at {}", path.display())));
        }
        let not_ours = |why: &str| {
            Error::invalid(format!(
                "{} is not a sqlite-graphrag backup: {why}",
                path.display()
            ))
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| super::file::open_error(path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let version = match marker::inspect(&conn) {
            Ok(Contents::Ours { version }) => version,
            Ok(Contents::Empty) => return Err(not_ours("it is empty")),
            Ok(Contents::Foreign { .. }) => {
                return Err(not_ours("it holds another application's data"));
            }
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
                return Err(not_ours("it is not a SQLite database"));
            }
            Err(e) => return Err(e.into()),
        };
        migrations::check_not_newer(version)?;
        let check: String = conn.query_row("PRAGMA quick_check", [], |row| row.get(0))?;
        if check != "ok" {
            return Err(not_ours(&format!("SQLite's quick check fails: {check}")));
        }
        Ok(BackupSource {
            conn,
            path: path.to_owned(),
            version,
        })
    }

    /// Makes a new database at `path` (mode 0600 on Unix) holding
    /// `source`'s content, with its page size, and opens it, migrated.
    /// The file is removed again if anything fails.
    ///
    /// # Failure
    /// Already-exists if `path` exists; I/O and database errors.
    pub fn restore_into_new(path: &Path, source: &BackupSource) -> Result<Store> {
        create_private_file(path)?;
        let copied = Connection::open(path)
            .map_err(Error::from)
            .and_then(|mut conn| {
                let backup = Backup::new(&source.conn, &mut conn)?;
                step_until_done(&backup, -1, &mut |_, _| {})
            })
            .and_then(|()| Store::open(path, super::OpenMode::Existing));
        if copied.is_err() {
            let _ = fs::remove_file(path);
        }
        copied
    }

    /// Replaces the whole content of this database with `source`'s in one
    /// write transaction, then brings its schema up to date. Other
    /// processes may keep the database open: readers see the old content
    /// or the new, writers wait for the lock.
    ///
    /// # Failure
    /// Invalid input when the two files' page sizes differ (a database in
    /// WAL mode cannot change its page size); busy when other writers keep
    /// the lock past the busy timeout; database errors.
    pub fn restore_from(&mut self, source: &BackupSource) -> Result<()> {
        if let Some(live) = self.path.as_deref()
            && same_file(live, &source.path)
        {
            return Err(Error::invalid(format!(
                "{} is the database itself, not a backup of it",
                source.path.display()
            )));
        }
        let page_size = |conn: &Connection| -> Result<u32> {
            Ok(conn.pragma_query_value(None, "page_size", |row| row.get(0))?)
        };
        let (theirs, ours) = (page_size(&source.conn)?, page_size(&self.conn)?);
        if theirs != ours {
            return Err(Error::invalid(format!(
                "the backup's pages are {theirs} bytes and the database's {ours}: SQLite cannot copy between them in place"
            ))
            .with_hint("restore into a new --db path, or copy the backup file over the database while nothing uses it"));
        }
        {
            let backup = Backup::new(&source.conn, &mut self.conn)?;
            step_until_done(&backup, -1, &mut |_, _| {})?;
        }
        migrations::migrate(&mut self.conn)
    }
}

/// Steps `backup` by `pages` (-1: all at once) until it is done, waiting
/// while the source or the target is locked, up to the busy timeout
/// without progress.
fn step_until_done(
    backup: &Backup<'_, '_>,
    pages: i32,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    let mut waiting_since: Option<Instant> = None;
    loop {
        match backup.step(pages)? {
            StepResult::Done => {
                let total = backup.progress().pagecount.max(0) as u64;
                progress(total, total);
                return Ok(());
            }
            StepResult::More => {
                waiting_since = None;
                let state = backup.progress();
                let total = state.pagecount.max(0) as u64;
                progress(total.saturating_sub(state.remaining.max(0) as u64), total);
            }
            _ => {
                let since = *waiting_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= BUSY_TIMEOUT {
                    return Err(Error::new(
                        ErrorKind::Busy,
                        "the database stayed locked by other writers for the whole busy timeout",
                    ));
                }
                thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// Whether `a` and `b` name one existing file (through links or other
/// spellings of the path).
/// Whether `target` is the database at `live` or one of the files SQLite
/// keeps beside it (`-wal`, `-shm`, `-journal`), which a backup written
/// there would clobber.
fn is_the_database(live: &Path, target: &Path) -> bool {
    if same_file(live, target) {
        return true;
    }
    let folder = |path: &Path| match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let (Some(name), Some(target_name)) = (live.file_name(), target.file_name()) else {
        return false;
    };
    same_file(&folder(live), &folder(target))
        && ["-wal", "-shm", "-journal"].iter().any(|suffix| {
            let mut side = name.to_owned();
            side.push(suffix);
            side == target_name
        })
}

/// Gives the finished backup at `temporary` its name `target`. Without
/// `replace`, a file that appeared at `target` meanwhile is kept: the
/// backup is linked there (which fails if the name is taken), and renamed
/// only where the file system has no hard links.
fn put_in_place(temporary: &Path, target: &Path, replace: bool) -> Result<()> {
    let renaming = |e| Error::io(format!("renaming the backup to {}", target.display()), e);
    if replace {
        return fs::rename(temporary, target).map_err(renaming);
    }
    match fs::hard_link(temporary, target) {
        Ok(()) => fs::remove_file(temporary)
            .map_err(|e| Error::io(format!("removing {}", temporary.display()), e)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::new(
            ErrorKind::AlreadyExists,
            format!("{} already exists", target.display()),
        )
        .with_hint("pass --force to replace it, or another --output")),
        Err(_) if fs::symlink_metadata(target).is_err() => {
            fs::rename(temporary, target).map_err(renaming)
        }
        Err(e) => Err(renaming(e)),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The temporary name of a backup being written to `target`: hidden, in
/// the same folder (so that the final rename stays on one file system),
/// unique to this process.
fn temporary_name(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.{}.partial", std::process::id()))
}

/// Creates an empty file at `path` that only its owner may read (Unix).
fn create_private_file(path: &Path) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    }
    drop(file);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::OpenMode;

    #[test]
    fn a_backup_holds_what_was_committed_when_it_started_and_nothing_later() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.sqlite");
        let store = Store::open(&path, OpenMode::Create).unwrap();
        store
            .conn
            .execute_batch(
                "CREATE TABLE t (x INTEGER);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
                 INSERT INTO t SELECT i FROM n;",
            )
            .unwrap();
        let writer = Connection::open(&path).unwrap();
        let copy = dir.path().join("copy.sqlite");
        create_private_file(&copy).unwrap();
        let mut steps = 0;
        // One page per step, and another connection commits between steps:
        // without one read snapshot the copy would start over after each
        // commit, and take the rows committed meanwhile.
        store
            .copy_into(&copy, 1, &mut |_, _| {
                steps += 1;
                if steps <= 20 {
                    writer.execute("INSERT INTO t VALUES (100)", []).unwrap();
                }
            })
            .unwrap();
        assert!(steps > 20, "{steps} steps");
        let copied = Connection::open(&copy).unwrap();
        let rows: i64 = copied
            .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 10);
        let live: i64 = writer
            .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(live, 30);
    }

    #[test]
    fn a_backup_of_an_older_schema_is_restored_and_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.sqlite");
        {
            let mut conn = Connection::open(&old).unwrap();
            crate::store::fts_text::register_fold(&conn).unwrap();
            conn.pragma_update(None, "page_size", crate::store::PAGE_SIZE)
                .unwrap();
            migrations::migrate_to(&mut conn, 9, migrations::Tracking::AsFound).unwrap();
        }
        let source = Store::check_backup(&old).unwrap();
        assert_eq!(source.version, 9);
        let live = dir.path().join("live.sqlite");
        let mut store = Store::open(&live, OpenMode::Create).unwrap();
        store.restore_from(&source).unwrap();
        assert_eq!(
            migrations::schema_version(&store.conn).unwrap(),
            migrations::LATEST_VERSION
        );
        drop(store);
        let reopened = Store::open(&live, OpenMode::Existing).unwrap();
        assert!(reopened.health().unwrap().ok);
    }
}
