//! Vectors from an OpenAI-compatible `POST {base}/embeddings` (OpenAI,
//! OpenRouter, Ollama, llama.cpp, vLLM, LM Studio): texts sent in batches,
//! and each answer checked whole (one unit vector per text, in the texts'
//! order, all of the space's dimension) before any is used.

use std::sync::OnceLock;

use serde_json::{Value, json};

use super::{Embedder, EmbeddingSpace, MAX_DIM};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{Endpoint, post_json};

/// The prefix of the model id of every space of this embedder.
pub const SPACE_PREFIX: &str = "openai-compatible:";

/// An embeddings API and how to ask it.
#[derive(Debug)]
pub struct OpenAiCompatible {
    /// Where the requests go.
    pub endpoint: Endpoint,
    /// The model asked for.
    pub model: String,
    /// Sent as `dimensions` when set; the space's dimension then.
    pub dimensions: Option<u32>,
    /// Texts per request.
    pub batch: usize,
    /// How the model tells queries from documents.
    pub roles: Roles,
    /// The dimension the first answer had, when `dimensions` is not set.
    learned: OnceLock<usize>,
}

/// How a model tells queries from documents: a prefix before each text,
/// and an `input_type` field, for each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    /// Put before each query (the model's instruction, if it wants one).
    pub query_prefix: String,
    /// Put before each document.
    pub document_prefix: String,
    /// The `input_type` of queries and of documents, if the model takes one.
    pub input_type: Option<(String, String)>,
}

impl OpenAiCompatible {
    /// An embedder asking `model` at `endpoint`, its texts told apart as
    /// `roles` says.
    pub fn new(
        endpoint: Endpoint,
        model: String,
        dimensions: Option<u32>,
        batch: usize,
        roles: Roles,
    ) -> Self {
        OpenAiCompatible {
            endpoint,
            model,
            dimensions,
            batch: batch.max(1),
            roles,
            learned: OnceLock::new(),
        }
    }

    /// The dimension, when known without asking.
    fn known_dim(&self) -> Option<usize> {
        self.dimensions
            .map(|d| d as usize)
            .or_else(|| self.learned.get().copied())
    }

    /// Embeds `texts`, each after `prefix` and with the `input_type` if
    /// any, in batches; an empty text gets a zero vector without being sent.
    fn embed_with(
        &self,
        prefix: &str,
        input_type: Option<&str>,
        texts: &[&str],
    ) -> Result<Vec<Vec<f32>>> {
        let sent: Vec<(usize, String)> = texts
            .iter()
            .enumerate()
            .filter(|(_, text)| !text.trim().is_empty())
            .map(|(at, text)| (at, format!("{prefix}{text}")))
            .collect();
        let mut vectors = vec![Vec::new(); texts.len()];
        for batch in sent.chunks(self.batch) {
            let inputs: Vec<String> = batch.iter().map(|(_, text)| text.clone()).collect();
            let body = request_body(&self.model, &inputs, self.dimensions, input_type);
            let answer = post_json(&self.endpoint, "embeddings", &body)?;
            let read = read_vectors(&answer, inputs.len(), self.known_dim())?;
            let dim = read.first().map_or(0, Vec::len);
            if dim > MAX_DIM as usize {
                return Err(Error::new(
                    ErrorKind::ProviderBadResponse,
                    format!(
                        "{} gives vectors of {dim} dimensions; at most {MAX_DIM} are kept",
                        self.model
                    ),
                ));
            }
            let _ = self.learned.set(dim);
            for ((at, _), vector) in batch.iter().zip(read) {
                vectors[*at] = vector;
            }
        }
        if vectors.iter().any(Vec::is_empty) {
            let dim = self.space()?.dim as usize;
            vectors
                .iter_mut()
                .filter(|v| v.is_empty())
                .for_each(|v| *v = vec![0.0; dim]);
        }
        Ok(vectors)
    }
}

impl Embedder for OpenAiCompatible {
    fn space(&self) -> Result<EmbeddingSpace> {
        let dim = match self.known_dim() {
            Some(dim) => dim,
            None => {
                self.embed(&["dimension"])?;
                self.known_dim().unwrap_or(0)
            }
        };
        Ok(EmbeddingSpace {
            model: self.space_model(),
            dim: u32::try_from(dim).unwrap_or(u32::MAX),
        })
    }

    fn space_model(&self) -> String {
        match self.dimensions {
            None => format!("{SPACE_PREFIX}{}", self.model),
            Some(dimensions) => format!("{SPACE_PREFIX}{}?dimensions={dimensions}", self.model),
        }
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let input_type = self.roles.input_type.as_ref().map(|(_, d)| d.as_str());
        self.embed_with(&self.roles.document_prefix, input_type, texts)
    }

    fn embed_queries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let input_type = self.roles.input_type.as_ref().map(|(q, _)| q.as_str());
        self.embed_with(&self.roles.query_prefix, input_type, texts)
    }

    fn cache_key(&self) -> Option<String> {
        let dimensions = self
            .dimensions
            .map_or_else(|| "native".to_owned(), |d| d.to_string());
        Some(
            json!({
                "model": self.space_model(),
                "dimensions": dimensions,
                "document_prefix": self.roles.document_prefix,
                "document_input_type": self.roles.input_type.as_ref().map(|(_, d)| d),
            })
            .to_string(),
        )
    }

    fn texts_per_request(&self) -> usize {
        self.batch
    }

    fn learn_dim(&self, dim: usize) {
        if self.dimensions.is_none() && dim > 0 && dim <= MAX_DIM as usize {
            let _ = self.learned.set(dim);
        }
    }
}

/// The body asking `model` for the vectors of `inputs`, with `dimensions`
/// when set (models that cannot shorten their vectors refuse it, so it is
/// sent only when the user asks) and `input_type` when the model takes one.
pub fn request_body(
    model: &str,
    inputs: &[String],
    dimensions: Option<u32>,
    input_type: Option<&str>,
) -> Value {
    let mut body = json!({"model": model, "input": inputs, "encoding_format": "float"});
    if let Some(dimensions) = dimensions {
        body["dimensions"] = dimensions.into();
    }
    if let Some(input_type) = input_type {
        body["input_type"] = input_type.into();
    }
    body
}

/// Reads the vectors of an answer for `count` texts: ordered by each
/// item's `index` (array order when a server leaves it out), each of
/// `dim` dimensions when given (else all of the first one's), finite, and
/// scaled to unit length.
///
/// # Failure
/// Provider-error for an answer that is an error (some providers send one
/// with status 200); provider-bad-response naming what is wrong: no `data`, a wrong number
/// of vectors, an index out of place, a wrong or mixed dimension, a value
/// that is not a finite number, a zero vector.
pub fn read_vectors(answer: &Value, count: usize, dim: Option<usize>) -> Result<Vec<Vec<f32>>> {
    let bad = |what: String| Error::new(ErrorKind::ProviderBadResponse, what);
    if answer.get("data").is_none()
        && let Some(error) = answer.get("error").filter(|e| !e.is_null())
    {
        let said = error["message"]
            .as_str()
            .or(error.as_str())
            .map_or_else(|| error.to_string(), str::to_owned);
        return Err(Error::new(
            ErrorKind::ProviderError,
            format!("the provider answered with an error: {said}"),
        ));
    }
    let data = answer["data"]
        .as_array()
        .ok_or_else(|| bad("the answer has no `data` array".to_owned()))?;
    if data.len() != count {
        return Err(bad(format!(
            "the answer holds {} vectors for {count} texts",
            data.len()
        )));
    }
    let mut vectors: Vec<Option<Vec<f32>>> = vec![None; count];
    for (position, item) in data.iter().enumerate() {
        let index = match &item["index"] {
            Value::Null => position,
            index => index
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .filter(|&i| i < count)
                .ok_or_else(|| bad(format!("data[{position}] has the index {index}")))?,
        };
        if vectors[index].is_some() {
            return Err(bad(format!("two vectors have the index {index}")));
        }
        let values = item["embedding"]
            .as_array()
            .ok_or_else(|| bad(format!("data[{position}] has no `embedding` array")))?;
        let expected = dim.or_else(|| vectors.iter().flatten().next().map(Vec::len));
        if expected.is_some_and(|d| d != values.len()) || values.is_empty() {
            return Err(bad(format!(
                "data[{position}] has {} dimensions, not {}",
                values.len(),
                expected.unwrap_or(0)
            )));
        }
        let vector = values
            .iter()
            .map(|v| v.as_f64().filter(|x| x.is_finite()).map(|x| x as f32))
            .collect::<Option<Vec<f32>>>()
            .ok_or_else(|| {
                bad(format!(
                    "data[{position}] holds a value that is not a number"
                ))
            })?;
        vectors[index] =
            Some(unit(vector).ok_or_else(|| bad(format!("data[{position}] is zero")))?);
    }
    Ok(vectors.into_iter().flatten().collect())
}

/// `vector` scaled to length 1; `None` for a zero vector.
fn unit(mut vector: Vec<f32>) -> Option<Vec<f32>> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return None;
    }
    vector.iter_mut().for_each(|x| *x /= norm);
    Some(vector)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::http::test_server::{ok, serve};

    fn embedder(base: &str, batch: usize) -> OpenAiCompatible {
        let endpoint = Endpoint {
            base_url: base.to_owned(),
            api_key: None,
            headers: Vec::new(),
            timeout: Duration::from_secs(2),
            retries: 0,
            max_body: 1 << 20,
            slots: None,
        };
        OpenAiCompatible::new(endpoint, "m".to_owned(), None, batch, Roles::default())
    }

    #[test]
    fn texts_go_in_batches_and_the_dimension_is_learned_from_the_answer() {
        let (base, seen) = serve(vec![
            ok(r#"{"data":[{"index":0,"embedding":[1,0]},{"index":1,"embedding":[0,2]}]}"#),
            ok(r#"{"data":[{"index":0,"embedding":[3,4]}]}"#),
        ]);
        let mut embedder = embedder(&base, 2);
        embedder.roles.query_prefix = "query: ".to_owned();
        let vectors = embedder.embed(&["a", "", "b", "c"]).unwrap();
        assert_eq!(
            vectors,
            [
                vec![1.0, 0.0],
                vec![0.0, 0.0],
                vec![0.0, 1.0],
                vec![0.6, 0.8]
            ]
        );
        let requests = seen.lock().unwrap().clone();
        assert_eq!(requests.len(), 2, "four texts, one empty, batches of two");
        assert!(
            requests[0].ends_with(r#""input":["a","b"],"model":"m"}"#),
            "{}",
            requests[0]
        );
        assert_eq!(embedder.space().unwrap().dim, 2, "no request to learn it");
        assert_eq!(embedder.space().unwrap().model, "openai-compatible:m");
    }

    #[test]
    fn queries_carry_their_prefix_and_a_space_unknown_asks_once() {
        let (base, seen) = serve(vec![
            ok(r#"{"data":[{"embedding":[1,0,0]}]}"#),
            ok(r#"{"data":[{"embedding":[0,1,0]}]}"#),
        ]);
        let mut embedder = embedder(&base, 8);
        embedder.roles.query_prefix = "query: ".to_owned();
        assert_eq!(embedder.space().unwrap().dim, 3);
        embedder.embed_queries(&["where"]).unwrap();
        let requests = seen.lock().unwrap().clone();
        assert!(
            requests[1].contains(r#""input":["query: where"]"#),
            "{}",
            requests[1]
        );
    }

    fn answer(items: Value) -> Value {
        json!({"object": "list", "model": "m", "usage": {"prompt_tokens": 4, "total_tokens": 4},
               "data": items})
    }

    #[test]
    fn the_request_asks_for_floats_and_dimensions_only_when_set() {
        let inputs = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(
            request_body("text-embedding-3-small", &inputs, Some(512), None),
            json!({"model": "text-embedding-3-small", "input": ["a", "b"],
                   "encoding_format": "float", "dimensions": 512})
        );
        assert!(
            request_body("m", &inputs, None, None)
                .get("dimensions")
                .is_none()
        );
        assert_eq!(
            request_body("m", &inputs, None, Some("search_query"))["input_type"],
            "search_query"
        );
    }

    #[test]
    fn vectors_come_in_the_texts_order_at_unit_length() {
        let items = json!([
            {"object": "embedding", "index": 1, "embedding": [0.0, 2.0]},
            {"object": "embedding", "index": 0, "embedding": [3.0, 4.0]}
        ]);
        let vectors = read_vectors(&answer(items), 2, Some(2)).unwrap();
        assert_eq!(vectors, [vec![0.6, 0.8], vec![0.0, 1.0]]);
        let unindexed = json!([{"embedding": [1.0, 0.0]}, {"embedding": [0.0, 1.0]}]);
        assert_eq!(
            read_vectors(&answer(unindexed), 2, None).unwrap()[1],
            [0.0, 1.0]
        );
    }

    #[test]
    fn a_wrong_answer_is_refused_whole() {
        let cases = [
            (json!({"object": "list"}), 1, "no `data`"),
            (
                answer(json!([{"embedding": [1.0]}])),
                2,
                "1 vectors for 2 texts",
            ),
            (
                answer(json!([{"index": 5, "embedding": [1.0]}])),
                1,
                "index 5",
            ),
            (
                answer(json!([{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [1.0]}])),
                2,
                "two vectors",
            ),
            (
                answer(json!([{"embedding": [1.0, 0.0, 0.0]}])),
                1,
                "3 dimensions, not 2",
            ),
            (
                answer(json!([{"embedding": [1.0, 0.0]}, {"embedding": [1.0]}])),
                2,
                "1 dimensions, not 2",
            ),
            (
                answer(json!([{"embedding": [1.0, "x"]}])),
                1,
                "not a number",
            ),
            (answer(json!([{"embedding": [0.0, 0.0]}])), 1, "is zero"),
        ];
        for (answer, count, says) in cases {
            let dim = if says.contains("not 2") && count == 1 {
                Some(2)
            } else {
                None
            };
            let error = read_vectors(&answer, count, dim).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::ProviderBadResponse);
            assert!(
                error.message().contains(says),
                "{}: {says}",
                error.message()
            );
        }
    }
}
