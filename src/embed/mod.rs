//! Embeddings: turning text into vectors that are close when meanings are.
//!
//! Every vector is tagged with its [`EmbeddingSpace`]; a database holds
//! vectors of one space only. The built-in model needs no network and no
//! download: its tables are part of the binary. Nothing here is global: the
//! command layer picks one [`Embedder`] and passes it to whatever embeds.

mod builtin;
pub mod families;
pub mod openai;
pub mod settings;
mod tables;
mod tokenizer;

use serde::Serialize;

use crate::error::Result;

pub use builtin::{BUILTIN_MODEL_ID, MAX_TOKENS, StaticModel};

/// Most dimensions a vector may have (the integer scan is exact up to here).
pub const MAX_DIM: u32 = 4096;

/// A model and its dimension: vectors are comparable only within one space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmbeddingSpace {
    /// The model identifier, e.g. `builtin:minilm-l6-v2-m2v-int8`.
    pub model: String,
    /// The number of dimensions.
    pub dim: u32,
}

/// Something that turns texts into unit-length vectors of one space, of
/// any dimension up to [`MAX_DIM`]. Shared across threads by reference.
pub trait Embedder: Send + Sync {
    /// Returns the space of the vectors this embedder makes.
    ///
    /// # Failure
    /// An embedder that learns its dimension from its first answer (HTTP)
    /// may have to ask, and fail as [`Embedder::embed`] does.
    fn space(&self) -> Result<EmbeddingSpace>;

    /// Returns the model identifier of [`Embedder::space`], known without
    /// asking anything.
    fn space_model(&self) -> String;

    /// Embeds each text, as a document to be found; a text without any
    /// known token gets a zero vector.
    ///
    /// # Failure
    /// Implementations that call out (HTTP) fail with their transport errors.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;

    /// Embeds each text as a search query; the same as [`Embedder::embed`]
    /// unless the model tells queries from documents.
    ///
    /// # Failure
    /// As [`Embedder::embed`].
    fn embed_queries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embed(texts)
    }

    /// What, besides a text, decides its document vector (model,
    /// dimensions, prefix): the key of the embedding cache. `None` when
    /// caching does not pay (the built-in model is faster than a lookup).
    fn cache_key(&self) -> Option<String> {
        None
    }

    /// The most texts this embedder sends at once (one request of an HTTP
    /// embedder); `usize::MAX` for one that sends nothing.
    fn texts_per_request(&self) -> usize {
        usize::MAX
    }

    /// Tells an embedder that learns its dimension from its answers the
    /// dimension of vectors it made before (kept in the cache), so that it
    /// need not ask. Others ignore it.
    fn learn_dim(&self, _dim: usize) {}
}
