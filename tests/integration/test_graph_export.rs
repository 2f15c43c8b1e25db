//! `export` and `import` carry the entity graph: what users gave memories,
//! links, entity types, descriptions, aliases and forgotten names.

use std::fs;

use serde_json::{Value, json};

use crate::common::{Health, TestEnv};

fn json_file(env: &TestEnv, name: &str, value: &Value) -> String {
    let path = env.dir.path().join(name);
    fs::write(&path, value.to_string()).unwrap();
    path.display().to_string()
}

/// A database built with every command that changes the graph, in two
/// namespaces, with a forgotten memory whose graph must not travel.
fn graph_source() -> TestEnv {
    let env = TestEnv::new();
    env.ok(&[
        "remember",
        "--name",
        "kickoff",
        "--session",
        "s-1",
        "--body",
        "Alice Cooper met Bob Dylan in Paris to plan the Atlas Project with Acme Corp.",
    ]);
    let entities = json_file(
        &env,
        "entities.json",
        &json!([
            {"name": "Atlas Project", "type": "project", "description": "the migration"},
            {"name": "Alice Cooper", "type": "person"},
            {"name": "billing-db", "type": "service"}
        ]),
    );
    let relationships = json_file(
        &env,
        "relationships.json",
        &json!([
            {"from": "Atlas Project", "to": "billing-db", "relation": "depends_on", "weight": 0.6,
             "description": "reads invoices"},
            {"from": "Alice Cooper", "to": "Atlas Project", "relation": "leads"}
        ]),
    );
    env.ok(&[
        "remember",
        "--name",
        "plan",
        "--body",
        "the plan, in lower case words only",
        "--entities-file",
        &entities,
        "--relationships-file",
        &relationships,
    ]);
    env.ok_stdin(
        &[
            "remember",
            "--name",
            "ops",
            "--body",
            "Carol Danvers runs Kubernetes for Acme Corp.",
            "--graph-stdin",
        ],
        json!({"entities": [{"name": "Carol Danvers", "type": "person"}],
               "relationships": [{"from": "Carol Danvers", "to": "Kubernetes",
                                  "relation": "operates", "weight": 0.9}]})
        .to_string(),
    );
    env.ok_stdin(
        &["edit", "ops", "--graph-stdin"],
        json!({"relationships": [{"from": "Carol Danvers", "to": "billing-db",
                                  "relation": "operates", "weight": 0.8}]})
        .to_string(),
    );
    env.ok(&[
        "edit",
        "kickoff",
        "--body",
        "Alice Cooper met Bob Dylan and Dan Brown in Paris to plan the Atlas Project with Acme Corp.",
    ]);
    env.ok_stdin(
        &[
            "remember",
            "--name",
            "gone",
            "--body",
            "Zed Zebra",
            "--graph-stdin",
        ],
        json!({"entities": [{"name": "Hidden Thing", "type": "secret"}]}).to_string(),
    );
    env.ok(&["forget", "gone"]);
    for args in [
        &[
            "link",
            "--from",
            "Bob Dylan",
            "--to",
            "Alice Cooper",
            "--relation",
            "knows",
            "--weight",
            "0.4",
            "--description",
            "since school",
        ][..],
        &[
            "link",
            "--from",
            "Acme Corp",
            "--to",
            "Payroll Team",
            "--relation",
            "employs",
            "--type",
            "organisation",
        ],
        &["rename-entity", "Alice Cooper", "Alice C."],
        &[
            "merge-entities",
            "Bob Dylan",
            "Dan Brown",
            "--into",
            "Robert Zimmerman",
        ],
        &["forget-entity", "Paris"],
        &[
            "--namespace",
            "second",
            "remember",
            "--name",
            "elsewhere",
            "--body",
            "Grace Hopper wrote COBOL at Remington Rand.",
        ],
        &[
            "--namespace",
            "second",
            "link",
            "--from",
            "Grace Hopper",
            "--to",
            "Navy",
            "--relation",
            "served_in",
        ],
        &["--namespace", "second", "forget-entity", "Remington Rand"],
    ] {
        env.ok(args);
    }
    env
}

/// What the read commands show of `namespace`, ids and versions left out
/// (an import starts every memory at version 1, with new ids).
fn observed(env: &TestEnv, namespace: &str) -> Vec<(String, Value)> {
    let run = |args: &[&str]| -> Value {
        let mut full = vec!["--namespace", namespace];
        full.extend_from_slice(args);
        env.ok(&full)
    };
    let mut seen = Vec::new();
    for sort in ["degree", "name", "recent"] {
        let entities = run(&["entities", "--sort", sort, "--limit", "1000"]);
        seen.push((format!("entities --sort {sort}"), entities));
    }
    let entities = run(&["entities", "--sort", "name", "--limit", "1000"]);
    for entity in entities["entities"].as_array().unwrap() {
        let name = entity["name"].as_str().unwrap();
        seen.push((format!("entity {name}"), run(&["entity", name])));
        seen.push((
            format!("related --entity {name}"),
            run(&["related", "--entity", name]),
        ));
    }
    seen.push(("graph export".to_owned(), run(&["graph", "export"])));
    let mut list = run(&["list", "--limit", "1000"]);
    for item in list["items"].as_array_mut().unwrap() {
        let name = item["name"].as_str().unwrap().to_owned();
        let mut read = run(&["read", &name]);
        for memory in [&mut *item, &mut read] {
            let memory = memory.as_object_mut().unwrap();
            memory.remove("memory_id");
            memory.remove("version");
        }
        seen.push((format!("read {name}"), read));
        seen.push((format!("related {name}"), run(&["related", &name])));
    }
    seen.push(("list".to_owned(), list));
    seen
}

fn assert_graph_healthy(env: &TestEnv) {
    let health: Health = env.ok_as(&["health"]);
    assert!(health.graph_problems.is_empty(), "{health:?}");
}

#[test]
fn export_then_import_gives_the_same_graph() {
    let source = graph_source();
    let exported = source.export_all();
    assert!(
        !exported.contains("Hidden Thing"),
        "a forgotten memory's graph was exported:\n{exported}"
    );
    let count = |start: &str| exported.lines().filter(|l| l.starts_with(start)).count();
    let kinds = [r#"{"ignored""#, r#"{"link""#, r#"{"entity""#].map(count);
    let with_graph = exported
        .lines()
        .filter(|l| l.contains(r#""relationships":["#));
    assert_eq!((kinds, with_graph.count()), ([2, 3, 11], 2), "{exported}");

    let target = TestEnv::new();
    let report = target.import_report(&["--batch-size", "3"], exported.clone());
    assert_eq!((report.imported, report.failed), (4, 0), "{report:?}");
    assert!(report.graph_lines > 0, "{report:?}");
    assert_graph_healthy(&source);
    assert_graph_healthy(&target);

    for namespace in ["global", "second"] {
        let (want, got) = (observed(&source, namespace), observed(&target, namespace));
        assert_eq!(want.len(), got.len(), "{namespace}: {want:?}\n{got:?}");
        for ((what, expected), (_, actual)) in want.iter().zip(&got) {
            assert_eq!(
                expected, actual,
                "{namespace}: {what} differs after the import"
            );
        }
    }
    let alice = target.ok(&["entity", "Alice C."]);
    assert_eq!(alice["aliases"], json!(["Alice Cooper"]), "{alice}");
    assert_eq!(alice["type"], "person", "{alice}");
    assert_eq!(target.export_all(), exported, "a second export differs");
}

#[test]
fn forgotten_names_stay_forgotten_and_aliases_keep_finding_their_entity() {
    let target = TestEnv::new();
    let input = [
        json!({"ignored": "Alice Cooper"}),
        json!({"name": "m", "body": "Alice Cooper and Bob Dylan met Dan Brown."}),
        json!({"entity": {"name": "Robert Zimmerman", "type": "person",
                          "aliases": ["Bob Dylan", "Dan Brown"]}}),
    ]
    .map(|line| line.to_string())
    .join("\n");
    let report = target.import_report(&[], input);
    assert_eq!((report.imported, report.graph_lines), (1, 2), "{report:?}");
    let names: Vec<Value> = target.ok(&["read", "m"])["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(names, [json!("Robert Zimmerman")]);
    let bob = target.ok(&["entity", "Robert Zimmerman"]);
    assert_eq!(bob["aliases"], json!(["Bob Dylan", "Dan Brown"]));
    assert_eq!(bob["type"], "person");
    assert_eq!(bob["mentioned_in"], json!(["m"]));
    assert_graph_healthy(&target);
}

#[test]
fn bad_graph_lines_are_reported_and_the_others_imported() {
    let env = TestEnv::new();
    let lines = [
        json!({"name": "m", "body": "lower case only",
               "entities": [{"name": "A", "type": "person"}, {"name": "B"}]}),
        json!({"entity": {"name": "A", "colour": "red"}}),
        json!({"link": {"from": "A", "to": "B", "relation": "Works With"}}),
        json!({"link": {"from": "A", "to": "B", "relation": "knows", "weight": 0}}),
        json!({"link": {"from": "A", "to": "B", "relation": "knows", "weight": 1.5}}),
        json!({"link": {"from": "A", "to": "a", "relation": "knows"}}),
        json!({"ignored": " "}),
        json!({"entity": {"name": "Nobody"}}),
        json!({"link": {"from": "A", "to": "B", "relation": "knows"}, "ignored": "C"}),
        json!({"name": "n", "body": "x", "relationships": [{"from": "A", "to": "B",
               "relation": "knows", "weight": 2}]}),
        json!({"entity": {"name": "A", "aliases": ["a"]}}),
        json!({"entity": {"name": "A", "type": "Person"}}),
        json!({"link": {"from": "A", "to": "B", "relation": "knows", "weight": 0.5,
                        "description": "at work"}}),
        json!({"entity": {"name": "a", "description": "the first"}, "namespace": "global"}),
        json!({"ignored": "Zed", "namespace": "other"}),
        json!({"link": {"from": "X", "to": "Y", "relation": "knows"}, "namespace": "bad name"}),
    ];
    let input = lines.map(|l| l.to_string()).join("\n");
    let report = env.import_report(&["--batch-size", "2"], input);
    let rejected: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(
        rejected,
        [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16],
        "{report:?}"
    );
    assert_eq!(report.failed, 12);
    assert_eq!((report.imported, report.graph_lines), (1, 3), "{report:?}");
    assert!(
        report.errors[1].message.contains("snake_case"),
        "{report:?}"
    );
    assert!(
        report.errors[6].message.contains("no memory mentions"),
        "{report:?}"
    );

    let a = env.ok(&["entity", "A"]);
    assert_eq!(a["name"], "a", "an entity line sets the display name");
    assert_eq!(a["type"], "person");
    assert_eq!(a["description"], "the first");
    assert_eq!(a["outgoing"][0]["weight"], 0.5, "{a}");
    assert_eq!(a["outgoing"][0]["description"], "at work", "{a}");
    env.fails(&["entity", "Nobody"], 3);
    assert_graph_healthy(&env);
}

#[test]
fn memory_lines_without_graph_fields_import_as_before() {
    let env = TestEnv::new();
    env.ok_stdin(
        &[
            "remember",
            "--name",
            "m",
            "--body",
            "first",
            "--graph-stdin",
        ],
        json!({"entities": [{"name": "X", "type": "tool"}]}).to_string(),
    );
    let plain = json!({"name": "m", "body": "second", "created_at": "2024-05-08T13:56:00Z"});
    let report = env.import_report(&[], plain.to_string());
    assert_eq!((report.updated, report.graph_lines), (1, 0), "{report:?}");
    let read = env.ok(&["read", "m"]);
    assert_eq!(read["body"], "second");
    assert_eq!(
        read["entities"],
        json!([{"name": "X", "type": "tool"}]),
        "a line without graph fields keeps the memory's graph"
    );

    let cleared = json!({"name": "m", "body": "second", "entities": []});
    let report = env.import_report(&[], cleared.to_string());
    assert_eq!(report.unchanged, 1, "{report:?}");
    assert_eq!(env.ok(&["read", "m"])["entities"], json!([]));
    env.fails(&["entity", "X"], 3);

    let old = json!({"name": "old", "body": "no graph here", "namespace": "global",
                     "type": "note", "description": "", "metadata": {},
                     "created_at": "2024-05-08T13:56:00.000Z",
                     "updated_at": "2024-05-08T13:56:00.000Z"});
    let fresh = TestEnv::new();
    let report = fresh.import_report(&[], old.to_string());
    assert_eq!(report.imported, 1, "{report:?}");
    let exported = fresh.export_all();
    let line: Value = serde_json::from_str(exported.trim()).unwrap();
    assert_eq!(line, old, "a memory without a graph gained fields");
    assert_graph_healthy(&env);
}

#[test]
fn related_breaks_ties_by_name_not_by_row_order() {
    let env = TestEnv::new();
    let graph = json!({"entities": [{"name": "Zeta"}, {"name": "Alpha"}]}).to_string();
    for name in ["start", "other"] {
        env.ok_stdin(
            &["remember", "--name", name, "--body", "x", "--graph-stdin"],
            graph.clone(),
        );
    }
    for _ in 0..8 {
        let related = env.ok(&["related", "start"]);
        assert_eq!(
            related["results"][0]["via"],
            json!([{"entity": "Alpha", "relation": null, "direction": null}]),
            "{related}"
        );
    }

    for (from, to) in [("S", "B"), ("S", "A"), ("B", "T"), ("A", "T")] {
        env.ok(&["link", "--from", from, "--to", to, "--relation", "r"]);
    }
    env.ok_stdin(
        &[
            "remember",
            "--name",
            "target",
            "--body",
            "y",
            "--graph-stdin",
        ],
        json!({"entities": [{"name": "T"}]}).to_string(),
    );
    let related = env.ok(&["related", "--entity", "S"]);
    let step = |entity: &str| json!({"entity": entity, "relation": "r", "direction": "out"});
    assert_eq!(
        related["results"][0]["via"],
        json!([{"entity": "S", "relation": null, "direction": null}, step("A"), step("T")]),
        "{related}"
    );
}

#[test]
fn entity_lists_relationships_by_relation_then_name_not_by_row_order() {
    let env = TestEnv::new();
    for to in ["Zed", "Amy"] {
        env.ok(&["link", "--from", "E", "--to", to, "--relation", "knows"]);
        env.ok(&["link", "--from", to, "--to", "E", "--relation", "knows"]);
    }
    let entity = env.ok(&["entity", "E"]);
    let ends = |list: &str, end: &str| -> Vec<Value> {
        entity[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[end].clone())
            .collect()
    };
    assert_eq!(
        ends("outgoing", "to"),
        [json!("Amy"), json!("Zed")],
        "{entity}"
    );
    assert_eq!(
        ends("incoming", "from"),
        [json!("Amy"), json!("Zed")],
        "{entity}"
    );
}

#[test]
fn memories_written_at_one_time_list_in_the_same_order_after_a_round_trip() {
    let source = TestEnv::new();
    let lines = ["b", "a", "c"]
        .map(|name| json!({"name": name, "body": "x", "created_at": "2024-05-08T13:56:00Z"}))
        .map(|line| line.to_string())
        .join("\n");
    source.import_report(&[], lines);
    let target = TestEnv::new();
    target.import_report(&[], source.export_all());
    let names = |env: &TestEnv| -> Vec<Value> {
        env.ok(&["list"])["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].clone())
            .collect()
    };
    assert_eq!(names(&source), [json!("c"), json!("a"), json!("b")]);
    assert_eq!(names(&target), names(&source));
}
