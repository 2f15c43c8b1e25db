//! The wire format of an OpenAI-compatible `POST {base}/chat/completions`
//! asking for a reply that follows a JSON schema: the request body, and
//! the answer read into the reply, a reply worth asking for again, or an
//! error.

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{Error, ErrorKind};

/// The name the schema is sent under (`[a-zA-Z0-9_-]{1,64}`).
pub const SCHEMA_NAME: &str = "memory_graph";

/// Tokens a request used, as the provider counted them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens of the reply.
    pub completion_tokens: u64,
}

/// A reply read from an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The reply's JSON document.
    pub structured: Value,
    /// The tokens used, when the answer says.
    pub usage: Option<Usage>,
}

/// What an answer that holds no usable reply calls for.
#[derive(Debug)]
pub enum Unread {
    /// Cut short or not JSON: worth asking again.
    Malformed(String),
    /// Anything else: the error to report.
    Final(Error),
}

/// The body asking `model` for a reply to `prompt` that follows `schema`
/// strictly. No `temperature` (reasoning models refuse one); with
/// `openrouter`, routing only to providers that honour every parameter.
pub fn request_body(model: &str, prompt: &str, schema: &Value, openrouter: bool) -> Value {
    let mut body = json!({
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": SCHEMA_NAME, "strict": true, "schema": schema},
        },
    });
    if openrouter {
        body["provider"] = json!({"require_parameters": true});
    }
    body
}

/// Reads the reply of a 2xx answer: `choices[0].message.content`, a JSON
/// document as a string.
///
/// # Failure
/// [`Unread::Malformed`] for a reply cut short (`finish_reason` `length`)
/// or one that is not JSON; [`Unread::Final`] with provider-error for an
/// error in the body (OpenRouter sends one with status 200 once
/// generation started), llm-failed for a refusal or no content,
/// provider-bad-response for an answer without choices.
pub fn read_answer(answer: &Value) -> Result<Completion, Unread> {
    if let Some(error) = answer.get("error").filter(|e| !e.is_null()) {
        return Err(provider_error(error));
    }
    let choice = &answer["choices"][0];
    if !choice.is_object() {
        return Err(Unread::Final(Error::new(
            ErrorKind::ProviderBadResponse,
            "the answer has no choices[0]",
        )));
    }
    if let Some(error) = choice.get("error").filter(|e| !e.is_null()) {
        return Err(provider_error(error));
    }
    let message = &choice["message"];
    if let Some(refusal) = message["refusal"].as_str() {
        return Err(failed(format!("the model refused: {refusal}")));
    }
    if choice["finish_reason"] == "length" {
        return Err(Unread::Malformed(
            "the reply was cut short (finish_reason \"length\")".to_owned(),
        ));
    }
    let Some(content) = message["content"].as_str() else {
        return Err(failed(format!(
            "the reply has no content (finish_reason {})",
            choice["finish_reason"]
        )));
    };
    let structured = serde_json::from_str(content.trim()).map_err(|e| {
        Unread::Malformed(format!(
            "the reply is not the JSON document the schema asks for: {e}"
        ))
    })?;
    Ok(Completion {
        structured,
        usage: usage(&answer["usage"]),
    })
}

/// The usage of an answer, when it counts both sides.
fn usage(usage: &Value) -> Option<Usage> {
    Some(Usage {
        prompt_tokens: usage["prompt_tokens"].as_u64()?,
        completion_tokens: usage["completion_tokens"].as_u64()?,
    })
}

fn failed(message: String) -> Unread {
    Unread::Final(Error::new(
        ErrorKind::LlmFailed,
        format!("openai-compatible failed: {message}"),
    ))
}

/// The provider error an `error` member of an answer reports.
fn provider_error(error: &Value) -> Unread {
    let said = error["message"]
        .as_str()
        .or_else(|| error.as_str())
        .map_or_else(|| error.to_string(), str::to_owned);
    let code = match &error["code"] {
        Value::Null => String::new(),
        code => format!(" (code {code})"),
    };
    Unread::Final(Error::new(
        ErrorKind::ProviderError,
        format!("the provider failed while answering{code}: {said}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(message: Value, finish_reason: &str) -> Value {
        json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
        })
    }

    fn kind(unread: Unread) -> ErrorKind {
        match unread {
            Unread::Final(error) => error.kind(),
            Unread::Malformed(why) => panic!("malformed: {why}"),
        }
    }

    #[test]
    fn the_body_asks_for_the_schema_strictly_and_openrouter_for_providers_that_honour_it() {
        let schema = json!({"type": "object"});
        let body = request_body("m", "the prompt", &schema, false);
        assert_eq!(body["model"], "m");
        assert_eq!(
            body["messages"],
            json!([{"role": "user", "content": "the prompt"}])
        );
        let format = &body["response_format"];
        assert_eq!(format["type"], "json_schema");
        assert_eq!(format["json_schema"]["strict"], true);
        assert_eq!(format["json_schema"]["name"], SCHEMA_NAME);
        assert_eq!(format["json_schema"]["schema"], schema);
        assert!(body.get("provider").is_none());
        assert!(body.get("temperature").is_none());
        let routed = request_body("m", "p", &schema, true);
        assert_eq!(routed["provider"], json!({"require_parameters": true}));
    }

    #[test]
    fn the_content_is_read_as_json_with_the_usage() {
        let message = json!({"role": "assistant", "content": " {\"a\": 1} ", "refusal": null});
        let read = read_answer(&answer(message, "stop")).unwrap();
        assert_eq!(read.structured, json!({"a": 1}));
        assert_eq!(
            read.usage,
            Some(Usage {
                prompt_tokens: 120,
                completion_tokens: 30
            })
        );
        let mut bare = answer(json!({"content": "{}"}), "stop");
        bare.as_object_mut().unwrap().remove("usage");
        assert_eq!(read_answer(&bare).unwrap().usage, None);
    }

    #[test]
    fn a_cut_or_unreadable_reply_is_malformed() {
        let cut = answer(json!({"content": "{\"a\": [1, 2"}), "length");
        assert!(matches!(read_answer(&cut), Err(Unread::Malformed(_))));
        let cut_but_whole = answer(json!({"content": "{}"}), "length");
        assert!(matches!(
            read_answer(&cut_but_whole),
            Err(Unread::Malformed(_))
        ));
        let prose = answer(json!({"content": "Here is the graph"}), "stop");
        assert!(matches!(read_answer(&prose), Err(Unread::Malformed(_))));
    }

    #[test]
    fn refusals_errors_and_empty_answers_are_final() {
        let refused = answer(
            json!({"content": null, "refusal": "I can't help with that"}),
            "stop",
        );
        assert_eq!(
            kind(read_answer(&refused).unwrap_err()),
            ErrorKind::LlmFailed
        );
        let empty = answer(json!({"content": null, "refusal": null}), "stop");
        assert_eq!(kind(read_answer(&empty).unwrap_err()), ErrorKind::LlmFailed);
        let openrouter = json!({"id": "gen-1", "error": {"code": 502, "message": "upstream died"}});
        let error = read_answer(&openrouter).unwrap_err();
        let Unread::Final(error) = error else {
            panic!("{error:?}")
        };
        assert_eq!(error.kind(), ErrorKind::ProviderError);
        assert!(error.message().contains("upstream died"), "{error:?}");
        let in_choice = json!({"choices": [{"error": {"message": "x"}, "finish_reason": "error"}]});
        assert_eq!(
            kind(read_answer(&in_choice).unwrap_err()),
            ErrorKind::ProviderError
        );
        assert_eq!(
            kind(read_answer(&json!({"choices": []})).unwrap_err()),
            ErrorKind::ProviderBadResponse
        );
    }
}
