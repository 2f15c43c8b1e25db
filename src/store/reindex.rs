//! `reindex`: embed every live memory again, in the same space or into
//! another one.
//!
//! In the same space, vectors keep serving searches until their memory's
//! batch replaces them. A move to another space writes the new vectors
//! beside the old ones (`staged_chunks`); the old ones serve searches
//! until one transaction swaps them, once no live memory waits. Both are
//! resumable: the memories still to do are listed in a backlog, so after
//! an interruption `reindex` carries on instead of starting over.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::Store;
use super::chunks::{VectorTable, stored_space};
use super::vectors::migrate::rows_into_blocks;
use crate::embed::{Embedder, EmbeddingSpace};
use crate::error::{Error, ErrorKind, Result};

/// What `reindex` did.
#[derive(Debug, Clone, Serialize)]
pub struct ReindexReport {
    /// The space vectors were in before, if any.
    pub previous_space: Option<EmbeddingSpace>,
    /// The space they are in now.
    pub space: EmbeddingSpace,
    /// Whether the vectors moved to another space.
    pub moved: bool,
    /// Whether an interrupted `reindex` was carried on.
    pub resumed: bool,
    /// Memories embedded.
    pub memories: u64,
    /// Chunks written.
    pub chunks: u64,
    /// Dead vector slots removed by the compaction that follows.
    pub compacted: usize,
}

/// The move under way, if one is: the model moved to, and the dimension
/// once its first vectors are written.
pub(crate) fn stage(conn: &Connection) -> Result<Option<(String, Option<u32>)>> {
    Ok(conn
        .prepare_cached("SELECT model, dim FROM reindex_stage WHERE id = 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?)
}

/// The model of the move under way, if one is.
pub(crate) fn staged_model(conn: &Connection) -> Result<Option<String>> {
    Ok(stage(conn)?.map(|(model, _)| model))
}

/// Forgets the move under way, if any, and what it wrote.
fn drop_stage(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "DELETE FROM reindex_stage; DELETE FROM staged_backlog; DELETE FROM staged_chunks;",
    )?;
    Ok(())
}

/// Whether any live memory waits for vectors of `table`.
fn waits(tx: &Transaction<'_>, table: VectorTable) -> Result<bool> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT 1 FROM {} b JOIN memories m ON m.id = b.memory_id
             WHERE m.deleted_at IS NULL LIMIT 1",
            table.backlog()
        ))?
        .exists([])?)
}

impl Store {
    /// Re-embeds every live memory with `embedder`, a batch per short
    /// transaction, telling `progress` the memories each batch did and the
    /// total to do. See the module's documentation.
    ///
    /// # Failure
    /// The embedder's errors and database errors; batches written stay.
    pub fn reindex(
        &mut self,
        embedder: &dyn Embedder,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ReindexReport> {
        let previous_space = stored_space(self.conn())?;
        let moving = match &previous_space {
            Some(previous) if previous.model == embedder.space_model() => {
                embedder.learn_dim(previous.dim as usize);
                embedder.space()? != *previous
            }
            Some(_) => true,
            None => false,
        };
        let (table, resumed) = if moving {
            (VectorTable::Staged, self.begin_move(embedder)?)
        } else {
            (VectorTable::Live, self.begin_in_place()?)
        };
        let mut total = self.backlog_len(table)?;
        let (mut memories, mut chunks) = (0, 0);
        loop {
            let mut done = memories;
            let drained = self.drain_backlog(embedder, table, &mut |batch| {
                done += batch;
                total = total.max(done);
                progress(batch, total);
            })?;
            memories += drained.memories;
            chunks += drained.chunks;
            let space = embedder.space()?;
            let done = match moving {
                false => true,
                true => match self.swap_staged(&space)? {
                    Swap::Done => true,
                    Swap::Waiting => false,
                    Swap::Gone => self.moved_elsewhere(&space)?,
                },
            };
            if done {
                return Ok(ReindexReport {
                    previous_space,
                    space,
                    moved: moving,
                    resumed,
                    memories,
                    chunks,
                    compacted: 0,
                });
            }
            total += self.backlog_len(table)?;
        }
    }

    /// Starts (or carries on) a reindex within the database's space;
    /// forgets any move under way. Returns whether an interrupted one is
    /// carried on.
    fn begin_in_place(&mut self) -> Result<bool> {
        self.write(|tx| {
            drop_stage(tx)?;
            let resuming = waits(tx, VectorTable::Live)?;
            if !resuming {
                tx.execute(
                    "INSERT OR IGNORE INTO vector_backlog (memory_id)
                     SELECT id FROM memories WHERE deleted_at IS NULL",
                    [],
                )?;
            }
            Ok(resuming)
        })
    }

    /// Starts (or carries on) a move to `embedder`'s space: a move to
    /// another space under way is forgotten. Returns whether one to this
    /// space is carried on.
    fn begin_move(&mut self, embedder: &dyn Embedder) -> Result<bool> {
        let model = embedder.space_model();
        let resuming = match stage(self.conn())? {
            Some((staged, None)) => staged == model,
            Some((staged, Some(dim))) if staged == model => {
                embedder.learn_dim(dim as usize);
                embedder.space()?.dim == dim
            }
            _ => false,
        };
        self.write(|tx| {
            let still = staged_model(tx)?.as_deref() == Some(model.as_str());
            if resuming && still {
                return Ok(true);
            }
            drop_stage(tx)?;
            tx.execute(
                "INSERT INTO reindex_stage (id, model, dim) VALUES (1, ?1, NULL)",
                [&model],
            )?;
            tx.execute(
                "INSERT INTO staged_backlog (memory_id)
                 SELECT id FROM memories WHERE deleted_at IS NULL",
                [],
            )?;
            Ok(false)
        })
    }

    /// When the move to `space` this process fed is no longer under way:
    /// done if another process finished it (the database is in `space`).
    ///
    /// # Failure
    /// Busy when another `reindex` replaced the move with another one.
    fn moved_elsewhere(&self, space: &EmbeddingSpace) -> Result<bool> {
        if stored_space(self.conn())?.as_ref() == Some(space) {
            return Ok(true);
        }
        Err(Error::new(
            ErrorKind::Busy,
            format!(
                "another reindex replaced the move to {} while this one ran",
                space.model
            ),
        )
        .with_hint("run `sqlite-graphrag reindex` again once the other one is done"))
    }

    /// Swaps the staged vectors in, with `space` as the database's space,
    /// if the move to `space` is still under way and no live memory waits.
    fn swap_staged(&mut self, space: &EmbeddingSpace) -> Result<Swap> {
        self.write(|tx| {
            match stage(tx)? {
                Some((model, dim))
                    if model == space.model && dim.is_none_or(|d| d == space.dim) => {}
                _ => return Ok(Swap::Gone),
            }
            if waits(tx, VectorTable::Staged)? {
                return Ok(Swap::Waiting);
            }
            tx.execute_batch(
                "DELETE FROM chunks;
                 DELETE FROM dead_slots;
                 DELETE FROM vector_codes;
                 DELETE FROM vector_blocks;
                 DELETE FROM vector_center;",
            )?;
            rows_into_blocks(tx, "staged_chunks")?;
            tx.execute_batch(
                "DELETE FROM vector_backlog;
                 DELETE FROM embedding_space;",
            )?;
            tx.execute(
                "INSERT INTO embedding_space (id, model, dim) VALUES (1, ?1, ?2)",
                params![space.model, space.dim],
            )?;
            drop_stage(tx)?;
            Ok(Swap::Done)
        })
    }
}

/// What an attempt to swap the staged vectors in found.
enum Swap {
    /// They were swapped in.
    Done,
    /// Live memories still wait for vectors of the move.
    Waiting,
    /// The move is no longer under way: another process finished or
    /// replaced it.
    Gone,
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::embed::StaticModel;
    use crate::store::chunks::quantize;
    use crate::store::vectors::blocks::stored_vector;

    /// Memories written by the tests: more than one batch of the backlog.
    const MEMORIES: usize = 300;

    /// An embedder of 8 dimensions that answers a given number of calls,
    /// then fails.
    struct Fake {
        model: &'static str,
        calls_left: AtomicUsize,
    }

    impl Fake {
        fn new(model: &'static str, calls: usize) -> Self {
            Fake {
                model,
                calls_left: AtomicUsize::new(calls),
            }
        }
    }

    /// The fake vector of `text`.
    fn vector(text: &str) -> Vec<f32> {
        let mut v: Vec<f32> = (0..8)
            .map(|i| 1.0 + (text.len() * (i + 1) % 7) as f32)
            .collect();
        v[text.bytes().map(usize::from).sum::<usize>() % 8] += 5.0;
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / norm).collect()
    }

    impl Embedder for Fake {
        fn space(&self) -> Result<EmbeddingSpace> {
            Ok(EmbeddingSpace {
                model: self.model.to_owned(),
                dim: 8,
            })
        }

        fn space_model(&self) -> String {
            self.model.to_owned()
        }

        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            if self
                .calls_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_err()
            {
                return Err(Error::new(ErrorKind::ProviderError, "down"));
            }
            Ok(texts.iter().map(|t| vector(t)).collect())
        }
    }

    /// A store of [`MEMORIES`] memories with vectors of the built-in model.
    fn store() -> Store {
        let mut store = Store::open_in_memory().unwrap();
        store
            .write(|tx| {
                for i in 0..MEMORIES {
                    tx.execute(
                        "INSERT INTO memories (namespace, name, type, description, body,
                             metadata, version, created_at, updated_at)
                         VALUES ('global', ?1, 'note', '', ?2, '{}', 1, 0, 0)",
                        params![format!("n{i}"), format!("note number {i}")],
                    )?;
                }
                Ok(())
            })
            .unwrap();
        store.reindex(&StaticModel::new(), &mut |_, _| {}).unwrap();
        store
    }

    fn count(store: &Store, sql: &str) -> i64 {
        store.conn().query_row(sql, [], |row| row.get(0)).unwrap()
    }

    #[test]
    fn texts_changed_during_a_move_are_embedded_again_and_the_move_carries_on() {
        let mut store = store();
        let failed = store.reindex(&Fake::new("fake:a", 1), &mut |_, _| {});
        assert_eq!(failed.unwrap_err().kind(), ErrorKind::ProviderError);
        let staged = count(
            &store,
            "SELECT count(DISTINCT memory_id) FROM staged_chunks",
        );
        assert!(staged > 0 && staged < MEMORIES as i64, "{staged}");
        assert_eq!(
            store.embedding_space().unwrap().unwrap(),
            StaticModel::new().space().unwrap()
        );
        store
            .conn()
            .execute_batch(
                "UPDATE memories SET body = 'changed' WHERE name = 'n0';
                 UPDATE memories SET deleted_at = 1 WHERE name = 'n1';",
            )
            .unwrap();
        let waiting = count(&store, "SELECT count(*) FROM staged_backlog");
        assert_eq!(waiting, MEMORIES as i64 - staged + 1);

        let done = store
            .reindex(&Fake::new("fake:a", usize::MAX), &mut |_, _| {})
            .unwrap();
        assert!(done.moved && done.resumed);
        assert_eq!(done.memories, waiting as u64);
        assert_eq!(store.embedding_space().unwrap().unwrap().model, "fake:a");
        assert_eq!(
            count(&store, "SELECT count(DISTINCT memory_id) FROM chunks"),
            MEMORIES as i64 - 1
        );
        let n0 = store
            .conn()
            .query_row("SELECT id FROM memories WHERE name = 'n0'", [], |row| {
                row.get(0)
            })
            .unwrap();
        let (want_scale, want) = quantize(&vector("changed"));
        assert_eq!(stored_vector(store.conn(), n0, 0), (want_scale, want));
        assert_eq!(count(&store, "SELECT count(*) FROM reindex_stage"), 0);
        assert_eq!(count(&store, "SELECT count(*) FROM staged_chunks"), 0);
    }

    #[test]
    fn a_move_to_another_space_starts_over_and_one_back_drops_the_move() {
        let mut store = store();
        assert!(
            store
                .reindex(&Fake::new("fake:a", 1), &mut |_, _| {})
                .is_err()
        );
        let other = store
            .reindex(&Fake::new("fake:b", usize::MAX), &mut |_, _| {})
            .unwrap();
        assert!(other.moved && !other.resumed);
        assert_eq!(other.memories, MEMORIES as u64);

        assert!(
            store
                .reindex(&Fake::new("fake:a", 1), &mut |_, _| {})
                .is_err()
        );
        let back = store
            .reindex(&Fake::new("fake:b", usize::MAX), &mut |_, _| {})
            .unwrap();
        assert!(!back.moved);
        assert_eq!(count(&store, "SELECT count(*) FROM reindex_stage"), 0);
        assert_eq!(count(&store, "SELECT count(*) FROM staged_chunks"), 0);
        assert_eq!(store.embedding_space().unwrap().unwrap().model, "fake:b");
    }
}
