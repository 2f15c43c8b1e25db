//! The entity graph under hostile use: graph-aware retrieval must keep to
//! live memories within the filters and the namespace, whatever the query;
//! import must reject bad graph lines by number and change nothing else;
//! and an export must survive a round trip after unusual sequences of
//! graph commands.

use serde_json::{Value, json};

use crate::common::{Health, ImportReport, SearchResults, TestEnv};

/// Runs `import -` with `lines` (see [`TestEnv::import_report`]).
fn import(env: &TestEnv, lines: &[Value]) -> ImportReport {
    let input = lines
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    env.import_report(&[], input)
}

fn assert_graph_healthy(env: &TestEnv) {
    let health: Health = env.ok_as(&["health"]);
    assert!(health.graph_problems.is_empty(), "{health:?}");
}

/// The names of the memories a search returns.
fn found(env: &TestEnv, args: &[&str]) -> Vec<String> {
    let results: SearchResults = env.ok_as(args);
    results.results.into_iter().map(|r| r.name).collect()
}

/// The names a search returns through the graph alone.
fn found_by_graph(env: &TestEnv, args: &[&str]) -> Vec<String> {
    let results: SearchResults = env.ok_as(args);
    results
        .results
        .into_iter()
        .filter(|r| r.matched.graph_rank.is_some())
        .map(|r| r.name)
        .collect()
}

/// Exports, imports the export into a fresh database and exports again:
/// both exports must be the same bytes and both graphs healthy.
fn assert_round_trip(source: &TestEnv) {
    assert_graph_healthy(source);
    let exported = source.export_all();
    let target = TestEnv::new();
    let out = target
        .cmd()
        .args(["import", "-"])
        .write_stdin(exported.clone())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}\n{exported}");
    assert_graph_healthy(&target);
    assert_eq!(target.export_all(), exported, "a second export differs");
}

/// A session of three memories: a seed the query matches by its words, its
/// session neighbour, and a memory of another session that mentions the
/// seed's rare entity; plus the same in another namespace.
fn session_corpus() -> TestEnv {
    let env = TestEnv::new();
    let lines = [
        json!({"name": "seed", "body": "the quokka census counted Zanzibar Ferryworks boats",
               "session": "s-1", "type": "note", "created_at": "2024-01-01T00:00:00Z"}),
        json!({"name": "neighbour", "body": "afterwards we drank tea by the harbour",
               "session": "s-1", "type": "decision", "created_at": "2024-01-02T00:00:00Z"}),
        json!({"name": "sharer", "body": "payroll: Zanzibar Ferryworks",
               "session": "s-2", "type": "decision", "created_at": "2024-03-01T00:00:00Z"}),
        json!({"name": "other-seed", "namespace": "other", "session": "s-1",
               "body": "a second quokka census elsewhere", "created_at": "2024-01-01T00:00:00Z"}),
        json!({"name": "other-neighbour", "namespace": "other", "session": "s-1",
               "body": "more tea by the harbour", "created_at": "2024-01-01T12:00:00Z"}),
        json!({"name": "other-sharer", "namespace": "other",
               "body": "Zanzibar Ferryworks again", "created_at": "2024-01-03T00:00:00Z"}),
    ];
    let fillers = FILLERS
        .iter()
        .enumerate()
        .map(|(i, body)| json!({"name": format!("filler-{i}"), "body": body}));
    let lines: Vec<Value> = lines.into_iter().chain(fillers).collect();
    let report = import(&env, &lines);
    assert_eq!(report.failed, 0, "{report:?}");
    env
}

/// Memories about other things, so that the seeds are not the whole corpus.
const FILLERS: [&str; 12] = [
    "gardening notes about roses and their pruning",
    "cooking notes about sourdough bread",
    "the build server needs a larger disk",
    "release checklist for the mobile app",
    "a recipe for lemon cake with poppy seeds",
    "how to configure the VPN on a laptop",
    "minutes of the budget meeting in spring",
    "ideas for the office party playlist",
    "the printer on floor two jams on thick paper",
    "notes on learning the cello as an adult",
    "a list of books to read over the winter",
    "tyre pressure for the delivery van",
];

#[test]
fn the_graph_reaches_neighbours_and_sharers_but_never_forgotten_ones() {
    let env = session_corpus();
    let query = ["hybrid-search", "quokka census"];
    let reached = found_by_graph(&env, &query);
    assert!(
        reached.contains(&"neighbour".to_owned()) && reached.contains(&"sharer".to_owned()),
        "{reached:?}"
    );
    for forgotten in ["neighbour", "sharer"] {
        env.ok(&["forget", forgotten]);
        for args in [
            &query[..],
            &["recall", "quokka census", "--graph"],
            &[
                "hybrid-search",
                "quokka census Zanzibar Ferryworks",
                "--hops",
                "3",
            ],
            &["recall", "Zanzibar Ferryworks", "--graph", "--hops", "3"],
        ] {
            let names = found(&env, args);
            assert!(
                !names.contains(&forgotten.to_owned()),
                "{args:?}: {names:?}"
            );
        }
    }
    env.ok(&["restore", "sharer"]);
    assert!(found_by_graph(&env, &query).contains(&"sharer".to_owned()));
}

#[test]
fn filters_hold_for_memories_the_graph_reaches() {
    let env = session_corpus();
    let cases: [(&[&str], &str); 4] = [
        (&["--type", "note"], "neighbour"),
        (&["--until", "2024-01-01T06:00:00Z"], "neighbour"),
        (
            &[
                "--since",
                "2023-12-01T00:00:00Z",
                "--until",
                "2024-02-01T00:00:00Z",
            ],
            "sharer",
        ),
        (&["--since", "2024-01-01T12:00:00Z"], "seed"),
    ];
    for (filters, excluded) in cases {
        for verb in [
            &["hybrid-search", "quokka census"][..],
            &["recall", "quokka census", "--graph"],
        ] {
            let mut args = verb.to_vec();
            args.extend_from_slice(filters);
            let names = found(&env, &args);
            assert!(!names.contains(&excluded.to_owned()), "{args:?}: {names:?}");
        }
    }
    let results: SearchResults = env.ok_as(&["hybrid-search", "quokka census", "--type", "note"]);
    for result in &results.results {
        assert_eq!(result.kind, "note", "{result:?}");
    }
}

#[test]
fn another_namespace_is_never_reached() {
    let env = session_corpus();
    for args in [
        &["hybrid-search", "quokka census"][..],
        &["hybrid-search", "Zanzibar Ferryworks", "--hops", "3"],
        &["recall", "quokka census harbour", "--graph"],
        &["--namespace", "other", "hybrid-search", "quokka census"],
    ] {
        let results: SearchResults = env.ok_as(args);
        let want = if args[0] == "--namespace" {
            "other"
        } else {
            "global"
        };
        for result in &results.results {
            assert_eq!(result.namespace, want, "{args:?}: {result:?}");
        }
    }
    let results: SearchResults = env.ok_as(&["hybrid-search", "quokka census", "--all-namespaces"]);
    let reached: Vec<(&str, &str)> = results
        .results
        .iter()
        .filter(|r| r.matched.graph_rank.is_some())
        .map(|r| (r.namespace.as_str(), r.name.as_str()))
        .collect();
    assert!(
        reached.contains(&("other", "other-neighbour")),
        "{reached:?}"
    );
    for (namespace, name) in reached {
        assert_eq!(namespace == "other", name.starts_with("other-"), "{name}");
    }
}

#[test]
fn hostile_query_text_is_searched_without_error() {
    let env = session_corpus();
    env.ok(&[
        "link",
        "--from",
        "100% _done_",
        "--to",
        "O'Brien \"Q\"",
        "--relation",
        "knows",
    ]);
    let many_words = (0..10_000)
        .map(|i| {
            if i % 100 == 0 {
                "Zanzibar Ferryworks".to_owned()
            } else {
                format!("w{i}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let queries = [
        many_words,
        "% _ %_% ' \" \\ 100% _done_ O'Brien \"Q\"".to_owned(),
        "Zürich 東京 Ἀθῆναι 🦀🦀 \u{202e}rtl\u{202c} e\u{301}".to_owned(),
        "x".repeat(100_000),
        format!("{} Zanzibar", "é".repeat(50_000)),
        "Zanzibar's Ferryworks’s".to_owned(),
    ];
    for query in &queries {
        for verb in [
            &["hybrid-search"][..],
            &["recall", "--graph"],
            &["hybrid-search", "--all-namespaces", "--hops", "3"],
        ] {
            let mut args = verb.to_vec();
            args.push("--");
            args.push(query);
            let _: SearchResults = env.ok_as(&args);
        }
    }
    for query in ["!!! ... ??? --- ;;; ''' \"\"\" ```", "%", "_", "%_'\""] {
        for verb in [&["hybrid-search"][..], &["recall", "--graph"]] {
            let mut args = verb.to_vec();
            args.extend(["--", query]);
            let error = env.error(&args, 5);
            assert_eq!(error.kind, "invalid_input", "{error:?}");
        }
    }
}

/// A database with a memory that mentions two entities, one with an
/// alias, a link, and a forgotten name.
fn graph_corpus() -> TestEnv {
    let env = TestEnv::new();
    let lines = [
        json!({"name": "m", "body": "lower case words only",
               "entities": [{"name": "Alpha", "type": "person"}, {"name": "Beta"}],
               "relationships": [{"from": "Alpha", "to": "Beta", "relation": "knows"}]}),
        json!({"link": {"from": "Beta", "to": "Gamma", "relation": "uses", "weight": 0.5}}),
        json!({"entity": {"name": "Alpha", "aliases": ["Al"]}}),
    ];
    assert_eq!(import(&env, &lines).failed, 0);
    env.ok(&[
        "link",
        "--from",
        "Doomed",
        "--to",
        "Beta",
        "--relation",
        "knows",
    ]);
    env.ok(&["forget-entity", "Doomed"]);
    assert_graph_healthy(&env);
    env
}

#[test]
fn bad_graph_lines_are_reported_by_number_and_change_nothing() {
    let env = graph_corpus();
    let before = env.export_all();
    let namespaces = env.ok(&["namespaces"]);
    let many_aliases: Vec<String> = (0..10_000).map(|i| format!("Nobody {i}")).collect();
    let lines = [
        json!({"entity": {"name": "Stranger"}, "namespace": "unknown-ns"}),
        json!({"entity": {"name": "Alpha", "aliases": ["Al"]}, "namespace": "unknown-ns"}),
        json!({"entity": {"name": "Al"}}),
        json!({"entity": {"name": "Gamma", "aliases": ["Al"]}}),
        json!({"entity": {"name": "Alpha", "colour": "red"}}),
        json!({"entity": {"name": "Alpha"}, "extra": 1}),
        json!({"entity": {"name": "Alpha", "description": "x".repeat(1 << 20)}}),
        json!({"entity": {"name": "Alpha\u{0}"}}),
        json!({"entity": {"name": "Alpha", "aliases": ["Bad\u{7}"]}}),
        json!({"entity": {"name": "Nobody", "aliases": many_aliases}}),
        json!({"entity": {"name": "Alpha", "aliases": ["Gamma", "Al", "Beta", "Bad\u{1b}"]}}),
        json!({"link": {"from": "Doomed", "to": "Doomed", "relation": "knows"}}),
        json!({"link": {"from": "Doomed", "to": "Al", "relation": "knows", "weight": 0}}),
        json!({"link": {"from": "Doomed", "to": "Al", "relation": "knows"}, "namespace": ""}),
        json!({"ignored": "Doomed\u{0}"}),
        json!({"ignored": ""}),
        json!({"entity": {"name": "Alpha"}, "link": {"from": "a", "to": "b", "relation": "r"}}),
        json!({"entity": "Alpha"}),
        json!({"entity": null}),
        json!({"link": {"from": "Alpha", "to": "Beta", "relation": "knows",
                        "created_at": "2024-01-01T00:00:00Z"}}),
        json!({"entity": {"name": "Alpha", "created_at": "2999-01-01T00:00:00Z"}}),
        json!({"entity": {"name": "Alpha", "created_at": "2024-02-01T00:00:00Z",
                          "updated_at": "2024-01-01T00:00:00Z"}}),
    ];
    let report = import(&env, &lines);
    let rejected: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    let all: Vec<u64> = (1..=lines.len() as u64).collect();
    assert_eq!(rejected, all, "{report:?}");
    assert_eq!((report.failed, report.graph_lines), (lines.len() as u64, 0));
    assert_eq!(
        env.export_all(),
        before,
        "a rejected line changed the database"
    );
    assert_eq!(env.ok(&["namespaces"]), namespaces);
    assert_graph_healthy(&env);
}

#[test]
fn odd_but_valid_graph_lines_leave_a_healthy_graph_that_round_trips() {
    let env = graph_corpus();
    let many_aliases: Vec<String> = (0..10_000).map(|i| format!("Alpha {i}")).collect();
    let lines = [
        json!({"ignored": "Alpha"}),
        json!({"ignored": "Al"}),
        json!({"ignored": "doomed"}),
        json!({"link": {"from": "Doomed", "to": "Alpha", "relation": "knows"}}),
        json!({"entity": {"name": "Beta", "description": "b"}}),
        json!({"entity": {"name": "Beta", "description": "b"}}),
        json!({"entity": {"name": "BETA", "description": "twice"}}),
        json!({"entity": {"name": "Alpha", "aliases": ["Gamma"]}}),
        json!({"entity": {"name": "Alpha", "aliases": many_aliases}}),
        json!({"entity": {"name": "Beta", "description": "d".repeat(4096)}}),
        json!({"entity": {"name": "Doomed", "description": "tab\tand\nnew line \u{1} \u{0} end"}}),
        json!({"link": {"from": "New One", "to": "Other New", "relation": "knows"},
               "namespace": "fresh-ns"}),
        json!({"ignored": "Never Seen", "namespace": "ignored-only"}),
    ];
    let report = import(&env, &lines);
    assert_eq!(report.failed, 0, "{report:?}");
    assert_graph_healthy(&env);
    let alpha = env.ok(&["entity", "Alpha"]);
    assert_eq!(
        alpha["aliases"].as_array().unwrap().len(),
        10_002,
        "{}",
        alpha["aliases"]
    );
    assert_round_trip(&env);
}

#[test]
fn hostile_command_sequences_round_trip() {
    let env = graph_corpus();
    env.ok(&["merge-entities", "Alpha", "--into", "Alpha"]);
    assert_graph_healthy(&env);
    env.ok(&["rename-entity", "Alpha", "Al"]);
    assert_graph_healthy(&env);
    env.ok(&["rename-entity", "Al", "alpha"]);
    env.ok(&["rename-entity", "alpha", "ALPHA"]);
    assert_graph_healthy(&env);
    env.ok(&["forget-entity", "Gamma"]);
    env.ok(&[
        "link",
        "--from",
        "Gamma",
        "--to",
        "ALPHA",
        "--relation",
        "knows",
    ]);
    env.ok(&["forget-entity", "Beta"]);
    env.ok(&[
        "link",
        "--from",
        "beta",
        "--to",
        "Gamma",
        "--relation",
        "uses",
    ]);
    assert_graph_healthy(&env);
    env.ok_stdin(
        &["edit", "m", "--graph-stdin"],
        json!({"entities": [{"name": "Al"}, {"name": "Gamma"}],
               "relationships": [{"from": "Al", "to": "Gamma", "relation": "knows"}]})
        .to_string(),
    );
    env.ok(&["merge-entities", "Gamma", "--into", "ALPHA"]);
    assert_graph_healthy(&env);
    env.ok(&["forget-entity", "ALPHA"]);
    env.ok(&[
        "link",
        "--from",
        "Al",
        "--to",
        "beta",
        "--relation",
        "knows",
    ]);
    env.ok(&[
        "link",
        "--from",
        "Alpha",
        "--to",
        "Al",
        "--relation",
        "knows",
    ]);
    assert_round_trip(&env);
}

#[test]
fn the_walk_passes_through_entities_that_only_links_name() {
    let env = TestEnv::new();
    let fillers = FILLERS
        .iter()
        .enumerate()
        .map(|(i, body)| json!({"name": format!("filler-{i}"), "body": body}));
    let lines: Vec<Value> = [
        json!({"name": "invoices", "body": "payroll: the nightly job rewrites every row",
               "entities": [{"name": "billing-db", "type": "service"}]}),
        json!({"link": {"from": "Atlas Project", "to": "billing-db", "relation": "depends_on"}}),
    ]
    .into_iter()
    .chain(fillers)
    .collect();
    assert_eq!(import(&env, &lines).failed, 0);
    let related = env.ok(&["related", "--entity", "Atlas Project"]);
    assert_eq!(related["results"][0]["name"], "invoices", "{related}");
    for args in [
        &["hybrid-search", "Atlas Project"][..],
        &["recall", "Atlas Project", "--graph"],
    ] {
        let results: SearchResults = env.ok_as(args);
        let invoices = results
            .results
            .iter()
            .find(|r| r.name == "invoices")
            .unwrap_or_else(|| panic!("{args:?}: {results:?}"));
        let via = invoices.matched.via.as_ref();
        let path: Vec<&str> = via
            .map(|v| v.entities.iter().map(|s| s.entity.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            path,
            ["Atlas Project", "billing-db"],
            "{args:?}: {invoices:?}"
        );
    }
}

#[test]
fn a_query_names_entities_whose_names_hold_punctuation() {
    let env = TestEnv::new();
    let fillers = FILLERS
        .iter()
        .enumerate()
        .map(|(i, body)| json!({"name": format!("filler-{i}"), "body": body}));
    let named = [
        "#4711",
        "https://example.com/docs/",
        "C++",
        "@alice",
        ".env",
    ];
    let lines: Vec<Value> = named
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({"name": format!("about-{i}"), "body": "payroll: nothing to say here",
                   "entities": [{"name": name}]})
        })
        .chain(fillers)
        .collect();
    assert_eq!(import(&env, &lines).failed, 0);
    for (i, name) in named.iter().enumerate() {
        let query = format!("what happened with {name}?");
        for verb in [&["hybrid-search"][..], &["recall", "--graph"]] {
            let mut args = verb.to_vec();
            args.extend(["--", &query]);
            let results: SearchResults = env.ok_as(&args);
            let about = format!("about-{i}");
            let hit = results.results.iter().find(|r| r.name == about);
            let via = hit.and_then(|r| r.matched.via.as_ref());
            let first = via
                .and_then(|v| v.entities.first())
                .map(|s| s.entity.as_str());
            assert_eq!(first, Some(*name), "{args:?}: {results:?}");
        }
    }
}

#[test]
fn merging_one_entity_named_twice_merges_it_once() {
    let env = graph_corpus();
    let merged = env.ok(&["merge-entities", "Alpha", "alpha", "--into", "Gamma"]);
    assert_eq!(merged, json!({"entity": "Gamma", "names": ["Alpha"]}));
    assert_graph_healthy(&env);
    env.ok(&["rename-entity", "Gamma", "Omega"]);
    let merged = env.ok(&["merge-entities", "Beta", "BETA", "Omega", "--into", "Delta"]);
    assert_eq!(
        merged,
        json!({"entity": "Delta", "names": ["Beta", "Omega"]})
    );
    assert_graph_healthy(&env);
    assert_round_trip(&env);
}

#[test]
fn lines_that_are_not_objects_are_rejected_whatever_they_hold() {
    let env = graph_corpus();
    let before = env.export_all();
    let lines = [
        json!([{"name": "Alpha", "description": "set by an array"}]),
        json!([{"from": "Alpha", "to": "Gamma", "relation": "knows"}]),
        json!(["Alpha"]),
        json!(["from-an-array", "its body"]),
        json!([[{"name": "Alpha"}], null, "x"]),
        json!("Alpha"),
        json!(null),
    ];
    let report = import(&env, &lines);
    let rejected: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(rejected, [1, 2, 3, 4, 5, 6, 7], "{report:?}");
    assert_eq!(report.graph_lines + report.imported, 0, "{report:?}");
    assert_eq!(
        env.export_all(),
        before,
        "a rejected line changed the database"
    );
    assert_graph_healthy(&env);
}

#[test]
fn a_relationship_given_twice_is_refused_like_an_entity_given_twice() {
    let env = graph_corpus();
    let before = env.export_all();
    let twice = json!({"relationships": [
        {"from": "Alpha", "to": "Beta", "relation": "knows", "weight": 1.0, "description": "first"},
        {"from": "alpha", "to": "BETA", "relation": "knows", "weight": 0.5, "description": "second"}
    ]});
    let error = env
        .cmd()
        .args(["edit", "m", "--graph-stdin"])
        .write_stdin(twice.to_string())
        .output()
        .unwrap();
    assert_eq!(error.status.code(), Some(5), "{error:?}");
    let mut line = twice.clone();
    line["name"] = json!("n");
    line["body"] = json!("lower case words");
    let report = import(&env, &[line]);
    assert_eq!(report.errors.len(), 1, "{report:?}");
    assert!(
        report.errors[0].message.contains("given twice"),
        "{report:?}"
    );
    assert_eq!(env.export_all(), before);
    let both_ways = json!({"relationships": [
        {"from": "Alpha", "to": "Beta", "relation": "knows"},
        {"from": "Beta", "to": "Alpha", "relation": "knows"},
        {"from": "Alpha", "to": "Beta", "relation": "uses"}
    ]});
    env.ok_stdin(&["edit", "m", "--graph-stdin"], both_ways.to_string());
    assert_round_trip(&env);
}

#[test]
fn an_entity_line_merges_the_same_whatever_the_order_of_its_aliases() {
    for aliases in [["Xen", "Xeno"], ["Xeno", "Xen"]] {
        let env = TestEnv::new();
        let lines = [
            json!({"name": "m", "body": "lower case words only",
                   "entities": [{"name": "Alpha"}, {"name": "Xeno"}]}),
            json!({"entity": {"name": "Xeno", "aliases": ["Xen"]}}),
            json!({"entity": {"name": "Alpha", "aliases": aliases}}),
        ];
        let report = import(&env, &lines);
        assert_eq!(
            (report.failed, report.graph_lines),
            (0, 2),
            "{aliases:?}: {report:?}"
        );
        let alpha = env.ok(&["entity", "Alpha"]);
        assert_eq!(
            alpha["aliases"],
            json!(["Xen", "Xeno"]),
            "{aliases:?}: {alpha}"
        );
        assert_round_trip(&env);
    }
}

#[test]
fn a_relationship_description_is_limited_like_an_entity_description() {
    let env = graph_corpus();
    let before = env.export_all();
    let long = "d".repeat(4097);
    let error = env.error(
        &[
            "link",
            "--from",
            "Alpha",
            "--to",
            "Gamma",
            "--relation",
            "knows",
            "--description",
            &long,
        ],
        6,
    );
    assert_eq!(error.kind, "too_large", "{error:?}");
    let relationship = json!([{"from": "Alpha", "to": "Gamma", "relation": "knows",
                              "description": long}]);
    let out = env
        .cmd()
        .args(["edit", "m", "--graph-stdin"])
        .write_stdin(json!({"relationships": relationship}).to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{out:?}");
    let lines = [
        json!({"link": relationship[0]}),
        json!({"name": "n", "body": "lower case", "relationships": relationship}),
        json!({"link": {"from": "Alpha", "to": "Gamma", "relation": "knows",
                        "description": "d".repeat(4096)}}),
    ];
    let report = import(&env, &lines);
    let rejected: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(rejected, [1, 2], "{report:?}");
    assert_eq!(report.graph_lines, 1, "{report:?}");
    env.ok(&["unlink", "--from", "Alpha", "--to", "Gamma"]);
    assert_eq!(
        env.export_all(),
        before,
        "a rejected line changed the database"
    );
}
