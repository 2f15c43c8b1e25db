//! The error contract: a JSON envelope on stdout, a stable exit code, nothing changed.

use crate::common::{ErrorEnvelope, ImportReport, SpawnRetrying, StartRetrying, TestEnv, typed};

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
    let long_name = "n".repeat(129);
    let long_namespace = "s".repeat(129);
    let long_type = "t".repeat(65);

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
                "bad//ns",
            ],
            5,
            "invalid_input",
        ),
        (
            &["remember", "--name", &long_name, "--body", "x"],
            6,
            "too_large",
        ),
        (
            &[
                "remember", "--name", "ok", "--body", "x", "--type", &long_type,
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
                &long_namespace,
            ],
            6,
            "too_large",
        ),
        (&["rename", "keep", &long_name], 6, "too_large"),
        (
            &["edit", "keep", "--metadata", r#"{"a":1,"b":{"c":2,"c":3}}"#],
            5,
            "invalid_input",
        ),
        (&["edit", "keep", "--body-file", big], 6, "too_large"),
        (&["edit", "keep"], 2, "usage"),
        (&["edit", "missing", "--body", "x"], 3, "not_found"),
        (&["rename", "keep", "bad name"], 5, "invalid_input"),
        (&["rename", "missing", "other"], 3, "not_found"),
        (&["read", "missing"], 3, "not_found"),
        (&["read", ""], 5, "invalid_input"),
        (&["history", "bad name"], 5, "invalid_input"),
        (&["forget", &long_name], 6, "too_large"),
        (&["edit", "bad name", "--body", "x"], 5, "invalid_input"),
        (&["restore", "bad name"], 5, "invalid_input"),
        (&["rename", "bad name", "other"], 5, "invalid_input"),
        (&["list", "--type", ""], 5, "invalid_input"),
        (&["search", "x", "--type", &long_type], 6, "too_large"),
        (&["read", "keep", "--namespace", "nowhere"], 3, "not_found"),
        (&["restore", "keep", "--version", "0"], 2, "usage"),
        (
            &["purge", "--older-than", "soon", "--yes"],
            5,
            "invalid_input",
        ),
        (&["import", "/no/such/file.jsonl"], 8, "io"),
        (&["no-such-verb"], 2, "usage"),
        (&["list", "--limit", "many"], 2, "usage"),
        (&["slots", "status", "--max", "0"], 2, "usage"),
        (&["slots", "resize", "--max", "0"], 2, "usage"),
    ];
    for (args, code, kind) in cases {
        let err = env.error(args, *code);
        assert_eq!(err.kind, *kind, "{args:?}: {err:?}");
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
        let err = env.error(verb, 3);
        assert!(err.hint.as_deref().unwrap().contains("init"), "{err:?}");
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
    let envelope: ErrorEnvelope = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(envelope.error.kind, "invalid_input");
    assert_eq!(
        envelope.error.message,
        r#"the value of --body is not valid UTF-8: "caf\\xe9""#
    );
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let env = TestEnv::new();
    env.ok(&["init"]);
    env.tamper("PRAGMA user_version = 999");
    assert_eq!(env.error(&["list"], 10).kind, "schema_too_new");
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
    let err = env.error(&["health"], 11);
    assert_eq!(err.kind, "unhealthy");
    assert!(err.message.contains("FTS"), "{err:?}");
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
    let report: ImportReport = typed(&["import"], env.ok_stdin(&["import", "-"], lines));
    assert_eq!((report.imported, report.failed), (256, 0));

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

/// clap's whole message reaches the envelope, without colours: the list of
/// what is missing, "a similar argument exists", the usage line.
#[test]
fn command_line_errors_keep_the_whole_message() {
    let env = TestEnv::new();
    let err = env.error(&["remember", "--nmae", "x", "--body", "b"], 2);
    assert_eq!(err.kind, "usage");
    let message = err.message.as_str();
    assert!(
        message.contains("unexpected argument '--nmae'"),
        "{message}"
    );
    assert!(message.contains("'--name'"), "no suggestion: {message}");
    assert!(
        message.contains("Usage: sqlite-graphrag remember"),
        "{message}"
    );
    assert!(!message.contains('\u{1b}'), "colour codes: {message:?}");

    let err = env.error(&["rename", "only-one"], 2);
    assert!(err.message.contains("<NEW_NAME>"), "{err:?}");

    let bare = crate::common::bare_cmd(env.dir.path()).output_retrying();
    assert_eq!(bare.status.code(), Some(2));
    let envelope: ErrorEnvelope = serde_json::from_slice(&bare.stdout).unwrap();
    let message = envelope.error.message.as_str();
    assert!(message.starts_with("a verb is required"), "{message}");
    assert!(message.contains("Usage: sqlite-graphrag"), "{message}");
    assert!(message.contains("remember"), "{message}");

    let options_only = env.error(&["-v"], 2);
    assert!(
        options_only.message.starts_with("a verb is required"),
        "{options_only:?}"
    );
}

#[test]
fn very_quiet_errors_are_only_the_envelope() {
    let env = TestEnv::new();
    env.remember("kept", "x");
    let out = env.cmd().args(["-qq", "read", "missing"]).output_retrying();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let envelope: ErrorEnvelope = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(envelope.error.kind, "not_found");
}

/// `slots exec` wraps a command like timeout(1): stdout belongs to that
/// command, so the wrapper's own command-line errors go to stderr only,
/// whole, with exit 125.
#[test]
fn slots_exec_command_line_errors_go_to_stderr_with_125() {
    let env = TestEnv::new();
    let cases: [(&[&str], &str); 5] = [
        (&["slots", "exec"], "Usage: sqlite-graphrag slots exec"),
        (
            &["slots", "exec", "--"],
            "Usage: sqlite-graphrag slots exec",
        ),
        (
            &["slots", "exec", "--wait", "soon", "--", "true"],
            "'--wait <SECS>'",
        ),
        (
            &["slots", "exec", "--max", "0", "--", "true"],
            "'--max <N>'",
        ),
        (&["slots", "exec", "--nope", "--", "true"], "'--nope'"),
    ];
    for (args, expected) in cases {
        let out = env.cmd().args(args).output_retrying();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: stdout {:?}", out.stdout);
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let out = env.cmd().args(["slots", "exec", "--"]).output_retrying();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("required arguments were not provided:\n  <CMD>..."),
        "{stderr}"
    );
}
