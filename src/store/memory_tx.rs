//! The write primitives of memories and their versions, as methods of [`Tx`].
//!
//! Every change of a memory goes through here: it writes the memory's row,
//! its vectors when its text changed, and a full copy into its history.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::chunks::{self, VectorTable};
use super::derived::Derived;
use super::graph_tx::Asserting;
use super::memories::{Action, Outcome, content_of, find, outcome};
use super::tx::Tx;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::{Extractor, MemoryGraph};
use crate::memory::{Content, Memory, MemoryId, VersionNumber};
use crate::time::Timestamp;

/// Whether an upsert may replace an existing memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upsert {
    /// Fail with already-exists if the name is taken.
    CreateOnly,
    /// Write a new version if the name is taken (reviving a forgotten memory).
    CreateOrUpdate,
}

/// What a write of a memory carries besides its content.
#[derive(Debug, Clone, Copy, Default)]
pub struct Attached<'a> {
    /// The agent session writing it; `None` keeps the one recorded.
    pub session: Option<&'a str>,
    /// The graph the user gives it; `None` keeps the one given before.
    pub graph: Option<&'a MemoryGraph>,
}

/// A memory to store: where, under what name, its content (with what its
/// text gives, made beforehand) and its times.
pub(crate) struct NewVersion<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub content: &'a Content,
    pub derived: &'a Derived,
    /// Applies only when the memory is new.
    pub created_at: Timestamp,
    /// Applies only when the memory is new; a new version of an existing
    /// memory is stamped with the time it is written.
    pub updated_at: Timestamp,
    /// The agent session writing it; `None` keeps the one recorded.
    pub session: Option<&'a str>,
}

impl Tx<'_> {
    /// Creates the namespace row if this is its first memory, and records
    /// where its name came from (see [`Tx::record_origin`]).
    pub(crate) fn ensure_namespace(&self, namespace: &str, at: Timestamp) -> Result<()> {
        self.prepare_cached("INSERT OR IGNORE INTO namespaces (name, created_at) VALUES (?1, ?2)")?
            .execute(params![namespace, at.0])?;
        self.record_origin(namespace)
    }

    /// Stores a memory: a new one, or (if `mode` allows) a new version of an
    /// existing one.
    pub(crate) fn upsert(&self, new: &NewVersion<'_>, mode: Upsert) -> Result<Outcome> {
        let NewVersion {
            namespace,
            name,
            content,
            derived,
            ..
        } = *new;
        self.ensure_namespace(namespace, new.updated_at)?;
        match find(self, namespace, name)? {
            None => self.insert_memory(new),
            Some(existing) if mode == Upsert::CreateOnly => {
                let hint = if existing.deleted_at.is_some() {
                    format!(
                        "it is forgotten: `restore {name}` brings it back, `remember --update` replaces it"
                    )
                } else {
                    "pass --update to write a new version".to_owned()
                };
                Err(Error::already_exists(format!(
                    "a memory named {name:?} already exists in namespace {namespace:?}"
                ))
                .with_hint(hint))
            }
            Some(existing)
                if existing.deleted_at.is_none() && content_of(&existing) == *content =>
            {
                Ok(outcome(
                    &existing,
                    name,
                    existing.version,
                    Action::Unchanged,
                ))
            }
            Some(existing) => self.write_next_version(
                &existing,
                content,
                Action::Updated,
                Timestamp::now(),
                Some(derived),
                new.session,
            ),
        }
    }

    /// Inserts a new memory as version 1, with its vectors.
    fn insert_memory(&self, new: &NewVersion<'_>) -> Result<Outcome> {
        let content = new.content;
        self.prepare_cached(
            "INSERT INTO memories (namespace, name, type, description, body, metadata,
                 version, created_at, updated_at, deleted_at, session)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, NULL, ?9)",
        )?
        .execute(params![
            new.namespace,
            new.name,
            content.kind,
            content.description,
            content.body,
            content.metadata.as_str(),
            new.created_at.0,
            new.updated_at.0,
            new.session
        ])?;
        let id = MemoryId::from_row_id(self.last_insert_rowid());
        self.write_derived(id, new.namespace, VersionNumber::FIRST, new.derived)?;
        self.record_version(id, Action::Created, new.updated_at)?;
        Ok(Outcome {
            memory_id: id,
            name: new.name.to_owned(),
            namespace: new.namespace.to_owned(),
            version: VersionNumber::FIRST,
            action: Action::Created,
        })
    }

    /// Inserts memories that do not exist yet (none named twice), each as
    /// version 1 with its vectors, and returns their outcomes in order.
    ///
    /// Their rows go in with one statement: the word index takes them in
    /// one piece (it writes what it holds to the file at the start of every
    /// statement that may need undoing alone, such as the insert of one
    /// memory, so that memories inserted one by one are indexed one by
    /// one, and merged again and again).
    pub(crate) fn insert_new_memories(&self, news: &[NewVersion<'_>]) -> Result<Vec<Outcome>> {
        for new in news {
            self.ensure_namespace(new.namespace, new.updated_at)?;
        }
        let rows = vec!["(?, ?, ?, ?, ?, ?, 1, ?, ?, NULL, ?)"; news.len()].join(", ");
        let sql = format!(
            "INSERT INTO memories (namespace, name, type, description, body, metadata,
                 version, created_at, updated_at, deleted_at, session)
             VALUES {rows} RETURNING namespace, name, id"
        );
        let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(news.len() * 9);
        let scalars: Vec<(&str, i64, i64)> = news
            .iter()
            .map(|new| {
                let metadata = new.content.metadata.as_str();
                (metadata, new.created_at.0, new.updated_at.0)
            })
            .collect();
        for (new, (metadata, created_at, updated_at)) in news.iter().zip(&scalars) {
            values.extend([
                &new.namespace as &dyn rusqlite::ToSql,
                &new.name,
                &new.content.kind,
                &new.content.description,
                &new.content.body,
                metadata,
                created_at,
                updated_at,
                &new.session,
            ]);
        }
        // RETURNING may list the rows in any order.
        let ids: HashMap<(String, String), MemoryId> = self
            .prepare(&sql)?
            .query_map(values.as_slice(), |row| {
                Ok(((row.get(0)?, row.get(1)?), row.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut inserted = Vec::with_capacity(news.len());
        for new in news {
            let key = (new.namespace.to_owned(), new.name.to_owned());
            let id = *ids.get(&key).ok_or_else(|| {
                Error::new(
                    ErrorKind::Database,
                    format!("memory {:?} was not inserted", new.name),
                )
            })?;
            inserted.push((id, new.namespace, &new.derived.embedded));
        }
        // The vectors of the whole run go in together: a block of the
        // namespace is written once for all the memories that fill it.
        chunks::write_chunks_many(self, VectorTable::Live, &inserted)?;
        let mut outcomes = Vec::with_capacity(news.len());
        for (new, &(id, _, _)) in news.iter().zip(&inserted) {
            self.write_derived_graph(id, new.namespace, VersionNumber::FIRST, new.derived)?;
            self.record_version(id, Action::Created, new.updated_at)?;
            outcomes.push(Outcome {
                memory_id: id,
                name: new.name.to_owned(),
                namespace: new.namespace.to_owned(),
                version: VersionNumber::FIRST,
                action: Action::Created,
            });
        }
        Ok(outcomes)
    }

    /// Writes `content` as the next version of `memory`, read in this
    /// transaction; see [`Tx::write_version_if_current`].
    pub(crate) fn write_next_version(
        &self,
        memory: &Memory,
        content: &Content,
        action: Action,
        at: Timestamp,
        derived: Option<&Derived>,
        session: Option<&str>,
    ) -> Result<Outcome> {
        self.write_version_if_current(memory, content, action, at, derived, session)?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Database,
                    format!(
                        "memory {:?} changed within its own transaction",
                        memory.name
                    ),
                )
            })
    }

    /// Writes `content` as the memory's next version, live, and records it,
    /// provided the memory is still at the version `memory` was read at (it
    /// may have been read before this transaction began). Returns `None`,
    /// having written nothing, if it was changed meanwhile.
    ///
    /// `derived` is what `content`'s text gives, made before the transaction
    /// began; it is required when the text changes (nothing is embedded or
    /// extracted while the write lock is held). `session` names the agent
    /// session writing it; `None` keeps the one recorded.
    pub(crate) fn write_version_if_current(
        &self,
        memory: &Memory,
        content: &Content,
        action: Action,
        at: Timestamp,
        derived: Option<&Derived>,
        session: Option<&str>,
    ) -> Result<Option<Outcome>> {
        let written = self
            .prepare_cached(
                "UPDATE memories SET type = ?2, description = ?3, body = ?4, metadata = ?5,
                     version = version + 1, updated_at = ?6, deleted_at = NULL,
                     session = coalesce(?8, session)
                 WHERE id = ?1 AND version = ?7",
            )?
            .execute(params![
                memory.memory_id,
                content.kind,
                content.description,
                content.body,
                content.metadata.as_str(),
                at.0,
                memory.version,
                session
            ])?;
        if written == 0 {
            return Ok(None);
        }
        if text_changes(memory, content) {
            let derived = derived.ok_or_else(|| {
                Error::new(
                    ErrorKind::Database,
                    format!("the new text of memory {:?} was not embedded", memory.name),
                )
            })?;
            self.write_derived(
                memory.memory_id,
                &memory.namespace,
                memory.version.next(),
                derived,
            )?;
        }
        self.record_version(memory.memory_id, action, at)?;
        Ok(Some(outcome(
            memory,
            &memory.name,
            memory.version.next(),
            action,
        )))
    }

    /// Gives a live memory a new name, as a new version.
    pub(crate) fn rename_memory(&self, memory: &Memory, new_name: &str) -> Result<Outcome> {
        let now = Timestamp::now();
        self.prepare_cached(
            "UPDATE memories SET name = ?2, version = version + 1, updated_at = ?3 WHERE id = ?1",
        )?
        .execute(params![memory.memory_id, new_name, now.0])?;
        self.record_version(memory.memory_id, Action::Renamed, now)?;
        Ok(outcome(
            memory,
            new_name,
            memory.version.next(),
            Action::Renamed,
        ))
    }

    /// Soft-deletes a live memory, as a new version.
    pub(crate) fn forget_memory(&self, memory: &Memory) -> Result<Outcome> {
        let now = Timestamp::now();
        self.prepare_cached(
            "UPDATE memories SET deleted_at = ?2, version = version + 1, updated_at = ?2 WHERE id = ?1",
        )?
        .execute(params![memory.memory_id, now.0])?;
        chunks::compact_if_due(self, &memory.namespace)?;
        self.record_version(memory.memory_id, Action::Forgotten, now)?;
        Ok(outcome(
            memory,
            &memory.name,
            memory.version.next(),
            Action::Forgotten,
        ))
    }

    /// Writes a memory's vectors and the built-in extractor's assertions,
    /// and queues the version for the LLM extractor, if any.
    fn write_derived(
        &self,
        id: MemoryId,
        namespace: &str,
        version: VersionNumber,
        derived: &Derived,
    ) -> Result<()> {
        self.write_chunks(id, namespace, &derived.embedded)?;
        self.write_derived_graph(id, namespace, version, derived)
    }

    /// Writes what the built-in extractor asserts about a memory's
    /// version, and queues it for the LLM extractor, if any.
    fn write_derived_graph(
        &self,
        id: MemoryId,
        namespace: &str,
        version: VersionNumber,
        derived: &Derived,
    ) -> Result<()> {
        self.prepare_cached("DELETE FROM graph_backlog WHERE memory_id = ?1")?
            .execute([id])?;
        let who = Asserting {
            memory_id: id,
            namespace,
            version,
            extractor: Extractor::Builtin,
        };
        self.replace_assertions(&who, &derived.graph)?;
        self.queue_extraction(id, version)
    }

    /// Replaces what the user asserted about the memory of `outcome` with
    /// `graph`, if one is given, as of the version written.
    pub(crate) fn write_explicit(
        &self,
        outcome: &Outcome,
        graph: Option<&MemoryGraph>,
    ) -> Result<()> {
        let Some(graph) = graph else {
            return Ok(());
        };
        let who = Asserting {
            memory_id: outcome.memory_id,
            namespace: &outcome.namespace,
            version: outcome.version,
            extractor: Extractor::Explicit,
        };
        self.replace_assertions(&who, graph)
    }

    /// The version `memory` is at now, if it is live and still has the
    /// text (body and description) it was read with: a later version that
    /// changed only its name, type or metadata keeps what was extracted.
    pub(crate) fn version_with_text_of(&self, memory: &Memory) -> Result<Option<VersionNumber>> {
        Ok(self
            .prepare_cached(
                "SELECT version FROM memories
                 WHERE id = ?1 AND deleted_at IS NULL AND body = ?2 AND description = ?3",
            )?
            .query_row(
                params![
                    memory.memory_id,
                    memory.body.as_deref().unwrap_or_default(),
                    memory.description
                ],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Whether `memory` is still live at the version it was read at.
    pub(crate) fn is_at_version(&self, memory: &Memory) -> Result<bool> {
        Ok(self
            .prepare_cached(
                "SELECT 1 FROM memories WHERE id = ?1 AND version = ?2 AND deleted_at IS NULL",
            )?
            .exists(params![memory.memory_id, memory.version])?)
    }

    /// Copies the memory's current row into `memory_versions` as `action`.
    fn record_version(&self, id: MemoryId, action: Action, at: Timestamp) -> Result<()> {
        self.prepare_cached(
            "INSERT INTO memory_versions
                 (memory_id, version, action, name, type, description, body, metadata, deleted,
                  recorded_at, session)
             SELECT id, version, ?2, name, type, description, body, metadata, deleted_at IS NOT NULL,
                 ?3, session
             FROM memories WHERE id = ?1",
        )?
        .execute(params![id, action.as_str(), at.0])?;
        Ok(())
    }
}

/// Returns true if writing `content` over `memory` changes the text its
/// vectors were made from (a forgotten memory has no vectors).
pub(crate) fn text_changes(memory: &Memory, content: &Content) -> bool {
    memory.deleted_at.is_some()
        || memory.description != content.description
        || memory.body.as_deref() != Some(content.body.as_str())
}
