//! `remember --extract claude|codex` against the fake tools: the memory is
//! stored, then the backend's graph is stored as its assertions.

use serde_json::{Value, json};

use crate::common::{TestEnv, wait_until};
use crate::test_llm::Llm;

const BODY: &str = "Our Rust service keeps its data in SQLite.";

/// A reply with two good entities, a good relationship, and items the
/// validators drop.
fn reply() -> Value {
    json!({
        "entities": [
            {"name": "SQLite", "type": "database", "description": "an embedded database"},
            {"name": "Rust", "type": "Programming Language", "description": null},
            {"name": "", "type": "concept", "description": null}
        ],
        "relationships": [
            {"from": "Rust", "to": "SQLite", "relation": "uses", "weight": 0.8, "description": null},
            {"from": "Rust", "to": "SQLite", "relation": "uses", "weight": 1.7, "description": null}
        ]
    })
}

/// Runs the binary; returns its exit code and its JSON output.
fn run(llm: &Llm, args: &[&str], vars: &[(&str, &str)]) -> (Option<i32>, Value) {
    let out = llm.cmd(vars).args(args).output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: {e}\nstdout {}\nstderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

fn remember(llm: &Llm, extract: &str, vars: &[(&str, &str)]) -> (Option<i32>, Value) {
    run(
        llm,
        &[
            "remember",
            "--name",
            "m",
            "--body",
            BODY,
            "--update",
            "--extract",
            extract,
        ],
        vars,
    )
}

/// The (entity, extractor) pairs of the database's mentions.
fn mentions(llm: &Llm) -> Vec<(String, String)> {
    llm.env.rows(
        "SELECT e.name, m.extractor FROM mentions m JOIN entities e ON e.id = m.entity_id
             ORDER BY m.extractor, e.key",
    )
}

/// The (source, relation, target, extractor, weight) of every assertion.
fn assertions(llm: &Llm) -> Vec<(String, String, String, String, f64)> {
    llm.env.rows(
        "SELECT s.name, r.relation, t.name, a.extractor, a.weight
             FROM assertions a JOIN relationships r ON r.id = a.relationship_id
             JOIN entities s ON s.id = r.source_id JOIN entities t ON t.id = r.target_id
             WHERE a.extractor IN ('claude', 'codex')",
    )
}

fn llm_mentions(llm: &Llm) -> Vec<(String, String)> {
    mentions(llm)
        .into_iter()
        .filter(|(_, by)| by == "claude" || by == "codex")
        .collect()
}

#[test]
fn remember_extract_stores_the_backends_graph_as_its_assertions() {
    for backend in ["claude", "codex"] {
        let llm = Llm::new();
        llm.knobs(backend, json!({"reply": reply()}));
        let (code, out) = remember(&llm, backend, &[]);
        assert_eq!(code, Some(0), "{out}");
        assert_eq!(out["action"], "created");
        let extraction = &out["extraction"];
        assert_eq!(extraction["backend"], backend);
        assert_eq!(extraction["stored"], true);
        assert_eq!(extraction["attempts"], 1);
        assert_eq!(
            extraction["entities"],
            json!([
                {"name": "SQLite", "type": "database", "description": "an embedded database"},
                {"name": "Rust", "type": "programming_language"}
            ])
        );
        assert_eq!(
            extraction["relationships"],
            json!([{"from": "Rust", "to": "SQLite", "relation": "uses", "weight": 0.8, "description": ""}])
        );
        let dropped: Vec<&str> = extraction["dropped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["item"].as_str().unwrap())
            .collect();
        assert_eq!(dropped, ["entities[2]", "relationships[1]"]);

        let runs = llm.runs(backend);
        assert_eq!(runs.len(), 1);
        let prompt = runs[0]["stdin"].as_str().unwrap();
        assert!(
            prompt.contains(BODY) && prompt.contains("name: m"),
            "{prompt}"
        );
        let argv = runs[0]["argv"].to_string();
        assert!(
            argv.contains("--json-schema") || argv.contains("--output-schema"),
            "{argv}"
        );

        assert_eq!(
            llm_mentions(&llm),
            [
                ("Rust".to_owned(), backend.to_owned()),
                ("SQLite".to_owned(), backend.to_owned())
            ]
        );
        assert_eq!(
            assertions(&llm),
            [(
                "Rust".to_owned(),
                "uses".to_owned(),
                "SQLite".to_owned(),
                backend.to_owned(),
                0.8
            )]
        );
        let (_, read) = run(&llm, &["read", "m"], &[]);
        let names: Vec<&str> = read["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"SQLite") && names.contains(&"Rust"),
            "{read}"
        );
        let (_, entity) = run(&llm, &["entity", "SQLite"], &[]);
        assert_eq!(entity["type"], "database", "{entity}");
        assert_eq!(entity["description"], "an embedded database");
        assert_eq!(entity["incoming"][0]["from"], "Rust", "{entity}");
    }
}

#[test]
fn a_malformed_reply_is_asked_again_then_fails_with_the_memory_stored() {
    for (backend, knobs) in [
        ("claude", json!({"mode": "malformed"})),
        (
            "codex",
            json!({"reply": {"entities": "SQLite", "relationships": []}}),
        ),
    ] {
        let llm = Llm::new();
        llm.knobs(backend, knobs);
        let (code, out) = remember(&llm, backend, &[]);
        assert_eq!(code, Some(16), "{out}");
        assert_eq!(out["error"]["kind"], "llm_failed");
        let message = out["error"]["message"].as_str().unwrap();
        assert!(message.contains("is stored (version 1)"), "{message}");
        assert_eq!(llm.runs(backend).len(), 3, "two more attempts");
        let (code, read) = run(&llm, &["read", "m"], &[]);
        assert_eq!(code, Some(0));
        assert_eq!(read["body"], BODY);
        assert!(llm_mentions(&llm).is_empty());
    }
}

#[test]
fn an_api_key_refuses_the_extraction_before_anything_is_stored() {
    let llm = Llm::new();
    llm.knobs("claude", json!({"reply": reply()}));
    let (code, out) = remember(&llm, "claude", &[("ANTHROPIC_API_KEY", "sk-ant-x")]);
    assert_eq!(code, Some(13), "{out}");
    assert_eq!(out["error"]["kind"], "api_key_refused");
    assert!(llm.record("claude").is_empty(), "claude never started");
    assert!(!llm.env.db.exists(), "nothing was written");

    let (code, out) = remember(&llm, "claude", &[]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out["action"], "created");
    assert_eq!(out["extraction"]["stored"], true);
    assert_eq!(llm_mentions(&llm).len(), 2);
}

#[test]
fn a_new_extraction_replaces_what_the_same_backend_asserted_before() {
    let llm = Llm::new();
    llm.knobs("codex", json!({"reply": reply()}));
    assert_eq!(remember(&llm, "codex", &[]).0, Some(0));
    let only_rust = json!({"entities": [{"name": "Rust", "type": "language", "description": null}],
                           "relationships": []});
    llm.knobs("codex", json!({"reply": only_rust}));
    assert_eq!(remember(&llm, "codex", &[]).0, Some(0));
    assert_eq!(
        llm_mentions(&llm),
        [("Rust".to_owned(), "codex".to_owned())]
    );
    assert!(assertions(&llm).is_empty());
}

#[test]
fn a_graph_extracted_from_a_version_that_changed_meanwhile_is_dropped() {
    let llm = Llm::new();
    let gate = llm.env.dir.path().join("go");
    llm.knobs(
        "claude",
        json!({"reply": reply(), "wait_for": gate.display().to_string()}),
    );
    let extracting = llm
        .cmd(&[])
        .args([
            "remember",
            "--name",
            "m",
            "--body",
            BODY,
            "--extract",
            "claude",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(60, "claude to start", || !llm.record("claude").is_empty());
    let (code, out) = run(
        &llm,
        &[
            "remember",
            "--name",
            "m",
            "--body",
            "Another text.",
            "--update",
        ],
        &[],
    );
    assert_eq!((code, &out["version"]), (Some(0), &json!(2)), "{out}");
    std::fs::write(&gate, "").unwrap();
    let finished = extracting.wait_with_output().unwrap();
    let out: Value = serde_json::from_slice(&finished.stdout).unwrap();
    assert_eq!(finished.status.code(), Some(0), "{out}");
    assert_eq!(out["version"], 1);
    assert_eq!(out["extraction"]["stored"], false, "{out}");
    assert!(llm_mentions(&llm).is_empty());
}

#[test]
fn the_configured_model_reaches_the_tool_and_a_bad_one_starts_nothing() {
    let llm = Llm::new();
    llm.knobs("claude", json!({"reply": reply()}));
    llm.knobs("codex", json!({"reply": reply()}));
    let config = llm.env.dir.path().join("config.json");
    std::fs::write(&config, r#"{"codex_model": "gpt-from-file"}"#).unwrap();
    let config = config.to_str().unwrap();
    let vars = [
        ("SQLITE_GRAPHRAG_CLAUDE_MODEL", "opus-from-env"),
        ("SQLITE_GRAPHRAG_CONFIG", config),
    ];
    assert_eq!(remember(&llm, "claude", &vars).0, Some(0));
    assert_eq!(remember(&llm, "codex", &vars).0, Some(0));
    let model_of = |backend| {
        let argv = llm.runs(backend)[0]["argv"].clone();
        let argv: Vec<String> = serde_json::from_value(argv).unwrap();
        let at = argv.iter().position(|a| a == "--model" || a == "-m");
        at.map(|i| argv[i + 1].clone())
    };
    assert_eq!(model_of("claude").as_deref(), Some("opus-from-env"));
    assert_eq!(model_of("codex").as_deref(), Some("gpt-from-file"));

    let (code, out) = remember(
        &llm,
        "claude",
        &[("SQLITE_GRAPHRAG_CLAUDE_MODEL", "--yolo")],
    );
    assert_eq!(code, Some(5), "{out}");
    assert_eq!(llm.runs("claude").len(), 1, "the tool must not start");
}

#[test]
fn an_export_carries_what_the_backends_extracted_and_an_import_restores_it() {
    let llm = Llm::new();
    llm.knobs("claude", json!({"reply": reply()}));
    llm.knobs("codex", json!({"reply": reply()}));
    assert_eq!(remember(&llm, "claude", &[]).0, Some(0));
    assert_eq!(remember(&llm, "codex", &[]).0, Some(0));
    let exported = llm.env.export_all();
    let line: Value = serde_json::from_str(exported.lines().next().unwrap()).unwrap();
    let carried = &line["extracted"];
    assert_eq!(
        carried["claude"]["relationships"][0],
        json!({"from": "Rust", "to": "SQLite", "relation": "uses", "weight": 0.8, "description": ""}),
        "{line}"
    );
    assert_eq!(carried["claude"], carried["codex"], "{line}");
    assert!(line.get("entities").is_none(), "no explicit graph: {line}");

    let copy = TestEnv::new();
    let report = copy
        .cmd()
        .env("SQLITE_GRAPHRAG_EXTRACT", "claude")
        .args(["import", "-"])
        .write_stdin(exported.clone())
        .output()
        .unwrap();
    assert!(report.status.success(), "{report:?}");
    assert_eq!(copy.export_all(), exported, "the round trip is exact");
    let status = copy.ok(&["enrich", "status"]);
    assert_eq!(
        (&status["queued"], &status["done"]),
        (&json!(0), &json!(1)),
        "the carried extraction is not asked for again: {status}"
    );
    let copied = Llm { env: copy };
    assert_eq!(llm_mentions(&copied), llm_mentions(&llm));
}

#[test]
fn an_import_line_carrying_an_unknown_backend_or_a_bad_graph_is_rejected_whole() {
    let env = TestEnv::new();
    let lines = [
        json!({"name": "a", "body": "x", "extracted": {"gpt": {"entities": []}}}),
        json!({"name": "b", "body": "x", "extracted": {"claude": {"entities": [{"name": ""}]}}}),
        json!({"name": "c", "body": "x", "extracted": {"claude": {"nodes": []}}}),
    ];
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let report = env.import_report(&[], input);
    assert_eq!((report.imported, report.failed), (0, 3), "{report:?}");
    assert!(report.errors[0].message.contains("gpt"), "{report:?}");
    assert!(
        report.errors[1].message.contains("extracted.claude"),
        "{report:?}"
    );
}

#[test]
fn an_export_leaves_out_what_was_extracted_from_text_the_memory_no_longer_has() {
    let llm = Llm::new();
    llm.knobs("claude", json!({"reply": reply()}));
    assert_eq!(remember(&llm, "claude", &[]).0, Some(0));
    let carried = |llm: &Llm| {
        let exported = llm.env.export_all();
        let line: Value = serde_json::from_str(exported.lines().next().unwrap()).unwrap();
        line.get("extracted").cloned()
    };
    let (code, _) = run(&llm, &["edit", "m", "--type", "decision"], &[]);
    assert_eq!(code, Some(0));
    assert!(carried(&llm).is_some(), "the text is the one extracted");
    let (code, _) = run(
        &llm,
        &["edit", "m", "--body", "Now it keeps data in Postgres."],
        &[],
    );
    assert_eq!(code, Some(0));
    assert_eq!(
        carried(&llm),
        None,
        "extracted from text the memory no longer has"
    );
}
