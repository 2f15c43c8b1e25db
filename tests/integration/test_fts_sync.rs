//! The FTS index holds exactly the live memories after every kind of change.

use std::collections::BTreeMap;

use crate::common::TestEnv;

const WORDS: [&str; 8] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
];

/// The live memories as the test expects them: name → indexed text.
struct Model(BTreeMap<String, String>);

impl Model {
    fn set(&mut self, name: &str, text: &str) {
        self.0.insert(name.to_owned(), format!("{name} {text}"));
    }

    fn assert_matches(&self, env: &TestEnv, step: &str) {
        for word in WORDS {
            let expected: Vec<String> = self
                .0
                .iter()
                .filter(|(_, text)| {
                    text.split(|c: char| !c.is_alphanumeric())
                        .any(|w| w == word)
                })
                .map(|(name, _)| name.clone())
                .collect();
            assert_eq!(
                env.search_names(word),
                expected,
                "after {step}, searching {word:?}"
            );
        }
        let health = env.ok(&["health"]);
        assert_eq!(health["fts_rows"], self.0.len(), "after {step}: {health}");
        assert_eq!(health["ok"], true, "after {step}: {health}");
    }
}

#[test]
fn index_follows_edit_rename_forget_restore_purge() {
    let env = TestEnv::new();
    let mut model = Model(BTreeMap::new());

    env.remember("m1", "alpha bravo");
    model.set("m1", "alpha bravo");
    env.ok(&[
        "remember",
        "--name",
        "m2",
        "--body",
        "charlie",
        "--description",
        "delta",
    ]);
    model.set("m2", "charlie delta");
    model.assert_matches(&env, "remember");

    env.ok(&["edit", "m1", "--body", "echo"]);
    model.set("m1", "echo");
    model.assert_matches(&env, "edit body");

    env.ok(&["edit", "m2", "--description", "foxtrot"]);
    model.set("m2", "charlie foxtrot");
    model.assert_matches(&env, "edit description");

    env.ok(&["edit", "m2", "--metadata", r#"{"alpha":1}"#]);
    model.assert_matches(&env, "edit metadata (not indexed)");

    env.ok(&["rename", "m1", "golf"]);
    model.0.remove("m1");
    model.set("golf", "echo");
    model.assert_matches(&env, "rename");

    env.ok(&["forget", "m2"]);
    model.0.remove("m2");
    model.assert_matches(&env, "forget");

    env.ok(&["restore", "m2"]);
    model.set("m2", "charlie foxtrot");
    model.assert_matches(&env, "restore of a forgotten memory");

    env.ok(&["restore", "m2", "--version", "1"]);
    model.set("m2", "charlie delta");
    model.assert_matches(&env, "restore of version 1");

    env.ok(&["remember", "--name", "golf", "--body", "hotel", "--update"]);
    model.set("golf", "hotel");
    model.assert_matches(&env, "remember --update");

    env.ok(&["forget", "golf"]);
    env.ok(&["purge", "--yes"]);
    model.0.remove("golf");
    model.assert_matches(&env, "purge");

    env.ok(&["forget", "m2"]);
    env.ok(&["remember", "--name", "m2", "--body", "alpha", "--update"]);
    model.set("m2", "alpha");
    model.assert_matches(&env, "remember --update of a forgotten memory");

    let jsonl = "{\"name\":\"m2\",\"body\":\"bravo\"}\n{\"name\":\"m3\",\"body\":\"hotel\"}\n";
    env.ok_stdin(&["import", "-"], jsonl);
    model.set("m2", "bravo");
    model.set("m3", "hotel");
    model.assert_matches(&env, "import");
}

#[test]
fn unicode_text_matches_its_own_words() {
    let env = TestEnv::new();
    env.remember("ist", "Trip to İstanbul next week");
    env.remember("lig", "The ﬁle was ﬁxed by the ofﬁce");
    env.remember("ja", "東京タワーに行きました");
    env.remember("zh", "我喜欢北京烤鸭");
    env.remember("wide", "ＡＢＣ１２３ shipped");
    for (query, expected) in [
        ("İstanbul", "ist"),
        ("istanbul", "ist"),
        ("ISTANBUL", "ist"),
        ("ﬁle", "lig"),
        ("file", "lig"),
        ("office", "lig"),
        ("東京", "ja"),
        ("タワー", "ja"),
        ("東京タワーに行きました", "ja"),
        ("北京", "zh"),
        ("北京烤鸭", "zh"),
        ("abc123", "wide"),
        ("ＡＢＣ１２３", "wide"),
    ] {
        assert_eq!(env.search_names(query), [expected], "searching {query:?}");
    }
    let out = env.ok(&["search", "北京"]);
    assert_eq!(
        out["results"][0]["snippet"], "我喜欢北京烤鸭",
        "snippets show the text without separators: {out}"
    );
    env.ok(&["edit", "ja", "--body", "大阪城を見ました"]);
    assert!(env.search_names("東京").is_empty());
    assert_eq!(env.search_names("大阪"), ["ja"]);
    assert_eq!(env.ok(&["health"])["ok"], true);
}
