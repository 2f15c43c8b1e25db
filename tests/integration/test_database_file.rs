//! The database file itself: which files are opened, which are refused
//! untouched, and the modes new files get.

use crate::common::{StartRetrying, TestEnv};

/// Reads the application id that marks a database as ours, or another's.
fn application_id(env: &TestEnv) -> i32 {
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.pragma_query_value(None, "application_id", |row| row.get(0))
        .unwrap()
}

/// Whether the memory `name` is in the database at `db`, read without
/// creating or changing anything.
#[cfg(unix)]
fn stored(db: &std::path::Path, name: &str) -> bool {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let Ok(conn) = rusqlite::Connection::open_with_flags(db, flags) else {
        return false;
    };
    conn.query_row(
        "SELECT count(*) FROM memories WHERE name = ?1",
        [name],
        |row| row.get::<_, i64>(0),
    )
    .is_ok_and(|n| n > 0)
}

/// Every verb that opens the database: three that may create it, the rest not.
const VERBS: &[&[&str]] = &[
    &["init"],
    &["remember", "--name", "n", "--body", "b"],
    &["import", "-"],
    &["read", "x"],
    &["list"],
    &["stats"],
    &["health"],
    &["export"],
    &["search", "x"],
];

/// A database left in rollback-journal mode by another program, with
/// `sql` applied: anything that writes to it changes its bytes.
fn rollback_mode_database(env: &TestEnv, sql: &str) -> Vec<u8> {
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.execute_batch(sql).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    drop(conn);
    std::fs::read(&env.db).unwrap()
}

/// Runs every verb on the database expecting `code`; the file's bytes must not change.
fn every_verb_refuses(env: &TestEnv, bytes: &[u8], code: i32, kind: &str) {
    for verb in VERBS {
        let out = env.cmd().args(*verb).write_stdin("").output_retrying();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(code), "{verb:?}: {json}");
        assert_eq!(json["error"]["kind"], kind, "{verb:?}: {json}");
        assert!(
            std::fs::read(&env.db).unwrap() == bytes,
            "{verb:?} changed the database"
        );
        let dir: Vec<_> = std::fs::read_dir(env.dir.path()).unwrap().collect();
        assert_eq!(dir.len(), 1, "{verb:?} left files beside the database");
    }
}

#[test]
fn a_newer_schema_is_refused_before_anything_is_written() {
    let env = TestEnv::new();
    env.ok(&["init"]);
    let bytes = rollback_mode_database(
        &env,
        "PRAGMA journal_mode = DELETE; PRAGMA user_version = 999;",
    );
    every_verb_refuses(&env, &bytes, 10, "schema_too_new");
}

#[test]
fn another_applications_database_is_refused_untouched() {
    let env = TestEnv::new();
    let bytes = rollback_mode_database(
        &env,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);
         INSERT INTO users (email) VALUES ('a@example.com');",
    );
    every_verb_refuses(&env, &bytes, 5, "invalid_input");
    let err = env.fails(&["stats"], 5);
    assert!(err["hint"].as_str().unwrap().contains("--force"), "{err}");

    let adopted = env.ok(&["init", "--force"]);
    assert_eq!(adopted["created"], true);
    env.remember("kept", "beside the users table");
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let users: i64 = conn
        .query_row("SELECT count(*) FROM users", [], |row| row.get(0))
        .unwrap();
    assert_eq!(users, 1);
}

#[test]
fn adopting_builds_the_whole_schema_whatever_the_user_version_holds() {
    for user_version in [2, 5, 7, 999] {
        let env = TestEnv::new();
        rollback_mode_database(
            &env,
            &format!("CREATE TABLE t (x); PRAGMA user_version = {user_version};"),
        );
        let adopted = env.ok(&["init", "--force"]);
        assert_eq!(adopted["created"], true, "{user_version}");
        assert_eq!(
            adopted["schema_version"], adopted["latest_schema_version"],
            "{user_version}"
        );
        env.remember("kept", "beside the other tables");
        assert_eq!(env.ok(&["health"])["ok"], true, "{user_version}");
        assert_eq!(env.ok(&["init"])["created"], false, "{user_version}");
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        let theirs: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(theirs, user_version, "the other application's user version");
    }
}

#[test]
fn an_adoption_that_fails_changes_nothing() {
    let env = TestEnv::new();
    let bytes = rollback_mode_database(
        &env,
        "CREATE TABLE t (x); CREATE TABLE memory_versions (y); PRAGMA user_version = 2;",
    );
    env.fails(&["init", "--force"], 9);
    assert!(std::fs::read(&env.db).unwrap() == bytes, "the file changed");
    let dir: Vec<_> = std::fs::read_dir(env.dir.path()).unwrap().collect();
    assert_eq!(dir.len(), 1, "files were left beside the database");
}

#[test]
fn commands_that_write_nothing_leave_a_rollback_mode_database_as_it_was() {
    let env = TestEnv::new();
    env.remember("a", "one");
    env.remember("b", "two");
    let bytes = rollback_mode_database(&env, "PRAGMA journal_mode = DELETE;");
    for (args, code) in [
        (&["read", "a"][..], 0),
        (&["list"], 0),
        (&["search", "one"], 0),
        (&["stats"], 0),
        (&["rename", "a", "b"], 4),
    ] {
        let out = env.cmd().args(args).output_retrying();
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        assert!(
            std::fs::read(&env.db).unwrap() == bytes,
            "{args:?} changed the file"
        );
    }
    env.remember("c", "written in rollback mode");
    assert_eq!(env.ok(&["read", "c"])["version"], 1);
}

#[test]
fn a_database_another_application_claims_is_never_adopted() {
    let env = TestEnv::new();
    let bytes = rollback_mode_database(
        &env,
        "PRAGMA application_id = 1196444487; CREATE TABLE features (id INTEGER);",
    );
    let err = env.fails(&["init", "--force"], 5);
    assert!(
        err["message"].as_str().unwrap().contains("application id"),
        "{err}"
    );
    assert_eq!(std::fs::read(&env.db).unwrap(), bytes);
}

#[test]
fn an_empty_file_is_created_only_by_writers() {
    let env = TestEnv::new();
    std::fs::write(&env.db, b"").unwrap();
    for verb in &VERBS[3..] {
        let err = env.fails(verb, 3);
        assert!(err["hint"].as_str().unwrap().contains("init"), "{err}");
        assert_eq!(std::fs::metadata(&env.db).unwrap().len(), 0, "{verb:?}");
    }
    env.remember("first", "into the empty file");
    assert_eq!(env.ok(&["read", "first"])["version"], 1);
}

#[test]
fn a_database_made_before_the_marker_is_recognised_and_marked() {
    let env = TestEnv::new();
    env.remember("old", "made by an earlier version");
    env.tamper("PRAGMA application_id = 0");
    assert_eq!(application_id(&env), 0);
    assert_eq!(
        env.ok(&["read", "old"])["body"],
        "made by an earlier version"
    );
    assert_ne!(application_id(&env), 0);
}

#[test]
fn a_file_that_is_not_a_database_is_named_in_the_error() {
    let env = TestEnv::new();
    std::fs::write(
        &env.db,
        "just some text, long enough to not be a header\n".repeat(20),
    )
    .unwrap();
    let err = env.fails(&["stats"], 9);
    let message = err["message"].as_str().unwrap();
    assert!(message.contains(env.db.to_str().unwrap()), "{err}");
    assert!(message.contains("not a database"), "{err}");
}

#[test]
fn in_memory_names_and_uris_are_refused_without_leaving_folders() {
    let env = TestEnv::new();
    for db in [":memory:", "file:stray/x.db", "file:x.db?mode=memory"] {
        let out = crate::common::bare_cmd(env.dir.path())
            .current_dir(env.dir.path())
            .args(["--db", db, "remember", "--name", "n", "--body", "b"])
            .output_retrying();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(5), "{db:?}: {json}");
        assert_eq!(json["error"]["kind"], "invalid_input");
    }
    let left: Vec<_> = std::fs::read_dir(env.dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[cfg(not(unix))]
skipped_here!(
    new_files_are_private_whatever_the_umask,
    "file modes are Unix permissions"
);

#[cfg(unix)]
#[test]
fn new_files_are_private_whatever_the_umask() {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    use crate::common::{SpawnRetrying, bare_cmd, wait_until};

    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let beside = |db: &Path, suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    // Runs the binary under umask 000 with `args`, holding it open (an
    // import that wrote its first line, waiting on stdin for more) while
    // `check` looks at the files.
    let opened = std::cell::Cell::new(0);
    let while_open = |home: &Path, args: &[&str], db: &Path, check: &dyn Fn()| {
        opened.set(opened.get() + 1);
        let name = format!("n{}", opened.get());
        let inner = bare_cmd(home);
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("umask 000 && exec \"$0\" \"$@\"")
            .arg(inner.get_program())
            .args(args)
            .args(["import", "--batch-size", "1", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        for (key, value) in inner.get_envs() {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        let mut child = cmd.spawn_retrying();
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{{\"name\":\"{name}\",\"body\":\"b\"}}\n").as_bytes())
            .unwrap();
        // The side files outlive a process, so they say nothing of this
        // one: the first line stored says it has opened the database.
        wait_until(60, "the first line was imported", || stored(db, &name));
        check();
        drop(stdin);
        assert!(child.wait_with_output().unwrap().status.success());
    };

    let env = TestEnv::new();
    let db = env.dir.path().join("new/deeper/memory.sqlite");
    let db_arg = db.to_str().unwrap();
    while_open(env.dir.path(), &["--db", db_arg], &db, &|| {
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&beside(&db, "-wal")), 0o600);
        assert_eq!(mode(&beside(&db, "-shm")), 0o600);
        assert_eq!(mode(&env.dir.path().join("new")), 0o700);
        assert_eq!(mode(&env.dir.path().join("new/deeper")), 0o700);
    });

    // A user who shares the database widens its mode; SQLite's side files follow.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
    while_open(env.dir.path(), &["--db", db_arg], &db, &|| {
        assert_eq!(mode(&db), 0o640);
        assert_eq!(mode(&beside(&db, "-wal")), 0o640);
        assert_eq!(mode(&beside(&db, "-shm")), 0o640);
    });
    assert_eq!(mode(&db), 0o640, "an existing file's mode was changed");

    // The default data folder, and the folders above it that were missing.
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join(".local/share/sqlite-graphrag");
    let default_db = data.join("graphrag.sqlite");
    while_open(home.path(), &[], &default_db, &|| {
        assert_eq!(mode(&default_db), 0o600);
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&home.path().join(".local")), 0o700);
    });
}

#[cfg(not(unix))]
skipped_here!(
    folders_are_private_under_a_umask_that_takes_the_owners_bits,
    "file modes are Unix permissions"
);

#[cfg(unix)]
#[test]
fn folders_are_private_under_a_umask_that_takes_the_owners_bits() {
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;

    use crate::common::bare_cmd;

    let env = TestEnv::new();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    for (umask, top) in [("0277", "a"), ("0377", "b")] {
        let db = env.dir.path().join(top).join("data/x.db");
        let inner = bare_cmd(env.dir.path());
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(inner.get_program())
            .args(["--db", db.to_str().unwrap(), "init"]);
        for (key, value) in inner.get_envs() {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        let out = cmd.output_retrying();
        assert!(out.status.success(), "umask {umask}: {out:?}");
        assert_eq!(mode(&env.dir.path().join(top)), 0o700, "umask {umask}");
        assert_eq!(
            mode(&env.dir.path().join(top).join("data")),
            0o700,
            "umask {umask}"
        );
        assert_eq!(mode(&db), 0o600, "umask {umask}");
    }
}

#[test]
fn a_database_that_cannot_be_created_leaves_no_folders() {
    let env = TestEnv::new();
    let db = env.dir.path().join("new/deeper/x.db/");
    let out = crate::common::bare_cmd(env.dir.path())
        .args(["--db", db.to_str().unwrap(), "init"])
        .output_retrying();
    assert_eq!(out.status.code(), Some(8), "{out:?}");
    assert!(
        !env.dir.path().join("new").exists(),
        "folders were left behind"
    );
}

#[test]
fn a_folder_given_as_the_database_is_an_io_error_naming_it() {
    let env = TestEnv::new();
    let folder = env.dir.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    for verb in VERBS {
        let out = crate::common::bare_cmd(env.dir.path())
            .args(["--db", folder.to_str().unwrap()])
            .args(*verb)
            .output_retrying();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(8), "{verb:?}: {json}");
        assert_eq!(json["error"]["kind"], "io", "{verb:?}: {json}");
        let message = json["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(folder.to_str().unwrap()),
            "{verb:?}: {json}"
        );
    }
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 0);
}

#[cfg(not(unix))]
skipped_here!(
    a_config_folder_the_user_may_not_enter_counts_as_no_config_file,
    "folder permissions are Unix permissions"
);

#[cfg(unix)]
#[test]
fn a_config_folder_the_user_may_not_enter_counts_as_no_config_file() {
    use std::os::unix::fs::PermissionsExt;

    let env = TestEnv::new();
    let home = env.dir.path().join("home");
    let config = home.join(".config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o000)).unwrap();
    let entered = std::fs::read_dir(&config).is_ok();
    let out = (!entered).then(|| {
        crate::common::bare_cmd(&home)
            .args(["--db", env.db.to_str().unwrap(), "init"])
            .output_retrying()
    });
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o700)).unwrap();
    match out {
        Some(out) => assert!(out.status.success(), "{out:?}"),
        // Permissions do not bind this user (root): nothing to check.
        None => eprintln!("skipped: this user may enter any folder"),
    }
}

#[test]
fn a_missing_default_database_reads_as_empty_and_a_named_one_is_not_found() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str], db: Option<&str>| {
        let mut cmd = crate::common::bare_cmd(home.path());
        if let Some(db) = db {
            cmd.env("SQLITE_GRAPHRAG_DB", db);
        }
        cmd.args(args).output_retrying()
    };
    for (verb, empty) in [
        (&["hybrid-search", "auth decision"][..], r#"{"results":[]}"#),
        (&["recall", "auth decision"], r#"{"results":[]}"#),
        (&["search", "auth"], r#"{"results":[]}"#),
        (&["list"], r#"{"items":[],"total":0,"more":false}"#),
        (&["export"], ""),
    ] {
        let out = run(verb, None);
        assert_eq!(out.status.code(), Some(0), "{verb:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            empty,
            "{verb:?}"
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("no database yet"),
            "{verb:?} says why it is empty"
        );
    }
    assert_eq!(run(&["read", "x"], None).status.code(), Some(3));
    assert_eq!(run(&["stats"], None).status.code(), Some(3));
    let entries: Vec<_> = std::fs::read_dir(home.path()).unwrap().collect();
    assert!(entries.is_empty(), "reading created {entries:?}");

    let typo = home.path().join("typo.sqlite");
    let typo = typo.to_str().unwrap();
    assert_eq!(run(&["list"], Some(typo)).status.code(), Some(3));
    let flagged = crate::common::bare_cmd(home.path())
        .args(["--db", typo, "hybrid-search", "x"])
        .output_retrying();
    assert_eq!(
        flagged.status.code(),
        Some(3),
        "a named database must exist"
    );
}

#[cfg(not(unix))]
skipped_here!(
    a_database_in_a_setgid_folder_is_shared_with_its_group,
    "file modes and groups are Unix permissions"
);

#[cfg(unix)]
#[test]
fn a_database_in_a_setgid_folder_is_shared_with_its_group() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::process::CommandExt;
    use std::path::Path;

    use crate::common::bare_cmd;

    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: running as other users needs root");
        return;
    }
    const TEAM: u32 = 2100;
    let top = tempfile::tempdir().unwrap();
    std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let shared = top.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::os::unix::fs::chown(&shared, Some(0), Some(TEAM)).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o2770)).unwrap();
    let db = shared.join("team/memory.sqlite");
    let run = |uid: u32, gid: u32, args: &[&str]| {
        let mut cmd = bare_cmd(top.path());
        cmd.arg("--db").arg(&db).args(args).uid(uid).gid(gid);
        cmd.output_retrying()
    };
    let owner_and_mode = |path: &Path| {
        let meta = std::fs::metadata(path).unwrap();
        (meta.gid(), meta.mode() & 0o7777)
    };

    let first = run(2001, TEAM, &["remember", "--name", "a", "--body", "first"]);
    assert!(first.status.success(), "{first:?}");
    assert_eq!(owner_and_mode(&shared.join("team")), (TEAM, 0o2770));
    assert_eq!(owner_and_mode(&db), (TEAM, 0o660));
    let second = run(2002, TEAM, &["remember", "--name", "b", "--body", "second"]);
    assert!(second.status.success(), "another member writes: {second:?}");
    let listed = run(2001, TEAM, &["list"]);
    let items: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(items["items"].as_array().unwrap().len(), 2);
    let outsider = run(2003, 2003, &["read", "a"]);
    assert_eq!(outsider.status.code(), Some(8), "{outsider:?}");
}
