//! Compaction of the vector blocks: the dead slots that replaced and
//! forgotten chunks leave are removed, a few blocks per short transaction.

use super::Store;
use super::chunks::stored_space;
use super::vectors::blocks::{self, compact};
use crate::error::Result;

/// Blocks rewritten per transaction of [`Store::compact_vectors`]: about
/// 1 MB of vectors, so that other writers wait little between two.
const BLOCKS_PER_TRANSACTION: usize = 64;

impl Store {
    /// Rewrites every vector block of `namespace` (every namespace if
    /// `None`) that holds dead slots, in short transactions, calling
    /// `progress(blocks, blocks_total)` with the blocks of each. Returns how many
    /// dead slots were removed. A crash leaves each transaction whole or
    /// absent.
    pub fn compact_vectors(
        &mut self,
        namespace: Option<&str>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<usize> {
        let Some(space) = stored_space(self.conn())? else {
            return Ok(0);
        };
        let dim = space.dim as usize;
        let total = blocks::blocks_with_dead_slots_count(self.conn(), namespace)?;
        let (mut done, mut removed) = (0, 0);
        loop {
            let (blocks, slots) = self.write(|tx| {
                let chosen = blocks::blocks_with_dead_slots(tx, namespace, BLOCKS_PER_TRANSACTION)?;
                let mut removed = 0;
                for (namespace, blocks) in &chosen {
                    removed += compact(tx, namespace, dim, blocks)?;
                }
                Ok((chosen.iter().map(|(_, b)| b.len()).sum::<usize>(), removed))
            })?;
            if blocks == 0 {
                return Ok(removed);
            }
            done += blocks as u64;
            removed += slots;
            progress(blocks as u64, total.max(done));
        }
    }
}
