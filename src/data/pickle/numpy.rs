//! Numpy's part of a pickle: element types, arrays, and what the allowed globals do when the
//! pickle calls them (`_reconstruct`, `dtype`, `_codecs.encode`, `_frombuffer`, and BUILD).

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use super::machine::{ArrayState, Buf, Global, Machine, Res, Value};

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
    pub(super) fn new(
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

    /// Bytes a copy of this array allocates (0 when its data are borrowed from the input).
    pub(super) fn owned_bytes(&self) -> usize {
        match &self.data {
            Cow::Borrowed(_) => self.shape.len() * std::mem::size_of::<usize>(),
            Cow::Owned(v) => v.len() + self.shape.len() * std::mem::size_of::<usize>(),
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

impl<'a> Machine<'a> {
    pub(super) fn as_shape(&self, v: &Value<'a>) -> Res<Vec<usize>> {
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

    pub(super) fn as_dtype(&self, v: &Value<'a>) -> Res<Dtype> {
        match v {
            Value::Dtype(d) => Ok(*d.borrow()),
            other => self.malformed(format!(
                "expected a numpy dtype, found {}",
                other.describe()
            )),
        }
    }

    pub(super) fn args(&self, args: &Value<'a>, n: usize, func: &str) -> Res<Rc<Vec<Value<'a>>>> {
        match args {
            Value::Tuple(items, _) if items.len() == n => Ok(items.clone()),
            _ => self.malformed(format!(
                "{func} called with other arguments than numpy writes"
            )),
        }
    }

    pub(super) fn reduce(&self, callable: Value<'a>, args: Value<'a>) -> Res<Value<'a>> {
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

    pub(super) fn make_array(
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

    pub(super) fn build(&self, obj: &Value<'a>, state: Value<'a>) -> Res<()> {
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
}
