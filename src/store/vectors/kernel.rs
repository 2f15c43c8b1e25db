//! The arithmetic of the vector scan: an exact integer dot product of a
//! stored int8 vector with an int16 query, and the Hamming distance of
//! sign bits, each with a variant for the CPU's wider instructions chosen
//! once at run time and a portable one for every other CPU.

use super::center::split;

/// Stored values times query values are summed in `i32` over blocks of this
/// many dimensions, then the blocks in `i64`. Any partial sum of a block is
/// at most 512 × 128 × 32767 = 2,147,418,112 in magnitude, just below
/// `i32::MAX`, so the sum is exact for any dimension and in any order of
/// addition, while each block stays a loop the compiler vectorises
/// (`pmaddwd` at the x86-64 baseline, `vpmaddwd` on 256-bit registers with
/// AVX2).
const DOT_BLOCK: usize = 512;

/// A query prepared for the scan: int16 values and one scale, so that the
/// dot product with the stored int8 vectors runs in integers, exactly and
/// without reordering floats; and what the prefilter compares with the
/// stored vectors' codes (see [`super::center`]).
pub struct ScanQuery {
    values: Vec<i16>,
    scale: f32,
    signs: Vec<u8>,
    /// For each count of differing bits `h`: `|r_q|·cos(π·h/dim)`.
    rest_by_distance: Vec<f32>,
    /// For each byte of a stored share `a`: `a_q·a`.
    along_by_byte: [f32; 256],
    /// For each byte of a stored share `a`: `√(1 − a²)`.
    rest_by_byte: [f32; 256],
    dot: fn(&[u8], &[i16]) -> i64,
    hamming: fn(&[u8], &[u8]) -> u32,
}

impl ScanQuery {
    /// Quantises a float query of unit length; its code is taken with
    /// `center` (see [`super::center`]), like the stored vectors'.
    pub fn new(query: &[f32], center: Option<&[f32]>) -> Self {
        let max = query.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = if max == 0.0 {
            1.0
        } else {
            max / f32::from(i16::MAX)
        };
        let values: Vec<i16> = query
            .iter()
            .map(|x| (x / scale).round().clamp(-32767.0, 32767.0) as i16)
            .collect();
        let (along, signs) = split(query, center);
        let rest = (1.0 - along * along).max(0.0).sqrt();
        let dim = query.len().max(1) as f32;
        let rest_by_distance = (0..=query.len())
            .map(|h| rest * (std::f32::consts::PI * h as f32 / dim).cos())
            .collect();
        let stored_along = |byte: usize| f32::from(byte as u8 as i8) / 127.0;
        ScanQuery {
            values,
            scale,
            signs,
            rest_by_distance,
            along_by_byte: std::array::from_fn(|b| along * stored_along(b)),
            rest_by_byte: std::array::from_fn(|b| (1.0 - stored_along(b).powi(2)).max(0.0).sqrt()),
            dot: dot_kernel(),
            hamming: hamming_kernel(),
        }
    }

    /// Returns the dot product with a stored vector of scale `stored_scale`.
    #[inline]
    pub fn dot(&self, stored: &[u8], stored_scale: f32) -> f32 {
        self.dot_exact(stored) as f32 * self.scale * stored_scale
    }

    /// Returns the dot product of the integer values, exact for any length.
    #[inline]
    pub fn dot_exact(&self, stored: &[u8]) -> i64 {
        (self.dot)(stored, &self.values)
    }

    /// Returns the number of differing sign bits between the query and a
    /// stored vector's [`sign_bits`].
    #[inline]
    pub fn hamming(&self, stored_signs: &[u8]) -> u32 {
        (self.hamming)(stored_signs, &self.signs)
    }

    /// Estimates the dot product with a stored vector from its code (its
    /// sign bits, then the byte of its share along the mean direction).
    #[inline]
    pub fn estimate(&self, code: &[u8]) -> f32 {
        let (signs, along) = code.split_at(self.signs.len());
        let along = usize::from(along[0]);
        let distance = self.hamming(signs) as usize;
        self.along_by_byte[along] + self.rest_by_byte[along] * self.rest_by_distance[distance]
    }

    /// Returns the number of dimensions.
    pub fn dim(&self) -> usize {
        self.values.len()
    }
}

/// Packs one bit per dimension, set where the value is positive, eight to
/// a byte, the first dimension in the lowest bit.
pub fn sign_bits(positive: impl Iterator<Item = bool>) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (i, bit) in positive.enumerate() {
        if i % 8 == 0 {
            bytes.push(0);
        }
        if bit {
            *bytes.last_mut().expect("pushed above") |= 1 << (i % 8);
        }
    }
    bytes
}

/// Returns the bytes of the sign bits of a vector of `dim` dimensions.
pub fn sign_bytes(dim: usize) -> usize {
    dim.div_ceil(8)
}

/// The dot product kernel for this CPU.
fn dot_kernel() -> fn(&[u8], &[i16]) -> i64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return dot_avx2;
    }
    dot_portable
}

/// The Hamming distance kernel for this CPU.
fn hamming_kernel() -> fn(&[u8], &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        return hamming_popcnt;
    }
    hamming_portable
}

/// The dot product compiled for AVX2.
#[cfg(target_arch = "x86_64")]
fn dot_avx2(stored: &[u8], query: &[i16]) -> i64 {
    #[target_feature(enable = "avx2")]
    fn with_avx2(stored: &[u8], query: &[i16]) -> i64 {
        dot_blocks(stored, query)
    }
    // SAFETY: chosen by `dot_kernel` only when the CPU has AVX2.
    unsafe { with_avx2(stored, query) }
}

/// The dot product for any CPU.
fn dot_portable(stored: &[u8], query: &[i16]) -> i64 {
    dot_blocks(stored, query)
}

/// Sums [`block_dot`] over blocks of [`DOT_BLOCK`] dimensions.
#[inline(always)]
fn dot_blocks(stored: &[u8], query: &[i16]) -> i64 {
    if stored.len() <= DOT_BLOCK {
        return i64::from(block_dot(stored, query));
    }
    stored
        .chunks(DOT_BLOCK)
        .zip(query.chunks(DOT_BLOCK))
        .map(|(stored, query)| i64::from(block_dot(stored, query)))
        .sum()
}

/// Returns the dot product of at most [`DOT_BLOCK`] stored and query values.
#[inline(always)]
fn block_dot(stored: &[u8], query: &[i16]) -> i32 {
    stored
        .iter()
        .zip(query)
        .map(|(&s, &q)| i32::from(s as i8) * i32::from(q))
        .sum()
}

/// The Hamming distance compiled with the `popcnt` instruction.
#[cfg(target_arch = "x86_64")]
fn hamming_popcnt(a: &[u8], b: &[u8]) -> u32 {
    #[target_feature(enable = "popcnt")]
    fn with_popcnt(a: &[u8], b: &[u8]) -> u32 {
        hamming_words(a, b)
    }
    // SAFETY: chosen by `hamming_kernel` only when the CPU has POPCNT.
    unsafe { with_popcnt(a, b) }
}

/// The Hamming distance for any CPU.
fn hamming_portable(a: &[u8], b: &[u8]) -> u32 {
    hamming_words(a, b)
}

/// Counts differing bits eight bytes at a time, then the rest.
#[inline(always)]
fn hamming_words(a: &[u8], b: &[u8]) -> u32 {
    let (a_words, b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: u32 = a_words
        .remainder()
        .iter()
        .zip(b_words.remainder())
        .map(|(x, y)| (x ^ y).count_ones())
        .sum();
    a_words
        .zip(b_words)
        .map(|(x, y)| {
            let x = u64::from_le_bytes(x.try_into().expect("eight bytes"));
            let y = u64::from_le_bytes(y.try_into().expect("eight bytes"));
            (x ^ y).count_ones()
        })
        .sum::<u32>()
        + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::MAX_DIM;
    use crate::store::chunks::quantize;
    use crate::store::vectors::center::vector_code;

    /// A vector of `dim` values spread over [-1, 1], different per `seed`.
    fn spread(dim: usize, seed: usize) -> Vec<f32> {
        (0..dim)
            .map(|i| (((i * (31 + 2 * seed) + 7 * seed) % 199) as f32 - 99.0) / 99.0)
            .collect()
    }

    #[test]
    fn every_kernel_gives_the_exact_integer_dot_product() {
        for dim in [1, 7, 384, 1536, 3072, MAX_DIM as usize] {
            let (a, b) = (spread(dim, 1), spread(dim, 2));
            let (scale, stored) = quantize(&a);
            let query = ScanQuery::new(&b, None);
            let integer: i64 = stored
                .iter()
                .zip(&query.values)
                .map(|(&s, &q)| i64::from(s as i8) * i64::from(q))
                .sum();
            assert_eq!(query.dot_exact(&stored), integer, "{dim} dimensions");
            assert_eq!(dot_portable(&stored, &query.values), integer);
            let reference: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y)).sum();
            let approx = f64::from(query.dot(&stored, scale));
            assert!(
                (approx - reference).abs() < 0.02 * reference.abs().max(1.0),
                "{dim} dimensions: {approx} vs {reference}"
            );
            let extreme = ScanQuery::new(&vec![1.0; dim], None);
            let most = vec![(-128i8) as u8; dim];
            assert_eq!(extreme.dot_exact(&most), -128 * 32767 * dim as i64);
            assert_eq!(
                dot_portable(&most, &extreme.values),
                -128 * 32767 * dim as i64
            );
        }
    }

    #[test]
    fn quantized_dot_products_match_floats() {
        let a: Vec<f32> = (0..384)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 300.0)
            .collect();
        let b: Vec<f32> = (0..384)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 280.0)
            .collect();
        let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let (scale, q) = quantize(&a);
        let approx = ScanQuery::new(&b, None).dot(&q, scale);
        assert!(
            (approx - exact).abs() < 0.01 * exact.abs().max(1.0),
            "{approx} vs {exact}"
        );
    }

    #[test]
    fn hamming_counts_differing_signs() {
        for dim in [1, 5, 8, 63, 64, 65, 384, 1000] {
            let (a, b) = (spread(dim, 3), spread(dim, 4));
            let (_, stored) = quantize(&a);
            let query = ScanQuery::new(&b, None);
            let (_, query_stored) = quantize(&b);
            let expected = stored
                .iter()
                .zip(&query_stored)
                .filter(|&(&s, &q)| ((s as i8) > 0) != ((q as i8) > 0))
                .count() as u32;
            let code = vector_code(&stored, 1.0, None);
            let signs = &code[..sign_bytes(dim)];
            assert_eq!(code.len(), sign_bytes(dim) + 1);
            assert_eq!(query.hamming(signs), expected, "{dim} dimensions");
            assert_eq!(hamming_portable(signs, &query.signs), expected);
        }
    }
}
