//! The OpenAI-compatible embedder against an embeddings API served from
//! this test process on 127.0.0.1: the real request and answer JSON,
//! batching, retries as the server asks, and each failure's exit code
//! with nothing stored.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::TestEnv;
use crate::openai_server::{Script, Server};

/// The binary in `env`, set to embed through `server` (`extra` added):
/// its exit code and what it printed.
pub(crate) fn run(
    env: &TestEnv,
    server: &Server,
    args: &[&str],
    extra: &[(&str, &str)],
) -> (Option<i32>, Value) {
    let mut cmd = env.std_cmd();
    cmd.env("SQLITE_GRAPHRAG_EMBEDDER", "openai-compatible")
        .env("SQLITE_GRAPHRAG_EMBED_BASE_URL", &server.base)
        .env("SQLITE_GRAPHRAG_EMBED_MODEL", "test-embed")
        .args(args);
    for (name, value) in extra {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: {e}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

fn remember(env: &TestEnv, server: &Server, name: &str, body: &str) -> (Option<i32>, Value) {
    run(
        env,
        server,
        &["remember", "--name", name, "--body", body],
        &[],
    )
}

#[test]
fn memories_are_embedded_and_recalled_through_the_api() {
    let (env, server) = (TestEnv::new(), Server::start());
    for (name, body) in [
        ("billing", "the billing service stores invoices in postgres"),
        ("deploys", "deploys run on fridays behind a canary"),
        ("oncall", "the pager rotation changes every monday"),
    ] {
        assert_eq!(remember(&env, &server, name, body).0, Some(0));
    }
    let (code, found) = run(&env, &server, &["recall", "invoices postgres"], &[]);
    assert_eq!(code, Some(0), "{found}");
    assert_eq!(found["results"][0]["name"], "billing", "{found}");
    let requests = server.requests();
    assert_eq!(requests.len(), 4, "three memories, one query");
    assert_eq!(
        (&requests[0]["model"], &requests[0]["encoding_format"]),
        (&json!("test-embed"), &json!("float"))
    );
    assert!(requests[0].get("dimensions").is_none());
    let (code, found) = run(&env, &server, &["hybrid-search", "pager monday"], &[]);
    assert_eq!(code, Some(0));
    assert_eq!(found["results"][0]["name"], "oncall", "{found}");
}

#[test]
fn an_import_sends_its_texts_in_batches() {
    let (env, server) = (TestEnv::new(), Server::start());
    let path = env.dir.path().join("lines.jsonl");
    let lines: String = (0..10)
        .map(|i| {
            format!(
                "{}\n",
                json!({"name": format!("n{i}"), "body": format!("note {i} on invoices")})
            )
        })
        .collect();
    std::fs::write(&path, lines).unwrap();
    let (code, report) = run(
        &env,
        &server,
        &["import", path.to_str().unwrap()],
        &[("SQLITE_GRAPHRAG_EMBED_BATCH", "4")],
    );
    assert_eq!(
        (code, &report["imported"]),
        (Some(0), &json!(10)),
        "{report}"
    );
    let sizes: Vec<usize> = server
        .requests()
        .iter()
        .map(|r| r["input"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [4, 4, 2]);
}

#[test]
fn a_busy_api_is_asked_again_after_the_wait_it_asks_for() {
    let (env, server) = (TestEnv::new(), Server::start());
    server
        .then(Script::Status(
            429,
            "Retry-After: 1\r\n",
            r#"{"error":{"message":"slow down","type":"rate_limit_exceeded"}}"#,
        ))
        .then(Script::Status(500, "", r#"{"error":{"message":"oops"}}"#));
    let started = Instant::now();
    assert_eq!(
        remember(&env, &server, "m", "invoices in postgres").0,
        Some(0)
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn each_failure_has_its_exit_code_and_nothing_is_stored() {
    let cases = [
        (
            Script::Status(401, "", r#"{"error":{"message":"Invalid API key"}}"#),
            17,
            "provider_auth",
        ),
        (
            Script::Status(
                429,
                "",
                r#"{"error":{"code":"insufficient_quota","message":"quota"}}"#,
            ),
            18,
            "provider_rate_limited",
        ),
        (
            Script::Status(400, "", r#"{"error":{"message":"input too long"}}"#),
            19,
            "provider_error",
        ),
        (
            Script::Status(200, "", "not json"),
            20,
            "provider_bad_response",
        ),
        (Script::MissingOne, 20, "provider_bad_response"),
    ];
    for (script, code, kind) in cases {
        let (env, server) = (TestEnv::new(), Server::start());
        server.then(script);
        let (got, out) = remember(&env, &server, "m", "invoices in postgres");
        assert_eq!(
            (got, &out["error"]["kind"]),
            (Some(code), &json!(kind)),
            "{out}"
        );
        let (got, out) = run(&env, &server, &["read", "m"], &[]);
        assert_eq!(got, Some(3), "nothing stored: {out}");
    }
}

#[test]
fn vectors_of_another_dimension_are_refused() {
    let (env, server) = (TestEnv::new(), Server::start());
    assert_eq!(
        remember(&env, &server, "a", "invoices in postgres").0,
        Some(0)
    );
    server.then(Script::Dimension(16));
    let (code, out) = remember(&env, &server, "b", "deploys on fridays");
    assert_eq!(code, Some(20), "{out}");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("16 dimensions"),
        "{out}"
    );
    assert_eq!(run(&env, &server, &["read", "b"], &[]).0, Some(3));
    assert_eq!(
        remember(&env, &server, "b", "deploys on fridays").0,
        Some(0),
        "the refused answer was not kept"
    );

    server.then(Script::Dimension(16));
    let (code, out) = run(
        &env,
        &server,
        &["remember", "--name", "c", "--body", "pager on mondays"],
        &[("SQLITE_GRAPHRAG_EMBED_DIMENSIONS", "16")],
    );
    assert_eq!(
        code,
        Some(5),
        "another configured dimension is another space: {out}"
    );
    assert!(
        out["error"]["hint"].as_str().unwrap().contains("reindex"),
        "{out}"
    );
}

#[test]
fn an_api_that_is_not_there_is_19() {
    let env = TestEnv::new();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = env
        .std_cmd()
        .env("SQLITE_GRAPHRAG_EMBEDDER", "openai-compatible")
        .env(
            "SQLITE_GRAPHRAG_EMBED_BASE_URL",
            format!("http://127.0.0.1:{port}/v1"),
        )
        .env("SQLITE_GRAPHRAG_EMBED_MODEL", "m")
        .env("SQLITE_GRAPHRAG_EMBED_RETRIES", "1")
        .args(["remember", "--name", "m", "--body", "x y"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (out.status.code(), &json["error"]["kind"]),
        (Some(19), &json!("provider_error"))
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("trying again").count(),
        1,
        "no answer is asked again, as many times as configured: {stderr}"
    );
}

#[test]
fn an_api_that_answers_too_late_is_a_timeout() {
    let (env, server) = (TestEnv::new(), Server::start());
    server.then(Script::Late(Duration::from_secs(3)));
    let settings = [
        ("SQLITE_GRAPHRAG_EMBED_TIMEOUT", "1"),
        ("SQLITE_GRAPHRAG_EMBED_RETRIES", "0"),
    ];
    let (code, out) = run(
        &env,
        &server,
        &["remember", "--name", "m", "--body", "x y"],
        &settings,
    );
    assert_eq!(
        (code, &out["error"]["kind"]),
        (Some(124), &json!("timeout")),
        "{out}"
    );
    assert_eq!(
        run(&env, &server, &["read", "m"], &[]).0,
        Some(3),
        "nothing stored"
    );
}

#[test]
fn an_ingest_sends_its_files_in_batches() {
    let (env, server) = (TestEnv::new(), Server::start());
    let tree = env.dir.path().join("notes");
    std::fs::create_dir_all(&tree).unwrap();
    for i in 0..6 {
        std::fs::write(
            tree.join(format!("n{i}.md")),
            format!("note {i} on invoices"),
        )
        .unwrap();
    }
    let settings = [("SQLITE_GRAPHRAG_EMBED_BATCH", "64")];
    let mut cmd = env.std_cmd();
    cmd.env("SQLITE_GRAPHRAG_EMBEDDER", "openai-compatible")
        .env("SQLITE_GRAPHRAG_EMBED_BASE_URL", &server.base)
        .env("SQLITE_GRAPHRAG_EMBED_MODEL", "test-embed")
        .envs(settings)
        .args(["ingest", tree.to_str().unwrap()]);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let texts: usize = server
        .requests()
        .iter()
        .map(|r| r["input"].as_array().unwrap().len())
        .sum();
    assert_eq!(texts, 6, "each file once");
    assert!(
        server.requests().len() < 6,
        "not one request per file: {}",
        server.requests().len()
    );
}

#[cfg(unix)]
#[test]
fn requests_wait_for_a_slot_of_the_http_pool_and_none_is_sent_without_one() {
    let (env, server) = (TestEnv::new(), Server::start());
    let holder = crate::common::SlotHolder::hold(|| env.std_cmd(), "http", env.dir.path());
    let (code, refused) = run(
        &env,
        &server,
        &["remember", "--name", "n", "--body", "a note"],
        &[("SQLITE_GRAPHRAG_HTTP_WAIT", "0.3")],
    );
    holder.release();
    assert_eq!(
        (code, &refused["error"]["kind"]),
        (Some(75), &json!("no_slot")),
        "{refused}"
    );
    assert!(
        server.requests().is_empty(),
        "a request went out without a slot"
    );
    assert_eq!(env.rows::<(i64,)>("SELECT count(*) FROM memories"), [(0,)]);
    let (code, stored) = run(
        &env,
        &server,
        &["remember", "--name", "n", "--body", "a note"],
        &[("SQLITE_GRAPHRAG_HTTP_WAIT", "0.3")],
    );
    assert_eq!(code, Some(0), "{stored}");
}

#[test]
fn queries_and_documents_carry_the_model_familys_prefixes_or_input_type() {
    let (env, server) = (TestEnv::new(), Server::start());
    let nomic = [("SQLITE_GRAPHRAG_EMBED_MODEL", "nomic-embed-text")];
    let (code, _) = run(
        &env,
        &server,
        &["remember", "--name", "a", "--body", "invoices"],
        &nomic,
    );
    assert_eq!(code, Some(0));
    assert_eq!(run(&env, &server, &["recall", "bills"], &nomic).0, Some(0));
    let inputs: Vec<Value> = server
        .requests()
        .iter()
        .map(|r| r["input"][0].clone())
        .collect();
    assert_eq!(
        inputs,
        [
            json!("search_document: invoices"),
            json!("search_query: bills")
        ]
    );

    let (env, server) = (TestEnv::new(), Server::start());
    let cohere = [("SQLITE_GRAPHRAG_EMBED_MODEL", "cohere/embed-english-v3.0")];
    run(
        &env,
        &server,
        &["remember", "--name", "a", "--body", "invoices"],
        &cohere,
    );
    run(&env, &server, &["recall", "bills"], &cohere);
    let kinds: Vec<Value> = server
        .requests()
        .iter()
        .map(|r| r["input_type"].clone())
        .collect();
    assert_eq!(kinds, [json!("search_document"), json!("search_query")]);
    assert_eq!(server.requests()[0]["input"][0], "invoices");
}
