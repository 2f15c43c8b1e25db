//! How to reach the chat-completions API of the `openai-compatible`
//! extraction backend.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::http::{Endpoint, attribution, check_target, is_openrouter};
use crate::slots::Pool;

/// The base URL used when none is configured.
pub const DEFAULT_BASE_URL: &str = "https://openrouter.ai/api/v1";
/// The deadline of one request when none is configured: a reasoning model
/// may think for minutes before it answers.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest deadline of one request accepted.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// Further attempts after a failure that may pass (see [`crate::http::retry`]).
pub const RETRIES: u32 = 4;
/// The most bytes of an answer read.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;
/// Where the key may come from, for messages.
const KEY_VARS: &str = "SQLITE_GRAPHRAG_CHAT_API_KEY, or OPENROUTER_API_KEY";

/// How to ask an OpenAI-compatible chat-completions API.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatSettings {
    /// The API base, without a trailing `/`.
    pub base_url: String,
    /// The model; empty when none is configured.
    pub model: String,
    /// The API key, if any.
    pub api_key: Option<String>,
    /// The deadline of one request.
    pub timeout: Duration,
}

impl ChatSettings {
    /// Checks the settings: a model, an `http(s)://` base URL, a key unless
    /// the server is on this machine, and no key sent in clear text to
    /// another machine.
    ///
    /// # Failure
    /// Invalid input naming the setting.
    pub fn check(&self) -> Result<()> {
        if self.model.is_empty() {
            return Err(
                Error::invalid("the openai-compatible extraction backend needs a model").with_hint(
                    "set SQLITE_GRAPHRAG_CHAT_MODEL, or chat_model in the configuration file",
                ),
            );
        }
        check_target(&self.base_url, self.api_key.is_some(), KEY_VARS)
    }

    /// Whether the API is OpenRouter's, which takes routing fields other
    /// providers refuse.
    pub fn is_openrouter(&self) -> bool {
        is_openrouter(&self.base_url)
    }

    /// Where and how the requests go: each attempt under a slot of `pool`,
    /// waiting at most `slot_wait` for one.
    pub fn endpoint(&self, pool: Pool, slot_wait: Duration) -> Endpoint {
        Endpoint {
            base_url: self.base_url.trim_end_matches('/').to_owned(),
            api_key: self.api_key.clone(),
            headers: attribution(&self.base_url),
            timeout: self.timeout,
            retries: RETRIES,
            max_body: MAX_ANSWER_BYTES,
            slots: Some((pool, slot_wait)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(base_url: &str, model: &str, key: Option<&str>) -> ChatSettings {
        ChatSettings {
            base_url: base_url.to_owned(),
            model: model.to_owned(),
            api_key: key.map(str::to_owned),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    #[test]
    fn a_model_is_needed_and_a_key_off_this_machine() {
        assert!(
            settings("http://127.0.0.1:8080/v1", "m", None)
                .check()
                .is_ok()
        );
        assert!(settings(DEFAULT_BASE_URL, "m", Some("k")).check().is_ok());
        assert!(settings(DEFAULT_BASE_URL, "m", None).check().is_err());
        let no_model = settings("http://127.0.0.1:8080/v1", "", None).check();
        assert!(no_model.unwrap_err().message().contains("model"));
    }

    #[test]
    fn openrouter_is_told_by_its_host() {
        assert!(settings(DEFAULT_BASE_URL, "m", None).is_openrouter());
        assert!(settings("https://OpenRouter.ai:443/api/v1", "m", None).is_openrouter());
        for other in [
            "https://api.openai.com/v1",
            "https://openrouter.ai.example.com/v1",
            "http://127.0.0.1:8080/openrouter.ai",
        ] {
            assert!(!settings(other, "m", None).is_openrouter(), "{other}");
        }
    }
}
