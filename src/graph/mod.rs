//! The entity graph: what entities and relationships are, and how they are
//! found in a memory's text.

pub mod extract;
pub mod names;
