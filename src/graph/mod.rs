//! The entity graph: what entities and relationships are, who asserts
//! them, and how they are found in a memory's text.

pub mod assertion;
pub mod explicit;
pub mod extract;
pub mod ids;
pub mod names;

pub use assertion::{Extractor, Link, MemoryGraph, Mention};
pub use ids::{EntityId, RelationshipId};
pub use names::{EntityKey, EntityName, EntityType, Relation, Weight};
