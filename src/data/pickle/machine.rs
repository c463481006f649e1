//! The interpreter: a stack machine that reads opcodes and builds values, never calling
//! anything; what the allowed globals do is in `numpy.rs`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::limits::{Budget, MAX_DEPTH};
use super::opcodes as op;
use super::{Dtype, NdArray, Object, PickleError, PickleErrorKind};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Global {
    Reconstruct,
    NdArrayType,
    DtypeType,
    CodecsEncode,
    FromBuffer,
}

/// An array object: empty after `_reconstruct`, filled in place by BUILD, as in Python
/// (the memo may hold it, and BUILD must be seen through the memo).
#[derive(Debug)]
pub(super) enum ArrayState<'a> {
    Empty,
    Built(NdArray<'a>),
}

pub(super) type Buf<'a> = Rc<Cow<'a, [u8]>>;

#[derive(Debug, Clone)]
pub(super) enum Value<'a> {
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

    pub(super) fn describe(&self) -> &'static str {
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

pub(super) struct Machine<'a> {
    input: &'a [u8],
    pos: usize,
    /// Offset of the opcode being executed, for error messages.
    at: usize,
    stack: Vec<Value<'a>>,
    marks: Vec<usize>,
    memo: HashMap<u64, Value<'a>>,
}

pub(super) type Res<T> = Result<T, PickleError>;

impl<'a> Machine<'a> {
    pub(super) fn new(input: &'a [u8]) -> Self {
        Machine {
            input,
            pos: 0,
            at: 0,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
        }
    }

    pub(super) fn err<T>(&self, kind: PickleErrorKind) -> Res<T> {
        Err(PickleError {
            offset: self.at,
            kind,
        })
    }

    pub(super) fn malformed<T>(&self, msg: impl Into<String>) -> Res<T> {
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

    pub(super) fn run(mut self) -> Res<Object<'a>> {
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
                    let mut budget = Budget::for_input(self.input.len());
                    return self.export(result, &mut budget);
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

    pub(super) fn as_text(&self, v: &Value<'a>, what: &str) -> Res<String> {
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

    pub(super) fn as_bytes(&self, v: &Value<'a>, what: &str) -> Res<Buf<'a>> {
        match v {
            Value::Bytes(b) => Ok(b.clone()),
            other => self.malformed(format!(
                "{what} should be bytes, found {}",
                other.describe()
            )),
        }
    }

    /// Turns the result into owned-or-borrowed public values.
    /// Shared values (memo references) are copied here, each copy charged to `budget`.
    fn export(&self, v: Value<'a>, budget: &mut Budget) -> Res<Object<'a>> {
        if !budget.charge(std::mem::size_of::<Object<'_>>()) {
            return self.malformed(budget.exhausted());
        }
        Ok(match v {
            Value::None => Object::None,
            Value::Bool(b) => Object::Bool(b),
            Value::Int(i) => Object::Int(i),
            Value::Float(f) => Object::Float(f),
            Value::Text(s) => {
                if !budget.charge(s.len()) {
                    return self.malformed(budget.exhausted());
                }
                Object::Text(s.to_string())
            }
            Value::Bytes(b) => {
                let b = Rc::try_unwrap(b).unwrap_or_else(|rc| (*rc).clone());
                if matches!(b, Cow::Owned(_)) && !budget.charge(b.len()) {
                    return self.malformed(budget.exhausted());
                }
                Object::Bytes(b)
            }
            Value::Tuple(items, _) => {
                let items = Rc::try_unwrap(items).unwrap_or_else(|rc| (*rc).clone());
                Object::Tuple(
                    items
                        .into_iter()
                        .map(|v| self.export(v, budget))
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
                    ArrayState::Built(arr) => {
                        if !budget.charge(arr.owned_bytes()) {
                            return self.malformed(budget.exhausted());
                        }
                        Object::Array(arr)
                    }
                    ArrayState::Empty => {
                        return self.malformed("an array that was never filled (no BUILD)")
                    }
                }
            }
            Value::Global(_) => return self.malformed("a bare global in the result"),
        })
    }
}
