//! JSON-RPC 2.0 as MCP's stdio transport carries it: one message per line.
//!
//! Reading accepts `\r\n` line ends. Batches (JSON arrays) were removed from
//! the protocol in revision 2025-06-18 and are refused. Writing produces
//! compact JSON, which never holds a raw newline.

use serde_json::{Map, Value, json};

/// The JSON-RPC error codes this server sends.
pub mod code {
    /// The line is not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// The JSON is not a valid request.
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// The method's parameters are wrong, or it came before `initialize`.
    pub const INVALID_PARAMS: i64 = -32602;
}

/// A JSON-RPC error: its code and message.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// One of the codes in [`code`].
    pub code: i64,
    /// What went wrong, for a person.
    pub message: String,
}

impl RpcError {
    /// An error with this code and message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
        }
    }
}

/// One line read from the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A request, to be answered with the same id.
    Request {
        /// Its id (a string or an integer), echoed as it came.
        id: Value,
        /// The method called.
        method: String,
        /// Its parameters: an object, or `Null` when absent.
        params: Value,
    },
    /// A notification, never answered.
    Notification {
        /// The method.
        method: String,
        /// Its parameters: an object, or `Null` when absent.
        params: Value,
    },
    /// A response to a request of ours (this server sends none, so it is dropped).
    Response,
    /// Something to answer with an error: the id when one could be read.
    Invalid {
        /// The request's id, or `Null` when it could not be read.
        id: Value,
        /// Why it is invalid.
        error: RpcError,
    },
    /// A blank line.
    Blank,
}

/// Reads one line (its `\n` already removed).
pub fn parse(line: &str) -> Incoming {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() {
        return Incoming::Blank;
    }
    let value: Value = match serde_json::from_str(line) {
        Ok(value) => value,
        Err(e) => return invalid(Value::Null, code::PARSE_ERROR, format!("not JSON: {e}")),
    };
    let Value::Object(message) = value else {
        let what = match value.is_array() {
            true => "batches are not supported; send one message per line",
            false => "a message must be a JSON object",
        };
        return invalid(Value::Null, code::INVALID_REQUEST, what);
    };
    let id = match message.get("id") {
        None => None,
        Some(id) if id.is_string() || id.is_i64() || id.is_u64() => Some(id.clone()),
        Some(_) => {
            return invalid(
                Value::Null,
                code::INVALID_REQUEST,
                "the id must be a string or an integer",
            );
        }
    };
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        let id = id.unwrap_or(Value::Null);
        return invalid(id, code::INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"");
    }
    let Some(method) = message.get("method") else {
        return match id.is_some()
            && (message.contains_key("result") || message.contains_key("error"))
        {
            true => Incoming::Response,
            false => invalid(
                id.unwrap_or(Value::Null),
                code::INVALID_REQUEST,
                "a request needs a method",
            ),
        };
    };
    let Some(method) = method.as_str().map(str::to_owned) else {
        return invalid(
            id.unwrap_or(Value::Null),
            code::INVALID_REQUEST,
            "the method must be a string",
        );
    };
    let params = message.get("params").cloned().unwrap_or(Value::Null);
    if !(params.is_object() || params.is_null()) {
        return match id {
            Some(id) => invalid(id, code::INVALID_PARAMS, "params must be an object"),
            None => Incoming::Blank,
        };
    }
    match id {
        Some(id) => Incoming::Request { id, method, params },
        None => Incoming::Notification { method, params },
    }
}

fn invalid(id: Value, code: i64, message: impl Into<String>) -> Incoming {
    Incoming::Invalid {
        id,
        error: RpcError::new(code, message),
    }
}

/// The request a `notifications/cancelled` notification cancels, if
/// `method` and `params` are one with a valid id.
pub fn cancelled_request<'a>(method: &str, params: &'a Value) -> Option<&'a Value> {
    (method == "notifications/cancelled")
        .then(|| params.get("requestId"))
        .flatten()
        .filter(|id| id.is_string() || id.is_i64() || id.is_u64())
}

/// What a line that cannot be read as text reads as: a parse error, `why`.
pub fn unreadable(why: impl Into<String>) -> Incoming {
    invalid(Value::Null, code::PARSE_ERROR, why)
}

/// The line answering request `id` with `result` (an object).
pub fn result_line(id: &Value, result: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string()
}

/// The line answering request `id` (or `Null`) with `error`.
pub fn error_line(id: &Value, error: &RpcError) -> String {
    let mut body = Map::new();
    body.insert("code".into(), json!(error.code));
    body.insert("message".into(), json!(error.message));
    json!({"jsonrpc": "2.0", "id": id, "error": body}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_notifications_are_told_apart() {
        assert_eq!(
            parse(r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#),
            Incoming::Request {
                id: json!(7),
                method: "ping".into(),
                params: Value::Null
            }
        );
        assert_eq!(
            parse("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\r"),
            Incoming::Notification {
                method: "notifications/initialized".into(),
                params: Value::Null
            }
        );
        assert_eq!(
            parse(r#"{"jsonrpc":"2.0","id":"a","result":{}}"#),
            Incoming::Response
        );
        assert_eq!(parse("  "), Incoming::Blank);
    }

    #[test]
    fn malformed_lines_get_the_right_codes() {
        let code_of = |line: &str| match parse(line) {
            Incoming::Invalid { error, .. } => error.code,
            other => panic!("{line} parsed as {other:?}"),
        };
        assert_eq!(code_of("{oops"), code::PARSE_ERROR);
        assert_eq!(
            code_of(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"id":1,"method":"ping"}"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#),
            code::INVALID_PARAMS
        );
    }

    #[test]
    fn ids_are_echoed_with_their_type() {
        let line = result_line(&json!("7"), json!({}));
        assert_eq!(line, r#"{"id":"7","jsonrpc":"2.0","result":{}}"#);
        let line = error_line(&json!(3), &RpcError::new(code::METHOD_NOT_FOUND, "no"));
        assert!(
            line.contains(r#""id":3"#) && line.contains("-32601"),
            "{line}"
        );
    }
}
