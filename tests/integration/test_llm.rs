//! `llm run` against the fake `claude` and `codex` of tests/fakes, which
//! speak the real tools' formats, obey knobs in `fake.json` and record
//! every run in `record.jsonl` (both in the tool's configuration folder).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{TestEnv, wait_until};

fn fake(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fakes")
        .join(name)
}

/// A test folder whose HOME holds the fakes' configuration folders.
pub(crate) struct Llm {
    pub(crate) env: TestEnv,
}

impl Llm {
    pub(crate) fn new() -> Self {
        Llm {
            env: TestEnv::new(),
        }
    }

    /// The fake's configuration folder (`~/.claude` or `~/.codex`).
    fn config_dir(&self, backend: &str) -> PathBuf {
        self.env.dir.path().join(format!(".{backend}"))
    }

    /// Sets the fake's knobs.
    pub(crate) fn knobs(&self, backend: &str, knobs: Value) -> &Self {
        let dir = self.config_dir(backend);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("fake.json"), knobs.to_string()).unwrap();
        self
    }

    /// `llm run --backend B` with the fakes installed, the prompt on
    /// stdin, and `vars` added to the environment.
    fn run(&self, backend: &str, args: &[&str], vars: &[(&str, &str)]) -> std::process::Output {
        let mut cmd = self.cmd(vars);
        cmd.args(["llm", "run", "--backend", backend])
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"Extract the entities.")
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// The binary with the fakes installed, a runtime folder of this
    /// test's, and `vars` added to the environment.
    pub(crate) fn cmd(&self, vars: &[(&str, &str)]) -> std::process::Command {
        let mut cmd = self.env.std_cmd();
        cmd.arg("--runtime-dir")
            .arg(self.env.dir.path().join("runtime"))
            .env("SQLITE_GRAPHRAG_CLAUDE_BIN", fake("claude"))
            .env("SQLITE_GRAPHRAG_CODEX_BIN", fake("codex"));
        for (name, value) in vars {
            cmd.env(name, value);
        }
        cmd
    }

    /// Runs and returns the reply, asserting success.
    fn ok(&self, backend: &str, args: &[&str], vars: &[(&str, &str)]) -> Value {
        let out = self.run(backend, args, vars);
        assert!(
            out.status.success(),
            "exit {:?}\nstdout {}\nstderr {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Runs expecting exit `code`; returns the error of the envelope.
    fn fails(&self, backend: &str, args: &[&str], vars: &[(&str, &str)], code: i32) -> Value {
        let out = self.run(backend, args, vars);
        let json: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
        assert_eq!(
            out.status.code(),
            Some(code),
            "{json}\nstderr {}",
            String::from_utf8_lossy(&out.stderr)
        );
        json["error"].clone()
    }

    /// Every line the fake recorded, in order; none when it never started.
    /// A last line still being written (no newline yet) is left out.
    pub(crate) fn record(&self, backend: &str) -> Vec<Value> {
        match std::fs::read_to_string(self.config_dir(backend).join("record.jsonl")) {
            Ok(text) => text
                .split_inclusive('\n')
                .filter(|l| l.ends_with('\n'))
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The runs the fake recorded (argv, env, cwd, stdin).
    pub(crate) fn runs(&self, backend: &str) -> Vec<Value> {
        self.record(backend)
            .into_iter()
            .filter(|entry| entry.get("argv").is_some())
            .collect()
    }

    /// A schema file for --schema-file.
    fn schema(&self) -> String {
        let path = self.env.dir.path().join("schema.json");
        let schema = json!({"type":"object","additionalProperties":false,
            "required":["entities"],"properties":{"entities":{"type":"array","items":{"type":"string"}}}});
        std::fs::write(&path, schema.to_string()).unwrap();
        path.display().to_string()
    }
}

const REPLY: &str = r#"{"entities":["SQLite","Rust"]}"#;

fn reply() -> Value {
    serde_json::from_str(REPLY).unwrap()
}

#[test]
fn claude_stream_json_gives_the_structured_reply_in_a_private_folder() {
    let llm = Llm::new();
    llm.knobs("claude", json!({"reply": reply()}));
    let schema = llm.schema();
    let out = llm.ok(
        "claude",
        &["--schema-file", &schema, "--model", "sonnet"],
        &[("SOME_SECRET", "x"), ("LC_ALL", "C")],
    );
    assert_eq!(out["structured"], reply());
    assert_eq!(
        (out["backend"].as_str(), out["attempts"].as_u64()),
        (Some("claude"), Some(1))
    );
    let runs = llm.runs("claude");
    let run = &runs[0];
    let argv: Vec<&str> = run["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    for flag in [
        "-p",
        "--verbose",
        "--no-session-persistence",
        "--strict-mcp-config",
    ] {
        assert!(argv.contains(&flag), "{argv:?}");
    }
    let after = |flag: &str| argv[argv.iter().position(|a| *a == flag).unwrap() + 1];
    assert_eq!(after("--output-format"), "stream-json");
    assert_eq!(after("--model"), "sonnet");
    let schema_arg: Value = serde_json::from_str(after("--json-schema")).unwrap();
    assert_eq!(schema_arg["required"], json!(["entities"]));
    assert_eq!(run["stdin"], "Extract the entities.");
    let env = run["env"].as_object().unwrap();
    assert!(!env.contains_key("SOME_SECRET"), "{env:?}");
    assert!(!env.contains_key("SQLITE_GRAPHRAG_CLAUDE_BIN"));
    assert_eq!(env["LC_ALL"], "C");
    assert!(
        env.contains_key("SQLITE_GRAPHRAG_SLOT"),
        "the run holds a slot of the llm pool"
    );
    let cwd = PathBuf::from(run["cwd"].as_str().unwrap());
    assert!(
        cwd.starts_with(llm.env.dir.path()),
        "a folder under TMPDIR: {cwd:?}"
    );
    assert!(!cwd.exists(), "the working folder is removed afterwards");
}

#[test]
fn claude_json_object_array_and_result_text_give_the_same_reply() {
    let schema_knobs = [
        json!({"reply": reply(), "shape": "json"}),
        json!({"reply": reply(), "shape": "array"}),
        json!({"reply": reply(), "structured_output": false, "result_text": true}),
    ];
    for knobs in schema_knobs {
        let llm = Llm::new();
        llm.knobs("claude", knobs.clone());
        let schema = llm.schema();
        let out = llm.ok("claude", &["--schema-file", &schema], &[]);
        assert_eq!(out["structured"], reply(), "{knobs}");
    }
    let llm = Llm::new();
    let out = llm.ok("claude", &[], &[]);
    assert_eq!(
        (out["text"].as_str(), &out["structured"]),
        (Some("plain reply"), &Value::Null)
    );
}

#[test]
fn codex_gives_the_last_message_of_the_completed_turn() {
    for mode in ["success", "reconnect"] {
        let llm = Llm::new();
        llm.knobs("codex", json!({"reply": reply(), "mode": mode}));
        let schema = llm.schema();
        let out = llm.ok(
            "codex",
            &["--schema-file", &schema, "--model", "gpt-5"],
            &[],
        );
        assert_eq!(out["structured"], reply(), "{mode}");
        let runs = llm.runs("codex");
        let argv: Vec<&str> = runs[0]["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(argv[..2], ["exec", "--json"]);
        assert_eq!(argv.last(), Some(&"-"));
        for flag in [
            "--ephemeral",
            "--skip-git-repo-check",
            "--output-schema",
            "-m",
        ] {
            assert!(argv.contains(&flag), "{argv:?}");
        }
        assert_eq!(runs[0]["stdin"], "Extract the entities.");
        assert!(runs[0]["env"].get("CODEX_HOME").is_none());
    }
    let llm = Llm::new();
    let home = llm.env.dir.path().join("codex-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("fake.json"),
        json!({"reply": "plain"}).to_string(),
    )
    .unwrap();
    let out = llm.ok("codex", &[], &[("CODEX_HOME", home.to_str().unwrap())]);
    assert_eq!(out["text"], "plain");
    let record = std::fs::read_to_string(home.join("record.jsonl")).unwrap();
    assert!(
        record.contains(r#""CODEX_HOME": "#),
        "CODEX_HOME is passed on"
    );
}

#[test]
fn an_api_key_in_the_environment_is_refused_and_the_tool_never_starts() {
    let cases = [
        ("claude", "ANTHROPIC_API_KEY"),
        ("claude", "ANTHROPIC_AUTH_TOKEN"),
        ("claude", "CLAUDE_CODE_USE_BEDROCK"),
        ("codex", "OPENAI_API_KEY"),
        ("codex", "CODEX_API_KEY"),
    ];
    for (backend, var) in cases {
        let llm = Llm::new();
        let error = llm.fails(backend, &[], &[(var, "sk-test")], 13);
        assert_eq!(error["kind"], "api_key_refused");
        assert!(error["message"].as_str().unwrap().contains(var), "{error}");
        assert!(llm.record(backend).is_empty(), "{backend} was started");
    }
}

#[test]
fn a_codex_login_in_api_key_mode_is_refused_and_codex_never_starts() {
    let llm = Llm::new();
    let dir = llm.config_dir("codex");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("auth.json"),
        r#"{"OPENAI_API_KEY":"sk-proj-x","tokens":null}"#,
    )
    .unwrap();
    assert_eq!(llm.fails("codex", &[], &[], 13)["kind"], "api_key_refused");
    assert!(llm.record("codex").is_empty());
}

#[test]
fn allow_api_key_passes_the_key_on() {
    let llm = Llm::new();
    llm.ok(
        "claude",
        &["--allow-api-key"],
        &[("ANTHROPIC_API_KEY", "sk-test")],
    );
    assert_eq!(llm.runs("claude")[0]["env"]["ANTHROPIC_API_KEY"], "sk-test");
}

#[test]
fn an_api_key_source_in_the_init_event_stops_claude_at_once() {
    for source in ["apiKeyHelper", "/login managed key"] {
        let llm = Llm::new();
        llm.knobs("claude", json!({"api_key_source": source, "delay": 120}));
        let started = Instant::now();
        let error = llm.fails("claude", &[], &[], 13);
        assert_eq!(error["kind"], "api_key_refused", "{source}");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "killed, not waited for"
        );
        assert_eq!(llm.runs("claude").len(), 1, "started once, never retried");
    }
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
fn is_gone(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

#[test]
#[cfg(target_os = "linux")]
fn a_timeout_kills_the_whole_group_and_frees_the_slot() {
    let llm = Llm::new();
    llm.knobs("claude", json!({"delay": 300, "grandchild": true}));
    let one_slot = [("SQLITE_GRAPHRAG_LLM_SLOTS", "1")];
    let error = llm.fails("claude", &["--timeout", "1"], &one_slot, 124);
    assert_eq!(error["kind"], "timeout");
    let grandchild = llm
        .record("claude")
        .iter()
        .find_map(|entry| entry["grandchild"].as_u64())
        .expect("the fake started its grandchild");
    wait_until(20, "the grandchild to be killed", || is_gone(grandchild));
    llm.knobs("claude", json!({}));
    llm.ok("claude", &["--wait", "0"], &one_slot);
}

#[test]
#[cfg(target_os = "linux")]
fn the_only_slot_is_held_until_the_tool_dies_with_its_caller() {
    let llm = Llm::new();
    llm.knobs("claude", json!({"delay": 300}));
    let one_slot = [("SQLITE_GRAPHRAG_LLM_SLOTS", "1")];
    let mut first = llm.env.std_cmd();
    first
        .arg("--runtime-dir")
        .arg(llm.env.dir.path().join("runtime"))
        .args(["llm", "run", "--backend", "claude", "--prompt", "slow"])
        .env("SQLITE_GRAPHRAG_CLAUDE_BIN", fake("claude"))
        .env(one_slot[0].0, one_slot[0].1)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut first = first.spawn().unwrap();
    wait_until(60, "the first fake to start", || {
        !llm.runs("claude").is_empty()
    });
    let error = llm.fails("claude", &["--wait", "0"], &one_slot, 75);
    assert_eq!(error["kind"], "no_slot");
    assert_eq!(llm.runs("claude").len(), 1, "the second tool never started");
    first.kill().unwrap();
    first.wait().unwrap();
    llm.knobs("claude", json!({}));
    let out = llm.ok("claude", &["--wait", "60"], &one_slot);
    assert_eq!(out["attempts"], 1);
}

#[test]
fn megabytes_of_output_are_read_and_a_bound_stops_more() {
    for backend in ["claude", "codex"] {
        let llm = Llm::new();
        llm.knobs(
            backend,
            json!({"mode": "huge", "huge_bytes": 3 * 1024 * 1024, "reply": "x"}),
        );
        let out = llm.ok(backend, &[], &[]);
        assert_eq!(
            out["text"].as_str().unwrap().len(),
            3 * 1024 * 1024,
            "{backend}"
        );
        let error = llm.fails(
            backend,
            &["--max-output", "1048576", "--retries", "0"],
            &[],
            16,
        );
        assert!(
            error["message"].as_str().unwrap().contains("1048576"),
            "{error}"
        );
    }
}

#[test]
fn malformed_replies_are_retried_a_bounded_number_of_times() {
    for backend in ["claude", "codex"] {
        for mode in ["malformed", "truncated"] {
            let llm = Llm::new();
            llm.knobs(backend, json!({"mode": mode}));
            let error = llm.fails(backend, &["--retries", "2"], &[], 16);
            assert_eq!(error["kind"], "llm_failed", "{backend} {mode}");
            assert_eq!(llm.runs(backend).len(), 3, "{backend} {mode}");
        }
        let llm = Llm::new();
        llm.knobs(
            backend,
            json!({"modes": ["malformed", "success"], "reply": "fine"}),
        );
        let out = llm.ok(backend, &[], &[]);
        assert_eq!(out["attempts"], 2);
    }
}

#[test]
fn limits_and_login_failures_have_their_own_kinds_and_are_not_retried() {
    let cases = [
        ("claude", "api_error", 14, "llm_unavailable"),
        ("claude", "usage_limit", 14, "llm_unavailable"),
        ("claude", "auth", 15, "llm_auth"),
        ("claude", "max_turns", 16, "llm_failed"),
        ("claude", "error_exit0", 16, "llm_failed"),
        ("codex", "usage_limit", 14, "llm_unavailable"),
        ("codex", "auth", 15, "llm_auth"),
        ("codex", "fatal", 16, "llm_failed"),
    ];
    for (backend, mode, code, kind) in cases {
        let llm = Llm::new();
        llm.knobs(backend, json!({"mode": mode}));
        let error = llm.fails(backend, &[], &[], code);
        assert_eq!(error["kind"], kind, "{backend} {mode}: {error}");
        assert_eq!(llm.runs(backend).len(), 1, "{backend} {mode}");
    }
}

#[test]
fn a_missing_tool_is_127() {
    let llm = Llm::new();
    let mut cmd = llm.env.std_cmd();
    let out = cmd
        .arg("--runtime-dir")
        .arg(llm.env.dir.path().join("runtime"))
        .args(["llm", "run", "--backend", "claude", "--prompt", "hi"])
        .env(
            "SQLITE_GRAPHRAG_CLAUDE_BIN",
            llm.env.dir.path().join("no-such-claude"),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
}

#[test]
fn bad_input_is_refused_before_any_tool_starts() {
    let llm = Llm::new();
    let bad_schema = llm.env.dir.path().join("bad.json");
    std::fs::write(&bad_schema, "{not json").unwrap();
    let bad_schema = bad_schema.display().to_string();
    let cases: [(&[&str], i32); 5] = [
        (&["--prompt", "  "], 5),
        (&["--schema-file", &bad_schema], 5),
        (&["--retries", "11"], 2),
        (&["--max-output", "0"], 2),
        (&["--timeout", "0"], 2),
    ];
    for (args, code) in cases {
        llm.fails("claude", args, &[], code);
        assert!(llm.record("claude").is_empty(), "{args:?}");
    }
}

#[test]
fn codex_refuses_a_schema_that_is_not_openai_strict() {
    let llm = Llm::new();
    llm.knobs("codex", json!({"reply": reply()}));
    let path = llm.env.dir.path().join("loose.json");
    let loose = json!({"type": "object", "properties": {"entities": {"type": "array"}}});
    std::fs::write(&path, loose.to_string()).unwrap();
    let error = llm.fails(
        "codex",
        &["--schema-file", path.to_str().unwrap(), "--retries", "0"],
        &[],
        16,
    );
    assert_eq!(error["kind"], "llm_failed");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("invalid_json_schema"), "{message}");
}

#[cfg(unix)]
#[test]
fn a_signal_stops_the_tools_group_and_exits_130() {
    for backend in ["claude", "codex"] {
        let llm = Llm::new();
        llm.knobs(backend, json!({"reply": reply(), "delay": 60}));
        let mut child = llm
            .cmd(&[])
            .args(["llm", "run", "--backend", backend, "--prompt", "hi"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        wait_until(60, "the tool to start", || !llm.record(backend).is_empty());
        let started = Instant::now();
        let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
        let status = child.wait().unwrap();
        let mut stdout = String::new();
        use std::io::Read;
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        let out: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(status.code(), Some(130), "{backend}: {out}");
        assert_eq!(out["error"]["kind"], "interrupted", "{backend}");
        assert!(started.elapsed() < Duration::from_secs(30), "{backend}");
        let signals: Vec<Value> = llm
            .record(backend)
            .into_iter()
            .filter_map(|entry| entry.get("signal").cloned())
            .collect();
        assert_eq!(signals, [json!(2)], "{backend}: the tool got SIGINT once");
    }
}
