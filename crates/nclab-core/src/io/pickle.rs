//! A small reader for Python pickles (protocols 0-5 framing, the binary opcodes), enough for
//! the CIFAR "python version" files: a dict of byte-string keys to lists of ints, lists of
//! strings, and NumPy arrays.
//!
//! Nothing is executed: a `GLOBAL` becomes [`Value::Global`], a call (`REDUCE`, `NEWOBJ`)
//! becomes [`Value::Call`], and `BUILD` attaches its state to the call. [`Value::ndarray`]
//! then recognises NumPy's `_reconstruct` + `__setstate__` form of an array, and
//! `_codecs.encode(text, 'latin1')`, the way Python 3 pickles `bytes` at protocol 2.
//!
//! Limitation: the memo keeps a copy of a value as it was when memoised, so a shared reference
//! (`BINGET`) to a list, dict or object that was filled in later reads the early state. Data
//! pickles such as CIFAR's do not share containers, so this does not arise there.

use crate::{Error, Result};
use std::path::Path;

/// A decoded pickle value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// `bytes` (and Python 2 `str`).
    Bytes(Vec<u8>),
    /// `str` (Python 2 `unicode`).
    Str(String),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    /// Key-value pairs in insertion order.
    Dict(Vec<(Value, Value)>),
    /// A reference to `module.name`.
    Global(String, String),
    /// `callable(*args)`, with the state given by `BUILD`, if any.
    Call {
        callable: Box<Value>,
        args: Box<Value>,
        state: Option<Box<Value>>,
    },
}

/// A NumPy array decoded from a pickle: its dtype string (`"u1"`, `"<f4"`, ...), shape, and
/// raw bytes in C order.
#[derive(Debug, Clone, PartialEq)]
pub struct NdArray {
    pub dtype: String,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl Value {
    /// The text of a `str` or `bytes` value (byte strings read as Latin-1).
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.clone()),
            Value::Bytes(b) => Some(b.iter().map(|&c| c as char).collect()),
            _ => self
                .as_bytes()
                .map(|b| b.iter().map(|&c| c as char).collect()),
        }
    }

    /// Bytes of a `bytes` value, or of `_codecs.encode(text, 'latin1')`.
    pub fn as_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Value::Bytes(b) => Some(b.clone()),
            Value::Call { callable, args, .. } => match (&**callable, &**args) {
                (Value::Global(m, n), Value::Tuple(a))
                    if m == "_codecs" && n == "encode" && !a.is_empty() =>
                {
                    match &a[0] {
                        Value::Str(s) => s
                            .chars()
                            .map(|c| u8::try_from(c as u32).ok())
                            .collect::<Option<Vec<u8>>>(),
                        _ => None,
                    }
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// The value under text key `key` of a dict whose keys are `str` or `bytes`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items
                .iter()
                .find(|(k, _)| k.as_text().as_deref() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text keys of a dict (for error messages).
    pub fn keys(&self) -> Vec<String> {
        match self {
            Value::Dict(items) => items
                .iter()
                .map(|(k, _)| k.as_text().unwrap_or_else(|| format!("{k:?}")))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A list (or tuple) of ints.
    pub fn as_ints(&self) -> Option<Vec<i64>> {
        match self {
            Value::List(xs) | Value::Tuple(xs) => xs
                .iter()
                .map(|x| match x {
                    Value::Int(i) => Some(*i),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }

    /// A NumPy array pickled as
    /// `numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')` with the `BUILD` state
    /// `(version, shape, dtype, is_fortran, raw bytes)`; `dtype` is
    /// `numpy.dtype(name, False, True)`. Fortran-ordered arrays are refused (None).
    pub fn ndarray(&self) -> Option<NdArray> {
        let Value::Call {
            callable, state, ..
        } = self
        else {
            return None;
        };
        match &**callable {
            Value::Global(m, n) if m.starts_with("numpy") && n == "_reconstruct" => {}
            _ => return None,
        }
        let Value::Tuple(st) = &**state.as_ref()? else {
            return None;
        };
        if st.len() != 5 {
            return None;
        }
        let shape = st[1]
            .as_ints()?
            .into_iter()
            .map(|d| usize::try_from(d).ok())
            .collect::<Option<Vec<_>>>()?;
        let dtype = match &st[2] {
            Value::Call { callable, args, .. } => match (&**callable, &**args) {
                (Value::Global(_, n), Value::Tuple(a)) if n == "dtype" && !a.is_empty() => {
                    a[0].as_text()?
                }
                _ => return None,
            },
            _ => return None,
        };
        if st[3] == Value::Bool(true) {
            return None;
        }
        let data = st[4].as_bytes()?;
        Some(NdArray { dtype, shape, data })
    }
}

/// Reads and decodes the pickle in `path`.
pub fn read(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(&bytes).map_err(|m| Error::format(path, format!("not a readable pickle: {m}")))
}

/// Decodes a pickle held in memory; the error says which opcode at which byte failed.
pub fn parse(b: &[u8]) -> std::result::Result<Value, String> {
    let mut vm = Vm {
        b,
        i: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: std::collections::HashMap::new(),
    };
    vm.run()
}

struct Vm<'a> {
    b: &'a [u8],
    i: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: std::collections::HashMap<u64, Value>,
}

impl Vm<'_> {
    fn take(&mut self, n: usize) -> std::result::Result<&[u8], String> {
        if self.b.len() - self.i < n {
            return Err(format!(
                "truncated: needed {n} bytes at byte {}, the data ends at {}",
                self.i,
                self.b.len()
            ));
        }
        let s = &self.b[self.i..self.i + n];
        self.i += n;
        Ok(s)
    }

    fn u8(&mut self) -> std::result::Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }

    fn line(&mut self) -> std::result::Result<String, String> {
        let start = self.i;
        while self.i < self.b.len() && self.b[self.i] != b'\n' {
            self.i += 1;
        }
        if self.i == self.b.len() {
            return Err(format!("truncated: unterminated line at byte {start}"));
        }
        let s = String::from_utf8_lossy(&self.b[start..self.i]).into_owned();
        self.i += 1;
        Ok(s)
    }

    fn pop(&mut self) -> std::result::Result<Value, String> {
        self.stack
            .pop()
            .ok_or_else(|| format!("stack underflow at byte {}", self.i))
    }

    fn pop_mark(&mut self) -> std::result::Result<Vec<Value>, String> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| format!("no MARK before byte {}", self.i))?;
        if m > self.stack.len() {
            return Err(format!("MARK above the stack at byte {}", self.i));
        }
        Ok(self.stack.split_off(m))
    }

    fn top(&mut self) -> std::result::Result<&mut Value, String> {
        let i = self.i;
        self.stack
            .last_mut()
            .ok_or_else(|| format!("stack underflow at byte {i}"))
    }

    fn run(&mut self) -> std::result::Result<Value, String> {
        loop {
            let at = self.i;
            let op = self
                .u8()
                .map_err(|_| format!("truncated: no STOP opcode (data ends at byte {at})"))?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO
                }
                0x95 => {
                    self.take(8)?; // FRAME: length, frames are read inline
                }
                b'.' => return self.pop(), // STOP
                b'(' => self.marks.push(self.stack.len()),
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'J' => {
                    let v = i32::from_le_bytes(self.take(4)?.try_into().unwrap());
                    self.stack.push(Value::Int(v as i64));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(v as i64));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.take(2)?.try_into().unwrap());
                    self.stack.push(Value::Int(v as i64));
                }
                0x8a => {
                    // LONG1: little-endian two's complement of n bytes.
                    let n = self.u8()? as usize;
                    let bytes = self.take(n)?;
                    if n > 8 {
                        return Err(format!("integer of {n} bytes at byte {at} is too large"));
                    }
                    let mut v: i64 = 0;
                    for (k, &c) in bytes.iter().enumerate() {
                        v |= (c as i64) << (8 * k);
                    }
                    if n > 0 && n < 8 && bytes[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    self.stack.push(Value::Int(v));
                }
                b'I' => {
                    let l = self.line()?;
                    let v = match l.as_str() {
                        "01" => Value::Bool(true),
                        "00" => Value::Bool(false),
                        s => Value::Int(
                            s.parse()
                                .map_err(|_| format!("bad INT {s:?} at byte {at}"))?,
                        ),
                    };
                    self.stack.push(v);
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.take(8)?.try_into().unwrap());
                    self.stack.push(Value::Float(v));
                }
                b'U' | b'C' => {
                    // SHORT_BINSTRING (py2 str) / SHORT_BINBYTES
                    let n = self.u8()? as usize;
                    let s = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(s));
                }
                b'T' | b'B' => {
                    // BINSTRING / BINBYTES
                    let n = self.u32()? as usize;
                    let s = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(s));
                }
                0x8e => {
                    // BINBYTES8
                    let n = u64::from_le_bytes(self.take(8)?.try_into().unwrap()) as usize;
                    let s = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(s));
                }
                b'X' | 0x8c => {
                    // BINUNICODE / SHORT_BINUNICODE
                    let n = if op == b'X' {
                        self.u32()? as usize
                    } else {
                        self.u8()? as usize
                    };
                    let s = String::from_utf8(self.take(n)?.to_vec())
                        .map_err(|_| format!("invalid UTF-8 string at byte {at}"))?;
                    self.stack.push(Value::Str(s));
                }
                b']' => self.stack.push(Value::List(Vec::new())),
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::List(items));
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    let pairs = pairs(items, at)?;
                    self.stack.push(Value::Dict(pairs));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        return Err(format!("stack underflow at byte {at}"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::Tuple(items));
                }
                b'a' => {
                    let v = self.pop()?;
                    match self.top()? {
                        Value::List(xs) => xs.push(v),
                        _ => return Err(format!("APPEND to a non-list at byte {at}")),
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    match self.top()? {
                        Value::List(xs) => xs.extend(items),
                        _ => return Err(format!("APPENDS to a non-list at byte {at}")),
                    }
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    match self.top()? {
                        Value::Dict(d) => d.push((k, v)),
                        _ => return Err(format!("SETITEM on a non-dict at byte {at}")),
                    }
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let p = pairs(items, at)?;
                    match self.top()? {
                        Value::Dict(d) => d.extend(p),
                        _ => return Err(format!("SETITEMS on a non-dict at byte {at}")),
                    }
                }
                b'q' => {
                    let k = self.u8()? as u64;
                    let v = self.top()?.clone();
                    self.memo.insert(k, v);
                }
                b'r' => {
                    let k = self.u32()? as u64;
                    let v = self.top()?.clone();
                    self.memo.insert(k, v);
                }
                0x94 => {
                    let k = self.memo.len() as u64;
                    let v = self.top()?.clone();
                    self.memo.insert(k, v);
                }
                b'h' | b'j' => {
                    let k = if op == b'h' {
                        self.u8()? as u64
                    } else {
                        self.u32()? as u64
                    };
                    let v = self
                        .memo
                        .get(&k)
                        .cloned()
                        .ok_or_else(|| format!("memo key {k} unknown at byte {at}"))?;
                    self.stack.push(v);
                }
                b'c' => {
                    let m = self.line()?;
                    let n = self.line()?;
                    self.stack.push(Value::Global(m, n));
                }
                0x93 => {
                    let n = self.pop()?.as_text().unwrap_or_default();
                    let m = self.pop()?.as_text().unwrap_or_default();
                    self.stack.push(Value::Global(m, n));
                }
                b'R' | 0x81 => {
                    // REDUCE / NEWOBJ
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.stack.push(Value::Call {
                        callable: Box::new(callable),
                        args: Box::new(args),
                        state: None,
                    });
                }
                b'b' => {
                    let s = self.pop()?;
                    match self.top()? {
                        Value::Call { state, .. } => *state = Some(Box::new(s)),
                        _ => return Err(format!("BUILD on a non-object at byte {at}")),
                    }
                }
                _ => {
                    return Err(format!(
                        "unsupported opcode 0x{op:02x} at byte {at} (only the binary opcodes \
                         used by data pickles are read)"
                    ))
                }
            }
        }
    }
}

fn pairs(items: Vec<Value>, at: usize) -> std::result::Result<Vec<(Value, Value)>, String> {
    if !items.len().is_multiple_of(2) {
        return Err(format!("odd number of dict items at byte {at}"));
    }
    let mut it = items.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/pickle")
            .join(name);
        read(&p).unwrap()
    }

    /// Pickles written by Python (tests/fixtures/pickle/make_fixtures.py): the dict
    /// `{b'labels': [3, 1], b'data': np.arange(12, dtype=np.uint8).reshape(2, 6),
    ///   b'names': [b'cat', b'ship'], 'x': -300000, 'y': 2.5, 'z': None, 'big': 2**40}`
    /// at protocols 2 (bytes via `_codecs.encode`) and 4 (framed, memoised).
    #[test]
    fn reads_pickles_written_by_python() {
        for name in ["p2.pkl", "p4.pkl"] {
            let v = fixture(name);
            assert_eq!(
                v.get("labels").unwrap().as_ints(),
                Some(vec![3, 1]),
                "{name}"
            );
            let a = v.get("data").unwrap().ndarray().unwrap();
            assert_eq!(a.dtype, "u1", "{name}");
            assert_eq!(a.shape, vec![2, 6]);
            assert_eq!(a.data, (0..12).collect::<Vec<u8>>());
            let names = match v.get("names").unwrap() {
                Value::List(xs) => xs.iter().map(|x| x.as_text().unwrap()).collect::<Vec<_>>(),
                other => panic!("{other:?}"),
            };
            assert_eq!(names, vec!["cat", "ship"]);
            assert_eq!(v.get("x"), Some(&Value::Int(-300000)));
            assert_eq!(v.get("y"), Some(&Value::Float(2.5)));
            assert_eq!(v.get("z"), Some(&Value::None));
            assert_eq!(v.get("big"), Some(&Value::Int(1 << 40)));
        }
    }

    #[test]
    fn python2_style_binstring_and_errors() {
        // Python 2's cPickle, protocol 2: PROTO 2, EMPTY_DICT, BINPUT 0, MARK,
        // SHORT_BINSTRING 'a', BININT1 7, SETITEMS, STOP -> {'a': 7}
        let p = b"\x80\x02}q\x00(U\x01aK\x07u.";
        assert_eq!(
            parse(p).unwrap(),
            Value::Dict(vec![(Value::Bytes(b"a".to_vec()), Value::Int(7))])
        );
        let e = parse(&p[..6]).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        let e = parse(b"\x80\x02\xff.").unwrap_err();
        assert!(e.contains("unsupported opcode 0xff at byte 2"), "{e}");
        let e = parse(b"\x80\x02a.").unwrap_err();
        assert!(e.contains("stack underflow"), "{e}");
    }
}
