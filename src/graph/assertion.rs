//! What one memory asserts about the graph, and who asserts it.

use serde::Serialize;

use super::extract::Extracted;
use super::names::{EntityName, EntityType, Relation, Weight};

/// Who asserted a mention or a relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Extractor {
    /// A user, through a command's flags or files.
    Explicit,
    /// The built-in offline extractor.
    Builtin,
    /// Claude Code (`claude -p`), asked by `remember --extract claude`.
    Claude,
    /// Codex (`codex exec`), asked by `remember --extract codex`.
    Codex,
    /// An OpenAI-compatible chat-completions API, asked by
    /// `remember --extract openai-compatible`.
    #[serde(rename = "openai-compatible")]
    OpenAiCompatible,
}

impl Extractor {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Extractor::Explicit => "explicit",
            Extractor::Builtin => "builtin",
            Extractor::Claude => "claude",
            Extractor::Codex => "codex",
            Extractor::OpenAiCompatible => "openai-compatible",
        }
    }

    /// The LLM extractors, in the order exports list them.
    pub const LLM: [Extractor; 3] = [
        Extractor::Claude,
        Extractor::Codex,
        Extractor::OpenAiCompatible,
    ];

    /// The LLM extractor stored under `name`, if it is one.
    pub fn llm_named(name: &str) -> Option<Extractor> {
        Extractor::LLM.into_iter().find(|e| e.as_str() == name)
    }

    /// Whether the types this extractor states replace the
    /// [`VAGUE_TYPES`] of known entities (a user's replace any type).
    pub fn refines_vague_types(self) -> bool {
        matches!(
            self,
            Extractor::Claude | Extractor::Codex | Extractor::OpenAiCompatible
        )
    }
}

/// Entity types that say little: the built-in extractor's guess for a
/// name (`name`) and the type of an entity created without one
/// (`concept`). A type an LLM extractor states replaces them.
pub const VAGUE_TYPES: &[&str] = &["name", EntityType::DEFAULT];

/// An entity a memory mentions.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    /// Its name.
    pub name: EntityName,
    /// Its type.
    pub kind: EntityType,
    /// Whether the type was stated: a user's entity without a type, or one
    /// named only by a relationship, leaves a known entity's type alone.
    pub type_stated: bool,
    /// How many times the memory mentions it.
    pub count: u32,
    /// What it is, when a user says so.
    pub description: Option<String>,
}

/// A relationship a memory asserts between two of its mentions (indexes
/// into [`MemoryGraph::mentions`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The source entity.
    pub from: usize,
    /// The target entity.
    pub to: usize,
    /// Its kind.
    pub relation: Relation,
    /// Its weight.
    pub weight: Weight,
    /// What it says, if anything.
    pub description: String,
}

/// Everything one extractor asserts about one memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryGraph {
    /// The entities it mentions.
    pub mentions: Vec<Mention>,
    /// The relationships between them.
    pub links: Vec<Link>,
}

impl From<Extracted> for MemoryGraph {
    fn from(extracted: Extracted) -> Self {
        // Being mentioned together has no direction: the pair is stored one
        // way only, from the entity whose key sorts first, whatever order a
        // memory mentions them in.
        let keys: Vec<_> = extracted.entities.iter().map(|f| f.name.key()).collect();
        let mentions = extracted
            .entities
            .into_iter()
            .filter_map(|found| {
                Some(Mention {
                    kind: EntityType::new(found.kind).ok()?,
                    type_stated: true,
                    name: found.name,
                    count: found.mentions,
                    description: None,
                })
            })
            .collect();
        let links = extracted
            .relationships
            .into_iter()
            .filter_map(|r| {
                let (from, to) = if keys.get(r.from) <= keys.get(r.to) {
                    (r.from, r.to)
                } else {
                    (r.to, r.from)
                };
                Some(Link {
                    from,
                    to,
                    relation: Relation::new(Relation::MENTIONED_WITH).ok()?,
                    weight: r.weight,
                    description: String::new(),
                })
            })
            .collect();
        MemoryGraph { mentions, links }
    }
}
