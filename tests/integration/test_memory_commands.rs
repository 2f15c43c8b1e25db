//! The verbs of one memory's lifecycle, and the JSON each prints.

use serde_json::json;

use crate::common::{
    History, InitReport, MemoryList, NamespaceList, NamespaceStats, Outcome, ReadMemory,
    SearchResults, StartRetrying, Stats, TestEnv, bare_cmd,
};

/// The names of `list`'s items, in order.
fn names(list: &MemoryList) -> Vec<&str> {
    list.items.iter().map(|m| m.name.as_str()).collect()
}

#[test]
fn init_creates_then_reports_the_schema() {
    let env = TestEnv::new();
    let first: InitReport = env.ok_as(&["init"]);
    assert!(first.created);
    assert_eq!(first.db, env.db.display().to_string());
    assert!(first.schema_version >= 1);
    assert_eq!(first.schema_version, first.latest_schema_version);
    assert!(!env.ok_as::<InitReport>(&["init"]).created);
}

#[test]
fn remember_read_list_and_versions() {
    let env = TestEnv::new();
    let created: Outcome = env.ok_as(&[
        "remember",
        "--name",
        "auth-decision",
        "--type",
        "decision",
        "--description",
        "how we log in",
        "--body",
        "We use OAuth device flow.",
        "--metadata",
        r#"{"source":"meeting","n":2}"#,
    ]);
    assert_eq!(created.action, "created");
    assert_eq!(created.version, 1);
    assert_eq!(created.namespace, "global");
    assert_eq!(created.name, "auth-decision");
    assert!(created.memory_id > 0);

    let memory = env.ok_as::<ReadMemory>(&["read", "auth-decision"]).memory;
    assert_eq!(memory.memory_id, created.memory_id);
    assert_eq!(memory.body.as_deref(), Some("We use OAuth device flow."));
    assert_eq!(memory.kind, "decision");
    assert_eq!(memory.description, "how we log in");
    assert_eq!(memory.metadata, json!({"n": 2, "source": "meeting"}));
    assert_eq!(memory.deleted_at, None);
    assert!(memory.created_at.ends_with('Z'));
    assert_eq!(memory.created_at, memory.updated_at);

    let unchanged: Outcome = env.ok_as(&[
        "remember",
        "--name",
        "auth-decision",
        "--type",
        "decision",
        "--description",
        "how we log in",
        "--body",
        "We use OAuth device flow.",
        "--metadata",
        r#"{"n":2,"source":"meeting"}"#,
        "--update",
    ]);
    assert_eq!(
        (unchanged.action.as_str(), unchanged.version),
        ("unchanged", 1)
    );

    let edited: Outcome = env.ok_as(&["edit", "auth-decision", "--body", "We use OAuth PKCE."]);
    assert_eq!((edited.action.as_str(), edited.version), ("updated", 2));
    let memory = env.ok_as::<ReadMemory>(&["read", "auth-decision"]).memory;
    assert_eq!(memory.description, "how we log in");
    assert_eq!(memory.version, 2);

    env.remember("second", "another memory");
    let list: MemoryList = env.ok_as(&["list"]);
    assert_eq!(names(&list), ["second", "auth-decision"]);
    assert!(
        list.items.iter().all(|m| m.body.is_none()),
        "list leaves bodies out"
    );
    let decisions: MemoryList = env.ok_as(&["list", "--type", "decision"]);
    assert_eq!(names(&decisions), ["auth-decision"]);
    let page: MemoryList = env.ok_as(&["list", "--limit", "1", "--offset", "1"]);
    assert_eq!(names(&page), ["auth-decision"]);
}

#[test]
fn rename_forget_restore_purge() {
    let env = TestEnv::new();
    env.remember("draft", "first text");
    env.ok(&["edit", "draft", "--body", "second text"]);
    let renamed: Outcome = env.ok_as(&["rename", "draft", "final"]);
    assert_eq!((renamed.action.as_str(), renamed.version), ("renamed", 3));
    env.error(&["read", "draft"], 3);

    let forgotten: Outcome = env.ok_as(&["forget", "final"]);
    assert_eq!(forgotten.action, "forgotten");
    let again: Outcome = env.ok_as(&["forget", "final"]);
    assert_eq!(again.action, "unchanged");
    let err = env.error(&["read", "final"], 3);
    assert!(err.hint.as_deref().unwrap().contains("restore"), "{err:?}");
    assert_eq!(env.ok_as::<MemoryList>(&["list"]).items, []);
    let with_deleted: MemoryList = env.ok_as(&["list", "--include-deleted"]);
    assert_eq!(names(&with_deleted), ["final"]);
    assert!(with_deleted.items[0].deleted_at.is_some());

    let restored: Outcome = env.ok_as(&["restore", "final", "--version", "1"]);
    assert_eq!(
        (restored.action.as_str(), restored.version),
        ("restored", 5)
    );
    let memory = env.ok_as::<ReadMemory>(&["read", "final"]).memory;
    assert_eq!(memory.body.as_deref(), Some("first text"));

    let history: History = env.ok_as(&["history", "final"]);
    assert_eq!(
        (history.name.as_str(), history.memory_id),
        ("final", restored.memory_id)
    );
    let actions: Vec<&str> = history.versions.iter().map(|v| v.action.as_str()).collect();
    assert_eq!(
        actions,
        ["created", "updated", "renamed", "forgotten", "restored"]
    );
    assert_eq!(history.versions[0].name, "draft");
    assert!(history.versions[3].deleted);

    env.fails(&["restore", "final"], 5);
    env.fails(&["restore", "final", "--version", "9"], 3);
    env.ok(&["forget", "final"]);
    assert_eq!(env.ok(&["restore", "final"])["action"], "restored");

    env.ok(&["forget", "final"]);
    assert_eq!(
        env.ok(&["purge", "--older-than", "1d", "--yes"])["purged"],
        0
    );
    env.fails(&["purge"], 2);
    assert_eq!(env.ok(&["purge", "--yes"])["purged"], 1);
    env.fails(&["history", "final"], 3);
    assert_eq!(env.ok(&["stats"])["versions"], 0);
}

#[test]
fn remember_on_a_forgotten_name_needs_update() {
    let env = TestEnv::new();
    env.remember("m", "one");
    env.ok(&["forget", "m"]);
    let err = env.error(&["remember", "--name", "m", "--body", "two"], 4);
    assert_eq!(err.kind, "already_exists");
    assert!(err.hint.as_deref().unwrap().contains("restore"), "{err:?}");
    let revived: Outcome = env.ok_as(&["remember", "--name", "m", "--body", "two", "--update"]);
    assert_eq!(revived.action, "updated");
    let memory = env.ok_as::<ReadMemory>(&["read", "m"]).memory;
    assert_eq!(memory.body.as_deref(), Some("two"));
}

#[test]
fn body_sources_are_equivalent() {
    let env = TestEnv::new();
    let file = env.dir.path().join("body.txt");
    std::fs::write(&file, "naïve café — 東京 🙂\n").unwrap();
    env.ok(&[
        "remember",
        "--name",
        "from-file",
        "--body-file",
        file.to_str().unwrap(),
    ]);
    env.ok_stdin(
        &["remember", "--name", "from-stdin", "--body-stdin"],
        "naïve café — 東京 🙂\n",
    );
    let a = env.ok_as::<ReadMemory>(&["read", "from-file"]).memory;
    let b = env.ok_as::<ReadMemory>(&["read", "from-stdin"]).memory;
    assert_eq!(a.body.as_deref(), Some("naïve café — 東京 🙂\n"));
    assert_eq!(a.body, b.body);
    env.fails(
        &["remember", "--name", "x", "--body", "a", "--body-stdin"],
        2,
    );
    env.fails(&["remember", "--name", "x"], 2);
}

#[test]
fn namespaces_are_separate() {
    let env = TestEnv::new();
    env.remember("same", "in global");
    env.ok(&[
        "--namespace",
        "team-a",
        "remember",
        "--name",
        "same",
        "--body",
        "in team a",
    ]);
    let in_team = env
        .ok_as::<ReadMemory>(&["read", "same", "--namespace", "team-a"])
        .memory;
    assert_eq!(
        (in_team.namespace.as_str(), in_team.body.as_deref()),
        ("team-a", Some("in team a"))
    );
    let in_global = env.ok_as::<ReadMemory>(&["read", "same"]).memory;
    assert_eq!(in_global.body.as_deref(), Some("in global"));
    let one_each = |namespace: &str| NamespaceStats {
        namespace: namespace.to_owned(),
        memories: 1,
        forgotten: 0,
        versions: 1,
        origin: None,
    };
    let namespaces: NamespaceList = env.ok_as(&["namespaces"]);
    assert_eq!(
        namespaces.namespaces,
        [one_each("global"), one_each("team-a")]
    );
    let stats: Stats = env.ok_as(&["stats"]);
    assert_eq!(stats.memories, 2);
    assert_eq!(stats.namespaces, namespaces.namespaces);
    assert!(stats.db_size_bytes > 0);
    let via_env = env
        .cmd()
        .env("SQLITE_GRAPHRAG_NAMESPACE", "team-a")
        .args(["read", "same"])
        .output_retrying();
    assert!(String::from_utf8_lossy(&via_env.stdout).contains("in team a"));
}

#[test]
fn global_options_go_anywhere_on_the_line() {
    let env = TestEnv::new();
    let db = env.db.to_str().unwrap();
    let status = bare_cmd(env.dir.path())
        .args(["remember", "--name", "n", "--body", "b", "--db", db, "-q"])
        .status()
        .unwrap();
    assert!(status.success());
    let status = bare_cmd(env.dir.path())
        .env("SQLITE_GRAPHRAG_DB", db)
        .args(["read", "n"])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn default_database_lives_in_the_user_data_folder() {
    let env = TestEnv::new();
    let out = bare_cmd(env.dir.path())
        .env("XDG_DATA_HOME", env.dir.path().join("data"))
        .arg("init")
        .output_retrying();
    assert!(out.status.success());
    let report: InitReport = serde_json::from_slice(&out.stdout).unwrap();
    let expected = if cfg!(windows) {
        env.dir
            .path()
            .join("sqlite-graphrag")
            .join("graphrag.sqlite")
    } else {
        env.dir
            .path()
            .join("data")
            .join("sqlite-graphrag")
            .join("graphrag.sqlite")
    };
    assert_eq!(report.db, expected.display().to_string());
    assert!(expected.exists());
}

#[test]
fn search_finds_by_words_and_survives_fts_syntax() {
    let env = TestEnv::new();
    env.remember("fox", "The quick brown fox jumps over the lazy dog");
    env.ok(&[
        "remember",
        "--name",
        "cat",
        "--body",
        "A cat sleeps",
        "--description",
        "about foxes",
    ]);
    let out: SearchResults = env.ok_as(&["search", "jumping foxes"]);
    assert_eq!(out.results.len(), 2);
    let best = &out.results[0];
    assert_eq!(best.name, "fox");
    assert!(best.score > 0.0);
    assert!(best.snippet.contains("jumps"));
    assert_eq!(best.matched.fts_rank, Some(1));
    for hostile in [
        "\"unbalanced",
        "fox AND",
        "NEAR(fox dog, 1)",
        "fox*",
        "(fox OR",
        "body:fox",
        "-fox",
        "^fox",
        "'; DROP TABLE memories; --",
    ] {
        env.ok_as::<SearchResults>(&["search", hostile]);
    }
    assert_eq!(env.error(&["search", "*** ()"], 5).kind, "invalid_input");
    let top: SearchResults = env.ok_as(&["search", "fox", "-k", "1"]);
    assert_eq!(top.results.len(), 1);
}

#[test]
fn help_and_version_are_plain_text_with_exit_zero() {
    let env = TestEnv::new();
    let out = env.cmd().arg("--version").output_retrying();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("sqlite-graphrag "));
    assert!(env.cmd().arg("--help").output_retrying().status.success());
}

/// Metadata numbers of any size come back digit for digit, in `read` and
/// in `export`, instead of being rounded to a float.
#[test]
fn metadata_numbers_are_kept_exactly() {
    let env = TestEnv::new();
    let metadata =
        r#"{"id":123456789012345678901234567890,"ratio":0.10,"small":-18446744073709551617}"#;
    env.ok(&[
        "remember",
        "--name",
        "n",
        "--body",
        "b",
        "--metadata",
        metadata,
    ]);
    let read = env.cmd().args(["read", "n"]).output_retrying();
    let text = String::from_utf8(read.stdout).unwrap();
    assert!(
        text.contains(&format!(r#""metadata":{metadata}"#)),
        "{text}"
    );
    let export = env.cmd().arg("export").output_retrying();
    let text = String::from_utf8(export.stdout).unwrap();
    assert!(
        text.contains(&format!(r#""metadata":{metadata}"#)),
        "{text}"
    );
}

#[cfg(not(unix))]
skipped_here!(
    tests_run_the_binary_in_a_clean_environment,
    "needs env(1) to print the environment the binary passes on"
);

/// The tests are hermetic: nothing from the environment of `cargo test`
/// (a user's XDG_CONFIG_HOME with its config file, SQLITE_GRAPHRAG_*, …)
/// reaches the binary. `slots exec -- env` shows what the binary got.
#[cfg(unix)]
#[test]
fn tests_run_the_binary_in_a_clean_environment() {
    let env = TestEnv::new();
    let runtime = env.dir.path().join("run");
    let out = env
        .cmd()
        .arg("--runtime-dir")
        .arg(&runtime)
        .args(["slots", "exec", "--max", "1", "--", "env"])
        .output_retrying();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = String::from_utf8(out.stdout).unwrap();
    let set_by_the_test = [
        "PATH",
        "HOME",
        "APPDATA",
        "LOCALAPPDATA",
        "TMPDIR",
        "TEMP",
        "TMP",
    ];
    let leaked: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| !set_by_the_test.contains(&name.as_str()))
        .filter(|name| {
            seen.lines()
                .any(|line| line.starts_with(&format!("{name}=")))
        })
        .collect();
    assert!(leaked.is_empty(), "leaked into the binary: {leaked:?}");
    let home = format!("HOME={}", env.dir.path().display());
    assert!(seen.lines().any(|line| line == home), "{seen}");
}
