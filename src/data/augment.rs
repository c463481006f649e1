//! More data, artificially created: each training image plus its four copies shifted one pixel
//! up, down, left and right, zero-filled — the expansion of neuralnetworksanddeeplearning.com,
//! chapter 3, which the lecture links. Only for square images (28×28 MNIST, say).

use ndarray::{Array2, ArrayView2};

use super::Split;

/// How a run's training images are expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Augment {
    /// The images as they are (the lecture's).
    #[default]
    None,
    /// Each image and its four one-pixel shifts: five times the training samples.
    Shift,
}

impl Augment {
    /// `"none"`, `"shift"`: as configs and results files write it.
    pub fn name(self) -> &'static str {
        match self {
            Augment::None => "none",
            Augment::Shift => "shift",
        }
    }

    /// Training samples after expanding `n` of them.
    pub fn expanded(self, n: usize) -> usize {
        match self {
            Augment::None => n,
            Augment::Shift => 5 * n,
        }
    }
}

/// Samples that are not square images cannot be shifted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "augment = \"shift\" needs square images (28×28 pixels, say), but these samples have {0} \
     features, which is not the square of a whole number of at least 2; use augment = \"none\""
)]
pub struct NotSquare(pub usize);

/// The side of the square images of `d` pixels, if they are square.
pub fn image_side(d: usize) -> Result<usize, NotSquare> {
    let side = (d as f64).sqrt().round() as usize;
    if side >= 2 && side * side == d {
        Ok(side)
    } else {
        Err(NotSquare(d))
    }
}

/// The samples of `x` (d×n, one image per column, row-major pixels), then all of them shifted
/// up, down, left and right: 5n columns, labels repeated likewise.
pub fn shift(x: ArrayView2<'_, f64>, labels: &[u8]) -> Result<Split, NotSquare> {
    let (d, n) = x.dim();
    let side = image_side(d)?;
    // (row offset, column offset) of the pixel each new pixel comes from.
    let moves: [(isize, isize); 5] = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)];
    let mut out = Array2::zeros((d, 5 * n));
    for (k, &(dr, dc)) in moves.iter().enumerate() {
        for r in 0..side {
            for c in 0..side {
                let (sr, sc) = (r as isize + dr, c as isize + dc);
                if sr < 0 || sc < 0 || sr >= side as isize || sc >= side as isize {
                    continue; // zero-filled
                }
                let from = sr as usize * side + sc as usize;
                let to = r * side + c;
                for j in 0..n {
                    out[[to, k * n + j]] = x[[from, j]];
                }
            }
        }
    }
    let labels = (0..5).flat_map(|_| labels.iter().copied()).collect();
    Ok(Split::new(out, labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn each_image_and_its_four_shifts_zero_filled() {
        // One 3×3 image, pixels 1..9 row by row.
        let x = Array2::from_shape_vec((9, 1), (1..=9).map(f64::from).collect()).unwrap();
        let s = shift(x.view(), &[7]).unwrap();
        assert_eq!(s.labels, vec![7; 5]);
        let image = |k: usize| s.x.column(k).to_vec();
        assert_eq!(image(0), (1..=9).map(f64::from).collect::<Vec<_>>());
        // Up: row r takes row r + 1.
        assert_eq!(image(1), vec![4., 5., 6., 7., 8., 9., 0., 0., 0.]);
        // Down.
        assert_eq!(image(2), vec![0., 0., 0., 1., 2., 3., 4., 5., 6.]);
        // Left: column c takes column c + 1.
        assert_eq!(image(3), vec![2., 3., 0., 5., 6., 0., 8., 9., 0.]);
        // Right.
        assert_eq!(image(4), vec![0., 1., 2., 0., 4., 5., 0., 7., 8.]);
        let two = array![[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]];
        let s = shift(two.view(), &[0, 1]).unwrap();
        assert_eq!(s.labels, vec![0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
        assert_eq!(s.x.column(3).to_vec(), vec![30.0, 40.0, 0.0, 0.0]);
    }

    #[test]
    fn samples_that_are_not_square_images_are_refused() {
        let x = Array2::<f64>::zeros((2, 3));
        let e = shift(x.view(), &[0, 1, 0]).unwrap_err();
        assert!(e.to_string().contains("2 features"), "{e}");
        assert_eq!(image_side(784), Ok(28));
        assert!(image_side(1).is_err() && image_side(10).is_err());
    }
}
