//! The `openai-compatible` extraction backend against a chat-completions
//! API served from this test process on 127.0.0.1: `remember --extract`
//! and `enrich` store the graph it replies, the request carries the prompt
//! and the strict schema, and each failure has its exit code with nothing
//! stored.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{TestEnv, wait_until};
use crate::openai_server::{Script, Server};

const BODY: &str = "Our Rust service keeps its data in SQLite.";
const MODEL: &str = "test-chat";

/// The binary in `env`, set to extract through `server` (`extra` added;
/// an empty value removes a variable).
fn run(
    env: &TestEnv,
    server: &Server,
    args: &[&str],
    extra: &[(&str, &str)],
) -> (Option<i32>, String) {
    let mut cmd = env.std_cmd();
    cmd.env("SQLITE_GRAPHRAG_CHAT_BASE_URL", &server.base)
        .env("SQLITE_GRAPHRAG_CHAT_MODEL", MODEL)
        .args(args);
    for (name, value) in extra {
        match value.is_empty() {
            true => cmd.env_remove(name),
            false => cmd.env(name, value),
        };
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !stdout.is_empty() || out.status.code() != Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), stdout)
}

/// Like [`run`], with the output (a result or an error) read as one JSON
/// document.
fn run_json(
    env: &TestEnv,
    server: &Server,
    args: &[&str],
    extra: &[(&str, &str)],
) -> (Option<i32>, Value) {
    let (code, stdout) = run(env, server, args, extra);
    let json =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"));
    (code, json)
}

/// `remember --extract openai-compatible` of memory `name`.
fn remember_extract(env: &TestEnv, server: &Server, name: &str) -> (Option<i32>, Value) {
    run_json(
        env,
        server,
        &[
            "remember",
            "--name",
            name,
            "--body",
            BODY,
            "--update",
            "--extract",
            "openai-compatible",
        ],
        &[],
    )
}

/// `remember` of memory `name`, queued for the chat backend.
fn remember_queued(env: &TestEnv, server: &Server, name: &str) {
    let (code, out) = run_json(
        env,
        server,
        &["remember", "--name", name, "--body", BODY, "--update"],
        &[("SQLITE_GRAPHRAG_EXTRACT", "openai-compatible")],
    );
    assert_eq!(code, Some(0), "{out}");
}

/// `enrich`: its exit code and JSON lines.
fn enrich(env: &TestEnv, server: &Server) -> (Option<i32>, Vec<Value>) {
    let (code, stdout) = run(env, server, &["enrich"], &[]);
    let lines = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (code, lines)
}

/// The (entity, extractor) pairs of the database's mentions.
fn mentions(env: &TestEnv) -> Vec<(String, String)> {
    env.rows(
        "SELECT e.name, m.extractor FROM mentions m JOIN entities e ON e.id = m.entity_id
         WHERE m.extractor != 'builtin' ORDER BY e.key",
    )
}

/// The (state, attempts, backend) of every enrich job.
fn jobs(env: &TestEnv) -> Vec<(String, i64, String)> {
    env.rows("SELECT state, attempts, backend FROM enrich_jobs ORDER BY id")
}

fn chat_mentions() -> Vec<(String, String)> {
    ["Rust", "SQLite"]
        .map(|name| (name.to_owned(), "openai-compatible".to_owned()))
        .to_vec()
}

#[test]
fn remember_extract_stores_the_graph_the_api_replies() {
    let (env, server) = (TestEnv::new(), Server::start());
    let (code, out) = remember_extract(&env, &server, "m");
    assert_eq!(code, Some(0), "{out}");
    let extraction = &out["extraction"];
    assert_eq!(extraction["backend"], "openai-compatible", "{out}");
    assert_eq!(extraction["stored"], true);
    assert_eq!(extraction["attempts"], 1);
    assert_eq!(
        extraction["usage"],
        json!({"prompt_tokens": 321, "completion_tokens": 54})
    );
    assert_eq!(
        extraction["relationships"],
        json!([{"from": "Rust", "to": "SQLite", "relation": "uses", "weight": 0.9, "description": ""}])
    );
    assert_eq!(mentions(&env), chat_mentions());
    let listed = env.ok(&["entities"]).to_string();
    assert!(
        listed.contains("\"SQLite\"") && listed.contains("\"database\""),
        "{listed}"
    );
    assert_eq!(remember_extract(&env, &server, "n").0, Some(0));
    let related = env.ok(&["related", "m"]);
    assert_eq!(related["results"][0]["name"], "n", "{related}");
}

#[test]
fn the_request_carries_the_prompt_and_the_strict_schema() {
    let (env, server) = (TestEnv::new(), Server::start());
    assert_eq!(remember_extract(&env, &server, "m").0, Some(0));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent["model"], MODEL);
    let prompt = sent["messages"][0]["content"].as_str().unwrap();
    assert_eq!(sent["messages"][0]["role"], "user");
    assert!(
        prompt.contains("=== MEMORY ===") && prompt.contains(BODY),
        "{prompt}"
    );
    let format = &sent["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["strict"], true);
    let schema = &format["json_schema"]["schema"];
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["required"], json!(["entities", "relationships"]));
    assert!(sent.get("temperature").is_none(), "{sent}");
    assert!(
        sent.get("provider").is_none(),
        "only for openrouter.ai: {sent}"
    );
}

#[test]
fn enrich_drains_the_jobs_of_the_chat_backend() {
    let (env, server) = (TestEnv::new(), Server::start());
    remember_queued(&env, &server, "a");
    remember_queued(&env, &server, "b");
    assert!(server.requests().is_empty(), "writes only queue");
    assert_eq!(jobs(&env).len(), 2);
    let (code, lines) = enrich(&env, &server);
    assert_eq!(code, Some(0), "{lines:?}");
    let stored: Vec<&Value> = lines.iter().filter(|l| l["event"] == "stored").collect();
    assert_eq!(stored.len(), 2, "{lines:?}");
    assert_eq!(stored[0]["backend"], "openai-compatible");
    assert_eq!(
        stored[0]["extraction"]["usage"]["completion_tokens"], 54,
        "{lines:?}"
    );
    assert_eq!(server.requests().len(), 2);
    let status = env.ok(&["enrich", "status"]);
    assert_eq!(
        (&status["done"], &status["queued"]),
        (&json!(2), &json!(0)),
        "{status}"
    );
    let by_chat = mentions(&env)
        .iter()
        .filter(|(_, by)| by == "openai-compatible")
        .count();
    assert_eq!(by_chat, 4, "two entities of each memory");
}

#[test]
fn a_refused_key_exits_17_with_the_job_released_and_nothing_stored() {
    let (env, server) = (TestEnv::new(), Server::start());
    let unauthorized = r#"{"error":{"message":"No auth credentials found","code":401}}"#;
    server.then(Script::Status(401, "", unauthorized));
    let (code, out) = remember_extract(&env, &server, "m");
    assert_eq!(code, Some(17), "{out}");
    assert_eq!(out["error"]["kind"], "provider_auth", "{out}");
    let hint = out["error"]["hint"].as_str().unwrap();
    assert!(hint.contains("SQLITE_GRAPHRAG_CHAT_API_KEY"), "{out}");
    assert!(mentions(&env).is_empty());

    remember_queued(&env, &server, "q");
    server.then(Script::Status(401, "", unauthorized));
    let (code, lines) = enrich(&env, &server);
    assert_eq!(code, Some(17), "{lines:?}");
    assert_eq!(lines[0]["event"], "released", "{lines:?}");
    assert_eq!(
        jobs(&env),
        [("queued".to_owned(), 0, "openai-compatible".to_owned())],
        "not failed, its attempt not counted"
    );
    assert!(mentions(&env).is_empty());
}

#[test]
fn a_rate_limit_is_waited_out_as_the_server_asks() {
    let (env, server) = (TestEnv::new(), Server::start());
    server.then(Script::Status(
        429,
        "Retry-After: 1\r\n",
        r#"{"error":{"message":"Rate limit exceeded","code":429}}"#,
    ));
    let (code, out) = remember_extract(&env, &server, "m");
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out["extraction"]["attempts"], 1, "one reply, read once");
    assert_eq!(server.requests().len(), 2);
    assert_eq!(mentions(&env), chat_mentions());
}

#[test]
fn a_refusal_exits_16_without_asking_again_and_enrich_fails_its_job() {
    let (env, server) = (TestEnv::new(), Server::start());
    server.then(Script::Refusal("I can't help with that."));
    let (code, out) = remember_extract(&env, &server, "m");
    assert_eq!(code, Some(16), "{out}");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{out}"
    );
    assert_eq!(server.requests().len(), 1);
    assert!(mentions(&env).is_empty());

    remember_queued(&env, &server, "q");
    server.then(Script::Refusal("No."));
    let (code, lines) = enrich(&env, &server);
    assert_eq!(code, Some(12), "{lines:?}");
    assert_eq!(lines[0]["event"], "failed", "{lines:?}");
    let retried = env.ok(&["enrich", "retry", "--failed"]);
    assert_eq!(retried["requeued"], 1);
    let (code, lines) = enrich(&env, &server);
    assert_eq!(code, Some(0), "{lines:?}");
    assert_eq!(lines[0]["event"], "stored", "{lines:?}");
    assert_eq!(env.ok(&["enrich", "status"])["done"], 1);
}

#[test]
fn a_reply_cut_short_or_of_another_shape_is_asked_for_again() {
    let (env, server) = (TestEnv::new(), Server::start());
    server.then(Script::Cut);
    let (code, out) = remember_extract(&env, &server, "m");
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out["extraction"]["attempts"], 2, "{out}");
    assert_eq!(mentions(&env), chat_mentions());

    let other = TestEnv::new();
    for _ in 0..3 {
        server.then(Script::Reply(json!({"entities": "Rust"})));
    }
    let (code, out) = remember_extract(&other, &server, "m");
    assert_eq!(code, Some(16), "{out}");
    assert_eq!(server.requests().len(), 2 + 3, "three attempts in all");
    assert!(mentions(&other).is_empty());
}

#[test]
fn an_error_in_a_200_answer_is_a_provider_error() {
    let (env, server) = (TestEnv::new(), Server::start());
    let failed = r#"{"id":"gen-1","error":{"code":502,"message":"Upstream provider failed"}}"#;
    server.then(Script::Status(200, "", failed));
    let (code, out) = remember_extract(&env, &server, "m");
    assert_eq!(code, Some(19), "{out}");
    assert!(mentions(&env).is_empty());

    remember_queued(&env, &server, "q");
    server.then(Script::Status(200, "", failed));
    let (code, lines) = enrich(&env, &server);
    assert_eq!(code, Some(0), "{lines:?}");
    assert_eq!(lines[0]["event"], "deferred", "{lines:?}");
    assert_eq!(lines[0]["error"]["kind"], "provider_error");
    assert_eq!(
        jobs(&env),
        [("queued".to_owned(), 1, "openai-compatible".to_owned())],
        "the attempt counts, and the job waits"
    );
}

#[test]
fn a_missing_model_exits_5_before_anything_is_written() {
    let (env, server) = (TestEnv::new(), Server::start());
    let no_model = [("SQLITE_GRAPHRAG_CHAT_MODEL", "")];
    let args = [
        "remember",
        "--name",
        "m",
        "--body",
        BODY,
        "--extract",
        "openai-compatible",
    ];
    let (code, out) = run_json(&env, &server, &args, &no_model);
    assert_eq!(code, Some(5), "{out}");
    assert!(
        out["error"]["message"].as_str().unwrap().contains("model"),
        "{out}"
    );
    assert!(!env.db.exists(), "no database was created");
    assert!(server.requests().is_empty());

    remember_queued(&env, &server, "q");
    let (code, stdout) = run(&env, &server, &["enrich"], &no_model);
    assert_eq!(code, Some(5), "{stdout}");
    assert_eq!(
        jobs(&env),
        [("queued".to_owned(), 0, "openai-compatible".to_owned())]
    );
    assert!(server.requests().is_empty());
}

#[test]
fn an_export_carries_the_chat_extraction_and_an_import_restores_it() {
    let (env, server) = (TestEnv::new(), Server::start());
    assert_eq!(remember_extract(&env, &server, "m").0, Some(0));
    let exported = env.export_all();
    let line: Value = serde_json::from_str(exported.lines().next().unwrap()).unwrap();
    let carried = &line["extracted"]["openai-compatible"];
    assert_eq!(carried["entities"][1]["name"], "SQLite", "{line}");
    assert_eq!(carried["relationships"][0]["weight"], 0.9, "{line}");
    let copy = TestEnv::new();
    let report = copy.import_report(&[], exported.clone());
    assert_eq!(report.failed, 0);
    assert_eq!(copy.export_all(), exported, "the round trip is exact");
    assert_eq!(mentions(&copy), chat_mentions());
}

/// The binary in `env` with `args`, set to extract through `server`,
/// started in the background.
fn spawn(env: &TestEnv, server: &Server, args: &[&str]) -> std::process::Child {
    env.std_cmd()
        .env("SQLITE_GRAPHRAG_CHAT_BASE_URL", &server.base)
        .env("SQLITE_GRAPHRAG_CHAT_MODEL", MODEL)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_request_holds_a_slot_of_the_llm_pool_and_no_write_lock() {
    let (env, server) = (TestEnv::new(), Server::start());
    server.then(Script::Late(Duration::from_secs(5)));
    let mut extracting = spawn(
        &env,
        &server,
        &[
            "remember",
            "--name",
            "m",
            "--body",
            BODY,
            "--extract",
            "openai-compatible",
        ],
    );
    wait_until(60, "the request to arrive", || server.requests().len() == 1);
    let pool = env.ok(&["slots", "status", "--pool", "llm"]);
    assert_eq!(pool["held"], 1, "{pool}");
    assert_eq!(
        env.remember("other", "written meanwhile")["action"],
        "created"
    );
    assert!(
        extracting.try_wait().unwrap().is_none(),
        "the write did not wait for the extraction"
    );
    let out = extracting.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(mentions(&env), chat_mentions());
    assert_eq!(env.ok(&["slots", "status", "--pool", "llm"])["held"], 0);
}

#[cfg(unix)]
#[test]
fn a_signal_stops_the_wait_for_an_answer_and_puts_the_job_back_uncounted() {
    let (env, server) = (TestEnv::new(), Server::start());
    remember_queued(&env, &server, "q");
    server.then(Script::Late(Duration::from_secs(60)));
    let worker = spawn(&env, &server, &["enrich"]);
    wait_until(60, "the request to arrive", || server.requests().len() == 1);
    let pid = rustix::process::Pid::from_raw(i32::try_from(worker.id()).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let out = worker.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    let first: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(
        (&first["event"], &first["error"]["kind"]),
        (&json!("released"), &json!("interrupted")),
        "{stdout}"
    );
    assert_eq!(
        jobs(&env),
        [("queued".to_owned(), 0, "openai-compatible".to_owned())]
    );
}
