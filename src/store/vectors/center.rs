//! The direction the sign bits are taken around, and the code of each
//! vector that the prefilter reads.
//!
//! Embeddings share a large common direction: the built-in model's
//! vectors of a set of notes lie mostly along their mean. Much of a dot
//! product is then how far each vector goes along that direction, and the
//! signs of the vectors themselves agree in most dimensions. So each
//! vector `v` (of unit length) is split into `a·d + r`, where `d` is the
//! unit direction of the mean of the database's vectors (fixed once it
//! holds [`CENTER_AFTER`] of them) and `r` is orthogonal to it. Its code
//! is the sign bits of `r` (one per dimension) followed by one byte of
//! `a`. For a query split the same way, `a_q·a + |r_q|·|r|·cos(θ)`
//! estimates the dot product, with `θ` estimated from the share of
//! differing sign bits (`π·h/dim`); without a direction, `a` is 0 and the
//! bits are the vector's own signs.

use rusqlite::{Connection, OptionalExtension, params};

use super::blocks::{SLOT_BYTES, Slot};
use super::kernel::{sign_bits, sign_bytes};
use crate::error::Result;

/// Vectors a database holds before its direction is fixed.
pub const CENTER_AFTER: i64 = 1_024;

/// Returns the bytes of the code of a vector of `dim` dimensions.
pub fn code_bytes(dim: usize) -> usize {
    sign_bytes(dim) + 1
}

/// Returns the database's mean direction (unit length), if fixed.
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

/// Splits `vector` into its share along `center` and the sign bits of the
/// rest (see the module documentation).
pub fn split(vector: &[f32], center: Option<&[f32]>) -> (f32, Vec<u8>) {
    match center {
        Some(center) => {
            let along: f32 = vector.iter().zip(center).map(|(v, c)| v * c).sum();
            let bits = sign_bits(
                vector
                    .iter()
                    .zip(center)
                    .map(|(&v, &c)| v - along * c > 0.0),
            );
            (along, bits)
        }
        None => (0.0, sign_bits(vector.iter().map(|&v| v > 0.0))),
    }
}

/// The code of an int8 vector of scale `scale` (see the module
/// documentation).
pub fn vector_code(vector: &[u8], scale: f32, center: Option<&[f32]>) -> Vec<u8> {
    let values: Vec<f32> = vector.iter().map(|&v| f32::from(v as i8) * scale).collect();
    let (along, mut code) = split(&values, center);
    code.push((along.clamp(-1.0, 1.0) * 127.0).round() as i8 as u8);
    code
}

/// Fixes the direction if the database has none and holds at least
/// [`CENTER_AFTER`] vectors of `dim` dimensions, and codes every block's
/// vectors again with it.
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
    each_block(conn, dim, |_, _, slots, vectors| {
        for (index, vector) in vectors.chunks_exact(dim).enumerate() {
            let scale = f64::from(Slot::decode(slots, index).scale);
            for (s, &v) in sum.iter_mut().zip(vector) {
                *s += f64::from(v as i8) * scale;
            }
        }
        Ok(())
    })?;
    // A mean of zero (vectors of empty texts only) is kept as zero: the
    // codes are then the vectors' own signs, and it is not computed again.
    let norm = sum
        .iter()
        .map(|s| s * s)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    let center: Vec<f32> = sum.iter().map(|s| (s / norm) as f32).collect();
    let bytes: Vec<u8> = center.iter().flat_map(|c| c.to_le_bytes()).collect();
    conn.prepare_cached("INSERT INTO vector_center (id, center) VALUES (1, ?1)")?
        .execute([bytes])?;
    let mut update = conn
        .prepare_cached("UPDATE vector_codes SET codes = ?3 WHERE namespace = ?1 AND block = ?2")?;
    each_block(conn, dim, |namespace, block, slots, vectors| {
        let codes: Vec<u8> = vectors
            .chunks_exact(dim)
            .enumerate()
            .flat_map(|(index, vector)| {
                vector_code(vector, Slot::decode(slots, index).scale, Some(&center))
            })
            .collect();
        update.execute(params![namespace, block, codes])?;
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
