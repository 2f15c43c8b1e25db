//! `import` and `export`: the JSONL format, bad lines, exact round trips.

use serde_json::json;

use crate::common::{StartRetrying, TestEnv};

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
    let report = env.ok_stdin(&["import", "-", "--batch-size", "2"], input);
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
