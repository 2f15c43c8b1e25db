//! Which embedder the configuration names, and how to reach an HTTP one.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::http::Endpoint;
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
/// How long a request waits for a slot of the `http` pool.
pub const SLOT_WAIT: Duration = Duration::from_secs(300);
/// The most bytes of an answer read (a batch of 2,048 vectors of 4,096
/// floats written as JSON text is about 170 MB).
pub const MAX_ANSWER_BYTES: usize = 256 * 1024 * 1024;

/// The embedder to use.
#[derive(Debug, Clone, PartialEq)]
pub enum EmbedderChoice {
    /// The model inside the binary.
    Builtin,
    /// An OpenAI-compatible embeddings API.
    OpenAiCompatible(HttpSettings),
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
}

impl HttpSettings {
    /// Checks the settings: an `http(s)://` base URL, a model, a key unless
    /// the server is on this machine, and no key sent in clear text to
    /// another machine.
    ///
    /// # Failure
    /// Invalid input naming the setting.
    pub fn check(&self) -> Result<()> {
        let rest = self
            .base_url
            .strip_prefix("https://")
            .map(|rest| (rest, true))
            .or_else(|| {
                self.base_url
                    .strip_prefix("http://")
                    .map(|rest| (rest, false))
            });
        let Some((rest, encrypted)) = rest else {
            return Err(Error::invalid(format!(
                "the embeddings base URL {:?} must start with https:// or http://",
                self.base_url
            )));
        };
        if self.model.trim().is_empty() {
            return Err(Error::invalid(
                "the openai-compatible embedder needs a model (SQLITE_GRAPHRAG_EMBED_MODEL)",
            ));
        }
        let local = is_loopback(host_of(rest));
        if self.api_key.is_none() && !local {
            return Err(Error::invalid(format!(
                "{} is not on this machine, and no API key is set \
                 (SQLITE_GRAPHRAG_EMBED_API_KEY, or OPENROUTER_API_KEY)",
                self.base_url
            )));
        }
        if self.api_key.is_some() && !encrypted && !local {
            return Err(Error::invalid(format!(
                "the API key would cross the network in clear text to {}: use https://",
                self.base_url
            )));
        }
        Ok(())
    }

    /// Where and how the requests go: each under a slot of the `http`
    /// pool in `runtime_dir`.
    ///
    /// # Failure
    /// What opening the pool fails with.
    pub fn endpoint(&self, runtime_dir: &RuntimeDir) -> Result<Endpoint> {
        let pool = Pool::open(runtime_dir, HTTP_POOL, self.slots)?;
        Ok(Endpoint {
            slots: Some((pool, SLOT_WAIT)),
            base_url: self.base_url.trim_end_matches('/').to_owned(),
            api_key: self.api_key.clone(),
            headers: Vec::new(),
            timeout: self.timeout,
            retries: self.retries,
            max_body: MAX_ANSWER_BYTES,
        })
    }
}

/// The host of the part of a URL after its scheme.
fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    }
}

/// Whether `host` names this machine.
fn is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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
        }
    }

    #[test]
    fn a_key_is_needed_off_this_machine_and_never_goes_in_clear_text() {
        assert!(settings("http://127.0.0.1:11434/v1", None).check().is_ok());
        assert!(settings("http://localhost:8080", None).check().is_ok());
        assert!(settings("http://[::1]:8080/v1", None).check().is_ok());
        assert!(
            settings("https://openrouter.ai/api/v1", Some("k"))
                .check()
                .is_ok()
        );
        assert!(settings("http://127.0.0.1:8000", Some("k")).check().is_ok());
        for (url, key) in [
            ("https://openrouter.ai/api/v1", None),
            ("http://api.example.com/v1", Some("k")),
            ("http://127.0.0.1.example.com/v1", Some("k")),
            ("http://user@localhost.evil.com/", None),
            ("ftp://example.com", Some("k")),
            ("openrouter.ai", Some("k")),
        ] {
            assert!(settings(url, key).check().is_err(), "{url} {key:?}");
        }
        let mut no_model = settings("http://127.0.0.1", None);
        no_model.model = " ".to_owned();
        assert!(no_model.check().is_err());
    }

    #[test]
    fn hosts_are_read_from_urls() {
        assert_eq!(host_of("user:pw@Host.example:443/v1"), "Host.example");
        assert_eq!(host_of("[::1]:8080/x"), "::1");
        assert_eq!(host_of("localhost"), "localhost");
    }
}
