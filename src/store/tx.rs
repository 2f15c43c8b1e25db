//! The write transaction every writer goes through.
//!
//! [`Store::write`](super::Store::write) hands a [`Tx`] to its work. The
//! write primitives of each topic are methods of `Tx` in that topic's file
//! (memories and their versions in `memory_tx`, purging in `listing`), the
//! way rusqlite spreads `Connection`'s methods over its files; a new topic
//! adds its own the same way. Vectors are written by `chunks`, reached
//! through [`Tx::write_chunks`].
//!
//! A `Tx` dereferences to the underlying rusqlite transaction for reads
//! inside it.

use std::ops::Deref;

use rusqlite::Transaction;

use super::chunks::{self, EmbeddedText};
use super::origins::OriginOf;
use crate::error::Result;
use crate::graph::Extractor;
use crate::memory::MemoryId;

/// An open `BEGIN IMMEDIATE` transaction holding the database's write lock.
pub struct Tx<'conn> {
    inner: Transaction<'conn>,
    /// The LLM extractor a change of a memory's text is queued for.
    queue_for: Option<Extractor>,
    /// The namespace whose origin writes record, with that origin.
    origin: Option<OriginOf>,
}

impl<'conn> Tx<'conn> {
    /// Wraps a transaction that already holds the write lock; a change of
    /// a memory's text through it is queued for `queue_for`, if any, and a
    /// write to `origin`'s namespace records where its name came from.
    pub(crate) fn new(
        inner: Transaction<'conn>,
        queue_for: Option<Extractor>,
        origin: Option<OriginOf>,
    ) -> Self {
        Tx {
            inner,
            queue_for,
            origin,
        }
    }

    /// The namespace whose origin writes record, with that origin.
    pub(crate) fn origin(&self) -> Option<&OriginOf> {
        self.origin.as_ref()
    }

    /// The LLM extractor a change of a memory's text is queued for.
    pub(crate) fn queued_extractor(&self) -> Option<Extractor> {
        self.queue_for
    }

    /// Commits everything written through this transaction.
    pub(crate) fn commit(self) -> Result<()> {
        Ok(self.inner.commit()?)
    }

    /// Replaces the vectors of one live memory with `embedded`.
    pub(crate) fn write_chunks(
        &self,
        memory_id: MemoryId,
        namespace: &str,
        embedded: &EmbeddedText,
    ) -> Result<usize> {
        chunks::write_chunks(
            &self.inner,
            chunks::VectorTable::Live,
            memory_id,
            namespace,
            embedded,
        )
    }
}

impl<'conn> Deref for Tx<'conn> {
    type Target = Transaction<'conn>;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}
