//! Many real processes on one database: no lost write, no error (nor a
//! false alarm from `health`) while others write, racing edits all land,
//! and a killed import leaves whole transactions or none.

use std::io::Write;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{SpawnRetrying, TestEnv};

const WRITERS: usize = 16;
const MEMORIES_PER_WRITER: usize = 50;
const READERS: usize = 4;

#[test]
fn sixteen_writers_and_four_readers_lose_nothing() {
    let env = Arc::new(TestEnv::new());
    env.ok(&["init"]);
    let writing = Arc::new(AtomicBool::new(true));

    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let (env, writing) = (Arc::clone(&env), Arc::clone(&writing));
            thread::spawn(move || {
                let mut reads_while_writing = 0;
                while writing.load(Ordering::Relaxed) {
                    let args: &[&str] = match (r + reads_while_writing) % 4 {
                        0 => &["list", "--limit", "5"],
                        1 => &["search", "worker memory"],
                        2 => &["health"],
                        _ => &["stats"],
                    };
                    env.ok(args);
                    reads_while_writing += 1;
                }
                reads_while_writing
            })
        })
        .collect();

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let env = Arc::clone(&env);
            thread::spawn(move || {
                for i in 0..MEMORIES_PER_WRITER {
                    let name = format!("w{w}-m{i}");
                    let body = format!("worker {w} memory {i}: something worth keeping");
                    let out = env.ok(&["remember", "--name", &name, "--body", &body]);
                    assert_eq!(out["action"], "created");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().expect("a writer failed");
    }
    writing.store(false, Ordering::Relaxed);
    let reads: Vec<usize> = readers
        .into_iter()
        .map(|r| r.join().expect("a reader failed"))
        .collect();
    assert!(
        reads.iter().all(|&n| n > 0),
        "every reader read while the writers wrote: {reads:?}"
    );

    let stats = env.ok(&["stats"]);
    assert_eq!(stats["memories"], WRITERS * MEMORIES_PER_WRITER);
    assert_eq!(stats["versions"], WRITERS * MEMORIES_PER_WRITER);
    let listed = env.ok(&["list", "--limit", "10000"]);
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        WRITERS * MEMORIES_PER_WRITER
    );
    assert_eq!(env.ok(&["health"])["ok"], true);
}

#[test]
fn writers_racing_to_create_one_database_all_land_in_wal_mode() {
    let env = Arc::new(TestEnv::new());
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let env = Arc::clone(&env);
            thread::spawn(move || {
                let name = format!("first-{w}");
                env.ok(&["remember", "--name", &name, "--body", "racing to create"]);
            })
        })
        .collect();
    for writer in writers {
        writer.join().expect("a writer failed");
    }
    assert_eq!(env.ok(&["stats"])["memories"], WRITERS);
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

const IMPORT_LINES: usize = 100_000;
const IMPORT_BATCH: usize = 2_000;

fn live_count(db: &std::path::Path) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.query_row("SELECT count(*) FROM memories", [], |row| row.get(0))
        .unwrap_or(0)
}

#[test]
fn a_killed_import_leaves_whole_transactions() {
    let env = TestEnv::new();
    env.ok(&["init"]);
    let file = env.dir.path().join("big.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    for i in 0..IMPORT_LINES {
        writeln!(
            out,
            "{{\"name\":\"line-{i:06}\",\"body\":\"memory number {i} with a few more words to index and store\"}}"
        )
        .unwrap();
    }
    out.into_inner().unwrap().sync_all().unwrap();

    let mut child = env
        .std_cmd()
        .args([
            "import",
            file.to_str().unwrap(),
            "--batch-size",
            &IMPORT_BATCH.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn_retrying();
    let deadline = Instant::now() + Duration::from_secs(120);
    while live_count(&env.db) < IMPORT_BATCH as i64 * 2 {
        assert!(Instant::now() < deadline, "import made no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "import ended before it could be killed"
        );
        thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let count: i64 = conn
        .query_row("SELECT count(*) FROM memories", [], |row| row.get(0))
        .unwrap();
    assert!(
        count > 0 && (count as usize) < IMPORT_LINES,
        "kill did not land mid-import: {count}"
    );
    let (min, max): (String, String) = conn
        .query_row("SELECT min(name), max(name) FROM memories", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!(min, "line-000000");
    assert_eq!(
        max,
        format!("line-{:06}", count - 1),
        "transactions are whole and in order"
    );
    let embedded: i64 = conn
        .query_row("SELECT count(DISTINCT memory_id) FROM chunks", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(embedded, count, "a memory survived without its vectors");
    let versions: i64 = conn
        .query_row("SELECT count(*) FROM memory_versions", [], |row| row.get(0))
        .unwrap();
    assert_eq!(versions, count);
    drop(conn);
    assert_eq!(env.ok(&["health"])["fts_rows"], count);
}

const EDITORS: usize = 6;
const EDITS_PER_EDITOR: usize = 8;

#[test]
fn racing_edits_of_one_memory_all_land() {
    let env = Arc::new(TestEnv::new());
    env.remember("shared", "version one");
    let editors: Vec<_> = (0..EDITORS)
        .map(|e| {
            let env = Arc::clone(&env);
            thread::spawn(move || {
                for i in 0..EDITS_PER_EDITOR {
                    let body = format!("editor {e} edit {i}");
                    let out = env.ok(&["edit", "shared", "--body", &body]);
                    assert_eq!(out["action"], "updated");
                }
            })
        })
        .collect();
    for editor in editors {
        editor.join().expect("an editor failed");
    }
    let history = env.ok(&["history", "shared"]);
    let versions: Vec<u64> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (1..=(1 + EDITORS * EDITS_PER_EDITOR) as u64).collect();
    assert_eq!(versions, expected);
    assert_eq!(env.ok(&["health"])["ok"], true);
}

const LONG_IMPORT_LINES: usize = 20_000;

#[test]
fn a_writer_gets_in_between_the_transactions_of_a_long_import() {
    let env = TestEnv::new();
    env.ok(&["init"]);
    let file = env.dir.path().join("long.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    for i in 0..LONG_IMPORT_LINES {
        writeln!(
            out,
            "{{\"name\":\"line-{i:06}\",\"body\":\"memory number {i}, one of a long import of many words\"}}"
        )
        .unwrap();
    }
    out.into_inner().unwrap().sync_all().unwrap();

    // One batch of every line: only the transactions it is cut into let others in.
    let mut child = env
        .std_cmd()
        .args(["import", file.to_str().unwrap(), "--batch-size", "1000000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn_retrying();
    let deadline = Instant::now() + Duration::from_secs(300);
    while live_count(&env.db) == 0 {
        assert!(Instant::now() < deadline, "import made no progress");
        thread::sleep(Duration::from_millis(2));
    }
    env.remember("probe", "written while the import runs");
    assert!(child.wait().unwrap().success());

    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let (probe, last): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT id FROM memories WHERE name = 'probe'), max(id) FROM memories",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert!(
        probe < last,
        "the writer waited for the whole import: id {probe} of {last}"
    );
}
