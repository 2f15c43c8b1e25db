//! The verbs of one memory's lifecycle, and the JSON each prints.

use serde_json::json;

use crate::common::{StartRetrying, TestEnv, bare_cmd};

#[test]
fn init_creates_then_reports_the_schema() {
    let env = TestEnv::new();
    let first = env.ok(&["init"]);
    assert_eq!(first["created"], json!(true));
    assert!(first["schema_version"].as_u64().unwrap() >= 1);
    assert_eq!(first["schema_version"], first["latest_schema_version"]);
    assert_eq!(env.ok(&["init"])["created"], json!(false));
}

#[test]
fn remember_read_list_and_versions() {
    let env = TestEnv::new();
    let created = env.ok(&[
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
    assert_eq!(created["action"], "created");
    assert_eq!(created["version"], 1);
    assert_eq!(created["namespace"], "global");
    assert_eq!(created["name"], "auth-decision");
    assert!(created["memory_id"].as_i64().unwrap() > 0);

    let memory = env.ok(&["read", "auth-decision"]);
    assert_eq!(memory["body"], "We use OAuth device flow.");
    assert_eq!(memory["type"], "decision");
    assert_eq!(memory["description"], "how we log in");
    assert_eq!(memory["metadata"], json!({"n": 2, "source": "meeting"}));
    assert_eq!(memory["deleted_at"], json!(null));
    assert!(memory["created_at"].as_str().unwrap().ends_with('Z'));

    let unchanged = env.ok(&[
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
        (unchanged["action"].clone(), unchanged["version"].clone()),
        (json!("unchanged"), json!(1))
    );

    let edited = env.ok(&["edit", "auth-decision", "--body", "We use OAuth PKCE."]);
    assert_eq!(
        (edited["action"].clone(), edited["version"].clone()),
        (json!("updated"), json!(2))
    );
    assert_eq!(
        env.ok(&["read", "auth-decision"])["description"],
        "how we log in"
    );

    env.remember("second", "another memory");
    let list = env.ok(&["list"]);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["second", "auth-decision"]);
    assert!(
        list["items"][0].get("body").is_none(),
        "list leaves bodies out"
    );
    assert_eq!(
        env.ok(&["list", "--type", "decision"])["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        env.ok(&["list", "--limit", "1", "--offset", "1"])["items"][0]["name"],
        "auth-decision"
    );
}

#[test]
fn rename_forget_restore_purge() {
    let env = TestEnv::new();
    env.remember("draft", "first text");
    env.ok(&["edit", "draft", "--body", "second text"]);
    let renamed = env.ok(&["rename", "draft", "final"]);
    assert_eq!(
        (renamed["action"].clone(), renamed["version"].clone()),
        (json!("renamed"), json!(3))
    );
    env.fails(&["read", "draft"], 3);

    let forgotten = env.ok(&["forget", "final"]);
    assert_eq!(forgotten["action"], "forgotten");
    assert_eq!(env.ok(&["forget", "final"])["action"], "unchanged");
    let err = env.fails(&["read", "final"], 3);
    assert!(err["hint"].as_str().unwrap().contains("restore"), "{err}");
    assert_eq!(env.ok(&["list"])["items"], json!([]));
    assert_eq!(
        env.ok(&["list", "--include-deleted"])["items"][0]["name"],
        "final"
    );

    let restored = env.ok(&["restore", "final", "--version", "1"]);
    assert_eq!(
        (restored["action"].clone(), restored["version"].clone()),
        (json!("restored"), json!(5))
    );
    assert_eq!(env.ok(&["read", "final"])["body"], "first text");

    let history = env.ok(&["history", "final"]);
    let actions: Vec<&str> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["created", "updated", "renamed", "forgotten", "restored"]
    );
    assert_eq!(history["versions"][0]["name"], "draft");
    assert_eq!(history["versions"][3]["deleted"], json!(true));

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
    let err = env.fails(&["remember", "--name", "m", "--body", "two"], 4);
    assert!(err["hint"].as_str().unwrap().contains("restore"));
    let revived = env.ok(&["remember", "--name", "m", "--body", "two", "--update"]);
    assert_eq!(revived["action"], "updated");
    assert_eq!(env.ok(&["read", "m"])["body"], "two");
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
    let a = env.ok(&["read", "from-file"]);
    let b = env.ok(&["read", "from-stdin"]);
    assert_eq!(a["body"], "naïve café — 東京 🙂\n");
    assert_eq!(a["body"], b["body"]);
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
    assert_eq!(
        env.ok(&["read", "same", "--namespace", "team-a"])["body"],
        "in team a"
    );
    assert_eq!(env.ok(&["read", "same"])["body"], "in global");
    let namespaces = env.ok(&["namespaces"]);
    assert_eq!(
        namespaces["namespaces"],
        json!([
            {"namespace": "global", "memories": 1, "forgotten": 0, "versions": 1},
            {"namespace": "team-a", "memories": 1, "forgotten": 0, "versions": 1}
        ])
    );
    let stats = env.ok(&["stats"]);
    assert_eq!(stats["memories"], 2);
    assert!(stats["db_size_bytes"].as_u64().unwrap() > 0);
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
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
    assert_eq!(json["db"], expected.display().to_string());
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
    let out = env.ok(&["search", "jumping foxes"]);
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["name"], "fox");
    assert!(results[0]["score"].as_f64().unwrap() > 0.0);
    assert!(results[0]["snippet"].as_str().unwrap().contains("jumps"));
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
        env.ok(&["search", hostile]);
    }
    assert_eq!(env.fails(&["search", "*** ()"], 5)["kind"], "invalid_input");
    assert_eq!(
        env.ok(&["search", "fox", "-k", "1"])["results"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
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
