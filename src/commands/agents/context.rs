//! `agents context`: the memories most relevant to the current repository,
//! as short plain text for a session-start hook (Claude Code's
//! `SessionStart` adds what the hook prints to the model's context).
//!
//! It writes nothing (but for migrating an older database on opening it, as
//! every command does), prints nothing when there is nothing to show, and never
//! fails: `main` turns any error into a one-line note on stderr and exit
//! status 0 (see [`super::is_hook`]).

use std::io::Write;

use clap::Args;

use crate::commands::shown_body::first_chars;
use crate::config::Config;
use crate::embed::StaticModel;
use crate::error::{Error, ErrorKind, Result};
use crate::repo;
use crate::search::{self, Request};
use crate::store::{ListFilter, OpenMode, ScanMode, Scope, Store};

/// Most recently updated memories shown.
const RECENT: u32 = 5;
/// Word-search hits for the repository's name shown, besides those.
const MATCHES: usize = 5;
/// Longest excerpt of one memory, in characters.
const EXCERPT_CHARS: usize = 160;

/// Arguments of `agents context`.
#[derive(Debug, Clone, Args)]
pub struct ContextArgs {}

/// One memory as a line of the context.
struct Line {
    name: String,
    kind: String,
    date: String,
    excerpt: String,
}

/// Writes the context for the current repository to `out`; nothing when
/// there is no database or nothing in the namespace.
pub fn cmd_agents_context(config: &Config, _args: &ContextArgs, out: &mut dyn Write) -> Result<()> {
    let (namespace, topic) = namespace(config)?;
    let store = match Store::open(config.db_path()?, OpenMode::Existing) {
        Ok(store) => store,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let filter = ListFilter {
        kind: None,
        session: None,
        limit: RECENT,
        offset: 0,
        include_deleted: false,
    };
    let mut recent = Vec::new();
    for memory in store.list(&namespace, &filter)? {
        recent.push(line(&store, &namespace, &memory.name)?);
    }
    let matches = match &topic {
        Some(topic) => topic_hits(&store, &namespace, topic, &recent)?,
        None => Vec::new(),
    };
    if recent.is_empty() && matches.is_empty() {
        return Ok(());
    }
    let text = render(&namespace, topic.as_deref(), &recent, &matches);
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::output)
}

/// The namespace to show and the word to search it for: the configured
/// namespace when one was given (by flag, variable or file; `auto` derives
/// it), else the current repository's, else the default one. The word is
/// the last part of a derived namespace (the repository's name).
fn namespace(config: &Config) -> Result<(String, Option<String>)> {
    let repo_name = |namespace: &str| namespace.rsplit('/').next().map(str::to_owned);
    if config.namespace_is_default()
        && let Some(derived) = config.cwd().and_then(|cwd| repo::derive(cwd).ok())
    {
        let topic = repo_name(&derived.namespace);
        return Ok((derived.namespace, topic));
    }
    let namespace = config.namespace()?.to_owned();
    let topic = config
        .namespace_origin()
        .and_then(|_| repo_name(&namespace));
    Ok((namespace, topic))
}

/// The best word-search hits for `topic`, leaving out the memories already
/// in `recent`.
fn topic_hits(store: &Store, namespace: &str, topic: &str, recent: &[Line]) -> Result<Vec<Line>> {
    if !topic.chars().any(char::is_alphanumeric) {
        return Ok(Vec::new());
    }
    let scope = Scope::namespace(namespace);
    let request = Request {
        query: topic,
        k: MATCHES + recent.len(),
        scope: &scope,
        graph_hops: None,
        vector_mode: ScanMode::Auto,
    };
    let hits = search::word_search(store, &StaticModel::new(), &request)?;
    hits.iter()
        .filter(|hit| !recent.iter().any(|line| line.name == hit.name))
        .take(MATCHES)
        .map(|hit| line(store, namespace, &hit.name))
        .collect()
}

/// The line of the live memory `name`: its description, else the start of
/// its body, with the date of its last update.
fn line(store: &Store, namespace: &str, name: &str) -> Result<Line> {
    let memory = store.read(namespace, name)?;
    let body = memory.body.unwrap_or_default();
    Ok(Line {
        excerpt: excerpt(if memory.description.is_empty() {
            &body
        } else {
            &memory.description
        }),
        date: memory.updated_at.to_string()[..10].to_owned(),
        name: memory.name,
        kind: memory.kind,
    })
}

/// Stored text as one short line: control characters and runs of blanks
/// become one space, and past [`EXCERPT_CHARS`] it is cut with `…`.
fn excerpt(text: &str) -> String {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join(" ");
    let cut = first_chars(&joined, EXCERPT_CHARS);
    match cut.len() < joined.len() {
        true => format!("{cut}…"),
        false => joined,
    }
}

fn render(namespace: &str, topic: Option<&str>, recent: &[Line], matches: &[Line]) -> String {
    let mut text = format!("sqlite-graphrag memories of namespace {namespace}\n");
    let mut section = |title: String, lines: &[Line]| {
        if lines.is_empty() {
            return;
        }
        text.push_str(&title);
        for line in lines {
            text.push_str(&format!("- {} ({}, {})", line.name, line.kind, line.date));
            if !line.excerpt.is_empty() {
                text.push_str(": ");
                text.push_str(&line.excerpt);
            }
            text.push('\n');
        }
    };
    section("Recently updated:\n".to_owned(), recent);
    section(
        format!("Matching \"{}\":\n", topic.unwrap_or_default()),
        matches,
    );
    text.push_str(&format!(
        "Read one with `sqlite-graphrag read NAME --namespace {namespace}`; \
         search with `sqlite-graphrag hybrid-search \"QUERY\" --namespace {namespace}`.\n"
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_is_one_bounded_line() {
        assert_eq!(excerpt("a\n\tb\u{1b}[31m  c\r\n"), "a b [31m c");
        let long = excerpt(&"é".repeat(500));
        assert_eq!(long.chars().count(), EXCERPT_CHARS + 1);
        assert!(long.ends_with('…'));
        assert_eq!(excerpt(""), "");
    }
}
