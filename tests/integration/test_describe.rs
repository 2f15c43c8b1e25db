//! `completions` and `man`: the scripts load in their shells, bash
//! completes a verb, and the manual pages render.

use std::path::Path;
#[cfg(unix)]
use std::process::Command;

use crate::common::*;

/// Runs the binary with `args` in a bare environment and returns its
/// stdout, asserting success.
fn text_of(dir: &Path, args: &[&str]) -> String {
    let output = bare_cmd(dir).args(args).output_retrying();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Fails with how to install `program` when it is missing: these checks
/// must run, not pass by being skipped.
#[cfg(unix)]
fn require(program: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .unwrap()
        .status
        .success();
    assert!(
        found,
        "{program} is needed by this test: apt-get install -y {package}"
    );
}

/// Runs `shell` with `args` and `script` as its last argument; asserts
/// that it succeeds with nothing on stderr, and returns its stdout.
#[cfg(unix)]
fn run_shell(shell: &str, args: &[&str], script: &Path) -> String {
    let output = Command::new(shell).args(args).arg(script).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.is_empty(),
        "{shell} {args:?} {}: {stderr}",
        script.display()
    );
    String::from_utf8(output.stdout).unwrap()
}

#[cfg(unix)]
#[test]
fn completion_scripts_load_in_their_shells() {
    let env = TestEnv::new();
    for (shell, package) in [("bash", "bash"), ("zsh", "zsh"), ("fish", "fish")] {
        require(shell, package);
        let script = env.dir.path().join(format!("completion.{shell}"));
        let text = text_of(env.dir.path(), &["completions", shell]);
        assert!(text.contains("remember"), "{shell}: {text}");
        std::fs::write(&script, text).unwrap();
        run_shell(shell, &["-n"], &script);
    }
}

#[cfg(unix)]
#[test]
fn bash_completes_a_verb_and_its_flags() {
    let env = TestEnv::new();
    let script = env.dir.path().join("completion.bash");
    std::fs::write(&script, text_of(env.dir.path(), &["completions", "bash"])).unwrap();
    // Completes the last word of `line` with the function the script
    // registered for the command, as bash does on <TAB>.
    let driver = env.dir.path().join("complete.bash");
    std::fs::write(
        &driver,
        r#"source "$1"
read -r -a COMP_WORDS <<< "$2"
[[ "$2" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="$2"
COMP_POINT=${#COMP_LINE}
function=$(complete -p sqlite-graphrag | sed -E 's/.* -F ([^ ]+) .*/\1/')
"$function" sqlite-graphrag "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#,
    )
    .unwrap();
    let complete = |line: &str| -> Vec<String> {
        let output = Command::new("bash")
            .arg(&driver)
            .arg(&script)
            .arg(line)
            .output()
            .unwrap();
        assert!(output.status.success(), "{line:?}: {output:?}");
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(complete("sqlite-graphrag rem"), ["remember"]);
    let verbs = complete("sqlite-graphrag ");
    for verb in ["remember", "recall", "completions", "man", "slots"] {
        assert!(verbs.iter().any(|v| v == verb), "{verb} in {verbs:?}");
    }
    assert!(complete("sqlite-graphrag remember --bo").contains(&"--body".to_owned()));
    assert_eq!(complete("sqlite-graphrag completions fi"), ["fish"]);
}

#[cfg(unix)]
#[test]
fn manual_pages_render_without_warnings() {
    require("man", "man-db groff-base");
    let env = TestEnv::new();
    let page = env.dir.path().join("sqlite-graphrag.1");
    std::fs::write(&page, text_of(env.dir.path(), &["man"])).unwrap();
    let render = |page: &Path| {
        let output = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stderr.is_empty(),
            "{}: {stderr}",
            page.display()
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let text = render(&page);
    for part in ["SYNOPSIS", "SUBCOMMANDS", "remember", "completions"] {
        assert!(text.contains(part), "{part} missing from:\n{text}");
    }

    let dir = env.dir.path().join("man1");
    let written = bare_cmd(env.dir.path())
        .args(["man", "--output-dir"])
        .arg(&dir)
        .output_retrying();
    assert!(written.status.success(), "{written:?}");
    let listed: ManPages = typed(
        &["man", "--output-dir"],
        serde_json::from_slice(&written.stdout).unwrap(),
    );
    let listed = listed.written;
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, files);
    for verb in [
        "sqlite-graphrag.1",
        "sqlite-graphrag-remember.1",
        "sqlite-graphrag-slots-exec.1",
    ] {
        let page = dir.join(verb);
        assert!(render(&page).contains("SYNOPSIS"), "{verb}");
    }
}

#[test]
fn describing_verbs_need_no_configuration() {
    let env = TestEnv::new();
    // A configuration file that cannot be read fails every other verb.
    let config = env.dir.path().join("broken.toml");
    std::fs::write(&config, "this is = = not toml").unwrap();
    let text = text_of(
        env.dir.path(),
        &["--config", config.to_str().unwrap(), "completions", "bash"],
    );
    assert!(text.contains("complete -F"));
    let output = bare_cmd(env.dir.path())
        .args(["--config", config.to_str().unwrap(), "stats"])
        .output_retrying();
    assert!(!output.status.success());
    assert!(!env.dir.path().join("memory.sqlite").exists());
}
