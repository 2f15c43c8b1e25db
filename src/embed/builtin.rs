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

/// The built-in model, parsed from the bytes embedded in the binary.
pub struct StaticModel {
    tokenizer: Tokenizer,
    dim: usize,
    scales: Vec<f32>,
    rows: &'static [u8],
    space: EmbeddingSpace,
}

impl StaticModel {
    /// Returns the model, parsing it on first use (a few milliseconds).
    pub fn get() -> &'static StaticModel {
        static MODEL: OnceLock<StaticModel> = OnceLock::new();
        MODEL.get_or_init(|| parse().expect("the embedded model is valid"))
    }

    /// Returns the tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Embeds one text: the mean of its tokens' rows (`[UNK]` left out),
    /// L2-normalised; all zeros for a text without known tokens.
    pub fn embed_text(&self, text: &str) -> Vec<f32> {
        let unknown = self.tokenizer.unknown();
        let ids: Vec<u32> = self
            .tokenizer
            .encode(text, MAX_TOKENS)
            .into_iter()
            .filter(|&id| id != unknown)
            .collect();
        let mut sum = vec![0f32; self.dim];
        for &id in &ids {
            let id = id as usize;
            let scale = self.scales[id];
            let row = &self.rows[id * self.dim..(id + 1) * self.dim];
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
    fn space(&self) -> &EmbeddingSpace {
        &self.space
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| self.embed_text(t)).collect())
    }
}

fn parse() -> Option<StaticModel> {
    let mut r = Reader::new(EMBEDDINGS_BIN);
    if r.take(4)? != b"SGRE" || r.u32()? != 1 {
        return None;
    }
    let (count, dim) = (r.u32()? as usize, r.u32()? as usize);
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
    let tokens: Vec<&'static str> = VOCAB_TXT.lines().collect();
    if rows.len() != count * dim || tokens.len() != count {
        return None;
    }
    Some(StaticModel {
        tokenizer: Tokenizer::new(tokens, sorted_ids),
        dim,
        scales,
        rows,
        space: EmbeddingSpace {
            model: BUILTIN_MODEL_ID.to_owned(),
            dim: dim as u32,
        },
    })
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
    fn matches_the_python_reference() {
        let model = StaticModel::get();
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
        let model = StaticModel::get();
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
