//! One JSON request to a provider: sent, retried as [`super::retry`] says,
//! and its answer read within a size bound, or an error of the class the
//! failure is in.

use std::io::Read;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::retry::{RetryHeaders, Verdict, retryable_status, wait_before};
use crate::error::{Error, ErrorKind, Result};
use crate::slots::Pool;

/// Where requests go and how they are sent.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The API base, e.g. `https://openrouter.ai/api/v1` (no trailing `/`).
    pub base_url: String,
    /// Sent as `Authorization: Bearer KEY` when set.
    pub api_key: Option<String>,
    /// Further headers (attribution, …).
    pub headers: Vec<(String, String)>,
    /// One deadline for connecting, sending and reading, per attempt.
    pub timeout: Duration,
    /// Further attempts after a failure that may pass.
    pub retries: u32,
    /// The most bytes of an answer's body read.
    pub max_body: usize,
    /// The pool each attempt takes a slot of, and how long it waits for
    /// one; `None` for no cap.
    pub slots: Option<(Pool, Duration)>,
}

/// What one attempt came to.
enum Attempt {
    /// An answer, of any status.
    Answer {
        status: u16,
        body: String,
        retry: RetryHeaders,
    },
    /// No answer in time.
    TimedOut,
    /// No answer: refused, reset, name not found.
    Unreachable(String),
    /// The server's TLS certificate is not trusted: asking again cannot help.
    Untrusted(String),
}

/// Posts `body` as JSON to `{base}/{path}` and returns the JSON answer of
/// a 2xx status.
///
/// # Failure
/// Provider-auth (401, 403), provider-rate-limited (429 and 402 once the
/// retries are spent, or a quota that is gone), provider-error (other
/// statuses, an unreachable server), timeout, provider-bad-response (an
/// answer that is not JSON or is too long).
pub fn post_json(endpoint: &Endpoint, path: &str, body: &Value) -> Result<Value> {
    let url = format!("{}/{}", endpoint.base_url, path.trim_start_matches('/'));
    let payload = body.to_string();
    let mut attempt = 0;
    loop {
        let outcome = match &endpoint.slots {
            Some((pool, wait)) => {
                let guard = pool.acquire(*wait, vec!["http".to_owned(), url.clone()])?;
                let outcome = send(endpoint, &url, &payload);
                drop(guard);
                outcome
            }
            None => send(endpoint, &url, &payload),
        };
        let retry = match &outcome {
            Attempt::Answer { status, .. } if (200..300).contains(status) => None,
            Attempt::Answer {
                status,
                body,
                retry,
            } => retryable_status(*status, body).then(|| retry.clone()),
            Attempt::TimedOut | Attempt::Unreachable(_) => Some(RetryHeaders::default()),
            Attempt::Untrusted(_) => None,
        };
        let wait = match retry {
            Some(asked) if attempt < endpoint.retries => {
                wait_before(attempt + 1, &asked, SystemTime::now(), jitter())
            }
            _ => Verdict::Never,
        };
        match (outcome, wait) {
            (Attempt::Answer { status, body, .. }, _) if (200..300).contains(&status) => {
                return serde_json::from_str(&body).map_err(|e| {
                    Error::new(
                        ErrorKind::ProviderBadResponse,
                        format!("{url} answered {status} with a body that is not JSON: {e}"),
                    )
                });
            }
            (outcome, Verdict::After(pause)) => {
                tracing::warn!("{url}: {}; trying again in {pause:.1?}", describe(&outcome));
                std::thread::sleep(pause);
                attempt += 1;
            }
            (outcome, Verdict::Never) => return Err(failure(&url, outcome, attempt + 1)),
        }
    }
}

/// Sends one attempt.
fn send(endpoint: &Endpoint, url: &str, payload: &str) -> Attempt {
    let mut request = minreq::post(url)
        .with_header("Content-Type", "application/json")
        .with_header("Accept", "application/json")
        .with_header(
            "User-Agent",
            concat!("sqlite-graphrag/", env!("CARGO_PKG_VERSION")),
        )
        .with_timeout(endpoint.timeout.as_secs().max(1))
        .with_follow_redirects(false)
        .with_body(payload.as_bytes().to_vec());
    if let Some(key) = &endpoint.api_key {
        request = request.with_header("Authorization", format!("Bearer {key}"));
    }
    for (name, value) in &endpoint.headers {
        request = request.with_header(name.clone(), value.clone());
    }
    let response = match request.send_lazy() {
        Ok(response) => response,
        Err(e) => return unanswered(e),
    };
    let status = response.status_code;
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    };
    let retry = RetryHeaders {
        after_ms: header("retry-after-ms"),
        after: header("retry-after"),
    };
    let mut bytes = Vec::new();
    let limit = endpoint.max_body as u64 + 1;
    if let Err(e) = response.take(limit).read_to_end(&mut bytes) {
        return match e.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => Attempt::TimedOut,
            _ => Attempt::Unreachable(format!("reading the answer: {e}")),
        };
    }
    if bytes.len() > endpoint.max_body {
        return Attempt::Answer {
            status: 0,
            body: format!("an answer longer than {} bytes", endpoint.max_body),
            retry,
        };
    }
    Attempt::Answer {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        retry,
    }
}

/// An attempt that got no answer.
fn unanswered(error: minreq::Error) -> Attempt {
    match error {
        minreq::Error::IoError(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            Attempt::TimedOut
        }
        other => {
            let why = other.to_string();
            match why.contains("certificate") {
                true => Attempt::Untrusted(why),
                false => Attempt::Unreachable(why),
            }
        }
    }
}

/// A few words on an attempt, for the log.
fn describe(attempt: &Attempt) -> String {
    match attempt {
        Attempt::Answer { status, .. } => format!("status {status}"),
        Attempt::TimedOut => "no answer in time".to_owned(),
        Attempt::Unreachable(why) | Attempt::Untrusted(why) => why.clone(),
    }
}

/// The error of a request that failed for good after `attempts` attempts.
fn failure(url: &str, attempt: Attempt, attempts: u32) -> Error {
    let tries = match attempts {
        1 => String::new(),
        n => format!(" (after {n} attempts)"),
    };
    match attempt {
        Attempt::TimedOut => Error::new(
            ErrorKind::Timeout,
            format!("{url} did not answer in time{tries}"),
        )
        .with_hint("raise the timeout, or send smaller batches"),
        Attempt::Unreachable(why) => Error::new(
            ErrorKind::ProviderError,
            format!("cannot reach {url}{tries}: {why}"),
        )
        .with_hint("is the server running, and is the base URL right?"),
        Attempt::Untrusted(why) => Error::new(
            ErrorKind::ProviderError,
            format!("{url} is not trusted: {why}"),
        )
        .with_hint(
            "HTTPS trusts the Mozilla root certificates built into the program: a server \
             with a private or self-signed certificate, or behind a TLS-intercepting proxy, \
             cannot be used (one on this machine can be reached over http://)",
        ),
        Attempt::Answer {
            status: 0, body, ..
        } => Error::new(ErrorKind::ProviderBadResponse, format!("{url} sent {body}")),
        Attempt::Answer { status, body, .. } => {
            let said = provider_message(&body);
            let message = format!("{url} answered {status}{tries}: {said}");
            match status {
                401 | 403 => Error::new(ErrorKind::ProviderAuth, message)
                    .with_hint("check the API key (SQLITE_GRAPHRAG_EMBED_API_KEY)"),
                402 | 429 => Error::new(ErrorKind::ProviderRateLimited, message)
                    .with_hint("wait, lower the batch size, or check the account's credits"),
                _ => Error::new(ErrorKind::ProviderError, message),
            }
        }
    }
}

/// The message of a provider's error body, in any of the shapes they use
/// (`{"error":{"message"}}`, `{"error":"…"}`, `{"message"}`), else the
/// start of the body.
fn provider_message(body: &str) -> String {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let message = json["error"]["message"]
        .as_str()
        .or_else(|| json["error"].as_str())
        .or_else(|| json["message"].as_str());
    match message {
        Some(message) => message.to_owned(),
        None => body.chars().take(300).collect(),
    }
}

/// A number in [0, 1) that differs between calls and processes.
fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mixed =
        (u64::from(nanos) ^ u64::from(std::process::id())).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::time::Instant;

    use serde_json::json;

    use super::*;
    use crate::http::test_server::{Answer, ok, serve};

    fn endpoint(base: &str, retries: u32) -> Endpoint {
        Endpoint {
            base_url: base.to_owned(),
            api_key: Some("sk-test".to_owned()),
            headers: vec![("X-Title".to_owned(), "sqlite-graphrag".to_owned())],
            timeout: Duration::from_secs(1),
            retries,
            max_body: 1024,
            slots: None,
        }
    }

    #[test]
    fn a_json_answer_is_returned_and_the_request_says_who_sends_it() {
        let (base, seen) = serve(vec![ok(r#"{"data":[]}"#)]);
        let answer = post_json(&endpoint(&base, 0), "/embeddings", &json!({"input": ["a"]}));
        assert_eq!(answer.unwrap(), json!({"data": []}));
        let request = seen.lock().unwrap()[0].clone();
        assert!(
            request.starts_with("POST /embeddings HTTP/1.1"),
            "{request}"
        );
        let lower = request.to_ascii_lowercase();
        assert!(lower.contains("authorization: bearer sk-test"), "{request}");
        assert!(lower.contains("user-agent: sqlite-graphrag/"), "{request}");
        assert!(lower.contains("x-title: sqlite-graphrag"), "{request}");
        assert!(request.ends_with(r#"{"input":["a"]}"#), "{request}");
    }

    #[test]
    fn not_now_is_retried_after_the_wait_the_server_asks() {
        let wait = Duration::from_millis(300);
        let (base, seen) = serve(vec![
            Answer(
                429,
                "Retry-After-Ms: 300\r\n",
                r#"{"error":{"message":"slow down"}}"#.into(),
                Duration::ZERO,
            ),
            Answer(500, "", "oops".into(), Duration::ZERO),
            ok("{}"),
        ]);
        let started = Instant::now();
        assert_eq!(
            post_json(&endpoint(&base, 2), "embeddings", &json!({})).unwrap(),
            json!({})
        );
        assert!(
            started.elapsed() >= wait + FIRST_WAIT_FLOOR,
            "{:?}",
            started.elapsed()
        );
        assert_eq!(seen.lock().unwrap().len(), 3);
    }

    /// The least backoff before the first retry (the jitter takes off at
    /// most a quarter).
    const FIRST_WAIT_FLOOR: Duration = Duration::from_millis(375);

    #[test]
    fn each_failure_has_its_kind_and_the_final_ones_are_not_retried() {
        let cases = [
            (
                Answer(
                    401,
                    "",
                    r#"{"error":{"message":"bad key"}}"#.into(),
                    Duration::ZERO,
                ),
                ErrorKind::ProviderAuth,
                1,
            ),
            (
                Answer(
                    429,
                    "",
                    r#"{"error":{"code":"insufficient_quota"}}"#.into(),
                    Duration::ZERO,
                ),
                ErrorKind::ProviderRateLimited,
                1,
            ),
            (
                Answer(
                    400,
                    "",
                    r#"{"error":"input too long"}"#.into(),
                    Duration::ZERO,
                ),
                ErrorKind::ProviderError,
                1,
            ),
            (
                Answer(
                    307,
                    "Location: http://elsewhere/\r\n",
                    String::new(),
                    Duration::ZERO,
                ),
                ErrorKind::ProviderError,
                1,
            ),
            (ok("not json"), ErrorKind::ProviderBadResponse, 1),
            (ok(&"x".repeat(2000)), ErrorKind::ProviderBadResponse, 1),
            (
                Answer(200, "", "{}".into(), Duration::from_secs(3)),
                ErrorKind::Timeout,
                1,
            ),
        ];
        for (answer, kind, requests) in cases {
            let (base, seen) = serve(vec![answer]);
            let error = post_json(&endpoint(&base, 0), "chat/completions", &json!({})).unwrap_err();
            assert_eq!(error.kind(), kind, "{error:?}");
            assert_eq!(seen.lock().unwrap().len(), requests, "{error:?}");
        }
        let error = post_json(&endpoint(&serve(vec![ok("x")]).0, 0), "x", &json!({}));
        assert!(error.unwrap_err().message().contains("not JSON"));
    }

    #[test]
    fn https_picks_its_crypto_and_a_server_that_speaks_no_tls_is_an_error() {
        let (base, _) = serve(vec![ok("{}")]);
        let base = base.replace("http://", "https://");
        let error = post_json(&endpoint(&base, 0), "x", &json!({})).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ProviderError, "{error:?}");
    }

    #[test]
    fn a_server_that_is_not_there_is_a_provider_error() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let error = post_json(
            &endpoint(&format!("http://127.0.0.1:{port}"), 0),
            "x",
            &json!({}),
        )
        .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ProviderError, "{error:?}");
        assert!(error.message().contains("cannot reach"), "{error:?}");
    }
}
