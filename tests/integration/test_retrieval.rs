//! `recall`, `hybrid-search` and `reindex`: meaning, filters, chunks, one space.

use serde_json::{Value, json};

use crate::common::{StartRetrying, TestEnv};

fn names(out: &Value) -> Vec<String> {
    out["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

fn seeded() -> TestEnv {
    let env = TestEnv::new();
    let lines = [
        json!({"name": "cat", "type": "fact", "body": "Our cat Miso sleeps all afternoon on the warm windowsill.", "created_at": "2024-01-10T09:00:00Z"}),
        json!({"name": "taxes", "type": "todo", "body": "File the quarterly VAT return before the end of April.", "created_at": "2024-03-01T09:00:00Z"}),
        json!({"name": "db", "type": "decision", "body": "We store agent memories in SQLite with WAL journaling.", "created_at": "2024-05-20T09:00:00Z"}),
        json!({"name": "deploy", "type": "fact", "body": "Deploys go out every Tuesday after the staging checks pass.", "created_at": "2024-07-04T09:00:00Z"}),
    ];
    let jsonl: String = lines.iter().map(|l| format!("{l}\n")).collect();
    env.ok_stdin(&["import", "-"], jsonl);
    env
}

#[test]
fn recall_finds_by_meaning_without_shared_words() {
    let env = seeded();
    let out = env.ok(&["recall", "a kitten napping in the sun", "-k", "2"]);
    assert_eq!(names(&out)[0], "cat", "{out}");
    let first = &out["results"][0];
    assert_eq!(first["match"]["vector_rank"], 1);
    assert!(first["score"].as_f64().unwrap() > 0.0);
    assert!(first["snippet"].as_str().unwrap().contains("Miso"));
    assert_eq!(
        names(&env.ok(&["recall", "paying tax to the government"]))[0],
        "taxes"
    );
    assert_eq!(
        names(&env.ok(&["recall", "which database engine do we use"]))[0],
        "db"
    );
}

#[test]
fn hybrid_search_fuses_words_and_meaning() {
    let env = seeded();
    let out = env.ok(&[
        "hybrid-search",
        "when do we deploy to production",
        "-k",
        "3",
    ]);
    assert_eq!(names(&out)[0], "deploy", "{out}");
    let matched = &out["results"][0]["match"];
    assert_eq!(matched["fts_rank"], 1);
    assert!(matched["vector_rank"].as_u64().is_some());
    assert!(matched["fts_score"].as_f64().is_some() && matched["vector_score"].as_f64().is_some());
    let meaning_only = env.ok(&["hybrid-search", "kitten"]);
    assert_eq!(names(&meaning_only)[0], "cat");
    assert_eq!(meaning_only["results"][0]["match"]["fts_rank"], Value::Null);
    assert_eq!(
        env.fails(&["hybrid-search", "   "], 5)["kind"],
        "invalid_input"
    );
}

#[test]
fn filters_narrow_both_searches() {
    let env = seeded();
    for verb in ["recall", "hybrid-search"] {
        let facts = env.ok(&[verb, "sleeping pets and deploys", "--type", "fact"]);
        let mut got = names(&facts);
        got.sort();
        assert_eq!(got, ["cat", "deploy"], "{verb}");
        let spring = env.ok(&[
            verb,
            "memories",
            "--since",
            "2024-02-01",
            "--until",
            "2024-06-01",
        ]);
        let mut got = names(&spring);
        got.sort();
        assert_eq!(got, ["db", "taxes"], "{verb}");
        env.fails(&[verb, "x", "--since", "last week"], 5);
    }
    let mut words = names(&env.ok(&["search", "sleeping deploys", "--type", "fact"]));
    words.sort();
    assert_eq!(words, ["cat", "deploy"]);
    let spring = env.ok(&[
        "search",
        "memories VAT",
        "--since",
        "2024-02-01",
        "--until",
        "2024-06-01",
    ]);
    let mut words = names(&spring);
    words.sort();
    assert_eq!(words, ["db", "taxes"]);
    assert_eq!(spring["results"][0]["match"]["fts_rank"], 1);
    env.ok(&[
        "--namespace",
        "other",
        "remember",
        "--name",
        "dog",
        "--body",
        "The dog barks at the mail carrier.",
    ]);
    assert!(!names(&env.ok(&["recall", "a barking puppy"])).contains(&"dog".to_owned()));
    assert_eq!(
        names(&env.ok(&["recall", "a barking puppy", "--all-namespaces"]))[0],
        "dog"
    );
    assert_eq!(
        env.ok(&["recall", "x", "--namespace", "nowhere"])["results"],
        serde_json::json!([])
    );
}

#[test]
fn vectors_follow_edits_forgets_and_restores() {
    let env = seeded();
    env.ok(&[
        "edit",
        "taxes",
        "--body",
        "Buy a scratching post for the cat.",
    ]);
    let after_edit = env.ok(&["hybrid-search", "quarterly VAT return", "-k", "4"]);
    assert!(
        !names(&after_edit).starts_with(&["taxes".to_owned()]),
        "{after_edit}"
    );
    assert_eq!(
        names(&env.ok(&["recall", "a scratching post", "-k", "1"]))[0],
        "taxes"
    );
    env.ok(&["forget", "cat"]);
    assert!(!names(&env.ok(&["recall", "kitten", "-k", "10"])).contains(&"cat".to_owned()));
    env.ok(&["restore", "cat"]);
    assert_eq!(
        names(&env.ok(&["recall", "a kitten napping", "-k", "1"]))[0],
        "cat"
    );
    env.ok(&["edit", "cat", "--metadata", r#"{"k":1}"#]);
    assert_eq!(
        names(&env.ok(&["recall", "a kitten napping", "-k", "1"]))[0],
        "cat"
    );
}

#[test]
fn memories_waiting_for_vectors_are_embedded_by_the_next_search() {
    let env = seeded();
    env.tamper(
        "DELETE FROM chunks; INSERT INTO vector_backlog (memory_id) SELECT id FROM memories",
    );
    assert_eq!(
        names(&env.ok(&["recall", "a kitten napping in the sun", "-k", "1"])),
        ["cat"]
    );
    assert_eq!(
        names(&env.ok(&["recall", "paying tax to the government", "-k", "1"])),
        ["taxes"]
    );
}

#[test]
fn long_bodies_are_found_by_their_best_chunk() {
    let env = TestEnv::new();
    let filler: String = (0..400)
        .map(|i| format!("Item {i} of the warehouse inventory list. "))
        .collect();
    let body =
        format!("{filler}Finally, the submarine surfaced near the arctic ice shelf at dawn.");
    env.ok(&["remember", "--name", "long", "--body", &body]);
    env.remember("short", "A note about groceries: milk, bread and eggs.");
    let out = env.ok(&[
        "recall",
        "a submarine coming up through polar ice",
        "-k",
        "1",
    ]);
    assert_eq!(names(&out), ["long"]);
    assert!(
        out["results"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("submarine"),
        "{out}"
    );
}

#[test]
fn one_embedding_space_per_database() {
    let env = seeded();
    env.tamper("UPDATE embedding_space SET model = 'other-model', dim = 3");
    let err = env.fails(&["recall", "kitten"], 5);
    assert!(
        err["message"].as_str().unwrap().contains("other-model"),
        "{err}"
    );
    assert!(err["hint"].as_str().unwrap().contains("reindex"));
    env.fails(&["remember", "--name", "new", "--body", "x"], 5);
    let report = env.ok(&["reindex"]);
    assert_eq!(report["previous_space"]["model"], "other-model");
    assert_eq!(report["space"]["dim"], 384);
    assert_eq!(report["memories"], 4);
    assert_eq!(
        names(&env.ok(&["recall", "a kitten napping", "-k", "1"]))[0],
        "cat"
    );
}

#[test]
fn reindex_works_in_batches_and_resumes_after_an_interruption() {
    let env = TestEnv::new();
    let jsonl: String = (0..600)
        .map(|i| format!("{}\n", json!({"name": format!("m{i}"), "body": format!("note number {i} about the garden")})))
        .collect();
    env.ok_stdin(&["import", "-"], jsonl);
    let output = env
        .cmd()
        .args(["--progress", "always", "reindex"])
        .output_retrying();
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["memories"], 600, "{report}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let progress: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("reindex "))
        .collect();
    assert!(
        progress.last().is_some_and(|l| l.contains("600/600 100%")),
        "a progress line ends the run: {stderr}"
    );

    // An interrupted reindex leaves the memories it had not reached listed.
    env.tamper(
        "DELETE FROM chunks WHERE memory_id > 550;
         INSERT INTO vector_backlog (memory_id) SELECT id FROM memories WHERE id > 550;",
    );
    let resumed = env.ok(&["reindex"]);
    assert_eq!(resumed["memories"], 50, "{resumed}");
    assert_eq!(resumed["previous_space"], resumed["space"]);
    assert_eq!(env.ok(&["reindex"])["memories"], 600);
    assert_eq!(
        names(&env.ok(&["recall", "note number 599 about the garden", "-k", "1"])),
        ["m599"]
    );
}

#[test]
fn a_query_without_words_is_invalid_for_every_search() {
    let env = seeded();
    for verb in ["search", "recall", "hybrid-search"] {
        for query in ["", "   ", "?! … --"] {
            let err = env.fails(&[verb, query], 5);
            assert_eq!(err["kind"], "invalid_input", "{verb} {query:?}: {err}");
        }
        assert_eq!(
            env.fails(&[verb, "", "--namespace", "nowhere"], 5)["kind"],
            "invalid_input"
        );
    }
}

#[test]
fn a_query_of_unknown_words_finds_nothing_without_failing() {
    let env = seeded();
    for verb in ["search", "recall", "hybrid-search"] {
        let found = env.ok(&[verb, "สวัสดี ①"]);
        assert_eq!(found["results"], serde_json::json!([]), "{verb}");
    }
}

#[test]
fn word_search_keeps_to_its_namespace_alone_or_among_others() {
    let env = seeded();
    let in_namespace = |namespace: &str, query: &str| {
        let mut got = names(&env.ok(&["--namespace", namespace, "search", query]));
        got.sort();
        got
    };
    // The only namespace: every match is in it.
    assert_eq!(in_namespace("global", "cat deploys"), ["cat", "deploy"]);
    for (name, body) in [
        ("cat-too", "Another cat sleeps on the windowsill."),
        ("deploy-too", "Deploys of this team go out on Fridays."),
    ] {
        env.ok(&[
            "--namespace",
            "other",
            "remember",
            "--name",
            name,
            "--body",
            body,
        ]);
    }
    assert_eq!(in_namespace("global", "cat deploys"), ["cat", "deploy"]);
    assert_eq!(
        in_namespace("other", "cat deploys"),
        ["cat-too", "deploy-too"]
    );
    let mut everywhere = names(&env.ok(&["search", "cat deploys", "--all-namespaces"]));
    everywhere.sort();
    assert_eq!(everywhere, ["cat", "cat-too", "deploy", "deploy-too"]);
}
