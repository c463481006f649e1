//! A safe reader for Python pickles of numpy arrays (the course's `mnist.pkl.gz`).
//!
//! Python's own unpickler runs whatever functions a file names, so a pickle is a program,
//! not data. This reader is not: it interprets only the opcodes that pickles of numpy
//! arrays use, and builds values only from the few globals such pickles name:
//!
//! | global | role |
//! | --- | --- |
//! | `numpy.core.multiarray._reconstruct`, `numpy._core.multiarray._reconstruct` | empty array, filled by BUILD (protocols 2–4) |
//! | `numpy.ndarray` | argument of `_reconstruct` |
//! | `numpy.dtype` | element type, byte order set by BUILD |
//! | `_codecs.encode` | Python 3 bytes under protocol 2 (`encode(str, 'latin1')`) |
//! | `numpy.core.numeric._frombuffer`, `numpy._core.numeric._frombuffer` | array from a BYTEARRAY8 (protocol 5) |
//!
//! Any other global (`os.system`, `builtins.eval`, …) is refused with an error naming it:
//! nothing is ever called, imported or executed.
//!
//! Both Python 2 strings (SHORT_BINSTRING/BINSTRING, read as latin-1 bytes) and Python 3
//! bytes (SHORT_BINBYTES, BINBYTES, BINBYTES8, BYTEARRAY8) are understood, with numpy 1.x
//! (`numpy.core`) and 2.x (`numpy._core`) module names, little- and big-endian dtypes, C and
//! Fortran order.
//!
//! Memory: every length read from the file is checked against what is left of the input
//! before anything is allocated; an array's shape must describe exactly the bytes that
//! follow it; large byte strings are borrowed from the input, not copied. Values nest at
//! most [`MAX_DEPTH`] tuples deep, so hostile input cannot exhaust the stack either.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

/// Deepest nesting of tuples accepted (the course's layout needs 3).
pub const MAX_DEPTH: usize = 32;

/// What went wrong, and at which byte of the (decompressed) pickle.
#[derive(Debug, Clone, PartialEq)]
pub struct PickleError {
    /// Byte offset of the opcode being read when the error was found.
    pub offset: usize,
    pub kind: PickleErrorKind,
}

/// The kinds of [`PickleError`].
#[derive(Debug, Clone, PartialEq)]
pub enum PickleErrorKind {
    /// The input does not start like a pickle of protocol 2 to 5.
    NotAPickle,
    /// The input ends in the middle of an opcode or before STOP.
    Truncated,
    /// A global outside the allow-list, named `module.name`.
    ForbiddenGlobal(String),
    /// An opcode numpy-array pickles never use.
    UnsupportedOpcode(u8),
    /// Anything else that does not make sense.
    Malformed(String),
}

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            PickleErrorKind::NotAPickle => write!(
                f,
                "not a pickle of protocol 2 to 5 (those start with byte 0x80); expected a \
                 Python pickle such as the course's mnist.pkl (or mnist.pkl.gz, gzip'd)"
            ),
            PickleErrorKind::Truncated => write!(
                f,
                "the pickle ends early, at byte {}: the file is truncated; copy or download it again",
                self.offset
            ),
            PickleErrorKind::ForbiddenGlobal(name) => write!(
                f,
                "refused to load the Python global `{name}` (byte {}): this reader only builds \
                 numpy arrays and never runs code from a file; a pickle that names `{name}` is \
                 not a plain data file and may be malicious",
                self.offset
            ),
            PickleErrorKind::UnsupportedOpcode(op) => write!(
                f,
                "pickle opcode 0x{op:02x} at byte {} is not one that pickles of numpy arrays use; \
                 expected tuples of numpy arrays as the course's mnist.pkl.gz holds",
                self.offset
            ),
            PickleErrorKind::Malformed(msg) => write!(f, "malformed pickle at byte {}: {msg}", self.offset),
        }
    }
}

impl std::error::Error for PickleError {}

/// Kind of the elements of a numpy array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Float,
    Int,
    UInt,
    Bool,
}

/// A numpy element type: kind, size in bytes and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dtype {
    pub kind: Kind,
    pub size: usize,
    pub big_endian: bool,
}

impl Dtype {
    /// Parses numpy's type strings: `f4`, `<f8`, `>i8`, `|u1`, `b1`, ….
    pub fn parse(code: &str) -> Option<Dtype> {
        let (big_endian, rest) = match code.as_bytes().first()? {
            b'<' | b'|' | b'=' => (false, &code[1..]),
            b'>' => (true, &code[1..]),
            _ => (false, code),
        };
        let (kind, size) = match rest {
            "f4" => (Kind::Float, 4),
            "f8" => (Kind::Float, 8),
            "i1" => (Kind::Int, 1),
            "i2" => (Kind::Int, 2),
            "i4" => (Kind::Int, 4),
            "i8" => (Kind::Int, 8),
            "u1" => (Kind::UInt, 1),
            "u2" => (Kind::UInt, 2),
            "u4" => (Kind::UInt, 4),
            "u8" => (Kind::UInt, 8),
            "b1" => (Kind::Bool, 1),
            _ => return None,
        };
        Some(Dtype {
            kind,
            size,
            big_endian,
        })
    }

    /// numpy's name of the type, e.g. `<f4`.
    pub fn name(&self) -> String {
        let order = if self.size == 1 {
            '|'
        } else if self.big_endian {
            '>'
        } else {
            '<'
        };
        let kind = match self.kind {
            Kind::Float => 'f',
            Kind::Int => 'i',
            Kind::UInt => 'u',
            Kind::Bool => 'b',
        };
        format!("{order}{kind}{}", self.size)
    }

    /// Reads one element from exactly `self.size` bytes, as f64.
    pub fn read_f64(&self, b: &[u8]) -> f64 {
        macro_rules! rd {
            ($t:ty, $n:expr) => {{
                let mut a = [0u8; $n];
                a.copy_from_slice(&b[..$n]);
                if self.big_endian {
                    <$t>::from_be_bytes(a) as f64
                } else {
                    <$t>::from_le_bytes(a) as f64
                }
            }};
        }
        match (self.kind, self.size) {
            (Kind::Float, 4) => rd!(f32, 4),
            (Kind::Float, 8) => rd!(f64, 8),
            (Kind::Int, 1) => b[0] as i8 as f64,
            (Kind::Int, 2) => rd!(i16, 2),
            (Kind::Int, 4) => rd!(i32, 4),
            (Kind::Int, 8) => rd!(i64, 8),
            (Kind::UInt, 1) | (Kind::Bool, 1) => b[0] as f64,
            (Kind::UInt, 2) => rd!(u16, 2),
            (Kind::UInt, 4) => rd!(u32, 4),
            (Kind::UInt, 8) => rd!(u64, 8),
            _ => f64::NAN,
        }
    }

    /// Reads one integer element (None for floats); u64 above i64::MAX gives None.
    pub fn read_i64(&self, b: &[u8]) -> Option<i64> {
        match self.kind {
            Kind::Float => None,
            Kind::UInt if self.size == 8 => {
                let mut a = [0u8; 8];
                a.copy_from_slice(&b[..8]);
                let v = if self.big_endian {
                    u64::from_be_bytes(a)
                } else {
                    u64::from_le_bytes(a)
                };
                i64::try_from(v).ok()
            }
            // Every other integer type fits an f64 exactly.
            _ => Some(self.read_f64(b) as i64),
        }
    }
}

/// A numpy array as stored in the pickle: raw bytes plus how to read them.
#[derive(Debug, Clone, PartialEq)]
pub struct NdArray<'a> {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    /// True when stored in Fortran (column-major) order.
    pub fortran_order: bool,
    data: Cow<'a, [u8]>,
}

impl<'a> NdArray<'a> {
    /// Checks that `shape` describes exactly `data` and builds the array.
    fn new(
        dtype: Dtype,
        shape: Vec<usize>,
        fortran_order: bool,
        data: Cow<'a, [u8]>,
    ) -> Result<Self, String> {
        let n = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .and_then(|n| n.checked_mul(dtype.size));
        match n {
            Some(n) if n == data.len() => Ok(NdArray {
                dtype,
                shape,
                fortran_order,
                data,
            }),
            _ => Err(format!(
                "array of shape {:?} and type {} needs {} bytes but its data has {}",
                shape,
                dtype.name(),
                n.map_or("too many".to_string(), |n| n.to_string()),
                data.len()
            )),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len() / self.dtype.size
    }

    /// True when the array holds no element.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Storage offset (in elements) of the element at `index` (one entry per dimension).
    ///
    /// # Panics
    /// If `index` has the wrong length or is out of bounds.
    pub fn offset(&self, index: &[usize]) -> usize {
        assert_eq!(index.len(), self.shape.len(), "one index per dimension");
        let mut off = 0;
        let mut stride = 1;
        let dims: Box<dyn Iterator<Item = (&usize, &usize)>> = if self.fortran_order {
            Box::new(index.iter().zip(&self.shape))
        } else {
            Box::new(index.iter().zip(&self.shape).rev())
        };
        for (&i, &d) in dims {
            assert!(i < d, "index out of bounds");
            off += i * stride;
            stride *= d;
        }
        off
    }

    /// The element at storage offset `off`, as f64.
    #[inline]
    pub fn f64_at(&self, off: usize) -> f64 {
        let s = self.dtype.size;
        self.dtype.read_f64(&self.data[off * s..off * s + s])
    }

    /// The element at storage offset `off` as an integer; None for float arrays.
    #[inline]
    pub fn i64_at(&self, off: usize) -> Option<i64> {
        let s = self.dtype.size;
        self.dtype.read_i64(&self.data[off * s..off * s + s])
    }
}

/// A value read from a pickle.
#[derive(Debug, Clone, PartialEq)]
pub enum Object<'a> {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A Python 3 `str`.
    Text(String),
    /// Python 3 `bytes`/`bytearray`, or a Python 2 `str`.
    Bytes(Cow<'a, [u8]>),
    Tuple(Vec<Object<'a>>),
    Array(NdArray<'a>),
    Dtype(Dtype),
}

impl Object<'_> {
    /// Short description for error messages ("a tuple of 2", "a <f4 array of shape [3, 784]").
    pub fn describe(&self) -> String {
        match self {
            Object::None => "None".into(),
            Object::Bool(_) => "a bool".into(),
            Object::Int(_) => "an int".into(),
            Object::Float(_) => "a float".into(),
            Object::Text(_) => "a str".into(),
            Object::Bytes(_) => "a bytes string".into(),
            Object::Tuple(t) => format!("a tuple of {}", t.len()),
            Object::Array(a) => format!("a {} array of shape {:?}", a.dtype.name(), a.shape),
            Object::Dtype(d) => format!("the dtype {}", d.name()),
        }
    }
}

/// Reads one pickle (protocol 2 to 5) of numpy arrays, tuples and scalars.
///
/// Large byte strings in the result borrow from `input`.
pub fn parse(input: &[u8]) -> Result<Object<'_>, PickleError> {
    Machine::new(input).run()
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Global {
    Reconstruct,
    NdArrayType,
    DtypeType,
    CodecsEncode,
    FromBuffer,
}

/// An array object: empty after `_reconstruct`, filled in place by BUILD, as in Python
/// (the memo may hold it, and BUILD must be seen through the memo).
#[derive(Debug)]
enum ArrayState<'a> {
    Empty,
    Built(NdArray<'a>),
}

type Buf<'a> = Rc<Cow<'a, [u8]>>;

#[derive(Debug, Clone)]
enum Value<'a> {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(Rc<str>),
    Bytes(Buf<'a>),
    /// Items and nesting depth.
    Tuple(Rc<Vec<Value<'a>>>, usize),
    Global(Global),
    Dtype(Rc<RefCell<Dtype>>),
    Array(Rc<RefCell<ArrayState<'a>>>),
}

impl Value<'_> {
    fn depth(&self) -> usize {
        match self {
            Value::Tuple(_, d) => *d,
            _ => 0,
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "a bool",
            Value::Int(_) => "an int",
            Value::Float(_) => "a float",
            Value::Text(_) => "a str",
            Value::Bytes(_) => "a bytes string",
            Value::Tuple(..) => "a tuple",
            Value::Global(_) => "a global",
            Value::Dtype(_) => "a dtype",
            Value::Array(_) => "an array",
        }
    }
}

mod op {
    pub const MARK: u8 = b'(';
    pub const STOP: u8 = b'.';
    pub const POP: u8 = b'0';
    pub const POP_MARK: u8 = b'1';
    pub const DUP: u8 = b'2';
    pub const BINFLOAT: u8 = b'G';
    pub const BININT: u8 = b'J';
    pub const BININT1: u8 = b'K';
    pub const BININT2: u8 = b'M';
    pub const NONE: u8 = b'N';
    pub const REDUCE: u8 = b'R';
    pub const BINSTRING: u8 = b'T';
    pub const SHORT_BINSTRING: u8 = b'U';
    pub const BINUNICODE: u8 = b'X';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const BINGET: u8 = b'h';
    pub const LONG_BINGET: u8 = b'j';
    pub const BINPUT: u8 = b'q';
    pub const LONG_BINPUT: u8 = b'r';
    pub const TUPLE: u8 = b't';
    pub const BUILD: u8 = b'b';
    pub const GLOBAL: u8 = b'c';
    pub const PROTO: u8 = 0x80;
    pub const TUPLE1: u8 = 0x85;
    pub const TUPLE2: u8 = 0x86;
    pub const TUPLE3: u8 = 0x87;
    pub const NEWTRUE: u8 = 0x88;
    pub const NEWFALSE: u8 = 0x89;
    pub const LONG1: u8 = 0x8a;
    pub const BINBYTES: u8 = b'B';
    pub const SHORT_BINBYTES: u8 = b'C';
    pub const SHORT_BINUNICODE: u8 = 0x8c;
    pub const BINUNICODE8: u8 = 0x8d;
    pub const BINBYTES8: u8 = 0x8e;
    pub const STACK_GLOBAL: u8 = 0x93;
    pub const MEMOIZE: u8 = 0x94;
    pub const FRAME: u8 = 0x95;
    pub const BYTEARRAY8: u8 = 0x96;
    pub const NEXT_BUFFER: u8 = 0x97;
    pub const READONLY_BUFFER: u8 = 0x98;
}

struct Machine<'a> {
    input: &'a [u8],
    pos: usize,
    /// Offset of the opcode being executed, for error messages.
    at: usize,
    stack: Vec<Value<'a>>,
    marks: Vec<usize>,
    memo: HashMap<u64, Value<'a>>,
}

type Res<T> = Result<T, PickleError>;

impl<'a> Machine<'a> {
    fn new(input: &'a [u8]) -> Self {
        Machine {
            input,
            pos: 0,
            at: 0,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
        }
    }

    fn err<T>(&self, kind: PickleErrorKind) -> Res<T> {
        Err(PickleError {
            offset: self.at,
            kind,
        })
    }

    fn malformed<T>(&self, msg: impl Into<String>) -> Res<T> {
        self.err(PickleErrorKind::Malformed(msg.into()))
    }

    /// Takes `n` bytes, checking first that they are there.
    fn take(&mut self, n: usize) -> Res<&'a [u8]> {
        if n > self.input.len() - self.pos {
            return Err(PickleError {
                offset: self.input.len(),
                kind: PickleErrorKind::Truncated,
            });
        }
        let s = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Res<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Res<u16> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    fn u32(&mut self) -> Res<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> Res<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    /// Takes a byte string whose length field says `len`.
    fn take_len(&mut self, len: u64) -> Res<&'a [u8]> {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        self.take(len)
    }

    /// A text line ending in `\n` (GLOBAL's arguments), at most 256 bytes.
    fn line(&mut self) -> Res<&'a str> {
        let rest = &self.input[self.pos..];
        let Some(end) = rest.iter().take(256).position(|&b| b == b'\n') else {
            if rest.len() < 256 {
                return Err(PickleError {
                    offset: self.input.len(),
                    kind: PickleErrorKind::Truncated,
                });
            }
            return self.malformed("a GLOBAL name longer than 256 bytes");
        };
        let s = &rest[..end];
        self.pos += end + 1;
        match std::str::from_utf8(s) {
            Ok(s) => Ok(s),
            Err(_) => self.malformed("a GLOBAL name that is not text"),
        }
    }

    fn push(&mut self, v: Value<'a>) {
        self.stack.push(v);
    }

    fn pop(&mut self) -> Res<Value<'a>> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return self.malformed("the stack is empty where a value was expected");
        }
        Ok(self.stack.pop().expect("checked above"))
    }

    fn pop_mark(&mut self) -> Res<Vec<Value<'a>>> {
        let Some(m) = self.marks.pop() else {
            return self.malformed("no MARK before an opcode that needs one");
        };
        Ok(self.stack.split_off(m))
    }

    fn tuple(&self, items: Vec<Value<'a>>) -> Res<Value<'a>> {
        let depth = 1 + items.iter().map(Value::depth).max().unwrap_or(0);
        if depth > MAX_DEPTH {
            return self.malformed(format!("tuples nested more than {MAX_DEPTH} deep"));
        }
        Ok(Value::Tuple(Rc::new(items), depth))
    }

    fn bytes(&self, b: &'a [u8]) -> Value<'a> {
        Value::Bytes(Rc::new(Cow::Borrowed(b)))
    }

    fn text(&self, b: &'a [u8]) -> Res<Value<'a>> {
        match std::str::from_utf8(b) {
            Ok(s) => Ok(Value::Text(Rc::from(s))),
            Err(_) => self.malformed("a unicode string that is not valid UTF-8"),
        }
    }

    fn memo_put(&mut self, key: u64) -> Res<()> {
        let Some(top) = self.stack.last() else {
            return self.malformed("memo store with an empty stack");
        };
        self.memo.insert(key, top.clone());
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> Res<()> {
        match self.memo.get(&key) {
            Some(v) => {
                let v = v.clone();
                self.push(v);
                Ok(())
            }
            None => self.malformed(format!("memo entry {key} read before it was written")),
        }
    }

    fn global(&self, module: &str, name: &str) -> Res<Value<'a>> {
        let g = match (module, name) {
            ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => {
                Global::Reconstruct
            }
            ("numpy", "ndarray") => Global::NdArrayType,
            ("numpy", "dtype") => Global::DtypeType,
            ("_codecs", "encode") => Global::CodecsEncode,
            ("numpy.core.numeric" | "numpy._core.numeric", "_frombuffer") => Global::FromBuffer,
            _ => {
                let mut full = format!("{module}.{name}");
                full.truncate(200);
                return self.err(PickleErrorKind::ForbiddenGlobal(full));
            }
        };
        Ok(Value::Global(g))
    }

    fn run(mut self) -> Res<Object<'a>> {
        if self.input.first() != Some(&op::PROTO) {
            return self.err(PickleErrorKind::NotAPickle);
        }
        loop {
            self.at = self.pos;
            let code = self.u8()?;
            match code {
                op::PROTO => {
                    let p = self.u8()?;
                    if !(2..=5).contains(&p) {
                        return self.malformed(format!(
                            "pickle protocol {p}; this reader knows protocols 2 to 5"
                        ));
                    }
                }
                op::FRAME => {
                    // Frames only group opcodes for buffered reading; check the length is honest.
                    let n = self.u64()?;
                    if n > (self.input.len() - self.pos) as u64 {
                        return Err(PickleError {
                            offset: self.input.len(),
                            kind: PickleErrorKind::Truncated,
                        });
                    }
                }
                op::STOP => {
                    let result = self.pop()?;
                    // Drop every other reference so that byte buffers are uniquely owned.
                    self.stack.clear();
                    self.memo.clear();
                    return self.export(result);
                }
                op::MARK => self.marks.push(self.stack.len()),
                op::POP => {
                    self.pop()?;
                }
                op::POP_MARK => {
                    self.pop_mark()?;
                }
                op::DUP => {
                    let v = self.pop()?;
                    self.push(v.clone());
                    self.push(v);
                }
                op::NONE => self.push(Value::None),
                op::NEWTRUE => self.push(Value::Bool(true)),
                op::NEWFALSE => self.push(Value::Bool(false)),
                op::BININT => {
                    let v = self.u32()? as i32;
                    self.push(Value::Int(v as i64));
                }
                op::BININT1 => {
                    let v = self.u8()?;
                    self.push(Value::Int(v as i64));
                }
                op::BININT2 => {
                    let v = self.u16()?;
                    self.push(Value::Int(v as i64));
                }
                op::LONG1 => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    if n > 8 {
                        return self.malformed(format!(
                            "an integer of {n} bytes; at most 8 are supported"
                        ));
                    }
                    let mut a = [0u8; 8];
                    a[..n].copy_from_slice(b);
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                        a[n..].fill(0xff);
                    }
                    self.push(Value::Int(i64::from_le_bytes(a)));
                }
                op::BINFLOAT => {
                    let b = self.take(8)?;
                    self.push(Value::Float(f64::from_be_bytes(
                        b.try_into().expect("8 bytes"),
                    )));
                }
                op::SHORT_BINSTRING | op::SHORT_BINBYTES => {
                    let n = self.u8()? as u64;
                    let b = self.take_len(n)?;
                    let v = self.bytes(b);
                    self.push(v);
                }
                op::BINSTRING => {
                    let n = self.u32()? as i32;
                    if n < 0 {
                        return self.malformed("a string of negative length");
                    }
                    let b = self.take_len(n as u64)?;
                    let v = self.bytes(b);
                    self.push(v);
                }
                op::BINBYTES => {
                    let n = self.u32()? as u64;
                    let b = self.take_len(n)?;
                    let v = self.bytes(b);
                    self.push(v);
                }
                op::BINBYTES8 | op::BYTEARRAY8 => {
                    let n = self.u64()?;
                    let b = self.take_len(n)?;
                    let v = self.bytes(b);
                    self.push(v);
                }
                op::SHORT_BINUNICODE => {
                    let n = self.u8()? as u64;
                    let b = self.take_len(n)?;
                    let v = self.text(b)?;
                    self.push(v);
                }
                op::BINUNICODE => {
                    let n = self.u32()? as u64;
                    let b = self.take_len(n)?;
                    let v = self.text(b)?;
                    self.push(v);
                }
                op::BINUNICODE8 => {
                    let n = self.u64()?;
                    let b = self.take_len(n)?;
                    let v = self.text(b)?;
                    self.push(v);
                }
                op::EMPTY_TUPLE => {
                    let t = self.tuple(Vec::new())?;
                    self.push(t);
                }
                op::TUPLE => {
                    let items = self.pop_mark()?;
                    let t = self.tuple(items)?;
                    self.push(t);
                }
                op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                    let n = (code - op::TUPLE1 + 1) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    let t = self.tuple(items)?;
                    self.push(t);
                }
                op::BINPUT => {
                    let k = self.u8()? as u64;
                    self.memo_put(k)?;
                }
                op::LONG_BINPUT => {
                    let k = self.u32()? as u64;
                    self.memo_put(k)?;
                }
                op::MEMOIZE => {
                    let k = self.memo.len() as u64;
                    self.memo_put(k)?;
                }
                op::BINGET => {
                    let k = self.u8()? as u64;
                    self.memo_get(k)?;
                }
                op::LONG_BINGET => {
                    let k = self.u32()? as u64;
                    self.memo_get(k)?;
                }
                op::GLOBAL => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let g = self.global(module, name)?;
                    self.push(g);
                }
                op::STACK_GLOBAL => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (&module, &name) {
                        (Value::Text(m), Value::Text(n)) => {
                            let g = self.global(m, n)?;
                            self.push(g);
                        }
                        _ => return self.malformed("STACK_GLOBAL without a module and a name"),
                    }
                }
                op::REDUCE => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let v = self.reduce(callable, args)?;
                    self.push(v);
                }
                op::BUILD => {
                    let state = self.pop()?;
                    let obj = self.pop()?;
                    self.build(&obj, state)?;
                    self.push(obj);
                }
                op::NEXT_BUFFER | op::READONLY_BUFFER => {
                    return self.malformed(
                        "out-of-band buffers (pickle protocol 5 with buffer_callback); \
                         save the file with a plain pickle.dump",
                    )
                }
                other => return self.err(PickleErrorKind::UnsupportedOpcode(other)),
            }
        }
    }

    fn as_text(&self, v: &Value<'a>, what: &str) -> Res<String> {
        match v {
            Value::Text(s) => Ok(s.to_string()),
            // Python 2 `str`: bytes, read as latin-1.
            Value::Bytes(b) if b.len() <= 64 => Ok(b.iter().map(|&c| c as char).collect()),
            other => self.malformed(format!(
                "{what} should be a short string, found {}",
                other.describe()
            )),
        }
    }

    fn as_bytes(&self, v: &Value<'a>, what: &str) -> Res<Buf<'a>> {
        match v {
            Value::Bytes(b) => Ok(b.clone()),
            other => self.malformed(format!(
                "{what} should be bytes, found {}",
                other.describe()
            )),
        }
    }

    fn as_shape(&self, v: &Value<'a>) -> Res<Vec<usize>> {
        let Value::Tuple(items, _) = v else {
            return self.malformed(format!(
                "an array shape should be a tuple, found {}",
                v.describe()
            ));
        };
        items
            .iter()
            .map(|d| match d {
                Value::Int(n) if *n >= 0 => Ok(*n as usize),
                _ => self.malformed("an array shape should hold non-negative integers"),
            })
            .collect()
    }

    fn as_dtype(&self, v: &Value<'a>) -> Res<Dtype> {
        match v {
            Value::Dtype(d) => Ok(*d.borrow()),
            other => self.malformed(format!(
                "expected a numpy dtype, found {}",
                other.describe()
            )),
        }
    }

    fn args(&self, args: &Value<'a>, n: usize, func: &str) -> Res<Rc<Vec<Value<'a>>>> {
        match args {
            Value::Tuple(items, _) if items.len() == n => Ok(items.clone()),
            _ => self.malformed(format!(
                "{func} called with other arguments than numpy writes"
            )),
        }
    }

    fn reduce(&self, callable: Value<'a>, args: Value<'a>) -> Res<Value<'a>> {
        let Value::Global(g) = callable else {
            return self.malformed(format!(
                "REDUCE calls {}, not a known global",
                callable.describe()
            ));
        };
        match g {
            Global::Reconstruct => {
                // _reconstruct(numpy.ndarray, (0,), b'b'): an empty array filled by BUILD.
                let a = self.args(&args, 3, "numpy _reconstruct")?;
                if !matches!(a[0], Value::Global(Global::NdArrayType)) {
                    return self.malformed("_reconstruct of something other than numpy.ndarray");
                }
                Ok(Value::Array(Rc::new(RefCell::new(ArrayState::Empty))))
            }
            Global::DtypeType => {
                // dtype('f4', False, True); the byte order comes with BUILD.
                let a = self.args(&args, 3, "numpy.dtype")?;
                let code = self.as_text(&a[0], "a dtype code")?;
                match Dtype::parse(&code) {
                    Some(d) => Ok(Value::Dtype(Rc::new(RefCell::new(d)))),
                    None => self.malformed(format!(
                        "numpy dtype `{code}`; supported: f4, f8, u1, i1, i2, i4, i8, u2, u4, u8, b1"
                    )),
                }
            }
            Global::CodecsEncode => {
                // _codecs.encode(str, 'latin1'): how protocol 2 stores Python 3 bytes.
                let a = self.args(&args, 2, "_codecs.encode")?;
                let enc = self.as_text(&a[1], "an encoding")?;
                if enc != "latin1" && enc != "latin-1" {
                    return self.malformed(format!(
                        "_codecs.encode with encoding `{enc}`; numpy writes latin1"
                    ));
                }
                let Value::Text(s) = &a[0] else {
                    return self.malformed("_codecs.encode of something other than a str");
                };
                // Every latin-1 char is one output byte, fewer than its UTF-8 bytes in the input.
                let mut out = Vec::with_capacity(s.len());
                for c in s.chars() {
                    match u8::try_from(c as u32) {
                        Ok(b) => out.push(b),
                        Err(_) => {
                            return self.malformed("_codecs.encode of a str that is not latin-1")
                        }
                    }
                }
                Ok(Value::Bytes(Rc::new(Cow::Owned(out))))
            }
            Global::FromBuffer => {
                // _frombuffer(bytearray, dtype, shape, order): protocol 5.
                let a = self.args(&args, 4, "numpy _frombuffer")?;
                let buf = self.as_bytes(&a[0], "the buffer of _frombuffer")?;
                let dtype = self.as_dtype(&a[1])?;
                let shape = self.as_shape(&a[2])?;
                let fortran = match self.as_text(&a[3], "an array order")?.as_str() {
                    "C" => false,
                    "F" => true,
                    o => return self.malformed(format!("array order `{o}`")),
                };
                let arr = self.make_array(dtype, shape, fortran, buf)?;
                Ok(Value::Array(Rc::new(RefCell::new(ArrayState::Built(arr)))))
            }
            Global::NdArrayType => self.malformed("numpy.ndarray called directly"),
        }
    }

    fn make_array(
        &self,
        dtype: Dtype,
        shape: Vec<usize>,
        fortran: bool,
        buf: Buf<'a>,
    ) -> Res<NdArray<'a>> {
        // The buffer is normally held only by the stack here; copy only if it is shared.
        let data = Rc::try_unwrap(buf).unwrap_or_else(|rc| match &*rc {
            Cow::Borrowed(b) => Cow::Borrowed(*b),
            Cow::Owned(v) => Cow::Owned(v.clone()),
        });
        NdArray::new(dtype, shape, fortran, data).or_else(|m| self.malformed(m))
    }

    fn build(&self, obj: &Value<'a>, state: Value<'a>) -> Res<()> {
        match obj {
            Value::Dtype(d) => {
                // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
                let Value::Tuple(s, _) = &state else {
                    return self.malformed("the state of a dtype should be a tuple");
                };
                if s.len() < 8 {
                    return self.malformed("the state of a dtype has too few items");
                }
                if !matches!(
                    (&s[2], &s[3], &s[4]),
                    (Value::None, Value::None, Value::None)
                ) {
                    return self.malformed("structured or sub-array dtypes are not supported");
                }
                let order = self.as_text(&s[1], "a dtype byte order")?;
                let mut d = d.borrow_mut();
                d.big_endian = match order.as_str() {
                    ">" => true,
                    "<" | "|" => false,
                    "=" => cfg!(target_endian = "big"),
                    o => return self.malformed(format!("dtype byte order `{o}`")),
                };
                Ok(())
            }
            Value::Array(a) => {
                if matches!(*a.borrow(), ArrayState::Built(_)) {
                    return self.malformed("BUILD on an array that is already built");
                }
                // (version, shape, dtype, is_fortran, data) or, without version, 4 items.
                let Value::Tuple(s, _) = &state else {
                    return self.malformed("the state of an array should be a tuple");
                };
                let s: &[Value<'a>] = match s.len() {
                    5 => &s[1..],
                    4 => &s[..],
                    _ => return self.malformed("the state of an array should have 4 or 5 items"),
                };
                let shape = self.as_shape(&s[0])?;
                let dtype = self.as_dtype(&s[1])?;
                let fortran = match s[2] {
                    Value::Bool(b) => b,
                    Value::Int(i) => i != 0,
                    _ => return self.malformed("an array's Fortran flag should be a bool"),
                };
                let buf = match &s[3] {
                    Value::Bytes(b) => b.clone(),
                    other => {
                        return self.malformed(format!(
                        "array data should be bytes, found {} (object arrays are not supported)",
                        other.describe()
                    ))
                    }
                };
                drop(state);
                let arr = self.make_array(dtype, shape, fortran, buf)?;
                *a.borrow_mut() = ArrayState::Built(arr);
                Ok(())
            }
            other => self.malformed(format!("BUILD on {}", other.describe())),
        }
    }

    /// Turns the result into owned-or-borrowed public values.
    fn export(&self, v: Value<'a>) -> Res<Object<'a>> {
        Ok(match v {
            Value::None => Object::None,
            Value::Bool(b) => Object::Bool(b),
            Value::Int(i) => Object::Int(i),
            Value::Float(f) => Object::Float(f),
            Value::Text(s) => Object::Text(s.to_string()),
            Value::Bytes(b) => Object::Bytes(Rc::try_unwrap(b).unwrap_or_else(|rc| (*rc).clone())),
            Value::Tuple(items, _) => {
                let items = Rc::try_unwrap(items).unwrap_or_else(|rc| (*rc).clone());
                Object::Tuple(
                    items
                        .into_iter()
                        .map(|v| self.export(v))
                        .collect::<Res<_>>()?,
                )
            }
            Value::Dtype(d) => Object::Dtype(*d.borrow()),
            Value::Array(a) => {
                let state = Rc::try_unwrap(a)
                    .map(RefCell::into_inner)
                    .unwrap_or_else(|rc| match &*rc.borrow() {
                        ArrayState::Empty => ArrayState::Empty,
                        ArrayState::Built(arr) => ArrayState::Built(arr.clone()),
                    });
                match state {
                    ArrayState::Built(arr) => Object::Array(arr),
                    ArrayState::Empty => {
                        return self.malformed("an array that was never filled (no BUILD)")
                    }
                }
            }
            Value::Global(_) => return self.malformed("a bare global in the result"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_codes() {
        assert_eq!(
            Dtype::parse("f4"),
            Some(Dtype {
                kind: Kind::Float,
                size: 4,
                big_endian: false
            })
        );
        assert_eq!(
            Dtype::parse(">i8"),
            Some(Dtype {
                kind: Kind::Int,
                size: 8,
                big_endian: true
            })
        );
        assert_eq!(Dtype::parse("|u1").unwrap().name(), "|u1");
        assert_eq!(Dtype::parse("O"), None);
        let be = Dtype::parse(">f8").unwrap();
        assert_eq!(be.read_f64(&1.5f64.to_be_bytes()), 1.5);
    }

    #[test]
    fn refuses_os_system_by_name() {
        // cos\nsystem\n(S'echo hi'\ntR. in protocol 2 framing.
        let p = b"\x80\x02cos\nsystem\nU\x07echo hi\x85R.";
        let e = parse(p).unwrap_err();
        assert_eq!(e.kind, PickleErrorKind::ForbiddenGlobal("os.system".into()));
        assert!(e.to_string().contains("os.system"));
    }

    #[test]
    fn huge_length_fields_are_truncation_not_allocation() {
        let p = b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f";
        assert_eq!(parse(p).unwrap_err().kind, PickleErrorKind::Truncated);
        let p = b"\x80\x02r\xff\xff\xff\xff.";
        assert!(matches!(
            parse(p).unwrap_err().kind,
            PickleErrorKind::Malformed(_)
        ));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut p = b"\x80\x02)".to_vec();
        p.extend(std::iter::repeat_n(op::TUPLE1, 100_000));
        p.push(op::STOP);
        assert!(matches!(
            parse(&p).unwrap_err().kind,
            PickleErrorKind::Malformed(_)
        ));
    }

    #[test]
    fn memo_sees_build_in_place() {
        // A dtype memoised before BUILD, fetched after it, must carry the byte order.
        let mut p = b"\x80\x02cnumpy\ndtype\nU\x02f8\x89\x88\x87Rq\x01".to_vec();
        p.extend_from_slice(b"(K\x03U\x01>NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb0h\x01.");
        assert_eq!(
            parse(&p).unwrap(),
            Object::Dtype(Dtype {
                kind: Kind::Float,
                size: 8,
                big_endian: true
            })
        );
    }
}
