//! An OpenAI-compatible API served from the test process on 127.0.0.1:
//! the real request and answer JSON, and scripted failures.

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
    /// Vectors of the words of each input.
    Vectors,
    /// This status, extra headers and body.
    Status(u16, &'static str, &'static str),
    /// Vectors of another dimension.
    Dimension(usize),
    /// One vector too few.
    MissingOne,
    /// Vectors, after this long.
    Late(Duration),
}

/// An embeddings API: answers `POST …/embeddings` as scripted (then with
/// vectors), and keeps every request body.
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
                let (status, headers, answer) = match next {
                    Script::Vectors => (200, "", data(DIM, inputs.len())),
                    Script::Status(status, headers, body) => (status, headers, body.to_owned()),
                    Script::Dimension(dim) => (200, "", data(dim, inputs.len())),
                    Script::MissingOne => (200, "", data(DIM, inputs.len() - 1)),
                    Script::Late(delay) => {
                        std::thread::sleep(delay);
                        (200, "", data(DIM, inputs.len()))
                    }
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
