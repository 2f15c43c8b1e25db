//! The error contract: a JSON envelope on stdout, a stable exit code, nothing changed.

use crate::common::{SpawnRetrying, StartRetrying, TestEnv};

/// Everything a failed command must leave as it was.
fn snapshot(env: &TestEnv) -> (String, serde_json::Value) {
    let export = env
        .cmd()
        .args(["export", "--all-namespaces"])
        .output_retrying();
    assert!(export.status.success());
    let mut stats = env.ok(&["stats"]);
    stats["db_size_bytes"] = serde_json::Value::Null;
    (String::from_utf8(export.stdout).unwrap(), stats)
}

#[test]
fn bad_input_fails_cleanly_and_changes_nothing() {
    let env = TestEnv::new();
    env.remember("keep", "original body");
    let before = snapshot(&env);

    let big = env.dir.path().join("big.txt");
    std::fs::write(&big, vec![b'a'; 1024 * 1024 + 1]).unwrap();
    let latin1 = env.dir.path().join("latin1.txt");
    std::fs::write(&latin1, b"caf\xe9").unwrap();
    let big = big.to_str().unwrap();
    let latin1 = latin1.to_str().unwrap();
    let huge_description = "d".repeat(5000);

    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["remember", "--name", "keep", "--body", "new"],
            4,
            "already_exists",
        ),
        (
            &["remember", "--name", "bad name", "--body", "x"],
            5,
            "invalid_input",
        ),
        (&["remember", "--name", "-x", "--body", "x"], 2, "usage"),
        (
            &["remember", "--name", "ok", "--body-file", big],
            6,
            "too_large",
        ),
        (
            &["remember", "--name", "ok", "--body-file", latin1],
            5,
            "invalid_input",
        ),
        (
            &["remember", "--name", "ok", "--body-file", "/no/such/file"],
            8,
            "io",
        ),
        (
            &[
                "remember",
                "--name",
                "ok",
                "--body",
                "x",
                "--metadata",
                "{oops",
            ],
            5,
            "invalid_input",
        ),
        (
            &[
                "remember",
                "--name",
                "ok",
                "--body",
                "x",
                "--metadata",
                "[1]",
            ],
            5,
            "invalid_input",
        ),
        (
            &["remember", "--name", "ok", "--body", "x", "--type", "a b"],
            5,
            "invalid_input",
        ),
        (
            &[
                "remember",
                "--name",
                "ok",
                "--body",
                "x",
                "--description",
                &huge_description,
            ],
            6,
            "too_large",
        ),
        (
            &[
                "remember",
                "--name",
                "ok",
                "--body",
                "x",
                "--namespace",
                "bad/ns",
            ],
            5,
            "invalid_input",
        ),
        (&["edit", "keep", "--body-file", big], 6, "too_large"),
        (&["edit", "keep"], 2, "usage"),
        (&["edit", "missing", "--body", "x"], 3, "not_found"),
        (&["rename", "keep", "bad name"], 5, "invalid_input"),
        (&["rename", "missing", "other"], 3, "not_found"),
        (&["read", "missing"], 3, "not_found"),
        (&["read", "keep", "--namespace", "nowhere"], 3, "not_found"),
        (&["list", "--namespace", "nowhere"], 3, "not_found"),
        (&["search", "x", "--namespace", "nowhere"], 3, "not_found"),
        (&["restore", "keep", "--version", "0"], 2, "usage"),
        (
            &["purge", "--older-than", "soon", "--yes"],
            5,
            "invalid_input",
        ),
        (&["import", "/no/such/file.jsonl"], 8, "io"),
        (&["no-such-verb"], 2, "usage"),
        (&["list", "--limit", "many"], 2, "usage"),
    ];
    for (args, code, kind) in cases {
        let err = env.fails(args, *code);
        assert_eq!(err["kind"], *kind, "{args:?}: {err}");
        assert_eq!(snapshot(&env), before, "{args:?} changed the database");
    }

    let err = env.fails_stdin(
        &["remember", "--name", "ok", "--body-stdin"],
        vec![b'x'; 1024 * 1024 + 1],
        6,
    );
    assert_eq!(err["kind"], "too_large");
    let err = env.fails_stdin(
        &["remember", "--name", "ok", "--body-stdin"],
        b"\xff\xfe".to_vec(),
        5,
    );
    assert_eq!(err["kind"], "invalid_input");
    assert_eq!(snapshot(&env), before);
}

#[test]
fn a_missing_database_is_not_created_by_readers() {
    let env = TestEnv::new();
    for verb in [
        &["read", "x"][..],
        &["list"],
        &["search", "x"],
        &["stats"],
        &["health"],
        &["export"],
    ] {
        let err = env.fails(verb, 3);
        assert!(err["hint"].as_str().unwrap().contains("init"), "{err}");
    }
    assert!(!env.db.exists());
}

#[cfg(not(unix))]
skipped_here!(
    non_utf8_arguments_are_invalid_input,
    "Windows arguments are UTF-16: there is no invalid UTF-8 argument to pass"
);

#[cfg(unix)]
#[test]
fn non_utf8_arguments_are_invalid_input() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let env = TestEnv::new();
    env.ok(&["init"]);
    let out = env
        .cmd()
        .args(["remember", "--name", "x", "--body"])
        .arg(OsStr::from_bytes(b"caf\xe9"))
        .output_retrying();
    assert_eq!(out.status.code(), Some(5));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "invalid_input");
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let env = TestEnv::new();
    env.ok(&["init"]);
    env.tamper("PRAGMA user_version = 999");
    assert_eq!(env.fails(&["list"], 10)["kind"], "schema_too_new");
}

#[test]
fn health_reports_a_drifted_index() {
    let env = TestEnv::new();
    env.remember("a", "alpha words");
    env.remember("b", "beta words");
    assert_eq!(env.ok(&["health"])["ok"], true);
    env.tamper(
        "DROP TRIGGER memories_fts_update; UPDATE memories SET deleted_at = 1 WHERE name = 'a';",
    );
    let err = env.fails(&["health"], 11);
    assert_eq!(err["kind"], "unhealthy");
    assert!(err["message"].as_str().unwrap().contains("FTS"), "{err}");
}

/// A reader that stops early (`export | head -1`) closes stdout under the
/// writer: that ends the process quietly with success, so `set -o pipefail`
/// scripts don't fail.
#[test]
fn a_closed_stdout_ends_quietly_with_success() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let env = TestEnv::new();
    // Far more output than a pipe buffers, so the writer is still writing
    // when the reader goes away.
    let body = "pipe ".repeat(400);
    let lines: String = (0..256)
        .map(|i| format!("{{\"name\":\"m{i}\",\"body\":\"{body}\"}}\n"))
        .collect();
    env.ok_stdin(&["import", "-"], lines);

    let mut child = env
        .std_cmd()
        .arg("export")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn_retrying();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(first.starts_with("{\"name\":\"m0\""), "{first}");
    drop(reader);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
