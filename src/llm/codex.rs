//! Codex in exec mode: `codex exec --json … -`.
//!
//! The prompt goes to stdin (`-`). stdout is JSON lines; the reply is the
//! last `agent_message` item, and only when the turn completed
//! (`turn.completed`). `error` lines before that are transient
//! ("Reconnecting…"); `turn.failed` carries the fatal error. A schema is
//! written to a file in the working folder for `--output-schema`.

use std::ffi::OsString;
use std::path::PathBuf;

use serde_json::Value;

use super::backend::{Invocation, Output, Parsed, Spec, Vars, json_document};
use super::failure::unread_class;
use super::{Failure, FailureClass};

/// The schema file's name inside the working folder.
const SCHEMA_FILE: &str = "output-schema.json";

/// Codex's data.
pub(super) static SPEC: Spec = Spec {
    name: "codex",
    passed_vars: &["CODEX_HOME", "CODEX_CA_CERTIFICATE"],
    key_vars: &["OPENAI_API_KEY", "CODEX_API_KEY"],
    args,
    parse,
    rejects_stdout: None,
    key_in_files: key_in_auth_file,
};

fn args(run: &Invocation<'_>) -> std::io::Result<Vec<OsString>> {
    let mut args: Vec<OsString> = [
        "exec",
        "--json",
        "--ephemeral",
        "--skip-git-repo-check",
        "--sandbox",
        "read-only",
        "-c",
        r#"approval_policy="never""#,
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    if let Some(model) = run.model {
        args.extend(["-m".into(), model.into()]);
    }
    if let Some(schema) = run.schema {
        let path = run.workdir.join(SCHEMA_FILE);
        std::fs::write(&path, schema.to_string())?;
        args.extend(["--output-schema".into(), path.into()]);
    }
    args.push("-".into());
    Ok(args)
}

fn parse(out: &Output<'_>) -> Result<Parsed, Failure> {
    let stdout = String::from_utf8_lossy(out.stdout);
    let mut message = None;
    let mut completed = false;
    let mut errors = Vec::new();
    for event in stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
    {
        match event["type"].as_str().unwrap_or_default() {
            "item.completed" if event["item"]["type"] == "agent_message" => {
                message = event["item"]["text"].as_str().map(str::to_owned);
            }
            "turn.completed" => completed = true,
            "turn.failed" => {
                let said = event["error"]["message"]
                    .as_str()
                    .unwrap_or("the turn failed");
                return Err(Failure::classify(said, FailureClass::Failed));
            }
            "error" => errors.extend(event["message"].as_str().map(str::to_owned)),
            _ => {}
        }
    }
    let text = match (completed, message) {
        (true, Some(text)) => text,
        (true, None) => {
            return Err(Failure::new(
                FailureClass::Malformed,
                "the turn completed without a message",
            ));
        }
        (false, _) => {
            errors.push(out.stderr.to_owned());
            let said = errors.join("\n");
            let failure = Failure::classify(&said, unread_class(out.exit_code));
            return Err(match failure.message.is_empty() {
                true => Failure::new(
                    unread_class(out.exit_code),
                    format!(
                        "no completed turn in its output (exit code {:?})",
                        out.exit_code
                    ),
                ),
                false => failure,
            });
        }
    };
    let structured = json_document(&text);
    if out.structured && structured.is_none() {
        return Err(Failure::new(
            FailureClass::Malformed,
            "the reply is not the JSON document the schema asks for",
        ));
    }
    Ok(Parsed { text, structured })
}

/// Says whether `$CODEX_HOME/auth.json` (default `~/.codex/auth.json`;
/// an empty variable counts as unset, as codex counts it) logs codex in
/// with an API key rather than a ChatGPT account. With neither variable,
/// the login cannot be checked, which counts as a key.
fn key_in_auth_file(var: Vars<'_>) -> Option<String> {
    let set = |name| var(name).filter(|value| !value.is_empty());
    let home = set("CODEX_HOME").map(PathBuf::from).or_else(|| {
        set("HOME")
            .or_else(|| set("USERPROFILE"))
            .map(|home| PathBuf::from(home).join(".codex"))
    });
    let Some(home) = home else {
        return Some(
            "neither CODEX_HOME nor HOME is set (codex's auth.json cannot be checked)".to_owned(),
        );
    };
    let path = home.join("auth.json");
    let text = std::fs::read_to_string(&path).ok()?;
    let auth: Value = serde_json::from_str(&text).ok()?;
    let has_key = auth["OPENAI_API_KEY"]
        .as_str()
        .is_some_and(|k| !k.is_empty());
    let key_mode = auth["auth_mode"]
        .as_str()
        .is_some_and(|mode| mode.to_lowercase().replace('_', "") == "apikey");
    (has_key || key_mode).then(|| format!("{} logs codex in with an API key", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(stdout: &str) -> Output<'_> {
        Output {
            stdout: stdout.as_bytes(),
            stderr: "",
            exit_code: Some(0),
            structured: false,
            allow_api_key: false,
        }
    }

    #[test]
    fn the_last_message_of_a_completed_turn_is_the_reply() {
        let stdout = concat!(
            r#"{"type":"thread.started","thread_id":"t"}"#,
            "\n",
            r#"{"type":"error","message":"Reconnecting... 1/5"}"#,
            "\n",
            r#"{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"first"}}"#,
            "\n",
            r#"{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"{\"a\":1}"}}"#,
            "\n",
            r#"{"type":"turn.completed","usage":{}}"#,
            "\n",
        );
        let parsed = parse(&output(stdout)).unwrap();
        assert_eq!(parsed.text, r#"{"a":1}"#);
        assert_eq!(parsed.structured, Some(serde_json::json!({"a":1})));
    }

    #[test]
    fn a_message_without_a_completed_turn_is_no_reply() {
        let stdout =
            r#"{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"x"}}"#;
        assert_eq!(
            parse(&output(stdout)).unwrap_err().class,
            FailureClass::Malformed
        );
        let limit = concat!(
            r#"{"type":"error","message":"You've hit your usage limit."}"#,
            "\n",
            r#"{"type":"turn.failed","error":{"message":"You've hit your usage limit."}}"#,
            "\n",
        );
        assert_eq!(
            parse(&output(limit)).unwrap_err().class,
            FailureClass::RetryLater
        );
    }
}
