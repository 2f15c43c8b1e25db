//! `import` and `export`: the JSONL format, bad lines, exact round trips.

use serde_json::json;

use crate::common::{StartRetrying, TestEnv};

/// Runs `import -` with `input` and returns its report, asserting exit 0
/// when no line fails and exit 12 (`partial`) when some do.
fn import(env: &TestEnv, args: &[&str], input: impl Into<Vec<u8>>) -> serde_json::Value {
    let out = env
        .cmd()
        .args(["import", "-"])
        .args(args)
        .write_stdin(input)
        .output_retrying();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}): {out:?}"));
    let expected = if report["failed"] == 0 { 0 } else { 12 };
    assert_eq!(out.status.code(), Some(expected), "{report}");
    report
}

fn export(env: &TestEnv, args: &[&str]) -> String {
    let out = env.cmd().arg("export").args(args).output_retrying();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn import_reports_bad_lines_and_keeps_good_ones() {
    let env = TestEnv::new();
    let mut input = Vec::new();
    input.extend_from_slice(b"{\"name\":\"a\",\"body\":\"first\"}\n");
    input.extend_from_slice(b"{\"name\":\"b\"}\n");
    input.extend_from_slice(b"\n");
    input.extend_from_slice(b"{\"name\":\"c\",\"body\":\"x\",\"colour\":\"red\"}\n");
    input.extend_from_slice(b"{\"name\":\"d\",\"body\":\"caf\xe9\"}\n");
    input.extend_from_slice(b"{\"name\":\"e\",\"body\":\"x\",\"metadata\":[1]}\n");
    input.extend_from_slice(b"{\"name\":\"f g\",\"body\":\"x\"}\n");
    input.extend_from_slice(b"{\"name\":\"h\",\"body\":\"x\",\"created_at\":\"yesterday\"}\n");
    input.extend_from_slice(b"{\"name\":\"i\",\"body\":\"x\",\"namespace\":\"other\",\"type\":\"fact\",\"description\":\"d\",\"metadata\":{\"k\":true},\"created_at\":\"2023-05-08T13:56:00Z\"}\n");
    input.extend_from_slice(b"{\"name\":\"a\",\"body\":\"second\"}\n");
    input.extend_from_slice(b"{\"name\":\"a\",\"body\":\"second\"}\r\n");
    input.extend_from_slice(b"{\"name\":\"j\",\"body\":\"x\"");
    let report = import(&env, &["--batch-size", "2"], input);
    assert_eq!(report["imported"], 2);
    assert_eq!(report["updated"], 1);
    assert_eq!(report["unchanged"], 1);
    assert_eq!(report["failed"], 7);
    let lines: Vec<u64> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 4, 5, 6, 7, 8, 12]);
    assert!(
        report["errors"][1]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );

    assert_eq!(env.ok(&["read", "a"])["body"], "second");
    assert_eq!(env.ok(&["read", "a"])["version"], 2);
    let i = env.ok(&["read", "i", "--namespace", "other"]);
    assert_eq!(i["created_at"], "2023-05-08T13:56:00.000Z");
    assert_eq!(i["type"], "fact");
    assert_eq!(i["metadata"], json!({"k": true}));
    env.fails(&["read", "i"], 3);
}

#[test]
fn export_then_import_round_trips_exactly() {
    let source = TestEnv::new();
    source.ok(&[
        "remember",
        "--name",
        "rich",
        "--type",
        "decision",
        "--description",
        "a \"quoted\" summary",
        "--body",
        "line one\nline two\ttabbed — ünïcödé 東京 🙂",
        "--metadata",
        r#"{"z":[1,2.5,null],"a":{"b":"c"}}"#,
    ]);
    source.remember("plain", "plain body");
    source.ok(&[
        "--namespace",
        "second",
        "remember",
        "--name",
        "other",
        "--body",
        "elsewhere",
    ]);
    source.remember("gone", "forgotten body");
    source.ok(&["forget", "gone"]);
    source.ok(&["edit", "plain", "--body", "edited body"]);

    let exported = export(&source, &["--all-namespaces"]);
    assert_eq!(
        exported.lines().count(),
        3,
        "forgotten memories are not exported"
    );
    let first: serde_json::Value = serde_json::from_str(exported.lines().next().unwrap()).unwrap();
    for field in [
        "name",
        "namespace",
        "type",
        "description",
        "body",
        "metadata",
        "created_at",
        "updated_at",
    ] {
        assert!(first.get(field).is_some(), "export lacks {field}: {first}");
    }

    let target = TestEnv::new();
    let report = target.ok_stdin(&["import", "-"], exported.clone());
    assert_eq!(
        (report["imported"].clone(), report["failed"].clone()),
        (json!(3), json!(0))
    );
    assert_eq!(export(&target, &["--all-namespaces"]), exported);
    let again = target.ok_stdin(&["import", "-"], exported.clone());
    assert_eq!(again["unchanged"], 3);
    assert_eq!(
        export(&target, &["--namespace", "second"]).lines().count(),
        1
    );
}

#[test]
fn import_exits_12_when_any_line_fails() {
    let env = TestEnv::new();
    let all_bad = "{\"name\":\"a\",\"body\":\"x\",\"colour\":1}\n".repeat(3);
    let report = import(&env, &[], all_bad);
    assert_eq!(
        (report["imported"].clone(), report["failed"].clone()),
        (json!(0), json!(3))
    );
    let one_bad = "{\"name\":\"a\",\"body\":\"x\"}\n{\"name\":\"b\"}\n";
    assert_eq!(import(&env, &[], one_bad)["failed"], 1);
    assert_eq!(
        import(&env, &[], "{\"name\":\"c\",\"body\":\"x\"}\n")["failed"],
        0
    );
}

#[test]
fn import_times_apply_only_to_new_memories() {
    let env = TestEnv::new();
    let first = r#"{"name":"a","body":"one","created_at":"2023-01-01T00:00:00Z","updated_at":"2023-06-01T00:00:00Z"}"#;
    assert_eq!(import(&env, &[], first)["imported"], 1);
    env.remember("b", "stored now");
    let older = r#"{"name":"a","body":"two","created_at":"2020-01-01T00:00:00Z","updated_at":"2020-01-02T00:00:00Z"}"#;
    assert_eq!(import(&env, &[], older)["updated"], 1);

    let a = env.ok(&["read", "a"]);
    assert_eq!(a["created_at"], "2023-01-01T00:00:00.000Z");
    assert!(a["updated_at"].as_str().unwrap() > "2023-06-01", "{a}");
    let history = env.ok(&["history", "a"]);
    let times: Vec<&str> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["recorded_at"].as_str().unwrap())
        .collect();
    assert!(times[0] <= times[1], "history runs backwards: {times:?}");
    let list = env.ok(&["list"]);
    let listed: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["a", "b"], "the memory just updated comes first");

    let backwards =
        r#"{"name":"c","body":"x","created_at":"2024-02-02","updated_at":"2024-02-01"}"#;
    let report = import(&env, &[], backwards);
    assert_eq!(report["failed"], 1);
    let message = report["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("updated_at"), "{message}");
    env.fails(&["read", "c"], 3);

    let only_updated = r#"{"name":"d","body":"x","updated_at":"2024-03-01T00:00:00Z"}"#;
    assert_eq!(import(&env, &[], only_updated)["imported"], 1);
    let d = env.ok(&["read", "d"]);
    assert_eq!(d["created_at"], d["updated_at"]);
}

#[test]
fn import_accepts_a_byte_order_mark() {
    let env = TestEnv::new();
    let mut input = b"\xEF\xBB\xBF".to_vec();
    input.extend_from_slice(b"{\"name\":\"a\",\"body\":\"x\"}\n");
    input.extend_from_slice(b"\xEF\xBB\xBF{\"name\":\"b\",\"body\":\"x\"}\n");
    let report = import(&env, &[], input);
    assert_eq!(report["imported"], 1);
    assert_eq!(
        report["errors"][0]["line"], 2,
        "only the first line may start with one"
    );
}

#[test]
fn what_export_writes_always_imports() {
    let env = TestEnv::new();
    for name in ["future", "backwards", "past-9999", "before-0000"] {
        env.remember(name, "a memory with a time import refuses");
    }
    // Times earlier versions could store: in 3000, changed before created,
    // past 9999-12-31 and before 0000-01-01 in UTC.
    env.tamper(
        "UPDATE memories SET created_at = 32503680000000, updated_at = 32503680000000 WHERE name = 'future';
         UPDATE memories SET created_at = 32503680000000 WHERE name = 'backwards';
         UPDATE memories SET created_at = 253402300800000 + 1800000, updated_at = 253402300800000 + 1800000 WHERE name = 'past-9999';
         UPDATE memories SET created_at = -62167219200000 - 3600000, updated_at = -62167219200000 - 3600000 WHERE name = 'before-0000';",
    );
    let exported = export(&env, &[]);
    let copy = TestEnv::new();
    let report = import(&copy, &[], exported.clone());
    assert_eq!(
        (report["imported"].clone(), report["failed"].clone()),
        (json!(4), json!(0)),
        "{report}"
    );
    let again = export(&copy, &[]);
    assert_eq!(again, exported, "a second round trip changed the times");
}

#[test]
fn import_refuses_times_it_could_not_write_back() {
    let env = TestEnv::new();
    let input = r#"{"name":"late","body":"x","created_at":"9999-12-31T23:30:00-01:00"}
{"name":"early","body":"x","created_at":"0000-01-01T00:00:00+01:00"}
{"name":"edge","body":"x","created_at":"0000-01-01T00:00:00Z"}
"#;
    let report = import(&env, &[], input);
    assert_eq!(
        (report["imported"].clone(), report["failed"].clone()),
        (json!(1), json!(2)),
        "{report}"
    );
    let message = report["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("0000 to 9999"), "{message}");
    assert_eq!(
        env.ok(&["read", "edge"])["created_at"],
        "0000-01-01T00:00:00.000Z"
    );
}

#[test]
fn an_import_with_no_good_line_creates_nothing() {
    let env = TestEnv::new();
    let db = env.dir.path().join("new/x.db");
    let db_arg = db.to_str().unwrap();
    let input = env.dir.path().join("input.jsonl");
    let run = |lines: &str| {
        std::fs::write(&input, lines).unwrap();
        crate::common::bare_cmd(env.dir.path())
            .args(["--db", db_arg, "import", input.to_str().unwrap()])
            .output_retrying()
    };
    for input in ["{\"name\":\"!\"}\n", ""] {
        let out = run(input);
        assert!(
            out.status.code() == Some(12) || out.status.success(),
            "{out:?}"
        );
        assert!(
            !env.dir.path().join("new").exists(),
            "{input:?} created the database"
        );
    }
    let out = run("{\"name\":\"!\"}\n{\"name\":\"ok\",\"body\":\"x\"}\n");
    assert_eq!(out.status.code(), Some(12), "{out:?}");
    assert!(db.exists());
}
