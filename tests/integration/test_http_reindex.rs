//! Moving a database between the built-in model and an HTTP embedder with
//! `reindex`: searches keep working at every step, an interrupted move
//! leaves the old vectors serving and carries on where it stopped, and
//! the embedding cache means a text is never sent twice.

use serde_json::Value;

use crate::common::TestEnv;
use crate::openai_server::{Script, Server};
use crate::test_http_embed::run;

/// The memories of these tests: a name each, and a body whose words the
/// server's vectors tell apart.
const NOTES: [(&str, &str); 4] = [
    ("billing", "the billing service stores invoices in postgres"),
    ("deploys", "deploys run on fridays behind a canary"),
    ("oncall", "the pager rotation changes every monday"),
    ("backups", "nightly backups go to an encrypted bucket"),
];

fn seeded() -> TestEnv {
    let env = TestEnv::new();
    for (name, body) in NOTES {
        env.remember(name, body);
    }
    env
}

/// The name of the best hit of `found`.
fn best(found: &Value) -> &str {
    found["results"][0]["name"].as_str().unwrap_or_default()
}

/// Texts sent to the embeddings API so far.
fn texts_sent(server: &Server) -> usize {
    server
        .requests()
        .iter()
        .map(|r| r["input"].as_array().map_or(0, Vec::len))
        .sum()
}

#[test]
fn reindex_moves_to_the_api_and_back_and_search_works_at_every_step() {
    let (env, server) = (seeded(), Server::start());
    assert_eq!(best(&env.ok(&["recall", "invoices postgres"])), "billing");
    for args in [
        &["remember", "--name", "x", "--body", "a note"][..],
        &["recall", "invoices"],
    ] {
        let (code, refused) = run(&env, &server, args, &[]);
        assert_eq!(code, Some(5), "{refused}");
        assert!(
            refused["error"]["hint"]
                .as_str()
                .unwrap()
                .contains("reindex")
        );
    }
    assert!(
        server.requests().is_empty(),
        "no text is sent to be refused"
    );

    let (code, moved) = run(&env, &server, &["reindex"], &[]);
    assert_eq!(code, Some(0), "{moved}");
    assert_eq!(moved["moved"], true);
    assert_eq!(moved["memories"], 4);
    assert_eq!(moved["space"]["model"], "openai-compatible:test-embed");
    let (code, found) = run(&env, &server, &["recall", "invoices postgres"], &[]);
    assert_eq!((code, best(&found)), (Some(0), "billing"), "{found}");
    let (code, found) = run(&env, &server, &["hybrid-search", "pager monday"], &[]);
    assert_eq!((code, best(&found)), (Some(0), "oncall"), "{found}");
    let refused = env.error(&["recall", "invoices"], 5);
    assert!(
        refused.message.contains("openai-compatible:test-embed"),
        "{refused:?}"
    );

    let back = env.ok(&["reindex"]);
    assert_eq!(back["moved"], true);
    assert_eq!(
        back["previous_space"]["model"],
        "openai-compatible:test-embed"
    );
    assert_eq!(best(&env.ok(&["recall", "pager monday"])), "oncall");
    assert_eq!(env.ok(&["health"])["ok"], true);
}

#[test]
fn an_interrupted_move_leaves_the_old_vectors_serving_and_carries_on() {
    let (env, server) = (seeded(), Server::start());
    server.then(Script::Status(400, "", r#"{"error":{"message":"no"}}"#));
    let (code, failed) = run(
        &env,
        &server,
        &["reindex"],
        &[("SQLITE_GRAPHRAG_EMBED_BATCH", "2")],
    );
    assert_eq!(code, Some(19), "{failed}");
    let stats = env.ok(&["stats"]);
    assert_eq!(
        stats["reindex_under_way"]["model"],
        "openai-compatible:test-embed"
    );
    assert_eq!(stats["reindex_under_way"]["waiting"], 4);
    assert_eq!(best(&env.ok(&["recall", "canary fridays"])), "deploys");

    env.remember("runbook", "the runbook says restart the canary first");
    let (code, done) = run(&env, &server, &["reindex"], &[]);
    assert_eq!(code, Some(0), "{done}");
    assert_eq!(
        (&done["moved"], &done["resumed"]),
        (&true.into(), &true.into())
    );
    assert_eq!(done["memories"], 5);
    assert!(env.ok(&["stats"]).get("reindex_under_way").is_none());
    let (code, found) = run(
        &env,
        &server,
        &["recall", "the runbook says restart the canary first"],
        &[],
    );
    assert_eq!((code, best(&found)), (Some(0), "runbook"), "{found}");
    let chunks: Vec<(i64,)> = env.rows("SELECT count(*) FROM chunks");
    let live: Vec<(i64,)> = env.rows("SELECT count(*) FROM memories WHERE deleted_at IS NULL");
    assert_eq!(chunks, live);
}

#[test]
fn a_memory_written_during_a_move_gets_vectors_of_the_new_space() {
    let (env, server) = (seeded(), Server::start());
    server.then(Script::Status(400, "", r#"{"error":{"message":"no"}}"#));
    assert_eq!(run(&env, &server, &["reindex"], &[]).0, Some(19));
    env.ok(&["edit", "billing", "--body", "the ledger lives in sqlite"]);
    env.ok(&["forget", "backups"]);
    assert_eq!(run(&env, &server, &["reindex"], &[]).0, Some(0));
    let (_, found) = run(&env, &server, &["recall", "ledger sqlite"], &[]);
    assert_eq!(best(&found), "billing", "{found}");
    let (_, found) = run(&env, &server, &["recall", "encrypted bucket"], &[]);
    assert!(
        found["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["name"] != "backups"),
        "{found}"
    );
}

#[test]
fn the_cache_sends_no_text_twice_and_purge_prunes_what_no_memory_has() {
    let (env, server) = (seeded(), Server::start());
    assert_eq!(run(&env, &server, &["reindex"], &[]).0, Some(0));
    let sent = texts_sent(&server);
    assert_eq!(sent, 4);
    env.ok(&["reindex"]);
    let (code, again) = run(&env, &server, &["reindex"], &[]);
    assert_eq!((code, &again["moved"]), (Some(0), &true.into()), "{again}");
    assert_eq!(texts_sent(&server), sent, "the move back sent texts again");

    let path = env.dir.path().join("export.jsonl");
    std::fs::write(&path, env.export_all()).unwrap();
    let (code, report) = run(&env, &server, &["import", path.to_str().unwrap()], &[]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(texts_sent(&server), sent, "a re-import sent texts again");

    let stats = env.ok(&["stats"]);
    assert_eq!(stats["embedding_cache"]["vectors"], 4);
    env.ok(&["forget", "oncall"]);
    let purged = env.ok(&["purge", "--yes"]);
    assert_eq!(purged["cache_pruned"], 1);
    assert_eq!(env.ok(&["stats"])["embedding_cache"]["vectors"], 3);
}
