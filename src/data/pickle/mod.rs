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
//! most [`MAX_DEPTH`] tuples deep, so hostile input cannot exhaust the stack either. Values the
//! memo shares stay shared while reading; turning the result into [`Object`]s copies a shared
//! value only against a budget proportional to the input (see `limits.rs`), so a few hundred
//! bytes of memo references cannot cost more than a few MB.
//!
//! | file | owns |
//! | --- | --- |
//! | `mod.rs` | the public API: [`parse`], [`Object`], [`PickleError`] |
//! | `opcodes.rs` | the opcode bytes this reader understands |
//! | `machine.rs` | the interpreter: stack, marks, memo, the opcode loop and the export |
//! | `numpy.rs` | dtypes, arrays, and the allowed globals' calls (`_reconstruct`, BUILD, ...) |
//! | `limits.rs` | nesting depth and the export budget |

mod limits;
mod machine;
mod numpy;
mod opcodes;

use std::borrow::Cow;
use std::fmt;

pub use limits::MAX_DEPTH;
pub use numpy::{Dtype, Kind, NdArray};

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
    machine::Machine::new(input).run()
}

#[cfg(test)]
mod tests {
    use super::opcodes as op;
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

    /// `levels` nested tuples, each of `refs` memo references to the one below: a few bytes
    /// that a copying reader expands to refs^levels values.
    pub(crate) fn memo_bomb(levels: u32, refs: usize) -> Vec<u8> {
        let mut p = b"\x80\x02Nq\x00".to_vec();
        for level in 1..=levels {
            p.push(b'(');
            for _ in 0..refs {
                p.extend([b'h', (level - 1) as u8]);
            }
            p.extend([b't', b'q', level as u8]);
        }
        p.push(b'.');
        p
    }

    #[test]
    fn shared_values_are_not_expanded_beyond_a_budget() {
        let bomb = memo_bomb(29, 1000);
        let e = parse(&bomb).unwrap_err();
        assert!(
            matches!(&e.kind, PickleErrorKind::Malformed(m) if m.contains("would take more")),
            "{e}"
        );
        // A little sharing, as Python writes for a value listed twice, is fine.
        let small = memo_bomb(2, 3);
        let Object::Tuple(t) = parse(&small).unwrap() else {
            panic!()
        };
        assert_eq!(t.len(), 3);
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
