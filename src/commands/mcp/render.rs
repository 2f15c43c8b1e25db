//! The short text a tool result carries beside its structured content: what
//! a model reads first, so the searches and memories read as prose and the
//! rest as compact JSON.

use std::fmt::Write;

use serde_json::Value;

/// Renders a tool's result as text.
pub type Render = fn(&Value) -> String;

fn field<'a>(value: &'a Value, name: &str) -> &'a str {
    value.get(name).and_then(Value::as_str).unwrap_or("")
}

/// Compact JSON, for results that are already small records.
pub fn json(value: &Value) -> String {
    value.to_string()
}

/// Search results: one numbered line each, with score, description and snippet.
pub fn search_results(value: &Value) -> String {
    let results = value["results"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if results.is_empty() {
        return "No memory matched.".into();
    }
    let mut text = String::new();
    for (rank, hit) in results.iter().enumerate() {
        let score = hit["score"].as_f64().unwrap_or(0.0);
        let _ = write!(
            text,
            "{}. {} (score {score:.3}",
            rank + 1,
            field(hit, "name")
        );
        if !field(hit, "type").is_empty() {
            let _ = write!(text, ", {}", field(hit, "type"));
        }
        text.push(')');
        if !field(hit, "description").is_empty() {
            let _ = write!(text, ": {}", field(hit, "description"));
        }
        for part in ["body", "excerpt", "snippet"] {
            if !field(hit, part).is_empty() {
                let _ = write!(text, "\n   {}", field(hit, part).replace('\n', "\n   "));
                break;
            }
        }
        text.push('\n');
    }
    text
}

/// What a write did: `created auth-tokens (version 1, namespace global)`.
pub fn outcome(value: &Value) -> String {
    format!(
        "{} {} (version {}, namespace {})",
        field(value, "action"),
        field(value, "name"),
        value["version"],
        field(value, "namespace"),
    )
}

/// One memory: a header line, its description, then its body.
fn memory(value: &Value) -> String {
    let mut text = format!(
        "{} ({}, version {}, namespace {}, updated {})\n",
        field(value, "name"),
        field(value, "type"),
        value["version"],
        field(value, "namespace"),
        field(value, "updated_at"),
    );
    if !field(value, "description").is_empty() {
        let _ = writeln!(text, "{}", field(value, "description"));
    }
    let _ = write!(text, "\n{}", field(value, "body"));
    text
}

/// Memories read: each as [`memory`] does, then the names not found.
pub fn memories(value: &Value) -> String {
    let found = value["memories"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut parts: Vec<String> = found.iter().map(memory).collect();
    let missing = value["missing"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().filter_map(Value::as_str).collect();
        parts.push(format!("Not found: {}", names.join(", ")));
    }
    parts.join("\n\n---\n\n")
}

/// A listing: one line per memory.
pub fn memory_list(value: &Value) -> String {
    let items = value["items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut text = match value["more"].as_bool() {
        Some(true) => format!("{} of {} memories\n", items.len(), value["total"]),
        _ => format!("{} memories\n", items.len()),
    };
    for item in items {
        let _ = write!(text, "- {} ({})", field(item, "name"), field(item, "type"));
        if !field(item, "description").is_empty() {
            let _ = write!(text, ": {}", field(item, "description"));
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn searches_read_as_numbered_lines() {
        let value = json!({"results": [
            {"name": "a", "type": "note", "description": "d", "score": 0.5, "snippet": "s1\ns2"},
        ]});
        assert_eq!(
            search_results(&value),
            "1. a (score 0.500, note): d\n   s1\n   s2\n"
        );
        assert_eq!(
            search_results(&json!({"results": []})),
            "No memory matched."
        );
    }
}
