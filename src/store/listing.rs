//! Listing memories of a namespace, and purging forgotten ones for good.

use std::time::Duration;

use rusqlite::params;

use super::memories::{MEMORY_COLUMNS, memory_from_row, require_namespace};
use super::{Store, Tx};
use crate::error::Result;
use crate::memory::Memory;
use crate::time::Timestamp;

/// Which memories `list` returns.
#[derive(Debug, Clone)]
pub struct ListFilter {
    /// Only memories of this type.
    pub kind: Option<String>,
    /// Only memories last written in this agent session.
    pub session: Option<String>,
    /// At most this many.
    pub limit: u32,
    /// Skip this many first.
    pub offset: u32,
    /// Include forgotten memories.
    pub include_deleted: bool,
}

/// The memories of a namespace a [`ListFilter`] matches: `?1` namespace,
/// `?2` type, `?3` include forgotten, `?4` session.
const LISTED: &str = "FROM memories
     WHERE namespace = ?1 AND (?2 IS NULL OR type = ?2) AND (?3 OR deleted_at IS NULL)
         AND (?4 IS NULL OR session = ?4)";

impl Store {
    /// Returns memories of a namespace without their bodies, most recently
    /// updated first.
    pub fn list(&self, namespace: &str, filter: &ListFilter) -> Result<Vec<Memory>> {
        let sql = format!(
            "SELECT {MEMORY_COLUMNS} {LISTED} ORDER BY updated_at DESC, id DESC LIMIT ?5 OFFSET ?6"
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map(
            params![
                namespace,
                filter.kind,
                filter.include_deleted,
                filter.session,
                filter.limit,
                filter.offset
            ],
            |row| memory_from_row(row, false),
        )?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Returns [`Store::list`]'s page and how many memories the filter
    /// matches, its limit and offset aside, both read from one snapshot.
    pub fn list_with_total(
        &self,
        namespace: &str,
        filter: &ListFilter,
    ) -> Result<(Vec<Memory>, u64)> {
        let _snapshot = self.conn().unchecked_transaction()?;
        let items = self.list(namespace, filter)?;
        let count: i64 = self.conn().query_row(
            &format!("SELECT count(*) {LISTED}"),
            params![
                namespace,
                filter.kind,
                filter.include_deleted,
                filter.session
            ],
            |row| row.get(0),
        )?;
        Ok((items, u64::try_from(count).unwrap_or_default()))
    }

    /// Deletes forgotten memories of a namespace, and their versions, for
    /// good; with `older_than`, only those forgotten at least that long ago.
    /// Returns how many were deleted.
    pub fn purge(&mut self, namespace: &str, older_than: Option<Duration>) -> Result<usize> {
        let cutoff = Timestamp::now().minus(older_than.unwrap_or(Duration::ZERO));
        self.write(|tx| {
            require_namespace(tx, namespace)?;
            tx.purge_forgotten(namespace, cutoff)
        })
    }
}

impl Tx<'_> {
    /// Deletes the memories of `namespace` forgotten at or before `cutoff`,
    /// with their versions, vectors and graph assertions, then the
    /// relationships and entities nothing asserts any more; returns how
    /// many memories.
    pub(crate) fn purge_forgotten(&self, namespace: &str, cutoff: Timestamp) -> Result<usize> {
        let purged = self.execute(
            "DELETE FROM memories
             WHERE namespace = ?1 AND deleted_at IS NOT NULL AND deleted_at <= ?2",
            params![namespace, cutoff.0],
        )?;
        if purged > 0 {
            self.drop_unasserted_in(namespace)?;
        }
        Ok(purged)
    }
}
