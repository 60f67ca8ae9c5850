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
                    "{source}: line {}: expected two names `parent child` separated by \
                     whitespace, found {n}: '{}'{}",
                    i + 1,
                    line.trim(),
                    if line.contains([',', ';']) {
                        " (a comma or semicolon is part of a name, not a separator)"
                    } else {
                        ""
                    }
                )))
            }
        }
    }
    Hierarchy::from_edges(source, &edges)
}

/// Parses the nested JSON format; `source` names the input in error messages, which give the
/// JSON path of the offending node (e.g. `/children/2/children/0`).
///
/// The parser is iterative (a small one of its own rather than serde_json, whose recursion
/// limit of 128 levels refuses deep trees): any depth is read, in memory linear in the
/// document's size. Keys other than `name`, `children` and the root's `classes` are skipped.
pub fn parse_json(text: &str, source: &str) -> Result<Hierarchy> {
    let doc = json::parse(text, source)?;
    let edges: Vec<Edge> = (1..doc.nodes.len())
        .map(|i| {
            let n = &doc.nodes[i];
            let p = n.parent.expect("every node but the root has a parent");
            Edge {
                parent: doc.nodes[p].name.clone(),
                child: n.name.clone(),
                location: format!("line {}, column {}", n.line, n.column),
            }
        })
        .collect();
    let h = Hierarchy::from_edges(source, &edges)?;
    match doc.classes {
        None => Ok(h),
        Some(classes) => h.with_class_order(&classes),
    }
}

/// The iterative reader of the nested JSON format.
mod json {
    use crate::{Error, Result};
    use std::collections::HashMap;

    /// One `{"name": ..., "children": [...]}` object, in document order (a pre-order).
    pub(super) struct Node {
        pub name: String,
        pub parent: Option<usize>,
        /// Position among its parent's children.
        pub index: usize,
        pub line: usize,
        pub column: usize,
        has_name: bool,
        name_is_string: bool,
        /// `children` was present but not an array (or null).
        bad_children: bool,
        saw_children: bool,
    }

    pub(super) struct Doc {
        pub nodes: Vec<Node>,
        pub classes: Option<Vec<String>>,
    }

    /// Where the reader is inside the object of a node.
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        /// After `{`: a key or `}`.
        ObjectStart,
        /// After a member: `,` or `}`.
        AfterMember,
        /// After `"children": [`: a child or `]`.
        ArrayStart,
        /// After a child: `,` or `]`.
        AfterChild,
    }

    /// An object still open: its node, where the reader is inside it, and how many
    /// children it has so far.
    #[derive(Clone, Copy)]
    struct Frame {
        node: usize,
        state: State,
        children: usize,
    }

    struct Lexer<'a> {
        s: &'a [u8],
        i: usize,
        source: &'a str,
    }

    impl Lexer<'_> {
        /// "not valid JSON" at the current position, with serde_json's wording of where.
        fn syntax(&self, what: &str) -> Error {
            let (line, column) = line_column(self.s, self.i);
            Error::invalid(format!(
                "{}: not valid JSON: {what} at line {line} column {column}",
                self.source
            ))
        }

        fn ws(&mut self) {
            while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            }
        }

        fn peek(&mut self) -> Option<u8> {
            self.ws();
            self.s.get(self.i).copied()
        }

        fn eat(&mut self, c: u8) -> bool {
            if self.peek() == Some(c) {
                self.i += 1;
                true
            } else {
                false
            }
        }

        fn expect(&mut self, c: u8) -> Result<()> {
            if self.eat(c) {
                Ok(())
            } else if self.i >= self.s.len() {
                Err(self.syntax("EOF while parsing"))
            } else {
                Err(self.syntax(&format!("expected '{}'", c as char)))
            }
        }

        fn hex4(&mut self) -> Result<u32> {
            let digits = self
                .s
                .get(self.i..self.i + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .ok_or_else(|| self.syntax("invalid \\u escape"))?;
            self.i += 4;
            Ok(digits)
        }

        /// A string (the opening quote next), escapes decoded.
        fn string(&mut self) -> Result<String> {
            if self.peek() != Some(b'"') {
                return Err(self.syntax("expected a string"));
            }
            self.i += 1;
            let mut out = String::new();
            loop {
                let start = self.i;
                while self.i < self.s.len() && !matches!(self.s[self.i], b'"' | b'\\' | 0..=0x1f) {
                    self.i += 1;
                }
                // The input is a &str, and the run stops at an ASCII byte: valid UTF-8.
                out.push_str(std::str::from_utf8(&self.s[start..self.i]).expect("UTF-8"));
                match self.s.get(self.i) {
                    None => return Err(self.syntax("EOF while parsing a string")),
                    Some(b'"') => {
                        self.i += 1;
                        return Ok(out);
                    }
                    Some(b'\\') => {
                        self.i += 1;
                        let c = self.s.get(self.i).copied();
                        self.i += 1;
                        match c {
                            Some(b'"') => out.push('"'),
                            Some(b'\\') => out.push('\\'),
                            Some(b'/') => out.push('/'),
                            Some(b'b') => out.push('\u{8}'),
                            Some(b'f') => out.push('\u{c}'),
                            Some(b'n') => out.push('\n'),
                            Some(b'r') => out.push('\r'),
                            Some(b't') => out.push('\t'),
                            Some(b'u') => {
                                let hi = self.hex4()?;
                                let code = if (0xD800..0xDC00).contains(&hi) {
                                    if self.s.get(self.i..self.i + 2) != Some(b"\\u") {
                                        return Err(self.syntax("lone leading surrogate"));
                                    }
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    if !(0xDC00..0xE000).contains(&lo) {
                                        return Err(self.syntax("invalid surrogate pair"));
                                    }
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    hi
                                };
                                out.push(
                                    char::from_u32(code)
                                        .ok_or_else(|| self.syntax("invalid \\u escape"))?,
                                );
                            }
                            _ => return Err(self.syntax("invalid escape")),
                        }
                    }
                    Some(_) => return Err(self.syntax("control character in a string")),
                }
            }
        }

        /// A number, `true`, `false` or `null`; returns whether it was `null`.
        fn scalar(&mut self) -> Result<bool> {
            self.ws();
            for (word, null) in [("true", false), ("false", false), ("null", true)] {
                if self.s[self.i..].starts_with(word.as_bytes()) {
                    self.i += word.len();
                    return Ok(null);
                }
            }
            let start = self.i;
            self.eat_byte(b'-');
            if !self.digits() {
                self.i = start;
                return Err(self.syntax(if start >= self.s.len() {
                    "EOF while parsing a value"
                } else {
                    "expected value"
                }));
            }
            if self.eat_byte(b'.') && !self.digits() {
                return Err(self.syntax("invalid number"));
            }
            if self.eat_byte(b'e') || self.eat_byte(b'E') {
                let _ = self.eat_byte(b'+') || self.eat_byte(b'-');
                if !self.digits() {
                    return Err(self.syntax("invalid number"));
                }
            }
            Ok(false)
        }

        fn eat_byte(&mut self, c: u8) -> bool {
            if self.s.get(self.i) == Some(&c) {
                self.i += 1;
                true
            } else {
                false
            }
        }

        fn digits(&mut self) -> bool {
            let start = self.i;
            while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                self.i += 1;
            }
            self.i > start
        }

        /// Skips one value of any kind and depth, without recursion.
        fn skip_value(&mut self) -> Result<()> {
            let mut open: Vec<u8> = Vec::new();
            loop {
                match self.peek() {
                    Some(b'{') => {
                        self.i += 1;
                        if !self.eat(b'}') {
                            open.push(b'}');
                            self.string()?;
                            self.expect(b':')?;
                            continue;
                        }
                    }
                    Some(b'[') => {
                        self.i += 1;
                        if !self.eat(b']') {
                            open.push(b']');
                            continue;
                        }
                    }
                    Some(b'"') => {
                        self.string()?;
                    }
                    _ => {
                        self.scalar()?;
                    }
                }
                // After a value: close what ends here, or go on to the next item.
                loop {
                    let Some(&close) = open.last() else {
                        return Ok(());
                    };
                    if self.eat(b',') {
                        if close == b'}' {
                            self.string()?;
                            self.expect(b':')?;
                        }
                        break;
                    }
                    self.expect(close)?;
                    open.pop();
                }
            }
        }
    }

    /// Line and column of byte offsets given in increasing order, each found by scanning
    /// only the bytes since the last one: linear in the document however many nodes it has
    /// (a fresh scan from the start for every node was quadratic: minutes for a 100,000-deep
    /// chain).
    struct Lines {
        at: usize,
        line: usize,
        line_start: usize,
    }

    impl Lines {
        fn new() -> Lines {
            Lines {
                at: 0,
                line: 1,
                line_start: 0,
            }
        }

        fn line_column(&mut self, s: &[u8], at: usize) -> (usize, usize) {
            let at = at.min(s.len());
            if at < self.at {
                return line_column(s, at);
            }
            for (k, &c) in s[self.at..at].iter().enumerate() {
                if c == b'\n' {
                    self.line += 1;
                    self.line_start = self.at + k + 1;
                }
            }
            self.at = at;
            (self.line, at - self.line_start + 1)
        }
    }

    fn line_column(s: &[u8], at: usize) -> (usize, usize) {
        let at = at.min(s.len());
        let line = 1 + s[..at].iter().filter(|&&c| c == b'\n').count();
        let start = s[..at]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1);
        (line, at - start + 1)
    }

    /// The JSON path of node `n` (`/`, `/children/2/children/0`, ...); for a node deeper
    /// than 32 levels, its first and last 8 steps around the count of those left out.
    pub(super) fn path(nodes: &[Node], n: usize) -> String {
        let mut steps = Vec::new();
        let mut m = n;
        while let Some(p) = nodes[m].parent {
            steps.push(nodes[m].index);
            m = p;
        }
        steps.reverse();
        if steps.is_empty() {
            return "/".into();
        }
        let step = |i: &usize| format!("/children/{i}");
        if steps.len() <= 32 {
            return steps.iter().map(step).collect();
        }
        let head: String = steps[..8].iter().map(step).collect();
        let tail: String = steps[steps.len() - 8..].iter().map(step).collect();
        format!("{head}/...({} more levels)...{tail}", steps.len() - 16)
    }

    /// The byte that opens a JSON object.
    const OPEN_OBJECT: u8 = b'{';

    /// What a child, or the root, must be.
    const NOT_OBJECT: &str = "expected an object {\"name\": ..., \"children\": [...]}";

    /// Reads the nested JSON format into its nodes in document order (a pre-order), without
    /// recursion: the objects still open are a stack of [`Frame`]s, and each turn of the loop
    /// reads one member of the innermost object or one element of its `children`.
    pub(super) fn parse(text: &str, source: &str) -> Result<Doc> {
        let mut reader = Reader {
            lx: Lexer {
                s: text.as_bytes(),
                i: 0,
                source,
            },
            lines: Lines::new(),
            nodes: Vec::new(),
            classes: None,
            stack: Vec::new(),
        };
        reader.expect_root_object()?;
        reader.open_node(None, 0);
        while let Some(&top) = reader.stack.last() {
            match top.state {
                State::ObjectStart | State::AfterMember => reader.object_step(top)?,
                State::ArrayStart | State::AfterChild => reader.array_step(top)?,
            }
        }
        if reader.lx.peek().is_some() {
            return Err(reader.lx.syntax("trailing characters"));
        }
        check_unique_names(&reader.nodes, source)?;
        Ok(Doc {
            nodes: reader.nodes,
            classes: reader.classes,
        })
    }

    /// The iterative reader: the lexer, the nodes read so far, the root's `classes`, and the
    /// stack of the objects still open (innermost last).
    struct Reader<'a> {
        lx: Lexer<'a>,
        lines: Lines,
        nodes: Vec<Node>,
        classes: Option<Vec<String>>,
        stack: Vec<Frame>,
    }

    impl Reader<'_> {
        /// The document must start with `{`; an empty one is a syntax error, any other value
        /// is skipped (to report a syntax error in it first) and refused at `/`.
        fn expect_root_object(&mut self) -> Result<()> {
            match self.lx.peek() {
                Some(OPEN_OBJECT) => Ok(()),
                None => Err(self.lx.syntax("EOF while parsing a value")),
                Some(_) => {
                    self.lx.skip_value()?;
                    Err(Error::invalid(format!(
                        "{}: /: {NOT_OBJECT}",
                        self.lx.source
                    )))
                }
            }
        }

        /// Consumes the `{` of a node object (the `index`-th child of `parent`), records the
        /// node with its line and column, and opens its frame.
        fn open_node(&mut self, parent: Option<usize>, index: usize) {
            let (line, column) = self.lines.line_column(self.lx.s, self.lx.i);
            self.lx.i += 1; // the opening brace
            self.nodes.push(Node {
                name: String::new(),
                parent,
                index,
                line,
                column,
                has_name: false,
                name_is_string: true,
                bad_children: false,
                saw_children: false,
            });
            self.stack.push(Frame {
                node: self.nodes.len() - 1,
                state: State::ObjectStart,
                children: 0,
            });
        }

        /// The innermost open frame.
        fn top(&mut self) -> &mut Frame {
            self.stack.last_mut().expect("a frame is open")
        }

        /// The error "`{source}: {path of node n}: {msg}`".
        fn node_error(&self, n: usize, msg: &str) -> Error {
            Error::invalid(format!(
                "{}: {}: {msg}",
                self.lx.source,
                path(&self.nodes, n)
            ))
        }

        /// Whether another item of a list ending in `close` follows: at the `first` item,
        /// anything but `close` (which is consumed); after an item, a `,` (else `close` must
        /// come).
        fn next_item(&mut self, first: bool, close: u8) -> Result<bool> {
            if first {
                Ok(!self.lx.eat(close))
            } else if self.lx.eat(b',') {
                Ok(true)
            } else {
                self.lx.expect(close)?;
                Ok(false)
            }
        }

        /// One step inside the object of node `top.node`: its next member, or, at its `}`,
        /// the checks of the complete node and the closing of its frame.
        fn object_step(&mut self, top: Frame) -> Result<()> {
            let n = top.node;
            if !self.next_item(top.state == State::ObjectStart, b'}')? {
                self.close_node(n)?;
                self.stack.pop();
                return Ok(());
            }
            self.top().state = State::AfterMember;
            let key = self.lx.string()?;
            self.lx.expect(b':')?;
            match key.as_str() {
                "name" => self.read_name(n),
                "children" => self.read_children_start(n),
                "classes" if n == 0 => {
                    let source = self.lx.source;
                    self.classes = Some(class_list(&mut self.lx, source)?);
                    Ok(())
                }
                _ => self.lx.skip_value(),
            }
        }

        /// The checks of a complete node object: a `name` that is a non-empty string, and
        /// `children` (when given) an array or null.
        fn close_node(&self, n: usize) -> Result<()> {
            let node = &self.nodes[n];
            if !node.name_is_string {
                return Err(self.node_error(n, "\"name\" must be a string"));
            }
            if !node.has_name {
                return Err(self.node_error(n, "missing \"name\""));
            }
            if node.name.is_empty() {
                return Err(self.node_error(n, "empty name"));
            }
            if node.bad_children {
                let msg = format!("\"children\" of '{}' must be an array", node.name);
                return Err(self.node_error(n, &msg));
            }
            Ok(())
        }

        /// The value of `"name"` of node `n`: kept when it is a string, else skipped and
        /// marked (refused when the object closes); a second `"name"` is an error.
        fn read_name(&mut self, n: usize) -> Result<()> {
            if self.nodes[n].has_name {
                return Err(self.node_error(n, "\"name\" given twice"));
            }
            let node = &mut self.nodes[n];
            node.has_name = true;
            if self.lx.peek() == Some(b'"') {
                node.name = self.lx.string()?;
                node.name_is_string = true;
            } else {
                node.name_is_string = false;
                self.lx.skip_value()?;
            }
            Ok(())
        }

        /// The value of `"children"` of node `n`: an array opens (its elements are read by
        /// [`Self::array_step`]), `null` is a leaf, anything else is skipped and marked
        /// (refused when the object closes); a second `"children"` is an error.
        fn read_children_start(&mut self, n: usize) -> Result<()> {
            if self.nodes[n].saw_children {
                return Err(self.node_error(n, "\"children\" given twice"));
            }
            self.nodes[n].saw_children = true;
            if self.lx.eat(b'[') {
                self.top().state = State::ArrayStart;
            } else if self.lx.scalar_or_skip()? {
                // null: a leaf
            } else {
                self.nodes[n].bad_children = true;
            }
            Ok(())
        }

        /// One step inside the `children` array of node `top.node`: the next child object is
        /// opened, or, at the `]`, the reader goes back to the node's members. A child that
        /// is not an object is skipped and refused, naming its path.
        fn array_step(&mut self, top: Frame) -> Result<()> {
            let n = top.node;
            if !self.next_item(top.state == State::ArrayStart, b']')? {
                self.top().state = State::AfterMember;
                return Ok(());
            }
            let index = top.children;
            let frame = self.top();
            frame.state = State::AfterChild;
            frame.children += 1;
            if self.lx.peek() != Some(OPEN_OBJECT) {
                self.lx.skip_value()?;
                let p = path(&self.nodes, n);
                let here = if p == "/" { String::new() } else { p };
                return Err(Error::invalid(format!(
                    "{}: {here}/children/{index}: {NOT_OBJECT}",
                    self.lx.source
                )));
            }
            self.open_node(Some(n), index);
            Ok(())
        }
    }

    /// Each node name once (a node has one parent, a class appears once); the error names
    /// both places of a repeated name.
    fn check_unique_names(nodes: &[Node], source: &str) -> Result<()> {
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            if let Some(prev) = seen.insert(node.name.as_str(), i) {
                return Err(Error::invalid(format!(
                    "{source}: {}: node '{}' appears twice (also at {}): a node can have only \
                     one parent and a class can appear only once",
                    path(nodes, i),
                    node.name,
                    path(nodes, prev)
                )));
            }
        }
        Ok(())
    }

    impl Lexer<'_> {
        /// After `"children":` that is not an array: `Ok(true)` for `null` (consumed), else
        /// the value is skipped and `Ok(false)`.
        fn scalar_or_skip(&mut self) -> Result<bool> {
            if self.s[self.i..].starts_with(b"null") {
                self.i += 4;
                return Ok(true);
            }
            self.skip_value()?;
            Ok(false)
        }
    }

    /// The root's `"classes": [...]`: an array of strings.
    fn class_list(lx: &mut Lexer, source: &str) -> Result<Vec<String>> {
        if !lx.eat(b'[') {
            lx.skip_value()?;
            return Err(Error::invalid(format!(
                "{source}: /classes: expected an array of class names"
            )));
        }
        let mut out = Vec::new();
        if lx.eat(b']') {
            return Ok(out);
        }
        loop {
            if lx.peek() != Some(b'"') {
                return Err(Error::invalid(format!(
                    "{source}: /classes/{}: expected a string",
                    out.len()
                )));
            }
            out.push(lx.string()?);
            if lx.eat(b',') {
                continue;
            }
            lx.expect(b']')?;
            return Ok(out);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// `Lines` gives what a scan from the start gives, for increasing offsets (and for
        /// one that goes back), on text with empty lines and no final newline.
        #[test]
        fn incremental_lines_match_a_full_scan() {
            let s = b"{\n  \"a\": 1,\n\n  \"b\": [2,\n3]}";
            let mut lines = Lines::new();
            for at in [0, 1, 2, 5, 12, 13, 14, 20, s.len(), s.len() + 5] {
                assert_eq!(lines.line_column(s, at), line_column(s, at), "at {at}");
            }
            assert_eq!(line_column(s, 14), (4, 2));
            assert_eq!(lines.line_column(s, 3), (2, 2));
        }
    }
}

/// Reads a hierarchy file: JSON when the extension is `.json` or the content starts with `{`,
/// otherwise an edge list. Errors name the file.
pub fn read_file(path: &Path) -> Result<Hierarchy> {
    let text = crate::io::read_text(path)?;
    // A byte-order mark (some Windows editors write one) is not part of the first name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
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
        parse_json(text, &source)
    } else {
        parse_edges(text, &source)
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

/// Deepest indentation [`write_json`] writes: 64 spaces (16 levels). Deeper nodes are
/// written at that indentation, so that the output of a deep tree stays linear in its size
/// (a 100,000-deep chain is about 35 MB, where unbounded indentation made 40 GB);
/// [`parse_json`] reads any depth.
const MAX_INDENT: usize = 64;

/// Writes the nested JSON format (2-space indent, capped at [`MAX_INDENT`] spaces), with a
/// `"classes"` array on the root when the class order differs from the order of the leaves
/// in the document. Iterative: any depth is written.
pub fn write_json(h: &Hierarchy) -> String {
    let mut out = String::new();
    let mut doc_leaves = Vec::new();
    json_tree(h, &mut out, &mut doc_leaves);
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

/// What is left to write of the document, innermost last.
enum Task {
    /// A node's object, at an indentation of `indent` levels (2 spaces each).
    Open { node: usize, indent: usize },
    /// What follows a child: `,\n`, or `\n` after the last one.
    After { last: bool },
    /// The end of a node's children list and object.
    Close { indent: usize },
}

/// Writes the tree rooted at `h.root()`, without recursion; `leaves` gets the leaves in
/// document order.
fn json_tree(h: &Hierarchy, out: &mut String, leaves: &mut Vec<usize>) {
    let pad = |indent: usize| " ".repeat((2 * indent).min(MAX_INDENT));
    let mut tasks = vec![Task::Open {
        node: h.root(),
        indent: 0,
    }];
    while let Some(task) = tasks.pop() {
        match task {
            Task::Open { node, indent } => {
                let pad = pad(indent);
                if node != h.root() {
                    out.push_str(&pad);
                }
                if h.is_leaf(node) {
                    leaves.push(node);
                    out.push_str(&format!("{{\"name\": {}}}", quote(h.name(node))));
                    continue;
                }
                out.push_str(&format!(
                    "{{\n{pad}  \"name\": {},\n{pad}  \"children\": [\n",
                    quote(h.name(node))
                ));
                tasks.push(Task::Close { indent });
                let ch = h.children(node);
                for (i, &c) in ch.iter().enumerate().rev() {
                    tasks.push(Task::After {
                        last: i + 1 == ch.len(),
                    });
                    tasks.push(Task::Open {
                        node: c,
                        indent: indent + 2,
                    });
                }
            }
            Task::After { last } => out.push_str(if last { "\n" } else { ",\n" }),
            Task::Close { indent } => {
                let pad = pad(indent);
                out.push_str(&format!("{pad}  ]\n{pad}}}"));
            }
        }
    }
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
        // A member twice in one node: refused, not the last one kept.
        for (member, json) in [
            (
                "name",
                r#"{"name": "r", "children": [{"name": "a", "name": "b"}]}"#,
            ),
            (
                "children",
                r#"{"name": "r", "children": [{"name": "a"}], "children": []}"#,
            ),
        ] {
            let e = parse_json(json, "t.json").unwrap_err().to_string();
            assert!(e.contains(&format!("\"{member}\" given twice")), "{e}");
        }
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

    /// `n0 n1\nn1 n2\n...`: a chain `depth` edges deep.
    fn chain(depth: usize) -> String {
        (0..depth).map(|i| format!("n{i} n{}\n", i + 1)).collect()
    }

    /// Deep trees written by `write_json` are read back (serde_json's default limit of 128
    /// levels refused anything 64 or more nodes deep), and the output is linear in size.
    #[test]
    fn deep_json_round_trips() {
        for depth in [64, 1000, 100_000] {
            let h = parse_edges(&chain(depth), "chain").unwrap();
            let json = write_json(&h);
            assert!(
                json.len() < 400 * (depth + 1),
                "{depth}: {} bytes",
                json.len()
            );
            let back = parse_json(&json, "deep.json").unwrap();
            assert_eq!(back.max_depth(), depth);
            assert_eq!(write_edges(&back).unwrap(), write_edges(&h).unwrap());
        }
        // Hand-written, no whitespace, 200,000 levels, other keys skipped at every level.
        let depth = 200_000;
        let mut text = String::new();
        for i in 0..depth {
            text.push_str(&format!(
                "{{\"name\":\"n{i}\",\"x\":[1,{{\"y\":null}}],\"children\":["
            ));
        }
        text.push_str("{\"name\":\"leaf\"}");
        for _ in 0..depth {
            text.push_str("]}");
        }
        let h = parse_json(&text, "hand.json").unwrap();
        assert_eq!(
            (h.max_depth(), h.class_names()),
            (depth, vec!["leaf".to_string()])
        );
    }

    #[test]
    fn json_syntax_and_deep_errors() {
        for bad in [
            "",
            "{\"name\": \"r\", \"children\": [{\"name\": \"a\"}]",
            "{\"name\": \"r\", \"children\": [{\"name\": \"a\"},]}",
            "{\"name\": \"r\"} x",
            "{\"name\": \"r\", \"x\": [1, 2}",
            "{\"name\": \"r\\q\"}",
            "{\"name\": \"r\", \"x\": tru}",
        ] {
            let e = parse_json(bad, "t.json").unwrap_err().to_string();
            assert!(e.contains("t.json: not valid JSON"), "{bad:?}: {e}");
        }
        // Escapes are decoded.
        let h = parse_json(
            r#"{"name": "r\u00e9", "children": [{"name": "a\"b"}, {"name": "\ud83d\ude00"}]}"#,
            "t.json",
        )
        .unwrap();
        assert_eq!(h.class_names(), vec!["a\"b", "\u{1f600}"]);
        assert_eq!(h.name(h.root()), "ré");
        let e = parse_json(r#"{"name": 3}"#, "t.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.json: /: \"name\" must be a string"), "{e}");
        let e = parse_json(r#"{"name": "r", "children": {"name": "a"}}"#, "t.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/: \"children\" of 'r' must be an array"), "{e}");
        let e = parse_json(r#"{"name": "r", "children": ["a"]}"#, "t.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/children/0: expected an object"), "{e}");
        let e = parse_json(
            r#"{"name": "r", "classes": "a", "children": [{"name": "a"}]}"#,
            "t.json",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("/classes: expected an array of class names"),
            "{e}"
        );
        // A duplicate 100 levels down: the path is shortened, not 100 steps long.
        let mut h = parse_edges(&chain(100), "c").unwrap();
        h = parse_json(&write_json(&h), "c").unwrap();
        let json = write_json(&h).replace("\"n100\"", "\"n3\"");
        let e = parse_json(&json, "d.json").unwrap_err().to_string();
        assert!(
            e.contains("d.json: /children/0/children/0/children/0/children/0/children/0/children/0/children/0/children/0/...(84 more levels)...")
                && e.contains("node 'n3' appears twice (also at /children/0/children/0/children/0)"),
            "{e}"
        );
    }
}
