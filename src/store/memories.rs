//! The lifecycle of one memory: create, update, edit, rename, forget, restore,
//! and its version history. Every change writes a full version row.

use std::time::Instant;

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::Store;
use super::derived::derive;
use super::memory_tx::{Attached, NewVersion, Upsert, text_changes};
use crate::embed::Embedder;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::MemoryGraph;
use crate::memory::{Content, Memory, MemoryId, Metadata, VersionNumber, validate_name};
use crate::time::Timestamp;

/// What a write did to a memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A new memory was stored as version 1.
    Created,
    /// A new version with new content was written.
    Updated,
    /// The content was already as asked; nothing was written.
    Unchanged,
    /// The memory got a new name (a new version).
    Renamed,
    /// The memory was soft-deleted (a new version).
    Forgotten,
    /// An earlier version's content, or a forgotten memory, was brought back.
    Restored,
}

impl Action {
    /// The action's name as recorded in a version row.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
            Action::Renamed => "renamed",
            Action::Forgotten => "forgotten",
            Action::Restored => "restored",
        }
    }
}

/// The result of a write: which memory, which version, what happened.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The memory's row id.
    pub memory_id: MemoryId,
    /// Its name after the write.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Its latest version after the write.
    pub version: VersionNumber,
    /// What the write did.
    pub action: Action,
}

/// Fields to change in an edit; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct ContentPatch {
    /// New type.
    pub kind: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New body.
    pub body: Option<String>,
    /// New metadata (replaces the whole object).
    pub metadata: Option<Metadata>,
}

/// One entry of a memory's history: the whole memory as a change left it.
#[derive(Debug, Clone, Serialize)]
pub struct VersionRow {
    /// The version number, from 1.
    pub version: VersionNumber,
    /// What the change was.
    pub action: String,
    /// The name at that version.
    pub name: String,
    /// The type at that version.
    #[serde(rename = "type")]
    pub kind: String,
    /// The description at that version.
    pub description: String,
    /// The body at that version.
    pub body: String,
    /// The metadata at that version.
    pub metadata: Metadata,
    /// Whether the memory was forgotten at that version.
    pub deleted: bool,
    /// When the version was written.
    pub recorded_at: Timestamp,
}

/// The columns [`memory_from_row`] expects, in order.
pub(crate) const MEMORY_COLUMNS: &str = "id, namespace, name, type, description, body, metadata, \
     version, created_at, updated_at, deleted_at, session";

/// Maps a row selected with [`MEMORY_COLUMNS`] to a [`Memory`].
pub(crate) fn memory_from_row(row: &Row<'_>, with_body: bool) -> rusqlite::Result<Memory> {
    Ok(Memory {
        memory_id: row.get(0)?,
        namespace: row.get(1)?,
        name: row.get(2)?,
        kind: row.get(3)?,
        description: row.get(4)?,
        body: if with_body { Some(row.get(5)?) } else { None },
        metadata: Metadata::from_stored(row.get(6)?),
        version: row.get(7)?,
        created_at: Timestamp(row.get(8)?),
        updated_at: Timestamp(row.get(9)?),
        deleted_at: row.get::<_, Option<i64>>(10)?.map(Timestamp),
        session: row.get(11)?,
    })
}

/// Fails with not-found unless the namespace has been used.
pub(crate) fn require_namespace(conn: &Connection, namespace: &str) -> Result<()> {
    let known = conn
        .prepare_cached("SELECT 1 FROM namespaces WHERE name = ?1")?
        .exists([namespace])?;
    if known {
        Ok(())
    } else {
        Err(Error::not_found(format!("unknown namespace {namespace:?}"))
            .with_hint("see the known ones with `sqlite-graphrag namespaces`"))
    }
}

/// Returns the memory `name` of `namespace`, live or forgotten.
pub(crate) fn find(conn: &Connection, namespace: &str, name: &str) -> Result<Option<Memory>> {
    let sql = format!("SELECT {MEMORY_COLUMNS} FROM memories WHERE namespace = ?1 AND name = ?2");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([namespace, name], |row| memory_from_row(row, true))
        .optional()?)
}

fn missing(namespace: &str, name: &str) -> Error {
    Error::not_found(format!(
        "no memory named {name:?} in namespace {namespace:?}"
    ))
}

/// Returns the live memory, or not-found (with a hint if it was forgotten).
pub(crate) fn find_live(conn: &Connection, namespace: &str, name: &str) -> Result<Memory> {
    match find(conn, namespace, name)? {
        Some(memory) if memory.deleted_at.is_none() => Ok(memory),
        Some(_) => Err(Error::not_found(format!(
            "memory {name:?} in namespace {namespace:?} is forgotten"
        ))
        .with_hint(format!(
            "bring it back with `sqlite-graphrag restore {name}`"
        ))),
        None => Err(missing(namespace, name)),
    }
}

/// The editable content of a memory as read.
pub(crate) fn content_of(memory: &Memory) -> Content {
    Content {
        kind: memory.kind.clone(),
        description: memory.description.clone(),
        body: memory.body.clone().unwrap_or_default(),
        metadata: memory.metadata.clone(),
    }
}

/// What a write did, for `memory` under `name`.
pub(crate) fn outcome(
    memory: &Memory,
    name: &str,
    version: VersionNumber,
    action: Action,
) -> Outcome {
    Outcome {
        memory_id: memory.memory_id,
        name: name.to_owned(),
        namespace: memory.namespace.clone(),
        version,
        action,
    }
}

impl Store {
    /// Returns the memory with this id (live or forgotten), with its body.
    pub fn memory(&self, id: MemoryId) -> Result<Option<Memory>> {
        let sql = format!("SELECT {MEMORY_COLUMNS} FROM memories WHERE id = ?1");
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_row([id], |row| memory_from_row(row, true))
            .optional()?)
    }

    /// Returns the live memory `name`.
    ///
    /// # Failure
    /// Not-found if the memory is unknown or forgotten.
    pub fn read(&self, namespace: &str, name: &str) -> Result<Memory> {
        find_live(self.conn(), namespace, name)
    }

    /// Stores a memory with what it carries (its session, a graph the user
    /// gives, written in the same transaction); with `update`, an existing
    /// name gets a new version.
    ///
    /// # Failure
    /// Already-exists if the name is taken and `update` is false.
    pub fn remember(
        &mut self,
        embedder: &dyn Embedder,
        namespace: &str,
        name: &str,
        content: &Content,
        attached: &Attached<'_>,
        update: bool,
    ) -> Result<Outcome> {
        validate_name(name)?;
        let mode = if update {
            Upsert::CreateOrUpdate
        } else {
            Upsert::CreateOnly
        };
        let derived = derive(embedder, &content.description, &content.body)?;
        self.write(|tx| {
            let now = Timestamp::now();
            let new = NewVersion {
                namespace,
                name,
                content,
                derived: &derived,
                created_at: now,
                updated_at: now,
                session: attached.session,
            };
            let outcome = tx.upsert(&new, mode)?;
            tx.write_explicit(&outcome, attached.graph)?;
            Ok(outcome)
        })
    }

    /// Changes some fields of a live memory, writing a new version if
    /// anything changed (a changed text is embedded with `embedder`), and
    /// replaces the graph the user gave it when `graph` is given (in the
    /// same transaction, even when the content stays as it was).
    ///
    /// The new text is embedded before the write lock is taken; if the
    /// memory changes meanwhile, the edit is prepared again from its new
    /// state.
    ///
    /// # Failure
    /// Not-found if the memory is unknown or forgotten; busy if it kept
    /// changing for a whole busy timeout.
    pub fn edit(
        &mut self,
        embedder: &dyn Embedder,
        namespace: &str,
        name: &str,
        patch: &ContentPatch,
        graph: Option<&MemoryGraph>,
    ) -> Result<Outcome> {
        self.write_prepared(embedder, name, Action::Updated, graph, |conn| {
            let memory = find_live(conn, namespace, name)?;
            let next = patched(&content_of(&memory), patch)?;
            Ok((memory, next))
        })
    }

    /// Writes the content that `prepare` derives from a memory it reads
    /// outside the write lock, as the memory's next version with `action`
    /// (or nothing, if the content is already so), with the user's `graph`
    /// if one is given. The new text is embedded
    /// before the write lock is taken; if the memory changes meanwhile, the
    /// change is prepared again from its new state.
    ///
    /// # Failure
    /// What `prepare` fails with; busy if the memory kept changing for a
    /// whole busy timeout.
    fn write_prepared(
        &mut self,
        embedder: &dyn Embedder,
        name: &str,
        action: Action,
        graph: Option<&MemoryGraph>,
        mut prepare: impl FnMut(&Connection) -> Result<(Memory, Content)>,
    ) -> Result<Outcome> {
        let mut deadline = None;
        loop {
            let (memory, next) = prepare(self.conn())?;
            if memory.deleted_at.is_none() && next == content_of(&memory) {
                let unchanged = outcome(&memory, name, memory.version, Action::Unchanged);
                let Some(graph) = graph else {
                    return Ok(unchanged);
                };
                let written = self.write(|tx| {
                    if !tx.is_at_version(&memory)? {
                        return Ok(false);
                    }
                    tx.write_explicit(&unchanged, Some(graph))?;
                    Ok(true)
                })?;
                if written {
                    return Ok(unchanged);
                }
                continue;
            }
            let derived = text_changes(&memory, &next)
                .then(|| derive(embedder, &next.description, &next.body))
                .transpose()?;
            let written = self.write(|tx| {
                let written = tx.write_version_if_current(
                    &memory,
                    &next,
                    action,
                    Timestamp::now(),
                    derived.as_ref(),
                    None,
                )?;
                if let Some(outcome) = &written {
                    tx.write_explicit(outcome, graph)?;
                }
                Ok(written)
            })?;
            if let Some(outcome) = written {
                return Ok(outcome);
            }
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + self.busy_timeout);
            if Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Busy,
                    format!("memory {name:?} kept changing while its change was prepared"),
                )
                .with_hint("retry"));
            }
            tracing::debug!(
                "memory {name:?} changed while its change was prepared; preparing again"
            );
        }
    }

    /// Gives a live memory a new name (a new version).
    ///
    /// # Failure
    /// Already-exists if `new_name` is taken, even by a forgotten memory.
    pub fn rename(&mut self, namespace: &str, name: &str, new_name: &str) -> Result<Outcome> {
        validate_name(new_name)?;
        self.write(|tx| {
            let memory = find_live(tx, namespace, name)?;
            if name == new_name {
                return Ok(outcome(&memory, name, memory.version, Action::Unchanged));
            }
            if find(tx, namespace, new_name)?.is_some() {
                return Err(Error::already_exists(format!(
                    "a memory named {new_name:?} already exists in namespace {namespace:?}"
                )));
            }
            tx.rename_memory(&memory, new_name)
        })
    }

    /// Soft-deletes a memory; forgetting a forgotten memory changes nothing.
    pub fn forget(&mut self, namespace: &str, name: &str) -> Result<Outcome> {
        self.write(|tx| {
            require_namespace(tx, namespace)?;
            let memory = find(tx, namespace, name)?.ok_or_else(|| missing(namespace, name))?;
            if memory.deleted_at.is_some() {
                return Ok(outcome(&memory, name, memory.version, Action::Unchanged));
            }
            tx.forget_memory(&memory)
        })
    }

    /// Brings back the content of `version` (or, without one, un-forgets the
    /// memory as it was) as a new live version. The name stays as it is.
    ///
    /// # Failure
    /// Not-found for an unknown version; invalid input when no version is
    /// given and the memory is not forgotten; busy if it kept changing for
    /// a whole busy timeout (the new text is embedded before the write lock
    /// is taken, as for [`Store::edit`]).
    pub fn restore(
        &mut self,
        embedder: &dyn Embedder,
        namespace: &str,
        name: &str,
        version: Option<i64>,
    ) -> Result<Outcome> {
        self.write_prepared(embedder, name, Action::Restored, None, |conn| {
            require_namespace(conn, namespace)?;
            let memory = find(conn, namespace, name)?.ok_or_else(|| missing(namespace, name))?;
            let content = match version {
                None if memory.deleted_at.is_none() => {
                    return Err(Error::invalid(format!(
                        "memory {name:?} is not forgotten; pass --version to restore an earlier version"
                    )));
                }
                None => content_of(&memory),
                Some(wanted) => version_content(conn, memory.memory_id, VersionNumber::new(wanted))?
                    .ok_or_else(|| {
                        Error::not_found(format!("memory {name:?} has no version {wanted}"))
                            .with_hint(format!("list its versions with `sqlite-graphrag history {name}`"))
                    })?,
            };
            Ok((memory, content))
        })
    }

    /// Returns a memory (live or forgotten) and all its versions, oldest first.
    pub fn history(&self, namespace: &str, name: &str) -> Result<(Memory, Vec<VersionRow>)> {
        let memory = find(self.conn(), namespace, name)?.ok_or_else(|| missing(namespace, name))?;
        let mut stmt = self.conn().prepare_cached(
            "SELECT version, action, name, type, description, body, metadata, deleted, recorded_at
             FROM memory_versions WHERE memory_id = ?1 ORDER BY version",
        )?;
        let versions = stmt
            .query_map([memory.memory_id], |row| {
                Ok(VersionRow {
                    version: row.get(0)?,
                    action: row.get(1)?,
                    name: row.get(2)?,
                    kind: row.get(3)?,
                    description: row.get(4)?,
                    body: row.get(5)?,
                    metadata: Metadata::from_stored(row.get(6)?),
                    deleted: row.get(7)?,
                    recorded_at: Timestamp(row.get(8)?),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((memory, versions))
    }
}

/// Applies `patch` to `current`, validating the result.
fn patched(current: &Content, patch: &ContentPatch) -> Result<Content> {
    Content::new(
        Some(patch.kind.clone().unwrap_or(current.kind.clone())),
        Some(
            patch
                .description
                .clone()
                .unwrap_or(current.description.clone()),
        ),
        patch.body.clone().unwrap_or(current.body.clone()),
        Some(patch.metadata.clone().unwrap_or(current.metadata.clone())),
    )
}

fn version_content(
    conn: &Connection,
    id: MemoryId,
    version: VersionNumber,
) -> Result<Option<Content>> {
    Ok(conn
        .prepare_cached(
            "SELECT type, description, body, metadata FROM memory_versions
             WHERE memory_id = ?1 AND version = ?2",
        )?
        .query_row(params![id, version], |row| {
            Ok(Content {
                kind: row.get(0)?,
                description: row.get(1)?,
                body: row.get(2)?,
                metadata: Metadata::from_stored(row.get(3)?),
            })
        })
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::store::Attached;

    fn content(body: &str) -> Content {
        Content::new(None, None, body.to_owned(), None).unwrap()
    }

    #[test]
    fn every_change_writes_a_version() {
        let mut store = Store::open_in_memory().unwrap();
        let model = crate::embed::StaticModel::new();
        let ns = "global";
        assert_eq!(
            store
                .remember(
                    &model,
                    ns,
                    "a",
                    &content("one"),
                    &Attached::default(),
                    false
                )
                .unwrap()
                .action,
            Action::Created
        );
        let err = store
            .remember(
                &model,
                ns,
                "a",
                &content("two"),
                &Attached::default(),
                false,
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert_eq!(
            store
                .remember(&model, ns, "a", &content("one"), &Attached::default(), true)
                .unwrap()
                .action,
            Action::Unchanged
        );
        assert_eq!(
            store
                .remember(&model, ns, "a", &content("two"), &Attached::default(), true)
                .unwrap()
                .version,
            VersionNumber::new(2)
        );
        assert_eq!(
            store.rename(ns, "a", "b").unwrap().version,
            VersionNumber::new(3)
        );
        assert_eq!(store.forget(ns, "b").unwrap().action, Action::Forgotten);
        assert_eq!(store.read(ns, "b").unwrap_err().kind(), ErrorKind::NotFound);
        let restored = store.restore(&model, ns, "b", Some(1)).unwrap();
        assert_eq!(
            (restored.version, restored.action),
            (VersionNumber::new(5), Action::Restored)
        );
        assert_eq!(store.read(ns, "b").unwrap().body.as_deref(), Some("one"));
        let (_, versions) = store.history(ns, "b").unwrap();
        let actions: Vec<&str> = versions.iter().map(|v| v.action.as_str()).collect();
        assert_eq!(
            actions,
            ["created", "updated", "renamed", "forgotten", "restored"]
        );
        assert_eq!(versions[2].name, "b");
        assert!(versions[3].deleted);
    }

    #[test]
    fn a_write_prepared_from_a_stale_read_writes_nothing() {
        let mut store = Store::open_in_memory().unwrap();
        let model = crate::embed::StaticModel::new();
        store
            .remember(
                &model,
                "global",
                "a",
                &content("one"),
                &Attached::default(),
                false,
            )
            .unwrap();
        let stale = store.read("global", "a").unwrap();
        store
            .remember(
                &model,
                "global",
                "a",
                &content("two"),
                &Attached::default(),
                true,
            )
            .unwrap();
        let written = store
            .write(|tx| {
                tx.write_version_if_current(
                    &stale,
                    &content("three"),
                    Action::Updated,
                    Timestamp::now(),
                    None,
                    None,
                )
            })
            .unwrap();
        assert!(written.is_none());
        let memory = store.read("global", "a").unwrap();
        assert_eq!(
            (memory.body.as_deref(), memory.version),
            (Some("two"), VersionNumber::new(2))
        );
    }

    #[test]
    fn edit_changes_only_given_fields() {
        let mut store = Store::open_in_memory().unwrap();
        let model = crate::embed::StaticModel::new();
        store
            .remember(
                &model,
                "global",
                "a",
                &content("body"),
                &Attached::default(),
                false,
            )
            .unwrap();
        let patch = ContentPatch {
            description: Some("desc".into()),
            ..ContentPatch::default()
        };
        assert_eq!(
            store
                .edit(&model, "global", "a", &patch, None)
                .unwrap()
                .action,
            Action::Updated
        );
        assert_eq!(
            store
                .edit(&model, "global", "a", &patch, None)
                .unwrap()
                .action,
            Action::Unchanged
        );
        let memory = store.read("global", "a").unwrap();
        assert_eq!(
            (memory.body.as_deref(), memory.description.as_str()),
            (Some("body"), "desc")
        );
    }
}
