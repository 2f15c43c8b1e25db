use std::fs;

use super::remote::origin_url;
use super::*;
use crate::error::ErrorKind;

#[test]
fn remote_urls_normalise_to_host_owner_repo() {
    for url in [
        "https://github.com/acme/harbor.git",
        "https://github.com/acme/harbor",
        "https://github.com/acme/harbor/",
        "git@github.com:acme/harbor.git",
        "ssh://git@github.com/acme/harbor",
        "ssh://git@GitHub.COM:22/acme/harbor.git",
        "https://user:s3cret@github.com:443/acme/harbor.git",
        "git://github.com/acme/harbor.git?x=1",
        "  github.com:acme/harbor  ",
    ] {
        assert_eq!(
            normalise_remote(url).as_deref(),
            Some("github.com/acme/harbor"),
            "{url}"
        );
    }
    assert_eq!(
        normalise_remote("https://gitlab.com/group/sub/group/proj.git").as_deref(),
        Some("gitlab.com/group/sub/group/proj")
    );
    assert_eq!(
        normalise_remote("ssh://host/~alice/../x y.git").as_deref(),
        Some("host/alice/x-y")
    );
    for local in [
        "/srv/git/harbor.git",
        "../harbor",
        "file:///srv/git/harbor.git",
        "C:/repos/harbor",
        "https://github.com/",
        "",
    ] {
        assert_eq!(normalise_remote(local), None, "{local}");
    }
}

#[test]
fn the_origin_url_is_read_from_its_section_only() {
    let config = "[core]\n\turl = nope\n[remote \"upstream\"]\n\turl = https://a.example/x/y\n\
                  [Remote \"origin\"] # comment\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n\
                  \tURL = \"git@github.com:acme/harbor.git\" ; trailing\n\turl = second\n";
    assert_eq!(
        origin_url(config).as_deref(),
        Some("git@github.com:acme/harbor.git")
    );
    assert_eq!(origin_url("[remote \"Origin\"]\nurl = x\n"), None);
    assert_eq!(origin_url(""), None);
}

fn git_dir(root: &Path, config: &str) -> PathBuf {
    let git = root.join(".git");
    fs::create_dir_all(git.join("worktrees/wt")).unwrap();
    fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    fs::write(git.join("config"), config).unwrap();
    git
}

#[test]
fn a_repository_is_found_from_a_subfolder_and_worktrees_share_it() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("Harbor Main");
    let git = git_dir(
        &main,
        "[remote \"origin\"]\n url = git@github.com:acme/harbor.git\n",
    );
    fs::create_dir_all(main.join("src/deep")).unwrap();
    let derived = derive(&main.join("src/deep")).unwrap();
    assert_eq!(derived.namespace, "github.com/acme/harbor");
    assert_eq!(derived.origin.source, "git-remote");

    let wt = dir.path().join("wt");
    fs::create_dir_all(&wt).unwrap();
    fs::write(
        wt.join(".git"),
        format!("gitdir: {}\n", git.join("worktrees/wt").display()),
    )
    .unwrap();
    fs::write(git.join("worktrees/wt/commondir"), "../..\n").unwrap();
    assert_eq!(derive(&wt).unwrap(), derived);

    fs::write(git.join("config"), "[core]\n bare = false\n").unwrap();
    let by_folder = derive(&wt).unwrap();
    assert_eq!(by_folder.namespace, "Harbor-Main");
    assert_eq!(by_folder.origin.source, "git-folder");
    assert_eq!(derive(&main).unwrap(), by_folder);
}

#[test]
fn odd_git_files_give_errors_not_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let check = |what: &str| {
        let err = derive(root).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{what}: {err:?}");
    };
    fs::write(
        root.join(".git"),
        "x".repeat(MAX_POINTER_BYTES as usize + 1),
    )
    .unwrap();
    check("a huge .git file");
    fs::write(root.join(".git"), "not a pointer").unwrap();
    check("a .git file without gitdir");
    fs::write(root.join(".git"), "gitdir: .git\n").unwrap();
    check("a .git file naming itself");
    fs::write(root.join(".git"), "gitdir: /dev/zero\n").unwrap();
    check("a .git file naming a device");
    fs::remove_file(root.join(".git")).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(root.join(".git"), root.join(".git")).unwrap();
        check("a .git symlink loop");
        fs::remove_file(root.join(".git")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join(".git"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        check("a FIFO as .git");
        fs::remove_file(root.join(".git")).unwrap();
    }
    let git = git_dir(root, "");
    fs::write(
        git.join("config"),
        "x".repeat(MAX_CONFIG_BYTES as usize + 1),
    )
    .unwrap();
    check("a huge config");
    fs::remove_file(git.join("config")).unwrap();
    fs::create_dir(git.join("config")).unwrap();
    check("a folder as config");
    fs::remove_dir(git.join("config")).unwrap();
    fs::write(git.join("commondir"), "nowhere\n").unwrap();
    check("a commondir naming nothing");
}

#[test]
fn outside_a_repository_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    if dir.path().ancestors().any(|d| d.join(".git").exists()) {
        eprintln!("skipped: the temporary folder is inside a repository");
        return;
    }
    let err = derive(dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.message().contains("not inside a git repository"),
        "{err:?}"
    );
}
