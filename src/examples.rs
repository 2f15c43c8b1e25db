//! The examples closing each verb's `--help` (and its manual page). A test
//! runs every example line through the parser, so they cannot drift from
//! the flags they show.

/// Builds an "Examples:" block from command lines, one per line.
macro_rules! examples {
    ($($line:literal),+ $(,)?) => {
        concat!("Examples:", $("\n  ", $line),+)
    };
}

/// Examples of `init`.
pub const INIT: &str = examples!(
    "sqlite-graphrag init",
    "sqlite-graphrag --db ./project.sqlite init --force",
);
/// Examples of `remember`.
pub const REMEMBER: &str = examples!(
    "sqlite-graphrag remember --name deploy-steps --type howto --body 'Run make release, then tag'",
    "sqlite-graphrag remember --name design --body-file notes/design.md --update",
);
/// Examples of `read`.
pub const READ: &str = examples!("sqlite-graphrag read deploy-steps");
/// Examples of `list`.
pub const LIST: &str = examples!(
    "sqlite-graphrag list --type howto --limit 20",
    "sqlite-graphrag list --include-deleted",
);
/// Examples of `edit`.
pub const EDIT: &str = examples!(
    "sqlite-graphrag edit deploy-steps --description 'How releases ship'",
    "sqlite-graphrag edit design --body-file notes/design.md",
);
/// Examples of `rename`.
pub const RENAME: &str = examples!("sqlite-graphrag rename deploy-steps release-steps");
/// Examples of `history`.
pub const HISTORY: &str = examples!("sqlite-graphrag history deploy-steps");
/// Examples of `restore`.
pub const RESTORE: &str = examples!(
    "sqlite-graphrag restore deploy-steps --version 2",
    "sqlite-graphrag restore old-notes",
);
/// Examples of `forget`.
pub const FORGET: &str = examples!("sqlite-graphrag forget old-notes");
/// Examples of `purge`.
pub const PURGE: &str = examples!(
    "sqlite-graphrag purge --yes",
    "sqlite-graphrag purge --older-than 30d --yes",
);
/// Examples of `import`.
pub const IMPORT: &str = examples!(
    "sqlite-graphrag import memories.jsonl",
    "sqlite-graphrag --namespace project import - --batch-size 500",
);
/// Examples of `ingest`.
pub const INGEST: &str = examples!(
    "sqlite-graphrag ingest docs --glob '*.md' --type doc",
    "sqlite-graphrag ingest src README.md --prune --dry-run",
);
/// Examples of `export`.
pub const EXPORT: &str = examples!(
    "sqlite-graphrag export",
    "sqlite-graphrag export --all-namespaces",
);
/// Examples of `search`.
pub const SEARCH: &str = examples!(
    "sqlite-graphrag search 'release tag' -k 5",
    "sqlite-graphrag search deploy --type howto --since 2026-01-01",
);
/// Examples of `recall`.
pub const RECALL: &str = examples!(
    "sqlite-graphrag recall 'how do we ship a release'",
    "sqlite-graphrag recall 'database locking' --graph --hops 2",
);
/// Examples of `hybrid-search`.
pub const HYBRID_SEARCH: &str = examples!(
    "sqlite-graphrag hybrid-search 'release checklist' -k 5",
    "sqlite-graphrag hybrid-search 'vector index' --no-graph --all-namespaces",
);
/// Examples of `deep-research`.
pub const DEEP_RESEARCH: &str = examples!(
    "sqlite-graphrag deep-research 'why did the release fail and who fixed it'",
    "sqlite-graphrag deep-research 'what decisions shaped the storage layer' --backend claude",
);
/// Examples of `reindex`.
pub const REINDEX: &str = examples!(
    "sqlite-graphrag reindex",
    "sqlite-graphrag --embedder openai-compatible --embed-model text-embedding-3-small reindex",
);
/// Examples of `stats`.
pub const STATS: &str = examples!("sqlite-graphrag stats");
/// Examples of `health`.
pub const HEALTH: &str = examples!(
    "sqlite-graphrag health",
    "sqlite-graphrag --db backup.sqlite health",
);
/// Examples of `backup`.
pub const BACKUP: &str = examples!(
    "sqlite-graphrag backup --output memory-backup.sqlite",
    "sqlite-graphrag --progress always backup --output /mnt/backups/memory.sqlite --force",
);
/// Examples of `restore-backup`.
pub const RESTORE_BACKUP: &str = examples!(
    "sqlite-graphrag restore-backup memory-backup.sqlite --yes",
    "sqlite-graphrag --db ./restored.sqlite restore-backup /mnt/backups/memory.sqlite --yes",
);
/// Examples of `vacuum`.
pub const VACUUM: &str = examples!("sqlite-graphrag vacuum");
/// Examples of `optimize`.
pub const OPTIMIZE: &str = examples!("sqlite-graphrag optimize");
/// Examples of `namespaces`.
pub const NAMESPACES: &str = examples!("sqlite-graphrag namespaces");
/// Examples of `link`.
pub const LINK: &str = examples!(
    "sqlite-graphrag link --from sqlite --to wal --relation uses",
    "sqlite-graphrag link --from alice --to storage --relation owns --weight 0.8 --type person",
);
/// Examples of `unlink`.
pub const UNLINK: &str = examples!(
    "sqlite-graphrag unlink --from sqlite --to wal",
    "sqlite-graphrag unlink --from alice --to storage --relation owns",
);
/// Examples of `entities`.
pub const ENTITIES: &str = examples!(
    "sqlite-graphrag entities --limit 20",
    "sqlite-graphrag entities --type person --sort name",
);
/// Examples of `entity`.
pub const ENTITY: &str = examples!("sqlite-graphrag entity sqlite");
/// Examples of `merge-entities`.
pub const MERGE_ENTITIES: &str =
    examples!("sqlite-graphrag merge-entities SQLite sqlite3 --into sqlite");
/// Examples of `rename-entity`.
pub const RENAME_ENTITY: &str = examples!("sqlite-graphrag rename-entity postgres postgresql");
/// Examples of `forget-entity`.
pub const FORGET_ENTITY: &str = examples!("sqlite-graphrag forget-entity the");
/// Examples of `related`.
pub const RELATED: &str = examples!(
    "sqlite-graphrag related deploy-steps --hops 2",
    "sqlite-graphrag related --entity sqlite --relation uses --limit 10",
);
/// Examples of `graph`.
pub const GRAPH: &str = examples!(
    "sqlite-graphrag graph export --format dot",
    "sqlite-graphrag graph stats",
);
/// Examples of `graph export`.
pub const GRAPH_EXPORT: &str = examples!(
    "sqlite-graphrag graph export",
    "sqlite-graphrag graph export --format mermaid --entity sqlite --hops 2",
);
/// Examples of `graph stats`.
pub const GRAPH_STATS: &str = examples!("sqlite-graphrag graph stats");
/// Examples of `llm`.
pub const LLM: &str = examples!("sqlite-graphrag llm run --backend claude --prompt 'Say hello'");
/// Examples of `llm run`.
pub const LLM_RUN: &str = examples!(
    "sqlite-graphrag llm run --backend claude --prompt 'Summarise the release notes'",
    "sqlite-graphrag llm run --backend codex --schema-file answer.schema.json --timeout 300",
);
/// Examples of `enrich`.
pub const ENRICH: &str = examples!(
    "sqlite-graphrag enrich --limit 10",
    "sqlite-graphrag enrich --until-empty --parallel 4 --max-runtime 3600",
);
/// Examples of `enrich status`.
pub const ENRICH_STATUS: &str = examples!("sqlite-graphrag enrich status");
/// Examples of `enrich retry`.
pub const ENRICH_RETRY: &str = examples!("sqlite-graphrag enrich retry --failed");
/// Examples of `slots`.
pub const SLOTS: &str = examples!(
    "sqlite-graphrag slots exec --pool build -- make -j4",
    "sqlite-graphrag slots status",
);
/// Examples of `slots exec`.
pub const SLOTS_EXEC: &str = examples!(
    "sqlite-graphrag slots exec -- cargo test",
    "sqlite-graphrag slots exec --pool gpu --max 1 --wait 600 --timeout 3600 -- python train.py",
);
/// Examples of `slots status`.
pub const SLOTS_STATUS: &str = examples!(
    "sqlite-graphrag slots status",
    "sqlite-graphrag slots status --pool llm",
);
/// Examples of `slots resize`.
pub const SLOTS_RESIZE: &str = examples!("sqlite-graphrag slots resize --pool llm --max 2");
/// Examples of `completions`.
pub const COMPLETIONS: &str = examples!(
    "sqlite-graphrag completions bash",
    "sqlite-graphrag completions zsh",
);
/// Examples of `man`.
pub const MAN: &str = examples!(
    "sqlite-graphrag man",
    "sqlite-graphrag man --output-dir man1",
);
/// Examples of `mcp`.
pub const MCP: &str = examples!(
    "sqlite-graphrag mcp",
    "sqlite-graphrag --db ~/memories/work.sqlite --namespace auto mcp",
);
/// Examples of `agents`.
pub const AGENTS: &str = examples!(
    "sqlite-graphrag agents print codex >> AGENTS.md",
    "sqlite-graphrag --namespace auto agents context",
);
/// Examples of `agents print`.
pub const AGENTS_PRINT: &str = examples!(
    "sqlite-graphrag agents print claude > ~/.claude/skills/sqlite-graphrag/SKILL.md",
    "sqlite-graphrag agents print codex >> AGENTS.md",
);
/// Examples of `agents context`.
pub const AGENTS_CONTEXT: &str = examples!("sqlite-graphrag --namespace auto agents context");

#[cfg(test)]
mod tests {
    use clap::{ArgMatches, CommandFactory, Parser};

    use crate::cli::Cli;

    /// Splits a command line into words as a POSIX shell does for the
    /// quoting the examples use: blanks separate words, single and double
    /// quotes group them; a redirection (`>`, `>>`, `<`) ends the command.
    fn words(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word: Option<String> = None;
        let mut quote = None;
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.get_or_insert_default().push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    word.get_or_insert_default();
                }
                (None, ' ') => words.extend(word.take()),
                (None, c) => word.get_or_insert_default().push(c),
            }
        }
        assert!(quote.is_none(), "unclosed quote in {line:?}");
        words.extend(word);
        let end = words
            .iter()
            .position(|w| [">", ">>", "<"].contains(&w.as_str()));
        words.truncate(end.unwrap_or(words.len()));
        words
    }

    /// The verb path a parsed command line ran (`["graph", "export"]`).
    fn path_of(matches: &ArgMatches) -> Vec<String> {
        let mut path = Vec::new();
        let mut at = matches;
        while let Some((name, sub)) = at.subcommand() {
            path.push(name.to_owned());
            at = sub;
        }
        path
    }

    /// Every verb and sub-verb with its path, depth first.
    fn verbs(
        command: &clap::Command,
        path: &[String],
        into: &mut Vec<(Vec<String>, clap::Command)>,
    ) {
        for verb in command.get_subcommands() {
            if verb.get_name() == "help" || verb.is_hide_set() {
                continue;
            }
            let mut sub_path = path.to_vec();
            sub_path.push(verb.get_name().to_owned());
            into.push((sub_path.clone(), verb.clone()));
            verbs(verb, &sub_path, into);
        }
    }

    #[test]
    fn every_verb_has_examples_that_parse() {
        let mut all = Vec::new();
        verbs(&Cli::command(), &[], &mut all);
        assert!(all.len() > 40, "{} verbs", all.len());
        for (path, verb) in all {
            let help = verb
                .get_after_help()
                .unwrap_or_else(|| panic!("{path:?} has no examples in its help"))
                .to_string();
            let mut lines = help.lines();
            assert_eq!(lines.next(), Some("Examples:"), "{path:?}: {help}");
            let examples: Vec<&str> = lines.collect();
            assert!(!examples.is_empty(), "{path:?}: no example lines");
            for line in examples {
                let command = line
                    .strip_prefix("  sqlite-graphrag ")
                    .unwrap_or_else(|| panic!("{path:?}: not a command line: {line:?}"));
                let mut args = vec!["sqlite-graphrag".to_owned()];
                args.extend(words(command));
                let matches = Cli::command()
                    .try_get_matches_from(&args)
                    .unwrap_or_else(|e| panic!("{path:?}: {line:?} does not parse:\n{e}"));
                let ran = path_of(&matches);
                assert!(
                    ran.starts_with(&path),
                    "{path:?}: the example {line:?} runs {ran:?}"
                );
                Cli::try_parse_from(&args).unwrap();
            }
        }
    }

    #[test]
    fn example_lines_split_as_a_shell_splits_them() {
        assert_eq!(
            words(r#"search 'a b' --x "c 'd'" e"#),
            ["search", "a b", "--x", "c 'd'", "e"]
        );
        assert_eq!(words("read ''"), ["read", ""]);
    }
}
