//! Hierarchy file formats.
//!
//! * Edge list: one `parent child` pair a line, separated by whitespace; `#` starts a comment;
//!   blank lines are ignored. Classes are the leaves in order of first appearance. The writer
//!   puts the edges between internal nodes first (pre-order) and then the leaf edges in class
//!   order, so that reading the output back gives the same class order.
//! * Nested JSON: `{"name": "root", "children": [{"name": "a"}, ...]}`; a node without
//!   `children` (or with an empty list) is a leaf. Classes are the leaves in document order,
//!   unless the root object has an optional `"classes": [...]` array giving the class order
//!   (the writer adds it only when the class order differs from the document order).
//! * Graphviz `dot` (write only): internal nodes as ellipses, classes as boxes.

use std::path::Path;

use serde_json::Value;

use super::tree::{Edge, Hierarchy};
use crate::{Error, Result};

/// Parses an edge list; `source` names the input in error messages (`"<source>: line N: ..."`).
pub fn parse_edges(text: &str, source: &str) -> Result<Hierarchy> {
    let mut edges = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or("");
        let tokens: Vec<&str> = content.split_whitespace().collect();
        match tokens.len() {
            0 => continue,
            2 => edges.push(Edge {
                parent: tokens[0].to_string(),
                child: tokens[1].to_string(),
                location: format!("line {}", i + 1),
            }),
            n => {
                return Err(Error::invalid(format!(
                    "{source}: line {}: expected two names `parent child`, found {n}: '{}'",
                    i + 1,
                    line.trim()
                )))
            }
        }
    }
    Hierarchy::from_edges(source, &edges)
}

/// Parses the nested JSON format; `source` names the input in error messages, which give the
/// JSON path of the offending node (e.g. `/children/2/children/0`).
pub fn parse_json(text: &str, source: &str) -> Result<Hierarchy> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::invalid(format!("{source}: not valid JSON: {e}")))?;
    let mut edges = Vec::new();
    let mut seen = std::collections::HashMap::new();
    let root = node_name(&value, "/", source)?;
    seen.insert(root.to_string(), "/".to_string());
    collect_json(&value, "", source, &mut edges, &mut seen)?;
    let h = Hierarchy::from_edges(source, &edges)?;
    match value.get("classes") {
        None => Ok(h),
        Some(Value::Array(items)) => {
            let classes = items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        Error::invalid(format!("{source}: /classes/{i}: expected a string"))
                    })
                })
                .collect::<Result<Vec<String>>>()?;
            h.with_class_order(&classes)
        }
        Some(_) => Err(Error::invalid(format!(
            "{source}: /classes: expected an array of class names"
        ))),
    }
}

fn node_name<'a>(v: &'a Value, path: &str, source: &str) -> Result<&'a str> {
    let obj = v.as_object().ok_or_else(|| {
        Error::invalid(format!(
            "{source}: {path}: expected an object {{\"name\": ..., \"children\": [...]}}"
        ))
    })?;
    match obj.get("name") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(Error::invalid(format!("{source}: {path}: empty name"))),
        Some(_) => Err(Error::invalid(format!(
            "{source}: {path}: \"name\" must be a string"
        ))),
        None => Err(Error::invalid(format!(
            "{source}: {path}: missing \"name\""
        ))),
    }
}

fn collect_json(
    v: &Value,
    path: &str,
    source: &str,
    edges: &mut Vec<Edge>,
    seen: &mut std::collections::HashMap<String, String>,
) -> Result<()> {
    let here = if path.is_empty() { "/" } else { path };
    let name = node_name(v, here, source)?;
    let children = match v.get("children") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(Error::invalid(format!(
                "{source}: {here}: \"children\" of '{name}' must be an array"
            )))
        }
    };
    for (i, c) in children.iter().enumerate() {
        let cpath = format!("{path}/children/{i}");
        let cname = node_name(c, &cpath, source)?;
        if let Some(prev) = seen.insert(cname.to_string(), cpath.clone()) {
            return Err(Error::invalid(format!(
                "{source}: {cpath}: node '{cname}' appears twice (also at {prev}): \
                 a node can have only one parent and a class can appear only once"
            )));
        }
        edges.push(Edge {
            parent: name.to_string(),
            child: cname.to_string(),
            location: cpath.clone(),
        });
        collect_json(c, &cpath, source, edges, seen)?;
    }
    Ok(())
}

/// Reads a hierarchy file: JSON when the extension is `.json` or the content starts with `{`,
/// otherwise an edge list. Errors name the file.
pub fn read_file(path: &Path) -> Result<Hierarchy> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let source = path.display().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    if matches!(ext.as_deref(), Some("dot") | Some("gv")) {
        return Err(Error::format(
            path,
            "Graphviz files can be written but not read; use an edge list or nested JSON",
        ));
    }
    if ext.as_deref() == Some("json") || text.trim_start().starts_with('{') {
        parse_json(&text, &source)
    } else {
        parse_edges(&text, &source)
    }
}

/// Writes the edge list: internal edges in pre-order, then the leaf edges in class order.
/// Fails when a name contains whitespace or `#`, which the format cannot hold.
pub fn write_edges(h: &Hierarchy) -> Result<String> {
    for n in 0..h.num_nodes() {
        let name = h.name(n);
        if name.chars().any(|c| c.is_whitespace() || c == '#') {
            return Err(Error::invalid(format!(
                "{}: node '{name}' contains whitespace or '#', which an edge list cannot hold; \
                 write JSON instead",
                h.source()
            )));
        }
    }
    let mut out = String::new();
    for (p, c) in h.edges() {
        if !h.is_leaf(c) {
            out.push_str(&format!("{} {}\n", h.name(p), h.name(c)));
        }
    }
    for c in 0..h.num_classes() {
        let v = h.class_node(c);
        let p = h.parent(v).expect("a class has a parent");
        out.push_str(&format!("{} {}\n", h.name(p), h.name(v)));
    }
    Ok(out)
}

/// Writes the nested JSON format (2-space indent), with a `"classes"` array on the root when
/// the class order differs from the order of the leaves in the document.
pub fn write_json(h: &Hierarchy) -> String {
    let mut out = String::new();
    let mut doc_leaves = Vec::new();
    json_node(h, h.root(), 0, &mut out, &mut doc_leaves, true);
    let in_order = doc_leaves
        .iter()
        .enumerate()
        .all(|(i, &n)| h.node_class(n) == Some(i));
    if !in_order {
        // Insert the class list after the root's opening brace.
        let names: Vec<String> = h.class_names().iter().map(|s| quote(s)).collect();
        let line = format!("{{\n  \"classes\": [{}],", names.join(", "));
        out.replace_range(0..1, &line);
    }
    out.push('\n');
    out
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

fn json_node(
    h: &Hierarchy,
    n: usize,
    indent: usize,
    out: &mut String,
    leaves: &mut Vec<usize>,
    first_line: bool,
) {
    let pad = "  ".repeat(indent);
    if !first_line {
        out.push_str(&pad);
    }
    if h.is_leaf(n) {
        leaves.push(n);
        out.push_str(&format!("{{\"name\": {}}}", quote(h.name(n))));
        return;
    }
    out.push_str(&format!(
        "{{\n{pad}  \"name\": {},\n{pad}  \"children\": [\n",
        quote(h.name(n))
    ));
    let ch = h.children(n);
    for (i, &c) in ch.iter().enumerate() {
        json_node(h, c, indent + 2, out, leaves, false);
        out.push_str(if i + 1 < ch.len() { ",\n" } else { "\n" });
    }
    out.push_str(&format!("{pad}  ]\n{pad}}}"));
}

/// Writes a Graphviz digraph: internal nodes as ellipses, classes as boxes labelled with
/// their class index.
pub fn write_dot(h: &Hierarchy) -> String {
    let mut out = String::from("digraph hierarchy {\n  rankdir=TB;\n");
    for n in 0..h.num_nodes() {
        match h.node_class(n) {
            Some(c) => out.push_str(&format!(
                "  {} [shape=box, label={}];\n",
                quote(h.name(n)),
                quote(&format!("{} ({c})", h.name(n)))
            )),
            None => out.push_str(&format!("  {} [shape=ellipse];\n", quote(h.name(n)))),
        }
    }
    for (p, c) in h.edges() {
        out.push_str(&format!(
            "  {} -> {};\n",
            quote(h.name(p)),
            quote(h.name(c))
        ));
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "# a comment\nroot x  # trailing comment\nx a\n\nx b\nroot c\n";

    #[test]
    fn edge_list_with_comments_and_blank_lines() {
        let h = parse_edges(SMALL, "small.txt").unwrap();
        assert_eq!(h.class_names(), vec!["a", "b", "c"]);
        assert_eq!(h.num_nodes(), 5);
    }

    #[test]
    fn edge_list_errors_name_the_line() {
        let e = parse_edges("root a\nroot b c\n", "f.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("f.txt: line 2: expected two names"), "{e}");
        let e = parse_edges("root a\nroot b\nb a\n", "f.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("f.txt: line 3: node 'a' has two parents"), "{e}");
        let e = parse_edges("root a\nroot a\n", "f.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2: duplicate node 'a'"), "{e}");
        let e = parse_edges("# nothing\n", "f.txt").unwrap_err().to_string();
        assert!(e.contains("no edges"), "{e}");
    }

    #[test]
    fn json_reader_and_errors() {
        let h = parse_json(
            r#"{"name": "root", "children": [{"name": "x", "children": [{"name": "a"}, {"name": "b", "children": []}]}, {"name": "c"}]}"#,
            "t.json",
        )
        .unwrap();
        assert_eq!(h.class_names(), vec!["a", "b", "c"]);
        assert_eq!(h.distance(0, 2), 2);
        let e = parse_json(
            r#"{"name": "r", "children": [{"name": "a"}, {"name": "x", "children": [{"name": "a"}]}]}"#,
            "t.json",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("/children/1/children/0: node 'a' appears twice (also at /children/0)"),
            "{e}"
        );
        let e = parse_json(r#"{"name": "r", "children": [{"nom": "a"}]}"#, "t.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/children/0: missing \"name\""), "{e}");
        let e = parse_json(r#"{"name": "r", "children": [{"name": "r"}]}"#, "t.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("node 'r' appears twice (also at /)"), "{e}");
        let e = parse_json("{", "t.json").unwrap_err().to_string();
        assert!(e.contains("t.json: not valid JSON"), "{e}");
    }

    #[test]
    fn writers_round_trip_with_class_order() {
        let h = parse_edges(SMALL, "s")
            .unwrap()
            .with_class_order(&["c", "b", "a"])
            .unwrap();
        let edges = write_edges(&h).unwrap();
        assert_eq!(edges, "root x\nroot c\nx b\nx a\n");
        let json = write_json(&h);
        assert!(
            json.contains("\"classes\": [\"c\", \"b\", \"a\"]"),
            "{json}"
        );
        let back = parse_json(&json, "j").unwrap();
        assert_eq!(back.class_names(), vec!["c", "b", "a"]);
        assert_eq!(write_edges(&back).unwrap(), edges);
        let again = parse_edges(&edges, "e").unwrap();
        assert_eq!(again.class_names(), vec!["c", "b", "a"]);
        assert_eq!(again.distance_matrix(), h.distance_matrix());
        // Document order = class order: no "classes" key.
        let plain = write_json(&parse_edges(SMALL, "s").unwrap());
        assert!(!plain.contains("classes"), "{plain}");
        let dot = write_dot(&h);
        assert!(
            dot.contains("\"x\" -> \"a\";") && dot.contains("\"c\" [shape=box, label=\"c (0)\"]")
        );
    }

    #[test]
    fn names_an_edge_list_cannot_hold_are_refused() {
        let h = parse_json(r#"{"name": "r", "children": [{"name": "a b"}]}"#, "j").unwrap();
        let e = write_edges(&h).unwrap_err().to_string();
        assert!(e.contains("node 'a b' contains whitespace"), "{e}");
    }
}
