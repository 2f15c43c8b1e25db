//! The lifecycle of one memory: create, update, edit, rename, forget, restore,
//! and its version history. Every change writes a full version row.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde::Serialize;

use super::Store;
use super::chunks::{EmbeddedText, embed_text, write_chunks};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::memory::{Content, Memory, MemoryId, Metadata, validate_name};
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
    fn as_str(self) -> &'static str {
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
    pub version: i64,
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
    pub version: i64,
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

/// Whether an upsert may replace an existing memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upsert {
    /// Fail with already-exists if the name is taken.
    CreateOnly,
    /// Write a new version if the name is taken (reviving a forgotten memory).
    CreateOrUpdate,
}

/// The columns [`memory_from_row`] expects, in order.
pub(crate) const MEMORY_COLUMNS: &str = "id, namespace, name, type, description, body, metadata, \
     version, created_at, updated_at, deleted_at";

/// Maps a row selected with [`MEMORY_COLUMNS`] to a [`Memory`].
pub(crate) fn memory_from_row(row: &Row<'_>, with_body: bool) -> rusqlite::Result<Memory> {
    Ok(Memory {
        memory_id: MemoryId(row.get(0)?),
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

fn find(conn: &Connection, namespace: &str, name: &str) -> Result<Option<Memory>> {
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
fn find_live(conn: &Connection, namespace: &str, name: &str) -> Result<Memory> {
    require_namespace(conn, namespace)?;
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

fn content_of(memory: &Memory) -> Content {
    Content {
        kind: memory.kind.clone(),
        description: memory.description.clone(),
        body: memory.body.clone().unwrap_or_default(),
        metadata: memory.metadata.clone(),
    }
}

/// Copies the memory's current row into `memory_versions` as `action`.
fn record_version(tx: &Transaction<'_>, id: MemoryId, action: Action, at: Timestamp) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO memory_versions
             (memory_id, version, action, name, type, description, body, metadata, deleted, recorded_at)
         SELECT id, version, ?2, name, type, description, body, metadata, deleted_at IS NOT NULL, ?3
         FROM memories WHERE id = ?1",
    )?
    .execute(params![id.0, action.as_str(), at.0])?;
    Ok(())
}

/// The vectors of a new text: made already, or to be made with an embedder.
enum Vectors<'a> {
    Ready(&'a EmbeddedText),
    Make(&'a dyn Embedder),
}

/// Writes `content` as the memory's next version, live, and records it.
/// `content`'s text is embedded here if the caller has not and it changed.
fn write_next_version(
    tx: &Transaction<'_>,
    memory: &Memory,
    content: &Content,
    action: Action,
    at: Timestamp,
    vectors: Vectors<'_>,
) -> Result<Outcome> {
    tx.prepare_cached(
        "UPDATE memories SET type = ?2, description = ?3, body = ?4, metadata = ?5,
             version = version + 1, updated_at = ?6, deleted_at = NULL
         WHERE id = ?1",
    )?
    .execute(params![
        memory.memory_id.0,
        content.kind,
        content.description,
        content.body,
        content.metadata.as_str(),
        at.0
    ])?;
    let text_unchanged = memory.deleted_at.is_none()
        && memory.description == content.description
        && memory.body.as_deref() == Some(content.body.as_str());
    if !text_unchanged {
        let embedded_here;
        let embedded = match vectors {
            Vectors::Ready(embedded) => embedded,
            Vectors::Make(embedder) => {
                embedded_here = embed_text(embedder, &content.description, &content.body)?;
                &embedded_here
            }
        };
        write_chunks(tx, memory.memory_id, &memory.namespace, embedded)?;
    }
    record_version(tx, memory.memory_id, action, at)?;
    Ok(outcome(memory, &memory.name, memory.version + 1, action))
}

fn outcome(memory: &Memory, name: &str, version: i64, action: Action) -> Outcome {
    Outcome {
        memory_id: memory.memory_id,
        name: name.to_owned(),
        namespace: memory.namespace.clone(),
        version,
        action,
    }
}

/// Creates the namespace row if this is its first memory.
pub(crate) fn ensure_namespace(tx: &Transaction<'_>, namespace: &str, at: Timestamp) -> Result<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO namespaces (name, created_at) VALUES (?1, ?2)")?
        .execute(params![namespace, at.0])?;
    Ok(())
}

/// A memory to store: where, under what name, its content (with its text
/// embedded beforehand) and its times.
pub(crate) struct NewVersion<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub content: &'a Content,
    pub embedded: &'a EmbeddedText,
    /// Applies only when the memory is new.
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Stores a memory: a new one, or (if `mode` allows) a new version of an
/// existing one.
pub(crate) fn upsert(tx: &Transaction<'_>, new: &NewVersion<'_>, mode: Upsert) -> Result<Outcome> {
    let NewVersion {
        namespace,
        name,
        content,
        embedded,
        created_at,
        updated_at,
    } = *new;
    ensure_namespace(tx, namespace, updated_at)?;
    match find(tx, namespace, name)? {
        None => {
            tx.prepare_cached(
                "INSERT INTO memories (namespace, name, type, description, body, metadata,
                     version, created_at, updated_at, deleted_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, NULL)",
            )?
            .execute(params![
                namespace,
                name,
                content.kind,
                content.description,
                content.body,
                content.metadata.as_str(),
                created_at.0,
                updated_at.0
            ])?;
            let id = MemoryId(tx.last_insert_rowid());
            write_chunks(tx, id, namespace, embedded)?;
            record_version(tx, id, Action::Created, updated_at)?;
            Ok(Outcome {
                memory_id: id,
                name: name.to_owned(),
                namespace: namespace.to_owned(),
                version: 1,
                action: Action::Created,
            })
        }
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
        Some(existing) if existing.deleted_at.is_none() && content_of(&existing) == *content => Ok(
            outcome(&existing, name, existing.version, Action::Unchanged),
        ),
        Some(existing) => write_next_version(
            tx,
            &existing,
            content,
            Action::Updated,
            updated_at,
            Vectors::Ready(embedded),
        ),
    }
}

impl Store {
    /// Returns the memory with this id (live or forgotten), with its body.
    pub fn memory(&self, id: MemoryId) -> Result<Option<Memory>> {
        let sql = format!("SELECT {MEMORY_COLUMNS} FROM memories WHERE id = ?1");
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_row([id.0], |row| memory_from_row(row, true))
            .optional()?)
    }

    /// Returns the live memory `name`.
    ///
    /// # Failure
    /// Not-found if the namespace or memory is unknown, or the memory is forgotten.
    pub fn read(&self, namespace: &str, name: &str) -> Result<Memory> {
        find_live(self.conn(), namespace, name)
    }

    /// Stores a memory, its text embedded with `embedder`; with `update`, an
    /// existing name gets a new version.
    ///
    /// # Failure
    /// Already-exists if the name is taken and `update` is false.
    pub fn remember(
        &mut self,
        embedder: &dyn Embedder,
        namespace: &str,
        name: &str,
        content: &Content,
        update: bool,
    ) -> Result<Outcome> {
        validate_name(name)?;
        let mode = if update {
            Upsert::CreateOrUpdate
        } else {
            Upsert::CreateOnly
        };
        let embedded = embed_text(embedder, &content.description, &content.body)?;
        self.write(|tx| {
            let now = Timestamp::now();
            let new = NewVersion {
                namespace,
                name,
                content,
                embedded: &embedded,
                created_at: now,
                updated_at: now,
            };
            upsert(tx, &new, mode)
        })
    }

    /// Changes some fields of a live memory, writing a new version if
    /// anything changed (a changed text is embedded with `embedder`).
    pub fn edit(
        &mut self,
        embedder: &dyn Embedder,
        namespace: &str,
        name: &str,
        patch: &ContentPatch,
    ) -> Result<Outcome> {
        self.write(|tx| {
            let memory = find_live(tx, namespace, name)?;
            let current = content_of(&memory);
            let next = Content::new(
                Some(patch.kind.clone().unwrap_or(current.kind.clone())),
                Some(
                    patch
                        .description
                        .clone()
                        .unwrap_or(current.description.clone()),
                ),
                patch.body.clone().unwrap_or(current.body.clone()),
                Some(patch.metadata.clone().unwrap_or(current.metadata.clone())),
            )?;
            if next == current {
                return Ok(outcome(&memory, name, memory.version, Action::Unchanged));
            }
            let at = Timestamp::now();
            write_next_version(
                tx,
                &memory,
                &next,
                Action::Updated,
                at,
                Vectors::Make(embedder),
            )
        })
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
            let now = Timestamp::now();
            tx.prepare_cached(
                "UPDATE memories SET name = ?2, version = version + 1, updated_at = ?3 WHERE id = ?1",
            )?
            .execute(params![memory.memory_id.0, new_name, now.0])?;
            record_version(tx, memory.memory_id, Action::Renamed, now)?;
            Ok(outcome(&memory, new_name, memory.version + 1, Action::Renamed))
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
            let now = Timestamp::now();
            tx.prepare_cached(
                "UPDATE memories SET deleted_at = ?2, version = version + 1, updated_at = ?2 WHERE id = ?1",
            )?
            .execute(params![memory.memory_id.0, now.0])?;
            record_version(tx, memory.memory_id, Action::Forgotten, now)?;
            Ok(outcome(&memory, name, memory.version + 1, Action::Forgotten))
        })
    }

    /// Brings back the content of `version` (or, without one, un-forgets the
    /// memory as it was) as a new live version, embedded with `embedder`.
    /// The name stays as it is.
    ///
    /// # Failure
    /// Not-found for an unknown version; invalid input when no version is
    /// given and the memory is not forgotten.
    pub fn restore(
        &mut self,
        embedder: &dyn Embedder,
        namespace: &str,
        name: &str,
        version: Option<i64>,
    ) -> Result<Outcome> {
        self.write(|tx| {
            require_namespace(tx, namespace)?;
            let memory = find(tx, namespace, name)?.ok_or_else(|| missing(namespace, name))?;
            let content = match version {
                None if memory.deleted_at.is_none() => {
                    return Err(Error::invalid(format!(
                        "memory {name:?} is not forgotten; pass --version to restore an earlier version"
                    )));
                }
                None => content_of(&memory),
                Some(wanted) => version_content(tx, memory.memory_id, wanted)?
                    .ok_or_else(|| {
                        Error::not_found(format!("memory {name:?} has no version {wanted}"))
                            .with_hint(format!("list its versions with `sqlite-graphrag history {name}`"))
                    })?,
            };
            if memory.deleted_at.is_none() && content == content_of(&memory) {
                return Ok(outcome(&memory, name, memory.version, Action::Unchanged));
            }
            let at = Timestamp::now();
            write_next_version(tx, &memory, &content, Action::Restored, at, Vectors::Make(embedder))
        })
    }

    /// Returns a memory (live or forgotten) and all its versions, oldest first.
    pub fn history(&self, namespace: &str, name: &str) -> Result<(Memory, Vec<VersionRow>)> {
        require_namespace(self.conn(), namespace)?;
        let memory = find(self.conn(), namespace, name)?.ok_or_else(|| missing(namespace, name))?;
        let mut stmt = self.conn().prepare_cached(
            "SELECT version, action, name, type, description, body, metadata, deleted, recorded_at
             FROM memory_versions WHERE memory_id = ?1 ORDER BY version",
        )?;
        let versions = stmt
            .query_map([memory.memory_id.0], |row| {
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

fn version_content(tx: &Transaction<'_>, id: MemoryId, version: i64) -> Result<Option<Content>> {
    Ok(tx
        .prepare_cached(
            "SELECT type, description, body, metadata FROM memory_versions
             WHERE memory_id = ?1 AND version = ?2",
        )?
        .query_row(params![id.0, version], |row| {
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
                .remember(&model, ns, "a", &content("one"), false)
                .unwrap()
                .action,
            Action::Created
        );
        let err = store
            .remember(&model, ns, "a", &content("two"), false)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert_eq!(
            store
                .remember(&model, ns, "a", &content("one"), true)
                .unwrap()
                .action,
            Action::Unchanged
        );
        assert_eq!(
            store
                .remember(&model, ns, "a", &content("two"), true)
                .unwrap()
                .version,
            2
        );
        assert_eq!(store.rename(ns, "a", "b").unwrap().version, 3);
        assert_eq!(store.forget(ns, "b").unwrap().action, Action::Forgotten);
        assert_eq!(store.read(ns, "b").unwrap_err().kind(), ErrorKind::NotFound);
        let restored = store.restore(&model, ns, "b", Some(1)).unwrap();
        assert_eq!((restored.version, restored.action), (5, Action::Restored));
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
    fn edit_changes_only_given_fields() {
        let mut store = Store::open_in_memory().unwrap();
        let model = crate::embed::StaticModel::new();
        store
            .remember(&model, "global", "a", &content("body"), false)
            .unwrap();
        let patch = ContentPatch {
            description: Some("desc".into()),
            ..ContentPatch::default()
        };
        assert_eq!(
            store.edit(&model, "global", "a", &patch).unwrap().action,
            Action::Updated
        );
        assert_eq!(
            store.edit(&model, "global", "a", &patch).unwrap().action,
            Action::Unchanged
        );
        let memory = store.read("global", "a").unwrap();
        assert_eq!(
            (memory.body.as_deref(), memory.description.as_str()),
            (Some("body"), "desc")
        );
    }
}
