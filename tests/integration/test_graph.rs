//! The entity graph: traversal with exact scores on a small known graph,
//! and what forgetting, restoring and purging a memory do to it.

use serde_json::{Value, json};

use crate::common::TestEnv;

/// Remembers `name` with a lower-case body (which the built-in extractor
/// finds nothing in) and the entities given explicitly.
fn remember_with(env: &TestEnv, name: &str, entities: &[&str]) {
    let list: Vec<Value> = entities.iter().map(|e| json!({ "name": e })).collect();
    let graph = json!({ "entities": list }).to_string();
    env.ok_stdin(
        &[
            "remember",
            "--name",
            name,
            "--body",
            "plain words only",
            "--graph-stdin",
        ],
        graph,
    );
}

fn link(env: &TestEnv, from: &str, to: &str, relation: &str, weight: &str) {
    env.ok(&[
        "link",
        "--from",
        from,
        "--to",
        to,
        "--relation",
        relation,
        "--weight",
        weight,
    ]);
}

/// `(name, hops, score rounded to 4 places)` of each result, in order.
fn related(env: &TestEnv, args: &[&str]) -> Vec<(String, u64, f64)> {
    let mut full = vec!["related"];
    full.extend_from_slice(args);
    env.ok(&full)["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["hops"].as_u64().unwrap(),
                (r["score"].as_f64().unwrap() * 10_000.0).round() / 10_000.0,
            )
        })
        .collect()
}

fn expect(list: &[(&str, u64, f64)]) -> Vec<(String, u64, f64)> {
    list.iter()
        .map(|(n, h, s)| ((*n).to_owned(), *h, *s))
        .collect()
}

/// A -works_with(0.8)-> B <-depends_on(0.5)- C, and the hub H that four
/// memories mention, A -knows-> H.
fn known_graph() -> TestEnv {
    let env = TestEnv::new();
    remember_with(&env, "m-a", &["A"]);
    remember_with(&env, "m-b", &["B"]);
    remember_with(&env, "m-c", &["C"]);
    for i in 0..4 {
        remember_with(&env, &format!("m-h{i}"), &["H"]);
    }
    link(&env, "A", "B", "works_with", "0.8");
    link(&env, "C", "B", "depends_on", "0.5");
    link(&env, "A", "H", "knows", "1");
    env
}

#[test]
fn traversal_scores_decay_per_hop_and_hubs_are_dampened() {
    let env = known_graph();
    assert_eq!(
        related(&env, &["--entity", "a"]),
        expect(&[
            ("m-a", 0, 1.0),
            ("m-b", 1, 0.4),
            ("m-h3", 1, 0.25),
            ("m-h2", 1, 0.25),
            ("m-h1", 1, 0.25),
            ("m-h0", 1, 0.25),
            ("m-c", 2, 0.1),
        ])
    );
    let first = &env.ok(&["related", "--entity", "A"])["results"];
    assert_eq!(
        first[6]["via"],
        json!([
            {"entity": "A", "relation": null, "direction": null},
            {"entity": "B", "relation": "works_with", "direction": "out"},
            {"entity": "C", "relation": "depends_on", "direction": "in"},
        ])
    );
    assert_eq!(
        related(
            &env,
            &["--entity", "A", "--hops", "1", "--min-weight", "0.9"]
        ),
        expect(&[
            ("m-a", 0, 1.0),
            ("m-h3", 1, 0.25),
            ("m-h2", 1, 0.25),
            ("m-h1", 1, 0.25),
            ("m-h0", 1, 0.25)
        ])
    );
    assert_eq!(
        related(&env, &["--entity", "A", "--relation", "works_with"]),
        expect(&[("m-a", 0, 1.0), ("m-b", 1, 0.4)])
    );
    assert_eq!(
        related(&env, &["m-b", "--hops", "1"]),
        expect(&[("m-a", 1, 0.4), ("m-c", 1, 0.25)])
    );
}

#[test]
fn a_cycle_keeps_the_best_path() {
    let env = known_graph();
    link(&env, "C", "A", "cycles", "1");
    let results = &env.ok(&["related", "--entity", "A", "--relation", "cycles"])["results"];
    assert_eq!(results[1]["name"], "m-c");
    assert_eq!(results[1]["hops"], 1);
    assert_eq!(results[1]["score"], 0.5);
    assert_eq!(results[1]["via"][1]["direction"], "in");
}

#[test]
fn forgotten_memories_hide_what_only_they_assert_until_restored_or_purged() {
    let env = TestEnv::new();
    let graph = json!({
        "entities": [{"name": "Alpha"}, {"name": "Beta"}],
        "relationships": [{"from": "Alpha", "to": "Beta", "relation": "feeds", "weight": 0.7}]
    })
    .to_string();
    env.ok_stdin(
        &[
            "remember",
            "--name",
            "m",
            "--body",
            "plain words",
            "--graph-stdin",
        ],
        graph,
    );
    let degree = |name: &str| env.ok(&["entity", name])["degree"].clone();
    assert_eq!(degree("alpha"), 1);
    env.ok(&["forget", "m"]);
    assert_eq!(env.ok(&["entities"])["entities"], json!([]));
    assert_eq!(degree("alpha"), 0);
    env.ok(&["restore", "m"]);
    assert_eq!(degree("alpha"), 1);
    env.ok(&["forget", "m"]);
    env.ok(&["purge", "--yes"]);
    env.fails(&["entity", "alpha"], 3);
    assert_eq!(env.ok(&["health"])["ok"], true);
}

#[test]
fn bad_graph_input_is_refused_and_changes_nothing() {
    let env = TestEnv::new();
    env.ok(&["remember", "--name", "kept", "--body", "plain words"]);
    let before = (
        env.ok(&["list"]),
        env.ok(&["entities"]),
        env.ok(&["graph", "export"]),
    );
    let file = env.dir.path().join("graph.json");
    let many: Vec<Value> = (0..10_000)
        .map(|i| json!({ "name": format!("e{i}") }))
        .collect();
    let cases: [(&str, Value, i32); 6] = [
        ("entities", json!([{"name": "x", "typo": 1}]), 5),
        ("entities", json!({"name": "not an array"}), 5),
        ("entities", Value::Array(many), 6),
        (
            "relationships",
            json!([{"from": "a", "to": "b", "relation": "has space"}]),
            5,
        ),
        (
            "relationships",
            json!([{"from": "a", "to": "b", "relation": "r", "weight": 0}]),
            5,
        ),
        (
            "relationships",
            json!([{"from": "a", "to": "b", "relation": "r", "weight": 1.5}]),
            5,
        ),
    ];
    for (kind, content, code) in cases {
        std::fs::write(&file, content.to_string()).unwrap();
        let flag = format!("--{kind}-file");
        env.fails(
            &[
                "remember",
                "--name",
                "new",
                "--body",
                "b",
                &flag,
                file.to_str().unwrap(),
            ],
            code,
        );
        env.fails(
            &[
                "edit",
                "kept",
                "--body",
                "changed",
                &flag,
                file.to_str().unwrap(),
            ],
            code,
        );
    }
    env.fails(&["unlink", "--from", "nobody", "--to", "nothing"], 3);
    env.fails(
        &["link", "--from", "a", "--to", "b", "--relation", "Bad Name"],
        5,
    );
    env.fails(
        &[
            "link",
            "--from",
            "a",
            "--to",
            "b",
            "--relation",
            "r",
            "--weight",
            "-1",
        ],
        5,
    );
    env.fails(
        &["link", "--from", "same", "--to", "SAME", "--relation", "r"],
        5,
    );
    let after = (
        env.ok(&["list"]),
        env.ok(&["entities"]),
        env.ok(&["graph", "export"]),
    );
    assert_eq!(before, after);
}

/// A small deterministic generator, so that a failing sequence can be run
/// again from its seed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[test]
fn random_changes_leave_a_consistent_graph() {
    const NAMES: [&str; 6] = ["Ada", "Bob", "Cleo", "Dan", "Eve", "src/app.rs"];
    for seed in 1..=4u64 {
        let env = TestEnv::new();
        env.ok(&["init"]);
        let mut rng = Lcg(seed);
        let pick = |rng: &mut Lcg| NAMES[rng.below(NAMES.len() as u64) as usize];
        for step in 0..60 {
            let memory = format!("m{}", rng.below(5));
            let (a, b) = (pick(&mut rng), pick(&mut rng));
            let body = format!("{a} talked with {b} about {}", pick(&mut rng));
            let args: Vec<String> = match rng.below(9) {
                0 | 1 => vec![
                    "remember".into(),
                    "--name".into(),
                    memory,
                    "--body".into(),
                    body,
                    "--update".into(),
                ],
                2 => vec!["edit".into(), memory, "--body".into(), body],
                3 => vec!["forget".into(), memory],
                4 => vec!["restore".into(), memory],
                5 => vec!["purge".into(), "--yes".into()],
                6 => vec![
                    "link".into(),
                    "--from".into(),
                    a.into(),
                    "--to".into(),
                    b.into(),
                    "--relation".into(),
                    "knows".into(),
                ],
                7 => vec![
                    "unlink".into(),
                    "--from".into(),
                    a.into(),
                    "--to".into(),
                    b.into(),
                ],
                _ => vec!["merge-entities".into(), a.into(), "--into".into(), b.into()],
            };
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = env.cmd().args(&args).output().unwrap();
            let code = out.status.code();
            assert!(
                matches!(code, Some(0 | 3 | 4 | 5)),
                "seed {seed} step {step} {args:?}: {code:?} {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let health = env.ok(&["health"]);
            assert_eq!(
                health["graph_problems"],
                json!([]),
                "seed {seed} step {step} {args:?}: {health}"
            );
        }
    }
}

/// The result named `name` of a search, with its `match`.
fn found<'a>(results: &'a Value, name: &str) -> Option<&'a Value> {
    results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
}

#[test]
fn searches_rank_session_neighbours_through_the_graph_unless_told_not_to() {
    let env = TestEnv::new();
    let session = ["--session", "s1"];
    let remember = |name: &str, body: &str, extra: &[&str]| {
        let mut args = vec!["remember", "--name", name, "--body", body];
        args.extend_from_slice(extra);
        env.ok(&args);
    };
    remember("seed", "zebra crossing schedule", &session);
    remember("next", "plain words only", &session);
    for i in 0..4 {
        remember(&format!("other-{i}"), &format!("zebra note {i}"), &[]);
    }
    let hybrid = env.ok(&["hybrid-search", "zebra", "-k", "6"]);
    let next = &found(&hybrid, "next").unwrap()["match"];
    assert_eq!(next["graph_rank"], 1);
    assert_eq!(next["graph_score"], 0.6);
    assert_eq!(next["via"], json!({"memory": "seed", "session": "s1"}));
    for args in [
        &["hybrid-search", "zebra", "-k", "6", "--no-graph"][..],
        &["hybrid-search", "zebra", "-k", "6", "--graph", "--no-graph"],
        &["recall", "zebra", "-k", "6"],
    ] {
        let plain = env.ok(args);
        let next = found(&plain, "next").map(|r| &r["match"]);
        assert!(next.is_none_or(|m| m["graph_rank"].is_null()), "{args:?}");
    }
    for graph_on in ["--graph", "--hops=0"] {
        let recall = env.ok(&["recall", "zebra", "-k", "6", graph_on]);
        assert_eq!(found(&recall, "next").unwrap()["match"]["graph_rank"], 1);
    }
    env.fails(&["hybrid-search", "zebra", "--hops", "4"], 2);
    env.fails(&["hybrid-search", "zebra", "--no-graph", "--hops", "1"], 2);
    env.fails(&["search", "zebra", "--graph"], 2);
}

#[test]
fn a_graph_without_types_leaves_known_types_alone() {
    let env = TestEnv::new();
    env.ok(&[
        "link",
        "--from",
        "Ada",
        "--to",
        "Bob",
        "--relation",
        "knows",
        "--type",
        "person",
    ]);
    let graph = json!({
        "entities": [{"name": "ada"}],
        "relationships": [{"from": "Bob", "to": "Cleo", "relation": "knows"}],
    });
    env.ok_stdin(
        &[
            "remember",
            "--name",
            "m",
            "--body",
            "plain words only",
            "--graph-stdin",
        ],
        graph.to_string(),
    );
    let type_of = |name: &str| env.ok(&["entity", name])["type"].clone();
    assert_eq!(type_of("Ada"), "person");
    assert_eq!(type_of("Bob"), "person");
    assert_eq!(type_of("Cleo"), "concept");
    let typed = json!({"entities": [{"name": "Ada", "type": "project"}]});
    env.ok_stdin(&["edit", "m", "--graph-stdin"], typed.to_string());
    assert_eq!(type_of("Ada"), "project");
}

#[test]
fn an_alias_reads_as_the_entity_it_names() {
    let env = known_graph();
    env.ok(&["merge-entities", "b", "--into", "bee"]);
    let entity = env.ok(&["entity", "b"]);
    assert_eq!(entity["name"], "bee");
    assert_eq!(entity["aliases"], json!(["B"]));
    let around = env.ok(&["graph", "export", "--entity", "b"]);
    assert!(
        around["entities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "bee"),
        "{around}"
    );
    assert_eq!(
        related(&env, &["--entity", "b"]),
        related(&env, &["--entity", "bee"])
    );
    env.fails(&["entity", "never-named"], 3);
}
