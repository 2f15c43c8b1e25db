//! Why an LLM run failed, and what the caller should do about it.

use crate::error::{Error, ErrorKind};

/// What a failed run calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Rate limit, usage limit or overload: the same request may work later.
    RetryLater,
    /// The tool's login failed: retrying cannot help until the user logs in.
    Auth,
    /// The reply could not be read (bad JSON, no result): worth a few retries.
    Malformed,
    /// The tool reported an error of another kind.
    Failed,
    /// The tool showed that it bills an API key, not the subscription.
    BillsApiKey,
}

/// A failed run: its class and what the tool said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What the failure calls for.
    pub class: FailureClass,
    /// What went wrong, for people.
    pub message: String,
}

/// Words of an error text that mean the login failed.
const AUTH_MARKERS: &[&str] = &[
    "authentication_failed",
    "failed to authenticate",
    "invalid bearer token",
    "api error: 401",
    "401 unauthorized",
    "not logged in",
    "please run /login",
    "invalid_api_key",
];
/// Words of an error text that mean "not now": rate limits, usage limits,
/// overload.
const RETRY_LATER_MARKERS: &[&str] = &[
    "rate_limit",
    "rate limit",
    "overloaded",
    "too many requests",
    "hit your limit",
    "usage limit",
];

/// HTTP statuses that mean "not now" when an error text names them as a
/// number of their own (not inside a longer number or word).
const RETRY_LATER_STATUSES: &[&str] = &["429", "529"];

/// Whether `text` holds `number` on its own: not next to another letter or
/// digit (`429` in "status 429", not in "1429 tokens").
fn names_number(text: &str, number: &str) -> bool {
    text.match_indices(number).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + number.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The class of a run whose output holds no reply and no known error: a
/// tool that failed (a non-zero exit, or killed by a signal) said why on
/// stderr, and asking again would only repeat it; one that exited 0 cut
/// its reply short, and is asked again.
pub(super) fn unread_class(exit_code: Option<i32>) -> FailureClass {
    match exit_code {
        Some(0) => FailureClass::Malformed,
        _ => FailureClass::Failed,
    }
}

/// The most bytes of a tool's error text kept in a message (its end, where
/// the error usually is).
const MESSAGE_BYTES: usize = 2000;

/// The last [`MESSAGE_BYTES`] of `text`, on a character boundary.
fn tail(text: &str) -> &str {
    let mut start = text.len().saturating_sub(MESSAGE_BYTES);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// What to do about a refused API key.
pub(super) const API_KEY_HINT: &str = "log the tool in with your subscription (OAuth) and remove the API key \
     from its environment and settings, or pass --allow-api-key to pay per token";

impl Failure {
    /// A failure of the given class.
    pub fn new(class: FailureClass, message: impl Into<String>) -> Self {
        Failure {
            class,
            message: message.into(),
        }
    }

    /// A failure classified by the words of `text` (an error the tool
    /// reported), of class `otherwise` when no known words are there.
    pub fn classify(text: &str, otherwise: FailureClass) -> Self {
        let lower = text.to_lowercase();
        let class = if AUTH_MARKERS.iter().any(|m| lower.contains(m)) {
            FailureClass::Auth
        } else if RETRY_LATER_MARKERS.iter().any(|m| lower.contains(m))
            || RETRY_LATER_STATUSES.iter().any(|n| names_number(&lower, n))
        {
            FailureClass::RetryLater
        } else {
            otherwise
        };
        Failure::new(class, tail(text.trim()))
    }

    /// The error reported for this failure by `backend`.
    pub fn into_error(self, backend: &str) -> Error {
        match self.class {
            FailureClass::RetryLater => Error::new(
                ErrorKind::LlmUnavailable,
                format!("{backend} cannot take work now: {}", self.message),
            )
            .with_hint("rate limit, usage limit or overload: retry later"),
            FailureClass::Auth => Error::new(
                ErrorKind::LlmAuth,
                format!("{backend} could not log in: {}", self.message),
            )
            .with_hint(format!("log in with `{backend}` itself, then retry")),
            FailureClass::BillsApiKey => Error::new(
                ErrorKind::ApiKeyRefused,
                format!("{backend} bills an API key: {}", self.message),
            )
            .with_hint(API_KEY_HINT),
            FailureClass::Malformed | FailureClass::Failed => Error::new(
                ErrorKind::LlmFailed,
                format!("{backend} failed: {}", self.message),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_error_text_keeps_its_end() {
        let text = format!("{}é rate limit", "x".repeat(5000));
        let failure = Failure::classify(&text, FailureClass::Failed);
        assert_eq!(failure.class, FailureClass::RetryLater);
        assert!(failure.message.len() <= MESSAGE_BYTES);
        assert!(failure.message.ends_with("é rate limit"));
    }

    #[test]
    fn a_status_counts_only_as_a_number_of_its_own() {
        let later = |text| Failure::classify(text, FailureClass::Failed).class;
        assert_eq!(later("status 429"), FailureClass::RetryLater);
        assert_eq!(later("(529)"), FailureClass::RetryLater);
        assert_eq!(later("used 1429 tokens"), FailureClass::Failed);
        assert_eq!(later("request req_5290ab failed"), FailureClass::Failed);
        assert_eq!(later("line 4291"), FailureClass::Failed);
    }

    #[test]
    fn error_texts_of_both_tools_are_classified() {
        let cases = [
            (
                r#"API Error: 529 {"type":"error","error":{"type":"overloaded_error"}}"#,
                FailureClass::RetryLater,
            ),
            (
                "API Error: 529 Overloaded. This is a server-side issue",
                FailureClass::RetryLater,
            ),
            (
                "You've hit your limit · resets 1pm (Europe/Lisbon)",
                FailureClass::RetryLater,
            ),
            (
                "Claude AI usage limit reached|1760000000",
                FailureClass::RetryLater,
            ),
            (
                "You've hit your usage limit. Try again at 12:16 PM.",
                FailureClass::RetryLater,
            ),
            (
                "unexpected status 429 Too Many Requests",
                FailureClass::RetryLater,
            ),
            (
                "API Error: 401 {\"error\":\"Invalid bearer token\"}",
                FailureClass::Auth,
            ),
            ("Failed to authenticate. API Error: 401", FailureClass::Auth),
            ("Reached maximum number of turns (1)", FailureClass::Failed),
        ];
        for (text, class) in cases {
            assert_eq!(
                Failure::classify(text, FailureClass::Failed).class,
                class,
                "{text}"
            );
        }
    }
}
