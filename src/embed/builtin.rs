//! The built-in static embedding model: a token → vector table distilled
//! from all-MiniLM-L6-v2 (Model2Vec, 384 dimensions, int8 rows with a scale
//! each), mean-pooled over a text's tokens and L2-normalised.

use std::sync::OnceLock;

use super::tables::Reader;
use super::tokenizer::Tokenizer;
use super::{Embedder, EmbeddingSpace};
use crate::error::Result;

static EMBEDDINGS_BIN: &[u8] = include_bytes!("../../data/model/embeddings.bin");
static VOCAB_TXT: &str = include_str!("../../data/model/vocab.txt");

/// The identifier recorded with every vector of the built-in model.
pub const BUILTIN_MODEL_ID: &str = "builtin:minilm-l6-v2-m2v-int8";
/// Tokens taken from one text; the rest is ignored, as by the reference.
pub const MAX_TOKENS: usize = 512;

/// The built-in model. Making one costs nothing: its tables are parsed from
/// the bytes embedded in the binary on first use (about a millisecond).
pub struct StaticModel {
    space: EmbeddingSpace,
    tables: OnceLock<ModelTables>,
}

/// The parsed tables of the built-in model.
struct ModelTables {
    tokenizer: Tokenizer,
    dim: usize,
    scales: Vec<f32>,
    rows: &'static [u8],
}

impl Default for StaticModel {
    fn default() -> Self {
        Self::new()
    }
}

impl StaticModel {
    /// Returns the model, with only its space read so far.
    pub fn new() -> StaticModel {
        StaticModel {
            space: EmbeddingSpace {
                model: BUILTIN_MODEL_ID.to_owned(),
                dim: header_dim().expect("the embedded model is valid"),
            },
            tables: OnceLock::new(),
        }
    }

    fn tables(&self) -> &ModelTables {
        self.tables
            .get_or_init(|| parse().expect("the embedded model is valid"))
    }

    /// Returns the tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tables().tokenizer
    }

    /// Embeds one text: the mean of its tokens' rows (`[UNK]` left out),
    /// L2-normalised; all zeros for a text without known tokens.
    pub fn embed_text(&self, text: &str) -> Vec<f32> {
        let tables = self.tables();
        let unknown = tables.tokenizer.unknown();
        let ids: Vec<u32> = tables
            .tokenizer
            .encode(text, MAX_TOKENS)
            .into_iter()
            .filter(|&id| id != unknown)
            .collect();
        let dim = tables.dim;
        let mut sum = vec![0f32; dim];
        for &id in &ids {
            let id = id as usize;
            let scale = tables.scales[id];
            let row = &tables.rows[id * dim..(id + 1) * dim];
            for (acc, &q) in sum.iter_mut().zip(row) {
                *acc += f32::from(q as i8) * scale;
            }
        }
        if ids.is_empty() {
            return sum;
        }
        let count = ids.len() as f32;
        sum.iter_mut().for_each(|x| *x /= count);
        let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt() + 1e-32;
        sum.iter_mut().for_each(|x| *x /= norm);
        sum
    }
}

impl Embedder for StaticModel {
    fn space(&self) -> Result<EmbeddingSpace> {
        Ok(self.space.clone())
    }

    fn space_model(&self) -> String {
        self.space.model.clone()
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| self.embed_text(t)).collect())
    }
}

/// Reads the header: the magic, the format version, the row count and the
/// dimension; returns the reader positioned after it.
fn header() -> Option<(Reader<'static>, usize, usize)> {
    let mut r = Reader::new(EMBEDDINGS_BIN);
    if r.take(4)? != b"SGRE" || r.u32()? != 1 {
        return None;
    }
    let (count, dim) = (r.u32()? as usize, r.u32()? as usize);
    Some((r, count, dim))
}

fn header_dim() -> Option<u32> {
    header().and_then(|(_, _, dim)| u32::try_from(dim).ok())
}

fn parse() -> Option<ModelTables> {
    let (mut r, count, dim) = header()?;
    let scales = r
        .take(count * 4)?
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("chunks of 4")))
        .collect();
    let sorted_ids = r
        .take(count * 4)?
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("chunks of 4")))
        .collect();
    let rows = r.rest();
    let tokens = vocabulary_lines(VOCAB_TXT, count);
    if rows.len() != count * dim || tokens.len() != count {
        return None;
    }
    Some(ModelTables {
        tokenizer: Tokenizer::new(tokens, sorted_ids),
        dim,
        scales,
        rows,
    })
}

/// Splits the vocabulary into its lines, as `str::lines` does, in one
/// pass over the bytes: `lines` searches for each line's end anew, which
/// for some 30,000 short lines cost about a millisecond of every process
/// that embeds.
fn vocabulary_lines(text: &'static str, expected: usize) -> Vec<&'static str> {
    let mut lines = Vec::with_capacity(expected);
    let mut start = 0;
    for (at, byte) in text.bytes().enumerate() {
        if byte == b'\n' {
            lines.push(without_carriage_return(&text[start..at]));
            start = at + 1;
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// A line ended by `\r\n` without its `\r`.
fn without_carriage_return(line: &str) -> &str {
    line.strip_suffix('\r').unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Golden {
        text: String,
        ids: Vec<u32>,
        vector: Vec<f32>,
    }

    #[test]
    fn vocabulary_lines_are_those_of_str_lines() {
        let expected: Vec<&str> = VOCAB_TXT.lines().collect();
        assert_eq!(vocabulary_lines(VOCAB_TXT, 0), expected);
        for text in ["", "a", "a\n", "a\r\nb", "\n\nx\r", "a\n\r\n"] {
            let expected: Vec<&str> = text.lines().collect();
            assert_eq!(vocabulary_lines(text, 1), expected, "{text:?}");
        }
    }

    #[test]
    fn matches_the_python_reference() {
        let model = StaticModel::new();
        let fixture = include_str!("../../tests/fixtures/embedding-golden.jsonl");
        let mut checked = 0;
        for line in fixture.lines() {
            let golden: Golden = serde_json::from_str(line).unwrap();
            let unknown = model.tokenizer().unknown();
            let ids: Vec<u32> = model
                .tokenizer()
                .encode(&golden.text, MAX_TOKENS)
                .into_iter()
                .filter(|&id| id != unknown)
                .collect();
            assert_eq!(ids, golden.ids, "token ids of {:?}", golden.text);
            let vector = model.embed_text(&golden.text);
            let worst = vector
                .iter()
                .zip(&golden.vector)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                worst < 1e-4,
                "vector of {:?} differs by {worst}",
                golden.text
            );
            checked += 1;
        }
        assert!(checked > 200);
    }

    #[test]
    fn vectors_are_unit_length_and_meaningful() {
        let model = StaticModel::new();
        let cos = |a: &str, b: &str| {
            let (x, y) = (model.embed_text(a), model.embed_text(b));
            x.iter().zip(&y).map(|(p, q)| p * q).sum::<f32>()
        };
        let v = model.embed_text("a cat sits on the mat");
        assert!((v.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-4);
        assert!(
            cos("the cat is sleeping", "a kitten naps")
                > cos("the cat is sleeping", "quarterly tax filing")
        );
        assert!(model.embed_text("").iter().all(|&x| x == 0.0));
    }
}
