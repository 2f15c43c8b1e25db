//! Which memories a search may return: a namespace (or all) and filters.

use rusqlite::{Connection, OptionalExtension};

use super::Store;
use crate::error::Result;
use crate::memory::MemoryId;
use crate::time::Timestamp;

/// The memories a search looks at.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Only this namespace; every namespace if `None`.
    pub namespace: Option<String>,
    /// Only memories of this type.
    pub kind: Option<String>,
    /// Only memories created at or after this time.
    pub since: Option<Timestamp>,
    /// Only memories created at or before this time.
    pub until: Option<Timestamp>,
}

impl Scope {
    /// A scope of one whole namespace.
    pub fn namespace(namespace: &str) -> Self {
        Scope {
            namespace: Some(namespace.to_owned()),
            ..Scope::default()
        }
    }

    /// Returns true if the memory passes every filter, reading only the
    /// columns the filters need (never the body).
    pub(crate) fn admits(&self, conn: &Connection, id: MemoryId) -> Result<bool> {
        Ok(self.place_of(conn, id)?.is_some_and(|(_, fits)| fits))
    }

    /// Whether memory `id` is live and in the scope.
    pub(crate) fn admits_live(&self, conn: &Connection, id: MemoryId) -> Result<bool> {
        Ok(self
            .place_of(conn, id)?
            .is_some_and(|(live, fits)| live && fits))
    }

    /// Whether memory `id` is live and whether it fits the scope; `None`
    /// if there is no such memory.
    fn place_of(&self, conn: &Connection, id: MemoryId) -> Result<Option<(bool, bool)>> {
        let row = conn
            .prepare_cached(
                "SELECT namespace, type, created_at, deleted_at IS NULL FROM memories WHERE id = ?1",
            )?
            .query_row([id], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    Timestamp(row.get(2)?),
                    row.get::<_, bool>(3)?,
                ))
            })
            .optional()?;
        Ok(row.map(|(namespace, kind, created_at, live)| {
            let fits = self.namespace.as_ref().is_none_or(|ns| *ns == namespace)
                && self.kind.as_ref().is_none_or(|k| *k == kind)
                && self.since.is_none_or(|t| created_at >= t)
                && self.until.is_none_or(|t| created_at <= t);
            (live, fits)
        }))
    }

    /// Returns true if the scope filters by more than the namespace.
    pub(crate) fn filters(&self) -> bool {
        self.kind.is_some() || self.since.is_some() || self.until.is_some()
    }
}

impl Store {
    /// Returns true if memory `id` is in `scope` (namespace, type, time).
    pub fn in_scope(&self, scope: &Scope, id: MemoryId) -> Result<bool> {
        scope.admits(self.conn(), id)
    }

    /// Returns true if memory `id` is live (not forgotten) and in `scope`.
    pub fn live_in_scope(&self, scope: &Scope, id: MemoryId) -> Result<bool> {
        scope.admits_live(self.conn(), id)
    }
}
