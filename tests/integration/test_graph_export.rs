//! `export` and `import` carry the entity graph: what users gave memories,
//! links, entity types, descriptions, aliases and forgotten names.

use serde_json::json;

use crate::common::TestEnv;

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
