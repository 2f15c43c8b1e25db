//! The enrich queue: writes queue the memory versions whose text changed
//! for the LLM backend `SQLITE_GRAPHRAG_EXTRACT` names.

use serde_json::{Value, json};

use crate::common::TestEnv;

/// Runs the binary with `SQLITE_GRAPHRAG_EXTRACT=backend` and `args`;
/// returns its JSON output, asserting success.
fn with_backend(env: &TestEnv, backend: &str, args: &[&str]) -> Value {
    let out = env
        .cmd()
        .env("SQLITE_GRAPHRAG_EXTRACT", backend)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The (memory name, version, backend, state, attempts) of every job.
fn jobs(env: &TestEnv) -> Vec<(String, i64, String, String, i64)> {
    env.rows(
        "SELECT m.name, j.version, j.backend, j.state, j.attempts
             FROM enrich_jobs j JOIN memories m ON m.id = j.memory_id
             ORDER BY m.name, j.backend",
    )
}

/// The counts by state of `enrich status`.
fn counts(mut status: Value) -> Value {
    let map = status.as_object_mut().unwrap();
    map.remove("oldest_queued_at").unwrap();
    map.remove("next_retry_at").unwrap();
    let due = map.remove("due").unwrap();
    assert_eq!(due, map["queued"], "a job just queued is due");
    status
}

fn job(name: &str, version: i64, backend: &str) -> (String, i64, String, String, i64) {
    (name.into(), version, backend.into(), "queued".into(), 0)
}

#[test]
fn nothing_is_queued_without_a_backend() {
    let env = TestEnv::new();
    env.remember("a", "plain text");
    with_backend(&env, "none", &["remember", "--name", "b", "--body", "more"]);
    assert_eq!(jobs(&env), []);
    assert_eq!(
        counts(env.ok(&["enrich", "status"])),
        json!({"queued": 0, "running": 0, "done": 0, "failed": 0})
    );
}

#[test]
fn remember_edit_and_import_queue_the_version_written() {
    let env = TestEnv::new();
    with_backend(
        &env,
        "claude",
        &["remember", "--name", "a", "--body", "one"],
    );
    assert_eq!(jobs(&env), [job("a", 1, "claude")]);

    with_backend(&env, "claude", &["edit", "a", "--body", "two"]);
    assert_eq!(jobs(&env), [job("a", 2, "claude")], "one job per memory");
    with_backend(&env, "claude", &["edit", "a", "--type", "decision"]);
    assert_eq!(
        jobs(&env),
        [job("a", 2, "claude")],
        "a version with the same text is not queued"
    );
    with_backend(&env, "codex", &["edit", "a", "--body", "three"]);
    assert_eq!(jobs(&env), [job("a", 2, "claude"), job("a", 4, "codex")]);

    let lines = "{\"name\":\"b\",\"body\":\"bee\"}\n{\"name\":\"c\",\"body\":\"sea\"}\n";
    let file = env.dir.path().join("in.jsonl");
    std::fs::write(&file, lines).unwrap();
    with_backend(&env, "codex", &["import", file.to_str().unwrap()]);
    assert_eq!(
        jobs(&env),
        [
            job("a", 2, "claude"),
            job("a", 4, "codex"),
            job("b", 1, "codex"),
            job("c", 1, "codex")
        ]
    );
    assert_eq!(
        counts(env.ok(&["enrich", "status"])),
        json!({"queued": 4, "running": 0, "done": 0, "failed": 0})
    );
}

#[test]
fn a_bad_backend_is_refused_and_nothing_is_stored() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .env("SQLITE_GRAPHRAG_EXTRACT", "gpt")
        .args(["remember", "--name", "a", "--body", "one"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SQLITE_GRAPHRAG_EXTRACT"), "{stderr}");
    assert!(!env.db.exists(), "nothing is created");
}

#[test]
fn remember_extract_on_the_command_line_is_not_queued() {
    let env = TestEnv::new();
    let missing = env.dir.path().join("no-such-claude");
    let out = env
        .cmd()
        .env("SQLITE_GRAPHRAG_EXTRACT", "claude")
        .env("SQLITE_GRAPHRAG_CLAUDE_BIN", &missing)
        .args([
            "remember",
            "--name",
            "a",
            "--body",
            "one",
            "--extract",
            "claude",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127), "the tool is missing");
    assert_eq!(jobs(&env), [], "the memory is stored and not queued");
    env.ok(&["read", "a"]);
}

#[test]
fn purging_a_memory_deletes_its_jobs() {
    let env = TestEnv::new();
    with_backend(
        &env,
        "claude",
        &["remember", "--name", "a", "--body", "one"],
    );
    with_backend(&env, "codex", &["remember", "--name", "b", "--body", "two"]);
    env.ok(&["forget", "a"]);
    env.ok(&["purge", "--yes"]);
    assert_eq!(jobs(&env), [job("b", 1, "codex")]);
}
