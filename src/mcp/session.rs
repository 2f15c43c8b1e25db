//! The protocol's lifecycle, and every method but `tools/call` answered at
//! once: `initialize` with version negotiation, `ping`, `tools/list`.
//!
//! A method this server does not know gets -32601 in any state (a client
//! probing `server/discover` must hear so at once); a known one other than
//! `ping` before `initialize` gets -32602.

use serde_json::{Map, Value, json};

use crate::mcp::wire::{Incoming, RpcError, code, error_line, result_line};

/// The protocol revisions served, oldest first; the last is offered to a
/// client asking for any other.
pub const PROTOCOL_VERSIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

/// What a tool call produced: the result, or a failure with its error kind.
pub type ToolOutcome = Result<ToolOutput, ToolFailure>;

/// A tool's successful result.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// The result as JSON (an object), matching the tool's output schema.
    pub structured: Value,
    /// A short rendering for a model to read.
    pub text: String,
}

/// A tool that failed: the same kind and message the command line prints.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolFailure {
    /// The error kind, e.g. `not_found`.
    pub kind: String,
    /// What went wrong.
    pub message: String,
}

/// The tools a server offers.
pub trait Tools: Sync {
    /// Every tool's definition, for `tools/list`.
    fn definitions(&self) -> Vec<Value>;
    /// Whether a tool of this name exists.
    fn knows(&self, name: &str) -> bool;
    /// Runs the tool with its arguments (already known to be an object).
    fn call(&self, name: &str, arguments: &Map<String, Value>) -> ToolOutcome;
}

/// A `tools/call` request waiting to run.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The request id, to answer with.
    pub id: Value,
    /// The tool's name.
    pub name: String,
    /// Its arguments.
    pub arguments: Map<String, Value>,
}

/// What to do with one incoming line.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Write this line back.
    Answer(String),
    /// Run this tool call, then answer it.
    Call(ToolCall),
    /// Nothing to do (notifications among them: cancellations are noted
    /// as they are read, see [`crate::mcp::serve`]).
    Nothing,
}

/// Who the server says it is at `initialize`.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// Its name.
    pub name: &'static str,
    /// Its version.
    pub version: &'static str,
    /// Guidance a client may add to the model's instructions.
    pub instructions: &'static str,
}

/// One client's session: whether it has initialized.
pub struct Session<'a> {
    tools: &'a dyn Tools,
    info: ServerInfo,
    initialized: bool,
}

impl<'a> Session<'a> {
    /// A session that has not initialized yet.
    pub fn new(tools: &'a dyn Tools, info: ServerInfo) -> Self {
        Session {
            tools,
            info,
            initialized: false,
        }
    }

    /// Decides what one incoming line asks for.
    pub fn handle(&mut self, incoming: Incoming) -> Step {
        match incoming {
            Incoming::Request { id, method, params } => match self.request(&method, params) {
                Ok(Requested::Result(result)) => Step::Answer(result_line(&id, result)),
                Ok(Requested::Call(name, arguments)) => Step::Call(ToolCall {
                    id,
                    name,
                    arguments,
                }),
                Err(error) => Step::Answer(error_line(&id, &error)),
            },
            Incoming::Invalid { id, error } => Step::Answer(error_line(&id, &error)),
            Incoming::Notification { .. } | Incoming::Response | Incoming::Blank => Step::Nothing,
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Result<Requested, RpcError> {
        let known = matches!(method, "initialize" | "ping" | "tools/list" | "tools/call");
        if !known {
            return Err(RpcError::new(
                code::METHOD_NOT_FOUND,
                format!("no method {method:?}"),
            ));
        }
        if !self.initialized && !matches!(method, "initialize" | "ping") {
            return Err(RpcError::new(
                code::INVALID_PARAMS,
                "initialize the session first",
            ));
        }
        match method {
            "initialize" => self.initialize(&params).map(Requested::Result),
            "ping" => Ok(Requested::Result(json!({}))),
            "tools/list" => self.list(&params).map(Requested::Result),
            _ => self.call(params),
        }
    }

    fn initialize(&mut self, params: &Value) -> Result<Value, RpcError> {
        let Some(asked) = params.get("protocolVersion").and_then(Value::as_str) else {
            return Err(RpcError::new(
                code::INVALID_PARAMS,
                "initialize needs a protocolVersion",
            ));
        };
        let newest = PROTOCOL_VERSIONS[PROTOCOL_VERSIONS.len() - 1];
        let version = PROTOCOL_VERSIONS
            .into_iter()
            .find(|v| *v == asked)
            .unwrap_or(newest);
        self.initialized = true;
        Ok(json!({
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": false}},
            "serverInfo": {"name": self.info.name, "version": self.info.version},
            "instructions": self.info.instructions,
        }))
    }

    fn list(&self, params: &Value) -> Result<Value, RpcError> {
        if params.get("cursor").is_some_and(|cursor| !cursor.is_null()) {
            return Err(RpcError::new(
                code::INVALID_PARAMS,
                "every tool is on the first page; no cursor is valid",
            ));
        }
        Ok(json!({"tools": self.tools.definitions()}))
    }

    fn call(&self, params: Value) -> Result<Requested, RpcError> {
        let Some(name) = params.get("name").and_then(Value::as_str) else {
            return Err(RpcError::new(
                code::INVALID_PARAMS,
                "tools/call needs the tool's name",
            ));
        };
        if !self.tools.knows(name) {
            return Err(RpcError::new(
                code::INVALID_PARAMS,
                format!("unknown tool {name:?}"),
            ));
        }
        let arguments = match params.get("arguments") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(arguments)) => arguments.clone(),
            Some(_) => {
                return Err(RpcError::new(
                    code::INVALID_PARAMS,
                    "arguments must be an object",
                ));
            }
        };
        Ok(Requested::Call(name.to_owned(), arguments))
    }
}

enum Requested {
    Result(Value),
    Call(String, Map<String, Value>),
}

/// The `tools/call` result for a tool's outcome: text plus structured
/// content, or, on failure, `isError` with the error as the command line
/// prints it (`{"error":{"kind":…,"message":…}}`) and no structured content.
pub fn call_result(outcome: ToolOutcome) -> Value {
    match outcome {
        Ok(output) => json!({
            "content": [{"type": "text", "text": output.text}],
            "structuredContent": output.structured,
            "isError": false,
        }),
        Err(failure) => {
            let error = json!({"error": {"kind": failure.kind, "message": failure.message}});
            json!({
                "content": [{"type": "text", "text": error.to_string()}],
                "isError": true,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::wire::parse;

    struct OneTool;

    impl Tools for OneTool {
        fn definitions(&self) -> Vec<Value> {
            vec![json!({"name": "echo", "inputSchema": {"type": "object"}})]
        }
        fn knows(&self, name: &str) -> bool {
            name == "echo"
        }
        fn call(&self, _: &str, arguments: &Map<String, Value>) -> ToolOutcome {
            Ok(ToolOutput {
                structured: Value::Object(arguments.clone()),
                text: String::new(),
            })
        }
    }

    const INFO: ServerInfo = ServerInfo {
        name: "test",
        version: "0",
        instructions: "",
    };

    fn answer(session: &mut Session, line: &str) -> Value {
        match session.handle(parse(line)) {
            Step::Answer(line) => serde_json::from_str(&line).unwrap(),
            other => panic!("{line} gave {other:?}"),
        }
    }

    fn initialize(session: &mut Session, version: &str) -> Value {
        let line = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
        answer(session, &line.to_string())
    }

    #[test]
    fn versions_are_echoed_or_countered_with_the_newest() {
        for version in PROTOCOL_VERSIONS {
            let reply = initialize(&mut Session::new(&OneTool, INFO), version);
            assert_eq!(reply["result"]["protocolVersion"], version);
        }
        let reply = initialize(&mut Session::new(&OneTool, INFO), "2099-01-01");
        assert_eq!(reply["result"]["protocolVersion"], "2025-11-25");
    }

    #[test]
    fn unknown_methods_fail_at_once_and_known_ones_wait_for_initialize() {
        let mut session = Session::new(&OneTool, INFO);
        let discover = answer(
            &mut session,
            r#"{"jsonrpc":"2.0","id":1,"method":"server/discover"}"#,
        );
        assert_eq!(discover["error"]["code"], code::METHOD_NOT_FOUND);
        let early = answer(
            &mut session,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        );
        assert_eq!(early["error"]["code"], code::INVALID_PARAMS);
        let ping = answer(&mut session, r#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#);
        assert_eq!(ping["result"], json!({}));
        initialize(&mut session, "2025-11-25");
        let list = answer(
            &mut session,
            r#"{"jsonrpc":"2.0","id":4,"method":"tools/list"}"#,
        );
        assert_eq!(list["result"]["tools"][0]["name"], "echo");
    }

    #[test]
    fn calls_are_checked_before_they_run() {
        let mut session = Session::new(&OneTool, INFO);
        initialize(&mut session, "2025-11-25");
        let unknown = answer(
            &mut session,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope"}}"#,
        );
        assert_eq!(unknown["error"]["code"], code::INVALID_PARAMS);
        let step = session.handle(parse(r#"{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":"echo","arguments":{"a":1}}}"#));
        let Step::Call(call) = step else {
            panic!("{step:?}")
        };
        assert_eq!(
            (call.id, call.name, call.arguments["a"].clone()),
            (json!("c"), "echo".into(), json!(1))
        );
    }

    #[test]
    fn failures_are_tool_results_without_structured_content() {
        let result = call_result(Err(ToolFailure {
            kind: "not_found".into(),
            message: "no memory".into(),
        }));
        assert_eq!(result["isError"], true);
        assert!(result.get("structuredContent").is_none());
        let text: Value =
            serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(text["error"]["kind"], "not_found");
    }
}
