//! The vector blocks from outside: compaction killed at any moment, and
//! the exact and default scans.

use std::collections::BTreeMap;
use std::thread;

use crate::common::TestEnv;

/// Memories imported; enough for every namespace to have many blocks.
const MEMORIES: usize = 12_000;

/// JSONL of `count` memories.
fn corpus(count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "{{\"name\":\"note-{i}\",\"body\":\"note {i} about topic {} in edition 0 word{}\"}}\n",
                i % 37,
                i * 7919 % 1009
            )
        })
        .collect()
}

/// The names and scores `recall --exact` finds for a few queries.
fn answers(env: &TestEnv) -> BTreeMap<String, Vec<(String, String)>> {
    ["topic 5 in edition", "word17 note", "about topic 30"]
        .iter()
        .map(|query| {
            let out = env.ok(&["recall", query, "-k", "20", "--exact"]);
            let found = out["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["name"].as_str().unwrap().to_owned(),
                        format!("{:.6}", r["score"].as_f64().unwrap()),
                    )
                })
                .collect();
            (query.to_string(), found)
        })
        .collect()
}

fn dead_slots(env: &TestEnv) -> i64 {
    env.rows::<(i64,)>("SELECT count(*) FROM dead_slots")[0].0
}

/// Copies the database files of `from` over those of `to`.
fn copy_database(from: &TestEnv, to: &TestEnv) {
    for suffix in ["", "-wal", "-shm"] {
        let (source, target) = (
            format!("{}{suffix}", from.db.display()),
            format!("{}{suffix}", to.db.display()),
        );
        let _ = std::fs::remove_file(&target);
        if std::path::Path::new(&source).exists() {
            std::fs::copy(&source, &target).unwrap();
        }
    }
}

#[test]
fn a_compaction_killed_at_any_moment_leaves_a_sound_database_that_answers_the_same() {
    let prepared = TestEnv::new();
    prepared.import_report(&[], corpus(MEMORIES));
    // Half the chunks deleted behind the program's back (as forgetting
    // their memories would), so that no write compacts on its way: every
    // block is left with dead slots for `purge` to remove, in many
    // transactions.
    prepared.tamper("DELETE FROM chunks WHERE memory_id % 2 = 0");
    let dead = dead_slots(&prepared);
    assert!(dead >= (MEMORIES / 2) as i64, "{dead} dead slots");
    let before = answers(&prepared);
    let timed = TestEnv::new();
    copy_database(&prepared, &timed);
    let started = std::time::Instant::now();
    let report = timed.ok(&["purge", "--yes"]);
    let whole = started.elapsed();
    assert_eq!(report["compacted"], dead, "{report}");
    let mut partial = 0;
    let rounds = 10;
    for round in 0..rounds {
        let env = TestEnv::new();
        copy_database(&prepared, &env);
        let mut child = env
            .std_cmd()
            .args(["purge", "--yes"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        thread::sleep(whole * round / rounds);
        let _ = child.kill();
        child.wait().unwrap();
        let left = dead_slots(&env);
        if left > 0 && left < dead {
            partial += 1;
        }
        let health = env.ok(&["health"]);
        assert_eq!(health["ok"], true, "round {round}: {health}");
        assert_eq!(answers(&env), before, "round {round}");
        env.ok(&["purge", "--yes"]);
        assert_eq!(dead_slots(&env), 0);
        assert_eq!(answers(&env), before, "round {round}, compacted");
    }
    eprintln!("{partial} of {rounds} kills landed between two compaction transactions");
}

#[test]
fn exact_and_default_scans_agree_on_a_small_namespace() {
    let env = TestEnv::new();
    env.import_report(&[], corpus(1_000));
    for query in ["topic 5 in edition", "word17 note"] {
        let exact = env.ok(&["recall", query, "-k", "10", "--exact"]);
        let default = env.ok(&["recall", query, "-k", "10"]);
        assert_eq!(exact["results"], default["results"]);
    }
    let report = env.ok(&["purge", "--yes"]);
    assert_eq!(report["compacted"], 0);
}
