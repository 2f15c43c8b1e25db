//! Row ids of the graph, each a type of its own so that an entity's id can
//! never be used where a memory's or a relationship's is meant.

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::Serialize;

/// The row id of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EntityId(i64);

/// The row id of a relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RelationshipId(i64);

impl EntityId {
    /// Wraps a row id of the `entities` table.
    pub(crate) fn from_row_id(id: i64) -> Self {
        EntityId(id)
    }
}

impl RelationshipId {
    /// Wraps a row id of the `relationships` table.
    pub(crate) fn from_row_id(id: i64) -> Self {
        RelationshipId(id)
    }
}

/// Stores and reads an id as its integer.
macro_rules! sql_id {
    ($id:ident) => {
        impl ToSql for $id {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }

        impl FromSql for $id {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                i64::column_result(value).map($id)
            }
        }
    };
}

sql_id!(EntityId);
sql_id!(RelationshipId);
