//! `backup`, `restore-backup`, `vacuum` and `optimize` on real files: a
//! backup taken during a storm of writers is whole and consistent, and a
//! bad restore changes nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::common::*;

const WRITERS: usize = 16;

/// A [`TestEnv`] whose commands use the database at `db`.
fn env_at(db: &Path) -> TestEnv {
    TestEnv {
        dir: tempfile::tempdir().unwrap(),
        db: db.to_owned(),
    }
}

/// The names of the live memories of `env`'s database.
fn names(env: &TestEnv) -> BTreeSet<String> {
    let list = env.ok(&["list", "--limit", "100000"]);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_backup_during_sixteen_writers_holds_every_earlier_memory_and_is_healthy() {
    let env = Arc::new(TestEnv::new());
    env.ok(&["init"]);
    let writing = Arc::new(AtomicBool::new(true));
    let committed = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (env, writing, committed) = (
                Arc::clone(&env),
                Arc::clone(&writing),
                Arc::clone(&committed),
            );
            thread::spawn(move || {
                let mut i = 0;
                while writing.load(Ordering::Relaxed) {
                    let name = format!("w{w}-m{i}");
                    let body = format!("writer {w} memory {i}: kept through the backup");
                    env.ok(&["remember", "--name", &name, "--body", &body]);
                    committed.lock().unwrap().push(name);
                    i += 1;
                }
            })
        })
        .collect();
    wait_until(120, "the writers committed nothing", || {
        committed.lock().unwrap().len() >= 2 * WRITERS
    });
    let before: BTreeSet<String> = committed.lock().unwrap().iter().cloned().collect();
    let output = env.dir.path().join("backup.sqlite");
    let report: BackupReport = env.ok_as(&["backup", "--output", output.to_str().unwrap()]);
    let during = committed.lock().unwrap().len();
    // Let the storm go on past the backup, then stop it.
    wait_until(120, "the writers stopped", || {
        committed.lock().unwrap().len() > during + WRITERS
    });
    writing.store(false, Ordering::Relaxed);
    for writer in writers {
        writer.join().expect("a writer failed");
    }
    assert_eq!(report.bytes, std::fs::metadata(&output).unwrap().len());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&output).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    let backup = env_at(&output);
    let health: Health = backup.ok_as(&["health"]);
    assert!(health.ok, "{health:?}");
    let in_backup = names(&backup);
    let missing: Vec<_> = before.difference(&in_backup).collect();
    assert!(missing.is_empty(), "the backup lost {missing:?}");
    let live = names(&env);
    eprintln!(
        "{} memories committed before the backup, {} in it, {} at the end",
        before.len(),
        in_backup.len(),
        live.len()
    );
    assert!(in_backup.is_subset(&live));
    assert!(
        in_backup.len() < live.len(),
        "nothing was written after the backup"
    );
    // Only the backup is left in the folder: no temporary file.
    let leftovers: Vec<PathBuf> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn restoring_a_backup_brings_back_its_memories_while_the_database_is_open() {
    let env = TestEnv::new();
    env.remember("kept", "a memory in the backup");
    let output = env.dir.path().join("backup.sqlite");
    env.ok(&["backup", "-o", output.to_str().unwrap()]);
    env.remember("later", "written after the backup");
    env.ok(&["forget", "kept"]);

    // A reader holds the database open (and has read it) meanwhile.
    let reader = rusqlite::Connection::open(&env.db).unwrap();
    let count = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row(
            "SELECT count(*) FROM memories WHERE deleted_at IS NULL",
            [],
            |row| row.get(0),
        )
        .unwrap()
    };
    assert_eq!(count(&reader), 1);
    let report: RestoreReport = env.ok_as(&["restore-backup", output.to_str().unwrap(), "--yes"]);
    assert_eq!(report.backup_schema_version, report.schema_version);
    assert_eq!(names(&env), BTreeSet::from(["kept".to_owned()]));
    assert_eq!(count(&reader), 1);
    assert_eq!(
        reader
            .query_row("SELECT name FROM memories", [], |row| row
                .get::<_, String>(0))
            .unwrap(),
        "kept"
    );
    let health: Health = env.ok_as(&["health"]);
    assert!(health.ok);
    assert_eq!(env.search_names("backup"), ["kept"]);
}

#[test]
fn bad_restores_are_refused_and_change_nothing() {
    let env = TestEnv::new();
    env.remember("live", "the database as it is");
    let good = env.dir.path().join("good.sqlite");
    env.ok(&["backup", "--output", good.to_str().unwrap()]);
    env.remember("newer", "written after the backup");
    let before = env.export_all();
    let path = |name: &str| env.dir.path().join(name);

    let foreign = path("foreign.sqlite");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE users (id INTEGER); INSERT INTO users VALUES (1);")
        .unwrap();
    let text = path("notes.txt");
    std::fs::write(
        &text,
        "not a database at all, just some text that is long enough",
    )
    .unwrap();
    let empty = path("empty.sqlite");
    std::fs::write(&empty, "").unwrap();
    let newer = path("newer.sqlite");
    std::fs::copy(&good, &newer).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version = 999")
        .unwrap();

    let cases: [(&Path, &[&str], i32, &str); 7] = [
        (&env.db, &["--yes"], 5, "invalid_input"),
        (&foreign, &["--yes"], 5, "invalid_input"),
        (&text, &["--yes"], 5, "invalid_input"),
        (&empty, &["--yes"], 5, "invalid_input"),
        (&newer, &["--yes"], 10, "schema_too_new"),
        (&good, &[], 2, "usage"),
        (&path("missing.sqlite"), &["--yes"], 3, "not_found"),
    ];
    for (file, flags, code, kind) in cases {
        let mut args = vec!["restore-backup", file.to_str().unwrap()];
        args.extend_from_slice(flags);
        let error = env.error(&args, code);
        assert_eq!(error.kind, kind, "{args:?}: {}", error.message);
        assert_eq!(env.export_all(), before, "{args:?} changed the database");
    }
    assert!(!path("missing.sqlite").exists());
}

#[test]
fn a_backup_does_not_replace_a_file_unless_forced() {
    let env = TestEnv::new();
    env.remember("one", "the first memory");
    let output = env.dir.path().join("backup.sqlite");
    std::fs::write(&output, "precious").unwrap();
    let error = env.error(&["backup", "--output", output.to_str().unwrap()], 4);
    assert_eq!(error.kind, "already_exists");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "precious");
    env.ok(&["backup", "--output", output.to_str().unwrap(), "--force"]);
    assert_eq!(names(&env_at(&output)), BTreeSet::from(["one".to_owned()]));
    // The database itself is never the output.
    let before = env.export_all();
    let error = env.error(
        &["backup", "--output", env.db.to_str().unwrap(), "--force"],
        5,
    );
    assert_eq!(error.kind, "invalid_input");
    assert_eq!(env.export_all(), before);
    // Nor the files SQLite keeps beside it.
    for suffix in ["-wal", "-shm", "-journal"] {
        let side = format!("{}{suffix}", env.db.display());
        let held = std::fs::read(&side).ok();
        let error = env.error(&["backup", "--output", &side, "--force"], 5);
        assert_eq!(error.kind, "invalid_input", "{suffix}");
        assert_eq!(std::fs::read(&side).ok(), held, "{suffix} changed");
    }
    env.remember("two", "written after the refused backups");
    assert_eq!(
        names(&env),
        BTreeSet::from(["one".to_owned(), "two".to_owned()])
    );
    // No database, no backup file.
    let none = env_at(&env.dir.path().join("none.sqlite"));
    let target = env.dir.path().join("none-backup.sqlite");
    none.error(&["backup", "--output", target.to_str().unwrap()], 3);
    assert!(!target.exists());
}

#[test]
fn vacuum_and_optimize_report_what_they_did() {
    let env = TestEnv::new();
    for i in 0..40 {
        env.remember(
            &format!("m{i}"),
            &"a body long enough to fill some pages ".repeat(50),
        );
    }
    for i in 0..40 {
        env.ok(&["forget", &format!("m{i}")]);
    }
    env.ok(&["purge", "--yes"]);
    let vacuum: VacuumReport = env.ok_as(&["vacuum"]);
    assert!(vacuum.bytes_after < vacuum.bytes_before, "{vacuum:?}");
    let on_disk = std::fs::metadata(&env.db).unwrap().len();
    assert_eq!(vacuum.bytes_after, on_disk);
    let optimize: OptimizeReport = env.ok_as(&["optimize"]);
    assert_eq!(optimize.fts_merged, ["memories_fts"]);
    assert!(optimize.analyzed > 0, "{optimize:?}");
    let health: Health = env.ok_as(&["health"]);
    assert!(health.ok);
    let none = env_at(&env.dir.path().join("none.sqlite"));
    none.error(&["vacuum"], 3);
    none.error(&["optimize"], 3);
}

#[test]
fn backup_shows_its_progress_in_pages() {
    let env = TestEnv::new();
    env.remember("one", "the first memory");
    let output = env.dir.path().join("backup.sqlite");
    let run = env
        .cmd()
        .args(["--progress", "always", "backup", "--output"])
        .arg(&output)
        .output_retrying();
    assert!(run.status.success(), "{run:?}");
    let stderr = String::from_utf8_lossy(&run.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("backup pages ") && last.contains(" 100%"),
        "{stderr}"
    );
    let pages = std::fs::metadata(&output).unwrap().len() / 16384;
    assert!(
        last.contains(&format!(" {pages}/{pages} ")),
        "{pages} pages: {stderr}"
    );
}

#[test]
fn a_restore_during_writers_and_readers_leaves_a_healthy_database() {
    let env = Arc::new(TestEnv::new());
    env.remember("from-the-backup", "kept in the backup");
    let output = env.dir.path().join("backup.sqlite");
    env.ok(&["backup", "--output", output.to_str().unwrap()]);
    env.ok(&["forget", "from-the-backup"]);
    let running = Arc::new(AtomicBool::new(true));
    let started = Arc::new(Mutex::new(0usize));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (env, running, started) =
                (Arc::clone(&env), Arc::clone(&running), Arc::clone(&started));
            thread::spawn(move || {
                let mut i = 0;
                while running.load(Ordering::Relaxed) {
                    if w % 2 == 0 {
                        let name = format!("w{w}-m{i}");
                        env.ok(&["remember", "--name", &name, "--body", "written meanwhile"]);
                    } else {
                        let health: Health = env.ok_as(&["health"]);
                        assert!(health.ok, "{health:?}");
                    }
                    *started.lock().unwrap() += 1;
                    i += 1;
                }
            })
        })
        .collect();
    wait_until(120, "the workers did nothing", || {
        *started.lock().unwrap() >= 8
    });
    env.ok(&["restore-backup", output.to_str().unwrap(), "--yes"]);
    let after = *started.lock().unwrap();
    wait_until(120, "the workers stopped", || {
        *started.lock().unwrap() >= after + 8
    });
    running.store(false, Ordering::Relaxed);
    for worker in workers {
        worker.join().expect("a worker failed");
    }
    let health: Health = env.ok_as(&["health"]);
    assert!(health.ok, "{health:?}");
    assert!(names(&env).contains("from-the-backup"));
}

#[test]
fn a_restore_to_a_new_path_makes_the_database_from_the_backup() {
    let env = TestEnv::new();
    env.remember("kept", "a memory worth a backup");
    let backup = env.dir.path().join("backup.sqlite");
    env.ok(&["backup", "--output", backup.to_str().unwrap()]);
    let fresh = env_at(&env.dir.path().join("fresh.sqlite"));
    fresh.ok(&["restore-backup", backup.to_str().unwrap(), "--yes"]);
    assert_eq!(names(&fresh), BTreeSet::from(["kept".to_owned()]));
    fresh.ok(&["health"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&fresh.db).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
}

#[test]
fn a_backup_of_other_sized_pages_restores_to_a_new_path_only() {
    let env = TestEnv::new();
    let small_pages = rusqlite::Connection::open(&env.db).unwrap();
    small_pages
        .execute_batch("PRAGMA page_size = 4096; CREATE TABLE theirs (x);")
        .unwrap();
    drop(small_pages);
    env.ok(&["init", "--force"]);
    env.remember("small", "kept in 4 KiB pages");
    let backup = env.dir.path().join("small-backup.sqlite");
    env.ok(&["backup", "--output", backup.to_str().unwrap()]);

    let other = TestEnv::new();
    other.remember("big", "kept in 16 KiB pages");
    let error = other.error(&["restore-backup", backup.to_str().unwrap(), "--yes"], 5);
    assert!(error.message.contains("pages"), "{}", error.message);
    assert_eq!(names(&other), BTreeSet::from(["big".to_owned()]));

    let fresh = env_at(&env.dir.path().join("fresh.sqlite"));
    fresh.ok(&["restore-backup", backup.to_str().unwrap(), "--yes"]);
    assert_eq!(names(&fresh), BTreeSet::from(["small".to_owned()]));
}
