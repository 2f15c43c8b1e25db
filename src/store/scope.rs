//! Which memories a search may return: a namespace (or all) and filters.

use rusqlite::Connection;

use super::Store;
use super::memories::require_namespace;
use crate::error::Result;
use crate::memory::Memory;
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

    /// Fails with not-found if the scope names a namespace never written.
    pub(crate) fn check(&self, conn: &Connection) -> Result<()> {
        match &self.namespace {
            Some(namespace) => require_namespace(conn, namespace),
            None => Ok(()),
        }
    }

    /// Returns true if `memory` passes every filter.
    pub fn admits(&self, memory: &Memory) -> bool {
        self.namespace
            .as_ref()
            .is_none_or(|ns| *ns == memory.namespace)
            && self.kind.as_ref().is_none_or(|k| *k == memory.kind)
            && self.since.is_none_or(|t| memory.created_at >= t)
            && self.until.is_none_or(|t| memory.created_at <= t)
    }
}

impl Store {
    /// Fails with not-found if `scope` names a namespace never written.
    pub fn check_scope(&self, scope: &Scope) -> Result<()> {
        scope.check(self.conn())
    }
}
