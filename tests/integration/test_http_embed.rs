//! The OpenAI-compatible embedder against an embeddings API served from
//! this test process on 127.0.0.1: the real request and answer JSON,
//! batching, retries as the server asks, and each failure's exit code
//! with nothing stored.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::TestEnv;

/// Dimensions of the server's vectors.
const DIM: usize = 32;

/// How the server answers one request.
#[derive(Clone)]
enum Script {
    /// Vectors of the words of each input.
    Vectors,
    /// This status, extra headers and body.
    Status(u16, &'static str, &'static str),
    /// Vectors of another dimension.
    Dimension(usize),
    /// One vector too few.
    MissingOne,
    /// Vectors, after this long.
    Late(Duration),
}

/// An embeddings API: answers `POST …/embeddings` as scripted (then with
/// vectors), and keeps every request body.
struct Server {
    base: String,
    script: Arc<Mutex<VecDeque<Script>>>,
    requests: Arc<Mutex<Vec<Value>>>,
}

/// The vector of `text`: each word lights one dimension, by its hash.
fn vector(text: &str, dim: usize) -> Vec<f64> {
    let mut v = vec![0.0; dim];
    for word in text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let hash = word.bytes().fold(2_166_136_261u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(16_777_619)
        });
        v[hash as usize % dim] += 1.0;
    }
    v
}

impl Server {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/v1", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (plan, seen) = (Arc::clone(&script), Arc::clone(&requests));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let request: Value = serde_json::from_slice(&body).unwrap();
                seen.lock().unwrap().push(request.clone());
                let next = plan.lock().unwrap().pop_front().unwrap_or(Script::Vectors);
                let inputs: Vec<String> = serde_json::from_value(request["input"].clone()).unwrap();
                let data = |dim: usize, count: usize| -> String {
                    let items: Vec<Value> = inputs
                        .iter()
                        .take(count)
                        .enumerate()
                        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": vector(t, dim)}))
                        .collect();
                    json!({"object": "list", "model": request["model"], "data": items,
                           "usage": {"prompt_tokens": 3, "total_tokens": 3}})
                    .to_string()
                };
                let (status, headers, answer) = match next {
                    Script::Vectors => (200, "", data(DIM, inputs.len())),
                    Script::Status(status, headers, body) => (status, headers, body.to_owned()),
                    Script::Dimension(dim) => (200, "", data(dim, inputs.len())),
                    Script::MissingOne => (200, "", data(DIM, inputs.len() - 1)),
                    Script::Late(delay) => {
                        std::thread::sleep(delay);
                        (200, "", data(DIM, inputs.len()))
                    }
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        Server {
            base,
            script,
            requests,
        }
    }

    fn then(&self, script: Script) -> &Self {
        self.script.lock().unwrap().push_back(script);
        self
    }

    fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }
}

/// The binary in `env`, set to embed through `server` (`extra` added).
fn run(
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
    assert_eq!(code, Some(5), "{out}");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("16 dimensions"),
        "{out}"
    );
    assert_eq!(run(&env, &server, &["read", "b"], &[]).0, Some(3));
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
        .args(["remember", "--name", "m", "--body", "x y"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (out.status.code(), &json["error"]["kind"]),
        (Some(19), &json!("provider_error"))
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
