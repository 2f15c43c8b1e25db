//! What a memory's text gives before it is written: its vectors, and the
//! graph the built-in extractor finds in it. Both are made before the
//! write transaction starts, so the write lock is held only for writing.

use super::chunks::{EmbeddedText, embed_text, embed_texts};
use crate::embed::Embedder;
use crate::error::Result;
use crate::graph::MemoryGraph;
use crate::graph::extract::extract_memory;

/// A memory's text, embedded and read by the built-in extractor.
pub(crate) struct Derived {
    /// Its chunks and their vectors.
    pub embedded: EmbeddedText,
    /// What the built-in extractor asserts about it.
    pub graph: MemoryGraph,
}

/// Embeds `description` and `body` with `embedder` and extracts their
/// entities.
///
/// # Failure
/// The embedder's errors.
pub(crate) fn derive(embedder: &dyn Embedder, description: &str, body: &str) -> Result<Derived> {
    let embedded = embed_text(embedder, description, body)?;
    Ok(Derived {
        embedded,
        graph: extract_memory(description, body).into(),
    })
}

/// [`derive`] for many `(description, body)` texts, embedded with one call
/// of the embedder.
///
/// # Failure
/// The embedder's errors.
pub(crate) fn derive_many(embedder: &dyn Embedder, texts: &[(&str, &str)]) -> Result<Vec<Derived>> {
    let embedded = embed_texts(embedder, texts)?;
    Ok(embedded
        .into_iter()
        .zip(texts)
        .map(|(embedded, (description, body))| Derived {
            embedded,
            graph: extract_memory(description, body).into(),
        })
        .collect())
}
