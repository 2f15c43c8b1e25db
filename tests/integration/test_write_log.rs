//! The write-ahead log between processes: a small one stays for the next
//! command, a large one is copied into the database when its writer closes.

use crate::common::TestEnv;

/// The size of the database's write-ahead log, 0 if there is none.
fn log_size(env: &TestEnv) -> u64 {
    let mut log = env.db.as_os_str().to_owned();
    log.push("-wal");
    std::fs::metadata(log).map_or(0, |m| m.len())
}

#[test]
fn a_small_write_leaves_its_log_and_a_large_one_empties_it() {
    let env = TestEnv::new();
    env.ok(&["remember", "--name", "first", "--body", "kept in the log"]);
    assert!(log_size(&env) > 0, "the log of a small write was removed");
    assert_eq!(env.ok(&["read", "first"])["body"], "kept in the log");
    env.ok(&["remember", "--name", "second", "--body", "after the first"]);
    assert_eq!(env.ok(&["read", "second"])["body"], "after the first");

    let body = "words of a long memory ".repeat(100);
    let lines: String = (0..1000)
        .map(|i| {
            format!(
                "{}\n",
                serde_json::json!({"name": format!("bulk-{i}"), "body": body})
            )
        })
        .collect();
    env.ok_stdin(&["import", "-"], lines);
    assert_eq!(log_size(&env), 0, "the log of a large write was left");
    assert_eq!(env.ok(&["read", "bulk-999"])["body"], body.as_str());
    assert_eq!(env.ok(&["read", "first"])["body"], "kept in the log");
}
