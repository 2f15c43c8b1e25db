//! The output schema of each tool: the JSON its verb prints. Clients check
//! every result against it, so each names the fields a result always has
//! and their types, and leaves room for fields added later.

use serde_json::{Value, json};

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "properties": properties, "required": required})
}

fn array_of(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

const STRING: &str = "string";

fn typed(name: &str) -> Value {
    json!({"type": name})
}

fn nullable(name: &str) -> Value {
    json!({"type": [name, "null"]})
}

/// The fields of a memory every listing shows.
fn memory_fields() -> Value {
    json!({
        "memory_id": typed("integer"),
        "namespace": typed(STRING),
        "name": typed(STRING),
        "type": typed(STRING),
        "description": typed(STRING),
        "metadata": typed("object"),
        "version": typed("integer"),
        "created_at": typed(STRING),
        "updated_at": typed(STRING),
        "deleted_at": nullable(STRING),
        "session": nullable(STRING),
    })
}

const MEMORY_REQUIRED: &[&str] = &[
    "memory_id",
    "namespace",
    "name",
    "type",
    "version",
    "updated_at",
];

/// `link`: one relationship (also an item of `unlink`, `entity` and
/// `graph_neighbourhood` results).
pub fn relationship() -> Value {
    object(
        &["from", "to", "relation", "weight"],
        json!({
            "from": typed(STRING),
            "to": typed(STRING),
            "relation": typed(STRING),
            "weight": typed("number"),
            "description": typed(STRING),
        }),
    )
}

fn entity_row() -> Value {
    object(
        &["name", "type"],
        json!({"name": typed(STRING), "type": typed(STRING), "description": typed(STRING)}),
    )
}

/// `recall` (all three modes).
pub fn search_results() -> Value {
    let hit = object(
        &["memory_id", "name", "namespace", "score"],
        json!({
            "memory_id": typed("integer"),
            "name": typed(STRING),
            "namespace": typed(STRING),
            "type": typed(STRING),
            "description": typed(STRING),
            "created_at": typed(STRING),
            "score": typed("number"),
            "snippet": typed(STRING),
            "body": typed(STRING),
            "excerpt": typed(STRING),
            "match": typed("object"),
        }),
    );
    object(&["results"], json!({"results": array_of(hit)}))
}

/// What `remember` did.
pub fn remembered() -> Value {
    let mut schema = outcome();
    schema["properties"]["extraction"] = typed("object");
    schema
}

/// What `edit`, `forget` and `restore` did.
pub fn outcome() -> Value {
    object(
        &["memory_id", "name", "namespace", "version", "action"],
        json!({
            "memory_id": typed("integer"),
            "name": typed(STRING),
            "namespace": typed(STRING),
            "version": typed("integer"),
            "action": typed(STRING),
        }),
    )
}

/// `read`: the memories found, with bodies and entities, and the names not found.
pub fn memories_read() -> Value {
    object(
        &["memories", "missing"],
        json!({"memories": array_of(memory_read()), "missing": array_of(typed(STRING))}),
    )
}

/// One memory as `read` prints it: with its body and entities.
fn memory_read() -> Value {
    let mut properties = memory_fields();
    properties["body"] = typed(STRING);
    properties["entities"] = array_of(entity_row());
    let mut required = MEMORY_REQUIRED.to_vec();
    required.extend(["body", "entities"]);
    object(&required, properties)
}

/// `list`.
pub fn memory_list() -> Value {
    object(
        &["items", "total", "more"],
        json!({
            "items": array_of(object(MEMORY_REQUIRED, memory_fields())),
            "total": typed("integer"),
            "more": typed("boolean"),
        }),
    )
}

/// `history`.
pub fn history() -> Value {
    let version = object(
        &["version", "action", "name", "body", "recorded_at"],
        json!({
            "version": typed("integer"),
            "action": typed(STRING),
            "name": typed(STRING),
            "type": typed(STRING),
            "description": typed(STRING),
            "body": typed(STRING),
            "metadata": typed("object"),
            "deleted": typed("boolean"),
            "recorded_at": typed(STRING),
        }),
    );
    object(
        &["memory_id", "name", "namespace", "versions"],
        json!({
            "memory_id": typed("integer"),
            "name": typed(STRING),
            "namespace": typed(STRING),
            "versions": array_of(version),
        }),
    )
}

/// `related`.
pub fn related() -> Value {
    let hit = object(
        &["name", "hops", "score"],
        json!({
            "name": typed(STRING),
            "hops": typed("integer"),
            "score": typed("number"),
            "via": typed("array"),
        }),
    );
    object(&["results"], json!({"results": array_of(hit)}))
}

/// `unlink`.
pub fn unlinked() -> Value {
    object(&["removed"], json!({"removed": array_of(relationship())}))
}

/// `entities`.
pub fn entities() -> Value {
    object(&["entities"], json!({"entities": array_of(entity_row())}))
}

/// `entity`.
pub fn entity() -> Value {
    object(
        &["name", "type", "mentioned_in", "outgoing", "incoming"],
        json!({
            "name": typed(STRING),
            "type": typed(STRING),
            "description": typed(STRING),
            "aliases": array_of(typed(STRING)),
            "mentioned_in": array_of(typed(STRING)),
            "outgoing": array_of(relationship()),
            "incoming": array_of(relationship()),
        }),
    )
}

/// `graph_neighbourhood`.
pub fn graph() -> Value {
    object(
        &["entities", "relationships"],
        json!({"entities": array_of(entity_row()), "relationships": array_of(relationship())}),
    )
}

/// `namespaces`.
pub fn namespaces() -> Value {
    let namespace = object(
        &["namespace", "memories"],
        json!({
            "namespace": typed(STRING),
            "memories": typed("integer"),
            "origin": nullable("object"),
        }),
    );
    object(&["namespaces"], json!({"namespaces": array_of(namespace)}))
}

/// `stats`.
pub fn stats() -> Value {
    object(
        &["memories", "namespaces", "schema_version"],
        json!({
            "db": typed(STRING),
            "db_size_bytes": typed("integer"),
            "schema_version": typed("integer"),
            "memories": typed("integer"),
            "forgotten": typed("integer"),
            "versions": typed("integer"),
            "namespaces": typed("array"),
        }),
    )
}
