//! `agents print`, `agents context`, and the setup documents of
//! docs/agents: every command in them runs, every snippet parses.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use crate::common::{TestEnv, binary};

const REPO: &str = "github.com/acme/harbor";

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/agents")
}

fn doc(name: &str) -> String {
    std::fs::read_to_string(docs_dir().join(name)).unwrap()
}

/// A folder that is a git repository whose `origin` is acme/harbor, made
/// by hand (no `git` needed).
fn repository(env: &TestEnv) -> PathBuf {
    let repo = env.dir.path().join("harbor");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::write(
        repo.join(".git/config"),
        "[remote \"origin\"]\n\turl = https://github.com/acme/harbor.git\n",
    )
    .unwrap();
    repo
}

/// A shell running `line` in `cwd` with this test's database, a private
/// home, and the binary first in `PATH`.
fn shell(env: &TestEnv, cwd: &Path, line: &str) -> Command {
    let bin_dir = binary().parent().unwrap().to_owned();
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    let path =
        std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&inherited)))
            .unwrap();
    let mut sh = Command::new("sh");
    sh.env_clear()
        .env("PATH", path)
        .env("HOME", env.dir.path())
        .env("TMPDIR", env.dir.path())
        .env("SQLITE_GRAPHRAG_DB", &env.db)
        .args(["-c", line])
        .current_dir(cwd);
    sh
}

fn run(mut cmd: Command, stdin: &str) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn in_repo(env: &TestEnv, cwd: &Path, args: &[&str]) -> Output {
    let mut cmd = env.std_cmd();
    cmd.args(args).current_dir(cwd);
    run(cmd, "")
}

#[test]
fn agents_print_prints_the_documents_as_they_are() {
    let env = TestEnv::new();
    for (agent, file) in [
        ("claude", "SKILL.md"),
        ("codex", "AGENTS.md"),
        ("generic", "AGENTS.md"),
    ] {
        let out = in_repo(&env, env.dir.path(), &["agents", "print", agent]);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8(out.stdout).unwrap(), doc(file), "{agent}");
    }
    let out = in_repo(&env, env.dir.path(), &["agents", "print", "emacs"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(!env.db.exists(), "printing created a database");
}

#[test]
fn the_skill_has_the_frontmatter_claude_code_reads() {
    let skill = doc("SKILL.md");
    let front = skill
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .map(|(front, _)| front)
        .expect("SKILL.md opens with --- frontmatter ---");
    let field = |key: &str| {
        front
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{key}: ")))
            .unwrap_or_else(|| panic!("no {key} in the frontmatter"))
    };
    assert_eq!(field("name"), "sqlite-graphrag");
    assert!(field("description").len() > 40);
}

#[test]
fn agents_context_shows_recent_and_matching_memories_of_the_repository() {
    let env = TestEnv::new();
    let repo = repository(&env);
    let outside = env.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();

    // No database yet: nothing, and nothing created.
    let out = in_repo(&env, &repo, &["agents", "context"]);
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    assert!(!env.db.exists());

    let ns = ["--namespace", REPO];
    env.ok(&[
        "remember",
        "--name",
        "old-harbor-notes",
        "--body",
        "harbor was started in 2019",
        ns[0],
        ns[1],
    ]);
    for i in 0..7 {
        let name = format!("recent-{i}");
        let body = format!("line one\nline two {}\u{1b}[31m", "x".repeat(400));
        env.ok(&["remember", "--name", &name, "--body", &body, ns[0], ns[1]]);
    }
    env.remember("elsewhere", "a memory of the global namespace");

    let out = in_repo(&env, &repo, &["agents", "context"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("sqlite-graphrag memories of namespace {REPO}\n")),
        "{text}"
    );
    for shown in [
        "recent-6",
        "recent-2",
        "old-harbor-notes",
        "Matching \"harbor\"",
    ] {
        assert!(text.contains(shown), "{shown} missing:\n{text}");
    }
    assert!(
        !text.contains("recent-1 "),
        "more than five recent ones:\n{text}"
    );
    assert!(!text.contains("elsewhere"), "{text}");
    assert!(!text.contains('\u{1b}'), "a control character got through");
    assert!(text.len() < 4096, "{} bytes", text.len());
    assert!(text.lines().all(|l| l.chars().count() < 300), "{text}");

    // Outside any repository: the configured namespace.
    let out = in_repo(&env, &outside, &["agents", "context"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("elsewhere") && !text.contains("recent-6"),
        "{text}"
    );
    // A namespace named on the command line wins over the repository's.
    let out = in_repo(&env, &repo, &["--namespace", "global", "agents", "context"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("elsewhere") && !text.contains("recent-6"),
        "{text}"
    );
    // An empty namespace: nothing.
    let out = in_repo(&env, &repo, &["--namespace", "empty", "agents", "context"]);
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
}

#[test]
fn agents_context_never_fails_a_session_start() {
    let env = TestEnv::new();
    env.remember("keep", "x");
    let bad_config = env.dir.path().join("config.json");
    std::fs::write(&bad_config, "{not json").unwrap();
    let garbage = env.dir.path().join("garbage.sqlite");
    std::fs::write(&garbage, vec![7u8; 8192]).unwrap();
    let db = env.db.to_str().unwrap();
    for args in [
        vec![
            "--db",
            db,
            "--config",
            bad_config.to_str().unwrap(),
            "agents",
            "context",
        ],
        vec!["--db", db, "--namespace", "auto", "agents", "context"],
        vec!["--db", garbage.to_str().unwrap(), "agents", "context"],
    ] {
        let mut cmd = crate::common::bare_cmd(env.dir.path());
        cmd.args(&args).current_dir(env.dir.path());
        let out = run(cmd, "");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.starts_with("sqlite-graphrag agents context: ") && stderr.lines().count() == 1,
            "{args:?}: {stderr}"
        );
    }
}

/// The fenced code blocks of a Markdown text, as (language, text).
fn fenced_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in markdown.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(lang)) => open = Some((lang.trim().to_owned(), String::new())),
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some((_, text)), None) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed code block");
    blocks
}

/// An MCP server configured in the documents: where, and how it starts.
///
#[derive(Debug)]
pub struct DocumentedServer {
    pub file: String,
    pub command: String,
    pub args: Vec<String>,
}

/// Every MCP server the JSON and TOML blocks of docs/agents configure.
pub fn documented_mcp_servers() -> Vec<DocumentedServer> {
    let mut servers = Vec::new();
    for (file, markdown) in docs() {
        for (lang, text) in fenced_blocks(&markdown) {
            let entries: Vec<Value> = match lang.as_str() {
                "json" => {
                    let json: Value = serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("{file}: bad JSON ({e}):\n{text}"));
                    ["mcpServers", "servers"]
                        .iter()
                        .filter_map(|key| json.get(key))
                        .flat_map(|map| map.as_object().unwrap().values().cloned())
                        .collect()
                }
                "toml" => toml_tables(&file, &text)
                    .into_iter()
                    .filter(|(name, _)| name.starts_with("mcp_servers."))
                    .map(|(_, table)| table)
                    .collect(),
                _ => Vec::new(),
            };
            for entry in entries {
                if lang == "json" && text.contains("\"servers\"") {
                    assert_eq!(entry["type"], "stdio", "{file}: VS Code needs the type");
                }
                let args = entry["args"].as_array().cloned().unwrap_or_default();
                servers.push(DocumentedServer {
                    file: file.clone(),
                    command: entry["command"].as_str().unwrap_or_default().to_owned(),
                    args: args
                        .iter()
                        .map(|a| a.as_str().unwrap().to_owned())
                        .collect(),
                });
            }
        }
    }
    servers
}

/// The tables of a TOML block in the subset the documents use: `[a.b]`
/// headers and `key = value` lines whose value is a string or an array of
/// strings (written as JSON writes them). Anything else fails the test.
fn toml_tables(file: &str, text: &str) -> Vec<(String, Value)> {
    let mut tables: Vec<(String, Value)> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            tables.push((name.to_owned(), Value::Object(Default::default())));
            continue;
        }
        let (key, value) = line
            .split_once(" = ")
            .unwrap_or_else(|| panic!("{file}: not a TOML line this test reads: {line}"));
        let value: Value = serde_json::from_str(value)
            .unwrap_or_else(|e| panic!("{file}: a value this test cannot read ({e}): {line}"));
        let (_, table) = tables.last_mut().expect("a key before any table");
        table[key] = value;
    }
    tables
}

fn docs() -> Vec<(String, String)> {
    let mut files: Vec<_> = std::fs::read_dir(docs_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(p).unwrap())
        })
        .collect()
}

/// Checks a `claude mcp add …` or `codex mcp add …` line: options, the
/// name `sqlite-graphrag`, then `-- sqlite-graphrag mcp`.
fn check_mcp_add(line: &str) {
    let words: Vec<&str> = line.split_whitespace().collect();
    assert!(
        matches!(words[..], [_, "mcp", "add", ..]),
        "not an `mcp add` line: {line}"
    );
    let dashes = words.iter().position(|w| *w == "--").expect("no --");
    assert_eq!(words[dashes - 1], "sqlite-graphrag", "{line}");
    assert_eq!(
        words[dashes + 1..],
        ["sqlite-graphrag", "--namespace", "auto", "mcp"],
        "{line}"
    );
}

#[test]
fn every_command_and_snippet_in_the_agent_docs_works() {
    let env = TestEnv::new();
    let repo = repository(&env);
    let (mut ran, mut hooks, mut mcp_adds) = (0, 0, 0);
    let check = |what: &str, out: &Output| {
        assert!(
            out.status.success(),
            "{what}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    for (file, markdown) in docs() {
        for (lang, text) in fenced_blocks(&markdown) {
            match lang.as_str() {
                "sh" => {
                    for line in text.lines().filter(|l| !l.trim().is_empty()) {
                        let first = line.split_whitespace().next().unwrap();
                        match first {
                            "claude" | "codex" => {
                                check_mcp_add(line);
                                mcp_adds += 1;
                            }
                            "sqlite-graphrag" | "mkdir" | "echo" => {
                                let out = run(shell(&env, &repo, line), "");
                                check(&format!("{file}: {line}"), &out);
                                ran += 1;
                            }
                            _ => panic!("{file}: a command this test does not run: {line}"),
                        }
                    }
                }
                "json" => {
                    let json: Value = serde_json::from_str(&text).unwrap();
                    let Some(events) = json.get("hooks") else {
                        continue;
                    };
                    for (event, entries) in events.as_object().unwrap() {
                        for entry in entries.as_array().unwrap() {
                            for hook in entry["hooks"].as_array().unwrap() {
                                assert_eq!(hook["type"], "command", "{event}");
                                let command = hook["command"].as_str().unwrap();
                                let input = serde_json::json!({
                                    "session_id": "abc123",
                                    "transcript_path": "/tmp/abc123.jsonl",
                                    "cwd": repo,
                                    "hook_event_name": event,
                                })
                                .to_string();
                                let out = run(shell(&env, &repo, command), &input);
                                check(&format!("{file}: {event} hook {command}"), &out);
                                if event == "SessionStart" {
                                    let text = String::from_utf8_lossy(&out.stdout);
                                    assert!(text.contains("release-tagging"), "{text}");
                                }
                                hooks += 1;
                            }
                        }
                    }
                }
                "toml" => drop(toml_tables(&file, &text)),
                other => panic!("{file}: a code block this test does not check: {other:?}"),
            }
        }
    }
    // The commands AGENTS.md gives inline (an agent copies them from the
    // text), with its placeholder NAME standing for a stored memory.
    let agents = doc("AGENTS.md").replace('\n', " ");
    for span in agents.split('`').skip(1).step_by(2) {
        if span.starts_with("sqlite-graphrag ") {
            let line = span.replace(" NAME", " release-tagging");
            let out = run(shell(&env, &repo, &line), "");
            check(&format!("AGENTS.md: {line}"), &out);
            ran += 1;
        }
    }
    assert!(
        ran >= 9 && hooks >= 2 && mcp_adds >= 2,
        "{ran} {hooks} {mcp_adds}"
    );

    // What the commands did: the skill's memory is in the repository's
    // namespace, the hook stored its input, the files were written.
    let read = env.ok(&["read", "release-tagging", "--namespace", REPO]);
    assert_eq!(read["version"], 2, "{read}");
    let sessions = env.ok(&["list", "--type", "session", "--namespace", REPO]);
    let stored = &sessions["items"][0];
    assert!(
        stored["name"].as_str().unwrap().starts_with("compaction-"),
        "{sessions}"
    );
    let body = env.ok(&[
        "read",
        stored["name"].as_str().unwrap(),
        "--namespace",
        REPO,
    ]);
    assert!(
        body["body"].as_str().unwrap().contains("abc123.jsonl"),
        "{body}"
    );
    let skill = env
        .dir
        .path()
        .join(".claude/skills/sqlite-graphrag/SKILL.md");
    assert_eq!(std::fs::read_to_string(skill).unwrap(), doc("SKILL.md"));
    assert_eq!(
        std::fs::read_to_string(repo.join("AGENTS.md")).unwrap(),
        doc("AGENTS.md")
    );

    let servers = documented_mcp_servers();
    assert!(servers.len() >= 4, "{servers:?}");
    for server in &servers {
        assert_eq!(server.command, "sqlite-graphrag", "{}", server.file);
        assert_eq!(
            serve_one_call(&env, &repo, &server.args),
            REPO,
            "{}: {server:?}",
            server.file
        );
    }
}

/// Starts the binary with a documented server's arguments in `cwd`, as a
/// client would, and returns the namespace a `remember` call wrote to.
fn serve_one_call(env: &TestEnv, cwd: &Path, args: &[String]) -> String {
    let mut server = Command::new(binary())
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("HOME", env.dir.path())
        .env("SQLITE_GRAPHRAG_DB", &env.db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let requests = [
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "docs", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "remember", "arguments": {"name": "from-mcp", "body": "Written through the documented server.", "update": true}}}),
    ];
    let mut stdin = server.stdin.take().unwrap();
    for request in requests {
        writeln!(stdin, "{request}").unwrap();
    }
    drop(stdin);
    let out = server.wait_with_output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    let answers: Vec<Value> = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect();
    let result = &answers.last().unwrap()["result"];
    assert_eq!(result["isError"], false, "{args:?}: {result}");
    result["structuredContent"]["namespace"]
        .as_str()
        .unwrap()
        .to_owned()
}
