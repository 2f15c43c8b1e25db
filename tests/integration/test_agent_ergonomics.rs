//! Result ergonomics: one spelling of a result count, relative times,
//! bodies in results, several names to `read`, `list` paging, score thresholds.

use serde_json::{Value, json};

use crate::common::{History, MemoryList, ReadMany, ReadMemory, SearchResults, TestEnv};

fn names(out: &Value) -> Vec<String> {
    out["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Five memories about deploys, one of them written long ago, and a
/// memory of another topic written now.
fn seeded() -> TestEnv {
    let env = TestEnv::new();
    let mut lines: Vec<Value> = (1..=4)
        .map(|i| json!({"name": format!("deploy-{i}"), "body": format!("Deploy step {i}: the staging checks pass before production.")}))
        .collect();
    lines.push(json!({"name": "old-deploy", "body": "Deploy notes from the staging rollout of long ago.", "created_at": "2020-01-01T00:00:00Z"}));
    lines.push(
        json!({"name": "cat", "body": "Our cat Miso sleeps all afternoon on the warm windowsill."}),
    );
    let jsonl: String = lines.iter().map(|l| format!("{l}\n")).collect();
    env.ok_stdin(&["import", "-"], jsonl);
    env
}

#[test]
fn k_and_limit_are_one_count_everywhere() {
    let env = seeded();
    for verb in ["search", "recall", "hybrid-search", "deep-research"] {
        for flag in ["-k", "--limit", "--k"] {
            let out = env.ok(&[verb, "deploy staging", flag, "2"]);
            assert_eq!(names(&out).len(), 2, "{verb} {flag}: {out}");
        }
        env.error(&[verb, "deploy", "--limit", "0"], 2);
    }
    for flag in ["-k", "--limit"] {
        let list: MemoryList = env.ok_as(&["list", flag, "3"]);
        assert_eq!(list.items.len(), 3, "list {flag}");
    }
    env.remember("a", "first text");
    env.ok(&["edit", "a", "--body", "second text"]);
    env.ok(&["edit", "a", "--body", "third text"]);
    for flag in ["-k", "--limit"] {
        let history: History = env.ok_as(&["history", "a", flag, "2"]);
        let bodies: Vec<&str> = history.versions.iter().map(|v| v.body.as_str()).collect();
        assert_eq!(bodies, ["second text", "third text"], "history {flag}");
    }
    let all: History = env.ok_as(&["history", "a"]);
    assert_eq!(all.versions.len(), 3);
    env.error(&["history", "a", "-k", "0"], 2);
    for to in ["beta", "gamma"] {
        env.ok(&["link", "--from", "alpha", "--to", to, "--relation", "uses"]);
    }
    for flag in ["-k", "--limit"] {
        let out = env.ok(&["entities", flag, "1"]);
        assert_eq!(
            out["entities"].as_array().unwrap().len(),
            1,
            "entities {flag}"
        );
        env.ok(&["related", "--entity", "alpha", flag, "1"]);
    }
    env.error(&["related", "--entity", "alpha", "-k", "0"], 2);
}

#[test]
fn since_and_until_take_durations_back_from_now() {
    let env = seeded();
    for verb in ["search", "recall", "hybrid-search"] {
        let recent = names(&env.ok(&[verb, "deploy staging", "--since", "7d"]));
        assert!(
            !recent.is_empty() && !recent.contains(&"old-deploy".to_owned()),
            "{verb}: {recent:?}"
        );
        let old = names(&env.ok(&[verb, "deploy staging", "--until", "2h"]));
        assert_eq!(old, ["old-deploy"], "{verb}");
        let absolute = names(&env.ok(&[verb, "deploy staging", "--until", "2021-01-01"]));
        assert_eq!(absolute, ["old-deploy"], "{verb}");
        let error = env.error(&[verb, "deploy", "--since", "7 days"], 5);
        assert_eq!(error.kind, "invalid_input");
        assert!(error.message.contains("7d"), "{}", error.message);
    }
}

#[test]
fn results_carry_bodies_on_request() {
    let env = TestEnv::new();
    let body = "Ünïcode déploy: the staging checks pass, then production gets the build.";
    env.remember("deploy", body);
    for verb in ["search", "recall", "hybrid-search", "deep-research"] {
        let plain = env.ok(&[verb, "deploy staging"]);
        let first = &plain["results"][0];
        assert!(
            first.get("body").is_none() && first.get("excerpt").is_none(),
            "{verb}: {plain}"
        );
        let full = env.ok(&[verb, "deploy staging", "--with-body"]);
        assert_eq!(full["results"][0]["body"], body, "{verb}");
        assert!(full["results"][0].get("excerpt").is_none(), "{verb}");
        let cut = env.ok(&[verb, "deploy staging", "--snippet-chars", "9"]);
        assert_eq!(cut["results"][0]["excerpt"], "Ünïcode d", "{verb}");
        assert!(cut["results"][0].get("body").is_none(), "{verb}");
        let both = env.ok(&[
            verb,
            "deploy staging",
            "--snippet-chars",
            "1000",
            "--with-body",
        ]);
        assert_eq!(both["results"][0]["excerpt"], body, "{verb}");
        assert_eq!(both["results"][0]["body"], body, "{verb}");
        for bad in ["0", "-3", "ten"] {
            env.error(&[verb, "deploy", "--snippet-chars", bad], 2);
        }
    }
    let typed: SearchResults = env.ok_as(&["search", "deploy", "--with-body"]);
    assert_eq!(typed.results[0].body.as_deref(), Some(body));
}

#[test]
fn read_takes_several_names() {
    let env = TestEnv::new();
    env.remember("a", "alpha body");
    env.remember("b", "bravo body");
    let one: ReadMemory = env.ok_as(&["read", "a"]);
    assert_eq!(one.memory.body.as_deref(), Some("alpha body"));
    let both: ReadMany = env.ok_as(&["read", "b", "nope", "a", "b"]);
    let memories = both.memories;
    let found: Vec<&str> = memories.iter().map(|m| m.memory.name.as_str()).collect();
    assert_eq!(found, ["b", "a"]);
    assert_eq!(memories[1], one);
    assert_eq!(both.missing, ["nope"]);
    let none = env.error(&["read", "nope", "gone"], 3);
    assert_eq!(none.kind, "not_found");
    assert!(none.message.contains("nope"), "{}", none.message);
    assert_eq!(env.error(&["read", "nope"], 3).kind, "not_found");
    assert_eq!(
        env.error(&["read", "a", "bad name!"], 5).kind,
        "invalid_input"
    );
    env.error(&["read"], 2);
}

#[test]
fn list_reports_the_total_and_whether_more_follow() {
    let env = seeded();
    let page: MemoryList = env.ok_as(&["list", "--limit", "4"]);
    assert_eq!((page.items.len(), page.total, page.more), (4, 6, true));
    let last: MemoryList = env.ok_as(&["list", "--limit", "4", "--offset", "4"]);
    assert_eq!((last.items.len(), last.total, last.more), (2, 6, false));
    let exact: MemoryList = env.ok_as(&["list", "--limit", "6"]);
    assert_eq!((exact.total, exact.more), (6, false));
    let past: MemoryList = env.ok_as(&["list", "--offset", "10"]);
    assert_eq!((past.items.len(), past.total, past.more), (0, 6, false));
    env.ok(&["forget", "cat"]);
    let live: MemoryList = env.ok_as(&["list", "-k", "1"]);
    assert_eq!((live.total, live.more), (5, true));
    let all: MemoryList = env.ok_as(&["list", "-k", "1", "--include-deleted"]);
    assert_eq!(all.total, 6);
    let typed: MemoryList = env.ok_as(&["list", "--type", "decision"]);
    assert_eq!((typed.items.len(), typed.total, typed.more), (0, 0, false));
}

fn scores(out: &SearchResults) -> Vec<f64> {
    out.results.iter().map(|r| r.score).collect()
}

#[test]
fn fused_scores_are_absolute_and_thresholds_drop_hits() {
    let env = seeded();
    let query = "when do the staging checks pass";
    let recall: SearchResults = env.ok_as(&["recall", query]);
    for r in &recall.results {
        let cosine = r.matched.vector_score.unwrap();
        assert!((r.score - cosine).abs() < 1e-6, "{recall:?}");
    }
    for args in [
        &["hybrid-search", query][..],
        &["hybrid-search", query, "--no-graph"],
        &["recall", query, "--graph"],
    ] {
        let out: SearchResults = env.ok_as(args);
        let best_cosine = out
            .results
            .iter()
            .filter_map(|r| r.matched.vector_score)
            .fold(f64::MIN, f64::max);
        let listed = scores(&out);
        assert!(
            (listed[0] - best_cosine).abs() < 1e-6,
            "{args:?}: {listed:?}"
        );
        assert!(
            listed.windows(2).all(|w| w[0] >= w[1]),
            "{args:?}: {listed:?}"
        );
        let cut = (listed[0] + listed[listed.len() - 1]) / 2.0;
        let kept: SearchResults = env.ok_as(&[args, &["--min-score", &cut.to_string()]].concat());
        let expected: Vec<f64> = listed.iter().copied().filter(|&s| s >= cut).collect();
        assert_eq!(scores(&kept), expected, "{args:?}");
        assert!(expected.len() < listed.len(), "{args:?}");
    }
    for verb in ["search", "recall", "hybrid-search"] {
        let none: SearchResults = env.ok_as(&[verb, query, "--min-score", "1000"]);
        assert!(none.results.is_empty(), "{verb}");
        let all: SearchResults = env.ok_as(&[verb, query, "--min-score", "-1"]);
        assert!(!all.results.is_empty(), "{verb}");
        assert_eq!(
            env.error(&[verb, query, "--min-score", "NaN"], 5).kind,
            "invalid_input"
        );
        env.error(&[verb, query, "--min-score", "high"], 2);
    }
    let off_topic: SearchResults = env.ok_as(&["hybrid-search", "What is the capital of France?"]);
    let on_topic: SearchResults =
        env.ok_as(&["hybrid-search", "staging checks before production deploys"]);
    assert!(
        off_topic.results[0].score < on_topic.results[0].score - 0.05,
        "{off_topic:?} {on_topic:?}"
    );
}

#[test]
fn a_count_of_zero_is_refused_by_every_verb() {
    let env = TestEnv::new();
    env.remember("one", "a memory");
    for args in [
        &["list", "--limit", "0"][..],
        &["entities", "-k", "0"],
        &["search", "memory", "-k", "0"],
        &["related", "one", "--limit", "0"],
    ] {
        env.fails(args, 2);
    }
}
