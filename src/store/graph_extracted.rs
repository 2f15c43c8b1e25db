//! Storing what an LLM extractor found in one version of a memory. The
//! extraction runs outside any transaction; its result is written only if
//! the memory is still live at the version it was read at. An import line
//! may carry such a result too (`extracted`), written with the memory.

use rusqlite::params;

use super::graph_tx::Asserting;
use super::memories::Outcome;
use super::{Store, Tx};
use crate::error::Result;
use crate::graph::{Extractor, MemoryGraph};
use crate::memory::{Memory, MemoryId, VersionNumber};

impl Store {
    /// Replaces what `extractor` asserted about `memory` with `graph`,
    /// provided the memory is still live at the version `memory` was read
    /// at (or at a later one with the same text); a job of that extractor
    /// queued for it is done with it.
    /// Returns whether it was written (false: the memory changed or was
    /// forgotten meanwhile, and the stale graph is dropped).
    pub fn replace_extracted(
        &mut self,
        memory: &Memory,
        extractor: Extractor,
        graph: &MemoryGraph,
    ) -> Result<bool> {
        self.write(|tx| {
            let Some(version) = tx.version_with_text_of(memory)? else {
                return Ok(false);
            };
            let who = Asserting {
                memory_id: memory.memory_id,
                namespace: &memory.namespace,
                version,
                extractor,
            };
            tx.replace_assertions(&who, graph)?;
            tx.settle_queued_job(memory.memory_id, extractor, version)?;
            Ok(true)
        })
    }
}

impl Tx<'_> {
    /// Stores `graph` as what `extractor` (an LLM backend) asserted about
    /// the memory just written, as an import line carries it; a queued job
    /// of that backend for this version is done with it (the tool is not
    /// asked again for what the line already holds).
    pub(crate) fn write_carried_extraction(
        &self,
        outcome: &Outcome,
        extractor: Extractor,
        graph: &MemoryGraph,
    ) -> Result<()> {
        let who = Asserting {
            memory_id: outcome.memory_id,
            namespace: &outcome.namespace,
            version: outcome.version,
            extractor,
        };
        self.replace_assertions(&who, graph)?;
        self.settle_queued_job(outcome.memory_id, extractor, outcome.version)
    }

    /// Marks done the job of `extractor` queued for `version` of a memory,
    /// or an older one, if there is one: what it would ask for is stored
    /// already, or stale.
    fn settle_queued_job(
        &self,
        memory_id: MemoryId,
        extractor: Extractor,
        version: VersionNumber,
    ) -> Result<()> {
        self.prepare_cached(
            "UPDATE enrich_jobs SET state = 'done', last_error = NULL, updated_at = ?4
             WHERE memory_id = ?1 AND backend = ?2 AND version <= ?3 AND state = 'queued'",
        )?
        .execute(params![
            memory_id,
            extractor.as_str(),
            version,
            crate::time::Timestamp::now().0
        ])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::StaticModel;
    use crate::graph::{EntityName, EntityType, Mention};
    use crate::memory::Content;
    use crate::store::Attached;

    fn graph(name: &str) -> MemoryGraph {
        MemoryGraph {
            mentions: vec![Mention {
                name: EntityName::new(name).unwrap(),
                kind: EntityType::new("tool").unwrap(),
                type_stated: true,
                count: 1,
                description: Some(format!("{name}, as the model says")),
            }],
            links: Vec::new(),
        }
    }

    fn mentioned_by(store: &Store, extractor: Extractor) -> Vec<String> {
        store
            .conn()
            .prepare(
                "SELECT e.name FROM mentions m JOIN entities e ON e.id = m.entity_id
                 WHERE m.extractor = ?1 ORDER BY e.key",
            )
            .unwrap()
            .query_map([extractor.as_str()], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn a_graph_is_stored_only_for_the_version_it_was_extracted_from() {
        let mut store = Store::open_in_memory().unwrap();
        let embedder = StaticModel::new();
        let remember = |store: &mut Store, body: &str| {
            let content = Content::new(None, None, body.to_owned(), None).unwrap();
            let attached = Attached::default();
            store
                .remember(&embedder, "global", "m", &content, &attached, true)
                .unwrap()
        };
        remember(&mut store, "first text");
        let read_at_one = store.read("global", "m").unwrap();
        assert!(
            store
                .replace_extracted(&read_at_one, Extractor::Claude, &graph("Zed"))
                .unwrap()
        );
        assert_eq!(mentioned_by(&store, Extractor::Claude), ["Zed"]);

        remember(&mut store, "second text");
        assert!(
            !store
                .replace_extracted(&read_at_one, Extractor::Claude, &graph("Yak"))
                .unwrap()
        );
        assert_eq!(mentioned_by(&store, Extractor::Claude), ["Zed"]);
        store
            .conn()
            .execute("UPDATE entities SET description = 'as a user says'", [])
            .unwrap();
        let read_at_two = store.read("global", "m").unwrap();
        assert!(
            store
                .replace_extracted(&read_at_two, Extractor::Codex, &graph("Yak"))
                .unwrap()
        );
        assert_eq!(mentioned_by(&store, Extractor::Codex), ["Yak"]);
        assert_eq!(mentioned_by(&store, Extractor::Claude), ["Zed"]);
        assert!(
            store
                .replace_extracted(&read_at_two, Extractor::Claude, &graph("Zed"))
                .unwrap()
        );
        let descriptions: Vec<String> = store
            .conn()
            .prepare("SELECT description FROM entities ORDER BY key")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            descriptions,
            ["Yak, as the model says", "as a user says"],
            "an extractor fills a blank description only"
        );
    }
}
