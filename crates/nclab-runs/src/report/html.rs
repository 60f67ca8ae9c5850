//! `index.html`: one self-contained page that works offline (inline CSS and JavaScript, no
//! external file, no network) showing every table and figure of the report. Figures are inline
//! SVG where their SVG is given (hover titles on the points, and condition toggles that hide a
//! condition's lines in every inline SVG), else their PNG; each with links to its SVG and PNG
//! files and a short description. Tables with class `sortable` sort by clicking a header.

/// A figure written as `<stem>.png` and `<stem>.svg`.
#[derive(Debug, Clone)]
pub struct FigureEntry {
    pub stem: String,
    pub caption: String,
    /// The SVG's text, to show the figure inline (else the PNG is shown).
    pub svg: Option<String>,
}

/// A condition's checkbox in the toggle bar: id (its SVG class `cond-<id>`), name, colour.
#[derive(Debug, Clone)]
pub struct Toggle {
    pub id: String,
    pub name: String,
    pub colour: String,
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
    table_with(header, rows, "")
}

/// [`table`] with a class (`sortable`: sorted by clicking a header, numbers by a cell's
/// `data-v` attribute when it has one).
pub fn table_with(header: &[String], rows: &[Vec<String>], class: &str) -> String {
    let mut s = if class.is_empty() {
        String::from("<table>\n<thead><tr>")
    } else {
        format!("<table class=\"{class}\">\n<thead><tr>")
    };
    for h in header {
        s.push_str(&format!("<th>{h}</th>"));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            if c.starts_with("<td") {
                s.push_str(c);
            } else {
                s.push_str(&format!("<td>{c}</td>"));
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>\n");
    s
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:1380px;\
margin:1.5em auto;padding:0 10px;color:#111;line-height:1.45}\
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;font-size:0.85em;margin:1em 0;display:block;overflow-x:auto}\
th,td{border:1px solid #bbb;padding:3px 7px;text-align:left;white-space:nowrap}\
th{background:#eee}figure{margin:1.5em 0}img{max-width:100%;border:1px solid #ddd}\
figcaption{font-size:0.9em;color:#333;margin-top:0.3em}code{background:#f3f3f3;padding:0 3px}\
.warn{color:#8a4b00}\
table.sortable th{cursor:pointer}table.sortable th[data-dir=asc]::after{content:' \\25B2'}\
table.sortable th[data-dir=desc]::after{content:' \\25BC'}\
table.decision{display:table;table-layout:fixed;width:100%;font-size:0.76em}\
table.decision th,table.decision td{white-space:normal;padding:2px 3px;vertical-align:top;\
overflow-wrap:anywhere}table.decision th:first-child{width:8.5em}\
table.decision .ci{color:#444}table.decision .q{color:#444;font-size:0.92em}\
table.decision tr.base td{background:#f6f6f6;color:#333}\
td.sig.better{background:#d6e6f5}td.sig.worse{background:#fbdcc0}td.sig.differs{background:#e4e4e4}\
.key span{padding:0 4px;margin-right:6px}.key .better{background:#d6e6f5}.key .worse{background:#fbdcc0}\
.key .differs{background:#e4e4e4}\
.toggles{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid #ccc;\
padding:4px 0;font-size:0.85em}.toggles label{margin-right:12px;white-space:nowrap}\
.toggles .sw{display:inline-block;width:12px;height:12px;margin:0 3px -1px 2px;border:1px solid #555}\
.svgwrap svg{max-width:100%;height:auto;border:1px solid #ddd}\
.thumbs{display:flex;flex-wrap:wrap;gap:8px}.thumbs a{display:block;width:220px;font-size:0.8em;\
text-decoration:none;color:#222}.thumbs img{width:220px}";

/// The page's script: sortable tables and the condition toggles. Inline, no library.
const SCRIPT: &str = "(function(){\n\
function key(td){var v=td.getAttribute('data-v');\
if(v!==null&&v!==''&&!isNaN(Number(v)))return Number(v);return null;}\n\
document.querySelectorAll('table.sortable').forEach(function(t){\
var ths=t.tHead.rows[0].cells;\
Array.prototype.forEach.call(ths,function(th,i){th.addEventListener('click',function(){\
var asc=th.getAttribute('data-dir')!=='asc';\
Array.prototype.forEach.call(ths,function(o){o.removeAttribute('data-dir');});\
th.setAttribute('data-dir',asc?'asc':'desc');\
var tb=t.tBodies[0];var rows=Array.prototype.slice.call(tb.rows);\
rows.sort(function(a,b){var x=key(a.cells[i]),y=key(b.cells[i]);\
if(x===null&&y===null){var s=a.cells[i].textContent.localeCompare(b.cells[i].textContent);\
return asc?s:-s;}if(x===null)return 1;if(y===null)return -1;return asc?x-y:y-x;});\
rows.forEach(function(r){tb.appendChild(r);});});});});\n\
document.querySelectorAll('input.cond-toggle').forEach(function(cb){\
cb.addEventListener('change',function(){\
document.querySelectorAll('svg .cond-'+cb.value).forEach(function(el){\
el.style.display=cb.checked?'':'none';});});});\n\
})();\n";

/// An SVG document as inline HTML: without its XML namespace (implied in HTML) or XML
/// declaration.
pub fn inline_svg(svg: &str) -> String {
    let body = match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    };
    body.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
}

/// The whole page. `blocks` are (heading, HTML body) pairs shown before the figure sections;
/// `toggles` the conditions of the toggle bar above the figures (none: no bar).
pub fn page(
    title: &str,
    preface: &str,
    blocks: &[(String, String)],
    sections: &[Section],
    toggles: &[Toggle],
) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width\">\n\
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
    if !toggles.is_empty() && !sections.is_empty() {
        s.push_str(
            "<div class=\"toggles\" id=\"toggles\"><b>Conditions shown in the figures:</b> ",
        );
        for t in toggles {
            s.push_str(&format!(
                "<label><input type=\"checkbox\" class=\"cond-toggle\" value=\"{}\" checked>\
                 <span class=\"sw\" style=\"background:{}\"></span>{}</label>",
                escape(&t.id),
                escape(&t.colour),
                escape(&t.name)
            ));
        }
        s.push_str(
            " <span style=\"color:#555\">(hides a condition's lines in the inline figures; hover \
             a point for its value)</span></div>\n",
        );
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
            let body = match &f.svg {
                Some(svg) => format!("<div class=\"svgwrap\">{}</div>", inline_svg(svg)),
                None => format!(
                    "<a href=\"{stem}.svg\"><img src=\"{stem}.png\" alt=\"{}\" \
                     loading=\"lazy\"></a>",
                    escape(&f.caption)
                ),
            };
            s.push_str(&format!(
                "<figure id=\"{stem}\">\n{body}\n<figcaption>{} <a href=\"{stem}.svg\">SVG</a> · \
                 <a href=\"{stem}.png\">PNG</a></figcaption>\n</figure>\n",
                escape(&f.caption)
            ));
        }
    }
    s.push_str(&format!("<script>\n{SCRIPT}</script>\n</body>\n</html>\n"));
    s
}

/// A grid of small PNGs, each linking to its full figure on the page (`#<stem>`).
pub fn thumbnails(figures: &[&FigureEntry]) -> String {
    let mut s = String::from("<div class=\"thumbs\">\n");
    for f in figures {
        let stem = escape(&f.stem);
        let short = f.caption.split(':').next().unwrap_or(&f.caption);
        s.push_str(&format!(
            "<a href=\"#{stem}\"><img src=\"{stem}.png\" alt=\"{}\" loading=\"lazy\">{}</a>\n",
            escape(&f.caption),
            escape(short)
        ));
    }
    s.push_str("</div>\n");
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
                figures: vec![
                    FigureEntry {
                        stem: "curve-nc1".into(),
                        caption: "c".into(),
                        svg: None,
                    },
                    FigureEntry {
                        stem: "curve-nc2".into(),
                        caption: "d".into(),
                        svg: Some(
                            "<svg width=\"1\" xmlns=\"http://www.w3.org/2000/svg\">\n</svg>\n"
                                .into(),
                        ),
                    },
                ],
            }],
            &[Toggle {
                id: "c1".into(),
                name: "ce".into(),
                colour: "#000000".into(),
            }],
        );
        let mut files = referenced_files(&html);
        files.sort();
        files.dedup();
        assert_eq!(
            files,
            vec![
                "curve-nc1.png",
                "curve-nc1.svg",
                "curve-nc2.png",
                "curve-nc2.svg"
            ]
        );
        // The second figure is inline, without the namespace URL; the script is inline.
        assert!(html.contains("<div class=\"svgwrap\"><svg width=\"1\">"));
        assert!(!html.contains("http"));
        assert!(html.contains("value=\"c1\" checked"));
        assert!(html.contains("<script>\n(function(){"));
    }
}
