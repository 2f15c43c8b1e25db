//! The embedding cache: the vectors an HTTP embedder made, kept in the
//! database by cache space (what besides the text decides a vector) and
//! the SHA-256 of the text, so that a text is never sent twice — not on a
//! re-import, an edit of metadata only, or a `reindex` back and forth.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use aws_lc_rs::digest::{SHA256, digest};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::chunks::{chunk_texts, quantize, stored_space};
use super::reindex::stage;
use super::{OpenMode, Store};
use crate::embed::{Embedder, EmbeddingSpace};
use crate::error::{Error, ErrorKind, Result};

/// The SHA-256 of a text.
type TextHash = [u8; 32];

/// Returns the SHA-256 of `text`.
fn text_hash(text: &str) -> TextHash {
    let mut hash = [0; 32];
    hash.copy_from_slice(digest(&SHA256, text.as_bytes()).as_ref());
    hash
}

/// How big the cache is.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CacheSize {
    /// Vectors kept.
    pub vectors: i64,
    /// Bytes of their hashes and values.
    pub bytes: i64,
}

/// Returns the id of the cache space `key`, if it has one.
fn space_id(conn: &Connection, key: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM embedding_cache_spaces WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()?)
}

/// Returns the kept vector of each hash in the cache space `key`, if any.
fn kept_vectors(
    conn: &Connection,
    key: &str,
    hashes: &[TextHash],
) -> Result<Vec<Option<Vec<f32>>>> {
    let Some(space) = space_id(conn, key)? else {
        return Ok(vec![None; hashes.len()]);
    };
    let mut lookup = conn.prepare_cached(
        "SELECT scale, vector FROM embedding_cache WHERE space_id = ?1 AND text_hash = ?2",
    )?;
    hashes
        .iter()
        .map(|hash| {
            Ok(lookup
                .query_row(params![space, hash.as_slice()], |row| {
                    let scale = row.get::<_, f64>(0)? as f32;
                    let values: Vec<u8> = row.get(1)?;
                    Ok(values
                        .into_iter()
                        .map(|q| f32::from(q as i8) * scale)
                        .collect())
                })
                .optional()?)
        })
        .collect()
}

/// Keeps `vectors` (of the texts of `hashes`) in the cache space `key`.
fn keep_vectors(
    tx: &Transaction<'_>,
    key: &str,
    hashes: &[TextHash],
    vectors: &[Vec<f32>],
) -> Result<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO embedding_cache_spaces (key) VALUES (?1)")?
        .execute([key])?;
    let space = space_id(tx, key)?.unwrap_or_default();
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO embedding_cache (space_id, text_hash, scale, vector)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (hash, vector) in hashes.iter().zip(vectors) {
        let (scale, values) = quantize(vector);
        insert.execute(params![space, hash.as_slice(), f64::from(scale), values])?;
    }
    Ok(())
}

/// Returns the dimension of the vectors kept in the cache space `key`.
fn kept_dim(conn: &Connection, key: &str) -> Result<Option<usize>> {
    let Some(space) = space_id(conn, key)? else {
        return Ok(None);
    };
    Ok(conn
        .prepare_cached("SELECT length(vector) FROM embedding_cache WHERE space_id = ?1 LIMIT 1")?
        .query_row([space], |row| row.get::<_, i64>(0))
        .optional()?
        .map(|dim| dim as usize))
}

impl Store {
    /// Returns how many vectors the embedding cache holds, and their size.
    ///
    /// # Failure
    /// Database errors.
    pub fn embedding_cache_size(&self) -> Result<CacheSize> {
        Ok(self.conn().query_row(
            "SELECT count(*), coalesce(sum(length(text_hash) + length(vector) + 8), 0)
             FROM embedding_cache",
            [],
            |row| {
                Ok(CacheSize {
                    vectors: row.get(0)?,
                    bytes: row.get(1)?,
                })
            },
        )?)
    }

    /// Deletes the cached vectors of texts that no live memory has (in
    /// any space: a `reindex` back finds them); returns how many.
    ///
    /// # Failure
    /// Database errors.
    pub fn prune_embedding_cache(&mut self) -> Result<usize> {
        let mut live = HashSet::new();
        {
            let mut texts = self
                .conn()
                .prepare("SELECT description, body FROM memories WHERE deleted_at IS NULL")?;
            let mut rows = texts.query([])?;
            while let Some(row) = rows.next()? {
                let (description, body): (String, String) = (row.get(0)?, row.get(1)?);
                live.extend(
                    chunk_texts(&description, &body)
                        .iter()
                        .map(|t| text_hash(t)),
                );
            }
        }
        self.write(|tx| {
            let kept: Vec<(i64, Vec<u8>)> = tx
                .prepare("SELECT space_id, text_hash FROM embedding_cache")?
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut delete = tx.prepare_cached(
                "DELETE FROM embedding_cache WHERE space_id = ?1 AND text_hash = ?2",
            )?;
            let mut pruned = 0;
            for (space, hash) in kept {
                if !<[u8; 32]>::try_from(hash.as_slice()).is_ok_and(|h| live.contains(&h)) {
                    pruned += delete.execute(params![space, hash])?;
                }
            }
            tx.execute(
                "DELETE FROM embedding_cache_spaces WHERE id NOT IN
                 (SELECT DISTINCT space_id FROM embedding_cache)",
                [],
            )?;
            Ok(pruned)
        })
    }
}

/// An embedder whose document vectors are looked up in, and kept in, the
/// embedding cache of one database; queries pass through.
///
/// It opens its own connection to the database the first time it
/// embeds, reads before asking the embedder, and keeps the vectors of each
/// request in a short transaction of its own, never inside a caller's, so
/// that what an interrupted run paid for is not asked again.
pub struct CachedEmbedder {
    inner: Box<dyn Embedder>,
    key: String,
    db: PathBuf,
    store: Mutex<Option<Store>>,
}

impl CachedEmbedder {
    /// `inner`, with its vectors cached in the database at `db` under `key`
    /// (its [`Embedder::cache_key`]).
    pub fn new(inner: Box<dyn Embedder>, key: String, db: PathBuf) -> Self {
        CachedEmbedder {
            inner,
            key,
            db,
            store: Mutex::new(None),
        }
    }

    /// Runs `work` on this embedder's connection, opened on first use; with
    /// `create`, the database is created if it does not exist (only
    /// writers embed documents, and they create it too), else `None` is
    /// returned for a database that does not exist.
    fn with_store<T>(
        &self,
        create: bool,
        work: impl FnOnce(&mut Store) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut guard = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        let store = match guard.as_mut() {
            Some(store) => store,
            None => {
                let opened = match Store::open(&self.db, OpenMode::Existing) {
                    Err(e) if e.kind() == ErrorKind::NotFound && create => {
                        Store::open(&self.db, OpenMode::Create)?
                    }
                    Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
                    opened => opened?,
                };
                self.learn_stored_dim(&opened)?;
                guard.insert(opened)
            }
        };
        work(store).map(Some)
    }
}

impl CachedEmbedder {
    /// Tells the embedder the dimension of the vectors the database holds
    /// of its model (live, or of a move under way), so that an answer of
    /// another dimension is refused before it is kept.
    fn learn_stored_dim(&self, store: &Store) -> Result<()> {
        let model = self.inner.space_model();
        let staged = stage(store.conn())?;
        let stored = stored_space(store.conn())?.map(|space| (space.model, Some(space.dim)));
        for (held, dim) in [stored, staged].into_iter().flatten() {
            if let (true, Some(dim)) = (held == model, dim) {
                self.inner.learn_dim(dim as usize);
            }
        }
        Ok(())
    }
}

impl Embedder for CachedEmbedder {
    fn space(&self) -> Result<EmbeddingSpace> {
        if let Some(Some(dim)) =
            self.with_store(false, |store| kept_dim(store.conn(), &self.key))?
        {
            self.inner.learn_dim(dim);
        }
        self.inner.space()
    }

    fn space_model(&self) -> String {
        self.inner.space_model()
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let hashes: Vec<TextHash> = texts.iter().map(|t| text_hash(t)).collect();
        let mut vectors = self
            .with_store(true, |store| kept_vectors(store.conn(), &self.key, &hashes))?
            .unwrap_or_default();
        if let Some(dim) = vectors.iter().flatten().map(Vec::len).next() {
            self.inner.learn_dim(dim);
        }
        let missing: Vec<usize> = (0..texts.len()).filter(|&i| vectors[i].is_none()).collect();
        if missing.is_empty() {
            return Ok(vectors.into_iter().flatten().collect());
        }
        for group in missing.chunks(self.inner.texts_per_request().max(1)) {
            let asked: Vec<&str> = group.iter().map(|&i| texts[i]).collect();
            let made = self.inner.embed(&asked)?;
            if made.len() != asked.len() {
                return Err(Error::new(
                    ErrorKind::Database,
                    format!(
                        "the embedder returned {} vectors for {} texts",
                        made.len(),
                        asked.len()
                    ),
                ));
            }
            let made_hashes: Vec<TextHash> = group.iter().map(|&i| hashes[i]).collect();
            self.with_store(true, |store| {
                store.write(|tx| keep_vectors(tx, &self.key, &made_hashes, &made))
            })?;
            for (&at, vector) in group.iter().zip(made) {
                vectors[at] = Some(vector);
            }
        }
        Ok(vectors.into_iter().flatten().collect())
    }

    fn embed_queries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.inner.embed_queries(texts)
    }

    fn learn_dim(&self, dim: usize) {
        self.inner.learn_dim(dim);
    }
}
