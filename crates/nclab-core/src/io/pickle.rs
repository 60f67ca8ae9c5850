//! A small reader for Python pickles (protocols 0-5 framing, the binary opcodes), enough for
//! the CIFAR "python version" files: a dict of byte-string keys to lists of ints, lists of
//! strings, and NumPy arrays.
//!
//! Nothing is executed: a `GLOBAL` becomes [`Value::Global`], a call (`REDUCE`, `NEWOBJ`)
//! becomes [`Value::Call`], and `BUILD` attaches its state to the call. [`Value::ndarray`]
//! then recognises NumPy's `_reconstruct` + `__setstate__` form of an array, and
//! `_codecs.encode(text, 'latin1')`, the way Python 3 pickles `bytes` at protocol 2.
//!
//! Hostile input is bounded (the reader never trusts a pickle with more than its own size
//! in memory, nor with the stack):
//! * the memo shares values ([`Rc`]) instead of copying them, so a reference (`BINGET`) costs
//!   a pointer, not a copy of what it names;
//! * the bytes built (values, their contents, and the copies made when a shared container is
//!   changed) are at most [`BUILD_FACTOR`] times the input's length plus 1 MiB;
//! * a value nests at most [`MAX_DEPTH`] containers deep, and expands (counting every shared
//!   reference as often as it is reached) to at most [`MAX_NODES`] values, so that walking it
//!   is cheap ("billion laughs" pickles, whose references double at each level, are refused);
//! * a value is dropped without recursion, however deep.
//!
//! Limitation: a container changed after it was memoised is copied on that change (the memo
//! keeps the early state), so a shared reference (`BINGET`) to a list, dict or object that was
//! filled in later reads the early state. Data pickles such as CIFAR's do not share
//! containers, so this does not arise there.

use crate::{Error, Result};
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

/// Deepest nesting of containers (lists, tuples, dicts, calls) accepted. CIFAR pickles nest
/// four levels; Python's own unpickler is bounded by its recursion limit (1,000 by default).
pub const MAX_DEPTH: usize = 1000;

/// Most values one value may expand to, counting a shared value once for every reference
/// to it (a CIFAR-100 train pickle has about 100,000).
pub const MAX_NODES: u64 = 1 << 26;

/// The bytes built while decoding are at most this many times the input's length (plus
/// 1 MiB): decoding allocates a few dozen bytes per opcode, never a multiple of what came
/// before.
pub const BUILD_FACTOR: u64 = 64;

/// A decoded pickle value. Containers share their items ([`Rc`]), as the memo does.
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
    List(Vec<Rc<Value>>),
    Tuple(Vec<Rc<Value>>),
    /// Key-value pairs in insertion order.
    Dict(Vec<(Rc<Value>, Rc<Value>)>),
    /// A reference to `module.name`.
    Global(String, String),
    /// `callable(*args)`, with the state given by `BUILD`, if any.
    Call {
        callable: Rc<Value>,
        args: Rc<Value>,
        state: Option<Rc<Value>>,
    },
}

impl Drop for Value {
    /// Drops nested values with an explicit stack instead of recursion, so that no depth of
    /// nesting can overflow the call stack.
    fn drop(&mut self) {
        let mut pending = Vec::new();
        self.take_children(&mut pending);
        while let Some(rc) = pending.pop() {
            // A value still shared elsewhere is not dropped here; a unique one gives up its
            // children first, so dropping it recurses no further.
            if let Ok(mut v) = Rc::try_unwrap(rc) {
                v.take_children(&mut pending);
            }
        }
    }
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
    /// Moves the value's children (if any) into `out`, leaving it empty.
    fn take_children(&mut self, out: &mut Vec<Rc<Value>>) {
        match self {
            Value::List(xs) | Value::Tuple(xs) => out.append(xs),
            Value::Dict(items) => {
                for (k, v) in std::mem::take(items) {
                    out.push(k);
                    out.push(v);
                }
            }
            Value::Call {
                callable,
                args,
                state,
            } => {
                let empty = || Rc::new(Value::None);
                out.push(std::mem::replace(callable, empty()));
                out.push(std::mem::replace(args, empty()));
                out.extend(state.take());
            }
            _ => {}
        }
    }

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
                    match &*a[0] {
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
                .map(|(_, v)| &**v),
            _ => None,
        }
    }

    /// The text keys of a dict (for error messages); a key that is not text is described by
    /// its kind (a key is never printed whole: it could be large).
    pub fn keys(&self) -> Vec<String> {
        match self {
            Value::Dict(items) => items
                .iter()
                .map(|(k, _)| k.as_text().unwrap_or_else(|| format!("<{}>", k.kind())))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// What kind of value this is, in a few words (`"int 7"`, `"list of 3 items"`).
    pub fn kind(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(b) => format!("bool {b}"),
            Value::Int(i) => format!("int {i}"),
            Value::Float(f) => format!("float {f}"),
            Value::Bytes(b) => format!("bytes of length {}", b.len()),
            Value::Str(s) => format!("str of length {}", s.chars().count()),
            Value::List(xs) => format!("list of {} items", xs.len()),
            Value::Tuple(xs) => format!("tuple of {} items", xs.len()),
            Value::Dict(xs) => format!("dict of {} items", xs.len()),
            Value::Global(m, n) => format!("global {m}.{n}"),
            Value::Call { .. } => "object".into(),
        }
    }

    /// A list (or tuple) of ints.
    pub fn as_ints(&self) -> Option<Vec<i64>> {
        match self {
            Value::List(xs) | Value::Tuple(xs) => xs
                .iter()
                .map(|x| match **x {
                    Value::Int(i) => Some(i),
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
        let dtype = match &*st[2] {
            Value::Call { callable, args, .. } => match (&**callable, &**args) {
                (Value::Global(_, n), Value::Tuple(a)) if n == "dtype" && !a.is_empty() => {
                    a[0].as_text()?
                }
                _ => return None,
            },
            _ => return None,
        };
        if *st[3] == Value::Bool(true) {
            return None;
        }
        let data = st[4].as_bytes()?;
        Some(NdArray { dtype, shape, data })
    }
}

/// Reads and decodes the pickle in `path` (memory-mapped: the file is not copied).
pub fn read(path: &Path) -> Result<Value> {
    let map = super::map_file(path)?;
    parse(&map).map_err(|m| Error::format(path, format!("not a readable pickle: {m}")))
}

/// Decodes a pickle held in memory; the error says which opcode at which byte failed.
pub fn parse(b: &[u8]) -> std::result::Result<Value, String> {
    let mut vm = Vm {
        b,
        i: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        built: 0,
        budget: (b.len() as u64)
            .saturating_mul(BUILD_FACTOR)
            .saturating_add(1 << 20),
    };
    let top = vm.run()?;
    drop(vm);
    // The last reference, unless the memo (now dropped) still shares it; then a shallow copy.
    Ok(Rc::try_unwrap(top.v).unwrap_or_else(|rc| (*rc).clone()))
}

/// A value on the stack or in the memo, with what the limits need to know of it.
#[derive(Clone)]
struct Item {
    v: Rc<Value>,
    /// Containers nested in it, itself included (0 for a scalar).
    depth: usize,
    /// Values it expands to, each shared reference counted as often as it is reached.
    nodes: u64,
}

impl Item {
    fn scalar(v: Value) -> Item {
        Item {
            v: Rc::new(v),
            depth: 0,
            nodes: 1,
        }
    }
}

/// Approximate heap bytes of one new value (its `Rc` box).
const VALUE_BYTES: u64 = std::mem::size_of::<Value>() as u64 + 16;

struct Vm<'a> {
    b: &'a [u8],
    i: usize,
    stack: Vec<Item>,
    marks: Vec<usize>,
    memo: HashMap<u64, Item>,
    /// Bytes built so far, and the most allowed.
    built: u64,
    budget: u64,
}

type Step = std::result::Result<(), String>;

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

    /// Counts `bytes` more against the build budget.
    fn charge(&mut self, bytes: u64, at: usize) -> Step {
        self.built = self.built.saturating_add(bytes);
        if self.built > self.budget {
            return Err(format!(
                "the values built pass {} bytes at byte {at}, more than {BUILD_FACTOR} times \
                 the {}-byte input (plus 1 MiB): a corrupt or hostile pickle",
                self.budget,
                self.b.len()
            ));
        }
        Ok(())
    }

    /// Checks the nesting and expansion limits of a value about to be pushed or grown.
    fn check(&self, item: &Item, at: usize) -> Step {
        if item.depth > MAX_DEPTH {
            return Err(format!(
                "containers nested deeper than {MAX_DEPTH} levels at byte {at} (data pickles \
                 nest a few levels): a corrupt or hostile pickle"
            ));
        }
        if item.nodes > MAX_NODES {
            return Err(format!(
                "a value at byte {at} expands to more than {MAX_NODES} values through shared \
                 references (each reference doubling the last?): a corrupt or hostile pickle"
            ));
        }
        Ok(())
    }

    fn push(&mut self, item: Item, at: usize) -> Step {
        self.charge(VALUE_BYTES + 8, at)?;
        self.check(&item, at)?;
        self.stack.push(item);
        Ok(())
    }

    fn push_scalar(&mut self, v: Value, at: usize) -> Step {
        self.push(Item::scalar(v), at)
    }

    /// Pushes a container built from `items`; `make` wraps their values.
    fn push_container(
        &mut self,
        items: Vec<Item>,
        at: usize,
        make: impl FnOnce(Vec<Rc<Value>>) -> std::result::Result<Value, String>,
    ) -> Step {
        let depth = 1 + items.iter().map(|x| x.depth).max().unwrap_or(0);
        let nodes = items.iter().fold(1u64, |a, x| a.saturating_add(x.nodes));
        self.charge(8 * items.len() as u64, at)?;
        let v = make(items.into_iter().map(|x| x.v).collect())?;
        self.push(
            Item {
                v: Rc::new(v),
                depth,
                nodes,
            },
            at,
        )
    }

    fn pop(&mut self) -> std::result::Result<Item, String> {
        self.stack
            .pop()
            .ok_or_else(|| format!("stack underflow at byte {}", self.i))
    }

    fn pop_mark(&mut self) -> std::result::Result<Vec<Item>, String> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| format!("no MARK before byte {}", self.i))?;
        if m > self.stack.len() {
            return Err(format!("MARK above the stack at byte {}", self.i));
        }
        Ok(self.stack.split_off(m))
    }

    /// The value on top of the stack, for changing it in place (copied first when it is
    /// shared, which is charged to the budget), with `added` (the items about to go in)
    /// accounted in its depth and expansion.
    fn top_mut(&mut self, added: &[Item], at: usize) -> std::result::Result<&mut Value, String> {
        let Some(top) = self.stack.last() else {
            return Err(format!("stack underflow at byte {at}"));
        };
        let mut grown = top.clone();
        for x in added {
            grown.depth = grown.depth.max(x.depth + 1);
            grown.nodes = grown.nodes.saturating_add(x.nodes);
        }
        self.check(&grown, at)?;
        let copy = if Rc::strong_count(&top.v) > 1 {
            shallow_bytes(&top.v)
        } else {
            0
        };
        self.charge(copy + 16 * added.len() as u64, at)?;
        let top = self.stack.last_mut().expect("checked above");
        top.depth = grown.depth;
        top.nodes = grown.nodes;
        Ok(Rc::make_mut(&mut top.v))
    }

    fn run(&mut self) -> std::result::Result<Item, String> {
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
                b'N' | 0x88 | 0x89 | b'J' | b'K' | b'M' | 0x8a | b'I' | b'G' => {
                    self.number(op, at)?
                }
                b'U' | b'C' | b'T' | b'B' | 0x8e | b'X' | 0x8c => self.string(op, at)?,
                b']' | b')' | b'}' | b'l' | b't' | b'd' | 0x85..=0x87 => self.container(op, at)?,
                b'a' | b'e' | b's' | b'u' => self.fill(op, at)?,
                b'q' | b'r' | 0x94 | b'h' | b'j' => self.memo_op(op, at)?,
                b'c' | 0x93 | b'R' | 0x81 | b'b' => self.object(op, at)?,
                _ => {
                    return Err(format!(
                        "unsupported opcode 0x{op:02x} at byte {at} (only the binary opcodes \
                         used by data pickles are read)"
                    ))
                }
            }
        }
    }

    /// NONE, NEWTRUE, NEWFALSE, BININT, BININT1, BININT2, LONG1, INT, BINFLOAT.
    fn number(&mut self, op: u8, at: usize) -> Step {
        let v = match op {
            b'N' => Value::None,
            0x88 => Value::Bool(true),
            0x89 => Value::Bool(false),
            b'J' => Value::Int(i32::from_le_bytes(self.take(4)?.try_into().unwrap()) as i64),
            b'K' => Value::Int(self.u8()? as i64),
            b'M' => Value::Int(u16::from_le_bytes(self.take(2)?.try_into().unwrap()) as i64),
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
                Value::Int(v)
            }
            b'I' => {
                let l = self.line()?;
                match l.as_str() {
                    "01" => Value::Bool(true),
                    "00" => Value::Bool(false),
                    s => Value::Int(
                        s.parse()
                            .map_err(|_| format!("bad INT {s:?} at byte {at}"))?,
                    ),
                }
            }
            b'G' => Value::Float(f64::from_be_bytes(self.take(8)?.try_into().unwrap())),
            _ => unreachable!("dispatched by run"),
        };
        self.push_scalar(v, at)
    }

    /// SHORT_BINSTRING, SHORT_BINBYTES, BINSTRING, BINBYTES, BINBYTES8, BINUNICODE,
    /// SHORT_BINUNICODE. The length is checked against the input before anything is copied.
    fn string(&mut self, op: u8, at: usize) -> Step {
        let n = match op {
            b'U' | b'C' | 0x8c => self.u8()? as usize,
            b'T' | b'B' | b'X' => self.u32()? as usize,
            0x8e => usize::try_from(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
                .unwrap_or(usize::MAX),
            _ => unreachable!("dispatched by run"),
        };
        let bytes = self.take(n)?;
        let v = if matches!(op, b'X' | 0x8c) {
            Value::Str(
                std::str::from_utf8(bytes)
                    .map_err(|_| format!("invalid UTF-8 string at byte {at}"))?
                    .to_string(),
            )
        } else {
            Value::Bytes(bytes.to_vec())
        };
        self.charge(n as u64, at)?;
        self.push_scalar(v, at)
    }

    /// EMPTY_LIST, EMPTY_TUPLE, EMPTY_DICT, LIST, TUPLE, DICT, TUPLE1, TUPLE2, TUPLE3.
    fn container(&mut self, op: u8, at: usize) -> Step {
        let items = match op {
            b']' | b')' | b'}' => Vec::new(),
            b'l' | b't' | b'd' => self.pop_mark()?,
            _ => {
                let n = (op - 0x84) as usize;
                if self.stack.len() < n {
                    return Err(format!("stack underflow at byte {at}"));
                }
                self.stack.split_off(self.stack.len() - n)
            }
        };
        self.push_container(items, at, |xs| {
            Ok(match op {
                b']' | b'l' => Value::List(xs),
                b'}' | b'd' => Value::Dict(pairs(xs, at)?),
                _ => Value::Tuple(xs),
            })
        })
    }

    /// APPEND, APPENDS, SETITEM, SETITEMS: into the container on top of the stack.
    fn fill(&mut self, op: u8, at: usize) -> Step {
        let items = match op {
            b'a' => vec![self.pop()?],
            b's' => {
                let v = self.pop()?;
                let k = self.pop()?;
                vec![k, v]
            }
            _ => self.pop_mark()?,
        };
        let values: Vec<Rc<Value>> = items.iter().map(|x| x.v.clone()).collect();
        let top = self.top_mut(&items, at)?;
        drop(items);
        match (op, top) {
            (b'a' | b'e', Value::List(xs)) => xs.extend(values),
            (b's' | b'u', Value::Dict(d)) => d.extend(pairs(values, at)?),
            (b'a', _) => return Err(format!("APPEND to a non-list at byte {at}")),
            (b'e', _) => return Err(format!("APPENDS to a non-list at byte {at}")),
            (b's', _) => return Err(format!("SETITEM on a non-dict at byte {at}")),
            _ => return Err(format!("SETITEMS on a non-dict at byte {at}")),
        }
        Ok(())
    }

    /// BINPUT, LONG_BINPUT, MEMOIZE (share the top of the stack), BINGET, LONG_BINGET (push
    /// a shared value: a pointer, not a copy).
    fn memo_op(&mut self, op: u8, at: usize) -> Step {
        match op {
            b'q' | b'r' | 0x94 => {
                let k = match op {
                    b'q' => self.u8()? as u64,
                    b'r' => self.u32()? as u64,
                    _ => self.memo.len() as u64,
                };
                let top = self
                    .stack
                    .last()
                    .ok_or_else(|| format!("stack underflow at byte {at}"))?
                    .clone();
                self.charge(VALUE_BYTES, at)?;
                self.memo.insert(k, top);
            }
            _ => {
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
                self.charge(8, at)?;
                self.check(&v, at)?;
                self.stack.push(v);
            }
        }
        Ok(())
    }

    /// GLOBAL, STACK_GLOBAL, REDUCE, NEWOBJ, BUILD.
    fn object(&mut self, op: u8, at: usize) -> Step {
        match op {
            b'c' => {
                let m = self.line()?;
                let n = self.line()?;
                self.push_scalar(Value::Global(m, n), at)
            }
            0x93 => {
                let n = self.pop()?.v.as_text().unwrap_or_default();
                let m = self.pop()?.v.as_text().unwrap_or_default();
                self.push_scalar(Value::Global(m, n), at)
            }
            b'R' | 0x81 => {
                let args = self.pop()?;
                let callable = self.pop()?;
                self.push_container(vec![callable, args], at, |mut xs| {
                    let args = xs.pop().expect("two items");
                    let callable = xs.pop().expect("two items");
                    Ok(Value::Call {
                        callable,
                        args,
                        state: None,
                    })
                })
            }
            _ => {
                let s = self.pop()?;
                let value = s.v.clone();
                match self.top_mut(&[s], at)? {
                    Value::Call { state, .. } => *state = Some(value),
                    _ => return Err(format!("BUILD on a non-object at byte {at}")),
                }
                Ok(())
            }
        }
    }
}

/// Heap bytes copied when a shared container is changed (its item pointers, not the items).
fn shallow_bytes(v: &Value) -> u64 {
    VALUE_BYTES
        + match v {
            Value::List(xs) | Value::Tuple(xs) => 8 * xs.len() as u64,
            Value::Dict(d) => 16 * d.len() as u64,
            Value::Bytes(b) => b.len() as u64,
            Value::Str(s) => s.len() as u64,
            _ => 0,
        }
}

fn pairs<T>(items: Vec<T>, at: usize) -> std::result::Result<Vec<(T, T)>, String> {
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
            Value::Dict(vec![(
                Rc::new(Value::Bytes(b"a".to_vec())),
                Rc::new(Value::Int(7))
            )])
        );
        let e = parse(&p[..6]).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        let e = parse(b"\x80\x02\xff.").unwrap_err();
        assert!(e.contains("unsupported opcode 0xff at byte 2"), "{e}");
        let e = parse(b"\x80\x02a.").unwrap_err();
        assert!(e.contains("stack underflow"), "{e}");
    }

    /// "Billion laughs": level i is a list of two references to level i - 1, so 40 levels
    /// (320 bytes) name 2^40 values. References are shared, not copied, and the expansion
    /// limit refuses the pickle as soon as a value would expand past MAX_NODES.
    #[test]
    fn shared_references_are_not_copied_and_expansion_is_bounded() {
        let laughs = |levels: u8| {
            let mut p = b"\x80\x02]q\x00".to_vec();
            for i in 1..=levels {
                p.extend_from_slice(&[b'(', b'h', i - 1, b'h', i - 1, b'l', b'q', i]);
            }
            p.push(b'.');
            p
        };
        let p = laughs(40);
        assert!(p.len() < 400);
        let e = parse(&p).unwrap_err();
        assert!(
            e.contains("expands to more than 67108864 values through shared references"),
            "{e}"
        );
        // 20 levels (2^20 values, 1 MiB of them if copied) parse, sharing: the two items of
        // the top list are the same allocation.
        let v = parse(&laughs(20)).unwrap();
        let Value::List(xs) = &v else { panic!("{v:?}") };
        assert_eq!(xs.len(), 2);
        assert!(Rc::ptr_eq(&xs[0], &xs[1]));
        // Read from a file (as the CIFAR loader does), the error names the file.
        let dir = nclab_testkit::scratch("pickle-laughs");
        let f = dir.join("data_batch_1");
        std::fs::write(&f, laughs(40)).unwrap();
        let e = read(&f).unwrap_err().to_string();
        assert!(e.contains("data_batch_1: not a readable pickle"), "{e}");
        assert!(e.contains("expands to more than 67108864 values"), "{e}");
    }

    /// 1,000,000 nested EMPTY_LIST/APPEND levels and 1,000,000 nested MARK/TUPLE levels
    /// (2 MB each): a clear error at the depth limit, no stack overflow.
    #[test]
    fn deep_nesting_is_refused_at_the_depth_limit() {
        let n = 1_000_000;
        let mut lists = vec![b']'; n];
        lists.extend(std::iter::repeat_n(b'a', n - 1));
        lists.push(b'.');
        let e = parse(&lists).unwrap_err();
        assert!(
            e.contains("containers nested deeper than 1000 levels at byte"),
            "{e}"
        );
        let mut tuples = vec![b'('; n];
        tuples.extend(std::iter::repeat_n(b't', n));
        tuples.push(b'.');
        let e = parse(&tuples).unwrap_err();
        assert!(e.contains("nested deeper than 1000 levels"), "{e}");
        // Exactly MAX_DEPTH levels are read; one more is not.
        let nested = |depth: usize| {
            let mut p = vec![b']'; depth];
            p.extend(std::iter::repeat_n(b'a', depth - 1));
            p.push(b'.');
            p
        };
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        assert!(parse(&nested(MAX_DEPTH + 1)).is_err());
    }

    /// Dropping a value nested far deeper than the parser allows (built by hand) does not
    /// recurse.
    #[test]
    fn deep_values_drop_without_recursion() {
        let mut v = Value::List(Vec::new());
        for _ in 0..1_000_000 {
            v = Value::List(vec![Rc::new(v)]);
        }
        drop(v);
        let mut v = Value::None;
        for i in 0..1_000_000 {
            v = Value::Call {
                callable: Rc::new(Value::Int(i)),
                args: Rc::new(v),
                state: None,
            };
        }
        drop(v);
    }

    /// Changing a shared container copies it; the copies count against the build budget, so
    /// repeating "GET the big list, APPEND to it" cannot build more than the budget allows.
    #[test]
    fn copies_of_shared_containers_are_bounded() {
        let mut p = b"\x80\x02](".to_vec();
        for _ in 0..100_000 {
            p.extend_from_slice(b"K\x01");
        }
        p.extend_from_slice(b"eq\x00");
        for _ in 0..1000 {
            p.extend_from_slice(b"h\x00K\x01a");
        }
        p.push(b'.');
        let e = parse(&p).unwrap_err();
        assert!(
            e.contains("the values built pass") && e.contains("more than 64 times"),
            "{e}"
        );
    }

    /// A key that is not text is described, not printed whole.
    #[test]
    fn keys_describe_values_that_are_not_text() {
        // {(1, 2): 3, 'a': 4}
        let v = parse(b"\x80\x02}(K\x01K\x02\x86K\x03\x8c\x01aK\x04u.").unwrap();
        assert_eq!(v.keys(), vec!["<tuple of 2 items>", "a"]);
    }
}
