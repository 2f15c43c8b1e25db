//! What extracts a memory's graph: an LLM command-line tool the user is
//! logged into, or an OpenAI-compatible chat-completions API.

use super::super::{Backend, chat};
use crate::graph::Extractor;

/// An extraction backend, as users name it (`--extract`,
/// `SQLITE_GRAPHRAG_EXTRACT`, enrich jobs, exports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtractBackend {
    /// A command-line tool (`claude`, `codex`), billing the subscription.
    Tool(Backend),
    /// A chat-completions API (`openai-compatible`), billing its API key.
    Chat,
}

impl ExtractBackend {
    /// Every backend, in the order messages list them.
    pub const ALL: [ExtractBackend; 3] = [
        ExtractBackend::Tool(Backend::Claude),
        ExtractBackend::Tool(Backend::Codex),
        ExtractBackend::Chat,
    ];

    /// The name users see.
    pub fn name(self) -> &'static str {
        match self {
            ExtractBackend::Tool(backend) => backend.name(),
            ExtractBackend::Chat => chat::NAME,
        }
    }

    /// The backend users call `name`, if any.
    pub fn named(name: &str) -> Option<ExtractBackend> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The extractor under which this backend's assertions are stored.
    pub fn extractor(self) -> Extractor {
        match self {
            ExtractBackend::Tool(Backend::Claude) => Extractor::Claude,
            ExtractBackend::Tool(Backend::Codex) => Extractor::Codex,
            ExtractBackend::Chat => Extractor::OpenAiCompatible,
        }
    }

    /// The backend whose assertions `extractor` names, if it names one.
    pub fn of_extractor(extractor: Extractor) -> Option<ExtractBackend> {
        Self::ALL.into_iter().find(|b| b.extractor() == extractor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_extractors_agree() {
        for backend in ExtractBackend::ALL {
            assert_eq!(ExtractBackend::named(backend.name()), Some(backend));
            assert_eq!(backend.extractor().as_str(), backend.name());
            assert_eq!(
                ExtractBackend::of_extractor(backend.extractor()),
                Some(backend)
            );
        }
        assert_eq!(ExtractBackend::named("gpt"), None);
        assert_eq!(ExtractBackend::of_extractor(Extractor::Builtin), None);
    }
}
