//! `deep-research`: sub-questions searched as `hybrid-search` does, merged
//! by reciprocal rank fusion, with the evidence of each result; split by
//! the heuristic, or by the fake `claude` and `codex` of tests/fakes.

use crate::common::{Finding, Research, SearchResults, TestEnv};

const TWO_PARTS: &str = "who maintains the billing service and where are the backups stored?";

/// Lower-case bodies (the built-in extractor finds no entity in them),
/// two of them written one after the other in session `s1`.
const MEMORIES: [(&str, &str, Option<&str>); 8] = [
    (
        "billing-owner",
        "rita maintains the billing service and reviews its invoices",
        None,
    ),
    (
        "backup-place",
        "nightly backups are stored in the cold bucket in frankfurt",
        None,
    ),
    ("lunch", "the cafeteria serves soup on mondays", None),
    ("standup", "the standup meeting moved to nine", None),
    (
        "release",
        "version two adds a dark mode to the dashboard",
        None,
    ),
    (
        "zebra-seed",
        "zebra crossing schedule for the school",
        Some("s1"),
    ),
    ("zebra-next", "plain words only", Some("s1")),
    ("zebra-other", "a zebra note about stripes", None),
];

fn populated(env: &TestEnv) {
    for (name, body, session) in MEMORIES {
        let mut args = vec!["remember", "--name", name, "--body", body];
        if let Some(session) = session {
            args.extend(["--session", session]);
        }
        env.ok(&args);
    }
}

fn research(env: &TestEnv, args: &[&str]) -> Research {
    env.ok_as(args)
}

fn finding<'a>(research: &'a Research, name: &str) -> &'a Finding {
    research
        .results
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("{name} not found: {research:?}"))
}

/// `(sub-question, rank)` of each piece of evidence.
fn places(finding: &Finding) -> Vec<(usize, u64)> {
    finding
        .evidence
        .iter()
        .map(|e| (e.sub_question, e.rank))
        .collect()
}

#[test]
fn the_whole_question_alone_finds_what_hybrid_search_finds() {
    let env = TestEnv::new();
    populated(&env);
    let question = "zebra crossing schedule";
    let out = research(&env, &["deep-research", question, "-k", "5"]);
    assert_eq!(out.question, question);
    assert_eq!(out.sub_questions.len(), 1, "{out:?}");
    assert_eq!(out.sub_questions[0].text, question);
    assert_eq!(out.sub_questions[0].source, "question");
    assert_eq!(out.splitter.kind, "heuristic");
    assert!(out.splitter.error.is_none());
    let hybrid: SearchResults = env.ok_as(&["hybrid-search", question, "-k", "5"]);
    let found: Vec<&str> = out.results.iter().map(|f| f.name.as_str()).collect();
    let expected: Vec<&str> = hybrid.results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(found, expected);
    for (i, (finding, hit)) in out.results.iter().zip(&hybrid.results).enumerate() {
        assert_eq!(places(finding), [(0, i as u64 + 1)]);
        assert_eq!(finding.memory_id, hit.memory_id);
        assert_eq!(finding.snippet, hit.snippet);
        assert_eq!(finding.evidence[0].via, hit.matched.via);
        assert!((finding.score - 1.0 / (6.0 + i as f64)).abs() < 1e-9);
    }
}

#[test]
fn each_part_of_a_question_finds_its_evidence() {
    let env = TestEnv::new();
    populated(&env);
    let out = research(&env, &["deep-research", TWO_PARTS]);
    let subs: Vec<(usize, &str, &str)> = out
        .sub_questions
        .iter()
        .map(|s| (s.index, s.text.as_str(), s.source.as_str()))
        .collect();
    assert_eq!(
        subs,
        [
            (0, TWO_PARTS, "question"),
            (1, "who maintains the billing service", "heuristic"),
            (2, "where are the backups stored", "heuristic"),
        ]
    );
    assert!(places(finding(&out, "billing-owner")).contains(&(1, 1)));
    assert!(places(finding(&out, "backup-place")).contains(&(2, 1)));
    let names: Vec<&str> = out.results[..2].iter().map(|f| f.name.as_str()).collect();
    assert!(
        names.contains(&"billing-owner") && names.contains(&"backup-place"),
        "{names:?}"
    );
    for finding in &out.results {
        let lists: Vec<usize> = finding.evidence.iter().map(|e| e.sub_question).collect();
        assert!(lists.windows(2).all(|w| w[0] < w[1]), "{finding:?}");
    }
    let scores: Vec<f64> = out.results.iter().map(|f| f.score).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    let top2 = research(&env, &["deep-research", TWO_PARTS, "-k", "2"]);
    assert_eq!(top2.results, out.results[..2]);
    let one = research(&env, &["deep-research", TWO_PARTS, "-k", "1"]);
    assert_eq!(one.results.len(), 1);
}

#[test]
fn a_graph_path_is_evidence() {
    let env = TestEnv::new();
    populated(&env);
    let out = research(&env, &["deep-research", "zebra crossing schedule"]);
    let next = finding(&out, "zebra-next");
    let via = next.evidence[0]
        .via
        .as_ref()
        .expect("reached through the graph");
    assert_eq!(via.memory.as_deref(), Some("zebra-seed"));
    assert_eq!(via.session.as_deref(), Some("s1"));
    let plain = research(
        &env,
        &["deep-research", "zebra crossing schedule", "--no-graph"],
    );
    assert!(
        plain
            .results
            .iter()
            .all(|f| f.evidence.iter().all(|e| e.via.is_none()))
    );
}

#[test]
fn bad_input_fails_and_writes_nothing() {
    let env = TestEnv::new();
    for question in ["", "   ", "?! ..."] {
        let error = env.error(&["deep-research", question], 5);
        assert_eq!(error.kind, "invalid_input", "{question:?}");
    }
    assert!(!env.db.exists(), "a database was created");
    populated(&env);
    let before = env.export_all();
    env.error(&["deep-research", ""], 5);
    // As for every search, `-k` is checked by the command-line parser.
    assert_eq!(
        env.error(&["deep-research", TWO_PARTS, "-k", "0"], 2).kind,
        "usage"
    );
    // A namespace nothing was written to finds nothing, without failing.
    let empty = env.ok(&["--namespace", "nowhere", "deep-research", TWO_PARTS]);
    assert_eq!(empty["results"], serde_json::json!([]), "{empty}");
    assert_eq!(
        env.error(&["deep-research", TWO_PARTS, "--model", "m"], 2)
            .kind,
        "usage"
    );
    assert_eq!(env.export_all(), before);
}

/// Splitting by the fake tools: their sub-questions, the fallback to the
/// heuristic, and the failures that need the user.
#[cfg(unix)]
mod with_backends {
    use serde_json::{Value, json};

    use super::*;
    use crate::common::typed;
    use crate::test_llm::Llm;

    fn llm() -> Llm {
        let llm = Llm::new();
        populated(&llm.env);
        llm
    }

    /// Runs `deep-research` on [`TWO_PARTS`] with `--backend B`; returns
    /// the exit code and the JSON output.
    fn run(llm: &Llm, backend: &str, vars: &[(&str, &str)]) -> (Option<i32>, Value) {
        let args = [
            "deep-research",
            TWO_PARTS,
            "--backend",
            backend,
            "--model",
            "m1",
        ];
        let out = llm.cmd(vars).args(args).output().unwrap();
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}\nstdout {}\nstderr {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code(), json)
    }

    fn ok(llm: &Llm, backend: &str) -> Research {
        let (code, json) = run(llm, backend, &[]);
        assert_eq!(code, Some(0), "{json}");
        typed(&["deep-research"], json)
    }

    #[test]
    fn the_backends_sub_questions_are_searched() {
        for backend in ["claude", "codex"] {
            let llm = llm();
            let reply = json!({"sub_questions": [
                "Who maintains the billing service?",
                "Where are the nightly backups stored?",
                "who maintains the billing service and where are the backups stored?"
            ]});
            llm.knobs(backend, json!({ "reply": reply }));
            let out = ok(&llm, backend);
            assert_eq!(out.splitter.kind, backend);
            assert!(out.splitter.error.is_none());
            let subs: Vec<(&str, &str)> = out
                .sub_questions
                .iter()
                .map(|s| (s.text.as_str(), s.source.as_str()))
                .collect();
            assert_eq!(
                subs,
                [
                    (TWO_PARTS, "question"),
                    ("Who maintains the billing service?", backend),
                    ("Where are the nightly backups stored?", backend),
                ]
            );
            assert!(places(finding(&out, "billing-owner")).contains(&(1, 1)));
            assert!(places(finding(&out, "backup-place")).contains(&(2, 1)));
            let runs = llm.runs(backend);
            assert_eq!(runs.len(), 1);
            let prompt = runs[0]["stdin"].as_str().unwrap();
            assert!(prompt.ends_with(&format!("{TWO_PARTS}\n")), "{prompt}");
            let argv = runs[0]["argv"].to_string();
            assert!(
                argv.contains("--json-schema") || argv.contains("--output-schema"),
                "{argv}"
            );
            assert!(argv.contains(r#""m1""#), "the model is passed on: {argv}");
        }
    }

    #[test]
    fn a_failing_backend_leaves_the_split_to_the_heuristic() {
        let cases = [
            ("claude", json!({"mode": "malformed"}), "llm_failed", 2),
            (
                "claude",
                json!({"mode": "usage_limit"}),
                "llm_unavailable",
                1,
            ),
            (
                "codex",
                json!({"reply": {"sub_questions": []}}),
                "llm_failed",
                2,
            ),
            (
                "codex",
                json!({"mode": "usage_limit"}),
                "llm_unavailable",
                1,
            ),
        ];
        for (backend, knobs, kind, attempts) in cases {
            let llm = llm();
            llm.knobs(backend, knobs);
            let out = ok(&llm, backend);
            assert_eq!(out.splitter.kind, "heuristic", "{backend} {kind}");
            let error = out
                .splitter
                .error
                .as_ref()
                .expect("the failure is reported");
            assert_eq!(error.kind, kind, "{backend}: {}", error.message);
            assert!(error.message.contains(backend), "{}", error.message);
            let sources: Vec<&str> = out
                .sub_questions
                .iter()
                .map(|s| s.source.as_str())
                .collect();
            assert_eq!(sources, ["question", "heuristic", "heuristic"]);
            assert!(places(finding(&out, "backup-place")).contains(&(2, 1)));
            assert_eq!(llm.runs(backend).len(), attempts, "{backend} {kind}");
        }
    }

    #[test]
    fn an_api_key_a_failed_login_or_a_missing_tool_fails_the_command() {
        for (backend, var) in [("claude", "ANTHROPIC_API_KEY"), ("codex", "OPENAI_API_KEY")] {
            let llm = llm();
            let (code, json) = run(&llm, backend, &[(var, "sk-test")]);
            assert_eq!(code, Some(13), "{json}");
            assert_eq!(json["error"]["kind"], "api_key_refused");
            assert!(llm.record(backend).is_empty(), "{backend} was started");
        }
        for backend in ["claude", "codex"] {
            let llm = llm();
            llm.knobs(backend, json!({"mode": "auth"}));
            let (code, json) = run(&llm, backend, &[]);
            assert_eq!(code, Some(15), "{json}");
            assert_eq!(json["error"]["kind"], "llm_auth");
        }
        let llm = llm();
        let missing = llm.env.dir.path().join("no-such-claude");
        let missing = missing.to_str().unwrap();
        let (code, json) = run(&llm, "claude", &[("SQLITE_GRAPHRAG_CLAUDE_BIN", missing)]);
        assert_eq!(code, Some(127), "{json}");
    }
}
