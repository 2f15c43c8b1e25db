//! HTTP embeddings, the embedding cache and moves between spaces under a
//! hostile or unlucky user: a move killed at any moment, other processes
//! writing during a move, two moves at once, bad settings and bad answers,
//! and every way a cached vector could be the wrong one.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{SpawnRetrying, TestEnv, wait_until};
use crate::openai_server::{DIM, Script, Server, vector};

/// The model every HTTP command of these tests asks for.
const MODEL: &str = "test-embed";
/// The space of that model.
const SPACE: &str = "openai-compatible:test-embed";

/// The requests a [`Gate`] holds back, and what it let through.
#[derive(Default)]
struct GateState {
    /// Requests still allowed through before the next is held.
    permits: usize,
    /// Whether every request goes through at once.
    open: bool,
    /// Requests held now, of the current generation.
    held: usize,
    /// Requests answered.
    answered: usize,
    /// Bumped to drop the requests held (of a process that was killed).
    generation: u64,
}

/// An embeddings API that answers a request only once the test lets it:
/// a move can be stopped, deterministically, while it waits for vectors.
/// Its vectors are those of [`vector`], of [`DIM`] dimensions.
struct Gate {
    base: String,
    state: Arc<(Mutex<GateState>, Condvar)>,
}

/// Reads one HTTP request from `reader`: its body as JSON.
fn read_request(reader: &mut impl BufRead) -> Option<Value> {
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// The JSON answer of an embeddings request for `inputs`.
fn vectors_answer(inputs: &[String]) -> String {
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": vector(t, DIM)}))
        .collect();
    json!({"object": "list", "model": MODEL, "data": data}).to_string()
}

impl Gate {
    /// Starts the API on a free port of 127.0.0.1, holding every request.
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/v1", listener.local_addr().unwrap());
        let state = Arc::new((Mutex::new(GateState::default()), Condvar::new()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let Some(request) = read_request(&mut reader) else {
                        return;
                    };
                    let inputs: Vec<String> =
                        serde_json::from_value(request["input"].clone()).unwrap_or_default();
                    if !Gate::pass(&shared) {
                        return;
                    }
                    let answer = vectors_answer(&inputs);
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                });
            }
        });
        Gate { base, state }
    }

    /// Waits until a request may be answered; `false` when it
    /// is dropped instead.
    fn pass(shared: &(Mutex<GateState>, Condvar)) -> bool {
        let (lock, changed) = shared;
        let mut state = lock.lock().unwrap();
        let generation = state.generation;
        state.held += 1;
        changed.notify_all();
        while !state.open && state.permits == 0 && state.generation == generation {
            state = changed.wait(state).unwrap();
        }
        if state.generation != generation {
            return false;
        }
        state.held -= 1;
        state.permits = state.permits.saturating_sub(1);
        state.answered += 1;
        changed.notify_all();
        true
    }

    /// The gate's state, locked.
    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.0.lock().unwrap()
    }

    /// Lets `n` more requests through.
    fn allow(&self, n: usize) {
        self.lock().permits += n;
        self.state.1.notify_all();
    }

    /// Lets every request through from now on.
    fn open(&self) {
        self.lock().open = true;
        self.state.1.notify_all();
    }

    /// Drops the requests held (their process was killed).
    fn drop_held(&self) {
        let mut state = self.lock();
        state.generation += 1;
        state.held = 0;
        state.permits = 0;
        self.state.1.notify_all();
    }

    /// Waits until `answered` requests were answered and one more is held.
    fn wait_held_after(&self, answered: usize) {
        let deadline = Instant::now() + Duration::from_secs(300);
        let (lock, changed) = &*self.state;
        let mut state = lock.lock().unwrap();
        while !(state.answered == answered && state.held > 0) {
            assert!(
                Instant::now() < deadline && state.answered <= answered,
                "waiting for a request held after {answered} answered: {} answered, {} held",
                state.answered,
                state.held
            );
            state = changed
                .wait_timeout(state, Duration::from_millis(100))
                .unwrap()
                .0;
        }
    }

    /// Requests answered so far.
    fn answered(&self) -> usize {
        self.lock().answered
    }
}

/// The binary in `env`, embedding through the API at `base` (`extra` added).
fn http_cmd(env: &TestEnv, base: &str, extra: &[(&str, &str)]) -> Command {
    let mut cmd = env.std_cmd();
    cmd.env("SQLITE_GRAPHRAG_EMBEDDER", "openai-compatible")
        .env("SQLITE_GRAPHRAG_EMBED_BASE_URL", base)
        .env("SQLITE_GRAPHRAG_EMBED_MODEL", MODEL)
        .env("SQLITE_GRAPHRAG_EMBED_TIMEOUT", "900")
        .env("SQLITE_GRAPHRAG_EMBED_RETRIES", "0");
    for (name, value) in extra {
        cmd.env(name, value);
    }
    cmd
}

/// Runs `args` through the API at `base`: the exit code and the JSON it
/// printed on stdout (on stderr when stdout is empty).
fn http(env: &TestEnv, base: &str, args: &[&str], extra: &[(&str, &str)]) -> (Option<i32>, Value) {
    let out = http_cmd(env, base, extra).args(args).output().unwrap();
    let printed = if out.stdout.is_empty() {
        &out.stderr
    } else {
        &out.stdout
    };
    let json = serde_json::from_slice(printed).unwrap_or_else(|e| {
        panic!(
            "{args:?}: {e} ({:?})\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

/// Runs `args` through the API at `base`, asserting success.
fn http_ok(env: &TestEnv, base: &str, args: &[&str]) -> Value {
    let (code, printed) = http(env, base, args, &[]);
    assert_eq!(code, Some(0), "{args:?}: {printed}");
    printed
}

/// Starts `reindex` through the API at `base` in the background.
fn spawn_reindex(env: &TestEnv, base: &str, extra: &[(&str, &str)]) -> Child {
    http_cmd(env, base, extra)
        .arg("reindex")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn_retrying()
}

/// Waits for `child` to end: its exit code and the JSON it printed on
/// stdout (else on stderr).
fn finish(child: Child) -> (Option<i32>, Value) {
    let out = child.wait_with_output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        serde_json::from_slice(&out.stderr).unwrap_or_else(|e| {
            panic!(
                "{e}: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    });
    (out.status.code(), json)
}

/// SIGKILLs `child` and waits for it.
fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The name of memory `i`.
fn name(i: usize) -> String {
    format!("note-{i}")
}

/// The body of memory `i`: made-up words that neither the built-in model
/// nor the test API's vectors confuse with another memory's.
fn body(i: usize) -> String {
    const FIRST: [&str; 10] = ["ka", "lo", "mi", "nu", "pe", "ro", "su", "ti", "va", "zo"];
    const SECOND: [&str; 10] = [
        "bar", "cem", "dil", "fon", "gur", "hax", "jep", "kol", "mun", "pid",
    ];
    let words: Vec<String> = (0..8)
        .map(|j| {
            let k = i * 8 + j;
            format!("{}{}{}", FIRST[k % 10], SECOND[(k / 10) % 10], k / 100)
        })
        .collect();
    words.join(" ")
}

/// JSON lines of memories `0..n`.
fn jsonl(n: usize) -> String {
    (0..n)
        .map(|i| json!({"name": name(i), "body": body(i)}).to_string() + "\n")
        .collect()
}

/// A database of `n` memories with vectors of the built-in model.
fn seeded(n: usize) -> TestEnv {
    let env = TestEnv::new();
    env.ok_stdin(&["import", "-"], jsonl(n));
    env
}

/// One number the database answers.
fn count(env: &TestEnv, sql: &str) -> i64 {
    env.rows::<(i64,)>(sql)[0].0
}

/// Live memories.
fn live(env: &TestEnv) -> i64 {
    count(
        env,
        "SELECT count(*) FROM memories WHERE deleted_at IS NULL",
    )
}

/// The row count of every table of the database, by name.
fn fingerprint(env: &TestEnv) -> Vec<(String, i64)> {
    let tables: Vec<(String,)> = env.rows(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'
         ORDER BY name",
    );
    tables
        .into_iter()
        .map(|(table,)| {
            let n = count(env, &format!("SELECT count(*) FROM \"{table}\""));
            (table, n)
        })
        .collect()
}

/// The names `found` lists, best first.
fn names(found: &Value) -> Vec<String> {
    found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The name of the best hit of `found`.
fn best(found: &Value) -> String {
    names(found).into_iter().next().unwrap_or_default()
}

/// Asserts that every live memory has its chunks in `chunks`, each once,
/// that no other memory has any, and that no move is under way.
fn assert_embedded_once(env: &TestEnv) {
    let live = live(env);
    let memories = count(
        env,
        "SELECT count(DISTINCT memory_id) FROM chunks JOIN memories m ON m.id = memory_id
         WHERE m.deleted_at IS NULL",
    );
    assert_eq!(memories, live, "memories with chunks");
    let stray = count(
        env,
        "SELECT count(*) FROM chunks WHERE memory_id NOT IN
         (SELECT id FROM memories WHERE deleted_at IS NULL)",
    );
    assert_eq!(stray, 0, "chunks of memories not live");
    let gaps = count(
        env,
        "SELECT count(*) FROM (SELECT memory_id FROM chunks GROUP BY memory_id
         HAVING count(*) != max(seq) + 1 OR min(seq) != 0)",
    );
    assert_eq!(gaps, 0, "memories with chunks missing or repeated");
    assert_eq!(count(env, "SELECT count(*) FROM staged_chunks"), 0);
    assert_eq!(count(env, "SELECT count(*) FROM reindex_stage"), 0);
}

/// After a move was killed: the database is healthy, the old vectors
/// still serve the built-in model, and `stats` shows the move.
fn assert_move_under_way(env: &TestEnv, staged: i64, probes: &[usize]) {
    assert_eq!(env.ok(&["health"])["ok"], true);
    let stats = env.ok(&["stats"]);
    assert_eq!(stats["reindex_under_way"]["model"], SPACE, "{stats}");
    assert_eq!(count(env, "SELECT count(*) FROM staged_chunks"), staged);
    for &i in probes {
        let found = env.ok(&["recall", &body(i)]);
        assert_eq!(best(&found), name(i), "{found}");
    }
}

#[test]
fn a_move_killed_at_any_moment_serves_the_old_vectors_and_finishes_once() {
    // 300 memories: one transaction of 256, then one of 44; 64 texts a
    // request, so four requests, a write, and a fifth request. What a
    // killed run was answered is kept in the embedding cache.
    const N: usize = 300;
    let env = seeded(N);
    let gate = Gate::start();
    let batch = [("SQLITE_GRAPHRAG_EMBED_BATCH", "64")];
    let probes = [0, 150, 299];

    // Killed while its first request waits for the API.
    let child = spawn_reindex(&env, &gate.base, &batch);
    gate.wait_held_after(0);
    kill(child);
    gate.drop_held();
    assert_move_under_way(&env, 0, &probes);

    // Killed after two requests of the first transaction were answered.
    let child = spawn_reindex(&env, &gate.base, &batch);
    gate.allow(2);
    gate.wait_held_after(2);
    kill(child);
    gate.drop_held();
    assert_move_under_way(&env, 0, &probes);

    // Killed after the first transaction was written: the two answers
    // already paid for come from the embedding cache, so two requests of
    // the first transaction remain.
    let answered = gate.answered();
    let child = spawn_reindex(&env, &gate.base, &batch);
    gate.allow(2);
    gate.wait_held_after(answered + 2);
    kill(child);
    gate.drop_held();
    assert_move_under_way(&env, 256, &probes);

    // Killed at whatever moment the last answer leads to.
    let answered = gate.answered();
    let child = spawn_reindex(&env, &gate.base, &batch);
    gate.allow(1);
    wait_until(300, "the last request answered", || {
        gate.answered() > answered
    });
    kill(child);
    gate.drop_held();
    assert_eq!(env.ok(&["health"])["ok"], true);

    gate.open();
    let (code, done) = finish(spawn_reindex(&env, &gate.base, &batch));
    assert_eq!(code, Some(0), "{done}");
    assert_eq!(done["space"]["model"], SPACE, "{done}");
    assert_embedded_once(&env);
    assert_eq!(live(&env), N as i64);
    assert_eq!(count(&env, "SELECT count(*) FROM chunks"), N as i64);
    assert!(env.ok(&["stats"]).get("reindex_under_way").is_none());
    assert_eq!(env.ok(&["health"])["ok"], true);

    let fresh = TestEnv::new();
    let mut out = http_cmd(&fresh, &gate.base, &[])
        .args(["import", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn_retrying();
    out.stdin
        .take()
        .unwrap()
        .write_all(jsonl(N).as_bytes())
        .unwrap();
    assert!(out.wait_with_output().unwrap().status.success());
    for i in probes {
        let query = body(i);
        let moved = http_ok(&env, &gate.base, &["recall", &query, "-k", "10"]);
        let direct = http_ok(&fresh, &gate.base, &["recall", &query, "-k", "10"]);
        assert_eq!(names(&moved), names(&direct));
        assert_eq!(best(&moved), name(i));
        let scores = |found: &Value| -> Vec<f64> {
            found["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["score"].as_f64().unwrap())
                .collect()
        };
        for (a, b) in scores(&moved).iter().zip(scores(&direct)) {
            assert!((a - b).abs() < 1e-6, "{a} {b}");
        }
    }
}

#[test]
fn texts_an_interrupted_move_already_sent_are_not_sent_again() {
    let env = seeded(10);
    let server = Server::start();
    server
        .then(Script::Vectors)
        .then(Script::Vectors)
        .then(Script::Status(400, "", r#"{"error":{"message":"no"}}"#));
    let batch = [("SQLITE_GRAPHRAG_EMBED_BATCH", "2")];
    let (code, failed) = http(&env, &server.base, &["reindex"], &batch);
    assert_eq!(code, Some(19), "{failed}");
    let (code, done) = http(&env, &server.base, &["reindex"], &batch);
    assert_eq!(code, Some(0), "{done}");
    let requests = server.requests();
    let answered = requests.iter().enumerate().filter(|(at, _)| *at != 2);
    let sent: Vec<String> = answered
        .flat_map(|(_, r)| r["input"].as_array().unwrap().clone())
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    let mut unique = sent.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(sent.len(), 10, "{sent:?}");
    assert_eq!(
        sent.len(),
        unique.len(),
        "texts answered once were sent again: {sent:?}"
    );
}

#[test]
fn writers_on_the_old_embedder_during_a_move_leave_every_vector_of_its_current_text() {
    const N: usize = 20;
    let env = seeded(N);
    env.ok(&["forget", &name(0)]);
    let gate = Gate::start();
    let child = spawn_reindex(&env, &gate.base, &[("SQLITE_GRAPHRAG_EMBED_BATCH", "4")]);
    gate.wait_held_after(0);

    env.ok(&["edit", &name(1), "--body", "quorum lattice ferrymen"]);
    env.ok(&["forget", &name(2)]);
    env.ok(&["restore", &name(0)]);
    env.remember("late-arrival", "walrus orchestra tangerine");
    env.ok(&["edit", &name(3), "--body", "first rewrite of the third"]);
    gate.allow(2);
    gate.wait_held_after(2);
    env.ok(&["edit", &name(3), "--body", "second rewrite glacier pumpkin"]);
    env.ok(&["edit", &name(4), "--description", "described afterwards"]);
    gate.open();
    let (code, done) = finish(child);
    assert_eq!(code, Some(0), "{done}");
    assert_eq!(done["moved"], true);

    assert_embedded_once(&env);
    let memories: Vec<(String, String, String)> =
        env.rows("SELECT name, description, body FROM memories WHERE deleted_at IS NULL");
    assert_eq!(memories.len(), N);
    for (name, description, body) in memories {
        let query = format!("{description} {body}");
        let found = http_ok(&env, &gate.base, &["recall", query.trim(), "-k", "3"]);
        assert_eq!(best(&found), name, "{found}");
        assert!((found["results"][0]["score"].as_f64().unwrap() - 1.0).abs() < 0.02);
    }
}

#[test]
fn after_two_moves_at_once_a_reindex_leaves_each_memory_embedded_once() {
    let env = seeded(12);
    let gate = Gate::start();
    let first = spawn_reindex(&env, &gate.base, &[("SQLITE_GRAPHRAG_EMBED_BATCH", "4")]);
    gate.wait_held_after(0);
    let second = spawn_reindex(&env, &gate.base, &[("SQLITE_GRAPHRAG_EMBED_BATCH", "4")]);
    wait_until(300, "the second move's request", || gate.lock().held == 2);
    gate.open();
    let (first, second) = (finish(first), finish(second));
    for (code, report) in [&first, &second] {
        assert!(*code == Some(0) || *code == Some(9), "{code:?} {report}");
    }
    assert!(
        first.0 == Some(0) || second.0 == Some(0),
        "{first:?} {second:?}"
    );
    let (code, again) = http(&env, &gate.base, &["reindex"], &[]);
    assert_eq!(code, Some(0), "{again}");
    assert_embedded_once(&env);
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM embedding_space WHERE model = 'openai-compatible:test-embed'"
        ),
        1
    );
}

#[test]
fn a_move_abandoned_by_another_process_does_not_swap_in_missing_vectors() {
    let env = seeded(6);
    let gate = Gate::start();
    let mover = spawn_reindex(&env, &gate.base, &[]);
    gate.wait_held_after(0);
    env.ok(&["reindex"]);
    env.remember("written-after", "pelican saxophone harbour");
    gate.open();
    let (code, report) = finish(mover);
    let space: Vec<(String,)> = env.rows("SELECT model FROM embedding_space");
    let model = &space[0].0;
    if model == SPACE {
        assert_eq!(code, Some(0), "{report}");
        assert_embedded_once(&env);
    } else {
        assert_ne!(code, Some(0), "{report}");
        assert_embedded_once(&env);
        assert_eq!(
            best(&env.ok(&["recall", "pelican saxophone harbour"])),
            "written-after"
        );
    }
    assert_eq!(env.ok(&["health"])["ok"], true);
}

/// An API that answers every request with `response`, raw bytes; returns
/// its base URL and how many requests it got.
fn raw_server(response: Vec<u8>) -> (String, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(0));
    let seen = Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if read_request(&mut reader).is_some() {
                *seen.lock().unwrap() += 1;
                let _ = stream.write_all(&response);
            }
        }
    });
    (base, requests)
}

/// A database in the test API's space, with two memories, and the server.
fn http_seeded() -> (TestEnv, Server) {
    let (env, server) = (TestEnv::new(), Server::start());
    for i in 0..2 {
        http_ok(
            &env,
            &server.base,
            &["remember", "--name", &name(i), "--body", &body(i)],
        );
    }
    (env, server)
}

/// What an import of two new memories through `base` (`extra` added) came
/// to: its exit code, what it printed on stdout and stderr, and whether
/// the database changed.
fn import_two(env: &TestEnv, base: &str, extra: &[(&str, &str)]) -> (Option<i32>, String, bool) {
    let before = fingerprint(env);
    let mut child = http_cmd(env, base, extra)
        .args(["import", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn_retrying();
    let lines = (10..12)
        .map(|i| json!({"name": name(i), "body": body(i)}).to_string() + "\n")
        .collect::<String>();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let printed = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), printed, fingerprint(env) != before)
}

/// Imports two new memories through `base` (`extra` added), asserting exit
/// `code`, an error envelope and a database left as it was.
fn refused(env: &TestEnv, base: &str, extra: &[(&str, &str)], code: i32) -> Value {
    let (exit, printed, changed) = import_two(env, base, extra);
    let envelope: Value = serde_json::from_str(printed.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{extra:?}: {e}: {exit:?}\n{printed}"));
    assert_eq!(exit, Some(code), "{extra:?}: {printed}");
    assert!(!changed, "{extra:?}: the database changed");
    envelope
}

/// A base URL, the settings added, and the exit code they must come to.
type RefusalCase<'a> = (String, Vec<(&'a str, &'a str)>, i32);

/// Imports two new memories for each case, and asserts that each came to
/// its code, left the database as it was and printed no secret, listing
/// every case that did not.
fn assert_all_refused(env: &TestEnv, cases: &[RefusalCase]) {
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(base, extra, code)| {
            let (exit, printed, changed) = import_two(env, base, extra);
            (exit != Some(*code) || changed || printed.contains("secret")).then(|| {
                format!("{base:?} {extra:?}: exit {exit:?}, not {code}; database changed {changed}; {printed}")
            })
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn settings_out_of_their_range_are_refused_before_anything_is_sent() {
    let (env, server) = http_seeded();
    let sent = server.requests().len();
    let long = format!("{}/{}", server.base, "a".repeat(100_000));
    for setting in [
        ("SQLITE_GRAPHRAG_EMBED_BASE_URL", "ftp://127.0.0.1/v1"),
        ("SQLITE_GRAPHRAG_EMBED_BASE_URL", "127.0.0.1:8080/v1"),
        ("SQLITE_GRAPHRAG_EMBED_BASE_URL", "file:///etc/passwd"),
        (
            "SQLITE_GRAPHRAG_EMBED_BASE_URL",
            "https://api.example.com/v1",
        ),
        (
            "SQLITE_GRAPHRAG_EMBED_BASE_URL",
            "http://127.0.0.1.example.com/v1",
        ),
        ("SQLITE_GRAPHRAG_EMBED_DIMENSIONS", "0"),
        ("SQLITE_GRAPHRAG_EMBED_DIMENSIONS", "4097"),
        ("SQLITE_GRAPHRAG_EMBED_DIMENSIONS", "-1"),
        ("SQLITE_GRAPHRAG_EMBED_DIMENSIONS", "1e3"),
        (
            "SQLITE_GRAPHRAG_EMBED_DIMENSIONS",
            "99999999999999999999999999",
        ),
        ("SQLITE_GRAPHRAG_EMBED_BATCH", "0"),
        ("SQLITE_GRAPHRAG_EMBED_BATCH", "2049"),
        ("SQLITE_GRAPHRAG_EMBED_TIMEOUT", "0"),
        ("SQLITE_GRAPHRAG_EMBED_RETRIES", "11"),
        ("SQLITE_GRAPHRAG_EMBED_INPUT_TYPE", "search_query"),
        ("SQLITE_GRAPHRAG_EMBED_INPUT_TYPE", ",search_document"),
        ("SQLITE_GRAPHRAG_EMBED_INPUT_TYPE", "search_query, "),
        ("SQLITE_GRAPHRAG_EMBED_MODEL", " "),
        ("SQLITE_GRAPHRAG_HTTP_WAIT", "1e400"),
    ] {
        let error = refused(&env, &server.base, &[setting], 5);
        assert_eq!(error["error"]["kind"], "invalid_input", "{setting:?}");
    }
    assert_eq!(server.requests().len(), sent, "a request was sent");
    let (code, out) = http(
        &env,
        &long,
        &["remember", "--name", "long-url", "--body", "far away"],
        &[("SQLITE_GRAPHRAG_EMBED_API_KEY", "sk-secret")],
    );
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn a_base_url_whose_host_is_ambiguous_is_refused() {
    let (env, server) = http_seeded();
    let key = ("SQLITE_GRAPHRAG_EMBED_API_KEY", "sk-secret");
    let timeout = ("SQLITE_GRAPHRAG_EMBED_TIMEOUT", "2");
    let authority = &server.base["http://".len()..];
    assert_all_refused(
        &env,
        &[
            (
                "http://192.0.2.1:80@127.0.0.1/v1".to_owned(),
                vec![key, timeout],
                5,
            ),
            (format!("http://user:secret@{authority}"), vec![timeout], 5),
        ],
    );
}

#[test]
fn a_base_url_with_spaces_or_line_breaks_is_refused() {
    let (env, server) = http_seeded();
    assert_all_refused(
        &env,
        &[
            (format!("{}/v 1", server.base), vec![], 5),
            (
                format!("{}\r\nX-Injected: yes\r\nX-Rest: ", server.base),
                vec![],
                5,
            ),
        ],
    );
}

#[test]
fn a_prefix_with_control_characters_is_sent_exactly_as_given() {
    let (env, server) = http_seeded();
    let prefix = "\u{1b}[31m\u{7}\ttab \"quoted\" \\ ";
    let (code, out) = http(
        &env,
        &server.base,
        &["remember", "--name", "prefixed", "--body", "plain words"],
        &[("SQLITE_GRAPHRAG_EMBED_DOCUMENT_PREFIX", prefix)],
    );
    assert_eq!(code, Some(0), "{out}");
    let last = server.requests().last().unwrap().clone();
    assert_eq!(last["input"][0], format!("{prefix}plain words"));
}

#[test]
fn an_unusable_answer_is_refused_whole_and_nothing_changes() {
    let (env, _) = http_seeded();
    let deep: &'static str =
        Box::leak(("[".repeat(100_000) + &"]".repeat(100_000)).into_boxed_str());
    let huge = vec!["1e300"; DIM].join(",");
    let huge: &'static str = Box::leak(
        format!(
            r#"{{"data":[{{"index":0,"embedding":[{huge}]}},{{"index":1,"embedding":[{huge}]}}]}}"#
        )
        .into_boxed_str(),
    );
    for (answer, code) in [
        (
            r#"{"data":[{"index":0,"embedding":[NaN,1]},{"index":1,"embedding":[1,0]}]}"#,
            20,
        ),
        (
            r#"{"data":[{"index":-1,"embedding":[1,0]},{"index":1,"embedding":[1,0]}]}"#,
            20,
        ),
        (
            r#"{"data":[{"index":0,"embedding":[1,0]},{"index":0,"embedding":[1,0]}]}"#,
            20,
        ),
        (
            r#"{"data":[{"index":0,"embedding":[1e999,0]},{"index":1,"embedding":[1,0]}]}"#,
            20,
        ),
        (
            r#"{"data":[[[{"embedding":[[1]]}]],[[{"embedding":[[1]]}]]]}"#,
            20,
        ),
        (r#"{"data":{"data":{"data":[1,2,3]}}}"#, 20),
        (
            r#"{"data":[{"index":0,"embedding":"AAAA"},{"index":1,"embedding":"AAAA"}]}"#,
            20,
        ),
        (
            r#"{"data":[{"index":0,"embedding":[1,0]},{"index":1,"embedding":[0,1]}]}"#,
            20,
        ),
        ("", 20),
        (deep, 20),
        (huge, 20),
    ] {
        let server = Server::start();
        server.then(Script::Status(200, "", answer));
        let error = refused(&env, &server.base, &[], code);
        assert!(
            error["error"]["message"].as_str().unwrap().len() < 2000,
            "{error}"
        );
    }
}

#[test]
fn bytes_that_are_not_utf8_or_an_answer_cut_short_are_refused() {
    let (env, _) = http_seeded();
    let with_body = |body: &[u8], length: usize| {
        let mut response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
        )
        .into_bytes();
        response.extend_from_slice(body);
        response
    };
    let body =
        b"{\"data\":[{\"index\":0,\"embedding\":[1,\xff]},{\"index\":1,\"embedding\":[1,0]}]}";
    let not_utf8 = with_body(body, body.len());
    let cut = with_body(b"{\"data\":[", 300_000_000);
    for (response, code) in [(not_utf8, 20), (cut, 20)] {
        let (base, requests) = raw_server(response);
        refused(&env, &base, &[], code);
        assert_eq!(*requests.lock().unwrap(), 1);
    }
}

#[test]
fn a_redirect_is_not_followed() {
    let (env, _) = http_seeded();
    let elsewhere = Server::start();
    let location: &'static str =
        Box::leak(format!("Location: {}/embeddings\r\n", elsewhere.base).into_boxed_str());
    for status in [301, 302, 307, 308] {
        let server = Server::start();
        server.then(Script::Status(status, location, ""));
        refused(&env, &server.base, &[], 19);
        assert_eq!(server.requests().len(), 1);
    }
    assert!(elsewhere.requests().is_empty(), "the redirect was followed");
}

#[test]
fn a_wait_of_hours_asked_by_the_server_is_not_waited() {
    let (env, _) = http_seeded();
    let server = Server::start();
    server.then(Script::Status(
        429,
        "Retry-After: 36000\r\n",
        r#"{"error":{"message":"come back tonight"}}"#,
    ));
    let started = Instant::now();
    let retries = [("SQLITE_GRAPHRAG_EMBED_RETRIES", "4")];
    refused(&env, &server.base, &retries, 18);
    assert_eq!(server.requests().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(3600), "it waited");
}

#[test]
fn an_absurd_wait_asked_by_the_server_fails_the_request() {
    let (env, _) = http_seeded();
    let mut cases = Vec::new();
    let mut servers = Vec::new();
    for (status, headers, code) in [
        (429, "Retry-After: 1e30\r\n", 18),
        (503, "Retry-After-Ms: 1e300\r\n", 19),
        (
            429,
            "Retry-After: Sun, 06 Nov 999999999999 08:49:37 GMT\r\n",
            18,
        ),
    ] {
        let server = Server::start();
        server.then(Script::Status(
            status,
            headers,
            r#"{"error":{"message":"later"}}"#,
        ));
        cases.push((
            server.base.clone(),
            vec![("SQLITE_GRAPHRAG_EMBED_RETRIES", "1")],
            code,
        ));
        servers.push(server);
    }
    assert_all_refused(&env, &cases);
}

/// Texts sent to the embeddings API of `server` so far.
fn texts_sent(server: &Server) -> Vec<String> {
    server
        .requests()
        .iter()
        .flat_map(|r| r["input"].as_array().cloned().unwrap_or_default())
        .map(|t| t.as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn purge_keeps_every_cached_vector_a_live_memory_needs() {
    let (env, server) = (TestEnv::new(), Server::start());
    let long = (0..400)
        .map(|i| format!("word{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(long.len() > 2400, "a body of several chunks");
    for (i, text) in [(0, body(0)), (1, long.clone()), (2, body(2)), (3, body(3))] {
        http_ok(
            &env,
            &server.base,
            &["remember", "--name", &name(i), "--body", &text],
        );
    }
    http_ok(
        &env,
        &server.base,
        &["edit", &name(2), "--body", "rewritten entirely"],
    );
    http_ok(&env, &server.base, &["forget", &name(3)]);
    let purged = env.ok(&["purge", "--yes"]);
    assert_eq!(purged["cache_pruned"], 2, "{purged}");

    let sent = texts_sent(&server).len();
    env.ok(&["reindex"]);
    env.ok(&["purge", "--yes"]);
    let (code, back) = http(&env, &server.base, &["reindex"], &[]);
    assert_eq!((code, &back["moved"]), (Some(0), &true.into()), "{back}");
    assert_eq!(
        texts_sent(&server).len(),
        sent,
        "{:?}",
        &texts_sent(&server)[sent..]
    );
    assert_embedded_once(&env);
    let found = http_ok(&env, &server.base, &["recall", "word399 word398 word397"]);
    assert_eq!(best(&found), name(1));
}

#[test]
fn another_document_prefix_never_reuses_a_vector_of_the_old_one() {
    let (env, server) = http_seeded();
    let prefixed = [("SQLITE_GRAPHRAG_EMBED_DOCUMENT_PREFIX", "passage: ")];
    let sent = texts_sent(&server).len();
    let (code, out) = http(&env, &server.base, &["reindex"], &prefixed);
    assert_eq!(code, Some(0), "{out}");
    let now = texts_sent(&server);
    assert_eq!(now.len(), sent + 2, "{now:?}");
    assert!(
        now[sent..].iter().all(|t| t.starts_with("passage: ")),
        "{now:?}"
    );

    let (code, out) = http(&env, &server.base, &["reindex"], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        texts_sent(&server).len(),
        sent + 2,
        "the old prefix's vectors were cached"
    );
    let (code, out) = http(&env, &server.base, &["reindex"], &prefixed);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(texts_sent(&server).len(), sent + 2);
    assert_eq!(env.ok(&["stats"])["embedding_cache"]["vectors"], 4);
}

#[test]
fn a_crafted_text_gets_its_own_vector_not_another_texts() {
    let (env, server) = http_seeded();
    http_ok(
        &env,
        &server.base,
        &["remember", "--name", "victim", "--body", "alpha beta"],
    );
    let prefixed = [("SQLITE_GRAPHRAG_EMBED_DOCUMENT_PREFIX", "doc: ")];
    let crafted = [
        ("Alpha beta", &[][..]),
        ("alpha  beta", &[][..]),
        ("alpha\tbeta", &[][..]),
        ("alpha beta\u{200b}", &[][..]),
        ("alpha beta", &prefixed[..]),
    ];
    for (i, (text, extra)) in crafted.into_iter().enumerate() {
        let sent = texts_sent(&server).len();
        let name = format!("crafted-{i}");
        let (code, out) = http(
            &env,
            &server.base,
            &["remember", "--name", &name, "--body", text],
            extra,
        );
        assert_eq!(code, Some(0), "{text:?}: {out}");
        assert_eq!(
            texts_sent(&server).len(),
            sent + 1,
            "{text:?} came from the cache"
        );
    }
    let found = http_ok(&env, &server.base, &["recall", "alpha beta", "-k", "10"]);
    let victim = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "victim")
        .unwrap();
    assert!(victim["score"].as_f64().unwrap() > 0.99, "{found}");
}

#[test]
fn other_dimensions_and_back_never_reuse_a_vector_of_the_wrong_dimension() {
    let (env, server) = http_seeded();
    let short = [("SQLITE_GRAPHRAG_EMBED_DIMENSIONS", "16")];
    server.then(Script::Dimension(16));
    let (code, moved) = http(&env, &server.base, &["reindex"], &short);
    assert_eq!(code, Some(0), "{moved}");
    assert_eq!(
        (moved["moved"].clone(), moved["space"]["dim"].clone()),
        (true.into(), 16.into())
    );
    server.then(Script::Dimension(16));
    let (code, found) = http(&env, &server.base, &["recall", &body(1)], &short);
    assert_eq!((code, best(&found)), (Some(0), name(1)), "{found}");

    let sent = texts_sent(&server).len();
    let (code, back) = http(&env, &server.base, &["reindex"], &[]);
    assert_eq!(code, Some(0), "{back}");
    assert_eq!(back["space"]["dim"], DIM, "{back}");
    assert_eq!(
        texts_sent(&server).len(),
        sent,
        "the native vectors were cached"
    );
    let (code, found) = http(&env, &server.base, &["recall", &body(0)], &[]);
    assert_eq!((code, best(&found)), (Some(0), name(0)), "{found}");
}

#[test]
fn an_error_in_a_200_answer_is_a_provider_error_with_its_message() {
    let (env, _) = http_seeded();
    let server = Server::start();
    server.then(Script::Status(
        200,
        "",
        r#"{"error":{"message":"model overloaded"}}"#,
    ));
    let error = refused(&env, &server.base, &[], 19);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("model overloaded"),
        "{error}"
    );
}

#[test]
fn a_second_move_to_the_same_space_at_once_succeeds_or_says_why_not() {
    let env = seeded(12);
    let gate = Gate::start();
    let first = spawn_reindex(&env, &gate.base, &[]);
    gate.wait_held_after(0);
    let second = spawn_reindex(&env, &gate.base, &[]);
    wait_until(300, "the second move's request", || gate.lock().held == 2);
    gate.open();
    for (code, report) in [finish(first), finish(second)] {
        assert!(
            code == Some(0) || report["error"]["kind"] == "busy",
            "{code:?} {report}"
        );
    }
}

#[test]
fn two_moves_at_once_never_leave_the_database_without_vectors() {
    for round in 0..40 {
        let env = seeded(12);
        let gate = Gate::start();
        let first = spawn_reindex(&env, &gate.base, &[]);
        gate.wait_held_after(0);
        let second = spawn_reindex(&env, &gate.base, &[]);
        wait_until(300, "the second move's request", || gate.lock().held == 2);
        gate.open();
        let (first, second) = (finish(first), finish(second));
        let chunks = count(&env, "SELECT count(*) FROM chunks");
        let waiting = count(&env, "SELECT count(*) FROM vector_backlog");
        assert!(
            chunks == 12 || waiting == 12,
            "round {round}: {chunks} chunks, {waiting} waiting; {first:?} {second:?}"
        );
    }
}
