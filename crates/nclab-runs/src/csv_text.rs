//! CSV text, read and written through the `csv` crate: the one place where nclab decides how a
//! field is quoted and how a file's lines are split into fields (`metrics.csv`,
//! `metrics_layers.csv`, the report's tables, the CSV output of the commands).

/// One record of a CSV text: the line it starts on (counted from 1) and its fields, trimmed of
/// surrounding whitespace.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

/// The records of a CSV text, blank lines left out. Quoted fields are read as CSV (`"a,b"` is
/// one field) but may not span lines; records may have different numbers of fields, for the
/// caller to check against its header and name the line. The error (a CSV the `csv` crate
/// cannot read, which text cannot be: it is valid UTF-8 and records may differ in length) names
/// the line.
pub fn read(text: &str) -> Result<Vec<Record>, String> {
    records(text).collect()
}

/// The records of [`read`], one at a time: a long file is parsed in the memory of one record,
/// not of all of them (a caller stops at the first error).
pub fn records(text: &str) -> impl Iterator<Item = Result<Record, String>> + '_ {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut lines = LineCounter::new(text);
    let mut raw = csv::StringRecord::new();
    std::iter::from_fn(move || loop {
        match reader.read_record(&mut raw) {
            Ok(false) => return None,
            Err(e) => {
                return Some(Err(match e.position() {
                    Some(p) => format!("line {}: {e}", lines.line_at(p.byte() as usize)),
                    None => e.to_string(),
                }))
            }
            Ok(true) => {
                let line = lines.line_at(raw.position().map_or(0, |p| p.byte() as usize));
                // No file nclab reads has a field over several lines: one that does comes from
                // a quote left open, which would otherwise swallow the lines after it.
                if raw.iter().any(|f| f.contains(['\n', '\r'])) {
                    return Some(Err(format!(
                        "line {line}: a quoted field runs over several lines (a quote left open?)"
                    )));
                }
                let fields: Vec<String> = raw.iter().map(|f| f.trim().to_string()).collect();
                // A line of spaces is one field of spaces: blank, like an empty line.
                if fields.len() == 1 && fields[0].is_empty() {
                    continue;
                }
                return Some(Ok(Record { line, fields }));
            }
        }
    })
}

/// The line (counted from 1) of a record that the `csv` crate places at byte `at`.
///
/// Not the crate's own `Position::line`: it places a record that follows blank lines or a CRLF
/// at the line break before it (`"a\n\n\n1"`: the `1` on line 2, not 4; `"a\r\n1\r\n2"`:
/// the `2` on line 2), so the breaks (`\n`, `\r\n` or a lone `\r`) before the record's first
/// byte are counted here. Records come in order, so each count starts where the last ended.
struct LineCounter<'a> {
    text: &'a [u8],
    /// Bytes up to here are counted.
    counted: usize,
    /// The line at byte `counted`.
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            text: text.as_bytes(),
            counted: 0,
            line: 1,
        }
    }

    /// The line of the record placed at byte `at`: the first byte after `at` that is not a
    /// line break starts it.
    fn line_at(&mut self, at: usize) -> usize {
        let t = self.text;
        let mut start = at.max(self.counted);
        while start < t.len() && matches!(t[start], b'\r' | b'\n') {
            start += 1;
        }
        for i in self.counted..start {
            if t[i] == b'\n' || (t[i] == b'\r' && t.get(i + 1) != Some(&b'\n')) {
                self.line += 1;
            }
        }
        self.counted = start;
        self.line
    }
}

/// CSV text of `records`, each ended by `\n`; a field is quoted where it needs to be (it holds
/// a comma, a quote, CR or LF, or is the only field of its record and empty).
pub fn write<I, R, F>(records: I) -> String
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = F>,
    F: AsRef<[u8]>,
{
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for record in records {
        writer
            .write_record(record)
            .expect("writing CSV into memory does not fail");
    }
    let bytes = writer
        .into_inner()
        .expect("writing CSV into memory does not fail");
    String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8")
}

/// One CSV line (with its `\n`) of `fields`, as [`write`] writes it.
pub fn line<R, F>(fields: R) -> String
where
    R: IntoIterator<Item = F>,
    F: AsRef<[u8]>,
{
    write(std::iter::once(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_where_needed() {
        assert_eq!(line(["a=1, b=2", "plain"]), "\"a=1, b=2\",plain\n");
        assert_eq!(
            line(["say \"x\"", "a\nb", "c\rd"]),
            "\"say \"\"x\"\"\",\"a\nb\",\"c\rd\"\n"
        );
        assert_eq!(line(["", "1"]), ",1\n");
        assert_eq!(write([["a", "b"], ["1", ""]]), "a,b\n1,\n");
    }

    #[test]
    fn reading_skips_blank_lines_and_counts_every_line() {
        let r = read("epoch, nc1\n\n  \n1,\"0.5\"\r\n2,\"a,b\",x\n").unwrap();
        let lines: Vec<usize> = r.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![1, 4, 5]);
        assert_eq!(r[0].fields, vec!["epoch", "nc1"]);
        assert_eq!(r[1].fields, vec!["1", "0.5"]);
        assert_eq!(r[2].fields, vec!["2", "a,b", "x"]);
        assert!(read("").unwrap().is_empty());
    }

    #[test]
    fn lines_are_those_an_editor_shows() {
        let lines =
            |text: &str| -> Vec<usize> { read(text).unwrap().iter().map(|r| r.line).collect() };
        assert_eq!(lines("a\n\n\n1\n"), vec![1, 4]);
        assert_eq!(lines("a,b\r\n\r\n1,2\r\n3,4\r\n"), vec![1, 3, 4]);
        assert_eq!(lines("a\r1\r\n\n2"), vec![1, 2, 4]);
    }

    /// A quote left open would swallow the rest of the file into one field (the `csv` crate
    /// reads to the end without an error): refused, naming the line it opens on.
    #[test]
    fn a_field_over_several_lines_is_refused() {
        let open = "line 3: a quoted field runs over several lines (a quote left open?)";
        assert_eq!(
            read("epoch,nc1,nc2\n1,0.5,0.3\n2,0.4,\"\n").unwrap_err(),
            open
        );
        assert_eq!(read("a,b\n\n1,\"x\ny\"\n2,3\n").unwrap_err(), open);
        assert_eq!(read("a,b\n1,2\n\"3\r4\",5\n").unwrap_err(), open);
    }

    #[test]
    fn what_is_written_reads_back() {
        let rows = vec![vec!["condition", "n"], vec!["loss=hxe, alpha=0.3", "3"]];
        let back: Vec<Vec<String>> = read(&write(&rows))
            .unwrap()
            .into_iter()
            .map(|r| r.fields)
            .collect();
        assert_eq!(back, rows);
    }
}
