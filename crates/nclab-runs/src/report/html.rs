//! `index.html`: one self-contained page (inline CSS, no script, no network) that shows every
//! table and figure of the report, each figure as its PNG with a link to the SVG and a short
//! description under it.

/// A figure written as `<stem>.png` and `<stem>.svg`.
#[derive(Debug, Clone)]
pub struct FigureEntry {
    pub stem: String,
    pub caption: String,
}

/// A titled group of figures.
#[derive(Debug, Clone)]
pub struct Section {
    pub title: String,
    pub intro: String,
    pub figures: Vec<FigureEntry>,
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An HTML table from a header and rows of already-escaped cells.
pub fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table>\n<thead><tr>");
    for h in header {
        s.push_str(&format!("<th>{h}</th>"));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            s.push_str(&format!("<td>{c}</td>"));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>\n");
    s
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:1200px;\
margin:2em auto;padding:0 1em;color:#111;line-height:1.45}\
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;font-size:0.85em;margin:1em 0;display:block;overflow-x:auto}\
th,td{border:1px solid #bbb;padding:3px 7px;text-align:left;white-space:nowrap}\
th{background:#eee}figure{margin:1.5em 0}img{max-width:100%;border:1px solid #ddd}\
figcaption{font-size:0.9em;color:#333;margin-top:0.3em}code{background:#f3f3f3;padding:0 3px}\
.warn{color:#8a4b00}";

/// The whole page. `blocks` are (heading, HTML body) pairs shown before the figure sections.
pub fn page(
    title: &str,
    preface: &str,
    blocks: &[(String, String)],
    sections: &[Section],
) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n{preface}\n",
        escape(title),
        escape(title)
    );
    s.push_str("<nav><ul>\n");
    let titles = blocks
        .iter()
        .map(|(h, _)| h.as_str())
        .chain(sections.iter().map(|sec| sec.title.as_str()));
    for t in titles {
        s.push_str(&format!(
            "<li><a href=\"#{}\">{}</a></li>\n",
            anchor(t),
            escape(t)
        ));
    }
    s.push_str("</ul></nav>\n");
    for (h, body) in blocks {
        s.push_str(&format!(
            "<h2 id=\"{}\">{}</h2>\n{body}\n",
            anchor(h),
            escape(h)
        ));
    }
    for sec in sections {
        s.push_str(&format!(
            "<h2 id=\"{}\">{}</h2>\n<p>{}</p>\n",
            anchor(&sec.title),
            escape(&sec.title),
            escape(&sec.intro)
        ));
        for f in &sec.figures {
            let stem = escape(&f.stem);
            s.push_str(&format!(
                "<figure id=\"{stem}\">\n<a href=\"{stem}.svg\"><img src=\"{stem}.png\" \
                 alt=\"{}\"></a>\n<figcaption>{} <a href=\"{stem}.svg\">SVG</a> · \
                 <a href=\"{stem}.png\">PNG</a></figcaption>\n</figure>\n",
                escape(&f.caption),
                escape(&f.caption)
            ));
        }
    }
    s.push_str("</body>\n</html>\n");
    s
}

/// An id for a heading: lower-case letters and digits, other runs of characters as `-`.
pub fn anchor(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Every `src="..."` and `href="..."` target of a page that is not an in-page anchor.
pub fn referenced_files(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            let target = &rest[..end];
            if !target.starts_with('#') {
                out.push(target.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn anchors_and_references() {
        assert_eq!(
            anchor("Metrics vs epoch (NC1-NC4)"),
            "metrics-vs-epoch-nc1-nc4"
        );
        let html = page(
            "t",
            "",
            &[],
            &[Section {
                title: "S".into(),
                intro: "i".into(),
                figures: vec![FigureEntry {
                    stem: "curve-nc1".into(),
                    caption: "c".into(),
                }],
            }],
        );
        let mut files = referenced_files(&html);
        files.sort();
        files.dedup();
        assert_eq!(files, vec!["curve-nc1.png", "curve-nc1.svg"]);
    }
}
