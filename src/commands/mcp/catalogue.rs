//! The tools the MCP server offers: each one's name, description and
//! parameters, and how its arguments become a command line of the verb it
//! runs. One description of the parameters gives both the input schema and
//! the command line, so the two cannot disagree.

use serde_json::{Map, Value, json};

use crate::commands::mcp::render::{self, Render};
use crate::commands::mcp::schemas;
use crate::error::{Error, Result};

/// The type of a parameter's value.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A string.
    Text,
    /// An integer within a range.
    Integer(i64, i64),
    /// A number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A JSON object (passed on as JSON text).
    Object,
    /// One of these strings.
    Choice(&'static [&'static str]),
    /// A non-empty list of strings, each its own argument.
    Texts,
}

/// Where a parameter goes on the command line.
#[derive(Debug, Clone, Copy)]
pub enum Place {
    /// `--flag=value`.
    Flag(&'static str),
    /// The flag alone, when the value is `true`.
    Switch(&'static str),
    /// A positional argument.
    Positional,
    /// Chooses the verb: the tool's [`Tool::verbs`] entry of the same value.
    Verb,
}

/// One parameter of a tool.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Its name in the arguments object.
    pub name: &'static str,
    /// Its value's type.
    pub kind: Kind,
    /// Where it goes on the command line.
    pub place: Place,
    /// Whether it must be given.
    pub required: bool,
    /// What it means, for a model.
    pub doc: &'static str,
}

/// One tool.
pub struct Tool {
    /// Its name, `[a-z_]`.
    pub name: &'static str,
    /// A title for people.
    pub title: &'static str,
    /// When and how to use it, for a model.
    pub description: &'static str,
    /// The command line before the arguments, by the value of the
    /// [`Place::Verb`] parameter (the first entry when it is not given, and
    /// for tools without one).
    pub verbs: &'static [(&'static str, &'static [&'static str])],
    /// Its parameters, `namespace` aside (every tool takes it).
    pub params: &'static [Param],
    /// It changes nothing.
    pub read_only: bool,
    /// It removes or hides something (only meaningful when not read-only).
    pub destructive: bool,
    /// Calling it again with the same arguments changes nothing more.
    pub idempotent: bool,
    /// The schema of its results.
    pub output: fn() -> Value,
    /// The short text rendering of its results.
    pub render: Render,
    /// Brings what the verb printed to the shape of the output schema, where
    /// the two differ.
    pub reshape: Option<fn(Value) -> Value>,
}

/// `read` prints one memory for one name and `{"memories","missing"}` for
/// several; the tool always answers the second.
fn as_many_read(printed: Value) -> Value {
    match printed.get("memories") {
        Some(_) => printed,
        None => json!({"memories": [printed], "missing": []}),
    }
}

const fn param(name: &'static str, kind: Kind, place: Place, doc: &'static str) -> Param {
    Param {
        name,
        kind,
        place,
        required: false,
        doc,
    }
}

const fn required(name: &'static str, kind: Kind, place: Place, doc: &'static str) -> Param {
    Param {
        name,
        kind,
        place,
        required: true,
        doc,
    }
}

/// The `namespace` parameter every tool takes.
const NAMESPACE_DOC: &str = "The namespace to work in (a project's memories are kept apart from \
     another's); default: the server's configured namespace";

const MEMORY_NAME: &str = "The memory's name";
const LIMIT: Kind = Kind::Integer(1, 1000);
const MODES: &[&str] = &["hybrid", "meaning", "words"];
const BACKENDS: &[&str] = &["claude", "codex", "openai-compatible"];

/// Every tool, in the order `tools/list` gives them.
pub static TOOLS: &[Tool] = &[
    Tool {
        name: "recall",
        title: "Recall memories",
        description: "Find stored memories relevant to a question or topic. Use it before starting \
            a task, when the user refers to earlier work or decisions, and before remembering \
            something new (to update instead of duplicating). `mode` hybrid (default) ranks by \
            meaning and by words together and follows the entity graph; meaning finds paraphrases; \
            words finds exact terms, names and identifiers. Results come best first with a score \
            and a snippet; `read` gives a whole memory.",
        verbs: &[
            ("hybrid", &["hybrid-search"]),
            ("meaning", &["recall"]),
            ("words", &["search"]),
        ],
        params: &[
            required(
                "query",
                Kind::Text,
                Place::Positional,
                "What to look for, in plain words",
            ),
            param(
                "mode",
                Kind::Choice(MODES),
                Place::Verb,
                "hybrid (default), meaning or words",
            ),
            param(
                "limit",
                LIMIT,
                Place::Flag("--limit"),
                "How many results at most (default 10)",
            ),
            param(
                "min_score",
                Kind::Number,
                Place::Flag("--min-score"),
                "Drop results scoring below this; an empty list then means nothing relevant is stored. Scores of hybrid and meaning are cosine similarities (0.85 is a reasonable floor with the built-in model); of words, BM25 (try 6)",
            ),
            param(
                "with_body",
                Kind::Boolean,
                Place::Switch("--with-body"),
                "Give each result its whole body, so no `read` is needed",
            ),
            param(
                "snippet_chars",
                Kind::Integer(1, 1_000_000),
                Place::Flag("--snippet-chars"),
                "Give each result the first N characters of its body as `excerpt`",
            ),
            param(
                "type",
                Kind::Text,
                Place::Flag("--type"),
                "Only memories of this type",
            ),
            param(
                "since",
                Kind::Text,
                Place::Flag("--since"),
                "Only memories created at or after this time: RFC 3339, YYYY-MM-DD, or a duration back from now such as 7d or 2h",
            ),
            param(
                "until",
                Kind::Text,
                Place::Flag("--until"),
                "Only memories created at or before this time (same forms as since)",
            ),
        ],
        read_only: true,
        destructive: false,
        idempotent: true,
        output: schemas::search_results,
        render: render::search_results,
        reshape: None,
    },
    Tool {
        name: "remember",
        title: "Remember",
        description: "Store a memory that should outlive this session: a decision and its reason, \
            a convention, how something works, a fix and its cause, a user preference. Name it \
            with a short kebab-case phrase saying what it is (e.g. `auth-tokens-rs256`); names are \
            unique in a namespace. Put one subject in each memory. If a memory on the subject \
            exists, pass `update: true` with its name to write a new version (history is kept).",
        verbs: &[("", &["remember"])],
        params: &[
            required(
                "name",
                Kind::Text,
                Place::Flag("--name"),
                "Short kebab-case name, unique in the namespace",
            ),
            required(
                "body",
                Kind::Text,
                Place::Flag("--body"),
                "The memory itself, in full sentences",
            ),
            param(
                "description",
                Kind::Text,
                Place::Flag("--description"),
                "A one-line summary shown in search results",
            ),
            param(
                "type",
                Kind::Text,
                Place::Flag("--type"),
                "Its type, e.g. decision, convention, fact, bug, preference (default note)",
            ),
            param(
                "metadata",
                Kind::Object,
                Place::Flag("--metadata"),
                "Any JSON object kept with it",
            ),
            param(
                "update",
                Kind::Boolean,
                Place::Switch("--update"),
                "If the name exists, write a new version instead of failing",
            ),
            param(
                "extract",
                Kind::Choice(BACKENDS),
                Place::Flag("--extract"),
                "Also extract its entities and relationships with this LLM backend (slow; shares the host-wide LLM slots)",
            ),
        ],
        read_only: false,
        destructive: false,
        idempotent: false,
        output: schemas::remembered,
        render: render::outcome,
        reshape: None,
    },
    Tool {
        name: "read",
        title: "Read memories",
        description: "Read memories in full: body, fields, version and the entities each mentions. \
            Pass every name you need at once; names not found are listed in `missing`.",
        verbs: &[("", &["read"])],
        params: &[required(
            "names",
            Kind::Texts,
            Place::Positional,
            "The memories' names",
        )],
        read_only: true,
        destructive: false,
        idempotent: true,
        output: schemas::memories_read,
        render: render::memories,
        reshape: Some(as_many_read),
    },
    Tool {
        name: "list",
        title: "List memories",
        description: "List the namespace's memories without bodies, most recently updated first.",
        verbs: &[("", &["list"])],
        params: &[
            param(
                "type",
                Kind::Text,
                Place::Flag("--type"),
                "Only memories of this type",
            ),
            param(
                "limit",
                LIMIT,
                Place::Flag("--limit"),
                "How many at most (default 100)",
            ),
            param(
                "offset",
                Kind::Integer(0, u32::MAX as i64),
                Place::Flag("--offset"),
                "Skip this many first",
            ),
        ],
        read_only: true,
        destructive: false,
        idempotent: true,
        output: schemas::memory_list,
        render: render::memory_list,
        reshape: None,
    },
    Tool {
        name: "edit",
        title: "Edit a memory",
        description: "Change fields of an existing memory; the old version stays in its history.",
        verbs: &[("", &["edit"])],
        params: &[
            required("name", Kind::Text, Place::Positional, MEMORY_NAME),
            param("body", Kind::Text, Place::Flag("--body"), "The new body"),
            param(
                "description",
                Kind::Text,
                Place::Flag("--description"),
                "The new one-line summary",
            ),
            param("type", Kind::Text, Place::Flag("--type"), "The new type"),
            param(
                "metadata",
                Kind::Object,
                Place::Flag("--metadata"),
                "The new metadata (replaces the old)",
            ),
        ],
        read_only: false,
        destructive: false,
        idempotent: false,
        output: schemas::outcome,
        render: render::outcome,
        reshape: None,
    },
    Tool {
        name: "forget",
        title: "Forget a memory",
        description: "Forget a memory that is wrong or obsolete. It disappears from results but can \
            be brought back with `restore` until it is purged.",
        verbs: &[("", &["forget"])],
        params: &[required("name", Kind::Text, Place::Positional, MEMORY_NAME)],
        read_only: false,
        destructive: true,
        idempotent: false,
        output: schemas::outcome,
        render: render::outcome,
        reshape: None,
    },
    Tool {
        name: "restore",
        title: "Restore a memory",
        description: "Bring back a forgotten memory, or an earlier version of one (see `history`).",
        verbs: &[("", &["restore"])],
        params: &[
            required("name", Kind::Text, Place::Positional, MEMORY_NAME),
            param(
                "version",
                Kind::Integer(1, i64::MAX),
                Place::Flag("--version"),
                "The version whose content to bring back (default: un-forget)",
            ),
        ],
        read_only: false,
        destructive: false,
        idempotent: false,
        output: schemas::outcome,
        render: render::outcome,
        reshape: None,
    },
    Tool {
        name: "history",
        title: "History of a memory",
        description: "Every version of a memory, oldest first, with what changed each time.",
        verbs: &[("", &["history"])],
        params: &[
            required("name", Kind::Text, Place::Positional, MEMORY_NAME),
            param(
                "limit",
                LIMIT,
                Place::Flag("--limit"),
                "Only the most recent versions, this many",
            ),
        ],
        read_only: true,
        destructive: false,
        idempotent: true,
        output: schemas::history,
        render: render::json,
        reshape: None,
    },
    Tool {
        name: "related",
        title: "Related memories",
        description: "Memories connected through the entity graph to a memory (`name`) or to an \
            entity (`entity`): give exactly one. Finds what shares people, components or concepts \
            with it even when the words differ.",
        verbs: &[("", &["related"])],
        params: &[
            param(
                "name",
                Kind::Text,
                Place::Positional,
                "Start from the entities of this memory",
            ),
            param(
                "entity",
                Kind::Text,
                Place::Flag("--entity"),
                "Start from this entity instead",
            ),
            param(
                "hops",
                Kind::Integer(0, 5),
                Place::Flag("--hops"),
                "The most relationships walked (default 2)",
            ),
            param(
                "limit",
                LIMIT,
                Place::Flag("--limit"),
                "How many at most (default 20)",
            ),
        ],
        read_only: true,
        destructive: false,
        idempotent: true,
        output: schemas::related,
        render: render::json,
        reshape: None,
    },
    Tool {
        name: "link",
        title: "Link two entities",
        description: "Record that one entity relates to another (e.g. `billing-service` depends_on \
            `postgres`); missing entities are created.",
        verbs: &[("", &["link"])],
        params: &[
            required(
                "from",
                Kind::Text,
                Place::Flag("--from"),
                "The source entity",
            ),
            required("to", Kind::Text, Place::Flag("--to"), "The target entity"),
            required(
                "relation",
                Kind::Text,
                Place::Flag("--relation"),
                "The kind of relationship, snake_case (e.g. depends_on, owned_by)",
            ),
            param(
                "weight",
                Kind::Number,
                Place::Flag("--weight"),
                "Its strength, in (0, 1] (default 1)",
            ),
            param(
                "description",
                Kind::Text,
                Place::Flag("--description"),
                "What it says",
            ),
        ],
        read_only: false,
        destructive: false,
        idempotent: true,
        output: schemas::relationship,
        render: render::json,
        reshape: None,
    },
    Tool {
        name: "unlink",
        title: "Unlink two entities",
        description: "Remove relationships recorded with `link` between two entities.",
        verbs: &[("", &["unlink"])],
        params: &[
            required(
                "from",
                Kind::Text,
                Place::Flag("--from"),
                "The source entity",
            ),
            required("to", Kind::Text, Place::Flag("--to"), "The target entity"),
            param(
                "relation",
                Kind::Text,
                Place::Flag("--relation"),
                "Only this kind (default: every one)",
            ),
        ],
        read_only: false,
        destructive: true,
        idempotent: true,
        output: schemas::unlinked,
        render: render::json,
        reshape: None,
    },
    Tool {
        name: "entities",
        title: "List entities",
        description: "The entities (people, components, concepts…) the namespace's memories mention, \
            most connected first.",
        verbs: &[("", &["entities"])],
        params: &[
            param(
                "type",
                Kind::Text,
                Place::Flag("--type"),
                "Only entities of this type",
            ),
            param(
                "prefix",
                Kind::Text,
                Place::Flag("--prefix"),
                "Only names starting with this (any case)",
            ),
            param(
                "limit",
                LIMIT,
                Place::Flag("--limit"),
                "How many at most (default 100)",
            ),
        ],
        read_only: true,
        destructive: false,
        idempotent: true,
        output: schemas::entities,
        render: render::json,
        reshape: None,
    },
    Tool {
        name: "entity",
        title: "Read an entity",
        description: "One entity: its aliases, the memories that mention it and its relationships.",
        verbs: &[("", &["entity"])],
        params: &[required(
            "name",
            Kind::Text,
            Place::Positional,
            "The entity's name (any case)",
        )],
        read_only: true,
        destructive: false,
        idempotent: true,
        output: schemas::entity,
        render: render::json,
        reshape: None,
    },
    Tool {
        name: "graph_neighbourhood",
        title: "Graph around an entity",
        description: "The entities and relationships within `hops` relationships of an entity.",
        verbs: &[("", &["graph", "export", "--format=json"])],
        params: &[
            required(
                "entity",
                Kind::Text,
                Place::Flag("--entity"),
                "The entity at the centre",
            ),
            param(
                "hops",
                Kind::Integer(0, 10),
                Place::Flag("--hops"),
                "How many relationships away (default 1)",
            ),
        ],
        read_only: true,
        destructive: false,
        idempotent: true,
        output: schemas::graph,
        render: render::json,
        reshape: None,
    },
    Tool {
        name: "namespaces",
        title: "List namespaces",
        description: "Every namespace in the database with its counts.",
        verbs: &[("", &["namespaces"])],
        params: &[],
        read_only: true,
        destructive: false,
        idempotent: true,
        output: schemas::namespaces,
        render: render::json,
        reshape: None,
    },
    Tool {
        name: "stats",
        title: "Database statistics",
        description: "Counts per namespace, the schema version and the size on disk.",
        verbs: &[("", &["stats"])],
        params: &[],
        read_only: true,
        destructive: false,
        idempotent: true,
        output: schemas::stats,
        render: render::json,
        reshape: None,
    },
];

/// The tool of this name.
pub fn find(name: &str) -> Option<&'static Tool> {
    TOOLS.iter().find(|tool| tool.name == name)
}

impl Tool {
    /// Its definition for `tools/list`.
    pub fn definition(&self) -> Value {
        let mut properties = Map::new();
        for param in self.params {
            properties.insert(param.name.into(), param.schema());
        }
        properties.insert(
            "namespace".into(),
            json!({"type": "string", "description": NAMESPACE_DOC}),
        );
        let required: Vec<&str> = self
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name)
            .collect();
        let mut annotations = json!({
            "title": self.title,
            "readOnlyHint": self.read_only,
            "idempotentHint": self.idempotent,
            "openWorldHint": false,
        });
        if !self.read_only {
            annotations["destructiveHint"] = json!(self.destructive);
        }
        json!({
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": false,
            },
            "outputSchema": (self.output)(),
            "annotations": annotations,
        })
    }

    /// The command line (program name first) these arguments ask for, and
    /// the namespace they name.
    ///
    /// # Failure
    /// Invalid input for an unknown parameter, a missing required one, or a
    /// value of the wrong type or out of range.
    pub fn command_line(
        &self,
        arguments: &Map<String, Value>,
    ) -> Result<(Vec<String>, Option<String>)> {
        let mut namespace = None;
        for (name, value) in arguments {
            if name == "namespace" {
                let ns = value
                    .as_str()
                    .ok_or_else(|| Error::invalid("namespace must be a string"))?;
                namespace = Some(ns.to_owned());
            } else if !self.params.iter().any(|p| p.name == name) {
                let known: Vec<&str> = self
                    .params
                    .iter()
                    .map(|p| p.name)
                    .chain(["namespace"])
                    .collect();
                return Err(Error::invalid(format!(
                    "{} takes no argument {name:?}; it takes {}",
                    self.name,
                    known.join(", ")
                )));
            }
        }
        let mut verb = self.verbs[0].1;
        let (mut options, mut positionals) = (Vec::new(), Vec::new());
        for param in self.params {
            let value = match arguments.get(param.name) {
                None | Some(Value::Null) if param.required => {
                    return Err(Error::invalid(format!(
                        "{} needs {:?}",
                        self.name, param.name
                    )));
                }
                None | Some(Value::Null) => continue,
                Some(value) => param.words(value)?,
            };
            match param.place {
                Place::Flag(flag) => options.extend(value.iter().map(|v| format!("{flag}={v}"))),
                Place::Switch(flag) if value == ["true"] => options.push(flag.to_owned()),
                Place::Switch(_) => {}
                Place::Positional => positionals.extend(value),
                Place::Verb => {
                    let chosen = self.verbs.iter().find(|(v, _)| [*v] == value.as_slice());
                    verb = chosen.map_or(verb, |(_, argv)| argv);
                }
            }
        }
        let mut argv = vec![env!("CARGO_PKG_NAME").to_owned()];
        argv.extend(verb.iter().map(|s| (*s).to_owned()));
        argv.extend(options);
        if !positionals.is_empty() {
            argv.push("--".into());
            argv.extend(positionals);
        }
        Ok((argv, namespace))
    }
}

impl Param {
    fn schema(&self) -> Value {
        let mut schema = match self.kind {
            Kind::Text => json!({"type": "string"}),
            Kind::Integer(min, max) => {
                let mut schema = json!({"type": "integer", "minimum": min});
                if max < i64::MAX {
                    schema["maximum"] = json!(max);
                }
                schema
            }
            Kind::Number => json!({"type": "number"}),
            Kind::Boolean => json!({"type": "boolean"}),
            Kind::Object => json!({"type": "object"}),
            Kind::Choice(values) => json!({"type": "string", "enum": values}),
            Kind::Texts => json!({"type": "array", "items": {"type": "string"}, "minItems": 1}),
        };
        schema["description"] = json!(self.doc);
        schema
    }

    /// The value as command-line words, once checked against the kind:
    /// one word, or one per item of a list.
    fn words(&self, value: &Value) -> Result<Vec<String>> {
        let Kind::Texts = self.kind else {
            return Ok(vec![self.text(value)?]);
        };
        let wrong = || Error::invalid(format!("{} must be a non-empty list of strings", self.name));
        let items = value
            .as_array()
            .filter(|items| !items.is_empty())
            .ok_or_else(wrong)?;
        items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(wrong))
            .collect()
    }

    /// One value as command-line text, once checked against the kind.
    fn text(&self, value: &Value) -> Result<String> {
        let wrong = |what: &str| Error::invalid(format!("{} must be {what}", self.name));
        Ok(match self.kind {
            Kind::Text => value.as_str().ok_or_else(|| wrong("a string"))?.to_owned(),
            Kind::Integer(min, max) => {
                let n = value.as_i64().ok_or_else(|| wrong("an integer"))?;
                if n < min || n > max {
                    let range = match max {
                        i64::MAX => format!("at least {min}"),
                        _ => format!("from {min} to {max}"),
                    };
                    return Err(wrong(&range));
                }
                n.to_string()
            }
            Kind::Number => {
                value.as_f64().ok_or_else(|| wrong("a number"))?;
                value.to_string()
            }
            Kind::Boolean => value
                .as_bool()
                .ok_or_else(|| wrong("true or false"))?
                .to_string(),
            Kind::Object => {
                value.as_object().ok_or_else(|| wrong("a JSON object"))?;
                value.to_string()
            }
            Kind::Choice(values) => {
                let text = value.as_str().filter(|v| values.contains(v));
                text.ok_or_else(|| wrong(&format!("one of {}", values.join(", "))))?
                    .to_owned()
            }
            Kind::Texts => return Err(wrong("a list of strings")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn arguments_become_flags_and_positionals_after_a_separator() {
        let (argv, namespace) = find("recall")
            .unwrap()
            .command_line(&args(
                json!({"query": "-dash first", "mode": "words", "limit": 3, "namespace": "a/b"}),
            ))
            .unwrap();
        assert_eq!(
            argv,
            [
                "sqlite-graphrag",
                "search",
                "--limit=3",
                "--",
                "-dash first"
            ]
        );
        let (argv, _) = find("read")
            .unwrap()
            .command_line(&args(json!({"names": ["a", "--b"]})))
            .unwrap();
        assert_eq!(argv, ["sqlite-graphrag", "read", "--", "a", "--b"]);
        assert_eq!(namespace.as_deref(), Some("a/b"));
        let (argv, _) = find("remember")
            .unwrap()
            .command_line(&args(
                json!({"name": "n", "body": "b", "update": true, "metadata": {"a": 1}}),
            ))
            .unwrap();
        assert_eq!(
            argv,
            [
                "sqlite-graphrag",
                "remember",
                "--name=n",
                "--body=b",
                "--metadata={\"a\":1}",
                "--update"
            ]
        );
    }

    #[test]
    fn bad_arguments_are_refused_before_anything_runs() {
        let recall = find("recall").unwrap();
        for bad in [
            json!({}),
            json!({"query": 3}),
            json!({"query": "q", "limit": 0}),
            json!({"query": "q", "limit": 1.5}),
            json!({"query": "q", "mode": "fuzzy"}),
            json!({"query": "q", "colour": "red"}),
            json!({"query": "q", "namespace": 1}),
            json!({"query": "q", "with_body": "yes"}),
        ] {
            assert!(recall.command_line(&args(bad.clone())).is_err(), "{bad}");
        }
        let read = find("read").unwrap();
        for bad in [
            json!({"names": []}),
            json!({"names": "a"}),
            json!({"names": ["a", 1]}),
        ] {
            assert!(read.command_line(&args(bad.clone())).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_definition_has_object_schemas_and_a_valid_name() {
        for tool in TOOLS {
            let definition = tool.definition();
            assert_eq!(definition["inputSchema"]["type"], "object", "{}", tool.name);
            assert_eq!(
                definition["outputSchema"]["type"], "object",
                "{}",
                tool.name
            );
            assert!(
                tool.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
            assert!(
                tool.name.len() <= 40,
                "{} leaves too little of Claude Code's 64",
                tool.name
            );
        }
    }
}
