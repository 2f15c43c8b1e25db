//! Telling a sqlite-graphrag database from an empty file and from another
//! application's database, before anything is written to it.

use rusqlite::Connection;

use super::migrations::stored_version;

/// The `PRAGMA application_id` of every sqlite-graphrag database (the bytes
/// `SGRG`), set when the schema is created or migrated.
pub(crate) const APPLICATION_ID: i32 = i32::from_be_bytes(*b"SGRG");

/// The tables every schema version of ours has; a database made before the
/// application id was set is recognised by them.
const OUR_TABLES: [&str; 3] = ["namespaces", "memories", "memory_versions"];

/// What an opened SQLite file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Contents {
    /// Nothing: a 0-byte file, or a database without tables or markers.
    Empty,
    /// A sqlite-graphrag database at this schema version.
    Ours {
        /// Its schema version (see [`stored_version`]).
        version: u32,
    },
    /// Another application's database, with the application id it
    /// claims the file with (0: none).
    Foreign {
        /// Its `PRAGMA application_id`.
        application_id: i32,
    },
}

/// Reads what the database holds, without writing anything.
///
/// All of it is read in one read transaction: another process may be
/// creating the schema meanwhile, and a mix of reads from before and after
/// its commit would make a new database of ours look like someone else's.
pub(crate) fn inspect(conn: &Connection) -> rusqlite::Result<Contents> {
    let snapshot = conn.unchecked_transaction()?;
    let contents = inspect_snapshot(&snapshot)?;
    snapshot.commit()?;
    Ok(contents)
}

/// [`inspect`], inside the caller's read transaction.
fn inspect_snapshot(conn: &Connection) -> rusqlite::Result<Contents> {
    let application_id: i32 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    let version: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if application_id == APPLICATION_ID {
        return Ok(Contents::Ours {
            version: stored_version(conn)?,
        });
    }
    if application_id != 0 {
        return Ok(Contents::Foreign { application_id });
    }
    let objects: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))?;
    if objects == 0 && version == 0 {
        return Ok(Contents::Empty);
    }
    let ours: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN (?1, ?2, ?3)",
        OUR_TABLES,
        |row| row.get(0),
    )?;
    Ok(if ours == OUR_TABLES.len() as i64 && version >= 1 {
        Contents::Ours { version }
    } else {
        Contents::Foreign { application_id }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn databases_are_told_apart() {
        let conn = Connection::open_in_memory().unwrap();
        assert_eq!(inspect(&conn).unwrap(), Contents::Empty);
        conn.execute_batch("CREATE TABLE users (id INTEGER)")
            .unwrap();
        assert_eq!(
            inspect(&conn).unwrap(),
            Contents::Foreign { application_id: 0 }
        );

        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE namespaces (x); CREATE TABLE memories (x);
             CREATE TABLE memory_versions (x); PRAGMA user_version = 3;",
        )
        .unwrap();
        assert_eq!(inspect(&conn).unwrap(), Contents::Ours { version: 3 });

        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA application_id = 7").unwrap();
        assert_eq!(
            inspect(&conn).unwrap(),
            Contents::Foreign { application_id: 7 }
        );
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        assert_eq!(inspect(&conn).unwrap(), Contents::Ours { version: 0 });
    }
}
