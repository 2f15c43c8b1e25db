//! An OpenAI-compatible API served from the test process on 127.0.0.1:
//! the real request and answer JSON of `/embeddings` and
//! `/chat/completions`, and scripted failures.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// Dimensions of the server's vectors.
pub const DIM: usize = 32;

/// How the server answers one request.
#[derive(Clone)]
pub enum Script {
    /// Vectors of the words of each input (a chat request: the [`graph`] reply).
    Vectors,
    /// This status, extra headers and body.
    Status(u16, &'static str, &'static str),
    /// Vectors of another dimension.
    Dimension(usize),
    /// One vector too few.
    MissingOne,
    /// Vectors (or the [`graph`] reply), after this long.
    Late(Duration),
    /// A chat completion whose content is this JSON document.
    Reply(Value),
    /// A chat completion cut short: `finish_reason` `length`, its content
    /// broken off.
    Cut,
    /// A chat completion refused: `content` null, `message.refusal` this.
    Refusal(&'static str),
}

/// An OpenAI-compatible API: answers `POST …/embeddings` and
/// `POST …/chat/completions` as scripted (then with vectors, or with the
/// [`graph`] reply), and keeps every request body.
pub struct Server {
    /// The API base, `http://127.0.0.1:PORT/v1`.
    pub base: String,
    script: Arc<Mutex<VecDeque<Script>>>,
    requests: Arc<Mutex<Vec<Value>>>,
}

/// The vector of `text`: each word lights one dimension, by its hash.
pub fn vector(text: &str, dim: usize) -> Vec<f64> {
    let mut v = vec![0.0; dim];
    for word in text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let hash = word.bytes().fold(2_166_136_261u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(16_777_619)
        });
        v[hash as usize % dim] += 1.0;
    }
    v
}

/// The reply a chat completion carries when nothing else is scripted: two
/// entities and a relationship between them.
pub fn graph() -> Value {
    json!({
        "entities": [
            {"name": "Rust", "type": "language", "description": "the language the tool is written in"},
            {"name": "SQLite", "type": "database", "description": null}
        ],
        "relationships": [
            {"from": "Rust", "to": "SQLite", "relation": "uses", "weight": 0.9, "description": null}
        ]
    })
}

/// The answer of an embeddings request to `next`.
fn embeddings_answer(request: &Value, next: Script) -> (u16, &'static str, String) {
    let inputs: Vec<String> = serde_json::from_value(request["input"].clone()).unwrap();
    let data = |dim: usize, count: usize| -> String {
        let items: Vec<Value> = inputs
            .iter()
            .take(count)
            .enumerate()
            .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": vector(t, dim)}))
            .collect();
        json!({"object": "list", "model": request["model"], "data": items,
               "usage": {"prompt_tokens": 3, "total_tokens": 3}})
        .to_string()
    };
    match next {
        Script::Status(status, headers, body) => (status, headers, body.to_owned()),
        Script::Dimension(dim) => (200, "", data(dim, inputs.len())),
        Script::MissingOne => (200, "", data(DIM, inputs.len() - 1)),
        Script::Late(delay) => {
            std::thread::sleep(delay);
            (200, "", data(DIM, inputs.len()))
        }
        Script::Vectors | Script::Reply(_) | Script::Cut | Script::Refusal(_) => {
            (200, "", data(DIM, inputs.len()))
        }
    }
}

/// A chat completion of `model` with this message and finish reason.
fn completion(model: &Value, message: Value, finish_reason: &str) -> String {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 321, "completion_tokens": 54, "total_tokens": 375}
    })
    .to_string()
}

/// The answer of a chat request to `next`.
fn chat_answer(request: &Value, next: Script) -> (u16, &'static str, String) {
    let model = &request["model"];
    let reply = |value: &Value| {
        let message = json!({"role": "assistant", "content": value.to_string(), "refusal": null});
        completion(model, message, "stop")
    };
    match next {
        Script::Reply(value) => (200, "", reply(&value)),
        Script::Cut => {
            let whole = graph().to_string();
            let message =
                json!({"role": "assistant", "content": &whole[..whole.len() / 2], "refusal": null});
            (200, "", completion(model, message, "length"))
        }
        Script::Refusal(why) => {
            let message = json!({"role": "assistant", "content": null, "refusal": why});
            (200, "", completion(model, message, "stop"))
        }
        Script::Status(status, headers, body) => (status, headers, body.to_owned()),
        Script::Late(delay) => {
            std::thread::sleep(delay);
            (200, "", reply(&graph()))
        }
        Script::Vectors | Script::Dimension(_) | Script::MissingOne => (200, "", reply(&graph())),
    }
}

impl Server {
    /// Starts the server on a free port of 127.0.0.1.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/v1", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (plan, seen) = (Arc::clone(&script), Arc::clone(&requests));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let request: Value = serde_json::from_slice(&body).unwrap();
                seen.lock().unwrap().push(request.clone());
                let next = plan.lock().unwrap().pop_front().unwrap_or(Script::Vectors);
                let (status, headers, answer) = if request_line.contains("/chat/completions ") {
                    chat_answer(&request, next)
                } else {
                    embeddings_answer(&request, next)
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        Server {
            base,
            script,
            requests,
        }
    }

    /// Queues how the next request is answered.
    pub fn then(&self, script: Script) -> &Self {
        self.script.lock().unwrap().push_back(script);
        self
    }

    /// The bodies of the requests received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }
}
