//! The IDX format of the official MNIST files: a 4-byte magic number (two zero bytes, the
//! element type, the number of dimensions), one big-endian u32 per dimension, then the
//! elements in row-major order. MNIST's labels are magic 2049 (`0x00000801`: unsigned bytes,
//! one dimension) and its images 2051 (`0x00000803`: unsigned bytes, three dimensions).
//!
//! The data is borrowed from the input, and the dimensions must describe exactly the bytes
//! that follow the header, so nothing is allocated from a length field.

/// Magic number of an IDX file of unsigned bytes with one dimension (MNIST labels).
pub const MAGIC_LABELS: u32 = 0x0801;
/// Magic number of an IDX file of unsigned bytes with three dimensions (MNIST images).
pub const MAGIC_IMAGES: u32 = 0x0803;

/// An IDX array of unsigned bytes, borrowed from the file's bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Idx<'a> {
    /// The magic number (2049 for labels, 2051 for images).
    pub magic: u32,
    /// Size of each dimension, outermost first.
    pub dims: Vec<usize>,
    /// The elements, row-major.
    pub data: &'a [u8],
}

/// Parses an IDX file of unsigned bytes. The error says what is wrong, without the path.
pub fn parse(bytes: &[u8]) -> Result<Idx<'_>, String> {
    if bytes.len() < 4 {
        return Err(format!(
            "only {} bytes: an IDX file starts with a 4-byte magic number",
            bytes.len()
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "does not start like an IDX file (magic bytes {:02x} {:02x} {:02x} {:02x}; MNIST's \
             are 00 00 08 03 for images and 00 00 08 01 for labels)",
            bytes[0], bytes[1], bytes[2], bytes[3]
        ));
    }
    if bytes[2] != 0x08 {
        return Err(format!(
            "IDX element type 0x{:02x}; only unsigned bytes (0x08), as MNIST uses, are supported",
            bytes[2]
        ));
    }
    let ndims = bytes[3] as usize;
    if ndims == 0 {
        return Err("an IDX file with zero dimensions".into());
    }
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(format!(
            "truncated: the IDX header of {ndims} dimensions needs {header} bytes, the file has {}",
            bytes.len()
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let data = &bytes[header..];
    let needed = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    match needed {
        Some(n) if n == data.len() => {}
        Some(n) if n > data.len() => {
            return Err(format!(
                "truncated: dimensions {dims:?} need {n} bytes of data, the file has {}; copy or download it again",
                data.len()
            ))
        }
        Some(n) => {
            return Err(format!(
                "{} bytes after the {n} bytes of data that dimensions {dims:?} describe",
                data.len() - n
            ))
        }
        None => return Err(format!("dimensions {dims:?} overflow")),
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    Ok(Idx { magic, dims, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_images() {
        let l = [0, 0, 8, 1, 0, 0, 0, 3, 5, 0, 4];
        let idx = parse(&l).unwrap();
        assert_eq!(
            (idx.magic, idx.dims.clone(), idx.data),
            (MAGIC_LABELS, vec![3], &[5u8, 0, 4][..])
        );
        let mut i = vec![0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2];
        i.extend([1, 2, 3, 4]);
        assert_eq!(parse(&i).unwrap().dims, vec![1, 2, 2]);
    }

    #[test]
    fn bad_headers() {
        assert!(parse(b"\x1f\x8b\x08\x00")
            .unwrap_err()
            .contains("does not start like an IDX"));
        assert!(parse(&[0, 0, 8, 1, 0, 0, 0, 3, 5])
            .unwrap_err()
            .contains("truncated"));
        assert!(parse(&[0, 0, 8, 1, 0, 0, 0, 1, 5, 6])
            .unwrap_err()
            .contains("after"));
        assert!(
            parse(&[0, 0, 8, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255])
                .is_err()
        );
        assert!(parse(&[0, 0, 0x0d, 1, 0, 0, 0, 0])
            .unwrap_err()
            .contains("element type"));
    }
}
