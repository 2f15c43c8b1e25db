//! `--with-body` and `--snippet-chars`: the body, whole or its start, in
//! each result of the searches and of `deep-research`.

use clap::Args;

use crate::error::Result;
use crate::memory::MemoryId;
use crate::store::Store;

/// How much of each result's body is printed; none by default.
#[derive(Debug, Clone, Args)]
pub struct ShownBodyArgs {
    /// Print each result's whole body in `body`
    #[arg(long)]
    pub with_body: bool,
    /// Print the first N characters of each result's body in `excerpt`
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub snippet_chars: Option<u32>,
}

impl ShownBodyArgs {
    /// Returns the `(body, excerpt)` these flags ask for of memory `id`:
    /// `None` for each not asked.
    ///
    /// # Failure
    /// A database error reading the memory.
    pub fn of(&self, store: &Store, id: MemoryId) -> Result<(Option<String>, Option<String>)> {
        if !self.with_body && self.snippet_chars.is_none() {
            return Ok((None, None));
        }
        let body = store
            .memory(id)?
            .and_then(|memory| memory.body)
            .unwrap_or_default();
        let excerpt = self
            .snippet_chars
            .map(|n| first_chars(&body, n as usize).to_owned());
        Ok((self.with_body.then_some(body), excerpt))
    }
}

/// The first `n` characters of `text` (all of it if shorter).
pub(crate) fn first_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_on_character_boundaries() {
        assert_eq!(first_chars("héllo wörld", 7), "héllo w");
        assert_eq!(first_chars("日本語のテキスト", 3), "日本語");
        assert_eq!(first_chars("short", 10), "short");
        assert_eq!(first_chars("", 1), "");
    }
}
