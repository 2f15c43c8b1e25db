//! How embedding models tell a search query from a document to be found:
//! by an instruction put before the text, or by an `input_type` field of
//! the request. Read from the model's name; any setting overrides it.
//!
//! The prefixes are those the model families publish: e5 (`query: ` /
//! `passage: `), nomic-embed-text (`search_query: ` / `search_document: `,
//! required), BGE English v1.5, mxbai-embed-large and Arctic Embed v1
//! (an instruction before queries only), Arctic Embed v2 (`query: `),
//! EmbeddingGemma, and the instruction-tuned e5-mistral,
//! multilingual-e5-instruct and Qwen3-Embedding (an instruction before
//! queries only). Cohere and Voyage models take `input_type` instead.

/// What a model family puts before queries and documents, and the
/// `input_type` values it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Conventions {
    /// Put before each query.
    pub query_prefix: &'static str,
    /// Put before each document.
    pub document_prefix: &'static str,
    /// The `input_type` of queries and of documents, for models that take one.
    pub input_type: Option<(&'static str, &'static str)>,
}

/// The instruction of the instruction-tuned models before a query.
const INSTRUCTED_QUERY: &str =
    "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery: ";
/// The instruction of BGE English v1.5 and its kin before a query.
const REPRESENT_QUERY: &str = "Represent this sentence for searching relevant passages: ";

/// The conventions of `model` (as the provider names it, e.g.
/// `nomic-embed-text`, `intfloat/e5-large-v2`, `cohere/embed-english-v3.0`);
/// none for a model of no known family (OpenAI's need none).
pub fn conventions(model: &str) -> Conventions {
    let name = model.to_ascii_lowercase();
    let has = |part: &str| name.contains(part);
    let prefixes = |query_prefix, document_prefix| Conventions {
        query_prefix,
        document_prefix,
        input_type: None,
    };
    if has("nomic-embed-text") {
        prefixes("search_query: ", "search_document: ")
    } else if has("embeddinggemma") {
        prefixes("task: search result | query: ", "title: none | text: ")
    } else if has("qwen3-embedding") || has("e5-mistral") || (has("e5-") && has("instruct")) {
        prefixes(INSTRUCTED_QUERY, "")
    } else if has("e5-") {
        prefixes("query: ", "passage: ")
    } else if has("arctic-embed") && has("v2") {
        prefixes("query: ", "")
    } else if (has("bge-") && has("-en-v1.5")) || has("mxbai-embed-large") || has("arctic-embed") {
        prefixes(REPRESENT_QUERY, "")
    } else if has("cohere/")
        || has("embed-english-v3")
        || has("embed-multilingual-v3")
        || has("embed-v4")
    {
        Conventions {
            input_type: Some(("search_query", "search_document")),
            ..Conventions::default()
        }
    } else if has("voyage") {
        Conventions {
            input_type: Some(("query", "document")),
            ..Conventions::default()
        }
    } else {
        Conventions::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_read_from_model_names() {
        assert_eq!(
            conventions("nomic-embed-text:v1.5").query_prefix,
            "search_query: "
        );
        assert_eq!(
            conventions("intfloat/multilingual-e5-large").document_prefix,
            "passage: "
        );
        assert_eq!(
            conventions("qwen/qwen3-embedding-8b").query_prefix,
            INSTRUCTED_QUERY
        );
        assert_eq!(
            conventions("intfloat/multilingual-e5-large-instruct").document_prefix,
            ""
        );
        assert_eq!(
            conventions("BAAI/bge-large-en-v1.5").query_prefix,
            REPRESENT_QUERY
        );
        assert_eq!(conventions("baai/bge-m3"), Conventions::default());
        assert_eq!(
            conventions("Snowflake/snowflake-arctic-embed-l-v2.0").query_prefix,
            "query: "
        );
        assert_eq!(
            conventions("cohere/embed-english-v3.0").input_type,
            Some(("search_query", "search_document"))
        );
        assert_eq!(
            conventions("voyage-3").input_type,
            Some(("query", "document"))
        );
        assert_eq!(
            conventions("openai/text-embedding-3-small"),
            Conventions::default()
        );
    }
}
