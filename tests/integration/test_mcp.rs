//! `mcp`: the stdio server, driven by the official MCP Python SDK (PyPI
//! `mcp`, installed by scripts/mcp-venv.sh) and by raw protocol lines.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
#[cfg(unix)]
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Stdio};
#[cfg(unix)]
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::TestEnv;
#[cfg(unix)]
use crate::common::binary;

/// The Python of the virtual environment holding the SDK.
#[cfg(unix)]
fn sdk_python() -> PathBuf {
    if let Some(python) = std::env::var_os("SQLITE_GRAPHRAG_MCP_PYTHON") {
        return PathBuf::from(python);
    }
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mcp-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/mcp-venv.sh before the tests (it installs the MCP Python SDK)",
        python.display()
    );
    python
}

/// Runs one scenario of tests/mcp/sdk_client.py against the binary.
#[cfg(unix)]
fn sdk_scenario(scenario: &str) {
    let env = TestEnv::new();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/sdk_client.py");
    let out = std::process::Command::new(sdk_python())
        .arg(script)
        .arg(binary())
        .arg(env.dir.path())
        .arg(scenario)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{scenario}: exit {:?}\nstdout {}\nstderr {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[cfg(unix)]
fn the_sdk_client_initializes_lists_and_calls_every_tool() {
    sdk_scenario("tools");
}

#[test]
#[cfg(unix)]
fn the_sdk_high_level_client_connects_without_waiting_for_discovery() {
    sdk_scenario("auto");
}

#[test]
#[cfg(unix)]
fn the_sdk_client_cancels_a_slow_call_and_the_session_goes_on() {
    sdk_scenario("cancel");
}

#[test]
#[cfg(unix)]
fn four_servers_and_two_command_lines_write_one_database_together() {
    sdk_scenario("concurrent");
}

/// A server process with piped stdio, read line by line.
struct Server {
    child: Child,
    lines: BufReader<ChildStdout>,
}

impl Server {
    fn start(env: &TestEnv, extra: &[&str], vars: &[(&str, &Path)]) -> Self {
        let mut cmd = env.std_cmd();
        cmd.arg("--runtime-dir").arg(env.dir.path().join("runtime"));
        cmd.args(extra).arg("mcp");
        for (name, value) in vars {
            cmd.env(name, value);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap());
        Server { child, lines }
    }

    fn send(&mut self, line: impl AsRef<[u8]>) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(line.as_ref()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    fn read(&mut self) -> Value {
        let mut line = String::new();
        assert!(
            self.lines.read_line(&mut line).unwrap() > 0,
            "the server closed stdout"
        );
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"))
    }

    fn initialize(&mut self) {
        self.send(request(0, "initialize", json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}})));
        assert_eq!(self.read()["result"]["protocolVersion"], "2025-06-18");
        self.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    }

    /// Closes stdin and returns what else the server wrote, its exit code and stderr.
    fn finish(mut self) -> (Vec<Value>, Option<i32>, String) {
        drop(self.child.stdin.take());
        let rest: Vec<Value> = (&mut self.lines)
            .lines()
            .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
            .collect();
        let out = self.child.wait_with_output().unwrap();
        (
            rest,
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn request(id: i64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

fn call(id: i64, tool: &str, arguments: Value) -> String {
    request(
        id,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    )
}

#[test]
fn every_line_is_answered_in_order_and_the_end_of_input_ends_the_server() {
    let env = TestEnv::new();
    let mut server = Server::start(&env, &["-vv"], &[]);
    server.send(request(1, "tools/list", json!({})));
    server.send("this is not json");
    server.send(r#"[{"jsonrpc":"2.0","id":2,"method":"ping"}]"#);
    server.initialize_after_errors();
    server.send(request(3, "server/discover", json!({})));
    server.send(call(
        4,
        "remember",
        json!({"name": "a", "body": "kept\nacross lines"}),
    ));
    server.send(call(5, "remember", json!({"name": "a", "body": "again"})));
    server.send(call(6, "nope", json!({})));
    server.send("{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"ping\"}\r");
    server.send(call(7, "read", json!({"names": ["a"]})));
    server.send(b"{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\",\"params\":{\"x\":\"\xff\"}}");
    let (rest, code, stderr) = server.finish();
    assert_eq!(code, Some(0), "{stderr}");
    let (pings, rest): (Vec<Value>, Vec<Value>) = rest.into_iter().partition(|m| m["id"] == "s");
    assert_eq!(pings, [json!({"jsonrpc": "2.0", "id": "s", "result": {}})]);
    let ids: Vec<&Value> = rest.iter().map(|m| &m["id"]).collect();
    assert_eq!(
        ids,
        [
            &json!(3),
            &json!(4),
            &json!(5),
            &json!(6),
            &json!(7),
            &Value::Null
        ]
    );
    assert_eq!(rest[0]["error"]["code"], -32601);
    assert_eq!(rest[1]["result"]["structuredContent"]["action"], "created");
    assert_eq!(rest[2]["result"]["isError"], true);
    assert_eq!(rest[3]["error"]["code"], -32602);
    assert_eq!(
        rest[4]["result"]["structuredContent"]["memories"][0]["body"],
        "kept\nacross lines"
    );
    assert_eq!(
        rest[5]["error"]["code"], -32700,
        "invalid UTF-8 is a parse error"
    );
    assert!(!stderr.is_empty(), "-vv logs to stderr");
}

impl Server {
    /// Checks the answers to the three bad lines sent first, then initializes.
    fn initialize_after_errors(&mut self) {
        let early = self.read();
        assert_eq!(
            (early["id"].clone(), early["error"]["code"].clone()),
            (json!(1), json!(-32602))
        );
        let not_json = self.read();
        assert_eq!(
            (not_json["id"].clone(), not_json["error"]["code"].clone()),
            (Value::Null, json!(-32700))
        );
        let batch = self.read();
        assert_eq!(batch["error"]["code"], -32600);
        self.initialize();
    }
}

/// The fake `claude` of tests/fakes, waiting `delay` seconds before it answers.
#[cfg(unix)]
fn slow_claude(env: &TestEnv, delay: u64) -> PathBuf {
    let config = env.dir.path().join(".claude");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("fake.json"),
        json!({"delay": delay}).to_string(),
    )
    .unwrap();
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fakes/claude")
}

#[test]
#[cfg(unix)]
fn calls_cancelled_while_running_or_waiting_are_never_answered() {
    let env = TestEnv::new();
    let claude = slow_claude(&env, 2);
    let mut server = Server::start(&env, &[], &[("SQLITE_GRAPHRAG_CLAUDE_BIN", &claude)]);
    server.initialize();
    server.send(call(
        5,
        "remember",
        json!({"name": "slow", "body": "Extracted slowly.", "extract": "claude"}),
    ));
    server.send(call(6, "list", json!({})));
    let record = env.dir.path().join(".claude/record.jsonl");
    crate::common::wait_until(10, "the fake claude to start", || record.exists());
    server.send(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5,"reason":"timed out"}}"#);
    server.send(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":6}}"#);
    server.send(request(7, "ping", json!({})));
    let answer = server.read();
    assert_eq!(
        answer["id"], 7,
        "the cancelled calls were answered: {answer}"
    );
    let (rest, code, stderr) = server.finish();
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(code, Some(0), "{stderr}");
    let names = env.ok(&["list"]);
    assert_eq!(
        names["items"][0]["name"], "slow",
        "the cancelled call's write stays"
    );
}

#[test]
#[cfg(unix)]
fn a_ping_is_answered_while_a_call_runs() {
    let env = TestEnv::new();
    let claude = slow_claude(&env, 3);
    let mut server = Server::start(&env, &[], &[("SQLITE_GRAPHRAG_CLAUDE_BIN", &claude)]);
    server.initialize();
    server.send(call(
        5,
        "remember",
        json!({"name": "slow", "body": "Extracted slowly.", "extract": "claude"}),
    ));
    let record = env.dir.path().join(".claude/record.jsonl");
    crate::common::wait_until(10, "the fake claude to start", || record.exists());
    server.send(request(6, "ping", json!({})));
    assert_eq!(server.read()["id"], 6, "the ping waited for the call");
    assert_eq!(server.read()["id"], 5);
    let (_, code, stderr) = server.finish();
    assert_eq!(code, Some(0), "{stderr}");
}

#[cfg(unix)]
fn terminate(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
fn exit_code_within(child: &mut Child, limit: Duration) -> Option<i32> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(started.elapsed() < limit, "still running after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[cfg(unix)]
fn sigterm_ends_an_idle_server_with_status_zero() {
    let env = TestEnv::new();
    let mut server = Server::start(&env, &[], &[]);
    server.initialize();
    terminate(&server.child);
    assert_eq!(
        exit_code_within(&mut server.child, Duration::from_secs(5)),
        Some(0)
    );
}

#[test]
#[cfg(unix)]
fn sigterm_during_a_call_answers_it_then_ends_with_status_zero() {
    let env = TestEnv::new();
    let claude = slow_claude(&env, 30);
    let mut server = Server::start(&env, &[], &[("SQLITE_GRAPHRAG_CLAUDE_BIN", &claude)]);
    server.initialize();
    server.send(call(
        5,
        "remember",
        json!({"name": "slow", "body": "Extracted slowly.", "extract": "claude"}),
    ));
    server.send(call(
        6,
        "remember",
        json!({"name": "queued", "body": "Behind the slow one."}),
    ));
    let record = env.dir.path().join(".claude/record.jsonl");
    crate::common::wait_until(10, "the fake claude to start", || record.exists());
    terminate(&server.child);
    let answer = server.read();
    assert_eq!(answer["id"], 5);
    let error: Value =
        serde_json::from_str(answer["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(error["error"]["kind"], "interrupted", "{answer}");
    assert_eq!(
        exit_code_within(&mut server.child, Duration::from_secs(10)),
        Some(0)
    );
    let names = env.ok(&["list"]);
    assert_eq!(
        names["total"], 1,
        "the call queued behind ran after the signal: {names}"
    );
}

#[test]
#[cfg(unix)]
fn sigterm_never_cuts_an_answer_a_slow_reader_has_not_taken_yet() {
    let env = TestEnv::new();
    let lines: String = (0..60)
        .map(|i| {
            format!(
                "{}\n",
                json!({"name": format!("m{i}"), "body": "x".repeat(2000)})
            )
        })
        .collect();
    env.ok_stdin(&["import", "-"], lines);
    let mut server = Server::start(&env, &[], &[]);
    server.initialize();
    for id in 1..=20 {
        server.send(call(id, "list", json!({"limit": 1000})));
    }
    std::thread::sleep(Duration::from_millis(500));
    terminate(&server.child);
    std::thread::sleep(Duration::from_millis(500));
    let (rest, code, stderr) = server.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!rest.is_empty(), "every answer was lost");
}
