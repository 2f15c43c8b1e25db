//! The center the sign bits are taken around.
//!
//! Embeddings share a large common direction (the built-in model's
//! vectors of a project's notes are often 0.9 of the way along their
//! mean), so the signs of the vectors themselves agree in most
//! dimensions and tell the vectors apart badly. The prefilter takes the
//! signs of each vector minus the mean of the database's vectors, fixed
//! once the database holds [`CENTER_AFTER`] vectors: then every block's
//! signs are taken again around it, and later vectors use it as they come.

use rusqlite::{Connection, OptionalExtension, params};

use super::blocks::{SLOT_BYTES, Slot};
use super::kernel::sign_bits;
use crate::error::Result;

/// Vectors a database holds before its center is fixed.
pub const CENTER_AFTER: i64 = 1_024;

/// Returns the database's center, if fixed.
pub fn stored_center(conn: &Connection) -> Result<Option<Vec<f32>>> {
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached("SELECT center FROM vector_center WHERE id = 1")?
        .query_row([], |row| row.get(0))
        .optional()?;
    Ok(bytes.map(|bytes| {
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect()
    }))
}

/// The sign bits of an int8 vector of scale `scale` around `center`
/// (zero if `None`).
pub fn centered_signs(vector: &[u8], scale: f32, center: Option<&[f32]>) -> Vec<u8> {
    match center {
        Some(center) => sign_bits(
            vector
                .iter()
                .zip(center)
                .map(|(&v, &c)| f32::from(v as i8) * scale > c),
        ),
        None => sign_bits(vector.iter().map(|&v| (v as i8) > 0)),
    }
}

/// Fixes the center if the database has none and holds at least
/// [`CENTER_AFTER`] vectors of `dim` dimensions, and takes every block's
/// signs again around it.
pub fn fix_center_if_due(conn: &Connection, dim: usize) -> Result<()> {
    if stored_center(conn)?.is_some() {
        return Ok(());
    }
    let held: i64 = conn
        .prepare_cached("SELECT coalesce(sum(used), 0) FROM vector_blocks")?
        .query_row([], |row| row.get(0))?;
    if held < CENTER_AFTER {
        return Ok(());
    }
    let mut sum = vec![0f64; dim];
    let mut count = 0u64;
    each_block(conn, dim, |_, _, slots, vectors| {
        for (index, vector) in vectors.chunks_exact(dim).enumerate() {
            let scale = f64::from(Slot::decode(slots, index).scale);
            for (s, &v) in sum.iter_mut().zip(vector) {
                *s += f64::from(v as i8) * scale;
            }
            count += 1;
        }
        Ok(())
    })?;
    let center: Vec<f32> = sum.iter().map(|s| (s / count as f64) as f32).collect();
    let bytes: Vec<u8> = center.iter().flat_map(|c| c.to_le_bytes()).collect();
    conn.prepare_cached("INSERT INTO vector_center (id, center) VALUES (1, ?1)")?
        .execute([bytes])?;
    let mut update = conn
        .prepare_cached("UPDATE vector_signs SET signs = ?3 WHERE namespace = ?1 AND block = ?2")?;
    each_block(conn, dim, |namespace, block, slots, vectors| {
        let signs: Vec<u8> = vectors
            .chunks_exact(dim)
            .enumerate()
            .flat_map(|(index, vector)| {
                centered_signs(vector, Slot::decode(slots, index).scale, Some(&center))
            })
            .collect();
        update.execute(params![namespace, block, signs])?;
        Ok(())
    })
}

/// Calls `visit(namespace, block, slots, vectors)` for every block.
fn each_block(
    conn: &Connection,
    dim: usize,
    mut visit: impl FnMut(&str, i64, &[u8], &[u8]) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare("SELECT namespace, id, used, slots, vectors FROM vector_blocks")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let used = row.get::<_, i64>(2)? as usize;
        let slots = row.get_ref(3)?.as_blob().map_err(rusqlite::Error::from)?;
        let vectors = row.get_ref(4)?.as_blob().map_err(rusqlite::Error::from)?;
        if slots.len() != used * SLOT_BYTES || vectors.len() != used * dim {
            continue;
        }
        visit(
            row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?,
            row.get(1)?,
            slots,
            vectors,
        )?;
    }
    Ok(())
}
