//! HTTP to the providers the user chooses (embeddings, chat): JSON over
//! `minreq`, with HTTPS through rustls and its bundled roots.
//!
//! Every request has a deadline, follows no redirect (one would carry the
//! API key to wherever it points), names this program in its User-Agent,
//! and reads at most a bounded answer. Failures that may pass are retried
//! as [`retry`] says; the rest, and the last retry, become errors whose
//! kind tells the class: auth, rate limit, provider error, bad answer.

mod client;
pub mod retry;
mod target;
#[cfg(test)]
pub(crate) mod test_server;

pub use client::{Endpoint, post_json};
pub use target::{attribution, check_target, is_openrouter};
