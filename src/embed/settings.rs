//! Which embedder the configuration names, and how to reach an HTTP one.

use std::time::Duration;

use super::openai::Roles;
use crate::error::{Error, Result};
use crate::http::{Endpoint, attribution, check_target};
use crate::slots::{Pool, RuntimeDir, SlotCount};

/// The base URL used for `openai-compatible` when none is configured.
pub const DEFAULT_BASE_URL: &str = "https://openrouter.ai/api/v1";
/// Texts per request when none is configured.
pub const DEFAULT_BATCH: usize = 64;
/// The most texts per request accepted (OpenAI takes 2,048).
pub const MAX_BATCH: usize = 2048;
/// The deadline of one request when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Further attempts after a failure that may pass, when none is configured.
pub const DEFAULT_RETRIES: u32 = 4;
/// The most further attempts accepted.
pub const MAX_RETRIES: u32 = 10;
/// The slot count of a new `http` pool when none is configured: requests
/// of all the processes of a host to providers, at once.
pub const DEFAULT_HTTP_SLOTS: u32 = 4;
/// The slot pool every request to a provider takes a slot of.
pub const HTTP_POOL: &str = "http";
/// How long a request waits for a slot of the `http` pool when none is
/// configured.
pub const DEFAULT_HTTP_WAIT: Duration = Duration::from_secs(300);
/// The most bytes of an answer read (a batch of 2,048 vectors of 4,096
/// floats written as JSON text is about 170 MB).
pub const MAX_ANSWER_BYTES: usize = 256 * 1024 * 1024;

/// The embedder to use.
#[derive(Debug, Clone, PartialEq)]
pub enum EmbedderChoice {
    /// The model inside the binary.
    Builtin,
    /// An OpenAI-compatible embeddings API.
    OpenAiCompatible(Box<HttpSettings>),
}

/// How to ask an OpenAI-compatible embeddings API.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// The API base, without a trailing `/`.
    pub base_url: String,
    /// The model.
    pub model: String,
    /// Sent as `dimensions` when set.
    pub dimensions: Option<u32>,
    /// The API key, if any.
    pub api_key: Option<String>,
    /// Texts per request.
    pub batch: usize,
    /// The deadline of one request.
    pub timeout: Duration,
    /// Further attempts after a failure that may pass.
    pub retries: u32,
    /// The slot count of a new `http` pool.
    pub slots: SlotCount,
    /// How long a request waits for a slot of the `http` pool.
    pub wait: Duration,
    /// How the model tells queries from documents.
    pub roles: Roles,
}

impl HttpSettings {
    /// Checks the settings: an `http(s)://` base URL, a model, a key unless
    /// the server is on this machine, and no key sent in clear text to
    /// another machine.
    ///
    /// # Failure
    /// Invalid input naming the setting.
    pub fn check(&self) -> Result<()> {
        if self.model.trim().is_empty() {
            return Err(Error::invalid(
                "the openai-compatible embedder needs a model (SQLITE_GRAPHRAG_EMBED_MODEL)",
            ));
        }
        check_target(
            &self.base_url,
            self.api_key.is_some(),
            "SQLITE_GRAPHRAG_EMBED_API_KEY, or OPENROUTER_API_KEY",
        )
    }

    /// Where and how the requests go: each under a slot of the `http`
    /// pool in `runtime_dir`.
    ///
    /// # Failure
    /// What opening the pool fails with.
    pub fn endpoint(&self, runtime_dir: &RuntimeDir) -> Result<Endpoint> {
        let pool = Pool::open(runtime_dir, HTTP_POOL, self.slots)?;
        Ok(Endpoint {
            slots: Some((pool, self.wait)),
            base_url: self.base_url.trim_end_matches('/').to_owned(),
            api_key: self.api_key.clone(),
            headers: attribution(&self.base_url),
            timeout: self.timeout,
            retries: self.retries,
            max_body: MAX_ANSWER_BYTES,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(base_url: &str, key: Option<&str>) -> HttpSettings {
        HttpSettings {
            base_url: base_url.to_owned(),
            model: "m".to_owned(),
            dimensions: None,
            api_key: key.map(str::to_owned),
            batch: DEFAULT_BATCH,
            timeout: DEFAULT_TIMEOUT,
            retries: DEFAULT_RETRIES,
            slots: SlotCount {
                value: DEFAULT_HTTP_SLOTS,
                explicit: false,
            },
            wait: DEFAULT_HTTP_WAIT,
            roles: Roles::default(),
        }
    }

    #[test]
    fn a_model_is_needed_and_the_url_is_checked() {
        assert!(settings("http://127.0.0.1:11434/v1", None).check().is_ok());
        assert!(
            settings("https://openrouter.ai/api/v1", None)
                .check()
                .is_err()
        );
        let mut no_model = settings("http://127.0.0.1", None);
        no_model.model = " ".to_owned();
        assert!(no_model.check().is_err());
    }
}
