//! Claude Code in print mode: `claude -p --output-format stream-json`.
//!
//! The prompt goes to stdin. The reply is the last `result` object, read
//! from any of the shapes `claude` prints: stream-json events (one JSON
//! object a line, `system/init` first), one JSON object (`json`), or a JSON
//! array of every message (`json` under verbose settings). The structured
//! reply is `structured_output`, else the text of `result` parsed as JSON.
//! `init.apiKeySource` other than `"none"` means an API key is billed.

use std::ffi::OsString;

use serde_json::Value;

use super::backend::{Invocation, Output, Parsed, Spec, json_document};
use super::failure::unread_class;
use super::{Failure, FailureClass};

/// Turns allowed (always passed): with a schema the structured reply
/// arrives through a tool call, which costs a turn of its own.
const MAX_TURNS: &str = "3";

/// Claude Code's data.
pub(super) static SPEC: Spec = Spec {
    name: "claude",
    passed_vars: &[
        "CLAUDE_CONFIG_DIR",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "NODE_EXTRA_CA_CERTS",
    ],
    key_vars: &[
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "CLAUDE_CODE_USE_BEDROCK",
        "CLAUDE_CODE_USE_VERTEX",
        "CLAUDE_CODE_USE_FOUNDRY",
    ],
    args,
    parse,
    rejects_stdout: Some(bills_api_key),
    key_in_files: |_| None,
};

fn args(run: &Invocation<'_>) -> std::io::Result<Vec<OsString>> {
    let mut args: Vec<OsString> = [
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--no-session-persistence",
        "--strict-mcp-config",
        "--mcp-config",
        r#"{"mcpServers":{}}"#,
        "--max-turns",
        MAX_TURNS,
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    if let Some(model) = run.model {
        args.extend(["--model".into(), model.into()]);
    }
    if let Some(schema) = run.schema {
        args.extend(["--json-schema".into(), schema.to_string().into()]);
    }
    Ok(args)
}

/// How far into stream-json output the `init` event is looked for (other
/// events, such as those of the user's session hooks, may come first).
const INIT_SEARCH_BYTES: usize = 256 * 1024;

/// Returns whether the stream-json output read so far holds an `init`
/// event whose `apiKeySource` is not `"none"` (complete lines only, within
/// the first [`INIT_SEARCH_BYTES`]).
fn bills_api_key(stdout: &[u8]) -> bool {
    let searched = &stdout[..stdout.len().min(INIT_SEARCH_BYTES)];
    let complete = match searched.iter().rposition(|&b| b == b'\n') {
        Some(end) => &searched[..end],
        None => return false,
    };
    complete
        .split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
        .find(|event| event["type"] == "system" && event["subtype"] == "init")
        .and_then(|init| key_source_billed(&init))
        .is_some()
}

/// The `apiKeySource` of an `init` event, when it is not `"none"`.
fn key_source_billed(event: &Value) -> Option<String> {
    if event["type"] != "system" || event["subtype"] != "init" {
        return None;
    }
    match &event["apiKeySource"] {
        Value::String(source) if source == "none" => None,
        Value::Null => None,
        other => Some(other.as_str().unwrap_or("?").to_owned()),
    }
}

/// The messages `claude` printed, in order, in any of its three shapes;
/// lines that are not JSON (a truncated last line) are left out.
fn events(stdout: &str) -> Vec<Value> {
    match json_document(stdout) {
        Some(Value::Array(events)) => events,
        Some(event @ Value::Object(_)) => vec![event],
        _ => stdout
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect(),
    }
}

fn parse(out: &Output<'_>) -> Result<Parsed, Failure> {
    let stdout = String::from_utf8_lossy(out.stdout);
    let events = events(&stdout);
    let mut problems = Vec::new();
    for event in &events {
        if !out.allow_api_key
            && let Some(source) = key_source_billed(event)
        {
            return Err(Failure::new(
                FailureClass::BillsApiKey,
                format!("claude billed an API key (apiKeySource {source:?})"),
            ));
        }
        if let Some(error) = event.get("error").and_then(Value::as_str) {
            problems.push(error.to_owned());
        }
        if event["type"] == "rate_limit_event" && event["rate_limit_info"]["status"] == "rejected" {
            problems.push("rate_limit: rejected".to_owned());
        }
    }
    let Some(result) = events.iter().rev().find(|e| e["type"] == "result") else {
        let said = [problems.join("; "), out.stderr.to_owned()].join("\n");
        let failure = Failure::classify(&said, unread_class(out.exit_code));
        return Err(match failure.message.is_empty() {
            true => Failure::new(
                unread_class(out.exit_code),
                format!("no result in its output (exit code {:?})", out.exit_code),
            ),
            false => failure,
        });
    };
    let text = result["result"].as_str().unwrap_or_default();
    if result["is_error"] != false || result["subtype"] != "success" {
        let mut said = vec![text.to_owned()];
        if let Some(errors) = result["errors"].as_array() {
            said.extend(errors.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        if let Some(status) = result["api_error_status"].as_u64() {
            said.push(format!("API status {status}"));
        }
        said.extend(problems);
        let said: Vec<String> = said.into_iter().filter(|s| !s.is_empty()).collect();
        let said = match said.is_empty() {
            true => format!("{} (exit code {:?})", result["subtype"], out.exit_code),
            false => said.join("; "),
        };
        return Err(Failure::classify(&said, FailureClass::Failed));
    }
    let structured = match &result["structured_output"] {
        Value::Null => json_document(text),
        value => Some(value.clone()),
    };
    if out.structured && structured.is_none() {
        return Err(Failure::new(
            FailureClass::Malformed,
            "the reply is not the JSON document the schema asks for",
        ));
    }
    Ok(Parsed {
        text: text.to_owned(),
        structured,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(stdout: &str) -> Output<'_> {
        Output {
            stdout: stdout.as_bytes(),
            stderr: "",
            exit_code: Some(0),
            structured: true,
            allow_api_key: false,
        }
    }

    const INIT: &str =
        r#"{"type":"system","subtype":"init","apiKeySource":"none","session_id":"s"}"#;
    const RESULT: &str = r#"{"type":"result","subtype":"success","is_error":false,"result":"","structured_output":{"a":1},"session_id":"s"}"#;

    #[test]
    fn the_three_shapes_give_the_same_reply() {
        let stream = format!("{INIT}\n{RESULT}\n");
        let array = format!("[{INIT},{RESULT}]");
        for stdout in [stream.as_str(), RESULT, array.as_str()] {
            let parsed = parse(&output(stdout)).unwrap();
            assert_eq!(
                parsed.structured,
                Some(serde_json::json!({"a":1})),
                "{stdout}"
            );
        }
    }

    #[test]
    fn the_result_text_is_parsed_when_structured_output_is_missing() {
        let result =
            r#"{"type":"result","subtype":"success","is_error":false,"result":"{\"b\":2}"}"#;
        let parsed = parse(&output(result)).unwrap();
        assert_eq!(parsed.structured, Some(serde_json::json!({"b":2})));
    }

    #[test]
    fn an_api_key_source_is_rejected_as_soon_as_init_is_read() {
        let billed = INIT.replace(r#""none""#, r#""ANTHROPIC_API_KEY""#);
        assert!(bills_api_key(format!("{billed}\n").as_bytes()));
        let hook = r#"{"type":"system","subtype":"hook_response","session_id":"s"}"#;
        assert!(bills_api_key(format!("{hook}\n{billed}\n").as_bytes()));
        assert!(!bills_api_key(
            format!("{hook}\n{INIT}\n{billed}\n").as_bytes()
        ));
        assert!(
            !bills_api_key(billed.as_bytes()),
            "an incomplete line waits"
        );
        assert!(!bills_api_key(format!("{INIT}\n").as_bytes()));
        assert_eq!(
            parse(&output(&billed)).unwrap_err().class,
            FailureClass::BillsApiKey
        );
    }

    #[test]
    fn errors_are_classified() {
        let overloaded = r#"{"type":"result","subtype":"success","is_error":true,"api_error_status":529,"result":"API Error: 529 Overloaded."}"#;
        assert_eq!(
            parse(&output(overloaded)).unwrap_err().class,
            FailureClass::RetryLater
        );
        let limit = r#"{"type":"rate_limit_event","rate_limit_info":{"status":"rejected"}}"#;
        assert_eq!(
            parse(&output(limit)).unwrap_err().class,
            FailureClass::RetryLater
        );
        assert_eq!(
            parse(&output("{\"type\":\"res")).unwrap_err().class,
            FailureClass::Malformed
        );
        let turns = r#"{"type":"result","subtype":"error_max_turns","is_error":true,"errors":["Reached maximum number of turns (1)"]}"#;
        assert_eq!(
            parse(&output(turns)).unwrap_err().class,
            FailureClass::Failed
        );
    }
}
