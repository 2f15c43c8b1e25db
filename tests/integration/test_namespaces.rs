//! Namespaces: names with `/`, reading a namespace nothing was written to,
//! and `--namespace auto` derived from the git repository.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::{NamespaceList, StartRetrying, TestEnv};

const REPO: &str = "github.com/acme/harbor";

#[test]
fn a_namespace_with_slashes_is_stored_searched_and_round_trips() {
    let env = TestEnv::new();
    let ns = ["--namespace", REPO];
    env.ok(&[
        "remember",
        "--name",
        "deploy",
        "--body",
        "harbor deploys by tag",
        ns[0],
        ns[1],
    ]);
    env.remember("deploy", "the global one");

    let read = env.ok(&["read", "deploy", ns[0], ns[1]]);
    assert_eq!(read["body"], "harbor deploys by tag");
    assert_eq!(read["namespace"], REPO);
    let found = env.ok(&["search", "harbor", ns[0], ns[1]]);
    assert_eq!(found["results"][0]["name"], "deploy", "{found}");
    assert_eq!(found["results"].as_array().unwrap().len(), 1);
    // The word search of `global` does not see the other namespace's body.
    assert_eq!(env.ok(&["search", "harbor"])["results"], json!([]));
    let recalled = env.ok(&["hybrid-search", "deploys by tag", ns[0], ns[1]]);
    assert_eq!(recalled["results"][0]["namespace"], REPO, "{recalled}");
    let listed: NamespaceList = env.ok_as(&["namespaces"]);
    let names: Vec<&str> = listed
        .namespaces
        .iter()
        .map(|n| n.namespace.as_str())
        .collect();
    assert_eq!(names, ["github.com/acme/harbor", "global"]);

    let exported = env.ok_stdin(&["export", ns[0], ns[1]], "");
    assert_eq!(exported["namespace"], REPO, "{exported}");
    let copy = TestEnv::new();
    let report = copy.import_report(&[], env.export_all());
    assert_eq!(report.imported, 2);
    let read = copy.ok(&["read", "deploy", ns[0], ns[1]]);
    assert_eq!(read["body"], "harbor deploys by tag");
}

#[test]
fn a_namespace_with_an_empty_or_dotted_part_is_refused_and_changes_nothing() {
    let env = TestEnv::new();
    env.remember("keep", "x");
    let before = env.export_all();
    for bad in [
        "/acme",
        "acme/",
        "acme//harbor",
        "acme/../harbor",
        "acme/.git",
    ] {
        let err = env.error(
            &["remember", "--name", "n", "--body", "x", "--namespace", bad],
            5,
        );
        assert_eq!(err.kind, "invalid_input", "{bad}: {err:?}");
        let line = json!({"name": "n", "body": "x", "namespace": bad}).to_string();
        let report = env.import_report(&[], line);
        assert_eq!(report.failed, 1, "{bad}");
    }
    // `auto` is a setting, never a name: an import line cannot use it.
    let line = json!({"name": "n", "body": "x", "namespace": "auto"}).to_string();
    assert_eq!(env.import_report(&[], line).failed, 1);
    let long = format!("{}/x", "a".repeat(127));
    let err = env.error(&["list", "--namespace", &long], 6);
    assert_eq!(err.kind, "too_large");
    assert_eq!(env.export_all(), before);
}

#[test]
fn reading_a_namespace_nothing_was_written_to_finds_nothing() {
    let env = TestEnv::new();
    env.remember("keep", "auth decision: device flow");
    let before = env.export_all();
    let ns = ["--namespace", "nobody/wrote/here"];
    let with_ns = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(ns.iter())
            .map(|s| (*s).to_owned())
            .collect()
    };
    for (args, empty) in [
        (
            &["list"][..],
            json!({"items": [], "total": 0, "more": false}),
        ),
        (&["search", "auth"], json!({"results": []})),
        (&["recall", "auth decision"], json!({"results": []})),
        (&["hybrid-search", "auth decision"], json!({"results": []})),
        (&["entities"], json!({"entities": []})),
    ] {
        let args = with_ns(args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(env.ok(&args), empty, "{args:?}");
    }
    let exported = env.cmd().args(with_ns(&["export"])).output_retrying();
    assert!(exported.status.success(), "{exported:?}");
    assert!(exported.stdout.is_empty(), "{exported:?}");
    let graph = env
        .cmd()
        .args(with_ns(&["graph", "export"]))
        .output_retrying();
    assert!(graph.status.success(), "{graph:?}");

    for args in [
        &["read", "keep"][..],
        &["history", "keep"],
        &["related", "keep"],
        &["entity", "Auth"],
        &["related", "--entity", "Auth"],
    ] {
        let args = with_ns(args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = env.error(&args, 3);
        assert_eq!(err.kind, "not_found", "{args:?}");
        assert!(
            !err.message.contains("unknown namespace"),
            "{args:?} blames the namespace: {err:?}"
        );
    }
    let listed: NamespaceList = env.ok_as(&["namespaces"]);
    assert_eq!(listed.namespaces.len(), 1, "reading created a namespace");
    assert_eq!(env.export_all(), before);

    let typo = env.dir.path().join("typo.sqlite");
    let out = crate::common::bare_cmd(env.dir.path())
        .arg("--db")
        .arg(&typo)
        .args(with_ns(&["list"]))
        .output_retrying();
    assert_eq!(
        out.status.code(),
        Some(3),
        "a named missing --db still fails"
    );
    assert!(!typo.exists());
}

/// Runs `git` in `dir` with a private home and no system configuration;
/// `false` when git is not installed (the caller skips).
fn git(dir: &Path, args: &[&str]) -> bool {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output();
    match out {
        Ok(out) => {
            assert!(out.status.success(), "git {args:?}: {out:?}");
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => panic!("git {args:?}: {e}"),
    }
}

/// The binary run in `cwd` against `env`'s database.
fn in_dir(env: &TestEnv, cwd: &Path) -> assert_cmd::Command {
    let mut cmd = env.cmd();
    cmd.current_dir(cwd);
    cmd
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn auto_derives_the_namespace_from_the_origin_remote_and_worktrees_share_it() {
    let env = TestEnv::new();
    let main = env.dir.path().join("harbor-main");
    std::fs::create_dir_all(main.join("src/deep")).unwrap();
    if !git(&main, &["init", "-q"]) {
        eprintln!("skipped: no git");
        return;
    }
    git(
        &main,
        &["remote", "add", "origin", "git@GitHub.com:acme/harbor.git"],
    );
    git(&main, &["commit", "-q", "--allow-empty", "-m", "init"]);
    git(&main, &["worktree", "add", "-q", "../harbor-wt"]);

    let out = in_dir(&env, &main.join("src/deep"))
        .args([
            "--namespace",
            "auto",
            "remember",
            "--name",
            "deploy",
            "--body",
            "by tag",
        ])
        .output_retrying();
    assert_eq!(json_of(&out)["namespace"], REPO);

    // The linked worktree, the variable and the flag all land in it.
    let out = in_dir(&env, &env.dir.path().join("harbor-wt"))
        .env("SQLITE_GRAPHRAG_NAMESPACE", "auto")
        .args(["read", "deploy"])
        .output_retrying();
    assert_eq!(json_of(&out)["body"], "by tag");

    let listed: NamespaceList = env.ok_as(&["namespaces"]);
    let harbor = listed
        .namespaces
        .iter()
        .find(|n| n.namespace == REPO)
        .unwrap();
    let origin = harbor.origin.as_ref().expect("the origin is recorded");
    assert_eq!(
        (origin.source.as_str(), origin.detail.as_str()),
        ("git-remote", REPO)
    );
    let global = listed
        .namespaces
        .iter()
        .find(|n| n.namespace == "global")
        .unwrap();
    assert_eq!(global.origin, None);
}

#[test]
fn auto_without_a_remote_uses_the_folder_name_also_from_the_configuration_file() {
    let env = TestEnv::new();
    let repo = env.dir.path().join("Plain Repo");
    std::fs::create_dir_all(&repo).unwrap();
    if !git(&repo, &["init", "-q"]) {
        eprintln!("skipped: no git");
        return;
    }
    let config = env.dir.path().join("config.json");
    std::fs::write(&config, r#"{"namespace":"auto"}"#).unwrap();
    let config = config.to_str().unwrap();
    let out = in_dir(&env, &repo)
        .args(["--config", config, "remember", "--name", "n", "--body", "x"])
        .output_retrying();
    assert_eq!(json_of(&out)["namespace"], "Plain-Repo");
    let listed: NamespaceList = env.ok_as(&["namespaces"]);
    let plain = listed
        .namespaces
        .iter()
        .find(|n| n.namespace == "Plain-Repo")
        .unwrap();
    let origin = plain.origin.as_ref().unwrap();
    assert_eq!(origin.source, "git-folder");
    assert!(origin.detail.ends_with("Plain Repo"), "{origin:?}");
}

#[test]
fn auto_outside_a_repository_is_a_clear_error_and_changes_nothing() {
    let env = TestEnv::new();
    if env.dir.path().ancestors().any(|d| d.join(".git").exists()) {
        eprintln!("skipped: the temporary folder is inside a repository");
        return;
    }
    env.remember("keep", "x");
    let before = env.export_all();
    for args in [
        &[
            "--namespace",
            "auto",
            "remember",
            "--name",
            "n",
            "--body",
            "x",
        ][..],
        &["--namespace", "auto", "list"],
    ] {
        let out = in_dir(&env, env.dir.path()).args(args).output_retrying();
        assert_eq!(out.status.code(), Some(5), "{out:?}");
        let err: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(err["error"]["kind"], "invalid_input");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains("not inside a git repository"), "{message}");
    }
    assert_eq!(env.export_all(), before);
}
