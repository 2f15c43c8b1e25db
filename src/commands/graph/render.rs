//! Writing a graph as DOT (Graphviz), Mermaid or GraphML.

use std::fmt::Write;

use crate::store::GraphDump;

/// Quotes a string for DOT.
fn dot_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The graph in Graphviz's DOT language.
pub fn dot(graph: &GraphDump) -> String {
    let mut out = String::from("digraph graphrag {\n");
    for e in &graph.entities {
        let _ = writeln!(
            out,
            "  {} [label={}, type={}];",
            dot_quote(&e.name),
            dot_quote(&e.name),
            dot_quote(&e.kind)
        );
    }
    for r in &graph.relationships {
        let _ = writeln!(
            out,
            "  {} -> {} [label={}, weight={}];",
            dot_quote(&r.from),
            dot_quote(&r.to),
            dot_quote(&r.relation),
            r.weight
        );
    }
    out.push_str("}\n");
    out
}

/// Text for a quoted Mermaid label: `#`, quotes and angle brackets as
/// Mermaid's numeric entity codes, control characters as spaces.
fn mermaid_label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' | '"' | '<' | '>' => {
                let _ = write!(out, "#{};", u32::from(c));
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The graph as a Mermaid flowchart; entities are numbered `e0`, `e1`, …
/// in name order.
pub fn mermaid(graph: &GraphDump) -> String {
    let mut out = String::from("flowchart LR\n");
    let ids: std::collections::HashMap<&str, usize> = graph
        .entities
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.as_str(), i))
        .collect();
    for (i, e) in graph.entities.iter().enumerate() {
        let _ = writeln!(out, "  e{i}[\"{}\"]", mermaid_label(&e.name));
    }
    for r in &graph.relationships {
        if let (Some(from), Some(to)) = (ids.get(r.from.as_str()), ids.get(r.to.as_str())) {
            let _ = writeln!(
                out,
                "  e{from} -->|\"{}\"| e{to}",
                mermaid_label(&r.relation)
            );
        }
    }
    out
}

/// Escapes text for XML content and attribute values.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// The graph as GraphML; entities are numbered `e0`, `e1`, … in name order.
pub fn graphml(graph: &GraphDump) -> String {
    let mut out = String::from(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n",
        "  <key id=\"name\" for=\"node\" attr.name=\"name\" attr.type=\"string\"/>\n",
        "  <key id=\"type\" for=\"node\" attr.name=\"type\" attr.type=\"string\"/>\n",
        "  <key id=\"relation\" for=\"edge\" attr.name=\"relation\" attr.type=\"string\"/>\n",
        "  <key id=\"weight\" for=\"edge\" attr.name=\"weight\" attr.type=\"double\"/>\n",
        "  <graph id=\"graphrag\" edgedefault=\"directed\">\n",
    ));
    let ids: std::collections::HashMap<&str, usize> = graph
        .entities
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.as_str(), i))
        .collect();
    for (i, e) in graph.entities.iter().enumerate() {
        let _ = writeln!(
            out,
            "    <node id=\"e{i}\"><data key=\"name\">{}</data><data key=\"type\">{}</data></node>",
            xml_escape(&e.name),
            xml_escape(&e.kind)
        );
    }
    for r in &graph.relationships {
        if let (Some(from), Some(to)) = (ids.get(r.from.as_str()), ids.get(r.to.as_str())) {
            let _ = writeln!(
                out,
                "    <edge source=\"e{from}\" target=\"e{to}\"><data key=\"relation\">{}</data><data key=\"weight\">{}</data></edge>",
                xml_escape(&r.relation),
                r.weight
            );
        }
    }
    out.push_str("  </graph>\n</graphml>\n");
    out
}
